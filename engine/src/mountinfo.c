/* mountinfo.c — parses /proc/self/mountinfo and plans the unmounting of every filesystem. */
#include "mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define MOUNTINFO_FIELDS_BEFORE_OPTIONAL 6

static bool mountinfo_is_octal(char c)
{
    return c >= '0' && c <= '7';
}

int mountinfo_unescape(char *text)
{
    char *read = text, *write = text;
    while (*read != '\0') {
        if (*read != '\\') {
            *write++ = *read++;
            continue;
        }
        if (!mountinfo_is_octal(read[1]) || !mountinfo_is_octal(read[2]) ||
            !mountinfo_is_octal(read[3]))
            return -1;
        int value = (read[1] - '0') * 64 + (read[2] - '0') * 8 + (read[3] - '0');
        if (value == 0 || value > 0xff)
            return -1;
        *write++ = (char)value;
        read += 4;
    }
    *write = '\0';
    return 0;
}

static int mountinfo_parse_id(const char *word, int *id)
{
    char *end;
    errno = 0;
    long value = strtol(word, &end, 10);
    if (errno != 0 || end == word || *end != '\0' || value < 0 || value > 0x7fffffff)
        return -1;
    *id = (int)value;
    return 0;
}

static void mountinfo_entry_free(struct mountinfo_entry *entry)
{
    free(entry->root);
    free(entry->mount_point);
    free(entry->options);
    free(entry->fs_type);
    free(entry->source);
    free(entry->super_options);
}

void mountinfo_free(struct mountinfo *info)
{
    for (size_t i = 0; i < info->count; i++)
        mountinfo_entry_free(&info->entries[i]);
    free(info->entries);
    info->entries = NULL;
    info->count = 0;
}

/* Parse one line (NUL-terminated, no newline; modified in place). Returns a
 * static description of what is wrong, or NULL on success. */
static const char *mountinfo_parse_line(char *line, struct mountinfo_entry *entry)
{
    char *words[64];
    size_t count = 0;
    char *save = NULL;

    for (char *word = strtok_r(line, " ", &save); word != NULL; word = strtok_r(NULL, " ", &save)) {
        if (count == sizeof words / sizeof words[0])
            return "too many fields";
        words[count++] = word;
    }
    if (count < MOUNTINFO_FIELDS_BEFORE_OPTIONAL + 4)
        return "too few fields";

    /* Optional fields ("shared:1 master:2") run up to a lone "-". */
    size_t separator = MOUNTINFO_FIELDS_BEFORE_OPTIONAL;
    while (separator < count && strcmp(words[separator], "-") != 0)
        separator++;
    if (separator == count)
        return "no \"-\" separator";
    if (count - separator - 1 != 3)
        return "want fs type, source and options after \"-\"";

    if (mountinfo_parse_id(words[0], &entry->mount_id) < 0)
        return "bad mount id";
    if (mountinfo_parse_id(words[1], &entry->parent_id) < 0)
        return "bad parent id";
    if (strchr(words[2], ':') == NULL)
        return "bad major:minor";
    if (mountinfo_unescape(words[3]) < 0 || mountinfo_unescape(words[4]) < 0 ||
        mountinfo_unescape(words[separator + 2]) < 0)
        return "bad escape";
    if (words[4][0] != '/')
        return "mount point is not absolute";

    entry->root = strdup(words[3]);
    entry->mount_point = strdup(words[4]);
    entry->options = strdup(words[5]);
    entry->fs_type = strdup(words[separator + 1]);
    entry->source = strdup(words[separator + 2]);
    entry->super_options = strdup(words[separator + 3]);
    if (entry->root == NULL || entry->mount_point == NULL || entry->options == NULL ||
        entry->fs_type == NULL || entry->source == NULL || entry->super_options == NULL) {
        mountinfo_entry_free(entry);
        return "out of memory";
    }
    return NULL;
}

int mountinfo_parse(const char *text, struct mountinfo *out, struct keel_error *err)
{
    _cleanup_free_ char *copy = strdup(text);
    struct mountinfo info = {0};
    size_t capacity = 0, line_number = 0;
    char *line;

    if (copy == NULL)
        return keel_error_set(err, ENOMEM, "parse mountinfo");
    line = copy;
    while (*line != '\0') {
        char *newline = strchr(line, '\n');
        char *next = newline != NULL ? newline + 1 : line + strlen(line);
        if (newline != NULL)
            *newline = '\0';
        line_number++;

        if (info.count == capacity) {
            size_t bigger = capacity ? capacity * 2 : 32;
            struct mountinfo_entry *grown = realloc(info.entries, bigger * sizeof *grown);
            if (grown == NULL) {
                mountinfo_free(&info);
                return keel_error_set(err, ENOMEM, "parse mountinfo");
            }
            info.entries = grown;
            capacity = bigger;
        }
        struct mountinfo_entry *entry = &info.entries[info.count];
        memset(entry, 0, sizeof *entry);
        const char *problem = mountinfo_parse_line(line, entry);
        if (problem != NULL) {
            mountinfo_free(&info);
            return keel_error_invalid(err, "parse mountinfo: line %zu: %s", line_number, problem);
        }
        info.count++;
        line = next;
    }
    *out = info;
    return 0;
}

/* How many mounts lie between entry and the top of the tree. Parents not in
 * the table (the namespace's root is mounted on something outside it) end
 * the walk; the walk is bounded, so a corrupt cycle cannot hang PID 1. */
static size_t mountinfo_depth(const struct mountinfo *info, size_t index)
{
    size_t depth = 0;
    int parent = info->entries[index].parent_id;
    int current = info->entries[index].mount_id;

    while (depth <= info->count && parent != current) {
        size_t found = info->count;
        for (size_t i = 0; i < info->count; i++) {
            if (info->entries[i].mount_id == parent) {
                found = i;
                break;
            }
        }
        if (found == info->count)
            break;
        depth++;
        current = parent;
        parent = info->entries[found].parent_id;
    }
    return depth;
}

struct mountinfo_sort_key {
    size_t depth;
    size_t position;
};

static int mountinfo_compare_for_unmount(const void *left, const void *right)
{
    const struct mountinfo_sort_key *a = left, *b = right;
    if (a->depth != b->depth)
        return a->depth > b->depth ? -1 : 1; /* deeper first */
    if (a->position != b->position)
        return a->position > b->position ? -1 : 1; /* later first */
    return 0;
}

int mountinfo_plan_unmount(const struct mountinfo *info, struct unmount_step **steps, size_t *count,
                           struct keel_error *err)
{
    _cleanup_free_ struct mountinfo_sort_key *keys = NULL;
    struct unmount_step *plan;

    *steps = NULL;
    *count = 0;
    if (info->count == 0)
        return 0;
    keys = calloc(info->count, sizeof *keys);
    plan = calloc(info->count, sizeof *plan);
    if (keys == NULL || plan == NULL) {
        free(plan);
        return keel_error_set(err, ENOMEM, "plan unmount");
    }
    for (size_t i = 0; i < info->count; i++) {
        keys[i].depth = mountinfo_depth(info, i);
        keys[i].position = i;
    }
    qsort(keys, info->count, sizeof *keys, mountinfo_compare_for_unmount);
    for (size_t i = 0; i < info->count; i++) {
        const struct mountinfo_entry *entry = &info->entries[keys[i].position];
        plan[i].entry = entry;
        /* / cannot be unmounted from under the running system. */
        plan[i].action = strcmp(entry->mount_point, "/") == 0 ? UNMOUNT_ACTION_REMOUNT_RO
                                                              : UNMOUNT_ACTION_UNMOUNT;
    }
    *steps = plan;
    *count = info->count;
    return 0;
}
