/* What a training run will cost before it runs: its peak memory from the
 * sizes of what the trainer allocates (src/train/trainer.c), and its time
 * from a timed step; and the time of the Jacobians' lags. rl_trainer_new
 * checks the memory against rl_memory_limit before it allocates; rnnlab
 * train --dry-run prints both. tests/test_memory.c holds the memory to what
 * is allocated. */
#include "cells/cell.h"
#include "net/net.h"
#include "train/estimate.h"
#include "train/tasks.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* rl_alloc's bytes for n elements of es bytes */
static double alloc_bytes(double n, double es) { return ceil(fmax(n, 1) * es / 64) * 64; }

/* The optimizer's moment buffers (rl_optim_new): sgd with momentum 1, adagrad and rmsprop 1, adam 2. */
static int optim_buffers(const rl_optim_config *o)
{
    if (o->kind == RL_OPT_SGD) return o->momentum > 0;
    return o->kind == RL_OPT_ADAGRAD || o->kind == RL_OPT_RMSPROP ? 1 : 2;
}

/* Gradient flossing's episode (src/train/floss.c, float64, one sequence at
 * a time): the model, a B = 1 workspace, the QRs' Q_t and R_t, the
 * injections, the gradient, and the episode's own Adam and batch. */
static double floss_bytes(const rl_train_config *c, const rl_config *mc, double params, int T)
{
    const rl_cell_desc *d = rl_cell_desc_of(mc->cell);
    const double U = rl_cell_units(d, mc), L = mc->num_layers, n = d->states, S = n * L * U, K = c->floss,
                 Z = rl_cell_proj(d, mc), GhU = d->hh_gates * U;
    double b = rl_model_bytes(mc, c->orthogonal, RL_F64) + rl_ws_bytes(mc, c->orthogonal, RL_F64, 1, T);
    b += alloc_bytes((T + 1.0) * S * K, 8) + alloc_bytes((double)T * K * K, 8) + 2 * alloc_bytes(S * S, 8) +
         2 * alloc_bytes(S * K, 8) + 2 * alloc_bytes(U * U, 8) + alloc_bytes(L * T * Z, 8) + alloc_bytes(L * T * GhU, 8) +
         alloc_bytes(L * T * n * U, 8) + alloc_bytes(params, 8) + alloc_bytes(L * GhU * U, 8) + 2 * alloc_bytes(T * U, 8) +
         alloc_bytes(T * Z, 8) + alloc_bytes(T * GhU, 8) + 2 * alloc_bytes(2 * n * (Z + GhU + 2 * U), 8) + 16 * 64;
    return b + 2 * alloc_bytes(params, 4) + rl_batch_bytes(mc, c->floss_batch, T);
}

/* Data parallelism's blocks (src/train/shard.c, one process): a workspace
 * per thread for 16 sequences (and one for a shorter last block), a gradient
 * and the carried states per block. */
static double block_bytes(const rl_train_config *c, const rl_config *mc, double params, int T)
{
    const int B = c->batch, full = B < RL_BLOCK_SEQS ? B : RL_BLOCK_SEQS, total = (B + RL_BLOCK_SEQS - 1) / RL_BLOCK_SEQS;
    const int threads = rl_get_num_threads(), parts = total >= threads ? threads : 1, last = B - (total - 1) * RL_BLOCK_SEQS;
    const double LFH = (double)mc->num_layers * full * rl_cell_units(rl_cell_desc_of(mc->cell), mc);
    double b = parts * rl_ws_bytes(mc, c->orthogonal, RL_F32, full, T);
    if (last < full) b += rl_ws_bytes(mc, c->orthogonal, RL_F32, last, T);
    return b + total * alloc_bytes(params, 4) + 4 * alloc_bytes(total * LFH, 4) + alloc_bytes(LFH / full * B, 4);
}

void rl_train_memory(const rl_train_config *c, const rl_task_info *in, rl_train_cost *e)
{
    rl_config mc = {.cell = c->cell, .input_size = in->input_size, .hidden_size = c->hidden, .num_layers = c->layers,
                    .output_size = in->output_size, .loss = in->loss, .state_size = c->state_size, .activation = c->activation};
    const int T = in->steps, B = c->batch;
    const double params = (double)rl_config_num_params_orth(&mc, c->orthogonal);
    const double LBU = (double)c->layers * B * rl_cell_units(rl_cell_desc_of(c->cell), &mc);
    const double ws = rl_ws_bytes(&mc, c->orthogonal, RL_F32, B, T), model = rl_model_bytes(&mc, c->orthogonal, RL_F32);
    /* what the trainer keeps (build): the model, its workspace, a batch, the optimizer's moments, the carried
     * state, the flow's sequence; the regularisers' and dropout's buffers; the blocks of block_sum */
    double keep = model + ws + rl_batch_bytes(&mc, B, T) + optim_buffers(&c->optim) * alloc_bytes(params, 4) +
                  2 * alloc_bytes(LBU, 4) + rl_batch_bytes(&mc, 1, T);
    if (c->dropout > 0 && c->layers > 1) keep += 2 * alloc_bytes((double)(c->layers - 1) * T * B * c->hidden, 4);
    if (c->omega > 0) keep += alloc_bytes(LBU * T, 4);
    if (c->floss > 0) keep += rl_batch_bytes(&mc, c->floss_batch, T) + alloc_bytes(params, 4);
    if (c->block_sum) keep += block_bytes(c, &mc, params, T);
    /* and at times one of: a validation (the model cast, a workspace, a batch, the carried state), a flow
     * record (rl_jac_new and rl_jac_lags), a flossing episode, the ridge fit */
    double peak = model + ws + rl_batch_bytes(&mc, B, T) + 2 * alloc_bytes(LBU, 4);
    if (c->flow_every > 0) peak = fmax(peak, rl_jac_bytes(&mc, c->orthogonal, T));
    if (c->floss > 0) peak = fmax(peak, floss_bytes(c, &mc, params, T));
    if (c->readout == RL_READOUT_RIDGE) {
        const double p = c->hidden + 1.0, O = in->output_size;
        peak = fmax(peak, ws + alloc_bytes(p * p, 8) + alloc_bytes(p * O, 8) + alloc_bytes(4096 * (p + O), 8));
    }
    e->bytes = keep + peak, e->ws_bytes = ws, e->params = params;
}

/* Seconds of one training step and of one forward pass over B sequences,
 * timed on B' = min(B, 32) of them (two passes after one to warm up) and
 * scaled by B / B'; NaN each when it cannot run. */
static void time_step(const rl_train_config *c, const rl_task *task, double *step, double *fwd)
{
    *step = *fwd = NAN;
    const rl_task_info in = rl_task_get_info(task);
    const int Bt = c->batch < 32 ? c->batch : 32;
    rl_config mc = {.cell = c->cell, .input_size = in.input_size, .hidden_size = c->hidden, .num_layers = c->layers,
                    .output_size = in.output_size, .loss = in.loss, .state_size = c->state_size, .activation = c->activation};
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    rl_data *d = NULL;
    rl_rng r;
    rl_rng_seed(&r, c->seed);
    int64_t *pos = calloc((size_t)Bt, sizeof *pos);
    rl_status s = pos ? rl_model_new_orth(&m, &mc, RL_F32, c->orthogonal) : RL_ERR_NOMEM;
    rl_init init = c->init;
    rl_init_for_steps(&init, c->cell, in.steps);
    if (!s) s = rl_model_init(m, &init, c->seed);
    if (!s) s = rl_ws_new(&ws, m, Bt, in.steps);
    if (!s) s = rl_task_data_new(&d, task, Bt);
    if (!s) s = rl_task_fill(task, d, &r, 0, pos);
    double t_step = 0, t_fwd = 0, loss = 0;
    for (int rep = 0; !s && rep < 3; rep++) {
        const rl_batch *b = rl_data_batch(d);
        double t0 = rl_now();
        s = rl_forward_eval(ws, m, b, &loss);
        double t1 = rl_now();
        rl_ws_zero_grad(ws);
        if (!s) s = rl_forward(ws, m, b, &loss);
        if (!s) s = rl_backward(ws, m, b);
        double t2 = rl_now();
        if (rep > 0) t_fwd += t1 - t0, t_step += t2 - t1;
    }
    if (!s) *step = t_step / 2 * c->batch / Bt, *fwd = t_fwd / 2 * c->batch / Bt;
    rl_data_free(d);
    rl_ws_free(ws);
    rl_model_free(m);
    free(pos);
}

rl_status rl_train_freeze(const rl_model *m, const rl_train_config *c, int *idx, int *n)
{
    const char *list = c->freeze;
    *n = 0;
    if (!list) return RL_OK;
    if (c->readout == RL_READOUT_RIDGE)
        return rl_fail(RL_ERR_ARG, "--freeze is for --readout bptt: a ridge readout fits the head alone and leaves the rest");
    unsigned char hit[RL_MAX_TENSORS] = {0};
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) p++, len--; /* "a, b" as "a,b" */
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        const int prefix = len > 0 && p[len - 1] == '*';
        const size_t stem = prefix ? len - 1 : len;
        if (len == 0) return rl_fail(RL_ERR_ARG, "--freeze '%s': an empty name (give tensor names, comma-separated)", list);
        int found = 0;
        for (int i = 0; i < m->num_tensors; i++) {
            const char *name = m->tensors[i].name;
            if (strncmp(name, p, stem) == 0 && (prefix || name[stem] == '\0') && !m->tensors[i].fixed) hit[i] = 1, found = 1;
        }
        if (!found) {
            char names[2048] = "";
            size_t k = 0;
            for (int i = 0; i < m->num_tensors; i++) {
                if (m->tensors[i].fixed) continue;
                const size_t w = strlen(m->tensors[i].name) + 2;
                if (k + w + 4 >= sizeof names) { /* the rest left out, and said so */
                    snprintf(names + k, sizeof names - k, ", ...");
                    break;
                }
                k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", k ? ", " : "", m->tensors[i].name);
            }
            return rl_fail(RL_ERR_ARG, "--freeze: '%.*s' names no trained tensor of this model (%s)", (int)len, p, names);
        }
        if (!end) break;
        p = end + 1;
    }
    int left = 0;
    for (int i = 0; i < m->num_tensors; i++) {
        if (hit[i]) idx[(*n)++] = i;
        else left += !m->tensors[i].fixed;
    }
    if (!left) return rl_fail(RL_ERR_ARG, "--freeze '%s' leaves no tensor to train", list);
    return RL_OK;
}

/* --freeze against the names of the run's model, without the model: its
 * tensors' names do not depend on the sizes, so a model of one unit (and
 * one input and output) has them all */
static rl_status check_freeze(const rl_train_config *c)
{
    if (!c->freeze) return RL_OK;
    rl_config mc = {.cell = c->cell, .input_size = 1, .hidden_size = 1, .num_layers = c->layers, .output_size = 1,
                    .loss = RL_LOSS_MSE, .state_size = c->state_size ? 1 : 0, .activation = c->activation};
    rl_model *m = NULL;
    rl_status s = rl_model_new_orth(&m, &mc, RL_F32, c->orthogonal);
    int idx[RL_MAX_TENSORS], n = 0;
    if (!s) s = rl_train_freeze(m, c, idx, &n);
    rl_model_free(m);
    return s;
}

rl_status rl_train_estimate(const rl_train_config *c, int time_it, rl_train_cost *out)
{
    *out = (rl_train_cost){0, 0, 0, NAN, NAN};
    rl_status s = rl_train_config_check(c);
    if (!s) s = check_freeze(c);
    rl_task *task = NULL;
    if (!s) s = rl_task_from_config(&task, c, 0, NULL);
    if (s) return s;
    const rl_task_info in = rl_task_get_info(task);
    rl_train_config cc = *c;
    if (c->readout == RL_READOUT_RIDGE) cc.steps = 1;
    rl_train_memory(&cc, &in, out);
    if (time_it && out->bytes <= rl_memory_limit().bytes && c->readout == RL_READOUT_BPTT) {
        double step, fwd;
        time_step(&cc, task, &step, &fwd);
        /* the steps, and the validations (eval_batches forward passes, every eval_every steps and at the end) */
        const double evals = (cc.eval_every > 0 ? (double)(cc.steps / cc.eval_every) : 0) + 1;
        out->step_seconds = step;
        out->seconds = (double)cc.steps * step + evals * cc.eval_batches * fwd;
    }
    rl_task_free(task);
    return RL_OK;
}

/* Seconds of one call of f on an n x n matrix: the best of three. */
static double best_of(double (*f)(double *, double *, int), double *a, double *w, int n)
{
    double best = INFINITY;
    for (int k = 0; k < 3; k++) {
        double t0 = rl_now();
        if (f(a, w, n) != 0) return NAN;
        best = fmin(best, rl_now() - t0);
    }
    return best;
}

static double do_gemm(double *a, double *w, int n)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, a, n, 0, w, n);
    return 0;
}

static double do_svd(double *a, double *w, int n)
{
    memcpy(w, a, (size_t)n * n * sizeof *w);
    return LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', n, n, w, n, w + (size_t)n * n, NULL, n, NULL, n);
}

static double do_eig(double *a, double *w, int n)
{
    memcpy(w, a, (size_t)n * n * sizeof *w);
    return LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', n, w, n, w + (size_t)n * n, w + (size_t)n * n + n, NULL, n, NULL, n);
}

double rl_jac_seconds(int S, int T, int norm_lags, int radius_lags)
{
    if (S < 1 || T < 1) return 0;
    const int n = S < 256 ? S : 256;
    double *a = rl_alloc((size_t)n * n, 8), *w = rl_alloc((size_t)n * n + 2 * (size_t)n, 8);
    double sec = NAN;
    if (a && w) {
        rl_rng r;
        rl_rng_seed(&r, 1);
        for (size_t i = 0; i < (size_t)n * n; i++) a[i] = rl_rng_normal(&r) / sqrt(n);
        const double f = pow((double)S / n, 3);
        const double g = best_of(do_gemm, a, w, n), sv = norm_lags ? best_of(do_svd, a, w, n) : 0,
                     ev = radius_lags ? best_of(do_eig, a, w, n) : 0;
        sec = f * ((double)T * g + norm_lags * sv + radius_lags * ev);
    }
    rl_free(a), rl_free(w);
    return sec;
}
