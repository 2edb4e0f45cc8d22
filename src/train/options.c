/* Parsing and printing the value of any option row (rl_option): the
 * library's rows, which fill rl_train_config (src/train/train_config.c), and
 * the program's own. A row says its type, range and choices; the value goes
 * to the struct the caller gives, at the row's offset. */
#include "train/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *at(void *base, const rl_option *o) { return (char *)base + o->offset; }
static const void *at_const(const void *base, const rl_option *o) { return (const char *)base + o->offset; }

int64_t rl_opt_get_int(const void *src, const rl_option *o)
{
    return o->type == RL_FIELD_INT64 ? *(const int64_t *)at_const(src, o) : (int64_t)*(const int *)at_const(src, o);
}

void rl_opt_set_int(void *dst, const rl_option *o, int64_t v)
{
    if (o->type == RL_FIELD_INT64) *(int64_t *)at(dst, o) = v;
    else *(int *)at(dst, o) = (int)v;
    rl_train_config_after_set(dst, o);
}

rl_status rl_opt_in_range(const rl_option *o, const char *label, double v)
{
    if (v >= o->lo && v <= o->hi) return RL_OK;
    if (o->type == RL_FIELD_DOUBLE) return rl_fail(RL_ERR_ARG, "%s = %g is out of range [%g, %g]", label, v, o->lo, o->hi);
    return rl_fail(RL_ERR_ARG, "%s = %.15g is out of range [%.15g, %.15g]", label, v, o->lo, o->hi);
}

rl_status rl_opt_range_ok(const rl_option *o, const char *label, const double *v)
{
    if (v[0] == 0 && v[1] == 0) return RL_OK;
    if (v[0] >= o->lo && v[1] <= o->hi && v[0] <= v[1]) return RL_OK;
    return rl_fail(RL_ERR_ARG, "%s = %g,%g must be two numbers A <= B in [%g, %g]", label, v[0], v[1], o->lo, o->hi);
}

rl_status rl_opt_parse_choice(const rl_option *o, const char *text, int *out)
{
    RL_ASSERT(o->choices && o->choices->count == (o->type == RL_FIELD_BOOL ? 2 : o->num_choices));
    if (o->type == RL_FIELD_BOOL) { /* two named values */
        for (int i = 0; i < 2; i++)
            if (strcmp(text, o->choices->names[i]) == 0) return *out = i, RL_OK;
        return rl_fail(RL_ERR_ARG, "--%s must be %s or %s, got '%s'", o->flag, o->choices->names[0], o->choices->names[1],
                       text);
    }
    return rl_names_parse(o->choices, text, out);
}

int rl_opt_parse_u64(const char *text, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9') return 0;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end) return 0;
    *out = (uint64_t)v;
    return 1;
}

const char *rl_option_choice(const rl_option *o, int i) { return o->choices ? rl_names_get(o->choices, i) : NULL; }

int rl_option_takes(const rl_option *o, const char *command)
{
    size_t n = command ? strlen(command) : 0;
    for (const char *p = o->commands; n && p && (p = strstr(p, command)); p += n)
        if ((p == o->commands || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

/* "a,b": two finite numbers */
static int parse_pair(const char *text, double *v)
{
    char *end = NULL;
    errno = 0;
    v[0] = strtod(text, &end);
    int ok = !errno && end != text && *end == ',';
    if (ok) {
        const char *b = end + 1;
        v[1] = strtod(b, &end);
        ok = !errno && end != b && !*end;
    }
    return ok && isfinite(v[0]) && isfinite(v[1]);
}

rl_status rl_option_parse(void *dst, const rl_option *o, const char *text)
{
    char label[48];
    snprintf(label, sizeof label, "--%s", o->flag);
    errno = 0;
    char *end = NULL;
    switch (o->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: {
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end) return rl_fail(RL_ERR_ARG, "%s expects an integer, got '%s'", label, text);
        if (v < o->lo || v > o->hi)
            return rl_fail(RL_ERR_ARG, "%s = %lld is out of range [%lld, %lld]", label, v, (long long)o->lo, (long long)o->hi);
        rl_opt_set_int(dst, o, v);
        return RL_OK;
    }
    case RL_FIELD_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v))
            return rl_fail(RL_ERR_ARG, "%s expects a finite number, got '%s'", label, text);
        rl_status s = rl_opt_in_range(o, label, v);
        if (!s) *(double *)at(dst, o) = v;
        return s;
    }
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int v = 0;
        if (o->choices) {
            rl_status s = rl_opt_parse_choice(o, text, &v);
            if (s) return s;
        } else if (strcmp(text, "1") == 0 || strcmp(text, "0") == 0) {
            v = text[0] == '1';
        } else {
            return rl_fail(RL_ERR_ARG, "%s expects 0 or 1, got '%s'", label, text);
        }
        rl_opt_set_int(dst, o, v);
        return RL_OK;
    }
    case RL_FIELD_PATH:
        if (!*text) return rl_fail(RL_ERR_ARG, "%s expects a path, got ''", label);
        *(const char **)at(dst, o) = text;
        return RL_OK;
    case RL_FIELD_TEXT: *(const char **)at(dst, o) = text; return RL_OK;
    case RL_FIELD_SEED: {
        uint64_t v = 0;
        if (!rl_opt_parse_u64(text, &v)) return rl_fail(RL_ERR_ARG, "%s expects a non-negative integer, got '%s'", label, text);
        *(uint64_t *)at(dst, o) = v;
        return RL_OK;
    }
    case RL_FIELD_RANGE: {
        double v[2] = {NAN, NAN};
        if (!parse_pair(text, v)) return rl_fail(RL_ERR_ARG, "%s expects two finite numbers A,B, got '%s'", label, text);
        rl_status s = rl_opt_range_ok(o, label, v);
        if (!s) memcpy(at(dst, o), v, sizeof v);
        return s;
    }
    }
    RL_UNREACHABLE("field type");
}

void rl_option_format(const void *src, const rl_option *o, char *buf, size_t n)
{
    switch (o->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: snprintf(buf, n, "%lld", (long long)rl_opt_get_int(src, o)); return;
    case RL_FIELD_DOUBLE: snprintf(buf, n, "%g", *(const double *)at_const(src, o)); return;
    case RL_FIELD_BOOL:
    case RL_FIELD_ENUM: {
        int v = (int)rl_opt_get_int(src, o);
        const char *name = rl_option_choice(o, v);
        if (name) snprintf(buf, n, "%s", name);
        else snprintf(buf, n, "%d", v);
        return;
    }
    case RL_FIELD_PATH:
    case RL_FIELD_TEXT: {
        const char *p = *(const char *const *)at_const(src, o);
        snprintf(buf, n, "%s", p ? p : "");
        return;
    }
    case RL_FIELD_SEED: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)at_const(src, o)); return;
    case RL_FIELD_RANGE: {
        const double *v = at_const(src, o);
        snprintf(buf, n, "%.17g,%.17g", v[0], v[1]);
        return;
    }
    }
    RL_UNREACHABLE("field type");
}
