/* engine_rootfs.c — containers' root filesystems in the image store: mounted and removed without
 * waiting on the store's lock, mounted again after a reboot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine_container_internal.h"
#include "file.h"

/* overlayfs stacks at most 500 lower directories. */
#define ENGINE_LAYERS_MAX 500
/* How often a removal the lock held back is tried again. */
#define ENGINE_REMOVAL_RETRY_MS 1000

/* ---- the store's lock, without waiting ----
 *
 * An image load holds the store's lock for the whole import, reading the
 * archive at the client's pace: the loop must not wait for it. A create
 * then fails with EBUSY; a removal is finished once the lock is free. */

int engine_store_try_lock(struct engine *engine, struct keel_error *err)
{
    struct store *store = &engine->store;
    if (store->lock_fd >= 0)
        return keel_error_set(err, EDEADLK, "lock store %s: already locked", store->root_path);
    _cleanup_close_ int fd =
        openat(store->root_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s/lock", store->root_path);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return engine_error_set(err, EBUSY,
                                    "the image store is busy (an image is being loaded or "
                                    "removed): try again when it is done");
        if (errno != EINTR)
            return keel_error_set(err, errno, "lock %s/lock", store->root_path);
    }
    /* store_unlock releases it as its own. */
    store->lock_fd = steal_fd(&fd);
    return 0;
}

int engine_rootfs_mount(struct engine *engine, const char *id, const struct digest *chain_ids,
                        size_t count, char **rootfs, struct keel_error *err)
{
    if (engine_store_try_lock(engine, err) < 0)
        return -1;
    int result = store_rootfs_mount(&engine->store, id, chain_ids, count, rootfs, err);
    store_unlock(&engine->store);
    return result;
}

/* ---- removal, now or once the lock is free ---- */

struct engine_rootfs_removal {
    struct engine_rootfs_removal *next;
    char id[65];
};

static int engine_rootfs_remove_locked(struct engine *engine, const char *id,
                                       struct keel_error *err)
{
    int result = store_rootfs_remove(&engine->store, id, err);
    return result < 0 && err->errno_value != ENOENT ? -1 : 0;
}

static int engine_rootfs_on_retry(struct loop *loop, struct loop_timer *timer, void *user,
                                  struct keel_error *err)
{
    struct engine_core *core = user;
    struct engine *engine = &core->engine;
    (void)loop;
    if (core->rootfs_removals == NULL)
        return 0;
    if (engine_store_try_lock(engine, err) < 0) {
        if (err->errno_value != EBUSY)
            return -1;
        return loop_timer_arm(timer, ENGINE_REMOVAL_RETRY_MS, 0, err);
    }
    while (core->rootfs_removals != NULL) {
        struct engine_rootfs_removal *removal = core->rootfs_removals;
        core->rootfs_removals = removal->next;
        if (engine_rootfs_remove_locked(engine, removal->id, err) < 0) {
            /* Reported; the next removals are still worth trying. */
            keel_error_prefix(err, "remove the root filesystem of container %s", removal->id);
            engine_report_error(engine, err);
        }
        free(removal);
    }
    store_unlock(&engine->store);
    return 0;
}

int engine_rootfs_remove(struct engine *engine, const char *id, struct keel_error *err)
{
    struct engine_core *core = engine_core_of(engine);
    if (engine_store_try_lock(engine, err) == 0) {
        int result = engine_rootfs_remove_locked(engine, id, err);
        store_unlock(&engine->store);
        return result;
    }
    if (err->errno_value != EBUSY)
        return -1;
    struct engine_rootfs_removal *removal = calloc(1, sizeof *removal);
    if (removal == NULL)
        return keel_error_set(err, ENOMEM, "remove container %s", id);
    snprintf(removal->id, sizeof removal->id, "%s", id);
    removal->next = core->rootfs_removals;
    core->rootfs_removals = removal;
    if (core->removal_timer == NULL &&
        loop_timer_new(engine->loop, engine_rootfs_on_retry, core, &core->removal_timer, err) < 0)
        return -1;
    if (!loop_timer_armed(core->removal_timer))
        return loop_timer_arm(core->removal_timer, ENGINE_REMOVAL_RETRY_MS, 0, err);
    return 0;
}

void engine_rootfs_free(struct engine *engine)
{
    struct engine_core *core = engine_core_of(engine);
    struct keel_error ignored;
    /* One last try; what the lock still holds back stays in the store. */
    if (core->rootfs_removals != NULL && core->removal_timer != NULL)
        engine_rootfs_on_retry(engine->loop, core->removal_timer, core, &ignored);
    while (core->rootfs_removals != NULL) {
        struct engine_rootfs_removal *next = core->rootfs_removals->next;
        free(core->rootfs_removals);
        core->rootfs_removals = next;
    }
    loop_timer_free(core->removal_timer);
    core->removal_timer = NULL;
}

/* ---- mounting again ---- */

static bool engine_path_is_mount_point(const char *path)
{
    struct statx status;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &status) < 0)
        return false;
    if (status.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return (status.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    char parent[PATH_MAX];
    struct stat mine, above;
    snprintf(parent, sizeof parent, "%s/..", path);
    return stat(path, &mine) == 0 && stat(parent, &above) == 0 && mine.st_dev != above.st_dev;
}

/* The layers' directories as /proc/self/fd names, top first. */
static int engine_rootfs_lower(struct engine *engine, const char *container_path, FILE *options,
                               int *fds, size_t *fd_count, size_t fd_capacity,
                               struct keel_error *err)
{
    _cleanup_free_ char *layers_path = NULL, *text = NULL;
    size_t length;
    if (asprintf(&layers_path, "%s/layers", container_path) < 0)
        return keel_error_set(err, ENOMEM, "remount");
    if (file_read_text_limited(layers_path, 1u << 20, &text, &length, err) < 0)
        return -1;
    struct digest chain_ids[ENGINE_LAYERS_MAX];
    size_t count = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (count == sizeof chain_ids / sizeof chain_ids[0] ||
            digest_parse(line, &chain_ids[count], err) < 0)
            return keel_error_invalid(err, "%s: bad line \"%s\"", layers_path, line);
        count++;
    }
    fputs("lowerdir=", options);
    if (count == 0) {
        /* store_rootfs_mount gives an image without layers an empty lower directory. */
        _cleanup_free_ char *empty = NULL;
        if (asprintf(&empty, "%s/empty", container_path) < 0)
            return keel_error_set(err, ENOMEM, "remount");
        int fd = open(empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return keel_error_set(err, errno, "open %s", empty);
        fds[(*fd_count)++] = fd;
        fprintf(options, "/proc/self/fd/%d", fd);
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        _cleanup_free_ char *path = NULL;
        if (*fd_count == fd_capacity)
            return keel_error_invalid(err, "too many layers");
        if (store_layer_path(&engine->store, &chain_ids[count - 1 - i], &path, err) < 0)
            return -1;
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return keel_error_set(err, errno, "open %s", path);
        fds[(*fd_count)++] = fd;
        fprintf(options, "%s/proc/self/fd/%d", i ? ":" : "", fd);
    }
    return 0;
}

/* Mount the overlay of an existing container directory again (after a
 * reboot the directory is there and the mount is not, and
 * store_rootfs_mount refuses an existing directory). */
static int engine_rootfs_remount(struct engine *engine, const char *id, const char *rootfs,
                                 struct keel_error *err)
{
    _cleanup_free_ char *container_path = NULL, *text = NULL;
    int fds[ENGINE_LAYERS_MAX + 2];
    size_t fd_count = 0, size = 0;
    if (asprintf(&container_path, "%s/containers/%s", engine->store.root_path, id) < 0)
        return keel_error_set(err, ENOMEM, "remount");
    FILE *options = open_memstream(&text, &size);
    if (options == NULL)
        return keel_error_set(err, ENOMEM, "remount");
    int result = engine_rootfs_lower(engine, container_path, options, fds, &fd_count,
                                     ENGINE_LAYERS_MAX, err);
    if (result == 0) {
        const char *names[] = {"upper", "work"};
        for (int i = 0; i < 2 && result == 0; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", container_path, names[i]);
            int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                result = keel_error_set(err, errno, "open %s", path);
                break;
            }
            fds[fd_count++] = fd;
            fprintf(options, ",%sdir=/proc/self/fd/%d", names[i], fd);
        }
    }
    if (fclose(options) != 0 && result == 0)
        result = keel_error_set(err, ENOMEM, "remount");
    if (result == 0 && mount("overlay", rootfs, "overlay", 0, text) < 0 && errno != EBUSY)
        result = keel_error_set(err, errno, "mount overlay on %s", rootfs);
    for (size_t i = 0; i < fd_count; i++)
        close(fds[i]);
    return result;
}

int engine_rootfs_ensure(struct engine *engine, struct engine_container *container,
                         struct keel_error *err)
{
    if (engine_path_is_mount_point(container->rootfs))
        return 0;
    /* At engine_new: no load of ours runs yet, waiting is harmless. */
    if (store_lock(&engine->store, err) < 0)
        return -1;
    int result = engine_rootfs_remount(engine, container->id, container->rootfs, err);
    store_unlock(&engine->store);
    return result < 0
               ? keel_error_prefix(err, "mount the root of container %s again", container->name)
               : 0;
}
