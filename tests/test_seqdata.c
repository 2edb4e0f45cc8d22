/* A user's sequences as a task's data (src/train/dataset.c and its
 * sources): every kind of target, masks and lengths, validation from a
 * file or a split, every malformed input refused with one message naming
 * the array and the defect, the MNIST tasks from small IDX files, and CSV
 * windows split by time. */
#include "datafiles.h"
#include "test.h"

#include "train/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A batch of B sequences for ds (the arrays a task's data object holds). */
static rl_data *batch_for(const rl_dataset *ds, int B)
{
    rl_data *d = calloc(1, sizeof *d);
    size_t BT = (size_t)B * ds->T;
    d->x = calloc(BT * ds->I, 4);
    d->mask = calloc(BT, 4);
    if (ds->loss == RL_LOSS_CE) d->target = calloc(BT, 4);
    else d->y = calloc(BT * ds->O, 4);
    d->b = (rl_batch){RL_F32, B, ds->T, ds->I, d->x, d->target, d->y, d->mask, NULL, NULL};
    return d;
}

/* The scored part into d from positions pos (the generator is not used). */
static rl_status fill_scored(const rl_dataset *ds, rl_data *d, int64_t *pos)
{
    rl_rng r;
    rl_rng_seed(&r, 0);
    return rl_dataset_fill(ds, d, &r, 1, pos);
}

static rl_dataset_options opts(const char *path)
{
    rl_dataset_options o = {0};
    o.path = path, o.loss = -1, o.horizon = 0, o.perm_seed = RL_PSMNIST_SEED;
    return o;
}

/* x[n][t][i] = 100 n + 10 t + i: every value says where it came from */
static void fill_x(float *x, int N, int T, int I)
{
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            for (int i = 0; i < I; i++) x[((size_t)n * T + t) * I + i] = (float)(100 * n + 10 * t + i);
}

/* ------------------------------------------------------------------ the four kinds of target */

TEST(seqdata_every_target_kind)
{
    enum { N = 10, T = 4, I = 2, O = 3 };
    static float x[N * T * I], ystep[N * T * O], yseq[N * O];
    static int64_t cstep[N * T], cseq[N];
    fill_x(x, N, T, I);
    for (int k = 0; k < N * T * O; k++) ystep[k] = 0.5f * (float)k;
    for (int k = 0; k < N * O; k++) yseq[k] = -(float)k;
    for (int k = 0; k < N * T; k++) cstep[k] = k % 5;
    for (int k = 0; k < N; k++) cseq[k] = 2 + k % 3;
    static int32_t lengths[N];
    for (int k = 0; k < N; k++) lengths[k] = 1 + k % T;
    static const struct { const char *descr; int ndim; int64_t shape[3]; const void *data; rl_loss loss; int O; } y[4] = {
        {"<f4", 3, {N, T, O}, ystep, RL_LOSS_MSE, O},
        {"<i8", 2, {N, T}, cstep, RL_LOSS_CE, 5},
        {"<f4", 2, {N, O}, yseq, RL_LOSS_MSE, O},
        {"<i8", 1, {N}, cseq, RL_LOSS_CE, 5}};
    for (int kind = 0; kind < 4; kind++)
        for (int with_len = 0; with_len <= 1; with_len++) {
            npy_spec a[3] = {{"x", "<f4", 3, {N, T, I}, x}, {"y", y[kind].descr, y[kind].ndim, {0}, y[kind].data},
                             {"lengths", "<i4", 1, {N}, lengths}};
            memcpy(a[1].shape, y[kind].shape, sizeof a[1].shape);
            const char *p = NPZ_TMP("kinds.npz", a, 2 + with_len, kind % 2);
            rl_dataset_options o = opts(p);
            o.valid_split = 0.3; /* the last 3 sequences score */
            rl_dataset *ds = NULL;
            CHECK_OK(rl_dataset_new(&ds, &o));
            if (!ds) continue;
            CHECK_MSG(ds->T == T && ds->I == I && ds->O == y[kind].O && ds->loss == y[kind].loss && ds->train_n == 7 &&
                      ds->eval_n == 3, "kind %d: T %d I %d O %d loss %d, %lld + %lld", kind, ds->T, ds->I, ds->O, ds->loss,
                      (long long)ds->train_n, (long long)ds->eval_n);
            rl_data *d = batch_for(ds, 4);
            int64_t pos[4] = {0, 1, 2, 3};
            CHECK_OK(fill_scored(ds, d, pos));
            const float *bx = d->x, *bm = d->mask, *by = d->y;
            for (int b = 0; b < 3; b++) {
                const int n = 7 + b, len = with_len ? lengths[n] : T;
                CHECK(bx[((size_t)b * T + 2) * I + 1] == 100 * n + 21);
                for (int t = 0; t < T; t++) {
                    const int counted = kind < 2 ? t < len : t == len - 1;
                    CHECK_MSG(bm[b * T + t] == counted, "kind %d len %d: mask[%d][%d] = %g", kind, with_len, b, t, bm[b * T + t]);
                    if (kind == 0 && counted) CHECK(by[((size_t)b * T + t) * O + 2] == ystep[((size_t)n * T + t) * O + 2]);
                    if (kind == 1 && counted) CHECK(d->target[b * T + t] == cstep[n * T + t]);
                    if (kind == 2 && counted) CHECK(by[((size_t)b * T + t) * O + 1] == yseq[n * O + 1]);
                    if (kind == 3) CHECK(d->target[b * T + t] == (counted ? cseq[n] : 0));
                }
            }
            /* the row past the end: zeros, mask 0; each position advanced by B */
            for (int t = 0; t < T; t++) CHECK(bm[3 * T + t] == 0 && bx[(3 * T + t) * I] == 0);
            CHECK(pos[0] == 4 && pos[3] == 7);
            /* training draws from the first 7 only */
            rl_rng r;
            rl_rng_seed(&r, 7);
            for (int rep = 0; rep < 20; rep++) {
                CHECK_OK(rl_dataset_fill(ds, d, &r, 0, NULL));
                for (int b = 0; b < 4; b++) CHECK(bx[(size_t)b * T * I] < 700);
            }
            free(d->x), free(d->mask), free(d->y), free(d->target), free(d);
            rl_dataset_free(ds);
        }
}

/* Integer targets with --loss mse: their values, one output; float ones
 * with cross_entropy: refused. */
TEST(seqdata_loss_override)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t c[3] = {4, 0, 7};
    float yf[3] = {1, 2, 3};
    npy_spec a[2] = {{"x", "<f4", 3, {3, 2, 1}, x}, {"y", "<i8", 1, {3}, c}};
    const char *p = NPZ_TMP("ovr.npz", a, 2, 0);
    rl_dataset_options o = opts(p);
    o.loss = RL_LOSS_MSE, o.for_test = 1;
    rl_dataset *ds = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) {
        CHECK(ds->loss == RL_LOSS_MSE && ds->O == 1 && ds->eval_n == 3);
        rl_data *d = batch_for(ds, 3);
        int64_t pos[3] = {0, 1, 2};
        CHECK_OK(fill_scored(ds, d, pos));
        CHECK(((float *)d->y)[1] == 4 && ((float *)d->y)[3] == 0 && ((float *)d->y)[5] == 7);
        /* a test without a training part: the baseline from the scored part itself (mean 11/3) */
        double m = 11.0 / 3, want = ((4 - m) * (4 - m) + m * m + (7 - m) * (7 - m)) / 3;
        CHECK(fabs(ds->baseline - want) < 1e-12);
        free(d->x), free(d->mask), free(d->y), free(d);
        rl_dataset_free(ds);
    }
    a[1] = (npy_spec){"y", "<f4", 2, {3, 1}, yf};
    CHECK(npz_write_arrays(p, a, 2, 0) == 0);
    o.loss = RL_LOSS_CE;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "y is float32, but the loss is cross_entropy (--loss, or the model's), which needs integer class ids");
    (void)yf;
}

/* The baselines by hand: the training mean against the scored targets;
 * the training classes' frequencies (one added to each) and the majority. */
TEST(seqdata_baselines)
{
    float x[8] = {0};
    float y[4] = {1, 3, 10, 20};       /* (4, 1): train 1, 3 (mean 2); validate 10, 20 */
    int64_t c[4] = {1, 1, 0, 1};       /* train 1, 1; validate 0, 1 */
    npy_spec a[2] = {{"x", "<f4", 3, {4, 2, 1}, x}, {"y", "<f4", 2, {4, 1}, y}};
    const char *p = NPZ_TMP("base.npz", a, 2, 0);
    rl_dataset_options o = opts(p);
    o.valid_split = 0.5;
    rl_dataset *ds = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK_MSG(fabs(ds->baseline - (64 + 324) / 2.0) < 1e-9 && isnan(ds->baseline_accuracy), "%g", ds->baseline);
    rl_dataset_free(ds);
    a[1] = (npy_spec){"y", "<i8", 1, {4}, c};
    CHECK(npz_write_arrays(p, a, 2, 0) == 0);
    CHECK_OK(rl_dataset_new(&ds, &o));
    /* p(0) = (0 + 1) / (2 + 2), p(1) = (2 + 1) / 4; the majority class 1 is right once in two */
    if (ds) CHECK_MSG(ds->O == 2 && fabs(ds->baseline - (-log(0.25) - log(0.75)) / 2) < 1e-12 && ds->baseline_accuracy == 0.5,
                      "O %d baseline %g accuracy %g", ds->O, ds->baseline, ds->baseline_accuracy);
    rl_dataset_free(ds);
}

/* A validation file: its own sequences; what does not match the training
 * file's is refused. A class only the validation file has is an output. */
TEST(seqdata_validation_file)
{
    float x[12] = {0}, x2[18] = {0};
    int64_t c[3] = {0, 1, 0}, c2[2] = {4, 1};
    npy_spec a[2] = {{"x", "<f4", 3, {3, 2, 2}, x}, {"y", "<i8", 1, {3}, c}};
    npy_spec v[2] = {{"x", "<f4", 3, {2, 2, 2}, x}, {"y", "<i8", 1, {2}, c2}};
    const char *tp = tmp_path("train.npz"), *vp = tmp_path("valid.npz");
    CHECK(npz_write_arrays(tp, a, 2, 0) == 0 && npz_write_arrays(vp, v, 2, 1) == 0);
    rl_dataset_options o = opts(tp);
    o.valid_path = vp;
    rl_dataset *ds = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->train_n == 3 && ds->eval_n == 2 && ds->O == 5);
    rl_dataset_free(ds);
    o.valid_split = 0.5;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "--valid FILE and --valid-split F: give one of them");
    o.valid_split = 0;
    v[0] = (npy_spec){"x", "<f4", 3, {2, 3, 3}, x2};
    v[1] = (npy_spec){"y", "<i8", 1, {2}, c2};
    CHECK(npz_write_arrays(vp, v, 2, 0) == 0);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "valid.npz: x has steps T = 3, the training data's 2");
    float yr[2] = {1, 2};
    v[0] = (npy_spec){"x", "<f4", 3, {2, 2, 2}, x};
    v[1] = (npy_spec){"y", "<f4", 2, {2, 1}, yr};
    CHECK(npz_write_arrays(vp, v, 2, 0) == 0);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "valid.npz: y is not the training data's kind of target (class ids per sequence)");
    /* a split that leaves no side */
    rl_dataset_options s = opts(tp);
    s.valid_split = 0.1;
    CHECK_FAILS(rl_dataset_new(&ds, &s), "--valid-split 0.1 of 3 sequences leaves no validation sequence");
    s.valid_split = 0.9;
    CHECK_FAILS(rl_dataset_new(&ds, &s), "leaves no training sequence");
}

/* ------------------------------------------------------------------ malformed files */

TEST(seqdata_refuses_every_malformed_input)
{
    enum { N = 3, T = 4, I = 2 };
    float x[N * T * I], xnan[N * T * I], y3[N * T * 2], ynan[N * T];
    int64_t cls[N * T], cneg[N * T], cseq[N] = {0, 1, 1}, cbig[N] = {0, 65536, 1};
    float mhalf[N * T], mzero[N * T], mok[N * T];
    int32_t len_past[N] = {4, 5, 1}, len_zero[N] = {4, 0, 1};
    float lfloat[N] = {1, 2, 3};
    int64_t one_class[N] = {0, 0, 0};
    for (int k = 0; k < N * T * I; k++) x[k] = xnan[k] = (float)k;
    xnan[13] = NAN;
    for (int k = 0; k < N * T * 2; k++) y3[k] = 1;
    for (int k = 0; k < N * T; k++) {
        cls[k] = cneg[k] = 1, mhalf[k] = mok[k] = 1, mzero[k] = 1, ynan[k] = 0.5f;
    }
    cneg[5] = -1;
    mhalf[6] = 0.5f;
    for (int t = 0; t < T; t++) mzero[T + t] = 0; /* sequence 1 has no step */
    ynan[7] = NAN;
    static const char *const nofile = NULL;
    (void)nofile;
    const struct {
        npy_spec a[4];
        int n;
        const char *want[3];
    } c[] = {
        {{{"y", "<i8", 1, {N}, cseq}}, 1, {"array 'x' is missing"}},
        {{{"x", "<f4", 3, {N, T, I}, x}}, 1, {"array 'y' is missing"}},
        {{{"x", "<f4", 2, {N, T * I}, x}, {"y", "<i8", 1, {N}, cseq}}, 2, {"x has shape (3, 8) and dtype float32", "(N, T, I)"}},
        {{{"x", "<i8", 3, {N, T, 1}, cls}, {"y", "<i8", 1, {N}, cseq}}, 2, {"x has shape (3, 4, 1) and dtype int64"}},
        {{{"x", "<f4", 3, {N, T, I}, xnan}, {"y", "<i8", 1, {N}, cseq}}, 2, {"x[1, 2, 1] is NaN"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N - 1}, cseq}}, 2, {"y has shape (2,) and dtype int64", "N = 3 and T = 4"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<f4", 3, {N, T - 1, 2}, y3}}, 2, {"y has shape (3, 3, 2)"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 2, {N, T}, cneg}}, 2, {"y[1, 1] is -1", "a class id must be in [0, 65536)"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cbig}}, 2, {"y[1] is 65536"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, one_class}}, 2, {"y holds class 0 only"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<f4", 2, {N, T}, ynan}}, 2, {"y[1, 3] is NaN"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"mask", "<f4", 2, {N, T}, mhalf}}, 3,
         {"mask[1, 2] is 0.5: a mask holds 0 or 1"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"mask", "<f4", 2, {N, T}, mzero}}, 3,
         {"sequence 1 has no step that counts"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"mask", "<f4", 2, {N, T - 1}, mok}}, 3,
         {"mask has shape (3, 3)", "(N, T) = (3, 4)"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"lengths", "<i4", 1, {N}, len_past}}, 3,
         {"lengths[1] is 5, past T = 4"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"lengths", "<i4", 1, {N}, len_zero}}, 3,
         {"lengths[1] is 0: a sequence needs one step at least"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"lengths", "<f4", 1, {N}, lfloat}}, 3,
         {"lengths must be (N,) = (3,) integers"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"h0", "<f4", 1, {N}, lfloat}}, 3,
         {"unexpected array 'h0'", "zero state"}},
        {{{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 1, {N}, cseq}, {"weights", "<f4", 1, {N}, lfloat}}, 3,
         {"unexpected array 'weights'"}},
        {{{"x", "<f4", 3, {N, 0, I}, x}, {"y", "<i8", 1, {N}, cseq}}, 2, {"x needs N, T and I of at least 1"}},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        const char *p = NPZ_TMP("bad.npz", c[k].a, c[k].n, 1);
        rl_dataset_options o = opts(p);
        o.for_test = 1;
        rl_dataset *ds = NULL;
        rl_status s = rl_dataset_new(&ds, &o);
        int ok = s != RL_OK && ds == NULL && strstr(rl_errmsg(), "bad.npz");
        for (int w = 0; ok && w < 3 && c[k].want[w]; w++) ok = strstr(rl_errmsg(), c[k].want[w]) != NULL;
        CHECK_MSG(ok, "case %zu: status %d '%s'", k, (int)s, s ? rl_errmsg() : "");
        rl_dataset_free(ds);
    }
    /* NaN and any class id where a step does not count: read as 0 */
    float m2[N * T];
    for (int k = 0; k < N * T; k++) m2[k] = k % T < 2;
    int64_t cpad[N * T];
    for (int k = 0; k < N * T; k++) cpad[k] = k % T < 2 ? 1 : -100;
    npy_spec ok[3] = {{"x", "<f4", 3, {N, T, I}, x}, {"y", "<i8", 2, {N, T}, cpad}, {"mask", "<f4", 2, {N, T}, m2}};
    const char *p = NPZ_TMP("pad.npz", ok, 3, 0);
    rl_dataset_options o = opts(p);
    o.for_test = 1;
    rl_dataset *ds = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->O == 2 && ds->own[0].cls[0] == 1 && ds->own[0].cls[3] == 0 && ds->eval_n == N);
    rl_dataset_free(ds);
}

/* ------------------------------------------------------------------ MNIST */

/* A small MNIST folder: n train and m test images of R x C pixels, pixel
 * (i, p) = (7 i + p) mod 256, label i mod 10. */
static const char *mnist_dir(const char *name, int n, int m, int R, int C, int gz)
{
    const char *dir = tmp_path(name);
    mkdir(dir, 0755);
    for (int part = 0; part < 2; part++) {
        const int k = part ? m : n;
        unsigned char *img = malloc((size_t)k * R * C + 1), *lab = malloc((size_t)k + 1);
        for (int i = 0; i < k; i++) {
            for (int p = 0; p < R * C; p++) img[(size_t)i * R * C + p] = (unsigned char)((7 * i + p) % 256);
            lab[i] = (unsigned char)(i % 10);
        }
        char path[1200];
        uint32_t d3[3] = {(uint32_t)k, (uint32_t)R, (uint32_t)C}, d1[1] = {(uint32_t)k};
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, part ? "t10k" : "train", gz ? ".gz" : "");
        CHECK(idx_write(path, 0x08, 3, d3, img, (size_t)k * R * C, gz) == 0);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, part ? "t10k" : "train", gz ? ".gz" : "");
        CHECK(idx_write(path, 0x08, 1, d1, lab, (size_t)k, gz) == 0);
        free(img), free(lab);
    }
    return dir;
}

TEST(mnist_sequential_and_permuted)
{
    const int R = 4, C = 3, T = 12;
    const char *dir = mnist_dir("mnist", 30, 8, R, C, 1);
    rl_dataset_options o = opts(dir);
    o.mnist = 1;
    rl_dataset *ds = NULL, *ps = NULL, *ps2 = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    o.permute = 1;
    CHECK_OK(rl_dataset_new(&ps, &o));
    o.perm_seed = 2;
    CHECK_OK(rl_dataset_new(&ps2, &o));
    if (!ds || !ps || !ps2) goto done;
    CHECK(ds->T == T && ds->I == 1 && ds->O == 10 && ds->loss == RL_LOSS_CE && ds->train_n == 30 && ds->eval_n == 8);
    /* the baseline: labels 0..9 three times each in training, the test's 8 of them */
    CHECK(fabs(ds->baseline - log(10.0)) < 1e-12 && fabs(ds->baseline_accuracy - 1.0 / 8) < 1e-12);
    rl_data *d = batch_for(ds, 8), *e = batch_for(ps, 8);
    int64_t p1[8], p2[8];
    for (int b = 0; b < 8; b++) p1[b] = p2[b] = b;
    CHECK_OK(fill_scored(ds, d, p1));
    CHECK_OK(fill_scored(ps, e, p2));
    const float *x = d->x, *xp = e->x, *m = d->mask;
    int moved = 0, is_perm = 1, seen[12] = {0};
    for (int t = 0; t < T; t++) {
        int src = ps->perm[t];
        is_perm &= src >= 0 && src < T && !seen[src];
        if (src >= 0 && src < T) seen[src] = 1;
        moved += src != t;
        for (int b = 0; b < 8; b++) {
            CHECK(fabs(x[b * T + t] - ((7 * b + t) % 256) / 255.0) < 1e-7);
            CHECK(xp[b * T + t] == x[b * T + src]);
            CHECK(m[b * T + t] == (t == T - 1) && d->target[b * T + t] == (t == T - 1 ? b % 10 : 0));
        }
    }
    CHECK(is_perm && moved > 6);
    CHECK(memcmp(ps->perm, ps2->perm, (size_t)T * sizeof *ps->perm) != 0);
    /* the permutation is the documented one: Fisher-Yates from rl_rng seeded 1 */
    int32_t want[12];
    rl_rng r;
    rl_rng_seed(&r, 1);
    for (int t = 0; t < T; t++) want[t] = t;
    for (int i = T - 1; i > 0; i--) {
        int j = (int)(rl_rng_next(&r) % (uint64_t)(i + 1));
        int32_t tmp = want[i];
        want[i] = want[j], want[j] = tmp;
    }
    CHECK(memcmp(want, ps->perm, sizeof want) == 0);
    free(d->x), free(d->mask), free(d->target), free(d);
    free(e->x), free(e->mask), free(e->target), free(e);
done:
    rl_dataset_free(ds), rl_dataset_free(ps), rl_dataset_free(ps2);
    /* held out of the training images; the test files for a test */
    o = opts(dir);
    o.mnist = 1, o.valid_split = 0.2;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->train_n == 24 && ds->eval_n == 6 && ds->eval.first == 24);
    rl_dataset_free(ds);
    o.valid_split = 0, o.for_test = 1;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->train_n == 0 && ds->eval_n == 8 && ds->nown == 1);
    rl_dataset_free(ds);
    /* not gzipped, the same */
    const char *plain = mnist_dir("mnist-plain", 10, 5, 2, 2, 0);
    o = opts(plain);
    o.mnist = 1;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->T == 4 && ds->eval_n == 5);
    rl_dataset_free(ds);
}

TEST(mnist_refuses_bad_folders)
{
    rl_dataset *ds = NULL;
    rl_dataset_options o = opts(tmp_path("no-mnist-here"));
    o.mnist = 1;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "a folder holding the four standard IDX files");
    const char *dir = mnist_dir("mnist-bad", 10, 5, 2, 2, 0);
    char p[1200];
    o.path = dir;
    /* a label past 9 */
    unsigned char lab[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10};
    uint32_t d1[1] = {10};
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    CHECK(idx_write(p, 0x08, 1, d1, lab, 10, 0) == 0);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "train-labels-idx1-ubyte: label 9 is 10: MNIST's classes are 0 to 9");
    /* fewer labels than images */
    uint32_t d9[1] = {9};
    CHECK(idx_write(p, 0x08, 1, d9, lab, 9, 0) == 0);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "labels of shape (9,)", "for 10 images");
    /* images that are not uint8 */
    lab[9] = 9;
    CHECK(idx_write(p, 0x08, 1, d1, lab, 10, 0) == 0);
    unsigned char f[40 * 4] = {0};
    uint32_t d3[3] = {10, 2, 2};
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    CHECK(idx_write(p, 0x0D, 3, d3, f, 160, 0) == 0);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "t10k-images-idx3-ubyte: images of shape (10, 2, 2) and dtype float32");
    /* a missing file */
    remove(p);
    CHECK_FAILS(rl_dataset_new(&ds, &o), "no t10k-images-idx3-ubyte (or .gz)");
    o.valid_path = p;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "--valid is for a file of sequences");
}

/* ------------------------------------------------------------------ CSV windows */

TEST(csv_windows_split_by_time)
{
    /* 100 rows: t, a = t, b = 2 t, c = -t */
    char *txt = malloc(4096), *p = txt;
    p += sprintf(p, "time,a,b,c\n");
    for (int r = 0; r < 100; r++) p += sprintf(p, "2020-%03d,%d,%d,%d\n", r, r, 2 * r, -r);
    const char *path = tmp_path("series.csv");
    CHECK(text_write(path, txt) == 0);
    free(txt);
    rl_dataset_options o = opts(path);
    o.inputs = "a,b", o.targets = "c", o.window = 5, o.horizon = 2;
    rl_dataset *ds = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (!ds) return;
    /* rows 0-69 train, 70-84 validate, 85-99 test */
    CHECK(ds->is_series && ds->T == 5 && ds->I == 2 && ds->O == 1 && ds->loss == RL_LOSS_MSE);
    CHECK_MSG(ds->train_rows.hi == 70 && ds->eval_rows.lo == 70 && ds->eval_rows.hi == 85 && ds->train_n == 70 - 7 + 1 &&
              ds->eval_n == 2, "%lld %lld %lld %lld %lld", (long long)ds->train_rows.hi, (long long)ds->eval_rows.lo,
              (long long)ds->eval_rows.hi, (long long)ds->train_n, (long long)ds->eval_n);
    rl_data *d = batch_for(ds, 3);
    int64_t pos[3] = {0, 1, 2};
    CHECK_OK(fill_scored(ds, d, pos));
    const float *x = d->x, *y = d->y, *m = d->mask;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 5; t++) {
            const int row = 70 + 5 * b + t;
            CHECK(x[(b * 5 + t) * 2] == row && x[(b * 5 + t) * 2 + 1] == 2 * row && y[b * 5 + t] == -(row + 2) && m[b * 5 + t] == 1);
        }
    for (int t = 0; t < 5; t++) CHECK(m[10 + t] == 0);
    /* training windows, targets included, stay in rows 0-69 */
    rl_rng r;
    rl_rng_seed(&r, 3);
    int lo = 100, hi = -1;
    for (int rep = 0; rep < 200; rep++) {
        CHECK_OK(rl_dataset_fill(ds, d, &r, 0, NULL));
        for (int b = 0; b < 3; b++) {
            lo = (int)x[b * 10] < lo ? (int)x[b * 10] : lo;
            hi = -(int)y[b * 5 + 4] > hi ? -(int)y[b * 5 + 4] : hi;
            CHECK(y[b * 5] == -(x[b * 10] + 2));
        }
    }
    CHECK_MSG(lo == 0 && hi == 69, "training windows from row %d, targets to row %d", lo, hi);
    /* the baseline: training targets' mean, rows 2-69 of -t: -35.5 */
    double want = 0;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 5; t++) want += pow(-(70 + 5 * b + t + 2) + 35.5, 2) / 10;
    CHECK_MSG(fabs(ds->baseline - want) < 1e-9, "%g %g", ds->baseline, want);
    free(d->x), free(d->mask), free(d->y), free(d);
    rl_dataset_free(ds);
    /* the test part for a test; targets as inputs by default */
    o.for_test = 1, o.inputs = NULL;
    CHECK_OK(rl_dataset_new(&ds, &o));
    if (ds) CHECK(ds->eval_rows.lo == 85 && ds->eval_rows.hi == 100 && ds->I == 1 && ds->eval_n == 2);
    rl_dataset_free(ds);
    /* what does not fit */
    o = opts(path);
    o.targets = "c", o.window = 20, o.horizon = 1;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "series.csv: the validation part (rows 71 to 85, 15 rows) is shorter than one window of T + K = 21 rows");
    o.window = 0;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "needs --window T");
    o.window = 5, o.targets = NULL;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "needs --targets COLS");
    o.targets = "time";
    CHECK_FAILS(rl_dataset_new(&ds, &o), "line 2, column 'time': '2020-000' is not a number");
    o.targets = "d";
    CHECK_FAILS(rl_dataset_new(&ds, &o), "--targets: no column 'd'");
    o.targets = "c", o.valid_split = 0.5, o.test_split = 0.5;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "leave nothing to train on");
    o.valid_split = 0, o.test_split = 0, o.loss = RL_LOSS_CE;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "a CSV series is forecast with mse");
    /* CSV options on a file of arrays */
    float x1[2] = {0};
    int64_t c1[2] = {0, 1};
    npy_spec a[2] = {{"x", "<f4", 3, {2, 1, 1}, x1}, {"y", "<i8", 1, {2}, c1}};
    CHECK(npz_write_arrays(tmp_path("arr.npz"), a, 2, 0) == 0);
    o = opts(tmp_path("arr.npz"));
    o.window = 3;
    CHECK_FAILS(rl_dataset_new(&ds, &o), "--window is for a CSV series");
}
