/* The training loop: minibatches of a task, BPTT (full, or truncated with
 * the state carried for text), a hook, clipping, an optimizer and a schedule;
 * the records it makes (metrics, gradient flow, validation). The run folder
 * it keeps them in, with its atomic checkpoints and what resuming needs, is
 * src/run.c; the configuration's table is src/train_config.c. */
#include "cells/cell.h"
#include "net/net.h"
#include "train/estimate.h"
#include "train/run.h"
#include "train/shard.h"
#include "train/tasks.h"
#include "net/orth_ws.h"

#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rl_trainer {
    rl_train_config cfg;
    char *dir;               /* owned copies of the run folder's path */
    char *text_path;         /* and of cfg.text_path */
    char *strings[5];        /* and of cfg's other strings (a user's data: valid_path, inputs, targets; init_from;
                                freeze) */
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
    int fresh;               /* a new run that has not started */
    rl_run_records acc;      /* the metrics line being gathered, and the steps skipped */
    rl_step_hook hook;       /* or NULL */
    void *hook_ctx;
    /* the regularisers on the Jacobians: Omega as a step hook of the
     * trainer's own (it runs before the user's), flossing in episodes */
    rl_step_hook reg_hook;   /* omega_hook, or NULL */
    double last_omega;       /* Omega of the last step, for the metrics line */
    rl_data *floss_data;     /* floss_batch sequences of the task */
    void *floss_grad;        /* (num_params) float32 */
    int64_t *floss_pos;      /* text: the windows' offsets (floss_batch) */
    rl_score last_val;       /* the last validation, and its step (0: none yet) */
    int64_t last_val_step;
    rl_shard shard;          /* the processes sharing the run (rank 0 of 1: this one alone) */
    rl_blocks *blk;          /* block_sum: this process's blocks (src/shard.c), else NULL */
    int64_t solved_step;     /* the step whose validation solved the task, 0: none */
    double seconds;          /* the seconds of training of the segments before this one (train.seconds) */
    double seg_start;        /* rl_now() when this segment's loop began; 0 before */
    int64_t timed_out;       /* the step at which --time-limit stopped the run, 0: none */
    int lock;                /* the run folder's lock (rank 0), held until rl_trainer_free; -1 none */
    int nfrozen;             /* --freeze: the tensors training leaves, by index */
    int frozen[RL_MAX_TENSORS];
    float *frozen_start;     /* and their values as this segment began */
};

/* Rank 0 keeps the run folder: its records, validations and checkpoints. */
static int writes(const rl_trainer *t) { return t->shard.rank == 0; }

/* ------------------------------------------------------------------ set-up */

void rl_trainer_free(rl_trainer *t)
{
    if (!t) return;
    rl_task_free(t->task);
    rl_model_free(t->m);
    rl_ws_free(t->ws);
    rl_data_free(t->data);
    rl_data_free(t->flow);
    rl_data_free(t->floss_data);
    rl_free(t->floss_grad);
    rl_free(t->frozen_start);
    free(t->floss_pos);
    rl_optim_free(t->opt);
    rl_blocks_free(t->blk);
    free(t->pos);
    free(t->pos_before);
    rl_free(t->carry_h);
    rl_free(t->carry_c);
    free(t->dir);
    free(t->text_path);
    for (size_t i = 0; i < sizeof t->strings / sizeof t->strings[0]; i++) free(t->strings[i]);
    if (t->lock >= 0) close(t->lock);
    free(t);
}

/* Text: validation reads B streams of the validation split, each at least
 * one window of T + 1 characters long (rl_evaluate's batch; the trainer
 * validates on the streams that fit: val_streams). */
static rl_status check_validation_fits(const rl_task_info *in, int B)
{
    if (in->kind != RL_TASK_TEXT || in->val_len / B >= in->steps + 1) return RL_OK;
    return rl_fail(RL_ERR_ARG,
                   "the validation text (%lld characters) is too short for %d streams of %d: use --batch %lld or less, or "
                   "--seq-len %lld or less, or a longer text",
                   (long long)in->val_len, B, in->steps, (long long)(in->val_len / (in->steps + 1)), (long long)(in->val_len / B - 1));
}

/* --readout ridge fits an MSE head on the steps after the washout; the
 * washout is its option alone. */
static rl_status check_ridge(const rl_train_config *c, const rl_task_info *in)
{
    if (c->readout != RL_READOUT_RIDGE) {
        if (c->washout) return rl_fail(RL_ERR_ARG, "--washout is for --readout ridge");
        return RL_OK;
    }
    /* a ridge readout has no gradient steps: the regularisers on the Jacobians would never act */
    if (c->omega > 0 || c->floss > 0)
        return rl_fail(RL_ERR_ARG, "%s is for --readout bptt: a ridge readout fits the head in one solve, with no gradient "
                                   "step for it to act on", c->omega > 0 ? "--omega" : "--floss");
    if (in->loss != RL_LOSS_MSE)
        return rl_fail(RL_ERR_ARG, "--readout ridge fits an MSE head by least squares; the task %s has a %s loss",
                       rl_task_name(in->kind), rl_loss_name(in->loss));
    if (c->washout >= in->steps)
        return rl_fail(RL_ERR_ARG, "--washout %d leaves nothing to fit: the task's sequences have %d steps", c->washout,
                       in->steps);
    /* fewer rows than unknowns: X^T X is singular whatever the states (a task with a mask has fewer still) */
    const long long rows = (long long)c->batch * (in->steps - c->washout);
    if (c->ridge == 0 && rows < c->hidden + 1)
        return rl_fail(RL_ERR_ARG,
                       "--ridge 0 with %lld rows for %d unknowns (batch x (steps - washout) against hidden + 1): the normal "
                       "equations are singular; use --ridge > 0 or more rows",
                       rows, c->hidden + 1);
    return RL_OK;
}

/* Pascanu et al.'s Omega as a step hook: weight * dOmega/dtheta added to
 * the gradient before clipping (as their code adds it), Omega kept for the
 * metrics line; the loss logged stays the task's. */
static rl_status omega_hook(void *ctx, rl_trainer *t, rl_model *m, rl_ws *ws, const rl_batch *b, double *loss)
{
    (void)ctx, (void)b, (void)loss;
    return rl_omega(ws, m, t->cfg.omega_form, t->cfg.omega, &t->last_omega, NULL);
}

/* What the regularisers need: every layer's dL/dh for Omega; a batch and a
 * gradient buffer for flossing, and k within the state. */
static rl_status build_regularisers(rl_trainer *t)
{
    const rl_train_config *c = &t->cfg;
    t->last_omega = NAN;
    if (c->omega > 0) {
        rl_status s = rl_ws_keep_grad_hidden(t->ws);
        if (s) return s;
        t->reg_hook = omega_hook;
    }
    if (c->floss == 0) return RL_OK;
    if (c->floss > rl_state_size(t->m))
        return rl_fail(RL_ERR_ARG, "--floss %d: this model's state has %d dimensions (K <= %d)", c->floss,
                       rl_state_size(t->m), rl_state_size(t->m));
    rl_status s = rl_task_data_new(&t->floss_data, t->task, c->floss_batch);
    if (s) return s;
    if (!(t->floss_grad = rl_alloc(rl_model_num_params(t->m), 4)) || !(t->floss_pos = calloc((size_t)c->floss_batch, 8)))
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    return RL_OK;
}

/* The configuration's strings other than text_path (a user's data's
 * valid_path, inputs, targets) in copies of the trainer's own, a path by its
 * absolute path so that the run resumes from anywhere; take: they are copies
 * already (rl_run_open's), to be freed with the trainer. */
static rl_status own_strings(rl_trainer *t, int take)
{
    int k = 0;
    rl_status s = RL_OK;
    for (int i = 0; i < rl_option_count(); i++) {
        const rl_option *f = rl_option_at(i);
        if (f->type != RL_FIELD_PATH || strcmp(f->name, "text_path") == 0) continue;
        RL_ASSERT(k < (int)(sizeof t->strings / sizeof t->strings[0]));
        const char **p = (const char **)((char *)&t->cfg + f->offset);
        const int file = strcmp(f->name, "valid_path") == 0 || strcmp(f->name, "init_from") == 0; /* by absolute path */
        char *own = take || !*p ? (char *)*p : file ? realpath(*p, NULL) : NULL;
        if (!own && *p && !take) own = strdup(*p);
        if (*p && !own) s = rl_fail(RL_ERR_NOMEM, "out of memory");
        t->strings[k++] = own;
        *p = own;
    }
    return s;
}

/* --freeze: the tensors its names match, into t->frozen (src/train/estimate.c),
 * and room for their values as the run starts */
static rl_status resolve_freeze(rl_trainer *t)
{
    rl_status s = rl_train_freeze(t->m, &t->cfg, t->frozen, &t->nfrozen);
    size_t n = 0;
    for (int k = 0; !s && k < t->nfrozen; k++) n += t->m->tensors[t->frozen[k]].numel;
    if (!s && n && !(t->frozen_start = rl_alloc(n, 4))) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    return s;
}

/* The frozen tensors' values: taken (as the run, or a resumed segment,
 * starts) or put back (after each update: a bound that clips what the
 * update left, IndRNN's |u| <= R, does not move them either). */
static void frozen_values(rl_trainer *t, int take)
{
    float *p = rl_model_params(t->m), *v = t->frozen_start;
    for (int k = 0; k < t->nfrozen; k++) {
        const rl_tensor_info *ti = &t->m->tensors[t->frozen[k]];
        if (take) memcpy(v, p + ti->offset, ti->numel * 4);
        else memcpy(p + ti->offset, v, ti->numel * 4);
        v += ti->numel;
    }
}

/* An optimizer of the run leaves the frozen tensors (and their moments) as they are. */
static rl_status freeze_in(const rl_trainer *t, rl_optim *o)
{
    rl_status s = RL_OK;
    for (int k = 0; k < t->nfrozen && !s; k++) {
        const rl_tensor_info *ti = &t->m->tensors[t->frozen[k]];
        s = rl_optim_set_lr_scale(o, ti->offset, ti->numel, 0);
    }
    return s;
}

/* Everything but the model's weights and the optimizer's moments. */
static rl_status build(rl_trainer *t)
{
    rl_train_config *c = &t->cfg;
    rl_status s = rl_task_from_config(&t->task, c, 0, NULL);
    if (s) return s;
    t->info = rl_task_get_info(t->task);
    /* a user's data sets T: the run and its model record it */
    if (rl_task_reads_data(c->task)) c->seq_len = t->info.seq_len;
    if ((s = check_ridge(c, &t->info))) return s;
    /* the whole run's peak, before any of it is allocated (src/train/estimate.c) */
    rl_train_cost e;
    rl_train_memory(c, &t->info, &e);
    char what[320], wsb[32];
    rl_format_bytes(e.ws_bytes, wsb, sizeof wsb);
    snprintf(what, sizeof what, "training %s %d x %d on %s with --batch %d of T = %d steps (its workspace alone %s)",
             rl_cell_name(c->cell), c->layers, c->hidden, rl_task_name(c->task), c->batch, t->info.steps, wsb);
    if ((s = rl_memory_check(e.bytes, what))) return s;
    t->k1 = c->task == RL_TASK_TEXT ? (c->k1 ? c->k1 : c->seq_len) : 0;
    rl_config mc = {.cell = c->cell, .input_size = t->info.input_size, .hidden_size = c->hidden, .num_layers = c->layers, .output_size = t->info.output_size, .loss = t->info.loss,
                     .state_size = c->state_size, .activation = c->activation};
    if ((s = rl_model_new_orth(&t->m, &mc, RL_F32, c->orthogonal))) return s;
    /* the model file says what it was trained on: the commands' defaults */
    if ((s = rl_model_record_task(t->m, c))) return s;
    if (t->info.vocab && (s = rl_model_set_vocab(t->m, t->info.vocab))) return s;
    if ((s = rl_ws_new(&t->ws, t->m, c->batch, t->info.steps))) return s;
    if ((s = rl_task_data_new(&t->data, t->task, c->batch))) return s;
    if ((s = rl_optim_new(&t->opt, t->m, &c->optim))) return s;
    for (int l = 0; c->orthogonal_lr > 0 && l < c->layers && !s; l++) { /* X learns at its own rate */
        const rl_tensor_info *x = &t->m->tensors[rl_t(t->m, l, RL_ORTH_X)];
        s = rl_optim_set_lr_scale(t->opt, x->offset, x->numel, c->orthogonal_lr / c->sched.lr);
    }
    if (!s) s = resolve_freeze(t);
    if (!s) s = freeze_in(t, t->opt);
    if (s) return s;
    if (t->shard.size > 1 && c->time_limit > 0)
        return rl_fail(RL_ERR_ARG, "--time-limit stops on one process's clock, and the %d processes of this run must stop "
                                   "at the same step: give --steps instead (or continue the run on one process)",
                       t->shard.size);
    if (t->shard.size > 1 && !c->block_sum)
        return rl_fail(RL_ERR_ARG, "a run shared by %d processes needs block_sum (--block-sum): this one was started without it; "
                                   "continue it on one process", t->shard.size);
    if (c->block_sum && c->readout == RL_READOUT_RIDGE)
        return rl_fail(RL_ERR_ARG, "--block-sum is for --readout bptt: a ridge readout is fitted in one solve, on one process");
    if (c->block_sum && (s = rl_blocks_new(&t->blk, t->m, c->batch, t->info.steps, &t->shard))) return s;
    size_t LBH = (size_t)c->layers * c->batch * rl_model_units(t->m); /* the state carried between text windows */
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
    if (!s) s = build_regularisers(t);
    return s;
}

/* A cosine schedule without its length decays over the run's steps (the
 * steps it was created with: resuming with more steps keeps the schedule). */
static void resolve_schedule(rl_train_config *c)
{
    if (c->sched.kind == RL_SCHED_COSINE && c->sched.total == 0) c->sched.total = c->steps;
}

/* The trainer's state as the run folder saves and restores it. */
static rl_run_state run_state(const rl_trainer *t)
{
    rl_run_state st = {t->step, t->rng, t->acc, NULL, NULL, NULL, t->info.text_bytes, t->info.text_hash,
                       t->seconds + (t->seg_start > 0 ? rl_now() - t->seg_start : 0)};
    if (t->k1) st.pos = t->pos, st.carry_h = t->carry_h, st.carry_c = rl_cell_states(t->cfg.cell) == 2 ? t->carry_c : NULL;
    return st;
}

/* One process, or rank 0 of 1 when shard is NULL. */
static void set_shard(rl_trainer *t, const rl_shard *shard)
{
    if (shard) t->shard = *shard;
    else t->shard = (rl_shard){0, 1, NULL, NULL, NULL};
}

rl_status rl_trainer_new(rl_trainer **out, const rl_train_config *cfg, const char *dir)
{
    return rl_trainer_new_ex(out, cfg, dir, NULL);
}

rl_status rl_trainer_new_ex(rl_trainer **out, const rl_train_config *cfg, const char *dir, const rl_shard *shard)
{
    *out = NULL;
    rl_status s = rl_train_config_check(cfg);
    if (s) return s;
    rl_trainer *t = calloc(1, sizeof *t);
    if (!t) return rl_fail(RL_ERR_NOMEM, "out of memory");
    t->lock = -1;
    set_shard(t, shard);
    t->cfg = *cfg;
    resolve_schedule(&t->cfg);
    if (cfg->readout == RL_READOUT_RIDGE) t->cfg.steps = 1; /* the fit is the run's one step */
    /* the text by its absolute path, so that the run resumes from anywhere */
    if (cfg->text_path && !(t->text_path = realpath(cfg->text_path, NULL))) t->text_path = strdup(cfg->text_path);
    t->cfg.text_path = t->text_path;
    if (!(t->dir = strdup(dir)) || (cfg->text_path && !t->text_path)) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    if (!s) s = own_strings(t, 0);
    if (!s && rl_run_holds(dir, cfg->text_path))
        s = rl_fail(RL_ERR_ARG, "--data %s is one of the files a run writes in %s: give the text another place",
                    cfg->text_path, dir);
    if (!s && rl_run_holds(dir, cfg->valid_path))
        s = rl_fail(RL_ERR_ARG, "--valid %s is one of the files a run writes in %s: give it another place", cfg->valid_path, dir);
    /* everything that can fail before the folder is touched */
    if (!s) s = build(t);
    /* the init's options whose default is the task's length T (its steps),
     * written into the run's configuration */
    if (!s) rl_init_for_steps(&t->cfg.init, t->cfg.cell, t->info.steps);
    if (!s) s = rl_model_init(t->m, &t->cfg.init, t->cfg.seed);
    /* --init-from: the weights of a model file over the init (a head it lacks keeps the init's); a fresh optimiser */
    if (!s && t->cfg.init_from) s = rl_model_load_weights(t->m, t->cfg.init_from, NULL);
    rl_rng_seed(&t->rng, t->cfg.seed ^ 0x7472616e69ull);
    if (!s && writes(t)) s = rl_run_create(dir, &t->cfg, &t->lock);
    if (!s && writes(t) && t->cfg.save_init) { /* the model before training, for the analysis of what training changed */
        char p[RL_RUN_MAX_PATH + 32];
        snprintf(p, sizeof p, "%s/init.safetensors", dir);
        s = rl_model_save(t->m, p);
    }
    t->fresh = 1;
    if (s) {
        rl_trainer_free(t);
        return s;
    }
    *out = t;
    return RL_OK;
}

static rl_status save_checkpoint(rl_trainer *t)
{
    rl_run_state st = run_state(t);
    rl_status s = RL_OK;
    /* text: every process's streams' state, to rank 0 */
    if (t->blk && t->k1) s = rl_blocks_gather(t->blk, t->carry_h, t->carry_c);
    if (!s && writes(t)) s = rl_run_save(t->dir, &t->cfg, t->m, t->opt, &st);
    if (!s) t->last_ckpt = t->step;
    return s;
}

rl_status rl_trainer_resume(rl_trainer **out, const char *dir, int64_t steps)
{
    rl_resume_options o = {steps, NULL, NULL, NULL, 0};
    return rl_trainer_resume_ex(out, dir, &o);
}

/* The step a checkpoint is at (-1 if it does not say), read before anything
 * is built or trimmed. */
static int64_t checkpoint_step(const st_file *f)
{
    const st_tensor *t = st_find(f, "train.step");
    int64_t v = -1;
    if (t && t->dtype == ST_I64 && t->numel == 1) memcpy(&v, f->data + t->begin, 8);
    return v;
}

/* The text of a resumed text run must be the one it was trained on: the
 * size and hash the checkpoint records (older checkpoints record neither;
 * the vocabulary is checked then, in rl_run_restore). */
static rl_status check_text(const st_file *f, const rl_task_info *in, const char *path)
{
    const char *b = st_meta(f, "text_bytes"), *h = st_meta(f, "text_hash"), *v = st_meta(f, "vocab");
    if (in->kind != RL_TASK_TEXT) return RL_OK;
    if (v && in->vocab && strcmp(v, in->vocab) != 0)
        return rl_fail(RL_ERR_FORMAT, "%s: the text's characters are not the ones the run was trained on (%s)", f->path,
                       path ? path : "the built-in corpus");
    if (!b || !h) return RL_OK;
    unsigned long long want = strtoull(h, NULL, 16);
    long long bytes = strtoll(b, NULL, 10);
    if (bytes == in->text_bytes && want == in->text_hash) return RL_OK;
    return rl_fail(RL_ERR_FORMAT,
                   "%s is not the text this run was trained on: %lld bytes, hash %016llx; the run's had %s bytes, hash %s",
                   path ? path : "the built-in corpus", (long long)in->text_bytes, (unsigned long long)in->text_hash, b, h);
}

static rl_status save_checkpoint(rl_trainer *t);

/* o->set's "key=value" onto c; *changed gets {"key": ["old", "new"], ...}
 * for those that differ (NULL when none does). */
static rl_status apply_changes(rl_train_config *c, const rl_resume_options *o, cJSON **changed)
{
    *changed = NULL;
    for (int i = 0; o && i < o->nset; i++) {
        const char *eq = o->set[i] ? strchr(o->set[i], '=') : NULL;
        char key[64], was[96], now[96];
        if (!eq || eq - o->set[i] >= (long)sizeof key) return rl_fail(RL_ERR_ARG, "a change is \"key=value\", not '%s'", o->set[i] ? o->set[i] : "(null)");
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->set[i]), o->set[i]);
        const rl_option *f = rl_option_find(key);
        if (!f || !rl_option_resumable(f)) {
            char keys[400] = "";
            for (int k = 0, at = 0; k < rl_option_count() && at < (int)sizeof keys; k++)
                if (rl_option_resumable(rl_option_at(k)))
                    at += snprintf(keys + at, sizeof keys - at, "%s, ", rl_option_at(k)->name);
            return rl_fail(RL_ERR_ARG, "a resumed run changes only %sand steps: its %s is the checkpoint's", keys, key);
        }
        rl_option_format(c, f, was, sizeof was);
        rl_status s = rl_option_parse(c, f, eq + 1);
        if (s) return s;
        rl_option_format(c, f, now, sizeof now);
        if (strcmp(was, now) == 0) continue;
        if (!*changed && !(*changed = cJSON_CreateObject())) return rl_fail(RL_ERR_NOMEM, "out of memory");
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(was));
        cJSON_AddItemToArray(pair, cJSON_CreateString(now));
        cJSON_DeleteItemFromObject(*changed, f->name); /* given twice: the last */
        cJSON_AddItemToObject(*changed, f->name, pair);
    }
    return RL_OK;
}

rl_status rl_trainer_resume_ex(rl_trainer **out, const char *dir, const rl_resume_options *o)
{
    *out = NULL;
    const int64_t steps = o ? o->steps : 0;
    const char *new_text = o ? o->text_path : NULL;
    rl_trainer *t = calloc(1, sizeof *t);
    if (!t) return rl_fail(RL_ERR_NOMEM, "out of memory");
    t->lock = -1;
    set_shard(t, o ? o->shard : NULL);
    st_file f;
    /* the other processes only read the checkpoint */
    rl_status s = rl_run_open(&f, dir, &t->cfg, writes(t) ? &t->lock : NULL);
    t->text_path = (char *)t->cfg.text_path; /* owned */
    own_strings(t, 1);
    if (!s && !(t->dir = strdup(dir))) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    resolve_schedule(&t->cfg); /* a checkpoint from before decay_steps was recorded */
    /* refused before anything is built, or a record trimmed */
    int64_t at = s ? -1 : checkpoint_step(&f);
    if (!s && steps > 0 && t->cfg.readout == RL_READOUT_RIDGE && steps != 1)
        s = rl_fail(RL_ERR_ARG, "%s is a ridge readout, fitted in one step: there are no more steps to run", dir);
    if (!s && steps > 0 && at > steps)
        s = rl_fail(RL_ERR_ARG, "%s is at step %lld, past the %lld steps asked for: give --steps %lld or more", dir,
                    (long long)at, (long long)steps, (long long)at);
    if (!s && steps > 0) t->cfg.steps = steps;
    cJSON *changed = NULL; /* the settings changed: the run's config history (metrics.jsonl) */
    if (!s) s = apply_changes(&t->cfg, o, &changed);
    if (!s && cJSON_GetObjectItem(changed, "schedule") && !cJSON_GetObjectItem(changed, "decay_steps"))
        t->cfg.sched.total = 0; /* a new cosine schedule decays over the steps, as a new run's */
    resolve_schedule(&t->cfg);
    if (!s && new_text && t->cfg.task != RL_TASK_TEXT && !rl_task_reads_data(t->cfg.task))
        s = rl_fail(RL_ERR_ARG, "--data is only for a run of the text task or of a user's data (data, smnist, psmnist)");
    if (!s && new_text && rl_run_holds(dir, new_text))
        s = rl_fail(RL_ERR_ARG, "--data %s is one of the run's own files, which training writes: give the run's text", new_text);
    if (!s && new_text) { /* the run's text, moved: from now on recorded by its new absolute path */
        free(t->text_path);
        if (!(t->text_path = realpath(new_text, NULL))) t->text_path = strdup(new_text);
        t->cfg.text_path = t->text_path;
        if (!t->text_path) s = rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    if (!s && rl_train_config_check(&t->cfg)) s = rl_fail(RL_ERR_FORMAT, "%s: train_config: %s", f.path, rl_errmsg());
    if (!s) s = build(t);
    if (s == RL_ERR_IO && (t->cfg.task == RL_TASK_TEXT || rl_task_reads_data(t->cfg.task)) && !new_text) {
        char why[1024];
        snprintf(why, sizeof why, "%s", rl_errmsg());
        s = rl_fail(s, "%s (if the run's %s has moved, resume with --data NEWPATH)", why, t->cfg.task == RL_TASK_TEXT ? "text" : "data");
    }
    if (!s) s = check_text(&f, &t->info, t->cfg.text_path);
    if (!s && new_text && writes(t)) s = rl_run_write_config(dir, &t->cfg);
    rl_run_state st = run_state(t);
    if (!s) s = rl_run_restore(&f, writes(t) ? dir : NULL, &t->cfg, t->m, t->opt, &st, t->info.train_len);
    st_close(&f);
    t->step = t->last_ckpt = st.step;
    t->seconds = st.seconds;
    t->rng = st.rng;
    if (!s && t->cfg.time_limit > 0 && t->seconds >= t->cfg.time_limit && t->step < t->cfg.steps)
        s = rl_fail(RL_ERR_ARG, "%s has had %.1f s of training, its time limit %g s: give a larger time limit (--time-limit S, "
                                "or 0 for none) to go on",
                    dir, t->seconds, t->cfg.time_limit);
    t->acc = st.records;
    if (!s && t->step > t->cfg.steps)
        s = rl_fail(RL_ERR_ARG, "%s is at step %lld, past the %lld steps asked for", dir, (long long)t->step,
                    (long long)t->cfg.steps);
    /* changed settings: a line of the records, config.json, and a checkpoint that holds them (so that a run
     * stopped before its next checkpoint resumes with them) */
    if (!s && changed) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "step", (double)t->step);
        cJSON_AddItemToObject(r, "config_changed", changed);
        changed = NULL;
        if (writes(t)) s = rl_run_append(dir, "metrics.jsonl", r);
        else cJSON_Delete(r);
        if (!s && writes(t)) s = rl_run_write_config(dir, &t->cfg);
        if (!s) s = save_checkpoint(t);
    }
    cJSON_Delete(changed);
    if (s) {
        rl_trainer_free(t);
        return s;
    }
    *out = t;
    return RL_OK;
}

void rl_trainer_set_hook(rl_trainer *t, rl_step_hook fn, void *ctx)
{
    t->hook = fn;
    t->hook_ctx = fn ? ctx : NULL;
}

const rl_model *rl_trainer_model(const rl_trainer *t) { return t->m; }
rl_task_info rl_trainer_task_info(const rl_trainer *t) { return t->info; }

int64_t rl_trainer_last_eval(const rl_trainer *t, rl_score *sc)
{
    *sc = t->last_val;
    return t->last_val_step;
}
rl_train_config rl_trainer_config(const rl_trainer *t) { return t->cfg; }
int64_t rl_trainer_step(const rl_trainer *t) { return t ? t->step : -1; }
int64_t rl_trainer_solved_step(const rl_trainer *t) { return t ? t->solved_step : -1; }

int64_t rl_trainer_timed_out(const rl_trainer *t) { return t && !t->solved_step ? t->timed_out : 0; }

double rl_trainer_seconds(const rl_trainer *t)
{
    return t ? t->seconds + (t->seg_start > 0 ? rl_now() - t->seg_start : 0) : 0;
}

/* ------------------------------------------------------------------ records */

/* Spectral radius and largest singular value of each gate block of layer
 * l's R (an orthogonal W_hh as it is now, B map(A); diag(u): both max |u_j|),
 * by the recurrence's row. */
static void whh_stats(const rl_model *m, rl_ws *ws, int l, double *radius, double *sigma)
{
    const int G = rl_cell_gates(m->cfg.cell);
    rl_derive_sync(ws, m); /* a derived R (lru's lambda) from the parameters as they are now */
    const float *w = rl_orth_sync(ws, m) ? NULL : rl_layer_whh(ws, m, l);
    for (int g = 0; g < G; g++) radius[g] = sigma[g] = NAN;
    if (w) rl_cell_recur(m->cell)->stats(m->cell->hh_gates, rl_model_units(m), w, radius, sigma);
}

static cJSON *darray(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* A number of a record: JSON has no inf or NaN, and cJSON writes null for
 * both, which the flow records keep for ln 0 = -inf (an exact zero). So +inf
 * and NaN (a run that diverged) are the strings "inf" and "nan". */
static cJSON *jnum(double v)
{
    return isfinite(v) || v == -INFINITY ? cJSON_CreateNumber(v) : cJSON_CreateString(isnan(v) ? "nan" : "inf");
}

static cJSON *darray_nonfinite(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, jnum(v[i]));
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
        cJSON_AddItemToObject(r, "loss", isnan(loss) ? cJSON_CreateNull() : jnum(loss));
        cJSON_AddItemToObject(r, "grad_norm", isnan(gnorm) ? cJSON_CreateNull() : jnum(gnorm));
        cJSON_AddItemToObject(r, "param_norm", jnum(rl_buffer_norm(rl_model_params_const(t->m), rl_model_num_params(t->m), RL_F32)));
        cJSON_AddItemToObject(r, "val_seq_loss", jnum(rl_jac_loss(j)));
        cJSON *w = cJSON_AddArrayToObject(r, "w_hh");
        for (int l = 0; l < t->cfg.layers; l++) {
            double rad[4], sig[4];
            int G = rl_cell_gates(t->cfg.cell);
            whh_stats(t->m, t->ws, l, rad, sig);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", l);
            cJSON_AddItemToObject(e, "radius", darray(rad, G));
            cJSON_AddItemToObject(e, "sigma_max", darray(sig, G));
            cJSON_AddItemToArray(w, e);
        }
        /* index tau = 0..T: ln||dL/dh_tau|| of the top layer (lru: of its state x_tau); and the part from
         * the last step */
        cJSON_AddItemToObject(r, "lag_log_grad", darray_nonfinite(lag, T + 1));
        cJSON_AddItemToObject(r, "lag_log_grad_last", darray_nonfinite(last, T + 1));
        s = rl_run_append(t->dir, "flow.jsonl", r);
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
        snprintf(k, sizeof k, "%snrmse", prefix);
        if (!isnan(rl_score_nrmse(sc))) cJSON_AddNumberToObject(r, k, rl_score_nrmse(sc));
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
    if (!isnan(in->baseline_accuracy)) cJSON_AddNumberToObject(r, "baseline_accuracy", in->baseline_accuracy);
}

/* ------------------------------------------------------------------ evaluation */

rl_status rl_evaluate(const rl_model *m0, const rl_task *task, int B, int batches, uint64_t seed, rl_score *sc)
{
    return rl_evaluate_washout(m0, task, B, batches, seed, 0, sc);
}

rl_status rl_evaluate_washout(const rl_model *m0, const rl_task *task, int B, int batches, uint64_t seed, int washout,
                              rl_score *sc)
{
    const rl_task_info in = rl_task_get_info(task);
    rl_config c = rl_model_config(m0);
    memset(sc, 0, sizeof *sc);
    if (washout < 0 || washout >= in.steps)
        return rl_fail(RL_ERR_ARG, "--washout %d must be below the task's %d steps", washout, in.steps);
    if (c.input_size != in.input_size || c.output_size != in.output_size || c.loss != in.loss)
        return rl_fail(RL_ERR_ARG, "the model (input %d, output %d, %s) does not fit the task %s (input %d, output %d, %s)",
                       c.input_size, c.output_size, rl_loss_name(c.loss), rl_task_name(in.kind), in.input_size,
                       in.output_size, rl_loss_name(in.loss));
    if (in.vocab && (!rl_model_vocab(m0) || strcmp(rl_model_vocab(m0), in.vocab) != 0))
        return rl_fail(RL_ERR_ARG, "the model's characters are not the text's: give the text it was trained on (--data)");
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    rl_data *d = NULL;
    int64_t *pos = NULL;
    float *h0 = NULL, *c0 = NULL;
    size_t LBH = (size_t)c.num_layers * B * rl_model_units(m0);
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
        if (windows < 1 && !s) s = check_validation_fits(&in, B);
        if (batches <= 0 || batches > windows) batches = (int)windows;
    }
    if (rl_task_reads_data(in.kind) && !s) { /* a user's data: the scored sequences in order, B at a time */
        for (int b = 0; b < B; b++) pos[b] = b;
        const int64_t all = (in.val_len + B - 1) / B;
        if (batches <= 0 || batches > all) batches = (int)all;
    }
    if (batches <= 0) batches = 1;
    for (int k = 0; !s && k < batches; k++) {
        s = rl_task_fill(task, d, &r, 1, pos);
        /* the washout: the first steps of every sequence are not scored */
        for (int bb = 0; bb < B && washout > 0; bb++) memset((float *)d->mask + (size_t)bb * in.steps, 0, (size_t)washout * sizeof(float));
        rl_batch b = *rl_data_batch(d);
        if (text) b.h0 = h0, b.c0 = rl_cell_states(c.cell) == 2 ? c0 : NULL;
        double loss = 0;
        if (!s) s = rl_forward_eval(ws, m, &b, &loss);
        if (!s) s = rl_task_score(task, &b, ws, loss, sc);
        /* text: the streams carry their state to the next window */
        if (!s && text) s = rl_ws_state_at(ws, in.steps, h0, c0);
    }
    free(pos);
    rl_free(h0), rl_free(c0);
    rl_data_free(d);
    rl_ws_free(ws);
    rl_model_free(m);
    return s;
}

/* The validation's streams: the training batch, but for a text whose
 * validation split holds fewer windows of T + 1 characters (issue 28: the
 * validation set is sized on its own, not refused for the training batch). */
static int val_streams(const rl_trainer *t)
{
    const rl_task_info *in = &t->info;
    if (in->kind != RL_TASK_TEXT) return t->cfg.batch;
    const int64_t fit = in->val_len / (in->steps + 1); /* >= 1: rl_task_new refuses a shorter split */
    return fit < t->cfg.batch ? (int)(fit > 0 ? fit : 1) : t->cfg.batch;
}

static rl_status eval_record(rl_trainer *t)
{
    rl_score sc;
    /* a user's data: the last validation scores every validation sequence */
    const int last = t->step == t->cfg.steps || t->timed_out == t->step;
    const int batches = rl_task_reads_data(t->cfg.task) && last ? 0 : t->cfg.eval_batches;
    rl_status s = rl_evaluate_washout(t->m, t->task, val_streams(t), batches, t->cfg.seed ^ 0x76616cull, t->cfg.washout, &sc);
    if (s) return s;
    t->last_val = sc, t->last_val_step = t->step;
    if (!writes(t)) return RL_OK;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)t->step);
    score_json(r, &t->info, &sc, "val_");
    return rl_run_append(t->dir, "metrics.jsonl", r);
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
        b.c0 = rl_cell_states(c->cell) == 2 ? t->carry_c : NULL;
    } else {
        s = rl_task_fill(t->task, t->data, &t->rng, 0, NULL);
    }
    const uint64_t drop_seed = c->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t->step + 1));
    *loss = NAN, *gnorm = NAN, *clipped = 0;
    if (t->blk) { /* the sum over blocks, on every process alike (src/shard.c) */
        if (!s)
            s = rl_blocks_step(t->blk, t->m, &b, c->dropout, c->clip_message, drop_seed, t->k1, rl_ws_grad(t->ws), loss);
    } else {
        if (!s) s = rl_ws_set_dropout(t->ws, c->dropout, drop_seed);
        if (!s) s = rl_ws_set_clip_message(t->ws, c->clip_message);
        rl_ws_zero_grad(t->ws);
        if (!s) s = rl_forward(t->ws, t->m, &b, loss);
        if (!s) s = rl_backward(t->ws, t->m, &b);
    }
    size_t n = rl_model_num_params(t->m);
    /* a regulariser's term, an all-reduce of the gradient: the trainer's own first */
    if (!s && t->reg_hook) s = t->reg_hook(NULL, t, t->m, t->ws, &b, loss);
    if (!s && t->hook) s = t->hook(t->hook_ctx, t, t->m, t->ws, &b, loss);
    if (!s && !isfinite(*loss)) s = rl_fail(RL_ERR_NONFINITE, "the loss is %g", *loss);
    for (int k = 0; !s && k < t->nfrozen; k++) { /* --freeze: no gradient, as torch's requires_grad = False */
        const rl_tensor_info *ti = &t->m->tensors[t->frozen[k]];
        memset((float *)rl_ws_grad(t->ws) + ti->offset, 0, ti->numel * sizeof(float));
    }
    if (!s && c->inject_nan_at == t->step + 1) ((float *)rl_ws_grad(t->ws))[n / 2] = NAN;
    if (!s) s = rl_clip_grad_norm(rl_ws_grad(t->ws), n, RL_F32, c->clip, gnorm);
    if (s) return s;
    *clipped = c->clip > 0 && *gnorm >= c->clip;
    if (c->clip_value > 0) rl_clip_grad_value(rl_ws_grad(t->ws), n, RL_F32, c->clip_value);
    s = rl_optim_step(t->opt, t->m, rl_ws_grad(t->ws), rl_lr_at(&c->sched, t->step));
    /* IndRNN: |u| <= recurrent_max after every update (nothing for a dense W_hh) */
    if (!s) rl_model_clip_recurrent(t->m, c->init.recurrent_max);
    frozen_values(t, 0);
    /* the state after k1 steps starts the next window */
    if (!s && t->k1 && t->blk) rl_blocks_carry(t->blk, t->carry_h, t->carry_c);
    else if (!s && t->k1) s = rl_ws_state_at(t->ws, t->k1, t->carry_h, t->carry_c);
    return s;
}

/* --readout ridge: the run's one step. A batch of the task's training
 * sequences, one forward pass, and the head fitted by ridge regression on
 * the states after the washout (src/readout.c); the recurrence keeps its
 * init. */
static rl_status ridge_step(rl_trainer *t, double *loss, rl_ridge_info *fit)
{
    const rl_train_config *c = &t->cfg;
    rl_status s = rl_task_fill(t->task, t->data, &t->rng, 0, NULL);
    if (!s) s = rl_ridge_readout(t->m, rl_data_batch(t->data), c->washout, c->ridge, fit);
    *loss = s ? NAN : fit->train_mse;
    return s;
}

/* The metrics line of a ridge fit, in place of log_metrics's: no gradient,
 * no learning rate; *p its progress report (grad_norm and lr NaN). */
static rl_status ridge_metrics(rl_trainer *t, const rl_ridge_info *fit, double now, double tlog, int64_t tokens, double t0,
                               rl_progress *p)
{
    const rl_train_config *c = &t->cfg;
    const double tps = (double)tokens / fmax(now - tlog, 1e-9);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)t->step);
    cJSON_AddNumberToObject(r, "loss", fit->train_mse);
    cJSON_AddNumberToObject(r, "readout", 1); /* the line of a ridge fit */
    cJSON_AddNumberToObject(r, "ridge_rows", (double)fit->rows);
    if (fit->target_var > 0) cJSON_AddNumberToObject(r, "train_nrmse", sqrt(fit->train_mse / fit->target_var));
    cJSON_AddNumberToObject(r, "ridge_rcond", fit->rcond);
    cJSON_AddNumberToObject(r, "head_weight_norm", fit->weight_norm);
    cJSON_AddNumberToObject(r, "skipped", 0);
    cJSON_AddNumberToObject(r, "tokens_per_s", tps);
    if (!isnan(t->info.baseline)) cJSON_AddNumberToObject(r, "baseline", t->info.baseline);
    rl_status s = rl_run_append(t->dir, "metrics.jsonl", r);
    *p = (rl_progress){t->step, c->steps, fit->train_mse, NAN, NAN, tps, now - t0, 0, NAN, 0, t->info.baseline};
    return s;
}

/* ------------------------------------------------------------------ flossing */

/* An episode is due after training step `step` (0: before training); not
 * on the run's length, so that a run resumed to more steps floss as one
 * that was asked for them at once. */
static int floss_due(const rl_train_config *c, int64_t step)
{
    if (c->floss == 0) return 0;
    if (step == 0) return 1;
    if (c->floss_every == 0 || step % c->floss_every != 0) return 0;
    return c->floss_episodes == 0 || step / c->floss_every <= c->floss_episodes;
}

/* Fresh sequences for flossing into d, from r; text: windows at random offsets. */
static rl_status floss_fill(rl_trainer *t, rl_data *d, rl_rng *r)
{
    if (t->k1) {
        int64_t span = t->info.train_len - t->info.steps - 1;
        for (int b = 0; b < t->cfg.floss_batch; b++)
            t->floss_pos[b] = span > 0 ? (int64_t)(rl_rng_next(r) % (uint64_t)span) : 0;
    }
    return rl_task_fill(t->task, d, r, 0, t->k1 ? t->floss_pos : NULL);
}

/* F and the exponents' means over the sequences of d into *f and mean (k);
 * NaN for a rank-deficient R. */
static rl_status floss_measure(rl_trainer *t, rl_data *d, double *lam, double *f, double *mean)
{
    const int K = t->cfg.floss, B = t->cfg.floss_batch;
    rl_floss_config fc = {K, t->cfg.floss_target, 1};
    rl_status s = rl_floss(t->m, rl_data_batch(d), &fc, f, lam, NULL, NULL, NULL);
    if (s == RL_ERR_NONFINITE) s = RL_OK, *f = NAN;
    for (int i = 0; !s && i < K; i++) {
        mean[i] = 0;
        for (int b = 0; b < B; b++) mean[i] += isnan(*f) ? NAN : lam[(size_t)b * K + i] / B;
    }
    return s;
}

/* One episode of gradient flossing (Engelken 2023): floss_steps updates of
 * F alone by an Adam of its own (made afresh for each episode, so that a
 * checkpoint holds nothing of it), on fresh batches from a generator of its
 * own (the training data are the same with or without flossing). An
 * update whose QR is rank-deficient, or whose trajectory is not finite, is
 * skipped and counted. One line of floss.jsonl: F and the exponents (means
 * over the sequences) on the episode's first batch, before and after. */
static rl_status floss_episode(rl_trainer *t)
{
    const rl_train_config *c = &t->cfg;
    const int K = c->floss, B = c->floss_batch;
    const size_t n = rl_model_num_params(t->m);
    const rl_optim_config oc = rl_optim_defaults(RL_OPT_ADAM);
    rl_floss_config fc = {K, c->floss_target, 1};
    rl_optim *o = NULL;
    rl_data *first = NULL;
    rl_rng r;
    rl_rng_seed(&r, c->seed ^ 0x666c6f7373ull ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t->step + 1)));
    double *lam = calloc((size_t)B * K, 8), *before = calloc((size_t)K, 8), *after = calloc((size_t)K, 8);
    double f0 = NAN, f1 = NAN, F = NAN;
    int64_t skipped = 0;
    rl_status s = lam && before && after ? rl_optim_new(&o, t->m, &oc) : rl_fail(RL_ERR_NOMEM, "out of memory");
    if (!s) s = freeze_in(t, o);
    if (!s) s = rl_task_data_new(&first, t->task, B);
    if (!s) s = floss_fill(t, first, &r);
    if (!s) s = floss_measure(t, first, lam, &f0, before);
    for (int64_t i = 0; !s && i < c->floss_steps; i++) {
        const rl_data *d = first;
        if (i > 0) {
            s = floss_fill(t, t->floss_data, &r);
            d = t->floss_data;
        }
        memset(t->floss_grad, 0, n * 4);
        if (!s) s = rl_floss(t->m, rl_data_batch(d), &fc, &F, NULL, t->floss_grad, NULL, NULL);
        if (s == RL_ERR_NONFINITE) {
            s = RL_OK, skipped++;
            continue;
        }
        if (!s) s = rl_optim_step(o, t->m, t->floss_grad, c->floss_lr > 0 ? c->floss_lr : c->sched.lr);
        if (!s) rl_model_clip_recurrent(t->m, c->init.recurrent_max);
        frozen_values(t, 0);
    }
    if (!s) s = floss_measure(t, first, lam, &f1, after);
    if (!s) {
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddNumberToObject(rec, "step", (double)t->step);
        cJSON_AddNumberToObject(rec, "updates", (double)c->floss_steps);
        cJSON_AddNumberToObject(rec, "skipped", (double)skipped);
        cJSON_AddNumberToObject(rec, "floss_before", f0);
        cJSON_AddNumberToObject(rec, "floss_after", f1);
        cJSON_AddItemToObject(rec, "lambda_before", darray(before, K));
        cJSON_AddItemToObject(rec, "lambda_after", darray(after, K));
        s = rl_run_append(t->dir, "floss.jsonl", rec);
    }
    rl_data_free(first);
    rl_optim_free(o);
    free(lam), free(before), free(after);
    return s;
}

/* The metrics line of the steps since the last one; *p gets the progress
 * report of the same steps (the validation fields are filled later, after
 * the step's validation). */
static rl_status log_metrics(rl_trainer *t, double now, double tlog, int64_t tokens, double t0, rl_progress *p)
{
    const rl_train_config *c = &t->cfg;
    rl_run_records *a = &t->acc;
    const double n = (double)a->steps, lr = rl_lr_at(&c->sched, t->step - 1), tps = (double)tokens / fmax(now - tlog, 1e-9);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)t->step);
    if (a->steps > 0) { /* not when every step since the last line was skipped */
        cJSON_AddNumberToObject(r, "loss", a->loss / n);
        cJSON_AddNumberToObject(r, "grad_norm", a->grad_norm / n);
        cJSON_AddNumberToObject(r, "grad_norm_max", a->grad_norm_max);
        cJSON_AddNumberToObject(r, "clipped", (double)a->clipped / n);
    }
    cJSON_AddNumberToObject(r, "lr", lr);
    cJSON_AddNumberToObject(r, "skipped", (double)a->skipped);
    cJSON_AddNumberToObject(r, "tokens_per_s", tps);
    if (!isnan(t->info.baseline)) cJSON_AddNumberToObject(r, "baseline", t->info.baseline);
    if (c->omega > 0 && !isnan(t->last_omega)) cJSON_AddNumberToObject(r, "omega", t->last_omega);
    rl_status s = RL_OK;
    if (writes(t)) s = rl_run_append(t->dir, "metrics.jsonl", r);
    else cJSON_Delete(r);
    *p = (rl_progress){t->step, c->steps, a->loss / n, a->grad_norm / n, lr, tps, now - t0, a->skipped,
                       NAN, 0, t->info.baseline};
    a->loss = a->grad_norm = a->grad_norm_max = 0, a->steps = a->clipped = 0;
    return s;
}

/* A run that diverged (a loss or gradient not finite, stopped): the metrics
 * of the steps since the last line, a line for the step that diverged
 * ("diverged": true, "reason", the step's step_loss and step_grad_norm,
 * "inf" or "nan" where they are not numbers), and a flow record of the model that diverged (the one before
 * the step's update, which was not made), so that the report can show what
 * led to it (issue 28). Nothing is written on other ranks. Errors here are
 * passed over: the divergence is the run's error, said by the caller. */
static void diverged_records(rl_trainer *t, double loss, double gnorm, const char *what, double now, double tlog,
                             int64_t tokens, double t0)
{
    if (!writes(t)) return;
    rl_progress rep;
    if (t->cfg.readout == RL_READOUT_BPTT && (t->acc.steps > 0 || t->acc.skipped > 0)) log_metrics(t, now, tlog, tokens, t0, &rep);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)t->step + 1);
    cJSON_AddBoolToObject(r, "diverged", 1);
    cJSON_AddStringToObject(r, "reason", what);
    /* the step's own numbers, not an interval's means: other keys than loss and grad_norm */
    cJSON_AddItemToObject(r, "step_loss", jnum(loss));
    cJSON_AddItemToObject(r, "step_grad_norm", jnum(gnorm));
    cJSON_AddNumberToObject(r, "lr", rl_lr_at(&t->cfg.sched, t->step));
    rl_run_append(t->dir, "metrics.jsonl", r);
    if (t->cfg.flow_every > 0) {
        t->step++;
        flow_record(t, loss, gnorm);
        t->step--;
    }
    rl_run_write_metrics_csv(t->dir);
}

static rl_status trainer_loop(rl_trainer *t, volatile int *stop, int *interrupted,
                              void (*progress)(const rl_progress *, void *), void *ctx)
{
    if (!t) return rl_fail(RL_ERR_ARG, "rl_trainer_run: no trainer (NULL)");
    const rl_train_config *c = &t->cfg;
    rl_status s = RL_OK;
    *interrupted = 0;
    double t0 = rl_now(), tlog = t0, last_loss = NAN, last_norm = NAN;
    int64_t tokens = 0;
    const int64_t tokens_per_step = (int64_t)c->batch * (t->k1 ? t->k1 : t->info.steps);
    const int ridge = c->readout == RL_READOUT_RIDGE; /* one step, the head's fit (steps = 1) */
    /* the flow before training, once: a run resumed at step 0 has it; then flossing before training
     * (one process only: flossing does not combine with block_sum, rl_train_config_check) */
    if (t->fresh && c->flow_every > 0 && writes(t)) s = flow_record(t, NAN, NAN);
    if (!s && t->fresh && floss_due(c, 0)) s = floss_episode(t);
    t->fresh = 0;
    t->seg_start = t0;
    t->timed_out = 0;
    while (!s && t->step < c->steps) {
        if (stop && *stop) {
            *interrupted = 1;
            break;
        }
        double loss, gnorm = NAN;
        int clipped = 0;
        rl_ridge_info fit;
        s = ridge ? ridge_step(t, &loss, &fit) : train_step(t, &loss, &gnorm, &clipped);
        if (s == RL_ERR_NONFINITE || (!s && !isfinite(loss))) {
            if (!c->skip_nonfinite) {
                char what[200];
                snprintf(what, sizeof what, "%s", s ? rl_errmsg() : "the loss is not finite");
                diverged_records(t, loss, gnorm, what, rl_now(), tlog, tokens + tokens_per_step, t0);
                if (t->last_ckpt > 0)
                    return rl_fail(RL_ERR_NONFINITE, "step %lld: %s; stopped; the checkpoint of step %lld is intact",
                                   (long long)t->step + 1, what, (long long)t->last_ckpt);
                return rl_fail(RL_ERR_NONFINITE, "step %lld: %s; stopped before any checkpoint was written",
                               (long long)t->step + 1, what);
            }
            /* skipped: no update, but the step counts, with its records and checkpoint */
            s = RL_OK;
            t->acc.skipped++;
        } else if (s) {
            break;
        } else if (ridge) { /* the fit: nothing for the gradient's records */
            last_loss = loss;
        } else {
            rl_run_records *a = &t->acc;
            a->loss += loss, a->grad_norm += gnorm, a->grad_norm_max = fmax(a->grad_norm_max, gnorm);
            a->clipped += clipped, a->steps++;
            last_loss = loss, last_norm = gnorm;
        }
        t->step++;
        tokens += tokens_per_step;
        /* flossing after this update, before its records and checkpoint: a resumed run does it once */
        if (!s && floss_due(c, t->step)) s = floss_episode(t);
        rl_progress rep;
        int report = t->step % c->log_every == 0 || t->step == c->steps;
        if (report) {
            double now = rl_now();
            s = ridge ? ridge_metrics(t, &fit, now, tlog, tokens, t0, &rep) : log_metrics(t, now, tlog, tokens, t0, &rep);
            tokens = 0, tlog = now;
        }
        /* the records are rank 0's, and so is the time they take */
        if (!s && writes(t) && c->flow_every > 0 && (t->step % c->flow_every == 0 || t->step == c->steps))
            s = flow_record(t, last_loss, last_norm);
        /* --time-limit: this step is the segment's last, with the records of a last step (a validation,
         * the flow, a checkpoint); not a metrics line, whose interval goes on when the run resumes, as
         * an uninterrupted run's does (one process: rl_trainer_new refuses it to a shared run) */
        const double trained = t->seconds + (rl_now() - t0);
        const int out_of_time = !s && c->time_limit > 0 && t->step < c->steps && trained >= c->time_limit;
        if (out_of_time) t->timed_out = t->step;
        /* every rank validates (the same numbers: a stop when solved is every
         * rank's); rank 0 writes the records */
        int evaluated = !s && ((c->eval_every > 0 && t->step % c->eval_every == 0) || t->step == c->steps || out_of_time);
        if (evaluated) s = eval_record(t);
        int solved = evaluated && !s && c->stop_when_solved && rl_task_solved(t->task, &t->last_val);
        if (solved) { /* one line that says so, then the checkpoint and the model */
            t->solved_step = t->step;
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "step", (double)t->step);
            cJSON_AddBoolToObject(r, "solved", 1);
            cJSON_AddStringToObject(r, "rule", rl_task_solved_rule(c->task));
            cJSON_AddNumberToObject(r, "elapsed_s", rl_now() - t0);
            if (writes(t)) s = rl_run_append(t->dir, "metrics.jsonl", r);
            else cJSON_Delete(r);
        }
        /* a run that stops because it solved the task ends with its flow, as one that runs to its last step */
        if (!s && (solved || out_of_time) && writes(t) && c->flow_every > 0 && t->step % c->flow_every != 0 &&
            t->step != c->steps)
            s = flow_record(t, last_loss, last_norm);
        if (!s && out_of_time && !solved && writes(t)) { /* one line that says so */
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "step", (double)t->step);
            cJSON_AddNumberToObject(r, "time_limit", c->time_limit);
            cJSON_AddNumberToObject(r, "seconds", trained); /* when it stopped: before the last records */
            s = rl_run_append(t->dir, "metrics.jsonl", r);
        }
        if (!s && (solved || out_of_time || (c->ckpt_every > 0 && t->step % c->ckpt_every == 0) || t->step == c->steps))
            s = save_checkpoint(t);
        if (report && progress) { /* after the step's validation: the report shows it */
            rep.val_step = t->last_val_step;
            rep.val_loss = t->last_val_step ? t->last_val.loss_sum / t->last_val.weight_sum : NAN;
            progress(&rep, ctx);
        }
        if (t->solved_step || out_of_time) break;
    }
    if (!s && *interrupted) s = save_checkpoint(t);
    return s;
}

rl_status rl_trainer_run(rl_trainer *t, volatile int *stop, int *interrupted,
                         void (*progress)(const rl_progress *, void *), void *ctx)
{
    /* the trainer reports through progress and stops on *stop: the Jacobian
     * products of its flow records must not stop it half-way through a step */
    int muted = rl_progress_mute(1);
    if (t) frozen_values(t, 1); /* (NULL: trainer_loop refuses it) */
    rl_status s = trainer_loop(t, stop, interrupted, progress, ctx);
    rl_progress_mute(muted);
    /* metrics.csv beside the JSON lines, once the run ends or stops (not at every checkpoint: it is the whole
     * file again, which a long run would pay for thousands of times); a divergence writes it itself */
    if (!s && t && writes(t)) s = rl_run_write_metrics_csv(t->dir);
    return s;
}
