/* Named arrays from a user's files: the set, reading a file within a limit,
 * and telling a file's format by its first bytes (safetensors, .npy, .npz,
 * IDX, a folder of .npy files). The formats' own readers are src/io/npy.c,
 * src/io/npz.c and src/io/idx.c. */
#include "io/arrays.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

size_t ar_elsize(ar_dtype d)
{
    static const size_t size[] = {4, 8, 4, 8, 1, 1, 1, 2, 0};
    return (unsigned)d <= AR_OTHER ? size[d] : 0;
}

const char *ar_dtype_name(ar_dtype d)
{
    static const char *const name[] = {"float32", "float64", "int32", "int64", "uint8", "bool", "int8", "int16", "other"};
    return (unsigned)d <= AR_OTHER ? name[d] : "other";
}

int ar_is_float(ar_dtype d) { return d == AR_F32 || d == AR_F64; }
int ar_is_int(ar_dtype d) { return d == AR_I32 || d == AR_I64 || d == AR_U8 || d == AR_BOOL || d == AR_I8 || d == AR_I16; }

double ar_get(const ar_array *a, size_t i)
{
    const unsigned char *p = a->data + i * ar_elsize(a->dtype);
    switch (a->dtype) {
    case AR_F32: { float v; memcpy(&v, p, 4); return v; }
    case AR_F64: { double v; memcpy(&v, p, 8); return v; }
    case AR_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case AR_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case AR_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case AR_I8: return (int8_t)p[0];
    case AR_U8:
    case AR_BOOL: return p[0];
    case AR_OTHER: break;
    }
    RL_UNREACHABLE("ar_get on an array of no known dtype");
}

void ar_shape_str(const ar_array *a, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < a->ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (at < n) snprintf(buf + at, n - at, "%s)", a->ndim == 1 ? "," : "");
}

/* ------------------------------------------------------------------ the set */

void ar_close(ar_set *s)
{
    for (int i = 0; i < s->nbufs; i++) free(s->bufs[i]);
    free(s->bufs);
    free(s->a);
    if (s->has_st) st_close(&s->st);
    rl_zero_but(s, sizeof *s, s->path, sizeof s->path);
}

const ar_array *ar_find(const ar_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->a[i].name, name) == 0) return &s->a[i];
    return NULL;
}

/* The arrays grow one at a time: sets are small (AR_MAX_ARRAYS). */
rl_status ar_add(ar_set *s, ar_array **out)
{
    *out = NULL;
    if (s->n >= AR_MAX_ARRAYS) return rl_fail(RL_ERR_FORMAT, "%s: more than %d arrays", s->path, AR_MAX_ARRAYS);
    ar_array *a = rl_realloc(s->a, ((size_t)s->n + 1) * sizeof *a);
    if (!a) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", s->path);
    s->a = a;
    memset(&a[s->n], 0, sizeof *a);
    *out = &a[s->n++];
    return RL_OK;
}

rl_status ar_keep(ar_set *s, unsigned char *buf)
{
    unsigned char **b = rl_realloc(s->bufs, ((size_t)s->nbufs + 1) * sizeof *b);
    if (!b) {
        free(buf);
        return rl_fail(RL_ERR_NOMEM, "%s: out of memory", s->path);
    }
    s->bufs = b;
    b[s->nbufs++] = buf;
    return RL_OK;
}

/* ------------------------------------------------------------------ reading */

rl_status ar_read_file(const char *path, uint64_t limit, unsigned char **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return rl_fail(RL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    rl_status s = RL_OK;
    size_t cap = (size_t)1 << 16, n = 0;
    if (limit > SIZE_MAX / 2) limit = SIZE_MAX / 2;
    if (fstat(fileno(f), &sb) != 0) s = rl_fail(RL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode)) s = rl_fail(RL_ERR_IO, "%s: is a folder", path);
    else if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > limit)
        s = rl_fail(RL_ERR_FORMAT, "%s: %llu bytes, more than the limit of %llu", path, (unsigned long long)sb.st_size,
                    (unsigned long long)limit);
    else if (S_ISREG(sb.st_mode)) cap = (size_t)sb.st_size + 1; /* + 1: the end is seen without growing */
    unsigned char *b = s ? NULL : rl_malloc(cap);
    if (!s && !b) s = rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, cap);
    while (!s) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (n > limit) {
            s = rl_fail(RL_ERR_FORMAT, "%s: more than the limit of %llu bytes", path, (unsigned long long)limit);
            break;
        }
        size_t ncap = cap > limit / 2 ? (size_t)limit + 2 : 2 * cap;
        unsigned char *nb = rl_realloc(b, ncap);
        if (!nb) s = rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, ncap);
        else b = nb, cap = ncap;
    }
    if (!s && ferror(f)) s = rl_fail(RL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (s) {
        free(b);
        return s;
    }
    b[n] = 0; /* n < cap */
    *buf = b, *len = n;
    return RL_OK;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* The last component of path without its extension (".npy", ".gz", "-ubyte"
 * kept), as an array's name. */
static void base_name(const char *path, const char *ext, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strlen(b);
    if (ext && ends_with(b, ext)) len -= strlen(ext);
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), b);
}

/* A safetensors file's tensors as arrays (the file stays open in s). */
static rl_status from_safetensors(ar_set *s)
{
    for (int i = 0; i < s->st.n; i++) {
        const st_tensor *t = &s->st.t[i];
        ar_array *a;
        rl_status st = ar_add(s, &a);
        if (st) return st;
        memcpy(a->name, t->name, sizeof a->name);
        static const struct { const char *n; ar_dtype d; } map[] = {
            {"F32", AR_F32}, {"F64", AR_F64}, {"I32", AR_I32}, {"I64", AR_I64},
            {"U8", AR_U8}, {"BOOL", AR_BOOL}, {"I8", AR_I8}, {"I16", AR_I16}};
        a->dtype = AR_OTHER;
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (strcmp(t->dtype_name, map[k].n) == 0) a->dtype = map[k].d;
        snprintf(a->dtype_name, sizeof a->dtype_name, "%s", t->dtype_name);
        a->ndim = t->ndim;
        memcpy(a->shape, t->shape, sizeof a->shape);
        a->numel = t->numel;
        a->data = s->st.data + t->begin;
    }
    return RL_OK;
}

static int cmp_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* A folder's .npy files, one array each, in the order of their names. */
static rl_status from_folder(ar_set *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return rl_fail(RL_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0;
    rl_status st = RL_OK;
    for (struct dirent *e; !st && (e = readdir(d));) {
        if (!ends_with(e->d_name, ".npy") || e->d_name[0] == '.') continue;
        if (n >= AR_MAX_ARRAYS) st = rl_fail(RL_ERR_FORMAT, "%s: more than %d .npy files", dir, AR_MAX_ARRAYS);
        char **nn = st ? NULL : rl_realloc(names, ((size_t)n + 1) * sizeof *nn);
        if (!st && !nn) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory", dir);
        if (!st) names = nn;
        if (!st && !(names[n] = strdup(e->d_name))) st = rl_fail(RL_ERR_NOMEM, "%s: out of memory", dir);
        if (!st) n++;
    }
    closedir(d);
    if (!st && n == 0) st = rl_fail(RL_ERR_FORMAT, "%s: a folder without .npy files (a folder of arrays holds NAME.npy files)", dir);
    if (!st) qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (int i = 0; !st && i < n; i++) {
        char path[8192], name[AR_MAX_NAME + 1], what[8500];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        base_name(names[i], ".npy", name, sizeof name);
        if (strlen(names[i]) - 4 > AR_MAX_NAME) {
            st = rl_fail(RL_ERR_FORMAT, "%s: an array name is longer than %d bytes", path, AR_MAX_NAME);
            break;
        }
        unsigned char *b = NULL;
        size_t len = 0;
        st = ar_read_file(path, AR_MAX_BYTES, &b, &len);
        ar_array *a = NULL;
        if (!st) st = ar_keep(s, b);
        if (!st) st = ar_add(s, &a);
        snprintf(what, sizeof what, "%s", path);
        if (!st) st = ar_npy_array(b, len, what, a);
        if (!st) snprintf(a->name, sizeof a->name, "%s", name);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static rl_status npy_bytes(ar_set *s, unsigned char *b, size_t len, const char *name)
{
    s->kind = "npy";
    ar_array *a = NULL;
    rl_status st = ar_keep(s, b);
    if (!st) st = ar_add(s, &a);
    if (!st) st = ar_npy_array(b, len, name, a);
    if (!st) base_name(name, ".npy", a->name, sizeof a->name);
    return st;
}

static rl_status npz_bytes(ar_set *s, unsigned char *b, size_t len, const char *name)
{
    (void)name;
    s->kind = "npz";
    rl_status st = ar_npz_arrays(s, b, len);
    free(b);
    return st;
}

static rl_status idx_bytes(ar_set *s, unsigned char *b, size_t len, const char *name)
{
    char base[AR_MAX_NAME + 1];
    s->kind = "idx";
    base_name(name, ".gz", base, sizeof base);
    return ar_idx_array(s, b, len, base);
}

/* The format by the first bytes: .npy, a zip (.npz), IDX (gzipped or not),
 * else safetensors (whose reader names what a file is instead, when it can). */
static rl_status parse_bytes(ar_set *s, unsigned char *b, size_t len, const char *path)
{
    if (len >= 6 && memcmp(b, npy_magic, 6) == 0) return npy_bytes(s, b, len, path);
    if (len >= 4 && (memcmp(b, "PK\x03\x04", 4) == 0 || memcmp(b, "PK\x05\x06", 4) == 0)) return npz_bytes(s, b, len, path);
    /* IDX: 0, 0, a type byte 0x08..0x0E, the rank; a safetensors header
     * length could begin so, but its JSON then begins at byte 8 */
    uint64_t hlen = 0;
    if (len >= 8) memcpy(&hlen, b, 8);
    int st_like = len >= 9 && hlen <= len - 8 && b[8] == '{';
    if ((len >= 2 && b[0] == 0x1f && b[1] == 0x8b) ||
        (len >= 4 && b[0] == 0 && b[1] == 0 && b[2] >= 0x08 && b[2] <= 0x0E && !st_like))
        return idx_bytes(s, b, len, path);
    s->kind = "safetensors";
    rl_status st = st_parse(&s->st, b, len, path);
    free(b);
    if (st) return st;
    s->has_st = 1;
    return from_safetensors(s);
}

rl_status ar_open(ar_set *s, const char *path)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    if (strcmp(path, "-") == 0) return rl_fail(RL_ERR_ARG, "-: sequence data is read from a file, not from stdin");
    struct stat sb;
    if (stat(path, &sb) != 0) return rl_fail(RL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    rl_status st;
    if (S_ISDIR(sb.st_mode)) {
        s->kind = "npy folder";
        st = from_folder(s, path);
    } else {
        unsigned char *b = NULL;
        size_t len = 0;
        st = ar_read_file(path, AR_MAX_BYTES, &b, &len);
        if (!st) st = parse_bytes(s, b, len, path);
    }
    if (st) ar_close(s);
    return st;
}

static rl_status parse_copy(ar_set *s, const void *buf, size_t len, const char *name,
                            rl_status (*fn)(ar_set *, unsigned char *, size_t, const char *))
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", name);
    unsigned char *b = rl_malloc(len + 1);
    if (!b) return rl_fail(RL_ERR_NOMEM, "%s: out of memory", name);
    if (len) memcpy(b, buf, len);
    rl_status st = fn(s, b, len, name);
    if (st) ar_close(s);
    return st;
}

rl_status ar_parse_npy(ar_set *s, const void *buf, size_t len, const char *name) { return parse_copy(s, buf, len, name, npy_bytes); }
rl_status ar_parse_npz(ar_set *s, const void *buf, size_t len, const char *name) { return parse_copy(s, buf, len, name, npz_bytes); }
rl_status ar_parse_idx(ar_set *s, const void *buf, size_t len, const char *name) { return parse_copy(s, buf, len, name, idx_bytes); }
