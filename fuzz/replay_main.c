/* replay_main.c - runs a fuzz target over saved inputs, without libFuzzer:
 *   build/fuzz/replay_NAME fuzz/corpus/NAME fuzz/regress/NAME
 * Every file of a corpus directory, and the file repeated up to 32 KiB, must
 * pass the target (no crash, no sanitizer report, work within its bound; see
 * fuzz.h); a corpus prints one PASS line with its count and the largest share
 * of the bound used, a failure one FAIL line per file. Files in a directory
 * named regress (inputs that once crashed or were slow) get a line each.
 * Exits 1 when anything failed. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AMPLIFY_TO 32768

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static const char *target_name = "fuzz";

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (n == cap) b = realloc(b, cap *= 2);
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return b;
}

/* Runs data, then data repeated; returns 0 or -1 with fuzz_failure set. */
static int run_one(const unsigned char *data, size_t len)
{
    fuzz_failed = 0;
    /* a private copy: libFuzzer's data is exactly len bytes too, so overreads show */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    if (fuzz_failed) return -1;
    if (len == 0 || len >= AMPLIFY_TO) return 0;
    size_t reps = (AMPLIFY_TO + len - 1) / len, big = reps * len;
    unsigned char *rep = malloc(big);
    for (size_t i = 0; i < reps; i++) memcpy(rep + i * len, data, len);
    LLVMFuzzerTestOneInput(rep, big);
    free(rep);
    if (fuzz_failed) {
        char why[sizeof fuzz_failure];
        memcpy(why, fuzz_failure, sizeof why);
        snprintf(fuzz_failure, sizeof fuzz_failure, "repeated %zux: %.400s", reps, why);
        return -1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        return 0; /* no regression inputs (yet) */
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
        if (n == cap) names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    int is_regress = strstr(dir, "regress") != NULL;
    int failures = 0;
    double max_ratio = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        unsigned char *data = read_file(path, &len);
        if (!data) {
            printf("FAIL fuzz_%s_%s: cannot read %s\n", target_name, names[i], path);
            failures++;
            continue;
        }
        fuzz_max_ratio = 0;
        int rc = run_one(data, len);
        free(data);
        if (fuzz_max_ratio > max_ratio) max_ratio = fuzz_max_ratio;
        if (rc) {
            printf("FAIL fuzz_%s_%s %s: %s\n", target_name, is_regress ? "regress" : "corpus", path,
                   fuzz_failure);
            failures++;
        } else if (is_regress) {
            printf("PASS fuzz_%s_regress_%s (%zu bytes, %.0f%% of its work bound)\n", target_name,
                   names[i], len, fuzz_max_ratio * 100);
        }
        free(names[i]);
    }
    free(names);
    if (!is_regress && !failures)
        printf("PASS fuzz_%s_%s (%zu inputs, each also repeated to %d bytes; at most %.0f%% of the "
               "work bound)\n",
               target_name, base[0] ? "corpus" : "", n, AMPLIFY_TO, max_ratio * 100);
    return failures;
}

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    target_name = slash ? slash + 1 : argv[0];
    if (!strncmp(target_name, "replay_", 7)) target_name += 7;
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            size_t len;
            unsigned char *data = read_file(argv[i], &len);
            int rc = data ? run_one(data, len) : -1;
            free(data);
            printf("%s fuzz_%s_file %s%s%s\n", rc ? "FAIL" : "PASS", target_name, argv[i],
                   rc ? ": " : "", rc ? fuzz_failure : "");
            failures += rc != 0;
        } else {
            failures += replay_dir(argv[i]);
        }
    }
    return failures ? 1 : 0;
}
