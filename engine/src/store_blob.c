/* store_blob.c — blobs by digest: written through tmp/ and verified, read, listed, removed. */
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
#include "file.h"
#include "store_internal.h"

/* Blobs are content: nobody writes to one once it is in place. */
#define STORE_BLOB_MODE 0444
#define STORE_CREATE_ATTEMPTS 8

static void store_blob_name(const struct digest *digest, char *name, size_t size)
{
    snprintf(name, size, "blobs/sha256/%s", digest_hex(digest));
}

int store_blob_writer_open(struct store *store, struct store_blob_writer *writer,
                           struct keel_error *err)
{
    char name[STORE_TEMPORARY_NAME_MAX];
    *writer = (struct store_blob_writer){.fd = -1};
    if (store_check_writable(store, "write blob", err) < 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        store_temporary_name("blob", name, sizeof name);
        writer->fd = openat(store->root_fd, name,
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, STORE_BLOB_MODE);
        if (writer->fd >= 0)
            break;
        if (errno != EEXIST || attempt == STORE_CREATE_ATTEMPTS)
            return keel_error_set(err, errno, "create %s/%s", store->root_path, name);
    }
    writer->temporary_path = strdup(name);
    if (writer->temporary_path == NULL) {
        unlinkat(store->root_fd, name, 0);
        close(writer->fd);
        writer->fd = -1;
        return keel_error_set(err, ENOMEM, "write blob");
    }
    digest_hasher_init(&writer->hasher);
    return 0;
}

int store_blob_writer_write(struct store_blob_writer *writer, const void *data, size_t length,
                            struct keel_error *err)
{
    if (file_write_all(writer->fd, data, length) < 0)
        return keel_error_set(err, errno, "write %s", writer->temporary_path);
    digest_hasher_update(&writer->hasher, data, length);
    writer->size += length;
    return 0;
}

/* Sync and rename the written temporary into place. */
static int store_blob_writer_place(struct store *store, struct store_blob_writer *writer,
                                   const struct digest *digest, struct keel_error *err)
{
    char name[sizeof "blobs/sha256/" + DIGEST_HEX_LENGTH];
    store_blob_name(digest, name, sizeof name);
    if (fsync(writer->fd) < 0)
        return keel_error_set(err, errno, "sync %s", writer->temporary_path);
    if (store_rename_noreplace(store->root_fd, writer->temporary_path, name) < 0) {
        if (errno != EEXIST)
            return keel_error_set(err, errno, "rename %s to %s", writer->temporary_path, name);
        return 0; /* already there: same digest, same content; discard drops ours */
    }
    free(writer->temporary_path); /* in place now: nothing for discard to remove */
    writer->temporary_path = NULL;
    return store_sync_directory(store->root_fd, "blobs/sha256", err);
}

int store_blob_writer_commit(struct store *store, struct store_blob_writer *writer,
                             const struct digest *expected, struct digest *digest,
                             struct keel_error *err)
{
    struct digest content;
    int result;
    digest_hasher_finish(&writer->hasher, &content);
    if (expected != NULL && !digest_equal(expected, &content))
        result = keel_error_invalid(err, "content has digest %s, expected %s", content.text,
                                    expected->text);
    else
        result = store_blob_writer_place(store, writer, &content, err);
    if (result == 0 && digest != NULL)
        *digest = content;
    store_blob_writer_discard(store, writer);
    return result;
}

void store_blob_writer_discard(struct store *store, struct store_blob_writer *writer)
{
    if (writer->fd >= 0)
        close(writer->fd);
    writer->fd = -1;
    if (writer->temporary_path != NULL) {
        if (store->root_fd >= 0)
            unlinkat(store->root_fd, writer->temporary_path, 0);
        free(writer->temporary_path);
        writer->temporary_path = NULL;
    }
}

int store_blob_put(struct store *store, const void *data, size_t length, struct digest *digest,
                   struct keel_error *err)
{
    struct store_blob_writer writer;
    if (store_blob_writer_open(store, &writer, err) < 0)
        return -1;
    if (store_blob_writer_write(&writer, data, length, err) < 0) {
        store_blob_writer_discard(store, &writer);
        return -1;
    }
    return store_blob_writer_commit(store, &writer, NULL, digest, err);
}

/* openat of the blob in the writable store, else in the base: -1 with errno. */
static int store_blob_open_flags(const struct store *store, const struct digest *digest, int flags)
{
    char name[sizeof "blobs/sha256/" + DIGEST_HEX_LENGTH];
    store_blob_name(digest, name, sizeof name);
    int fd = -1;
    errno = ENOENT;
    if (store->root_fd >= 0)
        fd = openat(store->root_fd, name, flags);
    if (fd < 0 && errno == ENOENT && store->base_fd >= 0)
        fd = openat(store->base_fd, name, flags);
    return fd;
}

static int store_blob_error(const struct digest *digest, struct keel_error *err)
{
    if (errno == ENOENT)
        return store_error_errno(err, ENOENT, "blob %s not found", digest->text);
    return keel_error_set(err, errno, "open blob %s", digest->text);
}

int store_blob_open(const struct store *store, const struct digest *digest, struct keel_error *err)
{
    int fd = store_blob_open_flags(store, digest, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return store_blob_error(digest, err);
    return fd;
}

int store_blob_read(const struct store *store, const struct digest *digest, size_t maximum,
                    char **data, size_t *length, struct keel_error *err)
{
    _cleanup_close_ int fd = store_blob_open(store, digest, err);
    if (fd < 0)
        return -1;
    struct stat status;
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "stat blob %s", digest->text);
    if ((uint64_t)status.st_size > maximum)
        return keel_error_set(err, EFBIG, "read blob %s: %lld bytes, more than %zu", digest->text,
                              (long long)status.st_size, maximum);
    size_t size = (size_t)status.st_size, used = 0;
    _cleanup_free_ char *buffer = malloc(size + 1);
    if (buffer == NULL)
        return keel_error_set(err, ENOMEM, "read blob %s", digest->text);
    while (used < size) {
        ssize_t n = read(fd, buffer + used, size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return keel_error_set(err, errno, "read blob %s", digest->text);
        if (n == 0)
            return store_error_errno(err, EIO, "read blob %s: shorter than its size", digest->text);
        used += (size_t)n;
    }
    buffer[used] = '\0';
    *data = steal_pointer(&buffer);
    if (length != NULL)
        *length = used;
    return 0;
}

int store_blob_size(const struct store *store, const struct digest *digest, uint64_t *size,
                    struct keel_error *err)
{
    _cleanup_close_ int fd = store_blob_open_flags(store, digest, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat status;
    if (fd < 0)
        return store_blob_error(digest, err);
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "stat blob %s", digest->text);
    if (!S_ISREG(status.st_mode))
        return store_error_errno(err, EINVAL, "blob %s is not a regular file", digest->text);
    *size = (uint64_t)status.st_size;
    return 0;
}

bool store_blob_exists(const struct store *store, const struct digest *digest)
{
    _cleanup_close_ int fd = store_blob_open_flags(store, digest, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat status;
    return fd >= 0 && fstat(fd, &status) == 0 && S_ISREG(status.st_mode);
}

/* Is name 64 lower-case hex digits, the way digests name files? */
static bool store_name_is_hex_digest(const char *name)
{
    size_t i;
    for (i = 0; name[i] != '\0'; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return i == DIGEST_HEX_LENGTH;
}

int store_list_digests(const struct store *store, const char *directory, unsigned char wanted,
                       struct digest **digests, size_t *count, struct keel_error *err)
{
    *digests = NULL;
    *count = 0;
    if (store->root_fd < 0)
        return 0;
    int fd = openat(store->root_fd, directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : keel_error_set(err, errno, "open %s/%s", store->root_path, directory);
    DIR *stream = fdopendir(fd);
    if (stream == NULL) {
        close(fd);
        return keel_error_set(err, errno, "read %s/%s", store->root_path, directory);
    }
    _cleanup_free_ struct digest *list = NULL;
    size_t used = 0, capacity = 0;
    int result = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(stream);
        if (entry == NULL) {
            if (errno != 0)
                result = keel_error_set(err, errno, "read %s/%s", store->root_path, directory);
            break;
        }
        if (!store_name_is_hex_digest(entry->d_name))
            continue;
        if (entry->d_type != wanted && entry->d_type != DT_UNKNOWN)
            continue;
        if (used == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            struct digest *bigger = realloc(list, capacity * sizeof *bigger);
            if (bigger == NULL) {
                result = keel_error_set(err, ENOMEM, "list %s/%s", store->root_path, directory);
                break;
            }
            list = bigger;
        }
        memcpy(list[used].text, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1);
        memcpy(list[used].text + sizeof DIGEST_PREFIX - 1, entry->d_name, DIGEST_HEX_LENGTH + 1);
        used++;
    }
    closedir(stream);
    if (result < 0)
        return -1;
    *digests = steal_pointer(&list);
    *count = used;
    return 0;
}

int store_blob_list(const struct store *store, struct digest **digests, size_t *count,
                    struct keel_error *err)
{
    return store_list_digests(store, "blobs/sha256", DT_REG, digests, count, err);
}

int store_blob_remove(struct store *store, const struct digest *digest, struct keel_error *err)
{
    char name[sizeof "blobs/sha256/" + DIGEST_HEX_LENGTH];
    if (store_check_writable(store, "remove blob", err) < 0)
        return -1;
    store_blob_name(digest, name, sizeof name);
    if (unlinkat(store->root_fd, name, 0) < 0) {
        if (errno == ENOENT)
            return store_error_errno(err, ENOENT, "remove blob %s: not found", digest->text);
        return keel_error_set(err, errno, "remove blob %s", digest->text);
    }
    return 0;
}
