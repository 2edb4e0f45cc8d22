/* Private to the library: the regularisers on the Jacobians (Pascanu's
 * Omega, src/train/omega.c, compiled once per real type). */
#ifndef RL_REGULAR_H
#define RL_REGULAR_H

#include "net/net.h"

/* Pascanu's Omega in each real type (src/train/omega.c compiled twice). */
rl_status rl_omega_f32(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio);
rl_status rl_omega_f64(rl_ws *ws, const rl_model *m, rl_omega_form form, double weight, double *omega, double *ratio);

#endif
