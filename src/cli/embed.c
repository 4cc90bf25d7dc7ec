/* embed.c - `semrouter embed`: print embeddings or cosine similarities.
 *
 * A diagnostic and scripting aid: load a model as the router would, embed the
 * texts given on the command line, print one JSON array per text, or with
 * --sim the cosine similarity of each later text to the first. */
#include "cli/cli.h"
#include "embed/embed.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: semrouter embed [options] TEXT...\n"
                 "\n"
                 "Embeds each TEXT and prints its vector as a JSON array, one per line.\n"
                 "\n"
                 "  -m, --model DIR        model folder (default: $SEMROUTER_MODEL_DIR or\n"
                 "                         models/use-lite, fetched by scripts/fetch-model.sh)\n"
                 "  -t, --type TYPE        use-lite (default), model2vec (default when DIR holds\n"
                 "                         model.safetensors) or remote\n"
                 "      --url URL          remote: base URL of an OpenAI-compatible API (.../v1)\n"
                 "      --remote-model M   remote: the \"model\" to request\n"
                 "      --api-key-env VAR  remote: environment variable holding a bearer key\n"
                 "      --sim              print the cosine similarity of each TEXT to the first\n"
                 "                         (one number per line) instead of vectors\n"
                 "      --tokens           print the token ids of each TEXT (local models)\n"
                 "  -h, --help             this help\n");
}

static int file_exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

int cli_embed(int argc, char **argv)
{
    embed_options o = {.type = EMBED_USE_LITE};
    const char *dir = getenv("SEMROUTER_MODEL_DIR");
    int sim = 0, tokens = 0, type_given = 0, first = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has_val) {
            dir = argv[++i];
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--type")) && has_val) {
            if (embed_parse_type(argv[++i], &o.type)) {
                fprintf(stderr, "semrouter embed: unknown model type '%s'\n", argv[i]);
                return 2;
            }
            type_given = 1;
        } else if (!strcmp(a, "--url") && has_val) {
            o.url = argv[++i];
        } else if (!strcmp(a, "--remote-model") && has_val) {
            o.remote_model = argv[++i];
        } else if (!strcmp(a, "--api-key-env") && has_val) {
            o.api_key_env = argv[++i];
        } else if (!strcmp(a, "--sim")) {
            sim = 1;
        } else if (!strcmp(a, "--tokens")) {
            tokens = 1;
        } else if (!strcmp(a, "--")) {
            first = i + 1;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "semrouter embed: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    int n = first ? argc - first : 0;
    if (n < 1 || (sim && n < 2)) {
        fprintf(stderr, "semrouter embed: %s\n",
                sim ? "--sim needs at least two texts" : "no text given");
        usage(stderr);
        return 2;
    }
    if (!dir) dir = "models/use-lite";
    if (!type_given && o.url)
        o.type = EMBED_REMOTE;
    else if (!type_given && file_exists(dir, "model.safetensors"))
        o.type = EMBED_MODEL2VEC;
    o.path = dir;
    char err[512];
    embed_model *m = embed_load(&o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "semrouter embed: %s\n", err);
        if (o.type == EMBED_USE_LITE && !file_exists(dir, "model.json"))
            fprintf(stderr,
                    "semrouter embed: fetch the default model with scripts/fetch-model.sh\n");
        return 1;
    }
    embed_state *s = embed_state_new(m);
    int dim = embed_dim(m), rc = 0;
    float *v = malloc((size_t)n * dim * sizeof *v);
    if (!s || !v) {
        fprintf(stderr, "semrouter embed: out of memory\n");
        rc = 1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *t = argv[first + i];
        if (embed_text(m, s, t, strlen(t), v + (size_t)i * dim, NULL, err, sizeof err)) {
            fprintf(stderr, "semrouter embed: %s\n", err);
            rc = 1;
            goto out;
        }
    }
    if (tokens) {
        static int ids[4096];
        for (int i = 0; i < n; i++) {
            const char *t = argv[first + i];
            int c = embed_tokenize(m, s, t, strlen(t), ids, 4096);
            printf("tokens %d:", c);
            for (int k = 0; k < c && k < 4096; k++)
                printf(" %d", ids[k]);
            printf("\n");
        }
    }
    if (sim) {
        for (int i = 1; i < n; i++) {
            double d = 0;
            for (int k = 0; k < dim; k++)
                d += (double)v[k] * v[(size_t)i * dim + k];
            printf("%.6f\n", d);
        }
    } else {
        for (int i = 0; i < n; i++) {
            putchar('[');
            for (int k = 0; k < dim; k++)
                printf(k ? ",%.7g" : "%.7g", (double)v[(size_t)i * dim + k]);
            printf("]\n");
        }
    }
out:
    free(v);
    embed_state_free(s);
    embed_free(m);
    return rc;
}
