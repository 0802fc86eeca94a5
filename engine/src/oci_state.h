/* oci_state.h — the OCI runtime's state directory: one folder per container with state.json. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define OCI_STATE_DEFAULT_ROOT "/run/keel/oci"

struct oci_state {
    char *id;
    char *bundle; /* absolute */
    char *rootfs; /* absolute */
    pid_t pid;    /* the container's init, in the runtime's pid namespace; 0 none yet */
    unsigned long long start_time; /* /proc/PID/stat field 22: tells a reused pid apart */
    char *created;                 /* RFC 3339, UTC */
    char *cgroup_path;             /* absolute cgroupfs path, NULL if none */
    char **annotations;            /* NULL-terminated key, value, key, value, ... */
    bool oom_killed;               /* set by whoever reaped it and saw memory.events */
    bool has_exit_status;
    int exit_status; /* as waitpid's status, when the runtime reaped it */
};

enum oci_status { OCI_STATUS_CREATING, OCI_STATUS_CREATED, OCI_STATUS_RUNNING, OCI_STATUS_STOPPED };

/* "[A-Za-z0-9][A-Za-z0-9_.+-]*", at most 1024 bytes: else an error naming the id. */
int oci_state_validate_id(const char *id, struct keel_error *err);

/* mkdir ROOT (0700, parents too) and ROOT/ID (0700). An existing ROOT/ID is
 * EEXIST: "container \"ID\" already exists". */
int oci_state_create_directory(const char *root, const char *id, struct keel_error *err);

/* Write ROOT/ID/state.json atomically (write, fsync, rename, fsync dir). */
int oci_state_write(const char *root, const struct oci_state *state, struct keel_error *err);

/* Read ROOT/ID/state.json. A missing container is ENOENT:
 * "container \"ID\" does not exist". */
int oci_state_read(const char *root, const char *id, struct oci_state **state,
                   struct keel_error *err);

/* The live status: stopped when a runtime recorded an exit status, or state->pid is gone or is
 * another process (start time differs) or a zombie; created while ROOT/ID/exec.fifo exists; else
 * running. */
enum oci_status oci_state_status(const char *root, const struct oci_state *state);
const char *oci_status_name(enum oci_status status);

/* The runtime-spec state JSON ({"ociVersion", "id", "status", "pid",
 * "bundle", "annotations"} plus runc's "rootfs", "created", "owner"),
 * indented as runc prints it, without a trailing newline; "oomKilled": true
 * is added when the kernel OOM-killed the container. *text is heap memory. */
int oci_state_format(const struct oci_state *state, enum oci_status status, char **text,
                     struct keel_error *err);

/* IDs of ROOT's containers, sorted, NULL-terminated (heap; free each and the array). */
int oci_state_list(const char *root, char ***ids, struct keel_error *err);

/* rm -r ROOT/ID. A missing directory is success. */
int oci_state_remove(const char *root, const char *id, struct keel_error *err);

/* Path helpers: ROOT/ID/NAME into buffer. */
int oci_state_path(const char *root, const char *id, const char *name, char *buffer, size_t size,
                   struct keel_error *err);

/* /proc/PID/stat field 22, or 0 when the process is gone. */
unsigned long long oci_state_process_start_time(pid_t pid);

void oci_state_free(struct oci_state *state);
