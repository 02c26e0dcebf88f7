/* status.c — StatusRequest (operators): every subscription with its stored position and
 * backlog (matching events after it), its connected consumers and deliveries in flight, and
 * the connected clients. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

typedef struct status_ctx {
    broker_t *b;
    uint8_t routing_id[BROKER_ROUTING_MAX];
    size_t routing_len; /* 0: only the metrics are refreshed */
} status_ctx_t;

static const char status_sql[] =
    "SELECT s.principal, s.name, s.pattern, s.acked_position,"
    " (SELECT count(*) FROM broker.event e"
    "   WHERE e.position > s.acked_position AND e.subject ~ broker.pattern_regex(s.pattern))"
    " FROM broker.subscription s ORDER BY s.principal, s.name";

static void set_backlog_metrics(broker_t *b, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        tr_metric_set(tr_metrics_gauge(b->metrics, "trivsel_broker_subscription_backlog",
                                       "matching events not yet acknowledged, per subscription", "principal",
                                       PQgetvalue(res, i, 0), "subscription", PQgetvalue(res, i, 1), NULL),
                      strtod(PQgetvalue(res, i, 4), NULL));
}

static void status_cb(PGresult *res, const char *error, void *arg)
{
    status_ctx_t *ctx = arg;
    broker_t *b = ctx->b;
    if (!error)
        set_backlog_metrics(b, res);
    session_t *s = ctx->routing_len ? socket_session(b, ctx->routing_id, ctx->routing_len) : NULL;
    if (!s)
        goto out;
    if (error) {
        socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_UNAVAILABLE, NULL, NULL,
                          "status is not available now: %s", error);
        goto out;
    }
    int n = PQntuples(res);
    Trivsel__Broker__StatusReply reply = TRIVSEL__BROKER__STATUS_REPLY__INIT;
    reply.log_position = b->log_position;
    Trivsel__Broker__SubscriptionStatus *subs = calloc((size_t)n + 1, sizeof *subs);
    Trivsel__Broker__SubscriptionStatus **subp = calloc((size_t)n + 1, sizeof *subp);
    Trivsel__Broker__ClientStatus *clients = calloc(b->nsessions + 1, sizeof *clients);
    Trivsel__Broker__ClientStatus **clientp = calloc(b->nsessions + 1, sizeof *clientp);
    if (!subs || !subp || !clients || !clientp)
        goto free_out;
    for (int i = 0; i < n; i++) {
        trivsel__broker__subscription_status__init(&subs[i]);
        subs[i].principal = PQgetvalue(res, i, 0);
        subs[i].name = PQgetvalue(res, i, 1);
        subs[i].pattern = PQgetvalue(res, i, 2);
        subs[i].acked_position = strtoull(PQgetvalue(res, i, 3), NULL, 10);
        subs[i].backlog = strtoull(PQgetvalue(res, i, 4), NULL, 10);
        subp[i] = &subs[i];
    }
    reply.subscriptions = subp;
    reply.n_subscriptions = (size_t)n;
    subscription_status(b, &reply);
    size_t k = 0;
    uint64_t now = broker_now_ms(b);
    for (session_t *x = b->sessions; x; x = x->next, k++) {
        trivsel__broker__client_status__init(&clients[k]);
        clients[k].principal = x->principal;
        clients[k].client_name = x->client_name;
        clients[k].idle_ms = (uint32_t)(now - x->last_seen_ms);
        clientp[k] = &clients[k];
    }
    reply.clients = clientp;
    reply.n_clients = k;
    Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
    msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_STATUS;
    msg.status = &reply;
    socket_send(b, s->routing_id, s->routing_len, &msg);
free_out:
    free(subs);
    free(subp);
    free(clients);
    free(clientp);
out:
    free(ctx);
}

void status_handle(broker_t *b, session_t *s)
{
    status_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return;
    ctx->b = b;
    memcpy(ctx->routing_id, s->routing_id, s->routing_len);
    ctx->routing_len = s->routing_len;
    if (tr_pg_query(b->reader, status_sql, 0, NULL, status_cb, ctx) < 0)
        free(ctx);
}

/* The backlog gauges are refreshed every 15 s, so an alert on a growing backlog needs no one
 * to ask for status. */
static void refresh_cb(uv_timer_t *t)
{
    broker_t *b = t->data;
    status_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return;
    ctx->b = b;
    if (tr_pg_query(b->reader, status_sql, 0, NULL, status_cb, ctx) < 0)
        free(ctx);
}

void status_start(broker_t *b)
{
    uv_timer_init(b->loop, &b->status_timer);
    b->status_timer.data = b;
    uv_timer_start(&b->status_timer, refresh_cb, 1000, 15000);
}

void status_stop(broker_t *b)
{
    if (b->status_timer.data) {
        uv_close((uv_handle_t *)&b->status_timer, NULL);
        b->status_timer.data = NULL;
    }
}
