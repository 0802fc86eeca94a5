/* main.c: the boot flow of /init, from the initramfs to exec of `keel init`. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmdline.h"
#include "console.h"
#include "error.h"
#include "file.h"
#include "modules.h"
#include "mounts.h"
#include "newroot.h"
#include "shell.h"
#include "state.h"
#include "switchroot.h"

#define STATE_MOUNT_POINT "/var/lib/keel"

static int main_read_options(struct boot_options *opts, struct sysinit_error *err)
{
    _cleanup_free_ char *text = NULL;

    if (file_read_all("/proc/cmdline", &text, err) < 0)
        return error_wrap(err, "read the kernel command line");
    if (cmdline_parse(text, opts, err) < 0)
        return -1;
    console_set_verbose(opts->debug);
    console_debug("options: debug %d, shell %d, state label %s (%s)", opts->debug, opts->shell,
                  opts->state_label, opts->state_label_given ? "given" : "default");
    return 0;
}

static int main_exec_engine(struct sysinit_error *err)
{
    char *const argv[] = {"keel", "init", NULL};

    /* keel init starts from a known environment, not the kernel's leftovers. */
    clearenv();
    if (setenv("PATH", "/usr/bin:/usr/sbin", 1) < 0 || setenv("HOME", "/root", 1) < 0 ||
        setenv("TERM", "linux", 1) < 0)
        return error_make(err, errno, "setenv", "PATH, HOME, TERM");
    console_print("exec /usr/bin/keel init");
    execv(NEWROOT_ENGINE, argv);
    /* ENOENT for a file that is there means its #! interpreter or ELF
     * loader is missing: say so, or the message reads as a contradiction. */
    if (errno == ENOENT && access(NEWROOT_ENGINE, F_OK) == 0)
        return error_make(err, ENOENT, "exec", "%s (its #! interpreter or ELF loader)",
                          NEWROOT_ENGINE);
    return error_make(err, errno, "exec", "%s", NEWROOT_ENGINE);
}

/* Returns only on failure; on success the process is `keel init`. */
static int main_boot(struct sysinit_error *err)
{
    struct boot_options opts;

    if (mounts_mount_api_filesystems(err) < 0)
        return error_wrap(err, "mount /proc, /sys, /dev, /run");
    /* An initramfs without a dev/console node leaves fds 0-2 closed. */
    console_attach(true);
    console_mirror_active();
    if (main_read_options(&opts, err) < 0)
        return -1;
    modules_load_list(MODULES_LOAD_LIST);
    if (newroot_prepare(err) < 0)
        return error_wrap(err, "prepare the new root");
    if (state_mount(&opts, NEWROOT_PATH STATE_MOUNT_POINT, STATE_MOUNT_POINT, err) < 0)
        return -1;
    if (opts.shell) {
        console_print("keel.shell given: emergency shell; exit it to continue booting");
        shell_run_once();
    }
    if (mounts_move_api_filesystems(NEWROOT_PATH, err) < 0)
        return error_wrap(err, "move the API filesystems into the new root");
    if (switchroot_into(NEWROOT_PATH, err) < 0)
        return error_wrap(err, "switch root");
    /* Ours still point at the initramfs's (now deleted) console node. */
    console_attach(false);
    return main_exec_engine(err);
}

int main(void)
{
    struct sysinit_error err = {0};

    /* Run anywhere but as the kernel's init, this would mount over and then
     * delete the host's files; refuse (100: bad usage, as in s6). */
    if (getpid() != 1) {
        static const char message[] = "sysinit: must run as PID 1 (the initramfs /init)\n";
        if (write(STDERR_FILENO, message, sizeof(message) - 1) < 0)
            return 111;
        return 100;
    }

    console_print("start");
    main_boot(&err);
    console_print("FAILED: %s", err.msg);
    console_print("dropping to the emergency shell");
    /* Never returns: PID 1 exiting panics the kernel. */
    shell_run_forever();
}
