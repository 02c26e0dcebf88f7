/* fuzz_events.c — libFuzzer target: the payload of every event type in the catalogue, decoded
 * from outside bytes as the broker's publish check and the services do.
 *
 * The first byte picks the type, entry data[0] % n of tr_catalogue_all(); the rest is the
 * protobuf payload. When it unpacks:
 *   - the message passes protobuf_c_message_check();
 *   - pack, unpack, pack gives the same bytes twice (fuzz_round_trip);
 *   - it formats as JSON, as trivselctl tail shows it, without failing;
 *   - when JSON can hold it exactly (no unknown fields, valid UTF-8, timestamps in range), the
 *     JSON reads back into the same type, packs to the same bytes and formats to the same text.
 * Seeds: tests/fuzz/corpus/fuzz_events/, one filled-in message per type (make fuzz-seeds).
 */
#include "catalogue.h"
#include "pbjson.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    const tr_event_type_t *all = tr_catalogue_all(&n);
    if (size < 1 || n == 0)
        return 0;
    const tr_event_type_t *et = &all[data[0] % n];
    ProtobufCMessage *msg = protobuf_c_message_unpack(et->descriptor, NULL, size - 1, data + 1);
    if (!msg)
        return 0;
    if (!protobuf_c_message_check(msg))
        fuzz_broken("fuzz_events", "%s unpacked but fails protobuf_c_message_check", et->type_name);
    fuzz_round_trip("fuzz_events", msg);

    char *text = tr_pbjson_format(msg, TR_PBJSON_COMPACT);
    if (!text)
        abort();
    if (fuzz_json_exact(msg)) {
        ProtobufCMessage *back = NULL;
        tr_error_t err = {0};
        if (tr_pbjson_parse(et->descriptor, text, strlen(text), &back, &err) != 0)
            fuzz_broken("fuzz_events", "%s formatted as JSON does not read back: %s\n%s",
                        et->type_name, err.message, text);
        if (!fuzz_same_bytes(msg, back))
            fuzz_broken("fuzz_events", "%s read back from its JSON packs to other bytes\n%s",
                        et->type_name, text);
        char *again = tr_pbjson_format(back, TR_PBJSON_COMPACT);
        if (!again)
            abort();
        if (strcmp(text, again) != 0)
            fuzz_broken("fuzz_events", "%s: JSON, read back, formats as other text\n%s\n%s",
                        et->type_name, text, again);
        free(again);
        protobuf_c_message_free_unpacked(back, NULL);
    }
    free(text);
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}
