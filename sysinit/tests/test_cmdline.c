/* test_cmdline.c: unit tests of the kernel command line parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cmdline.h"

static struct boot_options parse_ok(const char *text)
{
    struct boot_options opts;
    struct sysinit_error err = {0};

    assert_int_equal(cmdline_parse(text, &opts, &err), 0);
    return opts;
}

static void parse_fails(const char *text, const char *expected_in_message)
{
    struct boot_options opts;
    struct sysinit_error err = {0};

    assert_int_equal(cmdline_parse(text, &opts, &err), -1);
    assert_int_equal(err.err, EINVAL);
    assert_non_null(strstr(err.msg, expected_in_message));
    assert_non_null(strstr(err.msg, "kernel command line: "));
}

static void test_defaults(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("BOOT_IMAGE=/vmlinuz console=ttyS0 quiet\n");

    assert_false(opts.debug);
    assert_false(opts.shell);
    assert_false(opts.state_label_given);
    assert_string_equal(opts.state_label, "KEEL_STATE");
}

static void test_empty_text(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("");

    assert_string_equal(opts.state_label, CMDLINE_DEFAULT_STATE_LABEL);
    opts = parse_ok("   \n");
    assert_false(opts.debug);
}

static void test_every_key(void **state)
{
    (void)state;
    struct boot_options opts =
        parse_ok("console=ttyS0 keel.debug keel.shell keel.state=MYSTATE panic=-1\n");

    assert_true(opts.debug);
    assert_true(opts.shell);
    assert_true(opts.state_label_given);
    assert_string_equal(opts.state_label, "MYSTATE");
}

static void test_keys_at_both_ends(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("keel.debug\tquiet\tkeel.state=X");

    assert_true(opts.debug);
    assert_string_equal(opts.state_label, "X");
}

static void test_quoted_value(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("quiet keel.state=\"MY DISK\" keel.debug\n");

    assert_string_equal(opts.state_label, "MY DISK");
    assert_true(opts.debug);
}

static void test_quoted_whole_parameter(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("\"keel.state=MY DISK\" keel.shell");

    assert_string_equal(opts.state_label, "MY DISK");
    assert_true(opts.shell);
}

static void test_quoted_other_key_hides_ours(void **state)
{
    (void)state;
    /* keel.shell inside another parameter's quoted value is not a key. */
    struct boot_options opts = parse_ok("dyndbg=\"file x keel.shell\" root=/dev/sda");

    assert_false(opts.shell);
}

static void test_prefix_is_not_a_key(void **state)
{
    (void)state;
    struct boot_options opts =
        parse_ok("keel.shellfish keel.debugger=1 keel.stateful=FOO xkeel.shell keel.state.x=Y");

    assert_false(opts.shell);
    assert_false(opts.debug);
    assert_false(opts.state_label_given);
    assert_string_equal(opts.state_label, "KEEL_STATE");
}

static void test_repeated_key_last_wins(void **state)
{
    (void)state;
    struct boot_options opts = parse_ok("keel.state=FIRST keel.state=SECOND");

    assert_string_equal(opts.state_label, "SECOND");
    opts = parse_ok("keel.debug keel.debug=0");
    assert_false(opts.debug);
    opts = parse_ok("keel.shell=off keel.shell");
    assert_true(opts.shell);
}

static void test_flag_values(void **state)
{
    (void)state;
    assert_true(parse_ok("keel.debug=1").debug);
    assert_true(parse_ok("keel.debug=yes").debug);
    assert_true(parse_ok("keel.debug=on").debug);
    assert_true(parse_ok("keel.debug=true").debug);
    assert_false(parse_ok("keel.debug=0").debug);
    assert_false(parse_ok("keel.debug=no").debug);
    assert_false(parse_ok("keel.shell=off").shell);
    assert_false(parse_ok("keel.shell=false").shell);
    parse_fails("keel.debug=maybe", "keel.debug: value \"maybe\"");
}

static void test_empty_label_rejected(void **state)
{
    (void)state;
    parse_fails("keel.state=", "keel.state: needs a label");
    parse_fails("keel.state=\"\"", "keel.state: needs a label");
    parse_fails("keel.state", "keel.state: needs a label");
}

static void test_overlong_label_rejected(void **state)
{
    (void)state;
    /* 16 bytes is the most an ext4 label holds: accepted. */
    assert_string_equal(parse_ok("keel.state=ABCDEFGHIJKLMNOP").state_label, "ABCDEFGHIJKLMNOP");
    parse_fails("keel.state=ABCDEFGHIJKLMNOPQ", "longer than 16 bytes");
}

static void test_huge_token(void **state)
{
    (void)state;
    static char text[10000];

    /* A key longer than any buffer: ignored when not ours... */
    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    assert_false(parse_ok(text).state_label_given);
    /* ...and a clear error when it is. */
    memcpy(text, "keel.state=", strlen("keel.state="));
    parse_fails(text, "longer than 16 bytes");
}

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    struct boot_options opts =
        parse_ok("keel.autoformat=/dev/vdb keel.unknown=1 init=/bin/sh -- keel.frobnicate");

    assert_false(opts.debug);
    assert_false(opts.shell);
    assert_string_equal(opts.state_label, "KEEL_STATE");
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    /* The kernel runs an open quote to the end of the line; so do we. */
    struct boot_options opts = parse_ok("keel.state=\"MY DISK");

    assert_string_equal(opts.state_label, "MY DISK");
}

static void test_failure_leaves_message_only(void **state)
{
    (void)state;
    struct boot_options opts;
    struct sysinit_error err = {0};

    assert_int_equal(cmdline_parse("keel.state=ABCDEFGHIJKLMNOPQRSTUVWXYZ", &opts, &err), -1);
    assert_string_equal(err.msg,
                        "kernel command line: keel.state: label \"ABCDEFGHIJKLMNOPQRSTUVWXYZ\""
                        " is longer than 16 bytes: Invalid argument");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_keys_at_both_ends),
        cmocka_unit_test(test_quoted_value),
        cmocka_unit_test(test_quoted_whole_parameter),
        cmocka_unit_test(test_quoted_other_key_hides_ours),
        cmocka_unit_test(test_prefix_is_not_a_key),
        cmocka_unit_test(test_repeated_key_last_wins),
        cmocka_unit_test(test_flag_values),
        cmocka_unit_test(test_empty_label_rejected),
        cmocka_unit_test(test_overlong_label_rejected),
        cmocka_unit_test(test_huge_token),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_failure_leaves_message_only),
    };
    return cmocka_run_group_tests_name("sysinit_cmdline", tests, NULL, NULL);
}
