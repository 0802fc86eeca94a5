/* rootfs_path.h — paths inside a container's root: cleaning, in-root resolution, mkdir -p. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Symlinks followed while creating one path, as the kernel's MAXSYMLINKS. */
#define ROOTFS_PATH_MAX_SYMLINKS 40

/* Write the lexically clean absolute form of a container path into out:
 * "//dev/./pts/" -> "/dev/pts", "/../../x" -> "/x" (".." at the root stays
 * there, as RESOLVE_IN_ROOT has it), "" and "proc" are taken from "/".
 * Symlinks are not looked at: only for comparing a config's paths with
 * well-known ones ("/proc", "/dev"). Returns -1 (ENAMETOOLONG) when out is
 * too small. */
int rootfs_path_clean(const char *path, char *out, size_t size);

/* Whether two container paths name the same place lexically. */
bool rootfs_path_equal(const char *path, const char *other);

/* Open path inside the tree of root_fd: ".." and absolute symlinks stay
 * inside it (RESOLVE_IN_ROOT), /proc magic links are refused
 * (RESOLVE_NO_MAGICLINKS). open_flags: O_PATH for a handle to mount onto or
 * to resolve from; O_CLOEXEC is always added. Returns the fd, or -1 with
 * errno set (the caller names the object in its error). */
int rootfs_path_open(int root_fd, const char *path, int open_flags);

/* As rootfs_path_open(), refusing every symlink on the way (ELOOP): for
 * kernel trees like /proc/sys, where a symlink can only be a trick. */
int rootfs_path_open_no_symlinks(int root_fd, const char *path, int open_flags);

enum rootfs_path_kind {
    ROOTFS_PATH_DIRECTORY,
    ROOTFS_PATH_FILE,
};

/* Open path inside root_fd's tree as an O_PATH fd, creating what is
 * missing: a directory (0755) for every missing parent, and for the last
 * component a directory or an empty file (0644) as kind says. Each
 * component is created from its parent resolved in-root, and a dangling
 * symlink on the way is followed inside the root, never out of it. what
 * names the path in errors: "resolve mount destination /x in rootfs: ...". */
int rootfs_path_open_or_create(int root_fd, const char *path, enum rootfs_path_kind kind,
                               const char *what, int *fd, struct keel_error *err);
