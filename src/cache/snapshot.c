/* snapshot.c - the vector-index snapshot file (see snapshot.h).
 *
 * Format (native byte order: the file is a cache of derived data for the
 * machine that wrote it, and is rebuilt from the log anywhere else):
 *   header   "SRHNSW01"  u32 version=1  u32 dim  u32 n_sections  u32 0     24 bytes
 *   section  partition[32]  u64 n_nodes  n_nodes x {u64 label, exact[32], u64 vec_hash}
 *            the graph as hnsw_save writes it
 *   trailer  u64 checksum of every byte before it  "SRHNSEND"
 * The checksum is a 4-lane multiply-rotate hash over 32-byte stripes (several
 * GB/s: a 100k-entry f32 snapshot is ~230 MB, a CRC32 byte loop would take
 * half a second of the start on it alone). It catches damage, not attacks:
 * the file sits beside the log, which anyone able to write it controls too.
 * hnsw_load checks every id and count it reads, so even bytes that pass the
 * checksum by accident cannot make a graph that reads out of bounds.
 *
 * Durability: no fsync. A snapshot torn by a power cut fails its checksum and
 * the index is rebuilt from the log (slow, loud, correct). The temporary file
 * is PATH.tmp, renamed over PATH, so a crash while writing keeps the old one. */
#include "cache/snapshot.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP_FILE_MAGIC "SRHNSW01"
#define SNAP_END_MAGIC "SRHNSEND"
#define SNAP_VERSION 1
#define NODE_BYTES 48

/* ---- checksum -------------------------------------------------------------- */

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL

typedef struct stream_hash {
    uint64_t v[4];
    unsigned char tail[32];
    size_t ntail;
    uint64_t total;
} stream_hash;

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static void hash_init(stream_hash *s)
{
    memset(s, 0, sizeof *s);
    s->v[0] = P1 + P2;
    s->v[1] = P2;
    s->v[2] = 0;
    s->v[3] = 0 - P1;
}

static inline void hash_stripe(stream_hash *s, const unsigned char *p)
{
    for (int i = 0; i < 4; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        s->v[i] = rotl64(s->v[i] + w * P2, 31) * P1;
    }
}

static void hash_update(stream_hash *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->total += n;
    if (s->ntail) {
        size_t take = 32 - s->ntail < n ? 32 - s->ntail : n;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += take;
        p += take;
        n -= take;
        if (s->ntail < 32) return;
        hash_stripe(s, s->tail);
        s->ntail = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        hash_stripe(s, p);
    memcpy(s->tail, p, n);
    s->ntail = n;
}

static uint64_t hash_final(const stream_hash *s)
{
    uint64_t h = rotl64(s->v[0], 1) + rotl64(s->v[1], 7) + rotl64(s->v[2], 12) +
                 rotl64(s->v[3], 18) + s->total;
    for (size_t i = 0; i < s->ntail; i++)
        h = rotl64(h ^ (s->tail[i] * P1), 11) * P2;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    return h;
}

uint64_t cache_snap_vec_hash(const float *v, int dim)
{
    stream_hash s;
    hash_init(&s);
    hash_update(&s, v, (size_t)dim * sizeof *v);
    return hash_final(&s);
}

/* ---- writing --------------------------------------------------------------- */

struct cache_snap_writer {
    FILE *f;
    char *path, *tmp;
    stream_hash h;
    int failed;
};

static int w_bytes(void *ctx, const void *data, size_t n)
{
    cache_snap_writer *w = ctx;
    if (w->failed || fwrite(data, 1, n, w->f) != n) {
        w->failed = 1;
        return -1;
    }
    hash_update(&w->h, data, n);
    return 0;
}

void cache_snap_write_abort(cache_snap_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w);
}

cache_snap_writer *cache_snap_write_begin(const char *path, int dim, uint32_t n_sections, char *err,
                                          size_t errlen)
{
    cache_snap_writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (w) {
        w->path = strdup(path);
        w->tmp = malloc(len + 5);
    }
    if (!w || !w->path || !w->tmp) {
        snprintf(err, errlen, "out of memory");
        cache_snap_write_abort(w);
        return NULL;
    }
    memcpy(w->tmp, path, len);
    memcpy(w->tmp + len, ".tmp", 5);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        snprintf(err, errlen, "cannot create %s: %s", w->tmp, strerror(errno));
        free(w->tmp);
        w->tmp = NULL; /* nothing to unlink */
        cache_snap_write_abort(w);
        return NULL;
    }
    setvbuf(w->f, NULL, _IOFBF, 1 << 20);
    hash_init(&w->h);
    uint32_t hdr[4] = {SNAP_VERSION, (uint32_t)dim, n_sections, 0};
    w_bytes(w, SNAP_FILE_MAGIC, 8);
    w_bytes(w, hdr, sizeof hdr);
    return w;
}

static int node_cmp(const void *a, const void *b)
{
    uint64_t x = ((const cache_snap_node *)a)->label, y = ((const cache_snap_node *)b)->label;
    return (x > y) - (x < y);
}

int cache_snap_write_section(cache_snap_writer *w, const uint8_t partition[32],
                             cache_snap_node *nodes, size_t n, hnsw_index *index)
{
    qsort(nodes, n, sizeof *nodes, node_cmp);
    uint64_t nn = n;
    w_bytes(w, partition, 32);
    w_bytes(w, &nn, 8);
    for (size_t i = 0; i < n; i++) {
        unsigned char rec[NODE_BYTES];
        memcpy(rec, &nodes[i].label, 8);
        memcpy(rec + 8, nodes[i].exact, 32);
        memcpy(rec + 40, &nodes[i].vec_hash, 8);
        w_bytes(w, rec, sizeof rec);
    }
    if (!w->failed) hnsw_save(index, w_bytes, w);
    return w->failed ? -1 : 0;
}

int cache_snap_write_commit(cache_snap_writer *w, char *err, size_t errlen)
{
    uint64_t sum = hash_final(&w->h);
    w_bytes(w, &sum, 8);
    w_bytes(w, SNAP_END_MAGIC, 8);
    int rc = w->failed ? -1 : 0, saved = errno;
    if (fclose(w->f) && !rc) {
        rc = -1;
        saved = errno;
    }
    w->f = NULL;
    if (!rc && rename(w->tmp, w->path)) {
        rc = -1;
        saved = errno;
    }
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", w->tmp, strerror(saved));
        cache_snap_write_abort(w);
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL;
    cache_snap_write_abort(w);
    return 0;
}

/* ---- reading --------------------------------------------------------------- */

struct cache_snap_reader {
    FILE *f;
    stream_hash h;
    uint32_t sections_left;
    cache_snap_node *nodes;
    size_t nodes_cap;
};

static int r_bytes(void *ctx, void *data, size_t n)
{
    cache_snap_reader *r = ctx;
    if (fread(data, 1, n, r->f) != n) return -1;
    hash_update(&r->h, data, n);
    return 0;
}

void cache_snap_read_close(cache_snap_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    free(r->nodes);
    free(r);
}

cache_snap_reader *cache_snap_read_open(const char *path, int dim, int *absent, char *err,
                                        size_t errlen)
{
    *absent = 0;
    cache_snap_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        *absent = errno == ENOENT;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        cache_snap_read_close(r);
        return NULL;
    }
    setvbuf(r->f, NULL, _IOFBF, 1 << 20);
    hash_init(&r->h);
    char magic[8];
    uint32_t hdr[4];
    if (r_bytes(r, magic, 8) || memcmp(magic, SNAP_FILE_MAGIC, 8) || r_bytes(r, hdr, sizeof hdr) ||
        hdr[0] != SNAP_VERSION) {
        snprintf(err, errlen, "%s is not a version-%d index snapshot", path, SNAP_VERSION);
        cache_snap_read_close(r);
        return NULL;
    }
    if (hdr[1] != (uint32_t)dim) {
        snprintf(err, errlen, "%s holds %u-d vectors, the cache %d-d", path, hdr[1], dim);
        cache_snap_read_close(r);
        return NULL;
    }
    r->sections_left = hdr[2];
    return r;
}

int cache_snap_read_nodes(cache_snap_reader *r, uint8_t partition[32],
                          const cache_snap_node **nodes, size_t *n, char *err, size_t errlen)
{
    if (!r->sections_left) {
        uint64_t want = hash_final(&r->h), got;
        char end[8];
        if (fread(&got, 1, 8, r->f) != 8 || fread(end, 1, 8, r->f) != 8 ||
            memcmp(end, SNAP_END_MAGIC, 8)) {
            snprintf(err, errlen, "truncated (no trailer)");
            return -1;
        }
        if (got != want) {
            snprintf(err, errlen, "checksum mismatch (damaged file)");
            return -1;
        }
        if (fgetc(r->f) != EOF) {
            snprintf(err, errlen, "bytes after the trailer");
            return -1;
        }
        return 0;
    }
    r->sections_left--;
    uint64_t nn;
    if (r_bytes(r, partition, 32) || r_bytes(r, &nn, 8)) {
        snprintf(err, errlen, "truncated section header");
        return -1;
    }
    if (nn > (1u << 31)) {
        snprintf(err, errlen, "impossible node count");
        return -1;
    }
    if (nn > r->nodes_cap) {
        cache_snap_node *p = realloc(r->nodes, nn * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->nodes = p;
        r->nodes_cap = nn;
    }
    for (uint64_t i = 0; i < nn; i++) {
        unsigned char rec[NODE_BYTES];
        if (r_bytes(r, rec, sizeof rec)) {
            snprintf(err, errlen, "truncated node table");
            return -1;
        }
        memcpy(&r->nodes[i].label, rec, 8);
        memcpy(r->nodes[i].exact, rec + 8, 32);
        memcpy(&r->nodes[i].vec_hash, rec + 40, 8);
        if (i && r->nodes[i].label <= r->nodes[i - 1].label) {
            snprintf(err, errlen, "node table out of order");
            return -1;
        }
    }
    *nodes = r->nodes;
    *n = (size_t)nn;
    return 1;
}

hnsw_index *cache_snap_read_index(cache_snap_reader *r, const hnsw_params *p,
                                  hnsw_relabel_fn relabel, void *arg, char *err, size_t errlen)
{
    return hnsw_load(p, r_bytes, r, relabel, arg, err, errlen);
}
