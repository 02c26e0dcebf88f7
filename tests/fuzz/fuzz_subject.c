/* fuzz_subject.c — libFuzzer target: subjects and subscription patterns (common/subject.c), as
 * the broker reads them from every Publish and Subscribe.
 *
 * The input is up to three lines, A, B and C.
 *   - Each is a valid subject, and a valid pattern, exactly when an independent reading of
 *     subject.h says so: 1-128 bytes of dotted, non-empty tokens of [a-z0-9_]; in a pattern a
 *     token may also be "*", or ">" when it is the last. A refusal is TR_EINVAL with a message.
 *   - A valid subject is a valid pattern that matches itself; every valid pattern covers itself;
 *     ">" matches every valid subject and covers every valid pattern; last_token is what follows
 *     the last dot.
 *   - tr_subject_matches(A, B) agrees with an independent matcher.
 *   - covers(A, B) is sound: then every subject that B matches, A matches — tried with subjects
 *     made from B (wildcards filled in three ways, fuzz_witness) and with C. A subscription the
 *     broker allows because a grant covers it can never deliver a subject outside the grant.
 */
#include "subject.h"

#include "fuzz.h"

#define TARGET "fuzz_subject"

static bool token_ok(const char *t, size_t len, bool pattern, bool last)
{
    if (len == 0)
        return false;
    if (pattern && len == 1 && (t[0] == '*' || (t[0] == '>' && last)))
        return true;
    for (size_t i = 0; i < len; i++) {
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return false;
    }
    return true;
}

static bool reference_valid(const char *s, bool pattern)
{
    size_t n = strlen(s);
    if (n == 0 || n > TR_SUBJECT_MAX)
        return false;
    for (const char *t = s;;) {
        const char *dot = strchr(t, '.');
        if (!token_ok(t, dot ? (size_t)(dot - t) : strlen(t), pattern, !dot))
            return false;
        if (!dot)
            return true;
        t = dot + 1;
    }
}

/* Token by token: "*" any one token, ">" one or more. */
static bool reference_match(const char *p, const char *s)
{
    for (;;) {
        const char *pdot = strchr(p, '.'), *sdot = strchr(s, '.');
        size_t pl = pdot ? (size_t)(pdot - p) : strlen(p);
        size_t sl = sdot ? (size_t)(sdot - s) : strlen(s);
        if (pl == 1 && p[0] == '>')
            return true;
        if (!(pl == 1 && p[0] == '*') && (pl != sl || strncmp(p, s, pl) != 0))
            return false;
        if (!pdot || !sdot)
            return !pdot && !sdot;
        p = pdot + 1;
        s = sdot + 1;
    }
}

static void check_one(const char *s)
{
    tr_error_t err = {0};
    int subject = tr_subject_check(s, &err);
    if (subject != 0 && (subject != TR_EINVAL || err.code != TR_EINVAL || !err.message[0]))
        fuzz_broken(TARGET, "\"%s\": a refusal without TR_EINVAL and a message", s);
    int pattern = tr_subject_check_pattern(s, &err);
    if (pattern != 0 && (pattern != TR_EINVAL || err.code != TR_EINVAL || !err.message[0]))
        fuzz_broken(TARGET, "\"%s\": a refusal without TR_EINVAL and a message", s);
    if ((subject == 0) != reference_valid(s, false) || (pattern == 0) != reference_valid(s, true))
        fuzz_broken(TARGET, "\"%s\": subject %d, pattern %d, but the rule says %d, %d", s, subject,
                    pattern, reference_valid(s, false), reference_valid(s, true));
    if (subject == 0) {
        const char *dot = strrchr(s, '.');
        if (pattern != 0 || !tr_subject_matches(s, s) || !tr_subject_matches(">", s) ||
            !tr_subject_covers(s, s) || !tr_subject_covers(">", s))
            fuzz_broken(TARGET, "subject \"%s\" does not match or cover itself", s);
        if (tr_subject_last_token(s) != (dot ? dot + 1 : s))
            fuzz_broken(TARGET, "\"%s\": last_token is \"%s\"", s, tr_subject_last_token(s));
    }
    if (pattern == 0 && (!tr_subject_covers(s, s) || !tr_subject_covers(">", s)))
        fuzz_broken(TARGET, "pattern \"%s\" is not covered by itself and by \">\"", s);
}

/* covers(wide, narrow) for valid patterns: every subject narrow matches, wide matches. */
static void check_covers(const char *wide, const char *narrow, const char *subject)
{
    if (!tr_subject_covers(wide, narrow))
        return;
    char witness[TR_SUBJECT_MAX * 4];
    for (int variant = 0; variant < 3; variant++) {
        if (!fuzz_witness(narrow, wide, variant, witness, sizeof witness) ||
            strlen(witness) > TR_SUBJECT_MAX)
            continue;
        if (tr_subject_check(witness, NULL) != 0 || !reference_match(narrow, witness))
            fuzz_broken(TARGET, "the test's own witness \"%s\" of \"%s\" is wrong", witness,
                        narrow);
        if (!tr_subject_matches(wide, witness))
            fuzz_broken(TARGET, "\"%s\" covers \"%s\", but does not match \"%s\"", wide, narrow,
                        witness);
    }
    if (subject && tr_subject_check(subject, NULL) == 0 && tr_subject_matches(narrow, subject) &&
        !tr_subject_matches(wide, subject))
        fuzz_broken(TARGET, "\"%s\" covers \"%s\", but does not match \"%s\"", wide, narrow,
                    subject);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size), *line[3] = {text, NULL, NULL};
    for (int i = 1; i < 3 && line[i - 1]; i++) {
        if ((line[i] = strchr(line[i - 1], '\n')))
            *line[i]++ = '\0';
    }
    for (int i = 0; i < 3; i++) {
        if (line[i])
            check_one(line[i]);
    }
    const char *a = line[0], *b = line[1], *c = line[2];
    if (b && tr_subject_check_pattern(a, NULL) == 0 && tr_subject_check(b, NULL) == 0 &&
        tr_subject_matches(a, b) != reference_match(a, b))
        fuzz_broken(TARGET, "matches(\"%s\", \"%s\") is %d", a, b, tr_subject_matches(a, b));
    if (b && tr_subject_check_pattern(a, NULL) == 0 && tr_subject_check_pattern(b, NULL) == 0) {
        check_covers(a, b, c);
        check_covers(b, a, c);
    }
    free(text);
    return 0;
}
