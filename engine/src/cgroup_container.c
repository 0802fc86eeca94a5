/* cgroup_container.c — one container's cgroup v2 directory: create, limits, OOM, kill, remove. */
#include "cgroup_container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_devices.h"
#include "cleanup.h"
#include "file.h"
#include "words.h"

#define CGROUP_UNIFIED_ROOT "/sys/fs/cgroup/unified"
#define CGROUP_KEEL_DIRECTORY "keel"
#define CPU_PERIOD_DEFAULT 100000
#define CGROUP_VALUE_MAX 4096
/* How long kill and remove wait for the last processes to go. */
#define CGROUP_SETTLE_NANOSECONDS 1000000000LL
#define CGROUP_POLL_NANOSECONDS 10000000L

/* The files the resources map to, and the controller each needs. */
static const struct {
    const char *file;
    const char *controller;
} resource_files[] = {
    {"memory.max", "memory"},  {"memory.low", "memory"}, {"memory.swap.max", "memory"},
    {"cpu.weight", "cpu"},     {"cpu.max", "cpu"},       {"cpuset.cpus", "cpuset"},
    {"cpuset.mems", "cpuset"}, {"pids.max", "pids"},     {"io.weight", "io"},
};

unsigned long cgroup_cpu_weight_from_shares(unsigned long shares)
{
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    /* Maps v1's 2..262144 linearly onto v2's 1..10000, as runc and crun do,
     * so a container gets the same weight whichever runtime started it. */
    return 1 + ((shares - 2) * 9999) / 262142;
}

unsigned long cgroup_io_weight_from_blkio(unsigned long weight)
{
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((weight - 10) * 9999) / 990;
}

/* directory/file into out, refusing what does not fit. */
static int path_join(char *out, size_t size, const char *directory, const char *file,
                     struct keel_error *err)
{
    if ((size_t)snprintf(out, size, "%s/%s", directory, file) >= size)
        return keel_error_set(err, ENAMETOOLONG, "%s/%s", directory, file);
    return 0;
}

static bool is_cgroup2(const char *path)
{
    struct statfs info;
    return statfs(path, &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_container_find_root(char *root, size_t size, struct keel_error *err)
{
    static const char *const candidates[] = {CGROUP_ROOT, CGROUP_UNIFIED_ROOT};

    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        if (!is_cgroup2(candidates[i]))
            continue;
        if ((size_t)snprintf(root, size, "%s", candidates[i]) >= size)
            return keel_error_set(err, ENAMETOOLONG, "cgroup root %s", candidates[i]);
        return 0;
    }
    return keel_error_set(err, ENOENT, "no cgroup2 hierarchy at %s or %s", CGROUP_ROOT,
                          CGROUP_UNIFIED_ROOT);
}

/* Append "/component" to path, refusing what could leave the root. */
static int path_append(char *path, size_t size, size_t *used, const char *component, size_t length,
                       const char *whole, struct keel_error *err)
{
    if ((length == 1 && component[0] == '.') || length == 0)
        return 0;
    if (length == 2 && component[0] == '.' && component[1] == '.')
        return keel_error_invalid(err, "cgroupsPath \"%s\": \"..\" is not allowed", whole);
    if (*used + 1 + length >= size)
        return keel_error_set(err, ENAMETOOLONG, "cgroupsPath \"%s\"", whole);
    path[(*used)++] = '/';
    memcpy(path + *used, component, length);
    *used += length;
    path[*used] = '\0';
    return 0;
}

int cgroup_container_resolve_path(const char *root, const char *cgroups_path, const char *id,
                                  char *path, size_t size, struct keel_error *err)
{
    size_t used = strlen(root);

    if (used >= size)
        return keel_error_set(err, ENAMETOOLONG, "cgroup root %s", root);
    memcpy(path, root, used + 1);
    if (cgroups_path == NULL || cgroups_path[0] == '\0') {
        /* The id names one directory, never a path. */
        if (id == NULL || id[0] == '\0' || strchr(id, '/') != NULL || strcmp(id, ".") == 0 ||
            strcmp(id, "..") == 0)
            return keel_error_invalid(err, "container id \"%s\" cannot name a cgroup",
                                      id ? id : "");
        cgroups_path = id;
    } else if (cgroups_path[0] != '/' && strchr(cgroups_path, ':') != NULL) {
        return keel_error_invalid(err,
                                  "cgroupsPath \"%s\": systemd paths (slice:prefix:name) are not "
                                  "supported",
                                  cgroups_path);
    }
    /* Absolute: below the root; relative: below Keel's own directory. */
    if (cgroups_path[0] != '/' && path_append(path, size, &used, CGROUP_KEEL_DIRECTORY,
                                              strlen(CGROUP_KEEL_DIRECTORY), cgroups_path, err) < 0)
        return -1;
    for (const char *start = cgroups_path; *start != '\0';) {
        const char *end = strchrnul(start, '/');
        if (path_append(path, size, &used, start, (size_t)(end - start), cgroups_path, err) < 0)
            return -1;
        start = *end == '/' ? end + 1 : end;
    }
    if (strcmp(path, root) == 0)
        return keel_error_invalid(err, "cgroupsPath \"%s\" names the root cgroup", cgroups_path);
    return 0;
}

/* A limit where negative means none: "max" or the number. */
static int print_limit(char *value, size_t size, int64_t limit)
{
    return limit < 0 ? snprintf(value, size, "max")
                     : snprintf(value, size, "%lld", (long long)limit);
}

/* The spec's memory.swap is memory plus swap (v1's memsw); v2's
 * memory.swap.max is the swap alone. Returns 0 when nothing is to be set. */
static int memory_swap_value(const struct oci_resources *resources, char *value, size_t size,
                             int *length, struct keel_error *err)
{
    int64_t swap = resources->has_memory_swap ? resources->memory_swap : 0;
    int64_t limit = resources->has_memory_limit ? resources->memory_limit : 0;

    /* Unlimited memory with no word on swap: unlimited swap too, as v1's
     * memsw would have been. 0 is "not set", as in runc. */
    if (limit < 0 && swap == 0)
        swap = -1;
    if (swap == 0)
        return 0;
    if (swap < 0) {
        *length = snprintf(value, size, "max");
        return 1;
    }
    if (limit <= 0)
        return keel_error_invalid(err, "memory.swap %lld needs a memory.limit", (long long)swap);
    if (swap < limit)
        return keel_error_invalid(err, "memory.swap %lld is below memory.limit %lld",
                                  (long long)swap, (long long)limit);
    *length = snprintf(value, size, "%lld", (long long)(swap - limit));
    return 1;
}

int cgroup_container_resource_value(const struct oci_resources *resources, const char *file,
                                    char *value, size_t size, struct keel_error *err)
{
    const struct oci_resources *r = resources;
    int length = -1;

    if (strcmp(file, "memory.max") == 0) {
        /* 0 is "not set" (runc): a zero limit would kill at once. */
        if (!r->has_memory_limit || r->memory_limit == 0)
            return 0;
        length = print_limit(value, size, r->memory_limit);
    } else if (strcmp(file, "memory.low") == 0) {
        if (!r->has_memory_reservation)
            return 0;
        length = print_limit(value, size, r->memory_reservation);
    } else if (strcmp(file, "memory.swap.max") == 0) {
        int set = memory_swap_value(r, value, size, &length, err);
        if (set <= 0)
            return set;
    } else if (strcmp(file, "cpu.weight") == 0) {
        if (!r->has_cpu_shares || r->cpu_shares == 0)
            return 0;
        length = snprintf(value, size, "%lu",
                          cgroup_cpu_weight_from_shares((unsigned long)r->cpu_shares));
    } else if (strcmp(file, "cpu.max") == 0) {
        bool has_quota = r->has_cpu_quota && r->cpu_quota != 0;
        bool has_period = r->has_cpu_period && r->cpu_period != 0;
        if (!has_quota && !has_period)
            return 0;
        unsigned long long period = has_period ? r->cpu_period : CPU_PERIOD_DEFAULT;
        if (has_quota && r->cpu_quota > 0)
            length = snprintf(value, size, "%lld %llu", (long long)r->cpu_quota, period);
        else
            length = snprintf(value, size, "max %llu", period);
    } else if (strcmp(file, "cpuset.cpus") == 0 || strcmp(file, "cpuset.mems") == 0) {
        const char *set = strcmp(file, "cpuset.cpus") == 0 ? r->cpu_cpus : r->cpu_mems;
        if (set == NULL || set[0] == '\0')
            return 0;
        length = snprintf(value, size, "%s", set);
    } else if (strcmp(file, "pids.max") == 0) {
        if (!r->has_pids_limit)
            return 0;
        /* The spec: 0 or less is unlimited. */
        length = print_limit(value, size, r->pids_limit > 0 ? r->pids_limit : -1);
    } else if (strcmp(file, "io.weight") == 0) {
        if (!r->has_blockio_weight || r->blockio_weight == 0)
            return 0;
        /* A bare number sets the default weight ("default N" does too). */
        length = snprintf(value, size, "%lu", cgroup_io_weight_from_blkio(r->blockio_weight));
    } else {
        return 0;
    }
    if (length < 0 || (size_t)length >= size)
        return keel_error_invalid(err, "%s: value too long", file);
    return 1;
}

/* A unified key names a file in the container's directory, nothing else. */
static int unified_key_check(const char *key, struct keel_error *err)
{
    if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL || strstr(key, "..") != NULL)
        return keel_error_invalid(err, "unified: \"%s\" is not a cgroup file name", key);
    return 0;
}

/* The controller a unified key belongs to: the part before the first dot
 * ("memory.high" → "memory"); none for the core's cgroup.* files. */
static bool unified_key_controller(const char *key, char *controller, size_t size)
{
    const char *dot = strchr(key, '.');
    size_t length = dot ? (size_t)(dot - key) : 0;

    if (length == 0 || length >= size || strncmp(key, "cgroup.", 7) == 0)
        return false;
    memcpy(controller, key, length);
    controller[length] = '\0';
    return true;
}

/* The controllers the resources need, each with the first file that needs
 * it (for the error message). The kernel has about a dozen. */
#define NEEDED_CONTROLLERS_MAX 16

struct needed_controllers {
    struct {
        char name[32];
        const char *file;
    } entries[NEEDED_CONTROLLERS_MAX];
    size_t count;
};

static int needed_add(struct needed_controllers *needed, const char *name, const char *file,
                      struct keel_error *err)
{
    for (size_t i = 0; i < needed->count; i++)
        if (strcmp(needed->entries[i].name, name) == 0)
            return 0;
    if (needed->count == NEEDED_CONTROLLERS_MAX)
        return keel_error_invalid(err, "%s: more than %d cgroup controllers needed", file,
                                  NEEDED_CONTROLLERS_MAX);
    snprintf(needed->entries[needed->count].name, sizeof needed->entries[0].name, "%s", name);
    needed->entries[needed->count].file = file;
    needed->count++;
    return 0;
}

/* Check every resource (before anything is created) and list the
 * controllers they need. */
static int resources_check(const struct oci_resources *resources, struct needed_controllers *needed,
                           struct keel_error *err)
{
    char value[CGROUP_VALUE_MAX];

    needed->count = 0;
    if (resources == NULL)
        return 0;
    for (size_t i = 0; i < sizeof resource_files / sizeof *resource_files; i++) {
        int set = cgroup_container_resource_value(resources, resource_files[i].file, value,
                                                  sizeof value, err);
        if (set < 0)
            return -1;
        if (set > 0 &&
            needed_add(needed, resource_files[i].controller, resource_files[i].file, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < resources->unified_count; i++) {
        const char *key = resources->unified[i].key;
        char controller[32];
        if (unified_key_check(key, err) < 0)
            return -1;
        if (unified_key_controller(key, controller, sizeof controller) &&
            needed_add(needed, controller, key, err) < 0)
            return -1;
    }
    return 0;
}

static bool word_list_has(const char *text, const char *word)
{
    const char *cursor = text, *start;
    size_t length;

    while (words_next(&cursor, &start, &length))
        if (length == strlen(word) && memcmp(start, word, length) == 0)
            return true;
    return false;
}

/* Make the needed controllers available to directory's children. */
static int controllers_enable(const char *directory, const struct needed_controllers *needed,
                              struct keel_error *err)
{
    _cleanup_free_ char *available = NULL;
    _cleanup_free_ char *enabled = NULL;
    char file[PATH_MAX];

    if (needed->count == 0)
        return 0;
    if (path_join(file, sizeof file, directory, "cgroup.controllers", err) < 0 ||
        file_read_text(file, &available, NULL, err) < 0)
        return -1;
    if (path_join(file, sizeof file, directory, "cgroup.subtree_control", err) < 0 ||
        file_read_text(file, &enabled, NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < needed->count; i++) {
        const char *name = needed->entries[i].name;
        char request[40];
        if (!word_list_has(available, name))
            return keel_error_set(err, 0,
                                  "cgroup controller \"%s\" is not available in %s (needed for %s)",
                                  name, directory, needed->entries[i].file);
        if (word_list_has(enabled, name))
            continue;
        snprintf(request, sizeof request, "+%s", name);
        if (file_write_text(file, request, err) < 0)
            return keel_error_prefix(err, "enable cgroup controller \"%s\" (for %s)", name,
                                     needed->entries[i].file);
    }
    return 0;
}

/* Create (mkdir -p) the directories from the root down to path's parent,
 * enabling the controllers in each on the way; the root itself exists. */
static int ancestors_prepare(const char *root, const char *path,
                             const struct needed_controllers *needed, struct keel_error *err)
{
    char directory[PATH_MAX];
    size_t root_length = strlen(root);
    const char *last = strrchr(path, '/');

    snprintf(directory, sizeof directory, "%s", root);
    if (controllers_enable(directory, needed, err) < 0)
        return -1;
    for (const char *slash = strchr(path + root_length + 1, '/'); slash != NULL && slash <= last;
         slash = strchr(slash + 1, '/')) {
        size_t length = (size_t)(slash - path);
        memcpy(directory, path, length);
        directory[length] = '\0';
        if (mkdir(directory, 0755) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create %s", directory);
        if (controllers_enable(directory, needed, err) < 0)
            return -1;
    }
    return 0;
}

/* Create the container's own directory; an existing one only if empty. */
static int directory_create(const char *path, bool *created, struct keel_error *err)
{
    _cleanup_free_ char *processes = NULL;
    char file[PATH_MAX];

    *created = false;
    if (mkdir(path, 0755) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST)
        return keel_error_set(err, errno, "create %s", path);
    if (path_join(file, sizeof file, path, "cgroup.procs", err) < 0 ||
        file_read_text(file, &processes, NULL, err) < 0)
        return -1;
    if (processes[0] != '\0')
        return keel_error_set(err, EBUSY, "cgroup %s already has processes", path);
    return 0;
}

static int setting_write(int directory_fd, const char *path, const char *file, const char *value,
                         struct keel_error *err)
{
    _cleanup_close_ int fd = openat(directory_fd, file, O_WRONLY | O_CLOEXEC);
    size_t length = strlen(value);
    ssize_t n;

    if (fd < 0)
        return keel_error_set(err, errno, "write %s = %s in %s", file, value, path);
    do {
        n = write(fd, value, length);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return keel_error_set(err, errno, "write %s = %s in %s", file, value, path);
    if ((size_t)n != length)
        return keel_error_set(err, EIO, "write %s = %s in %s: short write", file, value, path);
    return 0;
}

static int resources_write(int directory_fd, const char *path,
                           const struct oci_resources *resources, struct keel_error *err)
{
    char value[CGROUP_VALUE_MAX];

    for (size_t i = 0; i < sizeof resource_files / sizeof *resource_files; i++) {
        const char *file = resource_files[i].file;
        int set = cgroup_container_resource_value(resources, file, value, sizeof value, err);
        if (set < 0)
            return -1;
        if (set == 0)
            continue;
        if (setting_write(directory_fd, path, file, value, err) < 0) {
            /* No swap accounting in this kernel: "no swap limit" is the
             * state already. */
            if (err->errno_value == ENOENT && strcmp(file, "memory.swap.max") == 0 &&
                strcmp(value, "max") == 0)
                continue;
            return -1;
        }
    }
    /* Last, so they override what the fields above set. */
    for (size_t i = 0; i < resources->unified_count; i++)
        if (setting_write(directory_fd, path, resources->unified[i].key,
                          resources->unified[i].value, err) < 0)
            return -1;
    return 0;
}

/* Everything after the directory exists: resources, device filter, the fd. */
static int directory_configure(const char *path, const struct oci_resources *resources,
                               int *directory_fd, struct keel_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return keel_error_set(err, errno, "open %s", path);
    if (resources != NULL) {
        if (resources_write(fd, path, resources, err) < 0)
            return -1;
        if (resources->device_rule_count > 0 &&
            cgroup_devices_attach(fd, resources->device_rules, resources->device_rule_count, err) <
                0)
            return keel_error_prefix(err, "%s", path);
    }
    /* O_PATH: the fd only names the cgroup, for clone3(CLONE_INTO_CGROUP). */
    *directory_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*directory_fd < 0)
        return keel_error_set(err, errno, "open %s", path);
    return 0;
}

int cgroup_container_create(const char *cgroups_path, const char *id,
                            const struct oci_resources *resources, struct cgroup_container *cgroup,
                            struct keel_error *err)
{
    struct needed_controllers needed;
    char root[PATH_MAX], path[PATH_MAX];
    bool created;

    *cgroup = (struct cgroup_container){.path = NULL, .directory_fd = -1};
    if (cgroup_container_find_root(root, sizeof root, err) < 0)
        return -1;
    if (cgroup_container_resolve_path(root, cgroups_path, id, path, sizeof path, err) < 0)
        return -1;
    if (resources_check(resources, &needed, err) < 0)
        return -1;
    if (ancestors_prepare(root, path, &needed, err) < 0)
        return -1;
    if (directory_create(path, &created, err) < 0)
        return -1;
    if (directory_configure(path, resources, &cgroup->directory_fd, err) < 0) {
        /* Leave no half-configured cgroup behind; parents are shared. */
        if (created)
            rmdir(path);
        return -1;
    }
    cgroup->path = strdup(path);
    if (cgroup->path == NULL) {
        cgroup_container_close(cgroup);
        if (created)
            rmdir(path);
        return keel_error_set(err, ENOMEM, "create %s", path);
    }
    return 0;
}

int cgroup_container_oom_killed(const char *path, bool *killed, struct keel_error *err)
{
    _cleanup_free_ char *events = NULL;
    char file[PATH_MAX];
    struct keel_error read_err;

    *killed = false;
    if (path_join(file, sizeof file, path, "memory.events", err) < 0)
        return -1;
    if (file_read_text(file, &events, NULL, &read_err) < 0) {
        /* No memory controller, no OOM kill to report. */
        if (read_err.errno_value == ENOENT)
            return 0;
        *err = read_err;
        return -1;
    }
    for (const char *line = events; line != NULL && *line != '\0';) {
        unsigned long long count;
        if (sscanf(line, "oom_kill %llu", &count) == 1) {
            *killed = count > 0;
            return 0;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return 0;
}

static long long monotonic_nanoseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void pause_briefly(void)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = CGROUP_POLL_NANOSECONDS};
    nanosleep(&pause, NULL);
}

/* Before Linux 5.14 (no cgroup.kill): signal the listed processes, again
 * and again while forks race us, for up to a second. Processes still
 * there after that have their SIGKILL pending; remove() waits for them. */
static int processes_kill_one_by_one(const char *path, struct keel_error *err)
{
    char file[PATH_MAX];
    long long deadline = monotonic_nanoseconds() + CGROUP_SETTLE_NANOSECONDS;

    if (path_join(file, sizeof file, path, "cgroup.procs", err) < 0)
        return -1;
    for (;;) {
        _cleanup_free_ char *processes = NULL;
        const char *cursor, *word;
        size_t length;
        struct keel_error read_err;
        bool any = false;

        if (file_read_text(file, &processes, NULL, &read_err) < 0) {
            if (read_err.errno_value == ENOENT) /* no cgroup, no process */
                return 0;
            *err = read_err;
            return -1;
        }
        cursor = processes;
        while (words_next(&cursor, &word, &length)) {
            pid_t pid = (pid_t)strtol(word, NULL, 10);
            if (pid <= 0)
                continue;
            if (kill(pid, SIGKILL) == 0)
                any = true;
            else if (errno != ESRCH) /* ESRCH: gone since the read */
                return keel_error_set(err, errno, "kill process %d of cgroup %s", (int)pid, path);
        }
        if (!any || monotonic_nanoseconds() >= deadline)
            return 0;
        pause_briefly();
    }
}

int cgroup_container_kill(const char *path, struct keel_error *err)
{
    char file[PATH_MAX];
    struct keel_error write_err;

    if (path_join(file, sizeof file, path, "cgroup.kill", err) < 0)
        return -1;
    if (file_write_text(file, "1", &write_err) == 0)
        return 0;
    if (write_err.errno_value != ENOENT) {
        *err = write_err;
        return -1;
    }
    return processes_kill_one_by_one(path, err);
}

int cgroup_container_remove(const char *path, struct keel_error *err)
{
    long long deadline = monotonic_nanoseconds() + CGROUP_SETTLE_NANOSECONDS;

    for (;;) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        /* EBUSY: killed processes not gone yet (or a child cgroup). */
        if (errno != EBUSY || monotonic_nanoseconds() >= deadline)
            return keel_error_set(err, errno, "remove cgroup %s", path);
        pause_briefly();
    }
}

void cgroup_container_close(struct cgroup_container *cgroup)
{
    if (cgroup->directory_fd >= 0)
        close(cgroup->directory_fd);
    cgroup->directory_fd = -1;
    free(cgroup->path);
    cgroup->path = NULL;
}
