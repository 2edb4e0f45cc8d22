/* A model trained on a user's text or data is used with the model file
 * alone: rnnlab train records the file and the options of its data in the
 * model (metadata task_options), eval, data, jacobian and spectrum take them
 * (eval scoring the run's held-out part to the digit), one flag, --data,
 * gives the text in every command, and a file that has moved is said with
 * the flags that give it again (issue 28, item 3). */
#include "datafiles.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "loss" of eval --json's line on stdout */
static double json_loss(const char *out)
{
    const char *l = strstr(out, "\"loss\":");
    return l ? strtod(l + 7, NULL) : NAN;
}

TEST(trained_data_a_text_model_alone)
{
    /* a text of its own characters: the built-in corpus would not fit the model */
    char text[30000];
    rl_rng r;
    rl_rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof text; i++) text[i] = "xyz q\n"[rl_rng_next(&r) % 6];
    const char *txt = write_tmp("own.txt", text, sizeof text), *moved = tmp_path("own-moved.txt"), *run = tmp_path("own-run"),
               *model = tmp_path("own-run/model.safetensors");
    const char *tr[] = {"rnnlab", "train", "--task", "text", "--data", txt, "--hidden", "8", "--batch", "4", "--seq-len", "20",
                        "--steps", "6", "--quiet", "--out", run, NULL};
    char out[2048], err[2048];
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    /* the model records the text; a cast keeps it */
    rl_model *m = NULL, *m64 = NULL;
    CHECK_OK(rl_model_load(&m, model, RL_F32));
    rl_train_config tc = rl_train_defaults();
    if (m) CHECK_OK(rl_model_task_config(m, &tc));
    CHECK(tc.task == RL_TASK_TEXT && tc.seq_len == 20 && tc.text_path && strstr(tc.text_path, "own.txt"));
    if (m) CHECK_OK(rl_model_cast(&m64, m, RL_F64));
    tc = rl_train_defaults();
    if (m64) CHECK_OK(rl_model_task_config(m64, &tc));
    CHECK(tc.text_path && strstr(tc.text_path, "own.txt"));
    rl_model_free(m64);
    rl_model_free(m);
    /* eval with the model alone: the run's validation (its 4 streams, 10 windows), to the digit */
    const char *ev[] = {"rnnlab", "eval", "--model", model, "--batch", "4", "--batches", "10", "--json", NULL};
    int rc = run_cli(ev, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(err, "its data ") && strstr(err, "own.txt"), "eval: %d %s", rc, err);
    CHECK_MSG(fabs(json_loss(out) - last_metric(run, "val_loss")) < 1e-9, "%s against %g", out, last_metric(run, "val_loss"));
    /* data, jacobian and spectrum with the model alone */
    const char *d1 = tmp_path("own-d.st"), *d2 = tmp_path("own-d2.st");
    const char *da[] = {"rnnlab", "data", "--model", model, "--batch", "2", "--out", d1, NULL};
    const char *ja[] = {"rnnlab", "jacobian", "--model", model, "--out", tmp_path("own-j.st"), NULL};
    const char *sa[] = {"rnnlab", "spectrum", "--model", model, "--lags", "1,20", "--out", tmp_path("own-s.json"), NULL};
    CHECK_MSG((rc = run_cli(da, NULL, NULL, 0, err, sizeof err)) == 0, "data: %d %s", rc, err);
    CHECK_MSG((rc = run_cli(ja, NULL, NULL, 0, err, sizeof err)) == 0 && strstr(err, "own.txt"), "jacobian: %d %s", rc, err);
    CHECK_MSG((rc = run_cli(sa, NULL, NULL, 0, err, sizeof err)) == 0, "spectrum: %d %s", rc, err);
    /* one flag for the text in every command: data takes --data, as train and eval do */
    const char *dd[] = {"rnnlab", "data", "--model", model, "--data", txt, "--batch", "2", "--out", d2, NULL};
    const char *dt[] = {"rnnlab", "data", "--model", model, "--text", txt, "--out", d2, NULL};
    CHECK_MSG((rc = run_cli(dd, NULL, NULL, 0, err, sizeof err)) == 0, "data --data: %d %s", rc, err);
    CHECK(run_cli(dt, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "unknown option '--text' (the text is --data FILE"));
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = read_file(d1, &n1), *b2 = read_file(d2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0); /* the same windows of the same text */
    free(b1), free(b2);
    /* the text moved: each command says which flag gives it */
    CHECK(rename(txt, moved) == 0);
    CHECK(run_cli(ev, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "the text the model was trained on") &&
          strstr(err, "own.txt") && strstr(err, "give it with --data FILE"));
    CHECK(run_cli(da, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "give it with --data FILE"));
    CHECK_MSG(run_cli(ja, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "make its data with 'rnnlab data --model") &&
                  strstr(err, "--data FILE --out D' and give --data D"),
              "%s", err);
    const char *evm[] = {"rnnlab", "eval", "--model", model, "--data", moved, "--batch", "4", "--batches", "10", "--json", NULL};
    CHECK(run_cli(evm, NULL, out, sizeof out, err, sizeof err) == 0 && fabs(json_loss(out) - last_metric(run, "val_loss")) < 1e-9);
    /* resumed from its new place, the run's model records that */
    const char *res[] = {"rnnlab", "train", "--resume", run, "--steps", "8", "--data", moved, "--quiet", NULL};
    CHECK(run_cli(res, NULL, NULL, 0, err, sizeof err) == 0);
    CHECK_MSG(run_cli(ev, NULL, NULL, 0, err, sizeof err) == 0 && strstr(err, "own-moved.txt"), "%s", err);
}

TEST(trained_data_a_data_model_alone)
{
    const char *p = seq_file_write("own.npz", 0, 60, 6, 3), *moved = tmp_path("own-moved.npz"), *run = tmp_path("own-drun"),
               *model = tmp_path("own-drun/model.safetensors");
    const char *tr[] = {"rnnlab", "train", "--data", p, "--hidden", "6", "--batch", "8", "--steps", "5", "--valid-split", "0.25",
                        "--quiet", "--out", run, NULL};
    char out[2048], err[2048];
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, model, RL_F32));
    rl_train_config tc = rl_train_defaults();
    if (m) CHECK_OK(rl_model_task_config(m, &tc));
    CHECK(tc.task == RL_TASK_DATA && tc.seq_len == 6 && tc.valid_split == 0.25 && tc.text_path && strstr(tc.text_path, "own.npz"));
    /* eval alone scores the part the run held out: its last validation */
    const char *ev[] = {"rnnlab", "eval", "--model", model, "--json", NULL};
    int rc = run_cli(ev, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(out, "\"sequences\":15") && fabs(json_loss(out) - last_metric(run, "val_loss")) < 1e-9,
              "eval: %d %s %s", rc, out, err);
    /* data: the first held-out sequences; jacobian: sequence 2 of them */
    const char *d1 = tmp_path("own-dd.st");
    const char *da[] = {"rnnlab", "data", "--model", model, "--batch", "3", "--out", d1, NULL};
    const char *ja[] = {"rnnlab", "jacobian", "--model", model, "--seq", "2", "--out", tmp_path("own-dj.st"), NULL};
    CHECK_MSG((rc = run_cli(da, NULL, NULL, 0, err, sizeof err)) == 0, "data: %d %s", rc, err);
    CHECK_MSG((rc = run_cli(ja, NULL, NULL, 0, err, sizeof err)) == 0, "jacobian: %d %s", rc, err);
    rl_data *d = NULL;
    if (m) CHECK_OK(rl_data_load(&d, d1, m, RL_F32));
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    CHECK(b && b->batch == 3 && b->steps == 6);
    rl_data_free(d);
    rl_model_free(m);
    /* moved: the flags that read the same data again, the run's split among them */
    CHECK(rename(p, moved) == 0);
    CHECK_MSG(run_cli(ev, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "the data the model was trained on") &&
                  strstr(err, "give it with --data FILE --valid-split 0.25"),
              "%s", err);
    CHECK(run_cli(ja, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "--data FILE --valid-split 0.25 --out D"));
    const char *evm[] = {"rnnlab", "eval", "--model", model, "--data", moved, "--valid-split", "0.25", "--json", NULL};
    CHECK(run_cli(evm, NULL, out, sizeof out, err, sizeof err) == 0 && fabs(json_loss(out) - last_metric(run, "val_loss")) < 1e-9);
    /* too many sequences asked of the held-out part */
    const char *many[] = {"rnnlab", "data", "--model", model, "--data", moved, "--valid-split", "0.25", "--batch", "16", "--out", d1, NULL};
    CHECK(run_cli(many, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "has 15 sequences, fewer than the 16"));
}
