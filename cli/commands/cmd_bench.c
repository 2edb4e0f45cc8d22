/* rnnlab bench: the workloads of the PyTorch peer script (../shared/bench/
 * torch_anchor.py) on rnnlab, with FLOP counts and the machine's sgemm rate. */
#include "cli.h"

#include <cJSON.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char usage[] =
    "usage: rnnlab bench [--task charlm|smnist] [--cell C] [--hidden H] [--batch B] [--seq T] [--threads N] [--json]\n"
    "       rnnlab bench --jacobian | --lyapunov [--hidden H] [--seq T] [--threads N] [--json]\n"
    "       rnnlab bench --sgemm [--threads N] [--json]\n"
    "\n"
    "Time the peer's workloads: a character-model training step (one-hot input over\n"
    "V = 65 symbols, one recurrent layer, a Linear(H, 65) readout at every step,\n"
    "cross-entropy over all steps, BPTT, clip_grad_norm(1.0), Adam; float32) and the\n"
    "forward pass alone; prints tokens/s (B*T per step, the median over repeats),\n"
    "GFLOP/s from a FLOP count of the multiplies (one-hot inputs are gathered, not\n"
    "multiplied, and not counted), and the share of the best sgemm rate measured\n"
    "here on 2048^3. --task smnist times sequential MNIST's shape instead: one\n"
    "pixel in [0, 1) a step, T = 784, a Linear(H, 10) readout, cross-entropy on\n"
    "the last step only, and the epoch of 60,000 sequences it implies.\n"
    "--jacobian times the product dh_T/dh_0 of a tanh RNN (T = 100,\n"
    "H = 128, float64); --lyapunov the full spectrum at H = 128 over 1,000 steps;\n"
    "--sgemm the sgemm rate alone. The JSON has a \"system\" object: the BLAS, its\n"
    "kernel, the CPU and cores, as rnnlab info --json prints them. The workloads'\n"
    "sizes stop at 8192 units, batches of 4096 and 256 threads.\n"
    "\n";

static void bench_defaults(cli_args *a)
{
    a->bench_cell = "rnn", a->t.hidden = 128, a->t.batch = 32, a->bench_seq = 64, a->threads = 2, a->seconds = 1.5;
}

const cli_command cli_bench_command = {"bench", usage, NULL, NULL, 0, bench_defaults};

/* The sizes bench times at most: 0, or 2 after a usage error. */
static int bench_limits(const cli_ctx *c, const cli_args *a)
{
    if (a->t.hidden > 8192) return cli_usage_error(c, "--hidden = %d: bench times at most 8192 units", a->t.hidden);
    if (a->t.batch > 4096) return cli_usage_error(c, "--batch = %d: bench times batches of at most 4096", a->t.batch);
    if (a->threads > 256) return cli_usage_error(c, "--threads = %d: bench times at most 256 threads", a->threads);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median (or, with best, the shortest) seconds per call of fn over about
 * `seconds`, after a warm-up. */
static double time_calls(int (*fn)(void *), void *ctx, double seconds, int best)
{
    double t0 = rl_now(), one = 0;
    for (int i = 0; i < 2 || rl_now() - t0 < 0.2; i++) {
        double s = rl_now();
        if (fn(ctx)) return NAN;
        one = rl_now() - s;
        if (i > 50) break;
    }
    int reps = (int)fmin(200, fmax(5, ceil(seconds / fmax(one, 1e-7))));
    double *ts = malloc((size_t)reps * sizeof *ts);
    if (!ts) return NAN;
    for (int i = 0; i < reps; i++) {
        double s = rl_now();
        if (fn(ctx)) {
            free(ts);
            return NAN;
        }
        ts[i] = rl_now() - s;
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_d);
    double med = ts[best ? 0 : reps / 2];
    free(ts);
    return med;
}

static double time_it(int (*fn)(void *), void *ctx, double seconds) { return time_calls(fn, ctx, seconds, 0); }

typedef struct {
    rl_model *m;
    rl_ws *ws;
    rl_optim *opt;
    rl_batch b;
    int train;
} step_ctx;

static int one_step(void *p)
{
    step_ctx *c = p;
    double loss, norm;
    rl_status s = c->train ? rl_forward(c->ws, c->m, &c->b, &loss) : rl_forward_eval(c->ws, c->m, &c->b, &loss);
    if (!s && c->train) {
        rl_ws_zero_grad(c->ws);
        s = rl_backward(c->ws, c->m, &c->b);
        if (!s) s = rl_clip_grad_norm(rl_ws_grad(c->ws), rl_model_num_params(c->m), RL_F32, 1.0, &norm);
        if (!s) s = rl_optim_step(c->opt, c->m, rl_ws_grad(c->ws), 1e-3);
    }
    if (s) fprintf(stderr, "rnnlab bench: %s\n", rl_errmsg());
    return s != RL_OK;
}

typedef struct {
    float *a, *b, *c;
    int n;
} gemm_ctx;

static int one_gemm(void *p)
{
    gemm_ctx *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1, g->a, g->n, g->b, g->n, 0, g->c, g->n);
    return 0;
}

/* OpenBLAS's sgemm on rl_get_num_threads() threads: the ceiling the shares
 * are of (OpenBLAS is put back on one thread after) */
static double sgemm_gflops(double seconds)
{
    gemm_ctx g = {NULL, NULL, NULL, 2048};
    openblas_set_num_threads(rl_get_num_threads());
    size_t n2 = (size_t)g.n * g.n;
    g.a = malloc(n2 * 4), g.b = malloc(n2 * 4), g.c = malloc(n2 * 4);
    double r = NAN;
    if (g.a && g.b && g.c) {
        for (size_t i = 0; i < n2; i++) g.a[i] = (float)(i % 7) * 0.1f, g.b[i] = (float)(i % 5) * 0.1f;
        /* the ceiling: the best of the repeats, so that a slow moment of the
         * machine does not inflate the shares */
        r = 2.0 * g.n * g.n * g.n / time_calls(one_gemm, &g, seconds, 1) / 1e9;
    }
    free(g.a), free(g.b), free(g.c);
    openblas_set_num_threads(1);
    return r;
}

typedef struct {
    rl_jac *j;
    double *P;
    int T;
} jac_ctx;

static int one_product(void *p)
{
    jac_ctx *c = p;
    double scale;
    return rl_jac_product(c->j, c->T, 0, c->P, &scale) != RL_OK;
}

typedef struct {
    rl_model *m;
    rl_lyap_config cfg;
    double *ex;
} lyap_ctx;

static int one_lyapunov(void *p)
{
    lyap_ctx *c = p;
    return rl_lyapunov(c->m, NULL, 0, &c->cfg, c->ex, NULL) != RL_OK;
}

static double peak_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* The analysis workloads (--jacobian, --lyapunov) into j: a tanh RNN,
 * W_hh ~ N(0, 1.5^2/H), noise inputs. */
static rl_status bench_analysis(cJSON *j, const cli_args *a, int T)
{
    const int H = a->t.hidden;
    const double seconds = a->seconds;
    rl_status s;
    rl_config mc = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_GAUSSIAN, .gain = 1.5};
    rl_model *m = NULL;
    s = rl_model_new(&m, &mc, RL_F64);
    if (!s) s = rl_model_init(m, &init, 1);
    double secs = NAN;
    if (!s && a->bench_jacobian) {
        double *x = calloc((size_t)T, 8);
        rl_rng r;
        rl_rng_seed(&r, 2);
        for (int t = 0; x && t < T; t++) x[t] = rl_rng_normal(&r);
        rl_batch b = {RL_F64, 1, T, 1, x, NULL, NULL, NULL, NULL, NULL};
        jac_ctx jc = {NULL, malloc((size_t)H * H * 8), T};
        s = rl_jac_new(&jc.j, m, &b, 0);
        if (!s && jc.P) secs = time_it(one_product, &jc, seconds);
        cJSON_AddStringToObject(j, "workload", "jacobian product dh_T/dh_0, tanh, float64");
        cJSON_AddNumberToObject(j, "hidden", H);
        cJSON_AddNumberToObject(j, "seq", T);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cJSON_AddNumberToObject(j, "gflops", 2.0 * H * H * H * T / secs / 1e9);
        rl_jac_free(jc.j);
        free(jc.P), free(x);
    } else if (!s) {
        lyap_ctx lc = {m, {.steps = 1000, .transient = 0, .k = H, .input = RL_INPUT_NOISE, .noise_std = 1,
                           .state = RL_STATE_RANDOM, .seed = 3},
                       malloc((size_t)H * 8)};
        if (lc.ex) secs = time_it(one_lyapunov, &lc, seconds);
        cJSON_AddStringToObject(j, "workload", "full Lyapunov spectrum, tanh, 1000 steps, float64");
        cJSON_AddNumberToObject(j, "hidden", H);
        cJSON_AddNumberToObject(j, "steps", 1000);
        cJSON_AddNumberToObject(j, "seconds", secs);
        free(lc.ex);
    }
    rl_model_free(m);
    return s;
}

/* 2 per weight of every matrix of model m */
static double matrix_flops(const rl_model *m)
{
    double f = 0;
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *t = rl_model_tensor(m, i);
        if (t->ndim == 2) f += 2.0 * (double)t->numel;
    }
    return f;
}

/* FLOPs of one forward pass's multiplies per token: 2 per weight of every
 * matrix the step multiplies by (the recurrence, an output map, the
 * readout), and of the input side unless the inputs are one-hot (gathered
 * rows, not multiplies): the input side, linear in the input size, is what
 * a model of one input less has fewer. A training step is counted as 3
 * forward passes (backward: dL/dinput and dL/dW, one multiply each). */
static double flops_per_token(const rl_model *m, const rl_config *mc, int one_hot)
{
    double f = matrix_flops(m);
    if (!one_hot || mc->input_size < 2) return f;
    rl_config c1 = *mc;
    c1.input_size = mc->input_size - 1;
    rl_model *m1 = NULL;
    if (rl_model_new(&m1, &c1, RL_F32)) return NAN;
    const double per_input = f - matrix_flops(m1);
    rl_model_free(m1);
    return f - per_input * mc->input_size;
}

/* The training workload into j: a character model's step (one-hot inputs
 * over 65 symbols, the loss at every step), or with --task smnist one pixel
 * a step and the class at the last; and the forward pass alone. */
static rl_status bench_training(cJSON *j, const cli_args *a, rl_cell cell, int T)
{
    const int H = a->t.hidden, B = a->t.batch, mnist = a->bench_task == 1;
    const double seconds = a->seconds;
    rl_status s;
    const int V = mnist ? 1 : 65, O = mnist ? 10 : 65;
    rl_config mc = {.cell = cell, .input_size = V, .hidden_size = H, .num_layers = 1, .output_size = O, .loss = RL_LOSS_CE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    step_ctx sc = {0};
    rl_optim_config oc = rl_optim_defaults(RL_OPT_ADAM);
    s = rl_model_new(&sc.m, &mc, RL_F32);
    if (!s) s = rl_model_init(sc.m, &init, 1);
    if (!s) s = rl_ws_new(&sc.ws, sc.m, B, T);
    if (!s) s = rl_optim_new(&sc.opt, sc.m, &oc);
    float *x = calloc((size_t)B * T * V, 4), *mask = mnist ? calloc((size_t)B * T, 4) : NULL;
    int32_t *y = calloc((size_t)B * T, 4);
    rl_rng r;
    rl_rng_seed(&r, 4);
    for (size_t i = 0; x && y && i < (size_t)B * T; i++) {
        if (mnist) x[i] = (float)rl_rng_uniform(&r), y[i] = (int32_t)(rl_rng_next(&r) % 10);
        else x[i * V + rl_rng_next(&r) % V] = 1, y[i] = (int32_t)(rl_rng_next(&r) % V);
    }
    for (int b = 0; mask && b < B; b++) mask[(size_t)b * T + T - 1] = 1; /* the class at the last step */
    sc.b = (rl_batch){RL_F32, B, T, V, x, y, NULL, mask, NULL, NULL};
    if (!s && mnist && !mask) s = RL_ERR_NOMEM;
    double gs = NAN, tr = NAN, fw = NAN;
    rl_phase_time prof[16];
    int nprof = 0;
    if (!s && x && y) {
        sc.train = 1;
        rl_profile_reset();
        tr = time_it(one_step, &sc, seconds);
        nprof = rl_profile_get(prof, 16);
        sc.train = 0;
        fw = time_it(one_step, &sc, seconds);
    }
    /* after rnnlab's runs: OpenBLAS's workers spin for a while after a call */
    if (!a->no_sgemm) gs = sgemm_gflops(seconds);
    const double TB = (double)T * B, fwd = TB * (sc.m ? flops_per_token(sc.m, &mc, !mnist) : NAN), train = 3 * fwd;
    cJSON_AddStringToObject(j, "task", mnist ? "smnist" : "charlm");
    cJSON_AddStringToObject(j, "cell", a->bench_cell);
    cJSON_AddNumberToObject(j, "hidden", H);
    cJSON_AddNumberToObject(j, "batch", B);
    cJSON_AddNumberToObject(j, "seq", T);
    if (mnist) cJSON_AddNumberToObject(j, "classes", O);
    else cJSON_AddNumberToObject(j, "vocab", V);
    cJSON_AddNumberToObject(j, "train_tokens_per_s", TB / tr);
    if (nprof) { /* RNNLAB_PROFILE=1: the share of the training time in each phase */
        cJSON *pj = cJSON_AddObjectToObject(j, "profile_share");
        double all = 0;
        for (int i = 0; i < nprof; i++) all += prof[i].seconds;
        for (int i = 0; i < nprof; i++) cJSON_AddNumberToObject(pj, prof[i].name, prof[i].seconds / all);
    }
    cJSON_AddNumberToObject(j, "infer_tokens_per_s", TB / fw);
    cJSON_AddNumberToObject(j, "train_step_s", tr);
    if (mnist) cJSON_AddNumberToObject(j, "epoch_s", 60000.0 / B * tr); /* 60,000 training sequences */
    cJSON_AddNumberToObject(j, "train_flop_per_step", train);
    cJSON_AddNumberToObject(j, "gflops", train / tr / 1e9);
    cJSON_AddNumberToObject(j, "infer_gflops", fwd / fw / 1e9);
    if (!a->no_sgemm) {
        cJSON_AddNumberToObject(j, "sgemm_gflops", gs);
        cJSON_AddNumberToObject(j, "share_of_sgemm", train / tr / 1e9 / gs);
    }
    free(x), free(y), free(mask);
    rl_optim_free(sc.opt);
    rl_ws_free(sc.ws);
    rl_model_free(sc.m);
    return s;
}

int cmd_bench(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = bench_limits(c, a);
    if (e) return e;
    const char *cellname = a->bench_cell;
    const int threads = a->threads;
    int T = a->bench_seq;
    const double seconds = a->seconds;
    if (a->bench_jacobian + a->bench_lyapunov + a->sgemm > 1)
        return cli_usage_error(c, "--jacobian, --lyapunov and --sgemm are separate benchmarks");
    if (a->sgemm && a->no_sgemm) return cli_usage_error(c, "--sgemm and --no-sgemm exclude each other");
    if (cli_given(c, "bench_task") && (a->bench_jacobian || a->bench_lyapunov || a->sgemm))
        return cli_usage_error(c, "--task is for the training workloads, not --jacobian, --lyapunov or --sgemm");
    rl_cell cell;
    if (strcmp(cellname, "rnn") == 0) cell = RL_CELL_TANH;
    else if (rl_cell_parse(cellname, &cell)) return cli_usage_error(c, "%s", rl_errmsg());
    rl_set_num_threads(threads); /* rnnlab's own threads; OpenBLAS stays on one but for the sgemm rate */
    /* a weak or failed BLAS kernel changes every number below: say so first
     * (with --json it is in the object's system.blas.warning) */
    if (!a->json) cli_blas_warning(c);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "threads", threads);
    rl_status s = RL_OK;
    if (a->sgemm) {
        cJSON_AddStringToObject(j, "workload", "sgemm 2048^3, float32");
        cJSON_AddNumberToObject(j, "sgemm_gflops", sgemm_gflops(seconds));
    } else if (a->bench_jacobian || a->bench_lyapunov) {
        if (!cli_given(c, "bench_seq")) T = 100;
        s = bench_analysis(j, a, T);
    } else {
        if (a->bench_task == 1 && !cli_given(c, "bench_seq")) T = 784;
        s = bench_training(j, a, cell, T);
    }
    cJSON_AddNumberToObject(j, "peak_rss_mb", peak_mb());
    if (s) {
        cJSON_Delete(j);
        return cli_fail(c, s);
    }
    /* the machine, for the record (cli_print_object's table leaves objects out) */
    cJSON_AddItemToObject(j, "system", cli_system_json());
    cli_print_object(j, a->json);
    cJSON_Delete(j);
    return 0;
}
