/* A cell's file sees its layer and its step functions in the real type of
 * the copy being compiled (base/real.h): rl_layer, rl_cell_ops, RL_OPS(d). */
#ifndef RL_CELL_REAL_H
#define RL_CELL_REAL_H

#include "base/real.h"
#include "cells/cell.h"

typedef RL_T(rl_layer) rl_layer;
typedef RL_T(rl_cell_ops) rl_cell_ops;
typedef RL_T(rl_recur_ops) rl_recur_ops;
/* a cell's step functions, and a recurrence's products, in this real type */
#ifdef RL_REAL_F64
#define RL_OPS(d) ((d)->f64)
#else
#define RL_OPS(d) ((d)->f32)
#endif

/* A cell's row (cells/cell.h), rl_cell_NAME: its id, its name "NAME", its
 * step functions rl_OPS_ops_f32 and _f64 (each copy's RL_OPS_DEFINE), then
 * the rest of its fields. The float64 copy defines it; the float32 copy only
 * declares it, so what the fields name (an init_extra, an out_jac) need be
 * in the float64 copy alone. */
#ifdef RL_REAL_F64
#define RL_CELL_ROW(NAME, ID, OPS, ...)                                                                         \
    extern const rl_cell_ops_f32 rl_##OPS##_ops_f32;                                                            \
    extern const rl_cell_ops_f64 rl_##OPS##_ops_f64;                                                            \
    const rl_cell_desc rl_cell_##NAME = {                                                                       \
        .id = ID, .name = #NAME, .f32 = &rl_##OPS##_ops_f32, .f64 = &rl_##OPS##_ops_f64, __VA_ARGS__}
#else
#define RL_CELL_ROW(NAME, ID, OPS, ...) extern const rl_cell_desc rl_cell_##NAME
#endif

/* The offset of sequence b's row at step t in a (T, B, H) buffer of the layer. */
static inline size_t rl_row(const rl_layer *ly, int t, int b) { return ((size_t)t * ly->B + (size_t)b) * ly->H; }

/* A backward step (cells/cell.h's bwd) that reads the unit's derivative
 * off its cached state h_t alone: dz = D(h_t, dL/dh_t) (tanh: dL/dh (1 -
 * h^2); relu, modrelu: dL/dh where the unit is on). */
#define RL_BWD_FROM_H(NAME, D)                                                                                  \
    RL_CLONES_EW static void NAME(const rl_layer *ly, int t, int b, int j0, int j1, const real *dh, real *dc,     \
                                  real *dz, real *dzh, real *dprev)                                             \
    {                                                                                                           \
        (void)dc, (void)dzh, (void)dprev;                                                                       \
        const real *h = ly->h + rl_row(ly, t + 1, b);                                                           \
        RL_SIMD                                                                                                 \
        for (int j = j0; j < j1; j++) dz[j] = D(h[j], dh[j]);                                                   \
    }

/* jac_vjp (cells/cell.h) of a cell whose step-Jacobian coefficients are
 * constant wherever they are differentiable (relu, linear, modrelu): their
 * derivatives are 0, and nothing is added. */
static inline void rl_vjp_none(const rl_layer *ly, int t, int b, int j0, int j1, const real *kbar, real *zbar,
                               real *zhbar, real *sbar, real *dextra)
{
    (void)ly, (void)t, (void)b, (void)j0, (void)j1, (void)kbar, (void)zbar, (void)zhbar, (void)sbar, (void)dextra;
}

/* ---------------------------------------------------------------- the gate primitives
 *
 * Each cell writes its step once, forward and backward, over a scalar type
 * N and these primitives (a unit at a time, infix arithmetic), and
 * instantiates it twice:
 *   real   the time loop's fwd and bwd: the activations computed (rl_act_*),
 *          the hot path, vectorised;
 *   cnum   the complex step (Squire & Trapp 1998; Martins, Sturdza & Alonso
 *          2003): an input perturbed by i h moves every output by i h times
 *          its derivative, to rounding, since C's complex product carries
 *          (a + i b)(c + i d) = ac - bd + i (ad + bc) and bd is of order h^2.
 *          Here an activation is the cached value plus i times its
 *          derivative (from the cached value: sigma' = s (1 - s), tanh' =
 *          1 - t^2) times the pre-activation's perturbation.
 * jac_vjp (src/cells/cell.h) is then the backward step's coefficients
 * differentiated by the complex step through the same forward and
 * backward code: no derivative is written twice. */
#include <complex.h>
#ifdef RL_REAL_F64
typedef double complex cnum;
#define RL_CSTEP 1e-150 /* h: h^2 far below the smallest double a derivative meets */
#else
typedef float complex cnum;
#define RL_CSTEP 1e-18f /* h^2 = 1e-36: below float's rounding of any value it meets */
#endif

static inline real rl_sigm(real v) { return 1 / (1 + RL_EXP(-v)); }
/* an activation from its pre-activation (real), or its cached value c
 * moved by the pre-activation's perturbation (complex) */
static inline real rl_act_sigm(real a, real c) { return (void)c, rl_sigm(a); }
static inline real rl_act_tanh(real a, real c) { return (void)c, RL_TANH(a); }
static inline cnum rl_cact_sigm(cnum a, real c) { return c + I * ((c * (1 - c)) * cimag(a)); }
static inline cnum rl_cact_tanh(cnum a, real c) { return c + I * ((1 - c * c) * cimag(a)); }
/* a nonlinearity of a value that is not cached (LSTM's tanh(c_t), the
 * leaky unit's sigma(theta)) */
static inline real rl_fn_tanh(real v) { return RL_TANH(v); }
static inline real rl_fn_sigm(real v) { return rl_sigm(v); }
static inline cnum rl_cfn_tanh(cnum v)
{
    real t = RL_TANH(creal(v));
    return t + I * ((1 - t * t) * cimag(v));
}
/* exp, for the cells that build their gates from it */
static inline real rl_fn_exp(real v) { return RL_EXP(v); }
static inline cnum rl_cfn_exp(cnum v)
{
    real e = RL_EXP(creal(v));
    return e + I * (e * cimag(v));
}
/* a when it is a number, else b (minLSTM's two forms of a ratio) */
static inline real rl_fn_number_or(real a, real b) { return a == a ? a : b; }
static inline cnum rl_cfn_number_or(cnum a, cnum b) { return creal(a) == creal(a) ? a : b; }
static inline cnum rl_cfn_sigm(cnum v)
{
    real s = rl_sigm(creal(v));
    return s + I * ((s * (1 - s)) * cimag(v));
}

/* The vector-Jacobian product of a unit's coefficients by the complex step:
 * u (P) the unit's inputs (pre-activations, previous state, its own
 * parameters), eval(ctx, u, coef) its Q coefficients (the backward step
 * seeded with ones), kbar (Q) their cotangents; ubar (P) += the inputs'
 * cotangents, one evaluation per input. */
#define RL_CSTEP_MAX 8
static inline void rl_cstep_vjp(int P, int Q, const real *u, void (*eval)(const void *ctx, const cnum *u, cnum *coef),
                                const void *ctx, const real *kbar, real *ubar)
{
    cnum cu[RL_CSTEP_MAX], coef[RL_CSTEP_MAX * 2];
    for (int p = 0; p < P; p++) {
        for (int q = 0; q < P; q++) cu[q] = u[q] + (q == p ? I * RL_CSTEP : 0);
        eval(ctx, cu, coef);
        real s = 0;
        for (int q = 0; q < Q; q++) s += kbar[q] * (cimag(coef[q]) / RL_CSTEP);
        ubar[p] += s;
    }
}
#endif
