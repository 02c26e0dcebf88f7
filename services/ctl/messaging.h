/* messaging.h — what trivselctl's broker commands (publish, tail, status) share: the client
 * settings from the environment, one broker session on a libuv loop, and the way they report
 * the broker's refusals.
 *
 * A command opens a session, starts its work from the welcome callback or right away (the
 * client queues publishes and subscriptions until the session begins), and ends it with
 * ctl_session_finish(); ctl_session_run() returns the exit status given there. */
#ifndef CTL_MESSAGING_H
#define CTL_MESSAGING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <uv.h>

#include "bclient.h"
#include "ctl.h"

typedef struct ctl_session ctl_session_t;

/* A step of a session: the timeout (which must finish the session, at once or after some last
 * work), a delayed step (ctl_session_after), the closing of a command's own handles. */
typedef void (*ctl_session_cb)(ctl_session_t *s);

struct ctl_session {
    uv_loop_t loop;
    tr_bclient_t *client;
    uv_timer_t timer;
    const char *command; /* "publish", for messages; static */
    char address[256];   /* TRIVSEL_BROKER_ADDRESS */
    bool welcomed;       /* a session with the broker began */
    bool finished;
    int exit_code;
    ctl_session_cb timeout_cb;
    ctl_session_cb close_cb;          /* closes the command's own handles; may be NULL */
    tr_bclient_welcome_cb welcome_cb; /* called after each Welcome, may be NULL */
    tr_bclient_error_cb error_cb;     /* errors that belong to no publish; NULL: print, exit 1 */
    void *arg;                        /* for welcome_cb and error_cb */
};

/* Prints the environment variables the broker commands read, as --help text. */
void ctl_session_print_env(FILE *out);

/* Reads the client settings (TRIVSEL_BROKER_ADDRESS, TRIVSEL_BROKER_PUBLIC_KEY_FILE,
 * TRIVSEL_CLIENT_KEY_FILE), sets up the loop and the client, and arms a timer of timeout_ms
 * (0: none) that calls timeout_cb. Set welcome_cb, error_cb and arg on s before or right after.
 * Returns 0, or prints the problem in one line and returns -1 (s then needs no cleanup). */
int ctl_session_open(ctl_session_t *s, const char *command, uint64_t timeout_ms,
                     ctl_session_cb timeout_cb);

/* Runs the loop until ctl_session_finish(), then closes the client, calls close_cb and closes
 * the loop. Returns the exit status given to ctl_session_finish(). */
int ctl_session_run(ctl_session_t *s);

/* Ends the session with exit status code; the first call counts. */
void ctl_session_finish(ctl_session_t *s, int code);

/* Runs cb(s) after delay_ms on the session's timer (which replaces the timeout). */
void ctl_session_after(ctl_session_t *s, uint64_t delay_ms, ctl_session_cb cb);

/* The name of a broker error code, "ERROR_NOT_PERMITTED"; static. */
const char *ctl_error_code_name(Trivsel__Broker__ErrorCode code);

/* Prints a refusal: "trivselctl: refused by the broker (CODE): REASON". */
void ctl_print_refusal(const Trivsel__Broker__Error *e);

/* Reads a CURVE key (40 Z85 characters) from the file at path into key. Prints the problem
 * and returns -1. */
int ctl_key_read(const char *path, char key[41]);

/* What an event given as JSON needs besides the JSON (trivselctl publish's options). */
typedef struct ctl_envelope_args {
    const char *subject;
    const char *municipality;         /* NULL: the envelope's, else default_municipality */
    const char *default_municipality; /* NULL or "": none */
    const char *correlation_id;       /* NULL: the envelope's, else none */
    const char *event_id;             /* NULL: the envelope's, else a new random UUID */
} ctl_envelope_args_t;

/* The serialized envelope of the event in root (borrowed): the event itself (its type is the
 * subject's) or a whole envelope with "payload", as `trivselctl publish` takes it; occurred_at
 * is now unless the envelope gives it. name names the input in messages. *bytes is the
 * caller's to free; the event id in event_id. Prints the problem (naming the field) and
 * returns -1 when it is not a valid event. */
int ctl_envelope_from_json(const ctl_envelope_args_t *a, const char *name, json_t *root,
                           uint8_t **bytes, size_t *nbytes, char event_id[CTL_EVENT_ID_MAX + 1]);

/* Subscription names: 1-64 of [a-z0-9_.-] (proto/trivsel/broker.proto). */
#define CTL_SUBSCRIPTION_NAME_MAX 64

/* A durable subscription's name of this process's own, PREFIX-<host>-<pid> (the host name in
 * the characters a name may hold), so it never takes events from anyone else's. prefix is at
 * most 5 characters. */
void ctl_subscription_name(const char *prefix, char name[CTL_SUBSCRIPTION_NAME_MAX + 1]);

/* Parses a --timeout value ("30s", "2m", "500ms") for command; prints the problem and returns
 * -1 when it is not a positive duration. */
int ctl_parse_timeout(const char *command, const char *text, uint64_t *ms);

#endif
