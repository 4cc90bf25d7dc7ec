/* tools_select.h - choosing the tools a request gets from a tool database.
 *
 * The database (config tools.tools_db_path) is a JSON array of entries
 *   {"tool": {"type": "function", "function": {name, description, parameters}},
 *    "description": "...", "category": "...", "tags": ["...", ...]}
 * Each entry is embedded once at load from its description and tags (the
 * function's own description when the entry has none). For a request whose
 * tool_choice is "auto", the query (last user turn) embedding is compared with
 * every entry (cosine), entries >= threshold are kept, best first, at most
 * top_k, and they become the request's `tools` (as vLLM Semantic Router does).
 * No match: `tools` and `tool_choice` are removed when fallback_to_empty,
 * else `tools` becomes []. */
#ifndef SEMROUTER_TOOLS_SELECT_H
#define SEMROUTER_TOOLS_SELECT_H
#include "embed/embed.h"
#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct tools_db tools_db;

/* Loads and embeds the database. NULL + err (naming the file and entry) on
 * failure. */
tools_db *tools_db_load(const char *path, const embed_model *m, char *err, size_t errlen);
/* Same from JSON text already in memory (tests, reload). */
tools_db *tools_db_parse(const char *json, const char *name, const embed_model *m, char *err,
                         size_t errlen);
void tools_db_free(tools_db *db);
int tools_db_count(const tools_db *db);
/* Name of entry i's function. */
const char *tools_db_name(const tools_db *db, int i);

/* Writes up to top_k entry indices (best first) with cosine >= threshold into
 * idx/scores (arrays of top_k). Returns how many. */
int tools_select(const tools_db *db, const float *query, int dim, int top_k, float threshold,
                 int *idx, float *scores);

/* The whole step on a request: does nothing (returns 0) unless tool_choice is
 * the string "auto". Otherwise selects and rewrites `tools` as described
 * above and returns 1 (the request changed; *n_selected, when not NULL,
 * receives the number of tools put in, 0 when none matched); -1 on out of
 * memory. */
int tools_apply(cJSON *req, const tools_db *db, const float *query, int dim, int top_k,
                float threshold, int fallback_to_empty, int *n_selected);
#endif
