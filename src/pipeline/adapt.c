/* adapt.c - the request path's side of real-time adaptation (route/adapt.h):
 * every upstream attempt is counted in the gateway's tracker (proxy.c calls
 * chat_adapt_begin/_end), route_choose asks it whether a model breaches its
 * budget (chat_adapt_breach, route.c), and each state change is logged and
 * counted. Off (adaptation.enabled false): nothing is tracked. */
#include "pipeline/chat.h"
#include "core/log.h"
#include "core/util.h"
#include "route/adapt.h"

static adapt_params chat_adapt_params(const sr_config *cfg)
{
    const sr_adaptation_config *a = &cfg->adaptation;
    adapt_params p = {
        .alpha = a->alpha,
        .ttft_budget_s = a->ttft_budget_ms / 1000.0,
        .error_budget = a->error_budget,
        .queue_budget = a->queue_budget,
        .recover_ratio = a->recover_ratio,
        .min_samples = a->min_samples,
        .probe_seconds = a->probe_seconds,
    };
    return p;
}

static void state_changed(gateway *gw, const char *model, const adapt_event *ev, int probe)
{
    if (!ev->changed) return;
    const char *reason = adapt_reason_name(ev->reason);
    if (ev->changed > 0) {
        log_warn("adaptation: model '%s' over its %s budget (average %.3f > %.3f): borderline requests go "
                 "to the next model",
                 model, reason, ev->value, ev->budget);
    } else if (probe) {
        log_info("adaptation: model '%s' had no attempts for adaptation.probe_seconds: tried again (was over "
                 "its %s budget)",
                 model, reason);
    } else {
        log_info("adaptation: model '%s' recovered (%s average %.3f <= %.3f x recover_ratio): borderline "
                 "requests come back",
                 model, reason, ev->value, ev->budget);
    }
    metrics_inc(gw->metrics->adapt_state_changes,
                METRICS_LABELS(model, ev->changed > 0 ? "breached" : "recovered", reason));
    metrics_set(gw->metrics->adapt_breached, METRICS_LABELS(model), ev->changed > 0 ? 1 : 0);
}

int chat_adapt_breach(void *ctx, const char *model)
{
    chat_ctx *c = ctx;
    adapt_params p = chat_adapt_params(c->cfg);
    adapt_event ev;
    int r = adapt_breached(c->gw->adapt, &p, model, util_now_ns(), &ev);
    state_changed(c->gw, model, &ev, 1);
    return r;
}

void chat_adapt_begin(chat_ctx *c, const char *endpoint)
{
    c->t_attempt = util_now_ns();
    c->t_attempt_first = 0;
    if (!c->cfg->adaptation.enabled || !c->gw->adapt) return;
    adapt_params p = chat_adapt_params(c->cfg);
    adapt_begin(c->gw->adapt, &p, c->model->name, endpoint);
}

static void publish(gateway *gw, const char *model, const char *endpoint)
{
    adapt_stats s;
    if (adapt_get(gw->adapt, model, endpoint, &s)) return;
    const char *ep = endpoint ? endpoint : "";
    metrics_set(gw->metrics->adapt_ttft, METRICS_LABELS(model, ep), s.ttft_avg);
    metrics_set(gw->metrics->adapt_errors, METRICS_LABELS(model, ep), s.error_avg);
    metrics_set(gw->metrics->adapt_queue, METRICS_LABELS(model, ep), s.queue_avg);
}

void chat_adapt_end(chat_ctx *c, const char *endpoint, int ok)
{
    if (!c->cfg->adaptation.enabled || !c->gw->adapt) return;
    adapt_params p = chat_adapt_params(c->cfg);
    uint64_t now = util_now_ns();
    double ttft = ok && c->t_attempt_first ? (double)(c->t_attempt_first - c->t_attempt) / 1e9 : -1;
    adapt_event ev;
    adapt_end(c->gw->adapt, &p, c->model->name, endpoint, ok, ttft, now, &ev);
    state_changed(c->gw, c->model->name, &ev, 0);
    publish(c->gw, c->model->name, NULL);
    publish(c->gw, c->model->name, endpoint);
}
