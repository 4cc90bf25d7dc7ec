/* test_vec.c - src/core/vec.c, the one vector-math surface: every ISA's
 * kernels agree with the portable ones on odd lengths, subnormals, signed
 * zeros and infinities; conversions are exact IEEE (no flush to zero); the
 * CPU check is the one the embedding kernels follow. */
#include "core/vec.h"
#include "embed/kernels.h"

#include <stdint.h>

#include "test.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static float *random_unit(int n, int d)
{
    float *v = malloc((size_t)n * d * sizeof *v);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            float x = (float)((double)(rnd() >> 11) / 9007199254740992.0 - 0.5);
            v[(size_t)i * d + j] = x;
            s += (double)x * x;
        }
        for (int j = 0; j < d; j++)
            v[(size_t)i * d + j] = (float)(v[(size_t)i * d + j] / sqrt(s));
    }
    return v;
}

/* ---- kernels ------------------------------------------------------------- */

static void test_kernels_agree(void)
{
    const vec_kernels *g = vec_kernels_get(VEC_ISA_GENERIC);
    CHECK(g != NULL, "generic kernels missing");
    CHECK(vec_kernels_best() != NULL, "no best kernels");
    float *a = random_unit(1, 1100), *b = random_unit(1, 1100);
    int8_t qa[1100], qb[1100];
    uint16_t hb[1100], hb2[1100];
    vec_quantize_i8(a, qa, 1100);
    vec_quantize_i8(b, qb, 1100);
    g->f32_to_f16(b, hb, 1100);
    int sizes[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 512, 515, 1100};
    for (int isa = 1; isa < VEC_ISA_COUNT; isa++) {
        const vec_kernels *k = vec_kernels_get((vec_isa)isa);
        if (!k) continue;
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            size_t n = (size_t)sizes[si];
            CHECK_NEAR(k->dot_f32(a, b, n), g->dot_f32(a, b, n), 1e-5);
            CHECK_NEAR(k->dot_f32_f16(a, hb, n), g->dot_f32_f16(a, hb, n), 1e-5);
            CHECK_NEAR(k->dot_f32_i8(a, qb, n), g->dot_f32_i8(a, qb, n), 1e-3);
            CHECK_EQ_INT(k->dot_i8(qa, qb, n), g->dot_i8(qa, qb, n));
        }
        k->f32_to_f16(b, hb2, 1100);
        CHECK(memcmp(hb, hb2, sizeof hb) == 0, "%s f32->f16 differs from portable", k->name);
    }
    free(a);
    free(b);
}

static void test_f16_conversion(void)
{
    /* every half round-trips exactly through f32 (NaNs stay NaN) */
    int bad = 0;
    for (uint32_t x = 0; x < 65536; x++) {
        float f = vec_f16_to_f32_one((uint16_t)x);
        uint16_t y = vec_f32_to_f16_one(f);
        if (isnan(f) ? !isnan(vec_f16_to_f32_one(y)) : y != x) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(vec_f32_to_f16_one(1.0f), 0x3c00);
    CHECK_EQ_INT(vec_f32_to_f16_one(65504.0f), 0x7bff);
    CHECK_EQ_INT(vec_f32_to_f16_one(65520.0f), 0x7c00);           /* rounds to inf */
    CHECK_EQ_INT(vec_f32_to_f16_one(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    CHECK_EQ_INT(vec_f32_to_f16_one(5.9604645e-8f), 0x0001);      /* smallest subnormal */
    const vec_kernels *k = vec_kernels_best();
    float in[19] = {0, -0.0f, 1e-8f, 3e-5f, 0.1f, -0.333f, 1000.5f, 70000, -70000};
    uint16_t h1[19], h2[19];
    k->f32_to_f16(in, h1, 19);
    for (int i = 0; i < 19; i++)
        h2[i] = vec_f32_to_f16_one(in[i]);
    CHECK(memcmp(h1, h2, sizeof h1) == 0, "%s conversion differs", k->name);
}

/* Values around and below the smallest normal half (2^-14 = 6.1e-5) keep
 * their subnormal halves in every ISA, and dots over them agree. */
static void test_subnormals_kept_everywhere(void)
{
    const vec_kernels *g = vec_kernels_get(VEC_ISA_GENERIC);
    float in[37];
    for (int i = 0; i < 37; i++) /* 6e-5 down to 3e-8, both signs, plus -0.0 */
        in[i] = (i % 2 ? -1.0f : 1.0f) * 6.0e-5f / (float)(1 << (i / 3));
    in[36] = -0.0f;
    uint16_t ref[37];
    for (int i = 0; i < 37; i++)
        ref[i] = vec_f32_to_f16_one(in[i]);
    CHECK(ref[0] != 0 && (ref[0] & 0x7c00) == 0, "6e-5 is not a subnormal half: %04x", ref[0]);
    CHECK_EQ_INT(ref[36], 0x8000);
    int subnormal = 0;
    for (int i = 0; i < 36; i++)
        subnormal += (ref[i] & 0x7fff) != 0 && (ref[i] & 0x7c00) == 0;
    CHECK(subnormal >= 30, "only %d of 36 tiny values kept as subnormal halves", subnormal);
    for (int isa = 0; isa < VEC_ISA_COUNT; isa++) {
        const vec_kernels *k = vec_kernels_get((vec_isa)isa);
        if (!k) continue;
        uint16_t h[37];
        float back[37], back1[37];
        k->f32_to_f16(in, h, 37);
        CHECK(memcmp(h, ref, sizeof h) == 0, "%s f32->f16 of subnormals differs", k->name);
        k->f16_to_f32(ref, back, 37);
        for (int i = 0; i < 37; i++)
            back1[i] = vec_f16_to_f32_one(ref[i]);
        CHECK(memcmp(back, back1, sizeof back) == 0, "%s f16->f32 of subnormals differs", k->name);
        /* every one of the 65536 halves, in bulk, as the scalar reference */
        static uint16_t all[65536];
        static float out[65536], out1[65536];
        for (uint32_t x = 0; x < 65536; x++)
            all[x] = (uint16_t)x;
        k->f16_to_f32(all, out, 65536);
        int bad = 0;
        for (uint32_t x = 0; x < 65536; x++) {
            out1[x] = vec_f16_to_f32_one((uint16_t)x);
            if (isnan(out1[x]) ? !isnan(out[x]) : memcmp(&out[x], &out1[x], 4) != 0) bad++;
        }
        CHECK(bad == 0, "%s: %d halves decode differently", k->name, bad);
        float q[37];
        for (int i = 0; i < 37; i++)
            q[i] = 1.0f + (float)i;
        for (size_t n = 1; n <= 37; n += 6) {
            CHECK_NEAR(k->dot_f32_f16(q, ref, n), g->dot_f32_f16(q, ref, n), 1e-9);
            CHECK_NEAR(k->dot_f32(q, in, n), g->dot_f32(q, in, n), 1e-9);
        }
    }
}

/* One CPU check: ISA levels nest, vec_kernels_get follows them, and the
 * embedding kernels pick the same level by default. */
static void test_one_dispatcher(void)
{
    const vec_cpu *cpu = vec_cpu_features();
    CHECK(!cpu->avx512 || cpu->avx2, "avx512 without avx2");
    CHECK(!(cpu->avx512_bf16 || cpu->avx512_vnni) || cpu->avx512, "bf16/vnni without avx512");
    CHECK((vec_kernels_get(VEC_ISA_AVX2) != NULL) == (cpu->avx2 != 0), "avx2 kernels vs cpu");
    CHECK((vec_kernels_get(VEC_ISA_AVX512) != NULL) == (cpu->avx512 != 0), "avx512 kernels vs cpu");
    const char *want = cpu->avx512 ? "avx512" : cpu->avx2 ? "avx2" : "generic";
    CHECK_STR(vec_kernels_best()->name, want);
    CHECK_STR(kernel_name(), want);
    printf("     cpu: avx2 %d avx512 %d avx512_bf16 %d avx512_vnni %d\n", cpu->avx2, cpu->avx512,
           cpu->avx512_bf16, cpu->avx512_vnni);
    /* kernel_dot follows the embedding's selected implementation, through vec's kernels */
    float *a = random_unit(1, 77), *b = random_unit(1, 77);
    CHECK_NEAR(kernel_dot(a, b, 77), vec_kernels_get(VEC_ISA_GENERIC)->dot_f32(a, b, 77), 1e-6);
    CHECK_EQ_INT(kernel_select("generic"), 0);
    CHECK(kernel_dot(a, b, 77) == vec_kernels_get(VEC_ISA_GENERIC)->dot_f32(a, b, 77),
          "generic kernel_dot is not vec's generic dot");
    kernel_select(want);
    free(a);
    free(b);
}

/* The trainers' dots: summed in index order in double, so a result is exact where
 * float would round, and order-dependent cancellation comes out as a left-to-right
 * sum gives it (a pairwise or multi-accumulator sum would not). */
static void test_double_dots(void)
{
    double a[] = {1e16, 1, -1e16, 3}, ones[] = {1, 1, 1, 1};
    CHECK(vec_dot_f64(a, ones, 4) == 3.0, "f64 dot %.17g, want 3 (1e16 + 1 rounds to 1e16)",
          vec_dot_f64(a, ones, 4));
    double late[] = {1, 3, 1e16, -1e16}; /* the same magnitudes, the small ones first */
    CHECK(vec_dot_f64(late, ones, 4) == 4.0, "f64 dot %.17g, want 4", vec_dot_f64(late, ones, 4));
    CHECK(vec_dot_f64(a, a, 0) == 0.0, "empty f64 dot is not 0");
    double x[] = {0.5, -2, 3}, y[] = {4, 0.25, -1};
    CHECK(vec_dot_f64(x, y, 3) == 0.5 * 4 + -2 * 0.25 + 3 * -1, "f64 dot of small values");
    /* 2^24 + 1 is not a float; each product and the sum are kept in double */
    float f[] = {16777216.0f, 1.0f, 0.1f}, g[] = {1.0f, 1.0f, 3.0f};
    CHECK(vec_dot_f32_acc64(f, g, 2) == 16777217.0, "acc64 dot %.17g, want 16777217",
          vec_dot_f32_acc64(f, g, 2));
    CHECK(vec_dot_f32_acc64(f, g, 3) == 16777217.0 + (double)0.1f * 3.0,
          "acc64 dot %.17g: products not taken in double", vec_dot_f32_acc64(f, g, 3));
    CHECK(vec_dot_f32_acc64(f, g, 0) == 0.0, "empty acc64 dot is not 0");
}

int main(void)
{
    RUN(test_kernels_agree);
    RUN(test_f16_conversion);
    RUN(test_subnormals_kept_everywhere);
    RUN(test_one_dispatcher);
    RUN(test_double_dots);
    TEST_MAIN_END();
}
