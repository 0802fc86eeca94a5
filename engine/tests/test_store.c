/* test_store.c — the store: layout, blobs, layers, tmp/ cleanup, tree removal, index, base. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "store.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* Each test gets a fresh directory under /tmp; the store is at DIR/store. */
struct fixture {
    char directory[64];
    char *root;
};

static char *path_join(const char *directory, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", directory, name) > 0);
    return path;
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    strcpy(fixture->directory, "/tmp/keel-test-store-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    fixture->root = path_join(fixture->directory, "store");
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    int tmp_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int result = store_remove_tree(tmp_fd, fixture->directory + strlen("/tmp/"), &err);
    if (result < 0)
        print_error("teardown: %s\n", err.message);
    close(tmp_fd);
    free(fixture->root);
    free(fixture);
    return result;
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void write_text_at(int dir_fd, const char *name, const char *text)
{
    int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *read_text(const char *path)
{
    static char buffer[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    assert_true(n >= 0);
    buffer[n] = '\0';
    return buffer;
}

static bool exists(const char *path)
{
    struct stat status;
    return lstat(path, &status) == 0;
}

/* Entries of directory ROOT/name, "." and ".." aside. */
static size_t count_entries(const char *root, const char *name)
{
    _cleanup_free_ char *path = path_join(root, name);
    DIR *directory = opendir(path);
    assert_non_null(directory);
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(directory);
    return count;
}

static void open_locked(struct store *store, const char *root, const char *base)
{
    struct keel_error err = {0};
    if (store_open(store, root, base, 0, &err) < 0 || store_lock(store, &err) < 0)
        fail_msg("open %s: %s", root, err.message);
}

static void expect_message(const struct keel_error *err, const char *part)
{
    if (strstr(err->message, part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->message, part);
}

static struct digest digest_of(const char *text)
{
    struct digest digest;
    digest_of_bytes(text, strlen(text), &digest);
    return digest;
}

/* ---- layout and lock ---- */

static void test_open_creates_layout(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    _cleanup_free_ char *nested = path_join(fixture->root, "deeper/still");

    assert_int_equal(store_open(&store, nested, NULL, 0, &err), 0);
    assert_true(store.root_fd >= 0);
    assert_int_equal(store.base_fd, -1);
    assert_int_equal(store.lock_fd, -1);
    assert_string_equal(store.root_path, nested);
    static const char *const directories[] = {"blobs/sha256", "layers", "containers", "tmp"};
    for (size_t i = 0; i < 4; i++) {
        _cleanup_free_ char *path = path_join(nested, directories[i]);
        struct stat status;
        assert_int_equal(stat(path, &status), 0);
        assert_true(S_ISDIR(status.st_mode));
    }
    _cleanup_free_ char *layout = path_join(nested, "oci-layout");
    assert_string_equal(read_text(layout), "{\"imageLayoutVersion\":\"1.0.0\"}");
    _cleanup_free_ char *lock = path_join(nested, "lock");
    assert_true(exists(lock));
    store_close(&store);

    /* Opening again keeps what is there. */
    write_text(layout, "{\"imageLayoutVersion\":\"1.0.0\"}\n");
    assert_int_equal(store_open(&store, nested, NULL, 0, &err), 0);
    assert_string_equal(read_text(layout), "{\"imageLayoutVersion\":\"1.0.0\"}\n");
    store_close(&store);

    /* A relative root is kept as an absolute path. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fixture->directory), 0);
    assert_int_equal(store_open(&store, "store", NULL, 0, &err), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(store.root_path, fixture->root);
    store_close(&store);
}

static void test_open_refusals(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    _cleanup_free_ char *missing = path_join(fixture->directory, "missing");

    assert_int_equal(store_open(&store, NULL, NULL, 0, &err), -1);
    assert_int_equal(store_open(&store, fixture->root, missing, 0, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    expect_message(&err, "base store");
    assert_false(exists(fixture->root));
}

static void test_changes_need_the_lock(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest digest;

    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    assert_int_equal(store_blob_put(&store, "abc", 3, &digest, &err), -1);
    assert_int_equal(err.errno_value, ENOLCK);
    assert_int_equal(store_index_set(&store, "a:1", &digest, 3, &err), -1);
    assert_int_equal(err.errno_value, ENOLCK);
    assert_int_equal(store_lock(&store, &err), 0);
    assert_true(store.lock_fd >= 0);
    assert_int_equal(store_lock(&store, &err), -1);
    assert_int_equal(err.errno_value, EDEADLK);

    /* The lock excludes another writer. */
    _cleanup_free_ char *lock = path_join(fixture->root, "lock");
    _cleanup_close_ int other = open(lock, O_RDWR | O_CLOEXEC);
    assert_true(other >= 0);
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
    store_unlock(&store);
    assert_int_equal(store.lock_fd, -1);
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
    store_close(&store);
}

/* ---- blobs ---- */

static void test_blob_writer_streams(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_blob_writer writer;
    struct keel_error err = {0};
    struct digest digest, expected;

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(digest_parse(ABC_SHA256, &expected, &err), 0);
    assert_int_equal(store_blob_writer_open(&store, &writer, &err), 0);
    assert_non_null(strstr(writer.temporary_path, "tmp/"));
    assert_int_equal(store_blob_writer_write(&writer, "a", 1, &err), 0);
    assert_int_equal(store_blob_writer_write(&writer, "bc", 2, &err), 0);
    assert_int_equal(writer.size, 3);
    assert_int_equal(store_blob_writer_commit(&store, &writer, &expected, &digest, &err), 0);
    assert_string_equal(digest.text, ABC_SHA256);
    store_blob_writer_discard(&store, &writer); /* no-op after commit */

    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/blobs/sha256/%s", fixture->root, digest_hex(&digest)) > 0);
    assert_string_equal(read_text(path), "abc");
    assert_true(store_blob_exists(&store, &digest));
    uint64_t size = 0;
    assert_int_equal(store_blob_size(&store, &digest, &size, &err), 0);
    assert_int_equal(size, 3);
    char *data = NULL;
    size_t length = 0;
    assert_int_equal(store_blob_read(&store, &digest, 1024, &data, &length, &err), 0);
    assert_int_equal(length, 3);
    assert_string_equal(data, "abc");
    free(data);
    int fd = store_blob_open(&store, &digest, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);

    /* A writer dropped before commit leaves nothing. */
    assert_int_equal(store_blob_writer_open(&store, &writer, &err), 0);
    assert_int_equal(store_blob_writer_write(&writer, "x", 1, &err), 0);
    store_blob_writer_discard(&store, &writer);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    assert_int_equal(count_entries(fixture->root, "blobs/sha256"), 1);
    store_close(&store);
}

static void test_blob_digest_mismatch_keeps_nothing(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_blob_writer writer;
    struct keel_error err = {0};
    struct digest digest = {{0}}, expected;

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(digest_parse(EMPTY_SHA256, &expected, &err), 0);
    assert_int_equal(store_blob_writer_open(&store, &writer, &err), 0);
    assert_int_equal(store_blob_writer_write(&writer, "abc", 3, &err), 0);
    assert_int_equal(store_blob_writer_commit(&store, &writer, &expected, &digest, &err), -1);
    assert_string_equal(err.message, "content has digest " ABC_SHA256 ", expected " EMPTY_SHA256);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    assert_int_equal(count_entries(fixture->root, "blobs/sha256"), 0);
    assert_false(store_blob_exists(&store, &expected));
    store_close(&store);
}

static void test_blob_put_twice_is_one_blob(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest first, second;

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(store_blob_put(&store, "{\"a\":1}", 7, &first, &err), 0);
    assert_int_equal(store_blob_put(&store, "{\"a\":1}", 7, &second, &err), 0);
    assert_true(digest_equal(&first, &second));
    assert_int_equal(count_entries(fixture->root, "blobs/sha256"), 1);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    store_close(&store);
}

static void test_blob_read_limit(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest digest;
    char data[100];
    char *read_back = NULL;
    size_t length;

    memset(data, 'x', sizeof data);
    open_locked(&store, fixture->root, NULL);
    assert_int_equal(store_blob_put(&store, data, sizeof data, &digest, &err), 0);
    assert_int_equal(store_blob_read(&store, &digest, 99, &read_back, &length, &err), -1);
    assert_int_equal(err.errno_value, EFBIG);
    assert_int_equal(store_blob_read(&store, &digest, 100, &read_back, &length, &err), 0);
    assert_int_equal(length, 100);
    assert_memory_equal(read_back, data, 100);
    free(read_back);
    store_close(&store);
}

static void test_blob_list_and_remove(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest digests[3], *listed = NULL;
    size_t count = 0;

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(store_blob_put(&store, "one", 3, &digests[0], &err), 0);
    assert_int_equal(store_blob_put(&store, "two", 3, &digests[1], &err), 0);
    assert_int_equal(store_blob_put(&store, "three", 5, &digests[2], &err), 0);
    _cleanup_free_ char *junk = path_join(fixture->root, "blobs/sha256/not-a-digest");
    write_text(junk, "junk");

    assert_int_equal(store_blob_list(&store, &listed, &count, &err), 0);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < 3; i++) {
        bool found = false;
        for (size_t j = 0; j < count; j++)
            found |= digest_equal(&digests[i], &listed[j]);
        assert_true(found);
    }
    free(listed);

    assert_int_equal(store_blob_remove(&store, &digests[1], &err), 0);
    assert_false(store_blob_exists(&store, &digests[1]));
    assert_int_equal(store_blob_list(&store, &listed, &count, &err), 0);
    assert_int_equal(count, 2);
    free(listed);
    assert_int_equal(store_blob_remove(&store, &digests[1], &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_int_equal(store_blob_open(&store, &digests[1], &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    char expected[128];
    snprintf(expected, sizeof expected, "blob %s not found", digests[1].text);
    assert_string_equal(err.message, expected);
    uint64_t size;
    assert_int_equal(store_blob_size(&store, &digests[1], &size, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    store_close(&store);
}

struct writer_thread {
    struct store *store;
    int number;
    int failures;
};

static void *write_blobs(void *data)
{
    struct writer_thread *thread = data;
    for (int i = 0; i < 40; i++) {
        char text[64];
        struct digest digest;
        struct keel_error err = {0};
        snprintf(text, sizeof text, "thread %d blob %d", thread->number, i);
        if (store_blob_put(thread->store, text, strlen(text), &digest, &err) < 0 ||
            !store_blob_exists(thread->store, &digest))
            thread->failures++;
    }
    return NULL;
}

static void test_blob_writers_in_parallel_threads(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    pthread_t threads[4];
    struct writer_thread data[4];

    open_locked(&store, fixture->root, NULL);
    for (int i = 0; i < 4; i++) {
        data[i] = (struct writer_thread){.store = &store, .number = i};
        assert_int_equal(pthread_create(&threads[i], NULL, write_blobs, &data[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(data[i].failures, 0);
    }
    assert_int_equal(count_entries(fixture->root, "blobs/sha256"), 160);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    store_close(&store);
}

/* ---- tmp/ cleanup ---- */

/* Leftovers of a crashed writer: files, and a tree holding a symlink to a
 * directory outside the store, whose contents must survive. */
static void make_leftovers(const char *root, const char *outside)
{
    _cleanup_free_ char *blob = path_join(root, "tmp/blob-1-2-3");
    _cleanup_free_ char *layer = path_join(root, "tmp/layer-1-2-3");
    _cleanup_free_ char *nested = path_join(root, "tmp/layer-1-2-3/usr");
    _cleanup_free_ char *file = path_join(root, "tmp/layer-1-2-3/usr/file");
    _cleanup_free_ char *link = path_join(root, "tmp/layer-1-2-3/usr/outside");
    write_text(blob, "half a blob");
    assert_int_equal(mkdir(layer, 0755), 0);
    assert_int_equal(mkdir(nested, 0755), 0);
    write_text(file, "file");
    assert_int_equal(symlink(outside, link), 0);
}

static void test_open_removes_leftovers(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    _cleanup_free_ char *outside = path_join(fixture->directory, "outside");
    _cleanup_free_ char *precious = path_join(fixture->directory, "outside/precious");

    assert_int_equal(mkdir(outside, 0755), 0);
    write_text(precious, "keep me");
    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    store_close(&store);
    make_leftovers(fixture->root, outside);
    assert_int_equal(count_entries(fixture->root, "tmp"), 2);

    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    store_close(&store);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    assert_string_equal(read_text(precious), "keep me");
}

static void test_open_keeps_tmp_while_locked(void **state)
{
    struct fixture *fixture = *state;
    struct store store, writer;
    struct keel_error err = {0};
    _cleanup_free_ char *outside = path_join(fixture->directory, "outside");

    assert_int_equal(mkdir(outside, 0755), 0);
    open_locked(&writer, fixture->root, NULL); /* a writer at work */
    make_leftovers(fixture->root, outside);
    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    store_close(&store);
    assert_int_equal(count_entries(fixture->root, "tmp"), 2);

    store_close(&writer); /* the writer is gone: its leftovers go at the next open */
    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    store_close(&store);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
}

/* ---- tree removal ---- */

static void test_remove_tree_stays_inside(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    _cleanup_free_ char *outside = path_join(fixture->directory, "outside");
    _cleanup_free_ char *precious = path_join(fixture->directory, "outside/precious");
    _cleanup_free_ char *tree = path_join(fixture->directory, "tree");
    _cleanup_free_ char *link_directory = path_join(fixture->directory, "tree/to-directory");
    _cleanup_free_ char *link_file = path_join(fixture->directory, "tree/to-file");
    _cleanup_free_ char *top_link = path_join(fixture->directory, "top-link");
    _cleanup_close_ int dir_fd = open(fixture->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_int_equal(mkdir(outside, 0755), 0);
    write_text(precious, "keep me");
    assert_int_equal(mkdir(tree, 0755), 0);
    assert_int_equal(symlink(outside, link_directory), 0);
    assert_int_equal(symlink(precious, link_file), 0);
    assert_int_equal(symlink(outside, top_link), 0);

    assert_int_equal(store_remove_tree(dir_fd, "tree", &err), 0);
    assert_false(exists(tree));
    assert_int_equal(store_remove_tree(dir_fd, "top-link", &err), 0);
    assert_false(exists(top_link));
    assert_string_equal(read_text(precious), "keep me");
    /* Through a symlink: refused, nothing removed. */
    assert_int_equal(symlink(outside, top_link), 0);
    assert_int_equal(store_remove_tree(dir_fd, "top-link/precious", &err), -1);
    assert_string_equal(read_text(precious), "keep me");
    assert_int_equal(store_remove_tree(dir_fd, "../escape", &err), -1);
    /* Missing: not an error. */
    assert_int_equal(store_remove_tree(dir_fd, "missing", &err), 0);
    assert_int_equal(store_remove_tree(dir_fd, "missing/deeper", &err), 0);
}

static void test_remove_tree_deep_wide_and_read_only(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    _cleanup_close_ int dir_fd = open(fixture->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    /* 200 levels: deeper than the levels held open. */
    assert_int_equal(mkdirat(dir_fd, "deep", 0755), 0);
    int fd = openat(dir_fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int level = 0; level < 200; level++) {
        write_text_at(fd, "file", "x");
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        assert_int_equal(mkdirat(fd, "e", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(next >= 0);
        close(fd);
        fd = next;
    }
    close(fd);
    assert_int_equal(store_remove_tree(dir_fd, "deep", &err), 0);
    assert_int_equal(faccessat(dir_fd, "deep", F_OK, AT_SYMLINK_NOFOLLOW), -1);

    /* Thousands of files, some in read-only directories (20,000 take
     * 0.25 s to remove, but too long to create for a unit test). */
    assert_int_equal(mkdirat(dir_fd, "wide", 0755), 0);
    for (int d = 0; d < 10; d++) {
        char name[32];
        snprintf(name, sizeof name, "wide/%02d", d);
        assert_int_equal(mkdirat(dir_fd, name, 0755), 0);
        int directory = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (int f = 0; f < 400; f++) {
            char file[16];
            snprintf(file, sizeof file, "%04d", f);
            int created = openat(directory, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
            assert_true(created >= 0);
            close(created);
        }
        if (d % 2)
            assert_int_equal(fchmod(directory, 0555), 0);
        close(directory);
    }
    assert_int_equal(fchmodat(dir_fd, "wide", 0555, 0), 0);
    assert_int_equal(store_remove_tree(dir_fd, "wide", &err), 0);
    assert_int_equal(faccessat(dir_fd, "wide", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_remove_tree_special_files(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    _cleanup_close_ int dir_fd = open(fixture->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_int_equal(mkdirat(dir_fd, "tree", 0755), 0);
    assert_int_equal(mkfifoat(dir_fd, "tree/fifo", 0644), 0);
    if (geteuid() == 0) /* an overlayfs whiteout */
        assert_int_equal(mknodat(dir_fd, "tree/whiteout", S_IFCHR | 0, makedev(0, 0)), 0);
    assert_int_equal(store_remove_tree(dir_fd, "tree", &err), 0);
    assert_int_equal(faccessat(dir_fd, "tree", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

/* ---- layers ---- */

static void commit_layer(struct store *store, const struct digest *chain_id, const char *file)
{
    struct store_layer_writer writer;
    struct keel_error err = {0};
    assert_int_equal(store_layer_writer_open(store, &writer, &err), 0);
    write_text_at(writer.directory_fd, file, file);
    if (store_layer_writer_commit(store, &writer, chain_id, &err) < 0)
        fail_msg("commit layer: %s", err.message);
}

static void test_layers(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_layer_writer writer;
    struct keel_error err = {0};
    struct digest chain_id = digest_of("layer"), *listed = NULL;
    size_t count;

    open_locked(&store, fixture->root, NULL);
    assert_false(store_layer_exists(&store, &chain_id));
    commit_layer(&store, &chain_id, "hello");
    assert_true(store_layer_exists(&store, &chain_id));
    _cleanup_free_ char *path = NULL;
    assert_int_equal(store_layer_path(&store, &chain_id, &path, &err), 0);
    char expected[512];
    snprintf(expected, sizeof expected, "%s/layers/%s", fixture->root, digest_hex(&chain_id));
    assert_string_equal(path, expected);
    _cleanup_free_ char *hello = path_join(path, "hello");
    assert_string_equal(read_text(hello), "hello");
    struct stat status;
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0755);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);

    /* A second commit of the same chain id keeps the first tree. */
    commit_layer(&store, &chain_id, "other");
    _cleanup_free_ char *other = path_join(path, "other");
    assert_false(exists(other));
    assert_true(exists(hello));
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);

    _cleanup_free_ char *junk = path_join(fixture->root, "layers/junk");
    assert_int_equal(mkdir(junk, 0755), 0);
    assert_int_equal(store_layer_list(&store, &listed, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_true(digest_equal(&listed[0], &chain_id));
    free(listed);

    /* Discarded: nothing left. */
    assert_int_equal(store_layer_writer_open(&store, &writer, &err), 0);
    assert_int_equal(mkdirat(writer.directory_fd, "d", 0755), 0);
    store_layer_writer_discard(&store, &writer);
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);

    assert_int_equal(store_layer_remove(&store, &chain_id, &err), 0);
    assert_false(store_layer_exists(&store, &chain_id));
    assert_false(exists(path));
    assert_int_equal(count_entries(fixture->root, "tmp"), 0);
    assert_int_equal(store_layer_remove(&store, &chain_id, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_int_equal(store_layer_path(&store, &chain_id, &path, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    store_close(&store);
}

/* ---- the name index ---- */

static void expect_entry(const struct store_index *index, size_t i, const char *name,
                         const struct digest *manifest, uint64_t size, bool in_base)
{
    assert_true(i < index->count);
    if (name == NULL)
        assert_null(index->entries[i].name);
    else
        assert_string_equal(index->entries[i].name, name);
    assert_string_equal(index->entries[i].manifest.text, manifest->text);
    assert_int_equal(index->entries[i].manifest_size, size);
    assert_int_equal(index->entries[i].in_base, in_base);
}

static void test_index_set_replace_remove(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_index index;
    struct keel_error err = {0};
    struct digest a = digest_of("a"), b = digest_of("b"), c = digest_of("c");

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(store_index_read(&store, &index, &err), 0); /* no index.json yet */
    assert_int_equal(index.count, 0);
    store_index_free(&index);

    assert_int_equal(store_index_set(&store, "toolbox:latest", &a, 10, &err), 0);
    assert_int_equal(store_index_set(&store, "busybox:1", &b, 20, &err), 0);
    assert_int_equal(store_index_set(&store, NULL, &c, 30, &err), 0);
    assert_int_equal(store_index_set(&store, NULL, &a, 10, &err), 0); /* a has a name already */
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 3);
    expect_entry(&index, 0, "toolbox:latest", &a, 10, false);
    expect_entry(&index, 1, "busybox:1", &b, 20, false);
    expect_entry(&index, 2, NULL, &c, 30, false);
    store_index_free(&index);

    /* Replacing keeps the position; naming c drops its unnamed entry. */
    assert_int_equal(store_index_set(&store, "toolbox:latest", &b, 20, &err), 0);
    assert_int_equal(store_index_set(&store, "localhost:5000/c", &c, 30, &err), 0);
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 3);
    expect_entry(&index, 0, "toolbox:latest", &b, 20, false);
    expect_entry(&index, 1, "busybox:1", &b, 20, false);
    expect_entry(&index, 2, "localhost:5000/c", &c, 30, false);
    store_index_free(&index);

    assert_int_equal(store_index_remove(&store, "busybox:1", &err), 0);
    assert_int_equal(store_index_remove(&store, "busybox:1", &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_int_equal(store_index_remove_manifest(&store, &b, &err), 0);
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 1);
    expect_entry(&index, 0, "localhost:5000/c", &c, 30, false);
    store_index_free(&index);
    store_close(&store);
}

static void test_index_json_shape(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest a = digest_of("a"), b = digest_of("b"), c = digest_of("c");

    open_locked(&store, fixture->root, NULL);
    assert_int_equal(store_index_set(&store, "toolbox:latest", &a, 10, &err), 0);
    assert_int_equal(store_index_set(&store, "localhost:5000/x/y:v1.2", &b, 20, &err), 0);
    assert_int_equal(store_index_set(&store, NULL, &c, 30, &err), 0);
    store_close(&store);

    _cleanup_free_ char *path = path_join(fixture->root, "index.json");
    json_error_t json_error;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &json_error);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "schemaVersion")), 2);
    assert_string_equal(json_string_value(json_object_get(root, "mediaType")),
                        "application/vnd.oci.image.index.v1+json");
    json_t *manifests = json_object_get(root, "manifests");
    assert_int_equal(json_array_size(manifests), 3);
    static const char *const names[] = {"toolbox:latest", "localhost:5000/x/y:v1.2", NULL};
    static const char *const tags[] = {"latest", "v1.2", NULL};
    const struct digest *digests[] = {&a, &b, &c};
    for (size_t i = 0; i < 3; i++) {
        json_t *descriptor = json_array_get(manifests, i);
        assert_string_equal(json_string_value(json_object_get(descriptor, "mediaType")),
                            "application/vnd.oci.image.manifest.v1+json");
        assert_string_equal(json_string_value(json_object_get(descriptor, "digest")),
                            digests[i]->text);
        assert_int_equal(json_integer_value(json_object_get(descriptor, "size")), 10 * (i + 1));
        json_t *annotations = json_object_get(descriptor, "annotations");
        if (names[i] == NULL) {
            assert_null(annotations);
            continue;
        }
        assert_int_equal(json_object_size(annotations), 2);
        assert_string_equal(
            json_string_value(json_object_get(annotations, "io.containerd.image.name")), names[i]);
        assert_string_equal(
            json_string_value(json_object_get(annotations, "org.opencontainers.image.ref.name")),
            tags[i]);
    }
    json_decref(root);
}

static void test_index_malformed_refused(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_index index;
    struct keel_error err = {0};
    static const struct {
        const char *json;
        const char *message_part;
    } cases[] = {
        {"{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" ABC_SHA256 "\",\"size\":1},"
         "{\"digest\":\"sha256:abc\",\"size\":1}]}",
         "index.json: manifests[1].digest: "},
        {"{\"manifests\":[{\"digest\":\"" ABC_SHA256 "\",\"size\":-1}]}",
         "index.json: manifests[0].size"},
        {"{\"manifests\":[{\"digest\":\"" ABC_SHA256 "\",\"size\":\"3\"}]}", "manifests[0].size"},
        {"{\"manifests\":[{\"size\":3}]}", "manifests[0].digest: missing"},
        {"{\"manifests\":[{\"digest\":\"" ABC_SHA256 "\",\"size\":3,\"annotations\":[]}]}",
         "manifests[0].annotations"},
        {"{\"manifests\":[{\"digest\":\"" ABC_SHA256 "\",\"size\":3,"
         "\"annotations\":{\"io.containerd.image.name\":7}}]}",
         "manifests[0].annotations.\"io.containerd.image.name\""},
        {"{\"manifests\":[{\"digest\":\"" ABC_SHA256
         "\",\"size\":3,\"annotations\":{\"io.containerd.image.name\":"
         "\"a:1\"}},{\"digest\":\"" EMPTY_SHA256 "\",\"size\":3,\"annotations\":"
         "{\"io.containerd.image.name\":\"a:1\"}}]}",
         "manifests[1]: name \"a:1\" given twice"},
        {"{\"manifests\":[7]}", "manifests[0]: not an object"},
        {"{\"schemaVersion\":1,\"manifests\":[]}", "schemaVersion"},
        {"{\"manifests\":{}}", "manifests: not an array"},
        {"{}", "manifests: missing"},
        {"[]", "not a JSON object"},
        {"{\"manifests\":[],\"manifests\":[]}", "duplicate"},
        {"{\"manifests\":[", "index.json: line 1"},
    };

    open_locked(&store, fixture->root, NULL);
    _cleanup_free_ char *path = path_join(fixture->root, "index.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(path, cases[i].json);
        keel_error_clear(&err);
        assert_int_equal(store_index_read(&store, &index, &err), -1);
        assert_int_equal(err.errno_value, EINVAL);
        if (strstr(err.message, cases[i].message_part) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].json, err.message,
                     cases[i].message_part);
        if (strncmp(err.message, fixture->root, strlen(fixture->root)) != 0)
            fail_msg("message \"%s\" does not name the file", err.message);
        /* Changes refuse to rewrite a file they cannot read. */
        struct digest a = digest_of("a");
        assert_int_equal(store_index_set(&store, "x:1", &a, 1, &err), -1);
    }

    /* A layout whose images are named by their OCI ref name alone (umoci's). */
    write_text(path, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                     "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" ABC_SHA256
                     "\",\"size\":3,"
                     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}");
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 1);
    assert_string_equal(index.entries[0].name, "latest");
    store_index_free(&index);
    store_close(&store);
}

/* ---- the base store ---- */

static void test_base_store(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_index index;
    struct keel_error err = {0};
    struct digest m1 = digest_of("m1"), m2 = digest_of("m2"), m3 = digest_of("m3"),
                  m4 = digest_of("m4"), m5 = digest_of("m5"), layer = digest_of("base layer"), blob,
                  *listed;
    size_t count;
    _cleanup_free_ char *base = path_join(fixture->directory, "base");

    /* The base, as the OS image carries it. */
    open_locked(&store, base, NULL);
    assert_int_equal(store_blob_put(&store, "base blob", 9, &blob, &err), 0);
    commit_layer(&store, &layer, "in-base");
    assert_int_equal(store_index_set(&store, "base:1", &m1, 1, &err), 0);
    assert_int_equal(store_index_set(&store, "shared:1", &m2, 2, &err), 0);
    assert_int_equal(store_index_set(&store, NULL, &m3, 3, &err), 0);
    assert_int_equal(store_index_set(&store, NULL, &m4, 4, &err), 0);
    store_close(&store);
    _cleanup_free_ char *base_index = path_join(base, "index.json");
    _cleanup_free_ char *base_index_before = strdup(read_text(base_index));

    open_locked(&store, fixture->root, base);
    assert_string_equal(store.base_path, base);
    assert_int_equal(store_index_set(&store, "shared:1", &m5, 5, &err), 0); /* shadows the base's */
    assert_int_equal(store_index_set(&store, NULL, &m4, 4, &err), 0);       /* also kept here */
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 4);
    expect_entry(&index, 0, "shared:1", &m5, 5, false);
    expect_entry(&index, 1, NULL, &m4, 4, false);
    expect_entry(&index, 2, "base:1", &m1, 1, true);
    expect_entry(&index, 3, NULL, &m3, 3, true);
    store_index_free(&index);

    /* Blobs and layers are found in the base, never listed or removed. */
    assert_true(store_blob_exists(&store, &blob));
    char *data = NULL;
    size_t length;
    assert_int_equal(store_blob_read(&store, &blob, 100, &data, &length, &err), 0);
    assert_string_equal(data, "base blob");
    free(data);
    assert_int_equal(store_blob_list(&store, &listed, &count, &err), 0);
    assert_int_equal(count, 0);
    free(listed);
    assert_int_equal(store_blob_remove(&store, &blob, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_true(store_layer_exists(&store, &layer));
    _cleanup_free_ char *path = NULL;
    assert_int_equal(store_layer_path(&store, &layer, &path, &err), 0);
    char expected[512];
    snprintf(expected, sizeof expected, "%s/layers/%s", base, digest_hex(&layer));
    assert_string_equal(path, expected);
    assert_int_equal(store_layer_list(&store, &listed, &count, &err), 0);
    assert_int_equal(count, 0);
    free(listed);
    assert_int_equal(store_layer_remove(&store, &layer, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);

    /* Names only the base has cannot be removed. */
    assert_int_equal(store_index_remove(&store, "base:1", &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    expect_message(&err, "read-only base store");
    /* Removing the writable shadow uncovers the base's entry. */
    assert_int_equal(store_index_remove(&store, "shared:1", &err), 0);
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 4);
    expect_entry(&index, 1, "base:1", &m1, 1, true);
    expect_entry(&index, 2, "shared:1", &m2, 2, true);
    store_index_free(&index);
    store_close(&store);
    assert_string_equal(read_text(base_index), base_index_before);
}

static void test_read_only_store(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct store_index index;
    struct keel_error err = {0};
    struct digest m1 = digest_of("m1"), blob;
    _cleanup_free_ char *base = path_join(fixture->directory, "base");

    open_locked(&store, base, NULL);
    assert_int_equal(store_blob_put(&store, "base blob", 9, &blob, &err), 0);
    assert_int_equal(store_index_set(&store, "base:1", &m1, 1, &err), 0);
    store_close(&store);

    /* No writable store yet: the base alone, nothing created. */
    assert_int_equal(store_open(&store, fixture->root, base, STORE_OPEN_READ_ONLY, &err), 0);
    assert_false(exists(fixture->root));
    assert_int_equal(store.root_fd, -1);
    assert_true(store_blob_exists(&store, &blob));
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    assert_int_equal(index.count, 1);
    expect_entry(&index, 0, "base:1", &m1, 1, true);
    store_index_free(&index);
    assert_int_equal(store_lock(&store, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    assert_int_equal(store_blob_put(&store, "x", 1, &blob, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    expect_message(&err, "is read-only");
    assert_int_equal(store_index_set(&store, "x:1", &m1, 1, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    assert_false(exists(fixture->root));
    store_close(&store);

    assert_int_equal(store_open(&store, NULL, base, STORE_OPEN_READ_ONLY, &err), 0);
    assert_true(store_blob_exists(&store, &blob));
    store_close(&store);

    /* An existing store opened read-only: tmp/ is left alone. */
    assert_int_equal(store_open(&store, fixture->root, NULL, 0, &err), 0);
    store_close(&store);
    _cleanup_free_ char *junk = path_join(fixture->root, "tmp/blob-junk");
    write_text(junk, "junk");
    assert_int_equal(store_open(&store, fixture->root, NULL, STORE_OPEN_READ_ONLY, &err), 0);
    assert_true(exists(junk));
    struct store_layer_writer writer;
    assert_int_equal(store_layer_writer_open(&store, &writer, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    store_close(&store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_need_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_writer_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_digest_mismatch_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_put_twice_is_one_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_read_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_list_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_writers_in_parallel_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_removes_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_keeps_tmp_while_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree_deep_wide_and_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree_special_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_set_replace_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_json_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_malformed_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
