/* The names of the library's enums, one table each (rl_names): files and the
 * command line spell a value by its name, and rl_X_name and rl_X_parse are
 * rl_names_get and rl_names_parse on the table. The cells' names are their
 * table's (src/cells/cell.c). */
#include "base/internal.h"

#include <string.h>

const char *rl_names_get(const rl_names *n, int i) { return i >= 0 && i < n->count ? n->names[i] : NULL; }

rl_status rl_names_parse(const rl_names *n, const char *name, int *out)
{
    for (int i = 0; i < n->count; i++)
        if (name && n->names[i] && strcmp(name, n->names[i]) == 0) {
            *out = i;
            return RL_OK;
        }
    char list[256] = "";
    for (int i = 0; i < n->count; i++) {
        strncat(list, n->names[i] ? n->names[i] : "?", sizeof list - strlen(list) - 1);
        if (i + 1 < n->count) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return rl_fail(RL_ERR_ARG, "unknown %s '%s' (choose from %s)", n->what, name ? name : "", list);
}

/* ------------------------------------------------------------------ the tables */
static const char *const loss_[RL_LOSS_COUNT] = {"cross_entropy", "mse"};
const rl_names rl_loss_names = {"loss", RL_LOSS_COUNT, loss_};
static const char *const dtype_[2] = {"f32", "f64"};
const rl_names rl_dtype_names = {"precision", 2, dtype_};
static const char *const orth_[RL_ORTH_COUNT] = {"none", "exp", "cayley"};
const rl_names rl_orth_names = {"orthogonal map", RL_ORTH_COUNT, orth_};
static const char *const init_[RL_INIT_COUNT] = {"uniform", "gaussian", "orthogonal", "identity", "symmetric", "chrono", "henaff"};
const rl_names rl_init_names = {"init", RL_INIT_COUNT, init_};
static const char *const input_[3] = {"data", "zeros", "noise"};
const rl_names rl_input_names = {"input", 3, input_};
static const char *const state_[3] = {"data", "zeros", "random"};
const rl_names rl_state_names = {"initial state", 3, state_};
/* model files record the task they were trained on (io/), the trainer makes them (train/) */
static const char *const task_[RL_TASK_COUNT] = {"adding", "adding-hs97", "copy", "temporal-order", "text", "mackey-glass", "narma10",
                                                  "data", "smnist", "psmnist"};
const rl_names rl_task_names = {"task", RL_TASK_COUNT, task_};
static const char *const optim_[RL_OPT_COUNT] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
const rl_names rl_optim_names = {"optimizer", RL_OPT_COUNT, optim_};
static const char *const sched_[RL_SCHED_COUNT] = {"constant", "step", "cosine"};
const rl_names rl_sched_names = {"schedule", RL_SCHED_COUNT, sched_};
static const char *const readout_[RL_READOUT_COUNT] = {"bptt", "ridge"};
const rl_names rl_readout_names = {"readout", RL_READOUT_COUNT, readout_};
static const char *const omega_form_[RL_OMEGA_FORM_COUNT] = {"norm", "squared"};
const rl_names rl_omega_form_names = {"Omega form", RL_OMEGA_FORM_COUNT, omega_form_};
static const char *const act_[RL_ACT_COUNT] = {"default", "linear", "relu", "tanh", "gelu"};
const rl_names rl_act_names = {"activation", RL_ACT_COUNT, act_};

/* ------------------------------------------------------------------ each enum's pair */

/* The pairs write an enum through an int pointer. */
_Static_assert(sizeof(rl_loss) == sizeof(int) && sizeof(rl_dtype) == sizeof(int) && sizeof(rl_orth) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_init_kind) == sizeof(int) && sizeof(rl_input_kind) == sizeof(int) && sizeof(rl_state_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_task_kind) == sizeof(int) && sizeof(rl_optim_kind) == sizeof(int) && sizeof(rl_sched_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(rl_readout) == sizeof(int) && sizeof(rl_omega_form) == sizeof(int) && sizeof(rl_act) == sizeof(int), "enum size");

const char *rl_loss_name(rl_loss v) { return rl_names_get(&rl_loss_names, (int)v); }
rl_status rl_loss_parse(const char *name, rl_loss *out) { return rl_names_parse(&rl_loss_names, name, (int *)out); }
const char *rl_dtype_name(rl_dtype v) { return rl_names_get(&rl_dtype_names, (int)v); }
rl_status rl_dtype_parse(const char *name, rl_dtype *out) { return rl_names_parse(&rl_dtype_names, name, (int *)out); }
const char *rl_orth_name(rl_orth v) { return rl_names_get(&rl_orth_names, (int)v); }
rl_status rl_orth_parse(const char *name, rl_orth *out) { return rl_names_parse(&rl_orth_names, name, (int *)out); }
const char *rl_init_name(rl_init_kind v) { return rl_names_get(&rl_init_names, (int)v); }
rl_status rl_init_parse(const char *name, rl_init_kind *out) { return rl_names_parse(&rl_init_names, name, (int *)out); }
const char *rl_input_name(rl_input_kind v) { return rl_names_get(&rl_input_names, (int)v); }
rl_status rl_input_parse(const char *name, rl_input_kind *out) { return rl_names_parse(&rl_input_names, name, (int *)out); }
const char *rl_state_name(rl_state_kind v) { return rl_names_get(&rl_state_names, (int)v); }
rl_status rl_state_parse(const char *name, rl_state_kind *out) { return rl_names_parse(&rl_state_names, name, (int *)out); }
const char *rl_task_name(rl_task_kind v) { return rl_names_get(&rl_task_names, (int)v); }
rl_status rl_task_parse(const char *name, rl_task_kind *out) { return rl_names_parse(&rl_task_names, name, (int *)out); }
const char *rl_optim_name(rl_optim_kind v) { return rl_names_get(&rl_optim_names, (int)v); }
rl_status rl_optim_parse(const char *name, rl_optim_kind *out) { return rl_names_parse(&rl_optim_names, name, (int *)out); }
const char *rl_sched_name(rl_sched_kind v) { return rl_names_get(&rl_sched_names, (int)v); }
rl_status rl_sched_parse(const char *name, rl_sched_kind *out) { return rl_names_parse(&rl_sched_names, name, (int *)out); }
const char *rl_readout_name(rl_readout v) { return rl_names_get(&rl_readout_names, (int)v); }
rl_status rl_readout_parse(const char *name, rl_readout *out) { return rl_names_parse(&rl_readout_names, name, (int *)out); }
const char *rl_omega_form_name(rl_omega_form v) { return rl_names_get(&rl_omega_form_names, (int)v); }
rl_status rl_omega_form_parse(const char *name, rl_omega_form *out) { return rl_names_parse(&rl_omega_form_names, name, (int *)out); }
const char *rl_act_name(rl_act v) { return rl_names_get(&rl_act_names, (int)v); }
rl_status rl_act_parse(const char *name, rl_act *out) { return rl_names_parse(&rl_act_names, name, (int *)out); }
