/* trivselctl publish — one event from a JSON file, through the broker, until it is stored.
 *
 * The JSON is mapped onto the event's protobuf type through its descriptor (common/pbjson), so
 * every event type in the catalogue works without code of its own here. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "catalogue.h"
#include "config.h"
#include "ctl.h"
#include "messaging.h"
#include "pbjson.h"

#define DEFAULT_TIMEOUT "30s"
#define EVENT_ID_MAX CTL_EVENT_ID_MAX

static const tr_config_var_t publish_vars[] = {
    {"TRIVSEL_MUNICIPALITY", TR_CONFIG_STRING, "", NULL,
     "kommunekode for events whose file gives none, e.g. 575 (Vejen)"},
};

typedef struct publish_args {
    const char *subject;
    const char *file;
    /* Options; NULL when not given. */
    const char *municipality;
    const char *correlation_id;
    const char *event_id;
    const char *timeout;
} publish_args_t;

typedef struct publish {
    ctl_session_t session;
    const publish_args_t *args;
    char event_id[EVENT_ID_MAX + 1];
} publish_t;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: trivselctl publish SUBJECT FILE [--municipality KOMMUNEKODE]\n"
            "           [--correlation-id ID] [--event-id ID] [--timeout DURATION]\n"
            "\n"
            "Publishes one event on SUBJECT and waits until the broker has stored it.\n"
            "FILE (- for standard input) holds it in protobuf's canonical JSON (EVENTS.md)\n"
            "in one of two forms, told apart by a \"payload\" key:\n"
            "  - the event itself, e.g. an UnderretningReceived for\n"
            "    intake.underretning.received: {\"child\": {...}, \"reporter\": {...}, ...}\n"
            "  - a whole envelope: {\"eventId\": \"...\", \"municipality\": \"575\",\n"
            "    \"occurredAt\": \"...\", \"correlationId\": \"...\", \"payload\": {...}}\n"
            "The payload's type is the one the catalogue gives SUBJECT; an envelope's\n"
            "own \"subject\" and \"type\", if given, must agree. For a subject this trivselctl\n"
            "does not know, an envelope naming its \"type\" is sent and the broker decides.\n"
            "\n"
            "What the file does not give is filled in: eventId with a new random UUID\n"
            "(publish again with the same eventId and the broker stores the event once),\n"
            "municipality from --municipality or else TRIVSEL_MUNICIPALITY (required),\n"
            "occurredAt with the time now, correlationId from --correlation-id. An option\n"
            "that contradicts the file is an error.\n"
            "\n"
            "  --timeout DURATION  give up without an acknowledgement after this long\n"
            "                      (default %s)\n"
            "\n"
            "Prints \"published SUBJECT event EVENT_ID at position N\", or \"published\n"
            "SUBJECT event EVENT_ID already in the log at position N\" when the broker had\n"
            "stored it before. Exit status: 0 stored; 1 refused by the broker (its code\n"
            "and reason are printed) or timed out; 2 bad usage, or a file that is not a\n"
            "valid event (the message names the field).\n"
            "\n"
            "Environment:\n",
            DEFAULT_TIMEOUT);
    ctl_session_print_env(out);
    tr_config_print_help(publish_vars, sizeof publish_vars / sizeof publish_vars[0], out);
    return out == stdout ? 0 : 2;
}

/* The whole of FILE ("-": standard input) in *text (the caller frees it). Reads one byte past
 * the limit to tell a document that is too large. */
static int read_input(const char *file, const char *name, char **text, size_t *len)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "trivselctl: cannot read \"%s\": %s\n", file, strerror(errno));
        return -1;
    }
    size_t cap = TR_PBJSON_MAX_DOCUMENT + 1, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    while (n < cap) {
        size_t k = fread(buf + n, 1, cap - n, f);
        if (k == 0)
            break;
        n += k;
    }
    if (ferror(f)) {
        fprintf(stderr, "trivselctl: cannot read %s: %s\n", name, strerror(errno));
        goto out;
    }
    if (n > TR_PBJSON_MAX_DOCUMENT) {
        fprintf(stderr, "trivselctl: %s: JSON document too large: the limit is %d bytes (1 MiB)\n",
                name, TR_PBJSON_MAX_DOCUMENT);
        goto out;
    }
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* A random (version 4) UUID, lowercase: 36 characters and the NUL. */
static int new_uuid(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        fprintf(stderr, "trivselctl: cannot make an event id: no random bytes (%s)\n",
                strerror(errno));
        return -1;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 (RFC 9562) */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* A string member of the top-level object; NULL if absent or not a string (then pbjson names
 * the problem). */
static const char *member(json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The envelope's `value` for a field: the file's (from_file, empty when not given), or the
 * option's, or the fallback. An option that contradicts the file is an error. */
static int pick(const char *name, const char *field, const char *option_name, const char *from_file,
                const char *option, const char *fallback, const char **value)
{
    if (from_file && from_file[0]) {
        if (option && strcmp(option, from_file) != 0) {
            fprintf(stderr, "trivselctl: %s: %s \"%s\" contradicts \"%s\": \"%s\" in the file\n",
                    name, option_name, option, field, from_file);
            return -1;
        }
        *value = from_file;
    } else {
        *value = option ? option : fallback;
    }
    return 0;
}

static const ProtobufCMessageDescriptor *
payload_type_cb(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    const ProtobufCMessageDescriptor *const *payload = arg;
    if (parent->descriptor == &trivsel__envelope__descriptor && strcmp(field->name, "payload") == 0)
        return *payload;
    return NULL;
}

int ctl_envelope_from_json(const ctl_envelope_args_t *a, const char *name, json_t *root,
                           uint8_t **bytes, size_t *nbytes, char event_id[EVENT_ID_MAX + 1])
{
    tr_error_t err = {0};
    int rc = -1;
    Trivsel__Envelope *parsed = NULL;
    ProtobufCMessage *payload_msg = NULL;
    uint8_t *payload = NULL;
    const char *default_municipality = a->default_municipality ? a->default_municipality : "";
    /* An envelope has a payload, or at least an event id: tail prints an event with an empty
     * payload without "payload", and that line must publish again as the envelope it is. */
    bool is_envelope = json_object_get(root, "payload") || json_object_get(root, "eventId") ||
                       json_object_get(root, "event_id");
    const char *file_subject = is_envelope ? member(root, "subject") : NULL;
    const char *file_type = is_envelope ? member(root, "type") : NULL;
    if (file_subject && file_subject[0] && strcmp(file_subject, a->subject) != 0) {
        fprintf(stderr,
                "trivselctl: %s: the envelope's subject \"%s\" is not the subject given, \"%s\"\n",
                name, file_subject, a->subject);
        goto out;
    }
    const tr_event_type_t *et = tr_catalogue_by_subject(a->subject);
    const char *type_name;
    const ProtobufCMessageDescriptor *desc;
    if (et) {
        type_name = et->type_name;
        desc = et->descriptor;
        if (file_type && file_type[0] && strcmp(file_type, type_name) != 0) {
            fprintf(stderr,
                    "trivselctl: %s: the envelope's type \"%s\" is not the type of subject \"%s\": "
                    "expected \"%s\"\n",
                    name, file_type, a->subject, type_name);
            goto out;
        }
    } else if (file_type && file_type[0]) {
        /* Not in this trivselctl's catalogue: the broker has the last word on the subject. */
        type_name = file_type;
        desc = tr_catalogue_descriptor(file_type);
    } else {
        fprintf(stderr,
                "trivselctl: unknown subject \"%s\": no event type is published on it (see "
                "EVENTS.md)\n",
                a->subject);
        goto out;
    }

    Trivsel__Envelope ev = TRIVSEL__ENVELOPE__INIT;
    if (is_envelope) {
        tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT,
                                    .bytes_type = payload_type_cb,
                                    .arg = &desc};
        ProtobufCMessage *msg = NULL;
        if (tr_pbjson_from_value_opts(&trivsel__envelope__descriptor, root, &opts, &msg, &err) <
            0) {
            fprintf(stderr, "trivselctl: %s: %s\n", name, err.message);
            goto out;
        }
        parsed = (Trivsel__Envelope *)msg;
        ev = *parsed;
    } else {
        if (tr_pbjson_from_value(desc, root, &payload_msg, &err) < 0) {
            fprintf(stderr, "trivselctl: %s: %s\n", name, err.message);
            goto out;
        }
        size_t n = protobuf_c_message_get_packed_size(payload_msg);
        if (!(payload = malloc(n ? n : 1))) {
            fprintf(stderr, "trivselctl: out of memory\n");
            goto out;
        }
        protobuf_c_message_pack(payload_msg, payload);
        ev.payload.data = payload;
        ev.payload.len = n;
    }

    char uuid[37] = "";
    const char *id, *municipality, *correlation_id;
    if (!(parsed && parsed->event_id[0]) && !a->event_id && new_uuid(uuid) < 0)
        goto out;
    if (pick(name, "eventId", "--event-id", parsed ? parsed->event_id : NULL, a->event_id, uuid,
             &id) < 0 ||
        pick(name, "municipality", "--municipality", parsed ? parsed->municipality : NULL,
             a->municipality, default_municipality, &municipality) < 0 ||
        pick(name, "correlationId", "--correlation-id", parsed ? parsed->correlation_id : NULL,
             a->correlation_id, "", &correlation_id) < 0)
        goto out;
    if (!municipality[0]) {
        fprintf(stderr,
                "trivselctl: %s: no municipality: give the kommunekode with --municipality, "
                "TRIVSEL_MUNICIPALITY or \"municipality\" in an envelope\n",
                name);
        goto out;
    }
    if (strlen(id) > EVENT_ID_MAX) {
        fprintf(stderr, "trivselctl: %s: eventId \"%.40s...\" is too long: at most %d characters\n",
                name, id, EVENT_ID_MAX);
        goto out;
    }
    snprintf(event_id, EVENT_ID_MAX + 1, "%s", id);
    Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    if (!ev.occurred_at) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now.seconds = ts.tv_sec;
        now.nanos = (int32_t)(ts.tv_nsec / 1000000 * 1000000); /* milliseconds are enough */
        ev.occurred_at = &now;
    }
    ev.event_id = (char *)id;
    ev.subject = (char *)a->subject;
    ev.type = (char *)type_name;
    ev.municipality = (char *)municipality;
    ev.correlation_id = (char *)correlation_id;

    *nbytes = trivsel__envelope__get_packed_size(&ev);
    if (!(*bytes = malloc(*nbytes ? *nbytes : 1))) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    trivsel__envelope__pack(&ev, *bytes);
    rc = 0;
out:
    if (parsed)
        protobuf_c_message_free_unpacked(&parsed->base, NULL);
    if (payload_msg)
        protobuf_c_message_free_unpacked(payload_msg, NULL);
    free(payload);
    return rc;
}

/* Builds the serialized envelope from the JSON text of the file called name. Prints the
 * problem and returns -1 when the file is not a valid event; *bytes is the caller's to free. */
static int build_envelope(const publish_args_t *a, const char *name, const char *text, size_t len,
                          const char *default_municipality, uint8_t **bytes, size_t *nbytes,
                          char event_id[EVENT_ID_MAX + 1])
{
    json_error_t jerr;
    /* Duplicate keys are an error, as in pbjson: which of two values was meant is unknown. */
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "trivselctl: %s: invalid JSON at line %d, column %d: %s\n", name, jerr.line,
                jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        fprintf(stderr, "trivselctl: %s: expected a JSON object (an event or an envelope)\n", name);
    } else {
        ctl_envelope_args_t e = {.subject = a->subject,
                                 .municipality = a->municipality,
                                 .default_municipality = default_municipality,
                                 .correlation_id = a->correlation_id,
                                 .event_id = a->event_id};
        rc = ctl_envelope_from_json(&e, name, root, bytes, nbytes, event_id);
    }
    json_decref(root);
    return rc;
}

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    publish_t *p = arg;
    (void)c;
    if (error) {
        fprintf(stderr, "trivselctl: event %s refused by the broker (%s): %s\n", event_id,
                ctl_error_code_name(error->code), error->reason);
        ctl_session_finish(&p->session, 1);
        return;
    }
    printf("published %s event %s %sat position %" PRIu64 "\n", p->args->subject, event_id,
           duplicate ? "already in the log " : "", position);
    ctl_session_finish(&p->session, 0);
}

static void timeout_cb(ctl_session_t *s)
{
    publish_t *p = s->arg;
    if (s->welcomed)
        fprintf(
            stderr,
            "trivselctl: no acknowledgement from the broker at %s within %s: event %s may or may "
            "not be stored; publishing it again with the same eventId stores it once\n",
            s->address, p->args->timeout, p->event_id);
    else
        fprintf(stderr,
                "trivselctl: cannot reach the broker at %s: no session within %s; event %s was not "
                "published\n",
                s->address, p->args->timeout, p->event_id);
    ctl_session_finish(s, 1);
}

int ctl_publish(int argc, char **argv)
{
    publish_args_t a = {.timeout = DEFAULT_TIMEOUT};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return usage(stdout);
        if (strcmp(arg, "--municipality") == 0 && v)
            a.municipality = v, i++;
        else if (strcmp(arg, "--correlation-id") == 0 && v)
            a.correlation_id = v, i++;
        else if (strcmp(arg, "--event-id") == 0 && v)
            a.event_id = v, i++;
        else if (strcmp(arg, "--timeout") == 0 && v)
            a.timeout = v, i++;
        else if ((arg[0] != '-' || strcmp(arg, "-") == 0) && !a.subject)
            a.subject = arg;
        else if ((arg[0] != '-' || strcmp(arg, "-") == 0) && !a.file)
            a.file = arg;
        else {
            fprintf(
                stderr,
                "trivselctl publish: unexpected argument \"%s\": see trivselctl publish --help\n",
                arg);
            return 2;
        }
    }
    if (!a.subject || !a.file) {
        fprintf(
            stderr,
            "trivselctl publish: SUBJECT and FILE are required: see trivselctl publish --help\n");
        return 2;
    }
    uint64_t timeout_ms;
    if (ctl_parse_timeout("publish", a.timeout, &timeout_ms) < 0)
        return 2;
    tr_error_t err = {0};
    tr_config_t *cfg = NULL;
    if (tr_config_load(publish_vars, sizeof publish_vars / sizeof publish_vars[0], tr_config_getenv,
                       NULL, &cfg, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        return 2;
    }

    const char *name = strcmp(a.file, "-") == 0 ? "standard input" : a.file;
    char *text = NULL;
    size_t len = 0;
    uint8_t *envelope = NULL;
    size_t nenvelope = 0;
    publish_t p = {.args = &a};
    p.session.arg = &p;
    int rc = 2;
    if (read_input(a.file, name, &text, &len) < 0 ||
        build_envelope(&a, name, text, len, tr_config_string(cfg, "TRIVSEL_MUNICIPALITY"),
                       &envelope, &nenvelope, p.event_id) < 0)
        goto out;
    rc = 1;
    if (ctl_session_open(&p.session, "publish", timeout_ms, timeout_cb) < 0)
        goto out;
    if (tr_bclient_publish_raw(p.session.client, p.event_id, envelope, nenvelope, published_cb,
                               &p) < 0) {
        fprintf(stderr, "trivselctl: out of memory\n");
        ctl_session_finish(&p.session, 1);
    }
    rc = ctl_session_run(&p.session);
out:
    free(envelope);
    free(text);
    tr_config_destroy(&cfg);
    return rc;
}
