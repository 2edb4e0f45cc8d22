/* Bad files: every lie a header can tell, truncation, bad values. Each must
 * give its status and a message naming the file, never a crash. */
#include "datafiles.h"
#include "io/safetensors.h"
#include "test.h"

#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define META "\"__metadata__\":{\"cell\":\"tanh\",\"input_size\":\"1\",\"hidden_size\":\"1\",\"num_layers\":\"1\",\"output_size\":\"1\",\"loss\":\"mse\"}"
#define T(name, off) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[" off "]}"
#define V(name, off) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" off "]}"
/* A valid 1-1-1 tanh model: 6 tensors of one float each. */
#define GOOD_TENSORS T("rnn.weight_ih_l0", "0,4") "," T("rnn.weight_hh_l0", "4,8") "," V("rnn.bias_ih_l0", "8,12") "," \
    V("rnn.bias_hh_l0", "12,16") "," T("head.weight", "16,20") "," V("head.bias", "20,24")

/* Loading path as a model gives status want and a message containing frag and the path. */
static void expect_model_error(const char *path, rl_status want, const char *frag)
{
    rl_model *m = NULL;
    rl_status s = rl_model_load(&m, path, RL_F32);
    CHECK_MSG(s == want, "%s: got status %d (%s), want %d", frag, (int)s, rl_errmsg(), (int)want);
    CHECK(m == NULL);
    CHECK_MSG(strstr(rl_errmsg(), frag) != NULL, "message '%s' lacks '%s'", rl_errmsg(), frag);
    const char *base = strrchr(path, '/');
    CHECK_MSG(strstr(rl_errmsg(), base ? base + 1 : path) != NULL, "message '%s' does not name the file", rl_errmsg());
    rl_model_free(m);
}

TEST(good_handmade_model_loads)
{
    rl_model *m = NULL;
    CHECK_OK(rl_model_load(&m, write_st_tmp("good.st", "{" META "," GOOD_TENSORS "}", 24), RL_F64));
    CHECK(m && rl_model_num_params(m) == 6);
    rl_model_free(m);
}

TEST(bad_model_files)
{
    expect_model_error(tmp_path("does-not-exist"), RL_ERR_IO, "cannot open");
    expect_model_error(test_tmpdir, RL_ERR_IO, "directory");
    expect_model_error(write_tmp("empty.st", "", 0), RL_ERR_FORMAT, "too short");
    expect_model_error(write_tmp("seven.st", "1234567", 7), RL_ERR_FORMAT, "too short");
    /* header length larger than the file, and larger than the format allows */
    unsigned char b[16] = {0};
    uint64_t h = 1000;
    memcpy(b, &h, 8);
    expect_model_error(write_tmp("longhdr.st", b, 16), RL_ERR_FORMAT, "truncated");
    h = 1ull << 40;
    memcpy(b, &h, 8);
    expect_model_error(write_tmp("hugehdr.st", b, 16), RL_ERR_FORMAT, "exceeds the limit");
    expect_model_error(write_st_tmp("notjson.st", "{\"a\": [1, 2", 0), RL_ERR_FORMAT, "not valid JSON");
    expect_model_error(write_st_tmp("array.st", "[1,2,3]", 0), RL_ERR_FORMAT, "not a JSON object");
    /* deep nesting is refused by the parser, not by the stack */
    size_t depth = 200000;
    char *deep = malloc(2 * depth + 16);
    strcpy(deep, "{\"a\":");
    memset(deep + 5, '[', depth);
    deep[5 + depth] = '\0';
    expect_model_error(write_st_tmp("deep.st", deep, 0), RL_ERR_FORMAT, "not valid JSON");
    free(deep);
    /* the data section is cut short */
    expect_model_error(write_st_tmp("trunc.st", "{" META "," GOOD_TENSORS "}", 20), RL_ERR_FORMAT, "outside");
    /* offsets that do not match the shape, that overlap, that are not integers */
    expect_model_error(write_st_tmp("size.st", "{" META "," T("rnn.weight_ih_l0", "0,8") "}", 8), RL_ERR_FORMAT,
                       "data bytes for");
    expect_model_error(write_st_tmp("overlap.st", "{" META "," T("a", "0,4") "," T("b", "2,6") "}", 8), RL_ERR_FORMAT,
                       "overlap");
    expect_model_error(write_st_tmp("negoff.st", "{" META "," T("a", "-4,0") "}", 8), RL_ERR_FORMAT, "data_offsets");
    expect_model_error(write_st_tmp("fracoff.st", "{" META "," T("a", "0.5,4") "}", 8), RL_ERR_FORMAT, "data_offsets");
    expect_model_error(write_st_tmp("bigoff.st", "{" META "," T("a", "18446744073709551612,18446744073709551616") "}", 8),
                       RL_ERR_FORMAT, "data_offsets");
    /* a shape whose element count overflows */
    expect_model_error(write_st_tmp("ovf.st", "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],"
                                         "\"data_offsets\":[0,8]}}", 8),
                       RL_ERR_FORMAT, "overflows");
    expect_model_error(write_st_tmp("dt.st", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                       RL_ERR_FORMAT, "unknown dtype");
    expect_model_error(write_st_tmp("dup.st", "{" T("a", "0,4") "," T("a", "4,8") "}", 8), RL_ERR_FORMAT, "twice");
    /* metadata */
    expect_model_error(write_st_tmp("nometa.st", "{" GOOD_TENSORS "}", 24), RL_ERR_FORMAT, "metadata 'cell' is missing");
    expect_model_error(write_st_tmp("badcell.st", "{\"__metadata__\":{\"cell\":\"elman\",\"loss\":\"mse\"}}", 0),
                       RL_ERR_FORMAT, "unknown cell 'elman'");
    const char *bad_sizes[] = {"\"abc\"", "\"-3\"", "\"0\"", "\"70000\"", "\"12x\"", "\"99999999999999999999\""};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        char hdr[1024];
        snprintf(hdr, sizeof hdr,
                 "{\"__metadata__\":{\"cell\":\"tanh\",\"input_size\":\"1\",\"hidden_size\":%s,\"num_layers\":\"1\","
                 "\"output_size\":\"1\",\"loss\":\"mse\"}," GOOD_TENSORS "}",
                 bad_sizes[i]);
        expect_model_error(write_st_tmp("badsize.st", hdr, 24), RL_ERR_FORMAT, "hidden_size");
    }
    expect_model_error(write_st_tmp("metanum.st", "{\"__metadata__\":{\"cell\":3}}", 0), RL_ERR_FORMAT, "not a string");
    /* metadata that asks for far more parameters than the file holds: refused
     * before anything is allocated */
    expect_model_error(write_st_tmp("bigmeta.st",
                               "{\"__metadata__\":{\"cell\":\"lstm\",\"input_size\":\"65536\",\"hidden_size\":\"65536\","
                               "\"num_layers\":\"64\",\"output_size\":\"65536\",\"loss\":\"mse\"}," GOOD_TENSORS "}",
                               24),
                       RL_ERR_FORMAT, "parameters");
    /* tensors: missing, wrong shape, wrong dtype, unexpected, non-finite */
    expect_model_error(write_st_tmp("missing.st", "{" META "," T("rnn.weight_ih_l0", "0,4") "}", 24), RL_ERR_FORMAT,
                       "tensor 'rnn.weight_hh_l0' is missing");
    expect_model_error(
        write_st_tmp("shape.st",
                "{" META ",\"rnn.weight_ih_l0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," T(
                    "rnn.weight_hh_l0", "4,8") "," V("rnn.bias_ih_l0", "8,12") "," V("rnn.bias_hh_l0", "12,16") "," T("head.weight", "16,20") "," V("head.bias", "20,24") "}",
                24),
        RL_ERR_FORMAT, "has shape (1), expected (1, 1)");
    expect_model_error(
        write_st_tmp("i64.st",
                "{" META ",\"rnn.weight_ih_l0\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[0,8]}," T(
                    "rnn.weight_hh_l0", "8,12") "," V("rnn.bias_ih_l0", "12,16") "," V("rnn.bias_hh_l0", "16,20") "," T("head.weight", "20,24") "," V("head.bias", "24,28") "}",
                28),
        RL_ERR_FORMAT, "expected F32 or F64");
    expect_model_error(write_st_tmp("extra.st", "{" META "," GOOD_TENSORS "," V("extra.w", "24,28") "}", 28), RL_ERR_FORMAT,
                       "unexpected tensor 'extra.w'");
    /* a NaN in a weight */
    {
        const char *hdr = "{" META "," GOOD_TENSORS "}";
        size_t hl = strlen(hdr), len = 0;
        unsigned char *f = st_image(hdr, 0, NULL, 24, &len);
        float nan = NAN;
        memcpy(f + 8 + hl + 16, &nan, 4);
        expect_model_error(write_tmp("nan.st", f, len), RL_ERR_NONFINITE, "non-finite");
        free(f);
    }
}

/* Data files are checked against the model. */
static void expect_data_error(const rl_model *m, const char *path, rl_status want, const char *frag)
{
    rl_data *d = NULL;
    rl_status s = rl_data_load(&d, path, m, RL_F32);
    CHECK_MSG(s == want, "%s: got status %d (%s), want %d", frag, (int)s, rl_errmsg(), (int)want);
    CHECK(d == NULL);
    CHECK_MSG(strstr(rl_errmsg(), frag) != NULL, "message '%s' lacks '%s'", rl_errmsg(), frag);
    rl_data_free(d);
}

/* A data file for model m from a batch with one field changed by the caller. */
TEST(bad_data_files)
{
    rl_model *ce = NULL, *mse = NULL;
    rl_config c1 = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 3, .num_layers = 2, .output_size = 4, .loss = RL_LOSS_CE}, c2 = {.cell = RL_CELL_TANH, .input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 2, .loss = RL_LOSS_MSE};
    CHECK_OK(rl_model_new(&ce, &c1, RL_F32));
    CHECK_OK(rl_model_new(&mse, &c2, RL_F32));
    if (!ce || !mse) return;
    float x[2 * 3 * 2] = {0}, mask[6] = {1, 1, 1, 1, 1, 1}, h0[2 * 2 * 3] = {0}, y[2 * 3 * 2] = {0};
    int32_t ids[6] = {0, 1, 2, 3, 0, 1};
    rl_batch b = {RL_F32, 2, 3, 2, x, ids, NULL, mask, h0, NULL};
    const char *p = tmp_path("d.st");
    rl_data *d = NULL;
    CHECK_OK(rl_data_save(&b, ce, p));
    CHECK_OK(rl_data_load(&d, p, ce, RL_F32));
    rl_data_free(d);
    /* the same file against a model with another input size, another loss */
    rl_config c3 = c1;
    c3.input_size = 5;
    rl_model *other = NULL;
    CHECK_OK(rl_model_new(&other, &c3, RL_F32));
    expect_data_error(other, p, RL_ERR_FORMAT, "tensor 'x' has shape (2, 3, 2), expected (2, 3, 5)");
    rl_model_free(other);
    expect_data_error(mse, p, RL_ERR_FORMAT, "tensor 'y' has shape (2, 3), expected (2, 3, 2)");
    /* h0 for two layers given to a one-layer model */
    rl_batch bm = {RL_F32, 2, 3, 2, x, NULL, y, mask, NULL, NULL};
    CHECK_OK(rl_data_save(&bm, mse, p));
    CHECK_OK(rl_data_load(&d, p, mse, RL_F32));
    rl_data_free(d);
    bm.h0 = h0;
    rl_config c4 = c2;
    c4.num_layers = 2;
    rl_model *mse2 = NULL;
    CHECK_OK(rl_model_new(&mse2, &c4, RL_F32));
    if (mse2) CHECK_OK(rl_data_save(&bm, mse2, p)); /* h0 (2, 2, 3) */
    rl_model_free(mse2);
    expect_data_error(mse, p, RL_ERR_FORMAT, "tensor 'h0' has shape (2, 2, 3), expected (1, 2, 3)");
    /* class ids out of range */
    ids[4] = 4;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_FORMAT, "outside [0, 3]");
    ids[4] = -1;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_FORMAT, "outside [0, 3]");
    ids[4] = 0;
    /* masks: negative, all zero */
    mask[2] = -1;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_ARG, "negative");
    for (int i = 0; i < 6; i++) mask[i] = 0;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_ARG, "sums to zero");
    for (int i = 0; i < 6; i++) mask[i] = 1;
    /* non-finite inputs */
    x[3] = INFINITY;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_NONFINITE, "non-finite");
    x[3] = 0;
    /* c0 for a tanh model */
    b.c0 = h0;
    CHECK_OK(rl_data_save(&b, ce, p));
    expect_data_error(ce, p, RL_ERR_FORMAT, "only for LSTM");
    b.c0 = NULL;
    /* a missing x, a missing y, an unknown tensor */
    expect_data_error(ce, write_st_tmp("nox.st", "{\"y\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[0,8]}}", 8),
                      RL_ERR_FORMAT, "tensor 'x' is missing");
    expect_data_error(ce, write_st_tmp("noy.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,2],\"data_offsets\":[0,8]}}", 8),
                      RL_ERR_FORMAT, "tensor 'y' is missing");
    expect_data_error(ce,
                      write_st_tmp("xtra.st",
                              "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,2],\"data_offsets\":[0,8]},"
                              "\"y\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[8,16]},"
                              "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
                              20),
                      RL_ERR_FORMAT, "unexpected tensor 'z'");
    expect_data_error(ce, write_st_tmp("x2d.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8),
                      RL_ERR_FORMAT, "(B, T, I)");
    rl_model_free(ce);
    rl_model_free(mse);
}

/* A save that cannot start reports the folder; a save replaces the file
 * whole, through a temporary that is gone afterwards. */
TEST(save_is_atomic)
{
    rl_config c = {.cell = RL_CELL_TANH, .input_size = 1, .hidden_size = 2, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE};
    rl_model *m = NULL;
    CHECK_OK(rl_model_new(&m, &c, RL_F32));
    if (!m) return;
    CHECK(rl_model_save(m, tmp_path("no-such-dir/m.st")) == RL_ERR_IO);
    CHECK(strstr(rl_errmsg(), "no-such-dir") != NULL);
    const char *p = tmp_path("keep.st");
    CHECK_OK(rl_model_save(m, p));
    size_t n0 = 0, n1 = 0;
    unsigned char *before = read_file(p, &n0);
    ((float *)rl_model_params(m))[0] = 1.5f;
    CHECK_OK(rl_model_save(m, p));
    unsigned char *after = read_file(p, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) != 0);
    glob_t g;
    char pat[4200];
    snprintf(pat, sizeof pat, "%s/*.tmp.*", test_tmpdir);
    CHECK(glob(pat, 0, NULL, &g) == GLOB_NOMATCH);
    globfree(&g);
    free(before);
    free(after);
    rl_model_free(m);
}

/* The limits of docs/security.md, each at its edge. */
TEST(file_limits)
{
    /* rank: 8 dimensions parse, 9 do not */
    expect_model_error(write_st_tmp("rank9.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4),
                       RL_ERR_FORMAT, "9 dimensions (limit 8)");
    st_file f;
    const char *ok8 = write_st_tmp("rank8.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    CHECK_OK(st_read(&f, ok8));
    st_close(&f);
    /* names: 255 bytes parse, 256 do not */
    char hdr[2048], name[300];
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    expect_model_error(write_st_tmp("name256.st", hdr, 4), RL_ERR_FORMAT, "longer than 255 bytes");
    name[255] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    CHECK_OK(st_read(&f, write_st_tmp("name255.st", hdr, 4)));
    st_close(&f);
    /* tensor count: 4097 entries are refused before any is read */
    size_t cap = 4200 * 64, at = 0;
    char *big = malloc(cap);
    at += (size_t)snprintf(big + at, cap - at, "{");
    for (int i = 0; i < 4097; i++)
        at += (size_t)snprintf(big + at, cap - at, "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                               i ? "," : "", i);
    snprintf(big + at, cap - at, "}");
    expect_model_error(write_st_tmp("many.st", big, 0), RL_ERR_FORMAT, "4097 header entries (limit 4096 tensors)");
    free(big);
    /* a header of exactly the limit is read as such: refused only when the file is shorter */
    unsigned char b[16] = {0};
    uint64_t h = 100u << 20;
    memcpy(b, &h, 8);
    expect_model_error(write_tmp("limit.st", b, 16), RL_ERR_FORMAT, "truncated");
    h = (100u << 20) + 1;
    memcpy(b, &h, 8);
    expect_model_error(write_tmp("over.st", b, 16), RL_ERR_FORMAT, "exceeds the limit");
    /* metadata: layers 64 is the limit, 65 is refused */
    expect_model_error(write_st_tmp("layers65.st",
                               "{\"__metadata__\":{\"cell\":\"tanh\",\"input_size\":\"1\",\"hidden_size\":\"1\","
                               "\"num_layers\":\"65\",\"output_size\":\"1\",\"loss\":\"mse\"}}", 0),
                       RL_ERR_FORMAT, "num_layers");
}
