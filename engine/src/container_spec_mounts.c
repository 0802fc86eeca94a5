/* container_spec_mounts.c — a container's mounts: defaults, Binds, host /dev/shm, /etc files. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "container_spec_internal.h"
#include "json_path.h"
#include "rootfs_path.h"

#define HOST "HostConfig"

static const char *const network_files[] = {"hostname", "hosts", "resolv.conf", NULL};

/* Docker's volume name: a bind source that is not a path names a volume. */
static bool bind_is_volume_name(const char *text)
{
    if (!isalnum((unsigned char)text[0]) || text[1] == '\0')
        return false;
    for (const char *c = text + 1; *c != '\0'; c++)
        if (!isalnum((unsigned char)*c) && strchr("_.-", *c) == NULL)
            return false;
    return true;
}

/* The mode part of a bind: "ro"/"rw", a propagation, SELinux's z/Z
 * (nothing to relabel without SELinux), comma-separated. */
static int bind_parse_mode(char *mode, const char *path, bool *readonly, const char **propagation,
                           struct keel_error *err)
{
    static const char *const propagations[] = {"private", "rprivate", "shared", "rshared",
                                               "slave",   "rslave",   NULL};
    int access_count = 0, propagation_count = 0;

    *readonly = false;
    *propagation = "rprivate";
    if (mode == NULL)
        return 0;
    for (char *token; (token = strsep(&mode, ",")) != NULL;) {
        if (strcmp(token, "ro") == 0 || strcmp(token, "rw") == 0) {
            *readonly = token[1] == 'o';
            access_count++;
        } else if (container_spec_strings_contain(propagations, token)) {
            /* Kept beyond mode's lifetime: point at the table's copy. */
            for (size_t i = 0; propagations[i] != NULL; i++)
                if (strcmp(propagations[i], token) == 0)
                    *propagation = propagations[i];
            propagation_count++;
        } else if (strcmp(token, "z") != 0 && strcmp(token, "Z") != 0) {
            return keel_error_invalid(err, "%s: invalid mode \"%s\"", path, token);
        }
    }
    if (access_count > 1 || propagation_count > 1)
        return keel_error_invalid(err, "%s: invalid mode: more than one %s", path,
                                  access_count > 1 ? "of ro and rw" : "propagation");
    return 0;
}

static json_t *bind_entry(const char *destination, const char *source, bool readonly,
                          const char *propagation)
{
    return json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", destination, "type", "bind",
                     "source", source, "options", "rbind", readonly ? "ro" : "rw", propagation);
}

/* Whether mounts already has one at destination. */
static bool mounts_have(json_t *mounts, const char *destination)
{
    json_t *mount;
    size_t i;

    json_array_foreach(mounts, i, mount)
    {
        if (strcmp(json_string_value(json_object_get(mount, "destination")), destination) == 0)
            return true;
    }
    return false;
}

/* "/src:/dst[:MODE]": Docker's Linux parser, binds of absolute host paths only. */
static int bind_parse(const char *text, const char *path, json_t *mounts, const char **propagation,
                      struct keel_error *err)
{
    char source[PATH_MAX], destination[PATH_MAX];
    bool readonly;
    _cleanup_free_ char *copy = strdup(text);

    if (copy == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    char *cursor = copy;
    char *source_text = strsep(&cursor, ":");
    char *destination_text = strsep(&cursor, ":");
    char *mode = strsep(&cursor, ":");
    if (destination_text == NULL || cursor != NULL || source_text[0] == '\0')
        return keel_error_invalid(err, "%s: invalid volume specification \"%s\"", path, text);
    if (source_text[0] != '/' && bind_is_volume_name(source_text))
        return keel_error_invalid(err,
                                  "%s: named volume \"%s\" is not supported (bind mounts of "
                                  "absolute host paths only)",
                                  path, source_text);
    if (source_text[0] != '/')
        return keel_error_invalid(err, "%s: source \"%s\" is not an absolute path", path,
                                  source_text);
    if (destination_text[0] != '/')
        return keel_error_invalid(err, "%s: destination \"%s\" is not an absolute path", path,
                                  destination_text);
    if (rootfs_path_clean(source_text, source, sizeof source) < 0 ||
        rootfs_path_clean(destination_text, destination, sizeof destination) < 0)
        return keel_error_set(err, ENAMETOOLONG, "%s", path);
    if (strcmp(destination, "/") == 0)
        return keel_error_invalid(err, "%s: destination can't be '/'", path);
    if (bind_parse_mode(mode, path, &readonly, propagation, err) < 0)
        return -1;
    if (mounts_have(mounts, destination))
        return keel_error_invalid(err, "%s: Duplicate mount point: %s", path, destination);
    json_t *entry = bind_entry(destination, source, readonly, *propagation);
    if (entry == NULL || json_array_append_new(mounts, entry) < 0)
        return keel_error_set(err, ENOMEM, "%s", path);
    return 0;
}

/* A shared or slave bind needs the root to propagate too, as Docker sets it. */
static int bind_apply_propagation(json_t *linux_section, const char *propagation,
                                  struct keel_error *err)
{
    const char *root = json_string_value(json_object_get(linux_section, "rootfsPropagation"));
    bool root_shared = root != NULL && strstr(root, "shared") != NULL;
    bool root_slave = root != NULL && strstr(root, "slave") != NULL;

    if (strstr(propagation, "shared") != NULL && !root_shared)
        return container_spec_json_set(linux_section, "rootfsPropagation", json_string("shared"),
                                       err);
    if (strstr(propagation, "slave") != NULL && !root_shared && !root_slave)
        return container_spec_json_set(linux_section, "rootfsPropagation", json_string("rslave"),
                                       err);
    return 0;
}

static int binds_read(json_t *host_config, json_t *linux_section, json_t *mounts,
                      struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *binds, *bind;
    size_t i;
    int found = json_path_get_array(host_config, HOST, "Binds", JSON_PATH_OPTIONAL, &binds, err);

    if (found <= 0)
        return found;
    json_path_member(path, HOST, "Binds");
    json_array_foreach(binds, i, bind)
    {
        const char *propagation;
        json_path_element(element_path, path, i);
        if (json_path_expect_string(bind, element_path, err) < 0 ||
            bind_parse(json_string_value(bind), element_path, mounts, &propagation, err) < 0 ||
            bind_apply_propagation(linux_section, propagation, err) < 0)
            return -1;
    }
    return 0;
}

/* /etc/hostname, /etc/hosts, /etc/resolv.conf from files, each when there
 * and not bound by the request; writable unless the root is read-only, as
 * Docker's NetworkMounts. */
static int network_files_add(const char *files, bool readonly, json_t *mounts,
                             struct keel_error *err)
{
    char source[PATH_MAX], destination[PATH_MAX];
    struct stat info;

    for (size_t i = 0; files != NULL && network_files[i] != NULL; i++) {
        snprintf(destination, sizeof destination, "/etc/%s", network_files[i]);
        if (snprintf(source, sizeof source, "%s/%s", files, network_files[i]) >= (int)sizeof source)
            return keel_error_set(err, ENAMETOOLONG, "%s/%s", files, network_files[i]);
        if (stat(source, &info) < 0 || !S_ISREG(info.st_mode) || mounts_have(mounts, destination))
            continue;
        json_t *entry = bind_entry(destination, source, readonly, "rprivate");
        if (entry == NULL || json_array_append_new(mounts, entry) < 0)
            return keel_error_set(err, ENOMEM, "mount %s", destination);
    }
    return 0;
}

static size_t mount_depth(json_t *mount)
{
    const char *destination = json_string_value(json_object_get(mount, "destination"));
    size_t depth = 0;

    for (const char *c = destination; *c != '\0'; c++)
        depth += *c == '/';
    return depth;
}

/* Parents before children, as Docker sorts its mounts; stable otherwise. */
static void mounts_sort(json_t *mounts)
{
    for (size_t i = 1; i < json_array_size(mounts); i++) {
        json_t *mount = json_incref(json_array_get(mounts, i));
        size_t j = i;
        while (j > 0 && mount_depth(json_array_get(mounts, j - 1)) > mount_depth(mount)) {
            json_array_set(mounts, j, json_array_get(mounts, j - 1));
            j--;
        }
        json_array_set_new(mounts, j, mount);
    }
}

/* Drop "ro" from a mount's options (privileged /sys and cgroup). */
static void mount_clear_readonly(json_t *mount)
{
    json_t *options = json_object_get(mount, "options");

    for (size_t i = 0; i < json_array_size(options);) {
        if (strcmp(json_string_value(json_array_get(options, i)), "ro") == 0)
            json_array_remove(options, i);
        else
            i++;
    }
}

/* /dev/shm's size: "size=" replaced by ShmSize bytes. */
static int mount_set_size(json_t *mount, int64_t size, struct keel_error *err)
{
    char option[64];
    json_t *options = json_object_get(mount, "options");

    snprintf(option, sizeof option, "size=%lld", (long long)size);
    for (size_t i = 0; i < json_array_size(options); i++) {
        if (strncmp(json_string_value(json_array_get(options, i)), "size=", 5) == 0 &&
            json_array_set_new(options, i, json_string(option)) < 0)
            return keel_error_set(err, ENOMEM, "/dev/shm");
    }
    return 0;
}

/* Keel's default mounts less the ones the request replaces, then the
 * request's: Binds, the host's /dev/shm for IpcMode host, the files. */
int container_spec_mounts_apply(json_t *host_config, const struct container_spec_host *host,
                                const char *files, json_t *config, struct keel_error *err)
{
    json_t *linux_section = json_object_get(config, "linux");
    json_t *defaults = json_object_get(config, "mounts"), *mount;
    _cleanup_json_ json_t *mounts = json_array();
    _cleanup_json_ json_t *user = json_array();
    int64_t shm_size = 0;
    size_t i;

    if (mounts == NULL || user == NULL)
        return keel_error_set(err, ENOMEM, "mounts");
    if (json_path_get_int64(host_config, HOST, "ShmSize", JSON_PATH_OPTIONAL, 0, INT64_MAX,
                            &shm_size, err) < 0 ||
        binds_read(host_config, linux_section, user, err) < 0)
        return -1;
    if (host->ipc_host && !mounts_have(user, "/dev/shm") &&
        json_array_append_new(user, bind_entry("/dev/shm", "/dev/shm", false, "rprivate")) < 0)
        return keel_error_set(err, ENOMEM, "mount /dev/shm");
    if (network_files_add(files, host->readonly_rootfs, user, err) < 0)
        return -1;
    mounts_sort(user);

    bool user_dev = mounts_have(user, "/dev");
    json_array_foreach(defaults, i, mount)
    {
        const char *destination = json_string_value(json_object_get(mount, "destination"));
        if (mounts_have(user, destination) || (user_dev && strncmp(destination, "/dev/", 5) == 0) ||
            (host->ipc_none && strcmp(destination, "/dev/shm") == 0))
            continue;
        if (strcmp(destination, "/dev/shm") == 0 && shm_size > 0 &&
            mount_set_size(mount, shm_size, err) < 0)
            return -1;
        /* Docker's privileged container gets /sys and its cgroups read-write. */
        if (host->privileged &&
            (strcmp(destination, "/sys") == 0 || strcmp(destination, "/sys/fs/cgroup") == 0))
            mount_clear_readonly(mount);
        if (json_array_append(mounts, mount) < 0)
            return keel_error_set(err, ENOMEM, "mounts");
    }
    if (json_array_extend(mounts, user) < 0)
        return keel_error_set(err, ENOMEM, "mounts");
    return container_spec_json_set(config, "mounts", json_incref(mounts), err);
}
