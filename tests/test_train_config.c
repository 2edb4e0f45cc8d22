/* The training configuration's table (the library's rows of the option
 * table): values through the parser and JSON, the docs' copy of it, and
 * rnnlab train's options from it. */
#include "train/run.h"
#include "test.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Every row: a value other than the default survives config -> JSON -> config,
 * and no two rows share a field. */
TEST(train_config_table_round_trips)
{
    const int n = rl_option_count();
    rl_train_config def = rl_train_defaults(), c = def;
    CHECK(n >= 40 && rl_option_at(n) == NULL && rl_option_at(-1) == NULL);
    CHECK_OK(rl_train_config_check(&def));
    c.task = RL_TASK_TEXT; /* so that text_path and k1 are consistent */
    c.optim.kind = RL_OPT_SGD;
    char want[128][64], got[64];
    CHECK(n <= 128);
    for (int i = 0; i < n && i < 128; i++) {
        const rl_option *f = rl_option_at(i);
        CHECK(rl_option_find(f->name) == f && strchr(f->flag, '_') == NULL && f->help && f->group);
        for (int k = 0; k < i; k++) CHECK_MSG(rl_option_at(k)->offset != f->offset, "%s and %s share a field", f->name, rl_option_at(k)->name);
        switch (f->type) {
        case RL_FIELD_INT:
        case RL_FIELD_INT64: { /* lo + 1, or lo + 2 where lo + 1 is the default (--horizon) */
            long long v = (long long)(f->lo + 1 < f->hi ? f->lo + 1 : f->lo);
            char d[64];
            rl_option_format(&def, f, d, sizeof d);
            snprintf(got, sizeof got, "%lld", v);
            if (strcmp(got, d) == 0) snprintf(got, sizeof got, "%lld", v + 1);
            break;
        }
        case RL_FIELD_DOUBLE: snprintf(got, sizeof got, "%.17g", f->lo + (f->hi - f->lo) / 3); break;
        case RL_FIELD_BOOL: snprintf(got, sizeof got, "%s", f->num_choices ? rl_option_choice(f, 1) : "1"); break;
        case RL_FIELD_ENUM: snprintf(got, sizeof got, "%s", rl_option_choice(f, f->num_choices - 1)); break;
        case RL_FIELD_PATH:
        case RL_FIELD_TEXT: break;
        case RL_FIELD_SEED: snprintf(got, sizeof got, "18446744073709551615"); break;
        case RL_FIELD_RANGE: snprintf(got, sizeof got, "%.17g,%.17g", f->lo + (f->hi - f->lo) / 3, f->lo + (f->hi - f->lo) / 2); break;
        }
        if (f->offset == offsetof(rl_train_config, optim.kind)) continue; /* it would reset the fields set before */
        if (f->offset == offsetof(rl_train_config, task) || f->offset == offsetof(rl_train_config, seq_len)) continue;
        const char *v = f->type == RL_FIELD_PATH ? "some/text.txt" : got; /* c keeps a path's pointer */
        CHECK_MSG(rl_option_parse(&c, f, v) == RL_OK, "%s = %s: %s", f->name, v, rl_errmsg());
    }
    c.k1 = 3;
    for (int i = 0; i < n && i < 128; i++) {
        const rl_option *f = rl_option_at(i);
        rl_option_format(&c, f, want[i], sizeof want[i]);
        rl_option_format(&def, f, got, sizeof got);
        int fixed = f->offset == offsetof(rl_train_config, optim.kind) || f->offset == offsetof(rl_train_config, seq_len);
        CHECK_MSG(fixed || strcmp(want[i], got) != 0, "%s: still the default %s", f->name, got);
    }
    cJSON *j = rl_train_config_json(&c);
    rl_train_config back;
    CHECK_OK(rl_train_config_from_json(j, &back));
    for (int i = 0; i < n && i < 128; i++) {
        rl_option_format(&back, rl_option_at(i), got, sizeof got);
        CHECK_MSG(strcmp(want[i], got) == 0, "%s: wrote %s, read %s", rl_option_at(i)->name, want[i], got);
    }
    cJSON_Delete(j);
}

TEST(train_config_parse_and_json_values)
{
    rl_train_config c = rl_train_defaults();
    const rl_option *lr = rl_option_find("lr"), *nf = rl_option_find("skip_nonfinite"),
                         *opt = rl_option_find("optim"), *wd = rl_option_find("weight_decay"),
                         *seed = rl_option_find("seed"), *hid = rl_option_find("hidden");
    CHECK(lr && nf && opt && wd && seed && hid && rl_option_find("no_such") == NULL);
    if (!lr || !nf || !opt || !wd || !seed || !hid) return;
    CHECK(rl_option_parse(&c, lr, "-1") == RL_ERR_ARG && strstr(rl_errmsg(), "--lr = -1 is out of range"));
    CHECK(rl_option_parse(&c, lr, "1e-3x") == RL_ERR_ARG && strstr(rl_errmsg(), "--lr expects a finite number"));
    CHECK(rl_option_parse(&c, hid, "12.5") == RL_ERR_ARG && strstr(rl_errmsg(), "--hidden expects an integer"));
    CHECK(rl_option_parse(&c, nf, "pray") == RL_ERR_ARG && strstr(rl_errmsg(), "--on-nonfinite must be stop or skip"));
    CHECK(rl_option_parse(&c, opt, "lion") == RL_ERR_ARG && strstr(rl_errmsg(), "unknown optimizer 'lion'"));
    CHECK(rl_option_parse(&c, seed, "-1") == RL_ERR_ARG && strstr(rl_errmsg(), "non-negative"));
    /* an optimizer brings its own defaults */
    CHECK_OK(rl_option_parse(&c, opt, "adamw"));
    CHECK(c.optim.kind == RL_OPT_ADAMW && c.optim.weight_decay == 0.01);
    CHECK_OK(rl_option_parse(&c, wd, "0.5"));
    CHECK_OK(rl_option_parse(&c, nf, "skip"));
    CHECK(c.optim.weight_decay == 0.5 && c.skip_nonfinite == 1);
    /* seeds: a JSON number where that is exact, a string above 2^53; both read */
    const uint64_t seeds[3] = {9007199254740991ull, 9007199254740992ull, UINT64_MAX};
    for (int k = 0; k < 3; k++) {
        c.seed = seeds[k];
        cJSON *j = rl_train_config_json(&c);
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "seed");
        CHECK(k == 0 ? cJSON_IsNumber(v) : cJSON_IsString(v));
        rl_train_config back;
        CHECK_OK(rl_train_config_from_json(j, &back));
        CHECK(back.seed == seeds[k]);
        cJSON_Delete(j);
    }
    struct { const char *json; rl_status s; const char *frag; } cases[] = {
        {"{\"seed\": \"12\"}", RL_OK, NULL},
        {"{\"seed\": 12}", RL_OK, NULL},
        {"{\"seed\": 9007199254740992}", RL_ERR_FORMAT, "seed must be an integer"},
        {"{\"seed\": \"12x\"}", RL_ERR_FORMAT, "seed must be an integer"},
        {"{\"hidden\": 1e300}", RL_ERR_FORMAT, "hidden = 1e+300 is out of range [1, 65536]"},
        {"{\"hidden\": 12.5}", RL_ERR_FORMAT, "hidden = 12.5 is not an integer"},
        {"{\"hidden\": \"12\"}", RL_ERR_FORMAT, "hidden must be a number"},
        {"{\"zero_bias\": 2}", RL_ERR_FORMAT, "zero_bias must be 0 or 1"},
        {"{\"zero_bias\": true}", RL_OK, NULL},
        {"{\"cell\": \"lstn\"}", RL_ERR_FORMAT, "unknown cell 'lstn'"},
        {"{\"gradient_flossing\": 1}", RL_ERR_FORMAT, "the option 'gradient_flossing' is unknown to this version"},
        {"{\"batch\": 4, \"batch\": 5}", RL_ERR_FORMAT, "'batch' is given twice"},
        {"[1]", RL_ERR_FORMAT, "not a JSON object"},
        {"{}", RL_OK, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        rl_train_config back;
        rl_status s = rl_train_config_from_json(j, &back);
        CHECK_MSG(s == cases[i].s && (!cases[i].frag || strstr(rl_errmsg(), cases[i].frag)), "%s: %d, '%s'", cases[i].json,
                  (int)s, rl_errmsg());
        cJSON_Delete(j);
    }
    /* a missing key keeps its default, and an optimizer's own defaults apply */
    cJSON *j = cJSON_Parse("{\"optim\": \"adagrad\", \"batch\": 7}");
    rl_train_config back;
    CHECK_OK(rl_train_config_from_json(j, &back));
    CHECK(back.batch == 7 && back.hidden == 128 && back.optim.kind == RL_OPT_ADAGRAD && back.optim.eps == 1e-10);
    cJSON_Delete(j);
    /* the checks a library caller gets */
    c = rl_train_defaults();
    c.hidden = 0;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "hidden = 0 is out of range"));
    c = rl_train_defaults();
    c.text_path = "x.txt";
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "--data is for --task text"));
    c = rl_train_defaults();
    c.sched.lr = NAN;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "lr = nan is not finite"));
}

/* docs/training.md holds the table of `rnnlab train --config-fields` as printed. */
TEST(training_doc_has_the_config_table)
{
    const char *argv[] = {"rnnlab", "train", "--config-fields", NULL};
    size_t n = 0;
    unsigned char *table = CHECK_DOC_HOLDS_OUTPUT(argv, "docs/training.md", 1000, "the configuration's table differs", &n);
    /* one line a field, and every option of --help in it */
    int lines = 0;
    for (size_t i = 0; table && i < n; i++) lines += table[i] == '\n';
    CHECK(lines == rl_option_count() + 2);
    free(table);
}

/* The options come from the table: an optimizer's options may come before it;
 * config.json holds what was given; --resume refuses steps behind the run. */
TEST(cli_train_options_from_the_table)
{
    char run[1100], cfgp[1200];
    snprintf(run, sizeof run, "%s/cli-table", test_tmpdir);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", run);
    const char *train[] = {"rnnlab", "train", "--momentum", "0.9", "--nesterov", "--optim", "sgd", "--seq-len", "10",
                           "--hidden", "4", "--batch", "2", "--steps", "6", "--schedule", "cosine", "--seed", "77",
                           "--on-nonfinite", "skip", "--quiet", "--out", run, NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    size_t n = 0;
    unsigned char *txt = read_file(cfgp, &n);
    cJSON *j = txt ? cJSON_Parse((char *)txt) : NULL;
    rl_train_config c;
    CHECK_OK(rl_train_config_from_json(j, &c));
    CHECK(c.optim.kind == RL_OPT_SGD && c.optim.momentum == 0.9 && c.optim.nesterov == 1 && c.sched.total == 6 &&
          c.seed == 77 && c.skip_nonfinite == 1 && c.hidden == 4);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "seed")));
    cJSON_Delete(j);
    free(txt);
    struct { const char *argv[12]; int status; const char *frag; } cases[] = {
        {{"rnnlab", "train", "--resume", run, "--steps", "3", NULL}, 2, "is at step 6, past the 3 steps asked for"},
        {{"rnnlab", "train", "--out", cfgp, NULL}, 2, "exists and is not a folder"},
        {{"rnnlab", "train", "--decay-steps", "-1", "--out", run, NULL}, 2, "--decay-steps = -1 is out of range"},
        {{"rnnlab", "train", "--zero-bias", "--zero-bias", "--out", run, NULL}, 2, "given twice"},
        {{"rnnlab", "train", "--resume", run, "--seed", "1", NULL}, 2, "--resume takes only --steps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[512];
        int st = run_cli(cases[i].argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(st == cases[i].status && strstr(e, cases[i].frag) && run_cli_err_lines() == 1, "case %zu: exit %d, '%s'", i,
                  st, e);
    }
}

/* An lru's options (its state size, output nonlinearity and ring) are
 * refused with any other cell, and the ring's radii in order. */
TEST(train_config_lru_options)
{
    rl_train_config c = rl_train_defaults();
    c.cell = RL_CELL_LRU, c.state_size = 32, c.activation = RL_ACT_TANH, c.init.r_min = 0.5, c.init.r_max = 0.9;
    CHECK_OK(rl_train_config_check(&c));
    c.init.r_min = 0.95;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG && strstr(rl_errmsg(), "--r-min 0.95 is above --r-max 0.9"));
    c.init.r_max = 0, c.init.r_min = 0.999; /* above the default r_max 0.999? equal: allowed */
    CHECK_OK(rl_train_config_check(&c));
    c.init.r_min = 0.9995;
    CHECK(rl_train_config_check(&c) == RL_ERR_ARG);
    const char *names[] = {"state-size", "activation", "r-min", "r-max", "max-phase"};
    for (int k = 0; k < 5; k++) {
        rl_train_config t = rl_train_defaults();
        t.cell = RL_CELL_GRU;
        if (k == 0) t.state_size = 8;
        if (k == 1) t.activation = RL_ACT_RELU;
        if (k == 2) t.init.r_min = 0.5;
        if (k == 3) t.init.r_max = 0.5;
        if (k == 4) t.init.max_phase = 1;
        char want[64];
        snprintf(want, sizeof want, "--%s is for --cell lru", names[k]);
        CHECK_MSG(rl_train_config_check(&t) == RL_ERR_ARG && strstr(rl_errmsg(), want), "%s: %s", names[k], rl_errmsg());
    }
}
