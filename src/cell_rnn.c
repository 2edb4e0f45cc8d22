/* The vanilla RNN layer: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
 * act = tanh, relu or the identity, exactly as torch.nn.RNN.
 * Compiled once per real type (see real.h). */
#include "real.h"

RL_CLONES static void tanh_rows(real *x, size_t n)
{
    RL_SIMD
    for (size_t i = 0; i < n; i++) x[i] = RL_TANH(x[i]);
}

/* dL/da_t = act'(a_t) * dL/dh_t, act' read off the cached h_t:
 * tanh' = 1 - h_t^2, relu' = [h_t > 0] (h_t > 0 exactly when a_t > 0) */
RL_CLONES static void act_grad(real *da, const real *dh, const real *h, rl_cell act, size_t n)
{
    switch (act) {
    case RL_CELL_TANH:
        RL_SIMD
        for (size_t i = 0; i < n; i++) da[i] = dh[i] * (1 - h[i] * h[i]);
        break;
    case RL_CELL_RELU:
        RL_SIMD
        for (size_t i = 0; i < n; i++) da[i] = h[i] > 0 ? dh[i] : 0;
        break;
    case RL_CELL_LINEAR:
        for (size_t i = 0; i < n; i++) da[i] = dh[i];
        break;
    default:
        RL_UNREACHABLE("not a vanilla RNN cell");
    }
}

typedef struct {
    real *h, *dh, *da, *dh0;
    const unsigned char *relu_on;
    const real *w_hh, *wp;
    rl_cell act;
    int T, B, H, lock;
    rl_barrier bar;
} rnn_args;

/* the time loop for sequences [b0, b1) of the batch */
static void forward_part(void *p, int part, int parts)
{
    rnn_args *a = p;
    const int H = a->H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H, n = (size_t)(b1 - b0) * H;
    for (int t = 0; t < a->T; t++) {
        real *ht = a->h + (size_t)(t + 1) * BH + (size_t)b0 * H;
        /* a_t += W_hh h_{t-1} */
        if (a->lock) {
            rl_step_cols(a->B, H, H, a->h + (size_t)t * BH, H, a->wp, a->h + (size_t)(t + 1) * BH, H, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nt(b1 - b0, H, H, ht - BH, H, a->w_hh, ht, H, vec, a->wp);
        }
        switch (a->act) {
        case RL_CELL_TANH:
            tanh_rows(ht, n);
            break;
        case RL_CELL_RELU:
            if (a->relu_on) {
                const unsigned char *on = a->relu_on + (size_t)t * BH + (size_t)b0 * H;
                for (size_t i = 0; i < n; i++) ht[i] = on[i] ? ht[i] : 0;
            } else {
                for (size_t i = 0; i < n; i++) ht[i] = ht[i] > 0 ? ht[i] : 0;
            }
            break;
        case RL_CELL_LINEAR:
            break;
        default:
            RL_UNREACHABLE("not a vanilla RNN cell");
        }
        rl_barrier_wait(&a->bar);
    }
}

void RL_T(rnn_layer_forward)(real *h, const unsigned char *relu_on, const real *x, const int32_t *ids, real *wt, real *wp,
                             const real *w_ih, const real *w_hh, const real *b_ih, const real *b_hh, rl_cell act,
                             int T, int B, int in, int H)
{
    /* a_t = W_ih x_t + b_ih + b_hh for every step at once, built in place of h[1..T] */
    RL_T(rl_in_project)(h + (size_t)B * H, H, x, ids, wt, w_ih, b_ih, b_hh, T * B, in);
    if (wp) rl_pack_step_nt(wp, w_hh, H, H);
    rnn_args a = {h, NULL, NULL, NULL, relu_on, w_hh, wp, act, T, B, H, rl_lockstep(B, H, H, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, forward_part, &a);
}

static void backward_part(void *p, int part, int parts)
{
    rnn_args *a = p;
    const int H = a->H, vec = a->B == 1;
    int b0, b1;
    rl_loop_rows(a->B, a->lock, part, parts, &b0, &b1);
    const size_t BH = (size_t)a->B * H, off = (size_t)b0 * H, n = (size_t)(b1 - b0) * H;
    for (int t = a->T - 1; t >= 0; t--) {
        real *dat = a->da + (size_t)t * BH + off;
        act_grad(dat, a->dh + (size_t)t * BH + off, a->h + (size_t)(t + 1) * BH + off, a->act, n);
        /* dL/dh_{t-1} += J_t^T dL/dh_t = W_hh^T dL/da_t   (Deep Learning, eq. 10.21) */
        real *dprev = t > 0 ? a->dh + (size_t)(t - 1) * BH : a->dh0;
        if (a->lock) {
            rl_barrier_wait(&a->bar);
            rl_step_cols(a->B, H, H, a->da + (size_t)t * BH, H, a->wp, dprev, H, part, parts);
            rl_barrier_wait(&a->bar);
        } else {
            rl_step_nn(b1 - b0, H, H, dat, H, a->w_hh, dprev + off, H, vec, a->wp);
        }
    }
}

void RL_T(rnn_layer_backward)(real *dx, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh, real *dh0,
                              real *dh, real *da, const real *h, const real *x, const int32_t *ids, real *wt, real *wp,
                              const real *w_ih, const real *w_hh, rl_cell act, int T, int B, int in, int H)
{
    const size_t TB = (size_t)T * B;
    if (wp) rl_pack_step_nn(wp, w_hh, H, H);
    rnn_args a = {(real *)h, dh, da, dh0, NULL, w_hh, wp, act, T, B, H, rl_lockstep(B, H, H, wp), {0}};
    int parts = a.lock ? rl_lockstep_parts(B, H) : rl_row_parts(B);
    rl_barrier_init(&a.bar, a.lock ? parts : 1);
    rl_parallel(parts, backward_part, &a);
    /* weight gradients: one GEMM each over all T*B rows */
    /* dW_hh += sum_t dL/da_t h_{t-1}^T */
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, H, H, (int)TB, 1, da, H, h, H, 1, dw_hh, H);
    /* dW_ih += sum_t dL/da_t x_t^T */
    RL_T(rl_in_grad)(dw_ih, da, H, x, ids, wt, (int)TB, in);
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < H; j++) {
            db_ih[j] += da[r * H + j];
            db_hh[j] += da[r * H + j];
        }
    /* dL/dx_t = W_ih^T dL/da_t */
    if (dx) RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, (int)TB, in, H, 1, da, H, w_ih, in, 0, dx, in);
}
