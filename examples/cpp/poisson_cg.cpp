// A real solver using the surrogate as a warm start: conjugate gradients on the 5-point Laplacian for
// -Δu = f on the unit square (the Poisson benchmark of training/dgmf_data/poisson.py: constant Dirichlet
// values on the four edges, corners the mean of their edges, a Gaussian source of amplitude A), solved twice:
// from zero, and from the DGMF prediction. Prints CG iterations and time of both.
//
// Usage: poisson_cg MODEL.onnx [left right bottom top A] [fidelity-level]
#include <dgmf.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr int N = 32;  // nodes per side, boundary included (the model's 32x32 output grid)
constexpr double kPi = 3.14159265358979323846;

struct Problem {
    double h = 1.0 / (N - 1);
    std::vector<double> g;  // boundary values on the full grid (interior entries unused)
    std::vector<double> b;  // right-hand side on the (N-2)^2 interior nodes
};

int at(int i, int j) { return i * N + j; }             // full grid, u[i][j] = u(x_i, y_j)
int in(int i, int j) { return (i - 1) * (N - 2) + (j - 1); }  // interior unknowns

Problem make_problem(const double p[5]) {
    Problem pb;
    pb.g.assign(N * N, 0.0);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0;
            int count = 0;
            if (i == 0) sum += p[0], count++;
            if (i == N - 1) sum += p[1], count++;
            if (j == 0) sum += p[2], count++;
            if (j == N - 1) sum += p[3], count++;
            if (count) pb.g[at(i, j)] = sum / count;
        }
    const double s2 = 0.1 * 0.1, h2 = pb.h * pb.h;
    pb.b.assign((N - 2) * (N - 2), 0.0);
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++) {
            double x = i * pb.h, y = j * pb.h, r2 = (x - 0.5) * (x - 0.5) + (y - 0.5) * (y - 0.5);
            double rhs = p[4] * std::exp(-r2 / (2 * s2)) / (2 * kPi * s2);
            // Known boundary neighbours move to the right-hand side.
            if (i == 1) rhs += pb.g[at(0, j)] / h2;
            if (i == N - 2) rhs += pb.g[at(N - 1, j)] / h2;
            if (j == 1) rhs += pb.g[at(i, 0)] / h2;
            if (j == N - 2) rhs += pb.g[at(i, N - 1)] / h2;
            pb.b[in(i, j)] = rhs;
        }
    return pb;
}

// y = A x for the interior 5-point Laplacian (Dirichlet, boundary already in b).
void apply(const std::vector<double>& x, std::vector<double>& y, double h) {
    const int m = N - 2;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double v = 4 * x[i * m + j];
            if (i > 0) v -= x[(i - 1) * m + j];
            if (i < m - 1) v -= x[(i + 1) * m + j];
            if (j > 0) v -= x[i * m + j - 1];
            if (j < m - 1) v -= x[i * m + j + 1];
            y[i * m + j] = v / (h * h);
        }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t k = 0; k < a.size(); k++) s += a[k] * b[k];
    return s;
}

// Conjugate gradients from x; stops at ||r|| <= tol·||b||. Returns the iteration count.
int cg(const Problem& pb, std::vector<double>& x, double tol) {
    std::vector<double> r(x.size()), q(x.size()), d;
    apply(x, q, pb.h);
    for (size_t k = 0; k < x.size(); k++) r[k] = pb.b[k] - q[k];
    d = r;
    double rr = dot(r, r), stop = tol * tol * dot(pb.b, pb.b);
    int it = 0;
    while (rr > stop && it < 10000) {
        apply(d, q, pb.h);
        double alpha = rr / dot(d, q);
        for (size_t k = 0; k < x.size(); k++) x[k] += alpha * d[k], r[k] -= alpha * q[k];
        double rr_new = dot(r, r);
        for (size_t k = 0; k < x.size(); k++) d[k] = r[k] + (rr_new / rr) * d[k];
        rr = rr_new;
        it++;
    }
    return it;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.onnx [left right bottom top A] [fidelity-level]\n", argv[0]);
        return 2;
    }
    double p[5] = {0.2, 0.7, 0.4, 0.9, 0.6};
    if (argc >= 7)
        for (int k = 0; k < 5; k++) p[k] = std::atof(argv[2 + k]);
    try {
        auto model = dgmf::Model::load(argv[1]);
        if (model.shape() != std::vector<std::size_t>{1, N, N} || model.num_params() != 5)
            throw dgmf::Error(DGMF_ERR_INVALID_ARGUMENT, "this example needs a Poisson model: 5 params, [1, 32, 32]");
        const double level = argc >= 8 ? std::atof(argv[7]) : model.fidelity().hi;
        const Problem pb = make_problem(p);
        const double tol = 1e-8;

        auto t0 = std::chrono::steady_clock::now();
        std::vector<double> cold(pb.b.size(), 0.0);
        int it_cold = cg(pb, cold, tol);
        double ms_cold = ms_since(t0);

        dgmf::Config config("heun");
        config.set_samples(8).set_seed(1);
        t0 = std::chrono::steady_clock::now();
        auto pred = model.predict(config, std::vector<double>(p, p + 5), level, {}, true);
        double ms_pred = ms_since(t0);
        std::vector<double> warm(pb.b.size());
        double err = 0, spread = 0;
        for (int i = 1; i < N - 1; i++)
            for (int j = 1; j < N - 1; j++) {
                warm[in(i, j)] = pred.mean[at(i, j)];
                err = std::fmax(err, std::fabs(pred.mean[at(i, j)] - cold[in(i, j)]));
                spread = std::fmax(spread, pred.std[at(i, j)]);
            }
        t0 = std::chrono::steady_clock::now();
        int it_warm = cg(pb, warm, tol);
        double ms_warm = ms_since(t0);

        std::printf("model %s, fidelity level %g (%s), provider %s\n", model.name().c_str(), level,
                    model.fidelity_label(static_cast<std::size_t>(level)).c_str(), model.provider().c_str());
        std::printf("surrogate: %.2f ms (%zu evaluations x 8 samples), max |mean - solution| = %.3e, max std = %.3e\n",
                    ms_pred, config.nfe(), err, spread);
        std::printf("CG from zero:        %4d iterations, %.3f ms\n", it_cold, ms_cold);
        std::printf("CG from the surrogate: %4d iterations, %.3f ms\n", it_warm, ms_warm);
        return it_warm <= it_cold ? 0 : 1;
    } catch (const dgmf::Error& e) {
        std::fprintf(stderr, "error (%s): %s\n", dgmf::status_string(e.status()).c_str(), e.what());
        return 1;
    }
}
