/* Lyapunov exponents of the state map s_t = F(s_{t-1}, x_t) by QR
 * re-orthonormalisation (Benettin, Galgani, Giorgilli, Strelcyn 1980):
 *   Q_t R_t = J_t Q_{t-1},   lambda_i = (1/N) sum_t ln |R_t[i,i]|.
 * The forward pass runs in chunks through a B = 1 workspace, so the
 * Jacobians are read off the same activation cache as BPTT's.
 *
 * QR is the expensive part (at S = 128 LAPACK runs it unblocked), and it is
 * not needed at every step: the R of J_{t+m} ... J_{t+1} Q is the product of
 * the m per-step R's (upper triangular, positive diagonal), so its diagonal
 * holds the same sums of logs. A block of m steps is factorised once, with m
 * chosen so that the block's condition number, estimated from the spread of
 * ln|R_ii| over the previous block, stays below e^BLOCK_LOG_COND. The block
 * is factorised by CholeskyQR2 (level-3 BLAS), and by Householder QR (LAPACK)
 * whenever CholeskyQR2 would not be accurate: a Gram matrix that is not
 * positive definite, or a block worse conditioned than planned.
 *
 * A cell whose recurrence is elementwise (the recurrence table's jblock: a
 * diagonal u, none, or an lru's complex diagonal) needs none of it: within a
 * layer J_t is diagonal, or made of 2 x 2 blocks |lambda| R(theta) pairing a
 * complex unit's real and imaginary rows, and a layer reads the layer below
 * at the same step, so J_t is block lower triangular. A product of lower
 * triangular matrices is lower triangular with the products of the diagonal
 * blocks on its diagonal, and the exponents of such a cocycle are the time
 * averages of the diagonal blocks' logs: lambda_i = (1/N) sum_t ln|J_t[i,i]|
 * (a 2 x 2 block: ln sqrt|det| for both of its rows, which is ln|lambda|
 * exactly for an lru). */
#include "analysis/jacobian.h"
#include "cells/cell.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define CHUNK 256
#define MAX_BLOCK 16
#define BLOCK_LOG_COND 16.0
#define CHOL_LOG_COND 16.1 /* ln 1e7 */

/* Blocks are factorised by Cholesky QR, twice (CholeskyQR2: Yamamoto,
 * Nakatsukasa, Yanagisawa, Fukaya 2015): R^T R = Z^T Z, Q = Z R^-1, and once
 * more on Q to make it orthonormal to rounding. All level-3 BLAS, about ten
 * times faster than Householder at S = 128, and shared by the threads (Z^T Z
 * as the sum of two row halves' products, R^-1 row half by row half); sound
 * while cond(Z) stays well below 1e8, which the block length (e^BLOCK_LOG_COND
 * = 9e6) is chosen for. When the Gram matrix is not positive definite, or its
 * diagonal says the block is worse conditioned than planned, Z is restored
 * and Householder QR (LAPACK) takes over. */
#define CHOL_HALVES 2

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One chunk's steps, on `parts` threads that share the columns of Q in
 * panels (their widths depend on k alone, so the threads do not change a
 * bit): part 0 plans the next run of steps up to a factorisation, all parts
 * multiply their panels through it (each building the J_t itself), part 0
 * factorises; two barriers a run. */
#define PANEL_W 64

typedef struct {
    const rl_model *m;
    const rl_ws *ws;
    const rl_lyap_config *cfg;
    int S, k, total, n, done;
    double *q, *z, *J, *scratch, *extra, *gram, *lr, *tau, *work, *sum, *trace;
    lapack_int lwork;
    int traced, pending, block;
    int summed; /* the measured steps whose logs sum holds (a factorisation's step) */
    /* the plan: steps t0..t1, then factorise or not; end: the chunk is done */
    int t, t0, t1, factor, now, step, traces, end, chol_ok;
    double *halves; /* (CHOL_HALVES, k, k) Gram matrices of Z's row halves */
    rl_status s;
    rl_barrier bar;
} lyap_run;

/* part 0: the steps from r->t to the next factorisation (or the chunk's end) */
static void plan(lyap_run *r)
{
    if (r->s || r->t > r->n) {
        r->end = 1;
        return;
    }
    r->end = 0;
    r->t0 = r->t;
    for (int te = r->t;; te++) {
        r->now = r->done + te, r->step = r->now - r->cfg->transient; /* step: 1-based once the transient is over */
        r->traces = r->trace && r->cfg->trace_every > 0 && r->step >= 1 && r->step % r->cfg->trace_every == 0;
        r->pending++;
        r->factor = r->pending >= r->block || r->now == r->cfg->transient || r->now == r->total || r->traces;
        if (r->factor || te == r->n) {
            r->t1 = te;
            return;
        }
    }
}

/* part 0, before the factorisation: Q after the run, and a copy of it in z */
static void before_factor(lyap_run *r)
{
    if ((r->t1 - r->t0 + 1) % 2) {
        double *sw = r->q;
        r->q = r->z, r->z = sw;
    }
    r->t = r->t1 + 1;
    if (!r->factor) return;
    memcpy(r->z, r->q, (size_t)r->S * r->k * sizeof *r->z);
    for (int i = 0; i < r->k; i++) r->lr[i] = 0;
    r->chol_ok = 1;
}

/* part 0: R^T R = the sum of the halves' Gram matrices; ln R_ii into lr */
static void cholesky(lyap_run *r)
{
    const int k = r->k;
    double *g = r->gram;
    for (int j = 0; j < k; j++)
        for (int i = 0; i <= j; i++) {
            double v = 0;
            for (int h = 0; h < CHOL_HALVES; h++) v += r->halves[((size_t)h * k + j) * k + i];
            g[(size_t)j * k + i] = v;
        }
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', k, g, k);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; !info && i < k; i++) {
        double l = log(g[(size_t)i * k + i]);
        r->lr[i] += l;
        lo = fmin(lo, l), hi = fmax(hi, l);
    }
    r->chol_ok = !info && hi - lo < CHOL_LOG_COND;
}

/* part 0, after the factorisation: Householder if CholeskyQR2 gave up; the sums */
static void after_factor(lyap_run *r)
{
    const int S = r->S, k = r->k;
    double *q = r->q, *lr = r->lr;
    if (!r->chol_ok) {
        memcpy(q, r->z, (size_t)S * k * sizeof *q);
        lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, S, k, q, S, r->tau, r->work, r->lwork);
        if (info) {
            r->s = rl_fail(RL_ERR_LAPACK, "dgeqrf failed at step %d (info %d)", r->now, (int)info);
            return;
        }
        for (int i = 0; i < k; i++) lr[i] = log(fabs(q[(size_t)i * S + i]));
        info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, S, k, k, q, S, r->tau, r->work, r->lwork);
        if (info) {
            r->s = rl_fail(RL_ERR_LAPACK, "dorgqr failed at step %d (info %d)", r->now, (int)info);
            return;
        }
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < k; i++) {
        if (r->step >= 1) r->sum[i] += lr[i];
        lo = fmin(lo, lr[i]), hi = fmax(hi, lr[i]);
    }
    if (r->step >= 1) r->summed = r->step;
    /* the next block: as long as its condition stays below e^BLOCK_LOG_COND */
    double spread = (hi - lo) / r->pending;
    r->block = spread > 0 ? (int)fmin(MAX_BLOCK, fmax(1, BLOCK_LOG_COND / spread)) : MAX_BLOCK;
    if (!isfinite(spread)) r->block = 1;
    r->pending = 0;
    if (r->traces) {
        for (int i = 0; i < k; i++) r->trace[(size_t)r->traced * k + i] = r->sum[i] / r->step;
        qsort(r->trace + (size_t)r->traced * k, (size_t)k, sizeof *r->trace, cmp_desc);
        r->traced++;
    }
}

static void chunk_part(void *p, int part, int parts)
{
    lyap_run *r = p;
    const int S = r->S, panels = (r->k + PANEL_W - 1) / PANEL_W;
    size_t per = (size_t)S * S + rl_jac_scratch_size(r->m);
    double *J = part == 0 ? r->J : r->extra + (size_t)(part - 1) * per, *scratch = part == 0 ? r->scratch : J + (size_t)S * S;
    int p0, p1;
    rl_part_range(panels, part, parts, &p0, &p1);
    for (;;) {
        if (part == 0) plan(r);
        rl_barrier_wait(&r->bar);
        if (r->end) break;
        /* Q <- J_t1 ... J_t0 Q (column-major; J is row-major, i.e. J^T column-major) */
        double *src = r->q, *dst = r->z;
        for (int t = r->t0; t <= r->t1; t++) {
            rl_jac_build(r->m, r->ws, t, J, scratch);
            for (int pan = p0; pan < p1; pan++) {
                int c0 = pan * PANEL_W, w = r->k - c0 < PANEL_W ? r->k - c0 : PANEL_W;
                cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, S, w, S, 1, J, S, src + (size_t)c0 * S, S, 0,
                            dst + (size_t)c0 * S, S);
            }
            double *sw = src;
            src = dst, dst = sw;
        }
        rl_barrier_wait(&r->bar);
        if (part == 0) before_factor(r);
        rl_barrier_wait(&r->bar);
        if (!r->factor) continue;
        int h0, h1;
        rl_part_range(CHOL_HALVES, part, parts, &h0, &h1);
        for (int pass = 0; pass < 2 && r->chol_ok; pass++) {
            for (int h = h0; h < h1; h++) {
                int i0, i1;
                rl_part_range(S, h, CHOL_HALVES, &i0, &i1);
                cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, r->k, i1 - i0, 1, r->q + i0, S, 0,
                            r->halves + (size_t)h * r->k * r->k, r->k);
            }
            rl_barrier_wait(&r->bar);
            if (part == 0) cholesky(r);
            rl_barrier_wait(&r->bar);
            if (!r->chol_ok) break;
            for (int h = h0; h < h1; h++) {
                int i0, i1;
                rl_part_range(S, h, CHOL_HALVES, &i0, &i1);
                cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, i1 - i0, r->k, 1, r->gram,
                            r->k, r->q + i0, S);
            }
            rl_barrier_wait(&r->bar);
        }
        if (part == 0) after_factor(r);
    }
}

/* The structured path: steps 1..n of the chunk whose first step is done+1,
 * each measured step's J_t read on its diagonal blocks into sum (S). */
static void structured_steps(const rl_model *m, const rl_ws *ws, const rl_lyap_config *cfg, int done, int n, int jblock,
                             double *J, double *scratch, double *sum, double *trace, int *traced)
{
    const int S = rl_state_size(m), U = rl_model_units(m), k = cfg->k;
    double *row = scratch + rl_jac_scratch_size(m); /* S more: the running estimates of a trace row */
    for (int t = 1; t <= n; t++) {
        const int step = done + t - cfg->transient;
        if (step < 1) continue;
        rl_jac_build(m, ws, t, J, scratch);
        for (int i = 0; i < S; i++) {
            if (jblock == 1) {
                sum[i] += log(fabs(J[(size_t)i * S + i]));
                continue;
            }
            /* the pair (p, p + U/2) of layer i / U */
            const int l0 = i / U * U, half = U / 2, p = l0 + (i - l0) % half, q = p + half;
            const double det = J[(size_t)p * S + p] * J[(size_t)q * S + q] - J[(size_t)p * S + q] * J[(size_t)q * S + p];
            sum[i] += 0.5 * log(fabs(det));
        }
        if (trace && cfg->trace_every > 0 && step % cfg->trace_every == 0) {
            for (int i = 0; i < S; i++) row[i] = sum[i] / step;
            qsort(row, (size_t)S, sizeof *row, cmp_desc);
            memcpy(trace + (size_t)(*traced)++ * k, row, (size_t)k * sizeof *row);
        }
    }
}

static int b_batch(const rl_batch *b) { return b ? b->batch : 1; }

/* rl_alloc's bytes for n elements of es bytes */
static double alloc_bytes(double n, double es) { return ceil(fmax(n, 1) * es / 64) * 64; }

double rl_lyapunov_bytes(const rl_config *c, rl_orth orth, const rl_lyap_config *cfg)
{
    const int total = cfg->transient + cfg->steps, chunk = total < CHUNK ? total : CHUNK;
    double ws = rl_ws_bytes(c, orth, RL_F64, 1, chunk > 0 ? chunk : 1);
    if (ws <= 0 || cfg->k < 1) return 0;
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    const double U = rl_cell_units(d, c), S = d->states * c->num_layers * U, SS = S * S, k = cfg->k, LH = c->num_layers * U;
    rl_model *m = calloc(1, sizeof *m); /* for the scratch's size, which is the Jacobians' */
    if (!m) return INFINITY;
    m->cfg = *c, m->cell = d;
    const double scratch = alloc_bytes((double)rl_jac_scratch_size(m), 8);
    free(m);
    int parts = rl_get_num_threads(), panels = (cfg->k + PANEL_W - 1) / PANEL_W;
    if (parts > panels) parts = panels;
    /* as rl_lyapunov_ex allocates: the model, its workspace, then each buffer (dgeqrf's work: a block of 64 columns) */
    return rl_model_bytes(c, orth, RL_F64) + ws + alloc_bytes((double)chunk * c->input_size, 8) + 2 * alloc_bytes(LH, 8) +
           2 * alloc_bytes(S, 8) + alloc_bytes(SS, 8) + 2 * alloc_bytes(S * k, 8) + 3 * alloc_bytes(k, 8) + scratch +
           alloc_bytes(k * k, 8) + alloc_bytes(CHOL_HALVES * k * k, 8) + alloc_bytes(fmax(64 * k, 1), 8) +
           (parts > 1 ? alloc_bytes((double)(parts - 1) * (SS + scratch / 8), 8) : 0);
}


rl_status rl_lyapunov(const rl_model *m, const rl_batch *b, int seq, const rl_lyap_config *cfg, double *exponents,
                      double *trace)
{
    return rl_lyapunov_ex(m, b, seq, cfg, exponents, trace, NULL);
}

rl_status rl_lyapunov_ex(const rl_model *m0, const rl_batch *b, int seq, const rl_lyap_config *cfg, double *exponents,
                         double *trace, rl_lyap_info *out)
{
    const rl_config *c = &m0->cfg;
    /* H: a layer's state units (an lru's 2N), the c state's too */
    const int S = rl_state_size(m0), k = cfg->k, L = c->num_layers, H = rl_model_units(m0), NI = c->input_size;
    const int jblock = rl_cell_recur(m0->cell)->jblock;
    if (cfg->steps < 1 || cfg->transient < 0 || k < 1 || k > S || cfg->trace_every < 0)
        return rl_fail(RL_ERR_ARG, "need steps >= 1, transient >= 0, 1 <= k <= S = %d, trace_every >= 0", S);
    if ((cfg->input == RL_INPUT_DATA || cfg->state == RL_STATE_DATA) && !b)
        return rl_fail(RL_ERR_ARG, "input or initial state 'data' needs a data file");
    if (cfg->input == RL_INPUT_DATA && (!b->x || b->steps < 1))
        return rl_fail(RL_ERR_ARG, "input 'data' needs x in the data file");
    if (b && (seq < 0 || seq >= b->batch))
        return rl_fail(RL_ERR_ARG, "sequence %d is outside the batch [0, %d)", seq, b->batch);
    if (cfg->input == RL_INPUT_NOISE && !(cfg->noise_std >= 0 && isfinite(cfg->noise_std)))
        return rl_fail(RL_ERR_ARG, "the noise level must be finite and >= 0");
    if (cfg->state == RL_STATE_DATA && !b->h0)
        return rl_fail(RL_ERR_ARG, "initial state 'data' needs h0 in the data file");
    char what[160];
    snprintf(what, sizeof what, "the Lyapunov spectrum (%d exponents of a state of S = %d)", k, S);
    rl_status s0 = rl_memory_check(rl_lyapunov_bytes(c, m0->orth, cfg), what);
    if (s0) return s0;

    rl_model *m = NULL;
    rl_ws *ws = NULL;
    size_t SS = (size_t)S * S;
    const int lstm = rl_cell_states(c->cell) == 2; /* a second state component, c */
    double *x = NULL, *h0 = NULL, *c0 = NULL, *state = NULL, *ref = NULL, *J = NULL, *q = NULL, *z = NULL, *tau = NULL, *work = NULL, *sum = NULL,
           *scratch = NULL, *gram = NULL, *lr = NULL, *halves = NULL;
    rl_status s = rl_model_cast(&m, m0, RL_F64);
    int total = cfg->transient + cfg->steps, chunk = total < CHUNK ? total : CHUNK;
    if (!s) s = rl_ws_new(&ws, m, 1, chunk);
    lapack_int lwork = -1;
    double wq = 0, wq2 = 0;
    if (!s && (!(x = rl_alloc((size_t)chunk * NI, 8)) || !(h0 = rl_alloc((size_t)L * H, 8)) ||
               !(c0 = rl_alloc((size_t)L * H, 8)) || !(state = rl_alloc((size_t)S, 8)) || !(ref = rl_alloc((size_t)S, 8)) ||
               !(J = rl_alloc(SS, 8)) ||
               !(q = rl_alloc((size_t)S * k, 8)) || !(z = rl_alloc((size_t)S * k, 8)) || !(tau = rl_alloc((size_t)k, 8)) ||
               !(sum = rl_alloc((size_t)(jblock ? S : k), 8)) || !(scratch = rl_alloc(rl_jac_scratch_size(m0) + (size_t)S, 8)) ||
               !(gram = rl_alloc((size_t)k * k, 8)) || !(lr = rl_alloc((size_t)k, 8)) ||
               !(halves = rl_alloc((size_t)CHOL_HALVES * k * k, 8))))
        s = RL_ERR_NOMEM;
    /* workspace sizes for dgeqrf and dorgqr, asked once: nothing is
     * allocated inside the loop */
    if (!s) {
        LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, S, k, z, S, tau, &wq, -1);
        LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, S, k, k, z, S, tau, &wq2, -1);
        lwork = (lapack_int)fmax(fmax(wq, wq2), 1);
        if (!(work = rl_alloc((size_t)lwork, 8))) s = RL_ERR_NOMEM;
    }
    /* threads: a J and scratch of their own for parts 1.. (none if there is no memory: one thread) */
    int parts = rl_get_num_threads(), panels = (k + PANEL_W - 1) / PANEL_W;
    if (parts > panels) parts = panels;
    double *extra = NULL;
    if (!s && parts > 1 && !(extra = rl_alloc((size_t)(parts - 1) * (SS + rl_jac_scratch_size(m0)), 8))) parts = 1;
    int blas = rl_blas_single();
    rl_rng rng;
    rl_rng_seed(&rng, cfg->seed);
    lapack_int info = 0;
    if (!s) {
        /* a random orthonormal frame Q (S, k), column-major */
        for (size_t i = 0; i < (size_t)S * k; i++) q[i] = rl_rng_normal(&rng);
        info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, S, k, q, S, tau, work, lwork);
        if (!info) info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, S, k, k, q, S, tau, work, lwork);
        if (info) s = rl_fail(RL_ERR_LAPACK, "QR of the initial frame failed (info %d)", (int)info);
        for (int l = 0; l < L; l++)
            for (int i = 0; i < H; i++) {
                size_t at = (size_t)l * H + i, src = ((size_t)l * b_batch(b) + seq) * H + i;
                h0[at] = cfg->state == RL_STATE_DATA ? rl_load(b->h0, b->dtype, src)
                         : cfg->state == RL_STATE_RANDOM ? 2 * rl_rng_uniform(&rng) - 1 : 0;
                c0[at] = cfg->state == RL_STATE_DATA ? (b->c0 ? rl_load(b->c0, b->dtype, src) : 0)
                         : cfg->state == RL_STATE_RANDOM && lstm ? 2 * rl_rng_uniform(&rng) - 1 : 0;
            }
    }
    int done = 0, moved = 0, traced = 0;
    double displacement = 0;
    lyap_run run = {.m = m, .ws = ws, .cfg = cfg, .S = S, .k = k, .total = total, .J = J, .scratch = scratch,
                    .extra = extra, .gram = gram, .lr = lr, .tau = tau, .work = work, .lwork = lwork, .sum = sum,
                    .trace = trace, .block = 1, .halves = halves};
    while (!s && done < total) {
        int n = total - done < chunk ? total - done : chunk;
        /* inputs of this chunk; a short last chunk is padded and its tail ignored */
        for (int t = 0; t < chunk; t++)
            for (int i = 0; i < NI; i++) {
                double v = 0;
                if (t < n && cfg->input == RL_INPUT_DATA)
                    v = rl_load(b->x, b->dtype, ((size_t)seq * b->steps + (size_t)((done + t) % b->steps)) * NI + i);
                else if (t < n && cfg->input == RL_INPUT_NOISE)
                    v = cfg->noise_std * rl_rng_normal(&rng);
                x[(size_t)t * NI + i] = v;
            }
        rl_batch cb = {RL_F64, 1, chunk, NI, x, NULL, NULL, NULL, h0, lstm ? c0 : NULL};
        s = rl_forward(ws, m, &cb, NULL);
        if (!s && jblock) {
            structured_steps(m, ws, cfg, done, n, jblock, J, scratch, sum, trace, &traced);
        } else if (!s) {
            run.n = n, run.done = done, run.t = 1, run.q = q, run.z = z;
            rl_parallel(parts, chunk_part, &run, &run.bar);
            q = run.q, z = run.z, s = run.s;
        }
        /* did the state move over the measured steps? s_t against the state
         * the measurement starts from (the one after the transient) */
        for (int t = done ? 1 : 0; !s && t <= n; t++) {
            int step = done + t - cfg->transient;
            if (step < 0) continue;
            rl_ws_state(ws, t, step == 0 ? ref : state);
            for (int i = 0; step > 0 && i < S; i++) {
                double d = fabs(state[i] - ref[i]);
                moved |= state[i] != ref[i];
                displacement = d > displacement ? d : displacement;
            }
        }
        if (!s) { /* the state carries over to the next chunk */
            rl_ws_state(ws, n, state);
            for (int l = 0; l < L; l++) {
                memcpy(h0 + (size_t)l * H, state + (size_t)(lstm ? 2 : 1) * l * H, (size_t)H * 8);
                if (lstm) memcpy(c0 + (size_t)l * H, state + (size_t)2 * l * H + H, (size_t)H * 8);
            }
        }
        done += n;
        if (!s) s = rl_progress_report("QR steps", done, total);
    }
    /* stopped (the progress hook): the exponents of the steps measured so far, if any (a structured run sums
     * every step after the transient as it goes) */
    const int summed = jblock ? (done > cfg->transient ? done - cfg->transient : 0) : run.summed;
    const int measured = s == RL_ERR_INTERRUPTED ? summed : s ? 0 : cfg->steps;
    if (out) {
        out->stationary = !moved;
        out->displacement = displacement;
        out->structured = jblock != 0;
        out->steps_done = measured;
        out->traced = jblock ? traced : run.traced;
    }
    if (jblock && (!s || (s == RL_ERR_INTERRUPTED && measured > 0))) { /* every exponent, then the k largest */
        for (int i = 0; i < S; i++) sum[i] /= measured;
        qsort(sum, (size_t)S, sizeof *sum, cmp_desc);
        memcpy(exponents, sum, (size_t)k * sizeof *sum);
    } else if (s == RL_ERR_INTERRUPTED && measured > 0) {
        for (int i = 0; i < k; i++) exponents[i] = sum[i] / measured;
        qsort(exponents, (size_t)k, sizeof *exponents, cmp_desc);
    }
    if (!s) {
        for (int i = 0; !jblock && i < k; i++) exponents[i] = sum[i] / cfg->steps;
        qsort(exponents, (size_t)k, sizeof *exponents, cmp_desc);
        for (int i = 0; i < k; i++)
            if (isnan(exponents[i])) s = rl_fail(RL_ERR_NONFINITE, "a Lyapunov exponent is NaN (the state diverged)");
    }
    rl_free(x), rl_free(h0), rl_free(c0), rl_free(state), rl_free(ref), rl_free(J), rl_free(q), rl_free(z), rl_free(tau), rl_free(work), rl_free(sum);
    rl_free(scratch), rl_free(gram), rl_free(lr), rl_free(extra), rl_free(halves);
    rl_blas_restore(blas);
    rl_ws_free(ws);
    rl_model_free(m);
    return s;
}
