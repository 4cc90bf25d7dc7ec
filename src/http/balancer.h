/* balancer.h - choosing a model server endpoint: weights, load, passive health.
 *
 * The choice is "power of two choices" over a weighted draw: two candidates are
 * drawn with probability proportional to their weights, and the one with fewer
 * outstanding requests per unit of weight wins. Weights therefore really split
 * the traffic (a 3:1 weight gets ~3:1 of the requests when servers keep up),
 * and a slow server that piles up requests gets fewer new ones.
 *
 * Passive health: max_fails consecutive failures (refused, timeout, 5xx) eject
 * an endpoint for eject_seconds, and a Retry-After from it ejects it for that
 * long (balancer_eject); after that it gets traffic again and one success
 * clears it. An ejected endpoint is never picked: when every candidate is
 * ejected, balancer_pick returns -1 and the caller answers 503 at once (like
 * nginx's "no live upstreams") rather than piling requests on servers that
 * are failing or asked for time.
 *
 * An endpoint that never answered is in state unknown (not "healthy"): /ready reports it
 * so until a request or the start-up probe (gateway.c) got an HTTP answer from it.
 *
 * State is keyed by endpoint name and outlives config reloads. Thread-safe. */
#ifndef SEMROUTER_HTTP_BALANCER_H
#define SEMROUTER_HTTP_BALANCER_H

typedef struct balancer balancer;

typedef struct balancer_candidate {
    const char *name;
    double weight;
    int max_fails;       /* 0 = default 3 */
    double eject_seconds; /* 0 = default 10 */
} balancer_candidate;

balancer *balancer_new(void);
void balancer_free(balancer *b);
/* Returns the chosen index into cands, skipping those with skip[i] != 0
 * (already tried for this request); -1 when none is left. */
int balancer_pick(balancer *b, const balancer_candidate *cands, int n, const unsigned char *skip);
/* Bracket every upstream attempt with begin/end. */
void balancer_begin(balancer *b, const char *name);
void balancer_end(balancer *b, const balancer_candidate *c, int success);
/* 1 unless currently ejected. */
int balancer_healthy(balancer *b, const char *name);
typedef enum { BALANCER_UNKNOWN = 0, BALANCER_UP, BALANCER_EJECTED } balancer_status;
/* unknown: never answered; up: answered (a successful attempt or a probe) and not ejected. */
balancer_status balancer_state(balancer *b, const char *name);
const char *balancer_status_name(balancer_status s); /* "unknown", "up", "ejected" */
/* An HTTP answer came from the endpoint outside a request (the start-up probe). */
void balancer_mark_answered(balancer *b, const char *name);
long balancer_outstanding(balancer *b, const char *name);
/* The endpoint asked not to be called for seconds (a 503/429 with Retry-After): ejected until
 * then (never shortened by this call; counted as an ejection). */
void balancer_eject(balancer *b, const char *name, double seconds);
/* Seconds until the endpoint's ejection ends; 0 when it takes traffic. */
double balancer_ejected_for(balancer *b, const char *name);

/* An endpoint's state for status pages (/api/v1/stats). */
typedef struct balancer_info {
    int healthy;
    long outstanding;
    long ejections;             /* times ejected since start */
    int consecutive_fails;
    double ejected_for_seconds; /* remaining; 0 when healthy */
} balancer_info;
void balancer_info_get(balancer *b, const char *name, balancer_info *out);
#endif
