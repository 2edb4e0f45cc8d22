/* Private to the library: the values of any option row (rl_option) in the
 * struct it fills, shared by the parser (src/train/options.c) and the
 * training configuration's JSON (src/train/train_config.c). */
#ifndef RL_OPTIONS_H
#define RL_OPTIONS_H

#include "base/internal.h"

/* INT, INT64, BOOL and ENUM as one integer. */
int64_t rl_opt_get_int(const void *src, const rl_option *o);
/* ...and written back; the library's optimizer row brings its kind's defaults. */
void rl_opt_set_int(void *dst, const rl_option *o, int64_t v);
/* v against the row's range; label is "--flag" or the key. */
rl_status rl_opt_in_range(const rl_option *o, const char *label, double v);
/* A range a <= b with both ends in the row's [lo, hi], or 0,0 (unset). */
rl_status rl_opt_range_ok(const rl_option *o, const char *label, const double *v);
/* A choice's name (or a named BOOL's) to its value. */
rl_status rl_opt_parse_choice(const rl_option *o, const char *text, int *out);
/* A decimal uint64 with nothing around it: 1, or 0 when text is not one. */
int rl_opt_parse_u64(const char *text, uint64_t *out);

/* src/train/train_config.c: after row o of the training configuration c
 * was set (the optimizer brings its own defaults for the fields after it). */
void rl_train_config_after_set(void *c, const rl_option *o);

#endif
