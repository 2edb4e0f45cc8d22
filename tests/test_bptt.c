/* The forward pass and BPTT on cases worked out by hand. */
#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* With every weight zero the outputs are the head bias, whatever the input:
 * the loss is the mask-weighted mean of -log softmax(b_o)[y]. */
TEST(loss_by_hand)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 3, .num_layers = 2, .output_size = 3, .loss = RL_LOSS_CE};
    rl_model *m = NULL;
    rl_ws *ws = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return;
    double *bo = test_view(m, "head.bias", 3, 0);
    if (bo) bo[0] = 0.5, bo[1] = -1, bo[2] = 2;
    double x[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, mask[4] = {1, 0, 0.5, 2};
    int32_t y[4] = {0, 1, 2, 1};
    rl_batch b = {RL_F64, 2, 2, 2, x, y, NULL, mask, NULL, NULL};
    CHECK_OK(rl_ws_new(&ws, m, 2, 2));
    double loss = 0, lse = log(exp(0.5) + exp(-1.0) + exp(2.0));
    CHECK_OK(rl_forward(ws, m, &b, &loss));
    double want = (1 * (lse - 0.5) + 0.5 * (lse - 2) + 2 * (lse + 1)) / 3.5;
    CHECK_MSG(fabs(loss - want) < 1e-14, "loss %.17g want %.17g", loss, want);
    /* mse, mean over outputs */
    rl_config c2 = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
    rl_model *m2 = NULL;
    rl_ws *ws2 = NULL;
    CHECK_OK(rl_model_new(&m2, &c2, RL_F64));
    if (m2) {
        double yt[2 * 2 * 2] = {1, 0, 0, 0, 0, 2, 0, 0};
        rl_batch b2 = {RL_F64, 2, 2, 2, x, NULL, yt, NULL, NULL, NULL};
        CHECK_OK(rl_ws_new(&ws2, m2, 2, 2));
        CHECK_OK(rl_forward(ws2, m2, &b2, &loss));
        CHECK_MSG(fabs(loss - (0.5 + 2.0) / 4) < 1e-15, "mse loss %.17g", loss);
    }
    rl_ws_free(ws2);
    rl_model_free(m2);
    rl_ws_free(ws);
    rl_model_free(m);
}

/* Backward accumulates; zero_grad clears. */
TEST(backward_accumulates)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 5, .num_layers = 2, .output_size = 4, .loss = RL_LOSS_CE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &test_uniform, .seed = 1, .batch = 3, .steps = 6,
                            .mask = 1, .h0 = 1, .data_seed = 2, .ws = 1);
    if (!net.m) return;
    size_t n = rl_model_num_params(net.m);
    double loss, *g1 = malloc(n * 8), h1[2 * 3 * 5];
    TEST_PASS(net.ws, net.m, net.b, &loss);
    memcpy(g1, rl_ws_grad(net.ws), n * 8);
    memcpy(h1, rl_ws_grad_h0(net.ws), sizeof h1);
    CHECK_OK(rl_forward(net.ws, net.m, net.b, &loss));
    CHECK_OK(rl_backward(net.ws, net.m, net.b));
    const double *g2 = rl_ws_grad(net.ws), *h2 = rl_ws_grad_h0(net.ws);
    /* BLAS may sum in another order the second time: equal to rounding */
    for (size_t i = 0; i < n; i++) CHECK(fabs(g2[i] - 2 * g1[i]) <= 1e-14 * fabs(g1[i]) + 1e-300);
    for (size_t i = 0; i < 30; i++) CHECK(fabs(h2[i] - 2 * h1[i]) <= 1e-14 * fabs(h1[i]) + 1e-300);
    rl_ws_zero_grad(net.ws);
    for (size_t i = 0; i < n; i++) CHECK(g2[i] == 0);
    free(g1);
    test_net_free(&net);
}

/* Eq. 10.21 in the cache: for a one-layer tanh net,
 *   dL/dh_0 = W_hh^T (diag(1 - h_1^2) dL/dh_1),
 * with dL/dh_1 the full gradient the workspace keeps for the top layer. */
TEST(eq_10_21_holds_in_the_cache)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 4, .num_layers = 1, .output_size = 3, .loss = RL_LOSS_MSE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 1.2},
                            .seed = 3, .batch = 1, .steps = 5, .h0 = 1, .data_seed = 4, .ws = 1);
    if (!net.m) return;
    double loss;
    TEST_PASS(net.ws, net.m, net.b, &loss);
    const double *w = test_view(net.m, "rnn.weight_hh_l0", 4, 4);
    if (!w) goto out;
    const double *h = rl_ws_hidden(net.ws, 0), *dh = rl_ws_grad_hidden(net.ws), *dh0 = rl_ws_grad_h0(net.ws);
    for (int j = 0; j < 4; j++) {
        double s = 0;
        for (int i = 0; i < 4; i++) s += w[i * 4 + j] * (1 - h[4 + i] * h[4 + i]) * dh[i];
        CHECK_MSG(fabs(s - dh0[j]) < 1e-14 * (1 + fabs(s)), "dL/dh0[%d] = %.17g, eq. 10.21 gives %.17g", j, dh0[j], s);
    }
out:
    test_net_free(&net);
}

/* float32 and float64 from the same source agree. */
TEST(f32_matches_f64)
{
    rl_cell cells[] = {RL_CELL_TANH, RL_CELL_RELU, RL_CELL_LINEAR};
    for (int ci = 0; ci < 3; ci++) {
        rl_config c = {.cell = cells[ci], .input_size = 4, .hidden_size = 16, .num_layers = 2, .output_size = 5, .loss = RL_LOSS_CE};
        test_net n64 = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &test_uniform, .seed = 7, .batch = 4, .steps = 20,
                                .mask = 1, .h0 = 1, .data_seed = 8, .ws = 1);
        rl_model *m32 = NULL;
        rl_data *d32 = NULL;
        rl_ws *w32 = NULL;
        if (n64.m) {
            CHECK_OK(rl_model_cast(&m32, n64.m, RL_F32));
            CHECK_OK(rl_data_random(&d32, n64.m, 4, 20, RL_F32, 1, 1, 8));
            if (m32) CHECK_OK(rl_ws_new(&w32, m32, 4, 20));
        }
        if (m32 && d32 && w32) {
            double l64, l32;
            TEST_PASS(n64.ws, n64.m, n64.b, &l64);
            TEST_PASS(w32, m32, rl_data_batch(d32), &l32);
            CHECK_MSG(fabs(l32 - l64) < 1e-5 * fabs(l64), "%s: loss f32 %.9g f64 %.9g", rl_cell_name(cells[ci]), l32, l64);
            const double *g64 = rl_ws_grad(n64.ws);
            double mx = 0;
            for (size_t i = 0; i < rl_model_num_params(n64.m); i++) mx = fmax(mx, fabs(g64[i]));
            CHECK_CLOSE(rl_cell_name(cells[ci]), rl_ws_grad(w32), RL_F32, g64, rl_model_num_params(n64.m), 1e-3, 1e-5 * mx);
        }
        rl_ws_free(w32);
        rl_data_free(d32);
        rl_model_free(m32);
        test_net_free(&n64);
    }
}

/* A mismatched batch is an error, not a crash. */
TEST(batch_mismatch_is_an_error)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
    rl_model *m = NULL, *m32 = NULL;
    rl_ws *ws = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    CHECK_OK(rl_model_new(&m32, &c, RL_F32));
    if (!m || !m32) goto out;
    CHECK_OK(rl_ws_new(&ws, m, 2, 3));
    double x[12] = {0}, y[12] = {0}, loss;
    rl_batch b = {RL_F64, 2, 4, 2, x, NULL, y, NULL, NULL, NULL};
    CHECK(rl_forward(ws, m, &b, &loss) == RL_ERR_ARG); /* T = 4 against a T = 3 workspace */
    b.steps = 3;
    b.input_size = 3;
    CHECK(rl_forward(ws, m, &b, &loss) == RL_ERR_ARG);
    b.input_size = 2;
    b.y = NULL;
    CHECK(rl_forward(ws, m, &b, &loss) == RL_ERR_ARG);
    b.y = y;
    b.dtype = RL_F32;
    CHECK(rl_forward(ws, m, &b, &loss) == RL_ERR_ARG);
    b.dtype = RL_F64;
    CHECK(rl_forward(ws, m32, &b, &loss) == RL_ERR_ARG); /* another model's workspace */
    CHECK_OK(rl_forward(ws, m, &b, &loss));
    rl_ws *w0 = NULL;
    CHECK(rl_ws_new(&w0, m, 0, 3) == RL_ERR_ARG && w0 == NULL);
out:
    rl_ws_free(ws);
    rl_model_free(m);
    rl_model_free(m32);
}
