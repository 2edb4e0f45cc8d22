/* The training configuration as one table: a row per field of
 * rl_train_config with its key, option, type, range, default and help. JSON
 * (config.json, a checkpoint's train_config), the command line and the docs
 * are loops over it. */
#include "train/dataset.h"
#include "train/run.h"
#include "train/options.h"
#include "train/recipes.h"
#include "train/tasks.h"
#include "cells/cell.h"
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
    c.init = (rl_init){.kind = RL_INIT_UNIFORM, .gain = 1, .modrelu_init = 0.01};
    c.batch = 50, c.steps = 1000;
    c.optim = rl_optim_defaults(RL_OPT_ADAM);
    c.sched = (rl_schedule){RL_SCHED_CONSTANT, 1e-3, 0, 0, 0.1, 0, 0};
    c.ridge = 1e-6;
    c.clip = 1, c.log_every = 10, c.eval_every = 200, c.eval_batches = 10, c.flow_every = 100, c.ckpt_every = 200;
    c.floss_steps = 100, c.floss_batch = 1;
    c.horizon = 1, c.perm_seed = RL_PSMNIST_SEED;
    return c;
}

void rl_init_for_steps(rl_init *init, rl_cell cell, int T)
{
    if (init->kind == RL_INIT_CHRONO && init->t_max == 0) init->t_max = T > 2 ? T : 2;
    if (rl_cell_recur(rl_cell_desc_of(cell))->bounded && init->recurrent_max == 0 && T > 0)
        init->recurrent_max = pow(2.0, 1.0 / T);
}

rl_train_config *rl_train_config_new(void)
{
    rl_train_config *c = rl_alloc(1, sizeof *c);
    if (c) *c = rl_train_defaults();
    return c;
}

void rl_train_config_free(rl_train_config *c) { rl_free(c); }

/* --on-nonfinite: skip_nonfinite 0 or 1 by name */
static const char *const nonfinite_[2] = {"stop", "skip"};
static const rl_names nonfinite_names = {"action", 2, nonfinite_};
/* --loss of a user's data: 0 auto, else rl_loss + 1 */
static const char *const data_loss_[RL_LOSS_COUNT + 1] = {"auto", "cross_entropy", "mse"};
static const rl_names data_loss_names = {"loss", RL_LOSS_COUNT + 1, data_loss_};

#define OFF(field) offsetof(rl_train_config, field)
/* a row with a number, a path or a flag; one with named values */
#define ROW(key, flag, group, type, field, lo, hi, arg, help, def, commands) \
    {key, flag, group, type, OFF(field), lo, hi, 0, arg, help, def, commands, NULL}
#define NAMED_BOOL(key, flag, group, field, names, arg, help, commands) \
    {key, flag, group, RL_FIELD_BOOL, OFF(field), 0, 1, 2, arg, help, NULL, commands, &names}
#define ENUM(key, flag, group, field, names, count, arg, help, commands) \
    {key, flag, group, RL_FIELD_ENUM, OFF(field), 0, 0, count, arg, help, NULL, commands, &names}
#define BIG 2000000000.0
/* the commands that take the options of a model and its init */
#define MODEL "train init gradcheck"
#define INIT "train init"

/* In the order of config.json. The ranges are those of the command line;
 * where 0 is the default it means "off" or "the usual value", as help says.
 * A row is one option of every command that takes it: one range, one help. */
static const rl_option rows[] = {
    ENUM("task", "task", "task", task, rl_task_names, RL_TASK_COUNT, "TASK", "the task", "train data eval"),
    ROW("seq_len", "seq-len", "task", RL_FIELD_INT, seq_len, 1, RL_MAX_SEQ_LEN, "T",
        "sequence length (text: the BPTT window k2)", NULL, "train data eval"),
    ROW("text_path", "data", "task", RL_FIELD_PATH, text_path, 0, 0, "FILE",
        "text: a UTF-8 file; data: sequences (.safetensors, .npz, a folder of .npy) or a .csv series; smnist, psmnist: "
        "the folder of the four MNIST files",
        "text: the built-in corpus, Pride and Prejudice", "train data eval"),
    /* a user's data (src/train/datatask.c): kept together, after --data */
    ROW("valid_path", "valid", "task", RL_FIELD_PATH, valid_path, 0, 0, "FILE",
        "data: the validation sequences, a file of their own", "held out of --data", "train data eval"),
    ROW("valid_split", "valid-split", "task", RL_FIELD_DOUBLE, valid_split, 0, 0.99, "F",
        "data, smnist, psmnist: the fraction held out at the end for validation", "0: 10%; MNIST: test files; CSV: 15%",
        "train data eval"),
    ROW("test_split", "test-split", "task", RL_FIELD_DOUBLE, test_split, 0, 0.99, "F",
        "data, a CSV series: the fraction at its end kept for the test (rnnlab eval)", "0: 15%", "train data eval"),
    ENUM("loss", "loss", "task", loss, data_loss_names, RL_LOSS_COUNT + 1, "L",
         "data: the loss; auto: cross_entropy for integer class ids, mse for real targets", "train data eval"),
    ROW("inputs", "inputs", "task", RL_FIELD_PATH, inputs, 0, 0, "COLS",
        "data, a CSV series: the input columns, by name or number from 1, comma-separated", "the targets", "train data eval"),
    ROW("targets", "targets", "task", RL_FIELD_PATH, targets, 0, 0, "COLS", "data, a CSV series: the target columns", "none",
        "train data eval"),
    ROW("window", "window", "task", RL_FIELD_INT, window, 0, 1000000, "T", "data, a CSV series: rows (steps) a window", NULL,
        "train data eval"),
    ROW("horizon", "horizon", "task", RL_FIELD_INT, horizon, 0, 1000000, "K",
        "data, a CSV series: each step's target is the target row K rows later", NULL, "train data eval"),
    ROW("perm_seed", "perm-seed", "task", RL_FIELD_SEED, perm_seed, 0, 0, "S", "psmnist: the seed of the pixels' permutation",
        NULL, "train data eval"),
    ROW("k1", "k1", "task", RL_FIELD_INT, k1, 0, 1000000, "N", "text: steps between updates, truncated BPTT(k1, T); 0 = T",
        "T", "train"),
    /* before every row a recipe sets: those given besides it are set after it */
    ENUM("recipe", "recipe", "recipe", recipe, rl_recipe_names, RL_NUM_RECIPES + 1, "NAME",
         "a paper's settings for the task and T, each overridable by its own option (docs/training.md; rnnlab train "
         "--recipes)",
         "train"),
    ENUM("cell", "cell", "model", cell, rl_cell_names, RL_CELL_COUNT, "CELL", "the cell", MODEL),
    ROW("hidden", "hidden", "model", RL_FIELD_INT, hidden, 1, RL_MAX_SIZE, "H", "units per layer", NULL, MODEL " bench"),
    ROW("layers", "layers", "model", RL_FIELD_INT, layers, 1, RL_MAX_LAYERS, "L", "stacked layers", NULL, MODEL),
    ROW("state_size", "state-size", "model", RL_FIELD_INT, state_size, 0, RL_MAX_SIZE, "N",
        "lru: complex state units per layer (its real state is 2N numbers); 0 = --hidden", NULL, MODEL),
    ENUM("activation", "activation", "model", activation, rl_act_names, RL_ACT_COUNT, "A",
         "lru: y = A(Re(C x) + D u); default is gelu", MODEL),
    ENUM("init", "init", "initialisation", init.kind, rl_init_names, RL_INIT_COUNT, "KIND",
         "the init of W_hh (each one: rnnlab init --help)", MODEL),
    ROW("gain", "gain", "initialisation", RL_FIELD_DOUBLE, init.gain, -1e6, 1e6, "G",
        "gain of gaussian, orthogonal, identity, symmetric, henaff", NULL, MODEL),
    ROW("radius", "radius", "initialisation", RL_FIELD_DOUBLE, init.radius, 0, 1e6, "R",
        "then rescale each W_hh block to this spectral radius; 0 = leave", NULL, INIT),
    ROW("input_scale", "input-scale", "initialisation", RL_FIELD_DOUBLE, init.input_scale, 0, 1e6, "S",
        "every layer's W_ih ~ U[-S, S], drawn last (an echo state network's input scaling); 0 = as the init", NULL, INIT),
    ROW("forget_bias", "forget-bias", "initialisation", RL_FIELD_DOUBLE, init.forget_bias, -100, 100, "F",
        "lstm: b_if = F, b_hf = 0 (0: as the init)", NULL, INIT),
    ROW("zero_bias", "zero-bias", "initialisation", RL_FIELD_BOOL, init.zero_bias, 0, 1, NULL,
        "every recurrent bias starts at 0 (then h = 0 is a fixed point under zero input)", NULL, INIT),
    ROW("t_max", "t-max", "initialisation", RL_FIELD_DOUBLE, init.t_max, 0, 1e9, "T",
        "init chrono: forgetting times uniform in [2, T]; 0 = the sequences' length (train; init needs T >= 2)", NULL, INIT),
    ROW("leak", "leak", "initialisation", RL_FIELD_DOUBLE, init.leak, 0, 1, "A",
        "leaky: every unit's rate a in (0, 1); 0 = as the init", NULL, INIT),
    ROW("timescales", "timescales", "initialisation", RL_FIELD_RANGE, init.timescales, 1, 1e9, "A,B",
        "leaky: time scales 1/a log-uniform in [A, B], 1 < A <= B", NULL, INIT),
    ROW("modrelu_init", "modrelu-init", "initialisation", RL_FIELD_DOUBLE, init.modrelu_init, 0, 1e6, "R",
        "modrelu: each unit's b ~ U(-R, R) at init; 0.01 is expRNN's, 0 (every b = 0) scoRNN's", NULL, INIT),
    ROW("recurrent_max", "recurrent-max", "initialisation", RL_FIELD_DOUBLE, init.recurrent_max, 0, 1e6, "R",
        "indrnn: u ~ U(0, R) at init, and train keeps |u| <= R after every update; 0 = 2^(1/T) for T steps (train), 1 (init)",
        NULL, INIT),
    ROW("r_min", "r-min", "initialisation", RL_FIELD_DOUBLE, init.r_min, 0, 0.999999, "R",
        "lru: |lambda| at init with |lambda|^2 ~ U[R^2, r-max^2] (Orvieto et al. 2023); 0 = 0.9", NULL, INIT),
    ROW("r_max", "r-max", "initialisation", RL_FIELD_DOUBLE, init.r_max, 0, 0.999999, "R",
        "lru: the ring's outer radius; 0 = 0.999", NULL, INIT),
    ROW("max_phase", "max-phase", "initialisation", RL_FIELD_DOUBLE, init.max_phase, 0, 6.283185307179586, "P",
        "lru: arg lambda ~ U[0, P] at init; 0 = 2 pi", NULL, INIT),
    ROW("recurrent_min", "recurrent-min", "initialisation", RL_FIELD_DOUBLE, init.recurrent_min, 0, 1e6, "R0",
        "indrnn: the last layer's u ~ U(R0, R) at init (Li et al.'s for an answer at the end: 2^(-1/T)); 0 = U(0, R)", NULL,
        INIT),
    ENUM("orthogonal", "orthogonal", "initialisation", orthogonal, rl_orth_names, RL_ORTH_COUNT, "MAP",
         "W_hh = B map(A), torch's orthogonal parametrisation; B from --init (tanh, relu, linear, leaky, modrelu)", MODEL),
    ROW("init_from", "init-from", "initialisation", RL_FIELD_PATH, init_from, 0, 0, "MODEL",
        "start from the weights of a model file (rnnlab's, or a PyTorch state_dict in safetensors) with a fresh optimiser; "
        "its sizes must be the run's",
        "the init", "train"),
    ENUM("readout", "readout", "optimisation", readout, rl_readout_names, RL_READOUT_COUNT, "R",
         "bptt trains every parameter; ridge keeps the recurrence as initialised and fits the head in one solve (an echo "
         "state network)",
         "train"),
    ROW("ridge", "ridge", "optimisation", RL_FIELD_DOUBLE, ridge, 0, 1e6, "BETA",
        "readout ridge: BETA times the squared norm of head.weight is added (head.bias is not penalised)", NULL, "train"),
    ROW("washout", "washout", "task", RL_FIELD_INT, washout, 0, 1000000, "W",
        "the first W steps of each sequence are not scored (readout ridge: nor fitted)", NULL, "train eval"),
    ROW("batch", "batch", "task", RL_FIELD_INT, batch, 1, 1000000, "B", "sequences per batch", NULL,
        "train data eval gradcheck bench"),
    ROW("steps", "steps", "optimisation", RL_FIELD_INT64, steps, 1, BIG, "N", "updates", NULL, "train"),
    ENUM("optim", "optim", "optimisation", optim.kind, rl_optim_names, RL_OPT_COUNT, "O", "the optimizer, with PyTorch's defaults",
         "train"),
    ROW("momentum", "momentum", "optimisation", RL_FIELD_DOUBLE, optim.momentum, 0, 0.9999, "X", "sgd: momentum", NULL, "train"),
    ROW("nesterov", "nesterov", "optimisation", RL_FIELD_BOOL, optim.nesterov, 0, 1, NULL, "sgd: Nesterov momentum", NULL,
        "train"),
    ROW("alpha", "alpha", "optimisation", RL_FIELD_DOUBLE, optim.alpha, 0, 0.9999999, "X", "rmsprop: decay", NULL, "train"),
    ROW("beta1", "beta1", "optimisation", RL_FIELD_DOUBLE, optim.beta1, 0, 0.9999999, "X", "adam, adamw: first-moment decay",
        NULL, "train"),
    ROW("beta2", "beta2", "optimisation", RL_FIELD_DOUBLE, optim.beta2, 0, 0.9999999, "X", "adam, adamw: second-moment decay",
        NULL, "train"),
    ROW("eps", "eps", "optimisation", RL_FIELD_DOUBLE, optim.eps, 1e-30, 1, "X", "added to the denominator",
        "1e-08; adagrad 1e-10", "train"),
    ROW("weight_decay", "weight-decay", "optimisation", RL_FIELD_DOUBLE, optim.weight_decay, 0, 10, "X",
        "L2 (adamw: decoupled)", "0; adamw 0.01", "train"),
    ENUM("schedule", "schedule", "optimisation", sched.kind, rl_sched_names, RL_SCHED_COUNT, "S", "the learning-rate schedule",
         "train"),
    ROW("lr", "lr", "optimisation", RL_FIELD_DOUBLE, sched.lr, 1e-12, 1e3, "X", "learning rate", NULL, "train"),
    ROW("orthogonal_lr", "orthogonal-lr", "optimisation", RL_FIELD_DOUBLE, orthogonal_lr, 0, 1e3, "X",
        "--orthogonal: the learning rate of X (the schedule scales it as --lr); 0 = --lr", NULL, "train"),
    ROW("freeze", "freeze", "optimisation", RL_FIELD_PATH, freeze, 0, 0, "NAMES",
        "tensors kept as initialised (torch's requires_grad = False): their names, comma-separated, each whole or a "
        "prefix ending in * (rnn.bias_hh_l*); their gradient is left out of the norm and the clipping",
        "none", "train"),
    ROW("warmup", "warmup", "optimisation", RL_FIELD_INT64, sched.warmup, 0, BIG, "N", "linear warm-up steps", NULL, "train"),
    ROW("step_size", "step-size", "optimisation", RL_FIELD_INT64, sched.step_size, 0, BIG, "N",
        "step schedule: lr *= gamma every N steps", NULL, "train"),
    ROW("gamma", "gamma", "optimisation", RL_FIELD_DOUBLE, sched.gamma, 0, 10, "X", "step schedule: the factor", NULL, "train"),
    ROW("min_lr", "min-lr", "optimisation", RL_FIELD_DOUBLE, sched.min_lr, 0, 1e3, "X", "cosine: the final rate", NULL,
        "train"),
    ROW("decay_steps", "decay-steps", "optimisation", RL_FIELD_INT64, sched.total, 0, BIG, "N",
        "cosine: steps to decay over; 0 = --steps", NULL, "train"),
    ROW("clip", "clip", "optimisation", RL_FIELD_DOUBLE, clip, 0, 1e12, "X", "global-norm clipping (Pascanu et al.); 0 = off",
        NULL, "train"),
    ROW("clip_value", "clip-value", "optimisation", RL_FIELD_DOUBLE, clip_value, 0, 1e12, "X", "elementwise clipping; 0 = off",
        NULL, "train"),
    ROW("clip_message", "clip-message", "optimisation", RL_FIELD_DOUBLE, clip_message, 0, 1e12, "X",
        "BPTT message clip: each step's gate pre-activation gradient clamped to [-X, X] (Graves 2013); 0 = off", NULL,
        "train"),
    ROW("dropout", "dropout", "model", RL_FIELD_DOUBLE, dropout, 0, 0.99, "P", "dropout between layers", NULL, "train"),
    ROW("seed", "seed", "run", RL_FIELD_SEED, seed, 0, 0, "S", "the seed of every random draw (the init, the data, dropout, noise)",
        NULL, "train init data gradcheck lyapunov explain eval sample demo"),
    ROW("log_every", "log-every", "records", RL_FIELD_INT64, log_every, 1, BIG, "N", "metrics line every N steps", NULL, "train"),
    ROW("eval_every", "eval-every", "records", RL_FIELD_INT64, eval_every, 0, BIG, "N",
        "validation every N steps and at the end; 0 = at the end only", NULL, "train"),
    ROW("eval_batches", "eval-batches", "records", RL_FIELD_INT, eval_batches, 1, 1000000, "N", "validation batches", NULL,
        "train"),
    ROW("flow_every", "flow-every", "records", RL_FIELD_INT64, flow_every, 0, BIG, "N",
        "gradient-flow record every N steps; 0 = off", NULL, "train"),
    ROW("ckpt_every", "ckpt-every", "records", RL_FIELD_INT64, ckpt_every, 0, BIG, "N",
        "checkpoint every N steps and at the end; 0 = at the end only", NULL, "train"),
    NAMED_BOOL("skip_nonfinite", "on-nonfinite", "optimisation", skip_nonfinite, nonfinite_names, "A",
               "what a NaN or Inf loss or gradient does", "train"),
    ROW("inject_nan_at", "inject-nan-at", "testing", RL_FIELD_INT64, inject_nan_at, 0, BIG, "N",
        "make step N's gradient NaN (to see --on-nonfinite at work); 0 = off", NULL, "train"),
    ROW("stop_when_solved", "stop-when-solved", "records", RL_FIELD_BOOL, stop_when_solved, 0, 1, NULL,
        "stop at the first validation that solves the task (adding: MSE < 0.01; copy, temporal-order, "
        "adding-hs97: 99% right)",
        NULL, "train"),
    ROW("time_limit", "time-limit", "records", RL_FIELD_DOUBLE, time_limit, 0, 1e9, "S",
        "stop after S seconds of training, summed over resumes, with a last validation, checkpoint and model; "
        "0 = no limit",
        NULL, "train"),
    ROW("save_init", "save-init", "records", RL_FIELD_BOOL, save_init, 0, 1, NULL,
        "write the model before training to RUN/init.safetensors", NULL, "train"),
    ROW("block_sum", "block-sum", "optimisation", RL_FIELD_BOOL, block_sum, 0, 1, NULL,
        "the gradient as the in-order sum over blocks of 16 sequences: the bits of N MPI ranks (on under mpirun)", NULL,
        "train"),
    ROW("omega", "omega", "regularisers", RL_FIELD_DOUBLE, omega, 0, 1e6, "W",
        "Pascanu et al.'s Omega on the step Jacobians, weighted W: train on L + W Omega; 0 = off (grad: measured only)", NULL,
        "train grad"),
    ENUM("omega_form", "omega-form", "regularisers", omega_form, rl_omega_form_names, RL_OMEGA_FORM_COUNT, "F",
         "Omega as a ratio of norms (the paper's) or of squared norms (their code's)", "train grad"),
    ROW("floss", "floss", "regularisers", RL_FIELD_INT, floss, 0, 1000000, "K",
        "gradient flossing of the top K Lyapunov exponents (Engelken 2023); 0 = off", NULL, "train grad"),
    ROW("floss_steps", "floss-steps", "regularisers", RL_FIELD_INT64, floss_steps, 1, BIG, "N",
        "flossing updates before training and in each episode", NULL, "train"),
    ROW("floss_every", "floss-every", "regularisers", RL_FIELD_INT64, floss_every, 0, BIG, "M",
        "a flossing episode after every M training steps; 0 = before training only", NULL, "train"),
    ROW("floss_episodes", "floss-episodes", "regularisers", RL_FIELD_INT, floss_episodes, 0, 1000000, "E",
        "at most E episodes during training; 0 = no limit", NULL, "train"),
    ROW("floss_target", "floss-target", "regularisers", RL_FIELD_DOUBLE, floss_target, -100, 100, "X",
        "the exponents' target lambda*", NULL, "train grad"),
    ROW("floss_lr", "floss-lr", "regularisers", RL_FIELD_DOUBLE, floss_lr, 0, 1e3, "X",
        "learning rate of flossing's own Adam; 0 = --lr", NULL, "train"),
    ROW("floss_batch", "floss-batch", "regularisers", RL_FIELD_INT, floss_batch, 1, 1000000, "B",
        "sequences per flossing update", NULL, "train"),
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

int rl_option_count(void) { return NROWS; }

const rl_option *rl_option_at(int i) { return i >= 0 && i < NROWS ? &rows[i] : NULL; }

/* The keys a resumed run may change (issue 28): the learning rate and its
 * schedule, clipping, the records' interval, the time limit (and --steps,
 * separately). The rest (the model, the task and its data, the optimiser's
 * kind and its moments) is the checkpoint's. */
static const char *const resumable[] = {"lr",   "schedule",   "warmup",    "step_size", "gamma",     "min_lr",
                                        "decay_steps", "clip", "clip_value", "log_every", "time_limit"};

int rl_option_resumable(const rl_option *o)
{
    for (size_t i = 0; o && i < sizeof resumable / sizeof resumable[0]; i++)
        if (strcmp(o->name, resumable[i]) == 0) return 1;
    return 0;
}

const rl_option *rl_option_find(const char *name)
{
    for (int i = 0; name && i < NROWS; i++)
        if (strcmp(rows[i].name, name) == 0) return &rows[i];
    return NULL;
}

void rl_train_config_after_set(void *c, const rl_option *o)
{
    if (!(o >= rows && o < rows + NROWS)) return;
    rl_train_config *tc = c;
    /* an optimizer comes with its own defaults for the fields that follow it */
    if (o->offset == OFF(optim.kind)) tc->optim = rl_optim_defaults(tc->optim.kind);
    /* and a recipe with its settings, for the task and T set before it
     * (rl_recipe_check holds for every recipe: a test checks it) */
    if (o->offset == OFF(recipe) && tc->recipe > 0) {
        rl_status s = rl_recipe_apply(tc, tc->recipe - 1);
        RL_ASSERT(s == RL_OK);
    }
}

/* The field of row f in c. */
#define FIELD(c, f) ((void *)((char *)(c) + (f)->offset))
#define CFIELD(c, f) ((const void *)((const char *)(c) + (f)->offset))

/* ------------------------------------------------------------------ checks */

static rl_status check_field(const rl_train_config *c, const rl_option *f)
{
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: return rl_opt_in_range(f, f->name, (double)rl_opt_get_int(c, f));
    case RL_FIELD_DOUBLE: {
        double v = *(const double *)CFIELD(c, f);
        if (!isfinite(v)) return rl_fail(RL_ERR_ARG, "%s = %g is not finite", f->name, v);
        return rl_opt_in_range(f, f->name, v);
    }
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int64_t v = rl_opt_get_int(c, f), hi = f->type == RL_FIELD_BOOL ? 1 : f->num_choices - 1;
        if (v < 0 || v > hi) return rl_fail(RL_ERR_ARG, "%s = %lld is not one of its values", f->name, (long long)v);
        return RL_OK;
    }
    case RL_FIELD_PATH:
    case RL_FIELD_TEXT:
    case RL_FIELD_SEED: return RL_OK;
    case RL_FIELD_RANGE: {
        const double *v = CFIELD(c, f);
        if (!isfinite(v[0]) || !isfinite(v[1])) return rl_fail(RL_ERR_ARG, "%s is not finite", f->name);
        return rl_opt_range_ok(f, f->name, v);
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
        rl_status s = check_field(c, &rows[i]);
        if (s) return s;
    }
    if (c->k1 > c->seq_len) return rl_fail(RL_ERR_ARG, "k1 = %d must be in [1, seq_len = %d]", c->k1, c->seq_len);
    if (c->k1 && c->task != RL_TASK_TEXT) return rl_fail(RL_ERR_ARG, "--k1 (truncated BPTT) is for the text task");
    if (c->text_path && c->task != RL_TASK_TEXT && !rl_task_reads_data(c->task))
        return rl_fail(RL_ERR_ARG, "--data is for --task text, data, smnist and psmnist");
    rl_status s = check_data_fields(c);
    if (s) return s;
    const int lru = c->cell == RL_CELL_LRU;
    const char *lru_only = c->state_size ? "state-size" : c->activation ? "activation" : c->init.r_min ? "r-min"
                           : c->init.r_max ? "r-max" : c->init.max_phase ? "max-phase" : NULL;
    if (!lru && lru_only) return rl_fail(RL_ERR_ARG, "--%s is for --cell lru", lru_only);
    if (lru && (c->init.r_min ? c->init.r_min : 0.9) > (c->init.r_max ? c->init.r_max : 0.999))
        return rl_fail(RL_ERR_ARG, "--r-min %g is above --r-max %g (the ring's radii; defaults 0.9 and 0.999)",
                       c->init.r_min ? c->init.r_min : 0.9, c->init.r_max ? c->init.r_max : 0.999);
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
        const rl_option *f = &rows[i];
        cJSON *v = NULL;
        char txt[32];
        switch (f->type) {
        case RL_FIELD_INT:
        case RL_FIELD_INT64:
        case RL_FIELD_BOOL: v = cJSON_CreateNumber((double)rl_opt_get_int(c, f)); break;
        case RL_FIELD_DOUBLE: v = cJSON_CreateNumber(*(const double *)CFIELD(c, f)); break;
        case RL_FIELD_ENUM:
            rl_option_format(c, f, txt, sizeof txt);
            v = cJSON_CreateString(txt);
            break;
        case RL_FIELD_PATH:
        case RL_FIELD_TEXT: {
            const char *p = *(const char *const *)CFIELD(c, f);
            if (!p) continue;
            v = cJSON_CreateString(p);
            break;
        }
        case RL_FIELD_SEED: {
            uint64_t s = *(const uint64_t *)CFIELD(c, f);
            snprintf(txt, sizeof txt, "%llu", (unsigned long long)s);
            v = (double)s < SEED_EXACT ? cJSON_CreateNumber((double)s) : cJSON_CreateString(txt);
            break;
        }
        case RL_FIELD_RANGE: v = cJSON_CreateDoubleArray(CFIELD(c, f), 2); break;
        }
        if (!v || !cJSON_AddItemToObject(j, f->name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

static rl_status read_value(const cJSON *v, rl_train_config *c, const rl_option *f)
{
    switch (f->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: {
        if (!cJSON_IsNumber(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a number", f->name);
        double d = v->valuedouble;
        if (d != floor(d)) return rl_fail(RL_ERR_FORMAT, "%s = %g is not an integer", f->name, d);
        rl_status s = rl_opt_in_range(f, f->name, d);
        if (!s) rl_opt_set_int(c, f, (int64_t)d);
        return s;
    }
    case RL_FIELD_DOUBLE: {
        if (!cJSON_IsNumber(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a number", f->name);
        rl_status s = rl_opt_in_range(f, f->name, v->valuedouble);
        if (!s) *(double *)FIELD(c, f) = v->valuedouble;
        return s;
    }
    case RL_FIELD_BOOL:
        if (cJSON_IsBool(v)) rl_opt_set_int(c, f, cJSON_IsTrue(v));
        else if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) rl_opt_set_int(c, f, (int64_t)v->valuedouble);
        else return rl_fail(RL_ERR_FORMAT, "%s must be 0 or 1", f->name);
        return RL_OK;
    case RL_FIELD_ENUM: {
        int k = 0;
        if (!cJSON_IsString(v)) return rl_fail(RL_ERR_FORMAT, "%s must be a name", f->name);
        if (rl_opt_parse_choice(f, v->valuestring, &k)) return RL_ERR_FORMAT;
        rl_opt_set_int(c, f, k);
        return RL_OK;
    }
    case RL_FIELD_PATH:
    case RL_FIELD_TEXT:
        if (cJSON_IsNull(v)) *(const char **)FIELD(c, f) = NULL;
        else if (cJSON_IsString(v) && *v->valuestring) *(const char **)FIELD(c, f) = v->valuestring;
        else return rl_fail(RL_ERR_FORMAT, "%s must be a path", f->name);
        return RL_OK;
    case RL_FIELD_SEED: {
        uint64_t *s = (uint64_t *)FIELD(c, f);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < SEED_EXACT && v->valuedouble == floor(v->valuedouble))
            *s = (uint64_t)v->valuedouble;
        else if (!cJSON_IsString(v) || !rl_opt_parse_u64(v->valuestring, s))
            return rl_fail(RL_ERR_FORMAT, "%s must be an integer in [0, 2^64) (a string from 2^53 on)", f->name);
        return RL_OK;
    }
    case RL_FIELD_RANGE: {
        double x[2];
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(v->child) ||
            !cJSON_IsNumber(v->child->next))
            return rl_fail(RL_ERR_FORMAT, "%s must be an array of two numbers", f->name);
        x[0] = v->child->valuedouble, x[1] = v->child->next->valuedouble;
        rl_status s = rl_opt_range_ok(f, f->name, x);
        if (!s) memcpy(FIELD(c, f), x, sizeof x);
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
        if (!it->string || !rl_option_find(it->string))
            return rl_fail(RL_ERR_FORMAT, "the option '%s' is unknown to this version of rnnlab (a newer version's?)",
                           it->string ? it->string : "");
        for (const cJSON *jt = j->child; jt != it; jt = jt->next)
            if (strcmp(jt->string, it->string) == 0) return rl_fail(RL_ERR_FORMAT, "'%s' is given twice", it->string);
    }
    /* in the table's order (the optimizer before its fields); a key that is
     * missing (an older version's file) keeps its default */
    for (int i = 0; i < NROWS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, rows[i].name);
        rl_status s = v ? read_value(v, c, &rows[i]) : RL_OK;
        if (s) return rl_fail(RL_ERR_FORMAT, "%s", rl_errmsg());
    }
    return RL_OK;
}
