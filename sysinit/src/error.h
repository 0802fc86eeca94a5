/* error.h: the error value every fallible sysinit function fills on its way up. */
#ifndef SYSINIT_ERROR_H
#define SYSINIT_ERROR_H

struct sysinit_error {
    int err;       /* the errno that started it, 0 if none */
    char msg[512]; /* "context: operation: object: strerror" */
};

/* Sets "operation: object: strerror(errnum)" (no strerror when errnum is 0).
 * Returns -1 so callers can write `return error_make(...)`. */
int error_make(struct sysinit_error *err, int errnum, const char *operation,
               const char *object_format, ...) __attribute__((format(printf, 4, 5)));

/* Prepends "context: " to the message already in err. Returns -1. */
int error_wrap(struct sysinit_error *err, const char *context_format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
