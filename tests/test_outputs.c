/* What a command may write: never one of its own inputs. Every command that
 * reads a file and writes one refuses an output that is the same file as an
 * input (by device and inode: the same name, another spelling, a symbolic
 * link, a hard link), in one line with exit status 2, before any work; the
 * input is left byte for byte as it was. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* a file's bytes, for the before-and-after comparison */
typedef struct {
    unsigned char *b;
    size_t n;
} bytes;

static bytes snapshot(const char *path)
{
    bytes s = {0};
    s.b = read_file(path, &s.n);
    return s;
}

static int unchanged(const char *path, bytes was)
{
    bytes now = snapshot(path);
    int same = was.b && now.b && was.n == now.n && memcmp(was.b, now.b, was.n) == 0;
    free(now.b);
    return same;
}

/* argv with every "@IN" replaced by in and every "@OUT" by out */
static void fill(const char **dst, const char *const *src, const char *in, const char *out)
{
    int i = 0;
    for (; src[i]; i++) dst[i] = strcmp(src[i], "@IN") == 0 ? in : strcmp(src[i], "@OUT") == 0 ? out : src[i];
    dst[i] = NULL;
}

TEST(outputs_never_overwrite_inputs)
{
    /* the files the commands read */
    const char *m = tmp_path("ow.model.st"), *d = tmp_path("ow.data.st"), *j = tmp_path("ow.jac.st"),
               *csv = write_tmp("ow.table.csv", "x,y\n1,2\n2,3\n3,5\n", 17),
               *spec = write_tmp("ow.spec", "command lyapunov\ninit --cell tanh --hidden 4\noptions --steps 20\n", 63);
    const char *init[] = {"rnnlab", "init", "--cell", "tanh", "--input", "2", "--hidden", "4", "--output", "1",
                          "--out", m, NULL};
    const char *data[] = {"rnnlab", "data", "--model", m, "--steps", "6", "--out", d, NULL};
    const char *jac[] = {"rnnlab", "jacobian", "--model", m, "--data", d, "--out", j, NULL};
    CHECK(run_cli(init, NULL, NULL, 0, NULL, 0) == 0 && run_cli(data, NULL, NULL, 0, NULL, 0) == 0 &&
          run_cli(jac, NULL, NULL, 0, NULL, 0) == 0);
    /* the same file by other names: ./NAME (another spelling), a symbolic link, a hard link */
    char dot[4200];
    snprintf(dot, sizeof dot, "%s/./ow.model.st", test_tmpdir);
    const char *sym = tmp_path("ow.sym.st"), *hard = tmp_path("ow.hard.st");
    CHECK(symlink(m, sym) == 0 && link(d, hard) == 0);
    static const struct {
        const char *argv[16];
        const char *in; /* which file is written over: "model", "data", ... */
    } cases[] = {
        {{"rnnlab", "data", "--model", "@IN", "--steps", "5", "--out", "@OUT", NULL}, "model"},
        {{"rnnlab", "grad", "--model", "@IN", "--data", "DATA", "--out", "@OUT", NULL}, "model"},
        {{"rnnlab", "grad", "--model", "MODEL", "--data", "@IN", "--out", "@OUT", NULL}, "data"},
        {{"rnnlab", "jacobian", "--model", "@IN", "--data", "DATA", "--out", "@OUT", NULL}, "model"},
        {{"rnnlab", "jacobian", "--model", "MODEL", "--data", "@IN", "--out", "@OUT", NULL}, "data"},
        {{"rnnlab", "spectrum", "--model", "@IN", "--data", "DATA", "--out", "@OUT", NULL}, "model"},
        {{"rnnlab", "spectrum", "--model", "MODEL", "--data", "@IN", "--out", "@OUT", NULL}, "data"},
        {{"rnnlab", "lyapunov", "--model", "@IN", "--steps", "10", "--out", "@OUT", NULL}, "model"},
        {{"rnnlab", "lyapunov", "--model", "MODEL", "--data", "@IN", "--steps", "5", "--out", "@OUT", NULL}, "data"},
        {{"rnnlab", "plot", "lags", "@IN", "--out", "@OUT", NULL}, "jac"},
        {{"rnnlab", "plot", "csv", "@IN", "--out", "@OUT", NULL}, "csv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = strcmp(cases[i].in, "model") == 0 ? m
                         : strcmp(cases[i].in, "data") == 0 ? d
                         : strcmp(cases[i].in, "jac") == 0 ? j
                                                            : csv;
        /* plot writes PNG files: the input gets a .png name by a link */
        const char *png = NULL;
        if (strcmp(cases[i].argv[1], "plot") == 0) {
            png = tmp_path(strcmp(cases[i].in, "jac") == 0 ? "ow.jac.png" : "ow.table.png");
            unlink(png);
            CHECK(link(in, png) == 0);
        }
        const char *ins[3] = {in, in == m ? dot : in, in == m ? sym : in == d ? hard : in};
        for (int k = 0; k < 3; k++) {
            const char *argv[16];
            fill(argv, cases[i].argv, png ? png : in, png ? png : ins[k]);
            for (int a = 0; argv[a]; a++) {
                if (strcmp(argv[a], "MODEL") == 0) argv[a] = m;
                if (strcmp(argv[a], "DATA") == 0) argv[a] = d;
            }
            if (k == 1 && png) continue;
            bytes was = snapshot(in);
            char e[1024];
            int st = run_cli(argv, NULL, NULL, 0, e, sizeof e);
            CHECK_MSG(st == 2 && run_cli_err_lines() == 1, "%s (%s as %s): exit %d, %d lines: %s", cases[i].argv[1],
                      cases[i].in, ins[k], st, run_cli_err_lines(), e);
            CHECK_MSG(strstr(e, "would overwrite its own input") != NULL, "%s: %s", cases[i].argv[1], e);
            CHECK_MSG(unchanged(in, was), "rnnlab %s changed its input %s", cases[i].argv[1], in);
            free(was.b);
        }
    }
    /* sweep: its spec is not one of the files it writes into its folder */
    const char *dir = tmp_path("ow.sweep");
    CHECK(mkdir(dir, 0755) == 0);
    char inside[4200];
    snprintf(inside, sizeof inside, "%s/results.jsonl", dir);
    CHECK(link(spec, inside) == 0);
    bytes was = snapshot(spec);
    const char *sweep[] = {"rnnlab", "sweep", inside, "--out", dir, NULL};
    char e[1024];
    int st = run_cli(sweep, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 2 && strstr(e, "would overwrite its own input"), "sweep: exit %d: %s", st, e);
    CHECK(unchanged(spec, was));
    free(was.b);
}

/* train: the text of a run is never one of the files the run writes */
TEST(outputs_train_text_is_not_a_run_file)
{
    const char *run = tmp_path("ow.run");
    const char *train[] = {"rnnlab", "train", "--task", "text", "--seq-len", "8", "--batch", "2", "--cell", "tanh",
                           "--hidden", "4", "--steps", "2", "--out", run, "--quiet", NULL};
    CHECK(run_cli(train, NULL, NULL, 0, NULL, 0) == 0);
    char metrics[4200];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
    bytes was = snapshot(metrics);
    const char *resume[] = {"rnnlab", "train", "--resume", run, "--data", metrics, "--steps", "4", "--quiet", NULL};
    char e[1024];
    int st = run_cli(resume, NULL, NULL, 0, e, sizeof e);
    CHECK_MSG(st == 2 && strstr(e, "one of the run's own files"), "exit %d: %s", st, e);
    CHECK(unchanged(metrics, was));
    free(was.b);
}
