/* rnnlab's GEMM: C = alpha op(A) op(B) + beta C (row-major) cut into
 * panels of rows or columns whose shapes depend on (M, N, K) alone, the
 * panels shared among rnnlab's threads, OpenBLAS on one thread in each, so
 * that any thread count gives the same bits. Compiled once per real type
 * (base/real.h). */
#include "base/real.h"

typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, by_rows, panels;
    real alpha, beta;
    const real *A, *B;
    real *C;
    int lda, ldb, ldc;
} gemm_job;

typedef struct {
    gemm_job g;
    int panel;
} gemm_panels;

static void gemm_part(void *p, int part, int parts)
{
    const gemm_panels *gp = p;
    const gemm_job *g = &gp->g;
    const int PANEL = gp->panel;
    int k0, k1, n = g->by_rows ? g->M : g->N;
    rl_part_range(g->panels, part, parts, &k0, &k1);
    for (int k = k0; k < k1; k++) {
        int lo = k * PANEL, w = n - lo < PANEL ? n - lo : PANEL;
        if (g->by_rows)
            GEMM(CblasRowMajor, g->ta, g->tb, w, g->N, g->K, g->alpha,
                 g->ta == CblasNoTrans ? g->A + (size_t)lo * g->lda : g->A + lo, g->lda, g->B, g->ldb, g->beta,
                 g->C + (size_t)lo * g->ldc, g->ldc);
        else
            GEMM(CblasRowMajor, g->ta, g->tb, g->M, w, g->K, g->alpha, g->A, g->lda,
                 g->tb == CblasNoTrans ? g->B + lo : g->B + (size_t)lo * g->ldb, g->ldb, g->beta, g->C + lo, g->ldc);
    }
}

static void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, real alpha, const real *A, int lda,
                   const real *B, int ldb, real beta, real *C, int ldc)
{
    int by_rows = M >= N, n = by_rows ? M : N;
    /* once the GEMM is worth two threads (about 2 MFLOP), up to sixteen
     * panels of rows (or columns), at least 128 wide and cut at multiples of
     * 16: the cut depends on the shape alone */
    int panel = ((n + 255) / 256) * 16, panels;
    if (panel < 128) panel = 128;
    panels = (n + panel - 1) / panel;
    /* at least 4 MFLOP a panel (tens of microseconds): less is not worth a thread;
     * the fewer panels are widened to cover all n rows (or columns), and
     * counted again from the width (its rounding to 16 can leave one empty) */
    if ((double)M * N * K / (1 << 21) < panels) {
        panels = (int)((double)M * N * K / (1 << 21));
        if (panels < 1) panels = 1;
        panel = ((n + panels - 1) / panels + 15) / 16 * 16;
        panels = (n + panel - 1) / panel;
    }
    gemm_panels g = {{ta, tb, M, N, K, by_rows, panels, alpha, beta, A, B, C, lda, ldb, ldc}, panel};
    int parts = rl_get_num_threads() < panels ? rl_get_num_threads() : panels;
    if (panels == 1)
        GEMM(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        rl_parallel(parts, gemm_part, &g, NULL);
}

/* This file's functions by their names in each precision (real.h). */
#ifdef RL_REAL_F64
void rl_gemm_f64(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha, const double *A, int lda,
                 const double *B, int ldb, double beta, double *C, int ldc)
{
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#else
void rl_gemm_f32(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
