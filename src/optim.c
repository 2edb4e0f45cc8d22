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
    *out = o;
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

/* The update, for one real type. Moments are kept in the model's type;
 * the arithmetic of one element is done in double. */
#define UPDATE(real)                                                                                       \
    do {                                                                                                   \
        real *p = m->params, *b0 = o->buf[0], *b1 = o->buf[1];                                             \
        const real *g = grad;                                                                              \
        const rl_optim_config *c = &o->cfg;                                                                \
        double bc1 = 1 - pow(c->beta1, (double)o->t), bc2 = 1 - pow(c->beta2, (double)o->t);             \
        for (size_t i = 0; i < o->n; i++) {                                                                \
            double gi = g[i], pi = p[i];                                                                   \
            if (c->kind != RL_OPT_ADAMW) gi += c->weight_decay * pi;                                       \
            switch (c->kind) {                                                                             \
            case RL_OPT_SGD:                                                                               \
                if (c->momentum > 0) {                                                                     \
                    double v = o->t == 1 ? gi : c->momentum * b0[i] + gi;                                  \
                    b0[i] = (real)v;                                                                       \
                    gi = c->nesterov ? gi + c->momentum * v : v;                                           \
                }                                                                                          \
                pi -= lr * gi;                                                                             \
                break;                                                                                     \
            case RL_OPT_ADAGRAD: {                                                                         \
                double s2 = b0[i] + gi * gi;                                                               \
                b0[i] = (real)s2;                                                                          \
                pi -= lr * gi / (sqrt(s2) + c->eps);                                                       \
                break;                                                                                     \
            }                                                                                              \
            case RL_OPT_RMSPROP: {                                                                         \
                double s2 = c->alpha * b0[i] + (1 - c->alpha) * gi * gi;                                   \
                b0[i] = (real)s2;                                                                          \
                pi -= lr * gi / (sqrt(s2) + c->eps);                                                       \
                break;                                                                                     \
            }                                                                                              \
            case RL_OPT_ADAMW:                                                                             \
                pi -= lr * c->weight_decay * pi;                                                           \
                /* fall through */                                                                         \
            case RL_OPT_ADAM: {                                                                            \
                double m1 = c->beta1 * b0[i] + (1 - c->beta1) * gi;                                        \
                double m2 = c->beta2 * b1[i] + (1 - c->beta2) * gi * gi;                                   \
                b0[i] = (real)m1, b1[i] = (real)m2;                                                        \
                pi -= lr * (m1 / bc1) / (sqrt(m2 / bc2) + c->eps);                                         \
                break;                                                                                     \
            }                                                                                              \
            default:                                                                                       \
                break;                                                                                     \
            }                                                                                              \
            p[i] = (real)pi;                                                                               \
        }                                                                                                  \
    } while (0)

rl_status rl_optim_step(rl_optim *o, rl_model *m, const void *grad, double lr)
{
    if (m->dtype != o->dtype || m->num_params != o->n)
        return rl_fail(RL_ERR_ARG, "the optimizer was made for another model");
    if (!isfinite(lr) || lr < 0) return rl_fail(RL_ERR_ARG, "learning rate %g", lr);
    o->t++;
    if (o->dtype == RL_F64) UPDATE(double);
    else UPDATE(float);
    return RL_OK;
}

double rl_buffer_norm(const void *p, size_t n, rl_dtype dtype)
{
    /* scaled sum of squares: no overflow for large gradients */
    double scale = 0, ssq = 1;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(dtype == RL_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i]);
        if (v == 0) continue;
        if (!isfinite(v)) return v;
        if (scale < v) {
            ssq = 1 + ssq * (scale / v) * (scale / v);
            scale = v;
        } else {
            ssq += (v / scale) * (v / scale);
        }
    }
    return scale * sqrt(ssq);
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
