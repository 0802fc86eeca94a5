/* main.c — the keel binary's entry: picks the verb from argv and hands over to cmd_<verb>. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

static void main_print_usage(FILE *stream)
{
    fputs("usage: keel COMMAND [ARGS...]\n"
          "\n"
          "Keel's engine: init (PID 1) and container engine in one binary.\n"
          "\n"
          "commands:\n"
          "  init       run as PID 1: set up the system, supervise, reap, shut down\n"
          "  oci        an OCI runtime with runc's command line (keel oci --help)\n"
          "  image      the image store: load, ls, inspect, rm, save, prune, mount (keel image "
          "--help)\n"
          "  version    print the version\n"
          "  help       print this help\n",
          stream);
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("keel %s\n", KEEL_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    main_print_usage(stdout);
    return 0;
}

struct main_command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct main_command main_commands[] = {
    {"init", cmd_init},         {"oci", cmd_oci},   {"image", cmd_image}, {"version", cmd_version},
    {"--version", cmd_version}, {"help", cmd_help}, {"--help", cmd_help}, {"-h", cmd_help},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_print_usage(stderr);
        return KEEL_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++)
        if (strcmp(argv[1], main_commands[i].name) == 0)
            return main_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "keel: unknown command \"%s\" (try: keel help)\n", argv[1]);
    return KEEL_EXIT_USAGE;
}
