#include "check.h"
#include "subject.h"

static void test_valid_subjects(void)
{
    CHECK_INT_EQ(tr_subject_check("intake.underretning.received", NULL), 0);
    CHECK_INT_EQ(tr_subject_check("ordering.order.placed.45424421", NULL), 0);
}

static void test_invalid_subjects_are_named(void)
{
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_subject_check("intake..received", &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid subject \"intake..received\": empty token");
    CHECK_INT_EQ(tr_subject_check("intake.*", &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid subject \"intake.*\": tokens are lower-case letters, digits and _");
    CHECK_INT_EQ(tr_subject_check("Intake.x", &err), TR_EINVAL);
    CHECK_INT_EQ(tr_subject_check("", &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "empty subject");
    CHECK_INT_EQ(tr_subject_check_pattern("intake.>.x", &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid pattern \"intake.>.x\": \">\" must be the last token");
    CHECK_INT_EQ(tr_subject_check_pattern("intake.*.received", NULL), 0);
    CHECK_INT_EQ(tr_subject_check_pattern(">", NULL), 0);
}

static void test_matching(void)
{
    CHECK(tr_subject_matches("intake.>", "intake.underretning.received"));
    CHECK(!tr_subject_matches("intake.>", "intake"));
    CHECK(tr_subject_matches(">", "intake"));
    CHECK(tr_subject_matches("intake.*.received", "intake.underretning.received"));
    CHECK(!tr_subject_matches("intake.*.received", "intake.underretning.registered"));
    CHECK(!tr_subject_matches("intake.*", "intake.underretning.received"));
    CHECK(tr_subject_matches("ordering.order.*.45424421", "ordering.order.placed.45424421"));
    CHECK(!tr_subject_matches("ordering.order.*.45424421", "ordering.order.placed.12345678"));
    CHECK(!tr_subject_matches("intake.underretning", "intake.underretning.received"));
    CHECK(!tr_subject_matches("intake.underretning.received.x", "intake.underretning.received"));
}

static void test_covers(void)
{
    CHECK(tr_subject_covers(">", "intake.>"));
    CHECK(tr_subject_covers("intake.>", "intake.*.received"));
    CHECK(tr_subject_covers("ordering.order.*.45424421", "ordering.order.placed.45424421"));
    CHECK(!tr_subject_covers("ordering.order.*.45424421", "ordering.order.*.*"));
    CHECK(!tr_subject_covers("ordering.order.*.45424421", "ordering.>"));
    CHECK(!tr_subject_covers("intake.*.received", "intake.>"));
    CHECK(tr_subject_covers("intake.*.received", "intake.underretning.received"));
    CHECK(!tr_subject_covers("intake.underretning.received", "intake.*.received"));
}

static void test_last_token(void)
{
    CHECK_STR_EQ(tr_subject_last_token("ordering.order.placed.45424421"), "45424421");
    CHECK_STR_EQ(tr_subject_last_token("intake"), "intake");
}

int main(void)
{
    CHECK_RUN(test_valid_subjects);
    CHECK_RUN(test_invalid_subjects_are_named);
    CHECK_RUN(test_matching);
    CHECK_RUN(test_covers);
    CHECK_RUN(test_last_token);
    return check_done();
}
