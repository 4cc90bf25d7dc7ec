/* tools_select.c - tool database and similarity-based tool selection
 * (see tools_select.h). */
#include "route/tools_select.h"
#include "core/buf.h"
#include "core/util.h"
#include "core/vec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tools_db {
    int n, dim;
    cJSON **tools; /* [n] the "tool" objects, owned */
    char **names;  /* [n] function names (point into tools) */
    float *vecs;   /* [n][dim] */
};

void tools_db_free(tools_db *db)
{
    if (!db) return;
    for (int i = 0; i < db->n; i++) cJSON_Delete(db->tools[i]);
    free(db->tools);
    free(db->names);
    free(db->vecs);
    free(db);
}

int tools_db_count(const tools_db *db) { return db ? db->n : 0; }
const char *tools_db_name(const tools_db *db, int i)
{
    return db && i >= 0 && i < db->n ? db->names[i] : NULL;
}

tools_db *tools_db_parse(const char *json, const char *name, const embed_model *m, char *err,
                         size_t errlen)
{
    cJSON *root = cJSON_Parse(json);
    tools_db *db = NULL;
    embed_state *st = NULL;
    buf text;
    buf_init(&text);
    if (!root || !cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s: expected a JSON array of tool entries", name);
        goto fail;
    }
    int n = cJSON_GetArraySize(root), dim = embed_dim(m);
    db = calloc(1, sizeof *db);
    if (!db || !(db->tools = calloc((size_t)n + 1, sizeof *db->tools)) ||
        !(db->names = calloc((size_t)n + 1, sizeof *db->names)) ||
        !(db->vecs = malloc(((size_t)n + 1) * dim * sizeof(float))) ||
        !(st = embed_state_new(m))) {
        snprintf(err, errlen, "out of memory loading %s", name);
        goto fail;
    }
    db->dim = dim;
    int i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        cJSON *tool = cJSON_GetObjectItemCaseSensitive(e, "tool");
        cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
        cJSON *fname = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (!cJSON_IsObject(tool) || !cJSON_IsObject(fn) || !cJSON_IsString(fname) ||
            !fname->valuestring[0]) {
            snprintf(err, errlen, "%s: entry %d needs tool.function.name", name, i);
            goto fail;
        }
        cJSON *desc = cJSON_GetObjectItemCaseSensitive(e, "description");
        if (!cJSON_IsString(desc) || !desc->valuestring[0])
            desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
        buf_reset(&text);
        if (cJSON_IsString(desc)) buf_puts(&text, desc->valuestring);
        cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "tags"), *t;
        if (tags && !cJSON_IsArray(tags)) {
            snprintf(err, errlen, "%s: entry %d (%s): tags must be an array of strings", name, i,
                     fname->valuestring);
            goto fail;
        }
        cJSON_ArrayForEach(t, tags)
        {
            if (!cJSON_IsString(t)) continue;
            buf_puts(&text, text.len ? ", " : "");
            buf_puts(&text, t->valuestring);
        }
        if (!text.len) buf_puts(&text, fname->valuestring);
        if (text.oom) {
            snprintf(err, errlen, "out of memory loading %s", name);
            goto fail;
        }
        char eerr[256];
        if (embed_text(m, st, text.data, text.len, db->vecs + (size_t)i * dim, NULL, eerr,
                       sizeof eerr) < 0) {
            snprintf(err, errlen, "%s: entry %d (%s): %s", name, i, fname->valuestring, eerr);
            goto fail;
        }
        cJSON_DetachItemViaPointer(e, tool);
        db->tools[i] = tool;
        db->names[i] = cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring;
        db->n = ++i;
    }
    embed_state_free(st);
    cJSON_Delete(root);
    buf_free(&text);
    return db;
fail:
    embed_state_free(st);
    cJSON_Delete(root);
    buf_free(&text);
    tools_db_free(db);
    return NULL;
}

tools_db *tools_db_load(const char *path, const embed_model *m, char *err, size_t errlen)
{
    char ferr[256];
    char *json = util_read_file(path, NULL, ferr, sizeof ferr);
    if (!json) {
        snprintf(err, errlen, "tools database: %s", ferr);
        return NULL;
    }
    tools_db *db = tools_db_parse(json, path, m, err, errlen);
    free(json);
    return db;
}

int tools_select(const tools_db *db, const float *query, int dim, int top_k, float threshold,
                 int *idx, float *scores)
{
    if (!db || dim != db->dim || top_k <= 0) return 0;
    int k = 0;
    /* Insertion into a sorted top-k list: O(n·k) for n tools, k small. */
    for (int i = 0; i < db->n; i++) {
        const float *v = db->vecs + (size_t)i * dim;
        float s = vec_kernels_best()->dot_f32(v, query, (size_t)dim);
        if (s < threshold) continue;
        int pos = k < top_k ? k : top_k;
        while (pos > 0 && scores[pos - 1] < s) pos--;
        if (pos >= top_k) continue;
        int last = k < top_k ? k : top_k - 1;
        for (int j = last; j > pos; j--) idx[j] = idx[j - 1], scores[j] = scores[j - 1];
        idx[pos] = i;
        scores[pos] = s;
        if (k < top_k) k++;
    }
    return k;
}

int tools_apply(cJSON *req, const tools_db *db, const float *query, int dim, int top_k,
                float threshold, int fallback_to_empty, int *n_selected)
{
    if (n_selected) *n_selected = 0;
    cJSON *choice = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
    if (!cJSON_IsString(choice) || strcmp(choice->valuestring, "auto")) return 0;
    if (top_k <= 0) top_k = 3;
    if (top_k > 64) top_k = 64;
    int idx[64];
    float scores[64];
    int k = tools_select(db, query, dim, top_k, threshold, idx, scores);
    cJSON *arr = NULL;
    if (k > 0 || !fallback_to_empty) {
        if (!(arr = cJSON_CreateArray())) return -1;
        for (int i = 0; i < k; i++) {
            cJSON *dup = cJSON_Duplicate(db->tools[idx[i]], 1);
            if (!dup || !cJSON_AddItemToArray(arr, dup)) {
                cJSON_Delete(dup);
                cJSON_Delete(arr);
                return -1;
            }
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(req, "tools");
    if (arr) cJSON_AddItemToObject(req, "tools", arr);
    else cJSON_DeleteItemFromObjectCaseSensitive(req, "tool_choice");
    if (n_selected) *n_selected = k;
    return 1;
}
