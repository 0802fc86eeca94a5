/* runtime_exec.c — runs another process in a running container: join its namespaces and cgroup,
 * then confine and exec. */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "clone3.h"
#include "runtime_process.h"
#include "runtime_sync.h"
#include "seccomp.h"
#include "spawn.h"

/* The namespaces of pid that differ from ours: the set to join. */
static int runtime_exec_namespaces(pid_t pid, int *flags, struct keel_error *err)
{
    static const struct {
        const char *name;
        int flag;
    } kinds[] = {
        {"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},    {"pid", CLONE_NEWPID},
        {"net", CLONE_NEWNET},       {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
        {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
    };
    *flags = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char theirs[64], ours[64];
        struct stat their_status, our_status;
        snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, kinds[i].name);
        snprintf(ours, sizeof ours, "/proc/self/ns/%s", kinds[i].name);
        if (stat(ours, &our_status) < 0)
            continue; /* the kernel lacks this kind */
        if (stat(theirs, &their_status) < 0)
            return keel_error_set(err, errno, "stat %s", theirs);
        if (their_status.st_ino != our_status.st_ino || their_status.st_dev != our_status.st_dev)
            *flags |= kinds[i].flag;
    }
    return 0;
}

struct runtime_exec_child {
    const struct runtime_exec_options *options;
    const struct seccomp_program *seccomp;
    int container_pidfd;
    int namespaces;
    int sync_fd;
};

static _Noreturn void runtime_exec_child_main(struct runtime_exec_child *child)
{
    struct keel_error err;
    keel_error_clear(&err);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    spawn_reset_signals();
    /* One call enters every namespace at once (Linux 5.8); the mount
     * namespace also moves root and cwd to the container's root. */
    if (child->namespaces && setns(child->container_pidfd, child->namespaces) < 0) {
        keel_error_set(&err, errno, "join the container's namespaces");
        runtime_sync_fail(child->sync_fd, &err, 1);
    }
    /* The pid namespace applies to children only: the process proper is a
     * sibling (CLONE_PARENT), so the runtime can wait for it. */
    struct keel_clone_args args = {.flags = CLONE_PARENT};
    long pid = keel_clone3(&args);
    if (pid == 0) {
        int exit_code = 1;
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        const struct runtime_exec_options *options = child->options;
        struct runtime_process_plan plan = {
            .process = options->process,
            .seccomp = child->seccomp,
            .console_socket = options->console_socket,
            .stdio = {options->stdio[0], options->stdio[1], options->stdio[2]},
            .preserve_fds = options->preserve_fds,
            .container_init_fd = -1,
            .exec_fifo_fd = -1,
            .sync_fd = -1,
        };
        runtime_process_finish(&plan, &exit_code, &err);
        keel_error_prefix(&err, "exec in container");
        runtime_sync_fail(child->sync_fd, &err, exit_code);
    }
    if (pid < 0) {
        keel_error_set(&err, errno, "clone the exec'd process");
        runtime_sync_fail(child->sync_fd, &err, 1);
    }
    runtime_sync_send(child->sync_fd, RUNTIME_SYNC_PID, (int)pid, NULL, &err);
    _exit(0);
}

int runtime_process_exec(const struct runtime_exec_options *options, pid_t *pid, int *pidfd,
                         struct keel_error *err)
{
    struct runtime_exec_child child = {.options = options};
    struct seccomp_program seccomp = {0};
    _cleanup_close_ int container_pidfd = -1;
    _cleanup_close_ int cgroup_fd = -1;
    _cleanup_close_ int parent_end = -1;
    int sync_fds[2];
    int result = -1;

    container_pidfd = pidfd_open(options->container_pid, 0);
    if (container_pidfd < 0)
        return keel_error_set(err, errno, "the container's process %d",
                              (int)options->container_pid);
    if (runtime_exec_namespaces(options->container_pid, &child.namespaces, err) < 0)
        return -1;
    if (options->config->seccomp &&
        seccomp_program_compile(options->config->seccomp, options->seccomp_cache, &seccomp, err) <
            0)
        return keel_error_prefix(err, "linux.seccomp");
    child.seccomp = options->config->seccomp ? &seccomp : NULL;
    child.container_pidfd = container_pidfd;
    if (options->cgroup_path) {
        cgroup_fd = open(options->cgroup_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_fd < 0) {
            keel_error_set(err, errno, "open cgroup %s", options->cgroup_path);
            goto done;
        }
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) < 0) {
        keel_error_set(err, errno, "socketpair");
        goto done;
    }
    parent_end = sync_fds[0];
    child.sync_fd = sync_fds[1];

    struct keel_clone_args args = {.exit_signal = SIGCHLD};
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long intermediate = keel_clone3(&args);
    if (intermediate == 0) {
        close(parent_end);
        runtime_exec_child_main(&child);
    }
    close(sync_fds[1]);
    if (intermediate < 0) {
        keel_error_set(err, errno, "clone3 the exec'd process");
        goto done;
    }

    struct runtime_sync_message message;
    int status;
    int got = runtime_sync_expect(parent_end, RUNTIME_SYNC_PID, &message, err);
    waitpid((pid_t)intermediate, &status, 0);
    if (got < 0)
        goto done;
    *pid = message.value;
    *pidfd = pidfd_open(*pid, 0);
    if (*pidfd < 0) {
        keel_error_set(err, errno, "pidfd of the exec'd process");
        kill(*pid, SIGKILL);
        waitpid(*pid, &status, 0);
        goto done;
    }
    /* The socket closes when the process execs; an error comes first. */
    int received = runtime_sync_receive(parent_end, &message, err);
    if (received == 0 && message.type == RUNTIME_SYNC_ERROR) {
        keel_error_clear(err);
        err->errno_value = message.value;
        snprintf(err->message, sizeof err->message, "%s", message.text);
        waitpid(*pid, &status, 0);
        close(*pidfd);
        *pidfd = -1;
        goto done;
    }
    if (received < 0)
        goto done;
    result = 0;
done:
    seccomp_program_free(&seccomp);
    return result;
}
