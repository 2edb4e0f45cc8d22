/* Private to the library: a user's sequences as a task's data (docs/files.md,
 * "Sequence data"; docs/training.md, "Your own data"). Three sources:
 *
 *   a file of arrays (src/train/seqset.c): x (N, T, I) float; y one of
 *     (N, T, O) float, (N, T) integer class ids, (N, O) float or (N,)
 *     integer (one target per sequence, at its last valid step); optional
 *     mask (N, T) of 0/1 and lengths (N,);
 *   the MNIST files (src/train/mnist.c): each image as R*C steps of one
 *     pixel in [0, 1], the class at the last step, the pixels in a fixed
 *     permutation for psmnist;
 *   a CSV series (src/train/windows.c): windows of T rows of the input
 *     columns, each step's target the target columns K rows later.
 *
 * A dataset has two parts: the sequences training draws from, and the
 * ones validation (or a test) scores, never the same ones. */
#ifndef RL_DATASET_H
#define RL_DATASET_H

#include "io/arrays.h"
#include "net/net.h"

/* What the targets are, from y's shape and dtype. */
typedef enum {
    RL_Y_STEP_REAL,  /* (N, T, O) float: every counted step */
    RL_Y_STEP_CLASS, /* (N, T) ids */
    RL_Y_SEQ_REAL,   /* (N, O) float: at the last counted step */
    RL_Y_SEQ_CLASS   /* (N,) ids */
} rl_ykind;

/* Sequences in memory. x is float32 (N, T, I), or uint8 pixels x8 (N,
 * T*I) read as x8 * x8_scale (MNIST: a quarter of the memory); perm (T):
 * step t of a sequence reads its stored step perm[t] (psmnist), or NULL. */
typedef struct {
    int64_t n;
    int T, I, O;
    rl_ykind ykind;
    float *x;          /* (n, T, I), or NULL with x8 */
    uint8_t *x8;       /* (n, T, I) */
    float x8_scale;
    const int32_t *perm;
    float *y;          /* real targets: (n, T, O) or (n, O); NULL for ids */
    int32_t *cls;      /* ids: (n, T) or (n); NULL for real targets */
    uint8_t *mask;     /* (n, T): 1 where a step counts; NULL: every step */
    int32_t *last;     /* (n): the last step that counts */
} rl_seqset;

/* Sequences [first, first + count) of a set. */
typedef struct {
    const rl_seqset *set;
    int64_t first, count;
} rl_seqrange;

/* A CSV series: rows of inputs (rows, I) and targets (rows, O); a part is
 * the rows [lo, hi) whose windows (T input rows, targets K rows later)
 * lie wholly inside it. */
typedef struct {
    int64_t rows;
    int I, O, T, K;
    float *in, *out;
} rl_series;

typedef struct {
    int64_t lo, hi;
} rl_rowrange;

typedef struct {
    int mnist;                /* 1: path is the MNIST folder (smnist), else a file of arrays or a CSV series */
    int permute;              /* MNIST: the pixels in the permutation of perm_seed (psmnist) */
    const char *path;         /* the data: a file of arrays, a CSV series, the MNIST folder */
    const char *valid_path;   /* validation sequences from this file (files of arrays), or NULL */
    double valid_split;       /* the fraction held out for validation (0: the source's default) */
    double test_split;        /* CSV: the fraction at the end kept for the test (0: the default) */
    int loss;                 /* -1: from y; else an rl_loss */
    const char *inputs, *targets; /* CSV: the columns */
    int window, horizon;      /* CSV: T and K */
    int for_test;             /* the scored part is the test's (eval): else validation's (training) */
    int min_classes;          /* cross-entropy: at least this many outputs (the model's), 0: from the data */
    uint64_t perm_seed;       /* psmnist: the permutation's seed */
} rl_dataset_options;

/* The defaults of the options' zeros (docs/training.md). */
#define RL_DATA_VALID_SPLIT 0.1   /* a file of arrays without --valid: its last tenth */
#define RL_CSV_VALID_SPLIT 0.15   /* a CSV series: 70% train, 15% validation, 15% test, in time order */
#define RL_CSV_TEST_SPLIT 0.15
#define RL_PSMNIST_SEED 1         /* psmnist's permutation (--perm-seed) */
#define RL_DATA_MAX_SEQS 2000000000 /* sequences of a file (rows of a batch index are int) */

typedef struct rl_dataset {
    rl_seqset own[2];         /* the storage: the data's, and a validation file's */
    int nown;
    rl_seqrange train, eval;  /* sequences: each part */
    int32_t *perm;            /* psmnist's permutation (T) */
    rl_series series;         /* CSV */
    rl_rowrange train_rows, eval_rows;
    int is_series;
    int T, I, O;
    rl_loss loss;
    int64_t train_n, eval_n;  /* sequences (windows) in each part; eval: scored in order */
    double baseline;          /* the loss of the memoryless baseline on the scored part */
    double baseline_accuracy; /* cross-entropy: the majority training class's share of it; else NaN */
    char what[160];           /* "x.npz: 900 training, 100 validation sequences" */
} rl_dataset;

rl_status rl_dataset_new(rl_dataset **out, const rl_dataset_options *o);
void rl_dataset_free(rl_dataset *ds);
/* Fill d (B sequences, float32) with: split 0, sequences drawn uniformly
 * with replacement from the training part by r (CSV: windows at uniform
 * starts); split 1, row b the scored part's sequence pos[b] (window
 * pos[b]), then pos[b] += B; a row past its end is all zeros with mask 0. */
rl_status rl_dataset_fill(const rl_dataset *ds, rl_data *d, rl_rng *r, int split, int64_t *pos);

/* The sources (each fills ds's parts and sizes; the baselines are then
 * computed by rl_dataset_new). */
/* A file's arrays as sequences (loss -1: from y; min_classes: a model's
 * classes, 0: from the data); s is empty on failure. */
rl_status rl_seqset_from_arrays(rl_seqset *s, const ar_set *a, int loss, int min_classes);
void rl_seqset_free(rl_seqset *s);
rl_status rl_dataset_mnist(rl_dataset *ds, const rl_dataset_options *o);
rl_status rl_dataset_windows(rl_dataset *ds, const rl_dataset_options *o);

#endif
