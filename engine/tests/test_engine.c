/* test_engine.c — the engine's containers run for real: output into logs, exit codes, stop, kill,
 * restart policies with backoff, remove, names, records across an engine restart, list and inspect
 * JSON, subscriptions. */
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
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "engine.h"
#include "engine_container_internal.h"
#include "file.h"
#include "image_import.h"
#include "loop.h"
#include "store.h"
#include "support/tar_buffer.h"

#define TEST_IMAGE "engine-test:latest"
#define TEST_CGROUP_PARENT "keel-engine-test"
#define TEST_BUSYBOX "/bin/busybox"

static char test_root[128];
static bool test_skipped;
static const char *test_skip_reason;

/* ---- a tiny image: static busybox as /bin/sh ---- */

static void tar_add(struct archive *archive, const char *name, mode_t type, mode_t mode,
                    const void *data, size_t length, const char *link)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_size(entry, type == AE_IFREG ? (la_int64_t)length : 0);
    if (link != NULL)
        archive_entry_set_symlink(entry, link);
    assert_int_equal(archive_write_header(archive, entry), ARCHIVE_OK);
    if (type == AE_IFREG && length > 0)
        assert_int_equal(archive_write_data(archive, data, length), (la_ssize_t)length);
    archive_entry_free(entry);
}

static void build_image_archive(const char *path)
{
    _cleanup_free_ char *busybox = NULL;
    size_t busybox_length;
    struct keel_error err;
    assert_int_equal(
        file_read_text_limited(TEST_BUSYBOX, 64u << 20, &busybox, &busybox_length, &err), 0);

    struct buffer layer = {0};
    struct archive *archive = tar_open(&layer);
    const char *directories[] = {"bin", "etc", "tmp", "proc", "sys", "dev", "root"};
    for (size_t i = 0; i < sizeof directories / sizeof directories[0]; i++)
        tar_add(archive, directories[i], AE_IFDIR, 0755, NULL, 0, NULL);
    tar_add(archive, "bin/busybox", AE_IFREG, 0755, busybox, busybox_length, NULL);
    tar_add(archive, "bin/sh", AE_IFLNK, 0777, NULL, 0, "busybox");
    const char *passwd = "root:x:0:0:root:/root:/bin/sh\n";
    tar_add(archive, "etc/passwd", AE_IFREG, 0644, passwd, strlen(passwd), NULL);
    tar_close(archive);

    struct digest layer_digest, config_digest;
    digest_of_bytes(layer.data, layer.length, &layer_digest);
    _cleanup_free_ char *config = NULL, *manifest = NULL, *config_name = NULL;
    assert_true(
        asprintf(
            &config,
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
            "\"Cmd\":[\"sh\"],\"Labels\":{\"from\":\"image\"}},\"rootfs\":{\"type\":\"layers\","
            "\"diff_ids\":[\"%s\"]}}",
            layer_digest.text) > 0);
    digest_of_bytes(config, strlen(config), &config_digest);
    assert_true(asprintf(&config_name, "%s.json", digest_hex(&config_digest)) > 0);
    assert_true(
        asprintf(&manifest,
                 "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[\"layer/layer.tar\"]}]",
                 config_name, TEST_IMAGE) > 0);

    struct buffer outer = {0};
    archive = tar_open(&outer);
    tar_add(archive, "layer", AE_IFDIR, 0755, NULL, 0, NULL);
    tar_add(archive, "layer/layer.tar", AE_IFREG, 0644, layer.data, layer.length, NULL);
    tar_add(archive, config_name, AE_IFREG, 0644, config, strlen(config), NULL);
    tar_add(archive, "manifest.json", AE_IFREG, 0644, manifest, strlen(manifest), NULL);
    tar_close(archive);
    assert_int_equal(file_write_atomic(path, outer.data, outer.length, 0644, 0, &err), 0);
    free(layer.data);
    free(outer.data);
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
    (void)status;
    (void)type;
    (void)walk;
    remove(path);
    return 0;
}

static int group_setup(void **state)
{
    struct keel_error err;
    struct store store;
    char path[PATH_MAX];
    (void)state;
    if (geteuid() != 0) {
        test_skipped = true;
        test_skip_reason = "not root: containers need namespaces, mounts and cgroups";
        return 0;
    }
    if (access(TEST_BUSYBOX, X_OK) != 0) {
        test_skipped = true;
        test_skip_reason = "no " TEST_BUSYBOX " (busybox-static) to build the test image from";
        return 0;
    }
    snprintf(test_root, sizeof test_root, "/var/tmp/keel-test-engine.XXXXXX");
    if (mkdtemp(test_root) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/image.tar", test_root);
    build_image_archive(path);
    snprintf(path, sizeof path, "%s/store", test_root);
    if (store_open(&store, path, NULL, 0, &err) < 0) {
        fprintf(stderr, "store: %s\n", err.message);
        return -1;
    }
    snprintf(path, sizeof path, "%s/image.tar", test_root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct image_import_options options = {0};
    struct image_import_result result = {0};
    int imported = image_import(&store, fd, &options, &result, &err);
    close(fd);
    if (imported < 0)
        fprintf(stderr, "import: %s\n", err.message);
    image_import_result_free(&result);
    store_close(&store);
    return imported;
}

static int group_teardown(void **state)
{
    (void)state;
    if (test_root[0] != '\0') {
        char path[PATH_MAX];
        nftw(test_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        snprintf(path, sizeof path, "/sys/fs/cgroup/unified/%s", TEST_CGROUP_PARENT);
        rmdir(path);
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s", TEST_CGROUP_PARENT);
        rmdir(path);
    }
    return 0;
}

/* ---- one engine per test ---- */

struct fixture {
    unsigned fds_before;
    struct loop *loop;
    struct engine *engine;
    char state_root[PATH_MAX];
    char runtime_root[PATH_MAX];
    char store_root[PATH_MAX];
    const char *container_init;
    unsigned errors;
};

static void on_loop_error(const struct keel_error *err, void *user)
{
    struct fixture *fixture = user;
    fixture->errors++;
    fprintf(stderr, "loop error: %s\n", err->message);
}

static void engine_start(struct fixture *fixture)
{
    struct keel_error err;
    struct engine_options options = {
        .name = "keel-test",
        .store_root = fixture->store_root,
        .state_root = fixture->state_root,
        .runtime_root = fixture->runtime_root,
        .cgroup_parent = TEST_CGROUP_PARENT,
        .container_init = fixture->container_init,
    };
    if (engine_new(fixture->loop, &options, &fixture->engine, &err) < 0)
        fail_msg("engine_new: %s", err.message);
}

static unsigned open_fd_count(void)
{
    unsigned count = 0;
    DIR *directory = opendir("/proc/self/fd");
    assert_non_null(directory);
    while (readdir(directory) != NULL)
        count++;
    closedir(directory);
    return count;
}

static int setup(void **state)
{
    static unsigned counter;
    if (test_skipped)
        return 0;
    struct fixture *fixture = calloc(1, sizeof *fixture);
    struct keel_error err;
    assert_non_null(fixture);
    fixture->fds_before = open_fd_count();
    counter++;
    snprintf(fixture->store_root, sizeof fixture->store_root, "%s/store", test_root);
    snprintf(fixture->state_root, sizeof fixture->state_root, "%s/engine-%u", test_root, counter);
    snprintf(fixture->runtime_root, sizeof fixture->runtime_root, "%s/run-%u", test_root, counter);
    assert_int_equal(loop_new(&fixture->loop, &err), 0);
    loop_set_error_handler(fixture->loop, on_loop_error, fixture);
    engine_start(fixture);
    *state = fixture;
    return 0;
}

static void remove_all(struct fixture *fixture)
{
    struct keel_error err;
    while (fixture->engine->containers != NULL) {
        const char *id = engine_container_id(fixture->engine->containers);
        if (engine_container_remove(fixture->engine, id, true, &err) < 0)
            fail_msg("remove %s: %s", id, err.message);
    }
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture == NULL)
        return 0;
    remove_all(fixture);
    engine_free(fixture->engine);
    loop_free(fixture->loop);
    /* Every pipe, pidfd, timer and log closed. */
    assert_int_equal(open_fd_count(), fixture->fds_before);
    free(fixture);
    /* Containers the tests left to die with a freed engine. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return 0;
}

#define SKIP_UNLESS_ROOT()                                                                         \
    do {                                                                                           \
        if (test_skipped) {                                                                        \
            fprintf(stderr, "skipped: %s\n", test_skip_reason);                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

typedef bool condition_fn(struct fixture *fixture, void *data);

static bool run_until(struct fixture *fixture, condition_fn *condition, void *data,
                      unsigned timeout_ms)
{
    struct keel_error err;
    uint64_t deadline = now_ms() + timeout_ms;
    while (!condition(fixture, data)) {
        if (now_ms() > deadline)
            return false;
        assert_int_equal(loop_run_once(fixture->loop, 20, &err), 0);
    }
    return true;
}

static void run_for(struct fixture *fixture, unsigned ms)
{
    struct keel_error err;
    uint64_t deadline = now_ms() + ms;
    while (now_ms() < deadline)
        assert_int_equal(loop_run_once(fixture->loop, 20, &err), 0);
}

static struct engine_container *find(struct fixture *fixture, const char *reference)
{
    struct keel_error err;
    struct engine_container *container = engine_container_find(fixture->engine, reference, &err);
    if (container == NULL)
        fail_msg("find %s: %s", reference, err.message);
    return container;
}

static bool is_exited(struct fixture *fixture, void *data)
{
    struct keel_error err;
    struct engine_container *container = engine_container_find(fixture->engine, data, &err);
    return container != NULL && container->status == ENGINE_CONTAINER_EXITED;
}

static bool is_running(struct fixture *fixture, void *data)
{
    struct keel_error err;
    struct engine_container *container = engine_container_find(fixture->engine, data, &err);
    return container != NULL && container->status == ENGINE_CONTAINER_RUNNING;
}

static bool is_gone(struct fixture *fixture, void *data)
{
    struct keel_error err;
    return engine_container_find(fixture->engine, data, &err) == NULL;
}

/* Create from a JSON request (json_pack format); returns the id (heap). */
static char *create(struct fixture *fixture, const char *name, json_t *request)
{
    struct keel_error err;
    char *id = NULL;
    json_t *warnings = NULL;
    assert_non_null(request);
    if (engine_container_create(fixture->engine, request, name, &id, &warnings, &err) < 0)
        fail_msg("create: %s", err.message);
    assert_true(json_is_array(warnings));
    json_decref(warnings);
    json_decref(request);
    return id;
}

static json_t *shell_request(const char *script)
{
    return json_pack("{s:s, s:[s, s, s]}", "Image", TEST_IMAGE, "Cmd", "sh", "-c", script);
}

static char *run(struct fixture *fixture, const char *name, json_t *request)
{
    struct keel_error err;
    char *id = create(fixture, name, request);
    if (engine_container_start(fixture->engine, id, &err) < 0)
        fail_msg("start: %s", err.message);
    return id;
}

static char *read_log(struct fixture *fixture, const char *id)
{
    struct keel_error err;
    _cleanup_free_ char *path = NULL;
    char *text = NULL;
    unsigned max_file;
    bool tty;
    size_t length;
    assert_int_equal(engine_container_log(fixture->engine, id, &path, &max_file, &tty, &err), 0);
    assert_int_equal(max_file, 3);
    if (file_read_text(path, &text, &length, &err) < 0)
        fail_msg("%s", err.message);
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        count++;
    return count;
}

static json_t *inspect(struct fixture *fixture, const char *id)
{
    struct keel_error err;
    _cleanup_free_ char *text = NULL;
    if (engine_container_inspect_json(fixture->engine, id, &text, &err) < 0)
        fail_msg("inspect: %s", err.message);
    json_t *object = json_loads(text, 0, NULL);
    assert_non_null(object);
    return object;
}

struct done_record {
    bool called;
    int status;
    bool failed;
    uint64_t at_ms;
};

static void on_done(int status, const struct keel_error *err, void *data)
{
    struct done_record *record = data;
    record->called = true;
    record->status = status;
    record->failed = err != NULL;
    record->at_ms = now_ms();
}

static bool is_done(struct fixture *fixture, void *data)
{
    (void)fixture;
    return ((struct done_record *)data)->called;
}

/* ---- tests ---- */

static void test_output_goes_to_the_log(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    _cleanup_free_ char *id =
        run(fixture, NULL, shell_request("echo hello; echo oops >&2; printf partial"));
    assert_true(run_until(fixture, is_exited, id, 10000));
    struct engine_container *container = find(fixture, id);
    assert_int_equal(container->exit_code, 0);
    _cleanup_free_ char *log = read_log(fixture, id);
    assert_non_null(strstr(log, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\""));
    assert_non_null(strstr(log, "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\""));
    /* The unterminated last line is flushed at the exit. */
    assert_non_null(strstr(log, "{\"log\":\"partial\",\"stream\":\"stdout\""));
    assert_int_equal(fixture->errors, 0);
}

static void test_exit_code_recorded(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record waited = {0}, next_exit = {0};
    struct engine_wait *wait;
    _cleanup_free_ char *id = create(fixture, NULL, shell_request("exit 3"));
    assert_int_equal(
        engine_container_wait(fixture->engine, id, "next-exit", on_done, &next_exit, &wait, &err),
        0);
    assert_int_equal(engine_container_start(fixture->engine, id, &err), 0);
    assert_int_equal(engine_container_start(fixture->engine, id, &err), -1);
    assert_int_equal(err.errno_value, EALREADY);
    assert_true(run_until(fixture, is_done, &next_exit, 10000));
    assert_int_equal(next_exit.status, 3);
    assert_int_equal(find(fixture, id)->exit_code, 3);
    /* not-running on a stopped container: at once, but from the loop. */
    assert_int_equal(
        engine_container_wait(fixture->engine, id, NULL, on_done, &waited, &wait, &err), 0);
    assert_false(waited.called);
    assert_true(run_until(fixture, is_done, &waited, 1000));
    assert_int_equal(waited.status, 3);
    json_t *object = inspect(fixture, id);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(object, "State"), "ExitCode")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(object, "State"), "Status")), "exited");
    json_decref(object);
}

static void test_stop_with_sigterm(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record stopped = {0};
    /* In the host's pid namespace the sleep is not a pid 1 the kernel
     * shields from SIGTERM. */
    _cleanup_free_ char *id =
        run(fixture, NULL,
            json_pack("{s:s, s:[s, s, s], s:{s:s}}", "Image", TEST_IMAGE, "Cmd", "busybox", "sleep",
                      "100", "HostConfig", "PidMode", "host"));
    assert_true(run_until(fixture, is_running, id, 5000));
    uint64_t started = now_ms();
    assert_int_equal(engine_container_stop(fixture->engine, id, 10, on_done, &stopped, &err), 0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    assert_int_equal(stopped.status, 128 + SIGTERM);
    assert_true(stopped.at_ms - started < 3000);
    struct engine_container *container = find(fixture, id);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
    assert_true(container->stopped_by_user);
}

static void test_stop_kills_after_timeout(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record stopped = {0};
    _cleanup_free_ char *id = run(fixture, NULL, shell_request("trap '' TERM; busybox sleep 100"));
    assert_true(run_until(fixture, is_running, id, 5000));
    run_for(fixture, 200); /* the trap is set */
    uint64_t started = now_ms();
    assert_int_equal(engine_container_stop(fixture->engine, id, 1, on_done, &stopped, &err), 0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    assert_int_equal(stopped.status, 128 + SIGKILL);
    assert_true(stopped.at_ms - started >= 1000);
}

static void test_kill_with_signal(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    _cleanup_free_ char *id =
        run(fixture, NULL,
            json_pack("{s:s, s:[s, s, s], s:{s:s}}", "Image", TEST_IMAGE, "Cmd", "busybox", "sleep",
                      "100", "HostConfig", "PidMode", "host"));
    assert_true(run_until(fixture, is_running, id, 5000));
    assert_int_equal(engine_container_kill(fixture->engine, id, "BOGUS", &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_int_equal(engine_container_kill(fixture->engine, id, "SIGUSR1", &err), 0);
    assert_true(run_until(fixture, is_exited, id, 5000));
    assert_int_equal(find(fixture, id)->exit_code, 128 + SIGUSR1);
    assert_int_equal(engine_container_kill(fixture->engine, id, "KILL", &err), -1);
    assert_int_equal(err.errno_value, EBUSY);
}

static void test_restart_on_failure_counts(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    json_t *request = shell_request("echo run; exit 1");
    json_object_set_new(
        request, "HostConfig",
        json_pack("{s:{s:s, s:i}}", "RestartPolicy", "Name", "on-failure", "MaximumRetryCount", 2));
    _cleanup_free_ char *id = run(fixture, NULL, request);
    struct engine_container *container = find(fixture, id);
    uint64_t deadline = now_ms() + 10000;
    while (!(container->status == ENGINE_CONTAINER_EXITED && container->restart_count == 2) &&
           now_ms() < deadline)
        run_for(fixture, 20);
    assert_int_equal(container->restart_count, 2);
    run_for(fixture, 1000);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
    assert_int_equal(container->restart_count, 2);
    assert_int_equal(container->exit_code, 1);
    _cleanup_free_ char *log = read_log(fixture, id);
    assert_int_equal(count_of(log, "\"run\\n\""), 3);
    json_t *object = inspect(fixture, id);
    assert_int_equal(json_integer_value(json_object_get(object, "RestartCount")), 2);
    json_decref(object);
}

static void test_restart_always_backs_off(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    json_t *request = shell_request("exit 1");
    json_object_set_new(request, "HostConfig",
                        json_pack("{s:{s:s}}", "RestartPolicy", "Name", "always"));
    _cleanup_free_ char *id = run(fixture, NULL, request);
    struct engine_container *container = find(fixture, id);
    uint64_t starts[6];
    size_t count = 0;
    struct timespec last = {0};
    uint64_t deadline = now_ms() + 15000;
    while (count < 6 && now_ms() < deadline) {
        if (container->started_at.tv_sec != last.tv_sec ||
            container->started_at.tv_nsec != last.tv_nsec) {
            last = container->started_at;
            starts[count++] = now_ms();
        }
        assert_int_equal(loop_run_once(fixture->loop, 5, &err), 0);
    }
    assert_int_equal(count, 6);
    /* 100, 200, 400, 800, 1600 ms apart, plus the runs themselves. */
    for (size_t i = 2; i < count; i++)
        assert_true(starts[i] - starts[i - 1] > starts[i - 1] - starts[i - 2]);
    assert_true(starts[5] - starts[4] >= 1600);
    assert_true(container->restart_count >= 5);
    /* A stop by the user ends it, in the middle of a backoff or not. */
    struct done_record stopped = {0};
    assert_int_equal(engine_container_stop(fixture->engine, id, 1, on_done, &stopped, &err), 0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    assert_true(run_until(fixture, is_exited, id, 5000));
    unsigned restarts = container->restart_count;
    run_for(fixture, 2000);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
    assert_int_equal(container->restart_count, restarts);
}

static void test_user_stop_is_not_restarted(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record stopped = {0};
    json_t *request = shell_request("exec busybox sleep 100");
    json_object_set_new(request, "HostConfig",
                        json_pack("{s:{s:s}}", "RestartPolicy", "Name", "always"));
    _cleanup_free_ char *id = run(fixture, "always-stopped", request);
    assert_true(run_until(fixture, is_running, id, 5000));
    assert_int_equal(
        engine_container_stop(fixture->engine, "always-stopped", 0, on_done, &stopped, &err), 0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    run_for(fixture, 500);
    struct engine_container *container = find(fixture, id);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
    assert_int_equal(container->restart_count, 0);
    /* A start by the user starts it again, and the policy with it. */
    assert_int_equal(engine_container_start(fixture->engine, id, &err), 0);
    assert_false(container->stopped_by_user);
    assert_int_equal(engine_container_kill(fixture->engine, id, NULL, &err), 0);
    assert_true(run_until(fixture, is_exited, id, 5000));
    run_for(fixture, 500);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
}

static bool path_exists(const char *format, const char *a, const char *b)
{
    char path[PATH_MAX];
    struct stat status;
    snprintf(path, sizeof path, format, a, b);
    return lstat(path, &status) == 0;
}

static void test_remove_needs_force(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record removed = {0};
    struct engine_wait *wait;
    _cleanup_free_ char *id = run(fixture, NULL, shell_request("exec busybox sleep 100"));
    assert_true(run_until(fixture, is_running, id, 5000));
    assert_true(path_exists("%s/containers/%s/upper", fixture->store_root, id));
    assert_true(path_exists("%s/%s/container.json", fixture->state_root, id));
    assert_int_equal(
        engine_container_wait(fixture->engine, id, "removed", on_done, &removed, &wait, &err), 0);
    assert_int_equal(engine_container_remove(fixture->engine, id, false, &err), -1);
    assert_int_equal(err.errno_value, EBUSY);
    assert_int_equal(engine_container_remove(fixture->engine, id, true, &err), 0);
    assert_true(is_gone(fixture, id));
    assert_false(path_exists("%s/containers/%s", fixture->store_root, id));
    assert_false(path_exists("%s/%s", fixture->state_root, id));
    assert_true(run_until(fixture, is_done, &removed, 1000));
    assert_int_equal(removed.status, 128 + SIGKILL);
    assert_int_equal(engine_container_remove(fixture->engine, id, true, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_int_equal(strncmp(err.message, "No such container: ", 19), 0);
}

static void test_names(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    char *ids[6];
    for (size_t i = 0; i < 6; i++) {
        ids[i] = create(fixture, NULL, shell_request("true"));
        const char *name = engine_container_name(find(fixture, ids[i]));
        assert_true(engine_name_valid(name));
        assert_non_null(strchr(name, '_'));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, engine_container_name(find(fixture, ids[j])));
        assert_int_equal(strlen(ids[i]), 64);
    }
    _cleanup_free_ char *named = create(fixture, "web", shell_request("true"));
    char *id = NULL;
    json_t *request = shell_request("true");
    assert_int_equal(engine_container_create(fixture->engine, request, "/web", &id, NULL, &err),
                     -1);
    assert_int_equal(err.errno_value, EEXIST);
    assert_non_null(strstr(err.message, "is already in use by container"));
    assert_int_equal(engine_container_create(fixture->engine, request, "-bad", &id, NULL, &err),
                     -1);
    assert_int_equal(err.errno_value, EINVAL);
    json_decref(request);
    request = json_pack("{s:s}", "Image", "no-such-image");
    assert_int_equal(engine_container_create(fixture->engine, request, NULL, &id, NULL, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "No such image: no-such-image");
    json_decref(request);

    /* A request the spec refuses leaves nothing behind. */
    request = shell_request("true");
    json_object_set_new(request, "HostConfig", json_pack("{s:[s]}", "CapAdd", "CAP_FLY"));
    assert_int_equal(engine_container_create(fixture->engine, request, "refused", &id, NULL, &err),
                     -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_non_null(strstr(err.message, "CAP_FLY"));
    json_decref(request);
    assert_null(engine_container_find(fixture->engine, "refused", &err));
    DIR *directory = opendir(fixture->state_root);
    size_t entries = 0;
    while (readdir(directory) != NULL)
        entries++;
    closedir(directory);
    assert_int_equal(entries, 2 + 7); /* ".", ".." and the 7 containers */
    char containers[PATH_MAX + 16];
    snprintf(containers, sizeof containers, "%s/containers", fixture->store_root);
    directory = opendir(containers);
    entries = 0;
    while (readdir(directory) != NULL)
        entries++;
    closedir(directory);
    assert_int_equal(entries, 2 + 7);

    assert_ptr_equal(find(fixture, "web"), find(fixture, named));
    assert_ptr_equal(find(fixture, "/web"), find(fixture, named));
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%s", named);
    assert_ptr_equal(find(fixture, prefix), find(fixture, named));
    assert_null(engine_container_find(fixture->engine, "nosuch", &err));
    assert_int_equal(err.errno_value, ENOENT);
    for (size_t i = 0; i < 6; i++)
        free(ids[i]);
}

static void test_engine_restart_keeps_containers(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    json_t *request = shell_request("echo started; exec busybox sleep 100");
    json_object_set_new(request, "HostConfig",
                        json_pack("{s:{s:s}}", "RestartPolicy", "Name", "always"));
    _cleanup_free_ char *always = run(fixture, "always", request);
    _cleanup_free_ char *stopped = run(fixture, "stopped", shell_request("echo bye; exit 7"));
    request = shell_request("exec busybox sleep 100");
    json_object_set_new(request, "HostConfig", json_pack("{s:b}", "AutoRemove", 1));
    _cleanup_free_ char *doomed = run(fixture, "doomed", request);
    assert_true(run_until(fixture, is_exited, stopped, 5000));
    assert_true(run_until(fixture, is_running, always, 5000));
    run_for(fixture, 300);
    pid_t old_pid = engine_container_pid(find(fixture, always));
    assert_true(old_pid > 0);

    engine_free(fixture->engine);
    /* As after a reboot: the stopped one's rootfs is no longer mounted.
     * And a record that cannot be read is reported, never fatal. */
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/containers/%s/rootfs", fixture->store_root, stopped);
    assert_int_equal(umount2(path, MNT_DETACH), 0);
    snprintf(path, sizeof path, "%s/%064d", fixture->state_root, 0);
    assert_int_equal(mkdir(path, 0700), 0);
    strcat(path, "/container.json");
    assert_int_equal(file_write_atomic(path, "{", 1, 0600, 0, &err), 0);
    engine_start(fixture);
    assert_true(run_until(fixture, is_running, always, 5000));
    run_for(fixture, 100);
    assert_int_equal(fixture->errors, 1);
    /* An AutoRemove one found dead is removed, as its exit would have. */
    assert_true(is_gone(fixture, doomed));
    assert_false(path_exists("%s/%s", fixture->state_root, doomed));
    snprintf(path, sizeof path, "%s/containers/%s/rootfs/bin/busybox", fixture->store_root,
             stopped);
    assert_int_equal(access(path, X_OK), 0);
    /* The previous process was killed with its cgroup: reap it. */
    assert_int_equal(waitpid(old_pid, NULL, 0), old_pid);
    assert_int_not_equal(engine_container_pid(find(fixture, always)), old_pid);
    run_for(fixture, 500);
    _cleanup_free_ char *log = read_log(fixture, always);
    assert_int_equal(count_of(log, "\"started\\n\""), 2);

    struct engine_container *container = find(fixture, stopped);
    assert_int_equal(container->status, ENGINE_CONTAINER_EXITED);
    assert_int_equal(container->exit_code, 7);
    assert_string_equal(engine_container_name(container), "stopped");
    _cleanup_free_ char *stopped_log = read_log(fixture, stopped);
    assert_int_equal(count_of(stopped_log, "\"bye\\n\""), 1);
    /* Its rootfs is still there to start from. */
    assert_int_equal(engine_container_start(fixture->engine, stopped, &err), 0);
    assert_true(run_until(fixture, is_exited, stopped, 5000));
    free(stopped_log);
    stopped_log = read_log(fixture, stopped);
    assert_int_equal(count_of(stopped_log, "\"bye\\n\""), 2);
}

static void test_list_and_inspect_json(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    json_t *request = shell_request("exec busybox sleep 100");
    json_object_set_new(request, "Labels", json_pack("{s:s}", "tier", "front"));
    json_object_set_new(request, "Env", json_pack("[s]", "A=1"));
    _cleanup_free_ char *running = run(fixture, "lister", request);
    _cleanup_free_ char *created = create(fixture, "idle", shell_request("true"));
    assert_true(run_until(fixture, is_running, running, 5000));

    _cleanup_free_ char *text = NULL;
    assert_int_equal(engine_container_list_json(fixture->engine, false, NULL, &text, &err), 0);
    json_t *list = json_loads(text, 0, NULL);
    assert_int_equal(json_array_size(list), 1);
    json_t *item = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(item, "Id")), running);
    assert_string_equal(json_string_value(json_array_get(json_object_get(item, "Names"), 0)),
                        "/lister");
    assert_string_equal(json_string_value(json_object_get(item, "Image")), TEST_IMAGE);
    assert_int_equal(strncmp(json_string_value(json_object_get(item, "ImageID")), "sha256:", 7), 0);
    assert_string_equal(json_string_value(json_object_get(item, "Command")),
                        "sh -c 'exec busybox sleep 100'");
    assert_true(json_is_integer(json_object_get(item, "Created")));
    assert_true(json_is_array(json_object_get(item, "Ports")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(item, "Labels"), "tier")),
                        "front");
    assert_string_equal(json_string_value(json_object_get(json_object_get(item, "Labels"), "from")),
                        "image");
    assert_string_equal(json_string_value(json_object_get(item, "State")), "running");
    assert_int_equal(strncmp(json_string_value(json_object_get(item, "Status")), "Up ", 3), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(item, "HostConfig"), "NetworkMode")),
        "default");
    assert_true(
        json_is_object(json_object_get(json_object_get(item, "NetworkSettings"), "Networks")));
    assert_true(json_is_array(json_object_get(item, "Mounts")));
    json_decref(list);
    free(text);

    struct {
        const char *filters;
        size_t count;
    } cases[] = {
        {"{\"name\":[\"idle\"]}", 1},        {"{\"status\":[\"created\"]}", 1},
        {"{\"label\":[\"tier=front\"]}", 1}, {"{\"label\":[\"tier\"]}", 1},
        {"{\"label\":[\"tier=back\"]}", 0},  {"{\"name\":{\"lister\":true}}", 1},
        {"{\"label\":[\"from\"]}", 2},       {"{\"status\":[\"running\",\"created\"]}", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *filters = json_loads(cases[i].filters, 0, NULL);
        assert_int_equal(engine_container_list_json(fixture->engine, true, filters, &text, &err),
                         0);
        list = json_loads(text, 0, NULL);
        if (json_array_size(list) != cases[i].count)
            fail_msg("filters %s: %zu containers, expected %zu", cases[i].filters,
                     json_array_size(list), cases[i].count);
        json_decref(list);
        json_decref(filters);
        free(text);
    }
    char id_filter[64];
    snprintf(id_filter, sizeof id_filter, "{\"id\":[\"%.12s\"]}", created);
    json_t *filters = json_loads(id_filter, 0, NULL);
    assert_int_equal(engine_container_list_json(fixture->engine, true, filters, &text, &err), 0);
    assert_non_null(strstr(text, created));
    assert_null(strstr(text, running));
    json_decref(filters);
    free(text);
    filters = json_pack("{s:[s]}", "status", "sleeping");
    assert_int_equal(engine_container_list_json(fixture->engine, true, filters, &text, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    json_decref(filters);
    text = NULL;

    json_t *object = inspect(fixture, running);
    json_t *state_object = json_object_get(object, "State");
    json_t *config = json_object_get(object, "Config");
    json_t *host_config = json_object_get(object, "HostConfig");
    assert_string_equal(json_string_value(json_object_get(object, "Id")), running);
    assert_string_equal(json_string_value(json_object_get(object, "Name")), "/lister");
    assert_string_equal(json_string_value(json_object_get(object, "Path")), "sh");
    assert_int_equal(json_array_size(json_object_get(object, "Args")), 2);
    assert_true(json_is_true(json_object_get(state_object, "Running")));
    assert_true(json_integer_value(json_object_get(state_object, "Pid")) > 0);
    assert_string_equal(json_string_value(json_object_get(state_object, "FinishedAt")),
                        "0001-01-01T00:00:00Z");
    assert_int_equal(strncmp(json_string_value(json_object_get(object, "Image")), "sha256:", 7), 0);
    assert_string_equal(json_string_value(json_object_get(config, "Image")), TEST_IMAGE);
    assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 0)),
                        "PATH=/bin");
    assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 1)),
                        "A=1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 0)), "sh");
    assert_int_equal(strlen(json_string_value(json_object_get(config, "Hostname"))), 12);
    assert_int_equal(strncmp(json_string_value(json_object_get(config, "Hostname")), running, 12),
                     0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(host_config, "RestartPolicy"), "Name")),
        "no");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(host_config, "LogConfig"), "Config"), "max-size")),
        "10m");
    assert_int_equal(json_integer_value(json_object_get(object, "RestartCount")), 0);
    assert_non_null(strstr(json_string_value(json_object_get(object, "LogPath")), "-json.log"));
    assert_true(json_is_array(json_object_get(object, "Mounts")));
    assert_true(json_is_object(json_object_get(object, "NetworkSettings")));
    assert_null(json_object_get(object, "Keel"));
    json_decref(object);
}

struct received {
    char out[256];
    char err[256];
    unsigned ends;
    unsigned after_end;
};

static void on_output(enum container_log_stream stream, const void *data, size_t length, void *user)
{
    struct received *received = user;
    if (length == 0) {
        received->ends++;
        return;
    }
    if (received->ends > 0)
        received->after_end++;
    char *target = stream == CONTAINER_LOG_STDOUT ? received->out : received->err;
    strncat(target, data, length < 255 - strlen(target) ? length : 255 - strlen(target));
}

static bool has_ended(struct fixture *fixture, void *data)
{
    (void)fixture;
    return ((struct received *)data)->ends > 0;
}

static void test_subscribe_sees_output_and_end(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct received received = {0}, late = {0};
    struct engine_subscription *subscription;
    _cleanup_free_ char *id =
        run(fixture, NULL, shell_request("busybox sleep 0.3; echo one; echo two >&2"));
    assert_int_equal(
        engine_container_subscribe(fixture->engine, id, on_output, &received, &subscription, &err),
        0);
    assert_true(run_until(fixture, has_ended, &received, 5000));
    assert_string_equal(received.out, "one\n");
    assert_string_equal(received.err, "two\n");
    run_for(fixture, 100);
    assert_int_equal(received.ends, 1);
    assert_int_equal(received.after_end, 0);
    /* A stopped container: the end, from the loop's next turn. */
    assert_int_equal(
        engine_container_subscribe(fixture->engine, id, on_output, &late, &subscription, &err), 0);
    assert_int_equal(late.ends, 0);
    assert_true(run_until(fixture, has_ended, &late, 1000));
    /* Subscribed before the start (docker run attaches first): the run's
     * output, then its end. */
    struct received early = {0}, removed = {0};
    _cleanup_free_ char *third = create(fixture, NULL, shell_request("echo early"));
    assert_int_equal(
        engine_container_subscribe(fixture->engine, third, on_output, &early, &subscription, &err),
        0);
    run_for(fixture, 100);
    assert_int_equal(early.ends, 0);
    assert_int_equal(engine_container_start(fixture->engine, third, &err), 0);
    assert_true(run_until(fixture, has_ended, &early, 5000));
    assert_string_equal(early.out, "early\n");
    /* A created container removed: its subscribers hear the end. */
    _cleanup_free_ char *fourth = create(fixture, NULL, shell_request("true"));
    assert_int_equal(engine_container_subscribe(fixture->engine, fourth, on_output, &removed,
                                                &subscription, &err),
                     0);
    assert_int_equal(engine_container_remove(fixture->engine, fourth, false, &err), 0);
    assert_true(run_until(fixture, has_ended, &removed, 1000));
    /* And a cancelled subscription hears nothing. */
    struct received cancelled = {0};
    _cleanup_free_ char *second = run(fixture, NULL, shell_request("echo x"));
    assert_int_equal(engine_container_subscribe(fixture->engine, second, on_output, &cancelled,
                                                &subscription, &err),
                     0);
    engine_subscription_cancel(subscription);
    assert_true(run_until(fixture, is_exited, second, 5000));
    assert_int_equal(cancelled.ends, 0);
    assert_string_equal(cancelled.out, "");
}

static void test_tty_and_stdin(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    int fd;
    json_t *request = shell_request("echo tty");
    json_object_set_new(request, "Tty", json_true());
    _cleanup_free_ char *tty = run(fixture, NULL, request);
    assert_true(run_until(fixture, is_exited, tty, 5000));
    _cleanup_free_ char *log = read_log(fixture, tty);
    assert_non_null(strstr(log, "\"log\":\"tty\\r\\n\",\"stream\":\"stdout\""));

    request = shell_request("read line; echo got $line");
    json_object_set_new(request, "OpenStdin", json_true());
    _cleanup_free_ char *input = run(fixture, NULL, request);
    assert_int_equal(engine_container_stdin(fixture->engine, input, &fd, &err), 0);
    assert_int_equal(write(fd, "abc\n", 4), 4);
    assert_int_equal(engine_container_close_stdin(fixture->engine, input, &err), 0);
    assert_int_equal(engine_container_stdin(fixture->engine, input, &fd, &err), -1);
    assert_int_equal(err.errno_value, EBADF);
    assert_true(run_until(fixture, is_exited, input, 5000));
    _cleanup_free_ char *input_log = read_log(fixture, input);
    assert_non_null(strstr(input_log, "\"log\":\"got abc\\n\""));
}

static void test_auto_remove(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record removed = {0};
    struct engine_wait *wait;
    json_t *request = shell_request("exit 4");
    json_object_set_new(request, "HostConfig", json_pack("{s:b}", "AutoRemove", 1));
    _cleanup_free_ char *id = create(fixture, NULL, request);
    assert_int_equal(
        engine_container_wait(fixture->engine, id, "removed", on_done, &removed, &wait, &err), 0);
    assert_int_equal(engine_container_start(fixture->engine, id, &err), 0);
    assert_true(run_until(fixture, is_done, &removed, 5000));
    assert_int_equal(removed.status, 4);
    assert_true(is_gone(fixture, id));
    assert_false(path_exists("%s/%s", fixture->state_root, id));

    request = shell_request("true");
    json_object_set_new(
        request, "HostConfig",
        json_pack("{s:b, s:{s:s}}", "AutoRemove", 1, "RestartPolicy", "Name", "always"));
    char *refused = NULL;
    assert_int_equal(engine_container_create(fixture->engine, request, NULL, &refused, NULL, &err),
                     -1);
    assert_int_equal(err.errno_value, EINVAL);
    json_decref(request);
}

static void test_busy_store_never_blocks(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    char path[PATH_MAX + 16];
    _cleanup_free_ char *id = create(fixture, NULL, shell_request("true"));
    /* An image load holds the store's lock for its whole import. */
    snprintf(path, sizeof path, "%s/lock", fixture->store_root);
    int lock = open(path, O_RDWR | O_CLOEXEC);
    assert_true(lock >= 0);
    assert_int_equal(flock(lock, LOCK_EX), 0);
    char *refused = NULL;
    json_t *request = shell_request("true");
    assert_int_equal(engine_container_create(fixture->engine, request, NULL, &refused, NULL, &err),
                     -1);
    assert_int_equal(err.errno_value, EBUSY);
    json_decref(request);
    /* A removal is done but for the rootfs, which goes once the lock is free. */
    assert_int_equal(engine_container_remove(fixture->engine, id, false, &err), 0);
    assert_true(is_gone(fixture, id));
    assert_false(path_exists("%s/%s", fixture->state_root, id));
    run_for(fixture, 1200);
    assert_true(path_exists("%s/containers/%s", fixture->store_root, id));
    close(lock);
    run_for(fixture, 1200);
    assert_false(path_exists("%s/containers/%s", fixture->store_root, id));
    assert_int_equal(fixture->errors, 0);
}

struct event_log {
    char actions[512];
    char die_exit_code[16];
    char kill_signal[16];
};

static void on_event(const char *json, void *user)
{
    struct event_log *log = user;
    json_t *event = json_loads(json, 0, NULL);
    assert_non_null(event);
    const char *action = json_string_value(json_object_get(event, "Action"));
    json_t *attributes = json_object_get(json_object_get(event, "Actor"), "Attributes");
    if (strcmp(json_string_value(json_object_get(event, "Type")), "container") == 0) {
        strcat(log->actions, action);
        strcat(log->actions, " ");
        assert_non_null(json_string_value(json_object_get(attributes, "name")));
        assert_string_equal(json_string_value(json_object_get(attributes, "image")), TEST_IMAGE);
    }
    if (strcmp(action, "die") == 0)
        snprintf(log->die_exit_code, sizeof log->die_exit_code, "%s",
                 json_string_value(json_object_get(attributes, "exitCode")));
    if (strcmp(action, "kill") == 0)
        snprintf(log->kill_signal, sizeof log->kill_signal, "%s",
                 json_string_value(json_object_get(attributes, "signal")));
    json_decref(event);
}

static void test_events(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct event_log log = {0};
    struct engine_event_subscription *subscription;
    struct done_record stopped = {0};
    assert_int_equal(engine_events_subscribe(fixture->engine, on_event, &log, &subscription, &err),
                     0);
    _cleanup_free_ char *id = run(fixture, NULL, shell_request("exit 2"));
    assert_true(run_until(fixture, is_exited, id, 5000));
    assert_int_equal(engine_container_remove(fixture->engine, id, false, &err), 0);
    run_for(fixture, 50);
    assert_string_equal(log.actions, "create start die destroy ");
    assert_string_equal(log.die_exit_code, "2");

    log = (struct event_log){0};
    _cleanup_free_ char *sleeper = run(fixture, NULL, shell_request("exec busybox sleep 100"));
    assert_int_equal(engine_container_stop(fixture->engine, sleeper, 0, on_done, &stopped, &err),
                     0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    assert_string_equal(log.actions, "create start kill die stop ");
    assert_string_equal(log.kill_signal, "9");
    engine_events_cancel(subscription);
}

static void test_init_forwards_the_stop_signal(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    struct done_record stopped = {0};
    char *id = NULL;
    json_t *request = json_pack("{s:s, s:[s, s, s], s:{s:b}}", "Image", TEST_IMAGE, "Cmd",
                                "busybox", "sleep", "100", "HostConfig", "Init", 1);
    /* An engine without a container init refuses Init at once. */
    assert_int_equal(engine_container_create(fixture->engine, request, NULL, &id, NULL, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    /* The build puts it at O/libexec/keel, the tests at O/tests/unit. */
    char self[PATH_MAX], init[PATH_MAX + 64];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(length > 0);
    self[length] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(init, sizeof init, "%s/../../libexec/keel/container-init", self);
    if (access(init, X_OK) != 0) {
        json_decref(request);
        fprintf(stderr, "skipped: no container-init at %s (make builds it)\n", init);
        skip();
    }
    engine_free(fixture->engine);
    fixture->container_init = init;
    engine_start(fixture);
    _cleanup_free_ char *started = run(fixture, NULL, request);
    assert_true(run_until(fixture, is_running, started, 5000));
    run_for(fixture, 200);
    uint64_t begun = now_ms();
    assert_int_equal(engine_container_stop(fixture->engine, started, 10, on_done, &stopped, &err),
                     0);
    assert_true(run_until(fixture, is_done, &stopped, 5000));
    /* The sleep under the init died of the SIGTERM it forwarded. */
    assert_int_equal(stopped.status, 128 + SIGTERM);
    assert_true(now_ms() - begun < 3000);
}

static void on_shutdown(void *data)
{
    *(bool *)data = true;
}

static bool flag_set(struct fixture *fixture, void *data)
{
    (void)fixture;
    return *(bool *)data;
}

static void test_shutdown_stops_and_keeps_policies(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    struct keel_error err;
    bool done = false;
    json_t *request = shell_request("trap '' TERM; busybox sleep 100");
    json_object_set_new(request, "HostConfig",
                        json_pack("{s:{s:s}}", "RestartPolicy", "Name", "unless-stopped"));
    _cleanup_free_ char *stubborn = run(fixture, NULL, request);
    request = json_pack("{s:s, s:[s, s, s], s:{s:s, s:{s:s}}}", "Image", TEST_IMAGE, "Cmd",
                        "busybox", "sleep", "100", "HostConfig", "PidMode", "host", "RestartPolicy",
                        "Name", "always");
    _cleanup_free_ char *polite = run(fixture, NULL, request);
    assert_true(run_until(fixture, is_running, stubborn, 5000));
    assert_true(run_until(fixture, is_running, polite, 5000));
    run_for(fixture, 200);
    uint64_t started = now_ms();
    assert_int_equal(engine_shutdown(fixture->engine, 1, on_shutdown, &done, &err), 0);
    assert_true(run_until(fixture, flag_set, &done, 5000));
    assert_true(now_ms() - started >= 1000);
    assert_int_equal(find(fixture, polite)->exit_code, 128 + SIGTERM);
    assert_int_equal(find(fixture, stubborn)->exit_code, 128 + SIGKILL);
    run_for(fixture, 300);
    assert_int_equal(find(fixture, polite)->status, ENGINE_CONTAINER_EXITED);
    assert_false(find(fixture, stubborn)->stopped_by_user);
    /* The next engine starts both again. */
    engine_free(fixture->engine);
    engine_start(fixture);
    assert_true(run_until(fixture, is_running, stubborn, 5000));
    assert_true(run_until(fixture, is_running, polite, 5000));
    /* Nothing running: done from the loop's next turn. */
    done = false;
    remove_all(fixture);
    assert_int_equal(engine_shutdown(fixture->engine, 1, on_shutdown, &done, &err), 0);
    assert_false(done);
    assert_true(run_until(fixture, flag_set, &done, 1000));
}

static void test_exit_reaped_by_someone_else(void **state)
{
    SKIP_UNLESS_ROOT();
    struct fixture *fixture = *state;
    int status;
    /* PID 1's reaper wins the race and reports the status. */
    _cleanup_free_ char *reported = run(fixture, NULL, shell_request("exit 5"));
    pid_t pid = engine_container_pid(find(fixture, reported));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(engine_handle_exit(fixture->engine, pid, status));
    assert_int_equal(find(fixture, reported)->status, ENGINE_CONTAINER_EXITED);
    assert_int_equal(find(fixture, reported)->exit_code, 5);
    assert_false(engine_handle_exit(fixture->engine, pid, status));
    /* A reaper that never tells: the engine gives up on the status. */
    _cleanup_free_ char *lost = run(fixture, NULL, shell_request("exit 6"));
    pid = engine_container_pid(find(fixture, lost));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(run_until(fixture, is_exited, lost, 5000));
    assert_int_equal(find(fixture, lost)->exit_code, 255);
    assert_int_equal(fixture->errors, 0);
}

static void test_backoff_delays(void **state)
{
    (void)state;
    assert_int_equal(engine_supervise_next_delay(0, 0), 100);
    assert_int_equal(engine_supervise_next_delay(100, 50), 200);
    assert_int_equal(engine_supervise_next_delay(400, 9999), 800);
    assert_int_equal(engine_supervise_next_delay(40000, 0), 60000);
    assert_int_equal(engine_supervise_next_delay(60000, 0), 60000);
    assert_int_equal(engine_supervise_next_delay(60000, 10000), 100);
}

static void test_time_round_trip(void **state)
{
    (void)state;
    char text[64];
    struct timespec time = {.tv_sec = 1700000000, .tv_nsec = 123456789}, back;
    engine_time_format(&time, text, sizeof text);
    assert_string_equal(text, "2023-11-14T22:13:20.123456789Z");
    assert_int_equal(engine_time_parse(text, &back), 0);
    assert_int_equal(back.tv_sec, time.tv_sec);
    assert_int_equal(back.tv_nsec, time.tv_nsec);
    time = (struct timespec){0};
    engine_time_format(&time, text, sizeof text);
    assert_string_equal(text, "0001-01-01T00:00:00Z");
    assert_int_equal(engine_time_parse(text, &back), 0);
    assert_int_equal(back.tv_sec, 0);
    assert_int_equal(engine_time_parse("yesterday", &back), -1);
    assert_int_equal(engine_signal_parse("SIGTERM"), SIGTERM);
    assert_int_equal(engine_signal_parse("kill"), SIGKILL);
    assert_int_equal(engine_signal_parse("10"), 10);
    assert_int_equal(engine_signal_parse("NOPE"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_delays),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test_setup_teardown(test_output_goes_to_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_code_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_kills_after_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_with_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_on_failure_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_always_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_stop_is_not_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_needs_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_restart_keeps_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_inspect_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_sees_output_and_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty_and_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_store_never_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_forwards_the_stop_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_stops_and_keeps_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_reaped_by_someone_else, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
