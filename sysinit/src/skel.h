/* skel.h: copying a directory tree (the image's /etc skeleton) into the new root. */
#ifndef SYSINIT_SKEL_H
#define SYSINIT_SKEL_H

#include "error.h"

/* Copies the contents of source_dir into target_dir: directories, regular
 * files and symlinks, keeping modes and owners. Existing directories are
 * merged into; anything else in the tree is an error. */
int skel_copy_tree(const char *source_dir, const char *target_dir, struct sysinit_error *err);

#endif
