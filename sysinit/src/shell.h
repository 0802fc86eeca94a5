/* shell.h: the emergency shell on the console. */
#ifndef SYSINIT_SHELL_H
#define SYSINIT_SHELL_H

/* Runs a shell on /dev/console and waits for it (reaping other children
 * too). Returns 0 when it ran, -1 when it could not be started. */
int shell_run_once(void);

/* Runs shell after shell, forever: PID 1 must never exit. */
void shell_run_forever(void) __attribute__((noreturn));

#endif
