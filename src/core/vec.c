/* vec.c - dot-product and conversion kernels (see vec.h), and the CPU check.
 *
 * Three implementations of the same table (vec.h): portable C, AVX2+FMA+F16C
 * and AVX-512. The SIMD ones are compiled with __attribute__((target)) so the
 * library itself needs no -m flags and runs on any x86-64; the choice is made
 * once at first use from CPUID. Accumulation uses several independent
 * registers so the FMA latency is hidden (the 512-d dot is the index's inner
 * loop: ~1000 of them per search). */
#include "core/vec.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VEC_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* ---- portable ---------------------------------------------------------- */

uint16_t vec_f32_to_f16_one(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf, nan (quiet, payload kept) */
        return (uint16_t)(sign | 0x7c00u |
                          (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504 */
    if (absx < 0x38800000u) {                                   /* half subnormal or zero */
        float af;
        memcpy(&af, &absx, 4);
        return (uint16_t)(sign | (uint32_t)rintf(af * 16777216.0f)); /* units of 2^-24 */
    }
    uint32_t h = ((((absx >> 23) - 127 + 15) << 10) | ((absx & 0x7fffffu) >> 13));
    uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* nearest even; carry ok */
    return (uint16_t)(sign | h);
}

float vec_f16_to_f32_one(uint16_t h)
{
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0) {
        float f = (float)m * 5.9604644775390625e-8f; /* 2^-24 */
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (e == 31) {
        x = sign | 0x7f800000u | (m << 13);
    } else {
        x = sign | ((e - 15 + 127) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static float dot_f32_generic(const float *a, const float *b, size_t n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float dot_f32_f16_generic(const float *a, const uint16_t *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * vec_f16_to_f32_one(b[i]);
    return s;
}

static float dot_f32_i8_generic(const float *a, const int8_t *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * (float)b[i];
    return s;
}

static int32_t dot_i8_generic(const int8_t *a, const int8_t *b, size_t n)
{
    int32_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int32_t)a[i] * b[i];
    return s;
}

static void f32_to_f16_generic(const float *in, uint16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = vec_f32_to_f16_one(in[i]);
}

static void f16_to_f32_generic(const uint16_t *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = vec_f16_to_f32_one(in[i]);
}

static const vec_kernels kernels_generic = {
    VEC_ISA_GENERIC,    "generic",      dot_f32_generic,    dot_f32_f16_generic,
    dot_f32_i8_generic, dot_i8_generic, f32_to_f16_generic, f16_to_f32_generic,
};

double vec_dot_f64(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double vec_dot_f32_acc64(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

float vec_quantize_i8(const float *in, int8_t *out, size_t n)
{
    float mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmaxf(mx, fabsf(in[i]));
    if (!(mx > 0) || !isfinite(mx)) {
        memset(out, 0, n);
        return 0;
    }
    float scale = mx / 127.0f, inv = 127.0f / mx;
    for (size_t i = 0; i < n; i++) {
        long q = lrintf(in[i] * inv);
        out[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
    return scale;
}

#ifdef VEC_X86
/* ---- AVX2 + FMA + F16C --------------------------------------------------- */
#define TGT_AVX2 __attribute__((target("avx2,fma,f16c")))

TGT_AVX2 static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TGT_AVX2 static float dot_f32_avx2(const float *a, const float *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

TGT_AVX2 static float dot_f32_f16_avx2(const float *a, const uint16_t *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 b0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256 b1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + 8)));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), b0, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), b1, s1);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += a[i] * vec_f16_to_f32_one(b[i]);
    return s;
}

TGT_AVX2 static float dot_f32_i8_avx2(const float *a, const int8_t *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i q = _mm_loadu_si128((const __m128i *)(b + i));
        __m256 b0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        __m256 b1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), b0, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), b1, s1);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += a[i] * (float)b[i];
    return s;
}

TGT_AVX2 static int32_t dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n)
{
    __m256i s = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(x, y));
    }
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    int32_t r = _mm_cvtsi128_si32(t);
    for (; i < n; i++)
        r += (int32_t)a[i] * b[i];
    return r;
}

TGT_AVX2 static void f32_to_f16_avx2(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        out[i] = vec_f32_to_f16_one(in[i]);
}

TGT_AVX2 static void f16_to_f32_avx2(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++)
        out[i] = vec_f16_to_f32_one(in[i]);
}

static const vec_kernels kernels_avx2 = {
    VEC_ISA_AVX2,    "avx2",      dot_f32_avx2,    dot_f32_f16_avx2,
    dot_f32_i8_avx2, dot_i8_avx2, f32_to_f16_avx2, f16_to_f32_avx2,
};

/* ---- AVX-512 (F, BW, VL); tails use masked loads ------------------------- */
#define TGT_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

TGT_512 static float dot_f32_avx512(const float *a, const float *b, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

TGT_512 static float dot_f32_f16_avx512(const float *a, const uint16_t *b, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i + 16)));
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), b1, s1);
    }
    for (; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 bv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, b + i));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), bv, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

TGT_512 static float dot_f32_i8_avx512(const float *a, const int8_t *b, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 b0 =
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + i))));
        __m512 b1 = _mm512_cvtepi32_ps(
            _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + i + 16))));
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), b1, s1);
    }
    for (; i < n; i += 16) {
        size_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 bv = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, b + i)));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), bv, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

TGT_512 static int32_t dot_i8_avx512(const int8_t *a, const int8_t *b, size_t n)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i y0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512i x1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i + 32)));
        __m512i y1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i + 32)));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(x0, y0));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(x1, y1));
    }
    for (; i < n; i += 32) {
        size_t left = n - i;
        __mmask32 m = left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1);
        __m512i x = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
        __m512i y = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(x, y));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

TGT_512 static void f32_to_f16_avx512(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        out[i] = vec_f32_to_f16_one(in[i]);
}

TGT_512 static void f16_to_f32_avx512(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(in + i))));
    for (; i < n; i++)
        out[i] = vec_f16_to_f32_one(in[i]);
}

static const vec_kernels kernels_avx512 = {
    VEC_ISA_AVX512,    "avx512",      dot_f32_avx512,    dot_f32_f16_avx512,
    dot_f32_i8_avx512, dot_i8_avx512, f32_to_f16_avx512, f16_to_f32_avx512,
};

static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_F16C) != 0;
}
#endif /* VEC_X86 */

static int isa_supported[VEC_ISA_COUNT];
static const vec_kernels *best_kernels = &kernels_generic;
static vec_cpu cpu;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

static void detect(void)
{
    isa_supported[VEC_ISA_GENERIC] = 1;
#ifdef VEC_X86
    __builtin_cpu_init();
    cpu.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    cpu.avx512 = cpu.avx2 && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    unsigned a, b, c, d;
    if (cpu.avx512 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) cpu.avx512_vnni = (c >> 11) & 1;
    if (cpu.avx512 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) cpu.avx512_bf16 = (a >> 5) & 1;
    isa_supported[VEC_ISA_AVX2] = cpu.avx2;
    isa_supported[VEC_ISA_AVX512] = cpu.avx512;
    best_kernels = cpu.avx512 ? &kernels_avx512 : cpu.avx2 ? &kernels_avx2 : &kernels_generic;
#endif
}

const vec_cpu *vec_cpu_features(void)
{
    pthread_once(&detect_once, detect);
    return &cpu;
}

const vec_kernels *vec_kernels_best(void)
{
    pthread_once(&detect_once, detect);
    return best_kernels;
}

const vec_kernels *vec_kernels_get(vec_isa isa)
{
    pthread_once(&detect_once, detect);
    if ((int)isa < 0 || isa >= VEC_ISA_COUNT || !isa_supported[isa]) return NULL;
#ifdef VEC_X86
    if (isa == VEC_ISA_AVX2) return &kernels_avx2;
    if (isa == VEC_ISA_AVX512) return &kernels_avx512;
#endif
    return &kernels_generic;
}
