// Pieces both MPI examples share: load the model once per job and share its bytes, pick each rank's
// device, the example query, and a .npy writer. docs/distributed.md explains each choice.
#ifndef DGMF_MPI_COMMON_HPP
#define DGMF_MPI_COMMON_HPP

#include <dgmf.hpp>
// The MPI C API only: the long-deprecated C++ bindings some MPI headers still pull in are not used.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace example {

// The rank's index among the ranks of its node (MPI_COMM_TYPE_SHARED groups the ranks that share memory).
inline int local_rank(MPI_Comm comm) {
    MPI_Comm node;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int r = 0;
    MPI_Comm_rank(node, &r);
    MPI_Comm_free(&node);
    return r;
}

// Execution provider of a rank: round-robin over the node's GPUs, or the CPU when it has none.
inline std::string device_for(int local_rank, int gpus_per_node) {
    if (gpus_per_node <= 0) return "cpu";
    return "cuda:" + std::to_string(local_rank % gpus_per_node);
}

// Rank 0 reads the model file and broadcasts its bytes; every rank loads from memory. One read of the
// parallel file system per job instead of one per rank.
inline dgmf::Model load_shared(const std::string& path, MPI_Comm comm, const dgmf::Options& options) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    std::vector<char> bytes;
    long long size = 0;
    if (rank == 0) {
        std::ifstream f(path, std::ios::binary);
        if (f) bytes.assign(std::istreambuf_iterator<char>(f), {});
        size = f ? static_cast<long long>(bytes.size()) : -1;
    }
    MPI_Bcast(&size, 1, MPI_LONG_LONG, 0, comm);
    if (size < 0) throw std::runtime_error("cannot read " + path);
    bytes.resize(static_cast<std::size_t>(size));
    // MPI counts are int: the bytes go in chunks of at most 1 GiB (ONNX files stay below 2 GiB).
    for (long long at = 0; at < size; at += 1LL << 30) {
        const int n = static_cast<int>(std::min<long long>(size - at, 1LL << 30));
        MPI_Bcast(bytes.data() + at, n, MPI_BYTE, 0, comm);
    }
    return dgmf::Model::load_from_memory(bytes.data(), bytes.size(), &options);
}

// The example query: every parameter (and coordinate) at the middle of its range, the top fidelity.
struct Query {
    std::vector<double> params, coords;
    double fidelity;
};

inline double top_fidelity(const dgmf::Model& model) {
    const auto f = model.fidelity();
    return f.kind == DGMF_FIDELITY_DISCRETE ? double(f.levels - 1) : f.hi;
}

inline Query middle_query(const dgmf::Model& model) {
    Query q;
    for (std::size_t k = 0; k < model.num_params(); k++) {
        const auto v = model.param(k);
        q.params.push_back(0.5 * (v.min + v.max));
    }
    for (std::size_t k = 0; k < model.num_coords(); k++) {
        const auto v = model.coord(k);
        q.coords.push_back(0.5 * (v.min + v.max));
    }
    q.fidelity = top_fidelity(model);
    return q;
}

// Writes float32 values as a C-order .npy array of the given shape.
inline void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const float* data) {
    std::string dims;
    std::size_t n = 1;
    for (auto d : shape) {
        dims += std::to_string(d) + ",";
        n *= d;
    }
    if (shape.size() > 1) dims.pop_back();  // (3,) for one dim, (2,3) for more
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');  // data starts at a multiple of 64
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    const std::uint16_t hlen = static_cast<std::uint16_t>(header.size());
    f.write("\x93NUMPY\x01\x00", 8);
    f.put(static_cast<char>(hlen & 0xff)).put(static_cast<char>(hlen >> 8));
    f << header;
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
    if (!f) throw std::runtime_error("cannot write " + path);
}

// MPI_Init, `run`, MPI_Finalize; an exception on any rank aborts the whole job (the other ranks may be
// waiting in a collective and would otherwise hang).
inline int main_with_mpi(int argc, char** argv, const char* name, int (*run)(int, char**)) {
    MPI_Init(&argc, &argv);
    int status = 0;
    try {
        status = run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
    return status;
}

}  // namespace example

#endif
