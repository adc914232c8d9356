/* The mergeable-ensemble API (dgmf_predict_moments, dgmf_moments_*): any split of the samples, merged as
 * objects or as packed buffers, gives the serial dgmf_predict_batch result within 1e-6 relative; a fixed
 * merge order gives the same bits every time; every misuse returns its status and a message.
 * Usage: test_moments MODELS_DIR (tests/models). Run under valgrind by scripts/valgrind.sh. */
#include <dgmf.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { N = 3, S = 9, LEN_MAX = 64 };

/* Largest |a - b| / max(|b|, floor) over n values. */
static double rel_gap(const float *a, const float *b, size_t n, double floor) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / fmax(fabs((double)b[i]), floor);
        if (d > worst) worst = d;
    }
    return worst;
}

/* Samples [cuts[k], cuts[k+1]) as separate calls, merged in the given order; NULL on failure. */
static dgmf_moments *split(const dgmf_model *m, const dgmf_config *c, const double *params, const double *fid,
                           const size_t *cuts, size_t parts, const size_t *order) {
    dgmf_moments *total = NULL, *part[S] = {0};
    OK(dgmf_moments_create(m, N, &total));
    for (size_t k = 0; k < parts; k++)
        OK(dgmf_predict_moments(m, c, N, params, fid, NULL, cuts[k], cuts[k + 1] - cuts[k], &part[k]));
    for (size_t k = 0; k < parts; k++) OK(dgmf_moments_merge(total, part[order[k]]));
    for (size_t k = 0; k < parts; k++) dgmf_moments_destroy(part[k]);
    return total;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODELS_DIR\n", argv[0]);
        return 2;
    }
    char file[4096];
    snprintf(file, sizeof file, "%s/analytic_score.onnx", argv[1]);
    dgmf_model *m = NULL;
    dgmf_config *c = NULL;
    OK(dgmf_model_load(file, NULL, &m));
    if (!m) return 1;
    OK(dgmf_config_create(NULL, &c));
    OK(dgmf_config_set_samples(c, S));
    OK(dgmf_config_set_seed(c, 7));
    size_t len = 0;
    OK(dgmf_model_sample_len(m, &len));
    CHECK(len > 0 && len <= LEN_MAX, "sample_len %zu", len);

    const double params[N * 2] = {0.3, 0.6, 0.2, 0.5, 0.9, 0.1};
    const double fid[N] = {2.0, 0.0, 1.0};
    float mean[N * LEN_MAX], std[N * LEN_MAX], m2[N * LEN_MAX], s2[N * LEN_MAX];
    OK(dgmf_predict_batch(m, c, N, params, fid, NULL, mean, N * len, std, N * len));

    /* Any split, any merge order: the serial result within 1e-6 relative (docs/distributed.md). */
    const size_t cuts_a[] = {0, 4, 9}, cuts_b[] = {0, 1, 2, 6, 9}, cuts_c[] = {0, 3, 5, 8, 9};
    const size_t in_order[] = {0, 1, 2, 3}, reversed[] = {3, 2, 1, 0}, shuffled[] = {2, 0, 3, 1};
    struct { const size_t *cuts, *order; size_t parts; } cases[] = {
        {cuts_a, in_order, 2}, {cuts_a, reversed + 2, 2}, {cuts_b, in_order, 4},
        {cuts_b, reversed, 4}, {cuts_c, shuffled, 4},
    };
    double worst_mean = 0.0, worst_std = 0.0;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        dgmf_moments *tot = split(m, c, params, fid, cases[t].cuts, cases[t].parts, cases[t].order);
        uint64_t count = 0;
        OK(dgmf_moments_count(tot, 1, &count));
        CHECK(count == S, "case %zu: %llu samples merged", t, (unsigned long long)count);
        OK(dgmf_moments_finish(m, tot, fid, m2, N * len, s2, N * len));
        worst_mean = fmax(worst_mean, rel_gap(m2, mean, N * len, 1e-3));
        worst_std = fmax(worst_std, rel_gap(s2, std, N * len, 1e-3));
        dgmf_moments_destroy(tot);
    }
    CHECK(worst_mean <= 1e-6 && worst_std <= 1e-6, "split vs serial: mean %.3g, std %.3g", worst_mean,
          worst_std);
    printf("split vs serial, worst relative gap: mean %.3g, std %.3g\n", worst_mean, worst_std);

    /* A fixed order is bit-reproducible; the packed reduction gives the same bits as the objects. */
    dgmf_moments *x = split(m, c, params, fid, cuts_b, 4, in_order);
    dgmf_moments *y = split(m, c, params, fid, cuts_b, 4, in_order);
    float ya[N * LEN_MAX], yb[N * LEN_MAX];
    OK(dgmf_moments_finish(m, x, fid, m2, N * len, s2, N * len));
    OK(dgmf_moments_finish(m, y, fid, ya, N * len, yb, N * len));
    CHECK(!memcmp(m2, ya, N * len * sizeof(float)) && !memcmp(s2, yb, N * len * sizeof(float)),
          "the same merge order gave different bits");
    size_t plen = 0;
    OK(dgmf_moments_packed_len(m, N, &plen));
    CHECK(plen == N * (1 + 2 * len), "packed_len %zu", plen);
    double *acc = calloc(plen, sizeof(double)), *buf = calloc(plen, sizeof(double));
    for (size_t k = 0; k < 4; k++) {
        dgmf_moments *part = NULL;
        OK(dgmf_predict_moments(m, c, N, params, fid, NULL, cuts_b[k], cuts_b[k + 1] - cuts_b[k], &part));
        OK(dgmf_moments_pack(part, buf, plen));
        OK(dgmf_moments_merge_packed(buf, acc, N, len)); /* acc starts as all-zero records: empty */
        dgmf_moments_destroy(part);
    }
    dgmf_moments *z = NULL;
    OK(dgmf_moments_unpack(m, N, acc, plen, &z));
    OK(dgmf_moments_finish(m, z, fid, ya, N * len, yb, N * len));
    CHECK(!memcmp(m2, ya, N * len * sizeof(float)) && !memcmp(s2, yb, N * len * sizeof(float)),
          "packed reduction and object merges disagree");
    size_t nq = 0;
    OK(dgmf_moments_num_queries(z, &nq));
    CHECK(nq == N, "num_queries %zu", nq);

    /* A sweep split in parts numbered from their global offset gets the one-call samples, bit for bit. */
    dgmf_config *part_cfg = NULL;
    OK(dgmf_config_create(NULL, &part_cfg));
    OK(dgmf_config_set_samples(part_cfg, S));
    OK(dgmf_config_set_seed(part_cfg, 7));
    OK(dgmf_config_set_first_query(part_cfg, 1));
    OK(dgmf_predict_batch(m, part_cfg, N - 1, params + 2, fid + 1, NULL, ya, (N - 1) * len, yb, (N - 1) * len));
    CHECK(!memcmp(mean + len, ya, (N - 1) * len * sizeof(float)) &&
              !memcmp(std + len, yb, (N - 1) * len * sizeof(float)),
          "queries 1..2 predicted with first_query 1 differ from the same queries in one call");
    OK(dgmf_config_set_first_query(part_cfg, 0));
    OK(dgmf_predict_batch(m, part_cfg, N - 1, params + 2, fid + 1, NULL, ya, (N - 1) * len, NULL, 0));
    CHECK(memcmp(mean + len, ya, (N - 1) * len * sizeof(float)) != 0,
          "first_query had no effect: queries 1..2 numbered from 0 gave the same samples");
    OK(dgmf_config_set_first_query(part_cfg, UINT64_MAX));
    EXPECT(dgmf_predict_batch(m, part_cfg, N - 1, params + 2, fid + 1, NULL, ya, (N - 1) * len, NULL, 0),
           DGMF_ERR_INVALID_ARGUMENT, "overflows the 64-bit stream index");
    dgmf_config_destroy(part_cfg);

    /* One sample is the mean alone; self-merge counts twice. */
    dgmf_moments *one = NULL;
    OK(dgmf_predict_moments(m, c, N, params, fid, NULL, 4, 1, &one));
    EXPECT(dgmf_moments_finish(m, one, fid, ya, N * len, yb, N * len), DGMF_ERR_INVALID_ARGUMENT,
           "needs at least 2");
    OK(dgmf_moments_finish(m, one, fid, ya, N * len, NULL, 0));
    OK(dgmf_moments_merge(one, one));
    uint64_t count = 0;
    OK(dgmf_moments_count(one, 0, &count));
    CHECK(count == 2, "self-merge count %llu", (unsigned long long)count);

    /* Misuse. */
    dgmf_moments *bad = (dgmf_moments *)0x1;
    EXPECT(dgmf_predict_moments(m, c, N, params, fid, NULL, 0, 0, &bad), DGMF_ERR_INVALID_ARGUMENT,
           "non-empty range");
    CHECK(bad == NULL, "a failed call leaves *out NULL");
    EXPECT(dgmf_predict_moments(m, c, N, params, fid, NULL, 8, 2, &bad), DGMF_ERR_INVALID_ARGUMENT,
           "within 0..9");
    EXPECT(dgmf_predict_moments(m, c, N, params, fid, NULL, SIZE_MAX, 2, &bad), DGMF_ERR_INVALID_ARGUMENT,
           "overflows");
    EXPECT(dgmf_predict_moments(m, c, 0, params, fid, NULL, 0, 1, &bad), DGMF_ERR_INVALID_ARGUMENT, "n = 0");
    EXPECT(dgmf_predict_moments(m, c, N, params, fid, NULL, 0, 1, NULL), DGMF_ERR_NULL_ARGUMENT, "`out`");
    EXPECT(dgmf_predict_moments(NULL, c, N, params, fid, NULL, 0, 1, &bad), DGMF_ERR_NULL_ARGUMENT, "`model`");
    dgmf_moments *two = NULL;
    OK(dgmf_moments_create(m, 2, &two));
    EXPECT(dgmf_moments_merge(x, two), DGMF_ERR_INVALID_ARGUMENT, "cannot merge moments of 2 queries");
    EXPECT(dgmf_moments_merge(NULL, x), DGMF_ERR_NULL_ARGUMENT, "`into`");
    EXPECT(dgmf_moments_merge(x, NULL), DGMF_ERR_NULL_ARGUMENT, "`other`");
    EXPECT(dgmf_moments_count(x, 3, &count), DGMF_ERR_INVALID_ARGUMENT, "query 3 is out of range");
    EXPECT(dgmf_moments_finish(m, two, fid, ya, N * len, NULL, 0), DGMF_ERR_INVALID_ARGUMENT, "no samples");
    EXPECT(dgmf_moments_finish(m, x, fid, ya, N * len - 1, NULL, 0), DGMF_ERR_BUFFER_TOO_SMALL, "`mean`");
    const double bad_fid[N] = {2.0, 7.0, 1.0};
    EXPECT(dgmf_moments_finish(m, x, bad_fid, ya, N * len, NULL, 0), DGMF_ERR_INVALID_ARGUMENT, "query 1");
    const double half_fid[N] = {2.0, 0.5, 1.0};
    EXPECT(dgmf_moments_finish(m, x, half_fid, ya, N * len, NULL, 0), DGMF_ERR_INVALID_ARGUMENT,
           "not a level index");
    EXPECT(dgmf_moments_pack(x, buf, plen - 1), DGMF_ERR_BUFFER_TOO_SMALL, "need");
    EXPECT(dgmf_moments_pack(x, NULL, 0), DGMF_ERR_BUFFER_TOO_SMALL, "need");
    EXPECT(dgmf_moments_unpack(m, N, acc, plen - 1, &bad), DGMF_ERR_INVALID_ARGUMENT, "`len` is");
    CHECK(bad == NULL, "a failed unpack leaves *out NULL");
    acc[0] = 2.5; /* a count that is not a whole number: not a packed record */
    EXPECT(dgmf_moments_unpack(m, N, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "count of query 0");
    EXPECT(dgmf_moments_merge_packed(acc, buf, N, len), DGMF_ERR_INVALID_ARGUMENT, "count of query 0");
    /* Counts no merge produces: negative, NaN, infinite, beyond 2^53 (where doubles stop counting). */
    const double bad_counts[] = {-1.0, NAN, INFINITY, 18014398509481984.0};
    for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++) {
        acc[0] = bad_counts[i];
        EXPECT(dgmf_moments_unpack(m, N, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "count of query 0");
        CHECK(bad == NULL, "a failed unpack leaves *out NULL (count %g)", bad_counts[i]);
        EXPECT(dgmf_moments_merge_packed(acc, buf, N, len), DGMF_ERR_INVALID_ARGUMENT, "count of query 0");
    }
    /* A buffer packed for another query count or sample length: its length says so. */
    EXPECT(dgmf_moments_unpack(m, N - 1, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "`len` is");
    EXPECT(dgmf_moments_unpack(m, N, acc, plen + 1, &bad), DGMF_ERR_INVALID_ARGUMENT, "`len` is");
    /* Zero queries is an empty set of moments (an MPI rank that got no query of a sweep), not an error. */
    dgmf_moments *none = NULL;
    OK(dgmf_moments_unpack(m, 0, acc, 0, &none));
    EXPECT(dgmf_moments_merge(none, x), DGMF_ERR_INVALID_ARGUMENT, "cannot merge moments of");
    dgmf_moments_destroy(none);
    EXPECT(dgmf_moments_unpack(m, SIZE_MAX, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "");
    EXPECT(dgmf_moments_unpack(m, N, NULL, plen, &bad), DGMF_ERR_NULL_ARGUMENT, "");
    acc[0] = S;
    acc[1] = NAN;
    EXPECT(dgmf_moments_unpack(m, N, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "mean of query 0");
    /* A NaN mean, a negative or huge M2 in either buffer: refused before anything of `inout` is merged. */
    double *keep = malloc(plen * sizeof(double));
    memcpy(keep, buf, plen * sizeof(double));
    EXPECT(dgmf_moments_merge_packed(acc, buf, N, len), DGMF_ERR_INVALID_ARGUMENT, "`in`: moments: the mean");
    CHECK(memcmp(keep, buf, plen * sizeof(double)) == 0, "a refused merge left `inout` changed");
    acc[1] = 1e300; /* finite, but no mean of float32 samples */
    EXPECT(dgmf_moments_unpack(m, N, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "mean of query 0");
    acc[1] = 0.0;
    acc[1 + len] = -1.0;
    EXPECT(dgmf_moments_merge_packed(buf, acc, N, len), DGMF_ERR_INVALID_ARGUMENT, "`inout`: moments: M2");
    acc[1 + len] = 1e300;
    EXPECT(dgmf_moments_unpack(m, N, acc, plen, &bad), DGMF_ERR_INVALID_ARGUMENT, "M2 of query 0");
    memcpy(acc, keep, plen * sizeof(double));
    free(keep);
    /* A length no buffer can have is refused, never turned into a slice (that would be undefined behaviour). */
    EXPECT(dgmf_moments_merge_packed(acc, buf, 1, (size_t)1 << 62), DGMF_ERR_INVALID_ARGUMENT,
           "larger than any buffer");
    EXPECT(dgmf_moments_pack(x, buf, SIZE_MAX / 4), DGMF_ERR_INVALID_ARGUMENT, "larger than any buffer");
    EXPECT(dgmf_moments_merge_packed(acc, acc + 1, N, len), DGMF_ERR_INVALID_ARGUMENT, "overlap");
    EXPECT(dgmf_moments_merge_packed(NULL, buf, N, len), DGMF_ERR_NULL_ARGUMENT, "`in`");
    EXPECT(dgmf_moments_merge_packed(acc, buf, SIZE_MAX, len), DGMF_ERR_INVALID_ARGUMENT, "overflow");
    EXPECT(dgmf_moments_create(m, SIZE_MAX, &bad), DGMF_ERR_INVALID_ARGUMENT, "");
    dgmf_moments_destroy(NULL);

    free(acc);
    free(buf);
    dgmf_moments_destroy(one);
    dgmf_moments_destroy(two);
    dgmf_moments_destroy(x);
    dgmf_moments_destroy(y);
    dgmf_moments_destroy(z);
    dgmf_config_destroy(c);
    dgmf_model_destroy(m);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
