/* cgroup_container.h — one container's cgroup v2 directory: create, apply resources, watch OOM,
 * remove. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "oci_config.h"

struct cgroup_container {
    char *path;       /* absolute: /sys/fs/cgroup/keel/ID */
    int directory_fd; /* O_PATH|O_DIRECTORY|O_CLOEXEC, for clone3's CLONE_INTO_CGROUP; -1 if closed
                       */
};

/* Where the unified (v2) hierarchy is mounted: /sys/fs/cgroup when it is
 * cgroup2, else /sys/fs/cgroup/unified on a hybrid host, else an error. */
int cgroup_container_find_root(char *root, size_t size, struct keel_error *err);

/* Resolve linux.cgroupsPath (absolute: below the root; relative or NULL:
 * below ROOT/keel, NULL meaning ROOT/keel/ID; "slice:prefix:name" systemd
 * paths are refused by name), create it and its parents, enable in each
 * parent's cgroup.subtree_control the controllers resources need, write
 * the resources (memory.max, memory.low, memory.swap.max, cpu.weight,
 * cpu.max, cpuset.cpus, cpuset.mems, pids.max, io.weight, unified) and, when
 * the resources have device rules, attach the device filter
 * (cgroup_devices.h). A resource whose controller the hierarchy lacks is an
 * error naming the file. An existing directory is reused only when empty. */
int cgroup_container_create(const char *cgroups_path, const char *id,
                            const struct oci_resources *resources, struct cgroup_container *cgroup,
                            struct keel_error *err);

/* Did the kernel OOM-kill a process of this cgroup (memory.events oom_kill > 0)? */
int cgroup_container_oom_killed(const char *path, bool *killed, struct keel_error *err);

/* SIGKILL every process of the cgroup (cgroup.kill, else one by one from
 * cgroup.procs). A missing cgroup is success. */
int cgroup_container_kill(const char *path, struct keel_error *err);

/* Remove the directory (retrying briefly while the last processes exit). A
 * missing directory is success. */
int cgroup_container_remove(const char *path, struct keel_error *err);

void cgroup_container_close(struct cgroup_container *cgroup);

/* Where cgroups_path (NULL/"" → keel/ID) puts the container below root (pure). */
int cgroup_container_resolve_path(const char *root, const char *cgroups_path, const char *id,
                                  char *path, size_t size, struct keel_error *err);

/* The value resources give one file ("memory.max", ...): 1 and value
 * filled, 0 not set, -1 bad data (pure). */
int cgroup_container_resource_value(const struct oci_resources *resources, const char *file,
                                    char *value, size_t size, struct keel_error *err);

/* Conversions the spec's v1-style numbers need (pure, for unit tests). */
unsigned long cgroup_cpu_weight_from_shares(unsigned long shares); /* 2..262144 → 1..10000 */
unsigned long cgroup_io_weight_from_blkio(unsigned long weight);   /* 10..1000 → 1..10000 */
