/* oci_config_internal.h — private to oci_config*.c: typed JSON reads, the section parsers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci_config.h"

/* config.json is a few KiB; more than this is a mistake or an attack. */
#define OCI_CONFIG_SIZE_MAX (4u << 20)

/* Room for a JSON path such as "linux.seccomp.syscalls[12].args[3].valueTwo";
 * a longer one (a long annotation key) is cut, which only shortens a message. */
#define OCI_JSON_PATH_MAX 256

/* Fill path with "parent.key" ("key" when parent is empty) or "parent[index]". */
void oci_json_path_member(char path[OCI_JSON_PATH_MAX], const char *parent, const char *key);
void oci_json_path_element(char path[OCI_JSON_PATH_MAX], const char *parent, size_t index);

/* Decode a document (at most OCI_CONFIG_SIZE_MAX bytes) whose top is an
 * object. Duplicated keys are refused. Unsigned integers above INT64_MAX,
 * which jansson cannot hold (rlimits of 2^64-1), are kept for
 * oci_json_read_uint64. Errors carry jansson's line, column and text. */
int oci_json_decode(const char *text, size_t length, json_t **object, struct keel_error *err);

/* Value-level reads: value is at path. Each returns 0, or -1 with err set to
 * "PATH: expected ..." or "PATH: ... out of range". Strings are copied. */
int oci_json_expect_object(json_t *value, const char *path, struct keel_error *err);
int oci_json_expect_array(json_t *value, const char *path, struct keel_error *err);
int oci_json_read_string(json_t *value, const char *path, char **out, struct keel_error *err);
int oci_json_read_bool(json_t *value, const char *path, bool *out, struct keel_error *err);
int oci_json_read_int64(json_t *value, const char *path, int64_t min, int64_t max, int64_t *out,
                        struct keel_error *err);
int oci_json_read_uint64(json_t *value, const char *path, uint64_t max, uint64_t *out,
                         struct keel_error *err);
/* A NULL-terminated copy of an array of strings. */
int oci_json_read_strings(json_t *value, const char *path, char ***out, struct keel_error *err);
/* An object of strings as key/value pairs, in document order. */
int oci_json_read_string_map(json_t *value, const char *path, struct oci_key_value **out,
                             size_t *count, struct keel_error *err);

/* One name of a closed set, and what it stands for. */
struct oci_json_name {
    const char *name;
    unsigned long value;
};
/* value must be a string naming an entry of table (ended by a NULL name);
 * else "PATH: unknown WHAT \"NAME\"". */
int oci_json_read_name(json_t *value, const char *path, const struct oci_json_name *table,
                       const char *what, unsigned long *out, struct keel_error *err);

/* Member-level reads: object's member key, whose path is "parent.key".
 * JSON null counts as absent, as in runc (Go writes nil slices as null).
 * They return 1 when the member was read, 0 when it is absent and optional
 * (out untouched), -1 on error (absent and required included). */
enum oci_json_presence {
    OCI_JSON_OPTIONAL,
    OCI_JSON_REQUIRED,
};
int oci_json_get(json_t *object, const char *parent, const char *key,
                 enum oci_json_presence presence, json_t **member, struct keel_error *err);
int oci_json_get_object(json_t *object, const char *parent, const char *key,
                        enum oci_json_presence presence, json_t **member, struct keel_error *err);
int oci_json_get_array(json_t *object, const char *parent, const char *key,
                       enum oci_json_presence presence, json_t **member, struct keel_error *err);
int oci_json_get_string(json_t *object, const char *parent, const char *key,
                        enum oci_json_presence presence, char **out, struct keel_error *err);
/* A string that must be an absolute path: "PATH: not an absolute path \"tmp\"". */
int oci_json_get_absolute_path(json_t *object, const char *parent, const char *key,
                               enum oci_json_presence presence, char **out, struct keel_error *err);
int oci_json_get_bool(json_t *object, const char *parent, const char *key,
                      enum oci_json_presence presence, bool *out, struct keel_error *err);
int oci_json_get_int64(json_t *object, const char *parent, const char *key,
                       enum oci_json_presence presence, int64_t min, int64_t max, int64_t *out,
                       struct keel_error *err);
int oci_json_get_uint64(json_t *object, const char *parent, const char *key,
                        enum oci_json_presence presence, uint64_t max, uint64_t *out,
                        struct keel_error *err);
/* An absent array of strings reads as an empty one: *out is never NULL after 0 or 1. */
int oci_json_get_strings(json_t *object, const char *parent, const char *key,
                         enum oci_json_presence presence, char ***out, struct keel_error *err);
int oci_json_get_string_map(json_t *object, const char *parent, const char *key,
                            struct oci_key_value **out, size_t *count, struct keel_error *err);
int oci_json_get_name(json_t *object, const char *parent, const char *key,
                      enum oci_json_presence presence, const struct oci_json_name *table,
                      const char *what, unsigned long *out, struct keel_error *err);

/* An empty NULL-terminated string array (so that "may be empty" is never NULL). */
char **oci_strv_new_empty(void);
void oci_strv_free(char **strings);
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
