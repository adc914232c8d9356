#include "simp.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace lbracket {
namespace {

// Q4 plane-stress element stiffness at E = 1 (top88's closed form). DOF order: (ux, uy) of the
// corners (0,0), (1,0), (1,1), (0,1).
std::array<std::array<double, 8>, 8> element_stiffness() {
    const double nu = kNu;
    const double k[8] = {0.5 - nu / 6,      0.125 + nu / 8, -0.25 - nu / 12, -0.125 + 3 * nu / 8,
                         -0.25 + nu / 12,   -0.125 - nu / 8, nu / 6,         0.125 - 3 * nu / 8};
    const int order[8][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 7, 6, 5, 4, 3, 2}, {2, 7, 0, 5, 6, 3, 4, 1},
                             {3, 6, 5, 0, 7, 2, 1, 4}, {4, 5, 6, 7, 0, 1, 2, 3}, {5, 4, 3, 2, 1, 0, 7, 6},
                             {6, 3, 4, 1, 2, 7, 0, 5}, {7, 2, 1, 4, 3, 6, 5, 0}};
    std::array<std::array<double, 8>, 8> ke{};
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) ke[i][j] = k[order[i][j]] / (1 - nu * nu);
    return ke;
}

const std::array<std::array<double, 8>, 8> kKE = element_stiffness();

double modulus(double x) { return kEmin + std::pow(x, kPenal) * (kE0 - kEmin); }

}  // namespace

Bracket::Bracket(int n, double p, double a) : n_(n) {
    if (n < 2 || n % 2) throw std::invalid_argument("the mesh must be even (the void quadrant is n/2 x n/2)");
    if (!(p >= 0 && p <= 1) || !(a >= 0 && a <= 1)) throw std::invalid_argument("position and angle lie in [0, 1]");
    const int nx1 = n + 1, ndof = 2 * nx1 * nx1;
    void_.resize(n * n);
    edof_.resize(n * n);
    for (int ey = 0; ey < n; ++ey)
        for (int ex = 0; ex < n; ++ex) {
            const int e = ey * n + ex, n0 = ey * nx1 + ex;
            void_[e] = ex >= n / 2 && ey >= n / 2;
            const int nodes[4] = {n0, n0 + 1, n0 + 1 + nx1, n0 + nx1};
            for (int c = 0; c < 4; ++c) edof_[e][2 * c] = 2 * nodes[c], edof_[e][2 * c + 1] = 2 * nodes[c] + 1;
            if (!void_[e]) active_.push_back(e);
        }
    fixed_.assign(ndof, 0);
    for (int ix = 0; ix <= n / 2; ++ix) fixed_[2 * (n * nx1 + ix)] = fixed_[2 * (n * nx1 + ix) + 1] = 1;
    const double y = 0.5 - 0.5 * p;
    const int iy = std::min(static_cast<int>(std::floor(n * y + 0.5)), n / 2);
    const double theta = 0.5 * M_PI * a;
    f_ = Eigen::VectorXd::Zero(ndof);
    f_[2 * (iy * nx1 + n)] = std::sin(theta);
    f_[2 * (iy * nx1 + n) + 1] = -std::cos(theta);

    // Sensitivity filter over the active elements: weights max(0, rmin - centre distance).
    std::vector<int> pos(n * n, -1);
    for (std::size_t i = 0; i < active_.size(); ++i) pos[active_[i]] = static_cast<int>(i);
    const int r = static_cast<int>(std::ceil(kRmin)) - 1;
    h_.resize(active_.size());
    hs_.assign(active_.size(), 0.0);
    for (std::size_t i = 0; i < active_.size(); ++i) {
        const int ey = active_[i] / n, ex = active_[i] % n;
        for (int dy = -r; dy <= r; ++dy)
            for (int dx = -r; dx <= r; ++dx) {
                const double w = kRmin - std::hypot(dx, dy);
                const int x2 = ex + dx, y2 = ey + dy;
                if (w <= 0 || x2 < 0 || x2 >= n || y2 < 0 || y2 >= n || pos[y2 * n + x2] < 0) continue;
                h_[i].emplace_back(pos[y2 * n + x2], w);
                hs_[i] += w;
            }
    }
}

std::vector<double> Bracket::uniform() const {
    std::vector<double> x(n_ * n_, 0.0);
    for (int e : active_) x[e] = target_volume() / active_.size();
    return x;
}

std::vector<double> Bracket::project(std::vector<double> x) const {
    if (x.size() != static_cast<std::size_t>(n_ * n_)) throw std::invalid_argument("design of the wrong size");
    for (std::size_t e = 0; e < x.size(); ++e) x[e] = void_[e] ? 0.0 : std::clamp(std::isfinite(x[e]) ? x[e] : 0.0, 0.0, 1.0);
    auto volume = [&](double t) {
        double v = 0;
        for (int e : active_) v += std::clamp(x[e] + t, 0.0, 1.0);
        return v;
    };
    double lo = -1, hi = 1;  // volume(-1) = 0 <= target <= volume(1) = |L|
    for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) (volume(0.5 * (lo + hi)) > target_volume() ? hi : lo) = 0.5 * (lo + hi);
    const double t = 0.5 * (lo + hi);
    for (int e : active_) x[e] = std::clamp(x[e] + t, 0.0, 1.0);
    return x;
}

void Bracket::solve(const std::vector<double>& x) {
    const int ndof = static_cast<int>(f_.size());
    std::vector<Eigen::Triplet<double>> t;
    t.reserve(n_ * n_ * 36 + ndof);
    for (int e = 0; e < n_ * n_; ++e) {
        const double m = modulus(x[e]);
        for (int r = 0; r < 8; ++r)
            for (int s = 0; s <= r; ++s) {
                int i = edof_[e][r], j = edof_[e][s];
                if (fixed_[i] || fixed_[j]) continue;
                if (i < j) std::swap(i, j);
                t.emplace_back(i, j, m * kKE[r][s]);  // lower triangle only
            }
    }
    for (int i = 0; i < ndof; ++i)
        if (fixed_[i]) t.emplace_back(i, i, 1.0);  // clamped DOFs: identity rows
    k_.resize(ndof, ndof);
    k_.setFromTriplets(t.begin(), t.end());
    if (!analyzed_) llt_.analyzePattern(k_), analyzed_ = true;  // same pattern every iteration
    llt_.factorize(k_);
    if (llt_.info() != Eigen::Success) throw std::runtime_error("the stiffness matrix is not positive definite");
    Eigen::VectorXd rhs = f_;
    for (int i = 0; i < ndof; ++i)
        if (fixed_[i]) rhs[i] = 0;
    u_ = llt_.solve(rhs);
}

double Bracket::compliance(const std::vector<double>& x0) {
    std::vector<double> x(x0);
    for (std::size_t e = 0; e < x.size(); ++e) x[e] = void_[e] ? 0.0 : std::clamp(x[e], 0.0, 1.0);
    solve(x);
    return f_.dot(u_);
}

void Bracket::oc_update(std::vector<double>& x, const std::vector<double>& dc) const {
    const std::size_t m = active_.size();
    std::vector<double> xa(m), lo(m), hi(m), b(m), xnew(m);
    for (std::size_t i = 0; i < m; ++i) {
        xa[i] = x[active_[i]];
        lo[i] = std::max(xa[i] - kMove, 0.0);
        hi[i] = std::min(xa[i] + kMove, 1.0);
        b[i] = std::sqrt(std::max(-dc[i], 0.0));
    }
    double l1 = 0, l2 = 1e9;
    while ((l2 - l1) / (l1 + l2) > 1e-9) {
        const double lmid = 0.5 * (l1 + l2), s = std::sqrt(lmid);
        double sum = 0;
        for (std::size_t i = 0; i < m; ++i) sum += xnew[i] = std::clamp(xa[i] * b[i] / s, lo[i], hi[i]);
        (sum > target_volume() ? l1 : l2) = lmid;
    }
    for (std::size_t i = 0; i < m; ++i) x[active_[i]] = xnew[i];
}

Result Bracket::optimize(std::vector<double> x, int max_iter) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t e = 0; e < x.size(); ++e) x[e] = void_[e] ? 0.0 : std::clamp(x[e], 0.0, 1.0);
    const std::size_t m = active_.size();
    std::vector<double> dc(m), xdc(m), filtered(m);
    Result r;
    for (r.iterations = 1; r.iterations <= max_iter; ++r.iterations) {
        solve(x);
        for (std::size_t i = 0; i < m; ++i) {
            const auto& ed = edof_[active_[i]];
            double ce = 0;  // u_e . KE . u_e
            for (int a = 0; a < 8; ++a)
                for (int b = 0; b < 8; ++b) ce += u_[ed[a]] * kKE[a][b] * u_[ed[b]];
            const double xe = x[active_[i]];
            dc[i] = -kPenal * std::pow(xe, kPenal - 1) * (kE0 - kEmin) * ce;
            xdc[i] = xe * dc[i];
        }
        for (std::size_t i = 0; i < m; ++i) {
            double s = 0;
            for (const auto& [j, w] : h_[i]) s += w * xdc[j];
            filtered[i] = s / hs_[i] / std::max(1e-3, x[active_[i]]);
        }
        std::vector<double> xnew(x);
        oc_update(xnew, filtered);
        double change = 0;
        for (std::size_t e = 0; e < x.size(); ++e) change = std::max(change, std::abs(xnew[e] - x[e]));
        x.swap(xnew);
        if (change <= kTol) break;
    }
    r.iterations = std::min(r.iterations, max_iter);
    r.compliance = compliance(x);
    r.density = std::move(x);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace lbracket
