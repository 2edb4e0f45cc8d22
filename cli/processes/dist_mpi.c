/* The MPI build's processes (rnnlab-mpi; cli/processes/dist.h). MPI is initialised
 * only when a launcher started this process; the default error handler
 * (MPI_ERRORS_ARE_FATAL) stays, so a failed exchange ends the job, and a
 * rank that dies is noticed by the launcher, which stops the others
 * (docs/scaling.md, "Faults").
 *
 * The gradient's reduction. MPI_Allreduce fixes no order of its adds (the
 * algorithm, and so the association, changes with the message size and the
 * number of processes). Here the order is the blocks': rank 0 starts each
 * element at 0 and adds its blocks' gradients in turn, passes the partial
 * sums to rank 1, which adds its own, and so on up the chain; the last rank
 * then holds ((0 + g_0) + g_1) + ... , exactly rl_block_sum's, and
 * broadcasts it (a copy, no arithmetic). The gradient travels in chunks, so
 * that the chain is a pipeline: rank r adds chunk c while rank r + 1 adds
 * chunk c - 1, and the whole costs about the time to send the gradient
 * twice (the chain and the broadcast), as a ring all-reduce does, plus one
 * chunk per rank of latency. */
#include "cli.h"
#include "processes/dist.h"

#include <mpi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int on;          /* MPI was initialised */
static int rank_, size_ = 1;

enum { TAG_CHAIN = 1, TAG_ASK, TAG_GIVE };

/* floats per message of the chain: 1 MiB */
#define CHUNK ((size_t)1 << 18)

static volatile int *usr1_flag;
static void on_usr1(int sig)
{
    (void)sig;
    if (usr1_flag) *usr1_flag = 1;
}

int cli_dist_init(int *argc, char ***argv)
{
    int size = cli_dist_launched(NULL, 0);
    if (size == 0) return 0;
    int provided = 0;
    /* rnnlab's own threads never call MPI: only the main thread does */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "rnnlab: MPI_Init failed\n");
        return 1;
    }
    on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    return 0;
}

void cli_dist_finalize(void)
{
    if (on) MPI_Finalize();
    on = 0;
}

int cli_dist_rank(void) { return rank_; }
int cli_dist_size(void) { return size_; }
int cli_dist_available(void) { return 1; }

void cli_dist_abort(int code)
{
    fflush(stdout), fflush(stderr);
    if (on && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int cli_dist_max(int v)
{
    int r = v;
    if (on && size_ > 1) MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return r;
}

/* ------------------------------------------------------------------ training */

typedef struct {
    volatile int *raw, *agreed;
} train_ctx;
static train_ctx tc;

/* The counts and offsets of every rank's part of an array of `per` values a
 * block, the blocks shared out as the trainer shares them. */
static void parts(int total, int per, int *count, int *displ)
{
    for (int r = 0, at = 0; r < size_; r++) {
        int first, n, all;
        rl_shard_blocks(total * RL_BLOCK_SEQS, r, size_, &first, &n, &all);
        count[r] = n * per, displ[r] = at, at += count[r];
    }
}

static rl_status reduce(void *ctx, const rl_block_grads *g, float *sum, double *loss, rl_status *status)
{
    const train_ctx *c = ctx;
    int *count = malloc((size_t)size_ * sizeof *count), *displ = malloc((size_t)size_ * sizeof *displ);
    double *mine = malloc((size_t)(2 * g->count + 1) * sizeof *mine), *all = malloc((size_t)(2 * g->total) * sizeof *all);
    size_t nchunks = (g->n + CHUNK - 1) / CHUNK;
    MPI_Request *req = malloc((nchunks + 1) * sizeof *req);
    if (!count || !displ || !mine || !all || !req) {
        free(count), free(displ), free(mine), free(all), free(req);
        fprintf(stderr, "rnnlab: rank %d: out of memory for the gradient's exchange\n", rank_);
        cli_dist_abort(1); /* the others wait in the exchange: stop them all */
    }
    /* every block's loss and status, to every rank: summed there in block order */
    for (int k = 0; k < g->count; k++) mine[2 * k] = g->loss[k], mine[2 * k + 1] = (double)g->status[k];
    parts(g->total, 2, count, displ);
    MPI_Allgatherv(mine, 2 * g->count, MPI_DOUBLE, all, count, displ, MPI_DOUBLE, MPI_COMM_WORLD);
    *loss = 0, *status = RL_OK;
    for (int k = 0; k < g->total; k++) {
        *loss += all[2 * k];
        if (!*status) *status = (rl_status)all[2 * k + 1];
    }
    /* a stop asked of any rank is every rank's, from the next step */
    int raw = *c->raw, agreed = 0;
    MPI_Allreduce(&raw, &agreed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    *c->agreed = agreed;
    /* the chain: ((0 + g_0) + g_1) + ..., in rank order, chunk by chunk */
    size_t nreq = 0;
    for (size_t c0 = 0; c0 < g->n; c0 += CHUNK) {
        const int len = (int)(g->n - c0 < CHUNK ? g->n - c0 : CHUNK);
        float *s = sum + c0;
        if (rank_ == 0) memset(s, 0, (size_t)len * sizeof *s);
        else MPI_Recv(s, len, MPI_FLOAT, rank_ - 1, TAG_CHAIN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int k = 0; k < g->count; k++) {
            const float *gk = g->grad[k] + c0;
            for (int j = 0; j < len; j++) s[j] += gk[j];
        }
        if (rank_ + 1 < size_) MPI_Isend(s, len, MPI_FLOAT, rank_ + 1, TAG_CHAIN, MPI_COMM_WORLD, &req[nreq++]);
    }
    MPI_Waitall((int)nreq, req, MPI_STATUSES_IGNORE);
    /* the last rank holds the sum: a copy to every other */
    for (size_t c0 = 0; c0 < g->n; c0 += CHUNK * 64) {
        const int len = (int)(g->n - c0 < CHUNK * 64 ? g->n - c0 : CHUNK * 64);
        MPI_Bcast(sum + c0, len, MPI_FLOAT, size_ - 1, MPI_COMM_WORLD);
    }
    free(count), free(displ), free(mine), free(all), free(req);
    return RL_OK;
}

static rl_status gather(void *ctx, void *buf, const size_t *part_bytes)
{
    (void)ctx;
    int *count = malloc((size_t)size_ * sizeof *count), *displ = malloc((size_t)size_ * sizeof *displ);
    if (!count || !displ) {
        free(count), free(displ);
        fprintf(stderr, "rnnlab: rank %d: out of memory\n", rank_);
        cli_dist_abort(1);
    }
    size_t at = 0;
    for (int r = 0; r < size_; r++) count[r] = (int)part_bytes[r], displ[r] = (int)at, at += part_bytes[r];
    char *b = buf;
    if (rank_ == 0) MPI_Gatherv(MPI_IN_PLACE, 0, MPI_BYTE, b, count, displ, MPI_BYTE, 0, MPI_COMM_WORLD);
    else MPI_Gatherv(b + displ[rank_], count[rank_], MPI_BYTE, NULL, NULL, NULL, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(count), free(displ);
    return RL_OK;
}

rl_shard cli_dist_shard(volatile int *raw, volatile int *agreed)
{
    tc.raw = raw, tc.agreed = agreed;
    if (!on || size_ == 1) return (rl_shard){0, 1, NULL, NULL, NULL};
    /* Open MPI's mpirun passes SIGUSR1 on to every rank: a stop that leaves
     * time for the checkpoint (its SIGTERM is followed by SIGKILL a second later) */
    usr1_flag = raw;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    return (rl_shard){rank_, size_, &tc, reduce, gather};
}

static char term_line[1200];
static volatile int *term_flag;
static volatile sig_atomic_t term_said;

static void on_term(int sig)
{
    (void)sig;
    if (term_flag) *term_flag = 1;
    if (!term_said && term_line[0]) {
        term_said = 1;
        ssize_t w = write(2, term_line, strlen(term_line));
        (void)w;
    }
}

void cli_dist_say_on_term(const char *line, volatile int *raw)
{
    if (!on || size_ == 1) return;
    snprintf(term_line, sizeof term_line, "%s\n", line);
    term_flag = raw;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
}

/* ------------------------------------------------------------------ sweeps */

int cli_dist_poll(int *from, int *point, char **text)
{
    int flag = 0, n = 0;
    MPI_Status st;
    *text = NULL;
    MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *b = malloc((size_t)n + 1);
    if (!b) {
        fprintf(stderr, "rnnlab: out of memory\n");
        cli_dist_abort(1);
    }
    MPI_Recv(b, n, MPI_BYTE, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    b[n] = '\0';
    /* "POINT TEXT" */
    *from = st.MPI_SOURCE;
    *point = atoi(b);
    char *sp = strchr(b, ' ');
    if (sp && sp[1]) {
        *text = strdup(sp + 1);
        if (!*text) {
            fprintf(stderr, "rnnlab: out of memory\n");
            cli_dist_abort(1);
        }
    }
    free(b);
    return 1;
}

void cli_dist_give(int to, int point) { MPI_Send(&point, 1, MPI_INT, to, TAG_GIVE, MPI_COMM_WORLD); }

int cli_dist_ask(int point, const char *text)
{
    size_t n = strlen(text ? text : "") + 24;
    char *b = malloc(n);
    if (!b) {
        fprintf(stderr, "rnnlab: out of memory\n");
        cli_dist_abort(1);
    }
    int len = snprintf(b, n, "%d %s", point, text ? text : "");
    MPI_Send(b, len, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
    free(b);
    /* waiting for rank 0, which looks for messages between its own points'
     * checks: poll gently rather than spin a core meanwhile */
    int next = -1, flag = 0;
    MPI_Request r;
    MPI_Irecv(&next, 1, MPI_INT, 0, TAG_GIVE, MPI_COMM_WORLD, &r);
    for (;;) {
        MPI_Test(&r, &flag, MPI_STATUS_IGNORE);
        if (flag) break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return next;
}
