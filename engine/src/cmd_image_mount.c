/* cmd_image_mount.c — `keel image mount`/`umount`: layer views and container roots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "cmd_image.h"
#include "commands.h"
#include "image.h"

/* Parse [--container ID] and the common options. Returns the index of the
 * first argument, or -1 - CODE when the command must exit with CODE. */
static int mount_parse(struct image_cli *cli, int argc, char **argv, const char *command,
                       const char *usage, const char **container)
{
    static const struct option options[] = {
        IMAGE_CLI_COMMON_OPTIONS, {"container", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    int option;
    *container = NULL;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (option == 'c') {
            *container = optarg;
            continue;
        }
        int code = image_cli_option(cli, option, command, usage, argv);
        if (code >= 0)
            return -1 - code;
    }
    return optind;
}

/* The container's root filesystem over the image's layers; prints its path. */
static int mount_container(const struct image_cli *cli, const char *container,
                           const char *reference)
{
    struct keel_error err;
    struct store store;
    struct image image;
    _cleanup_free_ char *rootfs = NULL;
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, true, &err) < 0)
        return image_cli_fail("mount", &err, KEEL_EXIT_FAILURE);
    int result = store_lock(&store, &err);
    if (result == 0) {
        result = image_find(&store, reference, &image, &err);
        if (result == 0) {
            result = store_rootfs_mount(&store, container, image.chain_ids,
                                        image.manifest.layer_count, &rootfs, &err);
            image_free(&image);
        }
        store_unlock(&store);
    }
    store_close(&store);
    if (result < 0)
        return image_cli_fail("mount", &err, KEEL_EXIT_FAILURE);
    puts(rootfs);
    return 0;
}

/* A read-only view of the image's layers at target. */
static int mount_view(const struct image_cli *cli, const char *reference, const char *target)
{
    struct keel_error err;
    struct store store;
    struct image image;
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, false, &err) < 0)
        return image_cli_fail("mount", &err, KEEL_EXIT_FAILURE);
    int result = image_find(&store, reference, &image, &err);
    if (result == 0) {
        result = store_layers_mount_view(&store, image.chain_ids, image.manifest.layer_count,
                                         target, &err);
        image_free(&image);
    }
    store_close(&store);
    return result < 0 ? image_cli_fail("mount", &err, KEEL_EXIT_FAILURE) : 0;
}

int cmd_image_mount(struct image_cli *cli, int argc, char **argv)
{
    static const char usage[] = "mount IMAGE DIR | mount --container ID IMAGE";
    const char *container;
    int first = mount_parse(cli, argc, argv, "mount", usage, &container);
    if (first < 0)
        return -1 - first;
    int wanted = container ? 1 : 2;
    if (argc - first != wanted)
        return image_cli_usage("mount", usage, "%s",
                               argc - first < wanted ? "missing argument" : "too many arguments");
    if (container)
        return mount_container(cli, container, argv[first]);
    return mount_view(cli, argv[first], argv[first + 1]);
}

int cmd_image_umount(struct image_cli *cli, int argc, char **argv)
{
    static const char usage[] = "umount DIR | umount --container ID";
    const char *container;
    int first = mount_parse(cli, argc, argv, "umount", usage, &container);
    if (first < 0)
        return -1 - first;
    int wanted = container ? 0 : 1;
    if (argc - first != wanted)
        return image_cli_usage("umount", usage, "%s",
                               argc - first < wanted ? "missing argument" : "too many arguments");
    struct keel_error err;
    keel_error_clear(&err);
    if (container == NULL) {
        /* A view is a plain mount: nothing in the store to update. */
        if (umount2(argv[first], UMOUNT_NOFOLLOW) < 0) {
            keel_error_set(&err, errno, "unmount %s", argv[first]);
            return image_cli_fail("umount", &err, KEEL_EXIT_FAILURE);
        }
        return 0;
    }
    struct store store;
    if (image_cli_open(cli, &store, true, &err) < 0)
        return image_cli_fail("umount", &err, KEEL_EXIT_FAILURE);
    int result = store_lock(&store, &err);
    if (result == 0) {
        result = store_rootfs_remove(&store, container, &err);
        store_unlock(&store);
    }
    store_close(&store);
    return result < 0 ? image_cli_fail("umount", &err, KEEL_EXIT_FAILURE) : 0;
}
