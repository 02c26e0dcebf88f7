/* test_assessment_emit.c — the text helpers of services/assessment/emit.c that the SQL and the
 * event ids rest on: PostgreSQL text[] literals with quotes, backslashes and braces in them; the
 * ids of emitted events, the same for the same cause and different for different publishers;
 * UUIDs; timestamps as query parameters. The module is compiled in here (the daemon is a
 * program, not a library). */
#include "../../services/assessment/dates.c"
#include "../../services/assessment/emit.c"

#include "check.h"

static void test_text_array_quotes_and_escapes(void)
{
    char *items[] = {"Hyppigt fravær", "siger \"nej\"", "back\\slash", "{a,b}", ""};
    char *literal = asm_text_array(items, 5);
    CHECK_STR_EQ(literal,
                 "{\"Hyppigt fravær\",\"siger \\\"nej\\\"\",\"back\\\\slash\",\"{a,b}\",\"\"}");
    free(literal);
    literal = asm_text_array(NULL, 0);
    CHECK_STR_EQ(literal, "{}");
    free(literal);
}

static void test_event_id_is_stable_per_cause(void)
{
    Trivsel__Envelope a = TRIVSEL__ENVELOPE__INIT, b = TRIVSEL__ENVELOPE__INIT;
    a.publisher = "fagsystem";
    a.event_id = "e-1";
    b.publisher = "fagsystem";
    b.event_id = "e-1";
    char x[100], y[100];
    asm_event_id(&a, "decision.registered", x);
    asm_event_id(&b, "decision.registered", y);
    CHECK_STR_EQ(x, y);
    CHECK_INT_EQ(strlen(x), strlen("decision.registered-") + 32);
    CHECK(strncmp(x, "decision.registered-", 20) == 0);
    /* Another publisher's equal event id is another cause. */
    b.publisher = "fagsystem2";
    asm_event_id(&b, "decision.registered", y);
    CHECK(strcmp(x, y) != 0);
    /* The boundary between publisher and id counts: "ab" + "c" is not "a" + "bc". */
    a.publisher = "ab";
    a.event_id = "c";
    b.publisher = "a";
    b.event_id = "bc";
    asm_event_id(&a, "x", x);
    asm_event_id(&b, "x", y);
    CHECK(strcmp(x, y) != 0);
}

static void test_event_id_fits_the_envelope(void)
{
    Trivsel__Envelope a = TRIVSEL__ENVELOPE__INIT;
    char long_id[101];
    memset(long_id, 'e', 100);
    long_id[100] = '\0';
    a.publisher = "fagsystem";
    a.event_id = long_id;
    char x[100];
    asm_event_id(&a, "investigation.opened", x);
    CHECK(strlen(x) <= 99); /* envelope event ids are 1-100 characters */
}

static void test_uuid(void)
{
    char a[37], b[37];
    asm_uuid(a);
    asm_uuid(b);
    CHECK(asm_is_uuid(a));
    CHECK(strcmp(a, b) != 0);
    CHECK_INT_EQ(a[14], '4');
    CHECK(asm_is_uuid("3F3E04DD-CE0D-4121-BDDE-C43C0DDFB3AB"));
    CHECK(!asm_is_uuid("3f3e04dd-ce0d-4121-bdde-c43c0ddfb3a"));
    CHECK(!asm_is_uuid("3f3e04dd_ce0d-4121-bdde-c43c0ddfb3ab"));
    CHECK(!asm_is_uuid("case-a"));
    CHECK(!asm_is_uuid(NULL));
}

static void test_timestamps(void)
{
    char buf[40];
    asm_us_text(INT64_C(1709247600) * ASM_US_PER_SECOND + 1500, buf);
    CHECK_STR_EQ(buf, "2024-02-29T23:00:00.001500Z");
    asm_us_text(-1, buf);
    CHECK_STR_EQ(buf, "1969-12-31T23:59:59.999999Z");
    Google__Protobuf__Timestamp ts;
    asm_timestamp(&ts, -1);
    CHECK_INT_EQ(ts.seconds, -1);
    CHECK_INT_EQ(ts.nanos, 999999000);
    CHECK_INT_EQ(asm_ts_us(&ts), -1);
    CHECK(asm_ts_ok(&ts));
    ts.nanos = 1000000000;
    CHECK(!asm_ts_ok(&ts));
    CHECK(!asm_ts_ok(NULL));
}

int main(void)
{
    CHECK_RUN(test_text_array_quotes_and_escapes);
    CHECK_RUN(test_event_id_is_stable_per_cause);
    CHECK_RUN(test_event_id_fits_the_envelope);
    CHECK_RUN(test_uuid);
    CHECK_RUN(test_timestamps);
    return check_done();
}
