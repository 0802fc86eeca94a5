/* shell.c: the emergency shell: a session on /dev/console, restarted forever. */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "error.h"

#define SHELL_RETRY_SECONDS 5

/* In order: the initramfs busybox; after switch_root, the OS image's shell
 * (/bin is a symlink to usr/bin there); if the initramfs was already emptied
 * but the root never moved, the image's shell where it is still mounted. */
static const char *const shell_candidates[] = {"/bin/sh", "/usr/bin/sh", "/newroot/usr/bin/sh"};

static void shell_attach_console(void)
{
    /* Not O_CLOEXEC: this fd is the one the shell inherits. */
    int fd = open("/dev/console", O_RDWR);

    /* Without a console keep the inherited fds: a shell on them beats none. */
    if (fd < 0)
        return;
    /* A new session plus TIOCSCTTY gives the shell job control and ^C;
     * opening /dev/console alone never makes it the controlling tty. */
    ioctl(fd, TIOCSCTTY, 1);
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

static void shell_child(int report_fd)
{
    static char *const environment[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/",
                                        "TERM=linux", NULL};
    int saved = ENOENT;

    setsid();
    shell_attach_console();
    for (size_t i = 0; i < sizeof(shell_candidates) / sizeof(shell_candidates[0]); i++) {
        char *const argv[] = {"sh", NULL};
        execve(shell_candidates[i], argv, environment);
        if (errno != ENOENT)
            saved = errno;
    }
    /* The report pipe is close-on-exec: data on it means every exec failed. */
    while (write(report_fd, &saved, sizeof(saved)) < 0 && errno == EINTR)
        ;
    _exit(127);
}

int shell_run_once(void)
{
    struct sysinit_error err = {0};
    int report[2];
    int exec_errno = 0;
    pid_t pid;

    if (pipe2(report, O_CLOEXEC) < 0) {
        error_make(&err, errno, "pipe", "for the emergency shell");
        console_print("%s", err.msg);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        error_make(&err, errno, "fork", "the emergency shell");
        console_print("%s", err.msg);
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0)
        shell_child(report[1]);

    close(report[1]);
    while (read(report[0], &exec_errno, sizeof(exec_errno)) < 0 && errno == EINTR)
        ;
    close(report[0]);

    /* As PID 1 we inherit every orphan; reap them while we wait. */
    for (;;) {
        pid_t reaped = waitpid(-1, NULL, 0);
        if (reaped == pid || (reaped < 0 && errno == ECHILD))
            break;
    }
    if (exec_errno) {
        error_make(&err, exec_errno, "exec", "emergency shell (/bin/sh, /usr/bin/sh)");
        console_print("%s", err.msg);
        return -1;
    }
    return 0;
}

void shell_run_forever(void)
{
    for (;;) {
        if (shell_run_once() < 0) {
            console_print("no emergency shell; retrying in %d s", SHELL_RETRY_SECONDS);
            sleep(SHELL_RETRY_SECONDS);
            continue;
        }
        console_print("emergency shell exited; starting another (use 'reboot -f' to restart)");
    }
}
