/* A net for a test in one call (tests/nets.h). */
#include "nets.h"

#include <string.h>

const rl_init test_uniform = {.kind = RL_INIT_UNIFORM, .gain = 1, .modrelu_init = 0.5};

/* One part of a net: 1 when s is RL_OK, else a failed check at file:line. */
static int made(const char *file, int line, const char *what, rl_status s)
{
    if (s == RL_OK) return 1;
    test_fail_at(file, line, "%s -> %s: %s", what, rl_strerror(s), rl_errmsg());
    return 0;
}

/* The workspace and Jacobian tool of s for a net that has its model and
 * data; 0 when one fails. */
static int net_tools(const char *file, int line, test_net *n, const test_net_spec *s)
{
    if (s->ws && !made(file, line, "rl_ws_new", rl_ws_new(&n->ws, n->m, n->b->batch, n->b->steps))) return 0;
    return !s->jac || made(file, line, "rl_jac_new", rl_jac_new(&n->j, n->m, n->b, s->jac_seq));
}

/* The parts of test_net_at in turn; 0 at the first that fails. */
static int net_parts(const char *file, int line, test_net *n, const test_net_spec *s)
{
    if (!made(file, line, "rl_model_new", rl_model_new(&n->m, &s->cfg, s->dtype))) return 0;
    if (s->init && !made(file, line, "rl_model_init", rl_model_init(n->m, s->init, s->seed))) return 0;
    if (s->batch <= 0) return 1;
    if (!made(file, line, "rl_data_random",
              rl_data_random(&n->d, n->m, s->batch, s->steps, s->dtype, s->mask, s->h0, s->data_seed)))
        return 0;
    n->b = rl_data_batch(n->d);
    return net_tools(file, line, n, s);
}

void test_net_free(test_net *n)
{
    rl_jac_free(n->j);
    rl_ws_free(n->ws);
    rl_data_free(n->d);
    rl_model_free(n->m);
    st_close(&n->ref);
    memset(n, 0, sizeof *n);
}

test_net test_net_at(const char *file, int line, const test_net_spec *s)
{
    test_net n = {0};
    if (!net_parts(file, line, &n, s)) test_net_free(&n);
    return n;
}

test_net test_case_at(const char *file, int line, const char *name, const char *kind, const test_net_spec *s)
{
    char path[256];
    test_net n = {0};
    snprintf(path, sizeof path, "%s.model.safetensors", name);
    int ok = made(file, line, "rl_model_load", rl_model_load(&n.m, fixture(path), s->dtype));
    snprintf(path, sizeof path, "%s.data.safetensors", name);
    ok = ok && made(file, line, "rl_data_load", rl_data_load(&n.d, fixture(path), n.m, s->dtype));
    snprintf(path, sizeof path, "%s.%s.safetensors", name, kind);
    ok = made(file, line, "st_read", st_read(&n.ref, fixture(path))) && ok;
    if (ok) n.b = rl_data_batch(n.d);
    if (!ok || !net_tools(file, line, &n, s)) test_net_free(&n);
    return n;
}

int test_pass_at(const char *file, int line, rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss)
{
    rl_ws_zero_grad(ws);
    return made(file, line, "rl_forward", rl_forward(ws, m, b, loss)) &&
           made(file, line, "rl_backward", rl_backward(ws, m, b));
}

rl_train_config test_small_config(rl_task_kind task, rl_cell cell)
{
    rl_train_config c = rl_train_defaults();
    c.task = task, c.seq_len = task == RL_TASK_TEXT ? 25 : 20, c.cell = cell, c.hidden = 12, c.layers = 2;
    c.batch = 6, c.steps = 40, c.dropout = 0.25, c.log_every = 5, c.eval_every = 10, c.eval_batches = 2;
    c.flow_every = 10, c.ckpt_every = 10, c.seed = 9;
    if (task == RL_TASK_TEXT) c.k1 = 15;
    return c;
}

rl_trainer *test_run_at(const char *file, int line, rl_trainer *t)
{
    int intr = 0;
    if (t) made(file, line, "rl_trainer_run", rl_trainer_run(t, NULL, &intr, NULL, NULL));
    return t;
}

rl_trainer *test_train_at(const char *file, int line, const rl_train_config *c, const char *dir)
{
    rl_trainer *t = NULL;
    made(file, line, "rl_trainer_new", rl_trainer_new(&t, c, dir));
    return test_run_at(file, line, t);
}
