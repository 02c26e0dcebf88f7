#include "dates.h"

/* 1900-01-01T00:00:00Z and 9000-01-01T00:00:00Z. */
#define INSTANT_MIN INT64_C(-2208988800)
#define INSTANT_MAX INT64_C(221845392000)

bool asm_instant_ok(int64_t utc_seconds)
{
    return utc_seconds >= INSTANT_MIN && utc_seconds < INSTANT_MAX;
}

tr_date_t asm_local_date(int64_t utc_seconds)
{
    return tr_calendar_local_date(utc_seconds);
}

tr_date_t asm_investigation_due_date(int64_t aware_at)
{
    /* Barnets Lov §20 stk. 3: finished no later than 4 months after awareness. */
    return tr_calendar_add_months(asm_local_date(aware_at), ASM_INVESTIGATION_MONTHS);
}

int64_t asm_overdue_at(tr_date_t due)
{
    return tr_calendar_end_of_day_utc(due);
}

int64_t asm_warning_at(tr_date_t due, int64_t warning_ms)
{
    int64_t s = warning_ms / 1000;
    return asm_overdue_at(due) - s;
}

tr_date_t asm_appeal_deadline(int64_t notified_at)
{
    /* Weeks run to the same weekday; a last day that is no hverdag moves forward. */
    return tr_calendar_next_hverdag(
        tr_calendar_add_weeks(asm_local_date(notified_at), ASM_APPEAL_WEEKS));
}

bool asm_plan_required_for(Trivsel__LegalBasis basis)
{
    switch (basis) {
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_1:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_2:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_3:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_4:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_6:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_7:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_8:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_46:
    case TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_47: return true;
    default: return false;
    }
}

tr_date_t asm_plan_due_date(int64_t decided_at)
{
    return tr_calendar_add_months(asm_local_date(decided_at), ASM_PLAN_MONTHS);
}

tr_date_t asm_first_followup_date(tr_date_t earliest_start, const tr_date_t *parallel_end)
{
    tr_date_t due = tr_calendar_add_months(earliest_start, ASM_FOLLOWUP_MONTHS);
    if (parallel_end && tr_calendar_compare(*parallel_end, due) < 0)
        due = *parallel_end;
    return due;
}
