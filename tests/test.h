/* The test framework: TEST(name) registers a test; CHECK(cond) records a
 * failure with file:line and carries on. The runner (tests/main.c) ends with
 * one line "N passed, N failed". */
#ifndef RL_TEST_H
#define RL_TEST_H

#include "rnnlab.h"

#include <stdio.h>

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

/* Write bytes to a file in the temporary folder; returns its path. */
const char *write_tmp(const char *name, const void *data, size_t n);
/* Read a whole file (malloc'ed, *n its size, a NUL after it) or NULL. */
unsigned char *read_file(const char *path, size_t *n);
/* The value of key in the last line of DIR/metrics.jsonl that has it; NAN if none. */
double last_metric(const char *dir, const char *key);

#endif
