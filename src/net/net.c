/* The network: layers of cells, the readout o_t = W_o h_t + b_o of the top
 * layer, the masked loss, and BPTT through all of it. Compiled once per real
 * type (see real.h); rl_forward/rl_backward in ws.c pick the copy. */
#include "net/layer.h"

#include <math.h>
#include <string.h>

#define P(m, i) ((const real *)(m)->params + (m)->tensors[(i)].offset)
#define DP(ws, m, i) ((real *)(ws)->grad + (m)->tensors[(i)].offset)
/* layer l's tensor of role r and its gradient, NULL when the cell has none */
#define PL(m, l, r) (rl_t(m, l, r) < 0 ? NULL : P(m, rl_t(m, l, r)))
#define DPL(ws, m, l, r) (rl_t(m, l, r) < 0 ? NULL : DP(ws, m, rl_t(m, l, r)))

/* The elementwise loops around the GEMMs, cut among the threads by rows or
 * columns (rl_parallel_for): each element is computed as one thread would. */
typedef struct {
    real *z, *wt, *dw;
    const real *x, *w_ih, *b1, *b2, *da;
    const int32_t *ids;
    int G, in;
} in_job;

/* rows [lo, hi) of z: the input side of a one-hot row is the row ids[r] of
 * wt, or the biases for a row of zeros; of a dense input, += the biases */
static void in_rows(void *p, size_t lo, size_t hi)
{
    const in_job *j = p;
    const int G = j->G;
    for (size_t r = lo; r < hi; r++) {
        real *zr = j->z + r * G;
        if (!j->ids) {
            for (int k = 0; j->b1 && k < G; k++) zr[k] += j->b1[k] + (j->b2 ? j->b2[k] : 0);
        } else if (j->ids[r] >= 0) {
            memcpy(zr, j->wt + (size_t)j->ids[r] * G, (size_t)G * sizeof *zr);
        } else {
            for (int k = 0; k < G; k++) zr[k] = j->b1 ? j->b1[k] + (j->b2 ? j->b2[k] : 0) : 0;
        }
    }
}

static void in_project(real *z, int G, const real *x, const int32_t *ids, real *wt, const real *w_ih,
                         const real *b1, const real *b2, int TB, int in)
{
    in_job j = {z, wt, NULL, x, w_ih, b1, b2, NULL, ids, G, in};
    if (!ids) {
        RL_T(rl_gemm)(CblasNoTrans, CblasTrans, TB, G, in, 1, x, in, w_ih, in, 0, z, G);
    } else {
        /* wt[k] = column k of W_ih plus the biases: the row a one-hot x = e_k gets */
        for (int k = 0; k < G; k++) {
            real bias = b1 ? b1[k] + (b2 ? b2[k] : 0) : 0;
            for (int i = 0; i < in; i++) wt[(size_t)i * G + k] = w_ih[(size_t)k * in + i] + bias;
        }
    }
    rl_parallel_for((size_t)TB, RL_GRAIN / (size_t)G + 1, in_rows, &j);
}

typedef struct {
    real *dw_ih;
    const real *da;
    const int32_t *ids;
    real *wt;
    int G, TB, in;
} grad_job;

/* columns [lo, hi) of dL/dW_ih (rows of W_ih) for one-hot inputs:
 * dL/dW_ih[j, k] = the sum of dL/da[., j] over the rows whose input is e_k,
 * in the order of the rows */
static void in_grad_part(void *p, size_t lo, size_t hi)
{
    const grad_job *g = p;
    const size_t G = (size_t)g->G, in = (size_t)g->in, w = hi - lo;
    for (size_t k = 0; k < in; k++) memset(g->wt + k * G + lo, 0, w * sizeof *g->wt);
    for (size_t r = 0; r < (size_t)g->TB; r++) {
        if (g->ids[r] < 0) continue;
        real *acc = g->wt + (size_t)g->ids[r] * G;
        const real *d = g->da + r * G;
        for (size_t j = lo; j < hi; j++) acc[j] += d[j];
    }
    for (size_t j = lo; j < hi; j++)
        for (size_t k = 0; k < in; k++) g->dw_ih[j * in + k] += g->wt[k * G + j];
}

static void in_grad(real *dw_ih, const real *da, int G, const real *x, const int32_t *ids, real *wt, int TB, int in)
{
    if (!ids) {
        RL_T(rl_gemm)(CblasTrans, CblasNoTrans, G, in, TB, 1, da, G, x, in, 1, dw_ih, in);
        return;
    }
    grad_job gj = {dw_ih, da, ids, wt, G, TB, in};
    rl_parallel_for((size_t)G, RL_GRAIN / (size_t)TB + 1, in_grad_part, &gj);
}

#ifdef RL_REAL_F64
#define SIMD_MAX
#define SIMD_SUM
#define RL_SIMD_ONEHOT
#else
#define RL_SIMD_ONEHOT _Pragma("omp simd reduction(+ : nonzero, other, at)")
#define SIMD_MAX _Pragma("omp simd reduction(max : mx)")
#define SIMD_SUM _Pragma("omp simd reduction(+ : s)")
#endif

/* The index of the 1 in a one-hot row of n values, -1 for a row of zeros,
 * -2 for anything else. */
RL_CLONES static int onehot_index(const real *x, int n)
{
    int nonzero = 0, other = 0, at = 0;
    RL_SIMD_ONEHOT
    for (int i = 0; i < n; i++) {
        nonzero += x[i] != 0;
        other += x[i] != 0 && x[i] != 1;
        at += x[i] != 0 ? i : 0;
    }
    return other || nonzero > 1 ? -2 : nonzero ? at : -1;
}


/* Cross-entropy of one output row o (O) against class y: returns
 * l = logsumexp(o) - o_y and, when d is not NULL, sets d = w (softmax(o) - e_y). */
RL_CLONES static double ce_row(real *d, real *e, const real *o, int y, real w, int O)
{
    real mx = o[0];
    SIMD_MAX
    for (int k = 1; k < O; k++) mx = o[k] > mx ? o[k] : mx;
    real s = 0;
    SIMD_SUM
    for (int k = 0; k < O; k++) s += (e[k] = RL_EXP(o[k] - mx));
    if (d) {
        real scale = w / s;
        RL_SIMD
        for (int k = 0; k < O; k++) d[k] = e[k] * scale;
        d[y] -= w;
    }
    /* cppcheck-suppress invalidFunctionArg ; s >= 1: the largest term is exp(0) */
    return (double)RL_LOG(s) + mx - o[y];
}

/* The readout and the loss of every (b, t) with its weight w = m[b,t]/sum(m).
 * Writes dL/do_t into dout at the same time (unless want_d is 0, and then
 * only as scratch): the softmax is computed once.
 *   cross-entropy: l = logsumexp(o) - o_y,        dL/do = w (softmax(o) - e_y)
 *   mse:           l = sum_k (o_k - y_k)^2 / O,   dL/do = w 2 (o - y) / O */
typedef struct {
    real *dout;
    const real *out;
    const rl_batch *b;
    const double *wsum;
    double *lrow;
    int T, B, O, want_d;
    rl_loss loss;
} loss_job;

/* rows [lo, hi) of (T, B): each row's weighted loss into lrow */
static void loss_rows(void *p, size_t lo, size_t hi)
{
    const loss_job *j = p;
    const int O = j->O;
    for (size_t i = lo; i < hi; i++) {
        size_t t = i / (size_t)j->B, bb = i % (size_t)j->B, bt = bb * (size_t)j->T + t;
        const real *o = j->out + i * O;
        real *d = j->dout + i * O;
        double w = j->wsum[bt];
        j->lrow[i] = 0;
        if (w == 0) {
            memset(d, 0, (size_t)O * sizeof *d);
            continue;
        }
        if (j->loss == RL_LOSS_CE) {
            j->lrow[i] = w * ce_row(j->want_d ? d : NULL, d, o, j->b->target[bt], (real)w, O);
        } else {
            double l = 0;
            const real *y = (const real *)j->b->y + bt * O;
            for (int k = 0; k < O; k++) {
                real e = o[k] - y[k];
                l += (double)e * e;
                d[k] = (real)(w * 2.0 / O) * e;
            }
            j->lrow[i] = w * l / O;
        }
    }
}

static double loss_and_dout(real *dout, const real *out, const rl_batch *b, const double *wsum, double *lrow, int T,
                            int B, int O, rl_loss loss, int want_d)
{
    loss_job j = {dout, out, b, wsum, lrow, T, B, O, want_d, loss};
    rl_parallel_for((size_t)T * B, RL_GRAIN / 8 / (size_t)O + 1, loss_rows, &j);
    /* the sum in the order of the steps, then the sequences, whatever the threads */
    double total = 0;
    for (size_t i = 0; i < (size_t)T * B; i++) total += lrow[i];
    return total;
}

/* Layer l's outputs (T, B, H), what the layer above and the readout read:
 * its states h[1..T], or its output map's y (lru). */
static const real *layer_out(const rl_ws *ws, const rl_model *m, int l)
{
    const size_t T = (size_t)ws->T, B = (size_t)ws->B;
    if (m->cell->out_map) return (const real *)ws->y + (size_t)l * T * B * m->cfg.hidden_size;
    const size_t BU = B * (size_t)rl_cell_units(m->cell, &m->cfg);
    return (const real *)ws->h + (size_t)l * (T + 1) * BU + BU;
}

static rl_status forward(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    const rl_config *c = &m->cfg;
    const int B = ws->B, T = ws->T, NI = c->input_size, H = c->hidden_size, O = c->output_size;
    const size_t BH = (size_t)B * H, BU = (size_t)B * rl_cell_units(m->cell, c);
    RL_ASSERT(ws->dtype == RL_DTYPE && m->dtype == RL_DTYPE);
    if (b->dtype != RL_DTYPE)
        return rl_fail(RL_ERR_ARG, "the batch is %s but the model is %s", rl_dtype_name(b->dtype),
                       rl_dtype_name(m->dtype));
    if (b->batch != B || b->steps != T)
        return rl_fail(RL_ERR_ARG, "the batch is (B=%d, T=%d) but the workspace was made for (B=%d, T=%d)",
                       b->batch, b->steps, B, T);
    rl_status s = rl_batch_check(b, m, loss != NULL, ws->wsum);
    if (s) return s;
    ws->have_loss = 0;

    /* inputs to time-major (T, B, I); one-hot inputs become indices */
    const real *x = b->x;
    real *xt = ws->xt;
    ws->onehot = !ws->no_gather;
    for (int bb = 0; bb < B && ws->onehot; bb++)
        for (int t = 0; t < T && ws->onehot; t++) {
            int id = onehot_index(x + ((size_t)bb * T + t) * NI, NI);
            if (id == -2) ws->onehot = 0;
            ws->ids[(size_t)t * B + bb] = id;
        }
    if (!ws->onehot)
        for (int bb = 0; bb < B; bb++)
            for (int t = 0; t < T; t++)
                memcpy(xt + ((size_t)t * B + bb) * NI, x + ((size_t)bb * T + t) * NI, (size_t)NI * sizeof *xt);
    const int32_t *ids0 = ws->onehot ? ws->ids : NULL;

    for (int l = 0; l < c->num_layers; l++) {
        real *h = (real *)ws->h + (size_t)l * (T + 1) * BU;
        for (size_t i = 0; i < BU; i++) h[i] = b->h0 ? rl_get(b->h0, b->dtype, l * BU + i) : 0;
        const real *in = l == 0 ? xt : layer_out(ws, m, l - 1);
        if (l > 0 && ws->dropout > 0) {
            /* inverted dropout on the layer's input: x' = x * m, m in {0, 1/(1-p)} */
            real *mask = (real *)ws->dmask + (size_t)(l - 1) * T * BH, *dropped = (real *)ws->drop + (size_t)(l - 1) * T * BH;
            const real keep = (real)(1 / (1 - ws->dropout));
            for (size_t i = 0; i < (size_t)T * BH; i++) {
                mask[i] = rl_rng_uniform(&ws->drop_rng) >= ws->dropout ? keep : 0;
                dropped[i] = in[i] * mask[i];
            }
            in = dropped;
        }
        if (ws->c) {
            real *cc = (real *)ws->c + (size_t)l * (T + 1) * BU;
            for (size_t i = 0; i < BU; i++) cc[i] = b->c0 ? rl_get(b->c0, b->dtype, l * BU + i) : 0;
        }
        rl_layer ly = RL_T(rl_layer_of)(ws, m, l);
        RL_T(rl_layer_forward)(m->cell, &ly, in, l == 0 ? ids0 : NULL, ws->wt, (real *)ws->wpack);
        if (m->cell->out_map) RL_PROF(RL_PROF_OUT_MAP, RL_OPS(m->cell)->out_fwd(&ly)); /* y = act(Re(C x) + D u), lru */
    }
    /* o_t = W_o h_t + b_o for all T*B rows of the top layer at once */
    const real *htop = layer_out(ws, m, c->num_layers - 1);
    real *out = ws->out;
    const real *bo = P(m, rl_t_head_b(m));
    for (size_t r = 0; r < (size_t)T * B; r++) memcpy(out + r * O, bo, (size_t)O * sizeof *out);
    double t0 = rl_prof_on ? rl_now() : 0;
    RL_T(rl_gemm)(CblasNoTrans, CblasTrans, T * B, O, H, 1, htop, H, P(m, rl_t_head_w(m)), H, 1, out, O);
    if (!loss) {
        if (rl_prof_on) rl_prof_s[RL_PROF_READOUT] += rl_now() - t0;
        return RL_OK;
    }
    double l = loss_and_dout(ws->dout, out, b, ws->wsum, ws->lrow, T, B, O, c->loss, !ws->no_dout);
    if (rl_prof_on) rl_prof_s[RL_PROF_READOUT] += rl_now() - t0;
    if (!isfinite(l)) return rl_fail(RL_ERR_NONFINITE, "the loss is %g", l);
    *loss = l;
    ws->have_loss = !ws->no_dout;
    return RL_OK;
}

typedef struct {
    real *db;
    const real *d;
    size_t rows, ld;
} colsum_job;

/* columns [lo, hi) of db += the column sums of d (rows, ld), row by row */
static void colsum_part(void *p, size_t lo, size_t hi)
{
    const colsum_job *j = p;
    for (size_t r = 0; r < j->rows; r++)
        for (size_t k = lo; k < hi; k++) j->db[k] += j->d[r * j->ld + k];
}

static rl_status backward(rl_ws *ws, const rl_model *m, const rl_batch *b)
{
    const rl_config *c = &m->cfg;
    const int B = ws->B, T = ws->T, H = c->hidden_size, O = c->output_size, L = c->num_layers;
    const size_t BH = (size_t)B * H, TB = (size_t)T * B, TBU = TB * (size_t)rl_cell_units(m->cell, c);
    RL_ASSERT(ws->dtype == RL_DTYPE && m->dtype == RL_DTYPE && b->batch == B && b->steps == T);
    const real *htop = layer_out(ws, m, L - 1);
    const real *dout = ws->dout;
    real *dh = ws->dh_top;
    double t0 = rl_prof_on ? rl_now() : 0;
    /* dW_o += sum_t dL/do_t h_t^T, db_o += sum_t dL/do_t */
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, O, H, (int)TB, 1, dout, O, htop, H, 1, DP(ws, m, rl_t_head_w(m)), H);
    colsum_job cj = {DP(ws, m, rl_t_head_b(m)), dout, TB, (size_t)O};
    rl_parallel_for((size_t)O, RL_GRAIN / TB + 1, colsum_part, &cj);
    /* the output part of eq. 10.21 for the top layer: (do_t/dh_t)^T dL/do_t = W_o^T dL/do_t */
    RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, (int)TB, H, O, 1, dout, O, P(m, rl_t_head_w(m)), H, 0, dh, H);
    if (rl_prof_on) rl_prof_s[RL_PROF_HEAD_BWD] += rl_now() - t0;

    real *spare[2] = {ws->dh, ws->dh_below};
    for (int l = L - 1; l >= 0; l--) {
        const real *in = l == 0 ? (const real *)ws->xt : layer_out(ws, m, l - 1);
        if (l > 0 && ws->dropout > 0) in = (const real *)ws->drop + (size_t)(l - 1) * T * BH;
        real *dx = l > 0 ? spare[l % 2] : NULL; /* dL/dh of layer l-1, from this layer alone */
        const int32_t *ids = l == 0 && ws->onehot ? ws->ids : NULL;
        rl_layer ly = RL_T(rl_layer_of)(ws, m, l);
        ly.dh = dh;
        if (m->cell->out_map) { /* dL/dy to dL/d(state), the map's weights and its share of the input side */
            RL_PROF(RL_PROF_OUT_MAP, RL_OPS(m->cell)->out_bwd(&ly, dh, ws->dstate, DPL(ws, m, l, RL_W_OUT)));
            ly.dh = ws->dstate;
        }
        RL_T(rl_layer_backward)(m->cell, &ly, dx, DPL(ws, m, l, RL_W_IH), (real *)rl_layer_dwhh(ws, m, l), DPL(ws, m, l, RL_B_IH),
                                DPL(ws, m, l, RL_B_HH), DPL(ws, m, l, RL_EXTRA), in, ids, ws->wt,
                                (real *)ws->wpack);
        if (ws->dh_all) memcpy((real *)ws->dh_all + (size_t)l * TBU, ly.dh, TBU * sizeof *dh); /* Omega's delta */
        if (dx && ws->dropout > 0) { /* back through the dropout mask */
            const real *mask = (const real *)ws->dmask + (size_t)(l - 1) * T * BH;
            for (size_t i = 0; i < (size_t)T * BH; i++) dx[i] *= mask[i];
        }
        dh = dx;
    }
    return RL_OK;
}

/* This file's functions by their names in each precision (real.h). */
#ifdef RL_REAL_F64
void rl_in_project_f64(double *z, int G, const double *x, const int32_t *ids, double *wt, const double *w_ih,
                       const double *b1, const double *b2, int TB, int in)
{
    in_project(z, G, x, ids, wt, w_ih, b1, b2, TB, in);
}
void rl_in_grad_f64(double *dw_ih, const double *da, int G, const double *x, const int32_t *ids, double *wt, int TB,
                    int in)
{
    in_grad(dw_ih, da, G, x, ids, wt, TB, in);
}
rl_status rl_forward_f64(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    return forward(ws, m, b, loss);
}
rl_status rl_backward_f64(rl_ws *ws, const rl_model *m, const rl_batch *b) { return backward(ws, m, b); }
#else
void rl_in_project_f32(float *z, int G, const float *x, const int32_t *ids, float *wt, const float *w_ih,
                       const float *b1, const float *b2, int TB, int in)
{
    in_project(z, G, x, ids, wt, w_ih, b1, b2, TB, in);
}
void rl_in_grad_f32(float *dw_ih, const float *da, int G, const float *x, const int32_t *ids, float *wt, int TB, int in)
{
    in_grad(dw_ih, da, G, x, ids, wt, TB, in);
}
rl_status rl_forward_f32(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    return forward(ws, m, b, loss);
}
rl_status rl_backward_f32(rl_ws *ws, const rl_model *m, const rl_batch *b) { return backward(ws, m, b); }
#endif
