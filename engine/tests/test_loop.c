/* test_loop.c — unit tests of loop.c: fds, timers, signals, removal mid-batch, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop.h"

struct pipe_watch {
    int fds[2];
    int calls;
    struct pipe_watch *remove_other; /* removed from inside our callback */
};

static int on_pipe(struct loop *loop, int fd, uint32_t events, void *user, struct keel_error *err)
{
    struct pipe_watch *watch = user;
    char byte;
    (void)events;
    (void)err;
    watch->calls++;
    assert_int_equal(read(fd, &byte, 1), 1);
    if (watch->remove_other != NULL)
        assert_int_equal(loop_remove_fd(loop, watch->remove_other->fds[0], err), 0);
    return 0;
}

static void test_fd_callback_and_removal_from_inside_a_batch(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct pipe_watch first = {0}, second = {0};
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(pipe(first.fds), 0);
    assert_int_equal(pipe(second.fds), 0);
    first.remove_other = &second;
    second.remove_other = &first;
    assert_int_equal(loop_add_fd(loop, first.fds[0], EPOLLIN, on_pipe, &first, &err), 0);
    assert_int_equal(loop_add_fd(loop, second.fds[0], EPOLLIN, on_pipe, &second, &err), 0);

    /* Both ready in one batch: whichever runs first removes the other,
     * whose pending event must then be skipped (ASan would catch a use
     * after free). */
    assert_int_equal(write(first.fds[1], "x", 1), 1);
    assert_int_equal(write(second.fds[1], "y", 1), 1);
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    assert_int_equal(first.calls + second.calls, 1);

    assert_int_equal(loop_remove_fd(loop, 12345, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    loop_free(loop);
    for (int i = 0; i < 2; i++) {
        close(first.fds[i]);
        close(second.fds[i]);
    }
}

struct timer_count {
    int fired;
    bool free_self;
};

static int on_timer(struct loop *loop, struct loop_timer *timer, void *user, struct keel_error *err)
{
    struct timer_count *count = user;
    (void)err;
    count->fired++;
    if (count->fired == 3)
        loop_stop(loop);
    if (count->free_self)
        loop_timer_free(timer);
    return 0;
}

static void test_one_shot_and_periodic_timers(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct loop_timer *once, *periodic;
    struct timer_count once_count = {0}, periodic_count = {0};
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(loop_timer_new(loop, on_timer, &once_count, &once, &err), 0);
    assert_int_equal(loop_timer_new(loop, on_timer, &periodic_count, &periodic, &err), 0);
    assert_false(loop_timer_armed(once));
    assert_int_equal(loop_timer_arm(once, 0, 0, &err), 0); /* 0: next turn */
    assert_int_equal(loop_timer_arm(periodic, 5, 5, &err), 0);
    assert_true(loop_timer_armed(once));

    assert_int_equal(loop_run(loop, &err), 0); /* until the periodic fires 3 times */
    assert_int_equal(once_count.fired, 1);
    assert_int_equal(periodic_count.fired, 3);
    assert_false(loop_timer_armed(once));
    assert_true(loop_timer_armed(periodic));

    loop_timer_disarm(periodic);
    assert_int_equal(loop_run_once(loop, 30, &err), 0);
    assert_int_equal(periodic_count.fired, 3);
    loop_timer_free(once);
    loop_timer_free(periodic);
    loop_free(loop);
}

static void test_a_timer_may_free_itself(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct loop_timer *timer;
    struct timer_count count = {.free_self = true};
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(loop_timer_new(loop, on_timer, &count, &timer, &err), 0);
    assert_int_equal(loop_timer_arm(timer, 0, 1, &err), 0);
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    assert_int_equal(count.fired, 1);
    loop_free(loop);
}

static int reported;
static char reported_message[KEEL_ERROR_MESSAGE_MAX];

static void on_error(const struct keel_error *err, void *user)
{
    (void)user;
    reported++;
    strcpy(reported_message, err->message);
}

static int failing_timer(struct loop *loop, struct loop_timer *timer, void *user,
                         struct keel_error *err)
{
    (void)loop;
    (void)timer;
    (void)user;
    return keel_error_set(err, EIO, "tick");
}

static void test_callback_errors_go_to_the_handler_and_the_loop_goes_on(void **state)
{
    struct loop *loop;
    struct keel_error err;
    struct loop_timer *timer;
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    loop_set_error_handler(loop, on_error, NULL);
    assert_int_equal(loop_timer_new(loop, failing_timer, NULL, &timer, &err), 0);
    assert_int_equal(loop_timer_arm(timer, 0, 1, &err), 0);
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    assert_int_equal(reported, 2);
    assert_string_equal(reported_message, "tick: Input/output error");
    loop_timer_free(timer);
    loop_free(loop);
}

static int signal_seen;

static int on_signal(struct loop *loop, int fd, uint32_t events, void *user, struct keel_error *err)
{
    struct signalfd_siginfo info;
    (void)loop;
    (void)events;
    (void)user;
    (void)err;
    while (read(fd, &info, sizeof info) == (ssize_t)sizeof info)
        signal_seen = (int)info.ssi_signo;
    return 0;
}

static void test_signals_arrive_through_the_loop(void **state)
{
    static const int signals[] = {SIGUSR2};
    struct loop *loop;
    struct keel_error err;
    sigset_t none;
    (void)state;

    assert_int_equal(loop_new(&loop, &err), 0);
    assert_int_equal(loop_add_signals(loop, signals, 1, on_signal, NULL, &err), 0);
    assert_int_equal(kill(getpid(), SIGUSR2), 0); /* blocked: waits for the signalfd */
    assert_int_equal(loop_run_once(loop, 1000, &err), 0);
    assert_int_equal(signal_seen, SIGUSR2);
    loop_free(loop);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_callback_and_removal_from_inside_a_batch),
        cmocka_unit_test(test_one_shot_and_periodic_timers),
        cmocka_unit_test(test_a_timer_may_free_itself),
        cmocka_unit_test(test_callback_errors_go_to_the_handler_and_the_loop_goes_on),
        cmocka_unit_test(test_signals_arrive_through_the_loop),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
