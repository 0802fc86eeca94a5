/* caps.h — a container process's identity: user, groups, capability sets, no_new_privs. */
#pragma once

#include "error.h"
#include "oci_config.h"

/* In the container's process, after its mounts and before seccomp and exec:
 * drop from the bounding set what process->capabilities[BOUNDING] lacks,
 * set the supplementary groups (additionalGids; none if empty), gid and
 * uid (keeping capabilities across the uid change), then the effective,
 * permitted and inheritable sets exactly, then raise the ambient set. With
 * !has_capabilities every set ends empty. Errors name the step and the
 * capability: "raise ambient capability CAP_NET_RAW: Operation not permitted". */
int caps_apply_process(const struct oci_process *process, struct keel_error *err);

/* prctl(PR_SET_NO_NEW_PRIVS) when process->no_new_privileges. */
int caps_apply_no_new_privileges(const struct oci_process *process, struct keel_error *err);
