/* test_oci_spec.c — unit tests of oci_spec*.c: default config, default seccomp, config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci_spec.h"
#include "seccomp.h"

/* libseccomp's header (SCMP_ACT_*, SCMP_CMP_*): needs src/ on the quoted
 * include path only (-iquote src), as its name is also ours. */
#include <seccomp.h>
#ifndef SCMP_ACT_ALLOW
#error "compile with -iquote src, not -Isrc: src/seccomp.h hides libseccomp's <seccomp.h>"
#endif

#define CLONE_NAMESPACE_FLAGS 0x7E020000u

static const char *const docker_capabilities[] = {"CAP_CHOWN",
                                                  "CAP_DAC_OVERRIDE",
                                                  "CAP_FSETID",
                                                  "CAP_FOWNER",
                                                  "CAP_MKNOD",
                                                  "CAP_NET_RAW",
                                                  "CAP_SETGID",
                                                  "CAP_SETUID",
                                                  "CAP_SETFCAP",
                                                  "CAP_SETPCAP",
                                                  "CAP_NET_BIND_SERVICE",
                                                  "CAP_SYS_CHROOT",
                                                  "CAP_KILL",
                                                  "CAP_AUDIT_WRITE",
                                                  NULL};

/* Space-separated. */
static const char refused_by_default[] =
    "unshare mount umount2 keyctl add_key request_key bpf kexec_load kexec_file_load "
    "pivot_root setns reboot init_module finit_module delete_module "
    "open_by_handle_at userfaultfd perf_event_open clone3 setdomainname sethostname "
    "syslog acct settimeofday clock_settime iopl ioperm kcmp fsopen move_mount "
    "open_tree quotactl lookup_dcookie vhangup mbind s390_runtime_instr "
    "riscv_flush_icache set_tls";

static uint64_t capability_bit(int number)
{
    return UINT64_C(1) << number;
}

static json_t *default_config(void)
{
    json_t *config = NULL;
    struct keel_error err;

    assert_int_equal(oci_spec_default_config(&config, &err), 0);
    assert_non_null(config);
    return config;
}

static json_t *resolved_seccomp(uint64_t capabilities)
{
    json_t *seccomp = NULL;
    struct keel_error err;

    assert_int_equal(oci_spec_default_seccomp(capabilities, &seccomp, &err), 0);
    assert_non_null(seccomp);
    return seccomp;
}

static bool array_has_string(json_t *array, const char *wanted)
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

static void assert_strings_equal(json_t *array, const char *const *expected)
{
    size_t count = 0;

    assert_true(json_is_array(array));
    for (; expected[count] != NULL; count++) {
        json_t *item = json_array_get(array, count);
        assert_true(json_is_string(item));
        assert_string_equal(json_string_value(item), expected[count]);
    }
    assert_int_equal(json_array_size(array), count);
}

static json_t *path_get(json_t *root, const char *first, const char *second)
{
    json_t *value = json_object_get(root, first);
    return second == NULL ? value : json_object_get(value, second);
}

static void test_default_process(void **state)
{
    json_t *config = default_config();
    json_t *process = json_object_get(config, "process");
    json_t *capabilities = json_object_get(process, "capabilities");
    static const char *const sh[] = {"sh", NULL};
    static const char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
    static const char *const none[] = {NULL};
    (void)state;

    assert_string_equal(json_string_value(json_object_get(config, "ociVersion")), "1.1.0");
    assert_true(json_is_false(json_object_get(process, "terminal")));
    assert_int_equal(json_integer_value(path_get(process, "user", "uid")), 0);
    assert_int_equal(json_integer_value(path_get(process, "user", "gid")), 0);
    assert_strings_equal(json_object_get(process, "args"), sh);
    assert_strings_equal(json_object_get(process, "env"), env);
    assert_string_equal(json_string_value(json_object_get(process, "cwd")), "/");
    assert_strings_equal(json_object_get(capabilities, "bounding"), docker_capabilities);
    assert_strings_equal(json_object_get(capabilities, "effective"), docker_capabilities);
    assert_strings_equal(json_object_get(capabilities, "permitted"), docker_capabilities);
    assert_strings_equal(json_object_get(capabilities, "inheritable"), none);
    assert_strings_equal(json_object_get(capabilities, "ambient"), none);
    assert_false(array_has_string(json_object_get(capabilities, "bounding"), "CAP_SYS_ADMIN"));

    json_t *rlimit = json_array_get(json_object_get(process, "rlimits"), 0);
    assert_int_equal(json_array_size(json_object_get(process, "rlimits")), 1);
    assert_string_equal(json_string_value(json_object_get(rlimit, "type")), "RLIMIT_NOFILE");
    assert_int_equal(json_integer_value(json_object_get(rlimit, "soft")), 1024);
    assert_int_equal(json_integer_value(json_object_get(rlimit, "hard")), 1024);
    assert_true(json_is_true(json_object_get(process, "noNewPrivileges")));

    assert_string_equal(json_string_value(path_get(config, "root", "path")), "rootfs");
    assert_true(json_is_true(path_get(config, "root", "readonly")));
    assert_string_equal(json_string_value(json_object_get(config, "hostname")), "keel");
    json_decref(config);
}

static void test_default_capability_mask(void **state)
{
    uint64_t expected =
        capability_bit(CAP_CHOWN) | capability_bit(CAP_DAC_OVERRIDE) | capability_bit(CAP_FSETID) |
        capability_bit(CAP_FOWNER) | capability_bit(CAP_MKNOD) | capability_bit(CAP_NET_RAW) |
        capability_bit(CAP_SETGID) | capability_bit(CAP_SETUID) | capability_bit(CAP_SETFCAP) |
        capability_bit(CAP_SETPCAP) | capability_bit(CAP_NET_BIND_SERVICE) |
        capability_bit(CAP_SYS_CHROOT) | capability_bit(CAP_KILL) | capability_bit(CAP_AUDIT_WRITE);
    (void)state;

    assert_int_equal(oci_spec_default_capabilities, expected);
    assert_int_equal(__builtin_popcountll(oci_spec_default_capabilities), 14);
}

static void test_default_mounts(void **state)
{
    static const struct {
        const char *destination, *type, *source, *options[8];
    } expected[] = {
        {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev", NULL}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
        {"/sys/fs/cgroup",
         "cgroup2",
         "cgroup",
         {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
        {"/dev/shm",
         "tmpfs",
         "shm",
         {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    };
    json_t *config = default_config();
    json_t *mounts = json_object_get(config, "mounts");
    (void)state;

    assert_int_equal(json_array_size(mounts), sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        json_t *mount = json_array_get(mounts, i);
        assert_string_equal(json_string_value(json_object_get(mount, "destination")),
                            expected[i].destination);
        assert_string_equal(json_string_value(json_object_get(mount, "type")), expected[i].type);
        assert_string_equal(json_string_value(json_object_get(mount, "source")),
                            expected[i].source);
        assert_strings_equal(json_object_get(mount, "options"), expected[i].options);
    }
    json_decref(config);
}

static void test_default_namespaces_leave_out_user_and_time(void **state)
{
    static const char *const expected[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    json_t *config = default_config();
    json_t *namespaces = path_get(config, "linux", "namespaces");
    (void)state;

    assert_int_equal(json_array_size(namespaces), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *namespace = json_array_get(namespaces, i);
        assert_string_equal(json_string_value(json_object_get(namespace, "type")), expected[i]);
        assert_null(json_object_get(namespace, "path"));
    }
    assert_null(path_get(config, "linux", "uidMappings"));
    json_decref(config);
}

static void test_default_masked_and_readonly_paths(void **state)
{
    static const char *const masked[] = {"/proc/asound",
                                         "/proc/acpi",
                                         "/proc/kcore",
                                         "/proc/keys",
                                         "/proc/latency_stats",
                                         "/proc/timer_list",
                                         "/proc/timer_stats",
                                         "/proc/sched_debug",
                                         "/proc/scsi",
                                         "/sys/firmware",
                                         "/sys/devices/virtual/powercap",
                                         NULL};
    static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
    json_t *config = default_config();
    (void)state;

    assert_strings_equal(path_get(config, "linux", "maskedPaths"), masked);
    assert_strings_equal(path_get(config, "linux", "readonlyPaths"), readonly);
    for (size_t i = 0; masked[i] != NULL; i++)
        assert_string_equal(oci_spec_default_masked_paths[i], masked[i]);
    assert_null(oci_spec_default_masked_paths[11]);
    for (size_t i = 0; readonly[i] != NULL; i++)
        assert_string_equal(oci_spec_default_readonly_paths[i], readonly[i]);
    assert_null(oci_spec_default_readonly_paths[5]);
    json_decref(config);
}

/* Is there a rule (allow, type, major, minor, access); -1 for an absent number. */
static bool has_device_rule(json_t *rules, bool allow, const char *type, int major, int minor,
                            const char *access)
{
    size_t i;
    json_t *rule;

    json_array_foreach(rules, i, rule)
    {
        json_t *rule_type = json_object_get(rule, "type");
        json_t *rule_major = json_object_get(rule, "major");
        json_t *rule_minor = json_object_get(rule, "minor");
        if (json_is_true(json_object_get(rule, "allow")) == allow &&
            (type == NULL ? rule_type == NULL
                          : rule_type != NULL && strcmp(json_string_value(rule_type), type) == 0) &&
            (major < 0 ? rule_major == NULL : json_integer_value(rule_major) == major) &&
            (minor < 0 ? rule_minor == NULL : json_integer_value(rule_minor) == minor) &&
            strcmp(json_string_value(json_object_get(rule, "access")), access) == 0)
            return true;
    }
    return false;
}

static void test_default_device_allowlist(void **state)
{
    json_t *config = default_config();
    json_t *rules = json_object_get(path_get(config, "linux", "resources"), "devices");
    json_t *first = json_array_get(rules, 0);
    (void)state;

    /* Deny everything first; later rules win. */
    assert_true(json_is_false(json_object_get(first, "allow")));
    assert_null(json_object_get(first, "type"));
    assert_string_equal(json_string_value(json_object_get(first, "access")), "rwm");

    assert_true(has_device_rule(rules, true, "c", -1, -1, "m"));
    assert_true(has_device_rule(rules, true, "b", -1, -1, "m"));
    assert_true(has_device_rule(rules, true, "c", 1, 3, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 1, 5, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 1, 7, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 1, 8, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 1, 9, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 5, 0, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 5, 1, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 5, 2, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 136, -1, "rwm"));
    assert_true(has_device_rule(rules, true, "c", 10, 200, "rwm"));
    /* After the first, only allows; a whole class (no major) only for mknod. */
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        if (i == 0)
            continue;
        assert_true(json_is_true(json_object_get(rule, "allow")));
        if (json_object_get(rule, "major") == NULL)
            assert_string_equal(json_string_value(json_object_get(rule, "access")), "m");
    }
    json_decref(config);
}

static void test_default_config_carries_the_resolved_profile(void **state)
{
    json_t *config = default_config();
    json_t *seccomp = resolved_seccomp(oci_spec_default_capabilities);
    (void)state;

    assert_true(json_equal(path_get(config, "linux", "seccomp"), seccomp));
    json_decref(seccomp);
    json_decref(config);
}

/* The entries of the resolved profile with this action naming syscall. */
static size_t count_entries(json_t *seccomp, const char *syscall, const char *action)
{
    size_t i, count = 0;
    json_t *entry;

    json_array_foreach(json_object_get(seccomp, "syscalls"), i, entry)
    {
        if (array_has_string(json_object_get(entry, "names"), syscall) &&
            strcmp(json_string_value(json_object_get(entry, "action")), action) == 0)
            count++;
    }
    return count;
}

/* Allowed whatever its arguments. */
static bool allowed_unconditionally(json_t *seccomp, const char *syscall)
{
    size_t i;
    json_t *entry;

    json_array_foreach(json_object_get(seccomp, "syscalls"), i, entry)
    {
        if (array_has_string(json_object_get(entry, "names"), syscall) &&
            strcmp(json_string_value(json_object_get(entry, "action")), "SCMP_ACT_ALLOW") == 0 &&
            json_array_size(json_object_get(entry, "args")) == 0)
            return true;
    }
    return false;
}

static json_t *only_entry(json_t *seccomp, const char *syscall, const char *action)
{
    size_t i;
    json_t *entry, *found = NULL;

    assert_int_equal(count_entries(seccomp, syscall, action), 1);
    json_array_foreach(json_object_get(seccomp, "syscalls"), i, entry)
    {
        if (array_has_string(json_object_get(entry, "names"), syscall) &&
            strcmp(json_string_value(json_object_get(entry, "action")), action) == 0)
            found = entry;
    }
    return found;
}

static bool kernel_at_least(unsigned major, unsigned minor)
{
    struct utsname system;
    unsigned running_major, running_minor;

    assert_int_equal(uname(&system), 0);
    assert_int_equal(sscanf(system.release, "%u.%u", &running_major, &running_minor), 2);
    return running_major > major || (running_major == major && running_minor >= minor);
}

static void test_default_seccomp_for_docker_capabilities(void **state)
{
    static const char *const architectures[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                "SCMP_ARCH_X32", NULL};
    json_t *seccomp = resolved_seccomp(oci_spec_default_capabilities);
    size_t i;
    json_t *entry;
    (void)state;

    assert_string_equal(json_string_value(json_object_get(seccomp, "defaultAction")),
                        "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(seccomp, "defaultErrnoRet")), 1);
    assert_strings_equal(json_object_get(seccomp, "architectures"), architectures);
    json_array_foreach(json_object_get(seccomp, "syscalls"), i, entry)
    {
        assert_null(json_object_get(entry, "includes"));
        assert_null(json_object_get(entry, "excludes"));
        assert_null(json_object_get(entry, "comment"));
    }

    char *names = strdup(refused_by_default), *cursor = names, *name;
    assert_non_null(names);
    while ((name = strsep(&cursor, " ")) != NULL) {
        if (count_entries(seccomp, name, "SCMP_ACT_ALLOW") != 0)
            fail_msg("%s is allowed", name);
    }
    free(names);
    assert_true(allowed_unconditionally(seccomp, "getpid"));
    assert_true(allowed_unconditionally(seccomp, "chroot"));     /* CAP_SYS_CHROOT */
    assert_true(allowed_unconditionally(seccomp, "arch_prctl")); /* amd64 */
    assert_true(allowed_unconditionally(seccomp, "modify_ldt"));
    assert_int_equal(allowed_unconditionally(seccomp, "ptrace"), kernel_at_least(4, 8));

    /* clone only without namespace flags. */
    json_t *clone = only_entry(seccomp, "clone", "SCMP_ACT_ALLOW");
    json_t *condition = json_array_get(json_object_get(clone, "args"), 0);
    assert_int_equal(json_array_size(json_object_get(clone, "args")), 1);
    assert_int_equal(json_integer_value(json_object_get(condition, "index")), 0);
    assert_int_equal(json_integer_value(json_object_get(condition, "value")),
                     CLONE_NAMESPACE_FLAGS);
    assert_int_equal(json_integer_value(json_object_get(condition, "valueTwo")), 0);
    assert_string_equal(json_string_value(json_object_get(condition, "op")), "SCMP_CMP_MASKED_EQ");

    /* clone3 fails with ENOSYS, so libcs fall back to clone. */
    json_t *clone3 = only_entry(seccomp, "clone3", "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);

    /* socket only with conditions, personality only with the five values. */
    assert_false(allowed_unconditionally(seccomp, "socket"));
    assert_int_equal(count_entries(seccomp, "socket", "SCMP_ACT_ALLOW"), 3);
    assert_false(allowed_unconditionally(seccomp, "personality"));
    assert_int_equal(count_entries(seccomp, "personality", "SCMP_ACT_ALLOW"), 5);
    json_decref(seccomp);
}

static void test_default_seccomp_with_sys_admin(void **state)
{
    json_t *seccomp =
        resolved_seccomp(oci_spec_default_capabilities | capability_bit(CAP_SYS_ADMIN));
    (void)state;

    assert_true(allowed_unconditionally(seccomp, "mount"));
    assert_true(allowed_unconditionally(seccomp, "umount2"));
    assert_true(allowed_unconditionally(seccomp, "unshare"));
    assert_true(allowed_unconditionally(seccomp, "setns"));
    assert_true(allowed_unconditionally(seccomp, "clone"));
    assert_true(allowed_unconditionally(seccomp, "clone3"));
    assert_true(allowed_unconditionally(seccomp, "bpf"));
    /* The conditioned clone and the ENOSYS clone3 are for those without it. */
    assert_int_equal(count_entries(seccomp, "clone", "SCMP_ACT_ALLOW"), 1);
    assert_int_equal(count_entries(seccomp, "clone3", "SCMP_ACT_ERRNO"), 0);
    /* Still refused: no capability of the profile grants these. */
    assert_int_equal(count_entries(seccomp, "keyctl", "SCMP_ACT_ALLOW"), 0);
    assert_int_equal(count_entries(seccomp, "kexec_load", "SCMP_ACT_ALLOW"), 0);
    assert_int_equal(count_entries(seccomp, "reboot", "SCMP_ACT_ALLOW"), 0);
    json_decref(seccomp);
}

static void test_default_seccomp_follows_each_capability(void **state)
{
    static const struct {
        int capability;
        const char *syscall;
    } grants[] = {
        {CAP_SYS_BOOT, "reboot"},         {CAP_SYS_MODULE, "init_module"},
        {CAP_SYS_PACCT, "acct"},          {CAP_SYS_PTRACE, "kcmp"},
        {CAP_SYS_RAWIO, "iopl"},          {CAP_SYS_TIME, "settimeofday"},
        {CAP_SYS_TTY_CONFIG, "vhangup"},  {CAP_SYS_NICE, "mbind"},
        {CAP_SYSLOG, "syslog"},           {CAP_BPF, "bpf"},
        {CAP_PERFMON, "perf_event_open"}, {CAP_DAC_READ_SEARCH, "open_by_handle_at"},
    };
    json_t *none = resolved_seccomp(0);
    (void)state;

    assert_false(allowed_unconditionally(none, "chroot"));
    json_decref(none);
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
        json_t *seccomp = resolved_seccomp(capability_bit(grants[i].capability));
        if (!allowed_unconditionally(seccomp, grants[i].syscall))
            fail_msg("capability %d does not allow %s", grants[i].capability, grants[i].syscall);
        assert_false(allowed_unconditionally(seccomp, "mount"));
        json_decref(seccomp);
    }
}

/* A stand-in for the config parser (oci_config.c): the resolved profile
 * as struct oci_seccomp, enough for the actions and operators it uses. */
struct converted_profile {
    struct oci_seccomp seccomp;
    char *architectures[8];
    struct oci_seccomp_rule rules[128];
    struct oci_seccomp_argument arguments[128];
    char *names[1024];
};

static uint32_t convert_action(json_t *entry, const char *action_key, const char *errno_key)
{
    const char *action = json_string_value(json_object_get(entry, action_key));
    json_t *errno_return = json_object_get(entry, errno_key);

    if (strcmp(action, "SCMP_ACT_ALLOW") == 0)
        return SCMP_ACT_ALLOW;
    assert_string_equal(action, "SCMP_ACT_ERRNO");
    return SCMP_ACT_ERRNO(errno_return ? (uint16_t)json_integer_value(errno_return) : EPERM);
}

static int convert_operator(const char *op)
{
    static const struct {
        const char *name;
        int op;
    } operators[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++)
        if (strcmp(operators[i].name, op) == 0)
            return operators[i].op;
    fail_msg("operator %s", op);
    return -1;
}

static void convert_profile(json_t *json, struct converted_profile *out)
{
    size_t i, rule_count = 0, argument_count = 0, name_count = 0;
    json_t *item;

    memset(out, 0, sizeof *out);
    out->seccomp.default_action = convert_action(json, "defaultAction", "defaultErrnoRet");
    json_array_foreach(json_object_get(json, "architectures"), i, item)
    {
        /* "SCMP_ARCH_X86_64" → "x86_64" */
        const char *name = json_string_value(item) + strlen("SCMP_ARCH_");
        out->architectures[i] = strdup(name);
        for (char *c = out->architectures[i]; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    out->seccomp.architectures = out->architectures;

    json_array_foreach(json_object_get(json, "syscalls"), i, item)
    {
        struct oci_seccomp_rule *rule = &out->rules[rule_count++];
        size_t n, a;
        json_t *name, *argument;

        assert_true(rule_count < 128);
        rule->action = convert_action(item, "action", "errnoRet");
        rule->names = &out->names[name_count];
        json_array_foreach(json_object_get(item, "names"), n, name) out->names[name_count++] =
            (char *)json_string_value(name);
        out->names[name_count++] = NULL;
        assert_true(name_count < 1024);
        rule->arguments = &out->arguments[argument_count];
        json_array_foreach(json_object_get(item, "args"), a, argument)
        {
            struct oci_seccomp_argument *converted = &out->arguments[argument_count++];
            converted->index = (unsigned)json_integer_value(json_object_get(argument, "index"));
            converted->value = (uint64_t)json_integer_value(json_object_get(argument, "value"));
            converted->value_two =
                (uint64_t)json_integer_value(json_object_get(argument, "valueTwo"));
            converted->op = convert_operator(json_string_value(json_object_get(argument, "op")));
            rule->argument_count++;
        }
        assert_true(argument_count < 128);
    }
    out->seccomp.rules = out->rules;
    out->seccomp.rule_count = rule_count;
}

static void converted_profile_free(struct converted_profile *profile)
{
    for (size_t i = 0; profile->architectures[i] != NULL; i++)
        free(profile->architectures[i]);
}

static void exit_raw(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

static bool refused(long result)
{
    return result == -1 && errno == EPERM;
}

/* In the filtered child: 0 when the default profile behaves like Docker's,
 * else the number of the first check that failed. Every refused call would
 * be harmless if it went through. */
static int check_default_profile(void)
{
    if (syscall(SYS_getpid) <= 0)
        return 1;
    if (!refused(syscall(SYS_unshare, CLONE_NEWUTS)))
        return 2;
    if (!refused(syscall(SYS_mount, NULL, "/nonexistent-keel-test", NULL, 0, NULL)))
        return 3;
    if (!refused(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -2, 0)))
        return 4;
    if (!refused(syscall(SYS_bpf, -1, NULL, 0)))
        return 5;
    if (!refused(syscall(SYS_reboot, 0, 0, 0, NULL)))
        return 6;
    if (!refused(syscall(SYS_open_by_handle_at, -1, NULL, 0)))
        return 7;
    if (!(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS))
        return 8;

    /* clone with a namespace flag is refused; a plain fork works. */
    long child = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (child == 0)
        exit_raw(0);
    if (!refused(child))
        return 9;
    child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (child == 0)
        exit_raw(0);
    if (child < 0 || syscall(SYS_wait4, child, NULL, 0, NULL) != child)
        return 10;

    if (!refused(syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0)))
        return 11;
    if (!refused(syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0)))
        return 12;
    if (syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
        return 13;
    if (refused(syscall(SYS_socket, 39 /* AF_NFC */, SOCK_DGRAM, 0)))
        return 14;
    if (refused(syscall(SYS_socket, 41 /* AF_KCM */, SOCK_DGRAM, 0)))
        return 15;

    if (syscall(SYS_personality, 0xffffffffUL) < 0)
        return 16;
    if (!refused(syscall(SYS_personality, ADDR_NO_RANDOMIZE)))
        return 17;
    /* Allowed (CAP_SYS_CHROOT): fails for the missing path instead. */
    if (!(syscall(SYS_chroot, "/nonexistent-keel-test") == -1 && errno == ENOENT))
        return 18;
    return 0;
}

static void test_default_profile_compiles_and_filters(void **state)
{
    json_t *json = resolved_seccomp(oci_spec_default_capabilities);
    struct converted_profile *profile = calloc(1, sizeof *profile);
    struct seccomp_program program;
    struct keel_error err;
    int status;
    (void)state;

    assert_non_null(profile);
    convert_profile(json, profile);
    if (seccomp_program_compile(&profile->seccomp, NULL, &program, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(program.length > 0 && program.length <= BPF_MAXINSNS);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            exit_raw(100);
        if (seccomp_program_load(&program, NULL, &err) < 0)
            exit_raw(101);
        exit_raw(check_default_profile());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    seccomp_program_free(&program);
    converted_profile_free(profile);
    free(profile);
    json_decref(json);
}

/* Writing config.json happens in a fresh directory below /tmp. */
static int bundle_setup(void **state)
{
    char *bundle = strdup("/tmp/keel-test-oci-spec-XXXXXX");
    if (bundle == NULL || mkdtemp(bundle) == NULL)
        return -1;
    *state = bundle;
    return 0;
}

static int bundle_teardown(void **state)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", (char *)*state);
    int rc = system(command);
    free(*state);
    return rc == 0 ? 0 : -1;
}

static size_t directory_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    size_t count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(dir);
    return count;
}

static void test_write_creates_config_json(void **state)
{
    const char *bundle = *state;
    char path[128];
    struct keel_error err;
    struct stat status;
    json_error_t parse_error;

    assert_int_equal(oci_spec_write(bundle, &err), 0);
    snprintf(path, sizeof path, "%s/config.json", bundle);
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0644);
    /* Only config.json: no temporary file left beside it. */
    assert_int_equal(directory_entries(bundle), 1);

    json_t *written = json_load_file(path, 0, &parse_error);
    json_t *expected = default_config();
    assert_non_null(written);
    assert_true(json_equal(written, expected));
    json_decref(written);
    json_decref(expected);

    FILE *file = fopen(path, "re");
    char head[32] = "";
    assert_non_null(file);
    assert_int_equal(fread(head, 1, sizeof head - 1, file), sizeof head - 1);
    fclose(file);
    assert_memory_equal(head, "{\n  \"ociVersion\": \"1.1.0\",", 26);
}

static void test_write_refuses_an_existing_config_json(void **state)
{
    const char *bundle = *state;
    char path[128], message[256];
    struct keel_error err;
    struct stat before, after;

    assert_int_equal(oci_spec_write(bundle, &err), 0);
    snprintf(path, sizeof path, "%s/config.json", bundle);
    assert_int_equal(stat(path, &before), 0);

    assert_int_equal(oci_spec_write(bundle, &err), -1);
    assert_int_equal(err.errno_value, EEXIST);
    snprintf(message, sizeof message, "config.json already exists in %s", bundle);
    assert_string_equal(err.message, message);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(directory_entries(bundle), 1);
}

static void test_write_into_a_missing_bundle_fails(void **state)
{
    struct keel_error err;
    (void)state;

    assert_int_equal(oci_spec_write("/nonexistent-keel-test/bundle", &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent-keel-test/bundle"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_process),
        cmocka_unit_test(test_default_capability_mask),
        cmocka_unit_test(test_default_mounts),
        cmocka_unit_test(test_default_namespaces_leave_out_user_and_time),
        cmocka_unit_test(test_default_masked_and_readonly_paths),
        cmocka_unit_test(test_default_device_allowlist),
        cmocka_unit_test(test_default_config_carries_the_resolved_profile),
        cmocka_unit_test(test_default_seccomp_for_docker_capabilities),
        cmocka_unit_test(test_default_seccomp_with_sys_admin),
        cmocka_unit_test(test_default_seccomp_follows_each_capability),
        cmocka_unit_test(test_default_profile_compiles_and_filters),
        cmocka_unit_test_setup_teardown(test_write_creates_config_json, bundle_setup,
                                        bundle_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_an_existing_config_json, bundle_setup,
                                        bundle_teardown),
        cmocka_unit_test(test_write_into_a_missing_bundle_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
