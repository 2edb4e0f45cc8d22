/* Private to the library: how it opens the files it reads and checks the
 * paths it writes (src/base/files.c), so that no read waits forever and no
 * write replaces something that is not a regular file. */
#ifndef RL_FILES_H
#define RL_FILES_H

#include "base/internal.h"

/* Open path to read it whole, without ever blocking in the open itself: a
 * folder is refused, and so is a FIFO that no process has open for writing
 * within RL_FIFO_WAIT_MS (its open or its first read would wait forever;
 * a writer started beside this process has that long to open it); a
 * regular file, a device,
 * a socket, or a FIFO with a writer is returned, blocking from then on, and
 * *regular says whether it is a regular file. RL_ERR_IO with a message that
 * names path on failure. "-" is not special here. */
#define RL_FIFO_WAIT_MS 3000
rl_status rl_fopen_input(const char *path, FILE **out, int *regular);

/* May path be written, that is replaced by a regular file (the writers
 * write a temporary file and rename it over path)? Yes when nothing is
 * there, or a regular file (or a symbolic link to one: the link is what is
 * replaced). RL_ERR_IO saying what it is otherwise (a folder, a FIFO, a
 * device, a socket), so that an output named /dev/null is never replaced. */
rl_status rl_check_output(const char *path);

/* "a folder", "a FIFO", "a character device", ... for a st_mode. */
const char *rl_file_kind(unsigned mode);

#endif
