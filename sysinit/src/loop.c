/* loop.c: attaching a file to a free loop device (LOOP_CONFIGURE, older ioctls as fallback). */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/loop.h>

#include "cleanup.h"
#include "console.h"

/* Another process may take the free device between GET_FREE and our
 * configure (EBUSY); ask again a few times before giving up. */
#define LOOP_ATTACH_ATTEMPTS 8

static void loop_fill_info(struct loop_info64 *info, const char *path)
{
    memset(info, 0, sizeof(*info));
    info->lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    snprintf((char *)info->lo_file_name, sizeof(info->lo_file_name), "%s", path);
}

/* Returns 0, or -1 with errno set by the failing ioctl. */
static int loop_configure(int loop_fd, int file_fd, const char *path)
{
    struct loop_config config;

    memset(&config, 0, sizeof(config));
    config.fd = (unsigned int)file_fd;
    loop_fill_info(&config.info, path);
    if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0)
        return 0;
    /* LOOP_CONFIGURE arrived in Linux 5.8; older kernels say EINVAL/ENOTTY. */
    if (errno != EINVAL && errno != ENOTTY)
        return -1;

    if (ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0)
        return -1;
    loop_fill_info(&config.info, path);
    if (ioctl(loop_fd, LOOP_SET_STATUS64, &config.info) < 0) {
        int saved = errno;
        ioctl(loop_fd, LOOP_CLR_FD, 0);
        errno = saved;
        return -1;
    }
    return 0;
}

int loop_attach_readonly(const char *path, char *device_path, size_t size,
                         struct sysinit_error *err)
{
    _cleanup_close_ int file_fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int control_fd = -1;

    if (file_fd < 0)
        return error_make(err, errno, "open", "%s", path);
    control_fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control_fd < 0)
        return error_make(err, errno, "open", "/dev/loop-control");

    for (int attempt = 0; attempt < LOOP_ATTACH_ATTEMPTS; attempt++) {
        int loop_fd;
        int number = ioctl(control_fd, LOOP_CTL_GET_FREE);

        if (number < 0)
            return error_make(err, errno, "LOOP_CTL_GET_FREE", "/dev/loop-control");
        snprintf(device_path, size, "/dev/loop%d", number);
        loop_fd = open(device_path, O_RDONLY | O_CLOEXEC);
        if (loop_fd < 0)
            return error_make(err, errno, "open", "%s", device_path);
        if (loop_configure(loop_fd, file_fd, path) == 0) {
            console_debug("attached %s to %s", path, device_path);
            return loop_fd;
        }
        cleanup_close_fd(&loop_fd);
        if (errno != EBUSY)
            return error_make(err, errno, "configure loop device", "%s for %s", device_path, path);
    }
    return error_make(err, EBUSY, "find a free loop device", "for %s", path);
}
