/* rnnlab report (a training run as an HTML page) and rnnlab plot (one figure
 * from the output of jacobian, spectrum or lyapunov). */
#include "cli.h"

#include "plots/plot.h"
#include "plots/report.h"
#include "plots/runplots.h"
#include "sweeps/sweep.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char report_usage[] =
    "usage: rnnlab report RUN_DIR [--json]\n"
    "       rnnlab report RUN_A RUN_B ... --out DIR\n"
    "       rnnlab report SWEEP_DIR [--result KEY] [--x OPT] [--by OPT] [--json]\n"
    "\n"
    "Make RUN_DIR/report.html for a training run folder (rnnlab train --out): the\n"
    "loss and validation curves, the gradient norm before clipping, and the\n"
    "gradient-flow heatmap ln||dL/dh_tau|| over lag and training step, each as PNG\n"
    "with its data as CSV beside the page.\n"
    "\n"
    "Several run folders (at most 8): DIR/report.html with them on the same axes (the\n"
    "training loss, the gradient norm, the gradient flow of each run's last record\n"
    "against the lag, the spectral radius of W_hh over training) and a table of their\n"
    "settings and results; DIR is new, empty, or a page made so before.\n"
    "\n"
    "A sweep's folder (rnnlab sweep --out): SWEEP_DIR/report.html with a figure of a\n"
    "result against a swept option, a line for each value of another (the mean over\n"
    "the seeds and the other axes), or a heat map when both options are numbers, and\n"
    "the points as a table; the figure's data as CSV beside it.\n"
    "\n"
    "--json prints the numbers instead of the page: for a run its key numbers (the\n"
    "page's summary table holds them too): steps, the first, largest and last\n"
    "training loss (means over logging intervals), last and best validation loss,\n"
    "the baseline, the last validation mse/accuracy/bpc, largest gradient norm, the\n"
    "fraction clipped, steps skipped, tokens/s (median), and ln||dL/dh_tau|| at lags\n"
    "0, T/2 and T in the first and the last gradient-flow record; for a sweep the\n"
    "numbers behind the figure.\n"
    "\n";

const cli_command cli_report_command = {"report", report_usage, NULL, NULL, 8, NULL};

/* A JSON file of at most limit bytes, or NULL (errno says why when it
 * could not be read at all); member: a file of a folder, read only when it
 * is a regular file. */
static cJSON *load_json(const char *path, size_t limit, int member)
{
    FILE *f = member ? cli_fopen_member(path) : cli_fopen_read(path, limit);
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n > (long)limit) {
        fclose(f);
        errno = EFBIG;
        return NULL;
    }
    errno = 0;
    char *b = n > 0 ? malloc((size_t)n + 1) : NULL;
    cJSON *j = NULL;
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
        b[n] = '\0';
        j = cJSON_Parse(b);
    }
    free(b);
    fclose(f);
    return j;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The key numbers of a run: for scripts (--json; bench/results.sh) and the
 * report's summary table. */
cJSON *report_run_summary(const char *dir)
{
    double *s = NULL, *v = NULL;
    int n = 0;
    cJSON *j = cJSON_CreateObject();
    read_series(dir, "metrics.jsonl", "loss", &s, &v, &n);
    double worst = -INFINITY;
    for (int i = 0; i < n; i++) worst = fmax(worst, v[i]);
    if (n) {
        cJSON_AddNumberToObject(j, "steps", s[n - 1]);
        cJSON_AddNumberToObject(j, "first_loss", v[0]); /* the mean over the first logging interval */
        cJSON_AddNumberToObject(j, "max_loss", worst);
        cJSON_AddNumberToObject(j, "last_loss", v[n - 1]);
    }
    free(s), free(v);
    read_series(dir, "metrics.jsonl", "val_loss", &s, &v, &n);
    double best = INFINITY;
    for (int i = 0; i < n; i++) best = fmin(best, v[i]);
    if (n) cJSON_AddNumberToObject(j, "last_val_loss", v[n - 1]), cJSON_AddNumberToObject(j, "best_val_loss", best);
    free(s), free(v);
    const char *extra[3] = {"val_mse", "val_accuracy", "val_bpc"};
    for (int k = 0; k < 3; k++) {
        read_series(dir, "metrics.jsonl", extra[k], &s, &v, &n);
        if (n) cJSON_AddNumberToObject(j, extra[k] + 4, v[n - 1]);
        free(s), free(v);
    }
    read_series(dir, "metrics.jsonl", "baseline", &s, &v, &n);
    if (n) cJSON_AddNumberToObject(j, "baseline", v[n - 1]);
    free(s), free(v);
    read_series(dir, "metrics.jsonl", "grad_norm_max", &s, &v, &n);
    double mx = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, v[i]);
    if (n) cJSON_AddNumberToObject(j, "grad_norm_max", mx);
    free(s), free(v);
    /* the fraction of logged steps clipped (the mean of the intervals' fractions), the steps skipped */
    read_series(dir, "metrics.jsonl", "clipped", &s, &v, &n);
    double cl = 0;
    for (int i = 0; i < n; i++) cl += v[i];
    if (n) cJSON_AddNumberToObject(j, "clipped", cl / n);
    free(s), free(v);
    read_series(dir, "metrics.jsonl", "skipped", &s, &v, &n);
    if (n) cJSON_AddNumberToObject(j, "skipped", v[n - 1]);
    free(s), free(v);
    read_series(dir, "metrics.jsonl", "tokens_per_s", &s, &v, &n);
    if (n) {
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        cJSON_AddNumberToObject(j, "tokens_per_s", v[n / 2]); /* the median over the logging intervals */
    }
    free(s), free(v);
    cJSON *hist = read_config_history(dir);
    if (cJSON_GetArraySize(hist) > 0) cJSON_AddItemToObject(j, "config_history", hist);
    else cJSON_Delete(hist);
    run_divergence div;
    if (read_divergence(dir, &div)) {
        cJSON_AddNumberToObject(j, "diverged_step", div.step);
        cJSON_AddStringToObject(j, "diverged", div.reason);
    }
    double *z = NULL;
    int T = 0;
    read_flow(dir, "lag_log_grad", &s, &z, &n, &T);
    if (n > 0 && T > 0) {
        const char *which[2] = {"first_flow", "last_flow"};
        for (int w = 0; w < 2; w++) {
            int i = w ? n - 1 : 0;
            cJSON *o = cJSON_AddObjectToObject(j, which[w]);
            cJSON_AddNumberToObject(o, "step", s[i]);
            cJSON_AddNumberToObject(o, "ln_grad_lag0", z[(size_t)i * (T + 1)]);
            cJSON_AddNumberToObject(o, "ln_grad_lag_half", z[(size_t)i * (T + 1) + T / 2]);
            cJSON_AddNumberToObject(o, "ln_grad_lag_T", z[(size_t)i * (T + 1) + T]);
        }
    }
    free(s), free(z);
    return j;
}

static int summary_json(const char *dir)
{
    cJSON *j = report_run_summary(dir);
    char *txt = cJSON_PrintUnformatted(j);
    if (txt) puts(txt);
    free(txt);
    cJSON_Delete(j);
    return 0;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ln of a gradient's norm for the table: an exact zero (ln = -inf, null in
 * the JSON) in words, as the heatmap's key says it. */
static const char *ln_words(double v, char *b, size_t n)
{
    if (isinf(v) && v < 0) return "&#8722;&#8734; (exact 0)";
    snprintf(b, n, "%.3g", v);
    return b;
}

/* Item i of array a as text ("?" when it is not a string). */
static const char *item_text(const cJSON *a, int i)
{
    const char *t = cJSON_GetStringValue(cJSON_GetArrayItem(a, i));
    return t ? t : "?";
}

/* The summary table at the top of the run's report: the numbers of --json,
 * in words, with the configuration's main lines. HTML into buf. */
static void summary_table(const cJSON *j, const cJSON *cfg, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "<table class=\"summary\" style=\"border-collapse:collapse;margin:1rem 0\">\n");
#define TH "<tr><th style=\"text-align:left;padding:0.15rem 1.5rem 0.15rem 0;vertical-align:top\">"
#define ROW(...)                                                                                                           \
    do {                                                                                                                   \
        if (at < n) at += (size_t)snprintf(buf + at, n - at, __VA_ARGS__);                                                \
    } while (0)
    const cJSON *task = cJSON_GetObjectItem(cfg, "task"), *cell = cJSON_GetObjectItem(cfg, "cell"),
                *optim = cJSON_GetObjectItem(cfg, "optim");
    if (cJSON_IsString(task) && cJSON_IsString(cell)) { /* config.json's words: from the folder, escaped */
        char *et = html_escape(task->valuestring), *ec = html_escape(cell->valuestring),
             *eo = html_escape(cJSON_IsString(optim) ? optim->valuestring : "?");
        if (et && ec && eo)
            ROW(TH "run</th><td>%.200s, T = %g; %.200s, %g x %g units; %.200s, learning rate %g, clipping %g</td></tr>\n", et,
                num(cfg, "seq_len"), ec, num(cfg, "layers"), num(cfg, "hidden"), eo, num(cfg, "lr"), num(cfg, "clip"));
        free(et), free(ec), free(eo);
    }
    const cJSON *dv = cJSON_GetObjectItem(j, "diverged");
    if (cJSON_IsString(dv)) {
        char *why = html_escape(dv->valuestring);
        ROW(TH "diverged</th><td>at step %g: %.300s; the run stopped there (the figures mark the step)</td></tr>\n",
            num(j, "diverged_step"), why ? why : "");
        free(why);
    }
    const cJSON *h, *kv;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(j, "config_history")) { /* the settings a resume changed */
        ROW(TH "settings changed</th><td>at step %g (resumed):", num(h, "step"));
        cJSON_ArrayForEach(kv, cJSON_GetObjectItem(h, "changed")) {
            char *k = html_escape(kv->string ? kv->string : ""), *v0 = html_escape(item_text(kv, 0)),
                 *v1 = html_escape(item_text(kv, 1));
            if (k && v0 && v1) ROW(" %.60s %.60s &#8594; %.60s%s", k, v0, v1, kv->next ? "," : "");
            free(k), free(v0), free(v1);
        }
        ROW("</td></tr>\n");
    }
    if (!isnan(num(j, "steps"))) {
        ROW(TH "steps</th><td>%g</td></tr>\n", num(j, "steps"));
        ROW(TH "training loss</th><td>%.5g at the start, %.5g at the end (means over a logging interval; largest %.5g)</td></tr>\n",
            num(j, "first_loss"), num(j, "last_loss"), num(j, "max_loss"));
    }
    if (!isnan(num(j, "last_val_loss")))
        ROW(TH "validation loss</th><td>%.5g at the end, best %.5g</td></tr>\n", num(j, "last_val_loss"), num(j, "best_val_loss"));
    if (!isnan(num(j, "baseline")))
        ROW(TH "baseline</th><td>%.5g (the loss of the memoryless answer)</td></tr>\n", num(j, "baseline"));
    if (!isnan(num(j, "mse"))) ROW(TH "validation MSE</th><td>%.5g</td></tr>\n", num(j, "mse"));
    if (!isnan(num(j, "accuracy"))) ROW(TH "validation accuracy</th><td>%.4g</td></tr>\n", num(j, "accuracy"));
    if (!isnan(num(j, "bpc"))) ROW(TH "bits per character</th><td>%.4g</td></tr>\n", num(j, "bpc"));
    if (!isnan(num(j, "grad_norm_max")))
        ROW(TH "gradient norm</th><td>largest %.4g (before clipping); %.3g of the steps clipped</td></tr>\n",
            num(j, "grad_norm_max"), num(j, "clipped"));
    if (num(j, "skipped") > 0) ROW(TH "steps skipped</th><td>%g (a loss or gradient not finite)</td></tr>\n", num(j, "skipped"));
    const cJSON *f0 = cJSON_GetObjectItem(j, "first_flow"), *f1 = cJSON_GetObjectItem(j, "last_flow");
    if (f0 && f1) {
        static const char *const key[3] = {"ln_grad_lag0", "ln_grad_lag_half", "ln_grad_lag_T"};
        char w[6][48];
        const char *s[6];
        for (int i = 0; i < 6; i++) s[i] = ln_words(num(i < 3 ? f0 : f1, key[i % 3]), w[i], sizeof w[i]);
        ROW(TH "gradient flow</th><td>ln&#8214;&#8706;L/&#8706;h&#8214; at lag 0, T/2, T: %s, %s, %s at step %g; "
            "%s, %s, %s at step %g</td></tr>\n",
            s[0], s[1], s[2], num(f0, "step"), s[3], s[4], s[5], num(f1, "step"));
    }
    if (!isnan(num(j, "tokens_per_s"))) ROW(TH "speed</th><td>%.0f tokens/s (median)</td></tr>\n", num(j, "tokens_per_s"));
    ROW("</table>\n");
#undef ROW
#undef TH
}

/* A name from config.json for a title: letters, digits, '-', '_' and '.'
 * only (the folder's words go into PLplot's text and HTML), else '?'. */
static const char *plain_name(const cJSON *v, char *b, size_t n)
{
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= n) return "?";
    for (const char *p = v->valuestring; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p)) return "?";
    return strcpy(b, v->valuestring);
}

/* The run in the figures' titles and captions: "adding, T = 100: tanh, 1 x 32 units". */
static void run_label(const cJSON *cfg, char *out, size_t n)
{
    char task[48], cell[48];
    const cJSON *T = cJSON_GetObjectItem(cfg, "seq_len"), *L = cJSON_GetObjectItem(cfg, "layers"),
                *H = cJSON_GetObjectItem(cfg, "hidden");
    if (!cfg || !cJSON_IsNumber(H)) {
        snprintf(out, n, "this run");
        return;
    }
    char t[32] = "";
    if (cJSON_IsNumber(T) && T->valueint > 0) snprintf(t, sizeof t, ", T = %d", T->valueint); /* a user's data: its own */
    snprintf(out, n, "%s%s: %s, %d x %d units", plain_name(cJSON_GetObjectItem(cfg, "task"), task, sizeof task), t,
             plain_name(cJSON_GetObjectItem(cfg, "cell"), cell, sizeof cell), cJSON_IsNumber(L) ? L->valueint : 1,
             H->valueint);
}

int cmd_report(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    const char *result = a->result, *x = a->x, *by = a->by;
    if (noperands < 1) return cli_usage_error(c, "RUN_DIR is required");
    if (noperands > 1) return a->json || result || x || by ? cli_usage_error(c, "several runs make a page: --json, "
                                                                                  "--result, --x and --by are for one")
                                                              : report_compare(c, operand, noperands, a->out_dir);
    if (a->out_dir) return cli_usage_error(c, "--out is for several runs (rnnlab report A B C --out DIR): one run's page goes in its folder");
    const char *dir = operand[0];
    if (cli_is_sweep(dir)) return cli_sweep_report(c, dir, result, x, by, a->json);
    if (result || x || by) return cli_usage_error(c, "--result, --x and --by are for a sweep's folder");
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rnnlab report: %s: %s\n", dir, errno == ENOENT ? "no such folder" : "not a folder (a run folder of rnnlab train)");
        return 1;
    }
    double *s = NULL, *l = NULL;
    int n = 0;
    run_divergence div;
    if (read_series(dir, "metrics.jsonl", "loss", &s, &l, &n) != 0 || (n == 0 && !read_divergence(dir, &div))) {
        free(s), free(l);
        fprintf(stderr, "rnnlab report: %s: no metrics.jsonl with training losses: not a run folder\n", dir);
        return 1;
    }
    free(s), free(l);
    if (a->json) return summary_json(dir);
    /* the page and the figures' files must be regular files (or new) */
    static const char *const outs[] = {"report.html", "run-loss.png", "run-loss.csv", "run-gradnorm.png", "run-flow.png",
                                       "run-flow.csv"};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        char o[1300];
        snprintf(o, sizeof o, "%s/%s", dir, outs[k]);
        int bad = cli_check_written(c, "out", o);
        if (bad) return bad;
    }
    char intro[2048];
    char p[1300];
    snprintf(p, sizeof p, "%s/config.json", dir);
    cJSON *cj = load_json(p, 1 << 20, 1), *sum = report_run_summary(dir);
    char table[4096];
    summary_table(sum, cj, table, sizeof table);
    cJSON_Delete(sum);
    cJSON *task = cJSON_GetObjectItem(cj, "task"), *cell = cJSON_GetObjectItem(cj, "cell"),
          *hid = cJSON_GetObjectItem(cj, "hidden"), *T = cJSON_GetObjectItem(cj, "seq_len");
    char *edir = html_escape(dir), *ecell = html_escape(cJSON_IsString(cell) ? cell->valuestring : "?"),
         *etask = html_escape(cJSON_IsString(task) ? task->valuestring : "?");
    snprintf(intro, sizeof intro, "<p>Run folder <code>%.900s</code>: %.200s %.200s, %d units, T = %d. The configuration is in "
                                  "config.json; the records behind these figures are metrics.jsonl and flow.jsonl.</p>",
             edir ? edir : "", ecell ? ecell : "", etask ? etask : "", cJSON_IsNumber(hid) ? hid->valueint : 0,
             cJSON_IsNumber(T) ? T->valueint : 0);
    free(edir), free(ecell), free(etask);
    char label[200];
    run_label(cj, label, sizeof label);
    cJSON_Delete(cj);
    report *r = report_open(dir, "Training run: how the gradient flowed", intro);
    if (!r) return 1;
    report_heading(r, "Summary", table);
    int bad = run_figures(r, dir, "run", label);
    if (report_close(r) != 0) bad = 1;
    if (bad) return 1;
    fprintf(stderr, "rnnlab report: wrote %s/report.html\n", dir);
    return 0;
}

static const char plot_usage[] =
    "usage: rnnlab plot KIND INPUT --out FIGURE.png   (--out -: the PNG to stdout)\n"
    "\n"
    "One figure (PNG) from an analysis command's output:\n"
    "  lags INPUT.safetensors   (rnnlab jacobian) ln||ds_T/ds_tau||_2 against the lag, and\n"
    "                           the BPTT gradient norms when present\n"
    "  spectrum INPUT.json      (rnnlab spectrum) the eigenvalues of every J_t in the\n"
    "                           complex plane, with the unit circle\n"
    "  lag-spectra INPUT.json   (rnnlab spectrum, also with --no-steps) per lag k, the\n"
    "                           eigenvalues and singular values of ds_T/ds_{T-k} as rates\n"
    "                           per step: ln|lambda_i|/k and ln sigma_i/k against i\n"
    "  lyapunov INPUT.json      (rnnlab lyapunov) the exponents against their index\n"
    "  lyapunov-trace INPUT.json (rnnlab lyapunov --trace-every N) the running estimates\n"
    "                           of the exponents against the step, to see them converge\n"
    "  scaling INPUT.csv        (bench/cores.sh) training tokens/s against threads,\n"
    "                           rnnlab and PyTorch, log-log, one panel per cell\n"
    "  csv INPUT.csv            any table: the first column x, every further column a\n"
    "                           line named by its header (at most 8); empty cells are\n"
    "                           gaps, lines starting with # comments\n"
    "\n";

const cli_command cli_plot_command = {"plot", plot_usage, NULL, NULL, 2, NULL};

/* The numbers of a JSON array (null, the log of an exact zero, as -inf);
 * malloc'ed, *n its length. */
static double *json_doubles(const cJSON *a, int *n)
{
    *n = cJSON_GetArraySize(a);
    double *v = malloc((size_t)(*n + 1) * sizeof *v);
    for (int i = 0; v && i < *n; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        v[i] = cJSON_IsNumber(e) ? e->valuedouble : cJSON_IsNull(e) ? -INFINITY : NAN;
    }
    return v;
}

/* "tanh, S = 18" from an analysis file's cell and state_size, for titles */
static void model_words(char *b, size_t n, const char *cell, const char *S)
{
    snprintf(b, n, "%s%sS = %s", cell ? cell : "", cell ? ", " : "", S ? S : "?");
}

static int plot_lags(const cli_ctx *c, const char *in, const char *out)
{
    rl_st *f = NULL;
    rl_status s = rl_st_open(&f, in);
    if (s) return cli_fail(c, s);
    int64_t shape[RL_ST_MAX_NDIM];
    if (rl_st_shape(f, "lag_log_norm", shape) != 1) {
        const char *what = rl_st_kind(f);
        if (what) fprintf(stderr, "rnnlab plot: %s is %s, not an output of rnnlab jacobian\n", in, what);
        else fprintf(stderr, "rnnlab plot: %s has no lag_log_norm: not made by rnnlab jacobian\n", in);
        rl_st_close(f);
        return 1;
    }
    int n = (int)shape[0], T = n - 1, bad = 0;
    double *ln = malloc((size_t)n * 8), *gb = malloc((size_t)n * 8), *gl = malloc((size_t)n * 8), *k = malloc((size_t)n * 8),
           *a = malloc((size_t)n * 8), *b = malloc((size_t)n * 8), *cc = malloc((size_t)n * 8);
    if (!ln || !gb || !gl || !k || !a || !b || !cc) s = RL_ERR_NOMEM;
    if (!s) s = rl_st_read_f64(f, "lag_log_norm", ln, (size_t)n);
    int grads = rl_st_shape(f, "log_grad_state", shape) == 1 && shape[0] == n;
    if (!s && grads) s = rl_st_read_f64(f, "log_grad_state", gb, (size_t)n);
    if (!s && grads) s = rl_st_read_f64(f, "log_grad_last", gl, (size_t)n);
    if (!s) {
        for (int i = 0; i <= T; i++) k[i] = i, a[i] = ln[T - i], b[i] = gb[T - i], cc[i] = gl[T - i];
        pl_series ser[3] = {{"ln #[0x2016]#[0x2202]s#dT#u/#[0x2202]s#d#[0x03c4]#u#[0x2016]#d2#u", k, a, n, PL_LINE, 0},
                            {"ln #[0x2016]#[0x2202]L/#[0x2202]s#d#[0x03c4]#u#[0x2016]", k, b, n, PL_LINE, 1},
                            {"ln #[0x2016]#[0x2202]l#dT#u/#[0x2202]s#d#[0x03c4]#u#[0x2016]", k, cc, n, PL_LINE, 2}};
        char title[160], who[64];
        model_words(who, sizeof who, rl_st_meta(f, "cell"), rl_st_meta(f, "state_size"));
        snprintf(title, sizeof title, "Jacobian products%s against the lag (%s, T = %d)", grads ? " and gradients" : "",
                 who, T);
        pl_figure fig = {.path = out, .title = title, .xlabel = "lag T #[0x2212] #[0x03c4]", .ylabel = "natural log",
                         .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN, .intx = 1};
        bad = plot_lines(&fig, ser, grads ? 3 : 1);
    }
    free(ln), free(gb), free(gl), free(k), free(a), free(b), free(cc);
    rl_st_close(f);
    if (s) return fprintf(stderr, "rnnlab plot: %s: %s\n", in, *rl_errmsg() ? rl_errmsg() : rl_strerror(s)), 1;
    return bad != 0;
}

static int plot_spectrum(const cJSON *j, const char *in, const char *out, const char *who)
{
    const cJSON *steps = cJSON_GetObjectItem(j, "step_spectra");
    int T = cJSON_GetArraySize(steps), S = 0, n = 0, bad = 0;
    double *re = NULL, *im = NULL;
    for (int t = 0; t < T; t++) {
        int a, b;
        double *r = json_doubles(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, t), "eig_re"), &a);
        double *i = json_doubles(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, t), "eig_im"), &b);
        double *nr = realloc(re, (size_t)(n + a + 1) * 8), *ni = nr ? realloc(im, (size_t)(n + a + 1) * 8) : NULL;
        if (nr) re = nr;
        if (ni) im = ni;
        if (r && i && nr && ni && a == b) memcpy(re + n, r, (size_t)a * 8), memcpy(im + n, i, (size_t)a * 8), n += a, S = a;
        free(r), free(i);
    }
    if (n == 0) {
        fprintf(stderr, "rnnlab plot: %s has no step_spectra (made with --no-steps, or not by rnnlab spectrum): "
                        "'rnnlab plot lag-spectra' draws its lags\n", in);
        bad = 1;
    } else {
        pl_series ser = {"eigenvalues of J#dt#u, all t", re, im, n, PL_POINTS, 0};
        char title[160];
        snprintf(title, sizeof title, "Eigenvalues of the step Jacobians (%s, T = %d)", who, T);
        (void)S;
        pl_figure fig = {.path = out, .title = title, .xlabel = "Re #gl", .ylabel = "Im #gl", .xmin = NAN, .xmax = NAN,
                         .ymin = NAN, .ymax = NAN, .unit_circle = 1};
        bad = plot_lines(&fig, &ser, 1) != 0;
    }
    free(re), free(im);
    return bad;
}

#define MAX_CURVES 8

/* Which of n entries to draw when at most MAX_CURVES fit: all, or evenly
 * spread ones with the first and the last. */
static int pick(int n, int *which)
{
    int m = n < MAX_CURVES ? n : MAX_CURVES;
    for (int i = 0; i < m; i++) which[i] = m > 1 ? (int)lround((double)i * (n - 1) / (m - 1)) : 0;
    return m;
}

static int plot_lag_spectra(const cJSON *j, const char *in, const char *out, const char *who)
{
    const cJSON *lags = cJSON_GetObjectItem(j, "lags");
    int nl = cJSON_GetArraySize(lags), which[MAX_CURVES], m = pick(nl, which), bad = 0, S = 0;
    if (nl == 0) {
        fprintf(stderr, "rnnlab plot: %s has no \"lags\": not made by rnnlab spectrum\n", in);
        return 1;
    }
    double *ev[MAX_CURVES] = {0}, *sv[MAX_CURVES] = {0}, *idx = NULL;
    char lab[MAX_CURVES][32];
    pl_series ser[2 * MAX_CURVES];
    for (int c = 0; c < m; c++) {
        const cJSON *o = cJSON_GetArrayItem(lags, which[c]), *k = cJSON_GetObjectItem(o, "lag");
        int a = 0, b = 0;
        ev[c] = json_doubles(cJSON_GetObjectItem(o, "eig_log_abs"), &a);
        sv[c] = json_doubles(cJSON_GetObjectItem(o, "sv_log"), &b);
        if (!cJSON_IsNumber(k) || k->valuedouble < 1 || a < 1 || a != b || (S && a != S) || !ev[c] || !sv[c]) {
            fprintf(stderr, "rnnlab plot: %s: lag entry %d is not as rnnlab spectrum writes it\n", in, which[c]);
            bad = 1;
            break;
        }
        S = a;
        /* rates per step, comparable across lags and with Lyapunov exponents */
        for (int i = 0; i < S; i++) ev[c][i] /= k->valuedouble, sv[c][i] /= k->valuedouble;
        snprintf(lab[c], sizeof lab[c], "lag %d", k->valueint);
    }
    if (!bad && !(idx = malloc((size_t)S * 8))) bad = 1;
    if (!bad) {
        for (int i = 0; i < S; i++) idx[i] = i + 1;
        for (int c = 0; c < m; c++) {
            /* the legend shows each lag's marker and line */
            ser[2 * c] = (pl_series){NULL, idx, ev[c], S, PL_POINTS, c};
            ser[2 * c + 1] = (pl_series){lab[c], idx, sv[c], S, PL_LINE, c};
        }
        char title[160];
        snprintf(title, sizeof title, "Spectra of #[0x2202]s#dT#u/#[0x2202]s#dT#[0x2212]k#u per step (%s)", who);
        pl_figure fig = {.path = out, .title = title, .xlabel = "index i (markers: eigenvalues, lines: singular values)",
                         .ylabel = "ln|#gl#di#u| / k,  ln #gs#di#u / k", .xmin = NAN, .xmax = NAN, .ymin = NAN,
                         .ymax = NAN, .intx = 1};
        bad = plot_lines(&fig, ser, 2 * m) != 0;
    }
    for (int c = 0; c < m; c++) free(ev[c]), free(sv[c]);
    free(idx);
    return bad;
}

static int plot_lyapunov(const cJSON *j, const char *in, const char *out, const char *who, int trace)
{
    int n = 0, bad = 0;
    double *ex = json_doubles(cJSON_GetObjectItem(j, "exponents"), &n), *idx = malloc((size_t)(n + 1) * 8);
    const cJSON *st = cJSON_GetObjectItem(j, "steps"), *tr = cJSON_GetObjectItem(j, "trace");
    const cJSON *every = cJSON_GetObjectItem(tr, "every"), *est = cJSON_GetObjectItem(tr, "estimates");
    char title[160];
    if (n < 1 || !ex || !idx) {
        fprintf(stderr, "rnnlab plot: %s has no \"exponents\": not made by rnnlab lyapunov\n", in);
        bad = 1;
    } else if (!trace) {
        for (int i = 0; i < n; i++) idx[i] = i + 1;
        pl_series ser = {"exponents", idx, ex, n, PL_LINE_POINTS, 0};
        snprintf(title, sizeof title, "Lyapunov spectrum (%s, %d steps)", who, cJSON_IsNumber(st) ? st->valueint : 0);
        pl_figure fig = {.path = out, .title = title, .xlabel = "index i", .ylabel = "#gl#di#u (per step)",
                         .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN, .intx = 1};
        bad = plot_lines(&fig, &ser, 1) != 0;
    } else if (!cJSON_IsNumber(every) || cJSON_GetArraySize(est) < 1) {
        fprintf(stderr, "rnnlab plot: %s has no \"trace\": run rnnlab lyapunov with --trace-every N\n", in);
        bad = 1;
    } else {
        int nt = cJSON_GetArraySize(est), which[MAX_CURVES], m = pick(n, which);
        double *steps = malloc((size_t)nt * 8), *v = malloc((size_t)nt * MAX_CURVES * 8);
        char lab[MAX_CURVES][32];
        pl_series ser[MAX_CURVES];
        if (!steps || !v) bad = 1;
        for (int t = 0; !bad && t < nt; t++) {
            int k = 0;
            double *row = json_doubles(cJSON_GetArrayItem(est, t), &k);
            steps[t] = (t + 1) * every->valuedouble;
            for (int c = 0; c < m; c++) v[(size_t)c * nt + t] = row && which[c] < k ? row[which[c]] : NAN;
            free(row);
        }
        for (int c = 0; !bad && c < m; c++) {
            snprintf(lab[c], sizeof lab[c], "#gl#d%d#u", which[c] + 1);
            ser[c] = (pl_series){lab[c], steps, v + (size_t)c * nt, nt, PL_LINE, c};
        }
        snprintf(title, sizeof title, "Lyapunov exponents: running estimates (%s)", who);
        pl_figure fig = {.path = out, .title = title, .xlabel = "steps averaged over", .ylabel = "#gl#di#u (per step)",
                         .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN, .intx = 1};
        if (!bad) bad = plot_lines(&fig, ser, m) != 0;
        free(steps), free(v);
    }
    free(ex), free(idx);
    return bad;
}

int cmd_plot(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *out = a->out_file;
    pl_csv_options co = {a->title, a->xlabel, a->ylabel, a->logx, a->logy, a->points};
    const int table_opts = cli_given(c, "title") || cli_given(c, "xlabel") || cli_given(c, "ylabel") || a->logx || a->logy || a->points;
    if (noperands < 2) return cli_usage_error(c, "KIND and INPUT are required");
    const char *kind = operand[0], *in = operand[1];
    if ((e = cli_require(c, out, "out"))) return e;
    static const char *const kinds[7] = {"lags", "spectrum", "lag-spectra", "lyapunov", "lyapunov-trace", "scaling", "csv"};
    int k = 0;
    while (k < 7 && strcmp(kind, kinds[k]) != 0) k++;
    if (k == 7)
        return cli_usage_error(c, "unknown plot kind '%s' (choose from lags, spectrum, lag-spectra, lyapunov, "
                                   "lyapunov-trace, scaling, csv)", kind);
    if (table_opts && k != 6)
        return cli_usage_error(c, "--title, --xlabel, --ylabel, --logx, --logy and --points are for plot csv; "
                                   "the figures of %s are drawn as they are", kind);
    if (!plot_png_name(out)) return cli_usage_error(c, "--out %s: figures are written as PNG: name the file .png", out);
    cli_input(c, "INPUT", in);
    if ((e = cli_check_output(c, "out", out))) return e;
    int bad = 0;
    if (k == 0) {
        bad = plot_lags(c, in, out);
    } else if (k == 5) {
        bad = plot_scaling(in, out) != 0;
    } else if (k == 6) {
        bad = plot_csv(in, &co, out) != 0;
    } else {
        cJSON *j = load_json(in, (size_t)1 << 30, 0);
        if (!j) {
            if (errno) fprintf(stderr, "rnnlab plot: %s: cannot read it: %s\n", in, cli_read_error(errno));
            else fprintf(stderr, "rnnlab plot: %s: cannot read it as JSON, which rnnlab %s --out writes\n", in,
                         k <= 2 ? "spectrum" : "lyapunov");
            return 1;
        }
        const cJSON *cell = cJSON_GetObjectItem(j, "cell"), *S = cJSON_GetObjectItem(j, "state_size");
        char who[64], sz[24] = "?";
        if (cJSON_IsNumber(S)) snprintf(sz, sizeof sz, "%d", S->valueint);
        model_words(who, sizeof who, cJSON_IsString(cell) ? cell->valuestring : NULL, sz);
        if (k == 1) bad = plot_spectrum(j, in, out, who);
        else if (k == 2) bad = plot_lag_spectra(j, in, out, who);
        else bad = plot_lyapunov(j, in, out, who, k == 4);
        cJSON_Delete(j);
    }
    if (bad) return 1;
    fprintf(stderr, "rnnlab plot: wrote %s\n", out);
    return 0;
}
