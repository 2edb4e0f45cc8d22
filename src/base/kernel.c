/* The float32 GEMM of one recurrent step with W_hh packed once per pass.
 *
 * A step multiplies a few rows (a block of sequences) by the same W_hh at
 * every one of T steps. OpenBLAS copies the whole of W_hh into its packed
 * layout on every call: at H = 1024 that copy took a third of the time of the
 * step (docs/performance.md). Here W_hh is packed once per forward or backward
 * pass into panels of NR columns, and a micro-kernel reads the panels in
 * place: 4 rows x 24 columns with AVX2 and FMA (12 accumulators), or with
 * AVX-512 8 rows x 48 columns (24 of the 32 zmm registers). A panel holds NR
 * columns; the last one only what is left, rounded up to the vector width,
 * so that no H pays for a mostly empty panel.
 *
 * Each element of C is one FMA chain over k = 0..K-1 in order, started from
 * zero and added to C at the end, whatever the kernel, the number of rows
 * or the threads: the two kernels give the same bits, and the results do not
 * depend on how the batch is split. Without AVX2 and FMA (or with
 * RL_NO_CLONES) the caller keeps to OpenBLAS. */
#include "base/internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(RL_NO_CLONES)
#define HAVE_KERNELS 1
#include <immintrin.h>
#endif

/* The kernel in use: RL_KERNEL_NONE, _AVX2 or _AVX512; the best the CPU
 * runs, or RNNLAB_KERNEL=none|avx2|avx512 (no better than the CPU runs). */
static int kernel = -1;

static int cpu_best(void)
{
#ifdef HAVE_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq"))
        return RL_KERNEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RL_KERNEL_AVX2;
#endif
    return RL_KERNEL_NONE;
}

int rl_packed_kernel(void)
{
    if (kernel < 0) {
        int best = cpu_best(), want = best;
        const char *e = getenv("RNNLAB_KERNEL");
        if (e && strcmp(e, "none") == 0) want = RL_KERNEL_NONE;
        if (e && strcmp(e, "avx2") == 0) want = RL_KERNEL_AVX2;
        kernel = want < best ? want : best;
    }
    return kernel;
}

int rl_set_packed_kernel(int k)
{
    int best = cpu_best();
    kernel = k < 0 ? -1 : k > best ? best : k;
    return rl_packed_kernel();
}

const char *rl_packed_kernel_name(void)
{
    static const char *const names[] = {"none (OpenBLAS)", "avx2 4x24", "avx512 8x48"};
    return names[rl_packed_kernel()];
}

/* columns of a full panel, and the vector width the last one rounds up to */
static int nr(void) { return rl_packed_kernel() == RL_KERNEL_AVX512 ? 48 : 24; }
static int vw(void) { return rl_packed_kernel() == RL_KERNEL_AVX512 ? 16 : 24; }

int rl_pack_panels(int N) { return (N + nr() - 1) / nr(); }
int rl_pack_panel_width(void) { return nr(); }
int rl_pack_chunk(void) { return rl_packed_kernel() == RL_KERNEL_AVX512 ? 16 : nr(); }
/* width as stored of panel p of N columns */
static int stored_width(int N, int p)
{
    int w = N - p * nr();
    return w >= nr() ? nr() : (w + vw() - 1) / vw() * vw();
}
size_t rl_pack_size(int N, int K)
{
    int p = rl_pack_panels(N);
    return p ? ((size_t)(p - 1) * nr() + (size_t)stored_width(N, p - 1)) * (size_t)K : 0;
}
size_t rl_step_pack_size(int Gh, int H)
{
    size_t fw = (size_t)Gh * rl_pack_size(H, H), bw = rl_pack_size(H, Gh * H);
    return fw > bw ? fw : bw;
}
/* W_hh larger than two cores' L2 caches (512 KB each here): lockstep pays */
size_t rl_lockstep_min_bytes = (size_t)1 << 20;
/* the time loop's thread plan (src/loop.c), and its knobs for measuring:
 * RNNLAB_STEP_MIN_WORK (FLOPs a thread's share of a step must reach) and
 * RNNLAB_LOCKSTEP (0 never, 1 whenever the kernel allows) */
double rl_step_min_work = 2e6;
int rl_lockstep_mode = -1;

__attribute__((constructor)) static void plan_knobs(void)
{
    const char *w = getenv("RNNLAB_STEP_MIN_WORK"), *l = getenv("RNNLAB_LOCKSTEP");
    if (w && strtod(w, NULL) > 0) rl_step_min_work = strtod(w, NULL);
    if (l && (strcmp(l, "0") == 0 || strcmp(l, "1") == 0)) rl_lockstep_mode = l[0] - '0';
}

/* element (n, k) of the operand at wp: panel n / NR, k-th row of it; the
 * panels [p0, p1) only */
static void pack(float *wp, const float *W, int N, int K, size_t sn, size_t sk, int p0, int p1)
{
    const int R = nr();
    for (int p = p0; p < p1; p++) {
        int ws = stored_width(N, p);
        float *panel = wp + (size_t)p * R * K;
        for (int k = 0; k < K; k++)
            for (int c = 0; c < ws; c++) {
                int n = p * R + c;
                panel[(size_t)k * ws + c] = n < N ? W[(size_t)n * sn + (size_t)k * sk] : 0;
            }
    }
}
void rl_pack_nt(float *wp, const float *W, int N, int K) { pack(wp, W, N, K, (size_t)K, 1, 0, rl_pack_panels(N)); }
void rl_pack_nn(float *wp, const float *W, int K, int N) { pack(wp, W, N, K, 1, (size_t)N, 0, rl_pack_panels(N)); }
void rl_pack_nt_panels(float *wp, const float *W, int N, int K, int p0, int p1) { pack(wp, W, N, K, (size_t)K, 1, p0, p1); }
void rl_pack_nn_panels(float *wp, const float *W, int K, int N, int p0, int p1) { pack(wp, W, N, K, 1, (size_t)N, p0, p1); }

#ifdef HAVE_KERNELS
/* AVX2: rows [i, i + R) of C (R = 1..4) against one panel of stored width 24:
 * acc = sum_k A[r][k] b[k][:]; rows past R repeat row 0 and are not stored */
__attribute__((target("avx2,fma"))) static inline void tile24(int R, int K, const float *A, int lda, const float *b,
                                                               float *C, int ldc, int w)
{
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
           c10 = c0, c11 = c0;
    const float *a0 = A, *a1 = A + (R > 1 ? lda : 0), *a2 = A + (R > 2 ? 2 * lda : 0), *a3 = A + (R > 3 ? 3 * lda : 0);
    for (int k = 0; k < K; k++) {
        const float *bk = b + (size_t)k * 24;
        __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8), b2 = _mm256_loadu_ps(bk + 16);
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
        if (w == 24) {
            for (int v = 0; v < 3; v++)
                _mm256_storeu_ps(cr + 8 * v, _mm256_add_ps(_mm256_loadu_ps(cr + 8 * v), acc[3 * r + v]));
        } else {
            float t[24];
            for (int v = 0; v < 3; v++) _mm256_storeu_ps(t + 8 * v, acc[3 * r + v]);
            for (int c = 0; c < w; c++) cr[c] += t[c];
        }
    }
}

__attribute__((target("avx2,fma"))) static void cols_avx2(int M, int N, int K, const float *A, int lda, const float *wp,
                                                           float *C, int ldc, int p0, int p1)
{
    for (int p = p0; p < p1; p++) {
        const float *b = wp + (size_t)p * 24 * K;
        int w = N - p * 24 < 24 ? N - p * 24 : 24;
        for (int i = 0; i < M; i += 4)
            tile24(M - i < 4 ? M - i : 4, K, A + (size_t)i * lda, lda, b, C + (size_t)i * ldc + p * 24, ldc, w);
    }
}

/* AVX-512: R (1..8) rows against V (1..3) vectors of 16 columns of a panel
 * whose rows are ws floats apart; w columns are stored. R and V are
 * constants where it is called, so each pair is compiled on its own with
 * its accumulators in registers. */
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
AVX512 static inline __attribute__((always_inline)) void tile16(const int R, const int V, int K, const float *A, int lda,
                                                                 const float *b, int ws, float *C, int ldc, int w)
{
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *bk = b + (size_t)k * ws;
        __m512 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < V; v++) bv[v] = _mm512_loadu_ps(bk + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(A[(size_t)r * lda + k]);
#pragma GCC unroll 3
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *cr = C + (size_t)r * ldc;
        for (int v = 0; v < V; v++) {
            int left = w - 16 * v;
            if (left <= 0) break;
            __mmask16 mk = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 c = _mm512_maskz_loadu_ps(mk, cr + 16 * v);
            _mm512_mask_storeu_ps(cr + 16 * v, mk, _mm512_add_ps(c, acc[r][v]));
        }
    }
}

#define TILE_R(V)                                                                                              \
    switch (R) {                                                                                               \
    case 1: tile16(1, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 2: tile16(2, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 3: tile16(3, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 4: tile16(4, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 5: tile16(5, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 6: tile16(6, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    case 7: tile16(7, V, K, A, lda, b, ws, C, ldc, w); break;                                                      \
    default: tile16(8, V, K, A, lda, b, ws, C, ldc, w); break;                                                     \
    }

AVX512 static void tile_avx512(int R, int V, int K, const float *A, int lda, const float *b, int ws, float *C, int ldc,
                               int w)
{
    if (V == 3) TILE_R(3)
    else if (V == 2) TILE_R(2)
    else TILE_R(1)
}

/* the columns [n0, n1) of C (n0 a multiple of 16): in each panel they
 * touch, the vectors of 16 that hold them */
AVX512 static void range_avx512(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int n0,
                                int n1)
{
    for (int p = n0 / 48; p * 48 < n1; p++) {
        const float *b = wp + (size_t)p * 48 * K;
        int lo = (n0 > p * 48 ? n0 : p * 48) - p * 48, hi = (n1 < p * 48 + 48 ? n1 : p * 48 + 48) - p * 48;
        int v0 = lo / 16, V = (hi + 15) / 16 - v0, ws = stored_width(N, p);
        for (int i = 0; i < M; i += 8)
            tile_avx512(M - i < 8 ? M - i : 8, V, K, A + (size_t)i * lda, lda, b + 16 * v0, ws,
                        C + (size_t)i * ldc + p * 48 + 16 * v0, ldc, hi - 16 * v0);
    }
}

void rl_gemm_packed_cols(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int p0,
                         int p1)
{
    rl_gemm_packed_range(M, N, K, A, lda, wp, C, ldc, p0 * nr(), p1 * nr() < N ? p1 * nr() : N);
}

void rl_gemm_packed_range(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int n0,
                          int n1)
{
    RL_ASSERT(n0 % rl_pack_chunk() == 0 && n0 <= n1 && n1 <= N);
    switch (rl_packed_kernel()) {
    case RL_KERNEL_AVX512: range_avx512(M, N, K, A, lda, wp, C, ldc, n0, n1); break;
    case RL_KERNEL_AVX2: cols_avx2(M, N, K, A, lda, wp, C, ldc, n0 / 24, (n1 + 23) / 24); break;
    default: RL_UNREACHABLE("rl_gemm_packed without a packed kernel");
    }
}
#else
void rl_gemm_packed_cols(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int p0,
                         int p1)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc, (void)p0, (void)p1;
    RL_UNREACHABLE("rl_gemm_packed without a packed kernel");
}
void rl_gemm_packed_range(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc, int n0,
                          int n1)
{
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)wp, (void)C, (void)ldc, (void)n0, (void)n1;
    RL_UNREACHABLE("rl_gemm_packed without a packed kernel");
}
#endif

void rl_gemm_packed(int M, int N, int K, const float *A, int lda, const float *wp, float *C, int ldc)
{
    rl_gemm_packed_cols(M, N, K, A, lda, wp, C, ldc, 0, rl_pack_panels(N));
}
