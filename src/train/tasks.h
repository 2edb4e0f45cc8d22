/* Private to the library: the tasks' text limits and loader (src/train/tasks.c). */
#ifndef RL_TASKS_H
#define RL_TASKS_H

#include "net/net.h"

/* The limits on a text (docs/security.md): characters, distinct ones (the
 * classes of a text model, within RL_MAX_SIZE), and bytes of a file. */
#define RL_TEXT_MIN_CHARS 1000
#define RL_TEXT_MAX_VOCAB 4096
#define RL_TEXT_MAX_BYTES ((size_t)1 << 31)
_Static_assert(RL_TEXT_MAX_VOCAB <= RL_MAX_SIZE, "a text model's classes must be a valid output size");
/* The text task from UTF-8 bytes in memory (rl_task_new's text loading). src/train/tasks.c */
rl_status rl_task_text_from_buffer(rl_task **out, int seq_len, const void *text, size_t len, const char *name);

struct rl_dataset;
struct rl_task {
    rl_task_info info;
    int32_t *ids;  /* text: the whole text as class ids */
    int64_t n;     /* its length */
    char *vocab;   /* UTF-8 */
    struct rl_dataset *ds; /* data, smnist, psmnist: the sequences (src/train/dataset.h), else NULL */
};
/* Whether a kind reads a user's data (data, smnist, psmnist): made by
 * rl_task_from_config (src/train/datatask.c), not rl_task_new. */
static inline int rl_task_reads_data(rl_task_kind k)
{
    return k == RL_TASK_DATA || k == RL_TASK_SMNIST || k == RL_TASK_PSMNIST;
}
/* Record in m the task c describes (rl_model_set_task), and for a run that
 * reads a file (text, data, smnist, psmnist) the file's path and the options
 * of its data that differ from their defaults, which rl_model_task_config
 * reads back. src/train/datatask.c */
rl_status rl_model_record_task(rl_model *m, const rl_train_config *c);
#endif
