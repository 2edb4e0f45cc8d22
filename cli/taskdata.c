/* Data of a model's own task: fresh sequences of a task, for rnnlab data
 * --task and for the analysis commands given a trained model alone; the
 * task's rows (its text or data among them) as the model records them. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether row o holds another value in a than in b. */
static int row_differs(const rl_train_config *a, const rl_train_config *b, const rl_option *o)
{
    char va[1100], vb[1100];
    rl_option_format(a, o, va, sizeof va);
    rl_option_format(b, o, vb, sizeof vb);
    return strcmp(va, vb) != 0;
}

/* The options of the data rec records beyond task, T and the path, as
 * " --flag value" (the flags to give with --data to read the same data). */
static void data_flags(const rl_train_config *rec, char *buf, size_t n)
{
    const rl_train_config def = rl_train_defaults();
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < rl_option_count() && at < n; i++) {
        const rl_option *o = rl_option_at(i);
        if (strcmp(o->name, "task") == 0 || strcmp(o->name, "seq_len") == 0 || strcmp(o->name, "text_path") == 0 ||
            !row_differs(rec, &def, o))
            continue;
        char v[1100];
        rl_option_format(rec, o, v, sizeof v);
        at += (size_t)snprintf(buf + at, n - at, " --%s %s", o->flag, v);
    }
}

/* The model's file is gone: which flag gives it. 2. */
static int data_gone(const cli_ctx *c, const rl_train_config *rec, int err)
{
    const char *what = rec->task == RL_TASK_TEXT ? "text" : rec->task == RL_TASK_DATA ? "data" : "MNIST folder";
    const char *arg = rec->task == RL_TASK_TEXT || rec->task == RL_TASK_DATA ? "FILE" : "DIR";
    char flags[2048];
    data_flags(rec, flags, sizeof flags);
    const char *model = "M";
    for (int i = 0; i < c->ninputs; i++)
        if (strcmp(c->inputs[i].what, "--model") == 0) model = c->inputs[i].path;
    const rl_option *o = cli_option_of(c->cmd, "data");
    if (o && strcmp(o->name, "text_path") == 0) /* this command reads the task's file by --data */
        return cli_usage_error(c, "the %s the model was trained on, %s, cannot be read (%s): give it with --data %s%s", what,
                               rec->text_path, strerror(err), arg, flags);
    return cli_usage_error(c,
                           "the %s the model was trained on, %s, cannot be read (%s): make its data with 'rnnlab data "
                           "--model %s --data %s%s --out D' and give --data D",
                           what, rec->text_path, strerror(err), model, arg, flags);
}

int cli_model_task(const cli_ctx *c, const rl_model *m, rl_train_config *t, int *own, char *note, size_t n)
{
    const int task_given = cli_given(c, "task"), seq_given = cli_given(c, "seq_len"), data_given = cli_given(c, "text_path");
    rl_train_config rec = rl_train_defaults();
    note[0] = '\0';
    if (own) *own = 0;
    rl_status s = rl_model_task_config(m, &rec);
    if (s) return cli_fail(c, s);
    rl_task_kind mk = RL_TASK_ADDING;
    const int mT = rl_model_task(m, &mk);
    if (!task_given) {
        if (!mT) return cli_usage_error(c, "--task is required: the model does not record the task it was trained on");
        t->task = mk;
    }
    const int same = mT && t->task == mk, took_T = !seq_given && same, took_data = !data_given && same && rec.text_path;
    if (took_T) t->seq_len = mT;
    if (took_data) { /* the model's text or data, with the options of its data */
        if (access(rec.text_path, R_OK) != 0) return data_gone(c, &rec, errno);
        const rl_train_config def = rl_train_defaults();
        for (int i = 0; i < rl_option_count(); i++) {
            const rl_option *o = rl_option_at(i);
            if (strcmp(o->group, "task") != 0 || !row_differs(&rec, &def, o) || cli_given(c, o->name)) continue;
            char v[1100];
            rl_option_format(&rec, o, v, sizeof v);
            if (o->type == RL_FIELD_PATH || o->type == RL_FIELD_TEXT) /* the string, which lives in m */
                *(const char **)((char *)t + o->offset) = *(const char *const *)((const char *)&rec + o->offset);
            else if (rl_option_parse(t, o, v))
                return cli_fail(c, RL_ERR_FORMAT);
        }
        if (own) *own = 1;
    }
    /* "task text, T = 100, its data my.txt, as the model was trained (--task, --seq-len, --data choose others)" */
    const int fixed_T = t->task == RL_TASK_DATA || t->task == RL_TASK_SMNIST || t->task == RL_TASK_PSMNIST;
    const char *flag[3] = {!task_given ? "--task" : NULL, took_T && !fixed_T ? "--seq-len" : NULL, took_data ? "--data" : NULL};
    char what[1200] = "", flags[64] = "";
    int nf = 0;
    size_t at = 0;
    if (!task_given) at += (size_t)snprintf(what + at, sizeof what - at, "task %s", rl_task_name(t->task));
    if (took_T && at < sizeof what) at += (size_t)snprintf(what + at, sizeof what - at, "%sT = %d", at ? ", " : "", t->seq_len);
    if (took_data && at < sizeof what) snprintf(what + at, sizeof what - at, "%sits data %s", at ? ", " : "", rec.text_path);
    for (int i = 0; i < 3; i++)
        if (flag[i]) snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%s%s", nf++ ? ", " : "", flag[i]);
    if (what[0])
        snprintf(note, n, "%s, as the model was trained%s%s%s", what, nf ? " (" : "", flags, !nf ? "" : nf > 1 ? " choose others)" : " chooses another)");
    return 0;
}

int cli_task_data(const cli_ctx *c, const rl_model *m, const rl_train_config *t, int B, uint64_t seed, rl_task **task,
                  rl_data **d)
{
    *task = NULL, *d = NULL;
    rl_status s = rl_task_from_config(task, t, 0, m);
    if (s) return cli_fail_arg(c, s);
    rl_task_info in = rl_task_get_info(*task);
    rl_config mc = rl_model_config(m);
    const char *kind = rl_task_name(t->task);
    if (mc.input_size != in.input_size || mc.output_size != in.output_size || mc.loss != in.loss)
        return cli_usage_error(c, "the model (input %d, output %d, %s) does not fit the task %s (input %d, output %d, %s)%s",
                               mc.input_size, mc.output_size, rl_loss_name(mc.loss), kind, in.input_size, in.output_size,
                               rl_loss_name(in.loss),
                               t->task == RL_TASK_TEXT && !t->text_path && rl_model_vocab(m)
                                   ? ": give the text it was trained on with --data FILE"
                                   : "");
    if (in.vocab && (!rl_model_vocab(m) || strcmp(rl_model_vocab(m), in.vocab) != 0))
        return cli_usage_error(c, "the model's characters are not those of %s: give the text it was trained on with --data FILE",
                               t->text_path ? t->text_path : "the built-in corpus");
    /* text: B streams through the validation split, each one window long */
    if (in.vocab && in.val_len / B < in.steps + 1)
        return cli_usage_error(c, "the validation text (%lld characters) is too short for %d streams of %d: use --batch %lld or less",
                               (long long)in.val_len, B, in.steps, (long long)(in.val_len / (in.steps + 1)));
    /* a user's data: its first B held-out sequences */
    const int data = t->task == RL_TASK_DATA || t->task == RL_TASK_SMNIST || t->task == RL_TASK_PSMNIST;
    if (data && in.val_len < B)
        return cli_usage_error(c, "the held-out part of %s has %lld sequences, fewer than the %d asked for", t->text_path,
                               (long long)in.val_len, B);
    int64_t *pos = calloc((size_t)B, sizeof *pos);
    if (!pos) return fprintf(stderr, "rnnlab %s: out of memory\n", c->cmd), 1;
    for (int b = 0; b < B; b++) pos[b] = data ? b : (int64_t)b * (in.val_len / B);
    s = rl_task_data_new(d, *task, B);
    rl_rng r;
    rl_rng_seed(&r, seed);
    if (!s) s = rl_task_fill(*task, *d, &r, 1, pos);
    free(pos);
    return s ? cli_fail(c, s) : 0;
}
