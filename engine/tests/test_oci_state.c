/* test_oci_state.c — unit tests of oci_state.c: state.json, ids, status, output, list, remove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "oci_state.h"

/* Each test gets a fresh directory under /tmp as its state root. */
struct fixture {
    char root[64];
};

static int setup_root(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);

    if (fixture == NULL)
        return -1;
    strcpy(fixture->root, "/tmp/test_oci_state.XXXXXX");
    if (mkdtemp(fixture->root) == NULL)
        return -1;
    *state = fixture;
    return 0;
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *ftw)
{
    (void)status;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown_root(void **state)
{
    struct fixture *fixture = *state;

    /* Not oci_state_remove: the cleanup must not depend on what is tested. */
    nftw(fixture->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fixture);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "we");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static bool exists(const char *path)
{
    struct stat status;
    return lstat(path, &status) == 0;
}

/* A container directory with a state.json, as `create` leaves it. */
static void make_container(const char *root, const char *id)
{
    struct keel_error err = {0};
    struct oci_state state = {.id = (char *)id,
                              .bundle = "/bundles/x",
                              .rootfs = "/bundles/x/rootfs",
                              .created = "2024-01-02T03:04:05.000000006Z"};

    assert_int_equal(oci_state_create_directory(root, id, &err), 0);
    assert_int_equal(oci_state_write(root, &state, &err), 0);
}

/* Field 22 of /proc/self/stat, read independently of the code under test. */
static unsigned long long own_start_time(void)
{
    struct keel_error err;
    char *text = NULL;
    unsigned long long start_time = 0;

    assert_int_equal(file_read_text("/proc/self/stat", &text, NULL, &err), 0);
    const char *after_name = strrchr(text, ')');
    assert_non_null(after_name);
    /* Fields 3..21 skipped, 22 read. */
    assert_int_equal(sscanf(after_name + 2,
                            "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                            "%*s %*s %*s %llu",
                            &start_time),
                     1);
    free(text);
    return start_time;
}

static void test_write_read_round_trip(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    char *annotations[] = {"org.example.b", "2", "org.example.a", "one \"quoted\"", NULL};
    struct oci_state written = {.id = "web-1",
                                .bundle = "/srv/bundles/web",
                                .rootfs = "/srv/bundles/web/rootfs",
                                .pid = 4242,
                                .start_time = 123456789012ULL,
                                .created = "2024-05-06T07:08:09.123456789Z",
                                .cgroup_path = "/sys/fs/cgroup/keel/web-1",
                                .annotations = annotations,
                                .oom_killed = true,
                                .has_exit_status = true,
                                .exit_status = 137};
    struct oci_state *read = NULL;

    assert_int_equal(oci_state_create_directory(fixture->root, "web-1", &err), 0);
    assert_int_equal(oci_state_write(fixture->root, &written, &err), 0);
    assert_int_equal(oci_state_read(fixture->root, "web-1", &read, &err), 0);

    assert_string_equal(read->id, "web-1");
    assert_string_equal(read->bundle, "/srv/bundles/web");
    assert_string_equal(read->rootfs, "/srv/bundles/web/rootfs");
    assert_int_equal(read->pid, 4242);
    assert_int_equal(read->start_time, 123456789012ULL);
    assert_string_equal(read->created, "2024-05-06T07:08:09.123456789Z");
    assert_string_equal(read->cgroup_path, "/sys/fs/cgroup/keel/web-1");
    assert_non_null(read->annotations);
    assert_string_equal(read->annotations[0], "org.example.b");
    assert_string_equal(read->annotations[1], "2");
    assert_string_equal(read->annotations[2], "org.example.a");
    assert_string_equal(read->annotations[3], "one \"quoted\"");
    assert_null(read->annotations[4]);
    assert_true(read->oom_killed);
    assert_true(read->has_exit_status);
    assert_int_equal(read->exit_status, 137);
    oci_state_free(read);
}

static void test_round_trip_without_optional_fields(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state written = {
        .id = "bare", .bundle = "/b", .rootfs = "/b/rootfs", .created = "x"};
    struct oci_state *read = NULL;

    assert_int_equal(oci_state_create_directory(fixture->root, "bare", &err), 0);
    assert_int_equal(oci_state_write(fixture->root, &written, &err), 0);
    assert_int_equal(oci_state_read(fixture->root, "bare", &read, &err), 0);

    assert_int_equal(read->pid, 0);
    assert_int_equal(read->start_time, 0);
    assert_null(read->cgroup_path);
    assert_non_null(read->annotations);
    assert_null(read->annotations[0]);
    assert_false(read->oom_killed);
    assert_false(read->has_exit_status);
    oci_state_free(read);
}

static void test_write_is_atomic_and_replaces_a_stale_temp_file(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state written = {.id = "c1", .bundle = "/b", .rootfs = "/b/r", .pid = 7};
    struct oci_state *read = NULL;
    char temp[PATH_MAX], final[PATH_MAX];
    struct stat status;

    assert_int_equal(oci_state_create_directory(fixture->root, "c1", &err), 0);
    assert_int_equal(
        oci_state_path(fixture->root, "c1", ".state.json.tmp", temp, sizeof temp, &err), 0);
    assert_int_equal(oci_state_path(fixture->root, "c1", "state.json", final, sizeof final, &err),
                     0);

    assert_int_equal(oci_state_write(fixture->root, &written, &err), 0);
    assert_false(exists(temp));
    assert_int_equal(stat(final, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0600);

    /* A crash between create and rename left a half-written temp file. */
    write_text(temp, "{\"id\": \"c1\", \"bun");
    assert_int_equal(chmod(temp, 0644), 0);
    written.pid = 8;
    assert_int_equal(oci_state_write(fixture->root, &written, &err), 0);
    assert_false(exists(temp));
    assert_int_equal(stat(final, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0600);
    assert_int_equal(oci_state_read(fixture->root, "c1", &read, &err), 0);
    assert_int_equal(read->pid, 8);
    oci_state_free(read);
}

static void test_write_to_missing_container_fails(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state written = {.id = "ghost", .bundle = "/b"};

    assert_int_equal(oci_state_write(fixture->root, &written, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "container \"ghost\" does not exist");
}

static void test_corrupt_state_names_the_file_and_problem(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state *read = NULL;
    char path[PATH_MAX], expected[PATH_MAX + 128];

    assert_int_equal(oci_state_create_directory(fixture->root, "bad", &err), 0);
    assert_int_equal(oci_state_path(fixture->root, "bad", "state.json", path, sizeof path, &err),
                     0);

    write_text(path, "{\"id\": \"bad\",\n \"bundle\": ");
    assert_int_equal(oci_state_read(fixture->root, "bad", &read, &err), -1);
    assert_null(read);
    assert_int_equal(err.errno_value, EINVAL);
    snprintf(expected, sizeof expected, "%s: invalid JSON at line 2 column", path);
    assert_memory_equal(err.message, expected, strlen(expected));

    write_text(path, "{\"id\": \"bad\", \"bundle\": 3, \"pid\": 1, \"startTime\": 2}");
    assert_int_equal(oci_state_read(fixture->root, "bad", &read, &err), -1);
    snprintf(expected, sizeof expected, "%s: field \"bundle\": not a string", path);
    assert_string_equal(err.message, expected);

    write_text(path, "{\"id\": \"bad\", \"bundle\": \"/b\", \"pid\": -4, \"startTime\": 2}");
    assert_int_equal(oci_state_read(fixture->root, "bad", &read, &err), -1);
    snprintf(expected, sizeof expected, "%s: field \"pid\": -4 is out of range", path);
    assert_string_equal(err.message, expected);

    write_text(path, "{\"id\": \"other\", \"bundle\": \"/b\", \"pid\": 1, \"startTime\": 2}");
    assert_int_equal(oci_state_read(fixture->root, "bad", &read, &err), -1);
    snprintf(expected, sizeof expected, "%s: holds container \"other\", not \"bad\"", path);
    assert_string_equal(err.message, expected);
}

static void test_read_missing_container(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state *read = NULL;

    assert_int_equal(oci_state_read(fixture->root, "nope", &read, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "container \"nope\" does not exist");
}

static void test_validate_id(void **state)
{
    static const char *const good[] = {"a", "Z", "0", "web-1", "a.b_c+d-e", "9..", NULL};
    static const char *const bad[] = {"../x", "a/b", ".x", "-x", "_x", "a b", "a\n", "é", NULL};
    struct keel_error err = {0};
    char long_id[1026];
    (void)state;

    for (size_t i = 0; good[i] != NULL; i++)
        assert_int_equal(oci_state_validate_id(good[i], &err), 0);
    for (size_t i = 0; bad[i] != NULL; i++) {
        char expected[128];
        assert_int_equal(oci_state_validate_id(bad[i], &err), -1);
        assert_int_equal(err.errno_value, EINVAL);
        snprintf(expected, sizeof expected, "invalid container id \"%s\"", bad[i]);
        assert_memory_equal(err.message, expected, strlen(expected));
    }
    assert_int_equal(oci_state_validate_id("", &err), -1);
    assert_string_equal(err.message, "invalid container id: empty");

    memset(long_id, 'a', 1024);
    long_id[1024] = '\0';
    assert_int_equal(oci_state_validate_id(long_id, &err), 0);
    long_id[1024] = 'a';
    long_id[1025] = '\0';
    assert_int_equal(oci_state_validate_id(long_id, &err), -1);
    assert_non_null(strstr(err.message, "longer than 1024 bytes"));
}

static void test_create_directory_twice_is_eexist(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    char root[PATH_MAX], path[PATH_MAX];
    struct stat status;

    /* Parents of ROOT are created too, private. */
    snprintf(root, sizeof root, "%s/run/keel/oci", fixture->root);
    assert_int_equal(oci_state_create_directory(root, "c", &err), 0);
    assert_int_equal(stat(root, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0700);
    assert_int_equal(oci_state_path(root, "c", NULL, path, sizeof path, &err), 0);
    assert_int_equal(stat(path, &status), 0);
    assert_true(S_ISDIR(status.st_mode));
    assert_int_equal(status.st_mode & 07777, 0700);

    assert_int_equal(oci_state_create_directory(root, "c", &err), -1);
    assert_int_equal(err.errno_value, EEXIST);
    assert_string_equal(err.message, "container \"c\" already exists");

    assert_int_equal(oci_state_create_directory(root, "../c", &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
}

static void test_status(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    struct oci_state container = {.id = "s", .pid = getpid(), .start_time = own_start_time()};
    char fifo[PATH_MAX];

    assert_true(container.start_time > 0);
    assert_int_equal(oci_state_process_start_time(getpid()), container.start_time);
    assert_int_equal(oci_state_create_directory(fixture->root, "s", &err), 0);
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_RUNNING);

    assert_int_equal(oci_state_path(fixture->root, "s", "exec.fifo", fifo, sizeof fifo, &err), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_CREATED);
    assert_int_equal(unlink(fifo), 0);

    container.start_time++; /* the pid now belongs to another process */
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_STOPPED);
    container.start_time--;

    container.has_exit_status = true;
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_STOPPED);
    container.has_exit_status = false;

    container.pid = 0;
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_CREATING);
    assert_string_equal(oci_status_name(OCI_STATUS_CREATING), "creating");
    assert_string_equal(oci_status_name(OCI_STATUS_CREATED), "created");
    assert_string_equal(oci_status_name(OCI_STATUS_RUNNING), "running");
    assert_string_equal(oci_status_name(OCI_STATUS_STOPPED), "stopped");
}

static void test_status_of_zombie_and_reaped_child_is_stopped(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    siginfo_t info;
    int status;

    assert_int_equal(oci_state_create_directory(fixture->root, "z", &err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    /* WNOWAIT: wait for the exit but leave the zombie in place. */
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    struct oci_state container = {
        .id = "z", .pid = pid, .start_time = oci_state_process_start_time(pid)};
    assert_true(container.start_time > 0);
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_STOPPED);

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(oci_state_process_start_time(pid), 0);
    assert_int_equal(oci_state_status(fixture->root, &container), OCI_STATUS_STOPPED);
}

static const char expected_created[] = "{\n"
                                       "  \"ociVersion\": \"1.1.0\",\n"
                                       "  \"id\": \"web\",\n"
                                       "  \"pid\": 6818,\n"
                                       "  \"status\": \"created\",\n"
                                       "  \"bundle\": \"/tmp/bundle\",\n"
                                       "  \"rootfs\": \"/tmp/bundle/rootfs\",\n"
                                       "  \"created\": \"2024-01-02T03:04:05.841048429Z\",\n"
                                       "  \"annotations\": {\n"
                                       "    \"org.example.a\": \"1\",\n"
                                       "    \"org.example.b\": \"2\"\n"
                                       "  },\n"
                                       "  \"owner\": \"\"\n"
                                       "}";

static void test_format_matches_runc(void **state)
{
    char *annotations[] = {"org.example.b", "2", "org.example.a", "1", NULL};
    struct oci_state container = {.id = "web",
                                  .bundle = "/tmp/bundle",
                                  .rootfs = "/tmp/bundle/rootfs",
                                  .pid = 6818,
                                  .created = "2024-01-02T03:04:05.841048429Z",
                                  .cgroup_path = "/sys/fs/cgroup/web",
                                  .annotations = annotations};
    struct keel_error err = {0};
    char *text = NULL;
    (void)state;

    /* Byte for byte what `runc state` printed for such a container. */
    assert_int_equal(oci_state_format(&container, OCI_STATUS_CREATED, &text, &err), 0);
    assert_string_equal(text, expected_created);
    free(text);

    /* Stopped: pid 0; no annotations: no "annotations" key. */
    container.annotations = NULL;
    assert_int_equal(oci_state_format(&container, OCI_STATUS_STOPPED, &text, &err), 0);
    json_t *json = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(json);
    assert_int_equal(json_integer_value(json_object_get(json, "pid")), 0);
    assert_string_equal(json_string_value(json_object_get(json, "status")), "stopped");
    assert_string_equal(json_string_value(json_object_get(json, "owner")), "");
    assert_string_equal(json_string_value(json_object_get(json, "id")), "web");
    assert_null(json_object_get(json, "annotations"));
    assert_null(json_object_get(json, "cgroupPath"));
    json_decref(json);
}

static void test_list_is_sorted_and_only_containers(void **state)
{
    struct fixture *fixture = *state;
    static const char *const expected[] = {"C", "a", "a-2", "b", NULL};
    struct keel_error err = {0};
    char path[PATH_MAX];
    char **ids = NULL;
    size_t i;

    make_container(fixture->root, "b");
    make_container(fixture->root, "a");
    make_container(fixture->root, "C");
    make_container(fixture->root, "a-2");
    /* Not containers: half-created (no state.json), a file, a hidden dir. */
    assert_int_equal(oci_state_create_directory(fixture->root, "half", &err), 0);
    snprintf(path, sizeof path, "%s/stray", fixture->root);
    write_text(path, "x");
    snprintf(path, sizeof path, "%s/.hidden", fixture->root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/.hidden/state.json", fixture->root);
    write_text(path, "{}");

    assert_int_equal(oci_state_list(fixture->root, &ids, &err), 0);
    for (i = 0; expected[i] != NULL; i++) {
        assert_non_null(ids[i]);
        assert_string_equal(ids[i], expected[i]);
    }
    assert_null(ids[i]);
    for (i = 0; ids[i] != NULL; i++)
        free(ids[i]);
    free(ids);

    /* A root not created yet: no containers. */
    snprintf(path, sizeof path, "%s/never", fixture->root);
    assert_int_equal(oci_state_list(path, &ids, &err), 0);
    assert_null(ids[0]);
    free(ids);
}

static void test_remove_nested_tree_without_following_symlinks(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    char path[PATH_MAX], outside[PATH_MAX], outside_file[PATH_MAX + 8];

    make_container(fixture->root, "gone");
    snprintf(path, sizeof path, "%s/gone/a", fixture->root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/gone/a/b", fixture->root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/gone/a/b/c", fixture->root);
    assert_int_equal(mkdir(path, 0500), 0); /* read-only dir: still removable by its parent */
    snprintf(path, sizeof path, "%s/gone/a/b/file", fixture->root);
    write_text(path, "data");
    snprintf(path, sizeof path, "%s/gone/exec.fifo", fixture->root);
    assert_int_equal(mkfifo(path, 0600), 0);

    /* Symlinks out of the tree: removed themselves, their targets kept. */
    snprintf(outside, sizeof outside, "%s/outside", fixture->root);
    assert_int_equal(mkdir(outside, 0700), 0);
    snprintf(outside_file, sizeof outside_file, "%s/keep", outside);
    write_text(outside_file, "keep");
    snprintf(path, sizeof path, "%s/gone/a/link-dir", fixture->root);
    assert_int_equal(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/gone/link-file", fixture->root);
    assert_int_equal(symlink(outside_file, path), 0);

    assert_int_equal(oci_state_remove(fixture->root, "gone", &err), 0);
    snprintf(path, sizeof path, "%s/gone", fixture->root);
    assert_false(exists(path));
    assert_true(exists(outside_file));

    /* Missing: success. A bad id: refused before touching anything. */
    assert_int_equal(oci_state_remove(fixture->root, "gone", &err), 0);
    assert_int_equal(oci_state_remove(fixture->root, "../outside", &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_true(exists(outside_file));
}

static void test_remove_symlinked_container_removes_only_the_link(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    char path[PATH_MAX], target[PATH_MAX], file[PATH_MAX + 8];

    snprintf(target, sizeof target, "%s/target", fixture->root);
    assert_int_equal(mkdir(target, 0700), 0);
    snprintf(file, sizeof file, "%s/keep", target);
    write_text(file, "keep");
    snprintf(path, sizeof path, "%s/link", fixture->root);
    assert_int_equal(symlink(target, path), 0);

    assert_int_equal(oci_state_remove(fixture->root, "link", &err), 0);
    assert_false(exists(path));
    assert_true(exists(file));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup_root, teardown_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_write_read_round_trip),
        TEST(test_round_trip_without_optional_fields),
        TEST(test_write_is_atomic_and_replaces_a_stale_temp_file),
        TEST(test_write_to_missing_container_fails),
        TEST(test_corrupt_state_names_the_file_and_problem),
        TEST(test_read_missing_container),
        TEST(test_validate_id),
        TEST(test_create_directory_twice_is_eexist),
        TEST(test_status),
        TEST(test_status_of_zombie_and_reaped_child_is_stopped),
        TEST(test_format_matches_runc),
        TEST(test_list_is_sorted_and_only_containers),
        TEST(test_remove_nested_tree_without_following_symlinks),
        TEST(test_remove_symlinked_container_removes_only_the_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
