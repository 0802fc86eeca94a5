/* main.c — the keel binary's entry: picks the verb from argv and hands over to cmd_<verb>. */
#include <stdbool.h>
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
          "engine:\n"
          "  init       run as PID 1: set up the system, supervise, reap, shut down\n"
          "  daemon     serve the Docker Engine API on /run/keel.sock (keel daemon --help)\n"
          "  oci        an OCI runtime with runc's command line (keel oci --help)\n"
          "  image      the image store: load, ls, inspect, rm, save, prune, mount (keel image "
          "--help)\n"
          "  help       print this help\n"
          "\n"
          "client (docker's verbs and flags, over the engine's API; -H unix:///PATH or\n"
          "KEEL_HOST picks the engine, system-keel as argv[0] the system engine):\n"
          "  run create start ps logs stop kill rm restart exec inspect wait attach\n"
          "  images load rmi info version\n",
          stream);
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
    {"init", cmd_init}, {"daemon", cmd_daemon}, {"oci", cmd_oci}, {"image", cmd_image},
    {"help", cmd_help}, {"--help", cmd_help},   {"-h", cmd_help},
};

/* The client's verbs, handed to cmd_client with argv as it is. */
static const char *const main_client_verbs[] = {
    "run",     "create", "start",  "ps",     "logs", "stop", "kill", "rm",      "restart",   "exec",
    "inspect", "wait",   "attach", "images", "load", "rmi",  "info", "version", "--version", NULL,
};

static bool main_is_client(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strcmp(base, "system-keel") == 0 && !(argc >= 2 && strcmp(argv[1], "daemon") == 0))
        return true;
    if (argc < 2)
        return false;
    if (strcmp(argv[1], "-H") == 0 || strncmp(argv[1], "--host", 6) == 0)
        return true;
    for (size_t i = 0; main_client_verbs[i]; i++)
        if (strcmp(argv[1], main_client_verbs[i]) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (main_is_client(argc, argv))
        return cmd_client(argc, argv);
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
