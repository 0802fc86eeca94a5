/* cgroup_devices.h — the device allowlist as a BPF_PROG_TYPE_CGROUP_DEVICE program (cgroup v2). */
#pragma once

#include <linux/bpf.h>
#include <stddef.h>

#include "error.h"
#include "oci_config.h"

/* Translate rules into BPF instructions: each access a request asks for
 * (read, write, mknod) is decided by the last rule matching the device that
 * names it, default deny; the request passes when each of its accesses does.
 * Pure: the unit tests run the result through an interpreter of their own.
 * *instructions is heap memory the caller frees. */
int cgroup_devices_build_program(const struct oci_device_rule *rules, size_t count,
                                 struct bpf_insn **instructions, size_t *length,
                                 struct keel_error *err);

/* Load the program and attach it to the cgroup directory fd (replacing a
 * program Keel attached before). */
int cgroup_devices_attach(int cgroup_fd, const struct oci_device_rule *rules, size_t count,
                          struct keel_error *err);
