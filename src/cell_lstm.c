/* The LSTM layer, exactly as torch.nn.LSTM (gate rows i, f, g, o):
 *   i = sigma(z_i), f = sigma(z_f), g = tanh(z_g), o = sigma(z_o),
 *   z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).
 * Compiled once per real type (see real.h). */
#include "real.h"

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

void RL_T(lstm_layer_forward)(real *h, real *c, real *gates, const real *x, const real *w_ih, const real *w_hh,
                              const real *b_ih, const real *b_hh, int T, int B, int in, int H)
{
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, G = 4 * (size_t)H;
    /* z_t = W_ih x_t + b_ih + b_hh for every step at once: one GEMM over T*B rows */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TB, (int)G, in, 1, x, in, w_ih, in, 0, gates, (int)G);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) gates[r * G + j] += b_ih[j] + b_hh[j];
    for (int t = 0; t < T; t++) {
        real *zt = gates + (size_t)t * B * G;
        const real *hp = h + (size_t)t * BH, *cp = c + (size_t)t * BH;
        real *ht = h + (size_t)(t + 1) * BH, *ct = c + (size_t)(t + 1) * BH;
        /* z_t += W_hh h_{t-1}: all four gates in one GEMM */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, B, (int)G, H, 1, hp, H, w_hh, H, 1, zt, (int)G);
        for (int b = 0; b < B; b++) {
            real *z = zt + (size_t)b * G;
            for (int j = 0; j < H; j++) {
                real i = sigm(z[j]), f = sigm(z[H + j]), g = RL_TANH(z[2 * H + j]), o = sigm(z[3 * H + j]);
                z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o; /* the cache keeps activations */
                size_t k = (size_t)b * H + j;
                /* c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t) */
                ct[k] = f * cp[k] + i * g;
                ht[k] = o * RL_TANH(ct[k]);
            }
        }
    }
}

void RL_T(lstm_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dc0,
                               real *dh, real *da, real *dc, const real *h, const real *c, const real *gates,
                               const real *x, const real *w_ih, const real *w_hh, int T, int B, int in, int H)
{
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, G = 4 * (size_t)H;
    for (size_t k = 0; k < BH; k++) dc[k] = 0; /* dL/dc_t carried back from t+1 */
    for (int t = T - 1; t >= 0; t--) {
        const real *zt = gates + (size_t)t * B * G, *cp = c + (size_t)t * BH, *ct = c + (size_t)(t + 1) * BH;
        const real *dht = dh + (size_t)t * BH;
        real *dat = da + (size_t)t * B * G;
        for (int b = 0; b < B; b++) {
            const real *z = zt + (size_t)b * G;
            real *d = dat + (size_t)b * G;
            for (int j = 0; j < H; j++) {
                size_t k = (size_t)b * H + j;
                real i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j], tc = RL_TANH(ct[k]);
                /* dL/dc_t = dL/dc_t (from t+1) + dL/dh_t * o * (1 - tanh^2 c_t) */
                real dcv = dc[k] + dht[k] * o * (1 - tc * tc);
                /* through the gates' nonlinearities: sigma' = s (1 - s), tanh' = 1 - g^2 */
                d[j] = dcv * g * i * (1 - i);              /* dL/dz_i */
                d[H + j] = dcv * cp[k] * f * (1 - f);      /* dL/dz_f */
                d[2 * H + j] = dcv * i * (1 - g * g);      /* dL/dz_g */
                d[3 * H + j] = dht[k] * tc * o * (1 - o);  /* dL/dz_o */
                dc[k] = dcv * f;                           /* dL/dc_{t-1}, the cell path */
            }
        }
        /* dL/dh_{t-1} += W_hh^T dL/dz_t   (eq. 10.21 through the gates) */
        real *dprev = t > 0 ? dh + (size_t)(t - 1) * BH : dh0;
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, (int)G, 1, dat, (int)G, w_hh, H, 1, dprev, H);
    }
    for (size_t k = 0; k < BH; k++) dc0[k] += dc[k];
    /* weight gradients: one GEMM each over all T*B rows */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, H, (int)TB, 1, da, (int)G, h, H, 1, dw_hh, H);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, in, (int)TB, 1, da, (int)G, x, in, 1, dw_ih, in);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) {
            db_ih[j] += da[r * G + j];
            db_hh[j] += da[r * G + j];
        }
    if (dx) GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, in, (int)G, 1, da, (int)G, w_ih, in, 0, dx, in);
}
