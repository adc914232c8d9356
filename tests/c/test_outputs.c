/* Every value a prediction hands back is written, finite and the same however the model was loaded:
 * each analytic test model (score, eps, x0 outputs; fp16; continuous fidelity; coordinates) × samplers
 * (heun with 3 and 4 steps, ancestral, pc, em, edm, dpmpp-2m) × 1, 2 and 3 samples × mean alone and mean
 * with std × 1 and 3 queries, through dgmf_predict_batch and through dgmf_predict_moments +
 * dgmf_moments_finish, for the model loaded from its file, from memory, and with a provider that falls
 * back to the CPU. Buffers start filled with a sentinel NaN pattern: a value left unwritten inside the
 * result, or one written past it, is a failure here; under valgrind (scripts/valgrind.sh) a value
 * computed from uninitialised memory is one too, since every value is read and compared.
 * Usage: test_outputs MODELS_DIR (tests/models). */
#include <dgmf.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_Q 3
#define SENTINEL 0x7fc0dead /* a quiet NaN no computation produces */
#define SLACK 8             /* sentinel floats after the result, which must stay untouched */

static float sentinel(void) {
    uint32_t bits = SENTINEL;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void fill(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = sentinel();
}

static int is_sentinel(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits == SENTINEL;
}

/* Counts values of v[0..need) that are not finite (the sentinel included) and values of v[need..need+SLACK)
 * that are no longer the sentinel. */
static void check_written(const float *v, size_t need, const char *what, const char *label) {
    size_t bad = 0, past = 0;
    for (size_t i = 0; i < need; i++) bad += !isfinite(v[i]);
    for (size_t i = need; i < need + SLACK; i++) past += !is_sentinel(v[i]);
    CHECK(bad == 0, "%s: %zu of %zu %s values unwritten or not finite", label, bad, need, what);
    CHECK(past == 0, "%s: %zu %s values written past the result's %zu", label, past, what, need);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Queries in the middle of the model's declared ranges (a different point per query). */
static void queries(const dgmf_model *m, size_t n, double *params, double *fid, double *coords) {
    size_t p = 0, q = 0, levels = 0;
    dgmf_fidelity_kind kind;
    double lo = 0, hi = 0;
    dgmf_model_num_params(m, &p);
    dgmf_model_num_coords(m, &q);
    dgmf_model_fidelity(m, &kind, &levels, &lo, &hi);
    for (size_t i = 0; i < n; i++) {
        double t = (i + 1.0) / (n + 1.0);
        for (size_t k = 0; k < p; k++) {
            double a, b;
            dgmf_model_param(m, k, NULL, &a, &b);
            params[i * p + k] = a + (b - a) * t;
        }
        for (size_t k = 0; k < q; k++) {
            double a, b;
            dgmf_model_coord(m, k, NULL, &a, &b);
            coords[i * q + k] = a + (b - a) * (1.0 - t);
        }
        fid[i] = kind == DGMF_FIDELITY_DISCRETE ? (double)(i % levels) : lo + (hi - lo) * t;
    }
}

struct result {
    float *mean, *std;
};

/* One prediction of n queries; returns buffers (need + SLACK floats each) checked for full writes. */
static struct result run(const dgmf_model *m, const char *sampler, size_t steps, size_t samples, int with_std,
                         size_t n, int through_moments, const char *label) {
    size_t len = 0, p = 0;
    dgmf_model_sample_len(m, &len);
    dgmf_model_num_params(m, &p);
    double params[MAX_Q * 8], fid[MAX_Q], coords[MAX_Q * 4];
    queries(m, n, params, fid, coords);
    size_t need = n * len;
    struct result r = {malloc((need + SLACK) * sizeof(float)), malloc((need + SLACK) * sizeof(float))};
    fill(r.mean, need + SLACK);
    fill(r.std, need + SLACK);
    dgmf_config *c = NULL;
    OK(dgmf_config_create(sampler, &c));
    OK(dgmf_config_set_steps(c, steps));
    OK(dgmf_config_set_samples(c, samples));
    OK(dgmf_config_set_seed(c, 7));
    size_t q = 0;
    dgmf_model_num_coords(m, &q);
    const double *cp = q ? coords : NULL;
    float *std = with_std ? r.std : NULL;
    if (!through_moments) {
        OK(dgmf_predict_batch(m, c, n, params, fid, cp, r.mean, need, std, need));
    } else {
        /* Two parts of the ensemble, merged: the path an MPI or threaded caller takes. */
        dgmf_moments *a = NULL, *b = NULL;
        size_t cut = samples / 2;
        if (cut == 0) {
            OK(dgmf_predict_moments(m, c, n, params, fid, cp, 0, samples, &a));
        } else {
            OK(dgmf_predict_moments(m, c, n, params, fid, cp, 0, cut, &a));
            OK(dgmf_predict_moments(m, c, n, params, fid, cp, cut, samples - cut, &b));
            OK(dgmf_moments_merge(a, b));
        }
        OK(dgmf_moments_finish(m, a, fid, r.mean, need, std, need));
        dgmf_moments_destroy(a);
        dgmf_moments_destroy(b);
    }
    dgmf_config_destroy(c);
    check_written(r.mean, need, "mean", label);
    if (with_std) {
        check_written(r.std, need, "std", label);
    } else {
        size_t touched = 0;
        for (size_t i = 0; i < need + SLACK; i++) touched += !is_sentinel(r.std[i]);
        CHECK(touched == 0, "%s: the std buffer was not passed, yet a copy of it changed", label);
    }
    return r;
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODELS_DIR\n", argv[0]);
        return 2;
    }
    const char *names[] = {"analytic_score.onnx", "analytic_eps.onnx",        "analytic_x0.onnx",
                           "analytic_fp16.onnx",  "analytic_continuous.onnx", "analytic_coords.onnx"};
    struct {
        const char *name;
        size_t steps;
    } samplers[] = {{"heun", 3}, {"heun", 4}, {"ancestral", 6}, {"pc", 3}, {"em", 5}, {"edm", 4}, {"dpmpp-2m", 4}};
    const size_t sample_counts[] = {1, 2, 3};
    const size_t query_counts[] = {1, MAX_Q};
    char path[4096], label[512];
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], names[k]);
        size_t bytes_len = 0;
        unsigned char *bytes = read_file(path, &bytes_len);
        CHECK(bytes != NULL, "cannot read %s", path);
        if (!bytes) continue;
        dgmf_model *file = NULL, *mem = NULL, *fallback = NULL;
        dgmf_options *opts = NULL;
        OK(dgmf_options_create(&opts));
        OK(dgmf_options_set_threads(opts, 1));
        OK(dgmf_model_load(path, opts, &file));
        OK(dgmf_model_load_from_memory(bytes, bytes_len, opts, &mem));
        /* This build has no CUDA provider (or the machine no GPU): the load falls back to the CPU. */
        OK(dgmf_options_set_provider(opts, "cuda", 1));
        OK(dgmf_model_load(path, opts, &fallback));
        free(bytes);
        if (!file || !mem || !fallback) return 1;
        size_t len = 0;
        dgmf_model_sample_len(file, &len);
        for (size_t s = 0; s < sizeof samplers / sizeof *samplers; s++)
            for (size_t j = 0; j < sizeof sample_counts / sizeof *sample_counts; j++)
                for (int with_std = 0; with_std <= (sample_counts[j] > 1); with_std++)
                    for (size_t qi = 0; qi < sizeof query_counts / sizeof *query_counts; qi++)
                        for (int moments = 0; moments <= 1; moments++) {
                            size_t n = query_counts[qi], need = n * len;
                            snprintf(label, sizeof label, "%s %s(%zu) samples %zu %s n %zu %s", names[k],
                                     samplers[s].name, samplers[s].steps, sample_counts[j],
                                     with_std ? "mean+std" : "mean", n,
                                     moments ? "moments" : "predict_batch");
                            struct result a = run(file, samplers[s].name, samplers[s].steps, sample_counts[j],
                                                  with_std, n, moments, label);
                            struct result b = run(mem, samplers[s].name, samplers[s].steps, sample_counts[j],
                                                  with_std, n, moments, label);
                            struct result c = run(fallback, samplers[s].name, samplers[s].steps,
                                                  sample_counts[j], with_std, n, moments, label);
                            CHECK(same(a.mean, b.mean, need) && same(a.mean, c.mean, need),
                                  "%s: the mean differs between file, memory and fallback loads", label);
                            if (with_std)
                                CHECK(same(a.std, b.std, need) && same(a.std, c.std, need),
                                      "%s: the std differs between file, memory and fallback loads", label);
                            free(a.mean), free(a.std), free(b.mean), free(b.std), free(c.mean), free(c.std);
                        }
        dgmf_model_destroy(file);
        dgmf_model_destroy(mem);
        dgmf_model_destroy(fallback);
        dgmf_options_destroy(opts);
    }
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
