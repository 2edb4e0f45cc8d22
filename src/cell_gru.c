/* The GRU layer, exactly as torch.nn.GRU (gate rows r, z, n):
 *   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.
 * The reset gate multiplies W_hn h + b_hn after the product (char-rnn and
 * KANN put it before, and flip z). Compiled once per real type (see real.h). */
#include "real.h"

#include <string.h>

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

void RL_T(gru_layer_forward)(real *h, real *gates, real *hn, real *hw, const real *x, const real *w_ih,
                             const real *w_hh, const real *b_ih, const real *b_hh, int T, int B, int in, int H)
{
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, G = 3 * (size_t)H;
    /* the input side W_ih x_t + b_ih of every step at once: one GEMM */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TB, (int)G, in, 1, x, in, w_ih, in, 0, gates, (int)G);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) gates[r * G + j] += b_ih[j];
    for (int t = 0; t < T; t++) {
        real *gt = gates + (size_t)t * B * G, *hnt = hn + (size_t)t * BH;
        const real *hp = h + (size_t)t * BH;
        real *ht = h + (size_t)(t + 1) * BH;
        /* the hidden side W_hh h_{t-1} + b_hh: all three gates in one GEMM */
        for (int b = 0; b < B; b++) memcpy(hw + (size_t)b * G, b_hh, G * sizeof *hw);
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, (int)G, H, 1, hp, H, w_hh, H, 1, hw, (int)G);
        for (int b = 0; b < B; b++) {
            real *g = gt + (size_t)b * G;
            const real *w = hw + (size_t)b * G;
            for (int j = 0; j < H; j++) {
                size_t k = (size_t)b * H + j;
                real r = sigm(g[j] + w[j]), z = sigm(g[H + j] + w[H + j]);
                real n = RL_TANH(g[2 * H + j] + r * w[2 * H + j]);
                g[j] = r, g[H + j] = z, g[2 * H + j] = n; /* the cache keeps activations */
                hnt[k] = w[2 * H + j];                    /* and W_hn h_{t-1} + b_hn */
                ht[k] = (1 - z) * n + z * hp[k];
            }
        }
    }
}

void RL_T(gru_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dh,
                              real *da, real *da_h, const real *h, const real *gates, const real *hn, const real *x,
                              const real *w_ih, const real *w_hh, int T, int B, int in, int H)
{
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, G = 3 * (size_t)H;
    for (int t = T - 1; t >= 0; t--) {
        const real *gt = gates + (size_t)t * B * G, *hnt = hn + (size_t)t * BH, *hp = h + (size_t)t * BH;
        const real *dht = dh + (size_t)t * BH;
        real *dat = da + (size_t)t * B * G, *dht_h = da_h + (size_t)t * B * G;
        real *dprev = t > 0 ? dh + (size_t)(t - 1) * BH : dh0;
        for (int b = 0; b < B; b++) {
            const real *g = gt + (size_t)b * G;
            real *d = dat + (size_t)b * G, *e = dht_h + (size_t)b * G;
            for (int j = 0; j < H; j++) {
                size_t k = (size_t)b * H + j;
                real r = g[j], z = g[H + j], n = g[2 * H + j], dv = dht[k];
                /* h_t = (1 - z) n + z h_{t-1} */
                real dn = dv * (1 - z) * (1 - n * n);    /* dL/d(pre-activation of n) */
                real dz = dv * (hp[k] - n) * z * (1 - z); /* dL/d(pre-activation of z) */
                real dr = dn * hnt[k] * r * (1 - r);      /* through r * (W_hn h + b_hn) */
                d[j] = dr, d[H + j] = dz, d[2 * H + j] = dn;          /* input side: W_ih x + b_ih */
                e[j] = dr, e[H + j] = dz, e[2 * H + j] = dn * r;      /* hidden side: W_hh h + b_hh */
                dprev[k] += dv * z;                                   /* the direct path z h_{t-1} */
            }
        }
        /* dL/dh_{t-1} += W_hh^T dL/d(hidden side)   (eq. 10.21 through the gates) */
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, (int)G, 1, dht_h, (int)G, w_hh, H, 1, dprev, H);
    }
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, H, (int)TB, 1, da_h, (int)G, h, H, 1, dw_hh, H);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, in, (int)TB, 1, da, (int)G, x, in, 1, dw_ih, in);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) {
            db_ih[j] += da[r * G + j];
            db_hh[j] += da_h[r * G + j];
        }
    if (dx) GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, in, (int)G, 1, da, (int)G, w_ih, in, 0, dx, in);
}
