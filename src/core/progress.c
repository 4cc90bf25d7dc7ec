/* progress.c - progress bars and plain progress lines on stderr (see progress.h). */
#include "core/progress.h"
#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct progress {
    char label[96];
    char unit[24];
    char mode;
    _Atomic uint64_t done, total;
    double t0, last_draw;
    pthread_mutex_t draw_mu; /* one thread draws; the others skip */
    int drawn;               /* the bar is on screen (bar mode) */
    int utf8;
};

char progress_mode(void)
{
    const char *e = getenv("SEMROUTER_PROGRESS");
    if (e && !strcmp(e, "bar")) return 'b';
    if (e && !strcmp(e, "plain")) return 'p';
    if (e && !strcmp(e, "off")) return 'o';
    const char *term = getenv("TERM");
    return isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb")) ? 'b' : 'p';
}

static int locale_utf8(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return 0;
}

progress *progress_new(const char *label, uint64_t total, const char *unit)
{
    char mode = progress_mode();
    if (mode == 'o') return NULL;
    progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "working");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->mode = mode;
    atomic_init(&p->done, 0);
    atomic_init(&p->total, total);
    p->t0 = util_now_sec();
    p->last_draw = p->t0; /* nothing shows for work that ends within the first redraw gap */
    pthread_mutex_init(&p->draw_mu, NULL);
    p->utf8 = locale_utf8();
    return p;
}

/* "1,234,567" */
static void grouped(char *out, size_t cap, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

static void amount(const progress *p, char *out, size_t cap, double v)
{
    if (!strcmp(p->unit, PROGRESS_BYTES)) {
        const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while (v >= 1024 && i < 4) v /= 1024, i++;
        snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    } else {
        grouped(out, cap, (uint64_t)v);
    }
}

static void eta(char *out, size_t cap, double s)
{
    if (s < 0 || s > 359999) snprintf(out, cap, "--");
    else if (s < 60) snprintf(out, cap, "%.0fs", s);
    else if (s < 3600) snprintf(out, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(out, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static int term_width(void)
{
    struct winsize ws;
    if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40) return ws.ws_col;
    return 80;
}

/* Caller holds draw_mu. */
static void draw(progress *p, double now)
{
    uint64_t done = atomic_load(&p->done), total = atomic_load(&p->total);
    if (total && done > total) done = total;
    char d[48], t[48], rate[48], left[16];
    amount(p, d, sizeof d, (double)done);
    amount(p, t, sizeof t, (double)total);
    double el = now - p->t0, r = el > 0 ? (double)done / el : 0;
    amount(p, rate, sizeof rate, r);
    const char *unit = strcmp(p->unit, PROGRESS_BYTES) ? p->unit : "";
    if (p->mode == 'p') {
        if (total)
            fprintf(stderr, "%s: %.0f%% (%s/%s%s%s)\n", p->label, 100.0 * (double)done / (double)total, d, t,
                    *unit ? " " : "", unit);
        else fprintf(stderr, "%s: %s%s%s so far\n", p->label, d, *unit ? " " : "", unit);
        return;
    }
    char tail[320];
    if (total) {
        eta(left, sizeof left, r > 0 ? (double)(total - done) / r : -1);
        snprintf(tail, sizeof tail, " %3.0f%%  %s/%s%s%s  %s/s  %s left", 100.0 * (double)done / (double)total, d, t,
                 *unit ? " " : "", unit, rate, done >= total ? "0s" : left);
    } else {
        snprintf(tail, sizeof tail, "  %s%s%s  %s/s", d, *unit ? " " : "", unit, rate);
    }
    int width = term_width() - (int)strlen(p->label) - (int)strlen(tail) - 4;
    if (width > 40) width = 40;
    if (width < 10) width = 10; /* a long label: the line may wrap, the bar stays */
    fprintf(stderr, "\r\033[K%s ", p->label);
    if (total) {
        int full = (int)((double)width * (double)done / (double)total);
        fputc('[', stderr);
        for (int i = 0; i < width; i++)
            fputs(i < full ? (p->utf8 ? "\xe2\x96\x88" : "#") : (p->utf8 ? "\xe2\x96\x91" : "-"), stderr);
        fputc(']', stderr);
    }
    fputs(tail, stderr);
    fflush(stderr);
    p->drawn = 1;
}

static void maybe_draw(progress *p)
{
    double now = util_now_sec();
    double gap = p->mode == 'b' ? 0.1 : PROGRESS_PLAIN_SECONDS;
    if (now - p->last_draw < gap) return;
    if (pthread_mutex_trylock(&p->draw_mu)) return;
    if (now - p->last_draw >= gap) {
        p->last_draw = now;
        draw(p, now);
    }
    pthread_mutex_unlock(&p->draw_mu);
}

void progress_add(progress *p, uint64_t n)
{
    if (!p) return;
    atomic_fetch_add(&p->done, n);
    maybe_draw(p);
}

void progress_set(progress *p, uint64_t done)
{
    if (!p) return;
    atomic_store(&p->done, done);
    maybe_draw(p);
}

void progress_set_total(progress *p, uint64_t total)
{
    if (p) atomic_store(&p->total, total);
}

static void finish(progress *p)
{
    pthread_mutex_destroy(&p->draw_mu);
    free(p);
}

void progress_done(progress *p, const char *fmt, ...)
{
    if (!p) return;
    pthread_mutex_lock(&p->draw_mu);
    double now = util_now_sec();
    if (p->mode == 'b') {
        if (!atomic_load(&p->total)) atomic_store(&p->total, atomic_load(&p->done));
        draw(p, now); /* the final state stays on screen */
        fputc('\n', stderr);
    }
    char msg[512] = "done";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "%s: %s (%.1f s)\n", p->label, msg, now - p->t0);
    pthread_mutex_unlock(&p->draw_mu);
    finish(p);
}

void progress_abort(progress *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->draw_mu);
    if (p->mode == 'b' && p->drawn) fputc('\n', stderr);
    pthread_mutex_unlock(&p->draw_mu);
    finish(p);
}
