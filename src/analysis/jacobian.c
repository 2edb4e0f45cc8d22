/* Jacobians through time: J_t = ds_t/ds_{t-1} from the activation cache, the
 * products P(t, tau) with their scale carried apart, per-lag statistics, and
 * the eigenvalue-product theorem (shared eigenvectors) as a check. All float64. */
#include "analysis/jacobian.h"
#include "cells/cell.h"
#include "net/net.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

struct rl_jac {
    rl_model *m;  /* float64 copy */
    rl_ws *ws;    /* B = 1 */
    rl_batch b;   /* the sequence: views into the arrays below */
    double *x, *y, *mask, *h0, *c0;
    int32_t *target;
    int S, T, L, H;
    double loss;
    int have_grad;
    double *J, *M, *tmp, *scratch; /* (S, S) x 3 and (H) */
};

int rl_state_size(const rl_model *m) { return m->cell->states * m->cfg.num_layers * rl_model_units(m); }

int rl_jac_state_size(const rl_jac *j) { return j->S; }
int rl_jac_steps(const rl_jac *j) { return j->T; }
double rl_jac_loss(const rl_jac *j) { return j->loss; }

/* Where layer l's h (and, for a two-state cell, then c) sit in the state vector. */
static int h_off(const rl_model *m, int l) { return m->cell->states * l * rl_model_units(m); }

/* scratch: the input sensitivities (states, U, H), then the coefficients
 * of one seed: dz (Z), dzh (Gh*U), seed, direct h, direct c (U each), then
 * for a cell with an output map two (H, S) blocks of output rows */
static size_t scratch_size(const rl_cell_desc *d, const rl_config *c)
{
    const size_t U = (size_t)rl_cell_units(d, c), H = (size_t)c->hidden_size, n = (size_t)d->states;
    const size_t Z = (size_t)rl_cell_proj(d, c), S = n * (size_t)c->num_layers * U;
    return n * U * H + Z + ((size_t)d->hh_gates + 3) * U + (d->out_map ? 2 * H * S : 0);
}

size_t rl_jac_scratch_size(const rl_model *m) { return scratch_size(m->cell, &m->cfg); }

/* rl_alloc's bytes for n elements of es bytes */
static double alloc_bytes(double n, double es) { return ceil(fmax(n, 1) * es / 64) * 64; }

#define LZ_MAX 96 /* Lanczos's steps at most, a lag (rl_jac_lags) */

double rl_jac_bytes(const rl_config *c, rl_orth orth, int T)
{
    double ws = rl_ws_bytes(c, orth, RL_F64, 1, T);
    if (ws <= 0) return 0;
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    const double U = rl_cell_units(d, c), S = d->states * c->num_layers * U, SS = S * S, L = c->num_layers;
    /* rl_jac_new: the model in float64, its workspace, the sequence, J, M, tmp and the scratch */
    double b = rl_model_bytes(c, orth, RL_F64) + ws + alloc_bytes((double)T * c->input_size, 8) + alloc_bytes(T, 8) +
               2 * alloc_bytes(L * U, 8) + 3 * alloc_bytes(SS, 8) + alloc_bytes((double)scratch_size(d, c), 8) +
               (c->loss == RL_LOSS_CE ? alloc_bytes(T, 4) : alloc_bytes((double)T * c->output_size, 8));
    /* rl_jac_lags: a matrix and seven vectors, Lanczos's basis and its small matrices (k = min(S, LZ_MAX)),
     * W_o^T dL/do (H) and, for a cell with an output map, the identity its direct term reads (S x S) */
    const double k = S < LZ_MAX ? S : LZ_MAX;
    return b + alloc_bytes(SS, 8) + 7 * alloc_bytes(S, 8) + alloc_bytes((k + 1) * S + 4 * S + 5 * k + k * k, 8) +
           alloc_bytes(c->hidden_size, 8) + (d->out_map ? alloc_bytes(SS, 8) : 0);
}

void rl_ws_state(const rl_ws *ws, int t, double *s)
{
    RL_ASSERT(ws->dtype == RL_F64 && ws->B == 1 && t >= 0 && t <= ws->T);
    const int H = rl_cell_units(rl_cell_desc_of(ws->cfg.cell), &ws->cfg), two = ws->c != NULL;
    for (int l = 0; l < ws->cfg.num_layers; l++) {
        double *at = s + (size_t)(two ? 2 : 1) * l * H;
        size_t row = ((size_t)l * (ws->T + 1) + (size_t)t) * H;
        memcpy(at, (const double *)ws->h + row, (size_t)H * 8);
        if (two) memcpy(at + H, (const double *)ws->c + row, (size_t)H * 8);
    }
}

/* The coefficients of layer l's step t (1..T) for state component r (0: h,
 * 1: c), from the cell's backward step seeded with ones on that component
 * (src/cell.h): d(component r)/d(pre-activations) on the input side (dz,
 * G*H) and the hidden side (dzh, Gh*H), and the direct derivatives to
 * h_{t-1} (dh, H) and c_{t-1} (dc, H) that bypass W_hh. */
typedef struct {
    double *dz, *dzh, *seed, *dh, *dc;
} coefs;

static coefs seed_coefs(const rl_model *m, const rl_ws *ws, int l, int t, int r, double *scratch)
{
    const rl_cell_desc *d = m->cell;
    const int H = rl_model_units(m), Z = rl_cell_proj(d, &m->cfg);
    coefs k;
    k.dz = scratch + (size_t)d->states * H * m->cfg.hidden_size;
    k.dzh = d->hh_apart ? k.dz + Z : k.dz;
    k.seed = k.dz + Z + (size_t)d->hh_gates * H;
    k.dh = k.seed + H, k.dc = k.dh + H;
    for (int i = 0; i < H; i++) k.seed[i] = r == 0, k.dc[i] = r == 1, k.dh[i] = 0;
    rl_layer_f64 ly = rl_layer_of_f64(ws, m, l);
    d->f64->bwd(&ly, t - 1, 0, 0, H, k.seed, d->states == 2 ? k.dc : NULL, k.dz, k.dzh, k.dh);
    return k;
}

/* Layer l's rows of J_t: for each state component, the derivative through
 * R (written into the layer's own columns) plus the direct terms, and
 * through W_ih (input: (states, U, in)), which the caller chains with the
 * layer below. */
static void layer_rows(const rl_model *m, const rl_ws *ws, int l, int t, double *J, int S, double *scratch)
{
    const rl_cell_desc *d = m->cell;
    const int H = rl_model_units(m), in = l == 0 ? m->cfg.input_size : m->cfg.hidden_size, off = h_off(m, l);
    const double *whh = rl_layer_whh(ws, m, l), *wih = rl_tensor_data(m, rl_t(m, l, RL_W_IH));
    for (int r = 0; r < d->states; r++) {
        coefs k = seed_coefs(m, ws, l, t, r, scratch);
        double *rows = J + (size_t)(off + r * H) * S;
        rl_cell_recur(d)->jac(d->hh_gates, H, whh, k.dzh, rows + off, (size_t)S);
        for (int j = 0; j < H; j++) {
            rows[(size_t)j * S + off + j] += k.dh[j];
            if (d->states == 2) rows[(size_t)j * S + off + H + j] += k.dc[j];
        }
        if (l > 0) rl_gate_rows(scratch + (size_t)r * H * in, (size_t)in, wih, d->gates, H, in, k.dz);
    }
}

/* The rows of layer l's output at step t (what the layer above reads) in
 * J_t's columns: its state's h rows (a view), or, for an output map (lru),
 * the map's derivative from its state's rows and the rows of its own input
 * (below: the layer below's output rows, NULL for layer 0), into out. */
static const double *out_rows(const rl_model *m, const rl_ws *ws, int l, int t, const double *J, int S,
                              const double *below, double *out)
{
    if (!m->cell->out_map) return J + (size_t)h_off(m, l) * S;
    rl_layer_f64 ly = rl_layer_of_f64(ws, m, l);
    m->cell->out_jac(&ly, t - 1, J + (size_t)h_off(m, l) * S, below, S, out);
    return out;
}

void rl_jac_build(const rl_model *m, const rl_ws *ws, int t, double *J, double *scratch)
{
    const rl_config *c = &m->cfg;
    const int L = c->num_layers, U = rl_model_units(m), H = c->hidden_size, S = rl_state_size(m);
    RL_ASSERT(m->dtype == RL_F64 && ws->dtype == RL_F64 && ws->B == 1 && t >= 1 && t <= ws->T);
    memset(J, 0, (size_t)S * S * sizeof *J);
    double *obuf = scratch + rl_jac_scratch_size(m) - (m->cell->out_map ? 2 * (size_t)H * S : 0);
    const double *below = NULL; /* the output rows of the layer below */
    for (int l = 0; l < L; l++) {
        layer_rows(m, ws, l, t, J, S, scratch);
        if (l > 0) {
            /* through the layer below at the same step: d(unit)/d(input^l_t) times
             * d(input^l_t)/ds_{t-1}, whose nonzero columns are those of layers < l */
            int cols = h_off(m, l);
            for (int r = 0; r < m->cell->states; r++)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, U, cols, H, 1, scratch + (size_t)r * U * H, H,
                            below, S, 0, J + (size_t)(h_off(m, l) + r * U) * S, S);
        }
        if (l + 1 < L) below = out_rows(m, ws, l, t, J, S, l ? below : NULL, obuf + (size_t)(l % 2) * H * S);
    }
}

void rl_jac_free(rl_jac *j)
{
    if (!j) return;
    rl_ws_free(j->ws);
    rl_model_free(j->m);
    void *bufs[] = {j->x, j->y, j->mask, j->h0, j->c0, j->target, j->J, j->M, j->tmp, j->scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) rl_free(bufs[i]);
    free(j);
}

rl_status rl_jac_new(rl_jac **out, const rl_model *m0, const rl_batch *b, int seq)
{
    *out = NULL;
    const rl_config *c = &m0->cfg;
    if (!b->x || b->steps < 1) return rl_fail(RL_ERR_ARG, "the Jacobians need inputs x with T >= 1 steps");
    if (seq < 0 || seq >= b->batch) return rl_fail(RL_ERR_ARG, "sequence %d is outside the batch [0, %d)", seq, b->batch);
    char what[160];
    snprintf(what, sizeof what, "the Jacobians of a sequence of T = %d steps (%s, state size S = %d)", b->steps,
             rl_cell_name(c->cell), rl_state_size(m0));
    rl_status s0 = rl_memory_check(rl_jac_bytes(c, m0->orth, b->steps), what);
    if (s0) return s0;
    rl_jac *j = calloc(1, sizeof *j);
    if (!j) return rl_fail(RL_ERR_NOMEM, "out of memory");
    const int T = b->steps, NI = c->input_size, O = c->output_size, L = c->num_layers, H = rl_model_units(m0);
    j->T = T, j->L = L, j->H = H, j->S = rl_state_size(m0), j->loss = NAN; /* H: the units of a layer's state */
    size_t SS = (size_t)j->S * j->S;
    rl_status s = rl_model_cast(&j->m, m0, RL_F64);
    if (!s) s = rl_ws_new(&j->ws, j->m, 1, T);
    int ce = c->loss == RL_LOSS_CE, targets = ce ? b->target != NULL : b->y != NULL;
    if (!s && (!(j->x = rl_alloc((size_t)T * NI, 8)) || !(j->mask = rl_alloc((size_t)T, 8)) ||
               !(j->h0 = rl_alloc((size_t)L * H, 8)) || !(j->c0 = rl_alloc((size_t)L * H, 8)) ||
               !(j->J = rl_alloc(SS, 8)) || !(j->M = rl_alloc(SS, 8)) || !(j->tmp = rl_alloc(SS, 8)) ||
               !(j->scratch = rl_alloc(rl_jac_scratch_size(m0), 8)) || (ce && !(j->target = rl_alloc((size_t)T, 4))) ||
               (!ce && !(j->y = rl_alloc((size_t)T * O, 8)))))
        s = RL_ERR_NOMEM;
    if (s) {
        rl_jac_free(j);
        return s;
    }
    /* the sequence as a batch of one, in float64 */
    double msum = 0;
    for (size_t i = 0; i < (size_t)T * NI; i++) j->x[i] = rl_load(b->x, b->dtype, (size_t)seq * T * NI + i);
    for (int t = 0; t < T; t++) msum += (j->mask[t] = b->mask ? rl_load(b->mask, b->dtype, (size_t)seq * T + t) : 1.0);
    for (int l = 0; l < L; l++)
        for (int i = 0; i < H; i++) {
            size_t at = ((size_t)l * b->batch + seq) * H + i;
            j->h0[(size_t)l * H + i] = b->h0 ? rl_load(b->h0, b->dtype, at) : 0;
            j->c0[(size_t)l * H + i] = b->c0 ? rl_load(b->c0, b->dtype, at) : 0;
        }
    if (targets && ce) memcpy(j->target, b->target + (size_t)seq * T, (size_t)T * 4);
    if (targets && !ce)
        for (size_t i = 0; i < (size_t)T * O; i++) j->y[i] = rl_load(b->y, b->dtype, (size_t)seq * T * O + i);
    j->b = (rl_batch){RL_F64, 1, T, NI, j->x, j->target, j->y, j->mask, j->h0,
                      j->m->cell->states == 2 ? j->c0 : NULL};
    j->have_grad = targets && msum > 0;
    if (j->have_grad) {
        rl_ws_zero_grad(j->ws);
        s = rl_forward(j->ws, j->m, &j->b, &j->loss);
        if (!s) s = rl_backward(j->ws, j->m, &j->b);
    } else {
        s = rl_forward(j->ws, j->m, &j->b, NULL);
    }
    if (s) {
        rl_jac_free(j);
        return s;
    }
    *out = j;
    return RL_OK;
}

rl_status rl_jac_state(const rl_jac *j, int t, double *s)
{
    if (t < 0 || t > j->T) return rl_fail(RL_ERR_ARG, "step %d is outside [0, %d]", t, j->T);
    rl_ws_state(j->ws, t, s);
    return RL_OK;
}

rl_status rl_jac_step(rl_jac *j, int t, double *J)
{
    if (t < 1 || t > j->T) return rl_fail(RL_ERR_ARG, "step %d is outside [1, %d]", t, j->T);
    rl_jac_build(j->m, j->ws, t, J, j->scratch);
    return RL_OK;
}

/* Scale A (n values) to unit Frobenius norm; add the log of the norm to *scale. */
static void renormalise(double *a, size_t n, double *scale)
{
    double f = 0, mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(a[i]));
    if (mx == 0 || !isfinite(mx)) {
        if (mx == 0) *scale = -INFINITY;
        else *scale = NAN;
        return;
    }
    for (size_t i = 0; i < n; i++) f += (a[i] / mx) * (a[i] / mx);
    f = mx * sqrt(f);
    for (size_t i = 0; i < n; i++) a[i] /= f;
    *scale += log(f);
}

static void identity(double *P, int S, double *scale)
{
    memset(P, 0, (size_t)S * S * sizeof *P);
    for (int i = 0; i < S; i++) P[(size_t)i * S + i] = 1 / sqrt((double)S);
    *scale = 0.5 * log((double)S);
}

/* Scale row i of the (S, w) panel a (row stride S) by rows[i] (unless rows
 * is NULL), then keep its largest entry within
 * [2^-128, 2^128] by a power of two, which is exact: *scale gets its log.
 * Cheaper than renormalise (one pass, no division), so the product loop
 * calls it at every step. *scale becomes -inf for a zero panel, NaN for a
 * non-finite one. */
RL_CLONES static void rescale_pow2(double *a, int S, int w, const double *rows, double *scale)
{
    double mx = 0, sum = 0;
    for (int i = 0; i < S; i++) {
        double *r = a + (size_t)i * S, f = rows ? rows[i] : 1;
#pragma omp simd reduction(max : mx) reduction(+ : sum)
        for (int k = 0; k < w; k++) {
            double v = r[k] * f;
            r[k] = v;
            v = fabs(v);
            mx = v > mx ? v : mx;
            sum += v;
        }
    }
    if (!isfinite(sum)) {
        *scale = NAN;
        return;
    }
    if (mx == 0) {
        *scale = -INFINITY;
        return;
    }
    if (mx <= 0x1p128 && mx >= 0x1p-128) return;
    int e;
    frexp(mx, &e);
    double f = ldexp(1, -e);
    for (int i = 0; i < S; i++)
        for (int k = 0; k < w; k++) a[(size_t)i * S + k] *= f;
    *scale += e * M_LN2;
}

/* The product is taken in column panels of PANEL_W whose count depends on S
 * alone, so that the threads (which share the panels) never change a bit of
 * it; each panel keeps its own power-of-two scale. */
#define PANEL_W 64

typedef struct {
    rl_jac *j;
    int t, tau, panels;
    double *P, *tmp, *pscale, *extra; /* extra: (S, S) J and scratch for parts 1.. */
} product_job;

static void product_part(void *p, int part, int parts)
{
    const product_job *q = p;
    rl_jac *j = q->j;
    const int S = j->S;
    size_t per = (size_t)S * S + rl_jac_scratch_size(j->m);
    double *J = part == 0 ? j->J : q->extra + (size_t)(part - 1) * per, *scratch = part == 0 ? j->scratch : J + (size_t)S * S;
    double *src = q->P, *dst = q->tmp;
    int k0, k1;
    rl_part_range(q->panels, part, parts, &k0, &k1);
    /* one layer of a one-gate, one-state cell with a dense W_hh (tanh, relu,
     * linear): J_k = diag(dz_k) W_hh, so P <- diag(dz_k) (W_hh P) without
     * building J_k (when the cell has no direct term) */
    const rl_model *m = j->m;
    const rl_cell_desc *d = m->cell;
    const int vanilla = m->cfg.num_layers == 1 && d->states == 1 && d->gates == 1 && rl_cell_recur(d)->matrix;
    const double *whh = rl_layer_whh(j->ws, m, 0);
    /* P <- J_k P for k = tau+1..t */
    for (int k = q->tau + 1; k <= q->t; k++) {
        const double *rows = NULL;
        if (vanilla) {
            coefs cf = seed_coefs(m, j->ws, 0, k, 0, scratch);
            if (rl_all_zero(cf.dh, S)) rows = cf.dzh;
        }
        if (!rows) rl_jac_build(j->m, j->ws, k, J, scratch);
        for (int pan = k0; pan < k1; pan++) {
            int c0 = pan * PANEL_W, w = S - c0 < PANEL_W ? S - c0 : PANEL_W;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, w, S, 1, rows ? whh : J, S, src + c0, S, 0,
                        dst + c0, S);
            rescale_pow2(dst + c0, S, w, rows, &q->pscale[pan]);
        }
        double *sw = src;
        src = dst, dst = sw;
    }
}

rl_status rl_jac_product(rl_jac *j, int t, int tau, double *P, double *log_scale)
{
    if (tau < 0 || tau > t || t > j->T) return rl_fail(RL_ERR_ARG, "need 0 <= tau <= t <= %d (t %d, tau %d)", j->T, t, tau);
    const int S = j->S, panels = (S + PANEL_W - 1) / PANEL_W;
    double pscale[RL_MAX_TENSORS];
    int parts = rl_get_num_threads() < panels ? rl_get_num_threads() : panels;
    if (panels > RL_MAX_TENSORS) return rl_fail(RL_ERR_ARG, "the state is too large for the product (S = %d)", S);
    double *extra = NULL;
    if (parts > 1 && t > tau &&
        !(extra = rl_alloc((size_t)(parts - 1) * ((size_t)S * S + rl_jac_scratch_size(j->m)), 8)))
        parts = 1; /* no memory for a second thread's J: one thread, same result */
    memset(P, 0, (size_t)S * S * sizeof *P);
    for (int i = 0; i < S; i++) P[(size_t)i * S + i] = 1;
    for (int i = 0; i < panels; i++) pscale[i] = 0;
    product_job q = {j, t, tau, panels, P, j->tmp, pscale, extra};
    int blas = rl_blas_single();
    rl_parallel(parts, product_part, &q, NULL);
    rl_blas_restore(blas);
    rl_free(extra);
    if ((t - tau) % 2) memcpy(P, j->tmp, (size_t)S * S * sizeof *P);
    /* one scale for all panels: the largest, the others brought to it */
    double top = -INFINITY;
    for (int i = 0; i < panels; i++) {
        if (isnan(pscale[i])) return rl_fail(RL_ERR_NONFINITE, "the Jacobian product is not finite");
        top = fmax(top, pscale[i]);
    }
    *log_scale = top;
    if (top == -INFINITY) {
        memset(P, 0, (size_t)S * S * sizeof *P);
        return RL_OK;
    }
    for (int pan = 0; pan < panels; pan++) {
        double f = exp(pscale[pan] - top);
        int c0 = pan * PANEL_W, w = S - c0 < PANEL_W ? S - c0 : PANEL_W;
        for (int i = 0; f != 1 && i < S; i++)
            for (int k = 0; k < w; k++) P[(size_t)i * S + c0 + k] *= f;
    }
    renormalise(P, (size_t)S * S, log_scale);
    if (isnan(*log_scale)) return rl_fail(RL_ERR_NONFINITE, "the Jacobian product is not finite");
    return RL_OK;
}

/* ln of the largest singular value and of the spectral radius of the (S, S)
 * matrix a (copied into work first); either output may be NULL. Here and
 * below, values-only LAPACK calls read the row-major buffer as column-major,
 * i.e. as A^T, which has the same eigen- and singular values and spares
 * LAPACKE a transposed copy. */
static rl_status norm_and_radius(const double *a, int S, double *work, double *vals, double *vals2,
                                 double *log_sv, double *log_rho)
{
    if (log_sv) {
        memcpy(work, a, (size_t)S * S * sizeof *work);
        lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', S, S, work, S, vals, NULL, S, NULL, S);
        if (info != 0) return rl_fail(RL_ERR_LAPACK, "dgesdd failed (info %d)", (int)info);
        *log_sv = log(vals[0]);
    }
    if (log_rho) {
        memcpy(work, a, (size_t)S * S * sizeof *work);
        lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', S, work, S, vals, vals2, NULL, S, NULL, S);
        if (info != 0) return rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
        double r = 0;
        for (int i = 0; i < S; i++) r = fmax(r, hypot(vals[i], vals2[i]));
        /* cppcheck-suppress invalidFunctionArg ; log(0) = -inf is the answer for a zero matrix */
        *log_rho = log(r);
    }
    return RL_OK;
}

static double vnorm(const double *v, int n)
{
    return cblas_dnrm2(n, v, 1);
}

/* ||P(T, tau)||_2 for every lag, without an SVD of each: the largest
 * eigenvalue theta = sigma_1^2 of G = M M^T by Lanczos with full
 * reorthogonalisation, G applied as M (M^T q) (two matrix-vector products a
 * step, never G itself). Consecutive lags share the space of their left
 * singular vectors (s_T's), so each lag starts from the last one's top Ritz
 * vector u, plus a fixed generic vector (so that no eigenvector is missed by
 * a start orthogonal to it); 8 to 50 steps on the tests' and the
 * benchmark's models (S = 128, 256), each O(S^2), against an SVD's O(S^3).
 * It stops when the Ritz value's residual r = beta_k |s_k| gives
 * r^2 / gap <= 1e-16 theta (the eigenvalue's error; gap to the next Ritz
 * value) with r <= 1e-8 theta, or when the Krylov space is invariant; after
 * LZ_MAX steps without that the caller takes dgesdd. The tests check it
 * against numpy's and torch's SVD (1e-9 in the log; the benchmark's model
 * agrees to 9e-16). */

typedef struct {
    int S, kmax;
    double *Q;               /* (kmax + 1, S): the Lanczos vectors, rows */
    double *u, *t, *w, *g;   /* (S): the last top Ritz vector, M^T q, G q, the generic vector */
    double *alpha, *beta, *c; /* (kmax) */
    double *d, *e, *z;       /* dstev's copies: (kmax), (kmax), (kmax, kmax) */
} lanczos;

static void lanczos_free(lanczos *z) { rl_free(z->Q); }

static rl_status lanczos_new(lanczos *z, int S)
{
    memset(z, 0, sizeof *z);
    z->S = S, z->kmax = S < LZ_MAX ? S : LZ_MAX;
    const size_t k = (size_t)z->kmax, n = (size_t)(k + 1) * S + 4 * (size_t)S + 5 * k + k * k;
    if (!(z->Q = rl_alloc(n, 8))) return RL_ERR_NOMEM;
    memset(z->Q, 0, n * 8);
    z->u = z->Q + (k + 1) * S, z->t = z->u + S, z->w = z->t + S, z->g = z->w + S;
    z->alpha = z->g + S, z->beta = z->alpha + k, z->c = z->beta + k, z->d = z->c + k, z->e = z->d + k, z->z = z->e + k;
    /* the generic vector: a fixed pseudo-random sequence (an LCG's top bits), unit length */
    uint64_t r = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < S; i++) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        z->g[i] = (double)(r >> 11) / 9007199254740992.0 - 0.5;
    }
    cblas_dscal(S, 1 / vnorm(z->g, S), z->g, 1);
    return RL_OK;
}

/* theta = sigma_1(m)^2 of the (S, S) row-major m; 1 when it converged, 0
 * when the caller is to take an SVD instead. */
static int lanczos_top(lanczos *z, const double *m, double *theta, int *steps)
{
    const int S = z->S;
    double *Q = z->Q, amax = 0;
    for (int i = 0; i < S; i++) Q[i] = z->u[i] + 0.1 * z->g[i];
    cblas_dscal(S, 1 / vnorm(Q, S), Q, 1);
    for (int k = 0; k < z->kmax; k++) {
        const double *q = Q + (size_t)k * S;
        double *w = z->w;
        cblas_dgemv(CblasRowMajor, CblasTrans, S, S, 1, m, S, q, 1, 0, z->t, 1);   /* t = M^T q */
        cblas_dgemv(CblasRowMajor, CblasNoTrans, S, S, 1, m, S, z->t, 1, 0, w, 1); /* w = M t = G q */
        z->alpha[k] = cblas_ddot(S, z->t, 1, z->t, 1);
        amax = fmax(amax, z->alpha[k]);
        /* w -= Q_k (Q_k^T w), twice: the three-term recurrence and its loss of orthogonality at once */
        for (int pass = 0; pass < 2; pass++) {
            cblas_dgemv(CblasRowMajor, CblasNoTrans, k + 1, S, 1, Q, S, w, 1, 0, z->c, 1);
            cblas_dgemv(CblasRowMajor, CblasTrans, k + 1, S, -1, Q, S, z->c, 1, 1, w, 1);
        }
        z->beta[k] = vnorm(w, S);
        ++*steps;
        const int n = k + 1, invariant = !(z->beta[k] > 1e-14 * amax);
        if (invariant || n % 4 == 0 || n == z->kmax) {
            /* the top Ritz pair of the tridiagonal T_n = tridiag(beta, alpha, beta) */
            memcpy(z->d, z->alpha, (size_t)n * 8);
            memcpy(z->e, z->beta, (size_t)n * 8);
            if (LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', n, z->d, z->e, z->z, n) != 0) return 0;
            const double th = z->d[n - 1], *sv = z->z + (size_t)(n - 1) * n;
            const double r = z->beta[k] * fabs(sv[n - 1]), gap = n > 1 ? th - z->d[n - 2] : th;
            if (!(th > 0)) return 0;
            if (invariant || (r <= 1e-8 * th && r * r <= 1e-16 * th * gap)) {
                cblas_dgemv(CblasRowMajor, CblasTrans, n, S, 1, Q, S, sv, 1, 0, z->u, 1); /* u = Q^T s */
                cblas_dscal(S, 1 / vnorm(z->u, S), z->u, 1);
                *theta = th;
                return 1;
            }
        }
        if (n == z->kmax) break;
        cblas_dcopy(S, w, 1, Q + (size_t)n * S, 1);
        cblas_dscal(S, 1 / z->beta[k], Q + (size_t)n * S, 1);
    }
    memset(z->u, 0, (size_t)S * 8); /* start the next lag afresh */
    return 0;
}

/* A gradient vector g = exp(*sc) v with ||v|| = 1: g += d (n values). */
static void add_scaled(double *v, double *sc, const double *d, int n)
{
    double nd = vnorm(d, n);
    if (nd == 0) return;
    double a = *sc, bb = log(nd);
    if (a == -INFINITY || bb - a > 700) {
        memcpy(v, d, (size_t)n * sizeof *v);
        *sc = 0;
    } else if (a - bb > 700) {
        return;
    } else {
        cblas_daxpy(n, exp(-a), d, 1, v, 1);
    }
    renormalise(v, (size_t)n, sc);
}

/* d (S) = (do_tau/ds_tau)^T dL/do_tau, 0 at tau = 0: W_o^T dL/do_tau (wg, H)
 * in the top layer's h rows, or, through an output map, the rows of each
 * layer's output at step tau in the state's columns (out_rows on the
 * identity iden), the top layer's transposed times wg. */
static void direct_term(const rl_jac *j, int tau, const double *wo, const double *dout, const double *iden, double *wg,
                        double *d)
{
    const rl_model *m = j->m;
    const int S = j->S, H = m->cfg.hidden_size, L = j->L, O = m->cfg.output_size;
    memset(d, 0, (size_t)S * sizeof *d);
    if (tau < 1) return;
    cblas_dgemv(CblasRowMajor, CblasTrans, O, H, 1, wo, H, dout + (size_t)(tau - 1) * O, 1, 0, wg, 1);
    if (!iden) {
        memcpy(d + h_off(m, L - 1), wg, (size_t)H * sizeof *d);
        return;
    }
    double *obuf = j->scratch + rl_jac_scratch_size(m) - 2 * (size_t)H * S;
    const double *rows = NULL;
    for (int l = 0; l < L; l++) rows = out_rows(m, j->ws, l, tau, iden, S, l ? rows : NULL, obuf + (size_t)(l % 2) * H * S);
    cblas_dgemv(CblasRowMajor, CblasTrans, H, S, 1, rows, S, wg, 1, 0, d, 1);
}

rl_status rl_jac_lags(rl_jac *j, rl_lag_stats *st)
{
    const int S = j->S, T = j->T, H = j->H, L = j->L;
    int want_grad = st->log_grad_state || st->log_grad_last || st->log_grad_bptt;
    int want_p = st->log_norm || st->log_fro || st->log_radius || st->P || st->P_log_scale;
    if (want_grad && !j->have_grad)
        return rl_fail(RL_ERR_ARG, "gradient norms need targets and a positive mask on the sequence");
    size_t SS = (size_t)S * S;
    double *work = rl_alloc(SS, 8), *vals = rl_alloc((size_t)S, 8), *vals2 = rl_alloc((size_t)S, 8),
           *gs = rl_alloc((size_t)S, 8), *gl = rl_alloc((size_t)S, 8), *d = rl_alloc((size_t)S, 8),
           *tv = rl_alloc((size_t)S, 8);
    lanczos lz = {0};
    rl_status s = (work && vals && vals2 && gs && gl && d && tv) ? RL_OK : RL_ERR_NOMEM;
    if (!s && st->log_norm) s = lanczos_new(&lz, S);
    st->norm_steps = st->norm_svds = 0;
    /* one thread for BLAS in the sweep: its products and Lanczos's matrix-vector products are
     * small, and threads only slow them down */
    int blas = rl_blas_single();
    const double *wo = rl_tensor_data(j->m, rl_t_head_w(j->m));
    const double *dout = j->ws->dout, *dh = j->ws->dh_top;
    /* a cell with an output map (lru): the top layer's output depends on
     * the state through the map, so the direct term needs the map's rows in
     * the state's columns, from the identity's rows (iden, S x S) */
    const int omap = j->m->cell->out_map != 0;
    double *iden = omap && want_grad ? rl_alloc(SS, 8) : NULL, *wg = rl_alloc((size_t)j->m->cfg.hidden_size, 8);
    if (!s && ((omap && want_grad && !iden) || !wg)) s = RL_ERR_NOMEM;
    for (int i = 0; iden && i < S; i++) iden[(size_t)i * S + i] = 1;
    /* the direct term of eq. 10.21 at step tau: (do_tau/ds_tau)^T dL/do_tau, which is
     * W_o^T dL/do_tau in the top layer's h block, or through the output map */
#define DIRECT(tau) direct_term(j, tau, wo, dout, iden, wg, d)
    double scale = 0, ss = -INFINITY, sl = -INFINITY;
    if (!s) {
        identity(j->M, S, &scale);
        if (want_grad) {
            DIRECT(T);
            memset(gs, 0, (size_t)S * sizeof *gs);
            add_scaled(gs, &ss, d, S);
            memcpy(gl, gs, (size_t)S * sizeof *gl);
            sl = ss;
        }
    }
    for (int tau = T; !s && tau >= 0; tau--) {
        if (tau < T) {
            /* P(T, tau) = P(T, tau+1) J_{tau+1} */
            double *Jk = st->J ? st->J + (size_t)tau * SS : j->J; /* built where it is wanted: no copy */
            rl_jac_build(j->m, j->ws, tau + 1, Jk, j->scratch);
            if (want_p && isfinite(scale)) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, j->M, S, Jk, S, 0, j->tmp, S);
                double *sw = j->M; /* the product is in tmp: swap them */
                j->M = j->tmp, j->tmp = sw;
                renormalise(j->M, SS, &scale);
            }
            if (want_grad) {
                /* dL/ds_tau = J_{tau+1}^T dL/ds_{tau+1} + direct(tau) */
                cblas_dgemv(CblasRowMajor, CblasTrans, S, S, 1, Jk, S, gs, 1, 0, tv, 1);
                memcpy(gs, tv, (size_t)S * sizeof *gs);
                renormalise(gs, (size_t)S, &ss);
                DIRECT(tau);
                add_scaled(gs, &ss, d, S);
                cblas_dgemv(CblasRowMajor, CblasTrans, S, S, 1, Jk, S, gl, 1, 0, tv, 1);
                memcpy(gl, tv, (size_t)S * sizeof *gl);
                renormalise(gl, (size_t)S, &sl);
            }
        }
        if (isnan(scale)) s = rl_fail(RL_ERR_NONFINITE, "the Jacobian product is not finite at lag %d", T - tau);
        if (s) break;
        if (st->log_fro) st->log_fro[tau] = scale;
        double lsv = -INFINITY, lrho = -INFINITY, theta = 0;
        int svd = 0;
        /* the lags asked for alone get the norm and the eigensolve; the others NaN */
        const int here = !st->at_lag || st->at_lag[T - tau];
        if (!here) lsv = lrho = NAN;
        else if (tau == T) lsv = -scale; /* the identity: ||I||_2 = 1, exactly */
        else if (isfinite(scale) && st->log_norm) {
            if (lanczos_top(&lz, j->M, &theta, &st->norm_steps)) lsv = 0.5 * log(theta);
            else svd = 1, st->norm_svds++;
        }
        if (here && isfinite(scale) && (svd || st->log_radius))
            s = norm_and_radius(j->M, S, work, vals, vals2, svd ? &lsv : NULL, st->log_radius ? &lrho : NULL);
        if (st->log_norm) st->log_norm[tau] = lsv + scale;
        if (st->log_radius) st->log_radius[tau] = lrho + scale;
        if (st->log_grad_state) st->log_grad_state[tau] = ss;
        if (st->log_grad_last) st->log_grad_last[tau] = sl;
        if (st->log_grad_bptt) {
            /* the top layer's dL/dh; at tau = 0 its initial state's. A cell with an output map (lru): its
             * state's dL/dx_tau, the top layer's block of the recursion's dL/ds_tau (its output y_tau reaches
             * the loss only through the head at step tau: no flow through time to see there) */
            const int Hy = j->m->cfg.hidden_size;
            const double *row = tau >= 1 ? dh + (size_t)(tau - 1) * Hy : (const double *)j->ws->grad_h0 + (size_t)(L - 1) * H;
            if (omap && tau >= 1) st->log_grad_bptt[tau] = ss + log(vnorm(gs + h_off(j->m, L - 1), H));
            else st->log_grad_bptt[tau] = log(vnorm(row, tau >= 1 ? Hy : H));
        }
        if (!s) s = rl_progress_report("Jacobian products, lag", T - tau, T);
    }
#undef DIRECT
    if (!s && st->P) memcpy(st->P, j->M, SS * sizeof *st->P);
    if (!s && st->P_log_scale) *st->P_log_scale = scale;
    rl_blas_restore(blas);
    lanczos_free(&lz);
    rl_free(work), rl_free(vals), rl_free(vals2), rl_free(gs), rl_free(gl), rl_free(d), rl_free(tv), rl_free(iden), rl_free(wg);
    return s;
}

/* ------------------------------------------------------------------ spectra */

/* Order of n eigenvalues by modulus, descending (insertion sort: n is small
 * and the order of ties is kept). */
static void order_by_modulus(const double *re, const double *im, int n, int *ord)
{
    for (int i = 0; i < n; i++) ord[i] = i;
    for (int i = 1; i < n; i++) {
        int k = ord[i], p = i - 1;
        double mk = hypot(re[k], im[k]);
        while (p >= 0 && hypot(re[ord[p]], im[ord[p]]) < mk) {
            ord[p + 1] = ord[p];
            p--;
        }
        ord[p + 1] = k;
    }
}

rl_status rl_jac_step_spectrum(rl_jac *j, int t, double *re, double *im, double *sv)
{
    const int S = j->S;
    rl_status s = rl_jac_step(j, t, j->J);
    if (s) return s;
    double *wr = rl_alloc((size_t)S, 8), *wi = rl_alloc((size_t)S, 8);
    int *ord = rl_alloc((size_t)S, sizeof(int));
    if (!wr || !wi || !ord) s = RL_ERR_NOMEM;
    if (!s && (re || im)) {
        memcpy(j->tmp, j->J, (size_t)S * S * 8);
        lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', S, j->tmp, S, wr, wi, NULL, S, NULL, S);
        if (info) s = rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
        if (!s) {
            order_by_modulus(wr, wi, S, ord);
            for (int i = 0; i < S; i++) {
                if (re) re[i] = wr[ord[i]];
                if (im) im[i] = wi[ord[i]];
            }
        }
    }
    if (!s && sv) {
        memcpy(j->tmp, j->J, (size_t)S * S * 8);
        lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', S, S, j->tmp, S, sv, NULL, S, NULL, S);
        if (info) s = rl_fail(RL_ERR_LAPACK, "dgesdd failed (info %d)", (int)info);
    }
    rl_free(wr), rl_free(wi), rl_free(ord);
    return s;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

rl_status rl_jac_theorem(rl_jac *j, int tau, rl_theorem *out)
{
    const int S = j->S, T = j->T;
    if (tau < 0 || tau >= T) return rl_fail(RL_ERR_ARG, "tau %d is outside [0, %d)", tau, T);
    size_t SS = (size_t)S * S;
    double scale = 0, *wr = rl_alloc((size_t)S, 8), *wi = rl_alloc((size_t)S, 8), *vr = rl_alloc(SS, 8),
           *vre = rl_alloc(SS, 8), *vim = rl_alloc(SS, 8), *jre = rl_alloc(SS, 8), *jim = rl_alloc(SS, 8),
           *mu_abs = rl_alloc((size_t)S, 8), *mu_arg = rl_alloc((size_t)S, 8), *sorted = rl_alloc((size_t)S, 8);
    lapack_complex_double *vinv = rl_alloc(SS, sizeof(lapack_complex_double));
    lapack_int *ipiv = rl_alloc((size_t)S, sizeof(lapack_int));
    int *ord = rl_alloc((size_t)S, sizeof(int));
    rl_status s = (wr && wi && vr && vre && vim && jre && jim && mu_abs && mu_arg && sorted && vinv && ipiv && ord)
                      ? RL_OK : RL_ERR_NOMEM;
    if (!s) s = rl_jac_product(j, T, tau, j->M, &scale);
    if (!s && !isfinite(scale)) s = rl_fail(RL_ERR_ARG, "P(T, %d) is exactly zero: it has no eigenvectors to match", tau);
    /* eigenvalues and right eigenvectors of P, ordered by modulus */
    if (!s) {
        memcpy(j->tmp, j->M, SS * 8);
        lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'V', S, j->tmp, S, wr, wi, NULL, 1, vr, S);
        if (info) s = rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
    }
    if (!s) {
        order_by_modulus(wr, wi, S, ord);
        /* column k of V: dgeev packs a complex pair (w_k, conj w_k) as
         * columns k, k+1 = (Re v, Im v) */
        for (int c = 0; c < S; c++) {
            int k = ord[c];
            int pair = wi[k] != 0, first = pair && (k + 1 < S) && wi[k] > 0;
            int base = pair ? (first ? k : k - 1) : k;
            double sign = pair && !first ? -1 : 1;
            for (int r = 0; r < S; r++) {
                vre[(size_t)r * S + c] = vr[(size_t)r * S + base];
                vim[(size_t)r * S + c] = pair ? sign * vr[(size_t)r * S + base + 1] : 0;
            }
            out->eig_log_abs[c] = log(hypot(wr[k], wi[k])) + scale;
            out->eig_arg[c] = atan2(wi[k], wr[k]);
        }
        for (size_t i = 0; i < SS; i++) vinv[i] = lapack_make_complex_double(vre[i], vim[i]);
        lapack_int info = LAPACKE_zgetrf(LAPACK_ROW_MAJOR, S, S, vinv, S, ipiv);
        if (info == 0) info = LAPACKE_zgetri(LAPACK_ROW_MAJOR, S, vinv, S, ipiv);
        if (info) s = rl_fail(RL_ERR_LAPACK, "the eigenvectors of P(T, %d) are singular (info %d)", tau, (int)info);
    }
    /* kappa_1(V) = max column sum of |V| times that of |V^-1| */
    if (!s) {
        double nv = 0, ni = 0;
        for (int c = 0; c < S; c++) {
            double a = 0, b = 0;
            for (int r = 0; r < S; r++) {
                a += hypot(vre[(size_t)r * S + c], vim[(size_t)r * S + c]);
                b += hypot(lapack_complex_double_real(vinv[(size_t)r * S + c]), lapack_complex_double_imag(vinv[(size_t)r * S + c]));
            }
            nv = fmax(nv, a), ni = fmax(ni, b);
        }
        out->v_cond = nv * ni;
    }
    /* mu_i = prod_t [V^-1 J_t V]_ii, as sums of logs and angles */
    for (int i = 0; !s && i < S; i++) mu_abs[i] = mu_arg[i] = 0;
    for (int t = tau + 1; !s && t <= T; t++) {
        rl_jac_build(j->m, j->ws, t, j->J, j->scratch);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, j->J, S, vre, S, 0, jre, S);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, j->J, S, vim, S, 0, jim, S);
        for (int i = 0; i < S; i++) {
            double dr = 0, di = 0;
            for (int k = 0; k < S; k++) {
                double ar = lapack_complex_double_real(vinv[(size_t)i * S + k]);
                double ai = lapack_complex_double_imag(vinv[(size_t)i * S + k]);
                double br = jre[(size_t)k * S + i], bi = jim[(size_t)k * S + i];
                dr += ar * br - ai * bi;
                di += ar * bi + ai * br;
            }
            /* cppcheck-suppress invalidFunctionArg ; a zero diagonal entry makes mu_i = 0, ln = -inf */
            mu_abs[i] += log(hypot(dr, di));
            mu_arg[i] += atan2(di, dr);
        }
    }
    if (!s) {
        double top = out->eig_log_abs[0];
        out->resolved = 0;
        out->eig_dev = 0;
        for (int i = 0; i < S; i++) {
            out->matched_log_abs[i] = mu_abs[i];
            out->matched_arg[i] = remainder(mu_arg[i], 2 * M_PI);
            if (out->eig_log_abs[i] < top + log(1e-6)) continue;
            out->resolved++;
            /* |mu/lambda - 1| with mu/lambda = exp(dl + i da) */
            double dl = mu_abs[i] - out->eig_log_abs[i], da = remainder(mu_arg[i] - out->eig_arg[i], 2 * M_PI);
            double e = exp(dl);
            out->eig_dev = fmax(out->eig_dev, hypot(e * cos(da) - 1, e * sin(da)));
        }
        memcpy(j->tmp, j->M, SS * 8);
        lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', S, S, j->tmp, S, out->sv_log, NULL, S, NULL, S);
        if (info) s = rl_fail(RL_ERR_LAPACK, "dgesdd failed (info %d)", (int)info);
    }
    if (!s) {
        for (int i = 0; i < S; i++) out->sv_log[i] = log(out->sv_log[i]) + scale;
        /* the matched products of the resolved eigenvalues only (a prefix: they are in order of modulus);
         * those of the others are rounding noise and would take the places of real ones */
        memcpy(sorted, mu_abs, (size_t)out->resolved * 8);
        qsort(sorted, (size_t)out->resolved, sizeof *sorted, cmp_desc);
        out->sv_dev = 0;
        for (int i = 0; i < out->resolved; i++) out->sv_dev = fmax(out->sv_dev, fabs(out->sv_log[i] - sorted[i]));
    }
    rl_free(wr), rl_free(wi), rl_free(vr), rl_free(vre), rl_free(vim), rl_free(jre), rl_free(jim);
    rl_free(mu_abs), rl_free(mu_arg), rl_free(sorted), rl_free(vinv), rl_free(ipiv), rl_free(ord);
    return s;
}
