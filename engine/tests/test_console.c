/* test_console.c — unit tests of console.c: the console tty list and each shell's environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "console.h"

static void test_active_list_maps_tty0_to_tty1(void **state)
{
    char ttys[CONSOLE_MAX_TTYS][CONSOLE_TTY_NAME_MAX];
    size_t count;
    struct keel_error err;
    (void)state;

    assert_int_equal(console_parse_active("tty0 ttyS0\n", ttys, CONSOLE_MAX_TTYS, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(ttys[0], "tty1");
    assert_string_equal(ttys[1], "ttyS0");
}

static void test_active_list_drops_duplicates_and_handles_empty(void **state)
{
    char ttys[CONSOLE_MAX_TTYS][CONSOLE_TTY_NAME_MAX];
    size_t count;
    struct keel_error err;
    (void)state;

    assert_int_equal(
        console_parse_active("tty0 tty1 ttyS0 ttyS0", ttys, CONSOLE_MAX_TTYS, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(console_parse_active("\n", ttys, CONSOLE_MAX_TTYS, &count, &err), 0);
    assert_int_equal(count, 0);
}

static void test_active_list_rejects_bad_names_and_overflow(void **state)
{
    char ttys[2][CONSOLE_TTY_NAME_MAX];
    size_t count;
    struct keel_error err;
    (void)state;

    assert_int_equal(console_parse_active("../sda", ttys, 2, &count, &err), -1);
    assert_string_equal(err.message, "console list: bad tty name \"../sda\"");
    assert_int_equal(console_parse_active("ttyS0 ttyS1 ttyS2", ttys, 2, &count, &err), -1);
    assert_int_equal(count, 2);
}

static void test_terminal_type_by_tty(void **state)
{
    (void)state;
    assert_string_equal(console_terminal_type("ttyS0"), "vt102");
    assert_string_equal(console_terminal_type("tty1"), "linux");
    assert_string_equal(console_terminal_type("hvc0"), "vt102");
}

static void test_shell_environment(void **state)
{
    struct console_shell shell;
    (void)state;

    console_shell_prepare(&shell, "tty1", NULL);
    assert_string_equal(shell.device, "/dev/tty1");
    assert_string_equal(shell.name, "console shell on tty1");
    assert_string_equal(shell.environment[0], "PATH=/usr/bin:/usr/sbin");
    assert_string_equal(shell.environment[1], "HOME=/root");
    assert_string_equal(shell.environment[2], "TERM=linux");
    assert_string_equal(shell.environment[3], "SHELL=/usr/bin/sh");
    assert_null(shell.environment[4]);

    console_shell_prepare(&shell, "ttyS0", "/usr/local/bin:/usr/bin");
    assert_string_equal(shell.environment[0], "PATH=/usr/local/bin:/usr/bin");
    assert_string_equal(shell.environment[2], "TERM=vt102");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_active_list_maps_tty0_to_tty1),
        cmocka_unit_test(test_active_list_drops_duplicates_and_handles_empty),
        cmocka_unit_test(test_active_list_rejects_bad_names_and_overflow),
        cmocka_unit_test(test_terminal_type_by_tty),
        cmocka_unit_test(test_shell_environment),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
