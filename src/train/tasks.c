/* Tasks generated on the fly from a seed, and the character corpus. The
 * definitions are in docs/training.md, with their sources. */
#include "base/files.h"
#include "io/modelio.h"
#include "train/dataset.h"
#include "train/tasks.h"
#include "net/net.h"
#include "train/series.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* narma10: steps run from rest and dropped before a sequence, and the draws
 * of a sequence that may diverge in a row before the task gives up */
#define NARMA_BURN 100
#define NARMA_TRIES 100

extern const char rl_corpus_data[];
extern const uint64_t rl_corpus_size;


/* Decode UTF-8 into code points; -1 at the first invalid byte. */
static int64_t utf8_decode(const unsigned char *s, size_t n, int32_t *out)
{
    int64_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + (size_t)len > n) return -1;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (int j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return -1;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return -1; /* overlong, out of range, surrogate */
        out[k++] = (int32_t)cp;
        i += (size_t)len;
    }
    return k;
}

static size_t utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)), 3;
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* 64-bit FNV-1a: a text's fingerprint, for a run to know its text again. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* UTF-8 bytes as class ids over their sorted distinct code points. */
static rl_status text_from_bytes(rl_task *t, const unsigned char *src, size_t n, const char *name)
{
    rl_status s = RL_OK;
    t->info.text_bytes = (int64_t)n;
    t->info.text_hash = fnv1a(src, n);
    int32_t *cps = rl_alloc(n + 1, sizeof *cps), *sorted = NULL;
    int64_t len = cps ? utf8_decode(src, n, cps) : 0;
    if (!cps) s = RL_ERR_NOMEM;
    else if (len < 0) s = rl_fail(RL_ERR_FORMAT, "%s: not valid UTF-8", name);
    else if (len < RL_TEXT_MIN_CHARS)
        s = rl_fail(RL_ERR_FORMAT, "%s: %lld characters; a text model needs at least %d", name, (long long)len, RL_TEXT_MIN_CHARS);
    if (!s && !(sorted = rl_alloc((size_t)len, sizeof *sorted))) s = RL_ERR_NOMEM;
    int V = 0;
    if (!s) {
        memcpy(sorted, cps, (size_t)len * sizeof *sorted);
        qsort(sorted, (size_t)len, sizeof *sorted, cmp_i32);
        for (int64_t i = 0; i < len; i++)
            if (i == 0 || sorted[i] != sorted[i - 1]) sorted[V++] = sorted[i];
        if (V > RL_TEXT_MAX_VOCAB) s = rl_fail(RL_ERR_FORMAT, "%s: %d distinct characters (limit %d)", name, V, RL_TEXT_MAX_VOCAB);
        if (!s && V < 2) s = rl_fail(RL_ERR_FORMAT, "%s: a single distinct character", name);
    }
    if (!s && !(t->vocab = rl_malloc((size_t)V * 4 + 1))) s = rl_fail(RL_ERR_NOMEM, "%s: no memory for the vocabulary", name);
    if (!s) {
        size_t at = 0;
        for (int i = 0; i < V; i++) at += utf8_encode((uint32_t)sorted[i], t->vocab + at);
        t->vocab[at] = '\0';
        for (int64_t i = 0; i < len; i++) {
            int32_t *hit = bsearch(&cps[i], sorted, (size_t)V, sizeof *sorted, cmp_i32);
            cps[i] = (int32_t)(hit - sorted);
        }
        t->info.input_size = t->info.output_size = V;
        t->info.vocab = t->vocab;
        t->info.train_len = (int64_t)(len * 0.95);
        t->info.val_len = len - t->info.train_len;
        if (t->info.val_len < t->info.seq_len + 1 || t->info.train_len < t->info.seq_len + 1)
            s = rl_fail(RL_ERR_ARG, "%s: too short for sequences of %d characters", name, t->info.seq_len);
    }
    /* The task takes cps only on success; on failure it is freed here, once
     * (rl_task_free frees t->ids, so it must not point at cps then). */
    if (!s) t->ids = cps, t->n = len;
    else rl_free(cps);
    rl_free(sorted);
    return s;
}

/* The text of path, or the built-in corpus. A regular file is measured
 * (fstat) and refused before it is read when it is over the limit; anything
 * else (a pipe) is read up to one byte past it, and any file up to its first
 * NUL byte, which no text holds. */
static rl_status load_text(rl_task *t, const char *path)
{
    if (!path) return text_from_bytes(t, (const unsigned char *)rl_corpus_data, (size_t)rl_corpus_size, "<built-in corpus>");
    FILE *f = NULL;
    int regular;
    rl_status s0 = rl_fopen_input(path, &f, &regular);
    if (s0) return s0;
    const size_t limit = RL_TEXT_MAX_BYTES;
    size_t cap = (size_t)1 << 16, n = 0;
    struct stat sb;
    rl_status s = RL_OK;
    unsigned char *buf = NULL;
    if (fstat(fileno(f), &sb) != 0) s = rl_fail(RL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode)) s = rl_fail(RL_ERR_IO, "%s: is a directory", path);
    else if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > limit) n = limit + 1; /* not read */
    else if (S_ISREG(sb.st_mode)) cap = (size_t)sb.st_size + 1; /* + 1: EOF is seen without growing */
    if (!s && n <= limit && !(buf = rl_malloc(cap)))
        s = rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, cap);
    while (buf && !s) {
        size_t got = fread(buf + n, 1, cap - n, f);
        /* a NUL byte is no text's: stop at the first (so /dev/zero is read no further) */
        const unsigned char *nul = memchr(buf + n, 0, got);
        if (nul) {
            s = rl_fail(RL_ERR_FORMAT, "%s: a NUL byte at offset %zu: not a text file", path, (size_t)(nul - buf));
            break;
        }
        n += got;
        if (n < cap || n > limit) break;
        size_t ncap = cap > limit / 2 ? limit + 1 : 2 * cap;
        unsigned char *nb = rl_realloc(buf, ncap);
        if (!nb) s = rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, ncap);
        else buf = nb, cap = ncap;
    }
    if (!s && ferror(f)) s = rl_fail(RL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (!s && n > limit) s = rl_fail(RL_ERR_FORMAT, "%s: larger than the limit of %zu bytes (2 GiB) for a text", path, limit);
    fclose(f);
    if (!s) s = text_from_bytes(t, buf, n, path);
    free(buf);
    return s;
}

static rl_status task_new(rl_task **out, rl_task_kind kind, int T, const char *text_path, const void *buf, size_t len,
                          const char *name);

rl_status rl_task_new(rl_task **out, rl_task_kind kind, int T, const char *text_path)
{
    return task_new(out, kind, T, text_path, NULL, 0, NULL);
}

rl_status rl_task_text_from_buffer(rl_task **out, int T, const void *text, size_t len, const char *name)
{
    return task_new(out, RL_TASK_TEXT, T, NULL, text, len, name);
}

static rl_status task_new(rl_task **out, rl_task_kind kind, int T, const char *text_path, const void *buf, size_t len,
                          const char *name)
{
    *out = NULL;
    if ((unsigned)kind >= RL_TASK_COUNT) return rl_fail(RL_ERR_ARG, "unknown task");
    int min = kind == RL_TASK_COPY ? 1 : kind == RL_TASK_TEMPORAL_ORDER ? 20 : 2;
    if (T < min || T > RL_MAX_SEQ_LEN)
        return rl_fail(RL_ERR_ARG, "--seq-len %d is out of range [%d, %d] for %s", T, min, RL_MAX_SEQ_LEN, rl_task_name(kind));
    if (text_path && kind != RL_TASK_TEXT) return rl_fail(RL_ERR_ARG, "a text file is only for the text task");
    if (rl_task_reads_data(kind))
        return rl_fail(RL_ERR_ARG, "the task %s reads its sequences from files (rnnlab train and eval --data), no generator makes them",
                       rl_task_name(kind));
    rl_task *t = rl_alloc(1, sizeof *t);
    if (!t) return rl_fail(RL_ERR_NOMEM, "out of memory");
    rl_task_info *in = &t->info;
    in->kind = kind;
    in->seq_len = in->steps = T;
    in->baseline = in->baseline_accuracy = NAN;
    rl_status s = RL_OK;
    switch (kind) {
    case RL_TASK_ADDING:
        in->input_size = 2, in->output_size = 1, in->loss = RL_LOSS_MSE;
        in->baseline = 1.0 / 6; /* Var(U1 + U2) = 2/12: always predicting 1 */
        break;
    case RL_TASK_ADDING_HS97:
        in->steps = T + T / 10;
        in->input_size = 2, in->output_size = 1, in->loss = RL_LOSS_MSE;
        /* always predicting 0.5: E[(X1 + X2)^2] / 16 with X1 = 0 when the first pair is marked (p = 1/10) */
        in->baseline = (0.9 / 3 + 1.0 / 3) / 16;
        break;
    case RL_TASK_COPY:
        in->steps = T + 20;
        in->input_size = 10, in->output_size = 9, in->loss = RL_LOSS_CE;
        in->baseline = 10 * log(8.0) / (T + 20);
        break;
    case RL_TASK_TEMPORAL_ORDER:
        in->input_size = 8, in->output_size = 4, in->loss = RL_LOSS_CE;
        in->baseline = log(4.0);
        break;
    case RL_TASK_TEXT:
        in->loss = RL_LOSS_CE;
        s = buf ? text_from_bytes(t, buf, len, name) : load_text(t, text_path);
        break;
    case RL_TASK_MACKEY_GLASS: /* one-step prediction; no memoryless baseline: NRMSE 1 is the mean */
    case RL_TASK_NARMA10:
        in->input_size = 1, in->output_size = 1, in->loss = RL_LOSS_MSE;
        break;
    default:
        break;
    }
    if (s) {
        rl_task_free(t);
        return s;
    }
    *out = t;
    return RL_OK;
}

void rl_task_free(rl_task *t)
{
    if (!t) return;
    rl_free(t->ids);
    free(t->vocab);
    rl_dataset_free(t->ds);
    free(t);
}

rl_task_info rl_task_get_info(const rl_task *t) { return t->info; }

double rl_batch_bytes(const rl_config *c, int B, int T)
{
    if (B < 1 || T < 1 || c->input_size < 1 || c->output_size < 1) return 0;
    const double BT = (double)B * T, per = c->input_size + 1.0 + (c->loss == RL_LOSS_CE ? 1 : c->output_size);
    return BT * per * 4 + 4 * 64; /* x, mask, targets (float32 or class ids), each rounded to 64 bytes */
}

rl_status rl_task_data_new(rl_data **out, const rl_task *t, int B)
{
    *out = NULL;
    const rl_task_info *in = &t->info;
    if (B < 1) return rl_fail(RL_ERR_ARG, "batch size %d", B);
    rl_config c = {.input_size = in->input_size, .output_size = in->output_size, .loss = in->loss};
    char what[160];
    snprintf(what, sizeof what, "a batch of B = %d sequences of the task %s (T = %d)", B, rl_task_name(in->kind), in->steps);
    rl_status s = rl_memory_check(rl_batch_bytes(&c, B, in->steps), what);
    if (s) return s;
    size_t BT = (size_t)B * in->steps;
    rl_data *d = rl_alloc(1, sizeof *d);
    if (!d) return rl_fail(RL_ERR_NOMEM, "out of memory");
    int ok = (d->x = rl_alloc(BT * (size_t)in->input_size, 4)) && (d->mask = rl_alloc(BT, 4)) &&
             (in->loss == RL_LOSS_CE ? (d->target = rl_alloc(BT, 4)) != NULL : (d->y = rl_alloc(BT * (size_t)in->output_size, 4)) != NULL);
    if (!ok) {
        rl_data_free(d);
        return RL_ERR_NOMEM;
    }
    d->b = (rl_batch){RL_F32, B, in->steps, in->input_size, d->x, d->target, d->y, d->mask, NULL, NULL};
    *out = d;
    return RL_OK;
}

/* U[0, 1) exactly in float32 (rounding a double draw could give 1.0f) */
static float uniform_f(rl_rng *r) { return (float)(rl_rng_next(r) >> 40) * 0x1p-24f; }

static int64_t randint(rl_rng *r, int64_t lo, int64_t hi) /* [lo, hi) */
{
    return lo + (int64_t)(rl_rng_uniform(r) * (double)(hi - lo));
}

rl_status rl_task_fill(const rl_task *task, rl_data *d, rl_rng *r, int split, int64_t *pos)
{
    if (task->ds) return rl_dataset_fill(task->ds, d, r, split, pos);
    const rl_task_info *in = &task->info;
    const int B = d->b.batch, T = in->steps, I = in->input_size, Tn = in->seq_len;
    RL_ASSERT(d->b.steps == T && d->b.input_size == I);
    float *x = d->x, *y = d->y, *m = d->mask;
    int32_t *id = d->target;
    memset(x, 0, (size_t)B * T * I * sizeof *x);
    memset(m, 0, (size_t)B * T * sizeof *m);
    if (y) memset(y, 0, (size_t)B * T * in->output_size * sizeof *y);
    /* the series in float64: mackey-glass T + 1 samples; narma10 u and y over the burn-in too */
    double *sx = NULL, *sy = NULL;
    if (in->kind == RL_TASK_MACKEY_GLASS && !(sx = rl_alloc((size_t)T + 1, sizeof *sx))) return RL_ERR_NOMEM;
    if (in->kind == RL_TASK_NARMA10 &&
        (!(sx = rl_alloc((size_t)T + NARMA_BURN, sizeof *sx)) || !(sy = rl_alloc((size_t)T + NARMA_BURN + 1, sizeof *sy)))) {
        rl_free(sx);
        return RL_ERR_NOMEM;
    }
    rl_status st = RL_OK;
    for (int b = 0; b < B && !st; b++) {
        float *xb = x + (size_t)b * T * I, *mb = m + (size_t)b * T, *yb = y ? y + (size_t)b * T : NULL;
        int32_t *ib = id ? id + (size_t)b * T : NULL;
        switch (in->kind) {
        case RL_TASK_ADDING: {
            /* one marker in each half; the target is the sum of the marked values, at the end */
            int64_t m1 = randint(r, 0, Tn / 2), m2 = randint(r, Tn / 2, Tn);
            for (int t = 0; t < T; t++) xb[2 * t] = uniform_f(r);
            xb[2 * m1 + 1] = xb[2 * m2 + 1] = 1;
            yb[T - 1] = xb[2 * m1] + xb[2 * m2];
            mb[T - 1] = 1;
            break;
        }
        case RL_TASK_ADDING_HS97: {
            /* length in [T, T + T/10]; X1 among the first 10 pairs, X2 among the first T/2 - 1
             * unmarked ones; markers -1 on the first and last pair; target 0.5 + (X1 + X2)/4 */
            int len = (int)randint(r, Tn, Tn + Tn / 10 + 1);
            for (int t = 0; t < len; t++) xb[2 * t] = 2 * uniform_f(r) - 1;
            xb[1] = -1;
            xb[2 * (len - 1) + 1] = -1;
            int m1 = (int)randint(r, 0, 10 < len ? 10 : len), m2;
            do m2 = (int)randint(r, 0, Tn / 2 - 1 > 1 ? Tn / 2 - 1 : 2);
            while (m2 == m1);
            xb[2 * m1 + 1] = xb[2 * m2 + 1] = 1;
            double x1 = m1 == 0 ? 0 : xb[2 * m1], x2 = xb[2 * m2];
            yb[len - 1] = (float)(0.5 + (x1 + x2) / 4);
            mb[len - 1] = 1;
            break;
        }
        case RL_TASK_COPY: {
            /* 10 symbols from a0..a7, T-1 blanks (a8), the delimiter (a9), 10 blanks;
             * the target is T+10 blanks, then the 10 symbols */
            int sym[10];
            for (int k = 0; k < 10; k++) sym[k] = (int)randint(r, 0, 8);
            for (int t = 0; t < T; t++) {
                int in_sym = t < 10 ? sym[t] : t == Tn + 9 ? 9 : 8;
                xb[(size_t)t * I + in_sym] = 1;
                ib[t] = t >= Tn + 10 ? sym[t - Tn - 10] : 8;
                mb[t] = 1;
            }
            break;
        }
        case RL_TASK_TEMPORAL_ORDER: {
            /* symbols a b c d (distractors) B E (begin, end) X Y; X or Y at t1 in [T/10, 2T/10)
             * and t2 in [5T/10, 6T/10); the class of (first, second) at the end */
            int t1 = (int)randint(r, Tn / 10, 2 * Tn / 10), t2 = (int)randint(r, 5 * Tn / 10, 6 * Tn / 10);
            int s1 = (int)randint(r, 0, 2), s2 = (int)randint(r, 0, 2);
            for (int t = 0; t < T; t++) {
                int sym = t == 0 ? 4 : t == T - 1 ? 5 : t == t1 ? 6 + s1 : t == t2 ? 6 + s2 : (int)randint(r, 0, 4);
                xb[(size_t)t * I + sym] = 1;
                ib[t] = 0;
            }
            ib[T - 1] = 2 * s1 + s2;
            mb[T - 1] = 1;
            break;
        }
        case RL_TASK_TEXT: {
            /* the next T characters of stream b, each predicting the one after it */
            int64_t base = split ? in->train_len : 0, len = split ? in->val_len : in->train_len;
            if (pos[b] < 0 || pos[b] + T + 1 > len) pos[b] = 0;
            const int32_t *s = task->ids + base + pos[b];
            for (int k = 0; k < T; k++) {
                xb[(size_t)k * I + s[k]] = 1;
                ib[k] = s[k + 1];
                mb[k] = 1;
            }
            pos[b] += T;
            break;
        }
        case RL_TASK_MACKEY_GLASS: {
            /* x(-17..-1) = 1.2 + 0.2 (U - 0.5), x(0) = 1.2 (ReservoirPy's start); input x_t, target x_{t+1} */
            double hist[RL_MG_TAU];
            for (int k = 0; k < RL_MG_TAU; k++) hist[k] = RL_MG_X0 + 0.2 * (rl_rng_uniform(r) - 0.5);
            rl_mackey_glass(hist, T + 1, sx);
            for (int t = 0; t < T; t++) xb[t] = (float)sx[t], yb[t] = (float)sx[t + 1], mb[t] = 1;
            break;
        }
        case RL_TASK_NARMA10: {
            /* input u_t, target y_{t+1}, after NARMA_BURN steps from rest; a draw that diverges is drawn again */
            int k = 0;
            while (k < NARMA_TRIES && rl_narma10(r, T + NARMA_BURN, sx, sy) != 0) k++;
            if (k == NARMA_TRIES) {
                st = rl_fail(RL_ERR_ARG, "narma10: %d draws of %d steps in a row diverged; use a shorter --seq-len",
                             NARMA_TRIES, T + NARMA_BURN);
                break;
            }
            for (int t = 0; t < T; t++) xb[t] = (float)sx[NARMA_BURN + t], yb[t] = (float)sy[NARMA_BURN + t + 1], mb[t] = 1;
            break;
        }
        default:
            RL_ASSERT(0);
        }
    }
    rl_free(sx);
    rl_free(sy);
    return st;
}

/* The "solved" criteria of the long-lag literature (docs/training.md) */
int rl_task_solved(const rl_task *t, const rl_score *sc)
{
    switch (t->info.kind) {
    case RL_TASK_ADDING: return sc->n_err > 0 && sc->sq_err / sc->n_err < 0.01;
    case RL_TASK_ADDING_HS97:
    case RL_TASK_COPY:
    case RL_TASK_TEMPORAL_ORDER: return sc->n_items > 0 && sc->correct / sc->n_items >= 0.99;
    default: return 0;
    }
}

const char *rl_task_solved_rule(rl_task_kind k)
{
    switch (k) {
    case RL_TASK_ADDING: return "validation MSE < 0.01";
    case RL_TASK_ADDING_HS97: return "at least 99% of the validation sequences within 0.04";
    case RL_TASK_COPY: return "at least 99% of the recalled symbols right";
    case RL_TASK_TEMPORAL_ORDER: return "at least 99% of the validation sequences classified right";
    default: return NULL;
    }
}

rl_status rl_task_score(const rl_task *t, const rl_batch *b, const rl_ws *ws, double loss, rl_score *sc)
{
    const rl_task_info *in = &t->info;
    const int B = b->batch, T = b->steps, O = in->output_size;
    if (ws->dtype != RL_F32 || b->dtype != RL_F32 || ws->B != B || ws->T != T)
        return rl_fail(RL_ERR_ARG, "scores need the float32 workspace of the batch");
    const float *out = ws->out, *mask = b->mask;
    double wsum = 0;
    for (size_t i = 0; i < (size_t)B * T; i++) wsum += mask ? mask[i] : 1;
    sc->loss_sum += loss * wsum;
    sc->weight_sum += wsum;
    for (int bb = 0; bb < B; bb++)
        for (int tt = 0; tt < T; tt++) {
            size_t bt = (size_t)bb * T + tt;
            if (mask && mask[bt] == 0) continue;
            const float *o = out + ((size_t)tt * B + bb) * O;
            if (in->loss == RL_LOSS_MSE) { /* every output a scored value (a user's data may have O > 1) */
                double e = 0;
                for (int k = 0; k < O; k++) {
                    const double y = ((const float *)b->y)[bt * O + k];
                    e = o[k] - y;
                    sc->sq_err += e * e, sc->n_err += 1;
                    sc->y_sum += y, sc->y_sq += y * y;
                }
                if (in->kind == RL_TASK_ADDING_HS97) sc->correct += fabs(e) < 0.04, sc->n_items += 1;
                continue;
            }
            if (in->kind == RL_TASK_COPY && tt < T - 10) continue; /* only the recalled symbols */
            int arg = 0;
            for (int k = 1; k < O; k++) arg = o[k] > o[arg] ? k : arg;
            sc->correct += arg == b->target[bt], sc->n_items += 1;
        }
    return RL_OK;
}

double rl_score_nrmse(const rl_score *sc)
{
    if (!(sc->n_err > 0)) return NAN;
    const double mean = sc->y_sum / sc->n_err, var = sc->y_sq / sc->n_err - mean * mean;
    /* targets that do not vary leave rounding in var */
    return var > 1e-12 * (sc->y_sq / sc->n_err) ? sqrt(sc->sq_err / sc->n_err / var) : NAN;
}

/* ------------------------------------------------------------------ vocabularies */

static rl_status vocab_points(const rl_model *m, int32_t **cps, int64_t *V)
{
    const char *v = rl_model_vocab(m);
    if (!v) return rl_fail(RL_ERR_ARG, "the model has no vocabulary: it was not trained on text");
    size_t n = strlen(v);
    if (!(*cps = rl_alloc(n + 1, sizeof **cps))) return RL_ERR_NOMEM;
    *V = utf8_decode((const unsigned char *)v, n, *cps);
    /* a character model reads and predicts the same classes: a file whose
     * input size differs would have a class id index outside its inputs */
    const rl_config c = rl_model_config(m);
    if (*V < 0 || *V != c.output_size || c.input_size != c.output_size) {
        rl_free(*cps);
        *cps = NULL;
        return rl_fail(RL_ERR_FORMAT, "the model's vocabulary does not match its %d inputs and %d outputs", c.input_size,
                       c.output_size);
    }
    return RL_OK;
}

rl_status rl_vocab_encode(const rl_model *m, const char *text, int32_t *ids, size_t max, size_t *n)
{
    int32_t *cps = NULL, *tx = NULL;
    int64_t V = 0;
    rl_status s = vocab_points(m, &cps, &V);
    if (s) return s;
    size_t len = strlen(text);
    int64_t k = (tx = rl_alloc(len + 1, sizeof *tx)) ? utf8_decode((const unsigned char *)text, len, tx) : -2;
    if (k == -2) s = RL_ERR_NOMEM;
    else if (k < 0) s = rl_fail(RL_ERR_ARG, "the text is not valid UTF-8");
    else if ((size_t)k > max) s = rl_fail(RL_ERR_ARG, "the text has %lld characters (limit %zu)", (long long)k, max);
    for (int64_t i = 0; !s && i < k; i++) {
        int64_t j = 0;
        while (j < V && cps[j] != tx[i]) j++;
        if (j == V) {
            char ch[5] = {0};
            utf8_encode((uint32_t)tx[i], ch);
            s = rl_fail(RL_ERR_ARG, "character '%s' (U+%04X) is not in the model's vocabulary", ch, (unsigned)tx[i]);
        }
        ids[i] = (int32_t)j;
    }
    if (!s) *n = (size_t)k;
    rl_free(cps);
    rl_free(tx);
    return s;
}

rl_status rl_vocab_char(const rl_model *m, int32_t id, char out[5])
{
    int32_t *cps = NULL;
    int64_t V = 0;
    rl_status s = vocab_points(m, &cps, &V);
    if (s) return s;
    if (id < 0 || id >= V) s = rl_fail(RL_ERR_ARG, "class %d is outside the vocabulary", (int)id);
    else out[utf8_encode((uint32_t)cps[id], out)] = '\0';
    rl_free(cps);
    return s;
}
