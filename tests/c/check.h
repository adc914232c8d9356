/* CHECK / OK / EXPECT for the C API tests: count checks and failures, print each failure with its line
 * and dgmf_last_error(). Include after dgmf.h, stdio.h and string.h. */
#ifndef DGMF_TEST_CHECK_H
#define DGMF_TEST_CHECK_H

static int failures = 0, checks = 0; /* one test program per translation unit */

#define CHECK(cond, ...)                                          \
    do {                                                          \
        checks++;                                                 \
        if (!(cond)) {                                            \
            failures++;                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                         \
            fprintf(stderr, "\n");                                \
        }                                                         \
    } while (0)

/* The call returns `want`. */
#define OK_AS(call, want)                                                                        \
    do {                                                                                        \
        dgmf_status s_ = (call);                                                                \
        CHECK(s_ == (want), "%s returned %d (%s), expected %d; last error: %s", #call, (int)s_, \
              dgmf_status_string(s_), (int)(want), dgmf_last_error());                          \
    } while (0)

#define OK(call) OK_AS(call, DGMF_OK)

/* The call fails with `want` and leaves a message containing `text`. */
#define EXPECT(call, want, text)                                                                   \
    do {                                                                                          \
        OK_AS(call, want);                                                                        \
        CHECK(strstr(dgmf_last_error(), (text)) != NULL, "%s: message `%s` lacks `%s`", #call,    \
              dgmf_last_error(), (text));                                                         \
    } while (0)

#endif
