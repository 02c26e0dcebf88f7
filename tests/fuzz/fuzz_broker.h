/* fuzz_broker.h — for the targets that link the broker (fuzz_broker_client, fuzz_envelope):
 * a few principals like the ones trivselctl keys creates, and fuzz_check_publish(), which runs
 * the broker's own publish_check() on an envelope and checks what an acceptance promises.
 *
 * An event publish_check() accepts must really be what the broker stores: a valid subject of
 * the catalogue, the subject's type, an event_id of 1-100 bytes, a 3-digit kommunekode, an
 * occurred_at, a payload that unpacks as the type, at most max_event_bytes, a subject the
 * principal was granted (a supplier: only subjects ending in its own CVR). And the envelope as
 * the broker stores it (publisher and published_at set) must unpack again, with its payload,
 * also with the position appended as the broker does when it delivers; otherwise every
 * subscriber would be sent an event it cannot decode. A refusal must give a reason.
 *
 * Test code only: define FUZZ_TARGET (the name in messages) before including it.
 */
#ifndef TR_FUZZ_BROKER_H
#define TR_FUZZ_BROKER_H

#include <ctype.h>

#include "../../services/broker/broker.h"
#include "catalogue.h"
#include "subject.h"

#include "fuzz.h"

#define FUZZ_SUPPLIER_CVR "45424421"

/* Grants like the ones trivselctl keys gives (patterns as in broker.principal). */
static char *service_publish[] = {"intake.>"},
            *service_subscribe[] = {"intake.>", "assessment.*.*"};
static char *system_publish[] = {"intake.underretning.received", "assessment.*.*"};
static char *system_subscribe[] = {"intake.receipt.sent", "intake.*.refused"};
static char *supplier_publish[] = {"docs.*.submitted.*", "ordering.order.*.*", "docs.>"};
static char *supplier_subscribe[] = {"ordering.order.*.*", "docs.>", "ordering.>"};
static char *operator_publish[] = {">"}, *operator_subscribe[] = {">"};

#define FUZZ_GRANTS(pub, sub) pub, sub, sizeof pub / sizeof pub[0], sizeof sub / sizeof sub[0]
static const principal_t fuzz_principals[] = {
    {"intake", TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE, "", "", true,
     FUZZ_GRANTS(service_publish, service_subscribe)},
    {"fagsystem-vejle", TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SYSTEM, "", "", true,
     FUZZ_GRANTS(system_publish, system_subscribe)},
    /* A supplier granted more than its own subjects, e.g. by an operator's mistake: the broker
     * must still keep it to subjects ending in its CVR. */
    {"leverandoer-45424421", TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SUPPLIER,
     FUZZ_SUPPLIER_CVR, "", true, FUZZ_GRANTS(supplier_publish, supplier_subscribe)},
    {"operator", TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_OPERATOR, "", "", true,
     FUZZ_GRANTS(operator_publish, operator_subscribe)},
};

/* Whether one of the n grants matches subject. */
static inline bool fuzz_granted(char *const *grants, size_t n, const char *subject)
{
    for (size_t i = 0; i < n; i++) {
        if (tr_subject_matches(grants[i], subject))
            return true;
    }
    return false;
}

/* What the broker stores for ev, as publish_handle() and publish_enqueue() encode it, must
 * decode as what was checked, also as a subscriber receives it (position appended). */
static inline void fuzz_check_stored(const Trivsel__Envelope *checked, const char *publisher,
                                     const tr_event_type_t *et)
{
    Trivsel__Envelope ev = *checked;
    Google__Protobuf__Timestamp published = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    published.seconds = 1795421700; /* 2026-11-23T08:15:00Z */
    ev.published_at = &published;
    ev.publisher = (char *)publisher;
    ev.position = 0;
    size_t len;
    uint8_t *stored = fuzz_pack(&ev.base, &len);
    /* The delivery appends the position as field 10 (subscription.c, send_delivery). */
    uint8_t *delivered = fuzz_xmalloc(len + 11);
    memcpy(delivered, stored, len);
    size_t n = len;
    delivered[n++] = 10 << 3;
    for (uint64_t v = 4242424242u; v >= 0x80; v >>= 7)
        delivered[n++] = (uint8_t)(v | 0x80);
    delivered[n++] = (uint8_t)(4242424242u >> 28);

    Trivsel__Envelope *back = trivsel__envelope__unpack(NULL, len, stored);
    if (!back)
        fuzz_broken(FUZZ_TARGET,
                    "publish_check accepted event \"%.100s\" on %s, but the envelope the broker "
                    "stores for it (%zu bytes) does not unpack: every subscriber would get an "
                    "event it cannot decode",
                    checked->event_id, checked->subject, len);
    Trivsel__Envelope *got = trivsel__envelope__unpack(NULL, n, delivered);
    if (!got || got->position != 4242424242u)
        fuzz_broken(FUZZ_TARGET, "the delivered envelope of event \"%.100s\" does not unpack",
                    checked->event_id);
    if (strcmp(back->subject, checked->subject) != 0 || strcmp(back->type, et->type_name) != 0 ||
        strcmp(back->event_id, checked->event_id) != 0 || strcmp(back->publisher, publisher) != 0)
        fuzz_broken(FUZZ_TARGET, "the stored envelope of event \"%.100s\" reads back differently",
                    checked->event_id);
    ProtobufCMessage *payload = protobuf_c_message_unpack(et->descriptor, NULL, back->payload.len,
                                                          back->payload.data);
    if (!payload)
        fuzz_broken(FUZZ_TARGET, "the stored payload of event \"%.100s\" does not unpack as %s",
                    checked->event_id, et->type_name);
    protobuf_c_message_free_unpacked(payload, NULL);
    trivsel__envelope__free_unpacked(got, NULL);
    trivsel__envelope__free_unpacked(back, NULL);
    free(delivered);
    free(stored);
}

/* publish_check(ev) for p (NULL: the outbox's check without a principal) and its promises. */
static inline void fuzz_check_publish(broker_t *b, const principal_t *p, Trivsel__Envelope *ev)
{
    char reason[600] = "";
    const char *publisher = p ? p->name : "intake";
    Trivsel__Broker__ErrorCode code = publish_check(b, p, publisher, ev, reason, sizeof reason);
    if (code != TRIVSEL__BROKER__ERROR_CODE__ERROR_UNSPECIFIED) {
        if (reason[0] == '\0')
            fuzz_broken(FUZZ_TARGET, "publish_check refused with code %d and no reason", (int)code);
        return;
    }
    const tr_event_type_t *et = tr_catalogue_by_subject(ev->subject);
    if (tr_subject_check(ev->subject, NULL) != 0 || !et)
        fuzz_broken(FUZZ_TARGET, "publish_check accepted subject \"%s\", not in the catalogue",
                    ev->subject);
    if (strcmp(ev->type, et->type_name) != 0)
        fuzz_broken(FUZZ_TARGET, "publish_check accepted type \"%s\" on %s, whose type is %s",
                    ev->type, ev->subject, et->type_name);
    if (strlen(ev->event_id) < 1 || strlen(ev->event_id) > 100)
        fuzz_broken(FUZZ_TARGET, "publish_check accepted an event_id of %zu bytes",
                    strlen(ev->event_id));
    if (strlen(ev->municipality) != 3 || !isdigit((unsigned char)ev->municipality[0]) ||
        !isdigit((unsigned char)ev->municipality[1]) ||
        !isdigit((unsigned char)ev->municipality[2]))
        fuzz_broken(FUZZ_TARGET, "publish_check accepted municipality \"%s\"", ev->municipality);
    if (!ev->occurred_at || ev->occurred_at->nanos < 0 || ev->occurred_at->nanos > 999999999)
        fuzz_broken(FUZZ_TARGET, "publish_check accepted a missing or invalid occurred_at");
    if (p && !fuzz_granted(p->publish, p->npublish, ev->subject))
        fuzz_broken(FUZZ_TARGET, "publish_check let %s publish on %s, which it was not granted",
                    p->name, ev->subject);
    if (p && p->kind == TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SUPPLIER &&
        strcmp(tr_subject_last_token(ev->subject), p->cvr) != 0)
        fuzz_broken(FUZZ_TARGET, "publish_check let supplier %s (CVR %s) publish on %s", p->name,
                    p->cvr, ev->subject);
    char *client_publisher = ev->publisher;
    ev->publisher = (char *)publisher;
    size_t size = trivsel__envelope__get_packed_size(ev);
    ev->publisher = client_publisher;
    if (size > b->max_event_bytes)
        fuzz_broken(FUZZ_TARGET, "publish_check accepted %zu bytes over the limit of %u", size,
                    b->max_event_bytes);
    fuzz_check_stored(ev, publisher, et);
}

#endif
