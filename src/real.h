/* One source, two real types. A file that includes this header is compiled
 * twice, with -DRL_REAL_F64 and without; RL_T(name) gives each copy its own
 * symbol (name_f64 or name_f32), and GEMM/AXPY pick the matching BLAS. */
#ifndef RL_REAL_H
#define RL_REAL_H

#include "internal.h"

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
static inline real rl_get(const void *p, rl_dtype d, size_t i)
{
    return d == RL_F64 ? (real)((const double *)p)[i] : (real)((const float *)p)[i];
}


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

/* The time loop takes the batch in blocks of RL_ROW_BLOCK sequences, each
 * block one GEMM per step, and hands whole blocks to threads. OpenBLAS's
 * rounding depends on the shape of a call, not only on the numbers, so the
 * shapes depend on B alone: any thread count gives the same bits. */
#define RL_ROW_BLOCK 16
static inline int rl_row_blocks(int B) { return (B + RL_ROW_BLOCK - 1) / RL_ROW_BLOCK; }
/* the sequences [b0, b1) of part `part` of `parts` */
static inline void rl_row_part(int B, int part, int parts, int *b0, int *b1)
{
    int k0, k1;
    rl_part_range(rl_row_blocks(B), part, parts, &k0, &k1);
    *b0 = k0 * RL_ROW_BLOCK;
    *b1 = k1 * RL_ROW_BLOCK < B ? k1 * RL_ROW_BLOCK : B;
}
static inline int rl_row_parts(int B)
{
    int n = rl_row_blocks(B), t = rl_get_num_threads();
    return n < t ? n : t;
}

/* One step of the recurrence for rows [0, M): C (M, N) += A (M, K) W^T with
 * W (N, K) (nt), or C += A W with W (K, N) (nn). With wp (float32 on an
 * AVX2 CPU) W has been packed by rl_pack_step_* and the packed kernel runs
 * (src/kernel.c); else one GEMM per block of rows. A whole batch of one
 * sequence (vec) goes through GEMV, which reads W in place. */
#ifdef RL_REAL_F64
#define RL_PACKED(wp) ((void)(wp), 0)
static inline void rl_pack_step_nt(real *wp, const real *W, int N, int K) { (void)wp, (void)W, (void)N, (void)K; }
static inline void rl_pack_step_nn(real *wp, const real *W, int K, int N) { (void)wp, (void)W, (void)N, (void)K; }
static inline void rl_step_packed(int M, int N, int K, const real *A, int lda, const real *wp, real *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc;
    RL_UNREACHABLE("no packed float64 kernel");
}
#else
#define RL_PACKED(wp) ((wp) != NULL)
#define rl_pack_step_nt rl_pack_nt
#define rl_pack_step_nn rl_pack_nn
#define rl_step_packed rl_gemm_packed
#endif
/* Lockstep: for a W_hh too large to sit in every core's cache, the threads
 * share the columns of each step's product (panels of the packed W, all
 * rows) and the rows of its elementwise work, and meet at a barrier between
 * the two, so each thread reads only its part of W. Each element is
 * computed exactly as in the other mode. */
static inline int rl_lockstep(int B, int N, int K, const real *wp)
{
    return RL_PACKED(wp) && B >= 2 && rl_get_num_threads() > 1 && (size_t)N * K * sizeof(real) >= rl_lockstep_min_bytes;
}
static inline int rl_lockstep_parts(int B, int N)
{
    int p = rl_get_num_threads();
    if (p > B) p = B;
    return p;
}
#ifdef RL_REAL_F64
static inline void rl_step_cols(int M, int N, int K, const real *A, int lda, const real *wp, real *C, int ldc, int part,
                                int parts)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc, (void)part, (void)parts;
    RL_UNREACHABLE("no packed float64 kernel");
}
#else
static inline void rl_step_cols(int M, int N, int K, const real *A, int lda, const real *wp, real *C, int ldc, int part,
                                int parts)
{
    int p0, p1;
    rl_part_range(rl_pack_panels(N), part, parts, &p0, &p1);
    rl_gemm_packed_cols(M, N, K, A, lda, wp, C, ldc, p0, p1);
}
#endif

static inline void rl_step(int transw, int M, int N, int K, const real *A, int lda, const real *W, real *C, int ldc,
                           int vec, const real *wp)
{
    const int ldw = transw ? K : N;
    if (vec) {
        if (transw) GEMV(CblasRowMajor, CblasNoTrans, N, K, 1, W, ldw, A, 1, 1, C, 1);
        else GEMV(CblasRowMajor, CblasTrans, K, N, 1, W, ldw, A, 1, 1, C, 1);
        return;
    }
    if (RL_PACKED(wp)) {
        rl_step_packed(M, N, K, A, lda, wp, C, ldc);
        return;
    }
    for (int r = 0; r < M; r += RL_ROW_BLOCK)
        GEMM(CblasRowMajor, CblasNoTrans, transw ? CblasTrans : CblasNoTrans, M - r < RL_ROW_BLOCK ? M - r : RL_ROW_BLOCK,
             N, K, 1, A + (size_t)r * lda, lda, W, ldw, 1, C + (size_t)r * ldc, ldc);
}
#define rl_step_nt(...) rl_step(1, __VA_ARGS__)
#define rl_step_nn(...) rl_step(0, __VA_ARGS__)

/* The sequences [b0, b1) whose elementwise work part `part` of `parts`
 * does: whole blocks of RL_ROW_BLOCK, or in lockstep any even share. */
static inline void rl_loop_rows(int B, int lock, int part, int parts, int *b0, int *b1)
{
    if (lock) rl_part_range(B, part, parts, b0, b1);
    else rl_row_part(B, part, parts, b0, b1);
}

/* Vanilla RNN layer (tanh, relu, linear) over all T steps; src/cell_rnn.c.
 * Forward: h (T+1, B, H) holds h[0] on entry and gets h[1..T];
 *   x (T, B, in) is the layer's input, or ids (T, B) one-hot indices with
 *   wt (in, H) scratch (see rl_in_project); wp, NULL or scratch of
 *   rl_pack_size floats, turns on the packed step kernel; w_ih (H, in), w_hh (H, H),
 *   b_ih, b_hh (H); relu_on (T, B, H), normally NULL, fixes which ReLU units
 *   are on.
 * Backward: adds dL/dW and dL/db into dw_ih, dw_hh, db_ih, db_hh and dL/dh[0]
 *   into dh0 (B, H); sets dx (T, B, in) = dL/dx unless dx is NULL.
 *   dh (T, B, H) holds dL/dh[1..T] from above on entry and all of dL/dh[1..T]
 *   (eq. 10.21, the recurrent part added) on return; da (T, B, H) is scratch
 *   that ends up holding dL/da_t.
 * The time loop runs the batch's sequences on rl_get_num_threads() threads. */
void RL_T(rnn_layer_forward)(real *h, const unsigned char *relu_on, const real *x, const int32_t *ids, real *wt, real *wp,
                             const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, rl_cell act,
                             int T, int B, int in, int H);
void RL_T(rnn_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0,
                              real *dh, real *da, const real *h, const real *x, const int32_t *ids, real *wt, real *wp,
                              const real *w_ih, const real *w_hh, rl_cell act, int T, int B, int in, int H);

/* LSTM layer; src/cell_lstm.c. h, c (T+1, B, H) hold h[0], c[0] on entry;
 * gates (T, B, 4H) gets the activations i, f, g, o of every step. Backward as
 * for the vanilla layer, plus dc0 (B, H) += dL/dc[0]; da (T, B, 4H) gets
 * dL/dz_t; dc (B, H) is scratch. */
void RL_T(lstm_layer_forward)(real *h, real *c, real *gates, const real *x, const int32_t *ids, real *wt, real *wp,
                              const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, int T, int B,
                              int in, int H);
void RL_T(lstm_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dc0,
                               real *dh, real *da, real *dc, const real *h, const real *c, const real *gates,
                               const real *x, const int32_t *ids, real *wt, real *wp, const real *w_ih, const real *w_hh, int T,
                               int B, int in, int H);

/* GRU layer; src/cell_gru.c. gates (T, B, 3H) gets r, z, n; hn (T, B, H) gets
 * W_hn h_{t-1} + b_hn; hw (B, 3H) is scratch. Backward: da (T, B, 3H) gets
 * dL/d(W_ih x_t + b_ih), da_h (T, B, 3H) dL/d(W_hh h_{t-1} + b_hh). */
void RL_T(gru_layer_forward)(real *h, real *gates, real *hn, real *hw, const real *x, const int32_t *ids, real *wt, real *wp,
                             const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, int T, int B,
                             int in, int H);
void RL_T(gru_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dh,
                              real *da, real *da_h, const real *h, const real *gates, const real *hn, const real *x,
                              const int32_t *ids, real *wt, real *wp, const real *w_ih, const real *w_hh, int T, int B, int in,
                              int H);

#endif
