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
    PGresult *res = ctl_query(v->conn, from_intake ? intake_sql : assessment_sql, 1, values,
                          PGRES_TUPLES_OK);
    if (res && from_intake && PQntuples(res) == 0) {
        /* intake has not stored them (yet): what assessment learned from its events. */
        PQclear(res);
        from_intake = false;
        res = ctl_query(v->conn, assessment_sql, 1, values, PGRES_TUPLES_OK);
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
            snprintf(triage, sizeof triage, "%s, %s by %s", triage_outcome(ctl_col(res, i, 7)),
                     when(res, i, 8, triaged),
                     person(ctl_col(res, i, 9), ctl_col(res, i, 10), by, sizeof by));
        printf("  %-22s  %-36s  %-20s  %-12s  %-5s  %-4s  %s\n", when(res, i, 1, received),
               ctl_col(res, i, 0), plain(ctl_col(res, i, 2), "REPORTER_KIND_", reporter, sizeof reporter),
               plain(ctl_col(res, i, 3), "CHANNEL_", channel, sizeof channel),
               ctl_colb(res, i, 4) ? (ctl_colb(res, i, 5) ? "yes*" : "yes") : "no", ctl_col(res, i, 6), triage);
    }
    PQclear(res);
}

static void triage(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res =
        ctl_query(v->conn,
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
        printf("  %s: %s, %s by %s\n", ctl_col(res, i, 0), triage_outcome(ctl_col(res, i, 1)),
               when(res, i, 2, t), person(ctl_col(res, i, 3), ctl_col(res, i, 4), by, sizeof by));
        printf("    child in danger: %s; acute measures needed: %s%s%s\n",
               PQgetisnull(res, i, 5) ? "-"
               : ctl_colb(res, i, 5)      ? "yes"
                                      : "no",
               PQgetisnull(res, i, 6) ? "-"
               : ctl_colb(res, i, 6)      ? "yes"
                                      : "no",
               ctl_col(res, i, 7)[0] ? " — " : "", ctl_col(res, i, 7));
        if (ctl_col(res, i, 8)[0])
            printf("    reasons: %s\n", ctl_col(res, i, 8));
    }
    PQclear(res);
}

static void investigations(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res =
        ctl_query(v->conn,
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
        const char *id = ctl_col(res, i, 0);
        printf("  %s  opened %s %s%s%s\n", id,
               strcmp(ctl_col(res, i, 1), "abuse_case") == 0
                   ? "for the abuse case (mandatory), underretning"
                   : "from the triage of underretning",
               ctl_col(res, i, 2), ctl_col(res, i, 14)[0] ? "; joined by " : "", ctl_col(res, i, 14));
        printf("    aware       %s\n", when(res, i, 3, aware));
        tr_date_t due;
        tr_calendar_parse_date(ctl_col(res, i, 4), &due, NULL);
        int64_t due_end = tr_calendar_end_of_day_utc(due);
        char due_text[32], state[64] = "";
        tr_calendar_format_local(due_end - 60, due_text, sizeof due_text);
        if (!PQgetisnull(res, i, 10)) {
            printf("    due         %s (4 months)\n", due_text);
            printf("    concluded   %s: %s%s\n", when(res, i, 10, concluded),
                   plain(ctl_col(res, i, 11), "CONCLUSION_", outcome, sizeof outcome),
                   strtoll(ctl_col(res, i, 10), NULL, 10) >= due_end ? " (after the due date)" : "");
            if (!PQgetisnull(res, i, 13))
                printf("    foreløbig vurdering %s\n", when(res, i, 13, foreloebig));
            if (ctl_col(res, i, 12)[0])
                printf("    conclusion  %s\n", ctl_col(res, i, 12));
        } else {
            char left[32];
            ctl_span(v->now >= due_end ? v->now - due_end : due_end - v->now, left, sizeof left);
            snprintf(state, sizeof state,
                     v->now >= due_end ? "overdue by %s: a foreløbig vurdering is required"
                                       : "running, due in %s",
                     left);
            printf("    due         %s (4 months) — %s\n", due_text, state);
        }
        printf("    caseworker  %s%s%s\n", person(ctl_col(res, i, 5), ctl_col(res, i, 6), by, sizeof by),
               ctl_col(res, i, 7)[0] ? ", " : "", ctl_col(res, i, 7));
        if (ctl_colb(res, i, 8))
            printf("    abuse case  yes%s: nothing goes to the parents\n",
                   ctl_colb(res, i, 9) ? ", the parents are suspected" : "");
        const char *iv[1] = {id};
        PGresult *cc = ctl_query(
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
            if (ctl_colb(cc, j, 0))
                printf("    børnesamtale held %s by %s, %s the parents%s\n", when(cc, j, 1, held),
                       ctl_col(cc, j, 2), ctl_colb(cc, j, 3) ? "with" : "without",
                       ctl_colb(cc, j, 4) ? ", at the Børnehus" : "");
            else
                printf("    børnesamtale not held: %s\n", ctl_col(cc, j, 5));
        }
        PQclear(cc);
    }
    PQclear(res);
}

static void scores(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res = ctl_query(
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
        const char *area = ctl_col(res, i, 0);
        if (strcmp(area, last_area) != 0) {
            const ProtobufCEnumValue *e =
                protobuf_c_enum_descriptor_get_value_by_name(&trivsel__life_area__descriptor, area);
            const char *name = e ? tr_trivselslineal_area_name(e->value) : NULL;
            printf("  %s\n", name ? name : area);
            last_area = area;
        }
        int score = atoi(ctl_col(res, i, 1));
        char t[32], by[160];
        printf("    %-22s  %2d  ", when(res, i, 2, t), score);
        pad(tr_trivselslineal_level_name(score), 16);
        printf("  ");
        pad(tr_trivselslineal_prevention_name(score), 9);
        printf("  %s\n", person(ctl_col(res, i, 3), ctl_col(res, i, 4), by, sizeof by));
        if (ctl_col(res, i, 5)[0])
            printf("      observations: %s\n", ctl_col(res, i, 5));
        if (ctl_col(res, i, 6)[0])
            printf("      risk factors: %s\n", ctl_col(res, i, 6));
        if (ctl_col(res, i, 7)[0])
            printf("      protective factors: %s\n", ctl_col(res, i, 7));
    }
    PQclear(res);
}

static void decisions(view_t *v, const char *case_id)
{
    const char *values[1] = {case_id};
    PGresult *res = ctl_query(
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
        const char *id = ctl_col(res, i, 0);
        printf("  %s  %s, decided %s by %s\n", id,
               plain(ctl_col(res, i, 1), "DECISION_KIND_", kind, sizeof kind), when(res, i, 2, decided),
               person(ctl_col(res, i, 3), ctl_col(res, i, 4), by, sizeof by));
        if (ctl_col(res, i, 11)[0])
            printf("    acute: decided while investigation %s ran (the triage found acute measures "
                   "needed)\n",
                   ctl_col(res, i, 11));
        printf("    partshøring %s%s; notified %s\n", when(res, i, 5, partshoering),
               ctl_colb(res, i, 13) ? " (the child heard too)" : "", when(res, i, 6, notified));
        printf("    appeal deadline %s (4 weeks, moved to a hverdag)\n", ctl_col(res, i, 7));
        if (ctl_colb(res, i, 8))
            printf("    barnets plan due %s: %s%s\n", ctl_col(res, i, 9),
                   PQgetisnull(res, i, 12) ? "not recorded" : "recorded ",
                   PQgetisnull(res, i, 12) ? "" : when(res, i, 12, plan));
        if (ctl_col(res, i, 10)[0])
            printf("    first follow-up %s\n", ctl_col(res, i, 10));
        const char *dv[1] = {id};
        PGresult *m = ctl_query(v->conn,
                            "SELECT legal_basis, description, purpose, expected_duration_months,"
                            "  coalesce(to_char(start_date, 'YYYY-MM-DD'), ''), "
                            "coalesce(to_char(end_date, 'YYYY-MM-DD'), '')"
                            " FROM assessment.measure WHERE decision_id = $1 ORDER BY ordinal",
                            1, dv, PGRES_TUPLES_OK);
        if (!m)
            continue;
        for (int j = 0; j < PQntuples(m); j++) {
            char basis[64];
            printf("    measure: %s — %s\n", legal_basis(ctl_col(m, j, 0), basis, sizeof basis),
                   ctl_col(m, j, 1)[0] ? ctl_col(m, j, 1) : "-");
            if (ctl_col(m, j, 2)[0])
                printf("      purpose: %s\n", ctl_col(m, j, 2));
            printf("      expected duration: %s months%s%s%s%s\n", ctl_col(m, j, 3),
                   ctl_col(m, j, 4)[0] ? ", from " : "", ctl_col(m, j, 4), ctl_col(m, j, 5)[0] ? " to " : "",
                   ctl_col(m, j, 5));
        }
        PQclear(m);
    }
    PQclear(res);
}

static void open_deadlines(view_t *v, const char *case_id)
{
    ctl_deadline_t *rows = NULL;
    int n = 0;
    if (ctl_open_deadlines(v->conn, case_id, v->now, &rows, &n) < 0)
        return;
    printf("\nOpen deadlines\n");
    if (n == 0)
        printf("  none\n");
    else
        printf("  %-22s  %-78s  %s\n", "DUE (DANISH TIME)", "WHAT", "STATE");
    for (int i = 0; i < n; i++) {
        char due[32], state[160];
        ctl_deadline_due_text(&rows[i], due);
        ctl_deadline_state(&rows[i], v->now, state, sizeof state);
        /* pad() counts characters, not bytes: "børnefaglig" must not shift the column. */
        printf("  %-22s  ", due);
        pad(rows[i].what, 78);
        printf("  %s\n", state);
    }
    free(rows);
}

static void show_case(view_t *v, const PGresult *cases, int i)
{
    const char *case_id = ctl_col(cases, i, 0);
    const char *values[1] = {case_id};
    PGresult *sag =
        ctl_query(v->conn,
              "SELECT phase, child_name, birth_date,"
              "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id AND "
              "u.abuse_case),"
              "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id"
              "          AND u.parents_suspected)"
              " FROM assessment.sag s WHERE s.case_id = $1",
              1, values, PGRES_TUPLES_OK);
    char cpr[TR_CPR_FORMAT_MAX] = "";
    tr_cpr_t parsed;
    if (tr_cpr_parse(ctl_col(cases, i, 2), &parsed, NULL) == 0)
        tr_cpr_format(&parsed, cpr);
    printf("%sCase %s — kommune %s — child %s", i ? "\n\n" : "", case_id, ctl_col(cases, i, 1), cpr);
    if (sag && PQntuples(sag) == 1) {
        if (ctl_col(sag, 0, 1)[0])
            printf(" %s", ctl_col(sag, 0, 1));
        if (ctl_col(sag, 0, 2)[0])
            printf(" (born %s)", ctl_col(sag, 0, 2));
        printf("\nPhase: %s", phase_name(ctl_col(sag, 0, 0)));
        if (ctl_colb(sag, 0, 3))
            printf(" — abuse case%s: nothing goes to the parents",
                   ctl_colb(sag, 0, 4) ? ", the parents are suspected" : "");
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
    if (!(res = ctl_query(conn,
                      "SELECT to_regclass('intake.underretning') IS NOT NULL AND "
                      "to_regclass('intake.sag') IS NOT NULL,"
                      "  to_regclass('assessment.sag') IS NOT NULL, to_regclass('broker.audit') IS "
                      "NOT NULL",
                      0, NULL, PGRES_TUPLES_OK)))
        goto out;
    v.intake = ctl_colb(res, 0, 0);
    bool assessment = ctl_colb(res, 0, 1), audit = ctl_colb(res, 0, 2);
    PQclear(res);
    if (!assessment) {
        fprintf(stderr, "trivselctl: the assessment schema is not there: run trivselctl migrate\n");
        goto out;
    }
    if (!ctl_command(conn, "BEGIN"))
        goto out;
    const char *values[2] = {cpr.digits, municipality};
    cases = ctl_query(
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
        const char *av[2] = {principal, ctl_col(cases, i, 0)};
        if (!(res = ctl_query(conn,
                          "INSERT INTO broker.audit (principal, action, correlation_id, detail)"
                          " VALUES ($1, 'case_shown', $2, 'trivselctl case show')",
                          2, av, PGRES_COMMAND_OK)))
            goto out;
        PQclear(res);
    }
    if (!ctl_command(conn, "COMMIT"))
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
