/* Sequential and permuted MNIST (Le et al. 2015, "A Simple Way to
 * Initialize Recurrent Networks of Rectified Linear Units", section 4.2):
 * each R x C image read one pixel a step in raster order (784 steps for
 * MNIST), scaled to [0, 1], its class the target at the last step; psmnist
 * reads the pixels in one fixed permutation of the steps. From a folder of
 * the four standard IDX files (gzipped or not), MNIST's or Fashion-MNIST's. */
#include "train/dataset.h"

#include <string.h>
#include <sys/stat.h>

#define MNIST_CLASSES 10

/* The first of the spellings that exists: PART-KIND-idxD-ubyte, with "."
 * for the last "-" (some copies), each as it is or gzipped. */
static rl_status find_file(const char *dir, const char *part, const char *kind, int rank, char *out, size_t n)
{
    static const char *const form[] = {"%s/%s-%s-idx%d-ubyte", "%s/%s-%s.idx%d-ubyte"};
    struct stat sb;
    for (int f = 0; f < 2; f++)
        for (int gz = 0; gz < 2; gz++) {
            int k = snprintf(out, n, form[f], dir, part, kind, rank);
            if (gz && k > 0 && (size_t)k + 3 < n) strcat(out, ".gz");
            if (stat(out, &sb) == 0 && !S_ISDIR(sb.st_mode)) return RL_OK;
        }
    snprintf(out, n, form[0], dir, part, kind, rank);
    return rl_fail(RL_ERR_IO, "%s: no %s-%s-idx%d-ubyte (or .gz) here: the MNIST folder holds the four standard IDX files "
                              "(tools/deps.sh data makes them)", dir, part, kind, rank);
}

/* One part's images and labels into s (n images of T = R*C steps). */
static rl_status load_part(rl_seqset *s, const char *dir, const char *part)
{
    char ip[4200], lp[4200];
    ar_set im, lb;
    memset(&im, 0, sizeof im), memset(&lb, 0, sizeof lb);
    rl_status st = find_file(dir, part, "images", 3, ip, sizeof ip);
    if (!st) st = find_file(dir, part, "labels", 1, lp, sizeof lp);
    if (!st) st = ar_open(&im, ip);
    if (!st) st = ar_open(&lb, lp);
    if (!st && (im.n != 1 || strcmp(im.kind, "idx") != 0)) st = rl_fail(RL_ERR_FORMAT, "%s: not an IDX file (it is %s)", ip, im.kind);
    if (!st && (lb.n != 1 || strcmp(lb.kind, "idx") != 0)) st = rl_fail(RL_ERR_FORMAT, "%s: not an IDX file (it is %s)", lp, lb.kind);
    const ar_array *x = st ? NULL : &im.a[0], *y = st ? NULL : &lb.a[0];
    char sh[128];
    if (!st && (x->dtype != AR_U8 || x->ndim != 3 || x->shape[0] < 1 || x->shape[1] < 1 || x->shape[2] < 1)) {
        ar_shape_str(x, sh, sizeof sh);
        st = rl_fail(RL_ERR_FORMAT, "%s: images of shape %s and dtype %s; MNIST's are (N, rows, columns) uint8", ip, sh, ar_dtype_name(x->dtype));
    }
    if (!st && (x->shape[1] * x->shape[2] > RL_MAX_SEQ_LEN || x->shape[0] > RL_DATA_MAX_SEQS))
        st = rl_fail(RL_ERR_FORMAT, "%s: %lld images of %lld x %lld pixels: more than the limits of %d steps and %d sequences", ip,
                     (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2], RL_MAX_SEQ_LEN, RL_DATA_MAX_SEQS);
    if (!st && (y->dtype != AR_U8 || y->ndim != 1 || y->shape[0] != x->shape[0])) {
        ar_shape_str(y, sh, sizeof sh);
        st = rl_fail(RL_ERR_FORMAT, "%s: labels of shape %s and dtype %s; for %lld images they are (%lld,) uint8", lp, sh,
                     ar_dtype_name(y->dtype), (long long)x->shape[0], (long long)x->shape[0]);
    }
    if (!st) {
        s->n = x->shape[0], s->T = (int)(x->shape[1] * x->shape[2]), s->I = 1, s->O = MNIST_CLASSES;
        s->ykind = RL_Y_SEQ_CLASS;
        s->x8_scale = 1.0f / 255;
        if (!(s->x8 = rl_alloc(x->numel, 1)) || !(s->cls = rl_alloc((size_t)s->n, 4)) || !(s->last = rl_alloc((size_t)s->n, 4)))
            st = rl_fail(RL_ERR_NOMEM, "%s: out of memory for %lld images", ip, (long long)s->n);
    }
    if (!st) memcpy(s->x8, x->data, x->numel);
    for (int64_t i = 0; !st && i < s->n; i++) {
        s->cls[i] = y->data[i];
        s->last[i] = s->T - 1;
        if (y->data[i] >= MNIST_CLASSES)
            st = rl_fail(RL_ERR_FORMAT, "%s: label %lld is %d: MNIST's classes are 0 to 9", lp, (long long)i, y->data[i]);
    }
    ar_close(&im);
    ar_close(&lb);
    return st;
}

rl_status rl_dataset_mnist(rl_dataset *ds, const rl_dataset_options *o)
{
    if (o->valid_path) return rl_fail(RL_ERR_ARG, "--valid is for a file of sequences: MNIST validates on its test files or --valid-split F");
    struct stat sb;
    if (stat(o->path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rl_fail(RL_ERR_ARG, "--data %s: the MNIST tasks read a folder holding the four standard IDX files", o->path);
    /* held out of the training images (valid_split), or the test files */
    const int split = o->valid_split > 0;
    rl_status s = RL_OK;
    if (split || !o->for_test) s = load_part(&ds->own[ds->nown++], o->path, "train");
    if (!s && !split) s = load_part(&ds->own[ds->nown++], o->path, "t10k");
    if (s) return s;
    const rl_seqset *a = &ds->own[0], *b = &ds->own[ds->nown - 1];
    if (a->T != b->T)
        return rl_fail(RL_ERR_FORMAT, "%s: the training images have %d pixels, the test images %d", o->path, a->T, b->T);
    if (split) {
        int64_t nv = (int64_t)(o->valid_split * (double)a->n + 0.5);
        if (nv < 1 || nv >= a->n)
            return rl_fail(RL_ERR_ARG, "--valid-split %g of %lld images leaves %s", o->valid_split, (long long)a->n,
                           nv < 1 ? "no validation image" : "no training image");
        ds->train = (rl_seqrange){a, 0, a->n - nv};
        ds->eval = (rl_seqrange){a, a->n - nv, nv};
    } else {
        ds->train = (rl_seqrange){a, 0, o->for_test ? 0 : a->n};
        ds->eval = (rl_seqrange){b, 0, b->n};
    }
    if (o->permute) {
        /* Fisher-Yates from the seed: for i = T-1 down to 1, swap i and next() mod (i + 1) */
        const int T = a->T;
        if (!(ds->perm = rl_alloc((size_t)T, sizeof *ds->perm))) return rl_fail(RL_ERR_NOMEM, "out of memory");
        for (int t = 0; t < T; t++) ds->perm[t] = t;
        rl_rng r;
        rl_rng_seed(&r, o->perm_seed);
        for (int i = T - 1; i > 0; i--) {
            int j = (int)(rl_rng_next(&r) % (uint64_t)(i + 1));
            int32_t tmp = ds->perm[i];
            ds->perm[i] = ds->perm[j], ds->perm[j] = tmp;
        }
        for (int k = 0; k < ds->nown; k++) ds->own[k].perm = ds->perm;
    }
    return RL_OK;
}
