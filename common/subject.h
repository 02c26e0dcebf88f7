/* subject.h — event subjects and subscription patterns (EVENTS.md).
 *
 * A subject is dotted tokens of [a-z0-9_], e.g. "intake.underretning.received" or
 * "ordering.order.placed.45424421". A pattern is tokens where "*" stands for exactly one token
 * and a final ">" for one or more (as in NATS): "intake.>", "ordering.order.*.45424421".
 */
#ifndef TR_SUBJECT_H
#define TR_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define TR_SUBJECT_MAX 128

/* 0 when text is a valid subject; TR_EINVAL with a message naming it otherwise. */
int tr_subject_check(const char *subject, tr_error_t *err);
/* 0 when text is a valid pattern; TR_EINVAL with a message naming it otherwise. */
int tr_subject_check_pattern(const char *pattern, tr_error_t *err);
/* Whether subject matches pattern (both assumed valid). */
bool tr_subject_matches(const char *pattern, const char *subject);
/* Whether every subject that matches `narrow` also matches `wide`: a principal granted `wide`
 * may subscribe to `narrow`. */
bool tr_subject_covers(const char *wide, const char *narrow);
/* The last token of a subject or pattern (borrowed pointer into it). */
const char *tr_subject_last_token(const char *subject);

#endif
