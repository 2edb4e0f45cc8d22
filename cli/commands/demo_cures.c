/* rnnlab demo, its opening and its fifth section: the study notes' question
 * worked in numbers, and the cures for vanishing and exploding gradients
 * seen through the same Jacobians. */
#include "commands/demo.h"

#include "plots/plot.h"
#include "plots/runplots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the opening */

/* A matrix as an HTML table, name on its left (cells %.4f). */
static void html_matrix(char *buf, size_t n, const char *name, const double *a, int S)
{
    size_t k = strlen(buf);
    k += (size_t)snprintf(buf + k, n - k, "<table class=\"mx\"><tr><td rowspan=\"%d\">%s</td>", S, name);
    for (int i = 0; i < S && k < n; i++) {
        if (i) k += (size_t)snprintf(buf + k, n - k, "<tr>");
        for (int j = 0; j < S && k < n; j++) k += (size_t)snprintf(buf + k, n - k, "<td>%.4f</td>", a[(size_t)i * S + j]);
        if (k < n) k += (size_t)snprintf(buf + k, n - k, "</tr>");
    }
    if (k < n) snprintf(buf + k, n - k, "</table>");
}

/* One worked model: its J_k, V, Lambda_k and the product beside V (prod) V^-1. */
static int worked_part(demo *d, rl_cell cell, double gain, const char *what, char *html, size_t n, double *dev)
{
    rl_config c = {.cell = cell, .input_size = 1, .hidden_size = 3, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_SYMMETRIC, .gain = gain};
    rl_model *m = NULL;
    rl_jac *j = NULL;
    rl_worked *w = malloc(sizeof *w);
    const int T = 4;
    double x[4];
    rl_rng r;
    rl_rng_seed(&r, d->seed);
    for (int t = 0; t < T; t++) x[t] = rl_rng_normal(&r);
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, NULL, NULL, NULL, NULL};
    rl_status s = w ? rl_model_new(&m, &c, RL_F64) : RL_ERR_NOMEM;
    if (!s) s = rl_model_init(m, &init, d->seed);
    if (!s) s = rl_jac_new(&j, m, &b, 0);
    if (!s) s = rl_jac_worked(j, T, 0, w);
    if (!s) {
        size_t k = strlen(html);
        k += (size_t)snprintf(html + k, n - k, "<p><b>%s</b> (inputs x<sub>t</sub> ~ N(0, 1), h<sub>0</sub> = 0): "
                              "the step Jacobians</p><div class=\"mxrow\">", what);
        for (int t = 0; t < T; t++) {
            char name[48];
            snprintf(name, sizeof name, "J<sub>%d</sub> =", t + 1);
            html_matrix(html, n, name, w->J[t], 3);
        }
        k = strlen(html);
        k += (size_t)snprintf(html + k, n - k, "</div><p>V, the eigenvectors of J<sub>1</sub>, and "
                              "&#923;<sub>k</sub> = diag(V<sup>&#8722;1</sup>J<sub>k</sub>V), with the share of "
                              "V<sup>&#8722;1</sup>J<sub>k</sub>V that lies off its diagonal:</p><div class=\"mxrow\">");
        html_matrix(html, n, "V =", w->V, 3);
        k = strlen(html);
        k += (size_t)snprintf(html + k, n - k, "<table class=\"mx\"><tr><th>k</th><th colspan=\"3\">&#923;<sub>k</sub>"
                              "</th><th>off the diagonal</th></tr>");
        for (int t = 0; t < T && k < n; t++)
            k += (size_t)snprintf(html + k, n - k, "<tr><td>%d</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.2g</td></tr>",
                                  t + 1, w->lambda[t][0], w->lambda[t][1], w->lambda[t][2], w->off_share[t]);
        if (k < n) k += (size_t)snprintf(html + k, n - k, "</table></div><p>The chain rule beside the eigenvalues "
                                         "multiplied:</p><div class=\"mxrow\">");
        html_matrix(html, n, "&#8706;h<sub>4</sub>/&#8706;h<sub>0</sub> =", w->P, 3);
        html_matrix(html, n, "V &#923;<sub>4</sub>&#923;<sub>3</sub>&#923;<sub>2</sub>&#923;<sub>1</sub> V<sup>&#8722;1</sup> =",
                    w->R, 3);
        k = strlen(html);
        snprintf(html + k, n - k, "</div><p>Largest |difference| / largest |&#8706;h<sub>4</sub>/&#8706;h<sub>0</sub>| = "
                 "%.2g.</p>", w->deviation);
        *dev = w->deviation;
    }
    rl_jac_free(j);
    rl_model_free(m);
    free(w);
    return s ? demo_fail(s) : 0;
}

int demo_section_worked(demo *d)
{
    size_t n = 64 * 1024;
    char *html = calloc(n, 1);
    if (!html) return demo_fail(RL_ERR_NOMEM);
    snprintf(html, n, "<p>The question of the study notes this lab grew from (Deep Learning, ch. 10), in numbers: "
             "for a recurrent net, the chain rule gives &#8706;h<sub>t</sub>/&#8706;h<sub>&#964;</sub> = "
             "J<sub>t</sub>&#8943;J<sub>&#964;+1</sub>; if every J<sub>k</sub> = V&#923;<sub>k</sub>V<sup>&#8722;1"
             "</sup> with one V, the product is V&#923;<sub>t</sub>&#8943;&#923;<sub>&#964;+1</sub>V<sup>&#8722;1"
             "</sup>. Below, a linear RNN with 3 units and a symmetric W<sub>hh</sub> (gain 0.9), where every "
             "J<sub>k</sub> is W<sub>hh</sub>, and a tanh RNN (gain 1.5), where J<sub>k</sub> = diag(1 &#8722; "
             "h<sub>k</sub><sup>2</sup>) W<sub>hh</sub> changes its eigenvectors with k. <code>rnnlab explain "
             "--model M</code> prints the same for any model with a state of at most 8.</p>");
    double dev_lin = NAN, dev_tanh = NAN;
    int bad = worked_part(d, RL_CELL_LINEAR, 0.9, "Linear RNN", html, n, &dev_lin);
    if (!bad) bad = worked_part(d, RL_CELL_TANH, 1.5, "tanh RNN", html, n, &dev_tanh);
    if (!bad) {
        size_t k = strlen(html);
        snprintf(html + k, n - k, "<p>For the linear RNN the two agree to %.1g (rounding): the eigenvalues multiply. "
                 "For the tanh RNN they are %.2g apart: the identity needs one V for every step, and the "
                 "nonlinearity takes it away. The rest of the report follows both cases over long lags.</p>",
                 dev_lin, dev_tanh);
        report_heading(d->r, "0. The question, worked in numbers", html);
    }
    free(html);
    return bad;
}

/* ------------------------------------------------------------------ 5. the cures */

#define NCURE 6

typedef struct {
    const char *tag, *label;
    rl_cell cell;
    rl_init_kind init;
    rl_orth orth;
} cure;

static const cure cures[NCURE] = {
    {"tanh", "tanh RNN", RL_CELL_TANH, RL_INIT_UNIFORM, RL_ORTH_NONE},
    {"lstm", "LSTM", RL_CELL_LSTM, RL_INIT_UNIFORM, RL_ORTH_NONE},
    {"chrono-lstm", "chrono LSTM", RL_CELL_LSTM, RL_INIT_CHRONO, RL_ORTH_NONE},
    {"orthogonal", "orthogonal tanh (exp map)", RL_CELL_TANH, RL_INIT_ORTHOGONAL, RL_ORTH_EXP},
    {"indrnn", "IndRNN", RL_CELL_INDRNN, RL_INIT_UNIFORM, RL_ORTH_NONE},
    {"leaky", "leaky units (time scales 2..T)", RL_CELL_LEAKY, RL_INIT_UNIFORM, RL_ORTH_NONE},
};

/* the cure's init for sequences of T steps: the library's defaults for T
 * (chrono's forgetting times up to T, IndRNN's bound 2^(1/T)), and the
 * leaky units' time scales from 2 to T */
static rl_init cure_init(const cure *c, int T)
{
    rl_init in = {.kind = c->init, .gain = 1};
    rl_init_for_steps(&in, c->cell, T);
    if (c->cell == RL_CELL_LEAKY) in.timescales[0] = 2, in.timescales[1] = T;
    return in;
}

/* The model of cure k at initialisation (float64, H units, adding inputs). */
static rl_status cure_model(demo *d, int k, int T, rl_model **m)
{
    rl_config cfg = {.cell = cures[k].cell, .input_size = 2, .hidden_size = d->cure_H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init in = cure_init(&cures[k], T);
    rl_status s = rl_model_new_orth(m, &cfg, RL_F64, cures[k].orth);
    if (!s) s = rl_model_init(*m, &in, d->seed);
    return s;
}

/* What section 5 measures at initialisation: lag (NCURE, T+1) ln of each
 * cure's product norm by lag k at ks (T+1); ly (NCURE, 2H) its Lyapunov
 * spectrum (S[k] of them, NaN after) at idx (2H). */
typedef struct {
    double *lag, *ks, *ly, *idx;
    int S[NCURE];
} cures_data;

/* Each cure's Jacobian products and Lyapunov spectrum on one sequence of the
 * adding problem's inputs: 0, or 1 after a line. */
static int cures_measure(demo *d, cures_data *C)
{
    const int T = d->cure_T, H = d->cure_H;
    /* the adding problem's inputs, one sequence of T steps */
    rl_task *task = NULL;
    rl_data *data = NULL;
    rl_rng rng;
    rl_rng_seed(&rng, d->seed);
    rl_status s = rl_task_new(&task, RL_TASK_ADDING, T, NULL);
    if (!s) s = rl_task_data_new(&data, task, 1);
    if (!s) s = rl_task_fill(task, data, &rng, 0, NULL);
    if (s) {
        rl_data_free(data);
        rl_task_free(task);
        return demo_fail(s);
    }
    const rl_batch *b32 = rl_data_batch(data);
    double *x = calloc((size_t)T * 2, sizeof *x);
    int bad = !x;
    for (int i = 0; !bad && i < T * 2; i++) x[i] = ((const float *)b32->x)[i];
    for (int i = 0; !bad && i <= T; i++) C->ks[i] = i;
    for (int i = 0; !bad && i < 2 * H; i++) C->idx[i] = i + 1;
    for (int i = 0; !bad && i < NCURE * 2 * H; i++) C->ly[i] = NAN; /* a state of H leaves the rest blank */
    rl_batch b = {RL_F64, 1, T, 2, x, NULL, NULL, NULL, NULL, NULL};
    for (int k = 0; !bad && k < NCURE && !cli_interrupted(); k++) {
        demo_progress(d, cures[k].label);
        rl_model *m = NULL;
        rl_jac *j = NULL;
        s = cure_model(d, k, T, &m);
        if (!s) s = rl_jac_new(&j, m, &b, 0);
        double *lg = C->lag + (size_t)k * (T + 1), *row = calloc((size_t)T + 1, sizeof *row);
        rl_lag_stats st = {.log_norm = row};
        if (!s && !row) s = RL_ERR_NOMEM;
        if (!s) s = rl_jac_lags(j, &st);
        /* lag k = T - tau: ln ||dh_T / dh_{T-k}|| */
        for (int i = 0; !s && i <= T; i++) lg[i] = row[T - i];
        C->S[k] = m ? rl_state_size(m) : 0;
        rl_lyap_config lc = {.steps = d->lyap_steps, .transient = 100, .k = C->S[k], .input = RL_INPUT_DATA,
                             .state = RL_STATE_RANDOM, .seed = d->seed};
        if (!s) s = rl_lyapunov(m, &b, 0, &lc, C->ly + (size_t)k * 2 * H, NULL);
        free(row);
        rl_jac_free(j);
        rl_model_free(m);
        if (s) bad = demo_fail(s);
    }
    free(x);
    rl_data_free(data);
    rl_task_free(task);
    return bad;
}

/* How much of a gradient survives k steps, each cure at initialisation. */
static int cures_figure_lags(demo *d, const cures_data *C)
{
    const int T = d->cure_T;
    const double *lag = C->lag;
    int bad = 0;
    pl_series ser[NCURE];
    for (int k = 0; k < NCURE; k++) ser[k] = (pl_series){cures[k].label, C->ks, lag + (size_t)k * (T + 1), T + 1, PL_LINE, k};
    pl_figure f = {report_path(d->r, "cures-lags.png"), "At initialisation: how much of a gradient survives k steps",
                   "lag k", "ln ||#[0x2202]h#dT#u/#[0x2202]h#dT-k#u||#d2#u", 0, 0, NAN, NAN, NAN, NAN, 0, 1};
    bad |= plot_lines(&f, ser, NCURE);
    const char *names[NCURE + 1];
    const double *cols[NCURE + 1];
    names[0] = "lag", cols[0] = C->ks;
    for (int k = 0; k < NCURE; k++) names[k + 1] = cures[k].tag, cols[k + 1] = lag + (size_t)k * (T + 1);
    bad |= write_csv(report_path(d->r, "cures-lags.csv"), names, cols, NCURE + 1, T + 1);
    char cap[1600];
    snprintf(cap, sizeof cap,
             "The norm of the Jacobian product from step T &#8722; k to T (T = %d), natural log, at "
             "initialisation: the factor by which a gradient that crosses k steps is multiplied at most. At lag "
             "%d: tanh %.1f, LSTM %.1f, chrono LSTM %.1f, orthogonal %.1f, IndRNN %.1f, leaky %.1f. The plain "
             "tanh RNN and the LSTM with PyTorch's init lose the gradient by orders of magnitude; the cures keep "
             "it within a few units of ln 1 = 0 over the whole sequence, each by its own means: forget gates "
             "near 1 (chrono), eigenvalues on the unit circle (orthogonal), a diagonal recurrence with weights "
             "near 1 (IndRNN), units that change slowly (leaky).",
             T, T, lag[T], lag[(size_t)1 * (T + 1) + T], lag[(size_t)2 * (T + 1) + T], lag[(size_t)3 * (T + 1) + T],
             lag[(size_t)4 * (T + 1) + T], lag[(size_t)5 * (T + 1) + T]);
    report_figure(d->r, "cures-lags.png", cap, "cures-lags.csv");
    return bad;
}

/* Their Lyapunov spectra at initialisation: -lambda_i on a log axis, so
 * that every exponent of every spectrum (the LSTMs' 2H) is in the frame,
 * from those near 0 (the cures') to the LSTM's c part near -10 (issue 28:
 * a linear axis cut at -2 and at the 64th lost them). */
static int cures_figure_lyapunov(demo *d, const cures_data *C)
{
    const int H = d->cure_H;
    const double *ly = C->ly, *idx = C->idx;
    const int *S = C->S;
    int bad = 0, undrawn = 0, Smax = 1;
    pl_series ser[NCURE];
    const char *names[NCURE + 1];
    const double *cols[NCURE + 1];
    char cap[1800];
    double *neg = malloc((size_t)NCURE * 2 * H * sizeof *neg);
    if (!neg) return 1;
    for (int k = 0; k < NCURE; k++) {
        for (int i = 0; i < 2 * H; i++) {
            const double v = ly[(size_t)k * 2 * H + i];
            neg[(size_t)k * 2 * H + i] = -v; /* -inf (a unit always off) is +inf: left out, as is a lambda >= 0 */
            undrawn += i < S[k] && !(v < 0 && isfinite(v));
        }
        Smax = S[k] > Smax ? S[k] : Smax;
        ser[k] = (pl_series){cures[k].label, idx, neg + (size_t)k * 2 * H, S[k], PL_LINE, k};
    }
    pl_figure fl = {report_path(d->r, "cures-lyapunov.png"), "At initialisation: Lyapunov spectra", "index i",
                    "#[0x2212]#gl#di#u: decay per step (log scale)", 0, 1, 0, Smax + 1, NAN, NAN, 0, 1};
    bad |= plot_lines(&fl, ser, NCURE);
    names[0] = "i", cols[0] = idx;
    for (int k = 0; k < NCURE; k++) names[k + 1] = cures[k].tag, cols[k + 1] = ly + (size_t)k * 2 * H;
    bad |= write_csv(report_path(d->r, "cures-lyapunov.csv"), names, cols, NCURE + 1, 2 * H);
    free(neg);
    int near[NCURE];
    for (int k = 0; k < NCURE; k++) {
        near[k] = 0;
        for (int i = 0; i < S[k]; i++) near[k] += fabs(ly[(size_t)k * 2 * H + i]) < 0.01;
    }
    snprintf(cap, sizeof cap,
             "The Lyapunov exponents &#955;<sub>i</sub> of each network driven by the adding inputs, from a random state, "
             "over %d steps, drawn as &#8722;&#955;<sub>i</sub> on a log scale: the rate at which a perturbation along "
             "direction i decays per step, so that the spectra near 0 (low on the figure) and the far ones are all in the "
             "frame. Every exponent is drawn: %d for the RNNs, %d for the LSTMs, whose state is [h; c]%s. Exponents within "
             "0.01 of 0: tanh %d of %d, LSTM %d of %d, chrono LSTM %d of %d, orthogonal %d of %d, IndRNN %d of %d, leaky %d "
             "of %d. An exponent near 0 is a direction along which perturbations, and gradients, neither die nor grow: the "
             "cures put many of their exponents there. The CSV has the exponents themselves.",
             d->lyap_steps, H, 2 * H,
             undrawn ? "; the exponents that are not negative and finite (IndRNN's units that are always off have "
                       "&#8722;&#8734;) cannot be drawn on a log scale and are left out" : "",
             near[0], S[0], near[1], S[1], near[2], S[2], near[3], S[3], near[4], S[4], near[5], S[5]);
    report_figure(d->r, "cures-lyapunov.png", cap, "cures-lyapunov.csv");
    return bad;
}

/* Short training runs of each cure on the adding problem, and their validation losses. */
static int cures_trained(demo *d)
{
    int bad = 0;
    rl_status s;
    const int TT = d->cure_train_T, steps = d->cure_steps;
    char dir[1300];
    if (demo_runs_dir(d, dir, sizeof dir)) return 1;
    double *st[NCURE] = {0}, *val[NCURE] = {0}, final[NCURE];
    int nv[NCURE] = {0};
    for (int k = 0; !bad && k < NCURE && !cli_interrupted(); k++) {
        demo_progress(d, cures[k].label);
        rl_train_config c = rl_train_defaults();
        c.task = RL_TASK_ADDING, c.seq_len = TT, c.cell = cures[k].cell, c.hidden = d->cure_H, c.batch = 32;
        c.steps = steps, c.sched.lr = 3e-3, c.clip = 1, c.init = cure_init(&cures[k], TT), c.orthogonal = cures[k].orth;
        c.log_every = steps / 20 > 0 ? steps / 20 : 1, c.eval_every = steps / 10 > 0 ? steps / 10 : 1;
        c.eval_batches = 4, c.flow_every = 0, c.ckpt_every = 0, c.seed = d->seed;
        char rd[1400], cp[1500];
        snprintf(rd, sizeof rd, "%s/cure-%s", dir, cures[k].tag);
        snprintf(cp, sizeof cp, "%s/checkpoint.safetensors", rd);
        remove(cp);
        rl_trainer *t = NULL;
        int intr = 0;
        s = rl_trainer_new(&t, &c, rd);
        if (!s) s = rl_trainer_run(t, cli_stop_flag(), &intr, NULL, NULL);
        rl_trainer_free(t);
        if (s) bad = demo_fail(s);
        if (!bad && !intr) {
            read_series(rd, "metrics.jsonl", "val_loss", &st[k], &val[k], &nv[k]);
            final[k] = nv[k] ? val[k][nv[k] - 1] : NAN;
            if (!nv[k]) bad = 1, fprintf(stderr, "rnnlab demo: %s/metrics.jsonl holds no validation losses\n", rd);
        }
    }
    if (!bad && !cli_interrupted()) {
        pl_series ser[NCURE + 1];
        double bx[2] = {0, steps}, by[2] = {1.0 / 6, 1.0 / 6};
        for (int k = 0; k < NCURE; k++) ser[k] = (pl_series){cures[k].label, st[k], val[k], nv[k], PL_LINE_POINTS, k};
        ser[NCURE] = (pl_series){"baseline 1/6", bx, by, 2, PL_LINE, 7};
        pl_figure f = {.path = report_path(d->r, "cures-loss.png"), .title = "Adding problem: validation loss",
                       .xlabel = "training step", .ylabel = "MSE", .logy = 1, .xmin = NAN, .xmax = NAN, .ymin = NAN,
                       .ymax = NAN, .intx = 1};
        bad |= plot_lines(&f, ser, NCURE + 1);
        const char *names[NCURE + 1];
        const double *cols[NCURE + 1];
        int rows = nv[0];
        names[0] = "step", cols[0] = st[0];
        for (int k = 0; k < NCURE; k++) {
            names[k + 1] = cures[k].tag, cols[k + 1] = val[k];
            rows = nv[k] < rows ? nv[k] : rows;
        }
        bad |= write_csv(report_path(d->r, "cures-loss.csv"), names, cols, NCURE + 1, rows);
        char cap[1200];
        snprintf(cap, sizeof cap,
                 "The six networks trained on the adding problem at T = %d for %d steps (%d units, Adam 3e-3, "
                 "batch 32, clipping at 1), validation MSE%s against the baseline 1/6. After %d steps: tanh %.3g, "
                 "LSTM %.3g, chrono LSTM %.3g, orthogonal %.3g, IndRNN %.3g, leaky %.3g. A short run, to show the "
                 "start of the difference; docs/results.md has the long-lag table to T = 1000.",
                 TT, steps, d->cure_H, plot_log_axis(ser, NCURE + 1, 1) ? " (log scale)" : "", steps, final[0],
                 final[1], final[2], final[3], final[4], final[5]);
        report_figure(d->r, "cures-loss.png", cap, "cures-loss.csv");
    }
    for (int k = 0; k < NCURE; k++) free(st[k]), free(val[k]);
    return bad;
}

int demo_section_cures(demo *d)
{
    const int T = d->cure_T, H = d->cure_H;
    char intro[1400];
    snprintf(intro, sizeof intro,
             "<p>The cures of chapter 10 and after act on the very Jacobians of the sections above. Six recurrent "
             "networks of %d units at initialisation, on the inputs of the adding problem at T = %d: a tanh RNN "
             "(PyTorch's init), an LSTM (PyTorch's init), an LSTM with the chrono init (forget biases ln u, "
             "u ~ U[1, T &#8722; 1]: Tallec and Ollivier 2018), a tanh RNN with an orthogonal W<sub>hh</sub> "
             "(W = B exp(A), PyTorch's parametrisation), IndRNN (a diagonal recurrence |u| &#8804; 2<sup>1/T</sup>: "
             "Li et al. 2018) and leaky units whose time scales 1/&#945; spread from 2 to T (Deep Learning "
             "&#167;10.9).</p>",
             H, T);
    report_heading(d->r, "5. The cures, through the same Jacobians", intro);
    cures_data C = {.lag = calloc((size_t)NCURE * (T + 1), sizeof *C.lag), .ks = calloc((size_t)T + 1, sizeof *C.ks),
                    .ly = calloc((size_t)NCURE * 2 * H, sizeof *C.ly), .idx = calloc((size_t)2 * H, sizeof *C.idx)};
    int bad = !C.lag || !C.ks || !C.ly || !C.idx ? demo_fail(RL_ERR_NOMEM) : cures_measure(d, &C);
    if (!bad && !cli_interrupted()) bad = cures_figure_lags(d, &C) | cures_figure_lyapunov(d, &C);
    free(C.lag), free(C.ks), free(C.ly), free(C.idx);
    if (bad || cli_interrupted()) return bad;
    return cures_trained(d);
}
