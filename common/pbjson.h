/* pbjson.h — protobuf's canonical proto3 JSON mapping for any protobuf-c message.
 *
 * Driven only by the message's ProtobufCMessageDescriptor, so every event type gets the same
 * JSON as Go's protojson and Python's json_format (EVENTS.md), with no per-type code:
 *   - field names lowerCamelCase on output ("eventId"); on input the lowerCamelCase name or the
 *     .proto name ("event_id"); any other key is an error naming it and the message type;
 *   - fields with their default value (0, "", false, empty repeated, enum 0, absent message) are
 *     left out, except a oneof member, which is written whenever it is the one set;
 *   - 32-bit integers, float and double as numbers (non-finite as "NaN", "Infinity",
 *     "-Infinity"); 64-bit integers as strings ("123"); on input every integer may be a number
 *     or a string, but must be a whole number within the range of its type;
 *   - enums by name (an unknown number as a number); on input by name or number;
 *   - bytes as standard base64 with padding; on input standard or URL-safe, padding optional;
 *   - google.protobuf.Timestamp as RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits
 *     ("2026-11-23T08:15:00Z"); on input any offset ("+01:00") is converted to UTC; the range
 *     is 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z;
 *   - null for a field means its default; repeated fields are arrays; at most one member of a
 *     oneof may be given.
 * Not supported: map fields (input is an error; output writes the entries as an array), the
 * other well-known types (Duration, Struct, wrappers, Any are treated as ordinary messages),
 * and the json_name option (protobuf-c descriptors do not carry it).
 *
 * Outside input is bounded: a document of at most TR_PBJSON_MAX_DOCUMENT bytes, nested at most
 * TR_PBJSON_MAX_DEPTH objects and arrays deep.
 *
 * All functions are pure: no global state, safe from any thread. Memory of a message returned
 * here comes from malloc (protobuf-c's default allocator): free it with
 * protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef TR_PBJSON_H
#define TR_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"

#define TR_PBJSON_MAX_DEPTH 32
#define TR_PBJSON_MAX_DOCUMENT (1024 * 1024)

/* tr_pbjson_options_t.flags */
#define TR_PBJSON_PRETTY 0  /* indented by two spaces, one field per line */
#define TR_PBJSON_COMPACT 1 /* one line, no spaces */

/* For a `bytes` field that holds a serialized message (the Envelope's payload): given the
 * message that holds the field and the field, returns the descriptor of the bytes' content, or
 * NULL when it is not known (the field is then base64). Called for non-repeated bytes fields
 * only. On input it is called after every other field of parent is set, so it may read them
 * (the Envelope's `type`); parent is then still being built: read it, do not keep it. */
typedef const ProtobufCMessageDescriptor *(*tr_pbjson_bytes_type_fn)(
    const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg);

typedef struct tr_pbjson_options {
    int flags;                          /* TR_PBJSON_PRETTY or TR_PBJSON_COMPACT; format only */
    tr_pbjson_bytes_type_fn bytes_type; /* may be NULL: every bytes field is base64 */
    void *arg;                          /* passed to bytes_type */
} tr_pbjson_options_t;

/* Parses the JSON text json (len bytes, need not be NUL-terminated) into a new message of type
 * desc and stores it in *out. Returns 0; TR_ENOMEM; or TR_EINVAL with err (may be NULL) naming
 * the JSON path and the problem, e.g.
 *   at "$.child.cpr": expected a string, got a number
 *   at "$.reporter.kindd": unknown field "kindd" in trivsel.intake.Reporter
 *   at "$.channel": unknown value "FAX" of enum trivsel.intake.Channel
 *   at "$.receivedAt": invalid timestamp "2024-13-01T00:00:00Z": must be RFC 3339, e.g. ...
 *   at "$.ping": fields "hello" and "ping" are both set, but they are members of one oneof
 *   invalid JSON at line 3, column 5: ... (jansson's message)
 *   JSON nested deeper than 32 levels at line 1, column 33
 * Values quoted in a message are cut after 48 characters ("..."), with control characters and
 * invalid UTF-8 shown as \xHH. On error *out is NULL. desc and out must not be NULL. */
int tr_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                    ProtobufCMessage **out, tr_error_t *err);

/* The same from an already parsed jansson value (for callers that pick parts of a document);
 * value is borrowed. Document size is not checked here; depth is. */
int tr_pbjson_from_value(const ProtobufCMessageDescriptor *desc, const json_t *value,
                         ProtobufCMessage **out, tr_error_t *err);

/* msg as JSON text, flags TR_PBJSON_PRETTY or TR_PBJSON_COMPACT, without a final newline.
 * The caller frees it with free(). Returns NULL only when out of memory. Never fails on the
 * message's content: what JSON cannot hold (a timestamp out of range, invalid UTF-8 in a string,
 * unknown fields kept by protobuf-c) is written as closely as it can be — a timestamp out of
 * range as {"seconds": "...", "nanos": ...}, invalid UTF-8 as U+FFFD, unknown fields not at all
 * — and then tr_pbjson_parse() does not read back the same message. */
char *tr_pbjson_format(const ProtobufCMessage *msg, int flags);

/* msg as a new jansson value (the caller owns the reference); NULL only when out of memory. */
json_t *tr_pbjson_to_value(const ProtobufCMessage *msg);

/* The same four with options (opts may be NULL: no bytes_type, pretty).
 * With opts->bytes_type, a bytes field whose content type it names is written as that message's
 * JSON object ({"payload": {...}}) when the bytes decode as that type, encode back to exactly
 * the same bytes and hold nothing JSON cannot show; otherwise as base64. On input such a field
 * takes the object (serialized here, canonically) or a base64 string. */
int tr_pbjson_parse_opts(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         const tr_pbjson_options_t *opts, ProtobufCMessage **out,
                         tr_error_t *err);
int tr_pbjson_from_value_opts(const ProtobufCMessageDescriptor *desc, const json_t *value,
                              const tr_pbjson_options_t *opts, ProtobufCMessage **out,
                              tr_error_t *err);
char *tr_pbjson_format_opts(const ProtobufCMessage *msg, const tr_pbjson_options_t *opts);
json_t *tr_pbjson_to_value_opts(const ProtobufCMessage *msg, const tr_pbjson_options_t *opts);

#endif
