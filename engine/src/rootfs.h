/* rootfs.h — a container's root filesystem: mounts, devices, pivot_root, masked and read-only
 * paths. */
#pragma once

#include "error.h"
#include "oci_config.h"

/* In the container's process, in its new mount namespace, before pivot:
 * 1. make / rslave (or linux.rootfsPropagation) so nothing leaks back out;
 * 2. bind-mount rootfs onto itself (pivot_root needs a mount point); the
 *    mount holding rootfs is made private first when the propagation could
 *    leave it shared (pivot_root refuses a shared parent);
 * 3. refuse a rootfs whose /proc or /sys (when mounted by the config) is a
 *    symlink or not a directory: "rootfs /proc is a symlink";
 * 4. each config mount in order, its destination resolved inside rootfs
 *    (openat2 RESOLVE_IN_ROOT: a symlink pointing out lands inside), the
 *    target created when missing (a directory, or an empty file when the
 *    source is not a directory), mounted through /proc/self/fd/N of the
 *    resolved target; bind flags applied by a remount; propagation set;
 * 5. when /dev is a tmpfs of the config: the default devices (null, zero,
 *    full, random, urandom, tty) and config devices (mknod, or bind-mount
 *    of the host node when mknod is not permitted, as in a user
 *    namespace), the /dev symlinks (fd, stdin, stdout, stderr, core when
 *    /proc/kcore exists), /dev/ptmx → pts/ptmx.
 * Errors name the mount: "mount proc on /proc: Operation not permitted". */
int rootfs_prepare(const struct oci_config *config, const char *rootfs, struct keel_error *err);

/* pivot_root into rootfs (the pivot_root(".", ".") trick, old root
 * lazily detached), chdir /. Never chroot. */
int rootfs_pivot(const char *rootfs, struct keel_error *err);

/* After the pivot, in the container's root: write linux.sysctl under
 * /proc/sys (refusing sysctls outside the container's own namespaces:
 * net.* needs a net namespace, the IPC keys an IPC one, kernel.hostname
 * and domainname a UTS one), apply linux.rootfsPropagation to the new /,
 * mask linux.maskedPaths (the container's /dev/null, checked to be char
 * 1:3, over files, an empty
 * read-only tmpfs over directories; a missing path is fine; symlinks are
 * resolved inside the root), make linux.readonlyPaths read-only bind
 * mounts, then make / read-only when root.readonly. */
int rootfs_finish(const struct oci_config *config, struct keel_error *err);
