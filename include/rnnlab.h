/* rnnlab: recurrent networks trained by backpropagation through time, with the
 * Jacobians that tell how the gradient flows back through time.
 *
 * Conventions used throughout this header:
 *   B batch size, T number of time steps, I input size, H hidden size,
 *   L number of layers, O output size, G gates per cell (1 for tanh/relu/linear).
 *   Shapes are row-major, outermost first: x is (B, T, I) means x[(b*T + t)*I + i].
 *   Every function that can fail because of its input returns an rl_status; on
 *   failure rl_errmsg() holds one line that says what went wrong. A NULL where
 *   none is allowed or a size that breaks an internal invariant is a programming
 *   error and stops at an assertion.
 */
#ifndef RNNLAB_H
#define RNNLAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of rnnlab, defined here and nowhere else: `rnnlab --version`,
 * `rnnlab info` and rl_version() report it. */
#define RL_VERSION_STRING "0.1.0"
/* The version the library was built as (RL_VERSION_STRING of its build). */
const char *rl_version(void);

/* ---------------------------------------------------------------- status */

typedef enum {
    RL_OK = 0,
    RL_ERR_ARG,       /* an argument is out of range or inconsistent */
    RL_ERR_IO,        /* a file could not be opened, read or written */
    RL_ERR_FORMAT,    /* a file is not a valid safetensors, model or data file */
    RL_ERR_NOMEM,     /* an allocation failed or would exceed a limit */
    RL_ERR_NONFINITE, /* a NaN or Inf where a finite number is required */
    RL_ERR_LAPACK,    /* a LAPACK routine reported info != 0 */
    RL_ERR_INTERRUPTED /* the progress hook asked to stop (rl_set_progress) */
} rl_status;

/* A short fixed description of a status ("invalid file format"). */
const char *rl_strerror(rl_status s);
/* The detailed message of the most recent failure in this thread, e.g.
 * "m.safetensors: tensor 'rnn.weight_hh_l0' has shape (4, 3), expected (4, 4)".
 * Empty when nothing has failed. */
const char *rl_errmsg(void);

/* Progress of the long computations (rl_gradcheck, rl_jac_lags,
 * rl_lyapunov): they call fn(ctx, what, done, total) from the calling thread
 * as they go ("Lyapunov steps", 4096, 300100), often: fn keeps its own pace.
 * A nonzero return stops the computation, which returns RL_ERR_INTERRUPTED
 * with nothing written (how a program stops on Ctrl-C), but for
 * rl_lyapunov_ex, which keeps the exponents of the steps done. One hook for the
 * process; fn NULL removes it. The trainer does not report through it (it
 * has its own, and its own stop flag: rl_trainer_run). */
typedef int (*rl_progress_fn)(void *ctx, const char *what, double done, double total);
void rl_set_progress(rl_progress_fn fn, void *ctx);

/* ---------------------------------------------------------------- enums */

typedef enum { RL_F32 = 0, RL_F64 = 1 } rl_dtype;

typedef enum {
    RL_CELL_TANH = 0, /* h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) */
    RL_CELL_RELU,     /* the same with max(0, .) */
    RL_CELL_LINEAR,   /* the same with the identity (Deep Learning section 10.7) */
    RL_CELL_LSTM,     /* torch.nn.LSTM, gate rows i, f, g, o */
    RL_CELL_GRU,      /* torch.nn.GRU, gate rows r, z, n */
    RL_CELL_LEAKY,    /* h_t = (1 - a) h_{t-1} + a tanh(...), a = sigmoid(rnn.leak_l{k}) per unit
                         (Deep Learning section 10.9.2) */
    RL_CELL_INDRNN,   /* h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u = rnn.weight_hh_l{k} (H)
                         (Li et al. 2018) */
    RL_CELL_MINGRU,   /* h_t = (1 - z) h_{t-1} + z h~, [z; h~] from the input alone (Feng et al. 2024) */
    RL_CELL_MINLSTM,  /* h_t = f' h_{t-1} + i' h~, f' = f/(f+i), i' = i/(f+i) (Feng et al. 2024) */
    RL_CELL_LRU,      /* x_t = lambda x_{t-1} + gamma (B u_t) (complex, N units), y_t = act(Re(C x_t) + D u_t)
                         (Orvieto et al. 2023) */
    RL_CELL_MODRELU,  /* h_t = sign(a_t) relu(|a_t| + b), a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, b =
                         rnn.modrelu_bias_l{k} (H): the unit of expRNN and scoRNN (Arjovsky et al. 2016) */
    RL_CELL_COUNT
} rl_cell;

typedef enum {
    RL_LOSS_CE = 0, /* softmax cross-entropy on class ids ("cross_entropy") */
    RL_LOSS_MSE,    /* squared error, mean over the O outputs ("mse") */
    RL_LOSS_COUNT
} rl_loss;

/* An orthogonal recurrent matrix, as torch.nn.utils.parametrizations.orthogonal
 * (PyTorch 1.13) makes it from X (trained) and an orthogonal base B (fixed),
 * A = tril(X) - tril(X)^T: */
typedef enum {
    RL_ORTH_NONE = 0, /* W_hh is a parameter */
    RL_ORTH_EXP,      /* W_hh = B expm(A)                   (orthogonal_map="matrix_exp") */
    RL_ORTH_CAYLEY,   /* W_hh = B (I - A/2)^{-1} (I + A/2)  (orthogonal_map="cayley") */
    RL_ORTH_COUNT
} rl_orth;

/* The names of an enum's values, one table per enum: value i is spelled
 * names[i] in files and on the command line. Each enum's pair rl_X_name and
 * rl_X_parse below is rl_names_get and rl_names_parse on its table rl_X_names. */
typedef struct {
    const char *what;         /* the word in messages: "optimizer" */
    int count;                /* the values 0 .. count - 1 */
    const char *const *names; /* (count) */
} rl_names;
/* names[i]; NULL when i is out of range. */
const char *rl_names_get(const rl_names *n, int i);
/* The value named name into *out; RL_ERR_ARG "unknown WHAT 'name' (choose
 * from a, b, ...)" when there is none (*out untouched). */
rl_status rl_names_parse(const rl_names *n, const char *name, int *out);
extern const rl_names rl_cell_names;       /* tanh, relu, ... (the cell table's) */
extern const rl_names rl_loss_names;       /* cross_entropy, mse */
extern const rl_names rl_dtype_names;      /* f32, f64 ("precision") */
extern const rl_names rl_orth_names;       /* none, exp, cayley */
extern const rl_names rl_init_names;       /* rl_init_kind */
extern const rl_names rl_input_names;      /* rl_input_kind */
extern const rl_names rl_state_names;      /* rl_state_kind */
extern const rl_names rl_task_names;       /* rl_task_kind */
extern const rl_names rl_optim_names;      /* rl_optim_kind */
extern const rl_names rl_sched_names;      /* rl_sched_kind */
extern const rl_names rl_readout_names;    /* rl_readout */
extern const rl_names rl_omega_form_names; /* rl_omega_form */

/* Names as they appear in files and on the command line; NULL if out of range. */
const char *rl_cell_name(rl_cell c);
const char *rl_orth_name(rl_orth o); /* "none", "exp", "cayley" */
rl_status rl_orth_parse(const char *name, rl_orth *out);
const char *rl_loss_name(rl_loss l);
const char *rl_dtype_name(rl_dtype d);
rl_status rl_dtype_parse(const char *name, rl_dtype *out); /* "f32" or "f64" */
/* Parse a name; RL_ERR_ARG (with a message listing the choices) if unknown. */
rl_status rl_cell_parse(const char *name, rl_cell *out);
rl_status rl_loss_parse(const char *name, rl_loss *out);
/* Gates per cell: 1, 1, 1, 4, 3, 1, 1. */
int rl_cell_gates(rl_cell c);
/* State components per unit: 2 for LSTM ([h; c]), else 1 (h). */
int rl_cell_states(rl_cell c);
/* Nonzero when the cell has a forget gate (--forget-bias applies). */
int rl_cell_has_forget_gate(rl_cell c);
/* The cell's update in one line, e.g. "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)". */
const char *rl_cell_equation(rl_cell c);

/* ---------------------------------------------------------------- random */

/* A small deterministic generator (xoshiro256**), plain state so that a
 * checkpoint can store it. */
typedef struct { uint64_t s[4]; } rl_rng;
void rl_rng_seed(rl_rng *r, uint64_t seed);
uint64_t rl_rng_next(rl_rng *r);
double rl_rng_uniform(rl_rng *r); /* [0, 1) */
double rl_rng_normal(rl_rng *r);  /* N(0, 1) */

/* ---------------------------------------------------------------- model */

/* The output nonlinearity of a cell that has one (lru): y = act(a). gelu is
 * the erf form, a Phi(a). */
typedef enum { RL_ACT_DEFAULT = 0, RL_ACT_LINEAR, RL_ACT_RELU, RL_ACT_TANH, RL_ACT_GELU, RL_ACT_COUNT } rl_act;
/* "default", "linear", "relu", "tanh", "gelu"; NULL if out of range. */
const char *rl_act_name(rl_act a);
rl_status rl_act_parse(const char *name, rl_act *out);
extern const rl_names rl_act_names; /* rl_act */

/* The shape of a model. Passed by value; validated by rl_model_new. */
typedef struct {
    rl_cell cell;
    int input_size;  /* I >= 1 */
    int hidden_size; /* H >= 1 */
    int num_layers;  /* L >= 1 */
    int output_size; /* O >= 1: the readout o_t = W_o h_t + b_o of the top layer */
    rl_loss loss;
    int state_size;  /* N: the complex state's units of an lru layer (its real state is 2N numbers);
                        0: hidden_size. Other cells: 0 */
    rl_act activation; /* an lru layer's output y = act(Re(C x) + D u): RL_ACT_DEFAULT (gelu for lru) or one
                        of the others; other cells: RL_ACT_DEFAULT */
} rl_config;

/* Limits a model may not exceed (they bound what a file can make us allocate). */
#define RL_MAX_SIZE 65536   /* input, hidden and output sizes */
#define RL_MAX_LAYERS 64
#define RL_MAX_PARAMS (1ll << 31) /* total number of parameters */
#define RL_MAX_SEQ_LEN 1000000    /* a task's sequence length (rl_task_new) */

typedef struct rl_model rl_model;

/* One named view into the parameter buffer. Names are the PyTorch state_dict
 * names of rnn = nn.RNN/LSTM/GRU(...) and head = nn.Linear(H, O):
 *   rnn.weight_ih_l{k} (G*H, in)   in = I for k = 0, H above
 *   rnn.weight_hh_l{k} (G*H, H)
 *   rnn.bias_ih_l{k}   (G*H)
 *   rnn.bias_hh_l{k}   (G*H)
 *   head.weight        (O, H)
 *   head.bias          (O)
 * in that order in the buffer, each tensor row-major. An orthogonal model
 * (rl_model_new_orth) has no rnn.weight_hh_l{k}; after the layer's other
 * tensors (a leaky layer's rnn.leak_l{k} among them) come those of torch's
 * parametrisation:
 *   rnn.parametrizations.weight_hh_l{k}.original  (H, H)  X, trained
 *   rnn.parametrizations.weight_hh_l{k}.0.base    (H, H)  B, fixed */
typedef struct {
    const char *name;
    int ndim;          /* 1 or 2 */
    int64_t shape[2];  /* shape[1] == 1 when ndim == 1 */
    size_t offset;     /* in elements from the start of the buffer */
    size_t numel;
    int fixed;         /* 1: not trained (an orthogonal base): optimizers leave it, no gradient reaches it,
                          gradient files do not hold it */
} rl_tensor_info;

/* A model with every parameter zero. *out is NULL on failure. */
rl_status rl_model_new(rl_model **out, const rl_config *cfg, rl_dtype dtype);
/* The same with an orthogonal W_hh made by map from X and B (tensors above;
 * RL_ORTH_NONE: rl_model_new): for cells with one dense (H, H) W_hh (tanh,
 * relu, linear, leaky, modrelu; RL_ERR_ARG for LSTM, GRU and IndRNN's vector). W_hh = B map(A) is computed in
 * float64 by each workspace before a forward pass whenever X or B have
 * changed (however they were written), and rounded to the model's dtype;
 * rl_backward gives dL/dX through the map (exp: the adjoint of the Frechet
 * derivative of the matrix exponential; cayley: two solves) and no gradient
 * for B. */
rl_status rl_model_new_orth(rl_model **out, const rl_config *cfg, rl_dtype dtype, rl_orth map);
rl_orth rl_model_orthogonal(const rl_model *m);
/* A copy with parameters converted to dtype (rounded when narrowing). */
rl_status rl_model_cast(rl_model **out, const rl_model *m, rl_dtype dtype);
void rl_model_free(rl_model *m);

rl_config rl_model_config(const rl_model *m);
rl_dtype rl_model_dtype(const rl_model *m);
/* The parameter buffer: rl_model_num_params elements of rl_model_dtype. */
size_t rl_model_num_params(const rl_model *m);
void *rl_model_params(rl_model *m);
const void *rl_model_params_const(const rl_model *m);
/* The numbers of one state component of one layer: hidden_size, but for lru
 * 2 * state_size ([Re x; Im x]). An initial state h0 (and c0) is
 * (num_layers, B, rl_model_units). */
int rl_model_units(const rl_model *m);
int rl_model_num_tensors(const rl_model *m);
const rl_tensor_info *rl_model_tensor(const rl_model *m, int i);
/* Index of the tensor with this name, or -1. */
int rl_model_find_tensor(const rl_model *m, const char *name);
/* The tensor named name as a view into the parameter buffer (elements of
 * rl_model_dtype, row-major), checked to have the shape the caller expects:
 * ndim (1 or 2) dimensions of sizes shape[0..ndim). Writing through it
 * writes the model. NULL, with rl_errmsg saying which, when the model has no
 * tensor by that name or its shape is another ("tensor 'rnn.weight_hh_l0'
 * has shape (4, 4), not (4, 3)"). The view lives as long as the model. */
void *rl_model_view(rl_model *m, const char *name, int ndim, const int64_t *shape);
const void *rl_model_view_const(const rl_model *m, const char *name, int ndim, const int64_t *shape);

/* The vocabulary of a character model: a UTF-8 string whose i-th code point is
 * class i. NULL when the model has none. */
const char *rl_model_vocab(const rl_model *m);
rl_status rl_model_set_vocab(rl_model *m, const char *vocab);

/* ---------------------------------------------------------------- init */

typedef enum {
    RL_INIT_UNIFORM = 0, /* PyTorch's default: every tensor U(-1/sqrt(H), 1/sqrt(H)) */
    RL_INIT_GAUSSIAN,    /* W_hh ~ N(0, gain^2 / H) per gate block */
    RL_INIT_ORTHOGONAL,  /* W_hh = gain * Q, Q a random orthogonal matrix per gate block */
    RL_INIT_IDENTITY,    /* W_hh = gain * I per gate block, recurrent biases 0 (IRNN) */
    RL_INIT_SYMMETRIC,   /* W_hh = gain (A + A^T) / (2 sqrt(2H)), A_ij ~ N(0, 1): real eigenvalues
                            filling [-gain, gain] (a semicircle), orthonormal eigenvectors */
    RL_INIT_CHRONO,      /* gated cells (Tallec & Ollivier 2018): W_hh uniform, every recurrent bias 0
                            but the keep gate's (LSTM f, GRU z) b_ih = ln u and LSTM's input gate
                            b_ih = -ln u, u ~ U[1, t_max - 1] per unit: the forgetting time
                            1 / (1 - sigmoid(b_f)) = 1 + u is uniform on [2, t_max] */
    RL_INIT_HENAFF,      /* W_hh = gain * diag(R(theta_1), R(theta_2), ...), 2x2 rotations with
                            theta_i ~ U[-pi, pi] (Henaff et al. 2016; expRNN's copy init): orthogonal,
                            its eigenvalues e^(+-i theta) spread over the unit circle; an odd H
                            ends with gain on the diagonal */
    RL_INIT_COUNT
} rl_init_kind;

const char *rl_init_name(rl_init_kind k);
rl_status rl_init_parse(const char *name, rl_init_kind *out);

typedef struct {
    rl_init_kind kind;
    double gain;        /* used by gaussian, orthogonal, identity; 1 is the usual value */
    double radius;      /* > 0: rescale each W_hh block to this spectral radius; 0: leave */
    double forget_bias; /* LSTM, if nonzero: b_if = forget_bias and b_hf = 0 */
    int zero_bias;      /* nonzero: every recurrent bias starts at 0 (h = 0 is then a fixed
                           point under zero input, the setting of the Lyapunov theory) */
    /* The options of one kind of init or cell; 0 (the default) leaves each unused. */
    double t_max;         /* chrono: the longest forgetting time, >= 2 */
    double leak;          /* leaky: every unit's rate a in (0, 1): rnn.leak_l{k} = ln(a / (1 - a)) */
    double timescales[2]; /* leaky: time scales 1/a log-uniform in [lo, hi], 1 < lo <= hi */
    double recurrent_max; /* indrnn: u ~ U(0, recurrent_max) (0: U(0, 1)); rnnlab train keeps
                             |u| <= recurrent_max (rl_model_clip_recurrent) */
    double input_scale;   /* > 0: every layer's W_ih ~ U[-input_scale, input_scale] (an echo state
                             network's input scaling), drawn after everything else; 0: PyTorch's */
    double recurrent_min; /* indrnn, > 0: the last layer's u ~ U(recurrent_min, recurrent_max) instead
                             (Li et al. 2018's init when the answer comes at the last step: u near 1,
                             e.g. 2^(-1/T) to 2^(1/T)); below recurrent_max (or 1) */
    /* lru's ring init (Orvieto et al. 2023): |lambda|^2 ~ U[r_min^2, r_max^2], arg lambda ~
     * U[0, max_phase]; 0 leaves each at its default (0.9, 0.999, 2 pi); 0 <= r_min <= r_max < 1 */
    double r_min, r_max, max_phase;
    /* modrelu: each unit's b ~ U(-R, R), R >= 0; 0 makes every b 0 (scoRNN's init). rnnlab's
     * commands start from 0.01, expRNN's (rl_train_defaults); other cells ignore it */
    double modrelu_init;
} rl_init;

/* Everything but W_hh gets PyTorch's default uniform init; W_hh follows init
 * (a diagonal W_hh, IndRNN's u: U(0, recurrent_max)); then the init's biases
 * (identity, chrono, forget_bias, zero_bias) and the cell's own parameter
 * (leak, timescales; modrelu_init). Deterministic for a seed. RL_ERR_ARG (the model
 * untouched) for an option the kind or the cell does not take or out of its
 * range; RL_ERR_LAPACK if a factorisation fails. */
rl_status rl_model_init(rl_model *m, const rl_init *init, uint64_t seed);
/* The init's options whose default depends on the length T of the
 * sequences the model will see, as rnnlab train (and gradcheck, and the
 * demo) fill them when they are 0: chrono's longest forgetting time t_max =
 * T (at least 2), and a diagonal recurrence's bound recurrent_max =
 * 2^(1/T), so that |u|^T <= 2 (Li et al. 2018). Options already set, and
 * those the kind or the cell does not take, are left as they are. */
void rl_init_for_steps(rl_init *init, rl_cell cell, int T);
/* Clamp every element of a diagonal recurrent weight (IndRNN's u) to
 * [-max, max]: the constraint of Li et al. 2018, applied after each update.
 * Nothing for a cell with a dense W_hh, or for max <= 0. */
void rl_model_clip_recurrent(rl_model *m, double max);

/* ---------------------------------------------------------------- files */

/* Load a safetensors model (F32 or F64 tensors) into a model of dtype. Every
 * tensor of the config must be present with its exact shape and finite values;
 * unknown tensors are an error. A file that records checksums (data_crc32,
 * header_crc32: rnnlab's models and checkpoints do) is verified first, and
 * refused (RL_ERR_FORMAT, "... the file is damaged") when they do not match;
 * a file without them (PyTorch's) loads as it is. A FIFO that no process
 * writes to is refused (RL_ERR_IO) rather than waited on. */
rl_status rl_model_load(rl_model **out, const char *path, rl_dtype dtype);
/* Copy the weights of the model file at path into m (a new run's start,
 * rl_train_config.init_from): rnnlab's model or checkpoint, or a PyTorch
 * state_dict in safetensors (rnn.* and head.*, or an nn.RNN's own names,
 * weight_ih_l0, ...). Each of m's tensors by its name with its exact shape;
 * head.weight and head.bias may both be missing (a bare nn.RNN): the head
 * keeps its values, and *head_kept (may be NULL) is 1. Another cell (by the
 * file's metadata), a shape or a tensor that does not fit m: RL_ERR_FORMAT
 * or RL_ERR_ARG naming it; m is then partly written. */
rl_status rl_model_load_weights(rl_model *m, const char *path, int *head_kept);
/* Write a model as F32 safetensors with the metadata cell, input_size,
 * hidden_size, num_layers, output_size, loss (and vocab) and the checksums
 * of its tensors and header (zlib's CRC-32; other readers pass over
 * metadata); atomically: a temporary file, flushed and synced, renamed over
 * path. A path that exists and is not a regular file (a device, a FIFO, a
 * folder) is refused (RL_ERR_IO), never replaced. */
rl_status rl_model_save(const rl_model *m, const char *path);

/* The lock of a folder that one process writes at a time (a run folder of
 * rl_trainer_new, a sweep's): dir/name is created if missing, locked with
 * flock (exclusive), and holds the holder's pid while *fd stays open;
 * closing *fd lets go, and so does the kernel when the process ends, kill
 * -9 included. A lock another process holds is RL_ERR_IO, "DIR is in use:
 * another rnnlab process (pid N) is writing to it ...". The descriptor is
 * close-on-exec; *fd is -1 on failure. */
rl_status rl_folder_lock(const char *dir, const char *name, int *fd);

/* Any tensors as a safetensors file: the format rnnlab writes its results in.
 * dtype is "F32", "F64" or "I64"; data holds the product of the shape's
 * elements. nmeta metadata pairs in meta_kv (key, value, key, value, ...).
 * Written atomically like rl_model_save; path "-" writes to stdout. */
#define RL_ST_MAX_NDIM 8
typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[RL_ST_MAX_NDIM];
    const void *data;
} rl_st_tensor;
rl_status rl_st_write(const char *path, const rl_st_tensor *t, int n, const char *const *meta_kv, int nmeta);

/* Reading any safetensors file, checked as the model loader checks it. */
typedef struct rl_st rl_st;
rl_status rl_st_open(rl_st **out, const char *path);
void rl_st_close(rl_st *f);
/* Rank and shape (RL_ST_MAX_NDIM) of a tensor; -1 when there is none by that name. */
int rl_st_shape(const rl_st *f, const char *name, int64_t *shape);
/* A float tensor (F32 or F64) of exactly n elements into out, as float64;
 * non-finite values are kept (results may hold -inf). */
rl_status rl_st_read_f64(const rl_st *f, const char *name, double *out, size_t n);
/* A metadata value, or NULL. */
const char *rl_st_meta(const rl_st *f, const char *key);
/* What an rnnlab file is, from its tensor names and metadata: "a model", "a
 * training checkpoint", "a PyTorch state_dict without rnnlab's metadata", "a
 * Jacobian output (rnnlab jacobian)", "a gradient file (rnnlab grad)", "a
 * data file"; NULL when none of these. The loaders name it when they are
 * given the wrong kind ("j.safetensors is a Jacobian output (rnnlab
 * jacobian), not a model"); a file that is not safetensors at all is named
 * by its first bytes ("a zip archive", "a JSON file") when it is opened. */
const char *rl_st_kind(const rl_st *f);

/* ---------------------------------------------------------------- batches */

/* The arrays of one batch; the caller owns them. Element type of the real
 * arrays is dtype. */
typedef struct {
    rl_dtype dtype;
    int batch;               /* B */
    int steps;               /* T */
    int input_size;          /* I, must equal the model's */
    const void *x;           /* (B, T, I) inputs */
    const int32_t *target;   /* (B, T) class ids in [0, O): cross-entropy models */
    const void *y;           /* (B, T, O) targets: mse models */
    const void *mask;        /* (B, T) weights >= 0, or NULL for all ones */
    const void *h0;          /* (L, B, H) initial hidden state, or NULL for zeros */
    const void *c0;          /* (L, B, H) initial LSTM cell state, or NULL for zeros */
} rl_batch;

/* A data file: safetensors with x F32/F64 (B, T, I); y I64 (B, T) class ids or
 * F32/F64 (B, T, O); optional mask (B, T), h0 (L, B, H), c0 (L, B, H). */
typedef struct rl_data rl_data;

/* Load and check a data file against model m (shapes, class-id range, finite
 * values, mask >= 0 with a positive sum). Real arrays are converted to dtype. */
rl_status rl_data_load(rl_data **out, const char *path, const rl_model *m, rl_dtype dtype);
/* Flags for rl_data_load_ex. */
#define RL_DATA_OPTIONAL_XY 1u /* x and y may be absent (then steps is 0, batch from h0) */
rl_status rl_data_load_ex(rl_data **out, const char *path, const rl_model *m, rl_dtype dtype, unsigned flags);
const rl_batch *rl_data_batch(const rl_data *d);
void rl_data_free(rl_data *d);
/* Random data for checks and examples: x ~ N(0, 1); class ids uniform or
 * y ~ N(0, 1); with_mask: weights drawn from {0, 0.5, 1, 2} (at least one
 * positive); with_h0: h0 (and c0 for LSTM) ~ N(0, 0.25). Deterministic for a seed. */
rl_status rl_data_random(rl_data **out, const rl_model *m, int batch, int steps, rl_dtype dtype,
                         int with_mask, int with_h0, uint64_t seed);
/* Write a batch as a data file (x, y, mask if given, h0 and c0 if given; real
 * arrays F32 if b->dtype is F32, else F64). L and H are taken from m. */
rl_status rl_data_save(const rl_batch *b, const rl_model *m, const char *path);

/* ---------------------------------------------------------------- BPTT */

/* A workspace holds everything a forward and backward pass over a (B, T) batch
 * needs, allocated once: the activation cache, the gradient buffer and scratch.
 *
 * Activation cache (read by BPTT and by the Jacobian tools):
 *   h (L, T+1, B, H): h[l][0] is layer l's initial state, h[l][t+1] its state
 *                     after step t.
 * The gradient buffer has the layout and dtype of the parameter buffer. */
typedef struct rl_ws rl_ws;

rl_status rl_ws_new(rl_ws **out, const rl_model *m, int batch, int steps);
void rl_ws_free(rl_ws *ws);

/* Forward pass over batch b (b->batch and b->steps must equal the workspace's,
 * b->dtype the model's): fills the cache and returns the loss
 * L = sum_{b,t} m[b,t] l[b,t] / sum_{b,t} m[b,t] in *loss. With loss NULL it
 * runs the recurrence and the readout only: targets and mask are not needed
 * (and rl_backward may not follow). */
rl_status rl_forward(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss);
/* rl_forward with a loss, for evaluation: the loss without dL/do, so
 * rl_backward may not follow. */
rl_status rl_forward_eval(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss);
/* BPTT after rl_forward with the same model and batch: adds dL/dtheta into the
 * gradient buffer and dL/dh0 into the initial-state gradient. */
rl_status rl_backward(rl_ws *ws, const rl_model *m, const rl_batch *b);
/* Dropout between layers (on the input of layers 1..L-1, inverted: kept
 * units are scaled by 1/(1-p)) for every following rl_forward until p is set
 * to 0; each forward draws new masks from a generator seeded here.
 * RL_ERR_ARG unless 0 <= p < 1. */
rl_status rl_ws_set_dropout(rl_ws *ws, double p, uint64_t seed);
/* The BPTT message clip (Graves 2013, sec. 2.1; Lasagne's grad_clipping)
 * for every following rl_backward: each step's gradient with respect to the
 * cell's pre-activations (the gate sums) is clamped to [-x, x] before it
 * reaches the weights and h_{t-1}; 0 turns it off (the default). The
 * gradient is then no longer the loss's. RL_ERR_ARG unless 0 <= x < inf. */
rl_status rl_ws_set_clip_message(rl_ws *ws, double x);
/* Clear the gradient buffer and the initial-state gradients. */
void rl_ws_zero_grad(rl_ws *ws);

/* Gradient buffer: rl_model_num_params elements of the model's dtype. */
void *rl_ws_grad(rl_ws *ws);
/* dL/dh0 (L, B, H) and, for LSTM, dL/dc0 (L, B, H); NULL for other cells. */
const void *rl_ws_grad_h0(const rl_ws *ws);
const void *rl_ws_grad_c0(const rl_ws *ws);
/* Hidden states of layer l, (T+1, B, H) as described above. */
const void *rl_ws_hidden(const rl_ws *ws, int layer);
/* Cell states of an LSTM layer, (T+1, B, H) like the hidden states; NULL for
 * other cells. */
const void *rl_ws_cell(const rl_ws *ws, int layer);
/* The state after step t (0..T) of the last forward pass into h0 and, for
 * an LSTM, c0 (either may be NULL), in the (L, B, H) layout and dtype of
 * rl_batch.h0 and c0: how a stream carries its state from one window (or
 * step) to the next. */
rl_status rl_ws_state_at(const rl_ws *ws, int t, void *h0, void *c0);
/* Outputs o_t of the last forward pass, (T, B, O) (time-major). */
const void *rl_ws_outputs(const rl_ws *ws);
/* dL/dh_t of the top layer from the last backward pass, all contributions
 * included (eq. 10.21), (T, B, H) time-major: row t is dL/dh_{t+1} in the
 * cache's numbering. */
const void *rl_ws_grad_hidden(const rl_ws *ws);

/* Threads for rl_forward, rl_backward, the Jacobian product and the Lyapunov
 * spectrum: n > 0 sets the count, 0 (the default) takes the number OpenBLAS
 * runs with when rnnlab first asks. rnnlab splits its work itself (the
 * sequences of a batch through the time loop, the rows or columns of large
 * GEMMs) and keeps OpenBLAS on one thread inside its calls, so that the two
 * never compete for the cores; the results do not depend on the count. */
void rl_set_num_threads(int n);
int rl_get_num_threads(void);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC) from an arbitrary start:
 * for measuring how long something took. */
double rl_now(void);

/* Where the time of rl_forward and rl_backward went since the last reset,
 * phase by phase, when the environment held RNNLAB_PROFILE=1 at start-up:
 * fills up to max entries and returns how many (0 when profiling is off). */
typedef struct {
    const char *name;
    double seconds;
} rl_phase_time;
int rl_profile_get(rl_phase_time *out, int max);
void rl_profile_reset(void);

/* Write the result of a forward and backward pass as safetensors: "loss" (a
 * scalar), "grad.<tensor name>" for every parameter, "grad.h0" when b has h0
 * and "grad.c0" when it has c0, all in the model's dtype. */
rl_status rl_grad_save(const char *path, const rl_model *m, rl_ws *ws, const rl_batch *b, double loss);
/* The same with up to 8 more tensors written after those (rnnlab grad's
 * "omega", "floss", ...); RL_ERR_ARG for more. */
rl_status rl_grad_save_ex(const char *path, const rl_model *m, rl_ws *ws, const rl_batch *b, double loss,
                          const rl_st_tensor *extra, int nextra);

/* ---------------------------------------------------------------- Jacobians */

/* The state s_t of a model is the concatenation over layers of h_t (LSTM:
 * [h_t; c_t] per layer, in that order); S = L*H (LSTM 2*L*H). For one sequence
 * of a batch, an rl_jac holds a float64 forward pass (and BPTT, when the
 * batch has targets and the sequence carries loss) and gives
 *   J_t = ds_t/ds_{t-1}, t = 1..T, analytic from the cached activations
 *   (tanh: diag(1 - h_t^2) W_hh, relu: diag(1[a_t > 0]) W_hh, linear: W_hh,
 *   leaky: diag(1 - a) + diag(a tanh'(a_t)) W_hh, indrnn: diag(1[a_t > 0] u); a
 *   layer above also depends on the layer below at the same step), and the
 *   products P(t, tau) = ds_t/ds_tau = J_t J_{t-1} ... J_{tau+1}. */
typedef struct rl_jac rl_jac;

/* Sequence seq of batch b (any dtype; its mask, h0, c0 are used). The model
 * is copied to float64. */
rl_status rl_jac_new(rl_jac **out, const rl_model *m, const rl_batch *b, int seq);
void rl_jac_free(rl_jac *j);
int rl_state_size(const rl_model *m);
int rl_jac_state_size(const rl_jac *j);
int rl_jac_steps(const rl_jac *j);
/* The loss of the sequence alone (NaN when it has no targets or no loss). */
double rl_jac_loss(const rl_jac *j);
/* s_t (S), t = 0..T. */
rl_status rl_jac_state(const rl_jac *j, int t, double *s);
/* J (S, S) row-major = ds_t/ds_{t-1}, t = 1..T. */
rl_status rl_jac_step(rl_jac *j, int t, double *J);
/* P(t, tau) = exp(*log_scale) * P, P (S, S) with Frobenius norm 1 (or 0 when
 * the product is exactly zero, *log_scale then -inf): the scale is carried
 * apart so that no product over- or underflows. 0 <= tau <= t <= T. */
rl_status rl_jac_product(rl_jac *j, int t, int tau, double *P, double *log_scale);

/* What rl_jac_lags computes, each over tau = 0..T (T+1 values, index tau);
 * leave a pointer NULL to skip it (each costs only when asked). Natural logs;
 * -inf for an exact zero. */
typedef struct {
    double *log_norm;       /* ln ||P(T, tau)||_2 (tau = T: the identity, 0): sigma_1^2 the top eigenvalue of
                               P P^T by Lanczos, a few O(S^2) steps a lag from the last lag's vector; a full
                               SVD (dgesdd, values only) for a lag where it does not settle */
    double *log_fro;        /* ln ||P(T, tau)||_F */
    double *log_radius;     /* ln rho(P(T, tau)), spectral radius (an eigensolve per lag) */
    double *log_grad_state; /* ln ||dL/ds_tau||: dL/ds_tau = J_{tau+1}^T dL/ds_{tau+1} + W_o^T dL/do_tau
                               on the top layer's block (eq. 10.21 on the state) */
    double *log_grad_last;  /* ln ||d(loss at step T)/ds_tau|| = ln ||P(T, tau)^T g_T||: the part of the
                               gradient that comes from the last step alone */
    double *log_grad_bptt;  /* ln ||dL/dh_tau|| of the top layer from rl_backward (at tau = 0 its initial state's);
                               a cell with an output map (lru): the top layer's state's dL/dx_tau (2N numbers), its
                               block of dL/ds_tau above, since y_tau reaches the loss only through step tau's head */
    double *J;              /* (T, S, S): J[t] = ds_{t+1}/ds_t, t = 0..T-1 */
    double *P;              /* (S, S) P(T, 0) / exp(*P_log_scale) */
    double *P_log_scale;
    int norm_steps;         /* out: the Lanczos steps of log_norm, all lags together */
    int norm_svds;          /* out: the lags whose log_norm took a full SVD instead */
    const unsigned char *at_lag; /* (T+1) or NULL: log_norm and log_radius only at the lags k = T - tau where
                                    at_lag[k] is nonzero (NaN at the others), which spares an SVD and an
                                    eigensolve per lag left out; NULL: at every lag */
} rl_lag_stats;

/* One backward sweep over the sequence fills every requested field. The
 * gradient fields need targets and a positive mask on the sequence. */
rl_status rl_jac_lags(rl_jac *j, rl_lag_stats *st);

/* Eigenvalues (sorted by modulus, descending) and singular values
 * (descending) of J_t, t = 1..T; re, im, sv of S elements each, any NULL. */
rl_status rl_jac_step_spectrum(rl_jac *j, int t, double *re, double *im, double *sv);

/* The eigenvalue-product theorem (shared eigenvectors) at lag k = T - tau: if every J_t = V Lambda_t V^-1 with
 * one V, then eig(P(T, tau)) = prod_t Lambda_t, matched through V. Here V is
 * the eigenvector matrix of P itself and the matched product is
 * mu_i = prod_{t=tau+1..T} [V^-1 J_t V]_ii: equal to lambda_i(P) when the J_t
 * commute, apart when they do not. If V is moreover orthonormal (normal J_t),
 * the singular values of P are the |mu_i|, which is what makes gradients over
 * long lags vanish or explode at the rate of the eigenvalues. All of S. */
typedef struct {
    double *eig_log_abs, *eig_arg;         /* ln|lambda_i(P)|, arg, sorted by |lambda| descending */
    double *matched_log_abs, *matched_arg; /* ln|mu_i|, arg mu_i, paired with lambda_i */
    double *sv_log;                        /* ln sigma_i(P), descending */
    double eig_dev; /* max |mu_i / lambda_i - 1| over the resolved eigenvalues */
    double sv_dev;  /* max |ln sigma_i - ln|mu|_(i)| over them (their |mu| sorted descending) */
    int resolved;   /* eigenvalues with |lambda_i| >= 1e-6 |lambda_1|, the ones compared */
    double v_cond;  /* ||V||_1 ||V^-1||_1, V's columns of unit length: the matched products lose about
                       log10(v_cond) of double precision's 16 digits, so eig_dev and sv_dev say nothing
                       once it passes about 1e8 */
} rl_theorem;

rl_status rl_jac_theorem(rl_jac *j, int tau, rl_theorem *out);

/* The study notes' question in numbers, for a small model: P(t, tau) =
 * J_t ... J_{tau+1} beside V Lambda_t ... Lambda_{tau+1} V^-1, where V holds
 * the eigenvectors of J_{tau+1} and Lambda_k = diag(V^-1 J_k V). Equal when
 * every J_k has the eigenvectors V (a linear RNN, J_k = W_hh; a diagonal
 * recurrence: IndRNN, minGRU, minLSTM; the LRU, whose J_k is constant);
 * apart when J_k changes them (tanh: J_k = diag(1 - h_k^2) W_hh), and
 * off_share says by how much. A real J_{tau+1} may have complex eigenvalues,
 * in conjugate pairs (most random W_hh do; the LRU's are its lambda and
 * their conjugates): V, V^-1, Lambda_k, their products and R are then
 * complex, with their imaginary parts in the *_im arrays (zero otherwise),
 * and R is real to rounding. V^-1 is the inverse, not V^T: it is V^H only
 * when V is unitary (a normal J_{tau+1}: a symmetric W_hh, the LRU's
 * blocks). RL_ERR_ARG when S > RL_WORKED_MAX_S or t - tau >
 * RL_WORKED_MAX_STEPS; RL_ERR_LAPACK when V is singular (a defective
 * J_{tau+1}). All matrices (S, S) row-major. */
#define RL_WORKED_MAX_S 8
#define RL_WORKED_MAX_STEPS 16
typedef struct {
    int S, t, tau;
    double J[RL_WORKED_MAX_STEPS][RL_WORKED_MAX_S * RL_WORKED_MAX_S]; /* J[k] = J_{tau+1+k} */
    double V[RL_WORKED_MAX_S * RL_WORKED_MAX_S], Vinv[RL_WORKED_MAX_S * RL_WORKED_MAX_S];
    double lambda[RL_WORKED_MAX_STEPS][RL_WORKED_MAX_S]; /* diag(V^-1 J_k V); lambda[0]: J_{tau+1}'s eigenvalues */
    double off_share[RL_WORKED_MAX_STEPS]; /* ||offdiag(V^-1 J_k V)||_F / ||V^-1 J_k V||_F */
    double prod_lambda[RL_WORKED_MAX_S];   /* prod_k lambda[k] */
    double P[RL_WORKED_MAX_S * RL_WORKED_MAX_S], R[RL_WORKED_MAX_S * RL_WORKED_MAX_S]; /* the product, V (prod) V^-1 */
    double deviation; /* max |P - R| / max |P| (R complex: its modulus) */
    int complex_eig;  /* J_{tau+1} has complex eigenvalues: the parts below are not all zero */
    double V_im[RL_WORKED_MAX_S * RL_WORKED_MAX_S], Vinv_im[RL_WORKED_MAX_S * RL_WORKED_MAX_S];
    double lambda_im[RL_WORKED_MAX_STEPS][RL_WORKED_MAX_S], prod_lambda_im[RL_WORKED_MAX_S];
    double R_im[RL_WORKED_MAX_S * RL_WORKED_MAX_S];
    int unitary;      /* V^H V = I to 1e-10 (V's columns have unit length): V^-1 = V^H */
    double v_cond;    /* ||V||_1 ||V^-1||_1: the digits the products lose, about log10 of it */
} rl_worked;
rl_status rl_jac_worked(rl_jac *j, int t, int tau, rl_worked *w);

/* ---------------------------------------------------------------- Lyapunov */

typedef enum { RL_INPUT_DATA = 0, RL_INPUT_ZEROS, RL_INPUT_NOISE } rl_input_kind;
typedef enum { RL_STATE_DATA = 0, RL_STATE_ZEROS, RL_STATE_RANDOM } rl_state_kind;
/* "data", "zeros", "noise" and "data", "zeros", "random"; NULL if out of range */
const char *rl_input_name(rl_input_kind k);
const char *rl_state_name(rl_state_kind k);
rl_status rl_input_parse(const char *name, rl_input_kind *out);
rl_status rl_state_parse(const char *name, rl_state_kind *out);

typedef struct {
    int steps;            /* N >= 1 steps averaged over */
    int transient;        /* steps run and discarded first */
    int k;                /* exponents wanted, 1..S */
    rl_input_kind input;  /* data: the sequence's x, cycled; zeros; noise: N(0, noise_std^2) */
    double noise_std;
    rl_state_kind state;  /* data: the batch's h0 (and c0); zeros; random: U(-1, 1) */
    uint64_t seed;        /* noise, random state, and the random initial frame */
    int trace_every;      /* > 0: record the running estimates every this many steps */
} rl_lyap_config;

/* The top k Lyapunov exponents (natural log per step, sorted descending) of
 * s_t = F(s_{t-1}, x_t), by QR re-orthonormalisation (Benettin et al. 1980):
 * Q <- qr(J_t Q), sum ln|diag R| after the transient, divide by the steps;
 * for a cell whose recurrence is diagonal or complex diagonal, from J_t's
 * structure without QR (rl_lyap_info.structured). The initial state from
 * data is h0 (L, B, U) with U = rl_model_units (an lru's 2N), and c0.
 * b may be NULL when neither input nor state is "data". trace (if not NULL)
 * receives steps / trace_every rows of k running estimates. */
rl_status rl_lyapunov(const rl_model *m, const rl_batch *b, int seq, const rl_lyap_config *cfg,
                      double *exponents, double *trace);
/* What the run's trajectory did. A state that never moves (started on a
 * fixed point, zero inputs) gives the exponents of that fixed point, ln|eig|
 * of its Jacobian, not of the attractor around it: h = 0 of a zero-bias
 * tanh net under zero input is one. */
typedef struct {
    int stationary;      /* every measured s_t equals the state after the transient, bit for bit */
    double displacement; /* max over the measured steps of max_i |s_t[i] - s_transient[i]| */
    int structured;      /* 1: no QR. The cell's recurrence is diagonal (indrnn, mingru, minlstm) or
                            complex diagonal (lru), so J_t is block lower triangular (a layer reads the
                            layer below at the same step) with diagonal or 2 x 2 blocks |lambda| R(theta)
                            on its diagonal, and exponent i is exactly (1/N) sum_t ln|J_t[i,i]| (a 2 x 2
                            block: ln sqrt|det|, for both of its rows) */
    int steps_done;      /* the steps the exponents average over: cfg->steps, or fewer when stopped */
    int traced;          /* the rows of trace filled */
} rl_lyap_info;
/* rl_lyapunov, and what its trajectory did into *info (may be NULL). When
 * the progress hook stops it (RL_ERR_INTERRUPTED) after the transient, the
 * exponents are those of the steps measured so far (info->steps_done of
 * them, info->traced rows of trace): a partial result, returned with the
 * status. */
rl_status rl_lyapunov_ex(const rl_model *m, const rl_batch *b, int seq, const rl_lyap_config *cfg, double *exponents,
                         double *trace, rl_lyap_info *info);

/* ------------------------------------------------ regularisers on the Jacobians */

/* From now on rl_backward keeps every layer's complete dL/dh (eq. 10.21),
 * (L, T, B, H) in the workspace's dtype, as Pascanu's Omega needs. */
rl_status rl_ws_keep_grad_hidden(rl_ws *ws);
/* Layer l's dL/dh from the last rl_backward, (T, B, H) time-major (row t
 * is dL/dh_{t+1}); NULL unless rl_ws_keep_grad_hidden was called first. */
const void *rl_ws_grad_hidden_layer(const rl_ws *ws, int layer);

/* The two forms of Omega: the paper's ratio of norms, or the ratio of
 * squared norms of Pascanu's released code ("norm", "squared"). */
typedef enum { RL_OMEGA_NORM = 0, RL_OMEGA_SQUARED, RL_OMEGA_FORM_COUNT } rl_omega_form;
const char *rl_omega_form_name(rl_omega_form f);
rl_status rl_omega_form_parse(const char *name, rl_omega_form *out);

/* Pascanu, Mikolov & Bengio 2013, eq. (9), summed over the layers: for each
 * layer, with delta = dL/dh_{k+1} that layer's BPTT gradient and
 * J_{k+1} = dh_{k+1}/dh_k its step Jacobian (LSTM: the h block, c_k held),
 *   norm:    Omega_l = mean over (b, k) of (||J^T delta|| / ||delta|| - 1)^2,
 *            over the sequences b and steps k = 0..T-1 with delta != 0;
 *   squared: Omega_l = mean of (||J^T delta||^2 / ||delta||^2 - 1)^2 over
 *            those with ||delta||^2 >= 1e-20 (their code's bound).
 * Call after rl_forward and rl_backward on ws, with rl_ws_keep_grad_hidden
 * before them. *omega gets Omega (0 when no step counts); ratio (L, B, T)
 * doubles, if not NULL, ||J^T delta|| / ||delta|| (NaN where not counted).
 * weight > 0 adds weight * dOmega/dtheta to the gradient buffer: their
 * "immediate" gradient, every activation and every delta held, so only
 * what appears in J_t itself: W_hh (with the gates held for LSTM and GRU)
 * and the cell's own parameters (the leaky unit's theta); an orthogonal
 * W_hh = B map(A(X)) takes it on to X (W_hh remade from the model's X first;
 * the workspace's dL/dW_hh then holds Omega's part). RL_ERR_ARG for a
 * weight < 0 or not finite, or dL/dh not kept. In the workspace's dtype. */
rl_status rl_omega(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio);

/* Gradient flossing (Engelken, NeurIPS 2023). For each sequence b of the
 * batch, along its own forward trajectory, with J_t = ds_t/ds_{t-1} on the
 * state of rl_jac (t = 1..T): Q_0 = the first k columns of the identity,
 * J_t Q_{t-1} = Q_t R_t (QR), lambda_i = (1/T) sum_t ln|R_t[i,i]|, and
 *   F = mean over b of (1/k) sum_{i<=k} (lambda_i - target)^2.
 * Its gradient goes through everything: the QR (its adjoint), J_t's
 * dependence on the weights and on the trajectory (the cells' second
 * derivatives, rl_cell_desc's jac_vjp), and the trajectory back to every
 * weight and the initial state. Computed in float64 whatever the model's
 * dtype. */
typedef struct {
    int k;         /* exponents, 1 <= k <= S (rl_state_size) */
    double target; /* lambda*: 0 drives them to 0 */
    double weight; /* the gradient added is weight * dF/dtheta (>= 0) */
} rl_floss_config;

/* F into *floss; lambda (B, k), if not NULL, gets each sequence's
 * exponents (in the order of R's diagonal). grad (rl_model_num_params of
 * the model's dtype), if not NULL, += weight * dF/dtheta, and grad_h0,
 * grad_c0 ((L, B, H), may be NULL) += weight * dF/ds_0. b needs x (no
 * targets). RL_ERR_ARG: k outside [1, S], a weight < 0; RL_ERR_NONFINITE:
 * a rank-deficient R (some |R_t[i,i]| <= 1e-13 max_j |R_t[j,j]|: ln|R_ii|
 * is -inf or nearly) or a non-finite trajectory, naming the sequence and
 * the step; RL_ERR_LAPACK if the QR fails. */
rl_status rl_floss(const rl_model *m, const rl_batch *b, const rl_floss_config *cfg, double *floss, double *lambda,
                   void *grad, void *grad_h0, void *grad_c0);

/* ---------------------------------------------------------------- optimisation */

typedef enum { RL_OPT_SGD = 0, RL_OPT_ADAGRAD, RL_OPT_RMSPROP, RL_OPT_ADAM, RL_OPT_ADAMW, RL_OPT_COUNT } rl_optim_kind;
const char *rl_optim_name(rl_optim_kind k);
rl_status rl_optim_parse(const char *name, rl_optim_kind *out);

/* The update rules are torch.optim's, on the one parameter buffer:
 *   sgd:     g += wd p; v = momentum v + g; g = nesterov ? g + momentum v : v; p -= lr g
 *   adagrad: g += wd p; s += g^2; p -= lr g / (sqrt(s) + eps)
 *   rmsprop: g += wd p; s = alpha s + (1 - alpha) g^2; p -= lr g / (sqrt(s) + eps)
 *   adam:    g += wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *            p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   adamw:   p -= lr wd p, then adam with wd = 0 */
typedef struct {
    rl_optim_kind kind;
    double momentum;     /* sgd */
    int nesterov;        /* sgd */
    double alpha;        /* rmsprop decay (PyTorch's alpha; 0.99 there, 0.9 in Arjovsky et al.) */
    double beta1, beta2; /* adam, adamw */
    double eps;
    double weight_decay;
} rl_optim_config;

/* Defaults as PyTorch's for the kind (momentum 0, alpha 0.99, betas 0.9/0.999,
 * eps 1e-8, adagrad eps 1e-10, weight decay 0, adamw 0.01). */
rl_optim_config rl_optim_defaults(rl_optim_kind kind);

typedef struct rl_optim rl_optim;
rl_status rl_optim_new(rl_optim **out, const rl_model *m, const rl_optim_config *cfg);
void rl_optim_free(rl_optim *o);
/* One update of m's parameters from grad (the model's layout and dtype). */
rl_status rl_optim_step(rl_optim *o, rl_model *m, const void *grad, double lr);
/* From the next step on, elements [offset, offset + count) of the buffer
 * learn at scale * lr (scale >= 0; 0 leaves them, and their moments, as
 * they are). Where ranges overlap the one set last counts. A new optimizer
 * has scale 0 on the model's fixed tensors (rl_tensor_info.fixed) and 1
 * elsewhere. RL_ERR_ARG for a range outside the buffer or a bad scale. */
rl_status rl_optim_set_lr_scale(rl_optim *o, size_t offset, size_t count, double scale);
/* The optimizer's state for checkpoints: its step count and its moment
 * buffers (0 to 2, each rl_model_num_params elements of the model's dtype). */
int64_t rl_optim_steps(const rl_optim *o);
void rl_optim_set_steps(rl_optim *o, int64_t steps);
int rl_optim_num_buffers(const rl_optim *o);
void *rl_optim_buffer(rl_optim *o, int i);

/* Pascanu et al. 2013, Algorithm 1: if ||g|| >= max_norm, g <- max_norm g/||g||.
 * *norm gets ||g|| before clipping (always, also when max_norm <= 0, which
 * only measures). RL_ERR_NONFINITE (g untouched) when the norm is not finite. */
rl_status rl_clip_grad_norm(void *grad, size_t n, rl_dtype dtype, double max_norm, double *norm);
/* Clamp every element to [-clip, clip]. */
void rl_clip_grad_value(void *grad, size_t n, rl_dtype dtype, double clip);
/* ||p||_2 of a buffer. */
double rl_buffer_norm(const void *p, size_t n, rl_dtype dtype);

typedef enum { RL_SCHED_CONSTANT = 0, RL_SCHED_STEP, RL_SCHED_COSINE, RL_SCHED_COUNT } rl_sched_kind;
typedef struct {
    rl_sched_kind kind;
    double lr;        /* base rate */
    int64_t warmup;   /* linear warm-up from lr/warmup over the first steps (0: none) */
    int64_t step_size;/* step: multiply by gamma every step_size steps */
    double gamma;
    int64_t total;    /* cosine: steps to decay over, down to min_lr (the trainer takes 0 as its steps) */
    double min_lr;
} rl_schedule;
const char *rl_sched_name(rl_sched_kind k);
rl_status rl_sched_parse(const char *name, rl_sched_kind *out);
/* The learning rate for update number step (0-based). */
double rl_lr_at(const rl_schedule *s, int64_t step);

/* ---------------------------------------------------------------- tasks */

/* Long-term-dependency benchmarks generated on the fly, and character-level
 * language modelling (docs/training.md defines each):
 *   adding          Arjovsky et al. 2016: I = 2 (value U[0,1], marker), one marker in each half,
 *                   target the sum at the last step; MSE; baseline 1/6 (predict 1)
 *   adding-hs97     Hochreiter & Schmidhuber 1997, exp. 4: values U[-1,1], markers 1/0/-1,
 *                   lengths T..T+T/10 (right-padded, masked), target 0.5 + (X1+X2)/4;
 *                   correct if |error| < 0.04
 *   copy            Arjovsky et al. 2016: T + 20 steps over 10 symbols, recall 10 symbols
 *                   after T - 1 blanks; cross-entropy; baseline 10 ln 8 / (T + 20)
 *   temporal-order  after Hochreiter & Schmidhuber exp. 6a (Pascanu et al. 2013): classify the
 *                   order (XX, XY, YX, YY) of two marked symbols among distractors; baseline ln 4
 *   text            next character of a UTF-8 text (95% train, 5% validation)
 *   mackey-glass    one-step prediction of the Mackey-Glass series (tau = 17; RK4 with h = 1,
 *                   ReservoirPy's recipe), input x_t, target x_{t+1}; MSE on every step
 *   narma10         the 10th-order NARMA system (Atiya & Parlos 2000): input u_t ~ U[0, 0.5),
 *                   target y_{t+1}; MSE on every step
 * (the last two have no memoryless baseline: NaN; their NRMSE is 1 for the target's mean)
 * and a user's data, read from files (rl_task_from_config; docs/files.md):
 *   data            sequences x (N, T, I) with targets y (N, T, O) float, (N, T) class ids,
 *                   (N, O) float or (N,) class ids (at each sequence's last counted step),
 *                   optional mask and lengths; or windows of a CSV series; the baseline is
 *                   the training targets' mean (MSE) or their classes' frequencies (CE)
 *   smnist          sequential MNIST (Le et al. 2015): each image one pixel a step in [0, 1],
 *                   the class at the last step, from the four standard IDX files
 *   psmnist         the same with the pixels in one fixed permutation (its seed: perm_seed) */
typedef enum {
    RL_TASK_ADDING = 0,
    RL_TASK_ADDING_HS97,
    RL_TASK_COPY,
    RL_TASK_TEMPORAL_ORDER,
    RL_TASK_TEXT,
    RL_TASK_MACKEY_GLASS,
    RL_TASK_NARMA10,
    RL_TASK_DATA,
    RL_TASK_SMNIST,
    RL_TASK_PSMNIST,
    RL_TASK_COUNT
} rl_task_kind;
const char *rl_task_name(rl_task_kind k);
rl_status rl_task_parse(const char *name, rl_task_kind *out);

typedef struct rl_task rl_task;
typedef struct {
    rl_task_kind kind;
    int seq_len;       /* the T asked for */
    int steps;         /* steps in a batch: T, T + T/10 (adding-hs97), T + 20 (copy) */
    int input_size, output_size;
    rl_loss loss;
    double baseline;   /* the loss of the memoryless baseline; NaN for text */
    const char *vocab; /* text: the characters as UTF-8, class i = i-th code point; else NULL */
    int64_t train_len, val_len; /* text: characters in each split; data, smnist, psmnist: sequences
                                   (CSV: windows) training draws from, and scored in validation */
    int64_t text_bytes;         /* text: the file's size in bytes, and its 64-bit FNV-1a hash: */
    uint64_t text_hash;         /* what a run records to know its text again (else 0) */
    double baseline_accuracy;   /* data, smnist, psmnist with class ids: the accuracy of always
                                   answering the majority training class; else NaN */
} rl_task_info;

/* The task a model was trained on and its sequence length T: rnnlab train
 * records them in the model file (metadata task, seq_len), and the commands
 * take them as their defaults. rl_model_task returns T and sets *kind, or
 * returns 0 when the model records no task (made by rnnlab init, or by a
 * version that did not record one, or naming a task this version does not
 * know). rl_model_set_task: RL_ERR_ARG unless 1 <= seq_len <= RL_MAX_SEQ_LEN;
 * seq_len 0 forgets the task. */
int rl_model_task(const rl_model *m, rl_task_kind *kind);
rl_status rl_model_set_task(rl_model *m, rl_task_kind kind, int seq_len);

/* seq_len >= 2 (copy >= 1, temporal-order >= 20); text_path only for text (NULL: the built-in
 * corpus, the opening of Pride and Prejudice; see data/README.md). The tasks of a user's data
 * (data, smnist, psmnist) are made by rl_task_from_config. */
rl_status rl_task_new(rl_task **out, rl_task_kind kind, int seq_len, const char *text_path);
void rl_task_free(rl_task *t);
rl_task_info rl_task_get_info(const rl_task *t);
/* A data object whose batch holds B sequences of the task, float32. */
rl_status rl_task_data_new(rl_data **out, const rl_task *t, int batch);
/* Fill d with fresh sequences drawn from rng. For text, pos (B) holds each
 * stream's offset into the split (split 0 train, 1 validation) and advances by
 * T, wrapping around. */
rl_status rl_task_fill(const rl_task *t, rl_data *d, rl_rng *rng, int split, int64_t *pos);

/* Accumulated scores over batches (rl_task_score adds a batch). */
typedef struct {
    double loss_sum, weight_sum; /* sum of batch losses times their weight, and the weights */
    double sq_err, n_err;        /* squared errors (MSE tasks) */
    double correct, n_items;     /* correct items: hs97 |err| < 0.04, copy the 10 recalled
                                    symbols, temporal-order the class, text next character */
    double y_sum, y_sq;          /* MSE tasks: sums of the scored targets and of their squares, so
                                    that NRMSE = sqrt(mse / var(y)), var(y) = y_sq/n - (y_sum/n)^2 */
} rl_score;
rl_status rl_task_score(const rl_task *t, const rl_batch *b, const rl_ws *ws, double loss, rl_score *sc);
/* The normalised root-mean-square error of an MSE score: sqrt(mse / var(y)),
 * the variance of the scored targets (population); 1 for always predicting
 * their mean. NaN without MSE scores or when the targets do not vary. */
double rl_score_nrmse(const rl_score *sc);
/* Whether scores sc solve the task: adding, val MSE < 0.01; adding-hs97,
 * copy and temporal-order, at least 99% of the items right (the recalled
 * symbols for copy, |error| < 0.04 for adding-hs97); tasks without such a
 * criterion (text, mackey-glass, narma10) are never solved. rl_task_solved_rule
 * says it in words (NULL for those). */
int rl_task_solved(const rl_task *t, const rl_score *sc);
const char *rl_task_solved_rule(rl_task_kind k);

/* Class ids of a UTF-8 text under a character model's vocabulary (*n gets
 * the count, at most max); RL_ERR_ARG naming the first character not in it. */
rl_status rl_vocab_encode(const rl_model *m, const char *text, int32_t *ids, size_t max, size_t *n);
/* The UTF-8 bytes of class id, NUL-terminated. */
rl_status rl_vocab_char(const rl_model *m, int32_t id, char out[5]);
/* Text from a character model: it reads prime, then draws each of `length`
 * characters from softmax(o / temperature) over the top_k most likely (0:
 * all) and reads it back; emit gets the prime, once it is known to be in
 * the vocabulary, then each drawn character (UTF-8), and may stop the run by
 * returning an error. Deterministic for a seed. */
rl_status rl_sample(const rl_model *m, const char *prime, int64_t length, double temperature, int top_k, uint64_t seed,
                    rl_status (*emit)(const char *utf8, void *ctx), void *ctx);

/* ---------------------------------------------------------------- readouts */

/* How rnnlab train fits a model: BPTT on every parameter, or, for an echo
 * state network (Jaeger 2001; Deep Learning sec. 10.8), the recurrence left
 * as initialised and the head fitted by ridge regression. */
typedef enum { RL_READOUT_BPTT = 0, RL_READOUT_RIDGE, RL_READOUT_COUNT } rl_readout;
/* "bptt", "ridge"; NULL out of range. */
const char *rl_readout_name(rl_readout k);
rl_status rl_readout_parse(const char *name, rl_readout *out);

typedef struct {
    int64_t rows;        /* the (b, t) fitted: t >= washout and a positive mask */
    double train_mse;    /* the MSE loss of the fitted head on those rows (mask-weighted) */
    double target_var;   /* the mask-weighted variance of their targets (all outputs pooled) */
    double rcond;        /* reciprocal condition number (1-norm estimate) of X^T X + beta D */
    double weight_norm;  /* Frobenius norm of the fitted head.weight */
} rl_ridge_info;

/* Fit the head of an MSE model by ridge regression on the states of one
 * forward pass over b (in b's dtype; the model is cast to it): with x_bt the
 * top layer's state after step t of sequence b, for every t >= washout with
 * mask m_bt > 0, (head.weight, head.bias) minimise
 *   sum_{b,t} m_bt ||y_bt - W x_bt - c||^2 + ridge ||W||_F^2
 * (the bias c is not penalised): the normal equations
 *   (X^T M X + ridge D) [W c]^T = X^T M Y,  X = [x_bt 1], D = diag(1, ..., 1, 0),
 * accumulated and solved in float64 with LAPACK (Cholesky, dpotrf/dpotrs:
 * one factorisation for all O outputs). Writes head.weight and head.bias in
 * the model's dtype; nothing else changes. info may be NULL. RL_ERR_ARG for
 * a cross-entropy model, ridge < 0, washout outside [0, steps), or no row
 * to fit; RL_ERR_LAPACK when the system is singular to working precision
 * (reciprocal condition number below DBL_EPSILON: ridge 0 on collinear
 * states, or fewer rows than H + 1); the head is then untouched. */
rl_status rl_ridge_readout(rl_model *m, const rl_batch *b, int washout, double ridge, rl_ridge_info *info);

/* ---------------------------------------------------------------- training */

typedef struct {
    rl_task_kind task;
    int seq_len;            /* T; for text the BPTT window k2 */
    const char *text_path;  /* text: NULL for the built-in corpus */
    int k1;                 /* text: steps between updates (truncated BPTT(k1, k2 = seq_len)); 0 = seq_len */
    rl_cell cell;
    int hidden, layers;
    int state_size;         /* lru: complex state units per layer (rl_config.state_size); 0 = hidden */
    rl_act activation;      /* lru: its output's nonlinearity (rl_config.activation) */
    rl_init init;
    rl_readout readout;     /* bptt: train every parameter; ridge: fit the head alone, in one solve */
    double ridge;           /* ridge: the penalty beta on head.weight (not on head.bias), >= 0 */
    int washout;            /* ridge: steps of each sequence not fitted (nor scored in validation) */
    int batch;
    int64_t steps;          /* updates */
    rl_optim_config optim;
    rl_schedule sched;
    double clip;            /* global-norm clipping threshold; 0 = off (the norm is still logged) */
    double clip_value;      /* elementwise clipping; 0 = off */
    double clip_message;    /* BPTT message clip (rl_ws_set_clip_message); 0 = off */
    double dropout;         /* between layers */
    uint64_t seed;
    int64_t log_every;      /* metrics.jsonl line every this many steps */
    int64_t eval_every;     /* validation every this many steps (0 = at the end only) */
    int eval_batches;
    int64_t flow_every;     /* flow.jsonl record every this many steps (0 = off) */
    int64_t ckpt_every;     /* checkpoint every this many steps (0 = at the end only) */
    int skip_nonfinite;     /* 1: skip a batch whose loss or gradient is not finite; 0: stop */
    int64_t inject_nan_at;  /* fault injection for tests: make this step's gradient NaN (0 = off) */
    int stop_when_solved;   /* 1: stop at the first validation that solves the task (rl_task_solved) */
    double time_limit;      /* stop once this many seconds of training have passed, summed over resumes (the
                               checkpoint's train.seconds), with a last validation, checkpoint and model; 0 = none */
    int save_init;          /* 1: write the model before training to RUN/init.safetensors */
    rl_orth orthogonal;     /* W_hh = B map(A) (rl_model_new_orth): tanh, relu, linear, leaky, modrelu */
    double orthogonal_lr;   /* the learning rate of X, scaled by the schedule as sched.lr is; 0 = sched.lr */
    int block_sum;          /* 1: the batch's gradient is the sum, in order, of the gradients of its blocks of
                               RL_BLOCK_SEQS sequences, each computed alone: what N processes compute (rl_shard);
                               refused with omega or floss (rl_train_config_check) */
    /* the regularisers on the Jacobians (docs/training.md) */
    double omega;              /* Pascanu et al.'s Omega: each step's gradient is that of L + omega Omega (0 = off) */
    rl_omega_form omega_form;
    int floss;                 /* gradient flossing of the top floss exponents (0 = off): floss_steps updates of
                                  F alone, by an Adam of its own, before training, and after every floss_every
                                  training steps (0: before only), at most floss_episodes times (0: no limit) */
    int64_t floss_steps, floss_every;
    int floss_episodes;
    double floss_target;       /* lambda* */
    double floss_lr;           /* the flossing Adam's rate (0 = sched.lr) */
    int floss_batch;           /* sequences per flossing update */
    /* a user's data (tasks data, smnist, psmnist; docs/training.md), read from text_path */
    const char *valid_path;    /* data: the validation sequences, a file of its own (NULL: held out of text_path) */
    double valid_split;        /* the fraction held out at the end for validation; 0: a file's last 10%,
                                  MNIST's test files, a CSV series' 15% after its first 70% */
    double test_split;         /* CSV: the fraction at the end kept for a test (rnnlab eval); 0: 15% */
    int loss;                  /* 0: from the targets (class ids: cross-entropy, else MSE); 1 + an rl_loss */
    const char *inputs;        /* CSV: the input columns (NULL: the targets) */
    const char *targets;       /* CSV: the target columns */
    int window, horizon;       /* CSV: T rows a window; each step's target is K = horizon rows later */
    uint64_t perm_seed;        /* psmnist: the seed of the pixels' permutation */
    const char *init_from;     /* a model file whose weights start the run (rl_model_load_weights), after the init;
                                  the optimiser starts afresh. NULL: the init alone */
    int recipe;                /* 0: none; else 1 + a recipe's index (rl_recipe_at): its settings were applied
                                  when the field was set (rl_option_parse, JSON), then the later rows' */
    const char *freeze;        /* tensors that training leaves as they start (the init, or init_from): names,
                                  comma-separated, each whole or a prefix ending in '*'; each must name one at
                                  least, and one trained tensor must be left. NULL: none */
} rl_train_config;

/* Defaults: adding, T 100, tanh, 128 units, 1 layer, batch 50, 1000 steps,
 * adam 1e-3, clip 1, log every 10, eval every 200 over 10 batches, flow every
 * 100, checkpoint every 200. */
rl_train_config rl_train_defaults(void);
/* The defaults in a new allocation (NULL when out of memory), freed with
 * rl_train_config_free: for bindings (Python's ctypes) that set the fields
 * through the table below (rl_option) and so need not know the struct's
 * layout, which grows with the table. */
rl_train_config *rl_train_config_new(void);
void rl_train_config_free(rl_train_config *c);

/* The options of every command as one table, a row per option: its key,
 * flag, type, range, choices, help, the commands that take it and the field
 * its value fills. The library holds the rows that fill rl_train_config:
 * the fields of a training run, which are the options of rnnlab train and
 * also those of the other commands that mean the same (--cell, --hidden,
 * --init, --gain, --seed, --batch, ...); config.json, a checkpoint's
 * train_config, the keyword arguments of Python's rnnlab.train and the
 * table in docs/training.md are made from them. The rnnlab program adds the
 * rows of its own (files, flags, the analysis commands' settings), and its
 * parsing, --help, man pages, range errors and sweeps are loops over both
 * (docs/design.md). A checkpoint whose train_config lacks a key resumes
 * with the key's default; a key the table does not know is refused. */
typedef enum {
    RL_FIELD_INT,    /* int; JSON a number */
    RL_FIELD_INT64,  /* int64_t; JSON a number */
    RL_FIELD_DOUBLE, /* double; JSON a number */
    RL_FIELD_BOOL,   /* int, 0 or 1; JSON 0 or 1 (true and false are read too) */
    RL_FIELD_ENUM,   /* an enum; JSON and the option: its name */
    RL_FIELD_PATH,   /* const char *, NULL when unset; JSON a string, absent when unset */
    RL_FIELD_SEED,   /* uint64_t; JSON a number below 2^53, a decimal string above (both are read) */
    RL_FIELD_RANGE,  /* double[2] a <= b, each in [lo, hi], or 0,0 (unset); JSON [a, b], the option "a,b" */
    RL_FIELD_TEXT    /* const char *, any text (a title, a list the command reads itself), NULL when unset */
} rl_field_type;

typedef struct {
    const char *name;         /* its key: in config.json and train_config ("seq_len"), Python's keyword */
    const char *flag;         /* the option, without "--": "seq-len" */
    const char *group;        /* its section of --help: task, model, initialisation, optimisation, ... */
    rl_field_type type;
    size_t offset;            /* where its value goes in the struct it fills: rl_train_config for the library's rows */
    double lo, hi;            /* INT, INT64, DOUBLE, RANGE: the values allowed */
    int num_choices;          /* ENUM, and a BOOL given by name: value i is rl_option_choice(o, i) */
    const char *arg;          /* the value's placeholder in --help ("N"); NULL: an option without value */
    const char *help;         /* one line */
    const char *default_text; /* shown instead of the default value where the value would mislead, else NULL */
    const char *commands;     /* the rnnlab commands that take it, separated by spaces: "train init gradcheck" */
    const rl_names *choices;  /* ENUM, and a BOOL given by name: the values' names; else NULL */
} rl_option;

/* The library's rows: those that fill rl_train_config, in the order of
 * config.json. Row i (0 <= i < rl_option_count()), or NULL. */
int rl_option_count(void);
const rl_option *rl_option_at(int i);
/* The library's row with this key, or NULL. */
const rl_option *rl_option_find(const char *name);
/* The name of choice i of an ENUM or named BOOL row; NULL out of range. */
const char *rl_option_choice(const rl_option *o, int i);
/* Nonzero when command is one of the words of o->commands. */
int rl_option_takes(const rl_option *o, const char *command);
/* Nonzero for the rows a resumed run may change (rl_resume_options.set:
 * the learning rate and its schedule, clipping, log_every, time_limit); the
 * rest of a run's configuration is its checkpoint's. */
int rl_option_resumable(const rl_option *o);
/* Set the field of row o in the struct at dst (rl_train_config for the
 * library's rows) from text as the command line gives it: a number in
 * [o->lo, o->hi], a choice's name, a path or a text (dst keeps the
 * pointer), "1" or "0" for a BOOL without value. Setting the optimizer resets
 * its other fields to that kind's defaults (rl_optim_defaults), so set it
 * first. RL_ERR_ARG with a message in terms of the option ("--lr = -1 is out
 * of range [1e-12, 1000]"); dst is then untouched. Any row, the program's
 * too, parses here. */
rl_status rl_option_parse(void *dst, const rl_option *o, const char *text);
/* The value of row o in the struct at src as text ("0.001", "adam", "" for
 * an unset path). */
void rl_option_format(const void *src, const rl_option *o, char *buf, size_t n);
/* Every field in its range, and the fields consistent with one another;
 * RL_ERR_ARG naming the first that is not. rl_trainer_new checks this. */
rl_status rl_train_config_check(const rl_train_config *c);

/* ---------------------------------------------------------------- recipes */

/* A paper's training settings as one named, checked thing (docs/training.md,
 * "Recipes"): the option recipe (rnnlab train --recipe NAME, Python's
 * rnnlab.train(recipe=NAME)) sets each setting of the recipe that holds for
 * the run's task and T when it is set; the options given besides it set
 * their own fields over the recipe's, wherever they stand on the command
 * line, since every row a recipe sets comes after its row in the option
 * table, and the command line, Python and the JSON files set rows in the
 * table's order. A run with a recipe writes RUN/recipe.json: each setting,
 * the value used and its source. */
typedef struct {
    const char *key;    /* the option it sets (rl_option.name): "lr" */
    const char *tasks;  /* the tasks it is for, space-separated ("copy"); NULL: every task */
    int min_len;        /* for T >= min_len only; 0: any T */
    const char *value;  /* as the command line takes it, or one of T, 3T/2, 2^(1/T), 2^(-1/T) */
    const char *source; /* where it was read: [P] paper, [C] the authors' code, [S] another's, [D] derived */
} rl_recipe_setting;

typedef struct {
    const char *name;  /* "indrnn" */
    const char *paper; /* authors, year, title, venue */
    const char *code;  /* the reference code (repository@commit, files), or why there is none */
    const char *gaps;  /* where rnnlab cannot follow it, and what it does instead */
    int num_settings;
    const rl_recipe_setting *settings; /* (num_settings); of one key, the last that holds wins */
} rl_recipe;

extern const rl_names rl_recipe_names; /* none, then the recipes in table order */
/* The recipes: i in [0, rl_recipe_count()), or NULL. rl_train_config.recipe
 * is 1 + i (0: none). */
int rl_recipe_count(void);
const rl_recipe *rl_recipe_at(int i);
/* Nonzero when setting s holds for task and T. */
int rl_recipe_setting_holds(const rl_recipe_setting *s, rl_task_kind task, int T);
/* s's value for T as text ("2^(-1/T)" at T = 100 is 0.99309...). */
void rl_recipe_value(const rl_recipe_setting *s, int T, char *buf, size_t n);
/* Set in c the settings of recipe i that hold for c->task and c->seq_len,
 * in the option table's order (the other fields keep their values).
 * RL_ERR_ARG naming the setting if one does not parse. */
rl_status rl_recipe_apply(rl_train_config *c, int i);
/* Recipe i is sound: each key an option of train other than recipe, each
 * with a source, and each setting parsing for every task at T = 1, 10, ...,
 * 100000. RL_ERR_ARG naming the first that is not. */
rl_status rl_recipe_check(int i);

typedef struct {
    int64_t step, total;
    double loss;        /* mean over the steps since the last report (ridge readout: the fit's MSE) */
    double grad_norm;   /* mean norm before clipping, same steps (NaN for a ridge readout) */
    double lr;          /* NaN for a ridge readout */
    double tokens_per_s;
    double elapsed_s;
    int64_t skipped;
    double val_loss;    /* the last validation loss (NaN before the first one) */
    int64_t val_step;   /* its step (0: none yet) */
    double baseline;    /* the task's baseline loss (NaN for text) */
} rl_progress;

typedef struct rl_trainer rl_trainer;
/* A new run in folder dir: created, or an existing folder that holds no run
 * and no files but a run's (RL_ERR_ARG otherwise: nothing is overwritten).
 * The trainer holds the folder's lock (dir/run.lock, rl_folder_lock) until
 * rl_trainer_free, and so does a resumed one: a second writer, in this
 * process or another, is refused with RL_ERR_IO naming the holder's pid. */
rl_status rl_trainer_new(rl_trainer **out, const rl_train_config *cfg, const char *dir);
/* Continue the run in dir from its checkpoint; steps > 0 replaces the total
 * (RL_ERR_ARG if the run is already past it). */
rl_status rl_trainer_resume(rl_trainer **out, const char *dir, int64_t steps);
/* rl_trainer_resume with options. text_path (not NULL): where the text of a
 * text run is now, when it has moved; it must be the text the run was
 * trained on, by the size and hash the checkpoint records (RL_ERR_ARG
 * otherwise), and the run records the new path from then on. For a run of
 * a user's data (data, smnist, psmnist), where its --data is now (checked
 * as at the start, and against the model's sizes; not by a hash). */
typedef struct {
    int64_t steps;         /* > 0: the new total */
    const char *text_path; /* NULL: the path the run recorded */
    const struct rl_shard *shard; /* NULL: one process; else as for rl_trainer_new_ex */
    /* nset settings changed from the checkpoint's, "key=value" (the option
     * table's keys and texts): lr, schedule, warmup, step_size, gamma,
     * min_lr, decay_steps, clip, clip_value, log_every, time_limit; others
     * RL_ERR_ARG.
     * Those that differ are the run's config history: a line {"step": N,
     * "config_changed": {"lr": ["0.001", "0.0005"], ...}} of metrics.jsonl,
     * config.json rewritten, and a checkpoint at step N that holds them. A
     * schedule changed to cosine without decay_steps decays over the steps. */
    const char *const *set;
    int nset;
} rl_resume_options;
rl_status rl_trainer_resume_ex(rl_trainer **out, const char *dir, const rl_resume_options *o);
/* A hook on every training step, called after the backward pass and before
 * clipping and the optimizer's update. ws holds the batch's activations and
 * dL/dtheta (rl_ws_grad, the model's layout and dtype), which the hook may
 * change (add a regulariser's gradient, average it over processes), and m
 * the parameters before the update; *loss is the batch's loss, which it may
 * change too (the value logged). A status other than RL_OK ends the step as
 * a failed backward pass would: RL_ERR_NONFINITE is a non-finite step
 * (stopped, or skipped with skip_nonfinite), anything else stops the run
 * with the hook's message. Hooks are not saved in checkpoints: set it again
 * after rl_trainer_resume. With block_sum the hook runs on every process
 * after the blocks' gradients are summed: rl_ws_grad(ws) holds the batch's
 * gradient, the same everywhere, but ws does not hold the batch's
 * activations (each block ran in a workspace of its own). The gradient of
 * the tensors of --freeze (rl_train_config.freeze) is set to 0 after the
 * hook, whatever it wrote there. */
typedef rl_status (*rl_step_hook)(void *ctx, rl_trainer *t, rl_model *m, rl_ws *ws, const rl_batch *b, double *loss);
/* Set (fn NULL: remove) the step hook; ctx is passed to it. */
void rl_trainer_set_hook(rl_trainer *t, rl_step_hook fn, void *ctx);
/* Train until the total number of steps, or until *stop becomes nonzero (then
 * a checkpoint is written and RL_OK returned with *interrupted set). progress
 * (may be NULL) is called after every step. A non-finite loss or gradient
 * stops with RL_ERR_NONFINITE naming the step, leaving the last checkpoint
 * as it was (unless skip_nonfinite). */
rl_status rl_trainer_run(rl_trainer *t, volatile int *stop, int *interrupted,
                         void (*progress)(const rl_progress *, void *), void *ctx);
/* The last validation of this trainer (since it was made or resumed) into
 * *sc; its step, or 0 when there has been none. */
int64_t rl_trainer_last_eval(const rl_trainer *t, rl_score *sc);
/* The task the trainer trains on (baseline, vocabulary, sizes). */
rl_task_info rl_trainer_task_info(const rl_trainer *t);
const rl_model *rl_trainer_model(const rl_trainer *t);
rl_train_config rl_trainer_config(const rl_trainer *t);
int64_t rl_trainer_step(const rl_trainer *t);
/* The step whose validation solved the task (rl_task_solved), 0 if none has. */
int64_t rl_trainer_solved_step(const rl_trainer *t);
/* The step at which the configuration's time_limit stopped the run (its
 * last validation, flow record and checkpoint written), 0 if it did not. */
int64_t rl_trainer_timed_out(const rl_trainer *t);
/* The seconds of training of the run so far, over all its segments (the
 * checkpoint's train.seconds, plus this segment's). */
double rl_trainer_seconds(const rl_trainer *t);
void rl_trainer_free(rl_trainer *t);

/* ---------------------------------------------------------------- data parallelism */

/* Sequences per block. With block_sum a batch of B sequences is cut into
 * ceil(B / RL_BLOCK_SEQS) blocks of consecutive sequences (the last one
 * shorter when B is not a multiple); each block's forward and backward pass
 * runs alone, with the loss weights m / S of the whole batch (S its mask
 * sum), and the batch's gradient is ((0 + g_0) + g_1) + ... in block order,
 * in float32. The numbers then depend on B alone: not on the threads, and
 * not on how many processes share the blocks (docs/scaling.md). */
#define RL_BLOCK_SEQS 16

/* What one process computed of a batch: blocks [first, first + count) of
 * `total`. grad[i] (n floats, the model's layout) is block first + i's
 * gradient, weighted already (their sum in block order is the batch's
 * gradient); loss[i] its part of the batch's loss (likewise); status[i]
 * RL_OK or why the block failed (RL_ERR_NONFINITE: a loss that is not finite). */
typedef struct {
    int first, count, total;
    size_t n;
    float *const *grad;
    const double *loss;
    const rl_status *status;
} rl_block_grads;

/* The processes that share a run, for rl_trainer_new_ex and resuming: the
 * program supplies them (the library knows nothing of MPI). Rank 0 writes
 * the run folder (records, validation, checkpoints); every rank keeps the
 * whole model and takes the same update. The blocks are shared out in
 * contiguous ranges, rl_shard_blocks. */
typedef struct rl_shard {
    int rank, size;
    void *ctx;
    /* Called by every rank once a step with its own blocks g: sum (g->n
     * floats) must become, on every rank, ((0 + g_0) + g_1) + ... over all
     * blocks of all ranks in block order (float32 adds, element by element),
     * *loss the sum of the blocks' losses in block order (double), *status
     * the status of the first block in order that failed (RL_OK if none).
     * A status returned ends the run (a failed exchange). */
    rl_status (*reduce)(void *ctx, const rl_block_grads *g, float *sum, double *loss, rl_status *status);
    /* Called by every rank before rank 0 writes a checkpoint: buf holds
     * rank r's part (part_bytes[r] bytes, after the parts of the ranks
     * before it); on return rank 0 must hold every part (the others may be
     * left as they are). */
    rl_status (*gather)(void *ctx, void *buf, const size_t *part_bytes);
} rl_shard;

/* The blocks [*first, *first + *count) of a batch of B sequences that rank
 * `rank` of `size` computes; *total the blocks in all. */
void rl_shard_blocks(int B, int rank, int size, int *first, int *count, int *total);
/* One process's reduce: sum = ((0 + g_0) + g_1) + ..., *loss and *status
 * likewise (g->count == g->total). */
void rl_block_sum(const rl_block_grads *g, float *sum, double *loss, rl_status *status);
/* rl_trainer_new for rank shard->rank of shard->size processes (shard NULL:
 * one). Ranks other than 0 create and write nothing. More than one process
 * needs cfg->block_sum and at most as many ranks as the batch has blocks
 * (RL_ERR_ARG otherwise). */
rl_status rl_trainer_new_ex(rl_trainer **out, const rl_train_config *cfg, const char *dir, const rl_shard *shard);

/* The task that c describes: rl_task_new(c->task, c->seq_len, c->text_path) for the
 * generated tasks and text; for data, smnist and psmnist the data read from
 * c->text_path and split as c says (valid_path, valid_split, test_split), its T
 * and sizes from the data (c->seq_len is not used). for_test 0: validation
 * scores the held-out part, as in training; 1: a test (rnnlab eval) scores a file
 * of sequences whole (its last valid_split when that is set), MNIST's test files
 * (the training images' last valid_split when set), a CSV series' last part. m
 * (or NULL): the model a test is for, whose classes the class ids must fall in.
 * One message naming the file, the array and the defect for a malformed input. */
rl_status rl_task_from_config(rl_task **out, const rl_train_config *c, int for_test, const rl_model *m);

/* The task rows of c as the model records them: task and seq_len, and, for a
 * run that read a file (text, data, smnist, psmnist), text_path and the
 * options of its data that were not their defaults (valid_path, valid_split,
 * test_split, loss, inputs, targets, window, horizon, perm_seed: metadata
 * task_options, from rnnlab train, docs/files.md). c's strings then point
 * into m. A model that records no task leaves c as it is. RL_ERR_FORMAT
 * when the record does not parse. */
rl_status rl_model_task_config(const rl_model *m, rl_train_config *c);

/* Validation of m on task: `batches` batches of B fresh sequences drawn from
 * seed (text: the validation split as B streams with the state carried, at
 * most `batches` windows; data, smnist, psmnist: the scored sequences in order,
 * at most `batches` batches; batches <= 0: all of them). */
rl_status rl_evaluate(const rl_model *m, const rl_task *task, int batch, int batches, uint64_t seed, rl_score *sc);
/* The same, with the first `washout` steps of every sequence neither scored
 * nor in the loss (an echo state network's reservoir forgetting its zero
 * initial state); RL_ERR_ARG unless 0 <= washout < the task's steps. */
rl_status rl_evaluate_washout(const rl_model *m, const rl_task *task, int batch, int batches, uint64_t seed, int washout,
                              rl_score *sc);

/* ---------------------------------------------------------------- system */

/* The BLAS kernel check. Debian 12's OpenBLAS 0.3.21 (built with DYNAMIC_ARCH,
 * choosing its kernels when it loads) does not recognise recent Intel CPUs
 * and falls back to its SSE3 "Prescott" kernels, about 10x slower on large
 * sgemm than the AVX-512 ones the CPU runs. When rnnlab loads (before main)
 * it compares the kernel OpenBLAS chose with the best one this CPU's
 * features (cpuid) allow and, if OpenBLAS's is weaker and OPENBLAS_CORETYPE
 * is not set, switches OpenBLAS to the better one. A user's OPENBLAS_CORETYPE
 * is always respected; when it names a weaker kernel (or one this CPU cannot
 * run) the check records a one-line warning. docs/performance.md says more. */
typedef enum {
    RL_BLAS_OTHER = 0, /* not OpenBLAS (or its functions not found): nothing checked */
    RL_BLAS_FIXED,     /* OpenBLAS built for one CPU (no DYNAMIC_ARCH): nothing to switch */
    RL_BLAS_KEPT,      /* OpenBLAS's kernel is as good as the best this CPU runs */
    RL_BLAS_SWITCHED,  /* rnnlab switched OpenBLAS to kernel_target */
    RL_BLAS_USER,      /* OPENBLAS_CORETYPE was set: left as the user chose */
    RL_BLAS_FAILED,    /* a switch was due but could not be made (see warning) */
    RL_BLAS_ACTION_COUNT
} rl_blas_action;

/* What the kernel check found (rl_sysinfo.kernel_check). */
typedef enum {
    RL_KCHECK_PASSED = 0, /* the running kernel computed sgemm and dgemm right */
    RL_KCHECK_FELL_BACK,  /* it did not: rnnlab switched to the next safer kernel, which did */
    RL_KCHECK_FAILED,     /* it did not, and no kernel rnnlab could switch to did (see warning) */
    RL_KCHECK_COUNT
} rl_kernel_check;

/* "passed", "fell back", "failed"; NULL if out of range. */
const char *rl_kernel_check_name(rl_kernel_check k);

/* CPU features, as bits of rl_sysinfo.cpu_features. Each means the CPU has it
 * and the operating system saves its registers. */
typedef enum {
    RL_CPU_AVX = 1 << 0,
    RL_CPU_AVX2 = 1 << 1,
    RL_CPU_FMA = 1 << 2,
    RL_CPU_AVX512F = 1 << 3,
    RL_CPU_AVX512BW = 1 << 4,
    RL_CPU_AVX512DQ = 1 << 5,
    RL_CPU_AVX512VL = 1 << 6,
    RL_CPU_AVX512BF16 = 1 << 7,
    RL_CPU_AMX = 1 << 8, /* AMX-TILE and AMX-BF16, with the tile state enabled by the OS */
    RL_CPU_FEATURE_COUNT = 9
} rl_cpu_feature;

typedef struct {
    /* the BLAS library that provides cblas_sgemm */
    rl_blas_action blas_action;
    char blas_name[16];       /* "OpenBLAS", or "other" */
    char blas_version[16];    /* "0.3.21", or "" when not known */
    char blas_config[160];    /* openblas_get_config() after the check, or "" */
    char blas_path[256];      /* the file that holds cblas_sgemm (the program itself when linked in statically) */
    int blas_threads;         /* OpenBLAS's own thread count (openblas_get_num_threads), 0 if not OpenBLAS */
    char kernel_before[32];   /* openblas_get_corename() when rnnlab loaded, "" if not OpenBLAS */
    char kernel_after[32];    /* the same after the check */
    char kernel_target[32];   /* the best kernel this CPU runs ("SkylakeX", "Haswell", "Sandybridge"), or "" */
    char coretype_env[32];    /* OPENBLAS_CORETYPE as the user set it, "" when unset */
    char warning[320];        /* one line (no newline) when something needs the user's attention, else "" */
    /* the kernel check: sgemm and dgemm of the running kernel against plain
     * loops, once per process; a kernel that disagrees beyond rounding is
     * replaced by the next safer one (fell_back) */
    rl_kernel_check kernel_check;
    char kernel_failed[96];   /* the kernels that failed the check, comma-separated, "" if none */
    char kernel_detail[160];  /* the first disagreement found ("sgemm 67x45x129 NT: C[3,7] = 12.5, want 1.25"), or "" */
    double check_ms;          /* wall time of the check in milliseconds (all kernels tried) */
    /* the CPU */
    char cpu_vendor[16];      /* "GenuineIntel", "AuthenticAMD", "" when unknown */
    char cpu_model_name[64];  /* cpuid's brand string, or /proc/cpuinfo's "model name" */
    char cpu_arch[32];        /* the microarchitecture from vendor, family and model ("Zen 5", "Sapphire Rapids"),
                                 for the reader only: kernels are chosen from cpu_features; "" when unknown */
    int cpu_family, cpu_model, cpu_stepping; /* cpuid leaf 1 (display family and model); -1 when unknown */
    unsigned cpu_features;    /* RL_CPU_* bits */
    int cores_online;         /* sysconf(_SC_NPROCESSORS_ONLN) */
    int cores_allowed;        /* CPUs in this process's affinity mask */
    int threads;              /* rl_get_num_threads() */
    char step_kernel[32];     /* rnnlab's float32 recurrent step kernel: "avx512 8x48", "avx2 4x24",
                                 "none (OpenBLAS)" */
} rl_sysinfo;

/* The BLAS library, its kernel before and after rnnlab's check, the CPU and
 * the thread counts. Runs the check if it has not run yet (it runs once). */
rl_sysinfo rl_system_info(void);
/* The same as one line of JSON (the object `rnnlab info --json` prints:
 * version, blas, cpu, threads, step_kernel), malloc'ed: free it with
 * rl_free. NULL when out of memory. */
char *rl_system_info_json(void);
/* free() for the strings the library returns (rl_system_info_json). */
void rl_free(void *p);
/* "other", "fixed", "kept", "switched", "user", "failed"; NULL if out of range. */
const char *rl_blas_action_name(rl_blas_action a);
/* "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl",
 * "avx512_bf16", "amx" for the bits 1 << 0 .. 1 << 8; NULL for others. */
const char *rl_cpu_feature_name(rl_cpu_feature f);

/* ---------------------------------------------------------------- memory */

/* What this process may still allocate: the least of the memory available
 * (MemAvailable of /proc/meminfo), the address-space limit (RLIMIT_AS,
 * `ulimit -v`) less what the process maps already, the cgroup's memory
 * limit less its use (v2 memory.max, v1 memory.limit_in_bytes, of the
 * process's cgroup and its parents), and RNNLAB_MEMORY_LIMIT (bytes, or with
 * a K, M, G or T suffix: powers of 1024) less what rnnlab holds. what names
 * the one that sets it ("the memory available (MemAvailable)"). Linux
 * overcommits: an allocation beyond it succeeds, and the kernel kills the
 * process when the pages are touched, which is why it is read and not
 * probed. */
typedef struct {
    double bytes; /* INFINITY when nothing says */
    char what[64];
} rl_mem_limit;
rl_mem_limit rl_memory_limit(void);
/* RL_ERR_NOMEM with one line, "WHAT needs about 95.4 GiB of memory; the
 * memory available (MemAvailable) leaves 21.3 GiB", when bytes exceed
 * rl_memory_limit(); RL_OK otherwise, and always below 64 MiB unless
 * RNNLAB_MEMORY_LIMIT is set. The library checks its large objects with it
 * before it allocates them (rl_model_new, rl_ws_new, rl_task_data_new,
 * rl_jac_new, rl_lyapunov, rl_trainer_new: the whole run's peak); a program
 * checks what it adds of its own. */
rl_status rl_memory_check(double bytes, const char *what);
/* bytes in words: "12.3 GiB", "512 MiB", "100 bytes". */
void rl_format_bytes(double bytes, char *buf, size_t n);

/* What the library's objects allocate, in bytes, from their sizes alone (0
 * for sizes that are not valid; INFINITY past size_t), as they allocate it:
 * tests/test_memory.c holds each to what is allocated. A model: */
double rl_model_bytes(const rl_config *c, rl_orth orth, rl_dtype dtype);
/* a workspace for batches of B sequences of T steps (rl_ws_new): */
double rl_ws_bytes(const rl_config *c, rl_orth orth, rl_dtype dtype, int batch, int steps);
/* a batch of B sequences of T steps as rl_task_data_new makes it (float32 x,
 * targets, mask): */
double rl_batch_bytes(const rl_config *c, int batch, int steps);
/* rl_jac_new on a sequence of T steps and rl_jac_lags after it: */
double rl_jac_bytes(const rl_config *c, rl_orth orth, int steps);
/* rl_lyapunov with cfg (on rl_get_num_threads() threads): */
double rl_lyapunov_bytes(const rl_config *c, rl_orth orth, const rl_lyap_config *cfg);

/* The cost of a training run before it runs (rnnlab train --dry-run). */
typedef struct {
    double bytes;        /* the peak: what rl_trainer_new and rl_trainer_run allocate at most */
    double ws_bytes;     /* of which the training workspace (batch, T) */
    double params;       /* the model's parameters */
    double step_seconds; /* one training step, timed (time_it), else NaN */
    double seconds;      /* the run: its steps, validations and flow records, from the timing, else NaN */
} rl_train_cost;
/* The cost of the run c describes (its task is read for its sizes: a
 * user's data is loaded). time_it: also time one training step (two
 * forward and backward passes on a smaller batch, scaled) and the run from
 * it. RL_ERR_ARG for a configuration rl_trainer_new refuses for its options;
 * a run that does not fit in memory is not an error here (compare bytes
 * with rl_memory_limit), and nothing is timed then. */
rl_status rl_train_estimate(const rl_train_config *c, int time_it, rl_train_cost *out);
/* The seconds rl_jac_lags takes on a model of state size S over T steps,
 * with the spectral norm at norm_lags of the lags and the spectral radius at
 * radius_lags (the rest are a product each): LAPACK timed on one matrix
 * (at most 256 x 256, scaled by the cube of S). */
double rl_jac_seconds(int S, int T, int norm_lags, int radius_lags);

/* ---------------------------------------------------------------- checks */

/* Central finite differences (4-point stencil, step 1e-3) against BPTT in
 * float64 on every parameter and every element of h0 (and c0). Per element
 * the error is |a - n| / max(|a|, |n|, 1e-4); *worst gets the largest and
 * where (where_len bytes) the name of the tensor it came from. A ReLU net is
 * differentiated on the smooth piece its base point lies on (each unit held
 * on or off as at the base point), so that no difference straddles a kink.
 * m and b must be F64. */
rl_status rl_gradcheck(const rl_model *m, const rl_batch *b, double *worst, char *where, size_t where_len);

#ifdef __cplusplus
}
#endif
#endif
