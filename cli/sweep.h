/* Sweeps: rnnlab sweep runs every point of a grid of a command's options
 * (cli/cmd_sweep.c); rnnlab report draws a sweep's folder
 * (cli/sweepreport.c). The folder holds sweep.json (the plan: the command,
 * the axes and their values, the points' ids), results.jsonl (one line a
 * finished point: {"id", "command", "options", "result"}) and points/ID/
 * (each point's files and log.txt). docs/scaling.md. */
#ifndef RL_CLI_SWEEP_H
#define RL_CLI_SWEEP_H

#include "cli.h"

#include <cJSON.h>

/* ------------------------------------------------------------------ the spec (cli/sweepspec.c) */

enum { CMD_TRAIN, CMD_LYAPUNOV, CMD_JACOBIAN };
extern const char *const sweep_cmd_names[]; /* "train", "lyapunov", "jacobian" */
/* where an option goes: rnnlab init, rnnlab data, or the command */
enum { ST_INIT, ST_DATA, ST_CMD, ST_COUNT };
extern const char *const sweep_stage_names[]; /* "init", "data", "cmd" */

/* A NULL-terminated list of strings it owns. */
typedef struct {
    char **v;
    int n, cap;
} strv;
/* Append a copy of x; -1 when out of memory. */
int strv_push(strv *s, const char *x);
void strv_free(strv *s);

#define MAX_AXES 8
#define MAX_POINTS 1000000

typedef struct {
    char name[64];   /* the key in "options": the flag without dashes, or the set's name */
    int sets;        /* 1: named sets of options */
    char flag[64];   /* a flag axis: "--gain" */
    int stage;       /* a flag axis: where it goes */
    strv values;     /* the values, or the sets' labels */
    strv *args;      /* sets: each label's options (values.n of them) */
} axis;

typedef struct {
    const char *path;
    int cmd;              /* CMD_* */
    strv fixed[ST_COUNT]; /* the options of each stage at every point */
    axis ax[MAX_AXES];
    int naxes;
    strv seeds;
    long npoints;
} spec;

/* Read the spec at path: 0, or 1 (unreadable) or 2 (a mistake, said with
 * its line) after one line on stderr. spec_free also after a failure. */
int parse_spec(spec *sp, const char *path);
/* The same from an open stream (path names it in messages; f is not closed). */
int parse_spec_stream(spec *sp, const char *path, FILE *f);
void spec_free(spec *sp);
/* Nonzero: the spec's mistakes are not printed (the fuzz target sweepspec). */
extern int sweep_spec_quiet;

typedef struct {
    strv argv[ST_COUNT]; /* each stage's options, as the spec gives them */
    cJSON *options;      /* the axes' values and the seed */
    char id[17];         /* 16 hex digits of a hash of the command and every stage's options */
    char label[512];     /* "cell=tanh gain=0.5 seed=0" */
} point;

/* Point i of the plan (0 <= i < npoints): the axes in order, the first the
 * slowest, the seeds the fastest. 0, or 2 after a line (an option given
 * twice to one stage, or to a stage the command does not have). */
int make_point(const spec *sp, long i, point *p);
void point_free(point *p);
/* A JSON number when all of v is one, else a string. */
cJSON *value_json(const char *v);
/* Whether two of the plan's n ids are the same (two points that would run
 * the same command lines): 1 with the two indices (first < second in the
 * plan's order), 0 if none, -1 when out of memory. N log N. */
int sweep_repeated_id(const char (*ids)[17], long n, long *first, long *second);
/* Whether a command has a stage, and whether that stage takes --seed. */
int sweep_has_stage(int cmd, int st);

int cmd_sweep(int argc, char **argv);

/* rnnlab report DIR for a sweep's folder: figures of a result against the
 * swept options, and DIR/report.html. opts: "--result KEY", "--x OPT",
 * "--by OPT" as given (NULL: chosen from the sweep). 0, or the exit code. */
int cli_sweep_report(const cli_ctx *c, const char *dir, const char *result, const char *x, const char *by, int json);
/* Whether dir is a sweep's folder (it holds sweep.json). */
int cli_is_sweep(const char *dir);

#endif
