/* make_seeds.c — writes the generated part of the fuzz corpus: for every event type in the
 * catalogue a message with every field filled in, in each form a target reads it, so the fuzzers
 * start from inputs that pass the first checks (a real subject, the subject's type, a payload
 * of that type) instead of finding them byte by byte.
 *
 *   make fuzz-seeds     (make_seeds tests/fuzz/corpus deploy/examples/events)
 *
 * Files it writes are named gen-*; it first deletes the gen-* files of the folders it writes,
 * so a type that left the catalogue leaves the corpus too. Hand-written seeds (any other name)
 * are left alone. Run it again after a change to a .proto file or to the catalogue: the targets
 * that take a catalogue index in their first byte (fuzz_events, fuzz_ctl_json) depend on the
 * catalogue's order.
 *
 * The example events of deploy/examples/events (SUBJECT.json, SUBJECT.envelope.json) are copied
 * into fuzz_ctl_json with the catalogue index of SUBJECT in front, and, for a type a service's
 * validator takes, written as a payload into that validator's target (fuzz_intake_validate,
 * fuzz_docs_validate) with the first byte that picks the type there.
 *
 * Values follow the field's name, so they look like the domain's: a CPR number in "cpr", a
 * date in "*_date", øre in "*_oere", a CVR number in "cvr".
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "pbjson.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/docs.pb-c.h"
#include "trivsel/envelope.pb-c.h"
#include "trivsel/intake.pb-c.h"

#define MAX_DEPTH 6
#define SUPPLIER_CVR "45424421"
#define OCCURRED_AT 1795421700 /* 2026-11-23T08:15:00Z */

static const char *root;

/* The types a service's validator takes, the target that runs it and the first byte that picks
 * the type there (see the target's comment): for a triage, one intake knows. */
static const struct {
    const ProtobufCMessageDescriptor *type;
    const char *target;
    int selector;
} validated[] = {
    {&trivsel__intake__underretning_received__descriptor, "fuzz_intake_validate", 0},
    {&trivsel__intake__triage_completed__descriptor, "fuzz_intake_validate", 1 | 1 << 1},
    {&trivsel__docs__note_submitted__descriptor, "fuzz_docs_validate", 1},
    {&trivsel__docs__report_submitted__descriptor, "fuzz_docs_validate", 2},
    {&trivsel__docs__measurement_submitted__descriptor, "fuzz_docs_validate", 3},
    {&trivsel__docs__plan_submitted__descriptor, "fuzz_docs_validate", 4},
};
#define NVALIDATED (sizeof validated / sizeof validated[0])

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "make_seeds: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = xcalloc(strlen(s) + 1, 1);
    memcpy(p, s, strlen(s));
    return p;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const char *string_value(const char *name)
{
    if (strcmp(name, "cpr") == 0)
        return "0803174127";
    if (strcmp(name, "cvr") == 0 || ends_with(name, "_cvr"))
        return SUPPLIER_CVR;
    if (strcmp(name, "municipality") == 0)
        return "575";
    if (strcmp(name, "month") == 0 || ends_with(name, "_month"))
        return "2026-11";
    if (ends_with(name, "date") || ends_with(name, "_from") || ends_with(name, "_until"))
        return "2024-02-29";
    if (strstr(name, "email"))
        return "mette.lund@eksempelskolen.example";
    if (strstr(name, "phone"))
        return "+45 12 34 56 78";
    if (strcmp(name, "postal_code") == 0)
        return "6600";
    if (ends_with(name, "_id") || strcmp(name, "id") == 0)
        return "3b0f6c2e-8d41-4c59-9a7e-2f1d5b8e6a10";
    if (strcmp(name, "pattern") == 0)
        return "ordering.order.*." SUPPLIER_CVR;
    if (strcmp(name, "subject") == 0)
        return "intake.underretning.received";
    return "Træt og sulten om morgenen";
}

static int64_t number_value(const char *name)
{
    if (ends_with(name, "_oere"))
        return 1234550;
    if (strstr(name, "score"))
        return 4;
    if (strstr(name, "hours") || strstr(name, "minutes"))
        return 37;
    if (strcmp(name, "seconds") == 0)
        return OCCURRED_AT;
    return 3;
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4; /* 32-bit numbers, float, enum, protobuf_c_boolean */
    }
}

static ProtobufCMessage *fill(const ProtobufCMessageDescriptor *d, int depth, unsigned variant);

/* One value of field f, in slot. False when nothing is set (a message too deep). */
static bool fill_value(const ProtobufCFieldDescriptor *f, void *slot, int depth, unsigned variant)
{
    int64_t n = number_value(f->name);
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: memcpy(slot, &n, 8); return true;
    case PROTOBUF_C_TYPE_DOUBLE: *(double *)slot = 2.5; return true;
    case PROTOBUF_C_TYPE_FLOAT: *(float *)slot = 2.5f; return true;
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)slot = 1; return true;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        *(int *)slot = e->values[e->n_values > 1 ? 1 + variant % (e->n_values - 1) : 0].value;
        return true;
    }
    case PROTOBUF_C_TYPE_STRING: *(char **)slot = xstrdup(string_value(f->name)); return true;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = slot;
        b->data = (uint8_t *)xstrdup("\x01\x02\x03");
        b->len = 3;
        return true;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        if (depth >= MAX_DEPTH)
            return false;
        *(ProtobufCMessage **)slot = fill(f->descriptor, depth + 1, variant);
        return true;
    default: {
        int32_t v = (int32_t)n;
        memcpy(slot, &v, 4);
        return true;
    }
    }
}

/* A new message of type d with every field set: repeated fields twice, of each oneof the
 * member variant picks. Free it with protobuf_c_message_free_unpacked(msg, NULL). */
static ProtobufCMessage *fill(const ProtobufCMessageDescriptor *d, int depth, unsigned variant)
{
    ProtobufCMessage *m = xcalloc(1, d->sizeof_message);
    char *base = (char *)m;
    protobuf_c_message_init(d, m);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *slot = base + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            unsigned members = 0, index = 0;
            for (unsigned k = 0; k < d->n_fields; k++) {
                if ((d->fields[k].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    d->fields[k].quantifier_offset == f->quantifier_offset) {
                    if (k == i)
                        index = members;
                    members++;
                }
            }
            if (index != variant % members)
                continue;
            if (fill_value(f, slot, depth, variant))
                *(uint32_t *)(base + f->quantifier_offset) = f->id;
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t size = value_size(f), count = depth < MAX_DEPTH ? 2 : 0;
            char *array = xcalloc(count, size);
            size_t set = 0;
            for (size_t k = 0; k < count; k++)
                set += fill_value(f, array + set * size, depth, variant + (unsigned)k);
            *(size_t *)(base + f->quantifier_offset) = set;
            *(void **)slot = array;
        } else {
            fill_value(f, slot, depth, variant);
            if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
                *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        }
    }
    return m;
}

/* Deletes the gen-* files of folder target. */
static void clear(const char *target)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "make_seeds: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    for (struct dirent *e; (e = readdir(dir));) {
        if (strncmp(e->d_name, "gen-", 4) == 0) {
            char file[8192];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            unlink(file);
        }
    }
    closedir(dir);
}

/* Writes tests/fuzz/corpus/<target>/gen-<name>: the selector byte (if >= 0), then len bytes. */
static void put(const char *target, const char *name, int selector, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/gen-%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (selector >= 0 && fputc(selector, f) == EOF) ||
        (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void put_message(const char *target, const char *name, int selector,
                        const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xcalloc(len, 1);
    protobuf_c_message_pack(msg, buf);
    put(target, name, selector, buf, len);
    free(buf);
}

static const ProtobufCMessageDescriptor *
payload_type(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    (void)field;
    (void)arg;
    if (parent->descriptor != &trivsel__envelope__descriptor)
        return NULL;
    const tr_event_type_t *et = tr_catalogue_by_type(((const Trivsel__Envelope *)parent)->type);
    return et ? et->descriptor : NULL;
}

static void put_json(const char *target, const char *name, int selector,
                     const ProtobufCMessage *msg)
{
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_PRETTY, .bytes_type = payload_type};
    char *text = tr_pbjson_format_opts(msg, &opts);
    if (!text)
        exit(1);
    put(target, name, selector, text, strlen(text));
    free(text);
}

/* The subject of et, with the supplier's CVR in place of a final "*". */
static void subject_of(const tr_event_type_t *et, char *buf, size_t len)
{
    snprintf(buf, len, "%s", et->subject);
    if (et->per_supplier && ends_with(buf, ".*"))
        snprintf(buf + strlen(buf) - 1, len - strlen(buf) + 1, "%s", SUPPLIER_CVR);
}

/* Writes the payload of an example of et (the event's JSON, or an envelope's) into target. */
static void put_payload(const char *target, const char *name, int selector,
                        const tr_event_type_t *et, const char *text, size_t len)
{
    bool envelope = ends_with(name, ".envelope.json");
    ProtobufCMessage *msg = NULL;
    tr_error_t err = {0};
    tr_pbjson_options_t opts = {.bytes_type = payload_type};
    if (tr_pbjson_parse_opts(envelope ? &trivsel__envelope__descriptor : et->descriptor, text, len,
                             &opts, &msg, &err) < 0) {
        fprintf(stderr, "make_seeds: %s: %s\n", name, err.message);
        exit(1);
    }
    if (envelope) {
        const Trivsel__Envelope *ev = (const Trivsel__Envelope *)msg;
        put(target, name, selector, ev->payload.data, ev->payload.len);
    } else {
        put_message(target, name, selector, msg);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* Copies every SUBJECT[.envelope].json of folder examples into fuzz_ctl_json. */
static void put_examples(const char *examples)
{
    DIR *dir = opendir(examples);
    if (!dir) {
        fprintf(stderr, "make_seeds: cannot open %s: %s\n", examples, strerror(errno));
        exit(1);
    }
    for (struct dirent *e; (e = readdir(dir));) {
        char subject[256], path[8192], name[300];
        if (!ends_with(e->d_name, ".json") || strlen(e->d_name) >= sizeof subject)
            continue;
        snprintf(subject, sizeof subject, "%s", e->d_name);
        *strstr(subject, ends_with(subject, ".envelope.json") ? ".envelope.json" : ".json") = 0;
        size_t n;
        const tr_event_type_t *all = tr_catalogue_all(&n), *et = tr_catalogue_by_subject(subject);
        if (!et) {
            fprintf(stderr, "make_seeds: %s/%s: no event type has subject %s\n", examples,
                    e->d_name, subject);
            exit(1);
        }
        snprintf(path, sizeof path, "%s/%s", examples, e->d_name);
        FILE *f = fopen(path, "rb");
        static char text[1 << 20];
        size_t len = f ? fread(text, 1, sizeof text, f) : 0;
        if (!f || ferror(f)) {
            fprintf(stderr, "make_seeds: cannot read %s\n", path);
            exit(1);
        }
        fclose(f);
        snprintf(name, sizeof name, "example-%s", e->d_name);
        put("fuzz_ctl_json", name, (int)(et - all), text, len);
        for (size_t i = 0; i < NVALIDATED; i++) {
            if (validated[i].type == et->descriptor)
                put_payload(validated[i].target, name, validated[i].selector, et, text, len);
        }
    }
    closedir(dir);
}

int main(int argc, char **argv)
{
    static const char *const targets[] = {"fuzz_events",          "fuzz_ctl_json",
                                          "fuzz_envelope",        "fuzz_broker_client",
                                          "fuzz_broker_server",   "fuzz_pbjson",
                                          "fuzz_intake_validate", "fuzz_docs_validate"};
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds CORPUS_FOLDER EXAMPLES_FOLDER\n"
                        "  e.g. make_seeds tests/fuzz/corpus deploy/examples/events\n");
        return 2;
    }
    root = argv[1];
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        clear(targets[i]);

    size_t n;
    const tr_event_type_t *all = tr_catalogue_all(&n);
    Google__Protobuf__Timestamp occurred = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    occurred.seconds = OCCURRED_AT;
    for (size_t i = 0; i < n && i < 256; i++) {
        const tr_event_type_t *et = &all[i];
        char name[300], subject[200];
        subject_of(et, subject, sizeof subject);
        for (unsigned variant = 0; variant < 2; variant++) {
            ProtobufCMessage *msg = fill(et->descriptor, 1, variant);
            snprintf(name, sizeof name, "%02zu-%s-%u", i, et->subject, variant);
            put_message("fuzz_events", name, (int)i, msg);
            snprintf(name, sizeof name, "%02zu-%s-%u.json", i, et->subject, variant);
            put_json("fuzz_ctl_json", name, (int)i, msg);
            for (size_t k = 0; k < NVALIDATED; k++) {
                if (validated[k].type == et->descriptor) {
                    snprintf(name, sizeof name, "%s-%u", et->subject, variant);
                    put_message(validated[k].target, name, validated[k].selector, msg);
                }
            }

            Trivsel__Envelope ev = TRIVSEL__ENVELOPE__INIT;
            ev.event_id = "3b0f6c2e-8d41-4c59-9a7e-2f1d5b8e6a10";
            ev.subject = subject;
            ev.type = (char *)et->type_name;
            ev.municipality = "575";
            ev.occurred_at = &occurred;
            ev.correlation_id = variant ? "sag-2026-118734" : "";
            ev.payload.len = protobuf_c_message_get_packed_size(msg);
            ev.payload.data = xcalloc(ev.payload.len, 1);
            protobuf_c_message_pack(msg, ev.payload.data);
            snprintf(name, sizeof name, "%s-%u.envelope.json", et->subject, variant);
            put_json("fuzz_ctl_json", name, (int)i, &ev.base);
            snprintf(name, sizeof name, "%s-%u", et->subject, variant);
            put_message("fuzz_envelope", name, -1, &ev.base);

            Trivsel__Broker__Publish publish = TRIVSEL__BROKER__PUBLISH__INIT;
            publish.event = &ev;
            Trivsel__Broker__ClientMessage cm = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
            cm.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PUBLISH;
            cm.publish = &publish;
            snprintf(name, sizeof name, "publish-%s-%u", et->subject, variant);
            put_message("fuzz_broker_client", name, -1, &cm.base);

            ev.publisher = "intake";
            ev.published_at = &occurred;
            ev.position = 118734;
            Trivsel__Broker__Delivery delivery = TRIVSEL__BROKER__DELIVERY__INIT;
            delivery.subscription = "intake-underretninger";
            delivery.event = &ev;
            delivery.attempt = 1 + variant;
            Trivsel__Broker__ServerMessage sm = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
            sm.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_DELIVERY;
            sm.delivery = &delivery;
            snprintf(name, sizeof name, "delivery-%s-%u", et->subject, variant);
            put_message("fuzz_broker_server", name, -1, &sm.base);

            free(ev.payload.data);
            protobuf_c_message_free_unpacked(msg, NULL);
        }
    }

    /* Every other command and reply, filled in the same way. */
    for (unsigned variant = 1; variant <= 8; variant++) {
        char name[64];
        ProtobufCMessage *cm = fill(&trivsel__broker__client_message__descriptor, 0, variant);
        const Trivsel__Broker__ClientMessage *c = (const void *)cm;
        snprintf(name, sizeof name, "command-%u", (unsigned)c->command_case);
        put_message("fuzz_broker_client", name, -1, cm);
        snprintf(name, sizeof name, "command-%u.json", (unsigned)c->command_case);
        put_json("fuzz_pbjson", name, -1, cm);
        protobuf_c_message_free_unpacked(cm, NULL);
        ProtobufCMessage *sm = fill(&trivsel__broker__server_message__descriptor, 0, variant);
        const Trivsel__Broker__ServerMessage *s = (const void *)sm;
        snprintf(name, sizeof name, "reply-%u", (unsigned)s->reply_case);
        put_message("fuzz_broker_server", name, -1, sm);
        protobuf_c_message_free_unpacked(sm, NULL);
    }
    put_examples(argv[2]);
    printf("make_seeds: wrote the seeds of %zu event types into %s\n", n, root);
    return 0;
}
