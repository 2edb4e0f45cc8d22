/* The GRU layer, exactly as torch.nn.GRU (gate rows r, z, n):
 *   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.
 * The reset gate multiplies W_hn h + b_hn after the product (char-rnn and
 * KANN put it before, and flip z). Compiled once per real type (see real.h). */
#include "real.h"

#include <string.h>

static inline real sigm(real v) { return 1 / (1 + RL_EXP(-v)); }

/* one sequence's step: g (3H) holds the input side and gets r, z, n; w (3H)
 * is the hidden side W_hh h_{t-1} + b_hh */
RL_CLONES static void step_forward(real *g, real *hnt, real *ht, const real *w, const real *hp, int H)
{
    RL_SIMD
    for (int j = 0; j < H; j++) {
        real r = sigm(g[j] + w[j]), z = sigm(g[H + j] + w[H + j]);
        real n = RL_TANH(g[2 * H + j] + r * w[2 * H + j]);
        g[j] = r, g[H + j] = z, g[2 * H + j] = n; /* the cache keeps activations */
        hnt[j] = w[2 * H + j];                    /* and W_hn h_{t-1} + b_hn */
        ht[j] = (1 - z) * n + z * hp[j];
    }
}

RL_CLONES static void step_backward(real *d, real *e, real *dprev, const real *g, const real *hnt, const real *hp,
                                    const real *dht, int H)
{
    RL_SIMD
    for (int j = 0; j < H; j++) {
        real r = g[j], z = g[H + j], n = g[2 * H + j], dv = dht[j];
        /* h_t = (1 - z) n + z h_{t-1} */
        real dn = dv * (1 - z) * (1 - n * n);     /* dL/d(pre-activation of n) */
        real dz = dv * (hp[j] - n) * z * (1 - z); /* dL/d(pre-activation of z) */
        real dr = dn * hnt[j] * r * (1 - r);      /* through r * (W_hn h + b_hn) */
        d[j] = dr, d[H + j] = dz, d[2 * H + j] = dn;     /* input side: W_ih x + b_ih */
        e[j] = dr, e[H + j] = dz, e[2 * H + j] = dn * r; /* hidden side: W_hh h + b_hh */
        dprev[j] += dv * z;                              /* the direct path z h_{t-1} */
    }
}

typedef struct {
    real *h, *gates, *hn, *hw, *dh, *da, *da_h, *dh0;
    const real *w_hh, *b_hh, *wp;
    int T, B, H, lock;
    rl_barrier bar;
} gru_args;

/* the time loop for sequences [b0, b1) of the batch; in lockstep, for the
 * columns of this part's panels of every step's product, and then the
 * sequences [b0, b1) */
static void forward_part(void *p, int part, int parts)
{
    gru_args *a = p;
    const int H = a->H, G = 3 * H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H;
    /* hw: the hidden side W_hh h_{t-1} + b_hh; all of it in lockstep, else this part's rows */
    real *hw = a->lock ? a->hw : a->hw + (size_t)b0 * G;
    const int hw0 = a->lock ? b0 : 0;
    for (int b = b0; b < b1; b++) memcpy(hw + (size_t)(b - b0 + hw0) * G, a->b_hh, (size_t)G * sizeof *hw);
    rl_barrier_wait(&a->bar);
    for (int t = 0; t < a->T; t++) {
        real *gt = a->gates + (size_t)t * a->B * G, *hnt = a->hn + (size_t)t * BH;
        const real *hp = a->h + (size_t)t * BH;
        real *ht = a->h + (size_t)(t + 1) * BH;
        /* all three gates in one product */
        if (a->lock) {
            rl_step_cols(a->B, G, H, hp, H, a->wp, hw, G, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nt(b1 - b0, G, H, hp + (size_t)b0 * H, H, a->w_hh, hw, G, vec, a->wp);
        }
        for (int b = b0; b < b1; b++) {
            size_t k = (size_t)b * H;
            real *w = hw + (size_t)(b - b0 + hw0) * G;
            step_forward(gt + (size_t)b * G, hnt + k, ht + k, w, hp + k, H);
            memcpy(w, a->b_hh, (size_t)G * sizeof *w); /* b_hh for the next step */
        }
        rl_barrier_wait(&a->bar);
    }
}

void RL_T(gru_layer_forward)(real *h, real *gates, real *hn, real *hw, const real *x, const int32_t *ids, real *wt, real *wp,
                             const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, int T, int B,
                             int in, int H)
{
    /* the input side W_ih x_t + b_ih of every step at once */
    RL_T(rl_in_project)(gates, 3 * H, x, ids, wt, w_ih, b_ih, NULL, T * B, in);
    if (wp) rl_pack_step_nt(wp, w_hh, 3 * H, H);
    gru_args a = {h, gates, hn, hw, NULL, NULL, NULL, NULL, w_hh, b_hh, wp, T, B, H, rl_lockstep(B, 3 * H, H, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, 3 * H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, forward_part, &a);
}

static void backward_part(void *p, int part, int parts)
{
    gru_args *a = p;
    const int H = a->H, G = 3 * H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H;
    for (int t = a->T - 1; t >= 0; t--) {
        const real *gt = a->gates + (size_t)t * a->B * G, *hnt = a->hn + (size_t)t * BH, *hp = a->h + (size_t)t * BH;
        const real *dht = a->dh + (size_t)t * BH;
        real *dat = a->da + (size_t)t * a->B * G, *dht_h = a->da_h + (size_t)t * a->B * G;
        real *dprev = t > 0 ? a->dh + (size_t)(t - 1) * BH : a->dh0;
        for (int b = b0; b < b1; b++) {
            size_t k = (size_t)b * H, kg = (size_t)b * G;
            step_backward(dat + kg, dht_h + kg, dprev + k, gt + kg, hnt + k, hp + k, dht + k, H);
        }
        /* dL/dh_{t-1} += W_hh^T dL/d(hidden side)   (eq. 10.21 through the gates) */
        if (a->lock) {
            rl_barrier_wait(&a->bar);
            rl_step_cols(a->B, H, G, dht_h, G, a->wp, dprev, H, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nn(b1 - b0, H, G, dht_h + (size_t)b0 * G, G, a->w_hh, dprev + (size_t)b0 * H, H, vec, a->wp);
        }
    }
}

void RL_T(gru_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0, real *dh,
                              real *da, real *da_h, const real *h, const real *gates, const real *hn, const real *x,
                              const int32_t *ids, real *wt, real *wp, const real *w_ih, const real *w_hh, int T, int B, int in,
                              int H)
{
    const size_t TB = (size_t)T * B, G = 3 * (size_t)H;
    if (wp) rl_pack_step_nn(wp, w_hh, (int)G, H);
    gru_args a = {(real *)h, (real *)gates, (real *)hn, NULL, dh, da, da_h, dh0, w_hh, NULL, wp, T, B, H,
                  rl_lockstep(B, H, (int)G, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, backward_part, &a);
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, (int)G, H, (int)TB, 1, da_h, (int)G, h, H, 1, dw_hh, H);
    RL_T(rl_in_grad)(dw_ih, da, (int)G, x, ids, wt, (int)TB, in);
    for (size_t r = 0; r < TB; r++)
        for (size_t j = 0; j < G; j++) {
            db_ih[j] += da[r * G + j];
            db_hh[j] += da_h[r * G + j];
        }
    if (dx) RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, (int)TB, in, (int)G, 1, da, (int)G, w_ih, in, 0, dx, in);
}
