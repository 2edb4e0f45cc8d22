/* The limits of the readers of a user's data and of a file of sequences,
 * each from both sides (docs/security.md): at the limit accepted, one past
 * it refused with its message. Where the accepted side is too large to
 * build, the test goes to the edge of the check and lets the next step fail
 * for a stated reason (an allocation limit set with rl_debug_alloc_limit). */
#include "datafiles.h"
#include "test.h"

#include "io/arrays.h"
#include "io/csv.h"
#include "train/dataset.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sparse file of exactly n bytes. */
static int sparse(const char *path, uint64_t n)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) return -1;
    int rc = ftruncate(fd, (off_t)n);
    close(fd);
    return rc;
}

/* The most bytes read from one file: 64 GiB read (as far as memory allows:
 * here a 1 MiB allocation limit), 64 GiB + 1 refused before any read. So
 * for a CSV: 2 GiB, 2 GiB + 1. */
TEST(limit_data_file_bytes)
{
    const char *p = tmp_path("huge.npz");
    ar_set s;
    rl_debug_alloc_limit((size_t)1 << 20);
    CHECK(sparse(p, AR_MAX_BYTES) == 0);
    rl_status st = ar_open(&s, p);
    CHECK_MSG(st == RL_ERR_NOMEM && strstr(rl_errmsg(), "cannot allocate"), "64 GiB: %d %s", (int)st, rl_errmsg());
    CHECK(sparse(p, AR_MAX_BYTES + 1) == 0);
    st = ar_open(&s, p);
    CHECK_MSG(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "more than the limit of 68719476736"), "64 GiB + 1: %s", rl_errmsg());
    const char *c = tmp_path("huge.csv");
    csv_table t;
    CHECK(sparse(c, CSV_MAX_BYTES) == 0);
    st = csv_read(&t, c);
    CHECK_MSG(st == RL_ERR_NOMEM, "2 GiB: %d %s", (int)st, rl_errmsg());
    CHECK(sparse(c, CSV_MAX_BYTES + 1) == 0);
    st = csv_read(&t, c);
    CHECK_MSG(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "more than the limit of 2147483648"), "2 GiB + 1: %s", rl_errmsg());
    rl_debug_alloc_limit(0);
    remove(p), remove(c);
}

/* An .npz's members: 4096 read, 4097 refused. */
TEST(limit_npz_members)
{
    float one = 1;
    int64_t sh[1] = {1};
    size_t len;
    unsigned char *npy = npy_make(1, "<f4", 1, sh, &one, 4, 0, NULL, &len);
    enum { M = AR_MAX_ARRAYS + 1 };
    char **names = malloc(M * sizeof *names);
    unsigned char **bytes = malloc(M * sizeof *bytes);
    size_t *lens = malloc(M * sizeof *lens);
    for (int i = 0; i < M; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "a%d.npy", i);
        bytes[i] = npy, lens[i] = len;
    }
    for (int extra = 0; extra <= 1; extra++) {
        const char *p = tmp_path("many.npz");
        CHECK(npz_write(p, AR_MAX_ARRAYS + extra, (const char *const *)names, bytes, lens, 0) == 0);
        ar_set s;
        rl_status st = ar_open(&s, p);
        if (!extra) {
            CHECK_MSG(st == RL_OK && s.n == AR_MAX_ARRAYS, "%s", rl_errmsg());
            ar_close(&s);
        } else {
            CHECK(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "4097 members (the limit is 4096)"));
        }
    }
    for (int i = 0; i < M; i++) free(names[i]);
    free(names), free(bytes), free(lens), free(npy);
}

/* A gzipped IDX file may claim at most 1032 x its size + 258 bytes: that
 * claim passes the check (and then fails as truncated, since its stream
 * holds the header alone), one byte more is refused before anything is
 * allocated. */
TEST(limit_deflate_ratio)
{
    for (int extra = 0; extra <= 1; extra++) {
        /* u8, rank 2, dims (1, d1): total = 12 + d1; find d1 with total = 1032 L + 258 + extra, L the gzip's size */
        uint32_t d1 = 1000;
        size_t L = 0;
        unsigned char head[12], *gz = NULL;
        for (int it = 0; it < 20; it++) {
            unsigned char h[12] = {0, 0, 0x08, 2, 0, 0, 0, 1, (unsigned char)(d1 >> 24), (unsigned char)(d1 >> 16),
                                   (unsigned char)(d1 >> 8), (unsigned char)d1};
            memcpy(head, h, 12);
            free(gz);
            gz = gzip_bytes(head, 12, &L);
            uint32_t want = (uint32_t)(AR_DEFLATE_MAX_RATIO * L + AR_DEFLATE_SLACK + (size_t)extra - 12);
            if (want == d1) break;
            d1 = want;
        }
        CHECK(12 + (size_t)d1 == AR_DEFLATE_MAX_RATIO * L + AR_DEFLATE_SLACK + (size_t)extra);
        ar_set s;
        rl_status st = ar_parse_idx(&s, gz, L, "ratio.gz");
        if (!extra) CHECK_MSG(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "truncated"), "at the ratio: %s", rl_errmsg());
        else CHECK_MSG(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "more than deflate can make (1032:1)"), "past it: %s", rl_errmsg());
        free(gz);
    }
}

/* An IDX file's rank: 8 read, 9 refused (the IDX format allows 255). */
TEST(limit_idx_rank)
{
    for (int r = 8; r <= 9; r++) {
        unsigned char b[4 + 4 * 9 + 1] = {0, 0, 0x08, (unsigned char)r};
        for (int i = 0; i < r; i++) b[4 + 4 * i + 3] = 1;
        b[4 + 4 * r] = 7;
        ar_set s;
        rl_status st = ar_parse_idx(&s, b, 4 + 4 * (size_t)r + 1, "rank-ubyte");
        if (r == 8) {
            CHECK_MSG(st == RL_OK && s.a[0].ndim == 8 && ar_get(&s.a[0], 0) == 7, "%s", rl_errmsg());
            ar_close(&s);
        } else {
            CHECK(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "9 dimensions (rnnlab reads 1 to 8)"));
        }
    }
}

/* A file of sequences: T up to 1,000,000 steps, I up to 65536 inputs, class
 * ids up to 65535 (65536 outputs), N up to 2,000,000,000 sequences. */
TEST(limit_sequence_sizes)
{
    static const struct { int64_t N, T, I; const char *want; } c[] = {
        {1, RL_MAX_SEQ_LEN, 1, NULL}, {1, RL_MAX_SEQ_LEN + 1, 1, "x has T = 1000001 steps (the limit is 1000000)"},
        {1, 1, RL_MAX_SIZE, NULL},    {1, 1, RL_MAX_SIZE + 1, "x has I = 65537 inputs (the limit is 65536)"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        size_t n = (size_t)(c[k].N * c[k].T * c[k].I);
        float *x = calloc(n, 4);
        int64_t y[1] = {1};
        npy_spec a[2] = {{"x", "<f4", 3, {c[k].N, c[k].T, c[k].I}, x}, {"y", "<i8", 1, {1}, y}};
        const char *p = NPZ_TMP("size.npz", a, 2, 1);
        ar_set s;
        rl_seqset q;
        CHECK_OK(ar_open(&s, p));
        rl_status st = rl_seqset_from_arrays(&q, &s, -1, 0);
        if (!c[k].want) {
            CHECK_MSG(st == RL_OK && q.T == c[k].T && q.I == c[k].I && q.O == 2, "case %zu: %s", k, rl_errmsg());
            rl_seqset_free(&q);
        } else {
            CHECK_MSG(st == RL_ERR_FORMAT && strstr(rl_errmsg(), c[k].want), "case %zu: %s", k, rl_errmsg());
        }
        ar_close(&s);
        free(x);
    }
    /* class ids: 65535 the largest (65536 outputs), 65536 refused */
    float x[2] = {0, 0};
    int64_t y[2] = {0, RL_MAX_SIZE - 1};
    npy_spec a[2] = {{"x", "<f4", 3, {2, 1, 1}, x}, {"y", "<i8", 1, {2}, y}};
    for (int extra = 0; extra <= 1; extra++) {
        y[1] = RL_MAX_SIZE - 1 + extra;
        const char *p = NPZ_TMP("ids.npz", a, 2, 0);
        ar_set s;
        rl_seqset q;
        CHECK_OK(ar_open(&s, p));
        rl_status st = rl_seqset_from_arrays(&q, &s, -1, 0);
        if (!extra) {
            CHECK_MSG(st == RL_OK && q.O == RL_MAX_SIZE, "%s", rl_errmsg());
            rl_seqset_free(&q);
        } else {
            CHECK(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "y[1] is 65536: a class id must be in [0, 65536)"));
        }
        ar_close(&s);
    }
    /* N: an array that claims 2e9 sequences passes the check, and then its
     * first allocation (8 GB) fails under a 1 MiB limit; 2e9 + 1 is refused
     * before it. The arrays are made in memory: no file holds that many. */
    for (int extra = 0; extra <= 1; extra++) {
        float tiny[4] = {0};
        ar_set s;
        memset(&s, 0, sizeof s);
        snprintf(s.path, sizeof s.path, "claim.npz");
        ar_array arr[2];
        memset(arr, 0, sizeof arr);
        snprintf(arr[0].name, sizeof arr[0].name, "x");
        arr[0].dtype = AR_F32, arr[0].ndim = 3, arr[0].shape[0] = (int64_t)RL_DATA_MAX_SEQS + extra, arr[0].shape[1] = 1,
        arr[0].shape[2] = 1, arr[0].numel = (size_t)arr[0].shape[0], arr[0].data = (const unsigned char *)tiny;
        snprintf(arr[1].name, sizeof arr[1].name, "y");
        arr[1].dtype = AR_F32, arr[1].ndim = 2, arr[1].shape[0] = arr[0].shape[0], arr[1].shape[1] = 1,
        arr[1].numel = (size_t)arr[0].shape[0], arr[1].data = (const unsigned char *)tiny;
        s.a = arr, s.n = 2;
        rl_seqset q;
        rl_debug_alloc_limit((size_t)1 << 20);
        rl_status st = rl_seqset_from_arrays(&q, &s, -1, 0);
        rl_debug_alloc_limit(0);
        if (!extra) CHECK_MSG(st == RL_ERR_NOMEM, "2e9 sequences: %d %s", (int)st, rl_errmsg());
        else CHECK(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "x holds 2000000001 sequences (the limit is 2000000000)"));
        rl_seqset_free(&q);
    }
}

/* docs/security.md states the values of the constants in the code. */
TEST(limit_data_docs_agree)
{
    doc_wants w = {0};
    doc_want(&w, "| .npy header | %d bytes", AR_NPY_MAX_HEADER);
    doc_want(&w, "| .npz members | %d (`AR_MAX_ARRAYS`)", AR_MAX_ARRAYS);
    doc_want(&w, "at most %d x its compressed size + %d", AR_DEFLATE_MAX_RATIO, AR_DEFLATE_SLACK);
    doc_want(&w, "| a data file's bytes | 64 GiB");
    doc_want(&w, "| IDX rank | 1 to %d (the format allows 255)", AR_MAX_NDIM);
    doc_want(&w, "| CSV | at most 2 GiB, %d columns, names of %d bytes", CSV_MAX_COLS, CSV_MAX_NAME);
    doc_want(&w, "at most %d sequences", RL_DATA_MAX_SEQS);
    CHECK(AR_MAX_BYTES == (uint64_t)64 << 30 && CSV_MAX_BYTES == (uint64_t)2 << 30);
    CHECK_DOC_HAS("docs/security.md", &w);
}
