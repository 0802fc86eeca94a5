/* cmd_image.c — `keel image`: store options, opening the stores, error lines, dispatch. */
#include "cmd_image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static const char cmd_image_usage_text[] =
    "usage: keel image [--root DIR] [--base DIR] COMMAND [ARGS]\n"
    "\n"
    "The image store: OCI and docker-archive images, unpacked layers, container root "
    "filesystems.\n"
    "\n"
    "commands:\n"
    "  load [-i FILE] [--name NAME] [-q]   load an archive from FILE or stdin\n"
    "  ls [-q] [--no-trunc] [--format json]\n"
    "                                      list the images (alias: list)\n"
    "  inspect REF...                      the images' details, as JSON\n"
    "  rm REF...                           remove names, then what nothing uses (alias: rmi)\n"
    "  save [-o FILE] [--format oci|docker] REF...\n"
    "                                      write an archive of the images to FILE or stdout\n"
    "  prune                               remove the blobs and layers nothing uses\n"
    "  mount IMAGE DIR                     a read-only view of the image's layers at DIR\n"
    "  mount --container ID IMAGE          a container's writable root filesystem; prints "
    "its path\n"
    "  umount DIR | umount --container ID  undo a mount\n"
    "\n"
    "options (before or after COMMAND):\n"
    "  --root DIR   the writable store (default: $KEEL_IMAGE_ROOT, else " IMAGE_CLI_DEFAULT_ROOT
    ")\n"
    "  --base DIR   a read-only store underneath (default: $KEEL_IMAGE_BASE, else none)\n";

int image_cli_usage(const char *command, const char *usage, const char *format, ...)
{
    va_list args;
    fprintf(stderr, "keel image %s: ", command);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nusage: keel image %s\n", usage);
    return KEEL_EXIT_USAGE;
}

int image_cli_fail(const char *command, const struct keel_error *err, int code)
{
    fprintf(stderr, "keel image %s: %s\n", command, err->message);
    return code;
}

/* The option getopt_long just refused, as the user wrote it. */
static const char *image_cli_bad_option(char **argv, char *buffer, size_t size)
{
    if (optopt > 0 && optopt < 0x100) {
        snprintf(buffer, size, "-%c", optopt);
        return buffer;
    }
    return argv[optind - 1];
}

int image_cli_option(struct image_cli *cli, int option, const char *command, const char *usage,
                     char **argv)
{
    char buffer[8];
    switch (option) {
    case IMAGE_CLI_OPTION_ROOT:
        cli->root = optarg;
        return -1;
    case IMAGE_CLI_OPTION_BASE:
        cli->base = *optarg ? optarg : NULL; /* --base "": none, whatever the environment says */
        return -1;
    case 'h':
        printf("usage: keel image %s\n", usage);
        return 0;
    case ':':
        return image_cli_usage(command, usage, "option %s needs an argument",
                               image_cli_bad_option(argv, buffer, sizeof buffer));
    default:
        return image_cli_usage(command, usage, "unknown option %s",
                               image_cli_bad_option(argv, buffer, sizeof buffer));
    }
}

int image_cli_open(const struct image_cli *cli, struct store *store, bool writable,
                   struct keel_error *err)
{
    return store_open(store, cli->root, cli->base, writable ? 0 : STORE_OPEN_READ_ONLY, err);
}

static const char *image_cli_environment(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

struct cmd_image_command {
    const char *name;
    int (*run)(struct image_cli *cli, int argc, char **argv);
};

static const struct cmd_image_command cmd_image_commands[] = {
    {"load", cmd_image_load},       {"ls", cmd_image_list},     {"list", cmd_image_list},
    {"inspect", cmd_image_inspect}, {"rm", cmd_image_remove},   {"rmi", cmd_image_remove},
    {"save", cmd_image_save},       {"prune", cmd_image_prune}, {"mount", cmd_image_mount},
    {"umount", cmd_image_umount},
};

int cmd_image(int argc, char **argv)
{
    struct image_cli cli = {
        .root = image_cli_environment("KEEL_IMAGE_ROOT", IMAGE_CLI_DEFAULT_ROOT),
        .base = image_cli_environment("KEEL_IMAGE_BASE", NULL),
    };
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int option;
    optind = 0;
    opterr = 0;
    /* "+": stop at COMMAND; what follows it is the command's to parse. */
    while ((option = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
        char buffer[8];
        switch (option) {
        case IMAGE_CLI_OPTION_ROOT:
            cli.root = optarg;
            break;
        case IMAGE_CLI_OPTION_BASE:
            cli.base = *optarg ? optarg : NULL;
            break;
        case 'h':
            fputs(cmd_image_usage_text, stdout);
            return 0;
        default:
            fprintf(stderr, "keel image: %s %s\n%s",
                    option == ':' ? "missing argument to" : "unknown option",
                    image_cli_bad_option(argv, buffer, sizeof buffer), cmd_image_usage_text);
            return KEEL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(cmd_image_usage_text, stderr);
        return KEEL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof cmd_image_commands / sizeof cmd_image_commands[0]; i++) {
        if (strcmp(name, cmd_image_commands[i].name) != 0)
            continue;
        /* The command parses its arguments from its name on; optind 0
         * makes glibc's getopt start afresh. */
        int command_index = optind;
        optind = 0;
        return cmd_image_commands[i].run(&cli, argc - command_index, argv + command_index);
    }
    fprintf(stderr, "keel image: unknown command \"%s\" (try: keel image --help)\n", name);
    return KEEL_EXIT_USAGE;
}
