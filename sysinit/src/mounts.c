/* mounts.c: mounting the API filesystems and moving them into the new root. */
#include "mounts.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "console.h"

struct api_filesystem {
    const char *path;
    const char *type;
    unsigned long flags;
    const char *data;
};

/* devtmpfs is not mounted by the kernel for an initramfs (only for a real
 * root), so we mount it ourselves. */
static const struct api_filesystem api_filesystems[] = {
    {"/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
};

int mounts_mount(const char *source, const char *target, const char *type, unsigned long flags,
                 const char *data, int tolerate_busy, struct sysinit_error *err)
{
    if (mkdir(target, 0755) < 0 && errno != EEXIST)
        return error_make(err, errno, "mkdir", "%s", target);
    if (mount(source, target, type, flags, data) < 0) {
        if (tolerate_busy && errno == EBUSY) {
            console_debug("%s already mounted", target);
            return 0;
        }
        return error_make(err, errno, "mount", "%s (%s) on %s", source, type, target);
    }
    console_debug("mounted %s (%s) on %s", source, type, target);
    return 0;
}

int mounts_mount_api_filesystems(struct sysinit_error *err)
{
    for (size_t i = 0; i < sizeof(api_filesystems) / sizeof(api_filesystems[0]); i++) {
        const struct api_filesystem *fs = &api_filesystems[i];
        if (mounts_mount(fs->type, fs->path, fs->type, fs->flags, fs->data, 1, err) < 0)
            return -1;
    }
    return 0;
}

int mounts_move_api_filesystems(const char *new_root, struct sysinit_error *err)
{
    for (size_t i = 0; i < sizeof(api_filesystems) / sizeof(api_filesystems[0]); i++) {
        const char *path = api_filesystems[i].path;
        char target[256];

        snprintf(target, sizeof(target), "%s%s", new_root, path);
        if (mount(path, target, NULL, MS_MOVE, NULL) < 0)
            return error_make(err, errno, "move mount", "%s to %s", path, target);
        console_debug("moved %s to %s", path, target);
    }
    return 0;
}
