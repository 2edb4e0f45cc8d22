/* Figures with PLplot: see plot.h. */
#include "plots/plot.h"

#include "cli.h"
#include "plots/plot_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Okabe-Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow, black */
static const int palette[8][3] = {{0, 114, 178}, {213, 94, 0},   {0, 158, 115}, {204, 121, 167},
                                  {230, 159, 0}, {86, 180, 233}, {240, 228, 66}, {0, 0, 0}};
const char *const pl_markers[8] = {"#[0x25cf]", "#[0x25b2]", "#[0x25a0]", "#[0x25c6]",
                                   "#[0x2716]", "#[0x271a]", "#[0x25bc]", "#[0x2605]"};

static char png_path[4200], png_tmp[4200]; /* the figure being drawn, and where */

int pl_open_png(const char *path, int w, int h)
{
    png_tmp[0] = '\0';
    snprintf(png_path, sizeof png_path, "%s", path);
    struct stat sb;
    if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* outputs are regular files */
        fprintf(stderr, "%s: %s: cannot write: it is not a regular file\n", cli_prog, path);
        return -1;
    }
    if (strcmp(path, "-") != 0) {
        int fd = -1;
        if (snprintf(png_tmp, sizeof png_tmp, "%s.tmp.XXXXXX", path) < (int)sizeof png_tmp) fd = mkstemp(png_tmp);
        if (fd < 0) {
            fprintf(stderr, "%s: %s: cannot write: %s\n", cli_prog, path, strerror(errno ? errno : ENAMETOOLONG));
            png_tmp[0] = '\0';
            return -1;
        }
        close(fd);
    }
    plsstrm(0);
    plsdev("pngcairo");
    plsfnam(png_tmp[0] ? png_tmp : path);
    plspage(0, 0, w, h, 0, 0);
    plscolbg(255, 255, 255);
    plscmap0n(16);
    plscol0(0, 255, 255, 255);
    plscol0(1, 30, 30, 30);
    for (int i = 0; i < 8; i++) plscol0(COL0 + i, palette[i][0], palette[i][1], palette[i][2]);
    plscol0(COL_GRID, 222, 222, 222);
    plscol0(COL_ZERO, 215, 215, 215);
    plscol0(COL_HATCH, 110, 110, 110);
    plscol0(15, 30, 30, 30); /* PLplot draws some text in colour 15, white by default */
    plinit();
    pladv(0);
    plfontld(1);
    plschr(0, 1.05);
    return 0;
}

int pl_close_png(int ok)
{
    plend1();
    if (!png_tmp[0]) return 0;
    int bad = ok && (chmod(png_tmp, 0644) != 0 || rename(png_tmp, png_path) != 0);
    if (bad) fprintf(stderr, "%s: %s: cannot write: %s\n", cli_prog, png_path, strerror(errno));
    if (!ok || bad) unlink(png_tmp);
    png_tmp[0] = '\0';
    return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- axes */

#define MINUS "#[0x2212]"

/* v with d decimals and a true minus sign */
static void fmt_fixed(char *b, size_t n, double v, int d)
{
    if (fabs(v) < 0.5 * pow(10, -d)) v = 0; /* no "-0" */
    snprintf(b, n, "%s%.*f", v < 0 ? MINUS : "", d, fabs(v));
}

/* Decimals that print step exactly (up to 12). */
static int decimals_of(double step)
{
    int d = 0;
    for (double s = fabs(step); d < 12 && fabs(s - round(s)) > 1e-6 * fmax(s, 1e-300); d++) s *= 10;
    return d;
}

/* m x 10^k as a tick label: plain when plain (for 0.001 .. 50000), else
 * with a power of ten */
static void fmt_pow(char *b, size_t n, int m, int k, int si, int plain)
{
    if (si && k >= 0) {
        static const char *const suffix[] = {"", "k", "M", "G", "T"};
        int g = k / 3 < 4 ? k / 3 : 4;
        snprintf(b, n, "%g%s", m * pow(10, k - 3 * g), suffix[g]);
    } else if (plain && k >= -3 && k <= 4) {
        fmt_fixed(b, n, m * pow(10, k), k < 0 ? -k : 0);
    } else if (m == 1) {
        snprintf(b, n, "10#u%s%d#d", k < 0 ? MINUS : "", abs(k));
    } else {
        snprintf(b, n, "%d#[0x00d7]10#u%s%d#d", m, k < 0 ? MINUS : "", abs(k));
    }
}

static void add_tick(pl_axis *a, double at, const char *text)
{
    if (a->n < PL_AX_MAX) a->at[a->n] = at, snprintf(a->text[a->n++], sizeof a->text[0], "%s", text);
}

static void add_minor(pl_axis *a, double at)
{
    if (a->nminor < PL_AX_MINOR) a->minor[a->nminor++] = at;
}

static void axis_linear(pl_axis *a, int integer)
{
    double lo = a->lo, hi = a->hi, span = hi - lo, raw = span / 7;
    double mag = pow(10, floor(log10(raw)));
    static const double nice[5] = {1, 2, 2.5, 5, 10};
    double step = 10 * mag, f = 10;
    for (int i = 0; i < 5; i++)
        if (nice[i] * mag >= raw * (1 - 1e-9) && !(integer && nice[i] == 2.5 && mag < 10)) { /* no 2.5 on whole numbers */
            step = nice[i] * mag, f = nice[i];
            break;
        }
    if (integer && step < 1) step = 1, f = 1, mag = 1;
    double minor = step / (f == 2 ? 4 : 5);
    if (integer && fabs(minor - round(minor)) > 1e-9) minor = step >= 2 && fmod(step, 2) == 0 ? step / 2 : 0;
    /* labels of large or tiny numbers share one power of ten */
    double top = fmax(fabs(lo), fabs(hi));
    int e = top > 0 ? (int)floor(log10(top)) : 0, sci = !integer && (e >= 5 || step < 1e-4);
    double unit = sci ? pow(10, e) : 1;
    int d = decimals_of(step / unit);
    double eps = 1e-9 * span;
    for (double k = ceil((lo - eps) / step); k * step <= hi + eps && a->n < PL_AX_MAX; k++) {
        double v = k * step;
        char t[32], s[80];
        fmt_fixed(t, sizeof t, v / unit, d);
        if (sci && v != 0) snprintf(s, sizeof s, "%s#[0x00d7]10#u%s%d#d", t, e < 0 ? MINUS : "", abs(e));
        else snprintf(s, sizeof s, "%s", t);
        add_tick(a, v, s);
    }
    if (minor > 0)
        for (double k = ceil((lo - eps) / minor); k * minor <= hi + eps; k++) {
            double v = k * minor;
            if (fabs(remainder(v, step)) > 1e-6 * step) add_minor(a, v);
        }
}

static void axis_log(pl_axis *a, int si)
{
    double lo = a->lo, hi = a->hi, span = hi - lo, eps = 1e-9 * fmax(span, 1);
    int k0 = (int)floor(lo), k1 = (int)ceil(hi);
    char t[48];
    int decades = 0;
    for (int k = k0; k <= k1; k++) decades += k >= lo - eps && k <= hi + eps;
    if (span <= 2.3 || decades < 3) { /* 1, 2 and 5 in every decade */
        for (int k = k0; k <= k1; k++)
            for (int m = 1; m <= 9; m++) {
                double v = k + log10(m);
                if (v < lo - eps || v > hi + eps) continue;
                if (m == 1 || m == 2 || m == 5) fmt_pow(t, sizeof t, m, k, si, 1), add_tick(a, v, t);
                else add_minor(a, v);
            }
        return;
    }
    static const int every_of[12] = {1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 500, 1000};
    int every = 1000;
    for (int i = 0; i < 12; i++) {
        int e = every_of[i], count = 0;
        for (int k = k0; k <= k1; k++) count += k % e == 0 && k >= lo - eps && k <= hi + eps;
        if (count <= 8) {
            every = e;
            break;
        }
    }
    int minor_every = every >= 10 ? every / 5 : 1;
    /* one style for all the decades: 0.001 .. 10000 plainly, else all as powers of ten */
    int plain = lo >= -3.5 && hi <= 4.5;
    for (int k = k0; k <= k1; k++) {
        if (k < lo - eps || k > hi + eps) continue;
        if (k % every == 0) fmt_pow(t, sizeof t, 1, k, si, plain), add_tick(a, k, t);
        else if (k % minor_every == 0) add_minor(a, k);
    }
    if (every == 1 && span <= 5) /* 2 .. 9 between the decades */
        for (int k = k0; k <= k1; k++)
            for (int m = 2; m <= 9; m++)
                if (k + log10(m) >= lo - eps && k + log10(m) <= hi + eps) add_minor(a, k + log10(m));
}

void pl_axis_make(pl_axis *a, const char *name, double lo, double hi, int log, int integer, int si)
{
    memset(a, 0, sizeof *a);
    a->name = name, a->lo = lo, a->hi = hi, a->log = log;
    if (!(hi > lo)) a->hi = hi = lo + 1;
    if (log) axis_log(a, si);
    else axis_linear(a, integer);
}

double pl_label_width(const char *s)
{
    double w = 0;
    int sup = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] == '#' && (p[1] == 'u' || p[1] == 'd')) {
            sup += p[1] == 'u' ? 1 : -1, p++;
            continue;
        }
        if (p[0] == '#' && p[1] == '[') {
            const char *e = strchr(p, ']');
            if (e) p = e;
        } else if ((*p & 0xC0) == 0x80) {
            continue; /* UTF-8 continuation byte */
        }
        w += sup ? 0.7 : 1;
    }
    return w;
}

double pl_axis_label_width(const pl_axis *a)
{
    double w = 0;
    for (int i = 0; i < a->n; i++) w = fmax(w, pl_label_width(a->text[i]));
    return w;
}

/* a digit of the tick labels is about 0.8 character heights wide */
double pl_title_disp(const pl_axis *a) { return 0.6 + 0.8 * pl_axis_label_width(a) + 1.3; }

void pl_axis_draw(const pl_axis *x, const pl_axis *y, int grid, double vw, double vh)
{
    double xs = x->hi - x->lo, ys = y->hi - y->lo, eps = 1e-6;
    double tx = 9 / vh * ys, ty = 9 / vw * xs; /* 9-pixel major ticks */
    if (grid) {
        plcol0(COL_GRID);
        plwidth(0.8);
        for (int i = 0; i < x->n; i++)
            if (x->at[i] > x->lo + eps * xs && x->at[i] < x->hi - eps * xs) pljoin(x->at[i], y->lo, x->at[i], y->hi);
        for (int i = 0; i < y->n; i++)
            if (y->at[i] > y->lo + eps * ys && y->at[i] < y->hi - eps * ys) pljoin(x->lo, y->at[i], x->hi, y->at[i]);
    }
    plcol0(1);
    plwidth(1);
    pllsty(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int pass = 0; pass < 2; pass++) {
        const pl_axis *a = pass ? y : x;
        for (int i = 0; i < a->n + a->nminor; i++) {
            double v = i < a->n ? a->at[i] : a->minor[i - a->n], f = i < a->n ? 1 : 0.5;
            if (pass == 0) pljoin(v, y->lo, v, y->lo + f * tx), pljoin(v, y->hi, v, y->hi - f * tx);
            else pljoin(x->lo, v, x->lo + f * ty, v), pljoin(x->hi, v, x->hi - f * ty, v);
        }
    }
    for (int i = 0; i < x->n; i++) plmtex("b", 1.5, (x->at[i] - x->lo) / xs, 0.5, x->text[i]);
    for (int i = 0; i < y->n; i++) plmtex("lv", 0.6, (y->at[i] - y->lo) / ys, 1.0, y->text[i]);
}

/* ---------------------------------------------------------------- the test hook */

int pl_points_add(pl_points *p, double x, double y)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 1024;
        double *nx = realloc(p->xy, (size_t)cap * 2 * sizeof *nx);
        if (!nx) return -1;
        p->xy = nx, p->cap = cap;
    }
    p->xy[2 * p->n] = x, p->xy[2 * p->n + 1] = y, p->n++;
    return 0;
}

void pl_hook(const char *png, const char *title, const pl_axis *const *axes, int nax, const double *legend,
             const pl_points *p, const int *marks, int nseries, long zero_cells)
{
    const char *log = getenv("RNNLAB_FIGURE_LOG");
    if (!log || !*log) return;
    cJSON *j = cJSON_CreateObject(), *ax = cJSON_AddArrayToObject(j, "axes");
    cJSON_AddStringToObject(j, "png", png);
    cJSON_AddStringToObject(j, "title", title ? title : "");
    for (int i = 0; i < nax; i++) {
        cJSON *a = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(a, "labels");
        cJSON_AddStringToObject(a, "name", axes[i]->name);
        cJSON_AddBoolToObject(a, "log", axes[i]->log);
        for (int k = 0; k < axes[i]->n; k++) cJSON_AddItemToArray(l, cJSON_CreateString(axes[i]->text[k]));
        cJSON_AddItemToArray(ax, a);
    }
    if (legend) cJSON_AddItemToObject(j, "legend", cJSON_CreateDoubleArray(legend, 4));
    else cJSON_AddNullToObject(j, "legend");
    cJSON_AddItemToObject(j, "points", p && p->n ? cJSON_CreateDoubleArray(p->xy, 2 * p->n) : cJSON_CreateArray());
    cJSON_AddNumberToObject(j, "zero_cells", (double)zero_cells);
    cJSON_AddItemToObject(j, "marks", nseries > 0 ? cJSON_CreateIntArray(marks, 2 * nseries) : cJSON_CreateArray());
    char *txt = cJSON_PrintUnformatted(j);
    FILE *f = fopen(log, "a");
    if (f && txt) fprintf(f, "%s\n", txt);
    if (f) fclose(f);
    free(txt);
    cJSON_Delete(j);
}

int plot_utf8_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) return 1;
    int n = u[0] >= 0xc2 && u[0] <= 0xdf ? 2 : u[0] >= 0xe0 && u[0] <= 0xef ? 3 : u[0] >= 0xf0 && u[0] <= 0xf4 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((u[k] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0))) return 0; /* overlong, surrogate */
    if (n == 4 && ((u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))) return 0; /* overlong, > U+10FFFF */
    return n;
}

int plot_utf8_ok(const char *s)
{
    for (int k; *s; s += k)
        if (!(k = plot_utf8_len(s))) return 0;
    return 1;
}

void plot_text(char *out, size_t n, const char *s)
{
    size_t at = 0;
    for (int k; *s && at + 5 < n; s += k) {
        k = plot_utf8_len(s);
        if (!k || (unsigned char)*s < 0x20 || *s == 0x7f) {
            out[at++] = '?';
            k = 1;
        } else if (*s == '#') {
            out[at++] = '#', out[at++] = '#';
        } else {
            memcpy(out + at, s, (size_t)k), at += (size_t)k;
        }
    }
    if (n) out[at < n ? at : n - 1] = '\0';
}

int plot_png_name(const char *path)
{
    if (strcmp(path, "-") == 0) return 1;
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) && strcasecmp(dot, ".png") == 0;
}

/* ---------------------------------------------------------------- line plots */

static int usable(double x, double y, int logx, int logy)
{
    return isfinite(x) && isfinite(y) && (!logx || x > 0) && (!logy || y > 0);
}

int plot_log_axis(const pl_series *s, int n, int y)
{
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = y ? s[k].y[i] : s[k].x[i];
            if (isfinite(v) && v > 0) lo = fmin(lo, v), hi = fmax(hi, v);
        }
    return hi >= 10 * lo;
}

static void bounds(const pl_series *s, int n, int logx, int logy, double *x0, double *x1, double *y0, double *y1)
{
    *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
    int points = 0;
    for (int k = 0; k < n; k++) {
        points |= (s[k].style & PL_POINTS) != 0;
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!usable(x, y, logx, logy)) continue;
            if (logx) x = log10(x);
            if (logy) y = log10(y);
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
        }
    }
    if (!isfinite(*x0)) *x0 = 0, *x1 = 1;
    if (!isfinite(*y0)) *y0 = 0, *y1 = 1;
    /* one value: a range around it that its size does not swallow (1e38 +- 0.5 is 1e38: PLplot refuses the window) */
    if (*x1 == *x0) *x0 -= fmax(0.5, 0.05 * fabs(*x0)), *x1 += fmax(0.5, 0.05 * fabs(*x1));
    if (*y1 == *y0) *y0 -= fmax(0.5, 0.05 * fabs(*y0)), *y1 += fmax(0.5, 0.05 * fabs(*y1));
    double dy = 0.05 * (*y1 - *y0), dx = points ? 0.02 * (*x1 - *x0) : 0; /* room for the markers */
    *y0 -= dy, *y1 += dy, *x0 -= dx, *x1 += dx;
}

/* The layout of a figure: the plot area (page fractions) and the axes. */
typedef struct {
    int w, h;                 /* page, pixels */
    double vx0, vx1, vy0, vy1; /* plot area */
    pl_axis x, y;
} layout;

/* The plot area for these axes: room on the left for the y labels and the
 * y axis title, right edge at right. Needs the page open (character size). */
static void place(layout *L, double right, int square)
{
    PLFLT def, ch, xmin, xmax, ymin, ymax;
    plgchr(&def, &ch);
    plgspa(&xmin, &xmax, &ymin, &ymax);
    double chw = ch / (xmax - xmin), chh = ch / (ymax - ymin); /* a character's height in page fractions */
    double ylab = pl_title_disp(&L->y);
    L->vx0 = (ylab + 1.2) * chw, L->vx1 = right, L->vy0 = 4.6 * chh, L->vy1 = 1 - 3.4 * chh;
    if (square) { /* equal pixel sizes: shrink the longer side, centred */
        double pw = (L->vx1 - L->vx0) * L->w, ph = (L->vy1 - L->vy0) * L->h;
        if (pw > ph) L->vx1 = L->vx0 + ph / L->w;
        else L->vy1 = L->vy0 + pw / L->h;
    }
}

static double ylabel_disp(const layout *L) { return pl_title_disp(&L->y); }

/* The normalised position of plot point (x, y). */
static double nx_of(const layout *L, double x) { return (x - L->x.lo) / (L->x.hi - L->x.lo); }
static double ny_of(const layout *L, double y) { return (y - L->y.lo) / (L->y.hi - L->y.lo); }

/* The series' points (plot units) and the lines between them sampled every
 * half per cent of the plot area, for the legend's placement and the hook;
 * the unit circle too. Points outside the area are left out. */
static int collect(const layout *L, const pl_figure *f, const pl_series *s, int n, pl_points *out)
{
    out->n = 0;
    for (int k = 0; k < n; k++) {
        double px = NAN, py = NAN;
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!usable(x, y, L->x.log, L->y.log)) continue;
            double a = nx_of(L, L->x.log ? log10(x) : x), b = ny_of(L, L->y.log ? log10(y) : y);
            int steps = (s[k].style & PL_LINE) && isfinite(px) ? (int)ceil(hypot(a - px, b - py) / 0.005) : 1;
            if (steps > 400) steps = 400;
            for (int j = 1; j <= steps; j++) {
                double u = isfinite(px) ? px + (a - px) * j / steps : a, v = isfinite(py) ? py + (b - py) * j / steps : b;
                if (u >= 0 && u <= 1 && v >= 0 && v <= 1 && pl_points_add(out, u, v)) return -1;
            }
            px = a, py = b;
        }
    }
    for (int i = 0; f->unit_circle && i < 360; i++) {
        double u = nx_of(L, cos(i * M_PI / 180)), v = ny_of(L, sin(i * M_PI / 180));
        if (pl_points_add(out, u, v)) return -1;
    }
    return 0;
}

static int hits(const pl_points *p, const double box[4])
{
    int k = 0;
    for (int i = 0; i < p->n; i++) {
        double x = p->xy[2 * i], y = p->xy[2 * i + 1];
        k += x >= box[0] - 0.01 && x <= box[2] + 0.01 && y >= box[1] - 0.01 && y <= box[3] + 0.01;
    }
    return k;
}

typedef struct {
    int n;
    PLINT opt[16], lcol[16], lsty[16], scol[16], snum[16], tcol[16];
    PLFLT lw[16], ssc[16];
    const char *text[16], *sym[16];
} legend;

#define LEGEND_LINE_PAGE 0.065 /* the sample line's length, a fraction of the page width */

/* Draw the legend with its top-left corner at (x, y) from the plot area's
 * top-left, inward (outside: to the right of the area, centred); its size
 * in the area's normalised units in w, h. */
static void draw_legend(const legend *g, const layout *L, int outside, double x, double y, PLFLT *w, PLFLT *h)
{
    PLINT pos = outside ? PL_POSITION_RIGHT | PL_POSITION_OUTSIDE : PL_POSITION_LEFT | PL_POSITION_TOP | PL_POSITION_INSIDE;
    pllegend(w, h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, pos, x, y, LEGEND_LINE_PAGE / (L->vx1 - L->vx0), 0, 1, 1,
             0, 0, g->n, g->opt, 0.8, 0.85, 2.0, 0, g->tcol, g->text, NULL, NULL, NULL, NULL, g->lcol, g->lsty, g->lw,
             g->scol, g->ssc, g->snum, g->sym);
}

/* The legend's size in the plot area's normalised units: drawn once far
 * off the page (PLplot has no way to measure it otherwise). */
static void measure_legend(const legend *g, const layout *L, double *w, double *h)
{
    PLFLT lw, lh;
    plvpor(L->vx0, L->vx1, L->vy0, L->vy1);
    plwind(0, 1, 0, 1);
    draw_legend(g, L, 0, -50, 0, &lw, &lh);
    *w = lw, *h = lh;
}

/* Where the legend goes: the first candidate spot that covers no data.
 * Sets box (normalised) and *outside; 0 if found, -1 if none. */
static int find_spot(const pl_points *p, double w, double h, double box[4])
{
    const double m = 0.02;
    const double spots[8][2] = {{1 - m - w, m},           {m, m},           {m, 1 - m - h},           {1 - m - w, 1 - m - h},
                                {(1 - w) / 2, m},         {(1 - w) / 2, 1 - m - h}, {1 - m - w, (1 - h) / 2}, {m, (1 - h) / 2}};
    if (w > 1 - 2 * m || h > 1 - 2 * m) return -1;
    for (int i = 0; i < 8; i++) {
        double b[4] = {spots[i][0], 1 - spots[i][1] - h, spots[i][0] + w, 1 - spots[i][1]};
        if (hits(p, b) == 0) {
            memcpy(box, b, sizeof b);
            return 0;
        }
    }
    return -1;
}

/* Line styles: solid, then PLplot's dashes; colour id k draws with style 1 + k % 8. */
/* The legend: one entry per labelled series that draws something; a
 * line's marker shows when its points are marked, by itself or by a series
 * of the same colour (marked[id]); *ids the colours in use. */
static void make_legend(const pl_series *s, int n, int logx, int logy, legend *g, int marked[8], int *ids)
{
    *ids = 0;
    for (int k = 0; k < n; k++) {
        int id = (s[k].color >= 0 ? s[k].color : k) % 8;
        *ids = id + 1 > *ids ? id + 1 : *ids;
        if (s[k].style & PL_POINTS) marked[id] = 1;
    }
    for (int k = 0; k < n && g->n < 16; k++) {
        int id = (s[k].color >= 0 ? s[k].color : k) % 8, m = 0;
        for (int i = 0; i < s[k].n; i++) m += usable(s[k].x[i], s[k].y[i], logx, logy);
        if (!s[k].label || m == 0) continue; /* nothing drawn, nothing to name */
        g->opt[g->n] = (s[k].style & PL_LINE ? PL_LEGEND_LINE : 0) | PL_LEGEND_SYMBOL;
        g->lcol[g->n] = g->scol[g->n] = COL0 + id, g->lsty[g->n] = 1 + id, g->lw[g->n] = 2.2;
        g->ssc[g->n] = 0.7, g->snum[g->n] = s[k].style & PL_LINE ? 2 : 1, g->tcol[g->n] = 1;
        g->sym[g->n] = pl_markers[id], g->text[g->n++] = s[k].label;
    }
}

/* Axes, plot area and legend: the legend inside where it covers nothing
 * (box), else with room made above the data, else outside on the right
 * (*outside). lim: x0, x1, y0, y1 of the data. 0, or -1 out of memory. */
static int arrange(layout *L, const pl_figure *f, const pl_series *s, int n, const legend *g, const double lim[4], int logx,
                   int logy, pl_points *pts, double box[4], int *outside)
{
    double lw = 0, lh = 0, y1 = lim[3];
    int found = g->n == 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        pl_axis_make(&L->x, "x", lim[0], lim[1], logx, f->intx && !logx, 0);
        pl_axis_make(&L->y, "y", lim[2], y1, logy, 0, 0);
        place(L, *outside ? 0.97 - lw * (L->vx1 - L->vx0) - 0.03 : 0.96, f->unit_circle);
        if (g->n) measure_legend(g, L, &lw, &lh);
        if (collect(L, f, s, n, pts)) return -1;
        if (found || *outside) break;
        if (find_spot(pts, lw, lh, box) == 0) break;
        if (attempt == 0 && isnan(f->ymax) && !f->unit_circle && lh <= 0.3) {
            /* room above the data: the highest point sits below the legend */
            double top = 0;
            for (int i = 0; i < pts->n; i++) top = fmax(top, pts->xy[2 * i + 1]);
            if (top > 0) y1 = lim[2] + (y1 - lim[2]) * top / (1 - 0.02 - lh - 0.04);
            continue;
        }
        *outside = 1; /* the box is known once drawn */
        y1 = lim[3];
    }
    return 0;
}

/* The unit circle (dashed) and the axes through 0. */
static void draw_unit_circle(const layout *L)
{
    double cx[361], cy[361];
    for (int i = 0; i <= 360; i++) cx[i] = cos(i * M_PI / 180), cy[i] = sin(i * M_PI / 180);
    plcol0(COL_HATCH);
    pllsty(2);
    plwidth(1.5);
    plline(361, cx, cy);
    pllsty(1);
    plcol0(COL_GRID);
    plwidth(0.8);
    pljoin(L->x.lo, 0, L->x.hi, 0), pljoin(0, L->y.lo, 0, L->y.hi);
}

/* Every series: its line in its colour and style, its markers (every point,
 * or about ten along a line whose colour has none); marks gets (colour id,
 * markers drawn) of the first 16 for the test hook. */
static void draw_series(const layout *L, const pl_series *s, int n, int logx, int logy, const int marked[8], int ids,
                        int marks[32])
{
    double *px = NULL, *py = NULL;
    for (int k = 0; k < n; k++) {
        int id = (s[k].color >= 0 ? s[k].color : k) % 8, drawn = 0;
        free(px), free(py);
        px = malloc((size_t)(s[k].n + 1) * sizeof *px), py = malloc((size_t)(s[k].n + 1) * sizeof *py);
        if (!px || !py) break;
        int m = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!usable(x, y, logx, logy)) continue;
            px[m] = logx ? log10(x) : x, py[m] = logy ? log10(y) : y, m++;
        }
        plcol0(COL0 + id);
        pllsty(1 + id);
        plwidth(2.2);
        if ((s[k].style & PL_LINE) && m > 1) plline(m, px, py);
        pllsty(1);
        if (s[k].style & PL_POINTS) {
            plschr(0, s[k].style == PL_POINTS ? 0.75 : 0.6);
            plstring(m, px, py, pl_markers[id]);
            drawn = m;
        } else if (!marked[id] && m > 0) {
            /* about ten markers along the line, staggered between the series */
            plschr(0, 0.6);
            int last = -1;
            for (int j = 0; j < 10; j++) {
                double target = L->x.lo + (L->x.hi - L->x.lo) * (j + (id + 0.5) / ids) / 10;
                int best = 0;
                for (int i = 1; i < m; i++)
                    if (fabs(px[i] - target) < fabs(px[best] - target)) best = i;
                if (best != last) plstring(1, px + best, py + best, pl_markers[id]), drawn++;
                last = best;
            }
        }
        plschr(0, 1.05);
        if (k < 16) marks[2 * k] = m > 0 ? id : -1, marks[2 * k + 1] = drawn;
    }
    free(px), free(py);
}

int plot_lines(const pl_figure *f, const pl_series *s, int n)
{
    int logx = f->logx && plot_log_axis(s, n, 0), logy = f->logy && plot_log_axis(s, n, 1);
    double lim[4];
    bounds(s, n, logx, logy, &lim[0], &lim[1], &lim[2], &lim[3]);
    if (!isnan(f->xmin)) lim[0] = logx ? log10(f->xmin) : f->xmin;
    if (!isnan(f->xmax)) lim[1] = logx ? log10(f->xmax) : f->xmax;
    if (!isnan(f->ymin)) lim[2] = logy ? log10(f->ymin) : f->ymin;
    if (!isnan(f->ymax)) lim[3] = logy ? log10(f->ymax) : f->ymax;
    if (f->unit_circle) { /* the circle and the data, with room around */
        double r = fmax(fmax(fabs(lim[0]), fabs(lim[1])), fmax(fmax(fabs(lim[2]), fabs(lim[3])), 1.0)) * 1.08;
        lim[0] = lim[2] = -r, lim[1] = lim[3] = r;
    }
    layout L = {f->unit_circle ? 700 : 900, f->unit_circle ? 700 : 600, 0, 0, 0, 0, {0}, {0}};
    if (pl_open_png(f->path, L.w, L.h)) return -1;
    legend g = {0};
    int marked[8] = {0}, ids = 0, outside = 0, marks[32] = {0};
    make_legend(s, n, logx, logy, &g, marked, &ids);
    pl_points pts = {0};
    double box[4] = {0};
    if (arrange(&L, f, s, n, &g, lim, logx, logy, &pts, box, &outside)) {
        pl_close_png(0);
        free(pts.xy);
        fprintf(stderr, "%s: out of memory for a figure\n", cli_prog);
        return -1;
    }
    plvpor(L.vx0, L.vx1, L.vy0, L.vy1);
    plwind(L.x.lo, L.x.hi, L.y.lo, L.y.hi);
    double vw = (L.vx1 - L.vx0) * L.w, vh = (L.vy1 - L.vy0) * L.h;
    pl_axis_draw(&L.x, &L.y, 1, vw, vh);
    if (f->unit_circle) draw_unit_circle(&L);
    draw_series(&L, s, n, logx, logy, marked, ids, marks);
    plcol0(1);
    plwidth(1);
    plmtex("b", 3.2, 0.5, 0.5, f->xlabel);
    plmtex("l", ylabel_disp(&L), 0.5, 0.5, f->ylabel);
    plschr(0, 1.1);
    plmtex("t", 1.4, 0.5, 0.5, f->title);
    plschr(0, 1.05);
    if (g.n) {
        PLFLT w, h;
        if (outside) {
            double gap = 0.03 / (L.vx1 - L.vx0);
            draw_legend(&g, &L, 1, gap, 0, &w, &h);
            box[0] = 1 + gap, box[1] = 0.5 - h / 2, box[2] = 1 + gap + w, box[3] = 0.5 + h / 2;
        } else {
            draw_legend(&g, &L, 0, box[0], 1 - box[3], &w, &h);
            box[2] = box[0] + w, box[1] = box[3] - h;
        }
    }
    if (pl_close_png(1)) {
        free(pts.xy);
        return -1;
    }
    const pl_axis *axes[2] = {&L.x, &L.y};
    pl_hook(f->path, f->title, axes, 2, g.n ? box : NULL, &pts, marks, n > 16 ? 16 : n, 0);
    free(pts.xy);
    return 0;
}

/* ---------------------------------------------------------------- heatmaps */

/* A monotone dark-to-light ramp (close to viridis): readable in greyscale. */
static void viridis(void)
{
    PLFLT pos[5] = {0, 0.25, 0.5, 0.75, 1}, r[5] = {0.267, 0.229, 0.128, 0.369, 0.993},
          g[5] = {0.005, 0.322, 0.567, 0.789, 0.906}, b[5] = {0.329, 0.546, 0.551, 0.383, 0.144};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

/* A cell of the "exact zero" colour: light grey, hatched (hatch 0: the grey
 * alone; white: a blank cell, not finite). */
static void zero_cell_as(double x0, double x1, double y0, double y1, int hatch, int white)
{
    PLFLT cx[4] = {x0, x1, x1, x0}, cy[4] = {y0, y0, y1, y1};
    plcol0(white ? 0 : COL_ZERO);
    plpsty(0);
    plfill(4, cx, cy);
    if (!hatch) return;
    plcol0(COL_HATCH);
    plwidth(0.6);
    plpsty(3);
    plfill(4, cx, cy);
    plpsty(0);
    plwidth(1);
}

static void zero_cell(double x0, double x1, double y0, double y1) { zero_cell_as(x0, x1, y0, y1, 1, 0); }

/* Over the image: the cells that are not numbers, column by column, each
 * run of them one rectangle (so that the hatching of a run of exact zeros
 * one lag tall each is continuous, not a sliver per cell): -inf grey and
 * hatched, NaN and +inf white. */
static void blank_cells(const double *z, int nx, int ny, double x0, double x1, double y0, double y1)
{
    const double dx = (x1 - x0) / nx, dy = (y1 - y0) / ny;
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny;) {
            const double v = z[(size_t)j * nx + i];
            if (isfinite(v)) {
                j++;
                continue;
            }
            const int zero = v == -INFINITY;
            int k = j + 1;
            while (k < ny && !isfinite(z[(size_t)k * nx + i]) && (z[(size_t)k * nx + i] == -INFINITY) == zero) k++;
            zero_cell_as(x0 + i * dx, x0 + (i + 1) * dx, y0 + j * dy, y0 + k * dy, zero, !zero);
            j = k;
        }
}

int plot_heatmap(const pl_figure *f, const double *z, int nx, int ny, double x0, double x1, double y0, double y1,
                 const char *zlabel)
{
    double lo = INFINITY, hi = -INFINITY;
    long zeros = 0;
    for (int i = 0; i < nx * ny; i++) {
        if (isfinite(z[i])) lo = fmin(lo, z[i]), hi = fmax(hi, z[i]);
        zeros += z[i] == -INFINITY;
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (hi == lo) hi = lo + 1;
    /* plimage takes its nx x ny values as the corners of (nx - 1) x (ny - 1) cells, cell (i, j) in the colour of
     * value (i, j): the last column and row repeated make a cell of every value, each (x1 - x0) / nx wide */
    PLFLT **cols = malloc((size_t)(nx + 1) * sizeof *cols);
    double *buf = malloc((size_t)(nx + 1) * (ny + 1) * sizeof *buf);
    if (!cols || !buf) {
        free(cols), free(buf);
        fprintf(stderr, "%s: out of memory for a figure\n", cli_prog);
        return -1;
    }
    /* the cells that are not numbers: any colour of the scale (blank_cells draws over them) */
    for (int i = 0; i <= nx; i++) {
        cols[i] = buf + (size_t)i * (ny + 1);
        for (int j = 0; j <= ny; j++) {
            double v = z[(size_t)(j < ny ? j : ny - 1) * nx + (i < nx ? i : nx - 1)];
            cols[i][j] = isfinite(v) ? v : lo; /* drawn over by blank_cells */
        }
    }
    layout L = {900, 600, 0, 0, 0, 0, {0}, {0}};
    if (pl_open_png(f->path, L.w, L.h)) {
        free(cols), free(buf);
        return -1;
    }
    viridis();
    pl_axis_make(&L.x, "x", x0, x1, 0, f->intx, 0);
    pl_axis_make(&L.y, "y", y0, y1, 0, 1, 0);
    place(&L, 0.80, 0);
    plvpor(L.vx0, L.vx1, L.vy0, L.vy1);
    plwind(x0, x1, y0, y1);
    plimage((PLFLT_MATRIX)cols, nx + 1, ny + 1, x0, x1, y0, y1, lo, hi, x0, x1, y0, y1);
    blank_cells(z, nx, ny, x0, x1, y0, y1); /* after the image, which would cover them */
    pl_axis_draw(&L.x, &L.y, 0, (L.vx1 - L.vx0) * L.w, (L.vy1 - L.vy0) * L.h);
    plmtex("b", 3.2, 0.5, 0.5, f->xlabel);
    plmtex("l", ylabel_disp(&L), 0.5, 0.5, f->ylabel);
    plschr(0, 1.1);
    plmtex("t", 1.4, 0.5, 0.5, f->title);
    plschr(0, 1.05);
    /* the colour bar, and under it the colour of exact zeros */
    double bx0 = 0.845, bx1 = 0.875, by0 = zeros ? L.vy0 + 0.17 : L.vy0, by1 = L.vy1;
    PLFLT ramp[256], *rp[2] = {ramp, ramp};
    for (int k = 0; k < 256; k++) ramp[k] = lo + (hi - lo) * k / 255;
    pl_axis c;
    pl_axis_make(&c, "colour bar", lo, hi, 0, 0, 0);
    plvpor(bx0, bx1, by0, by1);
    plwind(0, 1, lo, hi);
    plimage((PLFLT_MATRIX)rp, 2, 256, 0, 1, lo, hi, lo, hi, 0, 1, lo, hi);
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int k = 0; k < c.n; k++) {
        pljoin(1, c.at[k], 0.7, c.at[k]);
        plmtex("rv", 0.5, (c.at[k] - lo) / (hi - lo), 0, c.text[k]);
    }
    plmtex("r", pl_title_disp(&c) - 0.1, 0.5, 0.5, zlabel);
    if (zeros) {
        plvpor(bx0, bx1, L.vy0, L.vy0 + 0.07);
        plwind(0, 1, 0, 1);
        zero_cell(0, 1, 0, 1);
        plcol0(1);
        plbox("bc", 0, 0, "bc", 0, 0);
        plschr(0, 0.9);
        plmtex("rv", 0.5, 0.68, 0, "exact 0");
        plmtex("rv", 0.5, 0.18, 0, "(log = " MINUS "#[0x221e])");
        plschr(0, 1.05);
    }
    free(cols), free(buf);
    if (pl_close_png(1)) return -1;
    const pl_axis *axes[3] = {&L.x, &L.y, &c};
    pl_hook(f->path, f->title, axes, 3, NULL, NULL, NULL, 0, zeros);
    return 0;
}
