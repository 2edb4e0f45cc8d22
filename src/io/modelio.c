/* Model and data files: safetensors with PyTorch state_dict names. */
#include "io/modelio.h"
#include "net/net.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>

static rl_status task_options_from_meta(rl_model *m, const char *json);

/* A metadata integer in [lo, hi], parsed with strtol. */
static rl_status meta_int(const st_file *f, const char *key, int lo, int hi, int *out)
{
    const char *v = st_meta(f, key);
    if (!v) return rl_fail(RL_ERR_FORMAT, "%s: metadata '%s' is missing", f->path, key);
    errno = 0;
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || x < lo || x > hi)
        return rl_fail(RL_ERR_FORMAT, "%s: metadata %s = '%.40s' is not an integer in [%d, %d]", f->path, key,
                       v, lo, hi);
    *out = (int)x;
    return RL_OK;
}

static rl_status config_from_meta(const st_file *f, rl_config *c)
{
    const char *cell = st_meta(f, "cell"), *loss = st_meta(f, "loss");
    if (!cell) return rl_fail(RL_ERR_FORMAT, "%s: metadata 'cell' is missing", f->path);
    if (!loss) return rl_fail(RL_ERR_FORMAT, "%s: metadata 'loss' is missing", f->path);
    rl_status s;
    if ((s = rl_cell_parse(cell, &c->cell)) || (s = rl_loss_parse(loss, &c->loss)))
        return rl_fail(RL_ERR_FORMAT, "%s: %s", f->path, rl_errmsg());
    if ((s = meta_int(f, "input_size", 1, RL_MAX_SIZE, &c->input_size)) ||
        (s = meta_int(f, "hidden_size", 1, RL_MAX_SIZE, &c->hidden_size)) ||
        (s = meta_int(f, "num_layers", 1, RL_MAX_LAYERS, &c->num_layers)) ||
        (s = meta_int(f, "output_size", 1, RL_MAX_SIZE, &c->output_size)))
        return s;
    /* an lru's complex units and output nonlinearity (absent: hidden_size, gelu) */
    c->state_size = 0, c->activation = RL_ACT_DEFAULT;
    if (st_meta(f, "state_size") && (s = meta_int(f, "state_size", 1, RL_MAX_SIZE, &c->state_size))) return s;
    const char *act = st_meta(f, "activation");
    if (act && rl_act_parse(act, &c->activation)) return rl_fail(RL_ERR_FORMAT, "%s: metadata %s", f->path, rl_errmsg());
    if ((s = rl_config_check(c))) return rl_fail(RL_ERR_FORMAT, "%s: %s", f->path, rl_errmsg());
    return RL_OK;
}

/* metadata orthogonal = exp | cayley (absent: none), and whether the cell can have it */
static rl_status orth_from_meta(const st_file *f, const rl_config *c, rl_orth *map)
{
    const char *v = st_meta(f, "orthogonal");
    *map = RL_ORTH_NONE;
    if (v && rl_orth_parse(v, map)) return rl_fail(RL_ERR_FORMAT, "%s: metadata %s", f->path, rl_errmsg());
    if (rl_orth_check(c, *map)) return rl_fail(RL_ERR_FORMAT, "%s: metadata orthogonal = %s: %s", f->path, v, rl_errmsg());
    return RL_OK;
}

/* Checkpoints hold the optimizer's and the trainer's state beside the model
 * under these prefixes; the model loader passes over them. */
static int is_run_state(const char *name) { return strncmp(name, "optim.", 6) == 0 || strncmp(name, "train.", 6) == 0; }

static int has_prefix(const st_file *f, const char *prefix)
{
    for (int i = 0; i < f->n; i++)
        if (strncmp(f->t[i].name, prefix, strlen(prefix)) == 0) return 1;
    return 0;
}

const char *st_kind(const st_file *f)
{
    if (st_find(f, "rnn.weight_ih_l0"))
        return !st_meta(f, "cell") ? "a PyTorch state_dict without rnnlab's metadata"
               : st_meta(f, "train_config") ? "a training checkpoint"
                                            : "a model";
    if (st_find(f, "J") || st_find(f, "lag_log_norm") || st_find(f, "P_scaled")) return "a Jacobian output (rnnlab jacobian)";
    if (st_find(f, "loss") && has_prefix(f, "grad.")) return "a gradient file (rnnlab grad)";
    if (st_find(f, "x") || (st_find(f, "h0") && !has_prefix(f, "rnn."))) return "a data file";
    return NULL;
}

/* The model's tensors must be F32 or F64: say which is not, before the sizes
 * (a half-precision model holds half the bytes its metadata asks for). */
static rl_status check_dtypes(const st_file *f)
{
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = &f->t[i];
        if ((strncmp(t->name, "rnn.", 4) == 0 || strncmp(t->name, "head.", 5) == 0) && t->dtype != ST_F32 && t->dtype != ST_F64)
            return rl_fail(RL_ERR_FORMAT,
                           "%s: tensor '%s' has dtype %s, expected F32 or F64: rnnlab does not read %s (convert "
                           "the model with .float() before saving it)",
                           f->path, t->name, t->dtype_name, t->dtype_name);
    }
    return RL_OK;
}

/* What an rnnlab model has that a PyTorch model may lack, said when its
 * tensor is missing. */
static const char *missing_hint(const char *name)
{
    if (strncmp(name, "head.", 5) == 0)
        return ": rnnlab models end in a linear readout of the top layer, head = nn.Linear(hidden_size, output_size)";
    if (strncmp(name, "rnn.bias_", 9) == 0) return ": rnnlab models have both biases (PyTorch's bias=True)";
    return "";
}

rl_status rl_model_load(rl_model **out, const char *path, rl_dtype dtype)
{
    *out = NULL;
    st_file f;
    rl_status s = st_read(&f, path);
    if (s) return s;
    s = rl_model_from_st(out, &f, dtype);
    st_close(&f);
    return s;
}

/* The tensor of file f for m's tensor name: the name itself, or for rnn.*
 * the name without "rnn." (an nn.RNN's own state_dict). */
static const st_tensor *weights_tensor(const st_file *f, const char *name)
{
    const st_tensor *t = st_find(f, name);
    if (!t && strncmp(name, "rnn.", 4) == 0) t = st_find(f, name + 4);
    return t;
}

rl_status rl_model_load_weights(rl_model *m, const char *path, int *head_kept)
{
    if (head_kept) *head_kept = 0;
    st_file f;
    rl_status s = st_read(&f, path);
    if (s) return s;
    const char *kind = st_kind(&f), *cell = st_meta(&f, "cell");
    const int bare = !st_find(&f, "rnn.weight_ih_l0") && st_find(&f, "weight_ih_l0");
    if (kind && !st_find(&f, "rnn.weight_ih_l0")) s = rl_fail(RL_ERR_FORMAT, "%s is %s, not a model", f.path, kind);
    else if (!kind && !bare) s = rl_fail(RL_ERR_FORMAT, "%s holds no recurrent weights (rnn.weight_ih_l0 or weight_ih_l0)", f.path);
    else if (cell && strcmp(cell, rl_cell_name(m->cfg.cell)) != 0)
        s = rl_fail(RL_ERR_ARG, "%s is a %s model; this one is %s (--cell %s)", f.path, cell, rl_cell_name(m->cfg.cell), cell);
    if (!s) s = check_dtypes(&f);
    /* every tensor of m, by its name, its shape checked; the head may be missing (a bare nn.RNN): it keeps its init */
    int heads = 0, used = 0;
    for (int i = 0; !s && i < m->num_tensors; i++) {
        const rl_tensor_info *ti = &m->tensors[i];
        const st_tensor *t = weights_tensor(&f, ti->name);
        if (!t && strncmp(ti->name, "head.", 5) == 0) {
            heads++;
            continue;
        }
        if (!t) {
            s = rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' is missing for a %d-layer %s model of %d units%s", f.path, ti->name,
                        m->cfg.num_layers, rl_cell_name(m->cfg.cell), m->cfg.hidden_size, missing_hint(ti->name));
            break;
        }
        used++;
        s = st_expect_shape(&f, t, ti->ndim, ti->shape);
        if (s) s = rl_fail(s, "%s (the run's model: %s, %d x %d units, input %d, output %d)", rl_errmsg(),
                           rl_cell_name(m->cfg.cell), m->cfg.num_layers, m->cfg.hidden_size, m->cfg.input_size,
                           m->cfg.output_size);
        if (!s) s = st_get_real(&f, t, m->dtype, (char *)m->params + ti->offset * rl_dtype_size(m->dtype));
    }
    if (!s && heads && heads != 2) s = rl_fail(RL_ERR_FORMAT, "%s: head.weight and head.bias go together", f.path);
    /* nothing of the file left out: a tensor m has no use for means another model */
    for (int i = 0; !s && i < f.n; i++) {
        const char *nm = f.t[i].name;
        char full[300];
        snprintf(full, sizeof full, "rnn.%s", nm);
        if (rl_model_find_tensor(m, nm) < 0 && rl_model_find_tensor(m, full) < 0 && !is_run_state(nm))
            s = rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' has no place in a %d-layer %s model", f.path, nm, m->cfg.num_layers,
                        rl_cell_name(m->cfg.cell));
    }
    if (!s && used == 0) s = rl_fail(RL_ERR_FORMAT, "%s: no tensor of the model", f.path);
    if (!s && head_kept) *head_kept = heads > 0;
    st_close(&f);
    return s;
}

rl_status rl_model_from_st(rl_model **out, const st_file *fp, rl_dtype dtype)
{
    *out = NULL;
    const st_file f = *fp;
    rl_status s = RL_OK;
    rl_config cfg;
    rl_orth orth = RL_ORTH_NONE;
    rl_model *m = NULL;
    /* another kind of file: say which, rather than what it lacks */
    const char *kind = st_kind(&f);
    if (kind && !st_find(&f, "rnn.weight_ih_l0")) return rl_fail(RL_ERR_FORMAT, "%s is %s, not a model", f.path, kind);
    if (!st_meta(&f, "cell") && st_find(&f, "rnn.weight_ih_l0"))
        return rl_fail(RL_ERR_FORMAT,
                       "%s: metadata 'cell' is missing: a PyTorch state_dict saved without rnnlab's metadata (cell, "
                       "input_size, hidden_size, num_layers, output_size, loss: docs/files.md)",
                       f.path);
    s = config_from_meta(&f, &cfg);
    if (!s) s = check_dtypes(&f);
    if (!s) s = orth_from_meta(&f, &cfg, &orth);
    if (!s) {
        /* the tensors must fit in the file before anything is allocated */
        long long need = rl_config_num_params_orth(&cfg, orth);
        const char *lack = !st_find(&f, "head.weight") ? "head.weight" : !st_find(&f, "rnn.bias_ih_l0") ? "rnn.bias_ih_l0" : NULL;
        if (need > (long long)(f.data_len / 4) && lack && st_find(&f, "rnn.weight_ih_l0"))
            s = rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' is missing%s", f.path, lack, missing_hint(lack));
        else if (need > (long long)(f.data_len / 4))
            s = rl_fail(RL_ERR_FORMAT, "%s: the metadata asks for %lld parameters but the file holds at most %zu",
                        f.path, need, f.data_len / 4);
    }
    if (!s && (s = rl_model_new_orth(&m, &cfg, dtype, orth)) != RL_OK) s = rl_fail(s, "%s: %s", f.path, rl_errmsg());
    for (int i = 0; !s && i < m->num_tensors; i++) {
        const rl_tensor_info *ti = &m->tensors[i];
        const st_tensor *t = st_find(&f, ti->name);
        if (!t) {
            if (orth && strstr(ti->name, ".parametrizations."))
                s = rl_fail(RL_ERR_FORMAT, "%s: metadata orthogonal = %s, but tensor '%s' is missing", f.path,
                            rl_orth_name(orth), ti->name);
            else s = rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' is missing%s", f.path, ti->name, missing_hint(ti->name));
            break;
        }
        s = st_expect_shape(&f, t, ti->ndim, ti->shape);
        if (!s) s = st_get_real(&f, t, dtype, (char *)m->params + ti->offset * rl_dtype_size(dtype));
    }
    for (int i = 0; !s && i < f.n; i++)
        if (rl_model_find_tensor(m, f.t[i].name) < 0 && !is_run_state(f.t[i].name))
            s = rl_fail(RL_ERR_FORMAT, "%s: unexpected tensor '%s' for a %d-layer %s model%s", f.path, f.t[i].name,
                        cfg.num_layers, rl_cell_name(cfg.cell),
                        orth ? " with an orthogonal W_hh"
                             : strstr(f.t[i].name, ".parametrizations.") ? " (metadata 'orthogonal' is missing)" : "");
    if (!s && st_meta(&f, "vocab")) s = rl_model_set_vocab(m, st_meta(&f, "vocab"));
    if (!s) s = task_options_from_meta(m, st_meta(&f, "task_options"));
    /* the task it was trained on: optional, and a value this version does not
     * know (a newer task) is passed over rather than refused */
    const char *task = st_meta(&f, "task"), *sl = st_meta(&f, "seq_len");
    char *end = NULL;
    long T = sl ? strtol(sl, &end, 10) : 0;
    for (int k = 0; !s && task && sl && *end == '\0' && T >= 1 && T <= RL_MAX_SEQ_LEN && k < RL_TASK_COUNT; k++)
        if (strcmp(task, rl_task_name((rl_task_kind)k)) == 0) m->task = k, m->seq_len = (int)T;
    if (s) {
        rl_model_free(m);
        return s;
    }
    *out = m;
    return RL_OK;
}

/* Metadata task_options: a JSON object of at most RL_TASK_OPTIONS strings.
 * A value of another shape is passed over, as an unknown task is: what the
 * model was trained on is a default, never needed to load it. */
static rl_status task_options_from_meta(rl_model *m, const char *json)
{
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    const char *kv[2 * RL_TASK_OPTIONS];
    int n = 0, ok = cJSON_IsObject(j) && cJSON_GetArraySize(j) <= RL_TASK_OPTIONS;
    for (const cJSON *e = ok ? j->child : NULL; e && ok; e = e->next) {
        ok = cJSON_IsString(e) && e->string;
        if (ok) kv[2 * n] = e->string, kv[2 * n + 1] = e->valuestring, n++;
    }
    rl_status s = ok ? rl_model_set_task_options(m, kv, n) : RL_OK;
    cJSON_Delete(j);
    return s;
}

rl_status rl_model_set_task_options(rl_model *m, const char *const *kv, int n)
{
    RL_ASSERT(n >= 0 && n <= RL_TASK_OPTIONS);
    free(m->task_json), free(m->task_kv);
    m->task_json = m->task_kv = NULL, m->task_kv_len = 0;
    if (n == 0) return RL_OK;
    cJSON *j = cJSON_CreateObject();
    size_t len = 0;
    for (int i = 0; j && i < n; i++) {
        if (!cJSON_AddStringToObject(j, kv[2 * i], kv[2 * i + 1])) break;
        len += strlen(kv[2 * i]) + strlen(kv[2 * i + 1]) + 2;
    }
    char *json = j && cJSON_GetArraySize(j) == n ? cJSON_PrintUnformatted(j) : NULL, *flat = malloc(len ? len : 1);
    cJSON_Delete(j);
    if (!json || !flat) {
        free(json), free(flat);
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    /* "key\0value\0..." */
    size_t at = 0;
    for (int i = 0; i < 2 * n; i++) {
        size_t k = strlen(kv[i]) + 1;
        memcpy(flat + at, kv[i], k);
        at += k;
    }
    m->task_json = json, m->task_kv = flat, m->task_kv_len = len;
    return RL_OK;
}

int rl_model_task_options(const rl_model *m, const char **kv, int max)
{
    int n = 0;
    for (size_t at = 0; at < m->task_kv_len && n < max; n++) {
        kv[2 * n] = m->task_kv + at;
        at += strlen(kv[2 * n]) + 1;
        kv[2 * n + 1] = m->task_kv + at;
        at += strlen(kv[2 * n + 1]) + 1;
    }
    return n;
}

int rl_model_task(const rl_model *m, rl_task_kind *kind)
{
    if (m->seq_len > 0) *kind = (rl_task_kind)m->task;
    return m->seq_len;
}

rl_status rl_model_set_task(rl_model *m, rl_task_kind kind, int seq_len)
{
    if (seq_len < 0 || seq_len > RL_MAX_SEQ_LEN || (seq_len > 0 && !rl_task_name(kind)))
        return rl_fail(RL_ERR_ARG, "a task and a sequence length in [1, %d]", RL_MAX_SEQ_LEN);
    m->task = seq_len ? (int)kind : 0, m->seq_len = seq_len;
    return seq_len ? RL_OK : rl_model_set_task_options(m, NULL, 0);
}

int rl_model_meta(const rl_model *m, char num[6][16], const char **meta)
{
    snprintf(num[0], 16, "%d", m->cfg.input_size);
    snprintf(num[1], 16, "%d", m->cfg.hidden_size);
    snprintf(num[2], 16, "%d", m->cfg.num_layers);
    snprintf(num[3], 16, "%d", m->cfg.output_size);
    snprintf(num[4], 16, "%d", m->seq_len);
    const char *kv[] = {"format", "pt", "cell", rl_cell_name(m->cfg.cell), "input_size", num[0],
                        "hidden_size", num[1], "num_layers", num[2], "output_size", num[3],
                        "loss", rl_loss_name(m->cfg.loss)};
    int n = (int)(sizeof kv / sizeof kv[0]) / 2;
    memcpy(meta, kv, sizeof kv);
    if (m->seq_len > 0) {
        meta[2 * n] = "task", meta[2 * n + 1] = rl_task_name((rl_task_kind)m->task), n++;
        meta[2 * n] = "seq_len", meta[2 * n + 1] = num[4], n++;
    }
    if (m->orth) meta[2 * n] = "orthogonal", meta[2 * n + 1] = rl_orth_name(m->orth), n++;
    if (m->cell->units_mult) { /* an lru: its complex units, and its output's nonlinearity */
        snprintf(num[5], 16, "%d", rl_model_units(m) / m->cell->units_mult);
        meta[2 * n] = "state_size", meta[2 * n + 1] = num[5], n++;
    }
    if (m->cell->out_map)
        meta[2 * n] = "activation", meta[2 * n + 1] = rl_act_name(m->cfg.activation ? m->cfg.activation : RL_ACT_GELU), n++;
    if (m->vocab) meta[2 * n] = "vocab", meta[2 * n + 1] = m->vocab, n++;
    if (m->task_json && m->seq_len > 0) meta[2 * n] = "task_options", meta[2 * n + 1] = m->task_json, n++;
    return n;
}

int rl_model_st_tensors(const rl_model *m, st_out *t)
{
    RL_ASSERT(m->dtype == RL_F32);
    for (int i = 0; i < m->num_tensors; i++) {
        const rl_tensor_info *ti = &m->tensors[i];
        t[i] = (st_out){ti->name, "F32", ti->ndim, {ti->shape[0], ti->shape[1]}, (const float *)m->params + ti->offset};
    }
    return m->num_tensors;
}

rl_status rl_model_save(const rl_model *m, const char *path)
{
    if (!m || !path) return rl_fail(RL_ERR_ARG, "rl_model_save: no model or no path (NULL)"); /* a freed handle */
    const rl_model *m32 = m;
    rl_model *cast = NULL;
    rl_status s = RL_OK;
    if (m->dtype != RL_F32) {
        if ((s = rl_model_cast(&cast, m, RL_F32))) return s;
        m32 = cast;
    }
    st_out t[RL_MAX_TENSORS];
    int n = rl_model_st_tensors(m32, t);
    char num[6][16];
    const char *meta[2 * RL_MODEL_META];
    int nmeta = rl_model_meta(m, num, meta);
    s = st_write_ex(path, t, n, meta, nmeta, 1);
    rl_model_free(cast);
    return s;
}

/* ------------------------------------------------------------------ data */


void rl_data_free(rl_data *d)
{
    if (!d) return;
    RL_FREE_ALL(d->x, d->y, d->mask, d->h0, d->c0, d->target);
    free(d);
}

const rl_batch *rl_data_batch(const rl_data *d) { return &d->b; }

/* Allocate and fill *dst from tensor name if present (required: error if not). */
static rl_status load_real(const st_file *f, const char *name, int required, int ndim, const int64_t *shape,
                           rl_dtype dtype, void **dst)
{
    const st_tensor *t = st_find(f, name);
    if (!t) return required ? rl_fail(RL_ERR_FORMAT, "%s: tensor '%s' is missing", f->path, name) : RL_OK;
    rl_status s = st_expect_shape(f, t, ndim, shape);
    if (s) return s;
    if (!(*dst = rl_alloc(t->numel, rl_dtype_size(dtype)))) return RL_ERR_NOMEM;
    return st_get_real(f, t, dtype, *dst);
}

rl_status rl_data_load(rl_data **out, const char *path, const rl_model *m, rl_dtype dtype)
{
    return rl_data_load_ex(out, path, m, dtype, 0);
}

rl_status rl_data_load_ex(rl_data **out, const char *path, const rl_model *m, rl_dtype dtype, unsigned flags)
{
    *out = NULL;
    st_file f;
    rl_status s = st_read(&f, path);
    if (s) return s;
    s = rl_data_from_st(out, &f, m, dtype, flags);
    st_close(&f);
    return s;
}

rl_status rl_data_from_st(rl_data **out, const st_file *fp, const rl_model *m, rl_dtype dtype, unsigned flags)
{
    *out = NULL;
    const st_file f = *fp;
    rl_status s = RL_OK;
    rl_data *d = calloc(1, sizeof *d);
    if (!d) return rl_fail(RL_ERR_NOMEM, "out of memory");
    const rl_config *c = &m->cfg;
    const char *kind = st_kind(&f);
    if (kind && strcmp(kind, "a data file") != 0) {
        free(d);
        return rl_fail(RL_ERR_FORMAT, "%s is %s, not a data file", f.path, kind);
    }
    const st_tensor *x = st_find(&f, "x"), *h0 = st_find(&f, "h0");
    int state_only = !x && (flags & RL_DATA_OPTIONAL_XY);
    int64_t B = 0, T = 0;
    if (state_only) {
        if (!h0 || h0->ndim != 3 || h0->shape[1] < 1 || h0->shape[1] > INT32_MAX)
            s = rl_fail(RL_ERR_FORMAT, "%s: a file without x must hold h0 (L, B, %s)", f.path,
                        m->cell->units_mult ? "2N" : "H");
        else
            B = h0->shape[1];
        if (!s && st_find(&f, "y")) s = rl_fail(RL_ERR_FORMAT, "%s: tensor 'y' without 'x'", f.path);
    } else if (!x) {
        s = rl_fail(RL_ERR_FORMAT, "%s: tensor 'x' is missing", f.path);
    } else if (x->ndim != 3 || x->shape[0] < 1 || x->shape[1] < 1 || x->shape[0] > INT32_MAX ||
               x->shape[1] > INT32_MAX) {
        s = rl_fail(RL_ERR_FORMAT, "%s: tensor 'x' must have shape (B, T, I) with B, T >= 1", f.path);
    } else {
        B = x->shape[0];
        T = x->shape[1];
    }
    if (!s) {
        int64_t sx[3] = {B, T, c->input_size}, sy[3] = {B, T, c->output_size}, sm[2] = {B, T},
                sh[3] = {c->num_layers, B, rl_model_units(m)};
        if (!state_only) s = load_real(&f, "x", 1, 3, sx, dtype, &d->x);
        const st_tensor *y = st_find(&f, "y");
        if (state_only) {
        } else if (!s && c->loss == RL_LOSS_CE) {
            if (!y && !(flags & RL_DATA_OPTIONAL_XY)) s = rl_fail(RL_ERR_FORMAT, "%s: tensor 'y' is missing", f.path);
            if (!s && y) s = st_expect_shape(&f, y, 2, sm);
            if (!s && y && !(d->target = rl_alloc(y->numel, sizeof(int32_t)))) s = RL_ERR_NOMEM;
            if (!s && y) s = st_get_ids(&f, y, 0, c->output_size - 1, d->target);
        } else if (!s) {
            s = load_real(&f, "y", !(flags & RL_DATA_OPTIONAL_XY), 3, sy, dtype, &d->y);
        }
        if (!s && !state_only) s = load_real(&f, "mask", 0, 2, sm, dtype, &d->mask);
        if (!s) s = load_real(&f, "h0", 0, 3, sh, dtype, &d->h0);
        if (!s && rl_cell_states(c->cell) != 2 && st_find(&f, "c0"))
            s = rl_fail(RL_ERR_FORMAT, "%s: tensor 'c0' is only for LSTM models (a cell state c), this is %s", f.path,
                        rl_cell_name(c->cell));
        if (!s) s = load_real(&f, "c0", 0, 3, sh, dtype, &d->c0);
    }
    static const char *const known[] = {"x", "y", "mask", "h0", "c0"};
    for (int i = 0; !s && i < f.n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= strcmp(f.t[i].name, known[k]) == 0;
        if (!ok) s = rl_fail(RL_ERR_FORMAT, "%s: unexpected tensor '%s' in a data file", f.path, f.t[i].name);
    }
    if (!s) {
        d->b = (rl_batch){dtype, (int)B, (int)T, c->input_size, d->x, d->target, d->y, d->mask, d->h0, d->c0};
        if (!state_only) s = rl_batch_check(&d->b, m, d->target || d->y, NULL);
        if (s) s = rl_fail(s, "%s: %s", f.path, rl_errmsg());
    }
    if (s) {
        rl_data_free(d);
        return s;
    }
    *out = d;
    return RL_OK;
}

rl_status rl_data_save(const rl_batch *b, const rl_model *m, const char *path)
{
    const rl_config *c = &m->cfg;
    const char *rt = b->dtype == RL_F64 ? "F64" : "F32";
    int64_t B = b->batch, T = b->steps, L = c->num_layers, H = rl_model_units(m);
    st_out t[5];
    int n = 0;
    int64_t *ids = NULL;
    t[n++] = (st_out){"x", rt, 3, {B, T, b->input_size}, b->x};
    if (c->loss == RL_LOSS_CE) {
        RL_ASSERT(b->target);
        if (!(ids = rl_alloc((size_t)(B * T), sizeof *ids))) return RL_ERR_NOMEM;
        for (int64_t i = 0; i < B * T; i++) ids[i] = b->target[i];
        t[n++] = (st_out){"y", "I64", 2, {B, T}, ids};
    } else {
        RL_ASSERT(b->y);
        t[n++] = (st_out){"y", rt, 3, {B, T, c->output_size}, b->y};
    }
    if (b->mask) t[n++] = (st_out){"mask", rt, 2, {B, T}, b->mask};
    if (b->h0) t[n++] = (st_out){"h0", rt, 3, {L, B, H}, b->h0};
    if (b->c0) t[n++] = (st_out){"c0", rt, 3, {L, B, H}, b->c0};
    rl_status s = st_write(path, t, n, NULL, 0);
    rl_free(ids);
    return s;
}

/* ------------------------------------------------------------------ random data */

rl_status rl_data_random(rl_data **out, const rl_model *m, int batch, int steps, rl_dtype dtype,
                         int with_mask, int with_h0, uint64_t seed)
{
    *out = NULL;
    const rl_config *c = &m->cfg;
    if (batch < 1 || steps < 1) return rl_fail(RL_ERR_ARG, "batch and steps must be >= 1");
    size_t BT = (size_t)batch * steps, LBH = (size_t)c->num_layers * batch * rl_model_units(m), es = rl_dtype_size(dtype);
    char what[160];
    snprintf(what, sizeof what, "random data of B = %d sequences of T = %d steps", batch, steps);
    rl_status s0 = rl_memory_check(((double)BT * (c->input_size + (c->loss == RL_LOSS_CE ? 1 : c->output_size) + 1) +
                                    2.0 * LBH) * (double)es, what);
    if (s0) return s0;
    rl_data *d = calloc(1, sizeof *d);
    if (!d) return rl_fail(RL_ERR_NOMEM, "out of memory");
    int ce = c->loss == RL_LOSS_CE, lstm = rl_cell_states(c->cell) == 2;
    int ok = (d->x = rl_alloc(BT * (size_t)c->input_size, es)) != NULL;
    if (ok && ce) ok = (d->target = rl_alloc(BT, sizeof(int32_t))) != NULL;
    if (ok && !ce) ok = (d->y = rl_alloc(BT * (size_t)c->output_size, es)) != NULL;
    if (ok && with_mask) ok = (d->mask = rl_alloc(BT, es)) != NULL;
    if (ok && with_h0) ok = (d->h0 = rl_alloc(LBH, es)) != NULL;
    if (ok && with_h0 && lstm) ok = (d->c0 = rl_alloc(LBH, es)) != NULL;
    if (!ok) {
        rl_data_free(d);
        return RL_ERR_NOMEM;
    }
    rl_rng r;
    rl_rng_seed(&r, seed);
    for (size_t i = 0; i < BT * (size_t)c->input_size; i++) rl_store(d->x, dtype, i, rl_rng_normal(&r));
    for (size_t i = 0; ce && i < BT; i++) d->target[i] = (int32_t)(rl_rng_next(&r) % (uint64_t)c->output_size);
    for (size_t i = 0; !ce && i < BT * (size_t)c->output_size; i++) rl_store(d->y, dtype, i, rl_rng_normal(&r));
    static const double weights[4] = {0, 0.5, 1, 2};
    for (size_t i = 0; with_mask && i < BT; i++)
        rl_store(d->mask, dtype, i, i == BT - 1 ? 1.0 : weights[rl_rng_next(&r) % 4]);
    for (size_t i = 0; with_h0 && i < LBH; i++) rl_store(d->h0, dtype, i, 0.5 * rl_rng_normal(&r));
    for (size_t i = 0; d->c0 && i < LBH; i++) rl_store(d->c0, dtype, i, 0.5 * rl_rng_normal(&r));
    d->b = (rl_batch){dtype, batch, steps, c->input_size, d->x, d->target, d->y, d->mask, d->h0, d->c0};
    *out = d;
    return RL_OK;
}

/* ------------------------------------------------------------------ gradients */

rl_status rl_grad_save(const char *path, const rl_model *m, rl_ws *ws, const rl_batch *b, double loss)
{
    return rl_grad_save_ex(path, m, ws, b, loss, NULL, 0);
}

rl_status rl_grad_save_ex(const char *path, const rl_model *m, rl_ws *ws, const rl_batch *b, double loss,
                          const rl_st_tensor *extra, int nextra)
{
    const char *dt = m->dtype == RL_F64 ? "F64" : "F32";
    size_t es = rl_dtype_size(m->dtype);
    if (nextra < 0 || nextra > 8) return rl_fail(RL_ERR_ARG, "at most 8 extra tensors in a gradient file");
    st_out t[RL_MAX_TENSORS + 3 + 8];
    char names[RL_MAX_TENSORS][RL_TENSOR_NAME_MAX + 8];
    double loss64 = loss;
    float loss32 = (float)loss;
    int n = 0;
    t[n++] = (st_out){"loss", dt, 0, {0}, m->dtype == RL_F64 ? (const void *)&loss64 : (const void *)&loss32};
    for (int i = 0; i < m->num_tensors; i++) {
        const rl_tensor_info *ti = &m->tensors[i];
        if (ti->fixed) continue; /* a buffer, as torch's state_dict has it: no gradient */
        snprintf(names[i], sizeof names[i], "grad.%s", ti->name);
        t[n++] = (st_out){names[i], dt, ti->ndim, {ti->shape[0], ti->shape[1]},
                          (const char *)rl_ws_grad(ws) + ti->offset * es};
    }
    int64_t L = m->cfg.num_layers, B = b->batch, H = rl_model_units(m);
    if (b->h0) t[n++] = (st_out){"grad.h0", dt, 3, {L, B, H}, rl_ws_grad_h0(ws)};
    if (b->c0) t[n++] = (st_out){"grad.c0", dt, 3, {L, B, H}, rl_ws_grad_c0(ws)};
    for (int i = 0; i < nextra; i++) t[n++] = extra[i];
    return st_write(path, t, n, NULL, 0);
}

const char *rl_st_kind(const rl_st *r) { return st_kind(&r->f); }
