/* Orthogonal recurrent weights: the matrix exponential and the Cayley map
 * with their adjoints, and the parametrisation W_hh = B map(A) of src/cells/orth.h. */
#include "cells/orth.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ small helpers */

/* C = alpha A B + beta C, all (n, n) row-major */
static void mm(int n, double alpha, const double *A, const double *B, double beta, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, alpha, A, n, B, n, beta, C, n);
}

/* max over columns of the sum of |a_ij| */
static double norm1(int n, const double *A)
{
    double mx = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += fabs(A[(size_t)i * n + j]);
        mx = s > mx ? s : mx;
    }
    return mx;
}

/* out = sum_k c[k] P[k] (+ c0 I when with_id), for the k with P[k] given */
static void lincomb(int n, double *out, const double *c, const double *const *P, int np, double c0, int with_id)
{
    size_t nn = (size_t)n * n;
    memset(out, 0, nn * sizeof *out);
    for (int k = 0; k < np; k++)
        for (size_t i = 0; i < nn; i++) out[i] += c[k] * P[k][i];
    if (with_id)
        for (int i = 0; i < n; i++) out[(size_t)i * n + i] += c0;
}

/* ------------------------------------------------------------------ exp */

/* Higham 2005, Table 2.3 (theta_m for double) and the coefficients b_0..b_m
 * of the [m/m] Pade approximant p_m(x) / p_m(-x) of e^x. */
static const double theta[5] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1,
                                2.097847961257068e0, 5.371920351148152e0};
static const int degree[5] = {3, 5, 7, 9, 13};
static const double b3[] = {120., 60., 12., 1.};
static const double b5[] = {30240., 15120., 3360., 420., 30., 1.};
static const double b7[] = {17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.};
static const double b9[] = {17643225600., 8821612800., 2075673600., 302702400., 30270240.,
                            2162160.,     110880.,     3960.,       90.,        1.};
static const double b13[] = {64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
                             129060195264000.,   10559470521600.,    670442572800.,    33522128640.,
                             1323241920.,        40840800.,          960960.,          16380.,
                             182.,               1.};

/* the scratch of rl_expm, in n^2 blocks */
enum { X_A, X_D, X_A2, X_A4, X_A6, X_A8, X_M2, X_M4, X_M6, X_M8, X_U, X_V, X_LU, X_LV, X_T1, X_T2, X_COUNT };

size_t rl_expm_scratch_size(int n) { return (size_t)X_COUNT * n * n + (size_t)n; /* + the pivots, as doubles */ }

rl_status rl_expm(int n, const double *A0, const double *D0, double *E, double *L, double *scratch)
{
    const size_t nn = (size_t)n * n;
    double *x[X_COUNT];
    for (int k = 0; k < X_COUNT; k++) x[k] = scratch + (size_t)k * nn;
    lapack_int *ipiv = (lapack_int *)(scratch + X_COUNT * nn);
    _Static_assert(sizeof(lapack_int) <= sizeof(double), "pivots in the scratch");
    double *A = x[X_A], *D = D0 ? x[X_D] : NULL, *U = x[X_U], *V = x[X_V], *Lu = x[X_LU], *Lv = x[X_LV];
    double *A2 = x[X_A2], *A4 = x[X_A4], *A6 = x[X_A6], *A8 = x[X_A8];
    double *M2 = x[X_M2], *M4 = x[X_M4], *M6 = x[X_M6], *M8 = x[X_M8], *T1 = x[X_T1], *T2 = x[X_T2];
    double a1 = norm1(n, A0);
    if (!isfinite(a1)) return rl_fail(RL_ERR_NONFINITE, "the matrix exponential of a matrix holding %g", a1);
    /* the lowest degree whose theta bounds ||A||_1; else degree 13 on A / 2^s */
    int mi = 0, s = 0;
    while (mi < 4 && a1 > theta[mi]) mi++;
    if (mi == 4 && a1 > theta[4]) s = (int)ceil(log2(a1 / theta[4]));
    const double sc = ldexp(1.0, -s);
    for (size_t i = 0; i < nn; i++) A[i] = A0[i] * sc;
    for (size_t i = 0; D && i < nn; i++) D[i] = D0[i] * sc;
    const int m = degree[mi];
    /* even powers of A and their derivatives in the direction D:
     * M_2k = d(A^2k)[D], M2 = A D + D A, M4 = A2 M2 + M2 A2, M6 = A4 M2 + M4 A2, M8 = A4 M4 + M4 A4 */
    mm(n, 1, A, A, 0, A2);
    if (m >= 5) mm(n, 1, A2, A2, 0, A4);
    if (m >= 7) mm(n, 1, A4, A2, 0, A6);
    if (m == 9) mm(n, 1, A4, A4, 0, A8);
    if (D) {
        mm(n, 1, A, D, 0, M2);
        mm(n, 1, D, A, 1, M2);
        if (m >= 5) mm(n, 1, A2, M2, 0, M4), mm(n, 1, M2, A2, 1, M4);
        if (m >= 7) mm(n, 1, A4, M2, 0, M6), mm(n, 1, M4, A2, 1, M6);
        if (m == 9) mm(n, 1, A4, M4, 0, M8), mm(n, 1, M4, A4, 1, M8);
    }
    if (m <= 9) {
        /* U = A sum_k b_{2k+1} A^{2k},  V = sum_k b_{2k} A^{2k};
         * Lu = A sum_k b_{2k+1} M_{2k} + D sum_k b_{2k+1} A^{2k},  Lv = sum_k b_{2k} M_{2k} */
        const double *b = m == 3 ? b3 : m == 5 ? b5 : m == 7 ? b7 : b9;
        const double *pw[4] = {A2, A4, A6, A8}, *dm[4] = {M2, M4, M6, M8};
        const int np = (m - 1) / 2;
        double codd[4], ceven[4];
        for (int k = 0; k < np; k++) codd[k] = b[2 * k + 3], ceven[k] = b[2 * k + 2];
        lincomb(n, T1, codd, pw, np, b[1], 1); /* sum_k b_{2k+1} A^{2k} */
        mm(n, 1, A, T1, 0, U);
        lincomb(n, V, ceven, pw, np, b[0], 1);
        if (D) {
            lincomb(n, T2, codd, dm, np, 0, 0);
            mm(n, 1, A, T2, 0, Lu);
            mm(n, 1, D, T1, 1, Lu);
            lincomb(n, Lv, ceven, dm, np, 0, 0);
        }
    } else {
        /* Higham 2005 (2.11), and its derivative (Al-Mohy & Higham 2009, Alg. 6.4):
         * W1 = b13 A6 + b11 A4 + b9 A2,  W2 = b7 A6 + b5 A4 + b3 A2 + b1 I,
         * Z1 = b12 A6 + b10 A4 + b8 A2,  Z2 = b6 A6 + b4 A4 + b2 A2 + b0 I,
         * W = A6 W1 + W2,  U = A W,  V = A6 Z1 + Z2;
         * Lw = A6 Lw1 + M6 W1 + Lw2,  Lu = A Lw + D W,  Lv = A6 Lz1 + M6 Z1 + Lz2
         * with Lw1, Lw2, Lz1, Lz2 the same sums over M2, M4, M6 without the I. */
        const double *pw[3] = {A6, A4, A2}, *dm[3] = {M6, M4, M2};
        const double cw1[3] = {b13[13], b13[11], b13[9]}, cw2[3] = {b13[7], b13[5], b13[3]};
        const double cz1[3] = {b13[12], b13[10], b13[8]}, cz2[3] = {b13[6], b13[4], b13[2]};
        double *W1 = A8, *Z1 = T2; /* A8 is free at degree 13 */
        lincomb(n, W1, cw1, pw, 3, 0, 0);
        lincomb(n, T1, cw2, pw, 3, b13[1], 1); /* W2 */
        mm(n, 1, A6, W1, 1, T1);               /* W */
        mm(n, 1, A, T1, 0, U);
        lincomb(n, Z1, cz1, pw, 3, 0, 0);
        lincomb(n, V, cz2, pw, 3, b13[0], 1); /* Z2 */
        mm(n, 1, A6, Z1, 1, V);
        if (D) {
            double *Lw = M8; /* free at degree 13 */
            lincomb(n, Lw, cw2, dm, 3, 0, 0); /* Lw2 */
            mm(n, 1, M6, W1, 1, Lw);
            lincomb(n, Lu, cw1, dm, 3, 0, 0); /* Lw1, kept in Lu for a moment */
            mm(n, 1, A6, Lu, 1, Lw);
            mm(n, 1, A, Lw, 0, Lu);
            mm(n, 1, D, T1, 1, Lu);
            lincomb(n, Lv, cz2, dm, 3, 0, 0); /* Lz2 */
            mm(n, 1, M6, Z1, 1, Lv);
            lincomb(n, W1, cz1, dm, 3, 0, 0); /* Lz1 (W1 is no longer needed) */
            mm(n, 1, A6, W1, 1, Lv);
        }
    }
    /* R = (V - U)^{-1} (V + U);  dR = (V - U)^{-1} ((Lu + Lv) + (Lu - Lv) R) */
    for (size_t i = 0; i < nn; i++) {
        double u = U[i], v = V[i];
        U[i] = v - u; /* the denominator, factorised in place */
        E[i] = v + u;
    }
    lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, U, n, ipiv);
    if (info == 0) info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', n, n, U, n, ipiv, E, n);
    if (info == 0 && D) {
        for (size_t i = 0; i < nn; i++) T1[i] = Lu[i] + Lv[i], T2[i] = Lu[i] - Lv[i];
        mm(n, 1, T2, E, 1, T1);
        info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', n, n, U, n, ipiv, T1, n);
        memcpy(L, T1, nn * sizeof *L);
    }
    if (info != 0) return rl_fail(RL_ERR_LAPACK, "the matrix exponential: the Pade denominator is singular (info %d)", (int)info);
    /* undo the scaling: R <- R^2, and dR <- R dR + dR R */
    for (int k = 0; k < s; k++) {
        if (D) {
            mm(n, 1, E, L, 0, T1);
            mm(n, 1, L, E, 1, T1);
            memcpy(L, T1, nn * sizeof *L);
        }
        mm(n, 1, E, E, 0, T2);
        memcpy(E, T2, nn * sizeof *E);
    }
    return RL_OK;
}

/* ------------------------------------------------------------------ Cayley */

/* the LU factors of I - A/2 into M */
static rl_status cayley_lu(int n, const double *A, double *M, int *ipiv)
{
    const size_t nn = (size_t)n * n;
    for (size_t i = 0; i < nn; i++) M[i] = -A[i] / 2;
    for (int i = 0; i < n; i++) M[(size_t)i * n + i] += 1;
    _Static_assert(sizeof(lapack_int) == sizeof(int), "pivots as int");
    lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, M, n, (lapack_int *)ipiv);
    if (info != 0) return rl_fail(RL_ERR_LAPACK, "the Cayley map: I - A/2 is singular (info %d)", (int)info);
    return RL_OK;
}

rl_status rl_cayley(int n, const double *A, double *C, double *scratch, int *ipiv)
{
    const size_t nn = (size_t)n * n;
    double *M = scratch;
    rl_status s = cayley_lu(n, A, M, ipiv);
    if (s) return s;
    /* C = (I - A/2)^{-1} (I + A/2) */
    for (size_t i = 0; i < nn; i++) C[i] = A[i] / 2;
    for (int i = 0; i < n; i++) C[(size_t)i * n + i] += 1;
    lapack_int info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', n, n, M, n, (lapack_int *)ipiv, C, n);
    if (info != 0) return rl_fail(RL_ERR_LAPACK, "the Cayley map: dgetrs failed (info %d)", (int)info);
    return RL_OK;
}

/* in-place transpose of an (n, n) matrix */
static void transpose(int n, double *a)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            double t = a[(size_t)i * n + j];
            a[(size_t)i * n + j] = a[(size_t)j * n + i];
            a[(size_t)j * n + i] = t;
        }
}

rl_status rl_cayley_adjoint(int n, const double *A, const double *G, double *out, double *scratch, int *ipiv)
{
    double *M = scratch;
    rl_status s = cayley_lu(n, A, M, ipiv);
    if (s) return s;
    /* dC = M^{-1} (dA/2) (I + C) = M^{-1} dA M^{-1} with M = I - A/2, so
     * dL/dA = M^{-T} G M^{-T}: Y = M^{-T} G, then out^T = M^{-1} Y^T */
    memcpy(out, G, (size_t)n * n * sizeof *out);
    lapack_int info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'T', n, n, M, n, (lapack_int *)ipiv, out, n);
    if (info == 0) {
        transpose(n, out);
        info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', n, n, M, n, (lapack_int *)ipiv, out, n);
        transpose(n, out);
    }
    if (info != 0) return rl_fail(RL_ERR_LAPACK, "the Cayley map's adjoint: dgetrs failed (info %d)", (int)info);
    return RL_OK;
}

/* ------------------------------------------------------------------ one layer */

/* the scratch of one layer, in H^2 blocks, then rl_expm's */
enum { Y_A, Y_Q, Y_G, Y_GA, Y_COUNT };

size_t rl_orth_scratch_size(int H)
{
    size_t e = rl_expm_scratch_size(H), c = 2 * (size_t)H * H;
    return (size_t)Y_COUNT * H * H + (e > c ? e : c);
}

/* A = tril(X) - tril(X)^T = tril(X, -1) - tril(X, -1)^T: the diagonal cancels */
static void skew_of(int H, const double *X, double *A)
{
    for (int i = 0; i < H; i++) {
        A[(size_t)i * H + i] = 0;
        for (int j = 0; j < i; j++) {
            A[(size_t)i * H + j] = X[(size_t)i * H + j];
            A[(size_t)j * H + i] = -X[(size_t)i * H + j];
        }
    }
}

rl_status rl_orth_layer_forward(rl_orth map, int H, const double *X, const double *B, double *W, double *scratch,
                                int *ipiv)
{
    const size_t nn = (size_t)H * H;
    double *A = scratch + Y_A * nn, *Q = scratch + Y_Q * nn, *rest = scratch + Y_COUNT * nn;
    skew_of(H, X, A);
    rl_status s = map == RL_ORTH_EXP ? rl_expm(H, A, NULL, Q, NULL, rest) : rl_cayley(H, A, Q, rest, ipiv);
    if (s) return s;
    /* W = B Q: the base on the left (parametrizations.py, line 104) */
    mm(H, 1, B, Q, 0, W);
    return RL_OK;
}

rl_status rl_orth_layer_backward(rl_orth map, int H, const double *X, const double *B, const double *dW, double *dX,
                                 double *scratch, int *ipiv)
{
    const size_t nn = (size_t)H * H;
    double *A = scratch + Y_A * nn, *Q = scratch + Y_Q * nn, *G = scratch + Y_G * nn, *GA = scratch + Y_GA * nn;
    double *rest = scratch + Y_COUNT * nn;
    skew_of(H, X, A);
    /* dL/dQ = B^T dL/dW */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, H, 1, B, H, dW, H, 0, G, H);
    rl_status s;
    if (map == RL_ORTH_EXP) {
        /* dL/dA = L_exp(A^T, dL/dQ) (the adjoint of the Frechet derivative is
         * the derivative at A^T), and A^T = -A exactly */
        for (size_t i = 0; i < nn; i++) A[i] = -A[i];
        s = rl_expm(H, A, G, Q, GA, rest);
    } else {
        s = rl_cayley_adjoint(H, A, G, GA, rest, ipiv);
    }
    if (s) return s;
    /* through A = tril(X, -1) - tril(X, -1)^T: dL/dX_ij = dL/dA_ij - dL/dA_ji for i > j */
    for (int i = 0; i < H; i++)
        for (int j = 0; j < i; j++) dX[(size_t)i * H + j] += GA[(size_t)i * H + j] - GA[(size_t)j * H + i];
    return RL_OK;
}

rl_status rl_orth_make_base(double *w, int n)
{
    const size_t nn = (size_t)n * n;
    /* _is_orthogonal: torch.allclose(W^T W, I, atol = 10 n eps), whose
     * |a - b| <= atol + rtol |b| (rtol 1e-5) allows 1e-5 more on the diagonal */
    const double atol = 10.0 * n * 2.220446049250313e-16;
    double *wtw = rl_alloc(nn, sizeof *wtw);
    if (!wtw) return RL_ERR_NOMEM;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1, w, n, w, n, 0, wtw, n);
    int orth = 1;
    for (size_t i = 0; i < nn && orth; i++) {
        int diag = i % ((size_t)n + 1) == 0;
        orth = fabs(wtw[i] - diag) <= atol + 1e-5 * diag;
    }
    rl_free(wtw);
    if (orth) return RL_OK;
    /* Q of W = QR with diag(R) >= 0 (_make_orthogonal: Q times sgn(diag R)) */
    double *tau = rl_alloc((size_t)n, sizeof *tau), *rdiag = rl_alloc((size_t)n, sizeof *rdiag);
    rl_status s = (!tau || !rdiag) ? RL_ERR_NOMEM : RL_OK;
    lapack_int info = s ? 0 : LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, w, n, tau);
    if (!s && info != 0) s = rl_fail(RL_ERR_LAPACK, "dgeqrf failed (info %d)", (int)info);
    if (!s) {
        for (int i = 0; i < n; i++) rdiag[i] = w[(size_t)i * n + i];
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, n, w, n, tau);
        if (info != 0) s = rl_fail(RL_ERR_LAPACK, "dorgqr failed (info %d)", (int)info);
    }
    for (size_t i = 0; !s && i < nn; i++)
        if (rdiag[i % (size_t)n] < 0) w[i] = -w[i];
    rl_free(tau);
    rl_free(rdiag);
    return s;
}
