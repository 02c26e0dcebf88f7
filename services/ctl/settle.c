/* trivselctl settle MONTH — asks trivsel-ordering to settle a month now, waits for the result
 * and prints it; with --csv DIR, writes one CSV per supplier.
 *
 * The design (see also services/ordering/settlement.c): the settlement is the ordering
 * service's data and its event, so the service computes it, exactly once, in the transaction
 * that emits ordering.settlement.calculated. trivselctl, as the database's admin (like keys and
 * migrate), only makes the month's row in ordering.settlement_due due now and notifies the
 * service (NOTIFY ordering_deadline); the service claims the row, settles, and stores the result
 * in ordering.settlement, which this command reads and prints. There is no event subject for
 * "please settle" (EVENTS.md), and none is needed: the request is data, like every deadline.
 * A month that was settled already is printed as stored: a second run changes nothing and
 * emits nothing. A month that has not ended (Danish time) is not settled. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "ctl.h"
#include "messaging.h"
#include "money.h"
#include "pg.h"
#include "trivsel/ordering.pb-c.h"

static int usage(FILE *out)
{
    fprintf(
        out,
        "usage: trivselctl settle YYYY-MM [--municipality KOMMUNEKODE] [--csv DIR] [--timeout"
        " DURATION]\n\nSettles the month in trivsel-ordering (every accepted order's cost in the"
        " month,\nprorated by day, in øre) and prints it: each order's line with its segments,"
        " and\nthe totals per supplier, team, legal basis and child. The service runs"
        " the\nsettlement and emits ordering.settlement.calculated once; settling a month"
        " again\nprints the stored result and emits nothing. The month must have ended"
        " (Danish\ntime). The service also settles every month by itself once it has"
        " ended\n(TRIVSEL_ORDERING_AUTO_SETTLE).\n\n  --municipality K  the kommunekode (default"
        " TRIVSEL_MUNICIPALITY)\n  --csv DIR         also write DIR/settlement-K-YYYY-MM-CVR.csv"
        " per supplier: one row\n                    per order segment; the amounts add up to the"
        " supplier's total\n  --timeout D       wait at most this long for trivsel-ordering"
        " (default 60s)\n\nDatabase access as for migrate (TRIVSEL_DATABASE_URL, _USER,"
        " _PASSWORD_FILE).\nExit status: 0 settled; 1 not settled (the reason is printed); 2 bad"
        " usage.\n");
    return out == stdout ? 0 : 2;
}

static const char *legal_basis_label(int b)
{
    static const char *const labels[] = {
        "no legal basis",
        "Barnets Lov §32 stk. 1 nr. 1",
        "Barnets Lov §32 stk. 1 nr. 2",
        "Barnets Lov §32 stk. 1 nr. 3",
        "Barnets Lov §32 stk. 1 nr. 4",
        "Barnets Lov §32 stk. 1 nr. 5",
        "Barnets Lov §32 stk. 1 nr. 6",
        "Barnets Lov §32 stk. 1 nr. 7",
        "Barnets Lov §32 stk. 1 nr. 8",
        "Barnets Lov §§104-105",
        "Serviceloven §85",
        "Barnets Lov §46",
        "Barnets Lov §47",
    };
    return b >= 0 && (size_t)b < sizeof labels / sizeof labels[0] ? labels[b]
                                                                  : "unknown legal basis";
}

static const char *model_name(int m)
{
    static const char *const names[] = {"", "hour", "day", "week", "month", "fixed"};
    return m >= 0 && m <= 5 ? names[m] : "";
}

/* Writes s and pads it with spaces to width characters (UTF-8: "Børneteamet" is 11 wide, 12 bytes
 * long), so columns line up on a terminal; at least one space. */
static void column(const char *s, int width)
{
    int chars = 0;
    for (const char *p = s; *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    printf("%s%*s", s, width > chars ? width - chars : 1, "");
}

static const char *kr(tr_oere_t amount, char buf[TR_MONEY_FORMAT_MAX])
{
    tr_money_format(amount, buf, TR_MONEY_FORMAT_MAX);
    return buf;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static int write_csv(const char *dir, const char *municipality,
                     const Trivsel__Ordering__SettlementCalculated *s)
{
    for (size_t k = 0; k < s->n_supplier_totals; k++) {
        const Trivsel__Ordering__SupplierTotal *sup = s->supplier_totals[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/settlement-%s-%s-%s.csv", dir, municipality, s->month,
                 sup->supplier_cvr);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "trivselctl: cannot write \"%s\": %s\n", path, strerror(errno));
            return -1;
        }
        fputs("month,municipality,supplier_cvr,supplier_name,order_id,case_id,child_cpr,team,legal_"
              "basis,offer_id,price_model,from_date,to_date,days,minutes_per_week,price,amount\r\n",
              f);
        size_t rows = 0;
        for (size_t i = 0; i < s->n_lines; i++) {
            const Trivsel__Ordering__SettlementLine *l = s->lines[i];
            if (strcmp(l->supplier_cvr, sup->supplier_cvr) != 0)
                continue;
            for (size_t j = 0; j < l->n_segments; j++) {
                const Trivsel__Ordering__SettlementSegment *g = l->segments[j];
                char days[16], minutes[16], price[TR_MONEY_FORMAT_MAX], amount[TR_MONEY_FORMAT_MAX];
                snprintf(days, sizeof days, "%u", g->days);
                snprintf(minutes, sizeof minutes, "%u", g->minutes_per_week);
                tr_money_format_plain(g->price_oere, price, sizeof price);
                tr_money_format_plain(g->amount_oere, amount, sizeof amount);
                const char *fields[] = {s->month,
                                        municipality,
                                        l->supplier_cvr,
                                        sup->supplier_name,
                                        l->order_id,
                                        l->case_id,
                                        l->child_cpr,
                                        l->team,
                                        legal_basis_label(l->legal_basis),
                                        l->offer_id,
                                        model_name(l->price_model),
                                        g->from_date,
                                        g->to_date,
                                        days,
                                        minutes,
                                        price,
                                        amount};
                size_t n = sizeof fields / sizeof fields[0];
                for (size_t x = 0; x < n; x++)
                    csv_field(f, fields[x], x + 1 == n);
                rows++;
            }
        }
        bool ok = fflush(f) == 0 && !ferror(f);
        ok = fclose(f) == 0 && ok;
        if (!ok) {
            fprintf(stderr, "trivselctl: cannot write \"%s\"\n", path);
            return -1;
        }
        char total[TR_MONEY_FORMAT_MAX];
        printf("wrote %s: %zu rows, %s\n", path, rows, kr(sup->amount_oere, total));
    }
    return 0;
}

/* "DDMMYY-xxxx": enough for an operator to tell children apart, not the whole number. */
static void masked_cpr(const char *cpr, char out[12])
{
    snprintf(out, 12, "%.6s-xxxx", cpr);
}

static void print(const char *municipality, const char *calculated_at, const char *event_id,
                  bool again, const Trivsel__Ordering__SettlementCalculated *s)
{
    char a[TR_MONEY_FORMAT_MAX];
    printf("settlement %s, municipality %s: %s %s, event %s\n", s->month, municipality,
           again ? "settled already at" : "settled at", calculated_at, event_id);
    printf("\n%-20s %-16s %-8s %-16s %-29s %4s %16s\n", "ORDER", "CASE", "SUPPLIER", "TEAM",
           "LEGAL BASIS", "DAYS", "AMOUNT");
    for (size_t i = 0; i < s->n_lines; i++) {
        const Trivsel__Ordering__SettlementLine *l = s->lines[i];
        column(l->order_id, 21);
        column(l->case_id, 17);
        column(l->supplier_cvr, 9);
        column(l->team, 17);
        column(legal_basis_label(l->legal_basis), 30);
        printf("%4u %16s\n", l->days_active, kr(l->amount_oere, a));
        for (size_t j = 0; j < l->n_segments; j++) {
            const Trivsel__Ordering__SettlementSegment *g = l->segments[j];
            char p[TR_MONEY_FORMAT_MAX];
            printf("    %s..%s %2u days, %u min/week, %s per %s: %s\n", g->from_date, g->to_date,
                   g->days, g->minutes_per_week, kr(g->price_oere, p), model_name(l->price_model),
                   kr(g->amount_oere, a));
        }
    }
    printf("\nper supplier:\n");
    for (size_t i = 0; i < s->n_supplier_totals; i++) {
        printf("  ");
        column(s->supplier_totals[i]->supplier_cvr, 9);
        column(s->supplier_totals[i]->supplier_name, 41);
        printf("%16s\n", kr(s->supplier_totals[i]->amount_oere, a));
    }
    printf("per team:\n");
    for (size_t i = 0; i < s->n_team_totals; i++) {
        printf("  ");
        column(s->team_totals[i]->team, 50);
        printf("%16s\n", kr(s->team_totals[i]->amount_oere, a));
    }
    printf("per legal basis:\n");
    for (size_t i = 0; i < s->n_legal_basis_totals; i++) {
        printf("  ");
        column(legal_basis_label(s->legal_basis_totals[i]->legal_basis), 50);
        printf("%16s\n", kr(s->legal_basis_totals[i]->amount_oere, a));
    }
    printf("per child:\n");
    for (size_t i = 0; i < s->n_child_totals; i++) {
        char cpr[12];
        masked_cpr(s->child_totals[i]->child_cpr, cpr);
        printf("  ");
        column(s->child_totals[i]->case_id, 17);
        column(cpr, 33);
        printf("%16s\n", kr(s->child_totals[i]->amount_oere, a));
    }
    printf("total: %s\n", kr(s->total_oere, a));
    if (s->n_unaccepted_order_ids) {
        printf("not settled, not accepted by their supplier:");
        for (size_t i = 0; i < s->n_unaccepted_order_ids; i++)
            printf(" %s", s->unaccepted_order_ids[i]);
        printf("\n");
    }
}

/* The stored settlement, or 0 rows. */
static PGresult *stored(PGconn *conn, const char *municipality, const char *month)
{
    const char *v[2] = {municipality, month};
    return PQexecParams(
        conn,
        "SELECT to_char(calculated_at AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD HH24:MI:SS'),"
        " event_id, calculated FROM ordering.settlement WHERE municipality = $1 AND month = $2",
        2, NULL, v, NULL, NULL, 0);
}

void ctl_settlement_release(ctl_settlement_t *s)
{
    if (s->calculated)
        trivsel__ordering__settlement_calculated__free_unpacked(s->calculated, NULL);
    s->calculated = NULL;
}

int ctl_settle_month(PGconn *conn, const char *municipality, const char *month,
                     uint64_t timeout_ms, const char *timeout, ctl_settlement_t *out)
{
    tr_date_t first;
    char first_text[TR_CALENDAR_DATE_LEN + 3];
    snprintf(first_text, sizeof first_text, "%.7s-01", month);
    if (strlen(month) != 7 || tr_calendar_parse_date(first_text, &first, NULL) < 0) {
        fprintf(stderr, "trivselctl: invalid month \"%s\": must be YYYY-MM, e.g. 2026-11\n", month);
        return 1;
    }
    tr_date_t last = {first.year, first.month, tr_calendar_days_in_month(first.year, first.month)};
    int64_t ended_at = tr_calendar_end_of_day_utc(last);
    if (ended_at > (int64_t)time(NULL)) {
        char when[32];
        tr_calendar_format_local(ended_at, when, sizeof when);
        fprintf(stderr, "trivselctl: %s has not ended: it can be settled from %s\n", month, when);
        return 1;
    }
    int rc = 1;
    out->again = true;
    PGresult *res = stored(conn, municipality, month);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto db_error;
    if (PQntuples(res) == 0) {
        out->again = false;
        PQclear(res);
        char user[64] = "";
        if (getlogin_r(user, sizeof user) != 0)
            snprintf(user, sizeof user, "%s", getenv("USER") ? getenv("USER") : "");
        const char *v[3] = {municipality, month, user};
        res = PQexecParams(conn,
                           "WITH r AS (INSERT INTO ordering.settlement_due (municipality, month,"
                           " due_at, requested_at,   requested_by) VALUES ($1, $2, now(), now(),"
                           " nullif($3, ''))"
                           " ON CONFLICT (municipality, month) DO UPDATE SET due_at ="
                           " least(settlement_due.due_at, now()),   requested_at = now(),"
                           " requested_by = nullif($3, '') RETURNING 1)"
                           " SELECT pg_notify('ordering_deadline', '') FROM r",
                           3, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            goto db_error;
        for (uint64_t waited = 0;; waited += 100) {
            PQclear(res);
            res = stored(conn, municipality, month);
            if (PQresultStatus(res) != PGRES_TUPLES_OK)
                goto db_error;
            if (PQntuples(res) > 0)
                break;
            if (waited >= timeout_ms) {
                fprintf(stderr,
                        "trivselctl: %s was not settled within %s: is trivsel-ordering running? The"
                        " request stays: the service settles the month when it runs\n",
                        month, timeout);
                goto out;
            }
            usleep(100 * 1000);
        }
    }
    size_t len = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 2), &len);
    if (bytes)
        out->calculated = trivsel__ordering__settlement_calculated__unpack(NULL, len, bytes);
    PQfreemem(bytes);
    if (!out->calculated) {
        fprintf(stderr, "trivselctl: the stored settlement of %s cannot be read\n", month);
        goto out;
    }
    snprintf(out->calculated_at, sizeof out->calculated_at, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->event_id, sizeof out->event_id, "%s", PQgetvalue(res, 0, 1));
    rc = 0;
    goto out;
db_error:
    fprintf(stderr, "trivselctl: %s", PQresultErrorMessage(res));
out:
    PQclear(res);
    return rc;
}

int ctl_settle(int argc, char **argv)
{
    const char *month = NULL, *municipality = getenv("TRIVSEL_MUNICIPALITY"), *csv = NULL,
               *timeout = "60s";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--municipality") == 0 && v)
            municipality = v, i++;
        else if (strcmp(a, "--csv") == 0 && v)
            csv = v, i++;
        else if (strcmp(a, "--timeout") == 0 && v)
            timeout = v, i++;
        else if (a[0] != '-' && !month)
            month = a;
        else {
            fprintf(stderr,
                    "trivselctl settle: unexpected argument \"%s\": see trivselctl settle --help\n",
                    a);
            return 2;
        }
    }
    tr_date_t first;
    char first_text[TR_CALENDAR_DATE_LEN + 3];
    snprintf(first_text, sizeof first_text, "%.7s-01", month ? month : "");
    if (!month || strlen(month) != 7 || tr_calendar_parse_date(first_text, &first, NULL) < 0) {
        fprintf(stderr, "trivselctl settle: invalid month \"%s\": must be YYYY-MM, e.g. 2026-11\n",
                month ? month : "");
        return 2;
    }
    if (!municipality || strlen(municipality) != 3 || strspn(municipality, "0123456789") != 3) {
        fprintf(stderr, "trivselctl settle: no kommunekode: give --municipality or "
                        "TRIVSEL_MUNICIPALITY (3 digits)\n");
        return 2;
    }
    uint64_t timeout_ms;
    if (ctl_parse_timeout("settle", timeout, &timeout_ms) < 0)
        return 2;
    if (csv) {
        struct stat st;
        if (stat(csv, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "trivselctl settle: --csv \"%s\" is not a folder\n", csv);
            return 2;
        }
    }
    PGconn *conn = ctl_database_connect("trivselctl");
    if (!conn)
        return 1;
    ctl_settlement_t s = {0};
    int rc = ctl_settle_month(conn, municipality, month, timeout_ms, timeout, &s);
    if (rc == 0) {
        print(municipality, s.calculated_at, s.event_id, s.again, s.calculated);
        rc = csv && write_csv(csv, municipality, s.calculated) < 0 ? 1 : 0;
    }
    ctl_settlement_release(&s);
    PQfinish(conn);
    return rc;
}
