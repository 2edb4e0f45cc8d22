/* A sweep's folder as data (cli/sweeps/sweep.h): the plan of sweep.json and the
 * lines of results.jsonl, checked as what they are, untrusted input (a
 * folder may come from someone else), and each point's place found by
 * sorting and binary search, so that the work grows as N log N in the
 * points. Nothing here prints or draws: the fuzz target sweepjson
 * (tests/fuzz_targets.c) runs it as rnnlab report does. */
#include "sweeps/sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sweep_value_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsNumber(v)) snprintf(buf, n, "%.10g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, n, "%s", v->valuestring);
    else snprintf(buf, n, "?");
}

/* qsort/bsearch over indices into a table of strings (the thread's table) */
static char *const *sort_table;
static int cmp_index(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b, c = strcmp(sort_table[x], sort_table[y]);
    return c ? c : (x > y) - (x < y);
}

/* order[0..n) the indices of text sorted by text */
static void sort_by_text(char *const *text, int *order, int n)
{
    for (int i = 0; i < n; i++) order[i] = i;
    sort_table = text;
    qsort(order, (size_t)n, sizeof *order, cmp_index);
}

/* The index of the first text equal to key, or -1. */
static int find_text(char *const *text, const int *order, int n, const char *key)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(text[order[mid]], key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && strcmp(text[order[lo]], key) == 0 ? order[lo] : -1;
}

int sweep_plan_index(const sweep_data *d, const char *id) { return find_text(d->idv, d->id_order, d->nplanned, id); }

static void free_axis(sweep_axis *a)
{
    for (int k = 0; a->text && k < a->n; k++) free(a->text[k]);
    free(a->text), free(a->values), free(a->order);
    memset(a, 0, sizeof *a);
}

void sweep_data_free(sweep_data *d)
{
    for (int i = 0; d->idv && i < d->nplanned; i++) free(d->idv[i]);
    free(d->idv), free(d->id_order);
    for (int k = 0; k < d->nax; k++) free_axis(&d->ax[k]);
    for (int i = 0; d->latest && i < d->nplanned; i++) cJSON_Delete(d->latest[i]);
    free(d->latest), free(d->opts), free(d->res);
    cJSON_Delete(d->plan);
    memset(d, 0, sizeof *d);
}

int sweep_parse_plan(sweep_data *d, const char *text, size_t len, char *err, size_t errn)
{
    memset(d, 0, sizeof *d);
    d->plan = cJSON_ParseWithLength(text, len);
    if (!d->plan) return cli_errf(err, errn, "not JSON (rnnlab sweep writes it)");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(d->plan, "command"),
                *axes = cJSON_GetObjectItemCaseSensitive(d->plan, "axes"),
                *ids = cJSON_GetObjectItemCaseSensitive(d->plan, "points");
    if (!cJSON_IsObject(d->plan) || !cJSON_IsString(cmd) || !cJSON_IsArray(axes) || !cJSON_IsArray(ids))
        return cli_errf(err, errn, "not a sweep's plan: it needs \"command\", \"axes\" and \"points\" (rnnlab sweep writes it)");
    d->command = cmd->valuestring;
    int n = 0;
    for (const cJSON *it = ids->child; it; it = it->next) {
        if (!cJSON_IsString(it)) return cli_errf(err, errn, "point %d of \"points\" is not a string id", n + 1);
        if (++n > MAX_POINTS) return cli_errf(err, errn, "more than %d points", MAX_POINTS);
    }
    d->nplanned = n;
    d->idv = calloc((size_t)n + 1, sizeof *d->idv);
    d->id_order = malloc(((size_t)n + 1) * sizeof *d->id_order);
    d->latest = calloc((size_t)n + 1, sizeof *d->latest);
    d->opts = calloc((size_t)n + 1, sizeof *d->opts);
    d->res = calloc((size_t)n + 1, sizeof *d->res);
    if (!d->idv || !d->id_order || !d->latest || !d->opts || !d->res) return cli_errf(err, errn, "out of memory");
    int i = 0;
    for (const cJSON *it = ids->child; it; it = it->next, i++)
        if (!(d->idv[i] = strdup(it->valuestring))) return cli_errf(err, errn, "out of memory");
    sort_by_text(d->idv, d->id_order, n);
    for (i = 1; i < n; i++)
        if (strcmp(d->idv[d->id_order[i]], d->idv[d->id_order[i - 1]]) == 0)
            return cli_errf(err, errn, "point '%.40s' is listed twice in \"points\"", d->idv[d->id_order[i]]);
    /* the axes that vary: two values or more */
    for (const cJSON *a = axes->child; a && d->nax < SWEEP_MAX_AXES; a = a->next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name"), *vals = cJSON_GetObjectItemCaseSensitive(a, "values"),
                    *opt = cJSON_GetObjectItemCaseSensitive(a, "option");
        if (!cJSON_IsString(name) || !cJSON_IsArray(vals) || !vals->child || !vals->child->next) continue;
        sweep_axis *x = &d->ax[d->nax++];
        x->name = name->valuestring;
        x->option = cJSON_IsString(opt) ? opt->valuestring : x->name;
        x->numeric = 1;
        for (const cJSON *v = vals->child; v; v = v->next) {
            if (x->n >= MAX_POINTS) return cli_errf(err, errn, "axis '%.40s' has more than %d values", x->name, MAX_POINTS);
            x->n++;
            x->numeric &= cJSON_IsNumber(v) && isfinite(v->valuedouble);
        }
        x->values = malloc((size_t)x->n * sizeof *x->values);
        x->text = calloc((size_t)x->n, sizeof *x->text);
        x->order = malloc((size_t)x->n * sizeof *x->order);
        if (!x->values || !x->text || !x->order) return cli_errf(err, errn, "out of memory");
        int k = 0;
        for (cJSON *v = vals->child; v; v = v->next, k++) {
            char b[256];
            sweep_value_text(v, b, sizeof b);
            x->values[k] = v;
            if (!(x->text[k] = strdup(b))) return cli_errf(err, errn, "out of memory");
        }
        sort_by_text(x->text, x->order, x->n);
        for (k = 1; k < x->n; k++)
            if (strcmp(x->text[x->order[k]], x->text[x->order[k - 1]]) == 0)
                return cli_errf(err, errn, "axis '%.40s' lists the value '%.40s' twice", x->name, x->text[x->order[k]]);
        for (int b = 0; b + 1 < d->nax; b++)
            if (strcmp(d->ax[b].name, x->name) == 0) return cli_errf(err, errn, "two axes are named '%.40s'", x->name);
    }
    return 0;
}

int sweep_add_result(sweep_data *d, const char *line, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id"), *o = cJSON_GetObjectItemCaseSensitive(j, "options"),
                *r = cJSON_GetObjectItemCaseSensitive(j, "result");
    int at = cJSON_IsString(id) && cJSON_IsObject(o) && cJSON_IsObject(r) ? find_text(d->idv, d->id_order, d->nplanned, id->valuestring) : -1;
    if (at < 0) {
        cJSON_Delete(j);
        return 0; /* a line of another plan, or not a result: passed over */
    }
    cJSON_Delete(d->latest[at]); /* the last line of an id counts */
    d->latest[at] = j;
    return 1;
}

void sweep_finish(sweep_data *d)
{
    d->n = 0;
    for (int i = 0; i < d->nplanned; i++)
        if (d->latest[i]) {
            d->opts[d->n] = cJSON_GetObjectItemCaseSensitive(d->latest[i], "options");
            d->res[d->n++] = cJSON_GetObjectItemCaseSensitive(d->latest[i], "result");
        }
}

int sweep_axis_index(const sweep_axis *a, const cJSON *v)
{
    if (!v) return -1;
    char b[256];
    sweep_value_text(v, b, sizeof b);
    return find_text(a->text, a->order, a->n, b);
}

int sweep_means(const sweep_data *d, const char *key, int xi, int bi, double *mean, double *cnt)
{
    const sweep_axis *X = &d->ax[xi], *BY = bi >= 0 ? &d->ax[bi] : NULL;
    const int nx = X->n, nb = BY ? BY->n : 1;
    for (size_t k = 0; k < (size_t)nx * nb; k++) mean[k] = cnt[k] = 0;
    int used = 0;
    for (int i = 0; i < d->n; i++) {
        int ix = sweep_axis_index(X, cJSON_GetObjectItemCaseSensitive(d->opts[i], X->name));
        int ib = BY ? sweep_axis_index(BY, cJSON_GetObjectItemCaseSensitive(d->opts[i], BY->name)) : 0;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(d->res[i], key);
        if (ix < 0 || ib < 0 || !cJSON_IsNumber(r) || !isfinite(r->valuedouble)) continue;
        mean[(size_t)ib * nx + ix] += r->valuedouble, cnt[(size_t)ib * nx + ix] += 1, used++;
    }
    for (size_t k = 0; k < (size_t)nx * nb; k++) mean[k] = cnt[k] > 0 ? mean[k] / cnt[k] : NAN;
    return used;
}
