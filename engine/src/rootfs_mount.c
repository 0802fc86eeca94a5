/* rootfs_mount.c — one OCI mount onto its destination resolved inside the container's root. */
#include "rootfs_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "rootfs_path.h"

#define ROOTFS_MOUNT_PROPAGATION_FLAGS (MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE)

struct rootfs_mount_flag {
    unsigned long flag;
    uint64_t attribute;
};

/* The per-mount flags that are plain bits in both worlds (atime is not). */
static const struct rootfs_mount_flag rootfs_mount_flags[] = {
    {MS_RDONLY, MOUNT_ATTR_RDONLY},         {MS_NOSUID, MOUNT_ATTR_NOSUID},
    {MS_NODEV, MOUNT_ATTR_NODEV},           {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
    {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW},
};

void rootfs_mount_attributes(unsigned long flags, unsigned long clear_flags, uint64_t *attr_set,
                             uint64_t *attr_clr)
{
    *attr_set = 0;
    *attr_clr = 0;
    for (size_t i = 0; i < sizeof rootfs_mount_flags / sizeof rootfs_mount_flags[0]; i++) {
        if (flags & rootfs_mount_flags[i].flag)
            *attr_set |= rootfs_mount_flags[i].attribute;
        else if (clear_flags & rootfs_mount_flags[i].flag)
            *attr_clr |= rootfs_mount_flags[i].attribute;
    }
    if (flags & MS_NOATIME)
        *attr_set |= MOUNT_ATTR_NOATIME;
    else if (flags & MS_STRICTATIME)
        *attr_set |= MOUNT_ATTR_STRICTATIME;
    else if (!(flags & MS_RELATIME) && !(clear_flags & (MS_NOATIME | MS_STRICTATIME)))
        return;
    /* MOUNT_ATTR_RELATIME is 0: choosing it is clearing the field alone. */
    *attr_clr |= MOUNT_ATTR__ATIME;
}

uint64_t rootfs_mount_attributes_of_statvfs(unsigned long f_flag)
{
    static const struct rootfs_mount_flag statvfs_flags[] = {
        {ST_RDONLY, MOUNT_ATTR_RDONLY},         {ST_NOSUID, MOUNT_ATTR_NOSUID},
        {ST_NODEV, MOUNT_ATTR_NODEV},           {ST_NOEXEC, MOUNT_ATTR_NOEXEC},
        {ST_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {ST_NOATIME, MOUNT_ATTR_NOATIME},
    };
    uint64_t attributes = 0;

    for (size_t i = 0; i < sizeof statvfs_flags / sizeof statvfs_flags[0]; i++)
        if (f_flag & statvfs_flags[i].flag)
            attributes |= statvfs_flags[i].attribute;
    return attributes;
}

bool rootfs_mount_proc_destination_allowed(const char *destination)
{
    /* What lxcfs bind-mounts over /proc, as runc allows it. */
    static const char *const allowed[] = {
        "/proc/cpuinfo", "/proc/diskstats",
        "/proc/meminfo", "/proc/stat",
        "/proc/swaps",   "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo",
        "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
    };

    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(destination, allowed[i]) == 0)
            return true;
    return false;
}

static int rootfs_mount_set_propagation(int mount_fd, unsigned long propagation)
{
    struct mount_attr attr = {.propagation = propagation & ~(unsigned long)MS_REC};
    unsigned flags = AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0);

    return mount_setattr(mount_fd, "", flags, &attr, sizeof attr);
}

int rootfs_mount_bind_fd(int source_fd, int target_fd, bool recursive, uint64_t attr_set,
                         bool attr_recursive)
{
    unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
    _cleanup_close_ int tree = -1;

    if (recursive)
        tree_flags |= AT_RECURSIVE;
    tree = open_tree(source_fd, "", tree_flags);
    if (tree < 0)
        return -1;
    if (attr_set != 0) {
        struct mount_attr attr = {.attr_set = attr_set};
        unsigned flags = AT_EMPTY_PATH | (attr_recursive ? AT_RECURSIVE : 0);
        if (mount_setattr(tree, "", flags, &attr, sizeof attr) < 0)
            return -1;
    }
    return move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* Set and clear flags on a detached bind. In a user namespace the flags a
 * mount had when it was handed to us (nosuid, nodev, ro, ...) are locked:
 * clearing one fails with EPERM. Like runc, try again keeping whatever the
 * source has rather than failing the container. */
static int rootfs_mount_setattr_keeping_locked(int tree_fd, uint64_t attr_set, uint64_t attr_clr)
{
    struct mount_attr attr = {.attr_set = attr_set, .attr_clr = attr_clr};
    struct statvfs info;

    if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    if (fstatvfs(tree_fd, &info) < 0)
        return -1;
    attr.attr_clr &= ~rootfs_mount_attributes_of_statvfs(info.f_flag);
    if (attr.attr_clr & MOUNT_ATTR__ATIME) {
        /* The atime mode may be locked too: keep the source's. */
        attr.attr_clr &= ~(uint64_t)MOUNT_ATTR__ATIME;
        attr.attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
    }
    return mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr);
}

/* Refuse a destination that resolved to the root itself (a mount there
 * would hide the rootfs from every later lookup made through root_fd) or
 * into procfs, unless it is one of the few files lxcfs binds over. The fd
 * says where the destination really is, whatever symlinks led there. */
static int rootfs_mount_check_destination(int root_fd, int target_fd, const struct oci_mount *entry,
                                          const char *what, struct keel_error *err)
{
    struct stat root, target;
    struct statfs info;
    char clean[PATH_MAX];

    if (fstat(root_fd, &root) < 0 || fstat(target_fd, &target) < 0)
        return keel_error_set(err, errno, "%s: stat the destination", what);
    if (root.st_dev == target.st_dev && root.st_ino == target.st_ino)
        return keel_error_invalid(err, "%s: the destination is the container's root", what);
    if (fstatfs(target_fd, &info) < 0)
        return keel_error_set(err, errno, "%s: statfs the destination", what);
    if (info.f_type != PROC_SUPER_MAGIC)
        return 0;
    if (entry->bind && rootfs_path_clean(entry->destination, clean, sizeof clean) == 0 &&
        rootfs_mount_proc_destination_allowed(clean))
        return 0;
    return keel_error_invalid(err, "%s: the destination is inside /proc", what);
}

static int rootfs_mount_bind(int root_fd, const struct oci_mount *entry, struct keel_error *err)
{
    char what[KEEL_ERROR_MESSAGE_MAX / 2];
    unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    _cleanup_close_ int tree = -1, target = -1;
    struct stat info;
    uint64_t attr_set, attr_clr;

    if (entry->source == NULL)
        return keel_error_invalid(err, "bind-mount on %s: no source", entry->destination);
    snprintf(what, sizeof what, "bind-mount %s on %s", entry->source, entry->destination);
    if (entry->recursive)
        tree_flags |= AT_RECURSIVE;
    /* A detached clone: its flags are set before anyone can see it. */
    tree = open_tree(AT_FDCWD, entry->source, tree_flags);
    if (tree < 0)
        return keel_error_set(err, errno, "%s", what);
    if (fstat(tree, &info) < 0)
        return keel_error_set(err, errno, "%s: stat the source", what);
    if (rootfs_path_open_or_create(root_fd, entry->destination,
                                   S_ISDIR(info.st_mode) ? ROOTFS_PATH_DIRECTORY : ROOTFS_PATH_FILE,
                                   "mount destination", &target, err) < 0)
        return -1;
    if (rootfs_mount_check_destination(root_fd, target, entry, what, err) < 0)
        return -1;

    /* Like runc's remount, the flags go to the top mount only; "rro" is
     * the recursive read-only. */
    rootfs_mount_attributes(entry->flags, entry->clear_flags, &attr_set, &attr_clr);
    if ((attr_set | attr_clr) != 0 &&
        rootfs_mount_setattr_keeping_locked(tree, attr_set, attr_clr) < 0)
        return keel_error_set(err, errno, "%s: set mount flags", what);
    if (entry->recursive_readonly) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            return keel_error_set(err, errno, "%s: make it read-only recursively", what);
    }
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return keel_error_set(err, errno, "%s", what);
    /* The tree fd now names the attached mount's root. */
    if (entry->propagation != 0 && rootfs_mount_set_propagation(tree, entry->propagation) < 0)
        return keel_error_set(err, errno, "%s: set propagation", what);
    return 0;
}

/* A mount(2) that failed where runc falls back to binding the host's tree
 * instead: sysfs without a network namespace of our own (EPERM), cgroup2
 * without a cgroup namespace (EPERM, EBUSY). The bind is recursive and
 * takes the mount's flags on every submount; cgroup2's is read-only. */
static int rootfs_mount_bind_host(int target_fd, const char *host_path, unsigned long flags,
                                  const char *what, struct keel_error *err)
{
    _cleanup_close_ int source = open(host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    uint64_t attr_set, attr_clr;

    if (source < 0)
        return keel_error_set(err, errno, "%s: open %s to bind instead", what, host_path);
    rootfs_mount_attributes(flags, 0, &attr_set, &attr_clr);
    /* Only bits to set: the clone keeps the host's atime mode. */
    attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
    if (rootfs_mount_bind_fd(source, target_fd, true, attr_set, true) < 0)
        return keel_error_set(err, errno, "%s: bind-mount %s instead", what, host_path);
    return 0;
}

static int rootfs_mount_filesystem(int root_fd, const struct oci_mount *entry,
                                   struct keel_error *err)
{
    char what[KEEL_ERROR_MESSAGE_MAX / 2], target_path[64];
    _cleanup_close_ int target = -1, mounted = -1;
    const char *type = entry->type;

    if (type == NULL)
        return keel_error_invalid(err, "mount on %s: no type, and not a bind mount",
                                  entry->destination);
    /* Docker asks for "cgroup" on a cgroup v2 host too; Keel is v2 only. */
    if (strcmp(type, "cgroup") == 0)
        type = "cgroup2";
    snprintf(what, sizeof what, "mount %s on %s", type, entry->destination);
    if (rootfs_path_open_or_create(root_fd, entry->destination, ROOTFS_PATH_DIRECTORY,
                                   "mount destination", &target, err) < 0)
        return -1;
    if (rootfs_mount_check_destination(root_fd, target, entry, what, err) < 0)
        return -1;

    /* mount(2) through the magic link lands exactly on the dentry resolved
     * in-root: a symlink swapped in since cannot redirect it. */
    snprintf(target_path, sizeof target_path, "/proc/self/fd/%d", target);
    unsigned long flags = entry->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT |
                                                          ROOTFS_MOUNT_PROPAGATION_FLAGS);
    const char *source = entry->source != NULL ? entry->source : type;
    if (mount(source, target_path, type, flags, entry->data) < 0) {
        int error = errno;
        if (strcmp(type, "sysfs") == 0 && error == EPERM) {
            if (rootfs_mount_bind_host(target, "/sys", flags, what, err) < 0)
                return -1;
        } else if (strcmp(type, "cgroup2") == 0 && (error == EPERM || error == EBUSY)) {
            if (rootfs_mount_bind_host(target, "/sys/fs/cgroup", flags | MS_RDONLY, what, err) < 0)
                return -1;
        } else {
            return keel_error_set(err, error, "%s", what);
        }
    }
    if (entry->propagation == 0)
        return 0;
    /* The fd we mounted onto is the covered directory; resolving again
     * reaches the new mount's root. */
    mounted = rootfs_path_open(root_fd, entry->destination, O_PATH);
    if (mounted < 0)
        return keel_error_set(err, errno, "%s: resolve it again", what);
    if (rootfs_mount_set_propagation(mounted, entry->propagation) < 0)
        return keel_error_set(err, errno, "%s: set propagation", what);
    return 0;
}

int rootfs_mount_apply(int root_fd, const struct oci_mount *entry, struct keel_error *err)
{
    if (entry->bind)
        return rootfs_mount_bind(root_fd, entry, err);
    return rootfs_mount_filesystem(root_fd, entry, err);
}
