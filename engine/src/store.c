/* store.c — the store directory: open, close, layout, writer's lock, tmp/ cleanup, tree removal. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "store_internal.h"

#define STORE_OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

/* Below this depth store_remove_tree keeps each level's directory open;
 * deeper, it closes the parent while a child is emptied and comes back
 * through "..", so that a hostile layer thousands of directories deep
 * cannot exhaust the fd table. */
#define STORE_TREE_DEPTH_HOLDING_FDS 32

/* openat2 returns EAGAIN when a rename elsewhere races the lookup. */
#define STORE_OPEN_ATTEMPTS 16

int store_error_errno(struct keel_error *err, int errno_value, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    err->errno_value = errno_value;
    return -1;
}

int store_check_writable(const struct store *store, const char *what, struct keel_error *err)
{
    if (store->read_only || store->root_fd < 0)
        return store_error_errno(err, EROFS, "%s: store %s is read-only", what,
                                 store->root_path ? store->root_path : "(none)");
    if (store->lock_fd < 0)
        return store_error_errno(err, ENOLCK, "%s: store %s is not locked by this writer", what,
                                 store->root_path);
    return 0;
}

void store_temporary_name(const char *kind, char *name, size_t size)
{
    /* pid and counter tell this process's writers apart; the random part
     * tells apart processes in different pid namespaces sharing the store.
     * Callers still create with O_EXCL and retry, so a collision is safe. */
    static atomic_ulong counter;
    unsigned long long random_part = 0;
    if (getrandom(&random_part, sizeof random_part, GRND_NONBLOCK) < 0)
        random_part = 0;
    snprintf(name, size, "tmp/%s-%d-%lu-%016llx", kind, (int)getpid(),
             atomic_fetch_add(&counter, 1), random_part);
}

int store_sync_directory(int dir_fd, const char *path, struct keel_error *err)
{
    _cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return keel_error_set(err, errno, "sync directory %s", path);
    return 0;
}

int store_rename_noreplace(int dir_fd, const char *from, const char *to)
{
    if (renameat2(dir_fd, from, dir_fd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
    struct stat status;
    if (fstatat(dir_fd, from, &status, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (S_ISDIR(status.st_mode)) {
        if (fstatat(dir_fd, to, &status, AT_SYMLINK_NOFOLLOW) == 0) {
            errno = EEXIST;
            return -1;
        }
        return renameat(dir_fd, from, dir_fd, to);
    }
    if (linkat(dir_fd, from, dir_fd, to, 0) < 0)
        return -1;
    unlinkat(dir_fd, from, 0);
    return 0;
}

char *store_path_join(const char *directory, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", directory, name) < 0)
        return NULL;
    return path;
}

/* ---- tree removal ---- */

/* Open the directory path under dir_fd: no symlink followed, no step out
 * of dir_fd's tree, no crossing into another mount (EXDEV). */
static int store_open_directory_beneath(int dir_fd, const char *path)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    for (int attempt = 0;; attempt++) {
        int fd = (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || attempt == STORE_OPEN_ATTEMPTS)
            return fd;
    }
}

/* unlinkat, making the directory writable once when the tree has read-only
 * directories and we are not root (root's CAP_DAC_OVERRIDE ignores modes). */
static int store_unlink_entry(int dir_fd, const char *name, int flags)
{
    if (unlinkat(dir_fd, name, flags) == 0)
        return 0;
    if (errno != EACCES)
        return -1;
    if (fchmod(dir_fd, 0700) < 0) {
        errno = EACCES;
        return -1;
    }
    return unlinkat(dir_fd, name, flags);
}

struct store_name_list {
    char **names;
    size_t count, capacity;
};

static void store_name_list_free(struct store_name_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
}

static int store_name_list_add(struct store_name_list *list, const char *name)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        char **bigger = realloc(list->names, capacity * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        list->names = bigger;
        list->capacity = capacity;
    }
    list->names[list->count] = strdup(name);
    if (list->names[list->count] == NULL)
        return -1;
    list->count++;
    return 0;
}

/* Remove every non-directory entry of the directory fd and collect the
 * names of its subdirectories. */
static int store_empty_files(int fd, struct store_name_list *subdirectories, const char *top,
                             struct keel_error *err)
{
    int stream_fd = dup(fd); /* closedir closes it, fd stays ours */
    if (stream_fd < 0)
        return keel_error_set(err, errno, "remove %s: dup", top);
    DIR *directory = fdopendir(stream_fd);
    if (directory == NULL) {
        close(stream_fd);
        return keel_error_set(err, errno, "remove %s: read directory", top);
    }
    int result = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(directory);
        if (entry == NULL)
            break;
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (entry->d_type != DT_DIR && store_unlink_entry(fd, name, 0) == 0)
            continue;
        /* DT_UNKNOWN (some filesystems) or a directory: EISDIR tells. */
        if (entry->d_type != DT_DIR && errno != EISDIR && errno != EPERM) {
            if (errno == ENOENT)
                continue;
            result = keel_error_set(err, errno, "remove %s: unlink %s", top, name);
            break;
        }
        if (store_name_list_add(subdirectories, name) < 0) {
            result = keel_error_set(err, ENOMEM, "remove %s", top);
            break;
        }
    }
    if (result == 0 && errno != 0)
        result = keel_error_set(err, errno, "remove %s: read directory", top);
    closedir(directory);
    return result;
}

/* Empty the directory *fd (depth levels below the tree's top). When deep,
 * *fd is closed while a child is emptied and reopened through the child's
 * "..", checked to be the same directory (a rename racing us would make
 * ".." another directory). */
static int store_empty_directory(int *fd, unsigned depth, const char *top, struct keel_error *err)
{
    struct store_name_list subdirectories = {0};
    int result = store_empty_files(*fd, &subdirectories, top, err);

    for (size_t i = 0; result == 0 && i < subdirectories.count; i++) {
        const char *name = subdirectories.names[i];
        _cleanup_close_ int child = store_open_directory_beneath(*fd, name);
        if (child < 0) {
            if (errno == ENOENT)
                continue;
            if (errno == ENOTDIR || errno == ELOOP) { /* replaced since listed */
                if (store_unlink_entry(*fd, name, 0) < 0 && errno != ENOENT)
                    result = keel_error_set(err, errno, "remove %s: unlink %s", top, name);
                continue;
            }
            result = keel_error_set(err, errno, "remove %s: open %s%s", top, name,
                                    errno == EXDEV ? " (a mount point)" : "");
            break;
        }
        struct stat parent;
        bool climb = depth >= STORE_TREE_DEPTH_HOLDING_FDS;
        if (climb) {
            if (fstat(*fd, &parent) < 0) {
                result = keel_error_set(err, errno, "remove %s: stat", top);
                break;
            }
            close(steal_fd(fd));
        }
        result = store_empty_directory(&child, depth + 1, top, err);
        if (climb) {
            struct stat again;
            *fd = openat(child, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (*fd < 0 || fstat(*fd, &again) < 0) {
                if (result == 0)
                    result = keel_error_set(err, errno, "remove %s: open %s/..", top, name);
                break;
            }
            if (again.st_dev != parent.st_dev || again.st_ino != parent.st_ino) {
                if (result == 0)
                    result = store_error_errno(
                        err, ESTALE, "remove %s: the tree moved while being removed", top);
                break;
            }
        }
        if (result == 0 && store_unlink_entry(*fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            result = keel_error_set(err, errno, "remove %s: remove directory %s", top, name);
    }
    store_name_list_free(&subdirectories);
    return result;
}

int store_remove_tree(int dir_fd, const char *path, struct keel_error *err)
{
    _cleanup_close_ int parent_fd = -1;
    _cleanup_close_ int fd = -1;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    int parent = dir_fd;

    if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return keel_error_invalid(err, "remove \"%s\": not a name below the directory", path);
    if (slash != NULL) {
        _cleanup_free_ char *parent_path = strndup(path, (size_t)(slash - path));
        if (parent_path == NULL)
            return keel_error_set(err, ENOMEM, "remove %s", path);
        parent_fd = store_open_directory_beneath(dir_fd, parent_path);
        if (parent_fd < 0)
            return errno == ENOENT
                       ? 0
                       : keel_error_set(err, errno, "remove %s: open its directory", path);
        parent = parent_fd;
    }

    fd = store_open_directory_beneath(parent, name);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP) { /* a file, a symlink, a device */
            if (store_unlink_entry(parent, name, 0) < 0 && errno != ENOENT)
                return keel_error_set(err, errno, "remove %s", path);
            return 0;
        }
        return keel_error_set(err, errno, "remove %s", path);
    }
    if (store_empty_directory(&fd, 0, path, err) < 0)
        return -1;
    close(steal_fd(&fd));
    if (store_unlink_entry(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "remove directory %s", path);
    return 0;
}

/* ---- open, close, lock ---- */

/* mkdir -p path: every missing component is created with mode. */
static int store_make_directories(const char *path, mode_t mode, struct keel_error *err)
{
    _cleanup_free_ char *copy = strdup(path);
    if (copy == NULL)
        return keel_error_set(err, ENOMEM, "create %s", path);
    for (char *slash = copy + 1;; slash++) {
        slash = strchr(slash, '/');
        if (slash != NULL)
            *slash = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create %s", copy);
        if (slash == NULL)
            return 0;
        *slash = '/';
    }
}

static int store_create_layout(struct store *store, struct keel_error *err)
{
    static const struct {
        const char *name;
        mode_t mode;
    } directories[] = {
        {"blobs", 0755},      {"blobs/sha256", 0755}, {"layers", 0700},
        {"containers", 0700}, {"tmp", 0700},
    };
    for (size_t i = 0; i < sizeof directories / sizeof directories[0]; i++)
        if (mkdirat(store->root_fd, directories[i].name, directories[i].mode) < 0 &&
            errno != EEXIST)
            return keel_error_set(err, errno, "create %s/%s", store->root_path,
                                  directories[i].name);
    return 0;
}

/* What a crashed writer left in tmp/. Best effort: what cannot be removed
 * now (something mounted there?) is tried again at the next open. */
static void store_clean_temporary(struct store *store)
{
    int fd = openat(store->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *directory = fdopendir(fd);
    if (directory == NULL) {
        close(fd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        struct keel_error ignored = {0};
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            store_remove_tree(dirfd(directory), entry->d_name, &ignored);
    }
    closedir(directory);
}

static int store_flock(int fd, int operation)
{
    int result;
    do {
        result = flock(fd, operation);
    } while (result < 0 && errno == EINTR);
    return result;
}

/* Clean tmp/ when no writer is at work, and write oci-layout when missing
 * (under the lock: two first opens may race). Closing lock_fd unlocks. */
static int store_prepare(struct store *store, struct keel_error *err)
{
    _cleanup_close_ int lock_fd =
        openat(store->root_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        return keel_error_set(err, errno, "open %s/lock", store->root_path);
    bool locked = store_flock(lock_fd, LOCK_EX | LOCK_NB) == 0;
    if (locked)
        store_clean_temporary(store);

    if (faccessat(store->root_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (!locked && store_flock(lock_fd, LOCK_EX) < 0)
        return keel_error_set(err, errno, "lock %s/lock", store->root_path);
    if (faccessat(store->root_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    _cleanup_free_ char *layout = store_path_join(store->root_path, "oci-layout");
    if (layout == NULL)
        return keel_error_set(err, ENOMEM, "create oci-layout");
    return file_write_atomic(layout, STORE_OCI_LAYOUT, strlen(STORE_OCI_LAYOUT), 0644, 0, err);
}

/* Open directory path, its canonical absolute path in *canonical. */
static int store_open_directory(const char *path, int *fd, char **canonical)
{
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return -1;
    *canonical = realpath(path, NULL);
    if (*canonical == NULL) {
        int saved = errno;
        close(*fd);
        *fd = -1;
        errno = saved;
        return -1;
    }
    return 0;
}

int store_open(struct store *store, const char *root, const char *base, unsigned flags,
               struct keel_error *err)
{
    *store = (struct store){.root_fd = -1,
                            .base_fd = -1,
                            .lock_fd = -1,
                            .read_only = (flags & STORE_OPEN_READ_ONLY) != 0};

    if (root == NULL && !(store->read_only && base != NULL))
        return keel_error_invalid(err, "open store: no store directory given");
    if (base != NULL && store_open_directory(base, &store->base_fd, &store->base_path) < 0) {
        keel_error_set(err, errno, "open base store %s", base);
        store_close(store);
        return -1;
    }
    if (root == NULL)
        return 0;

    if (!store->read_only && store_make_directories(root, 0700, err) < 0) {
        store_close(store);
        return keel_error_prefix(err, "open store %s", root);
    }
    if (store_open_directory(root, &store->root_fd, &store->root_path) < 0) {
        if (store->read_only && errno == ENOENT) {
            /* Nothing written there yet: a read-only store is then just its base. */
            store->root_path = strdup(root);
            if (store->root_path != NULL)
                return 0;
            errno = ENOMEM;
        }
        keel_error_set(err, errno, "open store %s", root);
        store_close(store);
        return -1;
    }
    if (!store->read_only &&
        (store_create_layout(store, err) < 0 || store_prepare(store, err) < 0)) {
        store_close(store);
        return keel_error_prefix(err, "open store %s", root);
    }
    return 0;
}

void store_close(struct store *store)
{
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    if (store->root_fd >= 0)
        close(store->root_fd);
    if (store->base_fd >= 0)
        close(store->base_fd);
    free(store->root_path);
    free(store->base_path);
    *store =
        (struct store){.root_fd = -1, .base_fd = -1, .lock_fd = -1, .read_only = store->read_only};
}

int store_lock(struct store *store, struct keel_error *err)
{
    if (store->read_only || store->root_fd < 0)
        return store_error_errno(err, EROFS, "lock store %s: it is read-only",
                                 store->root_path ? store->root_path : "(none)");
    /* flock(2) locks belong to the open file: a second store_lock through a
     * new open would wait for ourselves forever. */
    if (store->lock_fd >= 0)
        return store_error_errno(err, EDEADLK, "lock store %s: already locked by this writer",
                                 store->root_path);
    _cleanup_close_ int fd =
        openat(store->root_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s/lock", store->root_path);
    if (store_flock(fd, LOCK_EX) < 0)
        return keel_error_set(err, errno, "lock %s/lock", store->root_path);
    store->lock_fd = steal_fd(&fd);
    return 0;
}

void store_unlock(struct store *store)
{
    if (store->lock_fd >= 0)
        close(store->lock_fd); /* releases the flock */
    store->lock_fd = -1;
}
