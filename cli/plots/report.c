/* The HTML report: see report.h. */
#include "plots/report.h"

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct report {
    char dir[1024];
    char tmp[1300]; /* the page being written: report.html.tmp.XXXXXX */
    FILE *f;
    int figures;
    int failed;
};

const char *report_dir(const report *r) { return r->dir; }

const char *report_path(const report *r, const char *name)
{
    static char buf[8][1300];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", r->dir, name);
    return b;
}

static const char style[] =
    "body{font-family:Georgia,'DejaVu Serif',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;"
    "line-height:1.5}h1,h2{font-family:'DejaVu Sans',Helvetica,sans-serif}h2{margin-top:2.5rem;border-bottom:1px solid"
    " #ccc}figure{margin:1.5rem 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:0.95rem;"
    "color:#333}figcaption a{font-size:0.85rem}code{background:#f4f4f4;padding:0 0.2rem}"
    ".mxrow{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:center;margin:0.5rem 0}table.mx{border-collapse:collapse;"
    "font-family:'DejaVu Sans Mono',monospace;font-size:0.85rem}table.mx td,table.mx th{padding:0.1rem 0.4rem;"
    "text-align:right}table.mx td[rowspan]{font-family:Georgia,serif;font-size:1rem;padding-right:0.6rem}";

char *html_escape(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++) n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' || *p == '\'' ? 5 : 1;
    char *out = malloc(n), *o = out;
    for (; out && *s; s++) {
        const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&#34;" : *s == '\'' ? "&#39;" : NULL;
        if (r) memcpy(o, r, strlen(r)), o += strlen(r);
        else *o++ = *s;
    }
    if (out) *o = '\0';
    return out;
}

void report_file_name(char *out, size_t n, const char *prefix, const char *text, const char *suffix)
{
    char safe[80];
    size_t k = 0, len = strlen(text);
    int changed = len > 64 || len == 0;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the whole text */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    for (; k < len && k < 64; k++) {
        char c = text[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        safe[k] = ok ? c : '_';
        changed |= !ok;
    }
    safe[k] = '\0';
    if (changed) snprintf(out, n, "%s%s-%08x%s", prefix, safe, (unsigned)(h ^ (h >> 32)), suffix);
    else snprintf(out, n, "%s%s%s", prefix, safe, suffix);
}

report *report_open(const char *dir, const char *title, const char *intro_html)
{
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: %s exists and is not a folder\n", cli_prog, dir);
        return NULL;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s: cannot create: %s\n", cli_prog, dir, strerror(errno));
        return NULL;
    }
    report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    if (stat(report_path(r, "report.html"), &sb) == 0 && !S_ISREG(sb.st_mode)) { /* outputs are regular files */
        fprintf(stderr, "%s: %s/report.html: cannot write: it is not a regular file\n", cli_prog, dir);
        free(r);
        return NULL;
    }
    /* a name of its own (O_EXCL): a link left in the folder is never followed */
    snprintf(r->tmp, sizeof r->tmp, "%s", report_path(r, "report.html.tmp.XXXXXX"));
    int fd = mkstemp(r->tmp);
    r->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!r->f) {
        fprintf(stderr, "%s: %s/report.html: cannot write: %s\n", cli_prog, dir, strerror(errno));
        if (fd >= 0) close(fd), unlink(r->tmp);
        free(r);
        return NULL;
    }
    char *t = html_escape(title);
    fprintf(r->f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n<style>%s</style>"
                  "</head><body>\n<h1>%s</h1>\n%s\n", t ? t : "", style, t ? t : "", intro_html);
    free(t);
    return r;
}

void report_heading(report *r, const char *heading, const char *html)
{
    fprintf(r->f, "<h2>%s</h2>\n%s\n", heading, html ? html : "");
}

static void base64(FILE *out, const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(t[v >> 18 & 63], out);
        fputc(t[v >> 12 & 63], out);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? t[v & 63] : '=', out);
    }
}

void report_figure(report *r, const char *png, const char *caption, const char *csv)
{
    FILE *f = fopen(report_path(r, png), "rb");
    unsigned char *buf = NULL;
    size_t n = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (len > 0 && (buf = malloc((size_t)len)) && fread(buf, 1, (size_t)len, f) == (size_t)len) n = (size_t)len;
        fclose(f);
    }
    if (!n) {
        fprintf(stderr, "%s: figure %s/%s is missing or empty\n", cli_prog, r->dir, png);
        r->failed = 1;
    }
    r->figures++;
    char *p = html_escape(png), *c = csv ? html_escape(csv) : NULL;
    fprintf(r->f, "<figure id=\"fig%d\"><img alt=\"Figure %d\" data-file=\"%s\" src=\"data:image/png;base64,", r->figures,
            r->figures, p ? p : "");
    base64(r->f, buf, n);
    fprintf(r->f, "\">\n<figcaption><b>Figure %d.</b> %s <a href=\"%s\">[image]</a>", r->figures, caption, p ? p : "");
    if (c) fprintf(r->f, " <a href=\"%s\">[data]</a>", c);
    fprintf(r->f, "</figcaption></figure>\n");
    if (!p || (csv && !c)) r->failed = 1;
    free(p), free(c);
    free(buf);
}

int report_close(report *r)
{
    fprintf(r->f, "<hr><p><small>Made by rnnlab; every number above comes from the run that wrote this page.</small></p>"
                  "</body></html>\n");
    int bad = ferror(r->f) | (fclose(r->f) != 0) | r->failed;
    char fin[1300];
    snprintf(fin, sizeof fin, "%s", report_path(r, "report.html"));
    if (!bad && (chmod(r->tmp, 0644) != 0 || rename(r->tmp, fin) != 0)) bad = 1;
    if (bad) fprintf(stderr, "%s: %s: the report could not be written completely\n", cli_prog, fin);
    if (bad) unlink(r->tmp);
    free(r);
    return bad ? -1 : 0;
}

void report_abort(report *r)
{
    fclose(r->f);
    unlink(r->tmp);
    free(r);
}

/* A CSV header's name: no comma, quote or line break to split it */
static void csv_name(FILE *f, const char *s)
{
    for (; *s; s++) fputc(*s == ',' || *s == '"' || *s == '\n' || *s == '\r' ? '_' : *s, f);
}

int write_csv(const char *path, const char *const *names, const double *const *cols, int ncol, int nrow)
{
    char tmp[4200];
    int fd = -1;
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* outputs are regular files */
        fprintf(stderr, "%s: %s: cannot write: it is not a regular file\n", cli_prog, path);
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) < (int)sizeof tmp) fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "%s: %s: cannot write: %s\n", cli_prog, path, strerror(fd >= 0 || errno ? errno : ENAMETOOLONG));
        if (fd >= 0) close(fd), unlink(tmp);
        return -1;
    }
    for (int c = 0; c < ncol; c++) {
        if (c) fputc(',', f);
        csv_name(f, names[c]);
    }
    fputc('\n', f);
    for (int i = 0; i < nrow; i++) {
        for (int c = 0; c < ncol; c++) fprintf(f, "%s%.10g", c ? "," : "", cols[c][i]);
        fputc('\n', f);
    }
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: %s: cannot write: %s\n", cli_prog, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
