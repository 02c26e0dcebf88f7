/* fuzz_ctl_json.c — libFuzzer target: the JSON file of trivselctl publish, read by its own
 * build_envelope() (services/ctl/publish.c is included here to reach that static function; the
 * rest of services/ctl is linked, main() renamed), and common/pbjson.c on every catalogue type.
 *
 * The first byte picks the event type, entry data[0] % n of tr_catalogue_all() (its subject,
 * with the CVR 45424421 as the last token of a per-supplier one); data[0] / n picks options:
 * bit 0 --municipality 630, bit 1 --event-id fuzz-1. The rest is the file: the event itself or
 * a whole envelope ({"payload": ...}).
 *   - build_envelope() refuses with a message starting "trivselctl: ", or gives an envelope
 *     that unpacks, on the subject given, of the subject's type, with a payload that unpacks as
 *     that type, an event_id of 1-100 bytes (the one it reports), a municipality and an
 *     occurred_at;
 *   - that envelope written as JSON (payload as an object, as tail shows it) and read by
 *     build_envelope() again gives exactly the same bytes;
 *   - the text read by tr_pbjson_parse() as the type: when accepted, formatting it and reading
 *     it back gives the same bytes, and formatting again the same text (pretty and compact).
 * Seeds: tests/fuzz/corpus/fuzz_ctl_json/, every type filled in, as an event and as an
 * envelope, and the examples of deploy/examples/events (make fuzz-seeds).
 */
#include <stdio.h>

/* publish.c's messages go to a buffer: they are checked, not printed. */
static FILE *ctl_messages;
#undef stderr
#define stderr ctl_messages
#include "../../services/ctl/publish.c"
#undef stderr
#define stderr stderr

#include "subject.h"

#include "fuzz.h"

#define TARGET "fuzz_ctl_json"
#define SUPPLIER_CVR "45424421"

/* build_envelope() on text; *messages gets what it printed (the caller frees it). */
static int build(const publish_args_t *a, const char *text, size_t len, uint8_t **bytes,
                 size_t *nbytes, char event_id[EVENT_ID_MAX + 1], char **messages)
{
    size_t mlen;
    ctl_messages = open_memstream(messages, &mlen);
    if (!ctl_messages)
        abort();
    int rc = build_envelope(a, "fuzz.json", text, len, "575", bytes, nbytes, event_id);
    fclose(ctl_messages);
    ctl_messages = NULL;
    return rc;
}

static const ProtobufCMessageDescriptor *
payload_is(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    if (parent->descriptor == &trivsel__envelope__descriptor && strcmp(field->name, "payload") == 0)
        return arg;
    return NULL;
}

/* An envelope build_envelope() made: what it promises, and that its JSON builds it again. */
static void check_built(const publish_args_t *a, const tr_event_type_t *et, const uint8_t *bytes,
                        size_t nbytes, const char *event_id)
{
    Trivsel__Envelope *ev = trivsel__envelope__unpack(NULL, nbytes, bytes);
    if (!ev)
        fuzz_broken(TARGET, "build_envelope made %zu bytes that are not an Envelope", nbytes);
    if (strcmp(ev->subject, a->subject) != 0 || strcmp(ev->type, et->type_name) != 0)
        fuzz_broken(TARGET, "build_envelope made an envelope of %s / %s for %s / %s", ev->subject,
                    ev->type, a->subject, et->type_name);
    if (strlen(ev->event_id) < 1 || strlen(ev->event_id) > 100 ||
        strcmp(ev->event_id, event_id) != 0)
        fuzz_broken(TARGET, "build_envelope reported event_id \"%s\" for one of \"%.120s\"",
                    event_id, ev->event_id);
    if (!ev->municipality[0] || !ev->occurred_at)
        fuzz_broken(TARGET, "build_envelope left out the municipality or occurred_at");
    if (a->municipality && strcmp(ev->municipality, a->municipality) != 0)
        fuzz_broken(TARGET, "build_envelope ignored --municipality %s: \"%s\"", a->municipality,
                    ev->municipality);
    ProtobufCMessage *payload = protobuf_c_message_unpack(et->descriptor, NULL, ev->payload.len,
                                                          ev->payload.data);
    if (!payload)
        fuzz_broken(TARGET, "build_envelope made a payload that is not a %s", et->type_name);
    protobuf_c_message_free_unpacked(payload, NULL);

    tr_pbjson_options_t opts = {.flags = TR_PBJSON_PRETTY,
                                .bytes_type = payload_is,
                                .arg = (void *)et->descriptor};
    char *text = tr_pbjson_format_opts(&ev->base, &opts), *messages = NULL;
    if (!text)
        abort();
    uint8_t *again = NULL;
    size_t nagain = 0;
    char id[EVENT_ID_MAX + 1];
    if (build(a, text, strlen(text), &again, &nagain, id, &messages) != 0)
        fuzz_broken(TARGET, "build_envelope refuses the JSON of an envelope it made: %s\n%s",
                    messages, text);
    if (nagain != nbytes || memcmp(again, bytes, nbytes) != 0)
        fuzz_broken(TARGET, "the JSON of an envelope builds another envelope\n%s", text);
    free(messages);
    free(again);
    free(text);
    trivsel__envelope__free_unpacked(ev, NULL);
}

/* tr_pbjson_parse() of text as desc, with flags for formatting. */
static void check_pbjson(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                         int flags)
{
    ProtobufCMessage *first = NULL, *second = NULL;
    tr_error_t err = {0};
    int rc = tr_pbjson_parse(desc, text, len, &first, &err);
    if (rc != 0) {
        if (rc != TR_EINVAL || err.code != TR_EINVAL || !err.message[0] || first)
            fuzz_broken(TARGET, "a refusal without TR_EINVAL and a message: %d \"%s\"", rc,
                        err.message);
        return;
    }
    if (!protobuf_c_message_check(first))
        fuzz_broken(TARGET, "an accepted %s fails protobuf_c_message_check", desc->name);
    char *out = tr_pbjson_format(first, flags), *again = NULL;
    if (!out)
        abort();
    if (strlen(out) <= TR_PBJSON_MAX_DOCUMENT) {
        if (tr_pbjson_parse(desc, out, strlen(out), &second, &err) != 0)
            fuzz_broken(TARGET, "%s: the JSON written does not read back: %s\n%s", desc->name,
                        err.message, out);
        if (!fuzz_same_bytes(first, second))
            fuzz_broken(TARGET, "%s: the JSON written reads back as other bytes\n%s", desc->name,
                        out);
        if (!(again = tr_pbjson_format(second, flags)))
            abort();
        if (strcmp(out, again) != 0)
            fuzz_broken(TARGET, "%s: formatting again gives other text\n%s\n%s", desc->name, out,
                        again);
        protobuf_c_message_free_unpacked(second, NULL);
    }
    free(again);
    free(out);
    protobuf_c_message_free_unpacked(first, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    const tr_event_type_t *all = tr_catalogue_all(&n);
    if (size < 1 || n == 0)
        return 0;
    const tr_event_type_t *et = &all[data[0] % n];
    unsigned options = data[0] / n;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    char subject[TR_SUBJECT_MAX + 1];
    snprintf(subject, sizeof subject, "%s", et->subject);
    if (et->per_supplier && strlen(subject) >= 1 && subject[strlen(subject) - 1] == '*')
        snprintf(subject + strlen(subject) - 1, sizeof subject - strlen(subject) + 1, "%s",
                 SUPPLIER_CVR);
    publish_args_t a = {.subject = subject, .file = "fuzz.json", .timeout = DEFAULT_TIMEOUT};
    if (options & 1)
        a.municipality = "630";
    if (options & 2)
        a.event_id = "fuzz-1";

    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    char event_id[EVENT_ID_MAX + 1] = "", *messages = NULL;
    if (build(&a, text, len, &bytes, &nbytes, event_id, &messages) == 0) {
        check_built(&a, et, bytes, nbytes, event_id);
    } else if (!messages || strncmp(messages, "trivselctl: ", 12) != 0 || !messages[12]) {
        fuzz_broken(TARGET, "build_envelope refused without a message: \"%s\"",
                    messages ? messages : "");
    }
    free(messages);
    free(bytes);

    check_pbjson(et->descriptor, text, len, (options & 1) ? TR_PBJSON_COMPACT : TR_PBJSON_PRETTY);
    return 0;
}
