/* A defensive safetensors reader and an atomic writer. Every number in the
 * header is checked against the real size of the file before it is used. */
#include "io/safetensors.h"

#include "base/files.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rnnlab reads and writes little-endian data directly"
#endif

static size_t st_elsize(st_dtype d)
{
    switch (d) {
    case ST_F32: case ST_I32: return 4;
    case ST_F64: case ST_I64: return 8;
    default: return 0;
    }
}

static st_dtype parse_dtype(const char *s)
{
    if (strcmp(s, "F32") == 0) return ST_F32;
    if (strcmp(s, "F64") == 0) return ST_F64;
    if (strcmp(s, "I64") == 0) return ST_I64;
    if (strcmp(s, "I32") == 0) return ST_I32;
    return ST_OTHER;
}

/* Byte size of the other dtypes the format defines, so that files holding
 * them still parse (their tensors are rejected only where they are used). */
static size_t other_elsize(const char *s)
{
    static const struct { const char *n; size_t sz; } tab[] = {
        {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
        {"U16", 2}, {"F16", 2}, {"BF16", 2}, {"U32", 4}, {"U64", 8}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(s, tab[i].n) == 0) return tab[i].sz;
    return 0;
}

void st_close(st_file *f)
{
    free(f->buf);
    free(f->t);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_key[i]);
        free(f->meta_val[i]);
    }
    free(f->meta_key);
    free(f->meta_val);
    rl_zero_but(f, sizeof *f, f->path, sizeof f->path);
}

/* Read from fp into *b (capacity *cap, *n bytes so far) until it holds want
 * bytes or the stream ends, growing the buffer by doubling. */
static rl_status read_upto(FILE *fp, const char *path, unsigned char **b, size_t *cap, size_t *n, size_t want)
{
    while (*n < want) {
        if (*n == *cap) {
            size_t ncap = *cap > want / 2 ? want : *cap * 2;
            unsigned char *nb = rl_realloc(*b, ncap);
            if (!nb) return rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, ncap);
            *b = nb, *cap = ncap;
        }
        size_t got = fread(*b + *n, 1, (*cap < want ? *cap : want) - *n, fp); /* not a byte past want */
        *n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) return rl_fail(RL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return RL_OK;
}

/* The end of the data section a header claims: the largest data_offsets end,
 * or 0 when the header is not what the format says (parse_header then says
 * what is wrong). */
static size_t claimed_data(const unsigned char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength((const char *)json, len);
    double end = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), *hi = cJSON_GetArrayItem(off, 1);
        if (cJSON_IsNumber(hi) && hi->valuedouble > end && hi->valuedouble <= ST_MAX_INT) end = hi->valuedouble;
    }
    cJSON_Delete(root);
    return (size_t)end;
}

/* Read a whole file into memory. A regular file is measured first; a
 * stream (a pipe, stdin, a device such as /dev/zero) is read only as far as
 * its own header says: 8 bytes, a header within ST_MAX_HEADER, then the data
 * section the header claims, within ST_MAX_STREAM, and not a byte more. */
static rl_status slurp(FILE *fp, const char *path, unsigned char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    struct stat sb;
    int regular = 0;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) {
        if ((uintmax_t)sb.st_size > SIZE_MAX / 2)
            return rl_fail(RL_ERR_FORMAT, "%s: file too large", path);
        cap = (size_t)sb.st_size + 1, regular = 1;
    } else if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        return rl_fail(RL_ERR_IO, "%s: is a directory", path);
    }
    unsigned char *b = rl_malloc(cap);
    if (!b) return rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, cap);
    rl_status s;
    if (regular) {
        s = read_upto(fp, path, &b, &cap, &n, SIZE_MAX / 2);
    } else {
        uint64_t hlen = 0;
        s = read_upto(fp, path, &b, &cap, &n, 8);
        if (!s && n == 8) memcpy(&hlen, b, 8);
        if (!s && n == 8 && hlen <= ST_MAX_HEADER) s = read_upto(fp, path, &b, &cap, &n, 8 + (size_t)hlen);
        if (!s && n == 8 + hlen && hlen <= ST_MAX_HEADER) {
            size_t data = claimed_data(b + 8, (size_t)hlen);
            if (data > ST_MAX_STREAM)
                s = rl_fail(RL_ERR_FORMAT, "%s: the header claims %zu bytes of data, more than the %llu read from a stream",
                            path, data, (unsigned long long)ST_MAX_STREAM);
            else s = read_upto(fp, path, &b, &cap, &n, n + data);
        }
    }
    if (s) {
        free(b);
        return s;
    }
    *buf = b;
    *len = n;
    return RL_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* A JSON number that is an exact non-negative integer no larger than max
 * (at most ST_MAX_INT: above it, cJSON's doubles round a number written
 * as 2^53 + 1 to 2^53 without a word). */
static int json_uint(const cJSON *j, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0) || v > max || v != floor(v)) return 0;
    *out = (uint64_t)v;
    return 1;
}

static rl_status parse_tensor(st_file *f, const cJSON *e, st_tensor *t)
{
    const char *p = f->path;
    if (strlen(e->string) > ST_MAX_NAME)
        return rl_fail(RL_ERR_FORMAT, "%s: a tensor name is longer than %d bytes", p, ST_MAX_NAME);
    memcpy(t->name, e->string, strlen(e->string) + 1);
    if (!cJSON_IsObject(e))
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", p, t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': needs string dtype, array shape and array data_offsets",
                       p, t->name);
    t->dtype = parse_dtype(dt->valuestring);
    size_t es = t->dtype == ST_OTHER ? other_elsize(dt->valuestring) : st_elsize(t->dtype);
    if (es == 0)
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%.20s'", p, t->name, dt->valuestring);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_NDIM)
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': %d dimensions (limit %d)", p, t->name, nd, ST_MAX_NDIM);
    t->ndim = nd;
    /* numel and byte size, with overflow checks; the real bound comes below
     * from the size of the data section */
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t d;
        if (!json_uint(cJSON_GetArrayItem(sh, i), ST_MAX_INT, &d))
            return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': dimension %d is not an integer in [0, 2^53 - 1]", p,
                           t->name, i);
        t->shape[i] = (int64_t)d;
        if (d != 0 && numel > UINT64_MAX / d)
            return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': element count overflows", p, t->name);
        numel *= d;
    }
    if (numel > SIZE_MAX / es)
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': byte size overflows", p, t->name);
    t->numel = (size_t)numel;
    uint64_t b, en;
    if (cJSON_GetArraySize(off) != 2 || !json_uint(cJSON_GetArrayItem(off, 0), ST_MAX_INT, &b) ||
        !json_uint(cJSON_GetArrayItem(off, 1), ST_MAX_INT, &en))
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': data_offsets must be two integers in [0, 2^53 - 1]", p,
                       t->name);
    if (b > en || en > f->data_len)
        return rl_fail(RL_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu) lie outside the %zu-byte data section", p,
                       t->name, (unsigned long long)b, (unsigned long long)en, f->data_len);
    if (en - b != numel * es)
        return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s': %llu data bytes for %llu elements of %s", p, t->name,
                       (unsigned long long)(en - b), (unsigned long long)numel, t->dtype_name);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    return RL_OK;
}

/* A copy of s (malloc'ed, under the tests' allocation limits), or NULL. */
static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = rl_malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static rl_status parse_meta(st_file *f, const cJSON *meta)
{
    if (!cJSON_IsObject(meta)) return rl_fail(RL_ERR_FORMAT, "%s: __metadata__ is not an object", f->path);
    int n = cJSON_GetArraySize(meta);
    if (n > ST_MAX_META)
        return rl_fail(RL_ERR_FORMAT, "%s: %d metadata entries (limit %d)", f->path, n, ST_MAX_META);
    f->meta_key = rl_alloc((size_t)n + 1, sizeof(char *));
    f->meta_val = rl_alloc((size_t)n + 1, sizeof(char *));
    if (!f->meta_key || !f->meta_val) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", f->path);
    const cJSON *e;
    cJSON_ArrayForEach(e, meta)
    {
        if (!cJSON_IsString(e))
            return rl_fail(RL_ERR_FORMAT, "%s: metadata '%.40s' is not a string", f->path, e->string);
        f->meta_key[f->nmeta] = copy_str(e->string);
        f->meta_val[f->nmeta] = copy_str(e->valuestring);
        f->nmeta++;
        if (!f->meta_key[f->nmeta - 1] || !f->meta_val[f->nmeta - 1])
            return rl_fail(RL_ERR_NOMEM, "%s: out of memory", f->path);
    }
    return RL_OK;
}

/* What a file that is not safetensors is, by its first bytes; NULL when
 * they say nothing. */
static const char *sniff(const unsigned char *b, size_t n)
{
    static const struct { const char *magic; size_t len; const char *what; } tab[] = {
        {"PK\x03\x04", 4, "a zip archive (a PyTorch .pt or .pth file from torch.save is one: save the state_dict "
                           "with safetensors.torch.save_file instead)"},
        {"\x80\x02", 2, "a Python pickle (an old PyTorch .pt file?)"},
        {"\x80\x03", 2, "a Python pickle (an old PyTorch .pt file?)"},
        {"\x80\x04", 2, "a Python pickle"},
        {"\x80\x05", 2, "a Python pickle"},
        {"\x93NUMPY", 6, "a NumPy .npy file"},
        {"\x89HDF\r\n", 6, "an HDF5 file"},
        {"\x89PNG\r\n", 6, "a PNG image"},
        {"\x1f\x8b", 2, "a gzip file"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (n >= tab[i].len && memcmp(b, tab[i].magic, tab[i].len) == 0) return tab[i].what;
    size_t k = 0;
    while (k < n && k < 4096 && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r')) k++;
    if (k < n && (b[k] == '{' || b[k] == '[')) return "a JSON file";
    for (k = 0; k < n && k < 4096; k++)
        if (b[k] < 0x20 && b[k] != '\n' && b[k] != '\r' && b[k] != '\t') return NULL;
    return n ? "a text file" : NULL;
}

/* ------------------------------------------------------------------ checksums */

/* The checksums rnnlab records in the metadata of the models and
 * checkpoints it writes (other readers pass over metadata): zlib's CRC-32
 * of the tensors' bytes, and of the header's content (the other metadata and
 * each tensor's name, dtype and shape), each in an order of their own (by
 * name), so that a file written again with the same content by another
 * program, in another order or with other offsets, still verifies. */

typedef struct {
    const char *name, *dtype;
    int ndim;
    const int64_t *shape;
    const void *data;
    size_t bytes;
} crc_item;

static int cmp_item(const void *a, const void *b) { return strcmp(((const crc_item *)a)->name, ((const crc_item *)b)->name); }
static int cmp_pair(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int st_checksum_key(const char *key) { return strcmp(key, ST_CRC_DATA) == 0 || strcmp(key, ST_CRC_HEADER) == 0; }

/* The two checksums of n tensors (sorted here, by name) and nmeta key/value
 * pairs (the checksums' own keys passed over). -1 when out of memory. */
static int checksums(crc_item *t, int n, const char *const *kv, int nmeta, uint32_t *data, uint32_t *header)
{
    const char **pairs = rl_malloc(((size_t)nmeta + 1) * 2 * sizeof *pairs);
    if (!pairs) return -1;
    int m = 0;
    for (int i = 0; i < nmeta; i++)
        if (!st_checksum_key(kv[2 * i])) pairs[2 * m] = kv[2 * i], pairs[2 * m + 1] = kv[2 * i + 1], m++;
    qsort(pairs, (size_t)m, 2 * sizeof *pairs, cmp_pair);
    qsort(t, (size_t)n, sizeof *t, cmp_item);
    uLong d = crc32_z(0L, Z_NULL, 0), h = d;
    for (int i = 0; i < m; i++) {
        h = crc32_z(h, (const Bytef *)pairs[2 * i], strlen(pairs[2 * i]) + 1);
        h = crc32_z(h, (const Bytef *)pairs[2 * i + 1], strlen(pairs[2 * i + 1]) + 1);
    }
    free(pairs);
    for (int i = 0; i < n; i++) {
        char dims[8 * 24 + 8];
        size_t at = 0;
        for (int k = 0; k < t[i].ndim && at < sizeof dims; k++)
            at += (size_t)snprintf(dims + at, sizeof dims - at, "%lld,", (long long)t[i].shape[k]);
        h = crc32_z(h, (const Bytef *)"\x1e", 1);
        h = crc32_z(h, (const Bytef *)t[i].name, strlen(t[i].name) + 1);
        h = crc32_z(h, (const Bytef *)t[i].dtype, strlen(t[i].dtype) + 1);
        h = crc32_z(h, (const Bytef *)dims, strlen(dims) + 1);
        d = crc32_z(d, (const Bytef *)t[i].data, t[i].bytes);
    }
    *data = (uint32_t)d, *header = (uint32_t)h;
    return 0;
}

/* A recorded checksum: exactly 8 hex digits. */
static int crc_value(const char *v, uint32_t *out)
{
    if (strlen(v) != 8 || strspn(v, "0123456789abcdefABCDEF") != 8) return 0;
    *out = (uint32_t)strtoul(v, NULL, 16);
    return 1;
}

/* Verify the checksums f records (a file without them, such as PyTorch's,
 * has nothing to verify). */
static rl_status verify_checksums(const st_file *f)
{
    const char *rd = st_meta(f, ST_CRC_DATA), *rh = st_meta(f, ST_CRC_HEADER);
    if (!rd && !rh) return RL_OK;
    uint32_t want_d = 0, want_h = 0, d, h;
    if ((rd && !crc_value(rd, &want_d)) || (rh && !crc_value(rh, &want_h)))
        return rl_fail(RL_ERR_FORMAT, "%s: a checksum in the metadata (%s, %s) is not 8 hex digits: the file is damaged", f->path,
                       ST_CRC_DATA, ST_CRC_HEADER);
    crc_item *t = rl_malloc(((size_t)f->n + 1) * sizeof *t);
    const char **kv = rl_malloc(((size_t)f->nmeta + 1) * 2 * sizeof *kv);
    int bad = !t || !kv;
    for (int i = 0; !bad && i < f->n; i++)
        t[i] = (crc_item){f->t[i].name, f->t[i].dtype_name, f->t[i].ndim, f->t[i].shape, f->data + f->t[i].begin,
                          f->t[i].end - f->t[i].begin};
    for (int i = 0; !bad && i < f->nmeta; i++) kv[2 * i] = f->meta_key[i], kv[2 * i + 1] = f->meta_val[i];
    if (!bad) bad = checksums(t, f->n, kv, f->nmeta, &d, &h);
    free(t);
    free(kv);
    if (bad) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", f->path);
    if (rh && h != want_h)
        return rl_fail(RL_ERR_FORMAT, "%s: the header does not match its checksum (%s %s, computed %08x): the file is damaged",
                       f->path, ST_CRC_HEADER, rh, (unsigned)h);
    if (rd && d != want_d)
        return rl_fail(RL_ERR_FORMAT,
                       "%s: the tensor data do not match their checksum (%s %s, computed %08x): the file is damaged, or "
                       "was changed by a program that kept rnnlab's metadata",
                       f->path, ST_CRC_DATA, rd, (unsigned)d);
    return RL_OK;
}

static rl_status parse_header(st_file *f)
{
    const char *p = f->path;
    uint64_t hlen = 0;
    if (f->len >= 8) memcpy(&hlen, f->buf, 8);
    /* not safetensors at all: say what it is instead, where its bytes tell */
    const char *what = f->len < 8 || (hlen <= ST_MAX_HEADER && hlen <= f->len - 8 && hlen >= 2 && f->buf[8] == '{')
                           ? NULL
                           : sniff(f->buf, f->len);
    if (what) return rl_fail(RL_ERR_FORMAT, "%s: %s, not a safetensors file", p, what);
    if (f->len < 8) return rl_fail(RL_ERR_FORMAT, "%s: too short to be a safetensors file (%zu bytes)", p, f->len);
    if (hlen > ST_MAX_HEADER)
        return rl_fail(RL_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", p,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > f->len - 8)
        return rl_fail(RL_ERR_FORMAT, "%s: header length %llu but only %zu bytes follow (truncated?)", p,
                       (unsigned long long)hlen, f->len - 8);
    if (hlen < 2 || f->buf[8] != '{')
        return rl_fail(RL_ERR_FORMAT, "%s: not a safetensors file (the header is not a JSON object)", p);
    f->data = f->buf + 8 + hlen;
    f->data_len = f->len - 8 - (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)f->buf + 8, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rl_fail(RL_ERR_FORMAT, "%s: the header is not valid JSON", p);
    }
    rl_status s = RL_OK;
    int n = cJSON_GetArraySize(root);
    int tensors = n - (cJSON_GetObjectItemCaseSensitive(root, "__metadata__") != NULL);
    if (tensors > ST_MAX_TENSORS)
        s = rl_fail(RL_ERR_FORMAT, "%s: %d header entries (limit %d tensors)", p, tensors, ST_MAX_TENSORS);
    if (!s && !(f->t = rl_alloc((size_t)n + 1, sizeof *f->t))) s = rl_fail(RL_ERR_NOMEM, "%s: out of memory", p);
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (s) break;
        if (strcmp(e->string, "__metadata__") == 0) {
            if (f->meta_key) s = rl_fail(RL_ERR_FORMAT, "%s: __metadata__ appears twice", p);
            else s = parse_meta(f, e);
            continue;
        }
        for (int i = 0; i < f->n && !s; i++)
            if (strcmp(f->t[i].name, e->string) == 0)
                s = rl_fail(RL_ERR_FORMAT, "%s: tensor '%.64s' appears twice", p, e->string);
        if (!s) s = parse_tensor(f, e, &f->t[f->n]);
        if (!s) f->n++;
    }
    cJSON_Delete(root);
    if (s) return s;
    /* no two tensors may share bytes */
    st_tensor **order = rl_malloc(((size_t)f->n + 1) * sizeof *order);
    if (!order) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", p);
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_begin);
    for (int i = 0; i + 1 < f->n && !s; i++)
        if (order[i]->end > order[i + 1]->begin)
            s = rl_fail(RL_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", p, order[i]->name, order[i + 1]->name);
    free(order);
    if (!s) s = verify_checksums(f);
    return s;
}

rl_status st_read(st_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
    FILE *fp = stdin;
    int regular = 0;
    rl_status s = strcmp(path, "-") == 0 ? RL_OK : rl_fopen_input(path, &fp, &regular);
    if (s) return s;
    s = slurp(fp, f->path, &f->buf, &f->len);
    if (fp != stdin) fclose(fp);
    if (!s) s = parse_header(f);
    if (s) st_close(f);
    return s;
}

rl_status st_parse(st_file *f, const void *data, size_t len, const char *name)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", name);
    if (!(f->buf = rl_malloc(len))) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", name);
    memcpy(f->buf, data, len);
    f->len = len;
    rl_status s = parse_header(f);
    if (s) st_close(f);
    return s;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_key[i], key) == 0) return f->meta_val[i];
    return NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, n - at, "(");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n) snprintf(buf + at, n - at, ")");
}

rl_status st_expect_shape(const st_file *f, const st_tensor *t, int ndim, const int64_t *shape)
{
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (ok) return RL_OK;
    char got[96], want[96];
    shape_str(got, sizeof got, t->ndim, t->shape);
    shape_str(want, sizeof want, ndim, shape);
    return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", f->path, t->name, got, want);
}

/* "f: tensor t has dtype D, expected want" */
static rl_status wrong_dtype(const st_file *f, const st_tensor *t, const char *want)
{
    return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected %s", f->path, t->name, t->dtype_name, want);
}

/* element i of t, an F32 or F64 tensor, as a double */
static double real_at(const st_file *f, const st_tensor *t, size_t i)
{
    const unsigned char *src = f->data + t->begin;
    if (t->dtype == ST_F32) {
        float x;
        memcpy(&x, src + 4 * i, 4);
        return x;
    }
    double v;
    memcpy(&v, src + 8 * i, 8);
    return v;
}

rl_status st_get_real(const st_file *f, const st_tensor *t, rl_dtype dtype, void *out)
{
    if (t->dtype != ST_F32 && t->dtype != ST_F64) return wrong_dtype(f, t, "F32 or F64");
    for (size_t i = 0; i < t->numel; i++) {
        double v = real_at(f, t, i);
        if (!isfinite(v))
            return rl_fail(RL_ERR_NONFINITE, "%s: tensor '%s' holds a non-finite value at element %zu", f->path,
                           t->name, i);
        if (dtype == RL_F64) ((double *)out)[i] = v;
        else ((float *)out)[i] = (float)v;
    }
    return RL_OK;
}

rl_status st_get_ids(const st_file *f, const st_tensor *t, int32_t lo, int32_t hi, int32_t *out)
{
    if (t->dtype != ST_I64 && t->dtype != ST_I32) return wrong_dtype(f, t, "I64 or I32");
    const unsigned char *src = f->data + t->begin;
    for (size_t i = 0; i < t->numel; i++) {
        int64_t v;
        if (t->dtype == ST_I64) {
            memcpy(&v, src + 8 * i, 8);
        } else {
            int32_t x;
            memcpy(&x, src + 4 * i, 4);
            v = x;
        }
        if (v < lo || v > hi)
            return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' element %zu is %lld, outside [%d, %d]", f->path,
                           t->name, i, (long long)v, (int)lo, (int)hi);
        out[i] = (int32_t)v;
    }
    return RL_OK;
}

/* ------------------------------------------------------------------ write */

/* Fault injection for tests: fail the write that would take a file past
 * this many bytes (negative: off). */
static long long fail_after = -1, written;

void st_debug_fail_writes(long long after_bytes) { fail_after = after_bytes; }

static rl_status write_all(FILE *fp, const void *p, size_t n, const char *path)
{
    if (fail_after >= 0 && written + (long long)n > fail_after) {
        fail_after = -1;
        return rl_fail(RL_ERR_IO, "%s: write failed: No space left on device (injected by a test)", path);
    }
    if (n && fwrite(p, 1, n, fp) != n) return rl_fail(RL_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    written += (long long)n;
    return RL_OK;
}

static rl_status write_file(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta);

rl_status st_write(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta)
{
    return st_write_ex(path, t, n, meta_kv, nmeta, 0);
}

rl_status st_write_ex(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta, int checksum)
{
    if (n > ST_MAX_TENSORS || nmeta > ST_MAX_META) return write_file(path, t, n, meta_kv, nmeta); /* which says so */
    /* the checksums are the writer's own: any given are dropped (they would
     * be another file's), and with checksum, this file's are added */
    const char **kv = rl_malloc(((size_t)nmeta + 2) * 2 * sizeof *kv);
    crc_item *items = rl_malloc(((size_t)n + 1) * sizeof *items);
    char dv[16], hv[16];
    rl_status s = kv && items ? RL_OK : rl_fail(RL_ERR_NOMEM, "out of memory while writing %s", path);
    int m = 0;
    for (int i = 0; !s && i < nmeta; i++)
        if (!st_checksum_key(meta_kv[2 * i])) kv[2 * m] = meta_kv[2 * i], kv[2 * m + 1] = meta_kv[2 * i + 1], m++;
    if (!s && checksum) {
        uint32_t d, h;
        for (int i = 0; i < n; i++) {
            size_t numel = 1;
            for (int k = 0; k < t[i].ndim; k++) numel *= (size_t)t[i].shape[k];
            items[i] = (crc_item){t[i].name, t[i].dtype, t[i].ndim, t[i].shape, t[i].data,
                                  numel * st_elsize(parse_dtype(t[i].dtype))};
        }
        if (checksums(items, n, kv, m, &d, &h)) {
            s = rl_fail(RL_ERR_NOMEM, "out of memory while writing %s", path);
        } else {
            snprintf(dv, sizeof dv, "%08x", (unsigned)d);
            snprintf(hv, sizeof hv, "%08x", (unsigned)h);
            kv[2 * m] = ST_CRC_DATA, kv[2 * m + 1] = dv, m++;
            kv[2 * m] = ST_CRC_HEADER, kv[2 * m + 1] = hv, m++;
        }
    }
    if (!s) s = write_file(path, t, n, kv, m);
    free(kv);
    free(items);
    return s;
}

static rl_status write_file(const char *path, const st_out *t, int n, const char *const *meta_kv, int nmeta)
{
    /* what is written must read back: the reader's limits */
    if (n > ST_MAX_TENSORS || nmeta > ST_MAX_META)
        return rl_fail(RL_ERR_ARG, "%s: %d tensors and %d metadata entries (limits %d and %d)", path, n, nmeta,
                       ST_MAX_TENSORS, ST_MAX_META);
    for (int i = 0; i < n; i++)
        if (strlen(t[i].name) > ST_MAX_NAME)
            return rl_fail(RL_ERR_ARG, "%s: tensor name '%.40s...' is longer than %d bytes", path, t[i].name, ST_MAX_NAME);
    cJSON *root = cJSON_CreateObject();
    if (!root) return rl_fail(RL_ERR_NOMEM, "out of memory");
    if (nmeta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta && i < nmeta; i++) cJSON_AddStringToObject(meta, meta_kv[2 * i], meta_kv[2 * i + 1]);
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        if (!e) break;
        cJSON_AddStringToObject(e, "dtype", t[i].dtype);
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        size_t numel = 1;
        for (int d = 0; sh && d < t[i].ndim; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
            numel *= (size_t)t[i].shape[d];
        }
        size_t bytes = numel * st_elsize(parse_dtype(t[i].dtype));
        RL_ASSERT(st_elsize(parse_dtype(t[i].dtype)) > 0);
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        if (o) {
            cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
            cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + bytes)));
        }
        off += bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return rl_fail(RL_ERR_NOMEM, "out of memory while writing %s", path);
    size_t jlen = strlen(json);
    size_t hlen = (jlen + 7) & ~(size_t)7; /* pad with spaces so the data is 8-byte aligned */
    if (hlen > ST_MAX_HEADER) {
        free(json);
        return rl_fail(RL_ERR_ARG, "%s: the header would be %zu bytes (limit %u)", path, hlen, ST_MAX_HEADER);
    }

    int to_stdout = strcmp(path, "-") == 0;
    rl_status s = to_stdout ? RL_OK : rl_check_output(path);
    if (s) {
        free(json);
        return s;
    }
    char tmp[4096];
    FILE *fp = stdout;
    if (!to_stdout) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
            free(json);
            return rl_fail(RL_ERR_ARG, "%s: path too long", path);
        }
        int fd = mkstemp(tmp);
        if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
            int err = errno;
            if (fd >= 0) close(fd), unlink(tmp);
            free(json);
            return rl_fail(RL_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(err));
        }
    }
    uint64_t h = hlen;
    written = 0;
    s = write_all(fp, &h, 8, path);
    if (!s) s = write_all(fp, json, jlen, path);
    for (size_t i = jlen; !s && i < hlen; i++) s = write_all(fp, " ", 1, path);
    free(json);
    for (int i = 0; !s && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (size_t)t[i].shape[d];
        s = write_all(fp, t[i].data, numel * st_elsize(parse_dtype(t[i].dtype)), path);
    }
    if (!s && fflush(fp) != 0) s = rl_fail(RL_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (to_stdout) return s;
    if (!s && fsync(fileno(fp)) != 0) s = rl_fail(RL_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(fp) != 0 && !s) s = rl_fail(RL_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (!s && chmod(tmp, 0644) != 0) s = rl_fail(RL_ERR_IO, "%s: chmod failed: %s", path, strerror(errno));
    if (!s && rename(tmp, path) != 0) s = rl_fail(RL_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (s) unlink(tmp);
    return s;
}

rl_status rl_st_write(const char *path, const rl_st_tensor *t, int n, const char *const *meta_kv, int nmeta)
{
    for (int i = 0; i < n; i++) {
        if (parse_dtype(t[i].dtype) == ST_OTHER || t[i].ndim < 0 || t[i].ndim > ST_MAX_NDIM)
            return rl_fail(RL_ERR_ARG, "%s: tensor '%s' has an unsupported dtype or rank", path, t[i].name);
        if (strcmp(t[i].name, "__metadata__") == 0)
            return rl_fail(RL_ERR_ARG, "%s: '__metadata__' is not a tensor name", path);
        for (int k = 0; k < i; k++)
            if (strcmp(t[k].name, t[i].name) == 0)
                return rl_fail(RL_ERR_ARG, "%s: tensor '%.64s' is given twice", path, t[i].name);
    }
    return st_write(path, t, n, meta_kv, nmeta);
}

/* ------------------------------------------------------------------ public reader */

rl_status rl_st_open(rl_st **out, const char *path)
{
    *out = NULL;
    rl_st *r = rl_alloc(1, sizeof *r);
    if (!r) return rl_fail(RL_ERR_NOMEM, "out of memory");
    rl_status s = st_read(&r->f, path);
    if (s) {
        free(r);
        return s;
    }
    *out = r;
    return RL_OK;
}

void rl_st_close(rl_st *r)
{
    if (!r) return;
    st_close(&r->f);
    free(r);
}

int rl_st_shape(const rl_st *r, const char *name, int64_t *shape)
{
    const st_tensor *t = st_find(&r->f, name);
    if (!t) return -1;
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    return t->ndim;
}

rl_status rl_st_read_f64(const rl_st *r, const char *name, double *out, size_t n)
{
    const st_tensor *t = st_find(&r->f, name);
    if (!t) return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' is missing", r->f.path, name);
    if (t->numel != n) return rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' has %zu elements, expected %zu", r->f.path, name, t->numel, n);
    if (t->dtype != ST_F32 && t->dtype != ST_F64) return wrong_dtype(&r->f, t, "F32 or F64");
    for (size_t i = 0; i < n; i++) out[i] = real_at(&r->f, t, i);
    return RL_OK;
}

const char *rl_st_meta(const rl_st *r, const char *key) { return st_meta(&r->f, key); }

