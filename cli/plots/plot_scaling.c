/* The thread-scaling figure of bench/cores.sh: see plot.h. */
#include "plots/plot.h"

#include "cli.h"
#include "plots/plot_internal.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What the figure shows: the panels (cells, in order), the series (hidden
 * and batch, sorted: H, then B descending), the thread counts and x's range. */
typedef struct {
    char cells[SC_MAX_CELLS][16];
    int nc, nl, nt, loads[SC_MAX_LOADS][2], th[SC_MAX_THREADS];
    double x0, x1;
} sc_plan;

/* The plan of n >= 1 rows: 0, or -1 after a line (too many cells or sizes). */
static int sc_make_plan(const sc_row *r, int n, const char *csv, sc_plan *P)
{
    memset(P, 0, sizeof *P);
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < P->nc && strcmp(P->cells[k], r[i].cell) != 0) k++;
        if (k == P->nc && P->nc < SC_MAX_CELLS) snprintf(P->cells[P->nc++], sizeof P->cells[0], "%s", r[i].cell);
        else if (k == P->nc) return fprintf(stderr, "rnnlab plot: more than %d cells in %s\n", SC_MAX_CELLS, csv), -1;
        for (k = 0; k < P->nl && (P->loads[k][0] != r[i].hidden || P->loads[k][1] != r[i].batch);) k++;
        if (k == P->nl && P->nl < SC_MAX_LOADS) P->loads[P->nl][0] = r[i].hidden, P->loads[P->nl++][1] = r[i].batch;
        else if (k == P->nl) return fprintf(stderr, "rnnlab plot: more than %d sizes in %s\n", SC_MAX_LOADS, csv), -1;
        for (k = 0; k < P->nt && P->th[k] != r[i].threads;) k++;
        if (k == P->nt && P->nt < SC_MAX_THREADS) P->th[P->nt++] = r[i].threads;
    }
    int (*loads)[2] = P->loads;
    for (int a = 0; a < P->nl; a++) /* insertion sort: H, then B descending (the legend's rows) */
        for (int b = a; b > 0 && (loads[b][0] < loads[b - 1][0] ||
                                  (loads[b][0] == loads[b - 1][0] && loads[b][1] > loads[b - 1][1])); b--) {
            int h = loads[b][0], bb = loads[b][1];
            loads[b][0] = loads[b - 1][0], loads[b][1] = loads[b - 1][1], loads[b - 1][0] = h, loads[b - 1][1] = bb;
        }
    int tmin = P->th[0], tmax = P->th[0];
    for (int k = 1; k < P->nt; k++) tmin = P->th[k] < tmin ? P->th[k] : tmin, tmax = P->th[k] > tmax ? P->th[k] : tmax;
    P->x0 = log10(tmin) - 0.1, P->x1 = log10(tmax) + 0.1;
    if (tmax == tmin) P->x0 -= 0.3, P->x1 += 0.3;
    return 0;
}

/* The panels' places: the cells', then the legend's. */
static const double vp[SC_MAX_CELLS + 1][4] = {
    {0.11, 0.47, 0.61, 0.94}, {0.61, 0.97, 0.61, 0.94}, {0.11, 0.47, 0.11, 0.44}, {0.53, 0.99, 0.11, 0.44}};

/* Panel p: cell p's tokens/s against threads, rnnlab solid, PyTorch dashed, a colour per size. */
static void sc_panel(const sc_row *r, int n, const sc_plan *P, int p, const char *png)
{
    const double x0 = P->x0, x1 = P->x1;
    double px[SC_MAX_THREADS], py[SC_MAX_THREADS];
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].cell, P->cells[p]) == 0)
            for (int s = 0; s < 2; s++) {
                double v = s ? r[i].peer : r[i].ours;
                if (isfinite(v) && v > 0) lo = fmin(lo, log10(v)), hi = fmax(hi, log10(v));
            }
    if (!isfinite(lo)) lo = 0, hi = 1;
    double pad = fmax(0.05 * (hi - lo), 0.03), y0 = lo - pad, y1 = hi + pad;
    /* x: the thread counts, labelled; y: tokens/s as 1k, 20k, 1M */
    pl_axis ax, ay;
    pl_axis_make(&ax, "x", x0, x1, 1, 0, 0);
    ax.n = ax.nminor = 0;
    for (int k = 0; k < P->nt; k++) {
        char lab[16];
        snprintf(lab, sizeof lab, "%d", P->th[k]);
        if (ax.n < PL_AX_MAX) ax.at[ax.n] = log10(P->th[k]), snprintf(ax.text[ax.n++], sizeof ax.text[0], "%s", lab);
    }
    pl_axis_make(&ay, "y", y0, y1, 1, 0, 1);
    plvpor(vp[p][0], vp[p][1], vp[p][2], vp[p][3]);
    plwind(x0, x1, y0, y1);
    plschr(0, 1.0);
    pl_axis_draw(&ax, &ay, 1, (vp[p][1] - vp[p][0]) * 1200, (vp[p][3] - vp[p][2]) * 900);
    const pl_axis *axes[2] = {&ax, &ay};
    pl_hook(png, P->cells[p], axes, 2, NULL, NULL, NULL, 0, 0);
    char title[64];
    snprintf(title, sizeof title, "%s", strcmp(P->cells[p], "rnn") == 0 ? "rnn (tanh)" : P->cells[p]);
    plmtex("l", pl_title_disp(&ay), 0.5, 0.5, "training tokens/s");
    plmtex("t", 1.2, 0.5, 0.5, title);
    plmtex("b", 3.0, 0.5, 0.5, "threads");
    for (int l = 0; l < P->nl; l++)
        for (int s = 0; s < 2; s++) {
            int m = 0;
            for (int k = 0; k < P->nt; k++) /* in thread order */
                for (int i = 0; i < n; i++)
                    if (strcmp(r[i].cell, P->cells[p]) == 0 && r[i].hidden == P->loads[l][0] && r[i].batch == P->loads[l][1] &&
                        r[i].threads == P->th[k]) {
                        double v = s ? r[i].peer : r[i].ours;
                        if (isfinite(v) && v > 0) px[m] = log10(P->th[k]), py[m++] = log10(v);
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
            plstring(m, px, py, pl_markers[l % 8]);
            plschr(0, 1.0);
        }
    pllsty(1);
}

/* The legend, in the panel left free: the sizes, then the two line styles. */
static void sc_legend(const sc_plan *P)
{
    const int nl = P->nl;
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
        if (load) snprintf(texts[l], sizeof texts[0], "H=%d B=%d", P->loads[l][0], P->loads[l][1]);
        text[l] = load ? texts[l] : l == nl ? "rnnlab" : "PyTorch";
        opt[l] = PL_LEGEND_LINE | (load ? PL_LEGEND_SYMBOL : 0);
        lcol[l] = scol[l] = load ? COL0 + l % 8 : 1;
        lsty[l] = load || l == nl ? 1 : 3, lw[l] = 2.2;
        ssc[l] = 0.7, snum[l] = 2, tcol[l] = 1;
        sym[l] = pl_markers[load ? l % 8 : 0];
    }
    PLFLT w, h;
    /* two columns: the sizes, then the two line styles */
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX | PL_LEGEND_ROW_MAJOR,
             PL_POSITION_TOP | PL_POSITION_LEFT | PL_POSITION_INSIDE, 0.03, 0.16, 0.08, 0, 1, 1, (nleg + 1) / 2, 2, nleg,
             opt, 0.6, 0.72, 2.0, 0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty, lw, scol, ssc, snum, sym);
}

int plot_scaling(const char *csv, const char *png)
{
    sc_row *r = NULL;
    int n = 0;
    sc_plan P;
    if (sc_read(csv, &r, &n) || sc_make_plan(r, n, csv, &P)) {
        free(r);
        return -1;
    }
    if (pl_open_png(png, 1200, 900)) {
        free(r);
        return -1;
    }
    for (int p = 0; p < P.nc; p++) sc_panel(r, n, &P, p, png);
    sc_legend(&P);
    free(r);
    return pl_close_png(1);
}
