/* spawn.h — starts a child process with a pidfd (clone3 CLONE_PIDFD, or fork + pidfd_open). */
#pragma once

#include <sys/types.h>

#include "error.h"

/* Runs in the child. It should end in exec; if it returns, its error is
 * written to the child's stderr and the child exits 127. */
typedef int (*spawn_child_function)(void *arg, struct keel_error *err);

/* Start a child running child(arg). On success *pid is its pid and *pidfd a
 * pidfd for race-free signalling (-1 when the kernel has no pidfds). The
 * child is not reaped here: whoever reaps all children (reap.c) does. */
int spawn_process(spawn_child_function child, void *arg, pid_t *pid, int *pidfd,
                  struct keel_error *err);

/* In a child of a process that blocks signals for signalfd: unblock all and
 * restore default dispositions, so the new program starts clean. */
void spawn_reset_signals(void);
