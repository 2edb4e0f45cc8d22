/* rnnlab data: a data file for a model, for experiments with the analysis
 * commands (the training tasks make their own). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab data --model M --steps T --out D [options]       noise data\n"
    "       rnnlab data --model M --task TASK [--seq-len T] --out D   a task's data\n"
    "\n"
    "Write a data file that fits model M, for rnnlab grad, jacobian, spectrum and\n"
    "lyapunov: noise inputs, random targets, a mask and an initial state; or fresh\n"
    "sequences of a task (its inputs, targets and mask; text: windows of the\n"
    "validation split). A model made by rnnlab train records its task and T: without\n"
    "--steps and --task, the data is of that task (said so on stderr).\n"
    "\n"
    "  --model M         the model the data is for                     (required)\n"
    "  --steps T         sequence length of noise data\n"
    "  --task TASK       adding | adding-hs97 | copy | temporal-order | text |\n"
    "                    mackey-glass | narma10\n"
    "  --seq-len T       the task's sequence length                    [the model's, else 100]\n"
    "  --text FILE       text: the text                                [the built-in corpus]\n"
    "  --batch B         number of sequences                           [1]\n"
    "  --input KIND      zeros | noise                                 [noise]\n"
    "  --noise-std X     standard deviation of noise inputs            [1]\n"
    "  --h0 KIND         zeros | random (U(-1, 1))                     [zeros]\n"
    "  --mask KIND       all | last (loss on the last step only)       [all]\n"
    "  --seed S          random seed                                   [0]\n"
    "  --out D           output file ('-' for stdout)                  (required)\n"
    "Noise data's targets are uniform class ids (cross_entropy) or N(0, 1) (mse).\n";

/* Random initial states U(-1, 1) (L, B, H) for b, and c0 for an LSTM: the
 * buffers are the caller's to free. */
static int random_state(const rl_model *m, rl_batch *b, uint64_t seed, float **h0, float **c0)
{
    rl_config cfg = rl_model_config(m);
    size_t LBH = (size_t)cfg.num_layers * b->batch * cfg.hidden_size;
    int lstm = rl_cell_states(cfg.cell) == 2;
    *h0 = calloc(LBH + 1, 4), *c0 = calloc(LBH + 1, 4);
    if (!*h0 || !*c0) return -1;
    rl_rng r;
    rl_rng_seed(&r, seed ^ 0x6830ull);
    for (size_t i = 0; i < LBH; i++) (*h0)[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    for (size_t i = 0; lstm && i < LBH; i++) (*c0)[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    b->h0 = *h0, b->c0 = lstm ? *c0 : NULL;
    return 0;
}

/* The task's data: B fresh sequences, saved with m's layout. Frees m. */
static int task_file(const cli_ctx *c, rl_model *m, const char *task_name, int seq_given, int T, const char *text, int B,
                     int random_h0, uint64_t seed, const char *out)
{
    rl_task_kind kind;
    rl_task *task = NULL;
    rl_data *d = NULL;
    float *h0 = NULL, *c0 = NULL;
    char note[256];
    int e = cli_model_task(c, m, task_name, seq_given, &kind, &T, note, sizeof note);
    if (!e && text && kind != RL_TASK_TEXT) e = cli_usage_error(c, "--text is for --task text");
    if (!e) e = cli_task_data(c, m, kind, T, text, B, seed, &task, &d);
    rl_batch b = d ? *rl_data_batch(d) : (rl_batch){0};
    if (!e && random_h0 && random_state(m, &b, seed, &h0, &c0)) {
        fprintf(stderr, "rnnlab data: out of memory\n");
        e = 1;
    }
    rl_status s = e ? RL_OK : rl_data_save(&b, m, out);
    if (s) e = cli_fail(c, s);
    if (!e && note[0]) fprintf(stderr, "rnnlab data: %s\n", note);
    free(h0), free(c0);
    rl_data_free(d);
    rl_task_free(task);
    rl_model_free(m);
    return e;
}

int cmd_data(int argc, char **argv)
{
    enum { O_MODEL = 1, O_STEPS, O_BATCH, O_INPUT, O_NOISE, O_H0, O_MASK, O_SEED, O_OUT, O_TASK, O_SEQ, O_TEXT };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"steps", required_argument, 0, O_STEPS},
        {"batch", required_argument, 0, O_BATCH}, {"input", required_argument, 0, O_INPUT},
        {"noise-std", required_argument, 0, O_NOISE}, {"h0", required_argument, 0, O_H0},
        {"mask", required_argument, 0, O_MASK},   {"seed", required_argument, 0, O_SEED},
        {"out", required_argument, 0, O_OUT},     {"task", required_argument, 0, O_TASK},
        {"seq-len", required_argument, 0, O_SEQ}, {"text", required_argument, 0, O_TEXT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "data", .usage = usage};
    const char *model = NULL, *out = NULL, *input = "noise", *h0kind = "zeros", *maskkind = "all", *task_name = NULL,
               *text = NULL;
    int T = 0, TT = 100, B = 1, e = 0, v;
    double noise = 1;
    uint64_t seed = 0;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_MODEL: model = optarg; break;
        case O_STEPS: e = cli_int(&c, "steps", optarg, 1, 10000000, &T); break;
        case O_BATCH: e = cli_int(&c, "batch", optarg, 1, 1000000, &B); break;
        case O_INPUT: input = optarg; break;
        case O_NOISE: e = cli_double(&c, "noise-std", optarg, 0, 1e6, &noise); break;
        case O_H0: h0kind = optarg; break;
        case O_MASK: maskkind = optarg; break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &seed); break;
        case O_OUT: out = optarg; break;
        case O_TASK: task_name = optarg; break;
        case O_SEQ: e = cli_int(&c, "seq-len", optarg, 1, RL_MAX_SEQ_LEN, &TT); break;
        case O_TEXT: text = optarg; break;
        default: return 2;
        }
    }
    if (e || (e = cli_require(&c, model, "model")) || (e = cli_require(&c, out, "out"))) return e;
    if (task_name && c.seen[O_STEPS]) return cli_usage_error(&c, "--steps is the length of noise data: a task's is --seq-len");
    if (task_name && (c.seen[O_INPUT] || c.seen[O_NOISE] || c.seen[O_MASK]))
        return cli_usage_error(&c, "--input, --noise-std and --mask are for noise data: a task makes its own");
    if (c.seen[O_STEPS] && (c.seen[O_SEQ] || c.seen[O_TEXT])) return cli_usage_error(&c, "--seq-len and --text are for --task");
    if (strcmp(input, "zeros") && strcmp(input, "noise"))
        return cli_usage_error(&c, "--input must be zeros or noise, got '%s'", input);
    if (strcmp(h0kind, "zeros") && strcmp(h0kind, "random"))
        return cli_usage_error(&c, "--h0 must be zeros or random, got '%s'", h0kind);
    if (strcmp(maskkind, "all") && strcmp(maskkind, "last"))
        return cli_usage_error(&c, "--mask must be all or last, got '%s'", maskkind);
    if (c.seen[O_NOISE] && strcmp(input, "noise")) return cli_usage_error(&c, "--noise-std needs --input noise");
    cli_input(&c, "--model", model);
    cli_input(&c, "--text", text);
    if ((e = cli_check_output(&c, "out", out))) return e;
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (s) return cli_fail(&c, s);
    rl_task_kind tk;
    if (!c.seen[O_STEPS] && !task_name && !rl_model_task(m, &tk)) {
        rl_model_free(m);
        return cli_usage_error(&c, "--steps is required (or --task): the model does not record the task it was trained on");
    }
    if (!c.seen[O_STEPS]) return task_file(&c, m, task_name, c.seen[O_SEQ], TT, text, B, strcmp(h0kind, "random") == 0, seed, out);
    rl_config cfg = rl_model_config(m);
    size_t BT = (size_t)B * T, LBH = (size_t)cfg.num_layers * B * cfg.hidden_size;
    int ce = cfg.loss == RL_LOSS_CE, lstm = rl_cell_states(cfg.cell) == 2, rnd = strcmp(h0kind, "random") == 0;
    float *x = calloc(BT * cfg.input_size + 1, 4), *y = ce ? NULL : calloc(BT * cfg.output_size + 1, 4),
          *mask = calloc(BT, 4), *h0 = calloc(LBH, 4), *c0 = calloc(LBH, 4);
    int32_t *ids = ce ? calloc(BT, 4) : NULL;
    if (!x || !mask || !h0 || !c0 || (ce ? !ids : !y)) {
        fprintf(stderr, "rnnlab data: out of memory for B = %d, T = %d\n", B, T);
        e = 1;
        goto done;
    }
    rl_rng r;
    rl_rng_seed(&r, seed);
    if (strcmp(input, "noise") == 0)
        for (size_t i = 0; i < BT * cfg.input_size; i++) x[i] = (float)(noise * rl_rng_normal(&r));
    for (size_t i = 0; ce && i < BT; i++) ids[i] = (int32_t)(rl_rng_next(&r) % (uint64_t)cfg.output_size);
    for (size_t i = 0; !ce && i < BT * cfg.output_size; i++) y[i] = (float)rl_rng_normal(&r);
    for (size_t i = 0; i < BT; i++) mask[i] = strcmp(maskkind, "all") == 0 || i % T == (size_t)T - 1;
    for (size_t i = 0; rnd && i < LBH; i++) h0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    for (size_t i = 0; rnd && lstm && i < LBH; i++) c0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    rl_batch b = {RL_F32, B, T, cfg.input_size, x, ids, y, strcmp(maskkind, "all") ? mask : NULL,
                  rnd ? h0 : NULL, rnd && lstm ? c0 : NULL};
    s = rl_data_save(&b, m, out);
    if (s) e = cli_fail(&c, s);
done:
    free(x), free(y), free(mask), free(h0), free(c0), free(ids);
    rl_model_free(m);
    return e;
}
