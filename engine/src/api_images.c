/* api_images.c — GET /images/json, POST /images/load (the body streamed through a pipe to the
 * engine's loader), GET /images/NAME/json, DELETE /images/NAME. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "cleanup.h"

/* Docker's "reference" filter: "repo" matches every tag of it, "repo:tag"
 * one, both as shell globs ("tool*"). */
static bool api_image_reference_matches(const json_t *tags, const char *pattern)
{
    size_t index;
    const json_t *tag;
    bool with_tag = strchr(pattern, ':') != NULL;
    json_array_foreach(tags, index, tag)
    {
        const char *name = json_string_value(tag);
        if (name == NULL)
            continue;
        char repository[512];
        snprintf(repository, sizeof repository, "%s", name);
        char *colon = strrchr(repository, ':');
        if (colon != NULL && strchr(colon, '/') == NULL)
            *colon = '\0';
        if (fnmatch(pattern, with_tag ? name : repository, 0) == 0)
            return true;
    }
    return false;
}

/* Keep the images whose RepoTags match one of the filter's references. */
static void api_images_filter_references(json_t *images, const json_t *references)
{
    for (size_t index = json_array_size(images); index-- > 0;) {
        const json_t *tags = json_object_get(json_array_get(images, index), "RepoTags");
        bool keep = false;
        const char *pattern;
        json_t *value;
        json_object_foreach((json_t *)references, pattern, value) keep =
            keep || api_image_reference_matches(tags, pattern);
        if (!keep)
            json_array_remove(images, index);
    }
}

void api_handle_images_list(struct api_call *call)
{
    struct keel_error err;
    bool all;
    _cleanup_free_ char *json = NULL;
    json_t *filters = NULL;
    if (api_query_bool(call->request, "all", false, &all, &err) < 0 ||
        api_query_filters(call->request, &filters, &err) < 0 ||
        engine_image_list_json(call->api->engine, all, &json, &err) < 0) {
        json_decref(filters);
        api_respond_error(call->connection, &err);
        return;
    }
    const json_t *references = filters ? json_object_get(filters, "reference") : NULL;
    if (json_is_object(references)) {
        json_t *images = json_loads(json, 0, NULL);
        _cleanup_free_ char *filtered = NULL;
        if (images != NULL) {
            api_images_filter_references(images, references);
            filtered = json_dumps(images, JSON_COMPACT);
            json_decref(images);
        }
        if (filtered != NULL) {
            free(json);
            json = steal_pointer(&filtered);
        }
    }
    json_decref(filters);
    api_respond_json(call->connection, 200, json);
}

void api_handle_image_inspect(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *json = NULL;
    if (engine_image_inspect_json(call->api->engine, call->name, &json, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_json(call->connection, 200, json);
}

void api_handle_image_remove(struct api_call *call)
{
    struct keel_error err;
    bool force, noprune;
    _cleanup_free_ char *json = NULL;
    /* noprune: the store keeps no parent images to prune. */
    if (api_query_bool(call->request, "force", false, &force, &err) < 0 ||
        api_query_bool(call->request, "noprune", false, &noprune, &err) < 0 ||
        engine_image_remove_json(call->api->engine, call->name, force, &json, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_json(call->connection, 200, json);
}

/* POST /images/create: docker run pulls a missing image with it. The
 * engine has no registry client: say so, with the status dockerd gives a
 * repository it cannot find, so docker run fails as it would there. */
void api_handle_image_pull(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *image = NULL, *tag = NULL;
    if (api_query_string(call->request, "fromImage", &image, &err) < 0 ||
        api_query_string(call->request, "tag", &tag, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    if (image == NULL) {
        api_respond_message(call->connection, 400,
                            "importing an image from a URL or a body is not supported");
        return;
    }
    api_respond_message(
        call->connection, 404,
        "pull %s%s%s: this engine does not pull images from registries; load the image with docker "
        "load",
        image, tag != NULL ? ":" : "", tag != NULL ? tag : "");
}

/* ---- load ----
 * The body goes into a pipe as it arrives (http_connection_body_to_fd,
 * with back-pressure), the engine's loader thread reads the other end.
 * Two completions in either order: the body's end and the load's. */

struct api_load {
    struct api_link link;               /* api->loads */
    struct api *api;                    /* NULL once the API is gone */
    struct http_connection *connection; /* NULL once answered or gone */
    int pipe_write;                     /* ours until the body's done */
    bool body_done;
    bool load_done;
    bool load_failed;
    struct keel_error load_err;
    char **loaded; /* "Loaded image: x" lines, NULL-terminated */
};

static void api_load_free(struct api_load *load)
{
    api_list_remove(&load->link);
    if (load->pipe_write >= 0)
        close(load->pipe_write);
    if (load->loaded != NULL)
        for (char **line = load->loaded; *line != NULL; line++)
            free(*line);
    free(load->loaded);
    free(load);
}

static void api_load_maybe_free(struct api_load *load)
{
    if (load->body_done && load->load_done && load->connection == NULL)
        api_load_free(load);
}

static void api_load_on_close(struct http_connection *connection, void *data)
{
    struct api_load *load = data;
    (void)connection;
    load->connection = NULL;
    api_load_maybe_free(load);
}

/* One of Docker's JSON messages, each followed by a newline. */
static void api_load_write_message(struct http_connection *connection, json_t *message)
{
    _cleanup_free_ char *text = json_dumps(message, JSON_COMPACT);
    json_decref(message);
    if (text == NULL)
        return;
    http_stream_write(connection, text, strlen(text));
    http_stream_write(connection, "\n", 1);
}

/* Answer as dockerd does: 200 and a stream of {"stream": "Loaded image:
 * x\n"}, or the failure inside the stream as {"errorDetail": ..., "error":
 * ...}, where docker load looks for it. */
static void api_load_answer(struct api_load *load)
{
    struct http_connection *connection = load->connection;
    if (connection == NULL)
        return;
    load->connection = NULL;
    http_connection_set_close_callback(connection, NULL, NULL);
    if (api_stream_begin(connection, 200, "application/json") < 0)
        return;
    if (load->load_failed) {
        api_load_write_message(connection,
                               json_pack("{s:{s:s}, s:s}", "errorDetail", "message",
                                         load->load_err.message, "error", load->load_err.message));
    } else {
        for (char **line = load->loaded; line != NULL && *line != NULL; line++) {
            _cleanup_free_ char *text = NULL;
            /* Docker's words: an image without a name goes by its id. */
            const char *words = strncmp(*line, "Loaded image", 12) == 0 ? ""
                                : strncmp(*line, "sha256:", 7) == 0     ? "Loaded image ID: "
                                                                        : "Loaded image: ";
            size_t length = strlen(*line);
            bool newline = length > 0 && (*line)[length - 1] == '\n';
            if (asprintf(&text, "%s%s%s", words, *line, newline ? "" : "\n") < 0)
                continue;
            api_load_write_message(connection, json_pack("{s:s}", "stream", text));
        }
    }
    http_stream_end(connection);
}

static void api_load_on_body_done(struct http_connection *connection, bool ok, void *data)
{
    struct api_load *load = data;
    (void)connection;
    (void)ok; /* a body cut short makes the loader fail: its error says why */
    /* The loader sees the archive's end. */
    close(load->pipe_write);
    load->pipe_write = -1;
    load->body_done = true;
    if (load->load_done)
        api_load_answer(load);
    api_load_maybe_free(load);
}

static void api_load_on_done(const char *const *loaded, const struct keel_error *err, void *data)
{
    struct api_load *load = data;
    load->load_done = true;
    if (err != NULL) {
        load->load_failed = true;
        load->load_err = *err;
    } else if (loaded != NULL) {
        size_t count = 0;
        while (loaded[count] != NULL)
            count++;
        load->loaded = calloc(count + 1, sizeof *load->loaded);
        for (size_t i = 0; load->loaded != NULL && i < count; i++)
            load->loaded[i] = strdup(loaded[i]);
    }
    /* The answer follows the whole request: after a failure the rest of
     * the body, which the loader no longer reads, fails the pipe (EPIPE)
     * and so ends the body soon. */
    if (load->body_done)
        api_load_answer(load);
    api_load_maybe_free(load);
}

void api_handle_images_load(struct api_call *call)
{
    struct api *api = call->api;
    struct keel_error err;
    bool quiet;
    int pipe_fds[2];

    /* quiet only silences progress, which is not sent. */
    if (api_query_bool(call->request, "quiet", true, &quiet, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    struct api_load *load = calloc(1, sizeof *load);
    if (load == NULL || pipe2(pipe_fds, O_CLOEXEC) < 0) {
        free(load);
        api_respond_message(call->connection, 500, "load: %s", strerror(errno));
        return;
    }
    api_list_init(&load->link);
    load->api = api;
    load->pipe_write = pipe_fds[1];
    /* Our end never blocks the loop; the loader's end blocks its thread. A
     * bigger pipe means fewer wake-ups per megabyte. */
    fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
    fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);

    if (engine_image_load(api->engine, pipe_fds[0], NULL, api_load_on_done, load, &err) < 0) {
        api_load_free(load);
        api_respond_error(call->connection, &err);
        return;
    }
    load->connection = call->connection;
    api_list_add(&api->loads, &load->link);
    http_connection_set_close_callback(call->connection, api_load_on_close, load);
    if (http_connection_body_to_fd(call->connection, load->pipe_write, api_load_on_body_done, load,
                                   &err) < 0) {
        /* The loader sees an empty archive and fails; its done frees. */
        close(load->pipe_write);
        load->pipe_write = -1;
        load->body_done = true;
        load->connection = NULL;
        http_connection_set_close_callback(call->connection, NULL, NULL);
        api_respond_error(call->connection, &err);
    }
}

void api_images_orphan_all(struct api *api)
{
    while (!api_list_empty(&api->loads)) {
        struct api_load *load = api_container_of(api->loads.next, struct api_load, link);
        /* Its done may still come from the engine: it frees then. */
        api_list_remove(&load->link);
        load->api = NULL;
        load->connection = NULL;
    }
}
