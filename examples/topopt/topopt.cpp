// L-bracket topology optimization with a DGMF surrogate (docs/topopt.md). One load case, three designs:
//   cold       SIMP from the uniform start,
//   warm       SIMP started from the surrogate's mean design (projected to the volume fraction first),
//   surrogate  the surrogate's design alone (projected), one FE solve to evaluate it.
// Same FE model, filter, update and stopping rule for both SIMP runs; the surrogate's time is included in
// warm and surrogate.
//
// --fallback-std T adds the decision a design loop makes with the surrogate's uncertainty: answer with the
// surrogate's design when the RMS of its calibrated std (dgmf_std_rms) is at most T, else run the solver
// (cold SIMP). The JSON's "policy" says which it took; "std_rms" lets a study sweep T afterwards.
//
//   topopt --model models/topopt.onnx --position P --angle A [--mesh 64] [--samples S] [--max-iter N]
//          [--sampler NAME] [--steps N] [--fallback-std T] --json OUT.json [--save DIR]
#include <dgmf.hpp>

#include "args.hpp"
#include "pictures.hpp"
#include "simp.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Args {
    std::string model, json, save, sampler;  // sampler "": the model's recommended one
    double position = -1, angle = -1;
    int mesh = 64, samples = 8, max_iter = 300, steps = 0;  // steps 0: the sampler's default
    double fallback_std = -1;                                // < 0: no policy
};

const char* kUsage =
    "usage: topopt --model MODEL.onnx --position P --angle A [--mesh 64] [--samples 8] [--max-iter 300]\n"
    "              [--sampler NAME] [--steps N] [--fallback-std T] --json OUT.json [--save DIR]\n"
    "  P, A in [0, 1]: the load at x = 1, y = 0.5 - 0.5 P, direction A * 90 degrees from straight down\n";

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
        const char* v = argv[++i];
        if (flag == "--model") a.model = v;
        else if (flag == "--json") a.json = v;
        else if (flag == "--save") a.save = v;
        else if (flag == "--position") a.position = args::number(flag, v);
        else if (flag == "--angle") a.angle = args::number(flag, v);
        else if (flag == "--mesh") a.mesh = args::count(flag, v, 2, 512);
        else if (flag == "--samples") a.samples = args::count(flag, v, 1, 1024);
        else if (flag == "--max-iter") a.max_iter = args::count(flag, v, 1, 100000);
        else if (flag == "--sampler") a.sampler = v;
        else if (flag == "--steps") a.steps = args::count(flag, v, 2, 100000);
        else if (flag == "--fallback-std") {
            a.fallback_std = args::number(flag, v);
            if (!(a.fallback_std >= 0)) throw std::invalid_argument("--fallback-std needs a threshold >= 0");
        }
        else throw std::invalid_argument("unknown option " + flag);
    }
    if (a.model.empty() || a.json.empty()) throw std::invalid_argument("--model and --json are required");
    if (!(a.position >= 0 && a.position <= 1) || !(a.angle >= 0 && a.angle <= 1))
        throw std::invalid_argument("--position and --angle are required, each in [0, 1]");
    if (a.fallback_std >= 0 && a.samples < 2)
        throw std::invalid_argument("--fallback-std needs --samples 2 or more (the std is the samples' spread)");
    return a;
}

// A field on the model's g x g grid onto the n x n mesh: block means (g a multiple of n) or copies
// (n a multiple of g); both keep the volume.
std::vector<double> to_mesh(const std::vector<float>& field, int g, int n) {
    std::vector<double> out(n * n, 0.0);
    if (g % n == 0) {
        const int k = g / n;
        for (int r = 0; r < g; ++r)
            for (int c = 0; c < g; ++c) out[(r / k) * n + c / k] += field[r * g + c] / double(k * k);
    } else if (n % g == 0) {
        const int k = n / g;
        for (int r = 0; r < n; ++r)
            for (int c = 0; c < n; ++c) out[r * n + c] = field[(r / k) * g + c / k];
    } else {
        throw std::invalid_argument("--mesh " + std::to_string(n) + " and the model's " + std::to_string(g) +
                                    "-element grid must divide one another");
    }
    return out;
}

double volume_fraction(const std::vector<double>& x) {
    double v = 0;
    for (double e : x) v += e;
    return v / x.size();
}

void save(const std::string& dir, const std::string& name, const std::vector<double>& x, int n, double hi) {
    pictures::write_npy(dir + "/" + name + ".npy", x, n, n);
    pictures::write_png(dir + "/" + name + ".png", x, n, n, 0.0, hi, std::max(1, 256 / n));
}

int run(const Args& a) {
    using clock = std::chrono::steady_clock;
    const int n = a.mesh;
    lbracket::Bracket bracket(n, a.position, a.angle);

    // The surrogate: its mean design and ensemble std at the finest fidelity level.
    const auto t0 = clock::now();
    const dgmf::Model model = dgmf::Model::load(a.model);
    const auto shape = model.shape();
    const auto fid = model.fidelity();
    if (shape.size() != 3 || shape[0] != 1 || shape[1] != shape[2] || model.num_params() != 2 ||
        fid.kind != DGMF_FIDELITY_DISCRETE)
        throw std::invalid_argument(a.model + " is not an L-bracket model: expected output [1, g, g], parameters "
                                              "(p, a) and a discrete fidelity");
    const double load_seconds = std::chrono::duration<double>(clock::now() - t0).count();
    // The model's recommended sampler unless --sampler names one.
    dgmf::Config config = a.sampler.empty() ? dgmf::Config::for_model(model) : dgmf::Config(a.sampler);
    if (a.steps > 0) config.set_steps(static_cast<std::size_t>(a.steps));
    config.set_samples(static_cast<std::size_t>(a.samples));
    const bool with_std = a.samples >= 2;  // the ensemble's spread needs two samples
    const auto pred = model.predict(config, {a.position, a.angle}, double(fid.levels - 1), {}, with_std);
    const int g = static_cast<int>(shape[1]);
    const std::vector<double> surrogate = bracket.project(to_mesh(pred.mean, g, n));
    const double surrogate_seconds = std::chrono::duration<double>(clock::now() - t0).count();

    // (c) the surrogate alone: one FE solve to evaluate it.
    const auto t1 = clock::now();
    const double c_surrogate = bracket.compliance(surrogate);
    const double s_surrogate = surrogate_seconds + std::chrono::duration<double>(clock::now() - t1).count();
    // (a) cold and (b) warm SIMP.
    const lbracket::Result cold = bracket.optimize(bracket.uniform(), a.max_iter);
    lbracket::Result warm = bracket.optimize(surrogate, a.max_iter);
    warm.seconds += surrogate_seconds;
    // The surrogate's one number of uncertainty (calibrated units when the model carries dgmf.std_scale).
    const double std_rms = with_std ? model.std_rms(pred.std).at(0) : -1;
    const bool trust = a.fallback_std >= 0 && std_rms <= a.fallback_std;

    std::ofstream out(a.json);
    if (!out) throw std::runtime_error("cannot write " + a.json);
    out.precision(10);
    auto entry = [&](const char* name, int iterations, double compliance, double seconds,
                     const std::vector<double>& x, bool last) {
        out << "  \"" << name << "\": {\"iterations\": " << iterations << ", \"compliance\": " << compliance
            << ", \"seconds\": " << seconds << ", \"volume_fraction\": " << volume_fraction(x) << "}"
            << (last ? "\n" : ",\n");
    };
    out << "{\n  \"position\": " << a.position << ", \"angle\": " << a.angle << ", \"mesh\": " << n
        << ", \"samples\": " << a.samples << ", \"nfe\": " << config.nfe() << ", \"model\": \"" << model.name()
        << "\",\n  \"surrogate_load_seconds\": " << load_seconds << ", \"std_rms\": " << std_rms << ",\n";
    if (a.fallback_std >= 0)  // the policy's answer: the surrogate alone, or the solver run instead
        out << "  \"policy\": {\"fallback_std\": " << a.fallback_std << ", \"design\": \""
            << (trust ? "surrogate" : "cold") << "\", \"compliance\": "
            << (trust ? c_surrogate : cold.compliance)
            << ", \"seconds\": " << (trust ? s_surrogate : surrogate_seconds + cold.seconds) << "},\n";
    entry("cold", cold.iterations, cold.compliance, cold.seconds, cold.density, false);
    entry("warm", warm.iterations, warm.compliance, warm.seconds, warm.density, false);
    entry("surrogate", 0, c_surrogate, s_surrogate, surrogate, true);
    out << "}\n";
    if (!out) throw std::runtime_error("writing " + a.json + " failed");

    std::printf("%-10s %10s %14s %10s %8s\n", "design", "iterations", "compliance", "seconds", "volume");
    std::printf("%-10s %10d %14.6g %10.3f %8.4f\n", "cold", cold.iterations, cold.compliance, cold.seconds,
                volume_fraction(cold.density));
    std::printf("%-10s %10d %14.6g %10.3f %8.4f\n", "warm", warm.iterations, warm.compliance, warm.seconds,
                volume_fraction(warm.density));
    std::printf("%-10s %10s %14.6g %10.3f %8.4f\n", "surrogate", "-", c_surrogate, s_surrogate,
                volume_fraction(surrogate));
    if (a.fallback_std >= 0)
        std::printf("policy: std RMS %.4g %s %.4g: %s\n", std_rms, trust ? "<=" : ">", a.fallback_std,
                    trust ? "the surrogate's design answers" : "the solver runs (cold SIMP)");

    if (!a.save.empty()) {
        std::filesystem::create_directories(a.save);  // throws filesystem_error with the reason
        save(a.save, "cold", cold.density, n, 1.0);
        save(a.save, "warm", warm.density, n, 1.0);
        save(a.save, "surrogate", surrogate, n, 1.0);
        if (with_std) {  // the ensemble std on the model's grid: where the surrogate is unsure
            std::vector<double> sd(pred.std.begin(), pred.std.end());
            double top = 1e-12;
            for (double v : sd) top = std::max(top, v);
            pictures::write_npy(a.save + "/std.npy", sd, g, g);
            pictures::write_png(a.save + "/std.png", sd, g, g, 0.0, top, std::max(1, 256 / g));
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::invalid_argument& e) {
        std::cerr << "topopt: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "topopt: " << e.what() << "\n";
        return 1;
    }
}
