/* container_spec_internal.h — private to container_spec*.c: their shared steps and helpers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* What HostConfig decides beyond its own section of config.json: read
 * first, because the hostname, the environment and the process depend on it. */
struct container_spec_host {
    bool privileged;
    bool network_host; /* no network namespace */
    bool pid_host;
    bool ipc_host;
    bool ipc_none; /* an IPC namespace without /dev/shm */
    bool uts_host;
    bool cgroupns_host;
    bool readonly_rootfs;
    bool seccomp_unconfined;
    bool no_new_privileges; /* Keel's default true; SecurityOpt may say otherwise */
    bool init;
    uint64_t capabilities; /* the final set, CapAdd and CapDrop applied */
};

/* Read HostConfig's modes, Privileged, CapAdd/CapDrop, SecurityOpt, Init
 * and ReadonlyRootfs (host_config may be NULL: Docker's defaults). Refuses
 * with the field's path. */
int container_spec_host_read(json_t *host_config, struct container_spec_host *host,
                             struct keel_error *err);

/* Apply HostConfig to config (Keel's default config with the process
 * already set): namespaces, capabilities, no_new_privs, seccomp, masked
 * paths, devices, mounts (Binds and the files of files), resources,
 * sysctls, OOM score. */
int container_spec_host_apply(json_t *host_config, const struct container_spec_host *host,
                              const char *files, json_t *config, struct keel_error *err);

/* config's mounts: Keel's defaults less those the request replaces (and
 * /dev/shm for IpcMode none, sized by ShmSize; /sys and its cgroups
 * read-write when privileged), then Binds, the host's /dev/shm for IpcMode
 * host, /etc/hostname, hosts, resolv.conf from files, parents first. */
int container_spec_mounts_apply(json_t *host_config, const struct container_spec_host *host,
                                const char *files, json_t *config, struct keel_error *err);

/* A user resolved in the container's /etc/passwd and /etc/group. */
struct container_spec_user {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids; /* gid first, then the groups that list the user */
    size_t additional_gid_count;
    char *home; /* the passwd entry's home, "/" when none */
};

/* Resolve Docker's User ("", "uid", "uid:gid", "name", "name:group", mixed)
 * as runc's user package does, reading rootfs's /etc/passwd and /etc/group
 * beneath it (RESOLVE_IN_ROOT: a symlink cannot lead out; a missing file
 * has no entries). Errors are Docker's: "unable to find user NAME: no
 * matching entries in passwd file". */
int container_spec_user_lookup(const char *rootfs, const char *spec,
                               struct container_spec_user *user, struct keel_error *err);
void container_spec_user_free(struct container_spec_user *user);

/* Create the working directory beneath rootfs when missing (0755, root's),
 * as Docker does before starting; refuse one that is not a directory. */
int container_spec_working_dir_create(const char *rootfs, const char *path, struct keel_error *err);

static inline void container_spec_json_release(json_t **json)
{
    json_decref(*json);
}
#define _cleanup_json_ __attribute__((cleanup(container_spec_json_release)))

/* Whether the NULL-terminated strings hold wanted. */
bool container_spec_strings_contain(const char *const *strings, const char *wanted);

/* A JSON array of the strings of a NULL-terminated list (NULL on ENOMEM). */
json_t *container_spec_json_strings(char *const *strings);

/* object[key] = value, taking value over; ENOMEM names key. */
int container_spec_json_set(json_t *object, const char *key, json_t *value, struct keel_error *err);
