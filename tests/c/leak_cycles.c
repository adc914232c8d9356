/* Load / predict / free cycles for valgrind (scripts/valgrind.sh): every handle libdgmf hands out must be
 * returned in full, on success and on every failure path. Usage: leak_cycles MODELS_DIR CYCLES (tests/models). */
#include <dgmf.h>

#include <stdio.h>
#include <stdlib.h>

static char buf[4][4096];

static const char *at(int slot, const char *dir, const char *name) {
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int cycles = atoi(argv[2]);
    const char *good = at(0, argv[1], "analytic_score.onnx"), *hidden = at(1, argv[1], "bad/external_hidden_tag.onnx"),
               *inf = at(2, argv[1], "bad/inf_at_sigma_min.onnx"), *overflow = at(3, argv[1], "bad/shape_overflow.onnx");
    double params[2] = {0.3, -0.6};
    float mean[24], std[24];
    for (int i = 0; i < cycles; i++) {
        dgmf_options *opts = NULL;
        dgmf_model *model = NULL, *bad = NULL;
        dgmf_config *config = NULL;
        if (dgmf_options_create(&opts) || dgmf_options_set_threads(opts, 1) ||
            dgmf_model_load(good, opts, &model) || dgmf_config_create("heun", &config) ||
            dgmf_config_set_steps(config, 4) || dgmf_config_set_samples(config, 2) ||
            dgmf_predict(model, config, params, 2.0, NULL, mean, 24, std, 24)) {
            fprintf(stderr, "cycle %d: %s\n", i, dgmf_last_error());
            return 1;
        }
        /* Failing calls must not leak either. */
        params[1] = 7.0;
        if (dgmf_predict(model, config, params, 2.0, NULL, mean, 24, NULL, 0) != DGMF_ERR_INVALID_ARGUMENT) return 1;
        params[1] = -0.6;
        if (dgmf_model_load("/nonexistent.onnx", opts, &bad) != DGMF_ERR_MODEL_LOAD) return 1;
        if (dgmf_model_load(hidden, opts, &bad) != DGMF_ERR_MODEL_LOAD) return 1;
        if (dgmf_model_load(overflow, opts, &bad) != DGMF_ERR_CONTRACT) return 1;
        if (dgmf_config_set_steps(config, (size_t)-1) != DGMF_ERR_INVALID_ARGUMENT) return 1;
        if (dgmf_model_load(inf, opts, &bad) != DGMF_OK) return 1;
        if (dgmf_predict(bad, config, params, 2.0, NULL, mean, 24, NULL, 0) != DGMF_ERR_INFERENCE) return 1;
        dgmf_model_destroy(bad);
        dgmf_config_destroy(config);
        dgmf_model_destroy(model);
        dgmf_options_destroy(opts);
    }
    printf("%d cycles done\n", cycles);
    return 0;
}
