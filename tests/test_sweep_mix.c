/* rnnlab sweep fails early and never mixes (issue 28, item 6): a folder that
 * holds another sweep is refused, by a run and by --dry-run, and left as it
 * was; the same spec goes on with it, and so does one that adds points to
 * it; an option a command does not have is
 * one line naming the point and the option, with the command that has it or
 * the option meant. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char spec_a[] = "command train\n"
                             "options --task adding --seq-len 6 --hidden 3 --batch 4 --steps 2 --flow-every 0\n"
                             "grid    --gain 0.5 1\n";

/* stderr of the last run_cli, whole */
static char *last_err(void)
{
    size_t n = 0;
    char *b = (char *)read_file(tmp_path("cli.stderr"), &n);
    return b ? b : calloc(1, 1);
}

TEST(sweep_mix_another_spec_is_refused)
{
    const char *a = write_tmp("mix-a.sweep", spec_a, strlen(spec_a));
    /* the same points, said otherwise (a comment), and other points */
    char same[512], other[512];
    snprintf(same, sizeof same, "# the same sweep\n%s", spec_a);
    snprintf(other, sizeof other, "%.*s--gain 0.5 2\n", (int)(strstr(spec_a, "--gain") - spec_a), spec_a);
    const char *b = write_tmp("mix-same.sweep", same, strlen(same)), *c = write_tmp("mix-other.sweep", other, strlen(other));
    const char *dir = tmp_path("mix-dir"), *res = tmp_path("mix-dir/results.jsonl"), *plan = tmp_path("mix-dir/sweep.json");
    const char *run_a[] = {"rnnlab", "sweep", a, "--out", dir, "--quiet", NULL};
    CHECK(run_cli(run_a, NULL, NULL, 0, NULL, 0) == 0);
    size_t n1 = 0, p1 = 0, n2 = 0, p2 = 0;
    unsigned char *r1 = read_file(res, &n1), *q1 = read_file(plan, &p1);
    /* another spec: refused, by the run and by a dry run, nothing touched */
    char err[1024];
    const char *run_c[] = {"rnnlab", "sweep", c, "--out", dir, NULL};
    const char *dry_c[] = {"rnnlab", "sweep", c, "--out", dir, "--dry-run", NULL};
    int rc = run_cli(run_c, NULL, NULL, 0, err, sizeof err);
    CHECK_MSG(rc == 2 && strstr(err, "holds another sweep (train, 2 points, 2 finished)") &&
                  strstr(err, "1 of whose points are not"),
              "%d %s", rc, err);
    CHECK(run_cli(dry_c, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "holds another sweep"));
    unsigned char *r2 = read_file(res, &n2), *q2 = read_file(plan, &p2);
    CHECK(r1 && r2 && n1 == n2 && memcmp(r1, r2, n1) == 0 && q1 && q2 && p1 == p2 && memcmp(q1, q2, p1) == 0);
    free(r1), free(r2), free(q1), free(q2);
    /* the same spec goes on with it: nothing left to run */
    const char *run_b[] = {"rnnlab", "sweep", b, "--out", dir, NULL};
    CHECK(run_cli(run_b, NULL, NULL, 0, err, sizeof err) == 0 && strstr(err, "2 points, 2 finished before, 0 to run"));
    /* grown by a value: goes on, and says so; the smaller spec is then another sweep */
    char grown[512];
    snprintf(grown, sizeof grown, "%.*s--gain 0.5 1 2\n", (int)(strstr(spec_a, "--gain") - spec_a), spec_a);
    const char *g = write_tmp("mix-grown.sweep", grown, strlen(grown));
    const char *run_g[] = {"rnnlab", "sweep", g, "--out", dir, NULL};
    CHECK(run_cli(run_g, NULL, NULL, 0, err, sizeof err) == 0);
    char *e = last_err();
    CHECK_MSG(strstr(e, "grows the sweep") && strstr(e, "from 2 points to 3") && strstr(e, "2 finished before, 1 to run"), "%s", e);
    free(e);
    CHECK(run_cli(run_a, NULL, NULL, 0, err, sizeof err) == 2 && strstr(err, "holds another sweep (train, 3 points, 3 finished)"));
}

TEST(sweep_mix_options_checked_before_anything_runs)
{
    /* a typo, an option of another command, a flag given twice: one line each, exit 2, with --dry-run too */
    const char *body[] = {"grid    --gian 0.5 1\n", "grid    --lags 1,2 3\n", "options --hidden 5\ngrid    --gain 1 2\n"};
    const char *said[] = {"point gian=0.5: rnnlab train has no option --gian (did you mean --gain?)",
                          "point lags=1,2: rnnlab train has no option --lags (an option of rnnlab jacobian, spectrum)",
                          "point gain=1: --hidden is given twice"};
    for (int i = 0; i < 3; i++) {
        char spec[512], name[32], dir[32];
        snprintf(spec, sizeof spec, "command train\noptions --task adding --seq-len 6 --hidden 3 --steps 2\n%s", body[i]);
        snprintf(name, sizeof name, "mix-bad%d.sweep", i);
        snprintf(dir, sizeof dir, "mix-bad%d", i);
        const char *p = write_tmp(name, spec, strlen(spec)), *d = tmp_path(dir);
        const char *run[] = {"rnnlab", "sweep", p, "--out", d, NULL};
        const char *dry[] = {"rnnlab", "sweep", p, "--out", d, "--dry-run", NULL};
        for (int k = 0; k < 2; k++) {
            int rc = run_cli(k ? dry : run, NULL, NULL, 0, NULL, 0);
            char *e = last_err();
            CHECK_MSG(rc == 2 && strstr(e, said[i]) && run_cli_err_lines() == 1, "case %d%s: %d %s", i, k ? " (dry run)" : "", rc, e);
            free(e);
        }
        struct stat sb;
        CHECK(stat(d, &sb) != 0); /* nothing made */
    }
}
