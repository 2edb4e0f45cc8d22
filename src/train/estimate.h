/* Private to the library: the memory of a training run (src/train/estimate.c). */
#ifndef RL_ESTIMATE_H
#define RL_ESTIMATE_H

#include "rnnlab.h"

/* e->bytes, ws_bytes and params of the run c on a task of this shape (the
 * time fields are left as they are). */
void rl_train_memory(const rl_train_config *c, const rl_task_info *in, rl_train_cost *e);

/* c->freeze against model m: the indices of the tensors its names match
 * (whole names, or prefixes ending in '*'; spaces around a name ignored)
 * into idx (RL_MAX_TENSORS) and their count into *n. RL_ERR_ARG for a name
 * that matches no trained tensor (listing them), an empty name, nothing
 * left to train, or a ridge readout. NULL freeze: *n = 0. */
rl_status rl_train_freeze(const rl_model *m, const rl_train_config *c, int *idx, int *n);

#endif
