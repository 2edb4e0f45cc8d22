/* A user's data as a task's: the source chosen (a file of arrays, a CSV
 * series, the MNIST folder), the training and scored parts cut, the
 * memoryless baseline measured, and batches filled from either part. */
#include "train/dataset.h"

#include <math.h>
#include <string.h>
#include <strings.h>

void rl_dataset_free(rl_dataset *ds)
{
    if (!ds) return;
    for (int k = 0; k < 2; k++) rl_seqset_free(&ds->own[k]);
    rl_free(ds->perm);
    rl_free(ds->series.in);
    rl_free(ds->series.out);
    free(ds);
}

static int is_csv(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".csv") == 0;
}

/* A file of arrays and, from a second file or the end of the first, the
 * sequences validation scores. */
static rl_status from_arrays(rl_dataset *ds, const rl_dataset_options *o)
{
    if (o->inputs || o->targets || o->window || o->test_split > 0)
        return rl_fail(RL_ERR_ARG, "--%s is for a CSV series (a .csv file); %s is a file of arrays",
                       o->inputs ? "inputs" : o->targets ? "targets" : o->window ? "window" : "test-split", o->path);
    if (o->valid_path && o->valid_split > 0) return rl_fail(RL_ERR_ARG, "--valid FILE and --valid-split F: give one of them");
    if (o->valid_path && o->for_test) return rl_fail(RL_ERR_ARG, "--valid is for training: a test scores the file it is given");
    ar_set f;
    rl_status s = ar_open(&f, o->path);
    if (s) return s;
    s = rl_seqset_from_arrays(&ds->own[ds->nown++], &f, o->loss, o->min_classes);
    ar_close(&f);
    if (s) return s;
    const rl_seqset *a = &ds->own[0];
    if (o->valid_path) {
        if ((s = ar_open(&f, o->valid_path))) return s;
        s = rl_seqset_from_arrays(&ds->own[ds->nown++], &f, o->loss, o->min_classes);
        ar_close(&f);
        if (s) return s;
        const rl_seqset *b = &ds->own[1];
        const char *what = a->T != b->T ? "steps T" : a->I != b->I ? "inputs I" : NULL;
        if (what)
            return rl_fail(RL_ERR_FORMAT, "%s: x has %s = %d, the training data's %d", o->valid_path, what, a->T != b->T ? b->T : b->I,
                           a->T != b->T ? a->T : a->I);
        if (a->ykind != b->ykind || (!a->cls && a->O != b->O))
            return rl_fail(RL_ERR_FORMAT, "%s: y is not the training data's kind of target (%s%s%s)", o->valid_path,
                           a->cls ? "class ids" : "real values", a->ykind == RL_Y_SEQ_REAL || a->ykind == RL_Y_SEQ_CLASS ? " per sequence" : " per step",
                           a->cls ? "" : ", the same outputs O");
        ds->train = (rl_seqrange){a, 0, a->n};
        ds->eval = (rl_seqrange){b, 0, b->n};
        return RL_OK;
    }
    if (o->for_test && o->valid_split == 0) { /* a test scores all of the file */
        ds->train = (rl_seqrange){a, 0, 0};
        ds->eval = (rl_seqrange){a, 0, a->n};
        return RL_OK;
    }
    const double v = o->valid_split > 0 ? o->valid_split : RL_DATA_VALID_SPLIT;
    int64_t nv = (int64_t)(v * (double)a->n + 0.5);
    if (nv < 1 || nv >= a->n)
        return rl_fail(RL_ERR_ARG, "%s: %s %g of %lld sequences leaves %s: give more sequences, another split, or --valid FILE", o->path,
                       o->valid_split > 0 ? "--valid-split" : "the default validation split", v, (long long)a->n,
                       nv < 1 ? "no validation sequence" : "no training sequence");
    ds->train = (rl_seqrange){a, 0, a->n - nv};
    ds->eval = (rl_seqrange){a, a->n - nv, nv};
    return RL_OK;
}

/* ------------------------------------------------------------------ baselines */

/* Each counted target of part p: fn(ctx, y or class, O) per item. */
typedef void (*item_fn)(void *ctx, const float *y, int cls, int O);

static void each_item(const rl_seqrange *p, item_fn fn, void *ctx)
{
    const rl_seqset *s = p->set;
    if (!s) return;
    const int T = s->T, O = s->O;
    for (int64_t i = p->first; i < p->first + p->count; i++) {
        switch (s->ykind) {
        case RL_Y_STEP_REAL:
        case RL_Y_STEP_CLASS:
            for (int t = 0; t < T; t++) {
                const size_t bt = (size_t)i * T + t;
                if (s->mask && !s->mask[bt]) continue;
                fn(ctx, s->y ? s->y + bt * O : NULL, s->cls ? s->cls[bt] : 0, O);
            }
            break;
        case RL_Y_SEQ_REAL:
        case RL_Y_SEQ_CLASS: fn(ctx, s->y ? s->y + (size_t)i * O : NULL, s->cls ? s->cls[i] : 0, O); break;
        }
    }
}

/* The series' items: the target rows of the training windows (any start),
 * or of the scored windows. */
static void each_row(const rl_series *s, rl_rowrange p, int scored, item_fn fn, void *ctx)
{
    if (!scored) {
        for (int64_t r = p.lo + s->K; r < p.hi; r++) fn(ctx, s->out + (size_t)r * s->O, 0, s->O);
        return;
    }
    const int64_t span = (int64_t)s->T + s->K;
    for (int64_t w = p.lo; w + span <= p.hi; w += s->T)
        for (int t = 0; t < s->T; t++) fn(ctx, s->out + (size_t)(w + t + s->K) * s->O, 0, s->O);
}

typedef struct {
    double *sum, n, err;    /* real: sums per output, items; squared error against mean */
    const double *mean;
    double *count;          /* classes: counts */
    double loss, hits;      /* classes: -ln p summed, items of the majority class */
    int major;
} base_acc;

static void add_mean(void *ctx, const float *y, int cls, int O)
{
    base_acc *a = ctx;
    (void)cls;
    for (int k = 0; k < O; k++) a->sum[k] += y[k];
    a->n += 1;
}

static void add_err(void *ctx, const float *y, int cls, int O)
{
    base_acc *a = ctx;
    (void)cls;
    for (int k = 0; k < O; k++) a->err += (y[k] - a->mean[k]) * (y[k] - a->mean[k]) / O;
    a->n += 1;
}

static void add_count(void *ctx, const float *y, int cls, int O)
{
    (void)y, (void)O;
    base_acc *a = ctx;
    a->count[cls] += 1, a->n += 1;
}

static void add_ce(void *ctx, const float *y, int cls, int O)
{
    (void)y, (void)O;
    base_acc *a = ctx;
    a->loss -= log(a->count[cls]), a->hits += cls == a->major, a->n += 1;
}

/* The loss of the best prediction that ignores the inputs, learnt from the
 * training part (or, for a test without one, from the scored part itself):
 * MSE, the training targets' mean; cross-entropy, the training classes'
 * frequencies with one count added to each (so that a class training never
 * saw is finite), and the majority class's accuracy. */
static rl_status baselines(rl_dataset *ds)
{
    const int O = ds->O;
    const int from_eval = ds->train_n == 0;
    base_acc a = {0};
    double *buf = rl_alloc((size_t)O, sizeof *buf);
    if (!buf) return rl_fail(RL_ERR_NOMEM, "out of memory");
    ds->baseline_accuracy = NAN;
    if (ds->loss == RL_LOSS_MSE) {
        a.sum = buf;
        if (ds->is_series) each_row(&ds->series, from_eval ? ds->eval_rows : ds->train_rows, from_eval, add_mean, &a);
        else each_item(from_eval ? &ds->eval : &ds->train, add_mean, &a);
        for (int k = 0; k < O; k++) buf[k] /= a.n;
        a.mean = buf, a.n = 0;
        if (ds->is_series) each_row(&ds->series, ds->eval_rows, 1, add_err, &a);
        else each_item(&ds->eval, add_err, &a);
        ds->baseline = a.err / a.n;
    } else {
        a.count = buf;
        each_item(from_eval ? &ds->eval : &ds->train, add_count, &a);
        for (int k = 0; k < O; k++) {
            if (buf[k] > buf[a.major]) a.major = k;
        }
        for (int k = 0; k < O; k++) buf[k] = (buf[k] + 1) / (a.n + O);
        a.n = 0;
        each_item(&ds->eval, add_ce, &a);
        ds->baseline = a.loss / a.n;
        ds->baseline_accuracy = a.hits / a.n;
    }
    rl_free(buf);
    return RL_OK;
}

/* ------------------------------------------------------------------ making one */

rl_status rl_dataset_new(rl_dataset **out, const rl_dataset_options *o)
{
    *out = NULL;
    if (!o->path) return rl_fail(RL_ERR_ARG, "the data is missing: give --data");
    if (o->valid_split < 0 || o->valid_split >= 1 || o->test_split < 0 || o->test_split >= 1)
        return rl_fail(RL_ERR_ARG, "--valid-split and --test-split are fractions in [0, 1)");
    if (o->loss >= RL_LOSS_COUNT) return rl_fail(RL_ERR_ARG, "unknown loss");
    rl_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return rl_fail(RL_ERR_NOMEM, "out of memory");
    rl_status s;
    if (o->mnist) s = rl_dataset_mnist(ds, o);
    else if (is_csv(o->path) && o->loss == RL_LOSS_CE) s = rl_fail(RL_ERR_ARG, "--loss cross_entropy: a CSV series is forecast with mse");
    else if (is_csv(o->path)) s = rl_dataset_windows(ds, o);
    else s = from_arrays(ds, o);
    if (!s && !ds->is_series) {
        const rl_seqset *a = &ds->own[0], *b = &ds->own[ds->nown - 1];
        ds->T = a->T, ds->I = a->I;
        ds->O = a->O > b->O ? a->O : b->O;
        ds->loss = a->cls ? RL_LOSS_CE : RL_LOSS_MSE;
        ds->train_n = ds->train.count, ds->eval_n = ds->eval.count;
        for (int k = 0; k < ds->nown; k++) ds->own[k].O = ds->O; /* a class one part lacks still has its output */
        if (ds->loss == RL_LOSS_CE && ds->O < 2)
            s = rl_fail(RL_ERR_FORMAT, "%s: y holds class 0 only: a classifier needs two classes at least (or --loss mse)", o->path);
    }
    if (!s) s = baselines(ds);
    if (!s)
        snprintf(ds->what, sizeof ds->what, "%lld training and %lld %s %s", (long long)ds->train_n, (long long)ds->eval_n,
                 o->for_test ? "test" : "validation", ds->is_series ? "windows" : "sequences");
    if (s) {
        rl_dataset_free(ds);
        return s;
    }
    *out = ds;
    return RL_OK;
}

/* ------------------------------------------------------------------ batches */

/* Row b of d from sequence i of set s. */
static void seq_row(const rl_seqset *s, int64_t i, rl_data *d, int b)
{
    const int T = s->T, I = s->I, O = s->O;
    float *x = (float *)d->x + (size_t)b * T * I, *m = (float *)d->mask + (size_t)b * T;
    for (int t = 0; t < T; t++) {
        const size_t src = ((size_t)i * T + (size_t)(s->perm ? s->perm[t] : t)) * I;
        for (int k = 0; k < I; k++) x[(size_t)t * I + k] = s->x8 ? s->x8[src + k] * s->x8_scale : s->x[src + k];
    }
    const int per_step = s->ykind == RL_Y_STEP_REAL || s->ykind == RL_Y_STEP_CLASS;
    for (int t = 0; t < T; t++) m[t] = per_step ? (s->mask ? s->mask[(size_t)i * T + t] : 1) : t == s->last[i];
    if (s->cls) {
        int32_t *c = d->target + (size_t)b * T;
        if (per_step) memcpy(c, s->cls + (size_t)i * T, (size_t)T * sizeof *c);
        else memset(c, 0, (size_t)T * sizeof *c), c[s->last[i]] = s->cls[i];
        return;
    }
    float *y = (float *)d->y + (size_t)b * T * O;
    if (per_step) memcpy(y, s->y + (size_t)i * T * O, (size_t)T * O * sizeof *y);
    else memset(y, 0, (size_t)T * O * sizeof *y), memcpy(y + (size_t)s->last[i] * O, s->y + (size_t)i * O, (size_t)O * sizeof *y);
}

/* Row b of d from the window of the series that starts at row w. */
static void window_row(const rl_series *s, int64_t w, rl_data *d, int b)
{
    const int T = s->T, I = s->I, O = s->O;
    float *x = (float *)d->x + (size_t)b * T * I, *y = (float *)d->y + (size_t)b * T * O, *m = (float *)d->mask + (size_t)b * T;
    memcpy(x, s->in + (size_t)w * I, (size_t)T * I * sizeof *x);
    memcpy(y, s->out + (size_t)(w + s->K) * O, (size_t)T * O * sizeof *y);
    for (int t = 0; t < T; t++) m[t] = 1;
}

static void zero_row(const rl_dataset *ds, rl_data *d, int b)
{
    const size_t T = (size_t)ds->T;
    memset((float *)d->x + b * T * ds->I, 0, T * ds->I * sizeof(float));
    memset((float *)d->mask + b * T, 0, T * sizeof(float));
    if (d->target) memset(d->target + b * T, 0, T * sizeof(int32_t));
    if (d->y) memset((float *)d->y + b * T * ds->O, 0, T * ds->O * sizeof(float));
}

rl_status rl_dataset_fill(const rl_dataset *ds, rl_data *d, rl_rng *r, int split, int64_t *pos)
{
    const int B = d->b.batch;
    RL_ASSERT(d->b.steps == ds->T && d->b.input_size == ds->I && d->b.dtype == RL_F32 && (split == 0 || pos));
    if (split == 0 && ds->train_n == 0) return rl_fail(RL_ERR_ARG, "this data has no training part (it was read for a test)");
    for (int b = 0; b < B; b++) {
        int64_t k;
        if (split == 0) {
            k = (int64_t)(rl_rng_next(r) % (uint64_t)ds->train_n);
        } else {
            k = pos[b];
            pos[b] += B;
            if (k < 0 || k >= ds->eval_n) {
                zero_row(ds, d, b);
                continue;
            }
        }
        if (ds->is_series) window_row(&ds->series, split == 0 ? ds->train_rows.lo + k : ds->eval_rows.lo + k * ds->T, d, b);
        else if (split == 0) seq_row(ds->train.set, ds->train.first + k, d, b);
        else seq_row(ds->eval.set, ds->eval.first + k, d, b);
    }
    return RL_OK;
}
