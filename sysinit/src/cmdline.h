/* cmdline.h: the keel.* options sysinit reads from the kernel command line. */
#ifndef SYSINIT_CMDLINE_H
#define SYSINIT_CMDLINE_H

#include <stdbool.h>

#include "error.h"

/* An ext4 label is at most 16 bytes (s_volume_name). */
#define CMDLINE_LABEL_MAX 16
#define CMDLINE_DEFAULT_STATE_LABEL "KEEL_STATE"

struct boot_options {
    bool debug;                              /* keel.debug: print every step */
    bool shell;                              /* keel.shell: shell before switch_root */
    bool state_label_given;                  /* keel.state= was on the command line */
    char state_label[CMDLINE_LABEL_MAX + 1]; /* keel.state=LABEL */
};

/* Fills opts from the text of /proc/cmdline. Pure: no syscalls, no allocation.
 * Unknown keys are ignored; a bad value of a keel.* key is an error. */
int cmdline_parse(const char *text, struct boot_options *opts, struct sysinit_error *err);

#endif
