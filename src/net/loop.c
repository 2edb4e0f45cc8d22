/* The time loop: one layer of any cell through all T steps, forward and
 * backward. The cell (src/cell.h) gives the step's elementwise work; this
 * file owns everything around it: the input projection of all steps at
 * once, the recurrent product of each step, the threads, the weight
 * gradients after the loop. Compiled once per real type (see real.h).
 *
 * Two ways to share a step among threads, both computing every element
 * exactly as one thread would (so any thread count gives the same bits):
 *   row blocks: each thread takes whole blocks of RL_ROW_BLOCK sequences
 *     through all T steps on its own; the threads never wait for each other.
 *   lockstep (a float32 W_hh too large for every core's cache): each thread
 *     owns a range of hidden units: the columns of all gates of those units
 *     in each step's product (its panels of the packed W, so it reads only
 *     its part of W), then the units' elementwise work for every sequence;
 *     one barrier per step, as the next step reads every unit. */
#include "net/layer.h"

#include <string.h>

#define P(m, i) ((const real *)(m)->params + (m)->tensors[(i)].offset)
/* layer l's tensor of role r, NULL when the cell has none */
#define PL(m, l, r) (rl_t(m, l, r) < 0 ? NULL : P(m, rl_t(m, l, r)))

/* Layer l's buffers in the workspace (dh left NULL: the caller's). */
static rl_layer layer_of(const rl_ws *ws, const rl_model *m, int l)
{
    const rl_cell_desc *d = m->cell;
    const int B = ws->B, T = ws->T, H = m->cfg.hidden_size, U = rl_cell_units(d, &m->cfg), Z = rl_cell_proj(d, &m->cfg);
    const size_t BU = (size_t)B * U, LT1 = (size_t)l * (T + 1) * BU, LT = (size_t)l * T * B;
    rl_layer ly = {.T = T, .B = B, .H = H, .in = l == 0 ? m->cfg.input_size : H, .U = U, .Z = Z};
    ly.h = (real *)ws->h + LT1;
    ly.c = ws->c ? (real *)ws->c + LT1 : NULL;
    ly.z = ws->gates ? (real *)ws->gates + LT * Z : NULL;
    ly.aux = ws->aux ? (real *)ws->aux + LT * U * d->aux : NULL;
    ly.hw = ws->carry;
    ly.w_ih = PL(m, l, RL_W_IH), ly.w_hh = (const real *)rl_layer_whh(ws, m, l); /* orthogonal: B map(A) */
    ly.b_ih = PL(m, l, RL_B_IH), ly.b_hh = PL(m, l, RL_B_HH), ly.extra = PL(m, l, RL_EXTRA);
    ly.der = ws->rder ? (const real *)ws->rder + (size_t)l * 2 * U + U : NULL;
    ly.w_out = PL(m, l, RL_W_OUT), ly.act = (int)m->cfg.activation;
    ly.y = ws->y ? (real *)ws->y + LT * H : NULL, ly.ya = ws->ya ? (real *)ws->ya + LT * H : NULL;
    ly.relu_on = ws->relu_on ? ws->relu_on + LT1 + BU : NULL;
    ly.dz = ws->dz;
    ly.dzh = d->hh_apart ? (real *)ws->dzh : (real *)ws->dz;
    ly.clip = (real)ws->clip_msg;
    ly.dc = ws->dc;
    ly.dh0 = (real *)ws->grad_h0 + (size_t)l * BU;
    ly.dc0 = ws->grad_c0 ? (real *)ws->grad_c0 + (size_t)l * BU : NULL;
    return ly;
}


/* The batch's sequences go in blocks of RL_ROW_BLOCK, each block one GEMM
 * per step (src/cells/recur.c cuts the same blocks). OpenBLAS's rounding
 * depends on the shape of a call, not only on the numbers, so the shapes
 * depend on B alone. */
#define RL_ROW_BLOCK 16
static int row_blocks(int B) { return (B + RL_ROW_BLOCK - 1) / RL_ROW_BLOCK; }
/* the sequences [b0, b1) of part `part` of `parts` */
static void row_part(int B, int part, int parts, int *b0, int *b1)
{
    int k0, k1;
    rl_part_range(row_blocks(B), part, parts, &k0, &k1);
    *b0 = k0 * RL_ROW_BLOCK;
    *b1 = k1 * RL_ROW_BLOCK < B ? k1 * RL_ROW_BLOCK : B;
}

typedef struct {
    const rl_cell_desc *d;
    const rl_recur_ops *r; /* the recurrence's products (src/cells/recur.h) */
    const rl_layer *ly;
    const real *wp;
    int lock;
    rl_barrier bar;
} loop_args;

/* Where step t's recurrent product goes, and its row stride: the hidden
 * side apart (GRU), the gates (LSTM), or the pre-activation in h[t+1]. */
static real *pre(const rl_cell_desc *d, const rl_layer *ly, int t, int *ld)
{
    const size_t B = (size_t)ly->B;
    if (d->hh_apart) {
        *ld = d->hh_gates * ly->U;
        return ly->hw;
    }
    if (d->cache_gates) {
        *ld = ly->Z;
        return ly->z + (size_t)t * B * ly->Z;
    }
    *ld = ly->U;
    return ly->h + (size_t)(t + 1) * B * ly->U;
}

/* the units [u0, u1) part `part` of `parts` owns in lockstep: whole chunks
 * of the packed W's columns (src/kernel.c) */
static int unit_chunks(int H) { return (H + rl_pack_chunk() - 1) / rl_pack_chunk(); }
static void unit_part(int H, int part, int parts, int *u0, int *u1)
{
    int c0, c1;
    rl_part_range(unit_chunks(H), part, parts, &c0, &c1);
    *u0 = c0 * rl_pack_chunk();
    *u1 = c1 * rl_pack_chunk() < H ? c1 * rl_pack_chunk() : H;
}

static void forward_part(void *p, int part, int parts)
{
    loop_args *a = p;
    const rl_cell_desc *d = a->d;
    const rl_layer *ly = a->ly;
    const int H = ly->U, B = ly->B, Gh = d->hh_gates, vec = B == 1; /* H: the state's units */
    const size_t BH = (size_t)B * H;
    if (a->lock) {
        int u0, u1;
        unit_part(H, part, parts, &u0, &u1);
        for (int t = 0; t < ly->T; t++) {
            int ld;
            real *c = pre(d, ly, t, &ld);
            if (u0 < u1) a->r->units(1, Gh, H, B, ly->h + (size_t)t * BH, a->wp, c, ld, u0, u1);
            for (int b = 0; u0 < u1 && b < B; b++) RL_OPS(d)->fwd(ly, t, b, u0, u1);
            rl_barrier_wait(&a->bar);
        }
        return;
    }
    int b0, b1;
    row_part(B, part, parts, &b0, &b1);
    for (int t = 0; t < ly->T; t++) {
        int ld;
        real *c = pre(d, ly, t, &ld) + (size_t)b0 * ld;
        const real *hp = ly->h + (size_t)t * BH + (size_t)b0 * H;
        a->r->step(1, Gh, H, b1 - b0, hp, ly->w_hh, a->wp, c, ld, vec);
        for (int b = b0; b < b1; b++) RL_OPS(d)->fwd(ly, t, b, 0, H);
    }
}

/* How many threads pay off, and which way the steps are shared. Row
 * blocks give at most one thread per block of sequences; lockstep one per
 * panel of W_hh's units, as long as each thread's share of a step's work
 * (its FLOPs, or twice the bytes of W_hh it reads, whichever is larger) is
 * at least rl_step_min_work: below that the barrier and the wake-up cost
 * more than the thread gives. Lockstep is taken when it gives more threads,
 * or as many and W_hh is too large for one core's cache. */
static int plan(const rl_cell_desc *d, const rl_recur_ops *r, int B, int H, const real *wp, int *lock)
{
    const int threads = rl_get_num_threads();
    int rows = row_blocks(B) < threads ? row_blocks(B) : threads, lp = 1;
    const double bytes = (double)d->hh_gates * H * H * sizeof(real);
    *lock = 0;
    if (!wp || !r->units || threads < 2 || rl_lockstep_mode == 0) return rows;
    double flops = 2.0 * B * d->hh_gates * H * (double)H, work = flops > 2 * bytes ? flops : 2 * bytes;
    lp = unit_chunks(H) < threads ? unit_chunks(H) : threads;
    if (rl_lockstep_mode != 1 && work / rl_step_min_work < lp) lp = (int)(work / rl_step_min_work);
    if (lp < 1) lp = 1;
    *lock = lp >= 2 && (rl_lockstep_mode == 1 || lp > rows || (lp == rows && bytes >= (double)rl_lockstep_min_bytes));
    return *lock ? lp : rows;
}

static void layer_forward(const rl_cell_desc *d, const rl_layer *ly, const real *x, const int32_t *ids, real *wt,
                            real *wp)
{
    const int T = ly->T, B = ly->B, H = ly->U, G = d->gates, Gh = d->hh_gates; /* H: the state's units */
    RL_ASSERT(d->hh_apart || G == Gh);
    /* the input side W_ih x_t + b_ih (+ b_hh, unless kept apart) of every
     * step at once, in the gates or in h[1..T] (then Z = U) */
    real *zin = d->cache_gates ? ly->z : ly->h + (size_t)B * H;
    RL_ASSERT(d->cache_gates || ly->Z == H);
    RL_PROF(RL_PROF_INPUT,
            RL_T(rl_in_project)(zin, ly->Z, x, ids, wt, ly->w_ih, ly->b_ih, d->hh_apart ? NULL : ly->b_hh, T * B, ly->in));
    for (int b = 0; d->hh_apart && b < B; b++) {
        real *hw = ly->hw + (size_t)b * Gh * H;
        if (ly->b_hh) memcpy(hw, ly->b_hh, (size_t)Gh * H * sizeof(real));
        else memset(hw, 0, (size_t)Gh * H * sizeof(real));
    }
    const rl_recur_ops *r = RL_OPS(rl_cell_recur(d));
    loop_args a = {d, r, ly, r->pack ? wp : NULL, 0, {0}};
    int parts = plan(d, r, B, H, a.wp, &a.lock);
    if (!a.lock && B == 1) a.wp = NULL; /* one sequence: GEMV reads W_hh in place */
    double t0 = rl_prof_on ? rl_now() : 0;
    if (a.wp) r->pack(wp, ly->w_hh, Gh, H, 1, a.lock);
    rl_parallel(parts, forward_part, &a, &a.bar);
    if (rl_prof_on) rl_prof_s[RL_PROF_FWD_LOOP] += rl_now() - t0;
}

/* v clamped to [-c, c] on the units [u0, u1) of each of the G blocks of H
 * (NaN stays NaN: the trainer's non-finite check still sees it) */
static void clamp_units(real *v, real c, int G, int H, int u0, int u1)
{
    for (int g = 0; g < G; g++)
        for (int j = u0; j < u1; j++) {
            real *p = v + (size_t)g * H + j;
            *p = *p > c ? c : *p < -c ? -c : *p;
        }
}

/* dst += src on the units [u0, u1) of each of the G blocks of H */
static void inject(real *dst, const real *src, int G, int H, int u0, int u1)
{
    for (int g = 0; g < G; g++)
        for (int j = u0; j < u1; j++) dst[(size_t)g * H + j] += src[(size_t)g * H + j];
}

static void backward_part(void *p, int part, int parts)
{
    loop_args *a = p;
    const rl_cell_desc *d = a->d;
    const rl_layer *ly = a->ly;
    const int H = ly->U, B = ly->B, G = d->gates, Gh = d->hh_gates, Z = ly->Z, vec = B == 1; /* H: the state's units */
    const size_t BH = (size_t)B * H, BG = (size_t)B * Z, BGh = (size_t)B * Gh * H;
    int b0 = 0, b1 = B, u0 = 0, u1 = H;
    if (a->lock) unit_part(H, part, parts, &u0, &u1);
    else row_part(B, part, parts, &b0, &b1);
    if (ly->dc)
        for (int b = b0; b < b1; b++)
            for (int j = u0; j < u1; j++) ly->dc[(size_t)b * H + j] = 0; /* dL/dc carried back from t+1 */
    for (int t = ly->T - 1; t >= 0; t--) {
        real *dprev = t > 0 ? ly->dh + (size_t)(t - 1) * BH : ly->dh0;
        real *dz = ly->dz + (size_t)t * BG, *dzh = ly->dzh + (size_t)t * BGh;
        const real *dh = ly->dh + (size_t)t * BH;
        for (int b = b0; u0 < u1 && b < b1; b++) {
            real *dcb = ly->dc ? ly->dc + (size_t)b * H : NULL, *dzb = dz + (size_t)b * Z, *dzhb = dzh + (size_t)b * Gh * H;
            if (ly->inj_c && t + 1 < ly->T) inject(dcb, ly->inj_c + ((size_t)(t + 1) * B + b) * ly->inj_cld, 1, H, u0, u1);
            RL_OPS(d)->bwd(ly, t, b, u0, u1, dh + (size_t)b * H, dcb, dzb, dzhb, dprev + (size_t)b * H);
            if (ly->inj_z) inject(dzb, ly->inj_z + ((size_t)t * B + b) * Z, G, H, u0, u1);
            if (ly->inj_zh) inject(dzhb, ly->inj_zh + ((size_t)t * B + b) * Gh * H, Gh, H, u0, u1);
            /* the message clip acts before dL/dz_t reaches W and h_{t-1} (Lasagne's grad_clip on the gate sums) */
            if (ly->clip > 0) {
                clamp_units(dzb, ly->clip, G, H, u0, u1);
                if (dzhb != dzb) clamp_units(dzhb, ly->clip, Gh, H, u0, u1);
            }
        }
        /* dL/dh_{t-1} += W_hh^T dL/dz_t   (Deep Learning, eq. 10.21, through the gates) */
        if (a->lock) {
            rl_barrier_wait(&a->bar);
            if (u0 < u1) a->r->units(0, Gh, H, B, dzh, a->wp, dprev, H, u0, u1);
        } else {
            a->r->step(0, Gh, H, b1 - b0, dzh + (size_t)b0 * Gh * H, ly->w_hh, a->wp, dprev + (size_t)b0 * H, H, vec);
        }
    }
}

typedef struct {
    real *db_ih, *db_hh;
    const real *dz, *dzh;
    size_t rows, G, Gh; /* G, Gh: the row lengths of dz and dzh */
} bias_job;

/* columns [lo, hi) of the bias gradients, row by row (one pass when the
 * two sides are the same) */
static void bias_part(void *p, size_t lo, size_t hi)
{
    const bias_job *j = p;
    size_t hh = hi < j->Gh ? hi : j->Gh;
    for (size_t r = 0; r < j->rows; r++) {
        const real *dz = j->dz + r * j->G, *dzh = j->dzh + r * j->Gh;
        if (!j->db_hh) { /* a cell without b_hh (minGRU, minLSTM) */
            RL_SIMD
            for (size_t k = lo; k < hi; k++) j->db_ih[k] += dz[k];
        } else if (dz == dzh) {
            RL_SIMD
            for (size_t k = lo; k < hi; k++) j->db_ih[k] += dz[k], j->db_hh[k] += dz[k];
        } else {
            RL_SIMD
            for (size_t k = lo; k < hi; k++) j->db_ih[k] += dz[k];
            RL_SIMD
            for (size_t k = lo; k < hh; k++) j->db_hh[k] += dzh[k];
        }
    }
}

static void layer_backward(const rl_cell_desc *d, const rl_layer *ly, real *dx, real *dw_ih, real *dw_hh, real *db_ih,
                             real *db_hh, real *dextra, const real *x, const int32_t *ids, real *wt, real *wp)
{
    const int T = ly->T, B = ly->B, H = ly->U, Gh = d->hh_gates, in = ly->in, Z = ly->Z; /* H: the state's units */
    const size_t TB = (size_t)T * B, BH = (size_t)B * H;
    const rl_recur_ops *r = RL_OPS(rl_cell_recur(d));
    loop_args a = {d, r, ly, r->pack ? wp : NULL, 0, {0}};
    int parts = plan(d, r, B, H, a.wp, &a.lock);
    if (!a.lock && B == 1) a.wp = NULL;
    double t0 = rl_prof_on ? rl_now() : 0;
    if (a.wp) r->pack(wp, ly->w_hh, Gh, H, 0, 0);
    rl_parallel(parts, backward_part, &a, &a.bar);
    if (rl_prof_on) rl_prof_s[RL_PROF_BWD_LOOP] += rl_now() - t0, t0 = rl_now();
    if (ly->dc)
        for (size_t k = 0; k < BH; k++) ly->dc0[k] += ly->dc[k];
    /* weight gradients: one GEMM each over all T*B rows (the cache's rows
     * 0..T-1 are exactly the h_{t-1}) */
    /* dW_hh += sum_t dL/dz_t h_{t-1}^T */
    r->grad(Gh, H, (int)TB, ly->dzh, ly->h, dw_hh);
    /* dW_ih += sum_t dL/dz_t x_t^T */
    RL_T(rl_in_grad)(dw_ih, ly->dz, Z, x, ids, wt, (int)TB, in);
    /* db_ih += sum_t dL/dz_t, db_hh += sum_t dL/dzh_t, the threads taking columns */
    bias_job bj = {db_ih, db_hh, ly->dz, ly->dzh, TB, (size_t)Z, (size_t)Gh * H};
    if (db_ih) rl_parallel_for((size_t)Z, RL_GRAIN / TB + 1, bias_part, &bj);
    if (dextra) RL_OPS(d)->extra_grad(ly, dextra);
    /* dL/dx_t = W_ih^T dL/dz_t */
    if (dx) RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, (int)TB, in, Z, 1, ly->dz, Z, ly->w_ih, in, 0, dx, in);
    if (rl_prof_on) rl_prof_s[RL_PROF_WEIGHT_GRAD] += rl_now() - t0;
}

/* This file's functions by their names in each precision (real.h). */
#ifdef RL_REAL_F64
rl_layer_f64 rl_layer_of_f64(const rl_ws *ws, const rl_model *m, int l) { return layer_of(ws, m, l); }
void rl_layer_forward_f64(const rl_cell_desc *d, const rl_layer_f64 *ly, const double *x, const int32_t *ids,
                          double *wt, double *wp)
{
    layer_forward(d, ly, x, ids, wt, wp);
}
void rl_layer_backward_f64(const rl_cell_desc *d, const rl_layer_f64 *ly, double *dx, double *dw_ih, double *dw_hh,
                           double *db_ih, double *db_hh, double *dextra, const double *x, const int32_t *ids,
                           double *wt, double *wp)
{
    layer_backward(d, ly, dx, dw_ih, dw_hh, db_ih, db_hh, dextra, x, ids, wt, wp);
}
#else
rl_layer_f32 rl_layer_of_f32(const rl_ws *ws, const rl_model *m, int l) { return layer_of(ws, m, l); }
void rl_layer_forward_f32(const rl_cell_desc *d, const rl_layer_f32 *ly, const float *x, const int32_t *ids, float *wt,
                          float *wp)
{
    layer_forward(d, ly, x, ids, wt, wp);
}
void rl_layer_backward_f32(const rl_cell_desc *d, const rl_layer_f32 *ly, float *dx, float *dw_ih, float *dw_hh,
                           float *db_ih, float *db_hh, float *dextra, const float *x, const int32_t *ids, float *wt,
                           float *wp)
{
    layer_backward(d, ly, dx, dw_ih, dw_hh, db_ih, db_hh, dextra, x, ids, wt, wp);
}
#endif
