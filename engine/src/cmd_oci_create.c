/* cmd_oci_create.c — `keel oci create` and `keel oci run`: a bundle becomes a container. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "commands.h"
#include "file.h"
#include "hooks.h"
#include "oci_cli.h"
#include "runtime.h"

#define CMD_OCI_CREATE_USAGE                                                                       \
    "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--init] ID"
#define CMD_OCI_RUN_USAGE                                                                          \
    "run [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--init] "          \
    "[--detach] [--keep] ID"

struct cmd_oci_create_request {
    const char *verb;
    const char *id;
    const char *bundle;
    const char *pid_file;
    const char *console_socket;
    int preserve_fds;
    bool init;
    bool detach;
    bool keep;
    bool run;
};

static int cmd_oci_create_parse(int argc, char **argv, struct cmd_oci_create_request *request)
{
    static const struct option options[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"pid-file", required_argument, NULL, 'p'},
        {"console-socket", required_argument, NULL, 'c'},
        {"preserve-fds", required_argument, NULL, 'P'},
        {"init", no_argument, NULL, 'i'},
        {"detach", no_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"no-pivot", no_argument, NULL, 'n'},
        {"no-new-keyring", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    const char *usage = request->run ? CMD_OCI_RUN_USAGE : CMD_OCI_CREATE_USAGE;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+b:d", options, NULL)) != -1) {
        switch (option) {
        case 'b':
            request->bundle = optarg;
            break;
        case 'p':
            request->pid_file = optarg;
            break;
        case 'c':
            request->console_socket = optarg;
            break;
        case 'P': {
            long count;
            if (!oci_cli_parse_number(optarg, 1000, &count))
                return oci_cli_usage(request->verb, usage);
            request->preserve_fds = (int)count;
            break;
        }
        case 'i':
            request->init = true;
            break;
        case 'd':
            if (!request->run)
                return oci_cli_usage(request->verb, usage);
            request->detach = true;
            break;
        case 'k':
            request->keep = true;
            break;
        case 'n':
            fprintf(stderr, "keel oci %s: --no-pivot: Keel always uses pivot_root\n",
                    request->verb);
            return KEEL_EXIT_USAGE;
        case 'K':
            break;
        default:
            return oci_cli_usage(request->verb, usage);
        }
    }
    if (optind != argc - 1)
        return oci_cli_usage(request->verb, usage);
    request->id = argv[optind];
    return 0;
}

/* container-init sits beside the engine: BIN/../libexec/keel/container-init
 * (/usr/bin/keel → /usr/libexec/keel/container-init on the OS image);
 * KEEL_CONTAINER_INIT overrides. */
static int cmd_oci_container_init_path(char *path, size_t size, struct keel_error *err)
{
    const char *override = getenv("KEEL_CONTAINER_INIT");
    if (override && *override) {
        snprintf(path, size, "%s", override);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length < 0)
        return keel_error_set(err, errno, "readlink /proc/self/exe");
    self[length] = '\0';
    snprintf(path, size, "%s/../libexec/keel/container-init", dirname(self));
    return 0;
}

static void cmd_oci_now(char *text, size_t size)
{
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    size_t used = strftime(text, size, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + used, size - used, ".%09ldZ", now.tv_nsec);
}

struct cmd_oci_created {
    struct oci_config *config;
    struct runtime_container container;
    struct oci_state state;
    char *config_text; /* as read: parsed, and saved in the state dir */
    size_t config_length;
    char bundle[PATH_MAX];
    char rootfs[PATH_MAX];
    char created[64];
};

static int cmd_oci_resolve_bundle(const struct cmd_oci_create_request *request,
                                  struct cmd_oci_created *created, struct keel_error *err)
{
    const char *bundle = request->bundle ? request->bundle : ".";
    if (realpath(bundle, created->bundle) == NULL)
        return keel_error_set(err, errno, "bundle %s", bundle);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", created->bundle);
    if (oci_config_read_text(path, &created->config_text, &created->config_length, err) < 0)
        return -1;
    if (oci_config_parse(created->config_text, created->config_length, &created->config, err) < 0)
        return keel_error_prefix(err, "%s", path);
    char root[PATH_MAX * 2];
    if (created->config->root_path == NULL)
        return keel_error_invalid(err, "root.path: missing");
    if (created->config->root_path[0] == '/')
        snprintf(root, sizeof root, "%s", created->config->root_path);
    else
        snprintf(root, sizeof root, "%s/%s", created->bundle, created->config->root_path);
    if (realpath(root, created->rootfs) == NULL)
        return keel_error_set(err, errno, "root.path %s", root);
    return 0;
}

/* Keep the config as created in the state dir: delete's poststop hooks
 * and exec read it, whatever happens to the bundle later. */
static int cmd_oci_save_config(const struct oci_cli *cli, const char *id,
                               const struct cmd_oci_created *created, struct keel_error *err)
{
    char target[PATH_MAX];
    if (oci_state_path(cli->root, id, "config.json", target, sizeof target, err) < 0)
        return -1;
    return file_write_atomic(target, created->config_text, created->config_length, 0600, 0, err);
}

static int cmd_oci_create_container(const struct oci_cli *cli,
                                    const struct cmd_oci_create_request *request,
                                    struct cmd_oci_created *created, struct keel_error *err)
{
    char fifo[PATH_MAX], init[PATH_MAX];
    _cleanup_close_ int console = -1;
    bool wait_for_start = !request->run;

    if (oci_state_validate_id(request->id, err) < 0 ||
        cmd_oci_resolve_bundle(request, created, err) < 0)
        return -1;
    if (request->console_socket &&
        oci_cli_connect_console(request->console_socket, &console, err) < 0)
        return -1;
    if (request->init && cmd_oci_container_init_path(init, sizeof init, err) < 0)
        return -1;
    if (oci_state_create_directory(cli->root, request->id, err) < 0)
        return -1;
    if (cmd_oci_save_config(cli, request->id, created, err) < 0)
        goto undo;
    if (wait_for_start) {
        if (oci_state_path(cli->root, request->id, "exec.fifo", fifo, sizeof fifo, err) < 0)
            goto undo;
        if (mkfifo(fifo, 0622) < 0) {
            keel_error_set(err, errno, "mkfifo %s", fifo);
            goto undo;
        }
    }
    char seccomp_cache[PATH_MAX];
    oci_cli_seccomp_cache(cli, seccomp_cache, sizeof seccomp_cache);
    struct runtime_create_options options = {
        .id = request->id,
        .bundle = created->bundle,
        .rootfs = created->rootfs,
        .config = created->config,
        .exec_fifo = wait_for_start ? fifo : NULL,
        .console_socket = console,
        .stdio = {-1, -1, -1},
        .preserve_fds = request->preserve_fds,
        .container_init = request->init ? init : NULL,
        .seccomp_cache = seccomp_cache,
    };
    if (runtime_container_create(&options, &created->container, err) < 0)
        goto undo;

    cmd_oci_now(created->created, sizeof created->created);
    created->state = (struct oci_state){
        .id = (char *)request->id,
        .bundle = created->bundle,
        .rootfs = created->rootfs,
        .pid = created->container.pid,
        .start_time = oci_state_process_start_time(created->container.pid),
        .created = created->created,
        .cgroup_path = created->container.cgroup_path,
    };
    if (oci_state_write(cli->root, &created->state, err) < 0 ||
        (request->pid_file &&
         oci_cli_write_pid_file(request->pid_file, created->container.pid, err) < 0)) {
        kill(created->container.pid, SIGKILL);
        goto undo;
    }
    return 0;
undo:;
    struct keel_error ignored;
    if (created->container.cgroup_path)
        cgroup_container_remove(created->container.cgroup_path, &ignored);
    oci_state_remove(cli->root, request->id, &ignored);
    return -1;
}

static void cmd_oci_created_release(struct cmd_oci_created *created)
{
    runtime_container_release(&created->container);
    free(created->config_text);
    if (created->config)
        oci_config_free(created->config);
}

static void cmd_oci_poststart(const char *id, const struct cmd_oci_created *created)
{
    const struct oci_hook_list *hooks = &created->config->hooks[OCI_HOOK_POSTSTART];
    if (hooks->count == 0)
        return;
    _cleanup_free_ char *state = NULL;
    struct keel_error err;
    keel_error_clear(&err);
    /* The process runs already: a failed poststart hook is a warning. */
    if (runtime_hook_state(id, "running", created->container.pid, created->bundle, created->config,
                           &state, &err) < 0 ||
        hooks_run(hooks, state, &err) < 0)
        fprintf(stderr, "keel oci: warning: poststart: %s\n", err.message);
}

int cmd_oci_create(const struct oci_cli *cli, int argc, char **argv)
{
    struct cmd_oci_create_request request = {.verb = "create"};
    struct cmd_oci_created created = {0};
    struct keel_error err;
    int usage = cmd_oci_create_parse(argc, argv, &request);
    if (usage != 0)
        return usage;
    keel_error_clear(&err);
    int result = cmd_oci_create_container(cli, &request, &created, &err) < 0
                     ? oci_cli_fail("create", &err, KEEL_EXIT_FAILURE)
                     : 0;
    cmd_oci_created_release(&created);
    return result;
}

/* run: create without the FIFO, then wait and pass the status on. */
int cmd_oci_run(const struct oci_cli *cli, int argc, char **argv)
{
    struct cmd_oci_create_request request = {.verb = "run", .run = true};
    struct cmd_oci_created created = {0};
    struct keel_error err;
    int usage = cmd_oci_create_parse(argc, argv, &request);
    if (usage != 0)
        return usage;
    keel_error_clear(&err);
    if (!request.detach)
        oci_cli_block_forwarded_signals();
    if (cmd_oci_create_container(cli, &request, &created, &err) < 0) {
        cmd_oci_created_release(&created);
        return oci_cli_fail("run", &err, KEEL_EXIT_FAILURE);
    }
    cmd_oci_poststart(request.id, &created);
    if (request.detach) {
        cmd_oci_created_release(&created);
        return 0;
    }
    int status = oci_cli_wait_forwarding(created.container.pid, created.container.pidfd, &err);
    if (status < 0)
        oci_cli_fail("run", &err, 0);
    bool oom_killed = false;
    if (created.container.cgroup_path &&
        cgroup_container_oom_killed(created.container.cgroup_path, &oom_killed, &err) == 0 &&
        oom_killed)
        fprintf(stderr, "keel oci run: container \"%s\" was killed for lack of memory (OOM)\n",
                request.id);
    if (!request.keep) {
        struct oci_cli_container container = {
            .state = &created.state,
            .config = created.config,
            .status = OCI_STATUS_STOPPED,
        };
        if (oci_cli_destroy(cli, &container, true, &err) < 0)
            oci_cli_fail("run", &err, 0);
    } else if (oom_killed) {
        created.state.oom_killed = true;
        oci_state_write(cli->root, &created.state, &err);
    }
    cmd_oci_created_release(&created);
    return status < 0 ? KEEL_EXIT_FAILURE : status;
}
