/* The Jacobian product ds_T/ds_0 of a saved model over a sequence, and its
 * spectrum: the eigenvalues of the product next to the products of the
 * steps' eigenvalues (the theorem of docs/jacobians.md), and its singular
 * values, which say how much of a gradient survives T steps back.
 *
 *   cc -o jacobian jacobian.c $(pkg-config --cflags --libs rnnlab)
 *   ./jacobian model.safetensors [T]
 */
#include <rnnlab.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors [T]\n", argv[0]);
        return 2;
    }
    int T = argc == 3 ? atoi(argv[2]) : 50;
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_jac *j = NULL;
    double *P = NULL, *buf = NULL;
    rl_status s = rl_model_load(&m, argv[1], RL_F64);
    /* one random sequence: x ~ N(0, 1), random targets, no mask, h0 = 0 */
    if (!s) s = rl_data_random(&d, m, 1, T > 0 ? T : 1, RL_F64, 0, 0, 7);
    if (!s) s = rl_jac_new(&j, m, rl_data_batch(d), 0);
    int S = j ? rl_jac_state_size(j) : 0;
    if (!s && (!(P = malloc(sizeof *P * S * S)) || !(buf = malloc(sizeof *buf * 5 * S)))) {
        fprintf(stderr, "jacobian: out of memory\n");
        s = RL_ERR_NOMEM;
        goto done;
    }
    double log_scale = 0;
    /* P(T, 0) = exp(log_scale) * P, ||P||_F = 1: no over- or underflow */
    if (!s) s = rl_jac_product(j, T, 0, P, &log_scale);
    rl_theorem th = {.eig_log_abs = buf, .eig_arg = buf + S, .matched_log_abs = buf + 2 * S,
                     .matched_arg = buf + 3 * S, .sv_log = buf + 4 * S};
    if (!s) s = rl_jac_theorem(j, 0, &th);
    if (s) {
        fprintf(stderr, "jacobian: %s\n", rl_errmsg()[0] ? rl_errmsg() : rl_strerror(s));
        goto done;
    }
    rl_config c = rl_model_config(m);
    printf("%s, S = %d, T = %d: ln ||ds_T/ds_0||_F = %.6g\n", rl_cell_name(c.cell), S, T, log_scale);
    printf("%4s %14s %14s %14s\n", "i", "ln|lambda_i|", "ln|mu_i|", "ln sigma_i");
    for (int i = 0; i < S && i < 8; i++)
        printf("%4d %14.6g %14.6g %14.6g\n", i, th.eig_log_abs[i], th.matched_log_abs[i], th.sv_log[i]);
    printf("eigenvalues against the products of the steps': max |mu/lambda - 1| = %.3g over %d resolved\n", th.eig_dev,
           th.resolved);
done:
    free(buf);
    free(P);
    rl_jac_free(j);
    rl_data_free(d);
    rl_model_free(m);
    return s == RL_OK ? 0 : 1;
}
