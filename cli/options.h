/* The program's half of the one option table (docs/design.md, "The command
 * line"). The library's rows (rl_option_at: rnnlab train's fields, and the
 * options of the other commands that mean the same, --cell, --hidden,
 * --seed, ...) fill cli_args.t; the program's own rows (files, flags, the
 * analysis commands' settings, cli/options.c) fill the rest of cli_args.
 * Both are one table to every loop here: parsing, --help, the required
 * options, and the sweeps' routing of an option to the command that takes
 * it. A command is a cli_command: its name, its words before and after the
 * options, the options it needs and its own defaults; which options it has
 * is the table's business (rl_option.commands). */
#ifndef RL_CLI_OPTIONS_H
#define RL_CLI_OPTIONS_H

#include "rnnlab.h"

/* Every value an option can fill: the library's training configuration,
 * then the program's own fields, each commented with its options. */
typedef struct {
    rl_train_config t;        /* the library's rows */
    /* files */
    const char *model;        /* --model M */
    const char *data_file;    /* --data D (a data file; train's and eval's --data FILE is t.text_path) */
    const char *out_file;     /* --out FILE */
    const char *out_dir;      /* --out DIR */
    const char *resume;       /* train --resume RUN_DIR */
    int seq;                  /* --seq b */
    /* a model's sizes (init, gradcheck) */
    int input, output;        /* --input I, --output O */
    rl_loss loss;             /* --loss */
    rl_dtype precision;       /* grad --precision */
    double floss_weight;      /* grad --floss-weight */
    /* the random sequences a command makes (data, gradcheck, explain) */
    int seq_steps;            /* --steps T */
    int data_input;           /* data --input: 0 zeros, 1 noise */
    double noise_std;         /* --noise-std */
    int h0;                   /* data --h0: 0 zeros, 1 random */
    int mask;                 /* data --mask: 0 all, 1 last */
    int no_mask, no_h0;       /* gradcheck */
    double tol;               /* gradcheck --tol */
    int tau;                  /* explain --tau */
    /* the analysis commands */
    const char *lags;         /* spectrum, jacobian --lags LIST */
    int no_steps, full_j, no_radius;
    rl_lyap_config lyap;      /* lyapunov: --steps, --transient, --k, --input, --state, --trace-every (noise_std, seed: above) */
    /* eval, sample */
    int batches;              /* eval --batches */
    const char *prime;        /* sample --prime */
    double temperature;
    int top_k, len;
    /* bench */
    const char *bench_cell;   /* bench --cell: rnn (tanh) or a cell */
    int bench_task;           /* bench --task: 0 charlm, 1 smnist */
    int bench_seq, threads;   /* --seq, --threads (bench, sweep) */
    double seconds;
    int bench_jacobian, bench_lyapunov, sgemm, no_sgemm;
    /* report, plot, sweep, demo */
    const char *result, *x, *by;
    const char *title, *xlabel, *ylabel;
    int logx, logy, points;
    int dry_run, quick;
    int estimate;             /* train, jacobian, spectrum, lyapunov --dry-run: the cost, and nothing run */
    /* output */
    int json, quiet, progress, config_fields, recipes;
} cli_args;

/* A command of the program. */
typedef struct cli_command {
    const char *name;       /* "init": the word of rl_option.commands */
    const char *usage;      /* --help before the options: the usage lines and what it does ("{cells}" lists the cells) */
    const char *more;       /* --help after the options, or NULL */
    const char *required;   /* the options (keys) that must be given, space-separated, or NULL */
    int operands;           /* how many operands (non-option arguments) it takes */
    void (*defaults)(cli_args *a); /* its own defaults over the common ones (cli_defaults), or NULL */
} cli_command;

/* The whole table: the library's rows, then the program's. Row i
 * (0 <= i < cli_option_count()), or NULL. */
int cli_option_count(void);
const rl_option *cli_option_at(int i);
/* The row of key name, or NULL; and its index in the whole table (-1). */
const rl_option *cli_option_find(const char *name);
int cli_option_index(const char *name);
/* The row of the option --flag of command cmd, or NULL when it has none. */
const rl_option *cli_option_of(const char *cmd, const char *flag);
/* The field of row o in a: a->t for the library's rows, a for the program's. */
void *cli_option_field(cli_args *a, const rl_option *o);
/* The values every command starts from, then cmd's own defaults. */
void cli_defaults(const cli_command *cmd, cli_args *a);
/* The command of this name (cli/commands/commands.c), or NULL. */
const cli_command *cli_command_named(const char *name);

#endif
