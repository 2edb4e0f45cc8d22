/* Private to the net layer: the time loop (src/net/loop.c) and the GEMMs
 * around it (src/net/net.c), in the real type of the copy being compiled. */
#ifndef RL_LAYER_H
#define RL_LAYER_H

#include "cells/cell_real.h"
#include "net/net.h"

/* The input side of a layer for all TB rows: z (TB, G) = x W_ih^T + (b1 + b2),
 * b2 may be NULL. With ids (one-hot inputs) row r is column ids[r] of W_ih
 * (or zeros for -1), gathered from wt (in, G), which this fills: the same
 * numbers the GEMM gives, without multiplying by zeros. */
void RL_T(rl_in_project)(real *z, int G, const real *x, const int32_t *ids, real *wt, const real *w_ih,
                         const real *b1, const real *b2, int TB, int in);
/* dW_ih (G, in) += da^T x over TB rows; with ids, a scatter-add of da's rows
 * through wt (in, G). */
void RL_T(rl_in_grad)(real *dw_ih, const real *da, int G, const real *x, const int32_t *ids, real *wt, int TB, int in);

#endif
