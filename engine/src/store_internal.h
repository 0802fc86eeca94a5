/* store_internal.h — helpers shared by the store_*.c files (not part of the store's interface). */
#pragma once

#include <stddef.h>

#include "error.h"
#include "store.h"

/* Fill err with a message and errno_value, without strerror's text (the
 * message already says it: "blob sha256:X not found"). Returns -1. */
int store_error_errno(struct keel_error *err, int errno_value, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuse a change to a read-only store (EROFS) or one made without the
 * writer's lock (ENOLCK): what names the change, for the message. */
int store_check_writable(const struct store *store, const char *what, struct keel_error *err);

/* A fresh name "tmp/KIND-PID-COUNTER-RANDOM" (relative to the root's fd),
 * unique between the threads and processes writing to one store. */
void store_temporary_name(const char *kind, char *name, size_t size);
#define STORE_TEMPORARY_NAME_MAX 96

/* fsync the directory path (relative to dir_fd), making renames in it durable. */
int store_sync_directory(int dir_fd, const char *path, struct keel_error *err);

/* renameat2(RENAME_NOREPLACE), with a fallback for filesystems without it:
 * link+unlink for a file, a plain rename for a directory (which cannot
 * replace a non-empty one). -1 with errno (EEXIST or ENOTEMPTY when to exists). */
int store_rename_noreplace(int dir_fd, const char *from, const char *to);

/* The absolute path of name under the store directory path (heap), or NULL. */
char *store_path_join(const char *directory, const char *name);

/* The digests named by the entries of directory (relative to the writable
 * root; none without one) whose type is wanted (DT_REG or DT_DIR); names
 * that are not 64 lower-case hex digits are skipped. */
int store_list_digests(const struct store *store, const char *directory, unsigned char wanted,
                       struct digest **digests, size_t *count, struct keel_error *err);
