/* test_assessment_trivselslineal.c — common/trivselslineal: every score's level and prevention
 * level as seed 004 draws them, the edges of the scale, and the names of the six areas. */
#include "trivselslineal.h"

#include "check.h"

static void test_every_score_has_its_level_name(void)
{
    static const char *const expected[11] = {
        "",
        "truet trivsel",
        "truet trivsel",
        "udsat trivsel",
        "udsat trivsel",
        "sårbar trivsel",
        "sårbar trivsel",
        "moderat trivsel",
        "moderat trivsel",
        "i trivsel",
        "i trivsel",
    };
    for (int score = 1; score <= 10; score++)
        CHECK_STR_EQ(tr_trivselslineal_level_name(score), expected[score]);
}

static void test_every_score_has_its_prevention_level(void)
{
    static const char *const expected[11] = {
        "",         "tertiær", "tertiær", "tertiær", "tertiær", "sekundær",
        "sekundær", "primær",  "primær",  "primær",  "primær",
    };
    for (int score = 1; score <= 10; score++)
        CHECK_STR_EQ(tr_trivselslineal_prevention_name(score), expected[score]);
}

static void test_level_boundaries(void)
{
    CHECK_INT_EQ(tr_trivselslineal_level(2), TR_TRIVSEL_TRUET);
    CHECK_INT_EQ(tr_trivselslineal_level(3), TR_TRIVSEL_UDSAT);
    CHECK_INT_EQ(tr_trivselslineal_level(4), TR_TRIVSEL_UDSAT);
    CHECK_INT_EQ(tr_trivselslineal_level(5), TR_TRIVSEL_SAARBAR);
    CHECK_INT_EQ(tr_trivselslineal_level(8), TR_TRIVSEL_MODERAT);
    CHECK_INT_EQ(tr_trivselslineal_level(9), TR_TRIVSEL_I_TRIVSEL);
    /* Seed 004: "trivselsniveau 1-4" tertiær, "5-6" sekundær, "7-10" primær. */
    CHECK_INT_EQ(tr_trivselslineal_prevention(4), TR_PREVENTION_TERTIAER);
    CHECK_INT_EQ(tr_trivselslineal_prevention(5), TR_PREVENTION_SEKUNDAER);
    CHECK_INT_EQ(tr_trivselslineal_prevention(6), TR_PREVENTION_SEKUNDAER);
    CHECK_INT_EQ(tr_trivselslineal_prevention(7), TR_PREVENTION_PRIMAER);
}

static void test_outside_the_scale_is_no_score(void)
{
    CHECK(!tr_trivselslineal_valid(0));
    CHECK(!tr_trivselslineal_valid(11));
    CHECK(!tr_trivselslineal_valid(-3));
    CHECK(tr_trivselslineal_valid(1));
    CHECK(tr_trivselslineal_valid(10));
    CHECK_INT_EQ(tr_trivselslineal_level(0), TR_TRIVSEL_INVALID);
    CHECK_INT_EQ(tr_trivselslineal_level(11), TR_TRIVSEL_INVALID);
    CHECK_INT_EQ(tr_trivselslineal_prevention(0), TR_PREVENTION_INVALID);
    CHECK_STR_EQ(tr_trivselslineal_level_name(0), "");
    CHECK_STR_EQ(tr_trivselslineal_prevention_name(11), "");
}

static void test_the_six_areas_and_the_whole_child(void)
{
    CHECK_STR_EQ(tr_trivselslineal_area_name(1), "udvikling og adfærd");
    CHECK_STR_EQ(tr_trivselslineal_area_name(2), "familieforhold");
    CHECK_STR_EQ(tr_trivselslineal_area_name(3), "skoleforhold");
    CHECK_STR_EQ(tr_trivselslineal_area_name(4), "sundhedsforhold");
    CHECK_STR_EQ(tr_trivselslineal_area_name(5), "fritidsforhold og venskaber");
    CHECK_STR_EQ(tr_trivselslineal_area_name(6), "andre relevante forhold");
    CHECK_STR_EQ(tr_trivselslineal_area_name(7), "samlet vurdering");
    CHECK(tr_trivselslineal_area_name(0) == NULL);
    CHECK(tr_trivselslineal_area_name(8) == NULL);
}

int main(void)
{
    CHECK_RUN(test_every_score_has_its_level_name);
    CHECK_RUN(test_every_score_has_its_prevention_level);
    CHECK_RUN(test_level_boundaries);
    CHECK_RUN(test_outside_the_scale_is_no_score);
    CHECK_RUN(test_the_six_areas_and_the_whole_child);
    return check_done();
}
