/* Figures of a training run folder: see runplots.h. */
#include "runplots.h"

#include "plot.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_in(const char *dir, const char *file)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return fopen(p, "r");
}

int read_series(const char *dir, const char *file, const char *key, double **steps, double **vals, int *n)
{
    *steps = *vals = NULL, *n = 0;
    FILE *f = open_in(dir, file);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int alloc = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step"), *v = cJSON_GetObjectItemCaseSensitive(j, key);
        if (cJSON_IsNumber(s) && cJSON_IsNumber(v)) {
            if (*n == alloc) {
                alloc = alloc ? 2 * alloc : 64;
                double *a = realloc(*steps, (size_t)alloc * 8), *b = a ? realloc(*vals, (size_t)alloc * 8) : NULL;
                if (a) *steps = a;
                if (!a || !b) {
                    cJSON_Delete(j);
                    break;
                }
                *vals = b;
            }
            (*steps)[*n] = s->valuedouble, (*vals)[*n] = v->valuedouble, (*n)++;
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return 0;
}

int read_flow(const char *dir, const char *key, double **steps, double **z, int *n, int *T)
{
    *steps = *z = NULL, *n = 0, *T = -1;
    FILE *f = open_in(dir, "flow.jsonl");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int alloc = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step"), *a = cJSON_GetObjectItemCaseSensitive(j, key);
        int m = cJSON_GetArraySize(a);
        if (cJSON_IsNumber(s) && cJSON_IsArray(a) && m > 1 && (*T < 0 || m == *T + 1)) {
            *T = m - 1;
            if (*n == alloc) {
                alloc = alloc ? 2 * alloc : 32;
                double *p = realloc(*steps, (size_t)alloc * 8), *q = p ? realloc(*z, (size_t)alloc * m * 8) : NULL;
                if (p) *steps = p;
                if (!p || !q) {
                    cJSON_Delete(j);
                    break;
                }
                *z = q;
            }
            (*steps)[*n] = s->valuedouble;
            /* column k = lag = T - tau; null (a log of zero) becomes -inf */
            for (int k = 0; k < m; k++) {
                cJSON *e = cJSON_GetArrayItem(a, m - 1 - k);
                (*z)[(size_t)*n * m + k] = cJSON_IsNumber(e) ? e->valuedouble : -INFINITY;
            }
            (*n)++;
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return 0;
}

int run_figures(report *r, const char *run_dir, const char *tag, const char *label)
{
    char png[256], csv[256], cap[1024];
    double *st = NULL, *loss = NULL, *vst = NULL, *vloss = NULL, *gst = NULL, *gn = NULL, *bs = NULL, *bl = NULL;
    int n = 0, nv = 0, ng = 0, nb = 0, bad = 0;
    read_series(run_dir, "metrics.jsonl", "loss", &st, &loss, &n);
    read_series(run_dir, "metrics.jsonl", "val_loss", &vst, &vloss, &nv);
    read_series(run_dir, "metrics.jsonl", "grad_norm", &gst, &gn, &ng);
    read_series(run_dir, "metrics.jsonl", "baseline", &bs, &bl, &nb);
    if (n == 0) {
        fprintf(stderr, "rnnlab: %s/metrics.jsonl holds no training losses\n", run_dir);
        bad = -1;
        goto out;
    }
    pl_series s[3] = {{"training loss", st, loss, n, PL_LINE, 0}, {"validation loss", vst, vloss, nv, PL_LINE_POINTS, 1},
                      {"baseline", bs, bl, nb, PL_LINE, 7}};
    snprintf(png, sizeof png, "%s-loss.png", tag);
    snprintf(csv, sizeof csv, "%s-loss.csv", tag);
    pl_figure f = {report_path(r, png), label, "training step", "loss", 0, 1, NAN, NAN, NAN, NAN, 0, 0};
    bad |= plot_lines(&f, s, nb ? 3 : 2);
    const char *names[3] = {"step", "loss", "grad_norm"};
    const double *cols[3] = {st, loss, gn};
    bad |= write_csv(report_path(r, csv), names, cols, ng == n ? 3 : 2, n);
    snprintf(cap, sizeof cap,
             "%s: the training loss (mean over each logging interval) and the validation loss against the step, on a "
             "log scale%s.", label, nb ? ", with the task's memoryless baseline" : "");
    report_figure(r, png, cap, csv);
    /* gradient norm before clipping */
    if (ng) {
        snprintf(png, sizeof png, "%s-gradnorm.png", tag);
        pl_series g = {"||g|| before clipping", gst, gn, ng, PL_LINE, 1};
        pl_figure fg = {report_path(r, png), label, "training step", "#[0x2016]g#[0x2016] (mean over the interval)",
                        0, 1, NAN, NAN, NAN, NAN, 0, 0};
        bad |= plot_lines(&fg, &g, 1);
        snprintf(cap, sizeof cap,
                 "%s: the global gradient norm before clipping (Pascanu et al., Algorithm 1). Spikes are exploding "
                 "gradients; clipping rescales any step whose norm exceeds the threshold.", label);
        report_figure(r, png, cap, csv);
    }
    /* the gradient-flow heatmap */
    double *fs = NULL, *z = NULL;
    int nf = 0, T = 0;
    read_flow(run_dir, "lag_log_grad", &fs, &z, &nf, &T);
    if (nf > 1 && T > 0) {
        double *zt = malloc((size_t)nf * (T + 1) * 8);
        if (zt) {
            /* rows: lags 0..T, columns: records; base-10 logs for reading */
            for (int i = 0; i < nf; i++)
                for (int k = 0; k <= T; k++) zt[(size_t)k * nf + i] = z[(size_t)i * (T + 1) + k] / log(10.0);
            snprintf(png, sizeof png, "%s-flow.png", tag);
            snprintf(csv, sizeof csv, "%s-flow.csv", tag);
            pl_figure fh = {report_path(r, png), label, "training step", "lag T #[0x2212] #[0x03c4]", 0, 0, NAN, NAN, NAN,
                            NAN, 0, 0};
            bad |= plot_heatmap(&fh, zt, nf, T + 1, fs[0], fs[nf - 1], 0, T, "log#d10#u #[0x2016]#[0x2202]L/#[0x2202]h#d#[0x03c4]#u#[0x2016]");
            /* CSV: one row per record, the step then one column per lag */
            double **cols2 = malloc((size_t)(T + 2) * sizeof *cols2);
            char **nm = malloc((size_t)(T + 2) * sizeof *nm);
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
                bad |= write_csv(report_path(r, csv), (const char *const *)nm, (const double *const *)cols2, T + 2, nf);
                for (int k = 0; k < T + 2; k++) free(nm[k]);
            }
            free(cols2), free(nm), free(colbuf);
            snprintf(cap, sizeof cap,
                     "%s: how the gradient flows back through time while the model trains. Each column is one record "
                     "on a fixed validation sequence; the colour is log<sub>10</sub> &#8214;&#8706;L/&#8706;h<sub>&#964;</sub>&#8214; at lag T &#8722; &#964; "
                     "(eq. 10.21, the top layer). Dark at large lags means the gradient from the loss at the end "
                     "vanishes before it reaches the early steps. The CSV has the natural logs.",
                     label);
            report_figure(r, png, cap, csv);
        }
        free(zt);
    }
    free(fs), free(z);
out:
    free(st), free(loss), free(vst), free(vloss), free(gst), free(gn), free(bs), free(bl);
    return bad ? -1 : 0;
}
