/* image_import_oci.c — an OCI archive's images: index.json followed, named, blobs checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "image_import_internal.h"

/* The archive's file for a descriptor's blob, which must hold exactly what
 * the descriptor says: a blob is stored under its own digest whatever its
 * name, so a file misnamed or cut short shows here. */
static int oci_check_blob(const struct image_import_archive *archive,
                          const struct image_descriptor *descriptor,
                          const struct image_import_file **file, struct keel_error *err)
{
    char path[sizeof "blobs/sha256/" + DIGEST_HEX_LENGTH];
    snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(&descriptor->digest));
    *file = image_import_archive_find(archive, path);
    if (*file == NULL || (*file)->data != NULL)
        return keel_error_invalid(err, "blob %s: not in the archive", path);
    if (!digest_equal(&(*file)->digest, &descriptor->digest))
        return keel_error_invalid(err, "blob %s: content has digest %s", path,
                                  (*file)->digest.text);
    if ((*file)->size != descriptor->size)
        return keel_error_invalid(err, "blob %s: size is %llu bytes, its descriptor says %llu",
                                  path, (unsigned long long)(*file)->size,
                                  (unsigned long long)descriptor->size);
    return 0;
}

static int oci_read_blob(struct store *store, const struct image_import_archive *archive,
                         const struct image_descriptor *descriptor, char **text, size_t *length,
                         struct keel_error *err)
{
    const struct image_import_file *file;
    if (oci_check_blob(archive, descriptor, &file, err) < 0)
        return -1;
    return image_import_archive_read(store, file, IMAGE_IMPORT_DOCUMENT_MAX, text, length, err);
}

/* Follow descriptor down to an image manifest: an index gives its
 * linux/amd64 entry, nested up to IMAGE_IMPORT_INDEX_DEPTH_MAX deep. The
 * manifest's config and layers must be in the archive, intact. */
static int oci_resolve(struct store *store, const struct image_import_archive *archive,
                       const struct image_descriptor *descriptor, unsigned depth,
                       struct image_import_image *image, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length;
    if (oci_read_blob(store, archive, descriptor, &text, &length, err) < 0)
        return -1;

    if (descriptor->media_type != NULL && image_media_type_is_index(descriptor->media_type)) {
        if (depth == IMAGE_IMPORT_INDEX_DEPTH_MAX)
            return keel_error_invalid(err, "index %s: indexes nested more than %d deep",
                                      descriptor->digest.text, IMAGE_IMPORT_INDEX_DEPTH_MAX);
        struct image_index index = {0};
        size_t position;
        int r = image_index_parse(text, length, &index, err);
        if (r == 0)
            r = image_index_pick_platform(&index, &position, err);
        if (r < 0) {
            image_index_free(&index);
            return keel_error_prefix(err, "index %s", descriptor->digest.text);
        }
        r = oci_resolve(store, archive, &index.manifests[position], depth + 1, image, err);
        image_index_free(&index);
        return r;
    }
    if (descriptor->media_type != NULL && !image_media_type_is_manifest(descriptor->media_type))
        return keel_error_invalid(err, "%s: media type \"%s\" is not an image's",
                                  descriptor->digest.text, descriptor->media_type);

    if (image_manifest_parse(text, length, &image->manifest, err) < 0)
        return keel_error_prefix(err, "manifest %s", descriptor->digest.text);
    image->manifest_digest = descriptor->digest;
    image->manifest_size = descriptor->size;
    const struct image_import_file *file;
    if (oci_check_blob(archive, &image->manifest.config, &file, err) < 0)
        return keel_error_prefix(err, "manifest %s: config", descriptor->digest.text);
    for (size_t i = 0; i < image->manifest.layer_count; i++)
        if (oci_check_blob(archive, &image->manifest.layers[i], &file, err) < 0)
            return keel_error_prefix(err, "manifest %s: layer %zu", descriptor->digest.text, i + 1);
    return 0;
}

/* containerd's annotation holds the full name; ref.name is a full name
 * (skopeo's "busybox:1") or, as the OCI spec has it, a bare tag, which
 * names the image only with the name the caller gives. */
static int oci_entry_name(const struct image_descriptor *entry, const char *default_name,
                          char **name, struct keel_error *err)
{
    *name = NULL;
    if (entry->image_name != NULL)
        return image_reference_normalize(entry->image_name, name, err);
    if (entry->ref_name != NULL && strpbrk(entry->ref_name, ":/") != NULL)
        return image_reference_normalize(entry->ref_name, name, err);
    return image_import_default_name(default_name, entry->ref_name, name, err);
}

int image_import_oci_plan(struct store *store, const struct image_import_archive *archive,
                          const char *default_name, struct image_import_plan *plan,
                          struct keel_error *err)
{
    const struct image_import_file *file = image_import_archive_find(archive, "index.json");
    _cleanup_free_ char *text = NULL;
    size_t length;
    struct image_index index = {0};
    if (file == NULL)
        return keel_error_set(err, ENOENT, "index.json: not in the archive");
    if (image_import_archive_read(store, file, IMAGE_IMPORT_DOCUMENT_MAX, &text, &length, err) <
            0 ||
        image_index_parse(text, length, &index, err) < 0)
        return keel_error_prefix(err, "index.json");

    int r = 0;
    for (size_t i = 0; i < index.count && r == 0; i++) {
        const struct image_descriptor *entry = &index.manifests[i];
        struct image_import_image image = {0};
        char *name = NULL;
        r = oci_entry_name(entry, default_name, &name, err);
        if (r == 0)
            r = image_import_image_add_name(&image, name, err);
        if (r == 0)
            r = oci_resolve(store, archive, entry, 0, &image, err);
        if (r == 0)
            r = image_import_plan_add(plan, &image, err);
        if (r < 0) {
            keel_error_prefix(err, "index.json: image %zu", i + 1);
            image_import_image_free(&image);
        }
    }
    image_index_free(&index);
    return r;
}
