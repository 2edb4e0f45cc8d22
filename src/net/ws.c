/* The workspace: every buffer a forward and backward pass needs, allocated
 * once, and the dispatch from the public calls to the two real types. */
#include "cells/cell.h"
#include "net/net.h"
#include "net/orth_ws.h"

#include <math.h>
#include <string.h>

/* the units of a layer's state component (H but for lru) */
static size_t units(const rl_ws *ws) { return (size_t)rl_cell_units(rl_cell_desc_of(ws->cfg.cell), &ws->cfg); }

/* a * b * ... with overflow detection; 0 on overflow */
static size_t mul(size_t a, size_t b) { return (a && b > (size_t)-1 / a) ? 0 : a * b; }

/* One buffer of the workspace: where its pointer goes, its elements, and
 * whether this cell has it. */
typedef struct {
    void **p;
    size_t n;
    int want;
} ws_buf;

#define WS_BUFS 23

/* The buffers of a workspace of dtype-sized elements for ws->cfg, ws->B and
 * ws->T: the one table rl_ws_new allocates and rl_ws_bytes adds up. 0 when a
 * size overflows. */
static int ws_plan(rl_ws *ws, const rl_cell_desc *d, size_t num_params, ws_buf bufs[WS_BUFS])
{
    const rl_config *c = &ws->cfg;
    size_t B = (size_t)ws->B, T = (size_t)ws->T, L = (size_t)c->num_layers, H = (size_t)c->hidden_size,
           I = (size_t)c->input_size, O = (size_t)c->output_size, U = (size_t)rl_cell_units(d, c),
           Z = (size_t)rl_cell_proj(d, c), Gh = (size_t)d->hh_gates, two = d->states == 2;
    /* the state's U units per component (H but for lru), the output's H, Z input-side rows */
    size_t BU = mul(B, U), TBU = mul(T, BU), BH = mul(B, H), TBH = mul(T, BH), TB = mul(T, B);
    size_t LT1BU = mul(L, mul(T + 1, BU)), TBZ = mul(TB, Z), TBGhU = mul(TBU, Gh), TBO = mul(TB, O), TBI = mul(TB, I);
    int ok = BU && TBU && BH && TBH && TB && LT1BU && TBZ && TBGhU && TBO && TBI;
    ws_buf t[WS_BUFS] = {
        {&ws->xt, TBI, 1},
        {&ws->h, LT1BU, 1},
        {&ws->c, LT1BU, two},
        {&ws->gates, mul(L, TBZ), d->cache_gates},
        {&ws->aux, mul(L, mul(TBU, (size_t)d->aux)), d->aux > 0},
        {&ws->y, mul(L, TBH), d->out_map},
        {&ws->ya, mul(L, TBH), d->out_map},
        {&ws->out, TBO, 1},
        {&ws->dout, TBO, 1},
        {&ws->dh, TBH, 1},
        {&ws->dh_below, TBH, 1},
        {&ws->dh_top, TBH, 1},
        {&ws->dstate, TBU, d->out_map},
        {&ws->dz, TBZ, 1},
        {&ws->dzh, TBGhU, d->hh_apart},
        {&ws->dc, BU, two},
        {&ws->carry, mul(BU, Gh), d->hh_apart},
        {&ws->grad, num_params, 1},
        {&ws->grad_h0, mul(L, BU), 1},
        {&ws->grad_c0, mul(L, BU), two},
        {&ws->wt, mul(I, Z), 1},
        {&ws->rder, mul(L, 2 * U), d->f32->derive != NULL},
        {&ws->drder, mul(L, U), d->f32->derive != NULL},
    };
    memcpy(bufs, t, sizeof t);
    for (int i = 0; i < WS_BUFS; i++) ok &= !t[i].want || t[i].n > 0;
    return ok;
}

/* The bytes rl_alloc takes for n elements of es bytes (rounded up to 64). */
static double alloc_bytes(double n, double es) { return ceil(fmax(n, 1) * es / 64) * 64; }

double rl_ws_bytes(const rl_config *c, rl_orth orth, rl_dtype dtype, int batch, int steps)
{
    if (rl_config_check(c) || batch < 1 || steps < 1) return 0;
    rl_ws w = {.cfg = *c, .B = batch, .T = steps};
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    ws_buf bufs[WS_BUFS];
    if (!ws_plan(&w, d, (size_t)rl_config_num_params_orth(c, orth), bufs)) return INFINITY;
    const double es = (double)rl_dtype_size(dtype), TB = (double)batch * steps, H = c->hidden_size, L = c->num_layers;
    double total = 0;
    for (int i = 0; i < WS_BUFS; i++) total += bufs[i].want ? alloc_bytes((double)bufs[i].n, es) : 0;
    total += 2 * alloc_bytes(TB, sizeof(double)) + alloc_bytes(TB, sizeof(int32_t)); /* wsum, lrow, ids */
    if (orth != RL_ORTH_NONE) /* rl_orth_ws_alloc */
        total += alloc_bytes(L * H * H, es) * 2 + alloc_bytes(2 * L * H * H, es) +
                 alloc_bytes((double)rl_orth_scratch_size((int)H) + 4 * H * H, 8) + alloc_bytes(H, sizeof(int));
    if (dtype == RL_F32 && rl_packed_kernel() && rl_cell_recur(d)->f32->pack)
        total += alloc_bytes((double)rl_recur_pack_size(d->hh_gates, rl_cell_units(d, c)), sizeof(float));
    return total;
}

rl_status rl_ws_new(rl_ws **out, const rl_model *m, int batch, int steps)
{
    *out = NULL;
    if (batch < 1 || steps < 1) return rl_fail(RL_ERR_ARG, "batch (%d) and steps (%d) must be >= 1", batch, steps);
    const rl_config *c = &m->cfg;
    char what[160];
    snprintf(what, sizeof what, "a workspace for B = %d sequences of T = %d steps (%s, %d x %d units)", batch, steps,
             rl_cell_name(c->cell), c->num_layers, c->hidden_size);
    rl_status s = rl_memory_check(rl_ws_bytes(c, m->orth, m->dtype, batch, steps), what);
    if (s) return s;
    rl_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return rl_fail(RL_ERR_NOMEM, "cannot allocate a workspace");
    ws->dtype = m->dtype;
    ws->cfg = *c;
    ws->B = batch;
    ws->T = steps;
    ws->num_params = m->num_params;
    const rl_cell_desc *d = m->cell;
    size_t es = rl_dtype_size(m->dtype), TB = (size_t)batch * (size_t)steps;
    ws_buf bufs[WS_BUFS];
    int ok = ws_plan(ws, d, m->num_params, bufs);
    for (size_t i = 0; ok && i < WS_BUFS; i++)
        if (bufs[i].want && !(*bufs[i].p = rl_alloc(bufs[i].n, es))) ok = 0;
    if (ok && !(ws->wsum = rl_alloc(TB, sizeof(double)))) ok = 0;
    if (ok && !(ws->lrow = rl_alloc(TB, sizeof(double)))) ok = 0;
    if (ok && !(ws->ids = rl_alloc(TB, sizeof *ws->ids))) ok = 0;
    if (ok && rl_orth_ws_alloc(ws, m)) ok = 0; /* W_hh = B map(A), dL/dW_hh, the map's scratch */
    if (ok && m->dtype == RL_F32 && rl_packed_kernel() && rl_cell_recur(d)->f32->pack) {
        /* W_hh packed for the step kernel, forward or backward */
        if (!(ws->wpack = rl_alloc(rl_recur_pack_size(d->hh_gates, rl_cell_units(d, c)), sizeof(float)))) ok = 0;
    }
    if (!ok) {
        rl_ws_free(ws);
        return rl_fail(RL_ERR_NOMEM, "cannot allocate a workspace for B=%d, T=%d, H=%d", batch, steps,
                       c->hidden_size);
    }
    *out = ws;
    return RL_OK;
}

void rl_ws_free(rl_ws *ws)
{
    if (!ws) return;
    RL_FREE_ALL(ws->xt, ws->h, ws->c, ws->gates, ws->aux, ws->y, ws->ya, ws->dstate, ws->rder, ws->drder, ws->out, ws->dout, ws->dh,
                ws->dh_below, ws->dh_top, ws->dh_all, ws->dz, ws->dzh, ws->dc, ws->drop, ws->dmask, ws->carry, ws->grad, ws->grad_h0,
                ws->grad_c0, ws->wsum, ws->lrow, ws->wt, ws->ids, ws->wpack);
    rl_orth_ws_free(ws);
    free(ws);
}

void rl_ws_zero_grad(rl_ws *ws)
{
    size_t es = rl_dtype_size(ws->dtype), LBH = (size_t)ws->cfg.num_layers * ws->B * units(ws);
    memset(ws->grad, 0, ws->num_params * es);
    memset(ws->grad_h0, 0, LBH * es);
    if (ws->grad_c0) memset(ws->grad_c0, 0, LBH * es);
}

void *rl_ws_grad(rl_ws *ws) { return ws->grad; }
const void *rl_ws_grad_h0(const rl_ws *ws) { return ws->grad_h0; }
const void *rl_ws_grad_c0(const rl_ws *ws) { return ws->grad_c0; }
const void *rl_ws_outputs(const rl_ws *ws) { return ws->out; }
const void *rl_ws_grad_hidden(const rl_ws *ws) { return ws->dh_top; }

rl_status rl_ws_keep_grad_hidden(rl_ws *ws)
{
    if (ws->dh_all) return RL_OK;
    size_t n = (size_t)ws->cfg.num_layers * ws->T * ws->B * units(ws);
    if (!(ws->dh_all = rl_alloc(n, rl_dtype_size(ws->dtype)))) return RL_ERR_NOMEM;
    return RL_OK;
}

const void *rl_ws_grad_hidden_layer(const rl_ws *ws, int layer)
{
    RL_ASSERT(layer >= 0 && layer < ws->cfg.num_layers);
    if (!ws->dh_all) return NULL;
    return (const char *)ws->dh_all + (size_t)layer * ws->T * ws->B * units(ws) * rl_dtype_size(ws->dtype);
}

const void *rl_ws_cell(const rl_ws *ws, int layer)
{
    RL_ASSERT(layer >= 0 && layer < ws->cfg.num_layers);
    if (!ws->c) return NULL;
    return (const char *)ws->c + (size_t)layer * (ws->T + 1) * ws->B * units(ws) * rl_dtype_size(ws->dtype);
}

rl_status rl_ws_set_clip_message(rl_ws *ws, double x)
{
    if (!(x >= 0 && x < INFINITY)) return rl_fail(RL_ERR_ARG, "the message clip %g is outside [0, inf)", x);
    ws->clip_msg = x;
    return RL_OK;
}

rl_status rl_ws_set_dropout(rl_ws *ws, double p, uint64_t seed)
{
    if (!(p >= 0 && p < 1)) return rl_fail(RL_ERR_ARG, "dropout %g is outside [0, 1)", p);
    if (p > 0 && ws->cfg.num_layers > 1 && !ws->drop) {
        size_t n = (size_t)(ws->cfg.num_layers - 1) * ws->T * ws->B * ws->cfg.hidden_size;
        ws->drop = rl_alloc(n, rl_dtype_size(ws->dtype));
        ws->dmask = ws->drop ? rl_alloc(n, rl_dtype_size(ws->dtype)) : NULL;
        if (!ws->dmask) {
            rl_free(ws->drop);
            ws->drop = NULL;
            return RL_ERR_NOMEM;
        }
    }
    ws->dropout = p;
    rl_rng_seed(&ws->drop_rng, seed);
    return RL_OK;
}

const void *rl_ws_hidden(const rl_ws *ws, int layer)
{
    RL_ASSERT(layer >= 0 && layer < ws->cfg.num_layers);
    return (const char *)ws->h +
           (size_t)layer * (ws->T + 1) * ws->B * units(ws) * rl_dtype_size(ws->dtype);
}

static rl_status same_shape(const rl_ws *ws, const rl_model *m)
{
    const rl_config *a = &ws->cfg, *b = &m->cfg;
    if (ws->dtype != m->dtype || a->cell != b->cell || a->input_size != b->input_size ||
        a->hidden_size != b->hidden_size || a->num_layers != b->num_layers || a->output_size != b->output_size ||
        a->state_size != b->state_size || a->activation != b->activation || (ws->whh != NULL) != (m->orth != RL_ORTH_NONE))
        return rl_fail(RL_ERR_ARG, "the workspace was made for a different model");
    return RL_OK;
}

rl_status rl_forward(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    rl_status s = same_shape(ws, m);
    if (s) return s;
    int blas = rl_blas_single();
    rl_derive_sync(ws, m);   /* a cell's derived R (lru's lambda) */
    s = rl_orth_sync(ws, m); /* an orthogonal W_hh, remade if X or B changed */
    if (!s) s = m->dtype == RL_F64 ? rl_forward_f64(ws, m, b, loss) : rl_forward_f32(ws, m, b, loss);
    rl_blas_restore(blas);
    return s;
}

rl_status rl_forward_eval(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    if (!loss) return rl_fail(RL_ERR_ARG, "rl_forward_eval needs somewhere to put the loss");
    ws->no_dout = 1;
    rl_status s = rl_forward(ws, m, b, loss);
    ws->no_dout = 0;
    return s;
}

rl_status rl_backward(rl_ws *ws, const rl_model *m, const rl_batch *b)
{
    rl_status s = same_shape(ws, m);
    if (s) return s;
    if (b->batch != ws->B || b->steps != ws->T || b->dtype != ws->dtype)
        return rl_fail(RL_ERR_ARG, "rl_backward needs the batch of the preceding rl_forward");
    if (!ws->have_loss) return rl_fail(RL_ERR_ARG, "rl_backward needs a preceding rl_forward that computed the loss");
    int blas = rl_blas_single();
    if (ws->dwhh) /* an orthogonal model: dL/dW_hh first, then dL/dX from it */
        memset(ws->dwhh, 0, (size_t)ws->cfg.num_layers * ws->cfg.hidden_size * ws->cfg.hidden_size * rl_dtype_size(ws->dtype));
    if (ws->drder) memset(ws->drder, 0, (size_t)ws->cfg.num_layers * units(ws) * rl_dtype_size(ws->dtype));
    s = m->dtype == RL_F64 ? rl_backward_f64(ws, m, b) : rl_backward_f32(ws, m, b);
    if (!s) s = rl_orth_backward(ws, m);
    if (!s) rl_derive_backward(ws, m);
    rl_blas_restore(blas);
    return s;
}

void rl_derive_sync(rl_ws *ws, const rl_model *m)
{
    if (!ws->rder) return;
    const size_t U = units(ws), es = rl_dtype_size(m->dtype);
    for (int l = 0; l < m->cfg.num_layers; l++) {
        const void *own = rl_tensor_data(m, rl_t(m, l, RL_EXTRA));
        void *W = (char *)ws->rder + (size_t)l * 2 * U * es;
        if (m->dtype == RL_F64) m->cell->f64->derive(own, W, (int)U);
        else m->cell->f32->derive(own, W, (int)U);
    }
}

void rl_derive_backward(rl_ws *ws, const rl_model *m)
{
    if (!ws->rder) return;
    const size_t U = units(ws), es = rl_dtype_size(m->dtype);
    for (int l = 0; l < m->cfg.num_layers; l++) {
        const void *own = rl_tensor_data(m, rl_t(m, l, RL_EXTRA));
        const void *W = (const char *)ws->rder + (size_t)l * 2 * U * es, *dW = (const char *)ws->drder + (size_t)l * U * es;
        void *down = (char *)ws->grad + m->tensors[rl_t(m, l, RL_EXTRA)].offset * es;
        if (m->dtype == RL_F64) m->cell->f64->derive_back(own, W, dW, down, (int)U);
        else m->cell->f32->derive_back(own, W, dW, down, (int)U);
    }
}
