/* The training configuration as one table: a row per field of
 * rl_train_config with its key, option, type, range, default and help. JSON
 * (config.json, a checkpoint's train_config), the command line and the docs
 * are loops over it. */
#include "train/dataset.h"
#include "train/run.h"
#include "train/tasks.h"
#include "net/net.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Enum fields are written through int pointers. */
_Static_assert(sizeof(rl_task_kind) == sizeof(int) && sizeof(rl_cell) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_init_kind) == sizeof(int) && sizeof(rl_optim_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_sched_kind) == sizeof(int) && sizeof(rl_readout) == sizeof(int) && sizeof(rl_orth) == sizeof(int),
               "enum size");
_Static_assert(sizeof(rl_omega_form) == sizeof(int), "enum size");

rl_train_config rl_train_defaults(void)
{
    rl_train_config c = {0};
    c.task = RL_TASK_ADDING, c.seq_len = 100, c.cell = RL_CELL_TANH, c.hidden = 128, c.layers = 1;
    c.init = (rl_init){.kind = RL_INIT_UNIFORM, .gain = 1};
    c.batch = 50, c.steps = 1000;
    c.optim = rl_optim_defaults(RL_OPT_ADAM);
    c.sched = (rl_schedule){RL_SCHED_CONSTANT, 1e-3, 0, 0, 0.1, 0, 0};
    c.ridge = 1e-6;
    c.clip = 1, c.log_every = 10, c.eval_every = 200, c.eval_batches = 10, c.flow_every = 100, c.ckpt_every = 200;
    c.floss_steps = 100, c.floss_batch = 1;
    c.horizon = 1, c.perm_seed = RL_PSMNIST_SEED;
    return c;
}

rl_train_config *rl_train_config_new(void)
{
    rl_train_config *c = rl_alloc(1, sizeof *c);
    if (c) *c = rl_train_defaults();
    return c;
}

void rl_train_config_free(rl_train_config *c) { rl_free(c); }

/* A row: the public description, then what only this file needs. */
typedef struct {
    rl_train_field f; /* first, so that a field pointer is a row pointer */
    const char *what; /* ENUM: the word in messages ("optimizer") */
    const char *(*choice)(int i);
} row;

static const char *task_choice(int i) { return rl_task_name((rl_task_kind)i); }
static const char *cell_choice(int i) { return rl_cell_name((rl_cell)i); }
static const char *init_choice(int i) { return rl_init_name((rl_init_kind)i); }
static const char *optim_choice(int i) { return rl_optim_name((rl_optim_kind)i); }
static const char *sched_choice(int i) { return rl_sched_name((rl_sched_kind)i); }
static const char *readout_choice(int i) { return rl_readout_name((rl_readout)i); }
static const char *nonfinite_choice(int i) { return i == 0 ? "stop" : i == 1 ? "skip" : NULL; }
static const char *orth_choice(int i) { return rl_orth_name((rl_orth)i); }
static const char *omega_form_choice(int i) { return rl_omega_form_name((rl_omega_form)i); }
static const char *loss_choice(int i) { return i == 0 ? "auto" : rl_loss_name((rl_loss)(i - 1)); }

#define OFF(field) offsetof(rl_train_config, field)
#define NUM(key, flag, group, type, field, lo, hi, arg, help, def) \
    {{key, flag, group, type, OFF(field), lo, hi, 0, arg, help, def}, NULL, NULL}
#define ENUM(key, group, field, n, arg, help, what, fn) \
    {{key, key, group, RL_FIELD_ENUM, OFF(field), 0, 0, n, arg, help, NULL}, what, fn}
#define BIG 2000000000.0

/* In the order of config.json. The ranges are those of the command line;
 * where 0 is the default it means "off" or "the usual value", as help says. */
static const row rows[] = {
    ENUM("task", "task", task, RL_TASK_COUNT, "TASK", "the task", "task", task_choice),
    NUM("seq_len", "seq-len", "task", RL_FIELD_INT, seq_len, 1, 1000000, "T", "sequence length (text: the BPTT window k2)", NULL),
    NUM("text_path", "data", "task", RL_FIELD_PATH, text_path, 0, 0, "FILE",
        "text: a UTF-8 file; data: sequences (.safetensors, .npz, a folder of .npy) or a .csv series; smnist, psmnist: "
        "the folder of the four MNIST files", "text: the built-in corpus, Pride and Prejudice"),
    /* a user's data (src/train/datatask.c): kept together, after --data */
    NUM("valid_path", "valid", "task", RL_FIELD_PATH, valid_path, 0, 0, "FILE",
        "data: the validation sequences, a file of their own", "held out of --data"),
    NUM("valid_split", "valid-split", "task", RL_FIELD_DOUBLE, valid_split, 0, 0.99, "F",
        "data, smnist, psmnist: the fraction held out at the end for validation",
        "0: 10%; MNIST: test files; CSV: 15%"),
    NUM("test_split", "test-split", "task", RL_FIELD_DOUBLE, test_split, 0, 0.99, "F",
        "data, a CSV series: the fraction at its end kept for the test (rnnlab eval)", "0: 15%"),
    {{"loss", "loss", "task", RL_FIELD_ENUM, OFF(loss), 0, 0, RL_LOSS_COUNT + 1, "L",
      "data: the loss; auto: cross_entropy for integer class ids, mse for real targets", NULL},
     "loss", loss_choice},
    NUM("inputs", "inputs", "task", RL_FIELD_PATH, inputs, 0, 0, "COLS",
        "data, a CSV series: the input columns, by name or number from 1, comma-separated", "the targets"),
    NUM("targets", "targets", "task", RL_FIELD_PATH, targets, 0, 0, "COLS", "data, a CSV series: the target columns", "none"),
    NUM("window", "window", "task", RL_FIELD_INT, window, 0, 1000000, "T", "data, a CSV series: rows (steps) a window", NULL),
    NUM("horizon", "horizon", "task", RL_FIELD_INT, horizon, 0, 1000000, "K",
        "data, a CSV series: each step's target is the target row K rows later", NULL),
    NUM("perm_seed", "perm-seed", "task", RL_FIELD_SEED, perm_seed, 0, 0, "S", "psmnist: the seed of the pixels' permutation", NULL),
    NUM("k1", "k1", "task", RL_FIELD_INT, k1, 0, 1000000, "N", "text: steps between updates, truncated BPTT(k1, T); 0 = T", "T"),
    ENUM("cell", "model", cell, RL_CELL_COUNT, "CELL", "the cell", "cell", cell_choice),
    NUM("hidden", "hidden", "model", RL_FIELD_INT, hidden, 1, RL_MAX_SIZE, "H", "units per layer", NULL),
    NUM("layers", "layers", "model", RL_FIELD_INT, layers, 1, RL_MAX_LAYERS, "L", "layers", NULL),
    ENUM("init", "model", init.kind, RL_INIT_COUNT, "KIND", "the init, as for rnnlab init", "init", init_choice),
    NUM("gain", "gain", "model", RL_FIELD_DOUBLE, init.gain, -1e6, 1e6, "G", "gain of gaussian, orthogonal, identity, symmetric, henaff", NULL),
    NUM("radius", "radius", "model", RL_FIELD_DOUBLE, init.radius, 0, 1e6, "R", "rescale each W_hh block to this spectral radius; 0 = leave", NULL),
    NUM("input_scale", "input-scale", "model", RL_FIELD_DOUBLE, init.input_scale, 0, 1e6, "S",
        "every layer's W_ih ~ U[-S, S] (an echo state network's input scaling); 0 = as the init", NULL),
    NUM("forget_bias", "forget-bias", "model", RL_FIELD_DOUBLE, init.forget_bias, -100, 100, "F",
        "lstm: b_if = F, b_hf = 0 (0: as the init)", NULL),
    NUM("zero_bias", "zero-bias", "model", RL_FIELD_BOOL, init.zero_bias, 0, 1, NULL, "every recurrent bias starts at 0", NULL),
    NUM("t_max", "t-max", "model", RL_FIELD_DOUBLE, init.t_max, 0, 1e9, "T",
        "init chrono: forgetting times uniform in [2, T] (>= 2); 0 = the task's steps", NULL),
    NUM("leak", "leak", "model", RL_FIELD_DOUBLE, init.leak, 0, 1, "A", "leaky: every unit's rate a in (0, 1); 0 = as the init",
        NULL),
    NUM("timescales", "timescales", "model", RL_FIELD_RANGE, init.timescales, 1, 1e9, "A,B",
        "leaky: time scales 1/a log-uniform in [A, B], 1 < A <= B", NULL),
    NUM("recurrent_max", "recurrent-max", "model", RL_FIELD_DOUBLE, init.recurrent_max, 0, 1e6, "R",
        "indrnn: u clipped to [-R, R] after every update, u ~ U(0, R) at init; 0 = 2^(1/T) for T steps", NULL),
    NUM("recurrent_min", "recurrent-min", "model", RL_FIELD_DOUBLE, init.recurrent_min, 0, 1e6, "R0",
        "indrnn: the last layer's u ~ U(R0, R) at init (Li et al.'s for an answer at the end: 2^(-1/T)); 0 = U(0, R)", NULL),
    ENUM("orthogonal", "model", orthogonal, RL_ORTH_COUNT, "MAP",
         "W_hh = B map(A), torch's orthogonal parametrisation; B from --init (tanh, relu, linear, leaky)", "orthogonal map",
         orth_choice),
    ENUM("readout", "optimisation", readout, RL_READOUT_COUNT, "R",
         "bptt trains every parameter; ridge keeps the recurrence as initialised and fits the head in one solve (an echo state network)",
         "readout", readout_choice),
    NUM("ridge", "ridge", "optimisation", RL_FIELD_DOUBLE, ridge, 0, 1e6, "BETA",
        "readout ridge: BETA times the squared norm of head.weight is added (head.bias is not penalised)", NULL),
    NUM("washout", "washout", "optimisation", RL_FIELD_INT, washout, 0, 1000000, "W",
        "readout ridge: the first W steps of each sequence are neither fitted nor validated", NULL),
    NUM("batch", "batch", "optimisation", RL_FIELD_INT, batch, 1, 1000000, "B", "sequences per batch", NULL),
    NUM("steps", "steps", "optimisation", RL_FIELD_INT64, steps, 1, BIG, "N", "updates", NULL),
    ENUM("optim", "optimisation", optim.kind, RL_OPT_COUNT, "O", "the optimizer, with PyTorch's defaults", "optimizer",
         optim_choice),
    NUM("momentum", "momentum", "optimisation", RL_FIELD_DOUBLE, optim.momentum, 0, 0.9999, "X", "sgd: momentum", NULL),
    NUM("nesterov", "nesterov", "optimisation", RL_FIELD_BOOL, optim.nesterov, 0, 1, NULL, "sgd: Nesterov momentum", NULL),
    NUM("alpha", "alpha", "optimisation", RL_FIELD_DOUBLE, optim.alpha, 0, 0.9999999, "X", "rmsprop: decay", NULL),
    NUM("beta1", "beta1", "optimisation", RL_FIELD_DOUBLE, optim.beta1, 0, 0.9999999, "X", "adam, adamw: first-moment decay", NULL),
    NUM("beta2", "beta2", "optimisation", RL_FIELD_DOUBLE, optim.beta2, 0, 0.9999999, "X", "adam, adamw: second-moment decay", NULL),
    NUM("eps", "eps", "optimisation", RL_FIELD_DOUBLE, optim.eps, 1e-30, 1, "X", "added to the denominator", "1e-08; adagrad 1e-10"),
    NUM("weight_decay", "weight-decay", "optimisation", RL_FIELD_DOUBLE, optim.weight_decay, 0, 10, "X",
        "L2 (adamw: decoupled)", "0; adamw 0.01"),
    ENUM("schedule", "optimisation", sched.kind, RL_SCHED_COUNT, "S", "the learning-rate schedule", "schedule", sched_choice),
    NUM("lr", "lr", "optimisation", RL_FIELD_DOUBLE, sched.lr, 1e-12, 1e3, "X", "learning rate", NULL),
    NUM("orthogonal_lr", "orthogonal-lr", "optimisation", RL_FIELD_DOUBLE, orthogonal_lr, 0, 1e3, "X",
        "--orthogonal: the learning rate of X (the schedule scales it as --lr); 0 = --lr", NULL),
    NUM("warmup", "warmup", "optimisation", RL_FIELD_INT64, sched.warmup, 0, BIG, "N", "linear warm-up steps", NULL),
    NUM("step_size", "step-size", "optimisation", RL_FIELD_INT64, sched.step_size, 0, BIG, "N",
        "step schedule: lr *= gamma every N steps", NULL),
    NUM("gamma", "gamma", "optimisation", RL_FIELD_DOUBLE, sched.gamma, 0, 10, "X", "step schedule: the factor", NULL),
    NUM("min_lr", "min-lr", "optimisation", RL_FIELD_DOUBLE, sched.min_lr, 0, 1e3, "X", "cosine: the final rate", NULL),
    NUM("decay_steps", "decay-steps", "optimisation", RL_FIELD_INT64, sched.total, 0, BIG, "N",
        "cosine: steps to decay over; 0 = --steps", NULL),
    NUM("clip", "clip", "optimisation", RL_FIELD_DOUBLE, clip, 0, 1e12, "X", "global-norm clipping (Pascanu et al.); 0 = off", NULL),
    NUM("clip_value", "clip-value", "optimisation", RL_FIELD_DOUBLE, clip_value, 0, 1e12, "X", "elementwise clipping; 0 = off", NULL),
    NUM("dropout", "dropout", "model", RL_FIELD_DOUBLE, dropout, 0, 0.99, "P", "dropout between layers", NULL),
    NUM("seed", "seed", "optimisation", RL_FIELD_SEED, seed, 0, 0, "S", "seed of the init, the data and dropout", NULL),
    NUM("log_every", "log-every", "records", RL_FIELD_INT64, log_every, 1, BIG, "N", "metrics line every N steps", NULL),
    NUM("eval_every", "eval-every", "records", RL_FIELD_INT64, eval_every, 0, BIG, "N",
        "validation every N steps and at the end; 0 = at the end only", NULL),
    NUM("eval_batches", "eval-batches", "records", RL_FIELD_INT, eval_batches, 1, 1000000, "N", "validation batches", NULL),
    NUM("flow_every", "flow-every", "records", RL_FIELD_INT64, flow_every, 0, BIG, "N",
        "gradient-flow record every N steps; 0 = off", NULL),
    NUM("ckpt_every", "ckpt-every", "records", RL_FIELD_INT64, ckpt_every, 0, BIG, "N",
        "checkpoint every N steps and at the end; 0 = at the end only", NULL),
    {{"skip_nonfinite", "on-nonfinite", "optimisation", RL_FIELD_BOOL, OFF(skip_nonfinite), 0, 1, 2, "A",
      "what a NaN or Inf loss or gradient does", NULL},
     NULL, nonfinite_choice},
    NUM("inject_nan_at", "inject-nan-at", "testing", RL_FIELD_INT64, inject_nan_at, 0, BIG, "N",
        "make step N's gradient NaN (to see --on-nonfinite at work); 0 = off", NULL),
    NUM("stop_when_solved", "stop-when-solved", "records", RL_FIELD_BOOL, stop_when_solved, 0, 1, NULL,
        "stop at the first validation that solves the task (adding: MSE < 0.01; copy, temporal-order, "
        "adding-hs97: 99% right)", NULL),
    NUM("save_init", "save-init", "records", RL_FIELD_BOOL, save_init, 0, 1, NULL,
        "write the model before training to RUN/init.safetensors", NULL),
    NUM("block_sum", "block-sum", "optimisation", RL_FIELD_BOOL, block_sum, 0, 1, NULL,
        "the gradient as the in-order sum over blocks of 16 sequences: the bits of N MPI ranks (on under mpirun)", NULL),
    NUM("omega", "omega", "regularisers", RL_FIELD_DOUBLE, omega, 0, 1e6, "W",
        "Pascanu et al.'s Omega on the step Jacobians: train on L + W Omega; 0 = off", NULL),
    {{"omega_form", "omega-form", "regularisers", RL_FIELD_ENUM, OFF(omega_form), 0, 0, RL_OMEGA_FORM_COUNT, "F",
      "Omega as a ratio of norms (the paper's) or of squared norms (their code's)", NULL},
     "Omega form", omega_form_choice},
    NUM("floss", "floss", "regularisers", RL_FIELD_INT, floss, 0, 1000000, "K",
        "gradient flossing of the top K Lyapunov exponents (Engelken 2023); 0 = off", NULL),
    NUM("floss_steps", "floss-steps", "regularisers", RL_FIELD_INT64, floss_steps, 1, BIG, "N",
        "flossing updates before training and in each episode", NULL),
    NUM("floss_every", "floss-every", "regularisers", RL_FIELD_INT64, floss_every, 0, BIG, "M",
        "a flossing episode after every M training steps; 0 = before training only", NULL),
    NUM("floss_episodes", "floss-episodes", "regularisers", RL_FIELD_INT, floss_episodes, 0, 1000000, "E",
        "at most E episodes during training; 0 = no limit", NULL),
    NUM("floss_target", "floss-target", "regularisers", RL_FIELD_DOUBLE, floss_target, -100, 100, "X",
        "the exponents' target lambda*", NULL),
    NUM("floss_lr", "floss-lr", "regularisers", RL_FIELD_DOUBLE, floss_lr, 0, 1e3, "X",
        "learning rate of flossing's own Adam; 0 = --lr", NULL),
    NUM("floss_batch", "floss-batch", "regularisers", RL_FIELD_INT, floss_batch, 1, 1000000, "B",
        "sequences per flossing update", NULL),
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

int rl_train_num_fields(void) { return NROWS; }

const rl_train_field *rl_train_field_at(int i) { return i >= 0 && i < NROWS ? &rows[i].f : NULL; }

const rl_train_field *rl_train_field_find(const char *name)
{
    for (int i = 0; name && i < NROWS; i++)
        if (strcmp(rows[i].f.name, name) == 0) return &rows[i].f;
    return NULL;
}

static const row *row_of(const rl_train_field *f)
{
    RL_ASSERT(f >= &rows[0].f && f <= &rows[NROWS - 1].f);
    return (const row *)f;
}

const char *rl_train_field_choice(const rl_train_field *f, int i)
{
    const row *r = row_of(f);
    return r->choice && i >= 0 && i < f->num_choices ? r->choice(i) : NULL;
}

/* ------------------------------------------------------------------ values */

static void *at(rl_train_config *c, const rl_train_field *f) { return (char *)c + f->offset; }
static const void *at_const(const rl_train_config *c, const rl_train_field *f) { return (const char *)c + f->offset; }

/* INT, INT64, BOOL and ENUM as one integer. */
static int64_t get_int(const rl_train_config *c, const rl_train_field *f)
{
    return f->type == RL_FIELD_INT64 ? *(const int64_t *)at_const(c, f) : (int64_t)*(const int *)at_const(c, f);
}

static void set_int(rl_train_config *c, const rl_train_field *f, int64_t v)
{
    if (f->type == RL_FIELD_INT64) *(int64_t *)at(c, f) = v;
    else *(int *)at(c, f) = (int)v;
    /* an optimizer comes with its own defaults for the fields that follow it */
    if (f->offset == OFF(optim.kind)) c->optim = rl_optim_defaults((rl_optim_kind)v);
}

/* Check v against the row's range; label is "--flag" or "key". */
static rl_status in_range(const rl_train_field *f, const char *label, double v)
{
    if (v >= f->lo && v <= f->hi) return RL_OK;
    if (f->type == RL_FIELD_DOUBLE) return rl_fail(RL_ERR_ARG, "%s = %g is out of range [%g, %g]", label, v, f->lo, f->hi);
    return rl_fail(RL_ERR_ARG, "%s = %.15g is out of range [%.15g, %.15g]", label, v, f->lo, f->hi);
}

/* A range a <= b with both ends in the row's [lo, hi], or 0,0 (unset). */
static rl_status range_ok(const rl_train_field *f, const char *label, const double *v)
{
    if (v[0] == 0 && v[1] == 0) return RL_OK;
    if (v[0] >= f->lo && v[1] <= f->hi && v[0] <= v[1]) return RL_OK;
    return rl_fail(RL_ERR_ARG, "%s = %g,%g must be two numbers A <= B in [%g, %g]", label, v[0], v[1], f->lo, f->hi);
}

static rl_status parse_choice(const row *r, const char *text, int *out)
{
    const char *names[32];
    RL_ASSERT(r->f.num_choices <= 32);
    for (int i = 0; i < r->f.num_choices; i++) names[i] = r->choice(i);
    if (r->f.type == RL_FIELD_BOOL) { /* two named values */
        for (int i = 0; i < 2; i++)
            if (strcmp(text, names[i]) == 0) return *out = i, RL_OK;
        return rl_fail(RL_ERR_ARG, "--%s must be %s or %s, got '%s'", r->f.flag, names[0], names[1], text);
    }
    return rl_parse_name(r->what, text, names, r->f.num_choices, out);
}

/* A decimal uint64 with nothing around it. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return 0;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = (uint64_t)v;
    return 1;
}

rl_status rl_train_field_parse(rl_train_config *c, const rl_train_field *f, const char *text)
{
    const row *r = row_of(f);
    char label[48];
    snprintf(label, sizeof label, "--%s", f->flag);
    errno = 0;
    char *end = NULL;
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: {
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end) return rl_fail(RL_ERR_ARG, "%s expects an integer, got '%s'", label, text);
        if (v < f->lo || v > f->hi)
            return rl_fail(RL_ERR_ARG, "%s = %lld is out of range [%lld, %lld]", label, v, (long long)f->lo, (long long)f->hi);
        set_int(c, f, v);
        return RL_OK;
    }
    case RL_FIELD_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v))
            return rl_fail(RL_ERR_ARG, "%s expects a finite number, got '%s'", label, text);
        rl_status s = in_range(f, label, v);
        if (!s) *(double *)at(c, f) = v;
        return s;
    }
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int v = 0;
        if (r->choice) {
            rl_status s = parse_choice(r, text, &v);
            if (s) return s;
        } else if (strcmp(text, "1") == 0 || strcmp(text, "0") == 0) {
            v = text[0] == '1';
        } else {
            return rl_fail(RL_ERR_ARG, "%s expects 0 or 1, got '%s'", label, text);
        }
        set_int(c, f, v);
        return RL_OK;
    }
    case RL_FIELD_PATH:
        if (!*text) return rl_fail(RL_ERR_ARG, "%s expects a path, got ''", label);
        *(const char **)at(c, f) = text;
        return RL_OK;
    case RL_FIELD_SEED:
        if (!parse_u64(text, (uint64_t *)at(c, f)))
            return rl_fail(RL_ERR_ARG, "%s expects a non-negative integer, got '%s'", label, text);
        return RL_OK;
    case RL_FIELD_RANGE: {
        double v[2] = {NAN, NAN};
        v[0] = strtod(text, &end);
        int ok = !errno && end != text && *end == ',';
        if (ok) {
            const char *b = end + 1;
            v[1] = strtod(b, &end);
            ok = !errno && end != b && !*end;
        }
        if (!ok || !isfinite(v[0]) || !isfinite(v[1]))
            return rl_fail(RL_ERR_ARG, "%s expects two finite numbers A,B, got '%s'", label, text);
        rl_status s = range_ok(f, label, v);
        if (!s) memcpy(at(c, f), v, sizeof v);
        return s;
    }
    }
    RL_UNREACHABLE("field type");
}

void rl_train_field_format(const rl_train_config *c, const rl_train_field *f, char *buf, size_t n)
{
    const row *r = row_of(f);
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: snprintf(buf, n, "%lld", (long long)get_int(c, f)); return;
    case RL_FIELD_DOUBLE: snprintf(buf, n, "%g", *(const double *)at_const(c, f)); return;
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int v = (int)get_int(c, f);
        const char *name = r->choice ? r->choice(v) : NULL;
        if (name) snprintf(buf, n, "%s", name);
        else snprintf(buf, n, "%d", v);
        return;
    }
    case RL_FIELD_PATH: {
        const char *p = *(const char *const *)at_const(c, f);
        snprintf(buf, n, "%s", p ? p : "");
        return;
    }
    case RL_FIELD_SEED: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)at_const(c, f)); return;
    case RL_FIELD_RANGE: {
        const double *v = at_const(c, f);
        snprintf(buf, n, "%.17g,%.17g", v[0], v[1]);
        return;
    }
    }
    RL_UNREACHABLE("field type");
}

/* ------------------------------------------------------------------ checks */

static rl_status check_field(const rl_train_config *c, const rl_train_field *f)
{
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: return in_range(f, f->name, (double)get_int(c, f));
    case RL_FIELD_DOUBLE: {
        double v = *(const double *)at_const(c, f);
        if (!isfinite(v)) return rl_fail(RL_ERR_ARG, "%s = %g is not finite", f->name, v);
        return in_range(f, f->name, v);
    }
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int64_t v = get_int(c, f), hi = f->type == RL_FIELD_BOOL ? 1 : f->num_choices - 1;
        if (v < 0 || v > hi) return rl_fail(RL_ERR_ARG, "%s = %lld is not one of its values", f->name, (long long)v);
        return RL_OK;
    }
    case RL_FIELD_PATH:
    case RL_FIELD_SEED: return RL_OK;
    case RL_FIELD_RANGE: {
        const double *v = at_const(c, f);
        if (!isfinite(v[0]) || !isfinite(v[1])) return rl_fail(RL_ERR_ARG, "%s is not finite", f->name);
        return range_ok(f, f->name, v);
    }
    }
    RL_UNREACHABLE("field type");
}

/* The options of a user's data: each only with the tasks it is for. */
static rl_status check_data_fields(const rl_train_config *c)
{
    const rl_train_config def = rl_train_defaults();
    const int data = rl_task_reads_data(c->task), csv = c->task == RL_TASK_DATA;
    const char *off = !data && c->valid_split > 0 ? "valid-split"
                      : c->task != RL_TASK_DATA && c->valid_path ? "valid"
                      : !csv && c->test_split > 0               ? "test-split"
                      : c->task != RL_TASK_DATA && c->loss       ? "loss"
                      : !csv && c->inputs                        ? "inputs"
                      : !csv && c->targets                       ? "targets"
                      : !csv && c->window                        ? "window"
                      : !csv && c->horizon != def.horizon        ? "horizon"
                      : c->task != RL_TASK_PSMNIST && c->perm_seed != def.perm_seed ? "perm-seed"
                                                                 : NULL;
    if (off)
        return rl_fail(RL_ERR_ARG, "--%s is for --task %s", off,
                       strcmp(off, "valid-split") == 0 ? "data, smnist or psmnist" : strcmp(off, "perm-seed") == 0 ? "psmnist" : "data");
    if (data && !c->text_path)
        return rl_fail(RL_ERR_ARG, "--task %s needs --data %s", rl_task_name(c->task), c->task == RL_TASK_DATA ? "FILE" : "DIR");
    return RL_OK;
}

rl_status rl_train_config_check(const rl_train_config *c)
{
    for (int i = 0; i < NROWS; i++) {
        rl_status s = check_field(c, &rows[i].f);
        if (s) return s;
    }
    if (c->k1 > c->seq_len) return rl_fail(RL_ERR_ARG, "k1 = %d must be in [1, seq_len = %d]", c->k1, c->seq_len);
    if (c->k1 && c->task != RL_TASK_TEXT) return rl_fail(RL_ERR_ARG, "--k1 (truncated BPTT) is for the text task");
    if (c->text_path && c->task != RL_TASK_TEXT && !rl_task_reads_data(c->task))
        return rl_fail(RL_ERR_ARG, "--data is for --task text, data, smnist and psmnist");
    rl_status s = check_data_fields(c);
    if (s) return s;
    if (c->orthogonal_lr > 0 && c->orthogonal == RL_ORTH_NONE)
        return rl_fail(RL_ERR_ARG, "--orthogonal-lr is for a model with --orthogonal exp or cayley");
    rl_config mc = {.cell = c->cell, .hidden_size = 1};
    if (rl_orth_check(&mc, c->orthogonal)) return rl_fail(RL_ERR_ARG, "--orthogonal: %s", rl_errmsg());
    if (c->omega == 0 && c->omega_form != RL_OMEGA_NORM) return rl_fail(RL_ERR_ARG, "--omega-form needs --omega W > 0");
    if (c->floss == 0 && (c->floss_every || c->floss_episodes || c->floss_target != 0 || c->floss_lr != 0))
        return rl_fail(RL_ERR_ARG, "--floss-every, --floss-episodes, --floss-target and --floss-lr need --floss K");
    /* block_sum (and so mpirun) runs each block in a workspace of its own:
     * no workspace ever holds the batch's activations and dL/dh that Omega
     * reads, and flossing's episodes are not shared among processes (the
     * model of one process with block_sum is that of N processes) */
    if (c->block_sum && c->omega > 0)
        return rl_fail(RL_ERR_ARG, "--omega does not combine with --block-sum (on by itself under mpirun): Omega reads the "
                                   "whole batch's activations, which block sums never hold at once");
    if (c->block_sum && c->floss > 0)
        return rl_fail(RL_ERR_ARG, "--floss does not combine with --block-sum (on by itself under mpirun): flossing's episodes "
                                   "run on one process, not shared among several");
    return RL_OK;
}

/* ------------------------------------------------------------------ JSON */

/* Seeds are exact: a JSON number is a double, exact only below 2^53. */
#define SEED_EXACT 9007199254740992.0

cJSON *rl_train_config_json(const rl_train_config *c)
{
    cJSON *j = cJSON_CreateObject();
    for (int i = 0; j && i < NROWS; i++) {
        const rl_train_field *f = &rows[i].f;
        cJSON *v = NULL;
        char txt[32];
        switch (f->type) {
        case RL_FIELD_INT:
        case RL_FIELD_INT64:
        case RL_FIELD_BOOL: v = cJSON_CreateNumber((double)get_int(c, f)); break;
        case RL_FIELD_DOUBLE: v = cJSON_CreateNumber(*(const double *)at_const(c, f)); break;
        case RL_FIELD_ENUM:
            rl_train_field_format(c, f, txt, sizeof txt);
            v = cJSON_CreateString(txt);
            break;
        case RL_FIELD_PATH: {
            const char *p = *(const char *const *)at_const(c, f);
            if (!p) continue;
            v = cJSON_CreateString(p);
            break;
        }
        case RL_FIELD_SEED: {
            uint64_t s = *(const uint64_t *)at_const(c, f);
            snprintf(txt, sizeof txt, "%llu", (unsigned long long)s);
            v = (double)s < SEED_EXACT ? cJSON_CreateNumber((double)s) : cJSON_CreateString(txt);
            break;
        }
        case RL_FIELD_RANGE: v = cJSON_CreateDoubleArray(at_const(c, f), 2); break;
        }
        if (!v || !cJSON_AddItemToObject(j, f->name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

static rl_status read_value(const cJSON *v, rl_train_config *c, const rl_train_field *f)
{
    const row *r = row_of(f);
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: {
        if (!cJSON_IsNumber(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a number", f->name);
        double d = v->valuedouble;
        if (d != floor(d)) return rl_fail(RL_ERR_FORMAT, "%s = %g is not an integer", f->name, d);
        rl_status s = in_range(f, f->name, d);
        if (!s) set_int(c, f, (int64_t)d);
        return s;
    }
    case RL_FIELD_DOUBLE: {
        if (!cJSON_IsNumber(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a number", f->name);
        rl_status s = in_range(f, f->name, v->valuedouble);
        if (!s) *(double *)at(c, f) = v->valuedouble;
        return s;
    }
    case RL_FIELD_BOOL:
        if (cJSON_IsBool(v)) set_int(c, f, cJSON_IsTrue(v));
        else if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) set_int(c, f, (int64_t)v->valuedouble);
        else return rl_fail(RL_ERR_FORMAT, "%s must be 0 or 1", f->name);
        return RL_OK;
    case RL_FIELD_ENUM: {
        int k = 0;
        if (!cJSON_IsString(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a name", f->name);
        if (parse_choice(r, v->valuestring, &k)) return RL_ERR_FORMAT;
        set_int(c, f, k);
        return RL_OK;
    }
    case RL_FIELD_PATH:
        if (cJSON_IsNull(v)) *(const char **)at(c, f) = NULL;
        else if (cJSON_IsString(v) && *v->valuestring) *(const char **)at(c, f) = v->valuestring;
        else return rl_fail(RL_ERR_FORMAT, "%s must be a path", f->name);
        return RL_OK;
    case RL_FIELD_SEED: {
        uint64_t *s = (uint64_t *)at(c, f);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < SEED_EXACT && v->valuedouble == floor(v->valuedouble))
            *s = (uint64_t)v->valuedouble;
        else if (!cJSON_IsString(v) || !parse_u64(v->valuestring, s))
            return rl_fail(RL_ERR_FORMAT, "%s must be an integer in [0, 2^64) (a string from 2^53 on)", f->name);
        return RL_OK;
    }
    case RL_FIELD_RANGE: {
        double x[2];
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(v->child) ||
            !cJSON_IsNumber(v->child->next))
            return rl_fail(RL_ERR_FORMAT, "%s must be an array of two numbers", f->name);
        x[0] = v->child->valuedouble, x[1] = v->child->next->valuedouble;
        rl_status s = range_ok(f, f->name, x);
        if (!s) memcpy(at(c, f), x, sizeof x);
        return s;
    }
    }
    RL_UNREACHABLE("field type");
}

rl_status rl_train_config_from_json(const cJSON *j, rl_train_config *c)
{
    *c = rl_train_defaults();
    if (!cJSON_IsObject(j)) return rl_fail(RL_ERR_FORMAT, "not a JSON object");
    /* a key this version does not know: written by a newer one, whose
     * meaning would be lost here */
    for (const cJSON *it = j->child; it; it = it->next) {
        if (!it->string || !rl_train_field_find(it->string))
            return rl_fail(RL_ERR_FORMAT, "the option '%s' is unknown to this version of rnnlab (a newer version's?)",
                           it->string ? it->string : "");
        for (const cJSON *jt = j->child; jt != it; jt = jt->next)
            if (strcmp(jt->string, it->string) == 0) return rl_fail(RL_ERR_FORMAT, "'%s' is given twice", it->string);
    }
    /* in the table's order (the optimizer before its fields); a key that is
     * missing (an older version's file) keeps its default */
    for (int i = 0; i < NROWS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, rows[i].f.name);
        rl_status s = v ? read_value(v, c, &rows[i].f) : RL_OK;
        if (s) return rl_fail(RL_ERR_FORMAT, "%s", rl_errmsg());
    }
    return RL_OK;
}
