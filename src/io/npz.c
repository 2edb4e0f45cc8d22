/* NumPy's .npz: a zip archive (numpy.savez, savez_compressed) whose members
 * NAME.npy each hold one array. libzip reads the archive from memory (with
 * its stricter consistency checks); every member's size is checked against
 * what its compressed bytes can hold before anything is allocated for it,
 * and its data against the size it claims once inflated. */
#include "io/arrays.h"

#include <string.h>
#include <zip.h>

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* One member's bytes, exactly `size` of them (no more: the stream is read
 * one byte past to see its end), into a new buffer the set keeps. */
static rl_status read_member(ar_set *s, zip_t *z, zip_uint64_t i, const char *what, size_t size, unsigned char **out)
{
    *out = NULL;
    zip_file_t *f = zip_fopen_index(z, i, 0);
    if (!f) return rl_fail(RL_ERR_FORMAT, "%s: cannot open the member: %s", what, zip_strerror(z));
    unsigned char *b = rl_malloc(size + 1);
    rl_status st = b ? RL_OK : rl_fail(RL_ERR_NOMEM, "%s: cannot allocate %zu bytes for it", what, size);
    size_t n = 0;
    while (!st && n < size) {
        zip_int64_t got = zip_fread(f, b + n, size - n);
        if (got < 0) st = rl_fail(RL_ERR_FORMAT, "%s: cannot read the member: %s", what, zip_file_strerror(f));
        else if (got == 0) st = rl_fail(RL_ERR_FORMAT, "%s: %zu bytes where the archive says %zu (truncated)", what, n, size);
        else n += (size_t)got;
    }
    unsigned char extra;
    zip_int64_t more = st ? 0 : zip_fread(f, &extra, 1);
    if (!st && more < 0) st = rl_fail(RL_ERR_FORMAT, "%s: cannot read the member: %s", what, zip_file_strerror(f));
    else if (!st && more > 0) st = rl_fail(RL_ERR_FORMAT, "%s: more bytes than the %zu the archive says", what, size);
    zip_fclose(f);
    if (!st) st = ar_keep(s, b);
    else free(b);
    if (!st) *out = b;
    return st;
}

rl_status ar_npz_arrays(ar_set *s, const unsigned char *buf, size_t len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return rl_fail(RL_ERR_NOMEM, "%s: out of memory", s->path);
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        rl_status st = rl_fail(RL_ERR_FORMAT, "%s: not a valid .npz (zip) file: %s", s->path, zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);
    rl_status st = RL_OK;
    zip_int64_t n = zip_get_num_entries(z, 0);
    if (n < 0) st = rl_fail(RL_ERR_FORMAT, "%s: not a valid .npz (zip) file", s->path);
    else if (n > AR_MAX_ARRAYS) st = rl_fail(RL_ERR_FORMAT, "%s: %lld members (the limit is %d)", s->path, (long long)n, AR_MAX_ARRAYS);
    uint64_t total = 0;
    for (zip_int64_t i = 0; !st && i < n; i++) {
        zip_stat_t zs;
        char what[4400];
        zip_stat_init(&zs);
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE) ||
            !(zs.valid & ZIP_STAT_COMP_SIZE) || !(zs.valid & ZIP_STAT_COMP_METHOD)) {
            st = rl_fail(RL_ERR_FORMAT, "%s: member %lld: %s", s->path, (long long)i, zip_strerror(z));
            break;
        }
        snprintf(what, sizeof what, "%s: member '%.256s'", s->path, zs.name);
        size_t nl = strlen(zs.name);
        if (!ends_with(zs.name, ".npy") || nl == 4) {
            st = rl_fail(RL_ERR_FORMAT, "%s is not a .npy array (an .npz holds NAME.npy members only)", what);
            break;
        }
        if (nl - 4 > AR_MAX_NAME) {
            st = rl_fail(RL_ERR_FORMAT, "%s: an array name is longer than %d bytes", s->path, AR_MAX_NAME);
            break;
        }
        char name[AR_MAX_NAME + 1];
        snprintf(name, sizeof name, "%.*s", (int)(nl - 4), zs.name);
        if (ar_find(s, name)) {
            st = rl_fail(RL_ERR_FORMAT, "%s: array '%s' appears twice", s->path, name);
            break;
        }
        if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE) {
            st = rl_fail(RL_ERR_FORMAT, "%s is encrypted", what);
            break;
        }
        if (zs.comp_method != ZIP_CM_STORE && zs.comp_method != ZIP_CM_DEFLATE) {
            st = rl_fail(RL_ERR_FORMAT, "%s is compressed with zip method %d; rnnlab reads stored (0) and deflated (8) members",
                         what, (int)zs.comp_method);
            break;
        }
        /* what the member claims, against what its compressed bytes can hold */
        uint64_t most = zs.comp_method == ZIP_CM_STORE ? zs.comp_size
                        : zs.comp_size > (AR_MAX_BYTES - AR_DEFLATE_SLACK) / AR_DEFLATE_MAX_RATIO ? AR_MAX_BYTES
                                                                                      : zs.comp_size * AR_DEFLATE_MAX_RATIO + AR_DEFLATE_SLACK;
        if (zs.comp_method == ZIP_CM_STORE && zs.size != zs.comp_size) {
            st = rl_fail(RL_ERR_FORMAT, "%s is stored (not compressed) but claims %llu bytes in %llu", what,
                         (unsigned long long)zs.size, (unsigned long long)zs.comp_size);
            break;
        }
        if (zs.size > most) {
            st = rl_fail(RL_ERR_FORMAT, "%s claims %llu bytes from %llu compressed ones, more than deflate can make (%d:1)", what,
                         (unsigned long long)zs.size, (unsigned long long)zs.comp_size, AR_DEFLATE_MAX_RATIO);
            break;
        }
        if (zs.size > AR_MAX_BYTES - total || zs.size > SIZE_MAX / 2) {
            st = rl_fail(RL_ERR_FORMAT, "%s: more than %llu bytes in all once inflated (the limit)", s->path,
                         (unsigned long long)AR_MAX_BYTES);
            break;
        }
        total += zs.size;
        unsigned char *b = NULL;
        ar_array *a = NULL;
        st = read_member(s, z, (zip_uint64_t)i, what, (size_t)zs.size, &b);
        if (!st) st = ar_add(s, &a);
        if (!st) st = ar_npy_array(b, (size_t)zs.size, what, a);
        if (!st) memcpy(a->name, name, sizeof name);
    }
    zip_discard(z); /* frees src */
    return st;
}
