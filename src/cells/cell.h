/* The cell table. Each kind of cell is one file (src/cell_*.c) that fills
 * one rl_cell_desc; everything else (the time loop, the workspace, the
 * model's tensors, the file loader, the Jacobians, the command line) asks
 * the table. A cell gives two pure step functions over one layer's buffers:
 *
 *   forward  step t: the step's pre-activations (input side, plus the
 *            recurrent product the time loop has added) -> the new state and
 *            the caches;
 *   backward step t: dL/ds_{t+1} -> dL/d(pre-activations) of the input and
 *            the hidden side, and the part of dL/ds_t that does not go
 *            through W_hh (LSTM's cell path, GRU's z h_{t-1}, a leaky unit's
 *            (1 - alpha) h_{t-1}).
 *
 * The backward step is linear in dL/ds_{t+1} and acts unit by unit, so it
 * is also where the step Jacobian comes from: seeded with ones on one state
 * component it gives, for every unit at once, the coefficients of
 *   J_t = sum_g diag(dz_g) W_hh[g] + diag(direct terms)
 * (src/jacobian.c). Each cell's derivatives are written once. */
#ifndef RL_CELL_H
#define RL_CELL_H

#include "base/internal.h"
#include "cells/recur.h"

/* A layer's parameter tensors by role: what each is to the time loop. An
 * orthogonal model (src/cells/orth.h) has RL_ORTH_X and RL_ORTH_BASE in
 * place of RL_W_HH. Tensors of one role follow each other in the buffer,
 * so that the time loop sees one block (rl_t gives the first). */
typedef enum {
    RL_W_IH = 0, /* the input side: rows W_ih (G*U), and for an output map D (H) */
    RL_W_HH,     /* R, the recurrence's own tensor (src/cells/recur.h) */
    RL_B_IH,
    RL_B_HH,
    RL_EXTRA,    /* the cell's own per-unit parameters */
    RL_ORTH_X,
    RL_ORTH_BASE,
    RL_W_OUT,    /* an output map's weights (lru: C_re, C_im) */
    RL_ROLE_COUNT
} rl_role;

/* A tensor's dimensions, in the units of a layer: the hidden units H (also
 * the layer's output), its input (the model's input for layer 0, H above),
 * the units N of a complex state (rl_config.state_size, lru), or none (a
 * vector). */
typedef enum { RL_DIM_NONE = 0, RL_DIM_HIDDEN, RL_DIM_INPUT, RL_DIM_STATE } rl_dim;

/* One parameter tensor of a layer: named fmt (a state_dict name, %d the
 * layer), of shape (mult * rows, cols), or (mult * rows) when cols is
 * RL_DIM_NONE; its default init is PyTorch's U(-1/sqrt(fan), 1/sqrt(fan))
 * (torch.nn.RNN's tensors: fan H; torch.nn.Linear's: its input). A cell
 * lists its tensors in buffer order (rl_cell_desc). */
typedef struct {
    const char *fmt;
    rl_role role;
    int mult;
    rl_dim rows, cols, fan;
} rl_param_spec;
#define RL_MAX_CELL_PARAMS 8

/* torch.nn.RNN/LSTM/GRU's layout for G gate blocks: G rows a unit of W_ih
 * and b_ih and of W_hh and b_hh, W_hh dense (G*H, H); and its four tensors */
#define RL_TORCH_GATES(G) .gates = (G), .hh_gates = (G), .recur = RL_RECUR_DENSE
#define RL_TORCH_PARAMS(G)                                                                                      \
    {"rnn.weight_ih_l%d", RL_W_IH, G, RL_DIM_HIDDEN, RL_DIM_INPUT, RL_DIM_HIDDEN},                            \
        {"rnn.weight_hh_l%d", RL_W_HH, G, RL_DIM_HIDDEN, RL_DIM_HIDDEN, RL_DIM_HIDDEN},                        \
        {"rnn.bias_ih_l%d", RL_B_IH, G, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN},                            \
        {"rnn.bias_hh_l%d", RL_B_HH, G, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN}

/* torch's RNN layout of one gate, one state, and after the four one tensor
 * (H) of the cell's own per layer, named fmt (leaky's rates, modrelu's
 * thresholds) */
#define RL_TORCH_UNIT_CELL(fmt)                                                                                 \
    RL_TORCH_GATES(1), RL_PARAMS(RL_TORCH_PARAMS(1), {fmt, RL_EXTRA, 1, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_HIDDEN}), \
        .states = 1, RL_GATES(-1, -1, -1)

/* the input side alone, for a cell without W_hh (minGRU, minLSTM): W_ih
 * (G*H, in) and b_ih (G*H), both of fan in (torch.nn.Linear's) */
#define RL_INPUT_PARAMS(G)                                                                                      \
    {"rnn.weight_ih_l%d", RL_W_IH, G, RL_DIM_HIDDEN, RL_DIM_INPUT, RL_DIM_INPUT},                             \
        {"rnn.bias_ih_l%d", RL_B_IH, G, RL_DIM_HIDDEN, RL_DIM_NONE, RL_DIM_INPUT}

/* A row's tensors, in buffer order, and their count (nparams) */
#define RL_PARAMS(...)                                                                                          \
    .nparams = (int)(sizeof((rl_param_spec[]){__VA_ARGS__}) / sizeof(rl_param_spec)), .params = {__VA_ARGS__}
/* A row's gates for --forget-bias and chrono (rl_cell_desc): a gate's index, or -1 for none (0 names gate 0) */
#define RL_GATES(forget, keep, write) .forget_gate = (forget), .keep_gate = (keep), .write_gate = (write)

/* One layer's buffers for one pass, in the real type R; t is the step,
 * 0..T-1, whose state is h[t+1]. */
#define RL_LAYER_STRUCT(R)                                                                                      \
    struct {                                                                                                    \
        int T, B, H, in;                                                                                        \
        int U, Z;       /* state units per component (H but for lru: 2N), input-side rows (G*U, + H for lru's D) */ \
        R *h;           /* (T+1, B, H) h[0] the initial state, h[t+1] the state after step t */                 \
        R *c;           /* (T+1, B, H) the second state component (LSTM's c), or NULL */                        \
        R *z;           /* (T, B, G*H) gate pre-activations in, activations out; NULL when the cell builds its  \
                           pre-activation in place of h[t+1] */                                                 \
        R *aux;         /* (T, B, aux*H) a cell's further cache (GRU: W_hn h_{t-1} + b_hn), or NULL */          \
        R *hw;          /* (B, Gh*H) the hidden side W_hh h_{t-1} + b_hh of one step (hh_apart), or NULL */    \
        const R *w_ih;  /* (G*H, in) */                                                                         \
        const R *w_hh;  /* (Gh*H, H), or (H) for a diagonal recurrence */                                      \
        const R *b_ih;  /* (G*H) */                                                                             \
        const R *b_hh;  /* (Gh*H) */                                                                            \
        const R *extra; /* (H) the cell's own per-unit parameters (leaky: theta), or NULL */                    \
        const R *der;   /* (U) what the cell derives from them once a pass (lru: gamma, per [Re; Im] row), or NULL */ \
        const R *w_out; /* an output map's weights (lru: C_re (H, N) then C_im (H, N)), or NULL */              \
        R *y, *ya;      /* (T, B, H) an output map's outputs and their pre-activations, or NULL */              \
        int act;        /* an output map's nonlinearity (rl_act) */                                             \
        const unsigned char *relu_on; /* (T, B, H) or NULL: units held on a piece: off (0), on with h > 0 (1), \
                                         on with h < 0 (2, modReLU) */                                          \
        /* backward */                                                                                          \
        R *dh;          /* (T, B, H) dL/dh[1..T]: from above on entry, complete after the time loop */          \
        R *dz;          /* (T, B, G*H) dL/d(input-side pre-activations) */                                      \
        R *dzh;         /* (T, B, Gh*H) dL/d(hidden-side pre-activations); == dz unless hh_apart */            \
        R clip;         /* > 0: each step's dz and dzh clamped to [-clip, clip] (the message clip) */           \
        R *dc;          /* (B, H) dL/dc carried back one step (two-state cells) */                              \
        R *dh0, *dc0;   /* (B, H) dL/ds[0] += */                                                                \
        /* injections (gradient flossing, src/train/floss.c), each NULL when there is none: added to a step's   \
         * dL/dz (inj_z, (T, B, G*H)) and dL/dzh (inj_zh, (T, B, Gh*H), hh_apart) after its backward step, and \
         * to dL/dc_{t+1} before step t's (inj_c: row (t, b) at inj_c + (t B + b) inj_cld, for t + 1 < T) */     \
        const R *inj_z, *inj_zh, *inj_c;                                                                       \
        size_t inj_cld;                                                                                         \
    }
typedef RL_LAYER_STRUCT(float) rl_layer_f32;
typedef RL_LAYER_STRUCT(double) rl_layer_f64;

/* The step functions of one real type. Pointers in bwd are sequence b's rows
 * at step t: dh (H) dL/dh_{t+1}; dc (H) dL/dc_{t+1} in, dL/dc_t out (NULL
 * for one-state cells); dz (G*H) and dzh (Gh*H, the same pointer unless
 * hh_apart) get the pre-activation gradients; dprev (H) += the direct part
 * of dL/dh_t. Both act on the units [j0, j1) only. extra_grad adds the
 * gradient of the cell's own parameters, read off the caches and the
 * complete dL/dh after the time loop.
 *
 * jac_vjp is the derivative of the step Jacobian's coefficients (the
 * second derivatives of the cell; docs/design.md, "Regularisers on the
 * Jacobians"). The coefficients of step t are the backward step seeded
 * with ones on state component r (0: h, 1: c), laid out per component as
 * one block of rl_coef_len(d, H) values:
 *   [dz (Z) | dzh (Gh*U), hh_apart only | direct h (U) | direct c (U), two-state only]
 * (without hh_apart, dz is also the hidden side's). Given kbar, the
 * cotangent of every coefficient of sequence b's step t (states blocks),
 * jac_vjp adds, for the units [j0, j1), the cotangents of what they are
 * made from: the input-side pre-activations (zbar, G*H: of the sum
 * W_ih x + b_ih + W_hh h + b_hh when the sides are not apart), the
 * hidden-side ones (zhbar, Gh*H, hh_apart only, else NULL), the previous
 * state (sbar: h (H), then c (H) for two-state cells) and the cell's own
 * parameter (dextra, H, or NULL). W_hh itself is not among them: J_t is
 * linear in it, and the caller takes that part. */
#define RL_CELL_OPS(R, suffix)                                                                                  \
    typedef struct {                                                                                            \
        void (*fwd)(const rl_layer_##suffix *ly, int t, int b, int j0, int j1);                                  \
        void (*bwd)(const rl_layer_##suffix *ly, int t, int b, int j0, int j1, const R *dh, R *dc, R *dz, R *dzh, \
                    R *dprev);                                                                                  \
        void (*extra_grad)(const rl_layer_##suffix *ly, R *dextra);                                             \
        void (*jac_vjp)(const rl_layer_##suffix *ly, int t, int b, int j0, int j1, const R *kbar, R *zbar,       \
                        R *zhbar, R *sbar, R *dextra);                                                          \
        /* a cell with an output map (out_map): after the time loop, y and ya from the states (T*B rows at     \
         * once); before the backward loop, from dy = dL/dy (T, B, H): dL/d(state) into dstate (T, B, U), the  \
         * map's weight gradient into dw_out and its share of the input side into ly->dz */                    \
        void (*out_fwd)(const rl_layer_##suffix *ly);                                                           \
        void (*out_bwd)(const rl_layer_##suffix *ly, const R *dy, R *dstate, R *dw_out);                      \
        /* a recurrence whose R the cell derives from its own parameters (lru: [Re lambda; Im lambda] (U)    \
         * from nu and theta): W (2U) gets R, then U values of the cell's own (the layer's der; lru: gamma), \
         * once a pass; derive_back maps dR into the own parameters' gradient down (+=) */                    \
        void (*derive)(const R *own, R *W, int U);                                                             \
        void (*derive_back)(const R *own, const R *W, const R *dW, R *down, int U);                            \
    } rl_cell_ops_##suffix;
RL_CELL_OPS(float, f32)
RL_CELL_OPS(double, f64)

typedef struct rl_cell_desc {
    rl_cell id;
    const char *name;     /* in files and on the command line */
    const char *equation; /* one line, for help and docs */
    int gates;            /* G: rows of W_ih and b_ih per unit */
    int hh_gates;         /* Gh: rows of W_hh and b_hh per unit */
    rl_recur recur;       /* the row of the recurrence table its state evolves by (src/cells/recur.h) */
    int states;           /* state components per unit: 1 (h) or 2 ([h; c]) */
    /* the units U of a state component: H (0), or units_mult N (lru: 2, the
     * real and imaginary parts of N complex units, [Re x; Im x]) */
    int units_mult;
    /* the layer's output is a map of its state (lru: y = act(Re(C x) + D u),
     * out_fwd and out_bwd), not the state itself; its D part adds H rows
     * to the input projection, after the G*U of the gates */
    int out_map;
    int cache_gates;      /* 1: z (T, B, G*H) caches the gates; 0: the pre-activation is built in h */
    int hh_apart;         /* 1: the hidden side W_hh h + b_hh is kept apart from the input side */
    int aux;              /* (T, B, H) caches beyond the gates */
    /* the tensors of a layer, in buffer order (the cell's own per-unit
     * parameters role RL_EXTRA, e.g. "rnn.leak_l%d") */
    int nparams;
    rl_param_spec params[RL_MAX_CELL_PARAMS];
    /* fills that parameter (H) of one layer from init (leaky: --leak, --timescales, or leaves the
     * uniform default it holds; modrelu: --modrelu-init); NULL: the cell takes no such option */
    rl_status (*init_extra)(double *extra, int H, const rl_init *init, rl_rng *rng);
    int forget_gate;      /* the gate whose bias --forget-bias sets (its b_ih rows; b_hh rows 0), or -1 */
    /* chrono init (Tallec & Ollivier 2018): the gate whose activation keeps s_{t-1} (LSTM f in
     * c_t = f c_{t-1} + ..., GRU z in h_t = (1 - z) n + z h_{t-1}) gets b_ih = +ln u, and the gate
     * that lets the new value in, where it is a gate of its own (LSTM i), b_ih = -ln u; -1: none.
     * A cell without a keep gate cannot take chrono. */
    int keep_gate, write_gate;
    int relu;             /* the state is piecewise linear in the pre-activation, its piece read off h's sign
                             (relu, indrnn, modrelu): relu_on can hold each unit on its piece */
    /* a cell whose tensors have an init of their own (lru's ring init): fills
     * layer k's tensors over PyTorch's default, p[i] (float64) the i-th of
     * its params list; in its input size, N its complex units */
    rl_status (*init_layer)(double *const *p, int H, int in, int N, const rl_init *init, rl_rng *rng);
    const rl_cell_ops_f32 *f32;
    const rl_cell_ops_f64 *f64;
    /* an output map's rows of the step Jacobian (out_map; float64): the
     * derivative of the layer's output at step t with respect to the state
     * s_{t-1} of the whole net, from its own state's rows X (U, S) and its
     * input's (below: (H, S), NULL for layer 0), into out (H, S) */
    void (*out_jac)(const rl_layer_f64 *ly, int t, const double *X, const double *below, int S, double *out);
} rl_cell_desc;

/* The length of one state component's block of step-Jacobian coefficients
 * (see jac_vjp above). */
static inline int rl_coef_len(const rl_cell_desc *d, int U, int Z)
{
    return Z + (d->hh_apart ? d->hh_gates * U : 0) + d->states * U;
}

/* The row of cell c (c < RL_CELL_COUNT). */
const rl_cell_desc *rl_cell_desc_of(rl_cell c);
/* A layer's state units U (per state component) and input-side rows Z. */
static inline int rl_cell_units(const rl_cell_desc *d, const rl_config *c)
{
    return d->units_mult ? d->units_mult * (c->state_size ? c->state_size : c->hidden_size) : c->hidden_size;
}
static inline int rl_cell_proj(const rl_cell_desc *d, const rl_config *c)
{
    return d->gates * rl_cell_units(d, c) + (d->out_map ? c->hidden_size : 0);
}

/* The row of the recurrence table the cell's state evolves by. */
static inline const rl_recur_desc *rl_cell_recur(const rl_cell_desc *d) { return rl_recur_of(d->recur); }

#endif
