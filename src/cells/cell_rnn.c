/* The vanilla RNN cells: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
 * act = tanh, relu or the identity, exactly as torch.nn.RNN. Nothing is
 * cached but h: the pre-activation a_t is built in place of h_t and
 * overwritten by act(a_t), and act'(a_t) is read off h_t:
 *   tanh' = 1 - h_t^2, relu' = [h_t > 0] (h_t > 0 exactly when a_t > 0), linear' = 1.
 * Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

/* the tanh unit over a scalar type N (cells/cell_real.h), written once:
 * h = tanh(a) (c: the cached h, for the complex step), and the backward
 * step dL/da = dL/dh tanh'(a), tanh' read off h */
#define TANH_STEP(N, TANH)                                                                                      \
    static inline N tanh_fwd_##N(N a, real c) { return TANH(a, c); }                                            \
    static inline N tanh_bwd_##N(N h, N dv) { return dv * (1 - h * h); }
TANH_STEP(real, rl_act_tanh)
TANH_STEP(cnum, rl_cact_tanh)

RL_CLONES_EW static void fwd_tanh(const rl_layer *ly, int t, int b, int j0, int j1)
{
    real *h = ly->h + rl_row(ly, t + 1, b);
    RL_SIMD
    for (int j = j0; j < j1; j++) h[j] = tanh_fwd_real(h[j], 0);
}

static void fwd_relu(const rl_layer *ly, int t, int b, int j0, int j1)
{
    real *h = ly->h + rl_row(ly, t + 1, b);
    if (ly->relu_on) {
        const unsigned char *on = ly->relu_on + ((size_t)t * ly->B + (size_t)b) * ly->H;
        for (int j = j0; j < j1; j++) h[j] = on[j] ? h[j] : 0;
    } else {
        for (int j = j0; j < j1; j++) h[j] = h[j] > 0 ? h[j] : 0;
    }
}

static void fwd_linear(const rl_layer *ly, int t, int b, int j0, int j1)
{
    (void)ly, (void)t, (void)b, (void)j0, (void)j1;
}

/* dL/da_t = act'(a_t) dL/dh_t */
static inline real relu_bwd(real h, real dv) { return h > 0 ? dv : 0; }
RL_BWD_FROM_H(bwd_tanh, tanh_bwd_real)
RL_BWD_FROM_H(bwd_relu, relu_bwd)

static void bwd_linear(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz, real *dzh,
                       real *dprev)
{
    (void)ly, (void)t, (void)b, (void)dc, (void)dzh, (void)dprev;
    for (int j = j0; j < j1; j++) dz[j] = dh[j];
}

/* the coefficient (the backward step seeded with dv = 1) from u = (a);
 * ctx: the cached h */
static void tanh_coefs(const void *ctx, const cnum *u, cnum *k)
{
    k[0] = tanh_bwd_cnum(tanh_fwd_cnum(u[0], *(const real *)ctx), 1);
}

/* The derivative of the coefficient (src/cells/cell.h), by the complex step
 * through the step above. */
static void vjp_tanh(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                     real *sbar, real *dextra)
{
    (void)zhbar, (void)sbar, (void)dextra;
    const real *h = ly->h + rl_row(ly, t + 1, b);
    for (int j = j0; j < j1; j++) {
        const real u[1] = {0};
        real ub[1] = {0};
        rl_cstep_vjp(1, 1, u, tanh_coefs, &h[j], &kbar[j], ub);
        zbar[j] += ub[0];
    }
}

/* relu' = [a_t > 0] and linear' = 1 are constant wherever they are
 * differentiable: relu'' = linear'' = 0, so nothing is added (rl_vjp_none;
 * this is also IndRNN's: its step is the ReLU's). */
RL_OPS_DEFINE(rl_cell_ops, rl_tanh_ops, .fwd = fwd_tanh, .bwd = bwd_tanh, .jac_vjp = vjp_tanh);
RL_OPS_DEFINE(rl_cell_ops, rl_relu_ops, .fwd = fwd_relu, .bwd = bwd_relu, .jac_vjp = rl_vjp_none);
RL_OPS_DEFINE(rl_cell_ops, rl_linear_ops, .fwd = fwd_linear, .bwd = bwd_linear, .jac_vjp = rl_vjp_none);

#define VANILLA(NAME, ID, ACT, RELU)                                                                           \
    RL_CELL_ROW(NAME, ID, NAME, .equation = "h_t = " ACT "(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",              \
                RL_TORCH_GATES(1), RL_PARAMS(RL_TORCH_PARAMS(1)), .states = 1, RL_GATES(-1, -1, -1), .relu = RELU)
VANILLA(tanh, RL_CELL_TANH, "tanh", 0);
VANILLA(relu, RL_CELL_RELU, "relu", 1);
VANILLA(linear, RL_CELL_LINEAR, "", 0);
