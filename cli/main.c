/* rnnlab: the command-line lab. Each subcommand lives in its own file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "the gradient-flow story end to end: figures and an HTML report"},
    {"report", cmd_report, "an HTML report with figures for a training run folder"},
    {"plot", cmd_plot, "one figure from the output of jacobian, spectrum or lyapunov"},
    {"init", cmd_init, "make a model file (cell, sizes, initialisation)"},
    {"data", cmd_data, "make a data file for a model (inputs, targets, mask, h0)"},
    {"grad", cmd_grad, "loss and BPTT gradients of a model on a data file"},
    {"train", cmd_train, "train a model on a task, recording the gradient flow (run folder)"},
    {"eval", cmd_eval, "loss, MSE/accuracy/baseline or bits per character of a model on a task"},
    {"sample", cmd_sample, "generate text from a character model"},
    {"bench", cmd_bench, "time the PyTorch peer's workloads (training, forward, Jacobians, Lyapunov)"},
    {"gradcheck", cmd_gradcheck, "BPTT against finite differences on a random model"},
    {"jacobian", cmd_jacobian, "every ds_t/ds_tau of a sequence, per-lag norms, BPTT gradient norms"},
    {"spectrum", cmd_spectrum, "eigen- and singular values of J_t and of the products; the theorem check"},
    {"lyapunov", cmd_lyapunov, "Lyapunov exponents of the state map (QR method)"},
    {"info", cmd_info, "the BLAS library and kernel, the CPU, cores and threads"},
};

static void usage(FILE *f)
{
    fputs("usage: rnnlab <command> [options]   (rnnlab <command> --help for its options)\n\n"
          "rnnlab trains recurrent networks by backpropagation through time and shows\n"
          "how the gradient flows back through time.\n\ncommands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nFiles are safetensors with PyTorch state_dict names; see docs/ for formats.\n", f);
}

int main(int argc, char **argv)
{
    /* the library records what its BLAS check found; the one line a user
     * should see (a weak OPENBLAS_CORETYPE, a switch that failed) is printed
     * here, once per process, whatever the command */
    rl_sysinfo si = rl_system_info();
    if (si.warning[0]) fprintf(stderr, "rnnlab: warning: %s\n", si.warning);
    if (argc < 2) {
        fputs("usage: rnnlab <command> [options]; 'rnnlab --help' lists the commands\n", stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rnnlab: unknown command '%s' (see 'rnnlab --help')\n", argv[1]);
    return 2;
}
