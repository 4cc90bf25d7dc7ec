/* config_internal.h - what the config module's files share: the loader state,
 * the field-table walker over libyaml documents, and the line-mark table that
 * lets validation report file:line for any field after parsing.
 *
 * Not part of the public interface (config.h is). */
#ifndef SEMROUTER_CONFIG_INTERNAL_H
#define SEMROUTER_CONFIG_INTERNAL_H
#include "config/config.h"
#include <yaml.h>
#include <stdint.h>

/* Where a field or list item came from, keyed by its address inside the config
 * being built (arrays are sized once, so addresses stay stable). */
typedef struct cfg_mark {
    const void *addr;
    int line, column;
} cfg_mark;

typedef struct cfg_loader {
    config_errors *errs;
    const char *file; /* file name used in messages for the document being walked */
    yaml_document_t *doc;
    sr_config *cfg;
    cfg_mark *marks;
    size_t n_marks, cap_marks;
    /* Open-addressing index over marks[0..n_hashed), built before validation so
     * that looking a line up is O(1) even for huge files. */
    size_t *mark_hash, hash_cap, n_hashed;
    /* Limits against hostile files: aliases can make a small file expand to a
     * huge (or, with merge keys, cyclic) tree. */
    long values_walked;  /* key/value pairs and list items visited so far */
    int merge_depth;     /* nesting of <<: merges being walked */
    bool limit_reported; /* the "too large" error was given already */
    /* Legacy classic (before use_reasoning moved into model_scores): the
     * category-level use_reasoning / reasoning_effort apply to entries without
     * their own. legacy_use_reasoning is -1 when the category has none. */
    int legacy_use_reasoning;
    yaml_node_t *legacy_effort;
} cfg_loader;

#define CFG_MAX_VALUES 500000 /* a real config has a few thousand */
#define CFG_MAX_ERRORS 1000
#define CFG_MAX_MERGE_DEPTH 8

/* ---- field tables ----
 * Every YAML mapping the loader knows is one table of cfg_field rows (config_schema.c):
 * the key, its C type and place, its default, its range, whether it is required and a
 * line of documentation. Lists and name-keyed maps of structs are rows too (FT_LIST,
 * FT_MAP) whose `sub` table describes one item. From the same rows come the defaults
 * (cfg_defaults_fields), the walk (cfg_walk), the free (cfg_free_fields) and the
 * configuration reference (`semrouter config-reference`). */
typedef enum {
    FT_STR,     /* char *; null keeps default; default from def_str */
    FT_INT,     /* int; default from def */
    FT_LONG,    /* long */
    FT_SIZE,    /* size_t */
    FT_DOUBLE,  /* double; integers accepted */
    FT_BOOL,    /* bool; true/false/yes/no/on/off; default def != 0 */
    FT_STRLIST, /* sr_strlist from a sequence of scalars (a single scalar is a 1-list) */
    FT_ENUM,    /* int from names[] (case-insensitive); value = index; default def */
    FT_IGNORE,  /* classic key accepted, not acted on: a warning says so (any shape) */
    FT_SECTION, /* nested mapping walked with sub[] into base + off */
    FT_LIST,    /* sequence of mappings -> array of item_size structs at off, count at count_off */
    FT_MAP,     /* mapping NAME -> settings -> the same; NAME into the item at name_off */
    FT_OWNED,   /* not a key: a pointer owned by the struct (derived at load); with sub, a
                   struct described by sub, freed recursively */
    FT_INDEX,   /* not a key: an int derived at load (an index), default def (-1) */
} cfg_ftype;

#define CFG_MIN 1u        /* min applies (inclusive) */
#define CFG_MAX 2u        /* max applies (inclusive) */
#define CFG_MIN_EXCL 4u   /* value must be > min */
#define CFG_EMPTY_OK 8u   /* FT_ENUM: "" keeps the default (classic eviction_policy "") */
#define CFG_REQUIRED 16u  /* an item without this key is an error ("missing 'key'" + hint) */
#define CFG_NONEMPTY 32u  /* with CFG_REQUIRED on FT_STR: an empty string counts as missing */
#define CFG_OURS 64u      /* our extension (not in the classic router); for the reference */
#define CFG_NULL_ITEM 128u /* FT_MAP: "name:" with nothing under it is an item with defaults */
#define CFG_LEGACY 256u   /* an old classic key, still read */

struct cfg_field;
/* Called for each list/map item: pre before its keys are walked, post after (seen is the
 * bitmask of present keys; post may add keys it supplied before required keys are checked). */
typedef void (*cfg_item_hook)(cfg_loader *L, void *item, yaml_node_t *node, uint64_t *seen,
                              const char *path);

typedef struct cfg_field {
    const char *key;
    cfg_ftype type;
    size_t off;
    int set_off; /* offset of a bool set to true when the key is present, or -1 */
    unsigned flags;
    double min, max;
    double def;                  /* numeric, bool and enum default */
    const char *def_str;         /* FT_STR default (copied) */
    const char *const *names;    /* FT_ENUM */
    const struct cfg_field *sub; /* FT_SECTION, FT_LIST, FT_MAP: the (item) table */
    size_t item_size;            /* FT_LIST, FT_MAP */
    size_t count_off;            /* FT_LIST, FT_MAP: size_t count, relative to base */
    size_t name_off;             /* FT_MAP: char *name in the item */
    const char *what;            /* FT_LIST, FT_MAP: "a list of categories" */
    const char *item;            /* FT_LIST, FT_MAP: "a mapping (name, model_scores, ...)" */
    cfg_item_hook pre, post;     /* FT_LIST, FT_MAP */
    const char *hint;            /* CFG_REQUIRED: what the key holds, for the message */
    const char *doc;             /* one line for the configuration reference */
} cfg_field;

/* Sets every default of table t into base (recursing into sections). */
void cfg_defaults_fields(const cfg_field *t, void *base);
/* Frees everything table t owns in base (recursing into sections, lists and maps). */
void cfg_free_fields(const cfg_field *t, void *base);

/* Walks mapping node `map` against `fields` (terminated by key == NULL) into base.
 * Unknown keys, duplicate keys, wrong types and ranges are reported. Returns a
 * bitmask of the field indexes that were present (tables have < 64 entries). */
uint64_t cfg_walk(cfg_loader *L, yaml_node_t *map, const cfg_field *fields, void *base,
                  const char *path);
/* Reports a failed allocation at a node (the load then fails). */
void cfg_oom(cfg_loader *L, const yaml_node_t *at, const char *path);
/* Counts one visited value; 0 while under the limit, -1 (reported once) beyond. */
int cfg_budget(cfg_loader *L, const yaml_node_t *at);
/* Where a key that is unknown in one section does belong ("semantic_cache"),
 * or NULL when no other section (or several) has it. */
const char *cfg_key_home(const char *key);
/* Index of key in fields, for testing cfg_walk's result; -1 when absent. */
int cfg_field_index(const cfg_field *fields, const char *key);
#define CFG_SEEN(seen, fields, key) (((seen) >> cfg_field_index((fields), (key))) & 1u)

/* Node helpers. */
yaml_node_t *cfg_node(cfg_loader *L, int id);
int cfg_is_null(const yaml_node_t *n);
const char *cfg_node_kind(const yaml_node_t *n); /* "a mapping", "a list", "'text'" ... */
char *cfg_scalar_dup(const yaml_node_t *n);
/* Type-checking scalar parsers: report "PATH: expected ..., got ..." and return -1. */
int cfg_parse_str(cfg_loader *L, yaml_node_t *n, char **out, const char *path);
int cfg_parse_bool(cfg_loader *L, yaml_node_t *n, bool *out, const char *path);
int cfg_parse_strlist(cfg_loader *L, yaml_node_t *n, sr_strlist *out, const char *path);

/* Indexes the marks recorded so far (call once parsing is done). */
void cfg_marks_index(cfg_loader *L);
/* Problems at a node / a recorded address. */
void cfg_error_at(cfg_loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_warn_at(cfg_loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_mark_add(cfg_loader *L, const void *addr, const yaml_node_t *n);
/* Line of a recorded address (0 when unknown) and error/warning reported there. */
int cfg_line_of(const cfg_loader *L, const void *addr);
void cfg_error_addr(cfg_loader *L, const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_warn_addr(cfg_loader *L, const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Loads a YAML file into doc; on failure reports (syntax error with its line) and
 * returns -1. text may be given instead of reading path. */
int cfg_load_document(cfg_loader *L, const char *name, const char *text, size_t len,
                      yaml_document_t *doc);

/* config_schema.c */
void cfg_defaults(sr_config *c);
void cfg_config_destroy(sr_config *c); /* frees everything (refcount ignored) */
/* Walks the root mapping of the main file. */
void cfg_parse_root(cfg_loader *L, yaml_node_t *root);
sr_milvus_config *cfg_milvus_load(cfg_loader *L, const char *path);
void cfg_milvus_free(sr_milvus_config *m);
void cfg_strlist_free(sr_strlist *l);

/* validate.c: cross-references, derived fields, semantic checks. */
void cfg_validate(cfg_loader *L);

/* Edit distance for did-you-mean suggestions. */
int cfg_edit_distance(const char *a, const char *b);
#endif
