/* Private to the library: the step Jacobians read off a workspace
 * (src/analysis/jacobian.c), for the regularisers above (train/). */
#ifndef RL_JACOBIAN_H
#define RL_JACOBIAN_H

#include "net/net.h"

/* ds_t/ds_{t-1} (S, S) row-major for sequence 0 of a B = 1 float64
 * workspace after rl_forward, t = 1..ws->T, read off the activation cache;
 * scratch holds rl_jac_scratch_size(m) doubles. src/analysis/jacobian.c */
size_t rl_jac_scratch_size(const rl_model *m);
void rl_jac_build(const rl_model *m, const rl_ws *ws, int t, double *J, double *scratch);
/* s_t (S) of that workspace, t = 0..T ([h; c] per layer for LSTM). */
void rl_ws_state(const rl_ws *ws, int t, double *s);

#endif
