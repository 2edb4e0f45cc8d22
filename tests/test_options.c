/* The tables that name things: every enum's names (rl_names) and the
 * options of every command. */
#include "test.h"

#include <string.h>

TEST(names_every_enum_round_trips)
{
    const rl_names *tables[] = {&rl_cell_names,  &rl_loss_names,  &rl_dtype_names,   &rl_orth_names,
                                &rl_init_names,  &rl_input_names, &rl_state_names,   &rl_task_names,
                                &rl_optim_names, &rl_sched_names, &rl_readout_names, &rl_omega_form_names};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const rl_names *n = tables[t];
        CHECK_MSG(n->count >= 2 && n->what && *n->what, "table %zu", t);
        for (int i = 0; i < n->count; i++) {
            int v = -1;
            const char *name = rl_names_get(n, i);
            CHECK_MSG(name && rl_names_parse(n, name, &v) == RL_OK && v == i, "%s %d ('%s') -> %d", n->what, i,
                      name ? name : "(null)", v);
            for (int k = 0; k < i; k++) CHECK_MSG(strcmp(name, n->names[k]) != 0, "%s: '%s' twice", n->what, name);
        }
        CHECK(rl_names_get(n, -1) == NULL && rl_names_get(n, n->count) == NULL);
        int v = 7;
        CHECK(rl_names_parse(n, "no-such-name", &v) == RL_ERR_ARG && v == 7);
        CHECK_MSG(strstr(rl_errmsg(), "unknown ") && strstr(rl_errmsg(), n->what) && strstr(rl_errmsg(), n->names[0]),
                  "'%s'", rl_errmsg());
    }
    /* the pairs are the tables' */
    for (int i = 0; i < RL_CELL_COUNT; i++) CHECK(strcmp(rl_cell_name((rl_cell)i), rl_cell_names.names[i]) == 0);
    for (int i = 0; i < RL_TASK_COUNT; i++) CHECK(strcmp(rl_task_name((rl_task_kind)i), rl_task_names.names[i]) == 0);
    CHECK(rl_optim_name(RL_OPT_COUNT) == NULL && rl_cell_name(RL_CELL_COUNT) == NULL);
    rl_optim_kind k = RL_OPT_SGD;
    CHECK(rl_optim_parse("adamw", &k) == RL_OK && k == RL_OPT_ADAMW);
    CHECK(rl_optim_parse("adamx", &k) == RL_ERR_ARG && k == RL_OPT_ADAMW);
    CHECK(strcmp(rl_errmsg(), "unknown optimizer 'adamx' (choose from sgd, adagrad, rmsprop, adam, adamw)") == 0);
}
