/* oci_config_linux.c — the "linux" object: namespaces, id mappings, devices, resources, paths. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "oci_config_internal.h"

static const struct json_path_name namespace_types[] = {
    {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},   {NULL, 0},
};

static const struct json_path_name propagations[] = {
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
    {NULL, 0},
};

static const struct json_path_name personality_domains[] = {
    {"LINUX", PER_LINUX},
    {"LINUX32", PER_LINUX32},
    {NULL, 0},
};

static const struct json_path_name device_types[] = {
    {"c", 'c'}, {"b", 'b'}, {"u", 'u'}, {"p", 'p'}, {NULL, 0},
};

/* Cgroup device rules: "" is what Go writes for an unset type. */
static const struct json_path_name device_rule_types[] = {
    {"a", 'a'}, {"c", 'c'}, {"b", 'b'}, {"", 'a'}, {NULL, 0},
};

static int linux_parse_namespaces(json_t *linux_object, const char *parent,
                                  struct oci_config *config, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX], type_path[JSON_PATH_MAX];
    json_t *namespaces;
    unsigned long type;
    int found = json_path_get_array(linux_object, parent, "namespaces", JSON_PATH_OPTIONAL,
                                    &namespaces, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "namespaces");
    config->namespaces = calloc(json_array_size(namespaces) + 1, sizeof *config->namespaces);
    if (config->namespaces == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    for (size_t i = 0; i < json_array_size(namespaces); i++) {
        json_t *entry = json_array_get(namespaces, i);
        struct oci_namespace *namespace = &config->namespaces[i];
        json_path_element(element_path, path, i);
        if (json_path_expect_object(entry, element_path, err) < 0 ||
            json_path_get_name(entry, element_path, "type", JSON_PATH_REQUIRED, namespace_types,
                               "namespace type", &type, err) < 0)
            return -1;
        if (oci_config_namespace(config, (int)type) != NULL) {
            json_path_member(type_path, element_path, "type");
            return keel_error_invalid(err, "%s: namespace type \"%s\" given twice", type_path,
                                      json_string_value(json_object_get(entry, "type")));
        }
        namespace->type = (int)type;
        config->namespace_count = i + 1;
        if (json_path_get_string(entry, element_path, "path", JSON_PATH_OPTIONAL, &namespace->path,
                                 err) < 0)
            return -1;
        /* runc reads an empty path as none given: create the namespace. */
        if (namespace->path != NULL && namespace->path[0] == '\0') {
            free(namespace->path);
            namespace->path = NULL;
        }
    }
    return 0;
}

static int linux_parse_id_mappings(json_t *linux_object, const char *parent, const char *key,
                                   struct oci_id_mapping **mappings, size_t *count,
                                   struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *array;
    uint64_t container_id, host_id, size;
    int found = json_path_get_array(linux_object, parent, key, JSON_PATH_OPTIONAL, &array, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, key);
    *mappings = calloc(json_array_size(array) + 1, sizeof **mappings);
    if (*mappings == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    for (size_t i = 0; i < json_array_size(array); i++) {
        json_t *entry = json_array_get(array, i);
        json_path_element(element_path, path, i);
        if (json_path_expect_object(entry, element_path, err) < 0 ||
            json_path_get_uint64(entry, element_path, "containerID", JSON_PATH_REQUIRED, UINT32_MAX,
                                 &container_id, err) < 0 ||
            json_path_get_uint64(entry, element_path, "hostID", JSON_PATH_REQUIRED, UINT32_MAX,
                                 &host_id, err) < 0 ||
            json_path_get_uint64(entry, element_path, "size", JSON_PATH_REQUIRED, UINT32_MAX, &size,
                                 err) < 0)
            return -1;
        if (size == 0)
            return keel_error_invalid(err, "%s.size: must be at least 1", element_path);
        (*mappings)[i] = (struct oci_id_mapping){.container_id = (uint32_t)container_id,
                                                 .host_id = (uint32_t)host_id,
                                                 .size = (uint32_t)size};
        *count = i + 1;
    }
    return 0;
}

static int device_parse(json_t *object, const char *path, struct oci_device *device,
                        struct keel_error *err)
{
    enum json_path_presence numbers;
    unsigned long type;
    uint64_t mode, id;
    int found;

    if (json_path_expect_object(object, path, err) < 0)
        return -1;
    if (json_path_get_absolute_path(object, path, "path", JSON_PATH_REQUIRED, &device->path, err) <
        0)
        return -1;
    if (json_path_get_name(object, path, "type", JSON_PATH_REQUIRED, device_types, "device type",
                           &type, err) < 0)
        return -1;
    device->type = (char)type;
    /* A fifo has no device number. */
    numbers = device->type == 'p' ? JSON_PATH_OPTIONAL : JSON_PATH_REQUIRED;
    if (json_path_get_int64(object, path, "major", numbers, 0, UINT32_MAX, &device->major, err) < 0)
        return -1;
    if (json_path_get_int64(object, path, "minor", numbers, 0, UINT32_MAX, &device->minor, err) < 0)
        return -1;

    found =
        json_path_get_uint64(object, path, "fileMode", JSON_PATH_OPTIONAL, UINT32_MAX, &mode, err);
    if (found < 0)
        return -1;
    /* Some writers include the file type bits (S_IFCHR | 0666): they add
     * nothing to "type", so only the permission bits are kept. */
    if (found && (mode & ~(uint64_t)(S_IFMT | 07777)) != 0)
        return keel_error_invalid(err, "%s.fileMode: %#llo is not a file mode", path,
                                  (unsigned long long)mode);
    device->has_file_mode = found;
    device->file_mode = (mode_t)(found ? mode & 07777 : 0);

    found = json_path_get_uint64(object, path, "uid", JSON_PATH_OPTIONAL, UINT32_MAX, &id, err);
    if (found < 0)
        return -1;
    device->has_uid = found;
    device->uid = (uid_t)(found ? id : 0);
    found = json_path_get_uint64(object, path, "gid", JSON_PATH_OPTIONAL, UINT32_MAX, &id, err);
    if (found < 0)
        return -1;
    device->has_gid = found;
    device->gid = (gid_t)(found ? id : 0);
    return 0;
}

static int linux_parse_devices(json_t *linux_object, const char *parent, struct oci_config *config,
                               struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *devices;
    int found =
        json_path_get_array(linux_object, parent, "devices", JSON_PATH_OPTIONAL, &devices, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "devices");
    config->devices = calloc(json_array_size(devices) + 1, sizeof *config->devices);
    if (config->devices == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    config->device_count = json_array_size(devices);
    for (size_t i = 0; i < json_array_size(devices); i++) {
        json_path_element(element_path, path, i);
        if (device_parse(json_array_get(devices, i), element_path, &config->devices[i], err) < 0)
            return -1;
    }
    return 0;
}

/* access: a subset of "rwm"; "" or absent means all three. */
static int device_rule_parse_access(json_t *object, const char *path, unsigned *access,
                                    struct keel_error *err)
{
    char access_path[JSON_PATH_MAX];
    json_t *value;
    int found = json_path_get(object, path, "access", JSON_PATH_OPTIONAL, &value, err);

    *access = 0;
    if (found <= 0)
        return found;
    json_path_member(access_path, path, "access");
    if (json_path_expect_string(value, access_path, err) < 0)
        return -1;
    /* In the order of OCI_DEVICE_ACCESS_READ, _WRITE, _MKNOD. */
    static const char letters[] = "rwm";
    for (const char *c = json_string_value(value); *c != '\0'; c++) {
        const char *at = strchr(letters, *c);
        if (at == NULL)
            return keel_error_invalid(err, "%s: \"%s\" is not a subset of \"rwm\"", access_path,
                                      json_string_value(value));
        *access |= 1u << (at - letters);
    }
    return 0;
}

static int device_rule_parse(json_t *object, const char *path, struct oci_device_rule *rule,
                             struct keel_error *err)
{
    unsigned long type = 'a';

    rule->major = -1;
    rule->minor = -1;
    if (json_path_expect_object(object, path, err) < 0 ||
        json_path_get_bool(object, path, "allow", JSON_PATH_REQUIRED, &rule->allow, err) < 0 ||
        json_path_get_name(object, path, "type", JSON_PATH_OPTIONAL, device_rule_types,
                           "device type", &type, err) < 0 ||
        json_path_get_int64(object, path, "major", JSON_PATH_OPTIONAL, -1, UINT32_MAX, &rule->major,
                            err) < 0 ||
        json_path_get_int64(object, path, "minor", JSON_PATH_OPTIONAL, -1, UINT32_MAX, &rule->minor,
                            err) < 0 ||
        device_rule_parse_access(object, path, &rule->access, err) < 0)
        return -1;
    rule->type = (char)type;
    return 0;
}

/* A value where 0 means "not set" in runc's reading of the spec, else min..max. */
static int resources_get_optional_range(json_t *object, const char *parent, const char *key,
                                        uint64_t min, uint64_t max, bool *has, uint64_t *out,
                                        struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    int found = json_path_get_uint64(object, parent, key, JSON_PATH_OPTIONAL, UINT64_MAX, out, err);

    if (found < 0)
        return -1;
    if (found && *out != 0 && (*out < min || *out > max)) {
        json_path_member(path, parent, key);
        return keel_error_invalid(err, "%s: %llu is out of range %llu..%llu", path,
                                  (unsigned long long)*out, (unsigned long long)min,
                                  (unsigned long long)max);
    }
    *has = found && *out != 0;
    return 0;
}

static int resources_parse_memory(json_t *resources, const char *parent, struct oci_resources *out,
                                  struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *memory;
    int found;

    found = json_path_get_object(resources, parent, "memory", JSON_PATH_OPTIONAL, &memory, err);
    if (found <= 0)
        return found;
    json_path_member(path, parent, "memory");
    found = json_path_get_int64(memory, path, "limit", JSON_PATH_OPTIONAL, -1, INT64_MAX,
                                &out->memory_limit, err);
    if (found < 0)
        return -1;
    out->has_memory_limit = found;
    found = json_path_get_int64(memory, path, "reservation", JSON_PATH_OPTIONAL, -1, INT64_MAX,
                                &out->memory_reservation, err);
    if (found < 0)
        return -1;
    out->has_memory_reservation = found;
    found = json_path_get_int64(memory, path, "swap", JSON_PATH_OPTIONAL, -1, INT64_MAX,
                                &out->memory_swap, err);
    if (found < 0)
        return -1;
    out->has_memory_swap = found;
    return 0;
}

static int resources_parse_cpu(json_t *resources, const char *parent, struct oci_resources *out,
                               struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *cpu;
    int found;

    found = json_path_get_object(resources, parent, "cpu", JSON_PATH_OPTIONAL, &cpu, err);
    if (found <= 0)
        return found;
    json_path_member(path, parent, "cpu");
    if (resources_get_optional_range(cpu, path, "shares", 2, 262144, &out->has_cpu_shares,
                                     &out->cpu_shares, err) < 0)
        return -1;
    found = json_path_get_int64(cpu, path, "quota", JSON_PATH_OPTIONAL, -1, INT64_MAX,
                                &out->cpu_quota, err);
    if (found < 0)
        return -1;
    out->has_cpu_quota = found;
    found = json_path_get_uint64(cpu, path, "period", JSON_PATH_OPTIONAL, UINT64_MAX,
                                 &out->cpu_period, err);
    if (found < 0)
        return -1;
    out->has_cpu_period = found;
    if (json_path_get_string(cpu, path, "cpus", JSON_PATH_OPTIONAL, &out->cpu_cpus, err) < 0 ||
        json_path_get_string(cpu, path, "mems", JSON_PATH_OPTIONAL, &out->cpu_mems, err) < 0)
        return -1;
    return 0;
}

static int resources_parse_device_rules(json_t *resources, const char *parent,
                                        struct oci_resources *out, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *rules;
    int found = json_path_get_array(resources, parent, "devices", JSON_PATH_OPTIONAL, &rules, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "devices");
    out->device_rules = calloc(json_array_size(rules) + 1, sizeof *out->device_rules);
    if (out->device_rules == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    out->device_rule_count = json_array_size(rules);
    for (size_t i = 0; i < json_array_size(rules); i++) {
        json_path_element(element_path, path, i);
        json_t *rule = json_array_get(rules, i);
        if (device_rule_parse(rule, element_path, &out->device_rules[i], err) < 0)
            return -1;
    }
    return 0;
}

static int linux_parse_resources(json_t *linux_object, const char *parent,
                                 struct oci_config *config, struct keel_error *err)
{
    char path[JSON_PATH_MAX], member_path[JSON_PATH_MAX];
    struct oci_resources *out = &config->resources;
    json_t *resources, *member;
    uint64_t weight;
    int found = json_path_get_object(linux_object, parent, "resources", JSON_PATH_OPTIONAL,
                                     &resources, err);

    if (found <= 0)
        return found;
    config->has_resources = true;
    json_path_member(path, parent, "resources");
    if (resources_parse_memory(resources, path, out, err) < 0 ||
        resources_parse_cpu(resources, path, out, err) < 0 ||
        resources_parse_device_rules(resources, path, out, err) < 0 ||
        oci_json_get_string_map(resources, path, "unified", &out->unified, &out->unified_count,
                                err) < 0)
        return -1;

    found = json_path_get_object(resources, path, "pids", JSON_PATH_OPTIONAL, &member, err);
    if (found < 0)
        return -1;
    if (found) {
        json_path_member(member_path, path, "pids");
        if (json_path_get_int64(member, member_path, "limit", JSON_PATH_REQUIRED, INT64_MIN,
                                INT64_MAX, &out->pids_limit, err) < 0)
            return -1;
        out->has_pids_limit = true;
    }

    found = json_path_get_object(resources, path, "blockIO", JSON_PATH_OPTIONAL, &member, err);
    if (found < 0)
        return -1;
    if (found) {
        json_path_member(member_path, path, "blockIO");
        bool has_weight = false;
        if (resources_get_optional_range(member, member_path, "weight", 10, 1000, &has_weight,
                                         &weight, err) < 0)
            return -1;
        out->has_blockio_weight = has_weight;
        out->blockio_weight = has_weight ? (uint16_t)weight : 0;
    }
    return 0;
}

static int linux_parse_personality(json_t *linux_object, const char *parent,
                                   struct oci_config *config, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *personality;
    int found = json_path_get_object(linux_object, parent, "personality", JSON_PATH_OPTIONAL,
                                     &personality, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "personality");
    if (json_path_get_name(personality, path, "domain", JSON_PATH_REQUIRED, personality_domains,
                           "personality domain", &config->personality, err) < 0)
        return -1;
    config->has_personality = true;
    return 0;
}

static int linux_parse_seccomp(json_t *linux_object, const char *parent, struct oci_config *config,
                               struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *seccomp;
    int found =
        json_path_get_object(linux_object, parent, "seccomp", JSON_PATH_OPTIONAL, &seccomp, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "seccomp");
    return oci_config_parse_seccomp(seccomp, path, &config->seccomp, err);
}

int oci_config_parse_linux(json_t *linux_object, const char *path, struct oci_config *config,
                           struct keel_error *err)
{
    unsigned long propagation = 0;

    if (linux_object == NULL) {
        config->masked_paths = json_path_strings_new_empty();
        config->readonly_paths = json_path_strings_new_empty();
        if (config->masked_paths == NULL || config->readonly_paths == NULL)
            return keel_error_set(err, ENOMEM, "%s", path);
        return 0;
    }
    if (linux_parse_namespaces(linux_object, path, config, err) < 0 ||
        linux_parse_id_mappings(linux_object, path, "uidMappings", &config->uid_mappings,
                                &config->uid_mapping_count, err) < 0 ||
        linux_parse_id_mappings(linux_object, path, "gidMappings", &config->gid_mappings,
                                &config->gid_mapping_count, err) < 0 ||
        linux_parse_devices(linux_object, path, config, err) < 0 ||
        json_path_get_string(linux_object, path, "cgroupsPath", JSON_PATH_OPTIONAL,
                             &config->cgroups_path, err) < 0 ||
        linux_parse_resources(linux_object, path, config, err) < 0 ||
        linux_parse_seccomp(linux_object, path, config, err) < 0 ||
        json_path_get_strings(linux_object, path, "maskedPaths", JSON_PATH_OPTIONAL,
                              &config->masked_paths, err) < 0 ||
        json_path_get_strings(linux_object, path, "readonlyPaths", JSON_PATH_OPTIONAL,
                              &config->readonly_paths, err) < 0 ||
        oci_json_get_string_map(linux_object, path, "sysctl", &config->sysctls,
                                &config->sysctl_count, err) < 0 ||
        json_path_get_name(linux_object, path, "rootfsPropagation", JSON_PATH_OPTIONAL,
                           propagations, "propagation", &propagation, err) < 0 ||
        linux_parse_personality(linux_object, path, config, err) < 0 ||
        json_path_get_string(linux_object, path, "mountLabel", JSON_PATH_OPTIONAL,
                             &config->mount_label, err) < 0)
        return -1;
    config->rootfs_propagation = propagation;
    return 0;
}

void oci_config_free_linux(struct oci_config *config)
{
    for (size_t i = 0; i < config->namespace_count; i++)
        free(config->namespaces[i].path);
    free(config->namespaces);
    free(config->uid_mappings);
    free(config->gid_mappings);
    for (size_t i = 0; i < config->device_count; i++)
        free(config->devices[i].path);
    free(config->devices);
    free(config->cgroups_path);
    free(config->resources.cpu_cpus);
    free(config->resources.cpu_mems);
    free(config->resources.device_rules);
    oci_key_values_free(config->resources.unified, config->resources.unified_count);
    oci_config_free_seccomp(config->seccomp);
    json_path_strings_free(config->masked_paths);
    json_path_strings_free(config->readonly_paths);
    oci_key_values_free(config->sysctls, config->sysctl_count);
    free(config->mount_label);
}
