// A transient cavity flow from the DGMF flow model (docs/flow.md): the whole time series of one case, all
// snapshots asked for in one batched call (time is the model's coordinate), written as a ParaView series,
// and — given a case solved by the flow solver — compared with it in accuracy and wall time.
//
//   flow --model models/flow.onnx [--params RE UN US VW VE] [--samples 8] [--times 16] [--repeat 3]
//        [--out DIR] [--case DIR [--fallback-std T]] [--json OUT.json]
//
// --case DIR: what `python3 -m dgmf_data.flow --write-case DIR --meshes 64 128 --params ...` writes: the
// case solved on each mesh at the model's 16 output times (meshN.bin) with the solve's wall time and its
// parameters (meshN.txt). The finest mesh is the reference; every other mesh is a solver to race.
//
// --fallback-std T (with --case): the decision a coupled code makes with the surrogate's uncertainty:
// answer with the DGMF series when the RMS of its calibrated std over the series (dgmf_std_rms) is at most
// T, else run the solver (the case's coarsest mesh) and pay its time. The JSON's "policy" holds the answer.
#include <dgmf.hpp>

#include "args.hpp"
#include "vtk.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Args {
    std::string model, out, case_dir, json;
    std::vector<double> params;  // empty: the case's, else the classic lid-driven cavity at Re 100
    int samples = 8, times = 0, repeat = 3;  // times 0: 16, or the --case's
    double fallback_std = -1;                // < 0: no policy
};

const char* kUsage =
    "usage: flow --model MODEL.onnx [--params RE UN US VW VE] [--samples 8] [--times 16] [--repeat 3]\n"
    "            [--out DIR] [--case DIR [--fallback-std T]] [--json OUT.json]\n"
    "  RE in [10, 300]; UN, US, VW, VE in [-1, 1]: the north, south, west and east wall speeds\n";

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        auto value = [&](int k = 1) {
            if (i + k >= argc) throw std::invalid_argument(flag + " needs " + std::to_string(k) + " value(s)");
            return argv[++i];
        };
        if (flag == "--model") a.model = value();
        else if (flag == "--out") a.out = value();
        else if (flag == "--case") a.case_dir = value();
        else if (flag == "--json") a.json = value();
        else if (flag == "--samples") a.samples = args::count(flag, value(), 1, 4096);
        else if (flag == "--times") a.times = args::count(flag, value(), 1, 4096);
        else if (flag == "--repeat") a.repeat = args::count(flag, value(), 1, 1000);
        else if (flag == "--fallback-std") {
            a.fallback_std = args::number(flag, value());
            if (!(a.fallback_std >= 0)) throw std::invalid_argument("--fallback-std needs a threshold >= 0");
        }
        else if (flag == "--params") {
            if (i + 5 >= argc) throw std::invalid_argument("--params needs 5 values: RE UN US VW VE");
            for (int k = 0; k < 5; ++k) a.params.push_back(args::number(flag, argv[++i]));
        } else throw std::invalid_argument("unknown argument '" + flag + "'");
    }
    if (a.model.empty()) throw std::invalid_argument("--model is required");
    if (a.fallback_std >= 0 && (a.case_dir.empty() || a.samples < 2))
        throw std::invalid_argument("--fallback-std needs --case (the solver to fall back on) and --samples 2 or "
                                    "more (the std is the samples' spread)");
    return a;
}

// One mesh of a --case directory: the solved series on the output grid, its wall time and parameters.
struct Solve {
    int mesh = 0;
    double seconds = 0;
    std::vector<double> params;
    std::vector<float> field;  // [times][2][n][n]
};

std::vector<Solve> read_case(const std::string& dir, std::size_t series_len) {
    std::vector<Solve> solves;
    if (!fs::is_directory(dir)) throw std::runtime_error("--case " + dir + " is not a directory");
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string stem = entry.path().stem().string();
        if (entry.path().extension() != ".bin" || stem.rfind("mesh", 0) != 0) continue;
        Solve s;
        s.mesh = std::atoi(stem.c_str() + 4);
        std::ifstream meta(entry.path().parent_path() / (stem + ".txt"));
        for (std::string key; meta >> key;) {
            if (key == "seconds") meta >> s.seconds;
            else if (key == "params") {
                s.params.resize(5);
                for (double& p : s.params) meta >> p;
            }
        }
        if (s.seconds <= 0 || s.params.size() != 5)
            throw std::runtime_error(stem + ".txt lacks 'seconds' or 'params' (rewrite the case with "
                                            "python3 -m dgmf_data.flow --write-case)");
        s.field.resize(series_len);
        std::ifstream bin(entry.path(), std::ios::binary | std::ios::ate);
        if (!bin || static_cast<std::size_t>(bin.tellg()) != series_len * sizeof(float))
            throw std::runtime_error(entry.path().string() + " does not hold " + std::to_string(series_len) +
                                     " float32 values (16 times x the model's output shape)");
        bin.seekg(0);
        bin.read(reinterpret_cast<char*>(s.field.data()), static_cast<std::streamsize>(series_len * sizeof(float)));
        solves.push_back(std::move(s));
    }
    if (solves.size() < 2)
        throw std::runtime_error("--case " + dir + " needs at least two meshes (a solver and the reference)");
    std::sort(solves.begin(), solves.end(), [](const Solve& a, const Solve& b) { return a.mesh < b.mesh; });
    for (const Solve& s : solves)
        if (s.params != solves.back().params)
            throw std::runtime_error("the meshes of --case " + dir + " were solved for different parameters");
    return solves;
}

// omega = dv/dx - du/dy of one snapshot [2][n][n] (rows = y), second-order differences, one-sided on the
// edges: the operator dgmf_data.flow.vorticity applies, so the numbers match the docs.
std::vector<float> vorticity(const float* uv, int n) {
    const double h = 1.0 / n;
    auto d = [&](const float* f, int i, int j, bool along_x) {
        auto at = [&](int k) { return static_cast<double>(along_x ? f[i * n + k] : f[k * n + j]); };
        const int k = along_x ? j : i;
        if (k == 0) return (-3 * at(0) + 4 * at(1) - at(2)) / (2 * h);
        if (k == n - 1) return (3 * at(n - 1) - 4 * at(n - 2) + at(n - 3)) / (2 * h);
        return (at(k + 1) - at(k - 1)) / (2 * h);
    };
    std::vector<float> w(static_cast<std::size_t>(n) * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            w[i * n + j] = static_cast<float>(d(uv + n * n, i, j, true) - d(uv, i, j, false));
    return w;
}

std::vector<float> series_vorticity(const std::vector<float>& series, int times, int n) {
    std::vector<float> w;
    for (int k = 0; k < times; ++k) {
        const auto wk = vorticity(series.data() + static_cast<std::size_t>(k) * 2 * n * n, n);
        w.insert(w.end(), wk.begin(), wk.end());
    }
    return w;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& ref) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    return std::sqrt(num / den);
}

// (u, v) of one snapshot as a 3-component VTK vector (z = 0).
std::vector<float> vector3(const float* uv, int n) {
    std::vector<float> out(3 * static_cast<std::size_t>(n) * n, 0.0f);
    for (int c = 0; c < n * n; ++c) {
        out[3 * c] = uv[c];
        out[3 * c + 1] = uv[n * n + c];
    }
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const Args& args) {
    auto t0 = std::chrono::steady_clock::now();
    dgmf::Model model = dgmf::Model::load(args.model);
    const double load_s = seconds_since(t0);
    const auto shape = model.shape();
    if (shape.size() != 3 || shape[0] != 2 || shape[1] != shape[2] || model.num_params() != 5 ||
        model.num_coords() != 1 || model.fidelity().kind != DGMF_FIDELITY_DISCRETE)
        throw std::runtime_error(args.model + " is not a flow model (2 x N x N velocity, 5 params, time as "
                                              "its coordinate, discrete fidelity)");
    const int n = static_cast<int>(shape[1]);
    const std::size_t snap = model.sample_len();

    std::vector<Solve> solves;
    int times = args.times ? args.times : 16;
    if (!args.case_dir.empty()) {
        if (args.times && args.times != 16)
            throw std::invalid_argument("--times with --case: a case holds the 16 snapshots of dgmf_data.flow.TIMES");
        solves = read_case(args.case_dir, times * snap);
    }
    std::vector<double> params = args.params;
    if (params.empty()) params = solves.empty() ? std::vector<double>{100, 1, 0, 0, 0} : solves.back().params;
    if (!solves.empty() && params != solves.back().params)
        throw std::runtime_error("--params differ from the parameters the --case was solved for");

    // The batch: the same parameters and top fidelity at every time of the model's declared range.
    const dgmf::Variable t_range = model.coord(0);
    std::vector<double> batch_params, fidelity, coords;
    for (int k = 0; k < times; ++k) {
        batch_params.insert(batch_params.end(), params.begin(), params.end());
        fidelity.push_back(static_cast<double>(model.fidelity().levels - 1));
        coords.push_back(times == 1 ? t_range.max : t_range.min + (t_range.max - t_range.min) * k / (times - 1));
    }
    dgmf::Config config = dgmf::Config::for_model(model);
    config.set_samples(static_cast<std::size_t>(args.samples));
    const bool with_std = args.samples >= 2;

    // The first call pays ONNX Runtime's one-off allocations; the warm calls are what a coupled code
    // querying the model repeatedly sees (median of --repeat).
    t0 = std::chrono::steady_clock::now();
    dgmf::Prediction pred = model.predict_batch(config, batch_params, fidelity, coords, with_std);
    const double first_s = seconds_since(t0);
    std::vector<double> warm;
    for (int r = 0; r < args.repeat; ++r) {
        t0 = std::chrono::steady_clock::now();
        pred = model.predict_batch(config, batch_params, fidelity, coords, with_std);
        warm.push_back(seconds_since(t0));
    }
    std::sort(warm.begin(), warm.end());
    const double predict_s = warm[warm.size() / 2];

    std::printf("model %s (%s), %d snapshots x %zu values, %d sample(s), %zu network evaluations per sample\n",
                model.name().c_str(), args.model.c_str(), times, snap, args.samples, config.nfe());
    std::printf("params Re %g, walls north %g south %g west %g east %g; fidelity %s\n", params[0], params[1],
                params[2], params[3], params[4],
                model.fidelity_label(model.fidelity().levels - 1).c_str());
    std::printf("load %.3f s; predict the series: first call %.3f s, warm %.3f s (median of %d)\n", load_s,
                first_s, predict_s, args.repeat);

    const std::vector<float> w_pred = series_vorticity(pred.mean, times, n);
    std::ostringstream json;
    json << "{\"model\": \"" << args.model << "\", \"times\": " << times << ", \"samples\": " << args.samples
         << ", \"nfe\": " << config.nfe() << ", \"load_s\": " << load_s << ", \"predict_first_s\": " << first_s
         << ", \"predict_s\": " << predict_s;
    const Solve* ref = solves.empty() ? nullptr : &solves.back();
    if (ref) {
        const std::vector<float> w_ref = series_vorticity(ref->field, times, n);
        // Points of the series inside mean +- 2 std: the calibrated std's promise (docs/accuracy.md).
        std::size_t inside = 0;
        if (with_std)
            for (std::size_t i = 0; i < ref->field.size(); ++i)
                inside += std::abs(pred.mean[i] - ref->field[i]) <= 2 * pred.std[i];
        const double coverage = with_std ? double(inside) / ref->field.size() : NAN;
        std::printf("\nagainst the %d^2 reference (relative L2 over the series)   velocity  vorticity  wall time\n",
                    ref->mesh);
        std::printf("  DGMF mean (libdgmf, warm)                               %8.4f  %9.4f  %8.3f s\n",
                    rel_l2(pred.mean, ref->field), rel_l2(w_pred, w_ref), predict_s);
        json << ", \"reference_mesh\": " << ref->mesh << ", \"dgmf\": {\"rel_l2\": " << rel_l2(pred.mean, ref->field)
             << ", \"vorticity_rel_l2\": " << rel_l2(w_pred, w_ref) << ", \"coverage_2sigma\": "
             << (with_std ? coverage : -1) << "}, \"solvers\": [";
        for (std::size_t s = 0; s + 1 < solves.size(); ++s) {
            const Solve& sv = solves[s];
            const double e = rel_l2(sv.field, ref->field), ew = rel_l2(series_vorticity(sv.field, times, n), w_ref);
            std::printf("  solver, %3d^2 mesh (Python, numpy/scipy)                %8.4f  %9.4f  %8.3f s  (%.1fx the "
                        "surrogate's time)\n",
                        sv.mesh, e, ew, sv.seconds, sv.seconds / predict_s);
            json << (s ? ", " : "") << "{\"mesh\": " << sv.mesh << ", \"seconds\": " << sv.seconds
                 << ", \"rel_l2\": " << e << ", \"vorticity_rel_l2\": " << ew
                 << ", \"speedup\": " << sv.seconds / predict_s << "}";
        }
        json << "]";
        if (with_std) std::printf("  +-2 std of the DGMF ensemble covers %.1f %% of the reference's values\n", 100 * coverage);
        if (with_std) {
            // One number for the series: the RMS of the per-snapshot std RMS values, i.e. over all values.
            double sq = 0;
            for (double r : model.std_rms(pred.std)) sq += r * r;
            const double std_rms = std::sqrt(sq / times);
            json << ", \"std_rms\": " << std_rms;
            if (args.fallback_std >= 0) {
                const bool trust = std_rms <= args.fallback_std;
                const Solve& solver = solves.front();
                const double e = trust ? rel_l2(pred.mean, ref->field) : rel_l2(solver.field, ref->field);
                const double s = trust ? predict_s : predict_s + solver.seconds;
                std::printf("policy: std RMS %.4g %s %.4g: %s (rel. L2 %.4f, %.3f s)\n", std_rms,
                            trust ? "<=" : ">", args.fallback_std,
                            trust ? "the DGMF series answers" : "the solver runs", e, s);
                json << ", \"policy\": {\"fallback_std\": " << args.fallback_std << ", \"answer\": \""
                     << (trust ? "dgmf" : "solver") << "\", \"mesh\": " << (trust ? 0 : solver.mesh)
                     << ", \"rel_l2\": " << e << ", \"seconds\": " << s << "}";
            }
        }
    }
    json << "}\n";

    if (!args.out.empty()) {
        fs::create_directories(args.out);
        std::vector<std::pair<double, std::string>> steps;
        for (int k = 0; k < times; ++k) {
            const std::size_t off = static_cast<std::size_t>(k) * snap;
            auto slice = [&](const std::vector<float>& a, std::size_t len, std::size_t at) {
                return std::vector<float>(a.begin() + static_cast<long>(at), a.begin() + static_cast<long>(at + len));
            };
            const std::size_t cells = static_cast<std::size_t>(n) * n;
            std::vector<vtk::Field> fields{{"velocity", 3, vector3(pred.mean.data() + off, n)},
                                           {"vorticity", 1, slice(w_pred, cells, k * cells)}};
            if (with_std) fields.push_back({"velocity_std", 3, vector3(pred.std.data() + off, n)});
            if (ref) {
                fields.push_back({"reference_velocity", 3, vector3(ref->field.data() + off, n)});
                fields.push_back({"reference_vorticity", 1, vorticity(ref->field.data() + off, n)});
            }
            char name[32];
            std::snprintf(name, sizeof name, "flow_%03d.vti", k);
            vtk::write_image((fs::path(args.out) / name).string(), n, n, fields);
            steps.emplace_back(coords[k], name);
        }
        vtk::write_collection((fs::path(args.out) / "flow.pvd").string(), steps);
        std::printf("wrote %s/flow.pvd and %d .vti files (open flow.pvd in ParaView)\n", args.out.c_str(), times);
    }
    if (!args.json.empty()) {
        std::ofstream out(args.json);
        out << json.str();
        if (!out) throw std::runtime_error("cannot write " + args.json);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "flow: %s\n%s", e.what(), kUsage);
        return 1;
    }
}
