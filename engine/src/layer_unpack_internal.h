/* layer_unpack_internal.h — the tree half of layer_unpack: entries applied to a directory. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

/* A directory whose mtime is set at the end, once nothing more is created in it. */
struct layer_directory_time {
    char *path; /* normalised, "" for the layer's root */
    struct timespec times[2];
};

/* The layer's directory while entries are applied to it. */
struct layer_tree {
    int directory_fd; /* the caller's, borrowed */
    /* Entries arrive grouped by directory: the last parent resolved is kept
     * open, which spares an openat2 for most entries. */
    char *cached_parent_path;
    int cached_parent_fd;
    struct layer_directory_time *directory_times;
    size_t directory_time_count;
    size_t directory_time_capacity;
};

/* layer_tree_apply_entry's return when reading the entry's data from the
 * archive failed: err is left alone, the caller (who owns the stream and
 * knows why it failed) reports it. */
#define LAYER_TREE_READ_FAILED (-2)

void layer_tree_init(struct layer_tree *tree, int directory_fd);

/* Apply one entry (its data, if any, read from reader). 0, -1 with err, or
 * LAYER_TREE_READ_FAILED. */
int layer_tree_apply_entry(struct layer_tree *tree, struct archive *reader,
                           struct archive_entry *entry, struct keel_error *err);

/* Set the recorded directories' mtimes; the last step of an unpack. */
int layer_tree_apply_directory_times(struct layer_tree *tree, struct keel_error *err);

void layer_tree_release(struct layer_tree *tree);
