/* kernels.c - matmul/dot/axpy with runtime CPU dispatch (see kernels.h).
 *
 * The matmul is register-tiled: a tile of R rows of x times a strip of 32 (or
 * 16) output columns keeps its R x strip accumulators in registers for the whole
 * K loop, so each loaded row of w feeds R fused multiply-adds per lane. The
 * encoder's matrices are small (T <= 128 rows), where this beats a general
 * sgemm's packing and threading; OpenBLAS stays selectable for comparison
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
typedef void (*axpy_fn)(float *, float, const float *, int);

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
    const vec_kernels *vk; /* dot products: core/vec.h's kernels of the same ISA */
    axpy_fn axpy;
} impl;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static int set_impl(const char *name)
{
    const vec_cpu *cpu = vec_cpu_features(); /* the one CPU check (core/vec.h) */
    int has512 = cpu->avx512, has2 = cpu->avx2;
    if (!strcmp(name, "avx512") && has512) {
        impl.name = "avx512", impl.matmul = matmul_avx512, impl.vk = vec_kernels_get(VEC_ISA_AVX512),
        impl.axpy = axpy_avx512;
    } else if (!strcmp(name, "avx2") && has2) {
        impl.name = "avx2", impl.matmul = matmul_avx2, impl.vk = vec_kernels_get(VEC_ISA_AVX2),
        impl.axpy = axpy_avx2;
    } else if (!strcmp(name, "generic")) {
        impl.name = "generic", impl.matmul = matmul_generic, impl.vk = vec_kernels_get(VEC_ISA_GENERIC),
        impl.axpy = axpy_generic;
    } else if (!strcmp(name, "openblas")) {
        impl.name = "openblas", impl.matmul = matmul_openblas;
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
                   int accumulate)
{
    ensure_impl();
    impl.matmul(y, x, w, bias, T, accumulate);
}

int kernel_matrix_init(kernel_matrix *m, const float *w, int K, int N)
{
    m->w = w;
    m->K = K;
    m->N = N;
    m->packed = NULL;
    if (N % KERNEL_STRIP) return 0;
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
    m->packed = NULL;
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
