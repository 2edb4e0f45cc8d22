/* Private to the library, the net layer and the layers above it: the model
 * (one parameter buffer, a table of named views), the workspace (every
 * buffer of a forward and backward pass), data, and the calls between the
 * net's files. */
#ifndef RL_NET_H
#define RL_NET_H

#include "base/internal.h"
#include "cells/cell.h"

/* Tensors of a model: at most every parameter of a cell (and the orthogonal
 * parametrisation's two) in every layer, and the head's two. */
#define RL_MAX_TENSORS (RL_MAX_LAYERS * (RL_MAX_CELL_PARAMS + 2) + 2)
#define RL_TENSOR_NAME_MAX 64

struct rl_cell_desc;
struct rl_model {
    rl_config cfg;
    const struct rl_cell_desc *cell; /* the row of cfg.cell */
    rl_dtype dtype;
    size_t num_params;
    void *params; /* (num_params) of dtype, the tensors below back to back */
    int num_tensors;
    rl_tensor_info tensors[RL_MAX_TENSORS];
    char names[RL_MAX_TENSORS][RL_TENSOR_NAME_MAX];
    int fan[RL_MAX_TENSORS]; /* each tensor's default init is U(+-1/sqrt(fan)) */
    rl_orth orth; /* W_hh = B map(A) (src/orth.h), or RL_ORTH_NONE */
    short role[RL_MAX_LAYERS][RL_ROLE_COUNT]; /* index of layer k's (first) tensor of each role, -1: none */
    char *vocab; /* owned UTF-8 string or NULL */
    int task, seq_len; /* the rl_task_kind it was trained on and its T (metadata task, seq_len); seq_len 0: none */
    /* the rest of that task's options, for a run that read a file (the text or
     * data's path, the data's splits and columns): metadata task_options, a
     * JSON object of strings (task_json, owned), and the same pairs decoded as
     * "key\0value\0..." (task_kv, owned, task_kv_len bytes); NULL: none */
    char *task_json, *task_kv;
    size_t task_kv_len;
};

/* Index of layer k's tensor of a role (-1: the cell has none), and of the head's. */
static inline int rl_t(const rl_model *m, int k, rl_role r) { return m->role[k][r]; }
static inline int rl_t_head_w(const rl_model *m) { return m->num_tensors - 2; }
static inline int rl_t_head_b(const rl_model *m) { return m->num_tensors - 1; }
/* The elements of tensor i (in the model's dtype), or NULL for i = -1. */
static inline void *rl_tensor_data(const rl_model *m, int i)
{
    return i < 0 ? NULL : (char *)m->params + m->tensors[i].offset * (m->dtype == RL_F64 ? 8 : 4);
}
/* The number of parameters a model of this config has (the one count the
 * model, the file loader and the limits use). */
long long rl_config_num_params(const rl_config *c);
/* The same for a model with an orthogonal W_hh (rl_model_new_orth); RL_ERR_ARG
 * with a message when the cell cannot have one. */
rl_status rl_orth_check(const rl_config *c, rl_orth map);
long long rl_config_num_params_orth(const rl_config *c, rl_orth map);

/* Check a config; RL_ERR_ARG with a message naming the bad field. */
rl_status rl_config_check(const rl_config *cfg);

struct rl_ws {
    rl_dtype dtype;
    rl_config cfg;
    int B, T;
    size_t num_params;
    /* All buffers below are of dtype and sized from (cfg, B, T). */
    void *xt;      /* (T, B, I) inputs, time-major */
    int32_t *ids;  /* (T, B) when every input row is one-hot: its index (-1 for a row of zeros) */
    int onehot;    /* the last rl_forward found one-hot inputs: layer 0 gathers rows of W_ih */
    int no_gather; /* tests: take the GEMM path even for one-hot inputs */
    void *wt;      /* (I, G*H) one-hot inputs: W_ih^T + biases (forward), dL/dW_ih^T (backward) */
    int no_dout;   /* rl_forward_eval: the loss without dL/do */
    float *wpack;  /* float32 with rl_packed_kernel(): W_hh of one layer, packed for the step GEMM */
    void *h;       /* (L, T+1, B, U) hidden-state cache (U: rl_cell_units, H but for lru) */
    void *c;       /* (L, T+1, B, U) second state component (LSTM's c), else NULL */
    void *gates;   /* (L, T, B, Z) gate activations (or input-side pre-activations) of cells that cache them,
                      else NULL; Z = rl_cell_proj, G*H but for lru */
    void *aux;     /* (L, T, B, aux*U) a cell's further caches (GRU: W_hn h_{t-1} + b_hn), else NULL */
    void *y;       /* (L, T, B, H) the layers' outputs of a cell with an output map (lru), else NULL: h[1..T] */
    void *ya;      /* (L, T, B, H) their pre-activations a = Re(C x) + D u */
    void *dstate;  /* (T, B, U) dL/d(state) of the layer being differentiated, from its output (lru) */
    void *rder;    /* (L, 2U) R of each layer derived by its cell (lru: [Re lambda; Im lambda]), then the U values
                      of the cell's own it derives with it (the layer's der; lru: gamma), else NULL */
    void *drder;   /* (L, U) dL/dR of the backward pass, before it is mapped to the cell's own parameters */
    void *out;     /* (T, B, O) outputs o_t */
    void *dout;    /* (T, B, O) dL/do_t */
    void *dh;      /* (T, B, H) dL/dh of the layer being differentiated */
    void *dh_below;/* (T, B, H) dL/d(input) handed to the layer below */
    void *dh_top;  /* (T, B, H) dL/dh of the top layer, kept for inspection */
    void *dh_all;  /* (L, T, B, H) every layer's complete dL/dh, kept by rl_backward once
                      rl_ws_keep_grad_hidden allocated it (Pascanu's Omega reads it), else NULL */
    void *dz;      /* (T, B, G*H) dL/d(pre-activation) (GRU: of the input side W_ih x + b_ih): the layer's ly.dz */
    void *dzh;     /* (T, B, Gh*H) dL/d(W_hh h + b_hh) of a cell that keeps it apart (GRU), else NULL */
    void *dc;      /* (B, H) dL/dc carried back one step (two-state cells), else NULL */
    void *carry;   /* (B, Gh*H) the hidden side of one step (GRU), else NULL */
    void *grad;    /* (num_params) dL/dtheta, layout of the model's buffer */
    void *grad_h0; /* (L, B, H) */
    void *grad_c0; /* (L, B, H) two-state cells, else NULL */
    double *wsum;  /* (B, T) mask / sum(mask), the per-step loss weights */
    double *lrow;  /* (T, B) each step's weighted loss */
    /* (L, T+1, B, H) or NULL: when set, ReLU units are on where this is 1
     * instead of where a_t > 0 (gradient checks differentiate the smooth
     * piece of a ReLU net that the base point lies on); not owned */
    const unsigned char *relu_on;
    int have_loss; /* the last rl_forward computed the loss and dL/do */
    double dropout;  /* p of dropout between layers, 0 = off */
    double clip_msg; /* rl_ws_set_clip_message: dL/dz clamped to [-clip_msg, clip_msg] each step; 0 = off */
    rl_rng drop_rng;
    void *drop;      /* (L-1, T, B, H) inputs of layers 1..L-1 after dropout */
    void *dmask;     /* (L-1, T, B, H) 0 or 1/(1-p) */
    /* orthogonal models (src/orth.h), else NULL */
    void *whh;       /* (L, H, H) W_hh = B map(A) of each layer, for the last forward's X and B */
    void *orth_src;  /* (L, 2, H, H) the X and B whh was made from */
    int orth_valid;  /* whh and orth_src hold a layer's map */
    void *dwhh;      /* (L, H, H) dL/dW_hh of the backward pass, before it is mapped to dL/dX */
    double *orth_scratch; /* 4 H^2 (X, B, W or dW, dX in float64) + rl_orth_scratch_size(H) */
    int *orth_ipiv;  /* (H) */
};

/* The R layer l's steps run with, in the model's dtype: the workspace's for
 * an orthogonal model (valid after rl_forward or rl_orth_sync,
 * src/net/orth_ws.h) or for a cell that derives it (lru's lambda, after
 * rl_forward), else the model's tensor (NULL: the recurrence has none). */
static inline const void *rl_layer_whh(const rl_ws *ws, const rl_model *m, int l)
{
    const size_t es = rl_dtype_size(m->dtype);
    if (ws->whh) return (const char *)ws->whh + (size_t)l * m->cfg.hidden_size * m->cfg.hidden_size * es;
    if (ws->rder) return (const char *)ws->rder + (size_t)l * 2 * rl_cell_units(m->cell, &m->cfg) * es;
    return rl_tensor_data(m, rl_t(m, l, RL_W_HH));
}
/* Where the time loop adds dL/dR of layer l: the workspace's buffer for
 * an orthogonal model or a derived R (mapped to dL/dX or to the cell's own
 * parameters afterwards), else the gradient buffer's view. */
static inline void *rl_layer_dwhh(const rl_ws *ws, const rl_model *m, int l)
{
    const size_t es = rl_dtype_size(m->dtype);
    if (ws->dwhh) return (char *)ws->dwhh + (size_t)l * m->cfg.hidden_size * m->cfg.hidden_size * es;
    if (ws->drder) return (char *)ws->drder + (size_t)l * rl_cell_units(m->cell, &m->cfg) * es;
    int i = rl_t(m, l, RL_W_HH);
    return i < 0 ? NULL : (char *)ws->grad + m->tensors[i].offset * es;
}

/* A cell that derives its R (lru): R of every layer from the model's
 * parameters (before a forward pass), and dL/dR into the gradient of the
 * cell's own parameters (after a backward pass). src/net/ws.c */
void rl_derive_sync(rl_ws *ws, const rl_model *m);
void rl_derive_backward(rl_ws *ws, const rl_model *m);

struct rl_data {
    rl_batch b;           /* views into the arrays below */
    void *x, *y, *mask, *h0, *c0;
    int32_t *target;
};

/* The two real-type instantiations of the core (src/net.c compiled twice). */
rl_status rl_forward_f32(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss);
rl_status rl_forward_f64(rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss);
rl_status rl_backward_f32(rl_ws *ws, const rl_model *m, const rl_batch *b);
rl_status rl_backward_f64(rl_ws *ws, const rl_model *m, const rl_batch *b);
/* Check a batch against a model: sizes, finite values and, when with_loss,
 * targets present and in range, mask >= 0 with a positive sum; fills wsum
 * (B, T) if not NULL. */
rl_status rl_batch_check(const rl_batch *b, const rl_model *m, int with_loss, double *wsum);

/* Layer l's buffers in a workspace of the model's dtype (src/net/loop.c). */
rl_layer_f32 rl_layer_of_f32(const rl_ws *ws, const rl_model *m, int l);
rl_layer_f64 rl_layer_of_f64(const rl_ws *ws, const rl_model *m, int l);

/* One layer through all T steps: src/net/loop.c, the one time loop, drives a
 * cell's step functions (src/cells/cell.h) and owns the threads, the packed
 * step kernel and the GEMMs around the loop.
 * Forward: ly->h[0] (and c[0]) hold the initial state; x (T, B, in) is the
 *   layer's input, or ids (T, B) one-hot indices with wt (in, G*H) scratch
 *   (see rl_in_project); wp, NULL or scratch of rl_step_pack_size floats,
 *   turns on the packed step kernel. Fills h[1..T] and the caches.
 * Backward: ly->dh holds dL/dh[1..T] from above on entry and all of it
 *   (eq. 10.21, the recurrent part added) on return; adds dL/dW, dL/db and
 *   the cell's own parameters' gradient (dextra, if the cell has them) and
 *   dL/ds[0] into ly->dh0, dc0; sets dx (T, B, in) = dL/dx unless dx is NULL.
 * The time loop runs on up to rl_get_num_threads() threads; any count gives
 * the same numbers. */
void rl_layer_forward_f32(const rl_cell_desc *d, const rl_layer_f32 *ly, const float *x, const int32_t *ids, float *wt,
                          float *wp);
void rl_layer_forward_f64(const rl_cell_desc *d, const rl_layer_f64 *ly, const double *x, const int32_t *ids,
                          double *wt, double *wp);
void rl_layer_backward_f32(const rl_cell_desc *d, const rl_layer_f32 *ly, float *dx, float *dw_ih, float *dw_hh,
                           float *db_ih, float *db_hh, float *dextra, const float *x, const int32_t *ids, float *wt,
                           float *wp);
void rl_layer_backward_f64(const rl_cell_desc *d, const rl_layer_f64 *ly, double *dx, double *dw_ih, double *dw_hh,
                           double *db_ih, double *db_hh, double *dextra, const double *x, const int32_t *ids, double *wt,
                           double *wp);

#endif
