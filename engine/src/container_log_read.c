/* container_log_read.c — reading json-file logs: entries, since/until/tail, follow. */
#include "container_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define READ_CHUNK 65536
/* A line longer than this is no entry of ours (those stay under 100 KiB,
 * attrs aside): it is skipped rather than buffered without bound. */
#define READ_LINE_MAX (4u << 20)
/* Follow probes PATH.1, PATH.2, ... for the file it was reading. */
#define FOLLOW_PROBE_MAX 1000

/* ---- entries ---- */

static const char *json_skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool hex4_parse(const char *p, const char *end, unsigned *value)
{
    *value = 0;
    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(p[i]);
        if (digit < 0)
            return false;
        *value = *value << 4 | (unsigned)digit;
    }
    return true;
}

static char *utf8_encode(char *out, unsigned code_point)
{
    if (code_point < 0x80) {
        *out++ = (char)code_point;
    } else if (code_point < 0x800) {
        *out++ = (char)(0xc0 | code_point >> 6);
        *out++ = (char)(0x80 | (code_point & 0x3f));
    } else if (code_point < 0x10000) {
        *out++ = (char)(0xe0 | code_point >> 12);
        *out++ = (char)(0x80 | ((code_point >> 6) & 0x3f));
        *out++ = (char)(0x80 | (code_point & 0x3f));
    } else {
        *out++ = (char)(0xf0 | code_point >> 18);
        *out++ = (char)(0x80 | ((code_point >> 12) & 0x3f));
        *out++ = (char)(0x80 | ((code_point >> 6) & 0x3f));
        *out++ = (char)(0x80 | (code_point & 0x3f));
    }
    return out;
}

/* Decode the JSON string opening at *p in place (an escape never decodes
 * longer than itself, so the output never overtakes the input). Returns
 * the position after its closing quote, NULL when malformed. A lone
 * surrogate becomes U+FFFD, as in Go. */
static char *json_string_decode(char *p, const char *end, char **text, size_t *length)
{
    char *in = p + 1, *out = in;

    *text = out;
    while (in < end) {
        char *run = in;
        while (in < end && *in != '"' && *in != '\\')
            in++;
        if (out != run)
            memmove(out, run, in - run);
        out += in - run;
        if (in == end)
            return NULL;
        if (*in == '"') {
            *length = out - *text;
            return in + 1;
        }
        if (++in == end)
            return NULL;
        switch (*in++) {
        case '"':
            *out++ = '"';
            break;
        case '\\':
            *out++ = '\\';
            break;
        case '/':
            *out++ = '/';
            break;
        case 'b':
            *out++ = '\b';
            break;
        case 'f':
            *out++ = '\f';
            break;
        case 'n':
            *out++ = '\n';
            break;
        case 'r':
            *out++ = '\r';
            break;
        case 't':
            *out++ = '\t';
            break;
        case 'u': {
            unsigned code_point, low;
            if (!hex4_parse(in, end, &code_point))
                return NULL;
            in += 4;
            if (code_point >= 0xd800 && code_point < 0xdc00 && end - in >= 6 && in[0] == '\\' &&
                in[1] == 'u' && hex4_parse(in + 2, end, &low) && low >= 0xdc00 && low < 0xe000) {
                code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
                in += 6;
            } else if (code_point >= 0xd800 && code_point < 0xe000) {
                code_point = 0xfffd;
            }
            out = utf8_encode(out, code_point);
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

/* Past any JSON value (attrs and whatever a newer writer adds). */
static const char *json_value_skip(const char *p, const char *end)
{
    int depth = 0;

    do {
        p = json_skip_space(p, end);
        if (p == end)
            return NULL;
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return NULL;
            p++;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0)
                return NULL;
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ')
                p++;
        }
    } while (depth > 0);
    return p;
}

/* An entry's "time": RFC 3339 in full, zone included, as Docker writes it.
 * The decoded value is NUL-terminated in place: value[length] is at most
 * its closing quote, already parsed. */
static bool entry_time_parse(char *value, size_t length, struct timespec *time)
{
    static const struct timespec epoch;
    struct keel_error ignored;

    if (length < 20 || value[10] != 'T' ||
        !(value[length - 1] == 'Z' || value[length - 6] == '+' || value[length - 6] == '-'))
        return false;
    value[length] = '\0';
    return container_log_parse_time(value, &epoch, time, &ignored) == 0;
}

/* One line of the file into an entry, decoding "log" in place. */
static bool entry_parse(char *line, size_t length, struct container_log_entry *entry)
{
    char *p = line, *end = line + length;
    bool have_time = false;

    *entry = (struct container_log_entry){.text = ""};
    p = (char *)json_skip_space(p, end);
    if (p == end || *p++ != '{')
        return false;
    for (;;) {
        char *key, *value;
        size_t key_length, value_length;

        p = (char *)json_skip_space(p, end);
        if (p == end || *p != '"' || (p = json_string_decode(p, end, &key, &key_length)) == NULL)
            return false;
        p = (char *)json_skip_space(p, end);
        if (p == end || *p++ != ':')
            return false;
        p = (char *)json_skip_space(p, end);
        if (key_length == 3 && memcmp(key, "log", 3) == 0) {
            if (p == end || *p != '"' ||
                (p = json_string_decode(p, end, &value, &entry->length)) == NULL)
                return false;
            entry->text = value;
        } else if ((key_length == 6 && memcmp(key, "stream", 6) == 0) ||
                   (key_length == 4 && memcmp(key, "time", 4) == 0)) {
            if (p == end || *p != '"' ||
                (p = json_string_decode(p, end, &value, &value_length)) == NULL)
                return false;
            if (key_length == 4) {
                if (!entry_time_parse(value, value_length, &entry->time))
                    return false;
                have_time = true;
            } else if (value_length == 6 && memcmp(value, "stdout", 6) == 0) {
                entry->stream = CONTAINER_LOG_STDOUT;
            } else if (value_length == 6 && memcmp(value, "stderr", 6) == 0) {
                entry->stream = CONTAINER_LOG_STDERR;
            } else {
                return false;
            }
        } else if ((p = (char *)json_value_skip(p, end)) == NULL) {
            return false;
        }
        p = (char *)json_skip_space(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p == end || *p++ != '}')
            return false;
        break;
    }
    return json_skip_space(p, end) == end && have_time && entry->stream != 0;
}

static bool timespec_is_zero(const struct timespec *time)
{
    return time->tv_sec == 0 && time->tv_nsec == 0;
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A NULL filter wants everything. */
static bool filter_wants(const struct container_log_filter *filter,
                         const struct container_log_entry *entry)
{
    if (filter == NULL)
        return true;
    if (!(entry->stream == CONTAINER_LOG_STDOUT ? filter->stdout_wanted : filter->stderr_wanted))
        return false;
    if (!timespec_is_zero(&filter->since) && timespec_before(&entry->time, &filter->since))
        return false;
    if (!timespec_is_zero(&filter->until) && !timespec_before(&entry->time, &filter->until))
        return false;
    return true;
}

/* ---- reading files ---- */

struct tail_slot {
    enum container_log_stream stream;
    struct timespec time;
    char *text;
    size_t length, capacity;
};

/* The last `limit` wanted entries, copied, oldest at `first`. */
struct tail_ring {
    struct tail_slot *slots;
    size_t limit, count, allocated, first;
};

struct log_reader {
    const struct container_log_filter *filter;
    container_log_entry_fn *callback;
    void *data;
    struct tail_ring *ring; /* NULL: deliver at once */
    int delivered;
    bool stopped;
    char *buffer;
    size_t capacity;
};

static int tail_ring_push(struct tail_ring *ring, const struct container_log_entry *entry)
{
    struct tail_slot *slot;

    if (ring->limit == 0)
        return 0;
    if (ring->count < ring->limit) {
        if (ring->count == ring->allocated) {
            size_t more = ring->allocated ? ring->allocated * 2 : 64;
            if (more > ring->limit)
                more = ring->limit;
            struct tail_slot *bigger = realloc(ring->slots, more * sizeof *bigger);
            if (bigger == NULL)
                return -1;
            memset(bigger + ring->allocated, 0, (more - ring->allocated) * sizeof *bigger);
            ring->slots = bigger;
            ring->allocated = more;
        }
        slot = &ring->slots[ring->count++];
    } else {
        slot = &ring->slots[ring->first];
        ring->first = (ring->first + 1) % ring->limit;
    }
    if (slot->capacity < entry->length) {
        char *bigger = realloc(slot->text, entry->length);
        if (bigger == NULL)
            return -1;
        slot->text = bigger;
        slot->capacity = entry->length;
    }
    if (entry->length > 0)
        memcpy(slot->text, entry->text, entry->length);
    slot->length = entry->length;
    slot->stream = entry->stream;
    slot->time = entry->time;
    return 0;
}

static void tail_ring_deliver(struct log_reader *reader)
{
    struct tail_ring *ring = reader->ring;

    for (size_t i = 0; i < ring->count && !reader->stopped; i++) {
        struct tail_slot *slot = &ring->slots[(ring->first + i) % ring->count];
        struct container_log_entry entry = {.stream = slot->stream,
                                            .time = slot->time,
                                            .text = slot->text != NULL ? slot->text : "",
                                            .length = slot->length};
        reader->delivered++;
        if (reader->callback(&entry, reader->data) != 0)
            reader->stopped = true;
    }
}

static void tail_ring_free(struct tail_ring *ring)
{
    for (size_t i = 0; i < ring->allocated; i++)
        free(ring->slots[i].text);
    free(ring->slots);
}

static int reader_take_line(struct log_reader *reader, char *line, size_t length)
{
    struct container_log_entry entry;

    if (!entry_parse(line, length, &entry) || !filter_wants(reader->filter, &entry))
        return 0;
    if (reader->ring != NULL)
        return tail_ring_push(reader->ring, &entry);
    reader->delivered++;
    if (reader->callback(&entry, reader->data) != 0)
        reader->stopped = true;
    return 0;
}

/* Read the whole lines of fd from *offset on, advancing *offset past each
 * line taken (a trailing partial line is left for later), until the end
 * or until the callback says stop. */
static int reader_read_file(struct log_reader *reader, int fd, const char *name, uint64_t *offset,
                            struct keel_error *err)
{
    size_t used = 0;
    bool skipping = false; /* inside a line past READ_LINE_MAX */

    if (reader->buffer == NULL) {
        reader->buffer = malloc(READ_CHUNK);
        if (reader->buffer == NULL)
            return keel_error_set(err, ENOMEM, "read %s", name);
        reader->capacity = READ_CHUNK;
    }
    while (!reader->stopped) {
        if (used == reader->capacity) {
            if (reader->capacity >= READ_LINE_MAX) {
                skipping = true;
                *offset += used;
                used = 0;
            } else {
                char *bigger = realloc(reader->buffer, reader->capacity * 2);
                if (bigger == NULL)
                    return keel_error_set(err, ENOMEM, "read %s", name);
                reader->buffer = bigger;
                reader->capacity *= 2;
            }
        }
        ssize_t n =
            pread(fd, reader->buffer + used, reader->capacity - used, (off_t)(*offset + used));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return keel_error_set(err, errno, "read %s", name);
        if (n == 0)
            break;
        size_t scanned = used, start = 0;
        used += (size_t)n;
        for (;;) {
            char *newline = memchr(reader->buffer + scanned, '\n', used - scanned);
            if (newline == NULL)
                break;
            size_t line_end = newline - reader->buffer;
            if (skipping)
                skipping = false;
            else if (reader_take_line(reader, reader->buffer + start, line_end - start) < 0)
                return keel_error_set(err, ENOMEM, "read %s", name);
            *offset += line_end + 1 - start;
            start = scanned = line_end + 1;
            if (reader->stopped)
                return 0;
        }
        memmove(reader->buffer, reader->buffer + start, used - start);
        used -= start;
    }
    return 0;
}

struct log_file {
    int fd;
    unsigned index; /* 0: PATH, k: PATH.k */
    uint64_t device, inode;
};

static void log_file_name(const char *path, unsigned index, char *name, size_t size)
{
    if (index == 0)
        snprintf(name, size, "%s", path);
    else
        snprintf(name, size, "%s.%u", path, index);
}

/* Open PATH or PATH.index; 0 with fd -1 when it does not exist. */
static int reader_file_open(const char *path, unsigned index, struct log_file *file,
                            struct keel_error *err)
{
    char name[PATH_MAX];
    struct stat st;

    log_file_name(path, index, name, sizeof name);
    *file = (struct log_file){.fd = -1, .index = index};
    file->fd = open(name, O_RDONLY | O_CLOEXEC);
    if (file->fd < 0)
        return errno == ENOENT ? 0 : keel_error_set(err, errno, "open %s", name);
    if (fstat(file->fd, &st) < 0) {
        int saved = errno;
        close(file->fd);
        file->fd = -1;
        return keel_error_set(err, saved, "stat %s", name);
    }
    file->device = st.st_dev;
    file->inode = st.st_ino;
    return 0;
}

static void log_files_close(struct log_file *files, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (files[i].fd >= 0)
            close(files[i].fd);
    free(files);
}

static bool log_file_is(const struct log_file *file, uint64_t device, uint64_t inode)
{
    return file->fd >= 0 && file->device == device && file->inode == inode;
}

/* Read one file from offset into the reader, the cursor following along. */
static int reader_read_log_file(struct log_reader *reader, const char *path,
                                const struct log_file *file, uint64_t offset,
                                struct container_log_cursor *cursor, struct keel_error *err)
{
    char name[PATH_MAX];

    log_file_name(path, file->index, name, sizeof name);
    int result = reader_read_file(reader, file->fd, name, &offset, err);
    if (cursor != NULL)
        *cursor = (struct container_log_cursor){file->device, file->inode, offset};
    return result;
}

int container_log_read(const char *path, unsigned max_file,
                       const struct container_log_filter *filter, container_log_entry_fn *callback,
                       void *data, struct container_log_cursor *cursor, struct keel_error *err)
{
    struct tail_ring ring = {0};
    struct log_reader reader = {.filter = filter, .callback = callback, .data = data};
    struct container_log_cursor position = {0};
    struct log_file *files;
    int result = 0;

    if (max_file == 0)
        max_file = 1;
    files = calloc(max_file, sizeof *files);
    if (files == NULL)
        return keel_error_set(err, ENOMEM, "read %s", path);
    /* PATH first, then older and older: a rotation in between shows up as
     * the same file twice (skipped) rather than a gap in the middle. */
    for (unsigned i = 0; i < max_file; i++) {
        if (reader_file_open(path, i, &files[i], err) < 0) {
            log_files_close(files, i);
            return -1;
        }
        for (unsigned j = 0; j < i && files[i].fd >= 0; j++)
            if (log_file_is(&files[j], files[i].device, files[i].inode)) {
                close(files[i].fd);
                files[i].fd = -1;
            }
    }
    if (filter != NULL && filter->tail >= 0) {
        ring.limit = (size_t)filter->tail;
        reader.ring = &ring;
    }
    for (unsigned i = max_file; i-- > 0 && !reader.stopped;) {
        if (files[i].fd < 0)
            continue;
        result = reader_read_log_file(&reader, path, &files[i], 0, &position, err);
        if (result < 0)
            break;
    }
    if (result == 0 && reader.ring != NULL)
        tail_ring_deliver(&reader);
    if (cursor != NULL)
        *cursor = position;
    tail_ring_free(&ring);
    free(reader.buffer);
    log_files_close(files, max_file);
    return result;
}

int container_log_follow(const char *path, struct container_log_cursor *cursor,
                         const struct container_log_filter *filter,
                         container_log_entry_fn *callback, void *data, struct keel_error *err)
{
    /* tail is for the first read: following delivers everything new. */
    struct container_log_filter untailed;
    struct log_reader reader = {.callback = callback, .data = data};
    struct log_file current, *probed = NULL;
    size_t probe_count = 0;
    ssize_t found = -1;
    int result = 0;

    if (filter != NULL) {
        untailed = *filter;
        untailed.tail = -1;
        reader.filter = &untailed;
    }
    if (reader_file_open(path, 0, &current, err) < 0)
        return -1;
    if (current.fd < 0)
        return 0; /* not written yet, or between a rotation's rename and open */

    if (log_file_is(&current, cursor->device, cursor->inode)) {
        struct stat st;
        uint64_t offset = cursor->offset;
        /* max_file 1 rotates by truncating: start over. */
        if (fstat(current.fd, &st) == 0 && (uint64_t)st.st_size < offset)
            offset = 0;
        result = reader_read_log_file(&reader, path, &current, offset, cursor, err);
        close(current.fd);
        free(reader.buffer);
        return result < 0 ? -1 : reader.delivered;
    }

    /* PATH was rotated since: find the cursor's file among PATH.1, PATH.2,
     * ... and read it to its end, then the files rotated after it, then the
     * new PATH from its start. A file that is the PATH opened above (a
     * rotation just now) is read as PATH. When the cursor's file is gone
     * (dropped, or no cursor yet) every rotated file is newer: all are read. */
    for (unsigned index = 1; index <= FOLLOW_PROBE_MAX; index++) {
        struct log_file file;
        if (reader_file_open(path, index, &file, err) < 0) {
            result = -1;
            break;
        }
        if (file.fd < 0)
            break;
        struct log_file *bigger = realloc(probed, (probe_count + 1) * sizeof *bigger);
        if (bigger == NULL) {
            close(file.fd);
            result = keel_error_set(err, ENOMEM, "follow %s", path);
            break;
        }
        probed = bigger;
        probed[probe_count++] = file;
        if (log_file_is(&file, cursor->device, cursor->inode)) {
            found = (ssize_t)probe_count - 1;
            break;
        }
    }
    if (result == 0 && found >= 0)
        result = reader_read_log_file(&reader, path, &probed[found], cursor->offset, cursor, err);
    for (size_t i = found >= 0 ? (size_t)found : probe_count; i-- > 0 && result == 0;) {
        if (reader.stopped || log_file_is(&probed[i], current.device, current.inode))
            continue;
        result = reader_read_log_file(&reader, path, &probed[i], 0, cursor, err);
    }
    if (result == 0 && !reader.stopped)
        result = reader_read_log_file(&reader, path, &current, 0, cursor, err);
    close(current.fd);
    log_files_close(probed, probe_count);
    free(reader.buffer);
    return result < 0 ? -1 : reader.delivered;
}
