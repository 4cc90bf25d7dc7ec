/* check_config.c - `semrouter check-config -c FILE`: load and validate a config
 * file, print every problem (FILE:LINE: sentence) or "FILE: OK" with a summary;
 * `semrouter config-reference`: the reference generated from the loader's tables;
 * `semrouter reason-codes`: the reason-code table (core/reason.h). */
#include "cli/cli.h"
#include "config/config.h"
#include "core/reason.h"
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: semrouter check-config -c FILE\n\n"
                 "Loads FILE (YAML; vLLM Semantic Router's classic keys plus semrouter's),\n"
                 "prints every problem as FILE:LINE: message and exits 1, or prints\n"
                 "FILE: OK and a one-line summary and exits 0.\n");
}

int cli_check_config(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else {
            fprintf(stderr, "check-config: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    config_errors errs;
    config_errors_init(&errs);
    sr_config *c = config_load(path, &errs);
    config_errors_print(&errs, c ? stdout : stderr);
    if (!c) {
        fprintf(stderr, "%s: %zu error%s", path, errs.n_errors, errs.n_errors == 1 ? "" : "s");
        if (errs.n_warnings) fprintf(stderr, ", %zu warning%s", errs.n_warnings, errs.n_warnings == 1 ? "" : "s");
        fprintf(stderr, " - not loaded\n");
        config_errors_free(&errs);
        return 1;
    }
    printf("%s: OK", path);
    if (errs.n_warnings) printf(" with %zu warning%s (above)", errs.n_warnings, errs.n_warnings == 1 ? "" : "s");
    printf("\n");
    config_print_summary(c, stdout);
    config_errors_free(&errs);
    config_release(c);
    return 0;
}

/* A command that prints a generated markdown document and takes no arguments. */
static int print_generated(int argc, char **argv, const char *about, void (*print)(FILE *))
{
    if (argc > 1) {
        FILE *out = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ? stdout : stderr;
        fprintf(out, "usage: semrouter %s\n\n%s", argv[0], about);
        return out == stdout ? 0 : 2;
    }
    print(stdout);
    return 0;
}

int cli_config_reference(int argc, char **argv)
{
    return print_generated(argc, argv,
                           "Prints the configuration reference (markdown tables: every key, its type,\n"
                           "default, range and meaning), generated from the loader's own tables.\n",
                           config_reference_print);
}

int cli_reason_codes(int argc, char **argv)
{
    return print_generated(argc, argv,
                           "Prints every reason code a client or an operator can see (markdown table: code,\n"
                           "HTTP status, where it shows, what happened and what to do).\n",
                           reason_codes_print);
}
