/* Sequences from a file of named arrays (safetensors, .npz, .npy folder):
 * x, y and the optional mask and lengths checked and turned into an
 * rl_seqset. Every defect is one message that names the file, the array
 * and the element: a wrong shape or dtype, a NaN, a class id out of range,
 * a mask that is not 0/1 or leaves a sequence no step, a length past T. */
#include "train/dataset.h"

#include <math.h>
#include <string.h>

void rl_seqset_free(rl_seqset *s)
{
    RL_FREE_ALL(s->x, s->x8, s->y, s->cls, s->mask, s->last);
    memset(s, 0, sizeof *s);
}

/* "[3, 17, 0]": element i of an array of this shape */
static void index_str(const ar_array *a, size_t i, char *buf, size_t n)
{
    size_t idx[AR_MAX_NDIM] = {0};
    for (int d = a->ndim - 1; d >= 0; d--) {
        size_t len = a->shape[d] > 0 ? (size_t)a->shape[d] : 1;
        idx[d] = i % len, i /= len;
    }
    size_t at = (size_t)snprintf(buf, n, "%s[", a->name);
    for (int d = 0; d < a->ndim && at < n; d++) at += (size_t)snprintf(buf + at, n - at, "%s%zu", d ? ", " : "", idx[d]);
    if (at < n) snprintf(buf + at, n - at, "]");
}

static rl_status bad_value(const ar_set *f, const ar_array *a, size_t i, const char *why)
{
    char where[AR_MAX_NAME + 96];
    index_str(a, i, where, sizeof where);
    return rl_fail(RL_ERR_FORMAT, "%s: %s %s", f->path, where, why);
}

/* Real numbers of a float array as float32; non-finite ones refused where
 * counted (keep(i) nonzero, or keep NULL: everywhere), made 0 elsewhere. */
static rl_status get_floats(const ar_set *f, const ar_array *a, float *out, const uint8_t *keep, size_t per)
{
    for (size_t i = 0; i < a->numel; i++) {
        double v = ar_get(a, i);
        int counted = !keep || keep[i / per];
        if (counted && !isfinite(v)) {
            char why[AR_MAX_NAME + 32];
            snprintf(why, sizeof why, "is %s: %s must be finite", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", a->name);
            return bad_value(f, a, i, why);
        }
        if (counted && fabs(v) > 3.4e38) return bad_value(f, a, i, "is beyond float32's range");
        out[i] = counted ? (float)v : 0.0f;
    }
    return RL_OK;
}

/* Shapes in words: "(N, T, I) = (100, 20, 3)" for messages about x. */
static rl_status bad_shape(const ar_set *f, const ar_array *a, const char *want)
{
    char got[128];
    ar_shape_str(a, got, sizeof got);
    return rl_fail(RL_ERR_FORMAT, "%s: %s has shape %s and dtype %s; %s", f->path, a->name, got, ar_dtype_name(a->dtype), want);
}

static rl_status check_names(const ar_set *f)
{
    static const char *const known[] = {"x", "y", "mask", "lengths"};
    for (int i = 0; i < f->n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= strcmp(f->a[i].name, known[k]) == 0;
        if (!ok)
            return rl_fail(RL_ERR_FORMAT, "%s: unexpected array '%s' (a file of sequences holds x, y and optionally mask and lengths%s)",
                           f->path, f->a[i].name,
                           strcmp(f->a[i].name, "h0") == 0 || strcmp(f->a[i].name, "c0") == 0
                               ? "; every sequence starts from a zero state: remove it"
                               : "");
    }
    return RL_OK;
}

static rl_status get_x(rl_seqset *s, const ar_set *f, const ar_array **xp)
{
    const ar_array *x = ar_find(f, "x");
    *xp = x;
    if (!x) return rl_fail(RL_ERR_FORMAT, "%s: array 'x' is missing (the inputs, (N, T, I) float)", f->path);
    if (!ar_is_float(x->dtype) || x->ndim != 3)
        return bad_shape(f, x, "x must be (N, T, I) float32 or float64");
    if (x->shape[0] < 1 || x->shape[1] < 1 || x->shape[2] < 1) return bad_shape(f, x, "x needs N, T and I of at least 1");
    if (x->shape[0] > RL_DATA_MAX_SEQS)
        return rl_fail(RL_ERR_FORMAT, "%s: x holds %lld sequences (the limit is %d)", f->path, (long long)x->shape[0], RL_DATA_MAX_SEQS);
    if (x->shape[1] > RL_MAX_SEQ_LEN)
        return rl_fail(RL_ERR_FORMAT, "%s: x has T = %lld steps (the limit is %d)", f->path, (long long)x->shape[1], RL_MAX_SEQ_LEN);
    if (x->shape[2] > RL_MAX_SIZE)
        return rl_fail(RL_ERR_FORMAT, "%s: x has I = %lld inputs (the limit is %d)", f->path, (long long)x->shape[2], RL_MAX_SIZE);
    s->n = x->shape[0], s->T = (int)x->shape[1], s->I = (int)x->shape[2];
    return RL_OK;
}

/* The steps that count: mask (0/1) and lengths (1..T), both optional;
 * NULL when every step counts. Each sequence keeps one step at least. */
static rl_status get_mask(rl_seqset *s, const ar_set *f)
{
    const ar_array *m = ar_find(f, "mask"), *l = ar_find(f, "lengths");
    const int64_t N = s->n, T = s->T;
    if (m && (m->ndim != 2 || m->shape[0] != N || m->shape[1] != T || m->dtype == AR_OTHER)) {
        char want[96];
        snprintf(want, sizeof want, "mask must be (N, T) = (%lld, %lld) of 0 and 1", (long long)N, (long long)T);
        return bad_shape(f, m, want);
    }
    if (l && (l->ndim != 1 || l->shape[0] != N || !ar_is_int(l->dtype) || l->dtype == AR_BOOL)) {
        char want[96];
        snprintf(want, sizeof want, "lengths must be (N,) = (%lld,) integers", (long long)N);
        return bad_shape(f, l, want);
    }
    if (!(s->last = rl_alloc((size_t)N, sizeof *s->last))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", f->path);
    if (!m && !l) {
        for (int64_t b = 0; b < N; b++) s->last[b] = (int32_t)T - 1;
        return RL_OK;
    }
    if (!(s->mask = rl_alloc((size_t)(N * T), 1))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", f->path);
    for (int64_t b = 0; b < N; b++) {
        int64_t len = T;
        if (l) {
            double v = ar_get(l, (size_t)b);
            if (v < 1 || v > T) {
                char why[96];
                snprintf(why, sizeof why, v < 1 ? "is %.0f: a sequence needs one step at least" : "is %.0f, past T = %d", v, s->T);
                return bad_value(f, l, (size_t)b, why);
            }
            len = (int64_t)v;
        }
        int32_t last = -1;
        for (int64_t t = 0; t < T; t++) {
            uint8_t on = t < len;
            if (m) {
                double v = ar_get(m, (size_t)(b * T + t));
                if (v != 0 && v != 1) {
                    char why[96];
                    snprintf(why, sizeof why, "is %g: a mask holds 0 or 1", v);
                    return bad_value(f, m, (size_t)(b * T + t), why);
                }
                on &= v == 1;
            }
            s->mask[b * T + t] = on;
            if (on) last = (int32_t)t;
        }
        if (last < 0)
            return rl_fail(RL_ERR_FORMAT, "%s: sequence %lld has no step that counts (its mask is all zeros%s)", f->path,
                           (long long)b, l && m ? " within its length" : "");
        s->last[b] = last;
    }
    return RL_OK;
}

/* y's kind from its dtype and shape against x's N and T. */
static rl_status get_kind(rl_seqset *s, const ar_set *f, const ar_array *y, int loss)
{
    const int64_t N = s->n, T = s->T;
    const int fl = ar_is_float(y->dtype), in = ar_is_int(y->dtype);
    if (fl && y->ndim == 3 && y->shape[0] == N && y->shape[1] == T) s->ykind = RL_Y_STEP_REAL;
    else if (in && y->ndim == 2 && y->shape[0] == N && y->shape[1] == T) s->ykind = RL_Y_STEP_CLASS;
    else if (fl && y->ndim == 2 && y->shape[0] == N) s->ykind = RL_Y_SEQ_REAL;
    else if (in && y->ndim == 1 && y->shape[0] == N) s->ykind = RL_Y_SEQ_CLASS;
    else {
        char want[256];
        snprintf(want, sizeof want,
                 "y must be one of (N, T, O) float, (N, T) integer class ids, (N, O) float or (N,) integer class ids, "
                 "with N = %lld and T = %lld from x",
                 (long long)N, (long long)T);
        return bad_shape(f, y, want);
    }
    if (loss == RL_LOSS_CE && fl)
        return rl_fail(RL_ERR_FORMAT, "%s: y is %s, but the loss is cross_entropy (--loss, or the model's), which needs integer class ids",
                       f->path, ar_dtype_name(y->dtype));
    if (fl) {
        int64_t O = y->shape[y->ndim - 1];
        if (O < 1 || O > RL_MAX_SIZE) {
            char want[96];
            snprintf(want, sizeof want, "y needs O in [1, %d] outputs", RL_MAX_SIZE);
            return bad_shape(f, y, want);
        }
        s->O = (int)O;
    }
    return RL_OK;
}

static rl_status from_arrays(rl_seqset *s, const ar_set *f, int loss, int min_classes)
{
    const ar_array *x = NULL, *y = NULL;
    rl_status st = check_names(f);
    if (!st) st = get_x(s, f, &x);
    if (!st && !(y = ar_find(f, "y")))
        st = rl_fail(RL_ERR_FORMAT, "%s: array 'y' is missing (the targets: (N, T, O) or (N, O) float, (N, T) or (N,) class ids)", f->path);
    if (!st) st = get_kind(s, f, y, loss);
    if (!st) st = get_mask(s, f);
    const size_t NT = (size_t)s->n * (size_t)s->T;
    if (!st && !(s->x = rl_alloc(NT, (size_t)s->I * sizeof(float)))) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory for x", f->path);
    if (!st) st = get_floats(f, x, s->x, NULL, 1);
    const int per_step = s->ykind == RL_Y_STEP_REAL || s->ykind == RL_Y_STEP_CLASS;
    if (!st && (s->ykind == RL_Y_STEP_REAL || s->ykind == RL_Y_SEQ_REAL)) {
        if (!(s->y = rl_alloc(y->numel, sizeof(float)))) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory for y", f->path);
        else st = get_floats(f, y, s->y, per_step ? s->mask : NULL, (size_t)s->O);
        return st;
    }
    if (st) return st;
    /* class ids: checked where they count (padding may hold anything, -100 say), 0 elsewhere */
    const int64_t lim = min_classes > 0 ? min_classes : RL_MAX_SIZE;
    int32_t *ids = rl_alloc(y->numel, sizeof *ids);
    if (!ids) return rl_fail(RL_ERR_NOMEM, "%s: out of memory for y", f->path);
    int32_t top = -1;
    for (size_t i = 0; i < y->numel && !st; i++) {
        if (per_step && s->mask && !s->mask[i]) continue;
        double v = ar_get(y, i);
        if (v < 0 || v >= (double)lim) {
            char why[128];
            if (min_classes > 0 && v >= 0) snprintf(why, sizeof why, "is %.0f: the model has %d classes [0, %d)", v, min_classes, min_classes);
            else snprintf(why, sizeof why, "is %.0f: a class id must be in [0, %d)", v, RL_MAX_SIZE);
            st = bad_value(f, y, i, why);
            break;
        }
        ids[i] = (int32_t)v;
        if (ids[i] > top) top = ids[i];
    }
    if (!st && loss == RL_LOSS_MSE) { /* --loss mse on integer targets: their values, one output */
        if (!(s->y = rl_alloc(y->numel, sizeof(float)))) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory for y", f->path);
        for (size_t i = 0; !st && i < y->numel; i++) s->y[i] = (float)ids[i];
        s->O = 1;
        s->ykind = per_step ? RL_Y_STEP_REAL : RL_Y_SEQ_REAL;
        rl_free(ids);
        return st;
    }
    if (st) {
        rl_free(ids);
        return st;
    }
    s->cls = ids;
    s->O = top + 1 > min_classes ? top + 1 : min_classes;
    return RL_OK;
}

rl_status rl_seqset_from_arrays(rl_seqset *s, const ar_set *f, int loss, int min_classes)
{
    memset(s, 0, sizeof *s);
    rl_status st = from_arrays(s, f, loss, min_classes);
    if (st) rl_seqset_free(s);
    return st;
}
