/* kernels.h - the dense vector/matrix kernels under the embedding models.
 *
 * One implementation is chosen at first use from the CPU (AVX-512, AVX2+FMA,
 * or portable C) and never changes afterwards, so every thread computes the
 * same bits. All matrices are row-major float32. */
#ifndef SEMROUTER_EMBED_KERNELS_H
#define SEMROUTER_EMBED_KERNELS_H

/* A weight matrix K x N: the row-major original plus, when N is a multiple of
 * KERNEL_STRIP, a copy packed strip by strip ([N/STRIP][K][STRIP], 64-byte
 * aligned) so the matmul reads it strictly sequentially. Streaming the 19 MB of
 * encoder weights with a stride of N floats per row defeats the prefetcher and
 * the TLB; packed, the same kernel runs about twice as fast. */
#define KERNEL_STRIP 16
typedef struct kernel_matrix {
    const float *w; /* [K][N], not owned */
    float *packed;  /* owned; NULL when N % KERNEL_STRIP != 0 */
    int K, N;
} kernel_matrix;
/* Fills m for w (not copied). Returns 0, or -1 when memory runs out. */
int kernel_matrix_init(kernel_matrix *m, const float *w, int K, int N);
void kernel_matrix_free(kernel_matrix *m);

/* y[T][N] = (accumulate ? y : 0) + bias[N] + x[T][K] @ w[K][N]; bias may be NULL. */
void kernel_matmul(float *y, const float *x, const kernel_matrix *w, const float *bias, int T,
                   int accumulate);
float kernel_dot(const float *a, const float *b, int n);
/* y[0..n) += a * x[0..n) */
void kernel_axpy(float *y, float a, const float *x, int n);

/* The implementation in use: "avx512", "avx2", "generic" or "openblas". */
const char *kernel_name(void);
/* Forces an implementation by name (benchmarks, tests); returns 0, or -1 when
 * the name is unknown or the CPU lacks it. Call before any embedding runs. */
int kernel_select(const char *name);
#endif
