/* Data of a model's own task: fresh sequences of a task, for rnnlab data
 * --task and for the analysis commands given a trained model alone. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_model_task(const cli_ctx *c, const rl_model *m, int task_given, int seq_given, rl_task_kind *kind, int *T, char *note,
                   size_t n)
{
    rl_task_kind mk = RL_TASK_ADDING;
    int mT = rl_model_task(m, &mk);
    note[0] = '\0';
    if (!task_given) {
        if (!mT) return cli_usage_error(c, "--task is required: the model does not record the task it was trained on");
        *kind = mk;
    }
    int took_T = !seq_given && mT && *kind == mk;
    if (took_T) *T = mT;
    if (!task_given && took_T)
        snprintf(note, n, "task %s, T = %d, as the model was trained (--task, --seq-len choose others)", rl_task_name(*kind), *T);
    else if (!task_given)
        snprintf(note, n, "task %s, as the model was trained (--task chooses another)", rl_task_name(*kind));
    else if (took_T)
        snprintf(note, n, "T = %d, as the model was trained (--seq-len chooses another)", *T);
    return 0;
}

int cli_task_data(const cli_ctx *c, const rl_model *m, rl_task_kind kind, int T, const char *text, int B, uint64_t seed,
                  rl_task **task, rl_data **d)
{
    *task = NULL, *d = NULL;
    rl_status s = rl_task_new(task, kind, T, text);
    if (s) return cli_fail_arg(c, s);
    rl_task_info in = rl_task_get_info(*task);
    rl_config mc = rl_model_config(m);
    if (mc.input_size != in.input_size || mc.output_size != in.output_size || mc.loss != in.loss)
        return cli_usage_error(c, "the model (input %d, output %d, %s) does not fit the task %s (input %d, output %d, %s)",
                               mc.input_size, mc.output_size, rl_loss_name(mc.loss), rl_task_name(kind), in.input_size,
                               in.output_size, rl_loss_name(in.loss));
    if (in.vocab && (!rl_model_vocab(m) || strcmp(rl_model_vocab(m), in.vocab) != 0))
        return cli_usage_error(c, "the model's characters are not those of %s: give the text it was trained on",
                               text ? text : "the built-in corpus");
    /* text: B streams through the validation split, each one window long */
    if (in.vocab && in.val_len / B < in.steps + 1)
        return cli_usage_error(c, "the validation text (%lld characters) is too short for %d streams of %d: use --batch %lld or less",
                               (long long)in.val_len, B, in.steps, (long long)(in.val_len / (in.steps + 1)));
    int64_t *pos = calloc((size_t)B, sizeof *pos);
    if (!pos) return fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd), 1;
    for (int b = 0; b < B; b++) pos[b] = (int64_t)b * (in.val_len / B);
    s = rl_task_data_new(d, *task, B);
    rl_rng r;
    rl_rng_seed(&r, seed);
    if (!s) s = rl_task_fill(*task, *d, &r, 1, pos);
    free(pos);
    return s ? cli_fail(c, s) : 0;
}
