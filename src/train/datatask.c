/* The task a training configuration describes: a generated one or text
 * (rl_task_new), or a user's data (data, smnist, psmnist: the sequences of
 * src/train/dataset.h behind the task interface of src/train/tasks.c). */
#include "io/modelio.h"
#include "train/dataset.h"
#include "train/tasks.h"

#include <math.h>
#include <string.h>

rl_status rl_task_from_config(rl_task **out, const rl_train_config *c, int for_test, const rl_model *m)
{
    *out = NULL;
    if (!rl_task_reads_data(c->task)) return rl_task_new(out, c->task, c->seq_len, c->text_path);
    if (!c->text_path)
        return rl_fail(RL_ERR_ARG, "--task %s needs --data %s", rl_task_name(c->task), c->task == RL_TASK_DATA ? "FILE" : "DIR");
    if (c->loss < 0 || c->loss > RL_LOSS_COUNT) return rl_fail(RL_ERR_ARG, "unknown loss");
    const int mnist = c->task != RL_TASK_DATA;
    if (mnist && (c->inputs || c->targets || c->window || c->test_split > 0 || c->loss))
        return rl_fail(RL_ERR_ARG, "--%s is for --task data: %s's inputs and targets are the images' pixels and classes",
                       c->inputs ? "inputs" : c->targets ? "targets" : c->window ? "window" : c->test_split > 0 ? "test-split" : "loss",
                       rl_task_name(c->task));
    rl_dataset_options o = {0};
    o.mnist = mnist, o.permute = c->task == RL_TASK_PSMNIST;
    o.path = c->text_path, o.valid_path = c->valid_path;
    o.valid_split = c->valid_split, o.test_split = c->test_split;
    o.loss = c->loss ? c->loss - 1 : -1;
    o.inputs = c->inputs, o.targets = c->targets, o.window = c->window, o.horizon = c->horizon;
    o.for_test = for_test;
    o.perm_seed = c->perm_seed;
    if (m) { /* a test of a model: its loss, and its classes */
        const rl_config mc = rl_model_config(m);
        if (!c->loss) o.loss = (int)mc.loss;
        if (mc.loss == RL_LOSS_CE) o.min_classes = mc.output_size;
    }
    rl_dataset *ds = NULL;
    rl_status s = rl_dataset_new(&ds, &o);
    if (s) return s;
    rl_task *t = rl_alloc(1, sizeof *t);
    if (!t) {
        rl_dataset_free(ds);
        return rl_fail(RL_ERR_NOMEM, "out of memory");
    }
    t->ds = ds;
    rl_task_info *in = &t->info;
    in->kind = c->task;
    in->seq_len = in->steps = ds->T;
    in->input_size = ds->I, in->output_size = ds->O, in->loss = ds->loss;
    in->baseline = ds->baseline, in->baseline_accuracy = ds->baseline_accuracy;
    in->train_len = ds->train_n, in->val_len = ds->eval_n;
    *out = t;
    return RL_OK;
}

/* What a model records of the task it was trained on beyond its task and T,
 * for a run that read a file: the file and the options of its data. */
static const char *const task_keys[] = {"text_path", "valid_path", "valid_split", "test_split", "loss",
                                         "inputs",    "targets",    "window",      "horizon",    "perm_seed"};
#define NKEYS ((int)(sizeof task_keys / sizeof task_keys[0]))
_Static_assert(NKEYS <= RL_TASK_OPTIONS, "the options a model records");

rl_status rl_model_record_task(rl_model *m, const rl_train_config *c)
{
    rl_status s = rl_model_set_task(m, c->task, c->seq_len);
    if (s || !c->text_path) return s ? s : rl_model_set_task_options(m, NULL, 0);
    const rl_train_config def = rl_train_defaults();
    char val[NKEYS][64], dval[64];
    const char *kv[2 * NKEYS];
    int n = 0;
    for (int i = 0; i < NKEYS; i++) {
        const rl_option *o = rl_option_find(task_keys[i]);
        RL_ASSERT(o);
        if (o->type == RL_FIELD_PATH) { /* a path or a list of columns: as it is, unless unset */
            const char *p = *(const char *const *)((const char *)c + o->offset);
            if (p) kv[2 * n] = o->name, kv[2 * n + 1] = p, n++;
            continue;
        }
        rl_option_format(c, o, val[i], sizeof val[i]);
        rl_option_format(&def, o, dval, sizeof dval);
        if (strcmp(val[i], dval) != 0) kv[2 * n] = o->name, kv[2 * n + 1] = val[i], n++;
    }
    return rl_model_set_task_options(m, kv, n);
}

rl_status rl_model_task_config(const rl_model *m, rl_train_config *c)
{
    rl_task_kind kind;
    const int T = rl_model_task(m, &kind);
    if (!T) return RL_OK;
    c->task = kind, c->seq_len = T;
    const char *kv[2 * RL_TASK_OPTIONS];
    const int n = rl_model_task_options(m, kv, RL_TASK_OPTIONS);
    for (int i = 0; i < n; i++) {
        int known = 0;
        for (int k = 0; k < NKEYS; k++) known |= strcmp(kv[2 * i], task_keys[k]) == 0;
        const rl_option *o = known ? rl_option_find(kv[2 * i]) : NULL;
        rl_status s = o ? rl_option_parse(c, o, kv[2 * i + 1]) : RL_ERR_FORMAT;
        if (s) return rl_fail(RL_ERR_FORMAT, "the model's task_options: %s", o ? rl_errmsg() : "an unknown key");
    }
    return RL_OK;
}
