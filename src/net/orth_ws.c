/* The workspace's part of an orthogonal W_hh = B map(A) (src/cells/orth.h):
 * its buffers, W_hh remade before a forward pass when X or B changed, and
 * dL/dX after a backward pass. */
#include "net/orth_ws.h"

#include <math.h>
#include <string.h>

rl_status rl_orth_ws_alloc(rl_ws *ws, const rl_model *m)
{
    if (m->orth == RL_ORTH_NONE) return RL_OK;
    const size_t L = (size_t)m->cfg.num_layers, H = (size_t)m->cfg.hidden_size, es = rl_dtype_size(m->dtype);
    const size_t HH = H * H;
    if (!(ws->whh = rl_alloc(L * HH, es)) || !(ws->orth_src = rl_alloc(2 * L * HH, es)) ||
        !(ws->dwhh = rl_alloc(L * HH, es)) || !(ws->orth_scratch = rl_alloc(rl_orth_scratch_size((int)H) + 4 * HH, 8)) ||
        !(ws->orth_ipiv = rl_alloc(H, sizeof *ws->orth_ipiv)))
        return RL_ERR_NOMEM;
    ws->orth_valid = 0;
    return RL_OK;
}

void rl_orth_ws_free(rl_ws *ws)
{
    RL_FREE_ALL(ws->whh, ws->orth_src, ws->dwhh, ws->orth_scratch, ws->orth_ipiv);
}

/* X and B of layer l (model dtype) as float64 into x and b */
static void layer_xb(const rl_model *m, int l, double *x, double *b)
{
    const size_t HH = (size_t)m->cfg.hidden_size * m->cfg.hidden_size;
    const void *px = rl_tensor_data(m, rl_t(m, l, RL_ORTH_X)), *pb = rl_tensor_data(m, rl_t(m, l, RL_ORTH_BASE));
    for (size_t i = 0; i < HH; i++) x[i] = rl_load(px, m->dtype, i), b[i] = rl_load(pb, m->dtype, i);
}

rl_status rl_orth_sync(rl_ws *ws, const rl_model *m)
{
    if (!ws->whh) return RL_OK;
    const int L = m->cfg.num_layers, H = m->cfg.hidden_size;
    const size_t HH = (size_t)H * H, es = rl_dtype_size(m->dtype);
    /* X and B are the copies W_hh was made from: nothing to do (rl_model_params
     * hands out a writable buffer, so a change is found by looking, not told) */
    int same = ws->orth_valid;
    for (int l = 0; l < L && same; l++) {
        const char *src = (const char *)ws->orth_src + 2 * (size_t)l * HH * es;
        same = memcmp(src, rl_tensor_data(m, rl_t(m, l, RL_ORTH_X)), HH * es) == 0 &&
               memcmp(src + HH * es, rl_tensor_data(m, rl_t(m, l, RL_ORTH_BASE)), HH * es) == 0;
    }
    if (same) return RL_OK;
    ws->orth_valid = 0;
    double *x = ws->orth_scratch, *b = x + HH, *w = b + HH, *scratch = w + HH;
    for (int l = 0; l < L; l++) {
        layer_xb(m, l, x, b);
        rl_status s = rl_orth_layer_forward(m->orth, H, x, b, w, scratch, ws->orth_ipiv);
        if (s) return s;
        for (size_t i = 0; i < HH; i++)
            if (!isfinite(w[i]))
                return rl_fail(RL_ERR_NONFINITE, "layer %d: W_hh = B %s(A) is not finite (X or B too large)", l,
                               rl_orth_name(m->orth));
        for (size_t i = 0; i < HH; i++) rl_store((char *)ws->whh + (size_t)l * HH * es, m->dtype, i, w[i]);
        char *src = (char *)ws->orth_src + 2 * (size_t)l * HH * es;
        memcpy(src, rl_tensor_data(m, rl_t(m, l, RL_ORTH_X)), HH * es);
        memcpy(src + HH * es, rl_tensor_data(m, rl_t(m, l, RL_ORTH_BASE)), HH * es);
    }
    ws->orth_valid = 1;
    return RL_OK;
}

rl_status rl_orth_backward(rl_ws *ws, const rl_model *m)
{
    if (!ws->dwhh) return RL_OK;
    const int L = m->cfg.num_layers, H = m->cfg.hidden_size;
    const size_t HH = (size_t)H * H, es = rl_dtype_size(m->dtype);
    double *x = ws->orth_scratch, *b = x + HH, *dw = b + HH, *dx = dw + HH, *scratch = dx + HH;
    for (int l = 0; l < L; l++) {
        layer_xb(m, l, x, b);
        for (size_t i = 0; i < HH; i++) dw[i] = rl_load((const char *)ws->dwhh + (size_t)l * HH * es, m->dtype, i);
        memset(dx, 0, HH * sizeof *dx);
        rl_status s = rl_orth_layer_backward(m->orth, H, x, b, dw, dx, scratch, ws->orth_ipiv);
        if (s) return s;
        /* backward accumulates: dL/dX += (zero on and above the diagonal) */
        const size_t off = m->tensors[rl_t(m, l, RL_ORTH_X)].offset;
        for (size_t i = 0; i < HH; i++)
            if (dx[i] != 0) rl_store(ws->grad, m->dtype, off + i, rl_load(ws->grad, m->dtype, off + i) + dx[i]);
    }
    return RL_OK;
}
