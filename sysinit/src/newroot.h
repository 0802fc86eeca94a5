/* newroot.h: assembling the tmpfs root with the read-only OS image at /usr. */
#ifndef SYSINIT_NEWROOT_H
#define SYSINIT_NEWROOT_H

#include "error.h"

#define NEWROOT_PATH "/newroot"
#define NEWROOT_OS_IMAGE "/keel/usr.sqfs"
#define NEWROOT_ENGINE "/usr/bin/keel"
#define NEWROOT_SKEL "/usr/share/keel/skel"

/* Mounts a tmpfs at /newroot, the OS image at /newroot/usr, checks the image
 * carries the engine, lays the skeleton down and makes the mount points. */
int newroot_prepare(struct sysinit_error *err);

#endif
