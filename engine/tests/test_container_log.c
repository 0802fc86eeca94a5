/* test_container_log.c — json-file logs: entries, rotation, read, follow, full disk, times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container_log.h"
#include "file.h"

/* 2026-11-23T17:20:01Z */
#define T0 1795454401

struct fixture {
    char directory[64];
    char path[128];
};

static int fixture_setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    strcpy(fixture->directory, "/tmp/test_container_log.XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    snprintf(fixture->path, sizeof fixture->path, "%s/c-json.log", fixture->directory);
    *state = fixture;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fixture = *state;
    char name[160];
    unlink(fixture->path);
    for (int i = 1; i < 60; i++) {
        snprintf(name, sizeof name, "%s.%d", fixture->path, i);
        unlink(name);
    }
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

static const char *rotated_name(const struct fixture *fixture, int index)
{
    static char name[160];
    snprintf(name, sizeof name, "%s.%d", fixture->path, index);
    return name;
}

static char *file_text(const char *path)
{
    struct keel_error err = {0};
    char *text = NULL;
    if (file_read_text(path, &text, NULL, &err) < 0)
        fail_msg("%s", err.message);
    return text;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static struct timespec at(time_t seconds, long nanoseconds)
{
    return (struct timespec){.tv_sec = seconds, .tv_nsec = nanoseconds};
}

static struct container_log *log_open(const char *path, uint64_t max_size, unsigned max_file)
{
    struct container_log_options options = {.max_size = max_size, .max_file = max_file};
    struct container_log *log = NULL;
    struct keel_error err = {0};
    if (container_log_open(path, &options, &log, &err) < 0)
        fail_msg("%s", err.message);
    return log;
}

static void log_write(struct container_log *log, enum container_log_stream stream, const char *text,
                      size_t length, struct timespec now)
{
    struct keel_error err = {0};
    if (container_log_write(log, stream, text, length, &now, &err) < 0)
        fail_msg("%s", err.message);
}

static void log_puts(struct container_log *log, enum container_log_stream stream, const char *text,
                     struct timespec now)
{
    log_write(log, stream, text, strlen(text), now);
}

/* ---- collecting what the reader delivers ---- */

struct collected_entry {
    enum container_log_stream stream;
    struct timespec time;
    char *text;
    size_t length;
};

struct collection {
    struct collected_entry *entries;
    size_t count;
    size_t stop_after; /* 0: never stop */
};

static int collect(const struct container_log_entry *entry, void *data)
{
    struct collection *collection = data;
    collection->entries =
        realloc(collection->entries, (collection->count + 1) * sizeof *collection->entries);
    assert_non_null(collection->entries);
    struct collected_entry *copy = &collection->entries[collection->count++];
    copy->stream = entry->stream;
    copy->time = entry->time;
    copy->length = entry->length;
    copy->text = malloc(entry->length + 1);
    assert_non_null(copy->text);
    memcpy(copy->text, entry->text, entry->length);
    copy->text[entry->length] = '\0';
    return collection->stop_after != 0 && collection->count >= collection->stop_after;
}

static void collection_free(struct collection *collection)
{
    for (size_t i = 0; i < collection->count; i++)
        free(collection->entries[i].text);
    free(collection->entries);
    *collection = (struct collection){0};
}

static const struct container_log_filter everything = {
    .stdout_wanted = true, .stderr_wanted = true, .tail = -1};

static void read_all(const char *path, unsigned max_file, const struct container_log_filter *filter,
                     struct collection *collection, struct container_log_cursor *cursor)
{
    struct keel_error err = {0};
    if (container_log_read(path, max_file, filter, collect, collection, cursor, &err) < 0)
        fail_msg("%s", err.message);
}

static int follow(const char *path, struct container_log_cursor *cursor,
                  struct collection *collection)
{
    struct keel_error err = {0};
    int delivered = container_log_follow(path, cursor, &everything, collect, collection, &err);
    if (delivered < 0)
        fail_msg("%s", err.message);
    return delivered;
}

/* The numbers of entries written as "line %d\n", which must run n, n+1, ... */
static void assert_consecutive(const struct collection *collection, int first, int last)
{
    assert_int_equal(collection->count, (size_t)(last - first + 1));
    for (size_t i = 0; i < collection->count; i++) {
        int number = -1;
        if (sscanf(collection->entries[i].text, "line %d", &number) != 1 ||
            number != first + (int)i)
            fail_msg("entry %zu is \"%s\", expected line %d", i, collection->entries[i].text,
                     first + (int)i);
    }
}

/* ---- writing ---- */

static void test_single_line(void **state)
{
    struct fixture *fixture = *state;
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_puts(log, CONTAINER_LOG_STDOUT, "hello\n", at(T0, 123456789));
    assert_int_equal(container_log_size(log), file_size(fixture->path));
    container_log_close(log);

    char *text = file_text(fixture->path);
    assert_string_equal(text, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-"
                              "23T17:20:01.123456789Z\"}\n");
    free(text);
}

static void test_several_lines_in_one_write(void **state)
{
    struct fixture *fixture = *state;
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_puts(log, CONTAINER_LOG_STDERR, "a\nbb\n\nccc\n", at(T0, 500000000));
    container_log_close(log);

    char *text = file_text(fixture->path);
    assert_string_equal(
        text, "{\"log\":\"a\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:01.5Z\"}\n"
              "{\"log\":\"bb\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:01.5Z\"}\n"
              "{\"log\":\"\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:01.5Z\"}\n"
              "{\"log\":\"ccc\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:01.5Z\"}\n");
    free(text);
}

static void test_partial_lines_joined_per_stream(void **state)
{
    struct fixture *fixture = *state;
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_puts(log, CONTAINER_LOG_STDOUT, "hel", at(T0, 0));
    assert_int_equal(file_size(fixture->path), 0);
    log_puts(log, CONTAINER_LOG_STDERR, "err", at(T0, 0));
    log_puts(log, CONTAINER_LOG_STDOUT, "lo\nwor", at(T0 + 1, 0));
    log_puts(log, CONTAINER_LOG_STDERR, "or\n", at(T0 + 2, 0));
    log_puts(log, CONTAINER_LOG_STDOUT, "ld\n", at(T0 + 3, 0));
    container_log_close(log);

    char *text = file_text(fixture->path);
    assert_string_equal(
        text, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:02Z\"}\n"
              "{\"log\":\"error\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:03Z\"}\n"
              "{\"log\":\"world\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:04Z\"}\n");
    free(text);
}

static void test_flush_writes_partial_line(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct timespec now = at(T0, 0);
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_puts(log, CONTAINER_LOG_STDOUT, "done\nno newline", now);
    assert_int_equal(container_log_flush(log, &now, &err), 0);
    assert_int_equal(container_log_flush(log, &now, &err), 0); /* nothing left */
    container_log_close(log);

    char *text = file_text(fixture->path);
    assert_string_equal(
        text, "{\"log\":\"done\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n"
              "{\"log\":\"no newline\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n");
    free(text);
}

static void test_long_line_cut_into_16k_pieces(void **state)
{
    struct fixture *fixture = *state;
    size_t length = 40 * 1024;
    char *line = malloc(length + 1);
    assert_non_null(line);
    for (size_t i = 0; i < length; i++)
        line[i] = (char)('a' + i % 26);
    line[length] = '\n';

    struct container_log *log = log_open(fixture->path, 0, 0);
    for (size_t offset = 0; offset < length + 1; offset += 3000) {
        size_t piece = length + 1 - offset < 3000 ? length + 1 - offset : 3000;
        log_write(log, CONTAINER_LOG_STDOUT, line + offset, piece, at(T0, 0));
    }
    /* exactly 16 KiB before the newline: a full piece, then "\n" alone */
    log_write(log, CONTAINER_LOG_STDERR, line, 16384, at(T0, 0));
    log_write(log, CONTAINER_LOG_STDERR, "\n", 1, at(T0, 0));
    container_log_close(log);

    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    assert_int_equal(collection.count, 5);
    assert_int_equal(collection.entries[0].length, 16384);
    assert_int_equal(collection.entries[1].length, 16384);
    assert_int_equal(collection.entries[2].length, 8193);
    assert_memory_equal(collection.entries[0].text, line, 16384);
    assert_memory_equal(collection.entries[1].text, line + 16384, 16384);
    assert_memory_equal(collection.entries[2].text, line + 32768, 8193);
    assert_int_equal(collection.entries[3].length, 16384);
    assert_int_equal(collection.entries[3].stream, CONTAINER_LOG_STDERR);
    assert_string_equal(collection.entries[4].text, "\n");
    for (size_t i = 0; i < 4; i++)
        if (i != 2)
            assert_int_not_equal(collection.entries[i].text[collection.entries[i].length - 1],
                                 '\n');
    collection_free(&collection);
    free(line);
}

static void test_escaping_and_decoding(void **state)
{
    struct fixture *fixture = *state;
    static const char input[] = "q\"b\\s/\t\x01<>&\xff\0"
                                "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80\xe2\x82x"
                                "\xc0\xaf\xed\xa0\x80\x7f\r\n";
    size_t length = sizeof input - 1;
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_write(log, CONTAINER_LOG_STDOUT, input, length, at(T0, 0));
    container_log_close(log);

    char *text = file_text(fixture->path);
    assert_string_equal(text, "{\"log\":\"q\\\"b\\\\s/\\u0009\\u0001\\u003c\\u003e\\u0026\\ufffd"
                              "\\u0000\xc3\xa9\\u2028\\u2029\xf0\x9f\x98\x80\\ufffd\\ufffdx"
                              "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\x7f\\r\\n\","
                              "\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n");
    free(text);

    /* Read back: the original bytes, each invalid byte as U+FFFD. */
    static const char decoded[] =
        "q\"b\\s/\t\x01<>&\xef\xbf\xbd\0"
        "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80"
        "\xef\xbf\xbd\xef\xbf\xbdx"
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x7f\r\n";
    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    assert_int_equal(collection.count, 1);
    assert_int_equal(collection.entries[0].length, sizeof decoded - 1);
    assert_memory_equal(collection.entries[0].text, decoded, sizeof decoded - 1);
    collection_free(&collection);
}

static void test_decoding_other_escapes(void **state)
{
    struct fixture *fixture = *state;
    /* What Go's encoding/json (or another writer) may produce too. */
    static const char line[] =
        "{\"log\":\"\\t\\/\\b\\f\\ud83d\\ude00\\ud800x\\u00e9\\u00E9\",\"stream\":\"stdout\","
        "\"time\":\"2026-11-23T17:20:01Z\"}\n";
    struct keel_error err = {0};
    assert_int_equal(file_write_atomic(fixture->path, line, sizeof line - 1, 0640, 0, &err), 0);

    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    assert_int_equal(collection.count, 1);
    assert_string_equal(collection.entries[0].text,
                        "\t/\b\f\xf0\x9f\x98\x80\xef\xbf\xbdx\xc3\xa9\xc3\xa9");
    collection_free(&collection);
}

static void test_time_formats(void **state)
{
    struct fixture *fixture = *state;
    char buffer[40];

    container_log_format_time(&(struct timespec){T0, 123456789}, buffer, sizeof buffer);
    assert_string_equal(buffer, "2026-11-23T17:20:01.123456789Z");
    /* logs -t: always nine digits (Docker's RFC3339NanoFixed) */
    container_log_format_time(&(struct timespec){T0, 0}, buffer, sizeof buffer);
    assert_string_equal(buffer, "2026-11-23T17:20:01.000000000Z");
    container_log_format_time(&(struct timespec){0, 1000}, buffer, sizeof buffer);
    assert_string_equal(buffer, "1970-01-01T00:00:00.000001000Z");
    container_log_format_time(&(struct timespec){951782400, 0}, buffer, sizeof buffer);
    assert_string_equal(buffer, "2000-02-29T00:00:00.000000000Z");

    /* The file: Go's RFC3339Nano, trailing zeros trimmed. */
    struct container_log *log = log_open(fixture->path, 0, 0);
    log_puts(log, CONTAINER_LOG_STDOUT, "a\n", at(T0, 123400000));
    log_puts(log, CONTAINER_LOG_STDOUT, "b\n", at(T0, 0));
    log_puts(log, CONTAINER_LOG_STDOUT, "c\n", at(T0, 5));
    log_puts(log, CONTAINER_LOG_STDOUT, "d\n", at(T0, 100000000));
    container_log_close(log);
    char *text = file_text(fixture->path);
    assert_non_null(strstr(text, "\"time\":\"2026-11-23T17:20:01.1234Z\"}\n"));
    assert_non_null(strstr(text, "\"time\":\"2026-11-23T17:20:01Z\"}\n"));
    assert_non_null(strstr(text, "\"time\":\"2026-11-23T17:20:01.000000005Z\"}\n"));
    assert_non_null(strstr(text, "\"time\":\"2026-11-23T17:20:01.1Z\"}\n"));
    free(text);

    /* and the reader gets the exact times back */
    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    assert_int_equal(collection.count, 4);
    assert_int_equal(collection.entries[0].time.tv_sec, T0);
    assert_int_equal(collection.entries[0].time.tv_nsec, 123400000);
    assert_int_equal(collection.entries[1].time.tv_nsec, 0);
    assert_int_equal(collection.entries[2].time.tv_nsec, 5);
    collection_free(&collection);
}

/* ---- rotation ---- */

static void assert_rotated_sizes(const struct fixture *fixture, int64_t max_size, int files)
{
    assert_in_range(file_size(fixture->path), 1, max_size);
    for (int i = 1; i < files; i++)
        assert_in_range(file_size(rotated_name(fixture, i)), max_size / 2, max_size);
    assert_int_equal(file_size(rotated_name(fixture, files)), -1);
}

static void test_rotation_keeps_max_file(void **state)
{
    struct fixture *fixture = *state;
    char line[32];
    struct container_log *log = log_open(fixture->path, 1000, 3);
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "line %d\n", i);
        log_puts(log, i % 2 ? CONTAINER_LOG_STDERR : CONTAINER_LOG_STDOUT, line, at(T0 + i, 0));
        assert_int_equal(container_log_size(log), file_size(fixture->path));
    }
    container_log_close(log);
    assert_rotated_sizes(fixture, 1000, 3);

    /* read across the files, oldest first: the newest 200 - N, none missing */
    struct collection collection = {0};
    read_all(fixture->path, 3, &everything, &collection, NULL);
    int first = 0;
    assert_int_equal(sscanf(collection.entries[0].text, "line %d", &first), 1);
    assert_true(first > 150);
    assert_consecutive(&collection, first, 199);
    collection_free(&collection);

    /* max_file 2 reads only PATH.1 and PATH */
    read_all(fixture->path, 2, &everything, &collection, NULL);
    int first_of_two = 0;
    assert_int_equal(sscanf(collection.entries[0].text, "line %d", &first_of_two), 1);
    assert_true(first_of_two > first);
    assert_consecutive(&collection, first_of_two, 199);
    collection_free(&collection);
}

static void test_rotation_within_one_write(void **state)
{
    struct fixture *fixture = *state;
    char *lines = malloc(200 * 16);
    size_t length = 0;
    assert_non_null(lines);
    for (int i = 0; i < 200; i++)
        length += sprintf(lines + length, "line %d\n", i);

    struct container_log *log = log_open(fixture->path, 1000, 3);
    log_write(log, CONTAINER_LOG_STDOUT, lines, length, at(T0, 0));
    assert_int_equal(container_log_size(log), file_size(fixture->path));
    container_log_close(log);
    free(lines);
    assert_rotated_sizes(fixture, 1000, 3);

    struct collection collection = {0};
    read_all(fixture->path, 3, &everything, &collection, NULL);
    int first = 0;
    assert_int_equal(sscanf(collection.entries[0].text, "line %d", &first), 1);
    assert_consecutive(&collection, first, 199);
    collection_free(&collection);
}

static int count_lines(const char *path)
{
    char *text = file_text(path);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    free(text);
    return lines;
}

static void test_rotation_entry_larger_than_max_size(void **state)
{
    struct fixture *fixture = *state;
    char big[301];
    memset(big, 'x', 299);
    big[299] = '\n';
    big[300] = '\0';

    struct container_log *log = log_open(fixture->path, 100, 5);
    log_puts(log, CONTAINER_LOG_STDOUT, "a\n", at(T0, 0));
    log_puts(log, CONTAINER_LOG_STDOUT, big, at(T0, 0));
    log_puts(log, CONTAINER_LOG_STDOUT, "b\n", at(T0, 0));
    container_log_close(log);

    /* the big entry sits alone in its file, written rather than dropped */
    assert_int_equal(count_lines(rotated_name(fixture, 2)), 1);
    assert_true(file_size(rotated_name(fixture, 2)) <= 100);
    assert_int_equal(count_lines(rotated_name(fixture, 1)), 1);
    assert_true(file_size(rotated_name(fixture, 1)) > 300);
    assert_int_equal(count_lines(fixture->path), 1);
    assert_int_equal(file_size(rotated_name(fixture, 3)), -1);

    struct collection collection = {0};
    read_all(fixture->path, 5, &everything, &collection, NULL);
    assert_int_equal(collection.count, 3);
    assert_string_equal(collection.entries[0].text, "a\n");
    assert_string_equal(collection.entries[1].text, big);
    assert_string_equal(collection.entries[2].text, "b\n");
    collection_free(&collection);

    /* into an empty file it goes without a rotation (no empty PATH.1) */
    for (int i = 0; i < 3; i++)
        unlink(i ? rotated_name(fixture, i) : fixture->path);
    log = log_open(fixture->path, 100, 5);
    log_puts(log, CONTAINER_LOG_STDOUT, big, at(T0, 0));
    container_log_close(log);
    assert_int_equal(file_size(rotated_name(fixture, 1)), -1);
    assert_int_equal(count_lines(fixture->path), 1);
}

static void test_max_file_one_truncates(void **state)
{
    struct fixture *fixture = *state;
    char line[32];
    for (unsigned max_file = 0; max_file <= 1; max_file++) {
        struct container_log *log = log_open(fixture->path, 500, max_file);
        for (int i = 0; i < 50; i++) {
            snprintf(line, sizeof line, "line %d\n", i);
            log_puts(log, CONTAINER_LOG_STDOUT, line, at(T0, 0));
            assert_true(file_size(fixture->path) <= 500);
        }
        container_log_close(log);
        assert_int_equal(file_size(rotated_name(fixture, 1)), -1);

        struct collection collection = {0};
        read_all(fixture->path, max_file, &everything, &collection, NULL);
        int first = 0;
        assert_int_equal(sscanf(collection.entries[0].text, "line %d", &first), 1);
        assert_true(first > 40);
        assert_consecutive(&collection, first, 49);
        collection_free(&collection);
        unlink(fixture->path);
    }
}

/* ---- reading ---- */

/* Entries 0..count-1 at T0 + i seconds, odd ones on stderr. */
static void write_numbered(const struct fixture *fixture, int count, uint64_t max_size,
                           unsigned max_file)
{
    char line[32];
    struct container_log *log = log_open(fixture->path, max_size, max_file);
    for (int i = 0; i < count; i++) {
        snprintf(line, sizeof line, "line %d\n", i);
        log_puts(log, i % 2 ? CONTAINER_LOG_STDERR : CONTAINER_LOG_STDOUT, line, at(T0 + i, 0));
    }
    container_log_close(log);
}

static void test_read_stream_filters(void **state)
{
    struct fixture *fixture = *state;
    write_numbered(fixture, 6, 0, 1);
    struct collection collection = {0};

    struct container_log_filter filter = {.stdout_wanted = true, .tail = -1};
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_int_equal(collection.count, 3);
    for (size_t i = 0; i < collection.count; i++)
        assert_int_equal(collection.entries[i].stream, CONTAINER_LOG_STDOUT);
    assert_string_equal(collection.entries[2].text, "line 4\n");
    collection_free(&collection);

    filter = (struct container_log_filter){.stderr_wanted = true, .tail = -1};
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_int_equal(collection.count, 3);
    assert_string_equal(collection.entries[0].text, "line 1\n");
    assert_int_equal(collection.entries[0].stream, CONTAINER_LOG_STDERR);
    collection_free(&collection);

    read_all(fixture->path, 1, NULL, &collection, NULL);
    assert_consecutive(&collection, 0, 5);
    collection_free(&collection);
}

static void test_read_since_until(void **state)
{
    struct fixture *fixture = *state;
    write_numbered(fixture, 10, 0, 1);
    struct collection collection = {0};

    struct container_log_filter filter = everything;
    filter.since = at(T0 + 3, 0);
    filter.until = at(T0 + 7, 0);
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_consecutive(&collection, 3, 6); /* since inclusive, until exclusive */
    collection_free(&collection);

    filter.since = at(T0 + 2, 1);
    filter.until = (struct timespec){0};
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_consecutive(&collection, 3, 9);
    collection_free(&collection);

    filter.tail = 2; /* tail counts the wanted entries */
    filter.until = at(T0 + 6, 0);
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_consecutive(&collection, 4, 5);
    collection_free(&collection);
}

static void test_read_tail(void **state)
{
    struct fixture *fixture = *state;
    write_numbered(fixture, 10, 0, 1);
    struct collection collection = {0};
    struct container_log_filter filter = everything;

    filter.tail = 3;
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_consecutive(&collection, 7, 9);
    collection_free(&collection);

    filter.tail = 0;
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_int_equal(collection.count, 0);

    filter.tail = 100;
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_consecutive(&collection, 0, 9);
    collection_free(&collection);

    filter.tail = 2;
    filter.stdout_wanted = false;
    read_all(fixture->path, 1, &filter, &collection, NULL);
    assert_int_equal(collection.count, 2);
    assert_string_equal(collection.entries[0].text, "line 7\n");
    assert_string_equal(collection.entries[1].text, "line 9\n");
    collection_free(&collection);
}

static void test_read_tail_across_files(void **state)
{
    struct fixture *fixture = *state;
    write_numbered(fixture, 100, 800, 4);
    assert_true(file_size(rotated_name(fixture, 3)) > 0);
    int in_path = count_lines(fixture->path);
    struct collection collection = {0};
    struct container_log_filter filter = everything;

    /* more than PATH holds: the rest from PATH.1 (and PATH.2) */
    filter.tail = in_path + 15;
    read_all(fixture->path, 4, &filter, &collection, NULL);
    assert_consecutive(&collection, 100 - in_path - 15, 99);
    collection_free(&collection);
}

static void test_read_stops_and_cursor_resumes(void **state)
{
    struct fixture *fixture = *state;
    write_numbered(fixture, 30, 600, 3);
    struct collection all = {0};
    read_all(fixture->path, 3, &everything, &all, NULL);
    assert_true(all.count > 12);
    int first = 0;
    assert_int_equal(sscanf(all.entries[0].text, "line %d", &first), 1);

    /* stop after 3 entries (inside PATH.2): following resumes just after */
    struct collection collection = {.stop_after = 3};
    struct container_log_cursor cursor;
    read_all(fixture->path, 3, &everything, &collection, &cursor);
    assert_int_equal(collection.count, 3);
    collection.stop_after = 0;
    assert_int_equal(follow(fixture->path, &cursor, &collection), all.count - 3);
    assert_consecutive(&collection, first, 29);
    collection_free(&collection);
    collection_free(&all);
}

static void test_read_missing_log(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor = {1, 2, 3};
    read_all(fixture->path, 3, &everything, &collection, &cursor);
    assert_int_equal(collection.count, 0);
    assert_int_equal(cursor.inode, 0);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0);

    /* the log appears: following from the empty cursor reads it all */
    write_numbered(fixture, 3, 0, 1);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 3);
    assert_consecutive(&collection, 0, 2);
    collection_free(&collection);
}

static void test_malformed_lines_skipped(void **state)
{
    struct fixture *fixture = *state;
    static const char text[] =
        "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n"
        "garbage\n"
        "\n"
        "{\"log\":\"no time\\n\",\"stream\":\"stdout\"}\n"
        "{\"log\":\"bad stream\\n\",\"stream\":\"stdin\",\"time\":\"2026-11-23T17:20:01Z\"}\n"
        "{\"log\":\"bad time\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}\n"
        "{\"log\":\"bad escape \\q\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n"
        "{\"log\":\"cut short\\n\",\"stream\":\"std\n"
        "{\"log\":\"trailing\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}x\n"
        "{\"log\":\"two\\n\",\"stream\":\"stderr\",\"attrs\":{\"k\":\"v}\",\"n\":[1,{\"x\":[]}],"
        "\"t\":true},\"time\":\"2026-11-23T17:20:01.5Z\"}\n"
        " { \"time\" : \"2026-11-23T18:20:01+01:00\" , \"stream\" : \"stdout\" , \"log\" : "
        "\"three\\n\" } \n"
        "{\"log\":\"half written\\n\",\"stream\":\"stdout\",\"ti";
    struct keel_error err = {0};
    assert_int_equal(file_write_atomic(fixture->path, text, sizeof text - 1, 0640, 0, &err), 0);

    struct collection collection = {0};
    struct container_log_cursor cursor;
    read_all(fixture->path, 1, &everything, &collection, &cursor);
    assert_int_equal(collection.count, 3);
    assert_string_equal(collection.entries[0].text, "one\n");
    assert_string_equal(collection.entries[1].text, "two\n");
    assert_int_equal(collection.entries[1].stream, CONTAINER_LOG_STDERR);
    assert_int_equal(collection.entries[1].time.tv_nsec, 500000000);
    assert_string_equal(collection.entries[2].text, "three\n");
    assert_int_equal(collection.entries[2].time.tv_sec, T0);
    /* the cursor stops before the half-written line */
    assert_int_equal(cursor.offset, strrchr(text, '\n') - text + 1);
    collection_free(&collection);
}

/* ---- following ---- */

static void test_follow_new_entries(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor;
    char line[32];

    struct container_log *log = log_open(fixture->path, 0, 1);
    log_puts(log, CONTAINER_LOG_STDOUT, "line 0\n", at(T0, 0));
    read_all(fixture->path, 1, &everything, &collection, &cursor);
    assert_int_equal(cursor.offset, file_size(fixture->path));
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0);
    for (int i = 1; i < 5; i++) {
        snprintf(line, sizeof line, "line %d\n", i);
        log_puts(log, CONTAINER_LOG_STDOUT, line, at(T0, 0));
    }
    assert_int_equal(follow(fixture->path, &cursor, &collection), 4);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0);
    container_log_close(log);
    assert_consecutive(&collection, 0, 4);
    collection_free(&collection);
}

static void test_follow_across_rotations(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor;
    char line[32];
    int written = 0;

    struct container_log *log = log_open(fixture->path, 400, 3);
    read_all(fixture->path, 3, &everything, &collection, &cursor);
    /* between two follows: 0 to 9 entries, up to two rotations */
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < round % 10; i++) {
            snprintf(line, sizeof line, "line %d\n", written++);
            log_puts(log, CONTAINER_LOG_STDOUT, line, at(T0, 0));
        }
        follow(fixture->path, &cursor, &collection);
    }
    container_log_close(log);
    assert_true(file_size(rotated_name(fixture, 2)) > 0);
    assert_consecutive(&collection, 0, written - 1);
    collection_free(&collection);
}

static void test_follow_across_truncation(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor;
    char line[32];
    int written = 0;

    struct container_log *log = log_open(fixture->path, 300, 1);
    read_all(fixture->path, 1, &everything, &collection, &cursor);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 2; i++) {
            snprintf(line, sizeof line, "line %d\n", written++);
            log_puts(log, CONTAINER_LOG_STDOUT, line, at(T0, 0));
        }
        follow(fixture->path, &cursor, &collection);
    }
    container_log_close(log);
    /* four entries fit: each truncation leaves PATH shorter than the cursor */
    assert_consecutive(&collection, 0, written - 1);
    collection_free(&collection);
}

static void test_follow_waits_for_whole_line(void **state)
{
    struct fixture *fixture = *state;
    static const char entry[] =
        "{\"log\":\"slow\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T17:20:01Z\"}\n";
    struct collection collection = {0};
    struct container_log_cursor cursor;

    write_numbered(fixture, 1, 0, 1);
    read_all(fixture->path, 1, &everything, &collection, &cursor);
    int fd = open(fixture->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, entry, 20), 20);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0);
    assert_int_equal(write(fd, entry + 20, sizeof entry - 22), sizeof entry - 22);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0); /* no '\n' yet */
    assert_int_equal(write(fd, "\n", 1), 1);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 1);
    assert_int_equal(follow(fixture->path, &cursor, &collection), 0);
    close(fd);
    assert_int_equal(collection.count, 2);
    assert_string_equal(collection.entries[1].text, "slow\n");
    assert_int_equal(collection.entries[1].stream, CONTAINER_LOG_STDERR);
    collection_free(&collection);
}

/* The moment a rotation happens while follow runs: the new PATH is also
 * PATH.1 by the time follow looks for the old file. It is read once. */
static void test_follow_rotation_in_between(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor;

    struct container_log *log = log_open(fixture->path, 0, 1);
    log_puts(log, CONTAINER_LOG_STDOUT, "line 0\n", at(T0, 0));
    read_all(fixture->path, 3, &everything, &collection, &cursor);
    log_puts(log, CONTAINER_LOG_STDOUT, "line 1\n", at(T0, 0));
    container_log_close(log);
    assert_int_equal(rename(fixture->path, rotated_name(fixture, 2)), 0);
    log = log_open(fixture->path, 0, 1);
    log_puts(log, CONTAINER_LOG_STDOUT, "line 2\nline 3\n", at(T0, 0));
    container_log_close(log);
    assert_int_equal(link(fixture->path, rotated_name(fixture, 1)), 0);

    assert_int_equal(follow(fixture->path, &cursor, &collection), 3);
    assert_consecutive(&collection, 0, 3);
    collection_free(&collection);
}

/* A writer in another process, rotating all along; the follower polls. */
static void test_follow_concurrent_writer(void **state)
{
    struct fixture *fixture = *state;
    struct collection collection = {0};
    struct container_log_cursor cursor = {0};
    enum { ENTRIES = 3000 };

    /* 50 files of ~28 entries: the follower may lag 1,400 entries */
    struct container_log *log = log_open(fixture->path, 2000, 50);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char line[32];
        for (int i = 0; i < ENTRIES; i++) {
            snprintf(line, sizeof line, "line %d\n", i);
            if (container_log_write(log, CONTAINER_LOG_STDOUT, line, strlen(line), NULL,
                                    &(struct keel_error){0}) < 0)
                _exit(1);
            if (i % 20 == 0)
                usleep(1000);
        }
        _exit(0);
    }
    container_log_close(log);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (collection.count < ENTRIES) {
        follow(fixture->path, &cursor, &collection);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            break;
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_consecutive(&collection, 0, ENTRIES - 1);
    collection_free(&collection);
}

/* ---- failures ---- */

static void test_full_disk_reported_and_retried(void **state)
{
    (void)state;
    struct keel_error err = {0};
    struct container_log *log = log_open("/dev/full", 0, 1);
    struct timespec now = at(T0, 0);

    assert_int_equal(container_log_write(log, CONTAINER_LOG_STDOUT, "a\nb\n", 4, &now, &err), -1);
    assert_int_equal(err.errno_value, ENOSPC);
    assert_non_null(strstr(err.message, "write /dev/full"));
    /* the next write is attempted again (and fails again) */
    err = (struct keel_error){0};
    assert_int_equal(container_log_write(log, CONTAINER_LOG_STDERR, "c\n", 2, &now, &err), -1);
    assert_int_equal(err.errno_value, ENOSPC);
    /* a partial line waits without touching the disk; the flush fails */
    assert_int_equal(container_log_write(log, CONTAINER_LOG_STDOUT, "d", 1, &now, &err), 0);
    err = (struct keel_error){0};
    assert_int_equal(container_log_flush(log, &now, &err), -1);
    assert_int_equal(err.errno_value, ENOSPC);
    assert_int_equal(container_log_size(log), 0);
    container_log_close(log);
}

/* A disk that fills mid-entry and frees up again: RLIMIT_FSIZE makes
 * write(2) short, then fail (EFBIG), as a full disk would. */
static void test_disk_full_midway_then_recovers(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct rlimit saved, limited;
    struct timespec now = at(T0, 0);
    char line[32];

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct container_log *log = log_open(fixture->path, 0, 1);
    limited = saved;
    limited.rlim_cur = 1000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limited), 0);
    int i = 0, failed = 0;
    for (; i < 40; i++) {
        snprintf(line, sizeof line, "line %d\n", i);
        if (container_log_write(log, CONTAINER_LOG_STDOUT, line, strlen(line), &now, &err) < 0)
            failed++;
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_true(failed > 0);
    assert_int_equal(err.errno_value, EFBIG);
    assert_int_equal(file_size(fixture->path), 1000);
    assert_int_equal(container_log_size(log), 1000);

    log_puts(log, CONTAINER_LOG_STDOUT, "line 40\n", now);
    container_log_close(log);

    /* whole entries up to the limit, the broken one skipped, then line 40 */
    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    size_t whole = collection.count - 1;
    assert_true(whole >= 10);
    assert_string_equal(collection.entries[whole].text, "line 40\n");
    collection.count--;
    assert_consecutive(&collection, 0, (int)whole - 1);
    collection.count++;
    collection_free(&collection);
}

static void test_reopen_after_crash_mid_entry(void **state)
{
    struct fixture *fixture = *state;
    static const char text[] =
        "{\"log\":\"before\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T17:20:01Z\"}\n"
        "{\"log\":\"cut\\n\",\"stream\":\"st";
    struct keel_error err = {0};
    assert_int_equal(file_write_atomic(fixture->path, text, sizeof text - 1, 0640, 0, &err), 0);

    struct container_log *log = log_open(fixture->path, 0, 1);
    assert_int_equal(container_log_size(log), sizeof text - 1);
    log_puts(log, CONTAINER_LOG_STDOUT, "after\n", at(T0, 0));
    container_log_close(log);

    struct collection collection = {0};
    read_all(fixture->path, 1, &everything, &collection, NULL);
    assert_int_equal(collection.count, 2);
    assert_string_equal(collection.entries[0].text, "before\n");
    assert_string_equal(collection.entries[1].text, "after\n");
    collection_free(&collection);
}

static void test_bad_stream_refused(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct container_log *log = log_open(fixture->path, 0, 1);
    assert_int_equal(container_log_write(log, 3, "x\n", 2, NULL, &err), -1);
    assert_non_null(strstr(err.message, "bad stream 3"));
    container_log_close(log);
}

/* ---- times and frames ---- */

static void test_parse_time(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        time_t seconds;
        long nanoseconds;
    } cases[] = {
        {"2013-01-02T13:23:37Z", 1357133017, 0},
        {"2013-01-02T13:23:37.123456789Z", 1357133017, 123456789},
        {"2013-01-02T13:23:37.5+01:00", 1357133017 - 3600, 500000000},
        {"2013-01-02T13:23:37-07:30", 1357133017 + 27000, 0},
        {"2013-01-02T13:23:37", 1357133017, 0}, /* local time: TZ is UTC here */
        {"2013-01-02T13:23", 1357132980, 0},
        {"2013-01-02T13Z", 1357131600, 0},
        {"2013-01-02", 1357084800, 0},
        {"2013-01-02Z", 1357084800, 0},
        {"2012-02-29", 1330473600, 0},
        {"1700000000", 1700000000, 0},
        {"1700000000.5", 1700000000, 500000000},
        {"1700000000.000000001", 1700000000, 1},
        {"0", 0, 0},
        {"10m", 1800000000 - 600, 250000000},
        {"1h30m", 1800000000 - 5400, 250000000},
        {"1.5h", 1800000000 - 5400, 250000000},
        {"300ms", 1799999999, 950000000},
        {"45s", 1800000000 - 45, 250000000},
        {"1m0.5s", 1800000000 - 61, 750000000},
        {"-10m", 1800000000 + 600, 250000000},
        {"2us", 1800000000, 249998000},
    };
    struct timespec now = at(1800000000, 250000000);
    setenv("TZ", "UTC", 1);
    tzset();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct timespec time = {-1, -1};
        struct keel_error err = {0};
        if (container_log_parse_time(cases[i].text, &now, &time, &err) < 0)
            fail_msg("\"%s\": %s", cases[i].text, err.message);
        if (time.tv_sec != cases[i].seconds || time.tv_nsec != cases[i].nanoseconds)
            fail_msg("\"%s\": %lld.%09ld, expected %lld.%09ld", cases[i].text,
                     (long long)time.tv_sec, time.tv_nsec, (long long)cases[i].seconds,
                     cases[i].nanoseconds);
    }

    /* a date without a zone is local time (two hours east here) */
    struct timespec time;
    struct keel_error err = {0};
    setenv("TZ", "XST-2", 1);
    tzset();
    assert_int_equal(container_log_parse_time("2013-01-02T13:23:37", &now, &time, &err), 0);
    assert_int_equal(time.tv_sec, 1357133017 - 7200);
    assert_int_equal(container_log_parse_time("2013-01-02T13:23:37Z", &now, &time, &err), 0);
    assert_int_equal(time.tv_sec, 1357133017);
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_parse_time_refusals(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "",
        "yesterday",
        "10 minutes",
        "12x",
        "1h-",
        ".",
        "1700000000.",
        "-5",
        "2013-13-01",
        "2013-02-29",
        "2013-01-02T25:00:00Z",
        "2013-01-02T13:60",
        "2013-01-02T13:23:37.Z",
        "2013-01-02T13:23:37+0100",
        "13-01-02",
        "2013-01-02 13:23:37",
        "99999999999999999999",
        "9999999999999999999h",
    };
    struct timespec now = at(1800000000, 0), time;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct keel_error err = {0};
        char quoted[64];
        if (container_log_parse_time(refused[i], &now, &time, &err) == 0)
            fail_msg("\"%s\" accepted as %lld", refused[i], (long long)time.tv_sec);
        assert_int_equal(err.errno_value, EINVAL);
        snprintf(quoted, sizeof quoted, "\"%s\"", refused[i]);
        if (strstr(err.message, quoted) == NULL)
            fail_msg("message \"%s\" does not name %s", err.message, quoted);
    }
}

static void test_frame_header(void **state)
{
    (void)state;
    unsigned char header[8];
    container_log_frame_header(CONTAINER_LOG_STDERR, 0x01020304, header);
    assert_memory_equal(header, "\x02\x00\x00\x00\x01\x02\x03\x04", 8);
    container_log_frame_header(CONTAINER_LOG_STDOUT, 5, header);
    assert_memory_equal(header, "\x01\x00\x00\x00\x00\x00\x00\x05", 8);
    container_log_frame_header(CONTAINER_LOG_STDOUT, 0xffffffffu, header);
    assert_memory_equal(header, "\x01\x00\x00\x00\xff\xff\xff\xff", 8);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_single_line),
        TEST(test_several_lines_in_one_write),
        TEST(test_partial_lines_joined_per_stream),
        TEST(test_flush_writes_partial_line),
        TEST(test_long_line_cut_into_16k_pieces),
        TEST(test_escaping_and_decoding),
        TEST(test_decoding_other_escapes),
        TEST(test_time_formats),
        TEST(test_rotation_keeps_max_file),
        TEST(test_rotation_within_one_write),
        TEST(test_rotation_entry_larger_than_max_size),
        TEST(test_max_file_one_truncates),
        TEST(test_read_stream_filters),
        TEST(test_read_since_until),
        TEST(test_read_tail),
        TEST(test_read_tail_across_files),
        TEST(test_read_stops_and_cursor_resumes),
        TEST(test_read_missing_log),
        TEST(test_malformed_lines_skipped),
        TEST(test_follow_new_entries),
        TEST(test_follow_across_rotations),
        TEST(test_follow_across_truncation),
        TEST(test_follow_waits_for_whole_line),
        TEST(test_follow_rotation_in_between),
        TEST(test_follow_concurrent_writer),
        TEST(test_full_disk_reported_and_retried),
        TEST(test_disk_full_midway_then_recovers),
        TEST(test_reopen_after_crash_mid_entry),
        TEST(test_bad_stream_refused),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_time_refusals),
        cmocka_unit_test(test_frame_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
