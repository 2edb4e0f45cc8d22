/* rnnlab: the command-line lab. Each subcommand lives in its own file; the
 * list of them is cli/commands/commands.c. */
#include "cli.h"
#include "processes/dist.h"

#include <cblas.h>

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: rnnlab <command> [options]   (rnnlab <command> --help for its options)\n\n"
          "rnnlab trains recurrent networks by backpropagation through time and shows\n"
          "how the gradient flows back through time.\n\ncommands:\n",
          f);
    for (int i = 0; i < cli_command_count(); i++)
        fprintf(f, "  %-10s %s\n", cli_command_at(i)->spec->name, cli_command_at(i)->summary);
    fputs("\nFiles are safetensors with PyTorch state_dict names; see docs/ for formats.\n"
          "rnnlab --version prints the version.\n", f);
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv)
{
    /* one process of several under an MPI launcher (cli/processes/dist.h); the plain
     * build hands over to rnnlab-mpi there and does not come back */
    int e = cli_dist_init(&argc, &argv);
    if (e) return e;
    e = run_command(argc, argv);
    cli_dist_finalize();
    return e;
}

static int run_command(int argc, char **argv)
{
    /* the library's BLAS check has run (before main); what it found is said
     * by info, bench and train's start (cli_blas_warning), not by every
     * command: --help, --version and a usage error say nothing about BLAS */
    /* rnnlab splits its work over its own threads (as many as OpenBLAS was
     * started with, unless --threads says otherwise) and keeps OpenBLAS on
     * one thread: a multi-threaded BLAS call would leave OpenBLAS's workers
     * spinning on the cores rnnlab's threads need */
    rl_set_num_threads(rl_get_num_threads());
    openblas_set_num_threads(1);
    if (argc < 2) {
        fputs("usage: rnnlab <command> [options]; 'rnnlab --help' lists the commands\n", stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) return cli_run(cli_entry_named("version"), 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    const cli_entry *cmd = cli_entry_named(argv[1]);
    if (!cmd) {
        fprintf(stderr, "rnnlab: unknown command '%s' (see 'rnnlab --help')\n", argv[1]);
        return 2;
    }
    /* on several processes only train and sweep share their work */
    if (cli_dist_size() > 1 && strcmp(argv[1], "train") != 0 && strcmp(argv[1], "sweep") != 0) {
        if (cli_dist_rank() == 0)
            fprintf(stderr, "rnnlab %s: runs on one process, not %d: under mpirun, rnnlab train shares a run and "
                            "rnnlab sweep hands out many (docs/scaling.md)\n",
                    argv[1], cli_dist_size());
        return 2;
    }
    static char prog[32];
    snprintf(prog, sizeof prog, "rnnlab %s", cmd->spec->name);
    cli_prog = prog;
    return cli_run(cmd, argc - 1, argv + 1);
}
