/* dates.h — the assessment deadlines as pure functions of the events' own timestamps (DOMAIN.md
 * §2 and Calendar): never of the time the daemon handles an event, so an event handled late
 * still has its deadlines counted from when things happened.
 *
 * Instants are UTC seconds since 1970 (google.protobuf.Timestamp.seconds); dates are Danish
 * calendar dates. A deadline given as a date runs to the end of that day, Danish time. Pure: no
 * allocation, no clock, safe from any thread. Instants must satisfy asm_instant_ok() (callers
 * check outside input with it first): the calendar asserts outside its range.
 */
#ifndef ASM_DATES_H
#define ASM_DATES_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "trivsel/common.pb-c.h"

/* Barnets Lov §20 stk. 3: the investigation within 4 months of awareness. */
#define ASM_INVESTIGATION_MONTHS 4
/* Appeal within 4 weeks of notification. */
#define ASM_APPEAL_WEEKS 4
/* Barnets Lov §§91-92: barnets plan within 3 months of the decision. */
#define ASM_PLAN_MONTHS 3
/* Barnets Lov §95: the first follow-up 3 months after the measure started. */
#define ASM_FOLLOWUP_MONTHS 3

/* True when the instant lies where every rule here can work on it: from 1900-01-01 to before
 * 9000-01-01 (UTC). Outside input beyond that is refused, not asserted on. */
bool asm_instant_ok(int64_t utc_seconds);

/* The Danish date of the instant. */
tr_date_t asm_local_date(int64_t utc_seconds);

/* The investigation's due date: the Danish date on which the municipality became aware (the
 * underretning's received-at) plus 4 months, the same date or the month's last day where it
 * does not exist (2023-10-31 -> 2024-02-29, 2024-10-31 -> 2025-02-28). */
tr_date_t asm_investigation_due_date(int64_t aware_at);

/* The instant a deadline on date `due` has passed: the end of that day, Danish time. */
int64_t asm_overdue_at(tr_date_t due);

/* A warning `warning_ms` before the deadline on `due` passes (rounded down to the second). */
int64_t asm_warning_at(tr_date_t due, int64_t warning_ms);

/* The appeal deadline: the Danish date of notification plus 4 weeks; a day that is not a
 * hverdag (weekend, public holiday, 5 June, 24 or 31 December) moves to the next hverdag. */
tr_date_t asm_appeal_deadline(int64_t notified_at);

/* Barnets plan is required by a granted measure under §32 stk. 1 (nr. 1-8) or a placement
 * (§46, §47); not for §§104-105 contact or Serviceloven §85. */
bool asm_plan_required_for(Trivsel__LegalBasis basis);

/* Barnets plan's due date: the Danish date of the decision plus 3 months. */
tr_date_t asm_plan_due_date(int64_t decided_at);

/* The first follow-up (§95): 3 months after the earliest measure start, or — when an
 * investigation runs alongside — its end if that is earlier. parallel_end is that
 * investigation's due date (or the day it ended), NULL when none runs alongside. */
tr_date_t asm_first_followup_date(tr_date_t earliest_start, const tr_date_t *parallel_end);

#endif
