/* The runner itself: a selection must select. A name that matches no test
 * fails the run (issue 12, defect 5: a renamed test dropped silently out of
 * make valgrind's list), and every name in that list matches a test today. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run this test program with the runner's paths and the given names; its
 * exit status (-1 if it did not exit), stdout and stderr (NUL-terminated,
 * malloc'ed) in *out and *err. */
static int run_self(const char *const *names, int n, char **out, char **err)
{
    char op[1100], ep[1100];
    snprintf(op, sizeof op, "%s/runner.stdout", test_tmpdir);
    snprintf(ep, sizeof ep, "%s/runner.stderr", test_tmpdir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1), dup2(e, 2);
        const char *argv[16] = {"rnnlab_tests", "--cli", test_cli, "--fixtures", test_fixtures};
        int k = 5;
        for (int i = 0; i < n && k < 15; i++) argv[k++] = names[i];
        argv[k] = NULL;
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
    size_t len = 0;
    *out = (char *)read_file(op, &len);
    *err = (char *)read_file(ep, &len);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(runner_refuses_unmatched_names)
{
    char *out = NULL, *err = NULL;
    /* one name that matches nothing: the run fails and names it */
    const char *bogus[] = {"no_such_test_xyzzy"};
    int rc = run_self(bogus, 1, &out, &err);
    CHECK_MSG(rc != 0 && rc != -1, "exit status %d", rc);
    CHECK_MSG(err && strstr(err, "no test matches 'no_such_test_xyzzy'"), "stderr: %s", err ? err : "(none)");
    CHECK_MSG(out && !strstr(out, "ok "), "tests ran: %s", out ? out : "(none)");
    free(out), free(err);
    /* a good name beside a bad one: still a failure, and only the bad one is named */
    const char *mixed[] = {"optimizers_by_hand", "optimisers_by_hand"};
    rc = run_self(mixed, 2, &out, &err);
    CHECK_MSG(rc != 0 && rc != -1, "exit status %d", rc);
    CHECK_MSG(err && strstr(err, "'optimisers_by_hand'") && !strstr(err, "'optimizers_by_hand'"), "stderr: %s",
              err ? err : "(none)");
    free(out), free(err);
    /* the good name alone runs its test and passes */
    rc = run_self(mixed, 1, &out, &err);
    CHECK_MSG(rc == 0, "exit status %d, stderr: %s", rc, err ? err : "(none)");
    CHECK_MSG(out && strstr(out, "ok   optimizers_by_hand") && strstr(out, "1 passed, 0 failed"), "stdout: %s",
              out ? out : "(none)");
    free(out), free(err);
}

/* Every name in the Makefile's VALGRIND_TESTS selects at least one test (the
 * runner would now fail make valgrind otherwise; this says so in make test). */
TEST(runner_valgrind_list_matches)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/../../Makefile", test_fixtures); /* the Makefile beside tests/ */
    size_t n = 0;
    char *mk = (char *)read_file(path, &n);
    CHECK_MSG(mk != NULL, "cannot read %s", path);
    if (!mk) return;
    char *p = strstr(mk, "\nVALGRIND_TESTS =");
    CHECK_MSG(p != NULL, "%s has no VALGRIND_TESTS", path);
    int names = 0;
    if (p) {
        p += strlen("\nVALGRIND_TESTS =");
        /* words up to the end of the line, following backslash continuations */
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            if (*p == '\\' && p[1] == '\n') {
                p += 2;
                continue;
            }
            if (*p == '\n' || *p == '\0') break;
            char word[128];
            size_t k = 0;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\\' && k + 1 < sizeof word) word[k++] = *p++;
            word[k] = '\0';
            names++;
            CHECK_MSG(test_count_matching(word) > 0, "VALGRIND_TESTS names '%s', which matches no test", word);
        }
    }
    CHECK_MSG(names >= 10, "only %d names found in VALGRIND_TESTS", names);
    free(mk);
}

/* --jobs N: the tests run in N processes; each failure's lines come with its
 * FAIL line, a process that dies (here abort()) is named with the test it was
 * running and counted as a failure, the others' results are all there; with
 * one process the same lines and counts for the tests that do not die. Both
 * sides of --jobs' range. */
TEST(runner_jobs_report_failures_and_deaths)
{
    for (int jobs = 1; jobs <= 3; jobs += 2) {
        char nj[8];
        snprintf(nj, sizeof nj, "%d", jobs);
        const char *both[] = {"--jobs", nj, "--selftest", "selftest_passes", "selftest_fails", "selftest_dies"};
        const char *some[] = {"--jobs", nj, "--selftest", "selftest_passes", "selftest_fails"};
        char *out = NULL, *err = NULL;
        int rc = run_self(jobs > 1 ? both : some, jobs > 1 ? 6 : 5, &out, &err);
        CHECK_MSG(rc == 1, "--jobs %d: exit %d", jobs, rc);
        CHECK_MSG(out && strstr(out, "ok   selftest_passes\n"), "--jobs %d: %s", jobs, out ? out : "(none)");
        const char *f = err ? strstr(err, "a failure on purpose\nFAIL selftest_fails\n") : NULL;
        CHECK_MSG(f != NULL, "--jobs %d: stderr %s", jobs, err ? err : "(none)");
        if (jobs > 1) {
            CHECK_MSG(err && strstr(err, "FAIL selftest_dies: its process Aborted"), "%s", err ? err : "(none)");
            CHECK_MSG(out && strstr(out, "1 passed, 2 failed"), "%s", out ? out : "(none)");
        } else {
            CHECK_MSG(out && strstr(out, "1 passed, 1 failed"), "%s", out ? out : "(none)");
        }
        free(out), free(err);
    }
    const char *bad[][2] = {{"--jobs", "0"}, {"--jobs", "65"}};
    for (int i = 0; i < 2; i++) {
        char *out = NULL, *err = NULL;
        CHECK(run_self(bad[i], 2, &out, &err) == 2 && err && strstr(err, "give 1 to 64"));
        free(out), free(err);
    }
    const char *edge[] = {"--jobs", "64", "--selftest", "selftest_passes"};
    char *out = NULL, *err = NULL;
    CHECK(run_self(edge, 4, &out, &err) == 0 && out && strstr(out, "1 passed, 0 failed"));
    free(out), free(err);
}
