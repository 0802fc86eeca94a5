/* runtime_process.h — the last steps of a container's process, shared by create and exec: stdio,
 * limits, identity, seccomp, exec. */
#pragma once

#include "error.h"
#include "oci_config.h"
#include "seccomp.h"

struct runtime_process_plan {
    const struct oci_process *process;
    const struct seccomp_program *seccomp; /* NULL: no filter */
    int console_socket;                    /* -1: none */
    int stdio[3];                          /* -1: keep */
    int preserve_fds;
    int container_init_fd; /* memfd of container-init, or -1 */
    int exec_fifo_fd;      /* O_PATH fd of the FIFO to wait on before exec, or -1 */
    int sync_fd;           /* where CREATED and errors go; -1 none */
    const struct oci_hook_list *start_hooks; /* startContainer hooks, or NULL */
    const char *hook_state;                  /* their stdin */
};

/* In the container's process, after its root is in place: terminal or
 * stdio, cwd, rlimits, oom_score_adj, umask; CREATED to the runtime; the
 * wait for start; startContainer hooks; no_new_privs, user and
 * capabilities, seccomp; only the declared fds left; exec. Returns only on
 * failure, with err set and *exit_code what the process should exit with
 * (127: program not found, 126: not executable, 1: setup failed). */
int runtime_process_finish(const struct runtime_process_plan *plan, int *exit_code,
                           struct keel_error *err);
