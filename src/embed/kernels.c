/* kernels.c - matmul/dot/axpy with runtime CPU dispatch (see kernels.h).
 *
 * The matmul is register-tiled: a tile of R rows of x times a strip of 32 (or
 * 16) output columns keeps its R x strip accumulators in registers for the whole
 * K loop, so each loaded row of w feeds R fused multiply-adds per lane. The
 * encoder's matrices are small (T <= 128 rows), where this beats a general
 * sgemm's packing and threading; bf16 matrices (kernels.h) have their own
 * kernels per ISA: vdpbf16ps with AVX-512 BF16, widened-to-f32 FMAs with AVX2
 * and in portable C; OpenBLAS stays selectable for comparison
 * (bench/embed.sh measures both). Summation order is the same for every row
 * count, so a text's vector does not depend on how it was batched. Dot
 * products and the CPU check are core/vec.h's (one dispatcher for the tree). */
#include "embed/kernels.h"
#include "core/vec.h"
#include <cblas.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef void (*matmul_fn)(float *, const float *, const kernel_matrix *, const float *, int, int);
typedef void (*matmul_bf16_fn)(float *, const float *, uint16_t *, const kernel_matrix *,
                               const float *, int, int);
typedef void (*axpy_fn)(float *, float, const float *, int);

/* ---- bfloat16 ------------------------------------------------------------ */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

uint16_t kernel_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float kernel_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The input rows rounded to bf16 (the same integer rounding in every ISA; the
 * target versions only let the compiler vectorise it). */
#define ROUND_ROWS_BODY                                                                            \
    for (size_t i = 0; i < n; i++) {                                                               \
        uint32_t u;                                                                                \
        memcpy(&u, &x[i], sizeof u);                                                               \
        uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;                                       \
        xq[i] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40 : r);               \
    }
static void round_rows_generic(uint16_t *xq, const float *x, size_t n)
{
    ROUND_ROWS_BODY
}

/* ---- portable C ---------------------------------------------------------- */

/* Row-major w (any N): the reference loop. */
static void matmul_rowmajor(float *y, const float *x, const float *w, const float *bias, int T,
                            int K, int N, int acc)
{
    for (int t = 0; t < T; t++) {
        float *yt = y + (size_t)t * N;
        float *tmp = yt;
        for (int n = 0; n < N; n++)
            tmp[n] = (acc ? yt[n] : 0.0f) + (bias ? bias[n] : 0.0f);
        const float *xt = x + (size_t)t * K;
        for (int k = 0; k < K; k++) {
            float a = xt[k];
            const float *wk = w + (size_t)k * N;
            for (int n = 0; n < N; n++)
                yt[n] += a * wk[n];
        }
    }
}

static void matmul_generic(float *y, const float *x, const kernel_matrix *m, const float *bias,
                           int T, int acc)
{
    const int K = m->K, N = m->N, S = KERNEL_STRIP;
    if (!m->packed) {
        matmul_rowmajor(y, x, m->w, bias, T, K, N, acc);
        return;
    }
    for (int n0 = 0; n0 < N; n0 += S) {
        const float *p = m->packed + (size_t)n0 * K;
        for (int t = 0; t < T; t++) {
            float c[KERNEL_STRIP];
            for (int j = 0; j < S; j++)
                c[j] = bias ? bias[n0 + j] : 0.0f;
            const float *xt = x + (size_t)t * K;
            for (int k = 0; k < K; k++)
                for (int j = 0; j < S; j++)
                    c[j] += xt[k] * p[(size_t)k * S + j];
            float *yt = y + (size_t)t * N + n0;
            for (int j = 0; j < S; j++)
                yt[j] = acc ? yt[j] + c[j] : c[j];
        }
    }
}

static void axpy_generic(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* bf16 weights: per output column, bias then the products in k order (each
 * exact in float32), then + y. The AVX2 kernel computes exactly this. */
static void matmul_bf16_generic(float *y, const float *x, uint16_t *xq, const kernel_matrix *m,
                                const float *bias, int T, int acc)
{
    const int K = m->K, N = m->N, S = KERNEL_STRIP;
    round_rows_generic(xq, x, (size_t)T * K);
    for (int n0 = 0; n0 < N; n0 += S) {
        const uint16_t *p = m->packed_bf16 + (size_t)n0 * K;
        for (int t = 0; t < T; t++) {
            float c[KERNEL_STRIP];
            for (int j = 0; j < S; j++)
                c[j] = bias ? bias[n0 + j] : 0.0f;
            const uint16_t *xt = xq + (size_t)t * K;
            for (int k = 0; k < K; k++) {
                float a = kernel_bf16_to_f32(xt[k]);
                const uint16_t *pk = p + (size_t)(k >> 1) * 2 * S + (k & 1);
                for (int j = 0; j < S; j++)
                    c[j] += a * kernel_bf16_to_f32(pk[2 * j]);
            }
            float *yt = y + (size_t)t * N + n0;
            for (int j = 0; j < S; j++)
                yt[j] = acc ? yt[j] + c[j] : c[j];
        }
    }
}

/* ---- AVX-512 ------------------------------------------------------------- */

#define TGT512 __attribute__((target("avx512f,fma")))

/* R rows (<= 16) x one 16-column packed strip; R is a constant after inlining,
 * so c[] lives in zmm registers. All 16 rows of a short text share one pass
 * over the strip, so each weight is fetched from memory once and its 16
 * multiply-adds overlap the stream of the next weights. */
static inline __attribute__((always_inline)) TGT512 void
tile512(int R, float *y, const float *x, const float *w, const float *bias, int K, int N, int acc)
{
    __m512 c[16];
    __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        c[r] = b0;
    for (int k = 0; k < K; k++) {
        __m512 w0 = _mm512_load_ps(w + (size_t)k * KERNEL_STRIP);
#pragma GCC unroll 16
        for (int r = 0; r < R; r++)
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[(size_t)r * K + k]), w0, c[r]);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * N;
        if (acc) c[r] = _mm512_add_ps(c[r], _mm512_loadu_ps(yr));
        _mm512_storeu_ps(yr, c[r]);
    }
}

#define TILE512_CASE(r)                                                                            \
    case r:                                                                                        \
        tile512(r, yt, xt, wn, bn, K, N, acc);                                                     \
        break;

TGT512 static void matmul_avx512(float *y, const float *x, const kernel_matrix *m,
                                 const float *bias, int T, int acc)
{
    const int K = m->K, N = m->N;
    if (!m->packed) {
        matmul_rowmajor(y, x, m->w, bias, T, K, N, acc);
        return;
    }
    for (int n0 = 0; n0 < N; n0 += KERNEL_STRIP) {
        const float *bn = bias ? bias + n0 : NULL;
        const float *wn = m->packed + (size_t)n0 * K;
        for (int t0 = 0; t0 < T; t0 += 16) {
            float *yt = y + (size_t)t0 * N + n0;
            const float *xt = x + (size_t)t0 * K;
            switch (T - t0 < 16 ? T - t0 : 16) {
                TILE512_CASE(16)
                TILE512_CASE(15)
                TILE512_CASE(14)
                TILE512_CASE(13)
                TILE512_CASE(12)
                TILE512_CASE(11)
                TILE512_CASE(10)
                TILE512_CASE(9)
                TILE512_CASE(8)
                TILE512_CASE(7)
                TILE512_CASE(6)
                TILE512_CASE(5)
                TILE512_CASE(4)
                TILE512_CASE(3)
                TILE512_CASE(2)
            default:
                tile512(1, yt, xt, wn, bn, K, N, acc);
                break;
            }
        }
    }
}

TGT512 static void axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i,
                         _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* ---- AVX-512 BF16: vdpbf16ps, 32 multiply-adds per instruction ----------- */

#define TGTBF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

TGTBF16 static void round_rows_avx512(uint16_t *xq, const float *x, size_t n)
{
    ROUND_ROWS_BODY
}

/* R rows x one 16-column strip; each k pair of a row is one broadcast 32-bit
 * word, each strip pair-row one 64-byte load. */
static inline __attribute__((always_inline)) TGTBF16 void
tilebf16(int R, float *y, const uint16_t *xq, const uint16_t *w, const float *bias, int K, int N,
         int acc)
{
    __m512 c[16];
    __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        c[r] = b0;
    for (int k = 0; k < K; k += 2) {
        __m512i w0 = _mm512_load_si512((const void *)(w + (size_t)k * KERNEL_STRIP));
#pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            uint32_t pair;
            memcpy(&pair, xq + (size_t)r * K + k, sizeof pair);
            c[r] = _mm512_dpbf16_ps(c[r], (__m512bh)_mm512_set1_epi32((int)pair), (__m512bh)w0);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * N;
        if (acc) c[r] = _mm512_add_ps(c[r], _mm512_loadu_ps(yr));
        _mm512_storeu_ps(yr, c[r]);
    }
}

#define TILEBF16_CASE(r)                                                                           \
    case r:                                                                                        \
        tilebf16(r, yt, xt, wn, bn, K, N, acc);                                                    \
        break;

TGTBF16 static void matmul_bf16_avx512(float *y, const float *x, uint16_t *xq,
                                       const kernel_matrix *m, const float *bias, int T, int acc)
{
    const int K = m->K, N = m->N;
    round_rows_avx512(xq, x, (size_t)T * K);
    for (int n0 = 0; n0 < N; n0 += KERNEL_STRIP) {
        const float *bn = bias ? bias + n0 : NULL;
        const uint16_t *wn = m->packed_bf16 + (size_t)n0 * K;
        for (int t0 = 0; t0 < T; t0 += 16) {
            float *yt = y + (size_t)t0 * N + n0;
            const uint16_t *xt = xq + (size_t)t0 * K;
            switch (T - t0 < 16 ? T - t0 : 16) {
                TILEBF16_CASE(16)
                TILEBF16_CASE(15)
                TILEBF16_CASE(14)
                TILEBF16_CASE(13)
                TILEBF16_CASE(12)
                TILEBF16_CASE(11)
                TILEBF16_CASE(10)
                TILEBF16_CASE(9)
                TILEBF16_CASE(8)
                TILEBF16_CASE(7)
                TILEBF16_CASE(6)
                TILEBF16_CASE(5)
                TILEBF16_CASE(4)
                TILEBF16_CASE(3)
                TILEBF16_CASE(2)
            default:
                tilebf16(1, yt, xt, wn, bn, K, N, acc);
                break;
            }
        }
    }
}

/* ---- AVX2 + FMA ---------------------------------------------------------- */

#define TGT256 __attribute__((target("avx2,fma")))

/* R rows x 16 columns (2 ymm) of a packed strip: 12 accumulators at R = 6 fit
 * the 16 registers. */
static inline __attribute__((always_inline)) TGT256 void
tile256(int R, float *y, const float *x, const float *w, const float *bias, int K, int N, int acc)
{
    __m256 c[6][2];
    __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        c[r][0] = b0;
        c[r][1] = b1;
    }
    for (int k = 0; k < K; k++) {
        const float *wk = w + (size_t)k * KERNEL_STRIP;
        __m256 w0 = _mm256_load_ps(wk), w1 = _mm256_load_ps(wk + 8);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 xb = _mm256_broadcast_ss(x + (size_t)r * K + k);
            c[r][0] = _mm256_fmadd_ps(xb, w0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(xb, w1, c[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * N;
        if (acc) {
            c[r][0] = _mm256_add_ps(c[r][0], _mm256_loadu_ps(yr));
            c[r][1] = _mm256_add_ps(c[r][1], _mm256_loadu_ps(yr + 8));
        }
        _mm256_storeu_ps(yr, c[r][0]);
        _mm256_storeu_ps(yr + 8, c[r][1]);
    }
}

TGT256 static void matmul_avx2(float *y, const float *x, const kernel_matrix *m, const float *bias,
                               int T, int acc)
{
    const int K = m->K, N = m->N;
    if (!m->packed) {
        matmul_rowmajor(y, x, m->w, bias, T, K, N, acc);
        return;
    }
    for (int n0 = 0; n0 < N; n0 += 16) {
        const float *bn = bias ? bias + n0 : NULL;
        const float *wn = m->packed + (size_t)n0 * K;
        for (int t0 = 0; t0 < T; t0 += 6) {
            float *yt = y + (size_t)t0 * N + n0;
            const float *xt = x + (size_t)t0 * K;
            switch (T - t0 < 6 ? T - t0 : 6) {
            case 6:
                tile256(6, yt, xt, wn, bn, K, N, acc);
                break;
            case 5:
                tile256(5, yt, xt, wn, bn, K, N, acc);
                break;
            case 4:
                tile256(4, yt, xt, wn, bn, K, N, acc);
                break;
            case 3:
                tile256(3, yt, xt, wn, bn, K, N, acc);
                break;
            case 2:
                tile256(2, yt, xt, wn, bn, K, N, acc);
                break;
            default:
                tile256(1, yt, xt, wn, bn, K, N, acc);
                break;
            }
        }
    }
}

TGT256 static void axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* bf16 weights widened to float32 in registers (a bf16 is the top half of a
 * float32): the even k of a pair is the low half of each 32-bit lane, the odd
 * k the high half. Products are exact, the FMAs run in k order: the same bits
 * as matmul_bf16_generic. R <= 4 rows: 8 accumulators + 4 weight vectors. */
static inline __attribute__((always_inline)) TGT256 void
tilebf16_256(int R, float *y, const uint16_t *xq, const uint16_t *w, const float *bias, int K,
             int N, int acc)
{
    __m256 c[4][2];
    __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        c[r][0] = b0;
        c[r][1] = b1;
    }
    for (int k = 0; k < K; k += 2) {
        const uint16_t *wk = w + (size_t)k * KERNEL_STRIP;
        __m256i v0 = _mm256_load_si256((const __m256i *)wk),
                v1 = _mm256_load_si256((const __m256i *)(wk + 16));
        __m256 w0e = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)),
               w0o = _mm256_castsi256_ps(_mm256_and_si256(v0, hi)),
               w1e = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)),
               w1o = _mm256_castsi256_ps(_mm256_and_si256(v1, hi));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            uint32_t pair;
            memcpy(&pair, xq + (size_t)r * K + k, sizeof pair);
            __m256i p = _mm256_set1_epi32((int)pair);
            __m256 xe = _mm256_castsi256_ps(_mm256_slli_epi32(p, 16)),
                   xo = _mm256_castsi256_ps(_mm256_and_si256(p, hi));
            c[r][0] = _mm256_fmadd_ps(xe, w0e, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(xe, w1e, c[r][1]);
            c[r][0] = _mm256_fmadd_ps(xo, w0o, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(xo, w1o, c[r][1]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * N;
        if (acc) {
            c[r][0] = _mm256_add_ps(c[r][0], _mm256_loadu_ps(yr));
            c[r][1] = _mm256_add_ps(c[r][1], _mm256_loadu_ps(yr + 8));
        }
        _mm256_storeu_ps(yr, c[r][0]);
        _mm256_storeu_ps(yr + 8, c[r][1]);
    }
}

TGT256 static void round_rows_avx2(uint16_t *xq, const float *x, size_t n)
{
    ROUND_ROWS_BODY
}

TGT256 static void matmul_bf16_avx2(float *y, const float *x, uint16_t *xq, const kernel_matrix *m,
                                    const float *bias, int T, int acc)
{
    const int K = m->K, N = m->N;
    round_rows_avx2(xq, x, (size_t)T * K);
    for (int n0 = 0; n0 < N; n0 += 16) {
        const float *bn = bias ? bias + n0 : NULL;
        const uint16_t *wn = m->packed_bf16 + (size_t)n0 * K;
        for (int t0 = 0; t0 < T; t0 += 4) {
            float *yt = y + (size_t)t0 * N + n0;
            const uint16_t *xt = xq + (size_t)t0 * K;
            switch (T - t0 < 4 ? T - t0 : 4) {
            case 4:
                tilebf16_256(4, yt, xt, wn, bn, K, N, acc);
                break;
            case 3:
                tilebf16_256(3, yt, xt, wn, bn, K, N, acc);
                break;
            case 2:
                tilebf16_256(2, yt, xt, wn, bn, K, N, acc);
                break;
            default:
                tilebf16_256(1, yt, xt, wn, bn, K, N, acc);
                break;
            }
        }
    }
}

/* ---- OpenBLAS (for comparison; single-threaded calls from each worker) ---- */

static void matmul_openblas(float *y, const float *x, const kernel_matrix *m, const float *bias,
                            int T, int acc)
{
    const int K = m->K, N = m->N;
    const float *w = m->w;
    if (bias) {
        for (int t = 0; t < T; t++) {
            float *yt = y + (size_t)t * N;
            if (acc)
                for (int n = 0; n < N; n++)
                    yt[n] += bias[n];
            else
                memcpy(yt, bias, (size_t)N * sizeof *yt);
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, N, K, 1.0f, x, K, w, N,
                (bias || acc) ? 1.0f : 0.0f, y, N);
}

/* ---- dispatch ------------------------------------------------------------ */

static struct {
    const char *name;
    matmul_fn matmul;
    matmul_bf16_fn matmul_bf16;
    const vec_kernels *vk; /* dot products: core/vec.h's kernels of the same ISA */
    axpy_fn axpy;
} impl;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static int set_impl(const char *name)
{
    const vec_cpu *cpu = vec_cpu_features(); /* the one CPU check (core/vec.h) */
    int has512 = cpu->avx512, has2 = cpu->avx2;
    matmul_bf16_fn best_bf16 = has512 && cpu->avx512_bf16 ? matmul_bf16_avx512
                               : has2                     ? matmul_bf16_avx2
                                                          : matmul_bf16_generic;
    if (!strcmp(name, "avx512") && has512) {
        impl.matmul_bf16 = best_bf16;
        impl.name = "avx512", impl.matmul = matmul_avx512, impl.vk = vec_kernels_get(VEC_ISA_AVX512),
        impl.axpy = axpy_avx512;
    } else if (!strcmp(name, "avx2") && has2) {
        impl.name = "avx2", impl.matmul = matmul_avx2, impl.vk = vec_kernels_get(VEC_ISA_AVX2),
        impl.axpy = axpy_avx2;
        impl.matmul_bf16 = matmul_bf16_avx2;
    } else if (!strcmp(name, "generic")) {
        impl.name = "generic", impl.matmul = matmul_generic, impl.vk = vec_kernels_get(VEC_ISA_GENERIC),
        impl.axpy = axpy_generic;
        impl.matmul_bf16 = matmul_bf16_generic;
    } else if (!strcmp(name, "openblas")) {
        impl.name = "openblas", impl.matmul = matmul_openblas;
        impl.matmul_bf16 = best_bf16;
        impl.vk = vec_kernels_best();
        impl.axpy = has512 ? axpy_avx512 : has2 ? axpy_avx2 : axpy_generic;
    } else {
        return -1;
    }
    return 0;
}

static void choose_impl(void)
{
    if (set_impl("avx512") && set_impl("avx2")) set_impl("generic");
}

static inline void ensure_impl(void)
{
    pthread_once(&impl_once, choose_impl);
}

int kernel_select(const char *name)
{
    ensure_impl();
    return set_impl(name);
}

const char *kernel_name(void)
{
    ensure_impl();
    return impl.name;
}

void kernel_matmul(float *y, const float *x, const kernel_matrix *w, const float *bias, int T,
                   int accumulate, uint16_t *xq)
{
    ensure_impl();
    if (w->packed_bf16)
        impl.matmul_bf16(y, x, xq, w, bias, T, accumulate);
    else
        impl.matmul(y, x, w, bias, T, accumulate);
}

int kernel_matrix_init(kernel_matrix *m, const float *w, int K, int N)
{
    return kernel_matrix_init_prec(m, w, K, N, KERNEL_F32);
}

kernel_precision kernel_matrix_precision(const kernel_matrix *m)
{
    return m->packed_bf16 ? KERNEL_BF16 : KERNEL_F32;
}

int kernel_matrix_init_prec(kernel_matrix *m, const float *w, int K, int N, kernel_precision p)
{
    m->w = w;
    m->K = K;
    m->N = N;
    m->packed = NULL;
    m->packed_bf16 = NULL;
    if (N % KERNEL_STRIP) return 0;
    if (p == KERNEL_BF16 && K % 2 == 0) {
        const int S = KERNEL_STRIP;
        m->packed_bf16 = aligned_alloc(64, (size_t)K * N * sizeof(uint16_t));
        if (!m->packed_bf16) return -1;
        for (int n0 = 0; n0 < N; n0 += S)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < S; j++)
                    m->packed_bf16[(size_t)n0 * K + (size_t)(k >> 1) * 2 * S + 2 * j + (k & 1)] =
                        kernel_f32_to_bf16(w[(size_t)k * N + n0 + j]);
        return 0;
    }
    m->packed = aligned_alloc(64, (size_t)K * N * sizeof(float));
    if (!m->packed) return -1;
    for (int n0 = 0; n0 < N; n0 += KERNEL_STRIP)
        for (int k = 0; k < K; k++)
            memcpy(m->packed + (size_t)n0 * K + (size_t)k * KERNEL_STRIP, w + (size_t)k * N + n0,
                   KERNEL_STRIP * sizeof(float));
    return 0;
}

void kernel_matrix_free(kernel_matrix *m)
{
    free(m->packed);
    free(m->packed_bf16);
    m->packed = NULL;
    m->packed_bf16 = NULL;
}

float kernel_dot(const float *a, const float *b, int n)
{
    ensure_impl();
    return impl.vk->dot_f32(a, b, (size_t)n);
}

void kernel_axpy(float *y, float a, const float *x, int n)
{
    ensure_impl();
    impl.axpy(y, a, x, n);
}
