/* The program's rows of the option table (cli/options.h): the options that
 * fill cli_args beside the library's, which fill its rl_train_config. To add
 * an option: a row here (or, for a field of the training configuration, in
 * src/train/train_config.c), naming the commands that take it, and a field of
 * cli_args for its value; parsing, --help, the man pages, the range errors
 * and the sweeps take it from there (docs/design.md). */
#include "options.h"

#include <stddef.h>
#include <string.h>

static const char *const data_input_[2] = {"zeros", "noise"};
static const rl_names data_input_names = {"input", 2, data_input_};
static const char *const h0_[2] = {"zeros", "random"};
static const rl_names h0_names = {"initial state", 2, h0_};
static const char *const mask_[2] = {"all", "last"};
static const rl_names mask_names = {"mask", 2, mask_};
static const char *const bench_task_[2] = {"charlm", "smnist"};
static const rl_names bench_task_names = {"workload", 2, bench_task_};

#define A(field) offsetof(cli_args, field)
/* a number, a path or a text; a flag without value; named values */
#define ROW(key, flag, group, type, field, lo, hi, arg, help, def, commands) \
    {key, flag, group, type, A(field), lo, hi, 0, arg, help, def, commands, NULL}
#define FLAG(key, flag, group, field, help, commands) \
    {key, flag, group, RL_FIELD_BOOL, A(field), 0, 1, 0, NULL, help, NULL, commands, NULL}
#define ENUM(key, flag, group, field, names, arg, help, def, commands) \
    {key, flag, group, RL_FIELD_ENUM, A(field), 0, 0, 0, arg, help, def, commands, &names}
/* two named values: 0 and 1 */
#define PAIR(key, flag, group, field, names, arg, help, commands) \
    {key, flag, group, RL_FIELD_BOOL, A(field), 0, 1, 2, arg, help, NULL, commands, &names}
#define ANALYSIS "jacobian spectrum lyapunov"
#define PROGRESS "train gradcheck " ANALYSIS " demo"

/* Enum fields are written through int pointers. */
_Static_assert(sizeof(rl_loss) == sizeof(int) && sizeof(rl_dtype) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_input_kind) == sizeof(int) && sizeof(rl_state_kind) == sizeof(int), "enum size");

static rl_option rows[] = {
    /* files */
    ROW("model", "model", "files", RL_FIELD_PATH, model, 0, 0, "M", "the model file (safetensors)", NULL,
        "data grad explain eval sample " ANALYSIS),
    ROW("data_file", "data", "files", RL_FIELD_PATH, data_file, 0, 0, "D",
        "a data file (rnnlab data): inputs x, and targets y, a mask, h0 and c0 where it has them", NULL,
        "grad explain " ANALYSIS),
    ROW("seq", "seq", "files", RL_FIELD_INT, seq, 0, 1 << 30, "b", "which sequence of the batch", NULL, ANALYSIS),
    ROW("out_file", "out", "files", RL_FIELD_PATH, out_file, 0, 0, "FILE", "where to write it ('-': stdout)", NULL,
        "init data grad plot " ANALYSIS),
    ROW("out_dir", "out", "files", RL_FIELD_PATH, out_dir, 0, 0, "DIR",
        "the folder to write: made, or an empty one (or one the command made, which it goes on with)", NULL,
        "train demo sweep report"),
    ROW("resume", "resume", "files", RL_FIELD_PATH, resume, 0, 0, "RUN_DIR",
        "continue the run there (--steps N: to N steps in all; --data FILE: the run's text or data, moved there)", NULL, "train"),
    /* a model's sizes */
    ROW("input", "input", "model", RL_FIELD_INT, input, 1, RL_MAX_SIZE, "I", "input size", NULL, "init gradcheck"),
    ROW("output", "output", "model", RL_FIELD_INT, output, 1, RL_MAX_SIZE, "O", "output size (classes for cross_entropy)", NULL,
        "init gradcheck"),
    ENUM("model_loss", "loss", "model", loss, rl_loss_names, "LOSS", "the model's loss", NULL, "init gradcheck"),
    ROW("floss_weight", "floss-weight", "regularisers", RL_FIELD_DOUBLE, floss_weight, 0, 1e6, "W",
        "the weight W' of flossing's F: the gradient of L + W Omega + W' F", NULL, "grad"),
    ENUM("precision", "precision", "run", precision, rl_dtype_names, "P", "the precision of the computation", NULL, "grad"),
    /* the random sequences a command makes */
    ROW("seq_steps", "steps", "sequences", RL_FIELD_INT, seq_steps, 1, 10000000, "T", "length of the sequences made here",
        NULL, "data gradcheck explain"),
    PAIR("data_input", "input", "sequences", data_input, data_input_names, "KIND", "inputs: zeros, or noise N(0, X^2)", "data"),
    ENUM("lyap_input", "input", "sequences", lyap.input, rl_input_names, "KIND",
         "inputs: data (D's x, cycled), zeros, or noise N(0, X^2)", "data with D's x, else zeros", "lyapunov"),
    ROW("noise_std", "noise-std", "sequences", RL_FIELD_DOUBLE, noise_std, 0, 1e6, "X", "the noise inputs' X", NULL,
        "data lyapunov"),
    PAIR("h0", "h0", "sequences", h0, h0_names, "KIND", "the initial state: zeros, or random U(-1, 1)", "data"),
    ENUM("state", "state", "sequences", lyap.state, rl_state_names, "KIND",
         "the initial state: data (D's h0), zeros, or random U(-1, 1)", "D's h0, zeros with D without h0, random without D",
         "lyapunov"),
    PAIR("mask", "mask", "sequences", mask, mask_names, "KIND", "loss on every step, or on the last only", "data"),
    FLAG("no_mask", "no-mask", "sequences", no_mask, "every step carries loss (default: a random mask)", "gradcheck"),
    FLAG("no_h0", "no-h0", "sequences", no_h0, "zero initial state (default: a random h0)", "gradcheck"),
    ROW("tau", "tau", "sequences", RL_FIELD_INT, tau, 0, 1000000, "TAU", "the product over steps TAU+1..T", NULL, "explain"),
    /* the analysis commands */
    ROW("lyap_steps", "steps", "exponents", RL_FIELD_INT, lyap.steps, 1, 100000000, "N", "steps averaged over", NULL, "lyapunov"),
    ROW("transient", "transient", "exponents", RL_FIELD_INT, lyap.transient, 0, 100000000, "N0",
        "steps run first and discarded", NULL, "lyapunov"),
    ROW("k", "k", "exponents", RL_FIELD_INT, lyap.k, 1, 1 << 30, "K", "how many exponents", "all: S", "lyapunov"),
    ROW("trace_every", "trace-every", "exponents", RL_FIELD_INT, lyap.trace_every, 0, 100000000, "N",
        "record the running estimates every N steps; 0 = off", NULL, "lyapunov"),
    ROW("lags", "lags", "output", RL_FIELD_TEXT, lags, 0, 0, "LIST",
        "lags k in [1, T], separated by commas (jacobian: the 2-norm and radius at these alone, NaN at the others)",
        "spectrum: 1,2,5,10,...,T; jacobian: every lag", "jacobian spectrum"),
    FLAG("no_steps", "no-steps", "output", no_steps, "leave out the steps' Jacobians (jacobian: J, T*S*S numbers; spectrum: "
         "the spectra of the J_t)", "jacobian spectrum"),
    FLAG("full_j", "full-j", "output", full_j, "write J however large (above 64 MiB it is left out, and said so)", "jacobian"),
    FLAG("no_radius", "no-radius", "output", no_radius, "skip the spectral radius per lag (an eigensolve each)", "jacobian"),
    ROW("tol", "tol", "run", RL_FIELD_DOUBLE, tol, 0, 1, "X", "largest accepted error", NULL, "gradcheck"),
    /* eval, sample */
    ROW("batches", "batches", "task", RL_FIELD_INT, batches, 1, 1000000, "N", "batches (text: all of the validation split)",
        NULL, "eval"),
    ROW("prime", "prime", "sampling", RL_FIELD_TEXT, prime, 0, 0, "TEXT", "text to start from", "a newline", "sample"),
    ROW("temperature", "temperature", "sampling", RL_FIELD_DOUBLE, temperature, 1e-3, 1e3, "X",
        "softmax(o / X): lower is more conservative", NULL, "sample"),
    ROW("top_k", "top-k", "sampling", RL_FIELD_INT, top_k, 0, 1 << 20, "K", "sample among the K most likely; 0 = all", NULL,
        "sample"),
    ROW("len", "len", "sampling", RL_FIELD_INT, len, 0, 100000000, "N", "characters to generate", NULL, "sample"),
    /* bench */
    ROW("bench_cell", "cell", "model", RL_FIELD_TEXT, bench_cell, 0, 0, "C", "rnn (tanh), or a cell: {cells}", NULL, "bench"),
    PAIR("bench_task", "task", "task", bench_task, bench_task_names, "W",
         "the training workload: charlm (one-hot over 65 symbols, the loss at every step) or smnist (one pixel "
         "a step, T = 784, 10 classes read at the last step)",
         "bench"),
    ROW("bench_seq", "seq", "model", RL_FIELD_INT, bench_seq, 1, 100000, "T", "sequence length", "64; 784 with --task smnist; 100 with --jacobian",
        "bench"),
    ROW("seconds", "seconds", "run", RL_FIELD_DOUBLE, seconds, 0.01, 600, "X", "time each measurement for about X seconds",
        NULL, "bench"),
    FLAG("bench_jacobian", "jacobian", "run", bench_jacobian, "time the product dh_T/dh_0 of a tanh RNN (T = 100, H = 128)",
         "bench"),
    FLAG("bench_lyapunov", "lyapunov", "run", bench_lyapunov, "time the full Lyapunov spectrum (H = 128, 1,000 steps)",
         "bench"),
    FLAG("sgemm", "sgemm", "run", sgemm, "time the sgemm rate alone", "bench"),
    FLAG("no_sgemm", "no-sgemm", "run", no_sgemm, "leave out the sgemm rate (and the shares of it)", "bench"),
    ROW("threads", "threads", "run", RL_FIELD_INT, threads, 1, 1024, "N",
        "threads (bench: rnnlab's, and OpenBLAS's for sgemm; sweep: each point's process's, else as OpenBLAS's, and under "
        "mpirun the cores over the processes)",
        NULL, "bench sweep"),
    /* report, plot, sweep, demo */
    ROW("result", "result", "a sweep's folder", RL_FIELD_TEXT, result, 0, 0, "KEY", "the result drawn",
        "the first number of a point's result", "report"),
    ROW("x", "x", "a sweep's folder", RL_FIELD_TEXT, x, 0, 0, "OPT", "the axis along x", "the first numeric axis", "report"),
    ROW("by", "by", "a sweep's folder", RL_FIELD_TEXT, by, 0, 0, "OPT", "a line (or heat-map row) for each of its values",
        "the next axis", "report"),
    ROW("title", "title", "plot csv", RL_FIELD_TEXT, title, 0, 0, "S", "the figure's title", NULL, "plot"),
    ROW("xlabel", "xlabel", "plot csv", RL_FIELD_TEXT, xlabel, 0, 0, "S", "the x axis's label", "the first column's name",
        "plot"),
    ROW("ylabel", "ylabel", "plot csv", RL_FIELD_TEXT, ylabel, 0, 0, "S", "the y axis's label", NULL, "plot"),
    FLAG("logx", "logx", "plot csv", logx, "a log x axis (drawn linear when the data span under a decade)", "plot"),
    FLAG("logy", "logy", "plot csv", logy, "a log y axis (likewise)", "plot"),
    FLAG("points", "points", "plot csv", points, "a marker at every point", "plot"),
    FLAG("dry_run", "dry-run", "run", dry_run, "print the points' command lines and run nothing", "sweep"),
    FLAG("estimate", "dry-run", "run", estimate, "print the estimated peak memory and time against the memory limit, and "
         "run nothing", "train " ANALYSIS),
    FLAG("quick", "quick", "run", quick, "smaller sizes and fewer steps (seconds; for tests)", "demo"),
    /* output */
    FLAG("json", "json", "output", json, "one JSON object on stdout instead of a table", "eval explain info bench report"),
    FLAG("progress", "progress", "output", progress, "progress on stderr even when it is not a terminal", PROGRESS),
    FLAG("quiet", "quiet", "output", quiet, "nothing on stderr but errors (no progress; sweep: no line per point)",
         PROGRESS " sweep"),
    FLAG("config_fields", "config-fields", "output", config_fields,
         "print the table of the library's options (config.json's keys) as Markdown and exit", "train"),
    FLAG("recipes", "recipes", "output", recipes,
         "print the recipes (--recipe), each setting with its source, as Markdown and exit", "train"),
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

/* a row's count of choices from its table (the library's rows say it themselves) */
__attribute__((constructor)) static void count_choices(void)
{
    for (int i = 0; i < NROWS; i++)
        if (rows[i].choices) rows[i].num_choices = rows[i].choices->count;
}

int cli_option_count(void) { return rl_option_count() + NROWS; }

const rl_option *cli_option_at(int i)
{
    int nl = rl_option_count();
    return i < 0 ? NULL : i < nl ? rl_option_at(i) : i < nl + NROWS ? &rows[i - nl] : NULL;
}

int cli_option_index(const char *name)
{
    for (int i = 0; name && i < cli_option_count(); i++)
        if (strcmp(cli_option_at(i)->name, name) == 0) return i;
    return -1;
}

const rl_option *cli_option_find(const char *name) { return cli_option_at(cli_option_index(name)); }

const rl_option *cli_option_of(const char *cmd, const char *flag)
{
    for (int i = 0; flag && i < cli_option_count(); i++) {
        const rl_option *o = cli_option_at(i);
        if (strcmp(o->flag, flag) == 0 && rl_option_takes(o, cmd)) return o;
    }
    return NULL;
}

void *cli_option_field(cli_args *a, const rl_option *o)
{
    return o >= rows && o < rows + NROWS ? (void *)a : (void *)&a->t;
}

void cli_defaults(const cli_command *cmd, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->t = rl_train_defaults();
    a->loss = RL_LOSS_MSE, a->precision = RL_F32, a->floss_weight = 1;
    a->data_input = 1, a->noise_std = 1, a->tol = 1e-7;
    a->lyap.transient = 100;
    a->batches = 20, a->prime = "\n", a->temperature = 1, a->len = 500;
    if (cmd && cmd->defaults) cmd->defaults(a);
}
