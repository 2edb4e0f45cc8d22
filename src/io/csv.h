/* Private to the library: a CSV table (RFC 4180: commas, quoted fields with
 * "" for a quote, CRLF or LF line ends), the first row its header. Only the
 * columns asked for are read as numbers; the others (a date, a label) may
 * hold anything. src/io/csv.c */
#ifndef RL_CSV_H
#define RL_CSV_H

#include "base/internal.h"

#include <stdint.h>

#define CSV_MAX_BYTES ((uint64_t)2 << 30) /* a file, as for a text */
#define CSV_MAX_COLS 65536                /* columns of the header (RL_MAX_SIZE) */
#define CSV_MAX_NAME 255                  /* a column's name in bytes */

typedef struct {
    char path[4096];
    char *buf;       /* the whole file, NUL-terminated */
    size_t len;
    int cols;        /* columns of every row */
    int64_t rows;    /* data rows, the header not counted */
    size_t *row_at;  /* (rows) where each data row begins in buf */
    int64_t *line;   /* (rows) the line each begins on, 1-based, for messages */
    char **names;    /* (cols) the header's names, unquoted, NUL-terminated */
} csv_table;

/* Read path (a regular file by its size, a stream up to the limit) and
 * split it into rows: every row must have the header's number of fields,
 * and the file at least one data row. On failure t is empty and the
 * message names the file and the line. */
rl_status csv_read(csv_table *t, const char *path);
/* The same from len bytes in memory (copied); name is used in messages. */
rl_status csv_parse(csv_table *t, const void *data, size_t len, const char *name);
void csv_close(csv_table *t);

/* The columns a list names: column names separated by commas, or numbers
 * counted from 1 (a token of digits that is no column's name); into idx
 * (at most max), *n their count. RL_ERR_ARG naming an unknown or ambiguous
 * column; what ("--inputs") begins the message. */
rl_status csv_columns(const csv_table *t, const char *list, const char *what, int *idx, int max, int *n);
/* Columns idx[0..k) of every row as numbers into out (rows, k), row-major:
 * each cell a whole finite number (strtod's syntax, spaces around it
 * allowed). RL_ERR_FORMAT naming the line and the column otherwise. */
rl_status csv_numbers(const csv_table *t, const int *idx, int k, double *out);

#endif
