/* The modReLU cell at its edges: h = sign(a) relu(|a| + b) is 0 where a = 0
 * and where |a| + b = 0 exactly, and both derivatives are 0 there, as
 * torch.sign, torch.abs and torch.relu have them (sign(0) = 0, relu'(0) =
 * 0); the gradients of b and of the pre-activation read off h alone. (Its
 * gradients against PyTorch and finite differences: tests/test_fixtures.c,
 * tests/test_gradcheck.c; its init: tests/test_cures.c.) */
#include "nets.h"

#include <math.h>
#include <stdlib.h>

enum { EH = 6, EI = 2, EB = 3, ET = 5 };

/* Units 0-3 get W_ih and W_hh rows of 0, so that a = b_ih + b_hh at every
 * step, with b: unit 0 a = 0 (b = 0.25), unit 1 |a| + b = 0 (a = 0.375, b =
 * -0.375), unit 2 a = -0.75 and b = 0.25 (h = -1), unit 3 a = 0.5 and b =
 * -0.75 (off); units 4 and 5 keep their random weights. */
static const double edge_bih[4] = {0.5, 0.25, -0.5, 0.25}, edge_bhh[4] = {-0.5, 0.125, -0.25, 0.25},
                    edge_b[4] = {0.25, -0.375, 0.25, -0.75}, edge_h[4] = {0, 0, -1, 0};

static rl_model *edge_model(void)
{
    rl_config c = {.cell = RL_CELL_MODRELU, .input_size = EI, .hidden_size = EH, .num_layers = 1, .output_size = 2,
                   .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1, .modrelu_init = 0.5};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, 3));
    double *wih = m ? test_view(m, "rnn.weight_ih_l0", EH, EI) : NULL, *whh = m ? test_view(m, "rnn.weight_hh_l0", EH, EH) : NULL,
           *bih = m ? test_view(m, "rnn.bias_ih_l0", EH, 0) : NULL, *bhh = m ? test_view(m, "rnn.bias_hh_l0", EH, 0) : NULL,
           *b = m ? test_view(m, "rnn.modrelu_bias_l0", EH, 0) : NULL;
    if (!wih || !whh || !bih || !bhh || !b) {
        rl_model_free(m);
        return NULL;
    }
    for (int j = 0; j < 4; j++) {
        for (int i = 0; i < EI; i++) wih[j * EI + i] = 0;
        for (int i = 0; i < EH; i++) whh[j * EH + i] = 0;
        bih[j] = edge_bih[j], bhh[j] = edge_bhh[j], b[j] = edge_b[j];
    }
    return m;
}

static double value(const void *p, rl_dtype dt, size_t i)
{
    return dt == RL_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Tensor name's gradient, element j, in the workspace's dtype. */
static double grad_of(rl_ws *ws, const rl_model *m, rl_dtype dt, const char *name, size_t j)
{
    const rl_tensor_info *t = rl_model_tensor(m, rl_model_find_tensor(m, name));
    return value(rl_ws_grad(ws), dt, t->offset + j);
}

TEST(modrelu_unit_at_its_edges)
{
    rl_model *m64 = edge_model();
    for (int k = 0; m64 && k < 2; k++) {
        const rl_dtype dt = k ? RL_F32 : RL_F64;
        const double tol = k ? 1e-5 : 1e-13;
        rl_model *m = NULL;
        rl_data *d = NULL;
        rl_ws *ws = NULL;
        double loss = NAN;
        CHECK_OK(rl_model_cast(&m, m64, dt));
        if (m) CHECK_OK(rl_data_random(&d, m, EB, ET, dt, 1, 1, 5));
        if (d) CHECK_OK(rl_ws_new(&ws, m, EB, ET));
        if (!ws || !TEST_PASS(ws, m, rl_data_batch(d), &loss)) goto next;
        const void *h = rl_ws_hidden(ws, 0), *dh = rl_ws_grad_hidden(ws);
        /* the forward: exactly 0 at both edges, a + sign(a) b where on */
        for (size_t r = (size_t)EB; r < (size_t)(ET + 1) * EB; r++)
            for (int j = 0; j < 4; j++)
                CHECK_MSG(value(h, dt, r * EH + j) == edge_h[j], "%s: h[%zu][%d] = %g, want %g", rl_dtype_name(dt), r, j,
                          value(h, dt, r * EH + j), edge_h[j]);
        /* the backward: dL/db_ih = dL/db_hh = sum [h != 0] dL/dh and dL/db = sum sign(h) dL/dh, unit by unit */
        int some_off = 0, some_on = 0;
        for (int j = 0; j < EH; j++) {
            double da = 0, db = 0;
            for (size_t r = 0; r < (size_t)ET * EB; r++) {
                double v = value(h, dt, (r + EB) * EH + j), g = value(dh, dt, r * EH + j);
                da += v != 0 ? g : 0;
                db += v > 0 ? g : v < 0 ? -g : 0;
                some_off |= v == 0 && g != 0, some_on |= v != 0 && g != 0;
            }
            const double gi = grad_of(ws, m, dt, "rnn.bias_ih_l0", (size_t)j), gh = grad_of(ws, m, dt, "rnn.bias_hh_l0", (size_t)j),
                         gb = grad_of(ws, m, dt, "rnn.modrelu_bias_l0", (size_t)j);
            CHECK_MSG(fabs(gi - da) <= tol * (fabs(da) + 1e-3) && gh == gi, "%s unit %d: dL/db_ih %.17g dL/db_hh %.17g, want %.17g",
                      rl_dtype_name(dt), j, gi, gh, da);
            CHECK_MSG(fabs(gb - db) <= tol * (fabs(db) + 1e-3), "%s unit %d: dL/db %.17g, want %.17g", rl_dtype_name(dt), j,
                      gb, db);
            /* the units at the edges and off pass nothing back, and b gets nothing from them */
            if (j < 4 && edge_h[j] == 0) CHECK_MSG(gi == 0 && gb == 0, "%s unit %d: %g %g", rl_dtype_name(dt), j, gi, gb);
            if (j == 2) CHECK_MSG(gb == -gi && gi != 0, "%s unit 2 (h < 0): dL/db %g, dL/db_ih %g", rl_dtype_name(dt), gb, gi);
        }
        CHECK(some_off && some_on); /* the sums above met both cases */
        /* a NaN in the pre-activation stays NaN, as torch has it (a relu would hide it): the pass says so */
        rl_model *mn = NULL;
        CHECK_OK(rl_model_cast(&mn, m, dt));
        if (mn) {
            const rl_tensor_info *t = rl_model_tensor(mn, rl_model_find_tensor(mn, "rnn.bias_ih_l0"));
            if (dt == RL_F64) ((double *)rl_model_params(mn))[t->offset + 4] = NAN;
            else ((float *)rl_model_params(mn))[t->offset + 4] = NAN;
            CHECK_FAILS(rl_forward(ws, mn, rl_data_batch(d), &loss), "the loss is nan");
        }
        rl_model_free(mn);
    next:
        rl_ws_free(ws);
        rl_data_free(d);
        rl_model_free(m);
    }
    rl_model_free(m64);
}
