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

/* Text as HTML: & < > " and ' as entities (malloc'ed; NULL when out of
 * memory). Everything from a file (a folder's names, keys, values, paths)
 * goes into a page through it. */
char *html_escape(const char *s);
/* A file name made from data (a result's key) for a file inside the
 * report's folder: prefix, then the text with every byte outside
 * [A-Za-z0-9._-] as '_' and at most 64 of them, then, when the text had to
 * change, 8 hex digits of its hash (so that two keys stay apart), then
 * suffix. It has no '/' and is not "." or "..": it stays inside the folder. */
void report_file_name(char *out, size_t n, const char *prefix, const char *text, const char *suffix);

/* Write a CSV (through a temporary file renamed over path: a link there is
 * replaced, never followed): a header of ncol names, then nrow rows of the
 * columns (each nrow doubles; NaN/inf written as nan/inf). 0 on success. */
int write_csv(const char *path, const char *const *names, const double *const *cols, int ncol, int nrow);

#endif
