/* The study notes' question in numbers: by the chain rule
 *   P(t, tau) = ds_t/ds_tau = J_t J_{t-1} ... J_{tau+1},
 * and if every J_k = V Lambda_k V^-1 with one V, then
 *   P(t, tau) = V Lambda_t ... Lambda_{tau+1} V^-1:
 * eigenvalues multiply. Here V is the eigenvector matrix of J_{tau+1}, each
 * J_k is seen in that basis (D_k = V^-1 J_k V), and the product of the
 * diagonals is set beside the true product: equal when the J_k share V (a
 * linear RNN: J_k = W_hh), apart when they do not (a tanh RNN: J_k =
 * diag(1 - h_k^2) W_hh changes its eigenvectors with k). Small models only:
 * every matrix is printed. */
#include "net/net.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

rl_status rl_jac_worked(rl_jac *j, int t, int tau, rl_worked *w)
{
    const int S = rl_jac_state_size(j), n = t - tau;
    if (S > RL_WORKED_MAX_S)
        return rl_fail(RL_ERR_ARG, "the worked example prints every matrix: a state of at most %d (this one has %d)",
                       RL_WORKED_MAX_S, S);
    if (tau < 0 || t <= tau || t > rl_jac_steps(j) || n > RL_WORKED_MAX_STEPS)
        return rl_fail(RL_ERR_ARG, "need 0 <= tau < t <= %d and t - tau <= %d (t %d, tau %d)", rl_jac_steps(j),
                       RL_WORKED_MAX_STEPS, t, tau);
    memset(w, 0, sizeof *w);
    w->S = S, w->t = t, w->tau = tau;
    const size_t SS = (size_t)S * S;
    double J[RL_WORKED_MAX_S * RL_WORKED_MAX_S], A[RL_WORKED_MAX_S * RL_WORKED_MAX_S],
        tmp[RL_WORKED_MAX_S * RL_WORKED_MAX_S], wr[RL_WORKED_MAX_S], wi[RL_WORKED_MAX_S];
    lapack_int ipiv[RL_WORKED_MAX_S];
    rl_status s = RL_OK;
    for (int k = 0; !s && k < n; k++) s = rl_jac_step(j, tau + 1 + k, w->J[k]);
    if (s) return s;
    /* V: the right eigenvectors of J_{tau+1} */
    memcpy(A, w->J[0], SS * sizeof *A);
    lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'V', S, A, S, wr, wi, NULL, 1, w->V, S);
    if (info) return rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
    for (int i = 0; i < S; i++)
        if (wi[i] != 0)
            return rl_fail(RL_ERR_ARG, "J_%d has complex eigenvalues (%g ± %gi): the worked example needs real ones, "
                           "e.g. a symmetric W_hh (rnnlab init --init symmetric)", tau + 1, wr[i], fabs(wi[i]));
    memcpy(w->Vinv, w->V, SS * sizeof *A);
    info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, S, S, w->Vinv, S, ipiv);
    if (!info) info = LAPACKE_dgetri(LAPACK_ROW_MAJOR, S, w->Vinv, S, ipiv);
    if (info) return rl_fail(RL_ERR_LAPACK, "the eigenvectors of J_%d are singular (info %d)", tau + 1, (int)info);
    /* D_k = V^-1 J_k V: Lambda_k its diagonal, and how much lies off it */
    for (int i = 0; i < S; i++) w->prod_lambda[i] = 1;
    for (int k = 0; k < n; k++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, w->J[k], S, w->V, S, 0, tmp, S);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, w->Vinv, S, tmp, S, 0, A, S);
        double off = 0, all = 0;
        for (int a = 0; a < S; a++)
            for (int b = 0; b < S; b++) {
                double v = A[(size_t)a * S + b];
                all += v * v;
                if (a != b) off += v * v;
            }
        for (int i = 0; i < S; i++) w->lambda[k][i] = A[(size_t)i * S + i], w->prod_lambda[i] *= A[(size_t)i * S + i];
        w->off_share[k] = all > 0 ? sqrt(off / all) : 0;
    }
    /* P = J_t ... J_{tau+1}, and V (prod Lambda) V^-1 beside it */
    memcpy(w->P, w->J[0], SS * sizeof *A);
    for (int k = 1; k < n; k++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, w->J[k], S, w->P, S, 0, tmp, S);
        memcpy(w->P, tmp, SS * sizeof *A);
    }
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) tmp[(size_t)a * S + b] = w->V[(size_t)a * S + b] * w->prod_lambda[b];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1, tmp, S, w->Vinv, S, 0, w->R, S);
    double mp = 0, md = 0;
    for (size_t i = 0; i < SS; i++) mp = fmax(mp, fabs(w->P[i])), md = fmax(md, fabs(w->P[i] - w->R[i]));
    w->deviation = mp > 0 ? md / mp : md;
    (void)J;
    return RL_OK;
}
