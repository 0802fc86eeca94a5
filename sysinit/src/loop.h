/* loop.h: attaching a file read-only to a free loop device. */
#ifndef SYSINIT_LOOP_H
#define SYSINIT_LOOP_H

#include <stddef.h>

#include "error.h"

/* Attaches path read-only with autoclear and writes "/dev/loopN" to
 * device_path. Returns an open fd of the loop device, which the caller must
 * keep open until the device is mounted: autoclear detaches the file as soon
 * as the last fd closes, and before the mount that fd is this one. */
int loop_attach_readonly(const char *path, char *device_path, size_t size,
                         struct sysinit_error *err);

#endif
