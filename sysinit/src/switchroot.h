/* switchroot.h: freeing the initramfs and making the new root "/". */
#ifndef SYSINIT_SWITCHROOT_H
#define SYSINIT_SWITCHROOT_H

#include "error.h"

/* Deletes the initramfs contents (its memory is not freed otherwise), moves
 * new_root onto "/" and chroots into it. Afterwards the cwd is the new "/". */
int switchroot_into(const char *new_root, struct sysinit_error *err);

#endif
