/* api.c — the API's frame: api_new/free, routing with the /vX.Y prefix, answers with Docker's
 * headers, error mapping, query and body parsing, deferred work. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cleanup.h"
#include "json_path.h"

/* ---- routing ---- */

/* dockerd's routes, in its order; {name} is ".*" there too, so an image
 * name with '/' and ':' is the whole middle of the path. */
static const struct api_route api_routes[] = {
    {"GET", "/_ping", false, "", "SystemPing", api_handle_ping, false},
    {"HEAD", "/_ping", false, "", "SystemPingHead", api_handle_ping, false},
    {"GET", "/version", false, "", "SystemVersion", api_handle_version, false},
    {"GET", "/info", false, "", "SystemInfo", api_handle_info, false},
    {"GET", "/events", false, "", "SystemEvents", api_handle_events, false},
    {"GET", "/images/json", false, "", "ImageList", api_handle_images_list, false},
    {"POST", "/images/create", false, "", "ImageCreate", api_handle_image_pull, false},
    {"POST", "/images/load", false, "", "ImageLoad", api_handle_images_load, true},
    {"GET", "/images/", true, "/json", "ImageInspect", api_handle_image_inspect, false},
    {"DELETE", "/images/", true, "", "ImageDelete", api_handle_image_remove, false},
    {"POST", "/containers/create", false, "", "ContainerCreate", api_handle_container_create,
     false},
    {"GET", "/containers/json", false, "", "ContainerList", api_handle_containers_list, false},
    {"GET", "/containers/", true, "/json", "ContainerInspect", api_handle_container_inspect, false},
    {"GET", "/containers/", true, "/logs", "ContainerLogs", api_handle_container_logs, false},
    {"POST", "/containers/", true, "/start", "ContainerStart", api_handle_container_start, false},
    {"POST", "/containers/", true, "/stop", "ContainerStop", api_handle_container_stop, false},
    {"POST", "/containers/", true, "/restart", "ContainerRestart", api_handle_container_restart,
     false},
    {"POST", "/containers/", true, "/kill", "ContainerKill", api_handle_container_kill, false},
    {"POST", "/containers/", true, "/wait", "ContainerWait", api_handle_container_wait, false},
    {"POST", "/containers/", true, "/attach", "ContainerAttach", api_handle_container_attach,
     false},
    {"POST", "/containers/", true, "/resize", "ContainerResize", api_handle_container_resize,
     false},
    {"POST", "/containers/", true, "/exec", "ContainerExec", api_handle_exec_create, false},
    {"DELETE", "/containers/", true, "", "ContainerDelete", api_handle_container_remove, false},
    {"POST", "/exec/", true, "/start", "ExecStart", api_handle_exec_start, false},
    {"POST", "/exec/", true, "/resize", "ExecResize", api_handle_exec_resize, false},
    {"GET", "/exec/", true, "/json", "ExecInspect", api_handle_exec_inspect, false},
};

int api_version_compare(const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        /* Anything else than digits and dots cannot come from the split. */
        if ((*a != '\0' && !isdigit((unsigned char)*a)) ||
            (*b != '\0' && !isdigit((unsigned char)*b)))
            break;
    }
    return 0;
}

int api_version_split(const char *path, const char **rest, char *version, size_t size,
                      struct keel_error *err)
{
    *rest = path;
    snprintf(version, size, "%s", API_VERSION);
    if (strncmp(path, "/v", 2) != 0)
        return 0;
    size_t length = strspn(path + 2, "0123456789.");
    if (length == 0 || path[2 + length] != '/')
        return 0;
    if (length >= size)
        return keel_error_invalid(err, "client version %.*s is not a version", (int)length,
                                  path + 2);
    memcpy(version, path + 2, length);
    version[length] = '\0';
    *rest = path + 2 + length;
    if (api_version_compare(version, API_MIN_VERSION) < 0)
        return keel_error_invalid(
            err,
            "client version %s is too old. Minimum supported API version is %s, please "
            "upgrade your client to a newer version",
            version, API_MIN_VERSION);
    if (api_version_compare(version, API_VERSION) > 0)
        return keel_error_invalid(
            err, "client version %s is too new. Maximum supported API version is %s", version,
            API_VERSION);
    return 0;
}

const struct api_route *api_route_match(const char *method, const char *path, const char **name,
                                        size_t *name_length)
{
    size_t path_length = strlen(path);
    for (size_t i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++) {
        const struct api_route *route = &api_routes[i];
        size_t prefix_length = strlen(route->prefix), suffix_length = strlen(route->suffix);
        if (strcmp(route->method, method) != 0 || strncmp(path, route->prefix, prefix_length) != 0)
            continue;
        if (!route->has_name) {
            if (path_length != prefix_length)
                continue;
            *name = "";
            *name_length = 0;
            return route;
        }
        if (path_length < prefix_length + suffix_length ||
            strcmp(path + path_length - suffix_length, route->suffix) != 0)
            continue;
        *name = path + prefix_length;
        *name_length = path_length - prefix_length - suffix_length;
        return route;
    }
    return NULL;
}

/* ---- answers ---- */

int api_status_from_errno(int errno_value)
{
    switch (errno_value) {
    case ENOENT:
        return 404;
    case EEXIST:
    case EBUSY:
        return 409;
    case EINVAL:
        return 400;
    case EALREADY:
        return 304;
    default:
        return 500;
    }
}

int api_respond_json(struct http_connection *connection, int status, const char *json)
{
    return http_respond(connection, status, "application/json", API_HEADERS, json, strlen(json));
}

int api_respond_json_value(struct http_connection *connection, int status, const json_t *value)
{
    _cleanup_free_ char *text = json_dumps(value, JSON_COMPACT);
    if (text == NULL)
        return api_respond_message(connection, 500, "out of memory");
    return api_respond_json(connection, status, text);
}

static int api_respond_text_message(struct http_connection *connection, int status,
                                    const char *message)
{
    json_t *object = json_pack("{s:s}", "message", message);
    if (object == NULL) /* not UTF-8: say so rather than nothing */
        object = json_pack("{s:s}", "message", "error message is not valid UTF-8");
    int result = api_respond_json_value(connection, status, object);
    json_decref(object);
    return result;
}

int api_respond_message(struct http_connection *connection, int status, const char *format, ...)
{
    char message[KEEL_ERROR_MESSAGE_MAX];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    return api_respond_text_message(connection, status, message);
}

int api_respond_error(struct http_connection *connection, const struct keel_error *err)
{
    int status = api_status_from_errno(err->errno_value);
    if (status == 304)
        return api_respond_empty(connection, 304);
    return api_respond_text_message(connection, status, err->message);
}

int api_respond_empty(struct http_connection *connection, int status)
{
    return http_respond(connection, status, NULL, API_HEADERS, NULL, 0);
}

int api_stream_begin(struct http_connection *connection, int status, const char *content_type)
{
    return http_stream_begin(connection, status, content_type, API_HEADERS);
}

/* ---- requests ---- */

int api_query_string(const struct http_request *request, const char *name, char **value,
                     struct keel_error *err)
{
    *value = NULL;
    int found = http_request_query(request, name, value, err);
    if (found < 0)
        return keel_error_prefix(err, "query parameter %s", name);
    if (found > 0 && (*value)[0] == '\0') {
        free(*value);
        *value = NULL;
    }
    return 0;
}

int api_query_bool(const struct http_request *request, const char *name, bool fallback, bool *value,
                   struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    int found = http_request_query(request, name, &text, err);
    if (found < 0)
        return keel_error_prefix(err, "query parameter %s", name);
    if (found == 0) {
        *value = fallback;
        return 0;
    }
    static const char *const falses[] = {"", "0", "no", "false", "none"};
    *value = true;
    for (size_t i = 0; i < sizeof falses / sizeof falses[0]; i++)
        if (strcasecmp(text, falses[i]) == 0)
            *value = false;
    return 0;
}

int api_query_long(const struct http_request *request, const char *name, long fallback, long min,
                   long max, long *value, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    if (api_query_string(request, name, &text, err) < 0)
        return -1;
    if (text == NULL) {
        *value = fallback;
        return 0;
    }
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || number < min || number > max)
        return keel_error_invalid(
            err, "invalid value for %s: \"%s\" (expected an integer from %ld to %ld)", name, text,
            min, max);
    *value = number;
    return 0;
}

int api_body_json(const struct http_request *request, bool required, json_t **object,
                  struct keel_error *err)
{
    *object = NULL;
    if (request->body == NULL || request->body_length == 0) {
        if (required)
            return keel_error_invalid(err, "the request needs a JSON body");
        return 0;
    }
    if (json_path_decode(request->body, request->body_length, API_JSON_BODY_MAX, object, err) < 0)
        return keel_error_prefix(err, "request body");
    return 0;
}

int api_filters_normalize(const char *text, json_t **filters, struct keel_error *err)
{
    json_error_t error;
    json_t *parsed = json_loads(text, 0, &error);
    *filters = NULL;
    if (parsed == NULL)
        return keel_error_invalid(err, "invalid filter: %s", error.text);
    if (!json_is_object(parsed)) {
        json_decref(parsed);
        return keel_error_invalid(err, "invalid filter: expected an object");
    }
    json_t *normalized = json_object();
    const char *key;
    json_t *values;
    json_object_foreach(parsed, key, values)
    {
        json_t *set = json_object();
        json_object_set_new(normalized, key, set);
        if (json_is_array(values)) {
            size_t index;
            json_t *value;
            json_array_foreach(values, index, value)
            {
                if (!json_is_string(value))
                    goto invalid;
                json_object_set_new(set, json_string_value(value), json_true());
            }
        } else if (json_is_object(values)) {
            const char *value;
            json_t *flag;
            json_object_foreach(values, value, flag)
            {
                if (!json_is_boolean(flag))
                    goto invalid;
                if (json_is_true(flag))
                    json_object_set_new(set, value, json_true());
            }
        } else {
            goto invalid;
        }
    }
    json_decref(parsed);
    *filters = normalized;
    return 0;
invalid:
    keel_error_invalid(err, "invalid filter: the values of \"%s\" are neither a list nor a set",
                       key);
    json_decref(parsed);
    json_decref(normalized);
    return -1;
}

int api_query_filters(const struct http_request *request, json_t **filters, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    *filters = NULL;
    if (api_query_string(request, "filters", &text, err) < 0)
        return -1;
    if (text == NULL)
        return 0;
    return api_filters_normalize(text, filters, err);
}

/* ---- deferred work ---- */

void api_defer(struct api *api, struct api_deferred *deferred)
{
    if (deferred->queued)
        return;
    api_list_add(&api->deferred, &deferred->link);
    deferred->queued = true;
    if (!loop_timer_armed(api->deferred_timer)) {
        struct keel_error err;
        /* Arming a timerfd fails only on bad arguments. */
        loop_timer_arm(api->deferred_timer, 0, 0, &err);
    }
}

void api_defer_cancel(struct api_deferred *deferred)
{
    if (!deferred->queued)
        return;
    api_list_remove(&deferred->link);
    deferred->queued = false;
}

static int api_on_deferred(struct loop *loop, struct loop_timer *timer, void *user,
                           struct keel_error *err)
{
    struct api *api = user;
    (void)loop;
    (void)timer;
    (void)err;
    /* Work queued while running waits for the next turn: a producer that
     * re-queues itself cannot starve the loop. */
    struct api_link batch;
    api_list_init(&batch);
    if (!api_list_empty(&api->deferred)) {
        batch.next = api->deferred.next;
        batch.previous = api->deferred.previous;
        batch.next->previous = &batch;
        batch.previous->next = &batch;
        api_list_init(&api->deferred);
    }
    while (!api_list_empty(&batch)) {
        struct api_deferred *deferred = api_container_of(batch.next, struct api_deferred, link);
        api_list_remove(&deferred->link);
        deferred->queued = false;
        deferred->run(deferred);
    }
    return 0;
}

/* ---- the server's callbacks ---- */

static void api_on_request(struct http_connection *connection, const struct http_request *request,
                           void *data)
{
    struct api *api = data;
    struct keel_error err;
    char version[16];
    const char *path, *name;
    size_t name_length;

    if (api_version_split(request->path, &path, version, sizeof version, &err) < 0) {
        api_respond_error(connection, &err);
        return;
    }
    const struct api_route *route = api_route_match(request->method, path, &name, &name_length);
    if (route == NULL) {
        api_respond_message(connection, 404, "page not found");
        return;
    }
    _cleanup_free_ char *name_copy = strndup(name, name_length);
    if (name_copy == NULL) {
        api_respond_message(connection, 500, "out of memory");
        return;
    }
    struct api_call call = {.api = api,
                            .connection = connection,
                            .request = request,
                            .name = name_copy,
                            .version = version};
    route->handler(&call);
}

static bool api_on_stream_body(const struct http_request *request, void *data)
{
    struct keel_error err;
    char version[16];
    const char *path, *name;
    size_t name_length;
    (void)data;
    if (api_version_split(request->path, &path, version, sizeof version, &err) < 0)
        return false;
    const struct api_route *route = api_route_match(request->method, path, &name, &name_length);
    return route != NULL && route->stream_body;
}

/* ---- the API ---- */

int api_new(struct loop *loop, struct engine *engine, const char *socket_path, gid_t socket_group,
            struct api **out, struct keel_error *err)
{
    struct api *api = calloc(1, sizeof *api);
    if (api == NULL)
        return keel_error_set(err, ENOMEM, "serve the API");
    api->loop = loop;
    api->engine = engine;
    api_list_init(&api->event_streams);
    api_list_init(&api->log_streams);
    api_list_init(&api->sessions);
    api_list_init(&api->operations);
    api_list_init(&api->loads);
    api_list_init(&api->deferred);
    if (loop_timer_new(loop, api_on_deferred, api, &api->deferred_timer, err) < 0) {
        free(api);
        return keel_error_prefix(err, "serve the API");
    }
    if (api_events_start(api, err) < 0) {
        api_free(api);
        return keel_error_prefix(err, "serve the API");
    }
    struct http_server_options options = {
        .socket_path = socket_path,
        .socket_mode = 0660,
        .socket_group = socket_group,
        .handler = api_on_request,
        .stream_body = api_on_stream_body,
        .data = api,
    };
    if (http_server_new(loop, &options, &api->server, err) < 0) {
        api_free(api);
        return keel_error_prefix(err, "serve the API on %s", socket_path);
    }
    *out = api;
    return 0;
}

void api_free(struct api *api)
{
    if (api == NULL)
        return;
    /* Closing the connections runs their close callbacks: waits are
     * cancelled, log and event streams freed, stops and loads forget their
     * connection. */
    http_server_free(api->server);
    api->server = NULL;
    api_streams_free_all(api);
    api_containers_orphan_all(api);
    api_images_orphan_all(api);
    api_events_stop(api);
    while (!api_list_empty(&api->deferred))
        api_defer_cancel(api_container_of(api->deferred.next, struct api_deferred, link));
    loop_timer_free(api->deferred_timer);
    free(api);
}

unsigned api_connection_count(const struct api *api)
{
    unsigned count = api->session_count;
    if (api->server != NULL)
        count += http_server_connection_count(api->server);
    return count;
}
