/* rootfs.c — a container's root: mounts and /dev before pivot_root, the pivot, masks after. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs_devices.h"
#include "rootfs_mask.h"
#include "rootfs_mount.h"
#include "rootfs_path.h"
#include "rootfs_sysctl.h"

static bool rootfs_config_mounts(const struct oci_config *config, const char *type,
                                 const char *destination)
{
    for (size_t i = 0; i < config->mount_count; i++) {
        const struct oci_mount *mount = &config->mounts[i];
        if (mount->type != NULL && strcmp(mount->type, type) == 0 &&
            rootfs_path_equal(mount->destination, destination))
            return true;
    }
    return false;
}

/* A proc or sysfs mounted by the config must land on the rootfs' own
 * directory. Were /proc a symlink (to /etc, say), the mount would follow
 * it inside the root, the masks of /proc paths would miss it, and the
 * container would see an unmasked procfs through the link. */
static int rootfs_check_mount_directory(int root_fd, const char *name, struct keel_error *err)
{
    struct stat info;

    if (fstatat(root_fd, name, &info, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0; /* created as a directory when mounted */
        return keel_error_set(err, errno, "rootfs /%s: stat", name);
    }
    if (S_ISLNK(info.st_mode))
        return keel_error_invalid(err, "rootfs /%s is a symlink", name);
    if (!S_ISDIR(info.st_mode))
        return keel_error_invalid(err, "rootfs /%s is not a directory", name);
    return 0;
}

/* pivot_root refuses a new root whose parent mount is shared, and a bind
 * of a shared mount would be shared too (and its mounts would reach the
 * host). After / was made recursively slave, private or unbindable no
 * mount is shared; otherwise make the mount holding rootfs private, as
 * runc does. */
static int rootfs_make_parent_private(const char *rootfs, unsigned long propagation,
                                      struct keel_error *err)
{
    _cleanup_free_ char *path = NULL;

    if ((propagation & MS_REC) && !(propagation & MS_SHARED))
        return 0;
    path = realpath(rootfs, NULL);
    if (path == NULL)
        return keel_error_set(err, errno, "resolve rootfs %s", rootfs);
    /* Walk up to the nearest directory that is the root of a mount. */
    for (;;) {
        struct statx info;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &info) < 0)
            return keel_error_set(err, errno, "find the mount of rootfs: statx %s", path);
        if (!(info.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
            return keel_error_set(err, EOPNOTSUPP, "find the mount of rootfs: statx %s", path);
        if ((info.stx_attributes & STATX_ATTR_MOUNT_ROOT) || strcmp(path, "/") == 0)
            break;
        char *slash = strrchr(path, '/');
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0)
        return keel_error_set(err, errno, "make %s (the mount holding rootfs) private", path);
    return 0;
}

int rootfs_prepare(const struct oci_config *config, const char *rootfs, struct keel_error *err)
{
    unsigned long propagation =
        config->rootfs_propagation != 0 ? config->rootfs_propagation : MS_SLAVE | MS_REC;
    _cleanup_close_ int root_fd = -1;

    if (mount(NULL, "/", NULL, propagation, NULL) < 0)
        return keel_error_set(err, errno, "set the propagation of /");
    if (rootfs_make_parent_private(rootfs, propagation, err) < 0)
        return -1;
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return keel_error_set(err, errno, "bind-mount rootfs %s onto itself", rootfs);
    /* Opened after the bind, so that it names the bind: mounts made through
     * it are on the new root, not hidden under it. */
    root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return keel_error_set(err, errno, "open rootfs %s", rootfs);

    if (rootfs_config_mounts(config, "proc", "/proc") &&
        rootfs_check_mount_directory(root_fd, "proc", err) < 0)
        return -1;
    if (rootfs_config_mounts(config, "sysfs", "/sys") &&
        rootfs_check_mount_directory(root_fd, "sys", err) < 0)
        return -1;

    for (size_t i = 0; i < config->mount_count; i++)
        if (rootfs_mount_apply(root_fd, &config->mounts[i], err) < 0)
            return -1;
    if (rootfs_config_mounts(config, "tmpfs", "/dev") &&
        rootfs_devices_create(root_fd, config, err) < 0)
        return -1;
    return 0;
}

int rootfs_pivot(const char *rootfs, struct keel_error *err)
{
    _cleanup_close_ int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int new_root = -1;

    if (old_root < 0)
        return keel_error_set(err, errno, "pivot_root: open /");
    new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (new_root < 0)
        return keel_error_set(err, errno, "pivot_root: open %s", rootfs);
    if (fchdir(new_root) < 0)
        return keel_error_set(err, errno, "pivot_root: chdir %s", rootfs);
    /* new_root and put_old both ".": the old root is stacked on the new
     * one, so it needs no directory in the container and can be detached
     * from where we stand. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return keel_error_set(err, errno, "pivot_root into %s", rootfs);
    if (fchdir(old_root) < 0)
        return keel_error_set(err, errno, "pivot_root: chdir to the old root");
    /* Unmounting it must not propagate to the host's mounts. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return keel_error_set(err, errno, "pivot_root: make the old root rslave");
    if (umount2(".", MNT_DETACH) < 0)
        return keel_error_set(err, errno, "pivot_root: detach the old root");
    if (chdir("/") < 0)
        return keel_error_set(err, errno, "pivot_root: chdir /");
    return 0;
}

int rootfs_finish(const struct oci_config *config, struct keel_error *err)
{
    _cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (root_fd < 0)
        return keel_error_set(err, errno, "open /");
    /* As runc: a configured propagation other than private reaches the new
     * root only now; set before pivot_root, through a shared parent, it
     * would have reached the host. */
    if (config->rootfs_propagation != 0 && !(config->rootfs_propagation & MS_PRIVATE) &&
        mount(NULL, "/", NULL, config->rootfs_propagation, NULL) < 0)
        return keel_error_set(err, errno, "set the propagation of the container's /");
    if (rootfs_sysctl_apply(root_fd, config, err) < 0)
        return -1;
    if (rootfs_mask_paths(root_fd, config->masked_paths, err) < 0)
        return -1;
    if (rootfs_mask_readonly_paths(root_fd, config->readonly_paths, err) < 0)
        return -1;
    if (config->root_readonly) {
        /* Sets read-only alone: nosuid, nodev, ... of / stay as they are. */
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        if (mount_setattr(root_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
            return keel_error_set(err, errno, "make / read-only");
    }
    return 0;
}
