/* The command line as input: every mistake gets one line on stderr and exit
 * status 2; a failure at run time gets one line and status 1. */
#include "test.h"

#include <string.h>

typedef struct {
    const char *argv[24];
    int status;
    const char *frag; /* must appear in the first line of stderr (or stdout when status is 0) */
} cli_case;

#define M fixture("tanh_l1_ce.model.safetensors")
#define D fixture("tanh_l1_ce.data.safetensors")
/* rnnlab init of a tanh net of 3 inputs and 4 units, before a case's own words */
#define TANH_3_4 "rnnlab", "init", "--cell", "tanh", "--input", "3", "--hidden", "4"

TEST(cli_table)
{
    const char *out = tmp_path("o.safetensors");
    const char *garbage = write_tmp("garbage.st", "this is not a model", 19);
    const cli_case cases[] = {
        {{"rnnlab", NULL}, 2, "usage: rnnlab"},
        {{"rnnlab", "--help", NULL}, 0, "usage: rnnlab"},
        {{"rnnlab", "frobnicate", NULL}, 2, "unknown command 'frobnicate'"},
        {{"rnnlab", "init", "--help", NULL}, 0, "usage: rnnlab init"},
        {{"rnnlab", "grad", "--help", NULL}, 0, "usage: rnnlab grad"},
        {{"rnnlab", "gradcheck", "--help", NULL}, 0, "usage: rnnlab gradcheck"},
        /* init */
        {{"rnnlab", "init", NULL}, 2, "--cell is required"},
        {{TANH_3_4, "--output", "2", NULL}, 2, "--out is required"},
        {{TANH_3_4, "--out", out, NULL}, 2, "--output is required"},
        {{"rnnlab", "init", "--cell", "elman", "--input", "3", "--hidden", "4", "--output", "2", "--out", out, NULL},
         2, "unknown cell 'elman'"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "3", "--hidden", "abc", NULL}, 2,
         "--hidden expects an integer, got 'abc'"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "3", "--hidden", "4x", NULL}, 2, "expects an integer"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "3", "--hidden", "0", NULL}, 2, "out of range"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "-3", NULL}, 2, "out of range"},
        {{"rnnlab", "init", "--cell", "tanh", "--input", "99999999999999999999", NULL}, 2, "expects an integer"},
        {{"rnnlab", "init", "--cell", "tanh", "--hidden", "4", "--hidden", "5", NULL}, 2, "'--hidden' is given twice"},
        {{"rnnlab", "init", "--cell", "tanh", "--colour", "red", NULL}, 2, "unknown option '--colour'"},
        {{"rnnlab", "init", "-x", NULL}, 2, "unknown option '-x'"},
        {{"rnnlab", "init", "--cell", NULL}, 2, "needs a value"},
        {{"rnnlab", "init", "--cell", "tanh", "stray", NULL}, 2, "unexpected argument 'stray'"},
        {{TANH_3_4, "--output", "2", "--loss", "hinge", "--out", out, NULL}, 2, "unknown loss 'hinge'"},
        {{TANH_3_4, "--output", "2", "--init", "xavier", "--out", out, NULL}, 2, "unknown init 'xavier'"},
        {{TANH_3_4, "--output", "2", "--gain", "nan", "--out", out, NULL}, 2, "expects a finite number"},
        {{TANH_3_4, "--output", "2", "--radius", "-1", "--out", out, NULL}, 2, "out of range"},
        {{TANH_3_4, "--output", "2", "--forget-bias", "1", "--out", out, NULL}, 2,
         "--forget-bias is for cells with a forget gate"},
        {{TANH_3_4, "--output", "1", "--loss", "cross_entropy", "--out", out, NULL}, 2, "output_size >= 2"},
        {{TANH_3_4, "--output", "2", "--seed", "-1", "--out", out, NULL}, 2, "non-negative integer"},
        {{TANH_3_4, "--output", "2", "--out", tmp_path("no/such/dir/m.st"), NULL}, 1, "no/such/dir"},
        {{"rnnlab", "init", "--cell", "relu", "--input", "3", "--hidden", "4", "--output", "2", "--init", "identity",
          "--out", out, NULL},
         0, ""},
        /* grad */
        {{"rnnlab", "grad", NULL}, 2, "--model is required"},
        {{"rnnlab", "grad", "--model", M, NULL}, 2, "--data is required"},
        {{"rnnlab", "grad", "--model", M, "--data", D, NULL}, 2, "--out is required"},
        {{"rnnlab", "grad", "--model", M, "--data", D, "--out", out, "--precision", "f16", NULL}, 2,
         "unknown precision 'f16' (choose from f32, f64)"},
        {{"rnnlab", "grad", "--model", M, "--model", M, NULL}, 2, "given twice"},
        {{"rnnlab", "grad", "--model", "-", "--data", "-", "--out", out, NULL}, 2, "only one of"},
        {{"rnnlab", "grad", "--model", tmp_path("nope.st"), "--data", D, "--out", out, NULL}, 1, "nope.st: cannot open"},
        {{"rnnlab", "grad", "--model", garbage, "--data", D, "--out", out, NULL}, 1, "garbage.st"},
        {{"rnnlab", "grad", "--model", fixture("relu_l2_mse.model.safetensors"), "--data", D, "--out", out, NULL}, 1,
         "tensor 'x' has shape (2, 6, 3), expected (2, 6, 4)"},
        {{"rnnlab", "grad", "--model", M, "--data", D, "--out", out, NULL}, 0, "loss 1.52296"},
        {{"rnnlab", "grad", "--model", M, "--data", D, "--out", tmp_path("no/dir/g.st"), NULL}, 1, "no/dir"},
        /* data */
        {{"rnnlab", "data", "--help", NULL}, 0, "usage: rnnlab data"},
        {{"rnnlab", "data", "--model", M, "--out", out, NULL}, 2, "--steps is required"},
        {{"rnnlab", "data", "--model", M, "--steps", "5", "--input", "sine", "--out", out, NULL}, 2, "--input must be"},
        {{"rnnlab", "data", "--model", M, "--steps", "5", "--h0", "hot", "--out", out, NULL}, 2, "--h0 must be"},
        {{"rnnlab", "data", "--model", M, "--steps", "5", "--mask", "odd", "--out", out, NULL}, 2, "--mask must be"},
        {{"rnnlab", "data", "--model", M, "--steps", "5", "--input", "zeros", "--noise-std", "2", "--out", out, NULL}, 2,
         "needs --input noise"},
        {{"rnnlab", "data", "--model", garbage, "--steps", "5", "--out", out, NULL}, 1, "garbage.st"},
        /* gradcheck */
        {{"rnnlab", "gradcheck", "--steps", "-1", NULL}, 2, "out of range"},
        {{"rnnlab", "gradcheck", "--steps", "ten", NULL}, 2, "expects an integer"},
        {{"rnnlab", "gradcheck", "--tol", "2", NULL}, 2, "out of range"},
        {{"rnnlab", "gradcheck", "--cell", "relu", "--layers", "2", "--steps", "12", NULL}, 0,
         "worst relative error"},
        {{"rnnlab", "gradcheck", "--cell", "tanh", "--tol", "0", NULL}, 1, "exceeds"},
        /* chrono with the sequence's steps as its longest forgetting time, as in rnnlab train */
        {{"rnnlab", "gradcheck", "--cell", "lstm", "--init", "chrono", "--hidden", "6", "--steps", "12", NULL}, 0,
         "worst relative error"},
        {{"rnnlab", "gradcheck", "--cell", "tanh", "--init", "chrono", NULL}, 2, "tanh has none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cli_case *c = &cases[i];
        char o[512], e[512];
        int st = run_cli(c->argv, NULL, o, sizeof o, e, sizeof e);
        const char *where = c->status == 0 ? o : e;
        char cmd[512] = "";
        for (int k = 1; c->argv[k]; k++) {
            strncat(cmd, c->argv[k], sizeof cmd - strlen(cmd) - 2);
            strcat(cmd, " ");
        }
        CHECK_MSG(st == c->status, "rnnlab %s: exit %d, want %d (stderr: %s)", cmd, st, c->status, e);
        CHECK_MSG(strstr(where, c->frag) != NULL, "rnnlab %s: '%s' lacks '%s'", cmd, where, c->frag);
        if (c->status == 2 || (c->status == 1 && strcmp(c->argv[1], "gradcheck") != 0))
            CHECK_MSG(run_cli_err_lines() == 1, "rnnlab %s: %d lines on stderr, want 1", cmd, run_cli_err_lines());
    }
}

/* '-' is stdin for a model and stdout for an output. */
TEST(cli_stdin_stdout)
{
    const char *out = tmp_path("stdout.st");
    const char *argv[] = {"rnnlab", "grad", "--model", "-", "--data", D, "--out", out, NULL};
    char o[256];
    CHECK(run_cli(argv, M, o, sizeof o, NULL, 0) == 0);
    CHECK(strstr(o, "loss 1.52296") != NULL);
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--input", "3", "--hidden", "5", "--output", "4",
                          "--loss", "cross_entropy", "--out", "-", NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, tmp_path("cli.stdout"), RL_F32));
    CHECK(m && rl_model_config(m).hidden_size == 5);
    rl_model_free(m);
}

/* A model made by rnnlab init loads, with the requested shape and init. */
TEST(cli_init_writes_a_model)
{
    const char *p = tmp_path("init.st");
    const char *argv[] = {"rnnlab", "init", "--cell", "linear", "--input", "2", "--hidden", "6", "--output", "3",
                          "--layers", "2", "--init", "identity", "--gain", "0.5", "--out", p, NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, p, RL_F64));
    if (!m) return;
    rl_config c = rl_model_config(m);
    CHECK(c.cell == RL_CELL_LINEAR && c.input_size == 2 && c.hidden_size == 6 && c.output_size == 3 &&
          c.num_layers == 2 && c.loss == RL_LOSS_MSE);
    const double *w = test_view(m, "rnn.weight_hh_l1", 6, 6);
    for (int i = 0; w && i < 6; i++)
        for (int j = 0; j < 6; j++) CHECK(w[i * 6 + j] == (i == j ? 0.5 : 0.0));
    rl_model_free(m);
}

/* rnnlab data writes a file that fits the model */
TEST(cli_data_fits_the_model)
{
    const char *p = tmp_path("made.st");
    const char *argv[] = {"rnnlab", "data", "--model", M, "--steps", "7", "--batch", "3", "--h0", "random", "--mask",
                          "last", "--out", p, NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    rl_model *m = NULL;
    rl_data *d = NULL;
    CHECK_OK(rl_model_load(&m, M, RL_F32));
    if (m) CHECK_OK(rl_data_load(&d, p, m, RL_F32));
    const rl_batch *b = d ? rl_data_batch(d) : NULL;
    CHECK(b && b->batch == 3 && b->steps == 7 && b->h0 && b->mask && b->target);
    if (b && b->batch == 3 && b->steps == 7 && b->h0 && b->mask) {
        const float *mask = b->mask, *h0 = b->h0;
        for (int i = 0; i < 21; i++) CHECK(mask[i] == (i % 7 == 6));
        for (int i = 0; i < 15; i++) CHECK(h0[i] >= -1 && h0[i] <= 1 && h0[i] != 0);
    }
    rl_data_free(d);
    rl_model_free(m);
}
