/* teardown.h — a shutdown's system calls: kill(-1), unmount everything, reboot(2). */
#pragma once

#include <stddef.h>

#include "error.h"
#include "shutdown.h"

/* kill(-1, signal): every process but PID 1 (kill(-1) does not say how
 * many; count them first with proc_count_user_processes()). */
int teardown_signal_all(int signal_number, struct keel_error *err);

/* Unmount every filesystem, children before parents, as mountinfo.c plans
 * it; where umount2 fails (busy, or /), remount read-only. Each mount's
 * outcome is logged (successes at debug level). Returns -1 only when the
 * mount table cannot be read; *failures counts mounts left writable. */
int teardown_unmount_all(size_t *failures, struct keel_error *err);

/* reboot(2) with power's command. Returns only on failure. */
int teardown_reboot(enum shutdown_power power, struct keel_error *err);
