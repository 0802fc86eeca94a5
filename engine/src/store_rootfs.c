/* store_rootfs.c — containers' overlay root filesystems and read-only views of layers. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "store_internal.h"

/* mount(2) copies at most a page of options; keep clear of it. */
#define STORE_OVERLAY_OPTIONS_MAX 3900
/* A "layers" file names a container's layers: overlayfs stacks at most 500. */
#define STORE_LAYERS_FILE_MAXIMUM (1u << 20)
/* Overmounted rootfs directories are unmounted one mount at a time. */
#define STORE_UNMOUNT_ATTEMPTS 16
#define STORE_CREATE_ATTEMPTS 8

bool store_container_id_valid(const char *id)
{
    size_t length = strlen(id);
    if (length == 0 || length > 128)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = id[i];
        bool alphanumeric =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alphanumeric && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* ---- overlay mounts ---- */

struct store_paths {
    char **paths;
    size_t count;
};

static void store_paths_free(struct store_paths *paths)
{
    for (size_t i = 0; i < paths->count; i++)
        free(paths->paths[i]);
    free(paths->paths);
    *paths = (struct store_paths){0};
}

/* The layers' directories, top first (overlayfs's lowerdir order). */
static int store_paths_of_layers(const struct store *store, const struct digest *chain_ids,
                                 size_t count, struct store_paths *paths, struct keel_error *err)
{
    *paths = (struct store_paths){0};
    paths->paths = calloc(count ? count : 1, sizeof *paths->paths);
    if (paths->paths == NULL)
        return keel_error_set(err, ENOMEM, "layers");
    for (size_t i = 0; i < count; i++) {
        if (store_layer_path(store, &chain_ids[count - 1 - i], &paths->paths[i], err) < 0) {
            store_paths_free(paths);
            return -1;
        }
        paths->count++;
    }
    return 0;
}

static char *store_overlay_format(char *const *lower, size_t count, const char *upper,
                                  const char *work)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    if (stream == NULL)
        return NULL;
    fputs("lowerdir=", stream);
    for (size_t i = 0; i < count; i++)
        fprintf(stream, "%s%s", i ? ":" : "", lower[i]);
    if (upper != NULL)
        fprintf(stream, ",upperdir=%s,workdir=%s", upper, work);
    if (fclose(stream) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Paths overlayfs's option parser would split or unescape. */
static bool store_overlay_path_plain(const char *path)
{
    return path == NULL || strpbrk(path, ",:\\") == NULL;
}

struct store_overlay_fds {
    int *fds;
    char **names; /* "/proc/self/fd/N" */
    size_t count;
};

static void store_overlay_fds_free(struct store_overlay_fds *fds)
{
    for (size_t i = 0; i < fds->count; i++) {
        if (fds->fds[i] >= 0)
            close(fds->fds[i]);
        free(fds->names[i]);
    }
    free(fds->fds);
    free(fds->names);
}

/* The fd form of paths: each directory opened O_PATH and named through
 * /proc/self/fd, which overlayfs resolves when it mounts. "/proc/self/fd/N"
 * is shorter than any store path and needs no escaping. */
static int store_overlay_fds_open(const char *const *paths, size_t count,
                                  struct store_overlay_fds *fds, struct keel_error *err)
{
    fds->fds = malloc(count * sizeof *fds->fds);
    fds->names = calloc(count, sizeof *fds->names);
    if (fds->fds == NULL || fds->names == NULL)
        return keel_error_set(err, ENOMEM, "mount overlay");
    for (size_t i = 0; i < count; i++) {
        fds->fds[i] = open(paths[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        fds->count++;
        if (fds->fds[i] < 0)
            return keel_error_set(err, errno, "open %s", paths[i]);
        if (asprintf(&fds->names[i], "/proc/self/fd/%d", fds->fds[i]) < 0) {
            fds->names[i] = NULL;
            return keel_error_set(err, ENOMEM, "mount overlay");
        }
    }
    return 0;
}

/* Mount overlayfs at target: lower top first, upper and work may be NULL
 * (a read-only overlay). */
static int store_mount_overlay(char *const *lower, size_t count, const char *upper,
                               const char *work, const char *target, unsigned long flags,
                               struct keel_error *err)
{
    _cleanup_free_ char *options = store_overlay_format(lower, count, upper, work);
    struct store_overlay_fds fds = {0};
    bool plain = store_overlay_path_plain(upper) && store_overlay_path_plain(work);
    for (size_t i = 0; i < count; i++)
        plain = plain && store_overlay_path_plain(lower[i]);
    if (options == NULL)
        return keel_error_set(err, ENOMEM, "mount overlay on %s", target);

    if (!plain || strlen(options) > STORE_OVERLAY_OPTIONS_MAX) {
        _cleanup_free_ const char **all = calloc(count + 2, sizeof *all);
        if (all == NULL)
            return keel_error_set(err, ENOMEM, "mount overlay on %s", target);
        memcpy(all, lower, count * sizeof *all);
        all[count] = upper;
        all[count + 1] = work;
        if (store_overlay_fds_open(all, count + (upper ? 2 : 0), &fds, err) < 0) {
            store_overlay_fds_free(&fds);
            return keel_error_prefix(err, "mount overlay on %s", target);
        }
        free(options);
        options = store_overlay_format(fds.names, count, upper ? fds.names[count] : NULL,
                                       upper ? fds.names[count + 1] : NULL);
        if (options == NULL || strlen(options) > STORE_OVERLAY_OPTIONS_MAX) {
            store_overlay_fds_free(&fds);
            if (options == NULL)
                return keel_error_set(err, ENOMEM, "mount overlay on %s", target);
            return store_error_errno(err, E2BIG,
                                     "mount overlay on %s: too many layers (%zu) for one mount",
                                     target, count);
        }
    }
    int result = 0;
    if (mount("overlay", target, "overlay", flags, options) < 0)
        result = keel_error_set(err, errno, "mount overlay on %s", target);
    store_overlay_fds_free(&fds);
    return result;
}

/* ---- containers' root filesystems ---- */

/* The container's "/" is the upper directory's root: give it the top
 * layer's mode and owner, as the image has it. */
static int store_rootfs_copy_root_attributes(int container_fd, const char *top_layer,
                                             struct keel_error *err)
{
    struct stat status;
    if (top_layer == NULL)
        return 0;
    if (stat(top_layer, &status) < 0)
        return keel_error_set(err, errno, "stat %s", top_layer);
    if (fchownat(container_fd, "upper", status.st_uid, status.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(container_fd, "upper", status.st_mode & 07777, 0) < 0)
        return keel_error_set(err, errno, "set the mode of upper");
    return 0;
}

static int store_rootfs_write_layers(const char *container_path, const struct digest *chain_ids,
                                     size_t count, struct keel_error *err)
{
    _cleanup_free_ char *path = store_path_join(container_path, "layers");
    _cleanup_free_ char *text = malloc(count * (DIGEST_TEXT_LENGTH + 1) + 1);
    if (path == NULL || text == NULL)
        return keel_error_set(err, ENOMEM, "write layers");
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(text + used, chain_ids[i].text, DIGEST_TEXT_LENGTH);
        used += DIGEST_TEXT_LENGTH;
        text[used++] = '\n';
    }
    return file_write_atomic(path, text, used, 0644, 0, err);
}

/* The directories and the layers file of a new container, then its mount. */
static int store_rootfs_assemble(struct store *store, const char *container_name,
                                 const char *container_path, const struct digest *chain_ids,
                                 size_t count, struct store_paths *lower, struct keel_error *err)
{
    _cleanup_close_ int fd =
        openat(store->root_fd, container_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", container_path);
    if (mkdirat(fd, "upper", 0755) < 0 || mkdirat(fd, "work", 0700) < 0 ||
        mkdirat(fd, "rootfs", 0755) < 0 || (count == 0 && mkdirat(fd, "empty", 0755) < 0))
        return keel_error_set(err, errno, "create the directories of %s", container_path);
    if (store_rootfs_copy_root_attributes(fd, count ? lower->paths[0] : NULL, err) < 0)
        return -1;
    /* Written before the mount: prune sees the layers as used from the
     * moment they can be. */
    if (store_rootfs_write_layers(container_path, chain_ids, count, err) < 0)
        return -1;

    _cleanup_free_ char *upper = store_path_join(container_path, "upper");
    _cleanup_free_ char *work = store_path_join(container_path, "work");
    _cleanup_free_ char *rootfs = store_path_join(container_path, "rootfs");
    _cleanup_free_ char *empty = store_path_join(container_path, "empty");
    if (upper == NULL || work == NULL || rootfs == NULL || empty == NULL)
        return keel_error_set(err, ENOMEM, "mount %s", container_path);
    char *empty_lower[] = {empty};
    if (count == 0)
        return store_mount_overlay(empty_lower, 1, upper, work, rootfs, 0, err);
    return store_mount_overlay(lower->paths, lower->count, upper, work, rootfs, 0, err);
}

int store_rootfs_mount(struct store *store, const char *container_id,
                       const struct digest *chain_ids, size_t count, char **rootfs_path,
                       struct keel_error *err)
{
    struct store_paths lower;
    if (store_check_writable(store, "mount a container's root", err) < 0)
        return -1;
    if (!store_container_id_valid(container_id))
        return keel_error_invalid(err, "mount a container's root: bad container id \"%s\"",
                                  container_id);
    if (store_paths_of_layers(store, chain_ids, count, &lower, err) < 0)
        return keel_error_prefix(err, "mount the root of container %s", container_id);

    _cleanup_free_ char *container_name = NULL, *container_path = NULL, *rootfs = NULL;
    if (asprintf(&container_name, "containers/%s", container_id) < 0 ||
        (container_path = store_path_join(store->root_path, container_name)) == NULL ||
        (rootfs = store_path_join(container_path, "rootfs")) == NULL) {
        store_paths_free(&lower);
        return keel_error_set(err, ENOMEM, "mount the root of container %s", container_id);
    }
    if (mkdirat(store->root_fd, container_name, 0700) < 0) {
        store_paths_free(&lower);
        if (errno == EEXIST)
            return store_error_errno(err, EEXIST, "mount the root of container %s: it exists",
                                     container_id);
        return keel_error_set(err, errno, "create %s", container_path);
    }
    int result =
        store_rootfs_assemble(store, container_name, container_path, chain_ids, count, &lower, err);
    store_paths_free(&lower);
    if (result == 0) {
        *rootfs_path = steal_pointer(&rootfs);
        return 0;
    }
    struct keel_error ignored = {0};
    store_remove_tree(store->root_fd, container_name, &ignored);
    return keel_error_prefix(err, "mount the root of container %s", container_id);
}

int store_rootfs_remove(struct store *store, const char *container_id, struct keel_error *err)
{
    if (store_check_writable(store, "remove a container's root", err) < 0)
        return -1;
    if (!store_container_id_valid(container_id))
        return keel_error_invalid(err, "remove a container's root: bad container id \"%s\"",
                                  container_id);
    _cleanup_free_ char *container_name = NULL, *rootfs = NULL;
    if (asprintf(&container_name, "containers/%s", container_id) < 0 ||
        asprintf(&rootfs, "%s/%s/rootfs", store->root_path, container_name) < 0)
        return keel_error_set(err, ENOMEM, "remove container %s", container_id);
    struct stat status;
    if (fstatat(store->root_fd, container_name, &status, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return store_error_errno(err, ENOENT, "remove container %s: no such container",
                                     container_id);
        return keel_error_set(err, errno, "remove container %s", container_id);
    }

    /* Lazily: a process still inside keeps its view; ours goes now. */
    for (int attempt = 0; attempt < STORE_UNMOUNT_ATTEMPTS; attempt++) {
        if (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            continue;                           /* another mount may sit under it */
        if (errno == EINVAL || errno == ENOENT) /* not (or no longer) a mount point */
            break;
        return keel_error_set(err, errno, "remove container %s: unmount %s", container_id, rootfs);
    }

    /* Out of containers/ first: a crash mid-removal leaves the rest in tmp/,
     * which the next open empties. */
    char temporary[STORE_TEMPORARY_NAME_MAX];
    for (int attempt = 0;; attempt++) {
        store_temporary_name("removing-container", temporary, sizeof temporary);
        if (store_rename_noreplace(store->root_fd, container_name, temporary) == 0)
            break;
        if ((errno != EEXIST && errno != ENOTEMPTY) || attempt == STORE_CREATE_ATTEMPTS)
            return keel_error_set(err, errno, "remove container %s: rename to %s", container_id,
                                  temporary);
    }
    if (store_sync_directory(store->root_fd, "containers", err) < 0 ||
        store_remove_tree(store->root_fd, temporary, err) < 0)
        return keel_error_prefix(err, "remove container %s", container_id);
    return 0;
}

/* ---- layers in use ---- */

struct store_digest_set {
    struct digest *digests;
    size_t count, capacity;
};

static int store_digest_set_add(struct store_digest_set *set, const struct digest *digest)
{
    for (size_t i = 0; i < set->count; i++)
        if (digest_equal(&set->digests[i], digest))
            return 0;
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? set->capacity * 2 : 32;
        struct digest *bigger = realloc(set->digests, capacity * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        set->digests = bigger;
        set->capacity = capacity;
    }
    set->digests[set->count++] = *digest;
    return 0;
}

/* Add the chain ids of containers/ID/layers to set. */
static int store_rootfs_read_layers(const struct store *store, const char *container_id,
                                    struct store_digest_set *set, struct keel_error *err)
{
    _cleanup_free_ char *path = NULL, *text = NULL;
    size_t length;
    if (asprintf(&path, "%s/containers/%s/layers", store->root_path, container_id) < 0)
        return keel_error_set(err, ENOMEM, "read the layers of container %s", container_id);
    if (file_read_text_limited(path, STORE_LAYERS_FILE_MAXIMUM, &text, &length, err) < 0)
        /* Not written yet (or left by a crash before it was): nothing mounted. */
        return err->errno_value == ENOENT ? 0 : -1;
    size_t line = 1;
    for (char *cursor = text, *end; *cursor != '\0'; cursor = end + (*end != '\0'), line++) {
        end = cursor + strcspn(cursor, "\n");
        char saved = *end;
        *end = '\0';
        struct digest chain_id;
        int parsed = digest_parse(cursor, &chain_id, err);
        *end = saved;
        if (parsed < 0)
            return keel_error_prefix(err, "%s: line %zu", path, line);
        if (store_digest_set_add(set, &chain_id) < 0)
            return keel_error_set(err, ENOMEM, "read %s", path);
    }
    return 0;
}

int store_rootfs_layers_in_use(const struct store *store, struct digest **chain_ids, size_t *count,
                               struct keel_error *err)
{
    struct store_digest_set set = {0};
    *chain_ids = NULL;
    *count = 0;
    if (store->root_fd < 0)
        return 0;
    int fd = openat(store->root_fd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : keel_error_set(err, errno, "open %s/containers", store->root_path);
    DIR *directory = fdopendir(fd);
    if (directory == NULL) {
        close(fd);
        return keel_error_set(err, errno, "read %s/containers", store->root_path);
    }
    int result = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(directory);
        if (entry == NULL) {
            if (errno != 0)
                result = keel_error_set(err, errno, "read %s/containers", store->root_path);
            break;
        }
        if (!store_container_id_valid(entry->d_name))
            continue;
        if (store_rootfs_read_layers(store, entry->d_name, &set, err) < 0) {
            result = -1;
            break;
        }
    }
    closedir(directory);
    if (result < 0) {
        free(set.digests);
        return -1;
    }
    *chain_ids = set.digests;
    *count = set.count;
    return 0;
}

/* ---- read-only views ---- */

/* A read-only bind mount of one directory: made read-only before it is
 * attached, so it is never writable at target. */
static int store_mount_read_only_bind(const char *source, const char *target,
                                      struct keel_error *err)
{
    _cleanup_close_ int tree =
        (int)open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return keel_error_set(err, errno, "clone the mount of %s", source);
    struct mount_attr attributes = {.attr_set = MOUNT_ATTR_RDONLY};
    if (mount_setattr(tree, "", AT_EMPTY_PATH, &attributes, sizeof attributes) < 0)
        return keel_error_set(err, errno, "make the mount of %s read-only", source);
    if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return keel_error_set(err, errno, "bind %s on %s", source, target);
    return 0;
}

int store_layers_mount_view(const struct store *store, const struct digest *chain_ids, size_t count,
                            const char *target, struct keel_error *err)
{
    struct store_paths lower;
    if (count == 0)
        return keel_error_invalid(err, "mount a view of layers on %s: the image has no layers",
                                  target);
    if (store_paths_of_layers(store, chain_ids, count, &lower, err) < 0)
        return keel_error_prefix(err, "mount a view of layers on %s", target);
    int result;
    /* overlayfs without an upper directory needs two lower ones. */
    if (count == 1)
        result = store_mount_read_only_bind(lower.paths[0], target, err);
    else
        result = store_mount_overlay(lower.paths, lower.count, NULL, NULL, target, MS_RDONLY, err);
    store_paths_free(&lower);
    return result;
}
