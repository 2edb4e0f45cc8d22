/* --freeze (rl_train_config.freeze): the tensors it names stay as they
 * start, under any optimizer, weight decay and flossing included, and
 * through a resume; their gradient is out of the norm and the clipping, as
 * a torch parameter with requires_grad = False; what it cannot do is
 * refused before the run's folder is made. */
#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A model's tensor by name, or NULL. */
static const rl_tensor_info *tensor(const rl_model *m, const char *name)
{
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        if (strcmp(ti->name, name) == 0) return ti;
    }
    return NULL;
}

static rl_train_config freeze_config(void)
{
    rl_train_config c = test_small_config(RL_TASK_ADDING, RL_CELL_LSTM);
    c.steps = 10, c.dropout = 0, c.log_every = 1, c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0, c.clip = 0;
    c.optim = rl_optim_defaults(RL_OPT_ADAMW), c.optim.weight_decay = 0.1; /* decay moves what it is not told to leave */
    return c;
}

/* The parameters a config starts from (the trainer's init, not run). */
static float *init_params(const rl_train_config *c, const char *name, size_t *n)
{
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, c, tmp_path(name)));
    if (!t) return NULL;
    const rl_model *m = rl_trainer_model(t);
    *n = rl_model_num_params(m);
    float *p = malloc(*n * 4);
    if (p) memcpy(p, rl_model_params_const(m), *n * 4);
    rl_trainer_free(t);
    return p;
}

static int frozen_name(const char *name)
{
    return strncmp(name, "rnn.bias_hh_l", 13) == 0 || strcmp(name, "head.weight") == 0;
}

typedef struct {
    int calls;
    double norm[16]; /* each step's gradient norm over the tensors not frozen, as the hook sees it */
    double full[16]; /* and over all of them */
} norm_ctx;

static rl_status norm_hook(void *ctx, rl_trainer *t, rl_model *m, rl_ws *ws, const rl_batch *b, double *loss)
{
    (void)t, (void)b, (void)loss;
    norm_ctx *h = ctx;
    const float *g = rl_ws_grad(ws);
    double sq = 0, all = 0;
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        for (size_t k = 0; k < ti->numel; k++) {
            const double v = g[ti->offset + k];
            all += v * v;
            if (!frozen_name(ti->name)) sq += v * v;
        }
    }
    if (h->calls < 16) h->norm[h->calls] = sqrt(sq), h->full[h->calls] = sqrt(all);
    h->calls++;
    return RL_OK;
}

typedef struct {
    int n;
    double g[16];
} seen_norms;

static void note_norm(const rl_progress *p, void *ctx)
{
    seen_norms *s = ctx;
    if (s->n < 16) s->g[s->n] = p->grad_norm;
    s->n++;
}

TEST(freeze_leaves_its_tensors_and_their_gradient)
{
    rl_train_config c = freeze_config();
    c.freeze = "rnn.bias_hh_l*,head.weight"; /* a prefix (both layers) and a whole name */
    size_t n = 0;
    float *p0 = init_params(&c, "freeze-init", &n);
    rl_trainer *t = NULL;
    CHECK_OK(rl_trainer_new(&t, &c, tmp_path("freeze-run")));
    if (!t || !p0) goto out;
    norm_ctx h = {0};
    seen_norms seen = {0};
    int intr = 0;
    rl_trainer_set_hook(t, norm_hook, &h);
    CHECK_OK(rl_trainer_run(t, NULL, &intr, note_norm, &seen));
    const rl_model *m = rl_trainer_model(t);
    const float *p = rl_model_params_const(m);
    int frozen = 0, moved = 0;
    for (int i = 0; i < rl_model_num_tensors(m); i++) {
        const rl_tensor_info *ti = rl_model_tensor(m, i);
        const int same = memcmp(p + ti->offset, p0 + ti->offset, ti->numel * 4) == 0;
        if (frozen_name(ti->name)) {
            CHECK_MSG(same, "%s was frozen and moved", ti->name);
            frozen++;
        } else {
            CHECK_MSG(!same, "%s was not frozen and did not move", ti->name);
            moved++;
        }
    }
    CHECK(frozen == 3 && moved == 7); /* bias_hh of 2 layers and head.weight; the other 7 of 10 */
    /* the norm logged each step is that of the tensors trained, not of all */
    CHECK(h.calls == 10 && seen.n == 10);
    for (int k = 0; k < 10 && k < seen.n; k++) {
        CHECK_MSG(fabs(seen.g[k] - h.norm[k]) <= 1e-6 * h.norm[k], "step %d: logged %.9g, trained tensors' %.9g", k + 1,
                  seen.g[k], h.norm[k]);
        CHECK_MSG(h.full[k] > h.norm[k] * (1 + 1e-6), "step %d: the frozen gradient is 0 (%.9g, %.9g)", k + 1, h.full[k],
                  h.norm[k]);
    }
    /* the run records it */
    rl_train_config rc = rl_trainer_config(t);
    CHECK(rc.freeze && strcmp(rc.freeze, c.freeze) == 0);
out:
    rl_trainer_free(t);
    free(p0);
}

/* Both sides of each rule, before anything is written. */
TEST(freeze_refuses_what_it_cannot_do)
{
    static const struct {
        const char *freeze;
        int ridge, orth;
        const char *says; /* NULL: accepted */
    } cases[] = {
        {"rnn.weight_ih_l0", 0, 0, NULL},
        {"rnn.weight_ih_l0*", 0, 0, NULL},
        {"rnn.*,head.weight", 0, 0, NULL},            /* head.bias is left */
        {"rnn.weight_ih_l", 0, 0, "names no trained tensor"}, /* a prefix needs its star */
        {"rnn.nope", 0, 0, "'rnn.nope' names no trained tensor of this model (rnn.weight_ih_l0, "},
        {" rnn.bias_hh_l0 ,\thead.bias", 0, 0, NULL}, /* spaces around a name are not part of it */
        {"rnn.bias_hh_l0,,head.bias", 0, 0, "an empty name"},
        {"rnn.bias_hh_l0, ", 0, 0, "an empty name"},
        {",", 0, 0, "an empty name"},
        {"*", 0, 0, "leaves no tensor to train"},
        {"rnn.*,head.*", 0, 0, "leaves no tensor to train"},
        {"head.bias", 1, 0, "--freeze is for --readout bptt"},
        {"rnn.parametrizations.weight_hh_l0.original", 0, 1, NULL},
        {"rnn.parametrizations.weight_hh_l0.0.base", 0, 1, "names no trained tensor"}, /* fixed already */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rl_train_config c = freeze_config();
        c.layers = 1, c.freeze = cases[i].freeze;
        if (cases[i].ridge) c.cell = RL_CELL_TANH, c.readout = RL_READOUT_RIDGE, c.washout = 2;
        if (cases[i].orth) c.cell = RL_CELL_TANH, c.orthogonal = RL_ORTH_CAYLEY;
        char name[64];
        snprintf(name, sizeof name, "freeze-case-%zu", i);
        const char *dir = tmp_path(name);
        rl_trainer *t = NULL;
        rl_status s = rl_trainer_new(&t, &c, dir);
        struct stat sb;
        if (!cases[i].says) {
            CHECK_MSG(s == RL_OK, "--freeze %s: %s", cases[i].freeze, rl_errmsg());
        } else {
            CHECK_MSG(s == RL_ERR_ARG && strstr(rl_errmsg(), cases[i].says), "--freeze %s: %d %s", cases[i].freeze, (int)s,
                      rl_errmsg());
            CHECK_MSG(stat(dir, &sb) != 0, "--freeze %s made %s", cases[i].freeze, dir);
        }
        rl_trainer_free(t);
    }
}

/* A run stopped and resumed ends where the whole run does, the frozen
 * tensors still at the init. */
TEST(freeze_survives_a_resume)
{
    rl_train_config c = freeze_config();
    c.freeze = "rnn.weight_hh_l1,head.bias", c.steps = 12, c.ckpt_every = 6;
    size_t n = 0;
    float *p0 = init_params(&c, "freeze-resume-init", &n);
    rl_trainer *whole = TEST_TRAIN(&c, tmp_path("freeze-whole"));
    c.steps = 6;
    rl_trainer *half = TEST_TRAIN(&c, tmp_path("freeze-half"));
    rl_trainer_free(half);
    rl_trainer *rest = NULL;
    CHECK_OK(rl_trainer_resume(&rest, tmp_path("freeze-half"), 12));
    if (rest) TEST_RUN(rest);
    if (whole && rest && p0) {
        const rl_model *a = rl_trainer_model(whole), *b = rl_trainer_model(rest);
        CHECK(rl_trainer_step(rest) == 12);
        CHECK(memcmp(rl_model_params_const(a), rl_model_params_const(b), n * 4) == 0);
        const rl_tensor_info *w = tensor(b, "rnn.weight_hh_l1"), *hb = tensor(b, "head.bias");
        const float *p = rl_model_params_const(b);
        CHECK(w && hb && memcmp(p + w->offset, p0 + w->offset, w->numel * 4) == 0 &&
              memcmp(p + hb->offset, p0 + hb->offset, hb->numel * 4) == 0);
        rl_train_config rc = rl_trainer_config(rest);
        CHECK(rc.freeze && strcmp(rc.freeze, "rnn.weight_hh_l1,head.bias") == 0);
    }
    rl_trainer_free(whole);
    rl_trainer_free(rest);
    free(p0);
}

/* Flossing's own optimizer leaves them too: a frozen W_hh is the init's
 * after the episodes. */
TEST(freeze_holds_through_flossing)
{
    rl_train_config c = freeze_config();
    c.cell = RL_CELL_TANH, c.layers = 1, c.floss = 2, c.floss_steps = 4, c.floss_every = 5, c.floss_batch = 2;
    c.freeze = "rnn.weight_hh_l0";
    size_t n = 0;
    float *p0 = init_params(&c, "freeze-floss-init", &n);
    rl_trainer *t = TEST_TRAIN(&c, tmp_path("freeze-floss"));
    if (t && p0) {
        const rl_model *m = rl_trainer_model(t);
        const rl_tensor_info *w = tensor(m, "rnn.weight_hh_l0"), *wi = tensor(m, "rnn.weight_ih_l0");
        const float *p = rl_model_params_const(m);
        CHECK(w && memcmp(p + w->offset, p0 + w->offset, w->numel * 4) == 0);
        CHECK(wi && memcmp(p + wi->offset, p0 + wi->offset, wi->numel * 4) != 0);
    }
    rl_trainer_free(t);
    free(p0);
}

/* A bound that clips what an update left (IndRNN's |u| <= R) does not move
 * a frozen u either: one started above R by --init-from stays there. */
TEST(freeze_holds_against_the_recurrent_bound)
{
    rl_train_config c = freeze_config();
    c.cell = RL_CELL_INDRNN, c.layers = 1, c.init.recurrent_max = 1, c.save_init = 0;
    rl_trainer *first = TEST_TRAIN(&c, tmp_path("freeze-indrnn-1")); /* u ~ U(0, 1), and trained */
    rl_trainer_free(first);
    char from[1100];
    snprintf(from, sizeof from, "%s/model.safetensors", tmp_path("freeze-indrnn-1"));
    c.init.recurrent_max = 0.25, c.init_from = from, c.freeze = "rnn.weight_hh_l0";
    size_t n = 0;
    float *p0 = init_params(&c, "freeze-indrnn-init", &n);
    rl_trainer *t = TEST_TRAIN(&c, tmp_path("freeze-indrnn-2"));
    if (t && p0) {
        const rl_model *m = rl_trainer_model(t);
        const rl_tensor_info *u = tensor(m, "rnn.weight_hh_l0");
        const float *p = rl_model_params_const(m);
        int above = 0;
        for (size_t i = 0; u && i < u->numel; i++) above += fabsf(p0[u->offset + i]) > 0.25f;
        CHECK_MSG(above > 0, "no |u| above the bound to hold");
        CHECK(u && memcmp(p + u->offset, p0 + u->offset, u->numel * 4) == 0);
    }
    rl_trainer_free(t);
    free(p0);
}

/* The dry run checks the names (a sweep's points are checked before any runs). */
TEST(freeze_dry_run_checks_the_names)
{
    const char *bad[] = {"rnnlab", "train", "--cell", "gru", "--layers", "2", "--freeze", "rnn.weight_hh_l2", "--dry-run", NULL};
    char e[512];
    int rc = run_cli(bad, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(rc == 2 && strstr(e, "'rnn.weight_hh_l2' names no trained tensor of this model (rnn.weight_ih_l0, "), "%d: %s",
              rc, e);
    const char *good[] = {"rnnlab", "train", "--cell", "gru", "--layers", "2", "--freeze", "rnn.weight_hh_l1", "--dry-run", NULL};
    rc = run_cli(good, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(rc == 0, "%d: %s", rc, e);
}
