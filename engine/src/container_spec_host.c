/* container_spec_host.c — HostConfig into config.json: namespaces, privileges, resources. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_spec_internal.h"
#include "json_path.h"
#include "oci_config.h"
#include "oci_spec.h"
#include "rootfs_sysctl.h"

#define HOST "HostConfig"

/* Docker's limits (daemon_unix.go): below 6 MiB a container cannot start. */
#define HOST_MEMORY_MIN (6 * 1024 * 1024)
#define HOST_CPU_SHARES_MIN 2
#define HOST_CPU_SHARES_MAX 262144
#define HOST_CPU_PERIOD 100000 /* microseconds: Docker's period for NanoCpus */
#define HOST_CPU_QUOTA_MIN 1000
#define HOST_CPU_PERIOD_MAX 1000000
/* /dev is shallow; a deeper tree is not the host's /dev as we know it. */
#define HOST_DEVICE_DEPTH_MAX 8

/* Fields Keel does not carry out yet: refused when given, never dropped in
 * silence, since the container would not be what its creator asked for. */
static const char *const host_unsupported_fields[] = {
    "Mounts", "Tmpfs", "Devices", "VolumesFrom", "Ulimits", "GroupAdd", "DeviceRequests", NULL,
};

/* runc's GetDevices skips these /dev directories: other filesystems, or
 * links to the caller's own fds. */
static const char *const host_device_skipped[] = {
    "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", NULL,
};

/* A value a Go client writes when the field is unset: null, "", 0, false, [], {}. */
static bool host_value_is_set(json_t *value)
{
    if (json_is_array(value))
        return json_array_size(value) > 0;
    if (json_is_object(value))
        return json_object_size(value) > 0;
    if (json_is_string(value))
        return json_string_length(value) > 0;
    if (json_is_integer(value))
        return json_integer_value(value) != 0;
    return json_is_true(value) || json_is_real(value);
}

/* A namespace mode: "host" shares the host's, one of private_names makes
 * a new one; anything else (another container's, a named network) is refused. */
static int host_read_mode(json_t *host_config, const char *key, const char *const *private_names,
                          char **mode, bool *is_host, struct keel_error *err)
{
    *mode = NULL;
    *is_host = false;
    if (json_path_get_string(host_config, HOST, key, JSON_PATH_OPTIONAL, mode, err) < 0)
        return -1;
    if (*mode == NULL || strcmp(*mode, "host") == 0) {
        *is_host = *mode != NULL;
        return 0;
    }
    if (container_spec_strings_contain(private_names, *mode))
        return 0;
    return keel_error_invalid(err, HOST ".%s: \"%s\" is not supported (\"host\" or the default)",
                              key, *mode);
}

static int host_read_modes(json_t *host_config, struct container_spec_host *host,
                           struct keel_error *err)
{
    static const char *const network_private[] = {"", "default", "bridge", "none", NULL};
    static const char *const private[] = {"", "private", NULL};
    static const char *const ipc_private[] = {"", "private", "shareable", "none", NULL};
    _cleanup_free_ char *network = NULL, *pid = NULL, *ipc = NULL, *uts = NULL, *cgroupns = NULL;

    if (host_read_mode(host_config, "NetworkMode", network_private, &network, &host->network_host,
                       err) < 0 ||
        host_read_mode(host_config, "PidMode", private, &pid, &host->pid_host, err) < 0 ||
        host_read_mode(host_config, "IpcMode", ipc_private, &ipc, &host->ipc_host, err) < 0 ||
        host_read_mode(host_config, "UTSMode", private, &uts, &host->uts_host, err) < 0 ||
        host_read_mode(host_config, "CgroupnsMode", private, &cgroupns, &host->cgroupns_host, err) <
            0)
        return -1;
    host->ipc_none = ipc != NULL && strcmp(ipc, "none") == 0;
    return 0;
}

/* Every capability both libcap and the running kernel know, as Docker's
 * GetAllCapabilities, and that the engine itself may hold: an engine run
 * inside a container with a reduced bounding set cannot give more, and
 * asking makes the start fail. */
static uint64_t host_all_capabilities(void)
{
    _cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char text[16] = "";
    int last = 63;
    uint64_t all = 0;

    if (fd >= 0 && read(fd, text, sizeof text - 1) > 0)
        last = atoi(text);
    for (int number = 0; number <= last && oci_capability_name(number) != NULL; number++)
        if (prctl(PR_CAPBSET_READ, number, 0, 0, 0) != 0)
            all |= UINT64_C(1) << number;
    return all;
}

/* CapAdd or CapDrop: names as Docker takes them (any case, "CAP_" optional)
 * or "ALL". */
static int host_read_capabilities(json_t *host_config, const char *key, uint64_t known,
                                  uint64_t *mask, bool *all, struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX], name[64];
    json_t *list, *value;
    size_t i;
    int found = json_path_get_array(host_config, HOST, key, JSON_PATH_OPTIONAL, &list, err);

    *mask = 0;
    *all = false;
    if (found <= 0)
        return found;
    json_path_member(path, HOST, key);
    json_array_foreach(list, i, value)
    {
        json_path_element(element_path, path, i);
        if (json_path_expect_string(value, element_path, err) < 0)
            return -1;
        const char *given = json_string_value(value);
        size_t length = strlen(given);
        bool prefixed = strncasecmp(given, "CAP_", 4) == 0;
        if (!prefixed && strcasecmp(given, "ALL") == 0) {
            *all = true;
            continue;
        }
        if (length + 5 > sizeof name)
            return keel_error_invalid(err, "%s: unknown capability \"%s\"", element_path, given);
        snprintf(name, sizeof name, "%s%s", prefixed ? "" : "CAP_", given);
        for (char *c = name; *c != '\0'; c++)
            *c = (char)toupper((unsigned char)*c);
        int number = oci_capability_from_name(name);
        if (number < 0 || !(known & (UINT64_C(1) << number)))
            return keel_error_invalid(err, "%s: unknown capability \"%s\"", element_path, name);
        *mask |= UINT64_C(1) << number;
    }
    return 1;
}

/* Docker's TweakCapabilities: privileged gets all; "ALL" in CapAdd is all
 * but CapDrop; "ALL" in CapDrop is only CapAdd; else the defaults less
 * CapDrop plus CapAdd. */
static int host_read_capability_set(json_t *host_config, struct container_spec_host *host,
                                    struct keel_error *err)
{
    uint64_t known = host_all_capabilities(), add, drop;
    bool add_all, drop_all;

    if (host_read_capabilities(host_config, "CapAdd", known, &add, &add_all, err) < 0 ||
        host_read_capabilities(host_config, "CapDrop", known, &drop, &drop_all, err) < 0)
        return -1;
    if (host->privileged)
        host->capabilities = known;
    else if (add_all)
        host->capabilities = known & ~drop;
    else if (drop_all)
        host->capabilities = add;
    else
        host->capabilities = (oci_spec_default_capabilities & ~drop) | add;
    return 0;
}

/* Go's strconv.ParseBool, which Docker uses for no-new-privileges:VALUE. */
static int host_parse_bool(const char *text, bool *value)
{
    static const char *const truths[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const lies[] = {"0", "f", "F", "FALSE", "false", "False", NULL};

    if (container_spec_strings_contain(truths, text))
        *value = true;
    else if (container_spec_strings_contain(lies, text))
        *value = false;
    else
        return -1;
    return 0;
}

static bool option_key_is(const char *option, size_t key_length, const char *key)
{
    return strlen(key) == key_length && strncmp(option, key, key_length) == 0;
}

/* One SecurityOpt: "KEY=VALUE" or Docker's deprecated "KEY:VALUE". */
static int host_read_security_option(const char *option, const char *path,
                                     struct container_spec_host *host, struct keel_error *err)
{
    if (strcmp(option, "no-new-privileges") == 0) {
        host->no_new_privileges = true;
        return 0;
    }
    size_t key_length = strcspn(option, strchr(option, '=') != NULL ? "=" : ":");
    const char *value = option + key_length + (option[key_length] != '\0');
    /* "disable" alone is Docker's short form of label=disable. */
    if (option_key_is(option, key_length, "label") || strcmp(option, "disable") == 0)
        return keel_error_invalid(err, "%s: SELinux labels are not supported (no SELinux in Keel)",
                                  path);
    if (option[key_length] == '\0')
        return keel_error_invalid(err, "%s: invalid security option \"%s\"", path, option);
    if (option_key_is(option, key_length, "seccomp")) {
        if (strcmp(value, "unconfined") == 0)
            host->seccomp_unconfined = true;
        else if (strcmp(value, "builtin") != 0)
            return keel_error_invalid(err,
                                      "%s: custom seccomp profiles are not supported "
                                      "(seccomp=unconfined or the default)",
                                      path);
        return 0;
    }
    if (option_key_is(option, key_length, "no-new-privileges")) {
        if (host_parse_bool(value, &host->no_new_privileges) < 0)
            return keel_error_invalid(err, "%s: invalid no-new-privileges value \"%s\"", path,
                                      value);
        return 0;
    }
    if (option_key_is(option, key_length, "apparmor"))
        return keel_error_invalid(err,
                                  "%s: AppArmor profiles are not supported (no AppArmor in "
                                  "Keel)",
                                  path);
    return keel_error_invalid(err, "%s: invalid security option \"%s\"", path, option);
}

static int host_read_security_options(json_t *host_config, struct container_spec_host *host,
                                      struct keel_error *err)
{
    char path[JSON_PATH_MAX], element_path[JSON_PATH_MAX];
    json_t *options, *option;
    size_t i;
    int found =
        json_path_get_array(host_config, HOST, "SecurityOpt", JSON_PATH_OPTIONAL, &options, err);

    if (found <= 0)
        return found;
    json_path_member(path, HOST, "SecurityOpt");
    json_array_foreach(options, i, option)
    {
        json_path_element(element_path, path, i);
        if (json_path_expect_string(option, element_path, err) < 0 ||
            host_read_security_option(json_string_value(option), element_path, host, err) < 0)
            return -1;
    }
    return 0;
}

int container_spec_host_read(json_t *host_config, struct container_spec_host *host,
                             struct keel_error *err)
{
    char path[JSON_PATH_MAX];

    /* Keel's secure default: no_new_privs unless the request says no. */
    *host = (struct container_spec_host){.no_new_privileges = true};
    for (size_t i = 0; host_config != NULL && host_unsupported_fields[i] != NULL; i++) {
        if (host_value_is_set(json_object_get(host_config, host_unsupported_fields[i]))) {
            json_path_member(path, HOST, host_unsupported_fields[i]);
            return keel_error_invalid(err, "%s: not supported by Keel yet", path);
        }
    }
    /* A NULL host_config reads as empty: jansson finds no member in NULL. */
    if (json_path_get_bool(host_config, HOST, "Privileged", JSON_PATH_OPTIONAL, &host->privileged,
                           err) < 0 ||
        json_path_get_bool(host_config, HOST, "ReadonlyRootfs", JSON_PATH_OPTIONAL,
                           &host->readonly_rootfs, err) < 0 ||
        json_path_get_bool(host_config, HOST, "Init", JSON_PATH_OPTIONAL, &host->init, err) < 0 ||
        host_read_modes(host_config, host, err) < 0 ||
        host_read_capability_set(host_config, host, err) < 0 ||
        host_read_security_options(host_config, host, err) < 0)
        return -1;
    /* Docker runs its init only as PID 1 of a new PID namespace. */
    host->init = host->init && !host->pid_host;
    return 0;
}

/* Remove the namespaces the container shares with the host. */
static void host_apply_namespaces(json_t *linux_section, const struct container_spec_host *host)
{
    json_t *namespaces = json_object_get(linux_section, "namespaces");
    const struct {
        const char *type;
        bool shared;
    } shared[] = {
        {"network", host->network_host}, {"pid", host->pid_host},         {"ipc", host->ipc_host},
        {"uts", host->uts_host},         {"cgroup", host->cgroupns_host},
    };

    for (size_t i = 0; i < json_array_size(namespaces);) {
        const char *type =
            json_string_value(json_object_get(json_array_get(namespaces, i), "type"));
        bool remove = false;
        for (size_t j = 0; j < sizeof shared / sizeof shared[0]; j++)
            remove |= shared[j].shared && type != NULL && strcmp(type, shared[j].type) == 0;
        if (remove)
            json_array_remove(namespaces, i);
        else
            i++;
    }
}

/* The capability names of mask, in number order. */
static json_t *host_capability_names(uint64_t mask)
{
    json_t *names = json_array();

    for (int number = 0; names != NULL && number < 64; number++) {
        if (!(mask & (UINT64_C(1) << number)))
            continue;
        if (json_array_append_new(names, json_string(oci_capability_name(number))) < 0) {
            json_decref(names);
            return NULL;
        }
    }
    return names;
}

/* Bounding, effective and permitted hold the set; inheritable and ambient
 * stay empty, as in Docker since 20.10.14. */
static int host_apply_capabilities(json_t *process, const struct container_spec_host *host,
                                   struct keel_error *err)
{
    static const char *const sets[] = {"bounding", "effective", "permitted", NULL};
    json_t *capabilities = json_object_get(process, "capabilities");

    /* The default config already lists Docker's set, in Docker's order. */
    if (host->capabilities == oci_spec_default_capabilities)
        return 0;
    for (size_t i = 0; sets[i] != NULL; i++) {
        if (container_spec_json_set(capabilities, sets[i],
                                    host_capability_names(host->capabilities), err) < 0)
            return -1;
    }
    return 0;
}

static int host_apply_seccomp(json_t *linux_section, const struct container_spec_host *host,
                              struct keel_error *err)
{
    json_t *seccomp;

    /* Docker runs a privileged container without seccomp, whatever it asked. */
    if (host->privileged || host->seccomp_unconfined) {
        json_object_del(linux_section, "seccomp");
        return 0;
    }
    /* The default config's profile is resolved for the default capabilities. */
    if (host->capabilities == oci_spec_default_capabilities)
        return 0;
    if (oci_spec_default_seccomp(host->capabilities, &seccomp, err) < 0)
        return -1;
    return container_spec_json_set(linux_section, "seccomp", seccomp, err);
}

/* One host device node as linux.devices has it. */
static int host_device_add(const char *path, const struct stat *info, json_t *devices,
                           struct keel_error *err)
{
    json_t *device = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "type",
        S_ISBLK(info->st_mode) ? "b" : "c", "major", (json_int_t)major(info->st_rdev), "minor",
        (json_int_t)minor(info->st_rdev), "fileMode", (json_int_t)(info->st_mode & 07777), "uid",
        (json_int_t)info->st_uid, "gid", (json_int_t)info->st_gid);

    if (device == NULL || json_array_append_new(devices, device) < 0)
        return keel_error_set(err, ENOMEM, "list host device %s", path);
    return 0;
}

/* Every character and block device under directory (the host's /dev), as
 * Docker gives a privileged container (runc's GetDevices). */
static int host_devices_walk(const char *directory, int depth, json_t *devices,
                             struct keel_error *err)
{
    char path[PATH_MAX];
    struct dirent *entry;
    struct stat info;
    DIR *dir = opendir(directory);

    if (dir == NULL)
        return errno == ENOENT ? 0
                               : keel_error_set(err, errno, "list host devices in %s", directory);
    int result = 0;
    while (result == 0 && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, "console") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", directory, name) >= (int)sizeof path)
            continue;
        if (lstat(path, &info) < 0)
            continue; /* gone meanwhile */
        if (S_ISDIR(info.st_mode)) {
            if (!container_spec_strings_contain(host_device_skipped, name) &&
                depth < HOST_DEVICE_DEPTH_MAX)
                result = host_devices_walk(path, depth + 1, devices, err);
        } else if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode)) {
            result = host_device_add(path, &info, devices, err);
        }
    }
    closedir(dir);
    return result;
}

/* Privileged: the host's devices, all allowed; nothing masked or read-only. */
static int host_apply_privileged(json_t *linux_section, struct keel_error *err)
{
    json_t *devices = json_array();
    json_t *resources = json_object_get(linux_section, "resources");

    if (devices == NULL)
        return keel_error_set(err, ENOMEM, "list host devices");
    if (host_devices_walk("/dev", 0, devices, err) < 0) {
        json_decref(devices);
        return -1;
    }
    if (container_spec_json_set(linux_section, "devices", devices, err) < 0 ||
        container_spec_json_set(
            resources, "devices",
            json_pack("[{s:b, s:s, s:s}]", "allow", true, "type", "a", "access", "rwm"), err) < 0 ||
        container_spec_json_set(linux_section, "maskedPaths", json_array(), err) < 0 ||
        container_spec_json_set(linux_section, "readonlyPaths", json_array(), err) < 0)
        return -1;
    return 0;
}

/* An integer field of HostConfig, 0 when absent. */
static int host_get_int64(json_t *host_config, const char *key, int64_t *value,
                          struct keel_error *err)
{
    *value = 0;
    return json_path_get_int64(host_config, HOST, key, JSON_PATH_OPTIONAL, INT64_MIN, INT64_MAX,
                               value, err);
}

static int host_set_integer(json_t *object, const char *key, int64_t value, struct keel_error *err)
{
    return container_spec_json_set(object, key, json_integer(value), err);
}

/* Memory, MemorySwap, MemoryReservation with Docker's checks and its
 * default swap of twice the memory. */
static int host_apply_memory(json_t *host_config, json_t *resources, struct keel_error *err)
{
    int64_t memory, swap, reservation;

    if (host_get_int64(host_config, "Memory", &memory, err) < 0 ||
        host_get_int64(host_config, "MemorySwap", &swap, err) < 0 ||
        host_get_int64(host_config, "MemoryReservation", &reservation, err) < 0)
        return -1;
    if (memory != 0 && memory < HOST_MEMORY_MIN)
        return keel_error_invalid(err, HOST ".Memory: minimum memory limit allowed is 6MB");
    if (swap < -1)
        return keel_error_invalid(err,
                                  HOST ".MemorySwap: %lld is neither -1 (unlimited) nor a "
                                       "size",
                                  (long long)swap);
    if (swap > 0 && memory == 0)
        return keel_error_invalid(err, HOST ".MemorySwap: needs a Memory limit too");
    if (swap > 0 && swap < memory)
        return keel_error_invalid(err, HOST ".MemorySwap: must be at least Memory (it counts "
                                            "memory plus swap)");
    if (reservation != 0 && reservation < HOST_MEMORY_MIN)
        return keel_error_invalid(err, HOST ".MemoryReservation: minimum memory reservation "
                                            "allowed is 6MB");
    if (memory > 0 && reservation > memory)
        return keel_error_invalid(err, HOST ".MemoryReservation: larger than Memory");
    if (memory == 0 && reservation == 0)
        return 0;
    json_t *section = json_object();
    if (container_spec_json_set(resources, "memory", section, err) < 0)
        return -1;
    if (memory > 0) {
        if (swap == 0)
            swap = memory > INT64_MAX / 2 ? -1 : memory * 2;
        if (host_set_integer(section, "limit", memory, err) < 0 ||
            host_set_integer(section, "swap", swap, err) < 0)
            return -1;
    }
    if (reservation > 0 && host_set_integer(section, "reservation", reservation, err) < 0)
        return -1;
    return 0;
}

/* NanoCpus (cpu.max "NanoCpus/1e9 * 100000 100000"), or CpuQuota and
 * CpuPeriod; CpuShares (cpu weight), clamped to 2..262144 as Docker. */
static int host_apply_cpu(json_t *host_config, json_t *resources, struct keel_error *err)
{
    int64_t nano_cpus, shares, quota, period;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (host_get_int64(host_config, "NanoCpus", &nano_cpus, err) < 0 ||
        host_get_int64(host_config, "CpuShares", &shares, err) < 0 ||
        host_get_int64(host_config, "CpuQuota", &quota, err) < 0 ||
        host_get_int64(host_config, "CpuPeriod", &period, err) < 0)
        return -1;
    if (cpus < 1)
        cpus = 1;
    if (nano_cpus < 0 || nano_cpus > cpus * INT64_C(1000000000) ||
        (nano_cpus > 0 && nano_cpus * HOST_CPU_PERIOD / 1000000000 < HOST_CPU_QUOTA_MIN))
        return keel_error_invalid(err,
                                  HOST ".NanoCpus: range of CPUs is from 0.01 to %ld.00, as "
                                       "there are only %ld CPUs available",
                                  cpus, cpus);
    if (nano_cpus > 0 && (quota > 0 || period > 0))
        return keel_error_invalid(err, HOST ".NanoCpus: conflicting options: NanoCpus and "
                                            "CpuQuota or CpuPeriod cannot both be set");
    if (shares < 0)
        return keel_error_invalid(err, HOST ".CpuShares: %lld is negative", (long long)shares);
    if (quota < -1 || (quota > 0 && quota < HOST_CPU_QUOTA_MIN))
        return keel_error_invalid(err, HOST ".CpuQuota: CPU cfs quota can not be less than 1ms "
                                            "(i.e. 1000)");
    if (period != 0 && (period < HOST_CPU_QUOTA_MIN || period > HOST_CPU_PERIOD_MAX))
        return keel_error_invalid(err, HOST ".CpuPeriod: CPU cfs period can not be less than "
                                            "1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    if (nano_cpus > 0) {
        quota = nano_cpus * HOST_CPU_PERIOD / 1000000000;
        period = HOST_CPU_PERIOD;
    }
    if (shares > 0 && shares < HOST_CPU_SHARES_MIN)
        shares = HOST_CPU_SHARES_MIN;
    if (shares > HOST_CPU_SHARES_MAX)
        shares = HOST_CPU_SHARES_MAX;
    if (shares == 0 && quota <= 0 && period == 0)
        return 0;
    json_t *section = json_object();
    if (container_spec_json_set(resources, "cpu", section, err) < 0)
        return -1;
    if ((shares > 0 && host_set_integer(section, "shares", shares, err) < 0) ||
        (quota > 0 && host_set_integer(section, "quota", quota, err) < 0) ||
        (period > 0 && host_set_integer(section, "period", period, err) < 0))
        return -1;
    return 0;
}

static int host_apply_resources(json_t *host_config, json_t *linux_section, struct keel_error *err)
{
    json_t *resources = json_object_get(linux_section, "resources");
    int64_t pids_limit = 0;
    int found;

    if (host_apply_memory(host_config, resources, err) < 0 ||
        host_apply_cpu(host_config, resources, err) < 0)
        return -1;
    found = json_path_get_int64(host_config, HOST, "PidsLimit", JSON_PATH_OPTIONAL, INT64_MIN,
                                INT64_MAX, &pids_limit, err);
    if (found < 0)
        return -1;
    /* 0 and -1 mean no limit, as in Docker's API. */
    if (pids_limit < -1)
        return keel_error_invalid(err, HOST ".PidsLimit: %lld is neither a limit nor -1",
                                  (long long)pids_limit);
    if (pids_limit > 0 && container_spec_json_set(resources, "pids",
                                                  json_pack("{s:I}", "limit", pids_limit), err) < 0)
        return -1;
    return 0;
}

/* The CLONE_NEW* namespaces the container gets, for rootfs_sysctl_check. */
static int host_namespace_flags(const struct container_spec_host *host)
{
    return (host->network_host ? 0 : CLONE_NEWNET) | (host->ipc_host ? 0 : CLONE_NEWIPC) |
           (host->uts_host ? 0 : CLONE_NEWUTS);
}

/* Docker's defaults for a container with its own network (unprivileged
 * ping and low ports, which the default capabilities grant anyway), then
 * HostConfig.Sysctls over them. */
static int host_apply_sysctls(json_t *host_config, const struct container_spec_host *host,
                              json_t *linux_section, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    json_t *sysctls = json_object(), *given = NULL, *value;
    const char *key;

    if (container_spec_json_set(linux_section, "sysctl", sysctls, err) < 0)
        return -1;
    if (!host->network_host) {
        if (access("/proc/sys/net/ipv4/ping_group_range", F_OK) == 0 &&
            container_spec_json_set(sysctls, "net.ipv4.ping_group_range",
                                    json_string("0 2147483647"), err) < 0)
            return -1;
        if (access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0 &&
            container_spec_json_set(sysctls, "net.ipv4.ip_unprivileged_port_start",
                                    json_string("0"), err) < 0)
            return -1;
    }
    if (json_path_get_object(host_config, HOST, "Sysctls", JSON_PATH_OPTIONAL, &given, err) < 0)
        return -1;
    json_object_foreach(given, key, value)
    {
        json_path_member(path, HOST ".Sysctls", key);
        if (json_path_expect_string(value, path, err) < 0)
            return -1;
        if (rootfs_sysctl_check(key, host_namespace_flags(host), err) < 0)
            return keel_error_prefix(err, HOST ".Sysctls");
        if (container_spec_json_set(sysctls, key, json_incref(value), err) < 0)
            return -1;
    }
    if (json_object_size(sysctls) == 0)
        json_object_del(linux_section, "sysctl");
    return 0;
}

int container_spec_host_apply(json_t *host_config, const struct container_spec_host *host,
                              const char *files, json_t *config, struct keel_error *err)
{
    json_t *process = json_object_get(config, "process");
    json_t *linux_section = json_object_get(config, "linux");
    int64_t oom_score_adj = 0;

    host_apply_namespaces(linux_section, host);
    if (host_apply_capabilities(process, host, err) < 0 ||
        container_spec_json_set(process, "noNewPrivileges", json_boolean(host->no_new_privileges),
                                err) < 0 ||
        host_apply_seccomp(linux_section, host, err) < 0 ||
        (host->privileged && host_apply_privileged(linux_section, err) < 0) ||
        container_spec_mounts_apply(host_config, host, files, config, err) < 0 ||
        host_apply_resources(host_config, linux_section, err) < 0 ||
        host_apply_sysctls(host_config, host, linux_section, err) < 0)
        return -1;
    if (json_path_get_int64(host_config, HOST, "OomScoreAdj", JSON_PATH_OPTIONAL, -1000, 1000,
                            &oom_score_adj, err) < 0)
        return -1;
    if (oom_score_adj != 0 &&
        container_spec_json_set(process, "oomScoreAdj", json_integer(oom_score_adj), err) < 0)
        return -1;
    return 0;
}
