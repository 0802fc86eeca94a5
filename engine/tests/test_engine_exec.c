/* test_engine_exec.c — exec in a running container: output and exit code, env/cwd/user, stdin, tty,
 * refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "engine_internal.h"
#include "image_import.h"
#include "loop.h"
#include "store.h"
#include "support/tar_buffer.h"

/* The payload: the host's static busybox, as sh, cat, id, ... */
#define BUSYBOX "/bin/busybox"

/* ---- an image holding busybox, made with libarchive's writer ---- */

/* type: 'd' directory, 'f' file, 'l' symlink (target in data). */
static void tar_add(struct archive *archive, char type, const char *name, const void *data,
                    size_t length, mode_t mode)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_filetype(entry, type == 'd' ? AE_IFDIR : type == 'l' ? AE_IFLNK : AE_IFREG);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_size(entry, type == 'f' ? (la_int64_t)length : 0);
    if (type == 'l')
        archive_entry_set_symlink(entry, data);
    assert_int_equal(archive_write_header(archive, entry), ARCHIVE_OK);
    if (type == 'f' && length > 0)
        assert_int_equal(archive_write_data(archive, data, length), (la_ssize_t)length);
    archive_entry_free(entry);
}

static void tar_add_text(struct archive *archive, const char *name, const char *text)
{
    tar_add(archive, 'f', name, text, strlen(text), 0644);
}

static void busybox_archive_make(struct buffer *output)
{
    static const char *const applets[] = {"sh", "cat", "id", "pwd", "sleep", "tty", "echo", "env"};
    struct buffer layer = {0}, binary = {0};
    struct digest diff_id, config_digest;
    char buffer[65536], *config, config_name[80], manifest[256];
    ssize_t got;

    int fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    while ((got = read(fd, buffer, sizeof buffer)) > 0)
        buffer_append(&binary, buffer, (size_t)got);
    close(fd);

    struct archive *archive = tar_open(&layer);
    tar_add(archive, 'd', "bin", NULL, 0, 0755);
    tar_add(archive, 'f', "bin/busybox", binary.data, binary.length, 0755);
    for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "bin/%s", applets[i]);
        tar_add(archive, 'l', path, "busybox", 0, 0777);
    }
    tar_add(archive, 'd', "etc", NULL, 0, 0755);
    tar_add_text(archive, "etc/passwd",
                 "root:x:0:0:root:/root:/bin/sh\ntester:x:1234:1234::/home/tester:/bin/sh\n");
    tar_add_text(archive, "etc/group", "root:x:0:\ntester:x:1234:\nextra:x:555:tester\n");
    tar_add(archive, 'd', "home", NULL, 0, 0755);
    tar_add(archive, 'd', "home/tester", NULL, 0, 0755);
    tar_add(archive, 'd', "root", NULL, 0, 0700);
    tar_add(archive, 'd', "tmp", NULL, 0, 01777);
    assert_int_equal(archive_write_close(archive), ARCHIVE_OK);
    archive_write_free(archive);
    free(binary.data);
    digest_of_bytes(layer.data, layer.length, &diff_id);

    assert_true(
        asprintf(
            &config,
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
            "\"config\":{\"Env\":[\"PATH=/bin\",\"FROM_IMAGE=1\"],\"Cmd\":[\"sleep\",\"1000\"]},"
            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
            diff_id.text) > 0);
    digest_of_bytes(config, strlen(config), &config_digest);
    snprintf(config_name, sizeof config_name, "%s.json", digest_hex(&config_digest));
    snprintf(manifest, sizeof manifest,
             "[{\"Config\":\"%s\",\"RepoTags\":[\"bb:latest\"],\"Layers\":[\"l.tar\"]}]",
             config_name);
    archive = tar_open(output);
    tar_add(archive, 'f', "l.tar", layer.data, layer.length, 0644);
    tar_add_text(archive, config_name, config);
    tar_add_text(archive, "manifest.json", manifest);
    assert_int_equal(archive_write_close(archive), ARCHIVE_OK);
    archive_write_free(archive);
    free(config);
    free(layer.data);
}

/* ---- a scratch engine with one running container ---- */

struct scratch {
    char base[PATH_MAX - 64];
    char store[PATH_MAX], state[PATH_MAX], runtime[PATH_MAX], cgroup_parent[64];
    struct loop *loop;
    struct engine *engine;
    char *container_id;
};

static int scratch_remove_one(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    return remove(path);
}

static void scratch_import(struct scratch *scratch)
{
    struct buffer archive = {0};
    struct store store;
    struct image_import_result result;
    struct keel_error err = {0};
    char path[PATH_MAX + 16];

    busybox_archive_make(&archive);
    snprintf(path, sizeof path, "%s/bb.tar", scratch->base);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, archive.data, archive.length), (ssize_t)archive.length);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    free(archive.data);
    if (store_open(&store, scratch->store, NULL, 0, &err) < 0 ||
        image_import(&store, fd, &(struct image_import_options){0}, &result, &err) < 0)
        fail_msg("import: %s", err.message);
    image_import_result_free(&result);
    store_close(&store);
    close(fd);
}

static void run_turns(struct scratch *scratch, int turns)
{
    struct keel_error err = {0};
    for (int turn = 0; turn < turns; turn++)
        assert_int_equal(loop_run_once(scratch->loop, 10, &err), 0);
}

static int scratch_setup(void **state)
{
    struct keel_error err = {0};
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

    if (geteuid() != 0 || access(BUSYBOX, X_OK) != 0) {
        *state = NULL;
        return 0;
    }
    struct scratch *scratch = calloc(1, sizeof *scratch);
    assert_non_null(scratch);
    snprintf(scratch->base, sizeof scratch->base, "%s/test_engine_exec.XXXXXX", tmp);
    assert_non_null(mkdtemp(scratch->base));
    snprintf(scratch->store, sizeof scratch->store, "%s/store", scratch->base);
    snprintf(scratch->state, sizeof scratch->state, "%s/state", scratch->base);
    snprintf(scratch->runtime, sizeof scratch->runtime, "%s/run", scratch->base);
    snprintf(scratch->cgroup_parent, sizeof scratch->cgroup_parent, "keel-test-exec-%d",
             (int)getpid());
    scratch_import(scratch);

    struct engine_options options = {
        .name = "keel-test",
        .store_root = scratch->store,
        .state_root = scratch->state,
        .runtime_root = scratch->runtime,
        .cgroup_parent = scratch->cgroup_parent,
    };
    if (loop_new(&scratch->loop, &err) < 0 ||
        engine_new(scratch->loop, &options, &scratch->engine, &err) < 0)
        fail_msg("engine: %s", err.message);
    json_t *request =
        json_pack("{s:s, s:{s:s}}", "Image", "bb", "HostConfig", "NetworkMode", "none");
    if (engine_container_create(scratch->engine, request, "exec-test", &scratch->container_id, NULL,
                                &err) < 0 ||
        engine_container_start(scratch->engine, scratch->container_id, &err) < 0)
        fail_msg("container: %s", err.message);
    json_decref(request);
    *state = scratch;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *scratch = *state;
    struct keel_error err = {0};
    char cgroup[PATH_MAX];

    if (scratch == NULL)
        return 0;
    if (engine_container_remove(scratch->engine, scratch->container_id, true, &err) < 0)
        print_error("remove: %s\n", err.message);
    run_turns(scratch, 5);
    engine_free(scratch->engine);
    loop_free(scratch->loop);
    /* The engine's cgroup parent, on a unified or a hybrid hierarchy. */
    snprintf(cgroup, sizeof cgroup, "/sys/fs/cgroup/%s", scratch->cgroup_parent);
    rmdir(cgroup);
    snprintf(cgroup, sizeof cgroup, "/sys/fs/cgroup/unified/%s", scratch->cgroup_parent);
    rmdir(cgroup);
    nftw(scratch->base, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(scratch->container_id);
    free(scratch);
    return 0;
}

static struct scratch *scratch_or_skip(void **state)
{
    if (*state == NULL) {
        print_message("skipped: exec runs a container: it needs root and " BUSYBOX "\n");
        skip();
    }
    return *state;
}

/* ---- an exec's output, as the API receives it ---- */

struct output {
    struct buffer streams[3]; /* by enum container_log_stream */
    bool ended;
};

static void output_on_data(enum container_log_stream stream, const void *data, size_t length,
                           void *user)
{
    struct output *output = user;
    assert_false(output->ended);
    if (length == 0) {
        output->ended = true;
        return;
    }
    assert_true(stream == CONTAINER_LOG_STDOUT || stream == CONTAINER_LOG_STDERR);
    buffer_append(&output->streams[stream], data, length);
}

static const char *output_text(struct output *output, enum container_log_stream stream)
{
    buffer_append(&output->streams[stream], "", 1);
    output->streams[stream].length--;
    return (const char *)output->streams[stream].data;
}

static void output_free(struct output *output)
{
    for (size_t i = 0; i < 3; i++)
        free(output->streams[i].data);
}

static void run_until_ended(struct scratch *scratch, struct output *output)
{
    struct keel_error err = {0};
    for (int turn = 0; turn < 1000 && !output->ended; turn++)
        assert_int_equal(loop_run_once(scratch->loop, 10, &err), 0);
    assert_true(output->ended);
}

static char *exec_create(struct scratch *scratch, const char *request_text)
{
    struct keel_error err = {0};
    char *exec_id = NULL;
    json_t *request = json_loads(request_text, 0, NULL);
    assert_non_null(request);
    if (engine_exec_create(scratch->engine, "exec-test", request, &exec_id, &err) < 0)
        fail_msg("exec create: %s", err.message);
    json_decref(request);
    assert_int_equal(strlen(exec_id), 64);
    return exec_id;
}

static json_t *exec_inspect(struct scratch *scratch, const char *exec_id)
{
    struct keel_error err = {0};
    char *json = NULL;
    if (engine_exec_inspect_json(scratch->engine, exec_id, &json, &err) < 0)
        fail_msg("exec inspect: %s", err.message);
    json_t *inspect = json_loads(json, 0, NULL);
    free(json);
    assert_non_null(inspect);
    return inspect;
}

/* Run an attached exec to its end; *stdin_fd gets its stdin when asked. */
static void exec_run(struct scratch *scratch, const char *exec_id, struct output *output,
                     const char *input)
{
    struct keel_error err = {0};
    int stdin_fd = -1;
    if (engine_exec_start(scratch->engine, exec_id, false, output_on_data, output, &stdin_fd,
                          &err) < 0)
        fail_msg("exec start: %s", err.message);
    if (input != NULL) {
        assert_true(stdin_fd >= 0);
        assert_int_equal(write(stdin_fd, input, strlen(input)), (ssize_t)strlen(input));
    }
    if (stdin_fd >= 0)
        close(stdin_fd);
    run_until_ended(scratch, output);
}

struct event_log {
    char text[4096];
};

static void event_log_on_event(const char *json, void *user)
{
    struct event_log *log = user;
    strncat(log->text, json, sizeof log->text - strlen(log->text) - 2);
    strcat(log->text, "\n");
}

/* ---- tests ---- */

static void test_exec_output_and_exit_code(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct output output = {0};
    struct event_log events = {0};
    struct engine_event_subscription *subscription;
    struct keel_error err = {0};

    assert_int_equal(
        engine_events_subscribe(scratch->engine, event_log_on_event, &events, &subscription, &err),
        0);
    char *exec_id =
        exec_create(scratch, "{\"Cmd\":[\"sh\",\"-c\",\"echo out; echo err >&2; exit 3\"],"
                             "\"AttachStdout\":true,\"AttachStderr\":true}");
    json_t *inspect = exec_inspect(scratch, exec_id);
    assert_true(json_is_null(json_object_get(inspect, "ExitCode")));
    assert_true(json_is_false(json_object_get(inspect, "Running")));
    assert_string_equal(json_string_value(json_object_get(inspect, "ContainerID")),
                        scratch->container_id);
    json_t *process = json_object_get(inspect, "ProcessConfig");
    assert_string_equal(json_string_value(json_object_get(process, "entrypoint")), "sh");
    assert_int_equal(json_array_size(json_object_get(process, "arguments")), 2);
    json_decref(inspect);

    exec_run(scratch, exec_id, &output, NULL);
    assert_string_equal(output_text(&output, CONTAINER_LOG_STDOUT), "out\n");
    assert_string_equal(output_text(&output, CONTAINER_LOG_STDERR), "err\n");
    inspect = exec_inspect(scratch, exec_id);
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 3);
    assert_true(json_is_false(json_object_get(inspect, "Running")));
    assert_true(json_integer_value(json_object_get(inspect, "Pid")) > 0);
    json_decref(inspect);

    /* Docker's actions, the exec's id in the attributes. */
    assert_non_null(
        strstr(events.text, "\"Action\":\"exec_create: sh -c echo out; echo err >&2; exit 3\""));
    assert_non_null(
        strstr(events.text, "\"Action\":\"exec_start: sh -c echo out; echo err >&2; exit 3\""));
    assert_non_null(strstr(events.text, "\"Action\":\"exec_die\""));
    assert_non_null(strstr(events.text, "\"exitCode\":\"3\""));
    assert_non_null(strstr(events.text, exec_id));

    /* Once only. */
    assert_int_equal(
        engine_exec_start(scratch->engine, exec_id, false, output_on_data, &output, NULL, &err),
        -1);
    assert_int_equal(err.errno_value, EBUSY);
    assert_non_null(strstr(err.message, "has already run"));
    engine_events_cancel(subscription);
    output_free(&output);
    free(exec_id);
}

static void test_exec_env_working_dir_and_user(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct output output = {0};

    char *exec_id = exec_create(
        scratch, "{\"Cmd\":[\"sh\",\"-c\",\"echo $FOO $FROM_IMAGE $(pwd) $(id -u):$(id -g) "
                 "$(id -G) $HOME\"],\"Env\":[\"FOO=bar\"],\"WorkingDir\":\"/tmp\","
                 "\"User\":\"tester\",\"AttachStdout\":true}");
    exec_run(scratch, exec_id, &output, NULL);
    assert_string_equal(output_text(&output, CONTAINER_LOG_STDOUT),
                        "bar 1 /tmp 1234:1234 1234 555 /home/tester\n");
    output_free(&output);
    free(exec_id);

    output = (struct output){0};
    exec_id = exec_create(
        scratch, "{\"Cmd\":[\"sh\",\"-c\",\"id -u; echo ${FROM_IMAGE-unset}\"],\"User\":\"7:8\","
                 "\"Env\":[\"FROM_IMAGE\"],\"AttachStdout\":true}");
    exec_run(scratch, exec_id, &output, NULL);
    assert_string_equal(output_text(&output, CONTAINER_LOG_STDOUT), "7\nunset\n");
    output_free(&output);
    free(exec_id);
}

static void test_exec_stdin(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct output output = {0};

    char *exec_id =
        exec_create(scratch, "{\"Cmd\":[\"cat\"],\"AttachStdin\":true,\"AttachStdout\":true}");
    exec_run(scratch, exec_id, &output, "hello through stdin\n");
    assert_string_equal(output_text(&output, CONTAINER_LOG_STDOUT), "hello through stdin\n");
    json_t *inspect = exec_inspect(scratch, exec_id);
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 0);
    assert_true(json_is_true(json_object_get(inspect, "OpenStdin")));
    json_decref(inspect);
    output_free(&output);
    free(exec_id);
}

static void test_exec_tty(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct output output = {0};

    char *exec_id =
        exec_create(scratch, "{\"Cmd\":[\"sh\",\"-c\",\"tty; echo $TERM; exit 4\"],\"Tty\":true,"
                             "\"AttachStdout\":true}");
    exec_run(scratch, exec_id, &output, NULL);
    /* One stream, the pty's line discipline turning \n into \r\n. */
    const char *text = output_text(&output, CONTAINER_LOG_STDOUT);
    assert_non_null(strstr(text, "/dev/pts/"));
    assert_non_null(strstr(text, "xterm\r\n"));
    assert_int_equal(output.streams[CONTAINER_LOG_STDERR].length, 0);
    json_t *inspect = exec_inspect(scratch, exec_id);
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 4);
    json_decref(inspect);
    output_free(&output);
    free(exec_id);
}

static void test_exec_detached(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct keel_error err = {0};
    int stdin_fd = 99;

    char *exec_id = exec_create(
        scratch, "{\"Cmd\":[\"sh\",\"-c\",\"echo ignored; exit 7\"],\"AttachStdin\":true,"
                 "\"AttachStdout\":true}");
    assert_int_equal(engine_exec_start(scratch->engine, exec_id, true, NULL, NULL, &stdin_fd, &err),
                     0);
    assert_int_equal(stdin_fd, -1);
    json_t *inspect = NULL;
    for (int turn = 0; turn < 500; turn++) {
        run_turns(scratch, 1);
        json_decref(inspect);
        inspect = exec_inspect(scratch, exec_id);
        if (!json_is_null(json_object_get(inspect, "ExitCode")))
            break;
    }
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 7);
    json_decref(inspect);
    free(exec_id);
}

/* PID 1 or the daemon's reaper wins the race for the process: the status
 * comes through engine_handle_exit. */
static void test_exec_reaped_by_someone_else(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct output output = {0};
    struct keel_error err = {0};
    siginfo_t info = {0};

    char *exec_id =
        exec_create(scratch, "{\"Cmd\":[\"sh\",\"-c\",\"exit 5\"],\"AttachStdout\":true}");
    assert_int_equal(
        engine_exec_start(scratch->engine, exec_id, false, output_on_data, &output, NULL, &err), 0);
    json_t *inspect = exec_inspect(scratch, exec_id);
    pid_t pid = (pid_t)json_integer_value(json_object_get(inspect, "Pid"));
    json_decref(inspect);
    assert_true(pid > 0);
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED), 0);
    /* The engine's own wait finds nothing left to reap. */
    run_turns(scratch, 5);
    assert_false(output.ended);
    assert_false(engine_handle_exit(scratch->engine, pid + 100000, 0));
    assert_true(engine_handle_exit(scratch->engine, pid, 5 << 8));
    run_until_ended(scratch, &output);
    inspect = exec_inspect(scratch, exec_id);
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 5);
    json_decref(inspect);
    output_free(&output);
    free(exec_id);
}

static void test_exec_refusals(void **state)
{
    struct scratch *scratch = scratch_or_skip(state);
    struct keel_error err = {0};
    char *exec_id = NULL, *json = NULL;
    json_t *request;

    request = json_pack("{s:[]}", "Cmd");
    assert_int_equal(engine_exec_create(scratch->engine, "exec-test", request, &exec_id, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_string_equal(err.message, "No exec command specified");
    json_decref(request);

    request = json_pack("{s:[s], s:s}", "Cmd", "pwd", "WorkingDir", "tmp");
    assert_int_equal(engine_exec_create(scratch->engine, "exec-test", request, &exec_id, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    json_decref(request);

    request = json_pack("{s:s}", "Cmd", "not an array");
    assert_int_equal(engine_exec_create(scratch->engine, "exec-test", request, &exec_id, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_non_null(strstr(err.message, "Cmd"));
    json_decref(request);

    request = json_pack("{s:[s]}", "Cmd", "true");
    assert_int_equal(
        engine_exec_create(scratch->engine, "no-such-container", request, &exec_id, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);

    assert_int_equal(engine_exec_inspect_json(scratch->engine, "feedface", &json, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "No such exec instance: feedface");

    /* A user the container does not know, at start. */
    exec_id = exec_create(scratch, "{\"Cmd\":[\"true\"],\"User\":\"nobody-here\"}");
    assert_int_equal(
        engine_exec_start(scratch->engine, exec_id, false, output_on_data, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "nobody-here"));
    free(exec_id);

    /* An exec running when the container dies ends with it; one made while
     * it ran cannot start after. */
    struct output output = {0};
    char *running_id = exec_create(scratch, "{\"Cmd\":[\"sleep\",\"1000\"],\"AttachStdout\":true}");
    assert_int_equal(
        engine_exec_start(scratch->engine, running_id, false, output_on_data, &output, NULL, &err),
        0);
    exec_id = exec_create(scratch, "{\"Cmd\":[\"true\"]}");
    bool stopped = false;
    assert_int_equal(engine_container_kill(scratch->engine, "exec-test", "KILL", &err), 0);
    for (int turn = 0; turn < 500 && !stopped; turn++) {
        run_turns(scratch, 1);
        json_t *inspect = exec_inspect(scratch, exec_id);
        json_decref(inspect);
        char *container = NULL;
        assert_int_equal(
            engine_container_inspect_json(scratch->engine, "exec-test", &container, &err), 0);
        stopped = strstr(container, "\"Running\":false") != NULL;
        free(container);
    }
    assert_true(stopped);
    run_until_ended(scratch, &output);
    json_t *inspect = exec_inspect(scratch, running_id);
    assert_int_equal(json_integer_value(json_object_get(inspect, "ExitCode")), 128 + SIGKILL);
    json_decref(inspect);
    output_free(&output);
    free(running_id);
    assert_int_equal(
        engine_exec_start(scratch->engine, exec_id, false, output_on_data, NULL, NULL, &err), -1);
    assert_int_equal(err.errno_value, EBUSY);
    assert_non_null(strstr(err.message, "is not running"));
    assert_int_equal(engine_exec_create(scratch->engine, "exec-test", request, &json, &err), -1);
    assert_int_equal(err.errno_value, EBUSY);
    json_decref(request);
    free(exec_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_output_and_exit_code),
        cmocka_unit_test(test_exec_env_working_dir_and_user),
        cmocka_unit_test(test_exec_stdin),
        cmocka_unit_test(test_exec_tty),
        cmocka_unit_test(test_exec_detached),
        cmocka_unit_test(test_exec_reaped_by_someone_else),
        cmocka_unit_test(test_exec_refusals),
    };
    /* One container for the group; the refusals test stops it last. */
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
