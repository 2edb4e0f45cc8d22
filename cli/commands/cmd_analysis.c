/* rnnlab jacobian, spectrum, lyapunov: how the gradient flows back through time. */
#include "cli.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lags 1, 2, 5, 10, 20, 50, ... up to T, and T itself: count written to *n. */
static int default_lags(int T, int *lags, int max)
{
    int n = 0;
    for (long base = 1; base <= T && n < max; base *= 10)
        for (int k = 0; k < 3 && n < max; k++) {
            long v = base * (k == 0 ? 1 : k == 1 ? 2 : 5);
            if (v < T) lags[n++] = (int)v;
        }
    if (n < max) lags[n++] = T;
    return n;
}

/* A comma-separated list of lags in [1, T]. */
static int parse_lags(const cli_ctx *c, const char *s, int T, int *lags, int max, int *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        errno = 0;
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',')) return cli_usage_error(c, "--lags expects a list like 1,10,100, got '%s'", s);
        if (v < 1 || v > T) return cli_usage_error(c, "--lags: lag %ld is outside [1, T = %d]", v, T);
        if (*n == max) return cli_usage_error(c, "--lags: at most %d lags", max);
        lags[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : cli_usage_error(c, "--lags is empty");
}

static const char jacobian_usage[] =
    "usage: rnnlab jacobian --model M --data D [--seq b] --out J.safetensors [options]\n"
    "\n"
    "The Jacobians of sequence b of D through time, in float64. The state s_t is the\n"
    "concatenation over layers of h_t (LSTM: of [h_t; c_t]), so S = L*H (LSTM: 2*L*H);\n"
    "J_t = ds_t/ds_{t-1} is analytic from the cached activations. Writes (all F64):\n"
    "  J (T, S, S)           J[t] = ds_{t+1}/ds_t, t = 0..T-1 (up to 64 MiB, else with\n"
    "                        --full-j; never with --no-steps)\n"
    "  P (S, S)              ds_T/ds_0 (may overflow for long sequences; exactly\n"
    "  P_scaled, P_log_scale P = P_scaled * exp(P_log_scale), ||P_scaled||_F = 1)\n"
    "  lag_log_norm (T+1)    ln ||ds_T/ds_tau||_2 for tau = 0..T\n"
    "  lag_log_fro (T+1)     ln ||ds_T/ds_tau||_F\n"
    "  lag_log_radius (T+1)  ln of the spectral radius of ds_T/ds_tau (not with --no-radius)\n"
    "and, when D has targets and the sequence carries loss, the BPTT view:\n"
    "  log_grad_bptt (T+1)   ln ||dL/dh_tau|| of the top layer, from the backward pass\n"
    "  log_grad_state (T+1)  ln ||dL/ds_tau|| by dL/ds_tau = J^T dL/ds_{tau+1} + W_o^T dL/do_tau\n"
    "  log_grad_last (T+1)   ln ||d l_T/ds_tau||, the part from the loss at the last step\n"
    "A short table goes to stdout. Products carry their scale apart: T = 10,000 is fine.\n"
    "Without --data: sequence --seq of the task the model records (rnnlab train's model).\n"
    "\n";

const cli_command cli_jacobian_command = {"jacobian", jacobian_usage, "Ctrl-C stops it (exit 130) and writes nothing.\n", NULL, 0,
                                          NULL};

/* Load model (as F64) and data; report errors. Returns 0, or the exit code. */
static int load_pair(const cli_ctx *c, const char *model, const char *data, unsigned flags, rl_model **m, rl_data **d)
{
    rl_status s = rl_model_load(m, model, RL_F64);
    if (!s && data) s = rl_data_load_ex(d, data, *m, RL_F64, flags);
    return s ? cli_fail(c, s) : 0;
}

/* The largest J (T, S, S) written without --full-j, in bytes. */
#define JAC_J_LIMIT (64.0 * (1 << 20))

/* What open_jac took from the model, said once the command has succeeded. */
static char jac_note[1400];

/* The shared part of jacobian and spectrum: the required options, then the
 * model, the data (without --data: sequences of the task the model records,
 * seed 0) and the Jacobians of sequence seq. 0, or the exit code. */
static int open_jac(cli_ctx *c, const char *model, const char *data, const char *out, int seq, rl_model **m,
                    rl_data **d, rl_jac **j)
{
    int e;
    cli_input(c, "--model", model);
    cli_input(c, "--data", data);
    if ((e = cli_require(c, model, "model")) || (e = cli_require(c, out, "out")) || (e = cli_check_output(c, "out", out)) ||
        (e = load_pair(c, model, data, 0, m, d)))
        return e;
    if (!data) { /* sequence seq of the model's own task, its text's or data's when it read one */
        rl_train_config t = rl_train_defaults();
        rl_task *task = NULL;
        char note[1400];
        if (!rl_model_task(*m, &t.task))
            return cli_usage_error(c, "--data is required: the model does not record the task it was trained on");
        if ((e = cli_model_task(c, *m, &t, NULL, note, sizeof note))) return e;
        snprintf(jac_note, sizeof jac_note, "no --data: sequence %d of the model's own task, %s with T = %d%s%s (seed 0)", seq,
                 rl_task_name(t.task), t.seq_len, t.text_path ? ", from " : "", t.text_path ? t.text_path : "");
        e = cli_task_data(c, *m, &t, seq + 1, 0, &task, d);
        rl_task_free(task);
        if (e) return e;
    }
    if (!j) return 0; /* the caller makes the Jacobians once it knows what they cost: make_jac */
    rl_status s = rl_jac_new(j, *m, rl_data_batch(*d), seq);
    return s ? cli_fail_arg(c, s) : 0; /* --seq outside the batch: 2 */
}

/* The Jacobians of sequence seq of d (rl_jac_new, which checks its own
 * memory). 0, or the exit code. */
static int make_jac(const cli_ctx *c, const rl_model *m, const rl_data *d, int seq, rl_jac **j)
{
    rl_status s = rl_jac_new(j, m, rl_data_batch(d), seq);
    return s ? cli_fail_arg(c, s) : 0; /* --seq outside the batch: 2 */
}

/* The end of jacobian and spectrum, after open_jac: once the command has
 * succeeded (and not with --dry-run), what open_jac took from the model, then
 * extra ("": nothing), each a line on stderr; m, d and j freed. e, the exit
 * code. */
static int close_jac(const cli_ctx *c, const cli_args *a, int e, const char *extra, rl_model *m, rl_data *d, rl_jac *j)
{
    const char *said[2] = {jac_note, extra};
    for (int i = 0; i < 2; i++)
        if (!e && !a->estimate && said[i][0]) fprintf(stderr, "rnnlab %s: %s\n", c->cmd, said[i]);
    rl_jac_free(j);
    rl_data_free(d);
    rl_model_free(m);
    return e;
}

/* What a command that analyses a sequence of T steps of a state of S will
 * cost: bytes (the Jacobians' and the command's own) and seconds. With
 * --dry-run said on stdout (*e 0: the command ends); else checked against
 * the memory limit (*e 1 after one line) and, when it will take more than
 * a minute, said on stderr with what makes it shorter. 0 to go on. */
static int weigh(const cli_ctx *c, const cli_args *a, const rl_model *m, int T, double own, double seconds, int *e)
{
    const int S = rl_state_size(m);
    rl_config mc = rl_model_config(m);
    const double bytes = rl_jac_bytes(&mc, rl_model_orthogonal(m), T) + own;
    char md[160], td[200], what[200];
    snprintf(md, sizeof md, "a state of S = %d over T = %d steps", S, T);
    if (a->estimate) {
        snprintf(td, sizeof td, "T = %d steps of S x S products%s: LAPACK timed on this machine", T,
                 strcmp(c->cmd, "jacobian") == 0 ? " and the norms at the lags asked" : " and spectra");
        cli_say_cost(c, bytes, md, seconds, td);
        *e = 0;
        return 1;
    }
    snprintf(what, sizeof what, "rnnlab %s on %s", c->cmd, md);
    rl_status s = rl_memory_check(bytes, what);
    if (s) {
        *e = cli_fail(c, s);
        return 1;
    }
    cli_progress_expect(seconds);
    if (seconds > 60 && !a->quiet) {
        char t[32];
        snprintf(t, sizeof t, "%.0fm%02.0fs", floor(seconds / 60), fmod(seconds, 60));
        fprintf(stderr, "rnnlab %s: this will take about %s (%s; %s)\n", c->cmd, t, md,
                strcmp(c->cmd, "jacobian") == 0 ? "--lags LIST takes the norms at fewer lags, --no-radius skips the eigensolves"
                                                : "--lags LIST and --no-steps do less");
    }
    return 0;
}

/* The lags of --lags as at_lag (T + 1 flags, lag 0 always), or every lag
 * (*at NULL) without it. 0, or 2 after a usage error. */
static int jac_lags(const cli_ctx *c, const char *arg, int T, unsigned char **at, int *count)
{
    *at = NULL, *count = T + 1;
    if (!arg) return 0;
    int *lags = malloc((size_t)(T < 4096 ? T : 4096) * sizeof *lags), n = 0, e;
    if (!lags || !(*at = calloc((size_t)T + 1, 1))) {
        free(lags);
        return fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd), 1;
    }
    if ((e = parse_lags(c, arg, T, lags, T < 4096 ? T : 4096, &n))) {
        free(lags);
        return e;
    }
    (*at)[0] = 1;
    for (int i = 0; i < n; i++) (*at)[lags[i]] = 1;
    *count = 0;
    for (int k = 0; k <= T; k++) *count += (*at)[k];
    free(lags);
    return 0;
}

/* The file of rnnlab jacobian: what st holds (the model's name, sizes and
 * the loss in its metadata). */
static rl_status jac_write(const char *out, const rl_jac *j, const rl_model *m, int seq, const rl_lag_stats *st,
                           double *P, double scale, int grads)
{
    const int T = rl_jac_steps(j), S = rl_jac_state_size(j);
    const size_t n1 = (size_t)T + 1, SS = (size_t)S * S;
    for (size_t i = 0; i < SS; i++) P[i] = st->P[i] * exp(scale);
    char sbuf[4][32];
    snprintf(sbuf[0], sizeof sbuf[0], "%d", seq);
    snprintf(sbuf[1], sizeof sbuf[1], "%d", T);
    snprintf(sbuf[2], sizeof sbuf[2], "%d", S);
    snprintf(sbuf[3], sizeof sbuf[3], "%.17g", rl_jac_loss(j));
    const char *meta[] = {"cell", rl_cell_name(rl_model_config(m).cell), "seq", sbuf[0], "steps", sbuf[1],
                          "state_size", sbuf[2], "loss", sbuf[3]};
    rl_st_tensor t[12];
    int n = 0;
    if (st->J) t[n++] = (rl_st_tensor){"J", "F64", 3, {T, S, S}, st->J};
    t[n++] = (rl_st_tensor){"P", "F64", 2, {S, S}, P};
    t[n++] = (rl_st_tensor){"P_scaled", "F64", 2, {S, S}, st->P};
    t[n++] = (rl_st_tensor){"P_log_scale", "F64", 0, {0}, &scale};
    t[n++] = (rl_st_tensor){"lag_log_norm", "F64", 1, {(int64_t)n1}, st->log_norm};
    t[n++] = (rl_st_tensor){"lag_log_fro", "F64", 1, {(int64_t)n1}, st->log_fro};
    if (st->log_radius) t[n++] = (rl_st_tensor){"lag_log_radius", "F64", 1, {(int64_t)n1}, st->log_radius};
    if (grads) {
        t[n++] = (rl_st_tensor){"log_grad_bptt", "F64", 1, {(int64_t)n1}, st->log_grad_bptt};
        t[n++] = (rl_st_tensor){"log_grad_state", "F64", 1, {(int64_t)n1}, st->log_grad_state};
        t[n++] = (rl_st_tensor){"log_grad_last", "F64", 1, {(int64_t)n1}, st->log_grad_last};
    }
    return rl_st_write(out, t, n, meta, grads ? 5 : 4);
}

/* The table on stdout (stderr when the file goes to stdout): the lags of
 * --lags, else 1, 2, 5, 10, ... and T. */
static void jac_table(const char *out, const rl_jac *j, const rl_model *m, int seq, const rl_lag_stats *st, int grads,
                      const unsigned char *at)
{
    const int T = rl_jac_steps(j), S = rl_jac_state_size(j);
    rl_config cfg = rl_model_config(m);
    FILE *f = strcmp(out, "-") == 0 ? stderr : stdout;
    fprintf(f, "%s, %d layer%s, S = %d, T = %d, sequence %d%s", rl_cell_name(cfg.cell), cfg.num_layers,
            cfg.num_layers > 1 ? "s" : "", S, T, seq, grads ? "" : " (no loss: gradient columns omitted)\n");
    if (grads) fprintf(f, ", loss %.6g\n", rl_jac_loss(j));
    fprintf(f, "%6s %14s %14s %14s", "lag", "ln||P||_2", "ln||P||_F", "ln rho(P)");
    if (grads) fprintf(f, " %14s %14s", "ln||dL/ds||", "ln||dl_T/ds||");
    fputc('\n', f);
    int lags[40], nl = 0;
    for (int i = 0; at && i <= T && nl < 40; i++) /* the lags asked for (the first 40) */
        if (at[i]) lags[nl++] = i;
    if (!at) nl = default_lags(T, lags + 1, 39) + 1, lags[0] = 0;
    for (int i = 0; i < nl; i++) {
        int tau = T - lags[i];
        fprintf(f, "%6d %14.6g %14.6g", lags[i], st->log_norm[tau], st->log_fro[tau]);
        if (st->log_radius) fprintf(f, " %14.6g", st->log_radius[tau]);
        else fprintf(f, " %14s", "-");
        if (grads) fprintf(f, " %14.6g %14.6g", st->log_grad_state[tau], st->log_grad_last[tau]);
        fputc('\n', f);
    }
}

int cmd_jacobian(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int mode = 0, e = cli_progress_mode(c, &mode);
    if (e) return e;
    const char *out = a->out_file;
    const int seq = a->seq;
    if (a->full_j && a->no_steps) return cli_usage_error(c, "--full-j and --no-steps contradict each other");
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_jac *j = NULL;
    unsigned char *at = NULL;
    double *buf = NULL;
    char skipped[200] = "";
    if ((e = open_jac(c, a->model, a->data_file, out, seq, &m, &d, NULL))) goto done;
    const int T = rl_data_batch(d)->steps, S = rl_state_size(m);
    int nlags = 0;
    if ((e = jac_lags(c, a->lags, T, &at, &nlags))) goto done;
    const size_t n1 = (size_t)T + 1, SS = (size_t)S * S;
    /* J is opt-in above 64 MiB: a file nobody asked for is not written */
    int with_j = !a->no_steps && (a->full_j || (double)T * SS * 8 <= JAC_J_LIMIT);
    if (!a->no_steps && !with_j)
        snprintf(skipped, sizeof skipped, "J (T*S*S = %.0f numbers, %.0f MiB) was left out: --full-j writes it",
                 (double)T * SS, (double)T * SS * 8 / (1 << 20));
    const double own = (6.0 * n1 + 2.0 * SS + (with_j ? (double)T * SS : 0)) * 8 + (double)n1;
    if (weigh(c, a, m, T, own, rl_jac_seconds(S, T, nlags, a->no_radius ? 0 : nlags), &e)) goto done;
    if ((e = make_jac(c, m, d, seq, &j))) goto done;
    const int grads = !isnan(rl_jac_loss(j));
    if (!(buf = calloc(6 * n1 + 2 * SS + (with_j ? (size_t)T * SS : 0) + 1, sizeof(double)))) {
        e = fprintf(stderr, "rnnlab jacobian: out of memory\n") > 0;
        goto done;
    }
    double scale = 0;
    rl_lag_stats st = {buf, buf + n1, a->no_radius ? NULL : buf + 2 * n1, grads ? buf + 3 * n1 : NULL,
                       grads ? buf + 4 * n1 : NULL, grads ? buf + 5 * n1 : NULL,
                       with_j ? buf + 6 * n1 + 2 * SS : NULL, buf + 6 * n1, &scale, 0, 0, at};
    cli_progress_begin(c, mode);
    rl_status s = rl_jac_lags(j, &st);
    cli_progress_end();
    if (!s) s = jac_write(out, j, m, seq, &st, buf + 6 * n1 + SS, scale, grads);
    if (s) e = cli_fail(c, s);
    else jac_table(out, j, m, seq, &st, grads, at);
done:
    free(buf), free(at);
    return close_jac(c, a, e, skipped, m, d, j);
}

static const char spectrum_usage[] =
    "usage: rnnlab spectrum --model M --data D [--seq b] [--lags 1,10,100] --out S.json\n"
    "\n"
    "Eigenvalues (complex, LAPACK dgeev) and singular values (dgesdd) of every step\n"
    "Jacobian J_t and of the products P(T, T-k) at the chosen lags k, and the\n"
    "eigenvalue-product theorem (if all J_t share their eigenvectors, the eigenvalues\n"
    "of the product are the products of theirs) as a check: eig(P) next to\n"
    "mu_i = prod_t [V^-1 J_t V]_ii, V the eigenvectors of P. They agree when the J_t\n"
    "commute (a linear RNN); eig_dev = max |mu/lambda - 1| measures how far they do\n"
    "not. sv_dev = max |ln sigma_i - ln |mu|_(i)| measures whether the singular values\n"
    "(the gradient's growth) follow the eigenvalues, which needs normal J_t as well.\n"
    "v_cond is V's condition number: past about 1e8 both say nothing. The layout is\n"
    "in docs/jacobians.md. Without --data: sequence --seq of the task the model records.\n"
    "\n";

const cli_command cli_spectrum_command = {"spectrum", spectrum_usage, "Ctrl-C stops it (exit 130) and writes nothing.\n", NULL, 0,
                                          NULL};

static cJSON *darray(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* Write a cJSON tree to path ('-' stdout) through a temporary file. */
static int write_json(const cli_ctx *c, cJSON *root, const char *path)
{
    char *txt = cJSON_Print(root);
    if (!txt) {
        fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd);
        return 1;
    }
    int e = 0;
    if (strcmp(path, "-") == 0) {
        if (fputs(txt, stdout) < 0 || fputc('\n', stdout) < 0) e = 1;
    } else {
        /* a temporary of its own (O_EXCL): a link left at a fixed name is never followed */
        char tmp[4200];
        int fd = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) < (int)sizeof tmp ? mkstemp(tmp) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        int bad = !f || fputs(txt, f) < 0 || fputc('\n', f) < 0;
        if (f) bad |= fclose(f) != 0;
        else if (fd >= 0) close(fd);
        if (bad || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
            fprintf(stderr, "rnnlab %s: %s: cannot write: %s\n", c->cmd, path, strerror(errno ? errno : EIO));
            if (fd >= 0) unlink(tmp);
            e = 1;
        }
    }
    free(txt);
    return e;
}

int cmd_spectrum(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int mode = 0, e = cli_progress_mode(c, &mode);
    if (e) return e;
    const char *model = a->model, *data = a->data_file, *out = a->out_file, *lagarg = a->lags;
    const int seq = a->seq;
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_jac *j = NULL;
    cJSON *root = NULL;
    double *buf = NULL;
    rl_status s = RL_OK;
    if ((e = open_jac(c, model, data, out, seq, &m, &d, NULL))) goto done;
    int T = rl_data_batch(d)->steps, S = rl_state_size(m), lags[64], nl = 0;
    if (lagarg) {
        if ((e = parse_lags(c, lagarg, T, lags, 64, &nl))) goto done;
    } else {
        nl = default_lags(T, lags, 64);
    }
    /* the products up to each lag, an eigensolve with vectors and more per lag; the steps' spectra; the JSON
     * (about 130 bytes a number, as cJSON's node and as text) */
    double products = 0, numbers = (a->no_steps ? 0 : 3.0 * T * S) + 5.0 * nl * S;
    for (int i = 0; i < nl; i++) products += lags[i];
    const int spectra = (a->no_steps ? 0 : T) + 4 * nl;
    if (weigh(c, a, m, T, 8.0 * S * 8 + 130 * numbers, rl_jac_seconds(S, (int)fmin(products, 2e9), spectra, spectra), &e))
        goto done;
    if ((e = make_jac(c, m, d, seq, &j))) goto done;
    rl_config cfg = rl_model_config(m);
    root = cJSON_CreateObject();
    buf = calloc(8 * (size_t)S + 1, sizeof *buf);
    if (!root || !buf) {
        fprintf(stderr, "rnnlab spectrum: out of memory\n");
        e = 1;
        goto done;
    }
    cJSON_AddStringToObject(root, "cell", rl_cell_name(cfg.cell));
    cJSON_AddNumberToObject(root, "num_layers", cfg.num_layers);
    cJSON_AddNumberToObject(root, "hidden_size", cfg.hidden_size);
    cJSON_AddNumberToObject(root, "state_size", S);
    cJSON_AddNumberToObject(root, "steps", T);
    cJSON_AddNumberToObject(root, "seq", seq);
    cli_progress_begin(c, mode);
    if (!a->no_steps) {
        cJSON *steps = cJSON_AddArrayToObject(root, "step_spectra");
        for (int t = 1; !s && t <= T; t++) {
            cli_progress("step spectra, t", t - 1, T);
            if (cli_interrupted()) break;
            s = rl_jac_step_spectrum(j, t, buf, buf + S, buf + 2 * S);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "t", t);
            cJSON_AddItemToObject(o, "eig_re", darray(buf, S));
            cJSON_AddItemToObject(o, "eig_im", darray(buf + S, S));
            cJSON_AddItemToObject(o, "sv", darray(buf + 2 * S, S));
            cJSON_AddItemToArray(steps, o);
        }
    }
    cJSON *la = cJSON_AddArrayToObject(root, "lags");
    /* the table for people; on stderr when the JSON goes to stdout */
    FILE *tf = strcmp(out, "-") == 0 ? stderr : stdout;
    fprintf(tf, "theorem check, %s, S = %d, T = %d: eig(P(T, T-k)) against prod_t [V^-1 J_t V]_ii\n",
           rl_cell_name(cfg.cell), S, T);
    fprintf(tf, "%6s %14s %14s %12s %14s %12s %9s\n", "lag", "ln|lambda_1|", "ln|mu_1|", "eig_dev", "ln sigma_1", "sv_dev",
           "resolved");
    for (int i = 0; !s && !cli_interrupted() && i < nl; i++) {
        cli_progress("theorem check, lag", i, nl);
        rl_theorem th = {buf, buf + S, buf + 2 * S, buf + 3 * S, buf + 4 * S, 0, 0, 0, 0};
        s = rl_jac_theorem(j, T - lags[i], &th);
        if (s) break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "lag", lags[i]);
        cJSON_AddNumberToObject(o, "tau", T - lags[i]);
        cJSON_AddItemToObject(o, "eig_log_abs", darray(th.eig_log_abs, S));
        cJSON_AddItemToObject(o, "eig_arg", darray(th.eig_arg, S));
        cJSON_AddItemToObject(o, "matched_log_abs", darray(th.matched_log_abs, S));
        cJSON_AddItemToObject(o, "matched_arg", darray(th.matched_arg, S));
        cJSON_AddItemToObject(o, "sv_log", darray(th.sv_log, S));
        cJSON_AddNumberToObject(o, "eig_dev", th.eig_dev);
        cJSON_AddNumberToObject(o, "sv_dev", th.sv_dev);
        cJSON_AddNumberToObject(o, "resolved", th.resolved);
        cJSON_AddNumberToObject(o, "v_cond", th.v_cond);
        cJSON_AddItemToArray(la, o);
        fprintf(tf, "%6d %14.6g %14.6g %12.3g %14.6g %12.3g %9d\n", lags[i], th.eig_log_abs[0], th.matched_log_abs[0],
               th.eig_dev, th.sv_log[0], th.sv_dev, th.resolved);
    }
    cli_progress_end();
    if (!s && cli_interrupted()) s = RL_ERR_INTERRUPTED;
    if (s) e = cli_fail(c, s);
    else e = write_json(c, root, out);
done:
    free(buf);
    cJSON_Delete(root);
    return close_jac(c, a, e, "", m, d, j);
}

static const char lyapunov_usage[] =
    "usage: rnnlab lyapunov --model M [--data D] --steps N --out L.json [options]\n"
    "\n"
    "Lyapunov exponents of the state map s_t = F(s_{t-1}, x_t) by QR\n"
    "re-orthonormalisation (Benettin): Q <- qr(J_t Q), sum ln|diag R| over N steps\n"
    "after a discarded transient, natural log per step, sorted descending. Writes JSON\n"
    "with \"exponents\" and, with --trace-every, the running estimates. Without --data\n"
    "the state starts at random (seeded): from h = 0 a zero-bias net under zero input\n"
    "never moves, and the exponents would be those of that fixed point. A state that\n"
    "never moves is said, on stderr and as \"stationary\" in the JSON. D may hold x\n"
    "(the inputs) or h0 (the initial state) alone.\n"
    "\n";

const cli_command cli_lyapunov_command = {"lyapunov", lyapunov_usage,
                                          "Ctrl-C (or SIGTERM) stops it (exit 130): after the transient it writes the "
                                          "exponents of the steps done, marked \"partial\"; before, nothing.\n",
                                          "model lyap_steps out_file", 0, NULL};

/* The JSON of rnnlab lyapunov: the run's settings, the exponents (of
 * info->steps_done steps: fewer than asked, and "partial", when it was
 * stopped) and the running estimates. */
static cJSON *lyap_json(const rl_model *m, const rl_lyap_config *cfg, const double *ex, const double *trace,
                        const rl_lyap_info *info, int partial)
{
    rl_config mc = rl_model_config(m);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "cell", rl_cell_name(mc.cell));
    cJSON_AddNumberToObject(root, "state_size", rl_state_size(m));
    cJSON_AddNumberToObject(root, "steps", info->steps_done);
    if (partial) {
        cJSON_AddBoolToObject(root, "partial", 1);
        cJSON_AddNumberToObject(root, "steps_asked", cfg->steps);
    }
    cJSON_AddNumberToObject(root, "transient", cfg->transient);
    cJSON_AddStringToObject(root, "input", rl_input_name(cfg->input));
    if (cfg->input == RL_INPUT_NOISE) cJSON_AddNumberToObject(root, "noise_std", cfg->noise_std);
    cJSON_AddStringToObject(root, "state", rl_state_name(cfg->state));
    cJSON_AddNumberToObject(root, "seed", (double)cfg->seed);
    cJSON_AddItemToObject(root, "exponents", darray(ex, cfg->k));
    /* how: QR re-orthonormalisation, or the time averages of ln|J_t[i,i]| where J_t's structure allows */
    cJSON_AddStringToObject(root, "method", info->structured ? "structured" : "qr");
    cJSON_AddBoolToObject(root, "stationary", info->stationary);
    cJSON_AddNumberToObject(root, "displacement", info->displacement);
    if (info->traced > 0) {
        cJSON *tr = cJSON_AddObjectToObject(root, "trace");
        cJSON_AddNumberToObject(tr, "every", cfg->trace_every);
        cJSON *rows = cJSON_AddArrayToObject(tr, "estimates");
        for (int i = 0; i < info->traced; i++) cJSON_AddItemToArray(rows, darray(trace + (size_t)i * cfg->k, cfg->k));
    }
    return root;
}

/* --dry-run, and the memory check: the spectrum's memory and the command's
 * own (the exponents, the trace and its JSON); the time from a run of at
 * most 64 steps, scaled. 1 when the command ends here (*e its exit code). */
static int lyap_weigh(const cli_ctx *c, const cli_args *a, const rl_model *m, const rl_batch *b, int seq,
                      const rl_lyap_config *cfg, int ntrace, int *e)
{
    rl_config mc = rl_model_config(m);
    const double own = ((double)ntrace * cfg->k + cfg->k) * (8 + 130);
    const double bytes = rl_lyapunov_bytes(&mc, rl_model_orthogonal(m), cfg) + own;
    char md[160];
    snprintf(md, sizeof md, "%d exponents of a state of S = %d", cfg->k, rl_state_size(m));
    if (!a->estimate) {
        rl_status s = rl_memory_check(bytes, md);
        return s ? (*e = cli_fail(c, s), 1) : 0;
    }
    *e = 0;
    double sec = NAN, t[2] = {0, 0}, *ex = calloc((size_t)cfg->k, sizeof *ex);
    const double total = (double)cfg->transient + cfg->steps;
    /* two short runs: the time of a step from their difference, the set-up's from the first */
    const int n[2] = {total < 128 ? (int)total : 128, total < 384 ? (int)total : 384};
    rl_status s = ex && bytes <= rl_memory_limit().bytes ? RL_OK : RL_ERR_NOMEM;
    for (int r = 0; !s && r < (n[1] > n[0] ? 2 : 1); r++) {
        rl_lyap_config sc = *cfg;
        sc.transient = 0, sc.steps = n[r], sc.trace_every = 0;
        double t0 = rl_now();
        s = rl_lyapunov_ex(m, b, seq, &sc, ex, NULL, NULL);
        t[r] = rl_now() - t0;
    }
    if (!s) sec = n[1] > n[0] ? t[0] + (t[1] - t[0]) / (n[1] - n[0]) * (total - n[0]) : t[0];
    free(ex);
    char td[160];
    snprintf(td, sizeof td, "%.0f steps; runs of %d and %d of them timed on this machine", total, n[0], n[1]);
    cli_say_cost(c, bytes, md, sec, td);
    return 1;
}

int cmd_lyapunov(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int mode = 0, e = cli_progress_mode(c, &mode);
    if (e) return e;
    const char *model = a->model, *data = a->data_file, *out = a->out_file;
    const int input = cli_given(c, "lyap_input"), state = cli_given(c, "state"), seq = a->seq;
    rl_lyap_config cfg = a->lyap;
    cfg.noise_std = a->noise_std, cfg.seed = a->t.seed;
    if (!data && ((input && cfg.input == RL_INPUT_DATA) || (state && cfg.state == RL_STATE_DATA)))
        return cli_usage_error(c, "--input data and --state data need --data");
    if (cli_given(c, "noise_std") && cfg.input != RL_INPUT_NOISE) return cli_usage_error(c, "--noise-std needs --input noise");
    cli_input(c, "--model", model);
    cli_input(c, "--data", data);
    if ((e = cli_check_output(c, "out", out))) return e;
    rl_model *m = NULL;
    rl_data *d = NULL;
    double *ex = NULL, *trace = NULL;
    cJSON *root = NULL;
    if ((e = load_pair(c, model, data, RL_DATA_OPTIONAL_XY, &m, &d))) goto done;
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    if (!input) cfg.input = b && b->x ? RL_INPUT_DATA : RL_INPUT_ZEROS;
    /* from zero, a zero-bias net under zero input would stand still at a fixed point */
    if (!state) cfg.state = b && b->h0 ? RL_STATE_DATA : b ? RL_STATE_ZEROS : RL_STATE_RANDOM;
    int S = rl_state_size(m);
    if (!cli_given(c, "k")) cfg.k = S;
    if (cfg.k > S) {
        e = cli_usage_error(c, "--k = %d exceeds the state size %d", cfg.k, S);
        goto done;
    }
    int ntrace = cfg.trace_every ? cfg.steps / cfg.trace_every : 0;
    if (lyap_weigh(c, a, m, b, seq, &cfg, ntrace, &e)) goto done;
    ex = calloc((size_t)cfg.k, sizeof *ex);
    trace = calloc((size_t)ntrace * cfg.k + 1, sizeof *trace);
    if (!ex || !trace) {
        e = fprintf(stderr, "rnnlab lyapunov: out of memory\n") > 0;
        goto done;
    }
    rl_lyap_info info = {0};
    cli_progress_begin(c, mode);
    rl_status s = rl_lyapunov_ex(m, b, seq, &cfg, ex, trace, &info);
    cli_progress_end();
    const int partial = s == RL_ERR_INTERRUPTED && info.steps_done > 0;
    if (s && !partial) {
        e = cli_fail_arg(c, s); /* --seq outside the batch, --input data without x: 2 */
        goto done;
    }
    root = lyap_json(m, &cfg, ex, trace, &info, partial);
    double sum = 0;
    for (int i = 0; i < cfg.k; i++) sum += ex[i];
    FILE *f = strcmp(out, "-") == 0 ? stderr : stdout;
    fprintf(f, "%s, S = %d, %d steps after %d%s: largest exponent %.6g", rl_cell_name(rl_model_config(m).cell), S,
            info.steps_done, cfg.transient, partial ? " (stopped: partial)" : "", ex[0]);
    if (cfg.k > 1) fprintf(f, ", smallest %.6g, sum of %d %.6g", ex[cfg.k - 1], cfg.k, sum);
    if (info.structured) fputs(" (exact: J_t is block triangular with diagonal blocks, no QR)", f);
    fputc('\n', f);
    e = write_json(c, root, out);
    if (!e && partial) {
        fprintf(stderr, "rnnlab lyapunov: stopped after %d of %d steps: %s holds the exponents of those steps, marked "
                        "\"partial\"\n", info.steps_done, cfg.steps, out);
        e = 130;
    }
    if (!e && info.stationary)
        fprintf(stderr,
                "rnnlab lyapunov: the state never moved in the %d steps: these are the exponents of the fixed point it sits on "
                "(ln|eig| of its Jacobian)%s, not of a trajectory; --state random starts elsewhere\n",
                cfg.steps, ex[0] > 0 ? ", an unstable one" : "");
done:
    cJSON_Delete(root);
    free(ex);
    free(trace);
    rl_data_free(d);
    rl_model_free(m);
    return e;
}
