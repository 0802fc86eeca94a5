/* image.h — images in a store: names, lookup, listing, inspection, removal, prune and root
 * filesystems. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "image_config.h"
#include "image_manifest.h"
#include "store.h"

/* An image: a manifest in the store's index, with its config. */
struct image {
    char **names; /* NULL-terminated; may be empty (an unnamed image) */
    struct digest manifest_digest;
    uint64_t manifest_size;
    struct digest id; /* the config's digest: the image id, as Docker's */
    struct image_manifest manifest;
    struct image_config config;
    struct digest *chain_ids; /* one per layer, bottom first */
    uint64_t size;            /* config + layer blob sizes */
    bool in_base;             /* from the read-only base store */
};

/* Normalise a reference to the name the index keeps: a tag is added when
 * there is none ("busybox" -> "busybox:latest"), and Docker Hub's implicit
 * prefixes are removed ("docker.io/library/busybox:1" -> "busybox:1",
 * "docker.io/x/y" -> "x/y:latest"). Refused with a message naming it: empty,
 * upper case in the repository, a component that is not
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, a tag not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127},
 * a digest reference ("name@sha256:..."), over 255 characters. *name is heap. */
int image_reference_normalize(const char *reference, char **name, struct keel_error *err);

/* Find an image by name (normalised as above), by id ("sha256:HEX" or a
 * unique prefix of HEX of at least 4 digits, as Docker's short ids), or by
 * manifest digest. ENOENT: "no such image: X"; an ambiguous prefix is
 * refused by name. */
int image_find(const struct store *store, const char *reference, struct image *image,
               struct keel_error *err);
/* Every image of the store, one per manifest, with all its names. */
int image_list(const struct store *store, struct image **images, size_t *count,
               struct keel_error *err);
void image_free(struct image *image);
void image_list_free(struct image *images, size_t count);

/* Load the manifest and config of an index entry's manifest digest into
 * image (names are left empty): parse, check the config's diff ids match the
 * manifest's layer count, compute chain ids and size. */
int image_read(const struct store *store, const struct digest *manifest, uint64_t manifest_size,
               struct image *image, struct keel_error *err);

/* Docker's `image inspect` object for an image, compact JSON (heap):
 *   {"Id","RepoTags","RepoDigests":[],"Created","Author","Architecture","Os",
 *    "Size","Config":{"User","ExposedPorts","Env","Cmd","Entrypoint",
 *    "Volumes","WorkingDir","Labels","StopSignal"},
 *    "RootFS":{"Type":"layers","Layers":[diff ids]},
 *    "Keel":{"Manifest","ChainIds":[...],"Base":bool}}
 * with null where the config has nothing, as Docker prints it. */
int image_inspect_json(const struct image *image, char **json, struct keel_error *err);
/* The Docker API's /images/json entry: {"Id","ParentId":"","RepoTags",
 * "RepoDigests":[],"Created" (unix seconds),"Size","SharedSize":-1,
 * "VirtualSize","Labels","Containers":-1}. */
int image_summary_json(const struct image *image, char **json, struct keel_error *err);

struct image_prune_stats {
    size_t blobs_removed;
    size_t layers_removed;
    uint64_t bytes_removed; /* blob bytes */
};

/* Remove from the writable store every blob no index entry reaches
 * (manifest, config, layers) and every layer that no image's chain and no
 * container uses. Takes the lock. */
int image_prune(struct store *store, struct image_prune_stats *stats, struct keel_error *err);

/* Remove an image: by name, that name (the image goes when it was its last
 * name); by id or digest, all its names. Then prune. removed_names (may be
 * NULL) gets the names untagged, NULL-terminated, heap. Takes the lock. */
int image_remove(struct store *store, const char *reference, char ***removed_names,
                 struct image_prune_stats *stats, struct keel_error *err);
