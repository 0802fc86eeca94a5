/* test_tar_writer.c — archives written by tar_writer, read back by libarchive and by GNU tar. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "tar_writer.h"

struct expected_entry {
    const char *name; /* as a reader reports it: directories end in '/' */
    mode_t type;
    const char *content; /* NULL for a directory */
    size_t size;
};

struct archive_file {
    char path[64];
    int fd;
};

static void archive_file_create(struct archive_file *file)
{
    snprintf(file->path, sizeof file->path, "/tmp/test_tar_writer.XXXXXX");
    file->fd = mkostemp(file->path, O_CLOEXEC);
    assert_true(file->fd >= 0);
}

static void archive_file_destroy(struct archive_file *file)
{
    close(file->fd);
    unlink(file->path);
}

static char *repeat(char c, size_t count)
{
    char *text = malloc(count + 1);
    assert_non_null(text);
    memset(text, c, count);
    text[count] = '\0';
    return text;
}

/* Read path with libarchive's tar reader and compare entry by entry. */
static void check_with_libarchive(const char *path, const struct expected_entry *expected,
                                  size_t count)
{
    struct archive *reader = archive_read_new();
    archive_read_support_format_tar(reader);
    assert_int_equal(archive_read_open_filename(reader, path, 10240), ARCHIVE_OK);
    struct archive_entry *entry;
    size_t index = 0;
    int status;
    while ((status = archive_read_next_header(reader, &entry)) == ARCHIVE_OK) {
        assert_true(index < count);
        const struct expected_entry *want = &expected[index++];
        assert_string_equal(archive_entry_pathname(entry), want->name);
        assert_int_equal(archive_entry_filetype(entry), want->type);
        assert_int_equal(archive_entry_uid(entry), 0);
        assert_int_equal(archive_entry_gid(entry), 0);
        assert_int_equal(archive_entry_mtime(entry), 0);
        assert_int_equal(archive_entry_perm(entry), want->type == AE_IFDIR ? 0755 : 0644);
        if (want->type != AE_IFREG)
            continue;
        assert_int_equal(archive_entry_size(entry), want->size);
        char *data = malloc(want->size + 1);
        assert_non_null(data);
        assert_int_equal(archive_read_data(reader, data, want->size + 1), want->size);
        assert_memory_equal(data, want->content, want->size);
        free(data);
    }
    assert_int_equal(status, ARCHIVE_EOF);
    assert_int_equal(index, count);
    archive_read_free(reader);
}

/* `tar -tvf` must list the same names, without a warning, and `tar -xOf`
 * must give back each file's content. */
static void check_with_gnu_tar(const char *path, const struct expected_entry *expected,
                               size_t count)
{
    char command[256];
    snprintf(command, sizeof command, "tar -tvf %s 2>&1", path);
    FILE *listing = popen(command, "r");
    assert_non_null(listing);
    char *line = NULL;
    size_t capacity = 0;
    size_t index = 0;
    while (getline(&line, &capacity, listing) > 0) {
        line[strcspn(line, "\n")] = '\0';
        assert_true(index < count);
        const struct expected_entry *want = &expected[index++];
        /* "-rw-r--r-- 0/0   5 1970-01-01 00:00 NAME" */
        assert_true(line[0] == (want->type == AE_IFDIR ? 'd' : '-'));
        assert_true(strncmp(line + 1, want->type == AE_IFDIR ? "rwxr-xr-x" : "rw-r--r--", 9) == 0);
        char owner[32];
        unsigned long long size;
        assert_int_equal(sscanf(line + 10, " %31s %llu", owner, &size), 2);
        assert_string_equal(owner, "0/0");
        assert_int_equal(size, want->size);
        size_t name_length = strlen(want->name);
        size_t line_length = strlen(line);
        assert_true(line_length > name_length);
        assert_string_equal(line + line_length - name_length, want->name);
        assert_int_equal(line[line_length - name_length - 1], ' ');
    }
    free(line);
    assert_int_equal(pclose(listing), 0);
    assert_int_equal(index, count);
    for (size_t i = 0; i < count; i++) {
        if (expected[i].type != AE_IFREG)
            continue;
        snprintf(command, sizeof command, "tar -xOf %s '%s'", path, expected[i].name);
        /* Names past the command buffer are checked by libarchive alone. */
        if (strlen(command) >= sizeof command - 1)
            continue;
        FILE *extract = popen(command, "r");
        assert_non_null(extract);
        char *data = malloc(expected[i].size + 2);
        size_t got = fread(data, 1, expected[i].size + 1, extract);
        assert_int_equal(pclose(extract), 0);
        assert_int_equal(got, expected[i].size);
        assert_memory_equal(data, expected[i].content, got);
        free(data);
    }
}

static void test_entries_read_back(void **state)
{
    (void)state;
    struct archive_file file;
    struct tar_writer writer;
    struct keel_error err = {0};
    char *split_name = NULL, *long_name = NULL, *very_long_name = NULL, *long_directory = NULL;
    char *long_directory_slash = NULL;
    char *segment = repeat('d', 60);
    char *leaf = repeat('f', 60);
    char *big = repeat('x', 100000);
    assert_true(asprintf(&split_name, "%s/%s", segment, leaf) > 100); /* fits prefix + name */
    long_name = repeat('n', 101);                                     /* no '/': pax path */
    assert_true(asprintf(&very_long_name, "%s/%s/%s/%s/%s", segment, segment, segment, segment,
                         leaf) > 255); /* past prefix + name */
    assert_true(asprintf(&long_directory, "%s/%s/%s", segment, segment, segment) > 100);
    assert_true(asprintf(&long_directory_slash, "%s/", long_directory) > 0);
    archive_file_create(&file);

    /* a file given by fd */
    char fd_path[] = "/tmp/test_tar_writer_input.XXXXXX";
    int input = mkostemp(fd_path, O_CLOEXEC);
    assert_true(input >= 0);
    unlink(fd_path);
    assert_int_equal(write(input, big, 100000), 100000);
    assert_int_equal(lseek(input, 0, SEEK_SET), 0);

    tar_writer_init(&writer, file.fd);
    assert_int_equal(tar_writer_add_directory(&writer, "blobs", &err), 0);
    assert_int_equal(tar_writer_add_directory(&writer, "blobs/sha256", &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, "blobs/sha256/hello", "hello\n", 6, &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, "empty", "", 0, &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, "exactly-512", big, 512, &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, split_name, "split", 5, &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, long_name, "long", 4, &err), 0);
    assert_int_equal(tar_writer_add_bytes(&writer, very_long_name, "very long", 9, &err), 0);
    assert_int_equal(tar_writer_add_directory(&writer, long_directory, &err), 0);
    assert_int_equal(tar_writer_add_fd(&writer, "from-fd", input, 100000, &err), 0);
    assert_int_equal(tar_writer_begin_file(&writer, "streamed", 7, &err), 0);
    assert_int_equal(tar_writer_write_data(&writer, "str", 3, &err), 0);
    assert_int_equal(tar_writer_write_data(&writer, "eamed", 4, &err), 0);
    assert_int_equal(tar_writer_end_file(&writer, &err), 0);
    assert_int_equal(tar_writer_finish(&writer, &err), 0);
    close(input);

    struct stat status;
    assert_int_equal(fstat(file.fd, &status), 0);
    assert_int_equal(status.st_size, writer.offset);
    assert_int_equal(status.st_size % 10240, 0);

    const struct expected_entry expected[] = {
        {"blobs/", AE_IFDIR, NULL, 0},
        {"blobs/sha256/", AE_IFDIR, NULL, 0},
        {"blobs/sha256/hello", AE_IFREG, "hello\n", 6},
        {"empty", AE_IFREG, "", 0},
        {"exactly-512", AE_IFREG, big, 512},
        {split_name, AE_IFREG, "split", 5},
        {long_name, AE_IFREG, "long", 4},
        {very_long_name, AE_IFREG, "very long", 9},
        {long_directory_slash, AE_IFDIR, NULL, 0},
        {"from-fd", AE_IFREG, big, 100000},
        {"streamed", AE_IFREG, "streamed", 7},
    };
    size_t count = sizeof expected / sizeof expected[0];
    check_with_libarchive(file.path, expected, count);
    check_with_gnu_tar(file.path, expected, count);

    archive_file_destroy(&file);
    free(split_name);
    free(long_name);
    free(very_long_name);
    free(long_directory);
    free(long_directory_slash);
    free(segment);
    free(leaf);
    free(big);
}

/* The exact layout: one header block per short entry, content padded to
 * 512, the ustar magic and a checksum tar accepts, and the record padding. */
static void test_layout_and_padding(void **state)
{
    (void)state;
    struct archive_file file;
    struct tar_writer writer;
    struct keel_error err = {0};
    archive_file_create(&file);
    tar_writer_init(&writer, file.fd);
    assert_int_equal(tar_writer_add_bytes(&writer, "a", "x", 1, &err), 0);
    assert_int_equal(writer.offset, 1024);
    assert_int_equal(tar_writer_finish(&writer, &err), 0);
    assert_int_equal(writer.offset, 10240);

    unsigned char block[512];
    assert_int_equal(pread(file.fd, block, sizeof block, 0), 512);
    assert_memory_equal(block + 257,
                        "ustar\0"
                        "00",
                        8);
    assert_string_equal((char *)block, "a");
    assert_string_equal((char *)block + 124, "00000000001");
    assert_int_equal(block[156], '0');
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : block[i];
    assert_int_equal(strtoul((char *)block + 148, NULL, 8), sum);
    assert_int_equal(block[155], ' ');
    /* everything after the content is zeros */
    unsigned char rest[10240 - 1024];
    assert_int_equal(pread(file.fd, rest, sizeof rest, 1024), sizeof rest);
    for (size_t i = 0; i < sizeof rest; i++)
        assert_int_equal(rest[i], 0);
    archive_file_destroy(&file);

    /* an archive of exactly one record gets no extra padding record */
    archive_file_create(&file);
    tar_writer_init(&writer, file.fd);
    char *content = repeat('c', 10240 - 3 * 512);
    assert_int_equal(tar_writer_add_bytes(&writer, "fill", content, strlen(content), &err), 0);
    assert_int_equal(tar_writer_finish(&writer, &err), 0);
    assert_int_equal(writer.offset, 10240);
    free(content);
    archive_file_destroy(&file);
}

/* Past 8 GiB - 1 the size goes in a pax record; only the headers are
 * written here, and libarchive reads the size from them. */
static void test_huge_size_uses_pax(void **state)
{
    (void)state;
    struct archive_file file;
    struct tar_writer writer;
    struct keel_error err = {0};
    const uint64_t huge = 9ULL << 30;
    archive_file_create(&file);
    tar_writer_init(&writer, file.fd);
    assert_int_equal(tar_writer_begin_file(&writer, "huge", huge, &err), 0);
    assert_int_equal(writer.offset, 3 * 512); /* pax header, its records, the ustar header */

    char records[512];
    assert_int_equal(pread(file.fd, records, sizeof records, 512), 512);
    assert_string_equal(records, "19 size=9663676416\n");
    char flag;
    assert_int_equal(pread(file.fd, &flag, 1, 156), 1);
    assert_int_equal(flag, 'x');

    struct archive *reader = archive_read_new();
    archive_read_support_format_tar(reader);
    assert_int_equal(archive_read_open_filename(reader, file.path, 10240), ARCHIVE_OK);
    struct archive_entry *entry;
    assert_int_equal(archive_read_next_header(reader, &entry), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(entry), "huge");
    assert_int_equal(archive_entry_size(entry), huge);
    archive_read_free(reader);
    archive_file_destroy(&file);
}

static void test_fd_of_the_wrong_size_is_eio(void **state)
{
    (void)state;
    struct archive_file file;
    struct tar_writer writer;
    archive_file_create(&file);
    char input_path[] = "/tmp/test_tar_writer_input.XXXXXX";
    int input = mkostemp(input_path, O_CLOEXEC);
    assert_true(input >= 0);
    unlink(input_path);
    assert_int_equal(write(input, "0123456789", 10), 10);

    /* shorter than promised */
    struct keel_error err = {0};
    assert_int_equal(lseek(input, 0, SEEK_SET), 0);
    tar_writer_init(&writer, file.fd);
    assert_int_equal(tar_writer_add_fd(&writer, "short", input, 20, &err), -1);
    assert_int_equal(err.errno_value, EIO);
    assert_non_null(strstr(err.message, "\"short\": file changed size"));

    /* longer than promised */
    err = (struct keel_error){0};
    assert_int_equal(lseek(input, 0, SEEK_SET), 0);
    assert_int_equal(tar_writer_add_fd(&writer, "long", input, 5, &err), -1);
    assert_int_equal(err.errno_value, EIO);
    assert_non_null(strstr(err.message, "\"long\": file changed size"));

    /* a write error names the entry */
    err = (struct keel_error){0};
    assert_int_equal(lseek(input, 0, SEEK_SET), 0);
    tar_writer_init(&writer, -1);
    assert_int_equal(tar_writer_add_bytes(&writer, "nowhere", "x", 1, &err), -1);
    assert_int_equal(err.errno_value, EBADF);
    assert_non_null(strstr(err.message, "nowhere"));

    /* an empty name is refused */
    err = (struct keel_error){0};
    tar_writer_init(&writer, file.fd);
    assert_int_equal(tar_writer_add_bytes(&writer, "", "x", 1, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    close(input);
    archive_file_destroy(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_read_back),
        cmocka_unit_test(test_layout_and_padding),
        cmocka_unit_test(test_huge_size_uses_pax),
        cmocka_unit_test(test_fd_of_the_wrong_size_is_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
