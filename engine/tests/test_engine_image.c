/* test_engine_image.c — the engine's images (list, inspect, remove, load in a thread) and its info,
 * over a scratch store. */
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
#include <sys/epoll.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "digest.h"
#include "engine_internal.h"
#include "image.h"
#include "loop.h"
#include "store.h"
#include "support/tar_buffer.h"

/* ---- stand-ins for engine_container*.c ----
 * Weak: this test links without the container side; where the container
 * side is linked too, its definitions win and nothing clashes. */

struct engine_container {
    const char *id;
    const char *image_id;
    bool running;
    struct engine_container *next;
};

static struct engine_container *test_containers;

__attribute__((weak)) struct engine_container *
engine_container_next(struct engine *engine, const struct engine_container *previous)
{
    (void)engine;
    return previous != NULL ? previous->next : test_containers;
}

__attribute__((weak)) const char *engine_container_id(const struct engine_container *container)
{
    return container->id;
}

__attribute__((weak)) const char *
engine_container_image_id(const struct engine_container *container)
{
    return container->image_id;
}

__attribute__((weak)) bool engine_container_is_running(const struct engine_container *container)
{
    return container->running;
}

__attribute__((weak)) bool engine_image_in_use(struct engine *engine, const char *image_id)
{
    (void)engine;
    for (struct engine_container *container = test_containers; container != NULL;
         container = container->next)
        if (strcmp(container->image_id, image_id) == 0)
            return true;
    return false;
}

/* ---- archives made with libarchive's writer ---- */

static void tar_add(struct archive *archive, bool directory, const char *name, const void *data,
                    size_t length)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_filetype(entry, directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, directory ? 0755 : 0644);
    archive_entry_set_size(entry, directory ? 0 : (la_int64_t)length);
    assert_int_equal(archive_write_header(archive, entry), ARCHIVE_OK);
    if (!directory && length > 0)
        assert_int_equal(archive_write_data(archive, data, length), (la_ssize_t)length);
    archive_entry_free(entry);
}

struct test_image {
    struct buffer archive;
    struct digest id; /* the config's digest */
};

/* A docker-archive (docker save's layout) of one image named repo_tags (a
 * JSON array), created at created, with one layer holding etc/data of
 * data_size bytes (seed varies the content). */
static void test_image_make(struct test_image *image, const char *repo_tags, const char *created,
                            size_t data_size, unsigned seed)
{
    struct buffer layer = {0};
    struct digest diff_id;
    char *config, config_name[80], manifest[512];

    unsigned char *data = malloc(data_size + 1);
    assert_non_null(data);
    for (size_t i = 0; i < data_size; i++)
        data[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
    struct archive *archive = tar_open(&layer);
    tar_add(archive, true, "etc", NULL, 0);
    tar_add(archive, false, "etc/data", data, data_size);
    tar_close(archive);
    free(data);
    digest_of_bytes(layer.data, layer.length, &diff_id);

    assert_true(asprintf(&config,
                         "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"%s\","
                         "\"config\":{\"Cmd\":[\"sh\"],\"Labels\":{\"seed\":\"%u\"}},"
                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                         created, seed, diff_id.text) > 0);
    digest_of_bytes(config, strlen(config), &image->id);
    snprintf(config_name, sizeof config_name, "%s.json", digest_hex(&image->id));
    snprintf(manifest, sizeof manifest,
             "[{\"Config\":\"%s\",\"RepoTags\":%s,\"Layers\":[\"layer/layer.tar\"]}]", config_name,
             repo_tags);

    image->archive = (struct buffer){0};
    archive = tar_open(&image->archive);
    tar_add(archive, true, "layer", NULL, 0);
    tar_add(archive, false, "layer/layer.tar", layer.data, layer.length);
    tar_add(archive, false, config_name, config, strlen(config));
    tar_add(archive, false, "manifest.json", manifest, strlen(manifest));
    tar_close(archive);
    free(config);
    buffer_free(&layer);
}

/* ---- a scratch engine: a loop and a store, no containers ---- */

struct scratch {
    char base[PATH_MAX - 64];
    char root[PATH_MAX];
    struct loop *loop;
    struct engine engine;
};

static int scratch_remove_one(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    return remove(path);
}

static int scratch_setup(void **state)
{
    struct scratch *scratch = calloc(1, sizeof *scratch);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    struct keel_error err = {0};

    if (scratch == NULL)
        return -1;
    snprintf(scratch->base, sizeof scratch->base, "%s/test_engine_image.XXXXXX", tmp);
    if (mkdtemp(scratch->base) == NULL)
        return -1;
    snprintf(scratch->root, sizeof scratch->root, "%s/store", scratch->base);
    if (loop_new(&scratch->loop, &err) < 0 ||
        store_open(&scratch->engine.store, scratch->root, NULL, 0, &err) < 0) {
        print_error("setup: %s\n", err.message);
        return -1;
    }
    scratch->engine.loop = scratch->loop;
    scratch->engine.options.name = "keel";
    scratch->engine.options.store_root = scratch->root;
    test_containers = NULL;
    *state = scratch;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *scratch = *state;
    engine_image_loads_free(&scratch->engine);
    engine_events_free_all(&scratch->engine);
    store_close(&scratch->engine.store);
    loop_free(scratch->loop);
    nftw(scratch->base, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(scratch);
    return 0;
}

static bool skip_unless_root(void)
{
    if (geteuid() != 0) {
        print_message("skipped: importing an image unpacks its layers, which needs root\n");
        return true;
    }
    return false;
}

/* ---- loads, as the API drives them ---- */

struct load_watch {
    bool done;
    char *names[4];
    size_t name_count;
    char error[KEEL_ERROR_MESSAGE_MAX];
    size_t progress_calls;
    uint64_t last_bytes;
};

static void load_on_progress(uint64_t bytes_read, void *data)
{
    struct load_watch *watch = data;
    assert_true(bytes_read >= watch->last_bytes);
    watch->progress_calls++;
    watch->last_bytes = bytes_read;
}

static void load_on_done(const char *const *loaded, const struct keel_error *err, void *data)
{
    struct load_watch *watch = data;
    assert_false(watch->done);
    watch->done = true;
    if (err != NULL) {
        assert_null(loaded);
        snprintf(watch->error, sizeof watch->error, "%s", err->message);
        return;
    }
    for (size_t i = 0; loaded[i] != NULL; i++) {
        assert_true(i < 4);
        watch->names[watch->name_count++] = strdup(loaded[i]);
    }
}

static void load_watch_free(struct load_watch *watch)
{
    for (size_t i = 0; i < watch->name_count; i++)
        free(watch->names[i]);
}

static void run_until_done(struct scratch *scratch, struct load_watch *watch)
{
    struct keel_error err = {0};
    for (int turn = 0; turn < 3000 && !watch->done; turn++)
        assert_int_equal(loop_run_once(scratch->loop, 10, &err), 0);
    assert_true(watch->done);
}

/* A writer feeding a pipe from the loop, as the API fills it from a body. */
struct feeder {
    struct loop *loop;
    int fd;
    const struct buffer *data;
    size_t offset;
    size_t stop_at; /* close at the end of data, or stop writing here and keep the pipe open */
};

static int feeder_on_writable(struct loop *loop, int fd, uint32_t events, void *user,
                              struct keel_error *err)
{
    struct feeder *feeder = user;
    (void)events;
    while (feeder->offset < feeder->stop_at) {
        ssize_t written =
            write(fd, feeder->data->data + feeder->offset, feeder->stop_at - feeder->offset);
        if (written < 0) {
            assert_int_equal(errno, EAGAIN);
            return 0;
        }
        feeder->offset += (size_t)written;
    }
    loop_remove_fd(loop, fd, err);
    if (feeder->stop_at == feeder->data->length) {
        close(fd);
        feeder->fd = -1;
    }
    return 0;
}

/* Start a load reading a pipe the loop fills with data (up to stop_at). */
static void load_start_pipe(struct scratch *scratch, struct feeder *feeder,
                            const struct buffer *data, size_t stop_at, struct load_watch *watch)
{
    int fds[2];
    struct keel_error err = {0};

    assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    *feeder =
        (struct feeder){.loop = scratch->loop, .fd = fds[1], .data = data, .stop_at = stop_at};
    assert_int_equal(loop_add_fd(scratch->loop, fds[1], EPOLLOUT, feeder_on_writable, feeder, &err),
                     0);
    if (engine_image_load(&scratch->engine, fds[0], load_on_progress, load_on_done, watch, &err) <
        0)
        fail_msg("engine_image_load: %s", err.message);
}

static void load_image(struct scratch *scratch, const struct test_image *image)
{
    struct feeder feeder;
    struct load_watch watch = {0};
    load_start_pipe(scratch, &feeder, &image->archive, image->archive.length, &watch);
    run_until_done(scratch, &watch);
    if (watch.error[0] != '\0')
        fail_msg("load: %s", watch.error);
    load_watch_free(&watch);
}

/* ---- events, recorded ---- */

struct recorder {
    char actions[8][64];
    char names[8][128];
    size_t count;
};

static void recorder_on_event(const char *json, void *user)
{
    struct recorder *recorder = user;
    json_t *event = json_loads(json, 0, NULL);
    assert_non_null(event);
    assert_true(recorder->count < 8);
    assert_string_equal(json_string_value(json_object_get(event, "Type")), "image");
    snprintf(recorder->actions[recorder->count], 64, "%s",
             json_string_value(json_object_get(event, "Action")));
    json_t *attributes = json_object_get(json_object_get(event, "Actor"), "Attributes");
    snprintf(recorder->names[recorder->count], 128, "%s",
             json_string_value(json_object_get(attributes, "name")));
    recorder->count++;
    json_decref(event);
}

/* ---- tests ---- */

static void test_load_through_a_pipe_lists_and_inspects(void **state)
{
    struct scratch *scratch = *state;
    struct test_image older, newer;
    struct feeder feeder;
    struct load_watch watch = {0};
    struct recorder recorder = {0};
    struct engine_event_subscription *subscription;
    struct keel_error err = {0};
    char *json = NULL;

    if (skip_unless_root())
        skip();
    test_image_make(&older, "[\"older:1\"]", "2020-01-01T00:00:00Z", 100, 1);
    /* Bigger than a pipe's buffer: the relay waits for room, then input. */
    test_image_make(&newer, "[\"newer:latest\"]", "2024-05-06T07:08:09.5Z", 1 << 20, 2);
    load_image(scratch, &older);
    assert_int_equal(engine_events_subscribe(&scratch->engine, recorder_on_event, &recorder,
                                             &subscription, &err),
                     0);

    load_start_pipe(scratch, &feeder, &newer.archive, newer.archive.length, &watch);
    assert_true(engine_image_loading(&scratch->engine));
    run_until_done(scratch, &watch);
    assert_false(engine_image_loading(&scratch->engine));
    assert_string_equal(watch.error, "");
    assert_int_equal(watch.name_count, 1);
    assert_string_equal(watch.names[0], "newer:latest");
    assert_true(watch.progress_calls >= 1);
    assert_int_equal(watch.last_bytes, newer.archive.length);
    assert_int_equal(feeder.fd, -1);
    assert_int_equal(recorder.count, 1);
    assert_string_equal(recorder.actions[0], "load");
    assert_string_equal(recorder.names[0], "newer:latest");
    load_watch_free(&watch);

    /* Newest first, Docker's summary fields. */
    if (engine_image_list_json(&scratch->engine, false, &json, &err) < 0)
        fail_msg("list: %s", err.message);
    json_t *list = json_loads(json, 0, NULL);
    free(json);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "Id")), newer.id.text);
    assert_string_equal(json_string_value(json_array_get(json_object_get(first, "RepoTags"), 0)),
                        "newer:latest");
    assert_int_equal(json_integer_value(json_object_get(first, "Created")), 1714979289);
    assert_true(json_integer_value(json_object_get(first, "Size")) > 1 << 20);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "Labels"), "seed")), "2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "Id")),
                        older.id.text);
    json_decref(list);

    /* By name, by short id; an unknown one in Docker's words. */
    if (engine_image_inspect_json(&scratch->engine, "older:1", &json, &err) < 0)
        fail_msg("inspect: %s", err.message);
    json_t *inspect = json_loads(json, 0, NULL);
    free(json);
    assert_string_equal(json_string_value(json_object_get(inspect, "Id")), older.id.text);
    assert_string_equal(json_string_value(json_object_get(inspect, "Os")), "linux");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(inspect, "RootFS"), "Type")), "layers");
    json_decref(inspect);
    char short_id[13];
    snprintf(short_id, sizeof short_id, "%.12s", digest_hex(&newer.id));
    assert_int_equal(engine_image_inspect_json(&scratch->engine, short_id, &json, &err), 0);
    assert_non_null(strstr(json, newer.id.text));
    free(json);
    assert_int_equal(engine_image_inspect_json(&scratch->engine, "nope", &json, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "No such image: nope");

    engine_events_cancel(subscription);
    buffer_free(&older.archive);
    buffer_free(&newer.archive);
}

static void test_load_from_a_regular_file(void **state)
{
    struct scratch *scratch = *state;
    struct test_image image;
    struct load_watch watch = {0};
    struct keel_error err = {0};
    char path[PATH_MAX + 16];

    if (skip_unless_root())
        skip();
    test_image_make(&image, "[\"file:1\",\"file:2\"]", "2021-01-01T00:00:00Z", 5000, 3);
    snprintf(path, sizeof path, "%s/archive.tar", scratch->base);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, image.archive.data, image.archive.length),
                     (ssize_t)image.archive.length);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(engine_image_load(&scratch->engine, fd, NULL, load_on_done, &watch, &err), 0);
    run_until_done(scratch, &watch);
    assert_string_equal(watch.error, "");
    assert_int_equal(watch.name_count, 2);
    assert_string_equal(watch.names[0], "file:1");
    assert_string_equal(watch.names[1], "file:2");
    load_watch_free(&watch);
    buffer_free(&image.archive);
}

static void test_bad_archive_fails_in_done(void **state)
{
    struct scratch *scratch = *state;
    struct buffer garbage = {0};
    struct feeder feeder;
    struct load_watch watch = {0};
    char *json = NULL;
    struct keel_error err = {0};

    buffer_append(&garbage, "this is not an image archive, not even a tar", 44);
    load_start_pipe(scratch, &feeder, &garbage, garbage.length, &watch);
    run_until_done(scratch, &watch);
    assert_int_equal(watch.name_count, 0);
    assert_non_null(strstr(watch.error, "load image"));
    assert_false(engine_image_loading(&scratch->engine));
    assert_int_equal(engine_image_list_json(&scratch->engine, true, &json, &err), 0);
    assert_string_equal(json, "[]");
    free(json);
    buffer_free(&garbage);
}

static void test_loads_free_cancels_a_load_waiting_for_input(void **state)
{
    struct scratch *scratch = *state;
    struct test_image image;
    struct feeder feeder;
    struct load_watch watch = {0};
    struct keel_error err = {0};
    char *json = NULL;

    test_image_make(&image, "[\"cut:1\"]", "2021-01-01T00:00:00Z", 200000, 4);
    /* Half the archive, and the client never sends the rest nor closes. */
    load_start_pipe(scratch, &feeder, &image.archive, image.archive.length / 2, &watch);
    for (int turn = 0; turn < 50; turn++)
        assert_int_equal(loop_run_once(scratch->loop, 5, &err), 0);
    assert_false(watch.done);
    assert_true(engine_image_loading(&scratch->engine));
    /* The loop must not take the store's lock meanwhile. */
    assert_int_equal(engine_image_remove_json(&scratch->engine, "cut:1", false, &json, &err), -1);
    assert_int_equal(err.errno_value, EBUSY);

    engine_image_loads_free(&scratch->engine);
    assert_false(watch.done);
    assert_false(engine_image_loading(&scratch->engine));
    close(feeder.fd);
    assert_int_equal(engine_image_list_json(&scratch->engine, true, &json, &err), 0);
    assert_string_equal(json, "[]");
    free(json);
    buffer_free(&image.archive);
}

static char *remove_answer(struct scratch *scratch, const char *reference, bool force)
{
    char *json = NULL;
    struct keel_error err = {0};
    if (engine_image_remove_json(&scratch->engine, reference, force, &json, &err) < 0)
        fail_msg("remove %s: %s", reference, err.message);
    return json;
}

static void test_remove_untags_then_deletes(void **state)
{
    struct scratch *scratch = *state;
    struct test_image image;
    struct recorder recorder = {0};
    struct engine_event_subscription *subscription;
    struct keel_error err = {0};
    char expected[512];

    if (skip_unless_root())
        skip();
    test_image_make(&image, "[\"one:latest\",\"two:latest\"]", "2021-01-01T00:00:00Z", 100, 5);
    load_image(scratch, &image);
    assert_int_equal(engine_events_subscribe(&scratch->engine, recorder_on_event, &recorder,
                                             &subscription, &err),
                     0);
    /* A container uses it: untagging one of two names is still fine. */
    struct engine_container user = {.id = "0123456789abcdef", .image_id = image.id.text};
    test_containers = &user;

    char *json = remove_answer(scratch, "docker.io/library/two", false);
    assert_string_equal(json, "[{\"Untagged\":\"two:latest\"}]");
    free(json);
    test_containers = NULL;
    json = remove_answer(scratch, "one", false);
    snprintf(expected, sizeof expected, "[{\"Untagged\":\"one:latest\"},{\"Deleted\":\"%s\"}]",
             image.id.text);
    assert_string_equal(json, expected);
    free(json);

    assert_int_equal(recorder.count, 3);
    assert_string_equal(recorder.actions[0], "untag");
    assert_string_equal(recorder.names[0], "two:latest");
    assert_string_equal(recorder.actions[1], "untag");
    assert_string_equal(recorder.actions[2], "delete");
    assert_string_equal(recorder.names[2], image.id.text);

    assert_int_equal(engine_image_remove_json(&scratch->engine, "one", false, &json, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message, "No such image: one");
    engine_events_cancel(subscription);
    buffer_free(&image.archive);
}

static void test_remove_of_an_image_in_use_needs_force(void **state)
{
    struct scratch *scratch = *state;
    struct test_image image;
    struct keel_error err = {0};
    char expected[512], *json = NULL;

    if (skip_unless_root())
        skip();
    test_image_make(&image, "[\"busy:1\"]", "2021-01-01T00:00:00Z", 100, 6);
    load_image(scratch, &image);
    struct engine_container other = {.id = "ffffffffffffffff", .image_id = "sha256:0000"};
    struct engine_container user = {
        .id = "0123456789abcdef0123", .image_id = image.id.text, .next = &other};
    test_containers = &user;

    assert_int_equal(engine_image_remove_json(&scratch->engine, "busy:1", false, &json, &err), -1);
    assert_int_equal(err.errno_value, EBUSY);
    snprintf(expected, sizeof expected,
             "conflict: unable to remove repository reference \"busy:1\" (must force) - container "
             "0123456789ab "
             "is using its referenced image %.12s",
             digest_hex(&image.id));
    assert_string_equal(err.message, expected);

    assert_int_equal(engine_image_remove_json(&scratch->engine, image.id.text, false, &json, &err),
                     -1);
    assert_int_equal(err.errno_value, EBUSY);
    assert_non_null(
        strstr(err.message, "(must be forced) - image is being used by container 0123456789ab"));

    json = remove_answer(scratch, image.id.text, true);
    snprintf(expected, sizeof expected, "[{\"Untagged\":\"busy:1\"},{\"Deleted\":\"%s\"}]",
             image.id.text);
    assert_string_equal(json, expected);
    free(json);
    test_containers = NULL;
    buffer_free(&image.archive);
}

static void test_info_counts_and_host_facts(void **state)
{
    struct scratch *scratch = *state;
    struct test_image image;
    struct keel_error err = {0};
    struct utsname host;
    char *json = NULL;

    if (skip_unless_root())
        skip();
    test_image_make(&image, "[\"a:1\",\"b:1\"]", "2021-01-01T00:00:00Z", 100, 7);
    load_image(scratch, &image);
    struct engine_container stopped = {.id = "2222", .image_id = image.id.text};
    struct engine_container running = {
        .id = "1111", .image_id = image.id.text, .running = true, .next = &stopped};
    test_containers = &running;

    if (engine_info_json(&scratch->engine, &json, &err) < 0)
        fail_msg("info: %s", err.message);
    json_t *info = json_loads(json, 0, NULL);
    free(json);
    assert_non_null(info);
    assert_int_equal(json_integer_value(json_object_get(info, "Containers")), 2);
    assert_int_equal(json_integer_value(json_object_get(info, "ContainersRunning")), 1);
    assert_int_equal(json_integer_value(json_object_get(info, "ContainersPaused")), 0);
    assert_int_equal(json_integer_value(json_object_get(info, "ContainersStopped")), 1);
    /* Two names, one image. */
    assert_int_equal(json_integer_value(json_object_get(info, "Images")), 1);
    assert_string_equal(json_string_value(json_object_get(info, "Driver")), "overlay2");
    assert_string_equal(json_string_value(json_object_get(info, "Name")), "keel");
    assert_string_equal(json_string_value(json_object_get(info, "OSType")), "linux");
    assert_string_equal(json_string_value(json_object_get(info, "CgroupVersion")), "2");
    assert_string_equal(json_string_value(json_object_get(info, "CgroupDriver")), "cgroupfs");
    assert_string_equal(json_string_value(json_object_get(info, "DefaultRuntime")), "keel");
    assert_string_equal(json_string_value(json_object_get(info, "DockerRootDir")), scratch->root);
    assert_int_equal(uname(&host), 0);
    assert_string_equal(json_string_value(json_object_get(info, "KernelVersion")), host.release);
    assert_string_equal(json_string_value(json_object_get(info, "Architecture")), host.machine);
    assert_true(json_integer_value(json_object_get(info, "NCPU")) >= 1);
    assert_true(json_integer_value(json_object_get(info, "MemTotal")) > 1 << 20);
    assert_true(strlen(json_string_value(json_object_get(info, "OperatingSystem"))) > 0);
    assert_true(strlen(json_string_value(json_object_get(info, "ServerVersion"))) > 0);
    assert_int_equal(strlen(json_string_value(json_object_get(info, "ID"))), 36);
    assert_true(json_is_true(json_object_get(info, "PidsLimit")));
    assert_true(json_is_object(json_object_get(json_object_get(info, "Runtimes"), "keel")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(info, "Swarm"), "LocalNodeState")),
        "inactive");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(info, "SecurityOptions"), 0)),
        "name=seccomp,profile=default");
    json_decref(info);
    test_containers = NULL;
    buffer_free(&image.archive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_through_a_pipe_lists_and_inspects, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_load_from_a_regular_file, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_bad_archive_fails_in_done, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_loads_free_cancels_a_load_waiting_for_input,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_remove_untags_then_deletes, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_remove_of_an_image_in_use_needs_force, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_info_counts_and_host_facts, scratch_setup,
                                        scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
