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
 * positive definite, or a block worse conditioned than planned. */
#include "internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define CHUNK 256
#define MAX_BLOCK 16
#define BLOCK_LOG_COND 16.0
#define CHOL_LOG_COND 16.1 /* ln 1e7 */

static double get(const void *p, rl_dtype d, size_t i)
{
    return d == RL_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Q R = Z by Cholesky QR, twice (CholeskyQR2: Yamamoto, Nakatsukasa,
 * Yanagisawa, Fukaya 2015): R^T R = Z^T Z, Q = Z R^-1, and once more on Q to
 * make it orthonormal to rounding. All level-3 BLAS, about ten times faster
 * than Householder at S = 128; sound while cond(Z) stays well below 1e8,
 * which the block length (e^BLOCK_LOG_COND = 9e6) is chosen for. Z (S, k)
 * column-major becomes Q; lr gets ln R_ii. Returns -1, with Z restored from
 * save, when the Gram matrix is not positive definite or its diagonal says
 * the block is worse conditioned than planned: Householder takes over. */
static int chol_qr2(double *z, double *save, int S, int k, double *gram, double *lr)
{
    memcpy(save, z, (size_t)S * k * sizeof *z);
    for (int i = 0; i < k; i++) lr[i] = 0;
    for (int pass = 0; pass < 2; pass++) {
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, S, 1, z, S, 0, gram, k);
        lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', k, gram, k);
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; !info && i < k; i++) {
            double l = log(gram[(size_t)i * k + i]);
            lr[i] += l;
            lo = fmin(lo, l), hi = fmax(hi, l);
        }
        if (info || !(hi - lo < CHOL_LOG_COND)) {
            memcpy(z, save, (size_t)S * k * sizeof *z);
            return -1;
        }
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, S, k, 1, gram, k, z, S);
    }
    return 0;
}

static int b_batch(const rl_batch *b) { return b ? b->batch : 1; }

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

rl_status rl_lyapunov(const rl_model *m0, const rl_batch *b, int seq, const rl_lyap_config *cfg,
                      double *exponents, double *trace)
{
    const rl_config *c = &m0->cfg;
    const int S = rl_state_size(m0), k = cfg->k, L = c->num_layers, H = c->hidden_size, NI = c->input_size;
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

    rl_model *m = NULL;
    rl_ws *ws = NULL;
    size_t SS = (size_t)S * S;
    const int lstm = c->cell == RL_CELL_LSTM;
    double *x = NULL, *h0 = NULL, *c0 = NULL, *state = NULL, *J = NULL, *q = NULL, *z = NULL, *tau = NULL, *work = NULL, *sum = NULL,
           *scratch = NULL, *gram = NULL, *lr = NULL;
    rl_status s = rl_model_cast(&m, m0, RL_F64);
    int total = cfg->transient + cfg->steps, chunk = total < CHUNK ? total : CHUNK;
    if (!s) s = rl_ws_new(&ws, m, 1, chunk);
    lapack_int lwork = -1;
    double wq = 0, wq2 = 0;
    if (!s && (!(x = rl_alloc((size_t)chunk * NI, 8)) || !(h0 = rl_alloc((size_t)L * H, 8)) ||
               !(c0 = rl_alloc((size_t)L * H, 8)) || !(state = rl_alloc((size_t)S, 8)) || !(J = rl_alloc(SS, 8)) ||
               !(q = rl_alloc((size_t)S * k, 8)) || !(z = rl_alloc((size_t)S * k, 8)) || !(tau = rl_alloc((size_t)k, 8)) ||
               !(sum = rl_alloc((size_t)k, 8)) || !(scratch = rl_alloc(rl_jac_scratch_size(m0), 8)) ||
               !(gram = rl_alloc((size_t)k * k, 8)) || !(lr = rl_alloc((size_t)k, 8))))
        s = RL_ERR_NOMEM;
    /* workspace sizes for dgeqrf and dorgqr, asked once: nothing is
     * allocated inside the loop */
    if (!s) {
        LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, S, k, z, S, tau, &wq, -1);
        LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, S, k, k, z, S, tau, &wq2, -1);
        lwork = (lapack_int)fmax(fmax(wq, wq2), 1);
        if (!(work = rl_alloc((size_t)lwork, 8))) s = RL_ERR_NOMEM;
    }
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
                h0[at] = cfg->state == RL_STATE_DATA ? get(b->h0, b->dtype, src)
                         : cfg->state == RL_STATE_RANDOM ? 2 * rl_rng_uniform(&rng) - 1 : 0;
                c0[at] = cfg->state == RL_STATE_DATA ? (b->c0 ? get(b->c0, b->dtype, src) : 0)
                         : cfg->state == RL_STATE_RANDOM && lstm ? 2 * rl_rng_uniform(&rng) - 1 : 0;
            }
    }
    int done = 0, traced = 0, pending = 0, block = 1;
    while (!s && done < total) {
        int n = total - done < chunk ? total - done : chunk;
        /* inputs of this chunk; a short last chunk is padded and its tail ignored */
        for (int t = 0; t < chunk; t++)
            for (int i = 0; i < NI; i++) {
                double v = 0;
                if (t < n && cfg->input == RL_INPUT_DATA)
                    v = get(b->x, b->dtype, ((size_t)seq * b->steps + (size_t)((done + t) % b->steps)) * NI + i);
                else if (t < n && cfg->input == RL_INPUT_NOISE)
                    v = cfg->noise_std * rl_rng_normal(&rng);
                x[(size_t)t * NI + i] = v;
            }
        rl_batch cb = {RL_F64, 1, chunk, NI, x, NULL, NULL, NULL, h0, lstm ? c0 : NULL};
        s = rl_forward(ws, m, &cb, NULL);
        for (int t = 1; !s && t <= n; t++) {
            int now = done + t, step = now - cfg->transient; /* step: 1-based once the transient is over */
            rl_jac_build(m, ws, t, J, scratch);
            /* Q <- J_t Q (column-major; J is row-major, i.e. J^T column-major) */
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, S, k, S, 1, J, S, q, S, 0, z, S);
            double *sw = q;
            q = z, z = sw;
            pending++;
            int traces = trace && cfg->trace_every > 0 && step >= 1 && step % cfg->trace_every == 0;
            if (pending < block && now != cfg->transient && now != total && !traces) continue;
            /* factorise the block: Q R = J_now ... J_{now-pending+1} Q_prev */
            if (chol_qr2(q, z, S, k, gram, lr) != 0) {
                info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, S, k, q, S, tau, work, lwork);
                if (info) {
                    s = rl_fail(RL_ERR_LAPACK, "dgeqrf failed at step %d (info %d)", now, (int)info);
                    break;
                }
                for (int i = 0; i < k; i++) lr[i] = log(fabs(q[(size_t)i * S + i]));
                info = LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, S, k, k, q, S, tau, work, lwork);
                if (info) {
                    s = rl_fail(RL_ERR_LAPACK, "dorgqr failed at step %d (info %d)", now, (int)info);
                    break;
                }
            }
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < k; i++) {
                if (step >= 1) sum[i] += lr[i];
                lo = fmin(lo, lr[i]), hi = fmax(hi, lr[i]);
            }
            /* the next block: as long as its condition stays below e^BLOCK_LOG_COND */
            double spread = (hi - lo) / pending;
            block = spread > 0 ? (int)fmin(MAX_BLOCK, fmax(1, BLOCK_LOG_COND / spread)) : MAX_BLOCK;
            if (!isfinite(spread)) block = 1;
            pending = 0;
            if (traces) {
                for (int i = 0; i < k; i++) trace[(size_t)traced * k + i] = sum[i] / step;
                qsort(trace + (size_t)traced * k, (size_t)k, sizeof *trace, cmp_desc);
                traced++;
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
    }
    if (!s) {
        for (int i = 0; i < k; i++) exponents[i] = sum[i] / cfg->steps;
        qsort(exponents, (size_t)k, sizeof *exponents, cmp_desc);
        for (int i = 0; i < k; i++)
            if (isnan(exponents[i])) s = rl_fail(RL_ERR_NONFINITE, "a Lyapunov exponent is NaN (the state diverged)");
    }
    rl_free(x), rl_free(h0), rl_free(c0), rl_free(state), rl_free(J), rl_free(q), rl_free(z), rl_free(tau), rl_free(work), rl_free(sum);
    rl_free(scratch), rl_free(gram), rl_free(lr);
    rl_ws_free(ws);
    rl_model_free(m);
    return s;
}
