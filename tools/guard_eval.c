/* guard_eval - measures the guards on their labelled sets.
 *
 *   build/guard_eval pii [FILE] [-v]
 *       per-type precision/recall of pii_detect on data/guard/pii_cases.jsonl
 *       ({"text", "entities":[{"type","value"}]} per line). A detection counts
 *       when its type matches and its span overlaps the labelled value.
 *   build/guard_eval jailbreak [-m MODEL_DIR] [-e EXEMPLARS] [-a ATTACKS] [-b BENIGN] [-v]
 *       detection rate and false-positive rate across thresholds.
 *   build/guard_eval check TEXT...   prints what each guard finds in TEXT. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "guard/pii.h"

#define MAXE 64

typedef struct span {
    int type;
    size_t start, end;
    int matched;
} span;

static int eval_pii(const char *path, int verbose)
{
    char err[256];
    size_t len;
    char *data = util_read_file(path, &len, err, sizeof err);
    if (!data) {
        fprintf(stderr, "guard_eval: %s\n", err);
        return 1;
    }
    long tp[PII_TYPE_COUNT] = {0}, fp[PII_TYPE_COUNT] = {0}, fn[PII_TYPE_COUNT] = {0};
    int cases = 0, exact_cases = 0;
    char *line = data, *next;
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!*line) continue;
        cJSON *j = cJSON_Parse(line);
        cJSON *jt = cJSON_GetObjectItem(j, "text");
        if (!cJSON_IsString(jt)) {
            fprintf(stderr, "guard_eval: bad line: %.80s\n", line);
            cJSON_Delete(j);
            continue;
        }
        const char *text = jt->valuestring;
        size_t tl = strlen(text);
        span want[MAXE];
        int nw = 0;
        cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entities"))
        {
            const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(e, "value"));
            int t = pii_type_from_name(ty);
            const char *at = v ? strstr(text, v) : NULL;
            /* repeated values: take the next occurrence after the previous label */
            while (at && nw > 0) {
                int dup = 0;
                for (int k = 0; k < nw; k++)
                    if (want[k].start == (size_t)(at - text)) dup = 1;
                if (!dup) break;
                at = strstr(at + 1, v);
            }
            if (t < 0 || !at || nw >= MAXE) {
                fprintf(stderr, "guard_eval: bad entity in: %.80s\n", text);
                continue;
            }
            want[nw++] = (span){t, (size_t)(at - text), (size_t)(at - text) + strlen(v), 0};
        }
        pii_entity got[MAXE];
        int ng = pii_detect(text, tl, got, MAXE);
        int case_ok = 1;
        for (int g = 0; g < ng; g++) {
            int hit = 0;
            for (int w = 0; w < nw && !hit; w++)
                if (!want[w].matched && want[w].type == got[g].type && got[g].start < want[w].end &&
                    want[w].start < got[g].end)
                    want[w].matched = hit = 1;
            if (hit) {
                tp[got[g].type]++;
            } else {
                fp[got[g].type]++;
                case_ok = 0;
                if (verbose)
                    printf("FP %-13s %.*s   | %s\n", pii_type_name(got[g].type),
                           (int)(got[g].end - got[g].start), text + got[g].start, text);
            }
        }
        for (int w = 0; w < nw; w++)
            if (!want[w].matched) {
                fn[want[w].type]++;
                case_ok = 0;
                if (verbose)
                    printf("FN %-13s %.*s   | %s\n", pii_type_name(want[w].type),
                           (int)(want[w].end - want[w].start), text + want[w].start, text);
            }
        cases++;
        exact_cases += case_ok;
        cJSON_Delete(j);
    }
    free(data);
    long TP = 0, FP = 0, FN = 0;
    printf("%-14s %6s %6s %6s %9s %7s\n", "type", "tp", "fp", "fn", "precision", "recall");
    for (int t = 0; t < PII_TYPE_COUNT; t++) {
        TP += tp[t], FP += fp[t], FN += fn[t];
        if (tp[t] + fp[t] + fn[t] == 0) continue;
        printf("%-14s %6ld %6ld %6ld %9.3f %7.3f\n", pii_type_name(t), tp[t], fp[t], fn[t],
               tp[t] + fp[t] ? (double)tp[t] / (double)(tp[t] + fp[t]) : 1.0,
               tp[t] + fn[t] ? (double)tp[t] / (double)(tp[t] + fn[t]) : 1.0);
    }
    printf("%-14s %6ld %6ld %6ld %9.3f %7.3f\n", "ALL", TP, FP, FN,
           TP + FP ? (double)TP / (double)(TP + FP) : 1.0,
           TP + FN ? (double)TP / (double)(TP + FN) : 1.0);
    printf("cases %d, fully correct %d (%.1f%%)\n", cases, exact_cases,
           100.0 * exact_cases / (cases ? cases : 1));
    return 0;
}

static int check_text(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        pii_entity e[MAXE];
        int n = pii_detect(argv[i], strlen(argv[i]), e, MAXE);
        printf("%s\n", argv[i]);
        for (int k = 0; k < n; k++)
            printf("  %-13s %.2f [%zu,%zu) %.*s\n", pii_type_name(e[k].type), e[k].confidence,
                   e[k].start, e[k].end, (int)(e[k].end - e[k].start), argv[i] + e[k].start);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(stderr, "usage: guard_eval pii [FILE] [-v]\n"
                        "       guard_eval check TEXT...\n");
        return argc < 2 ? 2 : 0;
    }
    int verbose = 0;
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!file)
            file = argv[i];
    }
    if (!strcmp(argv[1], "pii"))
        return eval_pii(file ? file : "data/guard/pii_cases.jsonl", verbose);
    if (!strcmp(argv[1], "check")) return check_text(argc - 2, argv + 2);
    fprintf(stderr, "guard_eval: unknown mode %s\n", argv[1]);
    return 2;
}
