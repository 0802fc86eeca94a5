/* oci_spec_seccomp.c — the default seccomp profile (compiled in) resolved for a capability set. */
#include "oci_spec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/utsname.h>

#ifndef KEEL_DATA_DIR
#error "KEEL_DATA_DIR must name engine/data (the Makefile passes it)"
#endif

/* The profile is part of the binary: the engine needs no file at run time.
 * The NUL after the end makes it a C string as well. */
__asm__(".pushsection .rodata\n"
        ".global oci_spec_seccomp_profile_start\n"
        ".hidden oci_spec_seccomp_profile_start\n"
        ".type oci_spec_seccomp_profile_start, @object\n"
        "oci_spec_seccomp_profile_start:\n"
        ".incbin \"" KEEL_DATA_DIR "/seccomp-default.json\"\n"
        ".global oci_spec_seccomp_profile_end\n"
        ".hidden oci_spec_seccomp_profile_end\n"
        "oci_spec_seccomp_profile_end:\n"
        ".byte 0\n"
        ".popsection\n");

extern const char oci_spec_seccomp_profile_start[];
extern const char oci_spec_seccomp_profile_end[];

/* The native architecture under both of the names the profile uses: the
 * SCMP_ARCH_* of "archMap" and Go's GOARCH of "includes"/"excludes"
 * "arches" (Docker compares those against GOARCH). */
#if defined(__x86_64__)
#define NATIVE_SECCOMP_ARCHITECTURE "SCMP_ARCH_X86_64"
#define NATIVE_PROFILE_ARCHITECTURE "amd64"
#elif defined(__aarch64__)
#define NATIVE_SECCOMP_ARCHITECTURE "SCMP_ARCH_AARCH64"
#define NATIVE_PROFILE_ARCHITECTURE "arm64"
#else
#error "the default seccomp profile knows x86_64 and aarch64 only"
#endif

struct kernel_version {
    unsigned major, minor;
};

/* "6.1.0-13-amd64" or "4.8": the first two numbers, as Docker compares them. */
static bool kernel_version_parse(const char *text, struct kernel_version *version)
{
    return sscanf(text, "%u.%u", &version->major, &version->minor) == 2;
}

static bool kernel_version_at_least(const struct kernel_version *running,
                                    const struct kernel_version *wanted)
{
    if (running->major != wanted->major)
        return running->major > wanted->major;
    return running->minor >= wanted->minor;
}

/* What decides which entries of the profile apply. */
struct profile_target {
    uint64_t capabilities;
    struct kernel_version kernel;
};

static bool strings_contain(json_t *array, const char *wanted)
{
    size_t i;
    json_t *item;

    json_array_foreach(array, i, item)
    {
        if (json_is_string(item) && strcmp(json_string_value(item), wanted) == 0)
            return true;
    }
    return false;
}

/* How many of the capabilities listed in caps the target holds. */
static int capabilities_held(json_t *caps, uint64_t held, size_t *count, const char *where,
                             struct keel_error *err)
{
    size_t i;
    json_t *item;

    *count = 0;
    json_array_foreach(caps, i, item)
    {
        cap_value_t number;
        if (!json_is_string(item) || cap_from_name(json_string_value(item), &number) < 0 ||
            number < 0 || number > 63)
            return keel_error_invalid(err, "%s.caps[%zu]: not a known capability", where, i);
        if (held & (UINT64_C(1) << number))
            (*count)++;
    }
    return 0;
}

/* Docker's reading of "includes" and "excludes": an entry applies when the
 * native architecture is among includes.arches (if given), every one of
 * includes.caps is held, the kernel is at least includes.minKernel; and
 * the native architecture is not among excludes.arches, none of
 * excludes.caps is held, the kernel is below excludes.minKernel. */
static int profile_filter_matches(json_t *filter, bool include, const struct profile_target *target,
                                  const char *where, bool *matches, struct keel_error *err)
{
    if (!json_is_object(filter)) {
        *matches = include; /* absent: includes everything, excludes nothing */
        return 0;
    }

    json_t *arches = json_object_get(filter, "arches");
    json_t *caps = json_object_get(filter, "caps");
    json_t *min_kernel = json_object_get(filter, "minKernel");
    bool arch_listed = strings_contain(arches, NATIVE_PROFILE_ARCHITECTURE);
    size_t caps_held;
    if (capabilities_held(caps, target->capabilities, &caps_held, where, err) < 0)
        return -1;
    bool kernel_reached = true;
    if (min_kernel != NULL) {
        struct kernel_version wanted;
        if (!json_is_string(min_kernel) ||
            !kernel_version_parse(json_string_value(min_kernel), &wanted))
            return keel_error_invalid(err, "%s.minKernel: not a kernel version", where);
        kernel_reached = kernel_version_at_least(&target->kernel, &wanted);
    }

    if (include)
        *matches = (json_array_size(arches) == 0 || arch_listed) &&
                   caps_held == json_array_size(caps) && kernel_reached;
    else
        *matches = arch_listed || caps_held > 0 || (min_kernel != NULL && kernel_reached);
    return 0;
}

/* The entry in OCI's form: names, action, errnoRet and args; the
 * conditions are what made it apply, so they stay behind. */
static int profile_entry_to_oci(json_t *entry, const char *where, json_t **syscall,
                                struct keel_error *err)
{
    json_t *names = json_object_get(entry, "names");
    json_t *action = json_object_get(entry, "action");
    json_t *errno_return = json_object_get(entry, "errnoRet");
    json_t *args = json_object_get(entry, "args");

    if (!json_is_array(names) || json_array_size(names) == 0)
        return keel_error_invalid(err, "%s.names: not a list of syscalls", where);
    if (!json_is_string(action))
        return keel_error_invalid(err, "%s.action: not an action", where);
    if (errno_return != NULL && !json_is_integer(errno_return))
        return keel_error_invalid(err, "%s.errnoRet: not a number", where);
    if (args != NULL && !json_is_array(args))
        return keel_error_invalid(err, "%s.args: not a list", where);

    *syscall = json_pack("{s:O, s:O}", "names", names, "action", action);
    if (*syscall == NULL)
        return keel_error_set(err, ENOMEM, "%s", where);
    if ((errno_return != NULL && json_object_set(*syscall, "errnoRet", errno_return) < 0) ||
        (json_array_size(args) > 0 &&
         json_object_set_new(*syscall, "args", json_deep_copy(args)) < 0)) {
        json_decref(*syscall);
        *syscall = NULL;
        return keel_error_set(err, ENOMEM, "%s", where);
    }
    return 0;
}

static int profile_resolve_syscalls(json_t *profile, const struct profile_target *target,
                                    json_t *syscalls, struct keel_error *err)
{
    json_t *entries = json_object_get(profile, "syscalls");
    size_t i;
    json_t *entry;

    if (!json_is_array(entries))
        return keel_error_invalid(err, "syscalls: not a list");
    json_array_foreach(entries, i, entry)
    {
        char where[64];
        bool included, excluded;
        json_t *syscall;

        snprintf(where, sizeof where, "syscalls[%zu]", i);
        if (!json_is_object(entry))
            return keel_error_invalid(err, "%s: not an object", where);
        snprintf(where, sizeof where, "syscalls[%zu].includes", i);
        if (profile_filter_matches(json_object_get(entry, "includes"), true, target, where,
                                   &included, err) < 0)
            return -1;
        snprintf(where, sizeof where, "syscalls[%zu].excludes", i);
        if (profile_filter_matches(json_object_get(entry, "excludes"), false, target, where,
                                   &excluded, err) < 0)
            return -1;
        if (!included || excluded)
            continue;
        snprintf(where, sizeof where, "syscalls[%zu]", i);
        if (profile_entry_to_oci(entry, where, &syscall, err) < 0)
            return -1;
        if (json_array_append_new(syscalls, syscall) < 0)
            return keel_error_set(err, ENOMEM, "%s", where);
    }
    return 0;
}

/* archMap's entry for the native architecture: it and its sub-architectures. */
static int profile_resolve_architectures(json_t *profile, json_t *architectures,
                                         struct keel_error *err)
{
    size_t i;
    json_t *map;

    json_array_foreach(json_object_get(profile, "archMap"), i, map)
    {
        json_t *architecture = json_object_get(map, "architecture");
        json_t *subarchitectures = json_object_get(map, "subArchitectures");
        if (!json_is_string(architecture) ||
            strcmp(json_string_value(architecture), NATIVE_SECCOMP_ARCHITECTURE) != 0)
            continue;
        if (json_array_append(architectures, architecture) < 0 ||
            (json_is_array(subarchitectures) &&
             json_array_extend(architectures, subarchitectures) < 0))
            return keel_error_set(err, ENOMEM, "archMap[%zu]", i);
        return 0;
    }
    return 0;
}

static int oci_spec_resolve_profile(json_t *profile, const struct profile_target *target,
                                    json_t **seccomp, struct keel_error *err)
{
    json_t *default_action = json_object_get(profile, "defaultAction");
    json_t *default_errno = json_object_get(profile, "defaultErrnoRet");
    json_t *resolved = NULL;

    if (!json_is_string(default_action))
        return keel_error_invalid(err, "defaultAction: not an action");
    if (default_errno != NULL && !json_is_integer(default_errno))
        return keel_error_invalid(err, "defaultErrnoRet: not a number");
    resolved = json_pack("{s:O}", "defaultAction", default_action);
    if (resolved == NULL)
        return keel_error_set(err, ENOMEM, "seccomp profile");

    json_t *architectures = json_array();
    json_t *syscalls = json_array();
    int rc = -1;
    if ((default_errno != NULL &&
         json_object_set(resolved, "defaultErrnoRet", default_errno) < 0) ||
        json_object_set_new(resolved, "architectures", architectures) < 0 ||
        json_object_set_new(resolved, "syscalls", syscalls) < 0)
        keel_error_set(err, ENOMEM, "seccomp profile");
    else if (profile_resolve_architectures(profile, architectures, err) == 0 &&
             profile_resolve_syscalls(profile, target, syscalls, err) == 0)
        rc = 0;
    if (rc < 0) {
        json_decref(resolved);
        return -1;
    }
    *seccomp = resolved;
    return 0;
}

int oci_spec_default_seccomp(uint64_t capabilities, json_t **seccomp, struct keel_error *err)
{
    struct profile_target target = {.capabilities = capabilities};
    size_t length = (size_t)(oci_spec_seccomp_profile_end - oci_spec_seccomp_profile_start);
    struct utsname system;
    json_error_t parse_error;

    *seccomp = NULL;
    if (uname(&system) < 0)
        return keel_error_set(err, errno, "default seccomp profile: uname");
    if (!kernel_version_parse(system.release, &target.kernel))
        return keel_error_invalid(err, "default seccomp profile: kernel release \"%s\"",
                                  system.release);

    json_t *profile = json_loadb(oci_spec_seccomp_profile_start, length, 0, &parse_error);
    if (profile == NULL)
        return keel_error_invalid(err, "seccomp-default.json line %d: %s", parse_error.line,
                                  parse_error.text);
    int rc = oci_spec_resolve_profile(profile, &target, seccomp, err);
    json_decref(profile);
    if (rc < 0)
        return keel_error_prefix(err, "seccomp-default.json");
    return 0;
}
