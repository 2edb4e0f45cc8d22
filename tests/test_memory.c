/* Memory said before it runs out (issue 28, item 1): the library's
 * estimates of what its objects allocate, held to what rl_alloc counts; the
 * limit read from the memory available, RLIMIT_AS, the cgroup and
 * RNNLAB_MEMORY_LIMIT; the commands that refuse in one line what cannot fit,
 * and --dry-run. The tolerance: an object's estimate within 2% (plus 512
 * bytes) of what it allocates; a whole training run's peak within 5%. */
#include "test.h"

#include "base/internal.h"

#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static double held(void)
{
    size_t now;
    rl_debug_alloc_stats(&now, NULL);
    return (double)now;
}

/* The most held since the last reset, less base. */
static double peak_since(double base)
{
    size_t peak;
    rl_debug_alloc_stats(NULL, &peak);
    return (double)peak - base;
}

static int close_to(double got, double want, double rel, double abs_)
{
    return fabs(got - want) <= rel * want + abs_;
}

TEST(memory_model_and_workspace_bytes)
{
    for (int cell = 0; cell < RL_CELL_COUNT; cell++)
        for (int dt = 0; dt < 2; dt++) {
            rl_config c = {.cell = (rl_cell)cell, .input_size = 3, .hidden_size = 24, .num_layers = 2, .output_size = 5,
                           .loss = RL_LOSS_CE};
            rl_orth orth = cell == RL_CELL_TANH && dt ? RL_ORTH_EXP : RL_ORTH_NONE;
            rl_model *m = NULL;
            rl_ws *ws = NULL;
            double a = held();
            CHECK_OK(rl_model_new_orth(&m, &c, (rl_dtype)dt, orth));
            double b = held();
            CHECK_OK(rl_ws_new(&ws, m, 7, 13));
            double w = held() - b, we = rl_ws_bytes(&c, orth, (rl_dtype)dt, 7, 13), me = rl_model_bytes(&c, orth, (rl_dtype)dt);
            CHECK_MSG(close_to(b - a, me, 0.02, 512), "%s %s: the model allocates %.0f bytes, estimated %.0f",
                      rl_cell_name(c.cell), rl_dtype_name((rl_dtype)dt), b - a, me);
            CHECK_MSG(close_to(w, we, 0.02, 512), "%s %s: the workspace allocates %.0f bytes, estimated %.0f",
                      rl_cell_name(c.cell), rl_dtype_name((rl_dtype)dt), w, we);
            rl_ws_free(ws);
            rl_model_free(m);
        }
    /* sizes that are not a model's are 0 */
    rl_config bad = {.cell = RL_CELL_TANH, .input_size = 0, .hidden_size = 4, .num_layers = 1, .output_size = 1};
    CHECK(rl_ws_bytes(&bad, RL_ORTH_NONE, RL_F32, 1, 1) == 0 && rl_model_bytes(&bad, RL_ORTH_NONE, RL_F32) == 0);
}

TEST(memory_jacobian_and_lyapunov_bytes)
{
    const rl_cell cells[3] = {RL_CELL_TANH, RL_CELL_LSTM, RL_CELL_LRU};
    for (int k = 0; k < 3; k++) {
        rl_config c = {.cell = cells[k], .input_size = 2, .hidden_size = 40, .num_layers = 1, .output_size = 1,
                       .loss = RL_LOSS_MSE};
        rl_model *m = NULL;
        rl_data *d = NULL;
        CHECK_OK(rl_model_new(&m, &c, RL_F32));
        CHECK_OK(rl_model_init(m, &(rl_init){.kind = RL_INIT_UNIFORM}, 1));
        CHECK_OK(rl_data_random(&d, m, 1, 60, RL_F32, 0, 0, 2));
        if (!m || !d) continue;
        rl_jac *j = NULL;
        double base = held();
        rl_debug_alloc_peak_reset();
        CHECK_OK(rl_jac_new(&j, m, rl_data_batch(d), 0));
        const int S = rl_state_size(m);
        double *buf = calloc((size_t)61 * 3, sizeof *buf), scale = 0;
        rl_lag_stats st = {.log_norm = buf, .log_fro = buf + 61, .log_grad_state = buf + 122, .P_log_scale = &scale};
        if (j) CHECK_OK(rl_jac_lags(j, &st));
        double got = peak_since(base), want = rl_jac_bytes(&c, RL_ORTH_NONE, 60);
        CHECK_MSG(close_to(got, want, 0.02, 512), "%s: the Jacobians allocate %.0f bytes, estimated %.0f",
                  rl_cell_name(c.cell), got, want);
        rl_jac_free(j);
        free(buf);
        /* the Lyapunov spectrum: its peak during the run */
        rl_lyap_config lc = {.steps = 300, .transient = 10, .k = S, .input = RL_INPUT_ZEROS, .state = RL_STATE_RANDOM,
                             .seed = 3};
        double *ex = calloc((size_t)S, sizeof *ex);
        base = held();
        rl_debug_alloc_peak_reset();
        CHECK_OK(rl_lyapunov_ex(m, NULL, 0, &lc, ex, NULL, NULL));
        got = peak_since(base), want = rl_lyapunov_bytes(&c, RL_ORTH_NONE, &lc);
        CHECK_MSG(close_to(got, want, 0.02, 512), "%s: the Lyapunov spectrum allocates %.0f bytes, estimated %.0f",
                  rl_cell_name(c.cell), got, want);
        free(ex);
        rl_data_free(d);
        rl_model_free(m);
    }
}

/* A training run's peak (rl_trainer_new and a run with every record:
 * metrics, validation, flow, checkpoints) against rl_train_estimate. */
TEST(memory_training_run_estimate)
{
    struct {
        rl_cell cell;
        int hidden, layers, batch, T;
        double dropout, omega;
        int floss, block_sum;
        rl_orth orth;
        rl_optim_kind optim;
    } runs[] = {
        {RL_CELL_TANH, 64, 1, 32, 50, 0, 0, 0, 0, RL_ORTH_NONE, RL_OPT_ADAM},
        {RL_CELL_LSTM, 48, 2, 20, 40, 0.3, 0, 0, 0, RL_ORTH_NONE, RL_OPT_SGD},
        {RL_CELL_GRU, 40, 1, 24, 30, 0, 0.5, 0, 0, RL_ORTH_NONE, RL_OPT_RMSPROP},
        {RL_CELL_TANH, 48, 1, 16, 30, 0, 0, 0, 0, RL_ORTH_EXP, RL_OPT_ADAM},
        {RL_CELL_TANH, 32, 1, 40, 30, 0, 0, 0, 1, RL_ORTH_NONE, RL_OPT_ADAM},
        {RL_CELL_TANH, 24, 1, 8, 30, 0, 0, 4, 0, RL_ORTH_NONE, RL_OPT_ADAM},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        rl_train_config c = rl_train_defaults();
        c.task = RL_TASK_ADDING, c.seq_len = runs[i].T, c.cell = runs[i].cell, c.hidden = runs[i].hidden;
        c.layers = runs[i].layers, c.batch = runs[i].batch, c.dropout = runs[i].dropout, c.omega = runs[i].omega;
        c.floss = runs[i].floss, c.floss_steps = 2, c.floss_every = runs[i].floss ? 2 : 0, c.block_sum = runs[i].block_sum;
        c.orthogonal = runs[i].orth, c.optim = rl_optim_defaults(runs[i].optim), c.optim.momentum = 0.9;
        c.steps = 3, c.log_every = 1, c.eval_every = 1, c.eval_batches = 2, c.flow_every = 1, c.ckpt_every = 2;
        rl_train_cost e;
        CHECK_OK(rl_train_estimate(&c, 0, &e));
        CHECK(isnan(e.seconds) && e.ws_bytes == rl_ws_bytes(&(rl_config){.cell = c.cell, .input_size = 2,
                                                                            .hidden_size = c.hidden, .num_layers = c.layers,
                                                                            .output_size = 1, .loss = RL_LOSS_MSE},
                                                              c.orthogonal, RL_F32, c.batch, c.seq_len));
        char dir[64];
        snprintf(dir, sizeof dir, "mem-run-%zu", i);
        double base = held();
        rl_debug_alloc_peak_reset();
        rl_trainer *t = NULL;
        int stop = 0, interrupted = 0;
        CHECK_OK(rl_trainer_new(&t, &c, tmp_path(dir)));
        if (t) CHECK_OK(rl_trainer_run(t, &stop, &interrupted, NULL, NULL));
        rl_trainer_free(t);
        double got = peak_since(base);
        CHECK_MSG(close_to(got, e.bytes, 0.05, 0), "run %zu (%s): the peak is %.0f bytes, estimated %.0f (%+.1f%%)", i,
                  rl_cell_name(c.cell), got, e.bytes, 100 * (e.bytes / got - 1));
    }
}

TEST(memory_limit_sources)
{
    /* RNNLAB_MEMORY_LIMIT, less what rnnlab holds */
    setenv("RNNLAB_MEMORY_LIMIT", "3G", 1);
    rl_mem_limit l = rl_memory_limit();
    CHECK(strcmp(l.what, "RNNLAB_MEMORY_LIMIT") == 0 && l.bytes <= 3.0 * (1 << 30) && l.bytes > 2.9 * (1 << 30));
    CHECK(rl_memory_check(2.0 * (1 << 30), "two") == RL_OK);
    CHECK(rl_memory_check(4.0 * (1 << 30), "four") == RL_ERR_NOMEM);
    CHECK_MSG(strstr(rl_errmsg(), "four needs about 4.00 GiB of memory; RNNLAB_MEMORY_LIMIT leaves") != NULL, "%s",
              rl_errmsg());
    setenv("RNNLAB_MEMORY_LIMIT", "50M", 1); /* with it set, small requests are checked too */
    CHECK(held() < 40e6 && rl_memory_check(60e6, "x") == RL_ERR_NOMEM && rl_memory_check(1e6, "x") == RL_OK);
    setenv("RNNLAB_MEMORY_LIMIT", "lots", 1); /* unreadable: not a limit */
    CHECK(strcmp(rl_memory_limit().what, "RNNLAB_MEMORY_LIMIT") != 0);
    unsetenv("RNNLAB_MEMORY_LIMIT");
    /* without it, small requests are never refused, and the machine's available memory is a limit */
    CHECK(rl_memory_check(1e6, "small") == RL_OK);
    l = rl_memory_limit();
    CHECK(l.bytes > 0 && l.what[0]);
    /* RLIMIT_AS, less what the process maps: in a child, whose limit is its own */
    int fd[2];
    CHECK(pipe(fd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit r = {(rlim_t)1 << 34, (rlim_t)1 << 34}; /* 16 GiB, of which the process maps some */
        rl_mem_limit lc = {0, ""};
        if (setrlimit(RLIMIT_AS, &r) == 0) lc = rl_memory_limit();
        ssize_t w = write(fd[1], &lc, sizeof lc);
        _exit(w == sizeof lc ? 0 : 1);
    }
    rl_mem_limit lc = {0, ""};
    CHECK(read(fd[0], &lc, sizeof lc) == sizeof lc);
    close(fd[0]), close(fd[1]);
    waitpid(pid, NULL, 0);
    /* the least of the limits: the address space's unless the machine has less available */
    CHECK_MSG(lc.bytes < 16.0 * (1 << 30) && (strcmp(lc.what, "the address-space limit (ulimit -v)") == 0 || lc.bytes < l.bytes * 1.01),
              "%g %s", lc.bytes, lc.what);
}

/* cgroup v2 and v1 files of our own: the least room over the cgroup and its parents. */
TEST(memory_limit_cgroup)
{
    char root[1100], p[1400];
    snprintf(root, sizeof root, "%s/cg", test_tmpdir);
    const char *dirs[] = {"", "/a", "/a/b", "/memory", "/memory/x"};
    for (int i = 0; i < 5; i++) snprintf(p, sizeof p, "%s%s", root, dirs[i]), mkdir(p, 0755);
    struct {
        const char *file, *text;
    } files[] = {{"/a/memory.max", "1000000\n"}, {"/a/memory.current", "200000\n"}, {"/a/b/memory.max", "max\n"},
                 {"/a/b/memory.current", "100000\n"}, {"/memory/x/memory.limit_in_bytes", "500000\n"},
                 {"/memory/x/memory.usage_in_bytes", "100000\n"}, {"/memory/memory.limit_in_bytes", "9223372036854771712\n"},
                 {"/memory/memory.usage_in_bytes", "5\n"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s%s", root, files[i].file);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        if (f) fputs(files[i].text, f), fclose(f);
    }
    const char *v2 = write_tmp("cgroup-v2", "0::/a/b\n", 8);
    CHECK_MSG(rl_cgroup_room(v2, root) == 800000, "v2: %g", rl_cgroup_room(v2, root));
    const char *v1 = write_tmp("cgroup-v1", "5:cpu:/\n4:memory:/x\n0::/\n", 25);
    CHECK_MSG(rl_cgroup_room(v1, root) == 400000, "v1: %g", rl_cgroup_room(v1, root));
    const char *none = write_tmp("cgroup-none", "0::/nowhere\n", 12);
    CHECK(isinf(rl_cgroup_room(none, root)));
}

/* The command, and the others that allocate by the user's sizes:
 * one line with the estimate and the limit, and no folder or file left. */
TEST(memory_commands_refuse_in_one_line)
{
    char run[1100], err[600];
    snprintf(run, sizeof run, "%s/mem-refused", test_tmpdir);
    setenv("RNNLAB_MEMORY_LIMIT", "2G", 1);
    const char *big[] = {"rnnlab", "train", "--task", "adding", "--steps", "5", "--hidden", "8", "--batch", "1000000",
                         "--out", run, NULL};
    int rc = run_cli(big, NULL, NULL, 0, err, sizeof err);
    struct stat sb;
    CHECK_MSG(rc == 1 && run_cli_err_lines() == 1 && strstr(err, "needs about") && strstr(err, "--batch 1000000") &&
                  strstr(err, "RNNLAB_MEMORY_LIMIT leaves"),
              "rc %d, %d lines: %s", rc, run_cli_err_lines(), err);
    CHECK(stat(run, &sb) != 0);
    /* the other side of the limit */
    const char *small[] = {"rnnlab", "train", "--task", "adding", "--steps", "2", "--hidden", "8", "--batch", "1000",
                           "--quiet", "--out", run, NULL};
    CHECK(run_cli(small, NULL, NULL, 0, err, sizeof err) == 0);
    char model[1300];
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    const char *longdata = tmp_path("mem-long.safetensors");
    const char *mkdata[] = {"rnnlab", "data", "--model", model, "--steps", "100000", "--out", longdata, NULL};
    CHECK(run_cli(mkdata, NULL, NULL, 0, NULL, 0) == 0);
    setenv("RNNLAB_MEMORY_LIMIT", "20M", 1);
    const char *out = tmp_path("mem-out.safetensors");
    const char *cmds[][16] = {
        {"rnnlab", "eval", "--model", model, "--batch", "100000", NULL},
        {"rnnlab", "data", "--model", model, "--steps", "10000", "--batch", "1000", "--out", out, NULL},
        {"rnnlab", "jacobian", "--model", model, "--data", longdata, "--out", out, NULL},
        {"rnnlab", "lyapunov", "--model", model, "--steps", "10000000", "--trace-every", "1", "--out", out, NULL},
        {"rnnlab", "gradcheck", "--cell", "lstm", "--hidden", "256", "--layers", "8", NULL},
        {"rnnlab", "init", "--cell", "lstm", "--hidden", "2048", "--input", "2", "--output", "1", "--out", out, NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        unlink(out);
        rc = run_cli(cmds[i], NULL, NULL, 0, err, sizeof err);
        CHECK_MSG(rc == 1 && run_cli_err_lines() == 1 && strstr(err, "needs about") && strstr(err, "RNNLAB_MEMORY_LIMIT"),
                  "rnnlab %s: rc %d, %d lines: %s", cmds[i][1], rc, run_cli_err_lines(), err);
        CHECK_MSG(stat(out, &sb) != 0, "rnnlab %s left %s", cmds[i][1], out);
    }
    unsetenv("RNNLAB_MEMORY_LIMIT");
}

/* --dry-run: the estimate on stdout, exit 0, nothing made; a run that does not fit says so. */
TEST(memory_dry_run)
{
    char run[1100], outl[600], err[600];
    snprintf(run, sizeof run, "%s/mem-dry", test_tmpdir);
    const char *fits[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "20", "--hidden", "16", "--steps", "50",
                          "--dry-run", "--out", run, NULL};
    CHECK(run_cli(fits, NULL, outl, sizeof outl, err, sizeof err) == 0);
    size_t n = 0;
    char *o = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK_MSG(o && strstr(o, "memory  about") && strstr(o, "it fits") && strstr(o, "time    about") &&
                  strstr(o, "50 steps of"),
              "%s", o ? o : "");
    free(o);
    struct stat sb;
    CHECK(stat(run, &sb) != 0);
    setenv("RNNLAB_MEMORY_LIMIT", "1G", 1);
    const char *big[] = {"rnnlab", "train", "--task", "adding", "--batch", "1000000", "--dry-run", NULL};
    CHECK(run_cli(big, NULL, NULL, 0, err, sizeof err) == 0);
    o = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK_MSG(o && strstr(o, "it does NOT fit") && strstr(o, "time    not measured"), "%s", o ? o : "");
    free(o);
    unsetenv("RNNLAB_MEMORY_LIMIT");
    /* jacobian and lyapunov: the estimate, and no file */
    const char *model = tmp_path("mem-dry.safetensors"), *jout = tmp_path("mem-dry-j.safetensors");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--hidden", "16", "--input", "2", "--output", "1", "--out",
                          model, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    const char *data[] = {"rnnlab", "data", "--model", model, "--steps", "40", "--out", tmp_path("mem-dry-d.safetensors"),
                          NULL};
    CHECK(run_cli(data, NULL, NULL, 0, NULL, 0) == 0);
    const char *jac[] = {"rnnlab", "jacobian", "--model", model, "--data", tmp_path("mem-dry-d.safetensors"), "--out", jout,
                         "--dry-run", NULL};
    const char *lya[] = {"rnnlab", "lyapunov", "--model", model, "--steps", "500", "--out", jout, "--dry-run", NULL};
    for (int k = 0; k < 2; k++) {
        CHECK(run_cli(k ? lya : jac, NULL, NULL, 0, NULL, 0) == 0);
        o = (char *)read_file(tmp_path("cli.stdout"), &n);
        CHECK_MSG(o && strstr(o, "memory  about") && strstr(o, "time    about"), "%s", o ? o : "");
        free(o);
        CHECK(stat(jout, &sb) != 0);
    }
}

/* jacobian --lags: the norms and radii at those lags alone (NaN elsewhere),
 * the same numbers as without it. */
TEST(jacobian_lags_skip_the_rest)
{
    const char *model = tmp_path("lags-m.safetensors"), *data = tmp_path("lags-d.safetensors");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--hidden", "12", "--input", "2", "--output", "1", "--out",
                          model, NULL};
    const char *dat[] = {"rnnlab", "data", "--model", model, "--steps", "30", "--out", data, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0 && run_cli(dat, NULL, NULL, 0, NULL, 0) == 0);
    const char *all[] = {"rnnlab", "jacobian", "--model", model, "--data", data, "--out", tmp_path("lags-all.safetensors"),
                         NULL};
    const char *some[] = {"rnnlab", "jacobian", "--model", model, "--data", data, "--lags", "3,17", "--out",
                          tmp_path("lags-some.safetensors"), NULL};
    CHECK(run_cli(all, NULL, NULL, 0, NULL, 0) == 0 && run_cli(some, NULL, NULL, 0, NULL, 0) == 0);
    rl_st *a = NULL, *b = NULL;
    CHECK_OK(rl_st_open(&a, tmp_path("lags-all.safetensors")));
    CHECK_OK(rl_st_open(&b, tmp_path("lags-some.safetensors")));
    double na[31], nb[31], ra[31], rb[31], fa[31], fb[31];
    if (a && b) {
        CHECK_OK(rl_st_read_f64(a, "lag_log_norm", na, 31));
        CHECK_OK(rl_st_read_f64(b, "lag_log_norm", nb, 31));
        CHECK_OK(rl_st_read_f64(a, "lag_log_radius", ra, 31));
        CHECK_OK(rl_st_read_f64(b, "lag_log_radius", rb, 31));
        CHECK_OK(rl_st_read_f64(a, "lag_log_fro", fa, 31));
        CHECK_OK(rl_st_read_f64(b, "lag_log_fro", fb, 31));
        for (int tau = 0; tau <= 30; tau++) {
            int lag = 30 - tau, asked = lag == 0 || lag == 3 || lag == 17;
            /* the norms by Lanczos from the last lag computed: equal to its accuracy (1e-12 in the log) */
            CHECK_MSG(asked ? fabs(nb[tau] - na[tau]) <= 1e-10 && rb[tau] == ra[tau] : isnan(nb[tau]) && isnan(rb[tau]),
                      "lag %d: %g %g against %g %g", lag, nb[tau], rb[tau], na[tau], ra[tau]);
            CHECK(fb[tau] == fa[tau]); /* the Frobenius norm costs nothing: at every lag */
        }
    }
    rl_st_close(a), rl_st_close(b);
    /* the table lists the lags asked for */
    char out[200];
    CHECK(run_cli(some, NULL, out, sizeof out, NULL, 0) == 0);
    size_t n = 0;
    char *o = (char *)read_file(tmp_path("cli.stdout"), &n);
    CHECK(o && strstr(o, "\n    17 ") && !strstr(o, "\n    10 "));
    free(o);
}

/* A stopped Lyapunov run keeps its exponents: those of the steps measured,
 * the same as a run of exactly that many steps. */
static int stops_at;
static int stop_hook(void *ctx, const char *what, double done, double total)
{
    (void)ctx, (void)what, (void)total;
    return done >= stops_at;
}

TEST(lyapunov_stopped_keeps_its_exponents)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = 10, .num_layers = 1, .output_size = 1,
                   .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    CHECK_OK(rl_model_init(m, &(rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 1.5}, 4));
    rl_lyap_config lc = {.steps = 5000, .transient = 20, .k = 10, .input = RL_INPUT_ZEROS, .state = RL_STATE_RANDOM,
                         .seed = 5, .trace_every = 100};
    double ex[10], full[10], trace[50 * 10];
    rl_lyap_info info = {0};
    stops_at = 600;
    rl_set_progress(stop_hook, NULL);
    CHECK(rl_lyapunov_ex(m, NULL, 0, &lc, ex, trace, &info) == RL_ERR_INTERRUPTED);
    rl_set_progress(NULL, NULL);
    CHECK_MSG(info.steps_done > 300 && info.steps_done < 5000 && info.traced == info.steps_done / 100, "%d steps, %d traced",
              info.steps_done, info.traced);
    lc.steps = info.steps_done;
    CHECK_OK(rl_lyapunov_ex(m, NULL, 0, &lc, full, NULL, NULL));
    for (int i = 0; i < 10; i++) CHECK_MSG(fabs(ex[i] - full[i]) < 1e-9, "exponent %d: %.17g, want %.17g", i, ex[i], full[i]);
    rl_model_free(m);
    /* the command: SIGTERM writes them, marked partial, and ends with 130 */
    const char *model = tmp_path("lyap-stop.safetensors"), *out = tmp_path("lyap-stop.json");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--hidden", "64", "--input", "1", "--output", "1", "--init",
                          "gaussian", "--gain", "1.5", "--out", model, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    const char *run[] = {"rnnlab", "lyapunov", "--model", model, "--steps", "100000000", "--transient", "0", "--out", out,
                         NULL};
    CHECK(run_cli_signal(run, 1.5, SIGTERM) == 130);
    size_t n = 0;
    char *t = (char *)read_file(out, &n);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    const cJSON *steps = cJSON_GetObjectItem(j, "steps"), *ex0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "exponents"), 0);
    CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")) && cJSON_IsNumber(steps) && steps->valuedouble > 0 &&
                  steps->valuedouble < 1e8 && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "steps_asked")) == 1e8 &&
                  cJSON_IsNumber(ex0) && cJSON_GetArraySize(cJSON_GetObjectItem(j, "exponents")) == 64,
              "%s", t ? t : "(no file)");
    cJSON_Delete(j);
    free(t);
}

/* A jacobian that will take minutes says so when it starts, with what
 * makes it shorter, and its progress line shows the time left from the
 * estimate before the rate is known ("about ... left"); Ctrl-C then stops
 * it with nothing written. S = 1024 over T = 400 steps: an SVD and an
 * eigensolve of 1024 x 1024 at each of 401 lags, minutes on any machine. */
TEST(jacobian_says_how_long_it_will_take)
{
    const char *model = tmp_path("eta-m.safetensors"), *data = tmp_path("eta-d.safetensors"), *out = tmp_path("eta-j.safetensors");
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--hidden", "1024", "--input", "1", "--output", "1", "--out",
                          model, NULL};
    const char *dat[] = {"rnnlab", "data", "--model", model, "--steps", "400", "--out", data, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0 && run_cli(dat, NULL, NULL, 0, NULL, 0) == 0);
    const char *jac[] = {"rnnlab", "jacobian", "--model", model, "--data", data, "--out", out, "--progress", NULL};
    const char *err = tmp_path("eta.stderr");
    CHECK(run_cli_signal_err(jac, 4.0, SIGINT, err) == 130);
    size_t n = 0;
    char *e = (char *)read_file(err, &n);
    CHECK_MSG(e && strstr(e, "rnnlab jacobian: this will take about ") && strstr(e, "--lags LIST takes the norms at fewer lags") &&
                  strstr(e, "Jacobian products, lag 0 of 400 (0%), 0m0") && strstr(e, "s, about "),
              "%s", e ? e : "(no stderr)");
    free(e);
    struct stat sb;
    CHECK(stat(out, &sb) != 0);
}
