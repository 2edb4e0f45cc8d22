/* Issue 24: the surfaces added last (sweeps, reports, CSV) under attack,
 * one writer per run folder, checkpoints that know when they are damaged,
 * outputs that are regular files, and untrusted names that never become
 * paths or markup. Each test fails on the code before the issue. */
#include "base/files.h"
#include "io/safetensors.h"
#include "test.h"

#include "../cli/plot.h"
#include "../cli/sweep.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define M fixture("tanh_l1_ce.model.safetensors")

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* ------------------------------------------------------------------ 3: inputs never waited on forever */

/* A FIFO as a run folder's records is refused at once; a FIFO given as
 * plot csv's input that no process writes to is refused within seconds,
 * not waited on forever; one with a writer is read. */
TEST(trust_fifo_inputs_are_not_waited_on)
{
    char e[512] = "";
    double t0;
    int st;
    /* a run folder whose metrics.jsonl is a FIFO */
    CHECK(mkdir(tmp_path("fifo-run"), 0755) == 0 && mkfifo(tmp_path("fifo-run/metrics.jsonl"), 0600) == 0);
    const char *r[] = {"rnnlab", "report", tmp_path("fifo-run"), NULL};
    t0 = now_s();
    CHECK(run_cli(r, NULL, NULL, 0, e, sizeof e) == 1 && now_s() - t0 < 5);
    /* plot csv on a FIFO without a writer */
    const char *fifo = tmp_path("table.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *c[] = {"rnnlab", "plot", "csv", fifo, "--out", tmp_path("fifo.png"), NULL};
    t0 = now_s();
    st = run_cli(c, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "no process is writing to") && run_cli_err_lines() == 1 && now_s() - t0 < 10,
              "status %d after %.1f s: %s", st, now_s() - t0, e);
    /* and with one: read */
    pid_t w = fork();
    if (w == 0) {
        int fd = open(fifo, O_WRONLY);
        const char t[] = "x,y\n1,2\n2,4\n";
        _exit(fd >= 0 && write(fd, t, sizeof t - 1) == (ssize_t)(sizeof t - 1) ? 0 : 1);
    }
    st = run_cli(c, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 0, "status %d: %s", st, e);
    waitpid(w, NULL, 0);
    /* the library: a model from a FIFO nobody writes to */
    rl_model *m = NULL;
    t0 = now_s();
    CHECK(rl_model_load(&m, fifo, RL_F32) == RL_ERR_IO && !m && strstr(rl_errmsg(), "no process is writing to") &&
          now_s() - t0 < 10);
}

/* ------------------------------------------------------------------ 6: outputs are regular files */

/* The atomic write (a temporary renamed over the path) replaced whatever
 * was there: `init --out` a link to /dev/null made the link a regular file
 * (as root, --out /dev/null would replace /dev/null). Now an existing path
 * that is not a regular file is refused before any work, and a FIFO is not
 * waited on. */
TEST(trust_outputs_are_regular_files)
{
    const char *link = tmp_path("null-link.png"), *fifo = tmp_path("out-fifo.png");
    CHECK(symlink("/dev/null", link) == 0 && mkfifo(fifo, 0600) == 0);
    const char *outs[] = {link, fifo};
    for (int k = 0; k < 2; k++) {
        const char *cases[][12] = {
            {"rnnlab", "init", "--cell", "tanh", "--input", "2", "--hidden", "3", "--output", "1", "--out", outs[k]},
            {"rnnlab", "lyapunov", "--model", M, "--steps", "5", "--out", outs[k], NULL},
            {"rnnlab", "plot", "csv", fixture("../../bench/results/longlag/steps-adding.csv"), "--out", outs[k], NULL},
        };
        for (int i = 0; i < 3; i++) {
            const char *argv[14] = {0};
            for (int j = 0; j < 12 && cases[i][j]; j++) argv[j] = cases[i][j];
            char e[512] = "";
            double t0 = now_s();
            int st = run_cli(argv, NULL, NULL, 0, e, sizeof e);
            CHECK_MSG(st == 1 && strstr(e, "not a regular file") && run_cli_err_lines() == 1 && now_s() - t0 < 5,
                      "%s %s: status %d: %s", cases[i][1], outs[k], st, e);
        }
    }
    struct stat sb;
    char to[64] = "";
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode) && readlink(link, to, sizeof to - 1) > 0 && strcmp(to, "/dev/null") == 0);
    CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    /* the library refuses too (Model.save in Python) */
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, M, RL_F32));
    CHECK(m && rl_model_save(m, link) == RL_ERR_IO && strstr(rl_errmsg(), "a character device"));
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    /* a real device node, where one can be made */
    const char *dev = tmp_path("devnull");
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        const char *a[] = {"rnnlab", "init", "--cell", "tanh", "--input", "2", "--hidden", "3", "--output", "1", "--out", dev, NULL};
        CHECK(run_cli(a, NULL, NULL, 0, NULL, 0) == 1);
        CHECK(m && rl_model_save(m, dev) == RL_ERR_IO);
        CHECK(lstat(dev, &sb) == 0 && S_ISCHR(sb.st_mode));
    }
    rl_model_free(m);
    /* a run report's page that is a FIFO: refused before any work */
    CHECK(mkdir(tmp_path("fifo-run-page"), 0755) == 0);
    write_text(tmp_path("fifo-run-page/metrics.jsonl"), "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":0.5}\n");
    CHECK(mkfifo(tmp_path("fifo-run-page/report.html"), 0600) == 0);
    const char *rep[] = {"rnnlab", "report", tmp_path("fifo-run-page"), NULL};
    char e[512] = "";
    CHECK_MSG(run_cli(rep, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "report.html: cannot write: it is a FIFO"), "%s", e);
}
