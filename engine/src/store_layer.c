/* store_layer.c — unpacked layers by chain id: filled in tmp/, renamed in, found, removed. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "store_internal.h"

#define STORE_CREATE_ATTEMPTS 8

static void store_layer_name(const struct digest *chain_id, char *name, size_t size)
{
    snprintf(name, size, "layers/%s", digest_hex(chain_id));
}

int store_layer_writer_open(struct store *store, struct store_layer_writer *writer,
                            struct keel_error *err)
{
    char name[STORE_TEMPORARY_NAME_MAX];
    *writer = (struct store_layer_writer){.directory_fd = -1};
    if (store_check_writable(store, "write layer", err) < 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        store_temporary_name("layer", name, sizeof name);
        if (mkdirat(store->root_fd, name, 0755) == 0)
            break;
        if (errno != EEXIST || attempt == STORE_CREATE_ATTEMPTS)
            return keel_error_set(err, errno, "create %s/%s", store->root_path, name);
    }
    writer->directory_fd =
        openat(store->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* The layer's top is the container's "/": 0755 whatever the umask
     * (the layer's own "./" entry, when it has one, sets it again). */
    if (writer->directory_fd < 0 || fchmod(writer->directory_fd, 0755) < 0 ||
        (writer->temporary_path = strdup(name)) == NULL) {
        keel_error_set(err, errno, "open %s/%s", store->root_path, name);
        if (writer->directory_fd >= 0)
            close(writer->directory_fd);
        writer->directory_fd = -1;
        unlinkat(store->root_fd, name, AT_REMOVEDIR);
        return -1;
    }
    return 0;
}

static int store_layer_writer_place(struct store *store, struct store_layer_writer *writer,
                                    const struct digest *chain_id, struct keel_error *err)
{
    char name[sizeof "layers/" + DIGEST_HEX_LENGTH];
    store_layer_name(chain_id, name, sizeof name);
    /* One syncfs makes the whole tree durable: far cheaper than an fsync
     * of each of its thousands of files. */
    if (syncfs(writer->directory_fd) < 0)
        return keel_error_set(err, errno, "sync layer %s", chain_id->text);
    if (store_rename_noreplace(store->root_fd, writer->temporary_path, name) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            return keel_error_set(err, errno, "rename %s to %s", writer->temporary_path, name);
        return 0; /* another writer got there first: discard removes ours */
    }
    free(writer->temporary_path); /* in place now: nothing for discard to remove */
    writer->temporary_path = NULL;
    return store_sync_directory(store->root_fd, "layers", err);
}

int store_layer_writer_commit(struct store *store, struct store_layer_writer *writer,
                              const struct digest *chain_id, struct keel_error *err)
{
    int result = store_layer_writer_place(store, writer, chain_id, err);
    store_layer_writer_discard(store, writer);
    return result;
}

void store_layer_writer_discard(struct store *store, struct store_layer_writer *writer)
{
    if (writer->directory_fd >= 0)
        close(writer->directory_fd);
    writer->directory_fd = -1;
    if (writer->temporary_path != NULL) {
        struct keel_error ignored = {0};
        /* What is left behind is removed at the next open. */
        if (store->root_fd >= 0)
            store_remove_tree(store->root_fd, writer->temporary_path, &ignored);
        free(writer->temporary_path);
        writer->temporary_path = NULL;
    }
}

/* Does dir_fd hold the layer's directory? */
static bool store_layer_in(int dir_fd, const char *name)
{
    struct stat status;
    return dir_fd >= 0 && fstatat(dir_fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(status.st_mode);
}

bool store_layer_exists(const struct store *store, const struct digest *chain_id)
{
    char name[sizeof "layers/" + DIGEST_HEX_LENGTH];
    store_layer_name(chain_id, name, sizeof name);
    return store_layer_in(store->root_fd, name) || store_layer_in(store->base_fd, name);
}

int store_layer_path(const struct store *store, const struct digest *chain_id, char **path,
                     struct keel_error *err)
{
    char name[sizeof "layers/" + DIGEST_HEX_LENGTH];
    const char *directory;
    store_layer_name(chain_id, name, sizeof name);
    if (store_layer_in(store->root_fd, name))
        directory = store->root_path;
    else if (store_layer_in(store->base_fd, name))
        directory = store->base_path;
    else
        return store_error_errno(err, ENOENT, "layer %s not found", chain_id->text);
    *path = store_path_join(directory, name);
    if (*path == NULL)
        return keel_error_set(err, ENOMEM, "layer %s", chain_id->text);
    return 0;
}

int store_layer_list(const struct store *store, struct digest **chain_ids, size_t *count,
                     struct keel_error *err)
{
    return store_list_digests(store, "layers", DT_DIR, chain_ids, count, err);
}

int store_layer_remove(struct store *store, const struct digest *chain_id, struct keel_error *err)
{
    char name[sizeof "layers/" + DIGEST_HEX_LENGTH];
    char temporary[STORE_TEMPORARY_NAME_MAX];
    if (store_check_writable(store, "remove layer", err) < 0)
        return -1;
    store_layer_name(chain_id, name, sizeof name);
    if (!store_layer_in(store->root_fd, name))
        return store_error_errno(err, ENOENT, "remove layer %s: not found", chain_id->text);
    for (int attempt = 0;; attempt++) {
        store_temporary_name("removing-layer", temporary, sizeof temporary);
        if (store_rename_noreplace(store->root_fd, name, temporary) == 0)
            break;
        if ((errno != EEXIST && errno != ENOTEMPTY) || attempt == STORE_CREATE_ATTEMPTS)
            return keel_error_set(err, errno, "remove layer %s: rename to %s", chain_id->text,
                                  temporary);
    }
    if (store_sync_directory(store->root_fd, "layers", err) < 0 ||
        store_remove_tree(store->root_fd, temporary, err) < 0)
        return keel_error_prefix(err, "remove layer %s", chain_id->text);
    return 0;
}
