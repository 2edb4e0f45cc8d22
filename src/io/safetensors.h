/* The safetensors container: an 8-byte little-endian header length N, N bytes
 * of JSON mapping tensor names to {dtype, shape, data_offsets} (plus an
 * optional "__metadata__" string map), then the raw little-endian data. */
#ifndef RL_SAFETENSORS_H
#define RL_SAFETENSORS_H

#include "internal.h"

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
/* What rnnlab writes it must read back: a model's tensors, and the optimizer
 * and trainer state a checkpoint adds (src/run.c: at most 12 more). */
_Static_assert(RL_MAX_TENSORS + 12 <= ST_MAX_TENSORS, "a checkpoint of the largest model must be readable");

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

/* Tests only: make the next file write fail once it passes after_bytes
 * bytes (as a full disk would); negative turns it off. */
void st_debug_fail_writes(long long after_bytes);

/* Write tensors and metadata (nmeta key/value pairs). A path other than "-"
 * is written atomically: a temporary file in the same folder, flushed,
 * fsync'ed and renamed over path. */
rl_status st_write(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta);

/* What an rnnlab file is, from its tensor names and metadata: "a model",
 * "a training checkpoint", "a PyTorch state_dict without rnnlab's metadata",
 * "a Jacobian output (rnnlab jacobian)", "a gradient file (rnnlab grad)",
 * "a data file"; NULL when it is none of these. src/modelio.c */
const char *st_kind(const st_file *f);

/* A data file in an open file (rl_data_load_ex without the reading). */
rl_status rl_data_from_st(rl_data **out, const st_file *f, const rl_model *m, rl_dtype dtype, unsigned flags);
/* The limits on a text (docs/security.md): characters, distinct ones (the
 * classes of a text model, within RL_MAX_SIZE), and bytes of a file. */
#define RL_TEXT_MIN_CHARS 1000
#define RL_TEXT_MAX_VOCAB 4096
#define RL_TEXT_MAX_BYTES ((size_t)1 << 31)
_Static_assert(RL_TEXT_MAX_VOCAB <= RL_MAX_SIZE, "a text model's classes must be a valid output size");
/* The text task from UTF-8 bytes in memory (rl_task_new's text loading). src/tasks.c */
rl_status rl_task_text_from_buffer(rl_task **out, int seq_len, const void *text, size_t len, const char *name);
/* The model in an open file (checkpoints: tensors named optim.* and train.*
 * are passed over). src/modelio.c */
rl_status rl_model_from_st(rl_model **out, const st_file *f, rl_dtype dtype);
/* The model's metadata pairs (at most RL_MODEL_META of them, into meta; num:
 * scratch for the numbers) and its tensors as st_out views (m must be F32);
 * both return their count. */
#define RL_MODEL_META 11
int rl_model_meta(const rl_model *m, char num[5][16], const char **meta);
int rl_model_st_tensors(const rl_model *m, st_out *t);

#endif
