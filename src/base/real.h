/* One source, two real types. A file that includes this header is compiled
 * twice, with -DRL_REAL_F64 and without; RL_T(name) gives each copy its own
 * symbol (name_f64 or name_f32), and GEMM/AXPY pick the matching BLAS. */
#ifndef RL_REAL_H
#define RL_REAL_H

#include "cell.h"

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
#endif

/* Element i of a caller's array of type d, as a real. */
static inline real rl_get(const void *p, rl_dtype d, size_t i) { return (real)rl_load(p, d, i); }


/* C (M, N) = alpha op(A) op(B) + beta C, row-major. A large one is cut into
 * panels of rows or columns of C whose shapes depend on (M, N, K) alone, and
 * the panels are shared among rnnlab's threads. Called with OpenBLAS on one
 * thread. src/net.c */
void RL_T(rl_gemm)(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, real alpha, const real *A, int lda,
                   const real *B, int ldb, real beta, real *C, int ldc);
/* The input side of a layer for all TB rows: z (TB, G) = x W_ih^T + (b1 + b2),
 * b2 may be NULL. With ids (one-hot inputs) row r is column ids[r] of W_ih
 * (or zeros for -1), gathered from wt (in, G), which this fills: the same
 * numbers the GEMM gives, without multiplying by zeros. */
void RL_T(rl_in_project)(real *z, int G, const real *x, const int32_t *ids, real *wt, const real *w_ih,
                         const real *b1, const real *b2, int TB, int in);
/* dW_ih (G, in) += da^T x over TB rows; with ids, a scatter-add of da's rows
 * through wt (in, G). */
void RL_T(rl_in_grad)(real *dw_ih, const real *da, int G, const real *x, const int32_t *ids, real *wt, int TB, int in);

/* One layer through all T steps: src/loop.c, the one time loop, drives a
 * cell's step functions (src/cell.h) and owns the threads, the packed
 * step kernel and the GEMMs around the loop.
 * Forward: ly->h[0] (and c[0]) hold the initial state; x (T, B, in) is the
 *   layer's input, or ids (T, B) one-hot indices with wt (in, G*H) scratch
 *   (see rl_in_project); wp, NULL or scratch of rl_step_pack_size floats,
 *   turns on the packed step kernel. Fills h[1..T] and the caches.
 * Backward: ly->dh holds dL/dh[1..T] from above on entry and all of it
 *   (eq. 10.21, the recurrent part added) on return; adds dL/dW, dL/db and
 *   the cell's own parameters' gradient (dextra, if the cell has them) and
 *   dL/ds[0] into ly->dh0, dc0; sets dx (T, B, in) = dL/dx unless dx is NULL.
 * The time loop runs on up to rl_get_num_threads() threads; any count gives
 * the same numbers. */
typedef RL_T(rl_layer) rl_layer;
typedef RL_T(rl_cell_ops) rl_cell_ops;
#ifdef RL_REAL_F64
#define RL_OPS(d) ((d)->f64)
#else
#define RL_OPS(d) ((d)->f32)
#endif
void RL_T(rl_layer_forward)(const rl_cell_desc *d, const rl_layer *ly, const real *x, const int32_t *ids, real *wt,
                            real *wp);
void RL_T(rl_layer_backward)(const rl_cell_desc *d, const rl_layer *ly, real *dx, real *dw_ih, real *dw_hh, real *db_ih,
                             real *db_hh, real *dextra, const real *x, const int32_t *ids, real *wt, real *wp);

#endif
