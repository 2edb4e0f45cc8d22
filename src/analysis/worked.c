/* The study notes' question in numbers: by the chain rule
 *   P(t, tau) = ds_t/ds_tau = J_t J_{t-1} ... J_{tau+1},
 * and if every J_k = V Lambda_k V^-1 with one V, then
 *   P(t, tau) = V Lambda_t ... Lambda_{tau+1} V^-1:
 * eigenvalues multiply. Here V is the eigenvector matrix of J_{tau+1}, each
 * J_k is seen in that basis (D_k = V^-1 J_k V), and the product of the
 * diagonals is set beside the true product: equal when the J_k share V (a
 * linear RNN: J_k = W_hh), apart when they do not (a tanh RNN: J_k =
 * diag(1 - h_k^2) W_hh changes its eigenvectors with k). A real J has
 * complex eigenvalues in conjugate pairs, and then V, D_k and the products
 * are complex: the arithmetic here is complex throughout, V^-1 an inverse
 * (LAPACK's zgetrf, zgetri), never a transpose. Small models only: every
 * matrix is printed. */
#include "net/net.h"

#include <complex.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define MS RL_WORKED_MAX_S
typedef double complex cplx;

/* C = A B, all (S, S) row-major */
static void cmatmul(int S, const cplx *A, const cplx *B, cplx *C)
{
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            cplx v = 0;
            for (int k = 0; k < S; k++) v += A[a * S + k] * B[k * S + b];
            C[a * S + b] = v;
        }
}

/* V from dgeev's right eigenvectors: a complex pair (w_k, conj w_k) comes
 * as columns k, k+1 = (Re v, Im v); column k is v, column k+1 conj v. */
static void eigvectors(int S, const double *wi, const double *vr, cplx *V)
{
    for (int c = 0; c < S; c++) {
        const int pair = wi[c] != 0, first = pair && wi[c] > 0, base = pair && !first ? c - 1 : c;
        for (int r = 0; r < S; r++) {
            double re = vr[r * S + base], im = pair ? vr[r * S + base + 1] : 0;
            V[r * S + c] = first || !pair ? re + im * I : re - im * I;
        }
    }
}

/* V^-1 by LU (zgetrf, zgetri); nonzero when V is singular */
static lapack_int invert(int S, const cplx *V, cplx *Vinv)
{
    lapack_complex_double a[MS * MS];
    lapack_int ipiv[MS];
    for (int i = 0; i < S * S; i++) a[i] = lapack_make_complex_double(creal(V[i]), cimag(V[i]));
    lapack_int info = LAPACKE_zgetrf(LAPACK_ROW_MAJOR, S, S, a, S, ipiv);
    if (!info) info = LAPACKE_zgetri(LAPACK_ROW_MAJOR, S, a, S, ipiv);
    for (int i = 0; !info && i < S * S; i++) Vinv[i] = lapack_complex_double_real(a[i]) + lapack_complex_double_imag(a[i]) * I;
    return info;
}

/* What exact arithmetic gives, kept from rounding: the row of V^-1 for a
 * real eigenvalue is real (a left eigenvector of the real J), and the rows
 * of a conjugate pair are conjugate; so Lambda_k is real where the
 * eigenvalue is, and comes in exact conjugate pairs where it is not. */
static void clean_inverse(int S, const double *wi, cplx *Vinv)
{
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++) {
            cplx *z = &Vinv[r * S + c];
            if (wi[r] == 0) *z = creal(*z);
            else if (wi[r] < 0) *z = conj(Vinv[(r - 1) * S + c]);
        }
}

/* ||A||_1: the largest column sum of moduli */
static double norm1(int S, const cplx *A)
{
    double m = 0;
    for (int c = 0; c < S; c++) {
        double s = 0;
        for (int r = 0; r < S; r++) s += cabs(A[r * S + c]);
        m = fmax(m, s);
    }
    return m;
}

static void split(int n, const cplx *z, double *re, double *im)
{
    for (int i = 0; i < n; i++) re[i] = creal(z[i]), im[i] = cimag(z[i]);
}

rl_status rl_jac_worked(rl_jac *j, int t, int tau, rl_worked *w)
{
    const int S = rl_jac_state_size(j), n = t - tau;
    if (S > MS)
        return rl_fail(RL_ERR_ARG, "the worked example prints every matrix: a state of at most %d (this one has %d)", MS, S);
    if (tau < 0 || t <= tau || t > rl_jac_steps(j) || n > RL_WORKED_MAX_STEPS)
        return rl_fail(RL_ERR_ARG, "need 0 <= tau < t <= %d and t - tau <= %d (t %d, tau %d)", rl_jac_steps(j),
                       RL_WORKED_MAX_STEPS, t, tau);
    memset(w, 0, sizeof *w);
    w->S = S, w->t = t, w->tau = tau;
    const int SS = S * S;
    double A[MS * MS], vr[MS * MS], wr[MS], wi[MS];
    cplx V[MS * MS] = {0}, Vinv[MS * MS] = {0}, JV[MS * MS], D[MS * MS], R[MS * MS], prod[MS];
    rl_status s = RL_OK;
    for (int k = 0; !s && k < n; k++) s = rl_jac_step(j, tau + 1 + k, w->J[k]);
    if (s) return s;
    /* V: the right eigenvectors of J_{tau+1}, complex where its eigenvalues are */
    memcpy(A, w->J[0], (size_t)SS * sizeof *A);
    lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'V', S, A, S, wr, wi, NULL, 1, vr, S);
    if (info) return rl_fail(RL_ERR_LAPACK, "dgeev failed (info %d)", (int)info);
    for (int i = 0; i < S; i++) w->complex_eig |= wi[i] != 0;
    eigvectors(S, wi, vr, V);
    if (invert(S, V, Vinv))
        return rl_fail(RL_ERR_LAPACK, "the eigenvectors of J_%d are singular (a defective J_%d): V^-1 does not exist", tau + 1,
                       tau + 1);
    clean_inverse(S, wi, Vinv);
    split(SS, V, w->V, w->V_im);
    split(SS, Vinv, w->Vinv, w->Vinv_im);
    w->v_cond = norm1(S, V) * norm1(S, Vinv);
    /* unitary: V^H V = I, so that V^-1 = V^H */
    double dev_u = 0;
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            cplx v = 0;
            for (int k = 0; k < S; k++) v += conj(V[k * S + a]) * V[k * S + b];
            dev_u = fmax(dev_u, cabs(v - (a == b)));
        }
    w->unitary = dev_u < 1e-10;
    /* D_k = V^-1 J_k V: Lambda_k its diagonal, and how much lies off it */
    for (int i = 0; i < S; i++) prod[i] = 1;
    for (int k = 0; k < n; k++) {
        cplx Jk[MS * MS];
        for (int i = 0; i < SS; i++) Jk[i] = w->J[k][i];
        cmatmul(S, Jk, V, JV);
        cmatmul(S, Vinv, JV, D);
        double off = 0, all = 0;
        for (int a = 0; a < S; a++)
            for (int b = 0; b < S; b++) {
                double v = cabs(D[a * S + b]);
                all += v * v;
                if (a != b) off += v * v;
            }
        for (int i = 0; i < S; i++) {
            w->lambda[k][i] = creal(D[i * S + i]), w->lambda_im[k][i] = cimag(D[i * S + i]);
            prod[i] *= D[i * S + i];
        }
        w->off_share[k] = all > 0 ? sqrt(off / all) : 0;
    }
    split(S, prod, w->prod_lambda, w->prod_lambda_im);
    /* P = J_t ... J_{tau+1}, and V (prod Lambda) V^-1 beside it */
    cplx P[MS * MS], Vp[MS * MS];
    for (int i = 0; i < SS; i++) P[i] = w->J[0][i];
    for (int k = 1; k < n; k++) {
        cplx Jk[MS * MS];
        for (int i = 0; i < SS; i++) Jk[i] = w->J[k][i];
        cmatmul(S, Jk, P, JV);
        memcpy(P, JV, (size_t)SS * sizeof *P);
    }
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) Vp[a * S + b] = V[a * S + b] * prod[b];
    cmatmul(S, Vp, Vinv, R);
    double mp = 0, md = 0;
    for (int i = 0; i < SS; i++) {
        w->P[i] = creal(P[i]);
        mp = fmax(mp, fabs(w->P[i])), md = fmax(md, cabs(P[i] - R[i]));
    }
    split(SS, R, w->R, w->R_im);
    w->deviation = mp > 0 ? md / mp : md;
    return RL_OK;
}
