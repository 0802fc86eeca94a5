/* rootfs_path.c — paths inside a container's root: cleaning, in-root resolution, mkdir -p. */
#include "rootfs_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* openat2 with RESOLVE_IN_ROOT may fail with EAGAIN when a rename races the
 * walk; a few retries are what the kernel documentation suggests. */
#define ROOTFS_PATH_OPEN_ATTEMPTS 16

int rootfs_path_clean(const char *path, char *out, size_t size)
{
    size_t used = 1;

    if (size < 2) {
        errno = ENAMETOOLONG;
        return -1;
    }
    out[0] = '/';
    while (*path != '\0') {
        while (*path == '/')
            path++;
        if (*path == '\0')
            break;
        const char *name = path;
        size_t length = strcspn(path, "/");
        path += length;
        if (length == 1 && name[0] == '.')
            continue;
        if (length == 2 && name[0] == '.' && name[1] == '.') {
            while (used > 1 && out[used - 1] != '/')
                used--;
            if (used > 1)
                used--;
            continue;
        }
        if (used + (used > 1) + length + 1 > size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (used > 1)
            out[used++] = '/';
        memcpy(out + used, name, length);
        used += length;
    }
    out[used] = '\0';
    return 0;
}

bool rootfs_path_equal(const char *path, const char *other)
{
    char clean[PATH_MAX], clean_other[PATH_MAX];

    if (rootfs_path_clean(path, clean, sizeof clean) < 0 ||
        rootfs_path_clean(other, clean_other, sizeof clean_other) < 0)
        return false;
    return strcmp(clean, clean_other) == 0;
}

static int rootfs_path_openat2(int root_fd, const char *path, int open_flags, uint64_t resolve)
{
    struct open_how how = {
        .flags = (uint64_t)(open_flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve,
    };

    if (path[0] == '\0')
        path = "/";
    for (int attempt = 0; attempt < ROOTFS_PATH_OPEN_ATTEMPTS; attempt++) {
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -1;
    }
    return -1;
}

int rootfs_path_open(int root_fd, const char *path, int open_flags)
{
    return rootfs_path_openat2(root_fd, path, open_flags, 0);
}

int rootfs_path_open_no_symlinks(int root_fd, const char *path, int open_flags)
{
    return rootfs_path_openat2(root_fd, path, open_flags, RESOLVE_NO_SYMLINKS);
}

/* Create name in parent_fd without following a symlink: mkdirat never
 * does, and O_CREAT|O_EXCL fails on one (EEXIST). */
static int rootfs_path_create_component(int parent_fd, const char *name, bool file)
{
    if (!file)
        return mkdirat(parent_fd, name, 0755);
    int fd = openat(parent_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* name exists in parent_fd yet does not resolve: a dangling symlink. Make
 * work the symlink's target followed by rest, for a new walk from the root;
 * a relative target is taken from the symlink's directory (the first
 * parent_length bytes of prefix). */
static int rootfs_path_follow_dangling(int parent_fd, const char *name, const char *prefix,
                                       size_t parent_length, const char *rest, char *work,
                                       size_t work_size)
{
    char target[PATH_MAX], next[PATH_MAX];
    int length;

    ssize_t n = readlinkat(parent_fd, name, target, sizeof target - 1);
    if (n < 0 && errno == EINVAL) {
        /* Not a symlink after all: it appeared between our lookup and
         * mkdir. Walk again. */
        return 0;
    }
    if (n < 0)
        return -1;
    target[n] = '\0';
    if (target[0] == '/')
        length = snprintf(next, sizeof next, "%s%s", target, rest);
    else
        length = snprintf(next, sizeof next, "%.*s/%s%s", (int)parent_length, prefix, target, rest);
    if (length < 0 || (size_t)length >= sizeof next || (size_t)length >= work_size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(work, next, (size_t)length + 1);
    return 0;
}

/* One walk of work from the root, creating missing components. Returns 0
 * with *fd_out set when done, 1 when work was rewritten to follow a
 * dangling symlink (walk again), -1 on error. */
static int rootfs_path_walk(int root_fd, char *work, size_t work_size, enum rootfs_path_kind kind,
                            const char *what, const char *path, int *fd_out, struct keel_error *err)
{
    char prefix[PATH_MAX];
    size_t prefix_length = 0;
    const char *cursor = work;
    _cleanup_close_ int parent = rootfs_path_open(root_fd, "/", O_PATH | O_DIRECTORY);

    if (parent < 0)
        return keel_error_set(err, errno, "resolve %s %s in rootfs", what, path);
    prefix[0] = '\0';
    for (;;) {
        while (*cursor == '/')
            cursor++;
        if (*cursor == '\0')
            break;
        const char *name = cursor;
        size_t name_length = strcspn(cursor, "/");
        cursor += name_length;
        bool last = cursor[strspn(cursor, "/")] == '\0';
        if (name_length == 1 && name[0] == '.')
            continue;

        char component[NAME_MAX + 1];
        size_t parent_length = prefix_length;
        if (name_length > NAME_MAX || prefix_length + 1 + name_length + 1 > sizeof prefix)
            return keel_error_set(err, ENAMETOOLONG, "resolve %s %s in rootfs", what, path);
        memcpy(component, name, name_length);
        component[name_length] = '\0';
        prefix[prefix_length++] = '/';
        memcpy(prefix + prefix_length, name, name_length);
        prefix_length += name_length;
        prefix[prefix_length] = '\0';

        int next = rootfs_path_open(root_fd, prefix, O_PATH);
        if (next < 0 && errno == ENOENT) {
            bool file = last && kind == ROOTFS_PATH_FILE;
            if (rootfs_path_create_component(parent, component, file) < 0) {
                if (errno != EEXIST)
                    return keel_error_set(err, errno, "create %s %s in rootfs", what, path);
                if (rootfs_path_follow_dangling(parent, component, prefix, parent_length, cursor,
                                                work, work_size) < 0)
                    return keel_error_set(err, errno, "resolve %s %s in rootfs", what, path);
                return 1;
            }
            next = rootfs_path_open(root_fd, prefix, O_PATH);
        }
        if (next < 0)
            return keel_error_set(err, errno, "resolve %s %s in rootfs", what, path);
        close(parent);
        parent = next;
    }
    *fd_out = steal_fd(&parent);
    return 0;
}

int rootfs_path_open_or_create(int root_fd, const char *path, enum rootfs_path_kind kind,
                               const char *what, int *fd, struct keel_error *err)
{
    char work[PATH_MAX];

    *fd = rootfs_path_open(root_fd, path, O_PATH);
    if (*fd >= 0)
        return 0;
    if (errno != ENOENT)
        return keel_error_set(err, errno, "resolve %s %s in rootfs", what, path);
    if (snprintf(work, sizeof work, "%s", path) >= (int)sizeof work)
        return keel_error_set(err, ENAMETOOLONG, "resolve %s %s in rootfs", what, path);
    for (int symlinks = 0; symlinks <= ROOTFS_PATH_MAX_SYMLINKS; symlinks++) {
        int walked = rootfs_path_walk(root_fd, work, sizeof work, kind, what, path, fd, err);
        if (walked <= 0)
            return walked;
    }
    return keel_error_set(err, ELOOP, "resolve %s %s in rootfs", what, path);
}
