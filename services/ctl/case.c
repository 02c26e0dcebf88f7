/* trivselctl case show — for operators and caseworkers' support: a child's case by CPR number,
 * read as the admin (the database variables as for migrate):
 *
 *   trivselctl case show CPR [--municipality KODE]
 *
 * For each case of the child: the underretninger (from the intake schema when it is there,
 * else what assessment learned from intake's events), the triage, the børnefaglige
 * undersøgelser with the børnesamtale, the trivselslineal scores over time per area with their
 * level names, the decisions with their measures, and the open deadlines — every time in Danish
 * time. A deadline given as a date runs to the end of that day (shown as 23:59).
 *
 * Reading a child's case is written to the audit log (broker.audit, action "case_shown", one
 * row per case, committed before anything is printed). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "cpr.h"
#include "ctl.h"
#include "pg.h"
#include "trivsel/common.pb-c.h"
#include "trivselslineal.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: trivselctl case show CPR [--municipality KODE]\n\n"
                 "Prints the child's case: underretninger, triage, børnefaglige undersøgelser, "
                 "trivselslineal scores over\n"
                 "time per area, decisions and open deadlines, in Danish time. CPR is DDMMYYSSSS "
                 "or DDMMYY-SSSS.\n"
                 "Each case shown is written to the audit log. Database access as for migrate "
                 "(TRIVSEL_DATABASE_URL,\n"
                 "_USER, _PASSWORD_FILE).\n");
    return out == stdout ? 0 : 2;
}

/* One parameterised statement; NULL (with PostgreSQL's message printed) on failure. */
static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *values,
                       ExecStatusType want)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != want) {
        fprintf(stderr, "trivselctl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

static bool command(PGconn *conn, const char *sql)
{
    PGresult *res = query(conn, sql, 0, NULL, PGRES_COMMAND_OK);
    PQclear(res);
    return res != NULL;
}

static const char *col(const PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c);
}

static bool colb(const PGresult *res, int row, int c)
{
    return !PQgetisnull(res, row, c) && PQgetvalue(res, row, c)[0] == 't';
}

/* ---- how things are named for people ------------------------------------------------------- */

/* "2024-03-28 14:05 (CET)", or "-" for a NULL column of epoch seconds. */
static const char *when(const PGresult *res, int row, int c, char buf[32])
{
    if (PQgetisnull(res, row, c))
        return "-";
    tr_calendar_format_local(strtoll(PQgetvalue(res, row, c), NULL, 10), buf, 32);
    return buf;
}

/* The enum name without its prefix, lower-case, spaces for underscores: "public employee". */
static const char *plain(const char *name, const char *prefix, char *buf, size_t len)
{
    size_t n = strlen(prefix);
    const char *s = strncmp(name, prefix, n) == 0 ? name + n : name;
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        buf[i] = s[i] == '_' ? ' ' : (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    buf[i] = '\0';
    return buf[0] ? buf : "-";
}

static const char *triage_outcome(const char *name)
{
    static const struct {
        const char *name, *text;
    } outcomes[] = {
        {"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "børnefaglig undersøgelse"},
        {"TRIAGE_OUTCOME_AFDAEKNING", "afdækning"},
        {"TRIAGE_OUTCOME_PREVENTIVE_OFFER", "preventive offer"},
        {"TRIAGE_OUTCOME_NO_FURTHER_ACTION", "no further action"},
    };
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (strcmp(name, outcomes[i].name) == 0)
            return outcomes[i].text;
    return name[0] ? name : "-";
}

static const char *legal_basis(const char *name, char *buf, size_t len)
{
    const char *nr = "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_";
    if (strncmp(name, nr, strlen(nr)) == 0)
        snprintf(buf, len, "Barnets Lov §32 stk. 1 nr. %s", name + strlen(nr));
    else if (strcmp(name, "LEGAL_BASIS_BARNETS_LOV_104_105") == 0)
        snprintf(buf, len, "Barnets Lov §§104-105");
    else if (strcmp(name, "LEGAL_BASIS_BARNETS_LOV_46") == 0)
        snprintf(buf, len, "Barnets Lov §46 (anbringelse)");
    else if (strcmp(name, "LEGAL_BASIS_BARNETS_LOV_47") == 0)
        snprintf(buf, len, "Barnets Lov §47 (anbringelse uden samtykke)");
    else if (strcmp(name, "LEGAL_BASIS_SERVICELOVEN_85") == 0)
        snprintf(buf, len, "Serviceloven §85");
    else
        snprintf(buf, len, "%s", name);
    return buf;
}

static const char *phase_name(const char *key)
{
    static const struct {
        const char *key, *text;
    } phases[] = {
        {"started", "sagen starter"},
        {"informed", "sagen oplyses"},
        {"considered", "sagen overvejes"},
        {"decided", "sagen afgøres og meddeles"},
        {"followed_up", "evaluering og opfølgning"},
    };
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
        if (strcmp(key, phases[i].key) == 0)
            return phases[i].text;
    return key[0] ? key : "-";
}

static const char *person(const char *id, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", id, id[0] && name[0] ? " " : "", name);
    return buf[0] ? buf : "-";
}

/* "2 d 3 h", "3 h 59 m", "12 m" */
static void span(int64_t seconds, char *buf, size_t len)
{
    int64_t m = seconds / 60, d = m / 1440, h = m / 60 % 24;
    m %= 60;
    if (d > 0)
        snprintf(buf, len, "%lld d %lld h", (long long)d, (long long)h);
    else if (h > 0)
        snprintf(buf, len, "%lld h %lld m", (long long)h, (long long)m);
    else
        snprintf(buf, len, "%lld m", (long long)m);
}

/* Prints s left-aligned in width characters (UTF-8: "sårbar" is 6 characters, 7 bytes). */
static void pad(const char *s, int width)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    printf("%s%*s", s, width > chars ? width - chars : 0, "");
}

/* ---- the sections ---------------------------------------------------------------------------- */

typedef struct view {
    PGconn *conn;
    bool intake; /* the intake schema's tables are there */
    int64_t now;
} view_t;

static void underretninger(view_t *v, const char *case_id)
{
    static const char intake_sql[] =
        "SELECT u.id::text, extract(epoch FROM u.received_at)::bigint, u.reporter_kind, u.channel, "
        "u.abuse_case,"
        "  u.parents_suspected, u.underretninger_last_12_months, coalesce(u.triage_outcome, ''),"
        "  extract(epoch FROM u.triaged_at)::bigint, coalesce(u.triaged_by_id, ''), "
        "coalesce(u.triaged_by_name, '')"
        " FROM intake.underretning u WHERE u.case_id::text = $1 ORDER BY u.received_at, u.id";
    static const char assessment_sql[] =
        "SELECT u.underretning_id, extract(epoch FROM u.received_at)::bigint, u.reporter_kind, '', "
        "u.abuse_case,"
        "  u.parents_suspected, u.underretninger_last_12_months, coalesce(u.triage_outcome, ''),"
        "  extract(epoch FROM u.triaged_at)::bigint, coalesce(u.triaged_by_id, ''), "
        "coalesce(u.triaged_by_name, '')"
        " FROM assessment.underretning u WHERE u.case_id = $1 ORDER BY u.received_at, "
        "u.underretning_id";
    const char *values[1] = {case_id};
    bool from_intake = v->intake;
    PGresult *res = query(v->conn, from_intake ? intake_sql : assessment_sql, 1, values,
                          PGRES_TUPLES_OK);
    if (res && from_intake && PQntuples(res) == 0) {
        /* intake has not stored them (yet): what assessment learned from its events. */
        PQclear(res);
        from_intake = false;
        res = query(v->conn, assessment_sql, 1, values, PGRES_TUPLES_OK);
    }
    if (!res)
        return;
    printf("\nUnderretninger (%d)%s\n", PQntuples(res),
           from_intake ? "" : " — as assessment knows them");
    printf("  %-22s  %-36s  %-20s  %-12s  %-5s  %-4s  %s\n", "RECEIVED (DANISH TIME)",
           "UNDERRETNING", "REPORTER", "CHANNEL", "ABUSE", "12 M", "TRIAGE");
    for (int i = 0; i < PQntuples(res); i++) {
        char received[32], triaged[32], reporter[40], channel[24], by[160], triage[320];
        if (PQgetisnull(res, i, 8))
            snprintf(triage, sizeof triage, "not yet triaged");
        else
            snprintf(triage, sizeof triage, "%s, %s by %s", triage_outcome(col(res, i, 7)),
                     when(res, i, 8, triaged),
                     person(col(res, i, 9), col(res, i, 10), by, sizeof by));
        printf("  %-22s  %-36s  %-20s  %-12s  %-5s  %-4s  %s\n", when(res, i, 1, received),
               col(res, i, 0), plain(col(res, i, 2), "REPORTER_KIND_", reporter, sizeof reporter),
               plain(col(res, i, 3), "CHANNEL_", channel, sizeof channel),
               colb(res, i, 4) ? (colb(res, i, 5) ? "yes*" : "yes") : "no", col(res, i, 6), triage);
    }
    PQclear(res);
}

static void triage(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res =
        query(v->conn,
              "SELECT underretning_id, coalesce(triage_outcome, ''), extract(epoch FROM "
              "triaged_at)::bigint,"
              "  coalesce(triaged_by_id, ''), coalesce(triaged_by_name, ''), child_in_danger,"
              "  acute_measures_needed, coalesce(acute_measures, ''), coalesce(triage_reasons, '')"
              " FROM assessment.underretning WHERE case_id = $1 AND triaged_at IS NOT NULL"
              " ORDER BY triaged_at",
              1, values, PGRES_TUPLES_OK);
    if (!res)
        return;
    printf("\nTriage (Barnets Lov §136)\n");
    if (PQntuples(res) == 0)
        printf("  none recorded\n");
    for (int i = 0; i < PQntuples(res); i++) {
        char t[32], by[160];
        printf("  %s: %s, %s by %s\n", col(res, i, 0), triage_outcome(col(res, i, 1)),
               when(res, i, 2, t), person(col(res, i, 3), col(res, i, 4), by, sizeof by));
        printf("    child in danger: %s; acute measures needed: %s%s%s\n",
               PQgetisnull(res, i, 5) ? "-"
               : colb(res, i, 5)      ? "yes"
                                      : "no",
               PQgetisnull(res, i, 6) ? "-"
               : colb(res, i, 6)      ? "yes"
                                      : "no",
               col(res, i, 7)[0] ? " — " : "", col(res, i, 7));
        if (col(res, i, 8)[0])
            printf("    reasons: %s\n", col(res, i, 8));
    }
    PQclear(res);
}

static void investigations(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res =
        query(v->conn,
              "SELECT i.investigation_id::text, i.opened_because, i.underretning_id, extract(epoch "
              "FROM i.aware_at)::bigint,"
              "  to_char(i.due_date, 'YYYY-MM-DD'), i.caseworker_id, i.caseworker_name, i.team, "
              "i.abuse_case,"
              "  i.parents_suspected, extract(epoch FROM i.concluded_at)::bigint, "
              "coalesce(i.outcome, ''),"
              "  coalesce(i.conclusion, ''), extract(epoch FROM i.foreloebig_vurdering_at)::bigint,"
              "  (SELECT string_agg(u.underretning_id, ', ' ORDER BY u.received_at) FROM "
              "assessment.underretning u"
              "    WHERE u.investigation_id = i.investigation_id AND u.underretning_id <> "
              "i.underretning_id)"
              " FROM assessment.investigation i WHERE i.case_id = $1 ORDER BY i.opened_at",
              1, values, PGRES_TUPLES_OK);
    if (!res)
        return;
    printf("\nBørnefaglige undersøgelser (Barnets Lov §20)\n");
    if (PQntuples(res) == 0)
        printf("  none\n");
    for (int i = 0; i < PQntuples(res); i++) {
        char aware[32], concluded[32], foreloebig[32], by[160], outcome[48];
        const char *id = col(res, i, 0);
        printf("  %s  opened %s %s%s%s\n", id,
               strcmp(col(res, i, 1), "abuse_case") == 0
                   ? "for the abuse case (mandatory), underretning"
                   : "from the triage of underretning",
               col(res, i, 2), col(res, i, 14)[0] ? "; joined by " : "", col(res, i, 14));
        printf("    aware       %s\n", when(res, i, 3, aware));
        tr_date_t due;
        tr_calendar_parse_date(col(res, i, 4), &due, NULL);
        int64_t due_end = tr_calendar_end_of_day_utc(due);
        char due_text[32], state[64] = "";
        tr_calendar_format_local(due_end - 60, due_text, sizeof due_text);
        if (!PQgetisnull(res, i, 10)) {
            printf("    due         %s (4 months)\n", due_text);
            printf("    concluded   %s: %s%s\n", when(res, i, 10, concluded),
                   plain(col(res, i, 11), "CONCLUSION_", outcome, sizeof outcome),
                   strtoll(col(res, i, 10), NULL, 10) >= due_end ? " (after the due date)" : "");
            if (!PQgetisnull(res, i, 13))
                printf("    foreløbig vurdering %s\n", when(res, i, 13, foreloebig));
            if (col(res, i, 12)[0])
                printf("    conclusion  %s\n", col(res, i, 12));
        } else {
            char left[32];
            span(v->now >= due_end ? v->now - due_end : due_end - v->now, left, sizeof left);
            snprintf(state, sizeof state,
                     v->now >= due_end ? "overdue by %s: a foreløbig vurdering is required"
                                       : "running, due in %s",
                     left);
            printf("    due         %s (4 months) — %s\n", due_text, state);
        }
        printf("    caseworker  %s%s%s\n", person(col(res, i, 5), col(res, i, 6), by, sizeof by),
               col(res, i, 7)[0] ? ", " : "", col(res, i, 7));
        if (colb(res, i, 8))
            printf("    abuse case  yes%s: nothing goes to the parents\n",
                   colb(res, i, 9) ? ", the parents are suspected" : "");
        const char *iv[1] = {id};
        PGresult *cc = query(
            v->conn,
            "SELECT held, extract(epoch FROM held_at)::bigint, held_by, parents_present, "
            "at_boernehus,"
            "  not_held_reason FROM assessment.child_conversation WHERE investigation_id = $1::uuid"
            " ORDER BY id",
            1, iv, PGRES_TUPLES_OK);
        if (!cc)
            continue;
        if (PQntuples(cc) == 0)
            printf("    børnesamtale none recorded\n");
        for (int j = 0; j < PQntuples(cc); j++) {
            char held[32];
            if (colb(cc, j, 0))
                printf("    børnesamtale held %s by %s, %s the parents%s\n", when(cc, j, 1, held),
                       col(cc, j, 2), colb(cc, j, 3) ? "with" : "without",
                       colb(cc, j, 4) ? ", at the Børnehus" : "");
            else
                printf("    børnesamtale not held: %s\n", col(cc, j, 5));
        }
        PQclear(cc);
    }
    PQclear(res);
}

static void scores(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res = query(
        v->conn,
        "SELECT area, score, extract(epoch FROM assessed_at)::bigint, assessed_by_id, "
        "assessed_by_name,"
        "  observations, array_to_string(risk_factors, '; '),"
        "  array_to_string(protective_factors, '; ')"
        " FROM assessment.score WHERE case_id = $1"
        " ORDER BY array_position(ARRAY['LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR', 'LIFE_AREA_FAMILY',"
        "   'LIFE_AREA_SCHOOL', 'LIFE_AREA_HEALTH', 'LIFE_AREA_LEISURE_AND_FRIENDSHIPS',"
        "   'LIFE_AREA_OTHER', 'LIFE_AREA_OVERALL'], area), area, assessed_at, id",
        1, values, PGRES_TUPLES_OK);
    if (!res)
        return;
    printf("\nTrivselslinealen (1-10) over time\n");
    if (PQntuples(res) == 0)
        printf("  no scores\n");
    const char *last_area = "";
    for (int i = 0; i < PQntuples(res); i++) {
        const char *area = col(res, i, 0);
        if (strcmp(area, last_area) != 0) {
            const ProtobufCEnumValue *e =
                protobuf_c_enum_descriptor_get_value_by_name(&trivsel__life_area__descriptor, area);
            const char *name = e ? tr_trivselslineal_area_name(e->value) : NULL;
            printf("  %s\n", name ? name : area);
            last_area = area;
        }
        int score = atoi(col(res, i, 1));
        char t[32], by[160];
        printf("    %-22s  %2d  ", when(res, i, 2, t), score);
        pad(tr_trivselslineal_level_name(score), 16);
        printf("  ");
        pad(tr_trivselslineal_prevention_name(score), 9);
        printf("  %s\n", person(col(res, i, 3), col(res, i, 4), by, sizeof by));
        if (col(res, i, 5)[0])
            printf("      observations: %s\n", col(res, i, 5));
        if (col(res, i, 6)[0])
            printf("      risk factors: %s\n", col(res, i, 6));
        if (col(res, i, 7)[0])
            printf("      protective factors: %s\n", col(res, i, 7));
    }
    PQclear(res);
}

static void decisions(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res = query(
        v->conn,
        "SELECT d.decision_id, d.kind, extract(epoch FROM d.decided_at)::bigint, d.decided_by_id, "
        "d.decided_by_name,"
        "  extract(epoch FROM d.partshoering_done_at)::bigint, extract(epoch FROM "
        "d.notified_at)::bigint,"
        "  to_char(d.appeal_deadline, 'YYYY-MM-DD'), d.plan_required, to_char(d.plan_due_date, "
        "'YYYY-MM-DD'),"
        "  to_char(d.first_followup_due_date, 'YYYY-MM-DD'), d.parallel_investigation_id::text,"
        "  (SELECT extract(epoch FROM min(p.recorded_at))::bigint FROM assessment.plan p"
        "    WHERE p.decision_id = d.decision_id), d.child_partshoering_done"
        " FROM assessment.decision d WHERE d.case_id = $1 ORDER BY d.decided_at, d.decision_id",
        1, values, PGRES_TUPLES_OK);
    if (!res)
        return;
    printf("\nDecisions (afgørelser)\n");
    if (PQntuples(res) == 0)
        printf("  none\n");
    for (int i = 0; i < PQntuples(res); i++) {
        char kind[24], decided[32], partshoering[32], notified[32], by[160], plan[32];
        const char *id = col(res, i, 0);
        printf("  %s  %s, decided %s by %s\n", id,
               plain(col(res, i, 1), "DECISION_KIND_", kind, sizeof kind), when(res, i, 2, decided),
               person(col(res, i, 3), col(res, i, 4), by, sizeof by));
        if (col(res, i, 11)[0])
            printf("    acute: decided while investigation %s ran (the triage found acute measures "
                   "needed)\n",
                   col(res, i, 11));
        printf("    partshøring %s%s; notified %s\n", when(res, i, 5, partshoering),
               colb(res, i, 13) ? " (the child heard too)" : "", when(res, i, 6, notified));
        printf("    appeal deadline %s (4 weeks, moved to a hverdag)\n", col(res, i, 7));
        if (colb(res, i, 8))
            printf("    barnets plan due %s: %s%s\n", col(res, i, 9),
                   PQgetisnull(res, i, 12) ? "not recorded" : "recorded ",
                   PQgetisnull(res, i, 12) ? "" : when(res, i, 12, plan));
        if (col(res, i, 10)[0])
            printf("    first follow-up %s\n", col(res, i, 10));
        const char *dv[1] = {id};
        PGresult *m = query(v->conn,
                            "SELECT legal_basis, description, purpose, expected_duration_months,"
                            "  coalesce(to_char(start_date, 'YYYY-MM-DD'), ''), "
                            "coalesce(to_char(end_date, 'YYYY-MM-DD'), '')"
                            " FROM assessment.measure WHERE decision_id = $1 ORDER BY ordinal",
                            1, dv, PGRES_TUPLES_OK);
        if (!m)
            continue;
        for (int j = 0; j < PQntuples(m); j++) {
            char basis[64];
            printf("    measure: %s — %s\n", legal_basis(col(m, j, 0), basis, sizeof basis),
                   col(m, j, 1)[0] ? col(m, j, 1) : "-");
            if (col(m, j, 2)[0])
                printf("      purpose: %s\n", col(m, j, 2));
            printf("      expected duration: %s months%s%s%s%s\n", col(m, j, 3),
                   col(m, j, 4)[0] ? ", from " : "", col(m, j, 4), col(m, j, 5)[0] ? " to " : "",
                   col(m, j, 5));
        }
        PQclear(m);
    }
    PQclear(res);
}

typedef struct open_deadline {
    int64_t due;  /* the instant it has passed */
    bool instant; /* due is a time of day (triage), not the end of a date */
    char what[160];
    char note[96];
} open_deadline_t;

static int by_due(const void *a, const void *b)
{
    const open_deadline_t *x = a, *y = b;
    return x->due < y->due ? -1 : x->due > y->due;
}

static void open_deadlines(view_t *v, const char *case_id)
{
    /* What is still owed on the case: kind, a date or an instant (epoch seconds), a label. */
    static const char assessment_sql[] =
        "SELECT 'børnefaglig undersøgelse ' || i.investigation_id, to_char(i.due_date, "
        "'YYYY-MM-DD'), NULL::bigint,"
        "  'overdue: a foreløbig vurdering is required'"
        "  FROM assessment.investigation i WHERE i.case_id = $1 AND i.concluded_at IS NULL"
        " UNION ALL"
        " SELECT 'barnets plan, decision ' || d.decision_id, to_char(d.plan_due_date, "
        "'YYYY-MM-DD'), NULL, 'overdue'"
        "  FROM assessment.decision d WHERE d.case_id = $1 AND d.plan_required"
        "   AND NOT EXISTS (SELECT FROM assessment.plan p WHERE p.decision_id = d.decision_id)"
        " UNION ALL"
        " SELECT CASE WHEN f.first_followup THEN 'first follow-up' ELSE 'follow-up' END || ', "
        "decision ' || d.decision_id,"
        "  to_char(f.due_date, 'YYYY-MM-DD'), NULL, 'overdue'"
        "  FROM assessment.followup f JOIN assessment.decision d ON d.decision_id = f.decision_id"
        "  WHERE d.case_id = $1 AND f.held_at IS NULL"
        " UNION ALL"
        " SELECT 'appeal deadline (klagefrist), decision ' || d.decision_id, "
        "to_char(d.appeal_deadline, 'YYYY-MM-DD'),"
        "  NULL, 'passed: the decision is final unless an appeal came'"
        "  FROM assessment.decision d WHERE d.case_id = $1"
        "   AND d.appeal_deadline >= (now() AT TIME ZONE 'Europe/Copenhagen')::date";
    static const char intake_sql[] =
        "SELECT 'triage (24 hours), underretning ' || u.id, NULL, extract(epoch FROM "
        "u.triage_due_at)::bigint,"
        "  'overdue'"
        "  FROM intake.underretning u WHERE u.case_id::text = $1 AND u.triaged_at IS NULL"
        " UNION ALL"
        " SELECT 'kvittering (6 hverdage), underretning ' || u.id, to_char(u.receipt_due_date, "
        "'YYYY-MM-DD'), NULL,"
        "  'overdue'"
        "  FROM intake.underretning u WHERE u.case_id::text = $1 AND u.receipt_required AND "
        "u.receipt_sent_at IS NULL";
    const char *values[1] = {case_id};
    PGresult *parts[2] = {query(v->conn, assessment_sql, 1, values, PGRES_TUPLES_OK),
                          v->intake ? query(v->conn, intake_sql, 1, values, PGRES_TUPLES_OK)
                                    : NULL};
    int n = 0;
    for (int p = 0; p < 2; p++)
        n += parts[p] ? PQntuples(parts[p]) : 0;
    open_deadline_t *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    int kept = 0;
    for (int p = 0; p < 2 && rows; p++) {
        for (int i = 0; parts[p] && i < PQntuples(parts[p]); i++) {
            open_deadline_t *r = &rows[kept];
            if (!PQgetisnull(parts[p], i, 2)) {
                r->due = strtoll(PQgetvalue(parts[p], i, 2), NULL, 10);
                r->instant = true;
            } else {
                tr_date_t d;
                if (tr_calendar_parse_date(col(parts[p], i, 1), &d, NULL) < 0)
                    continue;
                r->due = tr_calendar_end_of_day_utc(d);
            }
            /* An appeal deadline that has passed is no longer open. */
            if (strncmp(col(parts[p], i, 0), "appeal", 6) == 0 && r->due <= v->now)
                continue;
            snprintf(r->what, sizeof r->what, "%s", col(parts[p], i, 0));
            snprintf(r->note, sizeof r->note, "%s", col(parts[p], i, 3));
            kept++;
        }
    }
    for (int p = 0; p < 2; p++)
        PQclear(parts[p]);
    printf("\nOpen deadlines\n");
    if (kept == 0)
        printf("  none\n");
    else
        printf("  %-22s  %-78s  %s\n", "DUE (DANISH TIME)", "WHAT", "STATE");
    if (rows)
        qsort(rows, (size_t)kept, sizeof *rows, by_due);
    for (int i = 0; i < kept; i++) {
        open_deadline_t *r = &rows[i];
        char due[32], left[32], state[160];
        /* A date's deadline is shown as its last minute, 23:59. */
        tr_calendar_format_local(r->instant ? r->due : r->due - 60, due, sizeof due);
        span(r->due <= v->now ? v->now - r->due : r->due - v->now, left, sizeof left);
        if (r->due > v->now)
            snprintf(state, sizeof state, "due in %s", left);
        else if (strncmp(r->note, "overdue:", 8) == 0)
            snprintf(state, sizeof state, "overdue by %s:%s", left, r->note + 8);
        else
            snprintf(state, sizeof state, "%s by %s", r->note, left);
        /* pad() counts characters, not bytes: "børnefaglig" must not shift the column. */
        printf("  %-22s  ", due);
        pad(r->what, 78);
        printf("  %s\n", state);
    }
    free(rows);
}

static void show_case(view_t *v, const PGresult *cases, int i)
{
    const char *case_id = col(cases, i, 0);
    const char *values[1] = {case_id};
    PGresult *sag =
        query(v->conn,
              "SELECT phase, child_name, birth_date,"
              "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id AND "
              "u.abuse_case),"
              "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id"
              "          AND u.parents_suspected)"
              " FROM assessment.sag s WHERE s.case_id = $1",
              1, values, PGRES_TUPLES_OK);
    char cpr[TR_CPR_FORMAT_MAX] = "";
    tr_cpr_t parsed;
    if (tr_cpr_parse(col(cases, i, 2), &parsed, NULL) == 0)
        tr_cpr_format(&parsed, cpr);
    printf("%sCase %s — kommune %s — child %s", i ? "\n\n" : "", case_id, col(cases, i, 1), cpr);
    if (sag && PQntuples(sag) == 1) {
        if (col(sag, 0, 1)[0])
            printf(" %s", col(sag, 0, 1));
        if (col(sag, 0, 2)[0])
            printf(" (born %s)", col(sag, 0, 2));
        printf("\nPhase: %s", phase_name(col(sag, 0, 0)));
        if (colb(sag, 0, 3))
            printf(" — abuse case%s: nothing goes to the parents",
                   colb(sag, 0, 4) ? ", the parents are suspected" : "");
        printf("\n");
    } else {
        printf("\nPhase: - (not known to assessment yet)\n");
    }
    PQclear(sag);
    underretninger(v, case_id);
    triage(v, case_id);
    investigations(v, case_id);
    scores(v, case_id);
    decisions(v, case_id);
    open_deadlines(v, case_id);
}

static const char *who(void)
{
    const char *user = getenv("USER");
    if (user && user[0])
        return user;
    struct passwd *pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "unknown";
}

static int show(const char *cpr_text, const char *municipality)
{
    tr_cpr_t cpr;
    tr_error_t err = {0};
    if (tr_cpr_parse(cpr_text, &cpr, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        return 2;
    }
    if (municipality && !(strlen(municipality) == 3 && strspn(municipality, "0123456789") == 3)) {
        fprintf(stderr,
                "trivselctl: invalid --municipality \"%s\": must be a kommunekode of 3 digits, "
                "e.g. 575\n",
                municipality);
        return 2;
    }
    PGconn *conn = ctl_database_connect("trivselctl case");
    if (!conn)
        return 1;
    int rc = 1;
    PGresult *cases = NULL, *res = NULL;
    view_t v = {.conn = conn, .now = (int64_t)time(NULL)};
    if (!(res = query(conn,
                      "SELECT to_regclass('intake.underretning') IS NOT NULL AND "
                      "to_regclass('intake.sag') IS NOT NULL,"
                      "  to_regclass('assessment.sag') IS NOT NULL, to_regclass('broker.audit') IS "
                      "NOT NULL",
                      0, NULL, PGRES_TUPLES_OK)))
        goto out;
    v.intake = colb(res, 0, 0);
    bool assessment = colb(res, 0, 1), audit = colb(res, 0, 2);
    PQclear(res);
    if (!assessment) {
        fprintf(stderr, "trivselctl: the assessment schema is not there: run trivselctl migrate\n");
        goto out;
    }
    if (!command(conn, "BEGIN"))
        goto out;
    const char *values[2] = {cpr.digits, municipality};
    cases = query(
        conn,
        v.intake
            ? "SELECT case_id, municipality, cpr FROM ("
              "  SELECT s.case_id, s.municipality, s.cpr FROM assessment.sag s WHERE s.cpr = $1"
              "  UNION SELECT i.id::text, i.municipality, i.cpr FROM intake.sag i WHERE i.cpr = "
              "$1) c"
              " WHERE $2::text IS NULL OR municipality = $2 ORDER BY municipality, case_id"
            : "SELECT s.case_id, s.municipality, s.cpr FROM assessment.sag s WHERE s.cpr = $1"
              " AND ($2::text IS NULL OR s.municipality = $2) ORDER BY s.municipality, s.case_id",
        2, values, PGRES_TUPLES_OK);
    if (!cases)
        goto out;
    /* Who read which child's case: written before anything is shown. */
    for (int i = 0; audit && i < PQntuples(cases); i++) {
        char principal[128];
        snprintf(principal, sizeof principal, "trivselctl:%s", who());
        const char *av[2] = {principal, col(cases, i, 0)};
        if (!(res = query(conn,
                          "INSERT INTO broker.audit (principal, action, correlation_id, detail)"
                          " VALUES ($1, 'case_shown', $2, 'trivselctl case show')",
                          2, av, PGRES_COMMAND_OK)))
            goto out;
        PQclear(res);
    }
    if (!command(conn, "COMMIT"))
        goto out;
    if (PQntuples(cases) == 0) {
        char formatted[TR_CPR_FORMAT_MAX];
        tr_cpr_format(&cpr, formatted);
        fprintf(stderr, "trivselctl: no case for CPR %s%s%s\n", formatted,
                municipality ? " in kommune " : "", municipality ? municipality : "");
        goto out;
    }
    for (int i = 0; i < PQntuples(cases); i++)
        show_case(&v, cases, i);
    rc = 0;
out:
    PQclear(cases);
    PQfinish(conn);
    return rc;
}

int ctl_case(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    if (argc < 3 || strcmp(argv[1], "show") != 0)
        return usage(stderr);
    const char *cpr = NULL, *municipality = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc)
            municipality = argv[++i];
        else if (argv[i][0] != '-' && !cpr)
            cpr = argv[i];
        else
            return usage(stderr);
    }
    if (!cpr)
        return usage(stderr);
    return show(cpr, municipality);
}
