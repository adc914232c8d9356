// One query's ensemble of S samples split across MPI ranks and merged exactly.
//
//   mpirun -np 4 ./ensemble MODEL S [--gpus-per-node G] [--print-devices]
//
// Rank r computes samples [r*S/R, (r+1)*S/R) with dgmf_predict_moments (sample j draws from the same noise
// stream whatever rank computes it), packs its statistics, and an MPI_Reduce with a user op that calls
// dgmf_moments_merge_packed combines them on rank 0. Rank 0 then checks the result against one serial
// dgmf_predict_batch of all S samples and writes ensemble_mean.npy / ensemble_std.npy. Exit status 1 when
// the gap exceeds the bound docs/distributed.md derives: 1e-6 relative on the CPU, where every network call
// holds one row so that each sample is the serial run's bit for bit; 1e-4 with GPUs, where calls hold
// batches and ONNX Runtime's kernels round a row differently with the rows beside it.
#include "common.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// MPI_User_function over packed moment records: inout <- inout (+) in. The record length comes from the
// datatype (one record = 1 + 2*sample_len doubles). Errors cannot cross MPI's C callback: abort the job.
void merge_records(void* in, void* inout, int* count, MPI_Datatype* type) {
    int bytes = 0;
    MPI_Type_size(*type, &bytes);
    const std::size_t sample_len = (static_cast<std::size_t>(bytes) / sizeof(double) - 1) / 2;
    const dgmf_status s = dgmf_moments_merge_packed(static_cast<const double*>(in), static_cast<double*>(inout),
                                                    static_cast<std::size_t>(*count), sample_len);
    if (s != DGMF_OK) {
        std::fprintf(stderr, "merging moments failed: %s\n", dgmf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

double largest_gap(const std::vector<float>& got, const std::vector<float>& want) {
    double g = 0;
    for (std::size_t i = 0; i < want.size(); i++)
        g = std::max(g, std::abs(double(got[i]) - want[i]) / std::max(std::abs(double(want[i])), 1e-3));
    return g;
}

int run(int argc, char** argv) {
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc < 3) {
        if (rank == 0) std::fprintf(stderr, "usage: %s MODEL S [--gpus-per-node G] [--print-devices]\n", argv[0]);
        return 2;
    }
    const std::string path = argv[1];
    const std::size_t S = std::strtoull(argv[2], nullptr, 10);
    int gpus = 0;
    bool print_devices = false;
    for (int i = 3; i < argc; i++) {
        if (!std::strcmp(argv[i], "--gpus-per-node") && i + 1 < argc) gpus = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--print-devices")) print_devices = true;
    }
    const int local = example::local_rank(MPI_COMM_WORLD);
    const std::string device = example::device_for(local, gpus);
    if (print_devices) {  // the mapping alone, in rank order (CI checks it without a GPU)
        for (int r = 0; r < ranks; r++) {
            if (r == rank) std::printf("rank %d (local %d): %s\n", rank, local, device.c_str());
            std::fflush(stdout);
            MPI_Barrier(MPI_COMM_WORLD);
        }
        return 0;
    }

    dgmf::Options options;
    options.set_threads(1).set_provider(device);  // one intra-op thread per rank: ranks are the parallelism
    const dgmf::Model model = example::load_shared(path, MPI_COMM_WORLD, options);
    auto config = dgmf::Config::for_model(model);  // the model's recommended sampler
    config.set_samples(S).set_seed(1);
    // ONNX Runtime's GEMM kernels round a row differently depending on how many rows share the call, so a
    // sample is the serial run's bit for bit, whatever the split, only when every call has one row. A CPU
    // rank with one intra-op thread loses nothing by it (docs/distributed.md); a GPU needs its batches.
    const bool one_row = gpus == 0;
    if (one_row) config.set_max_batch(1);
    const double bound = one_row ? 1e-6 : 1e-4;
    const auto q = example::middle_query(model);

    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    const std::size_t lo = rank * S / ranks, hi = (rank + 1) * S / ranks;
    dgmf::Moments part = hi > lo ? model.predict_moments(config, q.params, {q.fidelity}, q.coords, lo, hi - lo)
                                 : dgmf::Moments(model, 1);  // more ranks than samples: an empty part
    std::vector<double> mine = part.pack(model), merged(mine.size());
    MPI_Datatype record;
    MPI_Type_contiguous(static_cast<int>(mine.size()), MPI_DOUBLE, &record);
    MPI_Type_commit(&record);
    MPI_Op op;
    // Not commutative in its rounding: MPI then combines the parts in a fixed order, the same bits every run.
    MPI_Op_create(&merge_records, 0, &op);
    MPI_Reduce(mine.data(), merged.data(), 1, record, op, 0, MPI_COMM_WORLD);
    MPI_Op_free(&op);
    MPI_Type_free(&record);
    double seconds = MPI_Wtime() - t0, slowest = 0;
    MPI_Reduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank != 0) return 0;

    const auto result = dgmf::Moments::unpack(model, 1, merged).finish(model, {q.fidelity}, S >= 2);
    std::printf("ensemble: %zu samples of 1 query over %d ranks in %.3f s (%.1f samples/s)\n", S, ranks, slowest,
                S / slowest);
    const auto serial = model.predict_batch(config, q.params, {q.fidelity}, q.coords, S >= 2);
    const double gm = largest_gap(result.mean, serial.mean), gs = largest_gap(result.std, serial.std);
    std::printf("largest relative gap to the serial run: mean %.3e, std %.3e (bound %.0e)\n", gm, gs, bound);
    const auto shape = model.shape();
    example::write_npy("ensemble_mean.npy", shape, result.mean.data());
    if (S >= 2) example::write_npy("ensemble_std.npy", shape, result.std.data());
    return gm <= bound && gs <= bound ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example::main_with_mpi(argc, argv, "ensemble", run); }
