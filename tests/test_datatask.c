/* A user's data as a training task (rl_task_from_config): every cell trains
 * on every kind of data, learns what the data holds, resumes exactly, and
 * options that do not go with their task are refused. The command line:
 * tests/test_datatask_cli.c. */
#include "datafiles.h"
#include "nets.h"

#include "train/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static rl_train_config small(rl_task_kind task, const char *path)
{
    rl_train_config c = rl_train_defaults();
    c.task = task, c.text_path = path;
    c.hidden = 6, c.layers = 2, c.batch = 4, c.steps = 4, c.log_every = 2, c.eval_every = 2, c.eval_batches = 1;
    c.flow_every = 2, c.ckpt_every = 0;
    return c;
}

/* ------------------------------------------------------------------ the trainer */

TEST(datatask_every_cell_on_every_kind)
{
    const char *src[7];
    for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "kind%d.npz", k);
        src[k] = seq_file_write(name, k, 30, 6, 10 + (uint64_t)k);
    }
    src[4] = src[5] = mnist_folder_write("mnist-small", 30, 9);
    src[6] = series_file_write("wave.csv", 120);
    const int T[7] = {6, 6, 6, 6, 9, 9, 5}, I[7] = {2, 2, 2, 2, 1, 1, 2}, O[7] = {2, 2, 2, 2, 10, 10, 1};
    const rl_loss L[7] = {RL_LOSS_MSE, RL_LOSS_CE, RL_LOSS_MSE, RL_LOSS_CE, RL_LOSS_CE, RL_LOSS_CE, RL_LOSS_MSE};
    for (int k = 0; k < 7; k++)
        for (int cell = 0; cell < RL_CELL_COUNT; cell++) {
            rl_train_config c = small(k == 4 ? RL_TASK_SMNIST : k == 5 ? RL_TASK_PSMNIST : RL_TASK_DATA, src[k]);
            c.cell = (rl_cell)cell, c.seed = (uint64_t)(7 * k + cell);
            if (k == 6) c.inputs = "u,v", c.targets = "v", c.window = 5, c.horizon = 2;
            char dir[1200];
            snprintf(dir, sizeof dir, "%s/dt-%d-%s", test_tmpdir, k, rl_cell_name(c.cell));
            rl_trainer *t = NULL;
            int intr = 0;
            rl_status s = rl_trainer_new(&t, &c, dir);
            if (!s) s = rl_trainer_run(t, NULL, &intr, NULL, NULL);
            CHECK_MSG(s == RL_OK && t && rl_trainer_step(t) == 4, "source %d, %s: %s", k, rl_cell_name(c.cell), rl_errmsg());
            if (!t) continue;
            const rl_config mc = rl_model_config(rl_trainer_model(t));
            const rl_task_info in = rl_trainer_task_info(t);
            CHECK_MSG(mc.input_size == I[k] && mc.output_size == O[k] && mc.loss == L[k] && in.seq_len == T[k] &&
                      rl_trainer_config(t).seq_len == T[k], "source %d: I %d O %d loss %d T %d", k, mc.input_size, mc.output_size,
                      mc.loss, in.seq_len);
            rl_score sc;
            CHECK(rl_trainer_last_eval(t, &sc) == 4 && isfinite(sc.loss_sum / sc.weight_sum));
            /* the last validation scores every validation sequence */
            if (L[k] == RL_LOSS_CE && k != 1) CHECK_MSG(sc.n_items == in.val_len, "source %d: %g of %lld", k, sc.n_items, (long long)in.val_len);
            rl_trainer_free(t);
            /* the model file records the task and T */
            char mp[1300];
            snprintf(mp, sizeof mp, "%s/model.safetensors", dir);
            rl_model *m = NULL;
            rl_task_kind kind;
            CHECK_OK(rl_model_load(&m, mp, RL_F32));
            if (m) CHECK(rl_model_task(m, &kind) == T[k] && kind == c.task);
            rl_model_free(m);
        }
}

/* Learning what the data holds: whether a sequence's first input sums
 * above zero, read at each sequence's last step (its length): far above
 * the baseline's accuracy. */
TEST(datatask_learns_a_sequence_class)
{
    const char *p = seq_file_write("sign.npz", 3, 600, 10, 3);
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_DATA, c.text_path = p, c.cell = RL_CELL_GRU, c.hidden = 16, c.batch = 32, c.steps = 300;
    c.sched.lr = 1e-2, c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0, c.log_every = 100;
    rl_trainer *t = NULL;
    int intr = 0;
    CHECK_OK(rl_trainer_new(&t, &c, tmp_path("learn-sign")));
    if (!t) return;
    CHECK_OK(rl_trainer_run(t, NULL, &intr, NULL, NULL));
    rl_score sc;
    rl_trainer_last_eval(t, &sc);
    const rl_task_info in = rl_trainer_task_info(t);
    const double acc = sc.correct / sc.n_items;
    CHECK_MSG(in.val_len == 60 && sc.n_items == 60 && acc >= 0.9 && acc > in.baseline_accuracy + 0.3 &&
              sc.loss_sum / sc.weight_sum < 0.5 * in.baseline,
              "accuracy %g on %g (baseline %g), loss %g (baseline %g)", acc, sc.n_items, in.baseline_accuracy,
              sc.loss_sum / sc.weight_sum, in.baseline);
    rl_trainer_free(t);
}

/* A run on data resumed half-way ends with the bits of one never stopped. */
TEST(datatask_resume_is_exact)
{
    const char *p = seq_file_write("resume.npz", 1, 40, 5, 4);
    rl_train_config c = small(RL_TASK_DATA, p);
    c.steps = 12, c.ckpt_every = 6, c.valid_split = 0.25;
    rl_trainer *a = NULL, *b = NULL;
    int intr = 0;
    CHECK_OK(rl_trainer_new(&a, &c, tmp_path("whole")));
    TEST_RUN(a);
    c.steps = 6;
    CHECK_OK(rl_trainer_new(&b, &c, tmp_path("halves")));
    TEST_RUN(b);
    rl_trainer_free(b);
    b = NULL;
    CHECK_OK(rl_trainer_resume(&b, tmp_path("halves"), 12));
    if (b) {
        CHECK(rl_trainer_config(b).valid_split == 0.25 && rl_trainer_config(b).text_path && rl_trainer_config(b).text_path[0] == '/');
        CHECK_OK(rl_trainer_run(b, NULL, &intr, NULL, NULL));
    }
    if (a && b) {
        const rl_model *ma = rl_trainer_model(a), *mb = rl_trainer_model(b);
        CHECK(memcmp(rl_model_params((rl_model *)ma), rl_model_params((rl_model *)mb), rl_model_num_params(ma) * 4) == 0);
    }
    rl_trainer_free(a);
    rl_trainer_free(b);
    /* its data moved: resumed with the new path, recorded from then on */
    char moved[1200];
    snprintf(moved, sizeof moved, "%s/moved.npz", test_tmpdir);
    CHECK(rename(p, moved) == 0);
    b = NULL;
    CHECK(rl_trainer_resume(&b, tmp_path("halves"), 14) == RL_ERR_IO && strstr(rl_errmsg(), "resume.npz: cannot open"));
    rl_resume_options ro = {14, moved, NULL, NULL, 0};
    CHECK_OK(rl_trainer_resume_ex(&b, tmp_path("halves"), &ro));
    if (b) {
        CHECK(strcmp(rl_trainer_config(b).text_path, moved) == 0);
        CHECK_OK(rl_trainer_run(b, NULL, &intr, NULL, NULL));
    }
    rl_trainer_free(b);
    /* a CSV run keeps its columns (strings of the configuration) across the resume */
    const char *s = series_file_write("resume.csv", 100);
    rl_train_config cs = small(RL_TASK_DATA, s);
    cs.inputs = "u", cs.targets = "v", cs.window = 4, cs.steps = 6, cs.ckpt_every = 3;
    CHECK_OK(rl_trainer_new(&a, &cs, tmp_path("csv-run")));
    TEST_RUN(a);
    rl_trainer_free(a);
    a = NULL;
    CHECK_OK(rl_trainer_resume(&a, tmp_path("csv-run"), 9));
    if (a) {
        rl_train_config rc = rl_trainer_config(a);
        CHECK(rc.inputs && strcmp(rc.inputs, "u") == 0 && rc.targets && strcmp(rc.targets, "v") == 0 && rc.window == 4);
        CHECK_OK(rl_trainer_run(a, NULL, &intr, NULL, NULL));
        CHECK(rl_trainer_step(a) == 9);
    }
    rl_trainer_free(a);
}

/* Options that do not go with the task, refused by the configuration's check. */
TEST(datatask_options_need_their_task)
{
    static const struct { rl_task_kind task; const char *field, *value, *want; } c[] = {
        {RL_TASK_ADDING, "valid_split", "0.2", "--valid-split is for --task data, smnist or psmnist"},
        {RL_TASK_SMNIST, "valid_path", "v.npz", "--valid is for --task data"},
        {RL_TASK_TEXT, "window", "5", "--window is for --task data"},
        {RL_TASK_PSMNIST, "loss", "mse", "--loss is for --task data"},
        {RL_TASK_SMNIST, "perm_seed", "5", "--perm-seed is for --task psmnist"},
        {RL_TASK_COPY, "text_path", "x.npz", "--data is for --task text, data, smnist and psmnist"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        rl_train_config cfg = rl_train_defaults();
        cfg.task = c[k].task;
        if (c[k].task == RL_TASK_SMNIST || c[k].task == RL_TASK_PSMNIST) cfg.text_path = "dir";
        CHECK_OK(rl_option_parse(&cfg, rl_option_find(c[k].field), c[k].value));
        rl_status s = rl_train_config_check(&cfg);
        CHECK_MSG(s == RL_ERR_ARG && strstr(rl_errmsg(), c[k].want), "%s: %s", c[k].field, rl_errmsg());
    }
    rl_train_config cfg = rl_train_defaults();
    cfg.task = RL_TASK_DATA;
    CHECK(rl_train_config_check(&cfg) == RL_ERR_ARG && strstr(rl_errmsg(), "--task data needs --data FILE"));
    rl_task *t = NULL;
    CHECK(rl_task_new(&t, RL_TASK_SMNIST, 784, NULL) == RL_ERR_ARG && strstr(rl_errmsg(), "the task smnist reads its sequences from files"));
}
