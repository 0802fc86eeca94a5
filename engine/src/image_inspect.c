/* image_inspect.c — an image as Docker shows it: `image inspect` and /images/json. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "image.h"

/* Each helper returns a new reference, or NULL when out of memory; the
 * json_*_set_new/append_new calls that take them free them on failure
 * and fail on NULL, so one flag collects every failure. */

static json_t *string_or_empty(const char *text)
{
    return json_string(text != NULL ? text : "");
}

/* An array of strings, or null when the config has none (Docker's nil). */
static json_t *strings_or_null(char *const *strings)
{
    if (strings == NULL)
        return json_null();
    json_t *array = json_array();
    for (size_t i = 0; strings[i] != NULL; i++)
        if (json_array_append_new(array, json_string(strings[i])) < 0) {
            json_decref(array);
            return NULL;
        }
    return array;
}

/* ExposedPorts and Volumes are sets, written by Docker as {"KEY":{}}. */
static json_t *set_or_null(char *const *keys)
{
    if (keys == NULL)
        return json_null();
    json_t *object = json_object();
    for (size_t i = 0; keys[i] != NULL; i++)
        if (json_object_set_new(object, keys[i], json_object()) < 0) {
            json_decref(object);
            return NULL;
        }
    return object;
}

static json_t *labels_object(const struct image_config *config, bool null_when_absent)
{
    if (config->label_keys == NULL && null_when_absent)
        return json_null();
    json_t *object = json_object();
    for (size_t i = 0; config->label_keys != NULL && config->label_keys[i] != NULL; i++)
        if (json_object_set_new(object, config->label_keys[i],
                                json_string(config->label_values[i])) < 0) {
            json_decref(object);
            return NULL;
        }
    return object;
}

static json_t *digests_array(const struct digest *digests, size_t count)
{
    json_t *array = json_array();
    for (size_t i = 0; i < count; i++)
        if (json_array_append_new(array, json_string(digests[i].text)) < 0) {
            json_decref(array);
            return NULL;
        }
    return array;
}

static json_t *names_array(char *const *names)
{
    json_t *array = strings_or_null(names);
    /* An unnamed image has an empty RepoTags, never null. */
    if (json_is_null(array)) {
        json_decref(array);
        return json_array();
    }
    return array;
}

static int dump(json_t *root, bool failed, char **json, struct keel_error *err)
{
    char *text = failed ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "describe image");
    *json = text;
    return 0;
}

int image_inspect_json(const struct image *image, char **json, struct keel_error *err)
{
    const struct image_config *config = &image->config;
    json_t *root = json_object();
    json_t *run = json_object();
    json_t *rootfs = json_object();
    json_t *keel = json_object();
    bool failed = false;

    failed |= json_object_set_new(run, "User", string_or_empty(config->user)) < 0;
    failed |= json_object_set_new(run, "ExposedPorts", set_or_null(config->exposed_ports)) < 0;
    failed |= json_object_set_new(run, "Env", strings_or_null(config->env)) < 0;
    failed |= json_object_set_new(run, "Cmd", strings_or_null(config->cmd)) < 0;
    failed |= json_object_set_new(run, "Entrypoint", strings_or_null(config->entrypoint)) < 0;
    failed |= json_object_set_new(run, "Volumes", set_or_null(config->volumes)) < 0;
    failed |= json_object_set_new(run, "WorkingDir", string_or_empty(config->working_dir)) < 0;
    failed |= json_object_set_new(run, "Labels", labels_object(config, true)) < 0;
    failed |= json_object_set_new(run, "StopSignal", string_or_empty(config->stop_signal)) < 0;

    failed |= json_object_set_new(rootfs, "Type", json_string("layers")) < 0;
    failed |= json_object_set_new(rootfs, "Layers",
                                  digests_array(config->diff_ids, config->diff_id_count)) < 0;

    failed |= json_object_set_new(keel, "Manifest", json_string(image->manifest_digest.text)) < 0;
    failed |= json_object_set_new(keel, "ChainIds",
                                  digests_array(image->chain_ids, image->manifest.layer_count)) < 0;
    failed |= json_object_set_new(keel, "Base", json_boolean(image->in_base)) < 0;

    failed |= json_object_set_new(root, "Id", json_string(image->id.text)) < 0;
    failed |= json_object_set_new(root, "RepoTags", names_array(image->names)) < 0;
    failed |= json_object_set_new(root, "RepoDigests", json_array()) < 0;
    failed |= json_object_set_new(root, "Created", string_or_empty(config->created)) < 0;
    failed |= json_object_set_new(root, "Author", string_or_empty(config->author)) < 0;
    failed |= json_object_set_new(root, "Architecture", string_or_empty(config->architecture)) < 0;
    failed |= json_object_set_new(root, "Os", string_or_empty(config->os)) < 0;
    failed |= json_object_set_new(root, "Size", json_integer((json_int_t)image->size)) < 0;
    failed |= json_object_set_new(root, "Config", run) < 0;
    failed |= json_object_set_new(root, "RootFS", rootfs) < 0;
    failed |= json_object_set_new(root, "Keel", keel) < 0;
    return dump(root, failed, json, err);
}

/* count decimal digits at *text into *value, advancing *text. */
static bool read_digits(const char **text, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)**text))
            return false;
        *value = *value * 10 + (**text - '0');
        (*text)++;
    }
    return true;
}

static bool read_char(const char **text, const char *accepted)
{
    if (**text == '\0' || strchr(accepted, **text) == NULL)
        return false;
    (*text)++;
    return true;
}

/* An RFC 3339 time ("2024-05-01T12:00:00.123456789Z", "...+02:00") as unix
 * seconds; 0 when absent or not of that form, as Docker shows an unknown
 * creation time. */
static long long created_seconds(const char *created)
{
    struct tm tm = {0};
    int year, month, day, hour, minute, second, offset_hours = 0, offset_minutes = 0;
    const char *text = created;

    if (text == NULL)
        return 0;
    if (!read_digits(&text, 4, &year) || !read_char(&text, "-") || !read_digits(&text, 2, &month) ||
        !read_char(&text, "-") || !read_digits(&text, 2, &day) || !read_char(&text, "Tt ") ||
        !read_digits(&text, 2, &hour) || !read_char(&text, ":") ||
        !read_digits(&text, 2, &minute) || !read_char(&text, ":") ||
        !read_digits(&text, 2, &second))
        return 0;
    if (*text == '.') {
        text++;
        if (!isdigit((unsigned char)*text))
            return 0;
        while (isdigit((unsigned char)*text))
            text++;
    }
    int sign = 0;
    if (read_char(&text, "Zz")) {
        sign = 0;
    } else if (*text == '+' || *text == '-') {
        sign = *text++ == '+' ? 1 : -1;
        if (!read_digits(&text, 2, &offset_hours) || !read_char(&text, ":") ||
            !read_digits(&text, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return 0;
    } else {
        return 0;
    }
    if (*text != '\0' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
        minute > 59 || second > 60)
        return 0;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t seconds = timegm(&tm);
    return (long long)seconds - sign * (offset_hours * 3600LL + offset_minutes * 60LL);
}

int image_summary_json(const struct image *image, char **json, struct keel_error *err)
{
    json_t *root = json_object();
    bool failed = false;

    failed |= json_object_set_new(root, "Id", json_string(image->id.text)) < 0;
    failed |= json_object_set_new(root, "ParentId", json_string("")) < 0;
    failed |= json_object_set_new(root, "RepoTags", names_array(image->names)) < 0;
    failed |= json_object_set_new(root, "RepoDigests", json_array()) < 0;
    failed |= json_object_set_new(root, "Created",
                                  json_integer(created_seconds(image->config.created))) < 0;
    failed |= json_object_set_new(root, "Size", json_integer((json_int_t)image->size)) < 0;
    failed |= json_object_set_new(root, "SharedSize", json_integer(-1)) < 0;
    failed |= json_object_set_new(root, "VirtualSize", json_integer((json_int_t)image->size)) < 0;
    failed |= json_object_set_new(root, "Labels", labels_object(&image->config, false)) < 0;
    failed |= json_object_set_new(root, "Containers", json_integer(-1)) < 0;
    return dump(root, failed, json, err);
}
