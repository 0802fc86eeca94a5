/* image_export.h — writing images of a store as an OCI archive or a docker-archive. */
#pragma once

#include <stddef.h>

#include "error.h"
#include "store.h"

enum image_archive_format {
    IMAGE_ARCHIVE_OCI,    /* oci-layout, index.json, blobs/sha256/... */
    IMAGE_ARCHIVE_DOCKER, /* docker save's: manifest.json, repositories, config and layer.tar files
                           */
};

/* Parse "oci" or "docker" (also "oci-archive", "docker-archive"). */
int image_archive_format_parse(const char *text, enum image_archive_format *format,
                               struct keel_error *err);

/* Write the images named by references (names, ids) to output_fd as one
 * uncompressed tar archive in format. The archive is deterministic: the same
 * images give the same bytes (sorted entries, mtime 0, uid/gid 0, fixed
 * modes). An OCI archive's index.json carries each name as
 * io.containerd.image.name and its tag as org.opencontainers.image.ref.name.
 * A docker-archive holds each layer as <diff id hex>/layer.tar, uncompressed
 * (compressed blobs are decompressed on the way), and the config as
 * <id hex>.json, as `docker save` does. */
int image_export(const struct store *store, const char *const *references, size_t count,
                 enum image_archive_format format, int output_fd, struct keel_error *err);
