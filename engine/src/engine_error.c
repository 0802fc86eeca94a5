/* engine_error.c — errors in Docker's words for the engine's callers (no strerror suffix). */
#include <stdarg.h>
#include <stdio.h>

#include "engine_internal.h"

int engine_error_set(struct keel_error *err, int errno_value, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(err->message, sizeof err->message, format, arguments);
    va_end(arguments);
    err->errno_value = errno_value;
    return -1;
}
