/* rnnlab demo's parts (cli/commands/cmd_demo.c, demo_cures.c, demo_diag.c): the settings of
 * one run of the demo and the helpers its sections share. */
#ifndef RL_DEMO_H
#define RL_DEMO_H

#include "cli.h"
#include "plots/report.h"

typedef struct {
    int H, T, lyap_steps, train_T, train_H, train_steps, clip_steps;
    int cure_H, cure_T, cure_train_T, cure_steps; /* section 5, the cures */
    uint64_t seed;
    report *r;
    double t0;
} demo;

/* a line when progress is shown */
void demo_progress(const demo *d, const char *what);
/* one line for a failure (none for Ctrl-C); returns 1 */
int demo_fail(rl_status s);
/* DIR/runs, made if needed: 0, or 1 with a message */
int demo_runs_dir(demo *d, char *dir, size_t n);

/* The opening: the study notes' question worked in numbers (a 3-unit linear
 * RNN with a symmetric W_hh, then a tanh RNN). */
int demo_section_worked(demo *d);
/* Section 5: the cures, through the same Jacobians. */
int demo_section_cures(demo *d);
/* Section 6: an LRU and a minGRU, whose J_t share an eigenbasis exactly,
 * beside a tanh RNN (cli/commands/demo_diag.c). */
int demo_section_diag(demo *d);

#endif
