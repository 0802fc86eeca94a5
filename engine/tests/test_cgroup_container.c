/* test_cgroup_container.c — unit tests of cgroup_container.c: conversions, paths, values, verbs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_container.h"

#define ROOT "/sys/fs/cgroup/unified"

static void test_cpu_weight_from_shares(void **state)
{
    (void)state;
    assert_int_equal(cgroup_cpu_weight_from_shares(2), 1);
    assert_int_equal(cgroup_cpu_weight_from_shares(262144), 10000);
    assert_int_equal(cgroup_cpu_weight_from_shares(1024), 39); /* Docker's default */
    assert_int_equal(cgroup_cpu_weight_from_shares(131073), 5000);
    /* Out of range is clamped, never wrapped. */
    assert_int_equal(cgroup_cpu_weight_from_shares(0), 1);
    assert_int_equal(cgroup_cpu_weight_from_shares(1000000), 10000);
}

static void test_io_weight_from_blkio(void **state)
{
    (void)state;
    assert_int_equal(cgroup_io_weight_from_blkio(10), 1);
    assert_int_equal(cgroup_io_weight_from_blkio(1000), 10000);
    assert_int_equal(cgroup_io_weight_from_blkio(500), 4950);
    assert_int_equal(cgroup_io_weight_from_blkio(100), 910);
    assert_int_equal(cgroup_io_weight_from_blkio(1), 1);
    assert_int_equal(cgroup_io_weight_from_blkio(5000), 10000);
}

static void expect_path(const char *cgroups_path, const char *id, const char *expected)
{
    char path[256];
    struct keel_error err = {0};

    if (cgroup_container_resolve_path(ROOT, cgroups_path, id, path, sizeof path, &err) < 0)
        fail_msg("%s: %s", cgroups_path ? cgroups_path : "(null)", err.message);
    assert_string_equal(path, expected);
}

static void expect_path_refused(const char *cgroups_path, const char *id, const char *message)
{
    char path[256];
    struct keel_error err = {0};

    assert_int_equal(cgroup_container_resolve_path(ROOT, cgroups_path, id, path, sizeof path, &err),
                     -1);
    assert_string_equal(err.message, message);
}

static void test_resolve_path(void **state)
{
    (void)state;
    expect_path(NULL, "c1", ROOT "/keel/c1");
    expect_path("", "c1", ROOT "/keel/c1");
    expect_path("group/c1", "ignored", ROOT "/keel/group/c1");
    expect_path("/machine/c1", "ignored", ROOT "/machine/c1");
    expect_path("//machine/./c1/", "ignored", ROOT "/machine/c1");
    expect_path("/with:colon", "ignored", ROOT "/with:colon");
}

static void test_resolve_path_refusals(void **state)
{
    char path[32];
    struct keel_error err = {0};
    (void)state;

    expect_path_refused("/a/../../etc", "c1",
                        "cgroupsPath \"/a/../../etc\": \"..\" is not allowed");
    expect_path_refused("..", "c1", "cgroupsPath \"..\": \"..\" is not allowed");
    expect_path_refused("system.slice:docker:abc", "c1",
                        "cgroupsPath \"system.slice:docker:abc\": systemd paths "
                        "(slice:prefix:name) are not supported");
    expect_path_refused("/", "c1", "cgroupsPath \"/\" names the root cgroup");
    expect_path_refused("/./", "c1", "cgroupsPath \"/./\" names the root cgroup");
    expect_path_refused(NULL, "a/b", "container id \"a/b\" cannot name a cgroup");
    expect_path_refused(NULL, "..", "container id \"..\" cannot name a cgroup");
    expect_path_refused(NULL, "", "container id \"\" cannot name a cgroup");

    assert_int_equal(
        cgroup_container_resolve_path(ROOT, "/a-rather-long-name", "c1", path, sizeof path, &err),
        -1);
    assert_int_equal(err.errno_value, ENAMETOOLONG);
}

/* The value for file, or "-" when the resources leave it alone. */
static const char *value_of(const struct oci_resources *resources, const char *file)
{
    static char value[128];
    struct keel_error err = {0};
    int set = cgroup_container_resource_value(resources, file, value, sizeof value, &err);

    if (set < 0)
        fail_msg("%s: %s", file, err.message);
    return set ? value : "-";
}

static void test_nothing_given_sets_nothing(void **state)
{
    static const char *files[] = {"memory.max", "memory.low",  "memory.swap.max", "cpu.weight",
                                  "cpu.max",    "cpuset.cpus", "cpuset.mems",     "pids.max",
                                  "io.weight",  "memory.high"};
    struct oci_resources none = {0};
    (void)state;

    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        assert_string_equal(value_of(&none, files[i]), "-");
}

static void test_memory_values(void **state)
{
    struct oci_resources r = {.has_memory_limit = true, .memory_limit = 10485760};
    (void)state;

    assert_string_equal(value_of(&r, "memory.max"), "10485760");
    assert_string_equal(value_of(&r, "memory.swap.max"), "-");
    r.memory_limit = -1;
    assert_string_equal(value_of(&r, "memory.max"), "max");
    /* Unlimited memory, swap not given: unlimited swap. */
    assert_string_equal(value_of(&r, "memory.swap.max"), "max");
    r.memory_limit = 0; /* "not set" */
    assert_string_equal(value_of(&r, "memory.max"), "-");

    r = (struct oci_resources){.has_memory_reservation = true, .memory_reservation = 4096};
    assert_string_equal(value_of(&r, "memory.low"), "4096");
    r.memory_reservation = -1;
    assert_string_equal(value_of(&r, "memory.low"), "max");
}

static void test_memory_swap_is_swap_alone(void **state)
{
    struct oci_resources r = {.has_memory_limit = true,
                              .memory_limit = 1000,
                              .has_memory_swap = true,
                              .memory_swap = 3000};
    (void)state;

    assert_string_equal(value_of(&r, "memory.swap.max"), "2000");
    r.memory_swap = 1000; /* memory+swap == memory: no swap at all */
    assert_string_equal(value_of(&r, "memory.swap.max"), "0");
    r.memory_swap = -1;
    assert_string_equal(value_of(&r, "memory.swap.max"), "max");
    r.memory_swap = 0;
    assert_string_equal(value_of(&r, "memory.swap.max"), "-");
}

static void test_memory_swap_refusals(void **state)
{
    struct oci_resources below = {.has_memory_limit = true,
                                  .memory_limit = 2000,
                                  .has_memory_swap = true,
                                  .memory_swap = 1000};
    struct oci_resources alone = {.has_memory_swap = true, .memory_swap = 1000};
    struct keel_error err = {0};
    char value[64];
    (void)state;

    assert_int_equal(
        cgroup_container_resource_value(&below, "memory.swap.max", value, sizeof value, &err), -1);
    assert_string_equal(err.message, "memory.swap 1000 is below memory.limit 2000");
    assert_int_equal(
        cgroup_container_resource_value(&alone, "memory.swap.max", value, sizeof value, &err), -1);
    assert_string_equal(err.message, "memory.swap 1000 needs a memory.limit");
}

static void test_cpu_values(void **state)
{
    struct oci_resources r = {.has_cpu_shares = true, .cpu_shares = 1024};
    (void)state;

    assert_string_equal(value_of(&r, "cpu.weight"), "39");
    assert_string_equal(value_of(&r, "cpu.max"), "-");

    r = (struct oci_resources){.has_cpu_quota = true, .cpu_quota = 50000};
    assert_string_equal(value_of(&r, "cpu.max"), "50000 100000");
    r.has_cpu_period = true;
    r.cpu_period = 250000;
    assert_string_equal(value_of(&r, "cpu.max"), "50000 250000");
    r.cpu_quota = -1;
    assert_string_equal(value_of(&r, "cpu.max"), "max 250000");
    r.has_cpu_quota = false;
    assert_string_equal(value_of(&r, "cpu.max"), "max 250000");

    r = (struct oci_resources){.cpu_cpus = "0-1", .cpu_mems = "0"};
    assert_string_equal(value_of(&r, "cpuset.cpus"), "0-1");
    assert_string_equal(value_of(&r, "cpuset.mems"), "0");
    r.cpu_cpus = "";
    assert_string_equal(value_of(&r, "cpuset.cpus"), "-");
}

static void test_pids_and_io_values(void **state)
{
    struct oci_resources r = {.has_pids_limit = true, .pids_limit = 100};
    (void)state;

    assert_string_equal(value_of(&r, "pids.max"), "100");
    r.pids_limit = 0;
    assert_string_equal(value_of(&r, "pids.max"), "max");
    r.pids_limit = -1;
    assert_string_equal(value_of(&r, "pids.max"), "max");

    r = (struct oci_resources){.has_blockio_weight = true, .blockio_weight = 500};
    assert_string_equal(value_of(&r, "io.weight"), "4950");
    r.blockio_weight = 0;
    assert_string_equal(value_of(&r, "io.weight"), "-");
}

static void test_long_value_is_refused(void **state)
{
    struct oci_resources r = {.cpu_cpus = "0,1,2,3,4,5,6,7"};
    struct keel_error err = {0};
    char value[8];
    (void)state;

    assert_int_equal(cgroup_container_resource_value(&r, "cpuset.cpus", value, sizeof value, &err),
                     -1);
    assert_string_equal(err.message, "cpuset.cpus: value too long");
}

/* ---- file-level verbs, on plain directories standing in for cgroups ---- */

static int temporary_directory_setup(void **state)
{
    char *directory = strdup("/tmp/test_cgroup_container.XXXXXX");
    if (directory == NULL || mkdtemp(directory) == NULL)
        return -1;
    *state = directory;
    return 0;
}

static int temporary_directory_teardown(void **state)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", (char *)*state);
    free(*state);
    return system(command) == 0 ? 0 : -1;
}

static void write_file(const char *directory, const char *name, const char *text)
{
    char path[256];
    FILE *file;

    snprintf(path, sizeof path, "%s/%s", directory, name);
    file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void test_oom_killed(void **state)
{
    const char *directory = *state;
    struct keel_error err = {0};
    bool killed = true;

    /* No memory.events (no memory controller): not killed. */
    assert_int_equal(cgroup_container_oom_killed(directory, &killed, &err), 0);
    assert_false(killed);

    write_file(directory, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 0\n");
    assert_int_equal(cgroup_container_oom_killed(directory, &killed, &err), 0);
    assert_false(killed);

    write_file(directory, "memory.events",
               "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n");
    killed = false;
    assert_int_equal(cgroup_container_oom_killed(directory, &killed, &err), 0);
    assert_true(killed);
}

static void test_remove(void **state)
{
    const char *directory = *state;
    char path[256];
    struct keel_error err = {0};

    snprintf(path, sizeof path, "%s/c1", directory);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(cgroup_container_remove(path, &err), 0);
    assert_int_equal(access(path, F_OK), -1);
    /* Already gone: success. */
    assert_int_equal(cgroup_container_remove(path, &err), 0);
    /* Anything but EBUSY fails at once, naming the directory. */
    write_file(directory, "file", "x");
    assert_int_equal(cgroup_container_remove(directory, &err), -1);
    assert_int_equal(err.errno_value, ENOTEMPTY);
    assert_non_null(strstr(err.message, directory));
}

static void test_kill_writes_cgroup_kill(void **state)
{
    const char *directory = *state;
    char path[256], text[8] = "";
    struct keel_error err = {0};
    FILE *file;

    write_file(directory, "cgroup.kill", "");
    assert_int_equal(cgroup_container_kill(directory, &err), 0);
    snprintf(path, sizeof path, "%s/cgroup.kill", directory);
    file = fopen(path, "r");
    assert_non_null(file);
    assert_non_null(fgets(text, sizeof text, file));
    fclose(file);
    assert_string_equal(text, "1");
}

static void test_kill_falls_back_to_each_process(void **state)
{
    const char *directory = *state;
    struct keel_error err = {0};
    char pids[32];
    pid_t child;
    (void)state;

    /* Without cgroup.kill (Linux < 5.14): the pids of cgroup.procs. With
     * SIGCHLD ignored the killed child is reaped at once, so the second
     * round finds it gone and kill returns. */
    signal(SIGCHLD, SIG_IGN);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    snprintf(pids, sizeof pids, "%d\n", (int)child);
    write_file(directory, "cgroup.procs", pids);
    assert_int_equal(cgroup_container_kill(directory, &err), 0);
    signal(SIGCHLD, SIG_DFL);
    assert_int_equal(kill(child, 0), -1);
    assert_int_equal(errno, ESRCH);

    /* Nothing listed: nothing to do. */
    write_file(directory, "cgroup.procs", "");
    assert_int_equal(cgroup_container_kill(directory, &err), 0);
}

static void test_close_is_idempotent(void **state)
{
    struct cgroup_container cgroup = {.path = strdup("/x"), .directory_fd = dup(0)};
    (void)state;

    cgroup_container_close(&cgroup);
    assert_null(cgroup.path);
    assert_int_equal(cgroup.directory_fd, -1);
    cgroup_container_close(&cgroup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_weight_from_shares),
        cmocka_unit_test(test_io_weight_from_blkio),
        cmocka_unit_test(test_resolve_path),
        cmocka_unit_test(test_resolve_path_refusals),
        cmocka_unit_test(test_nothing_given_sets_nothing),
        cmocka_unit_test(test_memory_values),
        cmocka_unit_test(test_memory_swap_is_swap_alone),
        cmocka_unit_test(test_memory_swap_refusals),
        cmocka_unit_test(test_cpu_values),
        cmocka_unit_test(test_pids_and_io_values),
        cmocka_unit_test(test_long_value_is_refused),
        cmocka_unit_test_setup_teardown(test_oom_killed, temporary_directory_setup,
                                        temporary_directory_teardown),
        cmocka_unit_test_setup_teardown(test_remove, temporary_directory_setup,
                                        temporary_directory_teardown),
        cmocka_unit_test_setup_teardown(test_kill_writes_cgroup_kill, temporary_directory_setup,
                                        temporary_directory_teardown),
        cmocka_unit_test_setup_teardown(test_kill_falls_back_to_each_process,
                                        temporary_directory_setup, temporary_directory_teardown),
        cmocka_unit_test(test_close_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
