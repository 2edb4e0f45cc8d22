/* Continuing and comparing runs (issue 28, item 4): a resume that changes
 * settings (the run's config history), a run started from a model file,
 * reports of several runs, metrics as CSV. */
#include "test.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static rl_train_config small(void)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = 12, c.cell = RL_CELL_LSTM, c.hidden = 8, c.batch = 6, c.steps = 40;
    c.log_every = 5, c.eval_every = 10, c.eval_batches = 2, c.flow_every = 10, c.ckpt_every = 10, c.seed = 3;
    return c;
}

static rl_status run_to_end(rl_trainer *t)
{
    int stop = 0, interrupted = 0;
    return rl_trainer_run(t, &stop, &interrupted, NULL, NULL);
}

static unsigned char *file_in(const char *dir, const char *name, size_t *n)
{
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return read_file(p, n);
}

/* A step schedule (lr halved at step 20) in one run, and a constant rate
 * resumed at step 20 with the schedule changed to it: the same model to the
 * bit, and the change recorded where it happened. A change the checkpoint
 * must keep (the model's size) is refused; a resume that changed settings
 * and stopped before running a step resumes with them. */
TEST(resume_with_changed_settings)
{
    rl_train_config c = small();
    c.sched.kind = RL_SCHED_STEP, c.sched.step_size = 20, c.sched.gamma = 0.5;
    const char *whole = tmp_path("chg-whole"), *parts = tmp_path("chg-parts");
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, whole));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    c = small();
    c.steps = 20;
    CHECK_OK(rl_trainer_new(&t, &c, parts));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    const char *bad[] = {"hidden=9"};
    rl_resume_options ro = {40, NULL, NULL, bad, 1};
    CHECK(rl_trainer_resume_ex(&t, parts, &ro) == RL_ERR_ARG && !t);
    CHECK_MSG(strstr(rl_errmsg(), "its hidden is the checkpoint's"), "%s", rl_errmsg());
    const char *set[] = {"schedule=step", "step_size=20", "gamma=0.5", "log_every=5"};
    ro = (rl_resume_options){40, NULL, NULL, set, 4};
    CHECK_OK(rl_trainer_resume_ex(&t, parts, &ro)); /* and stopped before a step */
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, parts, 40));
    if (t) {
        rl_train_config got = rl_trainer_config(t);
        CHECK(got.sched.kind == RL_SCHED_STEP && got.sched.step_size == 20 && got.sched.gamma == 0.5);
        CHECK_OK(run_to_end(t));
    }
    rl_trainer_free(t);
    size_t na = 0, nb = 0;
    unsigned char *a = file_in(whole, "model.safetensors", &na), *b = file_in(parts, "model.safetensors", &nb);
    CHECK_MSG(a && b && na == nb && memcmp(a, b, na) == 0, "the models differ (%zu and %zu bytes)", na, nb);
    free(a), free(b);
    char *m = (char *)file_in(parts, "metrics.jsonl", &na);
    CHECK_MSG(m && strstr(m, "{\"step\":20,\"config_changed\":{\"schedule\":[\"constant\",\"step\"],\"step_size\":[\"0\",\"20\"],"
                             "\"gamma\":[\"0.1\",\"0.5\"]}}"),
              "%s", m ? m : "(none)");
    CHECK(m && strstr(m, "{\"step\":25,\"loss\"") && strstr(m, "\"lr\":0.0005,"));
    free(m);
    /* the report shows the history; --json has it */
    const char *rep[] = {"rnnlab", "report", parts, NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    char *html = (char *)file_in(parts, "report.html", &na);
    CHECK(html && strstr(html, "settings changed</th><td>at step 20 (resumed): schedule constant &#8594; step, step_size 0 "
                               "&#8594; 20, gamma 0.1 &#8594; 0.5</td>"));
    free(html);
    /* the command line: --lr with --resume is a change, --hidden is refused (2) */
    const char *ok[] = {"rnnlab", "train", "--resume", parts, "--steps", "45", "--lr", "0.002", "--clip", "0.5", "--quiet", NULL};
    CHECK(run_cli(ok, NULL, NULL, 0, NULL, 0) == 0);
    m = (char *)file_in(parts, "metrics.jsonl", &na);
    CHECK(m && strstr(m, "{\"step\":40,\"config_changed\":{\"lr\":[\"0.001\",\"0.002\"],\"clip\":[\"1\",\"0.5\"]}}"));
    free(m);
    const char *no[] = {"rnnlab", "train", "--resume", parts, "--steps", "50", "--hidden", "9", NULL};
    char e[600];
    CHECK(run_cli(no, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "the rest comes from the checkpoint"));
}

/* metrics.csv beside metrics.jsonl: a row per step (the training line and
 * its validation merged), the same numbers to the last digit. */
TEST(metrics_csv_beside_the_json_lines)
{
    rl_train_config c = small();
    c.steps = 20;
    const char *dir = tmp_path("mcsv-run");
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    size_t n = 0;
    char *csv = (char *)file_in(dir, "metrics.csv", &n);
    const char *head = "step,loss,grad_norm,grad_norm_max,clipped,lr,skipped,tokens_per_s,baseline,val_loss,";
    CHECK_MSG(csv && strncmp(csv, head, strlen(head)) == 0,
              "%.200s", csv ? csv : "(no metrics.csv)");
    /* rows at steps 5, 10, 15, 20; the validation of step 10 on the row of step 10 */
    int rows = 0;
    for (char *p = csv ? strchr(csv, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) rows++;
    CHECK_MSG(rows == 4, "%d rows", rows);
    char *m = (char *)file_in(dir, "metrics.jsonl", &n);
    const char *v = m ? strstr(m, "{\"step\":10,\"val_loss\":") : NULL;
    CHECK(v != NULL);
    if (v && csv) {
        double want = strtod(v + strlen("{\"step\":10,\"val_loss\":"), NULL);
        const char *row = strstr(csv, "\n10,");
        CHECK(row != NULL);
        int commas = 0;
        for (const char *p = row ? row + 1 : ""; *p && *p != '\n' && commas < 9; p++)
            if (*p == ',' && ++commas == 9) CHECK_MSG(strtod(p + 1, NULL) == want, "val_loss %s, want %.17g", p + 1, want);
    }
    free(m), free(csv);
}

/* --init-from: a new run starts from another run's model (its weights are
 * the new run's init.safetensors), with a fresh optimiser; the sizes come
 * from the model on the command line; a model of another size, or a file
 * that is not a model, is refused in one line before anything is made. */
TEST(init_from_a_model)
{
    rl_train_config c = small();
    c.steps = 20;
    const char *a = tmp_path("from-a"), *b = tmp_path("from-b");
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, a));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    char model[1300], init[1300];
    snprintf(model, sizeof model, "%s/model.safetensors", a);
    snprintf(init, sizeof init, "%s/init.safetensors", b);
    const char *tr[] = {"rnnlab", "train", "--init-from", model, "--steps", "5", "--save-init", "--quiet", "--out", b, NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *ma = NULL, *mb = NULL;
    CHECK_OK(rl_model_load(&ma, model, RL_F32));
    CHECK_OK(rl_model_load(&mb, init, RL_F32));
    if (ma && mb) {
        const rl_config ca = rl_model_config(ma), cb = rl_model_config(mb);
        CHECK(cb.cell == RL_CELL_LSTM && cb.hidden_size == 8 && ca.input_size == cb.input_size);
        CHECK(rl_model_num_params(ma) == rl_model_num_params(mb) &&
              memcmp(rl_model_params_const(ma), rl_model_params_const(mb), rl_model_num_params(ma) * 4) == 0);
    }
    rl_model_free(ma), rl_model_free(mb);
    size_t n = 0;
    char *cfg = (char *)file_in(b, "config.json", &n);
    CHECK(cfg && strstr(cfg, "\"init_from\":") && strstr(cfg, "\"seq_len\":\t12"));
    free(cfg);
    /* another size; a data file */
    const char *big[] = {"rnnlab", "train", "--init-from", model, "--hidden", "9", "--steps", "5", "--out", tmp_path("from-c"), NULL};
    char e[600];
    struct stat sb;
    CHECK(run_cli(big, NULL, NULL, 0, e, sizeof e) == 1);
    char *err = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(err && strstr(err, "has shape (32, 2), expected (36, 2)"), "%s", err ? err : "");
    free(err);
    CHECK(stat(tmp_path("from-c"), &sb) != 0);
    const char *data = tmp_path("from-data.safetensors");
    const char *mk[] = {"rnnlab", "data", "--model", model, "--steps", "5", "--out", data, NULL};
    CHECK(run_cli(mk, NULL, NULL, 0, NULL, 0) == 0);
    c = small();
    c.init_from = data;
    CHECK(rl_trainer_new(&t, &c, tmp_path("from-d")) == RL_ERR_FORMAT && strstr(rl_errmsg(), "is a data file, not a model"));
    CHECK(stat(tmp_path("from-d"), &sb) != 0);
}

/* rnnlab report A B C --out DIR: the runs on the same axes (each figure's
 * CSV holds every run's points, run by run), a table of their settings and
 * results naming what differs; a folder that holds other files, a missing
 * --out and a folder that is not a run are refused. */
TEST(report_compares_runs)
{
    const char *dirs[3] = {tmp_path("cmp-a"), tmp_path("cmp-b"), tmp_path("cmp-c")};
    const double lr[3] = {1e-3, 1e-2, 3e-2};
    for (int i = 0; i < 3; i++) {
        rl_train_config c = small();
        c.steps = 20, c.sched.lr = lr[i];
        rl_trainer *t = NULL;
        CHECK_OK(rl_trainer_new(&t, &c, dirs[i]));
        if (t) CHECK_OK(run_to_end(t));
        rl_trainer_free(t);
    }
    const char *out = tmp_path("cmp-out");
    const char *rep[] = {"rnnlab", "report", dirs[0], dirs[1], dirs[2], "--out", out, NULL};
    const char *log = tmp_path("cmp-figures.jsonl");
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    char e[600];
    CHECK_MSG(run_cli(rep, NULL, NULL, 0, e, sizeof e) == 0, "%s", e);
    unsetenv("RNNLAB_FIGURE_LOG");
    size_t n = 0;
    char *html = (char *)file_in(out, "report.html", &n);
    CHECK(html && strstr(html, "The settings that differ between them: <code>lr</code>.") &&
          strstr(html, "<td>1</td><td><code>cmp-a</code></td><td>adding</td><td>12</td><td>lstm</td>") &&
          strstr(html, "<td>0.03</td>"));
    free(html);
    /* four figures, each with three runs' lines (the legend names them) */
    char *figs = (char *)read_file(log, &n);
    int count = 0;
    for (char *p = figs; p && (p = strstr(p, "compare-")) != NULL; p++) count += strncmp(p, "compare-loss.png", 16) == 0 ||
        strncmp(p, "compare-gradnorm.png", 20) == 0 || strncmp(p, "compare-flow.png", 16) == 0 || strncmp(p, "compare-radius.png", 18) == 0;
    CHECK_MSG(count == 4, "%d figures", count);
    free(figs);
    /* the loss CSV: run 1's rows are run cmp-a's metrics (steps 5..20) */
    char *csv = (char *)file_in(out, "compare-loss.csv", &n);
    int rows[4] = {0};
    for (char *p = csv ? strchr(csv, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        int r = atoi(p + 1);
        if (r >= 1 && r <= 3) rows[r]++;
    }
    CHECK_MSG(rows[1] == 4 && rows[2] == 4 && rows[3] == 4, "%d %d %d rows", rows[1], rows[2], rows[3]);
    free(csv);
    /* again into the same folder: it is this command's page */
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    const char *no_out[] = {"rnnlab", "report", dirs[0], dirs[1], NULL};
    CHECK(run_cli(no_out, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "--out DIR"));
    const char *busy[] = {"rnnlab", "report", dirs[0], dirs[1], "--out", dirs[2], NULL};
    CHECK(run_cli(busy, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "holds other files"));
    const char *empty = tmp_path("cmp-empty");
    CHECK(mkdir(empty, 0755) == 0);
    const char *notrun[] = {"rnnlab", "report", dirs[0], empty, "--out", tmp_path("cmp-out2"), NULL};
    CHECK(run_cli(notrun, NULL, NULL, 0, e, sizeof e) == 1 && strstr(e, "not a run folder"));
    const char *one[] = {"rnnlab", "report", dirs[0], "--out", tmp_path("cmp-out3"), NULL};
    CHECK(run_cli(one, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "--out is for several runs"));
}

/* A sweep's figure over --lr (issue 28): a log axis (0.001 to 0.01 is one
 * decade, drawn linear before), and the task's baseline under a loss. */
TEST(sweep_figure_of_a_rate)
{
    const char *text = "command train\n"
                       "options --task adding --seq-len 8 --hidden 4 --batch 4 --steps 5 --eval-every 0 --flow-every 0\n"
                       "grid    --lr 0.001 0.003 0.01\n";
    const char *spec = write_tmp("rate.sweep", text, strlen(text));
    const char *out = tmp_path("rate-sweep");
    const char *sw[] = {"rnnlab", "sweep", spec, "--out", out, "--quiet", NULL};
    CHECK(run_cli(sw, NULL, NULL, 0, NULL, 0) == 0);
    const char *log = tmp_path("rate-figures.jsonl");
    setenv("RNNLAB_FIGURE_LOG", log, 1);
    const char *rep[] = {"rnnlab", "report", out, "--result", "val_loss", NULL};
    CHECK(run_cli(rep, NULL, NULL, 0, NULL, 0) == 0);
    unsetenv("RNNLAB_FIGURE_LOG");
    size_t n = 0;
    char *t = (char *)read_file(log, &n);
    cJSON *fig = t ? cJSON_Parse(t) : NULL;
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(fig, "axes"), 0), *marks = cJSON_GetObjectItem(fig, "marks");
    CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItem(x, "log")), "%s", t ? t : "(no figure)");
    int black = 0; /* the baseline: colour 7 */
    for (int i = 0; i + 1 < cJSON_GetArraySize(marks); i += 2)
        black |= cJSON_GetArrayItem(marks, i)->valueint == 7 && cJSON_GetArrayItem(marks, i + 1)->valueint > 0;
    CHECK_MSG(black, "no baseline drawn: %s", t ? t : "");
    cJSON_Delete(fig);
    free(t);
}

/* --time-limit: a run stops once its seconds of training reach the limit,
 * with a last validation, a checkpoint and the model; the seconds are the
 * checkpoint's (train.seconds) and add up over resumes; a run at its limit
 * is refused until the limit grows; a run stopped by it and resumed ends with
 * the model of a run never stopped. Both sides of the option's range, and no
 * time limit for a run shared by processes. */
TEST(time_limit_stops_and_resumes)
{
    rl_train_config c = small();
    c.steps = 100000000, c.time_limit = 0.25, c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0;
    const char *dir = tmp_path("time-limit"), *whole = tmp_path("time-limit-whole");
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, dir));
    int64_t k = 0;
    if (t) {
        CHECK_OK(run_to_end(t));
        k = rl_trainer_timed_out(t);
        CHECK_MSG(k > 0 && k == rl_trainer_step(t) && k < c.steps, "stopped at %lld", (long long)k);
        CHECK(rl_trainer_seconds(t) >= 0.25 && rl_trainer_solved_step(t) == 0);
        rl_score sc;
        CHECK(rl_trainer_last_eval(t, &sc) == k); /* the last validation, though eval_every is 0 */
    }
    rl_trainer_free(t);
    size_t n = 0;
    char *m = (char *)file_in(dir, "metrics.jsonl", &n), want[64];
    snprintf(want, sizeof want, "{\"step\":%lld,\"time_limit\":0.25,\"seconds\":", (long long)k);
    CHECK_MSG(m && strstr(m, want), "%s", m ? m : "(none)");
    free(m);
    /* at its limit: refused, nothing run; with a larger one it goes on, the seconds summed */
    t = NULL;
    CHECK(rl_trainer_resume(&t, dir, 0) == RL_ERR_ARG && !t);
    CHECK_MSG(strstr(rl_errmsg(), "its time limit 0.25 s: give a larger time limit"), "%s", rl_errmsg());
    const char *more[] = {"time_limit=0.5"};
    rl_resume_options ro = {0, NULL, NULL, more, 1};
    CHECK_OK(rl_trainer_resume_ex(&t, dir, &ro));
    int64_t k2 = 0;
    if (t) {
        CHECK(rl_trainer_seconds(t) >= 0.25 && rl_trainer_seconds(t) < 0.5);
        CHECK_OK(run_to_end(t));
        k2 = rl_trainer_timed_out(t);
        CHECK_MSG(k2 > k && rl_trainer_seconds(t) >= 0.5, "%lld after %lld", (long long)k2, (long long)k);
    }
    rl_trainer_free(t);
    /* no limit, 7 steps more: the model of one run of k2 + 7 steps */
    const char *none[] = {"time_limit=0"};
    ro = (rl_resume_options){k2 + 7, NULL, NULL, none, 1};
    t = NULL;
    CHECK_OK(rl_trainer_resume_ex(&t, dir, &ro));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    c.steps = k2 + 7, c.time_limit = 0;
    t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, whole));
    if (t) CHECK_OK(run_to_end(t));
    rl_trainer_free(t);
    char pa[1300], pb[1300];
    snprintf(pa, sizeof pa, "%s/model.safetensors", dir), snprintf(pb, sizeof pb, "%s/model.safetensors", whole);
    rl_model *a = NULL, *b = NULL;
    CHECK_OK(rl_model_load(&a, pa, RL_F32));
    CHECK_OK(rl_model_load(&b, pb, RL_F32));
    CHECK(a && b && rl_model_num_params(a) == rl_model_num_params(b) &&
          memcmp(rl_model_params(a), rl_model_params(b), rl_model_num_params(a) * 4) == 0);
    rl_model_free(a), rl_model_free(b);
    /* the option's range, both sides; a shared run is refused before its folder is touched */
    const rl_option *o = rl_option_find("time_limit");
    rl_train_config d = small();
    CHECK(o && rl_option_resumable(o) && !rl_option_resumable(rl_option_find("hidden")));
    if (!o) return;
    CHECK_OK(rl_option_parse(&d, o, "0"));
    CHECK_OK(rl_option_parse(&d, o, "1e9"));
    CHECK(rl_option_parse(&d, o, "-0.001") == RL_ERR_ARG && d.time_limit == 1e9);
    CHECK(rl_option_parse(&d, o, "1.1e9") == RL_ERR_ARG);
    d.time_limit = 60, d.block_sum = 1;
    rl_shard two = {0, 2, NULL, NULL, NULL};
    const char *shared = tmp_path("time-limit-shared");
    t = NULL;
    CHECK(rl_trainer_new_ex(&t, &d, shared, &two) == RL_ERR_ARG && !t);
    CHECK_MSG(strstr(rl_errmsg(), "--time-limit stops on one process's clock"), "%s", rl_errmsg());
    struct stat sb;
    CHECK(stat(shared, &sb) != 0); /* not made */
}
