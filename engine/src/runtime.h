/* runtime.h — starts a container's process from an OCI config, in-process: namespaces, cgroup,
 * rootfs, identity, seccomp, exec. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "oci_config.h"

struct runtime_create_options {
    const char *id;
    const char *bundle; /* absolute */
    const char *rootfs; /* absolute */
    const struct oci_config *config;
    /* NULL: exec the process as soon as it is set up (run). Else the path of
     * a FIFO the process opens for writing after setup and before exec,
     * so it stays "created" until runtime_container_start() opens it. */
    const char *exec_fifo;
    int console_socket; /* unix socket to send the pty master to; -1: none */
    int stdio[3];       /* fds that become the process's 0, 1, 2; -1: keep the runtime's own */
    int preserve_fds;   /* fds 3 .. 3+N-1 stay open in the process (runc --preserve-fds) */
    /* NULL, or the container-init binary to run as PID 1 with the process
     * as its child. It is copied into a sealed memfd and exec'd from there:
     * the container never sees, and cannot write, the file. */
    const char *container_init;
    const char *seccomp_cache; /* directory of compiled filters, NULL: compile every time */
};

struct runtime_container {
    pid_t pid;         /* in the runtime's pid namespace */
    int pidfd;         /* O_CLOEXEC; -1 when closed */
    char *cgroup_path; /* absolute, NULL when the container has no cgroup */
};

/* Create the container's process. On success the process is set up and
 * either exec'd (exec_fifo NULL) or waiting on the FIFO. On failure nothing
 * is left: the process is killed and reaped, its cgroup removed, and err
 * carries the step that failed inside the container:
 *   "create container c1: mount proc on /proc: Operation not permitted". */
int runtime_container_create(const struct runtime_create_options *options,
                             struct runtime_container *container, struct keel_error *err);

/* Release the process after create: open the FIFO for reading, read the
 * process's byte, remove the FIFO. */
int runtime_container_start(const char *exec_fifo, struct keel_error *err);

/* Run a new process in a running container (keel oci exec): join every
 * namespace of the container's init (pid), its cgroup, and apply process's
 * identity and seccomp as for the container's own process. */
struct runtime_exec_options {
    pid_t container_pid;
    const char *cgroup_path;         /* NULL: stay in the runtime's cgroup */
    const struct oci_config *config; /* the container's: seccomp, namespaces */
    const struct oci_process *process;
    int console_socket;
    int stdio[3];
    int preserve_fds;
    const char *seccomp_cache; /* as in runtime_create_options */
};
int runtime_process_exec(const struct runtime_exec_options *options, pid_t *pid, int *pidfd,
                         struct keel_error *err);

/* The container state JSON that hooks read on stdin. *text is heap memory. */
int runtime_hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                       const struct oci_config *config, char **text, struct keel_error *err);

void runtime_container_release(struct runtime_container *container);
