/* teardown.c — a shutdown's system calls: kill(-1), unmount everything, reboot(2). */
#include "teardown.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>

#include "cleanup.h"
#include "file.h"
#include "log.h"
#include "mountinfo.h"

int teardown_signal_all(int signal_number, struct keel_error *err)
{
    if (kill(-1, signal_number) < 0 && errno != ESRCH)
        return keel_error_set(err, errno, "send SIG%s to all processes",
                              sigabbrev_np(signal_number));
    return 0;
}

static int teardown_remount_read_only(const struct mountinfo_entry *entry)
{
    return mount(NULL, entry->mount_point, NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

static void teardown_apply_step(const struct unmount_step *step, size_t *failures)
{
    const char *target = step->entry->mount_point;

    if (step->action == UNMOUNT_ACTION_UNMOUNT) {
        if (umount2(target, 0) == 0) {
            log_debug("unmounted %s", target);
            return;
        }
        log_debug("could not unmount %s (%s), remounting read-only", target, strerror(errno));
    }
    if (teardown_remount_read_only(step->entry) == 0) {
        log_debug("remounted %s read-only", target);
        return;
    }
    log_info("could not unmount or remount %s read-only: %s", target, strerror(errno));
    (*failures)++;
}

int teardown_unmount_all(size_t *failures, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    _cleanup_free_ struct unmount_step *steps = NULL;
    struct mountinfo info = {0};
    size_t count = 0;

    *failures = 0;
    /* Read the whole table first: /proc itself is one of the mounts. */
    if (file_read_text("/proc/self/mountinfo", &text, NULL, err) < 0)
        return keel_error_prefix(err, "unmount filesystems");
    if (mountinfo_parse(text, &info, err) < 0)
        return keel_error_prefix(err, "unmount filesystems");
    if (mountinfo_plan_unmount(&info, &steps, &count, err) < 0) {
        mountinfo_free(&info);
        return keel_error_prefix(err, "unmount filesystems");
    }
    for (size_t i = 0; i < count; i++)
        teardown_apply_step(&steps[i], failures);
    mountinfo_free(&info);
    return 0;
}

int teardown_reboot(enum shutdown_power power, struct keel_error *err)
{
    int command;
    switch (power) {
    case SHUTDOWN_POWER_OFF:
        command = RB_POWER_OFF;
        break;
    case SHUTDOWN_POWER_REBOOT:
        command = RB_AUTOBOOT;
        break;
    case SHUTDOWN_POWER_HALT:
        command = RB_HALT_SYSTEM;
        break;
    default:
        return keel_error_set(err, EINVAL, "reboot: no power action");
    }
    reboot(command);
    return keel_error_set(err, errno, "reboot(%s)", shutdown_power_name(power));
}
