/* The readers of a user's data files (src/io/): .npy, .npz, IDX, CSV and
 * safetensors as named arrays. Each reads what it should, to the value, and
 * refuses every defect with one message that names the file and the
 * array. */
#include "datafiles.h"
#include "test.h"

#include "io/arrays.h"
#include "io/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ .npy */

TEST(npy_reads_every_dtype_and_version)
{
    static const float f[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    static const double d[2] = {0.1, -1e300};
    static const int32_t i4[3] = {-7, 0, 2147483647};
    static const int64_t i8[2] = {-5, 9007199254740991ll};
    static const uint8_t u1[4] = {0, 1, 200, 255}, b1[2] = {1, 0};
    static const int8_t i1[2] = {-128, 127};
    static const int16_t i2[2] = {-300, 300};
    static const struct { const char *descr; ar_dtype t; int ndim; int64_t shape[3]; const void *data; size_t bytes; double v0, vlast; } c[] = {
        {"<f4", AR_F32, 2, {2, 3}, f, 24, 1.5, 6.25},       {"<f8", AR_F64, 1, {2}, d, 16, 0.1, -1e300},
        {"<i4", AR_I32, 1, {3}, i4, 12, -7, 2147483647},    {"<i8", AR_I64, 2, {1, 2}, i8, 16, -5, 9007199254740991.0},
        {"|u1", AR_U8, 3, {1, 2, 2}, u1, 4, 0, 255},        {"|b1", AR_BOOL, 1, {2}, b1, 2, 1, 0},
        {"|i1", AR_I8, 1, {2}, i1, 2, -128, 127},           {"<i2", AR_I16, 1, {2}, i2, 4, -300, 300},
        {"=f4", AR_F32, 1, {6}, f, 24, 1.5, 6.25},          {"<u1", AR_U8, 1, {4}, u1, 4, 0, 255}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        for (int major = 1; major <= 3; major++) {
            size_t len;
            unsigned char *b = npy_make(major, c[k].descr, c[k].ndim, c[k].shape, c[k].data, c[k].bytes, 0, NULL, &len);
            ar_set s;
            CHECK_OK(ar_parse_npy(&s, b, len, "dir/arr.npy"));
            if (s.n == 1) {
                const ar_array *a = &s.a[0];
                CHECK_MSG(a->dtype == c[k].t && a->ndim == c[k].ndim && strcmp(a->name, "arr") == 0, "%s v%d", c[k].descr, major);
                CHECK(ar_get(a, 0) == c[k].v0 && ar_get(a, a->numel - 1) == c[k].vlast);
                for (int i = 0; i < a->ndim; i++) CHECK(a->shape[i] == c[k].shape[i]);
            }
            ar_close(&s);
            free(b);
        }
    /* a scalar: shape (), one element */
    size_t len;
    float one = 42;
    unsigned char *b = npy_make_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &one, 4, &len);
    ar_set s;
    CHECK_OK(ar_parse_npy(&s, b, len, "s.npy"));
    CHECK(s.n == 1 && s.a[0].ndim == 0 && s.a[0].numel == 1 && ar_get(&s.a[0], 0) == 42);
    ar_close(&s);
    free(b);
    /* the other quote, a key order of its own, Python 2's 3L */
    float two[3] = {1, 2, 3};
    b = npy_make_raw(2, "{\"shape\": (3L,), \"fortran_order\": False, \"descr\": \"<f4\"}", two, 12, &len);
    CHECK_OK(ar_parse_npy(&s, b, len, "t.npy"));
    CHECK(s.n == 1 && s.a[0].numel == 3 && ar_get(&s.a[0], 2) == 3);
    ar_close(&s);
    free(b);
}

TEST(npy_refuses_every_defect)
{
    float f[4] = {0};
    int64_t sh[2] = {2, 2};
    size_t len;
    ar_set s;
    static const struct { const char *descr; int fortran; const char *extra; const char *want; } c[] = {
        {">f4", 0, NULL, "big-endian"},
        {"<f2", 0, NULL, "dtype '<f2' is not one rnnlab reads"},
        {"|O", 0, NULL, "Python objects"},
        {"<U4", 0, NULL, "not one rnnlab reads"},
        {"<f4", 1, NULL, "Fortran order"},
        {"<f4", 0, "'extra': 1, ", "unknown key 'extra'"},
        {"<f4", 0, "'descr': '<f4', ", "'descr' appears twice"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        unsigned char *b = npy_make(1, c[k].descr, 2, sh, f, 16, c[k].fortran, c[k].extra, &len);
        CHECK_FAILS(ar_parse_npy(&s, b, len, "bad.npy"), "bad.npy", c[k].want);
        free(b);
    }
    static const struct { const char *dict; const char *want; } raw[] = {
        {"{'descr': '<f4', 'shape': (4,), }", "'fortran_order' is missing"},
        {"{'descr': '<f4', 'fortran_order': False, }", "'shape' is missing"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", "structured dtype"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", "neither True nor False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", "not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } x", "bytes after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 4, }", "not a tuple"},
        {"['descr']", "not a dict"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (4,), }", "',' or '}' was expected"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (4,), }", "':' was expected"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740992,), }", "larger than 2^53 - 1"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", "more than 8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "bytes after the array"},
    };
    for (size_t k = 0; k < sizeof raw / sizeof raw[0]; k++) {
        unsigned char *b = npy_make_raw(1, raw[k].dict, f, 16, &len);
        CHECK_FAILS(ar_parse_npy(&s, b, len, "bad.npy"), "bad.npy", raw[k].want);
        free(b);
    }
    /* the header itself: version, length, magic */
    unsigned char *b = npy_make(1, "<f4", 2, sh, f, 16, 0, NULL, &len);
    b[6] = 4;
    CHECK_FAILS(ar_parse_npy(&s, b, len, "v.npy"), "version 4.0");
    b[6] = 1, b[8] = 0xFF, b[9] = 0x7F;
    CHECK_FAILS(ar_parse_npy(&s, b, len, "v.npy"), "header of 32767 bytes", "limit is 10000");
    b[8] = 0xFF, b[9] = 0x00;
    CHECK_FAILS(ar_parse_npy(&s, b, len, "v.npy"), "truncated in its header");
    CHECK_FAILS(ar_parse_npy(&s, b, 9, "v.npy"), "too short");
    b[1] = 'n';
    CHECK_FAILS(ar_parse_npy(&s, b, len, "v.npy"), "magic");
    free(b);
}

/* The header limit, both sides: 10000 bytes read, 10001 refused. */
TEST(limit_npy_header)
{
    float f[4] = {1, 2, 3, 4};
    char dict[10200];
    for (int extra = 0; extra <= 1; extra++) {
        /* npy_make_raw pads to a multiple of 64 with the newline last: build
         * a dict whose padded header is exactly 10000 + extra - ... bytes */
        const char *head = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
        size_t want = 10000 + (size_t)extra; /* header bytes, the newline included */
        size_t fill = want - 1 - strlen(head);
        memcpy(dict, head, strlen(head));
        memset(dict + strlen(head), ' ', fill);
        dict[strlen(head) + fill] = '\0';
        /* write the file by hand: magic, version 2, length, header, data */
        size_t len = 12 + want + 16;
        unsigned char *b = malloc(len);
        memcpy(b, "\x93NUMPY\x02\x00", 8);
        for (int k = 0; k < 4; k++) b[8 + k] = (unsigned char)(want >> (8 * k));
        memcpy(b + 12, dict, want - 1);
        b[12 + want - 1] = '\n';
        memcpy(b + 12 + want, f, 16);
        ar_set s;
        rl_status st = ar_parse_npy(&s, b, len, "h.npy");
        if (extra == 0) {
            CHECK_MSG(st == RL_OK && s.n == 1 && ar_get(&s.a[0], 3) == 4, "10000 bytes: %s", rl_errmsg());
            ar_close(&s);
        } else {
            CHECK(st == RL_ERR_FORMAT && strstr(rl_errmsg(), "header of 10001 bytes"));
        }
        free(b);
    }
    CHECK(AR_NPY_MAX_HEADER == 10000);
}

/* ------------------------------------------------------------------ .npz */

TEST(npz_reads_stored_and_deflated_members)
{
    float x[6] = {1, 2, 3, 4, 5, 6.5f};
    int64_t y[2] = {3, 9};
    npy_spec a[2] = {{"x", "<f4", 3, {2, 3, 1}, x}, {"y", "<i8", 1, {2}, y}};
    for (int deflate = 0; deflate <= 1; deflate++) {
        const char *p = NPZ_TMP(deflate ? "d.npz" : "s.npz", a, 2, deflate);
        ar_set s;
        CHECK_OK(ar_open(&s, p));
        const ar_array *ax = ar_find(&s, "x"), *ay = ar_find(&s, "y");
        CHECK(s.n == 2 && strcmp(s.kind, "npz") == 0 && ax && ay);
        if (ax && ay) {
            CHECK(ax->dtype == AR_F32 && ax->ndim == 3 && ax->shape[1] == 3 && ar_get(ax, 5) == 6.5);
            CHECK(ay->dtype == AR_I64 && ar_get(ay, 1) == 9);
        }
        ar_close(&s);
    }
}

/* The offsets of the first member's sizes in a zip: the local header's
 * (PK\3\4, at 18 and 22) and the central directory's (PK\1\2, at 20 and 24). */
static void patch_sizes(unsigned char *b, size_t n, uint32_t comp, uint32_t size, int which)
{
    for (size_t i = 0; i + 46 < n; i++) {
        size_t at = 0;
        if (memcmp(b + i, "PK\x03\x04", 4) == 0) at = i + 18;
        else if (memcmp(b + i, "PK\x01\x02", 4) == 0) at = i + 20;
        else continue;
        for (int k = 0; k < 4; k++) {
            if (which & 1) b[at + k] = (unsigned char)(comp >> (8 * k));
            if (which & 2) b[at + 4 + k] = (unsigned char)(size >> (8 * k));
        }
    }
}

TEST(npz_refuses_every_defect)
{
    float x[4] = {1, 2, 3, 4};
    size_t len;
    int64_t sh[1] = {4};
    unsigned char *npy = npy_make(1, "<f4", 1, sh, x, 16, 0, NULL, &len);
    unsigned char *bs[2] = {npy, npy};
    size_t ls[2] = {len, len};
    ar_set s;
    const char *names1[1] = {"notes.txt"};
    CHECK(npz_write(tmp_path("txt.npz"), 1, names1, bs, ls, 0) == 0);
    CHECK_FAILS(ar_open(&s, tmp_path("txt.npz")), "member 'notes.txt' is not a .npy array");
    /* two members of one name (libzip writes none such: rename the second in place) */
    const char *names2[2] = {"x.npy", "y.npy"};
    CHECK(npz_write(tmp_path("dup.npz"), 2, names2, bs, ls, 1) == 0);
    size_t dn = 0;
    unsigned char *dz = read_file(tmp_path("dup.npz"), &dn);
    for (size_t i = 0; dz && i + 5 <= dn; i++)
        if (memcmp(dz + i, "y.npy", 5) == 0) dz[i] = 'x';
    CHECK_FAILS(ar_parse_npz(&s, dz, dn, "dup.npz"), "dup.npz");
    free(dz);
    /* a member whose .npy is bad: the message names the member */
    const double x8[4] = {1, 2, 3, 4};
    unsigned char *bad = npy_make(1, ">f8", 1, sh, x8, sizeof x8, 0, NULL, &ls[0]);
    bs[0] = bad;
    const char *names3[1] = {"x.npy"};
    CHECK(npz_write(tmp_path("be.npz"), 1, names3, bs, ls, 1) == 0);
    CHECK_FAILS(ar_open(&s, tmp_path("be.npz")), "be.npz: member 'x.npy'", "big-endian");
    free(bad);
    /* sizes that lie: a deflated member claiming far more than deflate can make, a stored one whose sizes differ */
    bs[0] = npy, ls[0] = len;
    CHECK(npz_write(tmp_path("lie.npz"), 1, names3, bs, ls, 1) == 0);
    size_t n = 0;
    unsigned char *z = read_file(tmp_path("lie.npz"), &n);
    patch_sizes(z, n, 0, 0xF0000000u, 2);
    CHECK_FAILS(ar_parse_npz(&s, z, n, "lie.npz"), "more than deflate can make");
    free(z);
    CHECK(npz_write(tmp_path("lie2.npz"), 1, names3, bs, ls, 0) == 0);
    z = read_file(tmp_path("lie2.npz"), &n);
    patch_sizes(z, n, 0, (uint32_t)len + 1, 2);
    CHECK_FAILS(ar_parse_npz(&s, z, n, "lie2.npz"), "stored (not compressed) but claims");
    /* a size one short of the data: the member has more bytes than it says */
    patch_sizes(z, n, (uint32_t)len - 1, (uint32_t)len - 1, 3);
    CHECK(ar_parse_npz(&s, z, n, "lie3.npz") != RL_OK);
    /* truncated anywhere: one clear error, never a crash */
    for (size_t cut = 1; cut < n; cut += 7) CHECK_MSG(ar_parse_npz(&s, z, cut, "cut.npz") != RL_OK, "cut at %zu", cut);
    /* garbage that begins like a zip */
    memset(z + 4, 0xEE, n - 4);
    CHECK_FAILS(ar_parse_npz(&s, z, n, "junk.npz"), "junk.npz", "not a valid .npz");
    free(z);
    free(npy);
}

/* ------------------------------------------------------------------ IDX */

TEST(idx_reads_every_type_gzipped_or_not)
{
    /* big-endian data: uint8 (2, 3); int16; int32; float32; float64 */
    static const unsigned char u8[6] = {0, 1, 2, 253, 254, 255};
    static const unsigned char i16[4] = {0xFF, 0xFE, 0x01, 0x00}; /* -2, 256 */
    static const unsigned char i32[4] = {0x80, 0, 0, 0};          /* INT32_MIN */
    static const unsigned char f32[4] = {0x3F, 0xC0, 0, 0};       /* 1.5 */
    static const unsigned char f64[8] = {0xC0, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}; /* -pi */
    static const unsigned char i8[2] = {0x80, 0x7F};
    static const struct { unsigned char type; int ndim; uint32_t dims[2]; const unsigned char *d; size_t bytes; ar_dtype t; double first, last; } c[] = {
        {0x08, 2, {2, 3}, u8, 6, AR_U8, 0, 255},     {0x0B, 1, {2}, i16, 4, AR_I16, -2, 256},
        {0x0C, 1, {1}, i32, 4, AR_I32, -2147483648.0, -2147483648.0},
        {0x0D, 1, {1}, f32, 4, AR_F32, 1.5, 1.5},    {0x0E, 1, {1}, f64, 8, AR_F64, -3.141592653589793, -3.141592653589793},
        {0x09, 1, {2}, i8, 2, AR_I8, -128, 127}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        for (int gz = 0; gz <= 1; gz++) {
            const char *p = tmp_path(gz ? "a-idx1-ubyte.gz" : "a-idx1-ubyte");
            CHECK(idx_write(p, c[k].type, c[k].ndim, c[k].dims, c[k].d, c[k].bytes, gz) == 0);
            ar_set s;
            CHECK_OK(ar_open(&s, p));
            CHECK(s.n == 1 && strcmp(s.kind, "idx") == 0);
            if (s.n == 1) {
                const ar_array *a = &s.a[0];
                CHECK_MSG(a->dtype == c[k].t && a->ndim == c[k].ndim && a->shape[0] == c[k].dims[0] &&
                          strcmp(a->name, "a-idx1-ubyte") == 0, "type 0x%02X gz %d", c[k].type, gz);
                CHECK_MSG(ar_get(a, 0) == c[k].first && ar_get(a, a->numel - 1) == c[k].last, "type 0x%02X gz %d: %g %g",
                          c[k].type, gz, ar_get(a, 0), ar_get(a, a->numel - 1));
            }
            ar_close(&s);
        }
}

TEST(idx_refuses_every_defect)
{
    unsigned char raw[4 + 8 + 6] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    ar_set s;
    CHECK_OK(ar_parse_idx(&s, raw, sizeof raw, "ok-ubyte"));
    ar_close(&s);
    CHECK_FAILS(ar_parse_idx(&s, raw, sizeof raw - 1, "t-ubyte"), "t-ubyte", "truncated");
    unsigned char more[sizeof raw + 1];
    memcpy(more, raw, sizeof raw), more[sizeof raw] = 9;
    CHECK_FAILS(ar_parse_idx(&s, more, sizeof more, "m-ubyte"), "bytes after the array");
    unsigned char b[sizeof raw];
    memcpy(b, raw, sizeof raw), b[2] = 0x0A;
    CHECK_FAILS(ar_parse_idx(&s, b, sizeof b, "type-ubyte"), "type byte 0x0A");
    memcpy(b, raw, sizeof raw), b[3] = 0;
    CHECK_FAILS(ar_parse_idx(&s, b, sizeof b, "r0-ubyte"), "0 dimensions");
    memcpy(b, raw, sizeof raw), b[3] = 2, b[4] = 0xFF; /* 4278190082 x 3 elements */
    CHECK_FAILS(ar_parse_idx(&s, b, sizeof b, "big-ubyte"), "truncated");
    unsigned char r9[4 + 36] = {0, 0, 0x08, 9};
    CHECK_FAILS(ar_parse_idx(&s, r9, sizeof r9, "r9-ubyte"), "9 dimensions", "1 to 8");
    CHECK_FAILS(ar_parse_idx(&s, raw, 6, "short-ubyte"), "truncated in its IDX header");
    /* gzipped: truncated, with more data than its dimensions, bytes after the stream, a lying header */
    size_t gl = 0;
    unsigned char *gz = gzip_bytes(raw, sizeof raw, &gl);
    CHECK_OK(ar_parse_idx(&s, gz, gl, "ok.gz"));
    ar_close(&s);
    for (size_t cut = 1; cut < gl; cut++) CHECK(ar_parse_idx(&s, gz, cut, "cut.gz") != RL_OK);
    unsigned char *gz2 = malloc(gl + 3);
    memcpy(gz2, gz, gl), memcpy(gz2 + gl, "abc", 3);
    CHECK_FAILS(ar_parse_idx(&s, gz2, gl + 3, "tail.gz"), "bytes after the gzip stream");
    free(gz2), free(gz);
    gz = gzip_bytes(more, sizeof more, &gl);
    CHECK_FAILS(ar_parse_idx(&s, gz, gl, "more.gz"), "more data than the dimensions say");
    free(gz);
    gz = gzip_bytes(raw, sizeof raw - 2, &gl);
    CHECK_FAILS(ar_parse_idx(&s, gz, gl, "less.gz"), "truncated");
    free(gz);
    unsigned char claim[12] = {0, 0, 0x08, 2, 0x10, 0, 0, 0, 0x10, 0, 0, 0}; /* 2^56 bytes */
    gz = gzip_bytes(claim, sizeof claim, &gl);
    CHECK_FAILS(ar_parse_idx(&s, gz, gl, "claim.gz"), "limit");
    free(gz);
    unsigned char claim2[12] = {0, 0, 0x08, 2, 0, 0x10, 0, 0, 0, 0, 0x10, 0}; /* 4 GiB from a few bytes */
    gz = gzip_bytes(claim2, sizeof claim2, &gl);
    CHECK_FAILS(ar_parse_idx(&s, gz, gl, "ratio.gz"), "more than deflate can make");
    free(gz);
    unsigned char junk[40] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF};
    CHECK_FAILS(ar_parse_idx(&s, junk, sizeof junk, "junk.gz"), "junk.gz");
}

/* ------------------------------------------------------------------ safetensors and the file's kind */

TEST(arrays_tell_the_format_by_content)
{
    float x[2] = {1, 2};
    int64_t y[2] = {0, 1};
    rl_st_tensor t[2] = {{"x", "F32", 3, {2, 1, 1}, x}, {"y", "I64", 1, {2}, y}};
    const char *p = tmp_path("named.npz"); /* a safetensors file, whatever its name says */
    CHECK_OK(rl_st_write(p, t, 2, NULL, 0));
    ar_set s;
    CHECK_OK(ar_open(&s, p));
    CHECK(strcmp(s.kind, "safetensors") == 0 && s.n == 2 && ar_find(&s, "x") && ar_find(&s, "x")->dtype == AR_F32 &&
          ar_get(ar_find(&s, "y"), 1) == 1);
    ar_close(&s);
    /* a folder of .npy files, one array each by the file's name */
    const char *dir = tmp_path("npyfolder");
    char path[1200];
    CHECK(mkdir(dir, 0755) == 0);
    int64_t sh[1] = {2};
    size_t len;
    unsigned char *b = npy_make(3, "<f4", 1, sh, x, 8, 0, NULL, &len);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    write_tmp("npyfolder/x.npy", b, len);
    free(b);
    b = npy_make(1, "<i8", 1, sh, y, 16, 0, NULL, &len);
    write_tmp("npyfolder/y.npy", b, len);
    free(b);
    write_tmp("npyfolder/README", "not an array", 12);
    CHECK_OK(ar_open(&s, dir));
    CHECK(strcmp(s.kind, "npy folder") == 0 && s.n == 2 && ar_find(&s, "x") && ar_find(&s, "y") && ar_get(ar_find(&s, "x"), 1) == 2);
    ar_close(&s);
    CHECK_FAILS(ar_open(&s, tmp_path("no-such-file")), "no-such-file", "cannot open");
    CHECK_FAILS(ar_open(&s, "-"), "not from stdin");
    write_tmp("a.txt", "hello, world\n", 13);
    CHECK_FAILS(ar_open(&s, tmp_path("a.txt")), "a.txt", "a text file");
    write_tmp("empty.npz", "", 0);
    CHECK_FAILS(ar_open(&s, tmp_path("empty.npz")), "empty.npz");
    const char *empty_dir = tmp_path("emptyfolder");
    CHECK(mkdir(empty_dir, 0755) == 0);
    CHECK_FAILS(ar_open(&s, empty_dir), "a folder without .npy files");
}

/* ------------------------------------------------------------------ CSV */

TEST(csv_reads_columns)
{
    const char *text = "\xEF\xBB\xBF" "date,\"load, MW\",temp , note\r\n"
                       "2020-01-01,1.5,-3,\"said \"\"hi\"\"\"\r\n"
                       "2020-01-02, 2.5 ,1e1,\"two\nlines\"\r\n"
                       "2020-01-03,\" 3 \",0x10,x\r\n\r\n\n";
    csv_table t;
    CHECK_OK(csv_parse(&t, text, strlen(text), "s.csv"));
    CHECK(t.cols == 4 && t.rows == 3);
    if (t.cols == 4) CHECK(strcmp(t.names[1], "load, MW") == 0 && strcmp(t.names[2], "temp") == 0 && strcmp(t.names[3], "note") == 0);
    int idx[4], n = 0;
    CHECK_OK(csv_columns(&t, "temp,2", "--inputs", idx, 4, &n));
    CHECK(n == 2 && idx[0] == 2 && idx[1] == 1);
    double v[6];
    CHECK_OK(csv_numbers(&t, idx, 2, v));
    CHECK(v[0] == -3 && v[1] == 1.5 && v[2] == 10 && v[3] == 2.5 && v[4] == 16 && v[5] == 3);
    CHECK_FAILS(csv_columns(&t, "tmp", "--targets", idx, 4, &n), "--targets: no column 'tmp'", "'temp'");
    CHECK_FAILS(csv_columns(&t, "5", "--targets", idx, 4, &n), "column 5 is not one of");
    CHECK_FAILS(csv_columns(&t, "temp,temp", "--inputs", idx, 4, &n), "named twice");
    CHECK_FAILS(csv_columns(&t, "", "--inputs", idx, 4, &n), "no column named");
    int date = 0;
    CHECK_FAILS(csv_numbers(&t, &date, 1, v), "line 2, column 'date': '2020-01-01' is not a number");
    int note = 3;
    CHECK_FAILS(csv_numbers(&t, &note, 1, v), "line 2, column 'note'");
    csv_close(&t);
    /* a column name used twice: by name it is ambiguous, by number it is read */
    const char *dup = "a,a\n1,2\n";
    CHECK_OK(csv_parse(&t, dup, strlen(dup), "dup.csv"));
    CHECK_FAILS(csv_columns(&t, "a", "--inputs", idx, 4, &n), "2 columns of dup.csv are named 'a'");
    CHECK_OK(csv_columns(&t, "2", "--inputs", idx, 4, &n));
    csv_close(&t);
}

TEST(csv_refuses_every_defect)
{
    static const struct { const char *text; const char *want; } c[] = {
        {"", "empty"},
        {"a,b\n", "a header and no rows"},
        {"a,b\n1,2\n3\n", "line 3 has 1 field; the header has 2"},
        {"a,b\n1,2,3\n", "line 2 has 3 fields"},
        {"a,b\n1,\"2\n", "line 2: a quote that is not closed"},
        {"a,b\n1,\"2\"x\n", "text after one"},
        {"a,b\n\n1,2\n", "line 2 has 1 field"},
    };
    csv_table t;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) CHECK_FAILS(csv_parse(&t, c[k].text, strlen(c[k].text), "bad.csv"), "bad.csv", c[k].want);
    const char nul[] = "a,b\n1,2\0\n";
    CHECK_FAILS(csv_parse(&t, nul, sizeof nul - 1, "nul.csv"), "NUL byte");
    static const struct { const char *text; const char *want; } cell[] = {
        {"a\n1\n\n", NULL},
        {"a\n\n2\n", "line 2, column 'a': an empty cell"},
        {"a\n \n", "a header and no rows"},
        {"a\n \n3\n", "an empty cell"},
        {"a\nnan\n", "nan is not a finite number"},
        {"a\n-inf\n", "not a finite number"},
        {"a\n1e999\n", "not a finite number"},
        {"a\n1.5.2\n", "'1.5.2' is not a number"},
        {"a\n\"\"\n", "an empty cell"},
    };
    for (size_t k = 0; k < sizeof cell / sizeof cell[0]; k++) {
        rl_status s = csv_parse(&t, cell[k].text, strlen(cell[k].text), "c.csv");
        int zero = 0;
        double v[4];
        if (!s) s = csv_numbers(&t, &zero, 1, v);
        if (cell[k].want) CHECK_MSG(s != RL_OK && strstr(rl_errmsg(), cell[k].want), "'%s': %s", cell[k].text, rl_errmsg());
        else CHECK_MSG(s == RL_OK, "'%s': %s", cell[k].text, rl_errmsg());
        csv_close(&t);
    }
}

/* Columns, both sides: 65536 read, 65537 refused; a name of 255 bytes
 * read, 256 refused. */
TEST(limit_csv_columns_and_names)
{
    for (int extra = 0; extra <= 1; extra++) {
        const int cols = CSV_MAX_COLS + extra;
        size_t n = (size_t)cols * 2 + (size_t)cols * 2 + 8;
        char *txt = malloc(n), *p = txt;
        for (int c = 0; c < cols; c++) *p++ = 'a', *p++ = c + 1 < cols ? ',' : '\n';
        for (int c = 0; c < cols; c++) *p++ = '1', *p++ = c + 1 < cols ? ',' : '\n';
        csv_table t;
        rl_status s = csv_parse(&t, txt, (size_t)(p - txt), "wide.csv");
        if (!extra) CHECK_MSG(s == RL_OK && t.cols == CSV_MAX_COLS, "%s", rl_errmsg());
        else CHECK(s == RL_ERR_FORMAT && strstr(rl_errmsg(), "more than 65536 columns"));
        csv_close(&t);
        free(txt);
    }
    for (int extra = 0; extra <= 1; extra++) {
        char txt[600];
        memset(txt, 'n', CSV_MAX_NAME + (size_t)extra);
        snprintf(txt + CSV_MAX_NAME + extra, sizeof txt - CSV_MAX_NAME - (size_t)extra, "\n1\n");
        csv_table t;
        rl_status s = csv_parse(&t, txt, strlen(txt), "name.csv");
        if (!extra) CHECK_MSG(s == RL_OK && strlen(t.names[0]) == CSV_MAX_NAME, "%s", rl_errmsg());
        else CHECK(s == RL_ERR_FORMAT && strstr(rl_errmsg(), "longer than 255 bytes"));
        csv_close(&t);
    }
}
