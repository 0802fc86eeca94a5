/* rootfs_sysctl.c — linux.sysctl: which keys a container may set; writing them. */
#include "rootfs_sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs_path.h"

#define ROOTFS_SYSCTL_DIRECTORY "/proc/sys/"

int rootfs_sysctl_path(const char *key, char *path, size_t size, struct keel_error *err)
{
    size_t prefix = strlen(ROOTFS_SYSCTL_DIRECTORY), length = strlen(key);

    if (length == 0)
        return keel_error_invalid(err, "sysctl \"\": empty key");
    if (strchr(key, '/') != NULL)
        return keel_error_invalid(err, "sysctl \"%s\": \"/\" in the key", key);
    if (key[0] == '.' || key[length - 1] == '.' || strstr(key, "..") != NULL)
        return keel_error_invalid(err, "sysctl \"%s\": empty part in the key", key);
    if (prefix + length + 1 > size)
        return keel_error_set(err, ENAMETOOLONG, "sysctl \"%s\"", key);
    memcpy(path, ROOTFS_SYSCTL_DIRECTORY, prefix);
    for (size_t i = 0; i <= length; i++)
        path[prefix + i] = key[i] == '.' ? '/' : key[i];
    return 0;
}

static bool rootfs_sysctl_is_ipc(const char *key)
{
    static const char *const keys[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    };

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return strncmp(key, "fs.mqueue.", strlen("fs.mqueue.")) == 0;
}

int rootfs_sysctl_check(const char *key, int namespaces, struct keel_error *err)
{
    if (rootfs_sysctl_is_ipc(key)) {
        if (namespaces & CLONE_NEWIPC)
            return 0;
        return keel_error_invalid(err, "sysctl \"%s\" is not allowed in the host's IPC namespace",
                                  key);
    }
    if (strncmp(key, "net.", strlen("net.")) == 0) {
        if (namespaces & CLONE_NEWNET)
            return 0;
        return keel_error_invalid(
            err, "sysctl \"%s\" is not allowed in the host's network namespace", key);
    }
    if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
        if (namespaces & CLONE_NEWUTS)
            return 0;
        return keel_error_invalid(err, "sysctl \"%s\" is not allowed in the host's UTS namespace",
                                  key);
    }
    return keel_error_invalid(err, "sysctl \"%s\" is not in a namespace of the container's own",
                              key);
}

static int rootfs_sysctl_write(int root_fd, const char *key, const char *value,
                               struct keel_error *err)
{
    char path[PATH_MAX];
    _cleanup_close_ int fd = -1;
    struct statfs info;
    size_t length = strlen(value);
    ssize_t n;

    if (rootfs_sysctl_path(key, path, sizeof path, err) < 0)
        return -1;
    /* /proc/sys has no symlinks: one on the way is a trick of the rootfs. */
    fd = rootfs_path_open_no_symlinks(root_fd, path, O_WRONLY | O_NOCTTY);
    if (fd < 0)
        return keel_error_set(err, errno, "write sysctl %s: open %s", key, path);
    if (fstatfs(fd, &info) < 0)
        return keel_error_set(err, errno, "write sysctl %s: statfs %s", key, path);
    if (info.f_type != PROC_SUPER_MAGIC)
        return keel_error_invalid(err, "write sysctl %s: %s is not in procfs", key, path);
    do {
        n = write(fd, value, length);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return keel_error_set(err, errno, "write sysctl %s=%s", key, value);
    if ((size_t)n != length)
        return keel_error_set(err, EIO, "write sysctl %s=%s: short write", key, value);
    return 0;
}

int rootfs_sysctl_apply(int root_fd, const struct oci_config *config, struct keel_error *err)
{
    int namespaces = 0;

    for (size_t i = 0; i < config->namespace_count; i++)
        namespaces |= config->namespaces[i].type;
    for (size_t i = 0; i < config->sysctl_count; i++) {
        const struct oci_key_value *sysctl = &config->sysctls[i];
        if (rootfs_sysctl_check(sysctl->key, namespaces, err) < 0 ||
            rootfs_sysctl_write(root_fd, sysctl->key, sysctl->value, err) < 0)
            return -1;
    }
    return 0;
}
