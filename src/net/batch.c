/* A batch against a model: sizes, finite values, targets and the mask. The
 * forward pass checks every batch with it, and the data files' loader every
 * file (src/io/modelio.c). */
#include "net/net.h"

#include <math.h>

/* x * 0 is 0 for every finite x and NaN for inf and NaN: one vectorised
 * pass says whether all n are finite */
#define ALL_FINITE(real)                                                                                   \
    static RL_CLONES int all_finite_##real(const real *p, size_t n)                                        \
    {                                                                                                      \
        real z = 0;                                                                                        \
        _Pragma("omp simd reduction(+ : z)") for (size_t i = 0; i < n; i++) z += p[i] * 0;                 \
        return z == 0;                                                                                     \
    }
ALL_FINITE(float)
ALL_FINITE(double)

static rl_status check_finite(const void *p, rl_dtype d, size_t n, const char *what)
{
    if (!p || (d == RL_F64 ? all_finite_double(p, n) : all_finite_float(p, n))) return RL_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(rl_load(p, d, i)))
            return rl_fail(RL_ERR_NONFINITE, "%s holds a non-finite value at element %zu", what, i);
    return RL_OK;
}

rl_status rl_batch_check(const rl_batch *b, const rl_model *m, int with_loss, double *wsum)
{
    const rl_config *c = &m->cfg;
    if (b->batch < 1 || b->steps < 1) return rl_fail(RL_ERR_ARG, "batch and steps must be >= 1");
    if (b->dtype != RL_F32 && b->dtype != RL_F64) return rl_fail(RL_ERR_ARG, "unknown batch dtype");
    if (b->input_size != c->input_size)
        return rl_fail(RL_ERR_ARG, "inputs have size %d but the model takes %d", b->input_size, c->input_size);
    if (!b->x) return rl_fail(RL_ERR_ARG, "the batch has no inputs");
    if (with_loss && c->loss == RL_LOSS_CE && !b->target) return rl_fail(RL_ERR_ARG, "a cross_entropy model needs class ids");
    if (with_loss && c->loss == RL_LOSS_MSE && !b->y) return rl_fail(RL_ERR_ARG, "an mse model needs real targets");
    if (b->c0 && rl_cell_states(c->cell) != 2) return rl_fail(RL_ERR_ARG, "c0 is only for LSTM models (a cell state c)");
    size_t BT = (size_t)b->batch * (size_t)b->steps, LBH = (size_t)c->num_layers * b->batch * rl_model_units(m);
    rl_status s;
    if ((s = check_finite(b->x, b->dtype, BT * (size_t)c->input_size, "x")) ||
        (s = check_finite(b->y, b->dtype, b->y ? BT * (size_t)c->output_size : 0, "y")) ||
        (s = check_finite(b->mask, b->dtype, BT, "mask")) || (s = check_finite(b->h0, b->dtype, LBH, "h0")) ||
        (s = check_finite(b->c0, b->dtype, LBH, "c0")))
        return s;
    if (!with_loss) return RL_OK;
    if (c->loss == RL_LOSS_CE && b->target)
        for (size_t i = 0; i < BT; i++)
            if (b->target[i] < 0 || b->target[i] >= c->output_size)
                return rl_fail(RL_ERR_ARG, "class id %d at element %zu is outside [0, %d)", (int)b->target[i], i,
                               c->output_size);
    double sum = 0;
    for (size_t i = 0; i < BT; i++) {
        double w = b->mask ? rl_load(b->mask, b->dtype, i) : 1.0;
        if (w < 0) return rl_fail(RL_ERR_ARG, "mask element %zu is negative (%g)", i, w);
        sum += w;
    }
    if (!(sum > 0)) return rl_fail(RL_ERR_ARG, "the mask sums to zero: no step carries a loss");
    for (size_t i = 0; wsum && i < BT; i++) wsum[i] = (b->mask ? rl_load(b->mask, b->dtype, i) : 1.0) / sum;
    return RL_OK;
}

