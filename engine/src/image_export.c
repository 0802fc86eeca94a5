/* image_export.c — a store's images as one deterministic OCI archive or docker-archive. */
#include "image_export.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <jansson.h>

#include "cleanup.h"
#include "image.h"
#include "image_manifest.h"
#include "tar_writer.h"

#define EXPORT_MANIFEST_MAX (4 * 1024 * 1024)

int image_archive_format_parse(const char *text, enum image_archive_format *format,
                               struct keel_error *err)
{
    if (strcmp(text, "oci") == 0 || strcmp(text, "oci-archive") == 0)
        *format = IMAGE_ARCHIVE_OCI;
    else if (strcmp(text, "docker") == 0 || strcmp(text, "docker-archive") == 0)
        *format = IMAGE_ARCHIVE_DOCKER;
    else
        return keel_error_invalid(err, "unknown archive format \"%s\" (oci or docker)", text);
    return 0;
}

/* ---- which images, under which names ---- */

/* One image to write, with the names the archive gives it. */
struct export_image {
    struct image image;
    char **names; /* heap strings; the archive's names for it */
    size_t name_count;
    char *manifest_media_type; /* the manifest blob's own mediaType */
};

struct export_set {
    struct export_image *images;
    size_t count;
};

/* A name the archive's index lists: an image under one name, or an unnamed
 * image (name NULL). */
struct export_name {
    const char *name;
    const struct export_image *image;
};

static void export_set_free(struct export_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        image_free(&set->images[i].image);
        for (size_t j = 0; j < set->images[i].name_count; j++)
            free(set->images[i].names[j]);
        free(set->images[i].names);
        free(set->images[i].manifest_media_type);
    }
    free(set->images);
    *set = (struct export_set){0};
}

static bool export_image_has_name(const struct export_image *entry, const char *name)
{
    for (size_t i = 0; i < entry->name_count; i++)
        if (strcmp(entry->names[i], name) == 0)
            return true;
    return false;
}

static int export_image_add_name(struct export_image *entry, const char *name,
                                 struct keel_error *err)
{
    if (export_image_has_name(entry, name))
        return 0;
    char **grown = realloc(entry->names, (entry->name_count + 1) * sizeof *grown);
    if (grown == NULL)
        return keel_error_set(err, ENOMEM, "image %s", name);
    entry->names = grown;
    if ((entry->names[entry->name_count] = strdup(name)) == NULL)
        return keel_error_set(err, ENOMEM, "image %s", name);
    entry->name_count++;
    return 0;
}

/* The names a reference brings into the archive: a name, that name alone
 * (as `docker save busybox:1` keeps only that tag); an id or a digest, every
 * name of the image. */
static int export_image_add_reference_names(struct export_image *entry, const struct image *found,
                                            const char *reference, struct keel_error *err)
{
    _cleanup_free_ char *normalized = NULL;
    struct keel_error ignored;
    if (image_reference_normalize(reference, &normalized, &ignored) == 0)
        for (char **name = found->names; name && *name; name++)
            if (strcmp(*name, normalized) == 0)
                return export_image_add_name(entry, normalized, err);
    for (char **name = found->names; name && *name; name++)
        if (export_image_add_name(entry, *name, err) < 0)
            return -1;
    return 0;
}

/* The mediaType the manifest blob declares (an OCI manifest when it has
 * none): index.json must describe the blob as it is. */
static int export_manifest_media_type(const struct store *store, const struct image *image,
                                      char **media_type, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length;
    if (store_blob_read(store, &image->manifest_digest, EXPORT_MANIFEST_MAX, &text, &length, err) <
        0)
        return keel_error_prefix(err, "manifest %s", image->manifest_digest.text);
    json_t *document = json_loadb(text, length, 0, NULL);
    const char *declared = json_string_value(json_object_get(document, "mediaType"));
    *media_type = strdup(declared ? declared : MEDIA_TYPE_OCI_MANIFEST);
    json_decref(document);
    if (*media_type == NULL)
        return keel_error_set(err, ENOMEM, "manifest %s", image->manifest_digest.text);
    return 0;
}

static int export_set_add(struct export_set *set, const struct store *store, const char *reference,
                          struct keel_error *err)
{
    struct image found;
    if (image_find(store, reference, &found, err) < 0)
        return -1;
    for (size_t i = 0; i < set->count; i++) {
        struct export_image *entry = &set->images[i];
        if (!digest_equal(&entry->image.manifest_digest, &found.manifest_digest))
            continue;
        /* The same image named twice: one copy, the names of both. */
        int result = export_image_add_reference_names(entry, &found, reference, err);
        image_free(&found);
        return result;
    }
    struct export_image *grown = realloc(set->images, (set->count + 1) * sizeof *grown);
    if (grown == NULL) {
        image_free(&found);
        return keel_error_set(err, ENOMEM, "image %s", reference);
    }
    set->images = grown;
    struct export_image *entry = &set->images[set->count++];
    *entry = (struct export_image){.image = found};
    if (export_image_add_reference_names(entry, &found, reference, err) < 0)
        return -1;
    return export_manifest_media_type(store, &entry->image, &entry->manifest_media_type, err);
}

static int export_names_compare(const void *a, const void *b)
{
    const struct export_name *left = a, *right = b;
    if (left->name && right->name)
        return strcmp(left->name, right->name);
    if (left->name || right->name)
        return left->name ? -1 : 1; /* unnamed images last */
    return strcmp(left->image->image.manifest_digest.text,
                  right->image->image.manifest_digest.text);
}

/* Every (name, image) the index lists, sorted: the same images give the
 * same order whatever the order of the references. */
static int export_set_names(const struct export_set *set, struct export_name **names, size_t *count,
                            struct keel_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < set->count; i++)
        total += set->images[i].name_count ? set->images[i].name_count : 1;
    *names = calloc(total ? total : 1, sizeof **names);
    if (*names == NULL)
        return keel_error_set(err, ENOMEM, "export");
    size_t used = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct export_image *entry = &set->images[i];
        if (entry->name_count == 0)
            (*names)[used++] = (struct export_name){NULL, entry};
        for (size_t j = 0; j < entry->name_count; j++)
            (*names)[used++] = (struct export_name){entry->names[j], entry};
    }
    qsort(*names, used, sizeof **names, export_names_compare);
    *count = used;
    return 0;
}

static int export_strings_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tag of a normalised name: after the last ':' past the last '/'
 * ("localhost:5000/x:1" -> "1"); NULL when it has none. */
static const char *export_name_tag(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    return colon ? colon + 1 : NULL;
}

/* A JSON document as compact text; jansson keeps the keys in the order they
 * were set, which makes the bytes deterministic. */
static int export_json_dump(json_t *document, char **text, const char *what, struct keel_error *err)
{
    *text = document ? json_dumps(document, JSON_COMPACT) : NULL;
    json_decref(document);
    if (*text == NULL)
        return keel_error_set(err, ENOMEM, "write %s", what);
    return 0;
}

static int export_add_json(struct tar_writer *writer, const char *name, json_t *document,
                           struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    if (export_json_dump(document, &text, name, err) < 0)
        return -1;
    return tar_writer_add_bytes(writer, name, text, strlen(text), err);
}

/* A blob, as it is in the store, under name. */
static int export_add_blob(const struct store *store, struct tar_writer *writer,
                           const struct digest *digest, const char *name, struct keel_error *err)
{
    _cleanup_close_ int fd = store_blob_open(store, digest, err);
    if (fd < 0)
        return -1;
    struct stat status;
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "blob %s", digest->text);
    if (tar_writer_add_fd(writer, name, fd, (uint64_t)status.st_size, err) < 0)
        return keel_error_prefix(err, "blob %s", digest->text);
    return 0;
}

/* ---- OCI archive ---- */

static json_t *export_oci_index(const struct export_name *names, size_t count)
{
    json_t *manifests = json_array();
    for (size_t i = 0; i < count; i++) {
        const struct export_image *entry = names[i].image;
        json_t *descriptor = json_object();
        json_object_set_new(descriptor, "mediaType", json_string(entry->manifest_media_type));
        json_object_set_new(descriptor, "digest", json_string(entry->image.manifest_digest.text));
        json_object_set_new(descriptor, "size",
                            json_integer((json_int_t)entry->image.manifest_size));
        if (names[i].name) {
            json_t *annotations = json_object();
            const char *tag = export_name_tag(names[i].name);
            json_object_set_new(annotations, ANNOTATION_IMAGE_NAME, json_string(names[i].name));
            json_object_set_new(annotations, ANNOTATION_REF_NAME,
                                json_string(tag ? tag : "latest"));
            json_object_set_new(descriptor, "annotations", annotations);
        }
        json_array_append_new(manifests, descriptor);
    }
    json_t *index = json_object();
    json_object_set_new(index, "schemaVersion", json_integer(2));
    json_object_set_new(index, "mediaType", json_string(MEDIA_TYPE_OCI_INDEX));
    json_object_set_new(index, "manifests", manifests);
    return index;
}

static int export_digests_compare(const void *a, const void *b)
{
    return strcmp(((const struct digest *)a)->text, ((const struct digest *)b)->text);
}

/* Every blob the images reach (manifests, configs, layers), sorted, once. */
static int export_oci_blobs(const struct export_set *set, struct digest **blobs, size_t *count,
                            struct keel_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < set->count; i++)
        total += 2 + set->images[i].image.manifest.layer_count;
    *blobs = calloc(total, sizeof **blobs);
    if (*blobs == NULL)
        return keel_error_set(err, ENOMEM, "export");
    size_t used = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct image *image = &set->images[i].image;
        (*blobs)[used++] = image->manifest_digest;
        (*blobs)[used++] = image->manifest.config.digest;
        for (size_t j = 0; j < image->manifest.layer_count; j++)
            (*blobs)[used++] = image->manifest.layers[j].digest;
    }
    qsort(*blobs, used, sizeof **blobs, export_digests_compare);
    size_t unique = 0;
    for (size_t i = 0; i < used; i++)
        if (unique == 0 || !digest_equal(&(*blobs)[unique - 1], &(*blobs)[i]))
            (*blobs)[unique++] = (*blobs)[i];
    *count = unique;
    return 0;
}

static int export_oci(const struct store *store, const struct export_set *set,
                      const struct export_name *names, size_t name_count, struct tar_writer *writer,
                      struct keel_error *err)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    if (tar_writer_add_bytes(writer, "oci-layout", layout, sizeof layout - 1, err) < 0 ||
        export_add_json(writer, "index.json", export_oci_index(names, name_count), err) < 0 ||
        tar_writer_add_directory(writer, "blobs", err) < 0 ||
        tar_writer_add_directory(writer, "blobs/sha256", err) < 0)
        return -1;
    _cleanup_free_ struct digest *blobs = NULL;
    size_t count = 0;
    if (export_oci_blobs(set, &blobs, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        char name[sizeof "blobs/sha256/" + DIGEST_HEX_LENGTH];
        snprintf(name, sizeof name, "blobs/sha256/%s", digest_hex(&blobs[i]));
        if (export_add_blob(store, writer, &blobs[i], name, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- docker-archive ---- */

/* Something the docker-archive holds under a hex name: an image's config
 * ("<id>.json") or a layer ("<diff id>/layer.tar"). */
struct export_docker_item {
    const char *hex;
    bool layer; /* "<hex>.json" sorts before "<hex>/": configs first */
    const struct image *image;
    size_t layer_index;
};

static int export_docker_items_compare(const void *a, const void *b)
{
    const struct export_docker_item *left = a, *right = b;
    int order = strcmp(left->hex, right->hex);
    return order ? order : (int)left->layer - (int)right->layer;
}

typedef int export_chunk_fn(const void *data, size_t length, void *context, struct keel_error *err);

/* Feed a blob's content, decompressed (gzip, zstd, xz or none, found from
 * its magic), to chunk. */
static int export_blob_decompress(const struct store *store, const struct digest *blob,
                                  export_chunk_fn *chunk, void *context, struct keel_error *err)
{
    _cleanup_close_ int fd = store_blob_open(store, blob, err);
    if (fd < 0)
        return -1;
    _cleanup_free_ char *buffer = malloc(128 * 1024);
    struct archive *reader = archive_read_new();
    if (buffer == NULL || reader == NULL) {
        archive_read_free(reader);
        return keel_error_set(err, ENOMEM, "decompress blob %s", blob->text);
    }
    archive_read_support_filter_gzip(reader);
    archive_read_support_filter_zstd(reader);
    archive_read_support_filter_xz(reader);
    archive_read_support_format_raw(reader);
    struct archive_entry *entry;
    int result = 0;
    if (archive_read_open_fd(reader, fd, 128 * 1024) != ARCHIVE_OK ||
        archive_read_next_header(reader, &entry) != ARCHIVE_OK) {
        result = -1;
    } else {
        ssize_t got;
        while ((got = archive_read_data(reader, buffer, 128 * 1024)) > 0)
            if (chunk(buffer, (size_t)got, context, err) < 0) {
                archive_read_free(reader);
                return -1;
            }
        result = got < 0 ? -1 : 0;
    }
    if (result < 0) {
        const char *why = archive_error_string(reader);
        int errno_value = archive_errno(reader);
        keel_error_invalid(err, "decompress blob %s: %s", blob->text, why ? why : "unreadable");
        err->errno_value = errno_value > 0 ? errno_value : EIO;
    }
    archive_read_free(reader);
    return result;
}

struct export_layer_measure {
    struct digest_hasher hasher;
    uint64_t size;
};

static int export_layer_measure_chunk(const void *data, size_t length, void *context,
                                      struct keel_error *err)
{
    (void)err;
    struct export_layer_measure *measure = context;
    digest_hasher_update(&measure->hasher, data, length);
    measure->size += length;
    return 0;
}

struct export_layer_copy {
    struct tar_writer *writer;
    uint64_t remaining;
};

static int export_layer_copy_chunk(const void *data, size_t length, void *context,
                                   struct keel_error *err)
{
    struct export_layer_copy *copy = context;
    if (length > copy->remaining) {
        keel_error_invalid(err, "decompressed to more bytes than before");
        err->errno_value = EIO;
        return -1;
    }
    copy->remaining -= length;
    return tar_writer_write_data(copy->writer, data, length, err);
}

/* A layer as "<diff id>/layer.tar", uncompressed. A compressed blob is read
 * twice: once to learn the size the tar header needs (and to check the diff
 * id), once to copy; nothing is staged on disk. */
static int export_docker_layer(const struct store *store, struct tar_writer *writer,
                               const struct image *image, size_t index, struct keel_error *err)
{
    const struct digest *blob = &image->manifest.layers[index].digest;
    const struct digest *diff_id = &image->config.diff_ids[index];
    char name[DIGEST_HEX_LENGTH + sizeof "/layer.tar"];
    snprintf(name, sizeof name, "%s/layer.tar", digest_hex(diff_id));
    if (tar_writer_add_directory(writer, digest_hex(diff_id), err) < 0)
        return -1;
    /* An uncompressed layer is its own diff id: copied as it is. */
    if (digest_equal(blob, diff_id))
        return export_add_blob(store, writer, blob, name, err);

    struct export_layer_measure measure = {.size = 0};
    struct digest actual;
    digest_hasher_init(&measure.hasher);
    if (export_blob_decompress(store, blob, export_layer_measure_chunk, &measure, err) < 0)
        return keel_error_prefix(err, "layer %zu (%s)", index + 1, blob->text);
    digest_hasher_finish(&measure.hasher, &actual);
    if (!digest_equal(&actual, diff_id))
        return keel_error_invalid(
            err, "layer %zu (%s): uncompressed content has digest %s, expected diff id %s",
            index + 1, blob->text, actual.text, diff_id->text);
    struct export_layer_copy copy = {.writer = writer, .remaining = measure.size};
    if (tar_writer_begin_file(writer, name, measure.size, err) < 0 ||
        export_blob_decompress(store, blob, export_layer_copy_chunk, &copy, err) < 0)
        return keel_error_prefix(err, "layer %zu (%s)", index + 1, blob->text);
    if (copy.remaining != 0) {
        keel_error_invalid(err, "layer %zu (%s): decompressed to fewer bytes than before",
                           index + 1, blob->text);
        err->errno_value = EIO;
        return -1;
    }
    return tar_writer_end_file(writer, err);
}

static int export_docker_files(const struct store *store, const struct export_set *set,
                               struct tar_writer *writer, struct keel_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < set->count; i++)
        total += 1 + set->images[i].image.config.diff_id_count;
    _cleanup_free_ struct export_docker_item *items = calloc(total, sizeof *items);
    if (items == NULL)
        return keel_error_set(err, ENOMEM, "export");
    size_t used = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct image *image = &set->images[i].image;
        items[used++] = (struct export_docker_item){digest_hex(&image->id), false, image, 0};
        for (size_t j = 0; j < image->config.diff_id_count; j++)
            items[used++] =
                (struct export_docker_item){digest_hex(&image->config.diff_ids[j]), true, image, j};
    }
    qsort(items, used, sizeof *items, export_docker_items_compare);
    for (size_t i = 0; i < used; i++) {
        if (i > 0 && export_docker_items_compare(&items[i - 1], &items[i]) == 0)
            continue; /* a layer two images (or one, twice) share */
        const struct image *image = items[i].image;
        if (items[i].layer) {
            if (export_docker_layer(store, writer, image, items[i].layer_index, err) < 0)
                return -1;
            continue;
        }
        char name[DIGEST_HEX_LENGTH + sizeof ".json"];
        snprintf(name, sizeof name, "%s.json", items[i].hex);
        if (export_add_blob(store, writer, &image->manifest.config.digest, name, err) < 0)
            return -1;
    }
    return 0;
}

/* manifest.json: one object per image, in the order of the sorted names. */
static json_t *export_docker_manifest(const struct export_name *names, size_t count)
{
    json_t *manifest = json_array();
    for (size_t i = 0; i < count; i++) {
        const struct export_image *entry = names[i].image;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = names[j].image == entry;
        if (seen)
            continue;
        char config[DIGEST_HEX_LENGTH + sizeof ".json"];
        snprintf(config, sizeof config, "%s.json", digest_hex(&entry->image.id));
        json_t *tags = json_array();
        for (size_t j = 0; j < entry->name_count; j++)
            json_array_append_new(tags, json_string(entry->names[j]));
        json_t *layers = json_array();
        for (size_t j = 0; j < entry->image.config.diff_id_count; j++) {
            char layer[DIGEST_HEX_LENGTH + sizeof "/layer.tar"];
            snprintf(layer, sizeof layer, "%s/layer.tar",
                     digest_hex(&entry->image.config.diff_ids[j]));
            json_array_append_new(layers, json_string(layer));
        }
        json_t *object = json_object();
        json_object_set_new(object, "Config", json_string(config));
        json_object_set_new(object, "RepoTags", tags);
        json_object_set_new(object, "Layers", layers);
        json_array_append_new(manifest, object);
    }
    return manifest;
}

/* repositories: {"REPOSITORY":{"TAG":"ID HEX"}}, the legacy file docker load
 * still reads for names. */
static json_t *export_docker_repositories(const struct export_name *names, size_t count)
{
    json_t *repositories = json_object();
    for (size_t i = 0; i < count; i++) {
        const char *tag = names[i].name ? export_name_tag(names[i].name) : NULL;
        if (tag == NULL)
            continue;
        char *repository = strndup(names[i].name, (size_t)(tag - 1 - names[i].name));
        if (repository == NULL)
            continue;
        json_t *tags = json_object_get(repositories, repository);
        if (tags == NULL) {
            tags = json_object();
            json_object_set_new(repositories, repository, tags);
        }
        json_object_set_new(tags, tag, json_string(digest_hex(&names[i].image->image.id)));
        free(repository);
    }
    return repositories;
}

static int export_docker(const struct store *store, const struct export_set *set,
                         const struct export_name *names, size_t name_count,
                         struct tar_writer *writer, struct keel_error *err)
{
    /* Hex names sort before "manifest.json" and "repositories". */
    if (export_docker_files(store, set, writer, err) < 0 ||
        export_add_json(writer, "manifest.json", export_docker_manifest(names, name_count), err) <
            0)
        return -1;
    json_t *repositories = export_docker_repositories(names, name_count);
    if (json_object_size(repositories) == 0) {
        json_decref(repositories);
        return 0;
    }
    return export_add_json(writer, "repositories", repositories, err);
}

int image_export(const struct store *store, const char *const *references, size_t count,
                 enum image_archive_format format, int output_fd, struct keel_error *err)
{
    if (count == 0)
        return keel_error_invalid(err, "export: no image named");
    struct export_set set = {0};
    _cleanup_free_ struct export_name *names = NULL;
    size_t name_count = 0;
    int result = 0;
    for (size_t i = 0; i < count && result == 0; i++)
        result = export_set_add(&set, store, references[i], err);
    for (size_t i = 0; i < set.count; i++)
        if (set.images[i].name_count > 1)
            qsort(set.images[i].names, set.images[i].name_count, sizeof *set.images[i].names,
                  export_strings_compare);
    if (result == 0)
        result = export_set_names(&set, &names, &name_count, err);
    if (result == 0) {
        struct tar_writer writer;
        tar_writer_init(&writer, output_fd);
        result = format == IMAGE_ARCHIVE_DOCKER
                     ? export_docker(store, &set, names, name_count, &writer, err)
                     : export_oci(store, &set, names, name_count, &writer, err);
        if (result == 0)
            result = tar_writer_finish(&writer, err);
    }
    export_set_free(&set);
    return result;
}
