/* newroot.c: the tmpfs root: OS image at /usr, skeleton /etc, standard mount points. */
#include "newroot.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "loop.h"
#include "mounts.h"
#include "skel.h"

struct mount_point {
    const char *path;
    mode_t mode;
};

/* Parents before children. */
static const struct mount_point mount_points[] = {
    {"/proc", 0755}, {"/sys", 0755}, {"/dev", 0755},     {"/run", 0755},          {"/tmp", 01777},
    {"/root", 0700}, {"/var", 0755}, {"/var/lib", 0755}, {"/var/lib/keel", 0755},
};

static int newroot_mount_os_image(struct sysinit_error *err)
{
    char loop_device[32];
    _cleanup_close_ int loop_fd =
        loop_attach_readonly(NEWROOT_OS_IMAGE, loop_device, sizeof(loop_device), err);

    if (loop_fd < 0)
        return error_wrap(err, "attach OS image");
    /* No MS_NOSUID: the image is the OS itself and may ship setuid helpers. */
    if (mounts_mount(loop_device, NEWROOT_PATH "/usr", "squashfs", MS_RDONLY | MS_NODEV, NULL, 0,
                     err) < 0)
        return error_wrap(err, "mount OS image %s", NEWROOT_OS_IMAGE);
    if (access(NEWROOT_PATH NEWROOT_ENGINE, X_OK) < 0)
        return error_make(err, errno, "OS image has no " NEWROOT_ENGINE, "%s",
                          NEWROOT_PATH NEWROOT_ENGINE);
    return 0;
}

static int newroot_make_mount_points(struct sysinit_error *err)
{
    for (size_t i = 0; i < sizeof(mount_points) / sizeof(mount_points[0]); i++) {
        char path[128];

        snprintf(path, sizeof(path), NEWROOT_PATH "%s", mount_points[i].path);
        if (mkdir(path, mount_points[i].mode) < 0) {
            /* One the skeleton already made keeps the skeleton's mode. */
            if (errno == EEXIST)
                continue;
            return error_make(err, errno, "mkdir", "%s", path);
        }
        /* mkdir's mode went through the umask; 1777 and 0700 must be exact. */
        if (chmod(path, mount_points[i].mode) < 0)
            return error_make(err, errno, "chmod", "%s", path);
    }
    return 0;
}

int newroot_prepare(struct sysinit_error *err)
{
    if (mounts_mount("tmpfs", NEWROOT_PATH, "tmpfs", 0, "mode=0755", 0, err) < 0)
        return error_wrap(err, "make the root filesystem");
    if (newroot_mount_os_image(err) < 0)
        return -1;
    if (skel_copy_tree(NEWROOT_PATH NEWROOT_SKEL, NEWROOT_PATH, err) < 0)
        return error_wrap(err, "lay down the skeleton from the OS image");
    console_debug("copied %s into %s", NEWROOT_SKEL, NEWROOT_PATH);
    if (newroot_make_mount_points(err) < 0)
        return error_wrap(err, "make mount points");
    return 0;
}
