/* image_manifest.c — OCI and Docker manifests and indexes: parsed, checked, written as OCI. */
#include "image_manifest.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_path.h"

/* A manifest or index is a few KiB; more is a mistake or an attack. */
#define IMAGE_MANIFEST_SIZE_MAX (4u << 20)

/* Docker's zstd layer type: not in the distribution spec's list, but
 * written by BuildKit and read by Docker. */
#define MEDIA_TYPE_DOCKER_LAYER_ZSTD "application/vnd.docker.image.rootfs.diff.tar.zstd"

bool image_media_type_is_index(const char *media_type)
{
    return strcmp(media_type, MEDIA_TYPE_OCI_INDEX) == 0 ||
           strcmp(media_type, MEDIA_TYPE_DOCKER_LIST) == 0;
}

bool image_media_type_is_manifest(const char *media_type)
{
    return strcmp(media_type, MEDIA_TYPE_OCI_MANIFEST) == 0 ||
           strcmp(media_type, MEDIA_TYPE_DOCKER_MANIFEST) == 0;
}

bool image_media_type_is_layer(const char *media_type)
{
    static const char *const layer_types[] = {
        MEDIA_TYPE_OCI_LAYER,    MEDIA_TYPE_OCI_LAYER_GZIP,    MEDIA_TYPE_OCI_LAYER_ZSTD,
        MEDIA_TYPE_DOCKER_LAYER, MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_DOCKER_LAYER_ZSTD,
    };
    for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
        if (strcmp(media_type, layer_types[i]) == 0)
            return true;
    return false;
}

/* Layers whose content is to be fetched from elsewhere (Windows base
 * layers): an archive cannot hold them, so an image using one is refused
 * by name rather than as an unknown type. */
static bool media_type_is_non_distributable(const char *media_type)
{
    return strstr(media_type, ".foreign.") != NULL ||
           strstr(media_type, ".nondistributable.") != NULL;
}

static bool media_type_is_config(const char *media_type)
{
    return strcmp(media_type, MEDIA_TYPE_OCI_CONFIG) == 0 ||
           strcmp(media_type, MEDIA_TYPE_DOCKER_CONFIG) == 0;
}

void image_descriptor_free(struct image_descriptor *descriptor)
{
    free(descriptor->media_type);
    free(descriptor->os);
    free(descriptor->architecture);
    free(descriptor->variant);
    free(descriptor->image_name);
    free(descriptor->ref_name);
    memset(descriptor, 0, sizeof *descriptor);
}

/* An index entry's platform and naming annotations. */
static int parse_index_entry_extras(json_t *object, const char *path,
                                    struct image_descriptor *descriptor, struct keel_error *err)
{
    char member_path[JSON_PATH_MAX];
    json_t *platform = NULL, *annotations = NULL;
    int found;

    found = json_path_get_object(object, path, "platform", JSON_PATH_OPTIONAL, &platform, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        json_path_member(member_path, path, "platform");
        if (json_path_get_string(platform, member_path, "os", JSON_PATH_OPTIONAL, &descriptor->os,
                                 err) < 0 ||
            json_path_get_string(platform, member_path, "architecture", JSON_PATH_OPTIONAL,
                                 &descriptor->architecture, err) < 0 ||
            json_path_get_string(platform, member_path, "variant", JSON_PATH_OPTIONAL,
                                 &descriptor->variant, err) < 0)
            return -1;
    }
    found =
        json_path_get_object(object, path, "annotations", JSON_PATH_OPTIONAL, &annotations, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        json_path_member(member_path, path, "annotations");
        if (json_path_get_string(annotations, member_path, ANNOTATION_IMAGE_NAME,
                                 JSON_PATH_OPTIONAL, &descriptor->image_name, err) < 0 ||
            json_path_get_string(annotations, member_path, ANNOTATION_REF_NAME, JSON_PATH_OPTIONAL,
                                 &descriptor->ref_name, err) < 0)
            return -1;
    }
    return 0;
}

/* A descriptor at path: mediaType, digest and size required. */
static int parse_descriptor(json_t *value, const char *path, bool index_entry,
                            struct image_descriptor *descriptor, struct keel_error *err)
{
    char member_path[JSON_PATH_MAX];
    json_t *member = NULL;

    memset(descriptor, 0, sizeof *descriptor);
    if (json_path_expect_object(value, path, err) < 0)
        goto fail;
    if (json_path_get_string(value, path, "mediaType", JSON_PATH_REQUIRED, &descriptor->media_type,
                             err) < 0)
        goto fail;
    if (json_path_get(value, path, "digest", JSON_PATH_REQUIRED, &member, err) < 0)
        goto fail;
    json_path_member(member_path, path, "digest");
    if (json_path_read_digest(member, member_path, &descriptor->digest, err) < 0)
        goto fail;
    if (json_path_get(value, path, "size", JSON_PATH_REQUIRED, &member, err) < 0)
        goto fail;
    json_path_member(member_path, path, "size");
    if (json_path_read_size(member, member_path, &descriptor->size, err) < 0)
        goto fail;
    if (index_entry && parse_index_entry_extras(value, path, descriptor, err) < 0)
        goto fail;
    return 0;

fail:
    image_descriptor_free(descriptor);
    return -1;
}

static int check_schema_version(json_t *root, enum json_path_presence presence,
                                struct keel_error *err)
{
    json_t *value = NULL;
    int found = json_path_get(root, "", "schemaVersion", presence, &value, err);

    if (found <= 0)
        return found;
    if (!json_is_integer(value))
        return keel_error_invalid(err, "schemaVersion: expected an integer");
    if (json_integer_value(value) == 1)
        return keel_error_invalid(err, "schemaVersion 1 manifests are not supported");
    if (json_integer_value(value) != 2)
        return keel_error_invalid(err, "schemaVersion: expected 2, got %lld",
                                  (long long)json_integer_value(value));
    return 0;
}

static int check_manifest_media_type(json_t *root, struct keel_error *err)
{
    _cleanup_free_ char *media_type = NULL;

    if (json_path_get_string(root, "", "mediaType", JSON_PATH_OPTIONAL, &media_type, err) < 0)
        return -1;
    if (media_type == NULL || image_media_type_is_manifest(media_type))
        return 0;
    if (image_media_type_is_index(media_type))
        return keel_error_invalid(err, "mediaType: \"%s\" is an image index, not a manifest",
                                  media_type);
    return keel_error_invalid(err, "mediaType: \"%s\" is not an image manifest", media_type);
}

static int check_layer_media_type(const char *media_type, const char *path, struct keel_error *err)
{
    if (image_media_type_is_layer(media_type))
        return 0;
    if (media_type_is_non_distributable(media_type))
        return keel_error_invalid(
            err, "%s.mediaType: non-distributable layer \"%s\" is not supported", path, media_type);
    return keel_error_invalid(err, "%s.mediaType: \"%s\" is not a layer media type", path,
                              media_type);
}

static int parse_manifest_layers(json_t *root, struct image_manifest *manifest,
                                 struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *layers = NULL;

    if (json_path_get(root, "", "layers", JSON_PATH_REQUIRED, &layers, err) < 0 ||
        json_path_expect_array(layers, "layers", err) < 0)
        return -1;
    size_t count = json_array_size(layers);
    /* One spare slot: calloc(0) may return NULL. */
    manifest->layers = calloc(count + 1, sizeof *manifest->layers);
    if (manifest->layers == NULL)
        return keel_error_set(err, ENOMEM, "layers");
    for (size_t i = 0; i < count; i++) {
        json_path_element(path, "layers", i);
        if (parse_descriptor(json_array_get(layers, i), path, false, &manifest->layers[i], err) < 0)
            return -1;
        manifest->layer_count++;
        if (check_layer_media_type(manifest->layers[i].media_type, path, err) < 0)
            return -1;
    }
    return 0;
}

int image_manifest_parse(const char *text, size_t length, struct image_manifest *manifest,
                         struct keel_error *err)
{
    json_t *root = NULL;
    json_t *config = NULL;

    memset(manifest, 0, sizeof *manifest);
    if (json_path_decode(text, length, IMAGE_MANIFEST_SIZE_MAX, &root, err) < 0)
        return -1;
    if (check_schema_version(root, JSON_PATH_REQUIRED, err) < 0 ||
        check_manifest_media_type(root, err) < 0 ||
        json_path_get(root, "", "config", JSON_PATH_REQUIRED, &config, err) < 0 ||
        parse_descriptor(config, "config", false, &manifest->config, err) < 0)
        goto fail;
    if (!media_type_is_config(manifest->config.media_type)) {
        keel_error_invalid(err, "config.mediaType: \"%s\" is not an image config",
                           manifest->config.media_type);
        goto fail;
    }
    if (parse_manifest_layers(root, manifest, err) < 0)
        goto fail;
    json_decref(root);
    return 0;

fail:
    json_decref(root);
    image_manifest_free(manifest);
    return -1;
}

void image_manifest_free(struct image_manifest *manifest)
{
    image_descriptor_free(&manifest->config);
    for (size_t i = 0; i < manifest->layer_count; i++)
        image_descriptor_free(&manifest->layers[i]);
    free(manifest->layers);
    memset(manifest, 0, sizeof *manifest);
}

static int check_index_media_type(json_t *root, struct keel_error *err)
{
    _cleanup_free_ char *media_type = NULL;

    if (json_path_get_string(root, "", "mediaType", JSON_PATH_OPTIONAL, &media_type, err) < 0)
        return -1;
    if (media_type == NULL || image_media_type_is_index(media_type))
        return 0;
    if (image_media_type_is_manifest(media_type))
        return keel_error_invalid(err, "mediaType: \"%s\" is an image manifest, not an index",
                                  media_type);
    return keel_error_invalid(err, "mediaType: \"%s\" is not an image index", media_type);
}

int image_index_parse(const char *text, size_t length, struct image_index *index,
                      struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *root = NULL;
    json_t *manifests = NULL;

    memset(index, 0, sizeof *index);
    if (json_path_decode(text, length, IMAGE_MANIFEST_SIZE_MAX, &root, err) < 0)
        return -1;
    /* Required by the spec, but an index.json written by hand often lacks
     * it, and nothing else could be meant. */
    if (check_schema_version(root, JSON_PATH_OPTIONAL, err) < 0 ||
        check_index_media_type(root, err) < 0 ||
        json_path_get(root, "", "manifests", JSON_PATH_REQUIRED, &manifests, err) < 0 ||
        json_path_expect_array(manifests, "manifests", err) < 0)
        goto fail;
    size_t count = json_array_size(manifests);
    index->manifests = calloc(count + 1, sizeof *index->manifests);
    if (index->manifests == NULL) {
        keel_error_set(err, ENOMEM, "manifests");
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        json_path_element(path, "manifests", i);
        if (parse_descriptor(json_array_get(manifests, i), path, true, &index->manifests[i], err) <
            0)
            goto fail;
        index->count++;
    }
    json_decref(root);
    return 0;

fail:
    json_decref(root);
    image_index_free(index);
    return -1;
}

void image_index_free(struct image_index *index)
{
    for (size_t i = 0; i < index->count; i++)
        image_descriptor_free(&index->manifests[i]);
    free(index->manifests);
    memset(index, 0, sizeof *index);
}

/* "linux/arm/v7", or "unknown" for an entry without a platform. */
static void describe_platform(const struct image_descriptor *entry, char *text, size_t size)
{
    if (entry->os == NULL && entry->architecture == NULL) {
        snprintf(text, size, "unknown");
        return;
    }
    snprintf(text, size, "%s/%s%s%s", entry->os ? entry->os : "?",
             entry->architecture ? entry->architecture : "?", entry->variant ? "/" : "",
             entry->variant ? entry->variant : "");
}

int image_index_pick_platform(const struct image_index *index, size_t *position,
                              struct keel_error *err)
{
    bool any_platform = false;

    for (size_t i = 0; i < index->count; i++) {
        const struct image_descriptor *entry = &index->manifests[i];
        if (entry->os != NULL || entry->architecture != NULL)
            any_platform = true;
        if (entry->os != NULL && entry->architecture != NULL && strcmp(entry->os, "linux") == 0 &&
            strcmp(entry->architecture, "amd64") == 0) {
            *position = i;
            return 0;
        }
    }
    /* A single-image index (what most OCI archives hold) need not say. */
    if (!any_platform && index->count == 1) {
        *position = 0;
        return 0;
    }
    if (index->count == 0) {
        keel_error_invalid(err, "no linux/amd64 image in the index (it is empty)");
        err->errno_value = ENOENT;
        return -1;
    }

    /* A long list is cut: the message must still fit. */
    char offered[KEEL_ERROR_MESSAGE_MAX - 64] = "";
    size_t used = 0;
    for (size_t i = 0; i < index->count && used < sizeof offered; i++) {
        char platform[128];
        describe_platform(&index->manifests[i], platform, sizeof platform);
        int written =
            snprintf(offered + used, sizeof offered - used, "%s%s", i > 0 ? ", " : "", platform);
        if (written < 0)
            break;
        used += (size_t)written;
    }
    keel_error_invalid(err, "no linux/amd64 image in the index (offered: %s)", offered);
    err->errno_value = ENOENT;
    return -1;
}

static int check_serializable(const struct image_descriptor *descriptor, const char *path,
                              struct keel_error *err)
{
    if (descriptor->media_type == NULL)
        return keel_error_invalid(err, "%s: no media type", path);
    if (descriptor->size > INT64_MAX)
        return keel_error_invalid(err, "%s: size %llu is too large", path,
                                  (unsigned long long)descriptor->size);
    return 0;
}

static json_t *descriptor_to_json(const struct image_descriptor *descriptor)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", descriptor->media_type, "digest",
                     descriptor->digest.text, "size", (json_int_t)descriptor->size);
}

int image_manifest_serialize(const struct image_manifest *manifest, char **text, size_t *length,
                             struct keel_error *err)
{
    char path[JSON_PATH_MAX];

    if (check_serializable(&manifest->config, "config", err) < 0)
        return keel_error_prefix(err, "serialize manifest");
    for (size_t i = 0; i < manifest->layer_count; i++) {
        json_path_element(path, "layers", i);
        if (check_serializable(&manifest->layers[i], path, err) < 0)
            return keel_error_prefix(err, "serialize manifest");
    }

    /* Each *_set_new and *_append_new takes its value even when it fails
     * (a NULL container included), so nothing leaks on ENOMEM. Jansson keeps
     * an object's keys in insertion order: this order is the canonical one. */
    json_t *root = json_object();
    json_t *layers = json_array();
    int failed = json_object_set_new(root, "schemaVersion", json_integer(2));
    failed |= json_object_set_new(root, "mediaType", json_string(MEDIA_TYPE_OCI_MANIFEST));
    failed |= json_object_set_new(root, "config", descriptor_to_json(&manifest->config));
    for (size_t i = 0; i < manifest->layer_count; i++)
        failed |= json_array_append_new(layers, descriptor_to_json(&manifest->layers[i]));
    failed |= json_object_set_new(root, "layers", layers);
    char *dumped = failed ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (dumped == NULL)
        return keel_error_set(err, ENOMEM, "serialize manifest");
    *text = dumped;
    *length = strlen(dumped);
    return 0;
}
