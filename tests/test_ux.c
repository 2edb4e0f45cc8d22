/* The rough edges a new user met (issue 13, items 1-13), each as the user
 * met it: the command as typed, then what it must say and leave behind. */
#include "datafiles.h"
#include "test.h"

#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define M fixture("tanh_l1_ce.model.safetensors")
#define D fixture("tanh_l1_ce.data.safetensors")

/* ------------------------------------------------------------------ 13: versions */

/* `rnnlab --version` and `rnnlab version` print the one version of
 * include/rnnlab.h, which the library reports too; info shows it. */
TEST(ux_version)
{
    char o[256], want[64];
    snprintf(want, sizeof want, "rnnlab %s", RL_VERSION_STRING);
    CHECK(strcmp(rl_version(), RL_VERSION_STRING) == 0);
    const char *a[] = {"rnnlab", "--version", NULL}, *b[] = {"rnnlab", "version", NULL},
               *h[] = {"rnnlab", "version", "--help", NULL}, *x[] = {"rnnlab", "version", "extra", NULL},
               *info[] = {"rnnlab", "info", "--json", NULL}, *top[] = {"rnnlab", "--help", NULL};
    CHECK(run_cli(a, NULL, o, sizeof o, NULL, 0) == 0 && strcmp(o, want) == 0);
    CHECK(run_cli(b, NULL, o, sizeof o, NULL, 0) == 0 && strcmp(o, want) == 0);
    CHECK(run_cli(h, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "usage: rnnlab version"));
    CHECK(run_cli(x, NULL, NULL, 0, NULL, 0) == 2);
    CHECK(run_cli(info, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    char *txt = (char *)read_file(tmp_path("cli.stdout"), &n);
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    const cJSON *v = cJSON_GetObjectItem(j, "version");
    CHECK(cJSON_IsString(v) && strcmp(v->valuestring, RL_VERSION_STRING) == 0);
    cJSON_Delete(j);
    free(txt);
    CHECK(run_cli(top, NULL, NULL, 0, NULL, 0) == 0);
    txt = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK(txt && strstr(txt, "--version"));
    free(txt);
}

/* ------------------------------------------------------------------ 3: outputs checked first */

/* Every command that writes a file checks that it can before it works: one
 * line, exit 1, at once (the lyapunov run asked for here takes minutes). */
TEST(ux_outputs_are_checked_before_the_work)
{
    const char *bad = tmp_path("no/such/dir/out"), *badpng = tmp_path("no/such/dir/out.png"), *dir = test_tmpdir;
    const char *cases[][20] = {
        {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "2", "--output", "1", "--out", bad, NULL},
        {"rnnlab", "data", "--model", M, "--steps", "5", "--out", bad, NULL},
        {"rnnlab", "grad", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "jacobian", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--out", bad, NULL},
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--out", dir, NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "50000000", "--out", bad, NULL},
        {"rnnlab", "plot", "lyapunov", tmp_path("none.json"), "--out", badpng, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512];
        int st = run_cli(cases[i], NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, "cannot write") && run_cli_err_lines() == 1, "rnnlab %s: exit %d, %d lines: %s",
                  cases[i][1], st, run_cli_err_lines(), e);
        char want[64];
        snprintf(want, sizeof want, "rnnlab %s: ", cases[i][1]);
        CHECK_MSG(strncmp(e, want, strlen(want)) == 0, "%s", e);
    }
}

/* ------------------------------------------------------------------ 10: --out - */

static char *cli_stdout(size_t *n) { return (char *)read_file(tmp_path("cli.stdout"), n); }

/* With --out -, stdout holds the output and nothing else: tables and notes
 * go to stderr. Every command that takes --out. */
TEST(ux_out_dash_keeps_stdout_clean)
{
    size_t n = 0;
    const char *json_cmds[][16] = {
        {"rnnlab", "spectrum", "--model", M, "--data", D, "--lags", "1,2", "--out", "-", NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "50", "--out", "-", NULL},
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK(run_cli(json_cmds[i], NULL, NULL, 0, NULL, 0) == 0);
        char *txt = cli_stdout(&n);
        cJSON *j = txt ? cJSON_Parse(txt) : NULL;
        CHECK_MSG(cJSON_IsObject(j), "rnnlab %s --out -: stdout is not one JSON object", json_cmds[i][1]);
        cJSON_Delete(j);
        free(txt);
    }
    /* safetensors on stdout: the whole of it reads back */
    const char *st_cmds[][16] = {
        {"rnnlab", "jacobian", "--model", M, "--data", D, "--out", "-", NULL},
        {"rnnlab", "grad", "--model", M, "--data", D, "--out", "-", NULL},
        {"rnnlab", "data", "--model", M, "--steps", "4", "--out", "-", NULL},
        {"rnnlab", "init", "--cell", "gru", "--input", "2", "--hidden", "3", "--output", "2", "--out", "-", NULL},
    };
    for (size_t i = 0; i < 4; i++) {
        CHECK(run_cli(st_cmds[i], NULL, NULL, 0, NULL, 0) == 0);
        rl_st *f = NULL;
        CHECK_MSG(rl_st_open(&f, tmp_path("cli.stdout")) == RL_OK, "rnnlab %s --out -: %s", st_cmds[i][1], rl_errmsg());
        rl_st_close(f);
    }
    /* a figure on stdout is a PNG from its first byte */
    const char *ly[] = {"rnnlab", "lyapunov", "--model", M, "--steps", "50", "--out", tmp_path("l.json"), NULL};
    const char *pl[] = {"rnnlab", "plot", "lyapunov", tmp_path("l.json"), "--out", "-", NULL};
    CHECK(run_cli(ly, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(run_cli(pl, NULL, NULL, 0, NULL, 0) == 0);
    unsigned char *png = (unsigned char *)cli_stdout(&n);
    CHECK(png && n > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(png);
    /* a run and the demo are folders: --out - is a usage error, and makes no folder '-' */
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--out", "-", NULL};
    const char *de[] = {"rnnlab", "demo", "--out", "-", NULL};
    char e[512];
    CHECK(run_cli(tr, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "stdout"));
    CHECK(run_cli(de, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "stdout"));
}

/* ------------------------------------------------------------------ 11: prefixes and exit codes */

/* Run-time failures: one line "rnnlab CMD: ...", exit 1, in every command;
 * an option that does not fit what was loaded (a sequence length, a
 * sequence index, a task) is a usage error, 2, as in train. */
TEST(ux_prefixes_and_exit_codes)
{
    const char *none = tmp_path("no-such-file"), *file = write_tmp("a-file", "x", 1);
    struct { const char *argv[16]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "data", "--model", none, "--steps", "3", "--out", tmp_path("d.st"), NULL}, 1, "cannot open"},
        {{"rnnlab", "grad", "--model", M, "--data", none, "--out", tmp_path("g.st"), NULL}, 1, "cannot open"},
        {{"rnnlab", "jacobian", "--model", none, "--data", D, "--out", tmp_path("j.st"), NULL}, 1, "cannot open"},
        {{"rnnlab", "spectrum", "--model", M, "--data", none, "--out", tmp_path("s.json"), NULL}, 1, "cannot open"},
        {{"rnnlab", "lyapunov", "--model", none, "--steps", "3", "--out", tmp_path("l.json"), NULL}, 1, "cannot open"},
        {{"rnnlab", "eval", "--model", none, "--task", "adding", NULL}, 1, "cannot open"},
        {{"rnnlab", "sample", "--model", none, NULL}, 1, "cannot open"},
        {{"rnnlab", "plot", "lags", none, "--out", tmp_path("p.png"), NULL}, 1, "cannot open"},
        {{"rnnlab", "report", none, NULL}, 1, "no such folder"},
        {{"rnnlab", "report", file, NULL}, 1, "not a folder"},
        {{"rnnlab", "demo", "--quick", "--out", file, NULL}, 2, "not a folder"},
        {{"rnnlab", "train", "--resume", none, NULL}, 1, "cannot open"},
        {{"rnnlab", "train", "--task", "adding", "--out", file, NULL}, 2, "not a folder"},
        {{"rnnlab", "train", "--task", "adding", "--seq-len", "1", "--out", tmp_path("r"), NULL}, 2, "--seq-len 1"},
        {{"rnnlab", "eval", "--model", M, "--task", "adding", "--seq-len", "1", NULL}, 2, "--seq-len 1"},
        {{"rnnlab", "eval", "--model", M, "--task", "adding", NULL}, 2, "does not fit the task adding"},
        {{"rnnlab", "jacobian", "--model", M, "--data", D, "--seq", "99", "--out", tmp_path("j.st"), NULL}, 2, "sequence 99"},
        {{"rnnlab", "lyapunov", "--model", M, "--data", D, "--seq", "99", "--steps", "3", "--out", tmp_path("l.json"), NULL}, 2,
         "sequence 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512], prefix[64];
        int st = run_cli(cases[i].argv, NULL, NULL, 0, e, sizeof e);
        snprintf(prefix, sizeof prefix, "rnnlab %s: ", cases[i].argv[1]);
        CHECK_MSG(st == cases[i].status && strstr(e, cases[i].frag) && strncmp(e, prefix, strlen(prefix)) == 0 &&
                      run_cli_err_lines() == 1,
                  "rnnlab %s (case %zu): exit %d (want %d), %d lines: %s", cases[i].argv[1], i, st, cases[i].status,
                  run_cli_err_lines(), e);
    }
}

/* ------------------------------------------------------------------ 9: failed starts */

/* A run that cannot start leaves nothing: no folder, or the folder it was
 * given as it was. Usage errors and every kind of bad --data. */
TEST(ux_failed_starts_leave_nothing)
{
    char text[1500]; /* too short for one window of 100 characters in its 5% of validation text */
    for (size_t i = 0; i < sizeof text; i++) text[i] = "ab \n"[i % 4];
    const char *shorttext = write_tmp("short.txt", text, sizeof text), *nul = write_tmp("nul.txt", "ab\0cd", 5),
               *latin1 = write_tmp("latin1.txt", "caf\xe9", 4), *empty = write_tmp("empty.txt", "", 0);
    const char *datas[] = {tmp_path("no-such.txt"), test_tmpdir, empty, nul, latin1, shorttext};
    const char *out = tmp_path("failed-run");
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        const char *a[] = {"rnnlab", "train", "--task", "text", "--data", datas[i], "--out", out, "--quiet", NULL};
        char e[512];
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        size_t n = 0;
        unsigned char *probe = read_file(tmp_path("failed-run/config.json"), &n);
        CHECK_MSG(st != 0 && !probe, "--data %s: exit %d: %s", datas[i], st, e);
        free(probe);
        CHECK_MSG(run_cli_err_lines() == 1, "--data %s: %d lines", datas[i], run_cli_err_lines());
    }
    const char *usage[][12] = {
        {"rnnlab", "train", "--task", "adding", "--hidden", "0", "--out", out, NULL},
        {"rnnlab", "train", "--task", "adding", "--colour", "red", "--out", out, NULL},
        {"rnnlab", "train", "--task", "copy", "--seq-len", "0", "--out", out, NULL},
        {"rnnlab", "train", "--task", "adding", "--cell", "tanh", "--forget-bias", "1", "--out", out, NULL},
        {"rnnlab", "demo", "--seed", "x", "--out", out, NULL},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        CHECK(run_cli(usage[i], NULL, NULL, 0, NULL, 0) == 2);
        size_t n = 0;
        unsigned char *probe = read_file(tmp_path("failed-run/config.json"), &n);
        CHECK_MSG(!probe, "case %zu left a run", i);
        free(probe);
    }
    CHECK(rl_st_open(&(rl_st *){NULL}, out) != RL_OK); /* no folder either */
    CHECK(strstr(rl_errmsg(), "cannot open") != NULL);
}

/* ------------------------------------------------------------------ 5: the user's files */

/* The demo and train write into a folder of the user's only when it is
 * empty or their own: a file there stays as it was. A folder the demo made
 * is rewritten (it carries the demo's mark). */
TEST(ux_user_folders_are_not_overwritten)
{
    const char *user = tmp_path("users-folder");
    CHECK(mkdir(user, 0755) == 0);
    write_tmp("users-folder/notes.txt", "mine", 4);
    write_tmp("users-folder/metrics.jsonl", "{}", 2);
    const char *demo[] = {"rnnlab", "demo", "--quick", "--out", user, NULL};
    const char *train[] = {"rnnlab", "train", "--task", "adding", "--steps", "2", "--quiet", "--out", user, NULL};
    char e[512];
    CHECK(run_cli(demo, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "not the demo's"));
    CHECK(run_cli(train, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "not a run's"));
    size_t n = 0;
    unsigned char *a = read_file(tmp_path("users-folder/notes.txt"), &n), *b = read_file(tmp_path("users-folder/metrics.jsonl"), &n);
    CHECK(a && memcmp(a, "mine", 4) == 0 && b && memcmp(b, "{}", 2) == 0);
    free(a), free(b);
    /* an empty folder is taken, and the demo's own folder rewritten */
    const char *fresh = tmp_path("empty-folder");
    CHECK(mkdir(fresh, 0755) == 0);
    const char *demo2[] = {"rnnlab", "demo", "--quick", "--out", fresh, NULL};
    CHECK(run_cli(demo2, NULL, NULL, 0, e, sizeof e) == 0);
    CHECK(run_cli(demo2, NULL, NULL, 0, e, sizeof e) == 0);
    a = read_file(tmp_path("empty-folder/.rnnlab-demo"), &n);
    CHECK(a != NULL);
    free(a);
}

/* ------------------------------------------------------------------ 8: bounded reads */

/* A child that opens fifo for writing and writes head, then zeros until the
 * reader goes away. */
static pid_t fifo_writer(const char *fifo, const void *head, size_t n)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    signal(SIGPIPE, SIG_DFL);
    int fd = open(fifo, O_WRONLY);
    if (fd < 0) _exit(1);
    if (n && write(fd, head, n) != (ssize_t)n) _exit(1);
    static const char zeros[65536];
    for (;;)
        if (write(fd, zeros, sizeof zeros) < 0) _exit(0);
}

/* A FIFO at fifo that a child process fills with the model M, then zeros
 * without end: the child's pid, or -1 (a failed check) if none. */
static pid_t model_fifo(const char *fifo)
{
    size_t n = 0;
    unsigned char *model = read_file(M, &n);
    CHECK(model && mkfifo(fifo, 0600) == 0);
    pid_t w = model ? fifo_writer(fifo, model, n) : -1;
    free(model);
    return w;
}

/* Every file is read within a bound, whatever it is: /dev/zero as a model,
 * a data file, a text, a JSON or CSV input, a run's records, and a FIFO
 * whose writer never stops after a valid model. Each command answers at once. */
TEST(ux_every_read_is_bounded)
{
    const char *z = "/dev/zero";
    const char *cases[][16] = {
        {"rnnlab", "eval", "--model", z, "--task", "adding", NULL},
        {"rnnlab", "grad", "--model", z, "--data", D, "--out", tmp_path("g.st"), NULL},
        {"rnnlab", "grad", "--model", M, "--data", z, "--out", tmp_path("g.st"), NULL},
        {"rnnlab", "jacobian", "--model", M, "--data", z, "--out", tmp_path("j.st"), NULL},
        {"rnnlab", "lyapunov", "--model", z, "--steps", "5", "--out", tmp_path("l.json"), NULL},
        {"rnnlab", "sample", "--model", z, NULL},
        {"rnnlab", "data", "--model", z, "--steps", "5", "--out", tmp_path("d.st"), NULL},
        {"rnnlab", "train", "--task", "text", "--data", z, "--out", tmp_path("zrun"), NULL},
        {"rnnlab", "eval", "--model", M, "--task", "text", "--data", z, NULL},
        {"rnnlab", "plot", "lags", z, "--out", tmp_path("p.png"), NULL},
        {"rnnlab", "plot", "spectrum", z, "--out", tmp_path("p.png"), NULL},
        {"rnnlab", "plot", "lyapunov", z, "--out", tmp_path("p.png"), NULL},
        {"rnnlab", "plot", "scaling", z, "--out", tmp_path("p.png"), NULL},
        {"rnnlab", "plot", "csv", z, "--out", tmp_path("p.png"), NULL},
        {"rnnlab", "grad", "--model", "-", "--data", D, "--out", tmp_path("g.st"), NULL}, /* stdin: /dev/zero */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t0 = rl_now();
        char e[512];
        int st = run_cli(cases[i], strcmp(cases[i][3], "-") == 0 ? z : NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 || st == 2, "case %zu (rnnlab %s): exit %d: %s", i, cases[i][1], st, e);
        CHECK_MSG(rl_now() - t0 < 5, "case %zu (rnnlab %s) took %.1f s", i, cases[i][1], rl_now() - t0);
        CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines", i, run_cli_err_lines());
    }
    /* a run folder whose records are /dev/zero */
    CHECK(mkdir(tmp_path("devzero-run"), 0755) == 0 && symlink(z, tmp_path("devzero-run/metrics.jsonl")) == 0);
    const char *rep[] = {"rnnlab", "report", tmp_path("devzero-run"), NULL};
    double t0 = rl_now();
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 1 && rl_now() - t0 < 5);
    /* a FIFO: a valid model, then zeros without end: read as far as the header says */
    const char *fifo = tmp_path("model.fifo");
    pid_t w = model_fifo(fifo);
    if (w < 0) return;
    const char *ev[] = {"rnnlab", "grad", "--model", fifo, "--data", D, "--out", tmp_path("g.st"), NULL};
    char o[256];
    t0 = rl_now();
    CHECK(run_cli(ev, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "loss 1.52296"));
    CHECK(rl_now() - t0 < 5);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    /* and a FIFO whose header claims more data than a stream may hold */
    size_t len = 0;
    unsigned char *big = st_image("{\"x\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}", 0,
                                  NULL, 0, &len);
    w = fifo_writer(fifo, big, len);
    const char *ev2[] = {"rnnlab", "grad", "--model", fifo, "--data", D, "--out", tmp_path("g.st"), NULL};
    char e[512];
    t0 = rl_now();
    CHECK_MSG(run_cli(ev2, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "stream"), "%s", e);
    CHECK(rl_now() - t0 < 5);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    free(big);
}

/* ------------------------------------------------------------------ 7: what a file is */

/* A safetensors file of zeros with these tensors ("name:DTYPE:d0,d1" each)
 * and an optional metadata object (JSON text, without braces). */
static const char *st_of(const char *file, const char *meta, const char *const *specs, int n)
{
    char hdr[4096];
    size_t at = (size_t)snprintf(hdr, sizeof hdr, "{");
    if (meta) at += (size_t)snprintf(hdr + at, sizeof hdr - at, "\"__metadata__\":{%s}", meta);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        char name[64], dt[8], dims[32];
        CHECK(sscanf(specs[i], "%63[^:]:%7[^:]:%31s", name, dt, dims) == 3);
        size_t numel = 1, es = strcmp(dt, "F16") == 0 ? 2 : strcmp(dt, "F64") == 0 ? 8 : 4;
        for (char *p = dims; *p;) {
            numel *= strtoul(p, &p, 10);
            if (*p == ',') p++;
        }
        at += (size_t)snprintf(hdr + at, sizeof hdr - at, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                               at > 1 ? "," : "", name, dt, dims, off, off + numel * es);
        off += numel * es;
    }
    snprintf(hdr + at, sizeof hdr - at, "}");
    return write_st_tmp(file, hdr, off);
}

#define TANH_META "\"cell\":\"tanh\",\"input_size\":\"3\",\"hidden_size\":\"4\",\"num_layers\":\"1\",\"output_size\":\"2\",\"loss\":\"mse\""

/* A file that is not a model, given as one, is named for what it is; a
 * PyTorch model that lacks what rnnlab needs is told what it lacks. */
TEST(ux_files_say_what_they_are)
{
    const char *j = tmp_path("j.st"), *g = tmp_path("g.st"), *l = tmp_path("l.json");
    const char *mk[][12] = {
        {"rnnlab", "jacobian", "--model", M, "--data", D, "--out", j, NULL},
        {"rnnlab", "grad", "--model", M, "--data", D, "--out", g, NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "5", "--out", l, NULL},
    };
    for (int i = 0; i < 3; i++) CHECK(run_cli(mk[i], NULL, NULL, 0, NULL, 0) == 0);
    unsigned char zip[64] = "PK\x03\x04", pkl[64] = "\x80\x02}q\x00(X\x06";
    for (int i = 8; i < 64; i++) zip[i] = (unsigned char)(i * 7), pkl[i] = (unsigned char)(i * 5);
    const char *const rnn[] = {"rnn.weight_ih_l0:F32:4,3", "rnn.weight_hh_l0:F32:4,4", "rnn.bias_ih_l0:F32:4",
                               "rnn.bias_hh_l0:F32:4", "head.weight:F32:2,4", "head.bias:F32:2"};
    const char *const nobias[] = {"rnn.weight_ih_l0:F32:4,3", "rnn.weight_hh_l0:F32:4,4", "head.weight:F32:2,4", "head.bias:F32:2"};
    const char *const half[] = {"rnn.weight_ih_l0:F16:4,3", "rnn.weight_hh_l0:F16:4,4", "rnn.bias_ih_l0:F16:4",
                                "rnn.bias_hh_l0:F16:4", "head.weight:F16:2,4", "head.bias:F16:2"};
    struct { const char *path, *frag; } cases[] = {
        {j, "j.st is a Jacobian output (rnnlab jacobian), not a model"},
        {g, "g.st is a gradient file (rnnlab grad), not a model"},
        {D, "is a data file, not a model"},
        {l, "l.json: a JSON file, not a safetensors file"},
        {write_tmp("model.pt", zip, sizeof zip), "model.pt: a zip archive (a PyTorch .pt or .pth file"},
        {write_tmp("old.pt", pkl, sizeof pkl), "old.pt: a Python pickle"},
        {write_tmp("notes.txt", "some notes about a model\n", 25), "notes.txt: a text file, not a safetensors file"},
        {st_of("sd.st", NULL, rnn, 6), "metadata 'cell' is missing: a PyTorch state_dict saved without rnnlab's metadata"},
        {st_of("nohead.st", TANH_META, rnn, 4), "tensor 'head.weight' is missing: rnnlab models end in a linear readout"},
        {st_of("nobias.st", TANH_META, nobias, 4), "tensor 'rnn.bias_ih_l0' is missing: rnnlab models have both biases"},
        {st_of("half.st", TANH_META, half, 6), "tensor 'rnn.weight_ih_l0' has dtype F16, expected F32 or F64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[] = {"rnnlab", "eval", "--model", cases[i].path, "--task", "adding", NULL};
        char e[1024];
        int st = run_cli(a, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == 1 && strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: exit %d: %s", i, st, e);
    }
    /* the full model loads (the cases above are it, less a part) */
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, st_of("full.st", TANH_META, rnn, 6), RL_F32));
    rl_model_free(m);
    /* and the other way round: a model, or an output, given as data or as a plot's input */
    const char *asdata[][12] = {
        {"rnnlab", "grad", "--model", M, "--data", M, "--out", g, NULL},
        {"rnnlab", "jacobian", "--model", M, "--data", j, "--out", tmp_path("j2.st"), NULL},
        {"rnnlab", "plot", "lags", M, "--out", tmp_path("p.png"), NULL},
    };
    const char *frags[] = {"is a model, not a data file", "is a Jacobian output (rnnlab jacobian), not a data file",
                           "is a model, not an output of rnnlab jacobian"};
    for (int i = 0; i < 3; i++) {
        char e[1024];
        CHECK_MSG(run_cli(asdata[i], NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, frags[i]), "%s", e);
    }
}

/* ------------------------------------------------------------------ 6: resuming */

/* A text run whose text has moved: resuming says how to repoint it, --data
 * repoints it (and the run records the new path), another text is refused
 * by its size and hash, and --steps below the run's step is a usage error
 * that leaves the run's records as they were. */
TEST(ux_resume_a_moved_text)
{
    char text[20000], other[20000];
    rl_rng r;
    rl_rng_seed(&r, 11);
    for (size_t i = 0; i < sizeof text; i++) text[i] = "abcdefgh \n"[rl_rng_next(&r) % 10];
    memcpy(other, text, sizeof other);
    other[100] = other[100] == 'a' ? 'b' : 'a'; /* the same characters, another text */
    const char *first = write_tmp("first.txt", text, sizeof text), *moved = tmp_path("moved.txt"),
               *wrong = write_tmp("other.txt", other, sizeof other), *run = tmp_path("text-run");
    const char *train[] = {"rnnlab", "train", "--task", "text", "--data", first, "--hidden", "8", "--batch", "4",
                           "--seq-len", "20", "--steps", "6", "--quiet", "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(rename(first, moved) == 0);
    char e[1024];
    const char *again[] = {"rnnlab", "train", "--resume", run, "--steps", "8", "--quiet", NULL};
    CHECK(run_cli(again, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "cannot open") && strstr(e, "--data NEWPATH"));
    const char *bad[] = {"rnnlab", "train", "--resume", run, "--steps", "8", "--data", wrong, "--quiet", NULL};
    CHECK_MSG(run_cli(bad, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "is not the text this run was trained on"), "%s", e);
    const char *good[] = {"rnnlab", "train", "--resume", run, "--steps", "8", "--data", moved, "--quiet", NULL};
    CHECK_MSG(run_cli(good, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    size_t n = 0;
    char *cfg = (char *)read_file(tmp_path("text-run/config.json"), &n);
    CHECK(cfg && strstr(cfg, "moved.txt"));
    free(cfg);
    const char *more[] = {"rnnlab", "train", "--resume", run, "--steps", "10", "--quiet", NULL}; /* the new path, recorded */
    CHECK_MSG(run_cli(more, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    /* --steps below the run's step: refused before anything is touched */
    unsigned char *before = read_file(tmp_path("text-run/metrics.jsonl"), &n);
    size_t nb = n;
    const char *back[] = {"rnnlab", "train", "--resume", run, "--steps", "7", NULL};
    CHECK(run_cli(back, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "is at step 10, past the 7 steps") &&
          strstr(e, "--steps 10 or more"));
    unsigned char *after = read_file(tmp_path("text-run/metrics.jsonl"), &n);
    CHECK(before && after && n == nb && memcmp(before, after, n) == 0);
    free(before), free(after);
    /* --data for a run that has no text */
    const char *arun = tmp_path("adding-run");
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "5", "--hidden", "4", "--batch", "2",
                        "--steps", "2", "--quiet", "--out", arun, NULL};
    const char *ad[] = {"rnnlab", "train", "--resume", arun, "--steps", "3", "--data", moved, NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    CHECK(run_cli(ad, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "only for a run of the text task"));
}

/* ------------------------------------------------------------------ 4: a model knows its task */

static cJSON *stdout_json(void)
{
    size_t n = 0;
    char *txt = (char *)read_file(tmp_path("cli.stdout"), &n);
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    return j;
}

static double jnum(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* rnnlab train records the task and T in the model file; eval, data,
 * jacobian and spectrum take them as defaults and say so; rnnlab data makes
 * the task's data for a trained model. */
TEST(ux_a_model_knows_its_task)
{
    const char *run = tmp_path("task-run"), *model = tmp_path("task-run/model.safetensors");
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "12", "--hidden", "6", "--batch", "4",
                        "--steps", "3", "--quiet", "--out", run, NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *m = NULL, *m64 = NULL;
    rl_task_kind k = RL_TASK_TEXT;
    CHECK_OK(rl_model_load(&m, model, RL_F32));
    CHECK(m && rl_model_task(m, &k) == 12 && k == RL_TASK_ADDING);
    if (m) CHECK_OK(rl_model_cast(&m64, m, RL_F64));
    CHECK(m64 && rl_model_task(m64, &k) == 12);
    rl_model_free(m64);
    /* eval: the model's task and T, said on stderr; --seq-len chooses another */
    const char *ev[] = {"rnnlab", "eval", "--model", model, "--json", NULL};
    char e[512];
    CHECK(run_cli(ev, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "task adding, T = 12, as the model was trained"));
    cJSON *j = stdout_json();
    const cJSON *task = cJSON_GetObjectItem(j, "task");
    CHECK(jnum(j, "seq_len") == 12 && cJSON_IsString(task) && strcmp(task->valuestring, "adding") == 0);
    cJSON_Delete(j);
    const char *ev30[] = {"rnnlab", "eval", "--model", model, "--seq-len", "30", "--json", NULL};
    CHECK(run_cli(ev30, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "task adding, as the model was trained"));
    j = stdout_json();
    CHECK(jnum(j, "seq_len") == 30);
    cJSON_Delete(j);
    /* data: the model's own task, or one asked for */
    const char *d1 = tmp_path("task-d1.st"), *d2 = tmp_path("task-d2.st");
    const char *da[] = {"rnnlab", "data", "--model", model, "--out", d1, NULL};
    const char *db[] = {"rnnlab", "data", "--model", model, "--task", "adding", "--seq-len", "7", "--batch", "3", "--out", d2, NULL};
    CHECK(run_cli(da, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "as the model was trained"));
    CHECK(run_cli(db, NULL, NULL, 0, e, sizeof e) == 0);
    rl_data *d = NULL;
    if (m) CHECK_OK(rl_data_load(&d, d1, m, RL_F32));
    CHECK(d && rl_data_batch(d)->batch == 1 && rl_data_batch(d)->steps == 12);
    rl_data_free(d);
    d = NULL;
    if (m) CHECK_OK(rl_data_load(&d, d2, m, RL_F32));
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    CHECK(b && b->batch == 3 && b->steps == 7 && b->mask && b->y);
    for (int s = 0; b && b->mask && s < 3; s++) {
        const float *x = (const float *)b->x + (size_t)s * 7 * 2, *mask = (const float *)b->mask + (size_t)s * 7;
        double sum = 0;
        for (int t = 0; t < 7; t++) {
            sum += x[2 * t + 1] ? x[2 * t] : 0;
            CHECK(mask[t] == (t == 6));
        }
        CHECK(fabs(((const float *)b->y)[(size_t)s * 7 + 6] - sum) < 1e-6);
    }
    rl_data_free(d);
    /* jacobian and spectrum without --data: a sequence of the model's task */
    const char *ja[] = {"rnnlab", "jacobian", "--model", model, "--out", tmp_path("task-j.st"), NULL};
    const char *sa[] = {"rnnlab", "spectrum", "--model", model, "--lags", "1,12", "--out", tmp_path("task-s.json"), NULL};
    CHECK(run_cli(ja, NULL, NULL, 0, e, sizeof e) == 0 && strstr(e, "no --data: sequence 0 of the model's own task, adding with T = 12"));
    CHECK(run_cli(sa, NULL, NULL, 0, e, sizeof e) == 0);
    rl_st *f = NULL;
    CHECK_OK(rl_st_open(&f, tmp_path("task-j.st")));
    CHECK(f && rl_st_meta(f, "steps") && strcmp(rl_st_meta(f, "steps"), "12") == 0 && rl_st_meta(f, "loss"));
    rl_st_close(f);
    /* a model without a task: the options are required, and say why */
    const char *nt[][12] = {
        {"rnnlab", "eval", "--model", M, NULL},
        {"rnnlab", "data", "--model", M, "--out", d1, NULL},
        {"rnnlab", "jacobian", "--model", M, "--out", tmp_path("x.st"), NULL},
        {"rnnlab", "data", "--model", model, "--task", "copy", "--out", d1, NULL},
        {"rnnlab", "data", "--model", model, "--task", "adding", "--steps", "5", "--out", d1, NULL},
    };
    const char *frag[] = {"--task is required: the model does not record", "--steps is required (or --task)",
                          "--data is required: the model does not record", "does not fit the task copy", "--seq-len"};
    for (int i = 0; i < 5; i++)
        CHECK_MSG(run_cli(nt[i], NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, frag[i]), "case %d: %s", i, e);
    /* metadata the loader does not know is allowed; a task it does not know is no default */
    rl_model_free(m);
    m = NULL;
    const char *const rnn[] = {"rnn.weight_ih_l0:F32:4,3", "rnn.weight_hh_l0:F32:4,4", "rnn.bias_ih_l0:F32:4",
                               "rnn.bias_hh_l0:F32:4", "head.weight:F32:2,4", "head.bias:F32:2"};
    CHECK_OK(rl_model_load(&m, st_of("newer.st", TANH_META ",\"task\":\"sorting\",\"seq_len\":\"9\",\"author\":\"x\"", rnn, 6), RL_F32));
    CHECK(m && rl_model_task(m, &k) == 0);
    rl_model_free(m);
}

/* ------------------------------------------------------------------ 1: a text too short */

/* With the defaults, a text of 20,000 characters validates on 1,000: too few
 * for 50 streams of 100. train validates on the 9 that fit (issue 28: the
 * validation set is sized on its own); eval, whose --batch is the
 * validation's, says so before any work, naming the options that fix it,
 * exit 2. */
TEST(ux_text_too_short_is_said_first)
{
    char text[20000];
    rl_rng r;
    rl_rng_seed(&r, 3);
    for (size_t i = 0; i < sizeof text; i++) text[i] = "abcdefgh \n"[rl_rng_next(&r) % 10];
    const char *p = write_tmp("twenty-k.txt", text, sizeof text), *run = tmp_path("short-text-run");
    const char *tr[] = {"rnnlab", "train", "--task", "text", "--data", p, "--hidden", "8", "--steps", "2", "--quiet",
                        "--out", tmp_path("short-text-run-50"), NULL};
    char e[512];
    CHECK_MSG(run_cli(tr, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    size_t nm = 0;
    char *metrics = (char *)read_file(tmp_path("short-text-run-50/metrics.jsonl"), &nm);
    CHECK(metrics && strstr(metrics, "\"val_loss\""));
    free(metrics);
    const char *ok[] = {"rnnlab", "train", "--task", "text", "--data", p, "--hidden", "8", "--batch", "4", "--seq-len", "20",
                        "--steps", "2", "--quiet", "--out", run, NULL};
    CHECK(run_cli(ok, NULL, NULL, 0, e, sizeof e) == 0);
    const char *ev[] = {"rnnlab", "eval", "--model", tmp_path("short-text-run/model.safetensors"), "--data", p, "--batch", "50", NULL};
    CHECK_MSG(run_cli(ev, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "too short for 50 streams of 20") && strstr(e, "--batch 47 or less"),
              "%s", e);
    /* without --batch, eval's batch adapts to the text, and says so */
    const char *ev2[] = {"rnnlab", "eval", "--model", tmp_path("short-text-run/model.safetensors"), "--data", p, "--json", NULL};
    CHECK(run_cli(ev2, NULL, NULL, 0, e, sizeof e) == 0);
    size_t n = 0;
    char *err = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK(err && strstr(err, "--batch 47: the validation text (1000 characters) holds 47 streams of 20"));
    free(err);
}

/* ------------------------------------------------------------------ 2: Lyapunov from a fixed point */

/* A zero-bias gain-3 tanh net (H = 40): from h = 0 under zero input the
 * state never moves, the exponents are those of the fixed point (the top one
 * ln rho(W_hh)) and the run says so; the default start (no --data) is
 * random, moves, and finds the attractor's much smaller exponent. */
TEST(ux_lyapunov_does_not_sit_on_a_fixed_point)
{
    const char *m = tmp_path("g3.st"), *z = tmp_path("g3-zero.json"), *r = tmp_path("g3-default.json");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "40", "--output", "1", "--init",
                          "gaussian", "--gain", "3", "--zero-bias", "--seed", "2", "--out", m, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    const char *lz[] = {"rnnlab", "lyapunov", "--model", m, "--steps", "400", "--k", "2", "--state", "zeros", "--out", z, NULL};
    const char *ld[] = {"rnnlab", "lyapunov", "--model", m, "--steps", "400", "--k", "2", "--out", r, NULL};
    size_t n = 0;
    char *err = NULL;
    CHECK(run_cli(lz, NULL, NULL, 0, NULL, 0) == 0);
    err = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK(err && strstr(err, "the state never moved in the 400 steps") && strstr(err, "an unstable one"));
    free(err);
    CHECK(run_cli(ld, NULL, NULL, 0, NULL, 0) == 0);
    err = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK(err && !strstr(err, "never moved"));
    free(err);
    char *a = (char *)read_file(z, &n), *b = (char *)read_file(r, &n);
    cJSON *jz = a ? cJSON_Parse(a) : NULL, *jr = b ? cJSON_Parse(b) : NULL;
    free(a), free(b);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(jz, "stationary")) && jnum(jz, "displacement") == 0);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(jr, "stationary")) && jnum(jr, "displacement") > 0.1);
    const cJSON *sz = cJSON_GetObjectItem(jz, "state"), *sr = cJSON_GetObjectItem(jr, "state");
    CHECK(cJSON_IsString(sz) && strcmp(sz->valuestring, "zeros") == 0 && cJSON_IsString(sr) && strcmp(sr->valuestring, "random") == 0);
    double lz0 = cJSON_GetArrayItem(cJSON_GetObjectItem(jz, "exponents"), 0)->valuedouble,
           lr0 = cJSON_GetArrayItem(cJSON_GetObjectItem(jr, "exponents"), 0)->valuedouble;
    /* the fixed point's exponent is ln rho(W_hh): J_1 at h = 0 under zero input is W_hh */
    rl_model *mm = NULL;
    rl_jac *j = NULL;
    CHECK_OK(rl_model_load(&mm, m, RL_F64));
    double x[1] = {0}, re[40], im[40];
    rl_batch bt = {RL_F64, 1, 1, 1, x, NULL, NULL, NULL, NULL, NULL};
    if (mm) CHECK_OK(rl_jac_new(&j, mm, &bt, 0));
    if (j) CHECK_OK(rl_jac_step_spectrum(j, 1, re, im, NULL));
    double rho = j ? hypot(re[0], im[0]) : 1;
    CHECK_MSG(fabs(lz0 - log(rho)) < 1e-3, "from zero %g, ln rho(W) %g", lz0, log(rho));
    CHECK_MSG(lr0 < log(rho) - 0.4 && lr0 > 0, "from the default start %g, ln rho(W) %g", lr0, log(rho));
    rl_jac_free(j);
    rl_model_free(mm);
    cJSON_Delete(jz), cJSON_Delete(jr);
    /* the library says the same */
    rl_lyap_info info = {0};
    rl_lyap_config lc = {.steps = 50, .transient = 10, .k = 1, .input = RL_INPUT_ZEROS, .state = RL_STATE_ZEROS};
    double ex[1];
    rl_model *m32 = NULL;
    CHECK_OK(rl_model_load(&m32, m, RL_F32));
    if (m32) CHECK_OK(rl_lyapunov_ex(m32, NULL, 0, &lc, ex, NULL, &info));
    CHECK(info.stationary == 1 && info.displacement == 0);
    lc.state = RL_STATE_RANDOM;
    if (m32) CHECK_OK(rl_lyapunov_ex(m32, NULL, 0, &lc, ex, NULL, &info));
    CHECK(info.stationary == 0 && info.displacement > 0);
    rl_model_free(m32);
}

/* ------------------------------------------------------------------ 12: progress and Ctrl-C */

static char *cli_stderr(void)
{
    size_t n = 0;
    return (char *)read_file(tmp_path("cli.stderr"), &n);
}

/* Progress goes to stderr only on a terminal or with --progress (never in
 * a test's output otherwise, never on stdout); --quiet and --progress
 * together are a usage error. */
TEST(ux_progress_where_asked)
{
    const char *g[] = {"rnnlab", "gradcheck", "--hidden", "4", "--steps", "5", "--progress", NULL};
    const char *gq[] = {"rnnlab", "gradcheck", "--hidden", "4", "--steps", "5", NULL};
    CHECK(run_cli(g, NULL, NULL, 0, NULL, 0) == 0);
    char *err = cli_stderr();
    CHECK_MSG(err && strstr(err, "rnnlab gradcheck: finite differences, element 0 of "), "%s", err ? err : "");
    free(err);
    CHECK(run_cli(gq, NULL, NULL, 0, NULL, 0) == 0 && run_cli_err_lines() == 0);
    const char *ly[] = {"rnnlab", "lyapunov", "--model", M, "--steps", "600", "--progress", "--out", "-", NULL};
    CHECK(run_cli(ly, NULL, NULL, 0, NULL, 0) == 0);
    err = cli_stderr();
    CHECK(err && strstr(err, "rnnlab lyapunov: QR steps "));
    free(err);
    cJSON *j = stdout_json(); /* and stdout is the JSON alone */
    CHECK(cJSON_IsObject(j));
    cJSON_Delete(j);
    const char *ja[] = {"rnnlab", "jacobian", "--model", M, "--data", D, "--progress", "--out", tmp_path("pj.st"), NULL};
    CHECK(run_cli(ja, NULL, NULL, 0, NULL, 0) == 0);
    err = cli_stderr();
    CHECK(err && strstr(err, "rnnlab jacobian: Jacobian products, lag 0 of "));
    free(err);
    const char *sp[] = {"rnnlab", "spectrum", "--model", M, "--data", D, "--progress", "--out", tmp_path("ps.json"), NULL};
    CHECK(run_cli(sp, NULL, NULL, 0, NULL, 0) == 0);
    err = cli_stderr();
    CHECK(err && strstr(err, "rnnlab spectrum: step spectra, t 0 of "));
    free(err);
    const char *both[][12] = {
        {"rnnlab", "gradcheck", "--progress", "--quiet", NULL},
        {"rnnlab", "lyapunov", "--model", M, "--steps", "5", "--progress", "--quiet", "--out", tmp_path("x.json")},
        {"rnnlab", "train", "--task", "adding", "--progress", "--quiet", "--out", tmp_path("pq"), NULL},
        {"rnnlab", "demo", "--quick", "--progress", "--quiet", NULL},
    };
    for (int i = 0; i < 4; i++) {
        char e[512];
        CHECK_MSG(run_cli(both[i], NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "contradict"), "%s", e);
    }
}

/* Ctrl-C in a long command: a line, status 130, no output and no temporary
 * file; in the demo, the figures made so far, no report.html or its
 * temporary, and a training run stopped with its checkpoint and model. */
TEST(ux_ctrl_c_stops_cleanly)
{
    const char *dir = tmp_path("ctrl-c");
    CHECK(mkdir(dir, 0755) == 0);
    const char *m = tmp_path("ctrl-c/m.st"), *out = tmp_path("ctrl-c/l.json");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--input", "1", "--hidden", "96", "--output", "1", "--init",
                          "gaussian", "--gain", "3", "--zero-bias", "--out", m, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    const char *ly[] = {"rnnlab", "lyapunov", "--model", m, "--steps", "100000000", "--out", out, NULL};
    CHECK(run_cli_signal(ly, 1.0, SIGINT) == 130);
    const char *gc[] = {"rnnlab", "gradcheck", "--cell", "lstm", "--hidden", "64", "--steps", "200", NULL};
    CHECK(run_cli_signal(gc, 1.0, SIGINT) == 130);
    /* nothing but the model in the folder and lyapunov's exponents so far, marked partial (issue 28): no
     * temporary, nothing of gradcheck */
    DIR *d = opendir(dir);
    int others = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        others += e->d_name[0] != '.' && strcmp(e->d_name, "m.st") != 0 && strcmp(e->d_name, "l.json") != 0;
    if (d) closedir(d);
    CHECK(others == 0);
    size_t nl = 0;
    char *lj = (char *)read_file(out, &nl);
    cJSON *lo = lj ? cJSON_Parse(lj) : NULL;
    CHECK_MSG(!lj || cJSON_IsTrue(cJSON_GetObjectItem(lo, "partial")), "%s", lj);
    cJSON_Delete(lo);
    free(lj);
    /* the demo (in full: it runs long enough to be stopped in its training part or before) */
    const char *demo_dir = tmp_path("ctrl-c-demo");
    const char *demo[] = {"rnnlab", "demo", "--out", demo_dir, NULL};
    CHECK(run_cli_signal(demo, 2.5, SIGINT) == 130);
    size_t n = 0;
    unsigned char *page = read_file(tmp_path("ctrl-c-demo/report.html"), &n), *tmp = read_file(tmp_path("ctrl-c-demo/report.html.tmp"), &n),
                  *fig = read_file(tmp_path("ctrl-c-demo/linear-eigen.png"), &n);
    CHECK(!page && !tmp && fig);
    free(page), free(tmp), free(fig);
    /* a training run the demo started has its model */
    const char *runs[] = {"tanh-clip", "lstm-clip", "irnn-clip", "irnn-sgd-clip", "irnn-sgd-noclip"};
    for (int k = 0; k < 5; k++) {
        char p[1400], q[1400];
        snprintf(p, sizeof p, "%s/runs/%s/config.json", demo_dir, runs[k]);
        snprintf(q, sizeof q, "%s/runs/%s/model.safetensors", demo_dir, runs[k]);
        struct stat sb;
        CHECK_MSG(stat(p, &sb) != 0 || stat(q, &sb) == 0, "%s has no model", runs[k]);
    }
}

/* ------------------------------------------------------------------ 13: what training says */

/* The train progress line shows the last validation loss and the baseline,
 * the last line the validation result; a run's report opens with a summary
 * table, which --json gives too. */
TEST(ux_training_says_how_it_went)
{
    const char *run = tmp_path("said-run");
    const char *tr[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--batch", "8", "--steps", "40",
                        "--eval-every", "10", "--log-every", "10", "--progress", "--out", run, NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    char *err = cli_stderr();
    CHECK_MSG(err && strstr(err, "step 10/40  loss ") && strstr(err, "  val ") && strstr(err, "(baseline 0.1667)"), "%s", err ? err : "");
    CHECK(err && strstr(err, "rnnlab train: done, 40 steps; validation loss ") && strstr(err, ", mse "));
    free(err);
    /* without --progress (stderr is no terminal here): the first line and the last only */
    const char *tq[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "8", "--batch", "8", "--steps", "20",
                        "--out", tmp_path("quiet-run"), NULL};
    CHECK(run_cli(tq, NULL, NULL, 0, NULL, 0) == 0 && run_cli_err_lines() == 2);
    const char *rep[] = {"rnnlab", "report", run, NULL}, *rj[] = {"rnnlab", "report", run, "--json", NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    char *html = (char *)read_file(tmp_path("said-run/report.html"), &n);
    char *sum = html ? strstr(html, "<h2>Summary</h2>") : NULL, *fig = html ? strstr(html, "<figure") : NULL;
    CHECK(sum && fig && sum < fig && strstr(sum, "validation loss") && strstr(sum, "baseline") && strstr(sum, "adding, T = 10"));
    free(html);
    CHECK(run_cli(rj, NULL, NULL, 0, NULL, 0) == 0);
    cJSON *j = stdout_json();
    CHECK(fabs(jnum(j, "baseline") - 1.0 / 6) < 1e-12 && jnum(j, "steps") == 40 && jnum(j, "tokens_per_s") > 0 &&
          jnum(j, "clipped") >= 0 && jnum(j, "skipped") == 0 && jnum(j, "last_val_loss") > 0);
    cJSON_Delete(j);
}

/* The library's side of item 8, in this process (so that valgrind sees it):
 * a model from a FIFO that goes on with zeros is read as far as its header
 * says; /dev/zero as a model and as a text stops at once. */
TEST(ux_stream_reads_in_process)
{
    const char *fifo = tmp_path("inproc.fifo");
    pid_t w = model_fifo(fifo);
    if (w < 0) return;
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, fifo, RL_F32));
    CHECK(m && rl_model_config(m).cell == RL_CELL_TANH);
    rl_model_free(m);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    m = NULL;
    CHECK(rl_model_load(&m, "/dev/zero", RL_F32) == RL_ERR_FORMAT && !m);
    rl_task *t = NULL;
    CHECK(rl_task_new(&t, RL_TASK_TEXT, 10, "/dev/zero") == RL_ERR_FORMAT && !t && strstr(rl_errmsg(), "NUL byte"));
}
