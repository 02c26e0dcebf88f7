#include "pbjson.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/envelope.pb-c.h"

/* ---- test.AllTypes: every scalar type, proto3 `optional`, recursion and a map ----
 * trivsel's .proto files use only some types, and a .proto added for tests would become part of
 * the product, so this descriptor is written by hand, as protoc-c would generate it for
 *
 *   message AllTypes {
 *     int32 int32_value = 1;  int64 int64_value = 2;  uint32 uint32_value = 3;
 *     uint64 uint64_value = 4;  sint32 sint32_value = 5;  sint64 sint64_value = 6;
 *     fixed32 fixed32_value = 7;  fixed64 fixed64_value = 8;  sfixed32 sfixed32_value = 9;
 *     sfixed64 sfixed64_value = 10;  float float_value = 11;  double double_value = 12;
 *     bool bool_value = 13;  string string_value = 14;  bytes bytes_value = 15;
 *     trivsel.broker.StartAt enum_value = 16;  AllTypes child = 17;
 *     repeated string names = 18;  map<string, string> labels = 19;  optional int32 maybe = 20;
 *   }
 */
typedef struct all_types {
    ProtobufCMessage base;
    int32_t int32_value;
    int64_t int64_value;
    uint32_t uint32_value;
    uint64_t uint64_value;
    int32_t sint32_value;
    int64_t sint64_value;
    uint32_t fixed32_value;
    uint64_t fixed64_value;
    int32_t sfixed32_value;
    int64_t sfixed64_value;
    float float_value;
    double double_value;
    protobuf_c_boolean bool_value;
    char *string_value;
    ProtobufCBinaryData bytes_value;
    int32_t enum_value;
    struct all_types *child;
    size_t n_names;
    char **names;
    size_t n_labels;
    ProtobufCMessage **labels;
    protobuf_c_boolean has_maybe;
    int32_t maybe;
} all_types_t;

typedef struct labels_entry {
    ProtobufCMessage base;
    char *key;
    char *value;
} labels_entry_t;

static const ProtobufCMessageDescriptor all_types_descriptor;
static const ProtobufCMessageDescriptor labels_entry_descriptor;

#define FIELD(name, id, label, type, q, member, desc, def)                                         \
    {name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, q, offsetof(all_types_t, member), \
     desc, def, 0, 0, NULL, NULL}

static const ProtobufCFieldDescriptor all_types_fields[20] = {
    FIELD("int32_value", 1, NONE, INT32, 0, int32_value, NULL, NULL),
    FIELD("int64_value", 2, NONE, INT64, 0, int64_value, NULL, NULL),
    FIELD("uint32_value", 3, NONE, UINT32, 0, uint32_value, NULL, NULL),
    FIELD("uint64_value", 4, NONE, UINT64, 0, uint64_value, NULL, NULL),
    FIELD("sint32_value", 5, NONE, SINT32, 0, sint32_value, NULL, NULL),
    FIELD("sint64_value", 6, NONE, SINT64, 0, sint64_value, NULL, NULL),
    FIELD("fixed32_value", 7, NONE, FIXED32, 0, fixed32_value, NULL, NULL),
    FIELD("fixed64_value", 8, NONE, FIXED64, 0, fixed64_value, NULL, NULL),
    FIELD("sfixed32_value", 9, NONE, SFIXED32, 0, sfixed32_value, NULL, NULL),
    FIELD("sfixed64_value", 10, NONE, SFIXED64, 0, sfixed64_value, NULL, NULL),
    FIELD("float_value", 11, NONE, FLOAT, 0, float_value, NULL, NULL),
    FIELD("double_value", 12, NONE, DOUBLE, 0, double_value, NULL, NULL),
    FIELD("bool_value", 13, NONE, BOOL, 0, bool_value, NULL, NULL),
    FIELD("string_value", 14, NONE, STRING, 0, string_value, NULL, &protobuf_c_empty_string),
    FIELD("bytes_value", 15, NONE, BYTES, 0, bytes_value, NULL, NULL),
    FIELD("enum_value", 16, NONE, ENUM, 0, enum_value, &trivsel__broker__start_at__descriptor,
          NULL),
    FIELD("child", 17, NONE, MESSAGE, 0, child, &all_types_descriptor, NULL),
    FIELD("names", 18, REPEATED, STRING, offsetof(all_types_t, n_names), names, NULL,
          &protobuf_c_empty_string),
    FIELD("labels", 19, REPEATED, MESSAGE, offsetof(all_types_t, n_labels), labels,
          &labels_entry_descriptor, NULL),
    FIELD("maybe", 20, OPTIONAL, INT32, offsetof(all_types_t, has_maybe), maybe, NULL, NULL),
};
static const unsigned all_types_by_name[20] = {12, 14, 16, 11, 15, 6,  7, 10, 0, 1,
                                               18, 19, 17, 8,  9,  4, 5, 13, 2, 3};
static const ProtobufCIntRange all_types_ranges[2] = {{1, 0}, {0, 20}};

static void all_types_init(ProtobufCMessage *msg)
{
    all_types_t *t = (all_types_t *)msg;
    memset(t, 0, sizeof *t);
    t->base.descriptor = &all_types_descriptor;
    t->string_value = (char *)protobuf_c_empty_string;
}

static const ProtobufCMessageDescriptor all_types_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.AllTypes",
    "AllTypes",
    "AllTypes",
    "test",
    sizeof(all_types_t),
    20,
    all_types_fields,
    all_types_by_name,
    1,
    all_types_ranges,
    all_types_init,
    NULL,
    NULL,
    NULL};

static const ProtobufCFieldDescriptor labels_entry_fields[2] = {
    {"key", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(labels_entry_t, key),
     NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"value", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0,
     offsetof(labels_entry_t, value), NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL},
};
static const unsigned labels_entry_by_name[2] = {0, 1};
static const ProtobufCIntRange labels_entry_ranges[2] = {{1, 0}, {0, 2}};

static void labels_entry_init(ProtobufCMessage *msg)
{
    labels_entry_t *e = (labels_entry_t *)msg;
    memset(e, 0, sizeof *e);
    e->base.descriptor = &labels_entry_descriptor;
    e->key = e->value = (char *)protobuf_c_empty_string;
}

static const ProtobufCMessageDescriptor labels_entry_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.AllTypes.LabelsEntry",
    "LabelsEntry",
    "AllTypes__LabelsEntry",
    "test",
    sizeof(labels_entry_t),
    2,
    labels_entry_fields,
    labels_entry_by_name,
    1,
    labels_entry_ranges,
    labels_entry_init,
    NULL,
    NULL,
    NULL};

/* ---- helpers ---- */

/* The bytes_type hook trivselctl would use, cut down to the types these tests publish. */
static const ProtobufCMessageDescriptor *payload_type(const ProtobufCMessage *parent,
                                                      const ProtobufCFieldDescriptor *field,
                                                      void *arg)
{
    const Trivsel__Envelope *env = (const Trivsel__Envelope *)parent;
    int *calls = arg;
    (*calls)++;
    if (parent->descriptor != &trivsel__envelope__descriptor || strcmp(field->name, "payload"))
        return NULL;
    if (strcmp(env->type, "trivsel.broker.Hello") == 0)
        return &trivsel__broker__hello__descriptor;
    if (strcmp(env->type, "trivsel.Envelope") == 0)
        return &trivsel__envelope__descriptor;
    return NULL;
}

/* Whether two messages encode to the same bytes. */
static bool same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    bool same = pa && pb && na == nb && protobuf_c_message_pack(a, pa) == na &&
                protobuf_c_message_pack(b, pb) == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/* Parses json, which must be valid; NULL (and a failed check) otherwise. */
static ProtobufCMessage *parse_opts(const ProtobufCMessageDescriptor *desc, const char *json,
                                    const tr_pbjson_options_t *opts)
{
    ProtobufCMessage *msg = (ProtobufCMessage *)&msg; /* proves *out is written */
    tr_error_t err = {0};
    int rc = tr_pbjson_parse_opts(desc, json, strlen(json), opts, &msg, &err);
    if (rc != 0)
        printf("#   %s: %s\n", json, err.message);
    CHECK_INT_EQ(rc, 0);
    CHECK(rc == 0 ? msg != NULL : msg == NULL);
    return msg;
}

static ProtobufCMessage *parse(const ProtobufCMessageDescriptor *desc, const char *json)
{
    return parse_opts(desc, json, NULL);
}

/* Parses json, which must be refused with exactly message. */
static void check_refused_opts(const ProtobufCMessageDescriptor *desc, const char *json,
                               const tr_pbjson_options_t *opts, const char *message)
{
    ProtobufCMessage *msg = (ProtobufCMessage *)&msg;
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_pbjson_parse_opts(desc, json, strlen(json), opts, &msg, &err), TR_EINVAL);
    CHECK_INT_EQ(err.code, TR_EINVAL);
    CHECK_STR_EQ(err.message, message);
    CHECK(msg == NULL);
}

static void check_refused(const ProtobufCMessageDescriptor *desc, const char *json,
                          const char *message)
{
    check_refused_opts(desc, json, NULL, message);
}

/* Formats msg and checks the exact text. */
static void check_format_opts(const ProtobufCMessage *msg, const tr_pbjson_options_t *opts,
                              const char *expected)
{
    char *text = tr_pbjson_format_opts(msg, opts);
    CHECK_STR_EQ(text, expected);
    free(text);
}

static void check_compact(const ProtobufCMessage *msg, const char *expected)
{
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT};
    check_format_opts(msg, &opts, expected);
}

/* Parses json, checks that it formats (compact) as expected, and that the output parses back
 * to the same message. */
static void check_round_trip_opts(const ProtobufCMessageDescriptor *desc, const char *json,
                                  const tr_pbjson_options_t *opts, const char *expected)
{
    tr_pbjson_options_t compact = opts ? *opts : (tr_pbjson_options_t){0};
    ProtobufCMessage *a = parse_opts(desc, json, opts), *b = NULL;
    char *text = NULL;
    compact.flags = TR_PBJSON_COMPACT;
    if (!a)
        return;
    text = tr_pbjson_format_opts(a, &compact);
    CHECK_STR_EQ(text, expected);
    if (text && (b = parse_opts(desc, text, opts)) != NULL)
        CHECK(same_message(a, b));
    free(text);
    protobuf_c_message_free_unpacked(a, NULL);
    if (b)
        protobuf_c_message_free_unpacked(b, NULL);
}

static void check_round_trip(const ProtobufCMessageDescriptor *desc, const char *json,
                             const char *expected)
{
    check_round_trip_opts(desc, json, NULL, expected);
}

/* ---- the trivsel messages ---- */

static uint8_t payload_bytes[] = {0x0a, 0x03, 'a', 'b', 'c'}; /* field 1 = "abc" */

static void test_envelope_round_trip(void)
{
    Google__Protobuf__Timestamp occurred = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp published = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Trivsel__Envelope env = TRIVSEL__ENVELOPE__INIT;
    ProtobufCMessage *back = NULL;
    char *text;
    occurred.seconds = 1795421700; /* 2026-11-23T08:15:00Z */
    published.seconds = 1795421700;
    published.nanos = 500000000;
    env.event_id = "3f1c2b9e-7a4d-4c1e-9b2a-5d6e7f8a9b0c";
    env.subject = "intake.underretning.received";
    env.type = "trivsel.intake.UnderretningReceived";
    env.municipality = "630";
    env.occurred_at = &occurred;
    env.published_at = &published;
    env.publisher = "fagsystem-vejle";
    env.correlation_id = "sag-2026-0042";
    env.payload.data = payload_bytes;
    env.payload.len = sizeof payload_bytes;
    env.position = UINT64_MAX;

    text = tr_pbjson_format(&env.base, TR_PBJSON_PRETTY);
    CHECK_STR_EQ(text, "{\n"
                       "  \"eventId\": \"3f1c2b9e-7a4d-4c1e-9b2a-5d6e7f8a9b0c\",\n"
                       "  \"subject\": \"intake.underretning.received\",\n"
                       "  \"type\": \"trivsel.intake.UnderretningReceived\",\n"
                       "  \"municipality\": \"630\",\n"
                       "  \"occurredAt\": \"2026-11-23T08:15:00Z\",\n"
                       "  \"publishedAt\": \"2026-11-23T08:15:00.500Z\",\n"
                       "  \"publisher\": \"fagsystem-vejle\",\n"
                       "  \"correlationId\": \"sag-2026-0042\",\n"
                       "  \"payload\": \"CgNhYmM=\",\n"
                       "  \"position\": \"18446744073709551615\"\n"
                       "}");
    if (text)
        back = parse(&trivsel__envelope__descriptor, text);
    if (back) {
        Trivsel__Envelope *e = (Trivsel__Envelope *)back;
        CHECK(same_message(&env.base, back));
        CHECK_STR_EQ(e->correlation_id, "sag-2026-0042");
        CHECK_INT_EQ(e->published_at->nanos, 500000000);
        CHECK(e->position == UINT64_MAX);
        protobuf_c_message_free_unpacked(back, NULL);
    }
    free(text);

    check_compact(&env.base,
                  "{\"eventId\":\"3f1c2b9e-7a4d-4c1e-9b2a-5d6e7f8a9b0c\","
                  "\"subject\":\"intake.underretning.received\","
                  "\"type\":\"trivsel.intake.UnderretningReceived\",\"municipality\":\"630\","
                  "\"occurredAt\":\"2026-11-23T08:15:00Z\","
                  "\"publishedAt\":\"2026-11-23T08:15:00.500Z\","
                  "\"publisher\":\"fagsystem-vejle\",\"correlationId\":\"sag-2026-0042\","
                  "\"payload\":\"CgNhYmM=\",\"position\":\"18446744073709551615\"}");
}

static void test_client_message_publish_round_trip(void)
{
    Google__Protobuf__Timestamp occurred = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Trivsel__Envelope env = TRIVSEL__ENVELOPE__INIT;
    Trivsel__Broker__Publish publish = TRIVSEL__BROKER__PUBLISH__INIT;
    Trivsel__Broker__ClientMessage cm = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
    const char *expected =
        "{\"publish\":{\"event\":{\"eventId\":\"e-1\",\"subject\":\"intake.underretning.received\","
        "\"type\":\"trivsel.intake.UnderretningReceived\",\"municipality\":\"575\","
        "\"occurredAt\":\"2026-11-23T08:15:00Z\",\"payload\":\"CgNhYmM=\"}}}";
    ProtobufCMessage *back;
    occurred.seconds = 1795421700;
    env.event_id = "e-1";
    env.subject = "intake.underretning.received";
    env.type = "trivsel.intake.UnderretningReceived";
    env.municipality = "575";
    env.occurred_at = &occurred;
    env.payload.data = payload_bytes;
    env.payload.len = sizeof payload_bytes;
    publish.event = &env;
    cm.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PUBLISH;
    cm.publish = &publish;

    check_compact(&cm.base, expected);
    back = parse(&trivsel__broker__client_message__descriptor, expected);
    if (back) {
        Trivsel__Broker__ClientMessage *m = (Trivsel__Broker__ClientMessage *)back;
        CHECK(same_message(&cm.base, back));
        CHECK_INT_EQ(m->command_case, TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PUBLISH);
        CHECK_STR_EQ(m->publish->event->municipality, "575");
        CHECK_INT_EQ(m->publish->event->payload.len, 5);
        protobuf_c_message_free_unpacked(back, NULL);
    }
}

/* proto3 leaves out defaults, but a oneof member is written when it is the one set, even empty. */
static void test_defaults_left_out_but_oneof_members_written(void)
{
    Trivsel__Envelope env = TRIVSEL__ENVELOPE__INIT;
    Trivsel__Broker__ClientMessage cm = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
    Trivsel__Broker__StatusRequest status = TRIVSEL__BROKER__STATUS_REQUEST__INIT;
    Trivsel__Broker__Ping ping = TRIVSEL__BROKER__PING__INIT;
    Trivsel__Broker__Subscribe sub = TRIVSEL__BROKER__SUBSCRIBE__INIT;
    Google__Protobuf__Timestamp epoch = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

    check_compact(&env.base, "{}");
    check_format_opts(&env.base, NULL, "{}");
    check_compact(&cm.base, "{}");
    cm.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_STATUS;
    cm.status = &status;
    check_compact(&cm.base, "{\"status\":{}}");
    cm.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PING;
    cm.ping = &ping; /* nonce 0 */
    check_compact(&cm.base, "{\"ping\":{}}");
    sub.name = "intake";
    sub.start_at = TRIVSEL__BROKER__START_AT__START_AT_BEGINNING; /* enum 0 */
    check_compact(&sub.base, "{\"name\":\"intake\"}");
    env.occurred_at = &epoch; /* a present sub-message is written even when all zero */
    check_compact(&env.base, "{\"occurredAt\":\"1970-01-01T00:00:00Z\"}");

    check_round_trip(&trivsel__broker__client_message__descriptor, "{\"status\": {}}",
                     "{\"status\":{}}");
    check_round_trip(&trivsel__broker__client_message__descriptor, "{\"ping\": {\"nonce\": 0}}",
                     "{\"ping\":{}}");
    check_round_trip(&trivsel__broker__client_message__descriptor, "{}", "{}");
}

static void test_broker_scalars(void)
{
    /* uint32, string, enum by name and by number */
    check_round_trip(&trivsel__broker__welcome__descriptor,
                     "{\"protocolVersion\": 1, \"principal\": \"fagsystem-vejle\", \"kind\": "
                     "\"PRINCIPAL_KIND_SYSTEM\", \"cvr\": \"12345678\", \"heartbeatIntervalMs\": "
                     "5000, \"maxEventBytes\": 4294967295}",
                     "{\"protocolVersion\":1,\"principal\":\"fagsystem-vejle\",\"kind\":"
                     "\"PRINCIPAL_KIND_SYSTEM\",\"cvr\":\"12345678\",\"heartbeatIntervalMs\":5000,"
                     "\"maxEventBytes\":4294967295}");
    check_round_trip(&trivsel__broker__welcome__descriptor, "{\"kind\": 3}",
                     "{\"kind\":\"PRINCIPAL_KIND_SUPPLIER\"}");
    /* a number the .proto does not name (a newer sender) stays a number */
    check_round_trip(&trivsel__broker__welcome__descriptor, "{\"kind\": 77}", "{\"kind\":77}");
    check_round_trip(&trivsel__broker__welcome__descriptor, "{\"kind\": -1}", "{\"kind\":-1}");
    check_round_trip(&trivsel__broker__welcome__descriptor,
                     "{\"kind\": \"PRINCIPAL_KIND_UNSPECIFIED\"}", "{}");
    /* bool */
    check_round_trip(&trivsel__broker__publish_ack__descriptor,
                     "{\"eventId\": \"e-1\", \"position\": \"42\", \"duplicate\": true}",
                     "{\"eventId\":\"e-1\",\"position\":\"42\",\"duplicate\":true}");
    check_round_trip(&trivsel__broker__unsubscribe__descriptor,
                     "{\"subscription\": \"s\", \"delete\": false}", "{\"subscription\":\"s\"}");
    /* repeated uint64, numbers and strings mixed on input */
    check_round_trip(&trivsel__broker__ack__descriptor,
                     "{\"subscription\": \"intake\", \"positions\": [1, \"2\", "
                     "\"18446744073709551615\", 0]}",
                     "{\"subscription\":\"intake\",\"positions\":[\"1\",\"2\","
                     "\"18446744073709551615\",\"0\"]}");
    check_round_trip(&trivsel__broker__ack__descriptor, "{\"positions\": []}", "{}");
    /* repeated messages, nested */
    check_round_trip(&trivsel__broker__server_message__descriptor,
                     "{\"status\": {\"logPosition\": \"900\", \"subscriptions\": [{\"principal\": "
                     "\"ydelse\", \"name\": \"intake\", \"backlog\": \"3\", \"consumers\": 1}, "
                     "{}], "
                     "\"clients\": [{\"clientName\": \"fagsystem-vejle\", \"idleMs\": 250}]}}",
                     "{\"status\":{\"logPosition\":\"900\",\"subscriptions\":[{\"principal\":"
                     "\"ydelse\",\"name\":\"intake\",\"backlog\":\"3\",\"consumers\":1},{}],"
                     "\"clients\":[{\"clientName\":\"fagsystem-vejle\",\"idleMs\":250}]}}");
    check_round_trip(&trivsel__broker__server_message__descriptor,
                     "{\"error\": {\"code\": \"ERROR_TYPE_MISMATCH\", \"reason\": \"type "
                     "\\\"x\\\" is not the subject's type\"}}",
                     "{\"error\":{\"code\":\"ERROR_TYPE_MISMATCH\",\"reason\":\"type \\\"x\\\" "
                     "is not the subject's type\"}}");
}

/* ---- every scalar type (test.AllTypes) ---- */

static void test_every_scalar_type(void)
{
    all_types_t all, child;
    char *names[2] = {"a", "b"};
    uint8_t blob[2] = {0xfb, 0xff};
    const char *expected =
        "{\"int32Value\":-2147483648,\"int64Value\":\"-9223372036854775808\","
        "\"uint32Value\":4294967295,\"uint64Value\":\"18446744073709551615\","
        "\"sint32Value\":-1,\"sint64Value\":\"-2\",\"fixed32Value\":7,\"fixed64Value\":\"8\","
        "\"sfixed32Value\":-9,\"sfixed64Value\":\"-10\",\"floatValue\":1.5,"
        "\"doubleValue\":-0.25,\"boolValue\":true,\"stringValue\":\"Ærø\","
        "\"bytesValue\":\"+/8=\",\"enumValue\":\"START_AT_NEW\",\"child\":{\"int32Value\":1},"
        "\"names\":[\"a\",\"b\"],\"maybe\":0}";
    all_types_init(&all.base);
    all_types_init(&child.base);
    child.int32_value = 1;
    all.int32_value = INT32_MIN;
    all.int64_value = INT64_MIN;
    all.uint32_value = UINT32_MAX;
    all.uint64_value = UINT64_MAX;
    all.sint32_value = -1;
    all.sint64_value = -2;
    all.fixed32_value = 7;
    all.fixed64_value = 8;
    all.sfixed32_value = -9;
    all.sfixed64_value = -10;
    all.float_value = 1.5f;
    all.double_value = -0.25;
    all.bool_value = 1;
    all.string_value = "Ærø";
    all.bytes_value.data = blob;
    all.bytes_value.len = sizeof blob;
    all.enum_value = TRIVSEL__BROKER__START_AT__START_AT_NEW;
    all.child = &child;
    all.n_names = 2;
    all.names = names;
    all.has_maybe = 1; /* optional: present although 0 */
    all.maybe = 0;
    check_compact(&all.base, expected);
    check_round_trip(&all_types_descriptor, expected, expected);

    /* snake_case names and numbers given as strings are read too */
    check_round_trip(&all_types_descriptor,
                     "{\"int32_value\": \"-5\", \"uint32_value\": \"5\", \"sint64_value\": -3, "
                     "\"fixed64_value\": 1e3, \"float_value\": \"2.5\", "
                     "\"double_value\": \"-1e-3\", \"bool_value\": false, \"enum_value\": 1, "
                     "\"maybe\": null}",
                     "{\"int32Value\":-5,\"uint32Value\":5,\"sint64Value\":\"-3\","
                     "\"fixed64Value\":\"1000\",\"floatValue\":2.5,\"doubleValue\":-0.001,"
                     "\"enumValue\":\"START_AT_NEW\"}");
    check_round_trip(&all_types_descriptor, "{\"maybe\": 7}", "{\"maybe\":7}");
}

static void test_floats(void)
{
    all_types_t all;
    all_types_init(&all.base);
    all.float_value = NAN;
    all.double_value = -INFINITY;
    check_compact(&all.base, "{\"floatValue\":\"NaN\",\"doubleValue\":\"-Infinity\"}");
    all.float_value = INFINITY;
    all.double_value = -0.0; /* not the default: its sign bit is set */
    check_compact(&all.base, "{\"floatValue\":\"Infinity\",\"doubleValue\":-0.0}");
    check_round_trip(&all_types_descriptor,
                     "{\"floatValue\": \"NaN\", \"doubleValue\": \"Infinity\"}",
                     "{\"floatValue\":\"NaN\",\"doubleValue\":\"Infinity\"}");
    check_round_trip(&all_types_descriptor, "{\"doubleValue\": 1e308, \"floatValue\": 3}",
                     "{\"floatValue\":3.0,\"doubleValue\":1e308}");
    check_refused(&all_types_descriptor, "{\"floatValue\": 1e39}",
                  "at \"$.floatValue\": value 1e39 is out of range for float");
    check_refused(&all_types_descriptor, "{\"doubleValue\": \"1e999\"}",
                  "at \"$.doubleValue\": value \"1e999\" is out of range for double");
    check_refused(&all_types_descriptor, "{\"doubleValue\": \"0x10\"}",
                  "at \"$.doubleValue\": expected a number, got \"0x10\"");
    check_refused(&all_types_descriptor, "{\"doubleValue\": \"nan\"}",
                  "at \"$.doubleValue\": expected a number, got \"nan\"");
    check_refused(&all_types_descriptor, "{\"doubleValue\": \" 1\"}",
                  "at \"$.doubleValue\": expected a number, got \" 1\"");
    check_refused(&all_types_descriptor, "{\"floatValue\": true}",
                  "at \"$.floatValue\": expected a number, got true");
}

static void test_map_fields_are_refused(void)
{
    check_refused(&all_types_descriptor, "{\"labels\": {\"team\": \"nord\"}}",
                  "at \"$.labels\": map fields are not supported (field labels of "
                  "test.AllTypes)");
    check_round_trip(&all_types_descriptor, "{\"labels\": null}", "{}");
}

/* ---- 64-bit and 32-bit integers ---- */

static void test_integers_as_strings_and_numbers(void)
{
    const ProtobufCMessageDescriptor *ping = &trivsel__broker__ping__descriptor;
    const ProtobufCMessageDescriptor *hello = &trivsel__broker__hello__descriptor;
    check_round_trip(ping, "{\"nonce\": \"123\"}", "{\"nonce\":\"123\"}");
    check_round_trip(ping, "{\"nonce\": 123}", "{\"nonce\":\"123\"}");
    check_round_trip(ping, "{\"nonce\": 1.0e2}", "{\"nonce\":\"100\"}");
    check_round_trip(ping, "{\"nonce\": \"18446744073709551615\"}",
                     "{\"nonce\":\"18446744073709551615\"}");
    check_round_trip(ping, "{\"nonce\": 9223372036854775807}",
                     "{\"nonce\":\"9223372036854775807\"}");
    check_round_trip(ping, "{\"nonce\": \"-0\"}", "{}");
    check_refused(ping, "{\"nonce\": \"-1\"}",
                  "at \"$.nonce\": value \"-1\" is out of range for uint64: must be between 0 "
                  "and 18446744073709551615");
    check_refused(ping, "{\"nonce\": \"18446744073709551616\"}",
                  "at \"$.nonce\": value \"18446744073709551616\" is out of range for uint64: "
                  "must be between 0 and 18446744073709551615");
    check_refused(ping, "{\"nonce\": \"99999999999999999999999\"}",
                  "at \"$.nonce\": value \"99999999999999999999999\" is out of range for "
                  "uint64: must be between 0 and 18446744073709551615");
    check_refused(ping, "{\"nonce\": 1e20}",
                  "at \"$.nonce\": value 1e20 is out of range for uint64: must be between 0 and "
                  "18446744073709551615");
    check_refused(ping, "{\"nonce\": 1.5}", "at \"$.nonce\": expected an integer, got 1.5");
    check_refused(ping, "{\"nonce\": \"12a\"}",
                  "at \"$.nonce\": expected an integer, got \"12a\"");
    check_refused(ping, "{\"nonce\": \"1.0\"}",
                  "at \"$.nonce\": expected an integer, got \"1.0\"");
    check_refused(ping, "{\"nonce\": \"\"}", "at \"$.nonce\": expected an integer, got \"\"");
    check_refused(ping, "{\"nonce\": \"-\"}", "at \"$.nonce\": expected an integer, got \"-\"");
    check_refused(ping, "{\"nonce\": \" 1\"}", "at \"$.nonce\": expected an integer, got \" 1\"");
    check_refused(ping, "{\"nonce\": true}", "at \"$.nonce\": expected an integer, got true");
    check_refused(ping, "{\"nonce\": {}}", "at \"$.nonce\": expected an integer, got an object");
    /* Above 2^63-1 a 64-bit value must be a string (its canonical form): jansson, like
     * JavaScript, cannot read a bigger integer literal. */
    check_refused(ping, "{\"nonce\": 18446744073709551615}",
                  "invalid JSON at line 1, column 30: too big integer near "
                  "'18446744073709551615'");

    check_round_trip(hello, "{\"protocolVersion\": \"7\"}", "{\"protocolVersion\":7}");
    check_round_trip(hello, "{\"protocolVersion\": 4294967295}",
                     "{\"protocolVersion\":4294967295}");
    check_refused(hello, "{\"protocolVersion\": 4294967296}",
                  "at \"$.protocolVersion\": value 4294967296 is out of range for uint32: must "
                  "be between 0 and 4294967295");
    check_refused(hello, "{\"protocolVersion\": -1}",
                  "at \"$.protocolVersion\": value -1 is out of range for uint32: must be "
                  "between 0 and 4294967295");
    check_refused(&all_types_descriptor, "{\"int32Value\": 2147483648}",
                  "at \"$.int32Value\": value 2147483648 is out of range for int32: must be "
                  "between -2147483648 and 2147483647");
    check_refused(&all_types_descriptor, "{\"sint64Value\": \"-9223372036854775809\"}",
                  "at \"$.sint64Value\": value \"-9223372036854775809\" is out of range for "
                  "sint64: must be between -9223372036854775808 and 9223372036854775807");
    check_round_trip(&all_types_descriptor, "{\"sint64Value\": \"-9223372036854775808\"}",
                     "{\"sint64Value\":\"-9223372036854775808\"}");
    check_refused(&trivsel__broker__welcome__descriptor, "{\"kind\": 3000000000}",
                  "at \"$.kind\": value 3000000000 is out of range for "
                  "trivsel.broker.PrincipalKind: must be between -2147483648 and 2147483647");
    check_refused(&trivsel__broker__welcome__descriptor, "{\"kind\": true}",
                  "at \"$.kind\": expected an enum name or an integer, got true");
    check_refused(&trivsel__broker__unsubscribe__descriptor, "{\"delete\": \"true\"}",
                  "at \"$.delete\": expected true or false, got a string");
}

/* ---- names ---- */

static void test_camel_and_snake_case_input(void)
{
    ProtobufCMessage *msg =
        parse(&trivsel__broker__client_message__descriptor,
              "{\"publish\": {\"event\": {\"event_id\": \"e-1\", \"correlationId\": \"sag-1\", "
              "\"occurred_at\": \"2026-11-23T08:15:00Z\", \"publishedAt\": "
              "\"2026-11-23T08:15:01Z\"}}}");
    if (msg) {
        Trivsel__Envelope *env = ((Trivsel__Broker__ClientMessage *)msg)->publish->event;
        CHECK_STR_EQ(env->event_id, "e-1");
        CHECK_STR_EQ(env->correlation_id, "sag-1");
        CHECK_INT_EQ(env->occurred_at->seconds, 1795421700);
        CHECK_INT_EQ(env->published_at->seconds, 1795421701);
        check_compact(msg, "{\"publish\":{\"event\":{\"eventId\":\"e-1\","
                           "\"occurredAt\":\"2026-11-23T08:15:00Z\","
                           "\"publishedAt\":\"2026-11-23T08:15:01Z\","
                           "\"correlationId\":\"sag-1\"}}}");
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    check_round_trip(&trivsel__broker__server_message__descriptor,
                     "{\"publish_ack\": {\"event_id\": \"e-1\"}}",
                     "{\"publishAck\":{\"eventId\":\"e-1\"}}");
    check_refused(&trivsel__envelope__descriptor, "{\"event_id\": \"a\", \"eventId\": \"b\"}",
                  "at \"$.eventId\": duplicate field: \"event_id\" and \"eventId\" are the same "
                  "field");
    check_refused(&trivsel__envelope__descriptor, "{\"EventId\": \"a\"}",
                  "at \"$.EventId\": unknown field \"EventId\" in trivsel.Envelope");
    check_refused(&trivsel__envelope__descriptor, "{\"eventid\": \"a\"}",
                  "at \"$.eventid\": unknown field \"eventid\" in trivsel.Envelope");
    check_refused(&trivsel__envelope__descriptor, "{\"subject\": \"a\", \"subject\": \"b\"}",
                  "invalid JSON at line 1, column 26: duplicate object key near '\"subject\"'");
}

/* ---- the error messages people see ---- */

static void test_error_messages(void)
{
    const ProtobufCMessageDescriptor *cm = &trivsel__broker__client_message__descriptor;
    check_refused(cm, "{\"publish\": {\"event\": {\"eventId\": 42}}}",
                  "at \"$.publish.event.eventId\": expected a string, got a number");
    check_refused(cm, "{\"hello\": {\"clientNamee\": \"x\"}}",
                  "at \"$.hello.clientNamee\": unknown field \"clientNamee\" in "
                  "trivsel.broker.Hello");
    check_refused(&trivsel__broker__welcome__descriptor, "{\"kind\": \"FAX\"}",
                  "at \"$.kind\": unknown value \"FAX\" of enum trivsel.broker.PrincipalKind");
    check_refused(cm, "{\"publish\": {\"event\": {\"occurredAt\": \"2024-13-01T00:00:00Z\"}}}",
                  "at \"$.publish.event.occurredAt\": invalid timestamp "
                  "\"2024-13-01T00:00:00Z\": must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_refused(cm, "{\n  \"hello\": {\n    \"clientName\" \"x\"\n  }\n}",
                  "invalid JSON at line 3, column 20: ':' expected near '\"x\"'");
    check_refused(cm, "", "invalid JSON at line 1, column 0: unexpected token near end of file");
    check_refused(cm, "{} {}", "invalid JSON at line 1, column 4: end of file expected near '{'");
    check_refused(cm, "[]", "at \"$\": expected an object, got an array");
    check_refused(cm, "{\"hello\": []}", "at \"$.hello\": expected an object, got an array");
    check_refused(cm, "{\"publish\": {\"event\": {\"subject\": [\"a\"]}}}",
                  "at \"$.publish.event.subject\": expected a string, got an array");
    check_refused(&trivsel__broker__ack__descriptor, "{\"positions\": [1, null]}",
                  "at \"$.positions[1]\": expected an integer, got null");
    check_refused(&trivsel__broker__ack__descriptor, "{\"positions\": 1}",
                  "at \"$.positions\": expected an array, got a number");
    check_refused(&trivsel__broker__server_message__descriptor,
                  "{\"status\": {\"subscriptions\": [{}, {\"backlog\": -1}]}}",
                  "at \"$.status.subscriptions[1].backlog\": value -1 is out of range for "
                  "uint64: must be between 0 and 18446744073709551615");
    /* a key or value that is long or not printable is shown cut and escaped */
    check_refused(&trivsel__envelope__descriptor,
                  "{\"a\\tb\\\"c\": 1}",
                  "at \"$.a\\x09b\\\"c\": unknown field \"a\\x09b\\\"c\" in trivsel.Envelope");
    check_refused(&trivsel__broker__welcome__descriptor,
                  "{\"kind\": \"PRINCIPAL_KIND_SERVICE_PRINCIPAL_KIND_SERVICE_PRINCIPAL_KIND\"}",
                  "at \"$.kind\": unknown value \"PRINCIPAL_KIND_SERVICE_PRINCIPAL_KIND_SERVICE_"
                  "PR...\" of enum trivsel.broker.PrincipalKind");
    check_refused(&trivsel__broker__welcome__descriptor, "{\"kind\": \"Ærø\"}",
                  "at \"$.kind\": unknown value \"Ærø\" of enum trivsel.broker.PrincipalKind");
}

static void test_oneof_allows_one_member(void)
{
    const ProtobufCMessageDescriptor *cm = &trivsel__broker__client_message__descriptor;
    check_refused(cm, "{\"hello\": {}, \"ping\": {}}",
                  "at \"$.ping\": fields \"hello\" and \"ping\" are both set, but they are "
                  "members of one oneof");
    check_refused(cm, "{\"status\": {}, \"publish\": {\"event\": {}}}",
                  "at \"$.publish\": fields \"status\" and \"publish\" are both set, but they are "
                  "members of one oneof");
    check_round_trip(cm, "{\"hello\": null, \"ping\": {\"nonce\": \"1\"}}",
                     "{\"ping\":{\"nonce\":\"1\"}}");
}

static void test_null_means_default(void)
{
    check_round_trip(&trivsel__envelope__descriptor,
                     "{\"eventId\": null, \"occurredAt\": null, \"payload\": null, \"position\": "
                     "null, \"subject\": \"x\"}",
                     "{\"subject\":\"x\"}");
    check_round_trip(&trivsel__broker__ack__descriptor, "{\"positions\": null}", "{}");
    check_round_trip(&trivsel__broker__subscribe__descriptor, "{\"startAt\": null}", "{}");
}

/* ---- timestamps ---- */

/* Parses a timestamp given as occurredAt; checks the seconds, nanos and how it is written. */
static void check_timestamp(const char *given, int64_t seconds, int32_t nanos,
                            const char *written)
{
    char json[128], expected[128];
    ProtobufCMessage *msg;
    snprintf(json, sizeof json, "{\"occurredAt\": \"%s\"}", given);
    snprintf(expected, sizeof expected, "{\"occurredAt\":\"%s\"}", written);
    msg = parse(&trivsel__envelope__descriptor, json);
    if (!msg)
        return;
    CHECK_INT_EQ(((Trivsel__Envelope *)msg)->occurred_at->seconds, seconds);
    CHECK_INT_EQ(((Trivsel__Envelope *)msg)->occurred_at->nanos, nanos);
    check_compact(msg, expected);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void check_timestamp_refused(const char *given, const char *message)
{
    char json[128];
    snprintf(json, sizeof json, "{\"occurredAt\": \"%s\"}", given);
    check_refused(&trivsel__envelope__descriptor, json, message);
}

static void test_timestamps(void)
{
    check_timestamp("2026-11-23T08:15:00Z", 1795421700, 0, "2026-11-23T08:15:00Z");
    /* an offset is converted to UTC, also across midnight and the year */
    check_timestamp("2026-11-23T09:15:00+01:00", 1795421700, 0, "2026-11-23T08:15:00Z");
    check_timestamp("2026-11-23T03:45:00-04:30", 1795421700, 0, "2026-11-23T08:15:00Z");
    check_timestamp("2027-01-01T00:30:00+01:00", 1798759800, 0, "2026-12-31T23:30:00Z");
    check_timestamp("2026-11-23t08:15:00z", 1795421700, 0, "2026-11-23T08:15:00Z");
    /* fractions: 3, 6 or 9 digits on output, as many as needed */
    check_timestamp("2026-11-23T08:15:00.5Z", 1795421700, 500000000, "2026-11-23T08:15:00.500Z");
    check_timestamp("2026-11-23T08:15:00.123456Z", 1795421700, 123456000,
                    "2026-11-23T08:15:00.123456Z");
    check_timestamp("2026-11-23T08:15:00.1234567Z", 1795421700, 123456700,
                    "2026-11-23T08:15:00.123456700Z");
    check_timestamp("2026-11-23T08:15:00.000000001+02:00", 1795414500, 1,
                    "2026-11-23T06:15:00.000000001Z");
    check_timestamp("2026-11-23T08:15:00.000Z", 1795421700, 0, "2026-11-23T08:15:00Z");
    /* leap day; before 1970; the ends of the range */
    check_timestamp("2024-02-29T12:00:00Z", 1709208000, 0, "2024-02-29T12:00:00Z");
    check_timestamp("1969-12-31T23:59:59.999Z", -1, 999000000, "1969-12-31T23:59:59.999Z");
    check_timestamp("0001-01-01T00:00:00Z", -62135596800, 0, "0001-01-01T00:00:00Z");
    check_timestamp("0001-01-01T00:30:00-01:00", -62135591400, 0, "0001-01-01T01:30:00Z");
    check_timestamp("9999-12-31T23:59:59.999999999Z", 253402300799, 999999999,
                    "9999-12-31T23:59:59.999999999Z");

    check_timestamp_refused("2023-02-29T00:00:00Z",
                            "at \"$.occurredAt\": invalid timestamp \"2023-02-29T00:00:00Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23 08:15:00Z",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23 08:15:00Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T08:15:00",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23T08:15:00\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T24:00:00Z",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23T24:00:00Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2016-12-31T23:59:60Z",
                            "at \"$.occurredAt\": invalid timestamp \"2016-12-31T23:59:60Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T08:15:00.Z",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23T08:15:00.Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T08:15:00.1234567891Z",
                            "at \"$.occurredAt\": invalid timestamp "
                            "\"2026-11-23T08:15:00.1234567891Z\": must be RFC 3339, e.g. "
                            "2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T08:15:00+0100",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23T08:15:00+0100\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("2026-11-23T08:15:00Z ",
                            "at \"$.occurredAt\": invalid timestamp \"2026-11-23T08:15:00Z \": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("10000-01-01T00:00:00Z",
                            "at \"$.occurredAt\": invalid timestamp \"10000-01-01T00:00:00Z\": "
                            "must be RFC 3339, e.g. 2024-03-28T08:15:00Z");
    check_timestamp_refused("0000-12-31T23:59:59Z",
                            "at \"$.occurredAt\": timestamp \"0000-12-31T23:59:59Z\" is out of "
                            "range: must be between 0001-01-01T00:00:00Z and "
                            "9999-12-31T23:59:59Z");
    check_timestamp_refused("0001-01-01T00:59:59+01:00",
                            "at \"$.occurredAt\": timestamp \"0001-01-01T00:59:59+01:00\" is out "
                            "of range: must be between 0001-01-01T00:00:00Z and "
                            "9999-12-31T23:59:59Z");
    check_timestamp_refused("9999-12-31T23:59:59-00:01",
                            "at \"$.occurredAt\": timestamp \"9999-12-31T23:59:59-00:01\" is out "
                            "of range: must be between 0001-01-01T00:00:00Z and "
                            "9999-12-31T23:59:59Z");
    check_refused(&trivsel__envelope__descriptor, "{\"occurredAt\": {\"seconds\": 1}}",
                  "at \"$.occurredAt\": expected a string, got an object");
    check_refused(&trivsel__envelope__descriptor, "{\"occurredAt\": 1795421700}",
                  "at \"$.occurredAt\": expected a string, got a number");
}

static void test_timestamp_out_of_range_on_output(void)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Trivsel__Envelope env = TRIVSEL__ENVELOPE__INIT;
    env.occurred_at = &ts;
    /* no RFC 3339 text exists: the true values, which reading back refuses */
    ts.seconds = 253402300800;
    check_compact(&env.base, "{\"occurredAt\":{\"seconds\":\"253402300800\"}}");
    ts.seconds = 0;
    ts.nanos = -1;
    check_compact(&env.base, "{\"occurredAt\":{\"nanos\":-1}}");
    /* a Timestamp on its own is a JSON string */
    ts.seconds = 1795421700;
    ts.nanos = 0;
    check_compact(&ts.base, "\"2026-11-23T08:15:00Z\"");
    check_round_trip(&google__protobuf__timestamp__descriptor, "\"2026-11-23T09:15:00+01:00\"",
                     "\"2026-11-23T08:15:00Z\"");
}

/* ---- bytes ---- */

static void test_bytes_base64(void)
{
    const ProtobufCMessageDescriptor *env = &trivsel__envelope__descriptor;
    check_round_trip(env, "{\"payload\": \"+//+\"}", "{\"payload\":\"+//+\"}");
    check_round_trip(env, "{\"payload\": \"+/8=\"}", "{\"payload\":\"+/8=\"}");
    check_round_trip(env, "{\"payload\": \"+/8\"}", "{\"payload\":\"+/8=\"}");
    check_round_trip(env, "{\"payload\": \"-_8\"}", "{\"payload\":\"+/8=\"}");
    check_round_trip(env, "{\"payload\": \"-_8=\"}", "{\"payload\":\"+/8=\"}");
    check_round_trip(env, "{\"payload\": \"AA==\"}", "{\"payload\":\"AA==\"}");
    check_round_trip(env, "{\"payload\": \"\"}", "{}");
    check_round_trip(env, "{\"payload\": \"CgNhYmM=\"}", "{\"payload\":\"CgNhYmM=\"}");
    check_refused(env, "{\"payload\": \"ab$d\"}",
                  "at \"$.payload\": invalid base64 \"ab$d\": must be standard or URL-safe "
                  "base64 (RFC 4648)");
    check_refused(env, "{\"payload\": \"+/8==\"}",
                  "at \"$.payload\": invalid base64 \"+/8==\": must be standard or URL-safe "
                  "base64 (RFC 4648)");
    check_refused(env, "{\"payload\": \"A\"}",
                  "at \"$.payload\": invalid base64 \"A\": must be standard or URL-safe base64 "
                  "(RFC 4648)");
    check_refused(env, "{\"payload\": \"-/8=\"}",
                  "at \"$.payload\": invalid base64 \"-/8=\": must be standard or URL-safe "
                  "base64 (RFC 4648)");
    check_refused(env, "{\"payload\": \"CgNh YmM=\"}",
                  "at \"$.payload\": invalid base64 \"CgNh YmM=\": must be standard or URL-safe "
                  "base64 (RFC 4648)");
    check_refused(env, "{\"payload\": {}}",
                  "at \"$.payload\": expected a base64 string, got an object");
}

/* ---- the payload hook ---- */

static void test_payload_as_message(void)
{
    Trivsel__Broker__Hello hello = TRIVSEL__BROKER__HELLO__INIT;
    Trivsel__Envelope env = TRIVSEL__ENVELOPE__INIT;
    uint8_t packed[64], odd[] = {0x12, 0x01, 'x', 0x08, 0x01}, junk[] = {0xff};
    int calls = 0;
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type,
                                .arg = &calls};
    ProtobufCMessage *msg;
    hello.protocol_version = 1;
    hello.client_name = "fagsystem-vejle";
    env.type = "trivsel.broker.Hello";
    env.payload.data = packed;
    env.payload.len = protobuf_c_message_pack(&hello.base, packed);
    check_format_opts(&env.base, &opts,
                      "{\"type\":\"trivsel.broker.Hello\",\"payload\":{\"protocolVersion\":1,"
                      "\"clientName\":\"fagsystem-vejle\"}}");
    CHECK_INT_EQ(calls, 1);
    opts.flags = TR_PBJSON_PRETTY;
    check_format_opts(&env.base, &opts,
                      "{\n  \"type\": \"trivsel.broker.Hello\",\n  \"payload\": {\n"
                      "    \"protocolVersion\": 1,\n    \"clientName\": \"fagsystem-vejle\"\n"
                      "  }\n}");
    /* without the hook: base64 */
    check_compact(&env.base, "{\"type\":\"trivsel.broker.Hello\",\"payload\":"
                             "\"CAESD2ZhZ3N5c3RlbS12ZWpsZQ==\"}");

    /* the payload may come before the type that names it */
    msg = parse_opts(&trivsel__envelope__descriptor,
                     "{\"payload\": {\"clientName\": \"fagsystem-vejle\", \"protocolVersion\": 1}, "
                     "\"type\": \"trivsel.broker.Hello\"}",
                     &opts);
    if (msg) {
        CHECK(same_message(&env.base, msg));
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    /* base64 is still accepted */
    check_round_trip_opts(&trivsel__envelope__descriptor,
                          "{\"type\": \"trivsel.broker.Hello\", \"payload\": "
                          "\"CAESD2ZhZ3N5c3RlbS12ZWpsZQ==\"}",
                          &opts,
                          "{\"type\":\"trivsel.broker.Hello\",\"payload\":{\"protocolVersion\":1,"
                          "\"clientName\":\"fagsystem-vejle\"}}");
    /* bytes that are not a Hello, or not in protobuf's canonical form, or of an unknown type,
     * stay base64: the object form must give back exactly the same bytes */
    env.payload.data = junk;
    env.payload.len = sizeof junk;
    check_format_opts(&env.base, &opts, "{\n  \"type\": \"trivsel.broker.Hello\",\n"
                                        "  \"payload\": \"/w==\"\n}");
    opts.flags = TR_PBJSON_COMPACT;
    env.payload.data = odd;
    env.payload.len = sizeof odd;
    check_format_opts(&env.base, &opts,
                      "{\"type\":\"trivsel.broker.Hello\",\"payload\":\"EgF4CAE=\"}");
    env.type = "trivsel.intake.UnderretningReceived";
    check_format_opts(&env.base, &opts,
                      "{\"type\":\"trivsel.intake.UnderretningReceived\",\"payload\":"
                      "\"EgF4CAE=\"}");

    check_refused_opts(&trivsel__envelope__descriptor,
                       "{\"type\": \"trivsel.intake.Ukendt\", \"payload\": {\"a\": 1}}", &opts,
                       "at \"$.payload\": expected a base64 string, got an object: no message "
                       "type is known for this field's content");
    check_refused_opts(&trivsel__envelope__descriptor,
                       "{\"type\": \"trivsel.broker.Hello\", \"payload\": {\"clientNam\": \"x\"}}",
                       &opts,
                       "at \"$.payload.clientNam\": unknown field \"clientNam\" in "
                       "trivsel.broker.Hello");
    /* inside a publish, with the other errors found first */
    check_refused_opts(&trivsel__broker__client_message__descriptor,
                       "{\"publish\": {\"event\": {\"payload\": {}, \"typo\": 1}}}", &opts,
                       "at \"$.publish.event.typo\": unknown field \"typo\" in trivsel.Envelope");
    check_round_trip_opts(&trivsel__broker__client_message__descriptor,
                          "{\"publish\": {\"event\": {\"payload\": {\"clientName\": \"ø\"}, "
                          "\"type\": \"trivsel.broker.Hello\"}}}",
                          &opts,
                          "{\"publish\":{\"event\":{\"type\":\"trivsel.broker.Hello\","
                          "\"payload\":{\"clientName\":\"ø\"}}}}");
    /* an empty message is empty bytes, left out like any default */
    check_round_trip_opts(&trivsel__envelope__descriptor,
                          "{\"type\": \"trivsel.broker.Hello\", \"payload\": {}}", &opts,
                          "{\"type\":\"trivsel.broker.Hello\"}");
}

/* ---- limits against hostile input ---- */

/* {"child":{"child":...{}...}} nested levels deep, NUL-terminated; the caller frees it. */
static char *nested_children(int levels)
{
    size_t size = (size_t)levels * 10 + 8, o = 0;
    char *json = malloc(size);
    if (!json)
        return NULL;
    for (int i = 1; i < levels; i++)
        o += (size_t)snprintf(json + o, size - o, "{\"child\":");
    o += (size_t)snprintf(json + o, size - o, "{}");
    for (int i = 1; i < levels; i++)
        json[o++] = '}';
    json[o] = '\0';
    return json;
}

static void test_depth_limit(void)
{
    char *json32 = nested_children(32), *json33 = nested_children(33);
    char expected[TR_ERROR_MESSAGE_MAX];
    ProtobufCMessage *msg = NULL;
    json_t *value = NULL;
    tr_error_t err = {0};
    size_t o;
    if (!json32 || !json33)
        goto out;
    msg = parse(&all_types_descriptor, json32);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    msg = NULL;
    /* the 33rd '{' is the first character after 32 times {"child": */
    check_refused(&all_types_descriptor, json33,
                  "JSON nested deeper than 32 levels at line 1, column 289");
    /* arrays count too */
    check_refused(&all_types_descriptor,
                  "{\"names\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                  "JSON nested deeper than 32 levels at line 1, column 42");
    /* a caller's jansson value is checked as it is read */
    value = json_loads(json33, 0, NULL);
    CHECK(value != NULL);
    if (!value)
        goto out;
    o = (size_t)snprintf(expected, sizeof expected, "at \"$");
    for (int i = 1; i < 33; i++)
        o += (size_t)snprintf(expected + o, sizeof expected - o, ".child");
    snprintf(expected + o, sizeof expected - o, "\": nested deeper than 32 levels");
    CHECK_INT_EQ(tr_pbjson_from_value(&all_types_descriptor, value, &msg, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, expected);
    CHECK(msg == NULL);
out:
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    json_decref(value);
    free(json32);
    free(json33);
}

/* Envelopes carrying envelopes, 40 deep: as objects down to depth 32, then base64, so the text
 * reads back within the limit and gives the same bytes. */
static void test_depth_limit_of_nested_payloads(void)
{
    enum { LEVELS = 40 };
    Trivsel__Envelope env[LEVELS];
    uint8_t *bufs[LEVELS] = {0};
    int calls = 0;
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type,
                                .arg = &calls};
    char *text = NULL;
    ProtobufCMessage *back = NULL;
    int objects = 0;
    for (int i = LEVELS - 1; i >= 0; i--) {
        trivsel__envelope__init(&env[i]);
        env[i].subject = "x";
        if (i + 1 < LEVELS) {
            size_t n = protobuf_c_message_get_packed_size(&env[i + 1].base);
            env[i].type = "trivsel.Envelope";
            bufs[i] = malloc(n);
            if (!bufs[i])
                goto out;
            env[i].payload.len = protobuf_c_message_pack(&env[i + 1].base, bufs[i]);
            env[i].payload.data = bufs[i];
        }
    }
    text = tr_pbjson_format_opts(&env[0].base, &opts);
    CHECK(text != NULL);
    if (!text)
        goto out;
    for (const char *p = text; (p = strstr(p, "\"payload\":{")) != NULL; p++)
        objects++;
    CHECK_INT_EQ(objects, 31); /* envelopes 2..32 as objects, at depths 2..32 */
    CHECK(strstr(text, "\"payload\":\"") != NULL);
    back = parse_opts(&trivsel__envelope__descriptor, text, &opts);
    if (back)
        CHECK(same_message(&env[0].base, back));
out:
    if (back)
        protobuf_c_message_free_unpacked(back, NULL);
    free(text);
    for (int i = 0; i < LEVELS; i++)
        free(bufs[i]);
}

static void test_document_size_limit(void)
{
    size_t size = TR_PBJSON_MAX_DOCUMENT + 1;
    char *json = malloc(size);
    ProtobufCMessage *msg = NULL;
    tr_error_t err = {0};
    if (!json)
        return;
    /* exactly 1 MiB: "{}" and spaces */
    memset(json, ' ', size);
    json[0] = '{';
    json[1] = '}';
    CHECK_INT_EQ(tr_pbjson_parse(&trivsel__envelope__descriptor, json, size - 1, &msg, &err), 0);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    msg = NULL;
    CHECK_INT_EQ(tr_pbjson_parse(&trivsel__envelope__descriptor, json, size, &msg, &err),
                 TR_EINVAL);
    CHECK_STR_EQ(err.message, "JSON document too large: 1048577 bytes, the limit is 1048576 "
                              "(1 MiB)");
    CHECK(msg == NULL);
    free(json);
}

/* ---- UTF-8 ---- */

static void test_invalid_utf8(void)
{
    const char json[] = "{\"hello\": {\"clientName\": \"fagsystem-\xff\"}}";
    Trivsel__Broker__Hello hello = TRIVSEL__BROKER__HELLO__INIT;
    ProtobufCMessage *msg = NULL;
    json_t *value;
    tr_error_t err = {0};
    /* in JSON text, jansson refuses it */
    check_refused(&trivsel__broker__client_message__descriptor, json,
                  "invalid JSON at line 1, column 36: unable to decode byte 0xff near "
                  "'\"fagsystem-'");
    check_refused(&trivsel__broker__client_message__descriptor,
                  "{\"hello\": {\"clientName\": \"\\ud800\"}}",
                  "invalid JSON at line 1, column 33: invalid Unicode '\\uD800' near "
                  "'\"\\ud800\"'");
    check_refused(&trivsel__broker__client_message__descriptor,
                  "{\"hello\": {\"clientName\": \"a\\u0000b\"}}",
                  "invalid JSON at line 1, column 35: \\u0000 is not allowed without "
                  "JSON_ALLOW_NUL near '\"a\\u0000b\"'");
    /* in a caller's jansson value, the reader refuses it */
    value = json_pack("{s:{s:o}}", "hello", "clientName",
                      json_stringn_nocheck("fagsystem-\xc3\x28", 12));
    CHECK_INT_EQ(tr_pbjson_from_value(&trivsel__broker__client_message__descriptor, value, &msg,
                                      &err),
                 TR_EINVAL);
    CHECK_STR_EQ(err.message, "at \"$.hello.clientName\": invalid UTF-8 in string "
                              "\"fagsystem-\\xC3(\"");
    json_decref(value);
    value = json_pack("{s:{s:o}}", "hello", "clientName", json_stringn("a\0b", 3));
    CHECK_INT_EQ(tr_pbjson_from_value(&trivsel__broker__client_message__descriptor, value, &msg,
                                      &err),
                 TR_EINVAL);
    CHECK_STR_EQ(err.message, "at \"$.hello.clientName\": string contains \\u0000, which a "
                              "protobuf-c string cannot hold");
    json_decref(value);
    CHECK(msg == NULL);
    /* protobuf-c does not check UTF-8 when it decodes; JSON output replaces what is invalid */
    hello.client_name = "Ærø \xff\xc3";
    check_compact(&hello.base, "{\"clientName\":\"Ærø \xef\xbf\xbd\xef\xbf\xbd\"}");
    check_round_trip(&trivsel__broker__hello__descriptor,
                     "{\"clientName\": \"\\u00c6r\\u00f8 \\ud83d\\ude00\"}",
                     "{\"clientName\":\"Ærø \xf0\x9f\x98\x80\"}");
}

int main(void)
{
    CHECK_RUN(test_envelope_round_trip);
    CHECK_RUN(test_client_message_publish_round_trip);
    CHECK_RUN(test_defaults_left_out_but_oneof_members_written);
    CHECK_RUN(test_broker_scalars);
    CHECK_RUN(test_every_scalar_type);
    CHECK_RUN(test_floats);
    CHECK_RUN(test_map_fields_are_refused);
    CHECK_RUN(test_integers_as_strings_and_numbers);
    CHECK_RUN(test_camel_and_snake_case_input);
    CHECK_RUN(test_error_messages);
    CHECK_RUN(test_oneof_allows_one_member);
    CHECK_RUN(test_null_means_default);
    CHECK_RUN(test_timestamps);
    CHECK_RUN(test_timestamp_out_of_range_on_output);
    CHECK_RUN(test_bytes_base64);
    CHECK_RUN(test_payload_as_message);
    CHECK_RUN(test_depth_limit);
    CHECK_RUN(test_depth_limit_of_nested_payloads);
    CHECK_RUN(test_document_size_limit);
    CHECK_RUN(test_invalid_utf8);
    return check_done();
}
