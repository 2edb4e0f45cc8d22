/* The test framework: TEST(name) registers a test; CHECK(cond) records a
 * failure with file:line and carries on. The runner (tests/main.c) ends with
 * one line "N passed, N failed". */
#ifndef RL_TEST_H
#define RL_TEST_H

#include "rnnlab.h"

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* How many registered tests have name in their names (the runner's selection). */
int test_count_matching(const char *name);
void test_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                  \
    static void name(void);                                                         \
    __attribute__((constructor)) static void name##_register(void) { test_register(#name, name); } \
    static void name(void)

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) test_fail_at(__FILE__, __LINE__, "CHECK(%s)", #cond);          \
    } while (0)
#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        if (!(cond)) test_fail_at(__FILE__, __LINE__, __VA_ARGS__);                 \
    } while (0)
/* A status that must be an error whose message holds every one of the
 * words given after it. */
#define CHECK_FAILS(expr, ...)                                                                                   \
    do {                                                                                                         \
        rl_status s_ = (expr);                                                                                   \
        const char *w_[] = {__VA_ARGS__, NULL};                                                                  \
        int ok_ = s_ != RL_OK;                                                                                   \
        for (int k_ = 0; ok_ && w_[k_]; k_++) ok_ = strstr(rl_errmsg(), w_[k_]) != NULL;                         \
        CHECK_MSG(ok_, "%s: status %d, message '%s'", #expr, (int)s_, s_ ? rl_errmsg() : "");                    \
    } while (0)
/* An rl_status that must be RL_OK. */
#define CHECK_OK(expr)                                                              \
    do {                                                                            \
        rl_status s_ = (expr);                                                      \
        if (s_ != RL_OK) test_fail_at(__FILE__, __LINE__, "%s -> %s: %s", #expr, rl_strerror(s_), rl_errmsg()); \
    } while (0)

/* Paths given to the runner. */
extern const char *test_cli;      /* the rnnlab program */
extern const char *test_fixtures; /* tests/fixtures */
extern const char *test_tmpdir;   /* a fresh folder, removed at the end */

/* path of a file in the temporary folder (static buffer, rotated 256 deep) */
const char *tmp_path(const char *name);
/* path of a fixture (static buffer, rotated 256 deep) */
const char *fixture(const char *name);

/* Tensor `name` of a float64 model (rl_model_view), checked to have the
 * shape (rows) when cols is 0, else (rows, cols): a failed check and NULL
 * when it has not. */
double *test_view(rl_model *m, const char *name, int64_t rows, int64_t cols);
/* The same with the name made by printf from fmt and l ("rnn.bias_ih_l%d"). */
double *test_view_l(rl_model *m, const char *fmt, int l, int64_t rows, int64_t cols);

/* Compare n values of a (dtype da) with reference b (float64): pass iff
 * |a - b| <= atol + rtol |b| everywhere; on failure report the worst element. */
int check_close_at(const char *file, int line, const char *what, const void *a, rl_dtype da, const double *b,
                   size_t n, double rtol, double atol);
#define CHECK_CLOSE(what, a, da, b, n, rtol, atol) check_close_at(__FILE__, __LINE__, what, a, da, b, n, rtol, atol)

/* Start the rnnlab program with argv (NULL-terminated, argv[0] ignored),
 * stdin from in_path, stdout to out_path (NULL: with stderr) and stderr to
 * err_path, in the background: its pid, or -1. */
pid_t run_cli_start(const char *const *argv, const char *in_path, const char *out_path, const char *err_path);
/* Run the rnnlab program with argv (NULL-terminated, argv[0] ignored); stdin
 * from stdin_path if not NULL; stdout and stderr go to cli.stdout and
 * cli.stderr in the temporary folder. Returns the exit status (-1 if it crashed) and
 * the first line of stderr and of stdout in err/out (if not NULL). */
int run_cli(const char *const *argv, const char *stdin_path, char *out, size_t outn, char *err, size_t errn);
/* Start the program, send it sig after delay_s seconds, wait: its exit status
 * (128 + signal if it died of one). Output is discarded. */
int run_cli_signal(const char *const *argv, double delay_s, int sig);
/* run_cli_signal with its stderr into err_path. */
int run_cli_signal_err(const char *const *argv, double delay_s, int sig, const char *err_path);
/* Number of lines in the last stderr captured by run_cli. */
int run_cli_err_lines(void);

/* Size, fraction of non-white pixels and distinct colours (up to 16) of a
 * PNG; -1 if it does not decode. tests/test_demo.c */
int png_stats(const char *path, unsigned *w, unsigned *h, double *ink, int *colours);

/* A growing string: s NUL-terminated (NULL until something is put in it;
 * free it), n its length. */
typedef struct {
    char *s;
    size_t n, cap;
} strbuf;
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A file of the source tree (rel from its root, e.g. "docs/security.md",
 * found beside the fixtures): its text (malloc'ed, NUL-terminated), path
 * filled (n bytes); NULL and a failed check at file:line if it cannot be
 * read. */
char *read_tree_file_at(const char *file, int line, const char *rel, char *path, size_t n);
#define READ_TREE_FILE(rel, path, n) read_tree_file_at(__FILE__, __LINE__, rel, path, n)
/* Strings that a document of the tree must hold: add each with doc_want
 * (printf-like), then CHECK_DOC_HAS(rel, &w): a failed check at the
 * caller's line for each one it lacks, naming it. */
typedef struct {
    int n;
    char s[16][160];
} doc_wants;
void doc_want(doc_wants *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_doc_has_at(const char *file, int line, const char *rel, const doc_wants *w);
#define CHECK_DOC_HAS(rel, w) check_doc_has_at(__FILE__, __LINE__, rel, w)
/* The standard output of rnnlab with argv (which must exit 0), as printed,
 * must stand whole in the document rel, and be over min bytes: a failed
 * check at file:line otherwise (what, e.g. "the recipes differ", says what
 * differs from the command). The output (malloc'ed, *n its size) for more
 * checks, NULL if there is none. */
unsigned char *check_doc_holds_output_at(const char *file, int line, const char *const *argv, const char *rel,
                                         size_t min, const char *what, size_t *n);
#define CHECK_DOC_HOLDS_OUTPUT(argv, rel, min, what, n) check_doc_holds_output_at(__FILE__, __LINE__, argv, rel, min, what, n)

/* Write bytes to a file in the temporary folder; returns its path. */
const char *write_tmp(const char *name, const void *data, size_t n);
/* Read a whole file (malloc'ed, *n its size, a NUL after it) or NULL. */
unsigned char *read_file(const char *path, size_t *n);
/* The value of key in the last line of DIR/metrics.jsonl that has it; NAN if none. */
double last_metric(const char *dir, const char *key);

#endif
