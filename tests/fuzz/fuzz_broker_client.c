/* fuzz_broker_client.c — libFuzzer target: a frame a client sends the broker, decoded as
 * services/broker/socket.c does, and a Publish checked by the broker's own publish_check()
 * (every file of services/broker is linked, main() renamed).
 *
 * Each input is one ZeroMQ frame. When it unpacks as a trivsel.broker.ClientMessage, it passes
 * protobuf_c_message_check() and survives pack, unpack, pack (fuzz_round_trip); a Publish's
 * envelope is checked as publish_handle() does, for no principal (the outbox's check) and for
 * each principal of fuzz_broker.h, and what an acceptance promises is checked there.
 */
#define FUZZ_TARGET "fuzz_broker_client"

#include "fuzz_broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Trivsel__Broker__ClientMessage *cm = trivsel__broker__client_message__unpack(NULL, size, data);
    if (!cm)
        return 0;
    if (!protobuf_c_message_check(&cm->base))
        fuzz_broken(FUZZ_TARGET, "a ClientMessage unpacked but fails protobuf_c_message_check");
    fuzz_round_trip(FUZZ_TARGET, &cm->base);
    if (cm->command_case == TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PUBLISH &&
        cm->publish->event) {
        /* The broker's configuration: TRIVSEL_BROKER_MAX_EVENT_BYTES's default, and the
         * smallest allowed, so the size check is reached by small inputs too. */
        broker_t b = {.max_event_bytes = 262144};
        fuzz_check_publish(&b, NULL, cm->publish->event);
        for (size_t i = 0; i < sizeof fuzz_principals / sizeof fuzz_principals[0]; i++)
            fuzz_check_publish(&b, &fuzz_principals[i], cm->publish->event);
        b.max_event_bytes = 1024;
        fuzz_check_publish(&b, &fuzz_principals[0], cm->publish->event);
    }
    trivsel__broker__client_message__free_unpacked(cm, NULL);
    return 0;
}
