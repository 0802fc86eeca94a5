/* image_import_docker.c — a docker-archive's images: named, given an OCI manifest. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "image_import_internal.h"

static void docker_json_release(json_t **json)
{
    json_decref(*json);
}

#define _cleanup_json_ __attribute__((cleanup(docker_json_release)))

/* A docker-archive does not say how its layers are compressed: their first
 * bytes do. */
static const char *docker_layer_media_type(const struct image_import_file *file)
{
    static const unsigned char gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    if (file->magic_length >= sizeof gzip && memcmp(file->magic, gzip, sizeof gzip) == 0)
        return MEDIA_TYPE_OCI_LAYER_GZIP;
    if (file->magic_length >= sizeof zstd && memcmp(file->magic, zstd, sizeof zstd) == 0)
        return MEDIA_TYPE_OCI_LAYER_ZSTD;
    return MEDIA_TYPE_OCI_LAYER;
}

static int docker_descriptor(const struct image_import_archive *archive, const char *path,
                             const char *media_type, struct image_descriptor *descriptor,
                             struct keel_error *err)
{
    const struct image_import_file *file;
    if (image_import_archive_blob(archive, path, &file, err) < 0)
        return -1;
    descriptor->media_type = strdup(media_type ? media_type : docker_layer_media_type(file));
    if (descriptor->media_type == NULL)
        return keel_error_set(err, ENOMEM, "describe %s", path);
    descriptor->digest = file->digest;
    descriptor->size = file->size;
    return 0;
}

static int docker_names(const json_t *entry, const char *default_name,
                        struct image_import_image *image, struct keel_error *err)
{
    const json_t *tags = json_object_get(entry, "RepoTags");
    if (tags != NULL && !json_is_null(tags) && !json_is_array(tags))
        return keel_error_invalid(err, "RepoTags: not an array");
    size_t i;
    const json_t *tag;
    json_array_foreach(tags, i, tag)
    {
        char *name;
        if (!json_is_string(tag))
            return keel_error_invalid(err, "RepoTags[%zu]: not a string", i);
        if (image_reference_normalize(json_string_value(tag), &name, err) < 0 ||
            image_import_image_add_name(image, name, err) < 0)
            return keel_error_prefix(err, "RepoTags[%zu]", i);
    }
    if (image->name_count > 0)
        return 0;
    char *name;
    if (image_import_default_name(default_name, NULL, &name, err) < 0)
        return -1;
    return image_import_image_add_name(image, name, err);
}

/* The OCI manifest of one manifest.json entry, its config and layers the
 * blobs its paths name, stored as a blob of its own. */
static int docker_manifest(struct store *store, const struct image_import_archive *archive,
                           const json_t *entry, struct image_import_image *image,
                           struct keel_error *err)
{
    const char *config = json_string_value(json_object_get(entry, "Config"));
    const json_t *layers = json_object_get(entry, "Layers");
    if (config == NULL)
        return keel_error_invalid(err, "Config: missing or not a string");
    if (!json_is_array(layers))
        return keel_error_invalid(err, "Layers: missing or not an array");
    if (docker_descriptor(archive, config, MEDIA_TYPE_OCI_CONFIG, &image->manifest.config, err) < 0)
        return keel_error_prefix(err, "Config");

    size_t count = json_array_size(layers);
    image->manifest.layers = calloc(count + 1, sizeof *image->manifest.layers);
    if (image->manifest.layers == NULL)
        return keel_error_set(err, ENOMEM, "Layers");
    for (size_t i = 0; i < count; i++) {
        const char *path = json_string_value(json_array_get(layers, i));
        if (path == NULL)
            return keel_error_invalid(err, "Layers[%zu]: not a string", i);
        if (docker_descriptor(archive, path, NULL, &image->manifest.layers[i], err) < 0)
            return keel_error_prefix(err, "Layers[%zu]", i);
        image->manifest.layer_count++;
    }

    _cleanup_free_ char *text = NULL;
    size_t length;
    if (image_manifest_serialize(&image->manifest, &text, &length, err) < 0 ||
        store_blob_put(store, text, length, &image->manifest_digest, err) < 0)
        return keel_error_prefix(err, "store the image's manifest");
    image->manifest_size = length;
    return 0;
}

int image_import_docker_plan(struct store *store, const struct image_import_archive *archive,
                             const char *default_name, struct image_import_plan *plan,
                             struct keel_error *err)
{
    const struct image_import_file *file = image_import_archive_find(archive, "manifest.json");
    _cleanup_free_ char *text = NULL;
    size_t length;
    if (file == NULL)
        return keel_error_set(err, ENOENT, "manifest.json: not in the archive");
    if (image_import_archive_read(store, file, IMAGE_IMPORT_DOCUMENT_MAX, &text, &length, err) < 0)
        return keel_error_prefix(err, "manifest.json");

    json_error_t json_error;
    _cleanup_json_ json_t *entries = json_loadb(text, length, 0, &json_error);
    if (entries == NULL)
        return keel_error_invalid(err, "manifest.json: line %d: %s", json_error.line,
                                  json_error.text);
    if (!json_is_array(entries))
        return keel_error_invalid(err, "manifest.json: not an array");

    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry)
    {
        struct image_import_image image = {0};
        int r = json_is_object(entry) ? 0 : keel_error_invalid(err, "not an object");
        if (r == 0)
            r = docker_names(entry, default_name, &image, err);
        if (r == 0)
            r = docker_manifest(store, archive, entry, &image, err);
        if (r == 0)
            r = image_import_plan_add(plan, &image, err);
        if (r < 0) {
            image_import_image_free(&image);
            return keel_error_prefix(err, "manifest.json[%zu]", i);
        }
    }
    return 0;
}
