/* oci_config_json.c — config.json's decoding and its key/value maps, over json_path. */
#include <errno.h>
#include <stdlib.h>

#include "oci_config_internal.h"

/* OCI-specific, hence not json_path_decode: the limit is said in MiB, as
 * oci_config_read_text says it for a file, and integers up to 2^64-1 are
 * kept, as runc (Go's uint64) accepts them for an rlimit or a seccomp
 * argument. */
int oci_json_decode(const char *text, size_t length, json_t **object, struct keel_error *err)
{
    if (length > OCI_CONFIG_SIZE_MAX)
        return keel_error_invalid(err, "%zu bytes, more than the %u MiB allowed", length,
                                  OCI_CONFIG_SIZE_MAX >> 20);
    return json_path_decode_big_unsigned(text, length, object, err);
}

/* OCI-specific: oci_config.h holds a map as one array of struct
 * oci_key_value, where json_path_read_string_map gives two lists; their
 * strings move into the pairs. */
int oci_json_get_string_map(json_t *object, const char *parent, const char *key,
                            struct oci_key_value **out, size_t *count, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    char **keys = NULL, **values = NULL;
    int found = json_path_get(object, parent, key, JSON_PATH_OPTIONAL, &value, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, key);
    if (json_path_read_string_map(value, path, &keys, &values, err) < 0)
        return -1;
    size_t used = json_object_size(value);
    struct oci_key_value *pairs = calloc(used + 1, sizeof *pairs);
    if (pairs == NULL) {
        json_path_strings_free(keys);
        json_path_strings_free(values);
        return keel_error_set(err, ENOMEM, "%s", path);
    }
    for (size_t i = 0; i < used; i++) {
        pairs[i].key = keys[i];
        pairs[i].value = values[i];
    }
    free(keys);
    free(values);
    *out = pairs;
    *count = used;
    return 1;
}

void oci_key_values_free(struct oci_key_value *pairs, size_t count)
{
    if (pairs == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
}
