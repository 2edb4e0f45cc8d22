/* Training: optimizers, clipping and schedules against hand-computed values;
 * task generators measured on many samples; checkpoints, resume, NaN, Ctrl-C. */
#include "train/run.h"
#include "test.h"

#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const double P0[6] = {1, -2, 0.5, 0, 3, -1}, G[6] = {0.1, -0.2, 0.3, 0, 1, -1};

/* Two updates of a 6-parameter model with the same gradient; p after them. */
static void two_steps(rl_optim_config oc, double lr, int steps, double *p)
{
    rl_config c = {RL_CELL_TANH, 1, 1, 1, 1, RL_LOSS_MSE};
    rl_model *m = NULL;
    rl_optim *o = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return;
    CHECK(rl_model_num_params(m) == 6);
    memcpy(rl_model_params(m), P0, sizeof P0);
    CHECK_OK(rl_optim_new(&o, m, &oc));
    for (int k = 0; o && k < steps; k++) CHECK_OK(rl_optim_step(o, m, G, lr));
    memcpy(p, rl_model_params(m), sizeof P0);
    rl_optim_free(o);
    rl_model_free(m);
}

static double sgn(double x) { return (x > 0) - (x < 0); }

TEST(optimizers_by_hand)
{
    double p[6], want[6];
    rl_optim_config sgd = rl_optim_defaults(RL_OPT_SGD);
    two_steps(sgd, 0.1, 1, p);
    double w1[6] = {0.99, -1.98, 0.47, 0, 2.9, -0.9};
    CHECK_CLOSE("sgd", p, RL_F64, w1, 6, 1e-14, 1e-15);
    sgd.momentum = 0.9; /* v2 = 1.9 g: p - 0.1 (g + 1.9 g) */
    two_steps(sgd, 0.1, 2, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.29 * G[i];
    CHECK_CLOSE("sgd momentum", p, RL_F64, want, 6, 1e-14, 1e-15);
    sgd.nesterov = 1; /* g + 0.9 v: 1.9 g, then 2.71 g */
    two_steps(sgd, 0.1, 2, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.461 * G[i];
    CHECK_CLOSE("sgd nesterov", p, RL_F64, want, 6, 1e-14, 1e-15);
    two_steps(rl_optim_defaults(RL_OPT_ADAGRAD), 0.1, 1, p); /* s = g^2: a step of lr sign(g) */
    double w2[6] = {0.9, -1.9, 0.4, 0, 2.9, -0.9};
    CHECK_CLOSE("adagrad", p, RL_F64, w2, 6, 1e-9, 1e-12);
    rl_optim_config rms = rl_optim_defaults(RL_OPT_RMSPROP);
    rms.alpha = 0.9; /* s = 0.1 g^2: a step of lr / sqrt(0.1) */
    two_steps(rms, 0.01, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.01 / sqrt(0.1) * sgn(G[i]);
    CHECK_CLOSE("rmsprop", p, RL_F64, want, 6, 1e-6, 1e-9);
    two_steps(rl_optim_defaults(RL_OPT_ADAM), 0.01, 1, p); /* bias-corrected: lr sign(g) */
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.01 * sgn(G[i]);
    CHECK_CLOSE("adam", p, RL_F64, want, 6, 1e-6, 1e-9);
    two_steps(rl_optim_defaults(RL_OPT_ADAM), 0.01, 2, p); /* the same gradient twice: 2 lr sign(g) */
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.02 * sgn(G[i]);
    CHECK_CLOSE("adam, 2 steps", p, RL_F64, want, 6, 1e-6, 1e-9);
    rl_optim_config adamw = rl_optim_defaults(RL_OPT_ADAMW);
    adamw.weight_decay = 0.1; /* decoupled: p (1 - lr wd) first */
    two_steps(adamw, 0.01, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] * (1 - 0.001) - 0.01 * sgn(G[i]);
    CHECK_CLOSE("adamw", p, RL_F64, want, 6, 1e-6, 1e-9);
    rl_optim_config sgdwd = rl_optim_defaults(RL_OPT_SGD);
    sgdwd.weight_decay = 0.5; /* L2: g + wd p */
    two_steps(sgdwd, 0.1, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.1 * (G[i] + 0.5 * P0[i]);
    CHECK_CLOSE("sgd weight decay", p, RL_F64, want, 6, 1e-14, 1e-15);
    rl_optim_kind k;
    CHECK(rl_optim_parse("adamw", &k) == RL_OK && k == RL_OPT_ADAMW);
    CHECK(rl_optim_parse("lion", &k) == RL_ERR_ARG);
}

TEST(clipping_and_schedules)
{
    float g[2] = {3, 4};
    double norm = 0;
    CHECK_OK(rl_clip_grad_norm(g, 2, RL_F32, 1, &norm));
    CHECK(norm == 5 && fabsf(g[0] - 0.6f) < 1e-7f && fabsf(g[1] - 0.8f) < 1e-7f);
    CHECK_OK(rl_clip_grad_norm(g, 2, RL_F32, 10, &norm));
    CHECK(fabs(norm - 1) < 1e-7 && fabsf(g[0] - 0.6f) < 1e-7f); /* below the threshold: untouched */
    double big[2] = {3e200, 4e200};
    CHECK_OK(rl_clip_grad_norm(big, 2, RL_F64, 0, &norm)); /* measure only, no overflow */
    CHECK(fabs(norm / 5e200 - 1) < 1e-15 && big[0] == 3e200);
    float bad[2] = {1, NAN};
    CHECK(rl_clip_grad_norm(bad, 2, RL_F32, 1, &norm) == RL_ERR_NONFINITE && bad[0] == 1);
    float v[3] = {-5, 0.5, 7};
    rl_clip_grad_value(v, 3, RL_F32, 1);
    CHECK(v[0] == -1 && v[1] == 0.5f && v[2] == 1);
    rl_schedule st = {RL_SCHED_STEP, 1, 0, 10, 0.5, 0, 0}, co = {RL_SCHED_COSINE, 1, 0, 0, 0, 100, 0.1},
                wu = {RL_SCHED_CONSTANT, 2, 10, 0, 0, 0, 0};
    CHECK(rl_lr_at(&st, 9) == 1 && rl_lr_at(&st, 10) == 0.5 && rl_lr_at(&st, 25) == 0.25);
    CHECK(rl_lr_at(&co, 0) == 1 && fabs(rl_lr_at(&co, 50) - 0.55) < 1e-15 && fabs(rl_lr_at(&co, 100) - 0.1) < 1e-15);
    CHECK(fabs(rl_lr_at(&wu, 0) - 0.2) < 1e-15 && rl_lr_at(&wu, 9) == 2 && rl_lr_at(&wu, 500) == 2);
}

static rl_task *task(rl_task_kind k, int T)
{
    rl_task *t = NULL;
    CHECK_OK(rl_task_new(&t, k, T, NULL));
    return t;
}

TEST(task_adding)
{
    const int T = 60, B = 100, N = 200;
    rl_task *t = task(RL_TASK_ADDING, T);
    rl_data *d = NULL;
    if (t) CHECK_OK(rl_task_data_new(&d, t, B));
    if (!d) goto out;
    rl_rng r;
    rl_rng_seed(&r, 1);
    double sq = 0;
    int bad = 0;
    for (int k = 0; k < N; k++) {
        CHECK_OK(rl_task_fill(t, d, &r, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        const float *x = b->x, *y = b->y, *m = b->mask;
        for (int s = 0; s < B; s++) {
            int first = 0, second = 0;
            double sum = 0;
            for (int i = 0; i < T; i++) {
                const float *e = x + ((size_t)s * T + i) * 2;
                bad += e[0] < 0 || e[0] >= 1 || m[(size_t)s * T + i] != (i == T - 1);
                if (e[1] == 1) {
                    if (i < T / 2) first++;
                    else second++;
                    sum += e[0];
                }
            }
            bad += first != 1 || second != 1 || fabs(y[(size_t)s * T + T - 1] - sum) > 1e-6;
            sq += (1 - sum) * (1 - sum);
        }
    }
    CHECK_MSG(bad == 0, "%d malformed sequences", bad);
    /* predicting 1 always: MSE = Var(U1 + U2) = 1/6, measured on 20,000 sequences */
    double mse = sq / (N * B);
    CHECK_MSG(fabs(mse - 1.0 / 6) < 0.006, "baseline MSE %.4f", mse);
    CHECK(fabs(rl_task_get_info(t).baseline - 1.0 / 6) < 1e-15);
out:
    rl_data_free(d);
    rl_task_free(t);
}

TEST(task_adding_hs97)
{
    const int T = 50, B = 100, N = 100;
    rl_task *t = task(RL_TASK_ADDING_HS97, T);
    rl_data *d = NULL;
    if (t) CHECK_OK(rl_task_data_new(&d, t, B));
    if (!d) goto out;
    CHECK(rl_task_get_info(t).steps == 55);
    rl_rng r;
    rl_rng_seed(&r, 2);
    double sq = 0;
    int bad = 0, lens[6] = {0};
    for (int k = 0; k < N; k++) {
        CHECK_OK(rl_task_fill(t, d, &r, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        const float *x = b->x, *y = b->y, *m = b->mask;
        for (int s = 0; s < B; s++) {
            int len = -1, marks = 0, m1 = -1;
            for (int i = 0; i < 55; i++)
                if (m[s * 55 + i] == 1) len = i + 1;
            double x1 = 0, x2 = 0;
            for (int i = 0; i < 55; i++) {
                const float *e = x + ((size_t)s * 55 + i) * 2;
                if (e[1] == 1) {
                    marks++;
                    if (m1 < 0) m1 = i, x1 = i == 0 ? 0 : e[0];
                    else x2 = e[0];
                    bad += i >= T / 2 - 1 && !(i < 10);
                }
                bad += i >= len && (e[0] != 0 || e[1] != 0);
            }
            if (len >= T && len <= T + 5) lens[len - T]++;
            else bad++;
            bad += marks != 2 || m1 >= 10;
            double want = 0.5 + (x1 + x2) / 4;
            /* either mark may be the early one: accept the target of the marks found */
            bad += fabs(y[s * 55 + len - 1] - want) > 1e-6 && m1 != 0;
            sq += (y[s * 55 + len - 1] - 0.5) * (y[s * 55 + len - 1] - 0.5);
        }
    }
    CHECK_MSG(bad == 0, "%d malformed sequences", bad);
    for (int i = 0; i < 6; i++) CHECK_MSG(lens[i] > 1200, "length %d drawn %d times of 10,000", T + i, lens[i]);
    double mse = sq / (N * B);
    CHECK_MSG(fabs(mse - rl_task_get_info(t).baseline) < 0.003, "baseline MSE %.4f vs %.4f", mse, rl_task_get_info(t).baseline);
out:
    rl_data_free(d);
    rl_task_free(t);
}

TEST(task_copy_and_temporal_order)
{
    const int T = 30;
    rl_task *t = task(RL_TASK_COPY, T);
    rl_data *d = NULL;
    rl_rng r;
    rl_rng_seed(&r, 3);
    if (t) CHECK_OK(rl_task_data_new(&d, t, 50));
    if (d) {
        CHECK_OK(rl_task_fill(t, d, &r, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        const float *x = b->x;
        int bad = 0, S = T + 20;
        for (int s = 0; s < 50; s++)
            for (int i = 0; i < S; i++) {
                int sym = -1, ones = 0;
                for (int k = 0; k < 10; k++)
                    if (x[((size_t)s * S + i) * 10 + k] == 1) sym = k, ones++;
                int want = i < 10 ? -2 : i == T + 9 ? 9 : 8;
                bad += ones != 1 || (want >= 0 ? sym != want : sym > 7);
                /* the target: blanks, then the symbol shown T + 10 steps before */
                int tgt = b->target[s * S + i];
                if (i < T + 10) bad += tgt != 8;
                else bad += tgt > 7 || x[((size_t)s * S + (i - T - 10)) * 10 + tgt] != 1;
            }
        CHECK_MSG(bad == 0, "copy: %d malformed steps", bad);
        CHECK(fabs(rl_task_get_info(t).baseline - 10 * log(8.0) / 50) < 1e-15);
    }
    rl_data_free(d);
    rl_task_free(t);
    t = task(RL_TASK_TEMPORAL_ORDER, 100);
    d = NULL;
    if (t) CHECK_OK(rl_task_data_new(&d, t, 1000));
    if (d) {
        CHECK_OK(rl_task_fill(t, d, &r, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        const float *x = b->x;
        int count[4] = {0}, bad = 0;
        for (int s = 0; s < 1000; s++) {
            int pos[2] = {0, 0}, sym[2] = {0, 0}, n = 0;
            for (int i = 0; i < 100; i++)
                for (int k = 6; k < 8; k++)
                    if (x[((size_t)s * 100 + i) * 8 + k] == 1 && n < 2) pos[n] = i, sym[n++] = k - 6;
            bad += n != 2 || pos[0] < 10 || pos[0] >= 20 || pos[1] < 50 || pos[1] >= 60;
            int cls = b->target[s * 100 + 99];
            bad += n == 2 && cls != 2 * sym[0] + sym[1];
            count[cls & 3]++;
        }
        CHECK_MSG(bad == 0, "temporal order: %d malformed", bad);
        for (int k = 0; k < 4; k++) CHECK_MSG(count[k] > 200 && count[k] < 300, "class %d: %d of 1000", k, count[k]);
    }
    rl_data_free(d);
    rl_task_free(t);
}

TEST(task_text)
{
    rl_task *t = task(RL_TASK_TEXT, 40);
    if (!t) return;
    rl_task_info in = rl_task_get_info(t);
    CHECK(in.input_size == 74 && in.output_size == 74 && in.vocab && strlen(in.vocab) == 74);
    CHECK(in.train_len + in.val_len == 270687 && in.val_len == 270687 - (int64_t)(270687 * 0.95));
    rl_data *d = NULL;
    CHECK_OK(rl_task_data_new(&d, t, 2));
    int64_t pos[2] = {0, 1000};
    rl_rng r;
    rl_rng_seed(&r, 1);
    if (d) {
        CHECK_OK(rl_task_fill(t, d, &r, 0, pos));
        const rl_batch *b = rl_data_batch(d);
        const float *x = b->x;
        /* each target is the next step's input; the opening words are the novel's */
        int bad = 0;
        for (int s = 0; s < 2; s++)
            for (int i = 0; i + 1 < 40; i++) bad += x[((size_t)s * 40 + i + 1) * 74 + b->target[s * 40 + i]] != 1;
        CHECK(bad == 0 && pos[0] == 40 && pos[1] == 1040);
        char got[41] = "";
        for (int i = 0; i < 19; i++) {
            int k = 0;
            while (x[(size_t)i * 74 + k] != 1) k++;
            got[i] = in.vocab[k]; /* ASCII corpus: one byte a character */
        }
        CHECK_MSG(strncmp(got, "PRIDE AND PREJUDICE", 19) == 0, "the corpus starts '%s'", got);
    }
    rl_data_free(d);
    rl_task_free(t);
    rl_task *bad = NULL;
    CHECK(rl_task_new(&bad, RL_TASK_TEXT, 40, tmp_path("no-such-text")) == RL_ERR_IO && !bad);
    CHECK(rl_task_new(&bad, RL_TASK_TEXT, 40, write_tmp("latin1.txt", "caf\xe9 au lait", 13)) == RL_ERR_FORMAT);
    CHECK(rl_task_new(&bad, RL_TASK_ADDING, 1, NULL) == RL_ERR_ARG);
}

static rl_train_config small(rl_task_kind task, rl_cell cell)
{
    rl_train_config c = rl_train_defaults();
    c.task = task, c.seq_len = task == RL_TASK_TEXT ? 25 : 20, c.cell = cell, c.hidden = 12, c.layers = 2;
    c.batch = 6, c.steps = 40, c.dropout = 0.25, c.log_every = 5, c.eval_every = 10, c.eval_batches = 2;
    c.flow_every = 10, c.ckpt_every = 10, c.seed = 9;
    if (task == RL_TASK_TEXT) c.k1 = 15;
    return c;
}

static unsigned char *model_bytes(const char *dir, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return read_file(p, n);
}

TEST(resume_is_exact)
{
    const rl_task_kind tasks[2] = {RL_TASK_ADDING_HS97, RL_TASK_TEXT};
    const rl_cell cells[2] = {RL_CELL_GRU, RL_CELL_LSTM};
    for (int k = 0; k < 2; k++) {
        rl_train_config c = small(tasks[k], cells[k]);
        char a[1100], b[1100];
        snprintf(a, sizeof a, "%s/full%d", test_tmpdir, k);
        snprintf(b, sizeof b, "%s/split%d", test_tmpdir, k);
        rl_trainer *t = NULL;
        int intr = 0;
        CHECK_OK(rl_trainer_new(&t, &c, a));
        if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
        rl_trainer_free(t);
        c.steps = 20; /* stop half way, then resume to 40 */
        t = NULL;
        CHECK_OK(rl_trainer_new(&t, &c, b));
        if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
        rl_trainer_free(t);
        t = NULL;
        CHECK_OK(rl_trainer_resume(&t, b, 40));
        CHECK(t && rl_trainer_step(t) == 20);
        if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
        rl_trainer_free(t);
        size_t na = 0, nb = 0;
        unsigned char *ma = model_bytes(a, &na), *mb = model_bytes(b, &nb);
        CHECK_MSG(ma && mb && na == nb && memcmp(ma, mb, na) == 0, "%s: the resumed model differs", rl_task_name(tasks[k]));
        free(ma), free(mb);
        /* a folder that holds a run is not started over */
        rl_trainer *again = NULL;
        CHECK(rl_trainer_new(&again, &c, a) == RL_ERR_ARG && !again);
    }
}

TEST(nonfinite_stops_and_keeps_the_checkpoint)
{
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_TANH);
    c.inject_nan_at = 23;
    char dir[1100], ck[1200];
    snprintf(dir, sizeof dir, "%s/nan", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    rl_status s = t ? rl_trainer_run(t, NULL, &intr, NULL, NULL) : RL_OK;
    CHECK_MSG(s == RL_ERR_NONFINITE && strstr(rl_errmsg(), "step 23") && strstr(rl_errmsg(), "step 20 is intact"), "%s",
              rl_errmsg());
    rl_trainer_free(t);
    /* the checkpoint is the one of step 20, and it resumes */
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, ck, RL_F32));
    rl_model_free(m);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 0));
    CHECK(t && rl_trainer_step(t) == 20);
    rl_trainer_free(t);
    /* skip: the bad batch is passed over and training ends */
    c.skip_nonfinite = 1;
    snprintf(dir, sizeof dir, "%s/nan-skip", test_tmpdir);
    t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    CHECK(t && rl_trainer_step(t) == 40);
    rl_trainer_free(t);
}

/* Ctrl-C saves a checkpoint; the resumed run ends where an uninterrupted one does. */
TEST(ctrl_c_saves_and_resumes)
{
    char dir[1100], full[1100];
    snprintf(dir, sizeof dir, "%s/sigint", test_tmpdir);
    snprintf(full, sizeof full, "%s/sigint-full", test_tmpdir);
    const char *argv[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "30", "--hidden", "16", "--batch", "8",
                          "--steps", "2000000", "--ckpt-every", "0", "--flow-every", "0", "--eval-every", "0",
                          "--quiet", "--out", dir, NULL};
    int st = run_cli_signal(argv, 1.0, SIGINT); /* well after the handler is in place */
    CHECK_MSG(st == 130, "exit status %d after SIGINT, want 130", st);
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 0));
    int64_t at = t ? rl_trainer_step(t) : 0;
    CHECK_MSG(at > 0, "interrupted at step %lld", (long long)at);
    rl_trainer_free(t);
    char steps[32];
    snprintf(steps, sizeof steps, "%lld", (long long)at + 25);
    const char *resume[] = {"rnnlab", "train", "--resume", dir, "--steps", steps, "--quiet", NULL};
    CHECK(run_cli(resume, NULL, NULL, 0, NULL, 0) == 0);
    const char *once[] = {"rnnlab", "train", "--task", "adding", "--seq-len", "30", "--hidden", "16", "--batch", "8",
                          "--steps", steps, "--ckpt-every", "0", "--flow-every", "0", "--eval-every", "0", "--quiet",
                          "--out", full, NULL};
    CHECK(run_cli(once, NULL, NULL, 0, NULL, 0) == 0);
    size_t na = 0, nb = 0;
    unsigned char *ma = model_bytes(dir, &na), *mb = model_bytes(full, &nb);
    CHECK_MSG(ma && mb && na == nb && memcmp(ma, mb, na) == 0, "interrupted at %lld: the resumed model differs", (long long)at);
    free(ma), free(mb);
}

/* It learns: a small LSTM solves the adding problem at T = 10, far below the baseline. */
TEST(training_learns_the_adding_problem)
{
    rl_train_config c = rl_train_defaults();
    c.seq_len = 10, c.cell = RL_CELL_LSTM, c.hidden = 16, c.batch = 32, c.steps = 400, c.sched.lr = 1e-2;
    c.eval_every = 0, c.flow_every = 200, c.ckpt_every = 0, c.seed = 4;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/learn", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
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

/* SIGKILL at moments spread over a run that checkpoints every step (so that
 * many kills land inside a checkpoint write): the folder always holds a
 * checkpoint that loads, and resuming to the end gives the model of a run
 * that was never killed. */
TEST(sigkill_never_costs_the_checkpoint)
{
    char dir[1100], full[1100];
    snprintf(dir, sizeof dir, "%s/killed", test_tmpdir);
    snprintf(full, sizeof full, "%s/unkilled", test_tmpdir);
    const char *common[] = {"--task", "adding", "--seq-len", "20", "--hidden", "12", "--batch", "8", "--ckpt-every",
                            "1", "--flow-every", "0", "--eval-every", "0", "--log-every", "1", "--quiet"};
    const int total = 400;
    char steps[16];
    snprintf(steps, sizeof steps, "%d", total);
    const char *first[24] = {"rnnlab", "train"}, *resume[8] = {"rnnlab", "train", "--resume", dir, "--steps", steps,
                                                               "--quiet", NULL};
    int k = 2;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) first[k++] = common[i];
    first[k++] = "--steps", first[k++] = steps, first[k++] = "--out", first[k++] = dir, first[k] = NULL;
    const double delays[5] = {0.5, 0.57, 0.64, 0.71, 0.78};
    int loadable = 0, started = 0;
    char ck[1200];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    for (int round = 0; round < 5; round++) {
        /* start the run, or resume it once it has a checkpoint */
        int st = run_cli_signal(started ? resume : first, delays[round], SIGKILL);
        CHECK_MSG(st == 128 + SIGKILL || st == 0, "round %d: exit %d", round, st);
        rl_model *m = NULL;
        if (rl_model_load(&m, ck, RL_F32) == RL_OK) loadable++, started = 1;
        rl_model_free(m);
    }
    CHECK_MSG(loadable >= 4, "a loadable checkpoint after %d of 5 kills", loadable);
    CHECK(run_cli(resume, NULL, NULL, 0, NULL, 0) == 0);
    const char *once[24] = {"rnnlab", "train"};
    k = 2;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) once[k++] = common[i];
    once[k++] = "--steps", once[k++] = steps, once[k++] = "--out", once[k++] = full, once[k] = NULL;
    CHECK(run_cli(once, NULL, NULL, 0, NULL, 0) == 0);
    size_t na = 0, nb = 0;
    unsigned char *ma = model_bytes(dir, &na), *mb = model_bytes(full, &nb);
    CHECK_MSG(ma && mb && na == nb && memcmp(ma, mb, na) == 0, "the model after five kills differs");
    free(ma), free(mb);
    /* no temporary files are left once the run has been resumed */
    glob_t g;
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/*.tmp*", dir);
    CHECK(glob(pat, 0, NULL, &g) == GLOB_NOMATCH);
    globfree(&g);
}

/* A checkpoint that cannot be written (here: the disk "fills" 1,000 bytes
 * into the file) stops the run with the error, leaves the previous
 * checkpoint exactly as it was and no temporary file behind; the run then
 * resumes from that checkpoint. */
TEST(failed_checkpoint_write_keeps_the_previous)
{
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_LSTM);
    c.ckpt_every = 10, c.steps = 30, c.eval_every = 0, c.flow_every = 0;
    char dir[1100], ck[1200];
    snprintf(dir, sizeof dir, "%s/diskfull", test_tmpdir);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    rl_trainer *t = NULL;
    int intr = 0;
    rl_train_config first = c;
    first.steps = 10;
    CHECK_OK(rl_trainer_new(&t, &first, dir));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL)); /* checkpoint at step 10 */
    rl_trainer_free(t);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = read_file(ck, &n0);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 30));
    st_debug_fail_writes(1000); /* the checkpoint of step 20 fails part-way */
    rl_status s = t ? rl_trainer_run(t, NULL, &intr, NULL, NULL) : RL_OK;
    st_debug_fail_writes(-1);
    CHECK_MSG(s == RL_ERR_IO && strstr(rl_errmsg(), "No space left"), "status %d: %s", (int)s, rl_errmsg());
    CHECK(t && rl_trainer_step(t) == 20);
    rl_trainer_free(t);
    unsigned char *after = read_file(ck, &n1);
    CHECK_MSG(before && after && n0 == n1 && memcmp(before, after, n0) == 0, "the step-10 checkpoint changed");
    free(before), free(after);
    glob_t g;
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/*.tmp*", dir);
    CHECK(glob(pat, 0, NULL, &g) == GLOB_NOMATCH);
    globfree(&g);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 30));
    CHECK(t && rl_trainer_step(t) == 10);
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
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

/* ------------------------------------------------------------------ the configuration's table */

/* Every row: a value other than the default survives config -> JSON -> config,
 * and no two rows share a field. */
TEST(train_config_table_round_trips)
{
    const int n = rl_train_num_fields();
    rl_train_config def = rl_train_defaults(), c = def;
    CHECK(n >= 40 && rl_train_field_at(n) == NULL && rl_train_field_at(-1) == NULL);
    CHECK_OK(rl_train_config_check(&def));
    c.task = RL_TASK_TEXT; /* so that text_path and k1 are consistent */
    c.optim.kind = RL_OPT_SGD;
    char want[128][64], got[64];
    CHECK(n <= 128);
    for (int i = 0; i < n && i < 128; i++) {
        const rl_train_field *f = rl_train_field_at(i);
        CHECK(rl_train_field_find(f->name) == f && strchr(f->flag, '_') == NULL && f->help && f->group);
        for (int k = 0; k < i; k++) CHECK_MSG(rl_train_field_at(k)->offset != f->offset, "%s and %s share a field", f->name, rl_train_field_at(k)->name);
        switch (f->type) {
        case RL_FIELD_INT:
        case RL_FIELD_INT64: { /* lo + 1, or lo + 2 where lo + 1 is the default (--horizon) */
            long long v = (long long)(f->lo + 1 < f->hi ? f->lo + 1 : f->lo);
            char d[64];
            rl_train_field_format(&def, f, d, sizeof d);
            snprintf(got, sizeof got, "%lld", v);
            if (strcmp(got, d) == 0) snprintf(got, sizeof got, "%lld", v + 1);
            break;
        }
        case RL_FIELD_DOUBLE: snprintf(got, sizeof got, "%.17g", f->lo + (f->hi - f->lo) / 3); break;
        case RL_FIELD_BOOL: snprintf(got, sizeof got, "%s", f->num_choices ? rl_train_field_choice(f, 1) : "1"); break;
        case RL_FIELD_ENUM: snprintf(got, sizeof got, "%s", rl_train_field_choice(f, f->num_choices - 1)); break;
        case RL_FIELD_PATH: break;
        case RL_FIELD_SEED: snprintf(got, sizeof got, "18446744073709551615"); break;
        case RL_FIELD_RANGE: snprintf(got, sizeof got, "%.17g,%.17g", f->lo + (f->hi - f->lo) / 3, f->lo + (f->hi - f->lo) / 2); break;
        }
        if (f->offset == offsetof(rl_train_config, optim.kind)) continue; /* it would reset the fields set before */
        if (f->offset == offsetof(rl_train_config, task) || f->offset == offsetof(rl_train_config, seq_len)) continue;
        const char *v = f->type == RL_FIELD_PATH ? "some/text.txt" : got; /* c keeps a path's pointer */
        CHECK_MSG(rl_train_field_parse(&c, f, v) == RL_OK, "%s = %s: %s", f->name, v, rl_errmsg());
    }
    c.k1 = 3;
    for (int i = 0; i < n && i < 128; i++) {
        const rl_train_field *f = rl_train_field_at(i);
        rl_train_field_format(&c, f, want[i], sizeof want[i]);
        rl_train_field_format(&def, f, got, sizeof got);
        int fixed = f->offset == offsetof(rl_train_config, optim.kind) || f->offset == offsetof(rl_train_config, seq_len);
        CHECK_MSG(fixed || strcmp(want[i], got) != 0, "%s: still the default %s", f->name, got);
    }
    cJSON *j = rl_train_config_json(&c);
    rl_train_config back;
    CHECK_OK(rl_train_config_from_json(j, &back));
    for (int i = 0; i < n && i < 128; i++) {
        rl_train_field_format(&back, rl_train_field_at(i), got, sizeof got);
        CHECK_MSG(strcmp(want[i], got) == 0, "%s: wrote %s, read %s", rl_train_field_at(i)->name, want[i], got);
    }
    cJSON_Delete(j);
}

TEST(train_config_parse_and_json_values)
{
    rl_train_config c = rl_train_defaults();
    const rl_train_field *lr = rl_train_field_find("lr"), *nf = rl_train_field_find("skip_nonfinite"),
                         *opt = rl_train_field_find("optim"), *wd = rl_train_field_find("weight_decay"),
                         *seed = rl_train_field_find("seed"), *hid = rl_train_field_find("hidden");
    CHECK(lr && nf && opt && wd && seed && hid && rl_train_field_find("no_such") == NULL);
    if (!lr || !nf || !opt || !wd || !seed || !hid) return;
    CHECK(rl_train_field_parse(&c, lr, "-1") == RL_ERR_ARG && strstr(rl_errmsg(), "--lr = -1 is out of range"));
    CHECK(rl_train_field_parse(&c, lr, "1e-3x") == RL_ERR_ARG && strstr(rl_errmsg(), "--lr expects a finite number"));
    CHECK(rl_train_field_parse(&c, hid, "12.5") == RL_ERR_ARG && strstr(rl_errmsg(), "--hidden expects an integer"));
    CHECK(rl_train_field_parse(&c, nf, "pray") == RL_ERR_ARG && strstr(rl_errmsg(), "--on-nonfinite must be stop or skip"));
    CHECK(rl_train_field_parse(&c, opt, "lion") == RL_ERR_ARG && strstr(rl_errmsg(), "unknown optimizer 'lion'"));
    CHECK(rl_train_field_parse(&c, seed, "-1") == RL_ERR_ARG && strstr(rl_errmsg(), "non-negative"));
    /* an optimizer brings its own defaults */
    CHECK_OK(rl_train_field_parse(&c, opt, "adamw"));
    CHECK(c.optim.kind == RL_OPT_ADAMW && c.optim.weight_decay == 0.01);
    CHECK_OK(rl_train_field_parse(&c, wd, "0.5"));
    CHECK_OK(rl_train_field_parse(&c, nf, "skip"));
    CHECK(c.optim.weight_decay == 0.5 && c.skip_nonfinite == 1);
    /* seeds: a JSON number where that is exact, a string above 2^53; both read */
    const uint64_t seeds[3] = {9007199254740991ull, 9007199254740992ull, UINT64_MAX};
    for (int k = 0; k < 3; k++) {
        c.seed = seeds[k];
        cJSON *j = rl_train_config_json(&c);
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "seed");
        CHECK(k == 0 ? cJSON_IsNumber(v) : cJSON_IsString(v));
        rl_train_config back;
        CHECK_OK(rl_train_config_from_json(j, &back));
        CHECK(back.seed == seeds[k]);
        cJSON_Delete(j);
    }
    struct { const char *json; rl_status s; const char *frag; } cases[] = {
        {"{\"seed\": \"12\"}", RL_OK, NULL},
        {"{\"seed\": 12}", RL_OK, NULL},
        {"{\"seed\": 9007199254740992}", RL_ERR_FORMAT, "seed must be an integer"},
        {"{\"seed\": \"12x\"}", RL_ERR_FORMAT, "seed must be an integer"},
        {"{\"hidden\": 1e300}", RL_ERR_FORMAT, "hidden = 1e+300 is out of range [1, 65536]"},
        {"{\"hidden\": 12.5}", RL_ERR_FORMAT, "hidden = 12.5 is not an integer"},
        {"{\"hidden\": \"12\"}", RL_ERR_FORMAT, "hidden must be a number"},
        {"{\"zero_bias\": 2}", RL_ERR_FORMAT, "zero_bias must be 0 or 1"},
        {"{\"zero_bias\": true}", RL_OK, NULL},
        {"{\"cell\": \"lstn\"}", RL_ERR_FORMAT, "unknown cell 'lstn'"},
        {"{\"gradient_flossing\": 1}", RL_ERR_FORMAT, "the option 'gradient_flossing' is unknown to this version"},
        {"{\"batch\": 4, \"batch\": 5}", RL_ERR_FORMAT, "'batch' is given twice"},
        {"[1]", RL_ERR_FORMAT, "not a JSON object"},
        {"{}", RL_OK, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        rl_train_config back;
        rl_status s = rl_train_config_from_json(j, &back);
        CHECK_MSG(s == cases[i].s && (!cases[i].frag || strstr(rl_errmsg(), cases[i].frag)), "%s: %d, '%s'", cases[i].json,
                  (int)s, rl_errmsg());
        cJSON_Delete(j);
    }
    /* a missing key keeps its default, and an optimizer's own defaults apply */
    cJSON *j = cJSON_Parse("{\"optim\": \"adagrad\", \"batch\": 7}");
    rl_train_config back;
    CHECK_OK(rl_train_config_from_json(j, &back));
    CHECK(back.batch == 7 && back.hidden == 128 && back.optim.kind == RL_OPT_ADAGRAD && back.optim.eps == 1e-10);
    cJSON_Delete(j);
    /* the checks a library caller gets */
    c = rl_train_defaults();
    c.hidden = 0;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "hidden = 0 is out of range"));
    c = rl_train_defaults();
    c.text_path = "x.txt";
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "--data is for --task text"));
    c = rl_train_defaults();
    c.sched.lr = NAN;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "lr = nan is not finite"));
}

/* Rewrite the train_config of dir's checkpoint with edit(json), keeping every tensor. */
static void edit_checkpoint(const char *dir, void (*edit)(cJSON *))
{
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    st_file f;
    CHECK_OK(st_read(&f, path));
    if (!f.buf) return;
    st_out *ts = calloc((size_t)f.n, sizeof *ts);
    const char **meta = calloc(2 * (size_t)f.nmeta, sizeof *meta);
    for (int i = 0; i < f.n; i++) {
        const st_tensor *t = &f.t[i];
        ts[i] = (st_out){t->name, t->dtype_name, t->ndim, {0}, f.data + t->begin};
        for (int d = 0; d < t->ndim; d++) ts[i].shape[d] = t->shape[d];
    }
    char *txt = NULL;
    for (int i = 0; i < f.nmeta; i++) {
        meta[2 * i] = f.meta_key[i], meta[2 * i + 1] = f.meta_val[i];
        if (strcmp(f.meta_key[i], "train_config") == 0) {
            cJSON *j = cJSON_Parse(f.meta_val[i]);
            edit(j);
            meta[2 * i + 1] = txt = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
        }
    }
    CHECK(txt != NULL);
    CHECK_OK(st_write(path, ts, f.n, meta, f.nmeta));
    free(txt);
    free(meta);
    free(ts);
    st_close(&f);
}

/* As the first versions wrote it: no decay_steps, no clip_value, the seed a string. */
static void make_old(cJSON *j)
{
    cJSON_DeleteItemFromObjectCaseSensitive(j, "decay_steps");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "clip_value");
    cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    char s[32];
    snprintf(s, sizeof s, "%.0f", seed->valuedouble);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "seed", cJSON_CreateString(s));
}
static void add_unknown(cJSON *j) { cJSON_AddNumberToObject(j, "gradient_flossing", 1); }
static void huge_hidden(cJSON *j) { cJSON_ReplaceItemInObjectCaseSensitive(j, "hidden", cJSON_CreateNumber(1e300)); }

static void stop_at_15(const rl_progress *p, void *ctx)
{
    if (p->step >= 15) *(volatile int *)ctx = 1;
}

/* Issue 12, defect 4: a checkpoint whose train_config lacks keys resumes with
 * their defaults, to the numbers of an uninterrupted run; one with a key this
 * version does not know is refused with one line naming it. The schedule is
 * cosine, whose length a resumed run used to lose. */
TEST(resume_old_checkpoints_and_refuse_newer_ones)
{
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_GRU);
    c.steps = 30, c.sched.kind = RL_SCHED_COSINE, c.sched.min_lr = 1e-5, c.sched.lr = 1e-2, c.sched.warmup = 3;
    c.ckpt_every = 0;
    char full[1000], part[1000];
    snprintf(full, sizeof full, "%s/cos-full", test_tmpdir);
    snprintf(part, sizeof part, "%s/cos-part", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    volatile int stop = 0;
    CHECK_OK(rl_trainer_new(&t, &c, full));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    CHECK(t && rl_trainer_config(t).sched.total == 30);
    rl_trainer_free(t);
    for (int round = 0; round < 2; round++) { /* as written, then as an old version wrote it */
        char dir[1100];
        snprintf(dir, sizeof dir, "%s%d", part, round);
        t = NULL;
        stop = 0;
        CHECK_OK(rl_trainer_new(&t, &c, dir));
        if (t) CHECK_OK(rl_trainer_run(t, &stop, &intr, stop_at_15, (void *)&stop));
        CHECK(intr && t && rl_trainer_step(t) == 15);
        rl_trainer_free(t);
        if (round == 1) edit_checkpoint(dir, make_old);
        t = NULL;
        CHECK_OK(rl_trainer_resume(&t, dir, 0));
        if (t) {
            rl_train_config r = rl_trainer_config(t);
            CHECK(r.sched.total == 30 && r.clip_value == 0 && r.seed == 9);
            CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
        }
        rl_trainer_free(t);
        size_t na = 0, nb = 0;
        unsigned char *ma = model_bytes(full, &na), *mb = model_bytes(dir, &nb);
        CHECK_MSG(ma && mb && na == nb && memcmp(ma, mb, na) == 0, "round %d: the resumed cosine run differs", round);
        free(ma), free(mb);
    }
    /* a newer version's option, and a value out of range */
    snprintf(part, sizeof part, "%s/cos-part1", test_tmpdir);
    edit_checkpoint(part, add_unknown);
    t = NULL;
    CHECK(rl_trainer_resume(&t, part, 0) == RL_ERR_FORMAT && !t);
    CHECK_MSG(strstr(rl_errmsg(), "checkpoint.safetensors: train_config: the option 'gradient_flossing' is unknown") &&
                  !strchr(rl_errmsg(), '\n'), "%s", rl_errmsg());
    const char *argv[] = {"rnnlab", "train", "--resume", part, "--quiet", NULL};
    char e[512];
    CHECK(run_cli(argv, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "'gradient_flossing' is unknown") &&
          run_cli_err_lines() == 1);
    snprintf(part, sizeof part, "%s/cos-part0", test_tmpdir);
    edit_checkpoint(part, huge_hidden);
    CHECK(rl_trainer_resume(&t, part, 0) == RL_ERR_FORMAT && strstr(rl_errmsg(), "hidden = ") &&
          strstr(rl_errmsg(), "out of range"));
    /* a run past the steps asked for is not "done" */
    CHECK(rl_trainer_resume(&t, full, 20) == RL_ERR_ARG && strstr(rl_errmsg(), "at step 30, past the 20 steps"));
}

/* A start that fails leaves nothing behind; an --out that is a file says so. */
TEST(failed_start_leaves_no_folder)
{
    rl_train_config c = small(RL_TASK_TEXT, RL_CELL_TANH);
    c.text_path = tmp_path("no-such-text.txt");
    rl_trainer *t = NULL;
    struct stat sb;
    CHECK(rl_trainer_new(&t, &c, tmp_path("failed-start")) == RL_ERR_IO && !t);
    CHECK(stat(tmp_path("failed-start"), &sb) != 0);
    c = small(RL_TASK_ADDING, RL_CELL_TANH);
    const char *file = write_tmp("a-file", "x", 1);
    CHECK(rl_trainer_new(&t, &c, file) == RL_ERR_ARG && strstr(rl_errmsg(), "exists and is not a folder"));
    const char *argv[] = {"rnnlab", "train", "--task", "text", "--data", tmp_path("no-such-text.txt"), "--out",
                          tmp_path("failed-cli"), NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 1 && stat(tmp_path("failed-cli"), &sb) != 0);
    char longdir[1100];
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    CHECK(rl_trainer_new(&t, &c, longdir) == RL_ERR_ARG && strstr(rl_errmsg(), "path is longer"));
}

/* A text run started with a relative --data resumes from another directory;
 * a text whose characters changed is refused; resuming removes what a killed
 * write left and nothing else. */
TEST(text_run_resumes_from_elsewhere)
{
    char text[20001], cwd[1024], dir[1100], p[1200];
    rl_rng r;
    rl_rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof text - 1; i++) text[i] = "abcdefgh \n"[rl_rng_next(&r) % 10];
    write_tmp("rel.txt", text, sizeof text - 1);
    rl_train_config c = small(RL_TASK_TEXT, RL_CELL_LSTM);
    c.steps = 10, c.hidden = 8, c.batch = 4, c.layers = 1, c.text_path = "rel.txt";
    snprintf(dir, sizeof dir, "%s/reltext", test_tmpdir);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    rl_trainer *t = NULL;
    int intr = 0;
    if (chdir(test_tmpdir) == 0) {
        CHECK_OK(rl_trainer_new(&t, &c, dir));
        CHECK(chdir(cwd) == 0);
    }
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors.tmp.Ab12Cd", dir);
    write_tmp("reltext/checkpoint.safetensors.tmp.Ab12Cd", "x", 1);
    write_tmp("reltext/notes.tmpl", "keep", 4);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 20));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    CHECK(t && rl_trainer_step(t) == 20);
    rl_trainer_free(t);
    struct stat sb;
    CHECK(stat(p, &sb) != 0 && stat(tmp_path("reltext/notes.tmpl"), &sb) == 0);
    /* a character the run never saw: one more, or one for another */
    for (int k = 0; k < 2; k++) {
        if (k == 0) text[0] = 'z';
        for (size_t i = 0; k == 1 && i < sizeof text - 1; i++) text[i] = text[i] == 'h' ? 'z' : text[i];
        write_tmp("rel.txt", text, sizeof text - 1);
        t = NULL;
        CHECK_MSG(rl_trainer_resume(&t, dir, 30) == RL_ERR_FORMAT && strstr(rl_errmsg(), "characters are not the ones"),
                  "%d: %s", k, rl_errmsg());
    }
}

/* ------------------------------------------------------------------ the step hook */

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
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_LSTM);
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

/* docs/training.md holds the table of `rnnlab train --config-fields` as printed. */
TEST(training_doc_has_the_config_table)
{
    const char *argv[] = {"rnnlab", "train", "--config-fields", NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0, m = 0;
    unsigned char *table = read_file(tmp_path("cli.stdout"), &n);
    char doc[1200];
    snprintf(doc, sizeof doc, "%s/../../docs/training.md", test_fixtures); /* docs/ beside tests/ */
    unsigned char *text = read_file(doc, &m);
    CHECK(table && n > 1000 && text);
    CHECK_MSG(table && text && strstr((char *)text, (char *)table),
              "%s: the configuration's table differs from `rnnlab train --config-fields`: paste its output there", doc);
    /* one line a field, and every option of --help in it */
    int lines = 0;
    for (size_t i = 0; table && i < n; i++) lines += table[i] == '\n';
    CHECK(lines == rl_train_num_fields() + 2);
    free(table), free(text);
}

/* The options come from the table: an optimizer's options may come before it;
 * config.json holds what was given; --resume refuses steps behind the run. */
TEST(cli_train_options_from_the_table)
{
    char run[1100], cfgp[1200];
    snprintf(run, sizeof run, "%s/cli-table", test_tmpdir);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", run);
    const char *train[] = {"rnnlab", "train", "--momentum", "0.9", "--nesterov", "--optim", "sgd", "--seq-len", "10",
                           "--hidden", "4", "--batch", "2", "--steps", "6", "--schedule", "cosine", "--seed", "77",
                           "--on-nonfinite", "skip", "--quiet", "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    unsigned char *txt = read_file(cfgp, &n);
    cJSON *j = txt ? cJSON_Parse((char *)txt) : NULL;
    rl_train_config c;
    CHECK_OK(rl_train_config_from_json(j, &c));
    CHECK(c.optim.kind == RL_OPT_SGD && c.optim.momentum == 0.9 && c.optim.nesterov == 1 && c.sched.total == 6 &&
          c.seed == 77 && c.skip_nonfinite == 1 && c.hidden == 4);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "seed")));
    cJSON_Delete(j);
    free(txt);
    struct { const char *argv[12]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "train", "--resume", run, "--steps", "3", NULL}, 2, "is at step 6, past the 3 steps asked for"},
        {{"rnnlab", "train", "--out", cfgp, NULL}, 2, "exists and is not a folder"},
        {{"rnnlab", "train", "--decay-steps", "-1", "--out", run, NULL}, 2, "--decay-steps = -1 is out of range"},
        {{"rnnlab", "train", "--zero-bias", "--zero-bias", "--out", run, NULL}, 2, "given twice"},
        {{"rnnlab", "train", "--resume", run, "--seed", "1", NULL}, 2, "--resume takes only --steps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512];
        int st = run_cli(cases[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == cases[i].status && strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: exit %d, '%s'", i,
                  st, e);
    }
}

/* Issue 13.1: a text whose validation split is too short for the batch fails
 * before training (not at the first validation, losing the run), saying what fixes it. */
TEST(text_too_short_for_validation_fails_up_front)
{
    char text[2001];
    for (size_t i = 0; i < sizeof text - 1; i++) text[i] = "abcdefgh \n"[(i * 7 + i / 3) % 10];
    const char *path = write_tmp("short.txt", text, sizeof text - 1); /* 100 characters validate */
    rl_train_config c = small(RL_TASK_TEXT, RL_CELL_TANH);
    c.text_path = path;
    rl_trainer *t = NULL;
    struct stat sb;
    CHECK(rl_trainer_new(&t, &c, tmp_path("short-run")) == RL_ERR_ARG && !t);
    rl_trainer_free(t);
    t = NULL;
    CHECK_MSG(strstr(rl_errmsg(), "(100 characters) is too short for 6 streams of 25: use --batch 3 or less, or --seq-len 15 or less"),
              "%s", rl_errmsg());
    CHECK(stat(tmp_path("short-run"), &sb) != 0);
    c.batch = 3;
    CHECK_OK(rl_trainer_new(&t, &c, tmp_path("short-run")));
    rl_trainer_free(t);
    rl_task *task = NULL;
    rl_model *m = NULL;
    rl_score sc;
    CHECK_OK(rl_task_new(&task, RL_TASK_TEXT, 25, path));
    rl_config mc = {RL_CELL_TANH, 10, 4, 1, 10, RL_LOSS_CE}; /* ten characters */
    CHECK_OK(rl_model_new(&m, &mc, RL_F32));
    if (task && m) {
        rl_model_set_vocab(m, rl_task_get_info(task).vocab);
        CHECK(rl_evaluate(m, task, 6, 0, 1, &sc) == RL_ERR_ARG && strstr(rl_errmsg(), "use --batch 3 or less"));
        CHECK_OK(rl_evaluate(m, task, 3, 0, 1, &sc));
    }
    rl_model_free(m);
    rl_task_free(task);
}

/* A run stopped before its first step and resumed records the flow before
 * training once, as a run never stopped does. */
TEST(resume_at_step_0_records_once)
{
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_TANH);
    c.steps = 10;
    char dir[1100], p[1200];
    snprintf(dir, sizeof dir, "%s/step0", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    volatile int stop = 1;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    if (t) CHECK_OK(rl_trainer_run(t, &stop, &intr, NULL, NULL));
    CHECK(intr && t && rl_trainer_step(t) == 0);
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 0));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
    snprintf(p, sizeof p, "%s/flow.jsonl", dir);
    size_t n = 0;
    unsigned char *txt = read_file(p, &n);
    int zeros = 0, lines = 0;
    for (char *l = txt ? strtok((char *)txt, "\n") : NULL; l; l = strtok(NULL, "\n")) lines++, zeros += strncmp(l, "{\"step\":0,", 10) == 0;
    CHECK_MSG(zeros == 1 && lines == 2, "flow.jsonl: %d records at step 0 of %d", zeros, lines);
    free(txt);
}

/* metrics.jsonl without its timings, as one string */
static char *records_of(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    size_t n = 0, len = 0;
    unsigned char *txt = read_file(p, &n);
    char *out = calloc(n + 1, 1);
    for (char *l = txt ? strtok((char *)txt, "\n") : NULL; l && out; l = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(l);
        cJSON_DeleteItemFromObjectCaseSensitive(j, "tokens_per_s");
        char *s = cJSON_PrintUnformatted(j);
        len += (size_t)snprintf(out + len, n + 1 - len, "%s\n", s ? s : "?");
        free(s);
        cJSON_Delete(j);
    }
    free(txt);
    return out;
}

static rl_status stop_at_step(void *ctx, rl_trainer *t, rl_model *m, rl_ws *ws, const rl_batch *b, double *loss)
{
    if (rl_trainer_step(t) == 12) *(volatile int *)ctx = 1;
    return RL_OK;
}

/* A run interrupted between two metrics lines and resumed writes the records
 * of a run never interrupted (the sums of the line being gathered and the
 * count of skipped steps are in the checkpoint); a skipped last step still
 * ends the run with its records and checkpoint. */
TEST(resumed_records_are_exact)
{
    rl_train_config c = small(RL_TASK_ADDING, RL_CELL_TANH);
    c.steps = 30, c.log_every = 5, c.ckpt_every = 0, c.inject_nan_at = 3, c.skip_nonfinite = 1;
    char full[1100], part[1100];
    snprintf(full, sizeof full, "%s/rec-full", test_tmpdir);
    snprintf(part, sizeof part, "%s/rec-part", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    volatile int stop = 0;
    CHECK_OK(rl_trainer_new(&t, &c, full));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, part));
    if (t) rl_trainer_set_hook(t, stop_at_step, (void *)&stop);
    if (t) CHECK_OK(rl_trainer_run(t, &stop, &intr, NULL, NULL));
    CHECK(intr && t && rl_trainer_step(t) == 13);
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, part, 0));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
    char *a = records_of(full), *b = records_of(part);
    CHECK_MSG(a && b && strcmp(a, b) == 0 && strstr(a, "\"skipped\":1"), "the records differ:\n%s---\n%s", a, b);
    free(a), free(b);
    /* the last step skipped: the run still ends with its records and model */
    c.inject_nan_at = 30;
    snprintf(part, sizeof part, "%s/rec-lastskip", test_tmpdir);
    t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, part));
    if (t) CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_trainer_free(t);
    size_t n = 0;
    unsigned char *m = model_bytes(part, &n);
    a = records_of(part);
    CHECK_MSG(m && a && strstr(a, "{\"step\":30,\"loss\"") && strstr(a, "{\"step\":30,\"val_loss\""), "%s", a);
    free(m), free(a);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, part, 0));
    CHECK(t && rl_trainer_step(t) == 30);
    rl_trainer_free(t);
}

/* The "solved" criteria at their thresholds, and a run that stops at the
 * first validation that solves its task (and one that may not: it runs on). */
TEST(solved_criteria_and_stop_when_solved)
{
    rl_task *add = NULL, *copy = NULL, *text = NULL;
    CHECK_OK(rl_task_new(&add, RL_TASK_ADDING, 10, NULL));
    CHECK_OK(rl_task_new(&copy, RL_TASK_COPY, 10, NULL));
    CHECK_OK(rl_task_new(&text, RL_TASK_TEXT, 25, NULL));
    if (!add || !copy || !text) return;
    rl_score at = {.sq_err = 1.0, .n_err = 100}, below = {.sq_err = 0.999, .n_err = 100};
    CHECK(!rl_task_solved(add, &at) && rl_task_solved(add, &below));
    rl_score c99 = {.correct = 99, .n_items = 100}, c98 = {.correct = 98.99, .n_items = 100};
    CHECK(rl_task_solved(copy, &c99) && !rl_task_solved(copy, &c98));
    rl_score all = {.correct = 100, .n_items = 100, .sq_err = 0, .n_err = 100};
    CHECK(!rl_task_solved(text, &all) && rl_task_solved_rule(RL_TASK_TEXT) == NULL);
    rl_task_free(add), rl_task_free(copy), rl_task_free(text);

    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = 10, c.cell = RL_CELL_LSTM, c.hidden = 32, c.batch = 32, c.steps = 3000;
    c.sched.lr = 1e-2, c.eval_every = 100, c.eval_batches = 4, c.flow_every = 5000, c.ckpt_every = 1000, c.seed = 2;
    c.stop_when_solved = 1, c.save_init = 1;
    rl_trainer *t = NULL;
    int interrupted = 0;
    const char *dir = tmp_path("solve-run");
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    if (!t) return;
    CHECK_OK(rl_trainer_run(t, NULL, &interrupted, NULL, NULL));
    int64_t solved = rl_trainer_solved_step(t), at_step = rl_trainer_step(t);
    rl_score sc;
    CHECK_MSG(solved > 0 && solved == at_step && solved < c.steps && solved % 100 == 0, "solved at %lld, stopped at %lld",
              (long long)solved, (long long)at_step);
    CHECK(rl_trainer_last_eval(t, &sc) == solved && sc.sq_err / sc.n_err < 0.01);
    rl_trainer_free(t);
    char p[1200];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    size_t n = 0;
    unsigned char *m = read_file(p, &n);
    CHECK(m && strstr((const char *)m, "\"solved\":true"));
    free(m);
    /* the flow before training and at the stop, though 5000 steps apart */
    snprintf(p, sizeof p, "%s/flow.jsonl", dir);
    m = read_file(p, &n);
    char want[64];
    snprintf(want, sizeof want, "\n{\"step\":%lld,", (long long)solved);
    int lines = 0;
    for (size_t i = 0; m && i < n; i++) lines += m[i] == '\n';
    CHECK_MSG(m && lines == 2 && strncmp((const char *)m, "{\"step\":0,", 10) == 0 && strstr((const char *)m, want),
              "flow.jsonl, %d lines: %.80s", lines, m ? (const char *)m : "");
    free(m);
    /* the model before training, as the trainer initialised it */
    snprintf(p, sizeof p, "%s/init.safetensors", dir);
    rl_model *init = NULL, *fin = NULL;
    CHECK_OK(rl_model_load(&init, p, RL_F32));
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    CHECK_OK(rl_model_load(&fin, p, RL_F32));
    if (init && fin) CHECK(memcmp(rl_model_params(init), rl_model_params(fin), rl_model_num_params(fin) * 4) != 0);
    rl_model_free(init), rl_model_free(fin);
    /* the checkpoint holds the solving step: a resume would go on from there */
    CHECK_OK(rl_trainer_resume(&t, dir, 0));
    if (t) CHECK(rl_trainer_step(t) == solved);
    rl_trainer_free(t);
}
