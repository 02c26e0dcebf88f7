#include "validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpr.h"
#include "dates.h"
#include "utf8.h"

/* 1900-01-01T00:00:00Z and 9999-12-30T00:00:00Z: the calendar needs the Danish date to stay
 * within year 9999. */
#define TS_MIN INT64_C(-2208988800)
#define TS_MAX INT64_C(253402041600)

void intake_problems_add(intake_problems_t *p, const char *field, const char *code, const char *fmt,
                         ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        Trivsel__Problem **items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return;
        p->items = items;
        p->cap = cap;
    }
    Trivsel__Problem *x = malloc(sizeof *x);
    char message[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* Made from outside input, perhaps cut in the middle of a character: it goes out in an event. */
    tr_utf8_repair(message);
    if (!x)
        return;
    trivsel__problem__init(x);
    x->field = strdup(field);
    x->code = strdup(code);
    x->problem = strdup(message);
    if (!x->field || !x->code || !x->problem) {
        free(x->field);
        free(x->code);
        free(x->problem);
        free(x);
        return;
    }
    p->items[p->n++] = x;
}

void intake_problems_release(intake_problems_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i]->field);
        free(p->items[i]->code);
        free(p->items[i]->problem);
        free(p->items[i]);
    }
    free(p->items);
    *p = (intake_problems_t){0};
}

bool intake_timestamp_valid(const Google__Protobuf__Timestamp *ts)
{
    return ts && ts->seconds >= TS_MIN && ts->seconds < TS_MAX && ts->nanos >= 0 &&
           ts->nanos <= 999999999;
}

int64_t intake_timestamp_us(const Google__Protobuf__Timestamp *ts)
{
    return ts->seconds * INTAKE_US_PER_SECOND + ts->nanos / 1000;
}

/* Code points in s, or -1 when s is not valid UTF-8 (overlong forms, surrogates and values
 * above U+10FFFF included); NUL never occurs inside a C string. */
static long utf8_length(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        int extra;
        unsigned min, cp;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return -1;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        n++;
    }
    return n;
}

bool intake_text_ok(const char *s, size_t max)
{
    long n = utf8_length(s ? s : "");
    return n >= 0 && (size_t)n <= max;
}

bool intake_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

void intake_name_key(const char *name, char *out, size_t len)
{
    size_t o = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p && o + 3 < len;
         p++) {
        if (isspace(*p)) {
            space = o > 0;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            space = false;
        }
        if (*p >= 'A' && *p <= 'Z') {
            out[o++] = (char)(*p + 32);
        } else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97) {
            /* Latin-1 capitals (Æ Ø Å É Ü ...) to their small letters: U+00C0-U+00DE + 0x20. */
            out[o++] = (char)0xC3;
            out[o++] = (char)(p[1] + 0x20);
            p++;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

/* Checks an optional text field: valid UTF-8 and not longer than max. */
static void text_field(intake_problems_t *p, const char *field, const char *value, size_t max)
{
    long n = utf8_length(value ? value : "");
    if (n < 0)
        intake_problems_add(p, field, "invalid_text", "%s is not valid UTF-8", field);
    else if ((size_t)n > max)
        intake_problems_add(p, field, "text_too_long",
                            "%s is %ld characters long: at most %zu are allowed", field, n, max);
}

/* A required text field: present, valid, not too long. */
static void required_text(intake_problems_t *p, const char *field, const char *value, size_t max,
                          const char *code, const char *what)
{
    bool blank = true;
    for (const char *c = value ? value : ""; *c; c++) {
        if (!isspace((unsigned char)*c)) {
            blank = false;
            break;
        }
    }
    if (blank)
        intake_problems_add(p, field, code, "%s is missing", what);
    else
        text_field(p, field, value, max);
}

static void address_fields(intake_problems_t *p, const char *prefix, const Trivsel__Address *a)
{
    char field[96];
    if (!a)
        return;
    snprintf(field, sizeof field, "%s.street", prefix);
    text_field(p, field, a->street, INTAKE_MAX_NAME);
    snprintf(field, sizeof field, "%s.city", prefix);
    text_field(p, field, a->city, INTAKE_MAX_NAME);
    snprintf(field, sizeof field, "%s.extra", prefix);
    text_field(p, field, a->extra, INTAKE_MAX_NAME);
    snprintf(field, sizeof field, "%s.postal_code", prefix);
    if (a->postal_code[0] &&
        (strlen(a->postal_code) != 4 || strspn(a->postal_code, "0123456789") != 4))
        intake_problems_add(p, field, "invalid_postal_code",
                            "invalid postal code \"%.16s\": must be 4 digits",
                            intake_text_ok(a->postal_code, 16) ? a->postal_code : "?");
}

static bool municipality_served(const char *list, const char *code)
{
    if (!list || !list[0])
        return true;
    for (const char *s = list; *s;) {
        size_t n = strcspn(s, ",");
        if (n == 3 && strncmp(s, code, 3) == 0)
            return true;
        s += n;
        if (*s == ',')
            s++;
    }
    return false;
}

static void child_fields(const Trivsel__Child *c, int64_t received_us, bool received_ok,
                         intake_problems_t *p, intake_child_key_t *key)
{
    intake_child_key_t k = {0};
    bool birth_ok = false;
    if (!c) {
        intake_problems_add(p, "child", "missing_child",
                            "the child is missing: give the CPR number, or the name and "
                            "birth date when the CPR number is unknown");
        return;
    }
    text_field(p, "child.name", c->name, INTAKE_MAX_NAME);
    address_fields(p, "child.address", c->address);
    tr_date_t given = {0};
    bool given_ok = false;
    if (c->birth_date[0]) {
        tr_error_t err = {0};
        if (tr_calendar_parse_date(c->birth_date, &given, &err) < 0)
            intake_problems_add(p, "child.birth_date", "invalid_birth_date", "%s", err.message);
        else
            given_ok = true;
    }
    if (c->cpr[0]) {
        tr_cpr_t cpr;
        tr_error_t err = {0};
        if (tr_cpr_parse(c->cpr, &cpr, &err) < 0) {
            intake_problems_add(p, "child.cpr", "invalid_cpr", "%s", err.message);
        } else {
            memcpy(k.cpr, cpr.digits, sizeof k.cpr);
            k.birth_date = (tr_date_t){cpr.birth_year, cpr.birth_month, cpr.birth_day};
            birth_ok = true;
            if (given_ok && tr_calendar_compare(given, k.birth_date) != 0)
                intake_problems_add(
                    p, "child.birth_date", "cpr_birth_date_mismatch",
                    "birth date \"%s\" does not match the CPR number (born %04d-%02d-%02d)",
                    c->birth_date, k.birth_date.year, k.birth_date.month, k.birth_date.day);
        }
    } else {
        /* Without the CPR number the child is found by name and birth date. */
        bool blank_name = true;
        for (const char *s = c->name; *s; s++)
            blank_name = blank_name && isspace((unsigned char)*s);
        if (blank_name)
            intake_problems_add(
                p, "child.name", "missing_child_name",
                "the child's name is missing: it is required when the CPR number is unknown");
        if (!c->birth_date[0])
            intake_problems_add(
                p, "child.birth_date", "missing_birth_date",
                "the child's birth date is missing: it is required when the CPR number is unknown");
        if (given_ok) {
            k.birth_date = given;
            birth_ok = true;
        }
    }
    intake_name_key(c->name, k.name_key, sizeof k.name_key);
    if (birth_ok && received_ok) {
        tr_date_t received = intake_local_date(received_us);
        if (tr_calendar_compare(k.birth_date, received) > 0) {
            intake_problems_add(
                p, c->cpr[0] ? "child.cpr" : "child.birth_date", "birth_date_in_future",
                "the child's birth date %04d-%02d-%02d is after the day of receipt %04d-%02d-%02d",
                k.birth_date.year, k.birth_date.month, k.birth_date.day, received.year,
                received.month, received.day);
        } else {
            tr_cpr_t born = {.birth_year = k.birth_date.year,
                             .birth_month = k.birth_date.month,
                             .birth_day = k.birth_date.day};
            int age = tr_cpr_age_on(&born, received.year, received.month, received.day);
            if (age > INTAKE_CHILD_MAX_AGE)
                intake_problems_add(
                    p, c->cpr[0] ? "child.cpr" : "child.birth_date", "not_a_child",
                    "the person is %d years old on the day of receipt: an underretning concerns a "
                    "child under 18",
                    age);
        }
    }
    if (key)
        *key = k;
}

static void reporter_fields(const Trivsel__Reporter *r, intake_problems_t *p)
{
    if (!r) {
        intake_problems_add(p, "reporter", "missing_reporter",
                            "the reporter is missing: give at least its kind "
                            "(REPORTER_KIND_ANONYMOUS when unknown)");
        return;
    }
    if (r->kind == TRIVSEL__REPORTER_KIND__REPORTER_KIND_UNSPECIFIED) {
        intake_problems_add(
            p, "reporter.kind", "missing_reporter_kind",
            "the reporter's kind is missing: must be REPORTER_KIND_PUBLIC_EMPLOYEE, "
            "REPORTER_KIND_OTHER_PROFESSIONAL, REPORTER_KIND_PRIVATE_CITIZEN or "
            "REPORTER_KIND_ANONYMOUS");
        return;
    }
    if (!protobuf_c_enum_descriptor_get_value(&trivsel__reporter_kind__descriptor, (int)r->kind)) {
        intake_problems_add(p, "reporter.kind", "invalid_reporter_kind", "unknown reporter kind %d",
                            (int)r->kind);
        return;
    }
    const Trivsel__Contact *c = r->contact;
    bool has_contact = c && (c->phone[0] || c->email[0] || (c->address && c->address->street[0]));
    if (r->kind == TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS) {
        /* An anonymous reporter's identity is not stored, so it must not be sent. */
        if (r->name[0] || r->organisation[0] || r->role[0] || has_contact)
            intake_problems_add(
                p, "reporter", "anonymous_reporter_identified",
                "an anonymous reporter has a name, organisation, role or contact: send none of "
                "them, or give the reporter's kind");
        return;
    }
    required_text(p, "reporter.name", r->name, INTAKE_MAX_NAME, "missing_reporter_name",
                  "the reporter's name (the kvittering goes to it)");
    text_field(p, "reporter.organisation", r->organisation, INTAKE_MAX_NAME);
    text_field(p, "reporter.role", r->role, INTAKE_MAX_NAME);
    if (!has_contact)
        intake_problems_add(
            p, "reporter.contact", "missing_reporter_contact",
            "the reporter's contact is missing: give a phone number, an e-mail or an address for "
            "the kvittering");
    if (c) {
        text_field(p, "reporter.contact.phone", c->phone, INTAKE_MAX_CONTACT);
        text_field(p, "reporter.contact.email", c->email, INTAKE_MAX_CONTACT);
        if (c->email[0] && !strchr(c->email, '@'))
            intake_problems_add(p, "reporter.contact.email", "invalid_email",
                                "invalid e-mail address \"%.64s\": must contain @",
                                intake_text_ok(c->email, INTAKE_MAX_CONTACT) ? c->email : "?");
        address_fields(p, "reporter.contact.address", c->address);
    }
}

/* A timestamp that is required and may not lie in the future. */
static bool instant_field(intake_problems_t *p, const char *field, const char *what,
                          const Google__Protobuf__Timestamp *ts, const intake_validate_options_t *o,
                          const char *code_prefix)
{
    char code[64];
    if (!ts) {
        snprintf(code, sizeof code, "missing_%s", code_prefix);
        intake_problems_add(p, field, code, "%s is missing", what);
        return false;
    }
    if (!intake_timestamp_valid(ts)) {
        snprintf(code, sizeof code, "invalid_%s", code_prefix);
        intake_problems_add(
            p, field, code,
            "%s (%lld seconds, %d nanoseconds) is not a valid time: must be between "
            "1900 and 9999",
            what, (long long)ts->seconds, (int)ts->nanos);
        return false;
    }
    int64_t us = intake_timestamp_us(ts);
    if (us > o->now_us + o->clock_skew_us) {
        char when[32];
        tr_calendar_format_local(ts->seconds, when, sizeof when);
        snprintf(code, sizeof code, "%s_in_future", code_prefix);
        intake_problems_add(
            p, field, code,
            "%s %s is in the future (%lld seconds ahead; %lld allowed for clock skew)", what, when,
            (long long)((us - o->now_us) / INTAKE_US_PER_SECOND),
            (long long)(o->clock_skew_us / INTAKE_US_PER_SECOND));
        return false;
    }
    return true;
}

void intake_validate_underretning(const Trivsel__Intake__UnderretningReceived *u,
                                  const char *municipality, const intake_validate_options_t *o,
                                  intake_problems_t *p, intake_child_key_t *key)
{
    size_t before = p->n;
    if (!municipality || strlen(municipality) != 3 || strspn(municipality, "0123456789") != 3)
        intake_problems_add(
            p, "", "invalid_municipality",
            "municipality \"%.8s\" is not a kommunekode: must be 3 digits, e.g. 630",
            municipality && intake_text_ok(municipality, 8) ? municipality : "?");
    else if (!municipality_served(o->municipalities, municipality))
        intake_problems_add(p, "", "unknown_municipality",
                            "municipality %s is not served by this intake: it serves %s",
                            municipality, o->municipalities);

    bool received_ok = instant_field(p, "received_at", "the time of receipt", u->received_at, o,
                                     "received_at");
    int64_t received_us = received_ok ? intake_timestamp_us(u->received_at) : 0;
    child_fields(u->child, received_us, received_ok, p, key);
    reporter_fields(u->reporter, p);

    if (u->channel == TRIVSEL__INTAKE__CHANNEL__CHANNEL_UNSPECIFIED)
        intake_problems_add(
            p, "channel", "missing_channel",
            "the channel is missing: how did the underretning reach the municipality?");
    else if (!protobuf_c_enum_descriptor_get_value(&trivsel__intake__channel__descriptor,
                                                   (int)u->channel))
        intake_problems_add(p, "channel", "invalid_channel", "unknown channel %d", (int)u->channel);

    required_text(p, "concern", u->concern, INTAKE_MAX_CONCERN, "missing_concern", "the concern");
    if (u->n_signals > INTAKE_MAX_SIGNALS)
        intake_problems_add(p, "signals", "too_many_signals", "%zu signals: at most %d are allowed",
                            u->n_signals, INTAKE_MAX_SIGNALS);
    for (size_t i = 0; i < u->n_signals && i < INTAKE_MAX_SIGNALS; i++) {
        char field[64];
        const Trivsel__Intake__Signal *s = u->signals[i];
        snprintf(field, sizeof field, "signals[%zu].category", i);
        if (s->category == TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_UNSPECIFIED ||
            !protobuf_c_enum_descriptor_get_value(&trivsel__intake__signal_category__descriptor,
                                                  (int)s->category))
            intake_problems_add(
                p, field, "invalid_signal_category",
                "signal %zu has no known category (%d): must be one of seed 004's groups", i,
                (int)s->category);
        snprintf(field, sizeof field, "signals[%zu].description", i);
        required_text(p, field, s->description, INTAKE_MAX_SIGNAL, "missing_signal_description",
                      "the signal's description");
    }
    if (u->reporter_score_present_case ==
            TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE &&
        (u->reporter_score < 1 || u->reporter_score > 10))
        intake_problems_add(
            p, "reporter_score", "invalid_score",
            "trivselslineal score %u is not valid: must be 1-10 (leave it out when none was given)",
            u->reporter_score);
    if (u->parents_suspected && !u->violence_suspected && !u->sexual_abuse_suspected)
        intake_problems_add(
            p, "parents_suspected", "inconsistent_abuse_flags",
            "parents_suspected is set, but neither violence_suspected nor sexual_abuse_suspected");
    text_field(p, "source_reference", u->source_reference, INTAKE_MAX_REFERENCE);
    text_field(p, "team", u->team, INTAKE_MAX_REFERENCE);
    if (key && p->n != before)
        *key = (intake_child_key_t){0};
}

static void employee_field(intake_problems_t *p, const char *field, const Trivsel__Employee *e,
                           const char *code, const char *what)
{
    char sub[96];
    if (!e || !e->id[0]) {
        intake_problems_add(p, field, code, "%s is missing: give at least the employee's id", what);
        return;
    }
    snprintf(sub, sizeof sub, "%s.id", field);
    text_field(p, sub, e->id, INTAKE_MAX_REFERENCE);
    snprintf(sub, sizeof sub, "%s.name", field);
    text_field(p, sub, e->name, INTAKE_MAX_NAME);
    snprintf(sub, sizeof sub, "%s.team", field);
    text_field(p, sub, e->team, INTAKE_MAX_REFERENCE);
}

void intake_validate_triage(const Trivsel__Intake__TriageCompleted *t,
                            const intake_triage_context_t *ctx, const intake_validate_options_t *o,
                            intake_problems_t *p)
{
    if (!t->underretning_id[0]) {
        intake_problems_add(p, "underretning_id", "missing_underretning_id",
                            "the underretning id is missing");
    } else if (!ctx->known) {
        intake_problems_add(p, "underretning_id", "unknown_underretning",
                            "no underretning \"%.40s\" is registered "
                            "in this municipality",
                            intake_text_ok(t->underretning_id, 40) ? t->underretning_id : "?");
    } else {
        if (t->case_id[0] && strcmp(t->case_id, ctx->case_id) != 0)
            intake_problems_add(
                p, "case_id", "case_mismatch",
                "case \"%.40s\" is not the underretning's case: it is registered on case %s",
                intake_text_ok(t->case_id, 40) ? t->case_id : "?", ctx->case_id);
        if (ctx->already_triaged)
            intake_problems_add(
                p, "underretning_id", "already_triaged",
                "underretning %s has been triaged already: there is one triage per underretning",
                t->underretning_id);
    }
    if (t->child_in_danger_present_case !=
        TRIVSEL__INTAKE__TRIAGE_COMPLETED__CHILD_IN_DANGER_PRESENT_CHILD_IN_DANGER)
        intake_problems_add(
            p, "child_in_danger", "missing_child_in_danger",
            "whether the child's health or development is in danger is not answered (Barnets Lov "
            "§136)");
    if (t->acute_measures_needed_present_case !=
        TRIVSEL__INTAKE__TRIAGE_COMPLETED__ACUTE_MEASURES_NEEDED_PRESENT_ACUTE_MEASURES_NEEDED)
        intake_problems_add(p, "acute_measures_needed", "missing_acute_measures_needed",
                            "whether acute measures are needed is not answered (Barnets Lov §136)");
    else if (t->acute_measures_needed)
        required_text(p, "acute_measures", t->acute_measures, INTAKE_MAX_CONCERN,
                      "missing_acute_measures",
                      "the acute measures (required when acute measures are needed)");
    else
        text_field(p, "acute_measures", t->acute_measures, INTAKE_MAX_CONCERN);
    if (t->outcome == TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_UNSPECIFIED)
        intake_problems_add(p, "outcome", "missing_outcome",
                            "the outcome of the triage is missing");
    else if (!protobuf_c_enum_descriptor_get_value(&trivsel__intake__triage_outcome__descriptor,
                                                   (int)t->outcome))
        intake_problems_add(p, "outcome", "invalid_outcome", "unknown triage outcome %d",
                            (int)t->outcome);
    if (t->outcome == TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_NO_FURTHER_ACTION)
        required_text(p, "reasons", t->reasons, INTAKE_MAX_CONCERN, "missing_reasons",
                      "the reasons (required for no further action)");
    else
        text_field(p, "reasons", t->reasons, INTAKE_MAX_CONCERN);
    employee_field(p, "triaged_by", t->triaged_by, "missing_triaged_by", "who made the triage");
    if (instant_field(p, "triaged_at", "the time of the triage", t->triaged_at, o, "triaged_at") &&
        ctx->known && intake_timestamp_us(t->triaged_at) < ctx->received_us)
        intake_problems_add(p, "triaged_at", "triaged_before_received",
                            "the triage is dated before the underretning was received");
    text_field(p, "boernesamtale_plan", t->boernesamtale_plan, INTAKE_MAX_CONCERN);
    if (ctx->known && ctx->abuse_case) {
        /* Barnets Lov §137 stk. 2-4 and §20 stk. 1. */
        required_text(
            p, "boernesamtale_plan", t->boernesamtale_plan, INTAKE_MAX_CONCERN,
            "missing_boernesamtale_plan",
            "the plan for the børnesamtale (mandatory when violence or sexual abuse is suspected, "
            "Barnets Lov §137)");
        /* Issue 4 and the municipalities' practice (seed 004: "Du må ikke involvere forældrene"):
         * in every abuse case, not only when the parents are suspected. */
        if (!t->parents_not_told)
            intake_problems_add(
                p, "parents_not_told", "parents_not_told_unconfirmed",
                ctx->parents_suspected
                    ? "the parents may be the abusers: the triage must confirm that they were not "
                      "told (parents_not_told, Barnets Lov §137)"
                    : "violence or sexual abuse is suspected: the triage must confirm that the "
                      "parents were not told (parents_not_told, Barnets Lov §137)");
        if (t->outcome != TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_UNSPECIFIED &&
            t->outcome !=
                TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE)
            intake_problems_add(p, "outcome", "investigation_required",
                                "a børnefaglig undersøgelse is mandatory when violence or sexual "
                                "abuse is suspected "
                                "(Barnets Lov §20 stk. 1): the outcome must be "
                                "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE");
    }
    if (ctx->known && ctx->genvurdering_required) {
        /* Barnets Lov §137 stk. 1: at least one person who has not handled the case before. */
        const Trivsel__Employee *g = t->genvurdering_participant;
        if (!g || !g->id[0]) {
            intake_problems_add(p, "genvurdering_participant", "missing_genvurdering_participant",
                                "the child has an active measure or placement: the genvurdering "
                                "needs a participant "
                                "who has not handled the case before (Barnets Lov §137 stk. 1)");
        } else {
            bool handled = t->triaged_by && strcmp(t->triaged_by->id, g->id) == 0;
            for (size_t i = 0; i < ctx->n_earlier_triagers && !handled; i++)
                handled = strcmp(ctx->earlier_triagers[i], g->id) == 0;
            if (handled)
                intake_problems_add(p, "genvurdering_participant.id",
                                    "genvurdering_participant_not_new",
                                    "employee \"%.40s\" has handled the case before: the "
                                    "genvurdering needs someone "
                                    "who has not (Barnets Lov §137 stk. 1)",
                                    intake_text_ok(g->id, 40) ? g->id : "?");
            else
                employee_field(p, "genvurdering_participant", g, "missing_genvurdering_participant",
                               "the genvurdering participant");
        }
    } else if (t->genvurdering_participant) {
        employee_field(p, "genvurdering_participant", t->genvurdering_participant,
                       "missing_genvurdering_participant", "the genvurdering participant");
    }
}
