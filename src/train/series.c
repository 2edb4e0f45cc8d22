/* The series of the reservoir-computing benchmarks: Mackey-Glass (Mackey &
 * Glass 1977, tau = 17) and NARMA10 (Atiya & Parlos 2000). docs/training.md
 * states both recipes; tests/test_esn.c checks them. */
#include "train/series.h"
#include "net/net.h"

#include <math.h>

/* dx/dt of Mackey-Glass at x(t) = x, x(t - tau) = xd */
static double mg_rate(double x, double xd) { return 0.2 * xd / (1 + pow(xd, 10)) - 0.1 * x; }

void rl_mackey_glass(const double *hist, int n, double *x)
{
    if (n < 1) return;
    x[0] = RL_MG_X0;
    for (int i = 0; i + 1 < n; i++) {
        /* x(t - tau): the sample 17 steps back, from the history at first */
        const double xd = i < RL_MG_TAU ? hist[i] : x[i - RL_MG_TAU], xi = x[i];
        /* RK4, h = 1, the delayed term frozen over the step (ReservoirPy's mackey_glass) */
        const double k1 = mg_rate(xi, xd), k2 = mg_rate(xi + 0.5 * k1, xd), k3 = mg_rate(xi + 0.5 * k2, xd),
                     k4 = mg_rate(xi + k3, xd);
        x[i + 1] = xi + k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6;
    }
}

int rl_narma10(rl_rng *r, int n, double *u, double *y)
{
    int ok = 1;
    y[0] = 0;
    for (int t = 0; t < n; t++) {
        /* U[0, 0.5) on the float32 grid of 2^-25, so that the task's float32 input is u exactly */
        u[t] = (double)(rl_rng_next(r) >> 40) * 0x1p-25;
        double s = 0;
        for (int i = 0; i <= 9 && i <= t; i++) s += y[t - i];
        const double u9 = t >= 9 ? u[t - 9] : 0;
        /* y_{t+1} = 0.3 y_t + 0.05 y_t sum_{i=0}^{9} y_{t-i} + 1.5 u_{t-9} u_t + 0.1 */
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * s + 1.5 * u9 * u[t] + 0.1;
        /* past the bound it diverges; once it does, stop computing */
        if (!(y[t + 1] <= RL_NARMA_BOUND)) {
            ok = 0;
            for (int k = t + 1; k < n; k++) u[k] = 0, y[k + 1] = 0;
            break;
        }
    }
    return ok ? 0 : -1;
}
