/* test_api.c — the Docker API: routing and the version prefix, error mapping, filters, event
 * matching, JSON shapes, log frames; then, as root, a real engine served on a socket and driven as
 * the docker CLI drives it (ping, version, load, create, attach before start, wait, logs, stop,
 * kill, exec, stdin, events, remove). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "api_internal.h"
#include "digest.h"
#include "engine.h"
#include "file.h"
#include "http_client.h"
#include "loop.h"

/* ---- routing and the version prefix ---- */

static void test_version_split(void **state)
{
    (void)state;
    struct keel_error err = {0};
    char version[16];
    const char *rest;

    assert_int_equal(api_version_split("/_ping", &rest, version, sizeof version, &err), 0);
    assert_string_equal(rest, "/_ping");
    assert_string_equal(version, API_VERSION);

    assert_int_equal(
        api_version_split("/v1.41/containers/json", &rest, version, sizeof version, &err), 0);
    assert_string_equal(rest, "/containers/json");
    assert_string_equal(version, "1.41");

    assert_int_equal(api_version_split("/v1.24/info", &rest, version, sizeof version, &err), 0);
    assert_string_equal(rest, "/info");
    assert_string_equal(version, "1.24");

    assert_int_equal(api_version_split("/v1.23/info", &rest, version, sizeof version, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_non_null(strstr(
        err.message, "client version 1.23 is too old. Minimum supported API version is 1.24"));

    assert_int_equal(api_version_split("/v1.42/info", &rest, version, sizeof version, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_non_null(strstr(
        err.message, "client version 1.42 is too new. Maximum supported API version is 1.41"));

    /* Not a prefix at all: the path stays whole (and routes nowhere). */
    static const char *const not_prefixes[] = {"/v1.41", "/vfoo/info", "/v/info", "/version"};
    for (size_t i = 0; i < sizeof not_prefixes / sizeof not_prefixes[0]; i++) {
        assert_int_equal(api_version_split(not_prefixes[i], &rest, version, sizeof version, &err),
                         0);
        assert_string_equal(rest, not_prefixes[i]);
        assert_string_equal(version, API_VERSION);
    }
}

static void test_version_compare(void **state)
{
    (void)state;
    assert_true(api_version_compare("1.9", "1.10") < 0);
    assert_true(api_version_compare("1.41", "1.41") == 0);
    assert_true(api_version_compare("1.41.0", "1.41") == 0);
    assert_true(api_version_compare("2.0", "1.41") > 0);
    assert_true(api_version_compare("1.24", API_MIN_VERSION) == 0);
}

static void test_route_match(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *operation, *name;
    } cases[] = {
        {"GET", "/_ping", "SystemPing", ""},
        {"HEAD", "/_ping", "SystemPingHead", ""},
        {"GET", "/version", "SystemVersion", ""},
        {"GET", "/info", "SystemInfo", ""},
        {"GET", "/events", "SystemEvents", ""},
        {"GET", "/images/json", "ImageList", ""},
        {"POST", "/images/create", "ImageCreate", ""},
        {"POST", "/images/load", "ImageLoad", ""},
        {"GET", "/images/busybox/json", "ImageInspect", "busybox"},
        {"GET", "/images/library/busybox:1.36/json", "ImageInspect", "library/busybox:1.36"},
        {"GET", "/images/registry:5000/a/b:tag/json", "ImageInspect", "registry:5000/a/b:tag"},
        {"GET", "/images/sha256:abcd/json", "ImageInspect", "sha256:abcd"},
        {"DELETE", "/images/registry:5000/a/b:tag", "ImageDelete", "registry:5000/a/b:tag"},
        {"DELETE", "/images/json", "ImageDelete", "json"},
        {"POST", "/containers/create", "ContainerCreate", ""},
        {"GET", "/containers/json", "ContainerList", ""},
        {"GET", "/containers/abc/json", "ContainerInspect", "abc"},
        {"GET", "/containers/json/json", "ContainerInspect", "json"},
        {"GET", "/containers/abc/logs", "ContainerLogs", "abc"},
        {"POST", "/containers/abc/start", "ContainerStart", "abc"},
        {"POST", "/containers/abc/stop", "ContainerStop", "abc"},
        {"POST", "/containers/abc/restart", "ContainerRestart", "abc"},
        {"POST", "/containers/abc/kill", "ContainerKill", "abc"},
        {"POST", "/containers/abc/wait", "ContainerWait", "abc"},
        {"POST", "/containers/abc/attach", "ContainerAttach", "abc"},
        {"POST", "/containers/abc/resize", "ContainerResize", "abc"},
        {"POST", "/containers/abc/exec", "ContainerExec", "abc"},
        {"DELETE", "/containers/abc", "ContainerDelete", "abc"},
        {"POST", "/exec/e1/start", "ExecStart", "e1"},
        {"POST", "/exec/e1/resize", "ExecResize", "e1"},
        {"GET", "/exec/e1/json", "ExecInspect", "e1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name;
        size_t length;
        const struct api_route *route =
            api_route_match(cases[i].method, cases[i].path, &name, &length);
        if (route == NULL)
            fail_msg("%s %s: no route", cases[i].method, cases[i].path);
        assert_string_equal(route->operation, cases[i].operation);
        assert_int_equal(length, strlen(cases[i].name));
        assert_memory_equal(name, cases[i].name, length);
        assert_true(route->stream_body == (strcmp(cases[i].operation, "ImageLoad") == 0));
    }

    /* Unknown paths and wrong methods alike: no route (dockerd's 404). */
    static const struct {
        const char *method, *path;
    } misses[] = {
        {"GET", "/nope"},         {"PUT", "/containers/json"}, {"POST", "/_ping"},
        {"GET", "/containers"},   {"GET", "/containers/"},     {"POST", "/containers/abc/json"},
        {"GET", "/images/x/tag"}, {"GET", "/_ping/extra"},     {"DELETE", "/exec/e1"},
    };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        const char *name;
        size_t length;
        if (api_route_match(misses[i].method, misses[i].path, &name, &length) != NULL)
            fail_msg("%s %s: routed", misses[i].method, misses[i].path);
    }
}

static void test_status_from_errno(void **state)
{
    (void)state;
    assert_int_equal(api_status_from_errno(ENOENT), 404);
    assert_int_equal(api_status_from_errno(EEXIST), 409);
    assert_int_equal(api_status_from_errno(EBUSY), 409);
    assert_int_equal(api_status_from_errno(EINVAL), 400);
    assert_int_equal(api_status_from_errno(EALREADY), 304);
    assert_int_equal(api_status_from_errno(EIO), 500);
    assert_int_equal(api_status_from_errno(0), 500);
}

/* ---- queries, bodies, filters ---- */

static void test_query_values(void **state)
{
    (void)state;
    struct keel_error err = {0};
    struct http_request request = {
        .method = "GET",
        .path = "/x",
        .query = "all=1&quiet=false&force=No&stream&limit=3&t=-1&bad=x1&name=a%2Fb"};
    bool value;
    long number;
    char *text;

    assert_int_equal(api_query_bool(&request, "all", false, &value, &err), 0);
    assert_true(value);
    assert_int_equal(api_query_bool(&request, "quiet", true, &value, &err), 0);
    assert_false(value);
    assert_int_equal(api_query_bool(&request, "force", true, &value, &err), 0);
    assert_false(value);
    /* Present without a value: dockerd's BoolValue says false. */
    assert_int_equal(api_query_bool(&request, "stream", true, &value, &err), 0);
    assert_false(value);
    assert_int_equal(api_query_bool(&request, "absent", true, &value, &err), 0);
    assert_true(value);

    assert_int_equal(api_query_long(&request, "limit", -1, 0, 100, &number, &err), 0);
    assert_int_equal(number, 3);
    assert_int_equal(api_query_long(&request, "t", 10, -1, 100, &number, &err), 0);
    assert_int_equal(number, -1);
    assert_int_equal(api_query_long(&request, "absent", 42, 0, 100, &number, &err), 0);
    assert_int_equal(number, 42);
    assert_int_equal(api_query_long(&request, "bad", 0, 0, 100, &number, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_non_null(strstr(err.message, "bad"));
    assert_int_equal(api_query_long(&request, "limit", 0, 5, 100, &number, &err), -1);

    assert_int_equal(api_query_string(&request, "name", &text, &err), 0);
    assert_string_equal(text, "a/b");
    free(text);
    assert_int_equal(api_query_string(&request, "stream", &text, &err), 0);
    assert_null(text);
}

static void test_body_json(void **state)
{
    (void)state;
    struct keel_error err = {0};
    json_t *object;
    const char good[] = "{\"Image\":\"busybox\"}";
    const char bad[] = "{\"Image\": busybox}";
    struct http_request request = {.method = "POST", .path = "/x", .query = ""};

    assert_int_equal(api_body_json(&request, false, &object, &err), 0);
    assert_null(object);
    assert_int_equal(api_body_json(&request, true, &object, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);

    request.body = good;
    request.body_length = sizeof good - 1;
    assert_int_equal(api_body_json(&request, true, &object, &err), 0);
    assert_string_equal(json_string_value(json_object_get(object, "Image")), "busybox");
    json_decref(object);

    request.body = bad;
    request.body_length = sizeof bad - 1;
    assert_int_equal(api_body_json(&request, true, &object, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    /* The message says where: jansson's line and column. */
    assert_non_null(strstr(err.message, "line 1"));
}

static void test_filters_normalize(void **state)
{
    (void)state;
    struct keel_error err = {0};
    json_t *filters;

    assert_int_equal(api_filters_normalize(
                         "{\"type\":{\"container\":true},\"event\":{\"start\":true,\"die\":false}}",
                         &filters, &err),
                     0);
    assert_non_null(json_object_get(json_object_get(filters, "type"), "container"));
    assert_non_null(json_object_get(json_object_get(filters, "event"), "start"));
    assert_null(json_object_get(json_object_get(filters, "event"), "die"));
    json_decref(filters);

    /* The older list form. */
    assert_int_equal(api_filters_normalize("{\"name\":[\"web\",\"db\"]}", &filters, &err), 0);
    assert_int_equal(json_object_size(json_object_get(filters, "name")), 2);
    assert_non_null(json_object_get(json_object_get(filters, "name"), "db"));
    json_decref(filters);

    static const char *const refused[] = {"not json", "[1]", "{\"name\":\"web\"}", "{\"name\":[1]}",
                                          "{\"name\":{\"web\":1}}"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(api_filters_normalize(refused[i], &filters, &err), -1);
        assert_int_equal(err.errno_value, EINVAL);
        assert_non_null(strstr(err.message, "invalid filter"));
    }
}

static json_t *filters_of(const char *text)
{
    struct keel_error err;
    json_t *filters;
    assert_int_equal(api_filters_normalize(text, &filters, &err), 0);
    return filters;
}

static bool event_passes(const json_t *event, const char *filters_text)
{
    json_t *filters = filters_of(filters_text);
    bool passes = api_event_matches(event, filters);
    json_decref(filters);
    return passes;
}

static void test_event_matches(void **state)
{
    (void)state;
    json_t *start = json_loads(
        "{\"status\":\"start\",\"id\":\"0123456789abcdef\",\"from\":\"busybox:latest\","
        "\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"0123456789abcdef\","
        "\"Attributes\":{\"name\":\"web\",\"image\":\"busybox:latest\",\"tier\":\"front\"}},"
        "\"scope\":\"local\",\"time\":1700000000,\"timeNano\":1700000000000000000}",
        0, NULL);
    json_t *exec = json_loads(
        "{\"Type\":\"container\",\"Action\":\"exec_start: sh -c true\",\"Actor\":{\"ID\":"
        "\"0123456789abcdef\",\"Attributes\":{\"name\":\"web\"}},\"scope\":\"local\"}",
        0, NULL);
    json_t *load =
        json_loads("{\"Type\":\"image\",\"Action\":\"load\",\"Actor\":{\"ID\":\"sha256:aa\","
                   "\"Attributes\":{\"name\":\"busybox:latest\"}},\"scope\":\"local\"}",
                   0, NULL);
    assert_non_null(start);
    assert_non_null(exec);
    assert_non_null(load);

    assert_true(api_event_matches(start, NULL));
    assert_true(event_passes(start, "{}"));
    assert_true(event_passes(start, "{\"type\":[\"container\"]}"));
    assert_false(event_passes(load, "{\"type\":[\"container\"]}"));
    assert_true(event_passes(start, "{\"event\":[\"start\",\"die\"]}"));
    assert_false(event_passes(start, "{\"event\":[\"die\"]}"));
    /* exec_start names its command after a colon: the filter does not. */
    assert_true(event_passes(exec, "{\"event\":[\"exec_start\"]}"));
    assert_false(event_passes(exec, "{\"event\":[\"exec_create\"]}"));
    /* Containers by id prefix or by name. */
    assert_true(event_passes(start, "{\"container\":[\"0123\"]}"));
    assert_true(event_passes(start, "{\"container\":[\"web\"]}"));
    assert_false(event_passes(start, "{\"container\":[\"db\"]}"));
    assert_false(event_passes(load, "{\"container\":[\"web\"]}"));
    /* Images with or without their tag. */
    assert_true(event_passes(start, "{\"image\":[\"busybox\"]}"));
    assert_true(event_passes(start, "{\"image\":[\"busybox:latest\"]}"));
    assert_true(event_passes(load, "{\"image\":[\"busybox\"]}"));
    assert_false(event_passes(start, "{\"image\":[\"alpine\"]}"));
    /* Labels: a key, or key=value, all of them. */
    assert_true(event_passes(start, "{\"label\":[\"tier\"]}"));
    assert_true(event_passes(start, "{\"label\":[\"tier=front\"]}"));
    assert_false(event_passes(start, "{\"label\":[\"tier=back\"]}"));
    assert_false(event_passes(start, "{\"label\":[\"tier\",\"owner\"]}"));
    /* Objects the engine has none of. */
    assert_false(event_passes(start, "{\"network\":[\"bridge\"]}"));
    assert_true(event_passes(start, "{\"scope\":[\"local\"]}"));
    assert_false(event_passes(start, "{\"scope\":[\"swarm\"]}"));

    json_decref(start);
    json_decref(exec);
    json_decref(load);
}

/* ---- shapes ---- */

static void test_version_object(void **state)
{
    (void)state;
    json_t *version = api_version_object();
    assert_non_null(version);
    assert_string_equal(json_string_value(json_object_get(version, "ApiVersion")), API_VERSION);
    assert_string_equal(json_string_value(json_object_get(version, "MinAPIVersion")),
                        API_MIN_VERSION);
    assert_string_equal(json_string_value(json_object_get(version, "Version")), KEEL_VERSION);
    assert_string_equal(json_string_value(json_object_get(version, "Os")), "linux");
    assert_string_equal(json_string_value(json_object_get(version, "Arch")), "amd64");
    assert_string_equal(json_string_value(json_object_get(version, "GoVersion")), "n/a");
    assert_true(json_is_string(json_object_get(version, "GitCommit")));
    assert_true(json_is_string(json_object_get(version, "BuildTime")));
    assert_true(strlen(json_string_value(json_object_get(version, "KernelVersion"))) > 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(version, "Platform"), "Name")), "Keel");
    json_t *components = json_object_get(version, "Components");
    assert_int_equal(json_array_size(components), 1);
    json_t *engine = json_array_get(components, 0);
    assert_string_equal(json_string_value(json_object_get(engine, "Name")), "Engine");
    assert_string_equal(json_string_value(json_object_get(engine, "Version")), KEEL_VERSION);
    json_t *details = json_object_get(engine, "Details");
    assert_string_equal(json_string_value(json_object_get(details, "ApiVersion")), API_VERSION);
    assert_string_equal(json_string_value(json_object_get(details, "MinAPIVersion")),
                        API_MIN_VERSION);
    assert_string_equal(json_string_value(json_object_get(details, "Os")), "linux");
    json_decref(version);
}

static void test_ping_headers(void **state)
{
    (void)state;
    /* Every answer carries them; ping's come from the same macro. */
    assert_non_null(strstr(API_HEADERS, "Api-Version: 1.41\r\n"));
    assert_non_null(strstr(API_HEADERS, "Docker-Experimental: false\r\n"));
    assert_non_null(strstr(API_HEADERS, "Ostype: linux\r\n"));
    assert_non_null(strstr(API_HEADERS, "Server: Keel/" KEEL_VERSION "\r\n"));
}

static void test_entry_frames(void **state)
{
    (void)state;
    struct api_buffer buffer = {0};
    struct container_log_entry entry = {
        .stream = CONTAINER_LOG_STDERR, .time = {1700000000, 5}, .text = "oops\n", .length = 5};
    static const char stamp[] = "2023-11-14T22:13:20.000000005Z ";

    assert_int_equal(api_buffer_append_entry(&buffer, true, false, &entry), 0);
    assert_int_equal(buffer.length, 8 + 5);
    static const unsigned char header[8] = {2, 0, 0, 0, 0, 0, 0, 5};
    assert_memory_equal(buffer.data, header, 8);
    assert_memory_equal(buffer.data + 8, "oops\n", 5);
    api_buffer_consume(&buffer, buffer.length);

    assert_int_equal(api_buffer_append_entry(&buffer, true, true, &entry), 0);
    size_t payload = sizeof stamp - 1 + 5;
    assert_int_equal(buffer.length, 8 + payload);
    assert_int_equal((unsigned char)buffer.data[7], payload);
    assert_memory_equal(buffer.data + 8, stamp, sizeof stamp - 1);
    api_buffer_consume(&buffer, buffer.length);

    /* Raw (tty): the text alone. */
    assert_int_equal(api_buffer_append_entry(&buffer, false, false, &entry), 0);
    assert_int_equal(buffer.length, 5);
    api_buffer_free(&buffer);
}

/* ======================================================================
 * End to end: a real engine behind the API, driven over its socket.
 * ====================================================================== */

#define TEST_IMAGE "keel-test-api:latest"

struct scenario {
    char base[256];
    char socket_path[300];
    char cgroup_parent[64];
    struct loop *loop;
    struct engine *engine;
    struct api *api;
};

static struct scenario *scenario;

static int remove_one(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    umount2(path, MNT_DETACH);
    remove(path);
    return 0;
}

/* ---- the test image: static busybox in a docker-archive ---- */

struct memory {
    char *data;
    size_t length, capacity;
};

static la_ssize_t memory_write(struct archive *archive, void *data, const void *block,
                               size_t length)
{
    struct memory *memory = data;
    (void)archive;
    if (memory->length + length > memory->capacity) {
        memory->capacity = (memory->length + length) * 2;
        memory->data = realloc(memory->data, memory->capacity);
        assert_non_null(memory->data);
    }
    memcpy(memory->data + memory->length, block, length);
    memory->length += length;
    return (la_ssize_t)length;
}

static struct archive *tar_begin(struct memory *memory)
{
    struct archive *archive = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(archive), ARCHIVE_OK);
    assert_int_equal(archive_write_open(archive, memory, NULL, memory_write, NULL), ARCHIVE_OK);
    return archive;
}

static void tar_put(struct archive *archive, const char *name, mode_t type, mode_t mode,
                    const void *data, size_t length, const char *target)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_size(entry, type == AE_IFREG ? (la_int64_t)length : 0);
    if (target != NULL)
        archive_entry_set_symlink(entry, target);
    assert_int_equal(archive_write_header(archive, entry), ARCHIVE_OK);
    if (type == AE_IFREG && length > 0)
        assert_int_equal(archive_write_data(archive, data, length), (la_ssize_t)length);
    archive_entry_free(entry);
}

static void tar_finish(struct archive *archive)
{
    assert_int_equal(archive_write_close(archive), ARCHIVE_OK);
    archive_write_free(archive);
}

/* Write the archive to path; false (and why) when there is no static busybox. */
static bool test_image_write(const char *path, char *why, size_t why_size)
{
    char *busybox;
    size_t busybox_length;
    struct keel_error err;
    if (file_read_text("/bin/busybox", &busybox, &busybox_length, &err) < 0) {
        snprintf(why, why_size, "no /bin/busybox to build a test image from (%s)", err.message);
        return false;
    }
    struct memory layer = {0}, outer = {0};
    struct archive *archive = tar_begin(&layer);
    static const char *const directories[] = {"bin", "dev", "etc", "proc", "sys", "tmp"};
    for (size_t i = 0; i < sizeof directories / sizeof directories[0]; i++)
        tar_put(archive, directories[i], AE_IFDIR, 0755, NULL, 0, NULL);
    tar_put(archive, "bin/busybox", AE_IFREG, 0755, busybox, busybox_length, NULL);
    static const char *const applets[] = {"sh", "cat", "echo", "sleep", "true", "false"};
    for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bin/%s", applets[i]);
        tar_put(archive, name, AE_IFLNK, 0777, NULL, 0, "busybox");
    }
    tar_finish(archive);
    free(busybox);

    struct digest layer_digest, config_digest;
    digest_of_bytes(layer.data, layer.length, &layer_digest);
    char *config = NULL, *manifest = NULL, layer_name[128], config_name[128];
    assert_true(
        asprintf(&config,
                 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
                 "\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                 layer_digest.text) > 0);
    digest_of_bytes(config, strlen(config), &config_digest);
    snprintf(layer_name, sizeof layer_name, "%s/layer.tar", digest_hex(&layer_digest));
    snprintf(config_name, sizeof config_name, "%s.json", digest_hex(&config_digest));
    assert_true(asprintf(&manifest,
                         "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],\"Layers\":[\"%s\"]}]",
                         config_name, TEST_IMAGE, layer_name) > 0);

    archive = tar_begin(&outer);
    tar_put(archive, config_name, AE_IFREG, 0644, config, strlen(config), NULL);
    tar_put(archive, digest_hex(&layer_digest), AE_IFDIR, 0755, NULL, 0, NULL);
    tar_put(archive, layer_name, AE_IFREG, 0644, layer.data, layer.length, NULL);
    tar_put(archive, "manifest.json", AE_IFREG, 0644, manifest, strlen(manifest), NULL);
    tar_finish(archive);
    free(config);
    free(manifest);
    free(layer.data);

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(file_write_all(fd, outer.data, outer.length), 0);
    close(fd);
    free(outer.data);
    return true;
}

/* ---- clients in threads, the loop in the test's ---- */

struct job {
    pthread_t thread;
    atomic_bool head_received;
    atomic_bool finished;
    /* the request */
    const char *socket_path; /* NULL: the scenario's */
    const char *method;
    char target[1024];
    const char *body;
    const char *body_file; /* streamed (chunked) from this file */
    bool upgrade;          /* attach, exec start: raw stream until EOF */
    const char *input;     /* raw stream: written after the head, then shutdown(SHUT_WR) */
    size_t read_limit;     /* stop reading past this many bytes and hang up (0: until the end) */
    /* the result */
    int status;
    char *content_type;
    char *api_version_header;
    char *server_header;
    char *body_out;
    size_t body_length;
    char error[KEEL_ERROR_MESSAGE_MAX];
};

static void job_append(struct job *job, const void *data, size_t length)
{
    job->body_out = realloc(job->body_out, job->body_length + length + 1);
    memcpy(job->body_out + job->body_length, data, length);
    job->body_length += length;
    job->body_out[job->body_length] = '\0';
}

static void *job_run(void *data)
{
    struct job *job = data;
    struct http_client client;
    struct http_client_response response = {0};
    struct keel_error err = {0};
    int result = http_client_connect(
        &client, job->socket_path ? job->socket_path : scenario->socket_path, &err);
    if (result == 0) {
        if (job->body_file != NULL) {
            int fd = open(job->body_file, O_RDONLY | O_CLOEXEC);
            result = http_client_send_fd(&client, job->method, job->target, "application/x-tar", fd,
                                         NULL, NULL, &err);
            close(fd);
        } else {
            result = http_client_send(&client, job->method, job->target,
                                      job->body ? "application/json" : NULL, NULL, job->body,
                                      job->body ? strlen(job->body) : 0, job->upgrade, &err);
        }
    }
    if (result == 0)
        result = http_client_read_head(&client, &response, &err);
    if (result == 0) {
        job->status = response.status;
        const char *value = http_client_response_header(&response, "content-type");
        job->content_type = value ? strdup(value) : NULL;
        value = http_client_response_header(&response, "api-version");
        job->api_version_header = value ? strdup(value) : NULL;
        value = http_client_response_header(&response, "server");
        job->server_header = value ? strdup(value) : NULL;
        atomic_store(&job->head_received, true);
        if (job->upgrade && (response.status == 101 || response.status == 200)) {
            char *bytes;
            size_t length;
            http_client_take_buffered(&client, &bytes, &length);
            if (length > 0)
                job_append(job, bytes, length);
            free(bytes);
            if (job->input != NULL)
                file_write_all(client.fd, job->input, strlen(job->input));
            shutdown(client.fd, SHUT_WR);
            char buffer[4096];
            for (;;) {
                ssize_t n = read(client.fd, buffer, sizeof buffer);
                if (n <= 0)
                    break;
                job_append(job, buffer, (size_t)n);
                if (job->read_limit > 0 && job->body_length >= job->read_limit)
                    break;
            }
        } else {
            char buffer[4096];
            for (;;) {
                ssize_t n = http_client_read_body(&client, buffer, sizeof buffer, &err);
                if (n < 0) {
                    result = -1;
                    break;
                }
                if (n == 0)
                    break;
                job_append(job, buffer, (size_t)n);
                if (job->read_limit > 0 && job->body_length >= job->read_limit)
                    break;
            }
        }
        http_client_response_free(&response);
    }
    if (result < 0)
        snprintf(job->error, sizeof job->error, "%s", err.message);
    if (job->body_out == NULL)
        job_append(job, "", 0);
    http_client_close(&client);
    atomic_store(&job->finished, true);
    return NULL;
}

static struct job *job_start(const char *method, const char *body, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static struct job *job_start(const char *method, const char *body, const char *format, ...)
{
    struct job *job = calloc(1, sizeof *job);
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(job->target, sizeof job->target, format, arguments);
    va_end(arguments);
    job->method = method;
    job->body = body;
    return job;
}

static void job_launch(struct job *job)
{
    assert_int_equal(pthread_create(&job->thread, NULL, job_run, job), 0);
}

/* Turn the loop until cond(job) holds, for at most seconds. */
static void loop_until(struct job *job, bool head_only, int seconds)
{
    struct timespec start, now;
    struct keel_error err;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!(head_only ? atomic_load(&job->head_received) || atomic_load(&job->finished)
                       : atomic_load(&job->finished))) {
        assert_int_equal(loop_run_once(scenario->loop, 20, &err), 0);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > seconds)
            fail_msg("%s %s: no %s after %d s", job->method, job->target,
                     head_only ? "answer" : "end", seconds);
    }
}

static void job_finish(struct job *job)
{
    loop_until(job, false, 60);
    pthread_join(job->thread, NULL);
    if (job->error[0] != '\0')
        fail_msg("%s %s: %s", job->method, job->target, job->error);
}

static void job_free(struct job *job)
{
    free(job->content_type);
    free(job->api_version_header);
    free(job->server_header);
    free(job->body_out);
    free(job);
}

/* One request, answered: the job (free it). */
static struct job *request(const char *method, const char *body, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static struct job *request(const char *method, const char *body, const char *format, ...)
{
    struct job *job = calloc(1, sizeof *job);
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(job->target, sizeof job->target, format, arguments);
    va_end(arguments);
    job->method = method;
    job->body = body;
    job_launch(job);
    job_finish(job);
    return job;
}

static void expect_status(const char *method, const char *body, int status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void expect_status(const char *method, const char *body, int status, const char *format, ...)
{
    char target[1024];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(target, sizeof target, format, arguments);
    va_end(arguments);
    struct job *job = request(method, body, "%s", target);
    if (job->status != status)
        fail_msg("%s %s: status %d, not %d: %s", method, target, job->status, status,
                 job->body_out);
    job_free(job);
}

static json_t *json_of(const struct job *job)
{
    json_t *value = json_loads(job->body_out, 0, NULL);
    if (value == NULL)
        fail_msg("%s %s: not JSON: %s", job->method, job->target, job->body_out);
    return value;
}

/* Docker's multiplexed frames into stdout and stderr text. */
static void demultiplex(const char *data, size_t length, char *out, size_t out_size, char *err_text,
                        size_t err_size)
{
    size_t out_used = 0, err_used = 0;
    out[0] = err_text[0] = '\0';
    while (length >= 8) {
        unsigned char stream = (unsigned char)data[0];
        size_t size = ((size_t)(unsigned char)data[4] << 24) |
                      ((size_t)(unsigned char)data[5] << 16) |
                      ((size_t)(unsigned char)data[6] << 8) | (size_t)(unsigned char)data[7];
        assert_true(size <= length - 8);
        char *target = stream == 2 ? err_text : out;
        size_t *used = stream == 2 ? &err_used : &out_used;
        size_t room = (stream == 2 ? err_size : out_size) - 1 - *used;
        size_t copied = size < room ? size : room;
        memcpy(target + *used, data + 8, copied);
        *used += copied;
        target[*used] = '\0';
        data += 8 + size;
        length -= 8 + size;
    }
    assert_int_equal(length, 0);
}

static char *create_container(const char *name, const char *body)
{
    struct job *job = request("POST", body, "/v1.41/containers/create?name=%s", name);
    if (job->status != 201)
        fail_msg("create %s: %d %s", name, job->status, job->body_out);
    json_t *answer = json_of(job);
    assert_true(json_is_array(json_object_get(answer, "Warnings")));
    char *id = strdup(json_string_value(json_object_get(answer, "Id")));
    assert_int_equal(strlen(id), 64);
    json_decref(answer);
    job_free(job);
    return id;
}

static void settle(void)
{
    struct keel_error err;
    for (int i = 0; i < 10; i++)
        loop_run_once(scenario->loop, 10, &err);
}

/* Turn the loop until the API holds expected connections, for up to 5 s:
 * a hang-up is seen when the next write fails, later on a loaded machine. */
static unsigned settle_connections(unsigned expected)
{
    struct keel_error err;
    for (int i = 0; i < 500 && api_connection_count(scenario->api) != expected; i++)
        loop_run_once(scenario->loop, 10, &err);
    return api_connection_count(scenario->api);
}

/* ---- setup ---- */

static void on_loop_error(const struct keel_error *err, void *user)
{
    (void)user;
    print_message("loop: %s\n", err->message);
}

static int scenario_setup(void **state)
{
    (void)state;
    scenario = calloc(1, sizeof *scenario);
    if (scenario == NULL)
        return -1;
    if (geteuid() != 0)
        return 0; /* the test skips, saying why */
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(scenario->base, sizeof scenario->base, "%s/test_api.XXXXXX", tmp);
    if (mkdtemp(scenario->base) == NULL)
        return -1;
    char store[300], state_root[320], runtime_root[300];
    snprintf(store, sizeof store, "%s/store", scenario->base);
    snprintf(state_root, sizeof state_root, "%s/engine", store);
    snprintf(runtime_root, sizeof runtime_root, "%s/run", scenario->base);
    snprintf(scenario->socket_path, sizeof scenario->socket_path, "%s/api.sock", scenario->base);
    snprintf(scenario->cgroup_parent, sizeof scenario->cgroup_parent, "keel-test-api-%d",
             (int)getpid());
    struct keel_error err;
    if (loop_new(&scenario->loop, &err) < 0)
        return -1;
    loop_set_error_handler(scenario->loop, on_loop_error, NULL);
    struct engine_options options = {
        .name = "keel-test",
        .store_root = store,
        .state_root = state_root,
        .runtime_root = runtime_root,
        .cgroup_parent = scenario->cgroup_parent,
    };
    if (engine_new(scenario->loop, &options, &scenario->engine, &err) < 0) {
        print_message("engine_new: %s\n", err.message);
        scenario->engine = NULL;
        return 0;
    }
    if (api_new(scenario->loop, scenario->engine, scenario->socket_path, (gid_t)-1, &scenario->api,
                &err) < 0) {
        print_message("api_new: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int scenario_teardown(void **state)
{
    (void)state;
    if (scenario->api != NULL)
        api_free(scenario->api);
    if (scenario->engine != NULL)
        engine_free(scenario->engine);
    if (scenario->loop != NULL)
        loop_free(scenario->loop);
    if (scenario->base[0] != '\0')
        nftw(scenario->base, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (scenario->cgroup_parent[0] != '\0') {
        char path[128];
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s", scenario->cgroup_parent);
        rmdir(path);
        snprintf(path, sizeof path, "/sys/fs/cgroup/unified/%s", scenario->cgroup_parent);
        rmdir(path);
    }
    free(scenario);
    return 0;
}

static bool skip_without_engine(void)
{
    if (geteuid() != 0) {
        print_message("skipped: a real engine runs containers, which needs root\n");
        return true;
    }
    if (scenario->engine == NULL) {
        print_message("skipped: engine_new failed on this host (see above)\n");
        return true;
    }
    return false;
}

/* ---- the scenario, in order ---- */

static void test_e2e_system(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    struct job *job = request("GET", NULL, "/_ping");
    assert_int_equal(job->status, 200);
    assert_string_equal(job->body_out, "OK");
    assert_string_equal(job->api_version_header, API_VERSION);
    assert_non_null(strstr(job->server_header, "Keel/"));
    assert_non_null(strstr(job->content_type, "text/plain"));
    job_free(job);

    job = request("HEAD", NULL, "/_ping");
    assert_int_equal(job->status, 200);
    assert_int_equal(job->body_length, 0);
    job_free(job);

    job = request("GET", NULL, "/v1.41/version");
    assert_int_equal(job->status, 200);
    assert_string_equal(job->content_type, "application/json");
    json_t *version = json_of(job);
    assert_string_equal(json_string_value(json_object_get(version, "ApiVersion")), "1.41");
    json_decref(version);
    job_free(job);

    job = request("GET", NULL, "/v1.12/version");
    assert_int_equal(job->status, 400);
    assert_non_null(strstr(job->body_out, "is too old"));
    assert_string_equal(job->api_version_header, API_VERSION);
    job_free(job);
    expect_status("GET", NULL, 400, "/v1.99/version");

    job = request("GET", NULL, "/v1.41/nope");
    assert_int_equal(job->status, 404);
    assert_string_equal(job->body_out, "{\"message\":\"page not found\"}");
    job_free(job);
    expect_status("PUT", NULL, 404, "/containers/json");

    job = request("GET", NULL, "/info");
    assert_int_equal(job->status, 200);
    json_t *info = json_of(job);
    assert_true(json_is_integer(json_object_get(info, "Containers")));
    json_decref(info);
    job_free(job);
}

static void test_e2e_images(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    char path[400], why[600];
    snprintf(path, sizeof path, "%s/image.tar", scenario->base);
    if (!test_image_write(path, why, sizeof why)) {
        print_message("skipped: %s\n", why);
        skip();
        return;
    }
    struct job *job = job_start("POST", NULL, "/v1.41/images/load?quiet=1");
    job->body_file = path;
    job_launch(job);
    job_finish(job);
    assert_int_equal(job->status, 200);
    if (strstr(job->body_out, "{\"stream\":\"Loaded image: " TEST_IMAGE "\\n\"}\n") == NULL)
        fail_msg("load: %s", job->body_out);
    job_free(job);

    /* A broken archive: the error comes inside the 200 stream, as docker load expects. */
    char broken[400];
    snprintf(broken, sizeof broken, "%s/broken.tar", scenario->base);
    int fd = open(broken, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_int_equal(file_write_all(fd, "not a tar archive at all", 24), 0);
    close(fd);
    job = job_start("POST", NULL, "/images/load");
    job->body_file = broken;
    job_launch(job);
    job_finish(job);
    assert_int_equal(job->status, 200);
    assert_non_null(strstr(job->body_out, "\"errorDetail\""));
    job_free(job);

    job = request("GET", NULL, "/images/json");
    assert_int_equal(job->status, 200);
    assert_non_null(strstr(job->body_out, TEST_IMAGE));
    job_free(job);

    job = request("GET", NULL, "/v1.41/images/" TEST_IMAGE "/json");
    assert_int_equal(job->status, 200);
    json_t *image = json_of(job);
    assert_true(json_is_string(json_object_get(image, "Id")));
    json_decref(image);
    job_free(job);

    expect_status("GET", NULL, 404, "/images/no-such-image:1/json");
    /* docker run pulls what it cannot find: a clear no. */
    job = request("POST", NULL, "/v1.41/images/create?fromImage=no-such-image&tag=1");
    assert_int_equal(job->status, 404);
    assert_non_null(strstr(job->body_out, "pull no-such-image:1"));
    job_free(job);
}

/* docker run IMAGE sh -c '...': attach, wait next-exit, start; output
 * demultiplexed, the exit code passed on; then logs as docker logs asks. */
static void test_e2e_run_attached(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    expect_status("POST", "{\"Image\": nope}", 400, "/containers/create");
    expect_status("POST", NULL, 400, "/containers/create");
    struct job *job = request("POST", "{\"Image\":\"no-such-image:1\"}", "/containers/create");
    assert_int_equal(job->status, 404);
    assert_non_null(strstr(job->body_out, "No such image: no-such-image:1"));
    job_free(job);

    char *id =
        create_container("api-run", "{\"Image\":\"" TEST_IMAGE
                                    "\",\"Cmd\":[\"sh\",\"-c\",\"echo hello; echo oops >&2; "
                                    "exit 3\"],\"AttachStdout\":true,\"AttachStderr\":true}");
    struct job *attach =
        job_start("POST", NULL, "/v1.41/containers/%s/attach?stream=1&stdout=1&stderr=1", id);
    attach->upgrade = true;
    job_launch(attach);
    loop_until(attach, true, 10);
    assert_int_equal(attach->status, 101);
    assert_string_equal(attach->content_type, "application/vnd.docker.multiplexed-stream");
    struct job *wait = job_start("POST", NULL, "/v1.41/containers/%s/wait?condition=next-exit", id);
    job_launch(wait);
    loop_until(wait, true, 10);
    assert_int_equal(wait->status, 200);

    expect_status("POST", NULL, 204, "/v1.41/containers/%s/start", id);
    job_finish(attach);
    char out[256], err_text[256];
    demultiplex(attach->body_out, attach->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "hello\n");
    assert_string_equal(err_text, "oops\n");
    job_free(attach);
    job_finish(wait);
    json_t *status = json_of(wait);
    assert_int_equal(json_integer_value(json_object_get(status, "StatusCode")), 3);
    assert_true(json_is_null(json_object_get(status, "Error")));
    json_decref(status);
    job_free(wait);

    /* Following an exited container's log reads it and ends, as dockerd's. */
    job = request("GET", NULL, "/containers/%s/logs?stdout=1&stderr=1&follow=1", id);
    assert_int_equal(job->status, 200);
    assert_int_equal(job->body_length, 2 * 8 + 6 + 5);
    job_free(job);

    /* Waiting on a stopped container answers at once. */
    job = request("POST", NULL, "/containers/%s/wait", id);
    assert_int_equal(job->status, 200);
    assert_non_null(strstr(job->body_out, "\"StatusCode\":3"));
    job_free(job);

    job = request("GET", NULL, "/containers/%s/logs?stdout=1&stderr=1", id);
    assert_int_equal(job->status, 200);
    demultiplex(job->body_out, job->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "hello\n");
    assert_string_equal(err_text, "oops\n");
    job_free(job);

    job = request("GET", NULL, "/containers/%s/logs?stdout=1&stderr=0&timestamps=1", id);
    demultiplex(job->body_out, job->body_length, out, sizeof out, err_text, sizeof err_text);
    /* "2026-11-23T17:20:01.123456789Z hello\n" */
    assert_int_equal(strlen(out), 31 + 6);
    assert_int_equal(out[30], ' ');
    assert_string_equal(out + 31, "hello\n");
    assert_string_equal(err_text, "");
    job_free(job);

    job = request("GET", NULL, "/containers/%s/logs?stdout=1&stderr=1&tail=1", id);
    demultiplex(job->body_out, job->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "");
    assert_string_equal(err_text, "oops\n");
    job_free(job);

    /* attach with logs and no stream: the log, then the end. */
    attach = job_start("POST", NULL, "/containers/%s/attach?logs=1&stream=0&stdout=1&stderr=1", id);
    attach->upgrade = true;
    job_launch(attach);
    job_finish(attach);
    assert_int_equal(attach->status, 101);
    demultiplex(attach->body_out, attach->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "hello\n");
    assert_string_equal(err_text, "oops\n");
    job_free(attach);

    expect_status("GET", NULL, 400, "/containers/%s/logs", id);
    expect_status("GET", NULL, 400, "/containers/%s/logs?stdout=1&since=yesterday", id);
    expect_status("GET", NULL, 404, "/containers/no-such-container/logs?stdout=1");

    job = request("GET", NULL,
                  "/containers/json?all=1&filters=%%7B%%22name%%22%%3A%%5B%%22api-run%%22%%5D%%7D");
    assert_int_equal(job->status, 200);
    assert_non_null(strstr(job->body_out, id));
    job_free(job);
    job = request("GET", NULL, "/containers/api-run/json");
    assert_int_equal(job->status, 200);
    json_t *inspect = json_of(job);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(inspect, "State"), "ExitCode")), 3);
    json_decref(inspect);
    job_free(job);

    expect_status("DELETE", NULL, 204, "/containers/%s", id);
    expect_status("GET", NULL, 404, "/containers/%s/json", id);
    free(id);
}

/* docker run -i: the client's stdin, then its half-close, reach cat. */
static void test_e2e_stdin(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    char *id = create_container(
        "api-stdin", "{\"Image\":\"" TEST_IMAGE "\",\"Cmd\":[\"cat\"],\"OpenStdin\":true,"
                     "\"StdinOnce\":true,\"AttachStdin\":true,\"AttachStdout\":true}");
    struct job *attach =
        job_start("POST", NULL, "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1", id);
    attach->upgrade = true;
    attach->input = "ping\npong\n";
    job_launch(attach);
    loop_until(attach, true, 10);
    struct job *wait = job_start("POST", NULL, "/containers/%s/wait?condition=next-exit", id);
    job_launch(wait);
    loop_until(wait, true, 10);
    expect_status("POST", NULL, 204, "/containers/%s/start", id);
    job_finish(attach);
    char out[256], err_text[256];
    demultiplex(attach->body_out, attach->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "ping\npong\n");
    job_free(attach);
    job_finish(wait);
    assert_non_null(strstr(wait->body_out, "\"StatusCode\":0"));
    job_free(wait);
    expect_status("DELETE", NULL, 204, "/containers/%s", id);
    free(id);
}

/* docker run -d, logs -f, exec, stop, kill, restart, events. */
static void test_e2e_detached(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    struct timespec began;
    clock_gettime(CLOCK_REALTIME, &began);
    char *id = create_container("api-detached",
                                "{\"Image\":\"" TEST_IMAGE "\",\"Cmd\":[\"sh\",\"-c\",\"trap 'exit "
                                "0' TERM; while true; do echo tick; sleep 0.1; done\"]}");
    expect_status("POST", NULL, 204, "/containers/%s/start", id);
    expect_status("POST", NULL, 304, "/containers/%s/start", id);

    /* Follow until a few ticks came, then hang up: the stream goes. */
    unsigned before = api_connection_count(scenario->api);
    struct job *follow = job_start("GET", NULL, "/containers/%s/logs?stdout=1&follow=1&tail=0", id);
    follow->read_limit = 3 * (8 + 5);
    job_launch(follow);
    job_finish(follow);
    assert_int_equal(follow->status, 200);
    assert_true(follow->body_length >= 3 * 13);
    assert_memory_equal(follow->body_out + 8, "tick\n", 5);
    job_free(follow);
    assert_int_equal(settle_connections(before), before);

    /* exec: output framed, the exit code in its inspect. */
    struct job *job =
        request("POST",
                "{\"Cmd\":[\"sh\",\"-c\",\"echo in-exec; echo exec-err >&2; exit 5\"],"
                "\"AttachStdout\":true,\"AttachStderr\":true}",
                "/containers/%s/exec", id);
    assert_int_equal(job->status, 201);
    json_t *created = json_of(job);
    char *exec_id = strdup(json_string_value(json_object_get(created, "Id")));
    json_decref(created);
    job_free(job);
    struct job *exec =
        job_start("POST", "{\"Detach\":false,\"Tty\":false}", "/exec/%s/start", exec_id);
    exec->upgrade = true;
    job_launch(exec);
    job_finish(exec);
    assert_int_equal(exec->status, 101);
    char out[256], err_text[256];
    demultiplex(exec->body_out, exec->body_length, out, sizeof out, err_text, sizeof err_text);
    assert_string_equal(out, "in-exec\n");
    assert_string_equal(err_text, "exec-err\n");
    job_free(exec);
    job = request("GET", NULL, "/exec/%s/json", exec_id);
    json_t *exec_state = json_of(job);
    assert_false(json_is_true(json_object_get(exec_state, "Running")));
    assert_int_equal(json_integer_value(json_object_get(exec_state, "ExitCode")), 5);
    json_decref(exec_state);
    job_free(job);
    expect_status("POST", NULL, 200, "/exec/%s/resize?h=24&w=80", exec_id);
    expect_status("GET", NULL, 404, "/exec/no-such-exec/json");
    free(exec_id);

    /* A detached exec answers 200 at once. */
    job = request("POST", "{\"Cmd\":[\"true\"]}", "/containers/%s/exec", id);
    created = json_of(job);
    exec_id = strdup(json_string_value(json_object_get(created, "Id")));
    json_decref(created);
    job_free(job);
    expect_status("POST", "{\"Detach\":true}", 200, "/exec/%s/start", exec_id);
    free(exec_id);

    /* stop answers once it has stopped; a second one is 304. */
    expect_status("POST", NULL, 204, "/containers/%s/stop?t=5", id);
    job = request("GET", NULL, "/containers/%s/json", id);
    json_t *inspect = json_of(job);
    assert_false(json_is_true(json_object_get(json_object_get(inspect, "State"), "Running")));
    json_decref(inspect);
    job_free(job);
    expect_status("POST", NULL, 304, "/containers/%s/stop", id);
    expect_status("POST", NULL, 409, "/containers/%s/kill", id);

    expect_status("POST", NULL, 204, "/containers/%s/restart?t=1", id);
    expect_status("POST", NULL, 204, "/containers/%s/kill?signal=KILL", id);
    job = request("POST", NULL, "/containers/%s/wait", id);
    assert_non_null(strstr(job->body_out, "\"StatusCode\":137"));
    job_free(job);

    /* The events since the test began, then the stream ends (until is past). */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    job = request("GET", NULL,
                  "/events?since=%lld&until=%lld.%09ld&filters=%%7B%%22container%%22%%3A%%5B%%22%s%"
                  "%22%%5D%%7D",
                  (long long)began.tv_sec, (long long)now.tv_sec, now.tv_nsec, id);
    assert_int_equal(job->status, 200);
    assert_non_null(strstr(job->body_out, "\"Action\":\"create\""));
    assert_non_null(strstr(job->body_out, "\"Action\":\"start\""));
    assert_non_null(strstr(job->body_out, "\"Action\":\"die\""));
    job_free(job);
    job = request("GET", NULL,
                  "/events?since=%lld&until=%lld&filters=%%7B%%22event%%22%%3A%%7B%%22create%%22%%"
                  "3Atrue%%7D%%7D",
                  (long long)began.tv_sec, (long long)now.tv_sec + 1);
    assert_non_null(strstr(job->body_out, "\"Action\":\"create\""));
    assert_null(strstr(job->body_out, "\"Action\":\"start\""));
    job_free(job);

    expect_status("POST", "{\"Image\":\"" TEST_IMAGE "\"}", 409,
                  "/v1.41/containers/create?name=api-detached");
    expect_status("DELETE", NULL, 204, "/containers/%s?force=1", id);
    free(id);
}

static void test_e2e_no_leak(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    /* A live events stream and a wait on a running container, then both
     * clients hang up: nothing stays behind. */
    char *id =
        create_container("api-leak", "{\"Image\":\"" TEST_IMAGE "\",\"Cmd\":[\"sleep\",\"100\"]}");
    expect_status("POST", NULL, 204, "/containers/%s/start", id);
    settle();
    unsigned before = api_connection_count(scenario->api);
    struct job *events = job_start("GET", NULL, "/events");
    events->read_limit = 1;
    job_launch(events);
    loop_until(events, true, 10);
    struct job *wait = job_start("POST", NULL, "/containers/%s/wait", id);
    wait->read_limit = 1;
    job_launch(wait);
    loop_until(wait, true, 10);
    /* The kill is an event: the events client reads it and hangs up. */
    expect_status("POST", NULL, 204, "/containers/%s/kill", id);
    job_finish(events);
    job_finish(wait);
    job_free(events);
    job_free(wait);
    assert_int_equal(settle_connections(before), before);

    expect_status("DELETE", NULL, 204, "/containers/%s?force=1", id);
    expect_status("DELETE", NULL, 200, "/images/" TEST_IMAGE);
    free(id);
}

/* Turn the loop for about ms. */
static void run_for(int ms)
{
    struct keel_error err;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        loop_run_once(scenario->loop, 10, &err);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

/* api_free with every kind of holder in flight (a wait, a stop, events,
 * logs -f, an attach, an exec): the engine's later callbacks touch nothing
 * freed (ASan) and nothing stays behind (LeakSanitizer at exit). */
static void test_e2e_free_while_busy(void **state)
{
    (void)state;
    if (skip_without_engine()) {
        skip();
        return;
    }
    struct keel_error err;
    char socket_path[320];
    snprintf(socket_path, sizeof socket_path, "%s/busy.sock", scenario->base);
    struct api *busy;
    assert_int_equal(api_new(scenario->loop, scenario->engine, socket_path, (gid_t)-1, &busy, &err),
                     0);

    char *id = create_container("api-busy",
                                "{\"Image\":\"" TEST_IMAGE
                                "\",\"OpenStdin\":true,\"StdinOnce\":true,\"Cmd\":[\"sh\",\"-c\","
                                "\"trap '' TERM; while true; do echo busy; sleep 0.1; done\"]}");
    expect_status("POST", NULL, 204, "/containers/%s/start", id);
    struct job *created = request("POST", "{\"Cmd\":[\"sleep\",\"1\"],\"AttachStdout\":true}",
                                  "/containers/%s/exec", id);
    json_t *exec = json_of(created);
    char *exec_id = strdup(json_string_value(json_object_get(exec, "Id")));
    json_decref(exec);
    job_free(created);

    struct job *jobs[6] = {
        job_start("POST", NULL, "/containers/%s/wait", id),
        job_start("GET", NULL, "/events"),
        job_start("GET", NULL, "/containers/%s/logs?stdout=1&follow=1&tail=0", id),
        job_start("POST", NULL, "/containers/%s/attach?stream=1&stdin=1&stdout=1", id),
        job_start("POST", "{}", "/exec/%s/start", exec_id),
        job_start("POST", NULL, "/containers/%s/stop?t=1", id),
    };
    jobs[3]->upgrade = jobs[4]->upgrade = true;
    for (size_t i = 0; i < 6; i++) {
        jobs[i]->socket_path = socket_path;
        job_launch(jobs[i]);
        if (i < 5)
            loop_until(jobs[i], true, 10);
    }
    run_for(200); /* the stop is under way */
    assert_true(api_connection_count(busy) >= 6);
    api_free(busy);

    for (size_t i = 0; i < 6; i++) {
        loop_until(jobs[i], false, 10);
        pthread_join(jobs[i]->thread, NULL);
        job_free(jobs[i]);
    }
    /* The stop's SIGKILL and the exec's end come to what the API left. */
    run_for(1500);
    expect_status("DELETE", NULL, 204, "/containers/%s?force=1", id);
    free(exec_id);
    free(id);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_version_split),     cmocka_unit_test(test_version_compare),
        cmocka_unit_test(test_route_match),       cmocka_unit_test(test_status_from_errno),
        cmocka_unit_test(test_query_values),      cmocka_unit_test(test_body_json),
        cmocka_unit_test(test_filters_normalize), cmocka_unit_test(test_event_matches),
        cmocka_unit_test(test_version_object),    cmocka_unit_test(test_ping_headers),
        cmocka_unit_test(test_entry_frames),
    };
    const struct CMUnitTest end_to_end[] = {
        cmocka_unit_test(test_e2e_system),       cmocka_unit_test(test_e2e_images),
        cmocka_unit_test(test_e2e_run_attached), cmocka_unit_test(test_e2e_stdin),
        cmocka_unit_test(test_e2e_detached),     cmocka_unit_test(test_e2e_free_while_busy),
        cmocka_unit_test(test_e2e_no_leak),
    };
    int failed = cmocka_run_group_tests_name("api", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("api end to end", end_to_end, scenario_setup,
                                          scenario_teardown);
    return failed;
}
