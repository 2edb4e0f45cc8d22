/* Recipes (src/train/recipes.c): each sound; a recipe's settings for the
 * task and T, overridden by the options given besides it wherever they
 * stand; the record in the run folder; the docs' copy of the table. */
#include "train/run.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The library's row of an option, by its key. */
static const rl_option *row(const char *name)
{
    const rl_option *o = rl_option_find(name);
    CHECK_MSG(o != NULL, "no row %s", name);
    return o;
}

/* Every recipe: its keys options of train, each setting with a source,
 * parsing for every task at every T; the option's names are the table's. */
TEST(recipes_are_sound)
{
    CHECK(rl_recipe_count() >= 11 && rl_recipe_at(rl_recipe_count()) == NULL && rl_recipe_at(-1) == NULL);
    CHECK(rl_recipe_names.count == rl_recipe_count() + 1 && strcmp(rl_recipe_names.names[0], "none") == 0);
    const char *want[] = {"indrnn", "irnn", "chrono-lstm", "lstm-fb1", "exprnn", "scornn", "omega", "floss", "lru", "mingru"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int v = -1;
        CHECK_MSG(rl_names_parse(&rl_recipe_names, want[k], &v) == RL_OK && v > 0, "no recipe %s", want[k]);
    }
    for (int i = 0; i < rl_recipe_count(); i++) {
        const rl_recipe *r = rl_recipe_at(i);
        CHECK(strcmp(rl_recipe_names.names[i + 1], r->name) == 0);
        CHECK_MSG(r->paper && r->code && r->gaps && *r->gaps && r->num_settings > 0, "%s", r->name);
        CHECK_MSG(rl_recipe_check(i) == RL_OK, "%s: %s", r->name, rl_errmsg());
        /* the cell is always set: a recipe is a model as well as its training */
        int cell = 0;
        for (int k = 0; k < r->num_settings; k++) cell |= strcmp(r->settings[k].key, "cell") == 0;
        CHECK_MSG(cell, "%s sets no cell", r->name);
    }
    /* a broken recipe is found: one that names no option */
    rl_train_config c = rl_train_defaults();
    CHECK(rl_recipe_apply(&c, rl_recipe_count()) == RL_ERR_ARG && rl_recipe_check(-1) == RL_ERR_ARG);
}

/* Setting the recipe row sets its settings for the task and T set before
 * it: a task's own (chrono-lstm's T_max), a longer T's (irnn's rate), and
 * the values from T (indrnn's bounds). */
TEST(recipe_settings_for_the_task_and_T)
{
    rl_train_config c = rl_train_defaults();
    CHECK_OK(rl_option_parse(&c, row("seq_len"), "500"));
    CHECK_OK(rl_option_parse(&c, row("recipe"), "indrnn"));
    CHECK(c.recipe > 0 && c.cell == RL_CELL_INDRNN && c.layers == 2 && c.hidden == 128 && c.batch == 32 && c.clip == 0);
    CHECK(c.init.zero_bias == 1 && c.init.input_scale == 0.00173 && c.sched.kind == RL_SCHED_STEP && c.sched.step_size == 20000);
    CHECK(fabs(c.init.recurrent_min - pow(2.0, -1.0 / 500)) < 1e-15 && fabs(c.init.recurrent_max - pow(2.0, 1.0 / 500)) < 1e-15);
    CHECK(c.optim.kind == RL_OPT_ADAM && c.sched.lr == 2e-4 && c.steps == 60000);
    CHECK_OK(rl_train_config_check(&c));
    /* chrono-lstm: T_max = 3T/2 on copy, T elsewhere */
    rl_train_config a = rl_train_defaults(), b = rl_train_defaults();
    b.task = RL_TASK_COPY;
    a.seq_len = b.seq_len = 200;
    CHECK_OK(rl_option_parse(&a, row("recipe"), "chrono-lstm"));
    CHECK_OK(rl_option_parse(&b, row("recipe"), "chrono-lstm"));
    CHECK(a.init.kind == RL_INIT_CHRONO && a.init.t_max == 200 && b.init.t_max == 300);
    CHECK(a.optim.kind == RL_OPT_RMSPROP && a.optim.alpha == 0.9 && a.sched.lr == 1e-3 && a.batch == 32);
    /* irnn: 2e-4 below T = 500, 1e-5 from there */
    for (int T = 499; T <= 500; T++) {
        rl_train_config t = rl_train_defaults();
        t.seq_len = T;
        CHECK_OK(rl_option_parse(&t, row("recipe"), "irnn"));
        CHECK_MSG(t.sched.lr == (T < 500 ? 2e-4 : 1e-5), "T = %d: lr %g", T, t.sched.lr);
        CHECK(t.init.kind == RL_INIT_IDENTITY && t.cell == RL_CELL_RELU);
    }
    /* an optimizer's own fields after it: scornn's RMSprop keeps its alpha and eps on copy */
    rl_train_config s = rl_train_defaults();
    s.task = RL_TASK_COPY;
    CHECK_OK(rl_option_parse(&s, row("recipe"), "scornn"));
    CHECK(s.optim.kind == RL_OPT_RMSPROP && s.optim.alpha == 0.9 && s.optim.eps == 1e-10 && s.orthogonal == RL_ORTH_CAYLEY &&
          s.orthogonal_lr == 1e-4 && s.hidden == 190 && s.batch == 20);
    s.task = RL_TASK_ADDING;
    CHECK_OK(rl_option_parse(&s, row("recipe"), "scornn"));
    CHECK(s.optim.kind == RL_OPT_ADAM && s.hidden == 170 && s.batch == 50);
    /* a derived value as text */
    char v[64];
    rl_recipe_setting d = {"t_max", NULL, 0, "3T/2", "x"};
    rl_recipe_value(&d, 1000, v, sizeof v);
    CHECK(strcmp(v, "1500") == 0);
    CHECK(rl_recipe_setting_holds(&(rl_recipe_setting){"lr", "copy adding", 0, "1", "x"}, RL_TASK_ADDING, 5) &&
          !rl_recipe_setting_holds(&(rl_recipe_setting){"lr", "copy", 0, "1", "x"}, RL_TASK_ADDING_HS97, 5) &&
          !rl_recipe_setting_holds(&(rl_recipe_setting){"lr", NULL, 10, "1", "x"}, RL_TASK_ADDING, 9));
}

/* A run's JSON reads back to the same configuration: the recipe is applied
 * again, then the keys after it, which hold what was given over it. */
TEST(recipe_config_round_trips)
{
    rl_train_config c = rl_train_defaults();
    c.seq_len = 300;
    CHECK_OK(rl_option_parse(&c, row("recipe"), "lstm-fb1"));
    CHECK_OK(rl_option_parse(&c, row("lr"), "0.003"));
    CHECK_OK(rl_option_parse(&c, row("hidden"), "17"));
    cJSON *j = rl_train_config_json(&c);
    rl_train_config back;
    CHECK_OK(rl_train_config_from_json(j, &back));
    for (int i = 0; i < rl_option_count(); i++) {
        char a[96], b[96];
        rl_option_format(&c, rl_option_at(i), a, sizeof a);
        rl_option_format(&back, rl_option_at(i), b, sizeof b);
        CHECK_MSG(strcmp(a, b) == 0, "%s: %s, read back %s", rl_option_at(i)->name, a, b);
    }
    CHECK(back.sched.lr == 0.003 && back.hidden == 17 && back.init.forget_bias == 1 && back.batch == 32);
    cJSON_Delete(j);
}

/* rnnlab train --recipe: the options given override the recipe's settings
 * whether they come before or after it; config.json names the recipe and
 * recipe.json holds each setting, the value used and its source. */
TEST(cli_train_recipe_overridden_anywhere)
{
    char run[1100], path[1200];
    snprintf(run, sizeof run, "%s/recipe-run", test_tmpdir);
    const char *argv[] = {"rnnlab", "train", "--lr", "0.003", "--hidden", "8", "--recipe", "indrnn", "--seq-len", "20",
                          "--steps", "2", "--eval-every", "0", "--quiet", "--out", run, NULL};
    CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(path, sizeof path, "%s/config.json", run);
    size_t n = 0;
    unsigned char *txt = read_file(path, &n);
    cJSON *j = txt ? cJSON_Parse((char *)txt) : NULL;
    rl_train_config c;
    CHECK_OK(rl_train_config_from_json(j, &c));
    CHECK(c.recipe > 0 && c.cell == RL_CELL_INDRNN && c.layers == 2 && c.batch == 32 && c.sched.lr == 0.003 && c.hidden == 8 &&
          c.steps == 2 && c.init.zero_bias == 1);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "recipe");
    CHECK(cJSON_IsString(name) && strcmp(name->valuestring, "indrnn") == 0);
    cJSON_Delete(j);
    free(txt);
    snprintf(path, sizeof path, "%s/recipe.json", run);
    txt = read_file(path, &n);
    j = txt ? cJSON_Parse((char *)txt) : NULL;
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(j, "overridden"), *set = cJSON_GetObjectItemCaseSensitive(j, "settings");
    CHECK(cJSON_GetArraySize(over) == 3 && cJSON_GetArraySize(set) == 16);
    int lr = 0, kept = 0;
    for (const cJSON *e = set ? set->child : NULL; e; e = e->next) {
        const char *key = cJSON_GetObjectItemCaseSensitive(e, "key")->valuestring,
                   *want = cJSON_GetObjectItemCaseSensitive(e, "recipe")->valuestring,
                   *used = cJSON_GetObjectItemCaseSensitive(e, "used")->valuestring;
        CHECK(strlen(cJSON_GetObjectItemCaseSensitive(e, "source")->valuestring) > 5);
        if (strcmp(key, "lr") == 0) lr = strcmp(want, "0.0002") == 0 && strcmp(used, "0.003") == 0;
        if (strcmp(key, "batch") == 0) kept = strcmp(want, "32") == 0 && strcmp(used, "32") == 0;
    }
    CHECK(lr && kept);
    cJSON_Delete(j);
    free(txt);
    /* no recipe, no recipe.json */
    snprintf(run, sizeof run, "%s/recipe-none", test_tmpdir);
    const char *plain[] = {"rnnlab", "train", "--seq-len", "5", "--hidden", "4", "--steps", "1", "--quiet", "--out", run, NULL};
    CHECK(run_cli(plain, NULL, NULL, 0, NULL, 0) == 0);
    snprintf(path, sizeof path, "%s/recipe.json", run);
    CHECK(read_file(path, &n) == NULL);
    /* an unknown one: one line, exit 2 */
    char e[512];
    const char *bad[] = {"rnnlab", "train", "--recipe", "lstm-fb2", "--out", run, NULL};
    CHECK(run_cli(bad, NULL, NULL, 0, e, sizeof e) == 2 && strstr(e, "unknown recipe 'lstm-fb2' (choose from none, indrnn") &&
          run_cli_err_lines() == 1);
}

/* docs/training.md holds the table of `rnnlab train --recipes` as printed. */
TEST(training_doc_has_the_recipes)
{
    const char *argv[] = {"rnnlab", "train", "--recipes", NULL};
    size_t n = 0;
    unsigned char *table = CHECK_DOC_HOLDS_OUTPUT(argv, "docs/training.md", 3000, "the recipes differ", &n);
    for (int i = 0; table && i < rl_recipe_count(); i++) {
        char head[96];
        snprintf(head, sizeof head, "### `--recipe %s`", rl_recipe_at(i)->name);
        CHECK_MSG(strstr((char *)table, head), "%s is not printed", head);
    }
    free(table);
}
