#include "check.h"
#include "utf8.h"

static void test_well_formed_characters(void)
{
    CHECK_INT_EQ((long long)tr_utf8_char_length("a", 1), 1);
    CHECK_INT_EQ((long long)tr_utf8_char_length("æ", 2), 2);
    CHECK_INT_EQ((long long)tr_utf8_char_length("€", 3), 3);
    CHECK_INT_EQ((long long)tr_utf8_char_length("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
    CHECK_INT_EQ((long long)tr_utf8_char_length("æ", 1), 0);               /* cut off */
    CHECK_INT_EQ((long long)tr_utf8_char_length("\xc0\xaf", 2), 0);        /* overlong "/" */
    CHECK_INT_EQ((long long)tr_utf8_char_length("\xed\xa0\x80", 3), 0);    /* a surrogate */
    CHECK_INT_EQ((long long)tr_utf8_char_length("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    CHECK_INT_EQ((long long)tr_utf8_char_length("\xff", 1), 0);
}

/* What intake's "%.16s" made of a postal code of "1" and nine æ: the last æ cut in half. */
static void test_a_character_cut_at_the_end_is_dropped(void)
{
    char s[] = "invalid postal code \"1\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3";
    tr_utf8_repair(s);
    CHECK_STR_EQ(s, "invalid postal code \"1æææææææ");
}

static void test_stray_bytes_become_question_marks(void)
{
    char s[] = "invalid date \"201-00-\xff\x0f" "5\": must be YYYY-MM-DD";
    tr_utf8_repair(s);
    CHECK_STR_EQ(s, "invalid date \"201-00-?\x0f" "5\": must be YYYY-MM-DD");
    char t[] = "Søren \xc3( \xe2\x82 x \x80";
    tr_utf8_repair(t);
    CHECK_STR_EQ(t, "Søren ?( ?? x ?"); /* a byte each */
    char ok[] = "Børnehus Syd, Æbleø";
    tr_utf8_repair(ok);
    CHECK_STR_EQ(ok, "Børnehus Syd, Æbleø");
}

int main(void)
{
    CHECK_RUN(test_well_formed_characters);
    CHECK_RUN(test_a_character_cut_at_the_end_is_dropped);
    CHECK_RUN(test_stray_bytes_become_question_marks);
    return check_done();
}
