/* error.c — builds struct keel_error messages: set at the failure, prefixed on the way up. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int keel_error_set(struct keel_error *err, int errno_value, const char *format, ...)
{
    va_list args;
    int used;

    err->errno_value = errno_value;
    va_start(args, format);
    used = vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    if (used < 0)
        used = 0;
    if (errno_value != 0 && (size_t)used < sizeof err->message)
        snprintf(err->message + used, sizeof err->message - used, ": %s", strerror(errno_value));
    return -1;
}

int keel_error_invalid(struct keel_error *err, const char *format, ...)
{
    va_list args;

    err->errno_value = EINVAL;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    return -1;
}

int keel_error_prefix(struct keel_error *err, const char *format, ...)
{
    char prefix[KEEL_ERROR_MESSAGE_MAX];
    char old[KEEL_ERROR_MESSAGE_MAX];
    va_list args;

    va_start(args, format);
    vsnprintf(prefix, sizeof prefix, format, args);
    va_end(args);
    memcpy(old, err->message, sizeof old);
    /* Truncation keeps the head (the outermost context), which is what a
     * reader scans first; the tail is the errno text, also in errno_value. */
    if (snprintf(err->message, sizeof err->message, "%s: %s", prefix, old) < 0)
        err->message[0] = '\0';
    return -1;
}

void keel_error_clear(struct keel_error *err)
{
    err->errno_value = 0;
    err->message[0] = '\0';
}
