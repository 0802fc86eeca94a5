/* store_index.c — index.json, the images' names: read (merged with the base's), set, removed. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "store_internal.h"

#define STORE_INDEX_FILE "index.json"
#define STORE_INDEX_MAXIMUM (64u << 20)
#define STORE_INDEX_MEDIA_TYPE "application/vnd.oci.image.index.v1+json"
#define STORE_MANIFEST_MEDIA_TYPE "application/vnd.oci.image.manifest.v1+json"
#define STORE_ANNOTATION_NAME "io.containerd.image.name"
#define STORE_ANNOTATION_TAG "org.opencontainers.image.ref.name"

static void store_json_release(json_t **value)
{
    json_decref(*value);
}
#define _cleanup_json_ __attribute__((cleanup(store_json_release)))

static void store_index_clear(struct store_index *index)
{
    for (size_t i = 0; i < index->count; i++)
        free(index->entries[i].name);
    free(index->entries);
    index->entries = NULL;
    index->count = 0;
}

void store_index_free(struct store_index *index)
{
    store_index_clear(index);
}

static int store_index_append(struct store_index *index, const char *name,
                              const struct digest *manifest, uint64_t size, bool in_base)
{
    char *copy = NULL;
    if (name != NULL && (copy = strdup(name)) == NULL)
        return -1;
    struct store_index_entry *bigger = realloc(index->entries, (index->count + 1) * sizeof *bigger);
    if (bigger == NULL) {
        free(copy);
        return -1;
    }
    index->entries = bigger;
    index->entries[index->count++] = (struct store_index_entry){
        .name = copy, .manifest = *manifest, .manifest_size = size, .in_base = in_base};
    return 0;
}

static void store_index_delete(struct store_index *index, size_t position)
{
    free(index->entries[position].name);
    memmove(&index->entries[position], &index->entries[position + 1],
            (index->count - position - 1) * sizeof index->entries[0]);
    index->count--;
}

static ssize_t store_index_find_name(const struct store_index *index, const char *name)
{
    for (size_t i = 0; i < index->count; i++)
        if (index->entries[i].name != NULL && strcmp(index->entries[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static bool store_index_has_manifest(const struct store_index *index, const struct digest *manifest)
{
    for (size_t i = 0; i < index->count; i++)
        if (digest_equal(&index->entries[i].manifest, manifest))
            return true;
    return false;
}

/* ---- reading ---- */

/* One descriptor of manifests[], position i: its digest, size and name. */
static int store_index_parse_entry(json_t *descriptor, size_t i, bool in_base,
                                   struct store_index *index, struct keel_error *err)
{
    if (!json_is_object(descriptor))
        return keel_error_invalid(err, "manifests[%zu]: not an object", i);
    json_t *media_type = json_object_get(descriptor, "mediaType");
    if (media_type != NULL && !json_is_string(media_type))
        return keel_error_invalid(err, "manifests[%zu].mediaType: not a string", i);

    json_t *digest_value = json_object_get(descriptor, "digest");
    struct digest manifest;
    if (!json_is_string(digest_value))
        return keel_error_invalid(err, "manifests[%zu].digest: %s", i,
                                  digest_value ? "not a string" : "missing");
    if (digest_parse(json_string_value(digest_value), &manifest, err) < 0)
        return keel_error_prefix(err, "manifests[%zu].digest", i);

    json_t *size_value = json_object_get(descriptor, "size");
    if (!json_is_integer(size_value) || json_integer_value(size_value) < 0)
        return keel_error_invalid(err, "manifests[%zu].size: %s", i,
                                  size_value ? "not a non-negative integer" : "missing");

    /* The full name is containerd's annotation; a layout written by another
     * tool (umoci) may name its images by the OCI ref name alone. */
    const char *name = NULL;
    json_t *annotations = json_object_get(descriptor, "annotations");
    if (annotations != NULL) {
        if (!json_is_object(annotations))
            return keel_error_invalid(err, "manifests[%zu].annotations: not an object", i);
        static const char *const keys[] = {STORE_ANNOTATION_NAME, STORE_ANNOTATION_TAG};
        for (size_t k = 0; k < 2 && name == NULL; k++) {
            json_t *value = json_object_get(annotations, keys[k]);
            if (value != NULL && (!json_is_string(value) || json_string_length(value) == 0 ||
                                  strlen(json_string_value(value)) != json_string_length(value)))
                return keel_error_invalid(err, "manifests[%zu].annotations.\"%s\": not a name", i,
                                          keys[k]);
            if (value != NULL)
                name = json_string_value(value);
        }
    }
    if (name != NULL && store_index_find_name(index, name) >= 0)
        return keel_error_invalid(err, "manifests[%zu]: name \"%s\" given twice", i, name);
    if (store_index_append(index, name, &manifest, (uint64_t)json_integer_value(size_value),
                           in_base) < 0)
        return keel_error_set(err, ENOMEM, "manifests[%zu]", i);
    return 0;
}

static int store_index_parse(const char *text, size_t length, bool in_base,
                             struct store_index *index, struct keel_error *err)
{
    json_error_t json_error;
    _cleanup_json_ json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &json_error);
    if (root == NULL)
        return keel_error_invalid(err, "line %d: %s", json_error.line, json_error.text);
    if (!json_is_object(root))
        return keel_error_invalid(err, "not a JSON object");
    json_t *version = json_object_get(root, "schemaVersion");
    if (version != NULL && (!json_is_integer(version) || json_integer_value(version) != 2))
        return keel_error_invalid(err, "schemaVersion: not 2");
    json_t *manifests = json_object_get(root, "manifests");
    if (!json_is_array(manifests))
        return keel_error_invalid(err, "manifests: %s", manifests ? "not an array" : "missing");
    for (size_t i = 0; i < json_array_size(manifests); i++)
        if (store_index_parse_entry(json_array_get(manifests, i), i, in_base, index, err) < 0)
            return -1;
    return 0;
}

/* Read index.json of the store directory dir_fd (path, for messages) into
 * index; a missing file is an empty index. */
static int store_index_load(int dir_fd, const char *path, bool in_base, struct store_index *index,
                            struct keel_error *err)
{
    *index = (struct store_index){0};
    if (dir_fd < 0)
        return 0;
    _cleanup_close_ int fd = openat(dir_fd, STORE_INDEX_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : keel_error_set(err, errno, "open %s/" STORE_INDEX_FILE, path);
    struct stat status;
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "stat %s/" STORE_INDEX_FILE, path);
    if (status.st_size > STORE_INDEX_MAXIMUM)
        return keel_error_set(err, EFBIG, "read %s/" STORE_INDEX_FILE ": more than %u bytes", path,
                              STORE_INDEX_MAXIMUM);
    size_t size = (size_t)status.st_size, used = 0;
    _cleanup_free_ char *text = malloc(size + 1);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "read %s/" STORE_INDEX_FILE, path);
    while (used < size) {
        ssize_t n = read(fd, text + used, size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return keel_error_set(err, errno, "read %s/" STORE_INDEX_FILE, path);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (store_index_parse(text, used, in_base, index, err) < 0) {
        store_index_clear(index);
        return keel_error_prefix(err, "%s/" STORE_INDEX_FILE, path);
    }
    return 0;
}

int store_index_read(const struct store *store, struct store_index *index, struct keel_error *err)
{
    struct store_index base = {0};
    if (store_index_load(store->root_fd, store->root_path, false, index, err) < 0)
        return -1;
    if (store_index_load(store->base_fd, store->base_path, true, &base, err) < 0) {
        store_index_clear(index);
        return -1;
    }
    /* The writable store shadows the base: a name set in both is the
     * writable one's; an unnamed base image the writable store also keeps
     * would otherwise be listed twice. */
    size_t writable_count = index->count;
    struct store_index writable = {.entries = index->entries, .count = writable_count};
    for (size_t i = 0; i < base.count; i++) {
        const struct store_index_entry *entry = &base.entries[i];
        bool shadowed = entry->name != NULL ? store_index_find_name(&writable, entry->name) >= 0
                                            : store_index_has_manifest(&writable, &entry->manifest);
        if (shadowed)
            continue;
        if (store_index_append(index, entry->name, &entry->manifest, entry->manifest_size, true) <
            0) {
            store_index_clear(&base);
            store_index_clear(index);
            return keel_error_set(err, ENOMEM, "read the store's index");
        }
        writable.entries = index->entries; /* append may have moved them */
    }
    store_index_clear(&base);
    return 0;
}

/* ---- writing ---- */

/* The tag of a name: what follows the last ':' after the last '/'. */
static const char *store_name_tag(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    return colon ? colon + 1 : NULL;
}

static json_t *store_index_descriptor(const struct store_index_entry *entry)
{
    json_t *descriptor = json_object();
    if (descriptor == NULL)
        return NULL;
    int failed =
        json_object_set_new(descriptor, "mediaType", json_string(STORE_MANIFEST_MEDIA_TYPE));
    failed |= json_object_set_new(descriptor, "digest", json_string(entry->manifest.text));
    failed |=
        json_object_set_new(descriptor, "size", json_integer((json_int_t)entry->manifest_size));
    if (entry->name != NULL) {
        json_t *annotations = json_object();
        const char *tag = store_name_tag(entry->name);
        failed |= json_object_set_new(annotations, STORE_ANNOTATION_NAME, json_string(entry->name));
        if (tag != NULL)
            failed |= json_object_set_new(annotations, STORE_ANNOTATION_TAG, json_string(tag));
        failed |= json_object_set_new(descriptor, "annotations", annotations);
    }
    if (failed) {
        json_decref(descriptor);
        return NULL;
    }
    return descriptor;
}

/* Replace the writable store's index.json with index, atomically. */
static int store_index_write(struct store *store, const struct store_index *index,
                             struct keel_error *err)
{
    _cleanup_json_ json_t *root = json_object();
    json_t *manifests = json_array();
    int failed = root == NULL || manifests == NULL;
    if (!failed) {
        failed |= json_object_set_new(root, "schemaVersion", json_integer(2));
        failed |= json_object_set_new(root, "mediaType", json_string(STORE_INDEX_MEDIA_TYPE));
        failed |= json_object_set_new(root, "manifests", manifests);
    }
    for (size_t i = 0; !failed && i < index->count; i++)
        failed |= json_array_append_new(manifests, store_index_descriptor(&index->entries[i]));
    _cleanup_free_ char *text = failed ? NULL : json_dumps(root, JSON_COMPACT);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "write %s/" STORE_INDEX_FILE, store->root_path);
    _cleanup_free_ char *path = store_path_join(store->root_path, STORE_INDEX_FILE);
    if (path == NULL)
        return keel_error_set(err, ENOMEM, "write %s/" STORE_INDEX_FILE, store->root_path);
    return file_write_atomic(path, text, strlen(text), 0644, 0, err);
}

int store_index_set(struct store *store, const char *name, const struct digest *manifest,
                    uint64_t manifest_size, struct keel_error *err)
{
    struct store_index index = {0};
    if (store_check_writable(store, "name image", err) < 0)
        return -1;
    if (name != NULL && name[0] == '\0')
        return keel_error_invalid(err, "name image %s: empty name", manifest->text);
    if (store_index_load(store->root_fd, store->root_path, false, &index, err) < 0)
        return -1;

    int result = 0;
    if (name == NULL) {
        if (store_index_has_manifest(&index, manifest)) { /* already kept, named or not */
            store_index_clear(&index);
            return 0;
        }
        if (store_index_append(&index, NULL, manifest, manifest_size, false) < 0)
            result = keel_error_set(err, ENOMEM, "keep image %s", manifest->text);
    } else {
        ssize_t found = store_index_find_name(&index, name);
        if (found >= 0) {
            /* Replaced in place: the index keeps its order. */
            index.entries[found].manifest = *manifest;
            index.entries[found].manifest_size = manifest_size;
        } else if (store_index_append(&index, name, manifest, manifest_size, false) < 0) {
            result = keel_error_set(err, ENOMEM, "name image %s", name);
        }
        /* The image now has a name: an unnamed entry for it says nothing more. */
        for (size_t i = index.count; result == 0 && i-- > 0;)
            if (index.entries[i].name == NULL && digest_equal(&index.entries[i].manifest, manifest))
                store_index_delete(&index, i);
    }
    if (result == 0)
        result = store_index_write(store, &index, err);
    store_index_clear(&index);
    return result;
}

int store_index_remove(struct store *store, const char *name, struct keel_error *err)
{
    struct store_index index = {0};
    if (store_check_writable(store, "remove name", err) < 0)
        return -1;
    if (store_index_load(store->root_fd, store->root_path, false, &index, err) < 0)
        return -1;
    ssize_t found = store_index_find_name(&index, name);
    int result;
    if (found >= 0) {
        store_index_delete(&index, (size_t)found);
        result = store_index_write(store, &index, err);
    } else {
        struct store_index base = {0};
        bool in_base = store_index_load(store->base_fd, store->base_path, true, &base, err) == 0 &&
                       store_index_find_name(&base, name) >= 0;
        store_index_clear(&base);
        if (in_base)
            result = store_error_errno(err, EROFS,
                                       "remove name %s: it is in the read-only base store", name);
        else
            result = store_error_errno(err, ENOENT, "remove name %s: no such image name", name);
    }
    store_index_clear(&index);
    return result;
}

int store_index_remove_manifest(struct store *store, const struct digest *manifest,
                                struct keel_error *err)
{
    struct store_index index = {0};
    if (store_check_writable(store, "remove image", err) < 0)
        return -1;
    if (store_index_load(store->root_fd, store->root_path, false, &index, err) < 0)
        return -1;
    size_t before = index.count;
    for (size_t i = index.count; i-- > 0;)
        if (digest_equal(&index.entries[i].manifest, manifest))
            store_index_delete(&index, i);
    int result = index.count == before ? 0 : store_index_write(store, &index, err);
    store_index_clear(&index);
    return result;
}
