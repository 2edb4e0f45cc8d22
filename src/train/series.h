/* The time series behind the tasks mackey-glass and narma10 (src/series.c),
 * in float64; the tasks round them to float32. Private to the library and
 * its tests. */
#ifndef RL_SERIES_H
#define RL_SERIES_H

#include "net/net.h"

/* Mackey-Glass, dx/dt = a x(t - tau) / (1 + x(t - tau)^p) - b x(t) with
 * a = 0.2, b = 0.1, p = 10, tau = 17, in ReservoirPy's recipe: one RK4 step
 * of h = 1 per sample, x(t - tau) held at the sample tau steps back for
 * the whole step. hist (RL_MG_TAU) holds x(-17) .. x(-1); x[0] = RL_MG_X0,
 * and x[1..n) follow. */
#define RL_MG_TAU 17
#define RL_MG_X0 1.2
void rl_mackey_glass(const double *hist, int n, double *x);

/* NARMA10 from rest: u (n) inputs drawn U[0, 0.5) from r (float32-exact
 * values), y (n + 1) with y[0] = 0 and, for t = 0 .. n-1,
 *   y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0}^{9} y[t-i] + 1.5 u[t-9] u[t] + 0.1
 * (terms with a negative index are 0). The recurrence leaves its bounded
 * regime now and then and grows without bound: returns 0 when every y is at
 * most RL_NARMA_BOUND, else -1 (the caller draws again). */
#define RL_NARMA_BOUND 1.5
int rl_narma10(rl_rng *r, int n, double *u, double *y);

#endif
