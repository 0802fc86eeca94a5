/* cmd_image.h — what the `keel image` commands share: store options, errors, human units. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "store.h"

#define IMAGE_CLI_DEFAULT_ROOT "/var/lib/keel/user"

/* The stores a command works on: --root, --base (or their defaults). */
struct image_cli {
    const char *root;
    const char *base;
};

/* getopt_long values of the options every command accepts, before or after its name. */
#define IMAGE_CLI_OPTION_ROOT 0x100
#define IMAGE_CLI_OPTION_BASE 0x101
#define IMAGE_CLI_COMMON_OPTIONS                                                                   \
    {"root", required_argument, NULL, IMAGE_CLI_OPTION_ROOT},                                      \
        {"base", required_argument, NULL, IMAGE_CLI_OPTION_BASE},                                  \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* Handle an option a command's own switch does not: --root, --base,
 * --help (its usage on stdout), or a bad one (its usage on stderr).
 * Returns -1 when parsing goes on, else the exit code to return. */
int image_cli_option(struct image_cli *cli, int option, const char *command, const char *usage,
                     char **argv);
/* "keel image COMMAND: MESSAGE" and "usage: keel image USAGE" on stderr;
 * returns KEEL_EXIT_USAGE. */
int image_cli_usage(const char *command, const char *usage, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* "keel image COMMAND: MESSAGE" on stderr; returns code. */
int image_cli_fail(const char *command, const struct keel_error *err, int code);

/* Open the stores: writable creates the root's layout (load, rm, prune,
 * mounting a container); otherwise nothing is written and a root that does
 * not exist yet is an empty store. */
int image_cli_open(const struct image_cli *cli, struct store *store, bool writable,
                   struct keel_error *err);

/* Docker's human sizes: base 1000, three significant digits ("4.19MB",
 * "512B", "1.2GB"). */
void image_cli_format_size(uint64_t bytes, char *text, size_t size);
/* An RFC 3339 time ("2024-05-01T12:00:00.5+02:00") in seconds since the epoch. */
bool image_cli_parse_time(const char *text, time_t *seconds);
/* How long ago, as `docker images` says it ("About an hour ago", "3 days
 * ago"); "N/A" when created is NULL or unreadable. */
void image_cli_format_created(const char *created, time_t now, char *text, size_t size);

int cmd_image_load(struct image_cli *cli, int argc, char **argv);
int cmd_image_list(struct image_cli *cli, int argc, char **argv);
int cmd_image_inspect(struct image_cli *cli, int argc, char **argv);
int cmd_image_remove(struct image_cli *cli, int argc, char **argv);
int cmd_image_save(struct image_cli *cli, int argc, char **argv);
int cmd_image_prune(struct image_cli *cli, int argc, char **argv);
int cmd_image_mount(struct image_cli *cli, int argc, char **argv);
int cmd_image_umount(struct image_cli *cli, int argc, char **argv);
