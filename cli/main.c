/* rnnlab: the command-line lab. Each subcommand lives in its own file. */
#include "cli.h"
#include "dist.h"
#include "sweep.h"

#include <cblas.h>

#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv);

static const cli_command cli_version_command = {"version", "usage: rnnlab version   (or rnnlab --version)\n"
                                                            "\n"
                                                            "Print the version of rnnlab: \"rnnlab X.Y.Z\" on stdout.\n",
                                                 NULL, NULL, 0, NULL};

static const struct {
    const cli_command *spec;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {&cli_demo_command, cmd_demo, "the gradient-flow story end to end: figures and an HTML report"},
    {&cli_report_command, cmd_report, "an HTML report with figures for a training run folder"},
    {&cli_plot_command, cmd_plot, "one figure from the output of jacobian, spectrum or lyapunov"},
    {&cli_init_command, cmd_init, "make a model file (cell, sizes, initialisation)"},
    {&cli_data_command, cmd_data, "make a data file for a model (inputs, targets, mask, h0)"},
    {&cli_grad_command, cmd_grad, "loss and BPTT gradients of a model on a data file"},
    {&cli_train_command, cmd_train, "train a model on a task, recording the gradient flow (run folder)"},
    {&cli_eval_command, cmd_eval, "loss, MSE/accuracy/baseline or bits per character of a model on a task"},
    {&cli_sample_command, cmd_sample, "generate text from a character model"},
    {&cli_bench_command, cmd_bench, "time the PyTorch peer's workloads (training, forward, Jacobians, Lyapunov)"},
    {&cli_gradcheck_command, cmd_gradcheck, "BPTT against finite differences on a random model"},
    {&cli_jacobian_command, cmd_jacobian, "every ds_t/ds_tau of a sequence, per-lag norms, BPTT gradient norms"},
    {&cli_spectrum_command, cmd_spectrum, "eigen- and singular values of J_t and of the products; the theorem check"},
    {&cli_lyapunov_command, cmd_lyapunov, "Lyapunov exponents of the state map (QR method)"},
    {&cli_explain_command, cmd_explain, "the chain rule and the eigenvalue picture worked in numbers for a small model"},
    {&cli_sweep_command, cmd_sweep, "run a grid of options of train, lyapunov or jacobian (under mpirun: over processes)"},
    {&cli_info_command, cmd_info, "the BLAS library and kernel, the CPU, cores and threads"},
    {&cli_version_command, cmd_version, "the version of rnnlab (also rnnlab --version)"},
};

const cli_command *cli_command_named(const char *name)
{
    for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].spec->name, name) == 0) return commands[i].spec;
    return NULL;
}

static int cmd_version(int argc, char **argv)
{
    cli_ctx c = {.spec = &cli_version_command};
    cli_args a;
    int e = cli_parse(&c, argc, argv, &a);
    if (e) return e == CLI_HELP ? 0 : e;
    printf("rnnlab %s\n", rl_version());
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: rnnlab <command> [options]   (rnnlab <command> --help for its options)\n\n"
          "rnnlab trains recurrent networks by backpropagation through time and shows\n"
          "how the gradient flows back through time.\n\ncommands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].spec->name, commands[i].summary);
    fputs("\nFiles are safetensors with PyTorch state_dict names; see docs/ for formats.\n"
          "rnnlab --version prints the version.\n", f);
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv)
{
    /* one process of several under an MPI launcher (cli/dist.h); the plain
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
    if (strcmp(argv[1], "--version") == 0) return cmd_version(1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].spec->name) == 0) {
            /* on several processes only train and sweep share their work */
            if (cli_dist_size() > 1 && strcmp(argv[1], "train") != 0 && strcmp(argv[1], "sweep") != 0) {
                if (cli_dist_rank() == 0)
                    fprintf(stderr, "rnnlab %s: runs on one process, not %d: under mpirun, rnnlab train shares a run and "
                                    "rnnlab sweep hands out many (docs/scaling.md)\n",
                            argv[1], cli_dist_size());
                return 2;
            }
            static char prog[32];
            snprintf(prog, sizeof prog, "rnnlab %s", commands[i].spec->name);
            cli_prog = prog;
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "rnnlab: unknown command '%s' (see 'rnnlab --help')\n", argv[1]);
    return 2;
}
