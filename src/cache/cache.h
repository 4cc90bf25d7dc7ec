/* cache.h - the semantic cache, memory backend (docs/DESIGN.md §4).
 *
 * Two tiers. Exact: the canonical-request key (keys.h) maps straight to an
 * entry. Semantic: entries are grouped by partition key (tenant, model,
 * embedding model, system prompt, tools, sampling parameters, ...), each
 * partition has its own vector store (an exact scan while small, its own HNSW
 * index from 512 entries on), so a search can never return another
 * partition's (or tenant's) entry. A semantic candidate hits only when its
 * similarity >= threshold, it has the same number of earlier turns, and each
 * earlier turn's vector is >= context_similarity_threshold similar.
 *
 * The module is pure: it is given keys, vectors and response bodies; the
 * HTTP layer decides what to look up and what to store (only clean 2xx
 * answers). All functions are thread-safe. Lookups run in parallel with each
 * other and with the vector insert of a store; a store holds the exclusive
 * lock only for its bookkeeping (no vector search inside it). */
#ifndef SEMROUTER_CACHE_H
#define SEMROUTER_CACHE_H
#include "index/hnsw.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CACHE_EVICT_FIFO = 0, CACHE_EVICT_LRU, CACHE_EVICT_LFU } cache_eviction;

typedef struct cache_options {
    int dim;                            /* embedding dimension (required) */
    const char *embedding_model_id;     /* informational; keys already include it */
    float similarity_threshold;         /* used when cache_lookup gets threshold < 0; default 0.8 */
    float context_similarity_threshold; /* default 0.9 */
    size_t max_entries;                 /* 0 = unbounded */
    size_t max_entries_per_tenant;      /* 0 = none; at it a tenant's own oldest entry goes */
    int64_t ttl_seconds;                /* 0 = entries never expire; counted from insertion */
    cache_eviction eviction;            /* applied at max_entries; default fifo */
    hnsw_params index;                  /* per-partition index parameters (dim is set from dim) */
    const char *persist_path;           /* NULL = memory only */
    int persist_sync;                   /* 1 = fdatasync every record (power-loss safe) */
    /* The log is compacted when it is larger than twice the live records and
     * at least this many bytes larger (default 64 MiB). */
    uint64_t compact_min_bytes;
    /* Clock in Unix seconds for TTLs (NULL = wall clock); tests inject time. */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
} cache_options;

/* Defaults for dimension dim: thresholds 0.8 / 0.9, unbounded, no TTL, fifo,
 * hnsw_params_default, memory only. */
void cache_options_default(cache_options *o, int dim);

typedef struct cache cache;

/* Opens a cache; with persist_path the file is replayed (damage skipped with
 * a warning) and the vector indexes are read from the snapshot beside it,
 * PERSIST_PATH.hnsw, for the entries it matches; the rest are inserted (a
 * missing, stale or damaged snapshot costs a rebuild, logged as a warning,
 * never a wrong result). cache_close writes the snapshot again when an index
 * changed. Returns NULL with a sentence in err (bad options, unusable file). */
cache *cache_open(const cache_options *o, char *err, size_t errlen);
void cache_close(cache *c);

/* What a lookup or store is keyed by. Keys are the 64-hex strings of
 * cache_keys (keys.h). query_vec (dim floats, unit norm) NULL = skip the
 * semantic tier (non-text turn, input longer than the embedding window, no
 * embedding). context_vecs: n_context rows of dim floats, one per earlier turn,
 * in order. context_texts / context_lens / context_roles (each n_context long,
 * NULL = not given): the earlier turns' texts and roles; a store keeps the
 * texts of the user (and tool) turns and a SHA-256 of the assistant turns
 * (cache_context_hash) for the conversation context match (select.h). */
enum { CACHE_ROLE_USER = 0, CACHE_ROLE_ASSISTANT = 1, CACHE_ROLE_OTHER = 2 };
typedef struct cache_request {
    const char *tenant; /* NULL = "" */
    const char *exact_key;
    const char *partition_key;
    const float *query_vec;
    int n_context;
    const float *context_vecs;
    const char *const *context_texts;
    const size_t *context_lens;
    const unsigned char *context_roles; /* CACHE_ROLE_* */
} cache_request;

/* SHA-256 over the assistant turns of a context, in order, each
 * length-prefixed (so turn boundaries are part of the hash). Returns 1 and
 * fills out, or 0 when there is no assistant turn or texts/roles are absent. */
int cache_context_hash(int n_context, const char *const *texts, const size_t *lens,
                       const unsigned char *roles, unsigned char out[32]);

typedef enum { CACHE_TIER_EXACT = 1, CACHE_TIER_SEMANTIC = 2 } cache_tier;

typedef struct cache_hit {
    char *body; /* malloc'd copy of the stored chat.completion (NUL-terminated); caller frees */
    size_t len;
    float similarity; /* 1.0 for exact hits */
    cache_tier tier;
    int64_t inserted_at; /* Unix seconds */
} cache_hit;

/* Looks r up: exact tier, then semantic tier. threshold < 0 = the option's
 * similarity_threshold (a per-category override is passed explicitly).
 * Returns 1 and fills hit (free hit->body) on a hit, 0 on a miss, -1 when r
 * is malformed (bad key strings; counted as a miss). Expired entries are never
 * returned. A hit refreshes the entry for lru/lfu. */
int cache_lookup(cache *c, const cache_request *r, float threshold, cache_hit *hit);

/* The candidates of r for the hit decision (select.h), as the memory backend
 * returns them (backend.h): the exact-key entry (tier exact) if live, then up
 * to k entries of r's partition and tenant with similarity >= floor, best
 * first, each copied with its stored query text and conversation. Nothing is
 * refreshed or counted: call cache_served with the outcome. Returns the number
 * of candidates (out filled; free with cache_candidates_free), or -1 when r is
 * malformed or memory ran out (out empty). */
struct cache_candidates;
int cache_search(cache *c, const cache_request *r, int k, float floor,
                 struct cache_candidates *out);
/* The outcome of a decision on cache_search's candidates: id = the served
 * candidate's id (refreshes it for lru/lfu, counts a hit of tier), NULL =
 * a miss (counted). */
void cache_served(cache *c, const char *id, cache_tier tier);

/* Stores an answer under r (the caller stores only clean 2xx answers).
 * query_text (may be NULL) is kept for export and inspection. An entry with
 * the same exact key is replaced. With persistence the record is written to
 * the file before return. At max_entries the policy's victim is evicted (and
 * removed from its index). Returns 0, or -1 with a sentence in err (bad
 * arguments, file write failure: then nothing is stored). */
int cache_store(cache *c, const cache_request *r, const char *query_text,
                const char *completion_json, size_t len, char *err, size_t errlen);

/* Removes every entry of tenant (NULL = all tenants). Returns the count. */
size_t cache_clear(cache *c, const char *tenant);
/* Removes the live entry whose exact key is exact_key (64 hex, as cache_export writes it)
 * when it belongs to tenant (NULL = any tenant); with persistence a delete record is written.
 * Returns 1 when removed, 0 when tenant has no such live entry, -1 when exact_key is not 64
 * hex digits. */
int cache_delete(cache *c, const char *tenant, const char *exact_key);
/* Removes expired entries now (lookups already ignore them). Returns the count. */
size_t cache_purge_expired(cache *c);

typedef struct cache_stats {
    size_t entries, partitions;
    uint64_t hits, misses, exact_hits, semantic_hits;
    uint64_t stores, evictions, expirations;
    size_t bytes;        /* memory held: entries, bodies, texts, indexes */
    uint64_t file_bytes; /* size of the persist file (0 = memory only) */
    /* At open: vectors whose graph nodes came from the index snapshot
     * (PERSIST_PATH.hnsw, written at close) and vectors inserted anew. */
    size_t index_restored, index_inserted;
} cache_stats;
void cache_stats_get(cache *c, cache_stats *s);

/* Writes one JSON object per line for every live entry (of tenant, or all
 * when NULL): tenant, partition, exact_key, query_text, vector (base64 of
 * little-endian f32, absent when the entry has none or the vector is not
 * recoverable), context_vectors (array of the same), body (the completion as
 * a string), inserted_at, expires_at, and for a follow-up whose request
 * carried its turns conversation = {"roles":"ua","answers":"<hex SHA-256 of
 * the assistant turns>","texts":["first question",null]} (the Milvus row's
 * conversation field: what the context match of select.h reads). Returns the
 * number written, or -1 with err on a write error. */
long long cache_export(cache *c, const char *tenant, FILE *out, char *err, size_t errlen);

/* Reads JSONL as written by cache_export and stores each line (only lines of
 * tenant when not NULL). Expired lines are skipped; malformed lines are
 * skipped with a warning naming the line (also a conversation that does not
 * fit its context vectors: imported without it, the follow-up would match by
 * vectors alone). *skipped (may be NULL) receives the
 * count of skipped lines. Returns the number imported, or -1 with err. */
long long cache_import(cache *c, const char *tenant, FILE *in, long long *skipped, char *err,
                       size_t errlen);

/* Rewrites the persist file with only the live entries now. Returns 0, or -1
 * with err (the old file stays in use). No-op for a memory-only cache. */
int cache_compact(cache *c, char *err, size_t errlen);
#endif
