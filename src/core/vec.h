/* vec.h - the one vector-math surface: dot products, f16/f32 conversion, int8
 * quantization and the CPU-feature dispatch every SIMD kernel in the tree
 * follows (the index, the cache's context vectors, the classifier and tool
 * heads, the jailbreak exemplars; the embedding matmuls in embed/kernels.c pick
 * their implementation from vec_cpu() too).
 *
 * Every kernel exists in a portable C version and, on x86-64, in AVX2+FMA+F16C
 * and AVX-512 (F/BW/VL) versions compiled with __attribute__((target)). The best
 * version the CPU supports is chosen once (vec_kernels_best); tests ask for a
 * specific one (vec_kernels_get) to compare it with the portable reference.
 * Lengths are arbitrary (tails handled); pointers need no alignment.
 * Conversions are exact IEEE: round to nearest even, subnormals kept (no
 * flush to zero), in every implementation. */
#ifndef SEMROUTER_VEC_H
#define SEMROUTER_VEC_H
#include <stddef.h>
#include <stdint.h>

typedef enum { VEC_ISA_GENERIC = 0, VEC_ISA_AVX2, VEC_ISA_AVX512, VEC_ISA_COUNT } vec_isa;

typedef struct vec_kernels {
    vec_isa isa;
    const char *name;
    /* sum a[i]*b[i] over f32 */
    float (*dot_f32)(const float *a, const float *b, size_t n);
    /* f32 query against IEEE half-precision storage */
    float (*dot_f32_f16)(const float *a, const uint16_t *b, size_t n);
    /* f32 query against int8 storage (caller multiplies by the vector's scale) */
    float (*dot_f32_i8)(const float *a, const int8_t *b, size_t n);
    /* exact integer dot of two int8 vectors */
    int32_t (*dot_i8)(const int8_t *a, const int8_t *b, size_t n);
    /* conversions, round to nearest even */
    void (*f32_to_f16)(const float *in, uint16_t *out, size_t n);
    void (*f16_to_f32)(const uint16_t *in, float *out, size_t n);
} vec_kernels;

/* What the CPU offers, detected once (thread-safe). An ISA level counts only
 * with everything its kernels use: avx2 = AVX2 + FMA + F16C; avx512 = F + BW +
 * VL on top of avx2. The extras are reported for kernels that need them. */
typedef struct vec_cpu {
    int avx2, avx512;
    int avx512_bf16, avx512_vnni;
} vec_cpu;
const vec_cpu *vec_cpu_features(void);

/* The fastest kernels this CPU runs (decided once, thread-safe). */
const vec_kernels *vec_kernels_best(void);
/* The kernels for one ISA, or NULL when the CPU (or compiler) lacks it. */
const vec_kernels *vec_kernels_get(vec_isa isa);

/* Scalar helpers (portable, exact IEEE conversions). */
uint16_t vec_f32_to_f16_one(float f);
float vec_f16_to_f32_one(uint16_t h);

/* Double-precision dots for the trainers and the few reports that print a cosine:
 * portable C, summed in index order, one accumulator, no SIMD dispatch, so a
 * result does not depend on the CPU (the library is built with no -m flags, so no
 * FMA contraction, and without -ffast-math a reduction is never reordered). vec_dot_f64: double inputs
 * (the L-BFGS vectors of the softmax trainer); vec_dot_f32_acc64: f32 inputs,
 * each product and the sum in double. */
double vec_dot_f64(const double *a, const double *b, size_t n);
double vec_dot_f32_acc64(const float *a, const float *b, size_t n);

/* Quantizes in[n] to int8 with one symmetric scale: out[i] = round(in[i] / scale),
 * scale = max|in| / 127. Returns the scale (0 for an all-zero vector). */
float vec_quantize_i8(const float *in, int8_t *out, size_t n);
#endif
