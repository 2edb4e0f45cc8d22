/* Gradient flossing (Engelken, NeurIPS 2023): the top k Lyapunov exponents
 * of each sequence's own trajectory, by QR re-orthonormalisation of the
 * step Jacobians J_t (src/jacobian.c builds them from the cell table),
 *
 *   Q_0 = I[:, :k],  J_t Q_{t-1} = Q_t R_t,  lambda_i = (1/T) sum_t ln|R_t[i,i]|,
 *   F = mean over b of (1/k) sum_i (lambda_i - target)^2,
 *
 * and the gradient of F through everything, in float64. Three sweeps per
 * sequence (docs/design.md, "Regularisers on the Jacobians"):
 *
 * 1. forward: the trajectory (rl_forward on a B = 1 workspace), then for
 *    t = 1..T the QR of A_t = J_t Q_{t-1}; Q_t and R_t are kept.
 * 2. back through the QRs, t = T..1: R_t's cotangent is diagonal,
 *    Rbar_ii = (dF/dlambda_i) / (T R_ii); the QR's adjoint (Seeger et al.
 *    2018; the rule of BackwardsLinalg.jl that Engelken's code runs)
 *      M = R Rbar^T - Qbar^T Q,  Abar = (Qbar + Q copyltu(M)) R^-T,
 *    then through A_t = J_t Q_{t-1}: Qbar_{t-1} = J_t^T Abar, Jbar_t = Abar Q_{t-1}^T.
 *    J_t is linear in the weights (W_hh, and W_ih between layers) given its
 *    coefficients kappa_t (the backward step seeded with ones); Jbar_t gives
 *    their cotangents directly, and the coefficients' cotangent kappabar_t
 *    goes through the cell's jac_vjp (src/cell.h) to what kappa_t is made
 *    of: the step's pre-activations, its previous state and the cell's own
 *    parameter. These are kept per step as "injections".
 * 3. back along the trajectory: the ordinary BPTT step of every cell (its
 *    bwd), with the injections added where they belong (a pre-activation's
 *    to dL/dz_t after the step, a state's to dL/ds_t), from the top layer
 *    down; then the weight gradients as in src/loop.c. */
#include "analysis/jacobian.h"
#include "cells/cell.h"
#include "net/net.h"
#include "net/orth_ws.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* |R_ii| at or below this times max_j |R_jj|: rank-deficient */
#define RANK_TOL 1e-13

typedef struct {
    const rl_model *m; /* float64 */
    const rl_cell_desc *d;
    rl_ws *ws; /* B = 1 */
    int S, K, T, L, H, NI, CL, G, Gh, Z; /* H: the units of a layer's state (U); Z: its input side's rows */
    double *x, *h0, *c0; /* the sequence: (T, I), (L, H), (L, H) */
    rl_batch b;
    double *Q, *R, *tau;           /* (T+1, S, K), (T, K, K), (K) */
    double *J, *Jb, *Y, *Qb, *M;   /* (S, S), (S, S), (S, K), (S, K), (K, K) */
    double *E, *Eb, *scratch;      /* (H, H), (H, H), rl_jac_scratch_size */
    double *kap, *kapb, *ones, *zeros; /* (states, CL) twice, (H) twice: the seeds */
    double *zinj, *zhinj, *sinj;   /* (L, T, G*H), (L, T, Gh*H), (L, T, states*H) */
    double *g, *dwhh;              /* (num_params) this call's gradient; (L, Gh*H, H) or (L, H) dF/dW_hh */
    double *dh, *dz, *dzh, *dxb, *dc, *dh0, *dc0; /* (T, H), (T, G*H), (T, Gh*H), (T, H), (H), (L, H), (L, H) */
    double *lam;                   /* (K) */
} floss_ws;

/* the elements of one layer's R (src/cells/recur.h) */
static size_t whh_len(const floss_ws *f)
{
    return rl_cell_recur(f->d)->ndim == 2 ? (size_t)f->Gh * f->H * f->H : (size_t)f->H;
}

static void floss_free(floss_ws *f)
{
    rl_ws_free(f->ws);
    double *p[] = {f->x, f->h0, f->c0, f->Q, f->R, f->tau, f->J, f->Jb, f->Y, f->Qb, f->M, f->E, f->Eb,
                   f->scratch, f->kap, f->kapb, f->ones, f->zeros, f->zinj, f->zhinj, f->sinj, f->g, f->dwhh, f->dh,
                   f->dz, f->dzh, f->dxb, f->dc, f->dh0, f->dc0, f->lam};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) rl_free(p[i]);
}

static rl_status floss_alloc(floss_ws *f, const rl_model *m, int T, int K, int grad)
{
    const rl_cell_desc *d = m->cell;
    f->m = m, f->d = d, f->T = T, f->K = K, f->S = rl_state_size(m);
    f->L = m->cfg.num_layers, f->H = rl_model_units(m), f->NI = m->cfg.input_size;
    f->G = d->gates, f->Gh = d->hh_gates, f->Z = rl_cell_proj(d, &m->cfg), f->CL = rl_coef_len(d, f->H, f->Z);
    const size_t S = (size_t)f->S, H = (size_t)f->H, L = (size_t)f->L, TT = (size_t)T, n = (size_t)d->states;
    rl_status s = rl_ws_new(&f->ws, m, 1, T);
    if (s) return s;
    int ok = (f->x = rl_alloc(TT * (size_t)f->NI, 8)) && (f->h0 = rl_alloc(L * H, 8)) && (f->c0 = rl_alloc(L * H, 8)) &&
             (f->Q = rl_alloc((TT + 1) * S * (size_t)K, 8)) && (f->R = rl_alloc(TT * (size_t)K * K, 8)) &&
             (f->tau = rl_alloc((size_t)K, 8)) && (f->J = rl_alloc(S * S, 8)) && (f->Y = rl_alloc(S * (size_t)K, 8)) &&
             (f->scratch = rl_alloc(rl_jac_scratch_size(m), 8)) && (f->lam = rl_alloc((size_t)K, 8));
    if (ok && grad) {
        const size_t GH = (size_t)f->Z, GhH = (size_t)f->Gh * H;
        ok = (f->Jb = rl_alloc(S * S, 8)) && (f->Qb = rl_alloc(S * (size_t)K, 8)) && (f->M = rl_alloc((size_t)K * K, 8)) &&
             (f->E = rl_alloc(H * H, 8)) && (f->Eb = rl_alloc(H * H, 8)) && (f->kap = rl_alloc(n * f->CL, 8)) &&
             (f->kapb = rl_alloc(n * f->CL, 8)) && (f->ones = rl_alloc(H, 8)) && (f->zeros = rl_alloc(H, 8)) &&
             (f->zinj = rl_alloc(L * TT * GH, 8)) && (f->zhinj = rl_alloc(L * TT * GhH, 8)) &&
             (f->sinj = rl_alloc(L * TT * n * H, 8)) && (f->g = rl_alloc(m->num_params, 8)) &&
             (f->dwhh = rl_alloc(L * whh_len(f), 8)) && (f->dh = rl_alloc(TT * H, 8)) && (f->dz = rl_alloc(TT * GH, 8)) &&
             (f->dzh = rl_alloc(TT * GhH, 8)) && (f->dxb = rl_alloc(TT * H, 8)) && (f->dc = rl_alloc(H, 8)) &&
             (f->dh0 = rl_alloc(L * H, 8)) && (f->dc0 = rl_alloc(L * H, 8));
        for (size_t j = 0; ok && j < H; j++) f->ones[j] = 1;
    }
    return ok ? RL_OK : RL_ERR_NOMEM;
}

/* Sequence seq of b as a batch of one, in float64, and its forward pass. */
static rl_status load_sequence(floss_ws *f, const rl_batch *b, int seq)
{
    const int T = f->T, NI = f->NI, L = f->L, H = f->H;
    for (size_t i = 0; i < (size_t)T * NI; i++) f->x[i] = rl_load(b->x, b->dtype, (size_t)seq * T * NI + i);
    for (int l = 0; l < L; l++)
        for (int i = 0; i < H; i++) {
            size_t at = ((size_t)l * b->batch + seq) * H + i;
            f->h0[(size_t)l * H + i] = b->h0 ? rl_load(b->h0, b->dtype, at) : 0;
            f->c0[(size_t)l * H + i] = b->c0 ? rl_load(b->c0, b->dtype, at) : 0;
        }
    f->b = (rl_batch){RL_F64, 1, T, NI, f->x, NULL, NULL, NULL, f->h0, f->d->states == 2 ? f->c0 : NULL};
    return rl_forward(f->ws, f->m, &f->b, NULL);
}

/* Sweep 1: Q_t, R_t for t = 1..T and the exponents into f->lam. */
static rl_status qr_sweep(floss_ws *f, int seq)
{
    const int S = f->S, K = f->K, T = f->T;
    double *Q0 = f->Q;
    memset(Q0, 0, (size_t)S * K * sizeof *Q0);
    for (int i = 0; i < K; i++) Q0[(size_t)i * K + i] = 1; /* the first k columns of the identity */
    for (int i = 0; i < K; i++) f->lam[i] = 0;
    for (int t = 1; t <= T; t++) {
        double *Qp = f->Q + (size_t)(t - 1) * S * K, *Qt = Qp + (size_t)S * K, *Rt = f->R + (size_t)(t - 1) * K * K;
        rl_jac_build(f->m, f->ws, t, f->J, f->scratch);
        /* A_t = J_t Q_{t-1}, factorised in place into Q_t */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, K, S, 1, f->J, S, Qp, K, 0, Qt, K);
        for (size_t i = 0; i < (size_t)S * K; i++)
            if (!isfinite(Qt[i]))
                return rl_fail(RL_ERR_NONFINITE, "gradient flossing: J_t Q_{t-1} is not finite at step %d of sequence %d",
                               t, seq);
        lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, S, K, Qt, K, f->tau);
        if (info) return rl_fail(RL_ERR_LAPACK, "gradient flossing: dgeqrf failed at step %d (info %d)", t, (int)info);
        double top = 0;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) Rt[(size_t)i * K + j] = j >= i ? Qt[(size_t)i * K + j] : 0;
        for (int i = 0; i < K; i++) top = fmax(top, fabs(Rt[(size_t)i * K + i]));
        for (int i = 0; i < K; i++) {
            double r = fabs(Rt[(size_t)i * K + i]);
            if (!(r > RANK_TOL * top))
                return rl_fail(RL_ERR_NONFINITE,
                               "gradient flossing: R_t is rank-deficient at step %d of sequence %d (|R[%d,%d]| = %g, "
                               "largest %g): the Jacobians keep fewer than k = %d directions",
                               t, seq, i, i, r, top, K);
            f->lam[i] += log(r);
        }
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, S, K, K, Qt, K, f->tau);
        if (info) return rl_fail(RL_ERR_LAPACK, "gradient flossing: dorgqr failed at step %d (info %d)", t, (int)info);
    }
    for (int i = 0; i < K; i++) f->lam[i] /= T;
    return RL_OK;
}

/* Layer l's coefficients of step index t (state s[t+1]) for component r,
 * into one block of the jac_vjp layout: the backward step seeded with ones
 * on that component. */
static void coefs(floss_ws *f, const rl_layer_f64 *ly, int t, int r, double *k)
{
    const rl_cell_desc *d = f->d;
    const int H = f->H, two = d->states == 2;
    double *kdz = k, *khid = d->hh_apart ? k + (size_t)f->Z : k;
    double *kdh = k + (size_t)f->Z + (size_t)(d->hh_apart ? f->Gh : 0) * H, *kdc = kdh + H;
    memset(kdh, 0, (size_t)H * sizeof *kdh);
    /* LSTM's bwd takes dL/dc_{t+1} in kdc and leaves dL/dc_t there: the direct c coefficient */
    if (two)
        for (int j = 0; j < H; j++) kdc[j] = r == 1;
    d->f64->bwd(ly, t, 0, 0, H, r == 0 ? f->ones : f->zeros, two ? kdc : NULL, kdz, khid, kdh);
}

/* out (H, n) = sum_g diag(coef[g]) W[g], W (G*H, n) */
static void combine(double *out, const double *W, int H, int n, int G, const double *coef)
{
    memset(out, 0, (size_t)H * n * sizeof *out);
    for (int g = 0; g < G; g++)
        for (int j = 0; j < H; j++) {
            double a = coef[(size_t)g * H + j];
            if (a != 0) cblas_daxpy(n, a, W + ((size_t)g * H + j) * n, 1, out + (size_t)j * n, 1);
        }
}

static double *tensor_grad(floss_ws *f, int l, rl_role r)
{
    int i = rl_t(f->m, l, r);
    return i < 0 ? NULL : f->g + f->m->tensors[i].offset;
}

/* Sweep 2's step t (1..T): Jbar_t (which this changes: the rows of a lower
 * layer gather what the upper layers pass down) into dF/dW and the
 * injections of step index t-1. */
static void jbar_step(floss_ws *f, int t)
{
    const rl_cell_desc *d = f->d;
    const int S = f->S, H = f->H, G = f->G, Gh = f->Gh, n = d->states, apart = d->hh_apart;
    const size_t CL = (size_t)f->CL, ti = (size_t)t - 1;
    for (int l = f->L - 1; l >= 0; l--) {
        rl_layer_f64 ly = rl_layer_of_f64(f->ws, f->m, l);
        const int off = n * l * H;
        const double *w = ly.w_hh;
        double *dw = f->dwhh + (size_t)l * whh_len(f);
        memset(f->kapb, 0, (size_t)n * CL * sizeof *f->kapb);
        for (int r = 0; r < n; r++) coefs(f, &ly, (int)ti, r, f->kap + r * CL);
        for (int r = 0; r < n; r++) {
            const double *k = f->kap + r * CL, *khid = apart ? k + (size_t)f->Z : k;
            double *kb = f->kapb + r * CL, *kbhid = apart ? kb + (size_t)f->Z : kb;
            double *kbdh = kb + (size_t)(G + (apart ? Gh : 0)) * H, *kbdc = kbdh + H;
            double *Jr = f->Jb + (size_t)(off + r * H) * S; /* this component's rows of Jbar_t */
            /* through R: J[j, k] = sum_g khid[g, j] R[g*H + j, k] + [j = k] (direct h) */
            rl_cell_recur(d)->jac_adj(Gh, H, w, khid, Jr + off, (size_t)S, dw, kbhid);
            for (int j = 0; j < H; j++) {
                const double *jb = Jr + (size_t)j * S + off;
                kbdh[j] += jb[j];
                if (n == 2) kbdc[j] += jb[H + j];
            }
            if (l == 0) continue;
            /* through the layer below at the same step: J[l rows, cols < off] = E J[l-1 h rows, cols < off],
             * E = sum_g diag(kdz[g]) W_ih[g] (H, H) */
            const int below = off - n * H;
            combine(f->E, ly.w_ih, H, H, G, k);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H, H, off, 1, Jr, S, f->J + (size_t)below * S, S, 0,
                        f->Eb, H);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, off, H, 1, f->E, H, Jr, S, 1,
                        f->Jb + (size_t)below * S, S);
            double *dwih = tensor_grad(f, l, RL_W_IH);
            for (int g = 0; g < G; g++)
                for (int j = 0; j < H; j++) {
                    const size_t wr = ((size_t)g * H + j) * H;
                    cblas_daxpy(H, k[(size_t)g * H + j], f->Eb + (size_t)j * H, 1, dwih + wr, 1);
                    kb[(size_t)g * H + j] += cblas_ddot(H, f->Eb + (size_t)j * H, 1, ly.w_ih + wr, 1);
                }
        }
        const size_t GH = (size_t)f->Z, GhH = (size_t)Gh * H;
        d->f64->jac_vjp(&ly, (int)ti, 0, 0, H, f->kapb, f->zinj + ((size_t)l * f->T + ti) * GH,
                        apart ? f->zhinj + ((size_t)l * f->T + ti) * GhH : NULL,
                        f->sinj + ((size_t)l * f->T + ti) * n * H, tensor_grad(f, l, RL_EXTRA));
    }
}

/* Sweep 2: back through the QRs, with dF/dlambda_i in lbar. */
static void qr_adjoint_sweep(floss_ws *f, const double *lbar)
{
    const int S = f->S, K = f->K, T = f->T;
    memset(f->Qb, 0, (size_t)S * K * sizeof *f->Qb); /* Q_T is not used */
    for (int t = T; t >= 1; t--) {
        const double *Qp = f->Q + (size_t)(t - 1) * S * K, *Qt = Qp + (size_t)S * K, *Rt = f->R + (size_t)(t - 1) * K * K;
        /* M = R Rbar^T - Qbar^T Q, Rbar = diag(lbar_i / (T R_ii)) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, K, S, -1, f->Qb, K, Qt, K, 0, f->M, K);
        for (int i = 0; i < K; i++)
            for (int j = i; j < K; j++) f->M[(size_t)i * K + j] += Rt[(size_t)i * K + j] * lbar[j] / (T * Rt[(size_t)j * K + j]);
        /* copyltu: the lower triangle mirrored into the upper */
        for (int i = 0; i < K; i++)
            for (int j = i + 1; j < K; j++) f->M[(size_t)i * K + j] = f->M[(size_t)j * K + i];
        /* Abar = (Qbar + Q copyltu(M)) R^-T */
        memcpy(f->Y, f->Qb, (size_t)S * K * sizeof *f->Y);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, K, K, 1, Qt, K, f->M, K, 1, f->Y, K);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit, S, K, 1, Rt, K, f->Y, K);
        /* A_t = J_t Q_{t-1}: Qbar_{t-1} = J_t^T Abar, Jbar_t = Abar Q_{t-1}^T */
        rl_jac_build(f->m, f->ws, t, f->J, f->scratch);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, K, S, 1, f->J, S, f->Y, K, 0, f->Qb, K);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, K, 1, f->Y, K, Qp, K, 0, f->Jb, S);
        jbar_step(f, t);
    }
}

/* Sweep 3: BPTT along the trajectory with the injections, layer by layer
 * from the top, through the one time loop (src/net/loop.c): nothing comes
 * from the readout (F does not read it); the states' injections are added
 * to dL/dh before, the pre-activations' after each step. */
static void trajectory_sweep(floss_ws *f)
{
    const rl_cell_desc *d = f->d;
    const int T = f->T, H = f->H, Gh = f->Gh, n = d->states, apart = d->hh_apart;
    const size_t GH = (size_t)f->Z, GhH = (size_t)Gh * H, nH = (size_t)n * H;
    memset(f->dxb, 0, (size_t)T * H * sizeof *f->dxb);
    for (int l = f->L - 1; l >= 0; l--) {
        rl_layer_f64 ly = rl_layer_of_f64(f->ws, f->m, l);
        const double *xin = l ? ly.h - (size_t)(T + 1) * H + H : f->x; /* layer l-1's h[1..T], or x */
        const double *si = f->sinj + (size_t)l * T * nH;
        double *dh0 = f->dh0 + (size_t)l * H, *dc0 = f->dc0 + (size_t)l * H;
        /* dL/dh from above, plus the states' injections: h[t] is row t-1, h[0] is dh0 */
        memcpy(f->dh, f->dxb, (size_t)T * H * sizeof *f->dh);
        for (int t = 1; t < T; t++) cblas_daxpy(H, 1, si + (size_t)t * nH, 1, f->dh + (size_t)(t - 1) * H, 1);
        cblas_daxpy(H, 1, si, 1, dh0, 1);
        ly.dh = f->dh, ly.dz = f->dz, ly.dzh = apart ? f->dzh : f->dz, ly.dc = n == 2 ? f->dc : NULL;
        ly.dh0 = dh0, ly.dc0 = dc0;
        ly.inj_z = f->zinj + (size_t)l * T * GH, ly.inj_zh = apart ? f->zhinj + (size_t)l * T * GhH : NULL;
        /* LSTM: dL/dc_{t+1} gets its injection before the step that reads it */
        ly.inj_c = n == 2 ? si + H : NULL, ly.inj_cld = nH;
        rl_layer_backward_f64(d, &ly, l ? f->dxb : NULL, tensor_grad(f, l, RL_W_IH), f->dwhh + (size_t)l * whh_len(f),
                              tensor_grad(f, l, RL_B_IH), tensor_grad(f, l, RL_B_HH), tensor_grad(f, l, RL_EXTRA), xin,
                              NULL, NULL, NULL);
        if (n == 2) cblas_daxpy(H, 1, si + H, 1, dc0, 1);
    }
}

/* dF/dW_hh, kept apart until now, into W_hh's gradient, or for an orthogonal
 * W_hh = B map(A(X)) through the map into X's (src/orth.h). */
static rl_status whh_grad(floss_ws *f)
{
    const rl_model *m = f->m;
    const int H = f->H;
    double *scratch = NULL;
    int *ipiv = NULL;
    if (m->orth != RL_ORTH_NONE &&
        (!(scratch = rl_alloc(rl_orth_scratch_size(H), 8)) || !(ipiv = rl_alloc((size_t)H, sizeof *ipiv)))) {
        rl_free(scratch);
        return RL_ERR_NOMEM;
    }
    rl_status s = RL_OK;
    for (int l = 0; !s && l < f->L; l++) {
        const double *src = f->dwhh + (size_t)l * whh_len(f);
        if (m->cell->f64->derive_back) { /* lru: dF/dlambda into its nu and theta */
            m->cell->f64->derive_back(rl_tensor_data(m, rl_t(m, l, RL_EXTRA)), rl_layer_whh(f->ws, m, l), src,
                                      tensor_grad(f, l, RL_EXTRA), H);
        } else if (m->orth == RL_ORTH_NONE) {
            double *dw = tensor_grad(f, l, RL_W_HH); /* NULL: the cell has no R */
            for (size_t i = 0; dw && i < whh_len(f); i++) dw[i] += src[i];
        } else {
            s = rl_orth_layer_backward(m->orth, H, rl_tensor_data(m, rl_t(m, l, RL_ORTH_X)),
                                       rl_tensor_data(m, rl_t(m, l, RL_ORTH_BASE)), src, tensor_grad(f, l, RL_ORTH_X),
                                       scratch, ipiv);
        }
    }
    rl_free(scratch);
    rl_free(ipiv);
    return s;
}

rl_status rl_floss(const rl_model *m0, const rl_batch *b, const rl_floss_config *cfg, double *floss, double *lambda,
                   void *grad, void *grad_h0, void *grad_c0)
{
    const int S = rl_state_size(m0), K = cfg->k, B = b->batch, T = b->steps;
    if (K < 1 || K > S)
        return rl_fail(RL_ERR_ARG, "gradient flossing: k = %d exponents, but the state has S = %d dimensions (1 <= k <= S)",
                       K, S);
    if (!(cfg->weight >= 0) || !isfinite(cfg->weight))
        return rl_fail(RL_ERR_ARG, "the weight of gradient flossing is %g: it must be >= 0", cfg->weight);
    if (!isfinite(cfg->target)) return rl_fail(RL_ERR_ARG, "the flossing target %g is not finite", cfg->target);
    if (!b->x || T < 1 || B < 1) return rl_fail(RL_ERR_ARG, "gradient flossing needs inputs x with T >= 1 steps");
    if (b->input_size != m0->cfg.input_size)
        return rl_fail(RL_ERR_ARG, "the batch has input size %d but the model %d", b->input_size, m0->cfg.input_size);
    if (m0->cell->out_map && m0->cfg.num_layers > 1)
        return rl_fail(RL_ERR_ARG, "gradient flossing of a %d-layer %s: through the output map between its layers it is "
                                   "not implemented (one layer is)", m0->cfg.num_layers, m0->cell->name);
    rl_model *m = NULL;
    floss_ws f = {0};
    const int want = grad != NULL || grad_h0 != NULL || grad_c0 != NULL;
    rl_status s = rl_model_cast(&m, m0, RL_F64);
    if (!s) s = floss_alloc(&f, m, T, K, want);
    const int L = f.L, H = f.H;
    double total = 0;
    int blas = rl_blas_single();
    for (int seq = 0; !s && seq < B; seq++) {
        s = load_sequence(&f, b, seq);
        if (!s) s = qr_sweep(&f, seq);
        if (s) break;
        double fb = 0;
        for (int i = 0; i < K; i++) fb += (f.lam[i] - cfg->target) * (f.lam[i] - cfg->target) / K;
        total += fb / B;
        if (lambda) memcpy(lambda + (size_t)seq * K, f.lam, (size_t)K * sizeof *lambda);
        if (!want || cfg->weight == 0) continue;
        /* dF/dlambda_i, weighted */
        double *lbar = f.tau; /* free until the next QR */
        for (int i = 0; i < K; i++) lbar[i] = cfg->weight * 2 * (f.lam[i] - cfg->target) / ((double)K * B);
        memset(f.zinj, 0, (size_t)L * T * f.Z * sizeof *f.zinj);
        memset(f.zhinj, 0, (size_t)L * T * f.Gh * H * sizeof *f.zhinj);
        memset(f.sinj, 0, (size_t)L * T * f.d->states * H * sizeof *f.sinj);
        memset(f.dh0, 0, (size_t)L * H * sizeof *f.dh0);
        memset(f.dc0, 0, (size_t)L * H * sizeof *f.dc0);
        qr_adjoint_sweep(&f, lbar);
        trajectory_sweep(&f);
        for (int l = 0; l < L; l++)
            for (int j = 0; j < H; j++) {
                size_t at = ((size_t)l * B + seq) * H + j;
                if (grad_h0) rl_store(grad_h0, m0->dtype, at, rl_load(grad_h0, m0->dtype, at) + f.dh0[(size_t)l * H + j]);
                if (grad_c0 && f.d->states == 2)
                    rl_store(grad_c0, m0->dtype, at, rl_load(grad_c0, m0->dtype, at) + f.dc0[(size_t)l * H + j]);
            }
    }
    rl_blas_restore(blas);
    if (!s && want && cfg->weight > 0 && grad) s = whh_grad(&f);
    if (!s && want && cfg->weight > 0 && grad)
        for (size_t i = 0; i < m->num_params; i++) rl_store(grad, m0->dtype, i, rl_load(grad, m0->dtype, i) + f.g[i]);
    if (!s) *floss = total;
    floss_free(&f);
    rl_model_free(m);
    return s;
}
