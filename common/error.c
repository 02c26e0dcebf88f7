#include "error.h"

#include <stdio.h>
#include <string.h>

const char *tr_strerror(int code)
{
    switch (code) {
    case TR_OK: return "success";
    case TR_EINVAL: return "invalid argument";
    case TR_ENOMEM: return "out of memory";
    case TR_ERANGE: return "value out of range";
    case TR_EOVERFLOW: return "arithmetic overflow";
    case TR_EIO: return "input/output error";
    case TR_EDB: return "database error";
    case TR_ESCHEMA: return "database schema missing or out of date";
    case TR_ECONFIG: return "invalid configuration";
    case TR_ENOTFOUND: return "not found";
    case TR_EEXIST: return "already exists";
    case TR_EPERM: return "not permitted";
    case TR_EPROTO: return "protocol error";
    case TR_EAGAIN: return "try again";
    case TR_ECLOSED: return "closed";
    case TR_ETIMEDOUT: return "timed out";
    }
    return "unknown error";
}

int tr_error_vset(tr_error_t *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}

int tr_error_set(tr_error_t *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tr_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void tr_error_clear(tr_error_t *err)
{
    if (err) {
        err->code = 0;
        err->message[0] = '\0';
    }
}
