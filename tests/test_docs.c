/* The docs' commands run as written: every indented line of the Markdown
 * files in docs/ that starts with "rnnlab " is run, in order, in one scratch
 * folder, and must exit 0. */
#include "test.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void run_doc(const char *doc, const char *dir)
{
    size_t n = 0;
    unsigned char *text = read_file(doc, &n);
    CHECK_MSG(text != NULL, "cannot read %s", doc);
    if (!text) return;
    char *s = malloc(n + 1);
    memcpy(s, text, n);
    s[n] = '\0';
    free(text);
    int ran = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "    rnnlab ", 11) != 0) continue;
        char cmd[4096];
        /* the program under test stands in for "rnnlab" */
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >/dev/null 2>cmd.err", dir, test_cli, line + 11);
        int st = system(cmd);
        char errp[1100];
        snprintf(errp, sizeof errp, "%s/cmd.err", dir);
        size_t en = 0;
        unsigned char *err = read_file(errp, &en);
        CHECK_MSG(st == 0, "%s: '%s' failed (%d): %.*s", doc, line + 4, st, (int)(err ? en : 0), err ? (char *)err : "");
        free(err);
        ran++;
    }
    CHECK_MSG(ran > 0 || strstr(doc, "jacobians") == NULL, "%s: no commands found", doc);
    free(s);
}

TEST(docs_commands_run_as_written)
{
    char dir[1024], doc[2048], pat[2048];
    snprintf(dir, sizeof dir, "%s/docs-run", test_tmpdir);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(pat, sizeof pat, "%s/../../docs/*.md", test_fixtures); /* docs/ beside tests/ */
    glob_t g;
    CHECK(glob(pat, 0, NULL, &g) == 0 && g.gl_pathc >= 4);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        snprintf(doc, sizeof doc, "%s", g.gl_pathv[i]);
        run_doc(doc, dir);
    }
    globfree(&g);
}
