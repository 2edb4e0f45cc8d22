/* BPTT against central finite differences in float64. */
#include "cells/cell.h"
#include "net/net.h"

#include <math.h>
#include <string.h>

#define FD_STEP 1e-3
#define FD_FLOOR 1e-4

/* The 4-point central stencil D(h) = [8(f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))] / 12h
 * has error O(h^4); one Richardson step, D(h/2) + (D(h/2) - D(h)) / 15,
 * cancels that term too, which keeps long, near-critical sequences accurate. */
static rl_status stencil(rl_ws *ws, const rl_model *m, const rl_batch *b, double *x, double h, double *out)
{
    double x0 = *x, f[4];
    const double off[4] = {2 * h, h, -h, -2 * h};
    rl_status s = RL_OK;
    for (int k = 0; k < 4 && !s; k++) {
        *x = x0 + off[k];
        s = rl_forward(ws, m, b, &f[k]);
    }
    *x = x0;
    *out = (8 * (f[1] - f[2]) - (f[0] - f[3])) / (12 * h);
    return s;
}

/* D(h) and D(h/2) agree to 1e-6 where the loss is smooth on the scale of h;
 * where they do not (an LRU's phase theta over many steps: lambda^t turns by
 * t e^theta per unit of theta), h is quartered until they do or it reaches
 * FD_MIN_STEP, below which rounding would take over. */
#define FD_MIN_STEP 1e-5
static rl_status fd(rl_ws *ws, const rl_model *m, const rl_batch *b, double *x, double *out)
{
    double d1 = 0, d2 = 0, h = FD_STEP;
    rl_status s = stencil(ws, m, b, x, h, &d1);
    if (!s) s = stencil(ws, m, b, x, h / 2, &d2);
    while (!s && fabs(d2 - d1) > 1e-6 * fmax(fabs(d2), FD_FLOOR) && h / 4 >= FD_MIN_STEP) {
        h /= 4;
        s = stencil(ws, m, b, x, h, &d1);
        if (!s) s = stencil(ws, m, b, x, h / 2, &d2);
    }
    *out = d2 + (d2 - d1) / 15;
    return s;
}

static double rel_err(double a, double n) { return fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), FD_FLOOR); }

rl_status rl_gradcheck(const rl_model *m0, const rl_batch *b0, double *worst, char *where, size_t where_len)
{
    if (m0->dtype != RL_F64 || b0->dtype != RL_F64)
        return rl_fail(RL_ERR_ARG, "gradient checks run in float64: model and batch must be F64");
    const rl_config *c = &m0->cfg;
    size_t LBH = (size_t)c->num_layers * b0->batch * rl_model_units(m0);
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    double *h0 = NULL, *c0 = NULL, *grad = NULL, *gh0 = NULL, *gc0 = NULL, loss;
    unsigned char *pattern = NULL;
    rl_status s = rl_model_cast(&m, m0, RL_F64);
    if (!s) s = rl_ws_new(&ws, m, b0->batch, b0->steps);
    int lstm = m0->cell->states == 2; /* c0 is a variable too */
    if (!s && (!(h0 = rl_alloc(LBH, 8)) || !(c0 = rl_alloc(LBH, 8)) || !(gh0 = rl_alloc(LBH, 8)) ||
               !(gc0 = rl_alloc(LBH, 8)) || !(grad = rl_alloc(m->num_params, 8))))
        s = RL_ERR_NOMEM;
    rl_batch b = *b0;
    if (!s) {
        /* the initial states become variables of their own */
        if (b0->h0) memcpy(h0, b0->h0, LBH * 8);
        if (b0->c0) memcpy(c0, b0->c0, LBH * 8);
        b.h0 = h0;
        b.c0 = lstm ? c0 : NULL;
        rl_ws_zero_grad(ws);
        s = rl_forward(ws, m, &b, &loss);
    }
    if (!s) s = rl_backward(ws, m, &b);
    if (!s && m0->cell->relu) {
        /* A ReLU net is piecewise smooth (a modReLU net even jumps, by 2b,
         * where a crosses 0), and a finite difference whose points straddle a
         * kink measures nothing. Its gradient at the base point is the
         * gradient of the smooth piece the point lies on: the same net with
         * each unit held on its piece as it is here, off (0), on with h > 0
         * (1) or on with h < 0 (2). Differentiate that piece. */
        size_t n = (size_t)(b.steps + 1) * LBH; /* (L, T+1, B, H) */
        if (!(pattern = rl_alloc(n, 1))) s = RL_ERR_NOMEM;
        for (size_t i = 0; !s && i < n; i++) {
            double v = ((const double *)ws->h)[i];
            pattern[i] = v > 0 ? 1 : v < 0 ? 2 : 0;
        }
        ws->relu_on = pattern;
    }
    if (!s) {
        memcpy(grad, rl_ws_grad(ws), m->num_params * 8);
        memcpy(gh0, rl_ws_grad_h0(ws), LBH * 8);
        if (lstm) memcpy(gc0, rl_ws_grad_c0(ws), LBH * 8);
    }
    *worst = 0;
    if (where_len) where[0] = '\0';
    const double total = (double)m->num_params + (double)LBH * (lstm ? 2 : 1);
    double done = 0;
    for (int ti = 0; !s && ti < m->num_tensors; ti++) {
        const rl_tensor_info *t = &m->tensors[ti];
        /* an orthogonal W_hh's base is fixed: no gradient, nothing to check
         * (X is checked through the map: every element of it is perturbed) */
        for (size_t i = 0; !s && !t->fixed && i < t->numel; i++) {
            double n = 0;
            s = rl_progress_report("finite differences, element", done++, total);
            if (!s) s = fd(ws, m, &b, (double *)m->params + t->offset + i, &n);
            double e = rel_err(grad[t->offset + i], n);
            if (!s && e >= *worst) *worst = e, snprintf(where, where_len, "%s", t->name);
        }
    }
    for (int which = 0; which < (lstm ? 2 : 1); which++)
        for (size_t i = 0; !s && i < LBH; i++) {
            double n = 0;
            s = rl_progress_report("finite differences, element", done++, total);
            if (!s) s = fd(ws, m, &b, (which ? c0 : h0) + i, &n);
            double e = rel_err((which ? gc0 : gh0)[i], n);
            if (!s && e >= *worst) *worst = e, snprintf(where, where_len, "%s", which ? "c0" : "h0");
        }
    RL_FREE_ALL(pattern, h0, c0, gh0, gc0, grad);
    rl_ws_free(ws);
    rl_model_free(m);
    return s;
}
