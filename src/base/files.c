/* Opening inputs and checking outputs: see base/files.h. */
#include "base/files.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
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

/* The pid a lock file holds (0 if it holds none yet). */
static long lock_holder(int fd)
{
    for (int tries = 0; tries < 20; tries++) {
        char b[32] = {0};
        ssize_t got = pread(fd, b, sizeof b - 1, 0);
        char *end = NULL;
        long pid = got > 0 ? strtol(b, &end, 10) : 0;
        if (pid > 0 && end && *end == '\n') return pid;
        /* the holder writes its pid just after it takes the lock */
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

rl_status rl_folder_lock(const char *dir, const char *name, int *out)
{
    char path[4200];
    *out = -1;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return rl_fail(RL_ERR_ARG, "%s: the path is too long", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) return rl_fail(RL_ERR_IO, "%s: cannot open the folder's lock: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return rl_fail(RL_ERR_IO, "%s: the folder's lock is not a regular file", path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        long pid = err == EWOULDBLOCK ? lock_holder(fd) : 0;
        close(fd);
        if (err != EWOULDBLOCK) return rl_fail(RL_ERR_IO, "%s: cannot lock: %s", path, strerror(err));
        char who[64] = "another rnnlab process";
        if (pid > 0) snprintf(who, sizeof who, "another rnnlab process (pid %ld)", pid);
        return rl_fail(RL_ERR_IO, "%s is in use: %s is writing to it (it holds %s); wait for it to end, or use another "
                                  "folder", dir, who, name);
    }
    char b[32];
    int n = snprintf(b, sizeof b, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, b, (size_t)n, 0) != n) {
        int err = errno;
        close(fd);
        return rl_fail(RL_ERR_IO, "%s: cannot write the folder's lock: %s", path, strerror(err));
    }
    *out = fd;
    return RL_OK;
}
