/* Issue 24: the surfaces added last (sweeps, reports, CSV) under attack,
 * one writer per run folder, checkpoints that know when they are damaged,
 * outputs that are regular files, and untrusted names that never become
 * paths or markup. Each test fails on the code before the issue. */
#include "base/files.h"
#include "io/safetensors.h"
#include "test.h"

#include "plots/plot.h"
#include "sweeps/sweep.h"

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

/* The program under test in the background: stdout and stderr to err_path. */
static pid_t start_cli(const char *const *argv, const char *err_path)
{
    return run_cli_start(argv, "/dev/null", NULL, err_path);
}

/* The pid a folder's lock file names once its holder has written it (0 if
 * none within timeout_s). */
static long wait_for_lock(const char *lock, double timeout_s)
{
    for (double t0 = now_s(); now_s() - t0 < timeout_s;) {
        size_t n = 0;
        char *b = (char *)read_file(lock, &n);
        long pid = b && n ? strtol(b, NULL, 10) : 0;
        free(b);
        if (pid > 0) return pid;
        usleep(20000);
    }
    return 0;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/* Count of needle in the file at path (-1 if unreadable). */
static int count_in_file(const char *path, const char *needle)
{
    size_t n = 0;
    char *b = (char *)read_file(path, &n);
    if (!b) return -1;
    int k = 0;
    for (char *p = b; (p = strstr(p, needle)); p += strlen(needle)) k++;
    free(b);
    return k;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* ------------------------------------------------------------------ 1: report on a crafted plan */

/* A plan whose point id is a number (not a string) crashed report (a null
 * pointer in load_points). One line, exit 1. */
TEST(trust_report_plan_with_a_number_id)
{
    const char *dir = tmp_path("numid");
    CHECK(mkdir(dir, 0755) == 0);
    write_text(tmp_path("numid/sweep.json"), "{\"command\":\"lyapunov\",\"axes\":[],\"points\":[1]}\n");
    write_text(tmp_path("numid/results.jsonl"), "{\"id\":\"a\"}\n");
    const char *a[] = {"rnnlab", "report", dir, NULL};
    char e[512] = "";
    int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "not a string id") && run_cli_err_lines() == 1, "status %d: %s", st, e);
    /* ids listed twice, an axis value twice: refused, not drawn from */
    write_text(tmp_path("numid/sweep.json"),
               "{\"command\":\"x\",\"axes\":[{\"name\":\"g\",\"values\":[1,2]}],\"points\":[\"a\",\"a\"]}\n");
    st = run_cli(a, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "listed twice") && run_cli_err_lines() == 1, "status %d: %s", st, e);
}

/* ------------------------------------------------------------------ 2: sweeps that never ended */

/* Ranges of huge values made `a + k*s` stand still (memory grew without
 * end), and 1e20:1e20 gave 8,193 identical points sharing one id. Now the
 * count is fixed first; seeds are whole numbers; a value or a point given
 * twice is refused. Every case answers at once. */
TEST(trust_sweep_ranges_end)
{
    struct {
        const char *spec, *frag;
        int status, points; /* points: the dry run's, when status is 0 */
    } cases[] = {
        {"command train\nseeds 1e300:1e300\n", "is not a whole number", 2, 0},
        /* a step below the values' precision (1e11 + 1e-6 == 1e11): one value, not a loop without end */
        {"command train\ngrid --clip 1e11:1e11:1e-6\n", NULL, 0, 1},
        {"command train\ngrid --clip 1e11:1e11\n", NULL, 0, 1},
        {"command train\ngrid --clip 0:1:0.25\nseeds 3:5\n", NULL, 0, 15},
        {"command train\ngrid --lr 1:1.0000000001:1e-11\n", "the step is too small", 2, 0},
        {"command train\ngrid --lr 0:1e308:1e-300\n", "more than 1000000 values", 2, 0},
        {"command train\nseeds 0.5:2.5\n", "is not a whole number", 2, 0},
        {"command train\nseeds -3:-1\n", "is not a whole number", 2, 0},
        {"command train\nseeds 0:3 2\n", "'seeds' lists 2 twice", 2, 0},
        {"command train\ngrid --lr 1 1.0\n", "lists 1 twice", 2, 0},
        {"command train\ngrid cells\n  a --cell tanh\n  b --cell tanh\n", "run the same command lines", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *sp = write_tmp("range.sweep", cases[i].spec, strlen(cases[i].spec));
        const char *a[] = {"rnnlab", "sweep", sp, "--out", tmp_path("range-out"), "--dry-run", NULL};
        char e[512] = "";
        double t0 = now_s();
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(now_s() - t0 < 10, "case %zu took %.1f s", i, now_s() - t0);
        CHECK_MSG(st == cases[i].status, "case %zu: status %d: %s", i, st, e);
        if (cases[i].frag) CHECK_MSG(strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: %s", i, e);
        if (!cases[i].frag) {
            int n = count_in_file(tmp_path("cli.stdout"), "# ");
            CHECK_MSG(n == cases[i].points, "case %zu: %d points in the dry run", i, n);
        }
    }
}

/* A spec that is a folder, or holds a NUL byte, is named for what it is. */
TEST(trust_sweep_spec_words)
{
    const char *sp = write_tmp("nul.sweep", "command train\ngrid --lr 1 2\0 3\n", 30);
    const char *a[] = {"rnnlab", "sweep", sp, "--out", tmp_path("nul-out"), "--dry-run", NULL};
    char e[512] = "";
    CHECK_MSG(run_cli(a, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "nul.sweep:2: a NUL byte"), "%s", e);
    const char *b[] = {"rnnlab", "sweep", test_tmpdir, "--out", tmp_path("nul-out"), "--dry-run", NULL};
    CHECK_MSG(run_cli(b, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "it is a folder") && run_cli_err_lines() == 1, "%s", e);
}

/* ------------------------------------------------------------------ 3: report near-linear */

/* A sweep folder of n points: an axis "gain" of n / 4 values and 4 seeds. */
static void make_sweep_folder(const char *dir, int n)
{
    char p[1200];
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(p, sizeof p, "%s/sweep.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return;
    fprintf(f, "{\"command\":\"lyapunov\",\"axes\":[{\"name\":\"gain\",\"option\":\"--gain\",\"values\":[");
    for (int k = 0; k < n / 4; k++) fprintf(f, "%s%.4f", k ? "," : "", 0.5 + 0.01 * k);
    fprintf(f, "]}],\"seeds\":[0,1,2,3],\"points\":[");
    for (int i = 0; i < n; i++) fprintf(f, "%s\"%016x\"", i ? "," : "", i);
    fprintf(f, "]}\n");
    fclose(f);
    snprintf(p, sizeof p, "%s/results.jsonl", dir);
    f = fopen(p, "w");
    if (!f) return;
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"id\":\"%016x\",\"command\":\"lyapunov\",\"options\":{\"gain\":%.4f,\"seed\":%d},"
                   "\"result\":{\"lambda_max\":%.6f,\"lambda_sum\":-1,\"k\":4}}\n", i, 0.5 + 0.01 * (i / 4), i % 4, -0.5 + 0.001 * i);
    fclose(f);
}

/* The best of two runs of rnnlab report on dir, in seconds (-1 if it failed). */
static double time_report(const char *dir)
{
    const char *a[] = {"rnnlab", "report", dir, NULL};
    double best = INFINITY;
    for (int r = 0; r < 2; r++) {
        double t0 = now_s();
        if (run_cli(a, NULL, NULL, 0, NULL, 0) != 0) return -1;
        best = fmin(best, now_s() - t0);
    }
    return best;
}

/* The points were found by walking cJSON arrays by index inside loops:
 * 1,000 points took 3 s, 2,000 took 17 s, 5,000 took 435 s. The property:
 * 4,000 points take under 4 times what 1,000 take, and the page's table
 * lists every point. */
TEST(trust_report_is_near_linear)
{
    make_sweep_folder(tmp_path("lin1000"), 1000);
    make_sweep_folder(tmp_path("lin4000"), 4000);
    double t1 = time_report(tmp_path("lin1000")), t4 = time_report(tmp_path("lin4000"));
    CHECK_MSG(t1 > 0 && t4 > 0 && t4 < 4 * t1, "report: %.2f s at 1,000 points, %.2f s at 4,000", t1, t4);
    CHECK(count_in_file(tmp_path("lin4000/report.html"), "<tr><td>") == 4000);
}

/* A sweep folder's results.jsonl that is a FIFO blocked report forever:
 * a folder's files are read only when they are regular files. */
TEST(trust_sweep_folder_fifo_is_refused)
{
    const char *dir = tmp_path("fifo-sweep");
    make_sweep_folder(dir, 8);
    char p[1200];
    snprintf(p, sizeof p, "%s/results.jsonl", dir);
    CHECK(unlink(p) == 0 && mkfifo(p, 0600) == 0);
    const char *a[] = {"rnnlab", "report", dir, NULL};
    char e[512] = "";
    double t0 = now_s();
    int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "not a regular file") && run_cli_err_lines() == 1 && now_s() - t0 < 5, "status %d: %s", st, e);
    /* and a page that is a FIFO: refused before any work */
    CHECK(unlink(p) == 0);
    make_sweep_folder(tmp_path("fifo-page"), 8);
    CHECK(mkfifo(tmp_path("fifo-page/report.html"), 0600) == 0);
    const char *rep[] = {"rnnlab", "report", tmp_path("fifo-page"), NULL};
    CHECK_MSG(run_cli(rep, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "report.html: cannot write: it is a FIFO"), "%s", e);
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

/* ------------------------------------------------------------------ 4: one writer per run folder */

/* Two `train --out SAME` at once both ran and interleaved their records;
 * now the second is refused in one line naming the first's pid, and so is
 * a --resume of the folder while it trains. After kill -9 the kernel lets
 * the lock go: resume works, and the records stay in order. */
TEST(trust_one_writer_per_run_folder)
{
    const char *dir = tmp_path("locked-run"), *log = tmp_path("locked-run.log");
    const char *first[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--batch", "8",
                           "--steps", "100000000", "--ckpt-every", "20", "--log-every", "10", "--eval-every", "0",
                           "--flow-every", "0", "--out", dir, NULL};
    pid_t a = start_cli(first, log);
    char lock[1200], ck[1200];
    snprintf(lock, sizeof lock, "%s/run.lock", dir);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    long holder = wait_for_lock(lock, 20);
    CHECK_MSG(holder == (long)a, "the lock names %ld, the first run is %ld", holder, (long)a);
    const char *second[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--steps", "50",
                            "--out", dir, NULL};
    char e[512] = "", want[64];
    snprintf(want, sizeof want, "(pid %ld)", (long)a);
    int st = run_cli(second, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "is in use") && strstr(e, want) && run_cli_err_lines() == 1, "status %d: %s", st, e);
    for (double t0 = now_s(); !file_exists(ck) && now_s() - t0 < 30;) usleep(20000);
    const char *resume[] = {"rnnlab", "train", "--resume", dir, NULL};
    st = run_cli(resume, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, want) && run_cli_err_lines() == 1, "status %d: %s", st, e);
    /* in this process too: the library's trainer refuses the folder */
    rl_trainer *t = NULL;
    CHECK(rl_trainer_resume(&t, dir, 0) == RL_ERR_IO && !t && strstr(rl_errmsg(), want));
    usleep(300000);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    /* the stale lock is the kernel's to release: resume goes on */
    st_file f;
    CHECK_OK(st_read(&f, ck));
    const st_tensor *step = f.buf ? st_find(&f, "train.step") : NULL;
    int64_t at = 0;
    if (step) memcpy(&at, f.data + step->begin, 8);
    st_close(&f);
    char steps[32];
    snprintf(steps, sizeof steps, "%lld", (long long)at + 20);
    const char *go_on[] = {"rnnlab", "train", "--resume", dir, "--steps", steps, "--quiet", NULL};
    st = run_cli(go_on, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(at > 0 && st == 0, "resume after kill -9 at step %lld: status %d: %s", (long long)at, st, e);
    /* one writer: the steps of metrics.jsonl only go up */
    char mp[1200];
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", dir);
    FILE *mf = fopen(mp, "r");
    char line[4096];
    double last = -1;
    int lines = 0, ordered = 1;
    while (mf && fgets(line, sizeof line, mf)) {
        cJSON *j = cJSON_Parse(line), *s = cJSON_GetObjectItem(j, "step");
        if (cJSON_IsNumber(s) && cJSON_GetObjectItem(j, "loss")) ordered &= s->valuedouble > last, last = s->valuedouble, lines++;
        cJSON_Delete(j);
    }
    if (mf) fclose(mf);
    CHECK_MSG(ordered && lines >= 2 && last == (double)at + 20, "%d lines, ordered %d, last step %g", lines, ordered, last);
}

/* Two sweeps of one folder: the second is refused naming the first's pid. */
TEST(trust_one_sweep_per_folder)
{
    const char spec_text[] = "command lyapunov\ninit --cell tanh --input 1 --hidden 64 --output 1\noptions --steps 200000 --k 2\n"
                             "grid --gain 0.5 1 1.5 2\n";
    const char *sp = write_tmp("long.sweep", spec_text, sizeof spec_text - 1);
    const char *dir = tmp_path("locked-sweep");
    const char *first[] = {"rnnlab", "sweep", sp, "--out", dir, "--quiet", NULL};
    pid_t a = start_cli(first, tmp_path("locked-sweep.log"));
    char lock[1200], e[512] = "", want[64];
    snprintf(lock, sizeof lock, "%s/sweep.lock", dir);
    long holder = wait_for_lock(lock, 20);
    CHECK_MSG(holder == (long)a, "the lock names %ld, the first sweep is %ld", holder, (long)a);
    snprintf(want, sizeof want, "(pid %ld)", (long)a);
    int st = run_cli(first, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 1 && strstr(e, "is in use") && strstr(e, want) && run_cli_err_lines() == 1, "status %d: %s", st, e);
    kill(a, SIGTERM);
    int ws = 0;
    waitpid(a, &ws, 0);
    /* its points were told to stop with it; a new sweep takes the folder */
    const char *dry[] = {"rnnlab", "sweep", sp, "--out", dir, "--dry-run", NULL};
    CHECK(run_cli(dry, NULL, NULL, 0, NULL, 0) == 0);
}

/* ------------------------------------------------------------------ 5: damaged checkpoints */

/* Flip bit `bit` of byte `at` of a file. */
static void flip(const char *path, long at, int bit)
{
    int fd = open(path, O_RDWR);
    unsigned char c = 0;
    CHECK(fd >= 0 && pread(fd, &c, 1, at) == 1);
    c ^= (unsigned char)(1u << bit);
    CHECK(pwrite(fd, &c, 1, at) == 1);
    close(fd);
}

static long data_start(const char *path)
{
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    uint64_t h = 0;
    if (b && n >= 8) memcpy(&h, b, 8);
    free(b);
    return b ? 8 + (long)h : -1;
}

/* 10 of 10 random bit flips in a checkpoint's tensor data resumed, with
 * exit 0, to another model. Every one is refused now, in one line; so is a
 * flip in the header's train_config (it was reported as "--washout is for
 * --readout ridge"), and a flipped model file. */
TEST(trust_damaged_checkpoints_are_refused)
{
    const char *dir = tmp_path("ck-run");
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--batch", "8",
                        "--steps", "20", "--eval-every", "0", "--flow-every", "0", "--out", dir, "--quiet", NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    char ck[1200], keep[1200], mp[1200];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    snprintf(keep, sizeof keep, "%s/checkpoint.keep", dir);
    snprintf(mp, sizeof mp, "%s/model.safetensors", dir);
    rl_st *r = NULL;
    CHECK_OK(rl_st_open(&r, ck));
    CHECK(r && rl_st_meta(r, "data_crc32") && rl_st_meta(r, "header_crc32"));
    rl_st_close(r);
    size_t n = 0;
    unsigned char *orig = read_file(ck, &n);
    long d0 = data_start(ck);
    CHECK(orig && d0 > 8 && (size_t)d0 < n);
    if (!orig || d0 <= 8 || (size_t)d0 >= n) return;
    write_tmp("ck-run/checkpoint.keep", orig, n);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    const char *resume[] = {"rnnlab", "train", "--resume", dir, "--steps", "30", "--quiet", NULL};
    for (int k = 0; k < 10; k++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        long at = d0 + (long)(s % (uint64_t)(n - (size_t)d0));
        write_tmp("ck-run/checkpoint.safetensors", orig, n);
        flip(ck, at, (int)(s >> 40) % 8);
        char e[512] = "";
        int st = run_cli(resume, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, "do not match their checksum") && run_cli_err_lines() == 1,
                  "flip %d at byte %ld: status %d: %s", k, at, st, e);
    }
    /* a digit of the header's train_config ("washout":0 -> 8) */
    write_tmp("ck-run/checkpoint.safetensors", orig, n);
    const char *want = "\\\"washout\\\":0";
    char *w = NULL;
    for (long i = 8; !w && i + 12 <= d0; i++)
        if (memcmp(orig + i, want, 12) == 0) w = (char *)orig + i;
    CHECK(w != NULL);
    if (w) {
        flip(ck, (long)(w - (char *)orig) + 11, 3);
        char e[512] = "";
        int st = run_cli(resume, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, "the header does not match its checksum") && run_cli_err_lines() == 1, "status %d: %s", st, e);
    }
    /* the model file: any command that loads it */
    write_tmp("ck-run/checkpoint.safetensors", orig, n);
    long m0 = data_start(mp);
    flip(mp, m0 + 5, 2);
    const char *ev[] = {"rnnlab", "eval", "--model", mp, "--task", "adding", "--seq-len", "10", NULL};
    char e[512] = "";
    CHECK_MSG(run_cli(ev, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "model.safetensors: the tensor data do not match"),
              "%s", e);
    /* undamaged, it resumes */
    CHECK(run_cli(resume, NULL, NULL, 0, e, sizeof e) == 0);
    free(orig);
}

/* In the library: what rl_model_save writes carries the checksums and
 * loads; one flipped bit does not; a file without checksums (PyTorch's)
 * loads; and checksums given as metadata to the writers are dropped, not
 * copied (they would be another file's). */
TEST(trust_checksums_in_the_library)
{
    rl_model *m = NULL, *back = NULL;
    CHECK_OK(rl_model_load(&m, M, RL_F32));
    if (!m) return;
    const char *p = tmp_path("crc.safetensors");
    CHECK_OK(rl_model_save(m, p));
    CHECK_OK(rl_model_load(&back, p, RL_F32));
    CHECK(back && memcmp(rl_model_params(back), rl_model_params(m), rl_model_num_params(m) * 4) == 0);
    rl_model_free(back), back = NULL;
    flip(p, data_start(p) + 3, 0);
    CHECK(rl_model_load(&back, p, RL_F32) == RL_ERR_FORMAT && !back && strstr(rl_errmsg(), "checksum"));
    /* the fixture, made before checksums, has none and loads */
    rl_st *r = NULL;
    CHECK_OK(rl_st_open(&r, M));
    CHECK(r && !rl_st_meta(r, "data_crc32"));
    rl_st_close(r);
    /* a stale checksum given by a caller is dropped by rl_st_write */
    float x = 1;
    rl_st_tensor t = {"x", "F32", 1, {1}, &x};
    const char *kv[] = {"data_crc32", "00000000", "header_crc32", "00000000", "note", "mine"};
    const char *q = tmp_path("stale.safetensors");
    CHECK_OK(rl_st_write(q, &t, 1, kv, 3));
    CHECK_OK(rl_st_open(&r, q));
    CHECK(r && !rl_st_meta(r, "data_crc32") && rl_st_meta(r, "note"));
    rl_st_close(r);
    rl_model_free(m);
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

/* The JSON outputs (lyapunov, spectrum) were written to PATH.tmp, a fixed
 * name opened as it was: a link left there wrote through to its target. */
TEST(trust_json_output_never_follows_a_link)
{
    const char *victim = write_tmp("victim.txt", "mine\n", 5), *out = tmp_path("ly.json");
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    CHECK(symlink(victim, tmp) == 0);
    const char *a[] = {"rnnlab", "lyapunov", "--model", M, "--steps", "5", "--out", out, NULL};
    char e[512] = "";
    CHECK_MSG(run_cli(a, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    size_t n = 0;
    char *v = (char *)read_file(victim, &n);
    CHECK(v && n == 5 && memcmp(v, "mine\n", 5) == 0);
    free(v);
    struct stat sb;
    CHECK(lstat(out, &sb) == 0 && S_ISREG(sb.st_mode) && lstat(tmp, &sb) == 0 && S_ISLNK(sb.st_mode));
}

/* ------------------------------------------------------------------ 7, 8: names from data */

/* A sweep folder whose names and keys are markup and paths: a result key
 * "<img src=x onerror=alert(1)>", another "/../../pwned" (with a folder
 * "sweep-" beside it, which let the old path reach the parent), an axis
 * "g<xi>", a command "lyapunov<xb>", a key of 300 characters. The page holds
 * them escaped; every file goes inside the folder under a safe name;
 * PLplot never aborts. */
TEST(trust_names_from_data_stay_data)
{
    const char *dir = tmp_path("evil");
    char p[1200];
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(p, sizeof p, "%s/sweep-", dir);
    CHECK(mkdir(p, 0755) == 0);
    char longkey[301];
    memset(longkey, 'k', 300);
    longkey[300] = '\0';
    longkey[150] = '/';
    write_text(tmp_path("evil/sweep.json"), "{\"command\":\"lyapunov<xb>\",\"axes\":[{\"name\":\"g<xi>\",\"option\":\"--gain\","
                                             "\"values\":[0.5,1,1.5]}],\"points\":[\"a\",\"b\",\"c\"]}\n");
    snprintf(p, sizeof p, "%s/results.jsonl", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; f && i < 3; i++)
        fprintf(f, "{\"id\":\"%c\",\"options\":{\"g<xi>\":%g},\"result\":{\"/../../pwned\":%d,\"<img src=x onerror=alert(1)>\":%d,"
                   "\"%s\":%d,\"#[0x2202]\\u00ff\":1}}\n", 'a' + i, 0.5 + 0.5 * i, i, 2 * i, longkey, i);
    if (f) fclose(f);
    const char *keys[] = {"/../../pwned", "<img src=x onerror=alert(1)>", longkey, "#[0x2202]\xc3\xbf"};
    for (int k = 0; k < 4; k++) {
        const char *a[] = {"rnnlab", "report", dir, "--result", keys[k], NULL};
        char e[512] = "";
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 0, "key %d: status %d: %s", k, st, e);
        char page[1200];
        snprintf(page, sizeof page, "%s/report.html", dir);
        CHECK_MSG(count_in_file(page, "<img src=x") == 0 && count_in_file(page, "<xb>") == 0 && count_in_file(page, "<xi>") == 0 &&
                      count_in_file(page, "&lt;xi&gt;") >= 1,
                  "key %d: markup from the folder reached the page", k);
        CHECK(k != 1 || count_in_file(page, "&lt;img src=x onerror=alert(1)&gt;") >= 2);
    }
    CHECK(!file_exists(tmp_path("pwned.png")) && !file_exists(tmp_path("pwned.csv")) && !file_exists(tmp_path("../pwned.png")));
    /* the safe names: no '/', inside the folder */
    snprintf(p, sizeof p, "%s/sweep-_.._.._pwned-", dir);
    int found = 0;
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^sweep-.*\\.png$' > '%s'", dir, tmp_path("evil.count"));
    CHECK(system(cmd) == 0);
    size_t n = 0;
    char *c = (char *)read_file(tmp_path("evil.count"), &n);
    found = c ? atoi(c) : 0;
    free(c);
    CHECK_MSG(found == 4, "%d figures in the folder", found);
    /* a run folder whose config.json holds markup */
    const char *run = tmp_path("evil-run");
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--steps", "20",
                        "--eval-every", "0", "--out", run, "--quiet", NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(p, sizeof p, "%s/config.json", run);
    write_text(p, "{\"task\":\"<script>alert(1)</script>\",\"cell\":\"<img src=x>\",\"optim\":\"<s>\",\"hidden\":8,\"seq_len\":10}");
    const char *rr[] = {"rnnlab", "report", run, NULL};
    CHECK(run_cli(rr, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(p, sizeof p, "%s/report.html", run);
    CHECK(count_in_file(p, "<script") == 0 && count_in_file(p, "<img src=x") == 0 && count_in_file(p, "&lt;script&gt;") >= 1);
}

/* ------------------------------------------------------------------ unclear or silently accepted */

/* plot csv named binary input "a line longer than 4094 characters", a
 * folder "Input/output error", and drew a header that is not UTF-8 with six
 * PLplot errors and exit 0. */
TEST(trust_plot_csv_says_what_is_wrong)
{
    const char *bin = write_tmp("bin.csv", "x,y\n1,2\0\n3,4\n", 13);
    const char *latin = write_tmp("latin.csv", "x,caf\xe9\n1,2\n2,3\n", 16);
    const char *elf = write_tmp("elf.csv", "\x7f" "ELF\x02\x01\x01\xff\xfe\x90\x91", 11);
    struct {
        const char *in, *frag;
    } cases[] = {
        {bin, "line 2 holds a NUL byte"},
        {latin, "line 1 is not UTF-8 text"},
        {elf, "is not UTF-8 text"},
        {test_tmpdir, "it is a folder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[] = {"rnnlab", "plot", "csv", cases[i].in, "--out", tmp_path("bad.png"), NULL};
        char e[512] = "";
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: status %d: %s", i, st, e);
    }
}

/* train --readout ridge ignored --omega (and flossing) without a word. */
TEST(trust_ridge_refuses_regularisers)
{
    const char *cases[][2] = {{"--omega", "1"}, {"--floss", "2"}};
    for (int i = 0; i < 2; i++) {
        const char *a[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--readout", "ridge", cases[i][0],
                           cases[i][1], "--out", tmp_path("ridge-reg"), NULL};
        char e[512] = "";
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 2 && strstr(e, cases[i][0]) && strstr(e, "ridge") && run_cli_err_lines() == 1, "%s: status %d: %s",
                  cases[i][0], st, e);
        CHECK(!file_exists(tmp_path("ridge-reg")));
    }
}

/* ------------------------------------------------------------------ the figures of docs/security.md */

/* docs/security.md states the limits of the new surfaces as the code has them. */
TEST(trust_docs_state_the_limits)
{
    CHECK(MAX_POINTS == 1000000 && CSV_MAX_ROWS == 1000000 && RL_FIFO_WAIT_MS == 3000 && CLI_FIFO_WAIT_MS == RL_FIFO_WAIT_MS);
    doc_wants w = {0};
    doc_want(&w, "at most 1,000,000 values");     /* MAX_POINTS */
    doc_want(&w, "at most 1,000,000 string ids"); /* MAX_POINTS */
    doc_want(&w, "lines of at most %d characters", CSV_LINE - 2);
    doc_want(&w, "a header of 2 to %d names", PL_CSV_MAX_SERIES + 1);
    doc_want(&w, "at most 1,000,000 rows"); /* CSV_MAX_ROWS */
    doc_want(&w, "within %d s is refused", RL_FIFO_WAIT_MS / 1000);
    doc_want(&w, "`%s` and `%s`", ST_CRC_DATA, ST_CRC_HEADER);
    CHECK_DOC_HAS("docs/security.md", &w);
}
