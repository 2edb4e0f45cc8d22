/* The spec of a sweep (rnnlab sweep --help shows its format) and its
 * points: every combination of the axes' values and the seeds, each with
 * the command lines of its stages and an id made from them (cli/sweeps/sweep.h). */
#include "sweeps/sweep.h"

#include "processes/dist.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const sweep_cmd_names[] = {"train", "lyapunov", "jacobian"};
const char *const sweep_stage_names[] = {"init", "data", "cmd"};

/* ------------------------------------------------------------------ the spec */

/* The command a stage of a sweep of cmd runs: rnnlab init, rnnlab data, or cmd. */
static const char *stage_command(int cmd, int st) { return st == ST_CMD ? sweep_cmd_names[cmd] : sweep_stage_names[st]; }

int strv_push(strv *s, const char *x)
{
    if (s->n + 2 > s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        s->v = v, s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x))) return -1;
    s->v[++s->n] = NULL;
    return 0;
}

void strv_free(strv *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    *s = (strv){0};
}

void spec_free(spec *sp)
{
    for (int s = 0; s < ST_COUNT; s++) strv_free(&sp->fixed[s]);
    for (int a = 0; a < sp->naxes; a++) {
        for (int k = 0; sp->ax[a].args && k < sp->ax[a].values.n; k++) strv_free(&sp->ax[a].args[k]);
        free(sp->ax[a].args);
        strv_free(&sp->ax[a].values);
    }
    strv_free(&sp->seeds);
}

static int spec_error(const spec *sp, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sweep_spec_quiet;
long sweep_spec_max = MAX_POINTS;

static int spec_error(const spec *sp, int line, const char *fmt, ...)
{
    if (cli_dist_rank() != 0 || sweep_spec_quiet) return 2; /* every rank reads the same spec: rank 0 says it */
    va_list ap;
    va_start(ap, fmt);
    if (line > 0) fprintf(stderr, "rnnlab sweep: %s:%d: ", sp->path, line);
    else fprintf(stderr, "rnnlab sweep: %s: ", sp->path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* "A:B:S" (A, A + S, ... <= B), "A:B" (A, A + 1, ... <= B), else v itself.
 * The count is fixed before any value is made, (B - A) / S + 1 within a
 * relative 1e-9, so that a step below the precision of A (1e300:1e300:1)
 * cannot go on without end; values that print the same at 10 digits
 * (the plan's and the ids' text) are refused where they are made. */
static int expand(const spec *sp, int line, const char *v, strv *out)
{
    char *e1 = NULL, *e2 = NULL, *e3 = NULL;
    if (!strchr(v, ':')) return strv_push(out, v) ? spec_error(sp, line, "out of memory") : 0;
    errno = 0;
    double a = strtod(v, &e1), b = e1 && *e1 == ':' ? strtod(e1 + 1, &e2) : NAN, s = 1;
    if (e2 && *e2 == ':') s = strtod(e2 + 1, &e3);
    else e3 = e2;
    if (errno || !e3 || *e3 || !isfinite(a) || !isfinite(b) || !(s > 0) || !isfinite(s) || b < a)
        return spec_error(sp, line, "'%s' is not a range A:B:STEP (A <= B, STEP > 0, all finite)", v);
    double span = (b - a) / s; /* inf when b - a overflows */
    if (!(span <= sweep_spec_max)) return spec_error(sp, line, "'%s' has more than %ld values", v, sweep_spec_max);
    long count = (long)floor(span * (1 + 1e-9) + 1e-9) + 1;
    char prev[64] = "";
    for (long k = 0; k < count; k++) {
        double x = k == count - 1 && count > 1 && a + (double)k * s > b ? b : a + (double)k * s;
        char buf[64];
        snprintf(buf, sizeof buf, "%.10g", fabs(x) < 1e-12 * s ? 0.0 : x);
        if (k && strcmp(buf, prev) == 0)
            return spec_error(sp, line, "'%s': the step is too small for its values at 10 digits (%s twice)", v, buf);
        memcpy(prev, buf, sizeof prev);
        if (strv_push(out, buf)) return spec_error(sp, line, "out of memory");
    }
    return 0;
}

/* A seed: a whole number in [0, 2^64). */
static int seed_value(const char *w, unsigned long long *out)
{
    char *end = NULL;
    if (!*w || strspn(w, "0123456789") != strlen(w)) return 0;
    errno = 0;
    *out = strtoull(w, &end, 10);
    return !errno && end && !*end;
}

/* Seeds: S, or a range A:B (A, A + 1, ... B) or A:B:STEP of whole numbers. */
static int expand_seeds(const spec *sp, int line, const char *v, strv *out)
{
    char w[3][32] = {"", "", "1"};
    const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *from[3] = {v, c1 ? c1 + 1 : NULL, c2 ? c2 + 1 : NULL}, *to[3] = {c1, c2, NULL};
    int parts = c2 ? 3 : c1 ? 2 : 1, ok = !(c2 && strchr(c2 + 1, ':'));
    for (int k = 0; ok && k < parts; k++) {
        size_t len = to[k] ? (size_t)(to[k] - from[k]) : strlen(from[k]);
        ok = len < sizeof w[k];
        if (ok) memcpy(w[k], from[k], len), w[k][len] = '\0';
    }
    unsigned long long a = 0, b = 0, s = 1;
    if (!ok || !seed_value(w[0], &a) || (parts > 1 && !seed_value(w[1], &b)) || (parts > 2 && !seed_value(w[2], &s)))
        return spec_error(sp, line, "seed '%s' is not a whole number >= 0 (or a range A:B of them)", v);
    if (parts == 1) return strv_push(out, w[0]) ? spec_error(sp, line, "out of memory") : 0;
    if (b < a || s == 0) return spec_error(sp, line, "'%s' is not a range of seeds A:B:STEP (A <= B, STEP >= 1)", v);
    if ((b - a) / s >= (unsigned long long)sweep_spec_max)
        return spec_error(sp, line, "'%s' has more than %ld seeds", v, sweep_spec_max);
    for (unsigned long long x = a;; x += s) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", x);
        if (strv_push(out, buf)) return spec_error(sp, line, "out of memory");
        if (b - x < s) break;
    }
    return 0;
}

/* A value as the plan shows it (value_json): a number at 10 digits, else the text. */
static void canonical(const char *v, char *buf, size_t n)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (end != v && *end == '\0' && isfinite(x)) snprintf(buf, n, "%.10g", x);
    else snprintf(buf, n, "%s", v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A value given twice in a list (an axis, the seeds), as the plan shows
 * values: 2 after a line naming it, else 0. */
static int no_repeats(const spec *sp, int line, const char *what, const strv *v)
{
    char **c = calloc((size_t)v->n + 1, sizeof *c);
    int e = c ? 0 : spec_error(sp, line, "out of memory");
    for (int i = 0; !e && i < v->n; i++) {
        char buf[512];
        canonical(v->v[i], buf, sizeof buf);
        if (!(c[i] = strdup(buf))) e = spec_error(sp, line, "out of memory");
    }
    if (!e) qsort(c, (size_t)v->n, sizeof *c, cmp_str);
    for (int i = 1; !e && i < v->n; i++)
        if (strcmp(c[i], c[i - 1]) == 0)
            e = spec_error(sp, line, "%s lists %s twice: each point must be another", what, c[i]);
    for (int i = 0; c && i < v->n; i++) free(c[i]);
    free(c);
    return e;
}

/* Split a line into words at blanks; # starts a comment. */
static int words(char *line, char **w, int max)
{
    int n = 0;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    for (char *t = strtok(line, " \t\r\n"); t && n < max; t = strtok(NULL, " \t\r\n")) w[n++] = t;
    return n;
}

/* "init:--gain" -> stage ST_INIT, flag "--gain"; a flag without a stage goes
 * to init when rnnlab init takes it (lyapunov, jacobian), else to the command. */
static int route(const spec *sp, const char *tok, const char **flag)
{
    *flag = tok;
    for (int s = 0; s < ST_COUNT; s++) {
        size_t k = strlen(sweep_stage_names[s]);
        if (strncmp(tok, sweep_stage_names[s], k) == 0 && tok[k] == ':') {
            *flag = tok + k + 1;
            return s;
        }
    }
    if (sp->cmd == CMD_TRAIN) return ST_CMD;
    /* the option table says which options rnnlab init takes */
    if (strncmp(tok, "--", 2) == 0 && cli_option_of("init", tok + 2)) return ST_INIT;
    return ST_CMD;
}

/* An indented line "LABEL ARGS..." below "grid NAME": a set of axis a. */
static int add_set(spec *sp, int no, axis *a, char **w, int n)
{
    strv *args = realloc(a->args, (size_t)(a->values.n + 1) * sizeof *args);
    if (args) a->args = args;
    if (!args || strv_push(&a->values, w[0])) return spec_error(sp, no, "out of memory");
    a->args[a->values.n - 1] = (strv){0};
    for (int i = 1; i < n; i++)
        if (strv_push(&a->args[a->values.n - 1], w[i])) return spec_error(sp, no, "out of memory");
    return 0;
}

/* "grid --OPT V1 V2..." (an axis of an option's values) or "grid NAME" (an
 * axis of named sets, *sets then takes the indented lines below it). */
static int add_axis(spec *sp, int no, char **w, int n, axis **sets)
{
    int e = 0;
    if (sp->naxes == MAX_AXES) return spec_error(sp, no, "more than %d axes", MAX_AXES);
    if (sp->cmd < 0) return spec_error(sp, no, "'command' comes before the axes (they are routed by it)");
    if (n < 2) return spec_error(sp, no, "'grid' takes --OPT and its values, or a NAME with indented sets below");
    axis *a = &sp->ax[sp->naxes++];
    const char *flag;
    a->stage = route(sp, w[1], &flag);
    if (strncmp(flag, "--", 2) == 0) {
        snprintf(a->flag, sizeof a->flag, "%s", flag);
        snprintf(a->name, sizeof a->name, "%s", flag + 2);
        if (strchr(w[1], ':')) snprintf(a->name, sizeof a->name, "%s.%s", sweep_stage_names[a->stage], flag + 2);
        for (int i = 2; i < n && !e; i++) e = expand(sp, no, w[i], &a->values);
        if (!e && n == 2) e = spec_error(sp, no, "%s has no values", w[1]);
        char what[96];
        snprintf(what, sizeof what, "the axis %s", w[1]);
        if (!e) e = no_repeats(sp, no, what, &a->values);
    } else {
        if (n != 2) e = spec_error(sp, no, "'grid %s': a set's options go on indented lines below it", w[1]);
        a->sets = 1;
        snprintf(a->name, sizeof a->name, "%s", w[1]);
        *sets = a;
    }
    return e;
}

int parse_spec(spec *sp, const char *path)
{
    FILE *f = cli_fopen_read(path, 1 << 20);
    if (!f) {
        memset(sp, 0, sizeof *sp);
        fprintf(stderr, "rnnlab sweep: %s: cannot read: %s\n", path, cli_read_error(errno));
        return 1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && sb.st_size > 1 << 20) { /* a stream was copied with the same bound */
        memset(sp, 0, sizeof *sp);
        fprintf(stderr, "rnnlab sweep: %s: cannot read: %s (a spec is at most 1 MiB)\n", path, cli_read_error(EFBIG));
        fclose(f);
        return 1;
    }
    int e = parse_spec_stream(sp, path, f);
    fclose(f);
    return e;
}

int parse_spec_stream(spec *sp, const char *path, FILE *f)
{
    memset(sp, 0, sizeof *sp);
    sp->path = path;
    sp->cmd = -1;
    char *line = NULL;
    size_t cap = 0;
    int no = 0, e = 0;
    axis *sets = NULL; /* the axis of named sets that indented lines add to */
    ssize_t len;
    while (!e && (len = getline(&line, &cap, f)) > 0) {
        no++;
        if (strlen(line) != (size_t)len) { /* a NUL would end the line unseen */
            e = spec_error(sp, no, "a NUL byte: a spec is a text file");
            break;
        }
        int indented = line[0] == ' ' || line[0] == '\t';
        char *w[512];
        int n = words(line, w, 512);
        if (n == 0) continue;
        if (n == 512) {
            e = spec_error(sp, no, "more than 511 words on a line");
            break;
        }
        if (indented && sets) { /* LABEL ARGS... */
            e = add_set(sp, no, sets, w, n);
            continue;
        }
        if (indented) {
            e = spec_error(sp, no, "an indented line belongs to a 'grid NAME' above it");
            break;
        }
        sets = NULL;
        const char *key = w[0];
        if (strcmp(key, "command") == 0) {
            if (n != 2) e = spec_error(sp, no, "'command' takes one word: train, lyapunov or jacobian");
            for (int k = 0; !e && k < 3; k++)
                if (strcmp(w[1], sweep_cmd_names[k]) == 0) sp->cmd = k;
            if (!e && sp->cmd < 0) e = spec_error(sp, no, "unknown command '%s': train, lyapunov or jacobian", w[1]);
        } else if (strcmp(key, "options") == 0 || strcmp(key, "init") == 0 || strcmp(key, "data") == 0) {
            int st = key[0] == 'o' ? ST_CMD : key[0] == 'i' ? ST_INIT : ST_DATA;
            for (int i = 1; i < n && !e; i++)
                if (strv_push(&sp->fixed[st], w[i])) e = spec_error(sp, no, "out of memory");
        } else if (strcmp(key, "seeds") == 0) {
            for (int i = 1; i < n && !e; i++) e = expand_seeds(sp, no, w[i], &sp->seeds);
            if (!e && n == 1) e = spec_error(sp, no, "'seeds' needs at least one seed");
            if (!e) e = no_repeats(sp, no, "'seeds'", &sp->seeds);
        } else if (strcmp(key, "grid") == 0) {
            e = add_axis(sp, no, w, n, &sets);
        } else {
            e = spec_error(sp, no, "unknown statement '%s' (command, options, init, data, grid, seeds)", key);
        }
    }
    free(line);
    if (e) return e;
    if (sp->cmd < 0) return spec_error(sp, no, "no 'command' line");
    if (sp->cmd == CMD_TRAIN && (sp->fixed[ST_INIT].n || sp->fixed[ST_DATA].n))
        return spec_error(sp, no, "'init' and 'data' are for lyapunov and jacobian (train makes its own model)");
    if (sp->cmd == CMD_LYAPUNOV && sp->fixed[ST_DATA].n) return spec_error(sp, no, "'data' is for jacobian");
    if (sp->cmd == CMD_JACOBIAN && !sp->fixed[ST_DATA].n)
        return spec_error(sp, no, "jacobian needs a 'data' line: the sequence, as rnnlab data takes it (--steps T)");
    sp->npoints = sp->seeds.n ? sp->seeds.n : 1;
    for (int a = 0; a < sp->naxes; a++) {
        if (!sp->ax[a].values.n) return spec_error(sp, no, "the axis %s has no values", sp->ax[a].name);
        char what[96];
        snprintf(what, sizeof what, "the axis %s", sp->ax[a].name);
        if (sp->ax[a].sets && (e = no_repeats(sp, no, what, &sp->ax[a].values))) return e;
        if (sp->npoints * sp->ax[a].values.n > sweep_spec_max) return spec_error(sp, no, "more than %ld points", sweep_spec_max);
        sp->npoints *= sp->ax[a].values.n;
        for (int b = 0; b < a; b++)
            if (strcmp(sp->ax[a].name, sp->ax[b].name) == 0) return spec_error(sp, no, "two axes are named %s", sp->ax[a].name);
    }
    return 0;
}

/* ------------------------------------------------------------------ points */

void point_free(point *p)
{
    for (int s = 0; s < ST_COUNT; s++) strv_free(&p->argv[s]);
    cJSON_Delete(p->options);
    memset(p, 0, sizeof *p);
}

/* A JSON number when all of v is one, else a string. */
cJSON *value_json(const char *v)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (end != v && *end == '\0' && isfinite(x)) return cJSON_CreateNumber(x);
    return cJSON_CreateString(v);
}

/* Which stages a command has, and which take --seed. */
int sweep_has_stage(int cmd, int st)
{
    return st == ST_CMD || (st == ST_INIT && cmd != CMD_TRAIN) || (st == ST_DATA && cmd == CMD_JACOBIAN);
}
static int takes_seed(int cmd, int st)
{
    return sweep_has_stage(cmd, st) && rl_option_takes(cli_option_find("seed"), stage_command(cmd, st));
}

/* The options the sweep gives each stage itself (cli/sweeps/cmd_sweep.c's stage
 * lines), or that would contradict them (--progress beside its --quiet). */
static int sweeps_own(int cmd, int st, const char *flag)
{
    static const char *const own[ST_COUNT] = {" out ", " model out ", ""};
    static const char *const cmd_own[3] = {" out resume quiet progress ", " model out quiet progress ",
                                           " model data out quiet progress "};
    char word[80];
    snprintf(word, sizeof word, " %s ", flag);
    return strstr(st == ST_CMD ? cmd_own[cmd] : own[st], word) != NULL;
}

/* A point's name in messages. */
static const char *label_of(const point *p) { return p->label[0] ? p->label : "(the only one)"; }

/* The edit distance of a and b (insertions, deletions, substitutions,
 * adjacent swaps), or 3 once it is past 2. */
static int near(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 62 || nb > 62 || (na > nb ? na - nb : nb - na) > 2) return 3;
    int d[64][64];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v) v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb] < 3 ? d[na][nb] : 3;
}

/* What an option cmd does not have may be: "(rnnlab spectrum's option)" when
 * other commands take it, "(did you mean --gain?)" for a near one of cmd's. */
static void flag_hint(const char *cmd, const char *flag, char *buf, size_t n)
{
    size_t at = 0;
    int best = 3;
    buf[0] = '\0';
    for (int i = 0; i < cli_option_count() && at < n; i++) {
        const rl_option *o = cli_option_at(i);
        for (const char *w = o->commands; strcmp(o->flag, flag) == 0 && *w && at < n;) { /* its commands' words */
            size_t k = strcspn(w, " ");
            at += (size_t)snprintf(buf + at, n - at, "%s%.*s", at ? ", " : " (an option of rnnlab ", (int)k, w);
            w += k + (w[k] == ' ');
        }
    }
    if (at && at < n) {
        snprintf(buf + at, n - at, ")");
        return;
    }
    for (int i = 0; i < cli_option_count(); i++) {
        const rl_option *o = cli_option_at(i);
        int k = rl_option_takes(o, cmd) ? near(flag, o->flag) : 3;
        if (k < best) best = k, snprintf(buf, n, " (did you mean --%s?)", o->flag);
    }
}

/* Each stage's options against the table: an option the stage's command
 * has, its value where it takes one, in its range (parsed as the command
 * will parse it). 0, or 2 after a line naming the point. */
static int check_stage(const spec *sp, const point *p, int st)
{
    const char *cmd = stage_command(sp->cmd, st);
    cli_args scratch;
    cli_defaults(NULL, &scratch);
    const strv *v = &p->argv[st];
    for (int k = 0; k < v->n; k++) {
        const char *w = v->v[k];
        if (strncmp(w, "--", 2) != 0)
            return spec_error(sp, 0, "point %s: '%s' for rnnlab %s is not an option (a value without one?)", label_of(p), w, cmd);
        const rl_option *o = cli_option_of(cmd, w + 2);
        if (!o) {
            char hint[300];
            flag_hint(cmd, w + 2, hint, sizeof hint);
            return spec_error(sp, 0, "point %s: rnnlab %s has no option %s%s", label_of(p), cmd, w, hint);
        }
        if (sweeps_own(sp->cmd, st, w + 2))
            return spec_error(sp, 0, "point %s: %s is the sweep's to give rnnlab %s (each point's files are in its folder)",
                              label_of(p), w, cmd);
        if (!o->arg) continue;
        if (k + 1 == v->n) return spec_error(sp, 0, "point %s: %s of rnnlab %s needs a value", label_of(p), w, cmd);
        if (rl_option_parse(cli_option_field(&scratch, o), o, v->v[++k]))
            return spec_error(sp, 0, "point %s: rnnlab %s: %s", label_of(p), cmd, rl_errmsg());
    }
    /* the command's required options, but those the sweep gives */
    const cli_command *k = cli_command_named(cmd);
    for (const char *r = k ? k->required : NULL; r && *r;) {
        size_t len = strcspn(r, " ");
        char name[64], flag[80];
        snprintf(name, sizeof name, "%.*s", (int)len, r);
        r += len + (r[len] == ' ');
        const rl_option *o = cli_option_find(name);
        if (!o || sweeps_own(sp->cmd, st, o->flag)) continue;
        snprintf(flag, sizeof flag, "--%s", o->flag);
        int given = 0;
        for (int i = 0; i < v->n; i++) given |= strcmp(v->v[i], flag) == 0;
        if (!given) return spec_error(sp, 0, "point %s: rnnlab %s needs %s", label_of(p), cmd, flag);
    }
    return 0;
}

/* FNV-1a, 64 bits */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Point i: the axes in order, the first the slowest, the seeds fastest. An
 * option given twice to one stage is a spec error (2). */
int make_point(const spec *sp, long i, point *p)
{
    memset(p, 0, sizeof *p);
    long rest = i;
    int pick[MAX_AXES + 1] = {0};
    int seed = sp->seeds.n ? (int)(rest % sp->seeds.n) : -1;
    if (sp->seeds.n) rest /= sp->seeds.n;
    for (int a = sp->naxes - 1; a >= 0; a--) pick[a] = (int)(rest % sp->ax[a].values.n), rest /= sp->ax[a].values.n;
    int e = 0;
    for (int s = 0; s < ST_COUNT && !e; s++)
        for (int k = 0; k < sp->fixed[s].n && !e; k++) e = strv_push(&p->argv[s], sp->fixed[s].v[k]);
    p->options = cJSON_CreateObject();
    size_t at = 0;
    for (int a = 0; a < sp->naxes && !e; a++) {
        const axis *ax = &sp->ax[a];
        const char *v = ax->values.v[pick[a]];
        if (!ax->sets) {
            e = strv_push(&p->argv[ax->stage], ax->flag) || strv_push(&p->argv[ax->stage], v);
        } else {
            const strv *args = &ax->args[pick[a]];
            for (int k = 0; k < args->n && !e; k++) {
                const char *flag;
                int st = route(sp, args->v[k], &flag);
                e = strv_push(&p->argv[st], flag);
                /* its value, when the stage's command takes one with it (the table
                 * says); an option it does not have keeps the word after it
                 * unless that is an option, and check_stage says so */
                const rl_option *o = strncmp(flag, "--", 2) == 0 ? cli_option_of(stage_command(sp->cmd, st), flag + 2) : NULL;
                int takes = o ? o->arg != NULL : strncmp(flag, "--", 2) == 0 && k + 1 < args->n &&
                                                     strncmp(args->v[k + 1], "--", 2) != 0 && !strchr(args->v[k + 1], ':');
                if (!e && takes && k + 1 < args->n) e = strv_push(&p->argv[st], args->v[++k]);
            }
        }
        cJSON_AddItemToObject(p->options, ax->name, value_json(v));
        at += (size_t)snprintf(p->label + at, at < sizeof p->label ? sizeof p->label - at : 0, "%s%s=%s", a ? " " : "", ax->name, v);
    }
    if (seed >= 0 && !e) {
        for (int s = 0; s < ST_COUNT && !e; s++)
            if (takes_seed(sp->cmd, s)) e = strv_push(&p->argv[s], "--seed") || strv_push(&p->argv[s], sp->seeds.v[seed]);
        cJSON_AddItemToObject(p->options, "seed", value_json(sp->seeds.v[seed]));
        if (at < sizeof p->label) snprintf(p->label + at, sizeof p->label - at, "%sseed=%s", at ? " " : "", sp->seeds.v[seed]);
    }
    if (e) {
        if (!sweep_spec_quiet) fprintf(stderr, "rnnlab sweep: out of memory\n");
        return 1;
    }
    /* options for a stage the command does not have, and options given twice */
    for (int s = 0; s < ST_COUNT; s++) {
        if (p->argv[s].n && !sweep_has_stage(sp->cmd, s))
            return spec_error(sp, 0, "%s: %s is for a stage %s does not have (%s:)", p->label, p->argv[s].v[0], sweep_cmd_names[sp->cmd],
                              sweep_stage_names[s]);
        for (int k = 0; k < p->argv[s].n; k++)
            for (int m = 0; m < k && strncmp(p->argv[s].v[k], "--", 2) == 0; m++)
                if (strcmp(p->argv[s].v[k], p->argv[s].v[m]) == 0)
                    return spec_error(sp, 0, "point %s: %s is given twice (by the options and an axis?)", p->label, p->argv[s].v[k]);
        if (sweep_has_stage(sp->cmd, s) && check_stage(sp, p, s)) return 2;
    }
    /* the id: the command and every stage's options, which say all the point is */
    uint64_t h = fnv(0xcbf29ce484222325ull, sweep_cmd_names[sp->cmd]);
    for (int s = 0; s < ST_COUNT; s++) {
        h = fnv(h, "\n");
        h = fnv(h, sweep_stage_names[s]);
        for (int k = 0; k < p->argv[s].n; k++) h = fnv(fnv(h, "\x1f"), p->argv[s].v[k]);
    }
    snprintf(p->id, sizeof p->id, "%016llx", (unsigned long long)h);
    return 0;
}


/* ------------------------------------------------------------------ the plan's ids */

static const char (*id_table)[17];
static int cmp_id(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    int c = strcmp(id_table[x], id_table[y]);
    return c ? c : (x > y) - (x < y);
}

int sweep_repeated_id(const char (*ids)[17], long n, long *first, long *second)
{
    long *order = malloc(((size_t)n + 1) * sizeof *order);
    if (!order) return -1;
    for (long i = 0; i < n; i++) order[i] = i;
    id_table = ids;
    qsort(order, (size_t)n, sizeof *order, cmp_id);
    int found = 0;
    for (long i = 1; i < n && !found; i++)
        if (strcmp(ids[order[i]], ids[order[i - 1]]) == 0) *first = order[i - 1], *second = order[i], found = 1;
    free(order);
    return found;
}
