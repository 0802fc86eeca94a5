/* spawn.c — starts a child process with a pidfd (clone3 CLONE_PIDFD, or fork + pidfd_open). */
#include "spawn.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clone3.h"
#include "log.h"

void spawn_reset_signals(void)
{
    sigset_t none;
    struct sigaction default_action = {.sa_handler = SIG_DFL};

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int signal_number = 1; signal_number < NSIG; signal_number++)
        sigaction(signal_number, &default_action, NULL); /* EINVAL for KILL/STOP: fine */
}

static _Noreturn void spawn_run_child(spawn_child_function child, void *arg)
{
    struct keel_error err;
    keel_error_clear(&err);
    child(arg, &err);
    /* The child is its own boundary: it cannot hand the error back to the
     * parent without the parent blocking on a pipe, which PID 1 must not. */
    log_info("child %d: %s", (int)getpid(), err.message);
    _exit(127);
}

int spawn_process(spawn_child_function child, void *arg, pid_t *pid, int *pidfd,
                  struct keel_error *err)
{
    int child_pidfd = -1;
    struct keel_clone_args args = {
        .flags = CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&child_pidfd,
        .exit_signal = SIGCHLD,
    };

    /* clone3 hands back the pidfd atomically with the child: no window in
     * which the pid could be reaped and reused before we hold a pidfd. */
    long result = keel_clone3(&args);
    if (result == 0)
        spawn_run_child(child, arg);
    if (result > 0) {
        *pid = (pid_t)result;
        *pidfd = child_pidfd;
        return 0;
    }
    /* ENOSYS: no clone3 (before 5.3); E2BIG: no cgroup field (before 5.7). */
    if (errno != ENOSYS && errno != E2BIG)
        return keel_error_set(err, errno, "clone3");

    /* Kernels before 5.3. pidfd_open after fork is still race-free here:
     * only this process reaps its children, and it does not reap until it
     * returns to its event loop. */
    pid_t forked = fork();
    if (forked < 0)
        return keel_error_set(err, errno, "fork");
    if (forked == 0)
        spawn_run_child(child, arg);
    *pid = forked;
    *pidfd = pidfd_open(forked, 0); /* -1 before 5.3: callers fall back to kill() */
    return 0;
}
