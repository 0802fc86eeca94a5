/* test_cmdline.c — unit tests of cmdline.c: keel.debug and keel.grace=. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "cmdline.h"

static void test_defaults_when_absent(void **state)
{
    struct keel_cmdline cmdline;
    struct keel_error err;
    (void)state;

    assert_int_equal(cmdline_parse("console=ttyS0 quiet root=/dev/vda\n", &cmdline, &err), 0);
    assert_false(cmdline.debug);
    assert_int_equal(cmdline.grace_seconds, CMDLINE_GRACE_DEFAULT_SECONDS);
    assert_int_equal(cmdline_parse("", &cmdline, &err), 0);
    assert_false(cmdline.debug);
}

static void test_reads_debug_and_grace(void **state)
{
    struct keel_cmdline cmdline;
    struct keel_error err;
    (void)state;

    assert_int_equal(cmdline_parse("console=ttyS0 keel.debug keel.grace=12\n", &cmdline, &err), 0);
    assert_true(cmdline.debug);
    assert_int_equal(cmdline.grace_seconds, 12);
    assert_int_equal(cmdline_parse("keel.grace=0\tkeel.debug", &cmdline, &err), 0);
    assert_true(cmdline.debug);
    assert_int_equal(cmdline.grace_seconds, 0);
    /* The last word wins, as with kernel parameters. */
    assert_int_equal(cmdline_parse("keel.grace=1 keel.grace=3600", &cmdline, &err), 0);
    assert_int_equal(cmdline.grace_seconds, 3600);
}

static void test_prefix_sharing_words_do_not_match(void **state)
{
    struct keel_cmdline cmdline;
    struct keel_error err;
    (void)state;

    assert_int_equal(
        cmdline_parse("keel.debugger xkeel.debug keel.debug=1 keel.gracetime=9 nokeel.grace=7",
                      &cmdline, &err),
        0);
    assert_false(cmdline.debug);
    assert_int_equal(cmdline.grace_seconds, CMDLINE_GRACE_DEFAULT_SECONDS);
}

static void assert_bad_grace(const char *text, const char *word)
{
    struct keel_cmdline cmdline;
    struct keel_error err;
    char expected[256];

    assert_int_equal(cmdline_parse(text, &cmdline, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    snprintf(expected, sizeof expected,
             "kernel command line: ignoring \"%s\" (want keel.grace=SECONDS, 0 to 3600)", word);
    assert_string_equal(err.message, expected);
    /* The rest of the line still counts. */
    assert_true(cmdline.debug);
    assert_int_equal(cmdline.grace_seconds, CMDLINE_GRACE_DEFAULT_SECONDS);
}

static void test_a_bad_word_keeps_an_earlier_good_one(void **state)
{
    struct keel_cmdline cmdline;
    struct keel_error err;
    (void)state;

    assert_int_equal(cmdline_parse("keel.grace=1 keel.grace=bad", &cmdline, &err), -1);
    assert_int_equal(cmdline.grace_seconds, 1);
}

static void test_bad_numbers_are_rejected(void **state)
{
    (void)state;
    assert_bad_grace("keel.debug keel.grace=5s", "keel.grace=5s");
    assert_bad_grace("keel.grace= keel.debug", "keel.grace=");
    assert_bad_grace("keel.grace keel.debug", "keel.grace");
    assert_bad_grace("keel.grace=-1 keel.debug", "keel.grace=-1");
    assert_bad_grace("keel.grace=+3 keel.debug", "keel.grace=+3");
    assert_bad_grace("keel.grace=3601 keel.debug", "keel.grace=3601");
    assert_bad_grace("keel.grace=99999999999999999999 keel.debug",
                     "keel.grace=99999999999999999999");
    assert_bad_grace("keel.grace=0x10 keel.debug", "keel.grace=0x10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_when_absent),
        cmocka_unit_test(test_reads_debug_and_grace),
        cmocka_unit_test(test_prefix_sharing_words_do_not_match),
        cmocka_unit_test(test_bad_numbers_are_rejected),
        cmocka_unit_test(test_a_bad_word_keeps_an_earlier_good_one),
    };
    return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
