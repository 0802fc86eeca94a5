/* engine_info.c — GET /info: Docker's Info object from the engine's containers, its store and the
 * host. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "engine_internal.h"
#include "file.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

struct engine_info_counts {
    json_int_t containers, running, images;
};

static int engine_info_count(struct engine *engine, struct engine_info_counts *counts,
                             struct keel_error *err)
{
    struct store_index index;

    for (struct engine_container *container = engine_container_next(engine, NULL);
         container != NULL; container = engine_container_next(engine, container)) {
        counts->containers++;
        counts->running += engine_container_is_running(container);
    }
    if (store_index_read(&engine->store, &index, err) < 0)
        return keel_error_prefix(err, "info");
    /* Docker counts images, not names: one per manifest. */
    for (size_t i = 0; i < index.count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = digest_equal(&index.entries[i].manifest, &index.entries[j].manifest);
        counts->images += !seen;
    }
    store_index_free(&index);
    return 0;
}

/* MemTotal of /proc/meminfo, in bytes; 0 when unreadable. */
static json_int_t engine_info_memory_total(void)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error ignored;
    size_t length;
    unsigned long long kibibytes = 0;

    if (file_read_text("/proc/meminfo", &text, &length, &ignored) < 0)
        return 0;
    const char *line = strstr(text, "MemTotal:");
    if (line == NULL || sscanf(line, "MemTotal: %llu kB", &kibibytes) != 1)
        return 0;
    return (json_int_t)(kibibytes * 1024);
}

/* A value of os-release(5): KEY=VALUE with shell quoting, here only "..." or
 * '...' and backslash escapes inside double quotes. Heap, or NULL. */
static char *engine_info_os_release_value(const char *text, const char *key)
{
    size_t key_length = strlen(key);

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t line_length = end ? (size_t)(end - line) : strlen(line);
        if (line_length > key_length && strncmp(line, key, key_length) == 0 &&
            line[key_length] == '=') {
            const char *value = line + key_length + 1;
            size_t value_length = line_length - key_length - 1;
            char *out = malloc(value_length + 1);
            size_t used = 0;
            char quote = 0;
            if (out == NULL)
                return NULL;
            for (size_t i = 0; i < value_length; i++) {
                char c = value[i];
                if (quote == 0 && (c == '"' || c == '\'')) {
                    quote = c;
                } else if (quote != 0 && c == quote) {
                    quote = 0;
                } else if (quote == '"' && c == '\\' && i + 1 < value_length) {
                    out[used++] = value[++i];
                } else {
                    out[used++] = c;
                }
            }
            out[used] = '\0';
            return out;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/* PRETTY_NAME and VERSION_ID of /etc/os-release (or /usr/lib/os-release). */
static void engine_info_os_release(char **pretty_name, char **version_id)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error ignored;
    size_t length;

    *pretty_name = *version_id = NULL;
    if (file_read_text("/etc/os-release", &text, &length, &ignored) < 0 &&
        file_read_text("/usr/lib/os-release", &text, &length, &ignored) < 0)
        return;
    *pretty_name = engine_info_os_release_value(text, "PRETTY_NAME");
    *version_id = engine_info_os_release_value(text, "VERSION_ID");
}

/* A stable identity without state on disk: a UUID-shaped hash of the
 * machine id, the engine's name and its store. */
static void engine_info_id(const struct engine *engine, char id[37])
{
    _cleanup_free_ char *machine_id = NULL;
    _cleanup_free_ char *seed = NULL;
    struct keel_error ignored;
    struct digest digest;
    size_t length;

    if (file_read_text("/etc/machine-id", &machine_id, &length, &ignored) < 0)
        machine_id = NULL;
    if (asprintf(&seed, "%s\n%s\n%s", machine_id ? machine_id : "",
                 engine->options.name ? engine->options.name : "",
                 engine->options.store_root ? engine->options.store_root : "") < 0) {
        seed = NULL;
        digest_of_bytes("", 0, &digest);
    } else {
        digest_of_bytes(seed, strlen(seed), &digest);
    }
    const char *hex = digest_hex(&digest);
    snprintf(id, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Docker's name for the filesystem under the store ("extfs" for ext4). */
static const char *engine_info_backing_filesystem(const char *path)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } known[] = {
        {0xEF53, "extfs"},       {0x58465342, "xfs"},       {0x9123683E, "btrfs"},
        {0x01021994, "tmpfs"},   {0x794C7630, "overlayfs"}, {0x2FC12FC1, "zfs"},
        {0x65735546, "fuseblk"}, {0x6969, "nfs"},
    };
    struct statfs info;

    if (path == NULL || statfs(path, &info) < 0)
        return "<unknown>";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if ((unsigned long)info.f_type == known[i].magic)
            return known[i].name;
    return "<unknown>";
}

/* The daemon's open fds (Docker's NFd), -1 when unreadable. */
static json_int_t engine_info_open_fds(void)
{
    DIR *directory = opendir("/proc/self/fd");
    json_int_t count = 0;

    if (directory == NULL)
        return -1;
    for (struct dirent *entry; (entry = readdir(directory)) != NULL;)
        count += entry->d_name[0] != '.';
    closedir(directory);
    return count - 1; /* the directory's own fd */
}

static bool engine_info_ip_forwarding(void)
{
    _cleanup_free_ char *text = NULL;
    struct keel_error ignored;
    size_t length;

    return file_read_text("/proc/sys/net/ipv4/ip_forward", &text, &length, &ignored) == 0 &&
           text[0] == '1';
}

/* RFC 3339 with nanoseconds, UTC, as Go's time.RFC3339Nano prints it. */
static void engine_info_system_time(char *text, size_t size)
{
    struct timespec now;
    struct tm tm;
    char seconds[32];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(text, size, "%s.%09ldZ", seconds, now.tv_nsec);
}

/* Docker's Info, section by section, one field a line; NULL on ENOMEM. */
/* clang-format off */
static json_t *engine_info_counts_json(const struct engine *engine,
                                       const struct engine_info_counts *counts)
{
    char id[37];

    engine_info_id(engine, id);
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:[[ss][ss][ss]]}",
        "ID", id,
        "Containers", counts->containers,
        "ContainersRunning", counts->running,
        "ContainersPaused", (json_int_t)0,
        "ContainersStopped", counts->containers - counts->running,
        "Images", counts->images,
        "Driver", "overlay2",
        "DriverStatus",
            "Backing Filesystem", engine_info_backing_filesystem(engine->options.store_root),
            "Supports d_type", "true",
            "Native Overlay Diff", "true");
}

/* What the kernel and the runtime support (cgroup v2, all controllers). */
static json_t *engine_info_features_json(void)
{
    return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
        "MemoryLimit", 1,
        "SwapLimit", 1,
        "KernelMemory", 0,
        "KernelMemoryTCP", 0,
        "CpuCfsPeriod", 1,
        "CpuCfsQuota", 1,
        "CPUShares", 1,
        "CPUSet", 1,
        "PidsLimit", 1,
        "OomKillDisable", 0,
        "IPv4Forwarding", (int)engine_info_ip_forwarding(),
        "BridgeNfIptables", 0,
        "BridgeNfIp6tables", 0);
}

static json_t *engine_info_host_json(void)
{
    _cleanup_free_ char *operating_system = NULL;
    _cleanup_free_ char *os_version = NULL;
    struct utsname host;
    char system_time[64];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (uname(&host) < 0)
        return NULL;
    engine_info_os_release(&operating_system, &os_version);
    engine_info_system_time(system_time, sizeof system_time);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
        "SystemTime", system_time,
        "KernelVersion", host.release,
        "OperatingSystem", operating_system ? operating_system : "Linux",
        "OSVersion", os_version ? os_version : "",
        "OSType", "linux",
        "Architecture", host.machine,
        "NCPU", (json_int_t)(cpus > 0 ? cpus : 1),
        "MemTotal", engine_info_memory_total(),
        "HttpProxy", "",
        "HttpsProxy", "",
        "NoProxy", "");
}

static json_t *engine_info_daemon_json(const struct engine *engine)
{
    const char *init_binary = "";
    const char *root = engine->options.store_root ? engine->options.store_root : "";
    const char *name = engine->options.name ? engine->options.name : "keel";

    if (engine->options.container_init != NULL) {
        const char *slash = strrchr(engine->options.container_init, '/');
        init_binary = slash ? slash + 1 : engine->options.container_init;
    }
    return json_pack("{s:b, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:s, s:{s:{s:s}},"
                     " s:s, s:{s:s, s:s, s:s, s:b, s:s, s:n}, s:b, s:s, s:s, s:{s:s, s:s},"
                     " s:{s:s, s:s}, s:{s:s, s:s}, s:[sss], s:[]}",
        "Debug", 0,
        "NFd", engine_info_open_fds(),
        "LoggingDriver", "json-file",
        "CgroupDriver", "cgroupfs",
        "CgroupVersion", "2",
        "IndexServerAddress", "https://index.docker.io/v1/",
        "DockerRootDir", root,
        "Name", name,
        "Labels",
        "ExperimentalBuild", 0,
        "ServerVersion", KEEL_VERSION,
        "Runtimes", "keel", "path", "keel",
        "DefaultRuntime", "keel",
        "Swarm",
            "NodeID", "",
            "NodeAddr", "",
            "LocalNodeState", "inactive",
            "ControlAvailable", 0,
            "Error", "",
            "RemoteManagers",
        "LiveRestoreEnabled", 0,
        "Isolation", "",
        "InitBinary", init_binary,
        "ContainerdCommit", "ID", "", "Expected", "",
        "RuncCommit", "ID", "", "Expected", "",
        "InitCommit", "ID", "", "Expected", "",
        /* Keel's defaults: Docker's seccomp profile, no_new_privs, a
         * cgroup namespace per container. */
        "SecurityOptions", "name=seccomp,profile=default", "name=no-new-privileges",
            "name=cgroupns",
        "Warnings");
}
/* clang-format on */

int engine_info_json(struct engine *engine, char **json, struct keel_error *err)
{
    struct engine_info_counts counts = {0};
    json_t *sections[3];
    bool failed;

    if (engine_info_count(engine, &counts, err) < 0)
        return -1;
    json_t *info = engine_info_counts_json(engine, &counts);
    sections[0] = engine_info_features_json();
    sections[1] = engine_info_host_json();
    sections[2] = engine_info_daemon_json(engine);
    failed = info == NULL;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        failed |= sections[i] == NULL || json_object_update(info, sections[i]) < 0;
        json_decref(sections[i]);
    }
    *json = failed ? NULL : json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(info);
    if (*json == NULL)
        return keel_error_set(err, ENOMEM, "info");
    return 0;
}
