/* oci_cli.c — what the `keel oci` verbs share: a container's saved state and config, signals,
 * waiting, teardown. */
#include "oci_cli.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "commands.h"
#include "file.h"
#include "hooks.h"
#include "runtime.h"

int oci_cli_fail(const char *verb, const struct keel_error *err, int code)
{
    fprintf(stderr, "keel oci %s: %s\n", verb, err->message);
    return code;
}

int oci_cli_usage(const char *verb, const char *usage)
{
    fprintf(stderr, "keel oci %s: usage: keel oci %s\n", verb, usage);
    return KEEL_EXIT_USAGE;
}

int oci_cli_load(const struct oci_cli *cli, const char *id, struct oci_cli_container *container,
                 struct keel_error *err)
{
    char path[PATH_MAX];
    *container = (struct oci_cli_container){0};
    if (oci_state_validate_id(id, err) < 0 ||
        oci_state_read(cli->root, id, &container->state, err) < 0)
        return -1;
    if (oci_state_path(cli->root, id, "config.json", path, sizeof path, err) < 0 ||
        oci_config_load(path, &container->config, err) < 0) {
        oci_cli_release(container);
        return -1;
    }
    container->status = oci_state_status(cli->root, container->state);
    return 0;
}

void oci_cli_release(struct oci_cli_container *container)
{
    if (container->state)
        oci_state_free(container->state);
    if (container->config)
        oci_config_free(container->config);
    *container = (struct oci_cli_container){0};
}

void oci_cli_seccomp_cache(const struct oci_cli *cli, char *path, size_t size)
{
    snprintf(path, size, "%s/.seccomp", cli->root);
}

bool oci_cli_parse_number(const char *text, long maximum, long *value)
{
    char *end;
    errno = 0;
    *value = strtol(text, &end, 10);
    return *text != '\0' && *end == '\0' && errno == 0 && *value >= 0 && *value <= maximum;
}

int oci_cli_parse_signal(const char *text)
{
    char *end;
    long number = strtol(text, &end, 10);
    if (*text != '\0' && *end == '\0')
        return number > 0 && number < NSIG ? (int)number : -1;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        const char *name = sigabbrev_np(signal_number);
        if (name && strcasecmp(name, text) == 0)
            return signal_number;
    }
    if (strncasecmp(text, "RTMIN+", 6) == 0) {
        number = strtol(text + 6, &end, 10);
        if (*end == '\0' && number >= 0 && SIGRTMIN + number <= SIGRTMAX)
            return SIGRTMIN + (int)number;
    }
    return -1;
}

static void oci_cli_forwarded_signals(sigset_t *mask)
{
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    sigemptyset(mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(mask, forwarded[i]);
}

void oci_cli_block_forwarded_signals(void)
{
    sigset_t mask;
    oci_cli_forwarded_signals(&mask);
    sigprocmask(SIG_BLOCK, &mask, NULL);
}

int oci_cli_wait_forwarding(pid_t pid, int pidfd, struct keel_error *err)
{
    sigset_t mask, previous;
    oci_cli_forwarded_signals(&mask);
    sigprocmask(SIG_BLOCK, &mask, &previous);
    _cleanup_close_ int signals = signalfd(-1, &mask, SFD_CLOEXEC);
    if (signals < 0) {
        sigprocmask(SIG_SETMASK, &previous, NULL);
        return keel_error_set(err, errno, "signalfd");
    }
    for (;;) {
        struct pollfd ready[2] = {{.fd = pidfd, .events = POLLIN},
                                  {.fd = signals, .events = POLLIN}};
        if (poll(ready, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sigprocmask(SIG_SETMASK, &previous, NULL);
            return keel_error_set(err, errno, "wait for the container");
        }
        if (ready[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            if (read(signals, &info, sizeof info) == sizeof info)
                pidfd_send_signal(pidfd, (int)info.ssi_signo, NULL, 0);
        }
        if (ready[0].revents & POLLIN)
            break;
    }
    int status;
    pid_t waited;
    do
        waited = waitpid(pid, &status, 0);
    while (waited < 0 && errno == EINTR);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    if (waited < 0)
        return keel_error_set(err, errno, "wait for process %d", (int)pid);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int oci_cli_write_pid_file(const char *path, pid_t pid, struct keel_error *err)
{
    char text[32];
    int length = snprintf(text, sizeof text, "%d", (int)pid);
    return file_write_atomic(path, text, (size_t)length, 0644, 0, err);
}

/* Wait up to timeout_ms for a process we did not start (and cannot reap)
 * to exit: its pidfd turns readable. */
static bool oci_cli_wait_gone(int pidfd, int timeout_ms)
{
    struct pollfd ready = {.fd = pidfd, .events = POLLIN};
    int result;
    do
        result = poll(&ready, 1, timeout_ms);
    while (result < 0 && errno == EINTR);
    return result > 0;
}

int oci_cli_destroy(const struct oci_cli *cli, struct oci_cli_container *container, bool force,
                    struct keel_error *err)
{
    struct oci_state *state = container->state;
    if (container->status == OCI_STATUS_RUNNING && !force)
        return keel_error_invalid(err,
                                  "container \"%s\" is running: stop it first, or use "
                                  "--force",
                                  state->id);
    if (container->status != OCI_STATUS_STOPPED && state->pid > 0) {
        _cleanup_close_ int pidfd = pidfd_open(state->pid, 0);
        /* The pidfd pins the process; only now is the start time a proof
         * that the pid still names the container. */
        if (pidfd >= 0 && oci_state_process_start_time(state->pid) == state->start_time) {
            pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
            oci_cli_wait_gone(pidfd, 10000);
        }
    }
    if (state->cgroup_path) {
        if (cgroup_container_kill(state->cgroup_path, err) < 0 ||
            cgroup_container_remove(state->cgroup_path, err) < 0)
            return keel_error_prefix(err, "delete container \"%s\"", state->id);
    }
    if (container->config->hooks[OCI_HOOK_POSTSTOP].count > 0) {
        _cleanup_free_ char *hook_state = NULL;
        struct keel_error hook_err;
        keel_error_clear(&hook_err);
        /* A failed poststop hook is reported, and the deletion goes on. */
        if (runtime_hook_state(state->id, "stopped", 0, state->bundle, container->config,
                               &hook_state, &hook_err) < 0 ||
            hooks_run(&container->config->hooks[OCI_HOOK_POSTSTOP], hook_state, &hook_err) < 0)
            fprintf(stderr, "keel oci: warning: poststop: %s\n", hook_err.message);
    }
    return oci_state_remove(cli->root, state->id, err);
}

int oci_cli_connect_console(const char *path, int *fd, struct keel_error *err)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path)
        return keel_error_invalid(err, "--console-socket %s: path too long", path);
    strcpy(address.sun_path, path);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0 || connect(*fd, (struct sockaddr *)&address, sizeof address) < 0)
        return keel_error_set(err, errno, "connect to console socket %s", path);
    return 0;
}
