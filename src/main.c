/* main.c - the semrouter command line: dispatches subcommands to their modules. */
#include "cache/cache.h"
#include "config/config.h"
#include "api/gateway.h"
#include "embed/embed.h"
#include "api/classify.h"
#include "route/train.h"
#include <stdio.h>
#include <string.h>

#define SEMROUTER_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out, "semrouter %s - OpenAI-compatible semantic router and cache\n\n"
                 "usage: semrouter <command> [options]\n\n"
                 "commands:\n"
                 "  serve -c FILE          run the router\n"
                 "  check-config -c FILE   validate a config file, print every problem\n"
                 "  config-reference       print every configuration key (markdown)\n"
                 "  embed [--sim] TEXT...  print embeddings (or similarities) of texts\n"
                 "  classify TEXT...       show the routing decision for texts\n"
                 "  train-classifier       train the category head (--help)\n"
                 "  version                print the version\n\n"
                 "Every command takes --help.\n",
            SEMROUTER_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("semrouter %s\n", SEMROUTER_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "cache")) return cache_cli_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check-config")) return config_cli_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "config-reference")) return config_reference_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve")) return gateway_serve_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "embed")) return embed_cli_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "classify")) return classify_cli_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train-classifier")) return classify_train_cli_main(argc - 1, argv + 1);
    fprintf(stderr, "semrouter: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
