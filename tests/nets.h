/* A net for a test in one call: a model, random data for it (or both from
 * a fixture case), a workspace of the data's size and a Jacobian tool on
 * one of its sequences, each made only when asked for; and a training run
 * in one call. A failure of any part is a failed check at the caller's
 * line. tests/nets.c */
#ifndef RL_TEST_NETS_H
#define RL_TEST_NETS_H

#include "io/safetensors.h"
#include "test.h"

#include <stdint.h>

/* What to make: a model of cfg in dtype; rl_model_init(init, seed) when
 * init is not NULL (else the model as rl_model_new leaves it); with
 * batch > 0, rl_data_random(batch, steps, dtype, mask, h0, data_seed); with
 * ws, a workspace for (batch, steps); with jac, rl_jac_new on the data's
 * sequence jac_seq (both only with the data). */
typedef struct {
    rl_config cfg;
    rl_dtype dtype;
    const rl_init *init;
    uint64_t seed;
    int batch, steps, mask, h0;
    uint64_t data_seed;
    int ws, jac, jac_seq;
} test_net_spec;

/* What was made (NULL where not asked for); b is the data's batch, ref a
 * fixture case's reference (TEST_CASE). All of it NULL when any part
 * failed. */
typedef struct {
    rl_model *m;
    rl_data *d;
    const rl_batch *b;
    rl_ws *ws;
    rl_jac *j;
    st_file ref;
} test_net;

/* PyTorch's default init (U(-1/sqrt(H), 1/sqrt(H)), gain 1), the tests' usual. */
extern const rl_init test_uniform;

/* The net of spec s; a failed part is reported at file:line and frees the
 * rest (m NULL). */
test_net test_net_at(const char *file, int line, const test_net_spec *s);
#define TEST_NET(...) test_net_at(__FILE__, __LINE__, &(const test_net_spec){__VA_ARGS__})
/* Free what n holds (any of it NULL) and clear it. */
void test_net_free(test_net *n);

/* A fixture case: NAME.model.safetensors and NAME.data.safetensors loaded
 * in s->dtype, with s->ws and s->jac as in test_net_at (the rest of s
 * unused), and its reference NAME.KIND.safetensors read into ref. A failed
 * part is reported at file:line and frees the rest (m NULL). */
test_net test_case_at(const char *file, int line, const char *name, const char *kind, const test_net_spec *s);
#define TEST_CASE(name, kind, ...) test_case_at(__FILE__, __LINE__, name, kind, &(const test_net_spec){__VA_ARGS__})

/* Two tests, NAME_f64 and NAME_f32: fn(cases[i], dtype, rtol) on every
 * fixture case of the array cases, within rtol64 in float64 and rtol32 in
 * float32. */
#define TEST_EACH_CASE(name, fn, cases, rtol64, rtol32)                                                        \
    TEST(name##_f64)                                                                                          \
    {                                                                                                         \
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) fn(cases[i], RL_F64, rtol64);             \
    }                                                                                                         \
    TEST(name##_f32)                                                                                          \
    {                                                                                                         \
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) fn(cases[i], RL_F32, rtol32);             \
    }

/* One training pass: rl_ws_zero_grad, rl_forward (the loss in *loss) and
 * rl_backward; 1 when both passed, else 0 with the failure reported at
 * file:line. */
int test_pass_at(const char *file, int line, rl_ws *ws, const rl_model *m, const rl_batch *b, double *loss);
#define TEST_PASS(ws, m, b, loss) test_pass_at(__FILE__, __LINE__, ws, m, b, loss)

/* A small training run of task with cell: 2 layers of 12 units, batches of
 * 6 sequences of 20 steps (text: 25, truncated every 15), 40 steps with
 * dropout 0.25, records every 5 and 10 steps, a checkpoint every 10, seed 9. */
rl_train_config test_small_config(rl_task_kind task, rl_cell cell);
/* rl_trainer_run of t to its end (no stop flag, no progress) when t is not
 * NULL, a failure a failed check at file:line; t. */
rl_trainer *test_run_at(const char *file, int line, rl_trainer *t);
#define TEST_RUN(t) test_run_at(__FILE__, __LINE__, t)
/* A training run of c in the folder dir to its end: rl_trainer_new and
 * TEST_RUN; the trainer (rl_trainer_free it), NULL when rl_trainer_new
 * failed (a failed check at file:line). */
rl_trainer *test_train_at(const char *file, int line, const rl_train_config *c, const char *dir);
#define TEST_TRAIN(c, dir) test_train_at(__FILE__, __LINE__, c, dir)

#endif
