/* The limits of docs/security.md, each from both sides: at the limit (or,
 * where that is too large to build in a test, at the edge of the check
 * itself) it is accepted; one past it is refused with a clear message. And
 * the error paths around them: a refused input must not crash, double-free
 * or leak (make asan, make valgrind run these). */
#include "safetensors.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* n characters of ASCII text (26 letters and a space, repeated). */
static char *ascii_text(size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    for (size_t i = 0; i < n; i++) s[i] = i % 27 == 26 ? ' ' : (char)('a' + i % 27);
    s[n] = '\0';
    return s;
}

/* s is status want, the message has frag, and nothing was handed out. */
#define CHECK_REFUSED(s, want, frag, out)                                                                        \
    do {                                                                                                         \
        rl_status s__ = (s);                                                                                     \
        CHECK_MSG(s__ == (want), "%s: got status %d (%s), want %d", frag, (int)s__, rl_errmsg(), (int)(want));   \
        CHECK_MSG(strstr(rl_errmsg(), frag) != NULL, "message '%s' lacks '%s'", rl_errmsg(), frag);              \
        CHECK((out) == NULL);                                                                                    \
    } while (0)

/* Defect 1 (issue 12): a text long enough to load but too short for the
 * sequence length failed after the task had taken the text, and the error
 * path freed it twice. 1200 characters split 1140 / 60: T = 59 fits the
 * validation split (T + 1 characters), T = 60 does not. */
TEST(limit_text_seq_len)
{
    char *txt = ascii_text(1200);
    rl_task *t = NULL;
    CHECK_OK(rl_task_text_from_buffer(&t, 59, txt, 1200, "short.txt"));
    if (t) {
        rl_task_info in = rl_task_get_info(t);
        CHECK(in.train_len == 1140 && in.val_len == 60 && in.input_size == 27);
    }
    rl_task_free(t);
    t = NULL;
    CHECK_REFUSED(rl_task_text_from_buffer(&t, 60, txt, 1200, "short.txt"), RL_ERR_ARG,
                  "short.txt: too short for sequences of 60 characters", t);
    CHECK_REFUSED(rl_task_text_from_buffer(&t, 100, txt, 1200, "short.txt"), RL_ERR_ARG, "too short", t);
    /* the same from a file (the path that reads it into a buffer first) */
    const char *p = write_tmp("short.txt", txt, 1200);
    CHECK_REFUSED(rl_task_new(&t, RL_TASK_TEXT, 100, p), RL_ERR_ARG, "too short for sequences of 100", t);
    CHECK_OK(rl_task_new(&t, RL_TASK_TEXT, 59, p));
    rl_task_free(t);
    free(txt);
}

/* ... and the command that found it: one clear line, a usage status, no crash. */
TEST(limit_text_seq_len_cli)
{
    char *txt = ascii_text(1200);
    const char *p = write_tmp("short-cli.txt", txt, 1200);
    free(txt);
    char err[512], out_dir[1100];
    snprintf(out_dir, sizeof out_dir, "%s/short-run", test_tmpdir);
    const char *argv[] = {"rnnlab", "train", "--task", "text", "--data", p, "--seq-len", "100", "--steps", "1",
                          "--quiet", "--out", out_dir, NULL};
    int rc = run_cli(argv, NULL, NULL, 0, err, sizeof err);
    CHECK_MSG(rc == 1 || rc == 2, "exit status %d (-1: it crashed), stderr '%s'", rc, err);
    CHECK_MSG(run_cli_err_lines() == 1, "%d lines on stderr", run_cli_err_lines());
    CHECK_MSG(strstr(err, "too short for sequences of 100 characters") && strstr(err, "short-cli.txt"),
              "stderr '%s'", err);
}
