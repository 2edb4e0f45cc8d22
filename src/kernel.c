/* The float32 GEMM of one recurrent step with W_hh packed once per pass.
 *
 * A step multiplies a few rows (a block of sequences) by the same W_hh at
 * every one of T steps. OpenBLAS copies the whole of W_hh into its packed
 * layout on every call: at H = 1024 that copy took a third of the time of the
 * step (docs/performance.md). Here W_hh is packed once per forward or backward
 * pass into panels of 24 columns, and a 4 x 24 AVX2/FMA micro-kernel reads the
 * panels in place. Each element of C is one FMA chain over k = 0..K-1 in
 * order, whatever the number of rows or threads, so the results do not depend
 * on how the batch is split. Without AVX2 and FMA (or with RL_NO_CLONES) the
 * caller keeps to OpenBLAS. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(RL_NO_CLONES)
#define HAVE_AVX2_KERNEL 1
#include <immintrin.h>
#endif

#define NR 24 /* columns per panel: 4 x 24 = 12 accumulators, enough to keep both FMA units busy */

size_t rl_pack_size(int N, int K) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)K; }
int rl_pack_panels(int N) { return (N + NR - 1) / NR; }
int rl_pack_panel_width(void) { return NR; }
size_t rl_step_pack_size(int Gh, int H)
{
    size_t fw = (size_t)Gh * rl_pack_size(H, H), bw = rl_pack_size(H, Gh * H);
    return fw > bw ? fw : bw;
}
/* W_hh larger than two cores' L2 caches (512 KB each here): lockstep pays */
size_t rl_lockstep_min_bytes = (size_t)1 << 20;

void rl_pack_nt(float *wp, const float *W, int N, int K)
{
    for (int p = 0; p * NR < N; p++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < NR; c++) {
                int n = p * NR + c;
                wp[((size_t)p * K + k) * NR + c] = n < N ? W[(size_t)n * K + k] : 0;
            }
}

void rl_pack_nn(float *wp, const float *W, int K, int N)
{
    for (int p = 0; p * NR < N; p++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < NR; c++) {
                int n = p * NR + c;
                wp[((size_t)p * K + k) * NR + c] = n < N ? W[(size_t)k * N + n] : 0;
            }
}

#ifdef HAVE_AVX2_KERNEL
int rl_packed_kernel(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return have;
}

/* rows [i, i + R) of C (R = 1..4) against panel p: acc = sum_k A[r][k] B[k][:];
 * rows past R repeat row 0 and are not stored */
__attribute__((target("avx2,fma"))) static inline void tile(int R, int K, const float *A, int lda, const float *b,
                                                             float *C, int ldc, int w)
{
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
           c10 = c0, c11 = c0;
    const float *a0 = A, *a1 = A + (R > 1 ? lda : 0), *a2 = A + (R > 2 ? 2 * lda : 0), *a3 = A + (R > 3 ? 3 * lda : 0);
    for (int k = 0; k < K; k++) {
        const float *bk = b + (size_t)k * NR;
        __m256 b0 = _mm256_load_ps(bk), b1 = _mm256_load_ps(bk + 8), b2 = _mm256_load_ps(bk + 16);
        __m256 x = _mm256_broadcast_ss(a0 + k);
        c0 = _mm256_fmadd_ps(x, b0, c0), c1 = _mm256_fmadd_ps(x, b1, c1), c2 = _mm256_fmadd_ps(x, b2, c2);
        x = _mm256_broadcast_ss(a1 + k);
        c3 = _mm256_fmadd_ps(x, b0, c3), c4 = _mm256_fmadd_ps(x, b1, c4), c5 = _mm256_fmadd_ps(x, b2, c5);
        x = _mm256_broadcast_ss(a2 + k);
        c6 = _mm256_fmadd_ps(x, b0, c6), c7 = _mm256_fmadd_ps(x, b1, c7), c8 = _mm256_fmadd_ps(x, b2, c8);
        x = _mm256_broadcast_ss(a3 + k);
        c9 = _mm256_fmadd_ps(x, b0, c9), c10 = _mm256_fmadd_ps(x, b1, c10), c11 = _mm256_fmadd_ps(x, b2, c11);
    }
    __m256 acc[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    for (int r = 0; r < R; r++) {
        float *cr = C + (size_t)r * ldc;
        if (w == NR) {
            for (int v = 0; v < 3; v++)
                _mm256_storeu_ps(cr + 8 * v, _mm256_add_ps(_mm256_loadu_ps(cr + 8 * v), acc[3 * r + v]));
        } else {
            float t[NR];
            for (int v = 0; v < 3; v++) _mm256_storeu_ps(t + 8 * v, acc[3 * r + v]);
            for (int c = 0; c < w; c++) cr[c] += t[c];
        }
    }
}

__attribute__((target("avx2,fma"))) void rl_gemm_packed_cols(int M, int N, int K, const float *A, int lda,
                                                              const float *wp, float *C, int ldc, int p0, int p1)
{
    for (int p = p0; p < p1; p++) {
        const float *b = wp + (size_t)p * K * NR;
        int w = N - p * NR < NR ? N - p * NR : NR;
        for (int i = 0; i < M; i += 4)
            tile(M - i < 4 ? M - i : 4, K, A + (size_t)i * lda, lda, b, C + (size_t)i * ldc + p * NR, ldc, w);
    }
}

void rl_gemm_packed(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc)
{
    rl_gemm_packed_cols(M, N, K, A, lda, wp, C, ldc, 0, rl_pack_panels(N));
}
#else
int rl_packed_kernel(void) { return 0; }

void rl_gemm_packed_cols(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int p0,
                         int p1)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc, (void)p0, (void)p1;
    RL_UNREACHABLE("rl_gemm_packed without the AVX2 kernel");
}

void rl_gemm_packed(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc)
{
    rl_gemm_packed_cols(M, N, K, A, lda, wp, C, ldc, 0, rl_pack_panels(N));
}
#endif
