/* Tests for src/core/util.c: strict command-line numbers, request ids, bounded copies. */
#include "core/util.h"
#include "test.h"

#include <pthread.h>

static void parse_int_is_strict(void)
{
    int v = 7;
    CHECK_EQ_INT(util_parse_int("8801", 0, 65535, &v), 0);
    CHECK_EQ_INT(v, 8801);
    CHECK_EQ_INT(util_parse_int("0", 0, 65535, &v), 0);
    CHECK_EQ_INT(v, 0);
    static const char *const bad[] = {"abc", "", " 1", "8801x", "1e3", "65536", "-1", "0x10",
                                      "99999999999999999999", "１２"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        CHECK(util_parse_int(bad[i], 0, 65535, &v) == -1 && v == 7, "'%s' accepted (%d)", bad[i], v);
    }
    CHECK_EQ_INT(util_parse_int(NULL, 0, 1, &v), -1);
}

static void parse_double_is_strict(void)
{
    double d = 7;
    CHECK_EQ_INT(util_parse_double("0.85", 0, 1, &d), 0);
    CHECK_NEAR(d, 0.85, 1e-12);
    CHECK_EQ_INT(util_parse_double("1e-3", 0, 1, &d), 0);
    CHECK_NEAR(d, 0.001, 1e-12);
    static const char *const bad[] = {"x", "", "0.5abc", "nan", "inf", "1.5", "-0.1", " 0.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 7;
        CHECK(util_parse_double(bad[i], 0, 1, &d) == -1 && d == 7, "'%s' accepted (%g)", bad[i], d);
    }
}

static int is_hex32(const char *s)
{
    for (int i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[32] == 0;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 33); }

#define IDS_PER_THREAD 100000
static char (*ids)[33];

static void *make_ids(void *arg)
{
    char (*out)[33] = arg;
    for (int i = 0; i < IDS_PER_THREAD; i++) util_request_id(out[i]);
    return NULL;
}

/* Ids from several threads (each its own random prefix and counter) never repeat, and all
 * are 32 lower-case hex chars. */
static void request_ids_are_unique(void)
{
    enum { THREADS = 4 };
    ids = malloc(sizeof *ids * IDS_PER_THREAD * THREADS);
    CHECK(ids != NULL, "out of memory");
    if (!ids) return;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, make_ids, ids + (size_t)i * IDS_PER_THREAD);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    size_t n = (size_t)IDS_PER_THREAD * THREADS, bad = 0, dup = 0;
    for (size_t i = 0; i < n; i++) bad += !is_hex32(ids[i]);
    qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 1; i < n; i++) dup += !memcmp(ids[i - 1], ids[i], 33);
    CHECK(bad == 0, "%zu ids are not 32 hex chars (first: %.40s)", bad, ids[0]);
    CHECK(dup == 0, "%zu duplicate ids among %zu", dup, n);
    /* the threads drew different prefixes (the first 16 hex chars) */
    int prefixes = 1;
    for (size_t i = 1; i < n; i++) prefixes += memcmp(ids[i - 1], ids[i], 16) != 0;
    CHECK_EQ_INT(prefixes, THREADS);
    free(ids);
}

/* util_copy_str matches snprintf(dst, size, "%s", src), truncation at a UTF-8 text included. */
static void copy_str_is_snprintf(void)
{
    static const char *const srcs[] = {"", "a", "req-“curly”", "café 😀 中文",
                                       "exactly-eight!!"};
    char a[64], b[64];
    for (size_t i = 0; i < sizeof srcs / sizeof *srcs; i++)
        for (size_t size = 1; size <= 20; size++) {
            memset(a, 'x', sizeof a);
            memset(b, 'x', sizeof b);
            size_t n = util_copy_str(a, size, srcs[i]);
            snprintf(b, size, "%s", srcs[i]);
            CHECK(!memcmp(a, b, sizeof a) && n == strlen(b), "'%s' size %zu: '%s' vs '%s'", srcs[i], size, a, b);
        }
    CHECK_EQ_INT(util_copy_str(a, 0, "abc"), 0);
}

static void fmt_long_is_printf(void)
{
    static const long vs[] = {0, 7, -7, 10, 99, 100, 65535, 1234567890L, -2147483648L, 9223372036854775807L,
                              -9223372036854775807L - 1};
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        char a[24], b[24];
        size_t n = util_fmt_long(a, vs[i]);
        snprintf(b, sizeof b, "%ld", vs[i]);
        CHECK(!strcmp(a, b) && n == strlen(b), "%s vs %s", a, b);
    }
}

int main(void)
{
    RUN(fmt_long_is_printf);
    RUN(request_ids_are_unique);
    RUN(copy_str_is_snprintf);
    RUN(parse_int_is_strict);
    RUN(parse_double_is_strict);
    TEST_MAIN_END();
}
