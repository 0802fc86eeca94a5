/* rootfs_mask.c — linux.maskedPaths and linux.readonlyPaths, after pivot_root. */
#include "rootfs_mask.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs_mount.h"
#include "rootfs_path.h"

#define ROOTFS_MASK_ATTRIBUTES                                                                     \
    (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* The container's /dev/null, only if it is the null device: a rootfs (or
 * another container sharing it) could have put a symlink or a different
 * node there, and binding that over /proc files would hand the container
 * what masking is to hide (CVE-2025-31133). The fd is what gets bound, so
 * what was checked is what is used. */
static int rootfs_mask_open_null(int root_fd, int *null_fd, struct keel_error *err)
{
    _cleanup_close_ int fd = rootfs_path_open(root_fd, "/dev/null", O_PATH);
    struct stat info;

    if (fd < 0)
        return keel_error_set(err, errno, "open the container's /dev/null");
    if (fstat(fd, &info) < 0)
        return keel_error_set(err, errno, "stat the container's /dev/null");
    if (!S_ISCHR(info.st_mode) || info.st_rdev != makedev(1, 3))
        return keel_error_invalid(err, "the container's /dev/null is not the null "
                                       "device (char 1:3)");
    *null_fd = steal_fd(&fd);
    return 0;
}

/* Mount a new, empty, read-only tmpfs onto target_fd's place. */
static int rootfs_mask_directory(int target_fd)
{
    _cleanup_close_ int context = fsopen("tmpfs", FSOPEN_CLOEXEC);
    _cleanup_close_ int mount_fd = -1;

    if (context < 0)
        return -1;
    if (fsconfig(context, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
        fsconfig(context, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
        fsconfig(context, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return -1;
    mount_fd = fsmount(context, FSMOUNT_CLOEXEC, ROOTFS_MASK_ATTRIBUTES);
    if (mount_fd < 0)
        return -1;
    return move_mount(mount_fd, "", target_fd, "",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int rootfs_mask_paths(int root_fd, char *const *paths, struct keel_error *err)
{
    _cleanup_close_ int null_fd = -1;

    for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
        _cleanup_close_ int target = rootfs_path_open(root_fd, paths[i], O_PATH);
        struct stat info;

        if (target < 0 && errno == ENOENT)
            continue;
        if (target < 0)
            return keel_error_set(err, errno, "mask %s: resolve in rootfs", paths[i]);
        if (fstat(target, &info) < 0)
            return keel_error_set(err, errno, "mask %s: stat", paths[i]);
        if (S_ISDIR(info.st_mode)) {
            if (rootfs_mask_directory(target) < 0)
                return keel_error_set(err, errno, "mask %s: mount an empty read-only tmpfs",
                                      paths[i]);
            continue;
        }
        if (null_fd < 0 && rootfs_mask_open_null(root_fd, &null_fd, err) < 0)
            return keel_error_prefix(err, "mask %s", paths[i]);
        if (rootfs_mount_bind_fd(null_fd, target, false, 0, false) < 0)
            return keel_error_set(err, errno, "mask %s: bind-mount /dev/null", paths[i]);
    }
    return 0;
}

int rootfs_mask_readonly_paths(int root_fd, char *const *paths, struct keel_error *err)
{
    for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
        _cleanup_close_ int target = rootfs_path_open(root_fd, paths[i], O_PATH);

        if (target < 0 && errno == ENOENT)
            continue;
        if (target < 0)
            return keel_error_set(err, errno, "make %s read-only: resolve in rootfs", paths[i]);
        if (rootfs_mount_bind_fd(target, target, true, ROOTFS_MASK_ATTRIBUTES, true) < 0)
            return keel_error_set(err, errno, "make %s read-only: bind-mount it onto itself",
                                  paths[i]);
    }
    return 0;
}
