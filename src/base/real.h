/* One source, two real types. A file that includes this header is compiled
 * twice, with -DRL_REAL_F64 and without; RL_T(name) gives each copy its own
 * symbol (name_f64 or name_f32), and GEMM/AXPY pick the matching BLAS. */
#ifndef RL_REAL_H
#define RL_REAL_H

#include "base/internal.h"

#include <cblas.h>
#include <math.h>

#ifdef RL_REAL_F64
typedef double real;
#define RL_T(name) name##_f64
#define RL_DTYPE RL_F64
#define GEMM cblas_dgemm
#define RL_EXP exp
#define RL_LOG log
#define RL_TANH tanh
#define RL_SIMD
#define GEMV cblas_dgemv
#else
typedef float real;
#define RL_T(name) name##_f32
#define RL_DTYPE RL_F32
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define RL_EXP rl_expf
#define RL_LOG logf
#define RL_TANH rl_tanhf
#define RL_SIMD _Pragma("omp simd")
/* exp in float32 without a call, so that loops over a row vectorise: 2^n
 * e^r with n = round(x / ln 2), r = x - n ln 2 in two parts, e^r by Cephes'
 * expf polynomial; 2^n goes straight into the exponent bits. Relative error
 * below 2e-7 (tests/test_kernels.c checks it against libm). Below -86 it
 * returns e^-86 = 4e-38 (in place of smaller numbers and subnormals), above
 * 88.72 inf; NaN stays NaN. */
static inline float rl_expf(float x)
{
    float c = x < -86.f ? -86.f : x > 89.f ? 89.f : x;
    union { float f; uint32_t u; } t = {c * 1.44269504088896341f + 12582912.f}, p;
    float n = t.f - 12582912.f;
    /* the integer n, from the bits of 1.5 * 2^23 + n; unsigned, so that the
     * garbage a NaN makes here (thrown away below) cannot overflow */
    uint32_t e = t.u - 0x4B400000u;
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float r2 = r * r;
    p.f = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
              1.6666665459e-1f) * r + 5.0000001201e-1f) * r2 + r + 1);
    p.u += (e - 1u) << 23; /* 2^(n-1), then 2: e^x past FLT_MAX overflows to inf */
    return x != x ? x : 2 * p.f;
}
/* tanh in float32 from one exp: tanh x = 1 - 2 / (e^{2x} + 1) loses a few
 * ulps to cancellation near 0, where the series x - x^3/3 + 2x^5/15 - 17x^7/315
 * (error below 1e-12 relative for |x| < 0.05) takes over. Both are computed
 * and one is picked, so the loop stays branch-free. Relative error below 3e-6
 * everywhere; the float64 path keeps libm's tanh. (glibc's tanhf goes
 * through expm1f and took 40% of an LSTM training step.) */
static inline float rl_tanhf(float x)
{
    float a = fabsf(x), x2 = x * x;
    float s = x * (1 + x2 * (-1.f / 3 + x2 * (2.f / 15 + x2 * (-17.f / 315))));
    float t = copysignf(1 - 2 / (rl_expf(2 * a) + 1), x);
    return a < 0.05f ? s : t;
}
/* erf in float32 without a call (gelu's, in the LRU's output map; glibc's
 * erff does not vectorise): for |x| <= 1, x P(x^2) with P of degree 6; above,
 * 1 - e^{-x^2} Q(1/x) with Q of degree 9, |x| clamped at 4 (where erf rounds
 * to 1 in float32). The coefficients are least-squares fits of erf(x)/x and
 * erfc(x) e^{x^2} on those ranges (made for rnnlab with numpy's polyfit on
 * 40,001 and 60,001 points). Both are computed and one is picked, so the loop
 * stays branch-free. Error below 2e-7 absolute and relative against libm's erf
 * (tests/test_kernels.c); NaN stays NaN, erf(+-inf) = +-1. */
static inline float rl_erff(float x)
{
    float a = fabsf(x), s = x * x, c = a < 4.f ? (a > 1.f ? a : 1.f) : 4.f, u = 1 / c;
    float p = ((((((8.006950222e-05f * s - 8.053771012e-04f) * s + 5.192959786e-03f) * s - 2.685607040e-02f) * s +
                 1.128363465e-01f) * s - 3.761262977e-01f) * s + 1.128379166e+00f);
    float q = (((((((((3.000093781e-02f * u - 1.750990564e-01f) * u + 4.254935873e-01f) * u - 5.171717507e-01f) * u +
                    2.193241361e-01f) * u + 2.421386564e-01f) * u - 3.805256655e-01f) * u + 2.168300302e-02f) * u +
                 5.616092574e-01f) * u + 1.304872725e-04f);
    float big = copysignf(1 - rl_expf(-c * c) * q, x);
    return x != x ? x : a <= 1 ? x * p : big;
}
#endif

/* A table of functions in this copy's real type: the constant RL_T(name) of
 * type RL_T(type), declared before it is defined, since the other copy's
 * tables point at it too (a cell's row holds both copies' step functions). */
#define RL_OPS_DEFINE(type, name, ...)                                                                            \
    extern const RL_T(type) RL_T(name);                                                                          \
    const RL_T(type) RL_T(name) = {__VA_ARGS__}

/* Element i of a caller's array of type d, as a real. */
static inline real rl_get(const void *p, rl_dtype d, size_t i) { return (real)rl_load(p, d, i); }


/* C (M, N) = alpha op(A) op(B) + beta C, row-major. A large one is cut into
 * panels of rows or columns of C whose shapes depend on (M, N, K) alone, and
 * the panels are shared among rnnlab's threads. Called with OpenBLAS on one
 * thread. src/base/gemm.c */
void RL_T(rl_gemm)(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, real alpha, const real *A, int lda,
                   const real *B, int ldb, real beta, real *C, int ldc);
#endif
