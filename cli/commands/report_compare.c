/* rnnlab report A B C --out DIR: several training runs on the same axes
 * (issue 28): the training loss, the gradient norm before clipping, the
 * gradient flow of each run's last record against the lag, and the
 * spectral radius of W_hh over training; with a table of the runs'
 * settings (those that differ first) and results. Each figure's data as
 * CSV beside DIR/report.html. */
#include "cli.h"

#include "plots/plot.h"
#include "plots/report.h"
#include "plots/runplots.h"
#include "sweeps/sweep.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RUNS 8 /* the palette's colours, line styles and markers */

/* One run: its name (the folder's last part, as PLplot text and as HTML),
 * its configuration and summary, and the series drawn. */
typedef struct {
    const char *dir;
    char name[200], *html;
    cJSON *cfg, *sum;
    double *ls, *lv, *gs, *gv, *rs, *rv, *fs, *fz;
    int nl, ng, nr, nf, T;
} run;

/* config.json of a run folder (at most 1 MiB, a regular file), or NULL. */
static cJSON *run_config(const char *dir)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = cli_fopen_member(p);
    if (!f) return NULL;
    char *b = malloc((1 << 20) + 1);
    size_t n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    cJSON *j = NULL;
    if (b) b[n] = '\0', j = cJSON_Parse(b);
    free(b);
    return j;
}

static void run_free(run *r)
{
    free(r->html);
    cJSON_Delete(r->cfg), cJSON_Delete(r->sum);
    free(r->ls), free(r->lv), free(r->gs), free(r->gv), free(r->rs), free(r->rv), free(r->fs), free(r->fz);
}

/* The run at dir: 0, or 1 after one line (not a run folder). */
static int run_load(run *r, const char *dir)
{
    memset(r, 0, sizeof *r);
    r->dir = dir;
    char base[1100];
    snprintf(base, sizeof base, "%s", dir);
    size_t k = strlen(base);
    while (k > 1 && base[k - 1] == '/') base[--k] = '\0';
    const char *slash = strrchr(base, '/');
    plot_text(r->name, sizeof r->name, slash && slash[1] ? slash + 1 : base);
    r->html = html_escape(slash && slash[1] ? slash + 1 : base);
    run_divergence div;
    struct stat sb;
    read_series(dir, "metrics.jsonl", "loss", &r->ls, &r->lv, &r->nl);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || (r->nl == 0 && !read_divergence(dir, &div))) {
        fprintf(stderr, "rnnlab report: %s: %s\n", dir,
                stat(dir, &sb) != 0 ? "no such folder" : "no metrics.jsonl with training losses: not a run folder");
        return 1;
    }
    read_series(dir, "metrics.jsonl", "grad_norm", &r->gs, &r->gv, &r->ng);
    read_radius(dir, &r->rs, &r->rv, &r->nr);
    read_flow(dir, "lag_log_grad", &r->fs, &r->fz, &r->nf, &r->T);
    r->cfg = run_config(dir);
    r->sum = report_run_summary(dir);
    return !r->html || !r->sum;
}

/* One figure of a series per run (x, y, n of each), its CSV (long format:
 * run, x, y) and caption. 0 on success. */
static int overlay(report *rp, run *runs, int n, const char *tag, const char *xlabel, const char *ylabel, int logy,
                   const double *const *x, const double *const *y, const int *len, const char *caption)
{
    pl_series s[MAX_RUNS];
    char png[64], csv[64];
    for (int i = 0; i < n; i++) s[i] = (pl_series){runs[i].name, x[i], y[i], len[i], PL_LINE, i};
    snprintf(png, sizeof png, "compare-%s.png", tag);
    snprintf(csv, sizeof csv, "compare-%s.csv", tag);
    pl_figure f = {.path = report_path(rp, png), .title = ylabel, .xlabel = xlabel, .ylabel = ylabel, .logy = logy,
                   .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN, .intx = 1};
    char title[160];
    snprintf(title, sizeof title, "%d runs", n);
    f.title = title;
    int bad = plot_lines(&f, s, n);
    /* the CSV: a row per point, the run's index (its row in the table) first */
    int total = 0;
    for (int i = 0; i < n; i++) total += len[i];
    double *cols = malloc((size_t)(3 * total + 1) * sizeof *cols);
    if (!cols) return -1;
    int at = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < len[i]; k++) cols[at] = i + 1, cols[total + at] = x[i][k], cols[2 * total + at] = y[i][k], at++;
    const char *names[3] = {"run", "x", "y"};
    const double *c3[3] = {cols, cols + total, cols + 2 * total};
    bad |= write_csv(report_path(rp, csv), names, c3, 3, total);
    free(cols);
    report_figure(rp, png, caption, csv);
    return bad;
}

/* The config keys whose values differ between the runs, as HTML list text. */
static void differing(run *runs, int n, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    const cJSON *kv;
    cJSON_ArrayForEach(kv, runs[0].cfg) {
        int same = 1;
        for (int i = 1; i < n && same; i++) same = cJSON_Compare(kv, cJSON_GetObjectItemCaseSensitive(runs[i].cfg, kv->string), 1);
        char *e = same ? NULL : html_escape(kv->string);
        if (e && at < len) at += (size_t)snprintf(out + at, len - at, "%s<code>%.60s</code>", at ? ", " : "", e);
        free(e);
    }
}

/* A config value as HTML text. */
static void cfg_text(const cJSON *cfg, const char *key, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    char *e = NULL;
    if (cJSON_IsString(v)) e = html_escape(v->valuestring);
    if (e) snprintf(out, n, "%.80s", e);
    else if (cJSON_IsNumber(v)) snprintf(out, n, "%.6g", v->valuedouble);
    else snprintf(out, n, "&#8211;");
    free(e);
}

/* The table of settings and results: a row per run. HTML into buf. */
static void table(run *runs, int n, char *buf, size_t len)
{
    static const char *const keys[] = {"task", "seq_len", "cell", "layers", "hidden", "optim", "lr", "schedule", "clip",
                                       "batch", "init", "seed"};
    static const char *const results[][2] = {{"steps", "steps"}, {"last_loss", "last loss"},
                                              {"best_val_loss", "best val. loss"}, {"accuracy", "val. accuracy"},
                                              {"bpc", "bits/char"}, {"grad_norm_max", "largest &#8214;g&#8214;"},
                                              {"diverged_step", "diverged at"}};
    const size_t nk = sizeof keys / sizeof keys[0], nres = sizeof results / sizeof results[0];
    size_t at = (size_t)snprintf(buf, len, "<table class=\"compare\" style=\"border-collapse:collapse\"><tr><th>#</th><th>run</th>");
#define OUT(...)                                                                                                           \
    do {                                                                                                                   \
        if (at < len) at += (size_t)snprintf(buf + at, len - at, __VA_ARGS__);                                            \
    } while (0)
    for (size_t k = 0; k < nk; k++) OUT("<th>%s</th>", keys[k]);
    for (size_t k = 0; k < nres; k++) OUT("<th>%s</th>", results[k][1]);
    OUT("<th>changed on resume</th></tr>\n");
    for (int i = 0; i < n; i++) {
        OUT("<tr><td>%d</td><td><code>%.200s</code></td>", i + 1, runs[i].html);
        for (size_t k = 0; k < nk; k++) {
            char t[128];
            cfg_text(runs[i].cfg, keys[k], t, sizeof t);
            OUT("<td>%s</td>", t);
        }
        for (size_t k = 0; k < nres; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(runs[i].sum, results[k][0]);
            if (cJSON_IsNumber(v)) OUT("<td>%.5g</td>", v->valuedouble);
            else OUT("<td>&#8211;</td>");
        }
        /* the config history: the settings above are the last; what a resume changed, and when */
        const cJSON *h, *kv;
        OUT("<td>");
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(runs[i].sum, "config_history")) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(h, "step");
            OUT("step %g:", cJSON_IsNumber(st) ? st->valuedouble : 0);
            cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(h, "changed")) {
                char *e = html_escape(kv->string ? kv->string : "");
                if (e) OUT(" %.60s", e);
                free(e);
            }
            OUT("%s", h->next ? "; " : "");
        }
        OUT("</td></tr>\n");
    }
    OUT("</table>\n");
#undef OUT
}

/* The figures of the page. 0 on success. */
static int figures(report *rp, run *runs, int n)
{
    const double *x[MAX_RUNS] = {0}, *y[MAX_RUNS] = {0};
    int len[MAX_RUNS] = {0}, bad = 0;
    double *lag[MAX_RUNS] = {0}, *last[MAX_RUNS] = {0};
    for (int i = 0; i < n; i++) x[i] = runs[i].ls, y[i] = runs[i].lv, len[i] = runs[i].nl;
    bad |= overlay(rp, runs, n, "loss", "training step", "training loss", 1, x, y, len,
                   "The training loss of each run (the mean over each logging interval) against the step.");
    for (int i = 0; i < n; i++) x[i] = runs[i].gs, y[i] = runs[i].gv, len[i] = runs[i].ng;
    bad |= overlay(rp, runs, n, "gradnorm", "training step", "#[0x2016]g#[0x2016] before clipping", 1, x, y, len,
                   "The gradient norm before clipping (the mean over each logging interval) of each run against the step.");
    /* each run's last flow record: ln ||dL/dh|| against the lag (an exact zero, -inf, is left out) */
    for (int i = 0; i < n; i++) {
        const int T = runs[i].nf > 0 ? runs[i].T : -1;
        lag[i] = malloc((size_t)(T + 2) * sizeof(double)), last[i] = malloc((size_t)(T + 2) * sizeof(double));
        for (int k = 0; lag[i] && last[i] && k <= T; k++)
            lag[i][k] = k, last[i][k] = runs[i].fz[(size_t)(runs[i].nf - 1) * (T + 1) + k];
        x[i] = lag[i], y[i] = last[i], len[i] = lag[i] && last[i] ? T + 1 : 0;
    }
    bad |= overlay(rp, runs, n, "flow", "lag T #[0x2212] #[0x03c4]", "ln #[0x2016]#[0x2202]L/#[0x2202]h#d#[0x03c4]#u#[0x2016]", 0,
                   x, y, len,
                   "How the gradient flows back through time at the end of each run: ln &#8214;&#8706;L/&#8706;h<sub>&#964;</sub>"
                   "&#8214; against the lag T &#8722; &#964; in the run's last gradient-flow record (on its own validation "
                   "sequence; an exact zero, ln = &#8722;&#8734;, is left out). A line that falls with the lag is a "
                   "vanishing gradient; one that rises, an exploding one.");
    for (int i = 0; i < n; i++) free(lag[i]), free(last[i]);
    for (int i = 0; i < n; i++) x[i] = runs[i].rs, y[i] = runs[i].rv, len[i] = runs[i].nr;
    bad |= overlay(rp, runs, n, "radius", "training step", "#[0x03bb]#dmax#u: spectral radius of W#dhh#u", 1, x, y, len,
                   "&#955;<sub>max</sub>: the spectral radius of W<sub>hh</sub> (the largest |eigenvalue|; for a gated cell the "
                   "largest over its gates' blocks; the top layer) of each run against the step, from its gradient-flow "
                   "records (on a log scale when they span a decade). Above 1 a linear recurrence would amplify; the nonlinearity's "
                   "slope decides the rest.");
    return bad;
}

/* The folder of --out: new, empty, or one this command wrote before (it
 * holds report.html). 0, or 1 after one line. */
static int out_ok(const char *out)
{
    struct stat sb;
    if (stat(out, &sb) != 0) return 0;
    char p[1300];
    snprintf(p, sizeof p, "%s/report.html", out);
    int empty = 1;
    if (S_ISDIR(sb.st_mode)) {
        if (stat(p, &sb) == 0) return 0;
        DIR *d = opendir(out);
        const struct dirent *e;
        while (d && (e = readdir(d)) != NULL) empty &= strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        if (d) closedir(d);
        if (empty) return 0;
    }
    fprintf(stderr, "rnnlab report: --out %s: %s\n", out,
            S_ISDIR(sb.st_mode) ? "a folder that holds other files: give a new or empty one" : "not a folder");
    return 1;
}

int report_compare(const cli_ctx *c, char **dirs, int n, const char *out)
{
    if (!out) return cli_usage_error(c, "several runs go on one page in a folder of its own: --out DIR");
    if (n > MAX_RUNS) return cli_usage_error(c, "at most %d runs on one page (their colours, line styles and markers)", MAX_RUNS);
    for (int i = 0; i < n; i++)
        if (cli_is_sweep(dirs[i])) return cli_usage_error(c, "%s is a sweep's folder: give runs (rnnlab report SWEEP_DIR draws a sweep)", dirs[i]);
    if (out_ok(out)) return 1;
    run runs[MAX_RUNS];
    int bad = 0, loaded = 0;
    for (int i = 0; i < n && !bad; i++, loaded++) bad = run_load(&runs[i], dirs[i]);
    char *tab = NULL, diff[2048], intro[2600];
    report *rp = NULL;
    if (!bad && !(tab = malloc(64 * 1024))) bad = 1;
    if (!bad) {
        table(runs, n, tab, 64 * 1024);
        differing(runs, n, diff, sizeof diff);
        snprintf(intro, sizeof intro,
                 "<p>%d training runs on the same axes. The settings that differ between them: %s. The numbers come "
                 "from each run's config.json, metrics.jsonl and flow.jsonl.</p>",
                 n, diff[0] ? diff : "none (the same configuration)");
        rp = report_open(out, "Training runs compared", intro);
        bad = !rp;
    }
    if (!bad) {
        report_heading(rp, "Settings and results", tab);
        bad |= figures(rp, runs, n) != 0;
        bad |= report_close(rp) != 0;
    }
    free(tab);
    for (int i = 0; i < loaded; i++) run_free(&runs[i]);
    if (bad) return 1;
    fprintf(stderr, "rnnlab report: wrote %s/report.html\n", out);
    return 0;
}
