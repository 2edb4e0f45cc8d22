/* Figures of a training run folder (metrics.jsonl, flow.jsonl), shared by
 * rnnlab report and rnnlab demo. */
#ifndef RL_RUNPLOTS_H
#define RL_RUNPLOTS_H

#include "plots/report.h"

/* The values of numeric field key from the lines of dir/file that have it,
 * with their "step"; malloc'ed arrays, *n their length (0 if none). */
int read_series(const char *dir, const char *file, const char *key, double **steps, double **vals, int *n);

/* The flow records of a run: steps (n), lags 0..T (T+1 columns, lag k =
 * T - tau), z (n, T+1) ln||dL/dh_{T-k}||; malloc'ed. */
int read_flow(const char *dir, const char *key, double **steps, double **z, int *n, int *T);

/* The step a run diverged at (its metrics line with "diverged": true) and
 * why; 1 if it did, else 0 (step NaN). */
typedef struct {
    double step;
    char reason[200];
} run_divergence;
int read_divergence(const char *dir, run_divergence *d);

/* The spectral radius of W_hh over training from the flow records: the top
 * layer's, the largest over its gate blocks; malloc'ed, *n their length. */
int read_radius(const char *dir, double **steps, double **vals, int *n);

/* The key numbers of a run (rnnlab report RUN --json; cli/commands/cmd_report.c). */
struct cJSON *report_run_summary(const char *dir);

/* The run's config history: the config_changed lines of its metrics (a
 * resume that changed settings), as [{"step": N, "changed": {"lr": ["0.001",
 * "0.0005"], ...}}, ...]; the caller frees it. */
#include <cJSON.h>
cJSON *read_config_history(const char *dir);

/* Add the figures of one run to r: loss, gradient norm and the
 * gradient-flow heatmap. tag prefixes the file names, label names the run in
 * captions. 0 on success. */
int run_figures(report *r, const char *run_dir, const char *tag, const char *label);
/* The gradient-flow heatmap alone (with one flow record, that record
 * against the lag; nothing without one). 0 on success. */
int run_flow_figure(report *r, const char *run_dir, const char *tag, const char *label);

#endif
