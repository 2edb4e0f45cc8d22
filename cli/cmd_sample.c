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
    rl_ws *ws = NULL;
    rl_status s = rl_model_load(&m, model, RL_F32);
    size_t plen = strlen(prime) + 1, n = 0;
    int32_t *ids = malloc(plen * sizeof *ids);
    if (!s && !ids) s = RL_ERR_NOMEM;
    if (!s && !rl_model_vocab(m)) s = RL_ERR_ARG, fprintf(stderr, "rnnlab sample: %s has no vocabulary: it is not a character model\n", model);
    else if (!s) s = rl_vocab_encode(m, prime, ids, plen, &n);
    if (!s) s = rl_ws_new(&ws, m, 1, 1);
    if (s) {
        if (*rl_errmsg() || s != RL_ERR_ARG) cli_fail(&c, s);
        free(ids);
        rl_ws_free(ws);
        rl_model_free(m);
        return 1;
    }
    rl_config cfg = rl_model_config(m);
    const int V = cfg.input_size, L = cfg.num_layers, H = cfg.hidden_size, lstm = rl_cell_states(cfg.cell) == 2;
    float *x = calloc((size_t)V, 4), *h = calloc((size_t)L * H, 4), *cc = calloc((size_t)L * H, 4);
    double *p = malloc((size_t)V * 8);
    int *order = malloc((size_t)V * sizeof *order);
    rl_rng r;
    rl_rng_seed(&r, seed);
    fputs(prime, stdout);
    int32_t cur = ids[0];
    for (long k = 0; !s && k < (long)n + len - 1; k++) {
        memset(x, 0, (size_t)V * 4);
        x[cur] = 1;
        rl_batch b = {RL_F32, 1, 1, V, x, NULL, NULL, NULL, h, lstm ? cc : NULL};
        s = rl_forward(ws, m, &b, NULL);
        if (s) break;
        for (int l = 0; l < L; l++) {
            memcpy(h + (size_t)l * H, (const float *)rl_ws_hidden(ws, l) + H, (size_t)H * 4);
            if (lstm) memcpy(cc + (size_t)l * H, (const float *)rl_ws_cell(ws, l) + H, (size_t)H * 4);
        }
        if (k + 1 < (long)n) { /* still reading the prime */
            cur = ids[k + 1];
            continue;
        }
        /* softmax(o / temperature) over the top k */
        const float *o = rl_ws_outputs(ws);
        for (int i = 0; i < V; i++) order[i] = i;
        int K = topk > 0 && topk < V ? topk : V;
        for (int i = 0; i < K; i++) /* partial selection sort: the K largest first */
            for (int j = i + 1; j < V; j++)
                if (o[order[j]] > o[order[i]]) {
                    int tmp = order[i];
                    order[i] = order[j], order[j] = tmp;
                }
        double mx = o[order[0]], sum = 0;
        for (int i = 0; i < K; i++) sum += (p[i] = exp((o[order[i]] - mx) / temp));
        double u = rl_rng_uniform(&r) * sum, acc = 0;
        int pick = K - 1;
        for (int i = 0; i < K; i++)
            if ((acc += p[i]) > u) {
                pick = i;
                break;
            }
        cur = order[pick];
        char ch[5];
        s = rl_vocab_char(m, cur, ch);
        if (!s) fputs(ch, stdout);
    }
    fputc('\n', stdout);
    free(x), free(h), free(cc), free(p), free(order), free(ids);
    rl_ws_free(ws);
    rl_model_free(m);
    return s ? cli_fail(&c, s) : 0;
}
