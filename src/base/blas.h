/* The BLAS kernel check (src/blas.c): private to the library and its tests. */
#ifndef RL_BLAS_H
#define RL_BLAS_H

/* The best OpenBLAS kernel a CPU with these RL_CPU_* features runs:
 * "SkylakeX" (AVX-512 F, BW, DQ and VL with AVX2 and FMA), "Haswell" (AVX2 and
 * FMA), "Sandybridge" (AVX), or NULL (nothing better than SSE). */
const char *rl_blas_best(unsigned features);

/* The kernel to switch OpenBLAS to when it runs `current`, or NULL to keep
 * it: rl_blas_best(features) when `current` is a generic kernel rnnlab knows
 * of a lower vector class (SSE < AVX < AVX2 < AVX-512) than that. Kept: an
 * unknown name (it may be newer than rnnlab's table), the kernels OpenBLAS
 * picks only for AMD CPUs it recognised (Zen, Excavator, ...), and any kernel
 * of the same or a higher class (Cooperlake, SkylakeX): never a downgrade.
 * Names compare without regard to case. */
const char *rl_blas_choose(const char *current, unsigned features);

/* Run the check once (pthread_once); later calls return at once. */
void rl_blas_check_once(void);

#endif
