/* engine_exec.c — Docker's exec: another process in a running container, its output pumped to the
 * caller, its exit recorded. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_spec_internal.h"
#include "engine_internal.h"
#include "json_path.h"
#include "runtime.h"

/* Ended execs kept for inspection (the docker CLI reads ExitCode after the
 * output ends); older ones are forgotten, as Docker's exec GC does. */
#define ENGINE_EXECS_ENDED_KEPT 64

enum engine_exec_state {
    ENGINE_EXEC_CREATED,
    ENGINE_EXEC_RUNNING,
    ENGINE_EXEC_EXITED,
};

struct engine_exec {
    struct engine_exec *next;
    struct engine *engine;
    char id[65];
    char container_id[65];

    /* Docker's ExecConfig. */
    char **command; /* Cmd: at least one */
    char **env;     /* "KEY=VALUE" replaces, "KEY" removes */
    char *working_dir;
    char *user;
    bool privileged, tty, attach_stdin, attach_stdout, attach_stderr;
    unsigned console_height, console_width;

    enum engine_exec_state state;
    pid_t pid;
    int pidfd;            /* watched while running; -1 */
    bool awaiting_reaper; /* reaped by someone else: engine_exec_handle_exit brings the status */
    int exit_code;
    struct engine_pump *pumps[2]; /* stdout (or the pty), stderr */
    engine_output_fn *callback;   /* NULL: output discarded */
    void *callback_user;
    bool ended;             /* exited and drained: the end was delivered */
    bool remove_when_ended; /* its container was removed */
};

static void engine_exec_free(struct engine_exec *exec)
{
    struct keel_error ignored;

    engine_pump_free(exec->pumps[0]);
    engine_pump_free(exec->pumps[1]);
    if (exec->pidfd >= 0) {
        loop_remove_fd(exec->engine->loop, exec->pidfd, &ignored);
        close(exec->pidfd);
    }
    json_path_strings_free(exec->command);
    json_path_strings_free(exec->env);
    free(exec->working_dir);
    free(exec->user);
    free(exec);
}

static void engine_exec_unlink(struct engine_exec *exec)
{
    for (struct engine_exec **link = &exec->engine->execs; *link != NULL; link = &(*link)->next) {
        if (*link == exec) {
            *link = exec->next;
            return;
        }
    }
}

/* Forget the ended execs past the newest ENGINE_EXECS_ENDED_KEPT. */
static void engine_exec_forget_old(struct engine *engine)
{
    size_t ended = 0;
    struct engine_exec **link = &engine->execs;

    while (*link != NULL) {
        struct engine_exec *exec = *link;
        if (exec->ended && ++ended > ENGINE_EXECS_ENDED_KEPT) {
            *link = exec->next;
            engine_exec_free(exec);
        } else {
            link = &exec->next;
        }
    }
}

static struct engine_exec *engine_exec_find(struct engine *engine, const char *exec_id,
                                            struct keel_error *err)
{
    for (struct engine_exec *exec = engine->execs; exec != NULL; exec = exec->next)
        if (strcmp(exec->id, exec_id) == 0)
            return exec;
    engine_error_set(err, ENOENT, "No such exec instance: %s", exec_id);
    return NULL;
}

/* Docker's exec event: a container event with the exec's id, its action
 * "exec_create: CMD ARGS" (moby's spelling, trailing space and all). */
static void engine_exec_event(struct engine_exec *exec, const char *action, bool with_command,
                              json_t *attributes)
{
    struct engine_container *container =
        engine_container_find(exec->engine, exec->container_id, &(struct keel_error){0});
    _cleanup_free_ char *text = NULL;
    size_t length = strlen(action) + 3;

    if (attributes == NULL)
        attributes = json_object();
    if (attributes == NULL)
        return;
    json_object_set_new(attributes, "execID", json_string(exec->id));
    if (container != NULL) {
        json_object_set_new(attributes, "image",
                            json_string(engine_container_image_name(container)));
        json_object_set_new(attributes, "name", json_string(engine_container_name(container)));
    }
    for (char **word = exec->command; with_command && *word != NULL; word++)
        length += strlen(*word) + 1;
    text = malloc(length);
    if (text == NULL) {
        json_decref(attributes);
        return;
    }
    if (with_command) {
        /* Entrypoint, then " ", then the arguments joined by spaces. */
        char *end = text + sprintf(text, "%s: %s ", action, exec->command[0]);
        for (char **word = exec->command + 1; *word != NULL; word++)
            end += sprintf(end, "%s%s", word == exec->command + 1 ? "" : " ", *word);
    } else {
        strcpy(text, action);
    }
    engine_event_emit(exec->engine, "container", text, exec->container_id, attributes);
}

/* ---- create ---- */

static int engine_exec_parse(struct engine_exec *exec, json_t *request, struct keel_error *err)
{
    json_t *console_size = NULL;

    if (!json_is_object(request))
        return keel_error_invalid(err, "exec config: expected a JSON object");
    if (json_path_get_strings(request, "", "Cmd", JSON_PATH_OPTIONAL, &exec->command, err) < 0 ||
        json_path_get_strings(request, "", "Env", JSON_PATH_OPTIONAL, &exec->env, err) < 0 ||
        json_path_get_string(request, "", "WorkingDir", JSON_PATH_OPTIONAL, &exec->working_dir,
                             err) < 0 ||
        json_path_get_string(request, "", "User", JSON_PATH_OPTIONAL, &exec->user, err) < 0 ||
        json_path_get_bool(request, "", "Privileged", JSON_PATH_OPTIONAL, &exec->privileged, err) <
            0 ||
        json_path_get_bool(request, "", "Tty", JSON_PATH_OPTIONAL, &exec->tty, err) < 0 ||
        json_path_get_bool(request, "", "AttachStdin", JSON_PATH_OPTIONAL, &exec->attach_stdin,
                           err) < 0 ||
        json_path_get_bool(request, "", "AttachStdout", JSON_PATH_OPTIONAL, &exec->attach_stdout,
                           err) < 0 ||
        json_path_get_bool(request, "", "AttachStderr", JSON_PATH_OPTIONAL, &exec->attach_stderr,
                           err) < 0 ||
        json_path_get_array(request, "", "ConsoleSize", JSON_PATH_OPTIONAL, &console_size, err) < 0)
        return -1;
    if (exec->command == NULL || exec->command[0] == NULL)
        return keel_error_invalid(err, "No exec command specified");
    for (size_t i = 0; exec->env[i] != NULL; i++)
        if (exec->env[i][0] == '=' || exec->env[i][0] == '\0')
            return keel_error_invalid(err, "Env[%zu]: expected KEY=VALUE, got \"%s\"", i,
                                      exec->env[i]);
    if (exec->working_dir != NULL && exec->working_dir[0] != '\0' && exec->working_dir[0] != '/')
        return keel_error_invalid(
            err, "the working directory '%s' is invalid, it needs to be an absolute path",
            exec->working_dir);
    /* ConsoleSize [height, width] (API 1.42; harmless before). */
    if (console_size != NULL && json_array_size(console_size) == 2) {
        json_int_t height = json_integer_value(json_array_get(console_size, 0));
        json_int_t width = json_integer_value(json_array_get(console_size, 1));
        if (height < 0 || height > USHRT_MAX || width < 0 || width > USHRT_MAX)
            return keel_error_invalid(err, "ConsoleSize: out of range");
        exec->console_height = (unsigned)height;
        exec->console_width = (unsigned)width;
    }
    return 0;
}

static int engine_exec_make_id(char id[65], struct keel_error *err)
{
    unsigned char bytes[32];

    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return keel_error_set(err, errno, "exec id: getrandom");
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(id + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

int engine_exec_create(struct engine *engine, const char *reference, const json_t *request,
                       char **exec_id, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    if (!engine_container_is_running(container))
        return engine_error_set(err, EBUSY, "Container %s is not running",
                                engine_container_id(container));

    struct engine_exec *exec = calloc(1, sizeof *exec);
    if (exec == NULL)
        return keel_error_set(err, ENOMEM, "create exec");
    exec->engine = engine;
    exec->pidfd = -1;
    snprintf(exec->container_id, sizeof exec->container_id, "%s", engine_container_id(container));
    if (engine_exec_parse(exec, (json_t *)request, err) < 0 ||
        engine_exec_make_id(exec->id, err) < 0) {
        engine_exec_free(exec);
        return -1;
    }
    *exec_id = strdup(exec->id);
    if (*exec_id == NULL) {
        engine_exec_free(exec);
        return keel_error_set(err, ENOMEM, "create exec");
    }
    exec->next = engine->execs;
    engine->execs = exec;
    engine_exec_forget_old(engine);
    engine_exec_event(exec, "exec_create", true, NULL);
    return 0;
}

/* ---- the process ---- */

/* What the process borrows from the container's and what is its own. */
struct engine_exec_process {
    struct oci_process process;
    char **env; /* the array is ours, the strings are borrowed */
    char *home; /* "HOME=..." */
    struct container_spec_user user;
};

static void engine_exec_process_free(struct engine_exec_process *built)
{
    free(built->env);
    free(built->home);
    container_spec_user_free(&built->user);
}

static bool engine_exec_env_key_matches(const char *entry, const char *key, size_t key_length)
{
    return strncmp(entry, key, key_length) == 0 && entry[key_length] == '=';
}

/* Apply one change to env (count entries, room for one more): "KEY=VALUE"
 * replaces KEY or is appended, "KEY" removes it. */
static void engine_exec_env_apply(char **env, size_t *count, char *change)
{
    size_t key_length = strcspn(change, "=");
    bool removal = change[key_length] == '\0';

    for (size_t i = 0; i < *count; i++) {
        if (!engine_exec_env_key_matches(env[i], change, key_length))
            continue;
        if (removal) {
            memmove(env + i, env + i + 1, (*count - i) * sizeof *env);
            (*count)--;
        } else {
            env[i] = change;
        }
        return;
    }
    if (!removal)
        env[(*count)++] = change;
    env[*count] = NULL;
}

static bool engine_exec_env_has(char **env, const char *key)
{
    for (; env != NULL && *env != NULL; env++)
        if (engine_exec_env_key_matches(*env, key, strlen(key)))
            return true;
    return false;
}

/* Every capability the kernel and libcap know (Docker's GetAllCapabilities). */
static uint64_t engine_exec_all_capabilities(void)
{
    _cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char text[16] = "";
    int last = 63;
    uint64_t all = 0;

    if (fd >= 0 && read(fd, text, sizeof text - 1) > 0)
        last = atoi(text);
    for (int number = 0; number <= last && oci_capability_name(number) != NULL; number++)
        all |= UINT64_C(1) << number;
    return all;
}

/* The container's process settings (capabilities, rlimits, no_new_privs,
 * AppArmor) as the base, the exec's command, environment (the container's,
 * then the exec's Env), working directory and user on top, as runc exec. */
static int engine_exec_process_build(const struct engine_exec *exec, pid_t container_pid,
                                     const struct oci_process *base,
                                     struct engine_exec_process *built, struct keel_error *err)
{
    struct oci_process *process = &built->process;
    size_t base_count = 0, change_count = 0, count = 0;

    *process = *base;
    process->args = exec->command;
    process->terminal = exec->tty;
    process->console_height = exec->console_height;
    process->console_width = exec->console_width;
    if (exec->working_dir != NULL && exec->working_dir[0] != '\0')
        process->cwd = exec->working_dir;
    if (exec->user != NULL && exec->user[0] != '\0') {
        /* Looked up in the container's own root, as it is now. */
        char root[64];
        snprintf(root, sizeof root, "/proc/%d/root", (int)container_pid);
        if (container_spec_user_lookup(root, exec->user, &built->user, err) < 0)
            return -1;
        process->uid = built->user.uid;
        process->gid = built->user.gid;
        process->additional_gids = built->user.additional_gids;
        process->additional_gid_count = built->user.additional_gid_count;
        if (built->user.home != NULL && !engine_exec_env_has(exec->env, "HOME") &&
            asprintf(&built->home, "HOME=%s", built->user.home) < 0) {
            built->home = NULL;
            return keel_error_set(err, ENOMEM, "exec environment");
        }
    }
    if (exec->privileged) {
        uint64_t all = engine_exec_all_capabilities();
        process->has_capabilities = true;
        process->capabilities[OCI_CAPS_BOUNDING] = all;
        process->capabilities[OCI_CAPS_PERMITTED] = all;
        process->capabilities[OCI_CAPS_EFFECTIVE] = all;
        process->capabilities[OCI_CAPS_INHERITABLE] = 0;
        process->capabilities[OCI_CAPS_AMBIENT] = 0;
    }

    while (base->env != NULL && base->env[base_count] != NULL)
        base_count++;
    while (exec->env[change_count] != NULL)
        change_count++;
    /* Room for the base, every change, HOME, TERM and the NULL. */
    built->env = calloc(base_count + change_count + 3, sizeof *built->env);
    if (built->env == NULL)
        return keel_error_set(err, ENOMEM, "exec environment");
    for (size_t i = 0; i < base_count; i++)
        built->env[count++] = base->env[i];
    if (built->home != NULL)
        engine_exec_env_apply(built->env, &count, built->home);
    for (size_t i = 0; i < change_count; i++)
        engine_exec_env_apply(built->env, &count, exec->env[i]);
    /* Docker's default for a tty, which the container's or the exec's Env
     * may set otherwise. */
    if (exec->tty && !engine_exec_env_has(built->env, "TERM"))
        engine_exec_env_apply(built->env, &count, "TERM=xterm");
    process->env = built->env;
    return 0;
}

/* The fds around the process: its stdio (closed once it runs), ours. */
struct engine_exec_stdio {
    int child[3];
    int stdin_write; /* for the caller */
    int output[2];   /* read ends to pump: stdout (or the pty master), stderr */
    int console[2];  /* tty: [0] receives the master, [1] is the process's */
};

static void engine_exec_stdio_close(struct engine_exec_stdio *stdio)
{
    int *all[] = {&stdio->child[0],  &stdio->child[1],  &stdio->child[2],   &stdio->stdin_write,
                  &stdio->output[0], &stdio->output[1], &stdio->console[0], &stdio->console[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i] >= 0)
            close(*all[i]);
        *all[i] = -1;
    }
}

/* One stdio stream: a pipe when attached (our end in *ours), else /dev/null. */
static int engine_exec_stdio_stream(bool attached, bool input, int *child, int *ours,
                                    struct keel_error *err)
{
    int fds[2];

    if (!attached) {
        *child = open("/dev/null", (input ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        if (*child < 0)
            return keel_error_set(err, errno, "open /dev/null");
        return 0;
    }
    if (pipe2(fds, O_CLOEXEC) < 0)
        return keel_error_set(err, errno, "exec stdio pipe");
    *child = input ? fds[0] : fds[1];
    *ours = input ? fds[1] : fds[0];
    return 0;
}

static int engine_exec_stdio_open(const struct engine_exec *exec, bool detach,
                                  struct engine_exec_stdio *stdio, struct keel_error *err)
{
    if (exec->tty) {
        /* The process makes its pty and sends us the master (terminal.c). */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdio->console) < 0)
            return keel_error_set(err, errno, "exec console socket");
        return 0;
    }
    if (engine_exec_stdio_stream(!detach && exec->attach_stdin, true, &stdio->child[0],
                                 &stdio->stdin_write, err) < 0 ||
        engine_exec_stdio_stream(!detach && exec->attach_stdout, false, &stdio->child[1],
                                 &stdio->output[0], err) < 0 ||
        engine_exec_stdio_stream(!detach && exec->attach_stderr, false, &stdio->child[2],
                                 &stdio->output[1], err) < 0)
        return -1;
    return 0;
}

/* Receive the pty master the process sent over the console socket
 * (already there: runtime_process_exec returns once it exec'd). */
static int engine_exec_receive_console(int socket, int *master, struct keel_error *err)
{
    char name[256];
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec vector = {.iov_base = name, .iov_len = sizeof name};
    struct msghdr message = {.msg_iov = &vector,
                             .msg_iovlen = 1,
                             .msg_control = control.space,
                             .msg_controllen = sizeof control.space};

    if (recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0)
        return keel_error_set(err, errno, "receive the exec's pty");
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || (message.msg_flags & MSG_CTRUNC) || header->cmsg_level != SOL_SOCKET ||
        header->cmsg_type != SCM_RIGHTS || header->cmsg_len != CMSG_LEN(sizeof(int)))
        return keel_error_invalid(err, "receive the exec's pty: no fd in the message");
    memcpy(master, CMSG_DATA(header), sizeof *master);
    return 0;
}

/* ---- exit and the end of output ---- */

/* The end goes to the caller once the process exited and its output is
 * drained (both pumps ended). */
static void engine_exec_end_if_done(struct engine_exec *exec)
{
    if (exec->ended || exec->state != ENGINE_EXEC_EXITED || exec->pumps[0] != NULL ||
        exec->pumps[1] != NULL)
        return;
    exec->ended = true;
    if (exec->callback != NULL)
        exec->callback(0, NULL, 0, exec->callback_user);
    if (exec->remove_when_ended) {
        engine_exec_unlink(exec);
        engine_exec_free(exec);
    }
}

static void engine_exec_exited(struct engine_exec *exec, int exit_code)
{
    struct keel_error ignored;
    char code[16];

    if (exec->pidfd >= 0) {
        loop_remove_fd(exec->engine->loop, exec->pidfd, &ignored);
        close(exec->pidfd);
        exec->pidfd = -1;
    }
    exec->state = ENGINE_EXEC_EXITED;
    exec->exit_code = exit_code;
    exec->awaiting_reaper = false;
    snprintf(code, sizeof code, "%d", exit_code);
    engine_exec_event(exec, "exec_die", false, json_pack("{s:s}", "exitCode", code));
    engine_exec_end_if_done(exec);
}

static int engine_exec_on_pidfd(struct loop *loop, int fd, uint32_t events, void *user,
                                struct keel_error *err)
{
    struct engine_exec *exec = user;
    siginfo_t info = {0};
    (void)events;
    (void)err;

    if (waitid(P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG) < 0) {
        if (errno != ECHILD)
            return keel_error_set(err, errno, "exec %s: waitid", exec->id);
        /* A reaper (PID 1, the daemon's) won the race: it brings the
         * status through engine_handle_exit. Stop watching meanwhile. */
        loop_remove_fd(loop, fd, &(struct keel_error){0});
        close(exec->pidfd);
        exec->pidfd = -1;
        exec->awaiting_reaper = true;
        return 0;
    }
    if (info.si_pid == 0)
        return 0; /* not exited yet */
    engine_exec_exited(exec, info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status);
    return 0;
}

bool engine_exec_handle_exit(struct engine *engine, pid_t pid, int status)
{
    for (struct engine_exec *exec = engine->execs; exec != NULL; exec = exec->next) {
        if (exec->state != ENGINE_EXEC_RUNNING || exec->pid != pid)
            continue;
        engine_exec_exited(exec, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return true;
    }
    return false;
}

static void engine_exec_on_output(enum container_log_stream stream, const void *data, size_t length,
                                  void *user)
{
    struct engine_exec *exec = user;
    size_t index = stream == CONTAINER_LOG_STDERR ? 1 : 0;

    if (length > 0) {
        /* A pty is pumped even when its output is not wanted: a full pty
         * would block the process. */
        if (exec->callback != NULL && (!exec->tty || exec->attach_stdout))
            exec->callback(stream, data, length, exec->callback_user);
        return;
    }
    engine_pump_free(exec->pumps[index]);
    exec->pumps[index] = NULL;
    engine_exec_end_if_done(exec);
}

/* ---- start ---- */

static int engine_exec_check_startable(struct engine *engine, struct engine_exec *exec,
                                       struct engine_container **container, struct keel_error *err)
{
    if (exec->state == ENGINE_EXEC_RUNNING)
        return engine_error_set(err, EBUSY, "Error: Exec command %s is already running", exec->id);
    if (exec->state == ENGINE_EXEC_EXITED)
        return engine_error_set(err, EBUSY, "Error: Exec command %s has already run", exec->id);
    struct keel_error ignored;
    *container = engine_container_find(engine, exec->container_id, &ignored);
    if (*container == NULL || !engine_container_is_running(*container) ||
        engine_container_pid(*container) <= 0 || engine_container_oci_config(*container) == NULL)
        return engine_error_set(err, EBUSY, "Container %s is not running", exec->container_id);
    return 0;
}

/* The process made: its pidfd on the loop, its output in pumps. */
static int engine_exec_watch(struct engine_exec *exec, int pidfd, struct engine_exec_stdio *stdio,
                             struct keel_error *err)
{
    static const enum container_log_stream streams[2] = {CONTAINER_LOG_STDOUT,
                                                         CONTAINER_LOG_STDERR};

    if (loop_add_fd(exec->engine->loop, pidfd, EPOLLIN, engine_exec_on_pidfd, exec, err) < 0)
        return -1;
    exec->pidfd = pidfd;
    for (size_t i = 0; i < 2; i++) {
        if (stdio->output[i] < 0)
            continue;
        int fd = steal_fd(&stdio->output[i]);
        if (engine_pump_new(exec->engine, fd, streams[i], engine_exec_on_output, exec,
                            &exec->pumps[i], err) < 0)
            return -1;
    }
    return 0;
}

int engine_exec_start(struct engine *engine, const char *exec_id, bool detach,
                      engine_output_fn *callback, void *user, int *stdin_fd, struct keel_error *err)
{
    struct engine_exec_stdio stdio = {
        .child = {-1, -1, -1}, .stdin_write = -1, .output = {-1, -1}, .console = {-1, -1}};
    struct engine_exec_process built = {0};
    struct engine_container *container = NULL;
    _cleanup_close_ int pidfd = -1;
    _cleanup_free_ char *seccomp_cache = NULL;
    int result = -1;
    pid_t pid;

    if (stdin_fd != NULL)
        *stdin_fd = -1;
    struct engine_exec *exec = engine_exec_find(engine, exec_id, err);
    if (exec == NULL || engine_exec_check_startable(engine, exec, &container, err) < 0)
        return -1;
    pid_t container_pid = engine_container_pid(container);
    const struct oci_config *config = engine_container_oci_config(container);
    if (asprintf(&seccomp_cache, "%s/seccomp", engine->options.runtime_root) < 0) {
        seccomp_cache = NULL;
        return keel_error_set(err, ENOMEM, "start exec");
    }
    if (engine_exec_process_build(exec, container_pid, &config->process, &built, err) < 0 ||
        engine_exec_stdio_open(exec, detach, &stdio, err) < 0)
        goto done;

    struct runtime_exec_options options = {
        .container_pid = container_pid,
        .cgroup_path = engine_container_cgroup_path(container),
        .config = config,
        .process = &built.process,
        .console_socket = stdio.console[1],
        .stdio = {stdio.child[0], stdio.child[1], stdio.child[2]},
        .seccomp_cache = seccomp_cache,
    };
    if (runtime_process_exec(&options, &pid, &pidfd, err) < 0) {
        /* As dockerd: the exec is over, with the status a shell gives a
         * command it cannot find (127) or run (126); inspect shows it. */
        exec->state = ENGINE_EXEC_EXITED;
        exec->exit_code = err->errno_value == ENOENT ? 127 : 126;
        goto done;
    }
    /* From here the process runs: failures below kill it. */
    if (exec->tty) {
        if (engine_exec_receive_console(stdio.console[0], &stdio.output[0], err) < 0)
            goto kill;
        if (!detach && exec->attach_stdin) {
            stdio.stdin_write = fcntl(stdio.output[0], F_DUPFD_CLOEXEC, 3);
            if (stdio.stdin_write < 0) {
                keel_error_set(err, errno, "exec stdin");
                goto kill;
            }
        }
    }
    if (stdio.stdin_write >= 0) {
        int flags = fcntl(stdio.stdin_write, F_GETFL);
        if (flags < 0 || fcntl(stdio.stdin_write, F_SETFL, flags | O_NONBLOCK) < 0) {
            keel_error_set(err, errno, "exec stdin");
            goto kill;
        }
    }
    exec->pid = pid;
    exec->state = ENGINE_EXEC_RUNNING;
    exec->callback = detach ? NULL : callback;
    exec->callback_user = user;
    if (engine_exec_watch(exec, pidfd, &stdio, err) < 0) {
        exec->pidfd = -1; /* pidfd is still ours to close */
        goto kill_running;
    }
    pidfd = -1;
    if (stdin_fd != NULL)
        *stdin_fd = steal_fd(&stdio.stdin_write);
    engine_exec_event(exec, "exec_start", true, NULL);
    result = 0;
    goto done;

kill_running:
    loop_remove_fd(engine->loop, pidfd, &(struct keel_error){0});
    engine_pump_free(exec->pumps[0]);
    engine_pump_free(exec->pumps[1]);
    exec->pumps[0] = exec->pumps[1] = NULL;
    exec->state = ENGINE_EXEC_CREATED;
    exec->callback = NULL;
kill:
    /* A process nobody can talk to or wait for: gone, and reaped. */
    pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    waitid(P_PIDFD, (id_t)pidfd, &(siginfo_t){0}, WEXITED);
    keel_error_prefix(err, "start exec %s", exec->id);
done:
    engine_exec_stdio_close(&stdio);
    engine_exec_process_free(&built);
    return result;
}

/* ---- inspect, container gone, engine gone ---- */

int engine_exec_inspect_json(struct engine *engine, const char *exec_id, char **json,
                             struct keel_error *err)
{
    struct engine_exec *exec = engine_exec_find(engine, exec_id, err);
    if (exec == NULL)
        return -1;

    json_t *arguments = json_array();
    for (char **word = exec->command + 1; arguments != NULL && *word != NULL; word++)
        if (json_array_append_new(arguments, json_string(*word)) < 0)
            break;
    json_t *exit_code =
        exec->state == ENGINE_EXEC_EXITED ? json_integer(exec->exit_code) : json_null();
    json_int_t pid = exec->state == ENGINE_EXEC_CREATED ? 0 : exec->pid;
    /* clang-format off */
    json_t *inspect = json_pack("{s:s, s:b, s:o, s:{s:s, s:o, s:b, s:s, s:b}, s:b, s:b, s:b, s:b,"
                                " s:s, s:s, s:I}",
        "ID", exec->id,
        "Running", exec->state == ENGINE_EXEC_RUNNING,
        "ExitCode", exit_code,
        "ProcessConfig",
            "entrypoint", exec->command[0],
            "arguments", arguments,
            "tty", exec->tty,
            "user", exec->user ? exec->user : "",
            "privileged", exec->privileged,
        "OpenStdin", exec->attach_stdin,
        "OpenStderr", exec->attach_stderr,
        "OpenStdout", exec->attach_stdout,
        "CanRemove", 0,
        "ContainerID", exec->container_id,
        "DetachKeys", "",
        "Pid", pid);
    /* clang-format on */
    *json = inspect ? json_dumps(inspect, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(inspect);
    if (*json == NULL)
        return keel_error_set(err, ENOMEM, "inspect exec %s", exec_id);
    return 0;
}

void engine_exec_container_gone(struct engine *engine, const struct engine_container *container,
                                bool removed)
{
    const char *container_id = engine_container_id(container);
    struct engine_exec **link = &engine->execs;

    while (*link != NULL) {
        struct engine_exec *exec = *link;
        if (strcmp(exec->container_id, container_id) != 0) {
            link = &exec->next;
            continue;
        }
        /* Its processes die with the container's pid namespace; without
         * one (PidMode host) they would outlive it: Docker kills them. */
        if (exec->state == ENGINE_EXEC_RUNNING && exec->pidfd >= 0)
            pidfd_send_signal(exec->pidfd, SIGKILL, NULL, 0);
        if (removed && (exec->ended || exec->state == ENGINE_EXEC_CREATED)) {
            *link = exec->next;
            engine_exec_free(exec);
            continue;
        }
        if (removed)
            exec->remove_when_ended = true;
        link = &exec->next;
    }
}

void engine_exec_free_all(struct engine *engine)
{
    /* Processes keep running, as containers do at engine_free; their
     * callers hear nothing more. */
    while (engine->execs != NULL) {
        struct engine_exec *exec = engine->execs;
        engine->execs = exec->next;
        engine_exec_free(exec);
    }
}
