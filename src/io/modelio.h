/* Private to the library: model and data files (src/io/modelio.c) on the
 * safetensors container (src/io/safetensors.h). */
#ifndef RL_MODELIO_H
#define RL_MODELIO_H

#include "io/safetensors.h"
#include "net/net.h"

/* What rnnlab writes it must read back: a model's tensors, and the optimizer
 * and trainer state a checkpoint adds (src/train/run.c: at most 12 more). */
_Static_assert(RL_MAX_TENSORS + 12 <= ST_MAX_TENSORS, "a checkpoint of the largest model must be readable");

/* What an rnnlab file is, from its tensor names and metadata: "a model",
 * "a training checkpoint", "a PyTorch state_dict without rnnlab's metadata",
 * "a Jacobian output (rnnlab jacobian)", "a gradient file (rnnlab grad)",
 * "a data file"; NULL when it is none of these. src/io/modelio.c */
const char *st_kind(const st_file *f);

/* A data file in an open file (rl_data_load_ex without the reading). */
rl_status rl_data_from_st(rl_data **out, const st_file *f, const rl_model *m, rl_dtype dtype, unsigned flags);
/* The model in an open file (checkpoints: tensors named optim.* and train.*
 * are passed over). src/io/modelio.c */
rl_status rl_model_from_st(rl_model **out, const st_file *f, rl_dtype dtype);
/* The model's metadata pairs (at most RL_MODEL_META of them, into meta; num:
 * scratch for the numbers) and its tensors as st_out views (m must be F32);
 * both return their count. */
#define RL_MODEL_META 14
int rl_model_meta(const rl_model *m, char num[6][16], const char **meta);
int rl_model_st_tensors(const rl_model *m, st_out *t);

/* The options of the task a model was trained on beyond its task and T
 * (rl_model_task): n pairs kv[2i] = a key of the option table, kv[2i+1] =
 * its value as the command line spells it (copied; n = 0 forgets them). The
 * model file holds them as metadata task_options, a JSON object of strings,
 * written only with a task. rl_model_task_options points kv (2 * max) into
 * the model and returns the count. src/io/modelio.c */
#define RL_TASK_OPTIONS 16
rl_status rl_model_set_task_options(rl_model *m, const char *const *kv, int n);
int rl_model_task_options(const rl_model *m, const char **kv, int max);

#endif
