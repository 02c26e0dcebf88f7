/* trivselctl catalogue load FILE — publishes each offer of a catalogue file as
 * ordering.offer.published and waits until the broker has stored them all.
 *
 * The file is a JSON object: {"municipality": "575", "description": "...", "offers": [...]}
 * with each offer an OfferPublished in protobuf's canonical JSON (proto/trivsel/ordering.proto);
 * deploy/catalogue.json is an example. Every offer is checked before anything is sent.
 *
 * Each offer's event id is "catalogue-<kommunekode>-<offer id>-v<version>", so loading the same
 * file again stores nothing twice. It also means a changed offer with the same version is NOT
 * published again: a change of an offer is a new version (ordering keeps versions immutable),
 * and this command says so for every offer that was in the log already. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "catalogue.h"
#include "ctl.h"
#include "messaging.h"
#include "pbjson.h"
#include "trivsel/ordering.pb-c.h"

#define SUBJECT "ordering.offer.published"
#define EVENT_ID_MAX CTL_EVENT_ID_MAX

typedef struct load {
    ctl_session_t session;
    ctl_offer_event_t *offers;
    size_t n, acked, duplicates;
    const char *timeout;
} load_t;

static int usage(FILE *out)
{
    fprintf(
        out,
        "usage: trivselctl catalogue load FILE [--municipality KOMMUNEKODE] [--timeout DURATION]\n"
        "\n"
        "Publishes every offer of FILE on " SUBJECT " and waits until the broker has\n"
        "stored each. FILE is a JSON object with \"offers\": an array of OfferPublished in\n"
        "protobuf's canonical JSON (proto/trivsel/ordering.proto), and optionally\n"
        "\"municipality\" (the kommunekode whose catalogue it is) and \"description\".\n"
        "Every offer is checked first; a file with an invalid offer sends nothing.\n"
        "\n"
        "An offer's event id is catalogue-KOMMUNEKODE-OFFER_ID-vVERSION: loading a file again\n"
        "stores nothing twice. A changed offer must have a new version (from a date);\n"
        "with the same version it is not published again.\n"
        "\n"
        "The municipality comes from the file, else --municipality, else\n"
        "TRIVSEL_MUNICIPALITY. The key (TRIVSEL_CLIENT_KEY_FILE) must be a principal that\n"
        "may publish " SUBJECT ".\n"
        "\nExit status: 0 every offer stored; 1 refused or timed out; 2 bad usage or"
        " file.\n\nEnvironment:\n");
    ctl_session_print_env(out);
    return out == stdout ? 0 : 2;
}

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    load_t *l = arg;
    (void)c;
    const ctl_offer_event_t *o = NULL;
    for (size_t i = 0; i < l->n && !o; i++) {
        if (strcmp(l->offers[i].event_id, event_id) == 0)
            o = &l->offers[i];
    }
    if (!o)
        return;
    if (error) {
        fprintf(stderr, "trivselctl: offer %s version %u refused by the broker (%s): %s\n",
                o->offer_id, o->version, ctl_error_code_name(error->code), error->reason);
        ctl_session_finish(&l->session, 1);
        return;
    }
    if (duplicate) {
        l->duplicates++;
        printf("offer %s version %u: already in the log at position %" PRIu64
               " (a changed offer needs a new version)\n",
               o->offer_id, o->version, position);
    } else {
        printf("offer %s version %u: published at position %" PRIu64 "\n", o->offer_id, o->version,
               position);
    }
    if (++l->acked == l->n) {
        printf("%zu offers: %zu published, %zu already in the log\n", l->n, l->n - l->duplicates,
               l->duplicates);
        ctl_session_finish(&l->session, 0);
    }
}

static void timeout_cb(ctl_session_t *s)
{
    load_t *l = s->arg;
    fprintf(stderr,
            "trivselctl: %s: %zu of %zu offers acknowledged within %s; loading the file again"
            " stores each once\n",
            s->welcomed ? "no acknowledgement from the broker" : "cannot reach the broker",
            l->acked, l->n, l->timeout);
    ctl_session_finish(s, 1);
}

void ctl_catalogue_free(ctl_offer_event_t *offers, size_t n)
{
    for (size_t i = 0; offers && i < n; i++)
        free(offers[i].envelope);
    free(offers);
}

/* The file's offers as envelopes ready to publish. */
int ctl_catalogue_read(const char *file, const char *option_municipality,
                       const char *env_municipality, ctl_offer_event_t **out, size_t *nout)
{
    json_error_t jerr;
    int rc = -1;
    ctl_offer_event_t *offers_out = NULL;
    size_t noffers = 0;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "trivselctl: %s: invalid JSON at line %d, column %d: %s\n", file, jerr.line,
                jerr.column, jerr.text);
        return -1;
    }
    json_t *offers = json_object_get(root, "offers");
    json_t *m = json_object_get(root, "municipality");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (strcmp(key, "offers") && strcmp(key, "municipality") && strcmp(key, "description")) {
            fprintf(stderr,
                    "trivselctl: %s: unknown key \"%s\": a catalogue file has \"municipality\","
                    " \"description\" and \"offers\"\n",
                    file, key);
            goto out;
        }
    }
    if (!json_is_array(offers) || json_array_size(offers) == 0) {
        fprintf(stderr, "trivselctl: %s: \"offers\" must be a non-empty array of offers\n", file);
        goto out;
    }
    if (m && !json_is_string(m)) {
        fprintf(stderr, "trivselctl: %s: \"municipality\" must be a string, the kommunekode, e.g. \"575\"\n", file);
        goto out;
    }
    const char *municipality = m ? json_string_value(m) : NULL;
    if (municipality && option_municipality && strcmp(municipality, option_municipality) != 0) {
        fprintf(stderr,
                "trivselctl: %s: --municipality \"%s\" contradicts \"municipality\": \"%s\" in the"
                " file\n",
                file, option_municipality, municipality);
        goto out;
    }
    if (!municipality)
        municipality = option_municipality ? option_municipality : env_municipality;
    if (!municipality || !municipality[0]) {
        fprintf(stderr,
                "trivselctl: %s: no municipality: give the kommunekode in the file, with"
                " --municipality or TRIVSEL_MUNICIPALITY\n",
                file);
        goto out;
    }
    /* What the broker would refuse is refused here, before anything is sent: a file is
     * published whole or not at all. */
    if (strlen(municipality) != 3 || strspn(municipality, "0123456789") != 3) {
        fprintf(stderr, "trivselctl: %s: municipality \"%s\" is not a kommunekode: must be 3 digits, e.g. 575\n",
                file, municipality);
        goto out;
    }
    noffers = json_array_size(offers);
    offers_out = calloc(noffers, sizeof *offers_out);
    if (!offers_out) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    now.seconds = ts.tv_sec;
    now.nanos = (int32_t)(ts.tv_nsec / 1000000 * 1000000);
    for (size_t i = 0; i < noffers; i++) {
        ProtobufCMessage *msg = NULL;
        tr_error_t err = {0};
        if (tr_pbjson_from_value(&trivsel__ordering__offer_published__descriptor,
                                 json_array_get(offers, i), &msg, &err) < 0) {
            fprintf(stderr, "trivselctl: %s: offers[%zu]: %s\n", file, i, err.message);
            goto out;
        }
        Trivsel__Ordering__OfferPublished *x = (Trivsel__Ordering__OfferPublished *)msg;
        ctl_offer_event_t *o = &offers_out[i];
        int n = snprintf(o->event_id, sizeof o->event_id, "catalogue-%s-%s-v%u", municipality,
                         x->offer_id, x->version);
        snprintf(o->offer_id, sizeof o->offer_id, "%s", x->offer_id);
        o->version = x->version;
        bool bad_id = !x->offer_id[0] || n < 0 || n > EVENT_ID_MAX;
        for (const char *c = x->offer_id; *c && !bad_id; c++)
            bad_id = (unsigned char)*c < 0x20 || *c == 0x7f; /* the broker takes printable event ids only */
        for (size_t k = 0; k < i && !bad_id; k++) {
            if (strcmp(offers_out[k].event_id, o->event_id) == 0) {
                fprintf(stderr,
                        "trivselctl: %s: offers[%zu]: offer %s version %u is in the file twice\n",
                        file, i, x->offer_id, x->version);
                protobuf_c_message_free_unpacked(msg, NULL);
                goto out;
            }
        }
        if (bad_id) {
            fprintf(stderr,
                    "trivselctl: %s: offers[%zu]: offerId must be given, printable and short enough for the"
                    " event id \"catalogue-%s-OFFER_ID-vVERSION\" (at most %d characters)\n",
                    file, i, municipality, EVENT_ID_MAX);
            protobuf_c_message_free_unpacked(msg, NULL);
            goto out;
        }
        size_t plen = protobuf_c_message_get_packed_size(msg);
        uint8_t *payload = malloc(plen ? plen : 1);
        if (!payload) {
            protobuf_c_message_free_unpacked(msg, NULL);
            fprintf(stderr, "trivselctl: out of memory\n");
            goto out;
        }
        protobuf_c_message_pack(msg, payload);
        protobuf_c_message_free_unpacked(msg, NULL);
        Trivsel__Envelope ev = TRIVSEL__ENVELOPE__INIT;
        ev.event_id = o->event_id;
        ev.subject = SUBJECT;
        ev.type = (char *)tr_catalogue_by_subject(SUBJECT)->type_name;
        ev.municipality = (char *)municipality;
        ev.occurred_at = &now;
        ev.payload.data = payload;
        ev.payload.len = plen;
        o->len = trivsel__envelope__get_packed_size(&ev);
        o->envelope = malloc(o->len ? o->len : 1);
        if (o->envelope)
            trivsel__envelope__pack(&ev, o->envelope);
        free(payload);
        if (!o->envelope) {
            fprintf(stderr, "trivselctl: out of memory\n");
            goto out;
        }
    }
    *out = offers_out;
    *nout = noffers;
    offers_out = NULL;
    rc = 0;
out:
    ctl_catalogue_free(offers_out, noffers);
    json_decref(root);
    return rc;
}

static int load(int argc, char **argv)
{
    const char *file = NULL, *municipality = NULL;
    load_t l = {.timeout = "30s"};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0)
            return usage(stdout);
        if (strcmp(a, "--municipality") == 0 && v)
            municipality = v, i++;
        else if (strcmp(a, "--timeout") == 0 && v)
            l.timeout = v, i++;
        else if (a[0] != '-' && !file)
            file = a;
        else {
            fprintf(
                stderr,
                "trivselctl catalogue load: unexpected argument \"%s\": see trivselctl catalogue"
                " --help\n",
                a);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr,
                "trivselctl catalogue load: FILE is required: see trivselctl catalogue --help\n");
        return 2;
    }
    uint64_t timeout_ms;
    if (ctl_parse_timeout("catalogue", l.timeout, &timeout_ms) < 0)
        return 2;
    const char *env = getenv("TRIVSEL_MUNICIPALITY");
    int rc = 2;
    if (ctl_catalogue_read(file, municipality, env, &l.offers, &l.n) < 0)
        goto out;
    rc = 1;
    l.session.arg = &l;
    if (ctl_session_open(&l.session, "catalogue", timeout_ms, timeout_cb) < 0)
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        if (tr_bclient_publish_raw(l.session.client, l.offers[i].event_id, l.offers[i].envelope,
                                   l.offers[i].len, published_cb, &l) < 0) {
            fprintf(stderr, "trivselctl: out of memory\n");
            ctl_session_finish(&l.session, 1);
            break;
        }
    }
    rc = ctl_session_run(&l.session);
out:
    ctl_catalogue_free(l.offers, l.n);
    return rc;
}

int ctl_catalogue(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return load(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    return usage(stderr);
}
