/* The recurrence table's rows (src/cells/recur.h): a dense W_hh and a
 * diagonal u. The products are compiled once per real type (base/real.h);
 * the table, the Jacobian blocks and the statistics once, in the float64
 * copy. */
#include "cells/cell_real.h"

#include <string.h>

/* The batch's sequences go in blocks of RL_ROW_BLOCK, each block one GEMM
 * per step. OpenBLAS's rounding depends on the shape of a call, not only on
 * the numbers, so the shapes depend on B alone (src/net/loop.c cuts the
 * threads' shares on the same blocks). */
#define RL_ROW_BLOCK 16

/* ---------------------------------------------------------------- dense: W_hh (Gh*U, U) */

#ifdef RL_REAL_F64
#define PACKED(wp) ((void)(wp), 0)
static void dense_pack(real *wp, const real *w, int Gh, int H, int fwd, int per_gate)
{
    (void)wp, (void)w, (void)Gh, (void)H, (void)fwd, (void)per_gate;
    RL_UNREACHABLE("no packed float64 kernel");
}
static void packed_range(int M, int N, int K, const real *A, int lda, const real *wp, real *C, int ldc, int n0, int n1)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc, (void)n0, (void)n1;
    RL_UNREACHABLE("no packed float64 kernel");
}
#else
#define PACKED(wp) ((wp) != NULL)
#define packed_range rl_gemm_packed_range

/* W_hh (Gh*H, H) packed, the threads each taking a share of the panels:
 *   forward, C += h W_hh^T: the Gh*H columns in one run of panels, or in
 *     lockstep one run per gate, so that a thread's columns hold every gate
 *     of its units (the padding of each gate's last panel is the price);
 *   backward, dh_{t-1} += dz W_hh: W_hh as Gh*H rows of H columns. */
typedef struct {
    real *wp;
    const real *w;
    int Gh, H, fwd, per_gate;
} pack_job;

static void pack_part(void *p, int part, int parts)
{
    const pack_job *j = p;
    const int H = j->H, runs = j->fwd && j->per_gate ? j->Gh : 1, N = runs > 1 ? H : j->fwd ? j->Gh * H : H;
    const int per = rl_pack_panels(N);
    int q0, q1;
    rl_part_range(runs * per, part, parts, &q0, &q1);
    for (int r = 0; r < runs; r++) {
        int p0 = q0 - r * per, p1 = q1 - r * per;
        if (p0 < 0) p0 = 0;
        if (p1 > per) p1 = per;
        if (p0 >= p1) continue;
        if (!j->fwd) rl_pack_nn_panels(j->wp, j->w, j->Gh * H, H, p0, p1);
        else rl_pack_nt_panels(j->wp + (size_t)r * rl_pack_size(N, H), j->w + (size_t)r * N * H, N, H, p0, p1);
    }
}

static void dense_pack(real *wp, const real *w, int Gh, int H, int fwd, int per_gate)
{
    pack_job j = {wp, w, Gh, H, fwd, per_gate};
    int panels = Gh * rl_pack_panels(H), t = rl_get_num_threads();
    rl_parallel(panels < t ? panels : t, pack_part, &j, NULL);
}
#endif

/* One step's product for rows [0, M): C (M, N) += A (M, K) W^T with W (N,
 * K) (forward), or C += A W with W (K, N) (backward). Packed: the kernel;
 * one sequence: GEMV, which reads W in place; else one GEMM per block of
 * rows. */
static void dense_step(int fwd, int Gh, int H, int M, const real *A, const real *W, const real *wp, real *C, int ldc,
                       int vec)
{
    const int N = fwd ? Gh * H : H, K = fwd ? H : Gh * H, lda = K;
    if (vec) {
        if (fwd) GEMV(CblasRowMajor, CblasNoTrans, N, K, 1, W, K, A, 1, 1, C, 1);
        else GEMV(CblasRowMajor, CblasTrans, K, N, 1, W, N, A, 1, 1, C, 1);
        return;
    }
    if (PACKED(wp)) { /* the whole of W, packed in one run of panels */
        packed_range(M, N, K, A, lda, wp, C, ldc, 0, N);
        return;
    }
    for (int r = 0; r < M; r += RL_ROW_BLOCK)
        GEMM(CblasRowMajor, CblasNoTrans, fwd ? CblasTrans : CblasNoTrans, M - r < RL_ROW_BLOCK ? M - r : RL_ROW_BLOCK, N,
             K, 1, A + (size_t)r * lda, lda, W, fwd ? K : N, 1, C + (size_t)r * ldc, ldc);
}

/* The columns of units [u0, u1) of a lockstep step on the packed W:
 * forward C (M, Gh*H) += A (M, H) W^T, W packed per gate (every gate of the
 * units); backward C (M, H) += A (M, Gh*H) W. */
static void dense_units(int fwd, int Gh, int H, int M, const real *A, const real *wp, real *C, int ldc, int u0, int u1)
{
    if (!fwd) {
        packed_range(M, H, Gh * H, A, Gh * H, wp, C, ldc, u0, u1);
        return;
    }
    for (int g = 0; g < Gh; g++)
        packed_range(M, H, H, A, H, wp + (size_t)g * rl_pack_size(H, H), C + (size_t)g * H, ldc, u0, u1);
}

static void dense_mul(int Gh, int H, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    RL_T(rl_gemm)(CblasNoTrans, CblasTrans, n, Gh * H, H, alpha, A, H, W, H, beta, C, Gh * H);
}

static void dense_mul_t(int Gh, int H, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    RL_T(rl_gemm)(CblasNoTrans, CblasNoTrans, n, H, Gh * H, alpha, A, Gh * H, W, H, beta, C, H);
}

static void dense_grad(int Gh, int H, int n, const real *E, const real *S, real *dW)
{
    RL_T(rl_gemm)(CblasTrans, CblasNoTrans, Gh * H, H, n, 1, E, Gh * H, S, H, 1, dW, H);
}

/* ---------------------------------------------------------------- diagonal: u (U), Gh = 1 */

static void diag_step(int fwd, int Gh, int H, int M, const real *A, const real *u, const real *wp, real *C, int ldc,
                      int vec)
{
    (void)fwd, (void)Gh, (void)wp, (void)vec;
    for (int b = 0; b < M; b++)
        for (int j = 0; j < H; j++) C[(size_t)b * ldc + j] += u[j] * A[(size_t)b * H + j];
}

static void diag_mul(int Gh, int H, int n, real alpha, const real *A, const real *u, real beta, real *C)
{
    (void)Gh;
    for (size_t r = 0; r < (size_t)n; r++)
        for (int j = 0; j < H; j++) {
            real v = alpha * (u[j] * A[r * H + j]);
            C[r * H + j] = beta == 0 ? v : beta * C[r * H + j] + v;
        }
}

static void diag_grad(int Gh, int H, int n, const real *E, const real *S, real *du)
{
    (void)Gh;
    for (size_t r = 0; r < (size_t)n; r++)
        for (int j = 0; j < H; j++) du[j] += E[r * H + j] * S[r * H + j];
}

/* ---------------------------------------------------------------- none: R = 0 */

static void none_step(int fwd, int Gh, int H, int M, const real *A, const real *W, const real *wp, real *C, int ldc,
                      int vec)
{
    (void)fwd, (void)Gh, (void)H, (void)M, (void)A, (void)W, (void)wp, (void)C, (void)ldc, (void)vec;
}

/* C = beta C: the product with R = 0 */
static void none_mul(int Gh, int H, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    (void)alpha, (void)A, (void)W;
    if (beta == 1) return;
    for (size_t i = 0; i < (size_t)n * Gh * H; i++) C[i] = beta == 0 ? 0 : beta * C[i];
}

static void none_mul_t(int Gh, int H, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    (void)Gh;
    none_mul(1, H, n, alpha, A, W, beta, C);
}

static void none_grad(int Gh, int H, int n, const real *E, const real *S, real *dW)
{
    (void)Gh, (void)H, (void)n, (void)E, (void)S, (void)dW;
}

/* ---------------------------------------------------------------- cdiag: lambda (N complex), U = 2N */

/* fwd: C (M, 2N) += A (M, 2N) R^T, the rotation-scaling of each unit:
 *   c_re += Re l a_re - Im l a_im,  c_im += Im l a_re + Re l a_im;
 * bwd: C += A R, its transpose: c_re += Re l a_re + Im l a_im, c_im += -Im l a_re + Re l a_im */
static void cdiag_apply(int fwd, int U, int M, const real *A, int lda, const real *W, real alpha, real beta, real *C,
                        int ldc)
{
    const int N = U / 2;
    const real *lr = W, *li = W + N, s = fwd ? 1 : -1;
    for (int b = 0; b < M; b++) {
        const real *a = A + (size_t)b * lda;
        real *c = C + (size_t)b * ldc;
        for (int n = 0; n < N; n++) {
            real re = lr[n] * a[n] - s * li[n] * a[N + n], im = s * li[n] * a[n] + lr[n] * a[N + n];
            c[n] = beta == 0 ? alpha * re : beta * c[n] + alpha * re;
            c[N + n] = beta == 0 ? alpha * im : beta * c[N + n] + alpha * im;
        }
    }
}

static void cdiag_step(int fwd, int Gh, int U, int M, const real *A, const real *W, const real *wp, real *C, int ldc,
                       int vec)
{
    (void)Gh, (void)wp, (void)vec;
    cdiag_apply(fwd, U, M, A, U, W, 1, 1, C, ldc);
}

static void cdiag_mul(int Gh, int U, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    (void)Gh;
    cdiag_apply(1, U, n, A, U, W, alpha, beta, C, U);
}

static void cdiag_mul_t(int Gh, int U, int n, real alpha, const real *A, const real *W, real beta, real *C)
{
    (void)Gh;
    cdiag_apply(0, U, n, A, U, W, alpha, beta, C, U);
}

/* dR += E^T S: d(Re l) += e_re s_re + e_im s_im, d(Im l) += -e_re s_im + e_im s_re */
static void cdiag_grad(int Gh, int U, int n, const real *E, const real *S, real *dW)
{
    (void)Gh;
    const int N = U / 2;
    for (size_t r = 0; r < (size_t)n; r++) {
        const real *e = E + r * U, *s = S + r * U;
        for (int k = 0; k < N; k++) {
            dW[k] += e[k] * s[k] + e[N + k] * s[N + k];
            dW[N + k] += e[N + k] * s[k] - e[k] * s[N + k];
        }
    }
}

RL_OPS_DEFINE(rl_recur_ops, rl_recur_dense_ops, dense_step, dense_units, dense_pack, dense_mul, dense_mul_t, dense_grad);
RL_OPS_DEFINE(rl_recur_ops, rl_recur_diag_ops, diag_step, NULL, NULL, diag_mul, diag_mul, diag_grad);
RL_OPS_DEFINE(rl_recur_ops, rl_recur_none_ops, none_step, NULL, NULL, none_mul, none_mul_t, none_grad);
RL_OPS_DEFINE(rl_recur_ops, rl_recur_cdiag_ops, cdiag_step, NULL, NULL, cdiag_mul, cdiag_mul_t, cdiag_grad);

#ifdef RL_REAL_F64
#include <lapacke.h>
#include <math.h>

size_t rl_recur_pack_size(int Gh, int U) { return rl_step_pack_size(Gh, U); }

int rl_all_zero(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i] != 0) return 0;
    return 1;
}

void rl_gate_rows(double *out, size_t ld, const double *W, int G, int H, int n, const double *coef)
{
    for (int j = 0; j < H; j++)
        for (int k = 0; k < n; k++) out[(size_t)j * ld + k] = 0;
    for (int g = 0; g < G; g++) {
        const double *cg = coef + (size_t)g * H;
        if (rl_all_zero(cg, H)) continue;
        for (int j = 0; j < H; j++) {
            double *o = out + (size_t)j * ld, a = cg[j];
            const double *w = W + ((size_t)g * H + j) * n;
            for (int k = 0; k < n; k++) o[k] += a * w[k];
        }
    }
}

/* rows (H, H) = sum_g diag(coef[g]) W[g] */
static void dense_jac(int Gh, int H, const double *W, const double *coef, double *rows, size_t ld)
{
    rl_gate_rows(rows, ld, W, Gh, H, H, coef);
}

static void dense_jac_adj(int Gh, int H, const double *W, const double *coef, const double *jbar, size_t ld, double *dW,
                          double *coef_bar)
{
    for (int j = 0; j < H; j++) {
        const double *jb = jbar + (size_t)j * ld;
        for (int g = 0; g < Gh; g++) {
            const size_t wr = ((size_t)g * H + j) * H;
            cblas_daxpy(H, coef[(size_t)g * H + j], jb, 1, dW + wr, 1);
            coef_bar[(size_t)g * H + j] += cblas_ddot(H, jb, 1, W + wr, 1);
        }
    }
}

/* each gate block's largest singular value and spectral radius (LAPACK,
 * float64 copies) */
static void dense_stats(int Gh, int H, const float *w, double *radius, double *sigma)
{
    double *a = malloc((size_t)H * H * 8), *wr = malloc((size_t)H * 8), *wi = malloc((size_t)H * 8);
    for (int g = 0; g < Gh; g++) radius[g] = sigma[g] = NAN; /* also when out of memory */
    for (int g = 0; g < Gh && w && a && wr && wi; g++) {
        for (size_t i = 0; i < (size_t)H * H; i++) a[i] = w[(size_t)g * H * H + i];
        if (LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', H, H, a, H, wr, NULL, H, NULL, H) == 0) sigma[g] = wr[0];
        for (size_t i = 0; i < (size_t)H * H; i++) a[i] = w[(size_t)g * H * H + i];
        if (LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', H, a, H, wr, wi, NULL, H, NULL, H) == 0) {
            double r = 0;
            for (int i = 0; i < H; i++) r = fmax(r, hypot(wr[i], wi[i]));
            radius[g] = r;
        }
    }
    free(a), free(wr), free(wi);
}

static void diag_jac(int Gh, int H, const double *u, const double *coef, double *rows, size_t ld)
{
    (void)Gh;
    for (int j = 0; j < H; j++) {
        for (int k = 0; k < H; k++) rows[(size_t)j * ld + k] = 0;
        rows[(size_t)j * ld + j] = coef[j] * u[j];
    }
}

static void diag_jac_adj(int Gh, int H, const double *u, const double *coef, const double *jbar, size_t ld, double *du,
                         double *coef_bar)
{
    (void)Gh;
    for (int j = 0; j < H; j++) {
        const double jb = jbar[(size_t)j * ld + j];
        du[j] += coef[j] * jb;
        coef_bar[j] += jb * u[j];
    }
}

/* diag(u): both are max |u_j| */
static void diag_stats(int Gh, int H, const float *u, double *radius, double *sigma)
{
    (void)Gh;
    radius[0] = 0;
    for (int j = 0; j < H; j++) radius[0] = fmax(radius[0], fabs(u[j]));
    sigma[0] = radius[0];
}

/* R = 0: no block, nothing to add */
static void none_jac(int Gh, int H, const double *W, const double *coef, double *rows, size_t ld)
{
    (void)Gh, (void)W, (void)coef;
    for (int j = 0; j < H; j++)
        for (int k = 0; k < H; k++) rows[(size_t)j * ld + k] = 0;
}

static void none_jac_adj(int Gh, int H, const double *W, const double *coef, const double *jbar, size_t ld, double *dW,
                         double *coef_bar)
{
    (void)Gh, (void)H, (void)W, (void)coef, (void)jbar, (void)ld, (void)dW, (void)coef_bar;
}

static void none_stats(int Gh, int H, const float *W, double *radius, double *sigma)
{
    (void)H, (void)W;
    for (int g = 0; g < Gh; g++) radius[g] = sigma[g] = 0;
}

/* rows (2N, 2N) = diag(coef) R: unit n's rows re and im */
static void cdiag_jac(int Gh, int U, const double *W, const double *coef, double *rows, size_t ld)
{
    (void)Gh;
    const int N = U / 2;
    for (int j = 0; j < U; j++)
        for (int k = 0; k < U; k++) rows[(size_t)j * ld + k] = 0;
    for (int n = 0; n < N; n++) {
        double *re = rows + (size_t)n * ld, *im = rows + (size_t)(N + n) * ld;
        re[n] = coef[n] * W[n], re[N + n] = -coef[n] * W[N + n];
        im[n] = coef[N + n] * W[N + n], im[N + n] = coef[N + n] * W[n];
    }
}

static void cdiag_jac_adj(int Gh, int U, const double *W, const double *coef, const double *jbar, size_t ld, double *dW,
                          double *coef_bar)
{
    (void)Gh;
    const int N = U / 2;
    for (int n = 0; n < N; n++) {
        const double *re = jbar + (size_t)n * ld, *im = jbar + (size_t)(N + n) * ld;
        dW[n] += coef[n] * re[n] + coef[N + n] * im[N + n];
        dW[N + n] += -coef[n] * re[N + n] + coef[N + n] * im[n];
        coef_bar[n] += re[n] * W[n] - re[N + n] * W[N + n];
        coef_bar[N + n] += im[n] * W[N + n] + im[N + n] * W[n];
    }
}

/* a normal matrix: both are max |lambda| */
static void cdiag_stats(int Gh, int U, const float *W, double *radius, double *sigma)
{
    (void)Gh;
    radius[0] = 0;
    for (int n = 0; n < U / 2; n++) radius[0] = fmax(radius[0], hypot(W[n], W[U / 2 + n]));
    sigma[0] = radius[0];
}

extern const rl_recur_ops_f32 rl_recur_dense_ops_f32, rl_recur_diag_ops_f32, rl_recur_none_ops_f32,
    rl_recur_cdiag_ops_f32;

static const rl_recur_desc table[RL_RECUR_COUNT] = {
    [RL_RECUR_DENSE] = {RL_RECUR_DENSE, "dense", 2, 0, 1, 0, 0, &rl_recur_dense_ops_f32, &rl_recur_dense_ops_f64, dense_jac,
                        dense_jac_adj, dense_stats},
    [RL_RECUR_DIAG] = {RL_RECUR_DIAG, "diagonal", 1, 1, 0, 1, 1, &rl_recur_diag_ops_f32, &rl_recur_diag_ops_f64, diag_jac,
                       diag_jac_adj, diag_stats},
    [RL_RECUR_NONE] = {RL_RECUR_NONE, "none", 0, 0, 0, 0, 1, &rl_recur_none_ops_f32, &rl_recur_none_ops_f64, none_jac,
                       none_jac_adj, none_stats},
    [RL_RECUR_CDIAG] = {RL_RECUR_CDIAG, "complex diagonal", 0, 1, 0, 0, 2, &rl_recur_cdiag_ops_f32, &rl_recur_cdiag_ops_f64,
                        cdiag_jac, cdiag_jac_adj, cdiag_stats},
};

/* every kind has its row */
_Static_assert(sizeof table / sizeof table[0] == RL_RECUR_COUNT, "a recurrence without its row");

const rl_recur_desc *rl_recur_of(rl_recur k)
{
    RL_ASSERT((unsigned)k < RL_RECUR_COUNT && table[k].kind == k && table[k].f32 && table[k].jac);
    return &table[k];
}
#endif
