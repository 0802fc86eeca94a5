/* image.c — images in a store: an entry's manifest and config read; lookup by name or id. */
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_path.h"

/* The limits image_manifest_parse and image_config_parse apply. */
#define IMAGE_MANIFEST_READ_MAX (4u << 20)
#define IMAGE_CONFIG_READ_MAX (16u << 20)

/* Docker's shortest accepted id prefix is 1 digit; 4 keeps a typo from
 * matching by chance in a store of a few hundred images. */
#define IMAGE_ID_PREFIX_MIN 4

void image_free(struct image *image)
{
    json_path_strings_free(image->names);
    image_manifest_free(&image->manifest);
    image_config_free(&image->config);
    free(image->chain_ids);
    memset(image, 0, sizeof *image);
}

void image_list_free(struct image *images, size_t count)
{
    if (images == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        image_free(&images[i]);
    free(images);
}

static int read_manifest(const struct store *store, const struct digest *digest,
                         uint64_t expected_size, struct image_manifest *manifest, uint64_t *size,
                         struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length = 0;

    if (store_blob_read(store, digest, IMAGE_MANIFEST_READ_MAX, &text, &length, err) < 0)
        return keel_error_prefix(err, "manifest %s", digest->text);
    if (expected_size != 0 && length != expected_size)
        return keel_error_invalid(err, "manifest %s: %zu bytes, the index says %llu", digest->text,
                                  length, (unsigned long long)expected_size);
    if (image_manifest_parse(text, length, manifest, err) < 0)
        return keel_error_prefix(err, "manifest %s", digest->text);
    *size = length;
    return 0;
}

static int read_config(const struct store *store, const struct image_descriptor *descriptor,
                       struct image_config *config, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length = 0;

    /* The store checked the digest when the blob was written. */
    if (store_blob_read(store, &descriptor->digest, IMAGE_CONFIG_READ_MAX, &text, &length, err) < 0)
        return keel_error_prefix(err, "config %s", descriptor->digest.text);
    if (length != descriptor->size)
        return keel_error_invalid(err, "config %s: %zu bytes, the manifest says %llu",
                                  descriptor->digest.text, length,
                                  (unsigned long long)descriptor->size);
    if (image_config_parse(text, length, config, err) < 0)
        return keel_error_prefix(err, "config %s", descriptor->digest.text);
    return 0;
}

int image_read(const struct store *store, const struct digest *manifest, uint64_t manifest_size,
               struct image *image, struct keel_error *err)
{
    memset(image, 0, sizeof *image);
    image->manifest_digest = *manifest;
    if (read_manifest(store, manifest, manifest_size, &image->manifest, &image->manifest_size,
                      err) < 0 ||
        read_config(store, &image->manifest.config, &image->config, err) < 0)
        goto fail;
    size_t count = image->manifest.layer_count;
    if (image->config.diff_id_count != count) {
        keel_error_invalid(err, "config has %zu diff ids for %zu layers",
                           image->config.diff_id_count, count);
        goto fail;
    }
    image->names = calloc(1, sizeof *image->names);
    image->chain_ids = calloc(count + 1, sizeof *image->chain_ids);
    if (image->names == NULL || image->chain_ids == NULL) {
        keel_error_set(err, ENOMEM, "image %s", manifest->text);
        goto fail;
    }
    image_chain_ids(image->config.diff_ids, count, image->chain_ids);
    image->id = image->manifest.config.digest;
    image->size = image->manifest.config.size;
    for (size_t i = 0; i < count; i++)
        image->size += image->manifest.layers[i].size;
    return 0;

fail:
    image_free(image);
    return -1;
}

/* The first entry of the index for its manifest: the one an image is
 * listed and described by. */
static bool entry_is_first_of_manifest(const struct store_index *index, size_t position)
{
    for (size_t i = 0; i < position; i++)
        if (digest_equal(&index->entries[i].manifest, &index->entries[position].manifest))
            return false;
    return true;
}

static const char *entry_label(const struct store_index_entry *entry)
{
    return entry->name != NULL ? entry->name : entry->manifest.text;
}

/* Every name pointing at the image's manifest; in_base when only the base
 * store's entries do. */
static int image_fill_names(const struct store_index *index, struct image *image,
                            struct keel_error *err)
{
    size_t count = 0, used = 0;
    bool writable = false;

    for (size_t i = 0; i < index->count; i++) {
        const struct store_index_entry *entry = &index->entries[i];
        if (!digest_equal(&entry->manifest, &image->manifest_digest))
            continue;
        count++;
        writable |= !entry->in_base;
    }
    char **names = calloc(count + 1, sizeof *names);
    if (names == NULL)
        return keel_error_set(err, ENOMEM, "image %s", image->manifest_digest.text);
    for (size_t i = 0; i < index->count; i++) {
        const struct store_index_entry *entry = &index->entries[i];
        if (entry->name == NULL || !digest_equal(&entry->manifest, &image->manifest_digest))
            continue;
        names[used] = strdup(entry->name);
        if (names[used++] == NULL) {
            json_path_strings_free(names);
            return keel_error_set(err, ENOMEM, "image %s", image->manifest_digest.text);
        }
    }
    json_path_strings_free(image->names);
    image->names = names;
    image->in_base = !writable;
    return 0;
}

/* The image of the index entry at position, with all its names. */
static int image_load(const struct store *store, const struct store_index *index, size_t position,
                      struct image *image, struct keel_error *err)
{
    const struct store_index_entry *entry = &index->entries[position];

    if (image_read(store, &entry->manifest, entry->manifest_size, image, err) < 0)
        return keel_error_prefix(err, "image %s", entry_label(entry));
    if (image_fill_names(index, image, err) < 0) {
        image_free(image);
        return -1;
    }
    return 0;
}

int image_list(const struct store *store, struct image **images, size_t *count,
               struct keel_error *err)
{
    struct store_index index = {0};
    size_t used = 0;

    if (store_index_read(store, &index, err) < 0)
        return -1;
    struct image *list = calloc(index.count + 1, sizeof *list);
    if (list == NULL) {
        store_index_free(&index);
        return keel_error_set(err, ENOMEM, "list images");
    }
    for (size_t i = 0; i < index.count; i++) {
        if (!entry_is_first_of_manifest(&index, i))
            continue;
        if (image_load(store, &index, i, &list[used], err) < 0) {
            image_list_free(list, used);
            store_index_free(&index);
            return -1;
        }
        used++;
    }
    store_index_free(&index);
    *images = list;
    *count = used;
    return 0;
}

static bool is_hex(const char *text)
{
    if (*text == '\0')
        return false;
    for (; *text != '\0'; text++)
        if (!((*text >= '0' && *text <= '9') || (*text >= 'a' && *text <= 'f')))
            return false;
    return true;
}

/* The entry of the image whose id starts with hex (a whole id or a prefix),
 * or whose manifest digest is full_digest (may be NULL). Reads each
 * manifest: ids are not in the index. Returns 1 with *position, 0 when none
 * matches, -1 on an error or an ambiguous match. */
static int find_by_id(const struct store *store, const struct store_index *index, const char *hex,
                      const struct digest *full_digest, size_t *position, struct keel_error *err)
{
    size_t matches = 0;
    size_t hex_length = strlen(hex);

    for (size_t i = 0; i < index->count; i++) {
        const struct store_index_entry *entry = &index->entries[i];
        if (!entry_is_first_of_manifest(index, i))
            continue;
        bool match = full_digest != NULL && digest_equal(&entry->manifest, full_digest);
        if (!match) {
            struct image_manifest manifest;
            uint64_t size;
            if (read_manifest(store, &entry->manifest, entry->manifest_size, &manifest, &size,
                              err) < 0)
                return keel_error_prefix(err, "image %s", entry_label(entry));
            match = strncmp(digest_hex(&manifest.config.digest), hex, hex_length) == 0;
            image_manifest_free(&manifest);
        }
        if (match) {
            if (matches == 0)
                *position = i;
            matches++;
        }
    }
    if (matches > 1) {
        if (full_digest != NULL)
            return keel_error_invalid(err, "ambiguous image id \"%s\": matches %zu images",
                                      full_digest->text, matches);
        return keel_error_invalid(err, "ambiguous image id prefix \"%s\": matches %zu images", hex,
                                  matches);
    }
    return matches == 1;
}

/* The entry named by reference's normalised form. Returns 1 with
 * *position, 0 when reference is not a name or the index lacks it. */
static int find_by_name(const struct store_index *index, const char *reference, size_t *position)
{
    _cleanup_free_ char *name = NULL;
    struct keel_error ignored;

    if (image_reference_normalize(reference, &name, &ignored) < 0)
        return 0;
    for (size_t i = 0; i < index->count; i++) {
        if (index->entries[i].name != NULL && strcmp(index->entries[i].name, name) == 0) {
            *position = i;
            return 1;
        }
    }
    return 0;
}

int image_find(const struct store *store, const char *reference, struct image *image,
               struct keel_error *err)
{
    struct store_index index = {0};
    size_t position = 0;
    int found = 0;

    memset(image, 0, sizeof *image);
    if (store_index_read(store, &index, err) < 0)
        return -1;
    /* "sha256:HEX" is a digest even though it also reads as the name
     * "sha256" with a 64-character tag. A short hex text ("abcd") is a valid
     * name too: as in Docker, the name wins, then the id prefix. */
    if (strncmp(reference, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1) == 0) {
        struct digest digest;
        if (digest_parse(reference, &digest, err) < 0)
            found = -1;
        else
            found = find_by_id(store, &index, digest_hex(&digest), &digest, &position, err);
    } else {
        found = find_by_name(&index, reference, &position);
        if (found == 0 && strlen(reference) >= IMAGE_ID_PREFIX_MIN &&
            strlen(reference) <= DIGEST_HEX_LENGTH && is_hex(reference))
            found = find_by_id(store, &index, reference, NULL, &position, err);
    }
    if (found == 0) {
        keel_error_invalid(err, "no such image: %s", reference);
        err->errno_value = ENOENT;
    }
    if (found == 1 && image_load(store, &index, position, image, err) < 0)
        found = -1;
    store_index_free(&index);
    return found == 1 ? 0 : -1;
}
