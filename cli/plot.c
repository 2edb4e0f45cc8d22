/* Figures with PLplot: see plot.h. */
#include "plot.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Okabe-Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow, black */
static const int palette[8][3] = {{0, 114, 178}, {213, 94, 0},   {0, 158, 115}, {204, 121, 167},
                                  {230, 159, 0}, {86, 180, 233}, {240, 228, 66}, {0, 0, 0}};
#define COL0 2 /* cmap0 index of palette[0]; 0 is the background, 1 ink */
/* markers as Unicode glyphs, drawn with plstring and shown the same in legends */
static const char *const markers[8] = {"#[0x25cf]", "#[0x25b2]", "#[0x25a0]", "#[0x25c6]",
                                       "#[0x2716]", "#[0x271a]", "#[0x25bc]", "#[0x2605]"};

static void open_png(const char *path, int w, int h)
{
    plsstrm(0);
    plsdev("pngcairo");
    plsfnam(path);
    plspage(0, 0, w, h, 0, 0);
    plscolbg(255, 255, 255);
    plscmap0n(16);
    plscol0(0, 255, 255, 255);
    plscol0(1, 30, 30, 30);
    for (int i = 0; i < 8; i++) plscol0(COL0 + i, palette[i][0], palette[i][1], palette[i][2]);
    plscol0(15, 30, 30, 30); /* PLplot draws some text in colour 15, white by default */
    plinit();
    plfontld(1);
    plschr(0, 1.05);
}

static void bounds(const pl_series *s, int n, int logx, int logy, double *x0, double *x1, double *y0, double *y1)
{
    *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y) || (logx && x <= 0) || (logy && y <= 0)) continue;
            if (logx) x = log10(x);
            if (logy) y = log10(y);
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
        }
    if (!isfinite(*x0)) *x0 = 0, *x1 = 1;
    if (!isfinite(*y0)) *y0 = 0, *y1 = 1;
    if (*x1 == *x0) *x0 -= 0.5, *x1 += 0.5;
    if (*y1 == *y0) *y0 -= 0.5, *y1 += 0.5;
    double dy = 0.05 * (*y1 - *y0);
    *y0 -= dy, *y1 += dy;
}

int plot_lines(const pl_figure *f, const pl_series *s, int n)
{
    double x0, x1, y0, y1;
    bounds(s, n, f->logx, f->logy, &x0, &x1, &y0, &y1);
    if (!isnan(f->xmin)) x0 = f->logx ? log10(f->xmin) : f->xmin;
    if (!isnan(f->xmax)) x1 = f->logx ? log10(f->xmax) : f->xmax;
    if (!isnan(f->ymin)) y0 = f->logy ? log10(f->ymin) : f->ymin;
    if (!isnan(f->ymax)) y1 = f->logy ? log10(f->ymax) : f->ymax;
    if (f->unit_circle) { /* the circle and the data, with room around */
        double r = fmax(fmax(fabs(x0), fabs(x1)), fmax(fmax(fabs(y0), fabs(y1)), 1.0)) * 1.08;
        x0 = y0 = -r, x1 = y1 = r;
    }
    open_png(f->path, f->unit_circle ? 700 : 900, f->unit_circle ? 700 : 600);
    plcol0(1);
    plwidth(1);
    plenv(x0, x1, y0, y1, f->unit_circle ? 1 : 0, 2 + (f->logx ? 10 : 0) + (f->logy ? 20 : 0));
    pllab(f->xlabel, f->ylabel, f->title);
    if (f->unit_circle) {
        double cx[361], cy[361];
        for (int i = 0; i <= 360; i++) cx[i] = cos(i * M_PI / 180), cy[i] = sin(i * M_PI / 180);
        plcol0(1);
        pllsty(2);
        plwidth(1.5);
        plline(361, cx, cy);
        pllsty(1);
    }
    int nleg = 0;
    PLINT opt[16], lcol[16], lsty[16], scol[16], snum[16];
    PLFLT lw[16], ssc[16];
    const char *text[16], *sym[16];
    double *px = NULL, *py = NULL;
    for (int k = 0; k < n; k++) {
        int col = COL0 + ((s[k].color >= 0 ? s[k].color : k) % 8);
        free(px), free(py);
        px = malloc((size_t)(s[k].n + 1) * sizeof *px), py = malloc((size_t)(s[k].n + 1) * sizeof *py);
        if (!px || !py) break;
        int m = 0;
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y) || (f->logx && x <= 0) || (f->logy && y <= 0)) continue;
            px[m] = f->logx ? log10(x) : x, py[m] = f->logy ? log10(y) : y, m++;
        }
        plcol0(col);
        pllsty(1 + k % 8);
        plwidth(2.2);
        if ((s[k].style & PL_LINE) && m > 1) plline(m, px, py);
        if (s[k].style & PL_POINTS) {
            plschr(0, s[k].style == PL_POINTS ? 0.75 : 0.6);
            plstring(m, px, py, markers[k % 8]);
            plschr(0, 1.05);
        }
        if (s[k].label && nleg < 16) {
            opt[nleg] = (s[k].style & PL_LINE ? PL_LEGEND_LINE : 0) | (s[k].style & PL_POINTS ? PL_LEGEND_SYMBOL : 0);
            lcol[nleg] = scol[nleg] = col, lsty[nleg] = 1 + k % 8, lw[nleg] = 2.2;
            ssc[nleg] = 0.7, snum[nleg] = 2;
            sym[nleg] = markers[k % 8];
            text[nleg++] = s[k].label;
        }
    }
    free(px), free(py);
    plwidth(1);
    pllsty(1);
    if (nleg) {
        PLFLT w, h;
        PLINT tcol[16];
        for (int i = 0; i < nleg; i++) tcol[i] = 1;
        pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 (f->legend_pos >= 2 ? PL_POSITION_BOTTOM : PL_POSITION_TOP) |
                     (f->legend_pos == 1 || f->legend_pos == 2 ? PL_POSITION_LEFT : PL_POSITION_RIGHT) | PL_POSITION_INSIDE,
                 0.02,
                 0.02, 0.08, 0, 1, 1, 0, 0, nleg, opt, 0.8, 0.85, 2.0, 0, tcol, text, NULL, NULL, NULL, NULL, lcol,
                 lsty, lw, scol, ssc, snum, sym);
    }
    plend1();
    return 0;
}

/* A monotone dark-to-light ramp (close to viridis): readable in greyscale. */
static void viridis(void)
{
    PLFLT pos[5] = {0, 0.25, 0.5, 0.75, 1}, r[5] = {0.267, 0.229, 0.128, 0.369, 0.993},
          g[5] = {0.005, 0.322, 0.567, 0.789, 0.906}, b[5] = {0.329, 0.546, 0.551, 0.383, 0.144};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

int plot_heatmap(const pl_figure *f, const double *z, int nx, int ny, double x0, double x1, double y0, double y1,
                 const char *zlabel)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < nx * ny; i++)
        if (isfinite(z[i])) lo = fmin(lo, z[i]), hi = fmax(hi, z[i]);
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (hi == lo) hi = lo + 1;
    PLFLT **cols = malloc((size_t)nx * sizeof *cols);
    double *buf = malloc((size_t)nx * ny * sizeof *buf);
    if (!cols || !buf) {
        free(cols), free(buf);
        fprintf(stderr, "rnnlab: out of memory for a figure\n");
        return -1;
    }
    for (int i = 0; i < nx; i++) {
        cols[i] = buf + (size_t)i * ny;
        for (int j = 0; j < ny; j++) {
            double v = z[(size_t)j * nx + i];
            cols[i][j] = isfinite(v) ? v : lo;
        }
    }
    open_png(f->path, 900, 600);
    viridis();
    pladv(0);
    plcol0(1);
    plvpor(0.1, 0.82, 0.12, 0.9);
    plwind(x0, x1, y0, y1);
    plimage((PLFLT_MATRIX)cols, nx, ny, x0, x1, y0, y1, lo, hi, x0, x1, y0, y1);
    plcol0(1);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(f->xlabel, f->ylabel, f->title);
    PLFLT cw, ch;
    PLINT lopt[1] = {PL_COLORBAR_LABEL_RIGHT}, sub[1] = {0}, nv[1] = {2};
    const char *labels[1] = {zlabel}, *axis[1] = {"bcvtm"};
    PLFLT ticks[1] = {0}, vals[2] = {lo, hi};
    const PLFLT *vrows[1] = {vals};
    plcolorbar(&cw, &ch, PL_COLORBAR_GRADIENT, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT,
               0.02, 0, 0.03, 0.78, 0, 1, 1, 0, 0, 0, 0, 1, lopt, labels, 1, axis, ticks, sub, nv,
               (PLFLT_MATRIX)vrows);
    plend1();
    free(cols), free(buf);
    return 0;
}
