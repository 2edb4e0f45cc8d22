/* rnnlab report on a sweep's folder (cli/sweeps/sweep.h): a result against one
 * swept option, a line for each value of another (the mean over the seeds
 * and any further axes), or a heat map over two numeric options; the points
 * as a table; DIR/report.html around them. */
#include "sweeps/sweep.h"

#include "plots/plot.h"
#include "plots/report.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_is_sweep(const char *dir)
{
    char p[1300];
    struct stat sb;
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* How the figure names a result: the results' keys of cli/sweeps/cmd_sweep.c. */
static const char *result_label(const char *key)
{
    static const char *const names[][2] = {
        {"lambda_max", "largest Lyapunov exponent λ_max (per step)"},
        {"lambda_sum", "sum of the Lyapunov exponents computed (per step)"},
        {"log_norm_T", "ln‖∂s_T/∂s_0‖"},
        {"log_norm_rate", "ln‖∂s_T/∂s_0‖ / T (per step)"},
        {"log_grad_state_0", "ln‖∂L/∂s_0‖"},
        {"val_loss", "validation loss"},
        {"val_mse", "validation MSE"},
        {"val_accuracy", "validation accuracy"},
        {"val_bpc", "validation bits per character"},
        {"train_loss", "training loss (the last logged mean)"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(key, names[i][0]) == 0) return names[i][1];
    return key;
}

/* Where a heat map's cells go along a numeric axis: at the values when they
 * are evenly spaced (b: the ends, half a step beyond them), else at their
 * indices, the values then listed in the label. */
static void place(const sweep_axis *a, const double *v, int n, char *label, size_t size, double b[2])
{
    int even = n > 1;
    for (int k = 2; k < n; k++) even &= fabs((v[k] - v[k - 1]) - (v[1] - v[0])) <= 1e-9 * fabs(v[1] - v[0]);
    if (even && v[1] != v[0]) {
        double h = (v[n - 1] - v[0]) / (n - 1) / 2;
        b[0] = v[0] - h, b[1] = v[n - 1] + h;
        snprintf(label, size, "%s", a->option);
        return;
    }
    b[0] = -0.5, b[1] = n - 0.5;
    size_t at = (size_t)snprintf(label, size, "%s at 0..%d:", a->option, n - 1);
    for (int k = 0; k < n && at < size; k++) at += (size_t)snprintf(label + at, size - at, " %.6g", v[k]);
}

/* A growing string: the page's table of points. */
typedef struct {
    char *b;
    size_t n, cap;
    int bad;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = s->bad ? -1 : vsnprintf(s->b ? s->b + s->n : NULL, s->b ? s->cap - s->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0 || s->bad) {
        s->bad = 1;
        return;
    }
    if (s->n + (size_t)k + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->n + (size_t)k + 1) cap *= 2;
        char *b = realloc(s->b, cap);
        if (!b) {
            s->bad = 1;
            return;
        }
        s->b = b, s->cap = cap;
        va_start(ap, fmt);
        vsnprintf(s->b + s->n, s->cap - s->n, fmt, ap);
        va_end(ap);
    }
    s->n += (size_t)k;
}

/* A file of the folder read whole (a regular file of at most limit bytes). */
static char *read_member(const char *path, size_t limit, size_t *len)
{
    FILE *f = cli_fopen_member(path);
    if (!f) return NULL;
    struct stat sb;
    char *txt = NULL;
    if (fstat(fileno(f), &sb) == 0 && (uintmax_t)sb.st_size > limit) {
        errno = EFBIG;
    } else if ((txt = malloc((size_t)sb.st_size + 1))) {
        *len = fread(txt, 1, (size_t)sb.st_size, f);
        txt[*len] = '\0';
        if (ferror(f)) free(txt), txt = NULL, errno = EIO;
    }
    fclose(f);
    return txt;
}

int sweep_load(const cli_ctx *c, const char *dir, sweep_data *d)
{
    char p[1300], err[300];
    size_t n = 0;
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    char *txt = read_member(p, (size_t)64 << 20, &n);
    memset(d, 0, sizeof *d);
    if (!txt) {
        fprintf(stderr, "rnnlab %s: %s: cannot read the sweep's plan: %s\n", c->cmd, p, cli_read_error(errno));
        return 1;
    }
    int bad = sweep_parse_plan(d, txt, n, err, sizeof err);
    free(txt);
    if (bad) {
        fprintf(stderr, "rnnlab %s: %s: %s\n", c->cmd, p, err);
        return 1;
    }
    snprintf(p, sizeof p, "%s/results.jsonl", dir);
    FILE *f = cli_fopen_member(p);
    struct stat sb;
    if (!f && errno != ENOENT) { /* none: nothing has finished yet */
        fprintf(stderr, "rnnlab %s: %s: cannot read it: %s\n", c->cmd, p, cli_read_error(errno));
        return 1;
    }
    if (f && fstat(fileno(f), &sb) == 0 && sb.st_size > (off_t)1 << 30) {
        fprintf(stderr, "rnnlab %s: %s: cannot read it: %s\n", c->cmd, p, cli_read_error(EFBIG));
        fclose(f);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (f && (len = getline(&line, &cap, f)) > 0) sweep_add_result(d, line, (size_t)len);
    free(line);
    if (f) fclose(f);
    sweep_finish(d);
    return 0;
}

/* What a sweep's report shows: the result drawn (key), x and the lines
 * (BY, or NULL; a heat map when both are numeric), and the mean and count
 * of the points of each (x, by) cell at the places xs. */
typedef struct {
    const cli_ctx *c;
    const char *dir;
    sweep_data d;
    const char *key;
    int xi, bi, nx, nb, heat;
    const sweep_axis *X, *BY;
    double *mean, *cnt, *xs;
    char png[200], csvn[200];
} view;

/* The result (--result, or the first number a point gives), x (--x, or the
 * first numeric axis, or the first) and the lines (--by, or the next axis):
 * 0, or the exit code after a line. */
static int choose(view *v, const char *result, const char *xname, const char *byname)
{
    const cli_ctx *c = v->c;
    const sweep_data *d = &v->d;
    const char *key = result;
    for (const cJSON *it = d->res[0]->child; !key && it; it = it->next)
        if (cJSON_IsNumber(it)) key = it->string;
    if (!key || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d->res[0], key))) {
        char have[600] = "";
        for (const cJSON *it = d->res[0]->child; it; it = it->next)
            if (cJSON_IsNumber(it) && strlen(have) + strlen(it->string) + 3 < sizeof have)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "", it->string);
        return cli_usage_error(c, "--result %s: the points' results are %s", key ? key : "?", have[0] ? have : "not numbers");
    }
    v->key = key;
    int xi = -1, bi = -1;
    const int nax = d->nax;
    for (int k = 0; k < nax; k++) {
        if (xname && strcmp(d->ax[k].name, xname) == 0) xi = k;
        if (byname && strcmp(d->ax[k].name, byname) == 0) bi = k;
    }
    if (xi >= 0 && xi == bi) return cli_usage_error(c, "--x and --by name the same axis");
    if (xname && xi < 0) return cli_usage_error(c, "--x %s is not an axis of the sweep with two values or more", xname);
    if (byname && bi < 0) return cli_usage_error(c, "--by %s is not an axis of the sweep with two values or more", byname);
    if (nax == 0) {
        fprintf(stderr, "rnnlab %s: %s: no option of the sweep takes two values: nothing to draw against\n", c->cmd, v->dir);
        return 1;
    }
    for (int k = 0; xi < 0 && k < nax; k++)
        if (d->ax[k].numeric && k != bi) xi = k;
    for (int k = 0; xi < 0 && k < nax; k++)
        if (k != bi) xi = k;
    for (int k = 0; bi < 0 && k < nax; k++)
        if (k != xi) bi = k;
    if (xi < 0) return cli_usage_error(c, "--by %s leaves no axis for --x", byname ? byname : "?");
    v->xi = xi, v->bi = bi;
    v->X = &d->ax[xi], v->BY = bi >= 0 ? &d->ax[bi] : NULL;
    v->nx = v->X->n, v->nb = v->BY ? v->BY->n : 1;
    v->heat = v->BY && v->X->numeric && v->BY->numeric;
    return 0;
}

/* An axis's words: what the option is, then the option ("learning rate
 * (--lr)"; issue 28: the axis said "--lr" alone), from the option table's
 * help up to its first ';' or " (", or a few words of our own where the help
 * says more than an axis can; the name alone for a set of options. */
static void axis_words(const sweep_axis *a, char *out, size_t n)
{
    static const char *const own[][2] = {{"gain", "the gain g"}, {"hidden", "hidden units"}, {"seq-len", "sequence length T"},
                                         {"batch", "batch size"}, {"radius", "spectral radius of W_hh"},
                                         {"layers", "layers"}};
    const char *flag = strncmp(a->option, "--", 2) == 0 ? a->option + 2 : NULL;
    for (size_t k = 0; flag && k < sizeof own / sizeof own[0]; k++)
        if (strcmp(flag, own[k][0]) == 0) {
            snprintf(out, n, "%s (%s)", own[k][1], a->option);
            return;
        }
    for (int i = 0; flag && i < cli_option_count(); i++) {
        const rl_option *o = cli_option_at(i);
        if (!o || !o->help || strcmp(o->flag, flag) != 0) continue;
        size_t len = strcspn(o->help, ";");
        const char *paren = strstr(o->help, " (");
        if (paren && (size_t)(paren - o->help) < len) len = (size_t)(paren - o->help);
        snprintf(out, n, "%.*s (%s)", (int)(len < 80 ? len : 80), o->help, a->option);
        return;
    }
    snprintf(out, n, "%s", a->option);
}

/* A rate (--lr, --min-lr, --floss-lr, --orthogonal-lr): a log axis is asked
 * for whenever its values are positive, as rates are chosen by factors
 * (plot_lines draws it when they span a decade). */
static int is_rate(const sweep_axis *a)
{
    size_t k = strlen(a->option);
    return k >= 4 && strncmp(a->option, "--", 2) == 0 && strcmp(a->option + k - 2, "lr") == 0;
}

/* The numbers behind the figure as one JSON object on stdout: 0, or 1. */
static int print_json(const view *v)
{
    const sweep_axis *X = v->X, *BY = v->BY;
    cJSON *o = cJSON_CreateObject(), *ser = cJSON_AddArrayToObject(o, "series");
    cJSON_AddStringToObject(o, "result", v->key);
    cJSON_AddStringToObject(o, "x", X->name);
    if (BY) cJSON_AddStringToObject(o, "by", BY->name);
    cJSON_AddNumberToObject(o, "points", v->d.n);
    cJSON_AddNumberToObject(o, "planned", v->d.nplanned);
    for (int b = 0; b < v->nb; b++) {
        cJSON *s = cJSON_CreateObject(), *xv = cJSON_AddArrayToObject(s, "x"), *mv = cJSON_AddArrayToObject(s, "mean");
        cJSON *nv = cJSON_AddArrayToObject(s, "n");
        if (BY) cJSON_AddItemToObject(s, "by", cJSON_Duplicate(BY->values[b], 1));
        for (int k = 0; k < v->nx; k++) {
            double m = v->mean[(size_t)b * v->nx + k];
            cJSON_AddItemToArray(xv, cJSON_Duplicate(X->values[k], 1));
            cJSON_AddItemToArray(mv, isfinite(m) ? cJSON_CreateNumber(m) : cJSON_CreateNull());
            cJSON_AddItemToArray(nv, cJSON_CreateNumber(v->cnt[(size_t)b * v->nx + k]));
        }
        cJSON_AddItemToArray(ser, s);
    }
    char *txt = cJSON_PrintUnformatted(o);
    int e = 0;
    if (txt) puts(txt);
    else e = 1;
    free(txt);
    cJSON_Delete(o);
    return e;
}

/* The figure at path (a heat map, or a line per value of BY) with its
 * words drawn literally (they come from the folder); by_t gets the lines'
 * labels. 0, or 1 after a line. */
static int draw(const view *v, const char *path, char by_t[8][200])
{
    const sweep_axis *X = v->X, *BY = v->BY;
    const int nx = v->nx, nb = v->nb;
    const double *xs = v->xs, *mean = v->mean;
    const char *key = v->key;
    char raw[1200], xl[600], yl[600], title[600], rlabel[300];
    snprintf(raw, sizeof raw, "%s: %s against %s%s%s", v->d.command, key, X->name, BY ? (v->heat ? " and " : ", by ") : "",
             BY ? BY->name : "");
    plot_text(title, sizeof title, raw);
    plot_text(rlabel, sizeof rlabel, result_label(key));
    if (X->numeric) {
        axis_words(X, raw, sizeof raw);
        plot_text(xl, sizeof xl, raw);
    } else { /* a categorical x: its values' positions, named in the label */
        size_t at = (size_t)snprintf(raw, sizeof raw, "%s:", X->name);
        for (int k = 0; k < nx && at < sizeof raw; k++) at += (size_t)snprintf(raw + at, sizeof raw - at, " %d %.60s", k, X->text[k]);
        plot_text(xl, sizeof xl, raw);
    }
    pl_figure f = {path, title, xl, rlabel, 0, 0, NAN, NAN, NAN, NAN, 0, 0};
    double xmin = INFINITY, xmax = -INFINITY;
    for (int k = 0; k < nx; k++) xmin = fmin(xmin, xs[k]), xmax = fmax(xmax, xs[k]);
    f.logx = X->numeric && xmin > 0 && (xmax / xmin >= 20 || is_rate(X)); /* a rate: log from a decade (plot_lines) */
    f.intx = !X->numeric; /* a categorical x: its values' places 0, 1, ... */
    for (int b = 0; b < nb && b < 8; b++) {
        snprintf(raw, sizeof raw, "%s = %.100s", BY ? BY->name : key, BY ? BY->text[b] : "");
        plot_text(by_t[b], 200, raw);
    }
    if (v->heat) {
        /* evenly spaced values at their places; others at their indices, named in the label */
        double *ys = malloc((size_t)nb * sizeof *ys), bx[2], by[2];
        int e = !ys;
        for (int k = 0; !e && k < nb; k++) ys[k] = BY->values[k]->valuedouble;
        if (!e) {
            place(X, xs, nx, raw, sizeof raw, bx);
            plot_text(xl, sizeof xl, raw);
            place(BY, ys, nb, raw, sizeof raw, by);
            plot_text(yl, sizeof yl, raw);
            f.logx = 0, f.ylabel = yl;
            e = plot_heatmap(&f, mean, nx, nb, bx[0], bx[1], by[0], by[1], rlabel) ? 1 : 0;
        }
        free(ys);
        return e;
    }
    pl_series s[10];
    int ns = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int b = 0; b < nb && ns < 8; b++) {
        s[ns] = (pl_series){BY ? by_t[ns] : NULL, xs, mean + (size_t)b * nx, nx, PL_LINE_POINTS, -1};
        for (int k = 0; k < nx; k++)
            if (isfinite(mean[(size_t)b * nx + k])) ymin = fmin(ymin, mean[(size_t)b * nx + k]), ymax = fmax(ymax, mean[(size_t)b * nx + k]);
        ns++;
    }
    f.logy = ymin > 0 && ymax / ymin > 100;
    /* the edge of chaos: lambda = 0 */
    double zx[2] = {xs[0], xs[nx - 1]}, zy[2] = {0, 0}, bl = NAN, by2[2];
    if (strncmp(key, "lambda", 6) == 0 && ymin < 0 && ymax > 0 && X->numeric)
        s[ns++] = (pl_series){"λ = 0: the edge of chaos", zx, zy, 2, PL_LINE, 7};
    /* a loss against the task's memoryless baseline, when every point has the same (issue 28) */
    size_t kl = strlen(key);
    for (int i = 0; kl >= 4 && strcmp(key + kl - 4, "loss") == 0 && i < v->d.n; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(v->d.res[i], "baseline");
        double x = cJSON_IsNumber(b) ? b->valuedouble : NAN;
        bl = i == 0 ? x : bl == x ? bl : NAN;
    }
    if (isfinite(bl) && X->numeric) {
        by2[0] = by2[1] = bl;
        s[ns++] = (pl_series){"the task's baseline (memoryless)", zx, by2, 2, PL_LINE, 7};
    }
    return plot_lines(&f, s, ns) ? 1 : 0;
}

/* Every finished point as a row of an HTML table (escaped), into tab. */
static void points_table(const view *v, const char *ekey, sbuf *tab)
{
    sb_add(tab, "<table><tr><th>point</th><th>options</th><th>%s</th></tr>", ekey);
    for (int i = 0; !tab->bad && i < v->d.n; i++) {
        sbuf o = {0};
        char val[256];
        for (const cJSON *it = v->d.opts[i]->child; it; it = it->next) {
            sweep_value_text(it, val, sizeof val);
            sb_add(&o, "%s%s=%s", o.n ? " " : "", it->string, val);
        }
        char *esc = o.bad ? NULL : html_escape(o.b ? o.b : "");
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(v->d.res[i], v->key);
        if (!esc) tab->bad = 1;
        else sb_add(tab, "<tr><td>%d</td><td>%s</td><td>%.6g</td></tr>", i + 1, esc, cJSON_IsNumber(rv) ? rv->valuedouble : NAN);
        free(esc), free(o.b);
    }
    sb_add(tab, "</table>");
}

/* DIR/report.html with the figure, its CSV and the points' table: 0, or 1. */
static int write_report(const view *v)
{
    const cli_ctx *c = v->c;
    const sweep_axis *X = v->X, *BY = v->BY;
    char *edir = html_escape(v->dir), *ecmd = html_escape(v->d.command), *ekey = html_escape(v->key),
         *ex = html_escape(X->name), *eby = html_escape(BY ? BY->name : ""), *intro = NULL, *ck = NULL;
    if (edir && ecmd && ekey && ex && eby) {
        size_t ni = strlen(edir) + strlen(ecmd) + 400, nc = strlen(ekey) + strlen(ex) + strlen(eby) + 300;
        if ((intro = malloc(ni)))
            snprintf(intro, ni,
                     "<p>Sweep folder <code>%s</code>: %d of %d points of <code>rnnlab %s</code> finished. Each point's "
                     "options and key numbers are a line of results.jsonl; its files are in points/ID/.</p>",
                     edir, v->d.n, v->d.nplanned, ecmd);
        if ((ck = malloc(nc)))
            snprintf(ck, nc, "%s of each point%s, against %s%s%s; a mark is the mean over the seeds%s of that cell.", ekey,
                     BY && !v->heat ? " (a line for each value)" : "", ex, BY ? (v->heat ? " and " : ", by ") : "", eby,
                     v->d.nax > 2 ? " and the other axes" : "");
    }
    report *r = intro && ck ? report_open(v->dir, "Sweep", intro) : NULL;
    int e = !r;
    char by_t[8][200] = {{0}};
    if (!e) e = draw(v, report_path(r, v->png), by_t);
    /* the data behind the figure: x, then a column per line (or heat-map row) */
    const char *names[9];
    const double *cols[9];
    names[0] = X->name, cols[0] = v->xs;
    int ncol = 1;
    for (int b = 0; b < v->nb && ncol < 9; b++) {
        names[ncol] = BY ? by_t[b < 8 ? b : 7] : v->key;
        cols[ncol++] = v->mean + (size_t)b * v->nx;
    }
    if (!e) e = write_csv(report_path(r, v->csvn), names, cols, ncol, v->nx) ? 1 : 0;
    if (!e) report_figure(r, v->png, ck, v->csvn);
    sbuf tab = {0};
    if (!e) points_table(v, ekey, &tab);
    if (tab.bad && !e) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        e = 1;
    }
    if (!e) report_heading(r, "The points", tab.b);
    free(tab.b);
    if (r && e) report_abort(r);
    else if (r && report_close(r) != 0) e = 1;
    if (!e) fprintf(stderr, "rnnlab %s: wrote %s/report.html and %s/%s\n", c->cmd, v->dir, v->dir, v->png);
    free(edir), free(ecmd), free(ekey), free(ex), free(eby), free(intro), free(ck);
    return e;
}

int cli_sweep_report(const cli_ctx *c, const char *dir, const char *result, const char *xname, const char *byname, int json)
{
    view v = {.c = c, .dir = dir, .xi = -1, .bi = -1};
    int e = sweep_load(c, dir, &v.d);
    if (!e && v.d.n == 0) {
        fprintf(stderr, "rnnlab %s: %s: no point of the sweep has finished yet (results.jsonl)\n", c->cmd, dir);
        e = 1;
    }
    if (!e) e = choose(&v, result, xname, byname);
    /* the files written, named from the result's key: a safe name inside the folder */
    report_file_name(v.png, sizeof v.png, "sweep-", v.key ? v.key : "", ".png");
    report_file_name(v.csvn, sizeof v.csvn, "sweep-", v.key ? v.key : "", ".csv");
    const char *outs[3] = {"report.html", v.png, v.csvn};
    char path[1500];
    for (int k = 0; !e && !json && k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, outs[k]);
        e = cli_check_written(c, "out", path);
    }
    if (!e) {
        /* the mean over the points of each (x, by) cell */
        v.mean = calloc((size_t)v.nx * v.nb, sizeof *v.mean), v.cnt = calloc((size_t)v.nx * v.nb, sizeof *v.cnt);
        v.xs = calloc((size_t)v.nx, sizeof *v.xs);
        if (!v.mean || !v.cnt || !v.xs) {
            fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
            e = 1;
        }
    }
    if (!e) sweep_means(&v.d, v.key, v.xi, v.bi, v.mean, v.cnt);
    for (int k = 0; !e && k < v.nx; k++) v.xs[k] = v.X->numeric ? v.X->values[k]->valuedouble : k;
    if (!e) e = json ? print_json(&v) : write_report(&v);
    free(v.mean), free(v.cnt), free(v.xs);
    sweep_data_free(&v.d);
    return e;
}
