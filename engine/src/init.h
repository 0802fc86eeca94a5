/* init.h — PID 1's system setup duties: cgroup2, devpts, /dev/shm, hostname, ctrl-alt-del. */
#pragma once

#include <stddef.h>

#include "error.h"

/* Each step stands alone: PID 1 logs a failed step and goes on booting. */

/* Mount cgroup2 at /sys/fs/cgroup and enable the container controllers.
 * enabled receives the controllers that took, e.g. "cpu cpuset io memory pids". */
int init_setup_cgroups(char *enabled, size_t enabled_size, struct keel_error *err);

/* A fresh devpts instance at /dev/pts, with /dev/ptmx pointing into it. */
int init_mount_devpts(struct keel_error *err);

/* tmpfs at /dev/shm, world-writable and sticky, for POSIX shared memory. */
int init_mount_shm(struct keel_error *err);

/* Set the hostname from /etc/hostname; no file is not an error.
 * hostname receives what was set ("" when nothing was). */
int init_set_hostname(char *hostname, size_t hostname_size, struct keel_error *err);

/* Make ctrl-alt-del send SIGINT to PID 1 instead of rebooting at once. */
int init_disable_ctrl_alt_del(struct keel_error *err);
