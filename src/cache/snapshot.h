/* snapshot.h - the vector-index snapshot beside the cache log (PERSIST_PATH.hnsw).
 *
 * Internal to src/cache: cache.c writes one at close (and after a long
 * rebuild at open) and reads it at open, after the log replay, so a large
 * cache starts in seconds instead of rebuilding its HNSW graphs. The log stays
 * the only source of truth: a snapshot section is a partition's graph plus,
 * for every node, the entry it was built for (exact key and a hash of the
 * f32 vector); a node is reused only when the replayed log holds that very
 * entry, so a stale snapshot (entries stored or evicted after it was written,
 * a router killed with -9) is still used for what it matches and the rest is
 * inserted. Format and checks at the top of snapshot.c. */
#ifndef SEMROUTER_CACHE_SNAPSHOT_H
#define SEMROUTER_CACHE_SNAPSHOT_H
#include "index/hnsw.h"
#include <stddef.h>
#include <stdint.h>

/* The entry a graph node was built for. */
typedef struct cache_snap_node {
    uint64_t label;    /* the node's label when written (the cache's label then) */
    uint8_t exact[32]; /* the entry's exact key */
    uint64_t vec_hash; /* cache_snap_vec_hash of the entry's f32 vector */
} cache_snap_node;

/* Hash of a vector's bits (dim floats); equal vectors, equal hashes. */
uint64_t cache_snap_vec_hash(const float *v, int dim);

/* Writing: begin (a temporary file beside path), one section per partition
 * index, commit (checksum, atomic rename over path). Any failure leaves the
 * previous snapshot in place. nodes need not be sorted (sorted in place). */
typedef struct cache_snap_writer cache_snap_writer;
cache_snap_writer *cache_snap_write_begin(const char *path, int dim, uint32_t n_sections, char *err,
                                          size_t errlen);
int cache_snap_write_section(cache_snap_writer *w, const uint8_t partition[32],
                             cache_snap_node *nodes, size_t n, hnsw_index *index);
int cache_snap_write_commit(cache_snap_writer *w, char *err, size_t errlen); /* frees w */
void cache_snap_write_abort(cache_snap_writer *w);                            /* frees w */

/* Reading: open checks the header (NULL with err; *absent = 1 when there is no
 * file, which is not an error); then per section read_nodes and read_index,
 * in turn, until read_nodes returns 0 at the end, which also verifies the
 * checksum of the whole file: nothing read may be used before it did. */
typedef struct cache_snap_reader cache_snap_reader;
cache_snap_reader *cache_snap_read_open(const char *path, int dim, int *absent, char *err,
                                        size_t errlen);
/* 1: a section follows (partition key, its nodes sorted by label; valid until
 * the next call); 0: end of file, checksum good; -1 with err. */
int cache_snap_read_nodes(cache_snap_reader *r, uint8_t partition[32],
                          const cache_snap_node **nodes, size_t *n, char *err, size_t errlen);
/* The section's graph (hnsw_load with p, relabel, arg), or NULL with err. */
hnsw_index *cache_snap_read_index(cache_snap_reader *r, const hnsw_params *p,
                                  hnsw_relabel_fn relabel, void *arg, char *err, size_t errlen);
void cache_snap_read_close(cache_snap_reader *r);
#endif
