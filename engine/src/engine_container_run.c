/* engine_container_run.c — a container's process: started through the runtime with pipes or a pty,
 * watched through its pidfd, and its exit (log, state, events, waiters, policy). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "engine_container_internal.h"
#include "oci_config.h"
#include "runtime.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long remove --force waits for a SIGKILLed container to be gone. */
#define ENGINE_KILL_WAIT_MS 10000

int engine_container_load_oci_config(struct engine_container *container, struct keel_error *err)
{
    char path[PATH_MAX];
    if (container->oci_config != NULL)
        return 0;
    snprintf(path, sizeof path, "%s/config.json", container->state_dir);
    return oci_config_load(path, &container->oci_config, err);
}

static void engine_container_drop_oci_config(struct engine_container *container)
{
    if (container->oci_config != NULL)
        oci_config_free(container->oci_config);
    container->oci_config = NULL;
}

static void engine_close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* ---- exit ---- */

static json_t *engine_container_event_attributes(const struct engine_container *container)
{
    return json_pack("{s:s, s:s}", "name", container->name, "image", container->image_name);
}

/* The cgroup outlives the process only for a moment: learn whether the
 * kernel OOM-killed in it, kill any straggler (a daemonised child in the
 * host's pid namespace), remove it, as `keel oci delete` does. */
static void engine_container_release_cgroup(struct engine_container *container)
{
    struct keel_error err;
    if (container->cgroup_path == NULL)
        return;
    bool killed = false;
    if (cgroup_container_oom_killed(container->cgroup_path, &killed, &err) == 0)
        container->oom_killed = killed;
    if (cgroup_container_kill(container->cgroup_path, &err) < 0 ||
        cgroup_container_remove(container->cgroup_path, &err) < 0) {
        keel_error_prefix(&err, "container %s", container->name);
        engine_report_error(container->engine, &err);
    }
    free(container->cgroup_path);
    container->cgroup_path = NULL;
}

static void engine_container_unwatch(struct engine_container *container)
{
    struct keel_error ignored;
    if (container->pidfd < 0)
        return;
    if (!container->awaiting_reaper)
        loop_remove_fd(container->engine->loop, container->pidfd, &ignored);
    close(container->pidfd);
    container->pidfd = -1;
}

void engine_container_exited(struct engine_container *container, int exit_code)
{
    struct engine *engine = container->engine;
    engine_container_unwatch(container);
    container->pid = 0;
    container->awaiting_reaper = false;
    if (container->kill_timer != NULL)
        loop_timer_disarm(container->kill_timer);
    container->oom_killed = false;
    engine_container_release_cgroup(container);
    engine_output_finish(container);
    container->exit_code = exit_code;
    clock_gettime(CLOCK_REALTIME, &container->finished_at);
    container->status = ENGINE_CONTAINER_EXITED;
    engine_exec_container_gone(engine, container, false);
    engine_container_drop_oci_config(container);

    json_t *attributes = engine_container_event_attributes(container);
    char code[16];
    snprintf(code, sizeof code, "%d", exit_code);
    json_object_set_new(attributes, "exitCode", json_string(code));
    engine_event_emit(engine, "container", "die", container->id, attributes);
    if (container->stop_requested)
        engine_event_emit(engine, "container", "stop", container->id,
                          engine_container_event_attributes(container));
    container->stop_requested = false;

    for (struct engine_stop_request *request = container->stop_requests; request;
         request = request->next) {
        request->ready = true;
        request->status = exit_code;
    }
    engine_container_waits_complete(container, true, false);
    engine_container_notify(container);

    if (!container->removing && !engine_supervise_exited(container) && container->auto_remove &&
        !engine->shutting_down) {
        struct keel_error err;
        if (engine_container_destroy(container, &err) < 0)
            engine_report_error(engine, &err);
    }
    engine_record_save(container);
}

/* Reaped elsewhere and never reported (a process that is not our child):
 * the kill timer gives engine_handle_exit a moment, then this. */
void engine_container_exit_unknown(struct engine_container *container)
{
    engine_container_exited(container, ENGINE_EXIT_CODE_DAEMON_DIED);
}

static int engine_exit_code(const siginfo_t *info)
{
    if (info->si_code == CLD_EXITED)
        return info->si_status;
    return 128 + info->si_status;
}

static int engine_container_on_pidfd(struct loop *loop, int fd, uint32_t events, void *user,
                                     struct keel_error *err)
{
    struct engine_container *container = user;
    siginfo_t info = {0};
    (void)loop;
    (void)events;
    if (waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG) < 0) {
        if (errno != ECHILD)
            return keel_error_set(err, errno, "wait for container %s", container->name);
        /* Another reaper (PID 1's waitid(P_ALL)) won: it reports the
         * status through engine_handle_exit; stop listening meanwhile. */
        struct keel_error ignored;
        loop_remove_fd(container->engine->loop, fd, &ignored);
        container->awaiting_reaper = true;
        return engine_container_arm_kill_timer(container, 1000, err);
    }
    if (info.si_pid == 0)
        return 0;
    engine_container_exited(container, engine_exit_code(&info));
    return 0;
}

int engine_container_kill_now(struct engine_container *container, struct keel_error *err)
{
    siginfo_t info = {0};
    if (container->awaiting_reaper) {
        engine_container_exited(container, 128 + SIGKILL);
        return 0;
    }
    if (pidfd_send_signal(container->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return keel_error_set(err, errno, "kill container %s", container->name);
    struct pollfd ready = {.fd = container->pidfd, .events = POLLIN};
    int polled;
    do
        polled = poll(&ready, 1, ENGINE_KILL_WAIT_MS);
    while (polled < 0 && errno == EINTR);
    if (polled <= 0)
        return engine_error_set(err, EBUSY, "container %s did not die within %d s of SIGKILL",
                                container->name, ENGINE_KILL_WAIT_MS / 1000);
    int code = 128 + SIGKILL;
    if (waitid((idtype_t)P_PIDFD, (id_t)container->pidfd, &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0)
        code = engine_exit_code(&info);
    engine_container_exited(container, code);
    return 0;
}

void engine_container_abandon(struct engine_container *container)
{
    struct timespec now;
    struct keel_error ignored;
    engine_container_unwatch(container);
    for (int i = 0; i < 2; i++) {
        engine_pump_free(container->pumps[i]);
        container->pumps[i] = NULL;
    }
    if (container->log != NULL) {
        clock_gettime(CLOCK_REALTIME, &now);
        container_log_flush(container->log, &now, &ignored);
    }
}

/* ---- start ---- */

struct engine_stdio {
    int child[3];   /* the process's 0, 1, 2 */
    int stdin_fd;   /* our end of stdin, -1 */
    int output[2];  /* our ends of stdout, stderr */
    int console[2]; /* with a tty: [0] ours, [1] the runtime's console socket */
};

static void engine_stdio_close(struct engine_stdio *stdio)
{
    for (int i = 0; i < 3; i++)
        if (stdio->child[i] >= 0)
            close(stdio->child[i]);
    if (stdio->stdin_fd >= 0)
        close(stdio->stdin_fd);
    engine_close_pair(stdio->output);
    engine_close_pair(stdio->console);
    *stdio = (struct engine_stdio){{-1, -1, -1}, -1, {-1, -1}, {-1, -1}};
}

static int engine_stdio_open(const struct engine_container *container, struct engine_stdio *stdio,
                             struct keel_error *err)
{
    int pipe_fds[2];
    *stdio = (struct engine_stdio){{-1, -1, -1}, -1, {-1, -1}, {-1, -1}};
    if (container->tty) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdio->console) < 0)
            return keel_error_set(err, errno, "console socket");
        return 0;
    }
    if (container->open_stdin) {
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
            return keel_error_set(err, errno, "stdin pipe");
        stdio->child[0] = pipe_fds[0];
        stdio->stdin_fd = pipe_fds[1];
    } else if ((stdio->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return keel_error_set(err, errno, "open /dev/null");
    for (int i = 0; i < 2; i++) {
        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
            return keel_error_set(err, errno, "output pipe");
        stdio->output[i] = pipe_fds[0];
        stdio->child[i + 1] = pipe_fds[1];
    }
    return 0;
}

/* The pty master the container's process sent (SCM_RIGHTS) before its
 * exec, which runtime_container_create waited for. */
static int engine_receive_master(int socket, int *master, struct keel_error *err)
{
    char name[256];
    char control[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec data = {.iov_base = name, .iov_len = sizeof name};
    struct msghdr message = {.msg_iov = &data,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof control};
    ssize_t received;
    do
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (received < 0 && errno == EINTR);
    if (received < 0)
        return keel_error_set(err, errno, "receive the pty master");
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS ||
        header->cmsg_len != CMSG_LEN(sizeof(int)))
        return keel_error_invalid(err, "receive the pty master: no fd in the message");
    memcpy(master, CMSG_DATA(header), sizeof(int));
    return 0;
}

/* The process is up, our ends must be put to work; on failure the process goes. */
static int engine_container_attach_process(struct engine_container *container,
                                           struct engine_stdio *stdio, struct keel_error *err)
{
    struct engine *engine = container->engine;
    if (container->tty) {
        int master = -1;
        if (engine_receive_master(stdio->console[0], &master, err) < 0)
            return -1;
        if (container->open_stdin) {
            stdio->stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
            if (stdio->stdin_fd < 0) {
                close(master);
                return keel_error_set(err, errno, "dup the pty master");
            }
        }
        stdio->output[0] = master;
    }
    if (stdio->stdin_fd >= 0 && fcntl(stdio->stdin_fd, F_SETFL, O_NONBLOCK) < 0)
        return keel_error_set(err, errno, "stdin");
    if (loop_add_fd(engine->loop, container->pidfd, EPOLLIN, engine_container_on_pidfd, container,
                    err) < 0)
        return -1;
    int output[2] = {stdio->output[0], stdio->output[1]};
    stdio->output[0] = stdio->output[1] = -1;
    if (engine_output_start(container, output[0], output[1], err) < 0) {
        struct keel_error ignored;
        loop_remove_fd(engine->loop, container->pidfd, &ignored);
        return -1;
    }
    container->stdin_fd = stdio->stdin_fd;
    stdio->stdin_fd = -1;
    return 0;
}

static int engine_container_spawn(struct engine_container *container, struct keel_error *err)
{
    struct engine *engine = container->engine;
    struct engine_stdio stdio;
    struct runtime_container process = {.pid = -1, .pidfd = -1};
    char seccomp_cache[PATH_MAX];
    snprintf(seccomp_cache, sizeof seccomp_cache, "%s/seccomp", engine->options.runtime_root);
    if (mkdir(seccomp_cache, 0700) < 0 && errno != EEXIST)
        return keel_error_set(err, errno, "create %s", seccomp_cache);
    if (engine_stdio_open(container, &stdio, err) < 0) {
        engine_stdio_close(&stdio);
        return -1;
    }
    bool init_wanted = json_is_true(json_object_get(container->host_config, "Init"));
    const char *init = init_wanted ? engine->options.container_init : NULL;
    if (init_wanted && init == NULL) {
        engine_stdio_close(&stdio);
        return keel_error_invalid(err, "HostConfig.Init: this engine has no container init");
    }
    struct runtime_create_options options = {
        .id = container->id,
        .bundle = container->state_dir,
        .rootfs = container->rootfs,
        .config = container->oci_config,
        .exec_fifo = NULL,
        .console_socket = stdio.console[1],
        .stdio = {stdio.child[0], stdio.child[1], stdio.child[2]},
        .container_init = init,
        .seccomp_cache = seccomp_cache,
    };
    int result = runtime_container_create(&options, &process, err);
    for (int i = 0; i < 3; i++) {
        if (stdio.child[i] >= 0)
            close(stdio.child[i]);
        stdio.child[i] = -1;
    }
    if (stdio.console[1] >= 0)
        close(stdio.console[1]);
    stdio.console[1] = -1;
    if (result < 0) {
        engine_stdio_close(&stdio);
        return -1;
    }
    container->pid = process.pid;
    container->pidfd = process.pidfd;
    container->cgroup_path = process.cgroup_path;
    process.pidfd = -1;
    process.cgroup_path = NULL;
    if (engine_container_attach_process(container, &stdio, err) < 0) {
        engine_stdio_close(&stdio);
        pidfd_send_signal(container->pidfd, SIGKILL, NULL, 0);
        siginfo_t info;
        while (waitid((idtype_t)P_PIDFD, (id_t)container->pidfd, &info, WEXITED) < 0 &&
               errno == EINTR)
            ;
        struct keel_error ignored;
        if (container->cgroup_path != NULL)
            cgroup_container_remove(container->cgroup_path, &ignored);
        free(container->cgroup_path);
        container->cgroup_path = NULL;
        close(container->pidfd);
        container->pidfd = -1;
        container->pid = 0;
        return -1;
    }
    engine_stdio_close(&stdio);
    return 0;
}

/* Docker's exit codes for a start that failed: 127 command not found, 126
 * not executable, else 128. */
static int engine_start_failure_code(int errno_value)
{
    return errno_value == ENOENT ? 127 : errno_value == EACCES ? 126 : 128;
}

int engine_container_run(struct engine_container *container, bool user, struct keel_error *err)
{
    struct engine *engine = container->engine;
    if (container->status == ENGINE_CONTAINER_RUNNING)
        return engine_error_set(err, EALREADY, "container %s is already running", container->name);
    if (user) {
        engine_supervise_cancel(container);
        container->stopped_by_user = false;
        container->restart_count = 0;
        container->restart_delay_ms = 0;
    }
    if (engine_container_load_oci_config(container, err) < 0 ||
        container_log_open(container->log_path, &container->log_options, &container->log, err) < 0)
        goto fail;
    container->log_error_reported = false;
    if (engine_container_spawn(container, err) < 0) {
        container_log_close(container->log);
        container->log = NULL;
        goto fail;
    }
    free(container->error);
    container->error = NULL;
    container->status = ENGINE_CONTAINER_RUNNING;
    container->exit_code = 0;
    container->oom_killed = false;
    container->stop_requested = false;
    clock_gettime(CLOCK_REALTIME, &container->started_at);
    engine_record_save(container);
    engine_event_emit(engine, "container", "start", container->id,
                      engine_container_event_attributes(container));
    return 0;
fail:
    keel_error_prefix(err, "start container %s", container->name);
    engine_container_drop_oci_config(container);
    free(container->error);
    container->error = strdup(err->message);
    container->exit_code = engine_start_failure_code(err->errno_value);
    /* The process could not run: a bad request (400, as dockerd), not a
     * missing container (404). */
    if (err->errno_value == ENOENT || err->errno_value == EACCES || err->errno_value == ENOEXEC)
        err->errno_value = EINVAL;
    engine_record_save(container);
    return -1;
}

int engine_container_start(struct engine *engine, const char *reference, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    if (engine_container_run(container, true, err) == 0)
        return 0;
    /* As dockerd: an AutoRemove container that cannot start goes, so a
     * client waiting for condition "removed" is answered. */
    if (container->auto_remove && err->errno_value != EALREADY) {
        struct keel_error remove_err;
        if (engine_container_destroy(container, &remove_err) < 0)
            engine_report_error(engine, &remove_err);
    }
    return -1;
}
