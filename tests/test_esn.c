/* The echo state network (issue 15): the ridge readout against a direct
 * least-squares solve by QR, the Mackey-Glass series against an independent
 * numpy implementation (tools/make_series_fixtures.py), NARMA10's
 * recurrence exactly, the tasks' data from those generators, an ESN trained
 * and analysed end to end, and every bad input refused with one line. */
#include "train/series.h"
#include "test.h"

#include <cJSON.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A float64 model with PyTorch's init and random data: mask weights in {0,
 * 0.5, 1, 2}, a random h0. */
static rl_model *esn_model(rl_cell cell, int H, int L, int O, rl_loss loss, uint64_t seed)
{
    rl_config c = {.cell = cell, .input_size = 2, .hidden_size = H, .num_layers = L, .output_size = O, .loss = loss};
    rl_model *m = NULL;
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    CHECK_OK(rl_model_new(&m, &c, RL_F64));
    if (m) CHECK_OK(rl_model_init(m, &init, seed));
    return m;
}

/* The head by another route: the least-squares problem
 *   min || [sqrt(m) X, sqrt(m); sqrt(beta) I_H, 0] [W^T; c^T] - [sqrt(m) Y; 0] ||
 * solved by QR (dgels), whose normal equations are the readout's. head (p, O)
 * gets [W^T; c^T]. */
static int qr_head(const rl_model *m, const rl_batch *b, int washout, double beta, double *head)
{
    const rl_config c = rl_model_config(m);
    const int B = b->batch, T = b->steps, H = c.hidden_size, O = c.output_size, p = H + 1;
    rl_ws *ws = NULL;
    CHECK_OK(rl_ws_new(&ws, m, B, T));
    if (!ws) return 0;
    CHECK_OK(rl_forward(ws, m, b, NULL));
    const double *h = rl_ws_hidden(ws, c.num_layers - 1), *mask = b->mask, *y = b->y;
    const int rows = B * (T - washout) + H;
    double *A = calloc((size_t)rows * p, 8), *Y = calloc((size_t)rows * O, 8);
    int r = 0;
    for (int bb = 0; bb < B; bb++)
        for (int t = washout; t < T; t++, r++) {
            double sw = sqrt(mask ? mask[bb * T + t] : 1);
            for (int j = 0; j < H; j++) A[(size_t)r * p + j] = sw * h[((size_t)(t + 1) * B + bb) * H + j];
            A[(size_t)r * p + H] = sw;
            for (int o = 0; o < O; o++) Y[(size_t)r * O + o] = sw * y[((size_t)bb * T + t) * O + o];
        }
    for (int j = 0; j < H; j++, r++) A[(size_t)r * p + j] = sqrt(beta);
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', rows, p, O, A, p, Y, O);
    CHECK(info == 0);
    memcpy(head, Y, (size_t)p * O * 8);
    free(A), free(Y);
    rl_ws_free(ws);
    return info == 0;
}

/* The readout's head against QR on the same states, to 1e-10; nothing but
 * the head changes; the fit's loss is the model's masked loss after the
 * washout. Two layers (the top one is read), masks, h0, two outputs. */
TEST(esn_ridge_readout_matches_a_direct_solve)
{
    const int H = 5, O = 2, B = 3, T = 12, W = 3;
    const double betas[3] = {0, 1e-3, 0.7};
    const rl_cell cells[3] = {RL_CELL_LEAKY, RL_CELL_TANH, RL_CELL_LSTM};
    for (int ci = 0; ci < 3; ci++)
        for (int k = 0; k < 3; k++) {
            rl_model *m = esn_model(cells[ci], H, 2, O, RL_LOSS_MSE, 3 + k);
            rl_data *d = NULL;
            if (m) CHECK_OK(rl_data_random(&d, m, B, T, RL_F64, 1, 1, 11 + k));
            if (!m || !d) {
                rl_model_free(m), rl_data_free(d);
                continue;
            }
            const rl_batch *b = rl_data_batch(d);
            const size_t n = rl_model_num_params(m);
            double *before = malloc(n * 8), want[(5 + 1) * 2];
            memcpy(before, rl_model_params_const(m), n * 8);
            rl_ridge_info info;
            CHECK_OK(rl_ridge_readout(m, b, W, betas[k], &info));
            if (qr_head(m, b, W, betas[k], want)) {
                const double *p = rl_model_params_const(m), *hw = test_view(m, "head.weight", O, H),
                             *hb = test_view(m, "head.bias", O, 0);
                double got[(5 + 1) * 2];
                for (int o = 0; hw && hb && o < O; o++) {
                    for (int j = 0; j < H; j++) got[j * O + o] = hw[(size_t)o * H + j];
                    got[H * O + o] = hb[o];
                }
                if (hw && hb) CHECK_CLOSE("head by ridge vs QR", got, RL_F64, want, (size_t)(H + 1) * O, 1e-10, 1e-10);
                /* everything before the head is untouched, bit for bit */
                CHECK(hw && memcmp(before, p, (size_t)(hw - p) * 8) == 0);
            }
            /* the fit's loss: the model's own MSE with the washout masked out */
            double *mask = malloc((size_t)B * T * 8), loss = NAN;
            memcpy(mask, b->mask, (size_t)B * T * 8);
            for (int bb = 0; bb < B; bb++)
                for (int t = 0; t < W; t++) mask[bb * T + t] = 0;
            rl_batch bm = *b;
            bm.mask = mask;
            rl_ws *ws = NULL;
            CHECK_OK(rl_ws_new(&ws, m, B, T));
            if (ws) CHECK_OK(rl_forward_eval(ws, m, &bm, &loss));
            CHECK_MSG(fabs(loss - info.train_mse) <= 1e-12 * fabs(loss), "loss %.17g, fit %.17g", loss, info.train_mse);
            CHECK(info.rows > 0 && info.rows <= B * (T - W) && info.rcond > 0 && info.rcond <= 1);
            rl_ws_free(ws);
            free(mask), free(before);
            rl_data_free(d);
            rl_model_free(m);
        }
}

/* A ridge of 0 on a singular system (fewer rows than H + 1), a negative
 * ridge, a washout as long as the sequence, a cross-entropy head: one
 * message each, the head untouched; ridge > 0 on the same rows is solved. */
TEST(esn_ridge_readout_refuses_bad_input)
{
    rl_model *m = esn_model(RL_CELL_LEAKY, 6, 1, 1, RL_LOSS_MSE, 1), *ce = esn_model(RL_CELL_TANH, 3, 1, 2, RL_LOSS_CE, 1);
    rl_data *d = NULL, *dc = NULL;
    if (m) CHECK_OK(rl_data_random(&d, m, 1, 6, RL_F64, 0, 0, 2));
    if (ce) CHECK_OK(rl_data_random(&dc, ce, 2, 5, RL_F64, 0, 0, 2));
    if (!d || !dc) goto out;
    const size_t n = rl_model_num_params(m);
    double *before = malloc(n * 8);
    memcpy(before, rl_model_params_const(m), n * 8);
    rl_ridge_info info;
    /* 6 - 2 = 4 rows for 7 unknowns */
    CHECK(rl_ridge_readout(m, rl_data_batch(d), 2, 0, &info) == RL_ERR_LAPACK && strstr(rl_errmsg(), "singular") &&
          strstr(rl_errmsg(), "7 unknowns over 4 rows"));
    CHECK(rl_ridge_readout(m, rl_data_batch(d), 2, -1e-3, &info) == RL_ERR_ARG && strstr(rl_errmsg(), "ridge = -0.001"));
    CHECK(rl_ridge_readout(m, rl_data_batch(d), 6, 1e-3, &info) == RL_ERR_ARG && strstr(rl_errmsg(), "washout = 6"));
    CHECK(rl_ridge_readout(m, rl_data_batch(d), 2, NAN, &info) == RL_ERR_ARG);
    CHECK(memcmp(before, rl_model_params_const(m), n * 8) == 0);
    CHECK(rl_ridge_readout(ce, rl_data_batch(dc), 0, 1e-3, &info) == RL_ERR_ARG && strstr(rl_errmsg(), "MSE head"));
    CHECK_OK(rl_ridge_readout(m, rl_data_batch(d), 2, 1e-3, &info));
    CHECK(info.rows == 4);
    free(before);
out:
    rl_data_free(d), rl_data_free(dc);
    rl_model_free(m), rl_model_free(ce);
}

/* Mackey-Glass against numpy (tools/make_series_fixtures.py): the same
 * recipe written independently (its sums in another order): the first
 * 1,000 samples to 1e-10 and all 1,500 to 1e-7, since in a chaotic series
 * rounding differences grow, here about e^0.01 a step (6e-12 at 1,000, 5e-10
 * at 1,500 between the two orders of the sums); the known range of
 * the attractor on a long run; the task's data is the series from the
 * history drawn as documented, rounded to float32. */
TEST(esn_mackey_glass_matches_the_reference)
{
    rl_st *f = NULL;
    CHECK_OK(rl_st_open(&f, fixture("mackey_glass.safetensors")));
    if (!f) return;
    double hist[RL_MG_TAU], want[1500], got[1500];
    CHECK_OK(rl_st_read_f64(f, "history", hist, RL_MG_TAU));
    CHECK_OK(rl_st_read_f64(f, "x", want, 1500));
    rl_st_close(f);
    rl_mackey_glass(hist, 1500, got);
    CHECK_CLOSE("mackey-glass, samples 0-999", got, RL_F64, want, 1000, 0, 1e-10);
    CHECK_CLOSE("mackey-glass, all 1500", got, RL_F64, want, 1500, 0, 1e-7);
    /* 20,000 samples from another history stay in the attractor's range */
    const int N = 20000;
    double *x = malloc(N * 8), lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < RL_MG_TAU; k++) hist[k] = 0.5 + 0.05 * k;
    rl_mackey_glass(hist, N, x);
    for (int i = 1000; i < N; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    CHECK_MSG(lo > 0.2 && lo < 0.5 && hi > 1.2 && hi < 1.45, "range [%g, %g]", lo, hi);
    free(x);
    /* the task: per sequence 17 uniforms, x(-17..-1) = 1.2 + 0.2 (U - 0.5); input x_t, target x_{t+1} */
    const int T = 300, B = 2;
    rl_task *t = NULL;
    rl_data *d = NULL;
    CHECK_OK(rl_task_new(&t, RL_TASK_MACKEY_GLASS, T, NULL));
    if (t) CHECK_OK(rl_task_data_new(&d, t, B));
    if (d) {
        rl_rng r, r2;
        rl_rng_seed(&r, 9), rl_rng_seed(&r2, 9);
        CHECK_OK(rl_task_fill(t, d, &r, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        int bad = 0;
        for (int bb = 0; bb < B; bb++) {
            for (int k = 0; k < RL_MG_TAU; k++) hist[k] = RL_MG_X0 + 0.2 * (rl_rng_uniform(&r2) - 0.5);
            rl_mackey_glass(hist, T + 1, got);
            for (int i = 0; i < T; i++)
                bad += ((const float *)b->x)[bb * T + i] != (float)got[i] || ((const float *)b->y)[bb * T + i] != (float)got[i + 1] ||
                       ((const float *)b->mask)[bb * T + i] != 1;
        }
        CHECK_MSG(bad == 0, "%d steps differ from the generator", bad);
        rl_task_info in = rl_task_get_info(t);
        CHECK(in.input_size == 1 && in.output_size == 1 && in.loss == RL_LOSS_MSE && isnan(in.baseline));
    }
    rl_data_free(d);
    rl_task_free(t);
}

/* NARMA10: every step of a draw is the recurrence, exactly (the same
 * operations in the same order); u on [0, 0.5) and on float32's grid; a
 * draw is refused (-1) exactly when y passes the bound; the task's data is
 * the draw after 100 steps from rest, a diverging draw drawn again. */
TEST(esn_narma10_recurrence_exactly)
{
    const int n = 1100;
    double *u = malloc(n * 8), *y = malloc((n + 1) * 8);
    int diverged = 0, bad = 0;
    rl_rng r;
    rl_rng_seed(&r, 1);
    for (int k = 0; k < 2000 && (k < 20 || !diverged); k++) {
        int ret = rl_narma10(&r, n, u, y), over = 0, tmax = n;
        for (int t = 0; t < n; t++)
            if (y[t + 1] > RL_NARMA_BOUND) {
                over = 1, tmax = t + 1;
                break;
            }
        bad += (ret == -1) != over || y[0] != 0;
        diverged += over;
        for (int t = 0; t < tmax; t++) {
            double s = 0;
            for (int i = 0; i <= 9 && i <= t; i++) s += y[t - i];
            const double want = 0.3 * y[t] + 0.05 * y[t] * s + 1.5 * (t >= 9 ? u[t - 9] : 0) * u[t] + 0.1;
            bad += y[t + 1] != want || !(u[t] >= 0 && u[t] < 0.5) || (double)(float)u[t] != u[t];
        }
    }
    CHECK_MSG(bad == 0, "%d steps off the recurrence", bad);
    CHECK_MSG(diverged > 0, "no draw diverged in 2000: the bound is not exercised");
    /* the task */
    const int T = 400, B = 3, burn = 100;
    rl_task *t = NULL;
    rl_data *d = NULL;
    CHECK_OK(rl_task_new(&t, RL_TASK_NARMA10, T, NULL));
    if (t) CHECK_OK(rl_task_data_new(&d, t, B));
    if (d) {
        rl_rng r1, r2;
        rl_rng_seed(&r1, 4), rl_rng_seed(&r2, 4);
        CHECK_OK(rl_task_fill(t, d, &r1, 0, NULL));
        const rl_batch *b = rl_data_batch(d);
        for (int bb = 0; bb < B; bb++) {
            while (rl_narma10(&r2, T + burn, u, y) != 0) {}
            for (int i = 0; i < T; i++)
                bad += ((const float *)b->x)[bb * T + i] != (float)u[burn + i] ||
                       ((const float *)b->y)[bb * T + i] != (float)y[burn + i + 1];
        }
        CHECK_MSG(bad == 0, "%d task steps differ from the generator", bad);
    }
    rl_data_free(d);
    rl_task_free(t);
    free(u), free(y);
}

static double json_number(const char *path, const char *key, int line)
{
    size_t n = 0;
    unsigned char *txt = read_file(path, &n);
    double v = NAN;
    /* the line-th line (0-based) of a JSON-lines file, or the whole file */
    char *s = (char *)txt;
    for (int k = 0; s && k < line; k++) s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    if (!j && s) {
        char *e = strchr(s, '\n');
        if (e) *e = '\0';
        j = cJSON_Parse(s);
    }
    const cJSON *it = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
    if (cJSON_IsNumber(it)) v = it->valuedouble;
    cJSON_Delete(j);
    free(txt);
    return v;
}

/* An echo state network end to end: trained on Mackey-Glass by the CLI
 * (the recurrence exactly as `rnnlab init` makes it with the same options),
 * scored by eval with a washout, and on its driving input its largest
 * Lyapunov exponent is negative (the echo state property). */
TEST(esn_cli_end_to_end)
{
    char run[1100], model[1200], init[1200], data[1200], ly[1200], out[4096];
    snprintf(run, sizeof run, "%s/esn-mg", test_tmpdir);
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    snprintf(init, sizeof init, "%s/esn-init.safetensors", test_tmpdir);
    snprintf(data, sizeof data, "%s/esn-mg.safetensors", test_tmpdir);
    snprintf(ly, sizeof ly, "%s/esn-ly.json", test_tmpdir);
    const char *train[] = {"rnnlab", "train", "--task", "mackey-glass", "--seq-len", "400", "--batch", "1", "--cell", "leaky",
                           "--hidden", "40", "--init", "gaussian", "--radius", "1.25", "--leak", "0.3", "--input-scale", "1",
                           "--zero-bias", "--readout", "ridge", "--ridge", "1e-5", "--washout", "100", "--seed", "3",
                           "--quiet", "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    char mpath[1200];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", run);
    CHECK(json_number(mpath, "ridge_rows", 0) == 300);
    const double train_nrmse = json_number(mpath, "train_nrmse", 0), val_nrmse = json_number(mpath, "val_nrmse", 1);
    CHECK_MSG(train_nrmse > 0 && train_nrmse < 0.05 && val_nrmse > 0 && val_nrmse < 0.1, "NRMSE train %g, validation %g",
              train_nrmse, val_nrmse);
    /* the same reservoir from rnnlab init: every tensor but the head's, bit for bit */
    const char *mk[] = {"rnnlab", "init", "--cell", "leaky", "--input", "1", "--hidden", "40", "--output", "1", "--init", "gaussian",
                        "--radius", "1.25", "--leak", "0.3", "--input-scale", "1", "--zero-bias", "--seed", "3", "--out", init, NULL};
    CHECK(run_cli(mk, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *a = NULL, *b = NULL;
    CHECK_OK(rl_model_load(&a, model, RL_F32));
    CHECK_OK(rl_model_load(&b, init, RL_F32));
    if (a && b) {
        const float *p = rl_model_params_const(a), *head = rl_model_view_const(a, "head.weight", 2, (const int64_t[]){1, 40});
        CHECK(head && rl_model_num_params(a) == rl_model_num_params(b) &&
              memcmp(p, rl_model_params_const(b), (size_t)(head - p) * 4) == 0);
        CHECK(memcmp(rl_model_params_const(a), rl_model_params_const(b), rl_model_num_params(a) * 4) != 0);
    }
    rl_model_free(a), rl_model_free(b);
    /* eval: fresh series, the first 100 steps not scored */
    const char *ev[] = {"rnnlab", "eval", "--model", model, "--task", "mackey-glass", "--seq-len", "600", "--washout", "100",
                        "--batch", "2", "--batches", "2", "--json", NULL};
    CHECK(run_cli(ev, NULL, out, sizeof out, NULL, 0) == 0);
    cJSON *j = cJSON_Parse(out);
    const cJSON *nr = cJSON_GetObjectItemCaseSensitive(j, "nrmse"), *sc = cJSON_GetObjectItemCaseSensitive(j, "scored_steps"),
                *rm = cJSON_GetObjectItemCaseSensitive(j, "rmse"), *ms = cJSON_GetObjectItemCaseSensitive(j, "mse");
    CHECK(cJSON_IsNumber(nr) && nr->valuedouble < 0.1 && cJSON_IsNumber(sc) && sc->valuedouble == 4 * 500);
    CHECK(cJSON_IsNumber(rm) && cJSON_IsNumber(ms) && fabs(rm->valuedouble * rm->valuedouble - ms->valuedouble) < 1e-12);
    cJSON_Delete(j);
    /* the reservoir on its input: the largest Lyapunov exponent is negative */
    const char *dt[] = {"rnnlab", "data", "--model", model, "--task", "mackey-glass", "--seq-len", "600", "--seed", "5", "--out", data, NULL};
    CHECK(run_cli(dt, NULL, NULL, 0, NULL, 0) == 0);
    const char *lp[] = {"rnnlab", "lyapunov", "--model", model, "--data", data, "--steps", "500", "--k", "3", "--out", ly, NULL};
    CHECK(run_cli(lp, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    unsigned char *txt = read_file(ly, &n);
    j = txt ? cJSON_Parse((char *)txt) : NULL;
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "exponents");
    CHECK(cJSON_IsArray(ex) && cJSON_IsNumber(ex->child) && ex->child->valuedouble < 0);
    cJSON_Delete(j);
    free(txt);
    /* a ridge run has one step: nothing to resume */
    rl_trainer *t = NULL;
    CHECK(rl_trainer_resume(&t, run, 2) == RL_ERR_ARG && strstr(rl_errmsg(), "one step"));
    rl_trainer_free(t);
}

/* Bad input on the command line: one line each, exit 2 for a usage error,
 * 1 for a system that cannot be solved. Which cells: any; the leaky and
 * tanh cells are the classic reservoirs, and an LSTM's states are fitted
 * the same way (its h). */
TEST(esn_cli_bad_input)
{
    char run[1100];
    snprintf(run, sizeof run, "%s/esn-bad", test_tmpdir);
    struct { const char *argv[24]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "train", "--task", "mackey-glass", "--readout", "ridge", "--ridge", "-1", "--out", run, NULL}, 2,
         "--ridge = -1 is out of range"},
        {{"rnnlab", "train", "--task", "mackey-glass", "--seq-len", "50", "--readout", "ridge", "--washout", "50", "--out", run,
          NULL}, 2, "--washout 50 leaves nothing to fit"},
        {{"rnnlab", "train", "--task", "copy", "--readout", "ridge", "--out", run, NULL}, 2, "fits an MSE head"},
        {{"rnnlab", "train", "--task", "narma10", "--readout", "ridge", "--lr", "0.1", "--out", run, NULL}, 2,
         "--lr is for --readout bptt"},
        {{"rnnlab", "train", "--task", "narma10", "--readout", "ridge", "--steps", "10", "--out", run, NULL}, 2,
         "--steps is for --readout bptt"},
        {{"rnnlab", "train", "--task", "narma10", "--ridge", "1e-3", "--out", run, NULL}, 2, "--ridge is for --readout ridge"},
        {{"rnnlab", "train", "--task", "narma10", "--washout", "3", "--out", run, NULL}, 2, "--washout is for --readout ridge"},
        {{"rnnlab", "train", "--task", "narma10", "--readout", "rigde", "--out", run, NULL}, 2, "unknown readout 'rigde'"},
        {{"rnnlab", "train", "--task", "narma10", "--input-scale", "-1", "--out", run, NULL}, 2, "--input-scale = -1 is out of range"},
        /* 10 rows for 21 unknowns, no ridge: singular, seen before anything is made */
        {{"rnnlab", "train", "--task", "narma10", "--seq-len", "10", "--batch", "1", "--hidden", "20", "--readout", "ridge",
          "--ridge", "0", "--quiet", "--out", run, NULL}, 2, "10 rows for 21 unknowns"},
        {{"rnnlab", "eval", "--model", "no-such.safetensors", "--task", "narma10", "--seq-len", "20", "--washout", "20", NULL}, 1,
         "no-such.safetensors"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512] = "";
        int st = run_cli(cases[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == cases[i].status && strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: exit %d, '%s'", i,
                  st, e);
    }
    /* singular at run time: input weights that round to 0 in float32 and no
     * biases leave every state 0; the run's first line, then the error */
    char zero[1100];
    snprintf(zero, sizeof zero, "%s/esn-zero", test_tmpdir);
    const char *sing[] = {"rnnlab", "train", "--task", "narma10", "--seq-len", "100", "--batch", "1", "--hidden", "5",
                          "--input-scale", "1e-300", "--zero-bias", "--readout", "ridge", "--ridge", "0", "--quiet", "--out",
                          zero, NULL};
    CHECK(run_cli(sing, NULL, NULL, 0, NULL, 0) == 1 && run_cli_err_lines() == 2);
    size_t en = 0;
    unsigned char *err = read_file(tmp_path("cli.stderr"), &en);
    CHECK_MSG(err && strstr((char *)err, "rnnlab train: ridge readout: the normal equations of 6 unknowns over 100 rows are "
                                          "singular to working precision"), "%s", err ? (char *)err : "");
    free(err);
    /* an LSTM reservoir is fitted too; then eval's washout and data --task are checked against it */
    char lstm[1100], model[1200];
    snprintf(lstm, sizeof lstm, "%s/esn-lstm", test_tmpdir);
    snprintf(model, sizeof model, "%s/model.safetensors", lstm);
    const char *ok[] = {"rnnlab", "train", "--task", "narma10", "--seq-len", "200", "--batch", "2", "--cell", "lstm", "--hidden",
                        "8", "--readout", "ridge", "--washout", "20", "--quiet", "--out", lstm, NULL};
    CHECK(run_cli(ok, NULL, NULL, 0, NULL, 0) == 0);
    struct { const char *argv[16]; int status; const char *frag; } after[] = {
        {{"rnnlab", "eval", "--model", model, "--task", "narma10", "--seq-len", "20", "--washout", "20", NULL}, 2,
         "--washout 20 leaves nothing to score"},
        {{"rnnlab", "data", "--model", model, "--task", "copy", "--seq-len", "20", "--out", "-", NULL}, 2, "does not fit the task copy"},
        {{"rnnlab", "data", "--model", model, "--task", "narma10", "--seq-len", "20", "--mask", "last", "--out", "-", NULL}, 2,
         "a task makes its own"},
        {{"rnnlab", "train", "--resume", lstm, "--steps", "2", NULL}, 2, "one step"},
    };
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        char e[512] = "";
        int st = run_cli(after[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == after[i].status && strstr(e, after[i].frag) && run_cli_err_lines() == 1, "after %zu: exit %d, '%s'", i,
                  st, e);
    }
}

/* What a ridge run says on stderr: main's progress line and final line,
 * with the fit's MSE as the loss, no gradient or learning rate (a fit has
 * neither: no "nan"), and the NRMSE of the validation. */
TEST(esn_cli_says_how_the_fit_went)
{
    char run[1100];
    snprintf(run, sizeof run, "%s/esn-said", test_tmpdir);
    const char *tr[] = {"rnnlab", "train", "--task", "narma10", "--seq-len", "120", "--batch", "2", "--hidden", "16",
                        "--readout", "ridge", "--washout", "20", "--progress", "--out", run, NULL};
    CHECK(run_cli(tr, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    char *err = (char *)read_file(tmp_path("cli.stderr"), &n);
    CHECK_MSG(err && strstr(err, "ridge readout, beta 1e-06, washout 20") && strstr(err, "step 1/1  loss ") &&
                  strstr(err, "  val ") && !strstr(err, "nan") && !strstr(err, "|g|") &&
                  strstr(err, "rnnlab train: done, 1 steps; validation loss ") && strstr(err, ", nrmse "),
              "%s", err ? err : "");
    free(err);
}
