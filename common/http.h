/* http.h — the small HTTP endpoint every daemon serves for operators, inside its libuv loop
 * (ARCHITECTURE.md principle 7: no extra thread).
 *
 *   GET /healthz  200 "ok\n"; answered by the loop thread itself, so an answer means the loop
 *                 still turns: the liveness signal.
 *   GET /readyz   200 "ready\n", or 503 "not ready: <reason>\n" when the ready callback says so.
 *   GET /metrics  200, Content-Type "text/plain; version=0.0.4", the registry's render.
 *   other paths   404 "not found\n".
 *   a known path with a method other than GET or HEAD: 405 "method not allowed\n", with
 *                 "Allow: GET, HEAD". HEAD is answered as GET without the body (RFC 9110 §9.1).
 *
 * Every answer is counted in trivsel_http_requests_total{code="...",path="..."}, with
 * path="other" for unknown paths so that scanners cannot grow the registry.
 * Connections idle for 10 seconds are closed; at most 32 are open at once.
 *
 * Loop rule: all functions are called from the loop thread.
 */
#ifndef TR_HTTP_H
#define TR_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "error.h"
#include "metrics.h"

typedef struct tr_http tr_http_t;

/* Asked on every GET /readyz. Returns 1 when the daemon is ready to serve, or 0 and writes a
 * short reason for operators into reason (reason_len bytes, reason[0] is '\0' on entry), e.g.
 * "database not connected". Must not call tr_http_close(). */
typedef int (*tr_http_ready_cb)(void *arg, char *reason, size_t reason_len);

/* Starts serving on address "HOST:PORT": HOST an IPv4 address ("0.0.0.0", "127.0.0.1") or an
 * IPv6 address in brackets ("[::]", "[::1]"); PORT 0-65535, where 0 takes any free port
 * (tr_http_port() tells which). Listening has begun when this returns.
 *
 * metrics (borrowed, must outlive the endpoint) is served on /metrics and counts requests.
 * ready may be NULL: then the daemon is always ready.
 *
 * Returns 0 and sets *out, or fails with nothing left open, *out NULL and err filled:
 *   TR_EINVAL  invalid HTTP address "localhost:99999": port must be 0-65535
 *   TR_EIO     cannot listen on HTTP address "0.0.0.0:9100": Address already in use */
int tr_http_new(uv_loop_t *loop, const char *address, tr_metrics_t *metrics,
                tr_http_ready_cb ready, void *ready_arg, tr_http_t **out, tr_error_t *err);

/* The port listened on: the one asked for, or the one the system chose for port 0. */
int tr_http_port(const tr_http_t *h);

/* Stops answering and closes the endpoint's libuv handles. The listening socket and open
 * connections are closed, the object freed and then closed_cb (may be NULL) called with arg
 * once libuv has closed the handles, i.e. during a later turn of the loop: keep the loop running
 * until then. Call it once per endpoint; NULL does nothing (and does not call closed_cb). */
void tr_http_close(tr_http_t *h, void (*closed_cb)(void *arg), void *arg);

#endif
