/* hooks.c — runs OCI hooks: each a program fed the container's state JSON on stdin. */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"

struct hooks_child {
    const struct oci_hook *hook;
    int stdin_fd;
};

static int hooks_exec(void *arg, struct keel_error *err)
{
    struct hooks_child *child = arg;
    char *default_argv[] = {child->hook->path, NULL};
    char *empty_env[] = {NULL};
    char **argv = child->hook->args && child->hook->args[0] ? child->hook->args : default_argv;

    spawn_reset_signals();
    if (dup2(child->stdin_fd, 0) < 0)
        return keel_error_set(err, errno, "hook %s: stdin", child->hook->path);
    execve(child->hook->path, argv, child->hook->env ? child->hook->env : empty_env);
    return keel_error_set(err, errno, "exec hook %s", child->hook->path);
}

/* Wait for the hook with its timeout (0: none); kill it when it is up. */
static int hooks_wait(const struct oci_hook *hook, pid_t pid, int pidfd, struct keel_error *err)
{
    int status;
    if (hook->timeout > 0 && pidfd >= 0) {
        struct pollfd ready = {.fd = pidfd, .events = POLLIN};
        int result;
        do
            result = poll(&ready, 1, hook->timeout * 1000);
        while (result < 0 && errno == EINTR);
        if (result == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return keel_error_invalid(err, "hook %s timed out after %d s", hook->path,
                                      hook->timeout);
        }
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return keel_error_set(err, errno, "wait for hook %s", hook->path);
    if (WIFSIGNALED(status))
        return keel_error_invalid(err, "hook %s killed by signal %d", hook->path, WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        return keel_error_invalid(err, "hook %s exited with status %d", hook->path,
                                  WEXITSTATUS(status));
    return 0;
}

static int hooks_run_one(const struct oci_hook *hook, const char *state_json,
                         struct keel_error *err)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0)
        return keel_error_set(err, errno, "hook %s: pipe", hook->path);
    _cleanup_close_ int read_end = pipe_fds[0];
    _cleanup_close_ int write_end = pipe_fds[1];
    _cleanup_close_ int pidfd = -1;
    struct hooks_child child = {.hook = hook, .stdin_fd = read_end};
    pid_t pid;

    if (spawn_process(hooks_exec, &child, &pid, &pidfd, err) < 0)
        return keel_error_prefix(err, "hook %s", hook->path);
    close(steal_fd(&read_end));
    /* The state is a few hundred bytes: it fits the pipe, so this write
     * cannot block on a hook that does not read. A hook that exits early
     * makes it fail with EPIPE, which is the hook's business. */
    size_t length = strlen(state_json);
    sigset_t pipe_signal, previous;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_signal, &previous);
    ssize_t written = write(write_end, state_json, length);
    (void)written;
    struct timespec none = {0, 0};
    sigtimedwait(&pipe_signal, NULL, &none);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    close(steal_fd(&write_end));
    return hooks_wait(hook, pid, pidfd, err);
}

int hooks_run(const struct oci_hook_list *list, const char *state_json, struct keel_error *err)
{
    for (size_t i = 0; i < list->count; i++)
        if (hooks_run_one(&list->hooks[i], state_json, err) < 0)
            return -1;
    return 0;
}
