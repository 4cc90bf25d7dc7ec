/* fuzz_milvus.c - the Milvus REST v2 answer parser (src/cache/milvus_proto.c):
 * what a Milvus (or anything answering on its port) sends back. Byte 0 picks the
 * HTTP status (200, 401, 404, 408, 500) and how rows are read (search with COSINE,
 * IP or L2, or a query); the rest is the body. Properties: a success has code 0;
 * candidates are at most k, of the asked tenant and partition, exact first, then
 * by similarity, semantic ones >= floor, each with a body of its stated length and
 * a context of n_context x dim floats; a filter literal made of the body has no raw
 * quote, CR or LF inside. */
#include "fuzz.h"
#include "cache/milvus_proto.h"
#include "cache/select.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const int statuses[] = {200, 200, 200, 200, 401, 404, 408, 500};
    static const char *const metrics[] = {"COSINE", "IP", "L2", NULL};
    int status = statuses[data[0] & 7];
    const char *metric = metrics[(data[0] >> 3) & 3];
    int dim = 1 + ((data[0] >> 5) & 3);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    const char *exact = "x";
    const float floor = 0.25f;
    const int k = 3;

    fuzz_work_begin();
    mv_answer a;
    int rc = mv_answer_parse(status, body, len, &a);
    cache_candidates c = {0};
    int n = rc == 0 ? mv_rows_to_candidates(a.data, metric, dim, "", "p", exact, floor, k, &c) : -1;
    buf lit;
    buf_init(&lit);
    mv_filter_literal(&lit, body, len);
    fuzz_work_end("milvus answer parse + rows + literal", size, 20000, 400);

    if (rc == 0 && a.code != 0) fuzz_fail("success with code %d", a.code);
    if (rc != 0 && a.error == MV_OK) fuzz_fail("failure without an error class");
    if (status != 200 && rc == 0) fuzz_fail("HTTP %d judged a success", status);
    if (n > k) fuzz_fail("%d candidates, asked for %d", n, k);
    for (int i = 0; i < c.n; i++) {
        const cache_candidate *x = &c.v[i];
        if (!x->body || !x->id) fuzz_fail("candidate %d without body or id", i);
        if (x->tier == CACHE_TIER_SEMANTIC && x->similarity < floor) fuzz_fail("below floor: %f", x->similarity);
        if (x->tier == CACHE_TIER_EXACT && x->similarity != 1.0f) fuzz_fail("exact tier with similarity %f", x->similarity);
        if (x->n_context > 0 && !x->context_vecs) fuzz_fail("n_context %d without vectors", x->n_context);
        if (i > 0) {
            const cache_candidate *p = &c.v[i - 1];
            if (p->tier == CACHE_TIER_SEMANTIC && x->tier == CACHE_TIER_EXACT) fuzz_fail("exact after semantic");
            if (p->tier == x->tier && p->similarity < x->similarity) fuzz_fail("not sorted by similarity");
        }
    }
    for (size_t i = 1; i + 1 < lit.len; i++) {
        char ch = lit.data[i];
        if (ch == '\n' || ch == '\r' || ch == '"') fuzz_fail("raw %02x inside the filter literal", ch);
        if (ch == '\\') i++;
    }
    buf_free(&lit);
    cache_candidates_free(&c);
    mv_answer_free(&a);
    return 0;
}
