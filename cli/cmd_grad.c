/* rnnlab grad and rnnlab gradcheck: BPTT on a file, and BPTT checked. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char grad_usage[] =
    "usage: rnnlab grad --model M --data D --out G [--precision f32|f64]\n"
    "                   [--omega W [--omega-form F]] [--floss K [--floss-weight W] [--floss-target X]]\n"
    "\n"
    "Forward pass and backpropagation through time of model M on data D. Writes\n"
    "safetensors G holding 'loss' and 'grad.<name>' for every parameter (names as\n"
    "in the model file), plus 'grad.h0' when D has h0 ('grad.c0' with c0), in the\n"
    "precision of the computation. Prints the loss on stdout.\n"
    "\n"
    "The regularisers on the Jacobians (docs/training.md) add their gradients: G\n"
    "then holds those of L + W Omega + W' F, and the unweighted Omega and F.\n"
    "\n"
    "  --model M         model file (safetensors)                      (required)\n"
    "  --data D          data file: x, y, optional mask, h0, c0        (required)\n"
    "  --out G           gradient file ('-' for stdout)                (required)\n"
    "  --precision P     f32 | f64                                     [f32]\n"
    "  --omega W         Pascanu et al.'s Omega, weight W >= 0 (0: only measured):\n"
    "                    'omega', and 'omega.ratio' (L, B, T) = ||J^T delta|| / ||delta||\n"
    "                    per step (NaN where delta = 0); prints the ratios' quartiles and\n"
    "                    the share of steps in bins around 1\n"
    "  --omega-form F    norm (the paper's) | squared (their code's)   [norm]\n"
    "  --floss K         gradient flossing of each sequence's top K Lyapunov\n"
    "                    exponents, 1 <= K <= the state size: 'floss' and\n"
    "                    'floss.lambda' (B, K); prints their means over the sequences\n"
    "  --floss-weight W  its weight W >= 0                             [1]\n"
    "  --floss-target X  the exponents' target lambda*                 [0]\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* min, quartiles and max of the counted (non-NaN) ratios */
static void print_quartiles(const char *what, const double *v, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    size_t k = 0;
    for (size_t i = 0; s && i < n; i++)
        if (!isnan(v[i])) s[k++] = v[i];
    if (s && k) {
        qsort(s, k, sizeof *s, cmp_double);
        printf("%s min %.6g q1 %.6g median %.6g q3 %.6g max %.6g over %zu steps\n", what, s[0], s[k / 4], s[k / 2],
               s[(3 * k) / 4 < k ? (3 * k) / 4 : k - 1], s[k - 1], k);
        /* the histogram: the share of steps in bins around 1 */
        static const double edge[] = {0.5, 0.8, 0.95, 1.05, 1.25, 2};
        const int nb = (int)(sizeof edge / sizeof edge[0]);
        size_t count[8] = {0};
        for (size_t i = 0; i < k; i++) {
            int bin = 0;
            while (bin < nb && s[i] >= edge[bin]) bin++;
            count[bin]++;
        }
        printf("%s histogram", what);
        for (int bin = 0; bin <= nb; bin++) {
            if (bin == 0) printf(" [0, %g) %.3f", edge[0], (double)count[0] / k);
            else if (bin == nb) printf(", [%g, inf) %.3f", edge[nb - 1], (double)count[nb] / k);
            else printf(", [%g, %g) %.3f", edge[bin - 1], edge[bin], (double)count[bin] / k);
        }
        printf("\n");
    }
    free(s);
}

int cmd_grad(int argc, char **argv)
{
    enum { O_MODEL = 1, O_DATA, O_OUT, O_PREC, O_OMEGA, O_OFORM, O_FLOSS, O_FWEIGHT, O_FTARGET };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"data", required_argument, 0, O_DATA},
                                         {"out", required_argument, 0, O_OUT},
                                         {"precision", required_argument, 0, O_PREC},
                                         {"omega", required_argument, 0, O_OMEGA},
                                         {"omega-form", required_argument, 0, O_OFORM},
                                         {"floss", required_argument, 0, O_FLOSS},
                                         {"floss-weight", required_argument, 0, O_FWEIGHT},
                                         {"floss-target", required_argument, 0, O_FTARGET},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "grad", .usage = grad_usage};
    const char *model = NULL, *data = NULL, *out = NULL;
    rl_dtype dt = RL_F32;
    rl_omega_form form = RL_OMEGA_NORM;
    double omega_w = 0;
    rl_floss_config fc = {0, 0, 1};
    int v, e = 0;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_MODEL: model = optarg; break;
        case O_DATA: data = optarg; break;
        case O_OUT: out = optarg; break;
        case O_PREC:
            if (rl_dtype_parse(optarg, &dt)) return cli_usage_error(&c, "--precision: %s", rl_errmsg());
            break;
        case O_OMEGA: e = cli_double(&c, "omega", optarg, 0, 1e12, &omega_w); break;
        case O_OFORM:
            if (rl_omega_form_parse(optarg, &form)) return cli_usage_error(&c, "--omega-form: %s", rl_errmsg());
            break;
        case O_FLOSS: e = cli_int(&c, "floss", optarg, 1, 1 << 30, &fc.k); break;
        case O_FWEIGHT: e = cli_double(&c, "floss-weight", optarg, 0, 1e12, &fc.weight); break;
        case O_FTARGET: e = cli_double(&c, "floss-target", optarg, -1e6, 1e6, &fc.target); break;
        default: return 2;
        }
    }
    if (e || (e = cli_require(&c, model, "model")) || (e = cli_require(&c, data, "data")) ||
        (e = cli_require(&c, out, "out")))
        return e ? e : 2;
    if (strcmp(model, "-") == 0 && strcmp(data, "-") == 0)
        return cli_usage_error(&c, "only one of --model and --data can be stdin");
    cli_input(&c, "--model", model);
    cli_input(&c, "--data", data);
    if ((e = cli_check_output(&c, "out", out))) return e;
    const int want_omega = c.seen[O_OMEGA], want_floss = c.seen[O_FLOSS];
    if (c.seen[O_OFORM] && !want_omega) return cli_usage_error(&c, "--omega-form needs --omega W");
    if ((c.seen[O_FWEIGHT] || c.seen[O_FTARGET]) && !want_floss)
        return cli_usage_error(&c, "--floss-weight and --floss-target need --floss K");
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    double loss = 0, omega = 0, floss = 0, *ratio = NULL, *lambda = NULL;
    rl_status s = rl_model_load(&m, model, dt);
    if (!s) s = rl_data_load(&d, data, m, dt);
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    if (!s && want_floss && (fc.k > rl_state_size(m))) {
        int S = rl_state_size(m);
        rl_data_free(d);
        rl_model_free(m);
        return cli_usage_error(&c, "--floss %d: the model's state has %d dimensions, so K <= %d", fc.k, S, S);
    }
    const int64_t L = m ? rl_model_config(m).num_layers : 0, B = b ? b->batch : 0, T = b ? b->steps : 0;
    if (!s) s = rl_ws_new(&ws, m, b->batch, b->steps);
    if (!s && want_omega) s = rl_ws_keep_grad_hidden(ws);
    if (!s) s = rl_forward(ws, m, b, &loss);
    if (!s) s = rl_backward(ws, m, b);
    if (!s && want_omega && !(ratio = malloc((size_t)(L * B * T) * sizeof *ratio))) s = RL_ERR_NOMEM;
    if (!s && want_omega) s = rl_omega(ws, m, form, omega_w, &omega, ratio);
    if (!s && want_floss && !(lambda = malloc((size_t)(B * fc.k) * sizeof *lambda))) s = RL_ERR_NOMEM;
    if (!s && want_floss)
        s = rl_floss(m, b, &fc, &floss, lambda, rl_ws_grad(ws), b->h0 ? (void *)rl_ws_grad_h0(ws) : NULL,
                     b->c0 ? (void *)rl_ws_grad_c0(ws) : NULL);
    /* the unweighted values beside the gradients, in the precision of the computation */
    float om32 = (float)omega, fl32 = (float)floss;
    const char *ft = dt == RL_F64 ? "F64" : "F32";
    rl_st_tensor extra[4];
    int nx = 0;
    if (want_omega) {
        extra[nx++] = (rl_st_tensor){"omega", ft, 0, {0}, dt == RL_F64 ? (const void *)&omega : (const void *)&om32};
        extra[nx++] = (rl_st_tensor){"omega.ratio", "F64", 3, {L, B, T}, ratio};
    }
    if (want_floss) {
        extra[nx++] = (rl_st_tensor){"floss", ft, 0, {0}, dt == RL_F64 ? (const void *)&floss : (const void *)&fl32};
        extra[nx++] = (rl_st_tensor){"floss.lambda", "F64", 2, {B, fc.k}, lambda};
    }
    if (!s) s = rl_grad_save_ex(out, m, ws, b, loss, extra, nx);
    if (!s && strcmp(out, "-") != 0) {
        printf("loss %.17g\n", loss);
        if (want_omega) {
            printf("omega %.17g\n", omega);
            print_quartiles("omega ratio ||J^T delta||/||delta||", ratio, (size_t)(L * B * T));
        }
        if (want_floss) {
            printf("floss %.17g\nfloss lambda (mean over %lld sequences):", floss, (long long)B);
            for (int i = 0; i < fc.k; i++) {
                double mean = 0;
                for (int64_t q = 0; q < B; q++) mean += lambda[q * fc.k + i] / (double)B;
                printf(" %.6g", mean);
            }
            printf("\n");
        }
    }
    free(ratio);
    free(lambda);
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
    if (s) return cli_fail(&c, s);
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
    "  --init KIND       uniform | gaussian | orthogonal | identity | symmetric | chrono | henaff  [uniform]\n"
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
static rl_status randomise_x(rl_model *m, uint64_t seed)
{
    rl_config c = rl_model_config(m);
    const int64_t shape[2] = {c.hidden_size, c.hidden_size};
    rl_rng r;
    rl_rng_seed(&r, seed);
    for (int l = 0; l < c.num_layers; l++) {
        char name[80];
        snprintf(name, sizeof name, "rnn.parametrizations.weight_hh_l%d.original", l);
        double *x = rl_model_view(m, name, 2, shape);
        if (!x) return RL_ERR_ARG;
        for (int i = 0; i < c.hidden_size; i++)
            for (int j = 0; j < i; j++) x[(size_t)i * c.hidden_size + j] = 2 * rl_rng_uniform(&r) - 1;
    }
    return RL_OK;
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
    rl_init_for_steps(&init, cfg.cell, T); /* as rnnlab train: from the sequence's steps */
    if (!s && (s = rl_model_init(m, &init, seed)) == RL_ERR_ARG) { /* an init the cell does not take */
        rl_model_free(m);
        return cli_usage_error(&c, "%s", rl_errmsg());
    }
    if (!s && orth) s = randomise_x(m, seed + 2);
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
