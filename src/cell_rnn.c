/* The vanilla RNN layer: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
 * act = tanh, relu or the identity, exactly as torch.nn.RNN.
 * Compiled once per real type (see real.h). */
#include "real.h"

void RL_T(rnn_layer_forward)(real *h, const unsigned char *relu_on, const real *x, const real *w_ih,
                             const real *w_hh, const real *b_ih, const real *b_hh, rl_cell act, int T, int B,
                             int in, int H)
{
    size_t BH = (size_t)B * H, TB = (size_t)T * B;
    real *a = h + BH; /* the pre-activations a_t are built in place of h[1..T] */
    /* a_t = W_ih x_t + b_ih + b_hh for every step at once: one GEMM over T*B rows */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TB, H, in, 1, x, in, w_ih, in, 0, a, H);
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < H; j++) a[r * H + j] += b_ih[j] + b_hh[j];
    for (int t = 0; t < T; t++) {
        real *ht = h + (size_t)(t + 1) * BH;
        /* a_t += W_hh h_{t-1} */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, H, 1, h + (size_t)t * BH, H, w_hh, H, 1, ht, H);
        switch (act) {
        case RL_CELL_TANH:
            for (size_t i = 0; i < BH; i++) ht[i] = RL_TANH(ht[i]);
            break;
        case RL_CELL_RELU:
            if (relu_on) {
                const unsigned char *on = relu_on + (size_t)t * BH;
                for (size_t i = 0; i < BH; i++) ht[i] = on[i] ? ht[i] : 0;
            } else {
                for (size_t i = 0; i < BH; i++) ht[i] = ht[i] > 0 ? ht[i] : 0;
            }
            break;
        case RL_CELL_LINEAR:
            break;
        default:
            RL_UNREACHABLE("not a vanilla RNN cell");
        }
    }
}

void RL_T(rnn_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0,
                              real *dh, real *da, const real *h, const real *x, const real *w_ih,
                              const real *w_hh, rl_cell act, int T, int B, int in, int H)
{
    size_t BH = (size_t)B * H, TB = (size_t)T * B;
    for (int t = T - 1; t >= 0; t--) {
        const real *ht = h + (size_t)(t + 1) * BH;
        real *dht = dh + (size_t)t * BH, *dat = da + (size_t)t * BH;
        /* dL/da_t = act'(a_t) * dL/dh_t, act' read off the cached h_t:
         * tanh' = 1 - h_t^2, relu' = [h_t > 0] (h_t > 0 exactly when a_t > 0) */
        switch (act) {
        case RL_CELL_TANH:
            for (size_t i = 0; i < BH; i++) dat[i] = dht[i] * (1 - ht[i] * ht[i]);
            break;
        case RL_CELL_RELU:
            for (size_t i = 0; i < BH; i++) dat[i] = ht[i] > 0 ? dht[i] : 0;
            break;
        case RL_CELL_LINEAR:
            for (size_t i = 0; i < BH; i++) dat[i] = dht[i];
            break;
        default:
            RL_UNREACHABLE("not a vanilla RNN cell");
        }
        /* dL/dh_{t-1} += J_t^T dL/dh_t = W_hh^T dL/da_t   (Deep Learning, eq. 10.21) */
        real *dprev = t > 0 ? dh + (size_t)(t - 1) * BH : dh0;
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, H, 1, dat, H, w_hh, H, 1, dprev, H);
    }
    /* weight gradients: one GEMM each over all T*B rows */
    /* dW_hh += sum_t dL/da_t h_{t-1}^T */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, (int)TB, 1, da, H, h, H, 1, dw_hh, H);
    /* dW_ih += sum_t dL/da_t x_t^T */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, H, in, (int)TB, 1, da, H, x, in, 1, dw_ih, in);
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < H; j++) {
            db_ih[j] += da[r * H + j];
            db_hh[j] += da[r * H + j];
        }
    /* dL/dx_t = W_ih^T dL/da_t */
    if (dx) GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, in, H, 1, da, H, w_ih, in, 0, dx, in);
}
