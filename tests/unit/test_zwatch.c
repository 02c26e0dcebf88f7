/* test_zwatch.c — real ZeroMQ sockets (inproc) in a libuv loop. The receiving callbacks take
 * at most a batch of 100 messages per call, so every test with more than 100 waiting also
 * proves the watcher comes back for the rest when no new edge will announce them. Each loop
 * has a watchdog: a watcher that stops delivering fails the test instead of hanging it. */
#include "zwatch.h"

#include "check.h"
#include "error.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

#define BATCH 100
#define WATCHDOG_MS 10000

/* One test's loop, sockets and counts. */
typedef struct fixture {
    uv_loop_t loop;
    uv_timer_t watchdog;
    uv_timer_t ticker;
    void *ctx;
    void *in;  /* the socket the test receives on, watched */
    void *out; /* the socket the test sends on */
    tr_zwatch_t *in_watch, *out_watch;
    uint32_t total;    /* messages to move */
    uint32_t received; /* in order: the next expected sequence number */
    uint32_t sent;
    uint32_t echoed;
    int calls;     /* readable_cb calls that received something */
    int max_batch; /* most messages taken in one call */
    int writable_calls;
    int full_queue; /* sends refused with EAGAIN */
    int closed;     /* watcher close callbacks run */
    bool out_of_order;
    bool timed_out;
    bool after_close; /* a callback came after its watcher was closed */
    bool in_closed;
} fixture_t;

static void handle_closed_cb(uv_handle_t *h)
{
    (void)h;
}

static void watch_closed_cb(void *arg)
{
    fixture_t *f = arg;
    f->closed++;
}

/* Closes what is still open; the loop then ends. */
static void finish(fixture_t *f)
{
    if (f->in_watch && !f->in_closed) {
        f->in_closed = true;
        tr_zwatch_close(f->in_watch, watch_closed_cb, f);
    }
    if (f->out_watch) {
        tr_zwatch_close(f->out_watch, watch_closed_cb, f);
        f->out_watch = NULL;
    }
    if (!uv_is_closing((uv_handle_t *)&f->watchdog))
        uv_close((uv_handle_t *)&f->watchdog, handle_closed_cb);
    if (!uv_is_closing((uv_handle_t *)&f->ticker))
        uv_close((uv_handle_t *)&f->ticker, handle_closed_cb);
}

static void watchdog_cb(uv_timer_t *t)
{
    fixture_t *f = t->data;
    f->timed_out = true;
    printf("#   watchdog: %u of %u received, %u sent, %u echoed\n", f->received, f->total, f->sent,
           f->echoed);
    finish(f);
}

static void setup(fixture_t *f, uint32_t total)
{
    memset(f, 0, sizeof *f);
    f->total = total;
    CHECK_INT_EQ(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_init(&f->loop, &f->ticker);
    f->watchdog.data = f->ticker.data = f;
    uv_timer_start(&f->watchdog, watchdog_cb, WATCHDOG_MS, 0);
    f->ctx = zmq_ctx_new();
    CHECK(f->ctx != NULL);
}

static void *new_socket(fixture_t *f, int type, int hwm)
{
    void *s = zmq_socket(f->ctx, type);
    CHECK(s != NULL);
    CHECK_INT_EQ(zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm), 0);
    CHECK_INT_EQ(zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm), 0);
    return s;
}

/* Runs the loop to its end and checks everything closed and nothing timed out. */
static void run_and_teardown(fixture_t *f, int watchers)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK(!f->timed_out);
    CHECK_INT_EQ(f->closed, watchers);
    CHECK(!f->after_close);
    CHECK_INT_EQ(uv_loop_close(&f->loop), 0);
    int linger = 0;
    if (f->in) {
        zmq_setsockopt(f->in, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(f->in);
    }
    if (f->out) {
        zmq_setsockopt(f->out, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(f->out);
    }
    CHECK_INT_EQ(zmq_ctx_term(f->ctx), 0);
}

static int send_seq(void *s, uint32_t seq, int flags)
{
    return zmq_send(s, &seq, sizeof seq, flags);
}

/* Takes one message's sequence number off the watched socket: 1 when one was there, 0 when
 * none, and checks it is the next expected one. */
static int take(fixture_t *f)
{
    uint32_t seq;
    int n = zmq_recv(f->in, &seq, sizeof seq, ZMQ_DONTWAIT);
    if (n < 0) {
        if (zmq_errno() != EAGAIN)
            CHECK_FAIL_("zmq_recv: %s", zmq_strerror(zmq_errno()));
        return 0;
    }
    if (n != sizeof seq || seq != f->received) {
        if (!f->out_of_order)
            CHECK_FAIL_("message %u arrived as number %u (%d bytes)", seq, f->received, n);
        f->out_of_order = true;
    }
    f->received++;
    return 1;
}

/* The receiving side: takes at most BATCH messages, then leaves the rest for the next call. */
static void readable_cb(void *arg)
{
    fixture_t *f = arg;
    if (f->in_closed)
        f->after_close = true;
    int got = 0;
    while (got < BATCH && take(f))
        got++;
    if (got > 0)
        f->calls++;
    if (got > f->max_batch)
        f->max_batch = got;
    if (f->received == f->total)
        finish(f);
}

/* --- messages queued before the loop runs, and no new edge after the first ----------------- */

static void test_backlog_is_drained_in_batches(void)
{
    fixture_t f;
    setup(&f, 10000);
    f.in = new_socket(&f, ZMQ_PULL, 0);
    f.out = new_socket(&f, ZMQ_PUSH, 0);
    CHECK_INT_EQ(zmq_bind(f.in, "inproc://backlog"), 0);
    CHECK_INT_EQ(zmq_connect(f.out, "inproc://backlog"), 0);
    /* All of them are waiting before the watcher exists; nothing is sent afterwards, so after
     * the first batch only the watcher itself can bring the loop back to the socket. */
    for (uint32_t i = 0; i < f.total; i++)
        CHECK_INT_EQ(send_seq(f.out, i, 0), 4);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, readable_cb, &f, &f.in_watch), 0);
    run_and_teardown(&f, 1);
    CHECK_INT_EQ(f.received, 10000);
    CHECK(!f.out_of_order);
    CHECK_INT_EQ(f.max_batch, BATCH);
    CHECK_INT_EQ(f.calls, 10000 / BATCH);
}

/* --- 100,000 messages from another thread, in bursts -------------------------------------- */

typedef struct sender {
    void *ctx;
    uint32_t total;
    int failed_sends;
} sender_t;

static void *push_thread(void *arg)
{
    sender_t *s = arg;
    void *push = zmq_socket(s->ctx, ZMQ_PUSH);
    int timeout_ms = 10000; /* a receiver that stalls fails the test instead of hanging it */
    zmq_setsockopt(push, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_connect(push, "inproc://bursts");
    /* Bursts of up to 5,000 with pauses; the default high-water mark of 1,000 makes the
     * sender wait for the receiver within a burst. */
    uint32_t seq = 0;
    for (int burst = 0; seq < s->total; burst++) {
        uint32_t size = 1 + (uint32_t)(burst * 997) % 5000;
        for (uint32_t i = 0; i < size && seq < s->total; i++, seq++) {
            if (send_seq(push, seq, 0) != 4) {
                s->failed_sends++;
                goto out;
            }
        }
        nanosleep(&(struct timespec){.tv_nsec = (burst % 3) * 1000000L}, NULL);
    }
out:
    zmq_close(push);
    return NULL;
}

static void test_bursts_from_another_thread(void)
{
    fixture_t f;
    setup(&f, 100000);
    f.in = new_socket(&f, ZMQ_PULL, 1000);
    CHECK_INT_EQ(zmq_bind(f.in, "inproc://bursts"), 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, readable_cb, &f, &f.in_watch), 0);
    sender_t s = {.ctx = f.ctx, .total = f.total};
    pthread_t thread;
    CHECK_INT_EQ(pthread_create(&thread, NULL, push_thread, &s), 0);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    pthread_join(thread, NULL);
    CHECK_INT_EQ(s.failed_sends, 0);
    CHECK(!f.timed_out);
    CHECK_INT_EQ(f.closed, 1);
    CHECK_INT_EQ(uv_loop_close(&f.loop), 0);
    zmq_close(f.in);
    CHECK_INT_EQ(zmq_ctx_term(f.ctx), 0);
    CHECK_INT_EQ(f.received, 100000);
    CHECK(!f.out_of_order);
    CHECK(f.max_batch <= BATCH);
    CHECK(f.calls >= 100000 / BATCH);
}

/* --- sends from a timer on the watched socket: the case tr_zwatch_kick is for ------------- */

/* The peer: a ROUTER on the same thread that echoes every request it has, synchronously. */
static void echo_all(fixture_t *f)
{
    for (;;) {
        char identity[256];
        uint32_t seq;
        int n = zmq_recv(f->out, identity, sizeof identity, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        CHECK_INT_EQ(zmq_recv(f->out, &seq, sizeof seq, 0), 4);
        CHECK_INT_EQ(zmq_send(f->out, identity, (size_t)n, ZMQ_SNDMORE), n);
        CHECK_INT_EQ(send_seq(f->out, seq, 0), 4);
        f->echoed++;
    }
}

/* Starts the next tick once the DEALER has every answer so far: by then the watcher has seen
 * the socket empty and stopped looking, so only a kick can bring it back. */
static void next_tick_when_caught_up(fixture_t *f)
{
    if (f->received == f->echoed && f->echoed < f->total &&
        !uv_is_closing((uv_handle_t *)&f->ticker))
        uv_timer_start(&f->ticker, f->ticker.timer_cb, 1, 0);
}

/* One tick: the peer answers the last burst, which wakes the DEALER's ZMQ_FD; then the DEALER,
 * as any sender does, looks whether it may send and sends the next burst. Those calls process
 * ZeroMQ's commands and so consume that wake-up: the loop would sleep with 1,000 answers
 * waiting (the ticker is not running meanwhile) were it not for the kick. */
static void ticker_cb(uv_timer_t *t)
{
    fixture_t *f = t->data;
    echo_all(f);
    int events = 0;
    size_t len = sizeof events;
    CHECK_INT_EQ(zmq_getsockopt(f->in, ZMQ_EVENTS, &events, &len), 0);
    for (uint32_t i = 0; i < 1000 && f->sent < f->total && (events & ZMQ_POLLOUT); i++) {
        if (send_seq(f->in, f->sent, ZMQ_DONTWAIT) != 4) {
            f->full_queue++;
            break;
        }
        f->sent++;
    }
    tr_zwatch_kick(f->in_watch);
    next_tick_when_caught_up(f);
}

static void dealer_readable_cb(void *arg)
{
    fixture_t *f = arg;
    readable_cb(f);
    next_tick_when_caught_up(f);
}

static void test_sends_from_timer_with_kick(void)
{
    fixture_t f;
    setup(&f, 100000);
    f.in = new_socket(&f, ZMQ_DEALER, 0);
    f.out = new_socket(&f, ZMQ_ROUTER, 0);
    CHECK_INT_EQ(zmq_bind(f.out, "inproc://echo"), 0);
    CHECK_INT_EQ(zmq_connect(f.in, "inproc://echo"), 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, dealer_readable_cb, &f, &f.in_watch), 0);
    uv_timer_start(&f.ticker, ticker_cb, 1, 0);
    run_and_teardown(&f, 1);
    CHECK_INT_EQ(f.sent, 100000);
    CHECK_INT_EQ(f.echoed, 100000);
    CHECK_INT_EQ(f.received, 100000);
    CHECK(!f.out_of_order);
    CHECK_INT_EQ(f.max_batch, BATCH);
    CHECK_INT_EQ(f.full_queue, 0);
}

/* --- a sender that met a full queue resumes from writable_cb ----------------------------- */

/* Sends until done or the queue is full; then asks to be called when it has room. */
static void send_some(fixture_t *f)
{
    while (f->sent < f->total) {
        if (send_seq(f->out, f->sent, ZMQ_DONTWAIT) != 4) {
            CHECK_INT_EQ(zmq_errno(), EAGAIN);
            f->full_queue++;
            tr_zwatch_want_writable(f->out_watch, true);
            return;
        }
        f->sent++;
    }
    tr_zwatch_want_writable(f->out_watch, false);
}

static void push_writable_cb(void *arg)
{
    fixture_t *f = arg;
    if (!f->out_watch)
        f->after_close = true;
    f->writable_calls++;
    send_some(f);
}

static void push_readable_cb(void *arg)
{
    (void)arg; /* a PUSH socket never has anything to read */
    CHECK_FAIL_("readable_cb called for a PUSH socket");
}

static void test_writable_cb_resumes_full_sender(void)
{
    fixture_t f;
    setup(&f, 20000);
    f.in = new_socket(&f, ZMQ_PULL, 10);
    f.out = new_socket(&f, ZMQ_PUSH, 10);
    CHECK_INT_EQ(zmq_bind(f.in, "inproc://full"), 0);
    CHECK_INT_EQ(zmq_connect(f.out, "inproc://full"), 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, readable_cb, &f, &f.in_watch), 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.out, push_readable_cb, &f, &f.out_watch), 0);
    tr_zwatch_set_writable_cb(f.out_watch, push_writable_cb);
    send_some(&f);
    CHECK(f.sent < 100); /* the queue is small: most messages must wait for writable_cb */
    run_and_teardown(&f, 2);
    CHECK_INT_EQ(f.sent, 20000);
    CHECK_INT_EQ(f.received, 20000);
    CHECK(!f.out_of_order);
    CHECK(f.writable_calls >= 100);
    CHECK(f.full_queue >= 100);
}

/* --- closing ----------------------------------------------------------------------------- */

static void closing_readable_cb(void *arg)
{
    fixture_t *f = arg;
    if (f->in_closed)
        f->after_close = true;
    for (int i = 0; i < 10; i++)
        take(f);
    f->calls++;
    if (f->received >= 50) /* close from inside the callback, messages still waiting */
        finish(f);
}

static void test_close_from_readable_cb(void)
{
    fixture_t f;
    setup(&f, 1000);
    f.in = new_socket(&f, ZMQ_PULL, 0);
    f.out = new_socket(&f, ZMQ_PUSH, 0);
    CHECK_INT_EQ(zmq_bind(f.in, "inproc://close"), 0);
    CHECK_INT_EQ(zmq_connect(f.out, "inproc://close"), 0);
    for (uint32_t i = 0; i < f.total; i++)
        send_seq(f.out, i, 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, closing_readable_cb, &f, &f.in_watch), 0);
    run_and_teardown(&f, 1);
    CHECK_INT_EQ(f.received, 50);
    CHECK_INT_EQ(f.calls, 5);
}

static void never_cb(void *arg)
{
    fixture_t *f = arg;
    f->after_close = true;
}

static void test_close_before_the_loop_runs(void)
{
    fixture_t f;
    setup(&f, 1);
    f.in = new_socket(&f, ZMQ_PULL, 0);
    f.out = new_socket(&f, ZMQ_PUSH, 0);
    CHECK_INT_EQ(zmq_bind(f.in, "inproc://early"), 0);
    CHECK_INT_EQ(zmq_connect(f.out, "inproc://early"), 0);
    send_seq(f.out, 0, 0);
    CHECK_INT_EQ(tr_zwatch_new(&f.loop, f.in, never_cb, &f, &f.in_watch), 0);
    tr_zwatch_set_writable_cb(f.in_watch, never_cb);
    finish(&f);
    /* asking for more after close does nothing */
    tr_zwatch_kick(f.in_watch);
    tr_zwatch_want_writable(f.in_watch, true);
    run_and_teardown(&f, 1);
}

typedef struct spin {
    uv_prepare_t prepare;
    uv_timer_t stop;
    tr_zwatch_t *watch;
    long turns; /* loop iterations */
    int closed;
} spin_t;

static void spin_prepare_cb(uv_prepare_t *h)
{
    spin_t *s = h->data;
    s->turns++;
}

static void spin_closed_cb(void *arg)
{
    spin_t *s = arg;
    s->closed++;
}

static void spin_stop_cb(uv_timer_t *t)
{
    spin_t *s = t->data;
    tr_zwatch_close(s->watch, spin_closed_cb, s);
    uv_close((uv_handle_t *)&s->prepare, handle_closed_cb);
    uv_close((uv_handle_t *)&s->stop, handle_closed_cb);
}

/* A daemon shutting down terminates its ZeroMQ context while the watcher is still open; the
 * socket then answers every call with ETERM, and the loop must sleep, not spin. */
static void test_terminated_context_does_not_spin(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    spin_t s = {0};
    s.prepare.data = s.stop.data = &s;
    CHECK_INT_EQ(tr_zwatch_new(&loop, pull, never_cb, NULL, &s.watch), 0);
    CHECK_INT_EQ(zmq_ctx_shutdown(ctx), 0);
    uv_prepare_init(&loop, &s.prepare);
    uv_prepare_start(&s.prepare, spin_prepare_cb);
    uv_timer_init(&loop, &s.stop);
    uv_timer_start(&s.stop, spin_stop_cb, 200, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (s.turns > 50)
        CHECK_FAIL_("the loop turned %ld times in 200 ms", s.turns);
    CHECK_INT_EQ(s.closed, 1);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);
    zmq_close(pull);
    CHECK_INT_EQ(zmq_ctx_term(ctx), 0);
}

static void test_watch_of_no_socket_fails(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    tr_zwatch_t *w = (tr_zwatch_t *)0x1;
    CHECK_INT_EQ(tr_zwatch_new(&loop, NULL, never_cb, NULL, &w), TR_EINVAL);
    CHECK(w == (tr_zwatch_t *)0x1);        /* untouched on failure */
    CHECK_INT_EQ(uv_loop_close(&loop), 0); /* and nothing left open */
}

int main(void)
{
    CHECK_RUN(test_backlog_is_drained_in_batches);
    CHECK_RUN(test_bursts_from_another_thread);
    CHECK_RUN(test_sends_from_timer_with_kick);
    CHECK_RUN(test_writable_cb_resumes_full_sender);
    CHECK_RUN(test_close_from_readable_cb);
    CHECK_RUN(test_close_before_the_loop_runs);
    CHECK_RUN(test_terminated_context_does_not_spin);
    CHECK_RUN(test_watch_of_no_socket_fails);
    return check_done();
}
