/* rootfs_sysctl.h — linux.sysctl: which keys a container may set; writing them. */
#pragma once

#include <stddef.h>

#include "error.h"
#include "oci_config.h"

/* The file of a sysctl key: "net.ipv4.ip_forward" ->
 * "/proc/sys/net/ipv4/ip_forward". Refuses an empty key, an empty part
 * ("a..b", ".a", "a.") and a "/" in the key, so the file is always under
 * /proc/sys. */
int rootfs_sysctl_path(const char *key, char *path, size_t size, struct keel_error *err);

/* Refuse a sysctl outside the container's own namespaces, as runc does:
 * the IPC ones (kernel.msgmax, msgmnb, msgmni, sem, shmall, shmmax,
 * shmmni, shm_rmid_forced, fs.mqueue.*) need an IPC namespace, net.* a
 * network namespace, kernel.hostname and kernel.domainname a UTS
 * namespace. Nothing else is namespaced: writing it (kernel.core_pattern)
 * would change the host. namespaces: the CLONE_NEW* types the config
 * lists. */
int rootfs_sysctl_check(const char *key, int namespaces, struct keel_error *err);

/* Check and write every linux.sysctl of config, after pivot_root: root_fd
 * is the container's "/", whose /proc must be a procfs. */
int rootfs_sysctl_apply(int root_fd, const struct oci_config *config, struct keel_error *err);
