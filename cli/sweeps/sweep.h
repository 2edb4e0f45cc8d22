/* Sweeps: rnnlab sweep runs every point of a grid of a command's options
 * (cli/sweeps/cmd_sweep.c); rnnlab report draws a sweep's folder
 * (cli/sweeps/sweepreport.c). The folder holds sweep.json (the plan: the command,
 * the axes and their values, the points' ids), results.jsonl (one line a
 * finished point: {"id", "command", "options", "result"}) and points/ID/
 * (each point's files and log.txt). docs/scaling.md. */
#ifndef RL_CLI_SWEEP_H
#define RL_CLI_SWEEP_H

#include "cli.h"

#include <cJSON.h>

/* ------------------------------------------------------------------ the spec (cli/sweeps/sweepspec.c) */

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
/* Nonzero: the spec's mistakes are not printed; the most values of a range
 * and points of a plan (MAX_POINTS; the fuzz target sweepspec sets both,
 * so that each input costs milliseconds). */
extern int sweep_spec_quiet;
extern long sweep_spec_max;

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

cli_run_fn cmd_sweep;

/* ------------------------------------------------------------------ the folder as data (cli/sweepload.c) */

#define SWEEP_MAX_AXES 16

/* An axis of the plan with two values or more: its values (in the plan's
 * order) and their texts, sorted through order for binary search. */
typedef struct {
    const char *name, *option; /* option: "--gain" for an axis of one option's values, else the name */
    cJSON **values;
    char **text;               /* sweep_value_text of each value */
    int *order;
    int n, numeric;            /* numeric: every value a finite number */
} sweep_axis;

/* A sweep's plan and its finished points. */
typedef struct {
    cJSON *plan;
    const char *command;
    char **idv;            /* (nplanned) the points' ids in the plan's order, */
    int *id_order;         /* sorted through this */
    int nplanned;
    cJSON **latest;        /* (nplanned) each point's last results line, or NULL */
    cJSON **opts, **res;   /* (n) the finished points' options and results, in the plan's order (sweep_finish) */
    int n;
    sweep_axis ax[SWEEP_MAX_AXES];
    int nax;
} sweep_data;

/* Value v of an option as text, for comparing and labels ("%.10g" for a number). */
void sweep_value_text(const cJSON *v, char *buf, size_t n);
/* The plan (sweep.json's len bytes): 0, or -1 with why in err. Every id a
 * string and none twice, at most MAX_POINTS; no value twice in an axis, no
 * two axes of one name. sweep_data_free also after a failure. */
int sweep_parse_plan(sweep_data *d, const char *text, size_t len, char *err, size_t errn);
/* One line of results.jsonl: kept (1) when it is an object with a planned
 * "id", "options" and "result" (the last line of an id counts), else 0. */
int sweep_add_result(sweep_data *d, const char *line, size_t len);
/* The finished points into opts, res and n, in the plan's order. */
void sweep_finish(sweep_data *d);
/* Where point id is in the plan, or -1. */
int sweep_plan_index(const sweep_data *d, const char *id);
/* Which value of axis a v is (its text's), or -1. */
int sweep_axis_index(const sweep_axis *a, const cJSON *v);
/* The mean of result key over the finished points of each (x, by) cell
 * (mean and cnt: (nb, nx), NaN where none), by the axes xi and bi (-1:
 * none); how many points counted. */
int sweep_means(const sweep_data *d, const char *key, int xi, int bi, double *mean, double *cnt);
void sweep_data_free(sweep_data *d);

/* dir's plan and finished points into d (cli/sweeps/sweepreport.c): 0, or 1
 * after one line. sweep_data_free also after a failure. */
int sweep_load(const cli_ctx *c, const char *dir, sweep_data *d);
/* rnnlab report DIR for a sweep's folder: figures of a result against the
 * swept options, and DIR/report.html. opts: "--result KEY", "--x OPT",
 * "--by OPT" as given (NULL: chosen from the sweep). 0, or the exit code. */
int cli_sweep_report(const cli_ctx *c, const char *dir, const char *result, const char *x, const char *by, int json);
/* Whether dir is a sweep's folder (it holds sweep.json). */
int cli_is_sweep(const char *dir);

#endif
