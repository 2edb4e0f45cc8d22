/* BPTT against finite differences in float64, for every activation, 1 to 3
 * layers, lengths up to 50, several seeds, with and without masks and h0. */
#include "nets.h"

#include <math.h>
#include <string.h>

static void gradcheck_case(rl_cell cell, int layers, int steps, rl_loss loss, int mask, int h0, uint64_t seed)
{
    rl_config cfg = {.cell = cell, .input_size = 3, .hidden_size = 6, .num_layers = layers, .output_size = 4, .loss = loss};
    test_net net = TEST_NET(.cfg = cfg, .dtype = RL_F64, .init = &test_uniform, .seed = seed, .batch = 2, .steps = steps,
                            .mask = mask, .h0 = h0, .data_seed = seed + 100);
    double worst = 1;
    char where[64] = "";
    if (net.m) CHECK_OK(rl_gradcheck(net.m, net.b, &worst, where, sizeof where));
    CHECK_MSG(worst <= 1e-7, "%s L=%d T=%d %s mask=%d h0=%d seed=%llu: worst relative error %.3g in %s",
              rl_cell_name(cell), layers, steps, rl_loss_name(loss), mask, h0, (unsigned long long)seed, worst, where);
    test_net_free(&net);
}

static void sweep(rl_cell cell)
{
    const int steps[] = {1, 7, 50};
    int k = 0;
    for (int layers = 1; layers <= 3; layers++)
        for (int si = 0; si < 3; si++)
            for (uint64_t seed = 1; seed <= 2; seed++, k++)
                gradcheck_case(cell, layers, steps[si], k % 2 ? RL_LOSS_MSE : RL_LOSS_CE, k % 3 != 0, k % 4 != 1,
                               seed * 17 + (uint64_t)k);
}

/* every cell of the table: a new cell is checked by being a row */
TEST(gradcheck_every_cell)
{
    for (int c = 0; c < RL_CELL_COUNT; c++) sweep((rl_cell)c);
}

/* The check can fail: a gradient that is off shows up. Here the analytic
 * gradient is compared with the finite difference of another loss. */
TEST(gradcheck_detects_a_wrong_gradient)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 6, .num_layers = 2, .output_size = 4, .loss = RL_LOSS_MSE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &test_uniform, .seed = 5, .batch = 2, .steps = 9,
                            .mask = 1, .h0 = 1, .data_seed = 6, .ws = 1);
    if (!net.m) return;
    double loss, lp, lm;
    TEST_PASS(net.ws, net.m, net.b, &loss);
    /* a central difference on one W_hh entry agrees with BPTT ... */
    double *whh = test_view(net.m, "rnn.weight_hh_l0", 6, 6), *w = whh ? whh + 7 : NULL;
    if (!w) goto out;
    double g = ((double *)rl_ws_grad(net.ws))[w - (double *)rl_model_params(net.m)], w0 = *w, h = 1e-6;
    *w = w0 + h;
    CHECK_OK(rl_forward(net.ws, net.m, net.b, &lp));
    *w = w0 - h;
    CHECK_OK(rl_forward(net.ws, net.m, net.b, &lm));
    *w = w0;
    double n = (lp - lm) / (2 * h);
    CHECK_MSG(fabs(n - g) <= 1e-6 * fabs(g) + 1e-9, "fd %.12g bptt %.12g", n, g);
    /* ... and a gradient scaled by 1.001 does not */
    CHECK(fabs(n - 1.001 * g) > 1e-6 * fabs(g) + 1e-9);
out:
    test_net_free(&net);
}
