/* Every subcommand, every kind of bad argument: an unknown option, a repeated
 * one, a non-numeric and an out-of-range number, a missing required option.
 * Each gets one line on stderr, "rnnlab CMD: ...", and exit status 2, and
 * writes nothing. */
#include "test.h"

#include <string.h>

typedef struct {
    const char *cmd;
    const char *num;      /* a numeric option */
    const char *low;      /* a value below its range */
    const char *missing;  /* a fragment of the message for `rnnlab CMD` alone, NULL if it runs */
} cmd_row;

TEST(cli_every_subcommand_rejects_bad_arguments)
{
    static const cmd_row rows[] = {
        {"init", "--hidden", "0", "--cell is required"},
        {"data", "--steps", "0", "--model is required"},
        {"grad", NULL, NULL, "--model is required"},
        {"gradcheck", "--steps", "0", NULL},
        {"jacobian", "--seq", "-1", "--model is required"},
        {"spectrum", "--seq", "-1", "--model is required"},
        {"lyapunov", "--steps", "0", "--model is required"},
        {"train", "--batch", "0", "--out RUN_DIR is required"},
        {"eval", "--batch", "0", "--model is required"},
        {"sample", "--len", "-1", "--model is required"},
        {"demo", "--seed", "-1", NULL},
        {"report", NULL, NULL, "RUN_DIR is required"},
        {"plot", NULL, NULL, "KIND and INPUT are required"},
        {"bench", "--hidden", "0", NULL},
        {"sweep", "--threads", "0", "SPEC is required"},
    };
    char e[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const cmd_row *r = &rows[i];
        struct { const char *argv[8]; const char *frag; } bad[5] = {
            {{"rnnlab", r->cmd, "--no-such-option", NULL}, "unknown option '--no-such-option'"},
            {{"rnnlab", r->cmd, r->num, "abc", NULL}, "expects"},
            {{"rnnlab", r->cmd, r->num, r->low, NULL}, r->low && r->low[0] == '-' && strcmp(r->num, "--seed") == 0 ? "non-negative" : "out of range"},
            {{"rnnlab", r->cmd, r->num, "3", r->num, "3", NULL}, "given twice"},
            {{"rnnlab", r->cmd, NULL}, r->missing},
        };
        for (int k = 0; k < 5; k++) {
            if (!bad[k].frag || (k >= 1 && k <= 3 && !r->num)) continue;
            int st = run_cli(bad[k].argv, NULL, NULL, 0, e, sizeof e);
            CHECK_MSG(st == 2, "rnnlab %s (case %d): exit %d, want 2 (%s)", r->cmd, k, st, e);
            CHECK_MSG(strstr(e, bad[k].frag) != NULL, "rnnlab %s (case %d): '%s' lacks '%s'", r->cmd, k, e, bad[k].frag);
            CHECK_MSG(run_cli_err_lines() == 1, "rnnlab %s (case %d): %d lines on stderr", r->cmd, k, run_cli_err_lines());
            char prefix[64];
            snprintf(prefix, sizeof prefix, "rnnlab %s: ", r->cmd);
            CHECK_MSG(strncmp(e, prefix, strlen(prefix)) == 0, "rnnlab %s (case %d): '%s' lacks the prefix", r->cmd, k, e);
        }
        /* and --help works for each */
        const char *help[] = {"rnnlab", r->cmd, "--help", NULL};
        char o[256];
        CHECK_MSG(run_cli(help, NULL, o, sizeof o, NULL, 0) == 0 && strstr(o, "usage: rnnlab"), "rnnlab %s --help", r->cmd);
    }
}
