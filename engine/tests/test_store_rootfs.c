/* test_store_rootfs.c — containers' overlay root filesystems, read-only layer views (root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "store.h"

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

static bool require_root(void)
{
    if (geteuid() == 0)
        return true;
    print_message("skipped: overlay mounts, whiteouts (mknod) and trusted.* xattrs need root\n");
    return false;
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    strcpy(fixture->directory, "/tmp/keel-test-store-rootfs-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    fixture->root = path_join(fixture->directory, "store");
    *state = fixture;
    return 0;
}

/* The next mount point of /proc/self/mountinfo into point, its octal
 * escapes (\134 for a backslash, \040 for a space) undone. */
static bool next_mount_point(FILE *mountinfo, char point[4096])
{
    char line[8192], escaped[4096];
    if (fgets(line, sizeof line, mountinfo) == NULL)
        return false;
    assert_int_equal(sscanf(line, "%*s %*s %*s %*s %4095s", escaped), 1);
    size_t used = 0;
    for (const char *c = escaped; *c != '\0'; c++) {
        unsigned value;
        if (c[0] == '\\' && sscanf(c + 1, "%3o", &value) == 1) {
            point[used++] = (char)value;
            c += 3;
        } else {
            point[used++] = *c;
        }
    }
    point[used] = '\0';
    return true;
}

/* Is anything mounted at path? */
static bool mounted(const char *path)
{
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    char point[4096];
    bool found = false;
    assert_non_null(mountinfo);
    while (!found && next_mount_point(mountinfo, point))
        found = strcmp(point, path) == 0;
    fclose(mountinfo);
    return found;
}

/* Detach whatever a failed test left mounted under path. */
static void unmount_below(const char *path)
{
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    char point[4096];
    assert_non_null(mountinfo);
    while (next_mount_point(mountinfo, point))
        if (strncmp(point, path, strlen(path)) == 0)
            umount2(point, MNT_DETACH);
    fclose(mountinfo);
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    unmount_below(fixture->directory);
    int tmp_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int result = store_remove_tree(tmp_fd, fixture->directory + strlen("/tmp/"), &err);
    if (result < 0)
        print_error("teardown: %s\n", err.message);
    close(tmp_fd);
    free(fixture->root);
    free(fixture);
    return result;
}

static void write_text_at(int dir_fd, const char *name, const char *text)
{
    int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *read_text(const char *directory, const char *name)
{
    static char buffer[4096];
    _cleanup_free_ char *path = path_join(directory, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    assert_true(n >= 0);
    buffer[n] = '\0';
    return buffer;
}

static bool exists(const char *directory, const char *name)
{
    _cleanup_free_ char *path = path_join(directory, name);
    struct stat status;
    return lstat(path, &status) == 0;
}

static bool directory_empty(const char *path)
{
    DIR *directory = opendir(path);
    struct dirent *entry;
    size_t count = 0;
    assert_non_null(directory);
    while ((entry = readdir(directory)) != NULL)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(directory);
    return count == 0;
}

static void open_locked(struct store *store, const char *root)
{
    struct keel_error err = {0};
    if (store_open(store, root, NULL, 0, &err) < 0 || store_lock(store, &err) < 0)
        fail_msg("open %s: %s", root, err.message);
}

static struct digest digest_of(const char *text)
{
    struct digest digest;
    digest_of_bytes(text, strlen(text), &digest);
    return digest;
}

/* Bottom: a, b, d/x, o/y. Top: b whited out, o opaque with o/z, t; its
 * root directory mode 0711. */
static void make_two_layers(struct store *store, struct digest chain_ids[2])
{
    struct store_layer_writer writer;
    struct keel_error err = {0};
    chain_ids[0] = digest_of("bottom");
    chain_ids[1] = digest_of("top");

    assert_int_equal(store_layer_writer_open(store, &writer, &err), 0);
    write_text_at(writer.directory_fd, "a", "lower-a");
    write_text_at(writer.directory_fd, "b", "lower-b");
    assert_int_equal(mkdirat(writer.directory_fd, "d", 0755), 0);
    write_text_at(writer.directory_fd, "d/x", "x");
    assert_int_equal(mkdirat(writer.directory_fd, "o", 0755), 0);
    write_text_at(writer.directory_fd, "o/y", "y");
    assert_int_equal(store_layer_writer_commit(store, &writer, &chain_ids[0], &err), 0);

    assert_int_equal(store_layer_writer_open(store, &writer, &err), 0);
    assert_int_equal(mknodat(writer.directory_fd, "b", S_IFCHR | 0, makedev(0, 0)), 0);
    assert_int_equal(mkdirat(writer.directory_fd, "o", 0755), 0);
    int opaque = openat(writer.directory_fd, "o", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(opaque >= 0);
    assert_int_equal(fsetxattr(opaque, "trusted.overlay.opaque", "y", 1, 0), 0);
    close(opaque);
    write_text_at(writer.directory_fd, "o/z", "z");
    write_text_at(writer.directory_fd, "t", "t");
    assert_int_equal(fchmod(writer.directory_fd, 0711), 0);
    assert_int_equal(store_layer_writer_commit(store, &writer, &chain_ids[1], &err), 0);
}

static void test_rootfs_mount_and_remove(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest chain_ids[2], *in_use = NULL;
    size_t count;
    if (!require_root())
        skip();

    open_locked(&store, fixture->root);
    make_two_layers(&store, chain_ids);
    _cleanup_free_ char *rootfs = NULL;
    if (store_rootfs_mount(&store, "c1", chain_ids, 2, &rootfs, &err) < 0)
        fail_msg("mount: %s", err.message);
    _cleanup_free_ char *container = path_join(fixture->root, "containers/c1");
    _cleanup_free_ char *expected_rootfs = path_join(container, "rootfs");
    assert_string_equal(rootfs, expected_rootfs);
    assert_true(mounted(rootfs));

    /* The merged view. */
    assert_string_equal(read_text(rootfs, "a"), "lower-a");
    assert_false(exists(rootfs, "b"));   /* whited out */
    assert_false(exists(rootfs, "o/y")); /* hidden by the opaque directory */
    assert_string_equal(read_text(rootfs, "o/z"), "z");
    assert_string_equal(read_text(rootfs, "d/x"), "x");
    assert_string_equal(read_text(rootfs, "t"), "t");
    struct stat status;
    assert_int_equal(stat(rootfs, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0711);

    /* Writes land in upper, never in a layer. */
    _cleanup_close_ int rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    write_text_at(rootfs_fd, "new", "new");
    write_text_at(rootfs_fd, "a", "changed");
    _cleanup_free_ char *upper = path_join(container, "upper");
    assert_string_equal(read_text(upper, "new"), "new");
    assert_string_equal(read_text(upper, "a"), "changed");
    _cleanup_free_ char *bottom = NULL;
    assert_int_equal(store_layer_path(&store, &chain_ids[0], &bottom, &err), 0);
    assert_string_equal(read_text(bottom, "a"), "lower-a");
    assert_false(exists(bottom, "new"));
    close(steal_fd(&rootfs_fd));

    /* The chain ids, bottom first, for prune. */
    char expected_layers[2 * (DIGEST_TEXT_LENGTH + 1) + 1];
    snprintf(expected_layers, sizeof expected_layers, "%s\n%s\n", chain_ids[0].text,
             chain_ids[1].text);
    assert_string_equal(read_text(container, "layers"), expected_layers);
    assert_int_equal(store_rootfs_layers_in_use(&store, &in_use, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_true(digest_equal(&in_use[0], &chain_ids[0]) || digest_equal(&in_use[1], &chain_ids[0]));
    assert_true(digest_equal(&in_use[0], &chain_ids[1]) || digest_equal(&in_use[1], &chain_ids[1]));
    free(in_use);

    char *again = NULL;
    assert_int_equal(store_rootfs_mount(&store, "c1", chain_ids, 2, &again, &err), -1);
    assert_int_equal(err.errno_value, EEXIST);

    assert_int_equal(store_rootfs_remove(&store, "c1", &err), 0);
    assert_false(mounted(rootfs));
    assert_false(exists(container, ""));
    assert_true(store_layer_exists(&store, &chain_ids[0]));
    assert_true(store_layer_exists(&store, &chain_ids[1]));
    _cleanup_free_ char *tmp = path_join(fixture->root, "tmp");
    assert_true(directory_empty(tmp));
    assert_int_equal(store_rootfs_layers_in_use(&store, &in_use, &count, &err), 0);
    assert_int_equal(count, 0);
    free(in_use);

    assert_int_equal(store_rootfs_remove(&store, "c1", &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_int_equal(store_rootfs_remove(&store, "../layers", &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_int_equal(store_rootfs_mount(&store, "../x", chain_ids, 2, &again, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    store_close(&store);
}

static void test_rootfs_without_layers_and_missing_layer(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest missing = digest_of("missing");
    if (!require_root())
        skip();

    /* Characters overlayfs's option parser would take for separators. */
    _cleanup_free_ char *root = path_join(fixture->directory, "store,odd:name\\");
    open_locked(&store, root);
    _cleanup_free_ char *rootfs = NULL;
    if (store_rootfs_mount(&store, "empty-image", NULL, 0, &rootfs, &err) < 0)
        fail_msg("mount: %s", err.message);
    assert_true(mounted(rootfs));
    _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    write_text_at(fd, "file", "written");
    close(steal_fd(&fd));
    assert_int_equal(store_rootfs_remove(&store, "empty-image", &err), 0);
    assert_false(mounted(rootfs));

    char *unused = NULL;
    assert_int_equal(store_rootfs_mount(&store, "c2", &missing, 1, &unused, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    _cleanup_free_ char *containers = path_join(root, "containers");
    assert_false(exists(containers, "c2"));
    store_close(&store);
}

static void test_layers_view(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    struct digest chain_ids[2];
    if (!require_root())
        skip();

    open_locked(&store, fixture->root);
    make_two_layers(&store, chain_ids);
    store_unlock(&store);
    _cleanup_free_ char *view = path_join(fixture->directory, "view");
    assert_int_equal(mkdir(view, 0755), 0);

    if (store_layers_mount_view(&store, chain_ids, 2, view, &err) < 0)
        fail_msg("view: %s", err.message);
    assert_string_equal(read_text(view, "a"), "lower-a");
    assert_false(exists(view, "b"));
    assert_false(exists(view, "o/y"));
    _cleanup_free_ char *created = path_join(view, "created");
    assert_int_equal(open(created, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
    assert_int_equal(errno, EROFS);
    assert_int_equal(umount2(view, 0), 0);

    if (store_layers_mount_view(&store, chain_ids, 1, view, &err) < 0)
        fail_msg("view: %s", err.message);
    assert_string_equal(read_text(view, "b"), "lower-b");
    assert_int_equal(open(created, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
    assert_int_equal(errno, EROFS);
    _cleanup_free_ char *a = path_join(view, "a");
    assert_int_equal(open(a, O_WRONLY | O_CLOEXEC), -1);
    assert_int_equal(errno, EROFS);
    assert_int_equal(umount2(view, 0), 0);

    assert_int_equal(store_layers_mount_view(&store, chain_ids, 0, view, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_false(mounted(view));
    store_close(&store);
}

/* 60 layers under a long root: the plain lowerdir option would pass a page. */
static void test_rootfs_many_layers_long_paths(void **state)
{
    struct fixture *fixture = *state;
    struct store store;
    struct keel_error err = {0};
    enum { LAYERS = 60 };
    struct digest chain_ids[LAYERS];
    char long_name[201];
    if (!require_root())
        skip();

    memset(long_name, 'l', 200);
    long_name[200] = '\0';
    _cleanup_free_ char *root = NULL;
    assert_true(asprintf(&root, "%s/%s/%s/store", fixture->directory, long_name, long_name) > 0);
    open_locked(&store, root);
    for (int i = 0; i < LAYERS; i++) {
        struct store_layer_writer writer;
        char name[32], content[32];
        snprintf(name, sizeof name, "f%d", i);
        snprintf(content, sizeof content, "%d", i);
        chain_ids[i] = digest_of(name);
        assert_int_equal(store_layer_writer_open(&store, &writer, &err), 0);
        write_text_at(writer.directory_fd, name, content);
        write_text_at(writer.directory_fd, "top", content);
        assert_int_equal(store_layer_writer_commit(&store, &writer, &chain_ids[i], &err), 0);
    }
    _cleanup_free_ char *rootfs = NULL;
    if (store_rootfs_mount(&store, "many", chain_ids, LAYERS, &rootfs, &err) < 0)
        fail_msg("mount: %s", err.message);
    for (int i = 0; i < LAYERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i);
        assert_true(exists(rootfs, name));
    }
    assert_string_equal(read_text(rootfs, "top"), "59"); /* the top layer wins */

    _cleanup_free_ char *view = path_join(fixture->directory, "view");
    assert_int_equal(mkdir(view, 0755), 0);
    if (store_layers_mount_view(&store, chain_ids, LAYERS, view, &err) < 0)
        fail_msg("view: %s", err.message);
    assert_string_equal(read_text(view, "top"), "59");
    assert_int_equal(umount2(view, 0), 0);

    assert_int_equal(store_rootfs_remove(&store, "many", &err), 0);
    assert_false(mounted(rootfs));
    store_close(&store);
}

int main(void)
{
    /* A private mount namespace: whatever a failing test leaves mounted
     * goes with this process, never into the host's. */
    if (geteuid() == 0 &&
        (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) {
        perror("private mount namespace");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rootfs_mount_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootfs_without_layers_and_missing_layer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootfs_many_layers_long_paths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
