/* clone3.h — struct clone_args and the clone3 call, spelled out once for every module that starts
 * processes. */
#pragma once

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Spelled out here because <linux/sched.h> clashes with glibc's <sched.h>.
 * Up to cgroup: CLONE_ARGS_SIZE_VER2 (Linux 5.7). */
struct keel_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* fork-like: 0 in the child, the pid in the parent, -1 and errno. */
static inline long keel_clone3(struct keel_clone_args *args)
{
    return syscall(SYS_clone3, args, sizeof *args);
}
