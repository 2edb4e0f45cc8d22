/* Train a small LSTM on the adding problem with the library's pieces (the
 * loop rnnlab train runs, by hand), then save it.
 *
 *   cc -o train train.c $(pkg-config --cflags --libs rnnlab)
 *   ./train model.safetensors
 */
#include <rnnlab.h>

#include <stdio.h>

#define TRY(expr)                                                                            \
    do {                                                                                     \
        if ((s = (expr)) != RL_OK) {                                                         \
            fprintf(stderr, "train: %s\n", rl_errmsg()[0] ? rl_errmsg() : rl_strerror(s));   \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.safetensors\n", argv[0]);
        return 2;
    }
    const int T = 20, B = 32, steps = 300;
    rl_task *task = NULL;
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_ws *ws = NULL;
    rl_optim *opt = NULL;
    rl_status s;
    TRY(rl_task_new(&task, RL_TASK_ADDING, T, NULL));
    rl_task_info info = rl_task_get_info(task);
    /* a float32 model sized for the task: inputs (value, marker), one output */
    rl_config cfg = {.cell = RL_CELL_LSTM, .input_size = info.input_size, .hidden_size = 32, .num_layers = 1, .output_size = info.output_size, .loss = info.loss};
    TRY(rl_model_new(&m, &cfg, RL_F32));
    rl_init init = {.kind = RL_INIT_UNIFORM, .gain = 1};
    TRY(rl_model_init(m, &init, 1));
    TRY(rl_task_data_new(&d, task, B));
    TRY(rl_ws_new(&ws, m, B, info.steps));
    rl_optim_config oc = rl_optim_defaults(RL_OPT_ADAM);
    TRY(rl_optim_new(&opt, m, &oc));
    rl_rng rng;
    rl_rng_seed(&rng, 2);
    double first = 0, loss = 0, norm = 0;
    for (int step = 1; step <= steps; step++) {
        TRY(rl_task_fill(task, d, &rng, 0, NULL)); /* fresh sequences */
        rl_ws_zero_grad(ws);
        TRY(rl_forward(ws, m, rl_data_batch(d), &loss));
        TRY(rl_backward(ws, m, rl_data_batch(d)));
        /* clip the global norm at 1 (Pascanu et al.), then Adam at 1e-2 */
        TRY(rl_clip_grad_norm(rl_ws_grad(ws), rl_model_num_params(m), RL_F32, 1.0, &norm));
        TRY(rl_optim_step(opt, m, rl_ws_grad(ws), 1e-2));
        if (step == 1) first = loss;
        if (step % 100 == 0) printf("step %d: loss %.4f, |g| %.3f\n", step, loss, norm);
    }
    printf("loss %.4f -> %.4f (always predicting 1 scores %.4f)\n", first, loss, info.baseline);
    TRY(rl_model_save(m, argv[1]));
    printf("saved %s\n", argv[1]);
done:
    rl_optim_free(opt);
    rl_ws_free(ws);
    rl_data_free(d);
    rl_model_free(m);
    rl_task_free(task);
    return s == RL_OK ? 0 : 1;
}
