/* Opening inputs and checking outputs: see base/files.h. */
#include "base/files.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *rl_file_kind(unsigned mode)
{
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

rl_status rl_fopen_input(const char *path, FILE **out, int *regular)
{
    *out = NULL;
    *regular = 0;
    /* O_NONBLOCK: the open of a FIFO without a writer returns at once */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return rl_fail(RL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return rl_fail(RL_ERR_IO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return rl_fail(RL_ERR_IO, "%s: is a directory (a folder), not a file", path);
    }
    int pending = -1; /* a byte taken from a FIFO to see whether it has a writer */
    for (int waited = 0; S_ISFIFO(sb.st_mode); waited += 10) {
        /* data waiting: a writer has been there. Else a read tells: 0 is
         * the end (no process has it open for writing, or not yet: a
         * writer started beside this process is given RL_FIFO_WAIT_MS to
         * open it), EAGAIN a writer that has not written yet. */
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) break;
        unsigned char c;
        ssize_t got = read(fd, &c, 1);
        if (got == 1) pending = c;
        if (got == 1 || (got < 0 && errno == EAGAIN)) break;
        if (got < 0 && errno != EINTR) {
            int err = errno;
            close(fd);
            return rl_fail(RL_ERR_IO, "%s: read error: %s", path, strerror(err));
        }
        if (waited >= RL_FIFO_WAIT_MS) {
            close(fd);
            return rl_fail(RL_ERR_IO, "%s: a FIFO that no process is writing to: nothing to read (it would be waited "
                                      "on forever)", path);
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int err = errno;
        close(fd);
        return rl_fail(RL_ERR_IO, "%s: cannot open: %s", path, strerror(err));
    }
    if (pending >= 0) ungetc(pending, f);
    *out = f;
    *regular = S_ISREG(sb.st_mode);
    return RL_OK;
}

rl_status rl_check_output(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode)) return RL_OK; /* a path that cannot be stat'ed fails when written */
    return rl_fail(RL_ERR_IO, "%s: cannot write: it is %s, not a regular file (rnnlab writes regular files, and would "
                              "replace it)", path, rl_file_kind(sb.st_mode));
}

