/* test_error.c: unit tests of the error messages built on the way up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "error.h"

static void test_make_names_operation_object_errno(void **state)
{
    (void)state;
    struct sysinit_error err = {0};

    assert_int_equal(error_make(&err, ENOENT, "open", "%s", "/keel/usr.sqfs"), -1);
    assert_int_equal(err.err, ENOENT);
    assert_string_equal(err.msg, "open: /keel/usr.sqfs: No such file or directory");
}

static void test_make_without_errno(void **state)
{
    (void)state;
    struct sysinit_error err = {0};

    error_make(&err, 0, "switch root", "%s is not a mount point", "/newroot");
    assert_int_equal(err.err, 0);
    assert_string_equal(err.msg, "switch root: /newroot is not a mount point");
}

static void test_wrap_prepends_context(void **state)
{
    (void)state;
    struct sysinit_error err = {0};

    error_make(&err, ENOENT, "open", "/keel/usr.sqfs");
    assert_int_equal(error_wrap(&err, "attach OS image"), -1);
    error_wrap(&err, "prepare the %s", "new root");
    assert_int_equal(err.err, ENOENT);
    assert_string_equal(err.msg, "prepare the new root: attach OS image: open: /keel/usr.sqfs: "
                                 "No such file or directory");
}

static void test_long_message_marked_truncated(void **state)
{
    (void)state;
    struct sysinit_error err = {0};
    char long_object[300];

    memset(long_object, 'x', sizeof(long_object) - 1);
    long_object[sizeof(long_object) - 1] = '\0';
    error_make(&err, EIO, "read", "%s", long_object);
    for (int i = 0; i < 10; i++)
        error_wrap(&err, "context %d with some words", i);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_string_equal(err.msg + strlen(err.msg) - 3, "...");
    assert_int_equal(strncmp(err.msg, "context 9 with some words: context 8", 36), 0);
}

static void test_errno_musl_has_no_text_for(void **state)
{
    (void)state;
    struct sysinit_error err = {0};

    /* What mount(2) says of a corrupted ext4; musl's strerror has no text. */
    error_make(&err, EUCLEAN, "mount", "/dev/vda");
    assert_string_equal(err.msg,
                        "mount: /dev/vda: Structure needs cleaning (filesystem corrupted)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_names_operation_object_errno),
        cmocka_unit_test(test_make_without_errno),
        cmocka_unit_test(test_wrap_prepends_context),
        cmocka_unit_test(test_long_message_marked_truncated),
        cmocka_unit_test(test_errno_musl_has_no_text_for),
    };
    return cmocka_run_group_tests_name("sysinit_error", tests, NULL, NULL);
}
