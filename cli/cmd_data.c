/* rnnlab data: a data file for a model, for experiments with the analysis
 * commands (the training tasks make their own). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab data --model M --steps T --out D [options]\n"
    "\n"
    "Write a data file that fits model M: inputs, random targets, a mask and an\n"
    "initial state, for rnnlab grad, jacobian, spectrum and lyapunov.\n"
    "\n"
    "  --model M         the model the data is for                     (required)\n"
    "  --steps T         sequence length                               (required)\n"
    "  --batch B         number of sequences                           [1]\n"
    "  --input KIND      zeros | noise                                 [noise]\n"
    "  --noise-std X     standard deviation of noise inputs            [1]\n"
    "  --h0 KIND         zeros | random (U(-1, 1))                     [zeros]\n"
    "  --mask KIND       all | last (loss on the last step only)       [all]\n"
    "  --seed S          random seed                                   [0]\n"
    "  --task TASK       inputs, targets and mask of a training task instead\n"
    "                    (adding | adding-hs97 | copy | temporal-order |\n"
    "                    mackey-glass | narma10), T its --seq-len, drawn from\n"
    "                    the seed; the model must fit the task\n"
    "  --out D           output file ('-' for stdout)                  (required)\n"
    "Targets are uniform class ids (cross_entropy) or N(0, 1) (mse).\n";

/* --task: B sequences of the task (seq_len T) into a data file for m. */
static int task_data(cli_ctx *c, const rl_model *m, const char *name, int T, int B, uint64_t seed, int rnd, const char *out)
{
    rl_task_kind kind;
    if (rl_task_parse(name, &kind)) return cli_usage_error(c, "%s", rl_errmsg());
    if (kind == RL_TASK_TEXT) return cli_usage_error(c, "--task text is not drawn here: its data is a text file");
    rl_task *task = NULL;
    rl_data *d = NULL;
    float *h0 = NULL, *c0 = NULL;
    rl_status s = rl_task_new(&task, kind, T, NULL);
    if (s == RL_ERR_ARG) return cli_usage_error(c, "%s", rl_errmsg());
    const rl_config cfg = rl_model_config(m);
    rl_task_info in;
    memset(&in, 0, sizeof in);
    if (!s) in = rl_task_get_info(task);
    int e = 0;
    if (!s && (cfg.input_size != in.input_size || cfg.output_size != in.output_size || cfg.loss != in.loss)) {
        fprintf(stderr, "rnnlab data: the model (input %d, output %d, %s) does not fit the task %s (input %d, output %d, %s)\n",
                cfg.input_size, cfg.output_size, rl_loss_name(cfg.loss), name, in.input_size, in.output_size,
                rl_loss_name(in.loss));
        e = 1;
    }
    if (!e && !s) s = rl_task_data_new(&d, task, B);
    size_t LBH = (size_t)cfg.num_layers * B * cfg.hidden_size;
    if (!e && !s && rnd && (!(h0 = calloc(LBH, 4)) || !(c0 = calloc(LBH, 4)))) s = RL_ERR_NOMEM;
    if (!e && !s) {
        rl_rng r;
        rl_rng_seed(&r, seed);
        s = rl_task_fill(task, d, &r, 0, NULL);
        for (size_t i = 0; rnd && i < LBH; i++) h0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
        for (size_t i = 0; rnd && i < LBH; i++) c0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    }
    if (!e && !s) {
        rl_batch b = *rl_data_batch(d);
        b.h0 = rnd ? h0 : NULL, b.c0 = rnd && rl_cell_states(cfg.cell) == 2 ? c0 : NULL;
        s = rl_data_save(&b, m, out);
    }
    if (!e && s) e = cli_fail(c, s);
    free(h0), free(c0);
    rl_data_free(d);
    rl_task_free(task);
    return e;
}

int cmd_data(int argc, char **argv)
{
    enum { O_MODEL = 1, O_STEPS, O_BATCH, O_INPUT, O_NOISE, O_H0, O_MASK, O_SEED, O_OUT, O_TASK };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"steps", required_argument, 0, O_STEPS},
        {"batch", required_argument, 0, O_BATCH}, {"input", required_argument, 0, O_INPUT},
        {"noise-std", required_argument, 0, O_NOISE}, {"h0", required_argument, 0, O_H0},
        {"mask", required_argument, 0, O_MASK},   {"seed", required_argument, 0, O_SEED},
        {"out", required_argument, 0, O_OUT},     {"task", required_argument, 0, O_TASK},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "data", .usage = usage};
    const char *model = NULL, *out = NULL, *input = "noise", *h0kind = "zeros", *maskkind = "all", *task = NULL;
    int T = 0, B = 1, e = 0, v;
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
        case O_TASK: task = optarg; break;
        default: return 2;
        }
    }
    if (e || (e = cli_require(&c, model, "model")) || (e = cli_require(&c, T ? "" : NULL, "steps")) ||
        (e = cli_require(&c, out, "out")))
        return e;
    if (strcmp(input, "zeros") && strcmp(input, "noise"))
        return cli_usage_error(&c, "--input must be zeros or noise, got '%s'", input);
    if (strcmp(h0kind, "zeros") && strcmp(h0kind, "random"))
        return cli_usage_error(&c, "--h0 must be zeros or random, got '%s'", h0kind);
    if (strcmp(maskkind, "all") && strcmp(maskkind, "last"))
        return cli_usage_error(&c, "--mask must be all or last, got '%s'", maskkind);
    if (c.seen[O_NOISE] && strcmp(input, "noise")) return cli_usage_error(&c, "--noise-std needs --input noise");
    if (task && (c.seen[O_INPUT] || c.seen[O_NOISE] || c.seen[O_MASK]))
        return cli_usage_error(&c, "--task draws the inputs, targets and mask: drop --input, --noise-std and --mask");
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (s) return cli_fail(&c, s);
    if (task) {
        e = task_data(&c, m, task, T, B, seed, strcmp(h0kind, "random") == 0, out);
        rl_model_free(m);
        return e;
    }
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
