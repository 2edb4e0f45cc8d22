/* The optimisers, clipping and the learning-rate schedules against
 * hand-computed values. */
#include "test.h"

#include <math.h>
#include <string.h>

static const double P0[6] = {1, -2, 0.5, 0, 3, -1}, G[6] = {0.1, -0.2, 0.3, 0, 1, -1};

/* Two updates of a 6-parameter model with the same gradient; p after them. */
static void two_steps(rl_optim_config oc, double lr, int steps, double *p)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = 1, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    rl_optim *o = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (!m) return;
    CHECK(rl_model_num_params(m) == 6);
    memcpy(rl_model_params(m), P0, sizeof P0);
    CHECK_OK(rl_optim_new(&o, m, &oc));
    for (int k = 0; o && k < steps; k++) CHECK_OK(rl_optim_step(o, m, G, lr));
    memcpy(p, rl_model_params(m), sizeof P0);
    rl_optim_free(o);
    rl_model_free(m);
}

static double sgn(double x) { return (x > 0) - (x < 0); }

TEST(optimizers_by_hand)
{
    double p[6], want[6];
    rl_optim_config sgd = rl_optim_defaults(RL_OPT_SGD);
    two_steps(sgd, 0.1, 1, p);
    double w1[6] = {0.99, -1.98, 0.47, 0, 2.9, -0.9};
    CHECK_CLOSE("sgd", p, RL_F64, w1, 6, 1e-14, 1e-15);
    sgd.momentum = 0.9; /* v2 = 1.9 g: p - 0.1 (g + 1.9 g) */
    two_steps(sgd, 0.1, 2, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.29 * G[i];
    CHECK_CLOSE("sgd momentum", p, RL_F64, want, 6, 1e-14, 1e-15);
    sgd.nesterov = 1; /* g + 0.9 v: 1.9 g, then 2.71 g */
    two_steps(sgd, 0.1, 2, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.461 * G[i];
    CHECK_CLOSE("sgd nesterov", p, RL_F64, want, 6, 1e-14, 1e-15);
    two_steps(rl_optim_defaults(RL_OPT_ADAGRAD), 0.1, 1, p); /* s = g^2: a step of lr sign(g) */
    double w2[6] = {0.9, -1.9, 0.4, 0, 2.9, -0.9};
    CHECK_CLOSE("adagrad", p, RL_F64, w2, 6, 1e-9, 1e-12);
    rl_optim_config rms = rl_optim_defaults(RL_OPT_RMSPROP);
    rms.alpha = 0.9; /* s = 0.1 g^2: a step of lr / sqrt(0.1) */
    two_steps(rms, 0.01, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.01 / sqrt(0.1) * sgn(G[i]);
    CHECK_CLOSE("rmsprop", p, RL_F64, want, 6, 1e-6, 1e-9);
    two_steps(rl_optim_defaults(RL_OPT_ADAM), 0.01, 1, p); /* bias-corrected: lr sign(g) */
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.01 * sgn(G[i]);
    CHECK_CLOSE("adam", p, RL_F64, want, 6, 1e-6, 1e-9);
    two_steps(rl_optim_defaults(RL_OPT_ADAM), 0.01, 2, p); /* the same gradient twice: 2 lr sign(g) */
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.02 * sgn(G[i]);
    CHECK_CLOSE("adam, 2 steps", p, RL_F64, want, 6, 1e-6, 1e-9);
    rl_optim_config adamw = rl_optim_defaults(RL_OPT_ADAMW);
    adamw.weight_decay = 0.1; /* decoupled: p (1 - lr wd) first */
    two_steps(adamw, 0.01, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] * (1 - 0.001) - 0.01 * sgn(G[i]);
    CHECK_CLOSE("adamw", p, RL_F64, want, 6, 1e-6, 1e-9);
    rl_optim_config sgdwd = rl_optim_defaults(RL_OPT_SGD);
    sgdwd.weight_decay = 0.5; /* L2: g + wd p */
    two_steps(sgdwd, 0.1, 1, p);
    for (int i = 0; i < 6; i++) want[i] = P0[i] - 0.1 * (G[i] + 0.5 * P0[i]);
    CHECK_CLOSE("sgd weight decay", p, RL_F64, want, 6, 1e-14, 1e-15);
    rl_optim_kind k;
    CHECK(rl_optim_parse("adamw", &k) == RL_OK && k == RL_OPT_ADAMW);
    CHECK(rl_optim_parse("lion", &k) == RL_ERR_ARG);
}

TEST(clipping_and_schedules)
{
    float g[2] = {3, 4};
    double norm = 0;
    CHECK_OK(rl_clip_grad_norm(g, 2, RL_F32, 1, &norm));
    CHECK(norm == 5 && fabsf(g[0] - 0.6f) < 1e-7f && fabsf(g[1] - 0.8f) < 1e-7f);
    CHECK_OK(rl_clip_grad_norm(g, 2, RL_F32, 10, &norm));
    CHECK(fabs(norm - 1) < 1e-7 && fabsf(g[0] - 0.6f) < 1e-7f); /* below the threshold: untouched */
    double big[2] = {3e200, 4e200};
    CHECK_OK(rl_clip_grad_norm(big, 2, RL_F64, 0, &norm)); /* measure only, no overflow */
    CHECK(fabs(norm / 5e200 - 1) < 1e-15 && big[0] == 3e200);
    float bad[2] = {1, NAN};
    CHECK(rl_clip_grad_norm(bad, 2, RL_F32, 1, &norm) == RL_ERR_NONFINITE && bad[0] == 1);
    float v[3] = {-5, 0.5, 7};
    rl_clip_grad_value(v, 3, RL_F32, 1);
    CHECK(v[0] == -1 && v[1] == 0.5f && v[2] == 1);
    rl_schedule st = {RL_SCHED_STEP, 1, 0, 10, 0.5, 0, 0}, co = {RL_SCHED_COSINE, 1, 0, 0, 0, 100, 0.1},
                wu = {RL_SCHED_CONSTANT, 2, 10, 0, 0, 0, 0};
    CHECK(rl_lr_at(&st, 9) == 1 && rl_lr_at(&st, 10) == 0.5 && rl_lr_at(&st, 25) == 0.25);
    CHECK(rl_lr_at(&co, 0) == 1 && fabs(rl_lr_at(&co, 50) - 0.55) < 1e-15 && fabs(rl_lr_at(&co, 100) - 0.1) < 1e-15);
    CHECK(fabs(rl_lr_at(&wu, 0) - 0.2) < 1e-15 && rl_lr_at(&wu, 9) == 2 && rl_lr_at(&wu, 500) == 2);
}
