/* persist.h - the cache's append-only log file (persist_path).
 *
 * Internal to src/cache: cache.c appends a record for every insert, eviction
 * and clear, and replays the file at open. The format and the durability
 * policy are described at the top of persist.c. */
#ifndef SEMROUTER_CACHE_PERSIST_H
#define SEMROUTER_CACHE_PERSIST_H
#include <stddef.h>
#include <stdint.h>

enum { CACHE_REC_INSERT = 1, CACHE_REC_DELETE = 2, CACHE_REC_CLEAR = 3 };

/* One decoded record. Pointers point into the reader's memory and stay valid
 * only during the callback (or until the next read into the same scratch). */
typedef struct cache_record {
    int type;
    uint8_t exact[32];     /* INSERT, DELETE */
    uint8_t partition[32]; /* INSERT */
    int64_t inserted_at, expires_at;
    int dim, n_context;
    const float *vec;     /* NULL = exact-tier-only entry */
    const float *context; /* n_context * dim */
    const char *tenant;   /* INSERT, CLEAR; NUL-terminated */
    const char *query;    /* NUL-terminated */
    const char *body;
    size_t body_len;
    /* INSERT, optional: the conversation-match blob of cache.c (earlier turns'
     * roles, user texts, a hash of the assistant turns); NULL = none. */
    const unsigned char *ctx_blob;
    size_t ctx_blob_len;
    int clear_all; /* CLEAR: every tenant */
} cache_record;

typedef struct cache_log cache_log;

/* Opens (creating when absent) the log at path and takes an exclusive lock
 * on it, so a second router or an offline `semrouter cache` command cannot
 * write the same file. sync_always = fdatasync after every append.
 * Returns NULL with a sentence in err. */
cache_log *cache_log_open(const char *path, int sync_always, char *err, size_t errlen);
/* fdatasync(2) of the log (a clean shutdown leaves it on disk). 0 or -1. */
int cache_log_sync(cache_log *l);
void cache_log_close(cache_log *l);

/* Calls fn for every valid record in file order with its offset and size on
 * disk. Corrupt or torn regions are skipped and reported with log_warn; a torn
 * tail is cut off so later appends follow valid data. *damaged is set when
 * bytes in the middle of the file were skipped (the caller should compact).
 * fn returning non-zero stops the replay. Returns the number of records, or
 * -1 with err on an I/O error. */
typedef int (*cache_log_fn)(void *ctx, const cache_record *rec, uint64_t offset, uint32_t size);
long long cache_log_replay(cache_log *l, cache_log_fn fn, void *ctx, int *damaged, char *err,
                           size_t errlen);

/* Appends a record; *offset and *size (may be NULL) receive its place. The bytes
 * are written with write(2) before return. Returns 0, or -1 with err. */
int cache_log_append(cache_log *l, const cache_record *rec, uint64_t *offset, uint32_t *size,
                     char *err, size_t errlen);

/* Reads back the INSERT record at offset (as returned by replay/append) into
 * *rec, using *scratch (malloc'd, grown as needed; caller frees).
 * Returns 0, or -1 when the bytes there are not a valid INSERT record. */
int cache_log_read(cache_log *l, uint64_t offset, cache_record *rec, void **scratch,
                   size_t *scratch_cap);

/* Compaction: a new file is written beside the log from the records the caller
 * copies (cache_log_copy for each live entry, in order), then atomically
 * renamed over it. begin returns 0 or -1 with err; commit returns 0 or -1
 * (the old file stays in use after any failure). */
int cache_log_compact_begin(cache_log *l, char *err, size_t errlen);
/* Copies the record at old offset into the new file; *new_offset receives its place. */
int cache_log_compact_copy(cache_log *l, uint64_t offset, uint32_t size, uint64_t *new_offset);
int cache_log_compact_commit(cache_log *l, char *err, size_t errlen);
void cache_log_compact_abort(cache_log *l);

uint64_t cache_log_size(const cache_log *l);
const char *cache_log_path(const cache_log *l);
#endif
