/* rootfs_devices.h — a container's /dev: device nodes, the /dev symlinks, /dev/ptmx. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "oci_config.h"

/* A node to create: a config device or one of the defaults. */
struct rootfs_device {
    const char *path; /* absolute, inside the container */
    char type;        /* 'c', 'u', 'b', 'p' */
    int64_t major, minor;
    mode_t mode; /* permission bits */
    bool has_uid, has_gid;
    uid_t uid;
    gid_t gid;
};

/* The nodes for a container: the config's devices in their order, then the
 * defaults (null, zero, full, random, urandom: char 1:3, 1:5, 1:7, 1:8,
 * 1:9; tty 5:0; all 0666) whose path no config device takes. *devices is
 * heap memory (caller frees); its paths point into config_devices or
 * static storage. */
int rootfs_devices_list(const struct oci_device *config_devices, size_t config_count,
                        struct rootfs_device **devices, size_t *count, struct keel_error *err);

/* The S_IF* file type of an OCI device type, or 0 when unknown. */
mode_t rootfs_device_file_type(char type);

/* In the container's /dev (a tmpfs of the config, already mounted in the
 * tree of root_fd, before pivot_root): the nodes of rootfs_devices_list
 * (mknod; where that is not permitted, as in a user namespace, a bind
 * mount of the host's node at the same path onto an empty file), the
 * symlinks fd, stdin, stdout, stderr (into /proc/self/fd), core
 * (/proc/kcore, when the host has one) and ptmx -> pts/ptmx. */
int rootfs_devices_create(int root_fd, const struct oci_config *config, struct keel_error *err);
