// SIMP minimum compliance on the L-bracket (docs/topopt.md): the same FE model, sensitivity filter,
// optimality-criteria update and stopping rule as training/dgmf_data/topopt.py, which made the data.
#pragma once

#include <Eigen/Sparse>
#include <Eigen/SparseCholesky>

#include <array>
#include <vector>

namespace lbracket {

constexpr double kE0 = 1.0, kEmin = 1e-9, kNu = 0.3, kPenal = 3.0;
constexpr double kVolfrac = 0.4;  // of the whole square, the void quadrant included
constexpr double kRmin = 1.5;     // sensitivity-filter radius, in elements
constexpr double kMove = 0.2, kTol = 0.01;

struct Result {
    std::vector<double> density;  // [n * n], row = y from the bottom, column = x
    double compliance = 0;        // f . u of `density` (one more FE solve after the last update)
    int iterations = 0;           // OC updates
    double seconds = 0;           // wall time of the loop
};

class Bracket {
public:
    // The n x n mesh (n even) with the load at x = 1, y = 0.5 - 0.5 p (nearest node, ties up),
    // direction (sin t, -cos t), t = a pi / 2.
    Bracket(int n, double p, double a);

    int n() const { return n_; }
    bool is_void(int e) const { return void_[e]; }
    double target_volume() const { return kVolfrac * n_ * n_; }
    // The SIMP start: the target volume spread evenly over the L.
    std::vector<double> uniform() const;
    // Densities clipped to [0, 1], the void set to 0, then shifted by one constant (clipped again)
    // so that they hold exactly the target volume: what a surrogate's design becomes before use.
    std::vector<double> project(std::vector<double> x) const;
    // Compliance of a design (clipped to [0, 1], void 0; the volume is not adjusted).
    double compliance(const std::vector<double>& x);
    // SIMP from x0 until the largest density change <= kTol, or max_iter updates.
    Result optimize(std::vector<double> x0, int max_iter);

private:
    void solve(const std::vector<double>& x);  // displacements u_ for element densities x
    void oc_update(std::vector<double>& x, const std::vector<double>& dc) const;

    int n_;
    std::vector<char> void_;
    std::vector<std::array<int, 8>> edof_;
    std::vector<char> fixed_;
    Eigen::VectorXd f_, u_;
    Eigen::SparseMatrix<double> k_;
    Eigen::SimplicialLLT<Eigen::SparseMatrix<double>> llt_;
    bool analyzed_ = false;
    std::vector<int> active_;                            // element ids of the L
    std::vector<std::vector<std::pair<int, double>>> h_; // filter rows over active elements
    std::vector<double> hs_;
};

}  // namespace lbracket
