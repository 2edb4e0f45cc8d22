/* The modReLU unit (Arjovsky, Shah & Bengio 2016, on real numbers), the
 * nonlinearity of expRNN (Lezcano-Casado & Martinez-Rubio 2019) and scoRNN
 * (Helfrich, Willmott & Ye 2018):
 *   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
 *   h_t = sign(a_t) relu(|a_t| + b)       elementwise,
 * b (H) a trained threshold per unit, stored as rnn.modrelu_bias_l{k}
 * (expRNN's nonlinearity.b, scoRNN's b). A unit is on where a_t != 0 and
 * |a_t| + b > 0; there h_t = a_t + sign(a_t) b, so dh/da = 1 and dh/db =
 * sign(a_t); off, h_t = 0 and both derivatives are 0 (torch's relu'(0) =
 * 0 and sign(0) = 0). Since h_t != 0 exactly where the unit is on, and then
 * has a_t's sign, nothing is cached but h: the pre-activation is built in
 * place of h_t, overwritten by the unit, and the backward step reads
 *   dL/da_t = [h_t != 0] dL/dh_t,   dL/db = sum_t sign(h_t) dL/dh_t
 * off h_t. The step Jacobian is the ReLU's, J_t = diag([h_t != 0]) W_hh,
 * with the units on where |a_t| > -b, of either sign (docs/jacobians.md).
 * Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

/* the unit: sign(a) relu(|a| + b); a NaN stays NaN, as in torch */
static inline real modrelu(real a, real b)
{
    real m = (a < 0 ? -a : a) + b;
    return m > 0 ? (a > 0 ? m : a < 0 ? -m : 0) : m == m ? 0 : m;
}

/* The unit held on the smooth piece `on` (rl_layer.relu_on: 0 off, 1 on
 * with a > 0, 2 on with a < 0), for finite differences across its kinks. */
static inline real held(real a, real b, unsigned char on) { return on == 1 ? a + b : on == 2 ? a - b : 0; }

RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    real *h = ly->h + rl_row(ly, t + 1, b);
    const real *bias = ly->extra;
    if (ly->relu_on) {
        const unsigned char *on = ly->relu_on + rl_row(ly, t, b);
        for (int j = j0; j < j1; j++) h[j] = held(h[j], bias[j], on[j]);
        return;
    }
    RL_SIMD
    for (int j = j0; j < j1; j++) h[j] = modrelu(h[j], bias[j]);
}

/* dL/da_t = [h_t != 0] dL/dh_t */
static inline real on_bwd(real h, real dv) { return h != 0 ? dv : 0; }
RL_BWD_FROM_H(bwd, on_bwd)

/* dL/db_j += sum_{t,b} sign(h_t) dL/dh_t, with the complete dL/dh_t the
 * time loop leaves in dh (row r = t B + b; h's row r + B is h_t) */
static void extra_grad(const rl_layer *ly, real *db)
{
    const size_t TB = (size_t)ly->T * ly->B;
    const int H = ly->H;
    const real *h = ly->h + (size_t)ly->B * H;
    for (int j = 0; j < H; j++) {
        real s = 0;
        for (size_t r = 0; r < TB; r++) {
            real v = h[r * H + j];
            s += v > 0 ? ly->dh[r * H + j] : v < 0 ? -ly->dh[r * H + j] : 0;
        }
        db[j] += s;
    }
}

/* The coefficient [h_t != 0] is constant on each piece: its derivatives in
 * a_t and b vanish wherever they exist, as the ReLU's (rl_vjp_none). */
RL_OPS_DEFINE(rl_cell_ops, rl_modrelu_ops, .fwd = fwd, .bwd = bwd, .extra_grad = extra_grad, .jac_vjp = rl_vjp_none);

#ifdef RL_REAL_F64
/* b ~ U(-R, R), R = modrelu_init (expRNN's modrelu.reset_parameters: R =
 * 0.01; scoRNN's b = 0: R = 0). H draws whatever R is, so that R leaves
 * every other tensor as it is. */
static rl_status init_bias(double *b, int H, const rl_init *init, rl_rng *rng)
{
    const double R = init->modrelu_init;
    if (!(R >= 0)) return rl_fail(RL_ERR_ARG, "modrelu_init = %g must be >= 0: b ~ U(-R, R) (0: every b = 0)", R);
    for (int j = 0; j < H; j++) {
        double u = 2 * rl_rng_uniform(rng) - 1;
        b[j] = R > 0 ? R * u : 0;
    }
    return RL_OK;
}
#endif

RL_CELL_ROW(modrelu, RL_CELL_MODRELU, modrelu,
            .equation = "h_t = sign(a) relu(|a| + b), a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, b = modrelu_bias per "
                        "unit",
            RL_TORCH_UNIT_CELL("rnn.modrelu_bias_l%d"), .init_extra = init_bias, .relu = 1);
