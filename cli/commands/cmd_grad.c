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
    "then holds those of L + W Omega + W' F, and the unweighted Omega and F. With\n"
    "--omega, also 'omega.ratio' (L, B, T) = ||J^T delta|| / ||delta|| per step (NaN\n"
    "where delta = 0), and the ratios' quartiles and the share of steps in bins\n"
    "around 1 on stdout; with --floss K (1 <= K <= the state size), 'floss.lambda'\n"
    "(B, K), each sequence's top K Lyapunov exponents, and their means on stdout.\n"
    "\n";

const cli_command cli_grad_command = {"grad", grad_usage, NULL, "model data_file out_file", 0, NULL};

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

int cmd_grad(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *model = a->model, *data = a->data_file, *out = a->out_file;
    const rl_dtype dt = a->precision;
    const rl_omega_form form = a->t.omega_form;
    const double omega_w = a->t.omega;
    rl_floss_config fc = {a->t.floss, a->t.floss_target, a->floss_weight};
    if (strcmp(model, "-") == 0 && strcmp(data, "-") == 0)
        return cli_usage_error(c, "only one of --model and --data can be stdin");
    cli_input(c, "--model", model);
    cli_input(c, "--data", data);
    if ((e = cli_check_output(c, "out", out))) return e;
    const int want_omega = cli_given(c, "omega"), want_floss = fc.k > 0;
    if (cli_given(c, "omega_form") && !want_omega) return cli_usage_error(c, "--omega-form needs --omega W");
    if ((cli_given(c, "floss_weight") || cli_given(c, "floss_target")) && !want_floss)
        return cli_usage_error(c, "--floss-weight and --floss-target need --floss K (K >= 1)");
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
        return cli_usage_error(c, "--floss %d: the model's state has %d dimensions, so K <= %d", fc.k, S, S);
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
    if (s) return cli_fail(c, s);
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
    "difference straddles a kink. Exits 1 if the worst exceeds --tol. The init's\n"
    "length rules are rnnlab train's for --steps (chrono: forgetting times up to T).\n"
    "With --orthogonal, X's strict lower triangle is drawn from U(-1, 1), so that\n"
    "the map is checked away from A = 0. The check perturbs every parameter in turn:\n"
    "it takes at most 256 units, inputs and outputs, 8 layers, batches of 64 and\n"
    "1000 steps.\n"
    "\n";

static void gradcheck_defaults(cli_args *a)
{
    a->t.hidden = 8, a->t.batch = 3, a->t.seed = 1, a->input = 3, a->output = 4, a->loss = RL_LOSS_CE, a->seq_steps = 10;
}

const cli_command cli_gradcheck_command = {"gradcheck", gradcheck_usage, "Ctrl-C stops the check (exit 130).\n", NULL, 0,
                                           gradcheck_defaults};

/* The check's size limits (it perturbs every parameter in turn): 0, or 2
 * after a usage error naming the option. */
static int gradcheck_limits(const cli_ctx *c, const cli_args *a)
{
    static const struct { const char *name; long most; } limit[] = {
        {"hidden", 256}, {"input", 256}, {"output", 256}, {"layers", 8}, {"batch", 64}, {"seq_steps", 1000}};
    const long value[] = {a->t.hidden, a->input, a->output, a->t.layers, a->t.batch, a->seq_steps};
    for (size_t i = 0; i < sizeof limit / sizeof limit[0]; i++)
        if (value[i] > limit[i].most)
            return cli_usage_error(c, "--%s = %ld: gradcheck perturbs every parameter in turn, so at most %ld",
                                   cli_option_find(limit[i].name)->flag, value[i], limit[i].most);
    return 0;
}

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

int cmd_gradcheck(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0, mode = 0;
    if ((e = gradcheck_limits(c, a)) || (e = cli_progress_mode(c, &mode))) return e;
    const rl_orth orth = a->t.orthogonal;
    const rl_config cfg = {.cell = a->t.cell, .input_size = a->input, .hidden_size = a->t.hidden, .num_layers = a->t.layers, .output_size = a->output, .loss = a->loss,
                     .state_size = a->t.state_size, .activation = a->t.activation};
    rl_init init = a->t.init;
    const int B = a->t.batch, T = a->seq_steps;
    const uint64_t seed = a->t.seed;
    const double tol = a->tol;
    rl_model *m = NULL;
    rl_data *d = NULL;
    double worst = 0;
    char where[64] = "";
    rl_status s = rl_model_new_orth(&m, &cfg, RL_F64, orth);
    if (s == RL_ERR_ARG) return cli_usage_error(c, "%s", rl_errmsg());
    rl_init_for_steps(&init, cfg.cell, T); /* as rnnlab train: from the sequence's steps */
    if (!s && (s = rl_model_init(m, &init, seed)) == RL_ERR_ARG) { /* an init the cell does not take */
        rl_model_free(m);
        return cli_usage_error(c, "%s", rl_errmsg());
    }
    if (!s && orth) s = randomise_x(m, seed + 2);
    if (!s) s = rl_data_random(&d, m, B, T, RL_F64, !a->no_mask, !a->no_h0, seed + 1);
    cli_progress_begin(c, mode);
    if (!s) s = rl_gradcheck(m, rl_data_batch(d), &worst, where, sizeof where);
    cli_progress_end();
    size_t np = m ? rl_model_num_params(m) : 0;
    rl_data_free(d);
    rl_model_free(m);
    if (s) return cli_fail(c, s);
    int ok = worst <= tol;
    printf("gradcheck %s%s%s: %d layer%s, H=%d, B=%d, T=%d, %zu parameters: worst relative error %.3g (%s) %s %.1g\n",
           rl_cell_name(cfg.cell), orth ? " orthogonal " : "", orth ? rl_orth_name(orth) : "", cfg.num_layers, cfg.num_layers > 1 ? "s" : "", cfg.hidden_size, B, T, np, worst,
           where, ok ? "<=" : ">", tol);
    if (!ok) fprintf(stderr, "rnnlab gradcheck: FAILED: worst relative error %.3g in %s exceeds %.1g\n", worst, where, tol);
    return ok ? 0 : 1;
}
