/* The leaky unit (Deep Learning, sec. 10.9.2; Jaeger 2007's leaky
 * integrator), each unit j with its own rate alpha_j = sigma(theta_j):
 *   n_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
 *   h_t = (1 - alpha) h_{t-1} + alpha n_t,
 * theta stored as rnn.leak_l{k} (H) and trained like any parameter. A unit
 * forgets at the rate (1 - alpha)^k: its time scale is about 1/alpha steps.
 * The step Jacobian is J_t = diag(1 - alpha) + diag(alpha tanh'(a_t)) W_hh,
 * so its eigenvalues are pulled toward 1 - alpha as alpha falls.
 * The gates' cache (T, B, H) holds n_t (the pre-activation a_t until the
 * step has run), since n_t cannot be recovered from h_t and h_{t-1} when
 * alpha is small. Compiled once per real type (see real.h). */
#include "cells/cell_real.h"

#include <math.h>

/* One unit's step over a scalar type N (cells/cell_real.h), written once:
 * forward, from the pre-activation a, theta and h_{t-1} (cn: the cached
 * n_t, for the complex step); backward, from dv = dL/dh_t: dL/da and the
 * direct dL/dh_{t-1}. */
#define LEAKY_FWD(N, TANH, FN_SIGM)                                                                             \
    static inline void step_fwd_##N(N a, N theta, N hp, real cn, N *n, N *h)                                    \
    {                                                                                                           \
        N al = FN_SIGM(theta);                                                                                  \
        *n = TANH(a, cn);                                                                                       \
        *h = (1 - al) * hp + al * *n; /* h_t = (1 - alpha) h_{t-1} + alpha n_t */                               \
    }
#define LEAKY_BWD(N, FN_SIGM)                                                                                   \
    static inline void step_bwd_##N(N n, N theta, N dv, N *da, N *ddir)                                         \
    {                                                                                                           \
        N al = FN_SIGM(theta);                                                                                  \
        *da = dv * al * (1 - n * n);                                                                            \
        *ddir = dv * (1 - al);                                                                                  \
    }
LEAKY_FWD(real, rl_act_tanh, rl_fn_sigm)
LEAKY_BWD(real, rl_fn_sigm)
LEAKY_FWD(cnum, rl_cact_tanh, rl_cfn_sigm)
LEAKY_BWD(cnum, rl_cfn_sigm)

RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    real *n = ly->z + rl_row(ly, t, b), *ht = ly->h + rl_row(ly, t + 1, b);
    const real *hp = ly->h + rl_row(ly, t, b), *theta = ly->extra;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real v, h;
        step_fwd_real(n[j], theta[j], hp[j], 0, &v, &h);
        n[j] = v; /* the cache keeps n_t */
        ht[j] = h;
    }
}

/* dL/da_t = dL/dh_t alpha (1 - n_t^2); the direct path dL/dh_{t-1} += dL/dh_t (1 - alpha) */
RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)dc, (void)dzh;
    const real *n = ly->z + rl_row(ly, t, b), *theta = ly->extra;
    RL_SIMD
    for (int j = j0; j < j1; j++) {
        real da, ddir;
        step_bwd_real(n[j], theta[j], dh[j], &da, &ddir);
        dz[j] = da;
        dprev[j] += ddir;
    }
}

/* dL/dtheta_j += sum_{t,b} dL/dh_t alpha (1 - alpha) (n_t - h_{t-1}), with
 * the complete dL/dh_t the time loop leaves in dh */
static void extra_grad(const rl_layer *ly, real *dtheta)
{
    const size_t TB = (size_t)ly->T * ly->B;
    const int H = ly->H;
    for (int j = 0; j < H; j++) {
        real a = rl_sigm(ly->extra[j]), s = 0;
        for (size_t r = 0; r < TB; r++) s += ly->dh[r * H + j] * (ly->z[r * H + j] - ly->h[r * H + j]);
        dtheta[j] += a * (1 - a) * s;
    }
}

/* the coefficients (dL/da and the direct path, seeded with dv = 1) from
 * the unit's inputs u = (a, theta); ctx: the cached n_t */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    cnum n, h;
    step_fwd_cnum(u[0], u[1], 0, *(const real *)ctx, &n, &h);
    step_bwd_cnum(n, u[1], 1, &k[0], &k[1]);
}

/* The derivative of the coefficients (src/cells/cell.h), by the complex
 * step through the step above: to the pre-activation and to theta. */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)zhbar, (void)sbar;
    const int H = ly->H;
    const real *n = ly->z + rl_row(ly, t, b), *theta = ly->extra;
    for (int j = j0; j < j1; j++) {
        const real u[2] = {0, theta[j]}, kq[2] = {kbar[j], kbar[H + j]};
        real ub[2] = {0};
        rl_cstep_vjp(2, 2, u, coefs, &n[j], kq, ub);
        zbar[j] += ub[0];
        if (dextra) dextra[j] += ub[1];
    }
}

RL_OPS_DEFINE(rl_cell_ops, rl_leaky_ops, .fwd = fwd, .bwd = bwd, .extra_grad = extra_grad, .jac_vjp = jac_vjp);

#ifdef RL_REAL_F64
/* theta from init: one rate for every unit, theta = logit(leak); or time
 * scales 1/alpha log-uniform in [lo, hi] (alpha = 1/tau, so theta =
 * -ln(tau - 1)); neither: PyTorch's uniform, as every other tensor */
static rl_status init_leak(double *theta, int H, const rl_init *init, rl_rng *rng)
{
    const double lo = init->timescales[0], hi = init->timescales[1];
    if (init->leak != 0 && (lo != 0 || hi != 0))
        return rl_fail(RL_ERR_ARG, "give one of leak (one rate) and timescales (a range), not both");
    if (init->leak != 0) {
        if (!(init->leak > 0 && init->leak < 1))
            return rl_fail(RL_ERR_ARG, "leak = %g must be in (0, 1): alpha = 1 is the tanh cell", init->leak);
        for (int j = 0; j < H; j++) theta[j] = log(init->leak / (1 - init->leak));
    } else if (lo != 0 || hi != 0) {
        if (!(lo > 1 && lo <= hi && isfinite(hi)))
            return rl_fail(RL_ERR_ARG, "timescales %g,%g must satisfy 1 < a <= b (a time scale 1/alpha of 1 is the tanh cell)",
                           lo, hi);
        for (int j = 0; j < H; j++) {
            double tau = exp(log(lo) + (log(hi) - log(lo)) * rl_rng_uniform(rng));
            theta[j] = -log(tau - 1);
        }
    }
    return RL_OK;
}

#endif

RL_CELL_ROW(leaky, RL_CELL_LEAKY, leaky,
            .equation = "h_t = (1 - a) h_{t-1} + a tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), a = sigmoid(leak) per "
                        "unit",
            RL_TORCH_UNIT_CELL("rnn.leak_l%d"), .cache_gates = 1, .init_extra = init_leak);
