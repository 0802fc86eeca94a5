/* oci_config.c — config.json's top level, process, root, hooks, annotations; capability names. */
#include "oci_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "oci_config_internal.h"

/* The bitmasks of oci_process hold capability numbers 0..63. */
_Static_assert(CAP_LAST_CAP < 64, "capability sets are 64-bit masks");

#define CAPABILITY_NAME_MAX 32

/* libcap's names ("cap_sys_admin") in the spec's spelling ("CAP_SYS_ADMIN"),
 * built once: libcap hands out heap copies, this keeps static ones. */
static char capability_names[64][CAPABILITY_NAME_MAX];
static int capability_name_count;
static pthread_once_t capability_names_once = PTHREAD_ONCE_INIT;

static void capability_names_build(void)
{
    for (int number = 0; number < 64; number++) {
        char *name = cap_to_name(number);
        if (name == NULL)
            return;
        /* Past the capabilities libcap knows it answers with the number. */
        bool known = strncmp(name, "cap_", 4) == 0 && strlen(name) < CAPABILITY_NAME_MAX;
        for (size_t i = 0; known && name[i] != '\0'; i++)
            capability_names[number][i] = (char)toupper((unsigned char)name[i]);
        cap_free(name);
        if (!known)
            return;
        capability_name_count = number + 1;
    }
}

const char *oci_capability_name(int number)
{
    pthread_once(&capability_names_once, capability_names_build);
    if (number < 0 || number >= capability_name_count)
        return NULL;
    return capability_names[number];
}

int oci_capability_from_name(const char *name)
{
    cap_value_t number;

    if (strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &number) < 0)
        return -1;
    /* cap_from_name also takes lower case, numbers and a known name followed
     * by junk ("CAP_CHOWN1"): only the exact upper-case name counts. */
    const char *canonical = oci_capability_name(number);
    if (canonical == NULL || strcmp(canonical, name) != 0)
        return -1;
    return number;
}

static const struct json_path_name rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {NULL, 0},
};

static const char *const capability_set_keys[OCI_CAPS_SET_COUNT] = {
    [OCI_CAPS_BOUNDING] = "bounding",       [OCI_CAPS_EFFECTIVE] = "effective",
    [OCI_CAPS_INHERITABLE] = "inheritable", [OCI_CAPS_PERMITTED] = "permitted",
    [OCI_CAPS_AMBIENT] = "ambient",
};

static const char *const hook_kind_keys[OCI_HOOK_KIND_COUNT] = {
    [OCI_HOOK_PRESTART] = "prestart",
    [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
    [OCI_HOOK_START_CONTAINER] = "startContainer",
    [OCI_HOOK_POSTSTART] = "poststart",
    [OCI_HOOK_POSTSTOP] = "poststop",
};

static void json_decref_pointer(json_t **json)
{
    json_decref(*json);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_pointer)))

/* An environment: strings that must each be KEY=VALUE. */
static int read_environment(json_t *object, const char *parent, const char *key, char ***env,
                            struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];

    if (json_path_get_strings(object, parent, key, JSON_PATH_OPTIONAL, env, err) < 0)
        return -1;
    json_path_member(path, parent, key);
    for (size_t i = 0; (*env)[i] != NULL; i++) {
        if (strchr((*env)[i], '=') == NULL) {
            json_path_element(element_path, path, i);
            return keel_error_invalid(err, "%s: expected KEY=VALUE, not \"%s\"", element_path,
                                      (*env)[i]);
        }
    }
    return 0;
}

static int process_parse_console_size(json_t *process_object, const char *parent,
                                      struct oci_process *process, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *size;
    uint64_t height, width;
    int found =
        json_path_get_object(process_object, parent, "consoleSize", JSON_PATH_OPTIONAL, &size, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "consoleSize");
    if (json_path_get_uint64(size, path, "height", JSON_PATH_REQUIRED, UINT_MAX, &height, err) <
            0 ||
        json_path_get_uint64(size, path, "width", JSON_PATH_REQUIRED, UINT_MAX, &width, err) < 0)
        return -1;
    process->console_height = (unsigned)height;
    process->console_width = (unsigned)width;
    return 0;
}

static int process_parse_user(json_t *process_object, const char *parent,
                              struct oci_process *process, struct keel_error *err)
{
    char path[JSON_PATH_MAX], gids_path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *user, *gids;
    uint64_t number;
    int found;

    /* runc takes a missing user as root; the spec's uid and gid are required within. */
    found = json_path_get_object(process_object, parent, "user", JSON_PATH_OPTIONAL, &user, err);
    if (found <= 0)
        return found;
    json_path_member(path, parent, "user");
    if (json_path_get_uint64(user, path, "uid", JSON_PATH_REQUIRED, UINT32_MAX, &number, err) < 0)
        return -1;
    process->uid = (uid_t)number;
    if (json_path_get_uint64(user, path, "gid", JSON_PATH_REQUIRED, UINT32_MAX, &number, err) < 0)
        return -1;
    process->gid = (gid_t)number;
    found = json_path_get_uint64(user, path, "umask", JSON_PATH_OPTIONAL, 0777, &number, err);
    if (found < 0)
        return -1;
    process->has_umask = found;
    process->umask = found ? (mode_t)number : 0;

    found = json_path_get_array(user, path, "additionalGids", JSON_PATH_OPTIONAL, &gids, err);
    if (found <= 0)
        return found;
    json_path_member(gids_path, path, "additionalGids");
    process->additional_gids = calloc(json_array_size(gids) + 1, sizeof(gid_t));
    if (process->additional_gids == NULL)
        return keel_error_set(err, ENOMEM, "%s", gids_path);
    for (size_t i = 0; i < json_array_size(gids); i++) {
        json_path_element(element_path, gids_path, i);
        json_t *gid = json_array_get(gids, i);
        if (json_path_read_uint64(gid, element_path, UINT32_MAX, &number, err) < 0)
            return -1;
        process->additional_gids[i] = (gid_t)number;
        process->additional_gid_count = i + 1;
    }
    return 0;
}

static int process_parse_capabilities(json_t *process_object, const char *parent,
                                      struct oci_process *process, struct keel_error *err)
{
    char path[JSON_PATH_MAX], set_path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *capabilities, *names;
    int found = json_path_get_object(process_object, parent, "capabilities", JSON_PATH_OPTIONAL,
                                     &capabilities, err);

    if (found <= 0)
        return found;
    process->has_capabilities = true;
    json_path_member(path, parent, "capabilities");
    for (int set = 0; set < OCI_CAPS_SET_COUNT; set++) {
        found = json_path_get_array(capabilities, path, capability_set_keys[set],
                                    JSON_PATH_OPTIONAL, &names, err);
        if (found < 0)
            return -1;
        if (found == 0)
            continue;
        json_path_member(set_path, path, capability_set_keys[set]);
        for (size_t i = 0; i < json_array_size(names); i++) {
            json_t *name = json_array_get(names, i);
            json_path_element(element_path, set_path, i);
            if (json_path_expect_string(name, element_path, err) < 0)
                return -1;
            int number = oci_capability_from_name(json_string_value(name));
            if (number < 0)
                return keel_error_invalid(err, "%s: unknown capability \"%s\"", element_path,
                                          json_string_value(name));
            process->capabilities[set] |= UINT64_C(1) << number;
        }
    }
    return 0;
}

static int process_parse_rlimits(json_t *process_object, const char *parent,
                                 struct oci_process *process, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX], type_path[JSON_PATH_MAX];
    json_t *rlimits;
    unsigned long resource;
    int found =
        json_path_get_array(process_object, parent, "rlimits", JSON_PATH_OPTIONAL, &rlimits, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "rlimits");
    process->rlimits = calloc(json_array_size(rlimits) + 1, sizeof *process->rlimits);
    if (process->rlimits == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    for (size_t i = 0; i < json_array_size(rlimits); i++) {
        json_t *entry = json_array_get(rlimits, i);
        struct oci_rlimit *rlimit = &process->rlimits[i];
        json_path_element(element_path, path, i);
        if (json_path_expect_object(entry, element_path, err) < 0 ||
            json_path_get_name(entry, element_path, "type", JSON_PATH_REQUIRED, rlimit_names,
                               "rlimit type", &resource, err) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (process->rlimits[j].resource == (int)resource) {
                json_path_member(type_path, element_path, "type");
                return keel_error_invalid(err, "%s: %s given twice", type_path,
                                          json_string_value(json_object_get(entry, "type")));
            }
        }
        rlimit->resource = (int)resource;
        if (json_path_get_uint64(entry, element_path, "soft", JSON_PATH_REQUIRED, UINT64_MAX,
                                 &rlimit->soft, err) < 0 ||
            json_path_get_uint64(entry, element_path, "hard", JSON_PATH_REQUIRED, UINT64_MAX,
                                 &rlimit->hard, err) < 0)
            return -1;
        process->rlimit_count = i + 1;
    }
    return 0;
}

/* The process object at path (empty: the document itself). */
static int process_parse(json_t *object, const char *path, struct oci_process *process,
                         struct keel_error *err)
{
    char args_path[JSON_PATH_MAX];
    int64_t oom_score_adj;
    int found;

    if (json_path_get_strings(object, path, "args", JSON_PATH_REQUIRED, &process->args, err) < 0)
        return -1;
    if (process->args[0] == NULL) {
        json_path_member(args_path, path, "args");
        return keel_error_invalid(err, "%s: must not be empty", args_path);
    }
    if (json_path_get_absolute_path(object, path, "cwd", JSON_PATH_REQUIRED, &process->cwd, err) <
        0)
        return -1;
    if (json_path_get_bool(object, path, "terminal", JSON_PATH_OPTIONAL, &process->terminal, err) <
        0)
        return -1;
    if (read_environment(object, path, "env", &process->env, err) < 0 ||
        process_parse_console_size(object, path, process, err) < 0 ||
        process_parse_user(object, path, process, err) < 0 ||
        process_parse_capabilities(object, path, process, err) < 0 ||
        process_parse_rlimits(object, path, process, err) < 0 ||
        json_path_get_bool(object, path, "noNewPrivileges", JSON_PATH_OPTIONAL,
                           &process->no_new_privileges, err) < 0 ||
        json_path_get_string(object, path, "apparmorProfile", JSON_PATH_OPTIONAL,
                             &process->apparmor_profile, err) < 0 ||
        json_path_get_string(object, path, "selinuxLabel", JSON_PATH_OPTIONAL,
                             &process->selinux_label, err) < 0)
        return -1;
    found = json_path_get_int64(object, path, "oomScoreAdj", JSON_PATH_OPTIONAL, -1000, 1000,
                                &oom_score_adj, err);
    if (found < 0)
        return -1;
    process->has_oom_score_adj = found;
    process->oom_score_adj = found ? (int)oom_score_adj : 0;
    return 0;
}

static int hook_parse(json_t *object, const char *path, struct oci_hook *hook,
                      struct keel_error *err)
{
    int64_t timeout;
    int found;

    if (json_path_expect_object(object, path, err) < 0 ||
        json_path_get_absolute_path(object, path, "path", JSON_PATH_REQUIRED, &hook->path, err) <
            0 ||
        json_path_get_strings(object, path, "args", JSON_PATH_OPTIONAL, &hook->args, err) < 0 ||
        read_environment(object, path, "env", &hook->env, err) < 0)
        return -1;
    found =
        json_path_get_int64(object, path, "timeout", JSON_PATH_OPTIONAL, 1, INT_MAX, &timeout, err);
    if (found < 0)
        return -1;
    hook->timeout = found ? (int)timeout : 0;
    return 0;
}

static int config_parse_hooks(json_t *document, struct oci_config *config, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *hooks, *list;
    int found = json_path_get_object(document, "", "hooks", JSON_PATH_OPTIONAL, &hooks, err);

    if (found <= 0)
        return found;
    for (int kind = 0; kind < OCI_HOOK_KIND_COUNT; kind++) {
        found = json_path_get_array(hooks, "hooks", hook_kind_keys[kind], JSON_PATH_OPTIONAL, &list,
                                    err);
        if (found < 0)
            return -1;
        if (found == 0)
            continue;
        json_path_member(path, "hooks", hook_kind_keys[kind]);
        config->hooks[kind].hooks = calloc(json_array_size(list) + 1, sizeof(struct oci_hook));
        if (config->hooks[kind].hooks == NULL)
            return keel_error_set(err, ENOMEM, "%s", path);
        config->hooks[kind].count = json_array_size(list);
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_path_element(element_path, path, i);
            if (hook_parse(json_array_get(list, i), element_path, &config->hooks[kind].hooks[i],
                           err) < 0)
                return -1;
        }
    }
    return 0;
}

static int config_parse_root(json_t *document, struct oci_config *config, struct keel_error *err)
{
    json_t *root;

    if (json_path_get_object(document, "", "root", JSON_PATH_REQUIRED, &root, err) < 0 ||
        json_path_get_string(root, "root", "path", JSON_PATH_REQUIRED, &config->root_path, err) <
            0 ||
        json_path_get_bool(root, "root", "readonly", JSON_PATH_OPTIONAL, &config->root_readonly,
                           err) < 0)
        return -1;
    if (config->root_path[0] == '\0')
        return keel_error_invalid(err, "root.path: must not be empty");
    return 0;
}

static int config_parse_document(json_t *document, struct oci_config *config,
                                 struct keel_error *err)
{
    json_t *member;
    int found;

    if (json_path_get_string(document, "", "ociVersion", JSON_PATH_REQUIRED, &config->oci_version,
                             err) < 0)
        return -1;
    found = json_path_get_object(document, "", "process", JSON_PATH_OPTIONAL, &member, err);
    if (found < 0)
        return -1;
    config->has_process = found;
    if (found && process_parse(member, "process", &config->process, err) < 0)
        return -1;
    if (config_parse_root(document, config, err) < 0)
        return -1;
    if (json_path_get_string(document, "", "hostname", JSON_PATH_OPTIONAL, &config->hostname, err) <
            0 ||
        json_path_get_string(document, "", "domainname", JSON_PATH_OPTIONAL, &config->domainname,
                             err) < 0)
        return -1;
    found = json_path_get_array(document, "", "mounts", JSON_PATH_OPTIONAL, &member, err);
    if (found < 0 || (found && oci_config_parse_mounts(member, "mounts", config, err) < 0))
        return -1;
    if (config_parse_hooks(document, config, err) < 0 ||
        oci_json_get_string_map(document, "", "annotations", &config->annotations,
                                &config->annotation_count, err) < 0)
        return -1;
    found = json_path_get_object(document, "", "linux", JSON_PATH_OPTIONAL, &member, err);
    if (found < 0)
        return -1;
    return oci_config_parse_linux(found ? member : NULL, "linux", config, err);
}

int oci_config_parse(const char *text, size_t length, struct oci_config **config,
                     struct keel_error *err)
{
    _cleanup_json_ json_t *document = NULL;
    struct oci_config *parsed;

    if (oci_json_decode(text, length, &document, err) < 0)
        return -1;
    parsed = calloc(1, sizeof *parsed);
    if (parsed == NULL)
        return keel_error_set(err, ENOMEM, "config");
    if (config_parse_document(document, parsed, err) < 0) {
        oci_config_free(parsed);
        return -1;
    }
    *config = parsed;
    return 0;
}

int oci_process_parse(const char *text, size_t length, struct oci_process *process,
                      struct keel_error *err)
{
    _cleanup_json_ json_t *document = NULL;

    memset(process, 0, sizeof *process);
    if (oci_json_decode(text, length, &document, err) < 0)
        return -1;
    if (process_parse(document, "", process, err) < 0) {
        oci_process_free(process);
        return -1;
    }
    return 0;
}

int oci_config_read_text(const char *path, char **text, size_t *length, struct keel_error *err)
{
    if (file_read_text_limited(path, OCI_CONFIG_SIZE_MAX, text, length, err) == 0)
        return 0;
    if (err->errno_value == EFBIG)
        return keel_error_invalid(err, "%s: more than the %u MiB allowed", path,
                                  OCI_CONFIG_SIZE_MAX >> 20);
    return keel_error_set(err, err->errno_value, "read %s", path);
}

int oci_config_load(const char *path, struct oci_config **config, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length = 0;

    if (oci_config_read_text(path, &text, &length, err) < 0)
        return -1;
    if (oci_config_parse(text, length, config, err) < 0)
        return keel_error_prefix(err, "%s", path);
    return 0;
}

const struct oci_namespace *oci_config_namespace(const struct oci_config *config, int type)
{
    for (size_t i = 0; i < config->namespace_count; i++) {
        if (config->namespaces[i].type == type)
            return &config->namespaces[i];
    }
    return NULL;
}

void oci_process_free(struct oci_process *process)
{
    free(process->additional_gids);
    json_path_strings_free(process->args);
    json_path_strings_free(process->env);
    free(process->cwd);
    free(process->rlimits);
    free(process->apparmor_profile);
    free(process->selinux_label);
    memset(process, 0, sizeof *process);
}

void oci_config_free(struct oci_config *config)
{
    if (config == NULL)
        return;
    free(config->oci_version);
    oci_process_free(&config->process);
    free(config->root_path);
    free(config->hostname);
    free(config->domainname);
    oci_config_free_mounts(config);
    for (int kind = 0; kind < OCI_HOOK_KIND_COUNT; kind++) {
        for (size_t i = 0; i < config->hooks[kind].count; i++) {
            free(config->hooks[kind].hooks[i].path);
            json_path_strings_free(config->hooks[kind].hooks[i].args);
            json_path_strings_free(config->hooks[kind].hooks[i].env);
        }
        free(config->hooks[kind].hooks);
    }
    oci_key_values_free(config->annotations, config->annotation_count);
    oci_config_free_linux(config);
    free(config);
}
