/* The tables that name things: every enum's names (rl_names) and the
 * options of every command. */
#include "test.h"

#include "cli.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(names_every_enum_round_trips)
{
    const rl_names *tables[] = {&rl_cell_names,  &rl_loss_names,  &rl_dtype_names,   &rl_orth_names,
                                &rl_init_names,  &rl_input_names, &rl_state_names,   &rl_task_names,
                                &rl_optim_names, &rl_sched_names, &rl_readout_names, &rl_omega_form_names};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const rl_names *n = tables[t];
        CHECK_MSG(n->count >= 2 && n->what && *n->what, "table %zu", t);
        for (int i = 0; i < n->count; i++) {
            int v = -1;
            const char *name = rl_names_get(n, i);
            CHECK_MSG(name && rl_names_parse(n, name, &v) == RL_OK && v == i, "%s %d ('%s') -> %d", n->what, i,
                      name ? name : "(null)", v);
            for (int k = 0; k < i; k++) CHECK_MSG(strcmp(name, n->names[k]) != 0, "%s: '%s' twice", n->what, name);
        }
        CHECK(rl_names_get(n, -1) == NULL && rl_names_get(n, n->count) == NULL);
        int v = 7;
        CHECK(rl_names_parse(n, "no-such-name", &v) == RL_ERR_ARG && v == 7);
        CHECK_MSG(strstr(rl_errmsg(), "unknown ") && strstr(rl_errmsg(), n->what) && strstr(rl_errmsg(), n->names[0]),
                  "'%s'", rl_errmsg());
    }
    /* the pairs are the tables' */
    for (int i = 0; i < RL_CELL_COUNT; i++) CHECK(strcmp(rl_cell_name((rl_cell)i), rl_cell_names.names[i]) == 0);
    for (int i = 0; i < RL_TASK_COUNT; i++) CHECK(strcmp(rl_task_name((rl_task_kind)i), rl_task_names.names[i]) == 0);
    CHECK(rl_optim_name(RL_OPT_COUNT) == NULL && rl_cell_name(RL_CELL_COUNT) == NULL);
    rl_optim_kind k = RL_OPT_SGD;
    CHECK(rl_optim_parse("adamw", &k) == RL_OK && k == RL_OPT_ADAMW);
    CHECK(rl_optim_parse("adamx", &k) == RL_ERR_ARG && k == RL_OPT_ADAMW);
    CHECK(strcmp(rl_errmsg(), "unknown optimizer 'adamx' (choose from sgd, adagrad, rmsprop, adam, adamw)") == 0);
}

/* ------------------------------------------------------------------ the option table */

/* A value row o takes (NULL: a flag without one): the bottom of its range,
 * its last choice, a path, a text. */
static const char *sample(const rl_option *o, char *buf, size_t n)
{
    switch (o->type) {
    case RL_FIELD_INT:
    case RL_FIELD_INT64: snprintf(buf, n, "%lld", (long long)o->lo); return buf;
    case RL_FIELD_DOUBLE: snprintf(buf, n, "%.17g", o->lo); return buf;
    case RL_FIELD_BOOL: return o->choices ? rl_option_choice(o, 1) : NULL;
    case RL_FIELD_ENUM: return rl_option_choice(o, o->num_choices - 1);
    case RL_FIELD_PATH: return "some/file.safetensors";
    case RL_FIELD_TEXT: return "some words";
    case RL_FIELD_SEED: return "18446744073709551615";
    case RL_FIELD_RANGE: snprintf(buf, n, "%.17g,%.17g", o->lo, o->lo); return buf;
    }
    return NULL;
}

/* Parse argv as command k in-process, stdout and stderr into files of the
 * temporary folder (err: the first line of stderr); cli_parse's result. */
static int parse_quietly(const cli_command *k, int argc, char **argv, cli_ctx *c, cli_args *a, char *err, size_t n)
{
    fflush(stdout), fflush(stderr);
    int o = dup(1), e = dup(2), fo = open(tmp_path("parse.stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644),
        fe = open(tmp_path("parse.stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo >= 0) dup2(fo, 1), close(fo);
    if (fe >= 0) dup2(fe, 2), close(fe);
    *c = (cli_ctx){.spec = k};
    int r = cli_parse(c, argc, argv, a);
    fflush(stdout), fflush(stderr);
    dup2(o, 1), dup2(e, 2), close(o), close(e);
    size_t len = 0;
    char *t = (char *)read_file(tmp_path("parse.stderr"), &len);
    snprintf(err, n, "%.*s", t ? (int)strcspn(t, "\n") : 0, t ? t : "");
    free(t);
    return r;
}

/* The rows themselves: keys unique, flags spelled as options, a help line,
 * choices where there are names, every command they name a command, and
 * no command with two rows of one flag. */
TEST(options_table_rows_are_whole)
{
    const int n = cli_option_count();
    CHECK(n > rl_option_count() + 40 && cli_option_at(n) == NULL && cli_option_at(-1) == NULL);
    for (int i = 0; i < n; i++) {
        const rl_option *o = cli_option_at(i);
        CHECK_MSG(o->name && o->flag && o->flag[0] != '-' && !strchr(o->flag, '_') && !strchr(o->flag, ' '), "row %d", i);
        CHECK_MSG(o->help && *o->help && o->group && *o->group && o->commands && *o->commands, "%s", o->name);
        CHECK_MSG(cli_option_index(o->name) == i, "two rows are named %s", o->name);
        if (o->type == RL_FIELD_ENUM || (o->type == RL_FIELD_BOOL && o->arg))
            CHECK_MSG(o->choices && o->choices->count == o->num_choices && o->num_choices == (o->type == RL_FIELD_BOOL ? 2 : o->num_choices) &&
                      o->num_choices >= 2, "%s: its choices", o->name);
        if (o->type == RL_FIELD_BOOL && !o->arg) CHECK_MSG(!o->choices, "%s: a flag with names", o->name);
        if (o->type == RL_FIELD_INT || o->type == RL_FIELD_INT64 || o->type == RL_FIELD_DOUBLE || o->type == RL_FIELD_RANGE)
            CHECK_MSG(o->lo <= o->hi && o->arg, "%s: range [%g, %g]", o->name, o->lo, o->hi);
        /* every word of commands is a command */
        char words[256];
        snprintf(words, sizeof words, "%s", o->commands);
        for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) CHECK_MSG(cli_command_named(w), "%s: no command '%s'", o->name, w);
        for (int k = 0; k < i; k++) {
            const rl_option *p = cli_option_at(k);
            if (strcmp(p->flag, o->flag) != 0) continue;
            for (int c = 0; c < cli_command_count(); c++) {
                const char *cmd = cli_command_at(c)->spec->name;
                CHECK_MSG(!(rl_option_takes(o, cmd) && rl_option_takes(p, cmd)), "rnnlab %s has two rows for --%s", cmd, o->flag);
            }
        }
    }
    /* rl_option_takes is by whole words */
    const rl_option *seed = cli_option_find("seed"), *lr = cli_option_find("lr");
    CHECK(seed && rl_option_takes(seed, "init") && rl_option_takes(seed, "train") && !rl_option_takes(seed, "jacobian"));
    CHECK(lr && rl_option_takes(lr, "train") && !rl_option_takes(lr, "trai") && !rl_option_takes(lr, "rain"));
}

/* Every option of every command parses into its field (in-process, as the
 * command parses it), shows in the command's --help, and is refused below
 * its range with one line that says the range. */
TEST(options_every_option_of_every_command_parses)
{
    int checked = 0;
    for (int ci = 0; ci < cli_command_count(); ci++) {
        const cli_command *k = cli_command_at(ci)->spec;
        cli_ctx c;
        cli_args a;
        char err[512], *argv[64];
        /* --help: every option the command takes, in its line */
        argv[0] = (char *)k->name, argv[1] = "--help";
        CHECK_MSG(parse_quietly(k, 2, argv, &c, &a, err, sizeof err) == CLI_HELP, "%s --help", k->name);
        size_t len = 0;
        char *help = (char *)read_file(tmp_path("parse.stdout"), &len);
        CHECK_MSG(help && strncmp(help, "usage: rnnlab ", 14) == 0, "%s --help", k->name);
        for (int i = 0; i < cli_option_count(); i++) {
            const rl_option *o = cli_option_at(i);
            if (!rl_option_takes(o, k->name)) continue;
            char line[96], buf[64];
            snprintf(line, sizeof line, "\n  --%s%s%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
            CHECK_MSG(help && strstr(help, line), "rnnlab %s --help lacks --%s", k->name, o->flag);
            /* the command's required options, then this one */
            int m = 1;
            argv[0] = (char *)k->name;
            for (const char *r = k->required; r && *r;) {
                size_t w = strcspn(r, " ");
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)w, r);
                const rl_option *q = cli_option_find(name);
                static char flags[16][80], vals[16][64];
                if (q && q != o && m < 30) {
                    snprintf(flags[m % 16], sizeof flags[0], "--%s", q->flag);
                    argv[m] = flags[m % 16];
                    const char *qv = sample(q, vals[m % 16], sizeof vals[0]);
                    m++;
                    if (qv) argv[m++] = (char *)qv;
                }
                r += w + (r[w] == ' ');
            }
            char flag[80];
            snprintf(flag, sizeof flag, "--%s", o->flag);
            argv[m++] = flag;
            const char *v = sample(o, buf, sizeof buf);
            if (v) argv[m++] = (char *)v;
            int rc = parse_quietly(k, m, argv, &c, &a, err, sizeof err);
            CHECK_MSG(rc == 0 && cli_given(&c, o->name), "rnnlab %s %s %s: %d (%s)", k->name, flag, v ? v : "", rc, err);
            char got[256];
            rl_option_format(cli_option_field(&a, o), o, got, sizeof got);
            if (!v) CHECK_MSG(strcmp(got, "1") == 0, "rnnlab %s %s: the flag reads %s", k->name, flag, got);
            else if (o->type == RL_FIELD_DOUBLE || o->type == RL_FIELD_RANGE)
                CHECK_MSG(strtod(got, NULL) == strtod(v, NULL), "rnnlab %s %s %s: reads %s", k->name, flag, v, got);
            else CHECK_MSG(strcmp(got, v) == 0, "rnnlab %s %s %s: reads %s", k->name, flag, v, got);
            /* below its range: refused, saying the range */
            if ((o->type == RL_FIELD_INT || o->type == RL_FIELD_INT64 || o->type == RL_FIELD_DOUBLE) && o->lo > -1e300) {
                snprintf(buf, sizeof buf, "%.17g", o->type == RL_FIELD_DOUBLE ? o->lo - fabs(o->lo) - 1 : o->lo - 1);
                argv[m - 1] = buf;
                rc = parse_quietly(k, m, argv, &c, &a, err, sizeof err);
                CHECK_MSG(rc == 2 && strstr(err, "is out of range") && strstr(err, flag), "rnnlab %s %s %s: %d (%s)", k->name,
                          flag, buf, rc, err);
            }
            checked++;
        }
        free(help);
    }
    CHECK_MSG(checked > 160, "%d options of commands", checked);
}

/* Every option of every command a sweep runs is accepted by rnnlab sweep
 * (--dry-run: the plan, every point checked against the table) and lands
 * on the line of the stage that takes it: a sweep of train (its command), of
 * lyapunov (init, lyapunov) and of jacobian (init, data, jacobian), an axis
 * of named sets with one set per option, given as STAGE:--OPT. */
TEST(options_every_option_goes_through_a_sweep)
{
/* the fixed lines give init's required options, and the walks of init leave them out */
#define MODEL "init --cell tanh --input 1 --hidden 2 --output 1\n"
#define REQ " cell input hidden output"
    static const struct {
        const char *cmd, *stage, *fixed; /* the spec's command, the stage's command, the spec's other lines */
        const char *skip;                /* options the sweep gives itself, or the fixed lines hold */
    } walks[] = {
        {"train", "train", "", "out_dir resume quiet progress"},
        {"lyapunov", "init", MODEL "options --steps 10\n", "out_file" REQ},
        {"lyapunov", "lyapunov", MODEL "options --steps 10\n", "model out_file lyap_steps quiet progress"},
        {"jacobian", "init", MODEL "data --h0 zeros\n", "out_file" REQ},
        {"jacobian", "data", MODEL "data --h0 zeros\n", "model out_file h0"},
        {"jacobian", "jacobian", MODEL "data --h0 zeros\n", "model data_file out_file quiet progress"},
    };
    const char *prefix[] = {"init", "data", "cmd"};
    for (size_t w = 0; w < sizeof walks / sizeof walks[0]; w++) {
        const char *stage = strcmp(walks[w].stage, "init") == 0 ? prefix[0] : strcmp(walks[w].stage, "data") == 0 ? prefix[1] : prefix[2];
        size_t cap = 1 << 16, at = 0;
        char *spec = malloc(cap), buf[64];
        const char *names[160];
        int n = 0;
        at += (size_t)snprintf(spec + at, cap - at, "command %s\n%sgrid opts\n", walks[w].cmd, walks[w].fixed);
        for (int i = 0; i < cli_option_count() && n < 160; i++) {
            const rl_option *o = cli_option_at(i);
            char key[80];
            snprintf(key, sizeof key, " %s ", o->name);
            char skip[200];
            snprintf(skip, sizeof skip, " %s ", walks[w].skip);
            if (!rl_option_takes(o, walks[w].stage) || strstr(skip, key)) continue;
            const char *v = sample(o, buf, sizeof buf);
            if (o->type == RL_FIELD_TEXT || o->type == RL_FIELD_PATH) v = "word"; /* one word in a spec */
            if (strcmp(o->name, "freeze") == 0) v = "head.bias"; /* a tensor's name: the dry run checks it */
            at += (size_t)snprintf(spec + at, cap - at, "    o%d %s:--%s %s\n", n, stage, o->flag, v ? v : "");
            names[n++] = o->flag;
        }
        const char *path = write_tmp("walk.sweep", spec, at);
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/walk-%zu", test_tmpdir, w);
        const char *argv[] = {"rnnlab", "sweep", path, "--out", dir, "--dry-run", NULL};
        char e[512];
        int rc = run_cli(argv, NULL, NULL, 0, e, sizeof e);
        CHECK_MSG(rc == 0, "a %s sweep over %s's options: exit %d: %s", walks[w].cmd, walks[w].stage, rc, e);
        size_t len = 0;
        char *out = (char *)read_file(tmp_path("cli.stdout"), &len);
        /* point k's block: "# opts=oK (id)", then its stages' lines */
        for (int k = 0; out && k < n; k++) {
            char head[32], line[64], flag[80];
            snprintf(head, sizeof head, "# opts=o%d (", k);
            snprintf(line, sizeof line, "\nrnnlab %s ", walks[w].stage);
            snprintf(flag, sizeof flag, " --%s", names[k]);
            const char *b = strstr(out, head), *l = b ? strstr(b, line) : NULL, *eol = l ? strchr(l + 1, '\n') : NULL;
            const char *f = l ? strstr(l, flag) : NULL;
            CHECK_MSG(f && (!eol || f < eol), "%s sweep: --%s is not on the %s line", walks[w].cmd, names[k], walks[w].stage);
        }
        CHECK_MSG(n >= 4, "%s: %d options", walks[w].stage, n);
        free(out), free(spec);
    }
}
