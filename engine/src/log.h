/* log.h — kernel-style console logging: "[    1.234567] keel: MESSAGE". */
#pragma once

#include <stdbool.h>

/* Debug lines are dropped unless enabled (keel.debug on the kernel command line). */
void log_set_debug(bool enabled);
bool log_debug_enabled(void);

/* Adds an fd that gets a copy of every line besides stderr (another
 * console); false when the table is full (the caller keeps the fd). */
bool log_add_mirror(int fd);

void log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));
