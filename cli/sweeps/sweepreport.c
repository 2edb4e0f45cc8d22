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

static cJSON *read_json(const char *path)
{
    FILE *f = cli_fopen_read(path, (size_t)64 << 20);
    if (!f) return NULL;
    char *txt = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&txt, &cap, '\0', f);
    fclose(f);
    cJSON *j = n > 0 ? cJSON_Parse(txt) : NULL;
    free(txt);
    return j;
}

/* An axis of the plan: its name, its values, whether all are numbers. */
typedef struct {
    const char *name, *option; /* option: "--gain" for an axis of one option's values, else the name */
    cJSON *values;
    int n, numeric;
} axis_info;

/* The points' options and results, in the plan's order (the last line of
 * each id; points not finished are left out). */
typedef struct {
    cJSON **opts, **res;
    int n;
} points;

static int load_points(const char *dir, const cJSON *ids, points *pt, cJSON **lines_out)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/results.jsonl", dir);
    int total = cJSON_GetArraySize(ids);
    pt->opts = calloc((size_t)total + 1, sizeof *pt->opts), pt->res = calloc((size_t)total + 1, sizeof *pt->res);
    cJSON *lines = cJSON_CreateArray();
    *lines_out = lines;
    if (!pt->opts || !pt->res || !lines) return -1;
    FILE *f = cli_fopen_read(p, (size_t)1 << 30);
    if (!f) return 0; /* nothing finished yet */
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
        int at = -1;
        for (int i = 0; cJSON_IsString(id) && i < total; i++)
            if (strcmp(cJSON_GetArrayItem(ids, i)->valuestring, id->valuestring) == 0) at = i;
        if (at < 0) {
            cJSON_Delete(j);
            continue;
        }
        cJSON_AddItemToArray(lines, j); /* kept, and owned, by lines */
        pt->opts[at] = cJSON_GetObjectItemCaseSensitive(j, "options");
        pt->res[at] = cJSON_GetObjectItemCaseSensitive(j, "result");
    }
    free(line);
    fclose(f);
    /* compact to the finished points, in the plan's order */
    for (int i = 0; i < total; i++)
        if (pt->res[i] && pt->opts[i]) pt->opts[pt->n] = pt->opts[i], pt->res[pt->n++] = pt->res[i];
    return 0;
}

/* value v of an option, as text, for comparing and labels */
static void value_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsNumber(v)) snprintf(buf, n, "%.10g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, n, "%s", v->valuestring);
    else snprintf(buf, n, "?");
}

static int same_value(const cJSON *a, const cJSON *b)
{
    char x[256], y[256];
    value_text(a, x, sizeof x);
    value_text(b, y, sizeof y);
    return a && b && strcmp(x, y) == 0;
}

static void html_escape(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 7 < n; s++) {
        const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : NULL;
        if (r) k += (size_t)snprintf(out + k, n - k, "%s", r);
        else out[k++] = *s;
    }
    out[k] = '\0';
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
static void place(const axis_info *a, const double *v, int n, char *label, size_t size, double b[2])
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

/* What a sweep's report shows: the plan and the finished points, the axes
 * that vary, the result drawn (key), x and the lines (BY, or NULL), and
 * the mean (nb, nx) and count of the points of each cell at xs (nx). */
typedef struct {
    const cli_ctx *c;
    const char *dir;
    cJSON *plan, *lines;
    const cJSON *cmd, *axes, *ids;
    points pt;
    axis_info ax[16];
    int nax;
    const char *key;
    const axis_info *X, *BY;
    int nx, nb, heat;
    double *mean, *cnt, *xs;
    char xl[300], by_t[8][160], png[300], csvn[300], title[400];
} sweep_view;

static void view_free(sweep_view *v)
{
    free(v->mean), free(v->cnt), free(v->xs);
    free(v->pt.opts), free(v->pt.res);
    cJSON_Delete(v->lines), cJSON_Delete(v->plan);
}

/* The plan and the finished points: 0, or 1 after a line. */
static int view_load(sweep_view *v)
{
    const cli_ctx *c = v->c;
    char p[1300];
    snprintf(p, sizeof p, "%s/sweep.json", v->dir);
    v->plan = read_json(p);
    if (!v->plan) {
        fprintf(stderr, "rnnlab %s: %s: cannot read the sweep's plan\n", c->cmd, p);
        return 1;
    }
    v->cmd = cJSON_GetObjectItemCaseSensitive(v->plan, "command"), v->axes = cJSON_GetObjectItemCaseSensitive(v->plan, "axes");
    v->ids = cJSON_GetObjectItemCaseSensitive(v->plan, "points");
    if (!cJSON_IsString(v->cmd) || !cJSON_IsArray(v->axes) || !cJSON_IsArray(v->ids)) {
        fprintf(stderr, "rnnlab %s: %s: not a sweep's plan (rnnlab sweep writes it)\n", c->cmd, p);
        return 1;
    }
    if (load_points(v->dir, v->ids, &v->pt, &v->lines)) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        return 1;
    }
    if (v->pt.n == 0) {
        fprintf(stderr, "rnnlab %s: %s: no point of the sweep has finished yet (results.jsonl)\n", c->cmd, v->dir);
        return 1;
    }
    /* the axes that vary */
    for (const cJSON *a = v->axes->child; a && v->nax < 16; a = a->next) {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name"), *vals = cJSON_GetObjectItemCaseSensitive(a, "values");
        if (!cJSON_IsString(name) || !cJSON_IsArray(vals) || cJSON_GetArraySize(vals) < 2) continue;
        axis_info *x = &v->ax[v->nax++];
        cJSON *opt = cJSON_GetObjectItemCaseSensitive(a, "option");
        x->name = name->valuestring, x->values = vals, x->n = cJSON_GetArraySize(vals), x->numeric = 1;
        x->option = cJSON_IsString(opt) ? opt->valuestring : x->name;
        for (const cJSON *w = vals->child; w; w = w->next) x->numeric &= cJSON_IsNumber(w);
    }
    return 0;
}

/* The result (--result, or the first number a point gives), x (--x, or the
 * first numeric axis, or the first) and the lines (--by, or the next axis):
 * 0, or the exit code after a line. */
static int view_choose(sweep_view *v, const char *result, const char *xname, const char *byname)
{
    const cli_ctx *c = v->c;
    const cJSON *res0 = v->pt.res[0];
    const char *key = result;
    for (const cJSON *it = res0->child; !key && it; it = it->next)
        if (cJSON_IsNumber(it)) key = it->string;
    if (!key || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(res0, key))) {
        char have[600] = "";
        for (const cJSON *it = res0->child; it; it = it->next)
            if (cJSON_IsNumber(it)) snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "", it->string);
        return cli_usage_error(c, "--result %s: the points' results are %s", key ? key : "?", have);
    }
    v->key = key;
    int xi = -1, bi = -1;
    for (int k = 0; k < v->nax; k++) {
        if (xname && strcmp(v->ax[k].name, xname) == 0) xi = k;
        if (byname && strcmp(v->ax[k].name, byname) == 0) bi = k;
    }
    if (xi >= 0 && xi == bi) return cli_usage_error(c, "--x and --by name the same axis");
    if (xname && xi < 0) return cli_usage_error(c, "--x %s is not an axis of the sweep with two values or more", xname);
    if (byname && bi < 0) return cli_usage_error(c, "--by %s is not an axis of the sweep with two values or more", byname);
    if (v->nax == 0) {
        fprintf(stderr, "rnnlab %s: %s: no option of the sweep takes two values: nothing to draw against\n", c->cmd, v->dir);
        return 1;
    }
    for (int k = 0; xi < 0 && k < v->nax; k++)
        if (v->ax[k].numeric && k != bi) xi = k;
    for (int k = 0; xi < 0 && k < v->nax; k++)
        if (k != bi) xi = k;
    for (int k = 0; bi < 0 && k < v->nax; k++)
        if (k != xi) bi = k;
    if (xi < 0) return cli_usage_error(c, "--by %s leaves no axis for --x", byname ? byname : "?");
    v->X = &v->ax[xi], v->BY = bi >= 0 ? &v->ax[bi] : NULL;
    v->nx = v->X->n, v->nb = v->BY ? v->BY->n : 1;
    return 0;
}

/* The mean over the points of each (x, by) cell, x's places, and the
 * figure's words: 0, or 1 after a line. */
static int view_means(sweep_view *v)
{
    const axis_info *X = v->X, *BY = v->BY;
    const int nx = v->nx, nb = v->nb;
    v->mean = calloc((size_t)nx * nb, sizeof *v->mean), v->cnt = calloc((size_t)nx * nb, sizeof *v->cnt);
    v->xs = calloc((size_t)nx, sizeof *v->xs);
    if (!v->mean || !v->cnt || !v->xs) {
        fprintf(stderr, "rnnlab %s: out of memory\n", v->c->cmd);
        return 1;
    }
    for (int i = 0; i < v->pt.n; i++) {
        const cJSON *o = v->pt.opts[i];
        int ix = -1, ib = BY ? -1 : 0;
        for (int k = 0; k < nx; k++)
            if (same_value(cJSON_GetObjectItemCaseSensitive(o, X->name), cJSON_GetArrayItem(X->values, k))) ix = k;
        for (int k = 0; BY && k < nb; k++)
            if (same_value(cJSON_GetObjectItemCaseSensitive(o, BY->name), cJSON_GetArrayItem(BY->values, k))) ib = k;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(v->pt.res[i], v->key);
        if (ix < 0 || ib < 0 || !cJSON_IsNumber(r) || !isfinite(r->valuedouble)) continue;
        v->mean[(size_t)ib * nx + ix] += r->valuedouble, v->cnt[(size_t)ib * nx + ix] += 1;
    }
    for (int k = 0; k < nx * nb; k++) v->mean[k] = v->cnt[k] > 0 ? v->mean[k] / v->cnt[k] : NAN;
    for (int k = 0; k < nx; k++) v->xs[k] = X->numeric ? cJSON_GetArrayItem(X->values, k)->valuedouble : k;
    v->heat = BY && X->numeric && BY->numeric;
    snprintf(v->xl, sizeof v->xl, "%s", X->option);
    if (!X->numeric) { /* a categorical x: its values' positions, named in the label */
        size_t at = (size_t)snprintf(v->xl, sizeof v->xl, "%s:", X->name);
        for (int k = 0; k < nx && at < sizeof v->xl; k++) {
            char w[64];
            value_text(cJSON_GetArrayItem(X->values, k), w, sizeof w);
            at += (size_t)snprintf(v->xl + at, sizeof v->xl - at, " %d %s", k, w);
        }
    }
    for (int b = 0; b < nb && b < 8; b++) { /* the lines' (and the CSV's columns') names */
        char w[120] = "";
        if (BY) value_text(cJSON_GetArrayItem(BY->values, b), w, sizeof w);
        snprintf(v->by_t[b], sizeof v->by_t[b], "%s = %s", BY ? BY->name : v->key, w);
    }
    snprintf(v->png, sizeof v->png, "sweep-%s.png", v->key);
    snprintf(v->csvn, sizeof v->csvn, "sweep-%s.csv", v->key);
    snprintf(v->title, sizeof v->title, "%s: %s against %s%s%s", v->cmd->valuestring, v->key, X->name,
             BY ? (v->heat ? " and " : ", by ") : "", BY ? BY->name : "");
    return 0;
}

/* The numbers behind the figure as one JSON object on stdout. */
static void view_json(const sweep_view *v)
{
    const axis_info *X = v->X, *BY = v->BY;
    const int nx = v->nx;
    cJSON *o = cJSON_CreateObject(), *ser = cJSON_AddArrayToObject(o, "series");
    cJSON_AddStringToObject(o, "result", v->key);
    cJSON_AddStringToObject(o, "x", X->name);
    if (BY) cJSON_AddStringToObject(o, "by", BY->name);
    cJSON_AddNumberToObject(o, "points", v->pt.n);
    cJSON_AddNumberToObject(o, "planned", cJSON_GetArraySize(v->ids));
    for (int b = 0; b < v->nb; b++) {
        cJSON *s = cJSON_CreateObject(), *xv = cJSON_AddArrayToObject(s, "x"), *mv = cJSON_AddArrayToObject(s, "mean");
        cJSON *nv = cJSON_AddArrayToObject(s, "n");
        if (BY) cJSON_AddItemToObject(s, "by", cJSON_Duplicate(cJSON_GetArrayItem(BY->values, b), 1));
        for (int k = 0; k < nx; k++) {
            const double m = v->mean[(size_t)b * nx + k];
            cJSON_AddItemToArray(xv, cJSON_Duplicate(cJSON_GetArrayItem(X->values, k), 1));
            cJSON_AddItemToArray(mv, isfinite(m) ? cJSON_CreateNumber(m) : cJSON_CreateNull());
            cJSON_AddItemToArray(nv, cJSON_CreateNumber(v->cnt[(size_t)b * nx + k]));
        }
        cJSON_AddItemToArray(ser, s);
    }
    char *txt = cJSON_PrintUnformatted(o);
    if (txt) puts(txt);
    free(txt);
    cJSON_Delete(o);
}

/* The figure (a heat map over two numeric axes, else a line for each value
 * of BY) into the report r: 0, or 1. */
static int view_figure(sweep_view *v, report *r)
{
    const axis_info *X = v->X, *BY = v->BY;
    const int nx = v->nx, nb = v->nb;
    const double *xs = v->xs, *mean = v->mean;
    int e = 0;
    pl_figure f = {report_path(r, v->png), v->title, v->xl, result_label(v->key), 0, 0, NAN, NAN, NAN, NAN, 0, 0};
    double xmin = INFINITY, xmax = -INFINITY;
    for (int k = 0; k < nx; k++) xmin = fmin(xmin, xs[k]), xmax = fmax(xmax, xs[k]);
    f.logx = X->numeric && xmin > 0 && xmax / xmin >= 20;
    f.intx = !X->numeric; /* a categorical x: its values' places 0, 1, ... */
    if (v->heat) {
        /* evenly spaced values at their places; others at their indices, named in the label */
        double *ys = malloc((size_t)nb * sizeof *ys);
        char yl[300];
        double bx[2], by[2];
        e = !ys;
        for (int k = 0; !e && k < nb; k++) ys[k] = cJSON_GetArrayItem(BY->values, k)->valuedouble;
        if (!e) {
            place(X, xs, nx, v->xl, sizeof v->xl, bx);
            place(BY, ys, nb, yl, sizeof yl, by);
            f.logx = 0, f.ylabel = yl;
            e = plot_heatmap(&f, mean, nx, nb, bx[0], bx[1], by[0], by[1], result_label(v->key)) ? 1 : 0;
        }
        free(ys);
        return e;
    }
    pl_series s[10];
    int ns = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int b = 0; b < nb && ns < 8; b++) {
        char w[120];
        if (BY) value_text(cJSON_GetArrayItem(BY->values, b), w, sizeof w);
        snprintf(v->by_t[ns], sizeof v->by_t[ns], "%s = %s", BY ? BY->name : v->key, BY ? w : "");
        s[ns] = (pl_series){BY ? v->by_t[ns] : NULL, xs, mean + (size_t)b * nx, nx, PL_LINE_POINTS, -1};
        for (int k = 0; k < nx; k++)
            if (isfinite(mean[(size_t)b * nx + k])) ymin = fmin(ymin, mean[(size_t)b * nx + k]), ymax = fmax(ymax, mean[(size_t)b * nx + k]);
        ns++;
    }
    f.logy = ymin > 0 && ymax / ymin > 100;
    /* the edge of chaos: lambda = 0 */
    double zx[2] = {xs[0], xs[nx - 1]}, zy[2] = {0, 0};
    if (strncmp(v->key, "lambda", 6) == 0 && ymin < 0 && ymax > 0 && X->numeric)
        s[ns++] = (pl_series){"λ = 0: the edge of chaos", zx, zy, 2, PL_LINE, 7};
    return plot_lines(&f, s, ns) ? 1 : 0;
}

/* Every finished point as a row of the report's table. */
static void view_table(const sweep_view *v, report *r)
{
    size_t cap = 65536, at = 0;
    char *tab = malloc(cap);
    if (!tab) return;
    at += (size_t)snprintf(tab + at, cap - at, "<table><tr><th>point</th><th>options</th><th>%s</th></tr>", v->key);
    for (int i = 0; i < v->pt.n && at + 2048 < cap; i++) {
        char o[1024] = "", w[128], esc[2048];
        for (const cJSON *it = v->pt.opts[i]->child; it; it = it->next) {
            value_text(it, w, sizeof w);
            snprintf(o + strlen(o), sizeof o - strlen(o), "%s%s=%s", o[0] ? " " : "", it->string, w);
        }
        html_escape(o, esc, sizeof esc);
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(v->pt.res[i], v->key);
        at += (size_t)snprintf(tab + at, cap - at, "<tr><td>%d</td><td>%s</td><td>%.6g</td></tr>", i + 1, esc,
                               cJSON_IsNumber(rv) ? rv->valuedouble : NAN);
    }
    snprintf(tab + at, cap - at, "</table>");
    report_heading(r, "The points", tab);
    free(tab);
}

/* DIR/report.html: the figure, its data as CSV, the points. 0, or 1. */
static int view_page(sweep_view *v)
{
    const axis_info *X = v->X, *BY = v->BY;
    char intro[1024], ck[400];
    snprintf(intro, sizeof intro,
             "<p>Sweep folder <code>%s</code>: %d of %d points of <code>rnnlab %s</code> finished. Each point's options and "
             "key numbers are a line of results.jsonl; its files are in points/ID/.</p>",
             v->dir, v->pt.n, cJSON_GetArraySize(v->ids), v->cmd->valuestring);
    report *r = report_open(v->dir, "Sweep", intro);
    if (!r) return 1;
    int e = view_figure(v, r);
    /* the data behind the figure: x, then a column per line (or heat-map row) */
    const char *names[9];
    const double *cols[9];
    names[0] = X->name, cols[0] = v->xs;
    int ncol = 1;
    for (int b = 0; b < v->nb && ncol < 9; b++) {
        names[ncol] = BY ? v->by_t[b < 8 ? b : 7] : v->key;
        cols[ncol++] = v->mean + (size_t)b * v->nx;
    }
    if (!e) e = write_csv(report_path(r, v->csvn), names, cols, ncol, v->nx) ? 1 : 0;
    snprintf(ck, sizeof ck, "%s of each point%s, against %s%s%s; a mark is the mean over the seeds%s of that cell.", v->key,
             BY && !v->heat ? " (a line for each value)" : "", X->name, BY ? (v->heat ? " and " : ", by ") : "",
             BY ? BY->name : "", v->nax > 2 ? " and the other axes" : "");
    if (!e) report_figure(r, v->png, ck, v->csvn);
    view_table(v, r);
    if (report_close(r) != 0) e = 1;
    if (!e) fprintf(stderr, "rnnlab %s: wrote %s/report.html and %s/%s\n", v->c->cmd, v->dir, v->dir, v->png);
    return e;
}

int cli_sweep_report(const cli_ctx *c, const char *dir, const char *result, const char *xname, const char *byname, int json)
{
    sweep_view v = {.c = c, .dir = dir};
    int e = view_load(&v);
    if (!e) e = view_choose(&v, result, xname, byname);
    if (!e) e = view_means(&v);
    if (!e && json) view_json(&v);
    else if (!e) e = view_page(&v);
    view_free(&v);
    return e;
}
