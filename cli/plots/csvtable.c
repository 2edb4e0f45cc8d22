/* A CSV table as rnnlab plot csv reads it (plot.h): parsed here, drawn in
 * cli/plot_csv.c. Nothing here prints or draws: the fuzz target csv
 * (tests/fuzz_targets.c) runs it on any bytes. */
#include "cli.h"
#include "plots/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void csv_table_free(csv_table *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int csv_table_read(csv_table *t, FILE *f, char *err, size_t errn)
{
    memset(t, 0, sizeof *t);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rows = 0, lineno = 0, bad = 0;
    while (!bad && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (strlen(line) != (size_t)len) {
            bad = cli_errf(err, errn, "line %d holds a NUL byte: not a text file (a CSV table)", lineno);
            break;
        }
        if (!plot_utf8_ok(line)) {
            bad = cli_errf(err, errn, "line %d is not UTF-8 text: not a CSV table", lineno);
            break;
        }
        if (len > CSV_LINE - 2) {
            bad = cli_errf(err, errn, "line %d is longer than %d characters", lineno, CSV_LINE - 2);
            break;
        }
        if (line[0] == '#' || line[strspn(line, " \r\n")] == '\0') continue; /* a comment, a blank line */
        const char first = line[strspn(line, " \t")];
        if (!t->ncol && (first == '{' || first == '[')) { /* JSON: a run's metrics.jsonl is the likely one */
            bad = cli_errf(err, errn, "line %d starts a JSON %s: this is JSON (JSON Lines, as a run's metrics.jsonl), not a CSV "
                                  "table; a run's metrics are also in metrics.csv beside it (for a spreadsheet), and rnnlab report RUN draws them",
                       lineno, first == '{' ? "object" : "array");
            break;
        }
        if (!t->ncol) {
            memcpy(t->header, line, (size_t)len + 1);
            t->ncol = csv_split(t->header, t->name, PL_CSV_MAX_SERIES + 2);
            if (t->ncol > PL_CSV_MAX_SERIES + 1)
                bad = cli_errf(err, errn, "more than %d series (columns after the first): their colours, line styles and "
                                      "markers would repeat", PL_CSV_MAX_SERIES);
            else if (t->ncol < 2)
                bad = cli_errf(err, errn, "the header names one column: x, then a column for each series");
            continue;
        }
        char *field[PL_CSV_MAX_SERIES + 2];
        int nf = csv_split(line, field, PL_CSV_MAX_SERIES + 2);
        if (nf != t->ncol) {
            bad = cli_errf(err, errn, "line %d has %d fields, the header %d", lineno, nf, t->ncol);
            break;
        }
        if (t->nrow == rows) {
            double *nv = rows < CSV_MAX_ROWS ? realloc(t->v, (size_t)(rows = rows ? 2 * rows : 256) * t->ncol * sizeof *nv) : NULL;
            if (!nv) {
                bad = cli_errf(err, errn, "%s", rows >= CSV_MAX_ROWS ? "more than a million rows" : "out of memory");
                break;
            }
            t->v = nv;
        }
        for (int k = 0; !bad && k < t->ncol; k++)
            if (!csv_number(field[k], &t->v[(size_t)t->nrow * t->ncol + k]))
                bad = cli_errf(err, errn, "line %d, column '%.60s': '%.60s' is not a number", lineno, t->name[k], field[k]);
        t->nrow++;
    }
    free(line);
    if (!bad && ferror(f)) bad = cli_errf(err, errn, "a read error");
    if (!bad && t->nrow == 0) bad = cli_errf(err, errn, "%s", t->ncol ? "it has no rows" : "it has no header and no rows");
    return bad;
}
