/* The demo and the reports: every figure the page links exists, is a valid
 * PNG that is not blank, and every CSV parses with the columns it names. */
#include "test.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

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
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    unsigned char *err = read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(err && !strstr((char *)err, "PLPLOT"), "PLplot complained");
    free(err);
    int k = check_report(dir);
    CHECK_MSG(k / 1000 >= 10 && k % 1000 >= 8, "demo: %d figures, %d CSVs", k / 1000, k % 1000);
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
    const char *kinds[3] = {"lags", "spectrum", "lyapunov"}, *ins[3] = {j, s, l};
    for (int i = 0; i < 3; i++) {
        const char *png = tmp_path(kinds[i]);
        const char *pa[] = {"rnnlab", "plot", kinds[i], ins[i], "--out", png, NULL};
        CHECK_MSG(run_cli(pa, NULL, NULL, 0, NULL, 0) == 0, "plot %s", kinds[i]);
        check_png(png);
    }
    struct { const char *argv[8]; int status; const char *frag; } bad[] = {
        {{"rnnlab", "report", NULL}, 2, "RUN_DIR is required"},
        {{"rnnlab", "report", run, "extra", NULL}, 2, "unexpected argument 'extra'"},
        {{"rnnlab", "report", test_fixtures, NULL}, 1, "not a run folder"},
        {{"rnnlab", "plot", "histogram", j, "--out", tmp_path("x.png"), NULL}, 2, "unknown plot kind"},
        {{"rnnlab", "plot", "lags", j, NULL}, 2, "--out is required"},
        {{"rnnlab", "plot", "lags", s, "--out", tmp_path("x.png"), NULL}, 1, "ps.json"},
        {{"rnnlab", "plot", "lyapunov", j, "--out", tmp_path("x.png"), NULL}, 1, "cannot read it as JSON"},
        {{"rnnlab", "demo", "--frames", "3", NULL}, 2, "unknown option '--frames'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[512];
        int st = run_cli(bad[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == bad[i].status && strstr(e, bad[i].frag), "case %zu: exit %d, '%s'", i, st, e);
        CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines on stderr", i, run_cli_err_lines());
    }
}
