/* rnnlab init: make a model file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab init --cell C --input I --hidden H --output O --out MODEL [options]\n"
    "\n"
    "Make a model: a recurrent net of L layers and a linear readout of the top\n"
    "layer, saved as safetensors with PyTorch state_dict names. Every tensor\n"
    "first gets PyTorch's U(-1/sqrt(H), 1/sqrt(H)); then W_hh, per gate block for\n"
    "LSTM and GRU, follows --init (g is --gain):\n"
    "  uniform       PyTorch's default\n"
    "  gaussian      W_hh ~ N(0, g^2/H): spectral radius about g for large H\n"
    "  orthogonal    g Q, Q Haar-random orthogonal\n"
    "  identity      g I, and both recurrent biases 0 (IRNN)\n"
    "  symmetric     g (A + A^T)/(2 sqrt(2H)), A Gaussian: real eigenvalues filling [-g, g]\n"
    "  chrono        lstm, gru (Tallec & Ollivier 2018): biases 0 but the forget (GRU:\n"
    "                update) gate's b_ih = ln u, LSTM's input gate's -ln u, u ~ U[1, T - 1]\n"
    "                with --t-max T: forgetting times uniform in [2, T]\n"
    "  henaff        g times 2x2 rotations by angles ~ U[-pi, pi] on the diagonal (Henaff\n"
    "                et al. 2016): orthogonal, eigenvalues all over the unit circle\n"
    "An option the init or the cell does not take is a usage error.\n"
    "\n";

static void init_defaults(cli_args *a) { a->t.layers = 1, a->t.seed = 0; }

const cli_command cli_init_command = {"init", usage,
                                      "--orthogonal MAP: W_hh = B expm(A) (exp) or B (I - A/2)^-1 (I + A/2) (cayley),\n"
                                      "A = tril(X) - tril(X)^T, as torch's orthogonal parametrisation registered on the\n"
                                      "init's W_hh leaves it: B = that W_hh if orthogonal, else its QR factor; X = -I.\n",
                                      "cell input hidden output out_file", 0, init_defaults};

int cmd_init(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *out = a->out_file;
    rl_config cfg = {.cell = a->t.cell, .input_size = a->input, .hidden_size = a->t.hidden, .num_layers = a->t.layers, .output_size = a->output, .loss = a->loss,
                     .state_size = a->t.state_size, .activation = a->t.activation};
    const rl_orth orth = a->t.orthogonal;
    if (cli_given(c, "forget_bias") && !rl_cell_has_forget_gate(cfg.cell))
        return cli_usage_error(c, "--forget-bias is for cells with a forget gate (lstm)");
    if ((e = cli_check_output(c, "out", out))) return e;
    rl_model *m = NULL;
    rl_status s = rl_model_new_orth(&m, &cfg, RL_F64, orth);
    if (s == RL_ERR_ARG) return cli_usage_error(c, "%s", rl_errmsg());
    if (!s && (s = rl_model_init(m, &a->t.init, a->t.seed)) == RL_ERR_ARG) { /* an option the init or the cell does not take */
        rl_model_free(m);
        return cli_usage_error(c, "%s", rl_errmsg());
    }
    if (!s) s = rl_model_save(m, out);
    size_t np = m ? rl_model_num_params(m) : 0, fixed = 0;
    for (int i = 0; m && i < rl_model_num_tensors(m); i++) fixed += rl_model_tensor(m, i)->fixed ? rl_model_tensor(m, i)->numel : 0;
    rl_model_free(m);
    if (s) return cli_fail(c, s);
    if (out[0] != '-' || out[1])
        fprintf(stderr, "rnnlab init: wrote %s (%s%s%s, %d layer%s, %zu parameters%s)\n", out, rl_cell_name(cfg.cell),
                orth ? ", orthogonal W_hh by " : "", orth ? rl_orth_name(orth) : "", cfg.num_layers,
                cfg.num_layers > 1 ? "s" : "", np - fixed, fixed ? " and the fixed bases" : "");
    return 0;
}
