/* Data files the tests write for themselves (tests/datafiles.h). */
#include "datafiles.h"
#include "test.h"

#include <math.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <zlib.h>

unsigned char *npy_make_raw(int major, const char *dict, const void *data, size_t data_bytes, size_t *len)
{
    const size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = dl + 1; /* + the newline */
    while ((pre + hl) % 64) hl++;
    *len = pre + hl + data_bytes;
    unsigned char *b = malloc(*len + 1);
    if (!b) return NULL;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major, b[7] = 0;
    if (major == 1) b[8] = (unsigned char)(hl & 0xFF), b[9] = (unsigned char)(hl >> 8);
    else for (int k = 0; k < 4; k++) b[8 + k] = (unsigned char)(hl >> (8 * k));
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', hl - dl - 1);
    b[pre + hl - 1] = '\n';
    if (data_bytes) memcpy(b + pre + hl, data, data_bytes);
    return b;
}

unsigned char *npy_make(int major, const char *descr, int ndim, const int64_t *shape, const void *data, size_t data_bytes,
                        int fortran, const char *header_extra, size_t *len)
{
    char dict[1024], sh[256] = "";
    size_t at = 0;
    for (int i = 0; i < ndim; i++) at += (size_t)snprintf(sh + at, sizeof sh - at, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
    if (ndim > 1) sh[at - 1] = '\0'; /* numpy writes (2, 3) but (3,) */
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), %s}", descr, fortran ? "True" : "False", sh,
             header_extra ? header_extra : "");
    return npy_make_raw(major, dict, data, data_bytes, len);
}

int npz_write(const char *path, int n, const char *const *names, unsigned char *const *bytes, const size_t *lens, int deflate)
{
    int err = 0;
    remove(path);
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) return -1;
    for (int i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, bytes[i], lens[i], 0);
        zip_int64_t k = s ? zip_file_add(z, names[i], s, ZIP_FL_ENC_UTF_8) : -1;
        if (k < 0) {
            zip_source_free(s);
            zip_discard(z);
            return -1;
        }
        zip_set_file_compression(z, (zip_uint64_t)k, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    return zip_close(z) == 0 ? 0 : -1;
}

static size_t descr_size(const char *d) { return (size_t)atoi(d + 2); }

int npz_write_arrays(const char *path, const npy_spec *a, int n, int deflate)
{
    unsigned char *b[16];
    size_t len[16];
    char names[16][300];
    const char *np[16];
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < a[i].ndim; d++) numel *= (size_t)a[i].shape[d];
        b[i] = npy_make(1, a[i].descr, a[i].ndim, a[i].shape, a[i].data, numel * descr_size(a[i].descr), 0, NULL, &len[i]);
        snprintf(names[i], sizeof names[i], "%s.npy", a[i].name);
        np[i] = names[i];
        if (!b[i]) rc = -1;
    }
    if (!rc) rc = npz_write(path, n, np, b, len, deflate);
    for (int i = 0; i < n; i++) free(b[i]);
    return rc;
}

unsigned char *gzip_bytes(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *o = malloc(cap);
    if (!o) return NULL;
    z.next_in = (Bytef *)data, z.avail_in = (uInt)len, z.next_out = o, z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(o);
        return NULL;
    }
    return o;
}

int idx_write(const char *path, unsigned char type, int ndim, const uint32_t *dims, const void *be_data, size_t bytes, int gz)
{
    size_t len = 4 + 4 * (size_t)ndim + bytes;
    unsigned char *b = malloc(len);
    if (!b) return -1;
    b[0] = b[1] = 0, b[2] = type, b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++) b[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    if (bytes) memcpy(b + 4 + 4 * ndim, be_data, bytes);
    unsigned char *out = b;
    size_t olen = len;
    if (gz && !(out = gzip_bytes(b, len, &olen))) {
        free(b);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(out, 1, olen, f) == olen ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (out != b) free(out);
    free(b);
    return rc;
}

int text_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

/* ------------------------------------------------------------------ data sets for the tasks */

/* A file of N sequences of T steps, I = 2: the class is whether the sum of
 * the first input is positive (kind 3), or other targets of the same x. */
const char *seq_file_write(const char *name, int kind, int N, int T, uint64_t seed)
{
    float *x = malloc((size_t)N * T * 2 * 4), *y = malloc((size_t)N * T * 2 * 4);
    int64_t *c = malloc((size_t)N * T * 8);
    int32_t *len = malloc((size_t)N * 4);
    rl_rng r;
    rl_rng_seed(&r, seed);
    for (int n = 0; n < N; n++) {
        double sum = 0;
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < 2; i++) x[((size_t)n * T + t) * 2 + i] = (float)rl_rng_normal(&r);
            sum += x[((size_t)n * T + t) * 2];
            y[((size_t)n * T + t) * 2] = (float)sum, y[((size_t)n * T + t) * 2 + 1] = (float)-sum;
            c[(size_t)n * T + t] = sum > 0;
        }
        len[n] = 1 + (int32_t)(rl_rng_next(&r) % (uint64_t)T);
        if (kind == 3) c[n] = sum > 0;
        if (kind == 2) y[n * 2] = (float)sum, y[n * 2 + 1] = 1;
    }
    npy_spec a[3] = {{"x", "<f4", 3, {N, T, 2}, x}, {"y", "<f4", 3, {N, T, 2}, y}, {"lengths", "<i4", 1, {N}, len}};
    if (kind == 1) a[1] = (npy_spec){"y", "<i8", 2, {N, T}, c};
    if (kind == 2) a[1] = (npy_spec){"y", "<f4", 2, {N, 2}, y};
    if (kind == 3) a[1] = (npy_spec){"y", "<i8", 1, {N}, c};
    const char *p = tmp_path(name);
    int rc = npz_write_arrays(p, a, kind == 1 || kind == 2 ? 3 : 2, kind % 2);
    free(x), free(y), free(c), free(len);
    return rc ? NULL : p;
}

const char *mnist_folder_write(const char *name, int n, int m)
{
    const char *dir = tmp_path(name);
    mkdir(dir, 0755);
    for (int part = 0; part < 2; part++) {
        const int k = part ? m : n;
        unsigned char *img = malloc((size_t)k * 9), lab[64];
        for (int i = 0; i < k; i++) {
            for (int p = 0; p < 9; p++) img[i * 9 + p] = (unsigned char)(p == i % 9 ? 255 : 0);
            lab[i] = (unsigned char)(i % 9);
        }
        char path[1200];
        uint32_t d3[3] = {(uint32_t)k, 3, 3}, d1[1] = {(uint32_t)k};
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, part ? "t10k" : "train");
        int rc = idx_write(path, 0x08, 3, d3, img, (size_t)k * 9, 1);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, part ? "t10k" : "train");
        rc |= idx_write(path, 0x08, 1, d1, lab, (size_t)k, 1);
        free(img);
        if (rc) return NULL;
    }
    return dir;
}

const char *series_file_write(const char *name, int rows)
{
    char *txt = malloc((size_t)rows * 64 + 64), *p = txt;
    p += sprintf(p, "t,u,v\n");
    for (int r = 0; r < rows; r++) p += sprintf(p, "%d,%.6f,%.6f\n", r, sin(0.3 * r), cos(0.3 * r));
    const char *path = tmp_path(name);
    int rc = text_write(path, txt);
    free(txt);
    return rc ? NULL : path;
}

unsigned char *st_image(const char *header, size_t hlen, const void *data, size_t ndata, size_t *len)
{
    size_t hl = strlen(header);
    if (hlen < hl) hlen = hl;
    *len = 8 + hlen + ndata;
    unsigned char *b = malloc(*len);
    if (!b) abort();
    uint64_t h = hlen;
    memcpy(b, &h, 8);
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, ' ', hlen - hl);
    if (data) memcpy(b + 8 + hlen, data, ndata);
    else memset(b + 8 + hlen, 0, ndata);
    return b;
}

const char *write_st_tmp(const char *name, const char *header, size_t ndata)
{
    size_t len = 0;
    unsigned char *img = st_image(header, 0, NULL, ndata, &len);
    const char *p = write_tmp(name, img, len);
    free(img);
    return p;
}

const char *npz_tmp_at(const char *file, int line, const char *name, const npy_spec *a, int n, int deflate)
{
    const char *p = tmp_path(name);
    if (npz_write_arrays(p, a, n, deflate) != 0) test_fail_at(file, line, "cannot write %s", p);
    return p;
}
