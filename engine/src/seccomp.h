/* seccomp.h — compiles an OCI seccomp section to a BPF program (libseccomp), cached by its hash,
 * and loads it. */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>

#include "error.h"
#include "oci_config.h"

struct seccomp_program {
    struct sock_filter *instructions; /* heap */
    unsigned short length;            /* instruction count */
    unsigned filter_flags;            /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
    bool wants_listener;              /* some rule uses SCMP_ACT_NOTIFY */
};

/* Compile profile for the native architecture (plus the architectures it
 * lists). When cache_directory is not NULL, the program is looked up there
 * first under the SHA-256 of a canonical encoding of profile (and of
 * libseccomp's version), and stored there after a compile (written
 * atomically; the directory is created 0700). A syscall name libseccomp
 * does not know is skipped, as runc and crun do; an unknown architecture is
 * an error naming it. */
int seccomp_program_compile(const struct oci_seccomp *profile, const char *cache_directory,
                            struct seccomp_program *program, struct keel_error *err);

/* In the container's process, last before exec: seccomp(SECCOMP_SET_MODE_FILTER).
 * When the program wants a listener, *listener_fd receives the notify fd
 * (O_CLOEXEC); else it is set to -1. listener_fd may be NULL when not wanted. */
int seccomp_program_load(const struct seccomp_program *program, int *listener_fd,
                         struct keel_error *err);

void seccomp_program_free(struct seccomp_program *program);
