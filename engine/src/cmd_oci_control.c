/* cmd_oci_control.c — `keel oci start`, `kill` and `delete`: moving a container through its
 * lifecycle. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "file.h"
#include "hooks.h"
#include "oci_cli.h"
#include "runtime.h"

int cmd_oci_start(const struct oci_cli *cli, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return oci_cli_usage("start", "start ID");
    struct oci_cli_container container;
    struct keel_error err;
    char fifo[PATH_MAX];
    keel_error_clear(&err);
    if (oci_cli_load(cli, argv[1], &container, &err) < 0)
        return oci_cli_fail("start", &err, KEEL_EXIT_FAILURE);
    int result = 0;
    if (container.status != OCI_STATUS_CREATED) {
        keel_error_invalid(&err, "container \"%s\" is %s, not created", argv[1],
                           oci_status_name(container.status));
        result = oci_cli_fail("start", &err, KEEL_EXIT_FAILURE);
    } else if (oci_state_path(cli->root, argv[1], "exec.fifo", fifo, sizeof fifo, &err) < 0 ||
               runtime_container_start(fifo, &err) < 0) {
        result = oci_cli_fail("start", &err, KEEL_EXIT_FAILURE);
    } else if (container.config->hooks[OCI_HOOK_POSTSTART].count > 0) {
        _cleanup_free_ char *state = NULL;
        if (runtime_hook_state(argv[1], "running", container.state->pid, container.state->bundle,
                               container.config, &state, &err) < 0 ||
            hooks_run(&container.config->hooks[OCI_HOOK_POSTSTART], state, &err) < 0)
            fprintf(stderr, "keel oci start: warning: poststart: %s\n", err.message);
    }
    oci_cli_release(&container);
    return result;
}

/* Signal every process of the container's cgroup (kill --all). */
static int cmd_oci_kill_all(const char *cgroup_path, int signal_number, struct keel_error *err)
{
    char path[PATH_MAX];
    _cleanup_free_ char *text = NULL;
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroup_path);
    if (file_read_text(path, &text, NULL, err) < 0)
        return -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        kill((pid_t)atoi(line), signal_number);
    return 0;
}

int cmd_oci_kill(const struct oci_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    const char *usage = "kill [--all] ID [SIGNAL]";
    bool all = false;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+a", options, NULL)) != -1) {
        if (option != 'a')
            return oci_cli_usage("kill", usage);
        all = true;
    }
    if (optind != argc - 1 && optind != argc - 2)
        return oci_cli_usage("kill", usage);
    const char *id = argv[optind];
    int signal_number = optind == argc - 2 ? oci_cli_parse_signal(argv[optind + 1]) : SIGTERM;
    struct keel_error err;
    keel_error_clear(&err);
    if (signal_number < 0) {
        keel_error_invalid(&err, "unknown signal \"%s\"", argv[optind + 1]);
        return oci_cli_fail("kill", &err, KEEL_EXIT_USAGE);
    }
    struct oci_cli_container container;
    if (oci_cli_load(cli, id, &container, &err) < 0)
        return oci_cli_fail("kill", &err, KEEL_EXIT_FAILURE);
    int result = 0;
    if (container.status != OCI_STATUS_CREATED && container.status != OCI_STATUS_RUNNING) {
        keel_error_invalid(&err, "container \"%s\" is not running", id);
        result = oci_cli_fail("kill", &err, KEEL_EXIT_FAILURE);
    } else if (all && container.state->cgroup_path) {
        if (cmd_oci_kill_all(container.state->cgroup_path, signal_number, &err) < 0)
            result = oci_cli_fail("kill", &err, KEEL_EXIT_FAILURE);
    } else {
        /* Open the pidfd first, then check the start time: from then on the
         * pid cannot be recycled under us. */
        _cleanup_close_ int pidfd = pidfd_open(container.state->pid, 0);
        if (pidfd < 0 ||
            oci_state_process_start_time(container.state->pid) != container.state->start_time) {
            keel_error_invalid(&err, "container \"%s\" is not running", id);
            result = oci_cli_fail("kill", &err, KEEL_EXIT_FAILURE);
        } else if (pidfd_send_signal(pidfd, signal_number, NULL, 0) < 0) {
            keel_error_set(&err, errno, "signal %d to container \"%s\"", signal_number, id);
            result = oci_cli_fail("kill", &err, KEEL_EXIT_FAILURE);
        }
    }
    oci_cli_release(&container);
    return result;
}

int cmd_oci_delete(const struct oci_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool force = false;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
        if (option != 'f')
            return oci_cli_usage("delete", "delete [--force] ID");
        force = true;
    }
    if (optind != argc - 1)
        return oci_cli_usage("delete", "delete [--force] ID");
    struct oci_cli_container container;
    struct keel_error err;
    keel_error_clear(&err);
    if (oci_cli_load(cli, argv[optind], &container, &err) < 0) {
        /* --force on a container that is not there is not an error (runc). */
        if (force && err.errno_value == ENOENT)
            return 0;
        return oci_cli_fail("delete", &err, KEEL_EXIT_FAILURE);
    }
    int result = oci_cli_destroy(cli, &container, force, &err) < 0
                     ? oci_cli_fail("delete", &err, KEEL_EXIT_FAILURE)
                     : 0;
    oci_cli_release(&container);
    return result;
}
