/* mounts.h: the API filesystems (/proc, /sys, /dev, /run) and moving them into the new root. */
#ifndef SYSINIT_MOUNTS_H
#define SYSINIT_MOUNTS_H

#include "error.h"

/* Mounts proc, sysfs, devtmpfs and a /run tmpfs in the initramfs. */
int mounts_mount_api_filesystems(struct sysinit_error *err);

/* Moves those four mounts under new_root (MS_MOVE). */
int mounts_move_api_filesystems(const char *new_root, struct sysinit_error *err);

/* mount(2) with a sysinit_error; EBUSY (already mounted) counts as success
 * when tolerate_busy is set. Makes the target directory if missing. */
int mounts_mount(const char *source, const char *target, const char *type, unsigned long flags,
                 const char *data, int tolerate_busy, struct sysinit_error *err);

#endif
