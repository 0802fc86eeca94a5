/* test_layer_unpack.c — unpacking layers: entry kinds, whiteouts, diff id, hostile corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "digest.h"
#include "layer_unpack.h"

#define BIG_SIZE (3 * 1024 * 1024 + 123)
#define SPARSE_SIZE (2 * 1024 * 1024)
#define SPARSE_SECOND_OFFSET (1024 * 1024)
#define MTIME 1600000000

/* A tar stream built in memory with libarchive's writer. */
struct layer_builder {
    struct archive *archive;
    unsigned char *data;
    size_t size;
    size_t capacity;
};

static la_ssize_t builder_write(struct archive *archive, void *context, const void *buffer,
                                size_t length)
{
    struct layer_builder *builder = context;
    (void)archive;
    if (builder->size + length > builder->capacity) {
        builder->capacity = 2 * (builder->size + length);
        builder->data = realloc(builder->data, builder->capacity);
        assert_non_null(builder->data);
    }
    memcpy(builder->data + builder->size, buffer, length);
    builder->size += length;
    return (la_ssize_t)length;
}

static void builder_begin(struct layer_builder *builder)
{
    *builder = (struct layer_builder){.archive = archive_write_new()};
    assert_int_equal(archive_write_set_format_pax(builder->archive), ARCHIVE_OK);
    assert_int_equal(archive_write_open(builder->archive, builder, NULL, builder_write, NULL),
                     ARCHIVE_OK);
}

static void builder_end(struct layer_builder *builder)
{
    assert_int_equal(archive_write_close(builder->archive), ARCHIVE_OK);
    archive_write_free(builder->archive);
    builder->archive = NULL;
}

static void builder_free(struct layer_builder *builder)
{
    free(builder->data);
    builder->data = NULL;
}

/* An entry owned by the caller (so tests pass without root), mode 0644 or
 * 0755, a fixed mtime; the caller adjusts it before builder_add. */
static struct archive_entry *entry_new(const char *path, mode_t type)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, path);
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_uid(entry, getuid());
    archive_entry_set_gid(entry, getgid());
    archive_entry_set_mtime(entry, MTIME, 0);
    return entry;
}

static void builder_add(struct layer_builder *builder, struct archive_entry *entry,
                        const void *data, size_t size)
{
    if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry))
        archive_entry_set_size(entry, (la_int64_t)size);
    assert_int_equal(archive_write_header(builder->archive, entry), ARCHIVE_OK);
    if (size > 0)
        assert_int_equal(archive_write_data(builder->archive, data, size), (la_ssize_t)size);
    archive_entry_free(entry);
}

static void add_file(struct layer_builder *builder, const char *path, const char *text)
{
    builder_add(builder, entry_new(path, AE_IFREG), text, strlen(text));
}

static void add_directory(struct layer_builder *builder, const char *path)
{
    builder_add(builder, entry_new(path, AE_IFDIR), NULL, 0);
}

static void add_symlink(struct layer_builder *builder, const char *path, const char *target)
{
    struct archive_entry *entry = entry_new(path, AE_IFLNK);
    archive_entry_set_symlink(entry, target);
    builder_add(builder, entry, NULL, 0);
}

static void add_hardlink(struct layer_builder *builder, const char *path, const char *target)
{
    struct archive_entry *entry = entry_new(path, AE_IFREG);
    archive_entry_set_hardlink(entry, target);
    builder_add(builder, entry, NULL, 0);
}

/* The tar stream compressed by libarchive's writer (format raw, one filter). */
static void compress_bytes(const struct layer_builder *tar, int filter, struct layer_builder *out)
{
    *out = (struct layer_builder){.archive = archive_write_new()};
    assert_int_equal(archive_write_add_filter(out->archive, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_raw(out->archive), ARCHIVE_OK);
    /* No zero padding after the compressed stream (zstd would read it as a
     * bad frame; real layers have none). */
    assert_int_equal(archive_write_set_bytes_in_last_block(out->archive, 1), ARCHIVE_OK);
    assert_int_equal(archive_write_open(out->archive, out, NULL, builder_write, NULL), ARCHIVE_OK);
    struct archive_entry *entry = entry_new("layer.tar", AE_IFREG);
    builder_add(out, entry, tar->data, tar->size);
    builder_end(out);
}

static int memfd_of(const void *data, size_t size)
{
    int fd = memfd_create("layer", MFD_CLOEXEC);
    assert_true(fd >= 0);
    const unsigned char *cursor = data;
    while (size > 0) {
        ssize_t written = write(fd, cursor, size);
        assert_true(written > 0);
        cursor += written;
        size -= (size_t)written;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* A pipe a child process writes data into, in pieces. */
static int pipe_of(const void *data, size_t size, pid_t *writer)
{
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    *writer = fork();
    assert_true(*writer >= 0);
    if (*writer == 0) {
        close(fds[0]);
        const unsigned char *cursor = data;
        while (size > 0) {
            ssize_t written = write(fds[1], cursor, size < 3000 ? size : 3000);
            if (written <= 0)
                _exit(1);
            cursor += written;
            size -= (size_t)written;
        }
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

/* A scratch directory: WORK/layer is the target, WORK/sibling/canary a file
 * nothing may touch. */
struct workspace {
    char root[64];
    char layer[96];
    char sibling[96];
    int layer_fd;
};

static void workspace_create(struct workspace *work)
{
    snprintf(work->root, sizeof work->root, "/tmp/test-layer-unpack-XXXXXX");
    assert_non_null(mkdtemp(work->root));
    snprintf(work->layer, sizeof work->layer, "%s/layer", work->root);
    snprintf(work->sibling, sizeof work->sibling, "%s/sibling", work->root);
    assert_int_equal(mkdir(work->layer, 0755), 0);
    assert_int_equal(mkdir(work->sibling, 0755), 0);
    char canary[128];
    snprintf(canary, sizeof canary, "%s/canary", work->sibling);
    int fd = open(canary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "canary\n", 7), 7);
    close(fd);
    work->layer_fd = open(work->layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(work->layer_fd >= 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void workspace_remove(struct workspace *work)
{
    close(work->layer_fd);
    nftw(work->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t directory_count(const char *path)
{
    DIR *directory = opendir(path);
    assert_non_null(directory);
    size_t count = 0;
    for (struct dirent *child; (child = readdir(directory));)
        count += strcmp(child->d_name, ".") != 0 && strcmp(child->d_name, "..") != 0;
    closedir(directory);
    return count;
}

/* Nothing outside the layer changed: the work directory holds layer and
 * sibling, the sibling only its canary, unchanged, and /etc/x is absent. */
static void workspace_check_outside(const struct workspace *work)
{
    char canary[128], text[16] = {0};
    struct stat st;
    assert_int_equal(directory_count(work->root), 2);
    assert_int_equal(directory_count(work->sibling), 1);
    assert_int_equal(stat(work->sibling, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    snprintf(canary, sizeof canary, "%s/canary", work->sibling);
    assert_int_equal(lstat(canary, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_nlink, 1);
    int fd = open(canary, O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(fd, text, sizeof text), 7);
    close(fd);
    assert_string_equal(text, "canary\n");
    assert_int_equal(listxattr(canary, NULL, 0) > 0 ? 1 : 0, 0);
    assert_int_equal(access("/etc/x", F_OK), -1);
}

static int unpack_bytes(const struct workspace *work, const void *data, size_t size,
                        struct digest *diff_id, struct layer_unpack_stats *stats,
                        struct keel_error *err)
{
    int fd = memfd_of(data, size);
    int result = layer_unpack(fd, work->layer_fd, NULL, diff_id, stats, err);
    close(fd);
    return result;
}

/* Version 2 file capabilities: cap_net_raw (13) permitted and effective. */
static const unsigned char capability_net_raw[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};

static void build_normal_layer(struct layer_builder *builder, unsigned char *big)
{
    struct archive_entry *entry;
    builder_begin(builder);
    add_directory(builder, "./");
    entry = entry_new("./etc/", AE_IFDIR);
    archive_entry_set_perm(entry, 0750);
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 1000);
    archive_entry_set_mtime(entry, 1000000, 0);
    builder_add(builder, entry, NULL, 0);
    entry = entry_new("./etc/passwd", AE_IFREG);
    archive_entry_set_mtime(entry, 2000000, 500);
    builder_add(builder, entry, "root:x:0:0::/root:/bin/sh\n", 26);
    add_directory(builder, "bin");
    entry = entry_new("bin/su", AE_IFREG);
    archive_entry_set_perm(entry, 04755);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    builder_add(builder, entry, "su", 2);
    entry = entry_new("bin/ping", AE_IFREG);
    archive_entry_set_perm(entry, 0755);
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 1000);
    archive_entry_xattr_add_entry(entry, "security.capability", capability_net_raw,
                                  sizeof capability_net_raw);
    archive_entry_xattr_add_entry(entry, "user.x", "1", 1);
    builder_add(builder, entry, "ping", 4);
    entry = entry_new("bin/sh", AE_IFLNK);
    archive_entry_set_symlink(entry, "su");
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 1000);
    archive_entry_set_mtime(entry, 3000000, 0);
    archive_entry_xattr_add_entry(entry, "trusted.keel", "link", 4);
    builder_add(builder, entry, NULL, 0);
    add_hardlink(builder, "bin/su2", "bin/su");
    /* No entry for home/: the parent is created. */
    entry = entry_new("home//user/", AE_IFDIR);
    archive_entry_set_perm(entry, 0700);
    archive_entry_set_uid(entry, 1000);
    archive_entry_set_gid(entry, 1000);
    builder_add(builder, entry, NULL, 0);
    add_directory(builder, "dev");
    entry = entry_new("dev/null", AE_IFCHR);
    archive_entry_set_perm(entry, 0666);
    archive_entry_set_rdevmajor(entry, 1);
    archive_entry_set_rdevminor(entry, 3);
    builder_add(builder, entry, NULL, 0);
    entry = entry_new("dev/sda", AE_IFBLK);
    archive_entry_set_perm(entry, 0660);
    archive_entry_set_gid(entry, 6);
    archive_entry_set_rdevmajor(entry, 8);
    archive_entry_set_rdevminor(entry, 0);
    builder_add(builder, entry, NULL, 0);
    entry = entry_new("run/fifo", AE_IFIFO);
    archive_entry_set_perm(entry, 0600);
    builder_add(builder, entry, NULL, 0);
    builder_add(builder, entry_new("big", AE_IFREG), big, BIG_SIZE);
    /* The writer takes the whole content and stores only the listed parts. */
    unsigned char *sparse = calloc(1, SPARSE_SIZE);
    assert_non_null(sparse);
    memset(sparse, 'a', 4096);
    memset(sparse + SPARSE_SECOND_OFFSET, 'b', 4096);
    entry = entry_new("sparse", AE_IFREG);
    archive_entry_set_size(entry, SPARSE_SIZE); /* before the map, which must fit in it */
    archive_entry_sparse_add_entry(entry, 0, 4096);
    archive_entry_sparse_add_entry(entry, SPARSE_SECOND_OFFSET, 4096);
    builder_add(builder, entry, sparse, SPARSE_SIZE);
    free(sparse);
    builder_end(builder);
}

static void check_node(int root, const char *path, mode_t mode, uid_t uid, gid_t gid,
                       struct stat *st)
{
    if (fstatat(root, path, st, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("%s: %s", path, strerror(errno));
    if (st->st_mode != mode || st->st_uid != uid || st->st_gid != gid)
        fail_msg("%s: mode 0%o owner %u:%u, expected 0%o %u:%u", path, st->st_mode, st->st_uid,
                 st->st_gid, mode, uid, gid);
}

static void check_content(int root, const char *path, const void *expected, size_t size)
{
    int fd = openat(root, path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    unsigned char *data = malloc(size + 1);
    assert_non_null(data);
    size_t got = 0;
    ssize_t length;
    while ((length = read(fd, data + got, size + 1 - got)) > 0)
        got += (size_t)length;
    close(fd);
    assert_int_equal(got, size);
    assert_memory_equal(data, expected, size);
    free(data);
}

static void test_normal_layer(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        printf("skipped: owners, devices and file capabilities need root\n");
        skip();
    }
    unsigned char *big = malloc(BIG_SIZE);
    assert_non_null(big);
    for (size_t i = 0; i < BIG_SIZE; i++)
        big[i] = (unsigned char)(i * 7 + i / 4096);
    struct layer_builder builder;
    build_normal_layer(&builder, big);

    struct workspace work;
    workspace_create(&work);
    struct digest diff_id;
    struct layer_unpack_stats stats;
    struct keel_error err = {0};
    if (unpack_bytes(&work, builder.data, builder.size, &diff_id, &stats, &err) < 0)
        fail_msg("unpack: %s", err.message);
    assert_int_equal(stats.entries, 15);

    int root = open(work.layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st, other;
    check_node(root, ".", S_IFDIR | 0755, 0, 0, &st);
    check_node(root, "etc", S_IFDIR | 0750, 1000, 1000, &st);
    assert_int_equal(st.st_mtim.tv_sec, 1000000); /* kept after etc/passwd was created */
    check_node(root, "etc/passwd", S_IFREG | 0644, 0, 0, &st);
    assert_int_equal(st.st_mtim.tv_sec, 2000000);
    assert_int_equal(st.st_mtim.tv_nsec, 500);
    check_content(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26);
    check_node(root, "bin/su", S_IFREG | 04755, 0, 0, &st);
    assert_int_equal(st.st_nlink, 2);
    check_node(root, "bin/su2", S_IFREG | 04755, 0, 0, &other);
    assert_int_equal(st.st_ino, other.st_ino);
    check_node(root, "bin/ping", S_IFREG | 0755, 1000, 1000, &st);
    unsigned char capability[64];
    char path[256];
    snprintf(path, sizeof path, "%s/bin/ping", work.layer);
    assert_int_equal(getxattr(path, "security.capability", capability, sizeof capability),
                     sizeof capability_net_raw);
    assert_memory_equal(capability, capability_net_raw, sizeof capability_net_raw);
    char value[8] = {0};
    assert_int_equal(getxattr(path, "user.x", value, sizeof value), 1);
    assert_string_equal(value, "1");
    check_node(root, "bin/sh", S_IFLNK | 0777, 1000, 1000, &st);
    assert_int_equal(st.st_mtim.tv_sec, 3000000);
    char target[16] = {0};
    assert_int_equal(readlinkat(root, "bin/sh", target, sizeof target), 2);
    assert_string_equal(target, "su");
    snprintf(path, sizeof path, "%s/bin/sh", work.layer);
    assert_int_equal(lgetxattr(path, "trusted.keel", value, sizeof value), 4);
    assert_memory_equal(value, "link", 4);
    check_node(root, "home", S_IFDIR | 0755, 0, 0, &st);
    check_node(root, "home/user", S_IFDIR | 0700, 1000, 1000, &st);
    assert_int_equal(st.st_mtim.tv_sec, MTIME);
    check_node(root, "dev/null", S_IFCHR | 0666, 0, 0, &st);
    assert_int_equal(st.st_rdev, makedev(1, 3));
    check_node(root, "dev/sda", S_IFBLK | 0660, 0, 6, &st);
    assert_int_equal(st.st_rdev, makedev(8, 0));
    check_node(root, "run/fifo", S_IFIFO | 0600, 0, 0, &st);
    check_node(root, "big", S_IFREG | 0644, 0, 0, &st);
    check_content(root, "big", big, BIG_SIZE);
    check_node(root, "sparse", S_IFREG | 0644, 0, 0, &st);
    assert_int_equal(st.st_size, SPARSE_SIZE);
    if (st.st_blocks * 512 >= SPARSE_SIZE / 2) /* the holes stayed holes */
        fail_msg("sparse: %lld blocks", (long long)st.st_blocks);
    unsigned char *expected = calloc(1, SPARSE_SIZE);
    memset(expected, 'a', 4096);
    memset(expected + SPARSE_SECOND_OFFSET, 'b', 4096);
    check_content(root, "sparse", expected, SPARSE_SIZE);
    free(expected);

    close(root);
    workspace_check_outside(&work);
    workspace_remove(&work);
    builder_free(&builder);
    free(big);
}

struct progress_record {
    unsigned calls;
    uint64_t last_compressed;
};

static void record_progress(const struct layer_unpack_stats *stats, void *data)
{
    struct progress_record *record = data;
    record->calls++;
    record->last_compressed = stats->compressed_bytes;
}

static void test_diff_id_covers_uncompressed_stream(void **state)
{
    (void)state;
    struct layer_builder tar;
    builder_begin(&tar);
    add_directory(&tar, "d");
    add_file(&tar, "d/a", "alpha\n");
    unsigned char *filler = malloc(1536 * 1024);
    for (size_t i = 0; i < 1536 * 1024; i++)
        filler[i] = (unsigned char)((i * 2654435761u) >> 13);
    builder_add(&tar, entry_new("d/filler", AE_IFREG), filler, 1536 * 1024);
    free(filler);
    add_symlink(&tar, "d/l", "a");
    builder_end(&tar);
    /* The writer pads to a 10240-byte record: the hash must cover the padding. */
    assert_int_equal(tar.size % 10240, 0);
    struct digest expected;
    digest_of_bytes(tar.data, tar.size, &expected);

    static const int filters[] = {ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD,
                                  ARCHIVE_FILTER_XZ};
    /* Each from a file and from a pipe, which yields the stream in small reads. */
    for (size_t i = 0; i < 2 * sizeof filters / sizeof filters[0]; i++) {
        int filter = filters[i / 2];
        bool from_pipe = i % 2;
        struct layer_builder input;
        compress_bytes(&tar, filter, &input);
        struct workspace work;
        workspace_create(&work);
        struct digest diff_id;
        struct layer_unpack_stats stats;
        struct progress_record progress = {0};
        struct layer_unpack_options options = {.progress = record_progress,
                                               .progress_data = &progress};
        struct keel_error err = {0};
        pid_t writer = -1;
        int fd =
            from_pipe ? pipe_of(input.data, input.size, &writer) : memfd_of(input.data, input.size);
        if (layer_unpack(fd, work.layer_fd, &options, &diff_id, &stats, &err) < 0)
            fail_msg("filter %d%s: %s", filter, from_pipe ? " (pipe)" : "", err.message);
        close(fd);
        if (from_pipe)
            assert_int_equal(waitpid(writer, NULL, 0), writer);
        assert_string_equal(diff_id.text, expected.text);
        assert_int_equal(stats.entries, 4);
        assert_int_equal(stats.tar_bytes, tar.size);
        assert_int_equal(stats.compressed_bytes, input.size);
        assert_true(progress.calls >= 1);
        assert_int_equal(progress.last_compressed, input.size);
        if (filter != ARCHIVE_FILTER_NONE)
            assert_true(input.size < tar.size);
        check_content(work.layer_fd, "d/a", "alpha\n", 6);
        workspace_check_outside(&work);
        workspace_remove(&work);
        builder_free(&input);
    }
    builder_free(&tar);
}

static void test_whiteouts(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        printf("skipped: whiteout devices and trusted.* xattrs need root\n");
        skip();
    }
    struct layer_builder builder;
    builder_begin(&builder);
    add_directory(&builder, "a");
    add_file(&builder, "a/.wh..wh..opq", "");
    add_file(&builder, "a/.wh.foo", "");
    add_file(&builder, ".wh.bar", "");
    /* Whiteouts over what this same layer put there earlier. */
    add_directory(&builder, "c/d");
    add_file(&builder, "c/d/e", "e");
    add_symlink(&builder, "c/d/l", "/");
    add_file(&builder, "c/.wh.d", "");
    add_file(&builder, "f", "f");
    add_file(&builder, ".wh.f", "");
    builder_end(&builder);

    struct workspace work;
    workspace_create(&work);
    struct digest diff_id;
    struct keel_error err = {0};
    if (unpack_bytes(&work, builder.data, builder.size, &diff_id, NULL, &err) < 0)
        fail_msg("unpack: %s", err.message);
    int root = open(work.layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    const char *whiteouts[] = {"a/foo", "bar", "c/d", "f"};
    for (size_t i = 0; i < sizeof whiteouts / sizeof whiteouts[0]; i++) {
        check_node(root, whiteouts[i], S_IFCHR, getuid(), getgid(), &st);
        assert_int_equal(st.st_rdev, makedev(0, 0));
    }
    assert_int_equal(faccessat(root, "a/.wh.foo", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(faccessat(root, "a/.wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    char path[256], value[8] = {0};
    snprintf(path, sizeof path, "%s/a", work.layer);
    assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof value), 1);
    assert_string_equal(value, "y");
    assert_int_equal(getxattr(work.layer, "trusted.overlay.opaque", value, sizeof value), -1);
    close(root);
    workspace_check_outside(&work);
    workspace_remove(&work);
    builder_free(&builder);
}

/* One entry of a hostile archive. kind: 'f' file, 'd' directory, 'l'
 * symlink to target, 'h' hard link to target, 'D' directory mode 0777, 'x'
 * file with xattr user.evil, 'L' symlink with xattr user.evil, 'O'
 * directory with xattr trusted.overlay.redirect. A target "SIBLING" is the
 * workspace's sibling directory (outside the layer). */
struct hostile_entry {
    char kind;
    const char *path;
    const char *target;
};

struct hostile_case {
    const char *name;
    struct hostile_entry entries[4]; /* ended by kind 0 */
    const char *message;             /* must appear in the error */
};

static const struct hostile_case hostile_cases[] = {
    {"absolute path", {{'f', "/etc/x", NULL}}, "entry \"/etc/x\": absolute path"},
    {"..", {{'f', "../x", NULL}}, "entry \"../x\": path leaves the layer"},
    {"inner ..",
     {{'d', "a", NULL}, {'f', "a/../../x", NULL}},
     "entry \"a/../../x\": path leaves the layer"},
    {"symlink out",
     {{'l', "l", "SIBLING"}, {'f', "l/x", NULL}},
     "entry \"l/x\": parent goes through a symlink"},
    {"symlink up",
     {{'l', "l", ".."}, {'f', "l/x", NULL}},
     "entry \"l/x\": parent goes through a symlink"},
    {"symlink chain",
     {{'l', "l1", "SIBLING"}, {'l', "l2", "l1"}, {'d', "l2/x", NULL}},
     "entry \"l2/x/\": parent goes through a symlink"},
    {"hard link up",
     {{'h', "h", "../sibling/canary"}},
     "entry \"h\": link target \"../sibling/canary\": path leaves the layer"},
    {"hard link absolute",
     {{'h', "h", "/etc/passwd"}},
     "entry \"h\": link target \"/etc/passwd\": absolute path"},
    {"hard link missing",
     {{'h', "h", "missing"}},
     "entry \"h\": link target \"missing\": does not exist"},
    {"hard link through symlink",
     {{'l', "l", "SIBLING"}, {'h', "h", "l/canary"}},
     "entry \"h\": link target \"l/canary\": parent goes through a symlink"},
    {"hard link to directory",
     {{'d', "d", NULL}, {'h', "h", "d"}},
     "entry \"h\": link target \"d\": is a directory"},
    {"directory over symlink",
     {{'l', "l", "SIBLING"}, {'D', "l", NULL}},
     "entry \"l/\": would change the symlink l"},
    {"xattr through symlink",
     {{'l', "l", "SIBLING"}, {'x', "l/canary", NULL}},
     "entry \"l/canary\": parent goes through a symlink"},
    {"user xattr on symlink", {{'L', "l", "x"}}, "entry \"l\": xattr user.evil on a symlink"},
    {"overlay xattr",
     {{'O', "d", NULL}},
     "entry \"d/\": xattr trusted.overlay.redirect belongs to overlayfs"},
    {".wh.", {{'f', ".wh.", NULL}}, "entry \".wh.\": malformed whiteout name"},
    {".wh..", {{'f', "d/.wh..", NULL}}, "entry \"d/.wh..\": malformed whiteout name"},
    {".wh...", {{'f', ".wh...", NULL}}, "entry \".wh...\": malformed whiteout name"},
    {".wh..wh.foo", {{'f', ".wh..wh.foo", NULL}}, "entry \".wh..wh.foo\": malformed whiteout name"},
    {"whiteout as directory",
     {{'f', ".wh.foo/x", NULL}},
     "entry \".wh.foo/x\": whiteout name used as a directory"},
    {"file over directory",
     {{'d', "d", NULL}, {'f', "d", NULL}},
     "entry \"d\": a directory is in the way"},
};

static void hostile_add(struct layer_builder *builder, const struct hostile_entry *hostile,
                        const char *sibling)
{
    const char *target = hostile->target;
    if (target && strcmp(target, "SIBLING") == 0)
        target = sibling;
    mode_t type = strchr("dDO", hostile->kind)  ? AE_IFDIR
                  : strchr("lL", hostile->kind) ? AE_IFLNK
                                                : AE_IFREG;
    struct archive_entry *entry = entry_new(hostile->path, type);
    if (hostile->kind == 'l' || hostile->kind == 'L')
        archive_entry_set_symlink(entry, target);
    if (hostile->kind == 'h')
        archive_entry_set_hardlink(entry, target);
    if (hostile->kind == 'D')
        archive_entry_set_perm(entry, 0777);
    if (hostile->kind == 'x' || hostile->kind == 'L')
        archive_entry_xattr_add_entry(entry, "user.evil", "1", 1);
    if (hostile->kind == 'O')
        archive_entry_xattr_add_entry(entry, "trusted.overlay.redirect", "/x", 2);
    builder_add(builder, entry, "evil", type == AE_IFREG && hostile->kind != 'h' ? 4 : 0);
}

static void expect_refusal_in(struct workspace *work, const char *name, const void *data,
                              size_t size, const char *message)
{
    struct digest diff_id;
    struct keel_error err = {0};
    if (unpack_bytes(work, data, size, &diff_id, NULL, &err) == 0)
        fail_msg("%s: unpacked without an error", name);
    if (!strstr(err.message, message))
        fail_msg("%s: message \"%s\" lacks \"%s\"", name, err.message, message);
    workspace_check_outside(work);
}

static void expect_refusal(const char *name, const void *data, size_t size, const char *message)
{
    struct workspace work;
    workspace_create(&work);
    expect_refusal_in(&work, name, data, size, message);
    workspace_remove(&work);
}

static void test_hostile_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hostile_cases / sizeof hostile_cases[0]; i++) {
        /* Symlinks point at the real sibling of this workspace. */
        struct workspace work;
        workspace_create(&work);
        struct layer_builder builder;
        builder_begin(&builder);
        for (const struct hostile_entry *entry = hostile_cases[i].entries; entry->kind; entry++)
            hostile_add(&builder, entry, work.sibling);
        builder_end(&builder);
        expect_refusal_in(&work, hostile_cases[i].name, builder.data, builder.size,
                          hostile_cases[i].message);
        workspace_remove(&work);
        builder_free(&builder);
    }
}

/* A file entry over a symlink replaces the symlink; it never writes
 * through it. */
static void test_file_replaces_symlink(void **state)
{
    (void)state;
    struct workspace work;
    workspace_create(&work);
    struct layer_builder builder;
    builder_begin(&builder);
    add_symlink(&builder, "c", "../sibling/canary");
    add_file(&builder, "c", "replaced\n");
    add_symlink(&builder, "d", "../sibling");
    add_symlink(&builder, "d", "elsewhere");
    /* A hard link to a symlink links the symlink itself. */
    add_symlink(&builder, "s", work.sibling);
    add_hardlink(&builder, "h", "s");
    builder_end(&builder);
    struct digest diff_id;
    struct keel_error err = {0};
    if (unpack_bytes(&work, builder.data, builder.size, &diff_id, NULL, &err) < 0)
        fail_msg("unpack: %s", err.message);
    struct stat st;
    assert_int_equal(fstatat(work.layer_fd, "c", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode));
    check_content(work.layer_fd, "c", "replaced\n", 9);
    char target[16] = {0};
    assert_int_equal(readlinkat(work.layer_fd, "d", target, sizeof target), 9);
    assert_string_equal(target, "elsewhere");
    struct stat link_stat;
    assert_int_equal(fstatat(work.layer_fd, "s", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(fstatat(work.layer_fd, "h", &link_stat, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISLNK(link_stat.st_mode));
    assert_int_equal(st.st_ino, link_stat.st_ino);
    workspace_check_outside(&work);
    workspace_remove(&work);
    builder_free(&builder);
}

static void test_broken_streams(void **state)
{
    (void)state;
    struct layer_builder tar;
    builder_begin(&tar);
    add_file(&tar, "small", "small\n");
    unsigned char *data = malloc(256 * 1024);
    for (size_t i = 0; i < 256 * 1024; i++)
        data[i] = (unsigned char)((i * 2654435761u) >> 11);
    builder_add(&tar, entry_new("big", AE_IFREG), data, 256 * 1024);
    builder_end(&tar);

    /* Cut in the middle of big's data. */
    expect_refusal("truncated", tar.data, 128 * 1024, "entry \"big\": truncated layer");

    struct layer_builder gzip;
    compress_bytes(&tar, ARCHIVE_FILTER_GZIP, &gzip);
    expect_refusal("truncated gzip", gzip.data, gzip.size / 3, "layer");
    /* A flip inside deflate data may well inflate to other bytes (libarchive
     * does not check gzip's CRC; the diff id catches those): the first block
     * header is made invalid instead, block type 3. */
    assert_int_equal(gzip.data[3], 0); /* no optional fields: the data starts at 10 */
    gzip.data[10] = 0x07;
    expect_refusal("corrupt gzip", gzip.data, gzip.size, "corrupt layer");

    for (size_t i = 0; i < 256 * 1024; i++)
        data[i] = (unsigned char)(0x80 | ((i * 2654435761u) >> 7));
    expect_refusal("garbage", data, 256 * 1024, "corrupt layer");
    expect_refusal("short garbage", "garbage", 7, "layer");
    expect_refusal("empty", "", 0, "layer");
    free(data);
    builder_free(&gzip);
    builder_free(&tar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_layer),
        cmocka_unit_test(test_diff_id_covers_uncompressed_stream),
        cmocka_unit_test(test_whiteouts),
        cmocka_unit_test(test_hostile_corpus),
        cmocka_unit_test(test_file_replaces_symlink),
        cmocka_unit_test(test_broken_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
