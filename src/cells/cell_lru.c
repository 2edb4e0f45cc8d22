/* The linear recurrent unit, LRU (Orvieto et al. 2023, "Resurrecting
 * recurrent neural networks for long sequences"): N complex units,
 *   lambda = exp(-exp(nu) + i exp(theta)),  gamma = exp(gamma_log),
 *   x_t = lambda x_{t-1} + gamma (B u_t),   B = B_re + i B_im (N, I_k),
 *   y_t = act(Re(C x_t) + D u_t),          C = C_re + i C_im (H, N), D (H, I_k),
 * act linear, relu, tanh or gelu (the erf form, a Phi(a); the default).
 * The state the Jacobian tools see is the real vector [Re x; Im x] (U = 2N)
 * and it evolves by the recurrence table's complex diagonal (cdiag): J_t's
 * block is constant, [[diag Re l, -diag Im l], [diag Im l, diag Re l]], with
 * eigenvalues lambda and its conjugate: the seed's theorem holds exactly.
 * Tensors per layer (buffer order): rnn.nu_log_l{k}, rnn.theta_log_l{k},
 * rnn.gamma_log_l{k} (N, the cell's own), rnn.B_re_l{k}, rnn.B_im_l{k} (N,
 * I_k) and rnn.D_l{k} (H, I_k) (the input side, one GEMM: [Re Bu; Im Bu;
 * Du]), rnn.C_re_l{k}, rnn.C_im_l{k} (H, N) (the output map). The minimal
 * LRU code differs: a vector D multiplied elementwise, no activation in the
 * layer (flax's tanh-approximated gelu after it), and layers wrapped in a
 * GLU, norms and skip connections (docs/jacobians.md). Compiled once per
 * real type (base/real.h). */
#include "cells/cell_real.h"

#include <math.h>
#include <string.h>

/* One unit of the state (j < 2N: real part of unit j, or imaginary of j - N)
 * over a scalar type N (cells/cell_real.h): forward x = gamma z + r, where
 * z is gamma's input (B u) and r the recurrence's lambda x_{t-1}; backward
 * from dx: dL/dz = gamma dx, dL/dr = dx. gamma = exp(gamma_log). */
#define LRU_STEP(N, EXP)                                                                                        \
    static inline N step_fwd_##N(N glog, N z, N r) { return EXP(glog) * z + r; }                                \
    static inline void step_bwd_##N(N glog, N dx, N *dz, N *dr) { *dz = EXP(glog) * dx, *dr = dx; }
LRU_STEP(real, rl_fn_exp)
LRU_STEP(cnum, rl_cfn_exp)

/* the layer's own parameters: nu, theta, gamma_log, N each */
static inline const real *gamma_log(const rl_layer *ly) { return ly->extra + ly->U; }

/* sequence b's step t, units [j0, j1) of [Re x; Im x]: z holds B u_t (and
 * D u_t after it), hw the recurrence's lambda x_{t-1}, reset to 0; der
 * gamma per row (derive) */
RL_CLONES_EW static void fwd(const rl_layer *ly, int t, int b, int j0, int j1)
{
    const int U = ly->U;
    const real *z = ly->z + ((size_t)t * ly->B + (size_t)b) * ly->Z, *g = ly->der;
    real *r = ly->hw + (size_t)b * U, *x = ly->h + ((size_t)(t + 1) * ly->B + (size_t)b) * U;
    for (int j = j0; j < j1; j++) {
        x[j] = g[j] * z[j] + r[j];
        r[j] = 0;
    }
}

RL_CLONES_EW static void bwd(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc, real *dz,
                          real *dzh, real *dprev)
{
    (void)t, (void)b, (void)dc, (void)dprev;
    const real *g = ly->der;
    for (int j = j0; j < j1; j++) dz[j] = g[j] * dh[j], dzh[j] = dh[j];
}

/* dL/dgamma_log += gamma sum_{t,b} (dL/dRe x Re Bu + dL/dIm x Im Bu), with
 * the complete dL/dx the time loop leaves in dh; nu's and theta's come
 * through lambda (derive_back). The sums in double, 64 rows of [Re x; Im
 * x] at a time over every step (each pass reads a row's contiguous piece). */
static void extra_grad(const rl_layer *ly, real *down)
{
    const size_t TB = (size_t)ly->T * ly->B;
    const int U = ly->U, N = U / 2, Z = ly->Z;
    double acc[64];
    for (int j0 = 0; j0 < U; j0 += 64) {
        const int w = U - j0 < 64 ? U - j0 : 64;
        for (int j = 0; j < w; j++) acc[j] = 0;
        for (size_t r = 0; r < TB; r++) {
            const real *dx = ly->dh + r * U + j0, *z = ly->z + r * Z + j0;
            for (int j = 0; j < w; j++) acc[j] += (double)dx[j] * z[j];
        }
        for (int j = 0; j < w; j++) {
            const int n = (j0 + j) % N; /* unit n's real row, then its imaginary row */
            down[2 * N + n] += (real)(ly->der[j0 + j] * acc[j]);
        }
    }
}

/* the coefficients (seeded with dx = 1) from u = (gamma_log): dL/dz, dL/dr */
static void coefs(const void *ctx, const cnum *u, cnum *k)
{
    (void)ctx;
    step_bwd_cnum(u[0], 1, &k[0], &k[1]);
}

/* The derivative of the coefficients (src/cells/cell.h) by the complex
 * step: they depend on gamma alone. A block of kbar: dz (Z), dzh (U), direct (U). */
static void jac_vjp(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar, real *zhbar,
                    real *sbar, real *dextra)
{
    (void)t, (void)b, (void)zbar, (void)zhbar, (void)sbar;
    const int U = ly->U, N = U / 2;
    const real *gl = gamma_log(ly);
    for (int j = j0; dextra && j < j1; j++) {
        const int n = j < N ? j : j - N;
        const real u[1] = {gl[n]}, kq[2] = {kbar[j], kbar[ly->Z + j]};
        real ub[1] = {0};
        rl_cstep_vjp(1, 2, u, coefs, NULL, kq, ub);
        dextra[2 * N + n] += ub[0];
    }
}

/* ---------------------------------------------------------------- lambda from nu and theta */

/* |lambda| = exp(-exp(nu)), arg lambda = exp(theta): W = [Re lambda; Im
 * lambda], in float64 (libm) whatever the model's type, and rounded once:
 * lambda^t carries any error of lambda t times; then gamma = exp(gamma_log)
 * for each row of [Re x; Im x] (the layer's der). */
static void derive(const real *own, real *W, int U)
{
    const int N = U / 2;
    for (int n = 0; n < N; n++) {
        double mod = exp(-exp((double)own[n])), ph = exp((double)own[N + n]);
        W[n] = (real)(mod * cos(ph)), W[N + n] = (real)(mod * sin(ph));
        W[U + n] = W[U + N + n] = RL_EXP(own[2 * N + n]); /* gamma, for the real and the imaginary row */
    }
}

/* dL/dnu = -e^nu (dRe Re + dIm Im), dL/dtheta = e^theta (dIm Re - dRe Im) */
static void derive_back(const real *own, const real *W, const real *dW, real *down, int U)
{
    const int N = U / 2;
    for (int n = 0; n < N; n++) {
        down[n] += (real)(-exp((double)own[n]) * ((double)dW[n] * W[n] + (double)dW[N + n] * W[N + n]));
        down[N + n] += (real)(exp((double)own[N + n]) * ((double)dW[N + n] * W[n] - (double)dW[n] * W[N + n]));
    }
}

/* ---------------------------------------------------------------- the output map */

/* act(a) and act'(a) */
/* gelu's erf and exp in the model's own type: libm's in float64, and in
 * float32 the inline ones of base/real.h, which vectorise (libm's erff and
 * expf are calls, a scalar loop) */
#ifdef RL_REAL_F64
#define GELU_ERF erf
#define GELU_EXP exp
#else
#define GELU_ERF rl_erff
#define GELU_EXP rl_expf
#endif

static inline real act(int kind, real a)
{
    switch (kind) {
    case RL_ACT_LINEAR: return a;
    case RL_ACT_RELU: return a > 0 ? a : 0;
    case RL_ACT_TANH: return RL_TANH(a);
    default: return (real)0.5 * a * (1 + GELU_ERF(a * (real)0.70710678118654752440));
    }
}
static inline real dact(int kind, real a)
{
    switch (kind) {
    case RL_ACT_LINEAR: return 1;
    case RL_ACT_RELU: return a > 0 ? 1 : 0;
    case RL_ACT_TANH: {
        real t = RL_TANH(a);
        return 1 - t * t;
    }
    default: /* gelu: Phi(a) + a phi(a) */
        return (real)0.5 * (1 + GELU_ERF(a * (real)0.70710678118654752440)) + a * (real)0.39894228040143267794 * GELU_EXP((real)-0.5 * a * a);
    }
}

/* ya = D u + Re x C_re^T - Im x C_im^T over all T*B rows, y = act(ya) */
static void out_fwd(const rl_layer *ly)
{
    const int TB = ly->T * ly->B, U = ly->U, N = U / 2, H = ly->H, Z = ly->Z;
    const real *X = ly->h + (size_t)ly->B * U, *Cre = ly->w_out, *Cim = ly->w_out + (size_t)H * N;
    for (size_t r = 0; r < (size_t)TB; r++) memcpy(ly->ya + r * H, ly->z + r * Z + U, (size_t)H * sizeof(real));
    RL_T(rl_gemm)(CblasNoTrans, CblasTrans, TB, H, N, 1, X, U, Cre, N, 1, ly->ya, H);
    RL_T(rl_gemm)(CblasNoTrans, CblasTrans, TB, H, N, -1, X + N, U, Cim, N, 1, ly->ya, H);
    const size_t n = (size_t)TB * H;
    const real *ya = ly->ya;
    real *y = ly->y;
    switch (ly->act) { /* a loop for each kind, so that each vectorises */
    case RL_ACT_LINEAR: memcpy(y, ya, n * sizeof(real)); break;
    case RL_ACT_RELU:
        RL_SIMD
        for (size_t i = 0; i < n; i++) y[i] = act(RL_ACT_RELU, ya[i]);
        break;
    case RL_ACT_TANH:
        RL_SIMD
        for (size_t i = 0; i < n; i++) y[i] = act(RL_ACT_TANH, ya[i]);
        break;
    default:
        RL_SIMD
        for (size_t i = 0; i < n; i++) y[i] = act(RL_ACT_GELU, ya[i]);
    }
}

/* from dy: da = dy act'(ya), the D rows' share of the input side (dz's last
 * H columns), dC_re += da^T Re x, dC_im -= da^T Im x, and
 * dL/dx = [da C_re, -da C_im] */
static void out_bwd(const rl_layer *ly, const real *dy, real *dstate, real *dw_out)
{
    const int TB = ly->T * ly->B, U = ly->U, N = U / 2, H = ly->H, Z = ly->Z;
    const real *X = ly->h + (size_t)ly->B * U, *Cre = ly->w_out, *Cim = ly->w_out + (size_t)H * N;
    real *da = ly->dz + U;
    for (size_t r = 0; r < (size_t)TB; r++) {
        const real *a = ly->ya + r * H, *d = dy + r * H;
        real *o = da + r * Z;
        switch (ly->act) { /* a loop for each kind, so that each vectorises */
        case RL_ACT_LINEAR: memcpy(o, d, (size_t)H * sizeof(real)); break;
        case RL_ACT_RELU:
            RL_SIMD
            for (int k = 0; k < H; k++) o[k] = d[k] * dact(RL_ACT_RELU, a[k]);
            break;
        case RL_ACT_TANH:
            RL_SIMD
            for (int k = 0; k < H; k++) o[k] = d[k] * dact(RL_ACT_TANH, a[k]);
            break;
        default:
            RL_SIMD
            for (int k = 0; k < H; k++) o[k] = d[k] * dact(RL_ACT_GELU, a[k]);
        }
    }
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, H, N, TB, 1, da, Z, X, U, 1, dw_out, N);
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, H, N, TB, -1, da, Z, X + N, U, 1, dw_out + (size_t)H * N, N);
    RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, TB, N, H, 1, da, Z, Cre, N, 0, dstate, U);
    RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, TB, N, H, -1, da, Z, Cim, N, 0, dstate + N, U);
}

RL_OPS_DEFINE(rl_cell_ops, rl_lru_ops, .fwd = fwd, .bwd = bwd, .extra_grad = extra_grad, .jac_vjp = jac_vjp,
              .out_fwd = out_fwd, .out_bwd = out_bwd, .derive = derive, .derive_back = derive_back);

#ifdef RL_REAL_F64
/* The output's rows of J_t at step t: diag(act'(a_t)) (C_re X_re - C_im X_im
 * + D below), X the state's rows (U, S), below the input's (H, S) or NULL. */
static void out_jac(const rl_layer_f64 *ly, int t, const double *X, const double *below, int S, double *out)
{
    const int U = ly->U, N = U / 2, H = ly->H, in = ly->in;
    const double *Cre = ly->w_out, *Cim = ly->w_out + (size_t)H * N, *D = ly->w_ih + (size_t)U * in;
    const double *a = ly->ya + (size_t)t * ly->B * H;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, S, N, 1, Cre, N, X, S, 0, out, S);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, S, N, -1, Cim, N, X + (size_t)N * S, S, 1, out, S);
    if (below) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, S, in, 1, D, in, below, S, 1, out, S);
    for (int k = 0; k < H; k++) cblas_dscal(S, dact(ly->act, a[k]), out + (size_t)k * S, 1);
}

/* The ring init (Orvieto et al. 2023, section 3.3): |lambda|^2 ~ U[r_min^2,
 * r_max^2] and arg lambda ~ U[0, max_phase], so nu = ln(-ln|lambda|) and
 * theta = ln(arg); gamma = sqrt(1 - |lambda|^2) (gamma_log by log1p);
 * B_re, B_im ~ N(0, 1/(2 I_k)), C_re, C_im ~ N(0, 1/N), D ~ U(+-1/sqrt(I_k)).
 * The uniform draws are kept inside (0, 1), where every logarithm is finite. */
static rl_status init_ring(double *const *p, int H, int in, int N, const rl_init *init, rl_rng *rng)
{
    const double rmin = init->r_min > 0 ? init->r_min : 0.9, rmax = init->r_max > 0 ? init->r_max : 0.999,
                 phase = init->max_phase > 0 ? init->max_phase : 2 * 3.14159265358979323846;
    if (!(rmin <= rmax && rmax < 1))
        return rl_fail(RL_ERR_ARG, "the ring init needs 0 <= r_min <= r_max < 1 (|lambda| in [r_min, r_max]), got r_min %g, "
                                   "r_max %g", rmin, rmax);
    for (int n = 0; n < N; n++) {
        double u1 = rl_rng_uniform(rng), u2 = rl_rng_uniform(rng);
        u1 = u1 > 0 ? u1 : 0.5 / 9007199254740992.0, u2 = u2 > 0 ? u2 : 0.5 / 9007199254740992.0;
        double mod2 = rmin * rmin + u1 * (rmax * rmax - rmin * rmin);
        p[0][n] = log(-0.5 * log(mod2));   /* nu: |lambda| = exp(-exp(nu)) */
        p[1][n] = log(phase * u2);         /* theta */
        p[2][n] = 0.5 * log1p(-mod2);      /* gamma_log */
    }
    for (size_t i = 0; i < (size_t)N * in; i++) {
        p[3][i] = rl_rng_normal(rng) * sqrt(1.0 / (2.0 * in));
        p[4][i] = rl_rng_normal(rng) * sqrt(1.0 / (2.0 * in));
    }
    for (size_t i = 0; i < (size_t)H * in; i++) p[5][i] = (2 * rl_rng_uniform(rng) - 1) / sqrt((double)in);
    for (size_t i = 0; i < (size_t)H * N; i++) {
        p[6][i] = rl_rng_normal(rng) * sqrt(1.0 / N);
        p[7][i] = rl_rng_normal(rng) * sqrt(1.0 / N);
    }
    return RL_OK;
}

#endif

RL_CELL_ROW(lru, RL_CELL_LRU, lru,
            .equation = "x_t = lambda x_{t-1} + gamma (B u_t), y_t = act(Re(C x_t) + D u_t), N complex units (Orvieto "
                        "et al. 2023)",
            .gates = 1, .hh_gates = 1, .recur = RL_RECUR_CDIAG,
            RL_PARAMS({"rnn.nu_log_l%d", RL_EXTRA, 1, RL_DIM_STATE, RL_DIM_NONE, RL_DIM_INPUT},
                      {"rnn.theta_log_l%d", RL_EXTRA, 1, RL_DIM_STATE, RL_DIM_NONE, RL_DIM_INPUT},
                      {"rnn.gamma_log_l%d", RL_EXTRA, 1, RL_DIM_STATE, RL_DIM_NONE, RL_DIM_INPUT},
                      {"rnn.B_re_l%d", RL_W_IH, 1, RL_DIM_STATE, RL_DIM_INPUT, RL_DIM_INPUT},
                      {"rnn.B_im_l%d", RL_W_IH, 1, RL_DIM_STATE, RL_DIM_INPUT, RL_DIM_INPUT},
                      {"rnn.D_l%d", RL_W_IH, 1, RL_DIM_HIDDEN, RL_DIM_INPUT, RL_DIM_INPUT},
                      {"rnn.C_re_l%d", RL_W_OUT, 1, RL_DIM_HIDDEN, RL_DIM_STATE, RL_DIM_STATE},
                      {"rnn.C_im_l%d", RL_W_OUT, 1, RL_DIM_HIDDEN, RL_DIM_STATE, RL_DIM_STATE}),
            .states = 1, .units_mult = 2, .out_map = 1, .cache_gates = 1, .hh_apart = 1,
            .init_layer = init_ring, .out_jac = out_jac,
            RL_GATES(-1, -1, -1));
