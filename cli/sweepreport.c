/* rnnlab report on a sweep's folder (cli/sweep.h): a result against one
 * swept option, a line for each value of another (the mean over the seeds
 * and any further axes), or a heat map over two numeric options; the points
 * as a table; DIR/report.html around them. */
#include "sweep.h"

#include "plot.h"
#include "report.h"

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

/* How the figure names a result: the results' keys of cli/cmd_sweep.c. */
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

int cli_sweep_report(const cli_ctx *c, const char *dir, const char *result, const char *xname, const char *byname, int json)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    cJSON *plan = read_json(p), *lines = NULL;
    if (!plan) {
        fprintf(stderr, "rnnlab %s: %s: cannot read the sweep's plan\n", c->cmd, p);
        return 1;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(plan, "command"), *axes = cJSON_GetObjectItemCaseSensitive(plan, "axes");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(plan, "points");
    points pt = {0};
    int e = 0;
    if (!cJSON_IsString(cmd) || !cJSON_IsArray(axes) || !cJSON_IsArray(ids)) {
        fprintf(stderr, "rnnlab %s: %s: not a sweep's plan (rnnlab sweep writes it)\n", c->cmd, p);
        e = 1;
    }
    if (!e && load_points(dir, ids, &pt, &lines)) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        e = 1;
    }
    if (!e && pt.n == 0) {
        fprintf(stderr, "rnnlab %s: %s: no point of the sweep has finished yet (results.jsonl)\n", c->cmd, dir);
        e = 1;
    }
    /* the axes that vary */
    axis_info ax[16];
    int nax = 0;
    for (const cJSON *a = e ? NULL : axes->child; a && nax < 16; a = a->next) {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name"), *vals = cJSON_GetObjectItemCaseSensitive(a, "values");
        if (!cJSON_IsString(name) || !cJSON_IsArray(vals) || cJSON_GetArraySize(vals) < 2) continue;
        axis_info *x = &ax[nax++];
        cJSON *opt = cJSON_GetObjectItemCaseSensitive(a, "option");
        x->name = name->valuestring, x->values = vals, x->n = cJSON_GetArraySize(vals), x->numeric = 1;
        x->option = cJSON_IsString(opt) ? opt->valuestring : x->name;
        for (const cJSON *v = vals->child; v; v = v->next) x->numeric &= cJSON_IsNumber(v);
    }
    /* the result: --result, or the first number a point gives */
    const char *key = result;
    if (!e && !key)
        for (const cJSON *it = pt.res[0]->child; it && !key; it = it->next)
            if (cJSON_IsNumber(it)) key = it->string;
    if (!e && (!key || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(pt.res[0], key)))) {
        char have[600] = "";
        for (const cJSON *it = pt.res[0]->child; it; it = it->next)
            if (cJSON_IsNumber(it)) snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "", it->string);
        e = cli_usage_error(c, "--result %s: the points' results are %s", key ? key : "?", have);
    }
    /* x: --x, or the first numeric axis, or the first; lines: --by, or the next axis */
    int xi = -1, bi = -1;
    for (int k = 0; !e && k < nax; k++) {
        if (xname && strcmp(ax[k].name, xname) == 0) xi = k;
        if (byname && strcmp(ax[k].name, byname) == 0) bi = k;
    }
    if (!e && xi >= 0 && xi == bi) e = cli_usage_error(c, "--x and --by name the same axis");
    if (!e && xname && xi < 0) e = cli_usage_error(c, "--x %s is not an axis of the sweep with two values or more", xname);
    if (!e && byname && bi < 0) e = cli_usage_error(c, "--by %s is not an axis of the sweep with two values or more", byname);
    if (!e && nax == 0) {
        fprintf(stderr, "rnnlab %s: %s: no option of the sweep takes two values: nothing to draw against\n", c->cmd, dir);
        e = 1;
    }
    for (int k = 0; !e && xi < 0 && k < nax; k++)
        if (ax[k].numeric && k != bi) xi = k;
    for (int k = 0; !e && xi < 0 && k < nax; k++)
        if (k != bi) xi = k;
    for (int k = 0; !e && bi < 0 && k < nax; k++)
        if (k != xi) bi = k;
    if (!e && xi < 0) e = cli_usage_error(c, "--by %s leaves no axis for --x", byname ? byname : "?");
    if (e) {
        free(pt.opts), free(pt.res);
        cJSON_Delete(lines), cJSON_Delete(plan);
        return e;
    }
    const axis_info *X = &ax[xi], *BY = bi >= 0 ? &ax[bi] : NULL;
    const int nx = X->n, nb = BY ? BY->n : 1;
    /* the mean over the points of each (x, by) cell */
    double *mean = calloc((size_t)nx * nb, sizeof *mean), *cnt = calloc((size_t)nx * nb, sizeof *cnt);
    double *xs = calloc((size_t)nx, sizeof *xs);
    for (int i = 0; mean && cnt && xs && i < pt.n; i++) {
        const cJSON *o = pt.opts[i];
        int ix = -1, ib = BY ? -1 : 0;
        for (int k = 0; k < nx; k++)
            if (same_value(cJSON_GetObjectItemCaseSensitive(o, X->name), cJSON_GetArrayItem(X->values, k))) ix = k;
        for (int k = 0; BY && k < nb; k++)
            if (same_value(cJSON_GetObjectItemCaseSensitive(o, BY->name), cJSON_GetArrayItem(BY->values, k))) ib = k;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(pt.res[i], key);
        if (ix < 0 || ib < 0 || !cJSON_IsNumber(r) || !isfinite(r->valuedouble)) continue;
        mean[(size_t)ib * nx + ix] += r->valuedouble, cnt[(size_t)ib * nx + ix] += 1;
    }
    if (!mean || !cnt || !xs) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        e = 1;
    }
    for (int k = 0; !e && k < nx * nb; k++) mean[k] = cnt[k] > 0 ? mean[k] / cnt[k] : NAN;
    for (int k = 0; !e && k < nx; k++) xs[k] = X->numeric ? cJSON_GetArrayItem(X->values, k)->valuedouble : k;
    const int heat = !e && BY && X->numeric && BY->numeric;
    char xl[300], by_t[8][160], png[300], csvn[300], title[400];
    snprintf(xl, sizeof xl, "%s", X->option);
    if (!X->numeric) { /* a categorical x: its values' positions, named in the label */
        size_t at = (size_t)snprintf(xl, sizeof xl, "%s:", X->name);
        for (int k = 0; k < nx && at < sizeof xl; k++) {
            char v[64];
            value_text(cJSON_GetArrayItem(X->values, k), v, sizeof v);
            at += (size_t)snprintf(xl + at, sizeof xl - at, " %d %s", k, v);
        }
    }
    snprintf(png, sizeof png, "sweep-%s.png", key);
    snprintf(csvn, sizeof csvn, "sweep-%s.csv", key);
    snprintf(title, sizeof title, "%s: %s against %s%s%s", cmd->valuestring, key, X->name, BY ? (heat ? " and " : ", by ") : "",
             BY ? BY->name : "");
    if (!e && json) { /* the numbers behind the figure */
        cJSON *o = cJSON_CreateObject(), *ser = cJSON_AddArrayToObject(o, "series");
        cJSON_AddStringToObject(o, "result", key);
        cJSON_AddStringToObject(o, "x", X->name);
        if (BY) cJSON_AddStringToObject(o, "by", BY->name);
        cJSON_AddNumberToObject(o, "points", pt.n);
        cJSON_AddNumberToObject(o, "planned", cJSON_GetArraySize(ids));
        for (int b = 0; b < nb; b++) {
            cJSON *s = cJSON_CreateObject(), *xv = cJSON_AddArrayToObject(s, "x"), *mv = cJSON_AddArrayToObject(s, "mean");
            cJSON *nv = cJSON_AddArrayToObject(s, "n");
            if (BY) cJSON_AddItemToObject(s, "by", cJSON_Duplicate(cJSON_GetArrayItem(BY->values, b), 1));
            for (int k = 0; k < nx; k++) {
                cJSON_AddItemToArray(xv, cJSON_Duplicate(cJSON_GetArrayItem(X->values, k), 1));
                cJSON_AddItemToArray(mv, isfinite(mean[(size_t)b * nx + k]) ? cJSON_CreateNumber(mean[(size_t)b * nx + k]) : cJSON_CreateNull());
                cJSON_AddItemToArray(nv, cJSON_CreateNumber(cnt[(size_t)b * nx + k]));
            }
            cJSON_AddItemToArray(ser, s);
        }
        char *txt = cJSON_PrintUnformatted(o);
        if (txt) puts(txt);
        free(txt);
        cJSON_Delete(o);
    } else if (!e) {
        char intro[1024], ck[400];
        snprintf(intro, sizeof intro,
                 "<p>Sweep folder <code>%s</code>: %d of %d points of <code>rnnlab %s</code> finished. Each point's options and "
                 "key numbers are a line of results.jsonl; its files are in points/ID/.</p>",
                 dir, pt.n, cJSON_GetArraySize(ids), cmd->valuestring);
        report *r = report_open(dir, "Sweep", intro);
        if (!r) e = 1;
        pl_figure f = {r ? report_path(r, png) : png, title, xl, result_label(key), 0, 0, NAN, NAN, NAN, NAN, 0, 0};
        double xmin = INFINITY, xmax = -INFINITY;
        for (int k = 0; k < nx; k++) xmin = fmin(xmin, xs[k]), xmax = fmax(xmax, xs[k]);
        f.logx = X->numeric && xmin > 0 && xmax / xmin >= 20;
        f.intx = !X->numeric; /* a categorical x: its values' places 0, 1, ... */
        if (!e && heat) {
            /* evenly spaced values at their places; others at their indices, named in the label */
            double *ys = malloc((size_t)nb * sizeof *ys);
            char yl[300];
            double bx[2], by[2];
            e = !ys;
            for (int k = 0; !e && k < nb; k++) ys[k] = cJSON_GetArrayItem(BY->values, k)->valuedouble;
            if (!e) {
                place(X, xs, nx, xl, sizeof xl, bx);
                place(BY, ys, nb, yl, sizeof yl, by);
                f.logx = 0, f.ylabel = yl;
                e = plot_heatmap(&f, mean, nx, nb, bx[0], bx[1], by[0], by[1], result_label(key)) ? 1 : 0;
            }
            free(ys);
        } else if (!e) {
            pl_series s[10];
            int ns = 0;
            double ymin = INFINITY, ymax = -INFINITY;
            for (int b = 0; b < nb && ns < 8; b++) {
                char v[120];
                if (BY) value_text(cJSON_GetArrayItem(BY->values, b), v, sizeof v);
                snprintf(by_t[ns], sizeof by_t[ns], "%s = %s", BY ? BY->name : key, BY ? v : "");
                s[ns] = (pl_series){BY ? by_t[ns] : NULL, xs, mean + (size_t)b * nx, nx, PL_LINE_POINTS, -1};
                for (int k = 0; k < nx; k++)
                    if (isfinite(mean[(size_t)b * nx + k])) ymin = fmin(ymin, mean[(size_t)b * nx + k]), ymax = fmax(ymax, mean[(size_t)b * nx + k]);
                ns++;
            }
            f.logy = ymin > 0 && ymax / ymin > 100;
            /* the edge of chaos: lambda = 0 */
            double zx[2] = {xs[0], xs[nx - 1]}, zy[2] = {0, 0};
            if (strncmp(key, "lambda", 6) == 0 && ymin < 0 && ymax > 0 && X->numeric)
                s[ns++] = (pl_series){"λ = 0: the edge of chaos", zx, zy, 2, PL_LINE, 7};
            e = plot_lines(&f, s, ns) ? 1 : 0;
        }
        /* the data behind the figure: x, then a column per line (or heat-map row) */
        const char *names[9];
        const double *cols[9];
        names[0] = X->name, cols[0] = xs;
        int ncol = 1;
        for (int b = 0; b < nb && ncol < 9; b++) {
            names[ncol] = BY ? by_t[b < 8 ? b : 7] : key;
            cols[ncol++] = mean + (size_t)b * nx;
        }
        if (!e && r) e = write_csv(report_path(r, csvn), names, cols, ncol, nx) ? 1 : 0;
        snprintf(ck, sizeof ck,
                 "%s of each point%s, against %s%s%s; a mark is the mean over the seeds%s of that cell.", key,
                 BY && !heat ? " (a line for each value)" : "", X->name, BY ? (heat ? " and " : ", by ") : "", BY ? BY->name : "",
                 nax > 2 ? " and the other axes" : "");
        if (r && !e) report_figure(r, png, ck, csvn);
        /* every finished point as a row */
        size_t cap = 65536, at = 0;
        char *tab = malloc(cap);
        if (r && tab) {
            at += (size_t)snprintf(tab + at, cap - at, "<table><tr><th>point</th><th>options</th><th>%s</th></tr>", key);
            for (int i = 0; i < pt.n && at + 2048 < cap; i++) {
                char o[1024] = "", v[128], esc[2048];
                for (const cJSON *it = pt.opts[i]->child; it; it = it->next) {
                    value_text(it, v, sizeof v);
                    snprintf(o + strlen(o), sizeof o - strlen(o), "%s%s=%s", o[0] ? " " : "", it->string, v);
                }
                html_escape(o, esc, sizeof esc);
                const cJSON *rv = cJSON_GetObjectItemCaseSensitive(pt.res[i], key);
                at += (size_t)snprintf(tab + at, cap - at, "<tr><td>%d</td><td>%s</td><td>%.6g</td></tr>", i + 1, esc,
                                       cJSON_IsNumber(rv) ? rv->valuedouble : NAN);
            }
            snprintf(tab + at, cap - at, "</table>");
            report_heading(r, "The points", tab);
        }
        free(tab);
        if (r && report_close(r) != 0) e = 1;
        if (!e) fprintf(stderr, "rnnlab %s: wrote %s/report.html and %s/%s\n", c->cmd, dir, dir, png);
    }
    free(mean), free(cnt), free(xs);
    free(pt.opts), free(pt.res);
    cJSON_Delete(lines), cJSON_Delete(plan);
    return e;
}
