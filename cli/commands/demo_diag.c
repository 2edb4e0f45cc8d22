/* rnnlab demo, section 6: when the theorem holds exactly. An LRU (a complex
 * diagonal lambda) and a minGRU (J_t = diag(1 - z_t)) beside a tanh RNN, on
 * one sequence of noise: the per-lag norms against their closed forms, the
 * eigenvalues of J_t on the unit disc, the eigenvalue-product theorem's
 * deviation, and the Lyapunov exponents against ln|lambda| and the time
 * average of ln(1 - z). */
#include "cli.h"
#include "commands/demo.h"

#include "plots/plot.h"
#include "plots/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NDC 3    /* the cells compared */
#define NDI 2    /* inputs per step */
#define NLAG 20  /* lags at which the theorem is checked */
#define NEIG 8   /* steps whose J_t's eigenvalues are drawn */
#define DEV_FLOOR 1e-17 /* a deviation of exactly 0 is drawn here */

typedef struct {
    const char *tag, *label;
    rl_cell cell;
} dcell;

static const dcell dcells[NDC] = {{"lru", "LRU", RL_CELL_LRU}, {"mingru", "minGRU", RL_CELL_MINGRU},
                                  {"tanh", "tanh RNN", RL_CELL_TANH}};

/* What the section measures. S: each model's state size (the lru's 2H); Sm
 * = 2H, the longest. lag (NDC, T+1): ln ||P(T, T-k)||_2 at lag k; closed
 * (2, T+1): the same from the parameters (lru, mingru); dev (NDC, NLAG):
 * the theorem's eig_dev at the lags lk; eig (NDC, 2, NEIG * Sm): Re and Im
 * of J_t's eigenvalues; ly (NDC, Sm) the measured Lyapunov exponents, lyc
 * (2, Sm) their closed forms (lru, mingru), idx 1..Sm. */
typedef struct {
    int H, T, Sm, S[NDC], steps;
    double *x, *ks, *lag, *closed, *lk, *dev, *eig, *ly, *lyc, *idx;
    double sv_dev[NDC], dev_max[NDC], v_cond[NDC];
} diag_data;

static rl_status diag_model(demo *d, int k, int H, rl_model **m)
{
    rl_config c = {.cell = dcells[k].cell, .input_size = NDI, .hidden_size = H, .num_layers = 1, .output_size = 1,
                   .loss = RL_LOSS_MSE};
    rl_init in = {.kind = RL_INIT_UNIFORM, .gain = 1};
    rl_status s = rl_model_new(m, &c, RL_F64);
    if (!s) s = rl_model_init(*m, &in, d->seed);
    return s;
}

static int desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The closed forms from the parameters. lru: |lambda_n| = exp(-exp(nu_n)),
 * so ln ||P(T, T-k)|| = k max_n ln|lambda_n| (each 2 x 2 block is |lambda|
 * times a rotation) and the exponents are ln|lambda_n|, twice each. mingru:
 * ln(1 - z_{t,i}) = -softplus(W_z[i] x_t + b_z[i]), ln ||P|| = max_i of its
 * sum over the last k steps, the exponents its time average over the
 * (cycled) sequence. */
static int closed_forms(const rl_model *m, int k, diag_data *D)
{
    const int H = D->H, T = D->T;
    double *cl = D->closed + (size_t)k * (T + 1), *lc = D->lyc + (size_t)k * D->Sm;
    if (dcells[k].cell == RL_CELL_LRU) {
        const double *nu = rl_model_view_const(m, "rnn.nu_log_l0", 1, (const int64_t[]){H});
        if (!nu) return 1;
        double top = -INFINITY;
        for (int n = 0; n < H; n++) {
            lc[2 * n] = lc[2 * n + 1] = -exp(nu[n]);
            if (-exp(nu[n]) > top) top = -exp(nu[n]);
        }
        for (int t = 0; t <= T; t++) cl[t] = t ? t * top : 0;
    } else {
        const double *W = rl_model_view_const(m, "rnn.weight_ih_l0", 2, (const int64_t[]){2 * H, NDI}),
                     *b = rl_model_view_const(m, "rnn.bias_ih_l0", 1, (const int64_t[]){2 * H});
        double *sum = calloc((size_t)H, sizeof *sum);
        if (!W || !b || !sum) return free(sum), 1;
        cl[0] = 0;
        for (int t = 1; t <= T; t++) { /* lag t: the steps T-t+1..T, the newest first */
            const double *x = D->x + (size_t)(T - t) * NDI;
            double top = -INFINITY;
            for (int i = 0; i < H; i++) {
                double a = b[i] + W[i * NDI] * x[0] + W[i * NDI + 1] * x[1];
                sum[i] -= a > 0 ? a + log1p(exp(-a)) : log1p(exp(a));
                if (sum[i] > top) top = sum[i];
            }
            cl[t] = top;
        }
        for (int i = 0; i < H; i++) lc[i] = sum[i] / T;
        free(sum);
    }
    qsort(lc, (size_t)D->S[k], sizeof *lc, desc);
    return 0;
}

/* Model k on the sequence: its lags, the theorem at NLAG lags, J_t's
 * eigenvalues at NEIG steps and its Lyapunov exponents. */
static rl_status diag_measure_one(demo *d, int k, diag_data *D)
{
    const int T = D->T, Sm = D->Sm;
    rl_model *m = NULL;
    rl_jac *j = NULL;
    rl_batch b = {RL_F64, 1, T, NDI, D->x, NULL, NULL, NULL, NULL, NULL};
    double *row = calloc((size_t)T + 1, sizeof *row), *buf = calloc((size_t)5 * Sm, sizeof *buf);
    rl_status s = !row || !buf ? RL_ERR_NOMEM : diag_model(d, k, D->H, &m);
    if (!s) s = rl_jac_new(&j, m, &b, 0);
    rl_lag_stats st = {.log_norm = row};
    if (!s) s = rl_jac_lags(j, &st);
    for (int i = 0; !s && i <= T; i++) D->lag[(size_t)k * (T + 1) + i] = row[T - i];
    D->S[k] = m ? rl_state_size(m) : 0;
    D->dev_max[k] = D->sv_dev[k] = D->v_cond[k] = 0;
    for (int i = 0; !s && i < NLAG; i++) {
        rl_theorem th = {buf, buf + Sm, buf + 2 * Sm, buf + 3 * Sm, buf + 4 * Sm, 0, 0, 0, 0};
        s = rl_jac_theorem(j, T - (int)D->lk[i], &th);
        D->dev[(size_t)k * NLAG + i] = log10(th.eig_dev > DEV_FLOOR ? th.eig_dev : DEV_FLOOR);
        if (th.eig_dev > D->dev_max[k]) D->dev_max[k] = th.eig_dev;
        if (th.sv_dev > D->sv_dev[k]) D->sv_dev[k] = th.sv_dev;
        if (th.v_cond > D->v_cond[k]) D->v_cond[k] = th.v_cond;
    }
    double *re = D->eig + (size_t)k * 2 * NEIG * Sm, *im = re + (size_t)NEIG * Sm;
    for (int i = 0; i < 2 * NEIG * Sm; i++) re[i] = NAN;
    for (int e = 0; !s && e < NEIG; e++)
        s = rl_jac_step_spectrum(j, 1 + e * (T - 1) / (NEIG - 1), re + (size_t)e * Sm, im + (size_t)e * Sm, NULL);
    rl_lyap_config lc = {.steps = D->steps, .transient = 0, .k = D->S[k], .input = RL_INPUT_DATA,
                         .state = RL_STATE_RANDOM, .seed = d->seed};
    if (!s) s = rl_lyapunov(m, &b, 0, &lc, D->ly + (size_t)k * Sm, NULL);
    if (!s && k < 2 && closed_forms(m, k, D)) s = RL_ERR_ARG;
    free(row), free(buf);
    rl_jac_free(j);
    rl_model_free(m);
    return s;
}

/* ln ||P|| by lag: measured lines, the closed forms as markers */
static int diag_figure_lags(demo *d, const diag_data *D)
{
    const int T = D->T, every = T / 20 > 1 ? T / 20 : 1;
    double *marks = malloc((size_t)2 * (T + 1) * sizeof *marks);
    if (!marks) return demo_fail(RL_ERR_NOMEM);
    for (int i = 0; i < 2 * (T + 1); i++) marks[i] = i % (T + 1) % every == 0 ? D->closed[i] : NAN;
    pl_series ser[NDC + 2];
    for (int k = 0; k < NDC; k++)
        ser[k] = (pl_series){dcells[k].label, D->ks, D->lag + (size_t)k * (T + 1), T + 1, PL_LINE, k};
    ser[NDC] = (pl_series){"closed form (markers)", D->ks, marks, T + 1, PL_POINTS, 0};
    ser[NDC + 1] = (pl_series){NULL, D->ks, marks + T + 1, T + 1, PL_POINTS, 1};
    pl_figure f = {report_path(d->r, "diag-lags.png"), "Diagonal recurrences: ln ||#[0x2202]h#dT#u/#[0x2202]h#dT-k#u|| by lag",
                   "lag k", "ln ||#[0x2202]h#dT#u/#[0x2202]h#dT-k#u||#d2#u", 0, 0, NAN, NAN, NAN, NAN, 0, 1};
    int bad = plot_lines(&f, ser, NDC + 2);
    double gap[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t <= T; t++) {
            double g = fabs(D->lag[(size_t)k * (T + 1) + t] - D->closed[(size_t)k * (T + 1) + t]);
            if (g > gap[k]) gap[k] = g;
        }
    const char *names[6] = {"lag", "lru", "mingru", "tanh", "lru_closed_form", "mingru_closed_form"};
    const double *cols[6] = {D->ks, D->lag, D->lag + T + 1, D->lag + 2 * (T + 1), D->closed, D->closed + T + 1};
    bad |= write_csv(report_path(d->r, "diag-lags.csv"), names, cols, 6, T + 1);
    char cap[1400];
    snprintf(cap, sizeof cap,
             "The norm of the Jacobian product over k steps (lines, from the Jacobians) and its closed form from "
             "the parameters alone (markers): for the LRU k max<sub>n</sub> ln|&#955;<sub>n</sub>|, because each "
             "unit's 2&#215;2 block is |&#955;| times a rotation; for the minGRU max<sub>i</sub> &#931; ln(1 "
             "&#8722; z<sub>t,i</sub>) over the last k steps, because J<sub>t</sub> = diag(1 &#8722; "
             "z<sub>t</sub>). They agree to %.1g (LRU) and %.1g (minGRU) in ln over all %d lags. At lag %d: LRU "
             "%.2f, minGRU %.1f, tanh %.1f. The LRU's ring (|&#955;| in [0.9, 0.999]) keeps a gradient over the "
             "whole sequence; the minGRU with PyTorch's Linear init has its gates z near 1/2 and loses %.2f "
             "in ln per step, faster than the tanh RNN.",
             gap[0], gap[1], T, T, D->lag[T], D->lag[2 * (size_t)T + 1], D->lag[3 * (size_t)T + 2],
             -D->lag[2 * (size_t)T + 1] / T);
    report_figure(d->r, "diag-lags.png", cap, "diag-lags.csv");
    free(marks);
    return bad;
}

/* J_t's eigenvalues on the unit disc */
static int diag_figure_eigs(demo *d, const diag_data *D)
{
    const int Sm = D->Sm, n = NEIG * Sm;
    pl_series ser[NDC];
    for (int k = 0; k < NDC; k++) {
        const double *re = D->eig + (size_t)k * 2 * n;
        ser[k] = (pl_series){dcells[k].label, re, re + n, n, PL_POINTS, k};
    }
    pl_figure f = {report_path(d->r, "diag-eigs.png"), "Eigenvalues of J#dt#u at 8 steps", "Re #gl", "Im #gl",
                   0, 0, -1.1, 1.1, -1.1, 1.1, 1, 0};
    int bad = plot_lines(&f, ser, NDC);
    const char *names[6] = {"lru_re", "lru_im", "mingru_re", "mingru_im", "tanh_re", "tanh_im"};
    const double *cols[6];
    for (int k = 0; k < NDC; k++) cols[2 * k] = D->eig + (size_t)k * 2 * n, cols[2 * k + 1] = cols[2 * k] + n;
    bad |= write_csv(report_path(d->r, "diag-eigs.csv"), names, cols, 6, n);
    char cap[1400];
    snprintf(cap, sizeof cap,
             "The eigenvalues of the step Jacobian J<sub>t</sub> at 8 steps spread over the sequence. The LRU's "
             "are its &#955;<sub>n</sub> and their conjugates, the same at every step (its init draws them on the "
             "ring 0.9 &#8804; |&#955;| &#8804; 0.999, phases in [0, 2&#960;]); the minGRU's are the 1 &#8722; "
             "z<sub>t,i</sub>, real and in (0, 1), changing with the input but always on one eigenbasis, the "
             "identity; the tanh RNN's move with h<sub>t</sub>, and so do its eigenvectors. The eigenvalue-product "
             "theorem (eig(J<sub>T</sub>&#8943;J<sub>&#964;+1</sub>) = the products of the matched "
             "eigenvalues) holds at %d lags to %.1g (LRU) and %.1g (minGRU), rounding; the tanh RNN's products "
             "are %.2g apart.",
             NLAG, D->dev_max[0], D->dev_max[1], D->dev_max[2]);
    report_figure(d->r, "diag-eigs.png", cap, "diag-eigs.csv");
    return bad;
}

/* the Lyapunov spectra: measured lines, closed forms as markers */
static int diag_figure_lyapunov(demo *d, const diag_data *D)
{
    const int Sm = D->Sm;
    pl_series ser[NDC + 2];
    for (int k = 0; k < NDC; k++)
        ser[k] = (pl_series){dcells[k].label, D->idx, D->ly + (size_t)k * Sm, D->S[k], PL_LINE, k};
    ser[NDC] = (pl_series){"ln|#gl#dn#u|, mean ln(1-z#di#u) (markers)", D->idx, D->lyc, D->S[0], PL_POINTS, 0};
    ser[NDC + 1] = (pl_series){NULL, D->idx, D->lyc + Sm, D->S[1], PL_POINTS, 1};
    pl_figure f = {report_path(d->r, "diag-lyapunov.png"), "Lyapunov spectra: measured and closed form", "index i",
                   "#gl#di#u (per step)", 0, 0, 0, Sm + 1, NAN, NAN, 0, 1};
    int bad = plot_lines(&f, ser, NDC + 2);
    double gap[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < D->S[k]; i++) {
            double g = fabs(D->ly[(size_t)k * Sm + i] - D->lyc[(size_t)k * Sm + i]);
            if (g > gap[k]) gap[k] = g;
        }
    const char *names[6] = {"i", "lru", "mingru", "tanh", "lru_ln_abs_lambda", "mingru_mean_ln_1_minus_z"};
    const double *cols[6] = {D->idx, D->ly, D->ly + Sm, D->ly + 2 * Sm, D->lyc, D->lyc + Sm};
    bad |= write_csv(report_path(d->r, "diag-lyapunov.csv"), names, cols, 6, Sm);
    char cap[1400];
    snprintf(cap, sizeof cap,
             "Lyapunov exponents over %d steps (the sequence cycled), from a random state. For the LRU and the "
             "minGRU rnnlab computes them from J<sub>t</sub>'s structure, with no QR (rnnlab lyapunov says "
             "'structured'); they equal the closed forms, ln|&#955;<sub>n</sub>| = &#8722;exp(&#957;<sub>n</sub>) "
             "twice per unit and the time average of ln(1 &#8722; z<sub>t,i</sub>), to %.1g and %.1g. The tanh "
             "RNN's come from QR re-orthonormalisation, and no formula gives them: its J<sub>t</sub> do not "
             "share eigenvectors. Top exponents: LRU %.4f, minGRU %.3f, tanh %.3f.",
             D->steps, gap[0], gap[1], D->ly[0], D->ly[Sm], D->ly[2 * Sm]);
    report_figure(d->r, "diag-lyapunov.png", cap, "diag-lyapunov.csv");
    return bad;
}

static void diag_free(diag_data *D)
{
    free(D->x), free(D->ks), free(D->lag), free(D->closed), free(D->lk), free(D->dev), free(D->eig), free(D->ly);
    free(D->lyc), free(D->idx);
}

int demo_section_diag(demo *d)
{
    const int H = 16, T = d->cure_T, Sm = 2 * H;
    diag_data D = {.H = H, .T = T, .Sm = Sm, .steps = (d->lyap_steps / T > 1 ? d->lyap_steps / T : 1) * T,
                   .x = malloc((size_t)T * NDI * sizeof(double)), .ks = malloc(((size_t)T + 1) * sizeof(double)),
                   .lag = calloc((size_t)NDC * (T + 1), sizeof(double)), .closed = calloc((size_t)2 * (T + 1), sizeof(double)),
                   .lk = malloc(NLAG * sizeof(double)), .dev = calloc((size_t)NDC * NLAG, sizeof(double)),
                   .eig = calloc((size_t)NDC * 2 * NEIG * Sm, sizeof(double)), .ly = calloc((size_t)NDC * Sm, sizeof(double)),
                   .lyc = calloc((size_t)2 * Sm, sizeof(double)), .idx = malloc((size_t)Sm * sizeof(double))};
    if (!D.x || !D.ks || !D.lag || !D.closed || !D.lk || !D.dev || !D.eig || !D.ly || !D.lyc || !D.idx)
        return diag_free(&D), demo_fail(RL_ERR_NOMEM);
    rl_rng rng;
    rl_rng_seed(&rng, d->seed);
    for (int i = 0; i < T * NDI; i++) D.x[i] = rl_rng_normal(&rng);
    for (int i = 0; i <= T; i++) D.ks[i] = i;
    for (int i = 0; i < NLAG; i++) D.lk[i] = 1 + (double)i * (T - 1) / (NLAG - 1);
    for (int i = 0; i < Sm; i++) D.idx[i] = i + 1;
    for (int i = 0; i < NDC * Sm; i++) D.ly[i] = NAN;
    for (int i = 0; i < 2 * Sm; i++) D.lyc[i] = NAN;
    char intro[1600];
    snprintf(intro, sizeof intro,
             "<p>The theorem of the opening needs every J<sub>k</sub> to share one eigenbasis. The recurrences "
             "the field uses for long sequences since 2023 are built so that it does, exactly: the LRU "
             "(Orvieto et al. 2023) evolves a complex state by a fixed diagonal &#955; (x<sub>t</sub> = "
             "&#955; x<sub>t&#8722;1</sub> + &#947; B u<sub>t</sub>, y<sub>t</sub> = gelu(Re(C x<sub>t</sub>) + "
             "D u<sub>t</sub>)), and the minGRU (Feng et al. 2024) gates by the input alone, h<sub>t</sub> = (1 "
             "&#8722; z<sub>t</sub>) h<sub>t&#8722;1</sub> + z<sub>t</sub> h&#771;<sub>t</sub>, so J<sub>t</sub> "
             "= diag(1 &#8722; z<sub>t</sub>). Here an LRU (N = %d complex units: a real state of %d), a "
             "minGRU and a tanh RNN of %d units at initialisation, on one sequence of %d steps of Gaussian noise "
             "(2 inputs).</p>",
             H, 2 * H, H, T);
    report_heading(d->r, "6. When the theorem holds exactly: diagonal recurrences", intro);
    int bad = 0;
    for (int k = 0; !bad && k < NDC && !cli_interrupted(); k++) {
        demo_progress(d, dcells[k].label);
        rl_status s = diag_measure_one(d, k, &D);
        if (s) bad = demo_fail(s);
    }
    if (!bad && !cli_interrupted()) bad = diag_figure_lags(d, &D) | diag_figure_eigs(d, &D) | diag_figure_lyapunov(d, &D);
    diag_free(&D);
    return bad;
}
