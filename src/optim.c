/* Optimizers, gradient clipping and learning-rate schedules: single loops
 * over the one parameter buffer. */
#include "internal.h"

#include <math.h>
#include <string.h>

struct rl_optim {
    rl_optim_config cfg;
    rl_dtype dtype;
    size_t n;
    int64_t t;    /* updates done */
    int nbuf;
    void *buf[2]; /* momentum / sum of squares / first and second moments */
    int nscale;   /* ranges of elements whose learning rate is scaled, the last set counting */
    struct { size_t lo, hi; double scale; } scale[RL_MAX_TENSORS + 8];
};

static const char *const optim_names[RL_OPT_COUNT] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
static const char *const sched_names[RL_SCHED_COUNT] = {"constant", "step", "cosine"};

const char *rl_optim_name(rl_optim_kind k) { return (unsigned)k < RL_OPT_COUNT ? optim_names[k] : NULL; }
const char *rl_sched_name(rl_sched_kind k) { return (unsigned)k < RL_SCHED_COUNT ? sched_names[k] : NULL; }

rl_status rl_optim_parse(const char *name, rl_optim_kind *out)
{
    int i = 0;
    rl_status s = rl_parse_name("optimizer", name, optim_names, RL_OPT_COUNT, &i);
    if (!s) *out = (rl_optim_kind)i;
    return s;
}

rl_status rl_sched_parse(const char *name, rl_sched_kind *out)
{
    int i = 0;
    rl_status s = rl_parse_name("schedule", name, sched_names, RL_SCHED_COUNT, &i);
    if (!s) *out = (rl_sched_kind)i;
    return s;
}

rl_optim_config rl_optim_defaults(rl_optim_kind kind)
{
    rl_optim_config c = {kind, 0, 0, 0.99, 0.9, 0.999, kind == RL_OPT_ADAGRAD ? 1e-10 : 1e-8,
                         kind == RL_OPT_ADAMW ? 0.01 : 0};
    return c;
}

rl_status rl_optim_new(rl_optim **out, const rl_model *m, const rl_optim_config *cfg)
{
    *out = NULL;
    if ((unsigned)cfg->kind >= RL_OPT_COUNT) return rl_fail(RL_ERR_ARG, "unknown optimizer");
    if (!(cfg->eps > 0) || !(cfg->weight_decay >= 0) || !(cfg->momentum >= 0 && cfg->momentum < 1) ||
        !(cfg->alpha >= 0 && cfg->alpha < 1) || !(cfg->beta1 >= 0 && cfg->beta1 < 1) ||
        !(cfg->beta2 >= 0 && cfg->beta2 < 1))
        return rl_fail(RL_ERR_ARG, "optimizer settings out of range (eps > 0, 0 <= momentum, alpha, betas < 1, weight decay >= 0)");
    if (cfg->nesterov && !(cfg->momentum > 0)) return rl_fail(RL_ERR_ARG, "Nesterov momentum needs momentum > 0");
    rl_optim *o = calloc(1, sizeof *o);
    if (!o) return rl_fail(RL_ERR_NOMEM, "out of memory");
    o->cfg = *cfg;
    o->dtype = m->dtype;
    o->n = m->num_params;
    o->nbuf = cfg->kind == RL_OPT_SGD ? (cfg->momentum > 0) : cfg->kind == RL_OPT_ADAGRAD || cfg->kind == RL_OPT_RMSPROP ? 1 : 2;
    for (int i = 0; i < o->nbuf; i++)
        if (!(o->buf[i] = rl_alloc(o->n, rl_dtype_size(o->dtype)))) {
            rl_optim_free(o);
            return RL_ERR_NOMEM;
        }
    for (int i = 0; i < m->num_tensors; i++)
        if (m->tensors[i].fixed) rl_optim_set_lr_scale(o, m->tensors[i].offset, m->tensors[i].numel, 0);
    *out = o;
    return RL_OK;
}

rl_status rl_optim_set_lr_scale(rl_optim *o, size_t offset, size_t count, double scale)
{
    if (offset > o->n || count > o->n - offset) return rl_fail(RL_ERR_ARG, "the range is outside the parameters");
    if (!isfinite(scale) || scale < 0) return rl_fail(RL_ERR_ARG, "learning-rate scale %g", scale);
    int k = 0; /* a range set again replaces the old one; else it goes last */
    while (k < o->nscale && !(o->scale[k].lo == offset && o->scale[k].hi == offset + count)) k++;
    if (k == (int)(sizeof o->scale / sizeof o->scale[0])) return rl_fail(RL_ERR_ARG, "too many learning-rate ranges");
    for (int i = k; i + 1 < o->nscale; i++) o->scale[i] = o->scale[i + 1];
    if (k == o->nscale) o->nscale++;
    o->scale[o->nscale - 1].lo = offset, o->scale[o->nscale - 1].hi = offset + count;
    o->scale[o->nscale - 1].scale = scale;
    return RL_OK;
}

void rl_optim_free(rl_optim *o)
{
    if (!o) return;
    rl_free(o->buf[0]);
    rl_free(o->buf[1]);
    free(o);
}

int64_t rl_optim_steps(const rl_optim *o) { return o->t; }
void rl_optim_set_steps(rl_optim *o, int64_t steps) { o->t = steps; }
int rl_optim_num_buffers(const rl_optim *o) { return o->nbuf; }
void *rl_optim_buffer(rl_optim *o, int i)
{
    RL_ASSERT(i >= 0 && i < o->nbuf);
    return o->buf[i];
}

/* The update of elements [i0, i1), for one real type: one loop per rule, so that each
 * vectorises. Moments are kept in the model's type; the arithmetic of one
 * element is done in double. */
#define UPDATE(real, SQRT)                                                                                       \
    static RL_CLONES_EW void update_##real(const rl_optim *o, real *p, real *b0, real *b1, const real *g, double lr, \
                                           size_t i0, size_t i1)                                           \
    {                                                                                                      \
        const rl_optim_config *c = &o->cfg;                                                                \
        const real wd = (real)(c->kind != RL_OPT_ADAMW ? c->weight_decay : 0), lr_ = (real)lr;               \
        const real bc1 = (real)(1 - pow(c->beta1, (double)o->t)), bc2 = (real)(1 - pow(c->beta2, (double)o->t)); \
        const real mom = (real)c->momentum, alpha = (real)c->alpha, eps = (real)c->eps;                     \
        const real beta1 = (real)c->beta1, beta2 = (real)c->beta2, awd = (real)c->weight_decay;             \
        switch (c->kind) {                                                                                 \
        case RL_OPT_SGD:                                                                                   \
            for (size_t i = i0; i < i1; i++) {                                                              \
                real gi = g[i] + wd * p[i];                                                              \
                if (mom > 0) {                                                                     \
                    real v = o->t == 1 ? gi : mom * b0[i] + gi;                                  \
                    b0[i] = (real)v;                                                                       \
                    gi = c->nesterov ? gi + mom * v : v;                                           \
                }                                                                                          \
                p[i] = (real)(p[i] - lr_ * gi);                                                             \
            }                                                                                              \
            break;                                                                                         \
        case RL_OPT_ADAGRAD:                                                                               \
            _Pragma("omp simd") for (size_t i = i0; i < i1; i++) {                                           \
                real gi = g[i] + wd * p[i], s2 = b0[i] + gi * gi;                                        \
                b0[i] = (real)s2;                                                                          \
                p[i] = (real)(p[i] - lr_ * gi / (SQRT(s2) + eps));                                       \
            }                                                                                              \
            break;                                                                                         \
        case RL_OPT_RMSPROP:                                                                               \
            _Pragma("omp simd") for (size_t i = i0; i < i1; i++) {                                           \
                real gi = g[i] + wd * p[i], s2 = alpha * b0[i] + (1 - alpha) * gi * gi;            \
                b0[i] = (real)s2;                                                                          \
                p[i] = (real)(p[i] - lr_ * gi / (SQRT(s2) + eps));                                       \
            }                                                                                              \
            break;                                                                                         \
        case RL_OPT_ADAM:                                                                                  \
        case RL_OPT_ADAMW:                                                                                 \
            _Pragma("omp simd") for (size_t i = i0; i < i1; i++) {                                           \
                real pi = p[i], gi = g[i] + wd * pi;                                                     \
                if (c->kind == RL_OPT_ADAMW) pi -= lr_ * awd * pi;                              \
                real m1 = beta1 * b0[i] + (1 - beta1) * gi;                                        \
                real m2 = beta2 * b1[i] + (1 - beta2) * gi * gi;                                   \
                b0[i] = (real)m1, b1[i] = (real)m2;                                                        \
                p[i] = (real)(pi - lr_ * (m1 / bc1) / (SQRT(m2 / bc2) + eps));                           \
            }                                                                                              \
            break;                                                                                         \
        default:                                                                                           \
            break;                                                                                         \
        }                                                                                                  \
    }
UPDATE(double, sqrt)
UPDATE(float, sqrtf)

rl_status rl_optim_step(rl_optim *o, rl_model *m, const void *grad, double lr)
{
    if (m->dtype != o->dtype || m->num_params != o->n)
        return rl_fail(RL_ERR_ARG, "the optimizer was made for another model");
    if (!isfinite(lr) || lr < 0) return rl_fail(RL_ERR_ARG, "learning rate %g", lr);
    o->t++;
    /* the buffer in pieces of one scale: cut at every range's ends */
    size_t cut[2 * (sizeof o->scale / sizeof o->scale[0]) + 2];
    int nc = 0;
    cut[nc++] = 0, cut[nc++] = o->n;
    for (int k = 0; k < o->nscale; k++) cut[nc++] = o->scale[k].lo, cut[nc++] = o->scale[k].hi;
    for (int i = 1; i < nc; i++) /* insertion sort: a few cuts */
        for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
            size_t t = cut[j];
            cut[j] = cut[j - 1], cut[j - 1] = t;
        }
    for (int c = 0; c + 1 < nc; c++) {
        size_t a = cut[c], b = cut[c + 1];
        if (a == b) continue;
        double sc = 1;
        for (int k = 0; k < o->nscale; k++)
            if (o->scale[k].lo <= a && b <= o->scale[k].hi) sc = o->scale[k].scale;
        if (sc == 0) continue;
        if (o->dtype == RL_F64) update_double(o, m->params, o->buf[0], o->buf[1], grad, lr * sc, a, b);
        else update_float(o, m->params, o->buf[0], o->buf[1], grad, lr * sc, a, b);
    }
    return RL_OK;
}

/* the largest |p_i|, and the sum of (s p_i)^2 */
#define NORM(real)                                                                                         \
    static RL_CLONES double max_abs_##real(const real *p, size_t n)                                        \
    {                                                                                                      \
        double mx = 0;                                                                                     \
        _Pragma("omp simd reduction(max : mx)") for (size_t i = 0; i < n; i++) {                           \
            double v = fabs((double)p[i]);                                                                 \
            mx = v > mx ? v : mx;                                                                          \
        }                                                                                                  \
        return mx;                                                                                         \
    }                                                                                                      \
    static RL_CLONES double sum_sq_##real(const real *p, size_t n, double s)                               \
    {                                                                                                      \
        double ssq = 0;                                                                                    \
        _Pragma("omp simd reduction(+ : ssq)") for (size_t i = 0; i < n; i++) {                            \
            double v = p[i] * s;                                                                           \
            ssq += v * v;                                                                                  \
        }                                                                                                  \
        return ssq;                                                                                        \
    }
NORM(double)
NORM(float)

double rl_buffer_norm(const void *p, size_t n, rl_dtype dtype)
{
    /* sum of squares after scaling by a power of two that brings the largest
     * element near 1 (exact): no overflow or underflow; NaN and inf come through */
    double mx = dtype == RL_F64 ? max_abs_double(p, n) : max_abs_float(p, n);
    if (mx == 0 || !isfinite(mx)) {
        double ssq = dtype == RL_F64 ? sum_sq_double(p, n, 1) : sum_sq_float(p, n, 1);
        return isnan(ssq) ? ssq : mx;
    }
    int e;
    frexp(mx, &e);
    double s = ldexp(1, -e), ssq = dtype == RL_F64 ? sum_sq_double(p, n, s) : sum_sq_float(p, n, s);
    return sqrt(ssq) / s;
}

rl_status rl_clip_grad_norm(void *grad, size_t n, rl_dtype dtype, double max_norm, double *norm)
{
    double g = rl_buffer_norm(grad, n, dtype);
    *norm = g;
    if (!isfinite(g)) return rl_fail(RL_ERR_NONFINITE, "the gradient norm is %g", g);
    if (max_norm > 0 && g >= max_norm) {
        double f = max_norm / g;
        for (size_t i = 0; i < n; i++) {
            if (dtype == RL_F64) ((double *)grad)[i] *= f;
            else ((float *)grad)[i] = (float)(((float *)grad)[i] * f);
        }
    }
    return RL_OK;
}

void rl_clip_grad_value(void *grad, size_t n, rl_dtype dtype, double clip)
{
    for (size_t i = 0; i < n; i++) {
        if (dtype == RL_F64) {
            double *v = (double *)grad + i;
            *v = fmin(fmax(*v, -clip), clip);
        } else {
            float *v = (float *)grad + i;
            *v = (float)fmin(fmax(*v, -clip), clip);
        }
    }
}

double rl_lr_at(const rl_schedule *s, int64_t step)
{
    double lr = s->lr;
    if (s->kind == RL_SCHED_STEP && s->step_size > 0) lr *= pow(s->gamma, (double)(step / s->step_size));
    if (s->kind == RL_SCHED_COSINE && s->total > 0) {
        double f = fmin((double)step / (double)s->total, 1.0);
        lr = s->min_lr + 0.5 * (s->lr - s->min_lr) * (1 + cos(M_PI * f));
    }
    if (s->warmup > 0 && step < s->warmup) lr *= (double)(step + 1) / (double)s->warmup;
    return lr;
}
