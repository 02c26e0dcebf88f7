/* test_http.c — the health and metrics endpoint, served from a real libuv loop in this thread
 * and asked by a plain blocking HTTP/1.1 client in another, as an operator's probe would. */
#include "http.h"

#include "check.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TEXT "text/plain; charset=utf-8"

struct reply {
    bool ok; /* a whole response was read */
    char status[64];
    char content_type[128];
    char allow[64];
    char body[4096];
};

/* A blocking socket connected to the loopback address of family, or -1. Connecting completes
 * in the kernel's backlog, before the server's loop has accepted. */
static int connect_to(int family, int port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A server that never answers fails the test instead of hanging it. */
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
    inet_pton(AF_INET6, "::1", &v6.sin6_addr);
    int rc = family == AF_INET ? connect(fd, (const struct sockaddr *)&v4, sizeof v4)
                               : connect(fd, (const struct sockaddr *)&v6, sizeof v6);
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request over a fresh connection, read until the server closes it (Connection: close). */
static void request(int family, int port, const char *text, struct reply *r)
{
    memset(r, 0, sizeof *r);
    int fd = connect_to(family, port);
    if (fd < 0)
        return;
    char raw[16384];
    size_t len = 0;
    ssize_t n = 0;
    if (send(fd, text, strlen(text), 0) != (ssize_t)strlen(text))
        goto out;
    while (len < sizeof raw - 1 && (n = recv(fd, raw + len, sizeof raw - 1 - len, 0)) > 0)
        len += (size_t)n;
    if (n < 0)
        goto out;
    raw[len] = '\0';

    char *headers_end = strstr(raw, "\r\n\r\n");
    char *status_end = strstr(raw, "\r\n");
    if (!headers_end || !status_end)
        goto out;
    *headers_end = '\0';
    snprintf(r->status, sizeof r->status, "%.*s", (int)(status_end - raw), raw);
    snprintf(r->body, sizeof r->body, "%s", headers_end + 4);
    for (char *line = status_end + 2; line && *line;) {
        char *end = strstr(line, "\r\n");
        if (end)
            *end = '\0';
        if (strncasecmp(line, "Content-Type: ", 14) == 0)
            snprintf(r->content_type, sizeof r->content_type, "%s", line + 14);
        if (strncasecmp(line, "Allow: ", 7) == 0)
            snprintf(r->allow, sizeof r->allow, "%s", line + 7);
        line = end ? end + 2 : NULL;
    }
    r->ok = true;
out:
    close(fd);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

enum {
    HEALTHZ,
    READYZ_READY,
    READYZ_NOT_READY,
    METRICS_FIRST,
    NOPE,
    POST_METRICS,
    POST_NOPE,
    HEAD_HEALTHZ,
    METRICS_WITH_QUERY,
    N_REQUESTS
};

static const char *const requests[N_REQUESTS] = {
    [HEALTHZ] = GET("/healthz"),
    [READYZ_READY] = GET("/readyz"),
    [READYZ_NOT_READY] = GET("/readyz"),
    [METRICS_FIRST] = GET("/metrics"),
    [NOPE] = GET("/nope"),
    [POST_METRICS] = "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
    [POST_NOPE] = "POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n",
    [HEAD_HEALTHZ] = "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    [METRICS_WITH_QUERY] = GET("/metrics?name=x"),
};

struct fixture {
    uv_loop_t loop;
    uv_async_t done;
    uv_timer_t watchdog;
    bool watchdog_fired;
    tr_metrics_t *metrics;
    tr_http_t *http;
    int family, port;
    int ready_calls;
    int closed_calls;
    int idle_fd;             /* a client that connects and says nothing */
    int64_t idle_timer_ms;   /* when the endpoint's timer was due as the requests ended; -1: none */
    struct reply replies[N_REQUESTS];
};

/* Ready on the first question, then not: the database went away, and the reason quotes libpq,
 * whose messages run over lines and end in a newline. */
static int ready_cb(void *arg, char *reason, size_t reason_len)
{
    struct fixture *f = arg;
    if (f->ready_calls++ == 0)
        return 1;
    snprintf(reason, reason_len,
             "database not reachable: connection refused\n\tIs the server running on that host?\n");
    return 0;
}

static void *client_main(void *arg)
{
    struct fixture *f = arg;
    for (int i = 0; i < N_REQUESTS; i++)
        request(f->family, f->port, requests[i], &f->replies[i]);
    uv_async_send(&f->done); /* the one uv call that is safe from another thread */
    return NULL;
}

static void find_http_timer_cb(uv_handle_t *handle, void *arg)
{
    struct fixture *f = arg;
    if (handle->type == UV_TIMER && handle != (uv_handle_t *)&f->watchdog && uv_is_active(handle))
        f->idle_timer_ms = (int64_t)uv_timer_get_due_in((uv_timer_t *)handle);
}

static void done_cb(uv_async_t *async)
{
    struct fixture *f = async->data;
    /* MHD closes idle connections only when it is run after their timeout, and nothing happens
     * on an idle socket to run it: the endpoint must keep its timer armed for that. */
    f->idle_timer_ms = -1;
    uv_walk(async->loop, find_http_timer_cb, f);
    uv_stop(async->loop);
}

static void watchdog_cb(uv_timer_t *timer)
{
    struct fixture *f = timer->data;
    f->watchdog_fired = true;
    uv_stop(timer->loop);
}

static void closed_cb(void *arg)
{
    struct fixture *f = arg;
    f->closed_calls++;
}

static const char *const expected_head =
    "# HELP trivsel_build_info A metric with a constant 1 value labelled by the service and "
    "version of trivsel.\n"
    "# TYPE trivsel_build_info gauge\n"
    "trivsel_build_info{service=\"intake\",version=\"" TR_VERSION "\"} 1\n"
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
    "# TYPE process_start_time_seconds gauge\n"
    "process_start_time_seconds 1717236000\n"
    "# HELP trivsel_http_requests_total HTTP requests answered by the health and metrics "
    "endpoint, by path and status code.\n"
    "# TYPE trivsel_http_requests_total counter\n";

/* Serves on address until a client thread has made every request; false if it could not start
 * (err says why). Closes the endpoint and the loop, checking both close cleanly. */
static bool serve(struct fixture *f, const char *address, int family, tr_error_t *err)
{
    memset(f, 0, sizeof *f);
    f->family = family;
    CHECK_INT_EQ(uv_loop_init(&f->loop), 0);
    f->metrics = tr_metrics_new("intake");
    tr_metric_set(tr_metrics_gauge(f->metrics, "process_start_time_seconds", "", NULL),
                  1717236000);
    int rc = tr_http_new(&f->loop, address, f->metrics, ready_cb, f, &f->http, err);
    if (rc == 0) {
        f->port = tr_http_port(f->http);
        CHECK(f->port > 0);
        f->idle_fd = connect_to(family, f->port);
        CHECK(f->idle_fd >= 0);
        uv_async_init(&f->loop, &f->done, done_cb);
        f->done.data = f;
        uv_timer_init(&f->loop, &f->watchdog);
        f->watchdog.data = f;
        uv_timer_start(&f->watchdog, watchdog_cb, 20000, 0);
        pthread_t client;
        CHECK_INT_EQ(pthread_create(&client, NULL, client_main, f), 0);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        pthread_join(client, NULL);
        CHECK(!f->watchdog_fired);
        /* 10 s from the idle client's connect, less the time the requests took (long under
         * valgrind). */
        CHECK(f->idle_timer_ms > 5000 && f->idle_timer_ms <= 10000);
        close(f->idle_fd);

        tr_http_close(f->http, closed_cb, f);
        CHECK_INT_EQ(f->closed_calls, 0); /* not before libuv has closed the handles */
        uv_close((uv_handle_t *)&f->done, NULL);
        uv_close((uv_handle_t *)&f->watchdog, NULL);
        CHECK_INT_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
        CHECK_INT_EQ(f->closed_calls, 1);
    }
    CHECK_INT_EQ(uv_loop_close(&f->loop), 0);
    tr_metrics_destroy(&f->metrics);
    return rc == 0;
}

static void check_replies(const struct fixture *f)
{
    const struct reply *r = f->replies;
    for (int i = 0; i < N_REQUESTS; i++)
        CHECK(r[i].ok);

    CHECK_STR_EQ(r[HEALTHZ].status, "HTTP/1.1 200 OK");
    CHECK_STR_EQ(r[HEALTHZ].content_type, TEXT);
    CHECK_STR_EQ(r[HEALTHZ].body, "ok\n");

    CHECK_STR_EQ(r[READYZ_READY].status, "HTTP/1.1 200 OK");
    CHECK_STR_EQ(r[READYZ_READY].content_type, TEXT);
    CHECK_STR_EQ(r[READYZ_READY].body, "ready\n");

    CHECK_STR_EQ(r[READYZ_NOT_READY].status, "HTTP/1.1 503 Service Unavailable");
    CHECK_STR_EQ(r[READYZ_NOT_READY].content_type, TEXT);
    CHECK_STR_EQ(r[READYZ_NOT_READY].body, "not ready: database not reachable: connection "
                                           "refused  Is the server running on that host?\n");
    CHECK_INT_EQ(f->ready_calls, 2);

    /* A scrape counts itself after rendering: the first one does not see itself. */
    char expected[4096];
    snprintf(expected, sizeof expected,
             "%s"
             "trivsel_http_requests_total{code=\"200\",path=\"/healthz\"} 1\n"
             "trivsel_http_requests_total{code=\"200\",path=\"/readyz\"} 1\n"
             "trivsel_http_requests_total{code=\"503\",path=\"/readyz\"} 1\n",
             expected_head);
    CHECK_STR_EQ(r[METRICS_FIRST].status, "HTTP/1.1 200 OK");
    CHECK_STR_EQ(r[METRICS_FIRST].content_type, "text/plain; version=0.0.4");
    CHECK_STR_EQ(r[METRICS_FIRST].body, expected);

    CHECK_STR_EQ(r[NOPE].status, "HTTP/1.1 404 Not Found");
    CHECK_STR_EQ(r[NOPE].content_type, TEXT);
    CHECK_STR_EQ(r[NOPE].body, "not found\n");

    CHECK_STR_EQ(r[POST_METRICS].status, "HTTP/1.1 405 Method Not Allowed");
    CHECK_STR_EQ(r[POST_METRICS].content_type, TEXT);
    CHECK_STR_EQ(r[POST_METRICS].allow, "GET, HEAD");
    CHECK_STR_EQ(r[POST_METRICS].body, "method not allowed\n");

    /* An unknown path is unknown whatever the method. */
    CHECK_STR_EQ(r[POST_NOPE].status, "HTTP/1.1 404 Not Found");
    CHECK_STR_EQ(r[POST_NOPE].body, "not found\n");

    CHECK_STR_EQ(r[HEAD_HEALTHZ].status, "HTTP/1.1 200 OK");
    CHECK_STR_EQ(r[HEAD_HEALTHZ].content_type, TEXT);
    CHECK_STR_EQ(r[HEAD_HEALTHZ].body, "");

    /* The query string is not part of the path; unknown paths share path="other". */
    snprintf(expected, sizeof expected,
             "%s"
             "trivsel_http_requests_total{code=\"200\",path=\"/healthz\"} 2\n"
             "trivsel_http_requests_total{code=\"200\",path=\"/readyz\"} 1\n"
             "trivsel_http_requests_total{code=\"503\",path=\"/readyz\"} 1\n"
             "trivsel_http_requests_total{code=\"200\",path=\"/metrics\"} 1\n"
             "trivsel_http_requests_total{code=\"404\",path=\"other\"} 2\n"
             "trivsel_http_requests_total{code=\"405\",path=\"/metrics\"} 1\n",
             expected_head);
    CHECK_STR_EQ(r[METRICS_WITH_QUERY].status, "HTTP/1.1 200 OK");
    CHECK_STR_EQ(r[METRICS_WITH_QUERY].content_type, "text/plain; version=0.0.4");
    CHECK_STR_EQ(r[METRICS_WITH_QUERY].body, expected);
}

static void test_endpoints_over_ipv4(void)
{
    struct fixture f;
    tr_error_t err = {0};
    CHECK(serve(&f, "127.0.0.1:0", AF_INET, &err));
    CHECK_STR_EQ(err.message, "");
    check_replies(&f);
}

static void test_endpoints_over_ipv6(void)
{
    struct fixture f;
    tr_error_t err = {0};
    if (!serve(&f, "[::1]:0", AF_INET6, &err)) {
        /* Containers without IPv6 on loopback exist; that is the only failure accepted. */
        CHECK_INT_EQ(err.code, TR_EIO);
        CHECK_STR_CONTAINS(err.message, "cannot listen on HTTP address \"[::1]:0\": ");
        printf("# skipped: %s\n", err.message);
        return;
    }
    check_replies(&f);
}

static void test_invalid_addresses(void)
{
    static const struct {
        const char *address, *message;
    } cases[] = {
        {"localhost:99999", "invalid HTTP address \"localhost:99999\": port must be 0-65535"},
        {"127.0.0.1:65536", "invalid HTTP address \"127.0.0.1:65536\": port must be 0-65535"},
        {"127.0.0.1:-1", "invalid HTTP address \"127.0.0.1:-1\": port must be 0-65535"},
        {"127.0.0.1:+80", "invalid HTTP address \"127.0.0.1:+80\": port must be 0-65535"},
        {"127.0.0.1: 80", "invalid HTTP address \"127.0.0.1: 80\": port must be 0-65535"},
        {"127.0.0.1:80 ", "invalid HTTP address \"127.0.0.1:80 \": port must be 0-65535"},
        {"127.0.0.1:000080", "invalid HTTP address \"127.0.0.1:000080\": port must be 0-65535"},
        {"127.0.0.1:", "invalid HTTP address \"127.0.0.1:\": port must be 0-65535"},
        {"127.0.0.1", "invalid HTTP address \"127.0.0.1\": expected HOST:PORT, e.g. 0.0.0.0:9100"},
        {"", "invalid HTTP address \"\": expected HOST:PORT, e.g. 0.0.0.0:9100"},
        {"localhost:9100", "invalid HTTP address \"localhost:9100\": host must be an IPv4 address "
                           "such as 0.0.0.0 or 127.0.0.1, or an IPv6 address in brackets"},
        {":9100", "invalid HTTP address \":9100\": host must be an IPv4 address such as 0.0.0.0 "
                  "or 127.0.0.1, or an IPv6 address in brackets"},
        {"256.0.0.1:9100", "invalid HTTP address \"256.0.0.1:9100\": host must be an IPv4 address "
                           "such as 0.0.0.0 or 127.0.0.1, or an IPv6 address in brackets"},
        {"10.1:9100", "invalid HTTP address \"10.1:9100\": host must be an IPv4 address such as "
                      "0.0.0.0 or 127.0.0.1, or an IPv6 address in brackets"},
        {"::1:9100",
         "invalid HTTP address \"::1:9100\": an IPv6 host goes in brackets, e.g. [::1]:9100"},
        {"[::1]9100", "invalid HTTP address \"[::1]9100\": expected [IPV6]:PORT, e.g. [::]:9100"},
        {"[::1:9100", "invalid HTTP address \"[::1:9100\": expected [IPV6]:PORT, e.g. [::]:9100"},
        {"[127.0.0.1]:9100", "invalid HTTP address \"[127.0.0.1]:9100\": host must be an IPv6 "
                             "address, e.g. [::] or [::1]"},
        {"[::1]:70000", "invalid HTTP address \"[::1]:70000\": port must be 0-65535"},
    };
    uv_loop_t loop;
    uv_loop_init(&loop);
    tr_metrics_t *m = tr_metrics_new("intake");
    static char not_null;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_error_t err = {0};
        tr_http_t *h = (tr_http_t *)&not_null; /* a failure must set it to NULL */
        CHECK_INT_EQ(tr_http_new(&loop, cases[i].address, m, NULL, NULL, &h, &err), TR_EINVAL);
        CHECK(h == NULL);
        CHECK_INT_EQ(err.code, TR_EINVAL);
        CHECK_STR_EQ(err.message, cases[i].message);
    }
    CHECK_INT_EQ(uv_loop_close(&loop), 0); /* a failed start leaves nothing behind */
    tr_metrics_destroy(&m);
}

static void count_closed_cb(void *arg)
{
    ++*(int *)arg;
}

static void test_port_in_use(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    tr_metrics_t *m = tr_metrics_new("intake");
    tr_error_t err = {0};
    tr_http_t *first = NULL, *second = NULL;
    CHECK_INT_EQ(tr_http_new(&loop, "127.0.0.1:0", m, NULL, NULL, &first, &err), 0);
    if (!first)
        return;
    char address[32], message[128];
    snprintf(address, sizeof address, "127.0.0.1:%d", tr_http_port(first));
    snprintf(message, sizeof message,
             "cannot listen on HTTP address \"%s\": Address already in use", address);
    CHECK_INT_EQ(tr_http_new(&loop, address, m, NULL, NULL, &second, &err), TR_EIO);
    CHECK(second == NULL);
    CHECK_INT_EQ(err.code, TR_EIO);
    CHECK_STR_EQ(err.message, message);

    /* Once closed, the port is free again: a restarted endpoint gets it. */
    int closed = 0;
    tr_http_close(first, count_closed_cb, &closed);
    tr_http_close(NULL, count_closed_cb, &closed);
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(closed, 1);
    CHECK_INT_EQ(tr_http_new(&loop, address, m, NULL, NULL, &second, &err), 0);
    CHECK_INT_EQ(tr_http_port(second), atoi(strchr(address, ':') + 1));
    tr_http_close(second, NULL, NULL);
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);
    tr_metrics_destroy(&m);
}

int main(void)
{
    CHECK_RUN(test_endpoints_over_ipv4);
    CHECK_RUN(test_endpoints_over_ipv6);
    CHECK_RUN(test_invalid_addresses);
    CHECK_RUN(test_port_in_use);
    return check_done();
}
