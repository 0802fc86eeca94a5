/* json_path.h — typed reads of JSON documents whose errors name the JSON path of the bad field. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

/* Room for a path such as "linux.seccomp.syscalls[12].args[3].valueTwo"; a
 * longer one (a long label or annotation key) is cut, which only shortens a
 * message. */
#define JSON_PATH_MAX 256

/* Fill path with "parent.key" ("key" when parent is empty) or "parent[index]". */
void json_path_member(char path[JSON_PATH_MAX], const char *parent, const char *key);
void json_path_element(char path[JSON_PATH_MAX], const char *parent, size_t index);

/* Decode a document of at most maximum bytes (refused before parsing when
 * larger) whose top is an object. Duplicated keys are refused; errors carry
 * jansson's line, column and text. */
int json_path_decode(const char *text, size_t length, size_t maximum, json_t **object,
                     struct keel_error *err);
/* The same without a size limit (the caller checks its own first), keeping
 * unsigned integers above INT64_MAX, which jansson cannot hold (rlimits of
 * 2^64-1 in an OCI config), for json_path_read_uint64 to read. */
int json_path_decode_big_unsigned(const char *text, size_t length, json_t **object,
                                  struct keel_error *err);

/* Value reads: value is at path. Each returns 0, or -1 with err set to
 * "PATH: expected ...", "PATH: ... out of range" (or the digest's own
 * complaint after "PATH: "). */
int json_path_expect_object(json_t *value, const char *path, struct keel_error *err);
int json_path_expect_array(json_t *value, const char *path, struct keel_error *err);
/* A string of the document (not a big unsigned integer kept by the decode). */
int json_path_expect_string(json_t *value, const char *path, struct keel_error *err);
/* A heap copy of a string. */
int json_path_read_string(json_t *value, const char *path, char **out, struct keel_error *err);
/* A NULL-terminated heap copy of an array of strings. */
int json_path_read_strings(json_t *value, const char *path, char ***out, struct keel_error *err);
/* The keys of an object, NULL-terminated, in document order. */
int json_path_read_keys(json_t *value, const char *path, char ***out, struct keel_error *err);
/* An object of strings: keys and values as two NULL-terminated lists. */
int json_path_read_string_map(json_t *value, const char *path, char ***keys, char ***values,
                              struct keel_error *err);
int json_path_read_digest(json_t *value, const char *path, struct digest *out,
                          struct keel_error *err);
/* A non-negative integer (a descriptor's size). */
int json_path_read_size(json_t *value, const char *path, uint64_t *out, struct keel_error *err);
int json_path_read_bool(json_t *value, const char *path, bool *out, struct keel_error *err);
int json_path_read_int64(json_t *value, const char *path, int64_t min, int64_t max, int64_t *out,
                         struct keel_error *err);
int json_path_read_uint64(json_t *value, const char *path, uint64_t max, uint64_t *out,
                          struct keel_error *err);

/* One name of a closed set, and what it stands for. */
struct json_path_name {
    const char *name;
    unsigned long value;
};
/* value must be a string naming an entry of table (ended by a NULL name);
 * else "PATH: unknown WHAT \"NAME\"". */
int json_path_read_name(json_t *value, const char *path, const struct json_path_name *table,
                        const char *what, unsigned long *out, struct keel_error *err);

/* Member reads: object's member key, whose path is "parent.key". null
 * counts as absent, as Go (runc, Docker) writes nil slices and maps as null.
 * They return 1 when the member was read, 0 when it is absent and optional
 * (out untouched), -1 on error: "PATH: required field is missing" when it is
 * absent and required, else the value read's own. */
enum json_path_presence {
    JSON_PATH_OPTIONAL,
    JSON_PATH_REQUIRED,
};
int json_path_get(json_t *object, const char *parent, const char *key,
                  enum json_path_presence presence, json_t **member, struct keel_error *err);
int json_path_get_object(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, json_t **member, struct keel_error *err);
int json_path_get_array(json_t *object, const char *parent, const char *key,
                        enum json_path_presence presence, json_t **member, struct keel_error *err);
int json_path_get_string(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, char **out, struct keel_error *err);
/* A string that must be an absolute path: "PATH: not an absolute path \"tmp\"". */
int json_path_get_absolute_path(json_t *object, const char *parent, const char *key,
                                enum json_path_presence presence, char **out,
                                struct keel_error *err);
int json_path_get_bool(json_t *object, const char *parent, const char *key,
                       enum json_path_presence presence, bool *out, struct keel_error *err);
int json_path_get_int64(json_t *object, const char *parent, const char *key,
                        enum json_path_presence presence, int64_t min, int64_t max, int64_t *out,
                        struct keel_error *err);
int json_path_get_uint64(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, uint64_t max, uint64_t *out,
                         struct keel_error *err);
/* An absent array of strings reads as an empty one: *out is never NULL after 0 or 1. */
int json_path_get_strings(json_t *object, const char *parent, const char *key,
                          enum json_path_presence presence, char ***out, struct keel_error *err);
int json_path_get_name(json_t *object, const char *parent, const char *key,
                       enum json_path_presence presence, const struct json_path_name *table,
                       const char *what, unsigned long *out, struct keel_error *err);

/* An empty NULL-terminated string list (so that "may be empty" is never NULL). */
char **json_path_strings_new_empty(void);
/* Free a NULL-terminated list of heap strings (NULL is fine). */
void json_path_strings_free(char **strings);
