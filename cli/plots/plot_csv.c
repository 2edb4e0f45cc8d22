/* A figure from a table: see plot.h (plot_csv). */
#include "plots/plot.h"

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plot_csv(const char *csv, const pl_csv_options *o, const char *png)
{
    FILE *f = cli_fopen_read(csv, (size_t)1 << 30);
    if (!f) return fprintf(stderr, "rnnlab plot: %s: cannot read it: %s\n", csv, cli_read_error(errno)), -1;
    csv_table t;
    char err[300];
    int bad = csv_table_read(&t, f, err, sizeof err);
    fclose(f);
    if (bad) fprintf(stderr, "rnnlab plot: %s: %s\n", csv, err);
    const int ncol = t.ncol, nrow = t.nrow;
    const double *v = t.v;
    char label[PL_CSV_MAX_SERIES + 1][600]; /* the names as PLplot draws them literally */
    for (int k = 0; !bad && k < ncol; k++) plot_text(label[k], sizeof label[k], t.name[k]);
    double *col = bad ? NULL : malloc((size_t)nrow * ncol * sizeof *col); /* column-major */
    if (!bad && !col) fprintf(stderr, "rnnlab plot: out of memory\n"), bad = 1;
    pl_series s[PL_CSV_MAX_SERIES];
    int ns = 0, drawn = 0;
    for (int k = 0; !bad && k < ncol; k++)
        for (int i = 0; i < nrow; i++) col[(size_t)k * nrow + i] = v[(size_t)i * ncol + k];
    for (int k = 1; !bad && k < ncol; k++) {
        s[ns] = (pl_series){label[k], col, col + (size_t)k * nrow, nrow, o->points ? PL_LINE_POINTS : PL_LINE, k - 1};
        for (int i = 0; i < nrow; i++) drawn += isfinite(col[i]) && isfinite(col[(size_t)k * nrow + i]);
        ns++;
    }
    if (!bad && !drawn) fprintf(stderr, "rnnlab plot: %s: no series has a number to draw\n", csv), bad = 1;
    if (!bad) {
        pl_figure fig = {.path = png, .title = o->title ? o->title : "", .xlabel = o->xlabel ? o->xlabel : label[0],
                         .ylabel = o->ylabel ? o->ylabel : "", .logx = o->logx, .logy = o->logy,
                         .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN};
        bad = plot_lines(&fig, s, ns) != 0;
    }
    csv_table_free(&t);
    free(col);
    return bad ? -1 : 0;
}
