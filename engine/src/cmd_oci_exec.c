/* cmd_oci_exec.c — `keel oci exec`: another process in a running container. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "file.h"
#include "oci_cli.h"
#include "runtime.h"

#define CMD_OCI_EXEC_USAGE                                                                         \
    "exec [--process FILE] [--env K=V]... [--cwd DIR] [--user UID[:GID]] "                         \
    "[--additional-gids GID]... [--cap CAP]... [--no-new-privs] [--tty] [--console-socket S] "     \
    "[--detach] [--pid-file F] [--preserve-fds N] ID [COMMAND [ARGS...]]"

#define CMD_OCI_EXEC_MAX_ITEMS 256

struct cmd_oci_exec_request {
    const char *process_file;
    const char *env[CMD_OCI_EXEC_MAX_ITEMS];
    size_t env_count;
    const char *cwd;
    const char *user;
    gid_t gids[CMD_OCI_EXEC_MAX_ITEMS];
    size_t gid_count;
    uint64_t caps;
    bool no_new_privs, tty, detach;
    const char *console_socket;
    const char *pid_file;
    int preserve_fds;
    const char *id;
    char **args;
};

static int cmd_oci_exec_parse(int argc, char **argv, struct cmd_oci_exec_request *request)
{
    static const struct option options[] = {
        {"process", required_argument, NULL, 'p'},
        {"env", required_argument, NULL, 'e'},
        {"cwd", required_argument, NULL, 'w'},
        {"user", required_argument, NULL, 'u'},
        {"additional-gids", required_argument, NULL, 'g'},
        {"cap", required_argument, NULL, 'c'},
        {"no-new-privs", no_argument, NULL, 'N'},
        {"tty", no_argument, NULL, 't'},
        {"console-socket", required_argument, NULL, 'S'},
        {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, 'P'},
        {"preserve-fds", required_argument, NULL, 'F'},
        {"ignore-paused", no_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    int option;
    long number;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+p:e:u:g:c:td", options, NULL)) != -1) {
        switch (option) {
        case 'p':
            request->process_file = optarg;
            break;
        case 'e':
            if (request->env_count == CMD_OCI_EXEC_MAX_ITEMS || !strchr(optarg, '='))
                return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
            request->env[request->env_count++] = optarg;
            break;
        case 'w':
            request->cwd = optarg;
            break;
        case 'u':
            request->user = optarg;
            break;
        case 'g':
            if (request->gid_count == CMD_OCI_EXEC_MAX_ITEMS ||
                !oci_cli_parse_number(optarg, 0xfffffffe, &number))
                return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
            request->gids[request->gid_count++] = (gid_t)number;
            break;
        case 'c': {
            int cap = oci_capability_from_name(optarg);
            if (cap < 0) {
                fprintf(stderr, "keel oci exec: --cap: unknown capability \"%s\"\n", optarg);
                return KEEL_EXIT_USAGE;
            }
            request->caps |= 1ULL << cap;
            break;
        }
        case 'N':
            request->no_new_privs = true;
            break;
        case 't':
            request->tty = true;
            break;
        case 'S':
            request->console_socket = optarg;
            break;
        case 'd':
            request->detach = true;
            break;
        case 'P':
            request->pid_file = optarg;
            break;
        case 'F':
            if (!oci_cli_parse_number(optarg, 1000, &number))
                return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
            request->preserve_fds = (int)number;
            break;
        case 'I':
            break;
        default:
            return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
        }
    }
    if (optind >= argc)
        return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
    request->id = argv[optind];
    request->args = argv + optind + 1;
    if ((request->process_file == NULL) == (request->args[0] == NULL))
        return oci_cli_usage("exec", CMD_OCI_EXEC_USAGE);
    return 0;
}

/* The config's process with the command line's changes: what runc exec does. */
static int cmd_oci_exec_build(const struct cmd_oci_exec_request *request,
                              const struct oci_process *base, struct oci_process *process,
                              char ***env_storage, struct keel_error *err)
{
    *process = *base;
    process->args = request->args;
    process->terminal = request->tty;
    process->console_height = process->console_width = 0;
    if (request->cwd)
        process->cwd = (char *)request->cwd;
    if (request->user) {
        char *end;
        unsigned long uid = strtoul(request->user, &end, 10);
        unsigned long gid = process->gid;
        if (end != request->user && *end == ':')
            gid = strtoul(end + 1, &end, 10);
        if (end == request->user || *end != '\0' || uid > 0xfffffffeUL || gid > 0xfffffffeUL)
            return keel_error_invalid(err, "--user %s: expected UID[:GID]", request->user);
        process->uid = (uid_t)uid;
        process->gid = (gid_t)gid;
    }
    if (request->gid_count) {
        process->additional_gids = (gid_t *)request->gids;
        process->additional_gid_count = request->gid_count;
    }
    if (request->caps) {
        for (int set = 0; set < OCI_CAPS_SET_COUNT; set++)
            if (set != OCI_CAPS_INHERITABLE && set != OCI_CAPS_AMBIENT)
                process->capabilities[set] |= request->caps;
        process->has_capabilities = true;
    }
    if (request->no_new_privs)
        process->no_new_privileges = true;

    size_t base_count = 0;
    while (base->env && base->env[base_count])
        base_count++;
    char **env = calloc(base_count + request->env_count + 1, sizeof *env);
    if (env == NULL)
        return keel_error_set(err, ENOMEM, "exec environment");
    size_t count = 0;
    for (size_t i = 0; i < base_count; i++) {
        size_t key = strcspn(base->env[i], "=");
        bool replaced = false;
        for (size_t j = 0; j < request->env_count; j++)
            replaced |= strncmp(request->env[j], base->env[i], key + 1) == 0;
        if (!replaced)
            env[count++] = base->env[i];
    }
    for (size_t j = 0; j < request->env_count; j++)
        env[count++] = (char *)request->env[j];
    process->env = env;
    *env_storage = env;
    return 0;
}

static int cmd_oci_exec_run(const struct oci_cli *cli, const struct cmd_oci_exec_request *request,
                            struct oci_cli_container *container, struct keel_error *err)
{
    struct oci_process from_file = {0}, built;
    _cleanup_free_ char **env_storage = NULL;
    _cleanup_free_ char *text = NULL;
    _cleanup_close_ int console = -1;
    const struct oci_process *process = &built;
    int result = -1;

    if (container->status != OCI_STATUS_RUNNING)
        return keel_error_invalid(err, "container \"%s\" is %s, not running", request->id,
                                  oci_status_name(container->status));
    if (request->process_file) {
        size_t length;
        if (file_read_text(request->process_file, &text, &length, err) < 0 ||
            oci_process_parse(text, length, &from_file, err) < 0)
            return keel_error_prefix(err, "--process %s", request->process_file);
        process = &from_file;
    } else if (cmd_oci_exec_build(request, &container->config->process, &built, &env_storage, err) <
               0) {
        return -1;
    }
    /* Before the first goto: a jump past a cleanup variable's
     * initialisation would close a garbage fd at the end. */
    _cleanup_close_ int pidfd = -1;
    if (request->console_socket &&
        oci_cli_connect_console(request->console_socket, &console, err) < 0)
        goto done;

    char seccomp_cache[PATH_MAX];
    oci_cli_seccomp_cache(cli, seccomp_cache, sizeof seccomp_cache);
    struct runtime_exec_options options = {
        .container_pid = container->state->pid,
        .cgroup_path = container->state->cgroup_path,
        .config = container->config,
        .process = process,
        .console_socket = console,
        .stdio = {-1, -1, -1},
        .preserve_fds = request->preserve_fds,
        .seccomp_cache = seccomp_cache,
    };
    pid_t pid;
    if (runtime_process_exec(&options, &pid, &pidfd, err) < 0)
        goto done;
    if (request->pid_file && oci_cli_write_pid_file(request->pid_file, pid, err) < 0)
        goto done;
    result = request->detach ? 0 : oci_cli_wait_forwarding(pid, pidfd, err);
done:
    if (request->process_file)
        oci_process_free(&from_file);
    return result;
}

int cmd_oci_exec(const struct oci_cli *cli, int argc, char **argv)
{
    struct cmd_oci_exec_request request = {0};
    int usage = cmd_oci_exec_parse(argc, argv, &request);
    if (usage != 0)
        return usage;
    struct oci_cli_container container;
    struct keel_error err;
    keel_error_clear(&err);
    if (oci_cli_load(cli, request.id, &container, &err) < 0)
        return oci_cli_fail("exec", &err, KEEL_EXIT_FAILURE);
    if (!request.detach)
        oci_cli_block_forwarded_signals();
    int status = cmd_oci_exec_run(cli, &request, &container, &err);
    oci_cli_release(&container);
    if (status < 0)
        return oci_cli_fail("exec", &err, KEEL_EXIT_FAILURE);
    return status;
}
