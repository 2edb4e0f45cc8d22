/* rnnlab explain: the study notes' question worked in numbers for a small
 * model, in the terminal: J_t at every step, V and Lambda, and the product
 * P(t, tau) beside V Lambda_t ... Lambda_{tau+1} V^-1. */
#include "cli.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rnnlab explain --model M [--data D] [--steps T] [--tau TAU] [--seed S] [--json]\n"
    "\n"
    "The question of the study notes behind rnnlab (Deep Learning, chapter 10), in\n"
    "numbers, for a model whose state has at most 8 numbers. By the chain rule\n"
    "  P(t, tau) = ds_t/ds_tau = J_t J_{t-1} ... J_{tau+1},\n"
    "and if every J_k = V Lambda_k V^-1 with one V, then P = V Lambda_t ... Lambda_{tau+1} V^-1:\n"
    "eigenvalues multiply, so gradients over long lags vanish (|lambda| < 1) or\n"
    "explode (|lambda| > 1). explain prints every J_k, V (the eigenvectors of\n"
    "J_{tau+1}), Lambda_k = diag(V^-1 J_k V) with the share of V^-1 J_k V off its\n"
    "diagonal, and the product beside V Lambda_t ... Lambda_{tau+1} V^-1. For a linear\n"
    "RNN (J_k = W_hh) they agree; for a tanh RNN (J_k = diag(1 - h_k^2) W_hh) the\n"
    "eigenvectors change with k and the identity breaks: by how much is printed.\n"
    "Where J_{tau+1} has complex eigenvalues (in conjugate pairs; most W_hh) V,\n"
    "Lambda_k and the products are complex and printed as a+bi; V^-1 is printed\n"
    "beside V (the inverse: V^T only where V is orthogonal, a symmetric W_hh). The\n"
    "model's state has at most 8 numbers (L*H, LSTM 2*L*H). Without --data the inputs\n"
    "are x ~ N(0, 1) for --steps steps (at most 16), drawn from --seed; --data D takes\n"
    "the inputs x and initial state h0 of its sequence 0.\n"
    "\n";

static void explain_defaults(cli_args *a) { a->seq_steps = 4, a->t.seed = 0; }

const cli_command cli_explain_command = {"explain", usage,
                                         "example:\n"
                                         "  rnnlab init --cell linear --input 1 --hidden 3 --output 1 --init symmetric --gain 0.9 --out m.safetensors\n"
                                         "  rnnlab explain --model m.safetensors\n",
                                         "model", 0, explain_defaults};

/* A matrix, its name beside the middle row; im (or NULL): the imaginary
 * parts, each entry then "a+bi" */
static void print_matrix(const char *name, const double *a, const double *im, int S, int indent)
{
    for (int i = 0; i < S; i++) {
        printf("%*s%s", indent, "", i == S / 2 ? name : "");
        if (i != S / 2) printf("%*s", (int)strlen(name), "");
        printf("[");
        for (int k = 0; k < S; k++) {
            printf(" %9.5f", a[(size_t)i * S + k]);
            if (im) printf("%+9.5fi", im[(size_t)i * S + k]);
        }
        printf(" ]\n");
    }
}

/* "0.5" or "0.3+0.4i": a number, complex when im is (in a complex example, a
 * real eigenvalue is printed real: its parts are exactly real) */
static const char *cnum_text(double re, double im, int cplx, char *buf, size_t n)
{
    if (cplx && im != 0) snprintf(buf, n, "%.5g%+.5gi", re, im);
    else snprintf(buf, n, "%.5g", re);
    return buf;
}

static cJSON *json_matrix(const double *a, int S)
{
    cJSON *m = cJSON_CreateArray();
    for (int i = 0; i < S; i++) cJSON_AddItemToArray(m, cJSON_CreateDoubleArray(a + (size_t)i * S, S));
    return m;
}

/* An array of the worked example by its name in the JSON: n numbers, or
 * (n = 0) an (S, S) matrix, row-major. */
typedef struct {
    const char *name;
    const double *x;
    int n;
} json_field;

static void add_fields(cJSON *root, const json_field *f, int count, int S)
{
    for (int i = 0; i < count; i++)
        cJSON_AddItemToObject(root, f[i].name, f[i].n ? cJSON_CreateDoubleArray(f[i].x, f[i].n) : json_matrix(f[i].x, S));
}

/* The numbers of w as one JSON object on stdout (the imaginary parts, *_im, zero for real eigenvalues). */
static void print_json(const rl_worked *w, rl_cell cell)
{
    const int S = w->S, n = w->t - w->tau;
    cJSON *root = cJSON_CreateObject(), *js = cJSON_AddArrayToObject(root, "J"), *lam = cJSON_AddArrayToObject(root, "lambda"),
          *lim = cJSON_AddArrayToObject(root, "lambda_im");
    cJSON_AddStringToObject(root, "cell", rl_cell_name(cell));
    cJSON_AddNumberToObject(root, "state_size", S);
    cJSON_AddNumberToObject(root, "t", w->t);
    cJSON_AddNumberToObject(root, "tau", w->tau);
    cJSON_AddBoolToObject(root, "complex", w->complex_eig);
    for (int k = 0; k < n; k++) {
        cJSON_AddItemToArray(js, json_matrix(w->J[k], S));
        cJSON_AddItemToArray(lam, cJSON_CreateDoubleArray(w->lambda[k], S));
        cJSON_AddItemToArray(lim, cJSON_CreateDoubleArray(w->lambda_im[k], S));
    }
    const json_field basis[] = {{"off_share", w->off_share, n}, {"V", w->V, 0}, {"V_im", w->V_im, 0}, {"Vinv", w->Vinv, 0},
                                {"Vinv_im", w->Vinv_im, 0}};
    const json_field product[] = {{"prod_lambda", w->prod_lambda, S}, {"prod_lambda_im", w->prod_lambda_im, S}, {"P", w->P, 0},
                                  {"V_prod_lambda_Vinv", w->R, 0}, {"V_prod_lambda_Vinv_im", w->R_im, 0}};
    add_fields(root, basis, 5, S);
    cJSON_AddBoolToObject(root, "unitary", w->unitary);
    cJSON_AddNumberToObject(root, "v_cond", w->v_cond);
    add_fields(root, product, 5, S);
    cJSON_AddNumberToObject(root, "deviation", w->deviation);
    char *txt = cJSON_Print(root);
    if (txt) puts(txt);
    free(txt);
    cJSON_Delete(root);
}

/* V, V^-1 and what they are, on stdout */
static void print_basis(const rl_worked *w)
{
    const int S = w->S, c = w->complex_eig;
    char b[64];
    printf("the eigenvalues of J_%d: ", w->tau + 1);
    for (int i = 0; i < S; i++) printf("%s%s", i ? ", " : "", cnum_text(w->lambda[0][i], w->lambda_im[0][i], c, b, sizeof b));
    printf("%s\n\n", c ? " (complex, in conjugate pairs: V and Lambda_k are complex too)" : "");
    printf("V: the eigenvectors of J_%d (columns, each of length 1)\n", w->tau + 1);
    print_matrix("V = ", w->V, c ? w->V_im : NULL, S, 2);
    printf("\nV^-1, its inverse: %s\n", w->unitary ? (c ? "V is unitary, so V^-1 = V^H (the conjugate transpose)"
                                                         : "V is orthogonal, so V^-1 = V^T")
                                                   : (c ? "V is not unitary, so V^-1 is not V^H" : "V is not orthogonal, so V^-1 is not V^T"));
    print_matrix("V^-1 = ", w->Vinv, c ? w->Vinv_im : NULL, S, 2);
    if (w->v_cond > 1e8) printf("  (V is ill-conditioned, ||V||_1 ||V^-1||_1 = %.3g: about %.0f digits are lost)\n", w->v_cond, log10(w->v_cond));
}

/* w in words and matrices on stdout; data: where the inputs came from (NULL: drawn here). */
static void print_text(const rl_worked *w, rl_cell cell, const char *data)
{
    const int S = w->S, T = w->t, tau = w->tau, n = T - tau, c = w->complex_eig;
    char b[64];
    printf("%s RNN, state of %d (%s), %d steps of inputs %s; the product over steps %d..%d\n\n", rl_cell_name(cell), S,
           rl_cell_states(cell) == 2 ? "[h; c]" : "h", T, data ? data : "x ~ N(0, 1)", tau + 1, T);
    for (int k = 0; k < n; k++) {
        char name[48];
        snprintf(name, sizeof name, "J_%d = ", tau + 1 + k);
        print_matrix(name, w->J[k], NULL, S, 2);
        printf("\n");
    }
    print_basis(w);
    printf("\nLambda_k = diag(V^-1 J_k V), and the share of V^-1 J_k V off its diagonal:\n");
    for (int k = 0; k < n; k++) {
        printf("  k = %-3d  Lambda = (", tau + 1 + k);
        for (int i = 0; i < S; i++) printf("%s%s", i ? ", " : "", cnum_text(w->lambda[k][i], w->lambda_im[k][i], c, b, sizeof b));
        printf(")   off the diagonal: %.3g\n", w->off_share[k]);
    }
    char name[64];
    printf("\nthe chain rule:\n");
    snprintf(name, sizeof name, "P(%d, %d) = ", T, tau);
    print_matrix(name, w->P, NULL, S, 2);
    printf("\nthe eigenvalues multiplied, (");
    for (int i = 0; i < S; i++) printf("%s%s", i ? ", " : "", cnum_text(w->prod_lambda[i], w->prod_lambda_im[i], c, b, sizeof b));
    printf(")%s:\n", c ? ", complex, and V Lambda_t ... Lambda_{tau+1} V^-1 computed in complex numbers" : "");
    snprintf(name, sizeof name, "V Lambda_%d ... Lambda_%d V^-1 = ", T, tau + 1);
    print_matrix(name, w->R, NULL, S, 2);
    if (c) {
        double im = 0;
        for (int i = 0; i < S * S; i++) im = fmax(im, fabs(w->R_im[i]));
        if (im == 0) printf("  (real: the imaginary parts cancel exactly in the conjugate pairs)\n");
        else printf("  (real: the imaginary parts cancel in the conjugate pairs, to %.2g)\n", im);
    }
    printf("\nlargest |difference| / largest |P| = %.3g: ", w->deviation);
    if (w->deviation < 1e-10)
        printf("the identity holds (every J_k has the eigenvectors V, to rounding)\n");
    else
        printf("the identity breaks: the J_k do not share their eigenvectors (see the shares off the diagonal)\n");
}

int cmd_explain(cli_ctx *c, cli_args *a, int noperands, char **operand)
{
    int e = 0;
    const char *model = a->model, *data = a->data_file;
    int T = a->seq_steps;
    const int tau = a->tau, json = a->json;
    const uint64_t seed = a->t.seed;
    if (T > RL_WORKED_MAX_STEPS)
        return cli_usage_error(c, "--steps = %d: explain prints every step's matrices, so at most %d", T, RL_WORKED_MAX_STEPS);
    if (data && cli_given(c, "seq_steps")) return cli_usage_error(c, "--steps is for inputs made here; --data brings its own");
    rl_model *m = NULL;
    rl_data *d = NULL;
    rl_jac *j = NULL;
    rl_worked *w = NULL;
    double *x = NULL;
    rl_status s = rl_model_load(&m, model, RL_F64);
    if (s) return cli_fail(c, s);
    const rl_config cfg = rl_model_config(m);
    if (rl_state_size(m) > RL_WORKED_MAX_S) {
        e = cli_usage_error(c, "%s has a state of %d numbers: explain prints every matrix, so at most %d", model,
                            rl_state_size(m), RL_WORKED_MAX_S);
        goto done;
    }
    rl_batch b;
    if (data) {
        if ((s = rl_data_load_ex(&d, data, m, RL_F64, RL_DATA_OPTIONAL_XY)) != RL_OK) {
            e = cli_fail(c, s);
            goto done;
        }
        b = *rl_data_batch(d);
        if (b.steps < 1) {
            e = cli_usage_error(c, "%s has no inputs x", data);
            goto done;
        }
        T = b.steps;
    } else {
        if (!(x = calloc((size_t)T * cfg.input_size, sizeof *x))) {
            fprintf(stderr, "rnnlab explain: out of memory\n");
            e = 1;
            goto done;
        }
        rl_rng r;
        rl_rng_seed(&r, seed);
        for (size_t i = 0; i < (size_t)T * cfg.input_size; i++) x[i] = rl_rng_normal(&r);
        b = (rl_batch){RL_F64, 1, T, cfg.input_size, x, NULL, NULL, NULL, NULL, NULL};
    }
    if (tau >= T || T - tau > RL_WORKED_MAX_STEPS) {
        e = cli_usage_error(c, "--tau %d: need 0 <= tau < %d and at most %d steps in the product", tau, T,
                            RL_WORKED_MAX_STEPS);
        goto done;
    }
    if (!(w = malloc(sizeof *w))) {
        fprintf(stderr, "rnnlab explain: out of memory\n");
        e = 1;
        goto done;
    }
    if ((s = rl_jac_new(&j, m, &b, 0)) || (s = rl_jac_worked(j, T, tau, w))) {
        e = cli_fail(c, s);
        goto done;
    }
    if (json) print_json(w, cfg.cell);
    else print_text(w, cfg.cell, data);
done:
    rl_jac_free(j);
    rl_data_free(d);
    rl_model_free(m);
    free(x), free(w);
    return e;
}
