#include "dates.h"

/* Whole seconds, rounding down also before 1970. */
static int64_t seconds_of(int64_t us)
{
    int64_t s = us / INTAKE_US_PER_SECOND;
    if (us % INTAKE_US_PER_SECOND < 0)
        s--;
    return s;
}

int64_t intake_triage_due_at(int64_t received_us)
{
    return received_us + (int64_t)INTAKE_TRIAGE_HOURS * 3600 * INTAKE_US_PER_SECOND;
}

int64_t intake_triage_warning_at(int64_t received_us, int64_t warning_ms)
{
    return intake_triage_due_at(received_us) - warning_ms * 1000;
}

tr_date_t intake_local_date(int64_t us)
{
    return tr_calendar_local_date(seconds_of(us));
}

tr_date_t intake_receipt_due_date(int64_t received_us)
{
    return tr_calendar_add_hverdage(intake_local_date(received_us), INTAKE_RECEIPT_HVERDAGE);
}

int64_t intake_receipt_overdue_at(tr_date_t due)
{
    return tr_calendar_end_of_day_utc(due) * INTAKE_US_PER_SECOND;
}

tr_date_t intake_orientation_due_date(int64_t known_us, int hverdage)
{
    return tr_calendar_add_hverdage(intake_local_date(known_us), hverdage);
}

int64_t intake_twelve_months_before(int64_t received_us)
{
    int64_t s = seconds_of(received_us);
    int64_t local = s + tr_calendar_utc_offset(s);
    int64_t second_of_day = local % 86400;
    if (second_of_day < 0)
        second_of_day += 86400;
    tr_date_t earlier = tr_calendar_add_months(tr_calendar_local_date(s), -12);
    int64_t start = tr_calendar_local_to_utc(earlier, (int)(second_of_day / 3600),
                                             (int)(second_of_day / 60 % 60),
                                             (int)(second_of_day % 60));
    return start * INTAKE_US_PER_SECOND + (received_us - s * INTAKE_US_PER_SECOND);
}
