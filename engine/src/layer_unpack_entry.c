/* layer_unpack_entry.c — one tar entry applied beneath the layer, no symlink followed. */
#include "layer_unpack_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_PREFIX_LENGTH (sizeof WHITEOUT_PREFIX - 1)
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* Every lookup stays beneath the layer's directory and refuses any symlink,
 * /proc magic link or mount crossing on the way, the final component
 * included. */
#define LAYER_RESOLVE                                                                              \
    (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* openat2 with RESOLVE_BENEATH fails with EAGAIN when a rename races the walk. */
#define LAYER_OPEN_ATTEMPTS 16

/* One entry being applied. */
struct layer_entry {
    struct archive_entry *archive_entry;
    const char *display; /* the path as the archive spells it, for messages */
    const char *path;    /* normalised: no "./", "//" or trailing "/"; "" is the root */
    const char *parent;  /* path's directory part, "" for the root */
    const char *name;    /* path's last component */
    int parent_fd;       /* borrowed: the tree's cache or its root */
    uid_t uid;
    gid_t gid;
    mode_t permissions;
    struct timespec times[2];
};

static int layer_openat2(int directory_fd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = LAYER_RESOLVE};
    for (int attempt = 1;; attempt++) {
        long fd = syscall(SYS_openat2, directory_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || attempt == LAYER_OPEN_ATTEMPTS)
            return (int)fd;
    }
}

/* Copy raw into path normalised and parent with its directory part; *name
 * points into path. "." components, "./" prefixes and repeated or trailing
 * slashes go; an absolute path, ".." or a whiteout name used as a directory
 * is refused. path and parent hold strlen(raw) + 1 bytes. what names the
 * path in messages ("entry \"X\"" or "entry \"X\": link target \"Y\""). */
static int layer_path_parse(const char *raw, char *path, char *parent, const char **name,
                            const char *what, struct keel_error *err)
{
    if (raw[0] == '/')
        return keel_error_invalid(err, "%s: absolute path", what);
    size_t used = 0, last = 0;
    for (const char *cursor = raw; *cursor != '\0';) {
        while (*cursor == '/')
            cursor++;
        const char *component = cursor;
        size_t length = strcspn(cursor, "/");
        cursor += length;
        if (length == 0 || (length == 1 && component[0] == '.'))
            continue;
        if (length == 2 && component[0] == '.' && component[1] == '.')
            return keel_error_invalid(err, "%s: path leaves the layer", what);
        if (used > 0) {
            if (strncmp(path + last, WHITEOUT_PREFIX, WHITEOUT_PREFIX_LENGTH) == 0)
                return keel_error_invalid(err, "%s: whiteout name used as a directory", what);
            path[used++] = '/';
        }
        last = used;
        memcpy(path + used, component, length);
        used += length;
    }
    path[used] = '\0';
    memcpy(parent, path, last > 0 ? last - 1 : 0);
    parent[last > 0 ? last - 1 : 0] = '\0';
    *name = path + last;
    return 0;
}

/* An openat2 failure on a path of the entry's, told in the entry's terms. */
static int layer_resolve_failure(const char *what, const char *path, int error,
                                 struct keel_error *err)
{
    switch (error) {
    case ELOOP:
        return keel_error_invalid(err, "%s: parent goes through a symlink", what);
    case EXDEV:
        return keel_error_invalid(err, "%s: parent leaves the layer", what);
    case ENOTDIR:
        return keel_error_invalid(err, "%s: \"%s\" is not a directory", what, path);
    case ENOENT:
        return keel_error_invalid(err, "%s: \"%s\" does not exist", what, path);
    default:
        return keel_error_set(err, error, "%s: open \"%s\"", what, path);
    }
}

/* Open path (non-empty) as a directory beneath the layer, creating what is
 * missing of it (mode 0755, as tar does for parents an archive omits). */
static int layer_directory_create_path(int root_fd, const char *path, const char *what,
                                       int *directory_fd, struct keel_error *err)
{
    _cleanup_free_ char *walk = strdup(path);
    if (!walk)
        return keel_error_set(err, ENOMEM, "%s", what);
    _cleanup_close_ int current = -1;
    for (char *component = walk, *next; component; component = next) {
        next = strchr(component, '/');
        if (next)
            *next++ = '\0';
        int base = current >= 0 ? current : root_fd;
        int fd = layer_openat2(base, component, O_PATH | O_DIRECTORY);
        if (fd < 0 && errno == ENOENT) {
            if (mkdirat(base, component, 0755) < 0 && errno != EEXIST)
                return keel_error_set(err, errno, "%s: mkdir \"%s\"", what, path);
            fd = layer_openat2(base, component, O_RDONLY | O_DIRECTORY);
            /* mkdir's mode went through the umask: set it exactly. */
            if (fd >= 0 && fchmod(fd, 0755) < 0) {
                close(fd);
                return keel_error_set(err, errno, "%s: chmod \"%s\"", what, path);
            }
        }
        if (fd < 0)
            return layer_resolve_failure(what, path, errno, err);
        if (current >= 0)
            close(current);
        current = fd;
    }
    *directory_fd = steal_fd(&current);
    return 0;
}

static void layer_tree_cache_parent(struct layer_tree *tree, char *path, int fd)
{
    free(tree->cached_parent_path);
    if (tree->cached_parent_fd >= 0)
        close(tree->cached_parent_fd);
    tree->cached_parent_path = path;
    tree->cached_parent_fd = fd;
}

/* The entry's parent directory: the tree's root, the cached one, or a new
 * lookup that becomes the cached one. */
static int layer_tree_open_parent(struct layer_tree *tree, struct layer_entry *entry,
                                  const char *what, struct keel_error *err)
{
    if (entry->parent[0] == '\0') {
        entry->parent_fd = tree->directory_fd;
        return 0;
    }
    if (!tree->cached_parent_path || strcmp(tree->cached_parent_path, entry->parent) != 0) {
        int fd = layer_openat2(tree->directory_fd, entry->parent, O_PATH | O_DIRECTORY);
        if (fd < 0 && errno == ENOENT) {
            if (layer_directory_create_path(tree->directory_fd, entry->parent, what, &fd, err) < 0)
                return -1;
        } else if (fd < 0) {
            return layer_resolve_failure(what, entry->parent, errno, err);
        }
        char *path = strdup(entry->parent);
        if (!path) {
            close(fd);
            return keel_error_set(err, ENOMEM, "%s", what);
        }
        layer_tree_cache_parent(tree, path, fd);
    }
    entry->parent_fd = tree->cached_parent_fd;
    return 0;
}

/* Make room for a new non-directory at the entry's name: whatever
 * non-directory is there goes (a later entry replaces an earlier one, as
 * in tar); a directory stays and is an error. */
static int layer_entry_remove_existing(const struct layer_entry *entry, const char *what,
                                       struct keel_error *err)
{
    if (unlinkat(entry->parent_fd, entry->name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno == EISDIR)
        return keel_error_invalid(err, "%s: a directory is in the way", what);
    return keel_error_set(err, errno, "%s: remove the existing file", what);
}

static int layer_remove_tree(int parent_fd, const char *name)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *directory = fdopendir(fd);
    if (!directory) {
        close(fd);
        return -1;
    }
    struct dirent *child;
    int result = 0;
    while (result == 0 && (errno = 0, child = readdir(directory))) {
        if (strcmp(child->d_name, ".") == 0 || strcmp(child->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, child->d_name, 0) < 0)
            result = errno == EISDIR ? layer_remove_tree(fd, child->d_name) : -1;
    }
    if (result == 0 && errno != 0)
        result = -1;
    int saved = errno;
    closedir(directory);
    errno = saved;
    if (result < 0)
        return -1;
    return unlinkat(parent_fd, name, AT_REMOVEDIR);
}

static int layer_entry_set_xattrs(const struct layer_entry *entry, int fd, const char *what,
                                  struct keel_error *err)
{
    const char *name;
    const void *value;
    size_t size;
    archive_entry_xattr_reset(entry->archive_entry);
    while (archive_entry_xattr_next(entry->archive_entry, &name, &value, &size) == ARCHIVE_OK) {
        /* overlayfs reads its own xattrs in lower layers (redirects,
         * metacopy): a layer only gets the opaque one, and only this way
         * or through the ".wh..wh..opq" marker. */
        if (strncmp(name, OVERLAY_XATTR_PREFIX, sizeof OVERLAY_XATTR_PREFIX - 1) == 0 &&
            strcmp(name, OVERLAY_OPAQUE_XATTR) != 0)
            return keel_error_invalid(err, "%s: xattr %s belongs to overlayfs", what, name);
        if (fsetxattr(fd, name, value, size, 0) < 0)
            return keel_error_set(err, errno, "%s: set xattr %s", what, name);
    }
    return 0;
}

/* Owner, then mode (chown clears setuid and setgid), then xattrs (chown
 * clears security.capability), all on an open fd. */
static int layer_entry_set_metadata(const struct layer_entry *entry, int fd, const char *what,
                                    struct keel_error *err)
{
    if (fchown(fd, entry->uid, entry->gid) < 0)
        return keel_error_set(err, errno, "%s: chown %u:%u", what, entry->uid, entry->gid);
    if (fchmod(fd, entry->permissions) < 0)
        return keel_error_set(err, errno, "%s: chmod %04o", what, entry->permissions);
    return layer_entry_set_xattrs(entry, fd, what, err);
}

static int layer_entry_write_data(const struct layer_entry *entry, struct archive *reader, int fd,
                                  const char *what, struct keel_error *err)
{
    int64_t end = 0;
    for (;;) {
        const void *block;
        size_t length;
        la_int64_t offset;
        int result = archive_read_data_block(reader, &block, &length, &offset);
        if (result == ARCHIVE_EOF)
            break;
        if (result < ARCHIVE_WARN)
            return LAYER_TREE_READ_FAILED;
        /* Sparse files come as blocks at offsets, holes skipped. */
        const char *data = block;
        end = offset + (int64_t)length;
        while (length > 0) {
            ssize_t written = pwrite(fd, data, length, offset);
            if (written < 0 && errno == EINTR)
                continue;
            if (written < 0)
                return keel_error_set(err, errno, "%s: write", what);
            data += written;
            length -= (size_t)written;
            offset += written;
        }
    }
    int64_t size = archive_entry_size(entry->archive_entry);
    if (archive_entry_size_is_set(entry->archive_entry) && size > end && ftruncate(fd, size) < 0)
        return keel_error_set(err, errno, "%s: truncate to %lld bytes", what, (long long)size);
    return 0;
}

static int layer_entry_create_file(const struct layer_entry *entry, struct archive *reader,
                                   const char *what, struct keel_error *err)
{
    _cleanup_close_ int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        fd = openat(entry->parent_fd, entry->name,
                    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            break;
        if (errno != EEXIST || attempt > 0)
            return keel_error_set(err, errno, "%s: create", what);
        if (layer_entry_remove_existing(entry, what, err) < 0)
            return -1;
    }
    /* The data first: writing drops security.capability and setuid. */
    int result = layer_entry_write_data(entry, reader, fd, what, err);
    if (result < 0)
        return result;
    if (layer_entry_set_metadata(entry, fd, what, err) < 0)
        return -1;
    if (futimens(fd, entry->times) < 0)
        return keel_error_set(err, errno, "%s: set times", what);
    return 0;
}

static int layer_tree_record_directory_time(struct layer_tree *tree,
                                            const struct layer_entry *entry, const char *what,
                                            struct keel_error *err)
{
    if (tree->directory_time_count == tree->directory_time_capacity) {
        size_t capacity = tree->directory_time_capacity ? 2 * tree->directory_time_capacity : 64;
        struct layer_directory_time *grown =
            realloc(tree->directory_times, capacity * sizeof *grown);
        if (!grown)
            return keel_error_set(err, ENOMEM, "%s", what);
        tree->directory_times = grown;
        tree->directory_time_capacity = capacity;
    }
    char *path = strdup(entry->path);
    if (!path)
        return keel_error_set(err, ENOMEM, "%s", what);
    struct layer_directory_time *record = &tree->directory_times[tree->directory_time_count++];
    record->path = path;
    record->times[0] = entry->times[0];
    record->times[1] = entry->times[1];
    return 0;
}

/* A directory: created, or an existing one reused (a directory entry only
 * changes metadata); never a symlink's target. Its mtime waits for the end. */
static int layer_tree_create_directory(struct layer_tree *tree, const struct layer_entry *entry,
                                       const char *what, struct keel_error *err)
{
    _cleanup_close_ int fd = -1;
    if (entry->name[0] == '\0') {
        fd = openat(tree->directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        for (int attempt = 0; mkdirat(entry->parent_fd, entry->name, 0700) < 0; attempt++) {
            struct stat existing;
            if (errno != EEXIST || attempt > 0)
                return keel_error_set(err, errno, "%s: mkdir", what);
            if (fstatat(entry->parent_fd, entry->name, &existing, AT_SYMLINK_NOFOLLOW) < 0)
                return keel_error_set(err, errno, "%s: stat", what);
            if (S_ISDIR(existing.st_mode))
                break;
            if (S_ISLNK(existing.st_mode))
                return keel_error_invalid(err, "%s: would change the symlink %s", what,
                                          entry->path);
            if (layer_entry_remove_existing(entry, what, err) < 0)
                return -1;
        }
        fd = openat(entry->parent_fd, entry->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return keel_error_set(err, errno, "%s: open", what);
    if (layer_entry_set_metadata(entry, fd, what, err) < 0)
        return -1;
    if (layer_tree_record_directory_time(tree, entry, what, err) < 0)
        return -1;
    /* The entries that follow are most likely this directory's. */
    if (entry->name[0] != '\0') {
        char *path = strdup(entry->path);
        if (path)
            layer_tree_cache_parent(tree, path, steal_fd(&fd));
    }
    return 0;
}

/* xattrs of a symlink, device or fifo, which cannot be opened to use
 * fsetxattr: set through /proc/self/fd/PARENT/NAME with lsetxattr, which
 * does not follow the last component (there is no setxattrat before Linux
 * 6.13). The kernel keeps user.* xattrs to files and directories, so only
 * trusted.* and security.* ones have a place here. */
static int layer_entry_set_xattrs_by_name(const struct layer_entry *entry, const char *kind,
                                          const char *what, struct keel_error *err)
{
    const char *name;
    const void *value;
    size_t size;
    archive_entry_xattr_reset(entry->archive_entry);
    while (archive_entry_xattr_next(entry->archive_entry, &name, &value, &size) == ARCHIVE_OK) {
        if ((strncmp(name, "trusted.", 8) != 0 && strncmp(name, "security.", 9) != 0) ||
            strncmp(name, OVERLAY_XATTR_PREFIX, sizeof OVERLAY_XATTR_PREFIX - 1) == 0)
            return keel_error_invalid(err, "%s: xattr %s on a %s", what, name, kind);
        char proc_path[64 + NAME_MAX];
        snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d/%s", entry->parent_fd, entry->name);
        if (lsetxattr(proc_path, name, value, size, 0) < 0)
            return keel_error_set(err, errno, "%s: set xattr %s", what, name);
    }
    return 0;
}

/* A symlink's target is never followed, so any text is fine. Its metadata
 * is set on the link itself. */
static int layer_entry_create_symlink(const struct layer_entry *entry, const char *what,
                                      struct keel_error *err)
{
    const char *target = archive_entry_symlink(entry->archive_entry);
    if (!target)
        return keel_error_invalid(err, "%s: symlink without a target", what);
    for (int attempt = 0; symlinkat(target, entry->parent_fd, entry->name) < 0; attempt++) {
        if (errno != EEXIST || attempt > 0)
            return keel_error_set(err, errno, "%s: symlink", what);
        if (layer_entry_remove_existing(entry, what, err) < 0)
            return -1;
    }
    if (fchownat(entry->parent_fd, entry->name, entry->uid, entry->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: chown %u:%u", what, entry->uid, entry->gid);
    if (layer_entry_set_xattrs_by_name(entry, "symlink", what, err) < 0)
        return -1;
    if (utimensat(entry->parent_fd, entry->name, entry->times, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: set times", what);
    return 0;
}

/* Character and block devices and fifos. */
static int layer_entry_create_node(const struct layer_entry *entry, mode_t type, const char *what,
                                   struct keel_error *err)
{
    dev_t device = 0;
    if (type != S_IFIFO)
        device = makedev(archive_entry_rdevmajor(entry->archive_entry),
                         archive_entry_rdevminor(entry->archive_entry));
    for (int attempt = 0;
         mknodat(entry->parent_fd, entry->name, type | entry->permissions, device) < 0; attempt++) {
        if (errno != EEXIST || attempt > 0)
            return keel_error_set(err, errno, "%s: mknod", what);
        if (layer_entry_remove_existing(entry, what, err) < 0)
            return -1;
    }
    /* Opening a device to use fd calls could wake its driver: *at calls
     * that do not follow a symlink instead. */
    if (fchownat(entry->parent_fd, entry->name, entry->uid, entry->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: chown %u:%u", what, entry->uid, entry->gid);
    /* mknod's mode went through the umask, and chown cleared setuid. */
    if (fchmodat(entry->parent_fd, entry->name, entry->permissions, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: chmod %04o", what, entry->permissions);
    if (layer_entry_set_xattrs_by_name(entry, type == S_IFIFO ? "fifo" : "device", what, err) < 0)
        return -1;
    if (utimensat(entry->parent_fd, entry->name, entry->times, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: set times", what);
    return 0;
}

/* A hard link: its target is resolved like an entry's path, must already
 * exist in the layer and must not be a directory. A target that is a
 * symlink is linked itself (linkat does not follow it). */
static int layer_tree_create_hardlink(struct layer_tree *tree, const struct layer_entry *entry,
                                      const char *target, const char *what, struct keel_error *err)
{
    size_t length = strlen(target);
    _cleanup_free_ char *buffer = malloc(2 * (length + 1));
    if (!buffer)
        return keel_error_set(err, ENOMEM, "%s", what);
    char *target_path = buffer, *target_parent = buffer + length + 1;
    const char *target_name;
    char target_what[KEEL_ERROR_MESSAGE_MAX];
    snprintf(target_what, sizeof target_what, "%s: link target \"%s\"", what, target);
    if (layer_path_parse(target, target_path, target_parent, &target_name, target_what, err) < 0)
        return -1;
    if (target_name[0] == '\0')
        return keel_error_invalid(err, "%s: is a directory", target_what);

    _cleanup_close_ int opened = -1;
    int target_parent_fd = tree->directory_fd;
    if (strcmp(target_parent, entry->parent) == 0) {
        target_parent_fd = entry->parent_fd;
    } else if (target_parent[0] != '\0') {
        opened = layer_openat2(tree->directory_fd, target_parent, O_PATH | O_DIRECTORY);
        if (opened < 0)
            return layer_resolve_failure(target_what, target_parent, errno, err);
        target_parent_fd = opened;
    }
    struct stat target_stat;
    if (fstatat(target_parent_fd, target_name, &target_stat, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return keel_error_invalid(err, "%s: does not exist", target_what);
        return keel_error_set(err, errno, "%s: stat", target_what);
    }
    if (S_ISDIR(target_stat.st_mode))
        return keel_error_invalid(err, "%s: is a directory", target_what);

    for (int attempt = 0;
         linkat(target_parent_fd, target_name, entry->parent_fd, entry->name, 0) < 0; attempt++) {
        if (errno != EEXIST || attempt > 0)
            return keel_error_set(err, errno, "%s: link", what);
        struct stat existing;
        if (fstatat(entry->parent_fd, entry->name, &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
            existing.st_dev == target_stat.st_dev && existing.st_ino == target_stat.st_ino)
            return 0; /* already that file */
        if (layer_entry_remove_existing(entry, what, err) < 0)
            return -1;
    }
    return 0;
}

/* ".wh..wh..opq" makes its directory opaque; ".wh.NAME" hides NAME of the
 * layers below with a 0:0 character device (removing what this layer put
 * there before). Other names starting with ".wh." are malformed. */
static int layer_entry_apply_whiteout(const struct layer_entry *entry, const char *what,
                                      struct keel_error *err)
{
    if (archive_entry_filetype(entry->archive_entry) == AE_IFDIR)
        return keel_error_invalid(err, "%s: whiteout is a directory", what);
    if (strcmp(entry->name, WHITEOUT_OPAQUE) == 0) {
        _cleanup_close_ int fd = openat(entry->parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return keel_error_set(err, errno, "%s: open its directory", what);
        if (fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
            return keel_error_set(err, errno, "%s: set xattr " OVERLAY_OPAQUE_XATTR, what);
        return 0;
    }
    const char *hidden = entry->name + WHITEOUT_PREFIX_LENGTH;
    if (hidden[0] == '\0' || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0 ||
        strncmp(hidden, WHITEOUT_PREFIX, WHITEOUT_PREFIX_LENGTH) == 0)
        return keel_error_invalid(err, "%s: malformed whiteout name", what);

    for (int attempt = 0; mknodat(entry->parent_fd, hidden, S_IFCHR, makedev(0, 0)) < 0;
         attempt++) {
        if (errno != EEXIST || attempt > 0)
            return keel_error_set(err, errno, "%s: mknod whiteout", what);
        if (unlinkat(entry->parent_fd, hidden, 0) < 0 && errno != ENOENT &&
            (errno != EISDIR || layer_remove_tree(entry->parent_fd, hidden) < 0))
            return keel_error_set(err, errno, "%s: remove \"%s\"", what, hidden);
    }
    if (fchownat(entry->parent_fd, hidden, entry->uid, entry->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return keel_error_set(err, errno, "%s: chown %u:%u", what, entry->uid, entry->gid);
    return 0;
}

/* The entry's owner, mode and times, checked. */
static int layer_entry_read_attributes(struct layer_entry *entry, const char *what,
                                       struct keel_error *err)
{
    struct archive_entry *archive_entry = entry->archive_entry;
    la_int64_t uid = archive_entry_uid(archive_entry), gid = archive_entry_gid(archive_entry);
    /* (uid_t)-1 would mean "leave unchanged" to chown. */
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return keel_error_invalid(err, "%s: owner %lld:%lld out of range", what, (long long)uid,
                                  (long long)gid);
    entry->uid = (uid_t)uid;
    entry->gid = (gid_t)gid;
    entry->permissions = archive_entry_perm(archive_entry) & 07777;
    if (archive_entry_mtime_is_set(archive_entry)) {
        entry->times[1].tv_sec = archive_entry_mtime(archive_entry);
        entry->times[1].tv_nsec = archive_entry_mtime_nsec(archive_entry);
    } else {
        entry->times[1].tv_nsec = UTIME_OMIT;
    }
    if (archive_entry_atime_is_set(archive_entry)) {
        entry->times[0].tv_sec = archive_entry_atime(archive_entry);
        entry->times[0].tv_nsec = archive_entry_atime_nsec(archive_entry);
    } else {
        entry->times[0] = entry->times[1];
    }
    return 0;
}

int layer_tree_apply_entry(struct layer_tree *tree, struct archive *reader,
                           struct archive_entry *archive_entry, struct keel_error *err)
{
    struct layer_entry entry = {.archive_entry = archive_entry, .parent_fd = -1};
    entry.display = archive_entry_pathname(archive_entry);
    if (!entry.display)
        entry.display = archive_entry_pathname_utf8(archive_entry);
    if (!entry.display)
        return keel_error_invalid(err, "entry without a name");
    char what[KEEL_ERROR_MESSAGE_MAX / 2];
    snprintf(what, sizeof what, "entry \"%s\"", entry.display);

    size_t length = strlen(entry.display);
    _cleanup_free_ char *buffer = malloc(2 * (length + 1));
    if (!buffer)
        return keel_error_set(err, ENOMEM, "%s", what);
    char *path = buffer, *parent = buffer + length + 1;
    if (layer_path_parse(entry.display, path, parent, &entry.name, what, err) < 0)
        return -1;
    entry.path = path;
    entry.parent = parent;
    if (layer_entry_read_attributes(&entry, what, err) < 0)
        return -1;

    mode_t type = archive_entry_filetype(archive_entry);
    const char *hardlink = archive_entry_hardlink(archive_entry);
    if (entry.name[0] == '\0') {
        if (type != AE_IFDIR || hardlink)
            return keel_error_invalid(err, "%s: names the layer's root but is not a directory",
                                      what);
        return layer_tree_create_directory(tree, &entry, what, err);
    }
    if (layer_tree_open_parent(tree, &entry, what, err) < 0)
        return -1;
    if (strncmp(entry.name, WHITEOUT_PREFIX, WHITEOUT_PREFIX_LENGTH) == 0)
        return layer_entry_apply_whiteout(&entry, what, err);
    if (hardlink)
        return layer_tree_create_hardlink(tree, &entry, hardlink, what, err);
    switch (type) {
    case AE_IFREG:
        return layer_entry_create_file(&entry, reader, what, err);
    case AE_IFDIR:
        return layer_tree_create_directory(tree, &entry, what, err);
    case AE_IFLNK:
        return layer_entry_create_symlink(&entry, what, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        return layer_entry_create_node(&entry, type, what, err);
    case AE_IFSOCK:
        return keel_error_invalid(err, "%s: a socket has no place in a layer", what);
    default:
        return keel_error_invalid(err, "%s: file type 0%o has no place in a layer", what,
                                  (unsigned)type);
    }
}

void layer_tree_init(struct layer_tree *tree, int directory_fd)
{
    *tree = (struct layer_tree){.directory_fd = directory_fd, .cached_parent_fd = -1};
}

/* A directory's mtime changes whenever something is created in it, so
 * mtimes are set once all entries are in. Setting one directory's times
 * does not touch its parent's, so the order only matters for a directory
 * listed twice: the later entry wins, as in tar. A directory gone since
 * (a whiteout of this layer removed it) is skipped. */
int layer_tree_apply_directory_times(struct layer_tree *tree, struct keel_error *err)
{
    for (size_t i = 0; i < tree->directory_time_count; i++) {
        const struct layer_directory_time *record = &tree->directory_times[i];
        _cleanup_close_ int fd = -1;
        if (record->path[0] == '\0')
            fd = openat(tree->directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else
            fd = layer_openat2(tree->directory_fd, record->path, O_RDONLY | O_DIRECTORY);
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
            continue;
        if (fd < 0)
            return keel_error_set(err, errno, "directory \"%s\": open", record->path);
        if (futimens(fd, record->times) < 0)
            return keel_error_set(err, errno, "directory \"%s\": set times", record->path);
    }
    return 0;
}

void layer_tree_release(struct layer_tree *tree)
{
    layer_tree_cache_parent(tree, NULL, -1);
    for (size_t i = 0; i < tree->directory_time_count; i++)
        free(tree->directory_times[i].path);
    free(tree->directory_times);
    *tree = (struct layer_tree){.directory_fd = -1, .cached_parent_fd = -1};
}
