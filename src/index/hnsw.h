/* hnsw.h - approximate nearest-neighbour index (HNSW) over unit-norm float
 * vectors, inner-product similarity (= cosine for unit vectors).
 *
 * Labels are caller-chosen 64-bit ids. Deletion marks a node deleted and keeps
 * it as a routing node so the graph stays connected; its slot is reused by a
 * later insert. Searches run concurrently with each other and with inserts and
 * deletes (see hnsw.c for the locking scheme). With params.use_hnsw = 0 the
 * same interface is an exact linear scan. */
#ifndef SEMROUTER_HNSW_H
#define SEMROUTER_HNSW_H
#include <stddef.h>
#include <stdint.h>

typedef enum { HNSW_STORE_F32 = 0, HNSW_STORE_F16, HNSW_STORE_I8 } hnsw_storage;

typedef struct hnsw_params {
    int dim;
    int m;               /* links per node on upper layers (default 16); layer 0 gets 2*m */
    int ef_construction; /* default 200 */
    int ef_search;       /* default 64; a search uses max(ef_search, k) */
    int use_hnsw;        /* 0 = exact linear scan */
    hnsw_storage storage;/* reduced precision storage re-scores candidates exactly */
    size_t initial_capacity;
    uint64_t seed;
} hnsw_params;

typedef struct hnsw_result {
    uint64_t label;
    float similarity; /* inner product */
} hnsw_result;

typedef struct hnsw_index hnsw_index;

/* Fills p with the defaults above for dimension dim. */
void hnsw_params_default(hnsw_params *p, int dim);
hnsw_index *hnsw_new(const hnsw_params *p, char *err, size_t errlen);
void hnsw_free(hnsw_index *h);

/* Inserts vec[dim] under label (a label already present is replaced).
 * Returns 0, or -1 on allocation failure. */
int hnsw_insert(hnsw_index *h, uint64_t label, const float *vec);
/* Removes label; returns 0, or -1 when absent. */
int hnsw_delete(hnsw_index *h, uint64_t label);
/* Up to k nearest live labels by descending similarity; returns the count. */
int hnsw_search(hnsw_index *h, const float *query, int k, int ef, hnsw_result *out);
size_t hnsw_count(const hnsw_index *h); /* live entries */
size_t hnsw_memory_bytes(const hnsw_index *h);

/* ---- additions (implementation side) ----
 * Notes on the functions above: hnsw_search's ef <= 0 means params.ef_search;
 * it returns 0 also when scratch memory cannot be allocated. hnsw_insert
 * rejects non-finite components (-1). hnsw_memory_bytes counts the slots in
 * use, upper link lists, the label map and the per-thread search scratch.
 * Storage per slot (M = 16): vector (4, 2 or 1 bytes per dimension; int8 adds
 * a 4-byte scale) + 132 bytes of level-0 links + 17 bytes of label, level and
 * upper-list pointer; ~1.2 KB per entry at 512-d with HNSW_STORE_F16. */

/* hnsw_search restricted to labels for which accept(label, arg) returns
 * nonzero (e.g. one cache partition). Rejected nodes still route the search,
 * so a very selective filter costs more visits. accept runs concurrently from
 * searching threads and must not call into this index. */
int hnsw_search_filtered(hnsw_index *h, const float *query, int k, int ef,
                         int (*accept)(uint64_t label, void *arg), void *arg, hnsw_result *out);

/* Finishes consolidating deleted nodes now: unlinks them from the graph
 * (repairing their neighbours' links) and returns their slots for reuse. This
 * also happens incrementally inside inserts and deletes once deleted nodes
 * exceed max(64, 10% of live); call this from a maintenance thread to keep that
 * work off the request path. Safe to run concurrently with everything else. */
void hnsw_vacuum(hnsw_index *h);

typedef struct hnsw_stats {
    size_t live;           /* = hnsw_count */
    size_t deleted;        /* deleted nodes still in the graph, routing searches */
    size_t free_slots;     /* slots ready for reuse */
    size_t slots_used;     /* slots ever handed out (live + deleted + free) */
    size_t capacity;       /* slots allocated */
    size_t bytes_per_slot; /* fixed per-slot storage: vector + level-0 links + label ... */
    size_t upper_bytes;    /* upper-level link lists */
    size_t memory_bytes;   /* = hnsw_memory_bytes */
    int max_level;         /* top level of the graph, -1 when empty */
} hnsw_stats;
void hnsw_get_stats(hnsw_index *h, hnsw_stats *st);
/* ---- snapshots: the whole graph to a byte stream and back ----
 * A snapshot holds the parameters that shape the graph (dim, m, storage,
 * use_hnsw), every slot's vector, links, level and label, the free list and
 * the entry point, so loading is a copy instead of a rebuild (a 100k-entry
 * graph takes minutes to build and about a second to load). The stream
 * carries no checksum of its own: the caller frames and checks it. */
typedef int (*hnsw_write_fn)(void *ctx, const void *data, size_t n); /* 0, or -1 */
typedef int (*hnsw_read_fn)(void *ctx, void *data, size_t n);        /* 0 = all n read, else -1 */

/* Writes h to w. Deleted nodes are vacuumed first, so no insert, delete or
 * vacuum may run meanwhile (searches may). Returns 0, or -1 when w failed. */
int hnsw_save(hnsw_index *h, hnsw_write_fn w, void *ctx);

/* Label a loaded node gets from relabel (the caller's label scheme may have
 * changed since the save); HNSW_DROP loads the node as deleted: it still
 * routes searches and is vacuumed later. relabel NULL keeps the labels. */
#define HNSW_DROP UINT64_MAX
typedef uint64_t (*hnsw_relabel_fn)(void *arg, uint64_t saved_label);

/* Reads a graph written by hnsw_save. p gives dim, m, storage and use_hnsw,
 * which must equal the snapshot's (else an error naming the difference), and
 * ef_construction/ef_search, which may differ. Every id, count and level is
 * checked, so damaged bytes give an error, never a broken graph (vector
 * values cannot be checked here: the caller's checksum covers them). Returns
 * the index, or NULL with a sentence in err. */
hnsw_index *hnsw_load(const hnsw_params *p, hnsw_read_fn r, void *ctx, hnsw_relabel_fn relabel,
                      void *arg, char *err, size_t errlen);
#endif
