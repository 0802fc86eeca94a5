/* error.h — struct keel_error: an errno plus a message built on the way up. */
#pragma once

#include <stdarg.h>

#define KEEL_ERROR_MESSAGE_MAX 512

/* A failed operation's report. The innermost failure sets it with
 * keel_error_set(); each caller on the way up may prepend its own context with
 * keel_error_prefix(), so the boundary prints one line that names the
 * operation, the object and the cause:
 *   "start console shell on ttyS0: open /dev/ttyS0: No such file or directory" */
struct keel_error {
    int errno_value; /* 0 when the failure is not a system call's */
    char message[KEEL_ERROR_MESSAGE_MAX];
};

/* Fill err with "FORMAT: strerror(errno_value)" (or just FORMAT when
 * errno_value is 0). Always returns -1, so callers can write
 *   return keel_error_set(err, errno, "open %s", path); */
int keel_error_set(struct keel_error *err, int errno_value, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill err for bad data (a malformed line, a bad word): errno_value is
 * EINVAL, but the message does not end in ": Invalid argument", which would
 * add nothing to "line 3: bad mount id". Returns -1. */
int keel_error_invalid(struct keel_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepend "FORMAT: " to err's message, keeping its errno. Returns -1. */
int keel_error_prefix(struct keel_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget a previous failure. */
void keel_error_clear(struct keel_error *err);
