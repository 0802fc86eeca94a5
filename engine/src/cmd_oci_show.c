/* cmd_oci_show.c — `keel oci state`, `list` and `spec`: what the runtime knows, printed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cgroup_container.h"
#include "cleanup.h"
#include "commands.h"
#include "oci_cli.h"
#include "oci_spec.h"

/* A stopped container's cgroup still tells whether the kernel OOM-killed it. */
static void cmd_oci_note_oom(struct oci_cli_container *container)
{
    bool killed = false;
    struct keel_error ignored;
    if (container->status == OCI_STATUS_STOPPED && container->state->cgroup_path &&
        cgroup_container_oom_killed(container->state->cgroup_path, &killed, &ignored) == 0 &&
        killed)
        container->state->oom_killed = true;
}

int cmd_oci_state(const struct oci_cli *cli, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return oci_cli_usage("state", "state ID");
    struct oci_cli_container container;
    struct keel_error err;
    _cleanup_free_ char *text = NULL;
    keel_error_clear(&err);
    if (oci_cli_load(cli, argv[1], &container, &err) < 0)
        return oci_cli_fail("state", &err, KEEL_EXIT_FAILURE);
    cmd_oci_note_oom(&container);
    int result = 0;
    if (oci_state_format(container.state, container.status, &text, &err) < 0)
        result = oci_cli_fail("state", &err, KEEL_EXIT_FAILURE);
    else
        printf("%s\n", text);
    oci_cli_release(&container);
    return result;
}

static void cmd_oci_list_free(char **ids)
{
    for (size_t i = 0; ids && ids[i]; i++)
        free(ids[i]);
    free(ids);
}

int cmd_oci_list(const struct oci_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"format", required_argument, NULL, 'f'},
                                            {"quiet", no_argument, NULL, 'q'},
                                            {NULL, 0, NULL, 0}};
    const char *usage = "list [--format table|json] [--quiet]";
    bool json = false, quiet = false;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+f:q", options, NULL)) != -1) {
        if (option == 'q')
            quiet = true;
        else if (option == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
            json = strcmp(optarg, "json") == 0;
        else
            return oci_cli_usage("list", usage);
    }
    if (optind != argc)
        return oci_cli_usage("list", usage);
    struct keel_error err;
    char **ids = NULL;
    keel_error_clear(&err);
    if (oci_state_list(cli->root, &ids, &err) < 0) {
        if (err.errno_value != ENOENT)
            return oci_cli_fail("list", &err, KEEL_EXIT_FAILURE);
        ids = NULL; /* no root yet: no containers */
    }
    if (!json && !quiet)
        printf("%-24s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    if (json)
        fputs("[", stdout);
    for (size_t i = 0; ids && ids[i]; i++) {
        struct oci_state *state = NULL;
        if (oci_state_read(cli->root, ids[i], &state, &err) < 0) {
            fprintf(stderr, "keel oci list: %s\n", err.message);
            continue;
        }
        enum oci_status status = oci_state_status(cli->root, state);
        if (quiet) {
            printf("%s\n", state->id);
        } else if (json) {
            _cleanup_free_ char *text = NULL;
            if (oci_state_format(state, status, &text, &err) == 0) {
                json_t *object = json_loads(text, 0, NULL);
                _cleanup_free_ char *compact = object ? json_dumps(object, JSON_COMPACT) : NULL;
                printf("%s%s", i ? "," : "", compact ? compact : text);
                json_decref(object);
            }
        } else {
            printf("%-24s %-8d %-8s %-40s %s\n", state->id,
                   status == OCI_STATUS_STOPPED ? 0 : (int)state->pid, oci_status_name(status),
                   state->bundle, state->created ? state->created : "");
        }
        oci_state_free(state);
    }
    if (json)
        puts("]");
    cmd_oci_list_free(ids);
    return 0;
}

int cmd_oci_spec(const struct oci_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"bundle", required_argument, NULL, 'b'},
                                            {"rootless", no_argument, NULL, 'r'},
                                            {NULL, 0, NULL, 0}};
    const char *bundle = ".";
    int option;
    (void)cli;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+b:", options, NULL)) != -1) {
        if (option == 'b')
            bundle = optarg;
        else if (option == 'r') {
            fputs("keel oci spec: --rootless: not supported\n", stderr);
            return KEEL_EXIT_USAGE;
        } else
            return oci_cli_usage("spec", "spec [--bundle DIR]");
    }
    if (optind != argc)
        return oci_cli_usage("spec", "spec [--bundle DIR]");
    struct keel_error err;
    keel_error_clear(&err);
    if (oci_spec_write(bundle, &err) < 0)
        return oci_cli_fail("spec", &err, KEEL_EXIT_FAILURE);
    return 0;
}
