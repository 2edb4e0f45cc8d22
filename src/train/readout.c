/* The ridge readout of an echo state network (Jaeger 2001; Lukoševičius
 * 2012, sec. 4; Deep Learning sec. 10.8): the recurrence stays as it was
 * initialised, and only the head is fitted, in closed form, on the states
 * of one forward pass. */
#include "net/net.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* rows of X gathered before they are added into X^T X (one SYRK each) */
#define CHUNK 512

/* The normal equations' sums over the fitted rows. */
typedef struct {
    int p, O;       /* unknowns per output (H + 1), outputs */
    double *A;      /* (p, p) X^T M X, upper triangle (row-major) */
    double *XY;     /* (p, O) X^T M Y; the solution [W c]^T after the solve */
    double *xc, *yc;/* (CHUNK, p), (CHUNK, O): sqrt(m) [x 1] and sqrt(m) y of rows not yet added */
    int nc;         /* rows in the chunk */
    int64_t rows;
    double wsum, ysum, ysq; /* sum of m, of m y, of m y^2 (outputs pooled) */
} normal_eq;

static void flush(normal_eq *q)
{
    if (!q->nc) return;
    /* A += Xc^T Xc, XY += Xc^T Yc */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q->p, q->nc, 1.0, q->xc, q->p, 1.0, q->A, q->p);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->p, q->O, q->nc, 1.0, q->xc, q->p, q->yc, q->O, 1.0, q->XY, q->O);
    q->nc = 0;
}

/* The top layer's state after step t of sequence bb, from the cache h (T+1, B, H). */
static double state(const void *h, rl_dtype d, int B, int H, int t, int bb, int j)
{
    return rl_load(h, d, ((size_t)(t + 1) * B + (size_t)bb) * H + (size_t)j);
}

rl_status rl_ridge_readout(rl_model *m, const rl_batch *b, int washout, double ridge, rl_ridge_info *info)
{
    const rl_config c = rl_model_config(m);
    const int B = b->batch, T = b->steps, H = c.hidden_size, O = c.output_size, p = H + 1;
    if (c.loss != RL_LOSS_MSE)
        return rl_fail(RL_ERR_ARG, "a ridge readout fits an MSE head; this model's loss is %s", rl_loss_name(c.loss));
    if (m->cell->out_map)
        return rl_fail(RL_ERR_ARG, "a ridge readout fits the head on the top layer's states; %s's output is a map of "
                                   "its state: train it with --readout bptt", m->cell->name);
    if (!(ridge >= 0) || !isfinite(ridge)) return rl_fail(RL_ERR_ARG, "ridge = %g must be a finite number >= 0", ridge);
    if (washout < 0 || washout >= T)
        return rl_fail(RL_ERR_ARG, "washout = %d must be in [0, %d): the sequences have %d steps", washout, T, T);
    if (!b->y) return rl_fail(RL_ERR_ARG, "a ridge readout needs the targets y");
    rl_model *mc = NULL;
    rl_ws *ws = NULL;
    normal_eq q = {p, O, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0};
    rl_status s = b->dtype == m->dtype ? RL_OK : rl_model_cast(&mc, m, b->dtype);
    const rl_model *mf = mc ? mc : m; /* the model in the batch's dtype */
    if (!s) s = rl_ws_new(&ws, mf, B, T);
    if (!s) s = rl_forward(ws, mf, b, NULL);
    if (!s && (!(q.A = rl_alloc((size_t)p * p, 8)) || !(q.XY = rl_alloc((size_t)p * O, 8)) ||
               !(q.xc = rl_alloc((size_t)CHUNK * p, 8)) || !(q.yc = rl_alloc((size_t)CHUNK * O, 8))))
        s = rl_fail(RL_ERR_NOMEM, "ridge readout: no memory for the normal equations of %d unknowns", p);
    const void *h = s ? NULL : rl_ws_hidden(ws, c.num_layers - 1);
    const rl_dtype d = b->dtype;
    for (int bb = 0; !s && bb < B; bb++)
        for (int t = washout; t < T; t++) {
            const size_t bt = (size_t)bb * T + t;
            const double w = b->mask ? rl_load(b->mask, d, bt) : 1;
            if (!(w > 0)) continue;
            /* the row sqrt(m) [x_bt 1], its targets sqrt(m) y_bt */
            const double sw = sqrt(w);
            double *xr = q.xc + (size_t)q.nc * p, *yr = q.yc + (size_t)q.nc * O;
            for (int j = 0; j < H; j++) xr[j] = sw * state(h, d, B, H, t, bb, j);
            xr[H] = sw;
            for (int o = 0; o < O; o++) {
                const double y = rl_load(b->y, d, bt * O + o);
                yr[o] = sw * y;
                q.ysum += w * y, q.ysq += w * y * y;
            }
            q.wsum += w, q.rows++;
            if (++q.nc == CHUNK) flush(&q);
        }
    if (!s) flush(&q);
    if (!s && q.rows == 0) s = rl_fail(RL_ERR_ARG, "ridge readout: no step to fit (all %d steps are washout or masked)", T);
    double rcond = 0;
    if (!s) {
        /* (X^T M X + ridge D): the bias's row and column, the last, are not penalised */
        for (int j = 0; j < H; j++) q.A[(size_t)j * p + j] += ridge;
        const double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'U', p, q.A, p);
        lapack_int inf = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', p, q.A, p);
        RL_ASSERT(inf >= 0);
        if (inf == 0) inf = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'U', p, q.A, p, anorm, &rcond);
        RL_ASSERT(inf >= 0);
        /* singular, or so ill-conditioned that no digit of the solution is sure */
        if (inf > 0 || !(rcond >= DBL_EPSILON))
            s = rl_fail(RL_ERR_LAPACK,
                        "ridge readout: the normal equations of %d unknowns over %lld rows are singular to working "
                        "precision (%s%.3g) with ridge = %g; use a ridge > 0 or more rows",
                        p, (long long)q.rows, inf > 0 ? "not positive definite, leading minor " : "reciprocal condition ",
                        inf > 0 ? (double)inf : rcond, ridge);
    }
    if (!s && LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', p, O, q.A, p, q.XY, O) != 0)
        s = rl_fail(RL_ERR_LAPACK, "ridge readout: dpotrs failed");
    for (int k = 0; !s && k < p * O; k++)
        if (!isfinite(q.XY[k])) s = rl_fail(RL_ERR_NONFINITE, "ridge readout: the solution is not finite");
    if (!s) {
        /* head.weight (O, H) = W, head.bias (O) = c, in the model's dtype */
        const size_t ow = m->tensors[rl_t_head_w(m)].offset, ob = m->tensors[rl_t_head_b(m)].offset;
        double wn = 0;
        for (int o = 0; o < O; o++) {
            for (int j = 0; j < H; j++) {
                rl_store(m->params, m->dtype, ow + (size_t)o * H + j, q.XY[(size_t)j * O + o]);
                wn += q.XY[(size_t)j * O + o] * q.XY[(size_t)j * O + o];
            }
            rl_store(m->params, m->dtype, ob + (size_t)o, q.XY[(size_t)H * O + o]);
        }
        /* the fit's loss, with the head as stored: sum m sum_o (o - y)^2 / O / sum m */
        double se = 0;
        for (int bb = 0; bb < B; bb++)
            for (int t = washout; t < T; t++) {
                const size_t bt = (size_t)bb * T + t;
                const double w = b->mask ? rl_load(b->mask, d, bt) : 1;
                if (!(w > 0)) continue;
                for (int o = 0; o < O; o++) {
                    double v = rl_load(m->params, m->dtype, ob + (size_t)o);
                    for (int j = 0; j < H; j++)
                        v += rl_load(m->params, m->dtype, ow + (size_t)o * H + j) * state(h, d, B, H, t, bb, j);
                    const double e = v - rl_load(b->y, d, bt * O + o);
                    se += w * e * e / O;
                }
            }
        if (info) {
            const double n = q.wsum * O, mean = q.ysum / n;
            info->rows = q.rows;
            info->train_mse = se / q.wsum;
            info->target_var = fmax(q.ysq / n - mean * mean, 0);
            info->rcond = rcond;
            info->weight_norm = sqrt(wn);
        }
    }
    rl_free(q.A), rl_free(q.XY), rl_free(q.xc), rl_free(q.yc);
    rl_ws_free(ws);
    rl_model_free(mc);
    return s;
}
