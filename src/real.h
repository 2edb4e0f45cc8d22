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
#else
typedef float real;
#define RL_T(name) name##_f32
#define RL_DTYPE RL_F32
#define GEMM cblas_sgemm
#define RL_EXP expf
#define RL_LOG logf
#define RL_TANH rl_tanhf
/* tanh in float32 from one expf: glibc's tanhf goes through expm1f and took
 * 40% of an LSTM training step. tanh x = 1 - 2 / (e^{2x} + 1) loses a few
 * ulps to cancellation near 0, where the series x - x^3/3 + 2x^5/15 - 17x^7/315
 * (error below 1e-12 relative for |x| < 0.05) takes over. Relative error
 * below 3e-6 everywhere; the float64 path keeps libm's tanh. */
static inline float rl_tanhf(float x)
{
    float a = fabsf(x);
    if (a < 0.05f) {
        float x2 = x * x;
        return x * (1 + x2 * (-1.f / 3 + x2 * (2.f / 15 + x2 * (-17.f / 315))));
    }
    float t = 1 - 2 / (expf(2 * a) + 1);
    return x < 0 ? -t : t;
}
#endif

/* Element i of a caller's array of type d, as a real. */
static inline real rl_get(const void *p, rl_dtype d, size_t i)
{
    return d == RL_F64 ? (real)((const double *)p)[i] : (real)((const float *)p)[i];
}

/* Vanilla RNN layer (tanh, relu, linear) over all T steps; src/cell_rnn.c.
 * Forward: h (T+1, B, H) holds h[0] on entry and gets h[1..T];
 *   x (T, B, in) is the layer's input; w_ih (H, in), w_hh (H, H), b_ih, b_hh (H);
 *   relu_on (T, B, H), normally NULL, fixes which ReLU units are on.
 * Backward: adds dL/dW and dL/db into dw_ih, dw_hh, db_ih, db_hh and dL/dh[0]
 *   into dh0 (B, H); sets dx (T, B, in) = dL/dx unless dx is NULL.
 *   dh (T, B, H) holds dL/dh[1..T] from above on entry and all of dL/dh[1..T]
 *   (eq. 10.21, the recurrent part added) on return; da (T, B, H) is scratch
 *   that ends up holding dL/da_t. */
void RL_T(rnn_layer_forward)(real *h, const unsigned char *relu_on, const real *x, const real *w_ih,
                             const real *w_hh, const real *b_ih, const real *b_hh, rl_cell act, int T, int B,
                             int in, int H);
void RL_T(rnn_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0,
                              real *dh, real *da, const real *h, const real *x, const real *w_ih,
                              const real *w_hh, rl_cell act, int T, int B, int in, int H);

/* LSTM layer; src/cell_lstm.c. h, c (T+1, B, H) hold h[0], c[0] on entry;
 * gates (T, B, 4H) gets the activations i, f, g, o of every step. Backward as
 * for the vanilla layer, plus dc0 (B, H) += dL/dc[0]; da (T, B, 4H) gets
 * dL/dz_t; dc (B, H) is scratch. */
void RL_T(lstm_layer_forward)(real *h, real *c, real *gates, const real *x, const real *w_ih, const real *w_hh,
                              const real *b_ih, const real *b_hh, int T, int B, int in, int H);
void RL_T(lstm_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dc0,
                               real *dh, real *da, real *dc, const real *h, const real *c, const real *gates,
                               const real *x, const real *w_ih, const real *w_hh, int T, int B, int in, int H);

/* GRU layer; src/cell_gru.c. gates (T, B, 3H) gets r, z, n; hn (T, B, H) gets
 * W_hn h_{t-1} + b_hn; hw (B, 3H) is scratch. Backward: da (T, B, 3H) gets
 * dL/d(W_ih x_t + b_ih), da_h (T, B, 3H) dL/d(W_hh h_{t-1} + b_hh). */
void RL_T(gru_layer_forward)(real *h, real *gates, real *hn, real *hw, const real *x, const real *w_ih,
                             const real *w_hh, const real *b_ih, const real *b_hh, int T, int B, int in, int H);
void RL_T(gru_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dh,
                              real *da, real *da_h, const real *h, const real *gates, const real *hn, const real *x,
                              const real *w_ih, const real *w_hh, int T, int B, int in, int H);

#endif
