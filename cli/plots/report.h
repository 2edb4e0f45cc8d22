/* Reports: a self-contained HTML page (figures embedded as base64 PNG, so it
 * opens with no server and no network) beside the figure files and the CSV
 * data behind each figure. */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include <stdio.h>

typedef struct report report;

/* Start dir/report.html (dir is created). NULL with a message on failure. */
report *report_open(const char *dir, const char *title, const char *intro_html);
void report_heading(report *r, const char *heading, const char *html);
/* A figure: dir/png (a file made already), its caption, and the CSV beside it. */
void report_figure(report *r, const char *png, const char *caption, const char *csv);
/* Finish the page; 0 on success. Frees r. */
int report_close(report *r);
/* Give the page up (an interrupted or failed run): its temporary file is
 * removed, the figures already made stay. Frees r. */
void report_abort(report *r);
const char *report_dir(const report *r);
/* dir/name in a static rotating buffer. */
const char *report_path(const report *r, const char *name);

/* Write a CSV: a header of ncol names, then nrow rows of the columns (each
 * nrow doubles; NaN/inf written as nan/inf). 0 on success. */
int write_csv(const char *path, const char *const *names, const double *const *cols, int ncol, int nrow);

#endif
