/* Private to the library: a training step in block_sum mode (src/shard.c).
 *
 * The batch of B sequences is cut into blocks of RL_BLOCK_SEQS consecutive
 * sequences. Each block's forward and backward pass runs alone, in a
 * workspace of its own size, with the loss weights of the whole batch; the
 * block gradients are kept apart and summed in block order, by this process
 * (rl_block_sum) or across processes (rl_shard.reduce). A process computes
 * only its own blocks (rl_shard_blocks): one block to a thread when it has
 * a block for every thread, else one block after the other on all its
 * threads. A block is computed the same way whichever thread or process
 * takes it, so the sum has the same bits for any split. */
#ifndef RL_SHARD_H
#define RL_SHARD_H

#include "net/net.h"

typedef struct rl_blocks rl_blocks;

/* The workspaces and buffers of this process's blocks of a (B, T) batch for
 * float32 model m; shard NULL: one process, every block. RL_ERR_ARG when
 * the shard has more ranks than the batch has blocks. */
rl_status rl_blocks_new(rl_blocks **out, const rl_model *m, int B, int T, const rl_shard *shard);
void rl_blocks_free(rl_blocks *bk);

/* One step: the gradient of the loss of batch b (all B sequences; b->h0 and
 * b->c0 the state each stream starts from, (L, B, H), or NULL) into grad
 * (the model's n floats) and *loss, the same on every process. Dropout p
 * with masks drawn from seed and the block's index; the message clip
 * clip_msg (rl_ws_set_clip_message; 0 = off) on the whole batch's scale. k1 > 0 (text): each of
 * this process's blocks keeps its state after k1 steps, for rl_blocks_carry.
 * A block that failed (a non-finite loss: RL_ERR_NONFINITE) fails the step
 * on every process alike. */
rl_status rl_blocks_step(rl_blocks *bk, const rl_model *m, const rl_batch *b, double p, double clip_msg, uint64_t seed,
                         int k1, float *grad, double *loss);
/* Text, after a step that succeeded: the state after k1 steps of this
 * process's streams into carry_h and carry_c ((L, B, H); c only for LSTM);
 * the other streams' rows are left as they are. */
void rl_blocks_carry(const rl_blocks *bk, float *carry_h, float *carry_c);
/* Before rank 0 writes a checkpoint: every process's streams of carry_h and
 * carry_c (L, B, H) gathered into rank 0's (a no-op for one process). */
rl_status rl_blocks_gather(rl_blocks *bk, float *carry_h, float *carry_c);

#endif
