// The C++ bindings: RAII, exceptions with status and message, vector calls, move-only handles.
// Usage: test_cpp MODELS_DIR
#include <dgmf.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>

static int failures = 0, checks = 0;
#define CHECK(cond, what)                                                       \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); \
        }                                                                       \
    } while (0)

template <class F>
static void expect_error(F f, dgmf_status status, const std::string& text) {
    try {
        f();
        CHECK(false, ("no exception for " + text).c_str());
    } catch (const dgmf::Error& e) {
        CHECK(e.status() == status, e.what());
        CHECK(std::string(e.what()).find(text) != std::string::npos, e.what());
    }
}

static_assert(!std::is_copy_constructible_v<dgmf::Model>, "handles are move-only");
static_assert(std::is_nothrow_move_constructible_v<dgmf::Model>, "handles move without throwing");

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    CHECK(dgmf::version() == dgmf_version(), "version");

    dgmf::Options opts;
    opts.set_threads(1).set_max_sessions(2).set_optimization(3);
    expect_error([&] { opts.set_provider("fpga"); }, DGMF_ERR_INVALID_ARGUMENT, "unknown execution provider");

    expect_error([&] { dgmf::Model::load(dir + "/bad/fidelity_kind.onnx", &opts); }, DGMF_ERR_CONTRACT,
                 "dgmf.fidelity is `ordinal:3`");
    auto model = dgmf::Model::load(dir + "/analytic_score.onnx", &opts);
    CHECK(model.shape() == (std::vector<std::size_t>{2, 3, 4}), "shape");
    CHECK(model.sample_len() == 24 && model.rank() == 3, "sizes");
    CHECK(model.num_params() == 2 && model.param(0).name == "a" && model.param(1).min == -1.0, "params");
    CHECK(model.num_coords() == 0, "coords");
    auto f = model.fidelity();
    CHECK(f.kind == DGMF_FIDELITY_DISCRETE && f.levels == 3, "fidelity");
    CHECK(model.fidelity_label(1) == "medium", "label");
    CHECK(model.sigma_range().second == 10.0, "sigma range");
    CHECK(model.name() == "analytic_score" && model.provider() == "cpu", "name/provider");
    expect_error([&] { model.param(5); }, DGMF_ERR_INVALID_ARGUMENT, "parameter index 5");

    dgmf::Config cfg("heun");
    CHECK(cfg.nfe() == 35, "heun nfe");
    cfg.set_steps(10).set_samples(4).set_seed(5).set_max_batch(3).set_schedule("karras").set_memory_limit(1 << 30);
    expect_error([&] { dgmf::Config("nope"); }, DGMF_ERR_INVALID_ARGUMENT, "unknown sampler `nope`");
    dgmf::Config one("consistency");
    CHECK(one.set_steps(1).set_sigma_last(0.5f).nfe() == 1, "consistency with one level: one evaluation");
    expect_error([&] { one.set_sigma_last(-1.0f); }, DGMF_ERR_INVALID_ARGUMENT, "sigma_last");
    CHECK(dgmf::Config().nfe() == DGMF_DEFAULT_STEPS, "the default config is ancestral with 30 levels");
    CHECK(model.precision() == "fp32", "precision");
    CHECK(model.members() == 1, "one network");
    CHECK(dgmf::Model::load(dir + "/analytic_ensemble.onnx", &opts).members() == 3, "a deep ensemble of 3");
    CHECK(dgmf::Config::for_model(model).nfe() == DGMF_DEFAULT_STEPS, "no recommendation: the default");
    auto recommends = dgmf::Model::load(dir + "/analytic_recommends.onnx", &opts);
    CHECK(dgmf::Config::for_model(recommends).nfe() == 7, "the model's recommendation: heun 4 levels");

    auto p = model.predict(cfg, {0.3, -0.6}, 2.0, {}, true);
    CHECK(p.mean.size() == 24 && p.std.size() == 24, "sizes of the result");
    bool ok = true;
    for (std::size_t i = 0; i < 24; i++) ok &= std::isfinite(p.mean[i]) && p.std[i] > 0;
    CHECK(ok, "finite mean and positive std");
    auto batch = model.predict_batch(cfg, {0.3, -0.6, 0.5, 0.5}, {2.0, 0.0}, {}, true);
    CHECK(batch.mean.size() == 48, "batch size");
    const auto rms = model.std_rms(batch.std);
    double want = 0;
    for (std::size_t i = 24; i < 48; i++) want += double(batch.std[i]) * batch.std[i];
    CHECK(rms.size() == 2 && std::abs(rms[1] - std::sqrt(want / 24)) <= 1e-12 * rms[1], "std rms per query");
    CHECK(std::equal(p.mean.begin(), p.mean.end(), batch.mean.begin()), "batch query 0 equals the single call");
    expect_error([&] { model.predict(cfg, {0.3, 9.0}, 2.0); }, DGMF_ERR_INVALID_ARGUMENT, "outside the model's range");
    expect_error([&] { model.predict_batch(cfg, {0.3}, {2.0}); }, DGMF_ERR_INVALID_ARGUMENT, "n*P");
    const double params[2] = {0.3, -0.6};
    float small[3];
    expect_error([&] { model.predict(cfg, params, 2.0, nullptr, small, 3, nullptr, 0); }, DGMF_ERR_BUFFER_TOO_SMALL,
                 "needs 24");

    std::size_t seen = 0;
    cfg.set_progress([&](std::size_t done, std::size_t) {
        seen = done;
        return done < 4;
    });
    expect_error([&] { model.predict(cfg, {0.3, -0.6}, 2.0); }, DGMF_ERR_CANCELLED, "cancelled");
    CHECK(seen == 4, "cancelled after 4 evaluations");
    cfg.set_progress([](std::size_t, std::size_t) -> bool { throw std::runtime_error("oops"); });
    expect_error([&] { model.predict(cfg, {0.3, -0.6}, 2.0); }, DGMF_ERR_CANCELLED, "cancelled");

    // Mergeable ensembles: two parts merged as objects, and as packed records, equal the one-call ensemble.
    dgmf::Config ens;
    ens.set_samples(6).set_seed(3).set_extrapolation(true);
    const std::vector<double> qp{0.3, -0.6, 0.5, 0.5}, qf{2.0, 0.0};
    auto whole = model.predict_batch(ens, qp, qf, {}, true);
    auto a = model.predict_moments(ens, qp, qf, {}, 0, 2);
    auto b = model.predict_moments(ens, qp, qf, {}, 2, 4);
    dgmf::Moments total(model, 2);
    total.merge(a).merge(b);
    CHECK(total.num_queries() == 2 && total.count(1) == 6, "merged counts");
    auto merged = total.finish(model, qf, true);
    double gap = 0;
    for (std::size_t i = 0; i < whole.mean.size(); i++) {
        gap = std::max(gap, std::abs(double(merged.mean[i]) - whole.mean[i]) / std::max(std::abs(double(whole.mean[i])), 1e-3));
        gap = std::max(gap, std::abs(double(merged.std[i]) - whole.std[i]) / std::max(std::abs(double(whole.std[i])), 1e-3));
    }
    CHECK(gap <= 1e-6, "split ensemble vs one call within 1e-6");
    auto pa = a.pack(model), pb = b.pack(model);
    CHECK(pa.size() == model.moments_packed_len(2), "packed length");
    dgmf::Moments::merge_packed(pb.data(), pa.data(), 2, model.sample_len());
    auto unpacked = dgmf::Moments::unpack(model, 2, pa).finish(model, qf, true);
    CHECK(unpacked.mean == merged.mean && unpacked.std == merged.std, "packed merge equals object merge");
    expect_error([&] { model.predict_moments(ens, qp, qf, {}, 5, 2); }, DGMF_ERR_INVALID_ARGUMENT, "within 0..6");
    expect_error([&] { a.finish(model, {2.0}); }, DGMF_ERR_INVALID_ARGUMENT, "one value per query");
    ens.set_first_query(1);
    auto second = model.predict_batch(ens, {0.5, 0.5}, {0.0}, {}, true);
    CHECK(std::equal(second.mean.begin(), second.mean.end(), whole.mean.begin() + 24),
          "first_query 1: query 1 alone gets its one-call samples");

    // Moves transfer ownership; the moved-from handle is empty and its use is a clean error.
    auto moved = std::move(model);
    CHECK(moved.get() != nullptr && model.get() == nullptr, "move");
    expect_error([&] { model.sample_len(); }, DGMF_ERR_NULL_ARGUMENT, "`model` is NULL");

    std::printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
