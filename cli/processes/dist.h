/* The processes a command runs on. `rnnlab` itself never touches MPI: when
 * an MPI launcher (mpirun, srun --mpi=pmix) starts it as one of several
 * processes, it replaces itself with `rnnlab-mpi` from its own folder, the
 * same program linked with MPI (cli/processes/dist_mpi.c; cli/processes/dist_none.c is the
 * plain build's). Started any other way, both run as one process, with no
 * MPI initialised. docs/scaling.md. */
#ifndef RL_CLI_DIST_H
#define RL_CLI_DIST_H

#include "rnnlab.h"

/* Whether an MPI launcher started this process as one of several: the
 * world size its environment gives (OMPI_COMM_WORLD_SIZE of Open MPI's
 * mpirun, PMI_SIZE of MPICH's and srun --mpi=pmi2), -1 for a launcher that
 * gives none (PMIX_RANK alone: srun --mpi=pmix), 0 when none did or
 * RNNLAB_NO_MPI=1. var (n bytes) gets the variable that said so. cli/processes/dist_env.c */
int cli_dist_launched(char *var, size_t n);

/* First thing in main. The plain build: under an MPI launcher, exec
 * rnnlab-mpi (returns only if that fails: 1 after one line). The MPI build:
 * MPI_Init when started by a launcher. 0 to carry on. RNNLAB_NO_MPI=1 in the
 * environment makes either one process, whatever started it. */
int cli_dist_init(int *argc, char ***argv);
/* Last thing before main returns: MPI_Finalize when MPI was started. */
void cli_dist_finalize(void);
int cli_dist_rank(void);
int cli_dist_size(void);
/* Whether this program can run on several processes ("rnnlab-mpi"). */
int cli_dist_available(void);
/* Stop every process of the job with status code (MPI_Abort); exits at once
 * when there is one process. */
void cli_dist_abort(int code) __attribute__((noreturn));
/* The largest v over the processes (v itself for one). */
int cli_dist_max(int v);

/* The shard for rl_trainer_new_ex: the gradient summed in block order along
 * the chain of ranks, then broadcast from the last (docs/scaling.md), the
 * text task's carried state gathered to rank 0. Every step also makes
 * *agreed the largest *raw over the ranks, so that all stop at the same
 * step when any is asked to (Ctrl-C, SIGTERM, SIGUSR1). */
rl_shard cli_dist_shard(volatile int *raw, volatile int *agreed);

/* Several processes: SIGTERM (mpirun's answer to a rank that died, or to
 * Ctrl-C, followed a second later by SIGKILL) also writes `line` on stderr,
 * once, and sets *raw, like the handler of cli_progress_begin, which it
 * replaces: call it after that. Nothing for one process. */
void cli_dist_say_on_term(const char *line, volatile int *raw);

/* Sweeps: rank 0 hands out points, the others ask for them. */
/* Rank 0: a worker's message, if one is waiting: its rank, the point it
 * finished (-1: none, its first call) and what it says of it (malloc'ed,
 * NULL with none). 1 if there was one, 0 if not. */
int cli_dist_poll(int *from, int *point, char **text);
/* Rank 0: send a worker its next point (-1: no more). */
void cli_dist_give(int to, int point);
/* A worker: report the point it finished (-1: none) with its text, and wait
 * for the next one; -1 when there are no more. */
int cli_dist_ask(int point, const char *text);

#endif
