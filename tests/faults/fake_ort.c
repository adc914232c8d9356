/* A stand-in "ONNX Runtime" for fault tests: exports OrtGetApiBase with a chosen version string
 * (-DVERSION="...") and, with -DNO_API, an API table that is missing (GetApi returns NULL). */
#include <stddef.h>

typedef struct {
    const void *(*GetApi)(unsigned version);
    const char *(*GetVersionString)(void);
} OrtApiBase;

static const void *get_api(unsigned version) {
    (void)version;
    return NULL;
}
static const char *get_version(void) { return VERSION; }
static const OrtApiBase base = {get_api, get_version};

const OrtApiBase *OrtGetApiBase(void) { return &base; }
