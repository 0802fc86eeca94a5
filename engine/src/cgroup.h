/* cgroup.h — cgroup v2: mounting the unified hierarchy and enabling its controllers. */
#pragma once

#include <stddef.h>

#include "error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Mount cgroup2 at path (nsdelegate). Already mounted (EBUSY) is success. */
int cgroup_mount_unified(const char *path, struct keel_error *err);

/* Enable each of controllers ("cpu", "memory", ...) for path's children, one
 * write each, so a controller the kernel lacks does not stop the others.
 * Writes the enabled ones, space-separated, to enabled (e.g. "cpu memory"). */
int cgroup_enable_controllers(const char *path, const char *const *controllers, size_t count,
                              char *enabled, size_t enabled_size, struct keel_error *err);
