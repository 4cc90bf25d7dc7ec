/* main.c - the semrouter command line: one table of subcommands, from which both the
 * dispatch and the usage list are made (so no command can be missing from the list). */
#include "api/gateway.h"
#include "cli/cli.h"
#include <stdio.h>
#include <string.h>

#define SEMROUTER_VERSION "0.1.0"

static int version_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("semrouter %s\n", SEMROUTER_VERSION);
    return 0;
}

typedef struct command {
    const char *name;
    const char *args;
    const char *what;
    int (*main)(int argc, char **argv); /* argv[0] is the command name */
} command;

static const command commands[] = {
    {"serve", "-c FILE", "run the router (API, /metrics, /dashboard)", gateway_serve_main},
    {"check-config", "-c FILE", "validate a config file: every problem, or a summary", cli_check_config},
    {"config-reference", "", "print every configuration key (markdown)", cli_config_reference},
    {"reason-codes", "", "print every reason code of errors and degraded features (markdown)", cli_reason_codes},
    {"cache", "stats|export|import|clear -p FILE", "maintain a cache persist file offline", cli_cache},
    {"embed", "[--sim] TEXT...", "print embeddings (or similarities) of texts", cli_embed},
    {"classify", "[-c FILE] TEXT...", "show the routing decision for texts", cli_classify},
    {"train-classifier", "--data DIR --out FILE", "train the category head", cli_train_classifier},
    {"train-verifier", "--pairs CSV --out FILE", "train/evaluate the cache hit verifier",
     cli_train_verifier},
    {"train-router", "--data DIR --out FILE", "train the difficulty head (small vs large model)",
     cli_train_router},
    {"version", "", "print the version", version_main},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "semrouter %s - OpenAI-compatible semantic router and cache\n\n"
                 "usage: semrouter <command> [options]\n\ncommands:\n",
            SEMROUTER_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        fprintf(out, "  %-40s %s\n", head, commands[i].what);
    }
    fprintf(out, "\nEvery command takes --help.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return version_main(argc - 1, argv + 1);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "semrouter: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
