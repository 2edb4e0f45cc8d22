/* Data parallelism in the library (block_sum, rl_shard): processes played
 * by threads of this one, exchanging through shared memory, so that the
 * library's side of the contract is checked without MPI (tests/test_mpi.c
 * runs the real thing). */
#include "nets.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANKS 4

/* The world of the threads that play processes. */
typedef struct {
    int size;
    pthread_barrier_t bar;
    const rl_block_grads *g[MAX_RANKS];
    void *buf[MAX_RANKS];
} world;

typedef struct {
    world *w;
    int rank;
    rl_train_config cfg;
    const char *dir;
    int resume;
    int64_t steps;
    rl_status s;
} player;

/* Every rank sums every rank's blocks in block order: ((0 + g_0) + g_1) + ... */
static rl_status fake_reduce(void *ctx, const rl_block_grads *g, float *sum, double *loss, rl_status *status)
{
    player *p = ctx;
    world *w = p->w;
    w->g[p->rank] = g;
    pthread_barrier_wait(&w->bar);
    memset(sum, 0, g->n * sizeof *sum);
    *loss = 0, *status = RL_OK;
    for (int r = 0; r < w->size; r++)
        for (int k = 0; k < w->g[r]->count; k++) {
            for (size_t j = 0; j < g->n; j++) sum[j] += w->g[r]->grad[k][j];
            *loss += w->g[r]->loss[k];
            if (!*status) *status = w->g[r]->status[k];
        }
    pthread_barrier_wait(&w->bar); /* no rank's blocks change before all have read them */
    return RL_OK;
}

static rl_status fake_gather(void *ctx, void *buf, const size_t *part_bytes)
{
    player *p = ctx;
    world *w = p->w;
    w->buf[p->rank] = buf;
    pthread_barrier_wait(&w->bar);
    if (p->rank == 0)
        for (size_t r = 1, at = part_bytes[0]; r < (size_t)w->size; at += part_bytes[r], r++)
            memcpy((char *)buf + at, (const char *)w->buf[r] + at, part_bytes[r]);
    pthread_barrier_wait(&w->bar);
    return RL_OK;
}

static void *play(void *arg)
{
    player *p = arg;
    rl_shard sh = {p->rank, p->w->size, p, fake_reduce, fake_gather};
    rl_trainer *t = NULL;
    rl_resume_options o = {p->steps, NULL, &sh, NULL, 0};
    p->s = p->resume ? rl_trainer_resume_ex(&t, p->dir, &o) : rl_trainer_new_ex(&t, &p->cfg, p->dir, &sh);
    int intr = 0;
    if (!p->s) p->s = rl_trainer_run(t, NULL, &intr, NULL, NULL);
    rl_trainer_free(t);
    return NULL;
}

/* Train (or resume, to `steps`) the run in dir on n threads playing ranks. */
static rl_status run_ranks(int n, const rl_train_config *c, const char *dir, int resume, int64_t steps)
{
    world w = {.size = n};
    player p[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    pthread_barrier_init(&w.bar, NULL, (unsigned)n);
    /* rank 0 makes the folder before the others look at it (a new run's
     * other ranks do not touch it; resumed ones read the checkpoint) */
    for (int r = 0; r < n; r++) {
        p[r] = (player){&w, r, *c, dir, resume, steps, RL_OK};
        pthread_create(&th[r], NULL, play, &p[r]);
    }
    rl_status s = RL_OK;
    for (int r = 0; r < n; r++) {
        pthread_join(th[r], NULL);
        if (p[r].s && !s) s = p[r].s;
    }
    pthread_barrier_destroy(&w.bar);
    return s;
}

static unsigned char *file_bytes(const char *dir, const char *name, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return read_file(p, n);
}

static int same_file(const char *a, const char *b, const char *name)
{
    size_t na = 0, nb = 0;
    unsigned char *x = file_bytes(a, name, &na), *y = file_bytes(b, name, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x), free(y);
    return same;
}

/* A text run with everything the state of a step carries: two LSTM layers,
 * dropout, streams whose state goes on from window to window, and a batch of
 * three blocks, the last one short. */
static rl_train_config sharded(void)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_TEXT, c.seq_len = 25, c.k1 = 15, c.cell = RL_CELL_LSTM, c.hidden = 12, c.layers = 2;
    c.batch = 40, c.steps = 12, c.dropout = 0.25, c.log_every = 3, c.eval_every = 6, c.eval_batches = 2;
    c.flow_every = 6, c.ckpt_every = 6, c.seed = 5, c.block_sum = 1;
    return c;
}

TEST(shard_ranks_give_one_process_bits)
{
    rl_train_config c = sharded();
    char one[1100], dir[1100];
    snprintf(one, sizeof one, "%s/shard-one", test_tmpdir);
    rl_trainer *t = TEST_TRAIN(&c, one);
    rl_trainer_free(t);
    /* 2 and 3 ranks (blocks 2 + 1 and 1 + 1 + 1): the same files, but the times in the records */
    for (int n = 2; n <= 3; n++) {
        snprintf(dir, sizeof dir, "%s/shard-%d", test_tmpdir, n);
        CHECK_OK(run_ranks(n, &c, dir, 0, 0));
        CHECK_MSG(same_file(one, dir, "model.safetensors"), "%d ranks: the model differs from one process's", n);
        CHECK_MSG(same_file(one, dir, "checkpoint.safetensors"), "%d ranks: the checkpoint differs", n);
        CHECK_MSG(same_file(one, dir, "flow.jsonl"), "%d ranks: the gradient-flow records differ", n);
    }
    /* 2 ranks to step 6, then 3 ranks on from its checkpoint */
    snprintf(dir, sizeof dir, "%s/shard-2-3", test_tmpdir);
    rl_train_config half = c;
    half.steps = 6;
    CHECK_OK(run_ranks(2, &half, dir, 0, 0));
    CHECK_OK(run_ranks(3, &c, dir, 1, 12));
    CHECK_MSG(same_file(one, dir, "model.safetensors"), "2 ranks, resumed on 3: the model differs");
    CHECK_MSG(same_file(one, dir, "checkpoint.safetensors"), "2 ranks, resumed on 3: the checkpoint differs");
}

TEST(block_sum_keeps_thread_independence)
{
    rl_train_config c = rl_train_defaults();
    c.task = RL_TASK_ADDING, c.seq_len = 20, c.cell = RL_CELL_GRU, c.hidden = 16, c.batch = 50, c.steps = 8;
    c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0, c.eval_batches = 1, c.seed = 3;
    char dir[5][1100];
    /* 4 blocks: one after the other on 1 thread, one to a thread on 2 and 3,
     * one after the other on all of 8 (fewer blocks than threads) */
    const int threads[5] = {1, 2, 3, 8, 2};
    int keep = rl_get_num_threads();
    for (int k = 0; k < 5; k++) {
        snprintf(dir[k], sizeof dir[k], "%s/blocksum-%d", test_tmpdir, k);
        c.block_sum = k < 4;
        rl_set_num_threads(threads[k]);
        rl_trainer *t = TEST_TRAIN(&c, dir[k]);
        rl_trainer_free(t);
    }
    rl_set_num_threads(keep);
    CHECK_MSG(same_file(dir[0], dir[1], "model.safetensors") && same_file(dir[0], dir[2], "model.safetensors") &&
                  same_file(dir[0], dir[3], "model.safetensors"),
              "block_sum on 1, 2, 3 and 8 threads: the models differ");
    /* against one pass over the whole batch: the same model up to rounding */
    rl_model *a = NULL, *b = NULL;
    char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/model.safetensors", dir[0]);
    snprintf(pb, sizeof pb, "%s/model.safetensors", dir[4]);
    CHECK_OK(rl_model_load(&a, pa, RL_F32));
    CHECK_OK(rl_model_load(&b, pb, RL_F32));
    if (a && b) {
        const float *x = rl_model_params_const(a), *y = rl_model_params_const(b);
        double worst = 0;
        int differ = 0;
        for (size_t i = 0; i < rl_model_num_params(a); i++) {
            worst = fmax(worst, fabs((double)x[i] - y[i]) / (1e-3 + fabs((double)y[i])));
            differ += x[i] != y[i];
        }
        CHECK_MSG(worst < 1e-4, "block_sum and one pass differ by %g (relative)", worst);
        CHECK_MSG(differ > 0, "block_sum gave the bits of one pass: the test shows nothing");
    }
    rl_model_free(a), rl_model_free(b);
}

TEST(shard_blocks_and_refusals)
{
    int f, n, t;
    rl_shard_blocks(50, 0, 3, &f, &n, &t);
    CHECK(t == 4 && f == 0 && n == 1);
    rl_shard_blocks(50, 2, 3, &f, &n, &t);
    CHECK(f == 2 && n == 2);
    rl_shard_blocks(7, 0, 1, &f, &n, &t);
    CHECK(t == 1 && n == 1);
    /* more ranks than blocks; several ranks without block_sum: refused, nothing made */
    rl_train_config c = sharded();
    world w = {.size = 4};
    player p = {&w, 0, c, NULL, 0, 0, RL_OK};
    rl_shard sh = {0, 4, &p, fake_reduce, fake_gather};
    rl_trainer *tr = NULL;
    const char *dir = tmp_path("shard-refused");
    CHECK(rl_trainer_new_ex(&tr, &c, dir, &sh) == RL_ERR_ARG && !tr);
    CHECK_MSG(strstr(rl_errmsg(), "at most 3 processes"), "%s", rl_errmsg());
    sh.size = 2, c.block_sum = 0;
    CHECK(rl_trainer_new_ex(&tr, &c, dir, &sh) == RL_ERR_ARG && !tr);
    CHECK_MSG(strstr(rl_errmsg(), "--block-sum"), "%s", rl_errmsg());
    FILE *probe = fopen(dir, "r");
    CHECK_MSG(!probe, "a refused run made %s", dir);
    if (probe) fclose(probe);
    /* a run trained without block_sum is not continued on several processes */
    c.steps = 2, c.eval_every = 0, c.flow_every = 0, c.ckpt_every = 0;
    tr = TEST_TRAIN(&c, dir);
    rl_trainer_free(tr);
    tr = NULL;
    rl_resume_options o = {4, NULL, &sh, NULL, 0};
    CHECK(rl_trainer_resume_ex(&tr, dir, &o) == RL_ERR_ARG && !tr);
    /* the in-order sum of one process */
    float g0[3] = {1, -0.0f, 3}, g1[3] = {1e-8f, 0, -3};
    float *gs[2] = {g0, g1}, sum[3];
    double loss[2] = {0.25, 0.5}, total;
    rl_status st[2] = {RL_OK, RL_ERR_NONFINITE}, s;
    rl_block_grads g = {0, 2, 2, 3, gs, loss, st};
    rl_block_sum(&g, sum, &total, &s);
    CHECK(sum[0] == 1.0f && sum[1] == 0 && !signbit(sum[1]) && sum[2] == 0 && total == 0.75 && s == RL_ERR_NONFINITE);
}
