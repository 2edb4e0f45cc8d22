/* Progress on stderr and Ctrl-C for the long commands: one line, redrawn at
 * most four times a second on a terminal (once a second, as lines, with
 * --progress elsewhere), nothing with --quiet or when stderr is not a
 * terminal; Ctrl-C (or SIGTERM) asks the computation to stop through the
 * library's progress hook, and the command ends with one line and 130. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_flag;
static double expect_s = NAN; /* the command's own estimate of its time (cli_progress_expect), NaN: none */
static struct {
    const char *cmd;
    int on, tty, shown;
    double t0, last;
} pg;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int hook(void *ctx, const char *what, double done, double total)
{
    (void)ctx;
    if (stop_flag) return 1;
    cli_progress(what, done, total);
    return 0;
}

void cli_progress_begin(const cli_ctx *c, int mode)
{
    pg.cmd = c->cmd;
    pg.tty = isatty(2);
    pg.on = mode > 0 || (mode == 0 && pg.tty);
    pg.shown = 0;
    pg.t0 = pg.last = rl_now();
    if (mode > 0) pg.last = -1e9; /* asked for: the first report at once */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rl_set_progress(hook, NULL);
}

int cli_progress_due(void)
{
    if (!pg.on) return 0;
    double now = rl_now();
    if (now - pg.last < (pg.tty ? 0.25 : 1.0)) return 0; /* on a terminal unasked, a short run shows nothing */
    pg.last = now;
    return 1;
}

static void clock_str(char *buf, size_t n, double s)
{
    int t = s > 0 && s < 1e7 ? (int)(s + 0.5) : 0;
    if (t >= 3600) snprintf(buf, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(buf, n, "%dm%02ds", t / 60, t % 60);
}

void cli_progress_line(const char *text)
{
    fprintf(stderr, "%srnnlab %s: %s%s", pg.tty ? "\r\033[K" : "", pg.cmd, text, pg.tty ? "" : "\n");
    fflush(stderr);
    pg.shown = pg.tty;
}

void cli_progress(const char *what, double done, double total)
{
    if (!cli_progress_due()) return;
    double el = rl_now() - pg.t0;
    char e[16], left[16], line[256];
    clock_str(e, sizeof e, el);
    /* what is left from the rate so far; before the first part is done, from the command's estimate */
    const int est = done <= 0 && !isnan(expect_s);
    clock_str(left, sizeof left, done > 0 ? el * (total - done) / done : est ? expect_s - el : 0);
    snprintf(line, sizeof line, "%s %.0f of %.0f (%.0f%%), %s, %s%s left", what, done, total, total > 0 ? 100 * done / total : 0,
             e, est ? "about " : "", done > 0 || est ? left : "?");
    cli_progress_line(line);
}

void cli_progress_note(const char *text)
{
    if (!pg.on) return;
    cli_progress_line(text);
    if (pg.tty) fputc('\n', stderr), pg.shown = 0;
}

void cli_progress_expect(double seconds) { expect_s = seconds; }

void cli_progress_end(void)
{
    expect_s = NAN;
    if (pg.shown) fputs("\r\033[K", stderr);
    pg.shown = 0;
    rl_set_progress(NULL, NULL);
}

int cli_interrupted(void) { return stop_flag; }
volatile int *cli_stop_flag(void) { return &stop_flag; }

void cli_say_cost(const cli_ctx *c, double bytes, const char *mem_detail, double seconds, const char *time_detail)
{
    rl_mem_limit l = rl_memory_limit();
    char need[32], have[32], t[16];
    rl_format_bytes(bytes, need, sizeof need);
    rl_format_bytes(l.bytes, have, sizeof have);
    printf("dry run of rnnlab %s: nothing was run\n", c->cmd);
    printf("memory  about %s at the peak%s%s%s; %s leaves %s: %s\n", need, mem_detail && *mem_detail ? " (" : "",
           mem_detail ? mem_detail : "", mem_detail && *mem_detail ? ")" : "", l.what[0] ? l.what : "nothing", have,
           bytes > l.bytes ? "it does NOT fit" : "it fits");
    if (isnan(seconds)) {
        printf("time    not measured%s%s\n", time_detail && *time_detail ? ": " : "", time_detail ? time_detail : "");
        return;
    }
    clock_str(t, sizeof t, seconds);
    if (seconds < 1) snprintf(t, sizeof t, "%.2g s", seconds);
    printf("time    about %s%s%s%s\n", t, time_detail && *time_detail ? " (" : "", time_detail ? time_detail : "",
           time_detail && *time_detail ? ")" : "");
}
