/* fuzz_broker_server.c — libFuzzer target: a frame from the broker, decoded as every client
 * does (common/bclient.c, on_message): trivsel.broker.ServerMessage, and in a Delivery the
 * event, whose payload a service unpacks as its catalogue type and trivselctl tail shows as
 * JSON.
 *
 * A client must survive whatever arrives on its socket: a broker of another version, or a
 * broker's bug. When the input unpacks:
 *   - it passes protobuf_c_message_check() and survives pack, unpack, pack;
 *   - it formats as JSON, with the payload of a Delivery's event shown as tail shows it;
 *   - a Delivery's event payload, when it unpacks as the catalogue type of the event's subject,
 *     survives pack, unpack, pack.
 */
#include "catalogue.h"
#include "pbjson.h"
#include "trivsel/broker.pb-c.h"

#include "fuzz.h"

#define TARGET "fuzz_broker_server"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Trivsel__Broker__ServerMessage *m = trivsel__broker__server_message__unpack(NULL, size, data);
    if (!m)
        return 0;
    if (!protobuf_c_message_check(&m->base))
        fuzz_broken(TARGET, "a ServerMessage unpacked but fails protobuf_c_message_check");
    fuzz_round_trip(TARGET, &m->base);

    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type};
    char *text = tr_pbjson_format_opts(&m->base, &opts);
    if (!text)
        abort();
    free(text);
    if (m->reply_case == TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_DELIVERY && m->delivery->event) {
        const Trivsel__Envelope *ev = m->delivery->event;
        const tr_event_type_t *et = tr_catalogue_by_subject(ev->subject);
        if (et) {
            ProtobufCMessage *payload = protobuf_c_message_unpack(et->descriptor, NULL,
                                                                  ev->payload.len,
                                                                  ev->payload.data);
            if (payload) {
                fuzz_round_trip(TARGET, payload);
                protobuf_c_message_free_unpacked(payload, NULL);
            }
        }
        if (!(text = tr_pbjson_format_opts(&ev->base, &opts)))
            abort();
        free(text);
    }
    trivsel__broker__server_message__free_unpacked(m, NULL);
    return 0;
}
