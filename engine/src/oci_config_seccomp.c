/* oci_config_seccomp.c — "linux.seccomp": actions, architectures, flags, rules, as libseccomp's. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "oci_config_internal.h"

/* With -Isrc, <seccomp.h> finds Keel's src/seccomp.h instead of libseccomp's. */
#ifndef SCMP_VER_MAJOR
#error "<seccomp.h> is not libseccomp's: build src/ without -Isrc (tests: -iquote src)"
#endif

static const struct json_path_name seccomp_actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
    {NULL, 0},
};

static const struct json_path_name seccomp_operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {NULL, 0},
};

enum seccomp_flag {
    FLAG_LOG,
    FLAG_SPEC_ALLOW,
    FLAG_WAIT_KILLABLE_RECV,
};

static const struct json_path_name seccomp_flags[] = {
    {"SECCOMP_FILTER_FLAG_LOG", FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", FLAG_WAIT_KILLABLE_RECV},
    {NULL, 0},
};

/* The spec's architecture names and libseccomp's (seccomp_arch_resolve_name). */
static const struct {
    const char *oci;
    const char *libseccomp;
} seccomp_architectures[] = {
    {"SCMP_ARCH_X86", "x86"},
    {"SCMP_ARCH_X86_64", "x86_64"},
    {"SCMP_ARCH_X32", "x32"},
    {"SCMP_ARCH_ARM", "arm"},
    {"SCMP_ARCH_AARCH64", "aarch64"},
    {"SCMP_ARCH_MIPS", "mips"},
    {"SCMP_ARCH_MIPS64", "mips64"},
    {"SCMP_ARCH_MIPS64N32", "mips64n32"},
    {"SCMP_ARCH_MIPSEL", "mipsel"},
    {"SCMP_ARCH_MIPSEL64", "mipsel64"},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32"},
    {"SCMP_ARCH_PPC", "ppc"},
    {"SCMP_ARCH_PPC64", "ppc64"},
    {"SCMP_ARCH_PPC64LE", "ppc64le"},
    {"SCMP_ARCH_S390", "s390"},
    {"SCMP_ARCH_S390X", "s390x"},
    {"SCMP_ARCH_PARISC", "parisc"},
    {"SCMP_ARCH_PARISC64", "parisc64"},
    {"SCMP_ARCH_RISCV64", "riscv64"},
};

/* An action with its errno folded in: SCMP_ACT_ERRNO(n), SCMP_ACT_TRACE(n),
 * n = EPERM when errno_key is absent, as runc does. Like runc, an errno given
 * to another action is ignored. */
static int seccomp_read_action(json_t *object, const char *parent, const char *action_key,
                               const char *errno_key, uint32_t *action, struct keel_error *err)
{
    unsigned long base;
    uint64_t errno_value = EPERM;

    if (json_path_get_name(object, parent, action_key, JSON_PATH_REQUIRED, seccomp_actions,
                           "seccomp action", &base, err) < 0 ||
        json_path_get_uint64(object, parent, errno_key, JSON_PATH_OPTIONAL, UINT16_MAX,
                             &errno_value, err) < 0)
        return -1;
    if (base == SCMP_ACT_ERRNO(0))
        *action = SCMP_ACT_ERRNO((uint32_t)errno_value);
    else if (base == SCMP_ACT_TRACE(0))
        *action = SCMP_ACT_TRACE((uint32_t)errno_value);
    else
        *action = (uint32_t)base;
    return 0;
}

static int seccomp_parse_architectures(json_t *object, const char *parent,
                                       struct oci_seccomp *seccomp, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    char **names = NULL;

    if (json_path_get_strings(object, parent, "architectures", JSON_PATH_OPTIONAL, &names, err) < 0)
        return -1;
    /* Owned by seccomp from here, even half-translated. */
    seccomp->architectures = names;
    json_path_member(path, parent, "architectures");
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t known = 0;
        while (known < sizeof seccomp_architectures / sizeof seccomp_architectures[0] &&
               strcmp(seccomp_architectures[known].oci, names[i]) != 0)
            known++;
        if (known == sizeof seccomp_architectures / sizeof seccomp_architectures[0]) {
            json_path_element(element_path, path, i);
            return keel_error_invalid(err, "%s: unknown architecture \"%s\"", element_path,
                                      names[i]);
        }
        char *libseccomp_name = strdup(seccomp_architectures[known].libseccomp);
        if (libseccomp_name == NULL)
            return keel_error_set(err, ENOMEM, "%s", path);
        free(names[i]);
        names[i] = libseccomp_name;
    }
    return 0;
}

static int seccomp_parse_flags(json_t *object, const char *parent, struct oci_seccomp *seccomp,
                               struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *flags;
    unsigned long flag;
    int found = json_path_get_array(object, parent, "flags", JSON_PATH_OPTIONAL, &flags, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "flags");
    for (size_t i = 0; i < json_array_size(flags); i++) {
        json_path_element(element_path, path, i);
        if (json_path_read_name(json_array_get(flags, i), element_path, seccomp_flags,
                                "seccomp flag", &flag, err) < 0)
            return -1;
        switch ((enum seccomp_flag)flag) {
        case FLAG_LOG:
            seccomp->flag_log = true;
            break;
        case FLAG_SPEC_ALLOW:
            seccomp->flag_spec_allow = true;
            break;
        case FLAG_WAIT_KILLABLE_RECV:
            seccomp->flag_wait_kill_recv = true;
            break;
        }
    }
    return 0;
}

static int seccomp_argument_parse(json_t *object, const char *path,
                                  struct oci_seccomp_argument *argument, struct keel_error *err)
{
    uint64_t index;
    unsigned long op;

    if (json_path_expect_object(object, path, err) < 0 ||
        json_path_get_uint64(object, path, "index", JSON_PATH_REQUIRED, 5, &index, err) < 0 ||
        json_path_get_uint64(object, path, "value", JSON_PATH_REQUIRED, UINT64_MAX,
                             &argument->value, err) < 0 ||
        json_path_get_uint64(object, path, "valueTwo", JSON_PATH_OPTIONAL, UINT64_MAX,
                             &argument->value_two, err) < 0 ||
        json_path_get_name(object, path, "op", JSON_PATH_REQUIRED, seccomp_operators,
                           "seccomp operator", &op, err) < 0)
        return -1;
    argument->index = (unsigned)index;
    argument->op = (int)op;
    return 0;
}

static int seccomp_rule_parse(json_t *object, const char *path, struct oci_seccomp_rule *rule,
                              struct keel_error *err)
{
    char names_path[JSON_PATH_MAX], args_path[JSON_PATH_MAX];
    char element_path[JSON_PATH_MAX];
    json_t *arguments;
    int found;

    if (json_path_expect_object(object, path, err) < 0 ||
        json_path_get_strings(object, path, "names", JSON_PATH_REQUIRED, &rule->names, err) < 0)
        return -1;
    json_path_member(names_path, path, "names");
    if (rule->names[0] == NULL)
        return keel_error_invalid(err, "%s: must not be empty", names_path);
    for (size_t i = 0; rule->names[i] != NULL; i++) {
        if (rule->names[i][0] == '\0') {
            json_path_element(element_path, names_path, i);
            return keel_error_invalid(err, "%s: empty syscall name", element_path);
        }
    }
    if (seccomp_read_action(object, path, "action", "errnoRet", &rule->action, err) < 0)
        return -1;

    found = json_path_get_array(object, path, "args", JSON_PATH_OPTIONAL, &arguments, err);
    if (found <= 0)
        return found;
    json_path_member(args_path, path, "args");
    rule->arguments = calloc(json_array_size(arguments) + 1, sizeof *rule->arguments);
    if (rule->arguments == NULL)
        return keel_error_set(err, ENOMEM, "%s", args_path);
    rule->argument_count = json_array_size(arguments);
    for (size_t i = 0; i < json_array_size(arguments); i++) {
        json_path_element(element_path, args_path, i);
        if (seccomp_argument_parse(json_array_get(arguments, i), element_path, &rule->arguments[i],
                                   err) < 0)
            return -1;
    }
    return 0;
}

static int seccomp_parse_rules(json_t *object, const char *parent, struct oci_seccomp *seccomp,
                               struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *syscalls;
    int found = json_path_get_array(object, parent, "syscalls", JSON_PATH_OPTIONAL, &syscalls, err);

    if (found <= 0)
        return found;
    json_path_member(path, parent, "syscalls");
    seccomp->rules = calloc(json_array_size(syscalls) + 1, sizeof *seccomp->rules);
    if (seccomp->rules == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    seccomp->rule_count = json_array_size(syscalls);
    for (size_t i = 0; i < json_array_size(syscalls); i++) {
        json_path_element(element_path, path, i);
        json_t *rule = json_array_get(syscalls, i);
        if (seccomp_rule_parse(rule, element_path, &seccomp->rules[i], err) < 0)
            return -1;
    }
    return 0;
}

int oci_config_parse_seccomp(json_t *seccomp_object, const char *path, struct oci_seccomp **seccomp,
                             struct keel_error *err)
{
    struct oci_seccomp *parsed = calloc(1, sizeof *parsed);

    if (parsed == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    /* Reachable from the config at once, so that an error frees it too. */
    *seccomp = parsed;
    if (seccomp_read_action(seccomp_object, path, "defaultAction", "defaultErrnoRet",
                            &parsed->default_action, err) < 0 ||
        seccomp_parse_architectures(seccomp_object, path, parsed, err) < 0 ||
        seccomp_parse_flags(seccomp_object, path, parsed, err) < 0 ||
        json_path_get_string(seccomp_object, path, "listenerPath", JSON_PATH_OPTIONAL,
                             &parsed->listener_path, err) < 0 ||
        json_path_get_string(seccomp_object, path, "listenerMetadata", JSON_PATH_OPTIONAL,
                             &parsed->listener_metadata, err) < 0 ||
        seccomp_parse_rules(seccomp_object, path, parsed, err) < 0)
        return -1;
    return 0;
}

void oci_config_free_seccomp(struct oci_seccomp *seccomp)
{
    if (seccomp == NULL)
        return;
    json_path_strings_free(seccomp->architectures);
    free(seccomp->listener_path);
    free(seccomp->listener_metadata);
    for (size_t i = 0; i < seccomp->rule_count; i++) {
        json_path_strings_free(seccomp->rules[i].names);
        free(seccomp->rules[i].arguments);
    }
    free(seccomp->rules);
    free(seccomp);
}
