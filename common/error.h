/* error.h — the one table of error codes, and errors that carry a message for people.
 *
 * Functions return 0 on success or a negative TR_E... code. Functions that can fail on outside
 * input also take a tr_error_t * (may be NULL) and fill it with a message in PostgreSQL's style:
 * a short factual primary message naming the value, e.g.
 *   invalid CPR number "0101901234X": must be 10 digits
 */
#ifndef TR_ERROR_H
#define TR_ERROR_H

#include <stdarg.h>

enum {
    TR_OK = 0,
    TR_EINVAL = -1,    /* invalid argument or input value */
    TR_ENOMEM = -2,    /* out of memory */
    TR_ERANGE = -3,    /* value out of the allowed range */
    TR_EOVERFLOW = -4, /* arithmetic overflow */
    TR_EIO = -5,       /* input/output error (files, sockets) */
    TR_EDB = -6,       /* database error */
    TR_ESCHEMA = -7,   /* database schema missing or out of date */
    TR_ECONFIG = -8,   /* invalid configuration */
    TR_ENOTFOUND = -9, /* no such thing */
    TR_EEXIST = -10,   /* already exists */
    TR_EPERM = -11,    /* not permitted */
    TR_EPROTO = -12,   /* protocol violation: malformed frame or message */
    TR_EAGAIN = -13,   /* try again later */
    TR_ECLOSED = -14,  /* closed or shutting down */
    TR_ETIMEDOUT = -15 /* timed out */
};

#define TR_ERROR_MESSAGE_MAX 512

typedef struct tr_error {
    int code;                           /* one of TR_E..., 0 when no error */
    char message[TR_ERROR_MESSAGE_MAX]; /* for people; empty when no error */
} tr_error_t;

/* A static string naming a code ("invalid argument"); never NULL. */
const char *tr_strerror(int code);

/* Fills err (if not NULL) with code and a printf-formatted message; returns code, so a caller
 * can write `return tr_error_set(err, TR_EINVAL, "invalid ... \"%s\"", s);`. */
int tr_error_set(tr_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tr_error_vset(tr_error_t *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Resets err to "no error". Safe on NULL. */
void tr_error_clear(tr_error_t *err);

#endif
