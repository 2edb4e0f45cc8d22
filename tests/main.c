/* The test runner: runs every registered test and ends with one line
 * "N passed, N failed". Usage: rnnlab_tests --cli PATH --fixtures DIR
 * [--jobs N] [--times] [NAME...] runs the tests whose names contain one of
 * the NAMEs (all without any); a NAME that is in no test's name is an error
 * (exit 2, nothing run). --selftest replaces the suite with three tests
 * that pass, fail and die, to test this runner. --jobs N runs them in N processes forked from this
 * one, each with a folder of its own, taking the next test as they finish;
 * a test's failure lines are printed together with its FAIL line, and a
 * process that dies names the test it was running. */
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *test_cli = "build/rnnlab";
const char *test_fixtures = "tests/fixtures";
const char *test_tmpdir = NULL;

#define MAX_TESTS 512
static struct { const char *name; test_fn fn; } tests[MAX_TESTS];
static int ntests, current_failures;
/* a worker of --jobs: its failure lines, printed with the FAIL line */
static strbuf *held;

void test_register(const char *name, test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[ntests].name = name;
    tests[ntests++].fn = fn;
}

int test_count_matching(const char *name)
{
    int n = 0;
    for (int t = 0; t < ntests; t++) n += strstr(tests[t].name, name) != NULL;
    return n;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (held) {
        char msg[2048];
        vsnprintf(msg, sizeof msg, fmt, ap);
        sb_printf(held, "  %s:%d: %s\n", file, line, msg);
    } else {
        fprintf(stderr, "  %s:%d: ", file, line);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
    current_failures++;
}

static const char *rotate(const char *dir, const char *name)
{
    static char bufs[256][1024];
    static int k;
    char *b = bufs[k++ % 256];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

const char *tmp_path(const char *name) { return rotate(test_tmpdir, name); }
const char *fixture(const char *name) { return rotate(test_fixtures, name); }

int check_close_at(const char *file, int line, const char *what, const void *a, rl_dtype da, const double *b,
                   size_t n, double rtol, double atol)
{
    size_t worst = 0;
    double worst_excess = -1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double x = da == RL_F64 ? ((const double *)a)[i] : ((const float *)a)[i];
        double lim = atol + rtol * fabs(b[i]), d = fabs(x - b[i]);
        if (!(d <= lim)) bad++;
        double excess = isnan(d) ? INFINITY : d / (lim > 0 ? lim : 1e-300);
        if (excess > worst_excess) worst_excess = excess, worst = i;
    }
    if (bad) {
        double x = da == RL_F64 ? ((const double *)a)[worst] : ((const float *)a)[worst];
        test_fail_at(file, line, "%s: %d of %zu elements differ; worst [%zu] got %.17g want %.17g (rtol %g, atol %g)",
                     what, bad, n, worst, x, b[worst], rtol, atol);
    }
    return bad == 0;
}

double *test_view(rl_model *m, const char *name, int64_t rows, int64_t cols)
{
    const int64_t shape[2] = {rows, cols};
    double *v = rl_model_dtype(m) == RL_F64 ? rl_model_view(m, name, cols ? 2 : 1, shape) : NULL;
    if (!v) test_fail_at(__FILE__, __LINE__, "tensor %s: %s", name, rl_model_dtype(m) == RL_F64 ? rl_errmsg() : "not F64");
    return v;
}

double *test_view_l(rl_model *m, const char *fmt, int l, int64_t rows, int64_t cols)
{
    char name[96];
    snprintf(name, sizeof name, fmt, l);
    return test_view(m, name, rows, cols);
}

static char last_err[8192];

int run_cli_err_lines(void)
{
    int n = 0;
    for (const char *p = last_err; *p; p++) n += *p == '\n';
    return n;
}

static void first_line(const char *src, char *dst, size_t n)
{
    if (!dst || !n) return;
    size_t i = 0;
    for (; src[i] && src[i] != '\n' && i + 1 < n; i++) dst[i] = src[i];
    dst[i] = '\0';
}

pid_t run_cli_start(const char *const *argv, const char *in_path, const char *out_path, const char *err_path)
{
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int in = open(in_path, O_RDONLY), e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        o = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : e;
    if (in < 0 || o < 0 || e < 0) _exit(127);
    dup2(in, 0), dup2(o, 1), dup2(e, 2);
    int n = 0;
    while (argv[n]) n++;
    char **args = calloc((size_t)n + 1, sizeof *args);
    if (!args) _exit(127);
    args[0] = (char *)test_cli;
    for (int i = 1; i < n; i++) args[i] = (char *)argv[i];
    execv(test_cli, args);
    _exit(127);
}

int run_cli(const char *const *argv, const char *stdin_path, char *out, size_t outn, char *err, size_t errn)
{
    static char outp[1024], errp[1024];
    snprintf(outp, sizeof outp, "%s/cli.stdout", test_tmpdir);
    snprintf(errp, sizeof errp, "%s/cli.stderr", test_tmpdir);
    pid_t pid = run_cli_start(argv, stdin_path ? stdin_path : "/dev/null", outp, errp);
    if (pid < 0) return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return -1;
    size_t len = 0;
    unsigned char *e = read_file(errp, &len), *o = NULL;
    last_err[0] = '\0';
    if (e) {
        size_t k = len < sizeof last_err - 1 ? len : sizeof last_err - 1;
        memcpy(last_err, e, k);
        last_err[k] = '\0';
        first_line(last_err, err, errn);
        free(e);
    } else if (err && errn) {
        err[0] = '\0';
    }
    if (out && outn && (o = read_file(outp, &len)) != NULL) {
        char *s = malloc(len + 1);
        if (s) {
            memcpy(s, o, len);
            s[len] = '\0';
            first_line(s, out, outn);
            free(s);
        }
        free(o);
    } else if (out && outn) {
        out[0] = '\0';
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_cli_signal(const char *const *argv, double delay_s, int sig) { return run_cli_signal_err(argv, delay_s, sig, "/dev/null"); }

int run_cli_signal_err(const char *const *argv, double delay_s, int sig, const char *err_path)
{
    pid_t pid = run_cli_start(argv, "/dev/null", "/dev/null", err_path);
    if (pid < 0) return -1;
    struct timespec ts = {(time_t)delay_s, (long)((delay_s - (double)(time_t)delay_s) * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, sig);
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *write_tmp(const char *name, const void *data, size_t n)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        fprintf(stderr, "cannot write %s\n", p);
        abort();
    }
    fclose(f);
    return p;
}

void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = 2 * (b->n + (size_t)k + 1);
        char *ns = realloc(b->s, cap);
        if (!ns) abort();
        b->s = ns, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *read_tree_file_at(const char *file, int line, const char *rel, char *path, size_t n)
{
    snprintf(path, n, "%s/../../%s", test_fixtures, rel); /* the tree's root is above tests/fixtures */
    size_t len = 0;
    char *text = (char *)read_file(path, &len);
    if (!text) test_fail_at(file, line, "cannot read %s", path);
    return text;
}

void doc_want(doc_wants *w, const char *fmt, ...)
{
    if (w->n == (int)(sizeof w->s / sizeof w->s[0])) abort(); /* a test with more: make s larger */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->s[w->n++], sizeof w->s[0], fmt, ap);
    va_end(ap);
}

void check_doc_has_at(const char *file, int line, const char *rel, const doc_wants *w)
{
    char path[2048];
    char *doc = read_tree_file_at(file, line, rel, path, sizeof path);
    for (int i = 0; doc && i < w->n; i++)
        if (!strstr(doc, w->s[i])) test_fail_at(file, line, "%s lacks '%s'", rel, w->s[i]);
    free(doc);
}

unsigned char *check_doc_holds_output_at(const char *file, int line, const char *const *argv, const char *rel,
                                         size_t min, const char *what, size_t *n)
{
    char cmd[512] = "", path[1200];
    for (int k = 0; argv[k]; k++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", k ? " " : "", argv[k]);
    int rc = run_cli(argv, NULL, NULL, 0, NULL, 0);
    if (rc != 0) test_fail_at(file, line, "%s: exit status %d", cmd, rc);
    *n = 0;
    unsigned char *out = read_file(tmp_path("cli.stdout"), n);
    char *text = read_tree_file_at(file, line, rel, path, sizeof path);
    if (!out || *n <= min) test_fail_at(file, line, "%s: %zu bytes on stdout, want more than %zu", cmd, *n, min);
    if (out && text && !strstr(text, (char *)out))
        test_fail_at(file, line, "%s: %s from `%s`: paste its output there", path, what, cmd);
    free(text);
    return out;
}

/* The last line of a run's metrics.jsonl that has key, as a number. */
double last_metric(const char *dir, const char *key)
{
    char p[1300], k[64];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    snprintf(k, sizeof k, "\"%s\":", key);
    size_t n = 0;
    char *txt = (char *)read_file(p, &n), *hit = NULL;
    for (char *q = txt; q && (q = strstr(q, k)); q++) hit = q;
    double v = hit ? strtod(hit + strlen(k), NULL) : NAN;
    free(txt);
    return v;
}

unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        unsigned char *nb = realloc(b, (cap *= 2) + 1);
        if (!nb) free(b);
        b = nb;
    }
    fclose(f);
    if (b) b[len] = '\0', *n = len; /* NUL-terminated too, for string searches */
    return b;
}

/* ---------------------------------------------------------------- the environment
 *
 * Every test, and every program a test starts, sees one known environment,
 * whatever the caller's: the variables that change what rnnlab, OpenBLAS,
 * Open MPI or a terminal do are dropped, and a few are pinned. Kept: PATH,
 * TMPDIR (the tests' folder goes there: a path with a space in it is part
 * of the test), the sanitizers' and the dynamic loader's settings, and
 * RNNLAB_DOCS_REWRITE (tools/doc_numbers.sh: the docs' numbers written in). A test
 * that is about a variable sets it itself (tests/test_blas.c). The runner
 * re-executes itself once with that environment, so that OpenBLAS, which
 * reads its variables when it loads, starts from it too; under valgrind,
 * which would not follow the re-execution, it only changes its own. */
static const char *const kept[] = {"PATH",           "TMPDIR",        "LD_LIBRARY_PATH", "ASAN_OPTIONS",
                                   "LSAN_OPTIONS",   "UBSAN_OPTIONS", "MSAN_OPTIONS",    "TSAN_OPTIONS",
                                   "LLVM_PROFILE_FILE", "RNNLAB_DOCS_REWRITE"};
static const char *const pinned[][2] = {{"LC_ALL", "C"}, {"TERM", "dumb"}, {"RNNLAB_TESTS_ENV", "pinned"}};

static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") != NULL;
}

static int is_kept(const char *entry)
{
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        size_t n = strlen(kept[i]);
        if (strncmp(entry, kept[i], n) == 0 && entry[n] == '=') return 1;
    }
    return under_valgrind() && strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

extern char **environ;
char **pinned_env; /* external: the compiler keeps the store */

/* The pinned environment (malloc'ed, NULL-terminated; its strings are the
 * caller's or the table's). */
static char **pinned_environment(void)
{
    size_t n = 0, k = 0;
    while (environ[n]) n++;
    char **env = calloc(n + sizeof pinned / sizeof pinned[0] + 1, sizeof *env);
    if (!env) return NULL;
    for (size_t i = 0; i < n; i++)
        if (is_kept(environ[i])) env[k++] = environ[i];
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
        size_t len = strlen(pinned[i][0]) + strlen(pinned[i][1]) + 2;
        char *e = malloc(len);
        if (!e) return NULL;
        snprintf(e, len, "%s=%s", pinned[i][0], pinned[i][1]);
        env[k++] = e;
    }
    env[k] = NULL;
    return env;
}

static void pin_environment(char **argv)
{
    const char *mark = getenv("RNNLAB_TESTS_ENV");
    if (mark && strcmp(mark, "pinned") == 0) return;
    char **env = pinned_environment();
    if (!env) {
        perror("rnnlab_tests: the pinned environment");
        exit(1);
    }
    if (!under_valgrind()) {
        execve("/proc/self/exe", argv, env);
        perror("rnnlab_tests: re-executing with the pinned environment");
        exit(1);
    }
    /* valgrind: this process keeps the OpenBLAS it started with; the programs it starts get the pinned environment.
     * pinned_env keeps the array reachable after setenv() moves environ elsewhere. */
    pinned_env = env;
    environ = env;
}

/* --selftest: three tests that pass, fail and die, in place of the suite's,
 * for tests/test_runner.c to run the runner on (with and without --jobs) */
static void selftest_passes(void) {}
static void selftest_fails(void) { test_fail_at(__FILE__, __LINE__, "a failure on purpose"); }
static void selftest_dies(void) { abort(); }

static int selected(int t, char **names, int n)
{
    int on = n == 0;
    for (int i = 0; i < n; i++) on |= strstr(tests[t].name, names[i]) != NULL;
    return on;
}

/* Test t, its line "ok NAME" or (after its failure lines) "FAIL NAME". */
static void run_one(int t, int times, int *passed, int *failed)
{
    current_failures = 0;
    if (held) held->n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tests[t].fn();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char took[32] = "";
    if (times) snprintf(took, sizeof took, " (%.2f s)", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    if (current_failures) {
        fprintf(stderr, "%sFAIL %s%s\n", held && held->n ? held->s : "", tests[t].name, took);
        (*failed)++;
    } else {
        printf("ok   %s%s\n", tests[t].name, took);
        (*passed)++;
    }
    fflush(stdout);
    fflush(stderr);
}

/* --jobs: the counts and the next test in memory the workers share; each
 * worker's current test, so that one that dies is named. */
typedef struct {
    int next, passed, failed;
    int running[64];
} shared_runs;

static void run_jobs(int jobs, char **names, int n, int times, int *passed, int *failed)
{
    shared_runs *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("rnnlab_tests: mmap");
        exit(1);
    }
    memset(sh, 0, sizeof *sh);
    pid_t pids[64];
    fflush(stdout), fflush(stderr);
    for (int k = 0; k < jobs; k++) {
        sh->running[k] = -1;
        pids[k] = fork();
        if (pids[k] < 0) {
            perror("rnnlab_tests: fork");
            exit(1);
        }
        if (pids[k] > 0) continue;
        /* the worker: a folder of its own (the tests' file names are fixed), then test after test */
        static char dir[4200];
        snprintf(dir, sizeof dir, "%s/job%d", test_tmpdir, k);
        if (mkdir(dir, 0700) != 0) {
            perror(dir);
            _exit(1);
        }
        test_tmpdir = dir;
        setenv("HOME", dir, 1);
        static strbuf mine;
        held = &mine;
        for (int t; (t = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST)) < ntests;) {
            if (!selected(t, names, n)) continue;
            int p = 0, f = 0;
            __atomic_store_n(&sh->running[k], t, __ATOMIC_SEQ_CST);
            run_one(t, times, &p, &f);
            __atomic_store_n(&sh->running[k], -1, __ATOMIC_SEQ_CST);
            /* counted as each ends: a later test that kills the process does not take them with it */
            __atomic_fetch_add(&sh->passed, p, __ATOMIC_SEQ_CST);
            __atomic_fetch_add(&sh->failed, f, __ATOMIC_SEQ_CST);
        }
        exit(0); /* not _exit: LeakSanitizer checks this process at exit too */
    }
    int died = 0;
    for (int k = 0; k < jobs; k++) {
        int st = 0;
        if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            int t = sh->running[k];
            fprintf(stderr, "FAIL %s: its process %s\n", t >= 0 ? tests[t].name : "(between tests)",
                    WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "ended with an error");
            died++;
        }
    }
    *passed = sh->passed;
    *failed = sh->failed + died;
    munmap(sh, sizeof *sh);
}

static void remove_tree(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--png-stats") == 0) { /* for tests/browser_check.sh */
        unsigned w, h;
        double ink;
        int nc;
        if (png_stats(argv[2], &w, &h, &ink, &nc) != 0) return fprintf(stderr, "%s: not a PNG\n", argv[2]), 1;
        printf("%s: %ux%u, %.1f%% ink, %d+ colours\n", argv[2], w, h, 100 * ink, nc);
        return w >= 800 && ink > 0.05 && nc >= 8 ? 0 : 1;
    }
    pin_environment(argv);
    int first_name = argc, times = 0, jobs = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--times") == 0) times = 1; /* each test's wall time after its name */
        else if (strcmp(argv[i], "--selftest") == 0) {
            ntests = 0;
            test_register("selftest_passes", selftest_passes);
            test_register("selftest_fails", selftest_fails);
            test_register("selftest_dies", selftest_dies);
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            jobs = atoi(argv[++i]);
            if (jobs < 1 || jobs > 64) return fprintf(stderr, "--jobs %s: give 1 to 64\n", argv[i]), 2;
        }
        else if (strcmp(argv[i], "--cli") == 0 && i + 1 < argc) test_cli = argv[++i];
        else if (strcmp(argv[i], "--fixtures") == 0 && i + 1 < argc) test_fixtures = argv[++i];
        else {
            first_name = i;
            break;
        }
    }
    /* absolute paths: some tests run commands from other folders */
    static char cli_abs[4096], fix_abs[4096];
    if (realpath(test_cli, cli_abs)) test_cli = cli_abs;
    if (realpath(test_fixtures, fix_abs)) test_fixtures = fix_abs;
    static char tmpl[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/rnnlab-tests.XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
    if (!(test_tmpdir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    /* HOME: a folder that exists and is the tests' own */
    setenv("HOME", test_tmpdir, 1);
    /* A name that selects nothing is a mistake (a renamed test would drop out
     * of a list such as make valgrind's silently): say which, run nothing. */
    int unmatched = 0;
    for (int i = first_name; i < argc; i++)
        if (test_count_matching(argv[i]) == 0) {
            fprintf(stderr, "no test matches '%s'\n", argv[i]);
            unmatched++;
        }
    if (unmatched) {
        remove_tree(test_tmpdir);
        fprintf(stderr, "%d of the %d names given match no test; nothing was run\n", unmatched, argc - first_name);
        return 2;
    }
    int passed = 0, failed = 0;
    if (jobs > 1) {
        run_jobs(jobs, argv + first_name, argc - first_name, times, &passed, &failed);
    } else {
        for (int t = 0; t < ntests; t++)
            if (selected(t, argv + first_name, argc - first_name)) run_one(t, times, &passed, &failed);
    }
    remove_tree(test_tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
