/* trivselctl docs progress — a child's trivselslineal series per area (issue 7, item 5), from
 * the assessments (assessment.score) and the suppliers' progressionsmålinger
 * (docs.measurement_score) together, read as the admin (the database variables as for migrate):
 *
 *   trivselctl docs progress CPR [--svg FILE]
 *
 * Prints one table per area, sorted by time: the date in Danish time, the score, its level name
 * and where it came from ("assessment", or the supplier's name and CVR). With --svg, also
 * writes a self-contained SVG chart for a caseworker's report: one line per area on the 1-10
 * axis over the trivselslineal's colour bands (labelled with the level names), a legend, and a
 * title naming the child by initials and case id only — never the CPR or the name. Each area
 * has its own marker and dash pattern, so the chart reads in black and white; filled markers
 * are assessments, open ones the suppliers' measurements.
 *
 * Showing a child's progress is written to the audit log (broker.audit, action
 * "progress_shown", one row per case, committed before anything is printed or written). */
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
    fprintf(out, "usage: trivselctl docs progress CPR [--svg FILE]\n\n"
                 "Prints the child's trivselslineal scores (1-10) per area over time, from the "
                 "assessments and the\n"
                 "suppliers' measurements together, in Danish time. With --svg FILE, also writes "
                 "them as an SVG chart\n"
                 "for a report (the child named by initials and case id only). CPR is DDMMYYSSSS "
                 "or DDMMYY-SSSS.\n"
                 "Each case shown is written to the audit log. Database access as for migrate "
                 "(TRIVSEL_DATABASE_URL,\n"
                 "_USER, _PASSWORD_FILE).\n");
    return out == stdout ? 0 : 2;
}

static const char *who(void)
{
    const char *user = getenv("USER");
    if (user && user[0])
        return user;
    struct passwd *pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "unknown";
}

/* Prints s left-aligned in width characters (UTF-8 aware). */
static void pad(const char *s, int width)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    printf("%s%*s", s, width > chars ? width - chars : 0, "");
}

/* ---- the series ------------------------------------------------------------------------------ */

#define N_AREAS 7 /* trivsel.LifeArea 1-7 */

typedef struct point {
    int area;   /* 1-7 */
    int score;  /* 1-10 */
    int64_t at; /* UTC seconds: the assessment's time, or noon Danish time of the day measured */
    bool measurement; /* a supplier's measurement, else an assessment */
    char when[32];    /* as printed */
    char source[200]; /* "assessment" or "Name (CVR 12345678)" */
} point_t;

static int point_cmp(const void *a, const void *b)
{
    const point_t *p = a, *q = b;
    if (p->area != q->area)
        return p->area - q->area;
    if (p->at != q->at)
        return p->at < q->at ? -1 : 1;
    return (int)p->measurement - (int)q->measurement;
}

static int area_number(const char *name)
{
    const ProtobufCEnumValue *e =
        protobuf_c_enum_descriptor_get_value_by_name(&trivsel__life_area__descriptor, name);
    return e && e->value >= 1 && e->value <= N_AREAS ? e->value : 0;
}

/* ---- the SVG --------------------------------------------------------------------------------- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* "Emil Nørgaard Jensen" -> "E.N.J." (each word's first UTF-8 character). */
static void initials(const char *name, char *buf, size_t len)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)name;
    buf[0] = '\0';
    while (*p) {
        while (*p == ' ' || *p == '-')
            p++;
        if (!*p)
            break;
        size_t c = 1;
        while (p[c] && (p[c] & 0xC0) == 0x80)
            c++;
        if (n + c + 2 > len)
            break;
        memcpy(buf + n, p, c);
        n += c;
        buf[n++] = '.';
        buf[n] = '\0';
        p += c;
        while (*p && *p != ' ' && *p != '-')
            p++;
    }
}

#define SVG_W 900
#define SVG_H 600
#define PL 70  /* plot left */
#define PR 690 /* plot right */
#define PT 80  /* plot top */
#define PB 440 /* plot bottom */

static double y_of(double score) /* the axis runs 0.5-10.5 so each band has the same height */
{
    return PB - (score - 0.5) / 10.0 * (PB - PT);
}

static const char *const area_colour[N_AREAS + 1] = {"",        "#1f4e99", "#b2182b", "#1b7837",
                                                     "#6a3d9a", "#b35806", "#01665e", "#000000"};
static const char *const area_dash[N_AREAS + 1] = {"",         "",    "8,4",  "2,3",
                                                   "10,3,2,3", "4,4", "12,6", ""};

/* The marker of an area at (x, y): a different shape per area; open (white) for a measurement. */
static void marker(FILE *f, int area, double x, double y, bool open)
{
    const char *c = area_colour[area];
    char style[160];
    snprintf(style, sizeof style, "fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"",
             open ? "#ffffff" : c, c);
    switch (area) {
    case 1: fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" %s/>", x, y, style); break;
    case 2:
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" %s/>", x - 4.5, y - 4.5,
                style);
        break;
    case 3:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y - 6, x + 5.5,
                y + 4, x - 5.5, y + 4, style);
        break;
    case 4:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y - 6,
                x + 6, y, x, y + 6, x - 6, y, style);
        break;
    case 5:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y + 6, x + 5.5,
                y - 4, x - 5.5, y - 4, style);
        break;
    case 6: /* a cross: open or not, drawn in the colour */
        fprintf(f,
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f "
                "%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>",
                x - 2, y - 6, x + 2, y - 6, x + 2, y - 2, x + 6, y - 2, x + 6, y + 2, x + 2, y + 2,
                x + 2, y + 6, x - 2, y + 6, x - 2, y + 2, x - 6, y + 2, x - 6, y - 2, x - 2, y - 2,
                style);
        break;
    default: /* a star-ish hexagon */
        fprintf(f,
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                "%s/>",
                x - 3, y - 5.5, x + 3, y - 5.5, x + 6, y, x + 3, y + 5.5, x - 3, y + 5.5, x - 6, y,
                style);
    }
    fputc('\n', f);
}

static void date_of(int64_t t, char buf[TR_CALENDAR_DATE_LEN])
{
    tr_calendar_format_date(tr_calendar_local_date(t), buf);
}

static int write_svg(const char *path, const point_t *pts, int n, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "trivselctl: cannot write %s: %m\n", path);
        return -1;
    }
    int64_t t0 = 0, t1 = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || pts[i].at < t0)
            t0 = pts[i].at;
        if (i == 0 || pts[i].at > t1)
            t1 = pts[i].at;
    }
    if (n == 0)
        t0 = t1 = (int64_t)time(NULL);
    if (t1 - t0 < 86400) { /* one day at least, the points in the middle */
        t0 -= 43200;
        t1 += 43200;
    }
    int64_t margin = (t1 - t0) / 20;
    t0 -= margin;
    t1 += margin;
#define X_OF(t) (PL + (double)((t)-t0) / (double)(t1 - t0) * (PR - PL))

    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
            "%d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fputs("<title>", f);
    xml_text(f, title);
    fputs("</title>\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
    fprintf(f, "<text x=\"%d\" y=\"30\" font-size=\"18\" font-weight=\"bold\">", PL);
    xml_text(f, title);
    fprintf(f,
            "</text>\n<text x=\"%d\" y=\"52\" fill=\"#333333\">Trivselslinealen 1-10 per "
            "område. Udfyldt markør: myndighedens vurdering; åben markør: leverandørens "
            "måling.</text>\n",
            PL);

    /* The bands, light enough to print grey, each named. */
    static const struct {
        int lo, hi;
        const char *fill;
    } bands[] = {{1, 2, "#f4b6b0"},
                 {3, 4, "#f9d2a6"},
                 {5, 6, "#fbeea6"},
                 {7, 8, "#d9edb8"},
                 {9, 10, "#a9d99a"}};
    fputs("<g id=\"bands\">\n", f);
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        double top = y_of(bands[i].hi + 0.5), bottom = y_of(bands[i].lo - 0.5);
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>\n", PL,
                top, PR - PL, bottom - top, bands[i].fill);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" dominant-baseline=\"middle\">%s (%d-%d)</text>\n",
                PR + 8, (top + bottom) / 2, tr_trivselslineal_level_name(bands[i].lo), bands[i].lo,
                bands[i].hi);
    }
    fputs("</g>\n", f);

    /* The axes: 1-10 up, dates along. */
    fputs("<g id=\"axes\" stroke=\"#000000\">\n", f);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PT, PL, PB);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PL, PB, PR, PB);
    for (int s = 1; s <= 10; s++) {
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", PL - 5, y_of(s), PL,
                y_of(s));
        fprintf(f,
                "<text x=\"%d\" y=\"%.1f\" stroke=\"none\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">%d</text>\n",
                PL - 8, y_of(s), s);
    }
    int ticks = 5;
    for (int i = 0; i < ticks; i++) {
        int64_t t = t0 + margin + (t1 - t0 - 2 * margin) * i / (ticks - 1);
        char d[TR_CALENDAR_DATE_LEN];
        date_of(t, d);
        double x = X_OF(t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", x, PB, x, PB + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" stroke=\"none\" text-anchor=\"middle\">%s</text>\n",
                x, PB + 20, d);
    }
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" stroke=\"none\" transform=\"rotate(-90 %d %d)\" "
            "text-anchor=\"middle\">score</text>\n",
            22, (PT + PB) / 2, 22, (PT + PB) / 2);
    fputs("</g>\n", f);

    /* One polyline per area, then its markers. */
    int legend = 0;
    for (int a = 1; a <= N_AREAS; a++) {
        int first = -1, count = 0;
        for (int i = 0; i < n; i++)
            if (pts[i].area == a) {
                if (first < 0)
                    first = i;
                count++;
            }
        if (!count)
            continue;
        const char *name = tr_trivselslineal_area_name(a);
        fprintf(f,
                "<g class=\"area\" id=\"area-%d\">\n<polyline class=\"series\" fill=\"none\" "
                "stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"",
                a, area_colour[a], area_dash[a][0] ? " stroke-dasharray=\"" : "", area_dash[a],
                area_dash[a][0] ? "\"" : "");
        for (int i = first; i < first + count; i++)
            fprintf(f, "%s%.1f,%.1f", i > first ? " " : "", X_OF(pts[i].at), y_of(pts[i].score));
        fputs("\"><title>", f);
        xml_text(f, name);
        fputs("</title></polyline>\n", f);
        for (int i = first; i < first + count; i++)
            marker(f, a, X_OF(pts[i].at), y_of(pts[i].score), pts[i].measurement);
        fputs("</g>\n", f);

        /* Its legend entry: two columns under the plot. */
        double lx = PL + (legend % 2) * 330, ly = PB + 50 + (legend / 2) * 22;
        fprintf(f,
                "<g class=\"legend\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"2\"%s%s%s/>",
                lx, ly, lx + 36, ly, area_colour[a], area_dash[a][0] ? " stroke-dasharray=\"" : "",
                area_dash[a], area_dash[a][0] ? "\"" : "");
        marker(f, a, lx + 18, ly, false);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" dominant-baseline=\"middle\">", lx + 46, ly);
        xml_text(f, name);
        fputs("</text></g>\n", f);
        legend++;
    }
    if (n == 0)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Ingen scorer endnu</text>\n",
                (PL + PR) / 2, (PT + PB) / 2);
    fputs("</svg>\n", f);
#undef X_OF
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "trivselctl: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- the command ----------------------------------------------------------------------------- */

static int progress(const char *cpr_text, const char *svg)
{
    tr_cpr_t cpr;
    tr_error_t err = {0};
    if (tr_cpr_parse(cpr_text, &cpr, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        return 2;
    }
    char formatted[TR_CPR_FORMAT_MAX];
    tr_cpr_format(&cpr, formatted);
    PGconn *conn = ctl_database_connect("trivselctl");
    if (!conn)
        return 1;
    int rc = 1;
    point_t *pts = NULL;
    PGresult *res = NULL, *cases = NULL, *scores = NULL;
    if (!(res = ctl_query(conn,
                      "SELECT to_regclass('assessment.score') IS NOT NULL, "
                      "to_regclass('docs.measurement_score') IS NOT NULL,"
                      "  to_regclass('ordering.supplier') IS NOT NULL, "
                      "to_regclass('broker.audit') IS NOT NULL",
                      0, NULL, PGRES_TUPLES_OK)))
        goto out;
    bool assessment = ctl_col(res, 0, 0)[0] == 't', docs = ctl_col(res, 0, 1)[0] == 't',
         ordering = ctl_col(res, 0, 2)[0] == 't', audit = ctl_col(res, 0, 3)[0] == 't';
    PQclear(res);
    res = NULL;
    if (!assessment && !docs) {
        fprintf(stderr, "trivselctl: neither the assessment nor the docs schema is there: run "
                        "trivselctl migrate\n");
        goto out;
    }

    /* The child's cases, as assessment and docs know them; the name for the initials. */
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT case_id, max(child_name) FROM (%s%s%s) c GROUP BY case_id ORDER BY case_id",
             assessment ? "SELECT case_id, nullif(child_name, '') AS child_name FROM "
                          "assessment.sag WHERE cpr = $1"
                        : "",
             assessment && docs ? " UNION ALL " : "",
             docs ? "SELECT DISTINCT case_id, NULL FROM docs.orders WHERE child_cpr = $1" : "");
    const char *values[1] = {cpr.digits};
    if (!ctl_command(conn, "BEGIN") || !(cases = ctl_query(conn, sql, 1, values, PGRES_TUPLES_OK)))
        goto out;
    /* Who looked at which child's progress: written before anything is shown. */
    for (int i = 0; audit && i < PQntuples(cases); i++) {
        char principal[128];
        snprintf(principal, sizeof principal, "trivselctl:%s", who());
        const char *av[3] = {principal, ctl_col(cases, i, 0),
                             svg ? "trivselctl docs progress --svg" : "trivselctl docs progress"};
        if (!(res = ctl_query(conn,
                          "INSERT INTO broker.audit (principal, action, correlation_id, detail)"
                          " VALUES ($1, 'progress_shown', $2, $3)",
                          3, av, PGRES_COMMAND_OK)))
            goto out;
        PQclear(res);
        res = NULL;
    }
    if (!ctl_command(conn, "COMMIT"))
        goto out;
    if (PQntuples(cases) == 0) {
        fprintf(stderr, "trivselctl: no child with CPR %s is known to assessment or docs\n",
                formatted);
        goto out;
    }

    /* Every score: kind, area, score, instant (assessment) or day (measurement), source. */
    char supplier[256];
    snprintf(supplier, sizeof supplier, "%s",
             ordering ? "(SELECT p.name FROM ordering.supplier p WHERE p.cvr = m.supplier_cvr"
                        " AND p.municipality = s.municipality)"
                      : "NULL::text");
    snprintf(sql, sizeof sql, "%s%s%s%s%s",
             assessment
                 ? "SELECT 'a', sc.area, sc.score, extract(epoch FROM sc.assessed_at)::bigint,"
                   "  '', '', '' FROM assessment.score sc JOIN assessment.sag g USING (case_id)"
                   " WHERE g.cpr = $1"
                 : "",
             assessment && docs ? " UNION ALL " : "",
             docs ? "SELECT 'm', m.area, m.score, NULL, m.measured_on::text, m.supplier_cvr, "
                    "coalesce("
                  : "",
             docs ? supplier : "",
             docs ? ", '') FROM docs.measurement_score m JOIN docs.submission s USING "
                    "(supplier_cvr, submission_id) WHERE m.child_cpr = $1"
                  : "");
    if (!(scores = ctl_query(conn, sql, 1, values, PGRES_TUPLES_OK)))
        goto out;
    int n = 0, rows = PQntuples(scores);
    pts = calloc(rows ? (size_t)rows : 1, sizeof *pts);
    if (!pts) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        point_t *p = &pts[n];
        p->area = area_number(ctl_col(scores, i, 1));
        p->score = atoi(ctl_col(scores, i, 2));
        if (!p->area || !tr_trivselslineal_valid(p->score))
            continue;
        p->measurement = ctl_col(scores, i, 0)[0] == 'm';
        if (p->measurement) {
            tr_date_t d;
            if (tr_calendar_parse_date(ctl_col(scores, i, 4), &d, NULL) < 0)
                continue;
            p->at = tr_calendar_local_to_utc(d, 12, 0, 0);
            snprintf(p->when, sizeof p->when, "%s", ctl_col(scores, i, 4));
            if (ctl_col(scores, i, 6)[0])
                snprintf(p->source, sizeof p->source, "%s (CVR %s)", ctl_col(scores, i, 6),
                         ctl_col(scores, i, 5));
            else
                snprintf(p->source, sizeof p->source, "CVR %s", ctl_col(scores, i, 5));
        } else {
            p->at = strtoll(ctl_col(scores, i, 3), NULL, 10);
            tr_calendar_format_local(p->at, p->when, sizeof p->when);
            snprintf(p->source, sizeof p->source, "assessment");
        }
        n++;
    }
    qsort(pts, (size_t)n, sizeof *pts, point_cmp);

    /* The title: initials and case ids, never the CPR or the name. */
    char title[512], who_[64] = "", ids[300] = "";
    for (int i = 0; i < PQntuples(cases); i++) {
        if (!who_[0] && ctl_col(cases, i, 1)[0])
            initials(ctl_col(cases, i, 1), who_, sizeof who_);
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s%s", i ? ", " : "", ctl_col(cases, i, 0));
    }
    if (who_[0])
        snprintf(title, sizeof title, "Trivselslinealen over tid — barn %s (sag %s)", who_, ids);
    else
        snprintf(title, sizeof title, "Trivselslinealen over tid — sag %s", ids);

    printf("Trivselslinealen (1-10) over time — child %s — case%s %s\n", formatted,
           PQntuples(cases) > 1 ? "s" : "", ids);
    if (n == 0)
        printf("\nno scores\n");
    for (int i = 0; i < n; i++) {
        if (i == 0 || pts[i].area != pts[i - 1].area) {
            printf("\n%s\n", tr_trivselslineal_area_name(pts[i].area));
            printf("  %-23s  %5s  %-16s  %s\n", "DATE (DANISH TIME)", "SCORE", "LEVEL", "SOURCE");
        }
        printf("  %-23s  %5d  ", pts[i].when, pts[i].score);
        pad(tr_trivselslineal_level_name(pts[i].score), 16);
        printf("  %s\n", pts[i].source);
    }
    if (svg) {
        if (write_svg(svg, pts, n, title) < 0)
            goto out;
        printf("\nchart written to %s\n", svg);
    }
    rc = 0;
out:
    free(pts);
    PQclear(scores);
    PQclear(cases);
    PQfinish(conn);
    return rc;
}

int ctl_docs(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    if (argc < 3 || strcmp(argv[1], "progress") != 0)
        return usage(stderr);
    const char *cpr = NULL, *svg = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(stdout);
        if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc)
            svg = argv[++i];
        else if (argv[i][0] != '-' && !cpr)
            cpr = argv[i];
        else
            return usage(stderr);
    }
    if (!cpr)
        return usage(stderr);
    return progress(cpr, svg);
}
