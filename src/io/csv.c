/* A CSV table: the rows found once (where each begins), then the columns
 * asked for parsed as numbers on demand. Quoted fields may hold commas,
 * quotes ("") and line breaks; a NUL byte is no text's and is refused. */
#include "io/csv.h"
#include "io/arrays.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void csv_close(csv_table *t)
{
    for (int i = 0; t->names && i < t->cols; i++) free(t->names[i]);
    free(t->names);
    free(t->row_at);
    free(t->line);
    free(t->buf);
    rl_zero_but(t, sizeof *t, t->path, sizeof t->path);
}

/* One field from p: [*fs, *fe) its bytes (the quotes' inside for a quoted
 * one, which may still hold "" pairs), *quoted whether it was; returns
 * where the next field or row begins and sets *eol at a row's end (or the
 * file's), *lines the line breaks crossed. NULL: a quote not closed, or
 * text after a closing quote. */
static const char *field(const char *p, const char *end, const char **fs, const char **fe, int *quoted, int *eol, int64_t *lines)
{
    *quoted = 0;
    if (p < end && *p == '"') {
        *quoted = 1;
        *fs = ++p;
        for (;;) {
            if (p >= end) return NULL;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    p += 2;
                    continue;
                }
                break;
            }
            if (*p == '\n') ++*lines;
            p++;
        }
        *fe = p++;
        while (p < end && *p == ' ') p++; /* spaces after the closing quote */
        if (p < end && *p != ',' && *p != '\n' && *p != '\r') return NULL;
    } else {
        *fs = p;
        while (p < end && *p != ',' && *p != '\n' && *p != '\r') p++;
        *fe = p;
    }
    *eol = 1;
    if (p >= end) return p;
    if (*p == ',') {
        *eol = 0;
        return p + 1;
    }
    if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
    ++*lines;
    return p + 1;
}

/* A field's text, unquoted, trimmed of spaces, into out (n bytes). */
static void field_text(const char *fs, const char *fe, int quoted, char *out, size_t n)
{
    size_t k = 0;
    if (!quoted) {
        while (fs < fe && (*fs == ' ' || *fs == '\t')) fs++;
        while (fe > fs && (fe[-1] == ' ' || fe[-1] == '\t')) fe--;
    }
    for (const char *p = fs; p < fe && k + 1 < n; p++) {
        out[k++] = *p;
        if (quoted && *p == '"') p++; /* "" is one quote */
    }
    out[k] = '\0';
}

static rl_status split_rows(csv_table *t)
{
    const char *p = t->buf, *end = t->buf + t->len;
    if (t->len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 byte-order mark */
    const char *nul = memchr(t->buf, 0, t->len);
    if (nul) return rl_fail(RL_ERR_FORMAT, "%s: a NUL byte at offset %zu: not a CSV file", t->path, (size_t)(nul - t->buf));
    /* the header */
    int64_t line = 1, lines = 0;
    int eol = 0, q;
    const char *fs, *fe;
    size_t cap = 16;
    if (!(t->names = rl_malloc(cap * sizeof *t->names))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", t->path);
    while (!eol) {
        if (p >= end && t->cols == 0) return rl_fail(RL_ERR_FORMAT, "%s: empty: a CSV series needs a header and rows", t->path);
        const char *next = field(p, end, &fs, &fe, &q, &eol, &lines);
        if (!next) return rl_fail(RL_ERR_FORMAT, "%s: line %lld: a quote that is not closed, or text after one", t->path, (long long)line);
        if (t->cols == CSV_MAX_COLS)
            return rl_fail(RL_ERR_FORMAT, "%s: more than %d columns in the header (the limit)", t->path, CSV_MAX_COLS);
        if ((size_t)t->cols == cap) {
            char **nn = rl_realloc(t->names, 2 * cap * sizeof *nn);
            if (!nn) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", t->path);
            t->names = nn, cap *= 2;
        }
        if (fe - fs > 4 * CSV_MAX_NAME) return rl_fail(RL_ERR_FORMAT, "%s: a column name is longer than %d bytes", t->path, CSV_MAX_NAME);
        char name[4 * CSV_MAX_NAME + 1];
        field_text(fs, fe, q, name, sizeof name);
        if (strlen(name) > CSV_MAX_NAME)
            return rl_fail(RL_ERR_FORMAT, "%s: a column name is longer than %d bytes", t->path, CSV_MAX_NAME);
        if (!(t->names[t->cols] = strdup(name))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", t->path);
        t->cols++;
        p = next;
    }
    line += lines;
    /* the rows: where each begins, and its fields counted */
    size_t rcap = 1024;
    if (!(t->row_at = rl_malloc(rcap * sizeof *t->row_at)) || !(t->line = rl_malloc(rcap * sizeof *t->line)))
        return rl_fail(RL_ERR_NOMEM, "%s: out of memory", t->path);
    while (p < end) {
        /* blank lines at the end are passed over; one inside is an error */
        const char *b = p;
        while (b < end && (*b == '\n' || *b == '\r' || *b == ' ' || *b == '\t')) b++;
        if (b >= end) break;
        if ((size_t)t->rows == rcap) {
            size_t *nr = rl_realloc(t->row_at, 2 * rcap * sizeof *nr);
            if (nr) t->row_at = nr;
            int64_t *nl = nr ? rl_realloc(t->line, 2 * rcap * sizeof *nl) : NULL;
            if (!nl) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", t->path);
            t->line = nl, rcap *= 2;
        }
        t->row_at[t->rows] = (size_t)(p - t->buf);
        t->line[t->rows] = line;
        int n = 0;
        eol = 0, lines = 0;
        while (!eol) {
            const char *next = field(p, end, &fs, &fe, &q, &eol, &lines);
            if (!next) return rl_fail(RL_ERR_FORMAT, "%s: line %lld: a quote that is not closed, or text after one", t->path, (long long)line);
            n++;
            p = next;
        }
        if (n != t->cols)
            return rl_fail(RL_ERR_FORMAT, "%s: line %lld has %d field%s; the header has %d", t->path, (long long)line, n,
                           n == 1 ? "" : "s", t->cols);
        line += lines;
        t->rows++;
    }
    if (t->rows == 0) return rl_fail(RL_ERR_FORMAT, "%s: a header and no rows", t->path);
    return RL_OK;
}

rl_status csv_parse(csv_table *t, const void *data, size_t len, const char *name)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", name);
    if (len > CSV_MAX_BYTES) return rl_fail(RL_ERR_FORMAT, "%s: more than the limit of %llu bytes", name, (unsigned long long)CSV_MAX_BYTES);
    if (!(t->buf = rl_malloc(len + 1))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", name);
    if (len) memcpy(t->buf, data, len);
    t->buf[len] = '\0';
    t->len = len;
    rl_status s = split_rows(t);
    if (s) csv_close(t);
    return s;
}

rl_status csv_read(csv_table *t, const char *path)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    unsigned char *b = NULL;
    size_t len = 0;
    rl_status s = ar_read_file(path, CSV_MAX_BYTES, &b, &len);
    if (s) return s;
    t->buf = (char *)b, t->len = len; /* ar_read_file puts a NUL after the data */
    s = split_rows(t);
    if (s) csv_close(t);
    return s;
}

rl_status csv_columns(const csv_table *t, const char *list, const char *what, int *idx, int max, int *n)
{
    *n = 0;
    const char *p = list;
    if (!*list) return rl_fail(RL_ERR_ARG, "%s: no column named", what);
    while (1) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char tok[CSV_MAX_NAME + 1];
        if (len == 0 || len > CSV_MAX_NAME) return rl_fail(RL_ERR_ARG, "%s '%s': an empty or over-long column name", what, list);
        memcpy(tok, p, len);
        tok[len] = '\0';
        int hit = -1, hits = 0;
        for (int c = 0; c < t->cols; c++)
            if (strcmp(t->names[c], tok) == 0) hit = c, hits++;
        if (hits > 1) return rl_fail(RL_ERR_ARG, "%s: %d columns of %s are named '%s': give its number instead", what, hits, t->path, tok);
        if (hits == 0 && strspn(tok, "0123456789") == len) {
            long k = strtol(tok, NULL, 10);
            if (k < 1 || k > t->cols)
                return rl_fail(RL_ERR_ARG, "%s: column %s is not one of %s's %d columns (counted from 1)", what, tok, t->path, t->cols);
            hit = (int)k - 1;
        }
        if (hit < 0) {
            char names[512];
            size_t at = 0;
            for (int c = 0; c < t->cols && at + 4 < sizeof names; c++)
                at += (size_t)snprintf(names + at, sizeof names - at, "%s'%s'", c ? ", " : "", t->names[c]);
            return rl_fail(RL_ERR_ARG, "%s: no column '%s' in %s (its columns: %s)", what, tok, t->path, names);
        }
        for (int k = 0; k < *n; k++)
            if (idx[k] == hit) return rl_fail(RL_ERR_ARG, "%s: column '%s' is named twice", what, t->names[hit]);
        if (*n == max) return rl_fail(RL_ERR_ARG, "%s: more than %d columns", what, max);
        idx[(*n)++] = hit;
        if (!e) break;
        p = e + 1;
    }
    return RL_OK;
}

rl_status csv_numbers(const csv_table *t, const int *idx, int k, double *out)
{
    const char *end = t->buf + t->len;
    char cell[128];
    for (int64_t r = 0; r < t->rows; r++) {
        const char *p = t->buf + t->row_at[r], *fs, *fe;
        int eol = 0, q;
        int64_t lines = 0;
        for (int c = 0; !eol; c++) {
            p = field(p, end, &fs, &fe, &q, &eol, &lines);
            RL_ASSERT(p != NULL); /* split_rows has read this row */
            for (int j = 0; j < k; j++) {
                if (idx[j] != c) continue;
                const char *col = t->names[c];
                if (fe - fs >= (long)sizeof cell)
                    return rl_fail(RL_ERR_FORMAT, "%s: line %lld, column '%s': not a number (%ld bytes)", t->path,
                                   (long long)t->line[r], col, (long)(fe - fs));
                field_text(fs, fe, q, cell, sizeof cell);
                char *stop;
                errno = 0;
                double v = strtod(cell, &stop);
                while (*stop == ' ' || *stop == '\t') stop++;
                if (!cell[0]) return rl_fail(RL_ERR_FORMAT, "%s: line %lld, column '%s': an empty cell", t->path, (long long)t->line[r], col);
                if (stop == cell || *stop)
                    return rl_fail(RL_ERR_FORMAT, "%s: line %lld, column '%s': '%s' is not a number", t->path, (long long)t->line[r], col, cell);
                if (!isfinite(v))
                    return rl_fail(RL_ERR_NONFINITE, "%s: line %lld, column '%s': %s is not a finite number", t->path,
                                   (long long)t->line[r], col, cell);
                out[(size_t)r * k + j] = v;
            }
        }
    }
    return RL_OK;
}
