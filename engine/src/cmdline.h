/* cmdline.h — the engine's words on the kernel command line (keel.debug, keel.grace=). */
#pragma once

#include <stdbool.h>

#include "error.h"

#define CMDLINE_GRACE_DEFAULT_SECONDS 5u
#define CMDLINE_GRACE_MAX_SECONDS 3600u

struct keel_cmdline {
    bool debug;             /* keel.debug: print debug lines on the console */
    unsigned grace_seconds; /* keel.grace=SECONDS: SIGTERM→SIGKILL wait at shutdown */
};

/* Parse a kernel command line (the text of /proc/cmdline). Words are matched
 * whole: "keel.debugger" is not "keel.debug". Every word is looked at; when
 * one is malformed (e.g. "keel.grace=5s") the function returns -1 with err
 * naming the first bad word; the bad word is ignored (the default, or an
 * earlier good word, stands) and the others still count, so boot goes on. */
int cmdline_parse(const char *text, struct keel_cmdline *out, struct keel_error *err);
