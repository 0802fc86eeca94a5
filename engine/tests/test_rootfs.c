/* test_rootfs.c — unit tests of the rootfs modules: paths, mount flags, sysctls, devices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "rootfs_devices.h"
#include "rootfs_mount.h"
#include "rootfs_path.h"
#include "rootfs_sysctl.h"

/* A scratch directory holding "root" (the container's) and "outside". */
struct scratch {
    char base[PATH_MAX];
    char root[PATH_MAX];
    char outside[PATH_MAX];
    int root_fd;
};

static int scratch_setup(void **state)
{
    struct scratch *scratch = calloc(1, sizeof *scratch);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

    if (scratch == NULL)
        return -1;
    snprintf(scratch->base, sizeof scratch->base, "%s/test_rootfs.XXXXXX", tmp);
    if (mkdtemp(scratch->base) == NULL)
        return -1;
    if (snprintf(scratch->root, sizeof scratch->root, "%s/root", scratch->base) >= PATH_MAX ||
        snprintf(scratch->outside, sizeof scratch->outside, "%s/outside", scratch->base) >=
            PATH_MAX)
        return -1;
    if (mkdir(scratch->root, 0755) < 0 || mkdir(scratch->outside, 0755) < 0)
        return -1;
    scratch->root_fd = open(scratch->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (scratch->root_fd < 0)
        return -1;
    *state = scratch;
    return 0;
}

static int scratch_remove_one(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    return remove(path);
}

static int scratch_teardown(void **state)
{
    struct scratch *scratch = *state;

    close(scratch->root_fd);
    nftw(scratch->base, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(scratch);
    return 0;
}

/* root/relative, in out (PATH_MAX bytes). */
static char *scratch_path(const struct scratch *scratch, const char *relative, char *out)
{
    int length = snprintf(out, PATH_MAX, "%s/%s", scratch->root, relative);
    assert_true(length > 0 && length < PATH_MAX);
    return out;
}

static bool scratch_same_file(int fd, const char *path)
{
    struct stat opened, named;

    if (fstat(fd, &opened) < 0 || lstat(path, &named) < 0)
        return false;
    return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

static bool directory_is_empty(const char *path)
{
    DIR *directory = opendir(path);
    struct dirent *entry;
    bool empty = true;

    if (directory == NULL)
        return false;
    while ((entry = readdir(directory)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            empty = false;
    closedir(directory);
    return empty;
}

static void test_path_clean_normalises(void **state)
{
    static const char *const cases[][2] = {
        {"/dev", "/dev"},
        {"/dev/", "/dev"},
        {"//dev//pts/", "/dev/pts"},
        {"/./proc/.", "/proc"},
        {"/a/../b", "/b"},
        {"/../../x", "/x"},
        {"", "/"},
        {"/", "/"},
        {"proc", "/proc"},
        {"/a/b/../../..", "/"},
        {"/a/./b/../c/", "/a/c"},
        {"/..a/b..", "/..a/b.."},
    };
    char out[PATH_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rootfs_path_clean(cases[i][0], out, sizeof out), 0);
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_path_clean_refuses_a_small_buffer(void **state)
{
    char out[6];
    (void)state;

    assert_int_equal(rootfs_path_clean("/proc", out, sizeof out), 0);
    assert_string_equal(out, "/proc");
    errno = 0;
    assert_int_equal(rootfs_path_clean("/procs", out, sizeof out), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_int_equal(rootfs_path_clean("/", out, 1), -1);
}

static void test_path_equal_compares_clean_forms(void **state)
{
    (void)state;

    assert_true(rootfs_path_equal("/dev/", "/dev"));
    assert_true(rootfs_path_equal("/x/../proc", "/proc"));
    assert_false(rootfs_path_equal("/dev/pts", "/dev"));
    assert_false(rootfs_path_equal("/proc2", "/proc"));
}

static void test_mount_attributes_maps_flags(void **state)
{
    uint64_t set, clear;
    (void)state;

    rootfs_mount_attributes(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, &set, &clear);
    assert_int_equal(set,
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    assert_int_equal(clear, 0);

    /* "rw,suid": clear what the source may have. */
    rootfs_mount_attributes(MS_NODEV, MS_RDONLY | MS_NOSUID, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_NODEV);
    assert_int_equal(clear, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);

    rootfs_mount_attributes(MS_NODIRATIME | MS_NOSYMFOLLOW, 0, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW);
    assert_int_equal(clear, 0);

    /* A flag both set and cleared: set wins. */
    rootfs_mount_attributes(MS_RDONLY, MS_RDONLY, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_RDONLY);
    assert_int_equal(clear, 0);
}

static void test_mount_attributes_sets_atime_as_one_field(void **state)
{
    uint64_t set, clear;
    (void)state;

    rootfs_mount_attributes(MS_NOATIME, 0, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_NOATIME);
    assert_int_equal(clear, MOUNT_ATTR__ATIME);

    rootfs_mount_attributes(MS_STRICTATIME | MS_NOSUID, 0, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NOSUID);
    assert_int_equal(clear, MOUNT_ATTR__ATIME);

    rootfs_mount_attributes(MS_RELATIME, 0, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_RELATIME);
    assert_int_equal(clear, MOUNT_ATTR__ATIME);

    /* "atime" (noatime cleared) is the kernel's default, relatime. */
    rootfs_mount_attributes(0, MS_NOATIME, &set, &clear);
    assert_int_equal(set, MOUNT_ATTR_RELATIME);
    assert_int_equal(clear, MOUNT_ATTR__ATIME);

    /* No atime option: the field is left alone. */
    rootfs_mount_attributes(MS_RDONLY, 0, &set, &clear);
    assert_int_equal(clear & MOUNT_ATTR__ATIME, 0);
}

static void test_mount_attributes_of_statvfs(void **state)
{
    (void)state;

    assert_int_equal(rootfs_mount_attributes_of_statvfs(0), 0);
    assert_int_equal(rootfs_mount_attributes_of_statvfs(ST_RDONLY | ST_NOSUID | ST_NODEV),
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    assert_int_equal(rootfs_mount_attributes_of_statvfs(ST_NOEXEC | ST_NOATIME | ST_NODIRATIME),
                     MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODIRATIME);
}

static void test_mount_proc_destinations_are_an_allowlist(void **state)
{
    (void)state;

    assert_true(rootfs_mount_proc_destination_allowed("/proc/cpuinfo"));
    assert_true(rootfs_mount_proc_destination_allowed("/proc/sys/kernel/ns_last_pid"));
    assert_false(rootfs_mount_proc_destination_allowed("/proc"));
    assert_false(rootfs_mount_proc_destination_allowed("/proc/self/attr"));
    assert_false(rootfs_mount_proc_destination_allowed("/proc/sys/kernel/core_pattern"));
    assert_false(rootfs_mount_proc_destination_allowed("/proc/cpuinfo/"));
}

static void test_sysctl_path_maps_dots_to_slashes(void **state)
{
    char path[PATH_MAX];
    struct keel_error err;
    (void)state;

    assert_int_equal(rootfs_sysctl_path("net.ipv4.ip_forward", path, sizeof path, &err), 0);
    assert_string_equal(path, "/proc/sys/net/ipv4/ip_forward");
    assert_int_equal(rootfs_sysctl_path("kernel.shmmax", path, sizeof path, &err), 0);
    assert_string_equal(path, "/proc/sys/kernel/shmmax");
}

static void test_sysctl_path_refuses_bad_keys(void **state)
{
    static const char *const bad[] = {
        "", ".", "..", "net..ipv4", ".net", "net.", "net/../../etc", "net.ipv4/conf",
    };
    char path[PATH_MAX];
    struct keel_error err;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rootfs_sysctl_path(bad[i], path, sizeof path, &err), -1);
    assert_int_equal(rootfs_sysctl_path("net.ipv4.ip_forward", path, 20, &err), -1);
    assert_int_equal(err.errno_value, ENAMETOOLONG);
}

static void test_sysctl_check_follows_namespaces(void **state)
{
    struct keel_error err;
    (void)state;

    assert_int_equal(rootfs_sysctl_check("net.ipv4.ip_forward", CLONE_NEWNET, &err), 0);
    assert_int_equal(rootfs_sysctl_check("net.ipv4.ip_forward", CLONE_NEWIPC, &err), -1);
    assert_string_equal(err.message,
                        "sysctl \"net.ipv4.ip_forward\" is not allowed in the host's network "
                        "namespace");
    assert_int_equal(rootfs_sysctl_check("kernel.shmmax", CLONE_NEWIPC, &err), 0);
    assert_int_equal(rootfs_sysctl_check("fs.mqueue.msg_max", CLONE_NEWIPC, &err), 0);
    assert_int_equal(rootfs_sysctl_check("kernel.msgmax", CLONE_NEWNET, &err), -1);
    assert_int_equal(rootfs_sysctl_check("kernel.domainname", CLONE_NEWUTS, &err), 0);
    assert_int_equal(rootfs_sysctl_check("kernel.hostname", 0, &err), -1);
    /* Not namespaced at all: it would change the host. */
    assert_int_equal(rootfs_sysctl_check("kernel.core_pattern", -1, &err), -1);
    assert_int_equal(rootfs_sysctl_check("vm.overcommit_memory", -1, &err), -1);
    assert_int_equal(rootfs_sysctl_check("kernel.shmmaxx", CLONE_NEWIPC, &err), -1);
}

static const struct rootfs_device *device_at(const struct rootfs_device *devices, size_t count,
                                             const char *path)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(devices[i].path, path) == 0)
            return &devices[i];
    return NULL;
}

static void test_devices_list_has_the_defaults(void **state)
{
    static const struct {
        const char *path;
        int64_t major, minor;
    } expected[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    struct rootfs_device *devices = NULL;
    size_t count = 0;
    struct keel_error err;
    (void)state;

    assert_int_equal(rootfs_devices_list(NULL, 0, &devices, &count, &err), 0);
    assert_int_equal(count, 6);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const struct rootfs_device *device = device_at(devices, count, expected[i].path);
        assert_non_null(device);
        assert_int_equal(device->type, 'c');
        assert_int_equal(device->major, expected[i].major);
        assert_int_equal(device->minor, expected[i].minor);
        assert_int_equal(device->mode, 0666);
        assert_false(device->has_uid);
    }
    free(devices);
}

static void test_devices_list_config_overrides_a_default(void **state)
{
    struct oci_device config[] = {
        {.path = "/dev/fuse",
         .type = 'c',
         .major = 10,
         .minor = 229,
         .has_file_mode = true,
         .file_mode = 0600,
         .has_uid = true,
         .uid = 1000},
        {.path = "/dev//null/",
         .type = 'c',
         .major = 1,
         .minor = 3,
         .has_file_mode = true,
         .file_mode = 0640},
        {.path = "/dev/loop0", .type = 'b', .major = 7, .minor = 0},
    };
    struct rootfs_device *devices = NULL;
    size_t count = 0;
    struct keel_error err;
    (void)state;

    assert_int_equal(rootfs_devices_list(config, 3, &devices, &count, &err), 0);
    assert_int_equal(count, 3 + 5);
    /* Config devices first, in their order. */
    assert_string_equal(devices[0].path, "/dev/fuse");
    assert_int_equal(devices[0].mode, 0600);
    assert_true(devices[0].has_uid);
    assert_int_equal(devices[0].uid, 1000);
    assert_string_equal(devices[1].path, "/dev//null/");
    assert_int_equal(devices[1].mode, 0640);
    assert_int_equal(devices[2].type, 'b');
    assert_int_equal(devices[2].mode, 0666);
    /* The default /dev/null is gone; the others remain. */
    assert_null(device_at(devices, count, "/dev/null"));
    assert_non_null(device_at(devices, count, "/dev/zero"));
    assert_non_null(device_at(devices, count, "/dev/tty"));
    free(devices);
}

static void test_device_file_type(void **state)
{
    (void)state;

    assert_int_equal(rootfs_device_file_type('c'), S_IFCHR);
    assert_int_equal(rootfs_device_file_type('u'), S_IFCHR);
    assert_int_equal(rootfs_device_file_type('b'), S_IFBLK);
    assert_int_equal(rootfs_device_file_type('p'), S_IFIFO);
    assert_int_equal(rootfs_device_file_type('a'), 0);
    assert_int_equal(rootfs_device_file_type('\0'), 0);
}

static void test_path_open_or_create_opens_what_exists(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    struct keel_error err;
    int fd = -1;

    scratch_path(scratch, "etc", path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/etc", ROOTFS_PATH_DIRECTORY,
                                                "mount destination", &fd, &err),
                     0);
    assert_true(scratch_same_file(fd, path));
    close(fd);
}

static void test_path_open_or_create_makes_parents_and_a_file(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    struct stat info;
    struct keel_error err;
    int fd = -1;

    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/a/b/./c/file", ROOTFS_PATH_FILE,
                                                "mount destination", &fd, &err),
                     0);
    scratch_path(scratch, "a/b/c/file", path);
    assert_true(scratch_same_file(fd, path));
    assert_int_equal(lstat(path, &info), 0);
    assert_true(S_ISREG(info.st_mode));
    assert_int_equal(info.st_size, 0);
    scratch_path(scratch, "a/b/c", path);
    assert_int_equal(lstat(path, &info), 0);
    assert_true(S_ISDIR(info.st_mode));
    close(fd);
}

/* The CVE-2021-30465 class: a destination through a symlink that points
 * out of the root lands inside it, and nothing is created outside. */
static void test_path_open_or_create_keeps_an_escaping_symlink_inside(void **state)
{
    struct scratch *scratch = *state;
    char link[PATH_MAX], target[PATH_MAX + 16], inside[PATH_MAX];
    struct keel_error err;
    int fd = -1;

    scratch_path(scratch, "escape", link);
    snprintf(target, sizeof target, "/../../../..%s", scratch->outside);
    assert_int_equal(symlink(target, link), 0);

    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/escape/sub",
                                                ROOTFS_PATH_DIRECTORY, "mount destination", &fd,
                                                &err),
                     0);
    assert_true(snprintf(target, sizeof target, "%s/sub", scratch->outside) < PATH_MAX);
    scratch_path(scratch, target, inside);
    assert_true(scratch_same_file(fd, inside));
    assert_true(directory_is_empty(scratch->outside));
    close(fd);

    /* Once created, plain resolution agrees. */
    fd = rootfs_path_open(scratch->root_fd, "/escape/sub", O_PATH);
    assert_true(fd >= 0);
    assert_true(scratch_same_file(fd, inside));
    close(fd);
}

static void test_path_open_or_create_follows_a_relative_dangling_symlink(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    struct keel_error err;
    int fd = -1;

    scratch_path(scratch, "a", path);
    assert_int_equal(mkdir(path, 0755), 0);
    scratch_path(scratch, "a/link", path);
    assert_int_equal(symlink("../../../b/c", path), 0);

    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/a/link", ROOTFS_PATH_FILE,
                                                "mount destination", &fd, &err),
                     0);
    scratch_path(scratch, "b/c", path);
    assert_true(scratch_same_file(fd, path));
    assert_true(directory_is_empty(scratch->outside));
    close(fd);
}

static void test_path_open_or_create_reports_a_symlink_loop(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    struct keel_error err;
    int fd = -1;

    scratch_path(scratch, "loop", path);
    assert_int_equal(symlink("/loop", path), 0);
    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/loop/x", ROOTFS_PATH_DIRECTORY,
                                                "mount destination", &fd, &err),
                     -1);
    assert_int_equal(err.errno_value, ELOOP);
    assert_string_equal(err.message, "resolve mount destination /loop/x in rootfs: Too many "
                                     "levels of symbolic links");
    assert_int_equal(fd, -1);

    /* Two dangling links pointing at each other: each walk follows one. */
    scratch_path(scratch, "ping", path);
    assert_int_equal(symlink("pong/x", path), 0);
    scratch_path(scratch, "pong", path);
    assert_int_equal(symlink("ping/x", path), 0);
    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/ping", ROOTFS_PATH_DIRECTORY,
                                                "mount destination", &fd, &err),
                     -1);
    assert_int_equal(err.errno_value, ELOOP);
}

static void test_path_open_or_create_refuses_a_file_on_the_way(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    struct keel_error err;
    int fd = -1;

    scratch_path(scratch, "plain", path);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    fd = -1;
    assert_int_equal(rootfs_path_open_or_create(scratch->root_fd, "/plain/x", ROOTFS_PATH_DIRECTORY,
                                                "mount destination", &fd, &err),
                     -1);
    assert_int_equal(err.errno_value, ENOTDIR);
}

static void test_path_open_no_symlinks_refuses_any_symlink(void **state)
{
    struct scratch *scratch = *state;
    char path[PATH_MAX];
    int fd;

    scratch_path(scratch, "real", path);
    assert_int_equal(mkdir(path, 0755), 0);
    scratch_path(scratch, "alias", path);
    assert_int_equal(symlink("real", path), 0);

    fd = rootfs_path_open(scratch->root_fd, "/alias", O_PATH);
    assert_true(fd >= 0);
    close(fd);
    errno = 0;
    assert_int_equal(rootfs_path_open_no_symlinks(scratch->root_fd, "/alias", O_PATH), -1);
    assert_int_equal(errno, ELOOP);
    fd = rootfs_path_open_no_symlinks(scratch->root_fd, "/real", O_PATH);
    assert_true(fd >= 0);
    close(fd);
}

#define SCRATCH_TEST(name) cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean_normalises),
        cmocka_unit_test(test_path_clean_refuses_a_small_buffer),
        cmocka_unit_test(test_path_equal_compares_clean_forms),
        cmocka_unit_test(test_mount_attributes_maps_flags),
        cmocka_unit_test(test_mount_attributes_sets_atime_as_one_field),
        cmocka_unit_test(test_mount_attributes_of_statvfs),
        cmocka_unit_test(test_mount_proc_destinations_are_an_allowlist),
        cmocka_unit_test(test_sysctl_path_maps_dots_to_slashes),
        cmocka_unit_test(test_sysctl_path_refuses_bad_keys),
        cmocka_unit_test(test_sysctl_check_follows_namespaces),
        cmocka_unit_test(test_devices_list_has_the_defaults),
        cmocka_unit_test(test_devices_list_config_overrides_a_default),
        cmocka_unit_test(test_device_file_type),
        SCRATCH_TEST(test_path_open_or_create_opens_what_exists),
        SCRATCH_TEST(test_path_open_or_create_makes_parents_and_a_file),
        SCRATCH_TEST(test_path_open_or_create_keeps_an_escaping_symlink_inside),
        SCRATCH_TEST(test_path_open_or_create_follows_a_relative_dangling_symlink),
        SCRATCH_TEST(test_path_open_or_create_reports_a_symlink_loop),
        SCRATCH_TEST(test_path_open_or_create_refuses_a_file_on_the_way),
        SCRATCH_TEST(test_path_open_no_symlinks_refuses_any_symlink),
    };
    return cmocka_run_group_tests_name("rootfs", tests, NULL, NULL);
}
