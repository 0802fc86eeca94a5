/* image_import.h — loading docker-archive and OCI archives into a store: read, verify, unpack,
 * commit. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "store.h"

enum image_import_phase {
    IMAGE_IMPORT_READING,   /* reading the archive into blobs */
    IMAGE_IMPORT_UNPACKING, /* unpacking layer layer_index of layer_count */
    IMAGE_IMPORT_DONE,
};

struct image_import_progress {
    enum image_import_phase phase;
    uint64_t bytes_read;  /* of the archive */
    uint64_t bytes_total; /* the archive's size when known (a regular file), else 0 */
    size_t layer_index;   /* 0-based, UNPACKING only */
    size_t layer_count;
    uint64_t layer_bytes_read; /* of this layer's blob */
    uint64_t layer_bytes_total;
};

typedef void image_import_progress_fn(const struct image_import_progress *progress, void *data);

struct image_import_options {
    /* The name to give an image the archive does not name (an OCI archive
     * whose ref.name is a bare tag names "NAME:tag"); NULL: such an image is
     * kept unnamed. */
    const char *name;
    image_import_progress_fn *progress; /* may be NULL */
    void *progress_data;
};

struct image_import_loaded {
    char *name; /* normalised, or NULL for an unnamed image */
    struct digest id;
    struct digest manifest;
};

struct image_import_result {
    struct image_import_loaded *images;
    size_t count;
};

/* Load every image of an archive read from input_fd: a docker-archive (what
 * `docker save` writes: manifest.json, optionally repositories) or an OCI
 * archive (oci-layout, index.json, blobs/; nested indexes followed, a
 * multi-platform index gives linux/amd64), the archive itself possibly
 * gzip/zstd/xz-compressed, its layers uncompressed, gzip or zstd.
 *
 * Every blob is stored under its SHA-256 and checked against the digest and
 * size its descriptor names; every layer is unpacked (layer_unpack) and its
 * diff id checked against the config's; a mismatch is refused and names the
 * blob or layer. Layers already in the store are not unpacked again. Names
 * appear in the index last, so a failure or a crash at any moment leaves
 * either the whole image or nothing; what a failed import wrote (blobs,
 * half-written layers) is removed or left to prune. Takes the store lock. */
int image_import(struct store *store, int input_fd, const struct image_import_options *options,
                 struct image_import_result *result, struct keel_error *err);
void image_import_result_free(struct image_import_result *result);
