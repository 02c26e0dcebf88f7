/* zwatch.h — a ZeroMQ socket in the libuv loop.
 *
 * ZMQ_FD is edge-triggered and a readable ZMQ_FD does not mean a message is waiting: the truth
 * is ZMQ_EVENTS, and it can change after any send or receive on the socket. So the watcher
 * polls ZMQ_FD only to wake the loop, and does the real work in a uv_check (after every poll
 * phase) by reading ZMQ_EVENTS; while the socket stays readable it keeps a uv_idle running, so
 * the loop never blocks with messages waiting behind an edge that already fired.
 *
 * readable_cb should receive with ZMQ_DONTWAIT until EAGAIN or up to a batch it chooses; it is
 * called again on the next turn while messages remain. writable_cb (optional, enabled with
 * tr_zwatch_want_writable) is called while ZMQ_POLLOUT is set, for senders that met a full
 * queue. Loop thread only.
 */
#ifndef TR_ZWATCH_H
#define TR_ZWATCH_H

#include <stdbool.h>
#include <uv.h>

typedef struct tr_zwatch tr_zwatch_t;
typedef void (*tr_zwatch_cb)(void *arg);

/* The watcher does not own sock; close the watcher before closing the socket. */
int tr_zwatch_new(uv_loop_t *loop, void *sock, tr_zwatch_cb readable_cb, void *arg, tr_zwatch_t **out);
void tr_zwatch_set_writable_cb(tr_zwatch_t *w, tr_zwatch_cb writable_cb);
void tr_zwatch_want_writable(tr_zwatch_t *w, bool want);
/* Call after sending from outside the callbacks (a timer, a database result): a send can
 * consume the edge that announced incoming messages. */
void tr_zwatch_kick(tr_zwatch_t *w);
/* Stops and frees once libuv has closed the handles; closed_cb (may be NULL) then. */
void tr_zwatch_close(tr_zwatch_t *w, void (*closed_cb)(void *arg), void *arg);

#endif
