/* rootfs_mask.h — linux.maskedPaths and linux.readonlyPaths, after pivot_root. */
#pragma once

#include "error.h"

/* Mask each path (NULL-terminated list; NULL is an empty one) in root_fd's
 * tree: an empty read-only tmpfs over a directory, the container's
 * /dev/null (checked to be the char device 1:3) bound over anything else.
 * A symlink is resolved inside the root; a missing path is skipped. */
int rootfs_mask_paths(int root_fd, char *const *paths, struct keel_error *err);

/* Bind each path onto itself, with its submounts, read-only, nosuid,
 * nodev and noexec on every mount of it (flags it had are kept). Resolved
 * inside the root; a missing path is skipped. */
int rootfs_mask_readonly_paths(int root_fd, char *const *paths, struct keel_error *err);
