/* The fast paths of docs/performance.md checked against the plain ones: the
 * float32 exp and tanh against libm, the threaded time loop and GEMMs against
 * one thread (bit for bit), the one-hot row gather against the GEMM, and the
 * evaluation forward against the training one. */
#include "net/layer.h"
#include "nets.h"


#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(fast_exp_and_tanh_against_libm)
{
    double worst_exp = 0, worst_tanh = 0;
    float at_exp = 0, at_tanh = 0;
    for (float x = -86; x < 88.7f; x += 3e-4f) {
        double e = exp((double)x), rel = fabs(rl_expf(x) - e) / e;
        if (rel > worst_exp) worst_exp = rel, at_exp = x;
    }
    for (float x = -20; x < 20; x += 1e-4f) {
        double t = tanh((double)x), rel = t == 0 ? fabs(rl_tanhf(x)) : fabs(rl_tanhf(x) - t) / fabs(t);
        if (rel > worst_tanh) worst_tanh = rel, at_tanh = x;
    }
    CHECK_MSG(worst_exp < 1.5e-7, "exp: relative error %g at %g", worst_exp, at_exp);
    CHECK_MSG(worst_tanh < 3e-6, "tanh: relative error %g at %g", worst_tanh, at_tanh);
    CHECK(isnan(rl_expf(NAN)) && isnan(rl_tanhf(NAN)));
    CHECK(isinf(rl_expf(INFINITY)) && rl_expf(89.f) == INFINITY);
    CHECK(rl_expf(-INFINITY) >= 0 && rl_expf(-INFINITY) < 1e-37f);
    CHECK(rl_tanhf(INFINITY) == 1 && rl_tanhf(-INFINITY) == -1 && rl_tanhf(1e-30f) == 1e-30f);
    CHECK(rl_tanhf(-0.f) == 0 && signbit(rl_tanhf(-0.f)));
}

/* The LRU's gelu: rl_erff against libm's erf in double, absolute and
 * relative error, on both sides of its switch at |x| = 1 and its clamp at 4,
 * odd, and at the edges (NaN, infinities, zero's sign, the smallest floats). */
TEST(fast_erf_against_libm)
{
    double worst_abs = 0, worst_rel = 0;
    float at_abs = 0, at_rel = 0;
    for (float x = -7; x < 7; x += 1e-4f) {
        double e = erf((double)x), got = rl_erff(x), d = fabs(got - e);
        if (d > worst_abs) worst_abs = d, at_abs = x;
        if (e != 0 && d / fabs(e) > worst_rel) worst_rel = d / fabs(e), at_rel = x;
        if (rl_erff(-x) != -rl_erff(x)) CHECK_MSG(0, "erf(-x) != -erf(x) at %g", x);
    }
    CHECK_MSG(worst_abs < 2e-7, "erf: absolute error %g at %g", worst_abs, at_abs);
    CHECK_MSG(worst_rel < 2e-7, "erf: relative error %g at %g", worst_rel, at_rel);
    const float edge[] = {1.f, nextafterf(1.f, 0), nextafterf(1.f, 2), 4.f, nextafterf(4.f, 0), 1e-30f, 1e-45f};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        double e = erf((double)edge[i]);
        CHECK_MSG(fabs(rl_erff(edge[i]) - e) <= 2e-7 * fabs(e) + 1e-45, "erf(%g) = %.9g, libm %.9g", edge[i], rl_erff(edge[i]), e);
    }
    CHECK(isnan(rl_erff(NAN)) && rl_erff(INFINITY) == 1 && rl_erff(-INFINITY) == -1 && rl_erff(30.f) == 1);
    CHECK(rl_erff(0.f) == 0 && signbit(rl_erff(-0.f)));
}

/* One forward and backward pass: loss, hidden states, outputs, gradients. */
typedef struct {
    double loss;
    void *h, *out, *grad, *gh0;
    size_t nh, nout, ngrad, ngh0;
} pass;

static void run_pass(pass *p, const rl_model *m, const rl_batch *b, int no_gather)
{
    const rl_config cfg = rl_model_config(m), *c = &cfg;
    size_t es = rl_model_dtype(m) == RL_F64 ? 8 : 4;
    rl_ws *ws = NULL;
    memset(p, 0, sizeof *p);
    CHECK_OK(rl_ws_new(&ws, m, b->batch, b->steps));
    if (!ws) return;
    ws->no_gather = no_gather;
    TEST_PASS(ws, m, b, &p->loss);
    p->nh = (size_t)c->num_layers * (b->steps + 1) * b->batch * c->hidden_size;
    p->nout = (size_t)b->steps * b->batch * c->output_size;
    p->ngrad = rl_model_num_params(m);
    p->ngh0 = (size_t)c->num_layers * b->batch * c->hidden_size;
    p->h = malloc(p->nh * es), p->out = malloc(p->nout * es), p->grad = malloc(p->ngrad * es), p->gh0 = malloc(p->ngh0 * es);
    if (p->h && p->out && p->grad && p->gh0) {
        memcpy(p->h, rl_ws_hidden(ws, 0), p->nh * es);
        memcpy(p->out, rl_ws_outputs(ws), p->nout * es);
        memcpy(p->grad, rl_ws_grad(ws), p->ngrad * es);
        memcpy(p->gh0, rl_ws_grad_h0(ws), p->ngh0 * es);
    }
    rl_ws_free(ws);
}

static void free_pass(pass *p) { free(p->h), free(p->out), free(p->grad), free(p->gh0); }

static int same_bits(const pass *a, const pass *b, size_t es)
{
    return a->h && b->h && a->loss == b->loss && !memcmp(a->h, b->h, a->nh * es) &&
           !memcmp(a->out, b->out, a->nout * es) && !memcmp(a->grad, b->grad, a->ngrad * es) &&
           !memcmp(a->gh0, b->gh0, a->ngh0 * es);
}



/* B = 40: three blocks of sequences; large enough that the weight-gradient
 * GEMMs are cut into panels too. */
TEST(threads_give_the_same_bits)
{
    for (int ci = 0; ci < RL_CELL_COUNT; ci++) /* every cell of the table */
        for (int dt = 0; dt < 2; dt++) {
            rl_dtype d = dt ? RL_F64 : RL_F32;
            rl_config c = {.cell = (rl_cell)ci, .input_size = 7, .hidden_size = 80, .num_layers = 2, .output_size = 6, .loss = RL_LOSS_CE};
            test_net net = TEST_NET(.cfg = c, .dtype = d, .init = &test_uniform, .seed = 3, .batch = 40, .steps = 12,
                                    .mask = 1, .h0 = 1, .data_seed = 4);
            if (net.m) {
                const rl_model *m = net.m;
                pass one, two, three, lock;
                rl_set_num_threads(1);
                run_pass(&one, m, net.b, 0);
                size_t grain = rl_grain;
                rl_grain = 16; /* cut the elementwise loops too, small as they are here */
                rl_set_num_threads(2);
                run_pass(&two, m, net.b, 0);
                /* threads in lockstep over the columns of each step (float32 on AVX2) */
                int keep = rl_lockstep_mode;
                rl_lockstep_mode = 1;
                run_pass(&lock, m, net.b, 0);
                rl_lockstep_mode = keep;
                rl_set_num_threads(3);
                run_pass(&three, m, net.b, 0);
                rl_set_num_threads(0);
                rl_grain = grain;
                size_t es = d == RL_F64 ? 8 : 4;
                CHECK_MSG(same_bits(&one, &two, es) && same_bits(&one, &three, es) && same_bits(&one, &lock, es),
                          "%s %s: 1, 2, 3 threads and lockstep differ", rl_cell_name((rl_cell)ci), rl_dtype_name(d));
                free_pass(&one), free_pass(&two), free_pass(&three), free_pass(&lock);
            }
            test_net_free(&net);
        }
}

/* One-hot inputs: the row gather gives the GEMM's forward bit for bit; the
 * scatter-add of dL/dW_ih sums in another order. */
TEST(onehot_gather_matches_the_gemm)
{
    const int B = 4, T = 30, V = 9;
    for (int ci = 0; ci < RL_CELL_COUNT; ci++) /* every cell of the table */
        for (int dt = 0; dt < 2; dt++) {
            rl_dtype d = dt ? RL_F64 : RL_F32;
            size_t es = dt ? 8 : 4;
            rl_config c = {.cell = (rl_cell)ci, .input_size = V, .hidden_size = 12, .num_layers = 2, .output_size = V, .loss = RL_LOSS_CE};
            test_net net = TEST_NET(.cfg = c, .dtype = d, .init = &test_uniform, .seed = 5);
            if (!net.m) continue;
            void *x = calloc((size_t)B * T * V, es);
            int32_t *y = calloc((size_t)B * T, 4);
            for (int r = 0; x && y && r < B * T; r++) {
                y[r] = (r * 7 + 3) % V;
                if (r % 11 == 5) continue; /* a row of zeros now and then */
                size_t at = (size_t)r * V + (size_t)(r * 5 + 1) % V;
                if (dt) ((double *)x)[at] = 1;
                else ((float *)x)[at] = 1;
            }
            rl_batch b = {d, B, T, V, x, y, NULL, NULL, NULL, NULL};
            pass gather, gemm;
            run_pass(&gather, net.m, &b, 0);
            run_pass(&gemm, net.m, &b, 1);
            if (gather.h && gemm.h) {
                CHECK_MSG(gather.loss == gemm.loss && !memcmp(gather.h, gemm.h, gather.nh * es) &&
                              !memcmp(gather.out, gemm.out, gather.nout * es),
                          "%s %s: the gathered forward differs", rl_cell_name((rl_cell)ci), rl_dtype_name(d));
                double *ref = malloc(gemm.ngrad * 8);
                for (size_t i = 0; ref && i < gemm.ngrad; i++)
                    ref[i] = dt ? ((double *)gemm.grad)[i] : ((float *)gemm.grad)[i];
                if (ref) CHECK_CLOSE("gradient", gather.grad, d, ref, gemm.ngrad, dt ? 1e-13 : 1e-5, dt ? 1e-15 : 1e-7);
                free(ref);
            }
            free_pass(&gather), free_pass(&gemm);
            free(x), free(y);
            test_net_free(&net);
        }
}

TEST(eval_forward_gives_the_loss_only)
{
    rl_config c = {.cell = RL_CELL_LSTM, .input_size = 3, .hidden_size = 10, .num_layers = 1, .output_size = 4, .loss = RL_LOSS_CE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F32, .init = &test_uniform, .seed = 1, .batch = 3, .steps = 6,
                            .mask = 1, .data_seed = 2, .ws = 1);
    if (net.m) {
        rl_ws *ws = net.ws;
        const rl_model *m = net.m;
        double l1, l2;
        CHECK_OK(rl_forward(ws, m, net.b, &l1));
        CHECK_OK(rl_forward_eval(ws, m, net.b, &l2));
        CHECK(l1 == l2);
        CHECK(rl_backward(ws, m, net.b) == RL_ERR_ARG);
        CHECK(rl_forward_eval(ws, m, net.b, NULL) == RL_ERR_ARG);
        CHECK_OK(rl_forward(ws, m, net.b, &l2));
        CHECK_OK(rl_backward(ws, m, net.b));
    }
    test_net_free(&net);
}

/* The Jacobian product in column panels shared by the threads: the same bits
 * on 1 and 2 threads, and the same matrix as a plain product of the J_t. */
TEST(jacobian_product_threads_and_panels)
{
    const int H = 150, T = 30; /* three panels, the last one narrow */
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 1.5},
                            .seed = 7, .batch = 1, .steps = T, .h0 = 1, .data_seed = 8, .jac = 1);
    rl_jac *j = net.j;
    size_t SS = (size_t)H * H;
    double *p1 = malloc(SS * 8), *p2 = malloc(SS * 8), *ref = malloc(SS * 8), *J = malloc(SS * 8), *tmp = malloc(SS * 8);
    if (j && p1 && p2 && ref && J && tmp) {
        double s1, s2;
        rl_set_num_threads(1);
        CHECK_OK(rl_jac_product(j, T, 3, p1, &s1));
        rl_set_num_threads(2);
        CHECK_OK(rl_jac_product(j, T, 3, p2, &s2));
        rl_set_num_threads(0);
        CHECK(s1 == s2 && !memcmp(p1, p2, SS * 8));
        /* the plain product J_T ... J_4, scaled like P */
        for (size_t i = 0; i < SS; i++) ref[i] = i % (H + 1) == 0;
        for (int t = 4; t <= T; t++) {
            CHECK_OK(rl_jac_step(j, t, J));
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, H, H, 1, J, H, ref, H, 0, tmp, H);
            memcpy(ref, tmp, SS * 8);
        }
        double f = exp(-s1), fro = 0;
        for (size_t i = 0; i < SS; i++) ref[i] *= f, fro += p1[i] * p1[i];
        CHECK(fabs(sqrt(fro) - 1) < 1e-12);
        CHECK_CLOSE("P", p1, RL_F64, ref, SS, 1e-10, 1e-12);
    }
    free(p1), free(p2), free(ref), free(J), free(tmp);
    test_net_free(&net);
}

/* The Lyapunov spectrum with its steps and factorisations shared by the
 * threads: the same bits on 1 and 2 threads, traces included. */
TEST(lyapunov_threads_give_the_same_bits)
{
    const int H = 100; /* two column panels, the second narrower */
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = H, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F64, .init = &(const rl_init){.kind = RL_INIT_GAUSSIAN, .gain = 2.0},
                            .seed = 9);
    if (net.m) {
        rl_lyap_config lc = {.steps = 300, .transient = 20, .k = H, .input = RL_INPUT_NOISE, .noise_std = 1,
                             .state = RL_STATE_RANDOM, .seed = 5, .trace_every = 50};
        double e1[100], e2[100], t1[6 * 100], t2[6 * 100];
        rl_set_num_threads(1);
        CHECK_OK(rl_lyapunov(net.m, NULL, 0, &lc, e1, t1));
        rl_set_num_threads(2);
        CHECK_OK(rl_lyapunov(net.m, NULL, 0, &lc, e2, t2));
        rl_set_num_threads(0);
        CHECK(!memcmp(e1, e2, sizeof e1) && !memcmp(t1, t2, sizeof t1));
        CHECK(e1[0] > e1[H - 1] && isfinite(e1[H - 1]));
    }
    test_net_free(&net);
}

/* The pool (src/par.c): a region whose threads cannot all be started runs
 * on fewer parts, all at the same time, so that parts meeting at a barrier
 * never wait for one that is not there (it used to run such a part on the
 * caller afterwards, and a lockstep loop then waited forever). */
typedef struct {
    _Atomic int ran[RL_MAX_THREADS];
    _Atomic int parts_seen;
    rl_barrier bar;
} region_probe;

static void probe_part(void *p, int part, int parts)
{
    region_probe *r = p;
    atomic_fetch_add(&r->ran[part], 1);
    atomic_store(&r->parts_seen, parts);
    for (int k = 0; k < 3; k++) rl_barrier_wait(&r->bar);
}

TEST(pool_without_threads_shrinks_the_region)
{
    region_probe r;
    memset(&r, 0, sizeof r);
    rl_test_fail_thread_start = 1;
    int n = rl_parallel(RL_MAX_THREADS, probe_part, &r, &r.bar);
    rl_test_fail_thread_start = 0;
    CHECK_MSG(n >= 1 && n < RL_MAX_THREADS, "%d parts ran with no thread startable", n);
    CHECK(atomic_load(&r.parts_seen) == n);
    for (int i = 0; i < RL_MAX_THREADS; i++) CHECK_MSG(atomic_load(&r.ran[i]) == (i < n), "part %d ran %d times", i, atomic_load(&r.ran[i]));
    /* with threads it runs them all */
    memset(&r, 0, sizeof r);
    n = rl_parallel(4, probe_part, &r, &r.bar);
    CHECK(n == 4);
    for (int i = 0; i < 4; i++) CHECK(atomic_load(&r.ran[i]) == 1);
}

/* A region inside a region (or a second application thread while one runs)
 * takes its parts on its own thread. */
static void nested_part(void *p, int part, int parts)
{
    region_probe *r = p;
    if (part == 0) {
        region_probe inner;
        memset(&inner, 0, sizeof inner);
        int n = rl_parallel(3, probe_part, &inner, &inner.bar);
        atomic_store(&r->parts_seen, n);
    }
    (void)parts;
}

TEST(pool_nested_region_runs_inline)
{
    region_probe r;
    memset(&r, 0, sizeof r);
    CHECK(rl_parallel(2, nested_part, &r, NULL) == 2);
    CHECK(atomic_load(&r.parts_seen) == 1);
}

/* Training passes in lockstep and the Lyapunov spectrum when no thread can
 * be started: they complete, with the same numbers. */
TEST(no_thread_startable_same_numbers)
{
    rl_config c = {.cell = RL_CELL_LSTM, .input_size = 5, .hidden_size = 70, .num_layers = 2, .output_size = 3, .loss = RL_LOSS_CE};
    test_net net = TEST_NET(.cfg = c, .dtype = RL_F32, .init = &test_uniform, .seed = 5, .batch = 24, .steps = 9,
                            .mask = 1, .h0 = 1, .data_seed = 6);
    if (!net.m) return;
    const rl_model *m = net.m;
    pass one, many;
    rl_set_num_threads(1);
    run_pass(&one, m, net.b, 0);
    int keep = rl_lockstep_mode;
    rl_lockstep_mode = 1;
    rl_set_num_threads(RL_MAX_THREADS);
    rl_test_fail_thread_start = 1;
    run_pass(&many, m, net.b, 0);
    rl_model *m64 = NULL;
    double e1[6], e2[6];
    rl_lyap_config lc = {.steps = 300, .transient = 10, .k = 6, .input = RL_INPUT_ZEROS, .state = RL_STATE_RANDOM, .seed = 2};
    CHECK_OK(rl_model_cast(&m64, m, RL_F64));
    CHECK_OK(rl_lyapunov(m64, NULL, 0, &lc, e2, NULL));
    rl_test_fail_thread_start = 0;
    rl_lockstep_mode = keep;
    rl_set_num_threads(1);
    CHECK_OK(rl_lyapunov(m64, NULL, 0, &lc, e1, NULL));
    rl_set_num_threads(0);
    CHECK_MSG(same_bits(&one, &many, 4), "lockstep with failed thread starts differs from one thread");
    CHECK(memcmp(e1, e2, sizeof e1) == 0);
    free_pass(&one), free_pass(&many);
    rl_model_free(m64);
    test_net_free(&net);
}

/* The AVX2 and the AVX-512 step kernels give the same bits (each element
 * one FMA chain over k in order), in blocks of sequences and in lockstep,
 * for every cell; H = 70 leaves a part-filled last panel in both. Passes
 * trivially where the CPU has no AVX-512 (it says so). */
TEST(step_kernels_give_the_same_bits)
{
    int best = rl_set_packed_kernel(RL_KERNEL_AVX512);
    rl_set_packed_kernel(-1);
    if (best != RL_KERNEL_AVX512) {
        printf("     (no AVX-512 here: only the AVX2 kernel is checked, by threads_give_the_same_bits)\n");
        return;
    }
    for (int ci = 0; ci < RL_CELL_COUNT; ci++) {
        rl_config c = {.cell = (rl_cell)ci, .input_size = 5, .hidden_size = 70, .num_layers = 2, .output_size = 4, .loss = RL_LOSS_CE};
        test_net net = TEST_NET(.cfg = c, .dtype = RL_F32, .init = &test_uniform, .seed = 8, .batch = 21, .steps = 7,
                                .mask = 1, .h0 = 1, .data_seed = 9);
        if (!net.m) continue;
        pass p[2][2];
        int keep = rl_lockstep_mode;
        for (int lock = 0; lock < 2; lock++)
            for (int k = 0; k < 2; k++) {
                rl_set_packed_kernel(k ? RL_KERNEL_AVX512 : RL_KERNEL_AVX2);
                rl_set_num_threads(lock ? 3 : 2);
                rl_lockstep_mode = lock ? 1 : keep;
                run_pass(&p[lock][k], net.m, net.b, 0);
            }
        rl_lockstep_mode = keep;
        rl_set_num_threads(0);
        rl_set_packed_kernel(-1);
        for (int lock = 0; lock < 2; lock++)
            CHECK_MSG(same_bits(&p[lock][0], &p[lock][1], 4), "%s%s: AVX2 and AVX-512 kernels differ",
                      rl_cell_name((rl_cell)ci), lock ? " in lockstep" : "");
        CHECK_MSG(same_bits(&p[0][1], &p[1][1], 4), "%s: lockstep differs", rl_cell_name((rl_cell)ci));
        for (int lock = 0; lock < 2; lock++) free_pass(&p[lock][0]), free_pass(&p[lock][1]);
        test_net_free(&net);
    }
}

/* The gradient norm over a buffer of several chunks of 2^20: the same bits
 * on any thread count, and the value of a plain sum to rounding. */
TEST(gradient_norm_threads_give_the_same_bits)
{
    size_t n = (3u << 20) + 12345;
    float *g = malloc(n * sizeof *g);
    if (!g) return;
    rl_rng r;
    rl_rng_seed(&r, 11);
    long double plain = 0;
    for (size_t i = 0; i < n; i++) g[i] = (float)(rl_rng_normal(&r) * 1e-3), plain += (long double)g[i] * g[i];
    double v[4];
    for (int t = 1; t <= 4; t++) {
        rl_set_num_threads(t);
        v[t - 1] = rl_buffer_norm(g, n, RL_F32);
    }
    rl_set_num_threads(0);
    CHECK(v[0] == v[1] && v[0] == v[2] && v[0] == v[3]);
    CHECK_MSG(fabs(v[0] - (double)sqrtl(plain)) < 1e-12 * v[0], "norm %.17g, plain %.17g", v[0], (double)sqrtl(plain));
    free(g);
}
