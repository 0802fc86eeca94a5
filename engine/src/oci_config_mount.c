/* oci_config_mount.c — "mounts": each mount's options split into flags, propagation and data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci_config_internal.h"

enum mount_option_kind {
    OPTION_SET_FLAG,
    OPTION_CLEAR_FLAG,
    OPTION_PROPAGATION,
    OPTION_BIND,
    OPTION_RECURSIVE_BIND,
    OPTION_RECURSIVE_READONLY,
    OPTION_NOTHING,
};

struct mount_option {
    const char *name;
    enum mount_option_kind kind;
    unsigned long flag;
};

/* The options mount(8) turns into flags; every other one is the filesystem's
 * and goes to mount(2)'s data. Later options override earlier ones. */
static const struct mount_option mount_options[] = {
    {"ro", OPTION_SET_FLAG, MS_RDONLY},
    {"rw", OPTION_CLEAR_FLAG, MS_RDONLY},
    {"nosuid", OPTION_SET_FLAG, MS_NOSUID},
    {"suid", OPTION_CLEAR_FLAG, MS_NOSUID},
    {"nodev", OPTION_SET_FLAG, MS_NODEV},
    {"dev", OPTION_CLEAR_FLAG, MS_NODEV},
    {"noexec", OPTION_SET_FLAG, MS_NOEXEC},
    {"exec", OPTION_CLEAR_FLAG, MS_NOEXEC},
    {"sync", OPTION_SET_FLAG, MS_SYNCHRONOUS},
    {"async", OPTION_CLEAR_FLAG, MS_SYNCHRONOUS},
    {"dirsync", OPTION_SET_FLAG, MS_DIRSYNC},
    {"remount", OPTION_SET_FLAG, MS_REMOUNT},
    {"mand", OPTION_SET_FLAG, MS_MANDLOCK},
    {"nomand", OPTION_CLEAR_FLAG, MS_MANDLOCK},
    {"atime", OPTION_CLEAR_FLAG, MS_NOATIME},
    {"noatime", OPTION_SET_FLAG, MS_NOATIME},
    {"diratime", OPTION_CLEAR_FLAG, MS_NODIRATIME},
    {"nodiratime", OPTION_SET_FLAG, MS_NODIRATIME},
    {"relatime", OPTION_SET_FLAG, MS_RELATIME},
    {"norelatime", OPTION_CLEAR_FLAG, MS_RELATIME},
    {"strictatime", OPTION_SET_FLAG, MS_STRICTATIME},
    {"nostrictatime", OPTION_CLEAR_FLAG, MS_STRICTATIME},
    {"nosymfollow", OPTION_SET_FLAG, MS_NOSYMFOLLOW},
    {"symfollow", OPTION_CLEAR_FLAG, MS_NOSYMFOLLOW},
    {"bind", OPTION_BIND, 0},
    {"rbind", OPTION_RECURSIVE_BIND, 0},
    {"private", OPTION_PROPAGATION, MS_PRIVATE},
    {"rprivate", OPTION_PROPAGATION, MS_PRIVATE | MS_REC},
    {"shared", OPTION_PROPAGATION, MS_SHARED},
    {"rshared", OPTION_PROPAGATION, MS_SHARED | MS_REC},
    {"slave", OPTION_PROPAGATION, MS_SLAVE},
    {"rslave", OPTION_PROPAGATION, MS_SLAVE | MS_REC},
    {"unbindable", OPTION_PROPAGATION, MS_UNBINDABLE},
    {"runbindable", OPTION_PROPAGATION, MS_UNBINDABLE | MS_REC},
    {"rro", OPTION_RECURSIVE_READONLY, 0},
    /* mount(8)'s placeholder for "no option"; runc takes it too, and a
     * filesystem given it in data would refuse to mount. */
    {"defaults", OPTION_NOTHING, 0},
    {NULL, OPTION_NOTHING, 0},
};

static const struct mount_option *mount_option_find(const char *name)
{
    for (const struct mount_option *option = mount_options; option->name != NULL; option++) {
        if (strcmp(option->name, name) == 0)
            return option;
    }
    return NULL;
}

static void mount_apply_option(struct oci_mount *mount, const struct mount_option *option)
{
    switch (option->kind) {
    case OPTION_SET_FLAG:
        mount->flags |= option->flag;
        mount->clear_flags &= ~option->flag;
        break;
    case OPTION_CLEAR_FLAG:
        mount->flags &= ~option->flag;
        mount->clear_flags |= option->flag;
        break;
    case OPTION_PROPAGATION:
        mount->propagation = option->flag;
        break;
    case OPTION_RECURSIVE_BIND:
        mount->recursive = true;
        /* fall through */
    case OPTION_BIND:
        mount->bind = true;
        break;
    case OPTION_RECURSIVE_READONLY:
        mount->recursive_readonly = true;
        break;
    case OPTION_NOTHING:
        break;
    }
}

/* Append option to mount->data, comma-separated. */
static int mount_append_data(struct oci_mount *mount, const char *option, const char *path,
                             struct keel_error *err)
{
    size_t old_length = mount->data == NULL ? 0 : strlen(mount->data);
    size_t length = strlen(option);
    char *data = realloc(mount->data, old_length + 1 + length + 1);

    if (data == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    if (old_length > 0)
        data[old_length++] = ',';
    memcpy(data + old_length, option, length + 1);
    mount->data = data;
    return 0;
}

static int mount_parse_options(json_t *options, const char *path, struct oci_mount *mount,
                               struct keel_error *err)
{
    char element_path[JSON_PATH_MAX];

    for (size_t i = 0; i < json_array_size(options); i++) {
        json_t *value = json_array_get(options, i);
        json_path_element(element_path, path, i);
        if (json_path_expect_string(value, element_path, err) < 0)
            return -1;
        const char *name = json_string_value(value);
        if (name[0] == '\0')
            continue;
        const struct mount_option *option = mount_option_find(name);
        if (option != NULL)
            mount_apply_option(mount, option);
        else if (mount_append_data(mount, name, element_path, err) < 0)
            return -1;
    }
    return 0;
}

static int mount_parse(json_t *object, const char *path, struct oci_mount *mount,
                       struct keel_error *err)
{
    char options_path[JSON_PATH_MAX];
    json_t *options;
    int found;

    if (json_path_expect_object(object, path, err) < 0 ||
        json_path_get_absolute_path(object, path, "destination", JSON_PATH_REQUIRED,
                                    &mount->destination, err) < 0 ||
        json_path_get_string(object, path, "type", JSON_PATH_OPTIONAL, &mount->type, err) < 0 ||
        json_path_get_string(object, path, "source", JSON_PATH_OPTIONAL, &mount->source, err) < 0)
        return -1;
    /* Go writes an unset type as "" when it forgets omitempty. */
    if (mount->type != NULL && mount->type[0] == '\0') {
        free(mount->type);
        mount->type = NULL;
    }
    if (mount->type != NULL && strcmp(mount->type, "bind") == 0)
        mount->bind = true;
    found = json_path_get_array(object, path, "options", JSON_PATH_OPTIONAL, &options, err);
    if (found <= 0)
        return found;
    json_path_member(options_path, path, "options");
    return mount_parse_options(options, options_path, mount, err);
}

int oci_config_parse_mounts(json_t *mounts, const char *path, struct oci_config *config,
                            struct keel_error *err)
{
    char element_path[JSON_PATH_MAX];

    config->mounts = calloc(json_array_size(mounts) + 1, sizeof *config->mounts);
    if (config->mounts == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    config->mount_count = json_array_size(mounts);
    for (size_t i = 0; i < json_array_size(mounts); i++) {
        json_path_element(element_path, path, i);
        if (mount_parse(json_array_get(mounts, i), element_path, &config->mounts[i], err) < 0)
            return -1;
    }
    return 0;
}

void oci_config_free_mounts(struct oci_config *config)
{
    for (size_t i = 0; i < config->mount_count; i++) {
        free(config->mounts[i].destination);
        free(config->mounts[i].type);
        free(config->mounts[i].source);
        free(config->mounts[i].data);
    }
    free(config->mounts);
    config->mounts = NULL;
    config->mount_count = 0;
}
