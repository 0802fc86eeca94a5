/* test_supervise.c — unit tests of supervise.c: backoff, restart, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "reap.h"
#include "supervise.h"

static void test_backoff_grows_to_ten_seconds(void **state)
{
    (void)state;
    assert_int_equal(supervise_backoff_delay_ms(0), 0);
    assert_int_equal(supervise_backoff_delay_ms(1), 0); /* first restart: at once */
    assert_int_equal(supervise_backoff_delay_ms(2), 1000);
    assert_int_equal(supervise_backoff_delay_ms(3), 2000);
    assert_int_equal(supervise_backoff_delay_ms(4), 4000);
    assert_int_equal(supervise_backoff_delay_ms(5), 8000);
    assert_int_equal(supervise_backoff_delay_ms(6), 10000);
    assert_int_equal(supervise_backoff_delay_ms(40), 10000);
    assert_int_equal(supervise_backoff_delay_ms(UINT32_MAX), 10000);
}

static int exit_at_once(void *arg, struct keel_error *err)
{
    (void)arg;
    (void)err;
    _exit(7);
}

struct exits {
    struct supervise *supervise;
    int supervised;
    int last_status;
};

static void on_reaped(pid_t pid, int code, int status, void *user)
{
    struct exits *exits = user;
    (void)code;
    if (supervise_handle_exit(exits->supervise, pid, code, status)) {
        exits->supervised++;
        exits->last_status = status;
    }
}

static void wait_for_child_exit(void)
{
    siginfo_t info = {0};
    /* WNOWAIT: leave the zombie for reap_children, as PID 1 would. */
    waitid(P_ALL, 0, &info, WEXITED | WNOWAIT);
}

static void test_a_dead_child_is_restarted_then_not_after_stop(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct exits exits = {0};
    struct supervise_spec spec = {.name = "test child", .child = exit_at_once};
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(supervise_new(loop, &exits.supervise, &err), 0);
    assert_int_equal(supervise_add(exits.supervise, &spec, &err), 0);
    wait_for_child_exit();
    assert_int_equal(reap_children(on_reaped, &exits), 1);
    assert_int_equal(exits.supervised, 1);
    assert_int_equal(exits.last_status, 7);

    /* The first restart is immediate: one turn of the loop starts it. */
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    wait_for_child_exit();
    assert_int_equal(reap_children(on_reaped, &exits), 1);
    assert_int_equal(exits.supervised, 2);

    /* After stop, a death is not followed by a restart. The second quick
     * death armed a 1 s timer; stop disarms it. */
    assert_int_equal(supervise_stop_all(exits.supervise), 0);
    assert_int_equal(loop_run_once(loop, 1500, &err), 0);
    assert_int_equal(reap_children(on_reaped, &exits), 0);

    supervise_free(exits.supervise);
    loop_free(loop);
}

static int sleep_forever(void *arg, struct keel_error *err)
{
    (void)arg;
    (void)err;
    pause(); /* until the stop signal ends it */
    _exit(0);
}

static void test_stop_signals_a_running_child_through_its_pidfd(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct exits exits = {0};
    struct supervise_spec spec = {
        .name = "sleeper", .child = sleep_forever, .stop_signal = SIGTERM};
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(supervise_new(loop, &exits.supervise, &err), 0);
    assert_int_equal(supervise_add(exits.supervise, &spec, &err), 0);
    assert_int_equal(supervise_stop_all(exits.supervise), 1);
    wait_for_child_exit();
    assert_int_equal(reap_children(on_reaped, &exits), 1);
    assert_int_equal(exits.supervised, 1);
    assert_int_equal(exits.last_status, SIGTERM);
    supervise_free(exits.supervise);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_grows_to_ten_seconds),
        cmocka_unit_test(test_a_dead_child_is_restarted_then_not_after_stop),
        cmocka_unit_test(test_stop_signals_a_running_child_through_its_pidfd),
    };
    return cmocka_run_group_tests_name("supervise", tests, NULL, NULL);
}
