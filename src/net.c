/* The network: layers of cells, the readout o_t = W_o h_t + b_o of the top
 * layer, the masked loss, and BPTT through all of it. Compiled once per real
 * type (see real.h); rl_forward/rl_backward in ws.c pick the copy. */
#include "real.h"

#include <math.h>
#include <string.h>

#define P(m, i) ((const real *)(m)->params + (m)->tensors[(i)].offset)
#define DP(ws, m, i) ((real *)(ws)->grad + (m)->tensors[(i)].offset)

/* The readout and the loss of every (b, t) with its weight w = m[b,t]/sum(m).
 * Writes dL/do_t into dout at the same time: the softmax is computed once.
 *   cross-entropy: l = logsumexp(o) - o_y,        dL/do = w (softmax(o) - e_y)
 *   mse:           l = sum_k (o_k - y_k)^2 / O,   dL/do = w 2 (o - y) / O */
static double loss_and_dout(real *dout, const real *out, const rl_batch *b, const double *wsum, int T,
                            int B, int O, rl_loss loss)
{
    double total = 0;
    for (int t = 0; t < T; t++)
        for (int bb = 0; bb < B; bb++) {
            size_t bt = (size_t)bb * T + t;
            const real *o = out + ((size_t)t * B + bb) * O;
            real *d = dout + ((size_t)t * B + bb) * O;
            double w = wsum[bt];
            if (w == 0) {
                memset(d, 0, (size_t)O * sizeof *d);
                continue;
            }
            if (loss == RL_LOSS_CE) {
                real mx = o[0];
                for (int k = 1; k < O; k++) mx = o[k] > mx ? o[k] : mx;
                real s = 0;
                for (int k = 0; k < O; k++) s += (d[k] = RL_EXP(o[k] - mx));
                int y = b->target[bt];
                /* cppcheck-suppress invalidFunctionArg ; s >= 1: the largest term is exp(0) */
                total += w * ((double)RL_LOG(s) + mx - o[y]);
                real scale = (real)w / s;
                for (int k = 0; k < O; k++) d[k] *= scale;
                d[y] -= (real)w;
            } else {
                double l = 0;
                for (int k = 0; k < O; k++) {
                    real e = o[k] - rl_get(b->y, b->dtype, bt * O + k);
                    l += (double)e * e;
                    d[k] = (real)(w * 2.0 / O) * e;
                }
                total += w * l / O;
            }
        }
    return total;
}

rl_status RL_T(rl_forward)(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    const rl_config *c = &m->cfg;
    const int B = ws->B, T = ws->T, NI = c->input_size, H = c->hidden_size, O = c->output_size;
    const size_t BH = (size_t)B * H;
    RL_ASSERT(ws->dtype == RL_DTYPE && m->dtype == RL_DTYPE);
    if (b->dtype != RL_DTYPE)
        return rl_fail(RL_ERR_ARG, "the batch is %s but the model is %s", rl_dtype_name(b->dtype),
                       rl_dtype_name(m->dtype));
    if (b->batch != B || b->steps != T)
        return rl_fail(RL_ERR_ARG, "the batch is (B=%d, T=%d) but the workspace was made for (B=%d, T=%d)",
                       b->batch, b->steps, B, T);
    rl_status s = rl_batch_check(b, m, loss != NULL, ws->wsum);
    if (s) return s;
    ws->have_loss = 0;

    /* inputs to time-major (T, B, I) */
    real *xt = ws->xt;
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < T; t++)
            for (int i = 0; i < NI; i++)
                xt[((size_t)t * B + bb) * NI + i] = rl_get(b->x, b->dtype, ((size_t)bb * T + t) * NI + i);

    for (int l = 0; l < c->num_layers; l++) {
        real *h = (real *)ws->h + (size_t)l * (T + 1) * BH;
        for (size_t i = 0; i < BH; i++) h[i] = b->h0 ? rl_get(b->h0, b->dtype, l * BH + i) : 0;
        const real *in = l == 0 ? xt : (const real *)ws->h + (size_t)(l - 1) * (T + 1) * BH + BH;
        int in_size = l == 0 ? NI : H;
        if (l > 0 && ws->dropout > 0) {
            /* inverted dropout on the layer's input: x' = x * m, m in {0, 1/(1-p)} */
            real *mask = (real *)ws->dmask + (size_t)(l - 1) * T * BH, *dropped = (real *)ws->drop + (size_t)(l - 1) * T * BH;
            const real keep = (real)(1 / (1 - ws->dropout));
            for (size_t i = 0; i < (size_t)T * BH; i++) {
                mask[i] = rl_rng_uniform(&ws->drop_rng) >= ws->dropout ? keep : 0;
                dropped[i] = in[i] * mask[i];
            }
            in = dropped;
        }
        switch (c->cell) {
        case RL_CELL_TANH: case RL_CELL_RELU: case RL_CELL_LINEAR:
            RL_T(rnn_layer_forward)(h, ws->relu_on ? ws->relu_on + (size_t)l * (T + 1) * BH + BH : NULL, in,
                                    P(m, rl_t_wih(l)), P(m, rl_t_whh(l)), P(m, rl_t_bih(l)),
                                    P(m, rl_t_bhh(l)), c->cell, T, B, in_size, H);
            break;
        case RL_CELL_LSTM: {
            real *cc = (real *)ws->c + (size_t)l * (T + 1) * BH;
            for (size_t i = 0; i < BH; i++) cc[i] = b->c0 ? rl_get(b->c0, b->dtype, l * BH + i) : 0;
            RL_T(lstm_layer_forward)(h, cc, (real *)ws->gates + (size_t)l * T * 4 * BH, in, P(m, rl_t_wih(l)),
                                     P(m, rl_t_whh(l)), P(m, rl_t_bih(l)), P(m, rl_t_bhh(l)), T, B, in_size, H);
            break;
        }
        case RL_CELL_GRU:
            RL_T(gru_layer_forward)(h, (real *)ws->gates + (size_t)l * T * 3 * BH, (real *)ws->hn + (size_t)l * T * BH,
                                    ws->carry, in, P(m, rl_t_wih(l)), P(m, rl_t_whh(l)), P(m, rl_t_bih(l)),
                                    P(m, rl_t_bhh(l)), T, B, in_size, H);
            break;
        default:
            RL_UNREACHABLE("unknown cell");
        }
    }
    /* o_t = W_o h_t + b_o for all T*B rows of the top layer at once */
    const real *htop = (const real *)ws->h + (size_t)(c->num_layers - 1) * (T + 1) * BH + BH;
    real *out = ws->out;
    const real *bo = P(m, rl_t_head_b(m));
    for (size_t r = 0; r < (size_t)T * B; r++) memcpy(out + r * O, bo, (size_t)O * sizeof *out);
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, T * B, O, H, 1, htop, H, P(m, rl_t_head_w(m)), H, 1, out, O);
    if (!loss) return RL_OK;
    double l = loss_and_dout(ws->dout, out, b, ws->wsum, T, B, O, c->loss);
    if (!isfinite(l)) return rl_fail(RL_ERR_NONFINITE, "the loss is %g", l);
    *loss = l;
    ws->have_loss = 1;
    return RL_OK;
}

rl_status RL_T(rl_backward)(rl_ws *ws, const rl_model *m, const rl_batch *b)
{
    const rl_config *c = &m->cfg;
    const int B = ws->B, T = ws->T, NI = c->input_size, H = c->hidden_size, O = c->output_size,
              L = c->num_layers;
    const size_t BH = (size_t)B * H, TB = (size_t)T * B;
    RL_ASSERT(ws->dtype == RL_DTYPE && m->dtype == RL_DTYPE && b->batch == B && b->steps == T);
    const real *htop = (const real *)ws->h + (size_t)(L - 1) * (T + 1) * BH + BH;
    const real *dout = ws->dout;
    /* head: dW_o += sum_t dL/do_t h_t^T, db_o += sum_t dL/do_t */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, O, H, (int)TB, 1, dout, O, htop, H, 1,
         DP(ws, m, rl_t_head_w(m)), H);
    real *dbo = DP(ws, m, rl_t_head_b(m));
    for (size_t r = 0; r < TB; r++)
        for (int k = 0; k < O; k++) dbo[k] += dout[r * O + k];
    /* the output part of eq. 10.21 for the top layer: (do_t/dh_t)^T dL/do_t = W_o^T dL/do_t */
    real *dh = ws->dh_top;
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, H, O, 1, dout, O, P(m, rl_t_head_w(m)), H, 0, dh, H);

    real *spare[2] = {ws->dh, ws->dh_below};
    for (int l = L - 1; l >= 0; l--) {
        const real *h = (const real *)ws->h + (size_t)l * (T + 1) * BH;
        const real *in = l == 0 ? (const real *)ws->xt : (const real *)ws->h + (size_t)(l - 1) * (T + 1) * BH + BH;
        if (l > 0 && ws->dropout > 0) in = (const real *)ws->drop + (size_t)(l - 1) * T * BH;
        int in_size = l == 0 ? NI : H;
        real *dx = l > 0 ? spare[l % 2] : NULL; /* dL/dh of layer l-1, from this layer alone */
        real *dh0 = (real *)ws->grad_h0 + (size_t)l * BH;
        switch (c->cell) {
        case RL_CELL_TANH: case RL_CELL_RELU: case RL_CELL_LINEAR:
            RL_T(rnn_layer_backward)(dx, DP(ws, m, rl_t_wih(l)), DP(ws, m, rl_t_whh(l)), DP(ws, m, rl_t_bih(l)),
                                     DP(ws, m, rl_t_bhh(l)), dh0, dh, ws->da, h, in, P(m, rl_t_wih(l)),
                                     P(m, rl_t_whh(l)), c->cell, T, B, in_size, H);
            break;
        case RL_CELL_LSTM:
            RL_T(lstm_layer_backward)(dx, DP(ws, m, rl_t_wih(l)), DP(ws, m, rl_t_whh(l)), DP(ws, m, rl_t_bih(l)),
                                      DP(ws, m, rl_t_bhh(l)), dh0, (real *)ws->grad_c0 + (size_t)l * BH, dh, ws->da,
                                      ws->dc, h, (const real *)ws->c + (size_t)l * (T + 1) * BH,
                                      (const real *)ws->gates + (size_t)l * T * 4 * BH, in, P(m, rl_t_wih(l)),
                                      P(m, rl_t_whh(l)), T, B, in_size, H);
            break;
        case RL_CELL_GRU:
            RL_T(gru_layer_backward)(dx, DP(ws, m, rl_t_wih(l)), DP(ws, m, rl_t_whh(l)), DP(ws, m, rl_t_bih(l)),
                                     DP(ws, m, rl_t_bhh(l)), dh0, dh, ws->da, ws->da_h, h,
                                     (const real *)ws->gates + (size_t)l * T * 3 * BH,
                                     (const real *)ws->hn + (size_t)l * T * BH, in, P(m, rl_t_wih(l)),
                                     P(m, rl_t_whh(l)), T, B, in_size, H);
            break;
        default:
            RL_UNREACHABLE("unknown cell");
        }
        if (dx && ws->dropout > 0) { /* back through the dropout mask */
            const real *mask = (const real *)ws->dmask + (size_t)(l - 1) * T * BH;
            for (size_t i = 0; i < (size_t)T * BH; i++) dx[i] *= mask[i];
        }
        dh = dx;
    }
    return RL_OK;
}
