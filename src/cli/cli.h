/* cli.h - the commands of the semrouter binary besides `serve` (src/main.c's table).
 *
 * src/cli is the outermost layer: the commands, and the training and evaluation code they
 * share with tools/ and tests/ (train.h, evaluate.h). It may use every module; no module of
 * src/ uses it, and it is built into its own archive (build/libsemrouter_cli.a) that the
 * server library (build/libsemrouter.a) does not contain, so nothing here is on the request
 * path. Each command takes argv[0] = its name and returns the process exit status
 * (0 done, 1 failed, 2 usage). */
#ifndef SEMROUTER_CLI_H
#define SEMROUTER_CLI_H

/* `semrouter check-config -c FILE` (check_config.c) */
int cli_check_config(int argc, char **argv);
/* `semrouter config-reference` (check_config.c) */
int cli_config_reference(int argc, char **argv);
/* `semrouter reason-codes` (check_config.c): the reason-code table (core/reason.h) */
int cli_reason_codes(int argc, char **argv);
/* `semrouter cache stats|export|import|clear|replay|assemble` (cache.c) */
int cli_cache(int argc, char **argv);
/* `semrouter embed [--sim] TEXT...` (embed.c) */
int cli_embed(int argc, char **argv);
/* `semrouter classify [-c FILE] TEXT...` (classify.c) */
int cli_classify(int argc, char **argv);
/* `semrouter train-classifier` (train.c) */
int cli_train_classifier(int argc, char **argv);
/* `semrouter train-verifier` (train_verifier.c) */
int cli_train_verifier(int argc, char **argv);
/* `semrouter train-router` (train_router.c) */
int cli_train_router(int argc, char **argv);
#endif
