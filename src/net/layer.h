/* Private to the net layer: the time loop (src/net/loop.c) and the GEMMs
 * around it (src/net/net.c), in the real type of the copy being compiled. */
#ifndef RL_LAYER_H
#define RL_LAYER_H

#include "cells/cell_real.h"
#include "net/net.h"

/* C (M, N) = alpha op(A) op(B) + beta C, row-major. A large one is cut into
 * panels of rows or columns of C whose shapes depend on (M, N, K) alone, and
 * the panels are shared among rnnlab's threads. Called with OpenBLAS on one
 * thread. src/net/net.c */
void RL_T(rl_gemm)(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, real alpha, const real *A, int lda,
                   const real *B, int ldb, real beta, real *C, int ldc);
/* The input side of a layer for all TB rows: z (TB, G) = x W_ih^T + (b1 + b2),
 * b2 may be NULL. With ids (one-hot inputs) row r is column ids[r] of W_ih
 * (or zeros for -1), gathered from wt (in, G), which this fills: the same
 * numbers the GEMM gives, without multiplying by zeros. */
void RL_T(rl_in_project)(real *z, int G, const real *x, const int32_t *ids, real *wt, const real *w_ih,
                         const real *b1, const real *b2, int TB, int in);
/* dW_ih (G, in) += da^T x over TB rows; with ids, a scatter-add of da's rows
 * through wt (in, G). */
void RL_T(rl_in_grad)(real *dw_ih, const real *da, int G, const real *x, const int32_t *ids, real *wt, int TB, int in);

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
void RL_T(rl_layer_forward)(const rl_cell_desc *d, const rl_layer *ly, const real *x, const int32_t *ids, real *wt,
                            real *wp);
void RL_T(rl_layer_backward)(const rl_cell_desc *d, const rl_layer *ly, real *dx, real *dw_ih, real *dw_hh, real *db_ih,
                             real *db_hh, real *dextra, const real *x, const int32_t *ids, real *wt, real *wp);

#endif
