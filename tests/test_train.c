/* Training: a run that learns, every cell on every task, the step hook,
 * rnnlab train/eval/sample end to end, and a text too short to validate. */
#include "train/run.h"
#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* It learns: a small LSTM solves the adding problem at T = 10, far below the baseline. */
TEST(training_learns_the_adding_problem)
{
    rl_train_config c = rl_train_defaults();
    c.seq_len = 10, c.cell = RL_CELL_LSTM, c.hidden = 16, c.batch = 32, c.steps = 400, c.sched.lr = 1e-2;
    c.eval_every = 0, c.flow_every = 200, c.ckpt_every = 0, c.seed = 4;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/learn", test_tmpdir);
    rl_trainer *t = TEST_TRAIN(&c, dir);
    rl_task *task = NULL;
    rl_score sc = {0};
    CHECK_OK(rl_task_new(&task, RL_TASK_ADDING, 10, NULL));
    if (t && task) CHECK_OK(rl_evaluate(rl_trainer_model(t), task, 100, 10, 77, &sc));
    double mse = sc.sq_err / sc.n_err;
    CHECK_MSG(mse < 0.02, "MSE %.4f after 400 steps (baseline 0.167)", mse);
    rl_task_free(task);
    rl_trainer_free(t);
}

TEST(cli_train_eval_sample)
{
    char run[1100], exist[1100], model[1200];
    snprintf(run, sizeof run, "%s/cli-text", test_tmpdir);
    snprintf(exist, sizeof exist, "%s/learn", test_tmpdir); /* may not exist: a fresh one below */
    const char *train[] = {"rnnlab", "train", "--task", "text", "--seq-len", "20", "--hidden", "8", "--batch", "4",
                           "--steps", "6", "--cell", "gru", "--log-every", "3", "--eval-batches", "2", "--quiet",
                           "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    struct { const char *argv[24]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "train", "--task", "adding", NULL}, 2, "--out RUN_DIR is required"},
        {{"rnnlab", "train", "--resume", run, "--out", run, NULL}, 2, "drop --out"},
        {{"rnnlab", "train", "--resume", run, "--hidden", "9", NULL}, 2, "--resume takes only --steps"},
        {{"rnnlab", "train", "--task", "sorting", "--out", run, NULL}, 2, "unknown task 'sorting'"},
        {{"rnnlab", "train", "--optim", "lion", "--out", run, NULL}, 2, "unknown optimizer 'lion'"},
        {{"rnnlab", "train", "--schedule", "linear", "--out", run, NULL}, 2, "unknown schedule 'linear'"},
        {{"rnnlab", "train", "--on-nonfinite", "pray", "--out", run, NULL}, 2, "stop or skip"},
        {{"rnnlab", "train", "--task", "adding", "--data", model, "--out", run, NULL}, 2, "--data is for --task text"},
        {{"rnnlab", "train", "--forget-bias", "1", "--out", run, NULL}, 2, "cells with a forget gate"},
        {{"rnnlab", "train", "--nesterov", "--out", run, NULL}, 2, "--nesterov needs"},
        {{"rnnlab", "train", "--lr", "-1", "--out", run, NULL}, 2, "out of range"},
        {{"rnnlab", "train", "--dropout", "1", "--out", run, NULL}, 2, "out of range"},
        {{"rnnlab", "train", "--task", "adding", "--k1", "5", "--out", tmp_path("k1run"), NULL}, 2, "for the text task"},
        {{"rnnlab", "train", "--task", "adding", "--seq-len", "1", "--out", tmp_path("t1run"), NULL}, 2, "out of range"},
        {{"rnnlab", "train", "--task", "text", "--out", run, NULL}, 2, "already holds a run"},
        {{"rnnlab", "train", "--resume", tmp_path("no-run"), NULL}, 1, "no-run/checkpoint.safetensors: cannot open"},
        {{"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--hidden", "4", "--batch", "2", "--steps", "9",
          "--inject-nan-at", "4", "--quiet", "--out", tmp_path("nanrun"), NULL},
         1, "step 4: the gradient norm is nan"},
        {{"rnnlab", "eval", "--model", fixture("tanh_l1_ce.model.safetensors"), NULL}, 2, "--task is required"},
        {{"rnnlab", "eval", "--model", model, "--task", "adding", NULL}, 2, "does not fit the task adding"},
        {{"rnnlab", "eval", "--model", model, "--task", "adding", "--data", model, NULL}, 2, "--data is for --task text"},
        {{"rnnlab", "sample", "--model", model, "--temperature", "0", NULL}, 2, "out of range"},
        {{"rnnlab", "sample", "--model", model, "--prime", "\xc3\xa9t\xc3\xa9", NULL}, 2, "is not in the model's vocabulary"},
        {{"rnnlab", "sample", "--model", fixture("tanh_l1_ce.model.safetensors"), NULL}, 1, "no vocabulary"},
        {{"rnnlab", "train", "--help", NULL}, 0, "usage: rnnlab train"},
        {{"rnnlab", "eval", "--help", NULL}, 0, "usage: rnnlab eval"},
        {{"rnnlab", "sample", "--help", NULL}, 0, "usage: rnnlab sample"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char o[512], e[512];
        int st = run_cli(cases[i].argv, NULL, o, sizeof o, e, sizeof e);
        const char *where = cases[i].status ? e : o;
        if (cases[i].status == 1 && strstr(e, "rnnlab train: task") == e) { /* a run that starts, then fails */
            size_t n = 0;
            unsigned char *all = read_file(tmp_path("cli.stderr"), &n);
            CHECK_MSG(all && strstr((char *)all, cases[i].frag), "case %zu: stderr lacks '%s'", i, cases[i].frag);
            free(all);
            CHECK(st == 1);
            continue;
        }
        CHECK_MSG(st == cases[i].status, "case %zu (%s %s): exit %d, want %d (%s)", i, cases[i].argv[1], cases[i].argv[2], st,
                  cases[i].status, e);
        CHECK_MSG(strstr(where, cases[i].frag) != NULL, "case %zu: '%s' lacks '%s'", i, where, cases[i].frag);
        if (cases[i].status) CHECK_MSG(run_cli_err_lines() == 1, "case %zu: %d lines on stderr", i, run_cli_err_lines());
    }
    /* eval --json: one object with the fields scripts rely on */
    const char *ev[] = {"rnnlab", "eval", "--model", model, "--task", "text", "--seq-len", "20", "--json", NULL};
    char line[1024];
    CHECK(run_cli(ev, NULL, line, sizeof line, NULL, 0) == 0);
    CHECK_MSG(strstr(line, "\"loss\":") && strstr(line, "\"bpc\":") && strstr(line, "\"perplexity\":") &&
                  strstr(line, "\"accuracy\":"), "eval --json: %s", line);
    /* sample: the prime, then the requested number of characters from the vocabulary */
    const char *sa[] = {"rnnlab", "sample", "--model", model, "--prime", "It is", "--len", "30", "--top-k", "5",
                        "--seed", "3", NULL};
    CHECK(run_cli(sa, NULL, line, sizeof line, NULL, 0) == 0);
    size_t n = 0;
    unsigned char *all = read_file(tmp_path("cli.stdout"), &n);
    CHECK_MSG(all && n >= 5 + 30 + 1 && memcmp(all, "It is", 5) == 0, "sample printed %zu bytes", n);
    free(all);
}

/* Every cell trains on every task: a few steps each, finite losses, a model
 * that evaluates. */
TEST(every_cell_on_every_task)
{
    for (int k = 0; k < RL_TASK_COUNT; k++)
        for (int c = 0; c < RL_CELL_COUNT; c++) {
            /* the tasks of a user's data need files: tests/test_datatask.c trains every cell on them */
            if (k == RL_TASK_DATA || k == RL_TASK_SMNIST || k == RL_TASK_PSMNIST) continue;
            rl_train_config cfg = rl_train_defaults();
            cfg.task = (rl_task_kind)k, cfg.cell = (rl_cell)c, cfg.seq_len = 20, cfg.hidden = 6, cfg.layers = 2;
            cfg.batch = 3, cfg.steps = 4, cfg.log_every = 2, cfg.eval_every = 0, cfg.eval_batches = 1;
            cfg.flow_every = 2, cfg.ckpt_every = 0, cfg.seed = (uint64_t)(10 * k + c);
            char dir[1200];
            snprintf(dir, sizeof dir, "%s/every-%s-%s", test_tmpdir, rl_task_name(cfg.task), rl_cell_name(cfg.cell));
            rl_trainer *t = NULL;
            int intr = 0;
            rl_status s = rl_trainer_new(&t, &cfg, dir);
            if (!s) s = rl_trainer_run(t, NULL, &intr, NULL, NULL);
            CHECK_MSG(s == RL_OK && t && rl_trainer_step(t) == 4, "%s on %s: %s", rl_cell_name(cfg.cell),
                      rl_task_name(cfg.task), rl_errmsg());
            rl_trainer_free(t);
        }
}

typedef struct {
    int calls, bad;
    double lambda;   /* l2: add lambda p to the gradient, lambda/2 |p|^2 to the loss */
    double add_loss; /* added to the loss */
    int zero;        /* zero the gradient */
    int fail_at;     /* return fail_status at this step (1-based) */
    rl_status fail_status;
} hook_ctx;

static rl_status test_hook(void *ctx, rl_trainer *t, rl_model *m, rl_ws *ws, const rl_batch *b, double *loss)
{
    hook_ctx *h = ctx;
    h->calls++;
    rl_train_config c = rl_trainer_config(t);
    h->bad += rl_trainer_step(t) != h->calls - 1 || b->batch != c.batch || m != (rl_model *)rl_trainer_model(t);
    if (h->fail_at == h->calls) return rl_fail(h->fail_status, "the hook says no at step %d", h->calls);
    float *g = rl_ws_grad(ws);
    const float *p = rl_model_params_const(m);
    size_t n = rl_model_num_params(m);
    double sq = 0;
    for (size_t i = 0; i < n; i++) {
        if (h->zero) g[i] = 0;
        g[i] += (float)(h->lambda * p[i]);
        sq += (double)p[i] * p[i];
    }
    *loss += h->add_loss + 0.5 * h->lambda * sq;
    return RL_OK;
}

typedef struct {
    double loss_sum;
    int64_t skipped;
} seen_progress;

static void note_progress(const rl_progress *p, void *ctx)
{
    seen_progress *s = ctx;
    s->loss_sum += p->loss;
    s->skipped = p->skipped;
}

/* Train c with hook h (NULL: none); the parameters after it, the sum of the
 * reported losses, the status. */
static rl_status train_with(rl_train_config c, hook_ctx *h, const char *name, float *params, size_t n, seen_progress *sp)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/hook-%s", test_tmpdir, name);
    rl_trainer *t = NULL;
    int intr = 0;
    rl_status s = rl_trainer_new(&t, &c, dir);
    if (!s && h) rl_trainer_set_hook(t, test_hook, h);
    if (!s) s = rl_trainer_run(t, NULL, &intr, note_progress, sp);
    if (t && rl_model_num_params(rl_trainer_model(t)) == n) memcpy(params, rl_model_params_const(rl_trainer_model(t)), n * 4);
    rl_trainer_free(t);
    return s;
}

TEST(step_hook_acts_on_each_step)
{
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_LSTM);
    c.steps = 12, c.log_every = 4, c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0, c.dropout = 0, c.clip = 0;
    c.optim = rl_optim_defaults(RL_OPT_SGD), c.sched.lr = 0.1;
    /* the parameters it starts from */
    rl_trainer *t0 = NULL;
    CHECK_OK(rl_trainer_new(&t0, &c, tmp_path("hook-init")));
    if (!t0) return;
    const size_t n = rl_model_num_params(rl_trainer_model(t0));
    float *p0 = malloc(n * 4), *pa = malloc(n * 4), *pb = malloc(n * 4);
    memcpy(p0, rl_model_params_const(rl_trainer_model(t0)), n * 4);
    rl_trainer_free(t0);
    /* a gradient zeroed by the hook: SGD leaves every parameter as it was */
    hook_ctx zero = {.zero = 1};
    seen_progress sp0 = {0}, sp1 = {0};
    CHECK_OK(train_with(c, &zero, "zero", pa, n, &sp0));
    CHECK(zero.calls == 12 && zero.bad == 0);
    CHECK(memcmp(pa, p0, n * 4) == 0);
    /* a term added to the loss only: the same parameters, the loss larger by it */
    hook_ctx plus = {.add_loss = 1.0};
    sp0 = (seen_progress){0};
    CHECK_OK(train_with(c, NULL, "none", pa, n, &sp0));
    CHECK_OK(train_with(c, &plus, "plus", pb, n, &sp1));
    CHECK(memcmp(pa, pb, n * 4) == 0 && memcmp(pa, p0, n * 4) != 0);
    CHECK_MSG(fabs(sp1.loss_sum - sp0.loss_sum - 3.0) < 1e-12, "reported losses %.17g and %.17g", sp1.loss_sum, sp0.loss_sum);
    /* an L2 term in the hook is SGD's weight decay (g + wd p) */
    hook_ctx l2 = {.lambda = 0.05};
    rl_train_config wd = c;
    wd.optim.weight_decay = 0.05;
    CHECK_OK(train_with(c, &l2, "l2", pa, n, &sp0));
    CHECK_OK(train_with(wd, NULL, "wd", pb, n, &sp1));
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)pa[i] - pb[i]) / (1e-6 + fabs((double)pb[i])));
    CHECK_MSG(worst < 1e-5, "hook L2 and weight decay differ by %g", worst);
    /* a hook that fails stops the run with its message; a non-finite one is skipped when asked */
    hook_ctx no = {.fail_at = 3, .fail_status = RL_ERR_ARG};
    rl_status s = train_with(c, &no, "fail", pa, n, &sp0);
    CHECK_MSG(s == RL_ERR_ARG && strstr(rl_errmsg(), "the hook says no at step 3"), "%d: %s", (int)s, rl_errmsg());
    hook_ctx nan = {.fail_at = 5, .fail_status = RL_ERR_NONFINITE};
    c.skip_nonfinite = 1;
    seen_progress sp2 = {0};
    CHECK_OK(train_with(c, &nan, "skip", pa, n, &sp2));
    CHECK(nan.calls == 12 && sp2.skipped == 1);
    free(p0), free(pa), free(pb);
}

/* Issue 28 (9): the validation set is sized on its own: a text whose
 * validation split holds fewer streams than the training batch trains, and
 * validates on the streams that fit (here 100 characters: 3 of 26), the
 * same numbers as rl_evaluate with 3 streams. rl_evaluate itself, given a
 * batch too large, still says what fits (issue 13.1). */
TEST(text_validation_is_sized_on_its_own)
{
    char text[2001];
    for (size_t i = 0; i < sizeof text - 1; i++) text[i] = "abcdefgh \n"[(i * 7 + i / 3) % 10];
    const char *path = write_tmp("short.txt", text, sizeof text - 1); /* 100 characters validate */
    rl_train_config c = test_small_config(RL_TASK_TEXT, RL_CELL_TANH);
    c.text_path = path, c.steps = 10, c.flow_every = 0;
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, tmp_path("short-run")));
    int stop = 0, interrupted = 0;
    if (t) CHECK_OK(rl_trainer_run(t, &stop, &interrupted, NULL, NULL));
    rl_score got = {0}, want = {0};
    CHECK(t && rl_trainer_last_eval(t, &got) == 10);
    rl_task *task = NULL;
    CHECK_OK(rl_task_new(&task, RL_TASK_TEXT, 25, path));
    if (task && t) {
        const rl_model *m = rl_trainer_model(t);
        CHECK(rl_evaluate(m, task, 6, 0, 1, &want) == RL_ERR_ARG && strstr(rl_errmsg(), "use --batch 3 or less"));
        CHECK_OK(rl_evaluate(m, task, 3, c.eval_batches, c.seed ^ 0x76616cull, &want));
        CHECK_MSG(got.weight_sum == want.weight_sum && got.loss_sum == want.loss_sum, "validation %g over %g, want %g over %g",
                  got.loss_sum, got.weight_sum, want.loss_sum, want.weight_sum);
    }
    rl_trainer_free(t);
    rl_task_free(task);
}

/* The flow record of an lru run: lambda's largest modulus as W_hh's radius
 * from step 0 (it was 0 there: lambda not yet derived from the parameters),
 * and a gradient at every lag. */
TEST(lru_flow_record_from_step_0)
{
    const char *dir = tmp_path("lru-flow");
    const char *argv[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "10", "--cell", "lru", "--hidden", "4",
                          "--steps", "2", "--log-every", "1", "--seed", "3", "--out", dir, "--quiet", NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/flow.jsonl", dir);
    size_t n = 0;
    char *text = (char *)read_file(p, &n), *save = NULL;
    int lines = 0;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save), lines++) {
        cJSON *r = cJSON_Parse(line);
        const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "w_hh"), 0);
        double rad = cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "radius"), 0));
        CHECK_MSG(rad > 0.9 && rad < 1, "step %d: radius %g", lines, rad);
        const cJSON *g = cJSON_GetObjectItem(r, "lag_log_grad");
        CHECK(cJSON_GetArraySize(g) == 11);
        for (int k = 0; k < cJSON_GetArraySize(g); k++)
            CHECK_MSG(cJSON_IsNumber(cJSON_GetArrayItem(g, k)), "step %d: lag_log_grad[%d] is not a number", lines, k);
        cJSON_Delete(r);
    }
    CHECK(lines >= 2);
    free(text);
}
