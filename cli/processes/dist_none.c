/* The plain build's processes: one. Started by an MPI launcher as one of
 * several, it hands over to rnnlab-mpi, the MPI build in its own folder
 * (cli/processes/dist.h), so that `mpirun -np N rnnlab train ...` works while rnnlab
 * alone loads no MPI library and starts as fast as ever. */
#include "cli.h"
#include "processes/dist.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_dist_init(int *argc, char ***argv)
{
    (void)argc;
    char var[96];
    int size = cli_dist_launched(var, sizeof var);
    if (size == 0 || size == 1) return 0; /* one process: nothing to share */
    char self[PATH_MAX], mpi[PATH_MAX + 16];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0) {
        fprintf(stderr, "rnnlab: started by an MPI launcher (%s) but cannot find its own folder: %s\n", var, strerror(errno));
        return 1;
    }
    self[k] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(mpi, sizeof mpi, "%s/rnnlab-mpi", self);
    execv(mpi, *argv);
    fprintf(stderr,
            "rnnlab: started by an MPI launcher (%s), but %s, the build with MPI, cannot run: %s (build it with make; it needs "
            "Debian's libopenmpi-dev), or set RNNLAB_NO_MPI=1 to run each process alone\n",
            var, mpi, strerror(errno));
    return 1;
}

void cli_dist_finalize(void) {}
int cli_dist_rank(void) { return 0; }
int cli_dist_size(void) { return 1; }
int cli_dist_available(void) { return 0; }
int cli_dist_max(int v) { return v; }

void cli_dist_abort(int code) { exit(code); }

rl_shard cli_dist_shard(volatile int *raw, volatile int *agreed)
{
    (void)raw, (void)agreed;
    return (rl_shard){0, 1, NULL, NULL, NULL};
}

void cli_dist_say_on_term(const char *line, volatile int *raw) { (void)line, (void)raw; }

int cli_dist_poll(int *from, int *point, char **text)
{
    (void)from, (void)point, (void)text;
    return 0;
}

void cli_dist_give(int to, int point) { (void)to, (void)point; }

int cli_dist_ask(int point, const char *text)
{
    (void)point, (void)text;
    return -1;
}
