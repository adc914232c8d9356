/* Load a dgmf model, print what it expects, predict one field with its uncertainty, and show how errors
 * are reported.  Usage: predict MODEL.onnx [p1,p2,...] */
#include <dgmf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the failure and returns 1 from main. */
#define TRY(call)                                                                                   \
    do {                                                                                           \
        dgmf_status s_ = (call);                                                                   \
        if (s_ != DGMF_OK) {                                                                       \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dgmf_status_string(s_), dgmf_last_error()); \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [p1,p2,...]\n", argv[0]);
        return 2;
    }
    printf("libdgmf %s\n", dgmf_version());

    dgmf_model *model = NULL;
    TRY(dgmf_model_load(argv[1], NULL, &model));

    size_t rank, dims[8], n, p;
    TRY(dgmf_model_rank(model, &rank));
    TRY(dgmf_model_shape(model, dims, 8));
    TRY(dgmf_model_sample_len(model, &n));
    TRY(dgmf_model_num_params(model, &p));
    printf("field shape [");
    for (size_t i = 0; i < rank; i++) printf(i ? ", %zu" : "%zu", dims[i]);
    printf("], %zu values\n", n);

    /* Parameters: from the command line, or the middle of each range. */
    double *params = calloc(p, sizeof *params);
    char *arg = argc > 2 ? argv[2] : NULL;
    for (size_t i = 0; i < p; i++) {
        const char *name;
        double lo, hi;
        TRY(dgmf_model_param(model, i, &name, &lo, &hi));
        params[i] = 0.5 * (lo + hi);
        if (arg) {
            params[i] = strtod(arg, &arg);
            if (*arg == ',') arg++;
        }
        printf("  %-10s = %g  (range [%g, %g])\n", name, params[i], lo, hi);
    }
    dgmf_fidelity_kind kind;
    size_t levels;
    double flo, fhi;
    TRY(dgmf_model_fidelity(model, &kind, &levels, &flo, &fhi));
    double fidelity = fhi; /* the highest level, or the top of the continuous range */
    printf("fidelity %g\n", fidelity);

    /* Heun, 18 levels (35 network evaluations per sample), 8 samples for the std. */
    dgmf_config *config = NULL;
    TRY(dgmf_config_create("heun", &config));
    TRY(dgmf_config_set_samples(config, 8));
    TRY(dgmf_config_set_seed(config, 1));
    float *mean = malloc(n * sizeof *mean), *std = malloc(n * sizeof *std);
    TRY(dgmf_predict(model, config, params, fidelity, NULL, mean, n, std, n));
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        m += mean[i];
        s += std[i];
    }
    printf("mean field: average %.5f; std field: average %.5f\n", m / n, s / n);

    /* Errors come back as a status and a message; nothing aborts. */
    params[0] = 1e9;
    dgmf_status status = dgmf_predict(model, config, params, fidelity, NULL, mean, n, NULL, 0);
    printf("out-of-range parameter -> %s: %s\n", dgmf_status_string(status), dgmf_last_error());

    free(mean);
    free(std);
    free(params);
    dgmf_config_destroy(config);
    dgmf_model_destroy(model);
    return status == DGMF_ERR_INVALID_ARGUMENT ? 0 : 1;
}
