/* fuzz.h — what the libFuzzer targets in tests/fuzz share: the entry point's declaration, a
 * failed invariant that crashes with an explanation (so libFuzzer keeps the input), the input
 * as a C string, and protobuf helpers: packing, the round trip unpack -> pack -> unpack -> pack
 * that must give the same bytes twice, and "could JSON hold this message exactly".
 *
 * Test code only. Functions are static inline: every target is one translation unit and uses some
 * of them.
 */
#ifndef TR_FUZZ_H
#define TR_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "trivsel/common.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed invariant: says which, with printf-style detail, and aborts so libFuzzer saves the
 * input as a crash. */
__attribute__((noreturn, format(printf, 2, 3))) static inline void fuzz_broken(const char *target,
                                                                               const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: invariant broken: ", target);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

/* Aborts on allocation failure: out of memory is not a finding. */
static inline void *fuzz_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* data as a NUL-terminated string (a NUL inside ends it early, as it would for a C caller).
 * The caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = fuzz_xmalloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Whether an error message is safe to print on one log line: no control bytes (and, with
 * ascii, nothing outside printable ASCII), as the parsers promise by quoting values as \xHH. */
static inline bool fuzz_clean_message(const char *message, bool ascii)
{
    for (const unsigned char *p = (const unsigned char *)message; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || (ascii && *p >= 0x80))
            return false;
    }
    return true;
}

/* A subject that matches pattern (valid, as tr_subject_check_pattern() says), into buf of len
 * bytes; variant picks how the wildcards are filled: 0 each "*" and ">" by "zz"; 1 ">" by
 * three tokens; 2 by the literal tokens of other (a pattern too, may be NULL) in the same places,
 * so that overlapping literals are tried. False when it does not fit in buf. */
static inline bool fuzz_witness(const char *pattern, const char *other, int variant, char *buf,
                                size_t len)
{
    size_t n = 0;
    const char *p = pattern, *o = other;
    while (p) {
        const char *pdot = strchr(p, '.'), *odot = o ? strchr(o, '.') : NULL;
        size_t plen = pdot ? (size_t)(pdot - p) : strlen(p);
        size_t olen = o ? (odot ? (size_t)(odot - o) : strlen(o)) : 0;
        bool wild = plen == 1 && (p[0] == '*' || p[0] == '>');
        bool other_literal = o && olen > 0 && !(olen == 1 && (o[0] == '*' || o[0] == '>'));
        const char *fill = p;
        size_t flen = plen;
        if (wild) {
            fill = "zz", flen = 2;
            if (variant == 1 && p[0] == '>')
                fill = "zz.zz.zz", flen = 8;
            if (variant == 2 && other_literal)
                fill = o, flen = olen;
            if (variant == 2 && p[0] == '>' && o) /* the rest of other, wildcards as "zz" */
                fill = o, flen = strlen(o);
        }
        if (n + flen + 2 > len)
            return false;
        if (n)
            buf[n++] = '.';
        for (size_t i = 0; i < flen; i++) {
            bool w = (fill[i] == '*' || fill[i] == '>') && (i == 0 || fill[i - 1] == '.') &&
                     (i + 1 == flen || fill[i + 1] == '.');
            if (n + 3 > len)
                return false;
            if (w)
                buf[n++] = 'z', buf[n++] = 'z';
            else
                buf[n++] = fill[i];
        }
        p = pdot ? pdot + 1 : NULL;
        o = o ? (odot ? odot + 1 : NULL) : NULL;
    }
    buf[n] = '\0';
    return true;
}

/* msg packed into a new buffer (the caller frees it); *len its length. */
static inline uint8_t *fuzz_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = fuzz_xmalloc(n);
    size_t packed = protobuf_c_message_pack(msg, buf);
    if (packed != n) {
        fprintf(stderr, "pack wrote %zu bytes of a message sized %zu\n", packed, n);
        abort();
    }
    *len = n;
    return buf;
}

/* Whether a and b pack to the same bytes. */
static inline bool fuzz_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na, nb;
    uint8_t *pa = fuzz_pack(a, &na), *pb = fuzz_pack(b, &nb);
    bool same = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/* Whether s (len bytes) is valid UTF-8: no overlong forms, no surrogates, at most U+10FFFF. */
static inline bool fuzz_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len) /* the sequence runs past the end */
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Whether message_ok holds for msg and every message inside it (set fields, repeated ones and
 * the oneof member that is set), and string_ok for every string in them; either may be NULL. */
static inline bool fuzz_walk(const ProtobufCMessage *msg,
                             bool (*message_ok)(const ProtobufCMessage *msg),
                             bool (*string_ok)(const char *s))
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    if (message_ok && !message_ok(msg))
        return false;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t count = 1;
        const char *slot = base + f->offset;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(base + f->quantifier_offset);
            slot = *(char *const *)slot;
        }
        for (size_t k = 0; k < count; k++) {
            const void *value = *(void *const *)(slot + k * sizeof(void *));
            if (!value)
                continue;
            if (f->type == PROTOBUF_C_TYPE_STRING && string_ok && !string_ok(value))
                return false;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && !fuzz_walk(value, message_ok, string_ok))
                return false;
        }
    }
    return true;
}

static inline bool fuzz_utf8_string(const char *s)
{
    return fuzz_utf8(s, strlen(s));
}

/* A refusal's problems as trivsel.Problem promises them (common.proto): a field that is "" or a
 * dotted path of .proto names with [i] for list elements, a snake_case code under 64 bytes, and
 * a message, valid UTF-8 because it goes out in a refusal event. */
static inline void fuzz_check_problems(const char *target, Trivsel__Problem *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Trivsel__Problem *x = items[i];
        if (!x || !x->field || !x->code || !x->problem)
            fuzz_broken(target, "problem %zu has a NULL part", i);
        bool snake = x->code[0] >= 'a' && x->code[0] <= 'z' && strlen(x->code) < 64;
        for (const char *c = x->code; snake && *c; c++)
            snake = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (!snake)
            fuzz_broken(target, "problem %zu: code \"%s\" is not a snake_case token", i, x->code);
        if (!x->problem[0])
            fuzz_broken(target, "problem %zu (%s) has no message", i, x->code);
        if (!fuzz_utf8_string(x->problem))
            fuzz_broken(target, "problem %zu (%s): its message is not valid UTF-8", i, x->code);
        for (const char *c = x->field; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("_.[]", *c)))
                fuzz_broken(target, "problem %zu (%s): field \"%s\" is not a path", i, x->code, x->field);
        }
    }
}

/* For fuzz_json_exact: one message JSON can hold, apart from its strings. */
static inline bool fuzz_json_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (msg->n_unknown_fields > 0)
        return false;
    if (strcmp(d->name, "google.protobuf.Timestamp") == 0) {
        int64_t seconds = *(const int64_t *)((const char *)msg + d->fields[0].offset);
        int32_t nanos = *(const int32_t *)((const char *)msg + d->fields[1].offset);
        return seconds >= -62135596800LL && seconds <= 253402300799LL && nanos >= 0 &&
               nanos <= 999999999;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        /* A map field (protoc's entry type "<Field>Entry" {key = 1; value = 2}): pbjson writes
         * it but does not read it. trivsel has none today. */
        const ProtobufCMessageDescriptor *sub = d->fields[i].descriptor;
        size_t len = sub && d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE ? strlen(sub->name) : 0;
        if (len > 5 && strcmp(sub->name + len - 5, "Entry") == 0 && sub->n_fields == 2 &&
            strcmp(sub->fields[0].name, "key") == 0 && strcmp(sub->fields[1].name, "value") == 0)
            return false;
    }
    return true;
}

/* Whether the canonical JSON mapping can hold msg exactly (pbjson.h): no unknown fields, every
 * string valid UTF-8, every google.protobuf.Timestamp within 0001-9999, no map fields. Then
 * formatting msg and reading it back must give the same bytes. */
static inline bool fuzz_json_exact(const ProtobufCMessage *msg)
{
    return fuzz_walk(msg, fuzz_json_message, fuzz_utf8_string);
}

static inline bool fuzz_no_field_zero(const ProtobufCMessage *msg)
{
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        if (msg->unknown_fields[i].tag == 0)
            return false;
    }
    return true;
}

/* Whether msg or a message inside it holds an unknown field with field number 0. protobuf-c
 * 1.4.1 refuses tag 0 only when its first byte says so: a tag written in more bytes than it
 * needs ("80 00") passes as field 0 and is kept as an unknown field, which pack() then writes
 * as "00", a tag unpack() refuses. Such a message does not survive re-encoding. */
static inline bool fuzz_has_field_zero(const ProtobufCMessage *msg)
{
    return !fuzz_walk(msg, fuzz_no_field_zero, NULL);
}

/* The round trip every decoder of protobuf input must survive: msg (already unpacked from
 * outside bytes) packs; those bytes unpack again; and the second message packs to exactly the
 * same bytes, unless it holds a field 0 (fuzz_has_field_zero). (The first packing need not equal
 * the input: varints may be padded, a field repeated, fields out of order.) Aborts naming target
 * and type when it does not hold. */
static inline void fuzz_round_trip(const char *target, const ProtobufCMessage *msg)
{
    size_t n1, n2;
    if (fuzz_has_field_zero(msg))
        return; /* known to fail (above); fuzz_broker_client checks what it does to the broker */
    uint8_t *b1 = fuzz_pack(msg, &n1);
    ProtobufCMessage *again = protobuf_c_message_unpack(msg->descriptor, NULL, n1, b1);
    if (!again)
        fuzz_broken(target, "%s packed to %zu bytes that do not unpack", msg->descriptor->name, n1);
    if (!protobuf_c_message_check(again))
        fuzz_broken(target, "%s unpacked from its own packing fails protobuf_c_message_check",
                    msg->descriptor->name);
    uint8_t *b2 = fuzz_pack(again, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0)
        fuzz_broken(target, "%s: pack, unpack, pack gave %zu bytes, then %zu other bytes",
                    msg->descriptor->name, n1, n2);
    free(b1);
    free(b2);
    protobuf_c_message_free_unpacked(again, NULL);
}

#endif
