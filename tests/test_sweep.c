/* rnnlab sweep and rnnlab report on a sweep: the same results on one process
 * and on two (mpirun), a rerun that skips what has finished, a record cut
 * short by a kill, failed points, mistakes in a spec, the figure. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run a shell command line; its exit status (-1 if it did not exit). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    fflush(stdout), fflush(stderr);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The lines of a file, sorted, as one string (malloc'ed); NULL if unreadable. */
static char *sorted_lines(const char *path)
{
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "LC_ALL=C sort '%s' > '%s.sorted'", path, path);
    if (sh("%s", cmd) != 0) return NULL;
    snprintf(cmd, sizeof cmd, "%s.sorted", path);
    size_t n = 0;
    return (char *)read_file(cmd, &n);
}

static int count_lines(const char *path)
{
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    int k = 0;
    for (size_t i = 0; b && i < n; i++) k += b[i] == '\n';
    free(b);
    return b ? k : -1;
}

static const char *err_file(void) { return tmp_path("sweep.err"); }

static char *err_text(void)
{
    size_t n = 0;
    char *b = (char *)read_file(err_file(), &n);
    return b ? b : calloc(1, 1);
}

/* The figure name that rnnlab report drew in dir: png_stats's numbers, ok
 * when it decoded. */
typedef struct {
    unsigned w, h;
    double ink;
    int colours, ok;
} figure;

static figure report_figure(const char *dir, const char *name)
{
    char png[1200];
    snprintf(png, sizeof png, "%s/%s", dir, name);
    figure f = {0};
    f.ok = png_stats(png, &f.w, &f.h, &f.ink, &f.colours) == 0;
    return f;
}

static const char lyap_spec[] = "# a small lambda_max sweep\n"
                                "command lyapunov\n"
                                "init    --input 1 --hidden 12 --output 1 --init gaussian --zero-bias\n"
                                "options --steps 150 --transient 50 --k 2\n"
                                "grid    --cell tanh gru\n"
                                "grid    --gain 0.5:1.5:1   # 0.5 and 1.5\n"
                                "seeds   0:1\n";

TEST(sweep_gives_the_same_results_on_1_and_2_ranks)
{
    const char *spec = write_tmp("lyap.sweep", lyap_spec, sizeof lyap_spec - 1);
    char one[1100], two[1100], r1[1200], r2[1200], root[32] = "";
    snprintf(one, sizeof one, "%s/sweep-one", test_tmpdir);
    snprintf(two, sizeof two, "%s/sweep-two", test_tmpdir);
    snprintf(r1, sizeof r1, "%s/results.jsonl", one);
    snprintf(r2, sizeof r2, "%s/results.jsonl", two);
    if (geteuid() == 0) snprintf(root, sizeof root, "--allow-run-as-root");
    int rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, one, err_file());
    char *e = err_text();
    CHECK_MSG(rc == 0 && strstr(e, "8 of 8 points finished (8 in this run"), "status %d: %s", rc, e);
    free(e);
    /* two processes: rank 0 hands the points out as they ask; asan's leak check off in them (tests/test_mpi.c) */
    rc = sh("ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0\" timeout 120 mpirun --oversubscribe %s -np 2 '%s' sweep '%s' --out '%s' "
            "2>'%s'",
            root, test_cli, spec, two, err_file());
    e = err_text();
    CHECK_MSG(rc == 0 && strstr(e, "on 2 processes") && strstr(e, ", rank 1)"), "mpirun: status %d: %s", rc, e);
    free(e);
    char *a = sorted_lines(r1), *b = sorted_lines(r2);
    CHECK_MSG(a && b && strcmp(a, b) == 0, "the results differ between 1 and 2 processes:\n%s\n--\n%s", a ? a : "", b ? b : "");
    CHECK(count_lines(r1) == 8 && strstr(a ? a : "", "\"lambda_max\":") && strstr(a ? a : "", "\"options\":{\"cell\":\"gru\",\"gain\":1.5,\"seed\":1}"));
    free(a), free(b);
    /* a rerun skips what has finished */
    rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, two, err_file());
    e = err_text();
    CHECK_MSG(rc == 0 && strstr(e, "8 finished before, 0 to run") && count_lines(r2) == 8, "rerun: status %d: %s", rc, e);
    free(e);
    /* a record cut short by a kill is dropped, and its point run again; one
     * that is missing (the sweep died before writing it) is run again */
    size_t n = 0;
    char *all = (char *)read_file(r2, &n);
    char *last = all ? strrchr(all, '\n') : NULL;
    while (last && last > all && last[-1] != '\n') last--;
    if (last && all) {
        size_t keep = (size_t)(last - all);
        FILE *f = fopen(r2, "w");
        if (f) {
            fwrite(all, 1, keep, f);         /* 7 whole lines */
            fwrite(last, 1, 20, f);          /* and the start of the eighth */
            fclose(f);
        }
    }
    free(all);
    rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, two, err_file());
    e = err_text();
    CHECK_MSG(rc == 0 && strstr(e, "dropped a line") && strstr(e, "7 finished before, 1 to run") && count_lines(r2) == 8,
              "after a torn line: status %d: %s", rc, e);
    free(e);
    a = sorted_lines(r1), b = sorted_lines(r2);
    CHECK_MSG(a && b && strcmp(a, b) == 0, "the results differ after the rerun");
    free(a), free(b);
    /* the report: the mean over the seeds, a line per cell, and the figure */
    rc = sh("'%s' report '%s' --json > '%s' 2>'%s'", test_cli, one, tmp_path("sweep.json.out"), err_file());
    size_t jn = 0;
    char *j = (char *)read_file(tmp_path("sweep.json.out"), &jn);
    CHECK_MSG(rc == 0 && j && strstr(j, "\"result\":\"lambda_max\",\"x\":\"gain\",\"by\":\"cell\",\"points\":8"), "report --json: %s",
              j ? j : "");
    CHECK(j && strstr(j, "\"n\":[2,2]"));
    free(j);
    rc = sh("'%s' report '%s' 2>'%s'", test_cli, one, err_file());
    figure f = report_figure(one, "sweep-lambda_max.png");
    CHECK_MSG(rc == 0 && f.ok && f.w > 400 && f.ink > 0.01 && f.colours >= 3, "report: status %d, %ux%u, ink %.3f, %d colours",
              rc, f.w, f.h, f.ink, f.colours);
    rc = sh("'%s' report '%s' --x nope 2>'%s'", test_cli, one, err_file());
    e = err_text();
    CHECK_MSG(rc == 2 && strstr(e, "--x nope is not an axis"), "status %d: %s", rc, e);
    free(e);
}

TEST(sweep_train_and_jacobian_points)
{
    static const char train_spec[] =
        "command train\n"
        "options --task adding --seq-len 10 --hidden 8 --batch 8 --steps 6 --eval-every 0 --eval-batches 1 --flow-every 0\n"
        "grid method\n"
        "    tanh   --cell tanh\n"
        "    bad    --cell tanh --forget-bias 1\n"
        "seeds 3\n";
    const char *spec = write_tmp("train.sweep", train_spec, sizeof train_spec - 1);
    char dir[1100], res[1200];
    snprintf(dir, sizeof dir, "%s/sweep-train", test_tmpdir);
    snprintf(res, sizeof res, "%s/results.jsonl", dir);
    int rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, dir, err_file());
    char *e = err_text();
    /* a point that fails is said, with its reason and log, and not recorded: a rerun tries it again */
    CHECK_MSG(rc == 1 && strstr(e, "method=bad seed=3: failed, status 2: rnnlab train: --forget-bias is for cells with a forget gate") &&
                  strstr(e, "1 of 2 points finished") && strstr(e, "1 failed") && count_lines(res) == 1,
              "status %d: %s", rc, e);
    free(e);
    size_t n = 0;
    char *r = (char *)read_file(res, &n);
    CHECK_MSG(r && strstr(r, "\"command\":\"train\",\"options\":{\"method\":\"tanh\",\"seed\":3},\"result\":{\"val_loss\":") &&
                  strstr(r, "\"steps\":6"),
              "%s", r ? r : "");
    free(r);
    rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, dir, err_file());
    e = err_text();
    CHECK_MSG(rc == 1 && strstr(e, "1 finished before, 1 to run"), "rerun: status %d: %s", rc, e);
    free(e);
    /* jacobian: a model, a sequence, the products */
    static const char jac_spec[] = "command jacobian\n"
                                   "init --input 2 --output 1 --cell tanh\n"
                                   "data --steps 12\n"
                                   "grid --gain 0.5 2\n"
                                   "grid init:--init gaussian orthogonal\n"
                                   "grid --hidden 4 6\n";
    spec = write_tmp("jac.sweep", jac_spec, sizeof jac_spec - 1);
    snprintf(dir, sizeof dir, "%s/sweep-jac", test_tmpdir);
    snprintf(res, sizeof res, "%s/results.jsonl", dir);
    rc = sh("'%s' sweep '%s' --out '%s' --quiet 2>'%s'", test_cli, spec, dir, err_file());
    e = err_text();
    r = (char *)read_file(res, &n);
    CHECK_MSG(rc == 0 && count_lines(res) == 8 && r && strstr(r, "\"options\":{\"gain\":2,\"init.init\":\"orthogonal\",\"hidden\":6}") &&
                  strstr(r, "\"log_norm_rate\":"),
              "status %d: %s\n%s", rc, e, r ? r : "");
    free(e), free(r);
    /* two numeric axes: a heat map */
    rc = sh("'%s' report '%s' --x gain --by hidden 2>'%s'", test_cli, dir, err_file());
    figure f = report_figure(dir, "sweep-log_norm_rate.png");
    CHECK_MSG(rc == 0 && f.ok && f.colours >= 3, "heat map: status %d, %d colours", rc, f.colours);
    rc = sh("'%s' report '%s' --x gain --by gain 2>'%s'", test_cli, dir, err_file());
    CHECK(rc == 2);
}

TEST(sweep_spec_mistakes)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"command train\nfrobnicate 3\n", "bad.sweep:2: unknown statement 'frobnicate'"},
        {"grid --gain 1 2\n", "bad.sweep:1: 'command' comes before the axes"},
        {"command lyapunov\ninit --hidden 4\ngrid --gain 1:0:1\n", "bad.sweep:3: '1:0:1' is not a range"},
        {"command jacobian\ninit --hidden 4\n", "jacobian needs a 'data' line"},
        {"command train\noptions --hidden 4\ngrid --hidden 8 16\n", "--hidden is given twice"},
        {"command train\n    --hidden 4\n", "bad.sweep:2: an indented line belongs to a 'grid NAME'"},
        {"command train\nseeds -1\n", "seed '-1' is not a whole number"},
        {"command sing\n", "unknown command 'sing'"},
        /* every point's options are checked against the table before anything runs */
        {"command train\ngrid method\n    ok --lr 1e-3\n    bad --lr -1\n",
         "point method=bad: rnnlab train: --lr = -1 is out of range [1e-12, 1000]"},
        {"command lyapunov\ninit --cell tanh --input 1 --hidden 4 --output 1\noptions --steps 10 --no-such 3\n", "rnnlab lyapunov has no option --no-such"},
        {"command lyapunov\ninit --cell tanh --input 1 --hidden 4 --output 1\noptions --steps 10\ngrid data:--steps 5\n", "is for a stage lyapunov does not have"},
        {"command jacobian\ninit --cell tanh --input 1 --hidden 4 --output 1\ndata --steps 5\noptions --out j.safetensors\n",
         "--out is the sweep's to give rnnlab jacobian"},
        {"command lyapunov\ninit --cell tanh --input 1 --hidden 4 --output 1\noptions --steps 10 --quiet\n", "--quiet is the sweep's"},
        {"command lyapunov\ninit --cell tanh --input 1 --hidden 4 --output 1\noptions --steps\n", "--steps of rnnlab lyapunov needs a value"},
        {"command lyapunov\ninit --cell tanh --input 1 --output 1\noptions --steps 10\n", "rnnlab init needs --hidden"},
        {"command lyapunov\ninit --cell tanh --input 1 --hidden 2 --output 1\n", "rnnlab lyapunov needs --steps"},
        {"command train\noptions --steps 5 12\n", "'12' for rnnlab train is not an option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *spec = write_tmp("bad.sweep", bad[i].text, strlen(bad[i].text));
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/sweep-bad%zu", test_tmpdir, i);
        int rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, dir, err_file());
        char *e = err_text();
        struct stat sb;
        CHECK_MSG(rc == 2 && strstr(e, bad[i].says) && stat(dir, &sb) != 0, "spec %zu: status %d: %s", i, rc, e);
        free(e);
    }
    /* a folder of other files is not written into */
    const char *spec = write_tmp("ok.sweep", lyap_spec, sizeof lyap_spec - 1);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/sweep-users", test_tmpdir);
    mkdir(dir, 0755);
    char f[1200];
    snprintf(f, sizeof f, "%s/notes.txt", dir);
    write_tmp("sweep-users/notes.txt", "mine", 4);
    int rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, dir, err_file());
    char *e = err_text();
    CHECK_MSG(rc == 1 && strstr(e, "holds files that are not a sweep's ('notes.txt')"), "status %d: %s", rc, e);
    free(e);
}

/* An option of rnnlab init in a lyapunov (or jacobian) sweep goes to the
 * model, whichever it is: the routing asks the option table. (The sweep
 * kept a list of init's options that lacked --input-scale, --recurrent-min
 * and --orthogonal: a sweep over --input-scale sent it to lyapunov, and
 * every point failed with "unknown option".) */
TEST(sweep_routes_every_init_option_to_the_model)
{
    static const char dry_spec[] = "command lyapunov\n"
                                   "init --input 1 --hidden 4 --output 1\n"
                                   "options --steps 20\n"
                                   "grid --input-scale 0.5 2\n"
                                   "grid kind\n"
                                   "    indrnn --cell indrnn --recurrent-max 1 --recurrent-min 0.5\n"
                                   "    orth   --cell tanh --orthogonal exp\n";
    const char *spec = write_tmp("route.sweep", dry_spec, sizeof dry_spec - 1);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/sweep-route", test_tmpdir);
    int rc = sh("'%s' sweep '%s' --out '%s' --dry-run >'%s' 2>'%s'", test_cli, spec, dir, tmp_path("route.out"), err_file());
    size_t n = 0;
    char *out = (char *)read_file(tmp_path("route.out"), &n), *e = err_text();
    CHECK_MSG(rc == 0 && out, "dry run: status %d: %s", rc, e);
    /* each on the init line, none on the lyapunov line */
    int on_init = 0, on_cmd = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        int init = strncmp(line, "rnnlab init ", 12) == 0, cmd = strncmp(line, "rnnlab lyapunov ", 16) == 0;
        const char *opts[3] = {"--input-scale ", "--recurrent-min ", "--orthogonal "};
        for (int k = 0; k < 3; k++) {
            on_init += init && strstr(line, opts[k]) != NULL;
            on_cmd += cmd && strstr(line, opts[k]) != NULL;
        }
    }
    CHECK_MSG(on_init == 4 + 2 + 2 && on_cmd == 0, "the options on init lines %d times (want 8), on lyapunov lines %d", on_init,
              on_cmd);
    free(out), free(e);
    /* and the points run: lambda_max at both input scales */
    static const char run_spec[] = "command lyapunov\n"
                                   "init --cell tanh --input 1 --hidden 4 --output 1 --init gaussian --gain 1.5\n"
                                   "options --steps 30 --transient 10 --k 1 --input noise\n"
                                   "grid --input-scale 0.5 2\n";
    spec = write_tmp("route-run.sweep", run_spec, sizeof run_spec - 1);
    snprintf(dir, sizeof dir, "%s/sweep-route-run", test_tmpdir);
    rc = sh("'%s' sweep '%s' --out '%s' 2>'%s'", test_cli, spec, dir, err_file());
    e = err_text();
    CHECK_MSG(rc == 0 && strstr(e, "2 of 2 points finished") && strstr(e, ", 0 failed"), "status %d: %s", rc, e);
    free(e);
    char res[1200];
    snprintf(res, sizeof res, "%s/results.jsonl", dir);
    char *r = (char *)read_file(res, &n);
    CHECK_MSG(r && strstr(r, "\"options\":{\"input-scale\":0.5}") && strstr(r, "\"options\":{\"input-scale\":2}") &&
                  strstr(r, "\"lambda_max\":"),
              "%s", r ? r : "(no results)");
    free(r);
}
