/* fuzz_ctl_catalogue.c — libFuzzer target: the file of trivselctl catalogue load (and of the
 * demo), read by its own ctl_catalogue_read() (services/ctl/catalogue.c is included here to
 * check what it prints; the rest of services/ctl is linked, main() renamed).
 *
 * The input is the file. It is written to a memfd and read by its name, /proc/self/fd/N, so
 * json_load_file() reads it as it reads a file on disk, and read three times: without
 * --municipality and with TRIVSEL_MUNICIPALITY=630; with --municipality 575 and no
 * TRIVSEL_MUNICIPALITY; with neither.
 *   - a refusal returns -1, hands back nothing and prints a message starting "trivselctl: ";
 *   - an acceptance prints nothing and gives one envelope per element of "offers" (a non-empty
 *     array), each on ordering.offer.published of type trivsel.ordering.OfferPublished, with an
 *     occurred_at and the municipality the rule gives: the file's "municipality" (a string),
 *     else --municipality, else TRIVSEL_MUNICIPALITY, refused when none, when it is not 3
 *     digits, when the file's is not a string, or when the file and --municipality differ. Its
 *     payload is an OfferPublished (that survives the round trip) with a non-empty offer_id; the
 *     event id is "catalogue-MUNICIPALITY-OFFER_ID-vVERSION" of its payload, 1-100 printable
 *     bytes (as the broker takes them), the same in the envelope and in the list, and no two are the
 *     same; offer_id and version are the payload's;
 *   - the offers of an accepted file written back as a catalogue file (each payload as JSON)
 *     read to the same event ids and the same payloads.
 * Seeds: tests/fuzz/corpus/fuzz_ctl_catalogue/: deploy/catalogue.json, and small files naming
 * each refusal (no offers, an unknown key, a duplicate, municipalities that differ, ...).
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* catalogue.c's messages go to a buffer: they are checked, not printed. */
static FILE *ctl_messages;
#undef stderr
#define stderr ctl_messages
#include "../../services/ctl/catalogue.c"
#undef stderr
#define stderr stderr

#include "fuzz.h"

#define TARGET "fuzz_ctl_catalogue"

static const struct {
    const char *option, *env;
} runs[] = {{NULL, "630"}, {"575", NULL}, {NULL, NULL}};

/* The memfd the file is written to, and its name. */
static int file_fd = -1;
static char file_name[64];

static void put_file(const void *data, size_t size)
{
    if (file_fd < 0) {
        file_fd = memfd_create(TARGET, MFD_CLOEXEC);
        if (file_fd < 0)
            abort();
        snprintf(file_name, sizeof file_name, "/proc/self/fd/%d", file_fd);
    }
    if (ftruncate(file_fd, 0) != 0 || (size && pwrite(file_fd, data, size, 0) != (ssize_t)size))
        abort();
}

/* ctl_catalogue_read() of the file; *messages what it printed (the caller frees it). */
static int read_file(const char *option, const char *env, ctl_offer_event_t **offers, size_t *n,
                     char **messages)
{
    size_t mlen;
    ctl_messages = open_memstream(messages, &mlen);
    if (!ctl_messages)
        abort();
    int rc = ctl_catalogue_read(file_name, option, env, offers, n);
    fclose(ctl_messages);
    ctl_messages = NULL;
    return rc;
}

/* The municipality the rule gives for the file's own (NULL when it has none), or NULL for a
 * refusal: the file's, --municipality's or TRIVSEL_MUNICIPALITY's, which must be a kommunekode
 * (3 digits), as the broker requires. */
static const char *expected_municipality(bool not_a_string, const char *in_file, const char *option,
                                         const char *env)
{
    if (not_a_string || (in_file && option && strcmp(in_file, option) != 0))
        return NULL;
    const char *m = in_file ? in_file : option ? option : env;
    if (!m || strlen(m) != 3)
        return NULL;
    for (int i = 0; i < 3; i++) {
        if (m[i] < '0' || m[i] > '9')
            return NULL;
    }
    return m;
}

/* The payload of offer o (an envelope the reader made), unpacked; checks what o promises. */
static Trivsel__Ordering__OfferPublished *check_offer(const ctl_offer_event_t *o,
                                                      const char *municipality)
{
    Trivsel__Envelope *ev = trivsel__envelope__unpack(NULL, o->len, o->envelope);
    if (!ev)
        fuzz_broken(TARGET, "offer %s: %zu bytes that are not an Envelope", o->offer_id, o->len);
    if (strcmp(ev->subject, SUBJECT) || strcmp(ev->type, "trivsel.ordering.OfferPublished"))
        fuzz_broken(TARGET, "offer %s: an envelope of %s / %s", o->offer_id, ev->subject, ev->type);
    if (strcmp(ev->municipality, municipality) != 0)
        fuzz_broken(TARGET, "offer %s: municipality \"%s\", the rule gives \"%s\"", o->offer_id,
                    ev->municipality, municipality);
    if (!ev->occurred_at || ev->occurred_at->nanos < 0 || ev->occurred_at->nanos > 999999999)
        fuzz_broken(TARGET, "offer %s: no occurred_at", o->offer_id);
    if (strcmp(ev->event_id, o->event_id) != 0)
        fuzz_broken(TARGET, "offer %s: event id \"%s\" in the envelope, \"%s\" in the list",
                    o->offer_id, ev->event_id, o->event_id);
    Trivsel__Ordering__OfferPublished *x =
        trivsel__ordering__offer_published__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!x)
        fuzz_broken(TARGET, "offer %s: a payload that is not an OfferPublished", o->offer_id);
    fuzz_round_trip(TARGET, &x->base);
    char id[256];
    int n = snprintf(id, sizeof id, "catalogue-%s-%s-v%u", municipality, x->offer_id, x->version);
    bool printable = true;
    for (const char *c = o->event_id; *c; c++)
        printable = printable && (unsigned char)*c >= 0x20 && *c != 0x7f;
    if (!x->offer_id[0] || n < 1 || n > 100 || !printable || strcmp(id, o->event_id) != 0)
        fuzz_broken(TARGET, "offer \"%.120s\" version %u has event id \"%s\"", x->offer_id,
                    x->version, o->event_id);
    if (strcmp(o->offer_id, x->offer_id) != 0 || o->version != x->version)
        fuzz_broken(TARGET, "the list says offer %s version %u of offer %s version %u", o->offer_id,
                    o->version, x->offer_id, x->version);
    trivsel__envelope__free_unpacked(ev, NULL);
    return x;
}

/* The offers written back as a catalogue file of municipality, read again. */
static void check_written_back(Trivsel__Ordering__OfferPublished **payloads,
                               const ctl_offer_event_t *offers, size_t n, const char *municipality)
{
    json_t *root = json_object(), *list = json_array();
    if (!root || !list || json_object_set_new(root, "municipality", json_string(municipality)) ||
        json_object_set_new(root, "offers", list))
        abort();
    for (size_t i = 0; i < n; i++) {
        char *text = tr_pbjson_format(&payloads[i]->base, TR_PBJSON_COMPACT);
        json_error_t jerr;
        json_t *offer = text ? json_loads(text, 0, &jerr) : NULL;
        if (!offer)
            fuzz_broken(TARGET, "the JSON written for offer %s does not read: %s",
                        offers[i].offer_id, text ? jerr.text : "(none)");
        json_array_append_new(list, offer);
        free(text);
    }
    char *file = json_dumps(root, JSON_INDENT(2));
    if (!file)
        abort();
    put_file(file, strlen(file));
    ctl_offer_event_t *again = NULL;
    size_t nagain = 0;
    char *messages = NULL;
    if (read_file(NULL, NULL, &again, &nagain, &messages) != 0)
        fuzz_broken(TARGET, "the offers written back are refused: %s\n%s", messages, file);
    if (nagain != n)
        fuzz_broken(TARGET, "the offers written back give %zu offers, not %zu", nagain, n);
    for (size_t i = 0; i < n; i++) {
        Trivsel__Ordering__OfferPublished *x = check_offer(&again[i], municipality);
        if (strcmp(again[i].event_id, offers[i].event_id) != 0 ||
            !fuzz_same_bytes(&x->base, &payloads[i]->base))
            fuzz_broken(TARGET, "offer %zu written back reads as another offer (%s, %s)\n%s", i,
                        again[i].event_id, offers[i].event_id, file);
        trivsel__ordering__offer_published__free_unpacked(x, NULL);
    }
    ctl_catalogue_free(again, nagain);
    free(messages);
    free(file);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* What the rule needs to know of the file, read independently. */
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    json_t *m = json_object_get(root, "municipality");
    size_t noffers = json_array_size(json_object_get(root, "offers"));
    bool not_a_string = m && !json_is_string(m);
    char *in_file = json_is_string(m) ? strdup(json_string_value(m)) : NULL;
    if (json_is_string(m) && !in_file)
        abort();
    json_decref(root);

    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        put_file(data, size);
        static ctl_offer_event_t untouched;
        ctl_offer_event_t *offers = &untouched; /* must stay when refused */
        size_t n = 424242;
        char *messages = NULL;
        const char *want = expected_municipality(not_a_string, in_file, runs[r].option, runs[r].env);
        int rc = read_file(runs[r].option, runs[r].env, &offers, &n, &messages);
        if (rc != 0) {
            if (rc != -1 || offers != &untouched || n != 424242)
                fuzz_broken(TARGET, "a refusal returned %d, or something with it", rc);
            if (strncmp(messages, "trivselctl: ", 12) != 0 || !messages[12])
                fuzz_broken(TARGET, "a refusal without a message: \"%s\"", messages);
            free(messages);
            continue;
        }
        if (messages[0])
            fuzz_broken(TARGET, "an accepted file printed \"%s\"", messages);
        if (!want)
            fuzz_broken(TARGET,
                        "a file was accepted with --municipality %s, TRIVSEL_MUNICIPALITY"
                        " %s and \"%s\" in the file: the rule refuses it",
                        runs[r].option ? runs[r].option : "(none)",
                        runs[r].env ? runs[r].env : "(none)", in_file ? in_file : "(none)");
        if (n == 0 || n != noffers)
            fuzz_broken(TARGET, "%zu offers read from a file of %zu", n, noffers);
        Trivsel__Ordering__OfferPublished **payloads = fuzz_xmalloc(n * sizeof *payloads);
        for (size_t i = 0; i < n; i++) {
            payloads[i] = check_offer(&offers[i], want);
            for (size_t k = 0; k < i; k++) {
                if (strcmp(offers[k].event_id, offers[i].event_id) == 0)
                    fuzz_broken(TARGET, "offers %zu and %zu have the same event id %s", k, i,
                                offers[i].event_id);
            }
        }
        if (r == 0)
            check_written_back(payloads, offers, n, want);
        for (size_t i = 0; i < n; i++)
            trivsel__ordering__offer_published__free_unpacked(payloads[i], NULL);
        free(payloads);
        ctl_catalogue_free(offers, n);
        free(messages);
    }
    free(in_file);
    return 0;
}
