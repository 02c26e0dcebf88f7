/* dates.h — the intake deadlines as pure functions of the event's own timestamps (DOMAIN.md §1
 * and Calendar). Never of the time a daemon processes the event: an underretning published an
 * hour late still has its 24 hours counted from when the municipality received it.
 *
 * Instants are UTC microseconds since 1970 (what PostgreSQL's timestamptz holds); dates are
 * Danish calendar dates. Pure: no allocation, no clock, safe from any thread. Instants must lie
 * in the range of common/calendar.h (years 0001-9999); callers check outside input first
 * (intake_timestamp_valid in validate.h).
 */
#ifndef INTAKE_DATES_H
#define INTAKE_DATES_H

#include <stdint.h>

#include "calendar.h"

#define INTAKE_US_PER_SECOND INT64_C(1000000)
/* Barnets Lov §136: the triage within 24 hours of receipt. */
#define INTAKE_TRIAGE_HOURS 24
/* The kvittering within 6 hverdage of receipt (the municipalities' practice, former SEL §155 b). */
#define INTAKE_RECEIPT_HVERDAGE 6

/* received + 24 hours: real hours, so a night with a summer-time change still has 24 of them. */
int64_t intake_triage_due_at(int64_t received_us);

/* When the warning before the triage deadline falls: triage_due_at - warning_ms. */
int64_t intake_triage_warning_at(int64_t received_us, int64_t warning_ms);

/* The 6th hverdag after the Danish date of receipt (the day of receipt is not counted). */
tr_date_t intake_receipt_due_date(int64_t received_us);

/* The instant a receipt due on `due` is overdue: the end of that day, Danish time. */
int64_t intake_receipt_overdue_at(tr_date_t due);

/* The orientation of a public-employee reporter: `hverdage` hverdage after the Danish date on
 * which the outcome became known. */
tr_date_t intake_orientation_due_date(int64_t known_us, int hverdage);

/* The start of the 12 months that end at received_us: the same Danish wall time 12 months
 * earlier (the month's last day where the date does not exist: 2024-02-29 -> 2023-02-28).
 * An underretning counts towards the 12 months when it was received after this instant and not
 * after received_us. */
int64_t intake_twelve_months_before(int64_t received_us);

/* The Danish date at the instant. */
tr_date_t intake_local_date(int64_t us);

#endif
