/* cmd_oci.c — `keel oci`: the runc-compatible command line; global options, then one verb. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "oci_cli.h"

static const char cmd_oci_usage_text[] =
    "usage: keel oci [--root DIR] COMMAND [OPTIONS] ID\n"
    "\n"
    "An OCI runtime with runc's command line, over OCI bundles.\n"
    "\n"
    "commands:\n"
    "  create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--init] ID\n"
    "  start ID                     run the created container's process\n"
    "  run [create's options] [--detach] [--keep] ID\n"
    "                               create, start, wait; exit with the process's status\n"
    "  state ID                     the runtime-spec state JSON\n"
    "  list [--format table|json] [--quiet]\n"
    "  kill [--all] ID [SIGNAL]     default SIGTERM\n"
    "  delete [--force] ID\n"
    "  exec [--process FILE | OPTIONS ID COMMAND [ARGS...]]\n"
    "  spec [--bundle DIR]          write a config.json with Keel's defaults\n"
    "\n"
    "global options:\n"
    "  --root DIR    state directory (default " OCI_STATE_DEFAULT_ROOT ")\n"
    "  --log F, --log-format F, --debug, --systemd-cgroup   accepted for runc compatibility\n";

struct cmd_oci_verb {
    const char *name;
    int (*run)(const struct oci_cli *cli, int argc, char **argv);
};

static const struct cmd_oci_verb cmd_oci_verbs[] = {
    {"create", cmd_oci_create}, {"run", cmd_oci_run},       {"start", cmd_oci_start},
    {"state", cmd_oci_state},   {"list", cmd_oci_list},     {"ps", NULL},
    {"kill", cmd_oci_kill},     {"delete", cmd_oci_delete}, {"exec", cmd_oci_exec},
    {"spec", cmd_oci_spec},
};

int cmd_oci(int argc, char **argv)
{
    struct oci_cli cli = {.root = OCI_STATE_DEFAULT_ROOT};
    static const struct option options[] = {
        {"root", required_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"debug", no_argument, NULL, 'd'},
        {"systemd-cgroup", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int option;
    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (option) {
        case 'r':
            cli.root = optarg;
            break;
        case 'l':
        case 'f':
        case 'd':
            break;
        case 's':
            fputs("keel oci: --systemd-cgroup: systemd cgroup paths are not supported\n", stderr);
            return KEEL_EXIT_USAGE;
        case 'h':
            fputs(cmd_oci_usage_text, stdout);
            return 0;
        default:
            fprintf(stderr, "keel oci: unknown option %s\n%s", argv[optind - 1],
                    cmd_oci_usage_text);
            return KEEL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(cmd_oci_usage_text, stderr);
        return KEEL_EXIT_USAGE;
    }
    const char *verb = argv[optind];
    for (size_t i = 0; i < sizeof cmd_oci_verbs / sizeof cmd_oci_verbs[0]; i++) {
        if (strcmp(verb, cmd_oci_verbs[i].name) != 0)
            continue;
        if (cmd_oci_verbs[i].run == NULL)
            break;
        /* Each verb parses its own options from its name on; optind 0
         * makes glibc's getopt start afresh. */
        int verb_index = optind;
        optind = 0;
        return cmd_oci_verbs[i].run(&cli, argc - verb_index, argv + verb_index);
    }
    fprintf(stderr, "keel oci: unknown command \"%s\" (try: keel oci --help)\n", verb);
    return KEEL_EXIT_USAGE;
}
