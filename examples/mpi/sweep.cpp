// A parameter sweep of Q queries scattered over MPI ranks, gathered to rank 0 as one .npy.
//
//   mpirun -np 4 ./sweep MODEL Q S OUT.npy
//
// Rank r predicts the contiguous block [r*Q/R, (r+1)*Q/R) of the sweep (S samples each) with
// dgmf_config_set_first_query set to the block's start, so every query draws the noise it would draw in one
// call over the whole sweep, and every network call holds one row (ONNX Runtime rounds a row differently
// with the rows beside it): OUT.npy ([Q, *shape] ensemble means) is the same, bit for bit, on any number
// of ranks. Parameter k of query i is min_k + (max_k - min_k) * frac((i + 0.5)/Q + 0.37 k); the fidelity is
// the model's top one.
#include "common.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int run(int argc, char** argv) {
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc != 5) {
        if (rank == 0) std::fprintf(stderr, "usage: %s MODEL Q S OUT.npy\n", argv[0]);
        return 2;
    }
    const std::size_t Q = std::strtoull(argv[2], nullptr, 10), S = std::strtoull(argv[3], nullptr, 10);
    dgmf::Options options;
    options.set_threads(1);
    const dgmf::Model model = example::load_shared(argv[1], MPI_COMM_WORLD, options);
    const std::size_t P = model.num_params(), len = model.sample_len();
    const auto middle = example::middle_query(model);

    const std::size_t lo = rank * Q / ranks, hi = (rank + 1) * Q / ranks, n = hi - lo;
    std::vector<double> params, fidelity, coords;
    for (std::size_t i = lo; i < hi; i++) {
        for (std::size_t k = 0; k < P; k++) {
            const auto v = model.param(k);
            const double t = (i + 0.5) / Q + 0.37 * k;
            params.push_back(v.min + (v.max - v.min) * (t - std::floor(t)));
        }
        fidelity.push_back(middle.fidelity);
        coords.insert(coords.end(), middle.coords.begin(), middle.coords.end());
    }
    auto config = dgmf::Config::for_model(model);  // the model's recommended sampler
    // One row per network call: ONNX Runtime rounds a row differently with the number of rows beside it, and
    // the ranks' blocks hold different numbers of rows (docs/distributed.md).
    config.set_samples(S).set_seed(1).set_first_query(lo).set_max_batch(1);

    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    std::vector<float> mine;
    if (n > 0) mine = model.predict_batch(config, params, fidelity, coords).mean;
    // Gather the blocks in rank order; counts in floats (int: a block of 2^31 floats would be 8 GiB).
    const int count = static_cast<int>(n * len);
    std::vector<int> counts(ranks), offsets(ranks);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    for (int r = 1; r < ranks; r++) offsets[r] = offsets[r - 1] + counts[r - 1];
    std::vector<float> all(rank == 0 ? Q * len : 0);
    MPI_Gatherv(mine.data(), count, MPI_FLOAT, all.data(), counts.data(), offsets.data(), MPI_FLOAT, 0,
                MPI_COMM_WORLD);
    double seconds = MPI_Wtime() - t0, slowest = 0;
    MPI_Reduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank != 0) return 0;

    std::printf("sweep: %zu queries x %zu samples over %d ranks in %.3f s (%.2f queries/s)\n", Q, S, ranks, slowest,
                Q / slowest);
    auto shape = model.shape();
    shape.insert(shape.begin(), Q);
    example::write_npy(argv[4], shape, all.data());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return example::main_with_mpi(argc, argv, "sweep", run); }
