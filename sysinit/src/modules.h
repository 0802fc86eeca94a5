/* modules.h: loading the kernel modules an initramfs lists in /lib/modules/load.list. */
#ifndef SYSINIT_MODULES_H
#define SYSINIT_MODULES_H

#define MODULES_LOAD_LIST "/lib/modules/load.list"

/* Loads each .ko named in list_path, in order. A missing list means a kernel
 * with everything built in: nothing to do. A module that fails to load is
 * reported and skipped, never fatal: the boot may still work without it. */
void modules_load_list(const char *list_path);

#endif
