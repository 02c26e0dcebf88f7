/* fuzz_pbjson.c — libFuzzer target for common/pbjson.c, the reader of outside JSON.
 *
 * Each input is read as the JSON of a trivsel.broker.ClientMessage (with the Envelope payload
 * hook, so payloads nest). When it is accepted, the message must be valid, format, read back
 * and encode to the same bytes, and format again to the same text. When it is refused, the
 * error must be TR_EINVAL with a message. The same bytes are also decoded as a protobuf
 * ClientMessage and, if they decode, formatted and read back, to run the writer over hostile
 * binary (which may legitimately fail to read back: invalid UTF-8, unknown fields).
 *
 * Built and run with the others: make fuzz (or make fuzz-build, then build/fuzz/fuzz_pbjson
 * -max_len=4096 tests/fuzz/corpus/fuzz_pbjson); see tests/fuzz/README.md.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/envelope.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *
payload_type(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    const Trivsel__Envelope *env = (const Trivsel__Envelope *)parent;
    (void)arg;
    if (parent->descriptor != &trivsel__envelope__descriptor || strcmp(field->name, "payload"))
        return NULL;
    if (strcmp(env->type, "trivsel.Envelope") == 0)
        return &trivsel__envelope__descriptor;
    if (strcmp(env->type, "trivsel.broker.ClientMessage") == 0)
        return &trivsel__broker__client_message__descriptor;
    if (strcmp(env->type, "trivsel.broker.Hello") == 0)
        return &trivsel__broker__hello__descriptor;
    return NULL;
}

/* A failed invariant: say which, with the text involved, and crash so libFuzzer keeps the input. */
static void broken(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_pbjson: %s\n%s\n", what, text ? text : "");
    abort();
}

static bool same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    bool same;
    if (!pa || !pb)
        abort();
    same = na == nb && protobuf_c_message_pack(a, pa) == na &&
           protobuf_c_message_pack(b, pb) == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *desc = &trivsel__broker__client_message__descriptor;
    tr_pbjson_options_t opts = {.bytes_type = payload_type};
    ProtobufCMessage *first = NULL, *second = NULL, *decoded = NULL;
    char *text = NULL, *again = NULL;
    tr_error_t err = {0};
    int rc;

    /* The first byte picks the layout, so both are read back. */
    opts.flags = size > 0 && (data[0] & 1) ? TR_PBJSON_COMPACT : TR_PBJSON_PRETTY;
    rc = tr_pbjson_parse_opts(desc, (const char *)data, size, &opts, &first, &err);
    if (rc != 0) {
        if (rc != TR_EINVAL || err.code != TR_EINVAL || err.message[0] == '\0' || first)
            broken("a refusal without TR_EINVAL and a message", err.message);
        goto binary;
    }
    if (!first || !protobuf_c_message_check(first))
        broken("an accepted document gave an invalid message", NULL);
    if (!(text = tr_pbjson_format_opts(first, &opts)))
        abort();
    /* Output may be longer than input (a payload as an object, "1" as "\"1\"", indentation);
     * past the document limit it is not read back. */
    if (strlen(text) <= TR_PBJSON_MAX_DOCUMENT) {
        if (tr_pbjson_parse_opts(desc, text, strlen(text), &opts, &second, &err) != 0)
            broken(err.message, text);
        if (!same_bytes(first, second))
            broken("reading back the output gave another message", text);
        if (!(again = tr_pbjson_format_opts(second, &opts)))
            abort();
        if (strcmp(text, again) != 0)
            broken("formatting the message read back gave other text", again);
    }

binary:
    decoded = protobuf_c_message_unpack(desc, NULL, size, data);
    if (decoded) {
        ProtobufCMessage *back = NULL;
        char *out = tr_pbjson_format_opts(decoded, &opts);
        if (!out)
            abort();
        if (tr_pbjson_parse_opts(desc, out, strlen(out), &opts, &back, NULL) == 0)
            protobuf_c_message_free_unpacked(back, NULL);
        free(out);
        protobuf_c_message_free_unpacked(decoded, NULL);
    }
    free(text);
    free(again);
    if (first)
        protobuf_c_message_free_unpacked(first, NULL);
    if (second)
        protobuf_c_message_free_unpacked(second, NULL);
    return 0;
}
