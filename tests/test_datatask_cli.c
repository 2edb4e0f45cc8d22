/* `rnnlab train --data` and `rnnlab eval --data` (a user's data from the
 * command line): a run's held-out part scored again by eval to the digit,
 * the MNIST tasks and CSV series, and every malformed file refused in one
 * line, exit status 1, with nothing written. */
#include "datafiles.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TEST(datatask_cli_train_and_eval)
{
    const char *p = seq_file_write("cli.npz", 3, 200, 8, 5);
    const char *run = tmp_path("cli-run");
    char out[1024], err[1024];
    const char *tr[] = {"rnnlab", "train", "--data", p, "--cell", "gru", "--hidden", "8", "--batch", "16", "--steps", "40",
                        "--lr", "0.01", "--valid-split", "0.2", "--out", run, "--quiet", NULL};
    int rc = run_cli(tr, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0, "train: %d %s", rc, err);
    /* eval of the part the run held out: the run's last validation, to the digit */
    char mp[1300];
    snprintf(mp, sizeof mp, "%s/model.safetensors", run);
    const char *ev[] = {"rnnlab", "eval", "--model", mp, "--data", p, "--valid-split", "0.2", "--json", NULL};
    rc = run_cli(ev, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(out, "\"task\":\"data\"") && strstr(out, "\"sequences\":40") && strstr(out, "\"baseline_accuracy\""),
              "eval: %d %s %s", rc, out, err);
    const char *acc = strstr(out, "\"accuracy\":"), *loss = strstr(out, "\"loss\":");
    CHECK(acc && loss && fabs(strtod(acc + 11, NULL) - last_metric(run, "val_accuracy")) < 1e-12 &&
          fabs(strtod(loss + 7, NULL) - last_metric(run, "val_loss")) < 1e-9);
    /* the whole file, and --seq-len refused */
    const char *all[] = {"rnnlab", "eval", "--model", mp, "--data", p, "--json", NULL};
    rc = run_cli(all, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(out, "\"sequences\":200"), "eval all: %d %s %s", rc, out, err);
    const char *seq[] = {"rnnlab", "eval", "--model", mp, "--data", p, "--seq-len", "5", NULL};
    rc = run_cli(seq, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 2 && strstr(err, "the data sets the sequences' length"), "%d %s", rc, err);
    /* a file of another kind of target against this classifier */
    const char *reg = seq_file_write("cli-reg.npz", 0, 10, 8, 6);
    const char *bad[] = {"rnnlab", "eval", "--model", mp, "--data", reg, NULL};
    rc = run_cli(bad, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 1 && run_cli_err_lines() == 1 && strstr(err, "cli-reg.npz: y is float32, but the loss is cross_entropy"), "%d %s", rc, err);
    /* a validation file of its own */
    const char *valid = seq_file_write("cli-valid.npz", 3, 30, 8, 7);
    const char *run2 = tmp_path("cli-run2");
    const char *tv[] = {"rnnlab", "train", "--data", p, "--valid", valid, "--hidden", "4", "--steps", "4", "--out", run2, "--quiet", NULL};
    rc = run_cli(tv, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(err, "task data, T = 8"), "train --valid: %d %s", rc, err);
}

/* Every malformed input: one line naming the array and the defect, exit
 * status 1, and no run folder. */
TEST(datatask_cli_refuses_malformed_data)
{
    float x[12] = {0};
    x[5] = NAN;
    int64_t y[2] = {0, 1}, ybad[2] = {0, -3};
    float half[6] = {1, 0.5f, 1, 1, 1, 1};
    static const struct { const char *want; int which; } c[] = {
        {"x[0, 2, 1] is NaN", 0}, {"y[1] is -3", 1}, {"mask[0, 1] is 0.5", 2}, {"array 'y' is missing", 3}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        float xs[12] = {0};
        npy_spec a[3] = {{"x", "<f4", 3, {2, 3, 2}, c[k].which == 0 ? x : xs}, {"y", "<i8", 1, {2}, c[k].which == 1 ? ybad : y},
                         {"mask", "<f4", 2, {2, 3}, half}};
        const char *p = tmp_path("malformed.npz");
        CHECK(npz_write_arrays(p, a, c[k].which == 2 ? 3 : c[k].which == 3 ? 1 : 2, 0) == 0);
        const char *run = tmp_path("never-made");
        const char *tr[] = {"rnnlab", "train", "--data", p, "--steps", "2", "--out", run, NULL};
        char err[1024];
        int rc = run_cli(tr, NULL, NULL, 0, err, sizeof err);
        struct stat sb;
        CHECK_MSG(rc == 1 && run_cli_err_lines() == 1 && strstr(err, "malformed.npz") && strstr(err, c[k].want) && stat(run, &sb) != 0,
                  "case %zu: %d '%s'", k, rc, err);
    }
    const char *nofile[] = {"rnnlab", "train", "--data", tmp_path("nothing-here.npz"), "--out", tmp_path("never-made"), NULL};
    char err[1024];
    int rc = run_cli(nofile, NULL, NULL, 0, err, sizeof err);
    CHECK_MSG(rc == 1 && strstr(err, "nothing-here.npz: cannot open"), "%d %s", rc, err);
}

TEST(datatask_cli_mnist_and_csv)
{
    const char *dir = mnist_folder_write("mnist-cli", 27, 9);
    const char *run = tmp_path("ps-run");
    char out[1024], err[1024];
    const char *tr[] = {"rnnlab", "train", "--task", "psmnist", "--data", dir, "--perm-seed", "7", "--hidden", "4", "--steps", "3",
                        "--out", run, "--quiet", NULL};
    int rc = run_cli(tr, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(err, "task psmnist, T = 9"), "%d %s", rc, err);
    char cfg[1300];
    snprintf(cfg, sizeof cfg, "%s/config.json", run);
    size_t n = 0;
    char *txt = (char *)read_file(cfg, &n);
    CHECK(txt && strstr(txt, "\"perm_seed\":\t7") && strstr(txt, "\"seq_len\":\t9"));
    free(txt);
    char mp[1300];
    snprintf(mp, sizeof mp, "%s/model.safetensors", run);
    /* the test images; the run's permutation again with its seed (the same numbers as the run's last validation) */
    const char *ev[] = {"rnnlab", "eval", "--model", mp, "--data", dir, "--perm-seed", "7", "--json", NULL};
    rc = run_cli(ev, NULL, out, sizeof out, err, sizeof err);
    const char *loss = strstr(out, "\"loss\":");
    CHECK_MSG(rc == 0 && strstr(out, "\"task\":\"psmnist\"") && strstr(out, "\"sequences\":9") && loss &&
              fabs(strtod(loss + 7, NULL) - last_metric(run, "val_loss")) < 1e-9, "%d %s %s", rc, out, err);
    /* a CSV series: windows of 6 rows, forecast 2 ahead; eval scores its test part */
    const char *csv = series_file_write("cli.csv", 200);
    const char *run2 = tmp_path("csv-cli");
    const char *tc[] = {"rnnlab", "train", "--data", csv, "--inputs", "u,v", "--targets", "u", "--window", "6", "--horizon", "2",
                        "--hidden", "4", "--steps", "3", "--out", run2, "--quiet", NULL};
    rc = run_cli(tc, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0 && strstr(err, "task data, T = 6"), "%d %s", rc, err);
    snprintf(mp, sizeof mp, "%s/model.safetensors", run2);
    const char *ec[] = {"rnnlab", "eval", "--model", mp, "--data", csv, "--inputs", "u,v", "--targets", "u", "--window", "6",
                        "--horizon", "2", "--json", NULL};
    rc = run_cli(ec, NULL, out, sizeof out, err, sizeof err);
    /* the test part: rows 171-200 (30 rows), windows of 6 + 2: (30 - 8) / 6 + 1 = 4 */
    CHECK_MSG(rc == 0 && strstr(out, "\"sequences\":4") && strstr(out, "\"nrmse\""), "%d %s %s", rc, out, err);
    const char *wrong[] = {"rnnlab", "train", "--data", csv, "--targets", "w", "--window", "6", "--out", tmp_path("never-made"), NULL};
    rc = run_cli(wrong, NULL, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 2 && strstr(err, "--targets: no column 'w'"), "%d %s", rc, err);
}
