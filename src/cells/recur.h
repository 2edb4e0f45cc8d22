/* The recurrence table: the kinds of matrix R a cell's state evolves by,
 * one row each (src/cells/recur.c), as ggml describes each tensor type
 * once. A cell names its row (rl_cell_desc.recur); the time loop, the
 * Jacobians, the regularisers, the model and the trainer call the row's
 * functions and never branch on the kind.
 *
 * R maps the U units of the previous state to the Gh*U rows of the hidden
 * side of a step (pre-activations, or their hidden part kept apart):
 *
 *   dense  R = W_hh (Gh*U, U), rnn.weight_hh_l{k}: tanh, relu, linear, LSTM, GRU, leaky;
 *   diag   R = diag(u), u (U), rnn.weight_hh_l{k} of shape (U): IndRNN (Gh = 1);
 *   none   R = 0: the gates come from the input alone, and the previous
 *          state enters only through the cell's direct terms: minGRU,
 *          minLSTM (no W_hh tensor);
 *   cdiag  R = diag(lambda), lambda (N) complex, acting on a state of U = 2N
 *          real numbers [Re x; Im x]: in that order R is
 *            [ diag(Re lambda)  -diag(Im lambda) ]
 *            [ diag(Im lambda)   diag(Re lambda) ],
 *          stored as the vector [Re lambda; Im lambda] (U), which the cell
 *          derives from its own parameters (LRU: lambda = exp(-e^nu + i e^theta),
 *          no tensor of its own; Gh = 1).
 *
 * In every product below "rows" are sequences (or steps and sequences):
 *   step     the time loop's product of one step, for M rows:
 *            fwd 1: C (M, Gh*U, row stride ldc) += A (M, U) R^T,
 *            fwd 0: C (M, U, ldc) += A (M, Gh*U) R;
 *            wp: R packed for the float32 step kernel (pack), or NULL;
 *            vec: M is one sequence (a GEMV reads R in place);
 *   units    the same for the units [u0, u1) of a lockstep step, on the
 *            packed R (NULL: the row does not run in lockstep);
 *   mul      C (n, Gh*U) = alpha A (n, U) R^T + beta C, over n rows at once;
 *   mul_t    C (n, U) = alpha A (n, Gh*U) R + beta C;
 *   grad     dR += E^T S for E (n, Gh*U) and S (n, U): dL/dR from the
 *            hidden side's gradients E and the previous states S;
 * and, in float64, for the step Jacobians (src/analysis/jacobian.c) and
 * their adjoints (src/train/floss.c):
 *   jac      rows (U, U, stride ld) = sum_g diag(coef[g]) R[g], the block
 *            of J_t a state's coefficients on the hidden side make;
 *   jac_adj  for a cotangent of that block (jbar, stride ld): dR += its
 *            share, coef_bar += the coefficients' share. */
#ifndef RL_RECUR_H
#define RL_RECUR_H

#include "base/internal.h"

typedef enum { RL_RECUR_DENSE = 0, RL_RECUR_DIAG, RL_RECUR_NONE, RL_RECUR_CDIAG, RL_RECUR_COUNT } rl_recur;

#define RL_RECUR_OPS(R, suffix)                                                                                 \
    typedef struct {                                                                                            \
        void (*step)(int fwd, int Gh, int U, int M, const R *A, const R *W, const R *wp, R *C, int ldc, int vec); \
        void (*units)(int fwd, int Gh, int U, int M, const R *A, const R *wp, R *C, int ldc, int u0, int u1);   \
        void (*pack)(R *wp, const R *W, int Gh, int U, int fwd, int per_gate);                                  \
        void (*mul)(int Gh, int U, int n, R alpha, const R *A, const R *W, R beta, R *C);                      \
        void (*mul_t)(int Gh, int U, int n, R alpha, const R *A, const R *W, R beta, R *C);                    \
        void (*grad)(int Gh, int U, int n, const R *E, const R *S, R *dW);                                      \
    } rl_recur_ops_##suffix;
RL_RECUR_OPS(float, f32)
RL_RECUR_OPS(double, f64)

typedef struct rl_recur_desc {
    rl_recur kind;
    const char *name;
    /* R's tensor: ndim 2 (Gh*U, U), 1 (U), or 0: none; gates: how many
     * gate blocks it may hold (0: any, 1: one only) */
    int ndim, gates;
    /* dense: the inits of a matrix (orthogonal, Gaussian, identity, ...,
     * --radius) and an orthogonal parametrisation apply */
    int matrix;
    /* one weight per unit that training bounds (IndRNN's |u| <= 2^{1/T}:
     * rl_model_clip_recurrent, --recurrent-max, --recurrent-min) */
    int bounded;
    /* the step Jacobian's block within a layer: 0 dense; 1 diagonal (each
     * unit depends on its own past alone); 2 one 2 x 2 block per unit
     * pairing state rows i and i + U/2 (a complex unit as [Re; Im]). With 1
     * or 2, a stack's J_t is block lower triangular with such blocks, and
     * its Lyapunov exponents are the time averages of the blocks' logs
     * (analysis/lyapunov.c, no QR) */
    int jblock;
    const rl_recur_ops_f32 *f32;
    const rl_recur_ops_f64 *f64;
    void (*jac)(int Gh, int U, const double *W, const double *coef, double *rows, size_t ld);
    void (*jac_adj)(int Gh, int U, const double *W, const double *coef, const double *jbar, size_t ld, double *dW,
                    double *coef_bar);
    /* the spectral radius and the largest singular value of each gate
     * block of a float32 R (NaN where LAPACK fails or memory runs out) */
    void (*stats)(int Gh, int U, const float *W, double *radius, double *sigma);
} rl_recur_desc;

/* The row of kind k (k < RL_RECUR_COUNT). */
const rl_recur_desc *rl_recur_of(rl_recur k);

/* out (H, n), row stride ld, = sum_g diag(coef[g]) W[g]: coef (G*H) a
 * unit's coefficient for each gate block W[g] (H, n) of W (G*H, n), the
 * derivative of the units through a weight matrix; the blocks whose
 * coefficients are all zero are passed over. rl_all_zero: v (n) holds
 * zeros only. */
void rl_gate_rows(double *out, size_t ld, const double *W, int G, int H, int n, const double *coef);
int rl_all_zero(const double *v, int n);

/* floats of scratch for a dense W_hh (Gh*U, U) packed for the step kernel */
size_t rl_recur_pack_size(int Gh, int U);

#endif
