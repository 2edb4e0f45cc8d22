/* rnnlab sample: text from a character model. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab sample --model M [--prime TEXT] [--temperature X] [--top-k K] [--len N] [--seed S]\n"
    "\n"
    "Generate text from a character model, one character at a time: the model reads\n"
    "the prime, then samples each next character from softmax(o / X), restricted to\n"
    "the K most likely when K > 0, and reads it back. Prints the prime and the sample.\n"
    "\n";

const cli_command cli_sample_command = {"sample", usage, NULL, "model", 0, NULL};

static rl_status emit(const char *utf8, void *ctx)
{
    (void)ctx;
    return fputs(utf8, stdout) < 0 ? RL_ERR_IO : RL_OK;
}

int cmd_sample(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    const char *model = a->model, *prime = a->prime;
    if (!*prime) return cli_usage_error(c, "--prime is empty");
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (!s && !rl_model_vocab(m)) {
        fprintf(stderr, "rnnlab sample: %s has no vocabulary: it is not a character model\n", model);
        rl_model_free(m);
        return 1;
    }
    if (!s) s = rl_sample(m, prime, a->len, a->temperature, a->top_k, a->t.seed, emit, NULL);
    if (!s) fputc('\n', stdout);
    rl_model_free(m);
    return s ? cli_fail_arg(c, s) : 0; /* a --prime the vocabulary lacks: 2 */
}
