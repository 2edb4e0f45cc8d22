/* The trainer: minibatches of a task, BPTT (full, or truncated with the
 * state carried for text), clipping, an optimizer and a schedule; metrics,
 * gradient flow and atomic checkpoints in a run folder, from which a run
 * resumes to exactly the numbers of one that was never interrupted. */
#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <glob.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct rl_trainer {
    rl_train_config cfg;
    char dir[1024];
    char text_path[1024];
    rl_task *task;
    rl_task_info info;
    rl_model *m; /* float32 */
    rl_ws *ws;
    rl_data *data;
    rl_optim *opt;
    rl_rng rng;
    int64_t step;
    int64_t last_ckpt;       /* the step of the last checkpoint written or read */
    int64_t *pos;            /* text: stream offsets (B) */
    int64_t *pos_before;     /* scratch (B) */
    float *carry_h, *carry_c; /* text: state carried between windows (L, B, H) */
    rl_data *flow;           /* one fixed validation sequence */
    int k1;
};

rl_train_config rl_train_defaults(void)
{
    rl_train_config c = {0};
    c.task = RL_TASK_ADDING, c.seq_len = 100, c.cell = RL_CELL_TANH, c.hidden = 128, c.layers = 1;
    c.init = (rl_init){RL_INIT_UNIFORM, 1, 0, 0, 0};
    c.batch = 50, c.steps = 1000;
    c.optim = rl_optim_defaults(RL_OPT_ADAM);
    c.sched = (rl_schedule){RL_SCHED_CONSTANT, 1e-3, 0, 0, 0.1, 0, 0};
    c.clip = 1, c.log_every = 10, c.eval_every = 200, c.eval_batches = 10, c.flow_every = 100, c.ckpt_every = 200;
    return c;
}

static char *join(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

/* ------------------------------------------------------------------ config as JSON */

static cJSON *config_json(const rl_train_config *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", rl_task_name(c->task));
    cJSON_AddNumberToObject(j, "seq_len", c->seq_len);
    if (c->text_path) cJSON_AddStringToObject(j, "text_path", c->text_path);
    cJSON_AddNumberToObject(j, "k1", c->k1);
    cJSON_AddStringToObject(j, "cell", rl_cell_name(c->cell));
    cJSON_AddNumberToObject(j, "hidden", c->hidden);
    cJSON_AddNumberToObject(j, "layers", c->layers);
    cJSON_AddStringToObject(j, "init", rl_init_name(c->init.kind));
    cJSON_AddNumberToObject(j, "gain", c->init.gain);
    cJSON_AddNumberToObject(j, "radius", c->init.radius);
    cJSON_AddNumberToObject(j, "forget_bias", c->init.forget_bias);
    cJSON_AddNumberToObject(j, "zero_bias", c->init.zero_bias);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "steps", (double)c->steps);
    cJSON_AddStringToObject(j, "optim", rl_optim_name(c->optim.kind));
    cJSON_AddNumberToObject(j, "momentum", c->optim.momentum);
    cJSON_AddNumberToObject(j, "nesterov", c->optim.nesterov);
    cJSON_AddNumberToObject(j, "alpha", c->optim.alpha);
    cJSON_AddNumberToObject(j, "beta1", c->optim.beta1);
    cJSON_AddNumberToObject(j, "beta2", c->optim.beta2);
    cJSON_AddNumberToObject(j, "eps", c->optim.eps);
    cJSON_AddNumberToObject(j, "weight_decay", c->optim.weight_decay);
    cJSON_AddStringToObject(j, "schedule", rl_sched_name(c->sched.kind));
    cJSON_AddNumberToObject(j, "lr", c->sched.lr);
    cJSON_AddNumberToObject(j, "warmup", (double)c->sched.warmup);
    cJSON_AddNumberToObject(j, "step_size", (double)c->sched.step_size);
    cJSON_AddNumberToObject(j, "gamma", c->sched.gamma);
    cJSON_AddNumberToObject(j, "min_lr", c->sched.min_lr);
    cJSON_AddNumberToObject(j, "clip", c->clip);
    cJSON_AddNumberToObject(j, "clip_value", c->clip_value);
    cJSON_AddNumberToObject(j, "dropout", c->dropout);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed); /* exact beyond 2^53 */
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "log_every", (double)c->log_every);
    cJSON_AddNumberToObject(j, "eval_every", (double)c->eval_every);
    cJSON_AddNumberToObject(j, "eval_batches", c->eval_batches);
    cJSON_AddNumberToObject(j, "flow_every", (double)c->flow_every);
    cJSON_AddNumberToObject(j, "ckpt_every", (double)c->ckpt_every);
    cJSON_AddNumberToObject(j, "skip_nonfinite", c->skip_nonfinite);
    cJSON_AddNumberToObject(j, "inject_nan_at", (double)c->inject_nan_at);
    return j;
}

static rl_status config_parse(const char *txt, rl_train_config *c, char *text_path, size_t tp_len)
{
    cJSON *j = cJSON_Parse(txt);
    if (!j) return rl_fail(RL_ERR_FORMAT, "the checkpoint's train_config is not JSON");
    *c = rl_train_defaults();
    rl_status s = RL_OK;
#define NUM(key, field, type)                                                                       \
    do {                                                                                            \
        cJSON *v_ = cJSON_GetObjectItemCaseSensitive(j, key);                                       \
        if (!cJSON_IsNumber(v_)) s = rl_fail(RL_ERR_FORMAT, "the checkpoint's train_config lacks %s", key); \
        else c->field = (type)v_->valuedouble;                                                      \
    } while (0)
#define STR(key) (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, key)) ? cJSON_GetObjectItemCaseSensitive(j, key)->valuestring : NULL)
    if (!s) s = rl_task_parse(STR("task"), &c->task);
    if (!s) s = rl_cell_parse(STR("cell"), &c->cell);
    if (!s) s = rl_init_parse(STR("init"), &c->init.kind);
    if (!s) s = rl_optim_parse(STR("optim"), &c->optim.kind);
    if (!s) s = rl_sched_parse(STR("schedule"), &c->sched.kind);
    NUM("seq_len", seq_len, int); NUM("k1", k1, int); NUM("hidden", hidden, int); NUM("layers", layers, int);
    NUM("gain", init.gain, double); NUM("radius", init.radius, double); NUM("forget_bias", init.forget_bias, double);
    NUM("zero_bias", init.zero_bias, int); NUM("batch", batch, int); NUM("steps", steps, int64_t);
    NUM("momentum", optim.momentum, double); NUM("nesterov", optim.nesterov, int); NUM("alpha", optim.alpha, double);
    NUM("beta1", optim.beta1, double); NUM("beta2", optim.beta2, double); NUM("eps", optim.eps, double);
    NUM("weight_decay", optim.weight_decay, double); NUM("lr", sched.lr, double); NUM("warmup", sched.warmup, int64_t);
    NUM("step_size", sched.step_size, int64_t); NUM("gamma", sched.gamma, double); NUM("min_lr", sched.min_lr, double);
    NUM("clip", clip, double); NUM("clip_value", clip_value, double); NUM("dropout", dropout, double);
    NUM("log_every", log_every, int64_t); NUM("eval_every", eval_every, int64_t); NUM("eval_batches", eval_batches, int);
    NUM("flow_every", flow_every, int64_t); NUM("ckpt_every", ckpt_every, int64_t);
    NUM("skip_nonfinite", skip_nonfinite, int);
    NUM("inject_nan_at", inject_nan_at, int64_t);
#undef NUM
    const char *seed = STR("seed");
    if (!s && seed) c->seed = strtoull(seed, NULL, 10);
    const char *tp = STR("text_path");
    c->text_path = NULL;
    if (!s && tp) {
        snprintf(text_path, tp_len, "%s", tp);
        c->text_path = text_path;
    }
#undef STR
    if (s && s != RL_ERR_FORMAT) s = rl_fail(RL_ERR_FORMAT, "the checkpoint's train_config: %s", rl_errmsg());
    cJSON_Delete(j);
    return s;
}

/* ------------------------------------------------------------------ set-up */

void rl_trainer_free(rl_trainer *t)
{
    if (!t) return;
    rl_task_free(t->task);
    rl_model_free(t->m);
    rl_ws_free(t->ws);
    rl_data_free(t->data);
    rl_data_free(t->flow);
    rl_optim_free(t->opt);
    free(t->pos);
    free(t->pos_before);
    rl_free(t->carry_h);
    rl_free(t->carry_c);
    free(t);
}

static rl_status check_config(const rl_train_config *c)
{
    if (c->hidden < 1 || c->hidden > RL_MAX_SIZE || c->layers < 1 || c->layers > RL_MAX_LAYERS)
        return rl_fail(RL_ERR_ARG, "hidden size and layers out of range");
    if (c->batch < 1 || c->steps < 1) return rl_fail(RL_ERR_ARG, "batch and steps must be >= 1");
    if (c->k1 < 0 || c->k1 > c->seq_len) return rl_fail(RL_ERR_ARG, "k1 = %d must be in [1, seq_len = %d]", c->k1, c->seq_len);
    if (c->k1 && c->task != RL_TASK_TEXT) return rl_fail(RL_ERR_ARG, "--k1 (truncated BPTT) is for the text task");
    if (!(c->dropout >= 0 && c->dropout < 1)) return rl_fail(RL_ERR_ARG, "dropout must be in [0, 1)");
    if (!(c->clip >= 0) || !(c->clip_value >= 0) || !(c->sched.lr > 0) || !isfinite(c->sched.lr))
        return rl_fail(RL_ERR_ARG, "clip >= 0, clip-value >= 0 and lr > 0 are required");
    if (c->log_every < 1 || c->eval_every < 0 || c->flow_every < 0 || c->ckpt_every < 0 || c->eval_batches < 1)
        return rl_fail(RL_ERR_ARG, "log-every >= 1; eval-every, flow-every, ckpt-every >= 0; eval-batches >= 1");
    return RL_OK;
}

/* Everything but the model's weights and the optimizer's moments. */
static rl_status build(rl_trainer *t)
{
    rl_train_config *c = &t->cfg;
    rl_status s = rl_task_new(&t->task, c->task, c->seq_len, c->text_path);
    if (s) return s;
    t->info = rl_task_get_info(t->task);
    t->k1 = c->task == RL_TASK_TEXT ? (c->k1 ? c->k1 : c->seq_len) : 0;
    rl_config mc = {c->cell, t->info.input_size, c->hidden, c->layers, t->info.output_size, t->info.loss};
    if ((s = rl_model_new(&t->m, &mc, RL_F32))) return s;
    if (t->info.vocab && (s = rl_model_set_vocab(t->m, t->info.vocab))) return s;
    if ((s = rl_ws_new(&t->ws, t->m, c->batch, t->info.steps))) return s;
    if ((s = rl_task_data_new(&t->data, t->task, c->batch))) return s;
    if ((s = rl_optim_new(&t->opt, t->m, &c->optim))) return s;
    size_t LBH = (size_t)c->layers * c->batch * c->hidden;
    if (!(t->pos = calloc((size_t)c->batch, sizeof *t->pos)) || !(t->pos_before = calloc((size_t)c->batch, 8)) || !(t->carry_h = rl_alloc(LBH, 4)) ||
        !(t->carry_c = rl_alloc(LBH, 4)))
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    for (int b = 0; b < c->batch; b++) t->pos[b] = (int64_t)b * (t->info.train_len / c->batch);
    /* the fixed sequence the gradient flow is measured on */
    if ((s = rl_task_data_new(&t->flow, t->task, 1))) return s;
    rl_rng fr;
    rl_rng_seed(&fr, c->seed ^ 0x466c6f77ull);
    int64_t p0 = 0;
    s = rl_task_fill(t->task, t->flow, &fr, 1, &p0);
    return s;
}

rl_status rl_trainer_new(rl_trainer **out, const rl_train_config *cfg, const char *dir)
{
    *out = NULL;
    rl_status s = check_config(cfg);
    if (s) return s;
    char path[1200];
    struct stat sb;
    if (stat(join(path, sizeof path, dir, "checkpoint.safetensors"), &sb) == 0)
        return rl_fail(RL_ERR_ARG, "%s already holds a run: continue it with --resume %s, or use another folder", dir, dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return rl_fail(RL_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    rl_trainer *t = calloc(1, sizeof *t);
    if (!t) return rl_fail(RL_ERR_NOMEM, "out of memory");
    t->cfg = *cfg;
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    if (cfg->text_path) {
        snprintf(t->text_path, sizeof t->text_path, "%s", cfg->text_path);
        t->cfg.text_path = t->text_path;
    }
    s = build(t);
    if (!s) s = rl_model_init(t->m, &t->cfg.init, t->cfg.seed);
    rl_rng_seed(&t->rng, t->cfg.seed ^ 0x7472616e69ull);
    if (!s) { /* the configuration, for people */
        cJSON *j = config_json(&t->cfg);
        char *txt = j ? cJSON_Print(j) : NULL;
        FILE *f = txt ? fopen(join(path, sizeof path, dir, "config.json"), "w") : NULL;
        if (!f || fputs(txt, f) < 0 || fclose(f) != 0) s = rl_fail(RL_ERR_IO, "%s: cannot write config.json", dir);
        free(txt);
        cJSON_Delete(j);
        /* a new run starts new logs */
        remove(join(path, sizeof path, dir, "metrics.jsonl"));
        remove(join(path, sizeof path, dir, "flow.jsonl"));
    }
    if (s) {
        rl_trainer_free(t);
        return s;
    }
    *out = t;
    return RL_OK;
}

/* ------------------------------------------------------------------ checkpoints */

static rl_status save_checkpoint(rl_trainer *t)
{
    char path[1200];
    st_out ts[RL_MAX_TENSORS + 8];
    int n = rl_model_st_tensors(t->m, ts);
    const char *onames[2] = {"optim.0", "optim.1"};
    for (int i = 0; i < rl_optim_num_buffers(t->opt); i++)
        ts[n++] = (st_out){onames[i], "F32", 1, {(int64_t)rl_model_num_params(t->m)}, rl_optim_buffer(t->opt, i)};
    int64_t step = t->step, ost = rl_optim_steps(t->opt), rng[4];
    memcpy(rng, t->rng.s, sizeof rng);
    int64_t L = t->cfg.layers, B = t->cfg.batch, H = t->cfg.hidden;
    ts[n++] = (st_out){"train.step", "I64", 1, {1}, &step};
    ts[n++] = (st_out){"train.optim_steps", "I64", 1, {1}, &ost};
    ts[n++] = (st_out){"train.rng", "I64", 1, {4}, rng};
    if (t->k1) {
        ts[n++] = (st_out){"train.pos", "I64", 1, {B}, t->pos};
        ts[n++] = (st_out){"train.carry_h", "F32", 3, {L, B, H}, t->carry_h};
        if (t->cfg.cell == RL_CELL_LSTM) ts[n++] = (st_out){"train.carry_c", "F32", 3, {L, B, H}, t->carry_c};
    }
    char num[4][16];
    const char *meta[20];
    int nmeta = rl_model_meta(t->m, num, meta);
    cJSON *j = config_json(&t->cfg);
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!txt) return rl_fail(RL_ERR_NOMEM, "out of memory");
    meta[2 * nmeta] = "train_config", meta[2 * nmeta + 1] = txt;
    rl_status s = st_write(join(path, sizeof path, t->dir, "checkpoint.safetensors"), ts, n, meta, nmeta + 1);
    free(txt);
    if (!s) s = rl_model_save(t->m, join(path, sizeof path, t->dir, "model.safetensors"));
    if (!s) t->last_ckpt = t->step;
    return s;
}

static rl_status get_i64(const st_file *f, const char *name, int64_t *out, size_t n)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->dtype != ST_I64 || t->numel != n) return rl_fail(RL_ERR_FORMAT, "%s: %s is missing or malformed", f->path, name);
    memcpy(out, f->data + t->begin, n * 8);
    return RL_OK;
}

static rl_status get_f32(const st_file *f, const char *name, void *out, size_t n)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->numel != n) return rl_fail(RL_ERR_FORMAT, "%s: %s is missing or malformed", f->path, name);
    return st_get_real(f, t, RL_F32, out);
}

/* Keep the lines of a JSON-lines log whose "step" is at most step: what a
 * run wrote after its last checkpoint is written again when it resumes. */
static rl_status trim_log(const char *path, int64_t step)
{
    FILE *f = fopen(path, "r");
    if (!f) return RL_OK;
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fclose(f);
        return rl_fail(RL_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *st = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        if (cJSON_IsNumber(st) && st->valuedouble <= (double)step) fputs(line, o);
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    if (fclose(o) != 0 || rename(tmp, path) != 0) return rl_fail(RL_ERR_IO, "%s: cannot rewrite", path);
    return RL_OK;
}

/* A run killed while writing leaves temporary files (never the files
 * themselves half-written): remove them. */
static void remove_temporaries(const char *dir)
{
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/*.tmp*", dir);
    glob_t g;
    if (glob(pat, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) remove(g.gl_pathv[i]);
    globfree(&g);
}

rl_status rl_trainer_resume(rl_trainer **out, const char *dir, int64_t steps)
{
    *out = NULL;
    char path[1200];
    remove_temporaries(dir);
    st_file f;
    rl_status s = st_read(&f, join(path, sizeof path, dir, "checkpoint.safetensors"));
    if (s) return s;
    rl_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        st_close(&f);
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    const char *cj = st_meta(&f, "train_config");
    if (!cj) s = rl_fail(RL_ERR_FORMAT, "%s: no train_config: not a checkpoint", f.path);
    if (!s) s = config_parse(cj, &t->cfg, t->text_path, sizeof t->text_path);
    if (!s && steps > 0) t->cfg.steps = steps;
    if (!s) s = check_config(&t->cfg);
    if (!s) s = build(t);
    rl_model *saved = NULL;
    if (!s) s = rl_model_from_st(&saved, &f, RL_F32);
    if (!s) {
        rl_config a = rl_model_config(saved), b = rl_model_config(t->m);
        if (memcmp(&a, &b, sizeof a) != 0) s = rl_fail(RL_ERR_FORMAT, "%s: the model does not match train_config", f.path);
        else memcpy(rl_model_params(t->m), rl_model_params(saved), rl_model_num_params(t->m) * 4);
    }
    rl_model_free(saved);
    const char *onames[2] = {"optim.0", "optim.1"};
    for (int i = 0; !s && i < rl_optim_num_buffers(t->opt); i++)
        s = get_f32(&f, onames[i], rl_optim_buffer(t->opt, i), rl_model_num_params(t->m));
    int64_t ost = 0, rng[4];
    if (!s) s = get_i64(&f, "train.step", &t->step, 1);
    t->last_ckpt = t->step;
    if (!s) s = get_i64(&f, "train.optim_steps", &ost, 1);
    if (!s) s = get_i64(&f, "train.rng", rng, 4);
    size_t LBH = (size_t)t->cfg.layers * t->cfg.batch * t->cfg.hidden;
    if (!s && t->k1) s = get_i64(&f, "train.pos", t->pos, (size_t)t->cfg.batch);
    if (!s && t->k1) s = get_f32(&f, "train.carry_h", t->carry_h, LBH);
    if (!s && t->k1 && t->cfg.cell == RL_CELL_LSTM) s = get_f32(&f, "train.carry_c", t->carry_c, LBH);
    if (!s) {
        rl_optim_set_steps(t->opt, ost);
        memcpy(t->rng.s, rng, sizeof rng);
        s = trim_log(join(path, sizeof path, dir, "metrics.jsonl"), t->step);
    }
    if (!s) s = trim_log(join(path, sizeof path, dir, "flow.jsonl"), t->step);
    st_close(&f);
    if (s) {
        rl_trainer_free(t);
        return s;
    }
    *out = t;
    return RL_OK;
}

const rl_model *rl_trainer_model(const rl_trainer *t) { return t->m; }
rl_train_config rl_trainer_config(const rl_trainer *t) { return t->cfg; }
int64_t rl_trainer_step(const rl_trainer *t) { return t->step; }

/* ------------------------------------------------------------------ logs */

static rl_status append_line(const rl_trainer *t, const char *name, cJSON *j)
{
    char path[1200], *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    FILE *f = txt ? fopen(join(path, sizeof path, t->dir, name), "a") : NULL;
    rl_status s = RL_OK;
    if (!f || fprintf(f, "%s\n", txt) < 0 || fclose(f) != 0) s = rl_fail(RL_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    free(txt);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Spectral radius and largest singular value of each (H, H) gate block of layer l's W_hh. */
static void whh_stats(const rl_model *m, int l, double *radius, double *sigma)
{
    const int H = m->cfg.hidden_size, G = rl_cell_gates(m->cfg.cell);
    const float *w = (const float *)m->params + m->tensors[rl_t_whh(l)].offset;
    double *a = malloc((size_t)H * H * 8), *wr = malloc((size_t)H * 8), *wi = malloc((size_t)H * 8);
    for (int g = 0; g < G && a && wr && wi; g++) {
        for (size_t i = 0; i < (size_t)H * H; i++) a[i] = w[(size_t)g * H * H + i];
        radius[g] = sigma[g] = NAN;
        if (LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', H, H, a, H, wr, NULL, H, NULL, H) == 0) sigma[g] = wr[0];
        for (size_t i = 0; i < (size_t)H * H; i++) a[i] = w[(size_t)g * H * H + i];
        if (LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', H, a, H, wr, wi, NULL, H, NULL, H) == 0) {
            radius[g] = 0;
            for (int i = 0; i < H; i++) radius[g] = fmax(radius[g], hypot(wr[i], wi[i]));
        }
    }
    free(a), free(wr), free(wi);
}

static cJSON *darray(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* The gradient flow record: per-lag ln||dL/dh_tau|| on the fixed sequence,
 * and the spectra of W_hh. */
static rl_status flow_record(rl_trainer *t, double loss, double gnorm)
{
    rl_jac *j = NULL;
    const rl_batch *b = rl_data_batch(t->flow);
    rl_status s = rl_jac_new(&j, t->m, b, 0);
    int T = b->steps;
    double *lag = calloc((size_t)T + 1, 8), *last = calloc((size_t)T + 1, 8);
    if (!s && (!lag || !last)) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    rl_lag_stats st = {.log_grad_bptt = lag, .log_grad_last = last};
    if (!s) s = rl_jac_lags(j, &st);
    if (!s) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "step", (double)t->step);
        cJSON_AddNumberToObject(r, "loss", loss);
        cJSON_AddNumberToObject(r, "grad_norm", gnorm);
        cJSON_AddNumberToObject(r, "param_norm", rl_buffer_norm(rl_model_params_const(t->m), rl_model_num_params(t->m), RL_F32));
        cJSON_AddNumberToObject(r, "val_seq_loss", rl_jac_loss(j));
        cJSON *w = cJSON_AddArrayToObject(r, "w_hh");
        for (int l = 0; l < t->cfg.layers; l++) {
            double rad[4], sig[4];
            int G = rl_cell_gates(t->cfg.cell);
            whh_stats(t->m, l, rad, sig);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", l);
            cJSON_AddItemToObject(e, "radius", darray(rad, G));
            cJSON_AddItemToObject(e, "sigma_max", darray(sig, G));
            cJSON_AddItemToArray(w, e);
        }
        /* index tau = 0..T: ln||dL/dh_tau|| of the top layer; and the part from the last step */
        cJSON_AddItemToObject(r, "lag_log_grad", darray(lag, T + 1));
        cJSON_AddItemToObject(r, "lag_log_grad_last", darray(last, T + 1));
        s = append_line(t, "flow.jsonl", r);
    }
    free(lag), free(last);
    rl_jac_free(j);
    return s;
}

static void score_json(cJSON *r, const rl_task_info *in, const rl_score *sc, const char *prefix)
{
    char k[64];
    double loss = sc->loss_sum / sc->weight_sum;
    snprintf(k, sizeof k, "%sloss", prefix);
    cJSON_AddNumberToObject(r, k, loss);
    if (sc->n_err > 0) {
        snprintf(k, sizeof k, "%smse", prefix);
        cJSON_AddNumberToObject(r, k, sc->sq_err / sc->n_err);
    }
    if (sc->n_items > 0) {
        snprintf(k, sizeof k, "%saccuracy", prefix);
        cJSON_AddNumberToObject(r, k, sc->correct / sc->n_items);
    }
    if (in->kind == RL_TASK_TEXT) {
        snprintf(k, sizeof k, "%sbpc", prefix);
        cJSON_AddNumberToObject(r, k, loss / log(2.0));
    }
    if (!isnan(in->baseline)) cJSON_AddNumberToObject(r, "baseline", in->baseline);
}

/* ------------------------------------------------------------------ evaluation */

rl_status rl_evaluate(const rl_model *m0, const rl_task *task, int B, int batches, uint64_t seed, rl_score *sc)
{
    const rl_task_info in = rl_task_get_info(task);
    rl_config c = rl_model_config(m0);
    memset(sc, 0, sizeof *sc);
    if (c.input_size != in.input_size || c.output_size != in.output_size || c.loss != in.loss)
        return rl_fail(RL_ERR_ARG, "the model (input %d, output %d, %s) does not fit the task %s (input %d, output %d, %s)",
                       c.input_size, c.output_size, rl_loss_name(c.loss), rl_task_name(in.kind), in.input_size,
                       in.output_size, rl_loss_name(in.loss));
    if (in.vocab && (!rl_model_vocab(m0) || strcmp(rl_model_vocab(m0), in.vocab) != 0))
        return rl_fail(RL_ERR_ARG, "the model's vocabulary is not the text's");
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    rl_data *d = NULL;
    int64_t *pos = NULL;
    float *h0 = NULL, *c0 = NULL;
    size_t LBH = (size_t)c.num_layers * B * c.hidden_size;
    rl_status s = rl_model_cast(&m, m0, RL_F32);
    if (!s) s = rl_ws_new(&ws, m, B, in.steps);
    if (!s) s = rl_task_data_new(&d, task, B);
    if (!s && (!(pos = calloc((size_t)B, 8)) || !(h0 = rl_alloc(LBH, 4)) || !(c0 = rl_alloc(LBH, 4))))
        s = rl_fail(RL_ERR_NOMEM, "out of memory");
    rl_rng r;
    rl_rng_seed(&r, seed);
    int text = in.kind == RL_TASK_TEXT;
    int64_t stride = text ? in.val_len / B : 0;
    if (text && !s) { /* pos is NULL when an allocation above failed */
        for (int b = 0; b < B; b++) pos[b] = (int64_t)b * stride;
        int64_t windows = (stride - 1) / in.steps; /* windows that fit each stream */
        if (windows < 1) s = s ? s : rl_fail(RL_ERR_ARG, "the validation text is too short for %d streams of %d", B, in.steps);
        if (batches <= 0 || batches > windows) batches = (int)windows;
    }
    if (batches <= 0) batches = 1;
    for (int k = 0; !s && k < batches; k++) {
        s = rl_task_fill(task, d, &r, 1, pos);
        rl_batch b = *rl_data_batch(d);
        if (text) b.h0 = h0, b.c0 = c.cell == RL_CELL_LSTM ? c0 : NULL;
        double loss = 0;
        if (!s) s = rl_forward_eval(ws, m, &b, &loss);
        if (!s) s = rl_task_score(task, &b, ws, loss, sc);
        /* text: the streams carry their state to the next window */
        for (int l = 0; !s && text && l < c.num_layers; l++) {
            const float *hl = (const float *)rl_ws_hidden(ws, l) + (size_t)in.steps * B * c.hidden_size;
            memcpy(h0 + (size_t)l * B * c.hidden_size, hl, (size_t)B * c.hidden_size * 4);
            if (c.cell == RL_CELL_LSTM)
                memcpy(c0 + (size_t)l * B * c.hidden_size, (const float *)rl_ws_cell(ws, l) + (size_t)in.steps * B * c.hidden_size,
                       (size_t)B * c.hidden_size * 4);
        }
    }
    free(pos);
    rl_free(h0), rl_free(c0);
    rl_data_free(d);
    rl_ws_free(ws);
    rl_model_free(m);
    return s;
}

static rl_status eval_record(rl_trainer *t)
{
    rl_score sc;
    rl_status s = rl_evaluate(t->m, t->task, t->cfg.batch, t->cfg.eval_batches, t->cfg.seed ^ 0x76616cull, &sc);
    if (s) return s;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)t->step);
    score_json(r, &t->info, &sc, "val_");
    return append_line(t, "metrics.jsonl", r);
}

/* ------------------------------------------------------------------ the loop */

/* One update on a fresh batch; *gnorm gets the norm before clipping. */
static rl_status train_step(rl_trainer *t, double *loss, double *gnorm, int *clipped)
{
    const rl_train_config *c = &t->cfg;
    const int B = c->batch, T = t->info.steps, H = c->hidden, L = c->layers;
    rl_status s = RL_OK;
    rl_batch b = *rl_data_batch(t->data);
    if (t->k1) {
        /* text: B streams; a stream that wraps around starts from a zero state */
        for (int bb = 0; bb < B; bb++)
            if (t->pos[bb] + T + 1 > t->info.train_len) {
                t->pos[bb] = 0;
                for (int l = 0; l < L; l++) {
                    memset(t->carry_h + ((size_t)l * B + bb) * H, 0, (size_t)H * 4);
                    memset(t->carry_c + ((size_t)l * B + bb) * H, 0, (size_t)H * 4);
                }
            }
        memcpy(t->pos_before, t->pos, (size_t)B * 8);
        s = rl_task_fill(t->task, t->data, &t->rng, 0, t->pos);
        for (int bb = 0; bb < B; bb++) t->pos[bb] = t->pos_before[bb] + t->k1; /* windows overlap by T - k1 */
        /* truncated BPTT(k1, k2 = T): the loss on the last k1 steps, the gradient through all T */
        float *mask = t->data->mask;
        for (int bb = 0; bb < B; bb++)
            for (int k = 0; k < T; k++) mask[(size_t)bb * T + k] = k >= T - t->k1;
        b.h0 = t->carry_h;
        b.c0 = c->cell == RL_CELL_LSTM ? t->carry_c : NULL;
    } else {
        s = rl_task_fill(t->task, t->data, &t->rng, 0, NULL);
    }
    if (!s) s = rl_ws_set_dropout(t->ws, c->dropout, c->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t->step + 1)));
    rl_ws_zero_grad(t->ws);
    *loss = NAN, *gnorm = NAN, *clipped = 0;
    if (!s) s = rl_forward(t->ws, t->m, &b, loss);
    if (!s) s = rl_backward(t->ws, t->m, &b);
    size_t n = rl_model_num_params(t->m);
    if (!s && c->inject_nan_at == t->step + 1) ((float *)rl_ws_grad(t->ws))[n / 2] = NAN;
    if (!s) s = rl_clip_grad_norm(rl_ws_grad(t->ws), n, RL_F32, c->clip, gnorm);
    if (s) return s;
    *clipped = c->clip > 0 && *gnorm >= c->clip;
    if (c->clip_value > 0) rl_clip_grad_value(rl_ws_grad(t->ws), n, RL_F32, c->clip_value);
    s = rl_optim_step(t->opt, t->m, rl_ws_grad(t->ws), rl_lr_at(&c->sched, t->step));
    if (!s && t->k1)
        for (int l = 0; l < L; l++) { /* the state after k1 steps starts the next window */
            memcpy(t->carry_h + (size_t)l * B * H, (const float *)rl_ws_hidden(t->ws, l) + (size_t)t->k1 * B * H, (size_t)B * H * 4);
            if (c->cell == RL_CELL_LSTM)
                memcpy(t->carry_c + (size_t)l * B * H, (const float *)rl_ws_cell(t->ws, l) + (size_t)t->k1 * B * H, (size_t)B * H * 4);
        }
    return s;
}

rl_status rl_trainer_run(rl_trainer *t, volatile int *stop, int *interrupted,
                         void (*progress)(const rl_progress *, void *), void *ctx)
{
    const rl_train_config *c = &t->cfg;
    rl_status s = RL_OK;
    *interrupted = 0;
    double t0 = now_s(), tlog = t0, sum_loss = 0, sum_norm = 0, max_norm = 0, last_loss = NAN, last_norm = NAN;
    int64_t n_int = 0, n_clip = 0, skipped = 0, tokens = 0;
    const int64_t tokens_per_step = (int64_t)c->batch * (t->k1 ? t->k1 : t->info.steps);
    if (t->step == 0 && c->flow_every > 0) s = flow_record(t, NAN, NAN);
    while (!s && t->step < c->steps) {
        if (stop && *stop) {
            *interrupted = 1;
            break;
        }
        double loss, gnorm;
        int clipped;
        s = train_step(t, &loss, &gnorm, &clipped);
        if (s == RL_ERR_NONFINITE || (!s && !isfinite(loss))) {
            if (!c->skip_nonfinite)
            {
                char what[200];
                snprintf(what, sizeof what, "%s", s ? rl_errmsg() : "the loss is not finite");
                if (t->last_ckpt > 0)
                    return rl_fail(RL_ERR_NONFINITE, "step %lld: %s; stopped; the checkpoint of step %lld is intact",
                                   (long long)t->step + 1, what, (long long)t->last_ckpt);
                return rl_fail(RL_ERR_NONFINITE, "step %lld: %s; stopped before any checkpoint was written",
                               (long long)t->step + 1, what);
            }
            s = RL_OK;
            skipped++;
            t->step++;
            continue;
        }
        if (s) break;
        t->step++;
        tokens += tokens_per_step;
        sum_loss += loss, sum_norm += gnorm, max_norm = fmax(max_norm, gnorm), n_clip += clipped, n_int++;
        last_loss = loss, last_norm = gnorm;
        if (t->step % c->log_every == 0 || t->step == c->steps) {
            double now = now_s();
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "step", (double)t->step);
            cJSON_AddNumberToObject(r, "loss", sum_loss / (double)n_int);
            cJSON_AddNumberToObject(r, "grad_norm", sum_norm / (double)n_int);
            cJSON_AddNumberToObject(r, "grad_norm_max", max_norm);
            cJSON_AddNumberToObject(r, "clipped", (double)n_clip / (double)n_int);
            cJSON_AddNumberToObject(r, "lr", rl_lr_at(&c->sched, t->step - 1));
            cJSON_AddNumberToObject(r, "skipped", (double)skipped);
            cJSON_AddNumberToObject(r, "tokens_per_s", (double)tokens / fmax(now - tlog, 1e-9));
            if (!isnan(t->info.baseline)) cJSON_AddNumberToObject(r, "baseline", t->info.baseline);
            s = append_line(t, "metrics.jsonl", r);
            if (progress) {
                rl_progress p = {t->step, c->steps, sum_loss / (double)n_int, sum_norm / (double)n_int,
                                 rl_lr_at(&c->sched, t->step - 1), (double)tokens / fmax(now - tlog, 1e-9), now - t0, skipped};
                progress(&p, ctx);
            }
            sum_loss = sum_norm = max_norm = 0, n_int = n_clip = 0, tokens = 0, tlog = now;
        }
        if (!s && c->flow_every > 0 && (t->step % c->flow_every == 0 || t->step == c->steps))
            s = flow_record(t, last_loss, last_norm);
        if (!s && ((c->eval_every > 0 && t->step % c->eval_every == 0) || t->step == c->steps)) s = eval_record(t);
        if (!s && ((c->ckpt_every > 0 && t->step % c->ckpt_every == 0) || t->step == c->steps)) s = save_checkpoint(t);
    }
    if (!s && *interrupted) s = save_checkpoint(t);
    return s;
}
