#include "subject.h"

#include <string.h>

static bool token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Checks text token by token; wildcards allowed only in patterns. */
static int check(const char *text, bool pattern, tr_error_t *err)
{
    const char *what = pattern ? "pattern" : "subject";
    if (!text || !text[0])
        return tr_error_set(err, TR_EINVAL, "empty %s", what);
    size_t n = strlen(text);
    if (n > TR_SUBJECT_MAX)
        return tr_error_set(err, TR_EINVAL, "invalid %s \"%.40s...\": longer than %d characters", what,
                            text, TR_SUBJECT_MAX);
    const char *tok = text;
    for (;;) {
        const char *dot = strchr(tok, '.');
        size_t len = dot ? (size_t)(dot - tok) : strlen(tok);
        if (len == 0)
            return tr_error_set(err, TR_EINVAL, "invalid %s \"%s\": empty token", what, text);
        if (pattern && len == 1 && (tok[0] == '*' || tok[0] == '>')) {
            if (tok[0] == '>' && dot)
                return tr_error_set(err, TR_EINVAL, "invalid pattern \"%s\": \">\" must be the last token",
                                    text);
        } else {
            for (size_t i = 0; i < len; i++) {
                if (!token_char(tok[i]))
                    return tr_error_set(err, TR_EINVAL,
                                        "invalid %s \"%s\": tokens are lower-case letters, digits and _%s",
                                        what, text, pattern ? ", or * and a final >" : "");
            }
        }
        if (!dot)
            return 0;
        tok = dot + 1;
    }
}

int tr_subject_check(const char *subject, tr_error_t *err)
{
    return check(subject, false, err);
}

int tr_subject_check_pattern(const char *pattern, tr_error_t *err)
{
    return check(pattern, true, err);
}

/* Length of the token at s (up to '.' or the end). */
static size_t toklen(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? (size_t)(dot - s) : strlen(s);
}

/* Advances past the token at s and its dot; NULL after the last token. */
static const char *next(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? dot + 1 : NULL;
}

bool tr_subject_matches(const char *pattern, const char *subject)
{
    const char *p = pattern, *s = subject;
    while (p && s) {
        size_t pl = toklen(p), sl = toklen(s);
        if (pl == 1 && p[0] == '>')
            return true; /* one or more remaining tokens */
        if (!(pl == 1 && p[0] == '*') && (pl != sl || memcmp(p, s, pl) != 0))
            return false;
        p = next(p);
        s = next(s);
    }
    return p == NULL && s == NULL;
}

bool tr_subject_covers(const char *wide, const char *narrow)
{
    const char *w = wide, *n = narrow;
    while (w && n) {
        size_t wl = toklen(w), nl = toklen(n);
        bool w_rest = wl == 1 && w[0] == '>', w_any = wl == 1 && w[0] == '*';
        bool n_rest = nl == 1 && n[0] == '>', n_any = nl == 1 && n[0] == '*';
        if (w_rest)
            return true;
        if (n_rest)
            return false; /* only ">" covers ">" */
        if (n_any && !w_any)
            return false;
        if (!w_any && (wl != nl || memcmp(w, n, wl) != 0))
            return false;
        w = next(w);
        n = next(n);
    }
    return w == NULL && n == NULL;
}

const char *tr_subject_last_token(const char *subject)
{
    const char *dot = strrchr(subject, '.');
    return dot ? dot + 1 : subject;
}
