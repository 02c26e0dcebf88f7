/* fuzz_envelope.c — libFuzzer target: a trivsel.Envelope from outside bytes, as the services
 * decode a delivered event (common/handler.c), the broker an outbox row (outbox.c) and
 * trivselctl tail shows one.
 *
 * When the input unpacks as an Envelope:
 *   - it passes protobuf_c_message_check() and survives pack, unpack, pack;
 *   - the broker's publish_check() holds its promises (fuzz_broker.h), for the outbox (no
 *     principal) and each principal;
 *   - its payload, when it unpacks as the catalogue type of its subject, survives pack, unpack,
 *     pack too;
 *   - it formats as JSON with the payload shown as its type, as trivselctl tail does; when JSON
 *     can hold the envelope exactly, the JSON reads back to the same bytes (the payload as an
 *     object or as base64, whichever the writer chose).
 */
#define FUZZ_TARGET "fuzz_envelope"

#include "fuzz_broker.h"
#include "pbjson.h"

/* trivselctl tail's choice (services/ctl/tail.c): the catalogue's type, else any type known. */
static const ProtobufCMessageDescriptor *
payload_type(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    (void)arg;
    if (parent->descriptor != &trivsel__envelope__descriptor || strcmp(field->name, "payload"))
        return NULL;
    const char *type = ((const Trivsel__Envelope *)parent)->type;
    const tr_event_type_t *et = tr_catalogue_by_type(type);
    return et ? et->descriptor : tr_catalogue_descriptor(type);
}

static void check_json(const Trivsel__Envelope *ev)
{
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type};
    char *text = tr_pbjson_format_opts(&ev->base, &opts);
    if (!text)
        abort();
    if (fuzz_json_exact(&ev->base)) {
        ProtobufCMessage *back = NULL;
        tr_error_t err = {0};
        if (tr_pbjson_parse_opts(&trivsel__envelope__descriptor, text, strlen(text), &opts, &back,
                                 &err) != 0)
            fuzz_broken(FUZZ_TARGET, "the envelope's JSON does not read back: %s\n%s", err.message,
                        text);
        if (!fuzz_same_bytes(&ev->base, back))
            fuzz_broken(FUZZ_TARGET, "the envelope read back from its JSON packs differently\n%s",
                        text);
        protobuf_c_message_free_unpacked(back, NULL);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Trivsel__Envelope *ev = trivsel__envelope__unpack(NULL, size, data);
    if (!ev)
        return 0;
    if (!protobuf_c_message_check(&ev->base))
        fuzz_broken(FUZZ_TARGET, "an Envelope unpacked but fails protobuf_c_message_check");
    fuzz_round_trip(FUZZ_TARGET, &ev->base);

    broker_t b = {.max_event_bytes = 262144};
    fuzz_check_publish(&b, NULL, ev);
    for (size_t i = 0; i < sizeof fuzz_principals / sizeof fuzz_principals[0]; i++)
        fuzz_check_publish(&b, &fuzz_principals[i], ev);

    const tr_event_type_t *et = tr_catalogue_by_subject(ev->subject);
    if (et) {
        ProtobufCMessage *payload = protobuf_c_message_unpack(et->descriptor, NULL, ev->payload.len,
                                                              ev->payload.data);
        if (payload) {
            fuzz_round_trip(FUZZ_TARGET, payload);
            protobuf_c_message_free_unpacked(payload, NULL);
        }
    }
    check_json(ev);
    trivsel__envelope__free_unpacked(ev, NULL);
    return 0;
}
