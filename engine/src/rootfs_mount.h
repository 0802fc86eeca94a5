/* rootfs_mount.h — one OCI mount onto its destination resolved inside the container's root. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "oci_config.h"

/* A mount's per-mount MS_* flags as mount_setattr(2) wants them: the
 * MOUNT_ATTR_* bits to set and to clear. The atime mode is one field: an
 * atime option (noatime, strictatime, relatime) sets it and clears
 * MOUNT_ATTR__ATIME; clearing noatime or strictatime ("atime",
 * "nostrictatime") means relatime, the kernel's default. */
void rootfs_mount_attributes(unsigned long flags, unsigned long clear_flags, uint64_t *attr_set,
                             uint64_t *attr_clr);

/* The MOUNT_ATTR_* bits a mount has, from its statvfs f_flag (ST_*). */
uint64_t rootfs_mount_attributes_of_statvfs(unsigned long f_flag);

/* Whether a bind mount may land inside /proc at this (clean) destination:
 * only over the files lxcfs emulates (/proc/cpuinfo, /proc/meminfo, ...).
 * Anything else there (/proc/self/attr, /proc/sys/kernel/core_pattern)
 * would let a config or a symlink trick undo /proc's protections. */
bool rootfs_mount_proc_destination_allowed(const char *destination);

/* Bind what source_fd is open on (a file or a directory; O_PATH is enough)
 * onto target_fd's place: clone it (with its submounts when recursive), set
 * attr_set on the clone (on all of its mounts when attr_recursive) before
 * it becomes visible, then attach it. Returns -1 with errno set. */
int rootfs_mount_bind_fd(int source_fd, int target_fd, bool recursive, uint64_t attr_set,
                         bool attr_recursive);

/* Mount one config mount into the tree of root_fd (a bind of the rootfs,
 * before pivot_root): the destination resolved in-root and created when
 * missing, the mount made onto that resolved fd, flags and propagation
 * applied. Errors name the mount: "mount proc on /proc: ...". */
int rootfs_mount_apply(int root_fd, const struct oci_mount *entry, struct keel_error *err);
