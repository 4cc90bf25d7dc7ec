/* make_mmlu_holdout.c - writes tests/data/mmlu-holdout/: the MMLU prompts the classifier
 * test scores (every 10th of the 20% held out per subject by route_dataset_load_mmlu, i.e.
 * never trained on), one mmlu_<subject>.csv per subject with a single "prompt" column.
 * Built by hand against the library, run from the repo root:
 *   cc -std=c11 -D_GNU_SOURCE -Isrc tests/data/make_mmlu_holdout.c build/libsemrouter_cli.a build/libsemrouter.a \
 *      $(pkg-config --libs libcrypto) -lm -lpthread -o /tmp/mk && /tmp/mk ../shared/data/train/mmlu */
#include "cli/train.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char err[512];
    route_dataset d;
    route_dataset_init(&d);
    if (argc != 2 || route_dataset_load_mmlu(&d, argv[1], "data/route/mmlu_subject_to_category.tsv",
                                             20, err, sizeof err) < 0) {
        fprintf(stderr, "usage: make_mmlu_holdout MMLU_DIR (%s)\n", argc == 2 ? err : "");
        return 1;
    }
    int k = 0, written = 0;
    FILE *f = NULL;
    int cur = -1;
    for (int i = 0; i < d.n; i++) {
        if (!d.samples[i].holdout || (k++ % 10)) continue;
        if (d.samples[i].source != cur) {
            if (f) fclose(f);
            cur = d.samples[i].source;
            char path[512];
            snprintf(path, sizeof path, "tests/data/mmlu-holdout/mmlu_%s.csv", d.sources[cur]);
            f = fopen(path, "w");
            if (!f) return perror(path), 1;
            fputs("prompt\n", f);
        }
        fputc('"', f);
        for (const char *p = d.samples[i].text; *p; p++) {
            if (*p == '"') fputc('"', f);
            fputc(*p, f);
        }
        fputs("\"\n", f);
        written++;
    }
    if (f) fclose(f);
    printf("%d prompts\n", written);
    route_dataset_free(&d);
    return 0;
}
