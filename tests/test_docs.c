/* The docs' commands run as written, and the numbers the docs quote are what
 * they give. Every indented line of the Markdown files in docs/ that starts
 * with "rnnlab " is run, in order, in one scratch folder, and must exit 0;
 * its stdout is kept. Then every block of numbers in the doc,
 *
 *     <!-- numbers: NAME -->
 *     ...
 *     <!-- /numbers -->
 *
 * is made again by NAME's function below from the commands' outputs and
 * compared with the doc's: the same words, and every number within 0.2% or
 * one unit in its last printed digit (a BLAS kernel of another CPU moves
 * the chaotic estimates by about 0.1%). With RNNLAB_DOCS_REWRITE=1 the fresh
 * blocks are written into the docs instead (tools/doc_numbers.sh). */
#include "test.h"

#include <cJSON.h>
#include <glob.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CMDS 160

/* What the commands of one doc left behind. */
typedef struct {
    const char *dir; /* the scratch folder */
    const char *doc; /* the doc's path */
    int n;
    char *cmd[MAX_CMDS]; /* the command lines, without the indent */
    char out[MAX_CMDS][80]; /* the files that hold their stdout, in dir */
} doc_run;

/* ---------------------------------------------------------------- text out */

typedef struct {
    strbuf b;
    int bad; /* a number or file a block needs was missing */
} text;

/* printf onto t */
#define put(t, ...) sb_printf(&(t)->b, __VA_ARGS__)

/* A number as the docs print it: sig significant digits (%g style, no
 * exponent between 1e-4 and 1e6) and a true minus sign. */
static const char *num(double v, int sig)
{
    static char buf[16][48];
    static int k;
    char *b = buf[k++ % 16], t[40];
    if (!isfinite(v)) return snprintf(b, 48, "%s", isnan(v) ? "nan" : v > 0 ? "∞" : "−∞"), b;
    if (v != 0 && (fabs(v) < 1e-4 || fabs(v) >= 1e6)) {
        snprintf(t, sizeof t, "%.*e", sig - 1, fabs(v));
        char *e = strchr(t, 'e'); /* 1.0e-05 -> 1.0e-5 */
        if (e) {
            int ex = atoi(e + 1);
            snprintf(e, sizeof t - (size_t)(e - t), "e%d", ex);
        }
    } else {
        int mag = v != 0 ? (int)floor(log10(fabs(v))) : 0, d = sig - 1 - mag;
        snprintf(t, sizeof t, "%.*f", d > 0 ? d : 0, fabs(v));
    }
    snprintf(b, 48, "%s%s", v < 0 && strspn(t, "0.") != strlen(t) ? "−" : "", t);
    return b;
}

/* fixed decimals, true minus sign */
static const char *fix(double v, int d)
{
    static char buf[16][48];
    static int k;
    char *b = buf[k++ % 16], t[40];
    snprintf(t, sizeof t, "%.*f", d, fabs(v));
    snprintf(b, 48, "%s%s", v < 0 && strspn(t, "0.") != strlen(t) ? "−" : "", t);
    return b;
}

/* a deviation: rounding level shown as such, large ones as 4.1e5 */
static const char *dev(double v)
{
    static char buf[8][48];
    static int k;
    if (v < 1e-10) return "< 1e-10";
    if (v < 1e4) return num(v, 3);
    char *b = buf[k++ % 8];
    int e = (int)floor(log10(v));
    snprintf(b, 48, "%.1fe%d", v / pow(10, e), e);
    return b;
}

/* ---------------------------------------------------------------- reading outputs */

static cJSON *json_of(const doc_run *r, text *t, const char *file)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", r->dir, file);
    size_t n = 0;
    char *s = (char *)read_file(p, &n);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    if (!j) t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: %s is missing or not JSON", r->doc, file);
    return j;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsNull(v) ? -INFINITY : NAN;
}

static double jat(const cJSON *o, const char *key, int i)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(o, key), i);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsNull(v) ? -INFINITY : NAN;
}

/* the entry of spectrum's "lags" for lag k */
static const cJSON *lag_entry(const cJSON *j, int k)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "lags")) if (jnum(e, "lag") == k) return e;
    return NULL;
}

/* lag_log_norm[T - k] of a jacobian file */
static double lag_norm(const doc_run *r, text *t, const char *file, int k)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", r->dir, file);
    rl_st *f = NULL;
    int64_t shape[RL_ST_MAX_NDIM];
    double v = NAN;
    if (rl_st_open(&f, p) == RL_OK && rl_st_shape(f, "lag_log_norm", shape) == 1 && k < shape[0]) {
        double *a = malloc((size_t)shape[0] * sizeof *a);
        if (a && rl_st_read_f64(f, "lag_log_norm", a, (size_t)shape[0]) == RL_OK) v = a[shape[0] - 1 - k];
        free(a);
    }
    rl_st_close(f);
    if (isnan(v)) t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: %s: no lag_log_norm at lag %d", r->doc, file, k);
    return v;
}

/* A tensor of a safetensors file, any rank, as float64 (malloc'ed; *n its
 * length), or NULL after a failure. */
static double *st_vec(const doc_run *r, text *t, const char *file, const char *name, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", r->dir, file);
    rl_st *f = NULL;
    int64_t shape[RL_ST_MAX_NDIM];
    double *a = NULL;
    *n = 0;
    int nd = rl_st_open(&f, p) == RL_OK ? rl_st_shape(f, name, shape) : -1;
    if (nd >= 0) {
        size_t k = 1;
        for (int i = 0; i < nd; i++) k *= (size_t)shape[i];
        a = malloc(k * sizeof *a + 1);
        if (a && rl_st_read_f64(f, name, a, k) == RL_OK) *n = k;
        else free(a), a = NULL;
    }
    rl_st_close(f);
    if (!a) t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: %s: no tensor %s", r->doc, file, name);
    return a;
}

/* The stdout of the first command of the doc that contains needle. */
static char *output_of(const doc_run *r, text *t, const char *needle)
{
    for (int i = 0; i < r->n; i++)
        if (strstr(r->cmd[i], needle)) {
            char p[1200];
            snprintf(p, sizeof p, "%s/%s", r->dir, r->out[i]);
            size_t n = 0;
            char *s = (char *)read_file(p, &n);
            if (s) return s;
        }
    t->bad = 1;
    test_fail_at(__FILE__, __LINE__, "%s: no output of a command with '%s'", r->doc, needle);
    return NULL;
}

/* ---------------------------------------------------------------- the blocks */

static void block_g3_lags(const doc_run *r, text *t)
{
    static const int k[4] = {1, 100, 1000, 10000};
    double v[4];
    put(t, "| lag k | ln ‖P(T, T−k)‖₂ |\n|---|---|\n");
    for (int i = 0; i < 4; i++) {
        v[i] = lag_norm(r, t, "j10k.safetensors", k[i]);
        /* up to lag 1,000 the norm depends on where the chaotic trajectory is at T: approximate (≈) */
        put(t, "| %s | %s%s |\n", k[i] >= 1000 ? (k[i] == 1000 ? "1,000" : "10,000") : (k[i] == 1 ? "1" : "100"),
            k[i] < 10000 ? "≈ " : "", fix(v[i], 1));
    }
    cJSON *l = json_of(r, t, "l10k.json");
    put(t, "\nThe norm reaches `e^%s`. Its growth rate over the last 9,000 lags,\n(ln ‖P(T, 0)‖₂ − ln ‖P(T, T−1000)‖₂)/9000 "
           "= %s per step, is the largest\nLyapunov exponent (section 5): the `lyapunov` command above gives %s.\n",
        fix(v[3], 0), fix((v[3] - v[2]) / 9000, 3), fix(jat(l, "exponents", 0), 3));
    cJSON_Delete(l);
}

/* A theorem table: the lags of file, with or without the matched product
 * and v_cond. */
static void theorem_table(const doc_run *r, text *t, const char *file, const int *lags, int n, int matched, int cond)
{
    cJSON *j = json_of(r, t, file);
    put(t, "| lag | ln\\|λ₁\\| |%s eig_dev | ln σ₁ | sv_dev |%s\n|---|---|%s---|---|---|%s\n", matched ? " ln\\|μ₁\\| |" : "",
        cond ? " v_cond |" : "", matched ? "---|" : "", cond ? "---|" : "");
    for (int i = 0; i < n; i++) {
        const cJSON *e = lag_entry(j, lags[i]);
        if (!e) {
            t->bad = 1;
            test_fail_at(__FILE__, __LINE__, "%s: %s has no lag %d", r->doc, file, lags[i]);
            continue;
        }
        put(t, "| %d | %s |", lags[i], num(jat(e, "eig_log_abs", 0), 4));
        if (matched) put(t, " %s |", num(jat(e, "matched_log_abs", 0), 4));
        put(t, " %s | %s | %s |", dev(jnum(e, "eig_dev")), num(jat(e, "sv_log", 0), 4), dev(jnum(e, "sv_dev")));
        if (cond) put(t, " %s |", num(jnum(e, "v_cond"), 2));
        put(t, "\n");
    }
    cJSON_Delete(j);
}

static void block_sym(const doc_run *r, text *t)
{
    static const int lags[3] = {1, 10, 40};
    theorem_table(r, t, "sym.json", lags, 3, 1, 0);
}

static void block_nonnormal(const doc_run *r, text *t)
{
    static const int lags[3] = {1, 10, 40};
    theorem_table(r, t, "nn.json", lags, 3, 0, 0);
    cJSON *j = json_of(r, t, "nn.json");
    double s1 = jat(lag_entry(j, 1), "sv_log", 0);
    put(t, "\nAt lag 1 the gradient can grow by `e^%s = %s` although no eigenvalue\nexceeds 1.1: transient growth from "
           "non-normality.\n", num(s1, 3), num(exp(s1), 3));
    cJSON_Delete(j);
}

static void block_tanh15(const doc_run *r, text *t)
{
    static const int lags[4] = {1, 2, 10, 40};
    theorem_table(r, t, "t.json", lags, 4, 1, 0);
    cJSON *j = json_of(r, t, "t.json");
    double cond = 0;
    for (int i = 0; i < 4; i++) cond = fmax(cond, jnum(lag_entry(j, lags[i]), "v_cond"));
    const cJSON *e = lag_entry(j, 40);
    put(t, "\nOver one step the check is exact by construction; from two steps on, the\nproduct of per-step eigenvalues "
           "says nothing reliable about the eigenvalues of\nthe product (at lag 40 it predicts `e^%s` where the truth "
           "is `e^%s`).\n", num(jat(e, "matched_log_abs", 0), 3), num(jat(e, "eig_log_abs", 0), 3));
    /* v_cond also counts the eigenvectors of unresolved eigenvalues, which move with the BLAS kernel: a bound */
    put(t, "The eigenvector matrix's condition number `v_cond = ‖V‖₁ ‖V⁻¹‖₁` (in the\nJSON) stays below %s at "
           "these lags.\n", num(pow(10, ceil(log10(cond))), 1));
    cJSON_Delete(j);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static void block_fixed_point(const doc_run *r, text *t)
{
    cJSON *l = json_of(r, t, "fp.json"), *s = json_of(r, t, "fps.json");
    const cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "step_spectra"), 0);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(l, "exponents"));
    double ex[64] = {0}, le[64] = {0}, worst = 0;
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) ex[i] = jat(l, "exponents", i), le[i] = log(hypot(jat(st, "eig_re", i), jat(st, "eig_im", i)));
    qsort(le, (size_t)n, sizeof *le, cmp_desc);
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(ex[i] - le[i]));
    put(t, "The exponents in `fp.json` (");
    for (int i = 0; i < 5 && i < n; i++) put(t, "%s, ", fix(ex[i], 4));
    put(t, "…)\nmatch `ln |eig(W_hh)|` from the step spectrum in `fps.json`\n(");
    for (int i = 0; i < 5 && i < n; i++) put(t, "%s, ", fix(le[i], 4));
    put(t, "…) to within %s over all %d\n(`lyapunov_fixed_point_is_log_eig` requires 0.02).\n", dev(worst), n);
    cJSON_Delete(l), cJSON_Delete(s);
}

/* lyapunov without --data: a random start against h = 0, a fixed point that is unstable at gain 3 */
static void block_random_start(const doc_run *r, text *t)
{
    cJSON *a = json_of(r, t, "g3-200.json"), *z = json_of(r, t, "g3-200-zero.json"), *s = json_of(r, t, "g3-200-s.json");
    const cJSON *sa = cJSON_GetObjectItem(a, "stationary"), *sz = cJSON_GetObjectItem(z, "stationary");
    if (!cJSON_IsBool(sa) || !cJSON_IsBool(sz))
        t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: g3-200.json or g3-200-zero.json has no \"stationary\"", r->doc);
    /* the random start's trajectory is chaotic: its third digit moves with the BLAS kernel (≈) */
    put(t, "give ≈ %s from the default random start (`\"stationary\": %s`) and %s\nfrom zero (`\"stationary\": %s`), "
           "which is `ln ρ(W_hh)` (%s by the\n`spectrum` command, at lag 1 on one zero step).\n",
        num(jat(a, "exponents", 0), 3), cJSON_IsTrue(sa) ? "true" : "false", num(jat(z, "exponents", 0), 4),
        cJSON_IsTrue(sz) ? "true" : "false", num(jat(lag_entry(s, 1), "eig_log_abs", 0), 6));
    cJSON_Delete(a), cJSON_Delete(z), cJSON_Delete(s);
}

/* an lru's exponents come in equal pairs (a unit's real and imaginary rows), from J_t's structure */
static void block_lru_pairs(const doc_run *r, text *t)
{
    cJSON *j = json_of(r, t, "lru8.json");
    const int n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "exponents"));
    for (int i = 0; i + 1 < n; i += 2)
        if (jat(j, "exponents", i) != jat(j, "exponents", i + 1))
            t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: lru8.json: exponents %d and %d differ", r->doc, i, i + 1);
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(j, "method"));
    put(t, "gives %d exponents in equal pairs (%s, %s, %s, %s, …) by the\n`\"%s\"` method: each pair is one unit's "
           "`−exp(ν_n)`.\n",
        n, fix(jat(j, "exponents", 0), 4), fix(jat(j, "exponents", 1), 4), fix(jat(j, "exponents", 2), 4),
        fix(jat(j, "exponents", 3), 4), method ? method : "?");
    cJSON_Delete(j);
}

static void block_order_chaos(const doc_run *r, text *t)
{
    static const char *const files[4] = {"g05.json", "g1.json", "g15.json", "g3b.json"};
    put(t, "| g | 0.5 | 1 | 1.5 | 3 |\n|---|---|---|---|---|\n| largest exponent (N = 200, seed 7) |");
    for (int i = 0; i < 4; i++) {
        cJSON *j = json_of(r, t, files[i]);
        put(t, " %s |", fix(jat(j, "exponents", 0), 2)); /* 2000 steps: the third decimal moves with the BLAS kernel */
        cJSON_Delete(j);
    }
    put(t, "\n");
}

static void block_gates(const doc_run *r, text *t)
{
    static const char *const name[4] = {"tanh", "GRU", "LSTM, forget bias 0", "LSTM, forget bias 3"};
    static const char *const jf[4] = {"jt.safetensors", "jg.safetensors", "jl0.safetensors", "jl3.safetensors"};
    static const char *const lf[4] = {"lt.json", "lg.json", "ll0.json", "ll3.json"};
    static const char *const sf[4] = {"st.json", "sg.json", "sl0.json", "sl3.json"};
    double top[4], dv[4];
    put(t, "| model | ln ‖∂s_T/∂s_{T−10}‖₂ | ln ‖∂s_T/∂s_{T−50}‖₂ | ln ‖∂s_T/∂s_{T−200}‖₂ | largest Lyapunov exponent "
           "| eig_dev at lag 10 |\n|---|---|---|---|---|---|\n");
    for (int m = 0; m < 4; m++) {
        cJSON *l = json_of(r, t, lf[m]), *s = json_of(r, t, sf[m]);
        top[m] = jat(l, "exponents", 0), dv[m] = jnum(lag_entry(s, 10), "eig_dev");
        put(t, "| %s | %s | %s | %s | %s | %s |\n", name[m], num(lag_norm(r, t, jf[m], 10), 3),
            num(lag_norm(r, t, jf[m], 50), 3), num(lag_norm(r, t, jf[m], 200), 3), num(top[m], 3), dev(dv[m]));
        cJSON_Delete(l), cJSON_Delete(s);
    }
    put(t, "\nAt PyTorch's default init the gated cells vanish almost as fast as the tanh\nnet; opening the forget gate "
           "moves the LSTM's largest exponent from %s to\n%s per step, and the gradient 200 steps back keeps its size. "
           "The matched\nproduct of section 3 tracks `eig(P)` %s times more closely (eig_dev at lag 10),\nbecause the "
           "diagonal cell path dominates `J_t`.\n",
        num(top[2], 2), num(top[3], 2), num(dv[2] / dv[3], 2));
}

/* ---------------------------------------------------------------- section 7: the cures */

/* The leaky unit at its fixed point: eig(J) = 1 - a + a eig(W_hh) and the exponents with them. */
static void block_leaky_fixed_point(const doc_run *r, text *t)
{
    static const char *const row[3] = {"tanh (α = 1)", "leaky, `--leak 0.5`", "leaky, `--leak 0.1`"};
    static const char *const centre[3] = {"", " − 0.5", " − 0.9"};
    static const char *const sf[3] = {"fp-tanh.json", "fp-leak05.json", "fp-leak01.json"};
    static const char *const lf[3] = {"fp-tanh-ly.json", "fp-leak05-ly.json", "fp-leak01-ly.json"};
    static const double rate[3] = {1, 0.5, 0.1};
    double lo[3] = {0}, hi[3] = {0};
    put(t, "| `W_hh` of spectral radius 0.9, at `h = 0` | eigenvalues of `J_t` | largest exponent | smallest exponent "
           "|\n|---|---|---|---|\n");
    for (int m = 0; m < 3; m++) {
        cJSON *s = json_of(r, t, sf[m]), *l = json_of(r, t, lf[m]);
        const cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "step_spectra"), 0);
        int S = cJSON_GetArraySize(cJSON_GetObjectItem(st, "eig_re")), k = cJSON_GetArraySize(cJSON_GetObjectItem(l, "exponents"));
        double far = 0; /* the largest |lambda - (1 - a)| */
        for (int i = 0; i < S; i++) far = fmax(far, hypot(jat(st, "eig_re", i) - (1 - rate[m]), jat(st, "eig_im", i)));
        if (S < 1 || k < 1) t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: %s or %s is empty", r->doc, sf[m], lf[m]);
        hi[m] = jat(l, "exponents", 0), lo[m] = jat(l, "exponents", k - 1);
        put(t, "| %s | largest \\|λ%s\\| = %.6f | %s | %s |\n", row[m], centre[m], far, num(hi[m], 4), num(lo[m], 4));
        cJSON_Delete(s), cJSON_Delete(l);
    }
    put(t, "\nAll 32 exponents of the `--leak 0.1` net lie in [%s, %s], around\n`ln 0.9 = −0.105`, where the tanh net's "
           "spread down to %s.\n", num(lo[2], 2), num(hi[2], 2), num(lo[0], 2));
}

/* ln of the norm of the products at lags 10, 50, 200 and the largest exponent, one row */
static void lag_row(const doc_run *r, text *t, const char *name, const char *jf, const char *lf, double *top)
{
    cJSON *l = json_of(r, t, lf);
    double e = jat(l, "exponents", 0);
    if (top) *top = e;
    put(t, "| %s | %s | %s | %s | %s |", name, num(lag_norm(r, t, jf, 10), 3), num(lag_norm(r, t, jf, 50), 3),
        num(lag_norm(r, t, jf, 200), 3), num(e, 3));
    cJSON_Delete(l);
}

static void block_leaky_noise(const doc_run *r, text *t)
{
    put(t, "| model | ln ‖∂s_T/∂s_{T−10}‖₂ | ln ‖∂s_T/∂s_{T−50}‖₂ | ln ‖∂s_T/∂s_{T−200}‖₂ | largest Lyapunov exponent "
           "|\n|---|---|---|---|---|\n");
    lag_row(r, t, "tanh (section 6)", "jt.safetensors", "lt.json", NULL);
    put(t, "\n");
    lag_row(r, t, "leaky, `--leak 0.5`", "leak05-j.safetensors", "leak05-ly.json", NULL);
    put(t, "\n");
    lag_row(r, t, "leaky, `--leak 0.1`", "leak01-j.safetensors", "leak01-ly.json", NULL);
    put(t, "\n");
    lag_row(r, t, "leaky, `--timescales 2,200` (1/α log-uniform)", "leak-ts-j.safetensors", "leak-ts-ly.json", NULL);
    put(t, "\n");
}

/* IndRNN with zero input and biases: a unit is on when its h0 is positive (u > 0 keeps it so). */
static void block_indrnn(const doc_run *r, text *t)
{
    static const char *const mf[2] = {"ind-r200.safetensors", "ind-r11.safetensors"};
    static const char *const jf[2] = {"ind-r200-j.safetensors", "ind-r11-j.safetensors"};
    static const char *const lf[2] = {"ind-r200-ly.json", "ind-r11-ly.json"};
    static const char *const row[2] = {"2^{1/200} = 1.0034717", "1.1"};
    size_t H = 0, nh = 0, nj = 0;
    double *h0 = st_vec(r, t, "ind-z200.safetensors", "h0", &nh), umax[2] = {-INFINITY, -INFINITY}, ex[2][3] = {{0}};
    double lnu[3] = {-INFINITY, -INFINITY, -INFINITY}; /* the three largest ln u_j on (R = 2^{1/200}), descending */
    put(t, "| `--recurrent-max R` | largest `u_j` of a unit that is on | ln ‖∂s_T/∂s_{T−10}‖₂ | ln ‖∂s_T/∂s_{T−50}‖₂ | "
           "ln ‖∂s_T/∂s_{T−200}‖₂ | largest exponent |\n|---|---|---|---|---|---|\n");
    for (int m = 0; m < 2; m++) {
        double *u = st_vec(r, t, mf[m], "rnn.weight_hh_l0", &H);
        for (size_t j = 0; u && h0 && j < H && j < nh; j++) { /* sequence 0 of h0 (L, B, H): its first H values */
            if (!(h0[j] > 0)) continue;
            umax[m] = fmax(umax[m], u[j]);
            double v = log(u[j]);
            for (int k = 0; m == 0 && k < 3; k++) /* insert v, carrying the smaller ones down */
                if (v > lnu[k]) {
                    double w = lnu[k];
                    lnu[k] = v, v = w;
                }
        }
        free(u);
        cJSON *l = json_of(r, t, lf[m]);
        for (int k = 0; k < 3; k++) ex[m][k] = jat(l, "exponents", k);
        cJSON_Delete(l);
        put(t, "| %s | %s | %s | %s | %s | %s |\n", row[m], num(umax[m], 5), num(lag_norm(r, t, jf[m], 10), 3),
            num(lag_norm(r, t, jf[m], 50), 4), num(lag_norm(r, t, jf[m], 200), 4), num(ex[m][0], 3));
    }
    free(h0);
    /* the steps' Jacobians: any nonzero entry off the diagonal */
    double *J = st_vec(r, t, "ind-r200-j.safetensors", "J", &nj);
    long off = 0;
    size_t S = H, T = S ? nj / (S * S) : 0;
    for (size_t i = 0; J && S && i < nj; i++) off += J[i] != 0 && i % (S * S) / S != i % S;
    free(J);
    cJSON *sp = json_of(r, t, "ind-r200.json"), *l0 = json_of(r, t, "sl0.json");
    static const int lags[3] = {10, 50, 200};
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        const cJSON *e = lag_entry(sp, lags[k]);
        worst = fmax(worst, e ? fmax(jnum(e, "eig_dev"), jnum(e, "sv_dev")) : INFINITY);
    }
    char diag[64];
    if (off) snprintf(diag, sizeof diag, "not diagonal (%ld nonzero entries off it", off);
    else snprintf(diag, sizeof diag, "exactly diagonal (no nonzero\nentry off it");
    put(t, "\nEvery `J_t` in `ind-r200-j.safetensors` is %s in %zu steps). Diagonal matrices commute and are normal, "
           "so the\neigenvalue picture of section 3 is exact here: `eig_dev` and `sv_dev` are\n%s at lags 10, 50 and "
           "200 (%s for the LSTM of section 6), and\n`ln ‖∂s_T/∂s_{T−k}‖₂ = k ln u_j` of the largest `u_j` on (%s = "
           "200 ln\n%s). The finite Lyapunov exponents are the `ln u_j` of the units that\nstay on (the top three, "
           "%s, %s, %s, against %s,\n%s, %s from `u` in the model file); a unit that is off, or whose\nstate decays "
           "to 0 within the 2,100 steps, has −∞ (`null` in the JSON). With\n`R = 1.1` the gradient over the same 200 "
           "steps grows by e^%s.\n",
        diag, T, worst < 1e-10 ? "below 1e-10" : "above rounding level", num(jnum(lag_entry(l0, 10), "eig_dev"), 2),
        fix(lag_norm(r, t, jf[0], 200), 3), num(umax[0], 4), fix(ex[0][0], 5), fix(ex[0][1], 5), fix(ex[0][2], 5),
        fix(lnu[0], 5), fix(lnu[1], 5), fix(lnu[2], 5), num(lag_norm(r, t, jf[1], 200), 3));
    cJSON_Delete(sp), cJSON_Delete(l0);
}

/* sigma(b_ih + b_hh) of the keep gate (LSTM's f, GRU's z: rows H..2H of both) over the units */
static void keep_gate(const doc_run *r, text *t, const char *file, int H, double *mn, double *mean, double *mx)
{
    size_t a = 0, b = 0;
    double *bi = st_vec(r, t, file, "rnn.bias_ih_l0", &a), *bh = st_vec(r, t, file, "rnn.bias_hh_l0", &b);
    *mn = INFINITY, *mx = -INFINITY, *mean = 0;
    for (int j = 0; bi && bh && j < H && (size_t)(2 * H) <= a && a == b; j++) {
        double g = 1 / (1 + exp(-(bi[H + j] + bh[H + j])));
        *mn = fmin(*mn, g), *mx = fmax(*mx, g), *mean += g / H;
    }
    free(bi), free(bh);
}

static void block_chrono(const doc_run *r, text *t)
{
    static const char *const row[5] = {"LSTM, PyTorch's init", "LSTM, `--forget-bias 1`", "LSTM, chrono, T = 200",
                                       "GRU, PyTorch's init", "GRU, chrono, T = 200"};
    static const char *const mf[5] = {"lstm0.safetensors", "lstm1.safetensors", "lstm-chrono.safetensors", "gru32.safetensors",
                                      "gru-chrono.safetensors"};
    static const char *const jf[5] = {"jl0.safetensors", "lstm1-j.safetensors", "lstm-chrono-j.safetensors", "jg.safetensors",
                                      "gru-chrono-j.safetensors"};
    static const char *const lf[5] = {"ll0.json", "lstm1-ly.json", "lstm-chrono-ly.json", "lg.json", "gru-chrono-ly.json"};
    static const int S[5] = {64, 64, 64, 32, 32};
    double top[5], p200[5];
    int above[5];
    put(t, "| model | keep gate at zero input: min, mean, max over units | ln ‖∂s_T/∂s_{T−10}‖₂ | ln ‖∂s_T/∂s_{T−50}‖₂ | "
           "ln ‖∂s_T/∂s_{T−200}‖₂ | largest exponent | exponents above −0.05 |\n|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < 5; m++) {
        double mn, mean, mx;
        keep_gate(r, t, mf[m], 32, &mn, &mean, &mx);
        char gate[64];
        if (strcmp(fix(mn, 3), fix(mx, 3)) == 0) snprintf(gate, sizeof gate, "%s (all)", fix(mn, 3));
        else snprintf(gate, sizeof gate, "%s, %s, %s", fix(mn, 3), fix(mean, 3), fix(mx, 3));
        cJSON *l = json_of(r, t, lf[m]);
        int k = cJSON_GetArraySize(cJSON_GetObjectItem(l, "exponents"));
        above[m] = 0;
        for (int i = 0; i < k; i++) above[m] += jat(l, "exponents", i) > -0.05;
        if (above[m] == k && k < S[m]) /* --k 4: only the top ones were computed */
            t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: %s: all %d exponents above -0.05; run it with all", r->doc, lf[m], k);
        top[m] = jat(l, "exponents", 0), p200[m] = lag_norm(r, t, jf[m], 200);
        put(t, "| %s | %s | %s | %s | %s | %s | %d of %d |\n", row[m], gate, num(lag_norm(r, t, jf[m], 10), 3),
            num(lag_norm(r, t, jf[m], 50), 3), num(p200[m], 3), num(top[m], 3), above[m], S[m]);
        cJSON_Delete(l);
    }
    put(t, "\n(The gates are `σ` of the keep gate's `b_ih + b_hh`, read from the model\nfiles.) A forget bias of 1 opens "
           "every gate alike and slows the decay %s-fold\n(the largest exponent); chrono spreads the forgetting times up "
           "to T: %d of\nthe LSTM's 64 exponents (%d of the GRU's 32) are above −0.05, and the\ngradient 200 steps back "
           "keeps its size (%s against %s).\n",
        num(top[0] / top[1], 2), above[2], above[4], num(p200[2], 2), num(p200[0], 3));
}

/* The worst error gradcheck printed: "... worst relative error X (TENSOR) ..." */
static void gradcheck_worst(const doc_run *r, text *t, const char *needle, double *err, char *tensor, size_t n)
{
    char *s = output_of(r, t, needle), *p = s ? strstr(s, "worst relative error ") : NULL;
    *err = NAN, *tensor = '\0';
    if (p) {
        char *e;
        *err = strtod(p + 21, &e);
        if (e[0] == ' ' && e[1] == '(') {
            char *c = strchr(e + 2, ')');
            if (c) snprintf(tensor, n, "%.*s", (int)(c - e - 2), e + 2);
        }
    }
    if (isnan(*err)) t->bad = 1, test_fail_at(__FILE__, __LINE__, "%s: no worst error from '%s'", r->doc, needle);
    free(s);
}

static void block_gradcheck(const doc_run *r, text *t)
{
    double ce, mse;
    char tce[64], tmse[64];
    gradcheck_worst(r, t, "--gain 1.1", &ce, tce, sizeof tce); /* the first of the two */
    gradcheck_worst(r, t, "--gain 1.1 --loss mse", &mse, tmse, sizeof tmse);
    /* rounding-level errors move with the BLAS kernel: shown as bounds */
    put(t, "The first reports a worst error below %s (in `%s`), below the default\n`--tol` of 1e-7 (a fixed step of "
           "1e-3 gave 0.000278 here).\nThe same net with the mean squared error passes with a worst error below %s.\n",
        num(pow(10, ceil(log10(ce))), 1), tce, num(pow(10, ceil(log10(mse))), 1));
}

/* rnnlab explain --json on the linear and the tanh model of §3 */
static void block_explain(const doc_run *r, text *t)
{
    const char *which[2] = {"explain --model lin3", "explain --model tanh3"}, *label[2] = {"linear", "tanh"};
    put(t, "| model | share of V⁻¹J_kV off its diagonal, k = 1 … 4 | max \\|P − V Λ₄⋯Λ₁ V⁻¹\\| / max \\|P\\| |\n|---|---|---|\n");
    for (int m = 0; m < 2; m++) {
        char *s = output_of(r, t, which[m]);
        cJSON *j = s ? cJSON_Parse(s) : NULL;
        free(s);
        if (!j) {
            t->bad = 1;
            test_fail_at(__FILE__, __LINE__, "%s: the output of '%s' is not JSON", r->doc, which[m]);
            continue;
        }
        put(t, "| %s |", label[m]);
        for (int k = 0; k < 4; k++) put(t, "%s %s", k ? "," : "", dev(jat(j, "off_share", k)));
        put(t, " | %s |\n", dev(jnum(j, "deviation")));
        cJSON_Delete(j);
    }
}

/* A ln-norm at rounding level (the float32 rounding of B moves it): a bound */
static const char *small_or_num(double v, int sig) { return fabs(v) < 1e-5 ? "< 1e-5" : num(v, sig); }

/* §8, modReLU against ReLU with an orthogonal W_hh: from each J_t (T, S, S)
 * the units on (nonzero rows) and the eigenvalues' moduli; the products'
 * norms at lags 10 and 100; the largest exponent (≈: it moves with the BLAS
 * kernel, by 1% for the smallest) */
static void block_modrelu(const doc_run *r, text *t)
{
    static const char *const row[2] = {"modReLU, `b ~ U(−0.01, 0.01)`", "ReLU"};
    static const char *const jf[2] = {"jomod.safetensors", "jorelu.safetensors"}, *const lf[2] = {"lomod.json", "lorelu.json"};
    put(t, "| model (H = 32, orthogonal) | units on per step (mean, min–max) | largest \\|λ\\| of the J_t (mean \\|λ\\|) | "
           "ln ‖P(T, T−10)‖₂ | ln ‖P(T, T−100)‖₂ | largest exponent, `--input noise` |\n|---|---|---|---|---|---|\n");
    for (int m = 0; m < 2; m++) {
        size_t n = 0, S = 32;
        double *J = st_vec(r, t, jf[m], "J", &n), on_sum = 0, on_min = INFINITY, on_max = 0, lmax = 0, lsum = 0;
        const size_t T = n / (S * S);
        double *a = malloc(S * S * sizeof *a), wr[32], wi[32];
        for (size_t k = 0; J && a && k < T; k++) {
            double on = 0;
            for (size_t i = 0; i < S; i++) {
                int any = 0;
                for (size_t j = 0; j < S; j++) any |= J[(k * S + i) * S + j] != 0;
                on += any;
            }
            on_sum += on, on_min = fmin(on_min, on), on_max = fmax(on_max, on);
            memcpy(a, J + k * S * S, S * S * sizeof *a);
            if (LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', (int)S, a, (int)S, wr, wi, NULL, 1, NULL, 1) != 0) t->bad = 1;
            for (size_t i = 0; i < S; i++) lmax = fmax(lmax, hypot(wr[i], wi[i])), lsum += hypot(wr[i], wi[i]);
        }
        free(a), free(J);
        if (!T) t->bad = 1;
        cJSON *l = json_of(r, t, lf[m]);
        put(t, "| %s | %s (%s–%s) | %s (%s) | %s | %s | ≈ %s |\n", row[m], num(on_sum / (double)(T ? T : 1), 4),
            fix(on_min, 0), fix(on_max, 0), num(lmax, m ? 3 : 8), num(lsum / (double)(T ? T * S : 1), 3),
            small_or_num(lag_norm(r, t, jf[m], 10), 3), small_or_num(lag_norm(r, t, jf[m], 100), 3),
            num(jat(l, "exponents", 0), m ? 3 : 2));
        cJSON_Delete(l);
    }
}

static const struct {
    const char *name;
    void (*make)(const doc_run *r, text *t);
} blocks[] = {
    {"g3-lags", block_g3_lags},         {"sym", block_sym},     {"nonnormal", block_nonnormal},
    {"tanh15", block_tanh15},           {"fixed-point", block_fixed_point}, {"random-start", block_random_start},
    {"order-chaos", block_order_chaos}, {"lru-pairs", block_lru_pairs},
    {"gates", block_gates},             {"leaky-fixed-point", block_leaky_fixed_point},
    {"leaky-noise", block_leaky_noise}, {"indrnn", block_indrnn},
    {"chrono", block_chrono},           {"gradcheck", block_gradcheck}, {"explain", block_explain},
    {"modrelu", block_modrelu},
};

static int block_used[sizeof blocks / sizeof blocks[0]];

/* ---------------------------------------------------------------- comparing */

/* A number at s (digits with commas, a point, an exponent; a sign: '-' or
 * U+2212): its value, its last digit's unit, and its end; 0 if none. */
static int number_at(const char *s, double *v, double *unit, const char **end)
{
    const char *p = s;
    int neg = 0;
    if (strncmp(p, "−", 3) == 0) neg = 1, p += 3;
    else if (*p == '-') neg = 1, p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    char buf[64];
    int n = 0, frac = -1, ex = 0;
    for (; n < 60 && ((*p >= '0' && *p <= '9') || (*p == ',' && p[1] >= '0' && p[1] <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')); p++) {
        if (*p == ',') continue;
        if (*p == '.') frac = 0;
        else if (frac >= 0) frac++;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    if ((*p == 'e' || *p == 'E') && (p[1] == '-' || p[1] == '+' || (p[1] >= '0' && p[1] <= '9'))) {
        char *e;
        ex = (int)strtol(p + 1, &e, 10);
        p = e;
    }
    *v = (neg ? -1 : 1) * strtod(buf, NULL) * pow(10, ex);
    *unit = pow(10, ex - (frac > 0 ? frac : 0));
    *end = p;
    return 1;
}

/* The same words and numbers that agree; on a difference, a message in why.
 * A number after "≈" may differ by 5%: the docs mark so what the rounding of
 * another BLAS kernel moves further (a chaotic trajectory's state). */
static int same_numbers(const char *doc, const char *fresh, char *why, size_t n)
{
    const char *a = doc, *b = fresh;
    int approx = 0;
    while (*a || *b) {
        while (*a == ' ' || *a == '\n') a++;
        while (*b == ' ' || *b == '\n') b++;
        if (!*a && !*b) break;
        double va, vb, ua, ub;
        const char *ea, *eb;
        int na = number_at(a, &va, &ua, &ea), nb = number_at(b, &vb, &ub, &eb);
        if (na && nb) {
            if (!(fabs(va - vb) <= fmax(1.01 * ua, (approx ? 0.05 : 0.002) * fabs(vb)))) {
                snprintf(why, n, "the doc says %.*s, the commands give %.*s", (int)(ea - a), a, (int)(eb - b), b);
                return 0;
            }
            a = ea, b = eb, approx = 0;
        } else if (*a && *a == *b) {
            approx = strncmp(a, "≈", strlen("≈")) == 0 ? 1 : approx && ((unsigned char)*a & 0xC0) == 0x80;
            a++, b++;
        } else {
            snprintf(why, n, "the doc has '%.40s' where the commands give '%.40s'", a, b);
            return 0;
        }
    }
    return 1;
}

/* Check (or rewrite) every block of numbers in the doc text s. Returns the
 * new text when it differs and rewriting, else NULL. */
static char *check_blocks(const doc_run *r, const char *s, int rewrite)
{
    static const char open_tag[] = "<!-- numbers: ", close_tag[] = "<!-- /numbers -->";
    text out = {0};
    int changed = 0;
    const char *p = s;
    for (const char *o = strstr(p, open_tag); o; o = strstr(p, open_tag)) {
        if (o > s && o[-1] != '\n') { /* only at the start of a line: an indented one is an example */
            put(&out, "%.*s", (int)(o + 1 - p), p);
            p = o + 1;
            continue;
        }
        const char *ne = strstr(o, " -->"), *body = ne ? strchr(ne, '\n') : NULL, *c = body ? strstr(body, close_tag) : NULL;
        CHECK_MSG(ne && body && c, "%s: an unclosed block of numbers", r->doc);
        if (!c) break;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(ne - o - strlen(open_tag)), o + strlen(open_tag));
        size_t k = 0;
        while (k < sizeof blocks / sizeof blocks[0] && strcmp(blocks[k].name, name) != 0) k++;
        CHECK_MSG(k < sizeof blocks / sizeof blocks[0], "%s: no maker for the block '%s'", r->doc, name);
        text fresh = {0};
        if (k < sizeof blocks / sizeof blocks[0]) blocks[k].make(r, &fresh), block_used[k]++;
        else fresh.bad = 1; /* left as it is */
        put(&fresh, "%s", ""); /* a NUL even when empty */
        char *old = strndup(body + 1, (size_t)(c - body - 1)), why[256];
        if (!fresh.bad && old && !rewrite && !same_numbers(old, fresh.b.s, why, sizeof why))
            test_fail_at(__FILE__, __LINE__, "%s, block '%s': %s (tools/doc_numbers.sh rewrites it)", r->doc, name, why);
        put(&out, "%.*s", (int)(body + 1 - p), p);
        put(&out, "%s", rewrite && !fresh.bad ? fresh.b.s : old ? old : "");
        changed |= rewrite && !fresh.bad && old && strcmp(old, fresh.b.s) != 0;
        free(old), free(fresh.b.s);
        p = c;
    }
    put(&out, "%s", p);
    if (changed) return out.b.s;
    free(out.b.s);
    return NULL;
}

/* ---------------------------------------------------------------- running a doc */

static void run_doc(const char *doc, const char *dir, int rewrite)
{
    size_t n = 0;
    unsigned char *bytes = read_file(doc, &n);
    CHECK_MSG(bytes != NULL, "cannot read %s", doc);
    if (!bytes) return;
    char *s = (char *)bytes, *copy = strdup(s);
    doc_run r = {dir, doc, 0, {0}, {{0}}};
    const char *base = strrchr(doc, '/') ? strrchr(doc, '/') + 1 : doc;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "    rnnlab ", 11) != 0) continue;
        CHECK_MSG(r.n < MAX_CMDS, "%s: more than %d commands", doc, MAX_CMDS);
        if (r.n == MAX_CMDS) break;
        snprintf(r.out[r.n], sizeof r.out[0], "%.60s.%d.out", base, r.n);
        r.cmd[r.n] = line + 4;
        char cmd[4096];
        /* the program under test stands in for "rnnlab" */
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s' 2>cmd.err", dir, test_cli, line + 11, r.out[r.n]);
        int st = system(cmd);
        char errp[1100];
        snprintf(errp, sizeof errp, "%s/cmd.err", dir);
        size_t en = 0;
        unsigned char *err = read_file(errp, &en);
        CHECK_MSG(st == 0, "%s: '%s' failed (%d): %.*s", doc, line + 4, st, (int)(err ? en : 0), err ? (char *)err : "");
        free(err);
        r.n++;
    }
    CHECK_MSG(r.n > 0 || strstr(doc, "jacobians") == NULL, "%s: no commands found", doc);
    char *fresh = check_blocks(&r, s, rewrite);
    if (fresh) {
        char tmp[2100];
        snprintf(tmp, sizeof tmp, "%s.tmp", doc);
        FILE *f = fopen(tmp, "w");
        int ok = f && fputs(fresh, f) >= 0;
        if (f) ok &= fclose(f) == 0;
        CHECK_MSG(ok && rename(tmp, doc) == 0, "%s: cannot rewrite it", doc);
        fprintf(stderr, "  rewrote the numbers in %s\n", doc);
        free(fresh);
    }
    free(copy);
    free(s);
}

TEST(docs_commands_run_as_written)
{
    char dir[1024], doc[2048], pat[2048];
    snprintf(dir, sizeof dir, "%s/docs-run", test_tmpdir);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(pat, sizeof pat, "%s/../../docs/*.md", test_fixtures); /* docs/ beside tests/ */
    const char *rw = getenv("RNNLAB_DOCS_REWRITE");
    glob_t g;
    CHECK(glob(pat, 0, NULL, &g) == 0 && g.gl_pathc >= 4);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        snprintf(doc, sizeof doc, "%s", g.gl_pathv[i]);
        run_doc(doc, dir, rw && strcmp(rw, "1") == 0);
    }
    globfree(&g);
    /* a block that went missing from the docs goes unchecked: each is there once */
    for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++)
        CHECK_MSG(block_used[k] == 1, "the block of numbers '%s' is in the docs %d times", blocks[k].name, block_used[k]);
}

/* The comparison itself: a stale number fails, a rounding-level change does not. */
TEST(docs_numbers_compare)
{
    char why[256];
    CHECK_MSG(same_numbers("| 1 | 0.270 |\n", "| 1 | 0.270 |\n", why, sizeof why), "%s", why);
    CHECK(same_numbers("rate 0.265 per step", "rate 0.2652 per step", why, sizeof why));
    CHECK(!same_numbers("rate 0.270 per step", "rate 0.265 per step", why, sizeof why) && strstr(why, "0.270"));
    CHECK(same_numbers("sv_dev 2690.4", "sv_dev 2691.1", why, sizeof why)); /* 0.03% */
    CHECK(!same_numbers("sv_dev 22.3", "sv_dev 15.3", why, sizeof why));
    CHECK(same_numbers("| −5.90 | 1.0e5 | 10,000 |", "| −5.899 | 1.004e5 | 10000 |", why, sizeof why));
    CHECK(!same_numbers("| −5.90 |", "| 5.90 |", why, sizeof why));
    CHECK(same_numbers("| ≈ 30.5 |", "| ≈ 31.3 |", why, sizeof why) && !same_numbers("| 30.5 |", "| 31.3 |", why, sizeof why));
    CHECK(!same_numbers("| ≈ 30.5 | 2.00 |", "| ≈ 30.5 | 2.05 |", why, sizeof why)); /* only the number after it */
    CHECK(!same_numbers("lag 40 it predicts", "lag 40 it says", why, sizeof why));
    CHECK(!same_numbers("| 1 | 2 |", "| 1 | 2 | 3 |", why, sizeof why));
    CHECK(strcmp(num(-0.0581, 3), "−0.0581") == 0 && strcmp(num(4.1e5, 2), "410000") == 0 &&
          strcmp(num(2.4e-5, 2), "2.4e-5") == 0 && strcmp(dev(3e-15), "< 1e-10") == 0);
}

/* Every --help that lists the inits lists them all; none says "the seed's". */
TEST(help_names_every_init)
{
    static const char *const cmds[] = {"init", "gradcheck", "train", "jacobian", "spectrum", "lyapunov", "demo", "plot"};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        const char *argv[] = {"rnnlab", cmds[c], "--help", NULL};
        CHECK(run_cli(argv, NULL, NULL, 0, NULL, 0) == 0);
        size_t n = 0;
        char *out = (char *)read_file(tmp_path("cli.stdout"), &n);
        CHECK_MSG(out != NULL, "%s --help: no output", cmds[c]);
        if (!out) continue;
        CHECK_MSG(!strstr(out, "seed's"), "%s --help speaks of the seed's theorem", cmds[c]);
        /* the option's line and the lines that carry on its words (indented deeper) */
        const char *init = strstr(out, "\n  --init KIND");
        if (init) {
            const char *end = init + 1;
            while ((end = strchr(end, '\n')) && strncmp(end + 1, "      ", 6) == 0) end++;
            for (int k = 0; k < RL_INIT_COUNT; k++) {
                const char *name = rl_init_name((rl_init_kind)k), *at = strstr(init, name);
                CHECK_MSG(at && (!end || at < end), "%s --help: --init does not list %s", cmds[c], name);
            }
        }
        if (strcmp(cmds[c], "jacobian") == 0) CHECK_MSG(strstr(out, "2*L*H"), "jacobian --help: S for an LSTM");
        free(out);
    }
}
