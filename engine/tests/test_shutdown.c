/* test_shutdown.c — unit tests of shutdown.c: every transition of the shutdown state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include "shutdown.h"

static const struct shutdown_event processes_gone = {.type = SHUTDOWN_EVENT_PROCESSES_GONE};
static const struct shutdown_event timer_expired = {.type = SHUTDOWN_EVENT_TIMER_EXPIRED};

static struct shutdown_event request(enum shutdown_power power, size_t processes)
{
    return (struct shutdown_event){
        .type = SHUTDOWN_EVENT_REQUEST, .power = power, .processes = processes};
}

static void test_request_with_processes_sends_term(void **state)
{
    struct shutdown_state machine = {0};
    struct shutdown_event event = request(SHUTDOWN_POWER_OFF, 3);
    (void)state;

    assert_int_equal(shutdown_step(&machine, &event), SHUTDOWN_ACTION_SEND_TERM);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_TERM_SENT);
    assert_int_equal(machine.power, SHUTDOWN_POWER_OFF);
}

static void test_request_without_processes_goes_straight_to_finish(void **state)
{
    struct shutdown_state machine = {0};
    struct shutdown_event event = request(SHUTDOWN_POWER_REBOOT, 0);
    (void)state;

    assert_int_equal(shutdown_step(&machine, &event), SHUTDOWN_ACTION_FINISH);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_FINISHED);
    assert_int_equal(machine.power, SHUTDOWN_POWER_REBOOT);
}

static void test_running_ignores_everything_but_a_request(void **state)
{
    struct shutdown_state machine = {0};
    struct shutdown_event none = request(SHUTDOWN_POWER_NONE, 4);
    (void)state;

    assert_int_equal(shutdown_step(&machine, &processes_gone), SHUTDOWN_ACTION_NONE);
    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_NONE);
    assert_int_equal(shutdown_step(&machine, &none), SHUTDOWN_ACTION_NONE);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_RUNNING);
    assert_int_equal(machine.power, SHUTDOWN_POWER_NONE);
}

static void test_term_sent_then_processes_gone_finishes(void **state)
{
    struct shutdown_state machine = {.phase = SHUTDOWN_PHASE_TERM_SENT,
                                     .power = SHUTDOWN_POWER_HALT};
    (void)state;

    assert_int_equal(shutdown_step(&machine, &processes_gone), SHUTDOWN_ACTION_FINISH);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_FINISHED);
    assert_int_equal(machine.power, SHUTDOWN_POWER_HALT);
}

static void test_term_sent_then_grace_expired_sends_kill(void **state)
{
    struct shutdown_state machine = {.phase = SHUTDOWN_PHASE_TERM_SENT,
                                     .power = SHUTDOWN_POWER_OFF};
    (void)state;

    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_SEND_KILL);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_KILL_SENT);
}

static void test_kill_sent_then_processes_gone_finishes(void **state)
{
    struct shutdown_state machine = {.phase = SHUTDOWN_PHASE_KILL_SENT,
                                     .power = SHUTDOWN_POWER_OFF};
    (void)state;

    assert_int_equal(shutdown_step(&machine, &processes_gone), SHUTDOWN_ACTION_FINISH);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_FINISHED);
}

static void test_kill_sent_then_kill_wait_expired_finishes_anyway(void **state)
{
    struct shutdown_state machine = {.phase = SHUTDOWN_PHASE_KILL_SENT,
                                     .power = SHUTDOWN_POWER_OFF};
    (void)state;

    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_FINISH);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_FINISHED);
}

static void test_second_request_is_ignored_in_every_phase(void **state)
{
    static const enum shutdown_phase phases[] = {SHUTDOWN_PHASE_TERM_SENT, SHUTDOWN_PHASE_KILL_SENT,
                                                 SHUTDOWN_PHASE_FINISHED};
    (void)state;

    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
        struct shutdown_state machine = {.phase = phases[i], .power = SHUTDOWN_POWER_REBOOT};
        struct shutdown_event second = request(SHUTDOWN_POWER_OFF, 0);

        assert_int_equal(shutdown_step(&machine, &second), SHUTDOWN_ACTION_IGNORE_REQUEST);
        /* The first request decides: a reboot stays a reboot. */
        assert_int_equal(machine.phase, phases[i]);
        assert_int_equal(machine.power, SHUTDOWN_POWER_REBOOT);
    }
}

static void test_finished_does_nothing_more(void **state)
{
    struct shutdown_state machine = {.phase = SHUTDOWN_PHASE_FINISHED, .power = SHUTDOWN_POWER_OFF};
    (void)state;

    assert_int_equal(shutdown_step(&machine, &processes_gone), SHUTDOWN_ACTION_NONE);
    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_NONE);
    assert_int_equal(machine.phase, SHUTDOWN_PHASE_FINISHED);
}

static void test_whole_sequence_with_stubborn_processes(void **state)
{
    struct shutdown_state machine = {0};
    struct shutdown_event first = request(SHUTDOWN_POWER_OFF, 2);
    struct shutdown_event second = request(SHUTDOWN_POWER_HALT, 2);
    (void)state;

    assert_int_equal(shutdown_step(&machine, &first), SHUTDOWN_ACTION_SEND_TERM);
    assert_int_equal(shutdown_step(&machine, &second), SHUTDOWN_ACTION_IGNORE_REQUEST);
    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_SEND_KILL);
    assert_int_equal(shutdown_step(&machine, &processes_gone), SHUTDOWN_ACTION_FINISH);
    /* The kill-wait timer firing late changes nothing. */
    assert_int_equal(shutdown_step(&machine, &timer_expired), SHUTDOWN_ACTION_NONE);
    assert_int_equal(machine.power, SHUTDOWN_POWER_OFF);
}

static void test_signals_map_to_busybox_power_actions(void **state)
{
    (void)state;
    assert_int_equal(shutdown_power_from_signal(SIGTERM), SHUTDOWN_POWER_REBOOT);
    assert_int_equal(shutdown_power_from_signal(SIGINT), SHUTDOWN_POWER_REBOOT);
    assert_int_equal(shutdown_power_from_signal(SIGUSR1), SHUTDOWN_POWER_HALT);
    assert_int_equal(shutdown_power_from_signal(SIGUSR2), SHUTDOWN_POWER_OFF);
    assert_int_equal(shutdown_power_from_signal(SIGPWR), SHUTDOWN_POWER_OFF);
    assert_int_equal(shutdown_power_from_signal(SIGHUP), SHUTDOWN_POWER_NONE);
    assert_int_equal(shutdown_power_from_signal(SIGCHLD), SHUTDOWN_POWER_NONE);
    assert_string_equal(shutdown_power_name(SHUTDOWN_POWER_OFF), "poweroff");
    assert_string_equal(shutdown_power_name(SHUTDOWN_POWER_REBOOT), "reboot");
    assert_string_equal(shutdown_power_name(SHUTDOWN_POWER_HALT), "halt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_with_processes_sends_term),
        cmocka_unit_test(test_request_without_processes_goes_straight_to_finish),
        cmocka_unit_test(test_running_ignores_everything_but_a_request),
        cmocka_unit_test(test_term_sent_then_processes_gone_finishes),
        cmocka_unit_test(test_term_sent_then_grace_expired_sends_kill),
        cmocka_unit_test(test_kill_sent_then_processes_gone_finishes),
        cmocka_unit_test(test_kill_sent_then_kill_wait_expired_finishes_anyway),
        cmocka_unit_test(test_second_request_is_ignored_in_every_phase),
        cmocka_unit_test(test_finished_does_nothing_more),
        cmocka_unit_test(test_whole_sequence_with_stubborn_processes),
        cmocka_unit_test(test_signals_map_to_busybox_power_actions),
    };
    return cmocka_run_group_tests_name("shutdown", tests, NULL, NULL);
}
