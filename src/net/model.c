/* The model: one parameter buffer with a table of named views into it, and
 * the initialisations of rnnlab init. */
#include "cells/cell.h"
#include "net/net.h"
#include "net/orth_ws.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

rl_status rl_config_check(const rl_config *c)
{
    if ((unsigned)c->cell >= RL_CELL_COUNT) return rl_fail(RL_ERR_ARG, "unknown cell kind %d", (int)c->cell);
    if ((unsigned)c->loss >= RL_LOSS_COUNT) return rl_fail(RL_ERR_ARG, "unknown loss kind %d", (int)c->loss);
    const struct { const char *name; int v, max; } f[] = {
        {"input_size", c->input_size, RL_MAX_SIZE},
        {"hidden_size", c->hidden_size, RL_MAX_SIZE},
        {"num_layers", c->num_layers, RL_MAX_LAYERS},
        {"output_size", c->output_size, RL_MAX_SIZE},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return rl_fail(RL_ERR_ARG, "%s = %d is out of range [1, %d]", f[i].name, f[i].v, f[i].max);
    if (c->loss == RL_LOSS_CE && c->output_size < 2)
        return rl_fail(RL_ERR_ARG, "a cross_entropy model needs output_size >= 2");
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    if (c->state_size < 0 || c->state_size > RL_MAX_SIZE)
        return rl_fail(RL_ERR_ARG, "state_size = %d is out of range [0, %d]", c->state_size, RL_MAX_SIZE);
    if (c->state_size && !d->units_mult)
        return rl_fail(RL_ERR_ARG, "state_size sets the complex units of an lru; %s's state is its hidden_size", d->name);
    if ((unsigned)c->activation >= RL_ACT_COUNT) return rl_fail(RL_ERR_ARG, "unknown activation %d", (int)c->activation);
    if (c->activation && !d->out_map)
        return rl_fail(RL_ERR_ARG, "activation is the output map's of an lru; %s's output is its state", d->name);
    return RL_OK;
}

/* The cells an orthogonal W_hh fits: one dense (H, H) recurrent matrix,
 * as the cell table says (tanh, relu, linear, leaky, modrelu). */
static int orth_fits(const rl_cell_desc *d) { return d->hh_gates == 1 && rl_cell_recur(d)->matrix; }

rl_status rl_orth_check(const rl_config *c, rl_orth map)
{
    if ((unsigned)map >= RL_ORTH_COUNT) return rl_fail(RL_ERR_ARG, "unknown orthogonal map %d", (int)map);
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    if (map == RL_ORTH_NONE || orth_fits(d)) return RL_OK;
    char fit[128] = "";
    for (int k = 0; k < RL_CELL_COUNT; k++)
        if (orth_fits(rl_cell_desc_of((rl_cell)k)))
            snprintf(fit + strlen(fit), sizeof fit - strlen(fit), "%s%s", fit[0] ? ", " : "", rl_cell_desc_of((rl_cell)k)->name);
    if (rl_cell_recur(d)->bounded)
        return rl_fail(RL_ERR_ARG, "an orthogonal W_hh is for cells with one dense (H, H) recurrent matrix (%s), not %s "
                       "(its recurrent weight is a vector u of shape (H), one weight per unit)", fit, d->name);
    return rl_fail(RL_ERR_ARG, "an orthogonal W_hh is for cells with one dense (H, H) recurrent matrix (%s), not %s "
                   "(its W_hh holds %d gate blocks)", fit, d->name, d->hh_gates);
}

/* The tensors of a model, in buffer order: for each layer k those its
 * cell lists (src/cells/cell.h), an orthogonal W_hh's X and B after them in
 * place of W_hh, then the head's. Called to count and to lay out. */
typedef struct {
    const char *fmt; /* name, %d the layer */
    rl_role role;
    int ndim;
    long long rows, cols, fan; /* fan: the default init is U(+-1/sqrt(fan)) */
    int fixed;                 /* not trained */
} tensor_spec;

static long long dim(rl_dim d, long long H, long long in, long long N)
{
    return d == RL_DIM_HIDDEN ? H : d == RL_DIM_INPUT ? in : d == RL_DIM_STATE ? N : 1;
}

static int layer_specs(const rl_cell_desc *d, const rl_config *c, rl_orth map, int k, tensor_spec *out)
{
    const long long H = c->hidden_size, in = k == 0 ? c->input_size : H, N = c->state_size ? c->state_size : H;
    const int orth = map != RL_ORTH_NONE;
    int n = 0;
    for (int i = 0; i < d->nparams; i++) {
        const rl_param_spec *p = &d->params[i];
        if (orth && p->role == RL_W_HH) continue; /* W_hh = B map(A) (src/cells/orth.h) */
        out[n++] = (tensor_spec){p->fmt, p->role, p->cols ? 2 : 1, p->mult * dim(p->rows, H, in, N), dim(p->cols, H, in, N),
                                 dim(p->fan, H, in, N), 0};
    }
    if (orth) {
        out[n++] = (tensor_spec){"rnn.parametrizations.weight_hh_l%d.original", RL_ORTH_X, 2, H, H, H, 0};
        out[n++] = (tensor_spec){"rnn.parametrizations.weight_hh_l%d.0.base", RL_ORTH_BASE, 2, H, H, H, 1};
    }
    return n;
}

long long rl_config_num_params(const rl_config *c) { return rl_config_num_params_orth(c, RL_ORTH_NONE); }

long long rl_config_num_params_orth(const rl_config *c, rl_orth map)
{
    const rl_cell_desc *d = rl_cell_desc_of(c->cell);
    tensor_spec sp[RL_MAX_CELL_PARAMS + 2];
    long long total = 0;
    for (int k = 0; k < c->num_layers; k++) {
        int n = layer_specs(d, c, map, k, sp);
        for (int r = 0; r < n; r++) total += sp[r].rows * sp[r].cols;
    }
    return total + (long long)c->output_size * (c->hidden_size + 1);
}

double rl_model_bytes(const rl_config *c, rl_orth orth, rl_dtype dtype)
{
    if (rl_config_check(c)) return 0;
    /* the parameter buffer (rl_alloc rounds to 64 bytes); the struct itself is malloc'ed */
    return ceil((double)rl_config_num_params_orth(c, orth) * (double)rl_dtype_size(dtype) / 64) * 64;
}

static int add_tensor(rl_model *m, const char *name, int ndim, int64_t r, int64_t c)
{
    RL_ASSERT(m->num_tensors < RL_MAX_TENSORS && strlen(name) < sizeof m->names[0]);
    int i = m->num_tensors++;
    snprintf(m->names[i], sizeof m->names[i], "%s", name);
    rl_tensor_info *t = &m->tensors[i];
    t->name = m->names[i];
    t->ndim = ndim;
    t->shape[0] = r;
    t->shape[1] = ndim == 2 ? c : 1;
    t->offset = m->num_params;
    t->numel = (size_t)r * (size_t)t->shape[1];
    m->num_params += t->numel;
    return i;
}

rl_status rl_model_new(rl_model **out, const rl_config *cfg, rl_dtype dtype)
{
    return rl_model_new_orth(out, cfg, dtype, RL_ORTH_NONE);
}

rl_status rl_model_new_orth(rl_model **out, const rl_config *cfg, rl_dtype dtype, rl_orth map)
{
    *out = NULL;
    rl_status s = rl_config_check(cfg);
    if (!s) s = rl_orth_check(cfg, map);
    if (s) return s;
    /* Count before allocating: the sizes may come from an untrusted file. */
    long long total = rl_config_num_params_orth(cfg, map);
    if (total > RL_MAX_PARAMS)
        return rl_fail(RL_ERR_ARG, "model would have %lld parameters (limit %lld)", total, RL_MAX_PARAMS);
    char what[160];
    snprintf(what, sizeof what, "a model of %lld parameters (%s, %d x %d units, %s)", total, rl_cell_name(cfg->cell),
             cfg->num_layers, cfg->hidden_size, rl_dtype_name(dtype));
    if ((s = rl_memory_check(rl_model_bytes(cfg, map, dtype), what))) return s;

    rl_model *m = calloc(1, sizeof *m);
    if (!m) return rl_fail(RL_ERR_NOMEM, "cannot allocate a model");
    m->cfg = *cfg;
    m->cell = rl_cell_desc_of(cfg->cell);
    m->dtype = dtype;
    m->orth = map;
    tensor_spec sp[RL_MAX_CELL_PARAMS + 2];
    char name[RL_TENSOR_NAME_MAX];
    for (int k = 0; k < cfg->num_layers; k++) {
        int n = layer_specs(m->cell, cfg, map, k, sp);
        for (int r = 0; r < RL_ROLE_COUNT; r++) m->role[k][r] = -1;
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof name, sp[i].fmt, k);
            int t = add_tensor(m, name, sp[i].ndim, sp[i].rows, sp[i].cols);
            m->tensors[t].fixed = sp[i].fixed;
            m->fan[t] = (int)sp[i].fan;
            /* a role's tensors follow each other: the first stands for the block */
            RL_ASSERT(m->role[k][sp[i].role] < 0 || sp[i - 1].role == sp[i].role);
            if (m->role[k][sp[i].role] < 0) m->role[k][sp[i].role] = (short)t;
        }
    }
    m->fan[add_tensor(m, "head.weight", 2, cfg->output_size, cfg->hidden_size)] = cfg->hidden_size;
    m->fan[add_tensor(m, "head.bias", 1, cfg->output_size, 1)] = cfg->hidden_size;
    RL_ASSERT((long long)m->num_params == total);
    m->params = rl_alloc(m->num_params, rl_dtype_size(dtype));
    if (!m->params) {
        free(m);
        return RL_ERR_NOMEM;
    }
    *out = m;
    return RL_OK;
}

void rl_model_free(rl_model *m)
{
    if (!m) return;
    rl_free(m->params);
    free(m->vocab);
    free(m->task_json);
    free(m->task_kv);
    free(m);
}

rl_status rl_model_cast(rl_model **out, const rl_model *m, rl_dtype dtype)
{
    rl_status s = rl_model_new_orth(out, &m->cfg, dtype, m->orth);
    if (s) return s;
    size_t n = m->num_params;
    if (m->dtype == dtype) {
        memcpy((*out)->params, m->params, n * rl_dtype_size(dtype));
    } else if (dtype == RL_F64) {
        const float *src = m->params;
        double *dst = (*out)->params;
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
    } else {
        const double *src = m->params;
        float *dst = (*out)->params;
        for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
    }
    (*out)->task = m->task, (*out)->seq_len = m->seq_len;
    if (m->task_json) {
        rl_model *o = *out;
        o->task_json = strdup(m->task_json), o->task_kv = malloc(m->task_kv_len), o->task_kv_len = m->task_kv_len;
        if (o->task_kv) memcpy(o->task_kv, m->task_kv, m->task_kv_len);
        if (!o->task_json || !o->task_kv) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    if (!s && m->vocab) s = rl_model_set_vocab(*out, m->vocab);
    if (s) {
        rl_model_free(*out);
        *out = NULL;
    }
    return s;
}

rl_config rl_model_config(const rl_model *m) { return m->cfg; }
rl_orth rl_model_orthogonal(const rl_model *m) { return m->orth; }
rl_dtype rl_model_dtype(const rl_model *m) { return m->dtype; }
size_t rl_model_num_params(const rl_model *m) { return m->num_params; }
void *rl_model_params(rl_model *m) { return m->params; }
const void *rl_model_params_const(const rl_model *m) { return m->params; }
int rl_model_num_tensors(const rl_model *m) { return m->num_tensors; }
int rl_model_units(const rl_model *m) { return rl_cell_units(m->cell, &m->cfg); }
const char *rl_model_vocab(const rl_model *m) { return m->vocab; }

const rl_tensor_info *rl_model_tensor(const rl_model *m, int i)
{
    RL_ASSERT(i >= 0 && i < m->num_tensors);
    return &m->tensors[i];
}

int rl_model_find_tensor(const rl_model *m, const char *name)
{
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return i;
    return -1;
}

/* "(4, 3)" */
static void shape_text(char *b, size_t n, int ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(b, n, "(");
    for (int d = 0; d < ndim && at < n; d++) at += (size_t)snprintf(b + at, n - at, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (at < n) snprintf(b + at, n - at, ")");
}

/* The tensor name, if it has that shape; else NULL and a message. */
static const rl_tensor_info *view_of(const rl_model *m, const char *name, int ndim, const int64_t *shape)
{
    int i = name ? rl_model_find_tensor(m, name) : -1;
    if (i < 0) {
        rl_fail(RL_ERR_ARG, "the model (%s, %d layer%s) has no tensor '%s'", rl_cell_name(m->cfg.cell), m->cfg.num_layers,
                m->cfg.num_layers > 1 ? "s" : "", name ? name : "(null)");
        return NULL;
    }
    const rl_tensor_info *t = &m->tensors[i];
    int same = ndim == t->ndim && shape;
    for (int d = 0; same && d < ndim; d++) same = shape[d] == t->shape[d];
    if (!same) {
        char want[64] = "(?)", have[64];
        if (shape && ndim >= 0 && ndim <= 8) shape_text(want, sizeof want, ndim, shape);
        shape_text(have, sizeof have, t->ndim, t->shape);
        rl_fail(RL_ERR_ARG, "tensor '%s' has shape %s, not %s", name, have, want);
        return NULL;
    }
    return t;
}

void *rl_model_view(rl_model *m, const char *name, int ndim, const int64_t *shape)
{
    const rl_tensor_info *t = view_of(m, name, ndim, shape);
    return t ? (char *)m->params + t->offset * rl_dtype_size(m->dtype) : NULL;
}

const void *rl_model_view_const(const rl_model *m, const char *name, int ndim, const int64_t *shape)
{
    const rl_tensor_info *t = view_of(m, name, ndim, shape);
    return t ? (const char *)m->params + t->offset * rl_dtype_size(m->dtype) : NULL;
}

rl_status rl_model_set_vocab(rl_model *m, const char *vocab)
{
    char *v = NULL;
    if (vocab) {
        size_t n = strlen(vocab);
        v = malloc(n + 1);
        if (!v) return rl_fail(RL_ERR_NOMEM, "cannot allocate the vocabulary");
        memcpy(v, vocab, n + 1);
    }
    free(m->vocab);
    m->vocab = v;
    return RL_OK;
}

/* ------------------------------------------------------------------ init */

/* Write value v into element i of the buffer, whatever its dtype. */
static void set_param(rl_model *m, size_t i, double v) { rl_store(m->params, m->dtype, i, v); }

/* Q (n, n) row-major: a Haar-random orthogonal matrix, the Q of a Gaussian
 * matrix's QR with the signs of diag(R) folded in (Mezzadri 2007). */
static rl_status random_orthogonal(double *q, int n, rl_rng *rng)
{
    double *tau = rl_alloc((size_t)n, sizeof *tau);
    if (!tau) return RL_ERR_NOMEM;
    for (size_t i = 0; i < (size_t)n * n; i++) q[i] = rl_rng_normal(rng);
    rl_status s = RL_OK;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, q, n, tau);
    double *rdiag = rl_alloc((size_t)n, sizeof *rdiag);
    if (!rdiag) s = RL_ERR_NOMEM;
    if (!s && info != 0) s = rl_fail(RL_ERR_LAPACK, "dgeqrf failed (info %d)", (int)info);
    if (!s) {
        for (int i = 0; i < n; i++) rdiag[i] = q[(size_t)i * n + i];
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, n, q, n, tau);
        if (info != 0) s = rl_fail(RL_ERR_LAPACK, "dorgqr failed (info %d)", (int)info);
    }
    if (!s)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (rdiag[j] < 0) q[(size_t)i * n + j] = -q[(size_t)i * n + j];
    rl_free(rdiag);
    rl_free(tau);
    return s;
}

/* Largest |eigenvalue| of the (n, n) matrix a (a is destroyed). */
static rl_status spectral_radius(double *a, int n, double *rho)
{
    double *wr = rl_alloc((size_t)n, sizeof *wr), *wi = rl_alloc((size_t)n, sizeof *wi);
    rl_status s = (!wr || !wi) ? RL_ERR_NOMEM : RL_OK;
    if (!s) {
        lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', n, a, n, wr, wi, NULL, 1, NULL, 1);
        if (info != 0) s = rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
    }
    if (!s) {
        *rho = 0;
        for (int i = 0; i < n; i++) *rho = fmax(*rho, hypot(wr[i], wi[i]));
    }
    rl_free(wr);
    rl_free(wi);
    return s;
}

/* One (H, H) gate block of W_hh, following init. */
static rl_status init_block(double *w, int H, const rl_init *init, rl_rng *rng)
{
    size_t n = (size_t)H * H;
    switch (init->kind) {
    case RL_INIT_UNIFORM:
    case RL_INIT_CHRONO: { /* chrono is about the biases; W_hh as PyTorch's */
        double k = 1.0 / sqrt((double)H);
        for (size_t i = 0; i < n; i++) w[i] = (2 * rl_rng_uniform(rng) - 1) * k;
        break;
    }
    case RL_INIT_GAUSSIAN: {
        double sd = init->gain / sqrt((double)H);
        for (size_t i = 0; i < n; i++) w[i] = sd * rl_rng_normal(rng);
        break;
    }
    case RL_INIT_ORTHOGONAL: {
        rl_status s = random_orthogonal(w, H, rng);
        if (s) return s;
        for (size_t i = 0; i < n; i++) w[i] *= init->gain;
        break;
    }
    case RL_INIT_IDENTITY:
        for (size_t i = 0; i < n; i++) w[i] = (i % ((size_t)H + 1) == 0) ? init->gain : 0.0;
        break;
    case RL_INIT_SYMMETRIC: {
        /* (A + A^T)/sqrt(2) is the Gaussian orthogonal ensemble, whose
         * eigenvalues fill [-2 sqrt(H), 2 sqrt(H)] as H grows */
        double sc = init->gain / (2 * sqrt(2.0 * H));
        for (size_t i = 0; i < n; i++) w[i] = rl_rng_normal(rng);
        for (int i = 0; i < H; i++)
            for (int j = 0; j <= i; j++) {
                double v = sc * (w[(size_t)i * H + j] + w[(size_t)j * H + i]);
                w[(size_t)i * H + j] = w[(size_t)j * H + i] = v;
            }
        break;
    }
    case RL_INIT_HENAFF:
        /* 2x2 rotations [c -s; s c], theta ~ U[-pi, pi] */
        memset(w, 0, n * sizeof *w);
        for (int i = 0; i + 1 < H; i += 2) {
            double th = 3.14159265358979323846 * (2 * rl_rng_uniform(rng) - 1), c = init->gain * cos(th), sn = init->gain * sin(th);
            w[(size_t)i * H + i] = c, w[(size_t)i * H + i + 1] = -sn;
            w[(size_t)(i + 1) * H + i] = sn, w[(size_t)(i + 1) * H + i + 1] = c;
        }
        if (H % 2) w[n - 1] = init->gain;
        break;
    default:
        return rl_fail(RL_ERR_ARG, "unknown init kind %d", (int)init->kind);
    }
    if (init->radius > 0) {
        double *tmp = rl_alloc(n, sizeof *tmp), rho = 0;
        if (!tmp) return RL_ERR_NOMEM;
        memcpy(tmp, w, n * sizeof *tmp);
        rl_status s = spectral_radius(tmp, H, &rho);
        rl_free(tmp);
        if (s) return s;
        if (!(rho > 0)) return rl_fail(RL_ERR_ARG, "cannot rescale W_hh: its spectral radius is 0");
        for (size_t i = 0; i < n; i++) w[i] *= init->radius / rho;
    }
    return RL_OK;
}

/* Gate block g of layer l's W_hh (H, H) from w. An orthogonal layer gets
 * what registering torch's parametrisation on that W_hh leaves: the base B
 * from w (w itself if orthogonal, else its QR factor; w is overwritten) and
 * X = -I, so A = 0 and W_hh = B. */
static rl_status store_whh_block(rl_model *m, int l, int g, double *w)
{
    const size_t H = (size_t)m->cfg.hidden_size, HH = H * H;
    if (m->orth == RL_ORTH_NONE) {
        for (size_t i = 0; i < HH; i++) set_param(m, m->tensors[rl_t(m, l, RL_W_HH)].offset + (size_t)g * HH + i, w[i]);
        return RL_OK;
    }
    rl_status s = rl_orth_make_base(w, (int)H);
    for (size_t i = 0; !s && i < HH; i++) {
        set_param(m, m->tensors[rl_t(m, l, RL_ORTH_BASE)].offset + i, w[i]);
        set_param(m, m->tensors[rl_t(m, l, RL_ORTH_X)].offset + i, i % (H + 1) == 0 ? -1.0 : 0.0);
    }
    return s;
}

/* Every option of init against the kind and the cell, before anything is
 * written: an option nothing would use is a mistake, not a no-op. */
static rl_status check_init(const rl_cell_desc *d, const rl_init *init, int H)
{
    if ((unsigned)init->kind >= RL_INIT_COUNT) return rl_fail(RL_ERR_ARG, "unknown init kind");
    const double opt[] = {init->gain, init->radius, init->forget_bias, init->t_max, init->leak,
                          init->timescales[0], init->timescales[1], init->recurrent_max, init->input_scale,
                          init->recurrent_min, init->modrelu_init};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
        if (!isfinite(opt[i])) return rl_fail(RL_ERR_ARG, "the init's options must be finite numbers");
    if (init->radius < 0) return rl_fail(RL_ERR_ARG, "init radius = %g must be >= 0", init->radius);
    if (init->forget_bias != 0 && d->forget_gate < 0)
        return rl_fail(RL_ERR_ARG, "a forget bias is for cells with a forget gate, not %s", d->name);
    const rl_recur_desc *rec = rl_cell_recur(d);
    if (!rec->matrix && (init->kind != RL_INIT_UNIFORM || init->radius > 0))
        return rl_fail(RL_ERR_ARG, "init %s is for a recurrent weight matrix; %s %s (init uniform sets it its own way)",
                       init->kind != RL_INIT_UNIFORM ? rl_init_name(init->kind) : "radius", d->name,
                       rec->kind == RL_RECUR_NONE    ? "has no recurrent weights (its state enters elementwise)"
                       : rec->kind == RL_RECUR_CDIAG ? "has a complex diagonal"
                                                     : "has a vector");
    if (init->recurrent_max != 0 && !rec->bounded)
        return rl_fail(RL_ERR_ARG, "recurrent_max bounds a recurrent vector u (indrnn); %s has a matrix W_hh", d->name);
    if (init->recurrent_max < 0) return rl_fail(RL_ERR_ARG, "recurrent_max = %g must be > 0", init->recurrent_max);
    if (init->recurrent_min != 0 && !rec->bounded)
        return rl_fail(RL_ERR_ARG, "recurrent_min sets the last layer's recurrent vector u (indrnn); %s has a matrix W_hh",
                       d->name);
    double rmax = init->recurrent_max > 0 ? init->recurrent_max : 1;
    if (init->recurrent_min < 0 || (init->recurrent_min > 0 && !(init->recurrent_min < rmax)))
        return rl_fail(RL_ERR_ARG, "recurrent_min = %g must be in [0, %g), below recurrent_max", init->recurrent_min, rmax);
    if (init->input_scale < 0) return rl_fail(RL_ERR_ARG, "input_scale = %g must be >= 0", init->input_scale);
    if (init->kind == RL_INIT_CHRONO) {
        if (d->keep_gate < 0)
            return rl_fail(RL_ERR_ARG, "init chrono sets the bias of a gate that keeps the state (lstm, gru); %s has none",
                           d->name);
        if (init->t_max == 0) return rl_fail(RL_ERR_ARG, "init chrono needs t_max, the longest forgetting time (>= 2)");
        if (!(init->t_max >= 2))
            return rl_fail(RL_ERR_ARG, "init chrono needs t_max >= 2 (forgetting times in [2, t_max]), got %g", init->t_max);
        if (init->forget_bias != 0)
            return rl_fail(RL_ERR_ARG, "init chrono sets the forget gate's bias: give it or a forget bias, not both");
    } else if (init->t_max != 0) {
        return rl_fail(RL_ERR_ARG, "t_max is for init chrono, not %s", rl_init_name(init->kind));
    }
    int leak = init->leak != 0 || init->timescales[0] != 0 || init->timescales[1] != 0;
    if (leak && d->id != RL_CELL_LEAKY)
        return rl_fail(RL_ERR_ARG, "leak and timescales are for the leaky cell, not %s", d->name);
    if (!d->init_extra) return RL_OK;
    /* the cell checks its own options: a dry run on scratch */
    double *scratch = rl_alloc((size_t)H, sizeof *scratch);
    if (!scratch) return RL_ERR_NOMEM;
    rl_rng r;
    rl_rng_seed(&r, 0);
    rl_status s = d->init_extra(scratch, H, init, &r);
    rl_free(scratch);
    return s;
}

/* A cell's own init of layer l's tensors (lru's ring init), on float64
 * copies of them in the order the cell lists them. */
static rl_status init_layer(rl_model *m, int l, const rl_init *init, rl_rng *rng)
{
    const rl_cell_desc *d = m->cell;
    double *p[RL_MAX_CELL_PARAMS] = {0};
    int first = -1;
    for (int t = 0; t < m->num_tensors && first < 0; t++)
        for (int r = 0; r < RL_ROLE_COUNT; r++)
            if (m->role[l][r] == t) first = first < 0 || t < first ? t : first;
    rl_status s = RL_OK;
    for (int i = 0; i < d->nparams && !s; i++)
        if (!(p[i] = rl_alloc(m->tensors[first + i].numel, sizeof(double)))) s = RL_ERR_NOMEM;
    const int H = m->cfg.hidden_size, in = l ? H : m->cfg.input_size, N = m->cfg.state_size ? m->cfg.state_size : H;
    if (!s) s = d->init_layer(p, H, in, N, init, rng);
    for (int i = 0; i < d->nparams && !s; i++)
        for (size_t k = 0; k < m->tensors[first + i].numel; k++) set_param(m, m->tensors[first + i].offset + k, p[i][k]);
    for (int i = 0; i < d->nparams; i++) rl_free(p[i]);
    return s;
}

rl_status rl_model_init(rl_model *m, const rl_init *init, uint64_t seed)
{
    const rl_cell_desc *d = m->cell;
    int H = m->cfg.hidden_size, G = d->hh_gates;
    rl_status s = check_init(d, init, H);
    if (s) return s;
    rl_rng rng;
    rl_rng_seed(&rng, seed);
    /* PyTorch's default for every tensor first, in buffer order: U(+-1/sqrt(fan)) */
    for (int t = 0; t < m->num_tensors; t++) {
        const double k = 1.0 / sqrt((double)m->fan[t]);
        for (size_t i = 0; i < m->tensors[t].numel; i++)
            set_param(m, m->tensors[t].offset + i, (2 * rl_rng_uniform(&rng) - 1) * k);
    }
    for (int l = 0; l < m->cfg.num_layers && !s && d->init_layer; l++) s = init_layer(m, l, init, &rng);
    if (s) return s;
    double *block = rl_alloc((size_t)H * H, sizeof *block);
    if (!block) return RL_ERR_NOMEM;
    for (int l = 0; l < m->cfg.num_layers && !s; l++) {
        /* the biases' offsets; a cell without b_hh (minGRU) has its b_ih alone */
        const int tih = rl_t(m, l, RL_B_IH), thh = rl_t(m, l, RL_B_HH);
        const size_t bih = tih >= 0 ? m->tensors[tih].offset : 0, bhh = thh >= 0 ? m->tensors[thh].offset : 0;
        for (int g = 0; g < G && !s && rl_cell_recur(d)->matrix; g++) {
            s = init_block(block, H, init, &rng);
            if (!s) s = store_whh_block(m, l, g, block);
        }
        /* IRNN and chrono: recurrent biases start at zero */
        if (init->kind == RL_INIT_IDENTITY || init->kind == RL_INIT_CHRONO || init->zero_bias)
            for (int r = RL_B_IH; r <= RL_B_HH; r++) {
                if (rl_t(m, l, (rl_role)r) < 0) continue;
                const rl_tensor_info *t = &m->tensors[rl_t(m, l, (rl_role)r)];
                for (size_t i = 0; i < t->numel; i++) set_param(m, t->offset + i, 0.0);
            }
        if (init->forget_bias != 0) {
            /* the forget gate's rows of b_ih get the bias and those of b_hh
             * 0, so the gate starts at sigmoid(forget_bias) for a zero input
             * and state */
            size_t f0 = (size_t)d->forget_gate * H;
            for (int i = 0; i < H; i++) {
                set_param(m, bih + f0 + (size_t)i, init->forget_bias);
                if (thh >= 0) set_param(m, bhh + f0 + (size_t)i, 0.0);
            }
        }
        /* a diagonal recurrence (IndRNN's u): U(0, R), Li et al. 2018's
         * first-layer init, R = recurrent_max or 1; with recurrent_min R0,
         * the last layer's U(R0, R), their init for an answer at the end */
        const double R = init->recurrent_max > 0 ? init->recurrent_max : 1,
                     R0 = l == m->cfg.num_layers - 1 ? init->recurrent_min : 0;
        for (int i = 0; rl_cell_recur(d)->bounded && i < H; i++)
            set_param(m, m->tensors[rl_t(m, l, RL_W_HH)].offset + (size_t)i, R0 + (R - R0) * rl_rng_uniform(&rng));
        if (init->kind == RL_INIT_CHRONO) {
            /* Tallec & Ollivier 2018: b_keep = ln u, b_write = -ln u, u ~
             * U[1, t_max - 1], in b_ih only (b_hh's rows are 0 above, so the
             * gate's bias is not doubled): the keep gate starts at
             * sigmoid(ln u) = u / (1 + u), a forgetting time 1 + u */
            for (int i = 0; i < H; i++) {
                double lu = log(1 + (init->t_max - 2) * rl_rng_uniform(&rng));
                set_param(m, bih + (size_t)d->keep_gate * H + (size_t)i, lu);
                if (d->write_gate >= 0) set_param(m, bih + (size_t)d->write_gate * H + (size_t)i, -lu);
            }
        }
        if (d->init_extra && rl_t(m, l, RL_EXTRA) >= 0) {
            /* the cell's own parameter, over its uniform default */
            const size_t off = m->tensors[rl_t(m, l, RL_EXTRA)].offset;
            for (int i = 0; i < H; i++) block[i] = rl_load(m->params, m->dtype, off + (size_t)i);
            s = d->init_extra(block, H, init, &rng);
            for (int i = 0; !s && i < H; i++) set_param(m, off + (size_t)i, block[i]);
        }
    }
    /* an echo state network's input weights, drawn last so that every other
     * tensor is as without the option: W_ih ~ U[-s, s], every layer */
    for (int l = 0; l < m->cfg.num_layers && !s && init->input_scale > 0; l++) {
        const rl_tensor_info *wih = &m->tensors[rl_t(m, l, RL_W_IH)];
        for (size_t i = 0; i < wih->numel; i++) set_param(m, wih->offset + i, init->input_scale * (2 * rl_rng_uniform(&rng) - 1));
    }
    rl_free(block);
    return s;
}

void rl_model_clip_recurrent(rl_model *m, double max)
{
    if (!rl_cell_recur(m->cell)->bounded || !(max > 0)) return;
    for (int l = 0; l < m->cfg.num_layers; l++) {
        const rl_tensor_info *t = &m->tensors[rl_t(m, l, RL_W_HH)];
        for (size_t i = 0; i < t->numel; i++) {
            double v = rl_load(m->params, m->dtype, t->offset + i);
            if (v > max || v < -max) set_param(m, t->offset + i, v > 0 ? max : -max);
        }
    }
}
