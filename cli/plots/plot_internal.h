/* What the figure files share (cli/plots/plot.c, cli/plots/plot_scaling.c): the page,
 * the colours and markers, the axis helper and the test hook (plot.h). */
#ifndef RL_PLOT_INTERNAL_H
#define RL_PLOT_INTERNAL_H

/* cmap0 indices: 0 background, 1 ink, COL0.. the Okabe-Ito palette (8) */
#define COL0 2
#define COL_GRID 10  /* light grey grid lines */
#define COL_ZERO 11  /* heatmap cells that are exactly zero: light grey ... */
#define COL_HATCH 12 /* ... hatched in a darker grey */

/* markers as Unicode glyphs, drawn with plstring and shown the same in legends */
extern const char *const pl_markers[8];

/* Start a PNG of w x h pixels: white background, the palette, the font.
 * PLplot draws into a temporary file beside path (made here, so that a path
 * PLplot could not open never reaches it: it would abort the program), which
 * pl_close_png(1) renames over path (a link there is replaced, never
 * followed); "-" is stdout. 0, or -1 after a line on stderr. */
int pl_open_png(const char *path, int w, int h);
/* End the PNG begun by pl_open_png: kept (ok) or removed. 0, or -1 after a
 * line on stderr when it could not be put in place. */
int pl_close_png(int ok);

#define PL_AX_MAX 24
#define PL_AX_MINOR 128

/* One axis: its window in plot units (log10 of the value on a log axis) and
 * its labelled and unlabelled ticks. */
typedef struct {
    const char *name; /* "x", "y", "colour bar", ... (the test hook's key) */
    double lo, hi;
    int log;
    int n; /* labelled ticks */
    double at[PL_AX_MAX];
    char text[PL_AX_MAX][80]; /* PLplot text: #u/#d for super-/subscripts */
    int nminor;
    double minor[PL_AX_MINOR];
} pl_axis;

/* Ticks and labels for the window [lo, hi] (see plot.h for the rule).
 * integer: ticks at whole numbers only; si: labels as 1k, 20k, 1M. */
void pl_axis_make(pl_axis *a, const char *name, double lo, double hi, int log, int integer, int si);
/* Display width of a label in characters (escapes count as one glyph, or none). */
double pl_label_width(const char *s);
/* The widest label of an axis, in characters. */
double pl_axis_label_width(const pl_axis *a);
/* How far (in character heights, plmtex's disp) the axis title goes from a
 * vertical axis so that it clears the tick labels. */
double pl_title_disp(const pl_axis *a);
/* Draw the box, the ticks (inside, on all four sides), the tick labels
 * (bottom and left) and, if grid, light lines at the labelled ticks, in the
 * current viewport and window (x lo..hi, y lo..hi), whose size in pixels is
 * vw x vh (for ticks of equal length on both axes). */
void pl_axis_draw(const pl_axis *x, const pl_axis *y, int grid, double vw, double vh);

/* Growing list of points in the plot area's normalised coordinates. */
typedef struct {
    double *xy; /* (n, 2) */
    int n, cap;
} pl_points;
int pl_points_add(pl_points *p, double x, double y);

/* The test hook (plot.h): one JSON line for the figure png, if
 * RNNLAB_FIGURE_LOG is set. legend: {x0, y0, x1, y1} or NULL; p may be NULL;
 * marks: (colour id, markers drawn) of each of nseries series; zero_cells:
 * the heatmap cells drawn in the colour of exact zeros. */
void pl_hook(const char *png, const char *title, const pl_axis *const *axes, int nax, const double *legend,
             const pl_points *p, const int *marks, int nseries, long zero_cells);

#endif
