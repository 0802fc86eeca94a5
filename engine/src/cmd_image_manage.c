/* cmd_image_manage.c — `keel image rm`, `prune` and `save`: removing and writing out images. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_image.h"
#include "commands.h"
#include "image.h"
#include "image_export.h"

/* "N blobs, M layers (X.YMB)" */
static void manage_print_stats(const char *prefix, const struct image_prune_stats *stats)
{
    char size[16];
    image_cli_format_size(stats->bytes_removed, size, sizeof size);
    printf("%s %zu blobs, %zu layers (%s)\n", prefix, stats->blobs_removed, stats->layers_removed,
           size);
}

/* Parse a command that has only the common options. Returns the index of
 * its first argument, or -1 - CODE when the command must exit with CODE. */
static int manage_parse_plain(struct image_cli *cli, int argc, char **argv, const char *command,
                              const char *usage)
{
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int code = image_cli_option(cli, option, command, usage, argv);
        if (code >= 0)
            return -1 - code;
    }
    return optind;
}

int cmd_image_remove(struct image_cli *cli, int argc, char **argv)
{
    static const char usage[] = "rm REF...";
    int first = manage_parse_plain(cli, argc, argv, "rm", usage);
    if (first < 0)
        return -1 - first;
    if (first >= argc)
        return image_cli_usage("rm", usage, "no image named");

    struct keel_error err;
    struct store store;
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, true, &err) < 0)
        return image_cli_fail("rm", &err, KEEL_EXIT_FAILURE);
    struct image_prune_stats total = {0};
    bool removed_any = false;
    int code = 0;
    for (int i = first; i < argc; i++) {
        struct image_prune_stats stats;
        char **removed = NULL;
        if (image_remove(&store, argv[i], &removed, &stats, &err) < 0) {
            int failure = err.errno_value == ENOENT && strstr(err.message, "no such image")
                              ? 1
                              : KEEL_EXIT_FAILURE;
            image_cli_fail("rm", &err, failure);
            if (failure > code)
                code = failure;
            continue;
        }
        for (size_t j = 0; removed && removed[j]; j++) {
            printf("Untagged: %s\n", removed[j]);
            free(removed[j]);
        }
        free(removed);
        removed_any = true;
        total.blobs_removed += stats.blobs_removed;
        total.layers_removed += stats.layers_removed;
        total.bytes_removed += stats.bytes_removed;
    }
    store_close(&store);
    if (removed_any)
        manage_print_stats("Deleted:", &total);
    return code;
}

int cmd_image_prune(struct image_cli *cli, int argc, char **argv)
{
    static const char usage[] = "prune";
    int first = manage_parse_plain(cli, argc, argv, "prune", usage);
    if (first < 0)
        return -1 - first;
    if (first != argc)
        return image_cli_usage("prune", usage, "unexpected argument \"%s\"", argv[first]);

    struct keel_error err;
    struct store store;
    struct image_prune_stats stats = {0};
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, true, &err) < 0)
        return image_cli_fail("prune", &err, KEEL_EXIT_FAILURE);
    int result = image_prune(&store, &stats, &err);
    store_close(&store);
    if (result < 0)
        return image_cli_fail("prune", &err, KEEL_EXIT_FAILURE);
    manage_print_stats("Deleted", &stats);
    return 0;
}

/* The hidden temporary beside path: "DIR/.NAME.tmp-PID". */
static int save_temporary_path(const char *path, char **temporary, char **directory,
                               struct keel_error *err)
{
    _cleanup_free_ char *for_dirname = strdup(path);
    _cleanup_free_ char *for_basename = strdup(path);
    if (for_dirname == NULL || for_basename == NULL)
        return keel_error_set(err, ENOMEM, "write %s", path);
    const char *parent = dirname(for_dirname);
    const char *name = basename(for_basename);
    if (asprintf(temporary, "%s/.%s.tmp-%d", parent, name, (int)getpid()) < 0)
        return keel_error_set(err, ENOMEM, "write %s", path);
    if ((*directory = strdup(parent)) == NULL) {
        free(*temporary);
        return keel_error_set(err, ENOMEM, "write %s", path);
    }
    return 0;
}

/* Export into a temporary beside path, then rename it into place: a
 * failure or a crash never leaves a truncated archive under path. */
static int save_to_file(const struct store *store, const char *const *references, size_t count,
                        enum image_archive_format format, const char *path, struct keel_error *err)
{
    _cleanup_free_ char *temporary = NULL, *directory = NULL;
    if (save_temporary_path(path, &temporary, &directory, err) < 0)
        return -1;
    _cleanup_close_ int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return keel_error_set(err, errno, "create %s", temporary);
    int result = image_export(store, references, count, format, fd, err);
    if (result == 0 && (fsync(fd) < 0 || close(steal_fd(&fd)) < 0))
        result = keel_error_set(err, errno, "write %s", temporary);
    if (result == 0 && rename(temporary, path) < 0)
        result = keel_error_set(err, errno, "rename %s to %s", temporary, path);
    if (result < 0) {
        unlink(temporary);
        return -1;
    }
    _cleanup_close_ int directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0 || fsync(directory_fd) < 0)
        return keel_error_set(err, errno, "sync %s", directory);
    return 0;
}

int cmd_image_save(struct image_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS,
                                            {"output", required_argument, NULL, 'o'},
                                            {"format", required_argument, NULL, 'f'},
                                            {NULL, 0, NULL, 0}};
    static const char usage[] = "save [-o FILE] [--format oci|docker] REF...";
    const char *output = NULL;
    enum image_archive_format format = IMAGE_ARCHIVE_OCI;
    struct keel_error err;
    keel_error_clear(&err);
    int option;
    while ((option = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        if (option == 'o') {
            output = optarg;
        } else if (option == 'f') {
            if (image_archive_format_parse(optarg, &format, &err) < 0)
                return image_cli_usage("save", usage, "%s", err.message);
        } else {
            int code = image_cli_option(cli, option, "save", usage, argv);
            if (code >= 0)
                return code;
        }
    }
    if (optind >= argc)
        return image_cli_usage("save", usage, "no image named");
    if (output && strcmp(output, "-") == 0)
        output = NULL;
    if (output == NULL && isatty(STDOUT_FILENO)) {
        fputs("keel image save: refusing to write an archive to a terminal: use -o FILE or a "
              "pipe\n",
              stderr);
        return KEEL_EXIT_USAGE;
    }

    struct store store;
    if (image_cli_open(cli, &store, false, &err) < 0)
        return image_cli_fail("save", &err, KEEL_EXIT_FAILURE);
    const char *const *references = (const char *const *)(argv + optind);
    size_t count = (size_t)(argc - optind);
    int result = output ? save_to_file(&store, references, count, format, output, &err)
                        : image_export(&store, references, count, format, STDOUT_FILENO, &err);
    store_close(&store);
    return result < 0 ? image_cli_fail("save", &err, KEEL_EXIT_FAILURE) : 0;
}
