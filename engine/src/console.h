/* console.h — the console shells: the ttys the console is on, the shell run on each. */
#pragma once

#include <stddef.h>

#include "error.h"

#define CONSOLE_MAX_TTYS 8
#define CONSOLE_TTY_NAME_MAX 32

/* What a console shell child needs, prepared before the fork so the child
 * only makes system calls. */
struct console_shell {
    char tty[CONSOLE_TTY_NAME_MAX];        /* "ttyS0" */
    char device[CONSOLE_TTY_NAME_MAX + 8]; /* "/dev/ttyS0" */
    char name[CONSOLE_TTY_NAME_MAX + 32];  /* "console shell on ttyS0" */
    char *environment[6];
    char path_variable[512];
    char term_variable[32];
};

/* Parse /sys/class/tty/console/active ("tty0 ttyS0\n") into tty names.
 * tty0 means "the foreground virtual terminal"; a shell needs a fixed one,
 * so it becomes tty1. Duplicates are dropped; names that are not plain
 * [A-Za-z0-9] words are rejected. */
int console_parse_active(const char *text, char ttys[][CONSOLE_TTY_NAME_MAX], size_t max,
                         size_t *count, struct keel_error *err);

/* The TERM a shell on tty wants: vt102 on serial lines, linux on VTs. */
const char *console_terminal_type(const char *tty);

/* Fill shell for tty, with PATH taken from path (NULL: the default). */
void console_shell_prepare(struct console_shell *shell, const char *tty, const char *path);

/* spawn_child_function: become a login shell on shell->device. */
int console_shell_exec(void *shell, struct keel_error *err);
