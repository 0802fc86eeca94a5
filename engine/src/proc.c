/* proc.c — facts about processes read from /proc: which are user processes, how many remain. */
#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

int proc_stat_parse(const char *text, struct proc_stat *out, struct keel_error *err)
{
    const char *cursor = strrchr(text, ')');
    if (cursor == NULL)
        return keel_error_invalid(err, "parse /proc stat: no ')' after the command name");
    cursor++;

    /* After ')': field 3 is the state, field 9 the flags. */
    char state;
    unsigned long flags;
    int pid_ignored;
    if (sscanf(cursor, " %c %d %d %d %d %d %lu", &state, &pid_ignored, &pid_ignored, &pid_ignored,
               &pid_ignored, &pid_ignored, &flags) != 7)
        return keel_error_invalid(err, "parse /proc stat: fields after the command name");
    out->state = state;
    out->flags = flags;
    return 0;
}

static bool proc_name_is_pid(const char *name)
{
    if (*name == '\0')
        return false;
    for (; *name != '\0'; name++)
        if (!isdigit((unsigned char)*name))
            return false;
    return true;
}

int proc_count_user_processes(size_t *count, struct keel_error *err)
{
    DIR *directory = opendir("/proc");
    struct dirent *entry;
    long self = (long)getpid();

    if (directory == NULL)
        return keel_error_set(err, errno, "count processes: open /proc");
    *count = 0;
    while ((entry = readdir(directory)) != NULL) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_stat stat;
        struct keel_error ignored;

        if (!proc_name_is_pid(entry->d_name))
            continue;
        long pid = strtol(entry->d_name, NULL, 10);
        if (pid == 1 || pid == self)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        /* A process that exits while we scan is simply not counted. */
        if (file_read_text(path, &text, NULL, &ignored) < 0 ||
            proc_stat_parse(text, &stat, &ignored) < 0)
            continue;
        if ((stat.flags & PROC_FLAG_KTHREAD) != 0 || stat.state == 'Z' || stat.state == 'X')
            continue;
        (*count)++;
    }
    closedir(directory);
    return 0;
}
