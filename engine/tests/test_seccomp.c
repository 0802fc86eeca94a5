/* test_seccomp.c — unit tests of seccomp.c: a profile enforced in a child, the cache, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp.h"

/* libseccomp's header (SCMP_ACT_*, SCMP_CMP_*): needs src/ on the quoted
 * include path only (-iquote src), as its name is also ours. */
#include <seccomp.h>
#ifndef SCMP_ACT_ALLOW
#error "compile with -iquote src, not -Isrc: src/seccomp.h hides libseccomp's <seccomp.h>"
#endif

static char *native_family[] = {"x86_64", "x86", "x32", NULL};
static char *allowed_names[] = {"exit_group",
                                "exit",
                                "write",
                                "getpid",
                                "rt_sigreturn",
                                "fcntl",
                                "close",
                                "no_such_syscall_in_keel_tests",
                                NULL};
static char *getuid_name[] = {"getuid", NULL};
static char *dup_name[] = {"dup", NULL};
static char *umask_name[] = {"umask", NULL};
static char *getpriority_name[] = {"getpriority", NULL};
static char *getppid_name[] = {"getppid", NULL};

static struct oci_seccomp_argument dup_of_stdout_only[] = {
    {.index = 0, .value = 1, .op = SCMP_CMP_EQ},
};
/* OCI's MASKED_EQ: value is the mask, valueTwo the datum. */
static struct oci_seccomp_argument umask_keeping_owner_bits[] = {
    {.index = 0, .value = 0700, .value_two = 0, .op = SCMP_CMP_MASKED_EQ},
};
/* Two comparisons of one argument: alternatives, as in runc. */
static struct oci_seccomp_argument process_or_group[] = {
    {.index = 0, .value = PRIO_PROCESS, .op = SCMP_CMP_EQ},
    {.index = 0, .value = PRIO_PGRP, .op = SCMP_CMP_EQ},
};

static struct oci_seccomp_rule small_rules[] = {
    {.names = allowed_names, .action = SCMP_ACT_ALLOW},
    {.names = getuid_name, .action = SCMP_ACT_ERRNO(EXDEV)},
    {.names = dup_name,
     .action = SCMP_ACT_ALLOW,
     .arguments = dup_of_stdout_only,
     .argument_count = 1},
    {.names = umask_name,
     .action = SCMP_ACT_ALLOW,
     .arguments = umask_keeping_owner_bits,
     .argument_count = 1},
    {.names = getpriority_name,
     .action = SCMP_ACT_ALLOW,
     .arguments = process_or_group,
     .argument_count = 2},
    /* Same action as the default: left out, not an error. */
    {.names = getppid_name, .action = SCMP_ACT_ERRNO(EPERM)},
};

static struct oci_seccomp small_profile = {
    .default_action = SCMP_ACT_ERRNO(EPERM),
    .architectures = native_family,
    .rules = small_rules,
    .rule_count = sizeof small_rules / sizeof small_rules[0],
};

static struct oci_seccomp_rule notify_rules[] = {
    {.names = allowed_names, .action = SCMP_ACT_ALLOW},
    {.names = getppid_name, .action = SCMP_ACT_NOTIFY},
};

static struct oci_seccomp notify_profile = {
    .default_action = SCMP_ACT_ERRNO(EPERM),
    .flag_wait_kill_recv = true,
    .rules = notify_rules,
    .rule_count = 2,
};

/* A syscall's failure with exactly this errno. */
static bool fails_with(long result, int expected)
{
    return result == -1 && errno == expected;
}

/* Runs in the filtered child: 0 when every check holds, else the number of
 * the first that failed. No libc call that may make syscalls of its own. */
static int check_small_profile(void)
{
    if (syscall(SYS_getpid) <= 0)
        return 1;
    if (!fails_with(syscall(SYS_getcwd, NULL, 0), EPERM))
        return 2;
    if (!fails_with(syscall(SYS_getuid), EXDEV))
        return 3;
    if (syscall(SYS_dup, 1) < 0)
        return 4;
    if (!fails_with(syscall(SYS_dup, 2), EPERM))
        return 5;
    if (syscall(SYS_umask, 022) < 0)
        return 6;
    if (!fails_with(syscall(SYS_umask, 0750), EPERM))
        return 7;
    if (syscall(SYS_getpriority, PRIO_PROCESS, 0) < 0)
        return 8;
    if (syscall(SYS_getpriority, PRIO_PGRP, 0) < 0)
        return 9;
    if (!fails_with(syscall(SYS_getpriority, PRIO_USER, 0), EPERM))
        return 10;
    if (!fails_with(syscall(SYS_getppid), EPERM))
        return 11;
    return 0;
}

/* Leave the filtered child through the raw syscall: the sanitizers
 * intercept _exit() and would run their own checks under the filter. */
static void exit_raw(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

/* Fork, set no_new_privs, load the program, run check; its exit status. */
static int run_filtered(const struct seccomp_program *program, int (*check)(void))
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct keel_error err;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(100);
        if (seccomp_program_load(program, NULL, &err) < 0)
            _exit(101);
        exit_raw(check());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_small_profile_filters_as_written(void **state)
{
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    assert_int_equal(seccomp_program_compile(&small_profile, NULL, &program, &err), 0);
    assert_true(program.length > 0);
    assert_int_equal(BPF_CLASS(program.instructions[program.length - 1].code), BPF_RET);
    assert_false(program.wants_listener);
    assert_int_equal(program.filter_flags, 0);
    assert_int_equal(run_filtered(&program, check_small_profile), 0);
    seccomp_program_free(&program);
    assert_null(program.instructions);
}

static void test_flags_become_filter_flags(void **state)
{
    struct oci_seccomp profile = small_profile;
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    profile.flag_log = true;
    profile.flag_spec_allow = true;
    profile.flag_wait_kill_recv = true; /* no listener: dropped */
    assert_int_equal(seccomp_program_compile(&profile, NULL, &program, &err), 0);
    assert_int_equal(program.filter_flags,
                     SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    assert_int_equal(run_filtered(&program, check_small_profile), 0);
    seccomp_program_free(&program);
}

static void test_notify_rule_wants_a_listener(void **state)
{
    struct seccomp_program program;
    struct keel_error err;
    int status;
    (void)state;

    assert_int_equal(seccomp_program_compile(&notify_profile, NULL, &program, &err), 0);
    assert_true(program.wants_listener);
    assert_true(program.filter_flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);

    /* Refused before any syscall: safe in this process. */
    assert_int_equal(seccomp_program_load(&program, NULL, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int listener = -2;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(100);
        if (seccomp_program_load(&program, &listener, &err) < 0)
            _exit(101);
        if (listener < 0)
            exit_raw(1);
        int fd_flags = (int)syscall(SYS_fcntl, listener, F_GETFD);
        exit_raw(fd_flags >= 0 && (fd_flags & FD_CLOEXEC) ? 0 : 2);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    seccomp_program_free(&program);
}

static void test_unknown_architecture_is_named(void **state)
{
    static char *unknown[] = {"vax", NULL};
    struct oci_seccomp profile = small_profile;
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    profile.architectures = unknown;
    assert_int_equal(seccomp_program_compile(&profile, NULL, &program, &err), -1);
    assert_string_equal(err.message, "seccomp architecture \"vax\": unknown");
    assert_int_equal(err.errno_value, EINVAL);
    assert_null(program.instructions);
}

static void test_foreign_architecture_is_named(void **state)
{
    static char *big_endian[] = {"x86_64", "mips", NULL};
    struct oci_seccomp profile = small_profile;
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    /* libseccomp cannot mix byte orders in one filter. */
    profile.architectures = big_endian;
    assert_int_equal(seccomp_program_compile(&profile, NULL, &program, &err), -1);
    assert_non_null(strstr(err.message, "seccomp architecture \"mips\": "));
    assert_int_not_equal(err.errno_value, 0);
}

static void test_bad_argument_index_is_named(void **state)
{
    static struct oci_seccomp_argument seventh[] = {{.index = 6, .value = 1, .op = SCMP_CMP_EQ}};
    struct oci_seccomp_rule rule = {
        .names = dup_name, .action = SCMP_ACT_ALLOW, .arguments = seventh, .argument_count = 1};
    struct oci_seccomp profile = {
        .default_action = SCMP_ACT_ERRNO(EPERM), .rules = &rule, .rule_count = 1};
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    assert_int_equal(seccomp_program_compile(&profile, NULL, &program, &err), -1);
    assert_string_equal(err.message, "seccomp rule for \"dup\": argument index 6 is not 0..5");
}

static void test_invalid_default_action_is_refused(void **state)
{
    struct oci_seccomp profile = {.default_action = 0x12345678};
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    assert_int_equal(seccomp_program_compile(&profile, NULL, &program, &err), -1);
    assert_string_equal(err.message, "seccomp default action 0x12345678: invalid");
}

/* The cache tests work in a fresh directory below /tmp. */
struct cache_fixture {
    char root[64];
    char directory[128]; /* root/nested/cache: created by the compile */
};

static int cache_setup(void **state)
{
    struct cache_fixture *fixture = calloc(1, sizeof *fixture);
    if (fixture == NULL)
        return -1;
    strcpy(fixture->root, "/tmp/keel-test-seccomp-XXXXXX");
    if (mkdtemp(fixture->root) == NULL)
        return -1;
    snprintf(fixture->directory, sizeof fixture->directory, "%s/nested/cache", fixture->root);
    *state = fixture;
    return 0;
}

static int cache_teardown(void **state)
{
    struct cache_fixture *fixture = *state;
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", fixture->root);
    int rc = system(command);
    free(fixture);
    return rc == 0 ? 0 : -1;
}

/* How many files the cache directory holds, and the name of the .bpf one
 * when there is exactly one. */
static size_t cache_files(const char *directory, char *bpf_path, size_t size)
{
    DIR *dir = opendir(directory);
    struct dirent *entry;
    size_t count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        count++;
        size_t length = strlen(entry->d_name);
        if (bpf_path != NULL && length > 4 && strcmp(entry->d_name + length - 4, ".bpf") == 0)
            snprintf(bpf_path, size, "%s/%s", directory, entry->d_name);
    }
    closedir(dir);
    return count;
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "we");
    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static void assert_file_holds(const char *path, const struct seccomp_program *program)
{
    size_t size = program->length * sizeof *program->instructions;
    char *bytes = malloc(size + 1);
    FILE *file = fopen(path, "re");

    assert_non_null(bytes);
    assert_non_null(file);
    assert_int_equal(fread(bytes, 1, size + 1, file), size);
    fclose(file);
    assert_memory_equal(bytes, program->instructions, size);
    free(bytes);
}

static void test_cache_stores_then_reuses(void **state)
{
    struct cache_fixture *fixture = *state;
    struct seccomp_program first, second, planted;
    struct keel_error err;
    struct stat status;
    char path[512] = "";

    assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &first, &err), 0);
    assert_int_equal(stat(fixture->directory, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0700);
    assert_int_equal(cache_files(fixture->directory, path, sizeof path), 1);
    assert_int_equal(strlen(strrchr(path, '/') + 1), 64 + strlen(".bpf"));
    assert_file_holds(path, &first);

    assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &second, &err), 0);
    assert_int_equal(second.length, first.length);
    assert_memory_equal(second.instructions, first.instructions,
                        first.length * sizeof *first.instructions);
    assert_int_equal(second.filter_flags, first.filter_flags);

    /* Proof that the file is read: a different (valid) program planted
     * under the profile's key comes back. */
    struct sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    write_file(path, &allow_all, sizeof allow_all);
    assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &planted, &err),
                     0);
    assert_int_equal(planted.length, 1);
    assert_memory_equal(planted.instructions, &allow_all, sizeof allow_all);

    seccomp_program_free(&first);
    seccomp_program_free(&second);
    seccomp_program_free(&planted);
}

static void test_cache_corrupt_file_is_recompiled(void **state)
{
    struct cache_fixture *fixture = *state;
    struct seccomp_program reference, again;
    struct keel_error err;
    char path[512] = "";
    /* Not a whole number of instructions; empty; whole but not ending in a return. */
    struct sock_filter no_return = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
    const struct {
        const void *bytes;
        size_t size;
    } corruptions[] = {{"12345", 5}, {"", 0}, {&no_return, sizeof no_return}};

    assert_int_equal(seccomp_program_compile(&small_profile, NULL, &reference, &err), 0);
    assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &again, &err), 0);
    seccomp_program_free(&again);
    assert_int_equal(cache_files(fixture->directory, path, sizeof path), 1);

    for (size_t i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
        write_file(path, corruptions[i].bytes, corruptions[i].size);
        assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &again, &err),
                         0);
        assert_int_equal(again.length, reference.length);
        assert_memory_equal(again.instructions, reference.instructions,
                            reference.length * sizeof *reference.instructions);
        /* ... and the file is whole again, with no temporary left over. */
        assert_file_holds(path, &reference);
        assert_int_equal(cache_files(fixture->directory, NULL, 0), 1);
        seccomp_program_free(&again);
    }
    seccomp_program_free(&reference);
}

static void test_cache_key_covers_the_profile(void **state)
{
    struct cache_fixture *fixture = *state;
    struct oci_seccomp_argument other_mask[] = {
        {.index = 0, .value = 0700, .value_two = 1, .op = SCMP_CMP_MASKED_EQ},
    };
    struct oci_seccomp_rule rules[sizeof small_rules / sizeof small_rules[0]];
    struct oci_seccomp changed = small_profile;
    struct seccomp_program program;
    struct keel_error err;

    memcpy(rules, small_rules, sizeof rules);
    rules[3].arguments = other_mask; /* only valueTwo differs */
    changed.rules = rules;

    assert_int_equal(seccomp_program_compile(&small_profile, fixture->directory, &program, &err),
                     0);
    seccomp_program_free(&program);
    assert_int_equal(seccomp_program_compile(&changed, fixture->directory, &program, &err), 0);
    seccomp_program_free(&program);
    changed.flag_log = true;
    assert_int_equal(seccomp_program_compile(&changed, fixture->directory, &program, &err), 0);
    seccomp_program_free(&program);
    assert_int_equal(cache_files(fixture->directory, NULL, 0), 3);
}

static void test_cache_that_cannot_be_written_is_not_an_error(void **state)
{
    struct seccomp_program program;
    struct keel_error err;
    (void)state;

    assert_int_equal(
        seccomp_program_compile(&small_profile, "/proc/self/keel-no-cache", &program, &err), 0);
    assert_true(program.length > 0);
    seccomp_program_free(&program);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_profile_filters_as_written),
        cmocka_unit_test(test_flags_become_filter_flags),
        cmocka_unit_test(test_notify_rule_wants_a_listener),
        cmocka_unit_test(test_unknown_architecture_is_named),
        cmocka_unit_test(test_foreign_architecture_is_named),
        cmocka_unit_test(test_bad_argument_index_is_named),
        cmocka_unit_test(test_invalid_default_action_is_refused),
        cmocka_unit_test_setup_teardown(test_cache_stores_then_reuses, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_cache_corrupt_file_is_recompiled, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_cache_key_covers_the_profile, cache_setup,
                                        cache_teardown),
        cmocka_unit_test(test_cache_that_cannot_be_written_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
