/* settlement.c — the monthly settlement (DOMAIN.md §3): what each order cost the municipality
 * in one calendar month, per order, child, supplier, team and legal basis, in øre; emitted once
 * as ordering.settlement.calculated and stored in ordering.settlement. The arithmetic (days
 * active, proration by day, each price model, the rounding rule) is common/settlement.c, tested
 * on its own; this file loads the orders, builds the event and stores it.
 *
 * Which orders: those active on a day of the month (start <= last day, end >= first day) that
 * their supplier has accepted. A declined order costs nothing. An order still waiting for its
 * supplier's answer is not paid for; it is named in unaccepted_order_ids (and flagged, see
 * acceptance.c). An accepted order's end, adjustments and scope changes are all in its scope
 * rows and end date.
 *
 * Idempotent: a settled month has a row in ordering.settlement and is never computed again; a
 * second run (automatic or `trivselctl settle`) finds the row, changes nothing and emits
 * nothing. The event id, "settlement-<kommunekode>-<YYYY-MM>", is the same for every attempt, so
 * even two instances racing past the row check would store one event (the broker keeps one event
 * per publisher and event id); the advisory lock and the primary key make that race impossible
 * anyway.
 *
 * Why the service runs it, and trivselctl only asks: the settlement is the ordering service's
 * data and its event. Computing it in trivselctl would put a second writer of
 * ordering.settlement.calculated beside the service, with its own database role and no outbox
 * transaction shared with the orders it reads. So `trivselctl settle MONTH` makes the month's
 * due row due now (ordering.settlement_due, the same row the automatic run uses), notifies the
 * service, and waits for the stored result to print it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ordering.h"

typedef struct settle_order {
    char *order_id, *case_id, *cpr, *cvr, *supplier_name, *team, *offer_id;
    int legal_basis, price_model;
    tr_date_t start, end;
    bool accepted;
    tr_order_scope_t *scopes;
    size_t nscopes, cap;
} settle_order_t;

typedef struct settle {
    ordering_t *o;
    tr_pg_txn_t *txn;
    char municipality[8], month[8];
    int year, mon;
    void (*done_cb)(const char *error, void *arg);
    void *arg;
    bool already;
    settle_order_t *orders;
    size_t norders;
} settle_t;

static void settle_free(settle_t *s)
{
    for (size_t i = 0; i < s->norders; i++) {
        settle_order_t *x = &s->orders[i];
        free(x->order_id);
        free(x->case_id);
        free(x->cpr);
        free(x->cvr);
        free(x->supplier_name);
        free(x->team);
        free(x->offer_id);
        free(x->scopes);
    }
    free(s->orders);
    free(s);
}

static void end(settle_t *s, const char *error)
{
    s->done_cb(error, s->arg);
    settle_free(s);
}

static void ignore_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* the commit reports it */
    (void)arg;
}

/* ---- building the event ---------------------------------------------------------------------- */

typedef struct built {
    Trivsel__Ordering__SettlementCalculated msg;
    Trivsel__Ordering__SettlementLine *lines;
    Trivsel__Ordering__SettlementLine **line_ptrs;
    Trivsel__Ordering__SettlementSegment *segments;
    Trivsel__Ordering__SettlementSegment **segment_ptrs;
    char (*dates)[TR_CALENDAR_DATE_LEN];
    char **child_keys, **supplier_keys, **team_keys, **basis_keys;
    tr_oere_t *amounts;
    tr_settlement_total_t *totals;
    Trivsel__Ordering__ChildTotal *child, **child_ptrs;
    Trivsel__Ordering__SupplierTotal *supplier, **supplier_ptrs;
    Trivsel__Ordering__TeamTotal *team, **team_ptrs;
    Trivsel__Ordering__LegalBasisTotal *basis, **basis_ptrs;
    char **unaccepted;
    Google__Protobuf__Timestamp calculated_at;
} built_t;

static void built_release(built_t *b, size_t nlines)
{
    for (size_t i = 0; i < nlines; i++) {
        if (b->child_keys)
            free(b->child_keys[i]);
        if (b->basis_keys)
            free(b->basis_keys[i]);
    }
    free(b->lines);
    free(b->line_ptrs);
    free(b->segments);
    free(b->segment_ptrs);
    free(b->dates);
    free(b->child_keys);
    free(b->supplier_keys);
    free(b->team_keys);
    free(b->basis_keys);
    free(b->amounts);
    free(b->totals);
    free(b->child);
    free(b->child_ptrs);
    free(b->supplier);
    free(b->supplier_ptrs);
    free(b->team);
    free(b->team_ptrs);
    free(b->basis);
    free(b->basis_ptrs);
    free(b->unaccepted);
}

/* Fills b from the loaded orders; everything in b borrows from s. Returns NULL or the error. */
static const char *build(settle_t *s, built_t *b, size_t *nlines_out)
{
    size_t n = s->norders, nlines = 0, nseg = 0, nunaccepted = 0;
    *nlines_out = 0;
    trivsel__ordering__settlement_calculated__init(&b->msg);
    b->lines = calloc(n + 1, sizeof *b->lines);
    b->line_ptrs = calloc(n + 1, sizeof *b->line_ptrs);
    b->segments = calloc(n * TR_SETTLEMENT_MAX_SEGMENTS + 1, sizeof *b->segments);
    b->segment_ptrs = calloc(n * TR_SETTLEMENT_MAX_SEGMENTS + 1, sizeof *b->segment_ptrs);
    b->dates = calloc(2 * n * TR_SETTLEMENT_MAX_SEGMENTS + 1, sizeof *b->dates);
    b->child_keys = calloc(n + 1, sizeof *b->child_keys);
    b->supplier_keys = calloc(n + 1, sizeof *b->supplier_keys);
    b->team_keys = calloc(n + 1, sizeof *b->team_keys);
    b->basis_keys = calloc(n + 1, sizeof *b->basis_keys);
    b->amounts = calloc(n + 1, sizeof *b->amounts);
    b->totals = calloc(n + 1, sizeof *b->totals);
    b->unaccepted = calloc(n + 1, sizeof *b->unaccepted);
    if (!b->lines || !b->line_ptrs || !b->segments || !b->segment_ptrs || !b->dates ||
        !b->child_keys || !b->supplier_keys || !b->team_keys || !b->basis_keys || !b->amounts ||
        !b->totals || !b->unaccepted)
        return "out of memory";
    tr_oere_t total = 0;
    for (size_t i = 0; i < n; i++) {
        settle_order_t *x = &s->orders[i];
        if (!x->accepted) {
            b->unaccepted[nunaccepted++] = x->order_id;
            continue;
        }
        tr_order_terms_t t = {(tr_price_model_t)x->price_model, x->start, x->end, x->scopes,
                              x->nscopes};
        tr_settlement_line_t line;
        tr_error_t err = {0};
        if (tr_settlement_month(&t, s->year, s->mon, &line, &err) < 0) {
            /* Stored orders were checked when placed: this is a fault of the data, not the month.
             */
            tr_log_error("cannot settle an order", TR_LOG_STR("order_id", x->order_id),
                         TR_LOG_STR("month", s->month), TR_LOG_STR("error", err.message));
            return "an order cannot be settled (see the log)";
        }
        if (line.days_active == 0)
            continue;
        Trivsel__Ordering__SettlementLine *l = &b->lines[nlines];
        trivsel__ordering__settlement_line__init(l);
        l->order_id = x->order_id;
        l->case_id = x->case_id;
        l->child_cpr = x->cpr;
        l->supplier_cvr = x->cvr;
        l->team = x->team;
        l->legal_basis = (Trivsel__LegalBasis)x->legal_basis;
        l->offer_id = x->offer_id;
        l->price_model = (Trivsel__Ordering__PriceModel)x->price_model;
        l->days_active = (uint32_t)line.days_active;
        l->amount_oere = line.amount_oere;
        l->segments = &b->segment_ptrs[nseg];
        for (size_t k = 0; k < line.nsegments; k++) {
            Trivsel__Ordering__SettlementSegment *g = &b->segments[nseg];
            trivsel__ordering__settlement_segment__init(g);
            tr_calendar_format_date(line.segments[k].from, b->dates[2 * nseg]);
            tr_calendar_format_date(line.segments[k].to, b->dates[2 * nseg + 1]);
            g->from_date = b->dates[2 * nseg];
            g->to_date = b->dates[2 * nseg + 1];
            g->days = (uint32_t)line.segments[k].days;
            g->minutes_per_week = line.segments[k].minutes_per_week;
            g->price_oere = line.segments[k].price_oere;
            g->amount_oere = line.segments[k].amount_oere;
            b->segment_ptrs[nseg++] = g;
            l->n_segments++;
        }
        b->line_ptrs[nlines] = l;
        /* Group keys: a child is its case and CPR number; a legal basis sorts by number. */
        size_t klen = strlen(x->case_id) + strlen(x->cpr) + 2;
        b->child_keys[nlines] = malloc(klen);
        b->basis_keys[nlines] = malloc(8);
        if (!b->child_keys[nlines] || !b->basis_keys[nlines]) {
            *nlines_out = nlines + 1;
            return "out of memory";
        }
        snprintf(b->child_keys[nlines], klen, "%s\x1f%s", x->case_id, x->cpr);
        snprintf(b->basis_keys[nlines], 8, "%03d", x->legal_basis);
        b->supplier_keys[nlines] = x->cvr;
        b->team_keys[nlines] = x->team;
        b->amounts[nlines] = line.amount_oere;
        if (tr_money_add(total, line.amount_oere, &total) < 0)
            return "the month's total does not fit in 64 bits";
        nlines++;
        *nlines_out = nlines;
    }
    b->msg.month = s->month;
    b->msg.lines = b->line_ptrs;
    b->msg.n_lines = nlines;
    b->msg.total_oere = total;
    b->msg.unaccepted_order_ids = b->unaccepted;
    b->msg.n_unaccepted_order_ids = nunaccepted;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    google__protobuf__timestamp__init(&b->calculated_at);
    b->calculated_at.seconds = ts.tv_sec;
    b->calculated_at.nanos = (int32_t)(ts.tv_nsec / 1000000 * 1000000);
    b->msg.calculated_at = &b->calculated_at;

    /* Totals: sums of the lines, so each grouping adds up to total_oere exactly. */
    size_t ng;
    b->child = calloc(nlines + 1, sizeof *b->child);
    b->child_ptrs = calloc(nlines + 1, sizeof *b->child_ptrs);
    b->supplier = calloc(nlines + 1, sizeof *b->supplier);
    b->supplier_ptrs = calloc(nlines + 1, sizeof *b->supplier_ptrs);
    b->team = calloc(nlines + 1, sizeof *b->team);
    b->team_ptrs = calloc(nlines + 1, sizeof *b->team_ptrs);
    b->basis = calloc(nlines + 1, sizeof *b->basis);
    b->basis_ptrs = calloc(nlines + 1, sizeof *b->basis_ptrs);
    if (!b->child || !b->child_ptrs || !b->supplier || !b->supplier_ptrs || !b->team ||
        !b->team_ptrs || !b->basis || !b->basis_ptrs)
        return "out of memory";
    if (tr_settlement_totals((const char *const *)b->child_keys, b->amounts, nlines, b->totals,
                             &ng) < 0)
        return "a total does not fit in 64 bits";
    for (size_t i = 0; i < ng; i++) {
        Trivsel__Ordering__ChildTotal *c = &b->child[i];
        trivsel__ordering__child_total__init(c);
        char *sep = strchr(b->totals[i].key, '\x1f');
        *sep = '\0'; /* the key is ours: split it into case and CPR in place */
        c->case_id = (char *)b->totals[i].key;
        c->child_cpr = sep + 1;
        c->amount_oere = b->totals[i].amount_oere;
        b->child_ptrs[i] = c;
    }
    b->msg.child_totals = b->child_ptrs;
    b->msg.n_child_totals = ng;
    if (tr_settlement_totals((const char *const *)b->supplier_keys, b->amounts, nlines, b->totals,
                             &ng) < 0)
        return "a total does not fit in 64 bits";
    for (size_t i = 0; i < ng; i++) {
        Trivsel__Ordering__SupplierTotal *x = &b->supplier[i];
        trivsel__ordering__supplier_total__init(x);
        x->supplier_cvr = (char *)b->totals[i].key;
        for (size_t k = 0; k < s->norders; k++) {
            if (strcmp(s->orders[k].cvr, x->supplier_cvr) == 0) {
                x->supplier_name = s->orders[k].supplier_name;
                break;
            }
        }
        x->amount_oere = b->totals[i].amount_oere;
        b->supplier_ptrs[i] = x;
    }
    b->msg.supplier_totals = b->supplier_ptrs;
    b->msg.n_supplier_totals = ng;
    if (tr_settlement_totals((const char *const *)b->team_keys, b->amounts, nlines, b->totals,
                             &ng) < 0)
        return "a total does not fit in 64 bits";
    for (size_t i = 0; i < ng; i++) {
        trivsel__ordering__team_total__init(&b->team[i]);
        b->team[i].team = (char *)b->totals[i].key;
        b->team[i].amount_oere = b->totals[i].amount_oere;
        b->team_ptrs[i] = &b->team[i];
    }
    b->msg.team_totals = b->team_ptrs;
    b->msg.n_team_totals = ng;
    if (tr_settlement_totals((const char *const *)b->basis_keys, b->amounts, nlines, b->totals,
                             &ng) < 0)
        return "a total does not fit in 64 bits";
    for (size_t i = 0; i < ng; i++) {
        trivsel__ordering__legal_basis_total__init(&b->basis[i]);
        b->basis[i].legal_basis = (Trivsel__LegalBasis)atoi(b->totals[i].key);
        b->basis[i].amount_oere = b->totals[i].amount_oere;
        b->basis_ptrs[i] = &b->basis[i];
    }
    b->msg.legal_basis_totals = b->basis_ptrs;
    b->msg.n_legal_basis_totals = ng;
    return NULL;
}

/* Puts one part of the settlement's event into the outbox, in the caller's transaction: its
 * share [from, from + per) of lines, child totals and unaccepted orders, and all the totals. */
static const char *emit_part(settle_t *s, const built_t *b, uint32_t part, uint32_t parts)
{
    size_t per = s->o->settings.settlement_part_lines, from = (size_t)(part - 1) * per;
    Trivsel__Ordering__SettlementCalculated m = b->msg;
#define SLICE(field)                                                                           \
    do {                                                                                       \
        size_t n_ = b->msg.n_##field;                                                          \
        m.field = from < n_ ? b->msg.field + from : NULL;                                      \
        m.n_##field = from < n_ ? (n_ - from < per ? n_ - from : per) : 0;                     \
    } while (0)
    SLICE(lines);
    SLICE(child_totals);
    SLICE(unaccepted_order_ids);
#undef SLICE
    m.part = part;
    m.parts = parts;
    char event_id[64];
    if (part == 1)
        snprintf(event_id, sizeof event_id, "settlement-%s-%s", s->municipality, s->month);
    else
        snprintf(event_id, sizeof event_id, "settlement-%s-%s-part%u", s->municipality, s->month,
                 (unsigned)part);
    Trivsel__Envelope ev;
    uint8_t *payload = NULL;
    tr_error_t err = {0};
    if (tr_envelope_make(&ev, event_id, "ordering.settlement.calculated", s->municipality, "",
                         b->msg.calculated_at, &m.base, &payload, &err) < 0) {
        free(payload);
        tr_log_error("cannot make the settlement event", TR_LOG_STR("error", err.message));
        return "cannot make the settlement event";
    }
    size_t len = trivsel__envelope__get_packed_size(&ev);
    uint8_t *envelope = malloc(len ? len : 1);
    if (!envelope) {
        free(payload);
        return "out of memory";
    }
    trivsel__envelope__pack(&ev, envelope);
    const char *ov[1] = {(const char *)envelope};
    int lengths[1] = {(int)len}, formats[1] = {1};
    tr_pg_txn_query_binary(s->txn, "INSERT INTO broker.outbox (envelope) VALUES ($1)", 1, ov,
                           lengths, formats, ignore_cb, NULL);
    free(envelope);
    free(payload);
    return NULL;
}

/* Stores the settlement (whole, for trivselctl settle and the CSV) and puts its event into the
 * outbox in as many parts as its lines need, in the caller's transaction. */
static const char *store(settle_t *s, built_t *b)
{
    size_t per = s->o->settings.settlement_part_lines, most = b->msg.n_lines;
    if (b->msg.n_child_totals > most)
        most = b->msg.n_child_totals;
    if (b->msg.n_unaccepted_order_ids > most)
        most = b->msg.n_unaccepted_order_ids;
    uint32_t parts = most <= per ? 1 : (uint32_t)((most + per - 1) / per);
    /* The stored copy says how many parts the event had. */
    b->msg.part = 1;
    b->msg.parts = parts;
    size_t plen = trivsel__ordering__settlement_calculated__get_packed_size(&b->msg);
    uint8_t *whole = malloc(plen ? plen : 1);
    if (!whole)
        return "out of memory";
    trivsel__ordering__settlement_calculated__pack(&b->msg, whole);
    char *calculated = ordering_hex(whole, plen);
    free(whole);
    if (!calculated)
        return "out of memory";
    char event_id[64], total[32], lines[16], at[32];
    snprintf(event_id, sizeof event_id, "settlement-%s-%s", s->municipality, s->month);
    snprintf(total, sizeof total, "%lld", (long long)b->msg.total_oere);
    snprintf(lines, sizeof lines, "%zu", b->msg.n_lines);
    snprintf(at, sizeof at, "%lld.%03d", (long long)b->calculated_at.seconds,
             b->calculated_at.nanos / 1000000);
    const char *sv[7] = {s->municipality, s->month, at, event_id, total, lines, calculated};
    tr_pg_txn_query(
        s->txn,
        "INSERT INTO ordering.settlement (municipality, month, calculated_at, event_id, total_oere,"
        " line_count, calculated) VALUES ($1, $2, to_timestamp($3::double precision), $4, $5, $6,"
        " $7)",
        7, sv, ignore_cb, NULL);
    free(calculated);
    for (uint32_t part = 1; part <= parts; part++) {
        const char *error = emit_part(s, b, part, parts);
        if (error)
            return error;
    }
    tr_metric_inc(s->o->settlements);
    tr_log_info("month settled", TR_LOG_STR("municipality", s->municipality),
                TR_LOG_STR("month", s->month), TR_LOG_INT("lines", (long long)b->msg.n_lines),
                TR_LOG_INT("total_oere", b->msg.total_oere),
                TR_LOG_INT("unaccepted", (long long)b->msg.n_unaccepted_order_ids),
                TR_LOG_INT("events", (long long)parts));
    return NULL;
}

/* ---- loading --------------------------------------------------------------------------------- */

static void scopes_cb(PGresult *res, const char *error, void *arg)
{
    settle_t *s = arg;
    if (error) {
        end(s, error);
        return;
    }
    if (s->already) {
        tr_log_info("month settled already; nothing to do",
                    TR_LOG_STR("municipality", s->municipality), TR_LOG_STR("month", s->month));
        end(s, NULL);
        return;
    }
    for (size_t i = 0; i < s->norders; i++) {
        const settle_order_t *x = &s->orders[i];
        if (!x->order_id || !x->case_id || !x->cpr || !x->cvr || !x->supplier_name || !x->team ||
            !x->offer_id) {
            end(s, "out of memory");
            return;
        }
    }
    /* Rows ordered by order_id, effective_from; the orders are in the same order. */
    size_t k = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        while (k < s->norders && strcmp(s->orders[k].order_id, id) != 0)
            k++;
        if (k == s->norders) {
            end(s, "the scope rows do not match the orders");
            return;
        }
        settle_order_t *x = &s->orders[k];
        if (x->nscopes == x->cap) {
            size_t cap = x->cap ? 2 * x->cap : 4;
            tr_order_scope_t *sc = realloc(x->scopes, cap * sizeof *sc);
            if (!sc) {
                end(s, "out of memory");
                return;
            }
            x->scopes = sc;
            x->cap = cap;
        }
        x->scopes[x->nscopes++] = (tr_order_scope_t){ordering_date_value(res, i, 1),
                                                     (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL,
                                                                       10),
                                                     strtoll(PQgetvalue(res, i, 3), NULL, 10)};
    }
    built_t b = {0};
    size_t nlines = 0;
    const char *error_text = build(s, &b, &nlines);
    if (!error_text)
        error_text = store(s, &b);
    built_release(&b, nlines);
    end(s, error_text);
}

static void orders_cb(PGresult *res, const char *error, void *arg)
{
    settle_t *s = arg;
    if (error)
        return; /* scopes_cb reports it */
    int n = PQntuples(res);
    s->orders = calloc((size_t)n + 1, sizeof *s->orders);
    if (!s->orders)
        return;
    for (int i = 0; i < n; i++) {
        settle_order_t *x = &s->orders[i];
        x->order_id = strdup(PQgetvalue(res, i, 0));
        x->case_id = strdup(PQgetvalue(res, i, 1));
        x->cpr = strdup(PQgetvalue(res, i, 2));
        x->cvr = strdup(PQgetvalue(res, i, 3));
        x->supplier_name = strdup(PQgetvalue(res, i, 4));
        x->team = strdup(PQgetvalue(res, i, 5));
        x->legal_basis = atoi(PQgetvalue(res, i, 6));
        x->offer_id = strdup(PQgetvalue(res, i, 7));
        x->price_model = atoi(PQgetvalue(res, i, 8));
        x->start = ordering_date_value(res, i, 9);
        x->end = ordering_date_value(res, i, 10);
        x->accepted = strcmp(PQgetvalue(res, i, 11), "accepted") == 0;
        s->norders++;
    }
}

static void exists_cb(PGresult *res, const char *error, void *arg)
{
    settle_t *s = arg;
    if (!error)
        s->already = PQntuples(res) > 0;
}

void ordering_settle(ordering_t *o, tr_pg_txn_t *txn, const char *municipality, const char *month,
                     void (*done_cb)(const char *error, void *arg), void *arg)
{
    settle_t *s = calloc(1, sizeof *s);
    if (!s) {
        done_cb("out of memory", arg);
        return;
    }
    *s = (settle_t){.o = o, .txn = txn, .done_cb = done_cb, .arg = arg};
    snprintf(s->municipality, sizeof s->municipality, "%s", municipality);
    snprintf(s->month, sizeof s->month, "%s", month);
    s->year = atoi(month);
    s->mon = atoi(month + 5);
    char first[TR_CALENDAR_DATE_LEN], last[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date((tr_date_t){s->year, s->mon, 1}, first);
    tr_calendar_format_date((tr_date_t){s->year, s->mon,
                                        tr_calendar_days_in_month(s->year, s->mon)},
                            last);
    const char *lv[1] = {municipality};
    const char *ev[2] = {municipality, month};
    const char *v[3] = {municipality, first, last};
    tr_pg_txn_query(txn, "SELECT pg_advisory_xact_lock(hashtextextended('ordering/' || $1, 0))", 1,
                    lv, ignore_cb, NULL);
    tr_pg_txn_query(txn, "SELECT 1 FROM ordering.settlement WHERE municipality = $1 AND month = $2",
                    2, ev, exists_cb, s);
    tr_pg_txn_query(
        txn,
        "SELECT o.order_id, o.case_id, o.child_cpr, o.supplier_cvr, coalesce(p.name, ''), o.team,"
        " o.legal_basis, o.offer_id, o.price_model, o.start_date, o.end_date, o.status"
        " FROM ordering.orders o"
        " LEFT JOIN ordering.supplier p ON p.municipality = o.municipality AND p.cvr ="
        " o.supplier_cvr"
        " WHERE o.municipality = $1 AND o.status IN ('placed', 'accepted')"
        " AND o.start_date <= $3 AND o.end_date >= $2 ORDER BY o.order_id COLLATE \"C\"",
        3, v, orders_cb, s);
    if (tr_pg_txn_query(txn,
                        "SELECT c.order_id, c.effective_from, c.minutes_per_week, c.price_oere"
                        " FROM ordering.order_scope c JOIN ordering.orders o"
                        "   ON o.municipality = c.municipality AND o.order_id = c.order_id"
                        " WHERE o.municipality = $1 AND o.status IN ('placed', 'accepted')"
                        " AND o.start_date <= $3 AND o.end_date >= $2"
                        " ORDER BY c.order_id COLLATE \"C\", c.effective_from",
                        3, v, scopes_cb, s) < 0)
        end(s, "cannot query the database");
}
