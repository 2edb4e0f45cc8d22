/* A figure from a table: see plot.h (plot_csv). */
#include "plots/plot.h"

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_LINE 4096
#define CSV_MAX_ROWS 1000000

/* Split line at commas in place (the end of line dropped); the number of
 * fields, at most max. */
static int csv_split(char *line, char **field, int max)
{
    line[strcspn(line, "\r\n")] = '\0';
    int n = 0;
    for (char *p = line; n < max;) {
        field[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p++ = '\0';
    }
    return n;
}

/* A cell: a number, or empty (or nan) for none; 0 if it is neither. */
static int csv_number(const char *s, double *v)
{
    while (*s == ' ') s++;
    if (!*s) return *v = NAN, 1;
    char *e;
    *v = strtod(s, &e);
    while (*e == ' ') e++;
    return e != s && !*e;
}

int plot_csv(const char *csv, const pl_csv_options *o, const char *png)
{
    FILE *f = cli_fopen_read(csv, (size_t)1 << 30);
    if (!f) return fprintf(stderr, "rnnlab plot: %s: cannot read it: %s\n", csv, cli_read_error(errno)), -1;
    char line[CSV_LINE], header[CSV_LINE], *name[PL_CSV_MAX_SERIES + 2];
    int ncol = 0, nrow = 0, cap = 0, bad = 0, lineno = 0;
    double *v = NULL; /* (nrow, ncol) */
    while (!bad && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "rnnlab plot: %s: line %d is longer than %d characters\n", csv, lineno, CSV_LINE - 2);
            bad = 1;
            break;
        }
        if (line[0] == '#' || line[strspn(line, " \r\n")] == '\0') continue; /* a comment, a blank line */
        if (!ncol) {
            memcpy(header, line, sizeof line);
            ncol = csv_split(header, name, PL_CSV_MAX_SERIES + 2);
            if (ncol > PL_CSV_MAX_SERIES + 1) {
                fprintf(stderr, "rnnlab plot: %s: more than %d series (columns after the first): their colours, "
                                "line styles and markers would repeat\n", csv, PL_CSV_MAX_SERIES);
                bad = 1;
            } else if (ncol < 2) {
                fprintf(stderr, "rnnlab plot: %s: the header names one column: x, then a column for each series\n", csv);
                bad = 1;
            }
            continue;
        }
        char *field[PL_CSV_MAX_SERIES + 2];
        int nf = csv_split(line, field, PL_CSV_MAX_SERIES + 2);
        if (nf != ncol) {
            fprintf(stderr, "rnnlab plot: %s: line %d has %d fields, the header %d\n", csv, lineno, nf, ncol);
            bad = 1;
            break;
        }
        if (nrow == cap) {
            double *nv = cap < CSV_MAX_ROWS ? realloc(v, (size_t)(cap = cap ? 2 * cap : 256) * ncol * sizeof *nv) : NULL;
            if (!nv) {
                fprintf(stderr, "rnnlab plot: %s: %s\n", csv, cap >= CSV_MAX_ROWS ? "more than a million rows" : "out of memory");
                bad = 1;
                break;
            }
            v = nv;
        }
        for (int k = 0; k < ncol; k++)
            if (!csv_number(field[k], &v[(size_t)nrow * ncol + k])) {
                fprintf(stderr, "rnnlab plot: %s: line %d, column '%s': '%s' is not a number\n", csv, lineno, name[k],
                        field[k]);
                bad = 1;
                break;
            }
        nrow++;
    }
    if (!bad && ferror(f)) fprintf(stderr, "rnnlab plot: %s: cannot read it: %s\n", csv, cli_read_error(errno)), bad = 1;
    fclose(f);
    if (!bad && nrow == 0) fprintf(stderr, "rnnlab plot: %s has no rows\n", csv), bad = 1;
    double *col = bad ? NULL : malloc((size_t)nrow * ncol * sizeof *col); /* column-major */
    if (!bad && !col) fprintf(stderr, "rnnlab plot: out of memory\n"), bad = 1;
    pl_series s[PL_CSV_MAX_SERIES];
    int ns = 0, drawn = 0;
    for (int k = 0; !bad && k < ncol; k++)
        for (int i = 0; i < nrow; i++) col[(size_t)k * nrow + i] = v[(size_t)i * ncol + k];
    for (int k = 1; !bad && k < ncol; k++) {
        s[ns] = (pl_series){name[k], col, col + (size_t)k * nrow, nrow, o->points ? PL_LINE_POINTS : PL_LINE, k - 1};
        for (int i = 0; i < nrow; i++) drawn += isfinite(col[i]) && isfinite(col[(size_t)k * nrow + i]);
        ns++;
    }
    if (!bad && !drawn) fprintf(stderr, "rnnlab plot: %s: no series has a number to draw\n", csv), bad = 1;
    if (!bad) {
        pl_figure fig = {.path = png, .title = o->title ? o->title : "", .xlabel = o->xlabel ? o->xlabel : name[0],
                         .ylabel = o->ylabel ? o->ylabel : "", .logx = o->logx, .logy = o->logy,
                         .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN};
        bad = plot_lines(&fig, s, ns) != 0;
    }
    free(v), free(col);
    return bad ? -1 : 0;
}
