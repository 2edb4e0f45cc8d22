/* Data files the tests write for themselves: .npy bytes, .npz archives
 * (libzip), IDX files (gzipped with zlib or not), CSV text and safetensors
 * images.
 * tests/datafiles.c */
#ifndef RL_TEST_DATAFILES_H
#define RL_TEST_DATAFILES_H

#include <stddef.h>
#include <stdint.h>

/* A .npy file in memory (malloc'ed, *len its size): version major (1, 2
 * or 3), numpy's descr ("<f4"), the shape (ndim values), numel * elsize
 * data bytes. header_extra (or NULL) is put inside the dict before its
 * closing brace, raw, to make bad headers; fortran sets fortran_order. */
unsigned char *npy_make(int major, const char *descr, int ndim, const int64_t *shape, const void *data, size_t data_bytes,
                        int fortran, const char *header_extra, size_t *len);
/* The same with the header dict given whole (bad headers). */
unsigned char *npy_make_raw(int major, const char *dict, const void *data, size_t data_bytes, size_t *len);
/* Write an .npz: n members (names as given, ".npy" included), each bytes
 * of its own length; deflate 1 compresses them, 0 stores them. 0 on success. */
int npz_write(const char *path, int n, const char *const *names, unsigned char *const *bytes, const size_t *lens, int deflate);
/* An .npz of the named float32/int64 arrays, in one call: name, descr, ndim, shape, data. */
typedef struct {
    const char *name;  /* without ".npy" */
    const char *descr; /* "<f4", "<i8", "|u1", ... */
    int ndim;
    int64_t shape[4];
    const void *data;
} npy_spec;
int npz_write_arrays(const char *path, const npy_spec *a, int n, int deflate);
/* npz_write_arrays to name in the temporary folder: its path (a failure is
 * a failed check at file:line). */
const char *npz_tmp_at(const char *file, int line, const char *name, const npy_spec *a, int n, int deflate);
#define NPZ_TMP(name, a, n, deflate) npz_tmp_at(__FILE__, __LINE__, name, a, n, deflate)
/* An IDX file: type byte, dims (ndim of them), data already big-endian
 * (numel * elsize bytes); gz: gzipped. 0 on success. */
int idx_write(const char *path, unsigned char type, int ndim, const uint32_t *dims, const void *be_data, size_t bytes, int gz);
/* Bytes gzipped into a new buffer (*out_len); NULL on failure. */
unsigned char *gzip_bytes(const void *data, size_t len, size_t *out_len);
/* Write text to a file. 0 on success. */
int text_write(const char *path, const char *text);

/* A safetensors image: the length hlen (>= strlen(header); the header is
 * padded with spaces to it), the header, then ndata bytes of data (from data,
 * or zeros when it is NULL). malloc'ed; *len its size. */
unsigned char *st_image(const char *header, size_t hlen, const void *data, size_t ndata, size_t *len);
/* The safetensors file of header and ndata zero bytes, as name in the
 * temporary folder: its path. */
const char *write_st_tmp(const char *name, const char *header, size_t ndata);

/* Data sets in the test's temporary folder (their paths, NULL on failure).
 * A file of N sequences of T steps, I = 2, whose targets are the running
 * sum of the first input: kind 0 (N, T, 2) real per step, 1 (N, T) class
 * ids (sum > 0) with lengths, 2 (N, 2) real per sequence with lengths, 3
 * (N,) class ids. */
const char *seq_file_write(const char *name, int kind, int N, int T, uint64_t seed);
/* An MNIST folder (gzipped): n training and m test images of 3 x 3 pixels,
 * image i lit at pixel i mod 9, its label i mod 9. */
const char *mnist_folder_write(const char *name, int n, int m);
/* A CSV series t,u,v of rows rows: u = sin(0.3 t), v = cos(0.3 t). */
const char *series_file_write(const char *name, int rows);

#endif
