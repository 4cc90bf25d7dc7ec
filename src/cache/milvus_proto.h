/* milvus_proto.h - the Milvus REST v2 wire format, without any I/O.
 *
 * Everything here is pure so it can be unit-tested and fuzzed: the request
 * bodies the backend sends (hand-written JSON: a 512-d vector through cJSON
 * costs ~40x the fixed-point writer, NOTES.md A9), filter string literals,
 * the answer envelope and the rows of a search or query.
 *
 * Answer rules (NOTES.md A2/A8): success iff code is 0 or 200 (early 2.4 says
 * 200); extra keys (cost, topks, message on success) are ignored; an error is
 * judged by its code, never its message; HTTP statuses other than 200 are a
 * transport class of their own (401/403 auth, 404 route missing, 408 timeout,
 * 5xx); Int64 values arrive as numbers or as strings (Accept-Type-Allow-Int64)
 * and both are accepted. */
#ifndef SEMROUTER_CACHE_MILVUS_PROTO_H
#define SEMROUTER_CACHE_MILVUS_PROTO_H
#include "cache/backend.h"
#include "core/buf.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* What went wrong with one call, for logs and the metrics' status label. */
typedef enum {
    MV_OK = 0,
    MV_ERR_CONNECT,   /* nothing reached the server */
    MV_ERR_TIMEOUT,   /* ours (connection.timeout) or the server's HTTP 408 / code 10001 */
    MV_ERR_AUTH,      /* HTTP 401/403, code 1800/1400/1401 */
    MV_ERR_ROUTE,     /* HTTP 404: the route does not exist (older server) */
    MV_ERR_HTTP,      /* another HTTP status (5xx ...) */
    MV_ERR_GARBAGE,   /* the body is not a Milvus answer */
    MV_ERR_CODE,      /* a Milvus error code (see code) */
    MV_ERR_TRANSPORT, /* reset, truncated, ... */
} mv_error;

typedef struct mv_answer {
    mv_error error;
    int http_status;
    int code;         /* Milvus code (0 on success, also when the server said 200) */
    cJSON *root;      /* parsed body (NULL when not JSON); freed by mv_answer_free */
    const cJSON *data; /* root.data (may be NULL) */
} mv_answer;

/* Judges one answer: HTTP status and body. Fills a (free with mv_answer_free)
 * and returns 0 on success, -1 otherwise (a->error says why). */
int mv_answer_parse(int http_status, const char *body, size_t len, mv_answer *a);
void mv_answer_free(mv_answer *a);

/* Short stable names: mv_error_name for the metrics' status label and log
 * lines, mv_code_name for a Milvus code ("collection_not_found", ...). */
const char *mv_error_name(mv_error e);
const char *mv_code_name(int code);
/* 1 when retrying later may succeed (service not ready, rate limits, timeouts,
 * transport): the backend is degraded, not misconfigured. */
int mv_retriable(const mv_answer *a);

/* An Int64 given as a JSON number or a numeric string. 0, or -1. */
int mv_int64(const cJSON *v, int64_t *out);

/* Appends s as a filter string literal: "..." with \\ \" \n \r \t escaped and
 * other control bytes as \u00XX (raw CR/LF are not allowed in a literal).
 * The result still has to be JSON-escaped when it goes into a body. */
void mv_filter_literal(buf *b, const char *s, size_t n);

/* Appends [v0,...] with 7 decimals (enough for unit vectors), fast. */
void mv_put_vector(buf *b, const float *v, int dim);

/* The stored answer body: kept as it is when it is valid UTF-8 and fits in
 * max_len bytes (encoding 0); otherwise zlib-compressed and base64'd (encoding
 * 1) when that fits. Returns the encoding, or -1 when even compressed it does
 * not fit (the store is skipped). */
int mv_body_encode(const char *body, size_t len, size_t max_len, buf *out);
/* Reverses mv_body_encode. Returns a malloc'd NUL-terminated body, or NULL. */
char *mv_body_decode(const char *stored, size_t n, int encoding, size_t *out_len);

/* Cuts s to at most max bytes on a UTF-8 boundary (invalid bytes end it).
 * Returns the kept length. */
size_t mv_utf8_prefix(const char *s, size_t n, size_t max);

/* Rows of a search or query answer (a->data must be an array) turned into
 * candidates, best first: similarity from "distance" by metric (COSINE and IP
 * as they are; L2 on unit vectors: 1 - d/2); rows below floor, rows that do
 * not decode (bad body encoding, context of the wrong size) and rows of
 * another tenant or partition (defence in depth: the filter already says so)
 * are dropped. The row whose id is exact_key gets tier EXACT and similarity 1
 * and comes first. When metric is NULL (a query, no distance) every row is
 * kept with similarity 1 and tier EXACT. Returns the count, -1 when the data
 * is not an array of rows. out is filled (free with cache_candidates_free). */
int mv_rows_to_candidates(const cJSON *data, const char *metric, int dim, const char *tenant,
                          const char *partition, const char *exact_key, float floor, int k,
                          cache_candidates *out);
void mv_candidate_clear(cache_candidate *c);

/* ---- bodies -------------------------------------------------------------------------- */

/* What a store writes: one row of the closed schema (milvus.h). */
typedef struct mv_row {
    const char *id;        /* exact key (64 hex) */
    const char *partition; /* partition key (64 hex) */
    const char *tenant;
    const char *embedding_model;
    const char *query_text;
    size_t query_len;
    const char *body; /* encoded (mv_body_encode) */
    size_t body_len;
    int body_encoding;
    const float *vec; /* dim floats; NULL = the exact-only sentinel (all zeros but the first) */
    int dim;
    int n_context;
    const float *context_vecs;
    /* the earlier turns' texts and roles (NULL = not given): the conversation
     * field, what cache_select's context match reads (mv_put_conversation) */
    const char *const *context_texts;
    const size_t *context_lens;
    const unsigned char *context_roles;
    int64_t created_at, expires_at;
} mv_row;

/* Field names of the closed schema; vector_field is configurable. */
#define MV_FIELDS_OUT "\"query_text\",\"response_body\",\"body_encoding\",\"context\",\"n_context\",\"conversation\",\"created_at\",\"tenant\",\"partition_hash\""

/* The conversation field of a row: "" when the request carried no texts and
 * roles, else a JSON object
 *   {"roles":"uao","answers":"<hex SHA-256 of the assistant turns>","texts":["..",null,".."]}
 * roles one letter per earlier turn (u user, a assistant, o other), answers
 * cache_context_hash (absent when there is no assistant turn), texts the user
 * and tool turns (null for assistant turns; a text is cut at a NUL byte, as
 * the memory backend does). -1 when it would not fit in max bytes. */
int mv_put_conversation(buf *b, int n_context, const char *const *texts, const size_t *lens,
                        const unsigned char *roles, size_t max);
/* Reads a conversation field back into c (context_texts, context_roles,
 * has_answer_hash, answer_hash) for c->n_context turns. "" leaves them NULL
 * (the context match then uses the vectors). 0, or -1 when it does not
 * decode or does not match n_context (the row is dropped, never misread). */
int mv_get_conversation(const char *s, cache_candidate *c);

/* Appends one row object; -1 when the context does not fit in its VarChar. */
int mv_put_row(buf *b, const mv_row *r, const char *vector_field);

/* The filter of a lookup: partition + tenant + not expired. */
void mv_lookup_filter(buf *b, const char *partition, const char *tenant, int64_t now);

/* ---- the admin op (backend.h cache_admin_op) -------------------------------------------- */

/* The rows of tenant (escaped literal; NULL = every row, written id != "" because
 * a delete needs a non-empty filter), and of exact key id when id is not NULL,
 * and live (expires_at > now) when live is 1. */
void mv_admin_filter(buf *b, const char *tenant, const char *id, int live, int64_t now);

/* The fields a listed row needs (mv_export_line) besides the vector field. */
#define MV_FIELDS_EXPORT "\"partition_hash\",\"tenant\",\"query_text\",\"response_body\",\"body_encoding\",\"context\",\"n_context\",\"conversation\",\"semantic\",\"created_at\",\"expires_at\""

/* 1 when s is 64 lower-case hex digits (an id or partition_hash as rows hold them). */
int mv_is_hex64(const char *s);

/* The n of a count(*) query's data: [{"count(*)":N}] (N a number or a numeric
 * string). 0, or -1 when the data is not that. */
int mv_count_of(const cJSON *data, long long *n);

/* Appends one query row (MV_FIELDS_EXPORT + vector_field) as a line of
 * cache_export's JSON-lines format (export.c), newline included: tenant,
 * partition, exact_key, query_text, vector (base64 f32, semantic rows only),
 * context_vectors, conversation (when stored), the decoded body, inserted_at,
 * expires_at. 0, or -1 when the row does not decode (ids not 64 hex, a vector
 * or context of the wrong size, a body that does not decode): nothing appended. */
int mv_export_line(buf *line, const cJSON *row, const char *vector_field, int dim);
#endif
