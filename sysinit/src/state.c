/* state.c: finding and mounting the state partition at /var/lib/keel. */
#include "state.h"

#include <sys/mount.h>
#include <time.h>

#include "console.h"
#include "label.h"
#include "mounts.h"

/* USB and some SCSI disks appear after init starts; only wait for them when
 * the user named the label, since waiting costs the default boot 5 s. */
#define STATE_SCAN_INTERVAL_MS 100
#define STATE_SCAN_ATTEMPTS 50

static int state_find(const struct boot_options *opts, char *device, size_t size,
                      struct sysinit_error *err)
{
    int attempts = opts->state_label_given ? STATE_SCAN_ATTEMPTS + 1 : 1;

    for (int attempt = 0; attempt < attempts; attempt++) {
        const struct timespec pause = {0, STATE_SCAN_INTERVAL_MS * 1000000L};
        int found = label_find_device(opts->state_label, device, size, err);

        if (found != 0)
            return found;
        if (attempt + 1 < attempts)
            nanosleep(&pause, NULL);
    }
    return 0;
}

int state_mount(const struct boot_options *opts, const char *target, const char *shown_target,
                struct sysinit_error *err)
{
    char device[288];
    int found = state_find(opts, device, sizeof(device), err);

    if (found < 0)
        return error_wrap(err, "find the state partition %s", opts->state_label);
    if (found == 0) {
        if (mounts_mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0, err) < 0)
            return error_wrap(err, "mount a tmpfs for state");
        console_print("no partition labelled %s: %s is a tmpfs, changes are lost at shutdown",
                      opts->state_label, shown_target);
        return 0;
    }
    /* A disk that is there but will not mount must not be papered over with
     * a tmpfs: the user would lose every change without noticing. */
    if (mounts_mount(device, target, "ext4", MS_NODEV | MS_NOSUID, NULL, 0, err) < 0)
        return error_wrap(err, "mount the state partition (label %s)", opts->state_label);
    console_print("state partition %s (label %s) mounted at %s", device, opts->state_label,
                  shown_target);
    return 0;
}
