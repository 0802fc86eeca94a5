/* image_config.h — an image's configuration (OCI image config / Docker image JSON): parsed and
 * checked. */
#pragma once

#include <stddef.h>

#include "digest.h"
#include "error.h"

/* The fields the engine uses. String lists are NULL-terminated arrays
 * (NULL when the config has none, which differs from an empty list for
 * Entrypoint and Cmd as in Docker). */
struct image_config {
    char *architecture;
    char *os;
    char *created; /* RFC 3339, as in the config; NULL when absent */
    char *author;
    char **entrypoint;
    char **cmd;
    char **env; /* "KEY=value" */
    char *working_dir;
    char *user;
    char *stop_signal;
    char **exposed_ports; /* the keys of ExposedPorts: "80/tcp" */
    char **volumes;       /* the keys of Volumes: "/data" */
    char **label_keys;    /* Labels, in the config's order; same length as label_values */
    char **label_values;
    struct digest *diff_ids; /* rootfs.diff_ids, bottom layer first */
    size_t diff_id_count;
};

/* Parse an image config. Refused, with the field's path in the message:
 * not a JSON object, rootfs missing or its type not "layers", a bad diff id,
 * Entrypoint/Cmd/Env not arrays of strings (null is allowed), ExposedPorts,
 * Volumes or Labels not objects (Labels' values must be strings), a field of
 * the wrong type. Unknown fields are ignored. */
int image_config_parse(const char *text, size_t length, struct image_config *config,
                       struct keel_error *err);
void image_config_free(struct image_config *config);

/* The chain ids of a layer stack: chain[0] = diff[0], chain[i] =
 * sha256(chain[i-1] + " " + diff[i]) over their "sha256:HEX" texts, as the
 * OCI image spec defines them. chain_ids has room for count digests. */
void image_chain_ids(const struct digest *diff_ids, size_t count, struct digest *chain_ids);
