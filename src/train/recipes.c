/* Recipes: a paper's training settings as one named, checked thing, a row
 * per recipe and a line per setting with where it was read. rnnlab train
 * --recipe NAME sets them (src/train/train_config.c applies a recipe when
 * its row is set); docs/training.md holds the table as `rnnlab train
 * --recipes` prints it, and the settings' sources in more words.
 *
 * Sources: [P] the paper, [C] the authors' code (repository@commit, file,
 * line), [S] a secondary source (a reproduction, another's code), [D]
 * derived here. A Gaussian N(0, s^2) input init is matched in variance by
 * --input-scale S = s sqrt(3) (U[-S, S]); N(0, s^2) recurrent weights by
 * --init gaussian --gain s sqrt(H). */
#include "train/recipes.h"
#include "train/options.h"
#include "train/tasks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* key, tasks (NULL: all), T from, value, source */
#define SET(key, value, source) {key, NULL, 0, value, source}
#define FOR(tasks, key, value, source) {key, tasks, 0, value, source}
#define FROM_T(t, key, value, source) {key, NULL, t, value, source}
#define RECIPE(name, paper, code, gaps, settings) {name, paper, code, gaps, (int)(sizeof settings / sizeof settings[0]), settings}

/* Li et al.'s code: Sunnydreamrain/IndRNN_Theano_Lasagne@d089267 */
#define LI "IndRNN_Theano_Lasagne adding/adding.py"
static const rl_recipe_setting indrnn_[] = {
    SET("cell", "indrnn", "[P] eq. 2: h = relu(W x + u * h + b)"),
    SET("hidden", "128", "[P] sec. 5.1; [C] " LI " L29 --hidden_units 128"),
    SET("layers", "2", "[P] sec. 5.1 \"the IndRNN model is two layers\"; [C] " LI " L82-83"),
    SET("input_scale", "0.00173", "[C] " LI " L35 --in2hidW 0.001, L82-83 W_in Normal(0.001): std 0.001 as U[-S, S]"),
    SET("zero_bias", "1", "[C] IndRNN.py L53 b = Constant(0.): one bias per unit, 0"),
    SET("recurrent_max", "2^(1/T)", "[C] " LI " L32 --MAG 2, L48 u ~ U(0, MAG^(1/T)), L150-155 abs(u) clipped to it"),
    SET("recurrent_min", "2^(-1/T)", "[C] " LI " L49, L83: the last layer's u ~ U((1/MAG)^(1/T), MAG^(1/T))"),
    SET("batch", "32", "[C] " LI " L30 --batch_size 32"),
    SET("steps", "60000", "[P] Fig. 2 (60k steps plotted)"),
    SET("optim", "adam", "[C] " LI " L58 lasagne.updates.adam"),
    SET("schedule", "step", "[P] sec. 5.1 \"reduced by a factor of 10 every 20K training steps\"; [C] " LI " L166-179"),
    SET("lr", "2e-4", "[P] sec. 5.1 \"2 x 10^-4\"; [C] " LI " L34"),
    SET("step_size", "20000", "[P] sec. 5.1"),
    SET("gamma", "0.1", "[P] sec. 5.1"),
    SET("clip", "0", "[C] " LI ": no norm clipping (the BPTT message is clipped instead)"),
    SET("clip_message", "10", "[C] " LI " L36 --gradclipvalue 10, every layer's grad_clipping: the BPTT message clamped at +-10"),
};

static const rl_recipe_setting irnn_[] = {
    SET("cell", "relu", "[P] abstract: rectified linear units"),
    SET("hidden", "128", "Li et al. 2018 [P] sec. 5.1: \"RNN, LSTM, and IRNN are all one layer ... 128 hidden units\""),
    SET("init", "identity", "[P] abstract: W_hh = I; biases 0 ([C] " LI " L69 Identity)"),
    SET("input_scale", "0.00173", "[C] " LI " L69 W_in Normal(0.001); [S] Keras examples/mnist_irnn.py normal(0.001)"),
    SET("batch", "32", "[C] " LI " L30"),
    SET("steps", "60000", "Li et al. 2018 [P] Fig. 2"),
    SET("optim", "adam", "[C] " LI " L58"),
    SET("schedule", "step", "[C] " LI " L166-179 (x0.1 every 20k steps)"),
    SET("lr", "2e-4", "Li et al. 2018 [P] sec. 5.1"),
    FROM_T(500, "lr", "1e-5",
           "Li et al. 2018 [P] sec. 5.1: \"as the length of the sequence increases, the IRNN model do not converge and thus a "
           "smaller initial learning rate (10^-5) was used\" ([D] from T = 500, their next length after 100)"),
    SET("step_size", "20000", "[C] " LI " L166-179"),
    SET("gamma", "0.1", "[C] " LI " L166-179"),
    SET("clip", "0", "[C] " LI ": no norm clipping (the BPTT message is clipped instead)"),
    SET("clip_message", "10", "[C] " LI " L36 --gradclipvalue 10, every layer's grad_clipping: the BPTT message clamped at +-10"),
};

#define CHRONO "atremblay/chronoRNN@f543e85"
static const rl_recipe_setting chrono_lstm_[] = {
    SET("cell", "lstm", "[P] (per [S] " CHRONO " models/lstm.py)"),
    SET("hidden", "128", "[S] " CHRONO " task/copyTask.py L50 (\"p8, paragraph 7\")"),
    SET("init", "chrono", "[S] " CHRONO " models/lstm.py chrono_bias L40-56: b_f = ln u, u ~ U[1, T_max - 1], b_i = -b_f, the rest 0"),
    SET("t_max", "T", "[D] the longest lag of the task (the paper's adding T_max: not reachable)"),
    FOR("copy", "t_max", "3T/2", "[S] " CHRONO " README: -pchrono=750 at T = 500, 3000 at T = 2000"),
    SET("batch", "32", "[S] " CHRONO " README commands"),
    SET("steps", "30000", "[S] " CHRONO " README commands (30k batches)"),
    SET("optim", "rmsprop", "[S] " CHRONO " task/copyTask.py L52-54 (quoting p. 8)"),
    SET("alpha", "0.9", "[S] " CHRONO " task/copyTask.py L54: \"a moving average parameter of 0.9\" (p. 8, par. 4)"),
    SET("lr", "1e-3", "[S] " CHRONO " task/copyTask.py L52: \"The synthetic tasks use a LR of 10^-3\" (p. 8, par. 4)"),
    SET("clip", "0", "[S] " CHRONO " train.py train_batch: no clipping"),
};

static const rl_recipe_setting lstm_fb1_[] = {
    SET("cell", "lstm", "Li et al. 2018's LSTM baseline: [C] " LI " L67 LSTMLayer"),
    SET("hidden", "128", "Li et al. 2018 [P] sec. 5.1"),
    SET("init", "gaussian", "[C] Lasagne Gate(W_hid=Normal(0.1)): N(0, 0.1^2)"),
    SET("gain", "1.1314", "[D] 0.1 sqrt(128): N(0, gain^2 / H) = N(0, 0.1^2)"),
    SET("input_scale", "0.173", "[C] Lasagne Gate(W_in=Normal(0.1)): std 0.1 as U[-S, S]"),
    SET("forget_bias", "1", "[C] " LI " L67 forgetgate b = Constant(1.); Gers et al. 2000; Jozefowicz et al. 2015 [P]"),
    SET("zero_bias", "1", "[C] Lasagne Gate(b=Constant(0.)) for the other gates"),
    SET("batch", "32", "[C] " LI " L30"),
    SET("steps", "60000", "Li et al. 2018 [P] Fig. 2"),
    SET("optim", "adam", "[C] " LI " L58"),
    SET("schedule", "step", "[C] " LI " L166-179"),
    SET("lr", "2e-4", "[C] " LI " L34 (the paper's sec. 5.1 gives 2e-3 for tanh models)"),
    SET("step_size", "20000", "[C] " LI " L166-179"),
    SET("gamma", "0.1", "[C] " LI " L166-179"),
    SET("clip", "0", "[C] " LI ": no norm clipping (the BPTT message is clipped instead)"),
    SET("clip_message", "10", "[C] " LI " L36 --gradclipvalue 10, every layer's grad_clipping: the BPTT message clamped at +-10"),
};

#define EXP "Lezcano/expRNN@8de9c0a"
static const rl_recipe_setting exprnn_[] = {
    SET("cell", "modrelu", "[C] " EXP " exprnn.py: modReLU units (Lezcano/expRNN@830ec83 orthogonal.py L62-79 modrelu)"),
    SET("modrelu_init", "0.01", "[C] Lezcano/expRNN@830ec83 orthogonal.py modrelu: b.uniform_(-0.01, 0.01)"),
    SET("hidden", "190", "[C] " EXP " README command --hidden_size 190; 1_copying.py L13"),
    SET("init", "henaff", "[C] " EXP " README --init henaff; initialization.py henaff_init"),
    SET("zero_bias", "1", "[C] " EXP " exprnn.py: the input map has no bias (the modReLU's b is the unit's only one)"),
    FOR("copy", "input_scale", "0.775", "[C] " EXP " exprnn.py kaiming_normal: std sqrt(2/10) = 0.447 for 10 inputs"),
    FOR("adding", "input_scale", "1.73", "[D] kaiming_normal as for copy: std sqrt(2/2) = 1 for 2 inputs"),
    FOR("temporal-order", "input_scale", "0.866", "[D] kaiming_normal as for copy: std sqrt(2/8) = 0.5 for 8 inputs"),
    SET("orthogonal", "exp", "[C] " EXP " README -m exprnn: W = expm(A), A skew"),
    SET("batch", "128", "[C] " EXP " 1_copying.py L12"),
    SET("steps", "4000", "[C] " EXP " 1_copying.py L14 (4000 iterations)"),
    SET("optim", "rmsprop", "[C] " EXP " 1_copying.py L134-140 (PyTorch's: alpha 0.99, eps 1e-8)"),
    SET("lr", "2e-4", "[C] " EXP " README --lr 2e-4"),
    SET("orthogonal_lr", "2e-5", "[C] " EXP " README --lr_orth 2e-5"),
    SET("clip", "0", "[C] " EXP " 1_copying.py: no clipping"),
};

#define SCO "SpartinStuff/scoRNN@d390c9b"
static const rl_recipe_setting scornn_[] = {
    SET("cell", "modrelu", "[C] " SCO " scoRNN.py L75: modReLU units, relu(abs(a) + b) sign(a)"),
    SET("modrelu_init", "0", "[C] " SCO " scoRNN.py: the modReLU bias b with constant_initializer(): 0"),
    SET("orthogonal", "cayley", "[C] " SCO " scoRNN_copying.py makeW: W = (I + A)^-1 (I - A) D"),
    SET("init", "henaff", "[D] rotations for scoRNN's Cayley init (angles in (0, pi/2), and D: see the gaps)"),
    SET("zero_bias", "1", "[C] " SCO " scoRNN.py L53-54: no bias but the modReLU's"),
    SET("input_scale", "0.01", "[C] " SCO " scoRNN.py L68: U(-0.01, 0.01)"),
    FOR("copy", "hidden", "190", "[C] " SCO " scoRNN_copying.py n_hidden = 190"),
    FOR("copy", "batch", "20", "[C] " SCO " scoRNN_copying.py batch_size = 20"),
    FOR("copy", "steps", "10000", "[C] " SCO " scoRNN_copying.py iterations = 10000"),
    FOR("copy", "optim", "rmsprop", "[C] " SCO " scoRNN_copying.py in_out_optimizer 'rmsprop' (TensorFlow's)"),
    FOR("copy", "alpha", "0.9", "[C] TensorFlow RMSPropOptimizer's decay 0.9"),
    FOR("copy", "eps", "1e-10", "[C] TensorFlow RMSPropOptimizer's epsilon 1e-10"),
    FOR("copy", "lr", "1e-3", "[C] " SCO " scoRNN_copying.py in_out_lr = 1e-3"),
    FOR("copy", "orthogonal_lr", "1e-4", "[C] " SCO " scoRNN_copying.py A_lr = 1e-4 (RMSprop)"),
    FOR("adding", "hidden", "170", "[C] " SCO " scoRNN_adding.py L24"),
    FOR("adding", "batch", "50", "[C] " SCO " scoRNN_adding.py L23"),
    FOR("adding", "steps", "20000", "[C] " SCO " scoRNN_adding.py L27-29 (10 epochs of 100k sequences)"),
    FOR("adding", "optim", "adam", "[C] " SCO " scoRNN_adding.py L35-41: Adam on the input and output weights"),
    FOR("adding", "lr", "1e-3", "[C] " SCO " scoRNN_adding.py L35-41"),
    FOR("adding", "orthogonal_lr", "1e-4", "[C] " SCO " scoRNN_adding.py L35-41 (RMSprop on A: see the gaps)"),
    SET("clip", "0", "[C] " SCO " scoRNN_copying.py: no clipping"),
};

#define PAS "pascanur/trainingRNNs@3f5df3f RNN.py"
static const rl_recipe_setting omega_[] = {
    SET("cell", "tanh", "[C] " PAS " L157-159"),
    SET("hidden", "50", "[C] " PAS " L449"),
    SET("init", "gaussian", "[C] " PAS " L125-140 smart_tanh: W_hh ~ N(0, 0.01^2), 15 non-zeros a row (see the gaps)"),
    SET("radius", "0.95", "[C] " PAS " L125-140: W_hh rescaled to spectral radius 0.95"),
    SET("input_scale", "0.0173", "[C] " PAS " L125-140: W_uh ~ N(0, 0.01^2) as U[-S, S]"),
    SET("zero_bias", "1", "[C] " PAS " L125-140: biases 0"),
    SET("batch", "20", "[C] " PAS " L477"),
    SET("steps", "5000000", "[C] " PAS " L478-497: at most 5M updates, stopped when solved (the reference run: 336k)"),
    SET("optim", "sgd", "[C] " PAS " L248-252: plain SGD"),
    SET("lr", "0.01", "[C] " PAS " L469"),
    SET("clip", "1", "[C] " PAS " L216-243, L491-495: the norm rescaled to 1 (Omega's gradient included)"),
    SET("omega", "2", "[C] " PAS " L467 alpha = 2"),
    SET("omega_form", "squared", "[C] " PAS " L188-217: the ratio of squared norms"),
};

#define FLOSS "RainerEngelken/GradientFlossing@324d2a0"
static const rl_recipe_setting floss_[] = {
    SET("cell", "tanh", "[C] " FLOSS " ExampleCode.jl L44-47: x = J tanh(x) + b + w_s s"),
    SET("hidden", "80", "[C] " FLOSS " README example N = 80"),
    SET("init", "gaussian", "[C] " FLOSS " ExampleCode.jl L53-54: J ~ g N(0, 1) / sqrt(N)"),
    SET("gain", "1", "[C] " FLOSS " README example g = 1"),
    SET("input_scale", "1.73", "[C] " FLOSS " ExampleCode.jl L44-46: w_s ~ N(0, 1) as U[-S, S]"),
    SET("zero_bias", "1", "[D] the nearest to b ~ 0.1 U[0, 1] (see the gaps)"),
    SET("batch", "16", "[C] " FLOSS " README example B = 16"),
    SET("steps", "3001", "[C] " FLOSS " README example E = 3001"),
    SET("optim", "adam", "[C] " FLOSS " ExampleCode.jl L164 ADAMW(1e-3, (0.9, 0.999), 0)"),
    SET("lr", "1e-3", "[C] " FLOSS " ExampleCode.jl L164"),
    SET("clip", "0.03", "[C] " FLOSS " ExampleCode.jl L164 ClipNorm(0.03)"),
    SET("floss", "75", "[C] " FLOSS " README example nLE = 75"),
    SET("floss_steps", "500", "[C] " FLOSS " README example Ep = Ei = 500"),
    SET("floss_every", "100", "[C] " FLOSS " ExampleCode.jl L175-184: an episode where mod(epoch, Ef = 100) = 0"),
    SET("floss_episodes", "2", "[C] " FLOSS " README example Ni = 2"),
    SET("floss_target", "0", "[C] " FLOSS " ExampleCode.jl L104-116: (lambda_i - 0)^2"),
    SET("floss_lr", "1e-3", "[C] " FLOSS " ExampleCode.jl L165: its own ADAMW(1e-3)"),
    SET("floss_batch", "1", "[C] " FLOSS " ExampleCode.jl L167: one sequence an update"),
};

#define LRU "NicolasZucchet/minimal-LRU@bbd71b1"
static const rl_recipe_setting lru_[] = {
    SET("cell", "lru", "[C] " LRU " lru/model.py L38-132"),
    SET("hidden", "256", "[C] " LRU " run_train.py --d_model 256"),
    SET("layers", "4", "[C] " LRU " run_train.py --n_layers 4"),
    SET("state_size", "128", "[C] " LRU " run_train.py --d_hidden 128"),
    SET("activation", "gelu", "[C] " LRU " lru/model.py: GELU after the LRU"),
    SET("r_min", "0.9", "[S] the paper's LRA setting (the code's default is 0)"),
    SET("r_max", "0.999", "[S] the paper's LRA setting (the code's default is 1)"),
    SET("max_phase", "6.283185307179586", "[C] " LRU " lru/model.py L48 max_phase 6.28"),
    SET("batch", "64", "[C] " LRU " run_train.py --batch_size 64"),
    SET("optim", "adamw", "[C] " LRU " lru/train_helpers.py L91-105"),
    SET("weight_decay", "0", "[C] " LRU " train_helpers.py L91-105: none on nu, theta, gamma, B (see the gaps)"),
    SET("lr", "1e-3", "[C] " LRU " run_train.py --lr_base 1e-3"),
    SET("schedule", "cosine", "[C] " LRU " lru/train.py L117-132: cosine annealing over all steps"),
    SET("min_lr", "1e-7", "[C] " LRU " run_train.py --lr_min 1e-7"),
    SET("clip", "0", "[C] " LRU " lru/train_helpers.py: no clipping"),
    SET("dropout", "0.1", "[C] " LRU " run_train.py --p_dropout 0.1"),
};

#define MIN "BorealisAI/minRNNs@ff52e9d"
static const rl_recipe_setting mingru_[] = {
    SET("cell", "mingru", "[C] " MIN " models/minRNNs.py minGRU"),
    SET("optim", "adamw", "[C] " MIN " main.py train(): AdamW"),
    SET("weight_decay", "0", "[C] " MIN " main.py: no weight decay on to_hidden_and_gate, the cell's only weights here"),
    SET("schedule", "constant", "[C] " MIN " main.py: no scheduler"),
};

static const rl_recipe_setting minlstm_[] = {
    SET("cell", "minlstm", "[C] " MIN " models/minRNNs.py minLSTM"),
    SET("optim", "adamw", "[C] " MIN " main.py train(): AdamW"),
    SET("weight_decay", "0", "[C] " MIN " main.py: no weight decay on to_hidden_and_gate, the cell's only weights here"),
    SET("schedule", "constant", "[C] " MIN " main.py: no scheduler"),
};

static const rl_recipe recipes[] = {
    RECIPE("indrnn", "Li, Li, Cook, Zhu, Gao 2018, Independently recurrent neural network (IndRNN), CVPR",
           "Sunnydreamrain/IndRNN_Theano_Lasagne@d089267 adding/adding.py, adding/IndRNN.py",
           "The input weights are N(0, 0.001^2): rnnlab draws U[-S, S] of the same variance. The readout's init (Lasagne's Glorot, b = 0) is PyTorch's Linear.",
           indrnn_),
    RECIPE("irnn", "Le, Jaitly, Hinton 2015, A simple way to initialize recurrent networks of rectified linear units, arXiv:1504.00941",
           "none by the authors: the IRNN baseline of Li et al.'s Sunnydreamrain/IndRNN_Theano_Lasagne@d089267 adding/adding.py",
           "Le et al.'s own settings (SGD with a learning rate from a grid, their clipping) were not reachable; the recipe is "
           "Li et al.'s IRNN, which draws W_in from N(0, 0.001^2) (U of the same variance here).",
           irnn_),
    RECIPE("chrono-lstm", "Tallec, Ollivier 2018, Can recurrent neural networks warp time?, ICLR",
           "none by the authors: the reproduction atremblay/chronoRNN@f543e85, whose comments quote the paper",
           "The paper's text was not reachable: its settings are the reproduction's quotes. The reproduction's RMSprop has "
           "momentum 0.9 (copyTask.py L53; its README's runs 0), which rnnlab's RMSprop lacks; its weights are Xavier-uniform, "
           "rnnlab's PyTorch's. The paper's T_max for adding is not known here: T.",
           chrono_lstm_),
    RECIPE("lstm-fb1", "Gers, Schmidhuber, Cummins 2000, Learning to forget; Jozefowicz, Zaremba, Sutskever 2015, ICML",
           "the LSTM baseline of Sunnydreamrain/IndRNN_Theano_Lasagne@d089267 adding/adding.py (Lasagne LSTMLayer)",
           "Lasagne's LSTM has peephole connections, which rnnlab's (PyTorch's) LSTM has not. "
           "Its N(0, 0.1^2) input weights are U of the same variance here.",
           lstm_fb1_),
    RECIPE("exprnn", "Lezcano-Casado, Martinez-Rubio 2019, Cheap orthogonal constraints in neural networks, ICML",
           "Lezcano/expRNN@8de9c0a 1_copying.py and its README's command",
           "-m exprnn is W = expm(A) with A from Henaff's init; rnnlab's exp map is W = B expm(A) with B Henaff's and A = 0 "
           "(their dtriv with K = infinity): the same W at the start, another parametrisation while training. Kaiming-normal "
           "input weights are U of the same variance here; the readout's init is PyTorch's.",
           exprnn_),
    RECIPE("scornn", "Helfrich, Willmott, Ye 2018, Orthogonal recurrent neural networks with scaled Cayley transform, ICML",
           "SpartinStuff/scoRNN@d390c9b scoRNN_copying.py, scoRNN_adding.py, scoRNN.py",
           "The scaling D (rho entries "
           "-1) and the Cayley init (rotations by angles in (0, pi/2)) are not in rnnlab: W starts from Henaff's rotations. "
           "Adding trains A with RMSprop and the rest with Adam: one optimiser here, with A's rate.",
           scornn_),
    RECIPE("omega", "Pascanu, Mikolov, Bengio 2013, On the difficulty of training recurrent neural networks, ICML",
           "pascanur/trainingRNNs@3f5df3f RNN.py, tempOrder.py",
           "The code trains one model on lengths drawn from [50, 200) each batch; rnnlab trains at one --seq-len. Its W_hh has "
           "15 non-zeros a row (dense here); a NaN step shrinks W_hh (rnnlab: --on-nonfinite). Its temporal order has 6 "
           "inputs (no begin and end markers; rnnlab's has 8).",
           omega_),
    RECIPE("floss", "Engelken 2023, Gradient flossing: improving gradient descent through dynamic control of Jacobians, NeurIPS",
           "RainerEngelken/GradientFlossing@324d2a0 README example, GradientFlossing_ExampleCode.jl",
           "The code's task is delayed XOR (not in rnnlab). Its readout is from the pre-activation x, its initial state is "
           "trained, its bias b ~ 0.1 U[0, 1] (0 here), and it measures the exponents over a 55-step window where rnnlab "
           "uses the task's T.",
           floss_),
    RECIPE("lru", "Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu, De 2023, Resurrecting recurrent neural networks for long sequences, ICML",
           "NicolasZucchet/minimal-LRU@bbd71b1 run_train.py, lru/model.py, lru/train.py, lru/train_helpers.py",
           "rnnlab's lru layer is the recurrence and its activation: no encoder, normalisation, GLU or skip. The code trains "
           "nu, theta, gamma and B at half the rate without weight decay and the rest with weight decay 0.05: rnnlab has one "
           "rate and one decay, and a decay on nu would shrink abs(lambda) towards exp(-1), so none. Its budget is in epochs "
           "of a data set: --steps is yours.",
           lru_),
    RECIPE("mingru", "Feng, Tung, Ahmed, Bengio, Hajimirsadeghi 2024, Were RNNs all we needed?, arXiv:2410.01201",
           "BorealisAI/minRNNs@ff52e9d models/minRNNs.py, main.py (configs/*.yaml, with the sizes and rates, not reachable)",
           "The sizes, layers, learning rate, batch and budget are in configs not reachable here: rnnlab's defaults. The code's "
           "h~ goes through g(x) (x + 0.5 or sigmoid), its blocks have norms, residuals and a feed-forward layer, and its "
           "initial state may be learned: none of these here.",
           mingru_),
    RECIPE("minlstm", "Feng, Tung, Ahmed, Bengio, Hajimirsadeghi 2024, Were RNNs all we needed?, arXiv:2410.01201",
           "BorealisAI/minRNNs@ff52e9d models/minRNNs.py, main.py (configs/*.yaml not reachable)",
           "As mingru; and the code's optional forget-bias offset (forget_bias_init_scale) has its value in the configs.",
           minlstm_),
};
#define NRECIPES ((int)(sizeof recipes / sizeof recipes[0]))
_Static_assert(sizeof recipes / sizeof recipes[0] == RL_NUM_RECIPES, "RL_NUM_RECIPES is the table's size");

/* "none", then the recipes' names (filled when the library loads) */
static const char *recipe_names[NRECIPES + 1] = {"none"};
__attribute__((constructor)) static void name_recipes(void)
{
    for (int i = 0; i < NRECIPES; i++) recipe_names[i + 1] = recipes[i].name;
}
const rl_names rl_recipe_names = {"recipe", NRECIPES + 1, recipe_names};

int rl_recipe_count(void) { return NRECIPES; }

const rl_recipe *rl_recipe_at(int i) { return i >= 0 && i < NRECIPES ? &recipes[i] : NULL; }

/* ------------------------------------------------------------------ applying */

int rl_recipe_setting_holds(const rl_recipe_setting *s, rl_task_kind task, int T)
{
    if (s->min_len && T < s->min_len) return 0;
    if (!s->tasks) return 1;
    const char *name = rl_task_name(task);
    size_t n = strlen(name);
    for (const char *p = s->tasks; (p = strstr(p, name)); p += n)
        if ((p == s->tasks || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

/* The values that come from T: T, 3T/2, 2^(1/T), 2^(-1/T). */
static double from_T(const char *name, double T)
{
    return strcmp(name, "T") == 0          ? T
           : strcmp(name, "3T/2") == 0     ? 1.5 * T
           : strcmp(name, "2^(1/T)") == 0  ? pow(2.0, 1.0 / T)
           : strcmp(name, "2^(-1/T)") == 0 ? pow(2.0, -1.0 / T)
                                           : NAN;
}

void rl_recipe_value(const rl_recipe_setting *s, int T, char *buf, size_t n)
{
    double v = from_T(s->value, T);
    if (isnan(v)) snprintf(buf, n, "%s", s->value);
    else snprintf(buf, n, "%.17g", v);
}

/* The setting of recipe r for key that holds for task and T: the last one
 * listed (a task's own or a longer T's after the general one), or NULL. */
static const rl_recipe_setting *setting_for(const rl_recipe *r, const char *key, rl_task_kind task, int T)
{
    const rl_recipe_setting *found = NULL;
    for (int k = 0; k < r->num_settings; k++)
        if (strcmp(r->settings[k].key, key) == 0 && rl_recipe_setting_holds(&r->settings[k], task, T)) found = &r->settings[k];
    return found;
}

rl_status rl_recipe_apply(rl_train_config *c, int i)
{
    const rl_recipe *r = rl_recipe_at(i);
    if (!r) return rl_fail(RL_ERR_ARG, "no recipe %d", i);
    /* in the table's order: an optimizer before its own fields */
    for (int k = 0; k < rl_option_count(); k++) {
        const rl_option *o = rl_option_at(k);
        const rl_recipe_setting *s = setting_for(r, o->name, c->task, c->seq_len);
        if (!s) continue;
        char v[64];
        rl_recipe_value(s, c->seq_len, v, sizeof v);
        if (rl_option_parse(c, o, v)) return rl_fail(RL_ERR_ARG, "recipe %s: %s: %s", r->name, o->name, rl_errmsg());
    }
    return RL_OK;
}

rl_status rl_recipe_check(int i)
{
    const rl_recipe *r = rl_recipe_at(i);
    if (!r) return rl_fail(RL_ERR_ARG, "no recipe %d", i);
    for (int k = 0; k < r->num_settings; k++) {
        const rl_option *o = rl_option_find(r->settings[k].key);
        if (!o || strcmp(o->name, "recipe") == 0 || !rl_option_takes(o, "train"))
            return rl_fail(RL_ERR_ARG, "recipe %s: '%s' is not an option a recipe can set", r->name, r->settings[k].key);
        if (!r->settings[k].source || !*r->settings[k].source)
            return rl_fail(RL_ERR_ARG, "recipe %s: '%s' has no source", r->name, r->settings[k].key);
    }
    for (int task = 0; task < RL_TASK_COUNT; task++)
        for (int T = 1; T <= 100000; T *= 10) {
            rl_train_config c = rl_train_defaults();
            c.task = (rl_task_kind)task, c.seq_len = T;
            rl_status s = rl_recipe_apply(&c, i);
            if (s) return s;
        }
    return RL_OK;
}

/* ------------------------------------------------------------------ the record */

cJSON *rl_recipe_json(const rl_train_config *c)
{
    const rl_recipe *r = rl_recipe_at(c->recipe - 1);
    if (!r) return NULL;
    /* what the recipe alone gives for this task and T, against what the run has */
    rl_train_config alone = rl_train_defaults();
    alone.task = c->task, alone.seq_len = c->seq_len;
    if (rl_recipe_apply(&alone, c->recipe - 1)) return NULL;
    cJSON *j = cJSON_CreateObject(), *set = cJSON_CreateArray(), *over = cJSON_CreateArray();
    int ok = j && set && over && cJSON_AddStringToObject(j, "recipe", r->name) && cJSON_AddStringToObject(j, "paper", r->paper) &&
             cJSON_AddStringToObject(j, "code", r->code) && cJSON_AddStringToObject(j, "task", rl_task_name(c->task)) &&
             cJSON_AddNumberToObject(j, "seq_len", c->seq_len);
    for (int k = 0; ok && k < rl_option_count(); k++) {
        const rl_option *o = rl_option_at(k);
        const rl_recipe_setting *s = setting_for(r, o->name, c->task, c->seq_len);
        if (!s) continue;
        char want[96], used[96];
        rl_option_format(&alone, o, want, sizeof want);
        rl_option_format(c, o, used, sizeof used);
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(set, e) && cJSON_AddStringToObject(e, "key", o->name) &&
             cJSON_AddStringToObject(e, "recipe", want) && cJSON_AddStringToObject(e, "used", used) &&
             cJSON_AddStringToObject(e, "source", s->source);
        if (ok && strcmp(want, used) != 0) ok = cJSON_AddItemToArray(over, cJSON_CreateString(o->name));
    }
    ok = ok && cJSON_AddItemToObject(j, "settings", set);
    if (ok) set = NULL;
    ok = ok && cJSON_AddItemToObject(j, "overridden", over);
    if (ok) over = NULL;
    ok = ok && cJSON_AddStringToObject(j, "gaps", r->gaps);
    cJSON_Delete(set);
    cJSON_Delete(over);
    if (!ok) cJSON_Delete(j);
    return ok ? j : NULL;
}
