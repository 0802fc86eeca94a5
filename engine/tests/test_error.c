/* test_error.c — unit tests of error.c: messages set at the failure and prefixed on the way up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "error.h"

static void test_set_appends_the_errno_text(void **state)
{
    struct keel_error err;
    (void)state;

    assert_int_equal(keel_error_set(&err, ENOENT, "open %s", "/dev/ttyS9"), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "open /dev/ttyS9: No such file or directory");
    assert_int_equal(keel_error_set(&err, 0, "no %s", "power action"), -1);
    assert_string_equal(err.message, "no power action");
}

static void test_prefix_builds_context_and_keeps_errno(void **state)
{
    struct keel_error err;
    (void)state;

    keel_error_set(&err, ENOSPC, "mount %s", "/var/lib/keel");
    assert_int_equal(keel_error_prefix(&err, "start service %s", "network"), -1);
    assert_string_equal(err.message,
                        "start service network: mount /var/lib/keel: No space left on device");
    assert_int_equal(err.errno_value, ENOSPC);
}

static void test_invalid_has_no_errno_text(void **state)
{
    struct keel_error err;
    (void)state;

    assert_int_equal(keel_error_invalid(&err, "line %d: bad mount id", 3), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_string_equal(err.message, "line 3: bad mount id");
}

static void test_long_messages_are_truncated_not_overrun(void **state)
{
    struct keel_error err;
    char long_text[2 * KEEL_ERROR_MESSAGE_MAX];
    (void)state;

    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    keel_error_set(&err, EIO, "%s", long_text);
    assert_int_equal(strlen(err.message), KEEL_ERROR_MESSAGE_MAX - 1);
    keel_error_prefix(&err, "%s", long_text);
    assert_int_equal(strlen(err.message), KEEL_ERROR_MESSAGE_MAX - 1);
    keel_error_clear(&err);
    assert_string_equal(err.message, "");
    assert_int_equal(err.errno_value, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_appends_the_errno_text),
        cmocka_unit_test(test_prefix_builds_context_and_keeps_errno),
        cmocka_unit_test(test_invalid_has_no_errno_text),
        cmocka_unit_test(test_long_messages_are_truncated_not_overrun),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
