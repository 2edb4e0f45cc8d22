/* Checkpoints and resuming: a resumed run is the run never interrupted, to
 * the bit and to its records; NaN, Ctrl-C, SIGKILL and failed writes keep
 * the last checkpoint; older checkpoints resume, newer ones are refused. */
#include "train/run.h"
#include "nets.h"

#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        rl_train_config c = test_small_config(tasks[k], cells[k]);
        char a[1100], b[1100];
        snprintf(a, sizeof a, "%s/full%d", test_tmpdir, k);
        snprintf(b, sizeof b, "%s/split%d", test_tmpdir, k);
        rl_trainer *t = TEST_TRAIN(&c, a);
        rl_trainer_free(t);
        c.steps = 20; /* stop half way, then resume to 40 */
        t = TEST_TRAIN(&c, b);
        rl_trainer_free(t);
        t = NULL;
        CHECK_OK(rl_trainer_resume(&t, b, 40));
        CHECK(t && rl_trainer_step(t) == 20);
        TEST_RUN(t);
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
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_TANH);
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
    t = TEST_TRAIN(&c, dir);
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
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_LSTM);
    c.ckpt_every = 10, c.steps = 30, c.eval_every = 0, c.flow_every = 0;
    char dir[1100], ck[1200];
    snprintf(dir, sizeof dir, "%s/diskfull", test_tmpdir);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    rl_trainer *t = NULL;
    int intr = 0;
    rl_train_config first = c;
    first.steps = 10;
    t = TEST_TRAIN(&first, dir); /* checkpoint at step 10 */
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
    TEST_RUN(t);
    rl_trainer_free(t);
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
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_GRU);
    c.steps = 30, c.sched.kind = RL_SCHED_COSINE, c.sched.min_lr = 1e-5, c.sched.lr = 1e-2, c.sched.warmup = 3;
    c.ckpt_every = 0;
    char full[1000], part[1000];
    snprintf(full, sizeof full, "%s/cos-full", test_tmpdir);
    snprintf(part, sizeof part, "%s/cos-part", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    volatile int stop = 0;
    t = TEST_TRAIN(&c, full);
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
    rl_train_config c = test_small_config(RL_TASK_TEXT, RL_CELL_TANH);
    c.text_path = tmp_path("no-such-text.txt");
    rl_trainer *t = NULL;
    struct stat sb;
    CHECK(rl_trainer_new(&t, &c, tmp_path("failed-start")) == RL_ERR_IO && !t);
    CHECK(stat(tmp_path("failed-start"), &sb) != 0);
    c = test_small_config(RL_TASK_ADDING, RL_CELL_TANH);
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
    rl_train_config c = test_small_config(RL_TASK_TEXT, RL_CELL_LSTM);
    c.steps = 10, c.hidden = 8, c.batch = 4, c.layers = 1, c.text_path = "rel.txt";
    snprintf(dir, sizeof dir, "%s/reltext", test_tmpdir);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    rl_trainer *t = NULL;
    if (chdir(test_tmpdir) == 0) {
        CHECK_OK(rl_trainer_new(&t, &c, dir));
        CHECK(chdir(cwd) == 0);
    }
    TEST_RUN(t);
    rl_trainer_free(t);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors.tmp.Ab12Cd", dir);
    write_tmp("reltext/checkpoint.safetensors.tmp.Ab12Cd", "x", 1);
    write_tmp("reltext/notes.tmpl", "keep", 4);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, dir, 20));
    TEST_RUN(t);
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

/* A run stopped before its first step and resumed records the flow before
 * training once, as a run never stopped does. */
TEST(resume_at_step_0_records_once)
{
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_TANH);
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
    TEST_RUN(t);
    rl_trainer_free(t);
    snprintf(p, sizeof p, "%s/flow.jsonl", dir);
    size_t n = 0;
    unsigned char *txt = read_file(p, &n);
    int zeros = 0, lines = 0;
    for (char *l = txt ? strtok((char *)txt, "\n") : NULL; l; l = strtok(NULL, "\n")) lines++, zeros += strncmp(l, "{\"step\":0,", 10) == 0;
    CHECK_MSG(zeros == 1 && lines == 2, "flow.jsonl: %d records at step 0 of %d", zeros, lines);
    free(txt);
}

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
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_TANH);
    c.steps = 30, c.log_every = 5, c.ckpt_every = 0, c.inject_nan_at = 3, c.skip_nonfinite = 1;
    char full[1100], part[1100];
    snprintf(full, sizeof full, "%s/rec-full", test_tmpdir);
    snprintf(part, sizeof part, "%s/rec-part", test_tmpdir);
    rl_trainer *t = NULL;
    int intr = 0;
    volatile int stop = 0;
    t = TEST_TRAIN(&c, full);
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, part));
    if (t) rl_trainer_set_hook(t, stop_at_step, (void *)&stop);
    if (t) CHECK_OK(rl_trainer_run(t, &stop, &intr, NULL, NULL));
    CHECK(intr && t && rl_trainer_step(t) == 13);
    rl_trainer_free(t);
    t = NULL;
    CHECK_OK(rl_trainer_resume(&t, part, 0));
    TEST_RUN(t);
    rl_trainer_free(t);
    char *a = records_of(full), *b = records_of(part);
    CHECK_MSG(a && b && strcmp(a, b) == 0 && strstr(a, "\"skipped\":1"), "the records differ:\n%s---\n%s", a, b);
    free(a), free(b);
    /* the last step skipped: the run still ends with its records and model */
    c.inject_nan_at = 30;
    snprintf(part, sizeof part, "%s/rec-lastskip", test_tmpdir);
    t = TEST_TRAIN(&c, part);
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
