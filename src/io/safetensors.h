/* The safetensors container: an 8-byte little-endian header length N, N bytes
 * of JSON mapping tensor names to {dtype, shape, data_offsets} (plus an
 * optional "__metadata__" string map), then the raw little-endian data. */
#ifndef RL_SAFETENSORS_H
#define RL_SAFETENSORS_H

#include "base/internal.h"

#define ST_MAX_HEADER (100u << 20) /* the format's own limit on the JSON header */
#define ST_MAX_TENSORS 4096
#define ST_MAX_META 4096 /* entries of __metadata__ */
#define ST_MAX_NDIM RL_ST_MAX_NDIM
#define ST_MAX_NAME 255
#define ST_MAX_INT 9007199254740991.0 /* 2^53 - 1: dimensions and data offsets */
/* The most data read from a stream (stdin, a pipe): the data section of the
 * largest model (RL_MAX_PARAMS float64 values) and more. A regular file is
 * measured instead. */
#define ST_MAX_STREAM ((uint64_t)1 << 36)

typedef enum { ST_F32, ST_F64, ST_I64, ST_I32, ST_OTHER } st_dtype;

typedef struct {
    char name[ST_MAX_NAME + 1];
    st_dtype dtype;
    char dtype_name[16];
    int ndim;
    int64_t shape[ST_MAX_NDIM];
    size_t numel;
    size_t begin, end; /* byte range inside the data section */
} st_tensor;

typedef struct {
    char path[4096];        /* for messages (PATH_MAX: a longer path is cut) */
    unsigned char *buf;     /* the whole file */
    size_t len;
    const unsigned char *data; /* the data section inside buf */
    size_t data_len;
    int n;
    st_tensor *t;
    int nmeta;
    char **meta_key, **meta_val;
} st_file;

/* Read and validate a whole file ("-" reads stdin). On failure f is empty and
 * the message names the file. */
rl_status st_read(st_file *f, const char *path);
/* The same from len bytes in memory (copied); name is used in messages. */
rl_status st_parse(st_file *f, const void *data, size_t len, const char *name);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta(const st_file *f, const char *key);

/* Check that t has this shape; the message names file and tensor. */
rl_status st_expect_shape(const st_file *f, const st_tensor *t, int ndim, const int64_t *shape);
/* Convert a float tensor (F32 or F64) into out (numel elements of dtype);
 * non-finite values are an error. */
rl_status st_get_real(const st_file *f, const st_tensor *t, rl_dtype dtype, void *out);
/* Convert an integer tensor (I64 or I32) into int32 values in [lo, hi]. */
rl_status st_get_ids(const st_file *f, const st_tensor *t, int32_t lo, int32_t hi, int32_t *out);

typedef rl_st_tensor st_out;

/* The public handle of an open file (rl_st_open). */
struct rl_st {
    st_file f;
};

/* Tests only: make the next file write fail once it passes after_bytes
 * bytes (as a full disk would); negative turns it off. */
void st_debug_fail_writes(long long after_bytes);

/* The checksums of a file (metadata keys, 8 hex digits each): zlib's
 * CRC-32 of the tensors' bytes, the tensors taken in the order of their
 * names; and of the header's content: the other metadata (by key: key NUL
 * value NUL) and each tensor's name, dtype and shape (by name). Recorded
 * by the writers of models and checkpoints; verified by st_read and
 * st_parse whenever a file holds them (PyTorch's files hold none). */
#define ST_CRC_DATA "data_crc32"
#define ST_CRC_HEADER "header_crc32"
/* Whether key is one of the two. */
int st_checksum_key(const char *key);

/* Write tensors and metadata (nmeta key/value pairs). A path other than "-"
 * is written atomically: a temporary file in the same folder, flushed,
 * fsync'ed and renamed over path; an existing path that is not a regular
 * file (a device, a FIFO, a folder) is refused, never replaced. Checksum
 * keys among the metadata are dropped (they would be another file's);
 * st_write_ex with checksum adds this file's (a model, a checkpoint). */
rl_status st_write(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta);
rl_status st_write_ex(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta, int checksum);

#endif
