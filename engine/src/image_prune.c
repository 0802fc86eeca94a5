/* image_prune.c — image removal; garbage collection of unreachable blobs and layers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "json_path.h"

/* A set of digests: filled, then sorted once and searched. */
struct digest_set {
    struct digest *digests;
    size_t count;
    size_t capacity;
};

static int digest_set_add(struct digest_set *set, const struct digest *digest,
                          struct keel_error *err)
{
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? set->capacity * 2 : 64;
        struct digest *grown = reallocarray(set->digests, capacity, sizeof *grown);
        if (grown == NULL)
            return keel_error_set(err, ENOMEM, "prune");
        set->digests = grown;
        set->capacity = capacity;
    }
    set->digests[set->count++] = *digest;
    return 0;
}

static int digest_compare(const void *a, const void *b)
{
    return strcmp(((const struct digest *)a)->text, ((const struct digest *)b)->text);
}

static void digest_set_sort(struct digest_set *set)
{
    if (set->count > 0)
        qsort(set->digests, set->count, sizeof *set->digests, digest_compare);
}

static bool digest_set_contains(const struct digest_set *set, const struct digest *digest)
{
    return set->count > 0 &&
           bsearch(digest, set->digests, set->count, sizeof *set->digests, digest_compare) != NULL;
}

static void digest_set_free(struct digest_set *set)
{
    free(set->digests);
    memset(set, 0, sizeof *set);
}

/* "index entry X: CAUSE: refusing to prune": an image we cannot read might
 * own any blob, so nothing may go. */
static int refuse_prune(struct keel_error *err, const struct store_index_entry *entry)
{
    static const char suffix[] = ": refusing to prune";

    keel_error_prefix(err, "index entry %s",
                      entry->name != NULL ? entry->name : entry->manifest.text);
    /* The verdict must survive a long cause: cut the cause to make room. */
    size_t length = strnlen(err->message, sizeof err->message - 1);
    if (length > sizeof err->message - sizeof suffix)
        length = sizeof err->message - sizeof suffix;
    memcpy(err->message + length, suffix, sizeof suffix);
    return -1;
}

/* What an index entry keeps: its manifest, config and layer blobs, and the
 * chain ids of its layers. */
static int add_entry_reachable(const struct store *store, const struct store_index_entry *entry,
                               struct digest_set *blobs, struct digest_set *chains,
                               struct keel_error *err)
{
    struct image image;

    if (image_read(store, &entry->manifest, entry->manifest_size, &image, err) < 0)
        return refuse_prune(err, entry);
    int failed = digest_set_add(blobs, &entry->manifest, err) < 0 ||
                 digest_set_add(blobs, &image.manifest.config.digest, err) < 0;
    for (size_t i = 0; i < image.manifest.layer_count && !failed; i++)
        failed = digest_set_add(blobs, &image.manifest.layers[i].digest, err) < 0 ||
                 digest_set_add(chains, &image.chain_ids[i], err) < 0;
    image_free(&image);
    return failed ? -1 : 0;
}

static int collect_reachable(const struct store *store, struct digest_set *blobs,
                             struct digest_set *chains, struct keel_error *err)
{
    struct store_index index = {0};
    _cleanup_free_ struct digest *in_use = NULL;
    size_t in_use_count = 0;

    if (store_index_read(store, &index, err) < 0)
        return keel_error_prefix(err, "prune");
    for (size_t i = 0; i < index.count; i++) {
        if (add_entry_reachable(store, &index.entries[i], blobs, chains, err) < 0) {
            store_index_free(&index);
            return -1;
        }
    }
    store_index_free(&index);

    if (store_rootfs_layers_in_use(store, &in_use, &in_use_count, err) < 0)
        return keel_error_prefix(err, "prune: layers used by containers");
    for (size_t i = 0; i < in_use_count; i++)
        if (digest_set_add(chains, &in_use[i], err) < 0)
            return -1;
    digest_set_sort(blobs);
    digest_set_sort(chains);
    return 0;
}

static int remove_unreachable_blobs(struct store *store, const struct digest_set *reachable,
                                    struct image_prune_stats *stats, struct keel_error *err)
{
    _cleanup_free_ struct digest *blobs = NULL;
    size_t count = 0;

    if (store_blob_list(store, &blobs, &count, err) < 0)
        return keel_error_prefix(err, "prune");
    for (size_t i = 0; i < count; i++) {
        uint64_t size = 0;
        if (digest_set_contains(reachable, &blobs[i]))
            continue;
        if (store_blob_size(store, &blobs[i], &size, err) < 0 ||
            store_blob_remove(store, &blobs[i], err) < 0)
            return keel_error_prefix(err, "prune");
        stats->blobs_removed++;
        stats->bytes_removed += size;
    }
    return 0;
}

static int remove_unreachable_layers(struct store *store, const struct digest_set *reachable,
                                     struct image_prune_stats *stats, struct keel_error *err)
{
    _cleanup_free_ struct digest *layers = NULL;
    size_t count = 0;

    if (store_layer_list(store, &layers, &count, err) < 0)
        return keel_error_prefix(err, "prune");
    for (size_t i = 0; i < count; i++) {
        if (digest_set_contains(reachable, &layers[i]))
            continue;
        if (store_layer_remove(store, &layers[i], err) < 0)
            return keel_error_prefix(err, "prune");
        stats->layers_removed++;
    }
    return 0;
}

/* image_prune's work, for a caller holding the lock (store_lock is not
 * re-entrant: image_remove prunes under the lock it took). */
static int image_prune_locked(struct store *store, struct image_prune_stats *stats,
                              struct keel_error *err)
{
    struct digest_set blobs = {0}, chains = {0};
    int result = -1;

    memset(stats, 0, sizeof *stats);
    if (collect_reachable(store, &blobs, &chains, err) == 0 &&
        remove_unreachable_blobs(store, &blobs, stats, err) == 0 &&
        remove_unreachable_layers(store, &chains, stats, err) == 0)
        result = 0;
    digest_set_free(&blobs);
    digest_set_free(&chains);
    return result;
}

int image_prune(struct store *store, struct image_prune_stats *stats, struct keel_error *err)
{
    struct image_prune_stats ignored_stats;

    if (stats == NULL)
        stats = &ignored_stats;
    memset(stats, 0, sizeof *stats);
    if (store_lock(store, err) < 0)
        return keel_error_prefix(err, "prune");
    int result = image_prune_locked(store, stats, err);
    store_unlock(store);
    return result;
}

/* When reference names an image (its normalised form is in the index),
 * remove that name. Returns 1 when it did, 0 when reference is not a name
 * of the index (an id, a digest), -1 on error. */
static int remove_name(struct store *store, const char *reference, char ***removed,
                       struct keel_error *err)
{
    struct store_index index = {0};
    _cleanup_free_ char *name = NULL;
    struct keel_error ignored;
    bool found = false;

    /* As image_find: "sha256:HEX" is a digest, not the name "sha256". */
    if (strncmp(reference, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1) == 0 ||
        image_reference_normalize(reference, &name, &ignored) < 0)
        return 0;
    if (store_index_read(store, &index, err) < 0)
        return -1;
    for (size_t i = 0; i < index.count && !found; i++)
        found = index.entries[i].name != NULL && strcmp(index.entries[i].name, name) == 0;
    store_index_free(&index);
    if (!found)
        return 0;
    /* EROFS when only the base store has the name. */
    if (store_index_remove(store, name, err) < 0)
        return -1;
    char **names = calloc(2, sizeof *names);
    if (names == NULL)
        return keel_error_set(err, ENOMEM, "remove image %s", name);
    names[0] = steal_pointer(&name);
    *removed = names;
    return 1;
}

/* The names of the writable store's entries for manifest; EROFS when only
 * the base store holds it. */
static int writable_names(const struct store *store, const struct digest *manifest,
                          const char *reference, char ***names, struct keel_error *err)
{
    struct store_index index = {0};
    size_t entries = 0, used = 0;

    if (store_index_read(store, &index, err) < 0)
        return -1;
    char **list = calloc(index.count + 1, sizeof *list);
    if (list == NULL) {
        store_index_free(&index);
        return keel_error_set(err, ENOMEM, "remove image %s", reference);
    }
    for (size_t i = 0; i < index.count; i++) {
        const struct store_index_entry *entry = &index.entries[i];
        if (entry->in_base || !digest_equal(&entry->manifest, manifest))
            continue;
        entries++;
        if (entry->name == NULL)
            continue;
        list[used] = strdup(entry->name);
        if (list[used++] == NULL) {
            json_path_strings_free(list);
            store_index_free(&index);
            return keel_error_set(err, ENOMEM, "remove image %s", reference);
        }
    }
    store_index_free(&index);
    if (entries == 0) {
        json_path_strings_free(list);
        keel_error_invalid(err, "remove image %s: it is in the read-only base store", reference);
        err->errno_value = EROFS;
        return -1;
    }
    *names = list;
    return 0;
}

static int remove_image_locked(struct store *store, const char *reference, char ***removed,
                               struct keel_error *err)
{
    struct image image;

    int by_name = remove_name(store, reference, removed, err);
    if (by_name != 0)
        return by_name < 0 ? -1 : 0;
    if (image_find(store, reference, &image, err) < 0)
        return -1;
    int result = writable_names(store, &image.manifest_digest, reference, removed, err);
    if (result == 0 && store_index_remove_manifest(store, &image.manifest_digest, err) < 0) {
        json_path_strings_free(*removed);
        *removed = NULL;
        result = -1;
    }
    image_free(&image);
    return result;
}

int image_remove(struct store *store, const char *reference, char ***removed_names,
                 struct image_prune_stats *stats, struct keel_error *err)
{
    struct image_prune_stats ignored_stats;
    char **removed = NULL;

    if (removed_names != NULL)
        *removed_names = NULL;
    if (stats == NULL)
        stats = &ignored_stats;
    memset(stats, 0, sizeof *stats);
    if (store_lock(store, err) < 0)
        return keel_error_prefix(err, "remove image %s", reference);
    int result = remove_image_locked(store, reference, &removed, err);
    if (result == 0)
        result = image_prune_locked(store, stats, err);
    store_unlock(store);
    if (result == 0 && removed_names != NULL)
        *removed_names = removed;
    else
        json_path_strings_free(removed);
    return result;
}
