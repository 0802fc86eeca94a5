/* rootfs_devices.c — a container's /dev: device nodes, the /dev symlinks, /dev/ptmx. */
#include "rootfs_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs_mount.h"
#include "rootfs_path.h"

static const struct rootfs_device rootfs_default_devices[] = {
    {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .mode = 0666},
    {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .mode = 0666},
    {.path = "/dev/full", .type = 'c', .major = 1, .minor = 7, .mode = 0666},
    {.path = "/dev/random", .type = 'c', .major = 1, .minor = 8, .mode = 0666},
    {.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .mode = 0666},
    {.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .mode = 0666},
};
#define ROOTFS_DEFAULT_DEVICE_COUNT                                                                \
    (sizeof rootfs_default_devices / sizeof rootfs_default_devices[0])

struct rootfs_device_link {
    const char *name; /* in /dev */
    const char *target;
};

static const struct rootfs_device_link rootfs_device_links[] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
};

mode_t rootfs_device_file_type(char type)
{
    switch (type) {
    case 'c':
    case 'u':
        return S_IFCHR;
    case 'b':
        return S_IFBLK;
    case 'p':
        return S_IFIFO;
    default:
        return 0;
    }
}

int rootfs_devices_list(const struct oci_device *config_devices, size_t config_count,
                        struct rootfs_device **devices, size_t *count, struct keel_error *err)
{
    struct rootfs_device *list = calloc(config_count + ROOTFS_DEFAULT_DEVICE_COUNT, sizeof *list);
    size_t used = 0;

    if (list == NULL)
        return keel_error_set(err, ENOMEM, "list devices");
    for (size_t i = 0; i < config_count; i++) {
        const struct oci_device *device = &config_devices[i];
        list[used++] = (struct rootfs_device){
            .path = device->path,
            .type = device->type,
            .major = device->major,
            .minor = device->minor,
            .mode = device->has_file_mode ? (device->file_mode & 07777) : 0666,
            .has_uid = device->has_uid,
            .has_gid = device->has_gid,
            .uid = device->uid,
            .gid = device->gid,
        };
    }
    for (size_t i = 0; i < ROOTFS_DEFAULT_DEVICE_COUNT; i++) {
        bool taken = false;
        for (size_t j = 0; j < config_count && !taken; j++)
            taken = rootfs_path_equal(config_devices[j].path, rootfs_default_devices[i].path);
        if (!taken)
            list[used++] = rootfs_default_devices[i];
    }
    *devices = list;
    *count = used;
    return 0;
}

static int rootfs_device_set_owner(int parent_fd, const char *name,
                                   const struct rootfs_device *device, struct keel_error *err)
{
    /* mknod's mode went through the umask; the config's is exact. The node
     * was just made by us, so following a symlink is not a concern. */
    if (fchmodat(parent_fd, name, device->mode, 0) < 0)
        return keel_error_set(err, errno, "set mode of device %s", device->path);
    if (!device->has_uid && !device->has_gid)
        return 0;
    if (fchownat(parent_fd, name, device->has_uid ? device->uid : (uid_t)-1,
                 device->has_gid ? device->gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "set owner of device %s", device->path);
    return 0;
}

/* mknod is not permitted (a user namespace): bind the host's node, at the
 * same path, onto an empty file. It must be the node the config names, not
 * whatever the host has there. */
static int rootfs_device_bind_host(int parent_fd, const char *name,
                                   const struct rootfs_device *device, mode_t file_type,
                                   dev_t number, struct keel_error *err)
{
    _cleanup_close_ int host = open(device->path, O_PATH | O_CLOEXEC);
    _cleanup_close_ int target = -1;
    struct stat info;

    if (host < 0)
        return keel_error_set(err, errno, "create device %s: mknod not permitted; open the host's",
                              device->path);
    if (fstat(host, &info) < 0)
        return keel_error_set(err, errno, "create device %s: stat the host's", device->path);
    if ((info.st_mode & S_IFMT) != file_type || info.st_rdev != number)
        return keel_error_invalid(err,
                                  "create device %s: mknod not permitted, and the host's %s is "
                                  "not a %c device %lld:%lld",
                                  device->path, device->path, device->type,
                                  (long long)device->major, (long long)device->minor);
    target = openat(parent_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (target < 0 && errno == EEXIST)
        return 0;
    if (target < 0)
        return keel_error_set(err, errno, "create device %s: create a file to bind onto",
                              device->path);
    if (rootfs_mount_bind_fd(host, target, false, 0, false) < 0)
        return keel_error_set(err, errno, "create device %s: bind-mount the host's", device->path);
    return 0;
}

static int rootfs_device_create(int root_fd, const struct rootfs_device *device,
                                struct keel_error *err)
{
    char clean[PATH_MAX];
    _cleanup_close_ int parent = -1;
    mode_t file_type = rootfs_device_file_type(device->type);

    if (file_type == 0)
        return keel_error_invalid(err, "device %s: unknown type '%c'", device->path, device->type);
    if (file_type != S_IFIFO && (device->major < 0 || device->major > UINT32_MAX ||
                                 device->minor < 0 || device->minor > UINT32_MAX))
        return keel_error_invalid(err, "device %s: bad number %lld:%lld", device->path,
                                  (long long)device->major, (long long)device->minor);
    if (rootfs_path_clean(device->path, clean, sizeof clean) < 0)
        return keel_error_set(err, errno, "device %s", device->path);
    if (strcmp(clean, "/") == 0)
        return keel_error_invalid(err, "device %s: not a path to a node", device->path);

    char *slash = strrchr(clean, '/');
    const char *name = slash + 1;
    *slash = '\0';
    if (rootfs_path_open_or_create(root_fd, clean[0] != '\0' ? clean : "/", ROOTFS_PATH_DIRECTORY,
                                   "directory of device", &parent, err) < 0)
        return -1;

    dev_t number = 0;
    if (file_type != S_IFIFO)
        number = makedev((unsigned)device->major, (unsigned)device->minor);
    if (mknodat(parent, name, file_type | device->mode, number) == 0)
        return rootfs_device_set_owner(parent, name, device, err);
    /* Already there: a config device at a default's path came first. */
    if (errno == EEXIST)
        return 0;
    if (errno == EPERM && file_type != S_IFIFO)
        return rootfs_device_bind_host(parent, name, device, file_type, number, err);
    return keel_error_set(err, errno, "create device %s", device->path);
}

static int rootfs_devices_link(int root_fd, struct keel_error *err)
{
    _cleanup_close_ int dev = rootfs_path_open(root_fd, "/dev", O_PATH | O_DIRECTORY);

    if (dev < 0)
        return keel_error_set(err, errno, "resolve /dev in rootfs");
    for (size_t i = 0; i < sizeof rootfs_device_links / sizeof rootfs_device_links[0]; i++) {
        const struct rootfs_device_link *link = &rootfs_device_links[i];
        if (symlinkat(link->target, dev, link->name) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create symlink /dev/%s -> %s", link->name,
                                  link->target);
    }
    /* The host's /proc, before pivot_root: a kernel without /proc/kcore
     * would give the container a dangling link. */
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
        errno != EEXIST)
        return keel_error_set(err, errno, "create symlink /dev/core -> /proc/kcore");
    /* openpty() must reach the container's own devpts instance. */
    if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "replace /dev/ptmx: unlink");
    if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
        return keel_error_set(err, errno, "create symlink /dev/ptmx -> pts/ptmx");
    return 0;
}

int rootfs_devices_create(int root_fd, const struct oci_config *config, struct keel_error *err)
{
    _cleanup_free_ struct rootfs_device *devices = NULL;
    size_t count;

    if (rootfs_devices_list(config->devices, config->device_count, &devices, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (rootfs_device_create(root_fd, &devices[i], err) < 0)
            return -1;
    return rootfs_devices_link(root_fd, err);
}
