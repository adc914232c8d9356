/* Calls every entry point of the C API, including misuse: each must return its documented status and a
 * message, and the process must survive. Usage: test_capi MODELS_DIR (tests/models). */
#define _POSIX_C_SOURCE 200809L /* mkfifo */
#include <dgmf.h>

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char models[4096];

static const char *path(const char *name) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s/%s", models, name);
    return buf;
}

static int cancel_after(size_t done, size_t total, void *user) {
    (void)total;
    size_t *calls = user;
    *calls = done;
    return done >= 3; /* non-zero cancels */
}

struct job {
    const dgmf_model *model;
    const dgmf_config *config;
    float mean[24], std[24];
    dgmf_status status;
};

static void *predict_job(void *arg) {
    struct job *j = arg;
    double params[2] = {0.3, -0.6};
    for (int rep = 0; rep < 20 && j->status == DGMF_OK; rep++)
        j->status = dgmf_predict(j->model, j->config, params, 2.0, NULL, j->mean, 24, j->std, 24);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODELS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(models, sizeof models, "%s", argv[1]);

    /* Version and status strings. */
    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", DGMF_VERSION_MAJOR, DGMF_VERSION_MINOR, DGMF_VERSION_PATCH);
    CHECK(strcmp(dgmf_version(), version) == 0, "dgmf_version %s vs macros %s", dgmf_version(), version);
    for (int s = DGMF_OK; s <= DGMF_ERR_INTERNAL; s++)
        CHECK(strcmp(dgmf_status_string(s), "unknown status code") != 0, "status %d has no string", s);
    CHECK(strcmp(dgmf_status_string(-7), "unknown status code") == 0, "any int is accepted");
    CHECK(strcmp(dgmf_last_error(), "") == 0, "no error yet");

    /* Options. */
    dgmf_options *opts = NULL;
    EXPECT(dgmf_options_create(NULL), DGMF_ERR_NULL_ARGUMENT, "`out` is NULL");
    OK(dgmf_options_create(&opts));
    OK(dgmf_options_set_threads(opts, 1));
    OK(dgmf_options_set_max_sessions(opts, 4));
    OK(dgmf_options_set_optimization(opts, 3));
    EXPECT(dgmf_options_set_optimization(opts, 7), DGMF_ERR_INVALID_ARGUMENT, "optimization level 7");
    EXPECT(dgmf_options_set_provider(opts, "gpu", 0), DGMF_ERR_INVALID_ARGUMENT, "unknown execution provider `gpu`");
    EXPECT(dgmf_options_set_provider(opts, NULL, 0), DGMF_ERR_NULL_ARGUMENT, "`provider` is NULL");
    EXPECT(dgmf_options_set_tensorrt(opts, 1, NULL), DGMF_ERR_INVALID_ARGUMENT, "set it to \"tensorrt\" first");
    OK(dgmf_options_set_provider(opts, "tensorrt", 1));
    OK(dgmf_options_set_tensorrt(opts, 1, "/tmp/trt-cache"));
    OK(dgmf_options_set_provider(opts, "cpu", 0));
    OK(dgmf_options_set_ort_library(opts, NULL));
    EXPECT(dgmf_options_set_threads(NULL, 1), DGMF_ERR_NULL_ARGUMENT, "`options` is NULL");
    dgmf_options_destroy(NULL);

    /* Loading: failures leave *out NULL, and calls on the NULL model fail cleanly. */
    dgmf_model *model = (dgmf_model *)0x1;
    EXPECT(dgmf_model_load(path("no_such.onnx"), opts, &model), DGMF_ERR_MODEL_LOAD, "cannot read model file");
    CHECK(model == NULL, "out is NULL after a failed load");
    EXPECT(dgmf_model_load(path("bad/not_onnx.onnx"), NULL, &model), DGMF_ERR_MODEL_LOAD, "not a valid ONNX model");
    EXPECT(dgmf_model_load(path("bad/shape_mismatch.onnx"), NULL, &model), DGMF_ERR_CONTRACT, "dgmf.shape");
    EXPECT(dgmf_model_load(path("bad/ir_too_new.onnx"), NULL, &model), DGMF_ERR_MODEL_LOAD, "IR version 14");
    EXPECT(dgmf_model_load(NULL, NULL, &model), DGMF_ERR_NULL_ARGUMENT, "`path` is NULL");
    EXPECT(dgmf_model_load(path("analytic_score.onnx"), NULL, NULL), DGMF_ERR_NULL_ARGUMENT, "`out` is NULL");
    size_t n = 0;
    EXPECT(dgmf_model_sample_len(model, &n), DGMF_ERR_NULL_ARGUMENT, "did dgmf_model_load fail?");
    dgmf_options *other = NULL;
    OK(dgmf_options_create(&other));
    OK(dgmf_options_set_provider(other, "cuda", 0));
    EXPECT(dgmf_model_load(path("analytic_score.onnx"), other, &model), DGMF_ERR_PROVIDER_UNAVAILABLE,
           "execution provider `cuda`");
    OK(dgmf_options_set_ort_library(other, "/elsewhere/libonnxruntime.so"));
    OK(dgmf_options_set_provider(other, "cpu", 0));
    EXPECT(dgmf_model_load(path("analytic_score.onnx"), other, &model), DGMF_ERR_INVALID_ARGUMENT,
           "one runtime per process");
    dgmf_options_destroy(other);

    OK(dgmf_model_load(path("analytic_score.onnx"), opts, &model));
    CHECK(model != NULL, "model loaded");

    /* From memory. */
    FILE *f = fopen(path("analytic_score.onnx"), "rb");
    CHECK(f != NULL, "open model file");
    static unsigned char bytes[1 << 16];
    size_t len = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    dgmf_model *mem = NULL;
    OK(dgmf_model_load_from_memory(bytes, len, NULL, &mem));
    /* Paths are bytes: a Latin-1 file name (not UTF-8) is a valid path. An empty one is an error. */
    char latin1[64];
    snprintf(latin1, sizeof latin1, "/tmp/dgmf-caf\xe9-%d.onnx", (int)getpid());
    FILE *copy = fopen(latin1, "wb");
    CHECK(copy != NULL, "create %s", latin1);
    if (copy) {
        fwrite(bytes, 1, len, copy);
        fclose(copy);
        dgmf_model *from_latin1 = NULL;
        OK(dgmf_model_load(latin1, NULL, &from_latin1));
        dgmf_model_destroy(from_latin1);
        unlink(latin1);
    }
    dgmf_model *none = (dgmf_model *)0x1;
    EXPECT(dgmf_model_load("", NULL, &none), DGMF_ERR_INVALID_ARGUMENT, "`path` is an empty string");
    dgmf_model *failed = (dgmf_model *)0x1; /* failures set it to NULL (not `mem`: that would leak it) */
    EXPECT(dgmf_model_load_from_memory(bytes, 0, NULL, &failed), DGMF_ERR_INVALID_ARGUMENT, "empty buffer");
    CHECK(failed == NULL, "out is NULL after a failed load");
    EXPECT(dgmf_model_load_from_memory(bytes, 10, NULL, &failed), DGMF_ERR_MODEL_LOAD, "not a valid ONNX model");
    EXPECT(dgmf_model_load_from_memory(NULL, 10, NULL, &failed), DGMF_ERR_NULL_ARGUMENT, "`data` is NULL");
    /* A length beyond what protobuf allows is refused before the buffer is read. */
    EXPECT(dgmf_model_load_from_memory(bytes, (size_t)3 << 30, NULL, &failed), DGMF_ERR_MODEL_LOAD, "2 GiB");

    /* Info. */
    size_t rank = 0, dims[4] = {0}, p = 0, q = 9, levels = 0;
    OK(dgmf_model_rank(model, &rank));
    CHECK(rank == 3, "rank %zu", rank);
    OK(dgmf_model_shape(model, dims, 4));
    CHECK(dims[0] == 2 && dims[1] == 3 && dims[2] == 4, "shape %zu %zu %zu", dims[0], dims[1], dims[2]);
    EXPECT(dgmf_model_shape(model, dims, 2), DGMF_ERR_BUFFER_TOO_SMALL, "rank is 3");
    EXPECT(dgmf_model_rank(model, NULL), DGMF_ERR_NULL_ARGUMENT, "`rank` is NULL");
    OK(dgmf_model_sample_len(model, &n));
    CHECK(n == 24, "sample_len %zu", n);
    OK(dgmf_model_num_params(model, &p));
    CHECK(p == 2, "P %zu", p);
    const char *name = NULL;
    double lo = 0, hi = 0;
    OK(dgmf_model_param(model, 1, &name, &lo, &hi));
    CHECK(strcmp(name, "b") == 0 && lo == -1.0 && hi == 1.0, "param 1: %s [%g, %g]", name, lo, hi);
    OK(dgmf_model_param(model, 0, NULL, NULL, &hi));
    EXPECT(dgmf_model_param(model, 2, &name, &lo, &hi), DGMF_ERR_INVALID_ARGUMENT, "parameter index 2");
    OK(dgmf_model_num_coords(model, &q));
    CHECK(q == 0, "Q %zu", q);
    EXPECT(dgmf_model_coord(model, 0, &name, NULL, NULL), DGMF_ERR_INVALID_ARGUMENT, "coordinate index 0");
    dgmf_fidelity_kind kind;
    OK(dgmf_model_fidelity(model, &kind, &levels, &lo, &hi));
    CHECK(kind == DGMF_FIDELITY_DISCRETE && levels == 3 && lo == 0 && hi == 2, "fidelity");
    OK(dgmf_model_fidelity_label(model, 2, &name));
    CHECK(strcmp(name, "fine") == 0, "label %s", name);
    EXPECT(dgmf_model_fidelity_label(model, 3, &name), DGMF_ERR_INVALID_ARGUMENT, "level 3");
    OK(dgmf_model_sigma_range(model, &lo, &hi));
    CHECK(lo == 0.01 && hi == 10.0, "sigma range %g %g", lo, hi);
    OK(dgmf_model_name(model, &name));
    CHECK(strcmp(name, "analytic_score") == 0, "name %s", name);
    OK(dgmf_model_provider(model, &name));
    CHECK(strcmp(name, "cpu") == 0, "provider %s", name);
    OK(dgmf_model_precision(model, &name));
    CHECK(strcmp(name, "fp32") == 0, "precision %s", name);
    EXPECT(dgmf_model_precision(model, NULL), DGMF_ERR_NULL_ARGUMENT, "`precision` is NULL");
    size_t members = 0;
    OK(dgmf_model_members(model, &members));
    CHECK(members == 1, "one network: %zu members", members);
    EXPECT(dgmf_model_members(model, NULL), DGMF_ERR_NULL_ARGUMENT, "`members` is NULL");
    dgmf_model *ensemble = NULL;
    OK(dgmf_model_load(path("analytic_ensemble.onnx"), NULL, &ensemble));
    OK(dgmf_model_members(ensemble, &members));
    CHECK(members == 3, "a deep ensemble of 3: %zu members", members);
    dgmf_model_destroy(ensemble);

    dgmf_model *coords_model = NULL, *cont = NULL;
    OK(dgmf_model_load(path("analytic_coords.onnx"), NULL, &coords_model));
    OK(dgmf_model_num_coords(coords_model, &q));
    OK(dgmf_model_coord(coords_model, 0, &name, &lo, &hi));
    CHECK(q == 1 && strcmp(name, "t") == 0 && lo == 0 && hi == 3, "coord %s", name);
    OK(dgmf_model_fidelity_label(coords_model, 0, &name));
    CHECK(strcmp(name, "") == 0, "no labels");
    OK(dgmf_model_load(path("analytic_continuous.onnx"), NULL, &cont));
    OK(dgmf_model_fidelity(cont, &kind, &levels, &lo, &hi));
    CHECK(kind == DGMF_FIDELITY_CONTINUOUS && levels == 0 && lo == 0.5 && hi == 4.0, "continuous fidelity");
    EXPECT(dgmf_model_fidelity_label(cont, 0, &name), DGMF_ERR_INVALID_ARGUMENT, "continuous");

    /* Config. */
    dgmf_config *cfg = NULL;
    /* NULL: the library default, ancestral with DGMF_DEFAULT_STEPS levels (30 NFE with the final step). */
    OK(dgmf_config_create(NULL, &cfg));
    size_t default_nfe = 0;
    OK(dgmf_config_nfe(cfg, &default_nfe));
    CHECK(default_nfe == DGMF_DEFAULT_STEPS, "default config nfe %zu", default_nfe);
    dgmf_config_destroy(cfg);
    cfg = NULL;
    /* A model's recommended sampler: none recommended -> the library default; analytic_recommends names
     * heun with 4 levels (7 NFE). */
    OK(dgmf_config_create_for_model(model, &cfg));
    OK(dgmf_config_nfe(cfg, &default_nfe));
    CHECK(default_nfe == DGMF_DEFAULT_STEPS, "no recommendation: default nfe %zu", default_nfe);
    dgmf_config_destroy(cfg);
    dgmf_model *recommends = NULL;
    OK(dgmf_model_load(path("analytic_recommends.onnx"), NULL, &recommends));
    OK(dgmf_config_create_for_model(recommends, &cfg));
    OK(dgmf_config_nfe(cfg, &default_nfe));
    CHECK(default_nfe == 7, "recommended heun 4: nfe %zu", default_nfe);
    dgmf_config_destroy(cfg);
    dgmf_model_destroy(recommends);
    cfg = NULL;
    EXPECT(dgmf_config_create_for_model(NULL, &cfg), DGMF_ERR_NULL_ARGUMENT, "`model` is NULL");
    CHECK(cfg == NULL, "out NULL");
    EXPECT(dgmf_config_create_for_model(model, NULL), DGMF_ERR_NULL_ARGUMENT, "`out` is NULL");
    EXPECT(dgmf_config_create("ddim", &cfg), DGMF_ERR_INVALID_ARGUMENT, "unknown sampler `ddim`");
    CHECK(cfg == NULL, "out NULL");
    OK(dgmf_config_create("pc", &cfg));
    size_t nfe = 0;
    OK(dgmf_config_nfe(cfg, &nfe));
    CHECK(nfe == 2000, "pc default nfe %zu", nfe);
    OK(dgmf_config_set_steps(cfg, 50));
    EXPECT(dgmf_config_set_steps(cfg, 1), DGMF_ERR_INVALID_ARGUMENT, "2 to 100000");
    OK(dgmf_config_set_schedule(cfg, "karras"));
    OK(dgmf_config_set_schedule(cfg, "geometric"));
    EXPECT(dgmf_config_set_schedule(cfg, "linear"), DGMF_ERR_INVALID_ARGUMENT, "schedule `linear`");
    OK(dgmf_config_set_corrector(cfg, 0.16f, 1));
    EXPECT(dgmf_config_set_corrector(cfg, NAN, 1), DGMF_ERR_INVALID_ARGUMENT, "snr");
    OK(dgmf_config_set_churn(cfg, 40, 0.05f, 50, 1.003f));
    EXPECT(dgmf_config_set_churn(cfg, -1, 0, 0, 0), DGMF_ERR_INVALID_ARGUMENT, "churn");
    OK(dgmf_config_set_sigma_last(cfg, 0.5f));
    EXPECT(dgmf_config_set_sigma_last(cfg, -1), DGMF_ERR_INVALID_ARGUMENT, "sigma_last");
    EXPECT(dgmf_config_set_sigma_last(cfg, NAN), DGMF_ERR_INVALID_ARGUMENT, "sigma_last");
    OK(dgmf_config_set_denoise(cfg, 1));
    OK(dgmf_config_set_samples(cfg, 8));
    EXPECT(dgmf_config_set_samples(cfg, 0), DGMF_ERR_INVALID_ARGUMENT, "samples = 0");
    OK(dgmf_config_set_seed(cfg, 42));
    OK(dgmf_config_set_max_batch(cfg, 16));
    EXPECT(dgmf_config_set_max_batch(cfg, 0), DGMF_ERR_INVALID_ARGUMENT, "max_batch = 0");
    OK(dgmf_config_set_extrapolation(cfg, 0));
    OK(dgmf_config_set_progress(cfg, NULL, NULL));
    OK(dgmf_config_set_memory_limit(cfg, 4ull << 30));
    OK(dgmf_config_nfe(cfg, &nfe));
    CHECK(nfe == 100, "nfe %zu", nfe);
    EXPECT(dgmf_config_nfe(NULL, &nfe), DGMF_ERR_NULL_ARGUMENT, "`config` is NULL");

    /* Predict, and its misuse. */
    double params[2] = {0.3, -0.6}, bad[2] = {0.3, NAN}, far[2] = {0.3, 5.0};
    float mean[24], sd[24], big[3 * 24], bigsd[3 * 24];
    OK(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24));
    int finite = 1;
    for (int i = 0; i < 24; i++) finite &= isfinite(mean[i]) && isfinite(sd[i]) && sd[i] > 0;
    CHECK(finite, "finite mean, positive std");
    EXPECT(dgmf_predict(model, cfg, bad, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "parameter `b` = NaN");
    EXPECT(dgmf_predict(model, cfg, far, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "outside the model's range [-1, 1]");
    EXPECT(dgmf_predict(model, cfg, params, 3.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "fidelity level 3 is out of range");
    EXPECT(dgmf_predict(model, cfg, params, 1.5, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "not a level index");
    EXPECT(dgmf_predict(model, cfg, params, INFINITY, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "not a level index");
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 23, NULL, 0), DGMF_ERR_BUFFER_TOO_SMALL,
           "needs 24");
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 10), DGMF_ERR_BUFFER_TOO_SMALL,
           "`std` holds 10");
    EXPECT(dgmf_predict(model, cfg, NULL, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_NULL_ARGUMENT,
           "`params` is NULL");
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, NULL, 24, NULL, 0), DGMF_ERR_NULL_ARGUMENT,
           "`mean` is NULL");
    EXPECT(dgmf_predict(model, NULL, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_NULL_ARGUMENT,
           "`config` is NULL");
    EXPECT(dgmf_predict(NULL, cfg, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_NULL_ARGUMENT,
           "`model` is NULL");
    double t = 1.0;
    EXPECT(dgmf_predict(coords_model, cfg, params, 0.0, NULL, mean, 8, NULL, 0), DGMF_ERR_NULL_ARGUMENT,
           "`coords` is NULL");
    OK(dgmf_predict(coords_model, cfg, params, 0.0, &t, mean, 8, NULL, 0));
    t = 4.0;
    EXPECT(dgmf_predict(coords_model, cfg, params, 0.0, &t, mean, 8, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "coordinate `t` = 4");
    OK(dgmf_config_set_extrapolation(cfg, 1));
    OK(dgmf_predict(coords_model, cfg, params, 0.0, &t, mean, 8, NULL, 0));
    OK(dgmf_config_set_extrapolation(cfg, 0));
    OK(dgmf_predict(cont, cfg, params, 1.7, NULL, mean, 16, NULL, 0));
    EXPECT(dgmf_predict(cont, cfg, params, 9.0, NULL, mean, 16, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "fidelity = 9");

    /* A batch equals its queries predicted one by one (noise streams are keyed by sample index, so the
     * first query of the batch matches a single call with the same seed). */
    double bp[6] = {0.3, -0.6, 0.1, 0.2, 0.9, 0.9}, bf[3] = {2, 0, 1};
    OK(dgmf_predict_batch(model, cfg, 3, bp, bf, NULL, big, 72, bigsd, 72));
    OK(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24));
    CHECK(memcmp(big, mean, sizeof mean) == 0 && memcmp(bigsd, sd, sizeof sd) == 0, "batch query 0 = single");
    /* The fallback policy's number: the RMS of each query's std field. */
    double rms[3] = {0}, want = 0;
    OK(dgmf_std_rms(model, 3, bigsd, 72, rms, 3));
    for (int i = 24; i < 48; i++) want += (double)bigsd[i] * bigsd[i];
    CHECK(fabs(rms[1] - sqrt(want / 24)) <= 1e-12 * rms[1] && rms[0] > 0 && rms[2] > 0, "rms[1] %g", rms[1]);
    EXPECT(dgmf_std_rms(model, 3, bigsd, 71, rms, 3), DGMF_ERR_BUFFER_TOO_SMALL, "need 72");
    EXPECT(dgmf_std_rms(model, 3, bigsd, 72, rms, 2), DGMF_ERR_BUFFER_TOO_SMALL, "there are 3 queries");
    EXPECT(dgmf_std_rms(model, 3, NULL, 72, rms, 3), DGMF_ERR_NULL_ARGUMENT, "`std` is NULL");
    EXPECT(dgmf_predict_batch(model, cfg, 0, bp, bf, NULL, big, 72, NULL, 0), DGMF_ERR_INVALID_ARGUMENT, "n = 0");
    EXPECT(dgmf_predict_batch(model, cfg, 3, bp, bf, NULL, big, 71, NULL, 0), DGMF_ERR_BUFFER_TOO_SMALL, "needs 72");
    bf[1] = -1;
    EXPECT(dgmf_predict_batch(model, cfg, 3, bp, bf, NULL, big, 72, NULL, 0), DGMF_ERR_INVALID_ARGUMENT, "query 1");
    OK(dgmf_config_set_samples(cfg, 1));
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24), DGMF_ERR_INVALID_ARGUMENT,
           "2 or more samples");
    OK(dgmf_config_set_samples(cfg, 8));

    /* Resource limits: absurd batches are refused before anything is allocated. */
    OK(dgmf_config_set_samples(cfg, (size_t)1 << 40));
    OK(dgmf_config_set_max_batch(cfg, (size_t)1 << 40));
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24), DGMF_ERR_INVALID_ARGUMENT,
           "above the memory limit");
    OK(dgmf_config_set_samples(cfg, 8));
    OK(dgmf_config_set_max_batch(cfg, 16));
    OK(dgmf_config_set_memory_limit(cfg, 1000));
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24), DGMF_ERR_INVALID_ARGUMENT,
           "memory limit");
    OK(dgmf_config_set_memory_limit(cfg, 4ull << 30));

    /* Hostile settings: every documented bound is enforced in the setter, and a refused setting leaves the
     * configuration as it was (the NFE below is unchanged). */
    OK(dgmf_config_nfe(cfg, &nfe));
    size_t nfe_before = nfe;
    EXPECT(dgmf_config_set_steps(cfg, (size_t)1000000000000ull), DGMF_ERR_INVALID_ARGUMENT, "2 to 100000");
    EXPECT(dgmf_config_set_steps(cfg, SIZE_MAX), DGMF_ERR_INVALID_ARGUMENT, "2 to 100000");
    EXPECT(dgmf_config_set_steps(cfg, DGMF_MAX_STEPS + 1), DGMF_ERR_INVALID_ARGUMENT, "2 to 100000");
    EXPECT(dgmf_config_set_corrector(cfg, 0.16f, SIZE_MAX), DGMF_ERR_INVALID_ARGUMENT, "at most 100 Langevin");
    EXPECT(dgmf_config_set_corrector(cfg, 0.16f, DGMF_MAX_CORRECTOR_STEPS + 1), DGMF_ERR_INVALID_ARGUMENT,
           "at most 100");
    OK(dgmf_config_nfe(cfg, &nfe));
    CHECK(nfe == nfe_before, "a refused setting changes nothing (%zu vs %zu)", nfe, nfe_before);
    OK(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24));
    EXPECT(dgmf_options_set_threads(opts, 1000000), DGMF_ERR_INVALID_ARGUMENT, "at most 1024");
    EXPECT(dgmf_options_set_threads(opts, SIZE_MAX), DGMF_ERR_INVALID_ARGUMENT, "at most 1024");
    EXPECT(dgmf_options_set_max_sessions(opts, DGMF_MAX_THREADS + 1), DGMF_ERR_INVALID_ARGUMENT, "at most 1024");
    OK(dgmf_options_set_threads(opts, DGMF_MAX_THREADS));
    OK(dgmf_options_set_threads(opts, 1));
    /* The default limit macro is 4 GiB in C (it was an int overflow, i.e. 0, that refused everything). */
    CHECK(DGMF_DEFAULT_MEMORY_LIMIT == (size_t)4 << 30, "DGMF_DEFAULT_MEMORY_LIMIT is 4 GiB");
    OK(dgmf_config_set_memory_limit(cfg, DGMF_DEFAULT_MEMORY_LIMIT));
    OK(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24));
    /* A limit above what the machine has: refused before allocating, never an abort. */
    OK(dgmf_config_set_memory_limit(cfg, SIZE_MAX));
    OK(dgmf_config_set_samples(cfg, (size_t)1 << 36));
    OK(dgmf_config_set_max_batch(cfg, (size_t)1 << 36));
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24), DGMF_ERR_INVALID_ARGUMENT,
           "GiB of memory");
    OK(dgmf_config_set_samples(cfg, 8));
    OK(dgmf_config_set_max_batch(cfg, 16));
    EXPECT(dgmf_predict_batch(model, cfg, SIZE_MAX / 2, bp, bf, NULL, big, 72, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "memory limit");
    OK(dgmf_config_set_memory_limit(cfg, DGMF_DEFAULT_MEMORY_LIMIT));
    /* Values the float32 network cannot take, even when extrapolating. */
    double huge[2] = {0.3, 1e39};
    OK(dgmf_config_set_extrapolation(cfg, 1));
    EXPECT(dgmf_predict(model, cfg, huge, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INVALID_ARGUMENT, "float32");
    OK(dgmf_config_set_extrapolation(cfg, 0));

    /* Hostile model files: refused at load with *out NULL, nothing else opened or read without bound. */
    static const struct {
        const char *file;
        dgmf_status want;
        const char *text;
    } hostile[] = {
        {"bad/external_data.onnx", DGMF_ERR_MODEL_LOAD, "outside the file"},
        {"bad/external_hidden_tag.onnx", DGMF_ERR_MODEL_LOAD, "invalid key value"},
        {"bad/shape_overflow.onnx", DGMF_ERR_CONTRACT, "2147483647"},
        {"bad/levels_overflow.onnx", DGMF_ERR_CONTRACT, "discrete:18446744073709551615"},
        {"bad/sigma_huge.onnx", DGMF_ERR_CONTRACT, "float32"},
        {"bad/scale_huge.onnx", DGMF_ERR_CONTRACT, "float32"},
        {"bad/scale_tiny.onnx", DGMF_ERR_CONTRACT, "zero in float32"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        dgmf_model *h = (dgmf_model *)0x1;
        EXPECT(dgmf_model_load(path(hostile[i].file), NULL, &h), hostile[i].want, hostile[i].text);
        CHECK(h == NULL, "%s: out is NULL", hostile[i].file);
    }
    dgmf_model *h = NULL;
    /* The same refusal for bytes handed over in memory (the MPI broadcast pattern). */
    f = fopen(path("bad/external_hidden_tag.onnx"), "rb");
    CHECK(f != NULL, "open external_hidden_tag.onnx");
    len = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    EXPECT(dgmf_model_load_from_memory(bytes, len, NULL, &h), DGMF_ERR_MODEL_LOAD, "invalid key value");
    CHECK(h == NULL, "out is NULL");
    EXPECT(dgmf_model_load("/dev/zero", NULL, &h), DGMF_ERR_MODEL_LOAD, "character device");
    char fifo[] = "/tmp/dgmf-test-fifo-XXXXXX";
    int fd = mkstemp(fifo);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        close(fd);
        unlink(fifo);
        CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
        EXPECT(dgmf_model_load(fifo, NULL, &h), DGMF_ERR_MODEL_LOAD, "FIFO");
        unlink(fifo);
    }
    /* Models that load but misbehave when run: errors, never results. */
    OK(dgmf_model_load(path("bad/inf_at_sigma_min.onnx"), NULL, &h));
    EXPECT(dgmf_predict(h, cfg, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INFERENCE, "σ = 0.01");
    dgmf_model_destroy(h);
    OK(dgmf_model_load(path("bad/permuted_output.onnx"), NULL, &h));
    EXPECT(dgmf_predict(h, cfg, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_INFERENCE, "dims");
    dgmf_model_destroy(h);

    /* A time limit stops a network evaluation that never ends (a Loop of 2^62 iterations). */
    EXPECT(dgmf_config_set_time_limit(cfg, NAN), DGMF_ERR_INVALID_ARGUMENT, "time limit");
    EXPECT(dgmf_config_set_time_limit(cfg, -1.0), DGMF_ERR_INVALID_ARGUMENT, "time limit");
    EXPECT(dgmf_config_set_time_limit(cfg, INFINITY), DGMF_ERR_INVALID_ARGUMENT, "time limit");
    /* Positive and finite but out of range: the message names the range, in a few characters. */
    EXPECT(dgmf_config_set_time_limit(cfg, 1e300), DGMF_ERR_INVALID_ARGUMENT, "outside 1e-9 ..= 3.15e10 s");
    CHECK(strlen(dgmf_last_error()) < 200, "time-limit message is %zu characters", strlen(dgmf_last_error()));
    EXPECT(dgmf_config_set_time_limit(cfg, 4.9e-324), DGMF_ERR_INVALID_ARGUMENT, "a nanosecond to a thousand years");
    OK(dgmf_model_load(path("bad/endless_loop.onnx"), NULL, &h));
    OK(dgmf_config_set_time_limit(cfg, 0.5));
    EXPECT(dgmf_predict(h, cfg, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_CANCELLED, "time limit of 0.500 s");
    OK(dgmf_config_set_time_limit(cfg, 0.0));
    dgmf_model_destroy(h);

    /* Progress and cancellation. */
    size_t calls = 0;
    OK(dgmf_config_set_progress(cfg, cancel_after, &calls));
    EXPECT(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, NULL, 0), DGMF_ERR_CANCELLED, "cancelled");
    CHECK(calls == 3, "cancelled right after the third evaluation (%zu)", calls);
    OK(dgmf_config_set_progress(cfg, NULL, NULL));

    /* One model shared by 4 threads: every thread gets the single-threaded result. */
    OK(dgmf_predict(model, cfg, params, 2.0, NULL, mean, 24, sd, 24));
    struct job jobs[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){.model = model, .config = cfg, .status = DGMF_OK};
        pthread_create(&threads[i], NULL, predict_job, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].status == DGMF_OK, "thread %d: %s", i, dgmf_status_string(jobs[i].status));
        CHECK(memcmp(jobs[i].mean, mean, sizeof mean) == 0, "thread %d mean equals the serial one", i);
        CHECK(memcmp(jobs[i].std, sd, sizeof sd) == 0, "thread %d std equals the serial one", i);
    }

    dgmf_config_destroy(cfg);
    dgmf_config_destroy(NULL);
    dgmf_model_destroy(cont);
    dgmf_model_destroy(coords_model);
    dgmf_model_destroy(mem);
    dgmf_model_destroy(model);
    dgmf_model_destroy(NULL);
    dgmf_options_destroy(opts);

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
