/* json_path.c — typed reads of JSON documents whose errors name the JSON path of the bad field. */
#include "json_path.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* An unsigned integer above INT64_MAX is rewritten, before a second decode,
 * as a string holding a NUL byte and its digits: jansson keeps integers as
 * long long, but runc (Go's uint64) accepts 18446744073709551615 for an
 * rlimit or a seccomp argument. No string of the document can look like this
 * marker: the rewrite is refused when the text has a \u0000 escape. */
#define BIG_UNSIGNED_MARKER "\"\\u0000"
#define BIG_UNSIGNED_GROWTH (sizeof BIG_UNSIGNED_MARKER - 1 + 1) /* marker + closing quote */

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

/* Where a JSON value may start, so a digit there starts a number. */
static bool starts_value(const char *text, size_t at)
{
    if (at == 0)
        return true;
    char before = text[at - 1];
    return before == ':' || before == ',' || before == '[' || isspace((unsigned char)before);
}

/* Copy text into *rewritten (*rewritten_length bytes) with big unsigned
 * integers turned into markers; (*offsets)[i] is where marker i starts.
 * Returns the number of markers, 0 when there is nothing to rewrite or it
 * must not be done, -1 on ENOMEM. */
static int rewrite_big_unsigned(const char *text, size_t length, char **rewritten,
                                size_t *rewritten_length, size_t **offsets)
{
    _cleanup_free_ char *out = NULL;
    _cleanup_free_ size_t *starts = NULL;
    size_t used = 0, markers = 0;
    bool in_string = false;

    /* Each marker replaces at least 19 digits. */
    out = malloc(length + (length / 19 + 1) * BIG_UNSIGNED_GROWTH + 1);
    starts = calloc(length / 19 + 1, sizeof *starts);
    if (out == NULL || starts == NULL)
        return -1;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\' && i + 1 < length) {
                if (text[i + 1] == 'u' && i + 5 < length && memcmp(text + i + 2, "0000", 4) == 0)
                    return 0;
                out[used++] = c;
                c = text[++i];
            } else if (c == '"') {
                in_string = false;
            }
            out[used++] = c;
            continue;
        }
        if (c == '"')
            in_string = true;
        if (!isdigit((unsigned char)c) || !starts_value(text, i)) {
            out[used++] = c;
            continue;
        }
        size_t end = i;
        while (end < length && isdigit((unsigned char)text[end]))
            end++;
        size_t digits = end - i;
        bool integer = end == length || strchr(".eE", text[end]) == NULL;
        char number[24];
        unsigned long long value = 0;
        if (integer && text[i] != '0' && digits >= 19 && digits <= 20) {
            memcpy(number, text + i, digits);
            number[digits] = '\0';
            errno = 0;
            value = strtoull(number, NULL, 10);
            if (errno != 0)
                value = 0;
        }
        if (value > INT64_MAX) {
            starts[markers++] = used;
            used += (size_t)sprintf(out + used, "%s%s\"", BIG_UNSIGNED_MARKER, number);
        } else {
            memcpy(out + used, text + i, digits);
            used += digits;
        }
        i = end - 1;
    }
    if (markers == 0)
        return 0;
    *rewritten = steal_pointer(&out);
    *rewritten_length = used;
    *offsets = steal_pointer(&starts);
    return (int)markers;
}

/* The second decode, after the first failed on an integer too big for
 * jansson. On failure, error describes the text the caller gave. */
static json_t *decode_with_big_unsigned(const char *text, size_t length, json_error_t *error)
{
    _cleanup_free_ char *rewritten = NULL;
    _cleanup_free_ size_t *offsets = NULL;
    size_t rewritten_length = 0;
    int markers = rewrite_big_unsigned(text, length, &rewritten, &rewritten_length, &offsets);
    if (markers <= 0)
        return NULL;

    /* By length, not up to a NUL: a raw NUL byte in the text stays an error. */
    json_t *root =
        json_loadb(rewritten, rewritten_length, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, error);
    if (root != NULL)
        return root;
    /* Another error further on: give its column in the original text. */
    size_t position = (size_t)error->position;
    size_t line_start = position;
    while (line_start > 0 && rewritten[line_start - 1] != '\n')
        line_start--;
    for (int i = 0; i < markers; i++) {
        if (offsets[i] >= line_start && offsets[i] < position)
            error->column -= (int)BIG_UNSIGNED_GROWTH;
    }
    return NULL;
}

/* Both decodes: big_unsigned says whether to keep integers above INT64_MAX. */
static int decode(const char *text, size_t length, bool big_unsigned, json_t **object,
                  struct keel_error *err)
{
    json_error_t error;

    /* Without JSON_ALLOW_NUL, a \u0000 in a string is refused, so every
     * string of the document is a C string of its whole length. */
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL && big_unsigned && json_error_code(&error) == json_error_numeric_overflow) {
        json_error_t second = error;
        root = decode_with_big_unsigned(text, length, &second);
        if (root == NULL && second.position > 0)
            error = second;
    }
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

int json_path_decode(const char *text, size_t length, size_t maximum, json_t **object,
                     struct keel_error *err)
{
    /* Refused before parsing: jansson would build the whole tree first. */
    if (length > maximum)
        return keel_error_invalid(err, "%zu bytes, more than the %zu allowed", length, maximum);
    return decode(text, length, false, object, err);
}

int json_path_decode_big_unsigned(const char *text, size_t length, json_t **object,
                                  struct keel_error *err)
{
    return decode(text, length, true, object, err);
}

/* A marker left by rewrite_big_unsigned: its value. */
static bool read_big_unsigned(json_t *value, uint64_t *out)
{
    if (!json_is_string(value) || json_string_length(value) < 2)
        return false;
    const char *text = json_string_value(value);
    if (text[0] != '\0')
        return false;
    *out = strtoull(text + 1, NULL, 10);
    return true;
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

int json_path_expect_string(json_t *value, const char *path, struct keel_error *err)
{
    /* A NUL inside is a big-number marker: no string of the text has one. */
    if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value))
        return keel_error_invalid(err, "%s: expected a string", path);
    return 0;
}

int json_path_read_string(json_t *value, const char *path, char **out, struct keel_error *err)
{
    if (json_path_expect_string(value, path, err) < 0)
        return -1;
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
    if (json_path_expect_string(value, path, err) < 0)
        return -1;
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

int json_path_read_bool(json_t *value, const char *path, bool *out, struct keel_error *err)
{
    if (!json_is_boolean(value))
        return keel_error_invalid(err, "%s: expected a boolean", path);
    *out = json_is_true(value);
    return 0;
}

int json_path_read_int64(json_t *value, const char *path, int64_t min, int64_t max, int64_t *out,
                         struct keel_error *err)
{
    uint64_t big;

    if (read_big_unsigned(value, &big))
        return keel_error_invalid(err, "%s: %" PRIu64 " is out of range %" PRId64 "..%" PRId64,
                                  path, big, min, max);
    if (!json_is_integer(value))
        return keel_error_invalid(err, "%s: expected an integer", path);
    json_int_t number = json_integer_value(value);
    if (number < min || number > max)
        return keel_error_invalid(err, "%s: %lld is out of range %" PRId64 "..%" PRId64, path,
                                  number, min, max);
    *out = number;
    return 0;
}

int json_path_read_uint64(json_t *value, const char *path, uint64_t max, uint64_t *out,
                          struct keel_error *err)
{
    uint64_t number;

    if (read_big_unsigned(value, &number)) {
        /* number is set */
    } else if (json_is_integer(value) && json_integer_value(value) >= 0) {
        number = (uint64_t)json_integer_value(value);
    } else {
        return keel_error_invalid(err, "%s: expected an unsigned integer", path);
    }
    if (number > max)
        return keel_error_invalid(err, "%s: %" PRIu64 " is out of range 0..%" PRIu64, path, number,
                                  max);
    *out = number;
    return 0;
}

int json_path_read_name(json_t *value, const char *path, const struct json_path_name *table,
                        const char *what, unsigned long *out, struct keel_error *err)
{
    if (json_path_expect_string(value, path, err) < 0)
        return -1;
    const char *name = json_string_value(value);
    for (const struct json_path_name *entry = table; entry->name != NULL; entry++) {
        if (strcmp(entry->name, name) == 0) {
            *out = entry->value;
            return 0;
        }
    }
    return keel_error_invalid(err, "%s: unknown %s \"%s\"", path, what, name);
}

int json_path_get(json_t *object, const char *parent, const char *key,
                  enum json_path_presence presence, json_t **member, struct keel_error *err)
{
    json_t *value = json_object_get(object, key);

    if (value == NULL || json_is_null(value)) {
        if (presence == JSON_PATH_OPTIONAL)
            return 0;
        char path[JSON_PATH_MAX];
        json_path_member(path, parent, key);
        return keel_error_invalid(err, "%s: required field is missing", path);
    }
    *member = value;
    return 1;
}

/* json_path_get, filling path when the member is there: how each typed
 * member read below starts. Each returns what json_path_get did, or -1 when
 * the value there is refused. */
static int get_with_path(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, json_t **member,
                         char path[JSON_PATH_MAX], struct keel_error *err)
{
    int found = json_path_get(object, parent, key, presence, member, err);

    if (found > 0)
        json_path_member(path, parent, key);
    return found;
}

/* A member that expect (json_path_expect_object or _array) accepts. */
static int get_checked(json_t *object, const char *parent, const char *key,
                       enum json_path_presence presence,
                       int (*expect)(json_t *value, const char *path, struct keel_error *err),
                       json_t **member, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    if (found <= 0)
        return found;
    if (expect(value, path, err) < 0)
        return -1;
    *member = value;
    return 1;
}

int json_path_get_object(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, json_t **member, struct keel_error *err)
{
    return get_checked(object, parent, key, presence, json_path_expect_object, member, err);
}

int json_path_get_array(json_t *object, const char *parent, const char *key,
                        enum json_path_presence presence, json_t **member, struct keel_error *err)
{
    return get_checked(object, parent, key, presence, json_path_expect_array, member, err);
}

int json_path_get_string(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, char **out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    /* A field given twice is refused by the decoder, so *out is still unset. */
    return found > 0 && json_path_read_string(value, path, out, err) < 0 ? -1 : found;
}

int json_path_get_absolute_path(json_t *object, const char *parent, const char *key,
                                enum json_path_presence presence, char **out,
                                struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    char *value = NULL;
    int found = json_path_get_string(object, parent, key, presence, &value, err);

    if (found <= 0)
        return found;
    if (value[0] != '/') {
        json_path_member(path, parent, key);
        keel_error_invalid(err, "%s: not an absolute path \"%s\"", path, value);
        free(value);
        return -1;
    }
    *out = value;
    return 1;
}

int json_path_get_bool(json_t *object, const char *parent, const char *key,
                       enum json_path_presence presence, bool *out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    return found > 0 && json_path_read_bool(value, path, out, err) < 0 ? -1 : found;
}

int json_path_get_int64(json_t *object, const char *parent, const char *key,
                        enum json_path_presence presence, int64_t min, int64_t max, int64_t *out,
                        struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    return found > 0 && json_path_read_int64(value, path, min, max, out, err) < 0 ? -1 : found;
}

int json_path_get_uint64(json_t *object, const char *parent, const char *key,
                         enum json_path_presence presence, uint64_t max, uint64_t *out,
                         struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    return found > 0 && json_path_read_uint64(value, path, max, out, err) < 0 ? -1 : found;
}

int json_path_get_strings(json_t *object, const char *parent, const char *key,
                          enum json_path_presence presence, char ***out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    if (found < 0)
        return -1;
    if (found == 0) {
        *out = json_path_strings_new_empty();
        if (*out == NULL)
            return keel_error_set(err, ENOMEM, "%s", key);
        return 0;
    }
    return json_path_read_strings(value, path, out, err) < 0 ? -1 : 1;
}

int json_path_get_name(json_t *object, const char *parent, const char *key,
                       enum json_path_presence presence, const struct json_path_name *table,
                       const char *what, unsigned long *out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = get_with_path(object, parent, key, presence, &value, path, err);

    return found > 0 && json_path_read_name(value, path, table, what, out, err) < 0 ? -1 : found;
}

char **json_path_strings_new_empty(void)
{
    return calloc(1, sizeof(char *));
}

void json_path_strings_free(char **strings)
{
    if (strings == NULL)
        return;
    for (char **string = strings; *string != NULL; string++)
        free(*string);
    free(strings);
}
