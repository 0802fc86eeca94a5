/* oci_spec.c — Keel's default config.json (Docker's defaults) and writing it into a bundle. */
#include "oci_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

/* Docker's 14, in Docker's order (also the order config.json lists them). */
#define DEFAULT_CAPABILITIES(X)                                                                    \
    X(CAP_CHOWN)                                                                                   \
    X(CAP_DAC_OVERRIDE)                                                                            \
    X(CAP_FSETID)                                                                                  \
    X(CAP_FOWNER)                                                                                  \
    X(CAP_MKNOD)                                                                                   \
    X(CAP_NET_RAW)                                                                                 \
    X(CAP_SETGID)                                                                                  \
    X(CAP_SETUID)                                                                                  \
    X(CAP_SETFCAP)                                                                                 \
    X(CAP_SETPCAP)                                                                                 \
    X(CAP_NET_BIND_SERVICE)                                                                        \
    X(CAP_SYS_CHROOT)                                                                              \
    X(CAP_KILL)                                                                                    \
    X(CAP_AUDIT_WRITE)

#define CAPABILITY_BIT(name) | (UINT64_C(1) << name)
#define CAPABILITY_NAME(name) #name,

const uint64_t oci_spec_default_capabilities = 0 DEFAULT_CAPABILITIES(CAPABILITY_BIT);
static const char *const default_capability_names[] = {DEFAULT_CAPABILITIES(CAPABILITY_NAME) NULL};

const char *const oci_spec_default_masked_paths[] = {"/proc/asound",
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

const char *const oci_spec_default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static const char *const default_args[] = {"sh", NULL};
static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
static const char *const default_namespaces[] = {"pid",   "network", "ipc", "uts",
                                                 "mount", "cgroup",  NULL};

struct default_mount {
    const char *destination, *type, *source;
    const char *const options[8]; /* NULL-terminated */
};

/* Docker's mounts, in Docker's order. cgroup2 because Keel is cgroup v2 only. */
static const struct default_mount default_mounts[] = {
    {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev", NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup2", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
};

#define ANY -1

struct default_device_rule {
    bool allow;
    const char *type; /* NULL: all */
    int major, minor; /* ANY: wildcard */
    const char *access;
};

/* What a Docker container may open: Docker writes deny-all plus a few, and
 * runc (1.1, which Docker 24/25 ship) appends its own list. Keel's runtime
 * appends nothing, so the whole effective list is written here. */
static const struct default_device_rule default_device_rules[] = {
    {false, NULL, ANY, ANY, "rwm"},
    {true, "c", ANY, ANY, "m"}, /* mknod of any node; opening it is another matter */
    {true, "b", ANY, ANY, "m"},
    {true, "c", 1, 3, "rwm"},     /* null */
    {true, "c", 1, 5, "rwm"},     /* zero */
    {true, "c", 1, 7, "rwm"},     /* full */
    {true, "c", 1, 8, "rwm"},     /* random */
    {true, "c", 1, 9, "rwm"},     /* urandom */
    {true, "c", 5, 0, "rwm"},     /* tty */
    {true, "c", 5, 1, "rwm"},     /* console */
    {true, "c", 5, 2, "rwm"},     /* ptmx */
    {true, "c", 136, ANY, "rwm"}, /* pts */
    {true, "c", 10, 200, "rwm"},  /* net/tun */
};

static json_t *json_strings(const char *const *strings)
{
    json_t *array = json_array();

    for (size_t i = 0; array != NULL && strings[i] != NULL; i++) {
        if (json_array_append_new(array, json_string(strings[i])) < 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *oci_spec_mounts(void)
{
    json_t *mounts = json_array();

    for (size_t i = 0; mounts != NULL && i < sizeof default_mounts / sizeof default_mounts[0];
         i++) {
        const struct default_mount *mount = &default_mounts[i];
        json_t *entry = json_pack("{s:s, s:s, s:s, s:o}", "destination", mount->destination, "type",
                                  mount->type, "source", mount->source, "options",
                                  json_strings(mount->options));
        if (json_array_append_new(mounts, entry) < 0) {
            json_decref(mounts);
            return NULL;
        }
    }
    return mounts;
}

static json_t *oci_spec_device_rules(void)
{
    json_t *rules = json_array();

    for (size_t i = 0;
         rules != NULL && i < sizeof default_device_rules / sizeof default_device_rules[0]; i++) {
        const struct default_device_rule *rule = &default_device_rules[i];
        json_t *entry = json_pack("{s:b}", "allow", rule->allow);
        bool failed = entry == NULL;

        if (!failed && rule->type != NULL)
            failed = json_object_set_new(entry, "type", json_string(rule->type)) < 0;
        if (!failed && rule->major != ANY)
            failed = json_object_set_new(entry, "major", json_integer(rule->major)) < 0;
        if (!failed && rule->minor != ANY)
            failed = json_object_set_new(entry, "minor", json_integer(rule->minor)) < 0;
        if (!failed)
            failed = json_object_set_new(entry, "access", json_string(rule->access)) < 0;
        if (failed || json_array_append_new(rules, entry) < 0) {
            if (failed)
                json_decref(entry);
            json_decref(rules);
            return NULL;
        }
    }
    return rules;
}

static json_t *oci_spec_namespaces(void)
{
    json_t *namespaces = json_array();

    for (size_t i = 0; namespaces != NULL && default_namespaces[i] != NULL; i++) {
        if (json_array_append_new(namespaces, json_pack("{s:s}", "type", default_namespaces[i])) <
            0) {
            json_decref(namespaces);
            return NULL;
        }
    }
    return namespaces;
}

static json_t *oci_spec_process(void)
{
    /* Inheritable and ambient stay empty, as in Docker since 20.10.14: a
     * capability there would survive exec into an unprivileged program. */
    return json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o, s:o, s:o},"
                     " s:[{s:s, s:i, s:i}], s:b}",
                     "terminal", false, "user", "uid", 0, "gid", 0, "args",
                     json_strings(default_args), "env", json_strings(default_env), "cwd", "/",
                     "capabilities", "bounding", json_strings(default_capability_names),
                     "effective", json_strings(default_capability_names), "inheritable",
                     json_array(), "permitted", json_strings(default_capability_names), "ambient",
                     json_array(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
                     "noNewPrivileges", true);
}

int oci_spec_default_config(json_t **config, struct keel_error *err)
{
    json_t *seccomp;

    *config = NULL;
    if (oci_spec_default_seccomp(oci_spec_default_capabilities, &seccomp, err) < 0)
        return keel_error_prefix(err, "default config");

    /* json_pack takes over every "o" value, also when it fails. */
    json_t *linux_section =
        json_pack("{s:{s:o}, s:o, s:o, s:o, s:o}", "resources", "devices", oci_spec_device_rules(),
                  "namespaces", oci_spec_namespaces(), "maskedPaths",
                  json_strings(oci_spec_default_masked_paths), "readonlyPaths",
                  json_strings(oci_spec_default_readonly_paths), "seccomp", seccomp);
    *config = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.1.0", "process",
                        oci_spec_process(), "root", "path", "rootfs", "readonly", true, "hostname",
                        "keel", "mounts", oci_spec_mounts(), "linux", linux_section);
    if (*config == NULL)
        return keel_error_set(err, ENOMEM, "default config");
    return 0;
}

/* "config.json already exists in BUNDLE", with errno EEXIST. */
static int oci_spec_exists_error(const char *bundle_directory, struct keel_error *err)
{
    keel_error_invalid(err, "config.json already exists in %s", bundle_directory);
    err->errno_value = EEXIST;
    return -1;
}

/* Written whole beside it and renamed without replacing: a reader never
 * sees half a config.json, and a config.json that appeared meanwhile is
 * kept. */
static int oci_spec_write_text(const char *bundle_directory, const char *text,
                               struct keel_error *err)
{
    _cleanup_free_ char *path = NULL;

    if (asprintf(&path, "%s/config.json", bundle_directory) < 0) {
        path = NULL;
        return keel_error_set(err, ENOMEM, "write config.json in %s", bundle_directory);
    }
    if (access(path, F_OK) == 0)
        return oci_spec_exists_error(bundle_directory, err);
    if (file_write_atomic(path, text, strlen(text), 0644, FILE_ATOMIC_NO_REPLACE, err) < 0)
        return err->errno_value == EEXIST ? oci_spec_exists_error(bundle_directory, err) : -1;
    return 0;
}

int oci_spec_write(const char *bundle_directory, struct keel_error *err)
{
    json_t *config;

    if (oci_spec_default_config(&config, err) < 0)
        return -1;
    /* Two spaces: runc indents with tabs, which jansson cannot. A final
     * newline, so the file is a proper text file. */
    _cleanup_free_ char *text = json_dumps(config, JSON_INDENT(2));
    json_decref(config);
    _cleanup_free_ char *line = NULL;
    if (text == NULL || asprintf(&line, "%s\n", text) < 0) {
        line = NULL;
        return keel_error_set(err, ENOMEM, "write config.json in %s", bundle_directory);
    }
    return oci_spec_write_text(bundle_directory, line, err);
}
