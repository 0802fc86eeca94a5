/* json_path.h — typed reads of JSON documents whose errors name the JSON path of the bad field. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

/* Room for a path such as "config.Labels.org.example.key"; a longer one is
 * cut, which only shortens a message. */
#define JSON_PATH_MAX 256

/* Fill path with "parent.key" ("key" when parent is empty) or "parent[index]". */
void json_path_member(char path[JSON_PATH_MAX], const char *parent, const char *key);
void json_path_element(char path[JSON_PATH_MAX], const char *parent, size_t index);

/* Decode a document of at most maximum bytes (refused before parsing when
 * larger) whose top is an object. Duplicated keys are refused; errors carry
 * jansson's line, column and text. */
int json_path_decode(const char *text, size_t length, size_t maximum, json_t **object,
                     struct keel_error *err);

/* object's member key, at "parent.key". null counts as absent, as Go writes
 * nil slices and maps as null. Returns 1 when present, 0 when absent and not
 * required, -1 with "PATH: required field is missing" otherwise. */
int json_path_get(json_t *object, const char *parent, const char *key, bool required,
                  json_t **member, struct keel_error *err);

/* Value reads: value is at path. Each returns 0, or -1 with err set to
 * "PATH: expected ..." (or the digest's own complaint after "PATH: "). */
int json_path_expect_object(json_t *value, const char *path, struct keel_error *err);
int json_path_expect_array(json_t *value, const char *path, struct keel_error *err);
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

/* Free a NULL-terminated list of heap strings (NULL is fine). */
void json_path_strings_free(char **strings);
