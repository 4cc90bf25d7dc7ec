/* test.h - the unit-test harness: one binary per module, one line per case.
 *
 * Each case prints "PASS name" or "FAIL name: why"; tests/run.sh counts them.
 * A case is a function; CHECK records a failure and keeps going, so one run
 * shows every broken expectation. Reference data the tests need is in the repo
 * (tests/data, provenance in tests/data/README.md); ../shared holds optional extras
 * only, and a case that uses it says so on a "# optional extra" line. */
#ifndef SEMROUTER_TEST_H
#define SEMROUTER_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_total;
static int test_case_failed;
static const char *test_case_name;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (!test_case_failed) printf("FAIL %s: ", test_case_name);                            \
            else printf("     ... also: ");                                                        \
            printf("%s:%d: %s; ", __FILE__, __LINE__, #cond);                                      \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            test_case_failed = 1;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b) CHECK((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
static inline int test_str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        CHECK(test_str_eq(a_, b_), "\"%s\" != \"%s\"", a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
    } while (0)
#define CHECK_NEAR(a, b, eps) CHECK(fabs((double)(a) - (double)(b)) <= (eps), "%g vs %g", (double)(a), (double)(b))

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        test_case_name = #fn;                                                                      \
        test_case_failed = 0;                                                                      \
        fflush(stdout);                                                                            \
        fn();                                                                                      \
        if (test_case_failed > 0) test_failures_total++;                                           \
        else if (test_case_failed == 0) printf("PASS %s\n", #fn);                                  \
        fflush(stdout);                                                                            \
    } while (0)

/* Marks the running case skipped (counted neither passed nor failed) and says why. */
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        printf("SKIP %s: ", test_case_name);                                                       \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        test_case_failed = -1;                                                                     \
        return;                                                                                    \
    } while (0)

#define TEST_MAIN_END() return test_failures_total ? 1 : 0

/* Writes the path of rel inside the repo's tests/data ($SEMROUTER_ROOT/tests/data) into out. */
static inline const char *test_data_path(const char *rel, char *out, size_t outlen)
{
    const char *root = getenv("SEMROUTER_ROOT");
    snprintf(out, outlen, "%s/tests/data/%s", root ? root : ".", rel);
    return out;
}

/* Path of the optional shared reference folder (../shared from the repo root, or
 * $SEMROUTER_SHARED) or NULL. Only for extras: no case may need it to pass. */
static inline const char *test_shared_dir(void)
{
    const char *d = getenv("SEMROUTER_SHARED");
    if (!d) d = "../shared";
    FILE *f;
    char probe[512];
    snprintf(probe, sizeof probe, "%s/DESIGN.md", d);
    if (!(f = fopen(probe, "r"))) return NULL;
    fclose(f);
    return d;
}
#endif
