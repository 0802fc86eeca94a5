/* runtime.c — creates a container's process: clone3 into new namespaces and the cgroup, then the
 * child's setup up to exec. */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "clone3.h"
#include "hooks.h"
#include "rootfs.h"
#include "runtime_process.h"
#include "runtime_sync.h"
#include "seccomp.h"
#include "spawn.h"

#define RUNTIME_MAX_NAMESPACES 8

/* What the container's process needs, prepared by the runtime before clone. */
struct runtime_child {
    const struct runtime_create_options *options;
    int sync_fd;
    int join_fds[RUNTIME_MAX_NAMESPACES]; /* namespaces joined by path, user first */
    int join_types[RUNTIME_MAX_NAMESPACES];
    size_t join_count;
    uint64_t new_namespaces; /* CLONE_NEW* to create */
    bool intermediate;       /* joins a pid or user namespace: clone once more after setns */
    int exec_fifo_fd;
    int container_init_fd;
    const struct seccomp_program *seccomp;
    char *hook_state;
};

int runtime_hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                       const struct oci_config *config, char **text, struct keel_error *err)
{
    json_t *state = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.1.0", "id", id,
                              "status", status, "pid", (int)pid, "bundle", bundle);
    if (state == NULL)
        return keel_error_set(err, ENOMEM, "hook state");
    if (config->annotation_count > 0) {
        json_t *annotations = json_object();
        for (size_t i = 0; i < config->annotation_count; i++)
            json_object_set_new(annotations, config->annotations[i].key,
                                json_string(config->annotations[i].value));
        json_object_set_new(state, "annotations", annotations);
    }
    *text = json_dumps(state, JSON_COMPACT);
    json_decref(state);
    if (*text == NULL)
        return keel_error_set(err, ENOMEM, "hook state");
    return 0;
}

/* ---- in the container's process ---- */

static int runtime_child_identity_in_user_namespace(const struct oci_config *config,
                                                    struct keel_error *err)
{
    /* Become the namespace's root, which the mappings must include, so the
     * mounts below are made with a uid the container knows. */
    (void)config;
    if (setresgid(0, 0, 0) < 0)
        return keel_error_set(err, errno, "setresgid 0 in the user namespace");
    if (setresuid(0, 0, 0) < 0)
        return keel_error_set(err, errno, "setresuid 0 in the user namespace");
    return 0;
}

static int runtime_child_join(struct runtime_child *child, struct keel_error *err)
{
    for (size_t i = 0; i < child->join_count; i++)
        if (setns(child->join_fds[i], child->join_types[i]) < 0)
            return keel_error_set(
                err, errno, "join namespace %s",
                oci_config_namespace(child->options->config, child->join_types[i])->path);
    return 0;
}

static int runtime_child_names(const struct oci_config *config, struct keel_error *err)
{
    if (config->hostname && sethostname(config->hostname, strlen(config->hostname)) < 0)
        return keel_error_set(err, errno, "set hostname %s", config->hostname);
    if (config->domainname && setdomainname(config->domainname, strlen(config->domainname)) < 0)
        return keel_error_set(err, errno, "set domainname %s", config->domainname);
    return 0;
}

/* From here on the runtime writes through /proc (sysctl, oom_score_adj,
 * exec.fifo by /proc/self/fd): it must be the kernel's, not a directory
 * of look-alike files the image brought. */
static int runtime_child_check_proc(struct keel_error *err)
{
    struct statfs status;
    if (statfs("/proc", &status) < 0)
        return keel_error_set(err, errno, "rootfs /proc");
    if (status.f_type != PROC_SUPER_MAGIC)
        return keel_error_invalid(err, "rootfs /proc is not procfs: the config must mount proc "
                                       "on /proc");
    return 0;
}

/* The container's own setup: runs as the process that will exec. */
static _Noreturn void runtime_child_setup(struct runtime_child *child)
{
    const struct runtime_create_options *options = child->options;
    const struct oci_config *config = options->config;
    struct runtime_sync_message message;
    struct keel_error err;
    int exit_code = 1;
    keel_error_clear(&err);

    if (runtime_sync_expect(child->sync_fd, RUNTIME_SYNC_GO, &message, &err) < 0)
        goto fail;
    if ((child->new_namespaces & CLONE_NEWUSER) &&
        runtime_child_identity_in_user_namespace(config, &err) < 0)
        goto fail;
    if ((child->new_namespaces & CLONE_NEWUTS) && runtime_child_names(config, &err) < 0)
        goto fail;
    if (rootfs_prepare(config, options->rootfs, &err) < 0)
        goto fail;
    if (config->hooks[OCI_HOOK_CREATE_RUNTIME].count + config->hooks[OCI_HOOK_PRESTART].count > 0) {
        if (runtime_sync_send(child->sync_fd, RUNTIME_SYNC_HOOKS, 0, NULL, &err) < 0 ||
            runtime_sync_expect(child->sync_fd, RUNTIME_SYNC_HOOKS_DONE, &message, &err) < 0)
            goto fail;
    }
    if (hooks_run(&config->hooks[OCI_HOOK_CREATE_CONTAINER], child->hook_state, &err) < 0) {
        keel_error_prefix(&err, "createContainer");
        goto fail;
    }
    if (rootfs_pivot(options->rootfs, &err) < 0 || runtime_child_check_proc(&err) < 0 ||
        rootfs_finish(config, &err) < 0)
        goto fail;
    if (config->has_personality && personality(config->personality) < 0) {
        keel_error_set(&err, errno, "set personality %#lx", config->personality);
        goto fail;
    }

    struct runtime_process_plan plan = {
        .process = &config->process,
        .seccomp = child->seccomp,
        .console_socket = options->console_socket,
        .stdio = {options->stdio[0], options->stdio[1], options->stdio[2]},
        .preserve_fds = options->preserve_fds,
        .container_init_fd = child->container_init_fd,
        .exec_fifo_fd = child->exec_fifo_fd,
        .sync_fd = child->sync_fd,
        .start_hooks = &config->hooks[OCI_HOOK_START_CONTAINER],
        .hook_state = child->hook_state,
    };
    runtime_process_finish(&plan, &exit_code, &err);
fail:
    keel_error_prefix(&err, "create container %s", options->id);
    runtime_sync_fail(child->sync_fd, &err, exit_code);
}

static _Noreturn void runtime_child_main(struct runtime_child *child)
{
    struct keel_error err;
    keel_error_clear(&err);
    /* Until exec, this process is an image of the engine: not dumpable, so
     * nothing in the container can open /proc/PID/exe or ptrace it
     * (CVE-2019-5736). It dies with the runtime until it is created. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    spawn_reset_signals();
    if (runtime_child_join(child, &err) < 0)
        runtime_sync_fail(child->sync_fd, &err, 1);
    if (!child->intermediate)
        runtime_child_setup(child);

    /* Joining a pid (or user, or time) namespace only takes effect for
     * children: clone the container's process as a sibling (CLONE_PARENT),
     * so the runtime is its parent and can wait for it. */
    struct keel_clone_args args = {.flags = CLONE_PARENT | child->new_namespaces};
    long pid = keel_clone3(&args);
    if (pid == 0) {
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        runtime_child_setup(child);
    }
    if (pid < 0) {
        keel_error_set(&err, errno, "clone the container's process");
        runtime_sync_fail(child->sync_fd, &err, 1);
    }
    if (runtime_sync_send(child->sync_fd, RUNTIME_SYNC_PID, (int)pid, NULL, &err) < 0)
        _exit(1);
    _exit(0);
}

/* ---- in the runtime ---- */

static int runtime_write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *maps,
                                size_t count, struct keel_error *err)
{
    char path[64], text[4096];
    size_t used = 0;
    if (count == 0)
        return keel_error_invalid(err, "a new user namespace needs linux.%sMappings",
                                  file[0] == 'u' ? "uid" : "gid");
    for (size_t i = 0; i < count && used < sizeof text; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%u %u %u\n",
                                 maps[i].container_id, maps[i].host_id, maps[i].size);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, used) != (ssize_t)used)
        return keel_error_set(err, errno, "write %s", path);
    return 0;
}

/* A sealed in-memory copy of container-init: the container can neither
 * see the file nor write through /proc/1/exe to it. */
static int runtime_open_container_init(const char *path, int *memfd, struct keel_error *err)
{
    _cleanup_close_ int source = open(path, O_RDONLY | O_CLOEXEC);
    if (source < 0)
        return keel_error_set(err, errno, "open container-init %s", path);
    struct stat status;
    if (fstat(source, &status) < 0)
        return keel_error_set(err, errno, "stat container-init %s", path);
    _cleanup_close_ int copy = memfd_create("container-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0)
        return keel_error_set(err, errno, "memfd for container-init");
    off_t offset = 0;
    while (offset < status.st_size)
        if (sendfile(copy, source, &offset, (size_t)(status.st_size - offset)) <= 0)
            return keel_error_set(err, errno, "copy container-init %s", path);
    if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return keel_error_set(err, errno, "seal container-init");
    *memfd = steal_fd(&copy);
    return 0;
}

/* Which namespaces to create and which to join; checks what the rest of
 * the setup relies on. */
static int runtime_plan_namespaces(const struct oci_config *config, struct runtime_child *child,
                                   struct keel_error *err)
{
    static const int join_order[] = {CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,  CLONE_NEWIPC,
                                     CLONE_NEWUTS,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
    for (size_t i = 0; i < sizeof join_order / sizeof join_order[0]; i++) {
        const struct oci_namespace *namespace = oci_config_namespace(config, join_order[i]);
        if (namespace == NULL)
            continue;
        if (namespace->path == NULL) {
            child->new_namespaces |= (uint64_t) namespace->type;
            continue;
        }
        int fd = open(namespace->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return keel_error_set(err, errno, "open namespace %s", namespace->path);
        child->join_fds[child->join_count] = fd;
        child->join_types[child->join_count++] = namespace->type;
        if (namespace->type == CLONE_NEWPID || namespace->type == CLONE_NEWUSER ||
            namespace->type == CLONE_NEWTIME)
            child->intermediate = true;
    }
    if (!(child->new_namespaces & CLONE_NEWNS))
        return keel_error_invalid(err, "linux.namespaces: the container needs a new mount "
                                       "namespace");
    if ((config->hostname || config->domainname) && !(child->new_namespaces & CLONE_NEWUTS))
        return keel_error_invalid(err, "hostname: setting it needs a new uts namespace");
    return 0;
}

static void runtime_child_release(struct runtime_child *child)
{
    for (size_t i = 0; i < child->join_count; i++)
        close(child->join_fds[i]);
    child->join_count = 0;
    if (child->exec_fifo_fd >= 0)
        close(child->exec_fifo_fd);
    if (child->container_init_fd >= 0)
        close(child->container_init_fd);
    free(child->hook_state);
}

static void runtime_kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Talk the container's process through its setup, up to CREATED (create)
 * or its exec (run). */
static int runtime_drive_setup(const struct runtime_create_options *options, int sync_fd, pid_t pid,
                               bool new_user, struct keel_error *err)
{
    const struct oci_config *config = options->config;
    struct runtime_sync_message message;
    if (new_user && (runtime_write_id_map(pid, "gid_map", config->gid_mappings,
                                          config->gid_mapping_count, err) < 0 ||
                     runtime_write_id_map(pid, "uid_map", config->uid_mappings,
                                          config->uid_mapping_count, err) < 0))
        return -1;
    if (runtime_sync_send(sync_fd, RUNTIME_SYNC_GO, 0, NULL, err) < 0)
        return -1;
    for (;;) {
        int result = runtime_sync_receive(sync_fd, &message, err);
        if (result < 0)
            return -1;
        if (result == 1) {
            if (options->exec_fifo == NULL)
                return 0; /* exec'd: the socket closed on exec */
            return keel_error_invalid(err,
                                      "create container %s: its process exited during "
                                      "setup",
                                      options->id);
        }
        switch (message.type) {
        case RUNTIME_SYNC_HOOKS: {
            _cleanup_free_ char *state = NULL;
            if (runtime_hook_state(options->id, "creating", pid, options->bundle, config, &state,
                                   err) < 0 ||
                hooks_run(&config->hooks[OCI_HOOK_PRESTART], state, err) < 0 ||
                hooks_run(&config->hooks[OCI_HOOK_CREATE_RUNTIME], state, err) < 0)
                return keel_error_prefix(err, "create container %s: createRuntime", options->id);
            if (runtime_sync_send(sync_fd, RUNTIME_SYNC_HOOKS_DONE, 0, NULL, err) < 0)
                return -1;
            break;
        }
        case RUNTIME_SYNC_CREATED:
            if (options->exec_fifo != NULL)
                return 0;
            break;
        case RUNTIME_SYNC_ERROR:
            keel_error_clear(err);
            err->errno_value = message.value;
            snprintf(err->message, sizeof err->message, "%s", message.text);
            return -1;
        default:
            return keel_error_invalid(err, "unexpected message %d from the container's process",
                                      message.type);
        }
    }
}

/* Start the container's process (directly, or through an intermediate that
 * joins a pid or user namespace first). */
static int runtime_spawn(struct runtime_child *child, int runtime_sync_fd, int cgroup_fd,
                         pid_t *pid, int *pidfd, struct keel_error *err)
{
    int child_pidfd = -1;
    struct keel_clone_args args = {.exit_signal = SIGCHLD};
    if (!child->intermediate) {
        args.flags = CLONE_PIDFD | child->new_namespaces;
        args.pidfd = (uint64_t)(uintptr_t)&child_pidfd;
    }
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long result = keel_clone3(&args);
    if (result == 0) {
        close(runtime_sync_fd);
        runtime_child_main(child);
    }
    if (result < 0)
        return keel_error_set(err, errno, "clone3 the container's process");
    if (!child->intermediate) {
        *pid = (pid_t)result;
        *pidfd = child_pidfd;
        return 0;
    }

    struct runtime_sync_message message;
    int status;
    if (runtime_sync_expect(runtime_sync_fd, RUNTIME_SYNC_PID, &message, err) < 0) {
        waitpid((pid_t)result, &status, 0);
        return -1;
    }
    waitpid((pid_t)result, &status, 0);
    *pid = message.value;
    *pidfd = pidfd_open(*pid, 0);
    if (*pidfd < 0) {
        runtime_kill_and_reap(*pid);
        return keel_error_set(err, errno, "pidfd of the container's process %d", (int)*pid);
    }
    return 0;
}

int runtime_container_create(const struct runtime_create_options *options,
                             struct runtime_container *container, struct keel_error *err)
{
    const struct oci_config *config = options->config;
    struct runtime_child child = {.options = options, .exec_fifo_fd = -1, .container_init_fd = -1};
    struct seccomp_program seccomp = {0};
    struct cgroup_container cgroup = {.directory_fd = -1};
    int sync_fds[2] = {-1, -1};
    pid_t pid = -1;
    int pidfd = -1;
    int result = -1;

    *container = (struct runtime_container){.pid = -1, .pidfd = -1};
    if (!config->has_process) {
        keel_error_invalid(err, "process: the config has no process to run");
        goto done;
    }
    if (runtime_plan_namespaces(config, &child, err) < 0)
        goto done;
    if (config->seccomp != NULL &&
        seccomp_program_compile(config->seccomp, options->seccomp_cache, &seccomp, err) < 0) {
        keel_error_prefix(err, "linux.seccomp");
        goto done;
    }
    child.seccomp = config->seccomp ? &seccomp : NULL;
    if (options->container_init &&
        runtime_open_container_init(options->container_init, &child.container_init_fd, err) < 0)
        goto done;
    if (options->exec_fifo) {
        child.exec_fifo_fd = open(options->exec_fifo, O_PATH | O_CLOEXEC);
        if (child.exec_fifo_fd < 0) {
            keel_error_set(err, errno, "open %s", options->exec_fifo);
            goto done;
        }
    }
    /* The state the container's own hooks read; only built when there are any. */
    if (config->hooks[OCI_HOOK_CREATE_CONTAINER].count +
                config->hooks[OCI_HOOK_START_CONTAINER].count >
            0 &&
        runtime_hook_state(options->id, "creating", 0, options->bundle, config, &child.hook_state,
                           err) < 0)
        goto done;
    if (cgroup_container_create(config->cgroups_path, options->id,
                                config->has_resources ? &config->resources : NULL, &cgroup,
                                err) < 0) {
        keel_error_prefix(err, "cgroup");
        goto done;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) < 0) {
        keel_error_set(err, errno, "socketpair");
        goto done;
    }
    child.sync_fd = sync_fds[1];
    if (runtime_spawn(&child, sync_fds[0], cgroup.directory_fd, &pid, &pidfd, err) < 0) {
        pid = -1;
        goto done;
    }
    close(sync_fds[1]);
    sync_fds[1] = -1;
    if (runtime_drive_setup(options, sync_fds[0], pid, (child.new_namespaces & CLONE_NEWUSER) != 0,
                            err) < 0)
        goto done;

    container->pid = pid;
    container->pidfd = pidfd;
    container->cgroup_path = steal_pointer(&cgroup.path);
    pid = -1;
    pidfd = -1;
    result = 0;
done:
    if (pid > 0)
        runtime_kill_and_reap(pid);
    if (pidfd >= 0)
        close(pidfd);
    if (result < 0 && cgroup.path) {
        struct keel_error ignored;
        cgroup_container_remove(cgroup.path, &ignored);
    }
    for (int i = 0; i < 2; i++)
        if (sync_fds[i] >= 0)
            close(sync_fds[i]);
    cgroup_container_close(&cgroup);
    seccomp_program_free(&seccomp);
    runtime_child_release(&child);
    return result;
}

int runtime_container_start(const char *exec_fifo, struct keel_error *err)
{
    /* Non-blocking: a process that died after create would otherwise leave
     * us waiting for a writer forever. The waiting process's open
     * completes as soon as this one exists. */
    _cleanup_close_ int fd = open(exec_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", exec_fifo);
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    int polled;
    do
        polled = poll(&ready, 1, 10000);
    while (polled < 0 && errno == EINTR);
    if (polled <= 0)
        return keel_error_invalid(err, "the container's process did not take the start");
    char byte;
    if (read(fd, &byte, 1) != 1)
        return keel_error_invalid(err, "the container's process exited before it started");
    if (unlink(exec_fifo) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "remove %s", exec_fifo);
    return 0;
}

void runtime_container_release(struct runtime_container *container)
{
    if (container->pidfd >= 0)
        close(container->pidfd);
    container->pidfd = -1;
    free(container->cgroup_path);
    container->cgroup_path = NULL;
}
