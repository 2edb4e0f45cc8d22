/* Private to the library: named arrays from the files a user brings
 * (docs/files.md, "Sequence data"): safetensors, NumPy .npy and .npz, a
 * folder of .npy files, IDX (the MNIST files), and a CSV table. Every
 * reader takes bytes that may lie and answers with one message that names
 * the file, the array and what is wrong; the limits are docs/security.md's.
 *
 * An array's data is always little-endian and in C order (row-major) once
 * read: the IDX reader turns its big-endian numbers round in place. */
#ifndef RL_ARRAYS_H
#define RL_ARRAYS_H

#include "io/safetensors.h"

#include <stdint.h>

typedef enum { AR_F32, AR_F64, AR_I32, AR_I64, AR_U8, AR_BOOL, AR_I8, AR_I16, AR_OTHER } ar_dtype;

#define AR_MAX_NDIM 8    /* the rank of an array, as for safetensors */
#define AR_MAX_NAME 255  /* an array's name in bytes */
#define AR_MAX_ARRAYS 4096 /* arrays in one set (an .npz's members, a folder's .npy files) */
/* A .npy header (the Python dict after the magic and the length), as
 * numpy.lib.format reads by default (its max_header_size). */
#define AR_NPY_MAX_HEADER 10000
/* Deflate produces at most 1032 bytes per compressed byte (a 258-byte match
 * in 2 bits), plus one match: an .npz member or a gzipped IDX file claiming
 * more than 1032 x its compressed size + 258 is refused before anything is
 * allocated for it. */
#define AR_DEFLATE_MAX_RATIO 1032
#define AR_DEFLATE_SLACK 258
/* The most bytes read from one file or inflated from one member or one IDX
 * file, and inflated from one .npz in all. */
#define AR_MAX_BYTES ((uint64_t)1 << 36)

typedef struct {
    char name[AR_MAX_NAME + 1];
    ar_dtype dtype;
    char dtype_name[16]; /* as the file spells it ("<f4", "F32", "u8"), for messages */
    int ndim;
    int64_t shape[AR_MAX_NDIM];
    size_t numel;
    const unsigned char *data; /* numel elements, little-endian, C order; inside the set's buffers */
} ar_array;

typedef struct {
    char path[4096];        /* the file or folder, for messages */
    const char *kind;       /* "safetensors", "npz", "npy", "npy folder", "idx" */
    int n;
    ar_array *a;
    unsigned char **bufs;   /* owned buffers the arrays point into */
    int nbufs;
    st_file st;             /* a safetensors file's own */
    int has_st;
} ar_set;

/* Bytes per element of d (0 for AR_OTHER), and d's name in rnnlab's
 * messages ("float32", "int64", "uint8", "bool"). */
size_t ar_elsize(ar_dtype d);
const char *ar_dtype_name(ar_dtype d);
int ar_is_float(ar_dtype d);
int ar_is_int(ar_dtype d); /* the integer dtypes and bool */
/* Element i as a double (exact for every integer dtype but int64 past 2^53). */
double ar_get(const ar_array *a, size_t i);
/* "(3, 28, 28)" */
void ar_shape_str(const ar_array *a, char *buf, size_t n);

/* The arrays of path, told by its content, not its name: a safetensors
 * file, a .npy file (one array, named by the file's name without ".npy"),
 * an .npz (a zip of .npy members, stored or deflated; libzip), an IDX file
 * (gzipped or not; one array named by the file's name) or a folder holding
 * .npy files (one array each, named by its file; other files are passed
 * over). "-" is not accepted. On failure s is empty and the message names
 * the file. */
rl_status ar_open(ar_set *s, const char *path);
void ar_close(ar_set *s);
const ar_array *ar_find(const ar_set *s, const char *name);

/* The same from len bytes in memory (the fuzzers, the tests); name is used
 * in messages and, for .npy and IDX, as the array's name. The bytes are
 * copied. */
rl_status ar_parse_npy(ar_set *s, const void *buf, size_t len, const char *name);
rl_status ar_parse_npz(ar_set *s, const void *buf, size_t len, const char *name);
rl_status ar_parse_idx(ar_set *s, const void *buf, size_t len, const char *name);

/* One .npy array in bytes [p, p + len) (not copied: a points into it); what
 * names the file and member in messages. src/io/npy.c */
rl_status ar_npy_array(const unsigned char *p, size_t len, const char *what, ar_array *a);
/* One IDX array: the bytes are taken over (*buf is the set's from then on,
 * and may be replaced by the inflated data). src/io/idx.c */
rl_status ar_idx_array(ar_set *s, unsigned char *buf, size_t len, const char *name);
/* An .npz's members into s (buf stays the caller's until it returns). src/io/npz.c */
rl_status ar_npz_arrays(ar_set *s, const unsigned char *buf, size_t len);

/* Room for one more array and one more buffer in s (the readers' own). */
rl_status ar_add(ar_set *s, ar_array **out);
rl_status ar_keep(ar_set *s, unsigned char *buf);

/* A whole file into memory, at most limit bytes: a regular file is
 * measured first (and refused past the limit before it is read), anything
 * else (a pipe, a device) read to one byte past the limit; a folder is
 * refused. *buf is malloc'ed (a NUL after the data). src/io/arrays.c */
rl_status ar_read_file(const char *path, uint64_t limit, unsigned char **buf, size_t *len);

#endif
