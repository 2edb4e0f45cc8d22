/* Figures with PLplot (pngcairo): line and scatter plots with legends and
 * optional log axes, and heatmaps with a colour bar. Colours are the
 * Okabe-Ito palette and every series also differs in line style and marker,
 * so that figures survive greyscale printing. */
#ifndef RL_PLOT_H
#define RL_PLOT_H

typedef enum { PL_LINE = 1, PL_POINTS = 2, PL_LINE_POINTS = 3 } pl_style;

typedef struct {
    const char *label;    /* legend text, or NULL for none */
    const double *x, *y;  /* n points; non-finite points are left out */
    int n;
    pl_style style;
    int color;            /* 0.. palette index; -1: the series' own index */
} pl_series;

typedef struct {
    const char *path;      /* PNG file */
    const char *title, *xlabel, *ylabel;
    int logx, logy;        /* axes in log10; the data are given unlogged, must be > 0 */
    double xmin, xmax, ymin, ymax; /* NAN: from the data */
    int unit_circle;       /* draw |z| = 1 and keep the aspect ratio 1 */
    int legend_pos;        /* 0 top right, 1 top left, 2 bottom left, 3 bottom right */
} pl_figure;

/* 0 on success; -1 with a message on stderr. */
int plot_lines(const pl_figure *f, const pl_series *s, int n);
/* z (ny, nx) row-major, cell (i, j) spanning x in [x0, x1] over nx columns and
 * y in [y0, y1] over ny rows; non-finite cells are drawn at the lowest colour. */
int plot_heatmap(const pl_figure *f, const double *z, int nx, int ny, double x0, double x1, double y0, double y1,
                 const char *zlabel);

/* Thread scaling from the CSV of bench/cores.sh (columns cell, hidden,
 * batch, threads, rnnlab_train_tok_s, torch_train_tok_s): one log-log panel
 * of tokens/s against threads per cell (up to 3), a colour and marker per
 * (H, B), rnnlab solid and PyTorch dashed, the legend in the fourth panel.
 * 0 on success; -1 with a message on stderr. */
int plot_scaling(const char *csv, const char *png);

#endif
