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
    "\n"
    "  --model M         a model trained on text                      (required)\n"
    "  --prime TEXT      text to start from                           [a newline]\n"
    "  --temperature X   > 0; lower is more conservative              [1]\n"
    "  --top-k K         sample among the K most likely (0: all)      [0]\n"
    "  --len N           characters to generate                       [500]\n"
    "  --seed S          random seed                                  [0]\n";

static rl_status emit(const char *utf8, void *ctx)
{
    (void)ctx;
    return fputs(utf8, stdout) < 0 ? RL_ERR_IO : RL_OK;
}

int cmd_sample(int argc, char **argv)
{
    enum { O_MODEL = 1, O_PRIME, O_TEMP, O_TOPK, O_LEN, O_SEED };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"prime", required_argument, 0, O_PRIME},
        {"temperature", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"len", required_argument, 0, O_LEN}, {"seed", required_argument, 0, O_SEED},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "sample", .usage = usage};
    const char *model = NULL, *prime = "\n";
    double temp = 1;
    int topk = 0, len = 500, e = 0, v;
    uint64_t seed = 0;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_MODEL: model = optarg; break;
        case O_PRIME: prime = optarg; break;
        case O_TEMP: e = cli_double(&c, "temperature", optarg, 1e-3, 1e3, &temp); break;
        case O_TOPK: e = cli_int(&c, "top-k", optarg, 0, 1 << 20, &topk); break;
        case O_LEN: e = cli_int(&c, "len", optarg, 0, 100000000, &len); break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &seed); break;
        default: return 2;
        }
    }
    if (e || (e = cli_require(&c, model, "model"))) return e;
    if (!*prime) return cli_usage_error(&c, "--prime is empty");
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (!s && !rl_model_vocab(m)) {
        fprintf(stderr, "rnnlab sample: %s has no vocabulary: it is not a character model\n", model);
        rl_model_free(m);
        return 1;
    }
    if (!s) s = rl_sample(m, prime, len, temp, topk, seed, emit, NULL);
    if (!s) fputc('\n', stdout);
    rl_model_free(m);
    return s ? cli_fail_arg(&c, s) : 0; /* a --prime the vocabulary lacks: 2 */
}
