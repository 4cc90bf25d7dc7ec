/* classify.c - `semrouter classify [-c FILE] [--json] TEXT...`: the routing decision for
 * texts, through the classification API's own code (api/classify.h). */
#include "cli/cli.h"
#include "api/classify.h"
#include "api/gateway.h"
#include "config/config.h"
#include "core/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void classify_usage(FILE *f)
{
    fprintf(f, "usage: semrouter classify [-c FILE] [--json] TEXT...\n\n"
               "Classifies each TEXT as the router does: category, confidence, top-3\n"
               "probabilities, the model it would pick and the reasoning decision.\n\n"
               "  -c, --config FILE  configuration (config/config.yaml)\n"
               "  --json             print the /api/v1/classify/intent response instead\n");
}

int cli_classify(int argc, char **argv)
{
    const char *cfg_path = "config/config.yaml";
    int json = 0, first = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            classify_usage(stdout);
            return 0;
        } else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--")) {
            first = i + 1;
            break;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "classify: unknown option %s\n", argv[i]);
            classify_usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc) {
        classify_usage(stderr);
        return 2;
    }
    /* The default file: here, else the one shipped with the binary (run from anywhere). */
    char default_path[4200];
    if (!strcmp(cfg_path, "config/config.yaml") && access(cfg_path, R_OK) != 0 &&
        *config_install_prefix()) {
        snprintf(default_path, sizeof default_path, "%s/config/config.yaml", config_install_prefix());
        cfg_path = default_path;
    }
    config_errors errs;
    config_errors_init(&errs);
    sr_config *cfg = config_load(cfg_path, &errs);
    if (!cfg) {
        config_errors_print(&errs, stderr);
        config_errors_free(&errs);
        return 1;
    }
    config_errors_free(&errs);
    char path[4096], err[512];
    embed_options eo = gateway_embed_options(cfg, path, sizeof path);
    int rc = 1;
    embed_model *m = embed_load(&eo, err, sizeof err);
    route_engine *eng = m ? route_engine_new(cfg, m, err, sizeof err) : NULL;
    embed_state *st = m ? embed_state_new(m) : NULL;
    classify_one *r = malloc(sizeof *r);
    if (!m || !eng || !st || !r) {
        fprintf(stderr, "classify: %s\n", err);
        goto done;
    }
    classify_api_ctx ctx = {eng, m, st};
    rc = 0;
    for (int i = first; i < argc; i++) {
        const char *text = argv[i];
        if (json) {
            buf b, req;
            buf_init(&b);
            buf_init(&req);
            buf_puts(&req, "{\"text\":");
            buf_json_str(&req, text, strlen(text));
            buf_puts(&req, ",\"options\":{\"return_probabilities\":true}}");
            int st_code = classify_api_intent(&ctx, req.data, req.len, &b);
            printf("%s\n", b.data ? b.data : "");
            if (st_code != 200) rc = 1;
            buf_free(&b);
            buf_free(&req);
            continue;
        }
        uint64_t t0 = util_now_ns();
        if (classify_text(&ctx, text, strlen(text), r, err, sizeof err) < 0) {
            fprintf(stderr, "classify: %s\n", err);
            rc = 1;
            continue;
        }
        double total_ms = (double)(util_now_ns() - t0) / 1e6;
        printf("%s\n", text);
        const char *why = "";
        if (!r->d.category)
            why = route_engine_label_category(eng, r->cr.label) < 0
                      ? "  [no configured category: default model]"
                      : "  [below threshold: default model]";
        printf("  category:  %s (%s, confidence %.3f)%s\n", r->category ? r->category : "-",
               r->d.method, r->d.confidence, why);
        printf("  model:     %s [%s]\n", r->d.model ? r->d.model : "(blocked)",
               route_reason_name(r->d.reason));
        if (r->n_probs) {
            int top[3] = {-1, -1, -1};
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < r->n_probs; j++) {
                    int used = 0;
                    for (int q = 0; q < k; q++) used |= top[q] == j;
                    if (!used && (top[k] < 0 || r->probs[j] > r->probs[top[k]])) top[k] = j;
                }
            printf("  top-3:    ");
            for (int k = 0; k < 3 && top[k] >= 0; k++)
                printf(" %s %.3f%s", classifier_label(route_engine_classifier(eng), top[k]),
                       r->probs[top[k]], k < 2 ? "," : "");
            printf("\n");
        }
        printf("  reasoning: %s", r->d.reasoning ? "on" : "off");
        if (r->d.reasoning) printf(" (effort %s)", r->d.reasoning_effort);
        if (r->d.entropy.level)
            printf("; entropy %s (Hn %.3f), %s", r->d.entropy.level,
                   r->d.entropy.normalized_entropy, r->d.entropy.reason);
        printf("\n  time:      classify %.1f us, embed+classify %.2f ms\n",
               r->d.classify_seconds * 1e6, total_ms);
    }
done:
    free(r);
    embed_state_free(st);
    route_engine_free(eng);
    embed_free(m);
    config_release(cfg);
    return rc;
}
