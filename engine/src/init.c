/* init.c — PID 1's system setup duties: cgroup2, devpts, /dev/shm, hostname, ctrl-alt-del. */
#include "init.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "file.h"

int init_setup_cgroups(char *enabled, size_t enabled_size, struct keel_error *err)
{
    static const char *const controllers[] = {"cpu", "cpuset", "io", "memory", "pids"};

    enabled[0] = '\0';
    if (cgroup_mount_unified(CGROUP_ROOT, err) < 0)
        return -1;
    return cgroup_enable_controllers(CGROUP_ROOT, controllers,
                                     sizeof controllers / sizeof controllers[0], enabled,
                                     enabled_size, err);
}

int init_mount_devpts(struct keel_error *err)
{
    struct stat info;

    mkdir("/dev/pts", 0755);
    /* newinstance: containers get their own devpts later; the host's must
     * not be the kernel's single legacy instance they could reach. gid 5 is
     * the tty group. */
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 &&
        errno != EBUSY)
        return keel_error_set(err, errno, "mount devpts at /dev/pts");
    /* devtmpfs makes /dev/ptmx a device node bound to the legacy instance;
     * openpty() must reach the new instance. */
    if (lstat("/dev/ptmx", &info) == 0 && S_ISLNK(info.st_mode))
        return 0;
    if (unlink("/dev/ptmx") < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "replace /dev/ptmx: unlink");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0)
        return keel_error_set(err, errno, "symlink /dev/ptmx -> pts/ptmx");
    return 0;
}

int init_mount_shm(struct keel_error *err)
{
    mkdir("/dev/shm", 01777);
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0 && errno != EBUSY)
        return keel_error_set(err, errno, "mount tmpfs at /dev/shm");
    return 0;
}

int init_set_hostname(char *hostname, size_t hostname_size, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error read_err;

    hostname[0] = '\0';
    if (file_read_text("/etc/hostname", &text, NULL, &read_err) < 0) {
        if (read_err.errno_value == ENOENT)
            return 0;
        *err = read_err;
        return keel_error_prefix(err, "set hostname");
    }
    /* The first word of the file, as hostname(1) reads it. */
    char *start = text;
    while (*start != '\0' && isspace((unsigned char)*start))
        start++;
    char *end = start;
    while (*end != '\0' && !isspace((unsigned char)*end))
        end++;
    *end = '\0';
    if (*start == '\0')
        return 0;
    if (sethostname(start, strlen(start)) < 0)
        return keel_error_set(err, errno, "set hostname \"%s\"", start);
    snprintf(hostname, hostname_size, "%s", start);
    return 0;
}

int init_disable_ctrl_alt_del(struct keel_error *err)
{
    if (reboot(RB_DISABLE_CAD) < 0)
        return keel_error_set(err, errno, "disable ctrl-alt-del reboot");
    return 0;
}
