/* IDX files, the format of the MNIST and Fashion-MNIST files (LeCun et al.,
 * "THE MNIST DATABASE of handwritten digits"): two zero bytes, a type byte
 * (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
 * float64), the rank, then each dimension as a big-endian uint32, then the
 * data, big-endian, in C order. Gzipped files (*-ubyte.gz, as distributed)
 * are inflated with zlib in memory: the header first, then exactly the
 * bytes its dimensions say, and the stream must end there. */
#include "io/arrays.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

/* rank limit: IDX allows 255, rnnlab's arrays AR_MAX_NDIM */
#define IDX_MAX_HEADER (4 + 4 * 255)

static rl_status idx_type(unsigned char code, ar_dtype *t)
{
    switch (code) {
    case 0x08: *t = AR_U8; return RL_OK;
    case 0x09: *t = AR_I8; return RL_OK;
    case 0x0B: *t = AR_I16; return RL_OK;
    case 0x0C: *t = AR_I32; return RL_OK;
    case 0x0D: *t = AR_F32; return RL_OK;
    case 0x0E: *t = AR_F64; return RL_OK;
    default: return RL_ERR_FORMAT;
    }
}

/* The header's array: type, rank and dimensions; *data_bytes the size
 * the data must have. head holds at least 4 + 4 * rank bytes. */
static rl_status read_header(const unsigned char *head, const char *name, ar_array *a, size_t *data_bytes)
{
    if (head[0] != 0 || head[1] != 0)
        return rl_fail(RL_ERR_FORMAT, "%s: not an IDX file (it does not begin with two zero bytes)", name);
    if (idx_type(head[2], &a->dtype))
        return rl_fail(RL_ERR_FORMAT, "%s: IDX type byte 0x%02X is not one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E", name, head[2]);
    snprintf(a->dtype_name, sizeof a->dtype_name, "%s", ar_dtype_name(a->dtype));
    a->ndim = head[3];
    if (a->ndim < 1 || a->ndim > AR_MAX_NDIM)
        return rl_fail(RL_ERR_FORMAT, "%s: %d dimensions (rnnlab reads 1 to %d)", name, a->ndim, AR_MAX_NDIM);
    uint64_t numel = 1;
    for (int i = 0; i < a->ndim; i++) {
        const unsigned char *d = head + 4 + 4 * i;
        a->shape[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
        numel *= (uint64_t)a->shape[i]; /* at most 8 factors below 2^32: checked below before it can wrap */
        if (numel > AR_MAX_BYTES)
            return rl_fail(RL_ERR_FORMAT, "%s: the dimensions claim more than %llu elements (the limit)", name,
                           (unsigned long long)AR_MAX_BYTES);
    }
    const uint64_t bytes = numel * ar_elsize(a->dtype);
    if (bytes > AR_MAX_BYTES)
        return rl_fail(RL_ERR_FORMAT, "%s: the dimensions claim %llu bytes (the limit is %llu)", name, (unsigned long long)bytes,
                       (unsigned long long)AR_MAX_BYTES);
    a->numel = (size_t)numel;
    *data_bytes = (size_t)bytes;
    return RL_OK;
}

/* Inflate into dst[*have, want): Z_OK once want is reached, Z_STREAM_END
 * when the stream ends first, Z_BUF_ERROR when the input runs out first,
 * or zlib's error. (An ended stream stays ended: inflate answers
 * Z_STREAM_END again, with no bytes.) Input and output are fed in pieces of at most UINT_MAX. */
static int pull(z_stream *z, const unsigned char *in, size_t inlen, size_t *used, unsigned char *dst, size_t *have, size_t want)
{
    while (*have < want) {
        if (z->avail_in == 0 && *used < inlen) {
            size_t k = inlen - *used < UINT_MAX ? inlen - *used : UINT_MAX;
            z->next_in = (Bytef *)(in + *used);
            z->avail_in = (uInt)k;
            *used += k;
        }
        size_t k = want - *have < UINT_MAX ? want - *have : UINT_MAX;
        z->next_out = dst + *have;
        z->avail_out = (uInt)k;
        int r = inflate(z, Z_NO_FLUSH);
        *have += k - z->avail_out;
        if (r == Z_STREAM_END) return *have >= want ? Z_OK : r;
        if (r == Z_BUF_ERROR && z->avail_in == 0 && *used == inlen) return Z_BUF_ERROR;
        if (r != Z_OK && r != Z_BUF_ERROR) return r;
    }
    return Z_OK;
}

static rl_status zfail(int r, const z_stream *z, const char *name, const char *where)
{
    if (r == Z_BUF_ERROR || r == Z_STREAM_END) return rl_fail(RL_ERR_FORMAT, "%s: the gzip stream ends %s (truncated)", name, where);
    if (r == Z_MEM_ERROR) return rl_fail(RL_ERR_NOMEM, "%s: out of memory inflating it", name);
    return rl_fail(RL_ERR_FORMAT, "%s: not a valid gzip stream: %s", name, z->msg ? z->msg : "corrupt data");
}

/* A gzipped IDX file: *out (malloc'ed) gets the inflated file. */
static rl_status gunzip(const unsigned char *in, size_t inlen, const char *name, ar_array *a, unsigned char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return rl_fail(RL_ERR_NOMEM, "%s: cannot start zlib", name);
    unsigned char head[IDX_MAX_HEADER];
    size_t used = 0, have = 0, data = 0;
    unsigned char *b = NULL;
    rl_status s = RL_OK;
    int r = pull(&z, in, inlen, &used, head, &have, 4);
    if (r != Z_OK) s = zfail(r, &z, name, "inside the IDX header");
    if (!s && (head[3] < 1 || head[3] > AR_MAX_NDIM)) s = read_header(head, name, a, &data); /* its message */
    if (!s && (r = pull(&z, in, inlen, &used, head, &have, 4 + 4 * (size_t)head[3])) != Z_OK)
        s = zfail(r, &z, name, "inside the IDX header");
    if (!s) s = read_header(head, name, a, &data);
    const size_t hl = have, total = hl + data;
    /* what the compressed bytes can hold at most, before anything is allocated */
    if (!s && (uint64_t)total > (uint64_t)AR_DEFLATE_MAX_RATIO * inlen + AR_DEFLATE_SLACK)
        s = rl_fail(RL_ERR_FORMAT, "%s: the IDX header claims %zu bytes from %zu gzipped ones, more than deflate can make (%d:1)",
                    name, total, inlen, AR_DEFLATE_MAX_RATIO);
    if (!s && !(b = rl_malloc(total + 1))) s = rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes for it", name, total);
    if (!s) {
        memcpy(b, head, hl);
        r = pull(&z, in, inlen, &used, b, &have, total);
        if (r == Z_STREAM_END && have < total)
            s = rl_fail(RL_ERR_FORMAT, "%s: %zu bytes of data where the dimensions say %zu (truncated)", name, have - hl, data);
        else if (r != Z_OK && r != Z_STREAM_END) s = zfail(r, &z, name, "inside the data");
        else if (r == Z_OK) { /* the stream must end here: nothing more, and nothing after it */
            unsigned char extra;
            size_t one = 0;
            r = pull(&z, in, inlen, &used, &extra, &one, 1);
            if (one) s = rl_fail(RL_ERR_FORMAT, "%s: more data than the dimensions say (%zu bytes)", name, data);
            else if (r != Z_STREAM_END) s = zfail(r, &z, name, "before its end");
        }
        if (!s && (z.avail_in != 0 || used != inlen)) s = rl_fail(RL_ERR_FORMAT, "%s: bytes after the gzip stream", name);
    }
    inflateEnd(&z);
    if (s) {
        free(b);
        return s;
    }
    *out = b, *outlen = total;
    return RL_OK;
}

rl_status ar_idx_array(ar_set *s, unsigned char *buf, size_t len, const char *name)
{
    ar_array a;
    memset(&a, 0, sizeof a);
    size_t data = 0;
    rl_status st = RL_OK;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        st = gunzip(buf, len, s->path, &a, &raw, &rawlen);
        free(buf);
        if (st) return st;
        buf = raw, len = rawlen;
        data = (size_t)a.numel * ar_elsize(a.dtype);
    } else {
        if (len < 4 || (buf[3] >= 1 && len < 4 + 4 * (size_t)buf[3])) {
            free(buf);
            return rl_fail(RL_ERR_FORMAT, "%s: truncated in its IDX header (%zu bytes)", s->path, len);
        }
        st = read_header(buf, s->path, &a, &data);
        if (!st && len - 4 - 4 * (size_t)a.ndim != data)
            st = rl_fail(RL_ERR_FORMAT, "%s: %zu bytes of data where the dimensions say %zu (%s)", s->path,
                         len - 4 - 4 * (size_t)a.ndim, data, len - 4 - 4 * (size_t)a.ndim < data ? "truncated" : "bytes after the array");
        if (st) {
            free(buf);
            return st;
        }
    }
    /* big-endian to little-endian, in place */
    unsigned char *d = buf + 4 + 4 * (size_t)a.ndim;
    const size_t es = ar_elsize(a.dtype);
    for (size_t i = 0; es > 1 && i < a.numel; i++)
        for (size_t k = 0; k < es / 2; k++) {
            unsigned char t = d[i * es + k];
            d[i * es + k] = d[i * es + es - 1 - k];
            d[i * es + es - 1 - k] = t;
        }
    a.data = d;
    snprintf(a.name, sizeof a.name, "%s", name);
    ar_array *slot = NULL;
    st = ar_keep(s, buf);
    if (!st) st = ar_add(s, &slot);
    if (!st) *slot = a;
    return st;
}
