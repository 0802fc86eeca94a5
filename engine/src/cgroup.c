/* cgroup.c — cgroup v2: mounting the unified hierarchy and enabling its controllers. */
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "file.h"

int cgroup_mount_unified(const char *path, struct keel_error *err)
{
    mkdir(path, 0755); /* normally there already; mount reports if not */
    /* nsdelegate: a cgroup namespace becomes a delegation boundary, which
     * nested engines (the user engine) rely on. */
    if (mount("cgroup2", path, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
              "nsdelegate") < 0 &&
        errno != EBUSY)
        return keel_error_set(err, errno, "mount cgroup2 at %s", path);
    return 0;
}

int cgroup_enable_controllers(const char *path, const char *const *controllers, size_t count,
                              char *enabled, size_t enabled_size, struct keel_error *err)
{
    char control[512];
    size_t used = 0;

    snprintf(control, sizeof control, "%s/cgroup.subtree_control", path);
    enabled[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        char request[64];
        struct keel_error write_err;
        snprintf(request, sizeof request, "+%s", controllers[i]);
        if (file_write_text(control, request, &write_err) < 0) {
            /* ENOENT/EINVAL: the kernel lacks this controller; skip it. */
            if (write_err.errno_value == ENOENT || write_err.errno_value == EINVAL)
                continue;
            *err = write_err;
            return keel_error_prefix(err, "enable cgroup controllers");
        }
        int n =
            snprintf(enabled + used, enabled_size - used, "%s%s", used ? " " : "", controllers[i]);
        if (n > 0 && (size_t)n < enabled_size - used)
            used += (size_t)n;
    }
    return 0;
}
