/* The fuzz targets of the readers of a user's data files (src/io/arrays.h,
 * src/io/csv.h): bytes as .npy, .npz, IDX and CSV, and what reads well on
 * through the checks of a file of sequences (src/train/seqset.c). Shared,
 * as tests/fuzz_targets.c, by the libFuzzer harnesses and by the test that
 * replays tests/fuzz/. */
#include "fuzz_targets.h"

#include "io/arrays.h"
#include "io/csv.h"
#include "train/dataset.h"

#include <string.h>

/* A set that parsed: every array read element by element, then as a file
 * of sequences with each loss and with a model's 3 classes. */
static void use_set(const ar_set *s)
{
    double sum = 0;
    for (int i = 0; i < s->n; i++)
        if (s->a[i].dtype != AR_OTHER && s->a[i].numel <= (1u << 22))
            for (size_t k = 0; k < s->a[i].numel; k++) sum += ar_get(&s->a[i], k);
    (void)sum;
    const int loss[3] = {-1, RL_LOSS_MSE, RL_LOSS_CE}, classes[3] = {0, 0, 3};
    for (int k = 0; k < 3; k++) {
        rl_seqset q;
        if (rl_seqset_from_arrays(&q, s, loss[k], classes[k]) == RL_OK) rl_seqset_free(&q);
    }
}

/* Bytes through one of the array readers; a set that parsed is used. */
static int fuzz_arrays(rl_status (*parse)(ar_set *, const void *, size_t, const char *), const uint8_t *data, size_t size,
                       const char *name)
{
    ar_set s;
    if (parse(&s, data, size, name) != RL_OK) return 0;
    use_set(&s);
    ar_close(&s);
    return 0;
}

int fuzz_npy(const uint8_t *data, size_t size) { return fuzz_arrays(ar_parse_npy, data, size, "x.npy"); }
int fuzz_npz(const uint8_t *data, size_t size) { return fuzz_arrays(ar_parse_npz, data, size, "fuzz.npz"); }
int fuzz_idx(const uint8_t *data, size_t size) { return fuzz_arrays(ar_parse_idx, data, size, "fuzz-ubyte"); }

/* A table: its first, last and every column by number, then by name. */
int fuzz_csv(const uint8_t *data, size_t size)
{
    csv_table t;
    if (csv_parse(&t, data, size, "fuzz.csv") != RL_OK) return 0;
    int idx[4], n = 0;
    static double out[1 << 16];
    char list[32];
    snprintf(list, sizeof list, "1,%d", t.cols);
    if (t.rows * 2 <= (int64_t)(sizeof out / sizeof out[0]) && csv_columns(&t, t.cols > 1 ? list : "1", "--inputs", idx, 4, &n) == RL_OK)
        csv_numbers(&t, idx, n, out);
    if (t.cols > 0 && csv_columns(&t, t.names[0], "--targets", idx, 4, &n) == RL_OK && t.rows <= (int64_t)(sizeof out / sizeof out[0]))
        csv_numbers(&t, idx, n, out);
    csv_close(&t);
    return 0;
}
