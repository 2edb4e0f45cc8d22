/* The demo and the reports: every figure the page links exists, is a valid
 * PNG that is not blank, and every CSV parses with the columns it names. */
#include "test.h"
#include "plots/plot.h"

#include <cJSON.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int png_stats(const char *path, unsigned *w, unsigned *h, double *ink, int *colours)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) return -1;
    im.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
    int ok = px && png_image_finish_read(&im, NULL, px, 0, NULL);
    if (ok) {
        size_t n = (size_t)im.width * im.height, k = 0;
        unsigned seen[16];
        int nc = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned c = (unsigned)px[3 * i] << 16 | (unsigned)px[3 * i + 1] << 8 | px[3 * i + 2];
            k += c != 0xFFFFFF;
            int old = 0;
            for (int j = 0; j < nc; j++) old |= seen[j] == c;
            if (!old && nc < 16) seen[nc++] = c;
        }
        *w = im.width, *h = im.height, *ink = n ? (double)k / (double)n : 0, *colours = nc;
    }
    free(px);
    png_image_free(&im);
    return ok ? 0 : -1;
}

/* A PNG with ink on it: decodes, is at least 300 x 300, has more than 1% of
 * its pixels away from white and at least 3 distinct colours. */
static void check_png(const char *path)
{
    unsigned w = 0, h = 0;
    double ink = 0;
    int nc = 0;
    if (png_stats(path, &w, &h, &ink, &nc) != 0) {
        CHECK_MSG(0, "%s: not a PNG that decodes", path);
        return;
    }
    CHECK_MSG(w >= 300 && h >= 300, "%s: %ux%u", path, w, h);
    CHECK_MSG(ink > 0.01, "%s: blank (%.2f%% of the pixels not white)", path, 100 * ink);
    CHECK_MSG(nc >= 3, "%s: %d colours", path, nc);
}

/* The pixels of path that are exactly rgb. */
static long png_count_colour(const char *path, unsigned rgb)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) return 0;
    im.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
    long n = 0;
    if (px && png_image_finish_read(&im, NULL, px, 0, NULL))
        for (size_t i = 0; i < (size_t)im.width * im.height; i++)
            n += ((unsigned)px[3 * i] << 16 | (unsigned)px[3 * i + 1] << 8 | px[3 * i + 2]) == rgb;
    free(px);
    png_image_free(&im);
    return n;
}

/* The figure log of cli/plots/plot.h's test hook (RNNLAB_FIGURE_LOG), figure by
 * figure: every axis has min_labels to 12 tick labels, none empty, no two
 * alike (readable ticks, on log axes too); the legend lies inside the plot
 * area or wholly right of it and no drawn data point (markers, and points
 * along the lines) lies inside it; every colour of a line plot draws markers.
 * Returns the number of figures; *zeros gets the sum of their exact-zero
 * heatmap cells. */
static int check_figure_log(const char *path, int min_labels, long *zeros)
{
    size_t n = 0;
    char *t = (char *)read_file(path, &n);
    CHECK_MSG(t != NULL, "%s: no figure log", path);
    if (!t) return 0;
    int figs = 0;
    *zeros = 0;
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save), figs++) {
        cJSON *j = cJSON_Parse(line);
        CHECK_MSG(j != NULL, "%s: line %d is not JSON", path, figs + 1);
        if (!j) continue;
        const char *png = cJSON_GetStringValue(cJSON_GetObjectItem(j, "png"));
        const cJSON *axes = cJSON_GetObjectItem(j, "axes"), *a;
        CHECK_MSG(png && cJSON_GetArraySize(axes) >= 2, "line %d: no png or axes", figs + 1);
        if (!png) png = "?";
        cJSON_ArrayForEach(a, axes) {
            const cJSON *labels = cJSON_GetObjectItem(a, "labels");
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(a, "name"));
            int nl = cJSON_GetArraySize(labels);
            CHECK_MSG(nl >= min_labels && nl <= 12, "%s: axis %s (log %d) has %d tick labels", png, name ? name : "?",
                      cJSON_IsTrue(cJSON_GetObjectItem(a, "log")), nl);
            for (int i = 0; i < nl; i++) {
                const char *li = cJSON_GetStringValue(cJSON_GetArrayItem(labels, i));
                CHECK_MSG(li && *li, "%s: axis %s: an empty label", png, name);
                for (int k = 0; li && k < i; k++)
                    CHECK_MSG(strcmp(li, cJSON_GetStringValue(cJSON_GetArrayItem(labels, k))) != 0,
                              "%s: axis %s: label %s twice", png, name, li);
            }
        }
        const cJSON *leg = cJSON_GetObjectItem(j, "legend"), *pts = cJSON_GetObjectItem(j, "points");
        if (cJSON_GetArraySize(leg) == 4) {
            double b[4];
            for (int i = 0; i < 4; i++) b[i] = cJSON_GetArrayItem(leg, i)->valuedouble;
            CHECK_MSG((b[0] >= 0 && b[2] <= 1 && b[1] >= 0 && b[3] <= 1) || b[0] >= 1,
                      "%s: legend [%g %g %g %g] straddles the plot area's edge", png, b[0], b[1], b[2], b[3]);
            int np = cJSON_GetArraySize(pts) / 2, hit = 0;
            const cJSON *p = pts ? pts->child : NULL;
            for (int i = 0; i < np && p && p->next; i++, p = p->next->next) {
                double x = p->valuedouble, y = p->next->valuedouble;
                hit += x > b[0] && x < b[2] && y > b[1] && y < b[3];
            }
            CHECK_MSG(hit == 0, "%s: %d of %d data points under the legend", png, hit, np);
        }
        /* every colour that has points draws markers */
        const cJSON *marks = cJSON_GetObjectItem(j, "marks");
        int nm = cJSON_GetArraySize(marks) / 2, drawn[8] = {0}, used[8] = {0};
        for (int i = 0; i < nm; i++) {
            int id = cJSON_GetArrayItem(marks, 2 * i)->valueint; /* -1: a series with no points */
            if (id >= 0 && id < 8) used[id] = 1, drawn[id] += cJSON_GetArrayItem(marks, 2 * i + 1)->valueint;
        }
        for (int id = 0; id < 8; id++) CHECK_MSG(!used[id] || drawn[id] > 0, "%s: colour %d draws no markers", png, id);
        *zeros += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "zero_cells"));
        cJSON_Delete(j);
    }
    free(t);
    return figs;
}

/* Every row has as many numeric fields as the header names. */
static void check_csv(const char *path)
{
    size_t n = 0;
    char *t = (char *)read_file(path, &n);
    CHECK_MSG(t != NULL && n > 0, "%s: missing or empty", path);
    if (!t) return; /* read_file puts a NUL after the bytes */
    int cols = 0, rows = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int f = 1;
        for (char *p = line; *p; p++) f += *p == ',';
        if (!cols) {
            cols = f;
            bad += !(line[0] >= 'a' && line[0] <= 'z');
            continue;
        }
        rows++;
        bad += f != cols;
        char *p = line;
        for (int k = 0; k < f; k++) {
            char *end;
            strtod(p, &end);
            bad += end == p;
            p = strchr(end, ',') ? strchr(end, ',') + 1 : end;
        }
    }
    CHECK_MSG(cols >= 2 && rows >= 2 && bad == 0, "%s: %d columns, %d rows, %d bad fields", path, cols, rows, bad);
    free(t);
}

/* Check every file report.html in dir links (data-file="..." and href="..."). */
static int check_report(const char *dir)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/report.html", dir);
    size_t n = 0;
    char *html = (char *)read_file(p, &n);
    CHECK_MSG(html != NULL, "%s is missing", p);
    if (!html) return 0;
    int pngs = 0, csvs = 0;
    const char *keys[2] = {"data-file=\"", "href=\""};
    for (int k = 0; k < 2; k++)
        for (char *s = strstr(html, keys[k]); s; s = strstr(s + 1, keys[k])) {
            char name[256];
            const char *a = s + strlen(keys[k]), *e = strchr(a, '"');
            if (!e || (size_t)(e - a) >= sizeof name) continue;
            memcpy(name, a, (size_t)(e - a));
            name[e - a] = '\0';
            snprintf(p, sizeof p, "%s/%s", dir, name);
            if (strstr(name, ".png")) check_png(p), pngs += k == 0;
            if (strstr(name, ".csv")) check_csv(p), csvs++;
        }
    /* self-contained: the images are in the page itself */
    CHECK(strstr(html, "src=\"data:image/png;base64,iVBORw0KGgo") != NULL);
    CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL);
    free(html);
    return pngs * 1000 + csvs;
}

TEST(demo_quick_report)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/demo", test_tmpdir);
    const char *argv[] = {"rnnlab", "demo", "--quick", "--out", dir, NULL};
    const char *log = tmp_path("demo-figures.jsonl");
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    unsetenv("RNNLAB_FIGURE_LOG");
    size_t n = 0;
    unsigned char *err = read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(err && !strstr((char *)err, "PLPLOT") && !strstr((char *)err, "plwind") && !strstr((char *)err, "plvpor"),
              "PLplot complained: %s", err ? (char *)err : "");
    free(err);
    int k = check_report(dir);
    CHECK_MSG(k / 1000 >= 10 && k % 1000 >= 8, "demo: %d figures, %d CSVs", k / 1000, k % 1000);
    long zeros = 0;
    int figs = check_figure_log(log, 3, &zeros);
    CHECK_MSG(figs == k / 1000, "%d figures drawn, %d on the page", figs, k / 1000);
    /* the demo's captions name what they show: no "seed's theorem" */
    char p[1300];
    snprintf(p, sizeof p, "%s/report.html", dir);
    char *html = (char *)read_file(p, &n);
    CHECK(html && !strstr(html, "seed's") && strstr(html, "eigenvalue-product theorem"));
    CHECK(html && strstr(html, "no clipping") && strstr(html, "SGD"));
    free(html);
    /* the theorem's deviations are drawn per step (ln(1 + dev)/k, issue 28), on a log axis that holds them all:
     * no cap at 10^3 where 37 of 70 points sat */
    char *flog = (char *)read_file(log, &n), *save = NULL;
    const char *top = NULL;
    cJSON *th = NULL;
    int ylog = 0;
    for (char *line = flog ? strtok_r(flog, "\n", &save) : NULL; line && !th; line = strtok_r(NULL, "\n", &save))
        if (strstr(line, "gain-theorem.png")) th = cJSON_Parse(line);
    const cJSON *ax;
    cJSON_ArrayForEach(ax, cJSON_GetObjectItem(th, "axes")) {
        const cJSON *l = cJSON_GetObjectItem(ax, "labels");
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ax, "name")), "y") == 0)
            top = cJSON_GetStringValue(cJSON_GetArrayItem(l, cJSON_GetArraySize(l) - 1)), ylog = cJSON_IsTrue(cJSON_GetObjectItem(ax, "log"));
    }
    const char *title = cJSON_GetStringValue(cJSON_GetObjectItem(th, "title"));
    CHECK_MSG(title && strstr(title, "the deviation per step") && ylog && top && strcmp(top, "10#u3#d") != 0 &&
                  strcmp(top, "1000") != 0,
              "gain-theorem: '%s', log %d, y axis ends at %s", title ? title : "?", ylog, top ? top : "?");
    /* issue 28's figures: every point of cures-lyapunov (the LSTMs' 2H exponents too) and of clip-loss (the run
     * without clipping too) inside the frame; linear-eigen says which is measured */
    free(flog);
    flog = (char *)read_file(log, &n), save = NULL;
    int seen = 0;
    for (char *line = flog ? strtok_r(flog, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        const int ly = strstr(line, "/cures-lyapunov.png\"") != NULL, cl = strstr(line, "/clip-loss.png\"") != NULL,
                  le = strstr(line, "/linear-eigen.png\"") != NULL;
        if (!ly && !cl && !le) continue;
        cJSON *fig = cJSON_Parse(line);
        const cJSON *pts = cJSON_GetObjectItem(fig, "points"), *q;
        int out = 0, np = 0, i = 0;
        double xmax = 0;
        cJSON_ArrayForEach(q, pts) {
            double v = q->valuedouble;
            out += v < -1e-6 || v > 1 + 1e-6, np += i % 2 == 0;
            if (i++ % 2 == 0) xmax = fmax(xmax, v);
        }
        CHECK_MSG(out == 0 && np > 0, "%s: %d of %d point coordinates outside the frame", ly ? "cures-lyapunov" : cl ? "clip-loss" : "linear-eigen", out, 2 * np);
        if (ly) CHECK_MSG(xmax > 0.9, "cures-lyapunov: the points end at x = %g of the axis", xmax);
        /* -lambda on a log axis: the exponents far below 0 (the quick demo's LSTMs reach -7) in the frame, not cut at -2 */
        const cJSON *yax = cJSON_GetArrayItem(cJSON_GetObjectItem(fig, "axes"), 1);
        if (ly) CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItem(yax, "log")), "cures-lyapunov: a linear y axis");
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(fig, "title"));
        if (le) CHECK_MSG(t && strstr(t, "measured eigenvalues (markers)") && strstr(t, "(lines)"), "linear-eigen: %s", t ? t : "?");
        seen += ly + cl + le;
        cJSON_Delete(fig);
    }
    CHECK(seen == 3);
    /* the data drawn: every point from lag 2 on is finite, and the gains' rates at the longest lag are apart */
    snprintf(p, sizeof p, "%s/gain-theorem.csv", dir);
    char *csv = (char *)read_file(p, &n), *last = NULL;
    for (char *q = csv; q && (q = strchr(q, '\n')) && q[1]; q++) last = q + 1;
    double lag = last ? strtod(last, &last) : 0, r[5];
    for (int g = 0; last && g < 5; g++) {
        double dev = strtod(last + 1, &last);
        strtod(last + 1, &last); /* the condition number */
        r[g] = log1p(dev) / lag;
        CHECK_MSG(isfinite(r[g]) && r[g] > 0, "gain %d: rate %g at lag %g", g, r[g], lag);
        for (int h = 0; h < g; h++) CHECK_MSG(fabs(r[g] - r[h]) > 0.01 * fmax(r[g], r[h]), "gains %d and %d: %g, %g", g, h, r[g], r[h]);
    }
    free(csv);
    cJSON_Delete(th);
    free(flog);
}

/* Column a against column b of a demo CSV: the largest |a - b| over the
 * rows where both are numbers (their count in *n), or NAN if unreadable. */
static double csv_gap(const char *path, int a, int b, int *n)
{
    FILE *f = fopen(path, "r");
    csv_table t = {0};
    char err[200];
    double gap = NAN;
    *n = 0;
    if (f && csv_table_read(&t, f, err, sizeof err) == 0 && a < t.ncol && b < t.ncol) {
        gap = 0;
        for (int r = 0; r < t.nrow; r++) {
            double x = t.v[(size_t)r * t.ncol + a], y = t.v[(size_t)r * t.ncol + b];
            if (isnan(x) || isnan(y)) continue;
            (*n)++;
            if (fabs(x - y) > gap) gap = fabs(x - y);
        }
    }
    csv_table_free(&t);
    if (f) fclose(f);
    return gap;
}

/* Section 6: for the LRU and the minGRU the measured lag norms and Lyapunov
 * exponents equal their closed forms from the parameters (to the CSV's 10
 * digits); the tanh RNN's are far from the minGRU's formula. */
TEST(demo_diagonal_cells_match_their_closed_forms)
{
    char dir[1100], p[1300];
    snprintf(dir, sizeof dir, "%s/demo-diag", test_tmpdir);
    const char *argv[] = {"rnnlab", "demo", "--quick", "--out", dir, NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    int n = 0;
    snprintf(p, sizeof p, "%s/diag-lags.csv", dir); /* lag, lru, mingru, tanh, lru_closed_form, mingru_closed_form */
    double g = csv_gap(p, 1, 4, &n);
    CHECK_MSG(g < 1e-8 && n == 41, "lru's lags: %g from the closed form over %d", g, n);
    g = csv_gap(p, 2, 5, &n);
    CHECK_MSG(g < 1e-8 && n == 41, "mingru's lags: %g from the closed form over %d", g, n);
    g = csv_gap(p, 3, 5, &n);
    CHECK_MSG(g > 1, "tanh's lags are only %g from minGRU's formula", g);
    snprintf(p, sizeof p, "%s/diag-lyapunov.csv", dir); /* i, lru, mingru, tanh, lru_ln_abs_lambda, mingru_mean_ln_1_minus_z */
    g = csv_gap(p, 1, 4, &n);
    CHECK_MSG(g < 1e-8 && n == 32, "lru's exponents: %g from ln|lambda| over %d", g, n);
    g = csv_gap(p, 2, 5, &n);
    CHECK_MSG(g < 1e-8 && n == 16, "mingru's exponents: %g from mean ln(1 - z) over %d", g, n);
    snprintf(p, sizeof p, "%s/report.html", dir);
    size_t len = 0;
    char *html = (char *)read_file(p, &len);
    CHECK(html && strstr(html, "6. When the theorem holds exactly"));
    free(html);
}

/* The demo's clipping comparison (section 4) in its own settings: plain SGD
 * on the IRNN explodes without clipping and its ReLU units die (exact-zero
 * gradients at long lags); the clipped twin keeps its gradient. */
TEST(demo_clipping_comparison_shows_the_effect)
{
    double gmax[2] = {0, 0};
    int dead[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char run[1100];
        snprintf(run, sizeof run, "%s/clip-%d", test_tmpdir, k);
        const char *train[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "30", "--hidden", "32", "--batch", "32",
                               "--cell", "relu", "--init", "identity", "--optim", "sgd", "--lr", "0.01", "--momentum", "0.9",
                               "--clip", k ? "0" : "1", "--steps", "300", "--seed", "1", "--log-every", "75",
                               "--flow-every", "75", "--eval-every", "300", "--on-nonfinite", "skip", "--quiet", "--out", run,
                               NULL};
        CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
        const char *rep[] = {"rnnlab", "report", run, "--json", NULL};
        CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
        size_t n = 0;
        char *out = (char *)read_file(tmp_path("cli.stdout"), &n);
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        gmax[k] = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "grad_norm_max"));
        dead[k] = cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "last_flow"), "ln_grad_lag_T"));
        cJSON_Delete(j);
        free(out);
    }
    CHECK_MSG(gmax[1] > 1e5 && gmax[0] < 1e4, "largest gradient norms: %g with clipping, %g without", gmax[0], gmax[1]);
    CHECK_MSG(dead[1] && !dead[0], "exact-zero gradient at lag T: %d with clipping, %d without", dead[0], dead[1]);
}

/* A run whose gradient flow has exact zeros (ln = -inf, null in flow.jsonl):
 * the heatmap gives them a colour of their own and says so. */
TEST(report_flow_exact_zeros)
{
    char run[1100];
    snprintf(run, sizeof run, "%s/zero-run", test_tmpdir);
    CHECK(mkdir(run, 0755) == 0);
    char p[1300];
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f) return;
    for (int s = 10; s <= 60; s += 10)
        fprintf(f, "{\"step\":%d,\"loss\":%g,\"grad_norm\":%g,\"grad_norm_max\":%g,\"baseline\":0.1667}\n", s,
                0.3 / s * 10, 2.0 / s * 10, 5.0 / s * 10);
    fclose(f);
    snprintf(p, sizeof p, "%s/flow.jsonl", run);
    f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f) return;
    /* tau = 0..4; from step 20 on the gradient at tau 0 and 1 is exactly zero */
    for (int s = 0; s <= 60; s += 10)
        fprintf(f, "{\"step\":%d,\"lag_log_grad\":[%s,%s,-3.5,-2,-1]}\n", s, s >= 20 ? "null" : "-6",
                s >= 20 ? "null" : "-5");
    fclose(f);
    const char *log = tmp_path("zero-figures.jsonl");
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    const char *rep[] = {"rnnlab", "report", run, NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    unsetenv("RNNLAB_FIGURE_LOG");
    CHECK(check_report(run) / 1000 == 3);
    long zeros = 0;
    CHECK(check_figure_log(log, 3, &zeros) == 3);
    CHECK_MSG(zeros == 10, "%ld cells drawn as exact zeros, want 10", zeros);
    snprintf(p, sizeof p, "%s/run-flow.png", run);
    /* the zero colour (light grey, hatched in dark grey) is on the figure, over the cells' whole area (issue
     * 28: they drew white, the image over them, with a sliver of hatching): 10 of the 35 cells, of a plot area
     * of about 590 x 470 pixels, so about 79,000 pixels; a third of that at least in the grey itself */
    CHECK(png_count_colour(p, 0xD7D7D7) > 0 && png_count_colour(p, 0x6E6E6E) > 0);
    long grey = png_count_colour(p, 0xD7D7D7);
    CHECK_MSG(grey > 26000, "%ld pixels of the exact-zero grey", grey);
    snprintf(p, sizeof p, "%s/report.html", run);
    size_t n = 0;
    char *html = (char *)read_file(p, &n);
    CHECK(html && strstr(html, "exactly zero"));
    /* the summary table says the last record's ln at lag T is an exact zero */
    const char *flow = html ? strstr(html, "gradient flow</th>") : NULL;
    CHECK(flow && strstr(flow, "(exact 0) at step 60"));
    free(html);
}

/* Issue 28 (2): a run that diverges at step 2, with the default --log-every
 * 10, logs the steps before it and the step that diverged, with a flow
 * record of the model that diverged; report draws it (the divergence
 * marked on the loss and gradient-norm figures, the flow heatmap with its
 * last column), titled by the run, and no non-finite value reaches PLplot. */
TEST(report_draws_a_diverged_run)
{
    char run[1100], p[1300];
    snprintf(run, sizeof run, "%s/diverged-run", test_tmpdir);
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--hidden", "64", "--init", "gaussian", "--gain", "50",
                        "--optim", "sgd", "--lr", "1000", "--clip", "0", "--steps", "50", "--quiet", "--out", run, NULL};
    char e[600];
    CHECK(run_cli(tr, NULL, NULL, 0, e, sizeof e) == 1);
    size_t n = 0;
    char *m = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(m && strstr(m, "step 2: the loss is"), "%s", m ? m : "");
    free(m);
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    m = (char *)read_file(p, &n);
    CHECK_MSG(m && strstr(m, "{\"step\":1,\"loss\":") && strstr(m, "{\"step\":2,\"diverged\":true,\"reason\":\"the loss is") &&
                  strstr(m, "\"step_loss\":\"nan\""),
              "%s", m ? m : "(none)");
    free(m);
    snprintf(p, sizeof p, "%s/flow.jsonl", run);
    m = (char *)read_file(p, &n);
    CHECK(m && strstr(m, "{\"step\":0,") && strstr(m, "{\"step\":2,"));
    free(m);
    snprintf(p, sizeof p, "%s/metrics.csv", run); /* written at the stop too, with the divergence's column */
    m = (char *)read_file(p, &n);
    CHECK_MSG(m && strstr(m, ",diverged\n") && strstr(m, "\n2,"), "%s", m ? m : "(no metrics.csv)");
    free(m);
    const char *log = tmp_path("diverged-figures.jsonl");
    unlink(log);
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    const char *rep[] = {"rnnlab", "report", run, NULL};
    CHECK_MSG(run_cli(rep, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    unsetenv("RNNLAB_FIGURE_LOG");
    m = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(m && !strstr(m, "PLPLOT") && !strstr(m, "plwind"), "PLplot complained: %s", m ? m : "");
    free(m);
    long zeros = 0;
    CHECK(check_figure_log(log, 2, &zeros) == 3); /* loss, gradient norm, flow */
    CHECK_MSG(zeros > 50, "%ld exact-zero cells: the diverged model's gradient underflows", zeros);
    m = (char *)read_file(log, &n);
    CHECK(m && strstr(m, "\"title\":\"adding, T = 100: tanh, 1 x 64 units\"") && !strstr(m, "this run"));
    free(m);
    /* the divergence's line (colour 5) on the loss and gradient-norm figures */
    snprintf(p, sizeof p, "%s/run-gradnorm.png", run);
    CHECK(png_count_colour(p, 0x56B4E9) > 0);
    snprintf(p, sizeof p, "%s/report.html", run);
    m = (char *)read_file(p, &n);
    CHECK(m && strstr(m, "diverged</th><td>at step 2: the loss is") && strstr(m, "The run diverged at step 2"));
    free(m);
    const char *js[] = {"rnnlab", "report", run, "--json", NULL};
    char out[2000];
    CHECK(run_cli(js, NULL, out, sizeof out, NULL, 0) == 0);
    m = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK(m && strstr(m, "\"diverged_step\":2"));
    free(m);
}

TEST(report_and_plot_commands)
{
    char run[1100];
    snprintf(run, sizeof run, "%s/report-run", test_tmpdir);
    const char *train[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "12", "--hidden", "8", "--batch", "8",
                           "--steps", "40", "--log-every", "5", "--flow-every", "5", "--eval-every", "20", "--quiet",
                           "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    const char *rep[] = {"rnnlab", "report", run, NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    int k = check_report(run);
    CHECK_MSG(k / 1000 == 3, "report: %d figures", k / 1000);
    /* plot: one figure from each analysis output */
    const char *jm = fixture("tanh_l3_mse_long.model.safetensors"), *jd = fixture("tanh_l3_mse_long.data.safetensors");
    const char *j = tmp_path("pj.safetensors"), *s = tmp_path("ps.json"), *l = tmp_path("pl.json");
    const char *a1[] = {"rnnlab", "jacobian", "--model", jm, "--data", jd, "--out", j, NULL};
    const char *a2[] = {"rnnlab", "spectrum", "--model", jm, "--data", jd, "--lags", "1,5", "--out", s, NULL};
    const char *a3[] = {"rnnlab", "lyapunov", "--model", jm, "--steps", "200", "--out", l, NULL};
    CHECK(run_cli(a1, NULL, NULL, 0, NULL, 0) == 0 && run_cli(a2, NULL, NULL, 0, NULL, 0) == 0 &&
          run_cli(a3, NULL, NULL, 0, NULL, 0) == 0);
    /* a --no-steps spectrum and a Lyapunov run with a trace of its running estimates */
    const char *sn = tmp_path("psn.json"), *lt = tmp_path("plt.json");
    const char *a4[] = {"rnnlab", "spectrum", "--model", jm, "--data", jd, "--lags", "1,5,20", "--no-steps", "--out", sn, NULL};
    const char *a5[] = {"rnnlab", "lyapunov", "--model", jm, "--steps", "200", "--k", "3", "--trace-every", "20",
                        "--out", lt, NULL};
    CHECK(run_cli(a4, NULL, NULL, 0, NULL, 0) == 0 && run_cli(a5, NULL, NULL, 0, NULL, 0) == 0);
    const char *kinds[7] = {"lags", "spectrum", "lyapunov", "lag-spectra", "lag-spectra", "lyapunov", "lyapunov-trace"};
    const char *ins[7] = {j, s, l, s, sn, lt, lt};
    const char *log = tmp_path("plot-figures.jsonl");
    remove(log);
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    for (int i = 0; i < 7; i++) {
        char png[64];
        snprintf(png, sizeof png, "plot%d.png", i);
        const char *pa[] = {"rnnlab", "plot", kinds[i], ins[i], "--out", tmp_path(png), NULL};
        CHECK_MSG(run_cli(pa, NULL, NULL, 0, NULL, 0) == 0, "plot %s %s", kinds[i], ins[i]);
        check_png(tmp_path(png));
    }
    unsetenv("RNNLAB_FIGURE_LOG");
    long zeros = 0;
    CHECK(check_figure_log(log, 2, &zeros) == 7);
    /* titles name what is drawn, not the input's path; the index of three
     * exponents is ticked at whole numbers */
    size_t n = 0;
    char *figs = (char *)read_file(log, &n);
    char needle[1100];
    snprintf(needle, sizeof needle, "\"title\":\"%s", test_tmpdir);
    CHECK(figs && !strstr(figs, needle) && strstr(figs, "Lyapunov exponents: running estimates"));
    const char *ly = figs ? strstr(figs, "Lyapunov spectrum (tanh, S = 18, 200 steps)") : NULL;
    CHECK(ly != NULL);
    if (ly) {
        const char *x = strstr(ly, "\"labels\":[") + 10, *e = strchr(x, ']');
        CHECK_MSG(e && (size_t)(e - x) < 40 && !memchr(x, '.', (size_t)(e - x)), "index labels %.40s", x);
    }
    free(figs);
    struct { const char *argv[8]; int status; const char *frag; } bad[] = {
        {{"rnnlab", "report", NULL}, 2, "RUN_DIR is required"},
        {{"rnnlab", "report", run, "extra", NULL}, 2, "several runs go on one page in a folder of its own: --out DIR"},
        {{"rnnlab", "report", test_fixtures, NULL}, 1, "not a run folder"},
        {{"rnnlab", "plot", "histogram", j, "--out", tmp_path("x.png"), NULL}, 2, "unknown plot kind"},
        {{"rnnlab", "plot", "lags", j, NULL}, 2, "--out is required"},
        {{"rnnlab", "plot", "lags", s, "--out", tmp_path("x.png"), NULL}, 1, "ps.json"},
        {{"rnnlab", "plot", "lyapunov", j, "--out", tmp_path("x.png"), NULL}, 1, "cannot read it as JSON"},
        {{"rnnlab", "plot", "lags", j, "--out", tmp_path("x.jpg"), NULL}, 2, "figures are written as PNG"},
        {{"rnnlab", "plot", "spectrum", sn, "--out", tmp_path("x.png"), NULL}, 1, "plot lag-spectra"},
        {{"rnnlab", "plot", "lyapunov-trace", l, "--out", tmp_path("x.png"), NULL}, 1, "--trace-every"},
        {{"rnnlab", "demo", "--frames", "3", NULL}, 2, "unknown option '--frames'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[512];
        int st = run_cli(bad[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == bad[i].status && strstr(e, bad[i].frag), "case %zu: exit %d, '%s'", i, st, e);
        CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines on stderr", i, run_cli_err_lines());
    }
    FILE *jpg = fopen(tmp_path("x.jpg"), "rb");
    CHECK_MSG(jpg == NULL, "x.jpg was written");
    if (jpg) fclose(jpg);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fputs(text, f), fclose(f);
}

/* plot csv: a table's columns as lines, log axes where asked and where the
 * data span a decade, gaps where cells are empty; and every malformed table
 * said in one line */
TEST(plot_csv_draws_a_table)
{
    const char *t = tmp_path("steps.csv"), *png = tmp_path("steps.png"), *log = tmp_path("csv-figures.jsonl");
    write_text(t, "# steps to solve\nT,chrono-gru,indrnn,leaky\n100,120,2400,\n200,300,,\n500,900,,\n1000,1700,,\n");
    remove(log);
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    const char *a[] = {"rnnlab", "plot", "csv", t, "--logx", "--logy", "--points", "--title", "Steps to solve",
                       "--ylabel", "steps", "--out", png, NULL};
    CHECK(run_cli(a, NULL, NULL, 0, NULL, 0) == 0);
    unsetenv("RNNLAB_FIGURE_LOG");
    check_png(png);
    long zeros = 0;
    CHECK(check_figure_log(log, 2, &zeros) == 1);
    size_t n = 0;
    char *fig = (char *)read_file(log, &n);
    cJSON *j = fig ? cJSON_Parse(fig) : NULL;
    CHECK(j != NULL);
    if (j) {
        CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "title")), "Steps to solve") == 0);
        const cJSON *ax = cJSON_GetObjectItem(j, "axes");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(ax, 0), "log")) &&
              cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(ax, 1), "log")));
        /* two series drew markers (leaky has no number: no line, no legend entry): 4 + 1 */
        const cJSON *marks = cJSON_GetObjectItem(j, "marks");
        int drawn = 0;
        for (int i = 0; i + 1 < cJSON_GetArraySize(marks); i += 2) drawn += cJSON_GetArrayItem(marks, i + 1)->valueint;
        CHECK_MSG(drawn == 5, "%d markers", drawn);
        cJSON_Delete(j);
    }
    free(fig);
    /* both sides of the series limit: 8 series draw, 9 are refused */
    char wide[512] = "x", row[512] = "1";
    for (int k = 1; k <= 9; k++) {
        char h[32];
        snprintf(h, sizeof h, ",s%d", k);
        strcat(wide, h);
        snprintf(h, sizeof h, ",%d", k);
        strcat(row, h);
        if (k == 8) {
            char text[1100];
            snprintf(text, sizeof text, "%s\n%s\n", wide, row);
            write_text(tmp_path("w8.csv"), text);
        }
    }
    char text[1100];
    snprintf(text, sizeof text, "%s\n%s\n", wide, row);
    write_text(tmp_path("w9.csv"), text);
    const char *w8[] = {"rnnlab", "plot", "csv", tmp_path("w8.csv"), "--out", tmp_path("w8.png"), NULL};
    CHECK(run_cli(w8, NULL, NULL, 0, NULL, 0) == 0);
    write_text(tmp_path("one.csv"), "x\n1\n");
    write_text(tmp_path("empty.csv"), "# nothing\nx,y\n");
    write_text(tmp_path("word.csv"), "x,y\n1,2\n2,abc\n");
    write_text(tmp_path("short.csv"), "x,y,z\n1,2,3\n2,3\n");
    write_text(tmp_path("gaps.csv"), "x,y\n1,\n2,\n");
    /* issue 28 (9): a run's metrics.jsonl given to plot csv says what the file is */
    write_text(tmp_path("plot-metrics.jsonl"), "{\"step\": 10, \"loss\": 0.5, \"grad_norm\": 1, \"lr\": 0.001, \"skipped\": 0}\n"
                                          "{\"step\": 20, \"loss\": 0.4, \"grad_norm\": 1, \"lr\": 0.001, \"skipped\": 0}\n");
    struct { const char *in; const char *frag; int status; } bad[] = {
        {tmp_path("w9.csv"), "more than 8 series", 1},
        {tmp_path("one.csv"), "the header names one column", 1},
        {tmp_path("empty.csv"), "has no rows", 1},
        {tmp_path("word.csv"), "line 3, column 'y': 'abc' is not a number", 1},
        {tmp_path("short.csv"), "line 3 has 2 fields, the header 3", 1},
        {tmp_path("gaps.csv"), "no series has a number", 1},
        {tmp_path("plot-metrics.jsonl"), "line 1 starts a JSON object: this is JSON (JSON Lines, as a run's metrics.jsonl), not a CSV table", 1},
        {"/nonexistent/t.csv", "cannot read it", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[512];
        const char *argv[] = {"rnnlab", "plot", "csv", bad[i].in, "--out", tmp_path("bad.png"), NULL};
        int st = run_cli(argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == bad[i].status && strstr(e, bad[i].frag), "case %zu: exit %d, '%s'", i, st, e);
        CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines on stderr", i, run_cli_err_lines());
    }
    FILE *f = fopen(tmp_path("bad.png"), "rb");
    CHECK_MSG(f == NULL, "a refused table left a figure");
    if (f) fclose(f);
    /* the table's options belong to plot csv */
    const char *jm = fixture("tanh_l3_mse_long.model.safetensors");
    const char *other[] = {"rnnlab", "plot", "lags", jm, "--logy", "--out", tmp_path("x.png"), NULL};
    char e[512];
    CHECK(run_cli(other, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "are for plot csv"));
}

/* A run with one flow record (stopped before its second): the report draws
 * that record against the lag instead of leaving the flow out (issue 28). */
TEST(report_draws_a_single_flow_record)
{
    char run[1100], p[1300];
    snprintf(run, sizeof run, "%s/one-flow-run", test_tmpdir);
    CHECK(mkdir(run, 0755) == 0);
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    write_text(p, "{\"step\":1,\"loss\":1.2,\"grad_norm\":3e5,\"grad_norm_max\":3e5}\n"
                  "{\"step\":2,\"loss\":0.9,\"grad_norm\":2e5,\"grad_norm_max\":2e5}\n");
    snprintf(p, sizeof p, "%s/flow.jsonl", run);
    write_text(p, "{\"step\":0,\"lag_log_grad\":[38.1,30.5,20.2,null,0.4]}\n");
    const char *rep[] = {"rnnlab", "report", run, NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(p, sizeof p, "%s/run-flow.png", run);
    check_png(p);
    snprintf(p, sizeof p, "%s/report.html", run);
    size_t n = 0;
    char *html = (char *)read_file(p, &n);
    CHECK(html && strstr(html, "only gradient-flow record (step 0)") && strstr(html, "an exact zero"));
    free(html);
}
