/* Optimizers, gradient clipping and learning-rate schedules: single loops
 * over the one parameter buffer. */
#include "net/net.h"

#include <math.h>
#include <string.h>

/* learning-rate ranges an optimizer holds (rl_optim_set_lr_scale): a
 * tensor each and a few more */
#define LR_RANGES (RL_MAX_TENSORS + 8)

struct rl_optim {
    rl_optim_config cfg;
    rl_dtype dtype;
    size_t n;
    int64_t t;    /* updates done */
    int nbuf;
    void *buf[2]; /* momentum / sum of squares / first and second moments */
    int nscale;   /* ranges of elements whose learning rate is scaled, the last set counting */
    struct { size_t lo, hi; double scale; } scale[LR_RANGES];
};

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

/* The update of n elements, for one real type: one loop per rule, so that each
 * vectorises. Moments are kept in the model's type; the arithmetic of one
 * element is done in double. */
#define UPDATE(real, SQRT)                                                                                       \
    static RL_CLONES_EW void update_##real(const rl_optim *o, real *p, real *b0, real *b1, const real *g, double lr, \
                                           size_t n)                                                       \
    {                                                                                                      \
        const rl_optim_config *c = &o->cfg;                                                                \
        const real wd = (real)(c->kind != RL_OPT_ADAMW ? c->weight_decay : 0), lr_ = (real)lr;               \
        const real bc1 = (real)(1 - pow(c->beta1, (double)o->t)), bc2 = (real)(1 - pow(c->beta2, (double)o->t)); \
        const real mom = (real)c->momentum, alpha = (real)c->alpha, eps = (real)c->eps;                     \
        const real beta1 = (real)c->beta1, beta2 = (real)c->beta2, awd = (real)c->weight_decay;             \
        switch (c->kind) {                                                                                 \
        case RL_OPT_SGD:                                                                                   \
            for (size_t i = 0; i < n; i++) {                                                               \
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
            _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                           \
                real gi = g[i] + wd * p[i], s2 = b0[i] + gi * gi;                                        \
                b0[i] = (real)s2;                                                                          \
                p[i] = (real)(p[i] - lr_ * gi / (SQRT(s2) + eps));                                       \
            }                                                                                              \
            break;                                                                                         \
        case RL_OPT_RMSPROP:                                                                               \
            _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                           \
                real gi = g[i] + wd * p[i], s2 = alpha * b0[i] + (1 - alpha) * gi * gi;            \
                b0[i] = (real)s2;                                                                          \
                p[i] = (real)(p[i] - lr_ * gi / (SQRT(s2) + eps));                                       \
            }                                                                                              \
            break;                                                                                         \
        case RL_OPT_ADAM:                                                                                  \
        case RL_OPT_ADAMW:                                                                                 \
            _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                           \
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

/* a piece [lo, hi) of the buffer that learns at scale * lr */
typedef struct {
    size_t lo, hi;
    double scale;
} lr_piece;

typedef struct {
    const rl_optim *o;
    void *p;
    const void *g;
    double lr;
    int npieces;
    lr_piece pieces[2 * LR_RANGES + 1]; /* in order, disjoint; those of scale 0 left out */
} update_job;

/* elements [lo, hi) of every buffer, each piece of it at its own rate: the
 * update is elementwise, so neither the threads' cut nor the pieces'
 * changes a number */
static void update_range(void *ctx, size_t lo, size_t hi)
{
    const update_job *j = ctx;
    const rl_optim *o = j->o;
    for (int k = 0; k < j->npieces && j->pieces[k].lo < hi; k++) {
        const size_t a = j->pieces[k].lo > lo ? j->pieces[k].lo : lo, b = j->pieces[k].hi < hi ? j->pieces[k].hi : hi;
        if (a >= b) continue;
        const double lr = j->lr * j->pieces[k].scale;
        if (o->dtype == RL_F64)
            update_double(o, (double *)j->p + a, o->buf[0] ? (double *)o->buf[0] + a : NULL,
                          o->buf[1] ? (double *)o->buf[1] + a : NULL, (const double *)j->g + a, lr, b - a);
        else
            update_float(o, (float *)j->p + a, o->buf[0] ? (float *)o->buf[0] + a : NULL,
                         o->buf[1] ? (float *)o->buf[1] + a : NULL, (const float *)j->g + a, lr, b - a);
    }
}

/* The buffer [0, n) in pieces of one scale, cut at the ends of every range
 * (the last range set that holds a piece gives its scale, 1 where none
 * does); pieces of scale 0 are left out. Returns their count. */
static int lr_pieces(const rl_optim *o, lr_piece *out)
{
    size_t cut[2 * LR_RANGES + 2];
    int nc = 0, np = 0;
    cut[nc++] = 0, cut[nc++] = o->n;
    for (int k = 0; k < o->nscale; k++) cut[nc++] = o->scale[k].lo, cut[nc++] = o->scale[k].hi;
    for (int i = 1; i < nc; i++) /* insertion sort: a few cuts */
        for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
            size_t t = cut[j];
            cut[j] = cut[j - 1], cut[j - 1] = t;
        }
    for (int c = 0; c + 1 < nc; c++) {
        const size_t lo = cut[c], hi = cut[c + 1];
        if (lo == hi) continue;
        double sc = 1;
        for (int k = 0; k < o->nscale; k++)
            if (o->scale[k].lo <= lo && hi <= o->scale[k].hi) sc = o->scale[k].scale;
        if (sc == 0) continue;
        if (np > 0 && out[np - 1].hi == lo && out[np - 1].scale == sc) out[np - 1].hi = hi; /* one rate: one piece */
        else out[np++] = (lr_piece){lo, hi, sc};
    }
    return np;
}

rl_status rl_optim_step(rl_optim *o, rl_model *m, const void *grad, double lr)
{
    if (m->dtype != o->dtype || m->num_params != o->n)
        return rl_fail(RL_ERR_ARG, "the optimizer was made for another model");
    if (!isfinite(lr) || lr < 0) return rl_fail(RL_ERR_ARG, "learning rate %g", lr);
    o->t++;
    update_job j; /* the pieces are written, not cleared: a few of many hundred are used */
    j.o = o, j.p = m->params, j.g = grad, j.lr = lr;
    j.npieces = lr_pieces(o, j.pieces);
    rl_parallel_for(o->n, RL_GRAIN, update_range, &j);
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

/* The reductions go in chunks of NORM_CHUNK elements, each chunk's result
 * combined in order, so that the threads (one or more chunks each) change
 * no bit; a buffer of one chunk is summed exactly as by one loop. */
#define NORM_CHUNK ((size_t)1 << 20)

typedef struct {
    const void *p;
    rl_dtype dtype;
    size_t n;
    double s;
    int sq;        /* 0: the largest |p_i|; 1: the sum of (s p_i)^2 */
    double *part;  /* (chunks) */
} norm_job;

static void norm_part(void *ctx, size_t lo, size_t hi)
{
    const norm_job *j = ctx;
    for (size_t c = lo; c < hi; c++) {
        size_t a = c * NORM_CHUNK, len = j->n - a < NORM_CHUNK ? j->n - a : NORM_CHUNK;
        if (j->dtype == RL_F64)
            j->part[c] = j->sq ? sum_sq_double((const double *)j->p + a, len, j->s) : max_abs_double((const double *)j->p + a, len);
        else
            j->part[c] = j->sq ? sum_sq_float((const float *)j->p + a, len, j->s) : max_abs_float((const float *)j->p + a, len);
    }
}

static double reduce(const void *p, size_t n, rl_dtype dtype, int sq, double s)
{
    size_t chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    double one = 0, *part = chunks > 1 ? rl_alloc(chunks, sizeof *part) : &one;
    if (!part) { /* no memory for the partial results: one thread, the same chunks */
        double acc = 0;
        for (size_t c = 0; c < chunks; c++) {
            norm_job j1 = {p, dtype, n, s, sq, &one};
            norm_part(&j1, c, c + 1);
            acc = sq ? acc + one : fmax(acc, one);
        }
        return acc;
    }
    norm_job j = {p, dtype, n, s, sq, part};
    if (chunks == 1) norm_part(&j, 0, 1);
    else rl_parallel_for(chunks, 1, norm_part, &j);
    double acc = 0;
    for (size_t c = 0; c < chunks; c++) acc = sq ? acc + part[c] : (part[c] > acc || isnan(part[c]) ? part[c] : acc);
    if (part != &one) rl_free(part);
    return acc;
}

double rl_buffer_norm(const void *p, size_t n, rl_dtype dtype)
{
    /* sum of squares after scaling by a power of two that brings the largest
     * element near 1 (exact): no overflow or underflow; NaN and inf come through */
    double mx = reduce(p, n, dtype, 0, 1);
    if (mx == 0 || !isfinite(mx)) {
        double ssq = reduce(p, n, dtype, 1, 1);
        return isnan(ssq) ? ssq : mx;
    }
    int e;
    frexp(mx, &e);
    double s = ldexp(1, -e), ssq = reduce(p, n, dtype, 1, s);
    return sqrt(ssq) / s;
}

typedef struct {
    void *g;
    rl_dtype dtype;
    double f;
} scale_job;

static void scale_range(void *ctx, size_t lo, size_t hi)
{
    const scale_job *j = ctx;
    for (size_t i = lo; i < hi; i++) {
        if (j->dtype == RL_F64) ((double *)j->g)[i] *= j->f;
        else ((float *)j->g)[i] = (float)(((float *)j->g)[i] * j->f);
    }
}

rl_status rl_clip_grad_norm(void *grad, size_t n, rl_dtype dtype, double max_norm, double *norm)
{
    double g = rl_buffer_norm(grad, n, dtype);
    *norm = g;
    if (!isfinite(g)) return rl_fail(RL_ERR_NONFINITE, "the gradient norm is %g", g);
    if (max_norm > 0 && g >= max_norm) {
        scale_job j = {grad, dtype, max_norm / g};
        rl_parallel_for(n, RL_GRAIN, scale_range, &j);
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
