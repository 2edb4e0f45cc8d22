/* rnnlab data: a data file for a model, for experiments with the analysis
 * commands (the training tasks make their own). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab data --model M --steps T --out D [options]       noise data\n"
    "       rnnlab data --model M --task TASK [--seq-len T] [--data FILE] --out D   a task's data\n"
    "\n"
    "Write a data file that fits model M, for rnnlab grad, jacobian, spectrum and\n"
    "lyapunov: noise inputs, random targets, a mask and an initial state; or fresh\n"
    "sequences of a task (its inputs, targets and mask; text: windows of the\n"
    "validation split; a user's data: the first sequences of its held-out part). A\n"
    "model made by rnnlab train records its task and T, and the text or data it read:\n"
    "without --steps and --task, the data is of that task (said so on stderr), and\n"
    "--seq-len and --data are the model's unless given.\n"
    "\n";

static void data_defaults(cli_args *a) { a->t.batch = 1, a->t.seed = 0, a->seq_steps = 0; }

const cli_command cli_data_command = {"data", usage,
                                      "Noise data's targets are uniform class ids (cross_entropy) or N(0, 1) (mse).\n",
                                      "model out_file", 0, data_defaults};

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
static int task_file(const cli_ctx *c, rl_model *m, rl_train_config *t, int random_h0, const char *out)
{
    rl_task *task = NULL;
    rl_data *d = NULL;
    float *h0 = NULL, *c0 = NULL;
    char note[1400];
    int e = cli_model_task(c, m, t, NULL, note, sizeof note);
    if (!e) e = cli_task_data(c, m, t, t->batch, t->seed, &task, &d);
    rl_batch b = d ? *rl_data_batch(d) : (rl_batch){0};
    if (!e && random_h0 && random_state(m, &b, t->seed, &h0, &c0)) {
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

int cmd_data(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *model = a->model, *out = a->out_file;
    const int T = a->seq_steps, B = a->t.batch, task_given = cli_given(c, "task"), steps_given = cli_given(c, "seq_steps");
    const int noise = a->data_input == 1, rnd = a->h0 == 1, all = a->mask == 0;
    const uint64_t seed = a->t.seed;
    if (task_given && steps_given) return cli_usage_error(c, "--steps is the length of noise data: a task's is --seq-len");
    if (task_given && (cli_given(c, "data_input") || cli_given(c, "noise_std") || cli_given(c, "mask")))
        return cli_usage_error(c, "--input, --noise-std and --mask are for noise data: a task makes its own");
    for (int i = 0; steps_given && i < rl_option_count(); i++) /* the options of a task's data */
        if (strcmp(rl_option_at(i)->group, "task") == 0 && strcmp(rl_option_at(i)->name, "batch") != 0 &&
            cli_given(c, rl_option_at(i)->name))
            return cli_usage_error(c, "--%s is for a task's data (--task, or the model's own): --steps makes noise data",
                                   rl_option_at(i)->flag);
    if (cli_given(c, "noise_std") && !noise) return cli_usage_error(c, "--noise-std needs --input noise");
    cli_input(c, "--model", model);
    cli_input(c, "--data", a->t.text_path);
    if ((e = cli_check_output(c, "out", out))) return e;
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (s) return cli_fail(c, s);
    rl_task_kind tk;
    if (!steps_given && !task_given && !rl_model_task(m, &tk)) {
        rl_model_free(m);
        return cli_usage_error(c, "--steps is required (or --task): the model does not record the task it was trained on");
    }
    if (!steps_given) return task_file(c, m, &a->t, rnd, out);
    rl_config cfg = rl_model_config(m);
    size_t BT = (size_t)B * T, LBH = (size_t)cfg.num_layers * B * cfg.hidden_size;
    int ce = cfg.loss == RL_LOSS_CE, lstm = rl_cell_states(cfg.cell) == 2;
    char what[160];
    snprintf(what, sizeof what, "noise data of B = %d sequences of T = %d steps", B, T);
    if ((s = rl_memory_check((double)BT * (cfg.input_size + (ce ? 1 : cfg.output_size) + 1) * 4 + 2.0 * LBH * 4, what))) {
        rl_model_free(m);
        return cli_fail(c, s);
    }
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
    if (noise)
        for (size_t i = 0; i < BT * cfg.input_size; i++) x[i] = (float)(a->noise_std * rl_rng_normal(&r));
    for (size_t i = 0; ce && i < BT; i++) ids[i] = (int32_t)(rl_rng_next(&r) % (uint64_t)cfg.output_size);
    for (size_t i = 0; !ce && i < BT * cfg.output_size; i++) y[i] = (float)rl_rng_normal(&r);
    for (size_t i = 0; i < BT; i++) mask[i] = all || i % T == (size_t)T - 1;
    for (size_t i = 0; rnd && i < LBH; i++) h0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    for (size_t i = 0; rnd && lstm && i < LBH; i++) c0[i] = (float)(2 * rl_rng_uniform(&r) - 1);
    rl_batch b = {RL_F32, B, T, cfg.input_size, x, ids, y, all ? NULL : mask,
                  rnd ? h0 : NULL, rnd && lstm ? c0 : NULL};
    s = rl_data_save(&b, m, out);
    if (s) e = cli_fail(c, s);
done:
    free(x), free(y), free(mask), free(h0), free(c0), free(ids);
    rl_model_free(m);
    return e;
}
