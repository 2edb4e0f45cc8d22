/* Private to the library: the memory of a training run (src/train/estimate.c). */
#ifndef RL_ESTIMATE_H
#define RL_ESTIMATE_H

#include "rnnlab.h"

/* e->bytes, ws_bytes and params of the run c on a task of this shape (the
 * time fields are left as they are). */
void rl_train_memory(const rl_train_config *c, const rl_task_info *in, rl_train_cost *e);

#endif
