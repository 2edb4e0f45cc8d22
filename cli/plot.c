/* Figures with PLplot: see plot.h. */
#include "plot.h"

#include "cli.h"

#include <errno.h>
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
        fprintf(stderr, "%s: out of memory for a figure\n", cli_prog);
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

/* ---------------------------------------------------------------- thread scaling */

/* Tick labels of a log10 axis: 1k, 10k, 100k, 1M rather than 10^3 ... */
static void si_label(PLINT axis, PLFLT value, char *label, PLINT length, PLPointer data)
{
    (void)axis, (void)data;
    double v = pow(10.0, value);
    static const char *const suffix[] = {"", "k", "M", "G", "T"};
    int k = 0;
    while (v >= 1000 - 1e-6 && k < 4) v /= 1000, k++;
    snprintf(label, (size_t)length, "%.3g%s", v, suffix[k]);
}

#define SC_MAX_CELLS 3
#define SC_MAX_LOADS 8
#define SC_MAX_THREADS 16

typedef struct {
    char cell[16];
    int hidden, batch, threads;
    double ours, peer;
} sc_row;

/* The columns of bench/cores.sh's CSV that the figure needs; -1 with a
 * message if one is missing. */
static int sc_columns(char *header, int col[6])
{
    static const char *const want[6] = {"cell", "hidden", "batch", "threads", "rnnlab_train_tok_s", "torch_train_tok_s"};
    for (int k = 0; k < 6; k++) col[k] = -1;
    int i = 0;
    for (char *tok = strtok(header, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), i++)
        for (int k = 0; k < 6; k++)
            if (strcmp(tok, want[k]) == 0) col[k] = i;
    for (int k = 0; k < 6; k++)
        if (col[k] < 0) return fprintf(stderr, "rnnlab plot: the CSV has no column '%s'\n", want[k]), -1;
    return 0;
}

static int sc_read(const char *path, sc_row **rows, int *n)
{
    FILE *f = cli_fopen_read(path, (size_t)1 << 30); /* a FIFO or /dev/zero is read no further */
    if (!f) return fprintf(stderr, "rnnlab plot: %s: cannot read it: %s\n", path, cli_read_error(errno)), -1;
    char line[1024];
    int col[6], cap = 0, bad = 0;
    *rows = NULL, *n = 0;
    if (!fgets(line, sizeof line, f) || sc_columns(line, col)) bad = 1;
    while (!bad && fgets(line, sizeof line, f)) {
        char *field[32];
        int nf = 0;
        for (char *p = line; nf < 32;) {
            field[nf++] = p;
            p = strchr(p, ',');
            if (!p) break;
            *p++ = '\0';
        }
        if (nf < 2) continue; /* a blank line */
        sc_row r = {0};
        int ok = 1;
        for (int k = 0; k < 6; k++) ok &= col[k] < nf;
        if (ok) {
            snprintf(r.cell, sizeof r.cell, "%s", field[col[0]]);
            char *e1, *e2, *e3;
            r.hidden = (int)strtol(field[col[1]], &e1, 10), r.batch = (int)strtol(field[col[2]], &e2, 10);
            r.threads = (int)strtol(field[col[3]], &e3, 10);
            r.ours = strtod(field[col[4]], NULL), r.peer = strtod(field[col[5]], NULL);
            ok = e1 != field[col[1]] && e2 != field[col[2]] && e3 != field[col[3]] && r.threads >= 1;
        }
        if (!ok) {
            fprintf(stderr, "rnnlab plot: %s: row %d is not cell,hidden,batch,threads,... as bench/cores.sh writes it\n",
                    path, *n + 2);
            bad = 1;
            break;
        }
        if (*n == cap) {
            sc_row *nr = realloc(*rows, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *nr);
            if (!nr) {
                fprintf(stderr, "rnnlab plot: out of memory\n");
                bad = 1;
                break;
            }
            *rows = nr;
        }
        (*rows)[(*n)++] = r;
    }
    fclose(f);
    if (!bad && *n == 0) fprintf(stderr, "rnnlab plot: %s has no rows\n", path), bad = 1;
    return bad ? -1 : 0;
}

int plot_scaling(const char *csv, const char *png)
{
    sc_row *r = NULL;
    int n = 0;
    if (sc_read(csv, &r, &n)) {
        free(r);
        return -1;
    }
    /* panels: the cells in order; series: (hidden, batch), one colour and
     * marker each; x: the thread counts */
    char cells[SC_MAX_CELLS][16];
    int nc = 0, nl = 0, nt = 0, loads[SC_MAX_LOADS][2] = {{0}}, th[SC_MAX_THREADS] = {0}; /* n >= 1 rows */
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < nc && strcmp(cells[k], r[i].cell) != 0) k++;
        if (k == nc && nc < SC_MAX_CELLS) snprintf(cells[nc++], sizeof cells[0], "%s", r[i].cell);
        else if (k == nc) return free(r), fprintf(stderr, "rnnlab plot: more than %d cells in %s\n", SC_MAX_CELLS, csv), -1;
        for (k = 0; k < nl && (loads[k][0] != r[i].hidden || loads[k][1] != r[i].batch);) k++;
        if (k == nl && nl < SC_MAX_LOADS) loads[nl][0] = r[i].hidden, loads[nl++][1] = r[i].batch;
        else if (k == nl) return free(r), fprintf(stderr, "rnnlab plot: more than %d sizes in %s\n", SC_MAX_LOADS, csv), -1;
        for (k = 0; k < nt && th[k] != r[i].threads;) k++;
        if (k == nt && nt < SC_MAX_THREADS) th[nt++] = r[i].threads;
    }
    for (int a = 0; a < nl; a++) /* insertion sort: H, then B descending (the legend's rows) */
        for (int b = a; b > 0 && (loads[b][0] < loads[b - 1][0] ||
                                  (loads[b][0] == loads[b - 1][0] && loads[b][1] > loads[b - 1][1])); b--) {
            int h = loads[b][0], bb = loads[b][1];
            loads[b][0] = loads[b - 1][0], loads[b][1] = loads[b - 1][1], loads[b - 1][0] = h, loads[b - 1][1] = bb;
        }
    int tmin = th[0], tmax = th[0];
    for (int k = 1; k < nt; k++) tmin = th[k] < tmin ? th[k] : tmin, tmax = th[k] > tmax ? th[k] : tmax;
    double x0 = log10(tmin) - 0.1, x1 = log10(tmax) + 0.1;
    if (tmax == tmin) x0 -= 0.3, x1 += 0.3;

    open_png(png, 1200, 900);
    pladv(0);
    plslabelfunc(si_label, NULL);
    static const double vp[SC_MAX_CELLS + 1][4] = {
        {0.11, 0.47, 0.61, 0.94}, {0.61, 0.97, 0.61, 0.94}, {0.11, 0.47, 0.11, 0.44}, {0.53, 0.99, 0.11, 0.44}};
    double px[SC_MAX_THREADS], py[SC_MAX_THREADS];
    for (int p = 0; p < nc; p++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++)
            if (strcmp(r[i].cell, cells[p]) == 0)
                for (int s = 0; s < 2; s++) {
                    double v = s ? r[i].peer : r[i].ours;
                    if (isfinite(v) && v > 0) lo = fmin(lo, log10(v)), hi = fmax(hi, log10(v));
                }
        if (!isfinite(lo)) lo = 0, hi = 1;
        /* whole decades, so that each axis has labelled ticks at both ends */
        double y0 = floor(lo - 0.02), y1 = ceil(hi + 0.02);
        plvpor(vp[p][0], vp[p][1], vp[p][2], vp[p][3]);
        plwind(x0, x1, y0, y1);
        plcol0(1);
        plwidth(1);
        plschr(0, 1.0);
        /* light vertical lines at the thread counts, labelled below */
        plcol0(1);
        pllsty(3);
        plwidth(0.5);
        for (int k = 0; k < nt; k++) {
            double gx[2] = {log10(th[k]), log10(th[k])}, gy[2] = {y0, y1};
            plline(2, gx, gy);
            char lab[16];
            snprintf(lab, sizeof lab, "%d", th[k]);
            plmtex("b", 1.4, (log10(th[k]) - x0) / (x1 - x0), 0.5, lab);
        }
        pllsty(1);
        plwidth(1);
        plbox("bcst", 0, 0, "bcgnstlov", 0, 0);
        char title[64];
        snprintf(title, sizeof title, "%s", strcmp(cells[p], "rnn") == 0 ? "rnn (tanh)" : cells[p]);
        pllab("", "training tokens/s", title);
        plmtex("b", 3.0, 0.5, 0.5, "threads");
        for (int l = 0; l < nl; l++)
            for (int s = 0; s < 2; s++) {
                int m = 0;
                for (int k = 0; k < nt; k++) /* in thread order */
                    for (int i = 0; i < n; i++)
                        if (strcmp(r[i].cell, cells[p]) == 0 && r[i].hidden == loads[l][0] && r[i].batch == loads[l][1] &&
                            r[i].threads == th[k]) {
                            double v = s ? r[i].peer : r[i].ours;
                            if (isfinite(v) && v > 0) px[m] = log10(th[k]), py[m++] = log10(v);
                        }
                for (int a = 1; a < m; a++) /* th is in order of appearance: sort by x */
                    for (int b = a; b > 0 && px[b] < px[b - 1]; b--) {
                        double t = px[b];
                        px[b] = px[b - 1], px[b - 1] = t, t = py[b], py[b] = py[b - 1], py[b - 1] = t;
                    }
                plcol0(COL0 + l % 8);
                pllsty(s ? 3 : 1);
                plwidth(s ? 1.8 : 2.4);
                if (m > 1) plline(m, px, py);
                plschr(0, 0.6);
                plstring(m, px, py, markers[l % 8]);
                plschr(0, 1.0);
            }
        pllsty(1);
    }
    /* the legend, in the panel left free */
    plvpor(vp[SC_MAX_CELLS][0], vp[SC_MAX_CELLS][1], vp[SC_MAX_CELLS][2], vp[SC_MAX_CELLS][3]);
    plwind(0, 1, 0, 1);
    plcol0(1);
    plschr(0, 0.95);
    plmtex("t", 0.5, 0.03, 0.0, "Training tokens/s against threads");
    plmtex("t", -1.0, 0.03, 0.0, "log-log; rnnlab solid, PyTorch dashed");
    plschr(0, 1.0);
    int nleg = nl + 2;
    PLINT opt[SC_MAX_LOADS + 2], lcol[SC_MAX_LOADS + 2], lsty[SC_MAX_LOADS + 2], scol[SC_MAX_LOADS + 2],
        snum[SC_MAX_LOADS + 2], tcol[SC_MAX_LOADS + 2];
    PLFLT lw[SC_MAX_LOADS + 2], ssc[SC_MAX_LOADS + 2];
    const char *text[SC_MAX_LOADS + 2], *sym[SC_MAX_LOADS + 2];
    char texts[SC_MAX_LOADS][32];
    for (int l = 0; l < nleg; l++) {
        int load = l < nl;
        if (load) snprintf(texts[l], sizeof texts[0], "H=%d B=%d", loads[l][0], loads[l][1]);
        text[l] = load ? texts[l] : l == nl ? "rnnlab" : "PyTorch";
        opt[l] = PL_LEGEND_LINE | (load ? PL_LEGEND_SYMBOL : 0);
        lcol[l] = scol[l] = load ? COL0 + l % 8 : 1;
        lsty[l] = load || l == nl ? 1 : 3, lw[l] = 2.2;
        ssc[l] = 0.7, snum[l] = 2, tcol[l] = 1;
        sym[l] = markers[load ? l % 8 : 0];
    }
    PLFLT w, h;
    /* two columns: the sizes, then the two line styles */
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX | PL_LEGEND_ROW_MAJOR,
             PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE, 0.03, 0.16, 0.08, 0, 1, 1, (nleg + 1) / 2, 2, nleg,
             opt, 0.6, 0.72, 2.0, 0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty, lw, scol, ssc, snum, sym);
    plend1();
    free(r);
    return 0;
}
