/* test_proc.c — unit tests of proc.c: reading state and PF_* flags out of /proc/PID/stat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static void test_parses_a_kernel_thread(void **state)
{
    struct proc_stat stat;
    struct keel_error err;
    (void)state;

    assert_int_equal(
        proc_stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0\n", &stat, &err), 0);
    assert_int_equal(stat.state, 'S');
    assert_int_equal(stat.flags, 2129984);
    assert_true((stat.flags & PROC_FLAG_KTHREAD) != 0);
}

static void test_command_names_with_spaces_and_parentheses(void **state)
{
    struct proc_stat stat;
    struct keel_error err;
    (void)state;

    assert_int_equal(proc_stat_parse("77 (a) b) (c) Z 1 77 77 0 -1 4194560 5 0\n", &stat, &err), 0);
    assert_int_equal(stat.state, 'Z');
    assert_int_equal(stat.flags, 4194560);
    assert_true((stat.flags & PROC_FLAG_KTHREAD) == 0);
}

static void test_rejects_truncated_stat(void **state)
{
    struct proc_stat stat;
    struct keel_error err;
    (void)state;

    assert_int_equal(proc_stat_parse("77 (sh S 1 77", &stat, &err), -1);
    assert_string_equal(err.message, "parse /proc stat: no ')' after the command name");
    assert_int_equal(proc_stat_parse("77 (sh) S 1 77", &stat, &err), -1);
    assert_string_equal(err.message, "parse /proc stat: fields after the command name");
}

static void test_counts_a_child_of_ours(void **state)
{
    size_t before, during;
    struct keel_error err;
    (void)state;

    /* Not PID 1 here, but the scan is the same: a live child must count. */
    assert_int_equal(proc_count_user_processes(&before, &err), 0);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_true(child > 0);
    assert_int_equal(proc_count_user_processes(&during, &err), 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_true(during >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_a_kernel_thread),
        cmocka_unit_test(test_command_names_with_spaces_and_parentheses),
        cmocka_unit_test(test_rejects_truncated_stat),
        cmocka_unit_test(test_counts_a_child_of_ours),
    };
    return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
