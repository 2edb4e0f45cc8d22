/* Text from a character model: read a prime, then draw each next character
 * from softmax(o / temperature) over the k most likely and read it back,
 * the state carried from one step to the next. */
#include "net/net.h"

#include <math.h>
#include <string.h>

rl_status rl_ws_state_at(const rl_ws *ws, int t, void *h0, void *c0)
{
    if (t < 0 || t > ws->T) return rl_fail(RL_ERR_ARG, "step %d is outside [0, %d]", t, ws->T);
    const size_t BH = (size_t)ws->B * rl_cell_units(rl_cell_desc_of(ws->cfg.cell), &ws->cfg), es = rl_dtype_size(ws->dtype);
    for (int l = 0; l < ws->cfg.num_layers; l++) {
        size_t from = ((size_t)l * (ws->T + 1) + (size_t)t) * BH * es, to = (size_t)l * BH * es;
        if (h0) memcpy((char *)h0 + to, (const char *)ws->h + from, BH * es);
        if (c0 && ws->c) memcpy((char *)c0 + to, (const char *)ws->c + from, BH * es);
    }
    return RL_OK;
}

rl_status rl_sample(const rl_model *m, const char *prime, int64_t length, double temperature, int top_k, uint64_t seed,
                    rl_status (*emit)(const char *utf8, void *ctx), void *ctx)
{
    if (!rl_model_vocab(m)) return rl_fail(RL_ERR_ARG, "the model has no vocabulary: it is not a character model");
    if (!prime || !*prime) return rl_fail(RL_ERR_ARG, "the prime is empty");
    if (!(temperature > 0) || !isfinite(temperature)) return rl_fail(RL_ERR_ARG, "the temperature must be > 0");
    if (length < 0 || top_k < 0) return rl_fail(RL_ERR_ARG, "the length and k must be >= 0");
    const rl_config cfg = m->cfg;
    const int V = cfg.input_size, two = rl_cell_states(cfg.cell) == 2;
    const size_t LH = (size_t)cfg.num_layers * rl_model_units(m), plen = strlen(prime) + 1;
    rl_model *m32 = NULL;
    rl_ws *ws = NULL;
    size_t n = 0;
    int32_t *ids = rl_alloc(plen, sizeof *ids);
    float *x = rl_alloc((size_t)V, 4), *h = rl_alloc(LH, 4), *c = rl_alloc(LH, 4);
    double *p = rl_alloc((size_t)V, 8);
    int *order = rl_alloc((size_t)V, sizeof *order);
    rl_status s = ids && x && h && c && p && order ? RL_OK : RL_ERR_NOMEM;
    if (!s) s = rl_model_cast(&m32, m, RL_F32);
    if (!s) s = rl_vocab_encode(m32, prime, ids, plen, &n);
    if (!s) s = rl_ws_new(&ws, m32, 1, 1);
    if (!s) s = emit(prime, ctx);
    rl_rng r;
    rl_rng_seed(&r, seed);
    int32_t cur = n ? ids[0] : 0;
    for (int64_t k = 0; !s && k < (int64_t)n + length - 1; k++) {
        memset(x, 0, (size_t)V * 4);
        x[cur] = 1;
        rl_batch b = {RL_F32, 1, 1, V, x, NULL, NULL, NULL, h, two ? c : NULL};
        s = rl_forward(ws, m32, &b, NULL);
        if (!s) s = rl_ws_state_at(ws, 1, h, c); /* the state after the step starts the next */
        if (s) break;
        if (k + 1 < (int64_t)n) { /* still reading the prime */
            cur = ids[k + 1];
            continue;
        }
        /* softmax(o / temperature) over the top k */
        const float *o = rl_ws_outputs(ws);
        for (int i = 0; i < V; i++) order[i] = i;
        int K = top_k > 0 && top_k < V ? top_k : V;
        for (int i = 0; i < K; i++) /* partial selection sort: the K largest first */
            for (int j = i + 1; j < V; j++)
                if (o[order[j]] > o[order[i]]) {
                    int tmp = order[i];
                    order[i] = order[j], order[j] = tmp;
                }
        double mx = o[order[0]], sum = 0;
        for (int i = 0; i < K; i++) sum += (p[i] = exp((o[order[i]] - mx) / temperature));
        double u = rl_rng_uniform(&r) * sum, acc = 0;
        int pick = K - 1;
        for (int i = 0; i < K; i++)
            if ((acc += p[i]) > u) {
                pick = i;
                break;
            }
        cur = order[pick];
        char ch[5];
        s = rl_vocab_char(m32, cur, ch);
        if (!s) s = emit(ch, ctx);
    }
    rl_free(ids), rl_free(x), rl_free(h), rl_free(c), rl_free(p), rl_free(order);
    rl_ws_free(ws);
    rl_model_free(m32);
    return s;
}
