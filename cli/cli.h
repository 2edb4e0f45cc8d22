/* The command-line program: shared helpers and one function per subcommand.
 * Exit codes: 0 success, 1 a failure at run time (a file, a check), 2 a usage
 * error (unknown, missing, repeated or out-of-range argument). */
#ifndef RL_CLI_H
#define RL_CLI_H

#include "rnnlab.h"
#include "options.h"

#include <getopt.h>
#include <stdio.h>

typedef struct {
    const char *cmd;           /* subcommand name, for messages */
    const cli_command *spec;   /* its options' words and defaults (cli/options.h) */
    unsigned char seen[1024];  /* options given so far, by getopt value (values below 1024) */
    int operands;              /* how many operands (non-option arguments) it takes; they are
                                  argv[optind..argc) after the last cli_next */
    struct {
        const char *what, *path; /* "--model", "INPUT": how the user gave it */
    } inputs[8];               /* the files (and folders) the command reads: cli_input */
    int ninputs;
} cli_ctx;

/* The getopt value of row i of the option table (cli_option_at). */
#define CLI_OPT0 256

/* The arguments of command c->spec into a, from the table: every option the
 * command takes (rl_option_takes), each value parsed by its row in the
 * table's order (so that an optimizer's defaults come before its options),
 * then the command's required options. 0 to go on; CLI_HELP after printing
 * --help (the command returns 0); 2 after a usage error (an unknown,
 * repeated, malformed or out-of-range option, a missing one, a stray
 * argument). The operands are argv[optind..argc). */
#define CLI_HELP (-1)
int cli_parse(cli_ctx *c, int argc, char **argv, cli_args *a);
/* Whether option `name` (a key of the table) was given. */
int cli_given(const cli_ctx *c, const char *name);

/* Print "rnnlab CMD: message (see 'rnnlab CMD --help')"; return 2. */
int cli_usage_error(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "rnnlab CMD: <rl_errmsg()>"; return 1. */
int cli_fail(const cli_ctx *c, rl_status s);
/* cli_fail, except that RL_ERR_ARG (an option's value that does not fit the
 * files or the task: --seq-len, --seq, --batch) is a usage error: 2. For the
 * calls that check options against what was loaded. */
int cli_fail_arg(const cli_ctx *c, rl_status s);
/* "rnnlab CMD" of the running command, for the messages of the modules the
 * commands share (report.c, plot.c, runplots.c); main sets it. */
extern const char *cli_prog;
/* Print --help to stdout: the command's words, then its options by the
 * table's groups, each with its values and default; return 0. */
int cli_help(const cli_ctx *c);

/* Print a flat JSON object (cJSON *) as one line of JSON, or as a two-column
 * table of its keys and values. */
void cli_print_object(const void *json_object, int as_json);
/* 2 after a usage error if a required option is missing. */
int cli_require(const cli_ctx *c, const void *value, const char *flag);

/* fopen(path, "r") for a text file that is read whole (JSON, JSON lines,
 * CSV), bounded whatever the file is: a regular file is opened as it is; a
 * pipe or a device (/dev/zero) is copied, at most limit bytes and up to its
 * first NUL byte, to an anonymous temporary file that is returned instead;
 * a folder is refused, and so is a FIFO that no process writes to within 3
 * s (it would be waited on forever). NULL with errno set (EFBIG over the
 * limit, EINVAL a NUL byte, EISDIR a folder, ENXIO a FIFO without a writer). */
#define CLI_FIFO_WAIT_MS 3000 /* the library's RL_FIFO_WAIT_MS */
FILE *cli_fopen_read(const char *path, size_t limit);
/* fopen(path, "r") for a file inside a folder the command reads (a run's
 * records, a sweep's plan and results): a regular file only, since a folder
 * may come from someone else; NULL with errno set (EISDIR a folder, ESPIPE
 * anything else that is not a regular file: a FIFO, a device, a socket). */
FILE *cli_fopen_member(const char *path);
/* strerror, in the words of cli_fopen_read and cli_fopen_member. */
const char *cli_read_error(int err);
/* The message of a reader that says what is wrong in a buffer, not on
 * stderr (plots/csvtable.c, sweeps/sweepload.c: the fuzz targets run them):
 * fmt's words into err (n bytes); -1. */
int cli_errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record a file (or folder) the command reads, as the user named it (what:
 * "--model", or an operand's name such as "INPUT"), for cli_check_output.
 * NULL and "-" are skipped. */
void cli_input(cli_ctx *c, const char *what, const char *path);
/* Before the work, not after it: may the command write path, given by the
 * option `flag` ("out"; '-' is stdout)? Refused with a usage error (2) when
 * it is the same file as one of the inputs recorded by cli_input (the same
 * device and inode: another spelling, a symbolic or a hard link). Then path
 * must be a regular file if it exists (not a device, FIFO, socket or
 * folder), and its folder must exist and take a new file (a probe is
 * created and removed): else 1 after one line "rnnlab CMD: PATH: cannot
 * write: REASON". 0 when it may. */
int cli_check_output(const cli_ctx *c, const char *flag, const char *path);
/* Whether the command may write path, a file it makes inside an output
 * folder (flag names the folder's option): 2 after a usage error when it is
 * one of the inputs; 1 after one line when it exists and is not a regular
 * file (a device, a FIFO, a socket, a folder: outputs are regular files or
 * -); else 0. For commands that write fixed names into a folder (train's
 * model.safetensors, report's report.html); cli_check_output starts with it. */
int cli_check_written(const cli_ctx *c, const char *flag, const char *path);

/* The task to run with model m (cli/taskdata.c), in the task rows of t,
 * which hold the command line's values: for each row it did not give, what
 * the model records (rl_model_task_config): its task unless --task is given;
 * for the model's own task its T unless --seq-len is given, and its text or
 * data (the file's path and the options of its data) unless --data is given
 * (*own, when not NULL, is then 1: else 0). A recorded file that cannot be
 * read is a usage error that says how to give it (--data FILE, with the
 * run's options of the data). note (n bytes) gets what was taken from the
 * model ("" if nothing), for the command to say once it has succeeded (an
 * error stays one line). t's strings may point into m. 0, or 2 after a
 * usage error (no --task and none recorded). */
int cli_model_task(const cli_ctx *c, const rl_model *m, rl_train_config *t, int *own, char *note, size_t n);
/* B fresh sequences of the task t describes (rl_task_from_config: text, B
 * streams through its validation split; a user's data, the first B
 * sequences of its held-out part; a generated task, drawn from seed),
 * checked to fit model m. 0, or the exit code after one line (2: what does
 * not fit). The caller frees *task and *d, also on failure. */
int cli_task_data(const cli_ctx *c, const rl_model *m, const rl_train_config *t, int B, uint64_t seed, rl_task **task,
                  rl_data **d);

/* Progress and Ctrl-C (cli/progress.c). cli_progress_begin sets the
 * library's progress hook and a SIGINT/SIGTERM handler; mode -1 (--quiet)
 * shows nothing, 1 (--progress) shows progress even when stderr is not a
 * terminal, 0 when it is. cli_progress draws "CMD: WHAT done of total (p%),
 * elapsed, left" when one is due (at most 4 a second on a terminal, 1 as
 * lines elsewhere); cli_progress_note prints a line of its own when
 * progress is on; cli_progress_end clears the line and removes the hook.
 * cli_interrupted is nonzero after Ctrl-C; cli_stop_flag is the same flag
 * for rl_trainer_run. */
void cli_progress_begin(const cli_ctx *c, int mode);
int cli_progress_due(void);
void cli_progress_line(const char *text);
void cli_progress(const char *what, double done, double total);
void cli_progress_note(const char *text);
void cli_progress_end(void);
/* The command's estimate of its time in seconds, for the progress line's
 * "left" before the rate is known; cleared by cli_progress_end. */
void cli_progress_expect(double seconds);
int cli_interrupted(void);
volatile int *cli_stop_flag(void);
/* --dry-run's report on stdout: the estimated peak memory (bytes, with
 * mem_detail in parentheses) against rl_memory_limit(), and whether it
 * fits; the estimated time (seconds; NaN: "not measured", time_detail
 * saying why) with time_detail. */
void cli_say_cost(const cli_ctx *c, double bytes, const char *mem_detail, double seconds, const char *time_detail);
/* The progress mode from --progress and --quiet: 2 after a usage error when
 * both are given. */
int cli_progress_mode(const cli_ctx *c, int *mode);

/* The commands' words and defaults (each in its file), and their runs. A run
 * gets the command's context and arguments as cli_parse left them (after
 * neither --help nor a usage error) and its operands, operand[0..noperands)
 * (the arguments that are not options, in order); it returns the exit code. */
typedef int cli_run_fn(cli_ctx *c, cli_args *a, int noperands, char **operand);
typedef struct {
    const cli_command *spec;
    cli_run_fn *run;
    const char *summary; /* its line in rnnlab --help */
} cli_entry;
/* The commands in the order of rnnlab --help (cli/commands/commands.c). */
int cli_command_count(void);
const cli_entry *cli_command_at(int i);
/* The command called name; NULL if there is none. */
const cli_entry *cli_entry_named(const char *name);
/* Run command e on argv[0..argc) (argv[0] its name): cli_parse by its spec,
 * then its run. The exit code: 0 after --help, 2 after a usage error, else
 * the run's. */
int cli_run(const cli_entry *e, int argc, char **argv);
extern const cli_command cli_init_command, cli_data_command, cli_grad_command, cli_gradcheck_command, cli_demo_command,
    cli_bench_command, cli_report_command, cli_plot_command, cli_train_command, cli_eval_command, cli_sample_command,
    cli_jacobian_command, cli_spectrum_command, cli_lyapunov_command, cli_explain_command, cli_info_command,
    cli_sweep_command;
/* rnnlab report A B C --out DIR: several runs on one page (cli/commands/report_compare.c). */
int report_compare(const cli_ctx *c, char **dirs, int n, const char *out);
cli_run_fn cmd_init, cmd_grad, cmd_gradcheck, cmd_data, cmd_demo, cmd_bench, cmd_report, cmd_plot, cmd_train, cmd_eval,
    cmd_sample, cmd_jacobian, cmd_spectrum, cmd_lyapunov, cmd_explain, cmd_info, cmd_version;

/* "rnnlab CMD: warning: ..." on stderr when the BLAS check left a warning
 * (a weak OPENBLAS_CORETYPE, a kernel that failed the check, a switch that
 * could not be made); for the commands whose speed or numbers it concerns
 * and that run long enough to matter: bench and train's start. */
void cli_blas_warning(const cli_ctx *c);
/* rl_system_info() as a cJSON object (blas, cpu, threads), for rnnlab info
 * and rnnlab bench; the caller deletes it. */
struct cJSON *cli_system_json(void);

#endif
