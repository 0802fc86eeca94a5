/* proc.h — facts about processes read from /proc: which are user processes, how many remain. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PROC_FLAG_KTHREAD 0x00200000u /* PF_KTHREAD in /proc/PID/stat's flags */

struct proc_stat {
    char state;          /* R, S, D, Z, ... */
    unsigned long flags; /* PF_* */
};

/* Parse the text of /proc/PID/stat. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from its last ')'. */
int proc_stat_parse(const char *text, struct proc_stat *out, struct keel_error *err);

/* Count processes other than PID 1 (and the caller), kernel threads and
 * zombies: the ones a shutdown must stop. */
int proc_count_user_processes(size_t *count, struct keel_error *err);
