/* Figures with PLplot (pngcairo): line and scatter plots with legends and
 * optional log axes, and heatmaps with a colour bar. Colours are the
 * Okabe-Ito palette and every series also differs in line style and marker,
 * so that figures survive greyscale printing.
 *
 * Every figure's axes come from one helper: ticks at 1, 2, 2.5 or 5 times a
 * power of ten on linear axes (whole numbers only on an integer axis); on a
 * log axis labels at 1, 2 and 5 in each decade when the axis spans under
 * about two decades, at every decade up to nine, and at every 2nd, 5th, 10th
 * ... decade beyond, so that labels never crowd. A log axis is asked for, not
 * promised: data that span less than a decade are drawn on a linear axis.
 * The legend goes where it covers no data: the first empty corner (or edge
 * middle) of the plot, else above the data with the y range extended, else
 * outside the plot on the right.
 *
 * Test hook: when the environment variable RNNLAB_FIGURE_LOG names a file,
 * every figure appends one JSON line to it: the PNG's path, its title, each axis's
 * tick labels and whether it is logarithmic, the legend box and the drawn
 * data points (markers and points along the lines), both in the plot
 * area's normalised coordinates ([0, 1] across the axes' box), the markers
 * each series drew (as colour id, count pairs), and for heatmaps the number
 * of cells drawn in the colour of exact zeros. */
#ifndef RL_PLOT_H
#define RL_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* PL_LINE: a line, with the series' marker at about ten places along it
 * unless another series of the same colour marks its points; PL_POINTS: a
 * marker at every point; PL_LINE_POINTS: both. */
typedef enum { PL_LINE = 1, PL_POINTS = 2, PL_LINE_POINTS = 3 } pl_style;

typedef struct {
    const char *label;    /* legend text, or NULL for none */
    const double *x, *y;  /* n points; non-finite points are left out */
    int n;
    pl_style style;
    int color;            /* 0.. palette index (and line style and marker); -1: the series' own index */
} pl_series;

typedef struct {
    const char *path;      /* PNG file */
    const char *title, *xlabel, *ylabel;
    int logx, logy;        /* ask for log10 axes; the data are given unlogged (points <= 0 are left out) */
    double xmin, xmax, ymin, ymax; /* NAN: from the data */
    int unit_circle;       /* draw |z| = 1 and keep the aspect ratio 1 */
    int intx;              /* x takes whole numbers only (an index, a step): no ticks between them */
} pl_figure;

/* 0 on success; -1 with a message on stderr. */
int plot_lines(const pl_figure *f, const pl_series *s, int n);

/* Whether plot_lines draws axis y (1) or x (0) of these series on a log
 * scale when asked to: the positive finite values span at least a decade. */
int plot_log_axis(const pl_series *s, int n, int y);

/* z (ny, nx) row-major, cell (i, j) spanning x in [x0, x1] over nx columns and
 * y in [y0, y1] over ny rows. NaN and +inf cells are left blank (white); -inf cells (the log of
 * an exact zero) get a colour of their own, hatched grey, shown under the
 * colour bar as "exact 0". */
int plot_heatmap(const pl_figure *f, const double *z, int nx, int ny, double x0, double x1, double y0, double y1,
                 const char *zlabel);

/* Thread scaling from the CSV of bench/cores.sh (columns cell, hidden,
 * batch, threads, rnnlab_train_tok_s, torch_train_tok_s): one log-log panel
 * of tokens/s against threads per cell (up to 3), a colour and marker per
 * (H, B), rnnlab solid and PyTorch dashed, the legend in the fourth panel.
 * 0 on success; -1 with a message on stderr. */
int plot_scaling(const char *csv, const char *png);

/* A figure of a table: the first column x, each further column a series
 * named by the header (at most PL_CSV_MAX_SERIES, whose colours, line styles
 * and markers all differ); empty cells (or nan) are gaps. Lines starting
 * with '#' are comments. 0 on success; -1 with a message on stderr. */
#define PL_CSV_MAX_SERIES 8
typedef struct {
    const char *title, *xlabel, *ylabel; /* NULL: none, the first column's name, none */
    int logx, logy, points;              /* log axes asked for; a marker at every point */
} pl_csv_options;
int plot_csv(const char *csv, const pl_csv_options *o, const char *png);

/* The table of plot csv (cli/csvtable.c), read from f: lines of at most
 * CSV_LINE - 2 characters, UTF-8 text without NUL bytes; '#' lines and
 * blank lines passed over; a header of 2 to PL_CSV_MAX_SERIES + 1 names,
 * then rows of as many numbers (empty or nan: none), at most CSV_MAX_ROWS.
 * 0, or -1 with why in err (naming the line). csv_table_free also after a
 * failure. */
#define CSV_LINE 4096
#define CSV_MAX_ROWS 1000000
typedef struct {
    char header[CSV_LINE];
    char *name[PL_CSV_MAX_SERIES + 2]; /* into header */
    int ncol, nrow;
    double *v;                         /* (nrow, ncol) */
} csv_table;
int csv_table_read(csv_table *t, FILE *f, char *err, size_t errn);
void csv_table_free(csv_table *t);

/* Whether path ends in ".png" (any case), or is "-" (stdout): figures are
 * written as PNG only. */
int plot_png_name(const char *path);

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when it is not a
 * valid one (a stray or missing continuation byte, an overlong form, a
 * surrogate, past U+10FFFF); and whether all of s is valid UTF-8. */
int plot_utf8_len(const char *s);
int plot_utf8_ok(const char *s);
/* Text from data (a result's key, an option's name or value) as PLplot
 * draws it literally: invalid UTF-8 bytes and control characters as '?',
 * PLplot's escape '#' doubled; cut at a character's end to fit n bytes. */
void plot_text(char *out, size_t n, const char *s);

#endif
