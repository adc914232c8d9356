/* Load / predict / free cycles for valgrind (scripts/valgrind.sh): every handle libdgmf hands out must be
 * returned in full. Usage: leak_cycles MODEL.onnx CYCLES */
#include <dgmf.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int cycles = atoi(argv[2]);
    double params[2] = {0.3, -0.6};
    float mean[24], std[24];
    for (int i = 0; i < cycles; i++) {
        dgmf_options *opts = NULL;
        dgmf_model *model = NULL, *bad = NULL;
        dgmf_config *config = NULL;
        if (dgmf_options_create(&opts) || dgmf_options_set_threads(opts, 1) ||
            dgmf_model_load(argv[1], opts, &model) || dgmf_config_create("heun", &config) ||
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
        dgmf_config_destroy(config);
        dgmf_model_destroy(model);
        dgmf_options_destroy(opts);
    }
    printf("%d cycles done\n", cycles);
    return 0;
}
