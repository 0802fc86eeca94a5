/* container_log.h — a container's output as Docker's json-file log: written line by line, rotated
 * by size, read back (since, tail, follow). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

/* The file is Docker's json-file format, one JSON object per line:
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-23T17:20:01.123456789Z"}
 * A line longer than 16 KiB is cut into 16 KiB pieces, each an entry whose
 * "log" has no trailing newline except the last, as Docker does. Rotation
 * (max_size > 0): when the next entry would take the file past max_size,
 * PATH.(max_file-2) .. PATH.1 shift up by one (the oldest dropped), PATH
 * becomes PATH.1, and a new PATH starts; max_file 1 truncates instead. */

enum container_log_stream {
    CONTAINER_LOG_STDOUT = 1, /* the numbers of Docker's multiplexed stream header */
    CONTAINER_LOG_STDERR = 2,
};

struct container_log_options {
    uint64_t max_size; /* bytes; 0: never rotate */
    unsigned max_file; /* files kept, PATH included; 0 means 1 */
};

struct container_log;

/* Open (create, append) the log at path, mode 0640. */
int container_log_open(const char *path, const struct container_log_options *options,
                       struct container_log **log, struct keel_error *err);
/* Append output read from one of the container's pipes: complete lines
 * become entries stamped now; a partial line waits for the rest (or for
 * 16 KiB, or for container_log_flush). Never blocks beyond the write(2) to
 * the file; on a write error (a full disk) the data is dropped, the error
 * returned, and the log stays usable. */
int container_log_write(struct container_log *log, enum container_log_stream stream,
                        const void *data, size_t length, const struct timespec *now,
                        struct keel_error *err);
/* Write pending partial lines as entries (at the container's exit). */
int container_log_flush(struct container_log *log, const struct timespec *now,
                        struct keel_error *err);
void container_log_close(struct container_log *log);
/* Bytes written to the current file so far. */
uint64_t container_log_size(const struct container_log *log);

/* ---- reading ---- */

struct container_log_entry {
    enum container_log_stream stream;
    struct timespec time;
    const char *text; /* the "log" value, decoded; not NUL-terminated */
    size_t length;
};

struct container_log_filter {
    bool stdout_wanted;
    bool stderr_wanted;
    struct timespec since; /* entries at or after; {0,0}: all */
    struct timespec until; /* entries before; {0,0}: no end */
    long tail;             /* only the last N entries (of those wanted); -1: all */
};

/* Return non-zero to stop reading. */
typedef int container_log_entry_fn(const struct container_log_entry *entry, void *data);

/* A position in the log to follow from: the current file's identity and
 * offset. */
struct container_log_cursor {
    uint64_t device;
    uint64_t inode;
    uint64_t offset;
};

/* Read the entries the filter wants, oldest first: the rotated files
 * (PATH.N .. PATH.1) then PATH. A malformed line is skipped (a crash may
 * leave half a line), never an error. *cursor (may be NULL) gets the end
 * of PATH, to follow from. */
int container_log_read(const char *path, unsigned max_file,
                       const struct container_log_filter *filter, container_log_entry_fn *callback,
                       void *data, struct container_log_cursor *cursor, struct keel_error *err);
/* Follow: deliver the entries appended since *cursor (whole lines only) and
 * advance it; when PATH was rotated since (another inode), finish the old
 * file through PATH.1 and continue from the start of the new one. Returns
 * how many entries were delivered. Non-blocking: call it when the writer
 * has written (the daemon knows) or on a timer. */
int container_log_follow(const char *path, struct container_log_cursor *cursor,
                         const struct container_log_filter *filter,
                         container_log_entry_fn *callback, void *data, struct keel_error *err);

/* Docker's multiplexed-stream frame header for a payload of length bytes:
 * {stream, 0, 0, 0, length as big-endian 32 bits}. */
void container_log_frame_header(enum container_log_stream stream, uint32_t length,
                                unsigned char header[8]);

/* Format a time as Docker does in logs -t and events: RFC 3339 with
 * nanoseconds, UTC: "2026-11-23T17:20:01.123456789Z". buffer >= 40 bytes. */
void container_log_format_time(const struct timespec *time, char *buffer, size_t size);
/* Parse Docker's --since/--until: RFC 3339 (with or without fraction and
 * zone), unix seconds with optional fraction ("1700000000.5"), or a
 * duration before now ("10m", "1h30m", "45s"). */
int container_log_parse_time(const char *text, const struct timespec *now, struct timespec *time,
                             struct keel_error *err);
