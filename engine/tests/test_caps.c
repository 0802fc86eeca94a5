/* test_caps.c — unit tests of caps.c: each case applies a process identity in a forked child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "file.h"

#define BIT(capability) (UINT64_C(1) << (capability))

/* Docker's default set. All are held by this host's bounding set, which
 * lacks CAP_SYS_RESOURCE. */
static const uint64_t docker_caps = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) |
                                    BIT(CAP_FSETID) | BIT(CAP_KILL) | BIT(CAP_SETGID) |
                                    BIT(CAP_SETUID) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
                                    BIT(CAP_NET_RAW) | BIT(CAP_SYS_CHROOT) | BIT(CAP_MKNOD) |
                                    BIT(CAP_AUDIT_WRITE) | BIT(CAP_SETFCAP);

/* What the child saw after applying the process, sent back through a pipe
 * so the assertions run (and report) in the parent. */
struct child_report {
    int result;
    struct keel_error error;
    uint64_t inheritable, permitted, effective, bounding, ambient;
    int no_new_privs;
    uid_t uid, euid;
    gid_t gid, egid;
    int group_count;
    gid_t groups[8];
    char problem[KEEL_ERROR_MESSAGE_MAX + 16]; /* a failure of the child's own bookkeeping */
};

static int status_mask(const char *status, const char *field, uint64_t *mask)
{
    const char *line = strstr(status, field);

    if (line == NULL)
        return -1;
    *mask = strtoull(line + strlen(field), NULL, 16);
    return 0;
}

static void child_observe(struct child_report *report)
{
    struct keel_error err;
    char *status = NULL;
    gid_t ignored;

    if (file_read_text("/proc/self/status", &status, NULL, &err) < 0) {
        snprintf(report->problem, sizeof report->problem, "%s", err.message);
        return;
    }
    if (status_mask(status, "\nCapInh:", &report->inheritable) < 0 ||
        status_mask(status, "\nCapPrm:", &report->permitted) < 0 ||
        status_mask(status, "\nCapEff:", &report->effective) < 0 ||
        status_mask(status, "\nCapBnd:", &report->bounding) < 0 ||
        status_mask(status, "\nCapAmb:", &report->ambient) < 0)
        snprintf(report->problem, sizeof report->problem, "no Cap* line in /proc/self/status");
    free(status);
    report->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    getresuid(&report->uid, &report->euid, &(uid_t){0});
    getresgid(&report->gid, &report->egid, &ignored);
    report->group_count = getgroups(8, report->groups);
}

/* Fork, apply process in the child (after before, when not NULL), and
 * return what it saw. */
static struct child_report run_in_child(const struct oci_process *before,
                                        const struct oci_process *process)
{
    struct child_report report;
    int pipe_fds[2];
    int wait_status;

    if (geteuid() != 0)
        skip();
    assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        memset(&report, 0, sizeof report);
        if (before != NULL && caps_apply_process(before, &report.error) < 0)
            snprintf(report.problem, sizeof report.problem, "first apply: %s",
                     report.error.message);
        report.result = caps_apply_process(process, &report.error);
        if (report.result == 0)
            report.result = caps_apply_no_new_privileges(process, &report.error);
        child_observe(&report);
        ssize_t n = write(pipe_fds[1], &report, sizeof report);
        _exit(n == (ssize_t)sizeof report ? 0 : 1);
    }
    close(pipe_fds[1]);
    memset(&report, 0, sizeof report);
    assert_int_equal(read(pipe_fds[0], &report, sizeof report), sizeof report);
    close(pipe_fds[0]);
    assert_int_equal(waitpid(pid, &wait_status, 0), pid);
    assert_true(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
    assert_string_equal(report.problem, "");
    return report;
}

static void test_docker_caps_as_root(void **state)
{
    struct oci_process process = {.uid = 0, .gid = 0, .has_capabilities = true};
    (void)state;
    process.capabilities[OCI_CAPS_BOUNDING] = docker_caps;
    process.capabilities[OCI_CAPS_EFFECTIVE] = docker_caps;
    process.capabilities[OCI_CAPS_PERMITTED] = docker_caps;

    struct child_report report = run_in_child(NULL, &process);

    assert_int_equal(report.result, 0);
    assert_int_equal(report.effective, docker_caps);
    assert_int_equal(report.permitted, docker_caps);
    assert_int_equal(report.bounding, docker_caps);
    assert_int_equal(report.inheritable, 0);
    assert_int_equal(report.ambient, 0);
    assert_int_equal(report.uid, 0);
    assert_int_equal(report.group_count, 0);
    assert_int_equal(report.no_new_privs, 0);
}

static void test_unprivileged_user_with_ambient_capability(void **state)
{
    gid_t groups[] = {10, 20};
    struct oci_process process = {.uid = 1000,
                                  .gid = 1000,
                                  .additional_gids = groups,
                                  .additional_gid_count = 2,
                                  .has_capabilities = true,
                                  .no_new_privileges = true};
    (void)state;
    for (int set = 0; set < OCI_CAPS_SET_COUNT; set++)
        process.capabilities[set] = BIT(CAP_NET_BIND_SERVICE);

    struct child_report report = run_in_child(NULL, &process);

    assert_int_equal(report.result, 0);
    assert_int_equal(report.uid, 1000);
    assert_int_equal(report.euid, 1000);
    assert_int_equal(report.gid, 1000);
    assert_int_equal(report.egid, 1000);
    assert_int_equal(report.group_count, 2);
    assert_int_equal(report.groups[0], 10);
    assert_int_equal(report.groups[1], 20);
    assert_int_equal(report.effective, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(report.permitted, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(report.inheritable, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(report.bounding, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(report.ambient, BIT(CAP_NET_BIND_SERVICE));
    assert_int_equal(report.no_new_privs, 1);
}

static void test_effective_outside_permitted_is_named(void **state)
{
    struct oci_process process = {.has_capabilities = true};
    (void)state;
    process.capabilities[OCI_CAPS_BOUNDING] = docker_caps;
    process.capabilities[OCI_CAPS_PERMITTED] = BIT(CAP_CHOWN);
    process.capabilities[OCI_CAPS_EFFECTIVE] = BIT(CAP_CHOWN) | BIT(CAP_NET_RAW);

    struct child_report report = run_in_child(NULL, &process);

    assert_int_equal(report.result, -1);
    assert_int_equal(report.error.errno_value, EINVAL);
    assert_string_equal(report.error.message,
                        "effective capability CAP_NET_RAW is not in the permitted set");
    /* Refused before anything changed. */
    assert_int_not_equal(report.bounding, docker_caps);
}

static void test_ambient_outside_inheritable_is_left_out(void **state)
{
    struct oci_process process = {.has_capabilities = true};
    (void)state;
    process.capabilities[OCI_CAPS_BOUNDING] = docker_caps;
    process.capabilities[OCI_CAPS_PERMITTED] = docker_caps;
    process.capabilities[OCI_CAPS_EFFECTIVE] = docker_caps;
    process.capabilities[OCI_CAPS_AMBIENT] = BIT(CAP_KILL);

    struct child_report report = run_in_child(NULL, &process);

    /* As runc: `runc spec` asks for ambient capabilities without the
     * inheritable set; they are left out, everything else applies. */
    assert_int_equal(report.result, 0);
    assert_int_equal(report.ambient, 0);
    assert_int_equal(report.effective, docker_caps);
}

static void test_permitted_capability_not_held_is_named(void **state)
{
    /* CAP_SETGID and CAP_SETUID let the second apply get as far as capset. */
    const uint64_t kept = BIT(CAP_CHOWN) | BIT(CAP_SETGID) | BIT(CAP_SETUID);
    struct oci_process first = {.uid = 0, .gid = 0, .has_capabilities = true};
    (void)state;
    first.capabilities[OCI_CAPS_BOUNDING] = kept;
    first.capabilities[OCI_CAPS_PERMITTED] = kept;
    first.capabilities[OCI_CAPS_EFFECTIVE] = kept;
    /* After the first apply only those are held: asking for more in the
     * permitted set must fail, naming what is missing. */
    struct oci_process second = first;
    second.capabilities[OCI_CAPS_PERMITTED] |= BIT(CAP_FOWNER);

    struct child_report report = run_in_child(&first, &second);

    assert_int_equal(report.result, -1);
    assert_int_equal(report.error.errno_value, EPERM);
    assert_string_equal(report.error.message,
                        "set permitted capability CAP_FOWNER: Operation not permitted");
}

static void test_no_capabilities_object_empties_every_set(void **state)
{
    struct oci_process process = {.uid = 0, .gid = 0, .has_capabilities = false};
    (void)state;
    /* Ignored without has_capabilities. */
    process.capabilities[OCI_CAPS_BOUNDING] = docker_caps;
    process.capabilities[OCI_CAPS_EFFECTIVE] = docker_caps;

    struct child_report report = run_in_child(NULL, &process);

    assert_int_equal(report.result, 0);
    assert_int_equal(report.effective, 0);
    assert_int_equal(report.permitted, 0);
    assert_int_equal(report.inheritable, 0);
    assert_int_equal(report.bounding, 0);
    assert_int_equal(report.ambient, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_caps_as_root),
        cmocka_unit_test(test_unprivileged_user_with_ambient_capability),
        cmocka_unit_test(test_effective_outside_permitted_is_named),
        cmocka_unit_test(test_ambient_outside_inheritable_is_left_out),
        cmocka_unit_test(test_permitted_capability_not_held_is_named),
        cmocka_unit_test(test_no_capabilities_object_empties_every_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
