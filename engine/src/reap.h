/* reap.h — collects every exited child (orphans included) without blocking. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* code is siginfo's si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED); status is
 * the exit status for CLD_EXITED, else the signal number. */
typedef void (*reap_callback)(pid_t pid, int code, int status, void *user);

/* Reap every child that has exited, calling callback for each. Returns how
 * many were reaped. Never blocks (WNOHANG). */
unsigned reap_children(reap_callback callback, void *user);
