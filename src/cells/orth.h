/* Orthogonal recurrent weights (issue 14): the parametrisation of
 * torch.nn.utils.parametrizations.orthogonal(rnn, "weight_hh_l{k}") in
 * PyTorch 1.13, for layers with one dense (H, H) W_hh:
 *
 *   A   = tril(X) - tril(X)^T             (skew: only X's strict lower triangle counts)
 *   W_hh = B expm(A)                      (orthogonal_map="matrix_exp", rnnlab "exp")
 *   W_hh = B (I - A/2)^{-1} (I + A/2)     (orthogonal_map="cayley", rnnlab "cayley")
 *
 * X = rnn.parametrizations.weight_hh_l{k}.original (trained) and
 * B = rnn.parametrizations.weight_hh_l{k}.0.base (orthogonal, fixed). The
 * maps are computed in float64 whatever the model's dtype, and W_hh rounded
 * to it. A workspace of an orthogonal model holds each layer's W_hh and the
 * X and B it was made from; rl_forward remakes it when they have changed
 * (rl_orth_sync), and rl_backward maps the time loop's dL/dW_hh to dL/dX
 * (rl_orth_backward). Everything else sees an ordinary W_hh
 * (rl_layer_whh). */
#ifndef RL_ORTH_H
#define RL_ORTH_H

#include "base/internal.h"

/* Doubles of scratch rl_expm needs for an (n, n) matrix, and
 * rl_orth_layer_* for H. */
size_t rl_expm_scratch_size(int n);
size_t rl_orth_scratch_size(int H);

/* E = exp(A), A and E (n, n) row-major, by scaling and squaring with the
 * diagonal Pade approximant of degree 3, 5, 7, 9 or 13 that ||A||_1 allows
 * (Higham 2005, Algorithm 2.3). When D is not NULL, also L = L_exp(A, D),
 * the Frechet derivative of exp at A in the direction D, from the
 * derivative of every step (Al-Mohy & Higham 2009, Algorithm 6.4): the same
 * as the (1, 2) block of exp([[A, D], [0, A]]), with the scaling chosen by A
 * alone: every step is linear in D, so L(A, 2^k D) is 2^k L(A, D) to the
 * bit and its accuracy does not depend on ||D|| (torch 1.13's backward takes
 * the exponential of the whole block matrix, whose scaling grows with ||D||,
 * and loses accuracy as D grows; tools/make_cure_fixtures.py). scratch:
 * rl_expm_scratch_size(n) doubles. RL_ERR_LAPACK when the
 * Pade denominator is singular (it is not for a finite A), RL_ERR_NONFINITE
 * for a non-finite A. */
rl_status rl_expm(int n, const double *A, const double *D, double *E, double *L, double *scratch);
/* C = (I - A/2)^{-1} (I + A/2) by one LU solve (torch.linalg.solve), and
 * the adjoint of its derivative: for a cotangent G of C,
 *   dL/dA = (I - A/2)^{-T} G (I - A/2)^{-T}
 * (since I + C = 2 (I - A/2)^{-1}): one LU and two triangular solves each
 * way. scratch: 2 n^2 doubles; ipiv n. */
rl_status rl_cayley(int n, const double *A, double *C, double *scratch, int *ipiv);
rl_status rl_cayley_adjoint(int n, const double *A, const double *G, double *out, double *scratch, int *ipiv);

/* One layer, float64: W (H, H) = B map(A(X)). */
rl_status rl_orth_layer_forward(rl_orth map, int H, const double *X, const double *B, double *W, double *scratch,
                                int *ipiv);
/* dX (H, H) += dL/dX for a cotangent dW = dL/dW_hh: the strict lower
 * triangle only (dL/dX is zero on and above the diagonal). */
rl_status rl_orth_layer_backward(rl_orth map, int H, const double *X, const double *B, const double *dW, double *dX,
                                 double *scratch, int *ipiv);

/* B (n, n) from a matrix W as PyTorch's right_inverse makes it: W itself
 * when it is orthogonal to 10 n eps (max |W^T W - I|), else the Q of its QR
 * factorisation with diag(R) >= 0. */
rl_status rl_orth_make_base(double *w, int n);

#endif
