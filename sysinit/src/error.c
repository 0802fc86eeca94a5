/* error.c: building sysinit_error messages ("context: operation: object: strerror"). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A message cut short says so, rather than ending mid-word unmarked. */
static void error_mark_truncated(struct sysinit_error *err, int length)
{
    if (length >= (int)sizeof(err->msg))
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
}

/* musl has no text for a few errnos that matter here (mount of a corrupted
 * ext4 gives EUCLEAN) and says "No error information"; name them instead. */
static const char *error_describe(int errnum, char *buffer, size_t size)
{
    const char *text = strerror(errnum);

    if (errnum == EUCLEAN)
        return "Structure needs cleaning (filesystem corrupted)";
    if (strcmp(text, "No error information") == 0) {
        snprintf(buffer, size, "error %d", errnum);
        return buffer;
    }
    return text;
}

int error_make(struct sysinit_error *err, int errnum, const char *operation,
               const char *object_format, ...)
{
    char object[384];
    char unknown[32];
    va_list args;
    int length;

    va_start(args, object_format);
    vsnprintf(object, sizeof(object), object_format, args);
    va_end(args);

    err->err = errnum;
    if (errnum)
        length = snprintf(err->msg, sizeof(err->msg), "%s: %s: %s", operation, object,
                          error_describe(errnum, unknown, sizeof(unknown)));
    else
        length = snprintf(err->msg, sizeof(err->msg), "%s: %s", operation, object);
    error_mark_truncated(err, length);
    return -1;
}

int error_wrap(struct sysinit_error *err, const char *context_format, ...)
{
    char context[256];
    char inner[sizeof(err->msg)];
    va_list args;
    int length;

    va_start(args, context_format);
    vsnprintf(context, sizeof(context), context_format, args);
    va_end(args);

    memcpy(inner, err->msg, sizeof(inner));
    inner[sizeof(inner) - 1] = '\0';
    length = snprintf(err->msg, sizeof(err->msg), "%s: %s", context, inner);
    error_mark_truncated(err, length);
    return -1;
}
