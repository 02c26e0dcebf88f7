#include "zwatch.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

#include "error.h"

struct tr_zwatch {
    void *sock;
    uv_poll_t poll;
    uv_check_t check;
    uv_idle_t idle;
    tr_zwatch_cb readable_cb, writable_cb;
    void *arg;
    bool want_writable;
    bool closing;
    int open_handles;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static void idle_cb(uv_idle_t *h);

static void process(tr_zwatch_t *w)
{
    if (w->closing)
        return;
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &len) != 0) {
        /* ETERM: the context is shutting down and nothing more will come; looking again on
         * every turn would only spin the loop. */
        if (zmq_errno() != EINTR)
            uv_idle_stop(&w->idle);
        return;
    }
    if (events & ZMQ_POLLIN) {
        w->readable_cb(w->arg);
        if (w->closing)
            return;
        len = sizeof events;
        zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &len);
    }
    if (w->want_writable && w->writable_cb && (events & ZMQ_POLLOUT)) {
        w->writable_cb(w->arg);
        if (w->closing)
            return;
        len = sizeof events;
        zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &len);
    }
    bool busy = (events & ZMQ_POLLIN) || (w->want_writable && (events & ZMQ_POLLOUT));
    if (busy)
        uv_idle_start(&w->idle, idle_cb);
    else
        uv_idle_stop(&w->idle);
}

static void idle_cb(uv_idle_t *h)
{
    (void)h; /* its only job is to keep the loop from blocking; check_cb does the work */
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    process(h->data);
}

static void check_cb(uv_check_t *h)
{
    process(h->data);
}

int tr_zwatch_new(uv_loop_t *loop, void *sock, tr_zwatch_cb readable_cb, void *arg, tr_zwatch_t **out)
{
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
        return TR_EINVAL;
    tr_zwatch_t *w = calloc(1, sizeof *w);
    if (!w)
        return TR_ENOMEM;
    w->sock = sock;
    w->readable_cb = readable_cb;
    w->arg = arg;
    /* uv_poll_init is the one that can fail, and leaves nothing to close when it does. */
    if (uv_poll_init(loop, &w->poll, fd) != 0) {
        free(w);
        return TR_EIO;
    }
    uv_check_init(loop, &w->check);
    uv_idle_init(loop, &w->idle);
    w->poll.data = w->check.data = w->idle.data = w;
    w->open_handles = 3;
    uv_poll_start(&w->poll, UV_READABLE, poll_cb);
    uv_check_start(&w->check, check_cb);
    /* Messages may already be queued before the first edge: look on the first turn. */
    uv_idle_start(&w->idle, idle_cb);
    *out = w;
    return 0;
}

void tr_zwatch_set_writable_cb(tr_zwatch_t *w, tr_zwatch_cb writable_cb)
{
    w->writable_cb = writable_cb;
}

void tr_zwatch_want_writable(tr_zwatch_t *w, bool want)
{
    w->want_writable = want;
    if (want && !w->closing) /* a closing handle must not be started again */
        uv_idle_start(&w->idle, idle_cb);
}

void tr_zwatch_kick(tr_zwatch_t *w)
{
    if (!w->closing)
        uv_idle_start(&w->idle, idle_cb);
}

static void closed_cb(uv_handle_t *h)
{
    tr_zwatch_t *w = h->data;
    if (--w->open_handles == 0) {
        void (*cb)(void *) = w->closed_cb;
        void *arg = w->closed_arg;
        free(w);
        if (cb)
            cb(arg);
    }
}

void tr_zwatch_close(tr_zwatch_t *w, void (*cb)(void *arg), void *arg)
{
    assert(!w->closing);
    w->closing = true;
    w->closed_cb = cb;
    w->closed_arg = arg;
    uv_close((uv_handle_t *)&w->poll, closed_cb);
    uv_close((uv_handle_t *)&w->check, closed_cb);
    uv_close((uv_handle_t *)&w->idle, closed_cb);
}
