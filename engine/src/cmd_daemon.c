/* cmd_daemon.c — `keel daemon`: an engine serving the Docker Engine API on a unix socket, on one
 * event loop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "commands.h"
#include "engine.h"
#include "error.h"
#include "http_client.h"
#include "loop.h"
#include "reap.h"

#define DAEMON_STOP_TIMEOUT_S 10

struct daemon {
    struct loop *loop;
    struct engine *engine;
    struct api *api;
    const char *name;
    bool debug;
    bool stopping;
};

static void daemon_report(const struct keel_error *err, void *user)
{
    const struct daemon *daemon = user;
    fprintf(stderr, "%s daemon: %s\n", daemon->name, err->message);
}

static void daemon_on_reaped(pid_t pid, int code, int status, void *user)
{
    struct daemon *daemon = user;
    /* Back to waitpid(2)'s encoding, which engine_handle_exit takes. */
    int wait_status = code == CLD_EXITED ? (status & 0xff) << 8
                                         : (status & 0x7f) | (code == CLD_DUMPED ? 0x80 : 0);
    if (!engine_handle_exit(daemon->engine, pid, wait_status) && daemon->debug)
        fprintf(stderr, "%s daemon: reaped pid %d\n", daemon->name, (int)pid);
}

static void daemon_on_stopped(void *data)
{
    struct daemon *daemon = data;
    loop_stop(daemon->loop);
}

static int daemon_on_signal(struct loop *loop, int fd, uint32_t events, void *user,
                            struct keel_error *err)
{
    struct daemon *daemon = user;
    (void)loop;
    (void)events;
    for (;;) {
        struct signalfd_siginfo info;
        ssize_t n = read(fd, &info, sizeof info);
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n != (ssize_t)sizeof info)
            return keel_error_set(err, n < 0 ? errno : EIO, "read signalfd");
        if (info.ssi_signo == SIGCHLD) {
            reap_children(daemon_on_reaped, daemon);
            continue;
        }
        if (daemon->stopping)
            continue;
        daemon->stopping = true;
        fprintf(stderr, "%s daemon: SIG%s: stopping containers, then exiting\n", daemon->name,
                sigabbrev_np((int)info.ssi_signo));
        api_free(daemon->api); /* no new requests while stopping */
        daemon->api = NULL;
        struct keel_error stop_err;
        if (engine_shutdown(daemon->engine, DAEMON_STOP_TIMEOUT_S, daemon_on_stopped, daemon,
                            &stop_err) < 0) {
            daemon_report(&stop_err, daemon);
            loop_stop(daemon->loop);
        }
    }
}

static void daemon_usage(FILE *stream, const char *name)
{
    fprintf(stream,
            "usage: %s daemon [-H|--host unix:///PATH] [--root DIR] [--base DIR] [--group GROUP] "
            "[--system] "
            "[--debug]\n"
            "\n"
            "An engine serving the Docker Engine API %s on a unix socket.\n"
            "  -H, --host    the socket (default unix://%s; --system: unix://%s)\n"
            "  --root DIR    images and containers (default /var/lib/keel/user; --system: "
            "/var/lib/keel/system)\n"
            "  --base DIR    a read-only image store below --root (default: none)\n"
            "  --group NAME  the socket's group (mode 0660); default: root's\n",
            name, API_VERSION, HTTP_CLIENT_USER_SOCKET, HTTP_CLIENT_SYSTEM_SOCKET);
}

/* A group by number, or by name from /etc/group. Not getgrnam(3): a static
 * binary's NSS would need glibc's shared modules at run time. */
static int daemon_parse_group(const char *text, gid_t *gid)
{
    char *end;
    errno = 0;
    unsigned long number = strtoul(text, &end, 10);
    if (errno == 0 && *end == '\0' && end != text && number < UINT_MAX) {
        *gid = (gid_t)number;
        return 0;
    }
    FILE *groups = fopen("/etc/group", "re");
    if (groups == NULL)
        return -1;
    char line[1024];
    size_t length = strlen(text);
    int result = -1;
    while (result < 0 && fgets(line, sizeof line, groups)) {
        /* name:password:gid:members */
        char *password = strchr(line, ':');
        char *id = password ? strchr(password + 1, ':') : NULL;
        if (id == NULL || (size_t)(password - line) != length || strncmp(line, text, length) != 0)
            continue;
        errno = 0;
        number = strtoul(id + 1, &end, 10);
        if (errno == 0 && end != id + 1 && *end == ':' && number < UINT_MAX) {
            *gid = (gid_t)number;
            result = 0;
        }
    }
    fclose(groups);
    return result;
}

int cmd_daemon(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'}, {"root", required_argument, NULL, 'r'},
        {"base", required_argument, NULL, 'b'}, {"group", required_argument, NULL, 'g'},
        {"system", no_argument, NULL, 's'},     {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    static const int signals[] = {SIGCHLD, SIGTERM, SIGINT};
    const char *base_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    bool system = strcmp(base_name, "system-keel") == 0;
    const char *host = NULL, *root = NULL, *base = NULL, *group = NULL;
    bool debug = false;

    optind = 1;
    for (int option; (option = getopt_long(argc, argv, "H:h", options, NULL)) != -1;) {
        switch (option) {
        case 'H':
            host = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 's':
            system = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'h':
            daemon_usage(stdout, "keel");
            return 0;
        default:
            daemon_usage(stderr, "keel");
            return KEEL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "keel daemon: unexpected argument \"%s\"\n", argv[optind]);
        daemon_usage(stderr, "keel");
        return KEEL_EXIT_USAGE;
    }

    struct daemon daemon = {.name = system ? "system-keel" : "keel", .debug = debug};
    struct keel_error err;
    _cleanup_free_ char *socket_path = NULL;
    if (http_client_parse_host(host     ? host
                               : system ? "unix://" HTTP_CLIENT_SYSTEM_SOCKET
                                        : "unix://" HTTP_CLIENT_USER_SOCKET,
                               &socket_path, &err) < 0) {
        fprintf(stderr, "keel daemon: %s\n", err.message);
        return KEEL_EXIT_USAGE;
    }
    gid_t socket_group = (gid_t)-1;
    if (group && daemon_parse_group(group, &socket_group) < 0) {
        fprintf(stderr, "keel daemon: unknown group \"%s\"\n", group);
        return KEEL_EXIT_USAGE;
    }
    if (root == NULL)
        root = system ? "/var/lib/keel/system" : "/var/lib/keel/user";
    if (root[0] != '/') {
        fprintf(stderr, "keel daemon: --root must be an absolute path, not \"%s\"\n", root);
        return KEEL_EXIT_USAGE;
    }
    _cleanup_free_ char *state_root = NULL, *runtime_root = NULL, *cgroup_parent = NULL,
                        *init_path = NULL;
    if (asprintf(&state_root, "%s/engine", root) < 0 ||
        asprintf(&runtime_root, "/run/keel/%s", daemon.name) < 0 ||
        asprintf(&cgroup_parent, "keel/%s", daemon.name) < 0) {
        fprintf(stderr, "keel daemon: out of memory\n");
        return KEEL_EXIT_FAILURE;
    }
    /* container-init sits beside the binary, at ../libexec/keel/, as keel oci --init finds it. */
    char self[PATH_MAX];
    ssize_t self_length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (self_length > 0) {
        self[self_length] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if (asprintf(&init_path, "%s/../libexec/keel/container-init", self) < 0)
                init_path = NULL;
        }
    }
    const char *container_init = getenv("KEEL_CONTAINER_INIT");
    if (container_init == NULL && init_path && access(init_path, X_OK) == 0)
        container_init = init_path;

    /* Containers' processes are the daemon's children; orphans inside a
     * container with --pid host would otherwise go to PID 1. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        fprintf(stderr, "keel daemon: cannot become a subreaper: %s\n", strerror(errno));
    umask(022);

    if (loop_new(&daemon.loop, &err) < 0 ||
        loop_add_signals(daemon.loop, signals, (int)(sizeof signals / sizeof signals[0]),
                         daemon_on_signal, &daemon, &err) < 0) {
        fprintf(stderr, "keel daemon: %s\n", err.message);
        return KEEL_EXIT_FAILURE;
    }
    loop_set_error_handler(daemon.loop, daemon_report, &daemon);
    signal(SIGPIPE, SIG_IGN); /* a client that goes away is an EPIPE, never a death */

    struct engine_options engine_options = {
        .name = daemon.name,
        .store_root = root,
        .store_base = base,
        .state_root = state_root,
        .runtime_root = runtime_root,
        .container_init = container_init,
        .cgroup_parent = cgroup_parent,
    };
    if (engine_new(daemon.loop, &engine_options, &daemon.engine, &err) < 0) {
        fprintf(stderr, "keel daemon: %s\n", err.message);
        loop_free(daemon.loop);
        return KEEL_EXIT_FAILURE;
    }
    if (api_new(daemon.loop, daemon.engine, socket_path, socket_group, &daemon.api, &err) < 0) {
        fprintf(stderr, "keel daemon: %s\n", err.message);
        engine_free(daemon.engine);
        loop_free(daemon.loop);
        return KEEL_EXIT_FAILURE;
    }
    fprintf(stderr, "%s daemon: serving API %s on %s\n", daemon.name, API_VERSION, socket_path);

    int status = 0;
    if (loop_run(daemon.loop, &err) < 0) {
        fprintf(stderr, "keel daemon: %s\n", err.message);
        status = KEEL_EXIT_FAILURE;
    }
    api_free(daemon.api);
    engine_free(daemon.engine);
    loop_free(daemon.loop);
    return status;
}
