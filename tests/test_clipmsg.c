/* The BPTT message clip (rl_ws_set_clip_message, train --clip-message):
 * each step's dL/da_t clamped before it reaches the weights and h_{t-1}. */
#include "test.h"

#include <math.h>
#include <string.h>

enum { I = 2, H = 3, T = 5 };

static double clampd(double v, double c) { return v > c ? c : v < -c ? -c : v; }

/* The gradient of a model's tensor, from the gradient buffer that parallels
 * the parameters. */
static const double *grad_of(rl_model *m, rl_ws *ws, const char *name, int64_t rows, int64_t cols)
{
    const double *p = test_view(m, name, rows, cols);
    return p ? (const double *)rl_ws_grad(ws) + (p - (const double *)rl_model_params(m)) : NULL;
}

/* A one-layer tanh RNN (one sequence, MSE on one output at every step) by
 * hand: a_t = W x_t + b + U h_{t-1} + b', h_t = tanh(a_t), o_t = v h_t + c,
 * L = (1/T) sum_t (o_t - y_t)^2; backward with dL/da_t clamped to [-clip, clip]
 * (clip 0: none). Writes dW (H, I), dU (H, H), db (H). */
static void by_hand(const double *W, const double *U, const double *b, const double *b2, const double *v, double c0,
                    const double *x, const double *y, double clip, double *dW, double *dU, double *db)
{
    double h[T + 1][H] = {{0}}, g[H] = {0};
    for (int t = 1; t <= T; t++)
        for (int i = 0; i < H; i++) {
            double a = b[i] + b2[i];
            for (int k = 0; k < I; k++) a += W[i * I + k] * x[(t - 1) * I + k];
            for (int k = 0; k < H; k++) a += U[i * H + k] * h[t - 1][k];
            h[t][i] = tanh(a);
        }
    memset(dW, 0, sizeof(double) * H * I), memset(dU, 0, sizeof(double) * H * H), memset(db, 0, sizeof(double) * H);
    for (int t = T; t >= 1; t--) {
        double o = c0, da[H];
        for (int i = 0; i < H; i++) o += v[i] * h[t][i];
        const double dout = 2 * (o - y[t - 1]) / T;
        for (int i = 0; i < H; i++) {
            da[i] = (v[i] * dout + g[i]) * (1 - h[t][i] * h[t][i]);
            if (clip > 0) da[i] = clampd(da[i], clip);
        }
        for (int i = 0; i < H; i++) {
            db[i] += da[i];
            for (int k = 0; k < I; k++) dW[i * I + k] += da[i] * x[(t - 1) * I + k];
            for (int k = 0; k < H; k++) dU[i * H + k] += da[i] * h[t - 1][k];
        }
        for (int k = 0; k < H; k++) {
            g[k] = 0;
            for (int i = 0; i < H; i++) g[k] += U[i * H + k] * da[i];
        }
    }
}

/* rnnlab's gradient with the clip at 0 (off), at a value that clamps some
 * steps' messages and at one too large to act, against the loop above. */
TEST(clip_message_clamps_each_step_gradient)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = I, .hidden_size = H, .num_layers = 1, .output_size = 1,
                   .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return;
    CHECK_OK(rl_model_init(m, &init, 11));
    CHECK_OK(rl_ws_new(&ws, m, 1, T));
    double *W = test_view(m, "rnn.weight_ih_l0", H, I), *U = test_view(m, "rnn.weight_hh_l0", H, H);
    double *b = test_view(m, "rnn.bias_ih_l0", H, 0), *b2 = test_view(m, "rnn.bias_hh_l0", H, 0);
    double *v = test_view(m, "head.weight", 1, H), *c0 = test_view(m, "head.bias", 1, 0);
    if (!ws || !W || !U || !b || !b2 || !v || !c0) goto out;
    for (int k = 0; k < H * H; k++) U[k] *= 3; /* messages that grow back in time */
    double x[T * I] = {1, -0.5, 0.3, 2, -1, 0.7, 0.2, -0.4, 1.5, 0.1}, y[T] = {3, -2, 4, -3, 5};
    rl_batch bt = {RL_F64, 1, T, I, x, NULL, y, NULL, NULL, NULL};
    const double clips[] = {0, 0.05, 1e6};
    int clamped = 0;
    for (int k = 0; k < 3; k++) {
        double dW[H * I], dU[H * H], db[H], dW0[H * I], dU0[H * H], db0[H], loss;
        by_hand(W, U, b, b2, v, *c0, x, y, clips[k], dW, dU, db);
        by_hand(W, U, b, b2, v, *c0, x, y, 0, dW0, dU0, db0);
        CHECK_OK(rl_ws_set_clip_message(ws, clips[k]));
        rl_ws_zero_grad(ws);
        CHECK_OK(rl_forward(ws, m, &bt, &loss));
        CHECK_OK(rl_backward(ws, m, &bt));
        const double *gW = grad_of(m, ws, "rnn.weight_ih_l0", H, I), *gU = grad_of(m, ws, "rnn.weight_hh_l0", H, H);
        const double *gb = grad_of(m, ws, "rnn.bias_ih_l0", H, 0), *gb2 = grad_of(m, ws, "rnn.bias_hh_l0", H, 0);
        double err = 0, moved = 0;
        for (int i = 0; i < H * I; i++) err = fmax(err, fabs(gW[i] - dW[i])), moved = fmax(moved, fabs(dW[i] - dW0[i]));
        for (int i = 0; i < H * H; i++) err = fmax(err, fabs(gU[i] - dU[i])), moved = fmax(moved, fabs(dU[i] - dU0[i]));
        for (int i = 0; i < H; i++) err = fmax(err, fmax(fabs(gb[i] - db[i]), fabs(gb2[i] - db[i])));
        CHECK_MSG(err < 1e-12, "clip %g: max |rnnlab - by hand| %.3g", clips[k], err);
        if (clips[k] == 0.05) clamped = moved > 1e-3;
        if (clips[k] == 1e6) CHECK_MSG(moved == 0, "a clip of 1e6 changed the gradient by %.3g", moved);
    }
    CHECK_MSG(clamped, "the clip of 0.05 did not act: the case tests nothing");
    /* both sides of the limit */
    CHECK(rl_ws_set_clip_message(ws, -1e-300) == RL_ERR_ARG);
    CHECK(rl_ws_set_clip_message(ws, INFINITY) == RL_ERR_ARG);
    CHECK(rl_ws_set_clip_message(ws, NAN) == RL_ERR_ARG);
    CHECK_OK(rl_ws_set_clip_message(ws, 0));
out:
    rl_ws_free(ws);
    rl_model_free(m);
}

/* The clip is the same whether the batch runs whole or in blocks
 * (--block-sum, MPI): a block's dL/dz is on its own scale S / S_k, and so is
 * its clip. One SGD step (lr 1) of an LSTM and a GRU (dz and dzh apart) on a
 * batch of 40 (blocks of 16, 16, 8: unequal S_k) from the same init and
 * data, with the clip whole and in blocks, and without it: W_hh after the
 * step is W_hh - dL/dW_hh. */
TEST(clip_message_same_in_blocks)
{
    const char *cells[] = {"lstm", "gru"}, *clip[] = {"1e-6", "1e-6", "0"};
    for (int ci = 0; ci < 2; ci++) {
        rl_model *m[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3; k++) {
            char dir[1024], path[1100];
            snprintf(dir, sizeof dir, "%s/clipmsg-%s-%d", test_tmpdir, cells[ci], k);
            const char *argv[] = {"rnnlab", "train", "--task", "copy", "--seq-len", "12", "--cell", cells[ci], "--hidden", "8",
                                  "--batch", "40", "--steps", "1", "--optim", "sgd", "--lr", "1", "--clip", "0",
                                  "--clip-message", clip[k], "--eval-every", "0", "--flow-every", "0", "--ckpt-every", "0",
                                  "--seed", "4", "--out", dir, "--quiet", k == 1 ? "--block-sum" : NULL, NULL};
            int rc = run_cli(argv, NULL, NULL, 0, NULL, 0);
            CHECK_MSG(rc == 0, "%s, run %d: status %d", cells[ci], k, rc);
            snprintf(path, sizeof path, "%s/model.safetensors", dir);
            CHECK_OK(rl_model_load(&m[k], path, RL_F32));
        }
        const int64_t G = ci ? 3 : 4, shape[2] = {G * 8, 8};
        const float *w[3];
        for (int k = 0; k < 3; k++) w[k] = m[k] ? rl_model_view_const(m[k], "rnn.weight_hh_l0", 2, shape) : NULL;
        if (w[0] && w[1] && w[2]) {
            double apart = 0, off = 0;
            for (int i = 0; i < G * 64; i++)
                apart = fmax(apart, fabs((double)w[0][i] - w[1][i])), off = fmax(off, fabs((double)w[0][i] - w[2][i]));
            CHECK_MSG(apart < 1e-6, "%s: W_hh after the step, whole against blocks: %.3g apart", cells[ci], apart);
            CHECK_MSG(off > 1e-3, "%s: the clip did not act (W_hh %.3g from the unclipped step)", cells[ci], off);
        }
        for (int k = 0; k < 3; k++) rl_model_free(m[k]);
    }
}
