/* tar_buffer.h — for unit tests: tar archives built in memory with libarchive's writer (tests link
 * it dynamically). */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A growing byte buffer: what the writer wrote. */
struct buffer {
    unsigned char *data;
    size_t length;
    size_t capacity;
};

static inline void buffer_append(struct buffer *buffer, const void *data, size_t length)
{
    if (buffer->length + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->length + length)
            capacity *= 2;
        buffer->data = realloc(buffer->data, capacity);
        assert_non_null(buffer->data);
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
}

static inline void buffer_free(struct buffer *buffer)
{
    free(buffer->data);
    *buffer = (struct buffer){0};
}

static inline la_ssize_t buffer_write_callback(struct archive *archive, void *data,
                                               const void *block, size_t length)
{
    (void)archive;
    buffer_append(data, block, length);
    return (la_ssize_t)length;
}

/* A pax tar writer into output; tar_close finishes it. */
static inline struct archive *tar_open(struct buffer *output)
{
    struct archive *archive = archive_write_new();
    assert_non_null(archive);
    assert_int_equal(archive_write_set_format_pax_restricted(archive), ARCHIVE_OK);
    assert_int_equal(archive_write_open(archive, output, NULL, buffer_write_callback, NULL),
                     ARCHIVE_OK);
    return archive;
}

static inline void tar_close(struct archive *archive)
{
    assert_int_equal(archive_write_close(archive), ARCHIVE_OK);
    archive_write_free(archive);
}
