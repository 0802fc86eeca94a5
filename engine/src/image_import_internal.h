/* image_import_internal.h — what the image import's files share: the archive read, the plan. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"
#include "image_config.h"
#include "image_manifest.h"
#include "store.h"

/* How deep OCI indexes may nest, and the largest manifest or index read. */
#define IMAGE_IMPORT_INDEX_DEPTH_MAX 8
#define IMAGE_IMPORT_DOCUMENT_MAX (4u << 20)

/* One file of the archive, by its normalised name. Regular files are
 * blobs in the store (content-addressed: a file lying about its name cannot
 * poison the store), except the archive's own top-level documents, kept in
 * memory. A link leads to the regular file at resolved. */
struct image_import_file {
    char *name;
    size_t sequence; /* position in the archive: a later entry of the same name wins */
    bool is_link;
    char *link_target; /* archive-root-relative, normalised */
    size_t resolved;   /* links: index of the regular file they lead to */
    char *data;        /* in-memory documents (NULL for blobs) */
    size_t length;
    struct digest digest; /* blobs */
    uint64_t size;
    unsigned char magic[4]; /* the blob's first bytes: a layer's compression */
    size_t magic_length;
};

/* The archive's files, sorted by name (one per name). */
struct image_import_archive {
    struct image_import_file *files;
    size_t count;
};

/* Progress while reading: bytes_read is the input consumed so far; always
 * asks for a report however little was read since the last. */
typedef void image_import_archive_progress_fn(uint64_t bytes_read, bool always, void *data);

/* Read the tar (maybe compressed) at input_fd into archive: documents in
 * memory, other regular files as blobs in store, then sorted by name with
 * every link resolved. On failure archive is left empty. */
int image_import_archive_load(struct store *store, int input_fd,
                              image_import_archive_progress_fn *progress, void *progress_data,
                              struct image_import_archive *archive, struct keel_error *err);
void image_import_archive_free(struct image_import_archive *archive);

/* The regular file name leads to (after links), or NULL. */
const struct image_import_file *
image_import_archive_find(const struct image_import_archive *archive, const char *name);
/* The blob file at name; an error naming it when the archive has none. */
int image_import_archive_blob(const struct image_import_archive *archive, const char *name,
                              const struct image_import_file **file, struct keel_error *err);
/* A file's content, NUL-terminated heap; EFBIG past maximum bytes. */
int image_import_archive_read(const struct store *store, const struct image_import_file *file,
                              size_t maximum, char **data, size_t *length, struct keel_error *err);

/* An image found in the archive: its manifest is in the store (the format
 * reader checked its blobs); image_import.c adds the config and chain ids. */
struct image_import_image {
    char **names; /* normalised; name_count 0: an unnamed image */
    size_t name_count;
    struct digest manifest_digest;
    uint64_t manifest_size;
    struct image_manifest manifest;
    struct image_config config;
    struct digest *chain_ids;
};

struct image_import_plan {
    struct image_import_image *images;
    size_t count;
};

void image_import_image_free(struct image_import_image *image);

/* Append image to plan, taking what it owns (image is zeroed). */
int image_import_plan_add(struct image_import_plan *plan, struct image_import_image *image,
                          struct keel_error *err);
/* Add name (taken; may be NULL, then nothing is added) to image's names,
 * unless it is there already. */
int image_import_image_add_name(struct image_import_image *image, char *name,
                                struct keel_error *err);
/* The name of an image the archive names only by tag (or not at all):
 * default_name ("NAME" -> "NAME:tag", "NAME" -> "NAME:latest" without a
 * tag; a NAME with its own tag is kept), normalised; NULL without one. */
int image_import_default_name(const char *default_name, const char *tag, char **name,
                              struct keel_error *err);

/* The format readers: every image of the archive into plan. */
int image_import_oci_plan(struct store *store, const struct image_import_archive *archive,
                          const char *default_name, struct image_import_plan *plan,
                          struct keel_error *err);
int image_import_docker_plan(struct store *store, const struct image_import_archive *archive,
                             const char *default_name, struct image_import_plan *plan,
                             struct keel_error *err);
