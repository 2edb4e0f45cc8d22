/* Argument handling shared by every subcommand: strict, with one clear line
 * for each mistake. */
#include "cli.h"
#include "processes/dist.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_usage_error(const cli_ctx *c, const char *fmt, ...)
{
    /* on several processes every rank reads the same arguments: rank 0 says it */
    if (cli_dist_rank() != 0) return 2;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rnnlab %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'rnnlab %s --help')\n", c->cmd);
    va_end(ap);
    return 2;
}

int cli_fail(const cli_ctx *c, rl_status s)
{
    if (s == RL_ERR_INTERRUPTED) {
        cli_progress_end();
        fprintf(stderr, "rnnlab %s: interrupted; nothing written\n", c->cmd);
        return 130;
    }
    const char *m = rl_errmsg();
    fprintf(stderr, "rnnlab %s: %s\n", c->cmd, m && *m ? m : rl_strerror(s));
    return 1;
}

int cli_progress_mode(const cli_ctx *c, int *mode)
{
    int progress = cli_given(c, "progress"), quiet = cli_given(c, "quiet");
    if (progress && quiet) return cli_usage_error(c, "--progress and --quiet contradict each other");
    *mode = progress ? 1 : quiet ? -1 : 0;
    return 0;
}

int cli_fail_arg(const cli_ctx *c, rl_status s)
{
    return s == RL_ERR_ARG ? cli_usage_error(c, "%s", rl_errmsg()) : cli_fail(c, s);
}

const char *cli_prog = "rnnlab";

/* text with "{cells}" replaced by the cells of the library's table ("tanh |
 * relu | ..."), so that a new cell shows up in every help, into buf */
static void with_cells(const char *text, char *buf, size_t n)
{
    size_t at = 0;
    const char *u = text, *c;
    buf[0] = '\0';
    while ((c = strstr(u, "{cells}")) && at < n) {
        at += (size_t)snprintf(buf + at, n - at, "%.*s", (int)(c - u), u);
        for (int i = 0; i < RL_CELL_COUNT && at < n; i++)
            at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? " | " : "", rl_cell_name((rl_cell)i));
        u = c + strlen("{cells}");
    }
    if (at < n) snprintf(buf + at, n - at, "%s", u);
}

/* The sections of --help, in order; a group not listed here comes after
 * them (tests/test_options.c checks that every group is listed). */
static const char *const group_order[] = {"files", "task", "recipe", "model", "initialisation", "sequences", "exponents",
                                          "sampling", "optimisation", "regularisers", "records", "testing",
                                          "a sweep's folder", "plot csv", "run", "output"};
#define NGROUPS ((int)(sizeof group_order / sizeof group_order[0]))

static int group_rank(const char *g)
{
    for (int i = 0; i < NGROUPS; i++)
        if (strcmp(group_order[i], g) == 0) return i;
    return NGROUPS;
}

/* Whether word is one of the space-separated words of list. */
static int listed(const char *list, const char *word)
{
    rl_option o = {.commands = list};
    return list && rl_option_takes(&o, word);
}

/* "  [default]", "  (required)" or "" for row o of the command. */
static void default_words(const cli_command *k, const cli_args *def, const rl_option *o, char *buf, size_t n)
{
    char v[96] = "";
    buf[0] = '\0';
    if (listed(k->required, o->name)) {
        snprintf(buf, n, "  (required)");
        return;
    }
    if (!o->arg) return;
    if (o->default_text) {
        snprintf(buf, n, "  [%s]", o->default_text);
        return;
    }
    rl_option_format(cli_option_field((cli_args *)def, o), o, v, sizeof v);
    int shown = v[0] != '\0';
    if (o->type == RL_FIELD_INT || o->type == RL_FIELD_INT64 || o->type == RL_FIELD_DOUBLE) {
        double x = atof(v);
        shown = x >= o->lo && x <= o->hi;
    }
    if (o->type == RL_FIELD_RANGE) shown = strcmp(v, "0,0") != 0;
    if (shown) snprintf(buf, n, "  [%s]", v);
}

/* One option: "  --flag ARG          help: a | b  [default]", its words
 * folded at 100 columns under the help's column. */
static void print_option(const rl_option *o, const char *dflt)
{
    char left[64], text[1200], help[1000];
    snprintf(left, sizeof left, "--%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
    with_cells(o->help, help, sizeof help);
    size_t at = (size_t)snprintf(text, sizeof text, "%s", help);
    for (int k = 0; k < o->num_choices && o->type == RL_FIELD_ENUM && at < sizeof text; k++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%s", k ? " | " : ": ", rl_option_choice(o, k));
    if (o->type == RL_FIELD_BOOL && o->choices && at < sizeof text)
        at += (size_t)snprintf(text + at, sizeof text - at, ": %s | %s", rl_option_choice(o, 0), rl_option_choice(o, 1));
    if (at < sizeof text) snprintf(text + at, sizeof text - at, "%s", dflt);
    const int indent = 22, width = 100;
    printf("  %-19s ", left);
    /* a flag longer than its column: its words start on the next line */
    int col = strlen(left) > 19 ? width : indent, pending = 0;
    for (const char *w = text; *w;) {
        int len = (int)strcspn(w, " ");
        if (col + pending + len > width && col > indent) printf("\n%*s", indent, ""), col = indent, pending = 0;
        printf("%*s%.*s", pending, "", len, w);
        col += pending + len, w += len, pending = (int)strspn(w, " "), w += pending;
    }
    putchar('\n');
}

int cli_help(const cli_ctx *c)
{
    const cli_command *k = c->spec;
    static char buf[8192];
    cli_args def;
    cli_defaults(k, &def);
    with_cells(k->usage, buf, sizeof buf);
    fputs(buf, stdout);
    for (int g = 0; g <= NGROUPS; g++) {
        int head = 0;
        for (int i = 0; i < cli_option_count(); i++) {
            const rl_option *o = cli_option_at(i);
            if (group_rank(o->group) != g || !rl_option_takes(o, k->name)) continue;
            if (!head) printf("%s:\n", o->group), head = 1;
            char dflt[160];
            default_words(k, &def, o, dflt, sizeof dflt);
            print_option(o, dflt);
        }
    }
    if (k->more) {
        with_cells(k->more, buf, sizeof buf);
        printf("\n%s", buf);
    }
    return 0;
}


/* getopt_long over argv (argv[0] is the subcommand). Returns the option's
 * value, -1 at the end, 'h' for --help, or -2 after printing a usage error
 * (unknown option, missing value, repeated option, stray argument). */
static const char *long_name(const struct option *opts, int val)
{
    for (const struct option *o = opts; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

static int cli_next(cli_ctx *c, int argc, char **argv, const struct option *opts)
{
    opterr = 0;
    int prev = optind ? optind : 1; /* optind 0 asks getopt to start over at 1 */
    /* with operands, GNU getopt moves them to the end so options may follow them */
    int v = getopt_long(argc, argv, c->operands ? ":h" : "+:h", opts, NULL);
    if (v == -1) {
        if (argc - optind > c->operands) return cli_usage_error(c, "unexpected argument '%s'", argv[optind + c->operands]), -2;
        return -1;
    }
    if (v == '?') {
        const char *arg = prev < argc ? argv[prev] : "";
        if (optopt && optopt != '?') return cli_usage_error(c, "unknown option '-%c'", optopt), -2;
        int has_data = 0; /* --text was data's name for the text before --data (issue 28) */
        for (const struct option *o = opts; o->name; o++) has_data |= strcmp(o->name, "data") == 0;
        if (has_data && strncmp(arg, "--text", 6) == 0 && (arg[6] == '\0' || arg[6] == '='))
            return cli_usage_error(c, "unknown option '%s' (the text is --data FILE, in every command)", arg), -2;
        return cli_usage_error(c, "unknown option '%s'", arg), -2;
    }
    if (v == ':') return cli_usage_error(c, "option '%s' needs a value", argv[prev]), -2;
    if (v < 0 || v >= (int)sizeof c->seen) return v;
    if (c->seen[v]) return cli_usage_error(c, "option '--%s' is given twice", long_name(opts, v)), -2;
    c->seen[v] = 1;
    return v;
}

int cli_given(const cli_ctx *c, const char *name)
{
    int i = cli_option_index(name);
    return i >= 0 && c->seen[CLI_OPT0 + i];
}

int cli_parse(cli_ctx *c, int argc, char **argv, cli_args *a)
{
    const cli_command *k = c->spec;
    enum { MAX = 256 };
    struct option opts[MAX + 2];
    const char *value[MAX] = {0};
    const int n = cli_option_count();
    assert(n <= MAX && CLI_OPT0 + n < (int)sizeof c->seen);
    cli_defaults(k, a);
    c->cmd = k->name, c->operands = k->operands;
    int m = 0;
    for (int i = 0; i < n; i++) {
        const rl_option *o = cli_option_at(i);
        if (rl_option_takes(o, k->name)) opts[m++] = (struct option){o->flag, o->arg ? required_argument : no_argument, 0, CLI_OPT0 + i};
    }
    opts[m++] = (struct option){"help", no_argument, 0, 'h'};
    opts[m] = (struct option){0, 0, 0, 0};
    int v;
    optind = 0;
    while ((v = cli_next(c, argc, argv, opts)) != -1) {
        if (v == 'h') return cli_help(c), CLI_HELP;
        if (v < CLI_OPT0 || v >= CLI_OPT0 + n) return 2;
        value[v - CLI_OPT0] = optarg ? optarg : "1";
    }
    for (int i = 0; i < n; i++)
        if (value[i] && rl_option_parse(cli_option_field(a, cli_option_at(i)), cli_option_at(i), value[i]))
            return cli_usage_error(c, "%s", rl_errmsg());
    /* the required options, in the command's order */
    for (const char *r = k->required; r && *r;) {
        size_t len = strcspn(r, " ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, r);
        if (!cli_given(c, name)) {
            const rl_option *o = cli_option_find(name);
            return cli_usage_error(c, "--%s is required", o ? o->flag : name);
        }
        r += len + (r[len] == ' ');
    }
    return 0;
}

int cli_require(const cli_ctx *c, const void *value, const char *flag)
{
    return value ? 0 : cli_usage_error(c, "--%s is required", flag);
}

void cli_print_object(const void *json_object, int as_json)
{
    const cJSON *j = json_object;
    if (as_json) {
        char *txt = cJSON_PrintUnformatted(j);
        if (txt) puts(txt);
        free(txt);
        return;
    }
    for (const cJSON *it = j->child; it; it = it->next)
        if (cJSON_IsNumber(it)) printf("%-20s %.6g\n", it->string, it->valuedouble);
        else if (cJSON_IsString(it)) printf("%-20s %s\n", it->string, it->valuestring);
}

/* "a folder", "a FIFO", ... for a st_mode */
static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
           : S_ISSOCK(m) ? "a socket" : S_ISREG(m) ? "a regular file" : "not a regular file";
}

/* Open path without blocking in the open (a FIFO without a writer); a FIFO
 * that no process writes to within CLI_FIFO_WAIT_MS is refused (ENXIO).
 * *pending: a byte its first read took, or -1. A descriptor that blocks. */
static int open_input(const char *path, struct stat *sb, int *pending)
{
    *pending = -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), err = 0;
    if (fd < 0) return -1;
    if (fstat(fd, sb) != 0) err = errno;
    else if (S_ISDIR(sb->st_mode)) err = EISDIR;
    for (int waited = 0; !err && S_ISFIFO(sb->st_mode); waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) break;
        unsigned char c;
        ssize_t got = read(fd, &c, 1);
        if (got == 1) *pending = c;
        if (got == 1 || (got < 0 && errno == EAGAIN)) break;
        if (got < 0 && errno != EINTR) err = errno;
        else if (waited >= CLI_FIFO_WAIT_MS) err = ENXIO;
        else nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    int fl = err ? -1 : fcntl(fd, F_GETFL);
    if (!err && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) err = errno;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

FILE *cli_fopen_read(const char *path, size_t limit)
{
    struct stat sb;
    int pending, fd = open_input(path, &sb, &pending);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        int err = errno;
        if (fd >= 0) close(fd);
        errno = err;
        return NULL;
    }
    if (S_ISREG(sb.st_mode)) return f;
    if (pending >= 0) ungetc(pending, f);
    FILE *t = tmpfile();
    char buf[1 << 16];
    size_t total = 0, got;
    int err = t ? 0 : errno;
    while (!err && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (memchr(buf, 0, got)) err = EINVAL;
        else if ((total += got) > limit) err = EFBIG;
        else if (fwrite(buf, 1, got, t) != got) err = errno ? errno : EIO;
    }
    if (!err && ferror(f)) err = EIO;
    fclose(f);
    if (!err) {
        rewind(t);
        return t;
    }
    if (t) fclose(t);
    errno = err;
    return NULL;
}

FILE *cli_fopen_member(const char *path)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), err = 0;
    if (fd < 0) return NULL;
    if (fstat(fd, &sb) != 0) err = errno;
    else if (S_ISDIR(sb.st_mode)) err = EISDIR;
    else if (!S_ISREG(sb.st_mode)) err = ESPIPE;
    int fl = err ? -1 : fcntl(fd, F_GETFL);
    FILE *f = !err && fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        err = err ? err : errno;
        close(fd);
        errno = err;
    }
    return f;
}

const char *cli_read_error(int err)
{
    if (err == EINVAL) return "it holds a NUL byte: not a text file";
    if (err == EFBIG) return "larger than a file of its kind can be";
    if (err == EISDIR) return "it is a folder, not a file";
    if (err == ENXIO) return "a FIFO that no process is writing to: nothing to read (it would be waited on forever)";
    if (err == ESPIPE) return "not a regular file (a FIFO, a device or a socket): a folder's files are read only as regular files";
    return strerror(err);
}

int cli_errf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

void cli_input(cli_ctx *c, const char *what, const char *path)
{
    if (!path || strcmp(path, "-") == 0 || c->ninputs == (int)(sizeof c->inputs / sizeof c->inputs[0])) return;
    c->inputs[c->ninputs].what = what;
    c->inputs[c->ninputs++].path = path;
}

int cli_check_written(const cli_ctx *c, const char *flag, const char *path)
{
    struct stat out, in;
    if (strcmp(path, "-") == 0 || stat(path, &out) != 0) return 0; /* a new file is nobody's input */
    for (int i = 0; i < c->ninputs; i++)
        if (stat(c->inputs[i].path, &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
            if (strcmp(c->inputs[i].path, path) == 0)
                return cli_usage_error(c, "--%s %s is the file given to %s: the command would overwrite its own input; "
                                          "write to another path", flag, path, c->inputs[i].what);
            return cli_usage_error(c, "--%s %s is the file given to %s as %s: the command would overwrite its own input; "
                                      "write to another path", flag, path, c->inputs[i].what, c->inputs[i].path);
        }
    /* outputs are regular files (or -): a device, a FIFO, a socket or a
     * folder in its place would be replaced, written into or waited on */
    if (!S_ISREG(out.st_mode)) {
        fprintf(stderr, "rnnlab %s: %s: cannot write: it is %s, not a regular file (outputs are regular files, or - for "
                        "stdout)\n", c->cmd, path, file_kind(out.st_mode));
        return 1;
    }
    return 0;
}

int cli_check_output(const cli_ctx *c, const char *flag, const char *path)
{
    if (strcmp(path, "-") == 0) return 0;
    int e = cli_check_written(c, flag, path);
    if (e) return e;
    struct stat sb;
    /* a probe beside it, named as the writers name their temporaries */
    size_t n = strlen(path);
    char *probe = malloc(n + 16);
    if (!probe) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        return 1;
    }
    memcpy(probe, path, n);
    memcpy(probe + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(probe);
    if (fd < 0) {
        int err = errno;
        const char *slash = strrchr(path, '/');
        char dir[4200];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1, slash ? path : ".");
        if (stat(dir, &sb) != 0) fprintf(stderr, "rnnlab %s: %s: cannot write: no folder %s\n", c->cmd, path, dir);
        else if (!S_ISDIR(sb.st_mode)) fprintf(stderr, "rnnlab %s: %s: cannot write: %s is not a folder\n", c->cmd, path, dir);
        else fprintf(stderr, "rnnlab %s: %s: cannot write: %s\n", c->cmd, path, strerror(err));
        free(probe);
        return 1;
    }
    close(fd);
    unlink(probe);
    free(probe);
    return 0;
}
