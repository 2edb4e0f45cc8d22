/* A cell's file sees its layer and its step functions in the real type of
 * the copy being compiled (base/real.h): rl_layer, rl_cell_ops, RL_OPS(d). */
#ifndef RL_CELL_REAL_H
#define RL_CELL_REAL_H

#include "base/real.h"
#include "cells/cell.h"

typedef RL_T(rl_layer) rl_layer;
typedef RL_T(rl_cell_ops) rl_cell_ops;
typedef RL_T(rl_recur_ops) rl_recur_ops;
/* a cell's step functions, and a recurrence's products, in this real type */
#ifdef RL_REAL_F64
#define RL_OPS(d) ((d)->f64)
#else
#define RL_OPS(d) ((d)->f32)
#endif
#endif
