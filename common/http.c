#include "http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IDLE_TIMEOUT_S 10
#define MAX_CONNECTIONS 32
#define READY_REASON_MAX 256

struct tr_http {
    uv_loop_t *loop;
    /* libmicrohttpd keeps its sockets in an epoll set of its own; the loop watches that set's
     * fd and calls MHD_run when it turns readable, and the timer makes sure MHD_run also runs
     * when MHD asks for it without socket activity (idle timeouts, work left over). */
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles; /* handles initialised and not yet closed */
    struct MHD_Daemon *daemon;
    tr_metrics_t *metrics;
    tr_http_ready_cb ready;
    void *ready_arg;
    int port;
    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

/* Parses "A.B.C.D:PORT" or "[IPV6]:PORT" into addr. */
static int parse_address(const char *address, struct sockaddr_storage *addr, socklen_t *addr_len,
                         tr_error_t *err)
{
    const char *host = address, *host_end, *port;
    bool v6 = address[0] == '[';
    if (v6) {
        host++;
        host_end = strchr(host, ']');
        if (!host_end || host_end[1] != ':')
            return tr_error_set(err, TR_EINVAL,
                                "invalid HTTP address \"%s\": expected [IPV6]:PORT, e.g. [::]:9100",
                                address);
        port = host_end + 2;
    } else {
        host_end = strrchr(address, ':');
        if (!host_end)
            return tr_error_set(
                err, TR_EINVAL,
                "invalid HTTP address \"%s\": expected HOST:PORT, e.g. 0.0.0.0:9100", address);
        if (memchr(address, ':', (size_t)(host_end - address)))
            return tr_error_set(
                err, TR_EINVAL,
                "invalid HTTP address \"%s\": an IPv6 host goes in brackets, e.g. [::1]:9100",
                address);
        port = host_end + 1;
    }

    /* Digits only, at most five: no sign, no spaces, no overflow on the way. */
    size_t digits = strspn(port, "0123456789");
    long port_n = digits > 0 && digits <= 5 && port[digits] == '\0' ? strtol(port, NULL, 10) : -1;
    if (port_n < 0 || port_n > 65535)
        return tr_error_set(err, TR_EINVAL, "invalid HTTP address \"%s\": port must be 0-65535",
                            address);

    char host_s[INET6_ADDRSTRLEN];
    size_t host_len = (size_t)(host_end - host);
    bool host_ok = host_len < sizeof host_s;
    if (host_ok) {
        memcpy(host_s, host, host_len);
        host_s[host_len] = '\0';
    }
    memset(addr, 0, sizeof *addr);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port_n);
        *addr_len = sizeof *a;
        if (!host_ok || inet_pton(AF_INET6, host_s, &a->sin6_addr) != 1)
            return tr_error_set(err, TR_EINVAL,
                                "invalid HTTP address \"%s\": host must be an IPv6 address, "
                                "e.g. [::] or [::1]",
                                address);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port_n);
        *addr_len = sizeof *a;
        /* Numeric only: resolving a name would block the loop and could pick either family. */
        if (!host_ok || inet_pton(AF_INET, host_s, &a->sin_addr) != 1)
            return tr_error_set(err, TR_EINVAL,
                                "invalid HTTP address \"%s\": host must be an IPv4 address such "
                                "as 0.0.0.0 or 127.0.0.1, or an IPv6 address in brackets",
                                address);
    }
    return 0;
}

/* Opens the listening socket ourselves rather than through MHD, so that a failure reaches the
 * operator with its errno ("Address already in use"). Returns the fd, or a TR_E... code. */
static int listen_on(const char *address, const struct sockaddr_storage *addr, socklen_t addr_len,
                     int *port, tr_error_t *err)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tr_error_set(err, TR_EIO, "cannot listen on HTTP address \"%s\": %s", address,
                            strerror(errno));
    /* A restarted daemon must not wait for its old connections' TIME_WAIT to pass. */
    int one = 1;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (const struct sockaddr *)addr, addr_len) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
        int rc = tr_error_set(err, TR_EIO, "cannot listen on HTTP address \"%s\": %s", address,
                              strerror(errno));
        close(fd);
        return rc;
    }
    *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
    return fd;
}

static void count(tr_http_t *h, const char *path, unsigned code)
{
    char code_s[8];
    snprintf(code_s, sizeof code_s, "%u", code);
    tr_metric_inc(tr_metrics_counter(
        h->metrics, "trivsel_http_requests_total",
        "HTTP requests answered by the health and metrics endpoint, by path and status code.",
        "path", path, "code", code_s, NULL));
}

/* Queues body as the answer and counts it. With MHD_RESPMEM_MUST_FREE, body is freed here or by
 * MHD, whatever happens. */
static enum MHD_Result respond(tr_http_t *h, struct MHD_Connection *conn, const char *path,
                               unsigned code, const char *content_type, char *body,
                               enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO; /* MHD closes the connection */
    }
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (ok == MHD_YES && code == MHD_HTTP_METHOD_NOT_ALLOWED)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (ok == MHD_YES)
        ok = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES)
        count(h, path, code);
    return ok;
}

/* Reasons often quote libpq, whose messages end in a newline and may run over several lines;
 * the answer is one line, so an operator's curl or a probe's log shows all of it. */
static void one_line(char *s)
{
    size_t len = 0;
    for (char *c = s; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
        if (*c != ' ')
            len = (size_t)(c - s) + 1;
    }
    s[len] = '\0';
}

#define TEXT "text/plain; charset=utf-8"

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    tr_http_t *h = cls;
    char text[READY_REASON_MAX + 32];

    const char *path = strcmp(url, "/healthz") == 0   ? "/healthz"
                       : strcmp(url, "/readyz") == 0  ? "/readyz"
                       : strcmp(url, "/metrics") == 0 ? "/metrics"
                                                      : NULL;
    /* Answered on the first call, when the headers are in: no endpoint reads a body, and MHD
     * discards whatever body a refused request carries. */
    if (!path)
        return respond(h, conn, "other", MHD_HTTP_NOT_FOUND, TEXT, strcpy(text, "not found\n"),
                       MHD_RESPMEM_MUST_COPY);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond(h, conn, path, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT,
                       strcpy(text, "method not allowed\n"), MHD_RESPMEM_MUST_COPY);

    if (strcmp(path, "/healthz") == 0)
        return respond(h, conn, path, MHD_HTTP_OK, TEXT, strcpy(text, "ok\n"),
                       MHD_RESPMEM_MUST_COPY);

    if (strcmp(path, "/readyz") == 0) {
        char reason[READY_REASON_MAX] = "";
        if (!h->ready || h->ready(h->ready_arg, reason, sizeof reason))
            return respond(h, conn, path, MHD_HTTP_OK, TEXT, strcpy(text, "ready\n"),
                           MHD_RESPMEM_MUST_COPY);
        reason[sizeof reason - 1] = '\0';
        one_line(reason);
        if (reason[0])
            snprintf(text, sizeof text, "not ready: %s\n", reason);
        else
            strcpy(text, "not ready\n");
        return respond(h, conn, path, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, text,
                       MHD_RESPMEM_MUST_COPY);
    }

    char *body = tr_metrics_render(h->metrics);
    if (!body)
        return respond(h, conn, path, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
                       strcpy(text, "out of memory\n"), MHD_RESPMEM_MUST_COPY);
    return respond(h, conn, path, MHD_HTTP_OK, "text/plain; version=0.0.4", body,
                   MHD_RESPMEM_MUST_FREE);
}

static void timer_cb(uv_timer_t *timer);

/* MHD's sockets are edge-triggered inside its epoll set, so MHD may hold work it has been told
 * about but not finished (timeout 0); and it has idle connections to time out. */
static void arm_timer(tr_http_t *h)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
        uv_timer_start(&h->timer, timer_cb, ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static void run(tr_http_t *h)
{
    MHD_run(h->daemon);
    /* Against the header's rule, a ready callback may have closed the endpoint during MHD_run:
     * then the timer is closing and must not be started again. */
    if (!h->closing)
        arm_timer(h);
}

static void poll_cb(uv_poll_t *poll, int status, int events)
{
    /* An error on the epoll fd itself is not expected; MHD_run finds nothing to do then. */
    (void)status, (void)events;
    run(poll->data);
}

static void timer_cb(uv_timer_t *timer)
{
    run(timer->data);
}

static void handle_closed_cb(uv_handle_t *handle)
{
    tr_http_t *h = handle->data;
    if (--h->open_handles > 0)
        return;
    /* Only now: MHD closes its epoll fd, which libuv must not be watching any more, and this
     * never runs inside MHD_run, even when tr_http_close was called from the ready callback. */
    MHD_stop_daemon(h->daemon);
    void (*closed_cb)(void *) = h->closed_cb;
    void *closed_arg = h->closed_arg;
    free(h);
    if (closed_cb)
        closed_cb(closed_arg);
}

void tr_http_close(tr_http_t *h, void (*closed_cb)(void *arg), void *arg)
{
    if (!h)
        return;
    assert(!h->closing);
    h->closing = true;
    h->closed_cb = closed_cb;
    h->closed_arg = arg;
    uv_close((uv_handle_t *)&h->poll, handle_closed_cb);
    uv_close((uv_handle_t *)&h->timer, handle_closed_cb);
}

int tr_http_port(const tr_http_t *h)
{
    assert(h);
    return h->port;
}

int tr_http_new(uv_loop_t *loop, const char *address, tr_metrics_t *metrics,
                tr_http_ready_cb ready, void *ready_arg, tr_http_t **out, tr_error_t *err)
{
    assert(loop && address && metrics && out);
    *out = NULL;
    tr_http_t *h = NULL;
    int listen_fd = -1, mhd_fd = -1, rc, port = 0;
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;

    if ((rc = parse_address(address, &addr, &addr_len, err)) < 0)
        goto out;
    if ((rc = listen_fd = listen_on(address, &addr, addr_len, &port, err)) < 0)
        goto out;
    if (!(h = calloc(1, sizeof *h))) {
        rc = tr_error_set(err, TR_ENOMEM, "out of memory starting HTTP server on \"%s\"", address);
        goto out;
    }
    h->loop = loop;
    h->metrics = metrics;
    h->ready = ready;
    h->ready_arg = ready_arg;
    h->port = port;

    /* MHD closes the listening socket it is given, on stop and on some of its start failures but
     * not on all: it gets a duplicate and ours is closed below either way, so no socket is ever
     * closed twice (a failed start may leak the duplicate; only out of memory gets there). */
    if ((mhd_fd = dup(listen_fd)) < 0) {
        rc = tr_error_set(err, TR_EIO, "cannot start HTTP server on \"%s\": %s", address,
                          strerror(errno));
        goto out;
    }
    /* External polling (no MHD thread) with epoll, so the whole server is one fd to the loop. */
    h->daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, answer, h, MHD_OPTION_LISTEN_SOCKET,
                                 (MHD_socket)mhd_fd, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)MAX_CONNECTIONS, MHD_OPTION_END);
    if (!h->daemon) {
        rc = tr_error_set(err, TR_EIO, "cannot start HTTP server on \"%s\"", address);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    int uv_rc = info ? uv_poll_init(loop, &h->poll, info->epoll_fd) : UV_EINVAL;
    if (uv_rc < 0) {
        rc = tr_error_set(err, TR_EIO, "cannot watch HTTP server on \"%s\": %s", address,
                          uv_strerror(uv_rc));
        MHD_stop_daemon(h->daemon);
        goto out;
    }
    uv_timer_init(loop, &h->timer);
    h->poll.data = h->timer.data = h;
    h->open_handles = 2;
    if ((uv_rc = uv_poll_start(&h->poll, UV_READABLE, poll_cb)) < 0) {
        rc = tr_error_set(err, TR_EIO, "cannot watch HTTP server on \"%s\": %s", address,
                          uv_strerror(uv_rc));
        tr_http_close(h, NULL, NULL); /* the handles are initialised: frees h once closed */
        h = NULL;
        goto out;
    }
    /* Not MHD_run: a request already waiting would call the ready callback before the caller
     * even has the endpoint. The poll handle sees it on the loop's first turn. */
    arm_timer(h);
    *out = h;
    h = NULL;
    rc = 0;
out:
    if (listen_fd >= 0)
        close(listen_fd);
    free(h);
    return rc;
}
