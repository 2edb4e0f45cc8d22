/* rnnlab init: make a model file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab init --cell C --input I --hidden H --output O --out MODEL [options]\n"
    "\n"
    "Make a model: a recurrent net of L layers and a linear readout of the top\n"
    "layer, saved as safetensors with PyTorch state_dict names.\n"
    "\n"
    "model:\n"
    "  --cell C          {cells}            (required)\n"
    "  --input I         input size                                    (required)\n"
    "  --hidden H        hidden size                                   (required)\n"
    "  --output O        output size (classes for cross_entropy)       (required)\n"
    "  --layers L        number of stacked layers                      [1]\n"
    "  --loss LOSS       mse | cross_entropy                           [mse]\n"
    "initialisation (every tensor gets PyTorch's U(-1/sqrt(H), 1/sqrt(H)), then W_hh):\n"
    "  --init KIND       uniform|gaussian|orthogonal|identity|symmetric|chrono|henaff\n"
    "                    [uniform] gaussian: W_hh ~ N(0, g^2/H); orthogonal: g Q;\n"
    "                    identity: g I with zero biases (IRNN); symmetric:\n"
    "                    g (A + A^T)/(2 sqrt(2H)), real eigenvalues filling [-g, g]; per\n"
    "                    gate block for LSTM/GRU; chrono (lstm, gru): biases 0 but the\n"
    "                    forget (GRU: update) gate's b_ih = ln u, LSTM's input gate's\n"
    "                    -ln u, u ~ U[1, T - 1] (Tallec & Ollivier 2018); henaff: g times\n"
    "                    2x2 rotations by angles ~ U[-pi, pi] on the diagonal (Henaff\n"
    "                    et al. 2016), orthogonal, eigenvalues all over the unit circle\n"
    "  --gain G          the g above                                   [1]\n"
    "  --radius R        then rescale each W_hh block to spectral radius R\n"
    "  --forget-bias F   LSTM: forget-gate bias b_if = F, b_hf = 0\n"
    "  --zero-bias       recurrent biases start at 0 (then h = 0 is a fixed point\n"
    "                    under zero input)\n"
    "  --t-max T         chrono: forgetting times uniform in [2, T]    (required, >= 2)\n"
    "  --leak A          leaky: every unit's rate a = A in (0, 1)      [uniform init]\n"
    "  --timescales A,B  leaky: time scales 1/a log-uniform in [A, B], 1 < A <= B\n"
    "  --recurrent-max R indrnn: u ~ U(0, R)                           [1]\n"
    "  --recurrent-min R0 indrnn: the last layer's u ~ U(R0, R) instead (u near 1 for\n"
    "                    an answer at the end: Li et al. 2018)        [0]\n"
    "  --input-scale S   every layer's W_ih ~ U[-S, S], drawn last (an echo state\n"
    "                    network's input scaling)                      [PyTorch's]\n"
    "  --orthogonal MAP  exp | cayley: W_hh = B expm(A) or B (I - A/2)^-1 (I + A/2),\n"
    "                    A = tril(X) - tril(X)^T, as torch's orthogonal parametrisation\n"
    "                    registered on the init's W_hh leaves it: B = that W_hh if\n"
    "                    orthogonal, else its QR factor; X = -I (tanh, relu,\n"
    "                    linear, leaky)\n"
    "  --seed S          random seed                                   [0]\n"
    "output:\n"
    "  --out MODEL       where to write the model ('-' for stdout)     (required)\n";

int cmd_init(int argc, char **argv)
{
    enum { O_CELL = 1, O_IN, O_HID, O_OUTSZ, O_LAYERS, O_LOSS, O_INIT, O_GAIN, O_RADIUS, O_FB, O_SEED, O_OUT, O_ZB,
           O_TMAX, O_LEAK, O_TS, O_RMAX, O_INSCALE, O_ORTH, O_RMIN };
    static const struct option opts[] = {
        {"cell", required_argument, 0, O_CELL},     {"input", required_argument, 0, O_IN},
        {"hidden", required_argument, 0, O_HID},    {"output", required_argument, 0, O_OUTSZ},
        {"layers", required_argument, 0, O_LAYERS}, {"loss", required_argument, 0, O_LOSS},
        {"init", required_argument, 0, O_INIT},     {"gain", required_argument, 0, O_GAIN},
        {"radius", required_argument, 0, O_RADIUS}, {"forget-bias", required_argument, 0, O_FB},
        {"seed", required_argument, 0, O_SEED},     {"out", required_argument, 0, O_OUT},
        {"zero-bias", no_argument, 0, O_ZB},       {"t-max", required_argument, 0, O_TMAX},
        {"leak", required_argument, 0, O_LEAK},     {"timescales", required_argument, 0, O_TS},
        {"recurrent-max", required_argument, 0, O_RMAX}, {"recurrent-min", required_argument, 0, O_RMIN}, {"input-scale", required_argument, 0, O_INSCALE},
        {"orthogonal", required_argument, 0, O_ORTH},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    cli_ctx c = {.cmd = "init", .usage = usage};
    rl_config cfg = {.num_layers = 1, .loss = RL_LOSS_MSE};
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1.0};
    const char *cell = NULL, *out = NULL;
    rl_orth orth = RL_ORTH_NONE;
    uint64_t seed = 0;
    int v, e = 0;
    optind = 0;
    while (!e && (v = cli_next(&c, argc, argv, opts)) != -1) {
        switch (v) {
        case 'h': return cli_help(&c);
        case O_CELL: cell = optarg; break;
        case O_IN: e = cli_int(&c, "input", optarg, 1, RL_MAX_SIZE, &cfg.input_size); break;
        case O_HID: e = cli_int(&c, "hidden", optarg, 1, RL_MAX_SIZE, &cfg.hidden_size); break;
        case O_OUTSZ: e = cli_int(&c, "output", optarg, 1, RL_MAX_SIZE, &cfg.output_size); break;
        case O_LAYERS: e = cli_int(&c, "layers", optarg, 1, RL_MAX_LAYERS, &cfg.num_layers); break;
        case O_LOSS:
            if (rl_loss_parse(optarg, &cfg.loss)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_INIT:
            if (rl_init_parse(optarg, &init.kind)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        case O_GAIN: e = cli_double(&c, "gain", optarg, -1e6, 1e6, &init.gain); break;
        case O_RADIUS: e = cli_double(&c, "radius", optarg, 1e-300, 1e6, &init.radius); break;
        case O_FB: e = cli_double(&c, "forget-bias", optarg, -100, 100, &init.forget_bias); break;
        case O_SEED: e = cli_u64(&c, "seed", optarg, &seed); break;
        case O_OUT: out = optarg; break;
        case O_ZB: init.zero_bias = 1; break;
        case O_TMAX: e = cli_double(&c, "t-max", optarg, 2, 1e9, &init.t_max); break;
        case O_LEAK: e = cli_double(&c, "leak", optarg, 1e-300, 1, &init.leak); break;
        case O_TS: { /* "A,B", read as rnnlab train reads it */
            rl_train_config tc = rl_train_defaults();
            if (rl_train_field_parse(&tc, rl_train_field_find("timescales"), optarg)) e = cli_usage_error(&c, "%s", rl_errmsg());
            else memcpy(init.timescales, tc.init.timescales, sizeof init.timescales);
            break;
        }
        case O_RMAX: e = cli_double(&c, "recurrent-max", optarg, 1e-300, 1e6, &init.recurrent_max); break;
        case O_RMIN: e = cli_double(&c, "recurrent-min", optarg, 0, 1e6, &init.recurrent_min); break;
        case O_INSCALE: e = cli_double(&c, "input-scale", optarg, 1e-300, 1e6, &init.input_scale); break;
        case O_ORTH:
            if (rl_orth_parse(optarg, &orth)) e = cli_usage_error(&c, "%s", rl_errmsg());
            break;
        default: return 2;
        }
    }
    if (e) return e;
    if ((e = cli_require(&c, cell, "cell")) || (e = cli_require(&c, cfg.input_size ? "" : NULL, "input")) ||
        (e = cli_require(&c, cfg.hidden_size ? "" : NULL, "hidden")) ||
        (e = cli_require(&c, cfg.output_size ? "" : NULL, "output")) || (e = cli_require(&c, out, "out")))
        return e;
    if (rl_cell_parse(cell, &cfg.cell)) return cli_usage_error(&c, "%s", rl_errmsg());
    if (c.seen[O_FB] && !rl_cell_has_forget_gate(cfg.cell)) return cli_usage_error(&c, "--forget-bias is for cells with a forget gate (lstm)");
    if ((e = cli_check_output(&c, "out", out))) return e;
    rl_model *m = NULL;
    rl_status s = rl_model_new_orth(&m, &cfg, RL_F64, orth);
    if (s == RL_ERR_ARG) return cli_usage_error(&c, "%s", rl_errmsg());
    if (!s && (s = rl_model_init(m, &init, seed)) == RL_ERR_ARG) { /* an option the init or the cell does not take */
        rl_model_free(m);
        return cli_usage_error(&c, "%s", rl_errmsg());
    }
    if (!s) s = rl_model_save(m, out);
    size_t np = m ? rl_model_num_params(m) : 0, fixed = 0;
    for (int i = 0; m && i < rl_model_num_tensors(m); i++) fixed += rl_model_tensor(m, i)->fixed ? rl_model_tensor(m, i)->numel : 0;
    rl_model_free(m);
    if (s) return cli_fail(&c, s);
    if (out[0] != '-' || out[1])
        fprintf(stderr, "rnnlab init: wrote %s (%s%s%s, %d layer%s, %zu parameters%s)\n", out, rl_cell_name(cfg.cell),
                orth ? ", orthogonal W_hh by " : "", orth ? rl_orth_name(orth) : "", cfg.num_layers,
                cfg.num_layers > 1 ? "s" : "", np - fixed, fixed ? " and the fixed bases" : "");
    return 0;
}
