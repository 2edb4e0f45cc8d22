/* Private to the library: the run folder of a training run (src/run.c) and
 * the training configuration as JSON (src/train_config.c).
 *
 * A run folder holds config.json (the configuration, for people),
 * checkpoint.safetensors (the model, the optimizer's moments and the
 * trainer's state, with the configuration in its metadata train_config),
 * model.safetensors (the latest model), metrics.jsonl and flow.jsonl (one
 * JSON record a line, each with its "step"). Every file that holds state is
 * written to a temporary name and renamed over the old one. */
#ifndef RL_RUN_H
#define RL_RUN_H

#include "io/modelio.h"
#include "net/net.h"

#include <cJSON.h>

/* The configuration as a JSON object, one key per field of the table (NULL
 * when out of memory). */
cJSON *rl_train_config_json(const rl_train_config *c);
/* The configuration from a JSON object: a missing key keeps its default; an
 * unknown or repeated key, a value of the wrong type or out of its range is
 * RL_ERR_FORMAT naming it. c->text_path, when set, points into j. */
rl_status rl_train_config_from_json(const cJSON *j, rl_train_config *c);

/* The longest run-folder path accepted (the files' names are added to it). */
#define RL_RUN_MAX_PATH 1000

/* Whether path is one of the files a run writes in dir (the same file:
 * device and inode), so that a run never writes over its own input. */
int rl_run_holds(const char *dir, const char *path);

/* The lock a run's writer holds for the run's life (src/base/files.h):
 * one writer at a time, released by the kernel however the process ends. */
#define RL_RUN_LOCK "run.lock"

/* Make dir a new run's folder: it must not hold a run already, files that
 * are not a run's (a folder of the user's; the folders data and valid, a
 * run's own arrays that rnnlab.train saves, are a run's) or be a file; it
 * is created if missing, its lock taken (*lock: the descriptor, held until
 * the run ends; another process's lock is refused naming its pid),
 * config.json written, and the records of an earlier run that never reached
 * a checkpoint removed. On failure nothing is left behind that was not
 * there before and *lock is -1. */
rl_status rl_run_create(const char *dir, const rl_train_config *c, int *lock);

/* (Re)write dir/config.json from c, atomically. */
rl_status rl_run_write_config(const char *dir, const rl_train_config *c);

/* Append one record (consumed) as a line of the log `name` ("metrics.jsonl"). */
rl_status rl_run_append(const char *dir, const char *name, cJSON *record);

/* dir/metrics.csv from dir/metrics.jsonl, atomically: a column "step", then
 * one for each key with a number (or true/false, as 1/0) in the order they
 * first appear; a row for each step, the lines of one step merged (the
 * training line, its validation); a cell empty where the step has no such
 * number. For spreadsheets; the JSON lines stay the record. The trainer
 * writes it when a run ends or stops (rl_trainer_run's return, a
 * divergence). */
rl_status rl_run_write_metrics_csv(const char *dir);

/* What the metrics line being gathered holds: sums over the steps since the
 * last line (a resumed run logs what an uninterrupted one does), and the
 * steps skipped since the start. */
typedef struct {
    double loss, grad_norm, grad_norm_max;
    int64_t steps, clipped, skipped;
} rl_run_records;

/* The trainer's state beside the model and the optimizer. */
typedef struct {
    int64_t step;             /* updates done */
    rl_rng rng;               /* the data's generator */
    rl_run_records records;
    int64_t *pos;             /* (B) text: the streams' offsets, else NULL */
    float *carry_h, *carry_c; /* (L, B, H) text: the carried state (c: LSTM only), else NULL */
    int64_t text_bytes;       /* text: the text's size and FNV-1a hash (metadata text_bytes, */
    uint64_t text_hash;       /* text_hash), how a resumed run knows its text; 0 otherwise */
    double seconds;           /* the seconds of training so far, over every segment (train.seconds) */
} rl_run_state;

/* Write checkpoint.safetensors, then model.safetensors. */
rl_status rl_run_save(const char *dir, const rl_train_config *c, const rl_model *m, rl_optim *o, const rl_run_state *st);

/* Resuming, in two steps around building the trainer from the configuration:
 * rl_run_open takes the folder's lock (lock not NULL: the writer; *lock as
 * in rl_run_create, -1 on failure), removes what an interrupted write left,
 * opens the checkpoint and reads its configuration (its strings,
 * c->text_path and the data's paths and columns, when set, are copies the
 * caller frees); rl_run_restore then fills the model's parameters, the optimizer
 * and st (st's buffers sized by c) from it, checks that they fit, and trims
 * the records to the checkpoint's step. f is closed by the caller. With
 * lock NULL (rl_run_open) and dir NULL (rl_run_restore) they only read: the
 * processes of a shared run other than rank 0 (src/shard.h). */
rl_status rl_run_open(st_file *f, const char *dir, rl_train_config *c, int *lock);
rl_status rl_run_restore(const st_file *f, const char *dir, const rl_train_config *c, rl_model *m, rl_optim *o,
                         rl_run_state *st, int64_t text_len);

#endif
