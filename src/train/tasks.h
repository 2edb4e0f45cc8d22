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
#endif
