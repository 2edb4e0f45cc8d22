/* rnnlab sweep: every point of a grid of a command's options, once, each in
 * a process of its own; under mpirun the points are handed out as the
 * processes come free. The spec format is in the usage below and
 * docs/scaling.md; the folder's layout in cli/sweeps/sweep.h. */
#include "cli.h"
#include "processes/dist.h"
#include "sweeps/sweep.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: rnnlab sweep SPEC --out DIR [--threads N] [--dry-run] [--quiet]\n"
    "\n"
    "Run every point of a grid of options of one command (train, lyapunov or\n"
    "jacobian) once. Each point runs as its own rnnlab process; its files go to\n"
    "DIR/points/ID/, and when it has finished one JSON line with its options and key\n"
    "numbers is appended to DIR/results.jsonl. Run again, it skips the points that\n"
    "have finished (a train point resumes from its checkpoint). A DIR that holds\n"
    "another sweep is refused, unless SPEC has every point of its plan (its own spec,\n"
    "or one grown by values or seeds). Under mpirun -np N the\n"
    "points are handed out to the processes as they come free; the results are the\n"
    "same whatever N. rnnlab report DIR draws them.\n"
    "\n"
    "SPEC is a text file, one statement a line, # to the end of a line a comment:\n"
    "  command CMD          train | lyapunov | jacobian\n"
    "  options ARGS...      the command's options, the same at every point\n"
    "  init ARGS...         lyapunov, jacobian: the model, as rnnlab init takes it\n"
    "  data ARGS...         jacobian: the sequence, as rnnlab data takes it\n"
    "  grid --OPT V1 V2...  an axis: one value of --OPT at each point; A:B:S is A, A+S,\n"
    "                       ... up to B. For lyapunov and jacobian an option of rnnlab\n"
    "                       init goes to the model, any other to the command; init:--OPT,\n"
    "                       data:--OPT and cmd:--OPT say where\n"
    "  grid NAME            an axis of named sets of options, one per indented line\n"
    "      LABEL ARGS...    below it\n"
    "  seeds S1 S2...       seeds (A:B a range): --seed at every stage that takes one\n"
    "The points are every combination of the axes' values and the seeds. Every option\n"
    "is checked against the command (or stage) it goes to before anything runs.\n"
    "\n";

const cli_command cli_sweep_command = {"sweep", usage,
                                       "Ctrl-C stops it: the points that were running end as interrupted (a train point\n"
                                       "with a checkpoint), and a rerun goes on.\n",
                                       NULL, 1, NULL};

/* ------------------------------------------------------------------ running a point */

typedef struct {
    const spec *sp;
    const char *dir;
    char self[PATH_MAX]; /* this program */
    int threads;
    int quiet;
} sweep;

/* The command lines of a point's stages, each NULL-terminated: argv[0] the
 * program. n gets how many. */
static int stage_lines(const sweep *sw, const point *p, strv *lines, int *n)
{
    const spec *sp = sw->sp;
    char pdir[PATH_MAX], m[PATH_MAX + 32], d[PATH_MAX + 32], o[PATH_MAX + 32], ck[PATH_MAX + 64];
    snprintf(pdir, sizeof pdir, "%s/points/%s", sw->dir, p->id);
    snprintf(m, sizeof m, "%s/model.safetensors", pdir);
    snprintf(d, sizeof d, "%s/data.safetensors", pdir);
    int e = 0, k = 0;
    if (sp->cmd == CMD_TRAIN) {
        strv *l = &lines[k++];
        snprintf(o, sizeof o, "%s/run", pdir);
        snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", o);
        struct stat sb;
        e = strv_push(l, sw->self) || strv_push(l, "train");
        if (stat(ck, &sb) == 0) { /* a point that was interrupted goes on from its checkpoint */
            e = e || strv_push(l, "--resume") || strv_push(l, o);
        } else {
            for (int i = 0; i < p->argv[ST_CMD].n && !e; i++) e = strv_push(l, p->argv[ST_CMD].v[i]);
            e = e || strv_push(l, "--out") || strv_push(l, o);
        }
        e = e || strv_push(l, "--quiet");
    } else {
        strv *l = &lines[k++];
        e = strv_push(l, sw->self) || strv_push(l, "init");
        for (int i = 0; i < p->argv[ST_INIT].n && !e; i++) e = strv_push(l, p->argv[ST_INIT].v[i]);
        e = e || strv_push(l, "--out") || strv_push(l, m);
        if (sp->cmd == CMD_JACOBIAN) {
            l = &lines[k++];
            e = e || strv_push(l, sw->self) || strv_push(l, "data") || strv_push(l, "--model") || strv_push(l, m);
            for (int i = 0; i < p->argv[ST_DATA].n && !e; i++) e = strv_push(l, p->argv[ST_DATA].v[i]);
            e = e || strv_push(l, "--out") || strv_push(l, d);
        }
        l = &lines[k++];
        e = e || strv_push(l, sw->self) || strv_push(l, sweep_cmd_names[sp->cmd]) || strv_push(l, "--model") || strv_push(l, m);
        if (sp->cmd == CMD_JACOBIAN) e = e || strv_push(l, "--data") || strv_push(l, d);
        for (int i = 0; i < p->argv[ST_CMD].n && !e; i++) e = strv_push(l, p->argv[ST_CMD].v[i]);
        snprintf(o, sizeof o, "%s/%s.%s", pdir, sweep_cmd_names[sp->cmd], sp->cmd == CMD_LYAPUNOV ? "json" : "safetensors");
        e = e || strv_push(l, "--out") || strv_push(l, o) || strv_push(l, "--quiet");
    }
    *n = k;
    return e;
}

/* A point being run: its stages one after the other, each a child process. */
typedef struct {
    long index;        /* in the plan; -1 idle */
    point p;
    strv lines[3];
    int nstages, stage;
    pid_t pid;
    double t0;
    int stopped;       /* a stop was passed on to the child */
} job;

static void job_clear(job *j)
{
    point_free(&j->p);
    for (int s = 0; s < 3; s++) strv_free(&j->lines[s]);
    j->index = -1, j->pid = 0, j->nstages = j->stage = 0, j->stopped = 0;
}

/* mkdir, for a folder that may exist */
static int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Start stage j->stage: a child with the point's log as stdout and stderr,
 * no MPI of its own, and SIGTERM when this process dies (mpirun kills the
 * ranks, not their children). -1 if it could not be started. */
static int start_stage(const sweep *sw, job *j)
{
    char log[PATH_MAX + 64], threads[32];
    snprintf(log, sizeof log, "%s/points/%s/log.txt", sw->dir, j->p.id);
    snprintf(threads, sizeof threads, "%d", sw->threads);
    const pid_t parent = getpid();
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644), in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0) _exit(126);
        dup2(in, 0), dup2(fd, 1), dup2(fd, 2);
        setenv("RNNLAB_NO_MPI", "1", 1);
        if (sw->threads > 0) setenv("OPENBLAS_NUM_THREADS", threads, 1);
        /* the command line, first in the log */
        for (int i = 0; j->lines[j->stage].v[i]; i++) {
            ssize_t w = write(fd, j->lines[j->stage].v[i], strlen(j->lines[j->stage].v[i]));
            w = write(fd, j->lines[j->stage].v[i + 1] ? " " : "\n", 1);
            (void)w;
        }
        execv(sw->self, j->lines[j->stage].v);
        _exit(127);
    }
    j->pid = pid;
    return 0;
}

/* Begin point `index`: its folder, its command lines, its first stage. 0,
 * or 1 after a line on stderr. */
static int job_start(const sweep *sw, job *j, long index)
{
    char pdir[PATH_MAX + 32];
    job_clear(j);
    if (make_point(sw->sp, index, &j->p)) return 1;
    snprintf(pdir, sizeof pdir, "%s/points/%s", sw->dir, j->p.id);
    if (make_dir(pdir) != 0) {
        fprintf(stderr, "rnnlab sweep: %s: cannot create: %s\n", pdir, strerror(errno));
        return 1;
    }
    if (stage_lines(sw, &j->p, j->lines, &j->nstages)) {
        fprintf(stderr, "rnnlab sweep: out of memory\n");
        return 1;
    }
    j->index = index, j->t0 = rl_now();
    if (start_stage(sw, j)) {
        fprintf(stderr, "rnnlab sweep: cannot start a process: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

/* The last line of a point's log that says something, for a failure's message. */
static void last_words(const sweep *sw, const job *j, char *buf, size_t n)
{
    char log[PATH_MAX + 64];
    snprintf(log, sizeof log, "%s/points/%s/log.txt", sw->dir, j->p.id);
    snprintf(buf, n, "(no output)");
    FILE *f = fopen(log, "r");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len > 0 && strncmp(line, sw->self, strlen(sw->self)) != 0) snprintf(buf, n, "%s", line);
    }
    free(line);
    fclose(f);
}

/* ------------------------------------------------------------------ results */

/* The key numbers of a finished point: NULL after a line on stderr. */
static cJSON *train_result(const char *pdir)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/run/metrics.jsonl", pdir);
    FILE *f = cli_fopen_member(path);
    if (!f) return NULL;
    cJSON *r = cJSON_CreateObject(), *val = NULL, *last = NULL;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        if (cJSON_GetObjectItemCaseSensitive(j, "val_loss")) cJSON_Delete(val), val = j;
        else if (cJSON_GetObjectItemCaseSensitive(j, "loss")) cJSON_Delete(last), last = j;
        else cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    /* the final validation (its step is the run's last) and the last training loss; no times */
    for (cJSON *it = val ? val->child : NULL; it; it = it->next)
        if (cJSON_IsNumber(it) && strcmp(it->string, "step") != 0) cJSON_AddNumberToObject(r, it->string, it->valuedouble);
    cJSON *l = last ? cJSON_GetObjectItemCaseSensitive(last, "loss") : NULL, *st = val ? cJSON_GetObjectItemCaseSensitive(val, "step") : NULL;
    if (cJSON_IsNumber(l)) cJSON_AddNumberToObject(r, "train_loss", l->valuedouble);
    if (cJSON_IsNumber(st)) cJSON_AddNumberToObject(r, "steps", st->valuedouble);
    cJSON_Delete(val), cJSON_Delete(last);
    if (!r->child) cJSON_Delete(r), r = NULL;
    return r;
}

static cJSON *lyapunov_result(const char *pdir)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/lyapunov.json", pdir);
    FILE *f = cli_fopen_member(path);
    struct stat sb;
    if (f && (fstat(fileno(f), &sb) != 0 || sb.st_size > (off_t)1 << 28)) fclose(f), f = NULL;
    if (!f) return NULL;
    char *txt = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&txt, &cap, '\0', f);
    fclose(f);
    cJSON *j = n > 0 ? cJSON_Parse(txt) : NULL, *r = NULL;
    free(txt);
    cJSON *ex = j ? cJSON_GetObjectItemCaseSensitive(j, "exponents") : NULL;
    int k = cJSON_GetArraySize(ex);
    if (k > 0 && cJSON_IsNumber(cJSON_GetArrayItem(ex, 0))) {
        r = cJSON_CreateObject();
        double sum = 0;
        for (int i = 0; i < k; i++) sum += cJSON_GetArrayItem(ex, i)->valuedouble;
        cJSON_AddNumberToObject(r, "lambda_max", cJSON_GetArrayItem(ex, 0)->valuedouble);
        cJSON_AddNumberToObject(r, "lambda_sum", sum);
        cJSON_AddNumberToObject(r, "k", k);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stationary");
        cJSON_AddBoolToObject(r, "stationary", cJSON_IsTrue(st));
        if (k <= 16) cJSON_AddItemToObject(r, "exponents", cJSON_Duplicate(ex, 1));
    }
    cJSON_Delete(j);
    return r;
}

static cJSON *jacobian_result(const char *pdir)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/jacobian.safetensors", pdir);
    rl_st *f = NULL;
    if (rl_st_open(&f, path)) return NULL;
    const char *steps = rl_st_meta(f, "steps"), *loss = rl_st_meta(f, "loss");
    long T = steps ? strtol(steps, NULL, 10) : 0;
    cJSON *r = NULL;
    double *v = T > 0 && T < 100000000 ? calloc((size_t)T + 1, sizeof *v) : NULL;
    if (v && rl_st_read_f64(f, "lag_log_norm", v, (size_t)T + 1) == RL_OK) {
        /* index tau: ln||ds_T/ds_tau||; tau = 0 is the longest lag, T */
        r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "log_norm_rate", v[0] / (double)T);
        cJSON_AddNumberToObject(r, "log_norm_T", v[0]);
        if (rl_st_read_f64(f, "log_grad_state", v, (size_t)T + 1) == RL_OK) cJSON_AddNumberToObject(r, "log_grad_state_0", v[0]);
        if (loss && isfinite(strtod(loss, NULL))) cJSON_AddNumberToObject(r, "loss", strtod(loss, NULL));
        cJSON_AddNumberToObject(r, "steps", (double)T);
    }
    free(v);
    rl_st_close(f);
    return r;
}

/* The results line of a finished point (malloc'ed, no newline), or NULL. */
static char *result_line(const sweep *sw, const job *j)
{
    char pdir[PATH_MAX + 32];
    snprintf(pdir, sizeof pdir, "%s/points/%s", sw->dir, j->p.id);
    int cmd = sw->sp->cmd;
    cJSON *res = cmd == CMD_TRAIN ? train_result(pdir) : cmd == CMD_LYAPUNOV ? lyapunov_result(pdir) : jacobian_result(pdir);
    if (!res) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->p.id);
    cJSON_AddStringToObject(o, "command", sweep_cmd_names[cmd]);
    cJSON_AddItemToObject(o, "options", cJSON_Duplicate(j->p.options, 1));
    cJSON_AddItemToObject(o, "result", res);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

/* Poll a running job. 0: still running; 1: finished, *text its results
 * line (malloc'ed) or "!" and why it failed, or "^" when it was stopped. */
static int job_poll(const sweep *sw, job *j, volatile int *stop, char **text)
{
    int st = 0;
    *text = NULL;
    if (*stop && !j->stopped) { /* a stop reaches the running stage as SIGTERM: a train point checkpoints */
        kill(j->pid, SIGTERM);
        j->stopped = 1;
    }
    pid_t w = waitpid(j->pid, &st, WNOHANG);
    if (w == 0 || (w < 0 && errno == EINTR)) return 0;
    int code = w < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char msg[600];
    if (code == 0 && j->stage + 1 < j->nstages && !*stop) {
        j->stage++;
        if (start_stage(sw, j) == 0) return 0;
        snprintf(msg, sizeof msg, "!cannot start a process: %s", strerror(errno));
        *text = strdup(msg);
        return 1;
    }
    if (code == 0 && j->stage + 1 == j->nstages) {
        *text = result_line(sw, j);
        if (!*text) {
            snprintf(msg, sizeof msg, "!finished, but its results could not be read (points/%s)", j->p.id);
            *text = strdup(msg);
        }
        return 1;
    }
    if (*stop || code == 130) {
        *text = strdup("^");
        return 1;
    }
    char why[400];
    last_words(sw, j, why, sizeof why);
    snprintf(msg, sizeof msg, "!status %d: %s", code, why);
    *text = strdup(msg);
    return 1;
}

/* ------------------------------------------------------------------ the folder */

/* Append one line to DIR/results.jsonl: one write, then fsync, so that a
 * point is recorded whole or (killed in between) not at all. */
static int record(const sweep *sw, const char *line)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/results.jsonl", sw->dir);
    size_t n = strlen(line);
    char *b = malloc(n + 2);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int bad = !b || fd < 0;
    if (!bad) {
        memcpy(b, line, n);
        b[n] = '\n';
        bad = write(fd, b, n + 1) != (ssize_t)(n + 1) || fsync(fd) != 0;
    }
    if (bad) fprintf(stderr, "rnnlab sweep: %s: cannot append: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    free(b);
    return bad;
}

/* The ids finished before (of any spec), from DIR/results.jsonl; a line cut
 * short by a kill is dropped from the file. done[i] for the plan's points. */
static int load_done(const sweep *sw, const char (*ids)[17], long n, char *done, long *before)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/results.jsonl", sw->dir);
    *before = 0;
    FILE *f = cli_fopen_member(path);
    if (!f) return errno == ENOENT ? 0 : (fprintf(stderr, "rnnlab sweep: %s: %s\n", path, cli_read_error(errno)), 1);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int torn = 0;
    strv keep = {0};
    while ((len = getline(&line, &cap, f)) > 0) {
        cJSON *j = line[len - 1] == '\n' ? cJSON_Parse(line) : NULL;
        cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
        if (!cJSON_IsString(id)) {
            torn = 1;
            cJSON_Delete(j);
            continue;
        }
        strv_push(&keep, line);
        for (long i = 0; i < n; i++)
            if (!done[i] && strcmp(ids[i], id->valuestring) == 0) done[i] = 1, (*before)++;
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    if (torn) { /* rewrite it without the broken line, atomically */
        int fd = mkstemp(tmp);
        FILE *o = fd >= 0 ? fdopen(fd, "w") : NULL;
        int bad = !o;
        for (int i = 0; o && i < keep.n; i++) bad |= fputs(keep.v[i], o) < 0;
        if (o) bad |= fflush(o) != 0 || fsync(fileno(o)) != 0, bad |= fclose(o) != 0;
        if (bad || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
            fprintf(stderr, "rnnlab sweep: %s: cannot rewrite: %s\n", path, strerror(errno));
            unlink(tmp);
            strv_free(&keep);
            return 1;
        }
        fprintf(stderr, "rnnlab sweep: %s: dropped a line that a killed sweep left unfinished\n", path);
    }
    strv_free(&keep);
    return 0;
}

/* DIR/sweep.json: the plan, for rnnlab report (written through a temporary). */
static int write_plan(const sweep *sw, const char (*ids)[17], long n)
{
    const spec *sp = sw->sp;
    cJSON *o = cJSON_CreateObject(), *axes = cJSON_AddArrayToObject(o, "axes");
    cJSON_AddStringToObject(o, "command", sweep_cmd_names[sp->cmd]);
    for (int a = 0; a < sp->naxes; a++) {
        cJSON *x = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(x, "values");
        cJSON_AddStringToObject(x, "name", sp->ax[a].name);
        if (!sp->ax[a].sets) cJSON_AddStringToObject(x, "option", sp->ax[a].flag);
        for (int k = 0; k < sp->ax[a].values.n; k++) cJSON_AddItemToArray(v, value_json(sp->ax[a].values.v[k]));
        cJSON_AddItemToArray(axes, x);
    }
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds"), *pts = cJSON_AddArrayToObject(o, "points");
    for (int k = 0; k < sp->seeds.n; k++) cJSON_AddItemToArray(seeds, value_json(sp->seeds.v[k]));
    for (long i = 0; i < n; i++) cJSON_AddItemToArray(pts, cJSON_CreateString(ids[i]));
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    char path[PATH_MAX + 32], tmp[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/sweep.json", sw->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = txt ? mkstemp(tmp) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int bad = !f || fputs(txt, f) < 0 || fputc('\n', f) == EOF;
    if (f) bad |= fflush(f) != 0 || fsync(fileno(f)) != 0, bad |= fclose(f) != 0;
    if (bad || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "rnnlab sweep: %s: cannot write: %s\n", path, strerror(errno));
        if (fd >= 0) unlink(tmp);
        free(txt);
        return 1;
    }
    free(txt);
    return 0;
}

/* The lock one sweep holds on its folder for as long as it runs. */
#define SWEEP_LOCK "sweep.lock"

/* --out DIR: created, or a sweep's folder already, or an empty one (never
 * a folder of the user's other files); its lock taken (*lock, held to the
 * end: a second sweep on the folder is refused, naming the first's pid). */
static int open_dir(const char *dir, int *lock)
{
    struct stat sb;
    char p[PATH_MAX + 32];
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "rnnlab sweep: %s: cannot create: %s\n", dir, strerror(errno));
            return 1;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "rnnlab sweep: %s exists and is not a folder\n", dir);
        return 1;
    }
    if (!cli_is_sweep(dir)) {
        DIR *d = opendir(dir);
        const char *other = NULL;
        for (struct dirent *e; d && !other && (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "points") && strcmp(e->d_name, SWEEP_LOCK))
                other = e->d_name;
        if (other) fprintf(stderr, "rnnlab sweep: %s holds files that are not a sweep's ('%s'): use a new folder\n", dir, other);
        if (d) closedir(d);
        if (other) return 1;
    }
    /* one sweep at a time (checked after the folder's files: a folder of the user's gets no lock file) */
    if (rl_folder_lock(dir, SWEEP_LOCK, lock)) {
        fprintf(stderr, "rnnlab sweep: %s\n", rl_errmsg());
        return 1;
    }
    snprintf(p, sizeof p, "%s/points", dir);
    if (make_dir(p) != 0) {
        fprintf(stderr, "rnnlab sweep: %s: cannot create: %s\n", p, strerror(errno));
        return 1;
    }
    return 0;
}

/* A folder that holds another sweep: refused (2 after a line) unless every
 * point of its plan (sweep.json) is a point of this spec's, which then goes
 * on with it: the same spec, or the same grown by values or seeds (a point's
 * id is a hash of its command lines). 1 when the plan cannot be read; 0 for
 * a folder without a plan. *grown: the points the plan had, when fewer. */
static int same_sweep(const cli_ctx *c, const char *dir, const char *path, const char (*ids)[17], long n, long *grown)
{
    *grown = 0;
    if (!cli_is_sweep(dir)) return 0;
    sweep_data d;
    if (sweep_load(c, dir, &d)) {
        sweep_data_free(&d);
        return 1;
    }
    long kept = 0;
    for (long i = 0; i < n; i++) kept += sweep_plan_index(&d, ids[i]) >= 0;
    int e = 0;
    if (kept < d.nplanned)
        e = cli_usage_error(c,
                            "%s holds another sweep (%s, %d points, %d finished), %ld of whose points are not %s's: "
                            "continue it with the spec that made it (or one that adds points to it), or give another --out",
                            dir, d.command ? d.command : "?", d.nplanned, d.n, d.nplanned - kept, path);
    else if (d.nplanned < n)
        *grown = d.nplanned;
    sweep_data_free(&d);
    return e;
}

/* ------------------------------------------------------------------ the command */

/* What a finished point says on stderr: its first number. */
static void say_point(const sweep *sw, long done, long total, const point *p, const char *text, double secs, int rank)
{
    if (sw->quiet) return;
    char what[300] = "";
    if (text[0] == '{') {
        cJSON *j = cJSON_Parse(text), *r = j ? cJSON_GetObjectItemCaseSensitive(j, "result") : NULL;
        for (cJSON *it = r ? r->child : NULL; it; it = it->next)
            if (cJSON_IsNumber(it)) {
                snprintf(what, sizeof what, "%s %.6g", it->string, it->valuedouble);
                break;
            }
        cJSON_Delete(j);
    } else if (text[0] == '^') {
        snprintf(what, sizeof what, "interrupted");
    } else {
        snprintf(what, sizeof what, "failed, %s (%s/points/%s/log.txt)", text + 1, sw->dir, p->id);
    }
    char where[32] = "";
    if (rank > 0) snprintf(where, sizeof where, ", rank %d", rank);
    fprintf(stderr, "rnnlab sweep: [%ld/%ld] %s: %s (%.1f s%s)\n", done, total, p->label[0] ? p->label : p->id, what, secs,
            where);
}

typedef struct {
    long done, failed, todo_done;
    int interrupted;
} tally;

/* Rank 0 (or the only process) takes what a point came to: records it, says it. */
static int take(const sweep *sw, long index, const char *text, double secs, int from, long total, tally *t)
{
    point p;
    if (make_point(sw->sp, index, &p)) return 1;
    int e = 0;
    if (text[0] == '{') {
        e = record(sw, text);
        t->done++;
    } else if (text[0] == '^') {
        t->interrupted = 1;
    } else {
        t->failed++;
    }
    t->todo_done++;
    say_point(sw, t->done + t->failed, total, &p, text, secs, from);
    point_free(&p);
    return e;
}

/* Run one point to its end on this process; its text (malloc'ed). */
static char *run_point(const sweep *sw, long index, volatile int *stop, double *secs)
{
    job j = {.index = -1};
    char *text = NULL;
    if (job_start(sw, &j, index)) {
        job_clear(&j);
        return strdup("!could not be started");
    }
    while (!job_poll(sw, &j, stop, &text)) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    *secs = rl_now() - j.t0;
    job_clear(&j);
    return text ? text : strdup("!out of memory");
}

/* The plan: every point's id into ids (and any mistake in the spec) before
 * anything runs; with dry, every point's command lines on stdout (rank 0).
 * 0, or the exit code. */
static int plan(const sweep *sw, const char *path, int dry, int rank, char (*ids)[17])
{
    const long n = sw->sp->npoints;
    int e = 0;
    for (long i = 0; !e && i < n; i++) {
        point p;
        e = make_point(sw->sp, i, &p);
        if (!e) memcpy(ids[i], p.id, 17);
        point_free(&p);
    }
    /* two points the same (an axis of sets that repeats one): the second would never run */
    long first = 0, second = 0;
    int rep = e ? 0 : sweep_repeated_id((const char(*)[17])ids, n, &first, &second);
    if (rep < 0) fprintf(stderr, "rnnlab sweep: out of memory\n"), e = 1;
    if (rep > 0) {
        point a = {0}, b = {0};
        e = make_point(sw->sp, first < second ? first : second, &a) || make_point(sw->sp, first < second ? second : first, &b);
        if (!e && rank == 0)
            fprintf(stderr, "rnnlab sweep: %s: points '%s' and '%s' run the same command lines (id %s): make the axes' "
                            "values differ\n", path, a.label, b.label, a.id);
        point_free(&a), point_free(&b);
        e = 2;
    }
    for (long i = 0; !e && dry && i < n; i++) {
        point p;
        e = make_point(sw->sp, i, &p);
        if (!e && rank == 0) { /* the command lines, and nothing run */
            strv lines[3] = {{0}};
            int ns = 0;
            e = stage_lines(sw, &p, lines, &ns);
            printf("# %s (%s)\n", p.label[0] ? p.label : "the only point", p.id);
            for (int s = 0; s < ns; s++) {
                fputs("rnnlab", stdout);
                for (int w = 1; w < lines[s].n; w++) printf(" %s", lines[s].v[w]);
                putchar('\n');
            }
            for (int s = 0; s < 3; s++) strv_free(&lines[s]);
        }
        point_free(&p);
    }
    return e;
}

/* Rank 0 (or the only process): the points not done, handed out to this
 * process and the workers as they come free, until all are done or a stop.
 * 0, or 1 after a failure of its own (a record that cannot be written). */
static int hand_out(const sweep *sw, const char *done, long before, volatile int *stop, tally *t)
{
    const long n = sw->sp->npoints;
    const int size = cli_dist_size();
    long *todo = malloc((size_t)n * sizeof *todo), ntodo = 0, next = 0;
    for (long i = 0; todo && i < n; i++)
        if (!done[i]) todo[ntodo++] = i;
    int e = !todo;
    if (!e && !sw->quiet)
        fprintf(stderr, "rnnlab sweep: %ld points, %ld finished before, %ld to run on %d process%s -> %s\n", n, before, ntodo,
                size, size > 1 ? "es" : "", sw->dir);
    t->done = before;
    job own = {.index = -1};
    int workers = size - 1, fatal = 0;
    /* an error here (a record that cannot be written) stops the handing
     * out, but the workers are still answered: they wait for rank 0 */
    while (!e) {
        int busy = 0;
        if (own.index < 0 && next < ntodo && !*stop) { /* this process works too */
            long idx = todo[next++];
            if (job_start(sw, &own, idx)) {
                fatal |= take(sw, idx, "!could not be started", 0, 0, n, t);
                job_clear(&own);
            }
            busy = 1;
        }
        char *text = NULL;
        if (own.index >= 0 && job_poll(sw, &own, stop, &text)) {
            fatal |= take(sw, own.index, text ? text : "!out of memory", rl_now() - own.t0, 0, n, t);
            free(text);
            job_clear(&own);
            busy = 1;
        }
        int from, pt;
        while (workers > 0 && cli_dist_poll(&from, &pt, &text)) { /* "SECONDS TEXT" */
            if (pt >= 0) {
                char *sp2 = text ? strchr(text, ' ') : NULL;
                fatal |= take(sw, pt, sp2 ? sp2 + 1 : "!lost", text ? atof(text) : 0, from, n, t);
            }
            free(text);
            if (fatal || t->interrupted) *stop = 1;
            if (next < ntodo && !*stop) cli_dist_give(from, (int)todo[next++]);
            else cli_dist_give(from, -1), workers--;
            busy = 1;
        }
        if (fatal || t->interrupted) *stop = 1;
        if (own.index < 0 && (next >= ntodo || *stop) && workers == 0) break;
        if (!busy) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    e = e || fatal;
    if (e && own.index >= 0) kill(own.pid, SIGTERM), waitpid(own.pid, NULL, 0);
    job_clear(&own);
    free(todo);
    return e;
}

/* A worker (rank > 0): points from rank 0 until there are none. */
static void work(const sweep *sw, volatile int *stop)
{
    int pt = cli_dist_ask(-1, NULL);
    while (pt >= 0) {
        double secs = 0;
        char *text = run_point(sw, pt, stop, &secs), *msg = NULL;
        size_t len = strlen(text ? text : "") + 40;
        if ((msg = malloc(len))) snprintf(msg, len, "%.3f %s", secs, text ? text : "!out of memory");
        pt = cli_dist_ask(pt, msg ? msg : "0 !out of memory");
        free(text), free(msg);
    }
}

/* This program's path, and each point's threads: --threads, or under
 * mpirun the machine's cores over the processes on it. 0, or 1 after a line. */
static int find_self(sweep *sw, int size)
{
    ssize_t k = readlink("/proc/self/exe", sw->self, sizeof sw->self - 1);
    if (k <= 0) {
        fprintf(stderr, "rnnlab sweep: cannot find this program: %s\n", strerror(errno));
        return 1;
    }
    sw->self[k] = '\0';
    if (!sw->threads && size > 1) {
        const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long cores = sysconf(_SC_NPROCESSORS_ONLN), per = local ? atol(local) : 1;
        sw->threads = (int)(per > 0 && cores / per > 1 ? cores / per : 1);
    }
    return 0;
}

int cmd_sweep(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *out = a->out_dir;
    if (noperands < 1) return cli_usage_error(c, "SPEC is required: the file that says what to sweep");
    if (noperands > 1) return cli_usage_error(c, "one SPEC at a time (got '%s' after it)", operand[1]);
    if ((e = cli_require(c, out, "out"))) return e;
    if (strcmp(out, "-") == 0) return cli_usage_error(c, "--out -: a sweep is a folder");
    /* the files the sweep writes into its folder must not be its spec */
    cli_input(c, "SPEC", operand[0]);
    char written[2][4200];
    snprintf(written[0], sizeof written[0], "%s/sweep.json", out);
    snprintf(written[1], sizeof written[1], "%s/results.jsonl", out);
    if ((e = cli_check_written(c, "out", written[0])) || (e = cli_check_written(c, "out", written[1]))) return e;
    const int rank = cli_dist_rank(), size = cli_dist_size();
    spec sp;
    if ((e = parse_spec(&sp, operand[0]))) {
        spec_free(&sp);
        return e;
    }
    sweep sw = {&sp, out, "", a->threads, a->quiet || rank != 0};
    if (find_self(&sw, size)) {
        spec_free(&sp);
        return 1;
    }
    const long n = sp.npoints;
    char (*ids)[17] = calloc((size_t)n, sizeof *ids);
    char *done = calloc((size_t)n, 1);
    if (!ids || !done) {
        fprintf(stderr, "rnnlab sweep: out of memory\n");
        e = 1;
    }
    if (!e) e = plan(&sw, operand[0], a->dry_run, rank, ids);
    long grown = 0;
    if (!e && a->dry_run && rank == 0) e = same_sweep(c, out, operand[0], (const char(*)[17])ids, n, &grown);
    if (a->dry_run || e) {
        free(ids), free(done);
        spec_free(&sp);
        return e;
    }
    long before = 0;
    int lock = -1;
    if (rank == 0)
        if (!(e = open_dir(out, &lock)) && !(e = same_sweep(c, out, operand[0], (const char(*)[17])ids, n, &grown)))
            e = write_plan(&sw, (const char(*)[17])ids, n) || load_done(&sw, (const char(*)[17])ids, n, done, &before);
    if (!e && grown && !sw.quiet)
        fprintf(stderr, "rnnlab sweep: %s grows the sweep in %s from %ld points to %ld\n", operand[0], out, grown, n);
    e = cli_dist_max(e); /* the folder is ready before any rank runs a point */
    tally t = {0};
    cli_progress_begin(c, -1); /* Ctrl-C and SIGTERM: no new points; the running ones are told */
    volatile int *stop = cli_stop_flag();
    double t0 = rl_now();
    if (!e && rank == 0) {
        e = hand_out(&sw, done, before, stop, &t);
        if (!a->quiet)
            fprintf(stderr, "rnnlab sweep: %ld of %ld points finished (%ld in this run, %.1f s), %ld failed%s; results in %s/results.jsonl\n",
                    t.done, n, t.done - before, rl_now() - t0, t.failed, *stop ? ", stopped" : "", out);
    } else if (!e) {
        work(&sw, stop);
    }
    cli_progress_end();
    int code = e ? e : t.interrupted || *stop ? 130 : t.failed ? 1 : 0;
    code = cli_dist_max(code);
    if (lock >= 0) close(lock);
    free(ids), free(done);
    spec_free(&sp);
    return code;
}
