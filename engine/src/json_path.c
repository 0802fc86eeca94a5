/* json_path.c — typed reads of JSON documents whose errors name the JSON path of the bad field. */
#include "json_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_path_member(char path[JSON_PATH_MAX], const char *parent, const char *key)
{
    if (parent[0] == '\0')
        snprintf(path, JSON_PATH_MAX, "%s", key);
    else
        snprintf(path, JSON_PATH_MAX, "%s.%s", parent, key);
}

void json_path_element(char path[JSON_PATH_MAX], const char *parent, size_t index)
{
    snprintf(path, JSON_PATH_MAX, "%s[%zu]", parent, index);
}

int json_path_decode(const char *text, size_t length, size_t maximum, json_t **object,
                     struct keel_error *err)
{
    json_error_t error;

    /* Refused before parsing: jansson would build the whole tree first. */
    if (length > maximum)
        return keel_error_invalid(err, "%zu bytes, more than the %zu allowed", length, maximum);
    /* Without JSON_ALLOW_NUL, a \u0000 in a string is refused, so every
     * string read below is a C string of its whole length. */
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL)
        return keel_error_invalid(err, "invalid JSON at line %d, column %d: %s", error.line,
                                  error.column, error.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return keel_error_invalid(err, "expected a JSON object at the top level");
    }
    *object = root;
    return 0;
}

int json_path_get(json_t *object, const char *parent, const char *key, bool required,
                  json_t **member, struct keel_error *err)
{
    json_t *value = json_object_get(object, key);

    if (value == NULL || json_is_null(value)) {
        if (!required)
            return 0;
        char path[JSON_PATH_MAX];
        json_path_member(path, parent, key);
        return keel_error_invalid(err, "%s: required field is missing", path);
    }
    *member = value;
    return 1;
}

int json_path_expect_object(json_t *value, const char *path, struct keel_error *err)
{
    if (!json_is_object(value))
        return keel_error_invalid(err, "%s: expected an object", path);
    return 0;
}

int json_path_expect_array(json_t *value, const char *path, struct keel_error *err)
{
    if (!json_is_array(value))
        return keel_error_invalid(err, "%s: expected an array", path);
    return 0;
}

int json_path_read_string(json_t *value, const char *path, char **out, struct keel_error *err)
{
    if (!json_is_string(value))
        return keel_error_invalid(err, "%s: expected a string", path);
    char *copy = strdup(json_string_value(value));
    if (copy == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    *out = copy;
    return 0;
}

int json_path_read_strings(json_t *value, const char *path, char ***out, struct keel_error *err)
{
    char element_path[JSON_PATH_MAX];

    if (json_path_expect_array(value, path, err) < 0)
        return -1;
    size_t count = json_array_size(value);
    char **strings = calloc(count + 1, sizeof *strings);
    if (strings == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    for (size_t i = 0; i < count; i++) {
        json_path_element(element_path, path, i);
        if (json_path_read_string(json_array_get(value, i), element_path, &strings[i], err) < 0) {
            json_path_strings_free(strings);
            return -1;
        }
    }
    *out = strings;
    return 0;
}

int json_path_read_keys(json_t *value, const char *path, char ***out, struct keel_error *err)
{
    const char *key;
    json_t *member;
    size_t used = 0;

    if (json_path_expect_object(value, path, err) < 0)
        return -1;
    char **keys = calloc(json_object_size(value) + 1, sizeof *keys);
    if (keys == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    json_object_foreach(value, key, member)
    {
        keys[used] = strdup(key);
        if (keys[used++] == NULL) {
            json_path_strings_free(keys);
            return keel_error_set(err, ENOMEM, "%s", path);
        }
    }
    *out = keys;
    return 0;
}

int json_path_read_string_map(json_t *value, const char *path, char ***keys, char ***values,
                              struct keel_error *err)
{
    char member_path[JSON_PATH_MAX];
    const char *key;
    json_t *member;
    size_t used = 0;

    if (json_path_expect_object(value, path, err) < 0)
        return -1;
    size_t count = json_object_size(value);
    char **key_list = calloc(count + 1, sizeof *key_list);
    char **value_list = calloc(count + 1, sizeof *value_list);
    if (key_list == NULL || value_list == NULL)
        goto out_of_memory;
    json_object_foreach(value, key, member)
    {
        json_path_member(member_path, path, key);
        if (json_path_read_string(member, member_path, &value_list[used], err) < 0)
            goto fail;
        key_list[used] = strdup(key);
        if (key_list[used++] == NULL)
            goto out_of_memory;
    }
    *keys = key_list;
    *values = value_list;
    return 0;

out_of_memory:
    keel_error_set(err, ENOMEM, "%s", path);
fail:
    json_path_strings_free(key_list);
    json_path_strings_free(value_list);
    return -1;
}

int json_path_read_digest(json_t *value, const char *path, struct digest *out,
                          struct keel_error *err)
{
    if (!json_is_string(value))
        return keel_error_invalid(err, "%s: expected a string", path);
    if (digest_parse(json_string_value(value), out, err) < 0)
        return keel_error_prefix(err, "%s", path);
    return 0;
}

int json_path_read_size(json_t *value, const char *path, uint64_t *out, struct keel_error *err)
{
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return keel_error_invalid(err, "%s: expected a non-negative integer", path);
    *out = (uint64_t)json_integer_value(value);
    return 0;
}

void json_path_strings_free(char **strings)
{
    if (strings == NULL)
        return;
    for (char **string = strings; *string != NULL; string++)
        free(*string);
    free(strings);
}
