/* switchroot.c: emptying the initramfs and moving the new root onto "/". */
#include "switchroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"

#define RAMFS_MAGIC 0x858458f6
#define TMPFS_MAGIC 0x01021994

/* Deletes what dir_fd holds on device, never crossing into another
 * filesystem (the moved API mounts, the new root). Best effort: what cannot
 * be deleted only costs memory, so failures are counted, not fatal. */
static int switchroot_delete_contents(int dir_fd, dev_t device, const char *skip)
{
    _cleanup_closedir_ DIR *dir = NULL;
    struct dirent *entry;
    int failures = 0;
    int listing_fd = dup(dir_fd);

    if (listing_fd < 0)
        return 1;
    dir = fdopendir(listing_fd);
    if (dir == NULL) {
        close(listing_fd);
        return 1;
    }
    while ((entry = readdir(dir)) != NULL) {
        struct stat st;

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (skip && strcmp(entry->d_name, skip) == 0)
            continue;
        if (fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            failures++;
            continue;
        }
        if (st.st_dev != device)
            continue;
        if (S_ISDIR(st.st_mode)) {
            _cleanup_close_ int child =
                openat(dir_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child < 0) {
                failures++;
                continue;
            }
            failures += switchroot_delete_contents(child, device, NULL);
            if (unlinkat(dir_fd, entry->d_name, AT_REMOVEDIR) < 0 && errno != EBUSY)
                failures++;
        } else if (unlinkat(dir_fd, entry->d_name, 0) < 0) {
            failures++;
        }
    }
    return failures;
}

int switchroot_into(const char *new_root, struct sysinit_error *err)
{
    _cleanup_close_ int root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat root_stat;
    struct stat new_root_stat;
    struct statfs root_fs;
    int failures;

    if (root_fd < 0 || fstat(root_fd, &root_stat) < 0 || fstatfs(root_fd, &root_fs) < 0)
        return error_make(err, errno, "stat", "/");
    if (stat(new_root, &new_root_stat) < 0)
        return error_make(err, errno, "stat", "%s", new_root);
    if (new_root_stat.st_dev == root_stat.st_dev)
        return error_make(err, 0, "switch root", "%s is not a mount point", new_root);
    /* Deleting everything under "/" is only right on the initramfs; refuse
     * anywhere else rather than wipe a real disk. */
    if (root_fs.f_type != RAMFS_MAGIC && root_fs.f_type != TMPFS_MAGIC)
        return error_make(err, 0, "switch root", "/ is not an initramfs (ramfs or tmpfs)");

    failures = switchroot_delete_contents(root_fd, root_stat.st_dev, new_root + 1);
    if (failures)
        console_print("could not delete %d entries of the initramfs (memory stays in use)",
                      failures);
    else
        console_debug("freed the initramfs");

    if (chdir(new_root) < 0)
        return error_make(err, errno, "chdir", "%s", new_root);
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
        return error_make(err, errno, "move mount", "%s to /", new_root);
    if (chroot(".") < 0)
        return error_make(err, errno, "chroot", "%s", new_root);
    if (chdir("/") < 0)
        return error_make(err, errno, "chdir", "/ in the new root");
    return 0;
}
