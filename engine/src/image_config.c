/* image_config.c — an image's config (OCI image config, Docker image JSON); chain ids. */
#include "image_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"

/* A config is a few KiB; Docker's history can make it a few hundred. */
#define IMAGE_CONFIG_SIZE_MAX (16u << 20)

void image_config_free(struct image_config *config)
{
    free(config->architecture);
    free(config->os);
    free(config->created);
    free(config->author);
    json_path_strings_free(config->entrypoint);
    json_path_strings_free(config->cmd);
    json_path_strings_free(config->env);
    free(config->working_dir);
    free(config->user);
    free(config->stop_signal);
    json_path_strings_free(config->exposed_ports);
    json_path_strings_free(config->volumes);
    json_path_strings_free(config->label_keys);
    json_path_strings_free(config->label_values);
    free(config->diff_ids);
    memset(config, 0, sizeof *config);
}

/* The typed member reads: absent or null leaves *out NULL. */
enum member_kind {
    MEMBER_STRING,
    MEMBER_STRINGS,
    MEMBER_KEYS,
};

static int parse_member(json_t *object, const char *parent, const char *key, enum member_kind kind,
                        void *out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *value = NULL;
    int found = json_path_get(object, parent, key, JSON_PATH_OPTIONAL, &value, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, key);
    switch (kind) {
    case MEMBER_STRING:
        return json_path_read_string(value, path, out, err);
    case MEMBER_STRINGS:
        return json_path_read_strings(value, path, out, err);
    case MEMBER_KEYS:
        return json_path_read_keys(value, path, out, err);
    }
    return keel_error_invalid(err, "%s: unknown member kind", path);
}

/* The "config" object: what a container of the image runs. */
static int parse_run_config(json_t *root, struct image_config *config, struct keel_error *err)
{
    json_t *object = NULL;
    json_t *labels = NULL;
    int found = json_path_get(root, "", "config", JSON_PATH_OPTIONAL, &object, err);

    if (found <= 0)
        return found;
    if (json_path_expect_object(object, "config", err) < 0 ||
        parse_member(object, "config", "Entrypoint", MEMBER_STRINGS, &config->entrypoint, err) <
            0 ||
        parse_member(object, "config", "Cmd", MEMBER_STRINGS, &config->cmd, err) < 0 ||
        parse_member(object, "config", "Env", MEMBER_STRINGS, &config->env, err) < 0 ||
        parse_member(object, "config", "WorkingDir", MEMBER_STRING, &config->working_dir, err) <
            0 ||
        parse_member(object, "config", "User", MEMBER_STRING, &config->user, err) < 0 ||
        parse_member(object, "config", "StopSignal", MEMBER_STRING, &config->stop_signal, err) <
            0 ||
        parse_member(object, "config", "ExposedPorts", MEMBER_KEYS, &config->exposed_ports, err) <
            0 ||
        parse_member(object, "config", "Volumes", MEMBER_KEYS, &config->volumes, err) < 0)
        return -1;
    found = json_path_get(object, "config", "Labels", JSON_PATH_OPTIONAL, &labels, err);
    if (found <= 0)
        return found;
    return json_path_read_string_map(labels, "config.Labels", &config->label_keys,
                                     &config->label_values, err);
}

static int parse_rootfs(json_t *root, struct image_config *config, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *rootfs = NULL, *type = NULL, *diff_ids = NULL;

    if (json_path_get(root, "", "rootfs", JSON_PATH_REQUIRED, &rootfs, err) < 0 ||
        json_path_expect_object(rootfs, "rootfs", err) < 0 ||
        json_path_get(rootfs, "rootfs", "type", JSON_PATH_REQUIRED, &type, err) < 0)
        return -1;
    if (!json_is_string(type))
        return keel_error_invalid(err, "rootfs.type: expected a string");
    if (strcmp(json_string_value(type), "layers") != 0)
        return keel_error_invalid(err, "rootfs.type: expected \"layers\", got \"%s\"",
                                  json_string_value(type));
    if (json_path_get(rootfs, "rootfs", "diff_ids", JSON_PATH_REQUIRED, &diff_ids, err) < 0 ||
        json_path_expect_array(diff_ids, "rootfs.diff_ids", err) < 0)
        return -1;
    size_t count = json_array_size(diff_ids);
    /* One spare slot: calloc(0) may return NULL. */
    config->diff_ids = calloc(count + 1, sizeof *config->diff_ids);
    if (config->diff_ids == NULL)
        return keel_error_set(err, ENOMEM, "rootfs.diff_ids");
    for (size_t i = 0; i < count; i++) {
        json_path_element(path, "rootfs.diff_ids", i);
        if (json_path_read_digest(json_array_get(diff_ids, i), path, &config->diff_ids[i], err) < 0)
            return -1;
    }
    config->diff_id_count = count;
    return 0;
}

int image_config_parse(const char *text, size_t length, struct image_config *config,
                       struct keel_error *err)
{
    json_t *root = NULL;

    memset(config, 0, sizeof *config);
    if (json_path_decode(text, length, IMAGE_CONFIG_SIZE_MAX, &root, err) < 0)
        return -1;
    if (parse_member(root, "", "architecture", MEMBER_STRING, &config->architecture, err) < 0 ||
        parse_member(root, "", "os", MEMBER_STRING, &config->os, err) < 0 ||
        parse_member(root, "", "created", MEMBER_STRING, &config->created, err) < 0 ||
        parse_member(root, "", "author", MEMBER_STRING, &config->author, err) < 0 ||
        parse_run_config(root, config, err) < 0 || parse_rootfs(root, config, err) < 0) {
        json_decref(root);
        image_config_free(config);
        return -1;
    }
    json_decref(root);
    return 0;
}

void image_chain_ids(const struct digest *diff_ids, size_t count, struct digest *chain_ids)
{
    for (size_t i = 0; i < count; i++) {
        if (i == 0) {
            chain_ids[0] = diff_ids[0];
            continue;
        }
        struct digest_hasher hasher;
        digest_hasher_init(&hasher);
        digest_hasher_update(&hasher, chain_ids[i - 1].text, DIGEST_TEXT_LENGTH);
        digest_hasher_update(&hasher, " ", 1);
        digest_hasher_update(&hasher, diff_ids[i].text, DIGEST_TEXT_LENGTH);
        digest_hasher_finish(&hasher, &chain_ids[i]);
    }
}
