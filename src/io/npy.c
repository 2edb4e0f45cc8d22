/* NumPy's .npy format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the
 * magic "\x93NUMPY", the version, the header's length (2 bytes in 1.0, 4
 * after), then the header, a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by a newline, then the data. The dict is
 * read by a parser of exactly that grammar, never evaluated. */
#include "io/arrays.h"

#include <string.h>

typedef struct {
    const unsigned char *p, *end;
    const char *what; /* the file (and member) for messages */
} hdr;

static void skip_ws(hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static rl_status bad(const hdr *h, const char *why)
{
    return rl_fail(RL_ERR_FORMAT, "%s: not a valid .npy header: %s", h->what, why);
}

/* A quoted string ('...' or "...", no escapes: none of the keys or dtypes
 * holds one) into out. */
static rl_status read_str(hdr *h, char *out, size_t n)
{
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return bad(h, "a string was expected");
    unsigned char q = *h->p++;
    size_t k = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\') return bad(h, "an escape in a string");
        if (k + 1 >= n) return bad(h, "a string is too long");
        out[k++] = (char)*h->p++;
    }
    if (h->p >= h->end) return bad(h, "a string is not closed");
    h->p++;
    out[k] = '\0';
    return RL_OK;
}

static int word(hdr *h, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0) return 0;
    h->p += n;
    return 1;
}

/* (d0, d1, ...): integers, a trailing comma allowed, () for a scalar. */
static rl_status read_shape(hdr *h, ar_array *a)
{
    if (h->p >= h->end || *h->p != '(') return bad(h, "'shape' is not a tuple");
    h->p++;
    a->ndim = 0;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') break;
        if (h->p >= h->end || *h->p < '0' || *h->p > '9') return bad(h, "a dimension of 'shape' is not a non-negative integer");
        uint64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            v = 10 * v + (uint64_t)(*h->p++ - '0');
            if (v > (uint64_t)ST_MAX_INT) return bad(h, "a dimension of 'shape' is larger than 2^53 - 1");
        }
        if (h->p < h->end && *h->p == 'L') h->p++; /* Python 2's long */
        if (a->ndim == AR_MAX_NDIM)
            return rl_fail(RL_ERR_FORMAT, "%s: more than %d dimensions (the limit)", h->what, AR_MAX_NDIM);
        a->shape[a->ndim++] = (int64_t)v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            continue;
        }
        skip_ws(h);
        if (h->p >= h->end || *h->p != ')') return bad(h, "'shape' is not a tuple of integers");
        break;
    }
    /* "(3)" is the integer 3 in Python, not a tuple: numpy writes "(3,)" */
    h->p++;
    return RL_OK;
}

/* numpy's dtype string ("<f4") to rnnlab's; the data must be little-endian
 * (or of one byte, where order means nothing). */
static rl_status read_descr(const hdr *h, const char *d, ar_array *a)
{
    static const struct { const char *code; ar_dtype t; } tab[] = {
        {"f4", AR_F32}, {"f8", AR_F64}, {"i4", AR_I32}, {"i8", AR_I64},
        {"u1", AR_U8}, {"b1", AR_BOOL}, {"i1", AR_I8}, {"i2", AR_I16}};
    snprintf(a->dtype_name, sizeof a->dtype_name, "%s", d);
    char order = d[0];
    const char *code = order && strchr("<>|=", order) ? d + 1 : d;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(code, tab[i].code) != 0) continue;
        if (order == '>' && ar_elsize(tab[i].t) > 1)
            return rl_fail(RL_ERR_FORMAT, "%s: dtype '%s' is big-endian; rnnlab reads little-endian data (save "
                                          "a.astype('<%s') instead)", h->what, d, code);
        a->dtype = tab[i].t;
        return RL_OK;
    }
    if (d[0] == 'O' || strcmp(code, "O") == 0)
        return rl_fail(RL_ERR_FORMAT, "%s: dtype 'O' is Python objects (a pickle), which rnnlab never reads", h->what);
    return rl_fail(RL_ERR_FORMAT, "%s: dtype '%s' is not one rnnlab reads (float32, float64, int32, int64, uint8, bool, "
                                  "int8, int16)", h->what, d);
}

rl_status ar_npy_array(const unsigned char *p, size_t len, const char *what, ar_array *a)
{
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len < 10 || memcmp(p, magic, 6) != 0)
        return rl_fail(RL_ERR_FORMAT, "%s: not a .npy file (%s)", what, len < 10 ? "too short" : "no \\x93NUMPY magic");
    int major = p[6], minor = p[7];
    if (major < 1 || major > 3 || minor != 0)
        return rl_fail(RL_ERR_FORMAT, "%s: .npy version %d.%d; rnnlab reads 1.0, 2.0 and 3.0", what, major, minor);
    size_t at = major == 1 ? 10 : 12;
    if (len < at) return rl_fail(RL_ERR_FORMAT, "%s: truncated in its header", what);
    uint32_t hl = major == 1 ? (uint32_t)(p[8] | p[9] << 8) : (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
    if (hl > AR_NPY_MAX_HEADER)
        return rl_fail(RL_ERR_FORMAT, "%s: a .npy header of %u bytes (the limit is %d)", what, hl, AR_NPY_MAX_HEADER);
    if (hl > len - at) return rl_fail(RL_ERR_FORMAT, "%s: truncated in its header (%u bytes claimed, %zu there)", what, hl, len - at);
    hdr h = {p + at, p + at + hl, what};
    char key[32], descr[32] = "";
    int have[3] = {0, 0, 0}, fortran = 0;
    skip_ws(&h);
    if (h.p >= h.end || *h.p != '{') return bad(&h, "not a dict");
    h.p++;
    rl_status s = RL_OK;
    for (;;) {
        skip_ws(&h);
        if (h.p < h.end && *h.p == '}') break;
        if ((s = read_str(&h, key, sizeof key))) return s;
        skip_ws(&h);
        if (h.p >= h.end || *h.p != ':') return bad(&h, "':' was expected after a key");
        h.p++;
        skip_ws(&h);
        int k = strcmp(key, "descr") == 0 ? 0 : strcmp(key, "fortran_order") == 0 ? 1 : strcmp(key, "shape") == 0 ? 2 : -1;
        if (k < 0) return rl_fail(RL_ERR_FORMAT, "%s: not a valid .npy header: unknown key '%s'", what, key);
        if (have[k]) return rl_fail(RL_ERR_FORMAT, "%s: not a valid .npy header: '%s' appears twice", what, key);
        have[k] = 1;
        if (k == 0 && h.p < h.end && *h.p == '[')
            return rl_fail(RL_ERR_FORMAT, "%s: a structured dtype (record array); rnnlab reads plain arrays", what);
        if (k == 0) s = read_str(&h, descr, sizeof descr);
        else if (k == 1 && word(&h, "True")) fortran = 1;
        else if (k == 1 && !word(&h, "False")) s = bad(&h, "'fortran_order' is neither True nor False");
        else if (k == 2) s = read_shape(&h, a);
        if (s) return s;
        skip_ws(&h);
        if (h.p < h.end && *h.p == ',') {
            h.p++;
            continue;
        }
        skip_ws(&h);
        if (h.p >= h.end || *h.p != '}') return bad(&h, "',' or '}' was expected");
        break;
    }
    h.p++;
    skip_ws(&h);
    if (h.p != h.end) return bad(&h, "bytes after the dict");
    if (!have[0] || !have[1] || !have[2])
        return rl_fail(RL_ERR_FORMAT, "%s: not a valid .npy header: '%s' is missing", what,
                       !have[0] ? "descr" : !have[1] ? "fortran_order" : "shape");
    if ((s = read_descr(&h, descr, a))) return s;
    if (fortran)
        return rl_fail(RL_ERR_FORMAT, "%s: the array is in Fortran order; rnnlab reads C order (save "
                                      "np.ascontiguousarray(a) instead)", what);
    uint64_t numel = 1;
    const size_t es = ar_elsize(a->dtype);
    for (int i = 0; i < a->ndim; i++) {
        uint64_t d = (uint64_t)a->shape[i];
        if (d != 0 && numel > UINT64_MAX / d) return rl_fail(RL_ERR_FORMAT, "%s: the element count overflows", what);
        numel *= d;
    }
    if (numel > SIZE_MAX / es) return rl_fail(RL_ERR_FORMAT, "%s: the byte size overflows", what);
    const size_t data = len - at - hl;
    if (numel * es != data)
        return rl_fail(RL_ERR_FORMAT, "%s: %zu bytes of data for %llu elements of %s (%s)", what, data,
                       (unsigned long long)numel, a->dtype_name, data < numel * es ? "truncated" : "bytes after the array");
    a->numel = (size_t)numel;
    a->data = p + at + hl;
    return RL_OK;
}
