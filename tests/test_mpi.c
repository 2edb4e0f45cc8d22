/* rnnlab under mpirun (Open MPI): data-parallel training against one
 * process, byte for byte; a rank killed with SIGKILL; resuming on another
 * number of processes. Each mpirun takes about a second here. */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start argv (argv[0] a path) with stdout and stderr into the temporary
 * folder's mpi.out and mpi.err; its pid. */
static pid_t start(const char *const *argv)
{
    char o[1100], e[1100];
    snprintf(o, sizeof o, "%s/mpi.out", test_tmpdir);
    snprintf(e, sizeof e, "%s/mpi.err", test_tmpdir);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        fi = open("/dev/null", O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0) _exit(127);
    dup2(fi, 0), dup2(fo, 1), dup2(fe, 2);
    if (strcmp(argv[0], "mpirun") == 0) {
        /* under make asan: Open MPI keeps memory to the end and unloads the
         * components that hold it (LeakSanitizer cannot even name them), so
         * its ranks do not look for leaks; the library's side of a shared
         * run is checked for leaks in process (tests/test_shard.c) */
        const char *a = getenv("ASAN_OPTIONS");
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", a ? a : "", a && *a ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    }
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

/* Wait for pid at most limit_s seconds (then kill it: a hang fails the
 * test instead of stopping the suite); its exit status, 128 + signal, or
 * -1 after a timeout. err (n bytes) gets the stderr it wrote. */
static int finish(pid_t pid, double limit_s, char *err, size_t n)
{
    int st = 0, rc = -1;
    double t0 = rl_now();
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (w < 0) break;
        if (rl_now() - t0 > limit_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    if (err && n) {
        char e[1100];
        snprintf(e, sizeof e, "%s/mpi.err", test_tmpdir);
        size_t len = 0;
        unsigned char *b = read_file(e, &len);
        snprintf(err, n, "%s", b ? (const char *)b : "");
        free(b);
    }
    return rc;
}

/* mpirun -np N rnnlab ARGS... (NULL-terminated), within limit_s seconds. */
static int mpirun(int np, double limit_s, char *err, size_t n, const char *const *args)
{
    const char *argv[64];
    char nps[16];
    int k = 0;
    snprintf(nps, sizeof nps, "%d", np);
    argv[k++] = "mpirun";
    argv[k++] = "--oversubscribe"; /* more processes than this machine's 2 cores */
    if (geteuid() == 0) argv[k++] = "--allow-run-as-root";
    argv[k++] = "-np", argv[k++] = nps, argv[k++] = test_cli;
    for (int i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
    argv[k] = NULL;
    return finish(start(argv), limit_s, err, n);
}

/* The plain program, as one process. */
static int single(const char *const *args)
{
    const char *argv[64] = {test_cli};
    int k = 1;
    for (int i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
    argv[k] = NULL;
    return finish(start(argv), 300, NULL, 0);
}

static int same_file(const char *a, const char *b, const char *name)
{
    char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    size_t na = 0, nb = 0;
    unsigned char *x = read_file(pa, &na), *y = read_file(pb, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x), free(y);
    return same;
}

static int have_mpirun(void)
{
    int rc = system("command -v mpirun >/dev/null 2>&1");
    if (rc != 0) test_fail_at(__FILE__, __LINE__, "mpirun is not installed: sh tools/deps.sh installs openmpi-bin");
    return rc == 0;
}

#define ADDING "train", "--task", "adding", "--seq-len", "30", "--hidden", "24", "--batch", "50", "--steps", "30", \
               "--eval-batches", "2", "--eval-every", "10", "--ckpt-every", "10", "--flow-every", "10", "--quiet"

TEST(mpi_train_matches_one_process)
{
    if (!have_mpirun()) return;
    char one[1100], dir[1100], err[4096];
    snprintf(one, sizeof one, "%s/mpi-one", test_tmpdir);
    const char *ref[] = {ADDING, "--block-sum", "--out", one, NULL};
    CHECK(single(ref) == 0);
    /* a batch of 50 is 4 blocks: 2 + 2, 1 + 1 + 2, 1 each */
    for (int np = 2; np <= 4; np++) {
        snprintf(dir, sizeof dir, "%s/mpi-%d", test_tmpdir, np);
        const char *a[] = {ADDING, "--out", dir, NULL};
        int rc = mpirun(np, 120, err, sizeof err, a);
        CHECK_MSG(rc == 0, "mpirun -np %d: status %d: %s", np, rc, err);
        CHECK_MSG(same_file(one, dir, "model.safetensors"), "-np %d: the model differs from one process's", np);
        CHECK_MSG(same_file(one, dir, "checkpoint.safetensors"), "-np %d: the checkpoint differs", np);
        CHECK_MSG(same_file(one, dir, "flow.jsonl"), "-np %d: the gradient-flow records differ", np);
        CHECK_MSG(strstr(err, "processes share each batch's 4 blocks") && !strstr(err, "rank 1"), "-np %d said: %s", np, err);
    }
    /* five processes for four blocks: one line, from rank 0, and nothing made */
    snprintf(dir, sizeof dir, "%s/mpi-5", test_tmpdir);
    const char *five[] = {ADDING, "--out", dir, NULL};
    int rc = mpirun(5, 120, err, sizeof err, five);
    CHECK_MSG(rc == 2 && strstr(err, "use at most 4 processes"), "-np 5: status %d: %s", rc, err);
    char *second = strstr(err, "use at most 4");
    CHECK_MSG(second && !strstr(second + 1, "use at most 4"), "said more than once: %s", err);
    struct stat sb;
    CHECK_MSG(stat(dir, &sb) != 0, "-np 5 made %s", dir);
    /* a mistake in the arguments is said once, by rank 0; a command that does not share work is refused */
    const char *typo[] = {"train", "--task", "bogus", "--out", dir, NULL};
    rc = mpirun(2, 120, err, sizeof err, typo);
    second = strstr(err, "unknown task");
    CHECK_MSG(rc == 2 && second && !strstr(second + 1, "unknown task"), "status %d: %s", rc, err);
    const char *lyap[] = {"lyapunov", "--help", NULL};
    rc = mpirun(2, 120, err, sizeof err, lyap);
    CHECK_MSG(rc == 2 && strstr(err, "rnnlab lyapunov: runs on one process, not 2"), "status %d: %s", rc, err);
    /* a run made without --block-sum is not continued on several processes */
    snprintf(dir, sizeof dir, "%s/mpi-plain", test_tmpdir);
    const char *plain[] = {ADDING, "--out", dir, NULL};
    CHECK(single(plain) == 0);
    const char *more[] = {"train", "--resume", dir, "--steps", "40", "--quiet", NULL};
    rc = mpirun(2, 120, err, sizeof err, more);
    CHECK_MSG(rc == 2 && strstr(err, "continue it on one process"), "status %d: %s", rc, err);
}

#define TEXT "train", "--task", "text", "--seq-len", "20", "--k1", "10", "--cell", "lstm", "--layers", "2", "--dropout", \
             "0.1", "--hidden", "16", "--batch", "40", "--eval-batches", "2", "--eval-every", "10", "--ckpt-every", "10", \
             "--flow-every", "10", "--quiet"

TEST(mpi_text_resumes_on_other_counts)
{
    if (!have_mpirun()) return;
    char one[1100], dir[1100], err[4096];
    snprintf(one, sizeof one, "%s/mpi-text-one", test_tmpdir);
    snprintf(dir, sizeof dir, "%s/mpi-text", test_tmpdir);
    const char *ref[] = {TEXT, "--steps", "20", "--block-sum", "--out", one, NULL};
    CHECK(single(ref) == 0);
    /* the streams' state lives on the rank that owns them: 2 ranks to step 10, 3 on to 20 */
    const char *first[] = {TEXT, "--steps", "10", "--out", dir, NULL};
    int rc = mpirun(2, 120, err, sizeof err, first);
    CHECK_MSG(rc == 0, "status %d: %s", rc, err);
    const char *more[] = {"train", "--resume", dir, "--steps", "20", "--quiet", NULL};
    rc = mpirun(3, 120, err, sizeof err, more);
    CHECK_MSG(rc == 0, "status %d: %s", rc, err);
    CHECK_MSG(same_file(one, dir, "model.safetensors"), "2 then 3 ranks: the model differs from one process's");
    CHECK_MSG(same_file(one, dir, "checkpoint.safetensors"), "2 then 3 ranks: the checkpoint differs");
}

/* Omega and flossing under mpirun (where --block-sum is on by itself):
 * refused in one line from rank 0, status 2, nothing made
 * (reg_with_block_sum_refused: the same on one process). */
TEST(mpi_refuses_omega_and_floss)
{
    if (!have_mpirun()) return;
    static const char *const regs[][2] = {{"--omega", "0.1"}, {"--floss", "2"}};
    char dir[1100], err[4096], want[64];
    struct stat sb;
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/mpi-reg%d", test_tmpdir, k);
        const char *a[] = {ADDING, regs[k][0], regs[k][1], "--out", dir, NULL};
        int rc = mpirun(2, 120, err, sizeof err, a);
        snprintf(want, sizeof want, "%s does not combine with --block-sum (on by itself under mpirun)", regs[k][0]);
        char *said = strstr(err, want);
        CHECK_MSG(rc == 2 && said && !strstr(said + 1, want), "%s: status %d: %s", regs[k][0], rc, err);
        CHECK_MSG(stat(dir, &sb) != 0, "%s made %s", regs[k][0], dir);
    }
}

/* The pid of the rank of the job under mpirun `parent`, or -1. */
static pid_t rank_pid(pid_t parent, int rank)
{
    char want[48];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    pid_t found = -1;
    for (struct dirent *e; d && found < 0 && (e = readdir(d));) {
        char p[300];
        int pid = atoi(e->d_name), ppid = 0;
        if (pid <= 0) continue;
        snprintf(p, sizeof p, "/proc/%d/stat", pid);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        /* pid (comm) state ppid: comm may hold spaces, so from the last ')' */
        char line[1024];
        size_t k = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[k] = '\0';
        char *rp = strrchr(line, ')');
        if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1 || ppid != parent) continue;
        snprintf(p, sizeof p, "/proc/%d/environ", pid);
        size_t n = 0;
        unsigned char *env = read_file(p, &n);
        if (!env) continue;
        for (size_t i = 0; i < n; i += strlen((char *)env + i) + 1)
            if (strcmp((char *)env + i, want) == 0) found = pid;
        free(env);
    }
    if (d) closedir(d);
    return found;
}

/* The step a checkpoint is at, or -1: its tensor train.step, one I64,
 * found through the safetensors header (an 8-byte length, then JSON). */
static long checkpoint_step(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", dir);
    size_t n = 0;
    unsigned char *b = read_file(p, &n);
    long v = -1;
    uint64_t hl = 0;
    if (b && n > 8) memcpy(&hl, b, 8);
    char *at = hl && hl < n ? strstr((char *)b + 8, "\"train.step\"") : NULL; /* read_file ends the bytes with a NUL */
    char *off = at ? strstr(at, "\"data_offsets\"") : NULL;
    long lo = -1;
    if (off && sscanf(off, "\"data_offsets\":[%ld", &lo) == 1 && lo >= 0 && 8 + hl + (size_t)lo + 8 <= n) {
        int64_t step;
        memcpy(&step, b + 8 + hl + lo, 8);
        v = (long)step;
    }
    free(b);
    return v;
}

TEST(mpi_rank_kill_stops_and_resumes)
{
    if (!have_mpirun()) return;
    char dir[1100], ref[1100], err[8192], steps[32], ck[1200];
    snprintf(dir, sizeof dir, "%s/mpi-kill", test_tmpdir);
    snprintf(ref, sizeof ref, "%s/mpi-kill-ref", test_tmpdir);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    const char *argv[] = {"mpirun", "--oversubscribe", geteuid() == 0 ? "--allow-run-as-root" : "--oversubscribe", "-np", "3",
                          test_cli, "train", "--task", "adding", "--seq-len", "40", "--hidden", "32", "--batch", "48",
                          "--steps", "1000000", "--ckpt-every", "20", "--eval-every", "0", "--flow-every", "0", "--quiet",
                          "--out", dir, NULL};
    pid_t job = start(argv);
    /* a checkpoint, then rank 1 killed as the kernel kills a process out of memory */
    struct stat sb;
    double t0 = rl_now();
    while (stat(ck, &sb) != 0 && rl_now() - t0 < 60) usleep(20000);
    pid_t victim = -1;
    for (t0 = rl_now(); victim < 0 && rl_now() - t0 < 10; usleep(20000)) victim = rank_pid(job, 1);
    CHECK_MSG(victim > 0, "no rank 1 found under mpirun (pid %d)", (int)job);
    if (victim > 0) kill(victim, SIGKILL);
    double killed = rl_now();
    int rc = finish(job, 60, err, sizeof err);
    double took = rl_now() - killed;
    /* every rank stopped within seconds, with a clear message, and not 0 */
    CHECK_MSG(rc > 0 && took < 15, "mpirun status %d, %.1f s after the kill", rc, took);
    CHECK_MSG(strstr(err, "rank 1") && strstr(err, "signal 9"), "mpirun said: %s", err);
    CHECK_MSG(strstr(err, "the last checkpoint is intact: continue with rnnlab train --resume"), "rank 0 said: %s", err);
    /* the checkpoint is whole and the run goes on from it exactly: on one process here */
    long at = checkpoint_step(dir);
    CHECK_MSG(at >= 20 && at % 20 == 0, "checkpoint step %ld", at);
    if (at < 20) return;
    snprintf(steps, sizeof steps, "%ld", at + 20);
    const char *again[] = {"train", "--resume", dir, "--steps", steps, "--quiet", NULL};
    CHECK(single(again) == 0);
    const char *whole[] = {"train", "--task", "adding", "--seq-len", "40", "--hidden", "32", "--batch", "48", "--steps", steps,
                           "--ckpt-every", "20", "--eval-every", "0", "--flow-every", "0", "--quiet", "--block-sum",
                           "--out", ref, NULL};
    CHECK(single(whole) == 0);
    CHECK_MSG(same_file(ref, dir, "model.safetensors"), "resumed after the kill: the model differs from an uninterrupted run");
}
