// libdgmf C++ bindings: header-only RAII wrappers over include/dgmf.h, one method per C function.
// Errors throw dgmf::Error carrying the status and the message of dgmf_last_error(). Requires C++17.
//
// Thread safety is the C API's: a const Model (and a const Config) may be used by many threads at once.
#ifndef DGMF_HPP
#define DGMF_HPP

#include <dgmf.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dgmf {

// A failed libdgmf call: what() is the message of dgmf_last_error(), status() the code.
class Error : public std::runtime_error {
public:
    Error(dgmf_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    dgmf_status status() const noexcept { return status_; }

private:
    dgmf_status status_;
};

inline void check(dgmf_status status) {
    if (status != DGMF_OK) throw Error(status, dgmf_last_error());
}

inline std::string version() { return dgmf_version(); }
inline std::string status_string(dgmf_status status) { return dgmf_status_string(static_cast<int32_t>(status)); }

namespace detail {
// A move-only owner of a C handle, freed by its destroy function.
template <class T, void (*Destroy)(T*)>
class Handle {
public:
    Handle() = default;
    explicit Handle(T* ptr) : ptr_(ptr) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            Destroy(ptr_);
            ptr_ = std::exchange(other.ptr_, nullptr);
        }
        return *this;
    }
    ~Handle() { Destroy(ptr_); }
    T* get() const noexcept { return ptr_; }

private:
    T* ptr_ = nullptr;
};
}  // namespace detail

// dgmf_options: how models are loaded.
class Options {
public:
    Options() {
        dgmf_options* raw = nullptr;
        check(dgmf_options_create(&raw));
        handle_ = Handle(raw);
    }
    Options& set_ort_library(const std::string& path) {
        check(dgmf_options_set_ort_library(get(), path.c_str()));
        return *this;
    }
    Options& set_provider(const std::string& provider, bool allow_fallback = false) {
        check(dgmf_options_set_provider(get(), provider.c_str(), allow_fallback ? 1 : 0));
        return *this;
    }
    Options& set_tensorrt(bool fp16, const std::string& engine_cache_dir = "") {
        check(dgmf_options_set_tensorrt(get(), fp16 ? 1 : 0, engine_cache_dir.empty() ? nullptr : engine_cache_dir.c_str()));
        return *this;
    }
    Options& set_threads(std::size_t intra_threads) {
        check(dgmf_options_set_threads(get(), intra_threads));
        return *this;
    }
    Options& set_max_sessions(std::size_t max_sessions) {
        check(dgmf_options_set_max_sessions(get(), max_sessions));
        return *this;
    }
    Options& set_optimization(int level) {
        check(dgmf_options_set_optimization(get(), level));
        return *this;
    }
    dgmf_options* get() const noexcept { return handle_.get(); }

private:
    using Handle = detail::Handle<dgmf_options, dgmf_options_destroy>;
    Handle handle_;
};

class Model;

// dgmf_config: sampler, ensemble size, seed, progress callback. Move-only.
class Config {
public:
    // Returns true to continue, false to cancel.
    using Progress = std::function<bool(std::size_t done, std::size_t total)>;

    // The library's default sampler (ancestral, DGMF_DEFAULT_STEPS levels), for models that recommend
    // none; Config::for_model(model) takes the model's recommendation (dgmf_config_create_for_model).
    Config() {
        dgmf_config* raw = nullptr;
        check(dgmf_config_create(nullptr, &raw));
        handle_ = Handle(raw);
    }
    explicit Config(const std::string& sampler) {
        dgmf_config* raw = nullptr;
        check(dgmf_config_create(sampler.c_str(), &raw));
        handle_ = Handle(raw);
    }
    // The model's recommended sampler (dgmf.sampler), else the library default.
    static Config for_model(const Model& model);
    Config& set_steps(std::size_t steps) { return call(dgmf_config_set_steps(get(), steps)); }
    Config& set_schedule(const std::string& schedule) { return call(dgmf_config_set_schedule(get(), schedule.c_str())); }
    Config& set_corrector(float snr, std::size_t steps) { return call(dgmf_config_set_corrector(get(), snr, steps)); }
    Config& set_churn(float s_churn, float s_min, float s_max, float s_noise) {
        return call(dgmf_config_set_churn(get(), s_churn, s_min, s_max, s_noise));
    }
    Config& set_sigma_last(float sigma) { return call(dgmf_config_set_sigma_last(get(), sigma)); }
    Config& set_denoise(bool denoise) { return call(dgmf_config_set_denoise(get(), denoise ? 1 : 0)); }
    Config& set_samples(std::size_t samples) { return call(dgmf_config_set_samples(get(), samples)); }
    Config& set_seed(std::uint64_t seed) { return call(dgmf_config_set_seed(get(), seed)); }
    Config& set_first_query(std::uint64_t first_query) {
        return call(dgmf_config_set_first_query(get(), first_query));
    }
    Config& set_max_batch(std::size_t max_batch) { return call(dgmf_config_set_max_batch(get(), max_batch)); }
    Config& set_extrapolation(bool allow) { return call(dgmf_config_set_extrapolation(get(), allow ? 1 : 0)); }
    Config& set_memory_limit(std::size_t bytes) { return call(dgmf_config_set_memory_limit(get(), bytes)); }
    Config& set_time_limit(double seconds) { return call(dgmf_config_set_time_limit(get(), seconds)); }
    // The callback is owned by the Config; it runs on the predicting thread. An exception thrown by it
    // cancels the run (it cannot cross the C boundary).
    Config& set_progress(Progress progress) {
        progress_ = std::make_unique<Progress>(std::move(progress));
        return call(dgmf_config_set_progress(get(), &Config::trampoline, progress_.get()));
    }
    std::size_t nfe() const {
        std::size_t n = 0;
        check(dgmf_config_nfe(get(), &n));
        return n;
    }
    dgmf_config* get() const noexcept { return handle_.get(); }

private:
    using Handle = detail::Handle<dgmf_config, dgmf_config_destroy>;
    Config& call(dgmf_status status) {
        check(status);
        return *this;
    }
    static int32_t trampoline(std::size_t done, std::size_t total, void* user) {
        try {
            return (*static_cast<Progress*>(user))(done, total) ? 0 : 1;
        } catch (...) {
            return 1;
        }
    }
    Handle handle_;
    std::unique_ptr<Progress> progress_;
};

// A parameter or coordinate with its valid range (physical units).
struct Variable {
    std::string name;
    double min;
    double max;
};

struct Fidelity {
    dgmf_fidelity_kind kind;
    std::size_t levels;  // discrete: K; continuous: 0
    double lo, hi;       // discrete: 0, K - 1; continuous: the value range
};

// A prediction: n fields of sample_len floats each, row-major.
struct Prediction {
    std::vector<float> mean;
    std::vector<float> std;  // empty unless requested with >= 2 samples
};

class Moments;

// dgmf_model: a loaded score model. Move-only; const methods are thread-safe.
class Model {
public:
    static Model load(const std::string& path, const Options* options = nullptr) {
        dgmf_model* raw = nullptr;
        check(dgmf_model_load(path.c_str(), options ? options->get() : nullptr, &raw));
        return Model(raw);
    }
    static Model load_from_memory(const void* data, std::size_t len, const Options* options = nullptr) {
        dgmf_model* raw = nullptr;
        check(dgmf_model_load_from_memory(data, len, options ? options->get() : nullptr, &raw));
        return Model(raw);
    }

    std::size_t rank() const { return get_size(dgmf_model_rank); }
    std::vector<std::size_t> shape() const {
        std::vector<std::size_t> dims(rank());
        check(dgmf_model_shape(get(), dims.data(), dims.size()));
        return dims;
    }
    std::size_t sample_len() const { return get_size(dgmf_model_sample_len); }
    // Networks in the model: K >= 2 for a deep ensemble (sample j drawn by member j mod K), else 1.
    std::size_t members() const { return get_size(dgmf_model_members); }
    std::size_t num_params() const { return get_size(dgmf_model_num_params); }
    Variable param(std::size_t i) const {
        Variable v{};
        const char* name = nullptr;
        check(dgmf_model_param(get(), i, &name, &v.min, &v.max));
        v.name = name;
        return v;
    }
    std::size_t num_coords() const { return get_size(dgmf_model_num_coords); }
    Variable coord(std::size_t i) const {
        Variable v{};
        const char* name = nullptr;
        check(dgmf_model_coord(get(), i, &name, &v.min, &v.max));
        v.name = name;
        return v;
    }
    Fidelity fidelity() const {
        Fidelity f{};
        check(dgmf_model_fidelity(get(), &f.kind, &f.levels, &f.lo, &f.hi));
        return f;
    }
    std::string fidelity_label(std::size_t level) const { return get_string(dgmf_model_fidelity_label, level); }
    std::pair<double, double> sigma_range() const {
        std::pair<double, double> r;
        check(dgmf_model_sigma_range(get(), &r.first, &r.second));
        return r;
    }
    std::string name() const { return get_string(dgmf_model_name); }
    std::string provider() const { return get_string(dgmf_model_provider); }
    std::string precision() const { return get_string(dgmf_model_precision); }

    // dgmf_predict_batch into caller buffers (std may be null with std_len 0).
    void predict_batch(const Config& config, std::size_t n, const double* params, const double* fidelity,
                       const double* coords, float* mean, std::size_t mean_len, float* std,
                       std::size_t std_len) const {
        check(dgmf_predict_batch(get(), config.get(), n, params, fidelity, coords, mean, mean_len, std, std_len));
    }
    // dgmf_predict into caller buffers.
    void predict(const Config& config, const double* params, double fidelity, const double* coords, float* mean,
                 std::size_t mean_len, float* std, std::size_t std_len) const {
        check(dgmf_predict(get(), config.get(), params, fidelity, coords, mean, mean_len, std, std_len));
    }

    // Vector conveniences: `params` holds n*P values, `fidelity` n, `coords` n*Q (empty when Q = 0).
    Prediction predict_batch(const Config& config, const std::vector<double>& params,
                             const std::vector<double>& fidelity, const std::vector<double>& coords = {},
                             bool with_std = false) const {
        const std::size_t n = fidelity.size();
        if (params.size() != n * num_params() || coords.size() != n * num_coords())
            throw Error(DGMF_ERR_INVALID_ARGUMENT, "predict_batch: params must hold n*P values and coords n*Q");
        Prediction p;
        p.mean.resize(n * sample_len());
        if (with_std) p.std.resize(p.mean.size());
        predict_batch(config, n, params.data(), fidelity.data(), coords.empty() ? nullptr : coords.data(),
                      p.mean.data(), p.mean.size(), with_std ? p.std.data() : nullptr, p.std.size());
        return p;
    }
    Prediction predict(const Config& config, const std::vector<double>& params, double fidelity,
                       const std::vector<double>& coords = {}, bool with_std = false) const {
        return predict_batch(config, params, std::vector<double>{fidelity}, coords, with_std);
    }

    // dgmf_std_rms: one number per query, the RMS over its field of the (calibrated) std.
    void std_rms(std::size_t n, const float* std, std::size_t std_len, double* rms, std::size_t rms_len) const {
        check(dgmf_std_rms(get(), n, std, std_len, rms, rms_len));
    }
    std::vector<double> std_rms(const std::vector<float>& std) const {
        std::vector<double> rms(std.size() / sample_len());
        std_rms(rms.size(), std.data(), std.size(), rms.data(), rms.size());
        return rms;
    }

    // dgmf_predict_moments: statistics of samples first_sample .. first_sample + count - 1 of the
    // config's ensemble (defined below, after Moments).
    Moments predict_moments(const Config& config, std::size_t n, const double* params, const double* fidelity,
                            const double* coords, std::size_t first_sample, std::size_t count) const;
    Moments predict_moments(const Config& config, const std::vector<double>& params,
                            const std::vector<double>& fidelity, const std::vector<double>& coords,
                            std::size_t first_sample, std::size_t count) const;
    // dgmf_moments_packed_len.
    std::size_t moments_packed_len(std::size_t n_queries) const {
        std::size_t len = 0;
        check(dgmf_moments_packed_len(get(), n_queries, &len));
        return len;
    }

    dgmf_model* get() const noexcept { return handle_.get(); }

private:
    using Handle = detail::Handle<dgmf_model, dgmf_model_destroy>;
    explicit Model(dgmf_model* raw) : handle_(raw) {}
    std::size_t get_size(dgmf_status (*f)(const dgmf_model*, std::size_t*)) const {
        std::size_t v = 0;
        check(f(get(), &v));
        return v;
    }
    std::string get_string(dgmf_status (*f)(const dgmf_model*, const char**)) const {
        const char* s = nullptr;
        check(f(get(), &s));
        return s;
    }
    std::string get_string(dgmf_status (*f)(const dgmf_model*, std::size_t, const char**), std::size_t i) const {
        const char* s = nullptr;
        check(f(get(), i, &s));
        return s;
    }
    Handle handle_;
};

// dgmf_moments: an ensemble's mergeable statistics (count, mean, M2 per value). Move-only; one thread
// at a time per object.
class Moments {
public:
    // dgmf_moments_create: empty statistics (count 0) for n_queries queries of the model.
    Moments(const Model& model, std::size_t n_queries) {
        dgmf_moments* raw = nullptr;
        check(dgmf_moments_create(model.get(), n_queries, &raw));
        handle_ = Handle(raw);
    }
    // Takes ownership of a handle from the C API.
    explicit Moments(dgmf_moments* raw) : handle_(raw) {}

    // dgmf_moments_unpack.
    static Moments unpack(const Model& model, std::size_t n_queries, const double* buf, std::size_t len) {
        dgmf_moments* raw = nullptr;
        check(dgmf_moments_unpack(model.get(), n_queries, buf, len, &raw));
        return Moments(raw);
    }
    static Moments unpack(const Model& model, std::size_t n_queries, const std::vector<double>& buf) {
        return unpack(model, n_queries, buf.data(), buf.size());
    }
    // dgmf_moments_merge: folds `other` into this.
    Moments& merge(const Moments& other) {
        check(dgmf_moments_merge(get(), other.get()));
        return *this;
    }
    std::size_t num_queries() const {
        std::size_t n = 0;
        check(dgmf_moments_num_queries(get(), &n));
        return n;
    }
    std::uint64_t count(std::size_t query) const {
        std::uint64_t c = 0;
        check(dgmf_moments_count(get(), query, &c));
        return c;
    }
    // dgmf_moments_finish into caller buffers (std may be null with std_len 0).
    void finish(const Model& model, const double* fidelity, float* mean, std::size_t mean_len, float* std,
                std::size_t std_len) const {
        check(dgmf_moments_finish(model.get(), get(), fidelity, mean, mean_len, std, std_len));
    }
    Prediction finish(const Model& model, const std::vector<double>& fidelity, bool with_std = false) const {
        if (fidelity.size() != num_queries())
            throw Error(DGMF_ERR_INVALID_ARGUMENT, "finish: fidelity must hold one value per query");
        Prediction p;
        p.mean.resize(fidelity.size() * model.sample_len());
        if (with_std) p.std.resize(p.mean.size());
        finish(model, fidelity.data(), p.mean.data(), p.mean.size(), with_std ? p.std.data() : nullptr,
               p.std.size());
        return p;
    }
    // dgmf_moments_pack into a caller buffer, or into a new vector of dgmf_moments_packed_len doubles.
    void pack(double* buf, std::size_t len) const { check(dgmf_moments_pack(get(), buf, len)); }
    std::vector<double> pack(const Model& model) const {
        std::vector<double> buf(model.moments_packed_len(num_queries()));
        pack(buf.data(), buf.size());
        return buf;
    }
    // dgmf_moments_merge_packed: inout <- inout (+) in, for an MPI_User_function.
    static void merge_packed(const double* in, double* inout, std::size_t n_queries, std::size_t sample_len) {
        check(dgmf_moments_merge_packed(in, inout, n_queries, sample_len));
    }

    dgmf_moments* get() const noexcept { return handle_.get(); }

private:
    using Handle = detail::Handle<dgmf_moments, dgmf_moments_destroy>;
    Handle handle_;
};

inline Config Config::for_model(const Model& model) {
    dgmf_config* raw = nullptr;
    check(dgmf_config_create_for_model(model.get(), &raw));
    Config c;
    c.handle_ = Handle(raw);
    return c;
}

inline Moments Model::predict_moments(const Config& config, std::size_t n, const double* params,
                                      const double* fidelity, const double* coords, std::size_t first_sample,
                                      std::size_t count) const {
    dgmf_moments* raw = nullptr;
    check(dgmf_predict_moments(get(), config.get(), n, params, fidelity, coords, first_sample, count, &raw));
    return Moments(raw);
}

inline Moments Model::predict_moments(const Config& config, const std::vector<double>& params,
                                      const std::vector<double>& fidelity, const std::vector<double>& coords,
                                      std::size_t first_sample, std::size_t count) const {
    const std::size_t n = fidelity.size();
    if (params.size() != n * num_params() || coords.size() != n * num_coords())
        throw Error(DGMF_ERR_INVALID_ARGUMENT, "predict_moments: params must hold n*P values and coords n*Q");
    return predict_moments(config, n, params.data(), fidelity.data(), coords.empty() ? nullptr : coords.data(),
                           first_sample, count);
}

}  // namespace dgmf

#endif  // DGMF_HPP
