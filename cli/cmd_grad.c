/* rnnlab grad and rnnlab gradcheck: BPTT on a file, and BPTT checked. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char grad_usage[] =
    "usage: rnnlab grad --model M --data D --out G [--precision f32|f64]\n"
    "\n"
    "Forward pass and backpropagation through time of model M on data D. Writes\n"
    "safetensors G holding 'loss' and 'grad.<name>' for every parameter (names as\n"
    "in the model file), plus 'grad.h0' when D has h0 ('grad.c0' with c0), in the\n"
    "precision of the computation. Prints the loss on stdout.\n"
    "\n"
    "  --model M         model file (safetensors)                      (required)\n"
    "  --data D          data file: x, y, optional mask, h0, c0        (required)\n"
    "  --out G           gradient file ('-' for stdout)                (required)\n"
    "  --precision P     f32 | f64                                     [f32]\n";

int cmd_grad(int argc, char **argv)
{
    enum { O_MODEL = 1, O_DATA, O_OUT, O_PREC };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"data", required_argument, 0, O_DATA},
                                         {"out", required_argument, 0, O_OUT},
                                         {"precision", required_argument, 0, O_PREC},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "grad", .usage = grad_usage};
    const char *model = NULL, *data = NULL, *out = NULL;
    rl_dtype dt = RL_F32;
    int v;
    optind = 0;
    while ((v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_MODEL: model = optarg; break;
        case O_DATA: data = optarg; break;
        case O_OUT: out = optarg; break;
        case O_PREC:
            if (rl_dtype_parse(optarg, &dt)) return cli_usage_error(&c, "--precision: %s", rl_errmsg());
            break;
        default: return 2;
        }
    }
    int e;
    if ((e = cli_require(&c, model, "model")) || (e = cli_require(&c, data, "data")) ||
        (e = cli_require(&c, out, "out")))
        return e;
    if (strcmp(model, "-") == 0 && strcmp(data, "-") == 0)
        return cli_usage_error(&c, "only one of --model and --data can be stdin");
    if ((e = cli_check_output(&c, out))) return e;
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    double loss = 0;
    rl_status s = rl_model_load(&m, model, dt);
    if (!s) s = rl_data_load(&d, data, m, dt);
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    if (!s) s = rl_ws_new(&ws, m, b->batch, b->steps);
    if (!s) s = rl_forward(ws, m, b, &loss);
    if (!s) s = rl_backward(ws, m, b);
    if (!s) s = rl_grad_save(out, m, ws, b, loss);
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
    if (s) return cli_fail(&c, s);
    if (strcmp(out, "-") != 0) printf("loss %.17g\n", loss);
    return 0;
}

static const char gradcheck_usage[] =
    "usage: rnnlab gradcheck [options]\n"
    "\n"
    "Make a random model and random data, then compare BPTT with central finite\n"
    "differences (4-point stencil, step 1e-3) in float64 on every parameter and\n"
    "every element of h0 (and c0). The error of an element is\n"
    "|a - n| / max(|a|, |n|, 1e-4). A relu net is differentiated on the smooth\n"
    "piece its point lies on (each unit held on or off as there), so that no\n"
    "difference straddles a kink. Exits 1 if the worst exceeds --tol.\n"
    "\n"
    "  --cell C          {cells}             [tanh]\n"
    "  --layers L        number of layers                              [1]\n"
    "  --hidden H        hidden size                                   [8]\n"
    "  --input I         input size                                    [3]\n"
    "  --output O        output size                                   [4]\n"
    "  --loss LOSS       mse | cross_entropy                           [cross_entropy]\n"
    "  --batch B         batch size                                    [3]\n"
    "  --steps T         sequence length                               [10]\n"
    "  --init KIND       uniform | gaussian | orthogonal | identity | symmetric | chrono  [uniform]\n"
    "                    (chrono: lstm and gru, forgetting times up to --steps)\n"
    "  --gain G          gain of the init                              [1]\n"
    "  --no-mask         every step carries loss (default: a random mask)\n"
    "  --no-h0           zero initial state (default: a random h0)\n"
    "  --seed S          random seed                                   [1]\n"
    "  --tol X           largest accepted error                        [1e-7]\n"
    "  --orthogonal MAP  exp | cayley: an orthogonal W_hh (as rnnlab init makes it,\n"
    "                    then X's strict lower triangle U(-1, 1), so that A != 0)\n"
    "  --progress        progress on stderr even when it is not a terminal\n"
    "  --quiet           no progress (shown on a terminal by default)\n"
    "Ctrl-C stops the check (exit 130).\n";


/* An orthogonal model's X: U(-1, 1) strictly below the diagonal (only
 * that part counts), so that A is not 0 and the map is checked off its
 * identity. */
static void randomise_x(rl_model *m, uint64_t seed)
{
    rl_config c = rl_model_config(m);
    rl_rng r;
    rl_rng_seed(&r, seed);
    for (int l = 0; l < c.num_layers; l++) {
        char name[80];
        snprintf(name, sizeof name, "rnn.parametrizations.weight_hh_l%d.original", l);
        double *x = (double *)rl_model_params(m) + rl_model_tensor(m, rl_model_find_tensor(m, name))->offset;
        for (int i = 0; i < c.hidden_size; i++)
            for (int j = 0; j < i; j++) x[(size_t)i * c.hidden_size + j] = 2 * rl_rng_uniform(&r) - 1;
    }
}

int cmd_gradcheck(int argc, char **argv)
{
    enum { O_CELL = 1, O_LAYERS, O_HID, O_IN, O_OUTSZ, O_LOSS, O_BATCH, O_STEPS, O_INIT, O_GAIN, O_NOMASK,
           O_NOH0, O_SEED, O_TOL, O_PROGRESS, O_QUIET, O_ORTH };
    static const struct option opts[] = {
        {"cell", required_argument, 0, O_CELL},     {"layers", required_argument, 0, O_LAYERS},
        {"hidden", required_argument, 0, O_HID},    {"input", required_argument, 0, O_IN},
        {"output", required_argument, 0, O_OUTSZ},  {"loss", required_argument, 0, O_LOSS},
        {"batch", required_argument, 0, O_BATCH},   {"steps", required_argument, 0, O_STEPS},
        {"init", required_argument, 0, O_INIT},     {"gain", required_argument, 0, O_GAIN},
        {"no-mask", no_argument, 0, O_NOMASK},      {"no-h0", no_argument, 0, O_NOH0},
        {"seed", required_argument, 0, O_SEED},     {"tol", required_argument, 0, O_TOL},
        {"progress", no_argument, 0, O_PROGRESS},   {"quiet", no_argument, 0, O_QUIET},
        {"orthogonal", required_argument, 0, O_ORTH},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "gradcheck", .usage = gradcheck_usage};
    rl_orth orth = RL_ORTH_NONE;
    rl_config cfg = {RL_CELL_TANH, 3, 8, 1, 4, RL_LOSS_CE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1.0};
    int B = 3, T = 10, e = 0, v;
    uint64_t seed = 1;
    double tol = 1e-7;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_CELL:
            if (rl_cell_parse(optarg, &cfg.cell)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_LAYERS: e = cli_int(&c, "layers", optarg, 1, 8, &cfg.num_layers); break;
        case O_HID: e = cli_int(&c, "hidden", optarg, 1, 256, &cfg.hidden_size); break;
        case O_IN: e = cli_int(&c, "input", optarg, 1, 256, &cfg.input_size); break;
        case O_OUTSZ: e = cli_int(&c, "output", optarg, 1, 256, &cfg.output_size); break;
        case O_LOSS:
            if (rl_loss_parse(optarg, &cfg.loss)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_BATCH: e = cli_int(&c, "batch", optarg, 1, 64, &B); break;
        case O_STEPS: e = cli_int(&c, "steps", optarg, 1, 1000, &T); break;
        case O_INIT:
            if (rl_init_parse(optarg, &init.kind)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_GAIN: e = cli_double(&c, "gain", optarg, -100, 100, &init.gain); break;
        case O_NOMASK: case O_NOH0: case O_PROGRESS: case O_QUIET: break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &seed); break;
        case O_TOL: e = cli_double(&c, "tol", optarg, 0, 1, &tol); break;
        case O_ORTH:
            if (rl_orth_parse(optarg, &orth)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        default: return 2;
        }
    }
    int mode = 0;
    if (e || (e = cli_progress_mode(&c, O_PROGRESS, O_QUIET, &mode))) return e;
    rl_model *m = NULL;
    rl_data *d = NULL;
    double worst = 0;
    char where[64] = "";
    rl_status s = rl_model_new_orth(&m, &cfg, RL_F64, orth);
    if (s == RL_ERR_ARG) return cli_usage_error(&c, "%s", rl_errmsg());
    if (init.kind == RL_INIT_CHRONO) init.t_max = T > 2 ? T : 2; /* as rnnlab train: the sequence's steps */
    if (!s && (s = rl_model_init(m, &init, seed)) == RL_ERR_ARG) { /* an init the cell does not take */
        rl_model_free(m);
        return cli_usage_error(&c, "%s", rl_errmsg());
    }
    if (!s && orth) randomise_x(m, seed + 2);
    if (!s) s = rl_data_random(&d, m, B, T, RL_F64, !c.seen[O_NOMASK], !c.seen[O_NOH0], seed + 1);
    cli_progress_begin(&c, mode);
    if (!s) s = rl_gradcheck(m, rl_data_batch(d), &worst, where, sizeof where);
    cli_progress_end();
    size_t np = m ? rl_model_num_params(m) : 0;
    rl_data_free(d);
    rl_model_free(m);
    if (s) return cli_fail(&c, s);
    int ok = worst <= tol;
    printf("gradcheck %s%s%s: %d layer%s, H=%d, B=%d, T=%d, %zu parameters: worst relative error %.3g (%s) %s %.1g\n",
           rl_cell_name(cfg.cell), orth ? " orthogonal " : "", orth ? rl_orth_name(orth) : "", cfg.num_layers, cfg.num_layers > 1 ? "s" : "", cfg.hidden_size, B, T, np, worst,
           where, ok ? "<=" : ">", tol);
    if (!ok) fprintf(stderr, "rnnlab gradcheck: FAILED: worst relative error %.3g in %s exceeds %.1g\n", worst, where, tol);
    return ok ? 0 : 1;
}
