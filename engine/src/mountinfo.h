/* mountinfo.h — parses /proc/self/mountinfo and plans the unmounting of every filesystem. */
#pragma once

#include <stddef.h>

#include "error.h"

struct mountinfo_entry {
    int mount_id;
    int parent_id;
    char *root;          /* path inside the filesystem that is mounted, unescaped */
    char *mount_point;   /* unescaped: "\040" is a space again */
    char *options;       /* per-mount options, e.g. "rw,nosuid,relatime" */
    char *fs_type;       /* "ext4", "fuse.sshfs", ... */
    char *source;        /* unescaped, e.g. "/dev/vda1" */
    char *super_options; /* per-superblock options */
};

struct mountinfo {
    struct mountinfo_entry *entries; /* in the kernel's order: mount order */
    size_t count;
};

/* Parse the text of a mountinfo file. A malformed line fails the whole
 * parse with an error naming the line number and what is wrong. */
int mountinfo_parse(const char *text, struct mountinfo *out, struct keel_error *err);
void mountinfo_free(struct mountinfo *info);

/* Decode the kernel's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. Fails on a backslash not followed by three
 * octal digits. */
int mountinfo_unescape(char *text);

enum unmount_action {
    UNMOUNT_ACTION_UNMOUNT,    /* umount2(); remount read-only if that fails */
    UNMOUNT_ACTION_REMOUNT_RO, /* cannot be unmounted (/): remount read-only */
};

struct unmount_step {
    const struct mountinfo_entry *entry;
    enum unmount_action action;
};

/* Order info's mounts so that every mount comes before the mount it sits
 * on (children before parents; later mounts first among equals) and say
 * what to do with each. *steps (caller frees) points into info. */
int mountinfo_plan_unmount(const struct mountinfo *info, struct unmount_step **steps, size_t *count,
                           struct keel_error *err);
