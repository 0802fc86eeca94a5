/* state.h: mounting the state partition (or a tmpfs stand-in) at /var/lib/keel. */
#ifndef SYSINIT_STATE_H
#define SYSINIT_STATE_H

#include "cmdline.h"
#include "error.h"

/* Finds the ext4 filesystem labelled opts->state_label and mounts it at
 * target; without one, mounts a tmpfs there and says changes will be lost.
 * When the label was given explicitly the scan waits up to 5 s for the disk. */
int state_mount(const struct boot_options *opts, const char *target, const char *shown_target,
                struct sysinit_error *err);

#endif
