/* The LSTM layer, exactly as torch.nn.LSTM (gate rows i, f, g, o):
 *   i = sigma(z_i), f = sigma(z_f), g = tanh(z_g), o = sigma(z_o),
 *   z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).
 * Compiled once per real type (see real.h). */
#include "real.h"

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

/* one sequence's step: z (4H) holds z_t and gets the activations */
RL_CLONES static void step_forward(real *z, const real *cp, real *ct, real *ht, int H)
{
    RL_SIMD
    for (int j = 0; j < H; j++) {
        real i = sigm(z[j]), f = sigm(z[H + j]), g = RL_TANH(z[2 * H + j]), o = sigm(z[3 * H + j]);
        z[j] = i, z[H + j] = f, z[2 * H + j] = g, z[3 * H + j] = o; /* the cache keeps activations */
        /* c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t) */
        real cv = f * cp[j] + i * g;
        ct[j] = cv;
        ht[j] = o * RL_TANH(cv);
    }
}

/* one sequence's step back: d (4H) gets dL/dz_t, dc carries dL/dc back */
RL_CLONES static void step_backward(real *d, real *dc, const real *z, const real *cp, const real *ct,
                                    const real *dht, int H)
{
    RL_SIMD
    for (int j = 0; j < H; j++) {
        real i = z[j], f = z[H + j], g = z[2 * H + j], o = z[3 * H + j], tc = RL_TANH(ct[j]);
        /* dL/dc_t = dL/dc_t (from t+1) + dL/dh_t * o * (1 - tanh^2 c_t) */
        real dcv = dc[j] + dht[j] * o * (1 - tc * tc);
        /* through the gates' nonlinearities: sigma' = s (1 - s), tanh' = 1 - g^2 */
        d[j] = dcv * g * i * (1 - i);             /* dL/dz_i */
        d[H + j] = dcv * cp[j] * f * (1 - f);     /* dL/dz_f */
        d[2 * H + j] = dcv * i * (1 - g * g);     /* dL/dz_g */
        d[3 * H + j] = dht[j] * tc * o * (1 - o); /* dL/dz_o */
        dc[j] = dcv * f;                          /* dL/dc_{t-1}, the cell path */
    }
}

typedef struct {
    real *h, *c, *gates, *dh, *da, *dc, *dh0;
    const real *w_hh, *wp;
    int T, B, H, lock;
    rl_barrier bar;
} lstm_args;

/* the time loop for sequences [b0, b1) of the batch; in lockstep, the
 * columns of this part's panels of every step's product, then the
 * sequences [b0, b1) */
static void forward_part(void *p, int part, int parts)
{
    lstm_args *a = p;
    const int H = a->H, G = 4 * H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H;
    for (int t = 0; t < a->T; t++) {
        real *zt = a->gates + (size_t)t * a->B * G;
        const real *hp = a->h + (size_t)t * BH, *cp = a->c + (size_t)t * BH;
        real *ht = a->h + (size_t)(t + 1) * BH, *ct = a->c + (size_t)(t + 1) * BH;
        /* z_t += W_hh h_{t-1}: all four gates in one product */
        if (a->lock) {
            rl_step_cols(a->B, G, H, hp, H, a->wp, zt, G, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nt(b1 - b0, G, H, hp + (size_t)b0 * H, H, a->w_hh, zt + (size_t)b0 * G, G, vec, a->wp);
        }
        for (int b = b0; b < b1; b++) {
            size_t k = (size_t)b * H;
            step_forward(zt + (size_t)b * G, cp + k, ct + k, ht + k, H);
        }
        rl_barrier_wait(&a->bar);
    }
}

void RL_T(lstm_layer_forward)(real *h, real *c, real *gates, const real *x, const int32_t *ids, real *wt, real *wp,
                              const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, int T, int B,
                              int in, int H)
{
    /* z_t = W_ih x_t + b_ih + b_hh for every step at once */
    RL_T(rl_in_project)(gates, 4 * H, x, ids, wt, w_ih, b_ih, b_hh, T * B, in);
    if (wp) rl_pack_step_nt(wp, w_hh, 4 * H, H);
    lstm_args a = {h, c, gates, NULL, NULL, NULL, NULL, w_hh, wp, T, B, H, rl_lockstep(B, 4 * H, H, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, 4 * H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, forward_part, &a);
}

static void backward_part(void *p, int part, int parts)
{
    lstm_args *a = p;
    const int H = a->H, G = 4 * H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H;
    for (size_t k = (size_t)b0 * H; k < (size_t)b1 * H; k++) a->dc[k] = 0; /* dL/dc_t carried back from t+1 */
    for (int t = a->T - 1; t >= 0; t--) {
        const real *zt = a->gates + (size_t)t * a->B * G, *cp = a->c + (size_t)t * BH, *ct = a->c + (size_t)(t + 1) * BH;
        const real *dht = a->dh + (size_t)t * BH;
        real *dat = a->da + (size_t)t * a->B * G;
        for (int b = b0; b < b1; b++) {
            size_t k = (size_t)b * H;
            step_backward(dat + (size_t)b * G, a->dc + k, zt + (size_t)b * G, cp + k, ct + k, dht + k, H);
        }
        /* dL/dh_{t-1} += W_hh^T dL/dz_t   (eq. 10.21 through the gates) */
        real *dprev = t > 0 ? a->dh + (size_t)(t - 1) * BH : a->dh0;
        if (a->lock) {
            rl_barrier_wait(&a->bar);
            rl_step_cols(a->B, H, G, dat, G, a->wp, dprev, H, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nn(b1 - b0, H, G, dat + (size_t)b0 * G, G, a->w_hh, dprev + (size_t)b0 * H, H, vec, a->wp);
        }
    }
}

void RL_T(lstm_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dc0,
                               real *dh, real *da, real *dc, const real *h, const real *c, const real *gates,
                               const real *x, const int32_t *ids, real *wt, real *wp, const real *w_ih, const real *w_hh, int T,
                               int B, int in, int H)
{
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, G = 4 * (size_t)H;
    if (wp) rl_pack_step_nn(wp, w_hh, (int)G, H);
    lstm_args a = {(real *)h, (real *)c, (real *)gates, dh, da, dc, dh0, w_hh, wp, T, B, H, rl_lockstep(B, H, (int)G, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, backward_part, &a);
    for (size_t k = 0; k < BH; k++) dc0[k] += dc[k];
    /* weight gradients: one GEMM each over all T*B rows */
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, (int)G, H, (int)TB, 1, da, (int)G, h, H, 1, dw_hh, H);
    RL_T(rl_in_grad)(dw_ih, da, (int)G, x, ids, wt, (int)TB, in);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) {
            db_ih[j] += da[r * G + j];
            db_hh[j] += da[r * G + j];
        }
    if (dx) RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, (int)TB, in, (int)G, 1, da, (int)G, w_ih, in, 0, dx, in);
}
