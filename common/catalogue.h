/* catalogue.h — which protobuf message type belongs to which event subject (EVENTS.md).
 *
 * The broker checks a publish against it (a known subject, and the envelope's type is the
 * subject's type); trivselctl and the JSON codec find a type's descriptor by name through it.
 *
 * A subject is dotted, <service>.<thing>.<what happened>, and an event addressed to one supplier
 * has that supplier's CVR number (8 digits) as an extra last token, e.g.
 * "ordering.order.placed.45424421"; its entry is written with ".*" in that place. Two subjects
 * that differ only in that token are different events: "ordering.order.adjusted" is the
 * caseworker's adjustment (In), "ordering.order.adjusted.45424421" the one forwarded to the
 * supplier (Out), with different types.
 *
 * Everything returned is static and constant: borrowed, never freed, valid for the life of the
 * program. No allocation, no global state; safe from any thread.
 */
#ifndef TR_CATALOGUE_H
#define TR_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Digits in a CVR number, the last token of a per-supplier subject. */
#define TR_CVR_DIGITS 8

typedef struct tr_event_type {
    /* As in EVENTS.md; a trailing ".*" stands for the supplier CVR token, e.g.
     * "ordering.order.placed.*". */
    const char *subject;
    /* Full protobuf name, e.g. "trivsel.intake.UnderretningReceived"; the envelope's type. */
    const char *type_name;
    const ProtobufCMessageDescriptor *descriptor;
    /* Published by an outside system (In) rather than by trivsel (Out). */
    bool inbound;
    /* The last token is a supplier CVR (8 digits). */
    bool per_supplier;
} tr_event_type_t;

/* The entry whose subject matches, or NULL. A per-supplier entry matches its subject with any
 * 8 ASCII digits as the last token ("ordering.order.placed.45424421"), and nothing else: not
 * 7 or 9 digits, not letters, not "*". Matching is exact and case-sensitive. subject must not
 * be NULL. */
const tr_event_type_t *tr_catalogue_by_subject(const char *subject);

/* The entry whose type_name is type_name, or NULL. Each type belongs to exactly one subject.
 * type_name must not be NULL. */
const tr_event_type_t *tr_catalogue_by_type(const char *type_name);

/* The descriptor of any message type compiled into libtrivsel, by full name
 * ("trivsel.Envelope", "google.protobuf.Timestamp", "trivsel.Child",
 * "trivsel.ordering.SettlementLine", "trivsel.broker.ClientMessage"): the event types, the
 * envelope, the broker protocol and every type they use. NULL if unknown (a short name such as
 * "Envelope" is unknown). type_name must not be NULL. For the JSON codec and trivselctl; it
 * walks the types each call, so cache the answer rather than calling it per field. */
const ProtobufCMessageDescriptor *tr_catalogue_descriptor(const char *type_name);

/* The whole table, in EVENTS.md order; *n is set to the number of entries. n must not be NULL. */
const tr_event_type_t *tr_catalogue_all(size_t *n);

#endif
