/* The commands of rnnlab, in the order of rnnlab --help: each one's words and
 * defaults (a cli_command, in its own file), the function that runs it and
 * its line in the list. */
#include "cli.h"
#include "sweeps/sweep.h"

#include <stdio.h>
#include <string.h>

static const cli_command cli_version_command = {"version", "usage: rnnlab version   (or rnnlab --version)\n"
                                                            "\n"
                                                            "Print the version of rnnlab: \"rnnlab X.Y.Z\" on stdout.\n",
                                                 NULL, NULL, 0, NULL};

static const cli_entry commands[] = {
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

int cli_command_count(void) { return (int)(sizeof commands / sizeof commands[0]); }

const cli_entry *cli_command_at(int i) { return i >= 0 && i < cli_command_count() ? &commands[i] : NULL; }

const cli_entry *cli_entry_named(const char *name)
{
    for (int i = 0; name && i < cli_command_count(); i++)
        if (strcmp(commands[i].spec->name, name) == 0) return &commands[i];
    return NULL;
}

const cli_command *cli_command_named(const char *name)
{
    const cli_entry *e = cli_entry_named(name);
    return e ? e->spec : NULL;
}

int cli_run(const cli_entry *e, int argc, char **argv)
{
    cli_ctx c = {.spec = e->spec};
    cli_args a;
    int r = cli_parse(&c, argc, argv, &a);
    if (r) return r == CLI_HELP ? 0 : r;
    /* cli_parse left the operands at argv[optind..argc) */
    return e->run(&c, &a, argc - optind, argv + optind);
}

int cmd_version(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    printf("rnnlab %s\n", rl_version());
    return 0;
}

