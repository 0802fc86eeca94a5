/* oci_config_internal.h — private to oci_config*.c: config.json decoding, the section parsers. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "json_path.h"
#include "oci_config.h"

/* config.json is a few KiB; more than this is a mistake or an attack. */
#define OCI_CONFIG_SIZE_MAX (4u << 20)

/* The typed reads are json_path's; these are config.json's own. */

/* Decode a document of at most OCI_CONFIG_SIZE_MAX bytes whose top is an
 * object, keeping unsigned integers above INT64_MAX for
 * json_path_read_uint64 (see json_path_decode_big_unsigned). */
int oci_json_decode(const char *text, size_t length, json_t **object, struct keel_error *err);
/* object's optional member key, an object of strings, as key/value pairs in
 * document order; returns as json_path_get_string does. */
int oci_json_get_string_map(json_t *object, const char *parent, const char *key,
                            struct oci_key_value **out, size_t *count, struct keel_error *err);
void oci_key_values_free(struct oci_key_value *pairs, size_t count);

/* Section parsers: each fills its part of config, leaving whatever it
 * allocated reachable from config so oci_config_free releases it on error. */
int oci_config_parse_mounts(json_t *mounts, const char *path, struct oci_config *config,
                            struct keel_error *err);
void oci_config_free_mounts(struct oci_config *config);

int oci_config_parse_linux(json_t *linux_object, const char *path, struct oci_config *config,
                           struct keel_error *err);
void oci_config_free_linux(struct oci_config *config);

int oci_config_parse_seccomp(json_t *seccomp_object, const char *path, struct oci_seccomp **seccomp,
                             struct keel_error *err);
void oci_config_free_seccomp(struct oci_seccomp *seccomp);
