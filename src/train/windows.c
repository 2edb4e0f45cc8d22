/* A time series in CSV as windows for forecasting: one row a step; a window
 * is T consecutive rows of the input columns, each step's target the
 * target columns K rows later (--window T --horizon K). The rows are split
 * by time, never shuffled across: the first part trains, the next
 * validates, the last is kept for the test, and every window, its targets
 * included, lies wholly inside its part. */
#include "train/dataset.h"
#include "io/csv.h"

#include <math.h>
#include <string.h>

/* Windows of part [lo, hi): starts lo .. hi - T - K (training draws any);
 * the scored ones start every T rows. */
static int64_t scored_windows(const rl_series *s, rl_rowrange p)
{
    const int64_t len = p.hi - p.lo, span = (int64_t)s->T + s->K;
    return len < span ? 0 : (len - span) / s->T + 1;
}

static rl_status part_fits(const rl_series *s, rl_rowrange p, const char *path, const char *which, const char *flag)
{
    const int64_t span = (int64_t)s->T + s->K;
    if (p.hi - p.lo >= span) return RL_OK;
    return rl_fail(RL_ERR_ARG,
                   "%s: the %s part (rows %lld to %lld, %lld rows) is shorter than one window of T + K = %lld rows: use a "
                   "shorter --window or --horizon, or a larger %s",
                   path, which, (long long)p.lo + 1, (long long)p.hi, (long long)(p.hi - p.lo), (long long)span, flag);
}

rl_status rl_dataset_windows(rl_dataset *ds, const rl_dataset_options *o)
{
    rl_series *s = &ds->series;
    if (o->valid_path) return rl_fail(RL_ERR_ARG, "--valid is for a file of sequences: a CSV series is split by time (--valid-split)");
    if (!o->targets) return rl_fail(RL_ERR_ARG, "%s: a CSV series needs --targets COLS (and --inputs COLS: the targets by default)", o->path);
    if (o->window < 1) return rl_fail(RL_ERR_ARG, "%s: a CSV series needs --window T, the steps of a window", o->path);
    if (o->horizon < 0) return rl_fail(RL_ERR_ARG, "--horizon %d: K is at least 0", o->horizon);
    const double v = o->valid_split > 0 ? o->valid_split : RL_CSV_VALID_SPLIT, te = o->test_split > 0 ? o->test_split : RL_CSV_TEST_SPLIT;
    if (!(v + te < 1)) return rl_fail(RL_ERR_ARG, "--valid-split %g and --test-split %g leave nothing to train on", v, te);
    csv_table t;
    rl_status st = csv_read(&t, o->path);
    if (st) return st;
    int *in = rl_alloc(CSV_MAX_COLS, sizeof *in), *out = rl_alloc(CSV_MAX_COLS, sizeof *out), ni = 0, no = 0;
    double *buf = NULL;
    if (!in || !out) st = rl_fail(RL_ERR_NOMEM, "out of memory");
    if (!st) st = csv_columns(&t, o->targets, "--targets", out, CSV_MAX_COLS, &no);
    if (!st) st = csv_columns(&t, o->inputs ? o->inputs : o->targets, "--inputs", in, CSV_MAX_COLS, &ni);
    s->rows = t.rows, s->I = ni, s->O = no, s->T = o->window, s->K = o->horizon;
    if (!st && !(buf = rl_alloc((size_t)t.rows, (size_t)(ni > no ? ni : no) * sizeof *buf))) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory", t.path);
    if (!st && (!(s->in = rl_alloc((size_t)t.rows, (size_t)ni * sizeof(float))) || !(s->out = rl_alloc((size_t)t.rows, (size_t)no * sizeof(float)))))
        st = rl_fail(RL_ERR_NOMEM, "%s: out of memory", t.path);
    if (!st) st = csv_numbers(&t, in, ni, buf);
    for (size_t i = 0; !st && i < (size_t)t.rows * ni; i++) s->in[i] = (float)buf[i];
    if (!st) st = csv_numbers(&t, out, no, buf);
    for (size_t i = 0; !st && i < (size_t)t.rows * no; i++) s->out[i] = (float)buf[i];
    for (size_t i = 0; !st && i < (size_t)t.rows * (ni > no ? ni : no); i++)
        if (fabs(buf[i]) > 3.4e38) st = rl_fail(RL_ERR_FORMAT, "%s: a value beyond float32's range", t.path);
    rl_free(in), rl_free(out), rl_free(buf);
    char path[4096];
    snprintf(path, sizeof path, "%s", t.path);
    csv_close(&t);
    if (st) return st;
    /* the parts, in time order */
    const int64_t a = (int64_t)llround((double)s->rows * (1 - v - te)), b = (int64_t)llround((double)s->rows * (1 - te));
    const rl_rowrange train = {0, a}, valid = {a, b}, test = {b, s->rows};
    if ((st = part_fits(s, train, path, "training", "share of the rows (smaller --valid-split or --test-split)")) ||
        (st = part_fits(s, valid, path, "validation", "--valid-split")) || (st = part_fits(s, test, path, "test", "--test-split")))
        return st;
    ds->train_rows = train;
    ds->eval_rows = o->for_test ? test : valid;
    ds->is_series = 1;
    ds->T = s->T, ds->I = s->I, ds->O = s->O, ds->loss = RL_LOSS_MSE;
    ds->train_n = train.hi - train.lo - s->T - s->K + 1;
    ds->eval_n = scored_windows(s, ds->eval_rows);
    return RL_OK;
}
