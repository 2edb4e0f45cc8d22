/* What the fuzzers feed: each target takes bytes and must never crash, read
 * out of bounds or allocate from an unchecked number, whatever the bytes.
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_NAME.c, `make fuzz`) and by the
 * regression test that replays every file under tests/fuzz/. */
#include "fuzz_targets.h"

#include "io/modelio.h"
#include "train/run.h"
#include "train/tasks.h"

#include "plots/plot.h"
#include "sweeps/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The container: parse, then read every float and integer tensor. */
int fuzz_safetensors(const uint8_t *data, size_t size)
{
    st_file f;
    if (st_parse(&f, data, size, "fuzz") != RL_OK) return 0;
    for (int i = 0; i < f.n; i++) {
        const st_tensor *t = &f.t[i];
        if (t->numel > (1u << 24)) continue;
        void *buf = malloc((t->numel ? t->numel : 1) * 8);
        if (!buf) continue;
        if (t->dtype == ST_F32 || t->dtype == ST_F64) st_get_real(&f, t, RL_F64, buf);
        if (t->dtype == ST_I64 || t->dtype == ST_I32) st_get_ids(&f, t, -5, 1000, buf);
        free(buf);
    }
    (void)st_meta(&f, "cell");
    st_close(&f);
    return 0;
}

/* The model loader, metadata checks included. */
int fuzz_model(const uint8_t *data, size_t size)
{
    st_file f;
    if (st_parse(&f, data, size, "fuzz") != RL_OK) return 0;
    rl_model *m = NULL;
    if (rl_model_from_st(&m, &f, RL_F32) == RL_OK) {
        /* a model that loads must also run, forward and (with a loss) backward:
         * an orthogonal W_hh's map and its adjoint on whatever X and B hold */
        rl_config c = rl_model_config(m);
        rl_ws *ws = NULL;
        if (c.input_size <= 64 && c.hidden_size <= 64 && c.num_layers <= 3 && c.output_size <= 64 &&
            rl_ws_new(&ws, m, 1, 2) == RL_OK) {
            float x[128] = {0}, y[128] = {0};
            int32_t ids[2] = {0, c.output_size - 1};
            rl_batch b = {RL_F32, 1, 2, c.input_size, x, NULL, NULL, NULL, NULL, NULL};
            rl_forward(ws, m, &b, NULL);
            double loss;
            if (c.loss == RL_LOSS_CE) b.target = ids;
            else b.y = y;
            if (rl_forward(ws, m, &b, &loss) == RL_OK) rl_backward(ws, m, &b);
        }
        rl_ws_free(ws);
    }
    rl_model_free(m);
    st_close(&f);
    return 0;
}

/* The data loader against seven models: a 2-layer tanh classifier, an mse
 * model, an LSTM (c0 allowed), a 2-layer leaky classifier (the cell's own
 * parameter rnn.leak_l{k}), a 2-layer IndRNN regressor (a vector W_hh), and
 * the tanh and leaky classifiers with an orthogonal W_hh (exp, cayley); with
 * and without RL_DATA_OPTIONAL_XY. */
int fuzz_data(const uint8_t *data, size_t size)
{
    st_file f;
    if (st_parse(&f, data, size, "fuzz") != RL_OK) return 0;
    const rl_config cfgs[5] = {{.cell = RL_CELL_TANH, .input_size = 3, .hidden_size = 4, .num_layers = 2, .output_size = 2, .loss = RL_LOSS_CE},
                               {.cell = RL_CELL_GRU, .input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 1, .loss = RL_LOSS_MSE},
                               {.cell = RL_CELL_LSTM, .input_size = 1, .hidden_size = 2, .num_layers = 1, .output_size = 3, .loss = RL_LOSS_CE},
                               {.cell = RL_CELL_LEAKY, .input_size = 2, .hidden_size = 3, .num_layers = 2, .output_size = 2, .loss = RL_LOSS_CE},
                               {.cell = RL_CELL_INDRNN, .input_size = 1, .hidden_size = 3, .num_layers = 2, .output_size = 1, .loss = RL_LOSS_MSE}};
    /* the last two: models 0 and 3 again, with an orthogonal W_hh */
    const int cfg_of[7] = {0, 1, 2, 3, 4, 0, 3};
    const rl_orth map_of[7] = {RL_ORTH_NONE, RL_ORTH_NONE, RL_ORTH_NONE, RL_ORTH_NONE, RL_ORTH_NONE, RL_ORTH_EXP,
                               RL_ORTH_CAYLEY};
    const rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    for (int k = 0; k < 7; k++) {
        rl_model *m = NULL;
        if (rl_model_new_orth(&m, &cfgs[cfg_of[k]], RL_F32, map_of[k]) != RL_OK) continue;
        rl_model_init(m, &init, 1); /* nonzero weights: the leak, u, X and B are used */
        for (unsigned flags = 0; flags < 2; flags++) {
            rl_data *d = NULL;
            if (rl_data_from_st(&d, &f, m, RL_F32, flags) == RL_OK) {
                const rl_batch *b = rl_data_batch(d);
                rl_ws *ws = NULL;
                double loss;
                if (b->x && (size_t)b->batch * b->steps <= 4096 && rl_ws_new(&ws, m, b->batch, b->steps) == RL_OK &&
                    rl_forward(ws, m, b, &loss) == RL_OK)
                    rl_backward(ws, m, b);
                rl_ws_free(ws);
            }
            rl_data_free(d);
        }
        rl_model_free(m);
    }
    st_close(&f);
    return 0;
}

/* The text corpus loader: decode, build the vocabulary, draw a batch. */
int fuzz_text(const uint8_t *data, size_t size)
{
    rl_task *t = NULL;
    if (rl_task_text_from_buffer(&t, 8, data, size, "fuzz") == RL_OK) {
        rl_data *d = NULL;
        if (rl_task_data_new(&d, t, 2) == RL_OK) {
            rl_rng r;
            rl_rng_seed(&r, 1);
            int64_t pos[2] = {0, 500};
            rl_task_fill(t, d, &r, 0, pos);
            rl_task_fill(t, d, &r, 1, pos);
        }
        rl_data_free(d);
    }
    rl_task_free(t);
    return 0;
}

/* ------------------------------------------------------------------ the command line's parsers */

/* A sweep's spec (cli/sweepspec.c), then the first points of its plan and
 * the check for repeated ids. */
int fuzz_sweepspec(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size ? size : 1, "r");
    if (!f) return 0;
    if (!size) fgetc(f); /* an empty stream */
    spec sp;
    sweep_spec_quiet = 1;
    sweep_spec_max = 4096; /* the same checks, on plans that take milliseconds */
    if (parse_spec_stream(&sp, "fuzz", f) == 0) {
        long n = sp.npoints < 64 ? sp.npoints : 64;
        char (*ids)[17] = calloc((size_t)n + 1, sizeof *ids);
        for (long i = 0; ids && i < n; i++) {
            point p;
            if (make_point(&sp, i, &p) == 0) memcpy(ids[i], p.id, 17);
            point_free(&p);
        }
        long a, b;
        if (ids) sweep_repeated_id((const char(*)[17])ids, n, &a, &b);
        free(ids);
    }
    spec_free(&sp);
    fclose(f);
    return 0;
}

/* A sweep's folder (cli/sweeps/sweepload.c): the bytes up to the first NUL are
 * sweep.json, the rest results.jsonl; then the means of the first number
 * of the first point's result, against each pair of axes. */
int fuzz_sweepjson(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t plan = nul ? (size_t)(nul - data) : size;
    sweep_data d;
    char err[300];
    if (sweep_parse_plan(&d, (const char *)data, plan, err, sizeof err) == 0) {
        for (size_t at = plan + 1; at < size;) {
            const uint8_t *nl = memchr(data + at, '\n', size - at);
            size_t len = nl ? (size_t)(nl - data - at) + 1 : size - at;
            sweep_add_result(&d, (const char *)data + at, len);
            at += len;
        }
        sweep_finish(&d);
        const char *key = NULL;
        for (const cJSON *it = d.n ? d.res[0]->child : NULL; it && !key; it = it->next)
            if (cJSON_IsNumber(it)) key = it->string;
        for (int x = 0; key && x < d.nax && x < 3; x++)
            for (int b = -1; b < d.nax && b < 3; b++) {
                if (b == x || (size_t)d.ax[x].n * (b >= 0 ? (size_t)d.ax[b].n : 1) > 1000000) continue;
                size_t cells = (size_t)d.ax[x].n * (b >= 0 ? (size_t)d.ax[b].n : 1);
                double *mean = malloc(cells * sizeof *mean), *cnt = malloc(cells * sizeof *cnt);
                if (mean && cnt) sweep_means(&d, key, x, b, mean, cnt);
                free(mean), free(cnt);
            }
    }
    sweep_data_free(&d);
    return 0;
}

/* The CSV table of rnnlab plot csv (cli/plots/csvtable.c). */
int fuzz_plotcsv(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size ? size : 1, "r");
    if (!f) return 0;
    if (!size) fgetc(f);
    csv_table t;
    char err[300];
    csv_table_read(&t, f, err, sizeof err);
    csv_table_free(&t);
    fclose(f);
    return 0;
}

/* A run's configuration (the train_config of a checkpoint, config.json):
 * parsed, checked, written back and read again to the same configuration. */
int fuzz_runconfig(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    rl_train_config c = rl_train_defaults();
    if (j && rl_train_config_from_json(j, &c) == RL_OK) {
        rl_train_config_check(&c);
        cJSON *again = rl_train_config_json(&c);
        rl_train_config c2 = rl_train_defaults();
        if (again && rl_train_config_from_json(again, &c2) != RL_OK) abort(); /* what rnnlab writes it must read */
        cJSON_Delete(again);
    }
    cJSON_Delete(j);
    return 0;
}
