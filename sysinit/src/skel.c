/* skel.c: copying a directory tree (dirs, regular files, symlinks) with modes and owners. */
#include "skel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* The skeleton is a handful of levels deep; the bound stops a runaway
 * recursion from exhausting PID 1's stack on a malformed image. */
#define SKEL_MAX_DEPTH 32

static int skel_copy_dir(int source_fd, int target_fd, const char *path, int depth,
                         struct sysinit_error *err);

static int skel_copy_file(int source_dir, int target_dir, const char *name, const struct stat *st,
                          const char *path, struct sysinit_error *err)
{
    _cleanup_close_ int in = openat(source_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    _cleanup_close_ int out = -1;
    char buffer[16384];

    if (in < 0)
        return error_make(err, errno, "open", "%s", path);
    out = openat(target_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                 st->st_mode & 07777);
    if (out < 0)
        return error_make(err, errno, "create", "%s", path);
    for (;;) {
        ssize_t length = read(in, buffer, sizeof(buffer));
        if (length < 0 && errno == EINTR)
            continue;
        if (length < 0)
            return error_make(err, errno, "read", "%s", path);
        if (length == 0)
            break;
        for (ssize_t done = 0; done < length;) {
            ssize_t n = write(out, buffer + done, length - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return error_make(err, errno, "write", "%s", path);
            done += n;
        }
    }
    /* Owner first: chown clears setuid/setgid bits, which the chmod restores.
     * The umask has also trimmed the mode given to openat. */
    if (fchown(out, st->st_uid, st->st_gid) < 0)
        return error_make(err, errno, "chown", "%s", path);
    if (fchmod(out, st->st_mode & 07777) < 0)
        return error_make(err, errno, "chmod", "%s", path);
    return 0;
}

static int skel_copy_symlink(int source_dir, int target_dir, const char *name,
                             const struct stat *st, const char *path, struct sysinit_error *err)
{
    char target[PATH_MAX];
    ssize_t length = readlinkat(source_dir, name, target, sizeof(target) - 1);

    if (length < 0)
        return error_make(err, errno, "readlink", "%s", path);
    target[length] = '\0';
    if (symlinkat(target, target_dir, name) < 0)
        return error_make(err, errno, "symlink", "%s -> %s", path, target);
    if (fchownat(target_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return error_make(err, errno, "chown", "%s", path);
    return 0;
}

static int skel_copy_subdir(int source_dir, int target_dir, const char *name, const struct stat *st,
                            const char *path, int depth, struct sysinit_error *err)
{
    _cleanup_close_ int in = -1;
    _cleanup_close_ int out = -1;

    if (mkdirat(target_dir, name, st->st_mode & 07777) < 0 && errno != EEXIST)
        return error_make(err, errno, "mkdir", "%s", path);
    in = openat(source_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return error_make(err, errno, "open", "%s", path);
    out = openat(target_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (out < 0)
        return error_make(err, errno, "open", "%s in the new root", path);
    if (fchown(out, st->st_uid, st->st_gid) < 0)
        return error_make(err, errno, "chown", "%s", path);
    if (fchmod(out, st->st_mode & 07777) < 0)
        return error_make(err, errno, "chmod", "%s", path);
    return skel_copy_dir(in, out, path, depth + 1, err);
}

static int skel_copy_dir(int source_fd, int target_fd, const char *path, int depth,
                         struct sysinit_error *err)
{
    _cleanup_closedir_ DIR *dir = NULL;
    struct dirent *entry;
    int listing_fd;

    if (depth > SKEL_MAX_DEPTH)
        return error_make(err, ELOOP, "copy", "%s (deeper than %d levels)", path, SKEL_MAX_DEPTH);
    /* fdopendir takes over the fd it is given; keep source_fd for *at calls. */
    listing_fd = dup(source_fd);
    if (listing_fd < 0 || fcntl(listing_fd, F_SETFD, FD_CLOEXEC) < 0)
        return error_make(err, errno, "dup", "%s", path);
    dir = fdopendir(listing_fd);
    if (dir == NULL) {
        close(listing_fd);
        return error_make(err, errno, "open directory", "%s", path);
    }

    while ((errno = 0, entry = readdir(dir)) != NULL) {
        char child[PATH_MAX];
        struct stat st;
        int status;

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
        if (fstatat(source_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return error_make(err, errno, "stat", "%s", child);

        if (S_ISDIR(st.st_mode))
            status = skel_copy_subdir(source_fd, target_fd, entry->d_name, &st, child, depth, err);
        else if (S_ISREG(st.st_mode))
            status = skel_copy_file(source_fd, target_fd, entry->d_name, &st, child, err);
        else if (S_ISLNK(st.st_mode))
            status = skel_copy_symlink(source_fd, target_fd, entry->d_name, &st, child, err);
        else
            status =
                error_make(err, 0, "copy", "%s: not a directory, regular file or symlink", child);
        if (status < 0)
            return status;
    }
    if (errno)
        return error_make(err, errno, "read directory", "%s", path);
    return 0;
}

int skel_copy_tree(const char *source_dir, const char *target_dir, struct sysinit_error *err)
{
    _cleanup_close_ int source_fd = open(source_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int target_fd = -1;

    if (source_fd < 0)
        return error_make(err, errno, "open", "%s", source_dir);
    target_fd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (target_fd < 0)
        return error_make(err, errno, "open", "%s", target_dir);
    return skel_copy_dir(source_fd, target_fd, source_dir, 0, err);
}
