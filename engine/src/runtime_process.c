/* runtime_process.c — the last steps of a container's process, shared by create and exec: stdio,
 * limits, identity, seccomp, exec. */
#include "runtime_process.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "hooks.h"
#include "runtime_sync.h"
#include "terminal.h"

#define RUNTIME_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int runtime_process_stdio(const struct runtime_process_plan *plan, struct keel_error *err)
{
    const struct oci_process *process = plan->process;
    if (process->terminal) {
        if (plan->console_socket < 0)
            return keel_error_invalid(err, "process.terminal is set but no console socket "
                                           "was given (--console-socket)");
        return terminal_setup(plan->console_socket, process->console_height, process->console_width,
                              err);
    }
    for (int fd = 0; fd < 3; fd++)
        if (plan->stdio[fd] >= 0 && plan->stdio[fd] != fd && dup2(plan->stdio[fd], fd) < 0)
            return keel_error_set(err, errno, "stdio fd %d", fd);
    return 0;
}

static int runtime_process_limits(const struct oci_process *process, struct keel_error *err)
{
    for (size_t i = 0; i < process->rlimit_count; i++) {
        const struct oci_rlimit *limit = &process->rlimits[i];
        struct rlimit value = {.rlim_cur = limit->soft, .rlim_max = limit->hard};
        if (setrlimit(limit->resource, &value) < 0)
            return keel_error_set(err, errno, "set rlimit %d to %llu/%llu", limit->resource,
                                  (unsigned long long)limit->soft, (unsigned long long)limit->hard);
    }
    if (process->has_oom_score_adj) {
        char text[16];
        snprintf(text, sizeof text, "%d", process->oom_score_adj);
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, text, strlen(text)) < 0)
            return keel_error_set(err, errno, "set oom_score_adj %s", text);
    }
    if (process->has_umask)
        umask(process->umask);
    return 0;
}

/* chdir, then make sure the result is inside the root: a cwd such as
 * /proc/self/fd/N naming an fd of the runtime would leave the process in
 * the host's tree (CVE-2024-21626); getcwd sees that as unreachable. */
static int runtime_process_enter_cwd(const char *cwd, struct keel_error *err)
{
    if (chdir(cwd) < 0)
        return keel_error_set(err, errno, "chdir to process.cwd %s", cwd);
    char where[4096];
    if (getcwd(where, sizeof where) == NULL || where[0] != '/')
        return keel_error_invalid(err, "process.cwd %s is outside the container's root", cwd);
    return 0;
}

/* Block until start opens the FIFO for reading; then hand it a byte. */
static int runtime_process_wait_for_start(int fifo_fd, struct keel_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fifo_fd);
    _cleanup_close_ int fd = -1;
    do
        fd = open(path, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return keel_error_set(err, errno, "open exec.fifo (the container needs /proc)");
    if (write(fd, "0", 1) != 1)
        return keel_error_set(err, errno, "write exec.fifo");
    return 0;
}

static const char *runtime_process_getenv(char *const *env, const char *name)
{
    size_t length = strlen(name);
    for (; env && *env; env++)
        if (strncmp(*env, name, length) == 0 && (*env)[length] == '=')
            return *env + length + 1;
    return NULL;
}

/* An exec that failed, in runc's (Go's) words: docker clients map
 * "no such file or directory" to exit status 127 and "permission denied"
 * to 126, lower case. */
static int runtime_process_exec_failed(const char *program, int error, struct keel_error *err)
{
    char reason[128];
    snprintf(reason, sizeof reason, "%s", strerror(error));
    reason[0] = (char)tolower((unsigned char)reason[0]);
    keel_error_invalid(err, "exec: \"%s\": %s", program, reason);
    err->errno_value = error;
    return -1;
}

/* execvpe with the container's PATH (not the runtime's). */
static int runtime_process_exec_program(char *const *args, char *const *env, struct keel_error *err)
{
    const char *program = args[0];
    if (strchr(program, '/') != NULL) {
        execve(program, args, env);
        return runtime_process_exec_failed(program, errno, err);
    }
    const char *search = runtime_process_getenv(env, "PATH");
    if (search == NULL)
        search = RUNTIME_DEFAULT_PATH;
    int first_error = ENOENT;
    char candidate[4096];
    while (*search != '\0') {
        const char *end = strchrnul(search, ':');
        int length = (int)(end - search);
        snprintf(candidate, sizeof candidate, "%.*s/%s", length, length ? search : ".", program);
        execve(candidate, args, env);
        if (errno != ENOENT && errno != ENOTDIR && first_error == ENOENT)
            first_error = errno;
        search = *end ? end + 1 : end;
    }
    if (first_error == ENOENT) {
        /* runc's words, which docker clients map to exit status 127. */
        keel_error_invalid(err, "exec: \"%s\": executable file not found in $PATH", program);
        err->errno_value = ENOENT;
        return -1;
    }
    return runtime_process_exec_failed(program, first_error, err);
}

static int runtime_process_exec(const struct runtime_process_plan *plan, struct keel_error *err)
{
    char *empty[] = {NULL};
    char *const *env = plan->process->env ? plan->process->env : empty;
    if (plan->container_init_fd < 0)
        return runtime_process_exec_program(plan->process->args, env, err);

    size_t count = 0;
    while (plan->process->args[count])
        count++;
    _cleanup_free_ char **argv = calloc(count + 3, sizeof *argv);
    if (argv == NULL)
        return keel_error_set(err, ENOMEM, "exec container-init");
    argv[0] = "container-init";
    argv[1] = "--";
    memcpy(argv + 2, plan->process->args, count * sizeof *argv);
    syscall(SYS_execveat, plan->container_init_fd, "", argv, env, AT_EMPTY_PATH);
    return keel_error_set(err, errno, "exec container-init");
}

/* Identity and filter, in the order the kernel allows: with no_new_privs,
 * the filter goes last (closest to exec); without it, loading a filter
 * needs CAP_SYS_ADMIN, so it goes before the capabilities are dropped. */
static int runtime_process_confine(const struct runtime_process_plan *plan, struct keel_error *err)
{
    const struct oci_process *process = plan->process;
    if (caps_apply_no_new_privileges(process, err) < 0)
        return -1;
    if (plan->seccomp && !process->no_new_privileges &&
        seccomp_program_load(plan->seccomp, NULL, err) < 0)
        return -1;
    if (caps_apply_process(process, err) < 0)
        return -1;
    if (plan->seccomp && process->no_new_privileges &&
        seccomp_program_load(plan->seccomp, NULL, err) < 0)
        return -1;
    return 0;
}

int runtime_process_finish(const struct runtime_process_plan *plan, int *exit_code,
                           struct keel_error *err)
{
    const struct oci_process *process = plan->process;
    *exit_code = 1;
    if (runtime_process_stdio(plan, err) < 0)
        return -1;
    if (runtime_process_enter_cwd(process->cwd, err) < 0)
        return -1;
    if (runtime_process_limits(process, err) < 0)
        return -1;
    /* From here the process outlives `keel oci create`, which returns now. */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (plan->sync_fd >= 0 &&
        runtime_sync_send(plan->sync_fd, RUNTIME_SYNC_CREATED, 0, NULL, err) < 0)
        return -1;
    if (plan->exec_fifo_fd >= 0 && runtime_process_wait_for_start(plan->exec_fifo_fd, err) < 0)
        return -1;
    if (plan->start_hooks && hooks_run(plan->start_hooks, plan->hook_state, err) < 0)
        return keel_error_prefix(err, "startContainer");
    if (runtime_process_confine(plan, err) < 0)
        return -1;
    /* Whatever fd the runtime forgot to mark close-on-exec, the process
     * does not get it (the CVE-2024-21626 class of leaks). */
    syscall(SYS_close_range, 3 + plan->preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC);
    if (runtime_process_exec(plan, err) < 0) {
        *exit_code = err->errno_value == ENOENT ? 127 : 126;
        return -1;
    }
    return -1;
}
