/* rnnlab against PyTorch autograd: fixtures written by tools/make_fixtures.py,
 * tools/make_cure_fixtures.py (leaky, indrnn, orthogonal, modrelu) and
 * tools/diag/diag_fixtures.py. */
#include "nets.h"

#include <dirent.h>

#include <math.h>
#include <string.h>

static const char *const cases[] = {"tanh_l1_ce",      "relu_l2_mse",     "linear_l3_ce",    "tanh_l2_mse",
                                    "relu_l3_ce",      "tanh_l3_mse_long", "rnnlab_made_tanh_l2", "lstm_l1_ce",
                                    "lstm_l2_mse",     "lstm_l3_ce_long", "gru_l1_mse",      "gru_l2_ce",
                                    "gru_l3_mse_long", "rnnlab_made_lstm_l2", "rnnlab_made_gru_l1",
                                    /* the cures (tools/make_cure_fixtures.py) */
                                    "leaky_l1_ce",     "leaky_l2_mse_h1", "leaky_l3_ce",     "leaky_l2_mse_long",
                                    "indrnn_l1_mse",   "indrnn_l2_ce_h1", "indrnn_l3_mse_long",
                                    /* orthogonal W_hh (tools/make_cure_fixtures.py) */
                                    "orth_exp_tanh_l1_ce", "orth_cayley_tanh_l2_mse", "orth_exp_relu_l2_ce",
                                    "orth_cayley_relu_l1_mse", "orth_exp_linear_l1_mse_long", "orth_cayley_linear_l3_ce",
                                    "orth_exp_tanh_l2_mse_h1", "orth_cayley_tanh_l1_ce_registered",
                                    "orth_exp_tanh_l3_ce_long", "rnnlab_made_orth_exp_tanh_l2",
                                    "rnnlab_made_orth_cayley_linear_l1", "rnnlab_made_orth_exp_relu_l1",
                                    "orth_exp_leaky_l2_mse", "orth_cayley_leaky_l1_ce", "rnnlab_made_orth_cayley_leaky_l2",
                                    /* modReLU, plain and orthogonal (tools/make_cure_fixtures.py) */
                                    "modrelu_l1_ce", "modrelu_l2_mse_h1", "modrelu_l3_mse_long", "modrelu_l1_mse_edges",
                                    "orth_exp_modrelu_l2_ce", "orth_cayley_modrelu_l1_mse", "rnnlab_made_orth_exp_modrelu_l2",
                                    /* the diagonal recurrences (tools/make_diag_fixtures.py) */
                                    "mingru_l1_mse", "mingru_l2_ce", "mingru_l3_mse_long", "minlstm_l1_ce",
                                    "minlstm_l2_mse_h1", "minlstm_l3_ce_long", "lru_l1_ce", "lru_l1_mse_h1",
                                    "lru_l2_mse_linear", "lru_l2_ce_relu", "lru_l3_mse_tanh_long", "lru_l2_ce_gelu_long"};

/* Max |x| over a tensor, for the absolute part of the tolerance. */
static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* Forward and backward of case name in dtype dt, compared with torch's
 * float64 loss and gradients: |a - b| <= rtol (|b| + floor max|b|), floor
 * 1e-3 in float64; in float32 1e-2, a few float32 epsilons of the largest
 * element (3 layers of 30 steps, orth_exp_tanh_l3_ce_long, reach 2.5). */
static void compare_case(const char *name, rl_dtype dt, double rtol)
{
    test_net net = TEST_CASE(name, "grad", .dtype = dt, .ws = 1);
    const rl_model *m = net.m;
    const rl_batch *b = net.b;
    rl_ws *ws = net.ws;
    double loss = NAN, floor = dt == RL_F64 ? 1e-3 : 1e-2;
    if (!m || !net.ref.n) goto out;
    TEST_PASS(ws, m, b, &loss);
    char what[300];
    const st_tensor *lt = st_find(&net.ref, "loss");
    CHECK(lt != NULL);
    if (lt) {
        double want;
        CHECK_OK(st_get_real(&net.ref, lt, RL_F64, &want));
        snprintf(what, sizeof what, "%s %s loss", name, rl_dtype_name(dt));
        CHECK_CLOSE(what, &loss, RL_F64, &want, 1, rtol, 0);
    }
    int matched = 1; /* loss */
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        if (ti->fixed) continue; /* an orthogonal base: a buffer in torch, no gradient */
        char gname[80];
        snprintf(gname, sizeof gname, "grad.%s", ti->name);
        const st_tensor *t = st_find(&net.ref, gname);
        CHECK_MSG(t != NULL, "%s: reference has no %s", name, gname);
        if (!t || t->numel != ti->numel) continue;
        double *want = malloc(t->numel * sizeof *want);
        CHECK_OK(st_get_real(&net.ref, t, RL_F64, want));
        snprintf(what, sizeof what, "%s %s %s", name, rl_dtype_name(dt), gname);
        CHECK_CLOSE(what, (const char *)rl_ws_grad(ws) + ti->offset * (dt == RL_F64 ? 8 : 4), dt, want, t->numel,
                    rtol, rtol * floor * max_abs(want, t->numel));
        free(want);
        matched++;
    }
    for (int k = 0; k < 2; k++) { /* grad.h0, grad.c0 */
        const st_tensor *gh = st_find(&net.ref, k ? "grad.c0" : "grad.h0");
        CHECK((gh != NULL) == ((k ? b->c0 : b->h0) != NULL));
        if (!gh) continue;
        double *want = malloc(gh->numel * sizeof *want);
        CHECK_OK(st_get_real(&net.ref, gh, RL_F64, want));
        snprintf(what, sizeof what, "%s %s %s", name, rl_dtype_name(dt), gh->name);
        CHECK_CLOSE(what, k ? rl_ws_grad_c0(ws) : rl_ws_grad_h0(ws), dt, want, gh->numel, rtol,
                    rtol * floor * max_abs(want, gh->numel));
        free(want);
        matched++;
    }
    CHECK_MSG(matched == net.ref.n, "%s: reference has %d tensors, %d compared", name, net.ref.n, matched);
out:
    test_net_free(&net);
}

/* torch_fixtures_f64 and torch_fixtures_f32 */
TEST_EACH_CASE(torch_fixtures, compare_case, cases, 1e-10, 1e-4)

/* The rnnlab grad command writes the same numbers. */
TEST(cli_grad_matches_torch)
{
    const char *out = tmp_path("g.safetensors");
    const char *argv[] = {"rnnlab", "grad", "--model", fixture("tanh_l2_mse.model.safetensors"), "--data",
                          fixture("tanh_l2_mse.data.safetensors"), "--out", out, "--precision", "f64", NULL};
    char line[256];
    CHECK(run_cli(argv, NULL, line, sizeof line, NULL, 0) == 0);
    CHECK(strncmp(line, "loss ", 5) == 0);
    st_file got, want;
    CHECK_OK(st_read(&got, out));
    CHECK_OK(st_read(&want, fixture("tanh_l2_mse.grad.safetensors")));
    CHECK(got.n == want.n);
    for (int i = 0; i < want.n && got.n; i++) {
        const st_tensor *a = st_find(&got, want.t[i].name);
        CHECK_MSG(a && a->numel == want.t[i].numel && a->dtype == ST_F64, "grad file lacks %s", want.t[i].name);
        if (!a || a->numel != want.t[i].numel) continue;
        double *x = malloc(a->numel * 8 + 8), *y = malloc(a->numel * 8 + 8);
        CHECK_OK(st_get_real(&got, a, RL_F64, x));
        CHECK_OK(st_get_real(&want, &want.t[i], RL_F64, y));
        CHECK_CLOSE(want.t[i].name, x, RL_F64, y, a->numel, 1e-10, 1e-13 * max_abs(y, a->numel));
        free(x);
        free(y);
    }
    st_close(&got);
    st_close(&want);
}

/* A model written and read back is bit-identical, and so is the file. */
TEST(model_round_trip)
{
    rl_model *m = NULL, *back = NULL;
    CHECK_OK(rl_model_load(&m, fixture("relu_l3_ce.model.safetensors"), RL_F32));
    if (!m) return;
    CHECK_OK(rl_model_set_vocab(m, "ab\xc3\xa9\n\""));
    const char *p1 = tmp_path("rt1.safetensors"), *p2 = tmp_path("rt2.safetensors");
    CHECK_OK(rl_model_save(m, p1));
    CHECK_OK(rl_model_load(&back, p1, RL_F32));
    if (back) {
        CHECK(rl_model_num_params(back) == rl_model_num_params(m));
        CHECK(memcmp(rl_model_params(back), rl_model_params(m), rl_model_num_params(m) * 4) == 0);
        CHECK(rl_model_vocab(back) && strcmp(rl_model_vocab(back), "ab\xc3\xa9\n\"") == 0);
        rl_config a = rl_model_config(m), b = rl_model_config(back);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        CHECK_OK(rl_model_save(back, p2));
        size_t n1 = 0, n2 = 0;
        unsigned char *f1 = read_file(p1, &n1), *f2 = read_file(p2, &n2);
        CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0);
        uint64_t hlen = 0;
        if (f1 && n1 >= 8) memcpy(&hlen, f1, 8);
        CHECK(hlen > 0 && hlen % 8 == 0); /* the data section starts 8-byte aligned */
        free(f1);
        free(f2);
    }
    /* an F64 model is written as F32: read back it equals the rounded values */
    rl_model *m64 = NULL, *r32 = NULL;
    CHECK_OK(rl_model_load(&m64, fixture("relu_l3_ce.model.safetensors"), RL_F64));
    if (m64) {
        CHECK_OK(rl_model_save(m64, p1));
        CHECK_OK(rl_model_load(&r32, p1, RL_F32));
        const double *a = rl_model_params(m64);
        const float *b = r32 ? rl_model_params(r32) : NULL;
        for (size_t i = 0; b && i < rl_model_num_params(m64); i++) CHECK(b[i] == (float)a[i]);
    }
    rl_model_free(r32);
    rl_model_free(m64);
    rl_model_free(back);
    rl_model_free(m);
}

TEST(data_round_trip)
{
    rl_model *m = NULL;
    rl_data *d = NULL, *back = NULL;
    CHECK_OK(rl_model_load(&m, fixture("tanh_l1_ce.model.safetensors"), RL_F64));
    if (!m) return;
    CHECK_OK(rl_data_load(&d, fixture("tanh_l1_ce.data.safetensors"), m, RL_F64));
    if (!d) goto out;
    const char *p = tmp_path("data.safetensors");
    CHECK_OK(rl_data_save(rl_data_batch(d), m, p));
    CHECK_OK(rl_data_load(&back, p, m, RL_F64));
    if (back) {
        const rl_batch *a = rl_data_batch(d), *b = rl_data_batch(back);
        size_t BT = (size_t)a->batch * a->steps;
        CHECK(a->batch == b->batch && a->steps == b->steps);
        CHECK(memcmp(a->x, b->x, BT * 3 * 8) == 0);
        CHECK(memcmp(a->target, b->target, BT * 4) == 0);
        CHECK(memcmp(a->mask, b->mask, BT * 8) == 0);
        CHECK(memcmp(a->h0, b->h0, (size_t)a->batch * 5 * 8) == 0);
    }
out:
    rl_data_free(back);
    rl_data_free(d);
    rl_model_free(m);
}

/* Every cell of the table has PyTorch fixtures of its loss and gradients
 * (tools/make_fixtures.py and the scripts it calls loop over the cells): a
 * file [PREFIX_]<cell>_l<L>_*.grad.safetensors in tests/fixtures. A new cell fails
 * here until its reference implementation makes them. */
TEST(fixtures_cover_every_cell)
{
    DIR *dir = opendir(test_fixtures);
    CHECK_MSG(dir != NULL, "cannot read %s", test_fixtures);
    if (!dir) return;
    int have[RL_CELL_COUNT] = {0};
    for (struct dirent *e; (e = readdir(dir));) {
        size_t n = strlen(e->d_name);
        if (n < 17 || strcmp(e->d_name + n - 17, ".grad.safetensors") != 0) continue;
        for (int c = 0; c < RL_CELL_COUNT; c++) {
            char key[40];
            snprintf(key, sizeof key, "%s_l", rl_cell_name((rl_cell)c));
            for (const char *at = e->d_name; (at = strstr(at, key)); at++)
                if (at == e->d_name || at[-1] == '_') {
                    have[c]++;
                    break;
                }
        }
    }
    closedir(dir);
    for (int c = 0; c < RL_CELL_COUNT; c++)
        CHECK_MSG(have[c] >= 2, "cell %s has %d PyTorch gradient fixtures in %s (at least 2: make fixtures)",
                  rl_cell_name((rl_cell)c), have[c], test_fixtures);
}
