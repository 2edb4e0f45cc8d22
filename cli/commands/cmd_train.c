/* rnnlab train, eval, sample. */
#include "cli.h"
#include "processes/dist.h"

#include <assert.h>
#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char train_usage[] =
    "usage: rnnlab train --task TASK --out RUN_DIR [options]\n"
    "       rnnlab train --resume RUN_DIR [--steps N] [--data FILE] [--lr X] [--clip X] ...\n"
    "\n"
    "Train a model on a task, recording how the gradient flows back through time.\n"
    "RUN_DIR gets model.safetensors (the latest model), checkpoint.safetensors\n"
    "(model, optimizer, step, random state), config.json, metrics.jsonl and flow.jsonl\n"
    "(docs/training.md). Ctrl-C saves a checkpoint and stops; --resume continues it\n"
    "to exactly the numbers of an uninterrupted run, or with --lr, the schedule's\n"
    "options, --clip, --clip-value or --log-every changed (the run's config history).\n"
    "\n";

const cli_command cli_train_command = {"train", train_usage, NULL, NULL, 0, NULL};

/* "adding | copy | ..." for a row with named values; "" otherwise. */
static void choices(const rl_option *f, const char *sep, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int k = 0; k < f->num_choices; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", k ? sep : "", rl_option_choice(f, k));
    }
}

static void field_default(const rl_option *f, char *buf, size_t n)
{
    rl_train_config def = rl_train_defaults();
    if (f->default_text) snprintf(buf, n, "%s", f->default_text);
    else rl_option_format(&def, f, buf, n);
}

/* The table of docs/training.md (a test checks that the two agree). */
static int print_fields(void)
{
    puts("| key | option | value | default | meaning |\n|---|---|---|---|---|");
    for (int i = 0; i < rl_option_count(); i++) {
        const rl_option *f = rl_option_at(i);
        char opt[64], val[200], ch[160], def[64];
        snprintf(opt, sizeof opt, "`--%s%s%s`", f->flag, f->arg ? " " : "", f->arg ? f->arg : "");
        choices(f, ", ", ch, sizeof ch);
        switch (f->type) {
        case RL_FIELD_INT:
        case RL_FIELD_INT64: snprintf(val, sizeof val, "integer, %.15g to %.15g", f->lo, f->hi); break;
        case RL_FIELD_DOUBLE: snprintf(val, sizeof val, "number, %.10g to %.10g", f->lo, f->hi); break;
        case RL_FIELD_BOOL:
            if (f->num_choices) snprintf(val, sizeof val, "0 (%s) or 1 (%s)", rl_option_choice(f, 0), rl_option_choice(f, 1));
            else snprintf(val, sizeof val, "0 or 1 (the option sets 1)");
            break;
        case RL_FIELD_ENUM: snprintf(val, sizeof val, "%s", ch); break;
        case RL_FIELD_PATH: snprintf(val, sizeof val, "path"); break;
        case RL_FIELD_TEXT: snprintf(val, sizeof val, "text"); break;
        case RL_FIELD_SEED: snprintf(val, sizeof val, "integer, 0 to 2^64 - 1 (in JSON a string from 2^53 on)"); break;
        case RL_FIELD_RANGE: snprintf(val, sizeof val, "two numbers A,B, %.10g to %.10g, A <= B (in JSON [A, B])", f->lo, f->hi); break;
        }
        field_default(f, def, sizeof def);
        printf("| `%s` | %s | %s | %s | %s |\n", f->name, opt, val, def, f->help);
    }
    return 0;
}

/* The recipes of docs/training.md (a test checks that the two agree): a
 * section each, its settings in the table's order of their rows. */
static int print_recipes(void)
{
    for (int i = 0; i < rl_recipe_count(); i++) {
        const rl_recipe *r = rl_recipe_at(i);
        printf("### `--recipe %s`\n\n%s. Code: %s.\n\n| option | for | value | source |\n|---|---|---|---|\n", r->name,
               r->paper, r->code);
        for (int k = 0; k < rl_option_count(); k++)
            for (int j = 0; j < r->num_settings; j++) {
                const rl_recipe_setting *s = &r->settings[j];
                const rl_option *o = rl_option_at(k);
                if (strcmp(s->key, o->name) != 0) continue;
                char when[64] = "";
                if (s->tasks) snprintf(when, sizeof when, "%s", s->tasks);
                else if (s->min_len) snprintf(when, sizeof when, "T >= %d", s->min_len);
                printf("| `--%s` | %s | %s | %s |\n", o->flag, when, o->arg ? s->value : "(on)", s->source);
            }
        printf("\nWhere rnnlab cannot follow: %s\n\n", r->gaps);
    }
    return 0;
}

/* The progress line: the step, the training loss, the last validation
 * loss against the baseline, the gradient norm, the rate and what is left;
 * drawn when one is due (cli_progress_due). */
static void show_progress(const rl_progress *p, void *ctx)
{
    (void)ctx;
    if (!cli_progress_due()) return;
    double eta = p->step > 0 ? p->elapsed_s * (double)(p->total - p->step) / (double)p->step : 0;
    char val[96] = "", base[48] = "", grad[64] = "", skipped[48] = "", line[400];
    if (!isnan(p->baseline)) snprintf(base, sizeof base, " (baseline %.4g)", p->baseline);
    if (p->val_step) snprintf(val, sizeof val, "  val %.5g%s", p->val_loss, base);
    else if (base[0]) snprintf(val, sizeof val, " %s", base);
    /* a ridge readout's fit has neither gradient nor learning rate (NaN) */
    if (!isnan(p->grad_norm) || !isnan(p->lr)) snprintf(grad, sizeof grad, "  |g| %.3g  lr %.3g", p->grad_norm, p->lr);
    if (p->skipped) snprintf(skipped, sizeof skipped, "  skipped %lld", (long long)p->skipped);
    snprintf(line, sizeof line, "step %lld/%lld  loss %.5g%s%s  %.0f tok/s  ETA %dm%02ds%s", (long long)p->step,
             (long long)p->total, p->loss, val, grad, p->tokens_per_s, (int)eta / 60, (int)eta % 60, skipped);
    cli_progress_line(line);
}

/* The validation result in words: "validation loss 0.0123 (baseline 0.167),
 * mse 0.0123", "... accuracy 0.97", "... 2.31 bits per character". */
static void val_words(const rl_score *sc, const rl_task_info *in, char *buf, size_t n)
{
    double loss = sc->loss_sum / sc->weight_sum;
    size_t at = (size_t)snprintf(buf, n, "validation loss %.5g", loss);
    if (!isnan(in->baseline) && at < n) at += (size_t)snprintf(buf + at, n - at, " (baseline %.4g)", in->baseline);
    if (sc->n_err > 0 && at < n) at += (size_t)snprintf(buf + at, n - at, ", mse %.5g", sc->sq_err / sc->n_err);
    if (!isnan(rl_score_nrmse(sc)) && at < n) at += (size_t)snprintf(buf + at, n - at, ", nrmse %.4g", rl_score_nrmse(sc));
    if (sc->n_items > 0 && at < n) at += (size_t)snprintf(buf + at, n - at, ", accuracy %.4g", sc->correct / sc->n_items);
    if (in->kind == RL_TASK_TEXT && at < n) snprintf(buf + at, n - at, ", %.4g bits per character", loss / log(2.0));
}

/* Tasks whose sequences come from files: their length is the data's. */
static int reads_data(rl_task_kind k) { return k == RL_TASK_DATA || k == RL_TASK_SMNIST || k == RL_TASK_PSMNIST; }

/* The options --resume takes: the rest comes from the checkpoint. */
static int resume_takes(const char *name)
{
    static const char *const keep[] = {"resume", "steps", "text_path", "quiet", "progress"};
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
        if (strcmp(name, keep[k]) == 0) return 1;
    return rl_option_resumable(rl_option_find(name));
}

/* The changes given with --resume as "key=value" (text[k], pointed to by
 * set[k]); their number. */
#define RESUME_MAX 32 /* at most this many rows are rl_option_resumable */
static int resume_set(const cli_ctx *c, const rl_train_config *cfg, char text[][128], const char **set)
{
    int n = 0;
    for (int k = 0; k < rl_option_count() && n < RESUME_MAX; k++) {
        const rl_option *f = rl_option_at(k);
        if (!rl_option_resumable(f) || !cli_given(c, f->name)) continue;
        char v[96];
        rl_option_format(cfg, f, v, sizeof v);
        snprintf(text[n], 128, "%s=%s", f->name, v);
        set[n] = text[n], n++;
    }
    return n;
}

/* --init-from an rnnlab model: its sizes (cell, hidden, layers, the LRU's,
 * the orthogonal map) and its task where they are not given; a PyTorch
 * state_dict without rnnlab's metadata leaves them to the options. Said
 * on stderr (rank 0). */
static void init_from_sizes(const cli_ctx *c, rl_train_config *cfg)
{
    rl_model *m = NULL;
    if (!cfg->init_from || rl_model_load(&m, cfg->init_from, RL_F32) != RL_OK) return;
    const rl_config mc = rl_model_config(m);
    if (!cli_given(c, "cell")) cfg->cell = mc.cell;
    if (!cli_given(c, "hidden")) cfg->hidden = mc.hidden_size;
    if (!cli_given(c, "layers")) cfg->layers = mc.num_layers;
    if (!cli_given(c, "state_size") && mc.cell == RL_CELL_LRU) cfg->state_size = mc.state_size;
    if (!cli_given(c, "activation") && mc.cell == RL_CELL_LRU) cfg->activation = mc.activation;
    if (!cli_given(c, "orthogonal")) cfg->orthogonal = rl_model_orthogonal(m);
    rl_task_kind k = RL_TASK_ADDING;
    const int T = rl_model_task(m, &k);
    if (!cli_given(c, "task") && !cli_given(c, "text_path") && T > 0 && k != RL_TASK_TEXT && !reads_data(k)) {
        cfg->task = k;
        if (!cli_given(c, "seq_len")) cfg->seq_len = T;
    }
    if (cli_dist_rank() == 0)
        fprintf(stderr, "rnnlab train: starting from the weights of %s (%s, %d x %d units), with a fresh optimiser\n",
                cfg->init_from, rl_cell_name(cfg->cell), cfg->layers, cfg->hidden);
    rl_model_free(m);
}

/* What the options say against each other (the library checks the
 * configuration's own consistency): 0, or 2 after a usage error. */
static int train_options(const cli_ctx *c, cli_args *a)
{
    rl_train_config *cfg = &a->t;
    if (a->resume && a->out_dir) return cli_usage_error(c, "--resume continues a run in its own folder: drop --out");
    if (a->estimate && a->resume) return cli_usage_error(c, "--dry-run is for a new run (the estimate of its --out)");
    if (!a->resume && !a->out_dir && !a->estimate) return cli_usage_error(c, "--out RUN_DIR is required (or --resume RUN_DIR)");
    if (a->out_dir && strcmp(a->out_dir, "-") == 0) return cli_usage_error(c, "--out -: a run is a folder, it cannot go to stdout");
    for (int i = 0; a->resume && i < cli_option_count(); i++)
        if (cli_given(c, cli_option_at(i)->name) && !resume_takes(cli_option_at(i)->name)) {
            char flags[400] = "";
            for (int k = 0, at = 0; k < rl_option_count() && at < (int)sizeof flags; k++)
                if (rl_option_resumable(rl_option_at(k)))
                    at += snprintf(flags + at, sizeof flags - at, ", --%s", rl_option_at(k)->flag);
            return cli_usage_error(c, "--resume takes only --steps, --data, --quiet, --progress and the changes %s: the rest "
                                      "comes from the checkpoint", flags + 2);
        }
    if (!a->resume) init_from_sizes(c, cfg);
    /* a user's data: --data without --task is a file of sequences, whose T is the data's */
    if (!a->resume && cli_given(c, "text_path") && !cli_given(c, "task")) cfg->task = RL_TASK_DATA;
    if (!a->resume && cli_given(c, "seq_len") && reads_data(cfg->task))
        return cli_usage_error(c, "--seq-len: the data sets the sequences' length (a CSV series: --window T)");
    /* as PyTorch's nn.RNN: dropout acts between layers, so with one it does nothing (a warning, not an error) */
    if (!a->resume && cfg->dropout > 0 && cfg->layers == 1)
        fprintf(stderr, "rnnlab train: warning: --dropout %g does nothing with --layers 1: dropout acts on the outputs of "
                        "every layer but the last (PyTorch warns the same)\n", cfg->dropout);
    if (cli_given(c, "forget_bias") && !rl_cell_has_forget_gate(cfg->cell))
        return cli_usage_error(c, "--forget-bias is for cells with a forget gate (lstm)");
    if (cli_given(c, "nesterov") && !(cfg->optim.kind == RL_OPT_SGD && cfg->optim.momentum > 0))
        return cli_usage_error(c, "--nesterov needs --optim sgd and --momentum > 0");
    if ((cli_given(c, "ridge") || cli_given(c, "washout")) && cfg->readout != RL_READOUT_RIDGE)
        return cli_usage_error(c, "--%s is for --readout ridge", cli_given(c, "ridge") ? "ridge" : "washout");
    /* a ridge readout is one solve: the optimiser's options (and dropout) would do nothing */
    for (int i = 0; i < rl_option_count() && cfg->readout == RL_READOUT_RIDGE; i++) {
        const rl_option *f = rl_option_at(i);
        const char *keep[] = {"readout", "ridge", "washout", "batch", "seed"};
        int kept = 0;
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) kept |= strcmp(f->name, keep[k]) == 0;
        if (cli_given(c, f->name) && !kept && (strcmp(f->group, "optimisation") == 0 || strcmp(f->name, "dropout") == 0))
            return cli_usage_error(c, "--%s is for --readout bptt: a ridge readout is fitted in one solve", f->flag);
    }
    return 0;
}

/* --dry-run: the run's cost (src/train/estimate.c) on stdout; nothing is
 * made. 0, or 2 for options the trainer would refuse. */
static int dry_run(const cli_ctx *c, const rl_train_config *cfg)
{
    rl_train_cost e;
    rl_status s = rl_train_estimate(cfg, 1, &e);
    if (s == RL_ERR_ARG) return cli_usage_error(c, "%s", rl_errmsg());
    if (s) return cli_fail(c, s);
    char ws[32], md[160], td[200] = "";
    rl_format_bytes(e.ws_bytes, ws, sizeof ws);
    snprintf(md, sizeof md, "the training workspace %s; %.0f parameters", ws, e.params);
    const rl_train_config *t = cfg;
    if (!isnan(e.step_seconds))
        snprintf(td, sizeof td, "%lld steps of %.3g s, and the validations: timed on this machine", (long long)t->steps,
                 e.step_seconds);
    else snprintf(td, sizeof td, "%s", t->readout == RL_READOUT_RIDGE ? "a ridge readout is one solve" : "it does not fit");
    cli_say_cost(c, e.bytes, md, e.seconds, td);
    return 0;
}

/* The run's first lines (rank 0): the task, model, optimiser and where it
 * goes; the BLAS warning; how several processes share a batch. */
static void say_start(const cli_ctx *c, const rl_trainer *t, int resuming, const char *dir, int size)
{
    rl_train_config rc = rl_trainer_config(t);
    rl_config mc = rl_model_config(rl_trainer_model(t));
    char how[96];
    if (rc.readout == RL_READOUT_RIDGE) snprintf(how, sizeof how, "ridge readout, beta %g, washout %d", rc.ridge, rc.washout);
    else snprintf(how, sizeof how, "%s lr %g, clip %g", rl_optim_name(rc.optim.kind), rc.sched.lr, rc.clip);
    fprintf(stderr, "rnnlab train: %s %s, T = %d, %s %d x %d, %zu parameters, %s, from step %lld of %lld -> %s\n",
            resuming ? "resuming" : "task", rl_task_name(rc.task), rc.seq_len, rl_cell_name(mc.cell), mc.num_layers,
            mc.hidden_size, rl_model_num_params(rl_trainer_model(t)), how, (long long)rl_trainer_step(t), (long long)rc.steps,
            dir);
    cli_blas_warning(c);
    if (size > 1) {
        int first, n, total;
        rl_shard_blocks(rc.batch, 0, size, &first, &n, &total);
        fprintf(stderr, "rnnlab train: %d processes share each batch's %d blocks of %d sequences; the gradient is their sum in "
                        "block order (--block-sum: the same model on one process)\n",
                size, total, RL_BLOCK_SEQS);
    }
}

int cmd_train(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0, mode = 0;
    if (a->config_fields) return print_fields();
    if (a->recipes) return print_recipes();
    if ((e = cli_progress_mode(c, &mode)) || (e = train_options(c, a))) return e;
    if (a->estimate) return dry_run(c, &a->t);
    rl_train_config cfg = a->t;
    const char *out = a->out_dir, *resume = a->resume;
    /* several processes (mpirun -np N): data-parallel, every batch's blocks
     * of 16 sequences shared out, the gradient summed in block order */
    const int rank = cli_dist_rank(), size = cli_dist_size();
    static volatile int agreed; /* the stop every rank has agreed on (cli/processes/dist.h) */
    rl_shard sh = cli_dist_shard(cli_stop_flag(), &agreed);
    if (size > 1 && !resume) cfg.block_sum = 1;
    if (rank != 0) mode = -1; /* rank 0 speaks for the job */
    rl_trainer *t = NULL;
    char settext[RESUME_MAX][128];
    const char *set[RESUME_MAX];
    rl_resume_options ro = {cli_given(c, "steps") ? cfg.steps : 0, cli_given(c, "text_path") ? cfg.text_path : NULL, &sh,
                            set, resume ? resume_set(c, &cfg, settext, set) : 0};
    rl_status s = resume ? rl_trainer_resume_ex(&t, resume, &ro) : rl_trainer_new_ex(&t, &cfg, out, &sh);
    if (size > 1) { /* every rank starts, or none; rank 0 says why, or else the ranks that failed */
        int mine = s == RL_ERR_ARG ? 2 : s ? 1 : 0, worst = cli_dist_max(mine), zero = cli_dist_max(rank == 0 ? mine : 0);
        if (worst) {
            if (mine && rank == 0) fprintf(stderr, "rnnlab train: %s%s\n", rl_errmsg(), mine == 2 ? " (see 'rnnlab train --help')" : "");
            else if (mine && !zero) fprintf(stderr, "rnnlab train: rank %d of %d: %s\n", rank, size, rl_errmsg());
            rl_trainer_free(t);
            return worst;
        }
    }
    if (s == RL_ERR_ARG) return cli_usage_error(c, "%s", rl_errmsg()); /* --steps below the run's step, too */
    if (s) return cli_fail(c, s);
    const char *dir = resume ? resume : out;
    rl_train_config rc = rl_trainer_config(t);
    if (rank == 0) say_start(c, t, resume != NULL, dir, size);
    /* Ctrl-C: the step finishes, a checkpoint is written, then it stops;
     * on several processes at the step they all agree on */
    cli_progress_begin(c, mode);
    if (size > 1 && rank == 0) {
        char line[1100];
        snprintf(line, sizeof line,
                 "rnnlab train: stopped by the MPI launcher (SIGTERM: a process of the job died, or the job was cancelled); "
                 "the last checkpoint is intact: continue with rnnlab train --resume %s",
                 dir);
        cli_dist_say_on_term(line, cli_stop_flag());
    }
    int interrupted = 0;
    s = rl_trainer_run(t, size > 1 ? &agreed : cli_stop_flag(), &interrupted, show_progress, NULL);
    cli_progress_end();
    int64_t at = rl_trainer_step(t), solved = rl_trainer_solved_step(t), timed_out = rl_trainer_timed_out(t);
    const double seconds = rl_trainer_seconds(t), limit = rl_trainer_config(t).time_limit;
    const int64_t total = rl_trainer_config(t).steps;
    rl_score sc;
    char words[200] = "";
    if (rl_trainer_last_eval(t, &sc) == at && at > 0) {
        rl_task_info in = rl_trainer_task_info(t);
        val_words(&sc, &in, words, sizeof words);
    }
    rl_trainer_free(t);
    if (s && size > 1 && s != RL_ERR_NONFINITE) {
        /* a failure of this rank alone (a checkpoint rank 0 could not write):
         * the others wait for it in the next exchange, so the job ends here */
        if (rank == 0) cli_fail(c, s);
        else fprintf(stderr, "rnnlab train: rank %d of %d: %s\n", rank, size, rl_errmsg());
        cli_dist_abort(1);
    }
    if (s && rank != 0) return 1; /* a non-finite step: every rank stops alike, rank 0 says so */
    if (s) return cli_fail(c, s);
    if (interrupted && rank != 0) return 130;
    if (rank != 0) return 0;
    if (interrupted) {
        fprintf(stderr, "rnnlab train: interrupted at step %lld; checkpoint saved; continue with: rnnlab train --resume %s\n",
                (long long)at, dir);
        return 130;
    }
    if (timed_out)
        fprintf(stderr,
                "rnnlab train: stopped at the time limit (%g s; %.1f s of training) at step %lld of %lld%s%s; model in "
                "%s/model.safetensors; to go on: rnnlab train --resume %s --time-limit S\n",
                limit, seconds, (long long)timed_out, (long long)total, words[0] ? "; " : "", words, dir, dir);
    else if (solved)
        fprintf(stderr, "rnnlab train: solved at step %lld (%s)%s%s; model in %s/model.safetensors\n", (long long)solved,
                rl_task_solved_rule(rc.task), words[0] ? "; " : "", words, dir);
    else
        fprintf(stderr, "rnnlab train: done, %lld steps%s%s; model in %s/model.safetensors\n", (long long)at,
                words[0] ? "; " : "", words, dir);
    return 0;
}

static const char eval_usage[] =
    "usage: rnnlab eval --model M [--task TASK] [--seq-len T] [--data FILE] [--json]\n"
    "\n"
    "Evaluate a model on fresh sequences of a task (text: the validation split;\n"
    "data: the file's sequences, or the test part of a CSV series; smnist, psmnist:\n"
    "the test images): the loss; MSE, RMSE, NRMSE (normalised by the targets'\n"
    "standard deviation), accuracy and the baseline for the tasks; bits per\n"
    "character and perplexity for text. --json: one JSON object on stdout. A model\n"
    "made by rnnlab train records its task and T: they are the defaults (and said\n"
    "so on stderr). For text, --data is the file the model was trained on, and\n"
    "without --batch the batch is smaller when the validation split is short. For\n"
    "a user's data, the options of the data (--valid-split, --test-split, --loss,\n"
    "--inputs, --targets, --window, --horizon, --perm-seed) are train's: give the\n"
    "run's to score the part it held out; text and data are scored whole, every\n"
    "sequence once, unless --batches is given.\n"
    "\n";

static void eval_defaults(cli_args *a) { a->t.seed = 12345, a->t.batch = 50; }

const cli_command cli_eval_command = {"eval", eval_usage, NULL, "model", 0, eval_defaults};

/* The task eval scores, in ec (the command line's rows, then the model's):
 * its data the model's own (the run's held-out part; a CSV series' test
 * part) unless --data is given (a test file, scored whole). 0 or the exit
 * code; *task set on success. */
static int eval_task(const cli_ctx *c, const rl_model *m, rl_train_config *ec, rl_task **task, char *note, size_t n)
{
    int task_given = cli_given(c, "task"), own = 0, e;
    const char *data = ec->text_path;
    rl_task_kind mk;
    note[0] = '\0';
    if (task_given && data && ec->task != RL_TASK_TEXT && !reads_data(ec->task))
        return cli_usage_error(c, "--data is for --task text, data, smnist and psmnist");
    /* --data without --task: the model's own task if it reads data or text, else a file of sequences */
    if (!task_given && data && !(rl_model_task(m, &mk) && (mk == RL_TASK_TEXT || reads_data(mk))))
        ec->task = RL_TASK_DATA;
    else if ((e = cli_model_task(c, m, ec, &own, note, n)))
        return e;
    const int data_task = reads_data(ec->task);
    if ((ec->text_path && ec->task != RL_TASK_TEXT && !data_task) || (data_task && cli_given(c, "seq_len")))
        return cli_usage_error(c, data_task ? "--seq-len: the data sets the sequences' length"
                                            : "--data is for --task text, data, smnist and psmnist");
    if (rl_train_config_check(ec)) return cli_usage_error(c, "%s", rl_errmsg());
    if (data_task && !own) note[0] = '\0'; /* T is the data's */
    size_t pl = ec->text_path ? strlen(ec->text_path) : 0;
    const int csv = pl >= 4 && strcmp(ec->text_path + pl - 4, ".csv") == 0;
    rl_status s = rl_task_from_config(task, ec, !own || csv, m);
    return s ? cli_fail_arg(c, s) : 0; /* --seq-len, --batch or --task that do not fit: 2, as in train */
}

int cmd_eval(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *model = a->model;
    int B = a->t.batch;
    const int batches = a->batches, washout = a->t.washout;
    const uint64_t seed = a->t.seed;
    rl_model *m = NULL;
    rl_task *task = NULL;
    rl_score sc;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (s) return cli_fail(c, s);
    char note[1400], bnote[160] = "";
    rl_train_config ec = a->t;
    if ((e = eval_task(c, m, &ec, &task, note, sizeof note))) {
        rl_task_free(task);
        rl_model_free(m);
        return e;
    }
    const rl_task_kind kind = ec.task;
    const int data_task = reads_data(kind);
    if (kind == RL_TASK_TEXT && !cli_given(c, "batch")) {
        /* the default batch adapts to a short text: as many streams of one window as its validation split holds */
        rl_task_info ti = rl_task_get_info(task);
        if (ti.val_len / B < ti.steps + 1 && ti.val_len / (ti.steps + 1) >= 1) {
            B = (int)(ti.val_len / (ti.steps + 1));
            snprintf(bnote, sizeof bnote, "--batch %d: the validation text (%lld characters) holds %d streams of %d", B,
                     (long long)ti.val_len, B, ti.steps);
        }
    }
    const int steps = rl_task_get_info(task).steps;
    if (washout >= steps) {
        rl_task_free(task);
        rl_model_free(m);
        return cli_usage_error(c, "--washout %d leaves nothing to score: the sequences have %d steps", washout, steps);
    }
    s = rl_evaluate_washout(m, task, B, (kind == RL_TASK_TEXT || data_task) && !cli_given(c, "batches") ? 0 : batches, seed,
                            washout, &sc);
    if (s) {
        rl_task_free(task);
        rl_model_free(m);
        return cli_fail_arg(c, s); /* --seq-len, --batch or --task that do not fit: 2, as in train */
    }
    rl_task_info in = rl_task_get_info(task);
    double loss = sc.loss_sum / sc.weight_sum;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", rl_task_name(kind));
    cJSON_AddNumberToObject(j, "seq_len", in.seq_len);
    cJSON_AddNumberToObject(j, "loss", loss);
    if (!isnan(in.baseline)) cJSON_AddNumberToObject(j, "baseline", in.baseline);
    if (!isnan(in.baseline_accuracy)) cJSON_AddNumberToObject(j, "baseline_accuracy", in.baseline_accuracy);
    if (data_task) cJSON_AddNumberToObject(j, "sequences", (double)in.val_len);
    if (sc.n_err > 0) {
        cJSON_AddNumberToObject(j, "mse", sc.sq_err / sc.n_err);
        cJSON_AddNumberToObject(j, "rmse", sqrt(sc.sq_err / sc.n_err));
        if (!isnan(rl_score_nrmse(&sc))) cJSON_AddNumberToObject(j, "nrmse", rl_score_nrmse(&sc));
    }
    if (washout) cJSON_AddNumberToObject(j, "washout", washout);
    if (sc.n_items > 0) cJSON_AddNumberToObject(j, "accuracy", sc.correct / sc.n_items);
    if (kind == RL_TASK_TEXT) {
        cJSON_AddNumberToObject(j, "bpc", loss / log(2.0));
        cJSON_AddNumberToObject(j, "perplexity", exp(loss));
    }
    cJSON_AddNumberToObject(j, "scored_steps", sc.weight_sum);
    cli_print_object(j, a->json);
    cJSON_Delete(j);
    rl_task_free(task);
    rl_model_free(m);
    if (note[0]) fprintf(stderr, "rnnlab eval: %s\n", note);
    if (bnote[0]) fprintf(stderr, "rnnlab eval: %s\n", bnote);
    return 0;
}
