/* console.h: stamped "sysinit:" lines on the console (stderr). */
#ifndef SYSINIT_CONSOLE_H
#define SYSINIT_CONSOLE_H

#include <stdbool.h>

/* keel.debug turns on console_debug lines. */
void console_set_verbose(bool verbose);

/* Points fds 0-2 at /dev/console: only those that are closed when
 * only_missing, else all three (after switch_root the old node is deleted). */
void console_attach(bool only_missing);

/* Copies every later line to the kernel's other consoles (all in
 * /sys/class/tty/console/active but the last, which is /dev/console), so a
 * failure shows on the VGA screen as well as the serial port. */
void console_mirror_active(void);

/* Prints "[seconds.micros] sysinit: MESSAGE" in one write. */
void console_print(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Like console_print, only when verbose. */
void console_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
