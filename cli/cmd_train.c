/* rnnlab train, eval, sample. */
#include "cli.h"

#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char train_usage[] =
    "usage: rnnlab train --task TASK --out RUN_DIR [options]\n"
    "       rnnlab train --resume RUN_DIR [--steps N]\n"
    "\n"
    "Train a model on a task, recording how the gradient flows back through time.\n"
    "RUN_DIR gets model.safetensors (the latest model), checkpoint.safetensors\n"
    "(model, optimizer, step, random state), config.json, metrics.jsonl and flow.jsonl\n"
    "(docs/training.md). Ctrl-C saves a checkpoint and stops; --resume continues it\n"
    "to exactly the numbers of an uninterrupted run.\n"
    "\n"
    "task:\n"
    "  --task TASK       adding | adding-hs97 | copy | temporal-order | text  [adding]\n"
    "  --seq-len T       sequence length (text: the BPTT window k2)   [100]\n"
    "  --data FILE       text: a UTF-8 file      [the built-in corpus: Pride and Prejudice]\n"
    "  --k1 N            text: steps between updates, truncated BPTT(k1, T)  [T]\n"
    "model:\n"
    "  --cell C          tanh | relu | linear | lstm | gru            [tanh]\n"
    "  --hidden H        units per layer                              [128]\n"
    "  --layers L        layers                                       [1]\n"
    "  --dropout P       dropout between layers                       [0]\n"
    "  --init KIND       uniform | gaussian | orthogonal | identity | symmetric  [uniform]\n"
    "  --gain G, --radius R, --forget-bias F, --zero-bias   as for rnnlab init\n"
    "optimisation:\n"
    "  --batch B         sequences per batch                          [50]\n"
    "  --steps N         updates                                      [1000]\n"
    "  --optim O         sgd | adagrad | rmsprop | adam | adamw       [adam]\n"
    "  --lr X            learning rate                                [1e-3]\n"
    "  --momentum X, --nesterov (sgd); --alpha X (rmsprop decay) [0.99];\n"
    "  --beta1 X [0.9], --beta2 X [0.999], --eps X [1e-8]; --weight-decay X [0; adamw 0.01]\n"
    "  --schedule S      constant | step | cosine                     [constant]\n"
    "  --warmup N        linear warm-up steps                         [0]\n"
    "  --step-size N, --gamma X   step schedule: lr *= gamma every N  [0, 0.1]\n"
    "  --min-lr X        cosine: the final rate                       [0]\n"
    "  --clip X          global-norm clipping (Pascanu et al.)        [1; 0 = off]\n"
    "  --clip-value X    elementwise clipping                         [0 = off]\n"
    "  --on-nonfinite A  stop | skip: a NaN/Inf loss or gradient      [stop]\n"
    "  --seed S          seed for the init, the data and dropout      [0]\n"
    "records:\n"
    "  --log-every N     metrics line every N steps                   [10]\n"
    "  --eval-every N    validation every N steps (and at the end)    [200]\n"
    "  --eval-batches N  validation batches                           [10]\n"
    "  --flow-every N    gradient-flow record every N steps (0 = off) [100]\n"
    "  --ckpt-every N    checkpoint every N steps (and at the end)    [200]\n"
    "  --quiet           no progress on stderr\n"
    "testing:\n"
    "  --inject-nan-at N make step N's gradient NaN (to see --on-nonfinite at work)\n";

static void show_progress(const rl_progress *p, void *ctx)
{
    int tty = *(int *)ctx;
    double eta = p->step > 0 ? p->elapsed_s * (double)(p->total - p->step) / (double)p->step : 0;
    char skipped[48] = "";
    if (p->skipped) snprintf(skipped, sizeof skipped, "  skipped %lld", (long long)p->skipped);
    /* a live line on a terminal, plain lines otherwise */
    fprintf(stderr, "%sstep %lld/%lld  loss %.5g  |g| %.3g  lr %.3g  %.0f tok/s  ETA %dm%02ds%s%s", tty ? "\r" : "",
            (long long)p->step, (long long)p->total, p->loss, p->grad_norm, p->lr, p->tokens_per_s, (int)eta / 60,
            (int)eta % 60, skipped, tty ? "   " : "\n");
    fflush(stderr);
}

int cmd_train(int argc, char **argv)
{
    enum { O_TASK = 1, O_SEQ, O_DATA, O_K1, O_CELL, O_HID, O_LAYERS, O_DROP, O_INIT, O_GAIN, O_RADIUS, O_FB, O_ZB,
           O_BATCH, O_STEPS, O_OPTIM, O_LR, O_MOM, O_NEST, O_ALPHA, O_B1, O_B2, O_EPS, O_WD, O_SCHED, O_WARM,
           O_SSIZE, O_GAMMA, O_MINLR, O_CLIP, O_CLIPV, O_NONFIN, O_SEED, O_LOG, O_EVAL, O_EVALB, O_FLOW, O_CKPT,
           O_QUIET, O_OUT, O_RESUME, O_INJECT };
    static const struct option opts[] = {
        {"task", required_argument, 0, O_TASK}, {"seq-len", required_argument, 0, O_SEQ},
        {"data", required_argument, 0, O_DATA}, {"k1", required_argument, 0, O_K1},
        {"cell", required_argument, 0, O_CELL}, {"hidden", required_argument, 0, O_HID},
        {"layers", required_argument, 0, O_LAYERS}, {"dropout", required_argument, 0, O_DROP},
        {"init", required_argument, 0, O_INIT}, {"gain", required_argument, 0, O_GAIN},
        {"radius", required_argument, 0, O_RADIUS}, {"forget-bias", required_argument, 0, O_FB},
        {"zero-bias", no_argument, 0, O_ZB}, {"batch", required_argument, 0, O_BATCH},
        {"steps", required_argument, 0, O_STEPS}, {"optim", required_argument, 0, O_OPTIM},
        {"lr", required_argument, 0, O_LR}, {"momentum", required_argument, 0, O_MOM},
        {"nesterov", no_argument, 0, O_NEST}, {"alpha", required_argument, 0, O_ALPHA},
        {"beta1", required_argument, 0, O_B1}, {"beta2", required_argument, 0, O_B2},
        {"eps", required_argument, 0, O_EPS}, {"weight-decay", required_argument, 0, O_WD},
        {"schedule", required_argument, 0, O_SCHED}, {"warmup", required_argument, 0, O_WARM},
        {"step-size", required_argument, 0, O_SSIZE}, {"gamma", required_argument, 0, O_GAMMA},
        {"min-lr", required_argument, 0, O_MINLR}, {"clip", required_argument, 0, O_CLIP},
        {"clip-value", required_argument, 0, O_CLIPV}, {"on-nonfinite", required_argument, 0, O_NONFIN},
        {"seed", required_argument, 0, O_SEED}, {"log-every", required_argument, 0, O_LOG},
        {"eval-every", required_argument, 0, O_EVAL}, {"eval-batches", required_argument, 0, O_EVALB},
        {"flow-every", required_argument, 0, O_FLOW}, {"ckpt-every", required_argument, 0, O_CKPT},
        {"quiet", no_argument, 0, O_QUIET}, {"out", required_argument, 0, O_OUT},
        {"resume", required_argument, 0, O_RESUME}, {"inject-nan-at", required_argument, 0, O_INJECT},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "train", .usage = train_usage};
    rl_train_config cfg = rl_train_defaults();
    const char *out = NULL, *resume = NULL, *optim = NULL;
    int e = 0, v, steps_i = 0;
    double lr = cfg.sched.lr;
    int tmp;
    rl_optim_config oc = cfg.optim;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_TASK:
            if (rl_task_parse(optarg, &cfg.task)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_SEQ: e = cli_int(&c, "seq-len", optarg, 1, 1000000, &cfg.seq_len); break;
        case O_DATA: cfg.text_path = optarg; break;
        case O_K1: e = cli_int(&c, "k1", optarg, 1, 1000000, &cfg.k1); break;
        case O_CELL:
            if (rl_cell_parse(optarg, &cfg.cell)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_HID: e = cli_int(&c, "hidden", optarg, 1, RL_MAX_SIZE, &cfg.hidden); break;
        case O_LAYERS: e = cli_int(&c, "layers", optarg, 1, RL_MAX_LAYERS, &cfg.layers); break;
        case O_DROP: e = cli_double(&c, "dropout", optarg, 0, 0.99, &cfg.dropout); break;
        case O_INIT:
            if (rl_init_parse(optarg, &cfg.init.kind)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_GAIN: e = cli_double(&c, "gain", optarg, -1e6, 1e6, &cfg.init.gain); break;
        case O_RADIUS: e = cli_double(&c, "radius", optarg, 1e-300, 1e6, &cfg.init.radius); break;
        case O_FB: e = cli_double(&c, "forget-bias", optarg, -100, 100, &cfg.init.forget_bias); break;
        case O_ZB: cfg.init.zero_bias = 1; break;
        case O_BATCH: e = cli_int(&c, "batch", optarg, 1, 1000000, &cfg.batch); break;
        case O_STEPS: e = cli_int(&c, "steps", optarg, 1, 2000000000, &steps_i); cfg.steps = steps_i; break;
        case O_OPTIM: optim = optarg; break;
        case O_LR: e = cli_double(&c, "lr", optarg, 1e-12, 1e3, &lr); break;
        case O_MOM: e = cli_double(&c, "momentum", optarg, 0, 0.9999, &oc.momentum); break;
        case O_NEST: oc.nesterov = 1; break;
        case O_ALPHA: e = cli_double(&c, "alpha", optarg, 0, 0.9999999, &oc.alpha); break;
        case O_B1: e = cli_double(&c, "beta1", optarg, 0, 0.9999999, &oc.beta1); break;
        case O_B2: e = cli_double(&c, "beta2", optarg, 0, 0.9999999, &oc.beta2); break;
        case O_EPS: e = cli_double(&c, "eps", optarg, 1e-30, 1, &oc.eps); break;
        case O_WD: e = cli_double(&c, "weight-decay", optarg, 0, 10, &oc.weight_decay); break;
        case O_SCHED:
            if (rl_sched_parse(optarg, &cfg.sched.kind)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_WARM: e = cli_int(&c, "warmup", optarg, 0, 2000000000, &tmp); cfg.sched.warmup = tmp; break;
        case O_SSIZE: e = cli_int(&c, "step-size", optarg, 1, 2000000000, &tmp); cfg.sched.step_size = tmp; break;
        case O_GAMMA: e = cli_double(&c, "gamma", optarg, 0, 10, &cfg.sched.gamma); break;
        case O_MINLR: e = cli_double(&c, "min-lr", optarg, 0, 1e3, &cfg.sched.min_lr); break;
        case O_CLIP: e = cli_double(&c, "clip", optarg, 0, 1e12, &cfg.clip); break;
        case O_CLIPV: e = cli_double(&c, "clip-value", optarg, 0, 1e12, &cfg.clip_value); break;
        case O_NONFIN:
            if (strcmp(optarg, "stop") == 0) cfg.skip_nonfinite = 0;
            else if (strcmp(optarg, "skip") == 0) cfg.skip_nonfinite = 1;
            else e = cli_usage_error(&c, "--on-nonfinite must be stop or skip, got '%s'", optarg);
            break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &cfg.seed); break;
        case O_LOG: e = cli_int(&c, "log-every", optarg, 1, 2000000000, &tmp); cfg.log_every = tmp; break;
        case O_EVAL: e = cli_int(&c, "eval-every", optarg, 0, 2000000000, &tmp); cfg.eval_every = tmp; break;
        case O_EVALB: e = cli_int(&c, "eval-batches", optarg, 1, 1000000, &cfg.eval_batches); break;
        case O_FLOW: e = cli_int(&c, "flow-every", optarg, 0, 2000000000, &tmp); cfg.flow_every = tmp; break;
        case O_CKPT: e = cli_int(&c, "ckpt-every", optarg, 0, 2000000000, &tmp); cfg.ckpt_every = tmp; break;
        case O_QUIET: break;
        case O_OUT: out = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_INJECT: e = cli_int(&c, "inject-nan-at", optarg, 1, 2000000000, &tmp); cfg.inject_nan_at = tmp; break;
        default: return 2;
        }
    }
    if (e) return e;
    if (resume && out) return cli_usage_error(&c, "--resume continues a run in its own folder: drop --out");
    if (!resume && !out) return cli_usage_error(&c, "--out RUN_DIR is required (or --resume RUN_DIR)");
    if (resume)
        for (int k = 1; k < 256; k++)
            if (c.seen[k] && k != O_RESUME && k != O_STEPS && k != O_QUIET)
                return cli_usage_error(&c, "--resume takes only --steps and --quiet: the rest comes from the checkpoint");
    if (optim) {
        rl_optim_kind kind;
        if (rl_optim_parse(optim, &kind)) return cli_usage_error(&c, "%s", rl_errmsg());
        rl_optim_config def = rl_optim_defaults(kind);
        /* the kind's defaults, then what was given */
        def.momentum = c.seen[O_MOM] ? oc.momentum : def.momentum;
        def.nesterov = oc.nesterov;
        def.alpha = c.seen[O_ALPHA] ? oc.alpha : def.alpha;
        def.beta1 = c.seen[O_B1] ? oc.beta1 : def.beta1;
        def.beta2 = c.seen[O_B2] ? oc.beta2 : def.beta2;
        def.eps = c.seen[O_EPS] ? oc.eps : def.eps;
        def.weight_decay = c.seen[O_WD] ? oc.weight_decay : def.weight_decay;
        oc = def;
    }
    cfg.optim = oc;
    cfg.sched.lr = lr;
    if (cfg.sched.kind == RL_SCHED_COSINE) cfg.sched.total = cfg.steps;
    if (cfg.text_path && cfg.task != RL_TASK_TEXT) return cli_usage_error(&c, "--data is for --task text");
    if (c.seen[O_FB] && !rl_cell_has_forget_gate(cfg.cell)) return cli_usage_error(&c, "--forget-bias is for cells with a forget gate (lstm)");
    if (c.seen[O_NEST] && !(oc.kind == RL_OPT_SGD && oc.momentum > 0))
        return cli_usage_error(&c, "--nesterov needs --optim sgd and --momentum > 0");
    rl_trainer *t = NULL;
    rl_status s = resume ? rl_trainer_resume(&t, resume, c.seen[O_STEPS] ? cfg.steps : 0) : rl_trainer_new(&t, &cfg, out);
    if (s == RL_ERR_ARG && !resume) return cli_usage_error(&c, "%s", rl_errmsg());
    if (s) return cli_fail(&c, s);
    const char *dir = resume ? resume : out;
    rl_train_config rc = rl_trainer_config(t);
    rl_config mc = rl_model_config(rl_trainer_model(t));
    fprintf(stderr, "rnnlab train: %s %s, T = %d, %s %d x %d, %zu parameters, %s lr %g, clip %g, from step %lld of %lld -> %s\n",
            resume ? "resuming" : "task", rl_task_name(rc.task), rc.seq_len, rl_cell_name(mc.cell), mc.num_layers,
            mc.hidden_size, rl_model_num_params(rl_trainer_model(t)), rl_optim_name(rc.optim.kind), rc.sched.lr, rc.clip,
            (long long)rl_trainer_step(t), (long long)rc.steps, dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(2), interrupted = 0;
    s = rl_trainer_run(t, (volatile int *)&stop_requested, &interrupted, c.seen[O_QUIET] ? NULL : show_progress, &tty);
    if (tty && !c.seen[O_QUIET]) fputc('\n', stderr);
    int64_t at = rl_trainer_step(t);
    rl_trainer_free(t);
    if (s) return cli_fail(&c, s);
    if (interrupted) {
        fprintf(stderr, "rnnlab train: interrupted at step %lld; checkpoint saved; continue with: rnnlab train --resume %s\n",
                (long long)at, dir);
        return 130;
    }
    fprintf(stderr, "rnnlab train: done, %lld steps; model in %s/model.safetensors\n", (long long)at, dir);
    return 0;
}

static const char eval_usage[] =
    "usage: rnnlab eval --model M --task TASK [--seq-len T] [--data FILE] [--json]\n"
    "\n"
    "Evaluate a model on fresh sequences of a task (text: the validation split):\n"
    "the loss; MSE, accuracy and the baseline for the tasks; bits per character and\n"
    "perplexity for text. --json: one JSON object on stdout.\n"
    "\n"
    "  --model M         model file                                   (required)\n"
    "  --task TASK       adding | adding-hs97 | copy | temporal-order | text  (required)\n"
    "  --seq-len T       sequence length                              [100]\n"
    "  --data FILE       text: the file the model was trained on      [built-in corpus]\n"
    "  --batch B         sequences per batch                          [50]\n"
    "  --batches N       batches (text: all of the validation split)  [20]\n"
    "  --seed S          seed of the sequences                        [12345]\n"
    "  --json            JSON on stdout instead of a table\n";

int cmd_eval(int argc, char **argv)
{
    enum { O_MODEL = 1, O_TASK, O_SEQ, O_DATA, O_BATCH, O_BATCHES, O_SEED, O_JSON };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"task", required_argument, 0, O_TASK},
        {"seq-len", required_argument, 0, O_SEQ}, {"data", required_argument, 0, O_DATA},
        {"batch", required_argument, 0, O_BATCH}, {"batches", required_argument, 0, O_BATCHES},
        {"seed", required_argument, 0, O_SEED},   {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "eval", .usage = eval_usage};
    const char *model = NULL, *task_name = NULL, *data = NULL;
    int T = 100, B = 50, batches = 20, e = 0, v;
    uint64_t seed = 12345;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_MODEL: model = optarg; break;
        case O_TASK: task_name = optarg; break;
        case O_SEQ: e = cli_int(&c, "seq-len", optarg, 1, 1000000, &T); break;
        case O_DATA: data = optarg; break;
        case O_BATCH: e = cli_int(&c, "batch", optarg, 1, 100000, &B); break;
        case O_BATCHES: e = cli_int(&c, "batches", optarg, 1, 1000000, &batches); break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &seed); break;
        case O_JSON: break;
        default: return 2;
        }
    }
    if (e || (e = cli_require(&c, model, "model")) || (e = cli_require(&c, task_name, "task"))) return e;
    rl_task_kind kind;
    if (rl_task_parse(task_name, &kind)) return cli_usage_error(&c, "%s", rl_errmsg());
    if (data && kind != RL_TASK_TEXT) return cli_usage_error(&c, "--data is for --task text");
    rl_model *m = NULL;
    rl_task *task = NULL;
    rl_score sc;
    rl_status s = rl_model_load(&m, model, RL_F32);
    if (!s) s = rl_task_new(&task, kind, T, data);
    if (!s) s = rl_evaluate(m, task, B, kind == RL_TASK_TEXT && !c.seen[O_BATCHES] ? 0 : batches, seed, &sc);
    if (s) {
        rl_task_free(task);
        rl_model_free(m);
        return cli_fail(&c, s);
    }
    rl_task_info in = rl_task_get_info(task);
    double loss = sc.loss_sum / sc.weight_sum;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", task_name);
    cJSON_AddNumberToObject(j, "seq_len", T);
    cJSON_AddNumberToObject(j, "loss", loss);
    if (!isnan(in.baseline)) cJSON_AddNumberToObject(j, "baseline", in.baseline);
    if (sc.n_err > 0) cJSON_AddNumberToObject(j, "mse", sc.sq_err / sc.n_err);
    if (sc.n_items > 0) cJSON_AddNumberToObject(j, "accuracy", sc.correct / sc.n_items);
    if (kind == RL_TASK_TEXT) {
        cJSON_AddNumberToObject(j, "bpc", loss / log(2.0));
        cJSON_AddNumberToObject(j, "perplexity", exp(loss));
    }
    cJSON_AddNumberToObject(j, "scored_steps", sc.weight_sum);
    cli_print_object(j, c.seen[O_JSON]);
    cJSON_Delete(j);
    rl_task_free(task);
    rl_model_free(m);
    return 0;
}
