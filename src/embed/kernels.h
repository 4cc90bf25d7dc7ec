/* kernels.h - the dense vector/matrix kernels under the embedding models.
 *
 * One implementation is chosen at first use from the CPU (AVX-512, AVX2+FMA,
 * or portable C) and never changes afterwards, so every thread computes the
 * same bits. All matrices are row-major float32. */
#ifndef SEMROUTER_EMBED_KERNELS_H
#define SEMROUTER_EMBED_KERNELS_H
#include <stdint.h>

/* A weight matrix K x N: the row-major original plus, when N is a multiple of
 * KERNEL_STRIP, a copy packed strip by strip ([N/STRIP][K][STRIP], 64-byte
 * aligned) so the matmul reads it strictly sequentially. Streaming the 19 MB of
 * encoder weights with a stride of N floats per row defeats the prefetcher and
 * the TLB; packed, the same kernel runs about twice as fast. */
#define KERNEL_STRIP 16

/* Weight precision. KERNEL_BF16 keeps the weights as bfloat16 (half the bytes
 * streamed per call) and rounds the matmul's input rows to bfloat16 too, so
 * every product is exact in float32 and only the (float32) accumulation
 * rounds; with AVX-512 BF16 each instruction does 32 multiply-adds instead of
 * 16. The portable C and AVX2 versions give identical bits (same products,
 * same order); AVX-512 BF16's pairwise accumulation differs from them by
 * float32 rounding only. */
typedef enum { KERNEL_F32 = 0, KERNEL_BF16 } kernel_precision;

typedef struct kernel_matrix {
    const float *w;        /* [K][N], not owned */
    float *packed;         /* f32, owned; NULL when N % KERNEL_STRIP != 0 */
    uint16_t *packed_bf16; /* bf16, owned: [N/STRIP][K/2][STRIP][2] (k pairs per column) */
    int K, N;
} kernel_matrix;
/* Fills m for w (not copied). Returns 0, or -1 when memory runs out. */
int kernel_matrix_init(kernel_matrix *m, const float *w, int K, int N);
/* The same at a precision; KERNEL_BF16 needs N % KERNEL_STRIP == 0 and K even,
 * else the matrix stays float32 (kernel_matrix_precision tells). */
int kernel_matrix_init_prec(kernel_matrix *m, const float *w, int K, int N, kernel_precision p);
kernel_precision kernel_matrix_precision(const kernel_matrix *m);
void kernel_matrix_free(kernel_matrix *m);

/* y[T][N] = (accumulate ? y : 0) + bias[N] + x[T][K] @ w[K][N]; bias may be NULL.
 * For a bf16 matrix xq is scratch of at least T * K entries (the rounded rows);
 * float32 matrices ignore it (may be NULL). */
void kernel_matmul(float *y, const float *x, const kernel_matrix *w, const float *bias, int T,
                   int accumulate, uint16_t *xq);
/* float32 -> bfloat16, round to nearest even (NaN stays NaN), and back. */
uint16_t kernel_f32_to_bf16(float f);
float kernel_bf16_to_f32(uint16_t h);
float kernel_dot(const float *a, const float *b, int n);
/* y[0..n) += a * x[0..n) */
void kernel_axpy(float *y, float a, const float *x, int n);

/* The implementation in use: "avx512", "avx2", "generic" or "openblas"
 * (bf16 matrices: openblas runs the best native bf16 kernel; avx512 uses
 * AVX-512 BF16 when the CPU has it, else the AVX2 bf16 kernel). */
const char *kernel_name(void);
/* Forces an implementation by name (benchmarks, tests); returns 0, or -1 when
 * the name is unknown or the CPU lacks it. Call before any embedding runs. */
int kernel_select(const char *name);
#endif
