/* rnnlab demo: the gradient-flow story end to end, on built-in data, as an
 * HTML report with figures and the data behind them. */
#include "cli.h"
#include "commands/demo.h"

#include "plots/plot.h"
#include "plots/report.h"
#include "plots/runplots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <dirent.h>

static const char usage[] =
    "usage: rnnlab demo [--out DIR] [--quick] [--seed S]\n"
    "\n"
    "Show, in rnnlab's own numbers, what vanishing and exploding gradients are and\n"
    "why, and what cures them: the chain rule and the eigenvalue picture worked for\n"
    "3-unit linear and tanh RNNs, a linear RNN whose Jacobian products follow\n"
    "lambda^t exactly, tanh RNNs across gains (products, spectra, Lyapunov\n"
    "exponents, the eigenvalue-product theorem and where it breaks), tanh, LSTM and\n"
    "IRNN trained on the adding problem, an IRNN trained by plain SGD with and\n"
    "without clipping, and the cures (chrono LSTM, orthogonal W_hh, IndRNN, leaky\n"
    "units) through the same Jacobians and Lyapunov spectra, and trained, and the\n"
    "diagonal recurrences (LRU, minGRU), where the theorem holds exactly. Writes\n"
    "DIR/report.html (self-contained), every figure as PNG and the data behind\n"
    "each as CSV. About 13 seconds on 2 idle cores (docs/demo.md).\n"
    "\n";

static void demo_defaults(cli_args *a) { a->out_dir = "rnnlab-demo", a->t.seed = 1; }

const cli_command cli_demo_command = {"demo", usage,
                                      "Ctrl-C stops it (exit 130): the figures made so far stay, report.html is not\n"
                                      "written, a training run stopped half-way keeps a checkpoint and its model.\n",
                                      NULL, 0, demo_defaults};

/* A part begins: a line when progress is shown (a terminal, or --progress). */
void demo_progress(const demo *d, const char *what)
{
    char line[160];
    snprintf(line, sizeof line, "%5.1fs  %s", rl_now() - d->t0, what);
    cli_progress_note(line);
}
#define progress demo_progress

/* A failure: one line, except Ctrl-C, which cmd_demo reports. */
int demo_fail(rl_status s)
{
    if (s == RL_ERR_INTERRUPTED) return 1;
    fprintf(stderr, "rnnlab demo: %s\n", *rl_errmsg() ? rl_errmsg() : rl_strerror(s));
    return 1;
}
#define fail demo_fail

/* ------------------------------------------------------------------ 1. linear */

static int section_linear(demo *d)
{
    const int H = 6, T = d->T;
    const double lambda[6] = {1.1, 1.0, -0.95, 0.9, 0.7, -0.5};
    report_heading(d->r, "1. A linear RNN: the eigenvalues multiply",
                   "<p>With <code>h<sub>t</sub> = W h<sub>t&#8722;1</sub></code> every step Jacobian is the same "
                   "<code>J = W</code>, so <code>&#8706;h<sub>t</sub>/&#8706;h<sub>0</sub> = W<sup>t</sup></code>. "
                   "Here <code>W = Q &#923; Q<sup>T</sup></code> is symmetric with eigenvalues 1.1, 1.0, &#8722;0.95, "
                   "0.9, 0.7 and &#8722;0.5: inside, on and outside the unit circle (Deep Learning, &#167;10.7).</p>");
    rl_config c = {.cell = RL_CELL_LINEAR, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_ORTHOGONAL, .gain = 1, .zero_bias = 1};
    rl_model *m = NULL;
    rl_jac *j = NULL;
    rl_status s = rl_model_new(&m, &c, RL_F64);
    if (!s) s = rl_model_init(m, &init, d->seed);
    if (s) {
        rl_model_free(m);
        return fail(s);
    }
    double *w = rl_model_view(m, "rnn.weight_hh_l0", 2, (const int64_t[]){H, H}), q[36];
    if (!w) {
        rl_model_free(m);
        return fail(RL_ERR_ARG);
    }
    memcpy(q, w, sizeof q);
    for (int i = 0; i < H; i++)
        for (int k = 0; k < H; k++) {
            double v = 0;
            for (int a = 0; a < H; a++) v += q[i * H + a] * lambda[a] * q[k * H + a];
            w[i * H + k] = v;
        }
    double *x = calloc((size_t)T, 8), h0[6] = {1, 1, 1, 1, 1, 1}, *y = calloc((size_t)T, 8);
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, y, NULL, h0, NULL};
    double *lag = calloc((size_t)T + 1, 8), *eig = calloc((size_t)(T + 1) * H, 8), *theory = calloc((size_t)(T + 1) * H, 8),
           *ts = calloc((size_t)T + 1, 8), buf[5 * 6] = {0};
    s = !x || !y || !lag || !eig || !theory || !ts ? RL_ERR_NOMEM : rl_jac_new(&j, m, &b, 0);
    rl_lag_stats st = {.log_norm = lag};
    if (!s) s = rl_jac_lags(j, &st);
    for (int t = 1; !s && t <= T; t++) {
        /* eig(dh_T/dh_{T-t}) = eig(W^t) */
        rl_theorem th = {buf, buf + 6, buf + 12, buf + 18, buf + 24, 0, 0, 0, 0};
        s = rl_jac_theorem(j, T - t, &th);
        /* an eigenvalue below 1e-12 of the largest is rounding noise in double precision: not drawn */
        for (int i = 0; i < H; i++)
            eig[(size_t)i * (T + 1) + t] =
                th.eig_log_abs[i] >= th.eig_log_abs[0] + log(1e-12) ? th.eig_log_abs[i] / log(10.0) : NAN;
    }
    for (int t = 0; !s && t <= T; t++) {
        ts[t] = t;
        for (int i = 0; i < H; i++) theory[(size_t)i * (T + 1) + t] = t * log(fabs(lambda[i])) / log(10.0);
    }
    for (int i = 0; !s && i < H; i++) eig[(size_t)i * (T + 1)] = 0;
    int bad = s ? fail(s) : 0;
    /* the markers at every (T/40)-th step, so that they stay apart */
    double *marks = malloc((size_t)(T + 1) * H * 8);
    int every = T / 40 > 1 ? T / 40 : 1;
    if (!marks) bad = 1;
    for (int i = 0; !bad && i < (T + 1) * H; i++) marks[i] = i % (T + 1) % every == 0 ? eig[i] : NAN;
    if (!bad) {
        pl_series ser[13];
        char lab[6][64];
        for (int i = 0; i < H; i++) {
            snprintf(lab[i], sizeof lab[i], "#gl#ut#d, #gl = %g", lambda[i]); /* the lines: the theory */
            ser[i] = (pl_series){lab[i], ts, theory + (size_t)i * (T + 1), T + 1, PL_LINE, i};
            ser[H + i] = (pl_series){NULL, ts, marks + (size_t)i * (T + 1), T + 1, PL_POINTS, i};
        }
        double *nl = calloc((size_t)T + 1, 8);
        for (int t = 0; t <= T; t++) nl[t] = lag[T - t] / log(10.0);
        ser[2 * H] = (pl_series){"#[0x2016]#[0x2202]h#dt#u/#[0x2202]h#d0#u#[0x2016]#d2#u", ts, nl, T + 1, PL_LINE, 7};
        /* the figure says which is which (issue 28): markers measured, lines the theory */
        pl_figure f = {report_path(d->r, "linear-eigen.png"),
                       "Linear RNN, symmetric W: measured eigenvalues (markers), #gl#ut#d (lines)",
                       "t", "log#d10#u |eigenvalue|", 0, 0, NAN, NAN, NAN, NAN, 0, 1};
        bad |= plot_lines(&f, ser, 2 * H + 1);
        const char *names[9] = {"t", "log10_norm", "log10_eig1", "log10_eig2", "log10_eig3", "log10_eig4", "log10_eig5",
                                "log10_eig6"};
        const double *cols[8] = {ts, nl, eig, eig + (T + 1), eig + 2 * (T + 1), eig + 3 * (T + 1), eig + 4 * (T + 1),
                                 eig + 5 * (T + 1)};
        bad |= write_csv(report_path(d->r, "linear-eigen.csv"), names, cols, 8, T + 1);
        report_figure(d->r, "linear-eigen.png",
                      "The moduli of the eigenvalues of &#8706;h<sub>t</sub>/&#8706;h<sub>0</sub> (markers, computed by "
                      "LAPACK from the Jacobian product; drawn while they are above 10<sup>&#8722;12</sup> of the largest, "
                      "below which double precision cannot resolve them) lie on the lines t&#183;log<sub>10</sub>|&#955;|: "
                      "because all J<sub>t</sub> = W share one orthonormal eigenbasis, the eigenvalues of the product are "
                      "the products of the eigenvalues, &#955;<sup>t</sup>. The spectral norm (black) follows the largest, "
                      "1.1<sup>t</sup>: a gradient sent back t steps grows by up to 1.1<sup>t</sup> and along the "
                      "&#955; = &#8722;0.5 direction shrinks by 0.5<sup>t</sup>.",
                      "linear-eigen.csv");
        free(nl);
    }
    free(x), free(y), free(lag), free(eig), free(marks), free(theory), free(ts);
    rl_jac_free(j);
    rl_model_free(m);
    return bad;
}

/* ------------------------------------------------------------------ 2. tanh across gains */

#define NG 5
static const double gains[NG] = {0.5, 0.9, 1.0, 1.5, 3.0};
#define ND 14       /* lags of the theorem check */

/* What section 2 computes for each gain: lags (NG, T+1) log10 of the
 * product's norm by lag, ks (T+1) the lags; re, im (NG, H) eig(J_T); smax,
 * smin (NG, T) the extreme singular values of every J_t at tt (T); lyap (NG,
 * H) the Lyapunov spectra at idx (H); devs, conds (NG, ND) the
 * theorem's deviation, V's condition number and the deviation drawn, at the
 * nd lags devk. sv (H) scratch. */
typedef struct {
    double *lags, *ks, *re, *im, *smax, *smin, *tt, *lyap, *idx, *sv;
    double devs[NG][ND], conds[NG][ND], devk[ND];
    int nd;
} gains_data;

/* Gain g's network: its products, spectra, theorem check and Lyapunov spectrum. */
static rl_status gains_one(demo *d, int g, gains_data *G)
{
    const int H = d->H, T = d->T;
    rl_status s;
    char what[64];
    snprintf(what, sizeof what, "gain %g", gains[g]);
    progress(d, what);
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = gains[g], .zero_bias = 1};
    rl_model *m = NULL;
    rl_jac *j = NULL;
    s = rl_model_new(&m, &c, RL_F64);
    if (!s) s = rl_model_init(m, &init, d->seed + 10);
    double *x = calloc((size_t)T, 8), *y = calloc((size_t)T, 8), *h0 = calloc((size_t)H, 8), *ln = calloc((size_t)T + 1, 8);
    if (!s && (!x || !y || !h0 || !ln)) s = RL_ERR_NOMEM;
    rl_rng r;
    rl_rng_seed(&r, d->seed + 20);
    for (int t = 0; !s && t < T; t++) x[t] = rl_rng_normal(&r);
    for (int i = 0; !s && i < H; i++) h0[i] = 2 * rl_rng_uniform(&r) - 1;
    rl_batch b = {RL_F64, 1, T, 1, x, NULL, y, NULL, h0, NULL};
    if (!s) s = rl_jac_new(&j, m, &b, 0);
    rl_lag_stats st = {.log_norm = ln};
    if (!s) s = rl_jac_lags(j, &st);
    for (int k = 0; !s && k <= T; k++) G->lags[(size_t)g * (T + 1) + k] = ln[T - k] / log(10.0), G->ks[k] = k;
    if (!s) s = rl_jac_step_spectrum(j, T, G->re + (size_t)g * H, G->im + (size_t)g * H, NULL);
    for (int t = 1; !s && t <= T; t++) {
        s = rl_jac_step_spectrum(j, t, NULL, NULL, G->sv);
        G->smax[(size_t)g * T + t - 1] = G->sv[0], G->smin[(size_t)g * T + t - 1] = G->sv[H - 1], G->tt[t - 1] = t;
    }
    double buf5[5 * 256] = {0};
    for (int k = 0; !s && k < G->nd; k++) {
        rl_theorem th = {buf5, buf5 + H, buf5 + 2 * H, buf5 + 3 * H, buf5 + 4 * H, 0, 0, 0, 0};
        rl_status ts = rl_jac_theorem(j, T - (int)G->devk[k], &th);
        G->devs[g][k] = ts ? NAN : th.eig_dev, G->conds[g][k] = ts ? NAN : th.v_cond;
    }
    rl_lyap_config lc = {.steps = d->lyap_steps, .transient = 200, .k = H, .input = RL_INPUT_NOISE, .noise_std = 1,
                         .state = RL_STATE_RANDOM, .seed = d->seed + 30};
    if (!s) s = rl_lyapunov(m, NULL, 0, &lc, G->lyap + (size_t)g * H, NULL);
    free(x), free(y), free(h0), free(ln);
    rl_jac_free(j);
    rl_model_free(m);
    return s;
}

/* The series of a figure with a line per gain: y + g * ystride against
 * x + g * xstride (xstride 0: the same x for all), n points each, labelled
 * "g = 0.5" in lab. */
static void gain_series(pl_series ser[NG], char lab[NG][32], const double *x, size_t xstride, const double *y, size_t ystride,
                        int n, pl_style style)
{
    for (int g = 0; g < NG; g++) {
        snprintf(lab[g], sizeof lab[g], "g = %g", gains[g]);
        ser[g] = (pl_series){lab[g], x + g * xstride, y + g * ystride, n, style, g};
    }
}

/* The CSV of a gain figure, n rows: the column x named xname (none when
 * xname is NULL), then for each gain its nc columns y[k] + g * stride, named
 * col[k]_g0.5. */
static int gains_csv(demo *d, const char *file, const char *xname, const double *x, int nc, const char *const col[],
                     const double *const y[], size_t stride, int n)
{
    const char *names[2 * NG + 1];
    const double *cols[2 * NG + 1];
    char buf[2 * NG][32];
    int m = 0;
    if (xname) names[m] = xname, cols[m++] = x;
    for (int g = 0; g < NG; g++)
        for (int k = 0; k < nc; k++) {
            snprintf(buf[g * nc + k], sizeof buf[0], "%s_g%g", col[k], gains[g]);
            names[m] = buf[g * nc + k], cols[m++] = y[k] + g * stride;
        }
    return write_csv(report_path(d->r, file), names, cols, m, n);
}

/* 2a, the product against the lag, and 2b, the eigenvalues of J_T. */
static int gains_figures_lags_eigs(demo *d, const gains_data *G)
{
    const int H = d->H, T = d->T;
    char lab[NG][32];
    pl_series ser[NG];
    /* 2a: ln||dh_T/dh_tau|| against the lag */
    gain_series(ser, lab, G->ks, 0, G->lags, (size_t)T + 1, T + 1, PL_LINE);
    pl_figure fa = {report_path(d->r, "gain-lags.png"), "tanh RNN: the Jacobian product against the lag",
                    "lag T #[0x2212] #[0x03c4]", "log#d10#u #[0x2016]#[0x2202]h#dT#u/#[0x2202]h#d#[0x03c4]#u#[0x2016]#d2#u", 0, 0, NAN,
                    NAN, NAN, NAN, 0, 1};
    int bad = plot_lines(&fa, ser, NG);
    bad |= gains_csv(d, "gain-lags.csv", "lag", G->ks, 1, (const char *const[]){"log10_norm"}, (const double *const[]){G->lags},
                     (size_t)T + 1, T + 1);
    report_figure(d->r, "gain-lags.png",
                  "The spectral norm of &#8706;h<sub>T</sub>/&#8706;h<sub>&#964;</sub>, the factor by which a gradient "
                  "can grow on its way back T &#8722; &#964; steps. For small gains it falls off geometrically "
                  "(vanishing gradients); for g = 3 it grows exponentially (exploding). The slope is the largest "
                  "Lyapunov exponent (Figure 6).",
                  "gain-lags.csv");
    /* 2b: eigenvalues of J_T in the complex plane */
    gain_series(ser, lab, G->re, (size_t)H, G->im, (size_t)H, H, PL_POINTS);
    pl_figure fb = {report_path(d->r, "gain-eigs.png"), "Eigenvalues of J#dT#u = diag(1 #[0x2212] h#dT#u#u2#d) W",
                    "Re #gl", "Im #gl", 0, 0, NAN, NAN, NAN, NAN, 1, 0};
    bad |= plot_lines(&fb, ser, NG);
    bad |= gains_csv(d, "gain-eigs.csv", NULL, NULL, 2, (const char *const[]){"re", "im"}, (const double *const[]){G->re, G->im},
                     (size_t)H, H);
    report_figure(d->r, "gain-eigs.png",
                  "The eigenvalues of the last step Jacobian, with the unit circle (dashed). W's eigenvalues fill a "
                  "disc of radius g (the circular law); the factor diag(1 &#8722; h<sub>t</sub><sup>2</sup>) shrinks "
                  "them wherever units saturate, which is why even g = 3 has most eigenvalues inside the circle.",
                  "gain-eigs.csv");
    return bad;
}

/* 2c: the singular values of J_t over time. */
static int gains_figure_sv(demo *d, const gains_data *G)
{
    const int T = d->T;
    char lab[NG][32];
    pl_series ser[NG];
    gain_series(ser, lab, G->tt, 0, G->smax, (size_t)T, T, PL_LINE);
    pl_figure fc = {report_path(d->r, "gain-sv.png"), "Largest singular value of J#dt#u over time", "t",
                    "#gs#dmax#u(J#dt#u)", 0, 1, NAN, NAN, NAN, NAN, 0, 1};
    int bad = plot_lines(&fc, ser, NG);
    bad |= gains_csv(d, "gain-sv.csv", "t", G->tt, 2, (const char *const[]){"sigma_max", "sigma_min"},
                     (const double *const[]){G->smax, G->smin}, (size_t)T, T);
    char capsv[800];
    snprintf(capsv, sizeof capsv,
             "&#963;<sub>max</sub>(J<sub>t</sub>) step by step%s. Pascanu et al. (2013): with |tanh&#8242;| &#8804; 1, "
             "&#963;<sub>max</sub>(W) &lt; 1 suffices for vanishing gradients and &#963;<sub>max</sub>(W) &gt; 1 is "
             "necessary for exploding ones; the per-step values bound the product's norm from above (the CSV also "
             "has &#963;<sub>min</sub>).",
             plot_log_axis(ser, NG, 1) ? " (log scale)" : "");
    report_figure(d->r, "gain-sv.png", capsv, "gain-sv.csv");
    return bad;
}

/* 2d: the theorem's deviation against the lag, capped. */
static int gains_figure_theorem(demo *d, const gains_data *G)
{
    /* 2d: the deviation per step, ln(1 + dev) / k, from lag 2 on (issue 28: the deviation itself, capped at
     * 10^3, put 37 of 70 points on the cap; uncapped it spans 10^-15 to 10^273 and the curves merge at the
     * bottom). Lag 1 (P = J_T: the theorem holds to rounding) is in the caption. */
    double rate[NG][ND], kmin = INFINITY, kmax = 0, top = 0, lag1 = 0, rmax = 0;
    int over = 0, lost = 0;
    for (int g = 0; g < NG; g++)
        for (int k = 0; k < G->nd; k++) {
            const double v = G->devs[g][k], lag = G->devk[k];
            rate[g][k] = lag >= 2 ? log1p(v) / lag : NAN;
            if (lag < 2) lag1 = fmax(lag1, v);
            else over += v > 1, lost += !(isfinite(v) && v > 0), top = isfinite(v) ? fmax(top, v) : top;
            if (isfinite(rate[g][k])) rmax = fmax(rmax, rate[g][k]);
            kmin = fmin(kmin, G->conds[g][k]), kmax = fmax(kmax, G->conds[g][k]);
        }
    char lab[NG][32];
    pl_series ds[NG];
    gain_series(ds, lab, G->devk, 0, rate[0], ND, G->nd, PL_LINE_POINTS);
    pl_figure fd = {.path = report_path(d->r, "gain-theorem.png"),
                    .title = "The eigenvalue-product theorem breaks: the deviation per step", .xlabel = "lag k",
                    .ylabel = "ln(1 + max#di#u |#gm#di#u/#gl#di#u(P) #[0x2212] 1|) / k", .logx = 1, .logy = 1, .xmin = NAN,
                    .xmax = NAN, .ymin = NAN, .ymax = NAN};
    int bad = plot_lines(&fd, ds, NG);
    bad |= gains_csv(d, "gain-theorem.csv", "lag", G->devk, 2, (const char *const[]){"eig_dev", "v_cond"},
                     (const double *const[]){G->devs[0], G->conds[0]}, ND, G->nd);
    char cap2[2048];
    snprintf(cap2, sizeof cap2,
             "The eigenvalue-product theorem as a check (<code>rnnlab spectrum</code>): if all J<sub>t</sub> "
             "share their eigenvectors, the eigenvalues of the product are the products of theirs. Here the "
             "eigenvalues &#955;<sub>i</sub> of P = &#8706;h<sub>T</sub>/&#8706;h<sub>&#964;</sub> are set against "
             "the matched products &#956;<sub>i</sub> = &#928;<sub>t</sub>[V<sup>&#8722;1</sup>J<sub>t</sub>V]"
             "<sub>ii</sub>, V the eigenvectors of P. They agree when the J<sub>t</sub> commute (section 1: to "
             "10<sup>&#8722;11</sup>); here they do not. At lag 1 (P = J<sub>T</sub>) they agree to %.1e, rounding. "
             "From lag 2 on the deviation dev = max<sub>i</sub> |&#956;<sub>i</sub>/&#955;<sub>i</sub> &#8722; 1| is "
             "of order 1 or more (%d of the %d points at lags 2 and up are above 1; the largest is %.1e): the product "
             "of per-step eigenvalues is no guide to the product's. Since it grows about exponentially with the lag, "
             "the figure draws it per step, ln(1 + dev)/k (up to %.2f: a factor e<sup>%.2f</sup> more each step), "
             "on a log scale, which keeps every gain's curve apart%s. They are "
             "not rounding (V's condition number &#954;<sub>1</sub>(V) stays between %.0f and %.0f, so the "
             "arithmetic keeps about %.0f of 16 digits) but the skewed basis: a diagonal entry of "
             "V<sup>&#8722;1</sup>J<sub>t</sub>V can exceed J<sub>t</sub>'s eigenvalues by up to &#954;(V), and "
             "over k steps such factors multiply. The CSV has every deviation itself with its &#954;(V).",
             lag1, over, NG * (G->nd - 1), top, rmax, rmax,
             lost ? "; points that are 0 or not finite cannot be drawn on it and are left out" : "", kmin, kmax,
             16 - ceil(log10(kmax)));
    report_figure(d->r, "gain-theorem.png", cap2, "gain-theorem.csv");
    return bad;
}

/* 2e: the Lyapunov spectra. */
static int gains_figure_lyapunov(demo *d, const gains_data *G)
{
    const int H = d->H;
    char lab[NG][32];
    pl_series ser[NG];
    gain_series(ser, lab, G->idx, 0, G->lyap, (size_t)H, H, PL_LINE_POINTS);
    pl_figure fe = {report_path(d->r, "gain-lyapunov.png"), "Lyapunov spectra (QR method)", "index i",
                    "#gl#di#u (per step)", 0, 0, NAN, NAN, NAN, NAN, 0, 1};
    int bad = plot_lines(&fe, ser, NG);
    bad |= gains_csv(d, "gain-lyapunov.csv", "i", G->idx, 1, (const char *const[]){"lyapunov"}, (const double *const[]){G->lyap},
                     (size_t)H, H);
    char cap[800];
    snprintf(cap, sizeof cap,
             "The full Lyapunov spectrum of each network, natural log per step, by QR re-orthonormalisation over %d "
             "steps of noise input. The largest exponent is %.3f at g = 0.5 (every perturbation, and every gradient, "
             "dies out) and %+.3f at g = 3 (chaos: a gradient sent back k steps grows like e<sup>%.2fk</sup>).",
             d->lyap_steps, G->lyap[0], G->lyap[(size_t)4 * H], G->lyap[(size_t)4 * H]);
    report_figure(d->r, "gain-lyapunov.png", cap, "gain-lyapunov.csv");
    return bad;
}

static int section_gains(demo *d)
{
    const int H = d->H, T = d->T;
    report_heading(d->r, "2. tanh RNNs across gains: products, spectra, Lyapunov exponents",
                   "<p>Random tanh networks <code>h<sub>t</sub> = tanh(W h<sub>t&#8722;1</sub> + U x<sub>t</sub>)</code> "
                   "with <code>W<sub>ij</sub> ~ N(0, g<sup>2</sup>/H)</code> and noise inputs. Now "
                   "<code>J<sub>t</sub> = diag(1 &#8722; h<sub>t</sub><sup>2</sup>) W</code> changes with t: the "
                   "simple eigenvalue picture of section 1 no longer holds, and the growth rate of the product is the "
                   "largest Lyapunov exponent.</p>");
    gains_data *G = calloc(1, sizeof *G);
    if (!G) return fail(RL_ERR_NOMEM);
    G->lags = calloc((size_t)NG * (T + 1), 8), G->ks = calloc((size_t)T + 1, 8), G->re = calloc((size_t)NG * H, 8);
    G->im = calloc((size_t)NG * H, 8), G->smax = calloc((size_t)NG * T, 8), G->smin = calloc((size_t)NG * T, 8);
    G->tt = calloc((size_t)T, 8), G->lyap = calloc((size_t)NG * H, 8), G->idx = calloc((size_t)H, 8), G->sv = calloc((size_t)H, 8);
    static const int dev_lags[ND] = {1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200};
    while (G->nd < ND && dev_lags[G->nd] <= T) G->devk[G->nd] = dev_lags[G->nd], G->nd++;
    rl_status s = !G->lags || !G->ks || !G->re || !G->im || !G->smax || !G->smin || !G->tt || !G->lyap || !G->idx || !G->sv
                      ? RL_ERR_NOMEM
                      : RL_OK;
    for (int g = 0; !s && g < NG; g++) s = gains_one(d, g, G);
    int bad = s ? fail(s) : 0; /* Ctrl-C lands here too */
    for (int i = 0; !bad && i < H; i++) G->idx[i] = i + 1;
    if (!bad) bad = gains_figures_lags_eigs(d, G) | gains_figure_sv(d, G) | gains_figure_theorem(d, G) | gains_figure_lyapunov(d, G);
    free(G->lags), free(G->ks), free(G->re), free(G->im), free(G->smax), free(G->smin), free(G->tt), free(G->lyap), free(G->idx);
    free(G->sv), free(G);
    return bad;
}

/* ------------------------------------------------------------------ 3. and 4. training */

typedef struct {
    const char *tag, *label;
    rl_cell cell;
    rl_init_kind init;
    double gain;
    rl_optim_kind optim; /* sgd: with momentum 0.9 */
    double lr, clip;
} demo_run;

/* A run's records: training loss, largest gradient norm per interval, validation loss. */
typedef struct {
    double *st, *loss, *gst, *gmax, *vst, *val;
    int n, ng, nv;
} run_series;

static void run_series_free(run_series *r)
{
    free(r->st), free(r->loss), free(r->gst), free(r->gmax), free(r->vst), free(r->val);
}

/* Train r for steps updates into dir/r->tag and read back its records. */
static int train_run(demo *d, const char *dir, const demo_run *r, int steps, run_series *out)
{
    progress(d, r->label);
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = d->train_T, c.cell = r->cell, c.hidden = d->train_H, c.batch = 32;
    c.steps = steps, c.sched.lr = r->lr, c.clip = r->clip, c.init.kind = r->init, c.init.gain = r->gain;
    c.optim = rl_optim_defaults(r->optim);
    if (r->optim == RL_OPT_SGD) c.optim.momentum = 0.9;
    c.log_every = steps / 40 > 0 ? steps / 40 : 1, c.eval_every = steps / 4;
    c.flow_every = c.log_every, c.ckpt_every = 0, c.seed = d->seed;
    c.skip_nonfinite = 1;
    char rd[1400], cp[1500];
    snprintf(rd, sizeof rd, "%s/%s", dir, r->tag);
    snprintf(cp, sizeof cp, "%s/checkpoint.safetensors", rd);
    remove(cp); /* a demo folder is rewritten from scratch */
    rl_trainer *t = NULL;
    int intr = 0;
    rl_status s = rl_trainer_new(&t, &c, rd);
    if (!s) s = rl_trainer_run(t, cli_stop_flag(), &intr, NULL, NULL); /* Ctrl-C: a checkpoint, then stop */
    rl_trainer_free(t);
    if (s) return fail(s);
    if (intr) return 1;
    read_series(rd, "metrics.jsonl", "loss", &out->st, &out->loss, &out->n);
    read_series(rd, "metrics.jsonl", "grad_norm_max", &out->gst, &out->gmax, &out->ng);
    read_series(rd, "metrics.jsonl", "val_loss", &out->vst, &out->val, &out->nv);
    if (out->n == 0) fprintf(stderr, "rnnlab demo: %s/metrics.jsonl holds no training losses\n", rd);
    return out->n > 0 ? 0 : 1;
}

int demo_runs_dir(demo *d, char *dir, size_t n)
{
    snprintf(dir, n, "%s", report_path(d->r, "runs"));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "rnnlab demo: %s: cannot create: %s\n", dir, strerror(errno));
        return 1;
    }
    return 0;
}

/* One column per run of one kind of record (loss or gmax), as many rows as the shortest. */
static int runs_csv(demo *d, const char *name, const demo_run *runs, const run_series *rs, int nr, int gmax)
{
    const char *names[8];
    const double *cols[8];
    int rows = gmax ? rs[0].ng : rs[0].n;
    names[0] = "step", cols[0] = gmax ? rs[0].gst : rs[0].st;
    for (int k = 0; k < nr && k < 7; k++) {
        names[k + 1] = runs[k].tag, cols[k + 1] = gmax ? rs[k].gmax : rs[k].loss;
        int n = gmax ? rs[k].ng : rs[k].n;
        rows = n < rows ? n : rows;
    }
    return write_csv(report_path(d->r, name), names, cols, nr + 1, rows);
}

static int section_training(demo *d)
{
    char intro[1024];
    snprintf(intro, sizeof intro,
             "<p>The adding problem (Arjovsky et al. 2016): T = %d steps of a value and a marker; the target, read at "
             "the last step, is the sum of the two marked values. Always answering 1 scores the baseline MSE 1/6. "
             "Each model has %d units and trains for %d steps with Adam (learning rate 3e-3), batch 32, clipping "
             "the gradient's norm at 1.</p>",
             d->train_T, d->train_H, d->train_steps);
    report_heading(d->r, "3. Training on the adding problem: tanh, LSTM and IRNN", intro);
    static const demo_run runs[3] = {
        {"tanh-clip", "tanh", RL_CELL_TANH, RL_INIT_UNIFORM, 1, RL_OPT_ADAM, 3e-3, 1},
        {"lstm-clip", "LSTM", RL_CELL_LSTM, RL_INIT_UNIFORM, 1, RL_OPT_ADAM, 3e-3, 1},
        {"irnn-clip", "IRNN (ReLU, W = I)", RL_CELL_RELU, RL_INIT_IDENTITY, 1, RL_OPT_ADAM, 3e-3, 1}};
    run_series rs[3] = {{0}};
    char dir[1300];
    if (demo_runs_dir(d, dir, sizeof dir)) return 1;
    int bad = 0;
    for (int k = 0; !bad && k < 3; k++) bad = train_run(d, dir, &runs[k], d->train_steps, &rs[k]);
    if (!bad) {
        pl_series ser[4];
        double bx[2] = {0, d->train_steps}, by[2] = {1.0 / 6, 1.0 / 6};
        for (int k = 0; k < 3; k++) ser[k] = (pl_series){runs[k].label, rs[k].st, rs[k].loss, rs[k].n, PL_LINE, k};
        ser[3] = (pl_series){"baseline 1/6", bx, by, 2, PL_LINE, 7};
        pl_figure f = {.path = report_path(d->r, "adding-loss.png"), .title = "Adding problem: training loss",
                       .xlabel = "training step", .ylabel = "MSE", .logy = 1, .xmin = NAN, .xmax = NAN, .ymin = NAN,
                       .ymax = NAN, .intx = 1};
        bad |= plot_lines(&f, ser, 4);
        bad |= runs_csv(d, "adding-loss.csv", runs, rs, 3, 0);
        char cap[1024];
        snprintf(cap, sizeof cap,
                 "The training loss of the three runs%s against the baseline. The model must carry the first marked "
                 "value across about half the sequence: a gradient that vanishes over that lag leaves the model at "
                 "the baseline, however long it trains.",
                 plot_log_axis(ser, 4, 1) ? " (log scale)" : "");
        report_figure(d->r, "adding-loss.png", cap, "adding-loss.csv");
        for (int k = 0; k < 3; k++) {
            char rd[1400];
            snprintf(rd, sizeof rd, "%s/%s", dir, runs[k].tag);
            bad |= run_figures(d->r, rd, runs[k].tag, runs[k].label);
        }
    }
    for (int k = 0; k < 3; k++) run_series_free(&rs[k]);
    return bad;
}

/* The lag from which the last flow record of a run is exactly zero, or -1. */
static int zero_from(const char *rd, int *step)
{
    double *fs = NULL, *z = NULL;
    int nf = 0, T = 0, from = -1;
    read_flow(rd, "lag_log_grad", &fs, &z, &nf, &T);
    if (nf > 0 && T > 0) {
        *step = (int)fs[nf - 1];
        for (int k = T; k >= 0 && z[(size_t)(nf - 1) * (T + 1) + k] == -INFINITY; k--) from = k;
    }
    free(fs), free(z);
    return from;
}

static int section_clipping(demo *d)
{
    char intro[1400];
    snprintf(intro, sizeof intro,
             "<p>Adam divides each step by a running estimate of the gradient's size, so an exploding gradient "
             "does little harm there, and the runs above clip as well. Plain SGD moves by the gradient itself: one "
             "exploding step can throw the weights far away. Here the IRNN of section 3 (ReLU, W = I; Le et al. "
             "2015 trained it with clipping) trains on the same task with SGD (learning rate 0.01, momentum 0.9) "
             "for %d steps, once clipping the gradient's norm at 1 (Pascanu et al. 2013, Algorithm 1) and once "
             "without: the same seed, the same batches.</p>",
             d->clip_steps);
    report_heading(d->r, "4. What clipping does: SGD with and without it", intro);
    static const demo_run runs[2] = {
        {"irnn-sgd-clip", "IRNN, SGD, clipping at 1", RL_CELL_RELU, RL_INIT_IDENTITY, 1, RL_OPT_SGD, 0.01, 1},
        {"irnn-sgd-noclip", "IRNN, SGD, no clipping", RL_CELL_RELU, RL_INIT_IDENTITY, 1, RL_OPT_SGD, 0.01, 0}};
    run_series rs[2] = {{0}};
    char dir[1300];
    if (demo_runs_dir(d, dir, sizeof dir)) return 1;
    int bad = 0;
    for (int k = 0; !bad && k < 2; k++) bad = train_run(d, dir, &runs[k], d->clip_steps, &rs[k]);
    if (!bad) {
        pl_series ser[3];
        double tx[2] = {0, d->clip_steps}, ty[2] = {1, 1}, by[2] = {1.0 / 6, 1.0 / 6};
        /* the no-clip run in vermillion, the clipped one in bluish green, as a pair */
        for (int k = 0; k < 2; k++) ser[k] = (pl_series){runs[k].label, rs[k].gst, rs[k].gmax, rs[k].ng, PL_LINE, 2 - k};
        ser[2] = (pl_series){"clipping threshold", tx, ty, 2, PL_LINE, 7};
        pl_figure f = {.path = report_path(d->r, "clip-gradnorm.png"),
                       .title = "SGD: the largest gradient norm before clipping", .xlabel = "training step",
                       .ylabel = "max #[0x2016]g#[0x2016] over the interval", .logy = 1, .xmin = NAN, .xmax = NAN,
                       .ymin = NAN, .ymax = NAN, .intx = 1};
        bad |= plot_lines(&f, ser, 3);
        bad |= runs_csv(d, "clip-gradnorm.csv", runs, rs, 2, 1);
        double peak[2] = {0, 0}, late[2] = {0, 0}, lastval[2], worst[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < rs[k].ng; i++) {
                peak[k] = fmax(peak[k], rs[k].gmax[i]);
                if (2 * i >= rs[k].ng) late[k] = fmax(late[k], rs[k].gmax[i]); /* the second half */
            }
            for (int i = 0; i < rs[k].n; i++) worst[k] = fmax(worst[k], rs[k].loss[i]);
            lastval[k] = rs[k].nv ? rs[k].val[rs[k].nv - 1] : NAN;
        }
        char cap[1600];
        snprintf(cap, sizeof cap,
                 "The largest gradient norm in each logging interval, before clipping (log scale), against the "
                 "threshold. Both runs start from the same weights and see the same batches. The largest norm "
                 "is %.3g with clipping and %.3g without; in the second half of training it is at most %.3g and "
                 "%.3g. With clipping no gradient longer than 1 enters the update; without it, each exploding "
                 "gradient is used in full.",
                 peak[0], peak[1], late[0], late[1]);
        report_figure(d->r, "clip-gradnorm.png", cap, "clip-gradnorm.csv");
        for (int k = 0; k < 2; k++) ser[k] = (pl_series){runs[k].label, rs[k].st, rs[k].loss, rs[k].n, PL_LINE, 2 - k};
        ser[2] = (pl_series){"baseline 1/6", tx, by, 2, PL_LINE, 7};
        /* the first intervals without clipping reach losses in the thousands: the log axis goes that far (issue 28:
         * stopped at 10, the curve left the frame) */
        pl_figure fl = {.path = report_path(d->r, "clip-loss.png"), .title = "SGD: training loss, with and without clipping",
                        .xlabel = "training step", .ylabel = "MSE", .logy = 1, .xmin = NAN, .xmax = NAN, .ymin = NAN,
                        .ymax = NAN, .intx = 1};
        bad |= plot_lines(&fl, ser, 3);
        bad |= runs_csv(d, "clip-loss.csv", runs, rs, 2, 0);
        char rd[1400], dead[512] = "", off[200] = "";
        snprintf(rd, sizeof rd, "%s/%s", dir, runs[1].tag);
        int zstep = 0, z = zero_from(rd, &zstep);
        if (z >= 0)
            snprintf(dead, sizeof dead, " At the end (step %d) the gradient of the run without clipping is exactly "
                     "zero from lag %d on: on the validation sequence its ReLU units are off (input &#8804; 0) "
                     "there, where they pass no gradient, so after the exploding steps nothing brings them back "
                     "(the heatmaps below).", zstep, z);
        if (fmax(worst[0], worst[1]) > 10)
            snprintf(off, sizeof off, " The worst interval without clipping averaged a loss of %.3g, at the top of the axis.",
                     worst[1]);
        int helped = lastval[0] < 0.5 / 6 && lastval[1] > 0.8 / 6;
        snprintf(cap, sizeof cap,
                 "The training loss of the two runs%s and the final validation MSE: %.3g with clipping, %.3g "
                 "without (the baseline is 0.167).%s%s%s",
                 plot_log_axis(ser, 3, 1) ? " (log scale)" : "", lastval[0], lastval[1],
                 helped ? " Clipping is what lets the IRNN learn the task here." : "", off, dead);
        report_figure(d->r, "clip-loss.png", cap, "clip-loss.csv");
        for (int k = 0; k < 2; k++) {
            snprintf(rd, sizeof rd, "%s/%s", dir, runs[k].tag);
            bad |= run_flow_figure(d->r, rd, runs[k].tag, runs[k].label);
        }
    }
    for (int k = 0; k < 2; k++) run_series_free(&rs[k]);
    return bad;
}

/* The file that marks a folder as the demo's: a folder holding it is the
 * demo's to rewrite; any other folder with files in it is the user's. */
#define DEMO_MARK ".rnnlab-demo"

/* 0 if the demo may write into dir (absent, empty, or the demo's own), else
 * 2 after a usage error. */
static int check_out_dir(const cli_ctx *c, const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) return cli_usage_error(c, "--out %s exists and is not a folder", dir);
    char mark[4200];
    snprintf(mark, sizeof mark, "%s/" DEMO_MARK, dir);
    if (stat(mark, &sb) == 0) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0; /* report_open says why it cannot be written */
    int files = 0;
    for (struct dirent *e; !files && (e = readdir(d));) files = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    if (files)
        return cli_usage_error(c, "--out %s holds files that are not the demo's; the demo would overwrite them: "
                                  "choose a new folder (one the demo made is rewritten)", dir);
    return 0;
}

int cmd_demo(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int mode = 0, e = cli_progress_mode(c, &mode);
    if (e) return e;
    const char *out = a->out_dir;
    demo d = {.H = 64, .T = 200, .lyap_steps = 1000, .train_T = 30, .train_H = 32, .train_steps = 2000, .clip_steps = 3000,
              .cure_H = 64, .cure_T = 200, .cure_train_T = 50, .cure_steps = 1000, .seed = a->t.seed, .t0 = rl_now()};
    if (a->quick)
        d.H = 16, d.T = 40, d.lyap_steps = 200, d.train_T = 10, d.train_H = 8, d.train_steps = 40, d.clip_steps = 60,
        d.cure_H = 8, d.cure_T = 40, d.cure_train_T = 10, d.cure_steps = 40;
    if (strcmp(out, "-") == 0) return cli_usage_error(c, "--out -: the demo writes a folder, it cannot go to stdout");
    if ((e = check_out_dir(c, out))) return e;
    cli_progress_begin(c, mode); /* from here Ctrl-C stops the demo cleanly */
    d.r = report_open(out,
                      "Vanishing and exploding gradients, in rnnlab's numbers",
                      "<p>Backpropagation through time sends the gradient of the loss back through the recurrence "
                      "(Deep Learning, eq. 10.21): <code>&#8711;<sub>h<sub>t</sub></sub>L = (&#8706;h<sub>t+1</sub>/&#8706;h"
                      "<sub>t</sub>)<sup>T</sup> &#8711;<sub>h<sub>t+1</sub></sub>L + (&#8706;o<sub>t</sub>/&#8706;h<sub>t"
                      "</sub>)<sup>T</sup> &#8711;<sub>o<sub>t</sub></sub>L</code>. Unrolled, the part of the gradient that "
                      "reaches step &#964; from step t is multiplied by <code>&#8706;h<sub>t</sub>/&#8706;h<sub>&#964;</sub> "
                      "= J<sub>t</sub> J<sub>t&#8722;1</sub> &#8943; J<sub>&#964;+1</sub></code>, a product of step "
                      "Jacobians <code>J<sub>k</sub> = &#8706;h<sub>k</sub>/&#8706;h<sub>k&#8722;1</sub></code>. If every "
                      "<code>J<sub>k</sub> = V &#923;<sub>k</sub> V<sup>T</sup></code> with one orthonormal V, the product is "
                      "<code>V &#923;<sub>t</sub>&#8943;&#923;<sub>&#964;+1</sub> V<sup>T</sup></code>: eigenvalues "
                      "multiply, so over long lags the gradient <b>vanishes</b> where |&#955;| &lt; 1 and <b>explodes</b> "
                      "where |&#955;| &gt; 1. The figures below compute all of this exactly, in float64, on real models, "
                      "and show where the simple picture holds and where it breaks.</p>");
    if (!d.r) return 1;
    FILE *mk = fopen(report_path(d.r, DEMO_MARK), "w");
    if (!mk || fprintf(mk, "made by rnnlab demo %s: the demo rewrites this folder\n", rl_version()) < 0 || fclose(mk) != 0) {
        fprintf(stderr, "rnnlab demo: %s: cannot write\n", report_path(d.r, DEMO_MARK));
        report_abort(d.r);
        return 1;
    }
    static const struct {
        const char *what;
        int (*run)(demo *);
    } sections[] = {{"0/6 the question in numbers", demo_section_worked},
                    {"1/6 linear RNN", section_linear},
                    {"2/6 tanh RNNs across gains", section_gains},
                    {"3/6 training on the adding problem", section_training},
                    {"4/6 clipping with SGD", section_clipping},
                    {"5/6 the cures", demo_section_cures},
                    {"6/6 when the theorem holds exactly", demo_section_diag}};
    int bad = 0;
    for (size_t i = 0; !bad && !cli_interrupted() && i < sizeof sections / sizeof *sections; i++) {
        progress(&d, sections[i].what);
        bad = sections[i].run(&d);
    }
    cli_progress_end();
    if (cli_interrupted()) {
        report_abort(d.r);
        fprintf(stderr, "rnnlab demo: interrupted: the figures made so far are in %s; report.html was not written\n", out);
        return 130;
    }
    if (report_close(d.r) != 0) bad = 1;
    if (bad) return 1; /* the part that failed has said why, in one line */
    fprintf(stderr, "rnnlab demo: %.1fs  done: open %s/report.html\n", rl_now() - d.t0, out);
    return 0;
}
