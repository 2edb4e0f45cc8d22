/* A training step in block_sum mode: the batch's gradient as the sum, in
 * block order, of the gradients of its blocks of RL_BLOCK_SEQS sequences,
 * each computed alone; shared among processes (rl_shard) and threads.
 *
 * Why blocks. One pass over the whole batch sums over its T*B rows inside
 * the GEMMs of the weight gradients, in an order fixed by OpenBLAS's
 * blocking of that one call; no split of the rows among processes can give
 * those bits back. A block's pass, on the other hand, depends only on the
 * block's sequences and the parameters, so every process that computes a
 * block gets the same bits, and a sum over blocks in a fixed order is the
 * same however the blocks were shared out. */
#include "train/shard.h"
#include "net/net.h"

#include "cells/cell.h"

#include <math.h>
#include <string.h>

struct rl_blocks {
    rl_shard sh;              /* rank 0 of 1 for one process */
    int B, T, L, H, I, O, c_states;
    int first, count, total;  /* this process's blocks of the batch */
    int full;                 /* sequences in a whole block: min(RL_BLOCK_SEQS, B) */
    int parts;                /* blocks computed at once (threads) */
    size_t n;                 /* parameters */
    rl_ws **ws;               /* (parts) workspaces of `full` sequences */
    rl_ws *ws_short;          /* the last block's, when it is shorter and this process's; else NULL */
    float **grad;             /* (count) each block's weighted gradient, n floats */
    double *loss;             /* (count) each block's weighted loss */
    rl_status *status;        /* (count) */
    float *h0, *c0;           /* (count, L, full, H) each block's initial state */
    float *hend, *cend;       /* (count, L, full, H) each block's state after k1 steps (text) */
    float *pack;              /* (B, L, H) the carried state by stream, for the gather */
};

void rl_shard_blocks(int B, int rank, int size, int *first, int *count, int *total)
{
    int nb = (B + RL_BLOCK_SEQS - 1) / RL_BLOCK_SEQS, k0, k1;
    rl_part_range(nb, rank, size, &k0, &k1);
    *first = k0, *count = k1 - k0, *total = nb;
}

void rl_block_sum(const rl_block_grads *g, float *sum, double *loss, rl_status *status)
{
    RL_ASSERT(g->count == g->total && g->first == 0);
    memset(sum, 0, g->n * sizeof *sum);
    *loss = 0, *status = RL_OK;
    for (int k = 0; k < g->count; k++) {
        const float *gk = g->grad[k];
        /* the order of the blocks, element by element: the adds a chain of processes makes */
        for (size_t j = 0; j < g->n; j++) sum[j] += gk[j];
        *loss += g->loss[k];
        if (!*status) *status = g->status[k];
    }
}

void rl_blocks_free(rl_blocks *bk)
{
    if (!bk) return;
    for (int p = 0; bk->ws && p < bk->parts; p++) rl_ws_free(bk->ws[p]);
    free(bk->ws);
    rl_ws_free(bk->ws_short);
    for (int k = 0; bk->grad && k < bk->count; k++) rl_free(bk->grad[k]);
    free(bk->grad);
    free(bk->loss), free(bk->status);
    rl_free(bk->h0), rl_free(bk->c0), rl_free(bk->hend), rl_free(bk->cend), rl_free(bk->pack);
    free(bk);
}

rl_status rl_blocks_new(rl_blocks **out, const rl_model *m, int B, int T, const rl_shard *shard)
{
    *out = NULL;
    RL_ASSERT(m->dtype == RL_F32);
    rl_shard one = {0, 1, NULL, NULL, NULL};
    const rl_shard *sh = shard ? shard : &one;
    int first, count, total;
    rl_shard_blocks(B, sh->rank, sh->size, &first, &count, &total);
    if (sh->size < 1 || sh->rank < 0 || sh->rank >= sh->size)
        return rl_fail(RL_ERR_ARG, "rank %d of %d processes", sh->rank, sh->size);
    if (sh->size > total)
        return rl_fail(RL_ERR_ARG,
                       "%d processes for a batch of %d sequences: it has %d block%s of %d, and each process needs one; "
                       "use at most %d processes or a larger --batch",
                       sh->size, B, total, total > 1 ? "s" : "", RL_BLOCK_SEQS, total);
    if (sh->size > 1 && (!sh->reduce || !sh->gather)) return rl_fail(RL_ERR_ARG, "a shard of several processes needs reduce and gather");
    rl_blocks *bk = calloc(1, sizeof *bk);
    if (!bk) return rl_fail(RL_ERR_NOMEM, "out of memory");
    const rl_config *c = &m->cfg;
    bk->sh = *sh;
    bk->B = B, bk->T = T, bk->L = c->num_layers, bk->H = rl_model_units(m), bk->I = c->input_size, bk->O = c->output_size;
    bk->c_states = rl_cell_states(c->cell) == 2;
    bk->first = first, bk->count = count, bk->total = total;
    bk->full = B < RL_BLOCK_SEQS ? B : RL_BLOCK_SEQS;
    bk->n = rl_model_num_params(m);
    /* a block to a thread when there are blocks enough for every thread;
     * else the blocks one after the other, each on all the threads (the
     * time loop's lockstep, the GEMMs' panels): the bits are the same */
    int threads = rl_get_num_threads();
    bk->parts = count >= threads ? threads : 1;
    const int last_len = B - (total - 1) * RL_BLOCK_SEQS; /* sequences in the last block */
    const size_t LFH = (size_t)bk->L * bk->full * bk->H;
    rl_status s = RL_OK;
    if (!(bk->ws = calloc((size_t)bk->parts, sizeof *bk->ws)) || !(bk->grad = calloc((size_t)count, sizeof *bk->grad)) ||
        !(bk->loss = calloc((size_t)count, sizeof *bk->loss)) || !(bk->status = calloc((size_t)count, sizeof *bk->status)))
        s = rl_fail(RL_ERR_NOMEM, "out of memory");
    for (int p = 0; !s && p < bk->parts; p++) s = rl_ws_new(&bk->ws[p], m, bk->full, T);
    if (!s && last_len < bk->full && first + count == total) s = rl_ws_new(&bk->ws_short, m, last_len, T);
    for (int k = 0; !s && k < count; k++)
        if (!(bk->grad[k] = rl_alloc(bk->n, sizeof(float)))) s = RL_ERR_NOMEM;
    if (!s && (!(bk->h0 = rl_alloc((size_t)count * LFH, 4)) || !(bk->c0 = rl_alloc((size_t)count * LFH, 4)) ||
               !(bk->hend = rl_alloc((size_t)count * LFH, 4)) || !(bk->cend = rl_alloc((size_t)count * LFH, 4)) ||
               !(bk->pack = rl_alloc((size_t)B * bk->L * bk->H, 4))))
        s = RL_ERR_NOMEM;
    if (s) {
        rl_blocks_free(bk);
        return s;
    }
    *out = bk;
    return RL_OK;
}

/* ------------------------------------------------------------------ a step */

typedef struct {
    rl_blocks *bk;
    const rl_model *m;
    const rl_batch *b;
    double S;                 /* the whole batch's mask sum */
    double p, clip_msg;
    uint64_t seed;
    int k1;
} step_job;

/* The mask sum of sequences [b0, b1), in the order rl_batch_check sums a batch. */
static double mask_sum(const rl_batch *b, int b0, int b1)
{
    double s = 0;
    for (size_t i = (size_t)b0 * b->steps; i < (size_t)b1 * b->steps; i++) s += b->mask ? ((const float *)b->mask)[i] : 1.0;
    return s;
}

/* Block k (this process's k-th): its pass, its weighted gradient and loss. */
static void run_block(const step_job *j, int k, rl_ws *ws)
{
    rl_blocks *bk = j->bk;
    const rl_batch *b = j->b;
    const int g = bk->first + k, b0 = g * RL_BLOCK_SEQS, Bk = b0 + RL_BLOCK_SEQS <= bk->B ? RL_BLOCK_SEQS : bk->B - b0;
    const int T = bk->T, L = bk->L, H = bk->H;
    const size_t LFH = (size_t)L * bk->full * H, BT0 = (size_t)b0 * T;
    float *h0 = bk->h0 + k * LFH, *c0 = bk->c0 + k * LFH, *gk = bk->grad[k];
    /* the block's rows of the batch: its sequences are consecutive in (B, T, .) */
    rl_batch bb = {RL_F32, Bk, T, b->input_size, (const float *)b->x + BT0 * bk->I, b->target ? b->target + BT0 : NULL,
                   b->y ? (const float *)b->y + BT0 * bk->O : NULL, b->mask ? (const float *)b->mask + BT0 : NULL, NULL, NULL};
    /* the initial states (L, B, H) -> (L, Bk, H) */
    for (int l = 0; l < L; l++) {
        if (b->h0) memcpy(h0 + (size_t)l * Bk * H, (const float *)b->h0 + ((size_t)l * bk->B + b0) * H, (size_t)Bk * H * 4);
        if (b->c0) memcpy(c0 + (size_t)l * Bk * H, (const float *)b->c0 + ((size_t)l * bk->B + b0) * H, (size_t)Bk * H * 4);
    }
    bb.h0 = b->h0 ? h0 : NULL, bb.c0 = b->c0 ? c0 : NULL;
    const double Sk = mask_sum(b, b0, b0 + Bk);
    double l = 0;
    rl_ws_zero_grad(ws);
    /* dropout masks drawn from the block's own stream: the same whichever process draws them */
    rl_status s = rl_ws_set_dropout(ws, j->p, j->seed + 0xD1B54A32D192ED03ull * (uint64_t)(g + 1));
    /* the block's dL/dz is the batch's times S / S_k: so is its clip */
    if (!s) s = rl_ws_set_clip_message(ws, Sk > 0 ? j->clip_msg * (j->S / Sk) : 0);
    if (!s && Sk > 0) {
        s = rl_forward(ws, j->m, &bb, &l);
        if (!s) s = rl_backward(ws, j->m, &bb);
    } else if (!s && j->k1) { /* no step of the block carries a loss: the state still moves on */
        s = rl_forward(ws, j->m, &bb, NULL);
    }
    /* the block's loss is sum m l / S_k: weighted by S_k / S it is its part of sum m l / S */
    const double share = Sk / j->S;
    const float fs = (float)share;
    const float *gw = rl_ws_grad(ws);
    if (!s && Sk > 0)
        for (size_t i = 0; i < bk->n; i++) gk[i] = gw[i] * fs;
    else memset(gk, 0, bk->n * sizeof *gk);
    bk->loss[k] = s ? NAN : share * l;
    if (!s && j->k1) s = rl_ws_state_at(ws, j->k1, bk->hend + k * LFH, bk->c_states ? bk->cend + k * LFH : NULL);
    bk->status[k] = s;
}

static void step_part(void *p, int part, int parts)
{
    const step_job *j = p;
    rl_blocks *bk = j->bk;
    int k0, k1;
    rl_part_range(bk->count, part, parts, &k0, &k1);
    for (int k = k0; k < k1; k++) {
        const int b0 = (bk->first + k) * RL_BLOCK_SEQS, Bk = bk->B - b0 < RL_BLOCK_SEQS ? bk->B - b0 : RL_BLOCK_SEQS;
        run_block(j, k, Bk == bk->full ? bk->ws[part] : bk->ws_short);
    }
}

rl_status rl_blocks_step(rl_blocks *bk, const rl_model *m, const rl_batch *b, double p, double clip_msg, uint64_t seed,
                         int k1, float *grad, double *loss)
{
    RL_ASSERT(b->batch == bk->B && b->steps == bk->T && b->dtype == RL_F32 && m->dtype == RL_F32);
    const double S = mask_sum(b, 0, bk->B);
    if (!(S > 0)) return rl_fail(RL_ERR_ARG, "the mask sums to zero: no step carries a loss");
    step_job j = {bk, m, b, S, p, clip_msg, seed, k1};
    /* a block to a thread: inside, the passes run on the thread that took the
     * block (a region inside a region runs on its caller), and OpenBLAS on
     * one thread for all of them */
    int blas = rl_blas_single();
    if (bk->parts > 1) rl_parallel(bk->parts, step_part, &j, NULL);
    else step_part(&j, 0, 1);
    rl_blas_restore(blas);
    rl_block_grads g = {bk->first, bk->count, bk->total, bk->n, bk->grad, bk->loss, bk->status};
    rl_status st = RL_OK, s = RL_OK;
    if (bk->sh.size == 1) rl_block_sum(&g, grad, loss, &st);
    else s = bk->sh.reduce(bk->sh.ctx, &g, grad, loss, &st);
    if (s) return s;
    if (st == RL_ERR_NONFINITE) return rl_fail(st, "the loss is %g", *loss);
    if (st) {
        for (int k = 0; k < bk->count; k++) /* this process's own message, when the block was its own */
            if (bk->status[k] == st) return st;
        return rl_fail(st, "another process failed in this step (%s)", rl_strerror(st));
    }
    return RL_OK;
}

void rl_blocks_carry(const rl_blocks *bk, float *carry_h, float *carry_c)
{
    const int L = bk->L, H = bk->H;
    const size_t LFH = (size_t)L * bk->full * H;
    for (int k = 0; k < bk->count; k++) {
        const int b0 = (bk->first + k) * RL_BLOCK_SEQS, Bk = bk->B - b0 < RL_BLOCK_SEQS ? bk->B - b0 : RL_BLOCK_SEQS;
        for (int l = 0; l < L; l++) {
            memcpy(carry_h + ((size_t)l * bk->B + b0) * H, bk->hend + k * LFH + (size_t)l * Bk * H, (size_t)Bk * H * 4);
            if (bk->c_states && carry_c)
                memcpy(carry_c + ((size_t)l * bk->B + b0) * H, bk->cend + k * LFH + (size_t)l * Bk * H, (size_t)Bk * H * 4);
        }
    }
}

/* carry (L, B, H) <-> pack (B, L, H): a process's streams are one run of the pack */
static void to_pack(const rl_blocks *bk, float *carry, float *pack, int back)
{
    const int L = bk->L, H = bk->H;
    for (int b = 0; b < bk->B; b++)
        for (int l = 0; l < L; l++) {
            float *p = pack + ((size_t)b * L + l) * H;
            float *c = carry + ((size_t)l * bk->B + b) * H;
            if (back) memcpy(c, p, (size_t)H * 4);
            else memcpy(p, c, (size_t)H * 4);
        }
}

rl_status rl_blocks_gather(rl_blocks *bk, float *carry_h, float *carry_c)
{
    if (bk->sh.size == 1) return RL_OK;
    size_t *bytes = calloc((size_t)bk->sh.size, sizeof *bytes);
    if (!bytes) return rl_fail(RL_ERR_NOMEM, "out of memory");
    for (int r = 0; r < bk->sh.size; r++) {
        int f, c, t;
        rl_shard_blocks(bk->B, r, bk->sh.size, &f, &c, &t);
        int b0 = f * RL_BLOCK_SEQS, b1 = (f + c) * RL_BLOCK_SEQS < bk->B ? (f + c) * RL_BLOCK_SEQS : bk->B;
        bytes[r] = (size_t)(b1 - b0) * bk->L * bk->H * 4;
    }
    rl_status s = RL_OK;
    for (int which = 0; !s && which < 1 + bk->c_states; which++) {
        float *carry = which ? carry_c : carry_h;
        to_pack(bk, carry, bk->pack, 0);
        s = bk->sh.gather(bk->sh.ctx, bk->pack, bytes);
        if (!s && bk->sh.rank == 0) to_pack(bk, carry, bk->pack, 1);
    }
    free(bytes);
    return s;
}
