/* oci_spec.h — Keel's default OCI config (what `keel oci spec` writes and the daemon starts from).
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "error.h"

/* Docker's 14 default capabilities, as a bitmask over capability numbers. */
extern const uint64_t oci_spec_default_capabilities;
/* Docker's masked and read-only /proc and /sys paths (NULL-terminated). */
extern const char *const oci_spec_default_masked_paths[];
extern const char *const oci_spec_default_readonly_paths[];

/* The default seccomp profile (engine/data/seccomp-default.json, Docker's
 * profile format with per-capability and per-architecture conditions)
 * resolved for a container holding capabilities: a linux.seccomp object in
 * OCI's form. */
int oci_spec_default_seccomp(uint64_t capabilities, json_t **seccomp, struct keel_error *err);

/* A whole config.json with Keel's defaults: process sh in a terminal-less
 * container (args {"sh"}), root "rootfs", the default mounts, every
 * namespace but user and time, the default devices' allowlist, the
 * capability sets, no_new_privs, masked/read-only paths and the seccomp
 * profile. */
int oci_spec_default_config(json_t **config, struct keel_error *err);

/* Write config.json into bundle_directory atomically (write, fsync, rename);
 * an existing config.json is an error (EEXIST), as with runc spec. */
int oci_spec_write(const char *bundle_directory, struct keel_error *err);
