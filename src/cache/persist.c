/* persist.c - the cache's append-only log (see persist.h).
 *
 * Why a log of our own and not LMDB: the HNSW index lives in memory (its
 * graph is kept in a snapshot of its own, snapshot.c, checked against this
 * log), so the file only has to be read front to back once and appended to
 * afterwards. An append is one
 * write(2) of one self-checking record (~2 KB for a 512-d vector + answer);
 * LMDB would rewrite B-tree pages for every insert, needs a map size chosen in
 * advance, and would still have to be scanned in full at start. A log also
 * makes damage local: a torn or garbled record is skipped by its checksum and
 * the records after it are found again by their magic.
 *
 * Format (little-endian, x86-64 and arm64 are):
 *   file header  "SRCACHE1" u32 version=1 u32 0                      16 bytes
 *   record       u32 magic "SRC1"  u32 type  u32 payload_len  u32 crc32(type, payload)
 *                payload, zero-padded so every record is a multiple of 8 bytes
 *                (vectors inside are then 8-byte aligned when read in place)
 *   INSERT  partition[32] exact[32] i64 inserted_at i64 expires_at
 *           u32 dim u32 n_context u32 has_vec u32 tenant_len u32 query_len u32 body_len
 *           f32 vec[dim] (when has_vec)  f32 context[n_context*dim]
 *           tenant NUL  query NUL  body NUL
 *           optional: u32 "CTX1" u32 len  blob[len]   (conversation match, cache.c;
 *           records written before it existed end at the padding and read the same)
 *   DELETE  exact[32]                                  (an eviction)
 *   CLEAR   u32 all  u32 tenant_len  tenant NUL        (cache_clear)
 * Expiry needs no record: expires_at is in the INSERT record.
 *
 * Durability: every append is written with write(2) before cache_store
 * returns, so an acknowledged insert survives kill -9 (the bytes are in the
 * kernel's page cache). Power loss can lose what the kernel had not flushed
 * yet (typically the last ~30 s) unless persist_sync is on, which adds an
 * fdatasync(2) to every append. A short write (disk full) is cut back off so
 * the file never keeps a partial record.
 *
 * Compaction writes the live records into PATH.compact, fdatasyncs it and
 * renames it over PATH (then fsyncs the folder), so a crash at any point
 * leaves either the old or the new file complete. */
#include "cache/persist.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/progress.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAGIC "SRCACHE1"
#define FILE_HEADER 16
#define REC_MAGIC 0x31435253u /* "SRC1" */
#define REC_HEADER 16
#define INSERT_FIXED 104
#define CTX_MAGIC 0x31585443u /* "CTX1" */
#define MAX_PAYLOAD (1u << 30)

struct cache_log {
    int fd;
    int sync_always;
    uint64_t size;
    char *path;
    /* compaction in progress */
    int tmp_fd;
    uint64_t tmp_size;
    buf tmp_out;
    void *scratch;
    size_t scratch_cap;
};

static uint32_t crc_table[256];
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t record_crc(uint32_t type, const void *payload, size_t n)
{
    uint32_t crc = crc32_update(0, &type, 4);
    return crc32_update(crc, payload, n);
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int64_t rd64(const unsigned char *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Decodes an aligned payload into rec. Returns 0, or -1 when it is malformed. */
static int decode(uint32_t type, const unsigned char *p, uint32_t n, cache_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->type = (int)type;
    if (type == CACHE_REC_DELETE) {
        if (n < 32) return -1;
        memcpy(rec->exact, p, 32);
        return 0;
    }
    if (type == CACHE_REC_CLEAR) {
        if (n < 8) return -1;
        uint32_t tl = rd32(p + 4);
        if (tl > n - 8 - 1 || p[8 + tl] != 0) return -1;
        rec->clear_all = rd32(p) != 0;
        rec->tenant = (const char *)p + 8;
        return 0;
    }
    if (type != CACHE_REC_INSERT || n < INSERT_FIXED) return -1;
    memcpy(rec->partition, p, 32);
    memcpy(rec->exact, p + 32, 32);
    rec->inserted_at = rd64(p + 64);
    rec->expires_at = rd64(p + 72);
    uint32_t dim = rd32(p + 80), nctx = rd32(p + 84), has_vec = rd32(p + 88);
    uint32_t tl = rd32(p + 92), ql = rd32(p + 96), bl = rd32(p + 100);
    if (dim > 65536 || nctx > 65536 || has_vec > 1) return -1;
    uint64_t need = INSERT_FIXED + ((uint64_t)has_vec + nctx) * dim * 4 + (uint64_t)tl + 1 +
                    (uint64_t)ql + 1 + (uint64_t)bl + 1;
    if (need > n) return -1;
    const unsigned char *q = p + INSERT_FIXED;
    rec->dim = (int)dim;
    rec->n_context = (int)nctx;
    if (has_vec) {
        rec->vec = (const float *)(const void *)q;
        q += (size_t)dim * 4;
    }
    rec->context = nctx ? (const float *)(const void *)q : NULL;
    q += (size_t)nctx * dim * 4;
    if (q[tl] != 0) return -1;
    rec->tenant = (const char *)q;
    q += tl + 1;
    if (q[ql] != 0) return -1;
    rec->query = (const char *)q;
    q += ql + 1;
    if (q[bl] != 0) return -1;
    rec->body = (const char *)q;
    rec->body_len = bl;
    q += bl + 1;
    uint64_t at = (uint64_t)(q - p);
    if (at + 8 <= n && rd32(q) == CTX_MAGIC) {
        uint32_t cl = rd32(q + 4);
        if (cl > n - at - 8) return -1;
        rec->ctx_blob = q + 8;
        rec->ctx_blob_len = cl;
    }
    return 0;
}

/* Encodes rec (header included) into out. */
static void encode(const cache_record *rec, buf *out)
{
    size_t start = out->len;
    unsigned char h[REC_HEADER] = {0};
    buf_append(out, h, sizeof h);
    size_t pstart = out->len;
    uint32_t u;
    if (rec->type == CACHE_REC_DELETE) {
        buf_append(out, rec->exact, 32);
    } else if (rec->type == CACHE_REC_CLEAR) {
        const char *t = rec->tenant ? rec->tenant : "";
        u = rec->clear_all ? 1 : 0;
        buf_append(out, &u, 4);
        u = (uint32_t)strlen(t);
        buf_append(out, &u, 4);
        buf_append(out, t, strlen(t) + 1);
    } else {
        const char *t = rec->tenant ? rec->tenant : "", *q = rec->query ? rec->query : "";
        buf_append(out, rec->partition, 32);
        buf_append(out, rec->exact, 32);
        buf_append(out, &rec->inserted_at, 8);
        buf_append(out, &rec->expires_at, 8);
        uint32_t f[6] = {(uint32_t)rec->dim,  (uint32_t)rec->n_context, rec->vec ? 1u : 0u,
                         (uint32_t)strlen(t), (uint32_t)strlen(q),      (uint32_t)rec->body_len};
        buf_append(out, f, sizeof f);
        if (rec->vec) buf_append(out, rec->vec, (size_t)rec->dim * 4);
        if (rec->n_context) buf_append(out, rec->context, (size_t)rec->n_context * rec->dim * 4);
        buf_append(out, t, strlen(t) + 1);
        buf_append(out, q, strlen(q) + 1);
        buf_append(out, rec->body ? rec->body : "", rec->body_len);
        buf_putc(out, 0);
        if (rec->ctx_blob && rec->ctx_blob_len) {
            u = CTX_MAGIC;
            buf_append(out, &u, 4);
            u = (uint32_t)rec->ctx_blob_len;
            buf_append(out, &u, 4);
            buf_append(out, rec->ctx_blob, rec->ctx_blob_len);
        }
    }
    while ((out->len - start) % 8)
        buf_putc(out, 0);
    if (out->oom) return;
    uint32_t plen = (uint32_t)(out->len - pstart), type = (uint32_t)rec->type;
    uint32_t hdr[4] = {REC_MAGIC, type, plen, record_crc(type, out->data + pstart, plen)};
    memcpy(out->data + start, hdr, sizeof hdr);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

cache_log *cache_log_open(const char *path, int sync_always, char *err, size_t errlen)
{
    static int crc_ready;
    if (!crc_ready) { /* idempotent; a racing second init writes the same table */
        crc_init();
        crc_ready = 1;
    }
    cache_log *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->tmp_fd = -1;
    l->sync_always = sync_always;
    l->path = strdup(path);
    l->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (!l->path || l->fd < 0) {
        snprintf(err, errlen, "cannot open cache file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "cache file %s is in use by another semrouter process", path);
        goto fail;
    }
    struct stat st;
    if (fstat(l->fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat cache file %s: %s", path, strerror(errno));
        goto fail;
    }
    char hdr[FILE_HEADER];
    if (st.st_size >= FILE_HEADER) {
        if (pread(l->fd, hdr, sizeof hdr, 0) != FILE_HEADER || memcmp(hdr, FILE_MAGIC, 8)) {
            snprintf(err, errlen, "%s is not a semrouter cache file (bad header); move it away",
                     path);
            goto fail;
        }
        l->size = (uint64_t)st.st_size;
    } else {
        /* New file, or a header torn at creation: start it over. */
        memset(hdr, 0, sizeof hdr);
        memcpy(hdr, FILE_MAGIC, 8);
        hdr[8] = 1;
        if (ftruncate(l->fd, 0) < 0 || write_all(l->fd, hdr, sizeof hdr) < 0) {
            snprintf(err, errlen, "cannot write cache file %s: %s", path, strerror(errno));
            goto fail;
        }
        l->size = FILE_HEADER;
    }
    return l;
fail:
    cache_log_close(l);
    return NULL;
}

int cache_log_sync(cache_log *l)
{
    return l && l->fd >= 0 ? fdatasync(l->fd) : -1;
}

void cache_log_close(cache_log *l)
{
    if (!l) return;
    cache_log_compact_abort(l);
    if (l->fd >= 0) close(l->fd);
    free(l->path);
    free(l->scratch);
    free(l);
}

uint64_t cache_log_size(const cache_log *l)
{
    return l->size;
}
const char *cache_log_path(const cache_log *l)
{
    return l->path;
}

static int grow_scratch(void **scratch, size_t *cap, size_t need)
{
    if (*cap >= need) return 0;
    void *p = NULL;
    if (posix_memalign(&p, 64, need)) return -1;
    free(*scratch);
    *scratch = p;
    *cap = need;
    return 0;
}

/* Validates the record at base[pos..size): 0 and its decoded form, or -1. */
static int check_at(cache_log *l, const unsigned char *base, uint64_t size, uint64_t pos,
                    cache_record *rec, uint32_t *rec_size)
{
    if (size - pos < REC_HEADER) return -1;
    const unsigned char *h = base + pos;
    uint32_t magic = rd32(h), type = rd32(h + 4), plen = rd32(h + 8), crc = rd32(h + 12);
    if (magic != REC_MAGIC || type < 1 || type > 3 || plen > MAX_PAYLOAD ||
        plen > size - pos - REC_HEADER)
        return -1;
    const unsigned char *p = h + REC_HEADER;
    if (record_crc(type, p, plen) != crc) return -1;
    if ((uintptr_t)p % 8) { /* a record found after inserted garbage: realign */
        if (grow_scratch(&l->scratch, &l->scratch_cap, plen + 8)) return -1;
        memcpy(l->scratch, p, plen);
        p = l->scratch;
    }
    if (decode(type, p, plen, rec)) return -1;
    *rec_size = REC_HEADER + plen;
    return 0;
}

/* Files larger than this show their loading progress. */
#define CACHE_PROGRESS_MIN_BYTES (1u << 20)

long long cache_log_replay(cache_log *l, cache_log_fn fn, void *ctx, int *damaged, char *err,
                           size_t errlen)
{
    *damaged = 0;
    if (l->size <= FILE_HEADER) return 0;
    unsigned char *base = mmap(NULL, l->size, PROT_READ, MAP_PRIVATE, l->fd, 0);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "cannot map cache file %s: %s", l->path, strerror(errno));
        return -1;
    }
    madvise(base, l->size, MADV_SEQUENTIAL);
    uint64_t pos = FILE_HEADER, size = l->size;
    long long n = 0;
    /* a bar on a terminal, a line every few seconds in a log (core/progress.h) */
    char label[1100];
    const char *slash = strrchr(l->path, '/');
    snprintf(label, sizeof label, "cache: loading %s", slash ? slash + 1 : l->path);
    int stopped = 0;
    progress *prog = size > CACHE_PROGRESS_MIN_BYTES ? progress_new(label, size, PROGRESS_BYTES) : NULL;
    while (pos < size) {
        cache_record rec;
        uint32_t rsize;
        if (check_at(l, base, size, pos, &rec, &rsize) == 0) {
            n++;
            if (fn(ctx, &rec, pos, rsize)) {
                stopped = 1;
                break;
            }
            pos += rsize;
            progress_set(prog, pos);
            continue;
        }
        /* Damage: look for the next valid record by its magic. */
        uint64_t bad = pos, next = 0;
        static const unsigned char magic[4] = {'S', 'R', 'C', '1'};
        for (uint64_t s = pos + 1; s + REC_HEADER <= size;) {
            unsigned char *m = memmem(base + s, size - s, magic, 4);
            if (!m) break;
            uint64_t cand = (uint64_t)(m - base);
            if (check_at(l, base, size, cand, &rec, &rsize) == 0) {
                next = cand;
                break;
            }
            s = cand + 1;
        }
        if (next) {
            log_warn("cache: %s: skipped %llu corrupt bytes at offset %llu", l->path,
                     (unsigned long long)(next - bad), (unsigned long long)bad);
            *damaged = 1;
            pos = next;
            continue;
        }
        log_warn("cache: %s: truncated or corrupt tail of %llu bytes at offset %llu cut off "
                 "(an unfinished write)",
                 l->path, (unsigned long long)(size - bad), (unsigned long long)bad);
        if (ftruncate(l->fd, (off_t)bad) < 0)
            log_warn("cache: cannot truncate %s: %s", l->path, strerror(errno));
        else
            l->size = bad;
        break;
    }
    munmap(base, size);
    if (stopped) progress_abort(prog); /* the caller wanted only the first records */
    else progress_done(prog, "%lld records", n);
    return n;
}

int cache_log_append(cache_log *l, const cache_record *rec, uint64_t *offset, uint32_t *size,
                     char *err, size_t errlen)
{
    buf b;
    buf_init(&b);
    encode(rec, &b);
    if (b.oom) {
        buf_free(&b);
        snprintf(err, errlen, "out of memory while encoding a cache record");
        return -1;
    }
    if (write_all(l->fd, b.data, b.len) < 0 || (l->sync_always && fdatasync(l->fd) < 0)) {
        snprintf(err, errlen, "cannot write cache file %s: %s", l->path, strerror(errno));
        if (ftruncate(l->fd, (off_t)l->size) < 0) { /* keep no partial record */
        }
        buf_free(&b);
        return -1;
    }
    if (offset) *offset = l->size;
    if (size) *size = (uint32_t)b.len;
    l->size += b.len;
    buf_free(&b);
    return 0;
}

int cache_log_read(cache_log *l, uint64_t offset, cache_record *rec, void **scratch,
                   size_t *scratch_cap)
{
    unsigned char h[REC_HEADER];
    if (pread(l->fd, h, sizeof h, (off_t)offset) != REC_HEADER) return -1;
    uint32_t type = rd32(h + 4), plen = rd32(h + 8);
    if (rd32(h) != REC_MAGIC || type != CACHE_REC_INSERT || plen > MAX_PAYLOAD) return -1;
    if (grow_scratch(scratch, scratch_cap, (size_t)plen + 8)) return -1;
    if (pread(l->fd, *scratch, plen, (off_t)(offset + REC_HEADER)) != (ssize_t)plen) return -1;
    if (record_crc(type, *scratch, plen) != rd32(h + 12)) return -1;
    return decode(type, *scratch, plen, rec);
}

static char *compact_path(const cache_log *l)
{
    size_t n = strlen(l->path) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s.compact", l->path);
    return p;
}

int cache_log_compact_begin(cache_log *l, char *err, size_t errlen)
{
    char *tmp = compact_path(l);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->tmp_fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (l->tmp_fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    free(tmp);
    buf_init(&l->tmp_out);
    char hdr[FILE_HEADER] = {0};
    memcpy(hdr, FILE_MAGIC, 8);
    hdr[8] = 1;
    buf_append(&l->tmp_out, hdr, sizeof hdr);
    l->tmp_size = FILE_HEADER;
    return 0;
}

static int flush_tmp(cache_log *l)
{
    if (l->tmp_out.oom) return -1;
    if (write_all(l->tmp_fd, l->tmp_out.data, l->tmp_out.len) < 0) return -1;
    buf_reset(&l->tmp_out);
    return 0;
}

int cache_log_compact_copy(cache_log *l, uint64_t offset, uint32_t size, uint64_t *new_offset)
{
    if (buf_reserve(&l->tmp_out, size)) return -1;
    if (pread(l->fd, l->tmp_out.data + l->tmp_out.len, size, (off_t)offset) != (ssize_t)size)
        return -1;
    l->tmp_out.len += size;
    *new_offset = l->tmp_size;
    l->tmp_size += size;
    if (l->tmp_out.len >= (1u << 20) && flush_tmp(l)) return -1;
    return 0;
}

void cache_log_compact_abort(cache_log *l)
{
    if (l->tmp_fd < 0) return;
    close(l->tmp_fd);
    l->tmp_fd = -1;
    buf_free(&l->tmp_out);
    char *tmp = compact_path(l);
    if (tmp) unlink(tmp);
    free(tmp);
}

int cache_log_compact_commit(cache_log *l, char *err, size_t errlen)
{
    char *tmp = compact_path(l);
    if (!tmp || flush_tmp(l) || fdatasync(l->tmp_fd) < 0 ||
        flock(l->tmp_fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, l->path) < 0) {
        snprintf(err, errlen, "cache compaction of %s failed: %s", l->path, strerror(errno));
        free(tmp);
        cache_log_compact_abort(l);
        return -1;
    }
    free(tmp);
    /* The rename is durable once the folder is synced. */
    char *dir = strdup(l->path);
    if (dir) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    close(l->fd);
    /* The new file must be appended to at its end: reopen-free switch. */
    l->fd = l->tmp_fd;
    int fl = fcntl(l->fd, F_GETFL);
    if (fl >= 0) fcntl(l->fd, F_SETFL, fl | O_APPEND);
    l->size = l->tmp_size;
    l->tmp_fd = -1;
    buf_free(&l->tmp_out);
    return 0;
}
