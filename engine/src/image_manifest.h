/* image_manifest.h — OCI and Docker manifests and indexes: parsed, checked, and written in OCI
 * form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

#define MEDIA_TYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_TYPE_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_TYPE_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_TYPE_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_TYPE_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_TYPE_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_TYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_TYPE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_TYPE_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MEDIA_TYPE_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Annotations of index.json entries naming an image. */
#define ANNOTATION_IMAGE_NAME "io.containerd.image.name"        /* "toolbox:latest" */
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name" /* "latest", or a full name */

/* An OCI content descriptor. */
struct image_descriptor {
    char *media_type;
    struct digest digest;
    uint64_t size;
    /* platform, for the entries of an index (NULL when absent) */
    char *os;
    char *architecture;
    char *variant;
    /* the two naming annotations (NULL when absent) */
    char *image_name;
    char *ref_name;
};

struct image_manifest {
    struct image_descriptor config;
    struct image_descriptor *layers;
    size_t layer_count;
};

struct image_index {
    struct image_descriptor *manifests;
    size_t count;
};

/* Media types: which kind of document a descriptor points at. A layer's
 * media type must be one of the tar, tar+gzip, tar+zstd types above (OCI or
 * Docker); "foreign"/non-distributable layers are refused by name. */
bool image_media_type_is_index(const char *media_type);
bool image_media_type_is_manifest(const char *media_type);
bool image_media_type_is_layer(const char *media_type);

/* Parse an image manifest (OCI, or Docker schema 2). Refused, with the
 * field's JSON path in the message: not an object, schemaVersion other than
 * 2, a missing or malformed config or layers, a bad digest or size, a layer
 * media type that is not a layer's. Unknown fields are ignored. */
int image_manifest_parse(const char *text, size_t length, struct image_manifest *manifest,
                         struct keel_error *err);
void image_manifest_free(struct image_manifest *manifest);

/* Parse an image index (OCI index.json, or a Docker manifest list). The
 * entries keep their media type, platform and naming annotations. */
int image_index_parse(const char *text, size_t length, struct image_index *index,
                      struct keel_error *err);
void image_index_free(struct image_index *index);

/* The entry of a multi-platform index to use on this machine: the first
 * whose platform is linux/amd64; when no entry names a platform and there
 * is exactly one, that one. -1 with ENOENT naming the platforms on offer
 * otherwise. */
int image_index_pick_platform(const struct image_index *index, size_t *position,
                              struct keel_error *err);

/* Write manifest as canonical OCI manifest JSON (schemaVersion 2, mediaType,
 * config, layers; keys in a fixed order, compact): the same manifest always
 * gives the same bytes, hence the same digest. *text is heap, NUL-terminated. */
int image_manifest_serialize(const struct image_manifest *manifest, char **text, size_t *length,
                             struct keel_error *err);

void image_descriptor_free(struct image_descriptor *descriptor);
