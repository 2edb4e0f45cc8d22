/* The tasks' generators measured on many samples (adding, adding-hs97,
 * copy, temporal order, text), and their "solved" criteria. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
