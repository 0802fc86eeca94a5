/* console.c — the console shells: the ttys the console is on, the shell run on each. */
#include "console.h"
#include "words.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "spawn.h"

#define CONSOLE_SHELL "/usr/bin/sh"
#define CONSOLE_DEFAULT_PATH "/usr/bin:/usr/sbin"

static bool console_name_is_valid(const char *name, size_t length)
{
    if (length == 0 || length >= CONSOLE_TTY_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)name[i]))
            return false;
    return true;
}

int console_parse_active(const char *text, char ttys[][CONSOLE_TTY_NAME_MAX], size_t max,
                         size_t *count, struct keel_error *err)
{
    const char *cursor = text;
    *count = 0;
    const char *word;
    size_t length;
    while (words_next(&cursor, &word, &length)) {
        char name[CONSOLE_TTY_NAME_MAX];
        bool duplicate = false;

        if (!console_name_is_valid(word, length))
            return keel_error_invalid(err, "console list: bad tty name \"%.*s\"", (int)length,
                                      word);
        memcpy(name, word, length);
        name[length] = '\0';
        if (strcmp(name, "tty0") == 0)
            strcpy(name, "tty1");
        for (size_t i = 0; i < *count; i++)
            duplicate = duplicate || strcmp(ttys[i], name) == 0;
        if (duplicate)
            continue;
        if (*count == max)
            return keel_error_set(err, E2BIG, "console list: more than %zu ttys", max);
        strcpy(ttys[(*count)++], name);
    }
    return 0;
}

const char *console_terminal_type(const char *tty)
{
    if (strncmp(tty, "ttyS", 4) == 0)
        return "vt102";
    if (strncmp(tty, "tty", 3) == 0 && isdigit((unsigned char)tty[3]))
        return "linux";
    return "vt102"; /* hvc0, ttyAMA0, ...: serial-like terminals */
}

void console_shell_prepare(struct console_shell *shell, const char *tty, const char *path)
{
    memset(shell, 0, sizeof *shell);
    snprintf(shell->tty, sizeof shell->tty, "%s", tty);
    snprintf(shell->device, sizeof shell->device, "/dev/%s", tty);
    snprintf(shell->name, sizeof shell->name, "console shell on %s", tty);
    snprintf(shell->path_variable, sizeof shell->path_variable, "PATH=%s",
             path != NULL && path[0] != '\0' ? path : CONSOLE_DEFAULT_PATH);
    snprintf(shell->term_variable, sizeof shell->term_variable, "TERM=%s",
             console_terminal_type(tty));
    shell->environment[0] = shell->path_variable;
    shell->environment[1] = "HOME=/root";
    shell->environment[2] = shell->term_variable;
    shell->environment[3] = "SHELL=" CONSOLE_SHELL;
    shell->environment[4] = NULL;
}

int console_shell_exec(void *arg, struct keel_error *err)
{
    struct console_shell *shell = arg;
    char *argv[] = {"sh", "-l", NULL};

    spawn_reset_signals();
    /* A new session, so the tty can become this shell's controlling tty
     * and ctrl-C reaches the shell's jobs, not PID 1. */
    if (setsid() < 0)
        return keel_error_set(err, errno, "setsid");
    /* O_NONBLOCK: a serial line without carrier would block open(). */
    int fd = open(shell->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", shell->device);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return keel_error_set(err, errno, "clear O_NONBLOCK on %s", shell->device);
    /* Steal (arg 1) in case the previous shell's session still holds it. */
    if (ioctl(fd, TIOCSCTTY, 0) < 0 && ioctl(fd, TIOCSCTTY, 1) < 0)
        return keel_error_set(err, errno, "make %s the controlling tty", shell->device);
    for (int target = 0; target <= 2; target++)
        if (dup2(fd, target) < 0)
            return keel_error_set(err, errno, "dup2 %s to fd %d", shell->device, target);
    if (fd > 2)
        close(fd);
    if (chdir("/root") < 0 && chdir("/") < 0)
        return keel_error_set(err, errno, "chdir /root");
    execve(CONSOLE_SHELL, argv, shell->environment);
    return keel_error_set(err, errno, "exec %s", CONSOLE_SHELL);
}
