/* layer_unpack.c — a layer's tar stream: decompression, diff id, the loop over entries. */
#include "layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer_unpack_internal.h"

/* Large reads and hand-overs keep the per-call overhead of read(2),
 * libarchive's buffering and the thread hand-over small next to the
 * copying itself. */
#define LAYER_INPUT_BUFFER_SIZE (1024 * 1024)
#define LAYER_SLOT_SIZE (1024 * 1024)
#define LAYER_SLOT_COUNT 8
#define LAYER_PROGRESS_INTERVAL (1024 * 1024)
/* Enough of the stream's start to tell its compression (xz's magic). */
#define LAYER_MAGIC_LENGTH 6

/* The stream is read on two threads. A producer thread reads input_fd,
 * undoes the compression if any (libarchive's "raw" format over its gzip,
 * zstd and xz filters: the whole stream as one entry), hashes the
 * uncompressed stream (what the diff id covers) and puts it in a ring of
 * slots. The calling thread, the consumer, parses the tar format from the
 * slots with a second libarchive reader (tar only, no filters) and writes
 * the tree. Decompressing and hashing overlap the file system work, as
 * `tar -xz` overlaps gzip. */
struct layer_stream {
    int input_fd;
    unsigned char *input_buffer; /* starts with the stream's first bytes */
    size_t prefix_length;        /* how many, read to tell the compression */
    bool compressed;
    bool prefix_pending;   /* the outer reader has not had them yet */
    struct archive *outer; /* decompression, when compressed */
    struct archive *inner; /* the tar format */
    const struct layer_unpack_options *options;

    /* Owned by the producer while it runs. */
    struct digest_hasher hasher;
    uint64_t compressed_bytes;
    uint64_t tar_bytes;
    size_t fill_slot; /* the slot being filled: (head + filled) mod count */
    size_t fill_used;

    pthread_t producer;
    bool producer_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* Under lock. Slots [head, head + filled) hold data for the consumer,
     * the one at head possibly still in the inner reader's hands. */
    unsigned char *slots[LAYER_SLOT_COUNT];
    size_t slot_lengths[LAYER_SLOT_COUNT];
    size_t head;
    size_t filled;
    bool produced_all;     /* the producer has stopped: end of stream or failure */
    bool cancelled;        /* the consumer gave up */
    int read_errno;        /* read(2) on input_fd failed */
    char outer_error[256]; /* decompression failed, when non-empty */
    uint64_t published_compressed_bytes;
    uint64_t published_tar_bytes;

    /* Owned by the consumer. */
    bool holding_slot;
    bool saw_end;   /* the inner reader asked past the end of the stream */
    bool saw_error; /* the inner reader got the producer's failure */
    struct layer_unpack_stats stats;
    uint64_t next_progress;
};

/* The magics of the filters the outer reader has; anything else is read
 * as a plain tar stream. */
static bool layer_magic_is_compressed(const unsigned char *data, size_t length)
{
    static const unsigned char gzip[] = {0x1f, 0x8b};
    static const unsigned char zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    if (length >= sizeof gzip && memcmp(data, gzip, sizeof gzip) == 0)
        return true;
    if (length >= sizeof zstd && memcmp(data, zstd, sizeof zstd) == 0)
        return true;
    /* A zstd skippable frame: 0x184D2A5? little-endian. */
    if (length >= 4 && (data[0] & 0xf0) == 0x50 && data[1] == 0x2a && data[2] == 0x4d &&
        data[3] == 0x18)
        return true;
    return length >= sizeof xz && memcmp(data, xz, sizeof xz) == 0;
}

static ssize_t layer_read(int fd, void *buffer, size_t size)
{
    ssize_t length;
    do
        length = read(fd, buffer, size);
    while (length < 0 && errno == EINTR);
    return length;
}

static la_ssize_t layer_stream_read_input(struct archive *archive, void *data, const void **buffer)
{
    struct layer_stream *stream = data;
    (void)archive;
    *buffer = stream->input_buffer;
    if (stream->prefix_pending) {
        stream->prefix_pending = false;
        return (la_ssize_t)stream->prefix_length;
    }
    ssize_t length = layer_read(stream->input_fd, stream->input_buffer, LAYER_INPUT_BUFFER_SIZE);
    if (length < 0) {
        stream->read_errno = errno;
        return -1;
    }
    stream->compressed_bytes += (uint64_t)length;
    return length;
}

static void layer_producer_publish(struct layer_stream *stream, bool last)
{
    pthread_mutex_lock(&stream->lock);
    if (stream->fill_used > 0) {
        stream->slot_lengths[stream->fill_slot] = stream->fill_used;
        stream->filled++;
    }
    stream->published_compressed_bytes = stream->compressed_bytes;
    stream->published_tar_bytes = stream->tar_bytes;
    stream->produced_all = last;
    pthread_cond_broadcast(&stream->changed);
    pthread_mutex_unlock(&stream->lock);
}

/* Wait for a free slot to fill (false: the consumer cancelled). */
static bool layer_producer_next_slot(struct layer_stream *stream)
{
    pthread_mutex_lock(&stream->lock);
    while (stream->filled == LAYER_SLOT_COUNT && !stream->cancelled)
        pthread_cond_wait(&stream->changed, &stream->lock);
    bool go_on = !stream->cancelled;
    stream->fill_slot = (stream->head + stream->filled) % LAYER_SLOT_COUNT;
    stream->fill_used = 0;
    pthread_mutex_unlock(&stream->lock);
    return go_on;
}

static bool layer_producer_hand_over(struct layer_stream *stream)
{
    layer_producer_publish(stream, false);
    return layer_producer_next_slot(stream);
}

/* Hand the slot over when it is full, half full (small blocks, like
 * gzip's 64 KiB, go in batches), or when the consumer has nothing left. */
static bool layer_producer_hand_over_due(struct layer_stream *stream)
{
    bool due = stream->fill_used >= LAYER_SLOT_SIZE / 2;
    if (!due && stream->fill_used > 0) {
        pthread_mutex_lock(&stream->lock);
        due = stream->filled == 0;
        pthread_mutex_unlock(&stream->lock);
    }
    return !due || layer_producer_hand_over(stream);
}

/* Hash data and copy it into slots. */
static bool layer_producer_append(struct layer_stream *stream, const unsigned char *data,
                                  size_t length)
{
    digest_hasher_update(&stream->hasher, data, length);
    stream->tar_bytes += length;
    while (length > 0) {
        if (stream->fill_used == LAYER_SLOT_SIZE && !layer_producer_hand_over(stream))
            return false;
        size_t room = LAYER_SLOT_SIZE - stream->fill_used;
        size_t part = length < room ? length : room;
        memcpy(stream->slots[stream->fill_slot] + stream->fill_used, data, part);
        stream->fill_used += part;
        data += part;
        length -= part;
    }
    return true;
}

static bool layer_producer_decompress(struct layer_stream *stream)
{
    for (;;) {
        const void *block;
        size_t length;
        la_int64_t offset;
        int result = archive_read_data_block(stream->outer, &block, &length, &offset);
        if (result == ARCHIVE_EOF)
            return true;
        if (result < ARCHIVE_WARN) {
            if (!stream->read_errno) {
                const char *message = archive_error_string(stream->outer);
                snprintf(stream->outer_error, sizeof stream->outer_error, "%s",
                         message ? message : "decompression failed");
            }
            return true;
        }
        if (!layer_producer_append(stream, block, length) || !layer_producer_hand_over_due(stream))
            return false;
    }
}

/* An uncompressed stream is read straight into the slots: no copy. */
static bool layer_producer_read_plain(struct layer_stream *stream)
{
    if (!layer_producer_append(stream, stream->input_buffer, stream->prefix_length))
        return false;
    for (;;) {
        if (stream->fill_used == LAYER_SLOT_SIZE && !layer_producer_hand_over(stream))
            return false;
        unsigned char *end = stream->slots[stream->fill_slot] + stream->fill_used;
        ssize_t length = layer_read(stream->input_fd, end, LAYER_SLOT_SIZE - stream->fill_used);
        if (length < 0)
            stream->read_errno = errno;
        if (length <= 0)
            return true;
        digest_hasher_update(&stream->hasher, end, (size_t)length);
        stream->compressed_bytes += (uint64_t)length;
        stream->tar_bytes += (uint64_t)length;
        stream->fill_used += (size_t)length;
        if (!layer_producer_hand_over_due(stream))
            return false;
    }
}

/* The producer: the whole stream, to its very end (the end-of-archive
 * blocks and any padding after them count for the diff id). It stops
 * early only when the consumer cancels. */
static void *layer_producer_run(void *data)
{
    struct layer_stream *stream = data;
    if (!layer_producer_next_slot(stream))
        return NULL;
    bool finished =
        stream->compressed ? layer_producer_decompress(stream) : layer_producer_read_plain(stream);
    if (finished)
        layer_producer_publish(stream, true);
    return NULL;
}

/* The inner reader's source: the next filled slot, handed over without a
 * copy. The slot handed over last is released now: libarchive promises to
 * be done with a buffer when it asks for the next. */
static la_ssize_t layer_stream_read_tar(struct archive *inner, void *data, const void **buffer)
{
    struct layer_stream *stream = data;
    pthread_mutex_lock(&stream->lock);
    if (stream->holding_slot) {
        stream->head = (stream->head + 1) % LAYER_SLOT_COUNT;
        stream->filled--;
        stream->holding_slot = false;
        pthread_cond_broadcast(&stream->changed);
    }
    while (stream->filled == 0 && !stream->produced_all)
        pthread_cond_wait(&stream->changed, &stream->lock);
    la_ssize_t length = 0;
    if (stream->filled > 0) {
        *buffer = stream->slots[stream->head];
        length = (la_ssize_t)stream->slot_lengths[stream->head];
        stream->holding_slot = true;
    } else if (stream->read_errno || stream->outer_error[0]) {
        stream->saw_error = true;
        length = -1;
    } else {
        stream->saw_end = true;
    }
    stream->stats.compressed_bytes = stream->published_compressed_bytes;
    stream->stats.tar_bytes = stream->published_tar_bytes;
    pthread_mutex_unlock(&stream->lock);

    if (length < 0)
        archive_set_error(inner, EIO, "the compressed stream failed");
    const struct layer_unpack_options *options = stream->options;
    if (options && options->progress && stream->stats.compressed_bytes >= stream->next_progress) {
        options->progress(&stream->stats, options->progress_data);
        stream->next_progress = stream->stats.compressed_bytes + LAYER_PROGRESS_INTERVAL;
    }
    return length;
}

static void layer_stream_stop(struct layer_stream *stream);

/* Report a failure of either reader: a read(2) error, a corrupt compressed
 * stream, an early end, or a corrupt tar stream. The producer is stopped
 * first, so its findings can be read. */
static int layer_stream_fail(struct layer_stream *stream, struct archive *archive,
                             struct keel_error *err)
{
    layer_stream_stop(stream);
    if (stream->read_errno)
        return keel_error_set(err, stream->read_errno, "read layer");
    if (stream->outer_error[0])
        return keel_error_invalid(err, "corrupt layer: %s", stream->outer_error);
    if (stream->saw_end)
        return keel_error_invalid(err, "truncated layer");
    const char *message = archive_error_string(archive);
    return keel_error_invalid(err, "corrupt layer: %s", message ? message : "unreadable");
}

/* Read the stream's first bytes and set up the outer reader if they say
 * it is compressed. */
static int layer_stream_open_outer(struct layer_stream *stream, struct keel_error *err)
{
    while (stream->prefix_length < LAYER_MAGIC_LENGTH) {
        ssize_t length = layer_read(stream->input_fd, stream->input_buffer + stream->prefix_length,
                                    LAYER_INPUT_BUFFER_SIZE - stream->prefix_length);
        if (length < 0)
            return keel_error_set(err, errno, "read layer");
        if (length == 0)
            break;
        stream->prefix_length += (size_t)length;
        stream->compressed_bytes += (uint64_t)length;
    }
    stream->compressed = layer_magic_is_compressed(stream->input_buffer, stream->prefix_length);
    if (!stream->compressed)
        return 0;

    stream->outer = archive_read_new();
    if (!stream->outer)
        return keel_error_set(err, ENOMEM, "unpack layer");
    if (archive_read_support_filter_gzip(stream->outer) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(stream->outer) != ARCHIVE_OK ||
        archive_read_support_filter_xz(stream->outer) != ARCHIVE_OK ||
        archive_read_support_format_raw(stream->outer) != ARCHIVE_OK)
        return keel_error_invalid(err, "unpack layer: libarchive lacks gzip, zstd or xz support");
    stream->prefix_pending = true;
    struct archive_entry *whole;
    if (archive_read_open(stream->outer, stream, NULL, layer_stream_read_input, NULL) !=
            ARCHIVE_OK ||
        archive_read_next_header(stream->outer, &whole) != ARCHIVE_OK) {
        if (stream->read_errno)
            return keel_error_set(err, stream->read_errno, "read layer");
        const char *message = archive_error_string(stream->outer);
        return keel_error_invalid(err, "corrupt layer: %s", message ? message : "unreadable");
    }
    return 0;
}

static int layer_stream_open(struct layer_stream *stream, struct keel_error *err)
{
    stream->input_buffer = malloc(LAYER_INPUT_BUFFER_SIZE);
    for (size_t i = 0; i < LAYER_SLOT_COUNT; i++)
        if (!(stream->slots[i] = malloc(LAYER_SLOT_SIZE)))
            return keel_error_set(err, ENOMEM, "unpack layer");
    stream->inner = archive_read_new();
    if (!stream->input_buffer || !stream->inner)
        return keel_error_set(err, ENOMEM, "unpack layer");
    if (archive_read_support_format_tar(stream->inner) != ARCHIVE_OK)
        return keel_error_invalid(err, "unpack layer: libarchive lacks tar support");
    if (layer_stream_open_outer(stream, err) < 0)
        return -1;

    int error = pthread_create(&stream->producer, NULL, layer_producer_run, stream);
    if (error)
        return keel_error_set(err, error, "unpack layer: start the decompression thread");
    stream->producer_started = true;

    if (archive_read_open(stream->inner, stream, NULL, layer_stream_read_tar, NULL) != ARCHIVE_OK)
        return layer_stream_fail(stream, stream->inner, err);
    return 0;
}

/* Stop the producer (it may be waiting for a slot) and wait for it. */
static void layer_stream_stop(struct layer_stream *stream)
{
    if (!stream->producer_started)
        return;
    pthread_mutex_lock(&stream->lock);
    stream->cancelled = true;
    pthread_cond_broadcast(&stream->changed);
    pthread_mutex_unlock(&stream->lock);
    pthread_join(stream->producer, NULL);
    stream->producer_started = false;
}

static void layer_stream_close(struct layer_stream *stream)
{
    layer_stream_stop(stream);
    if (stream->inner)
        archive_read_free(stream->inner);
    if (stream->outer)
        archive_read_free(stream->outer);
    for (size_t i = 0; i < LAYER_SLOT_COUNT; i++)
        free(stream->slots[i]);
    free(stream->input_buffer);
}

/* After the end-of-archive blocks: consume the rest, which the producer
 * hashes, to the end of the stream. */
static int layer_stream_drain(struct layer_stream *stream, struct keel_error *err)
{
    const void *block;
    la_ssize_t length;
    while ((length = layer_stream_read_tar(stream->inner, stream, &block)) > 0)
        ;
    if (length < 0)
        return layer_stream_fail(stream, stream->inner, err);
    return 0;
}

static int layer_stream_apply(struct layer_stream *stream, struct layer_tree *tree,
                              struct keel_error *err)
{
    for (;;) {
        struct archive_entry *entry;
        int result = archive_read_next_header(stream->inner, &entry);
        if (result == ARCHIVE_EOF)
            return 0;
        if (result < ARCHIVE_WARN)
            return layer_stream_fail(stream, stream->inner, err);
        result = layer_tree_apply_entry(tree, stream->inner, entry, err);
        if (result == LAYER_TREE_READ_FAILED) {
            layer_stream_fail(stream, stream->inner, err);
            const char *path = archive_entry_pathname(entry);
            return keel_error_prefix(err, "entry \"%s\"", path ? path : "?");
        }
        if (result < 0)
            return -1;
        stream->stats.entries++;
    }
}

int layer_unpack(int input_fd, int directory_fd, const struct layer_unpack_options *options,
                 struct digest *diff_id, struct layer_unpack_stats *stats, struct keel_error *err)
{
    struct layer_stream stream = {.input_fd = input_fd, .options = options};
    struct layer_tree tree;
    int result;

    pthread_mutex_init(&stream.lock, NULL);
    pthread_cond_init(&stream.changed, NULL);
    digest_hasher_init(&stream.hasher);
    layer_tree_init(&tree, directory_fd);
    result = layer_stream_open(&stream, err);
    if (result == 0)
        result = layer_stream_apply(&stream, &tree, err);
    if (result == 0)
        result = layer_stream_drain(&stream, err);
    /* From here on the producer has stopped: its fields are ours. */
    layer_stream_stop(&stream);
    if (result == 0)
        result = layer_tree_apply_directory_times(&tree, err);
    stream.stats.compressed_bytes = stream.compressed_bytes;
    stream.stats.tar_bytes = stream.tar_bytes;
    if (result == 0) {
        digest_hasher_finish(&stream.hasher, diff_id);
        if (options && options->progress)
            options->progress(&stream.stats, options->progress_data);
    }
    if (stats)
        *stats = stream.stats;
    layer_tree_release(&tree);
    layer_stream_close(&stream);
    pthread_cond_destroy(&stream.changed);
    pthread_mutex_destroy(&stream.lock);
    return result;
}
