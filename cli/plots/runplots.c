/* Figures of a training run folder: see runplots.h. */
#include "plots/runplots.h"

#include "plots/plot.h"

#include "cli.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Call fn on each line of dir/file parsed as JSON (lines that are not JSON
 * are passed over); fn returns nonzero to stop. -1 if the file cannot be read. */
static int each_record(const char *dir, const char *file, int (*fn)(const cJSON *, void *), void *ctx)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = cli_fopen_member(p); /* a regular file only: a FIFO or a device in a run folder is refused */
    struct stat sb;
    if (!f) return -1;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size > (off_t)1 << 32) {
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int stop = 0;
    while (!stop && getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        if (j) stop = fn(j, ctx);
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return 0;
}

/* Growing arrays of (step, values) records, width values each. */
typedef struct {
    const char *key;
    int width; /* -1: not known yet (flow arrays) */
    int n, cap;
    double *steps, *vals;
} series;

static int grow(series *s, int width)
{
    if (s->n < s->cap) return 0;
    int cap = s->cap ? 2 * s->cap : 64;
    double *a = realloc(s->steps, (size_t)cap * 8);
    if (a) s->steps = a;
    double *b = a ? realloc(s->vals, (size_t)cap * width * 8) : NULL;
    if (!b) return 1;
    s->vals = b, s->cap = cap;
    return 0;
}

static int add_number(const cJSON *j, void *ctx)
{
    series *s = ctx;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step"), *v = cJSON_GetObjectItemCaseSensitive(j, s->key);
    if (!cJSON_IsNumber(st) || !cJSON_IsNumber(v)) return 0;
    if (grow(s, 1)) return 1;
    s->steps[s->n] = st->valuedouble, s->vals[s->n++] = v->valuedouble;
    return 0;
}

static int add_array(const cJSON *j, void *ctx)
{
    series *s = ctx;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step"), *a = cJSON_GetObjectItemCaseSensitive(j, s->key);
    int m = cJSON_GetArraySize(a);
    if (!cJSON_IsNumber(st) || !cJSON_IsArray(a) || m < 2 || (s->width > 0 && m != s->width)) return 0;
    s->width = m;
    if (grow(s, m)) return 1;
    s->steps[s->n] = st->valuedouble;
    /* column k = lag = T - tau; null (the log of an exact zero) becomes -inf, "inf" and "nan" (a run that
     * diverged) NaN: not a number to draw */
    for (int k = 0; k < m; k++) {
        const cJSON *e = cJSON_GetArrayItem(a, m - 1 - k);
        s->vals[(size_t)s->n * m + k] = cJSON_IsNumber(e) ? e->valuedouble : cJSON_IsString(e) ? NAN : -INFINITY;
    }
    s->n++;
    return 0;
}

int read_series(const char *dir, const char *file, const char *key, double **steps, double **vals, int *n)
{
    series s = {key, 1, 0, 0, NULL, NULL};
    int r = each_record(dir, file, add_number, &s);
    *steps = s.steps, *vals = s.vals, *n = s.n;
    return r;
}

int read_flow(const char *dir, const char *key, double **steps, double **z, int *n, int *T)
{
    series s = {key, -1, 0, 0, NULL, NULL};
    int r = each_record(dir, "flow.jsonl", add_array, &s);
    *steps = s.steps, *z = s.vals, *n = s.n, *T = s.width - 1;
    return r;
}

static int find_diverged(const cJSON *j, void *ctx)
{
    run_divergence *d = ctx;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step"), *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "diverged")) || !cJSON_IsNumber(st)) return 0;
    d->step = st->valuedouble;
    snprintf(d->reason, sizeof d->reason, "%s", cJSON_IsString(reason) ? reason->valuestring : "not finite");
    return 1;
}

static int add_change(const cJSON *j, void *ctx)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step"), *ch = cJSON_GetObjectItemCaseSensitive(j, "config_changed");
    if (!cJSON_IsNumber(st) || !cJSON_IsObject(ch)) return 0;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "step", st->valuedouble);
    cJSON_AddItemToObject(e, "changed", cJSON_Duplicate(ch, 1));
    cJSON_AddItemToArray(ctx, e);
    return 0;
}

/* The spectral radius of the top layer's W_hh (the largest over its gate blocks) of a flow record. */
static int add_radius(const cJSON *j, void *ctx)
{
    series *s = ctx;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step"), *w = cJSON_GetObjectItemCaseSensitive(j, "w_hh");
    const cJSON *top = cJSON_GetArrayItem(w, cJSON_GetArraySize(w) - 1), *g;
    double r = -INFINITY;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(top, "radius")) if (cJSON_IsNumber(g)) r = fmax(r, g->valuedouble);
    if (!cJSON_IsNumber(st) || !isfinite(r)) return 0;
    if (grow(s, 1)) return 1;
    s->steps[s->n] = st->valuedouble, s->vals[s->n++] = r;
    return 0;
}

int read_radius(const char *dir, double **steps, double **vals, int *n)
{
    series s = {"w_hh", 1, 0, 0, NULL, NULL};
    int r = each_record(dir, "flow.jsonl", add_radius, &s);
    *steps = s.steps, *vals = s.vals, *n = s.n;
    return r;
}

cJSON *read_config_history(const char *dir)
{
    cJSON *a = cJSON_CreateArray();
    if (a) each_record(dir, "metrics.jsonl", add_change, a);
    return a;
}

int read_divergence(const char *dir, run_divergence *d)
{
    d->step = NAN, d->reason[0] = '\0';
    each_record(dir, "metrics.jsonl", find_diverged, d);
    return !isnan(d->step);
}

/* The divergence as a vertical line over the y range of the series (at
 * most 3), for the loss and gradient-norm figures: x, y two points each. */
static pl_series divergence_line(const run_divergence *d, const pl_series *s, int n, int logy, double x[2], double y[2],
                                 char *label, size_t ln)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++)
            if (isfinite(s[k].y[i]) && (!logy || s[k].y[i] > 0)) lo = fmin(lo, s[k].y[i]), hi = fmax(hi, s[k].y[i]);
    if (!isfinite(lo)) lo = logy ? 0.1 : 0, hi = logy ? 10 : 1; /* nothing finite before it */
    if (lo == hi) lo = logy || lo > 0 ? lo / 10 : lo - 1, hi = logy || hi > 0 ? hi * 10 : hi + 1; /* one value: a line all the same */
    x[0] = x[1] = d->step, y[0] = lo, y[1] = hi;
    snprintf(label, ln, "diverged at step %.0f", d->step);
    return (pl_series){label, x, y, 2, PL_LINE_POINTS, 5}; /* points: a margin, so that it is not on the frame */
}

/* A run with one flow record (one that stopped before its second): that
 * record against the lag, a line, rather than no figure. 0 on success. */
static int one_flow_record(report *r, double step, const double *z, int T, const char *tag, const char *label)
{
    char png[256], csv[256], cap[1024];
    double *k = malloc((size_t)(T + 1) * sizeof *k), *y = malloc((size_t)(T + 1) * sizeof *y);
    int bad = !k || !y, zeros = 0;
    for (int i = 0; !bad && i <= T; i++) k[i] = i, y[i] = z[i] / log(10.0), zeros += z[i] == -INFINITY;
    if (!bad) {
        snprintf(png, sizeof png, "%s-flow.png", tag);
        snprintf(csv, sizeof csv, "%s-flow.csv", tag);
        pl_series s = {"the one record", k, y, T + 1, PL_LINE, 0};
        pl_figure f = {.path = report_path(r, png), .title = label, .xlabel = "lag T #[0x2212] #[0x03c4]",
                       .ylabel = "log#d10#u #[0x2016]#[0x2202]L/#[0x2202]h#d#[0x03c4]#u#[0x2016]", .xmin = NAN, .xmax = NAN,
                       .ymin = NAN, .ymax = NAN, .intx = 1};
        bad |= plot_lines(&f, &s, 1);
        const char *names[2] = {"lag", "ln_grad"};
        const double *cols[2] = {k, z};
        bad |= write_csv(report_path(r, csv), names, cols, 2, T + 1);
        snprintf(cap, sizeof cap,
                 "%s: how the gradient flows back through time in the run's only gradient-flow record (step %.0f): "
                 "log<sub>10</sub> &#8214;&#8706;L/&#8706;h<sub>&#964;</sub>&#8214; against the lag T &#8722; &#964; "
                 "on a fixed validation sequence (a heatmap over training needs two records)%s. The CSV has the natural "
                 "logs.",
                 label, step, zeros ? "; an exact zero (ln = &#8722;&#8734;) cannot be drawn and is left out" : "");
        report_figure(r, png, cap, csv);
    }
    free(k), free(y);
    return bad ? -1 : 0;
}

int run_flow_figure(report *r, const char *run_dir, const char *tag, const char *label)
{
    char png[256], csv[256], cap[1400];
    double *fs = NULL, *z = NULL;
    int nf = 0, T = 0, bad = 0;
    run_divergence div;
    read_divergence(run_dir, &div);
    read_flow(run_dir, "lag_log_grad", &fs, &z, &nf, &T);
    if (nf > 1 && T > 0) {
        double *zt = malloc((size_t)nf * (T + 1) * 8);
        long zeros = 0, blank = 0;
        if (zt) {
            /* rows: lags 0..T, columns: records; base-10 logs for reading (NaN: not finite, left blank) */
            for (int i = 0; i < nf; i++)
                for (int k = 0; k <= T; k++) {
                    zt[(size_t)k * nf + i] = z[(size_t)i * (T + 1) + k] / log(10.0);
                    zeros += z[(size_t)i * (T + 1) + k] == -INFINITY;
                    blank += isnan(z[(size_t)i * (T + 1) + k]);
                }
            snprintf(png, sizeof png, "%s-flow.png", tag);
            snprintf(csv, sizeof csv, "%s-flow.csv", tag);
            pl_figure fh = {.path = report_path(r, png), .title = label, .xlabel = "training step",
                            .ylabel = "lag T #[0x2212] #[0x03c4]", .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN,
                            .intx = 1};
            /* a cell centred on each record's step (records evenly spaced) and on each lag */
            const double half = (fs[nf - 1] - fs[0]) / (2.0 * (nf - 1));
            bad |= plot_heatmap(&fh, zt, nf, T + 1, fs[0] - half, fs[nf - 1] + half, -0.5, T + 0.5,
                                "log#d10#u #[0x2016]#[0x2202]L/#[0x2202]h#d#[0x03c4]#u#[0x2016]");
            /* CSV: one row per record, the step then one column per lag */
            double **cols2 = malloc((size_t)(T + 2) * sizeof *cols2);
            char **nm = calloc((size_t)(T + 2), sizeof *nm);
            double *colbuf = malloc((size_t)nf * (T + 1) * 8);
            if (cols2 && nm && colbuf) {
                nm[0] = strdup("step"), cols2[0] = fs;
                for (int k = 0; k <= T; k++) {
                    char b[32];
                    snprintf(b, sizeof b, "lag%d", k);
                    nm[k + 1] = strdup(b);
                    cols2[k + 1] = colbuf + (size_t)k * nf;
                    for (int i = 0; i < nf; i++) cols2[k + 1][i] = z[(size_t)i * (T + 1) + k];
                }
                int ok = 1;
                for (int k = 0; k < T + 2; k++) ok &= nm[k] != NULL;
                bad |= ok ? write_csv(report_path(r, csv), (const char *const *)nm, (const double *const *)cols2, T + 2, nf)
                          : -1;
                for (int k = 0; k < T + 2; k++) free(nm[k]);
            }
            free(cols2), free(nm), free(colbuf);
            snprintf(cap, sizeof cap,
                     "%s: how the gradient flows back through time while the model trains. Each column is one record "
                     "on a fixed validation sequence; the colour is log<sub>10</sub> &#8214;&#8706;L/&#8706;h<sub>&#964;</sub>&#8214; at lag T &#8722; &#964; "
                     "(eq. 10.21, the top layer). Dark at large lags means the gradient from the loss at the end "
                     "vanishes before it reaches the early steps.%s%s%s The CSV has the natural logs.",
                     label,
                     zeros ? " Hatched grey cells (under the colour bar: exact 0) are gradients that are exactly zero, "
                             "whose log is &#8722;&#8734;: no step of the colour scale, however dark, stands for them."
                           : "",
                     div.reason[0] ? " The last column is the step the run diverged at (the model before its update): "
                                     "the explosion that stopped it." : "",
                     blank ? " Blank cells are not finite (inf or NaN)." : "");
            report_figure(r, png, cap, csv);
        }
        free(zt);
    } else if (nf == 1 && T > 0) {
        bad |= one_flow_record(r, fs[0], z, T, tag, label);
    }
    free(fs), free(z);
    return bad ? -1 : 0;
}

int run_figures(report *r, const char *run_dir, const char *tag, const char *label)
{
    char png[256], csv[256], cap[1400];
    double *st = NULL, *loss = NULL, *vst = NULL, *vloss = NULL, *gst = NULL, *gn = NULL, *mst = NULL, *gm = NULL,
           *bs = NULL, *bl = NULL;
    int n = 0, nv = 0, ng = 0, nm = 0, nb = 0, bad = 0;
    read_series(run_dir, "metrics.jsonl", "loss", &st, &loss, &n);
    read_series(run_dir, "metrics.jsonl", "val_loss", &vst, &vloss, &nv);
    read_series(run_dir, "metrics.jsonl", "grad_norm", &gst, &gn, &ng);
    read_series(run_dir, "metrics.jsonl", "grad_norm_max", &mst, &gm, &nm);
    read_series(run_dir, "metrics.jsonl", "baseline", &bs, &bl, &nb);
    run_divergence div;
    const int diverged = read_divergence(run_dir, &div);
    if (n == 0 && !diverged) {
        fprintf(stderr, "%s: %s/metrics.jsonl holds no training losses\n", cli_prog, run_dir);
        bad = -1;
        goto out;
    }
    pl_series s[4] = {{"training loss", st, loss, n, PL_LINE, 0}, {"validation loss", vst, vloss, nv, PL_LINE_POINTS, 1},
                      {"baseline", bs, bl, nb, PL_LINE, 7}};
    int ns = nb ? 3 : 2;
    double dx[2], dy[2], gx[2], gy[2];
    char dl[64], gl[64], dcap[320] = "";
    if (diverged) { /* a vertical line at the step that diverged */
        s[ns] = divergence_line(&div, s, ns, plot_log_axis(s, ns, 1), dx, dy, dl, sizeof dl);
        ns++;
        char *why = html_escape(div.reason);
        snprintf(dcap, sizeof dcap, " The run diverged at step %.0f (%.200s; the vertical line) and stopped.", div.step,
                 why ? why : "not finite");
        free(why);
    }
    snprintf(png, sizeof png, "%s-loss.png", tag);
    snprintf(csv, sizeof csv, "%s-loss.csv", tag);
    pl_figure f = {.path = report_path(r, png), .title = label, .xlabel = "training step", .ylabel = "loss", .logy = 1,
                   .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN, .intx = 1};
    bad |= plot_lines(&f, s, ns);
    const char *names[4] = {"step", "loss", "grad_norm", "grad_norm_max"};
    const double *cols[4] = {st, loss, gn, gm};
    if (n) bad |= write_csv(report_path(r, csv), names, cols, ng == n ? (nm == n ? 4 : 3) : 2, n);
    snprintf(cap, sizeof cap,
             "%s: the training loss (mean over each logging interval) and the validation loss against the step%s%s.%s",
             label, plot_log_axis(s, nb ? 3 : 2, 1) ? ", on a log scale" : "",
             nb ? ", with the task's memoryless baseline" : "", dcap);
    report_figure(r, png, cap, n ? csv : NULL);
    /* gradient norm before clipping */
    if (ng || diverged) {
        snprintf(png, sizeof png, "%s-gradnorm.png", tag);
        pl_series g[3] = {{"mean over the interval", gst, gn, ng, PL_LINE, 1},
                          {"largest in the interval", mst, gm, nm, PL_LINE, 4}};
        int nsg = nm ? 2 : 1;
        if (diverged) g[nsg] = divergence_line(&div, g, nsg, plot_log_axis(g, nsg, 1), gx, gy, gl, sizeof gl), nsg++;
        pl_figure fg = {.path = report_path(r, png), .title = label, .xlabel = "training step",
                        .ylabel = "#[0x2016]g#[0x2016] before clipping", .logy = 1, .xmin = NAN, .xmax = NAN,
                        .ymin = NAN, .ymax = NAN, .intx = 1};
        bad |= plot_lines(&fg, g, nsg);
        snprintf(cap, sizeof cap,
                 "%s: the global gradient norm before clipping (Pascanu et al., Algorithm 1), the mean and the "
                 "largest over each logging interval%s. Spikes are exploding gradients; clipping rescales any step "
                 "whose norm exceeds the threshold.%s",
                 label, plot_log_axis(g, nm ? 2 : 1, 1) ? ", on a log scale" : "", dcap);
        report_figure(r, png, cap, n ? csv : NULL);
    }
    bad |= run_flow_figure(r, run_dir, tag, label);
out:
    free(st), free(loss), free(vst), free(vloss), free(gst), free(gn), free(mst), free(gm), free(bs), free(bl);
    return bad ? -1 : 0;
}
