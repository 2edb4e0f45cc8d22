/* The run folder: config.json, atomic checkpoints, the JSON-lines records,
 * and what resuming needs (the configuration back, the state restored, the
 * records trimmed to the checkpoint). */
#include "train/run.h"
#include "train/recipes.h"
#include "base/files.h"
#include "net/net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files of a run; each may have temporaries named "<file>.tmp...". */
static const char *const run_files[] = {"config.json", "recipe.json", "checkpoint.safetensors", "model.safetensors",
                                        "metrics.jsonl", "metrics.csv", "flow.jsonl", "floss.jsonl", RL_RUN_LOCK};

/* What a run reads from its own folder, never writes: the arrays
 * rnnlab.train(x=..., y=..., valid=...) saves there as folders of .npy
 * files (python/rnnlab/train.py), so that the run resumes from them. */
static const char *const run_inputs[] = {"data", "valid"};

static int is_run_input(const char *name)
{
    for (size_t i = 0; i < sizeof run_inputs / sizeof run_inputs[0]; i++)
        if (strcmp(name, run_inputs[i]) == 0) return 1;
    return 0;
}

/* One of run_files, or a temporary of one ("<file>.tmp", "<file>.tmp.XXXXXX"). */
static int is_run_file(const char *name)
{
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        size_t k = strlen(run_files[i]);
        if (strncmp(name, run_files[i], k) == 0 &&
            (name[k] == '\0' || (strncmp(name + k, ".tmp", 4) == 0 && (name[k + 4] == '\0' || name[k + 4] == '.'))))
            return 1;
    }
    return 0;
}

static char *join(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

int rl_run_holds(const char *dir, const char *path)
{
    struct stat a, b;
    char p[RL_RUN_MAX_PATH + 64];
    if (!path || stat(path, &a) != 0) return 0;
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++)
        if (stat(join(p, sizeof p, dir, run_files[i]), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return 1;
    return 0;
}

/* Write f's buffered data through to the disk and close it; nonzero on failure. */
static int flush_close(FILE *f)
{
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    return fclose(f) != 0 || bad;
}

/* A temporary file beside path for writing, its name in tmp (n bytes);
 * NULL with the message "what: cannot write" on failure. */
static FILE *open_temp(const char *path, char *tmp, size_t n, const char *what)
{
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        rl_fail(RL_ERR_IO, "%s: cannot write: %s", what, strerror(errno));
        if (fd >= 0) close(fd), unlink(tmp);
    }
    return f;
}

/* Close o, the temporary tmp (flushed and synced), and rename it over path;
 * with bad (a write to it failed), or when that fails, remove it and say
 * "path: cannot VERB". */
static rl_status commit_temp(FILE *o, int bad, const char *tmp, const char *path, const char *verb)
{
    bad |= flush_close(o);
    if (bad || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        rl_status s = rl_fail(RL_ERR_IO, "%s: cannot %s: %s", path, verb, strerror(errno));
        unlink(tmp);
        return s;
    }
    return RL_OK;
}

/* text into path atomically: a temporary file beside it, flushed, synced and
 * renamed over path. */
static rl_status write_atomic(const char *path, const char *text)
{
    rl_status s0 = rl_check_output(path);
    if (s0) return s0;
    char tmp[RL_RUN_MAX_PATH + 128];
    FILE *f = open_temp(path, tmp, sizeof tmp, path);
    if (!f) return RL_ERR_IO;
    return commit_temp(f, fputs(text, f) < 0, tmp, path, "write");
}

/* Give up the lock of a run that did not start; with created, also the
 * folder made for it. */
static void unlock_new(const char *dir, int *lock, int created)
{
    char path[RL_RUN_MAX_PATH + 64];
    if (*lock >= 0 && created) unlink(join(path, sizeof path, dir, RL_RUN_LOCK));
    if (*lock >= 0) close(*lock);
    *lock = -1;
    if (created) rmdir(dir);
}

rl_status rl_run_create(const char *dir, const rl_train_config *c, int *lock)
{
    char path[RL_RUN_MAX_PATH + 64];
    struct stat sb;
    *lock = -1;
    if (strlen(dir) > RL_RUN_MAX_PATH) return rl_fail(RL_ERR_ARG, "the run folder's path is longer than %d bytes", RL_RUN_MAX_PATH);
    int created = 0;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) return rl_fail(RL_ERR_ARG, "%s exists and is not a folder", dir);
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0755) == 0) created = 1;
        else if (errno != EEXIST) return rl_fail(RL_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    }
    /* a folder of the user's is not overwritten: it may hold only what a
     * run that stopped before its first checkpoint wrote (checked before
     * the lock, so that such a folder gets no lock file) */
    const char *other = NULL;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && !other && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !is_run_file(e->d_name) && !is_run_input(e->d_name))
            other = e->d_name;
    if (other) rl_fail(RL_ERR_ARG, "%s holds files that are not a run's ('%s'): use a new folder", dir, other);
    if (d) closedir(d);
    if (other) return RL_ERR_ARG;
    /* one writer at a time: what follows holds only for the lock's holder */
    rl_status s = rl_folder_lock(dir, RL_RUN_LOCK, lock);
    if (s) {
        if (created) rmdir(dir);
        return s;
    }
    if (stat(join(path, sizeof path, dir, "checkpoint.safetensors"), &sb) == 0) {
        unlock_new(dir, lock, created);
        return rl_fail(RL_ERR_ARG, "%s already holds a run: continue it with --resume %s, or use another folder", dir, dir);
    }
    s = rl_run_write_config(dir, c);
    if (s) {
        unlock_new(dir, lock, created);
        return s;
    }
    /* the records of a run that stopped before its first checkpoint */
    remove(join(path, sizeof path, dir, "metrics.jsonl"));
    remove(join(path, sizeof path, dir, "flow.jsonl"));
    remove(join(path, sizeof path, dir, "floss.jsonl"));
    return RL_OK;
}

rl_status rl_run_write_config(const char *dir, const rl_train_config *c)
{
    char path[RL_RUN_MAX_PATH + 64];
    cJSON *j = rl_train_config_json(c);
    char *txt = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    rl_status s = txt ? write_atomic(join(path, sizeof path, dir, "config.json"), txt) : rl_fail(RL_ERR_NOMEM, "out of memory");
    free(txt);
    if (s || c->recipe == 0) return s;
    /* a recipe's settings, each with its source and the value used */
    j = rl_recipe_json(c);
    txt = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    s = txt ? write_atomic(join(path, sizeof path, dir, "recipe.json"), txt) : rl_fail(RL_ERR_NOMEM, "out of memory");
    free(txt);
    return s;
}

rl_status rl_run_append(const char *dir, const char *name, cJSON *record)
{
    char path[RL_RUN_MAX_PATH + 64];
    join(path, sizeof path, dir, name);
    char *txt = record ? cJSON_PrintUnformatted(record) : NULL;
    cJSON_Delete(record);
    if (!txt) return rl_fail(RL_ERR_NOMEM, "%s: out of memory for a record", path);
    /* a record goes to a regular file: O_NONBLOCK, so that a FIFO put in
     * its place is refused rather than waited on */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        close(fd);
        free(txt);
        return rl_fail(RL_ERR_IO, "%s: cannot append: it is not a regular file", path);
    }
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    int bad = !f;
    if (f) {
        bad = fprintf(f, "%s\n", txt) < 0;
        bad |= fclose(f) != 0;
    } else if (fd >= 0) {
        close(fd);
    }
    free(txt);
    return bad ? rl_fail(RL_ERR_IO, "%s: cannot append: %s", path, strerror(errno)) : RL_OK;
}

/* ------------------------------------------------------------------ metrics as CSV */

#define CSV_COLS 64 /* at most: the metrics have about 20 keys */

/* A value of a metrics line as a CSV cell's number: numbers, and true/false as 1/0; 0 for others. */
static int csv_value(const cJSON *v, double *x)
{
    if (cJSON_IsNumber(v)) return *x = v->valuedouble, 1;
    if (cJSON_IsBool(v)) return *x = cJSON_IsTrue(v), 1;
    return 0;
}

/* The columns: every key with a number, in the order first seen. */
static int csv_columns(FILE *f, char names[CSV_COLS][64])
{
    int n = 1;
    snprintf(names[0], 64, "step");
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line), *v;
        double x;
        cJSON_ArrayForEach(v, j) {
            if (!v->string || !csv_value(v, &x) || strlen(v->string) >= 64 || strpbrk(v->string, ",\"\n\r")) continue;
            int k = 0;
            while (k < n && strcmp(names[k], v->string) != 0) k++;
            if (k == n && n < CSV_COLS) snprintf(names[n++], 64, "%s", v->string);
        }
        cJSON_Delete(j);
    }
    free(line);
    rewind(f);
    return n;
}

static int csv_row(FILE *o, const double *row, int n)
{
    int bad = 0;
    for (int k = 0; k < n; k++) {
        if (k) bad |= fputc(',', o) == EOF;
        if (!isnan(row[k])) bad |= fprintf(o, "%.17g", row[k]) < 0;
    }
    return bad | (fputc('\n', o) == EOF);
}

rl_status rl_run_write_metrics_csv(const char *dir)
{
    char path[RL_RUN_MAX_PATH + 64], out[RL_RUN_MAX_PATH + 64];
    FILE *f = fopen(join(path, sizeof path, dir, "metrics.jsonl"), "r");
    if (!f) return errno == ENOENT ? RL_OK : rl_fail(RL_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    char (*names)[64] = malloc(CSV_COLS * sizeof *names);
    if (!names) {
        fclose(f);
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    const int n = csv_columns(f, names);
    char *text = NULL;
    size_t tn = 0;
    FILE *o = open_memstream(&text, &tn);
    int bad = !o;
    for (int k = 0; o && k < n; k++) bad |= fprintf(o, "%s%s", k ? "," : "", names[k]) < 0;
    if (o) bad |= fputc('\n', o) == EOF;
    double row[CSV_COLS];
    int have = 0; /* a row of the step row[0] is being gathered */
    char *line = NULL;
    size_t cap = 0;
    while (o && !bad && getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsNumber(st)) {
            if (have && st->valuedouble != row[0]) bad |= csv_row(o, row, n), have = 0;
            if (!have) {
                for (int k = 0; k < n; k++) row[k] = NAN;
                row[0] = st->valuedouble;
            }
            for (int k = 1; k < n; k++) {
                double x;
                if (csv_value(cJSON_GetObjectItemCaseSensitive(j, names[k]), &x)) row[k] = x, have = 1;
            }
        }
        cJSON_Delete(j);
    }
    if (o && have) bad |= csv_row(o, row, n);
    free(line);
    bad |= ferror(f);
    fclose(f);
    if (o) bad |= fclose(o) != 0;
    rl_status s = bad ? rl_fail(RL_ERR_NOMEM, "%s: out of memory for the CSV", path)
                      : write_atomic(join(out, sizeof out, dir, "metrics.csv"), text);
    free(text);
    free(names);
    return s;
}

/* ------------------------------------------------------------------ checkpoints */

static const char *const optim_names[2] = {"optim.0", "optim.1"};

rl_status rl_run_save(const char *dir, const rl_train_config *c, const rl_model *m, rl_optim *o, const rl_run_state *st)
{
    char path[RL_RUN_MAX_PATH + 64];
    st_out ts[RL_MAX_TENSORS + 12]; /* the model, optim.0-1, train.* */
    int n = rl_model_st_tensors(m, ts);
    const int64_t P = (int64_t)rl_model_num_params(m);
    for (int i = 0; i < rl_optim_num_buffers(o); i++) ts[n++] = (st_out){optim_names[i], "F32", 1, {P}, rl_optim_buffer(o, i)};
    int64_t step = st->step, ost = rl_optim_steps(o), rng[4];
    memcpy(rng, st->rng.s, sizeof rng);
    const int64_t L = c->layers, B = c->batch, H = c->hidden;
    ts[n++] = (st_out){"train.step", "I64", 1, {1}, &step};
    ts[n++] = (st_out){"train.optim_steps", "I64", 1, {1}, &ost};
    ts[n++] = (st_out){"train.rng", "I64", 1, {4}, rng};
    const rl_run_records *a = &st->records;
    double rec[6] = {a->loss, a->grad_norm, a->grad_norm_max, (double)a->steps, (double)a->clipped, (double)a->skipped};
    ts[n++] = (st_out){"train.records", "F64", 1, {6}, rec};
    /* the seconds of training, for a time limit: only with one, so that the checkpoints of the same run
     * (by one process or several, now or later) stay the same bytes */
    double secs = st->seconds;
    if (c->time_limit > 0) ts[n++] = (st_out){"train.seconds", "F64", 1, {1}, &secs};
    if (st->pos) ts[n++] = (st_out){"train.pos", "I64", 1, {B}, st->pos};
    if (st->carry_h) ts[n++] = (st_out){"train.carry_h", "F32", 3, {L, B, H}, st->carry_h};
    if (st->carry_c) ts[n++] = (st_out){"train.carry_c", "F32", 3, {L, B, H}, st->carry_c};
    char num[6][16], tb[24], th[24];
    const char *meta[2 * (RL_MODEL_META + 3)]; /* the model's, train_config, text_bytes, text_hash */
    int nmeta = rl_model_meta(m, num, meta);
    cJSON *j = rl_train_config_json(c);
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!txt) return rl_fail(RL_ERR_NOMEM, "out of memory");
    meta[2 * nmeta] = "train_config", meta[2 * nmeta + 1] = txt;
    nmeta++;
    if (st->text_bytes > 0) { /* the text, to be known again on resuming (from another path) */
        snprintf(tb, sizeof tb, "%lld", (long long)st->text_bytes);
        snprintf(th, sizeof th, "%016llx", (unsigned long long)st->text_hash);
        meta[2 * nmeta] = "text_bytes", meta[2 * nmeta + 1] = tb, nmeta++;
        meta[2 * nmeta] = "text_hash", meta[2 * nmeta + 1] = th, nmeta++;
    }
    rl_status s = st_write_ex(join(path, sizeof path, dir, "checkpoint.safetensors"), ts, n, meta, nmeta, 1);
    free(txt);
    if (!s) s = rl_model_save(m, join(path, sizeof path, dir, "model.safetensors"));
    return s;
}

/* A run killed while writing leaves temporary files (never the files
 * themselves half-written): remove them, and nothing else. */
static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char path[RL_RUN_MAX_PATH + 300];
    for (struct dirent *e; (e = readdir(d));)
        if (is_run_file(e->d_name) && strstr(e->d_name, ".tmp")) remove(join(path, sizeof path, dir, e->d_name));
    closedir(d);
}

rl_status rl_run_open(st_file *f, const char *dir, rl_train_config *c, int *lock)
{
    char path[RL_RUN_MAX_PATH + 64];
    struct stat sb;
    memset(f, 0, sizeof *f);
    *c = rl_train_defaults();
    if (strlen(dir) > RL_RUN_MAX_PATH) return rl_fail(RL_ERR_ARG, "the run folder's path is longer than %d bytes", RL_RUN_MAX_PATH);
    if (lock) { /* the writer: one at a time, then what an interrupted write left is removed */
        *lock = -1;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) { /* else the checkpoint's read below says what is wrong */
            rl_status s = rl_folder_lock(dir, RL_RUN_LOCK, lock);
            if (s) return s;
            remove_temporaries(dir);
        }
    }
    rl_status s = st_read(f, join(path, sizeof path, dir, "checkpoint.safetensors"));
    if (s) return s;
    const char *txt = st_meta(f, "train_config");
    if (!txt) return rl_fail(RL_ERR_FORMAT, "%s: no train_config: not a checkpoint", f->path);
    cJSON *j = cJSON_Parse(txt);
    if (!j) return rl_fail(RL_ERR_FORMAT, "%s: train_config is not JSON", f->path);
    s = rl_train_config_from_json(j, c);
    if (s) s = rl_fail(RL_ERR_FORMAT, "%s: train_config: %s", f->path, rl_errmsg());
    /* every string (text_path, a user's data's paths and columns) a copy of its own: j goes */
    for (int i = 0; i < rl_option_count(); i++) {
        const rl_option *fd = rl_option_at(i);
        const char **p = (const char **)((char *)c + fd->offset);
        if (fd->type != RL_FIELD_PATH || !*p) continue;
        if (!s && !(*p = strdup(*p))) s = rl_fail(RL_ERR_NOMEM, "out of memory");
        if (s) *p = NULL;
    }
    cJSON_Delete(j);
    return s;
}

static rl_status get_i64(const st_file *f, const char *name, int64_t *out, size_t n, int64_t lo, int64_t hi)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->dtype != ST_I64 || t->numel != n) return rl_fail(RL_ERR_FORMAT, "%s: %s is missing or malformed", f->path, name);
    memcpy(out, f->data + t->begin, n * 8);
    for (size_t i = 0; i < n; i++)
        if (out[i] < lo || out[i] > hi) return rl_fail(RL_ERR_FORMAT, "%s: %s holds %lld, out of range", f->path, name, (long long)out[i]);
    return RL_OK;
}

static rl_status get_f32(const st_file *f, const char *name, void *out, size_t n)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->numel != n) return rl_fail(RL_ERR_FORMAT, "%s: %s is missing or malformed", f->path, name);
    return st_get_real(f, t, RL_F32, out);
}

/* Keep the lines of a JSON-lines log whose "step" is at most step: what a
 * run wrote after its last checkpoint is written again when it resumes. The
 * log is rewritten atomically: on any failure it stays as it was. */
static rl_status trim_log(const char *path, int64_t step)
{
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? RL_OK : rl_fail(RL_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) { /* a record is read whole: never a FIFO or a device */
        fclose(f);
        return rl_fail(RL_ERR_IO, "%s: not a regular file", path);
    }
    char tmp[RL_RUN_MAX_PATH + 128];
    FILE *o = open_temp(path, tmp, sizeof tmp, tmp);
    if (!o) {
        fclose(f);
        return RL_ERR_IO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int bad = 0;
    while (!bad && (len = getline(&line, &cap, f)) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *st = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        if (cJSON_IsNumber(st) && st->valuedouble <= (double)step)
            bad = fputs(line, o) < 0 || (line[len - 1] != '\n' && fputc('\n', o) == EOF);
        cJSON_Delete(j);
    }
    bad |= ferror(f);
    free(line);
    fclose(f);
    return commit_temp(o, bad, tmp, path, "rewrite");
}

rl_status rl_run_restore(const st_file *f, const char *dir, const rl_train_config *c, rl_model *m, rl_optim *o,
                         rl_run_state *st, int64_t text_len)
{
    rl_model *saved = NULL;
    rl_status s = rl_model_from_st(&saved, f, RL_F32);
    if (!s) {
        rl_config a = rl_model_config(saved), b = rl_model_config(m);
        const char *va = rl_model_vocab(saved), *vb = rl_model_vocab(m);
        if ((va || vb) && (!va || !vb || strcmp(va, vb) != 0))
            s = rl_fail(RL_ERR_FORMAT, "%s: the text's characters are not the ones the run was trained on (%s)", f->path,
                        c->text_path ? c->text_path : "the built-in corpus");
        else if (memcmp(&a, &b, sizeof a) != 0 || rl_model_orthogonal(saved) != rl_model_orthogonal(m))
            s = rl_fail(RL_ERR_FORMAT, "%s: the model does not match train_config", f->path);
        else memcpy(rl_model_params(m), rl_model_params(saved), rl_model_num_params(m) * 4);
    }
    rl_model_free(saved);
    for (int i = 0; !s && i < rl_optim_num_buffers(o); i++)
        s = get_f32(f, optim_names[i], rl_optim_buffer(o, i), rl_model_num_params(m));
    int64_t ost = 0, rng[4];
    if (!s) s = get_i64(f, "train.step", &st->step, 1, 0, INT64_MAX);
    if (!s) s = get_i64(f, "train.optim_steps", &ost, 1, 0, INT64_MAX);
    if (!s) s = get_i64(f, "train.rng", rng, 4, INT64_MIN, INT64_MAX);
    /* checkpoints from before train.records start the metrics line afresh */
    double rec[6] = {0};
    const st_tensor *rt = st_find(f, "train.records");
    if (!s && rt && (rt->numel != 6 || st_get_real(f, rt, RL_F64, rec)))
        s = rl_fail(RL_ERR_FORMAT, "%s: train.records is malformed", f->path);
    for (int i = 3; !s && i < 6; i++)
        if (!(rec[i] >= 0 && rec[i] <= 9e15 && rec[i] == floor(rec[i])))
            s = rl_fail(RL_ERR_FORMAT, "%s: train.records holds a count of %g", f->path, rec[i]);
    /* the seconds of training so far (checkpoints from before train.seconds: 0) */
    double secs = 0;
    const st_tensor *sec = st_find(f, "train.seconds");
    if (!s && sec && (sec->numel != 1 || st_get_real(f, sec, RL_F64, &secs) || !(secs >= 0 && secs <= 1e12)))
        s = rl_fail(RL_ERR_FORMAT, "%s: train.seconds is malformed (one number, 0 to 1e12)", f->path);
    st->seconds = secs;
    const size_t LBH = (size_t)c->layers * c->batch * c->hidden;
    if (!s && st->pos) s = get_i64(f, "train.pos", st->pos, (size_t)c->batch, 0, text_len);
    if (!s && st->carry_h) s = get_f32(f, "train.carry_h", st->carry_h, LBH);
    if (!s && st->carry_c) s = get_f32(f, "train.carry_c", st->carry_c, LBH);
    if (s) return s;
    rl_optim_set_steps(o, ost);
    memcpy(st->rng.s, rng, sizeof rng);
    st->records = (rl_run_records){rec[0], rec[1], rec[2], (int64_t)rec[3], (int64_t)rec[4], (int64_t)rec[5]};
    char path[RL_RUN_MAX_PATH + 64];
    if (!dir) return RL_OK;
    s = trim_log(join(path, sizeof path, dir, "metrics.jsonl"), st->step);
    if (!s) s = trim_log(join(path, sizeof path, dir, "flow.jsonl"), st->step);
    if (!s) s = trim_log(join(path, sizeof path, dir, "floss.jsonl"), st->step);
    return s;
}
