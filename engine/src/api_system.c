/* api_system.c — GET/HEAD /_ping, GET /version, GET /info, and GET /events: the engine's events
 * kept in a short history and streamed to subscribers through Docker's filters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "api_internal.h"
#include "cleanup.h"

#ifndef KEEL_GIT_COMMIT
#define KEEL_GIT_COMMIT ""
#endif

/* ---- _ping, version, info ---- */

void api_handle_ping(struct api_call *call)
{
    /* dockerd's ping is never cached, and answers HEAD with an empty body. */
    static const char headers[] =
        API_HEADERS "Cache-Control: no-cache, no-store, must-revalidate\r\n"
                    "Pragma: no-cache\r\n";
    bool head = strcmp(call->request->method, "HEAD") == 0;
    http_respond(call->connection, 200, "text/plain; charset=utf-8", headers, head ? NULL : "OK",
                 head ? 0 : 2);
}

/* Go's GOARCH for the kernel's machine name. */
static const char *api_architecture(const char *machine)
{
    static const struct {
        const char *machine, *go;
    } names[] = {{"x86_64", "amd64"},
                 {"aarch64", "arm64"},
                 {"i686", "386"},
                 {"armv7l", "arm"},
                 {"riscv64", "riscv64"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(machine, names[i].machine) == 0)
            return names[i].go;
    return machine;
}

json_t *api_version_object(void)
{
    struct utsname host;
    if (uname(&host) < 0)
        memset(&host, 0, sizeof host);
    const char *arch = api_architecture(host.machine);
    /* The engine is no Go program: GoVersion says so in Docker's field. */
    return json_pack("{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}],"
                     " s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                     "Platform", "Name", "Keel",                                         /* */
                     "Components", "Name", "Engine", "Version", KEEL_VERSION, "Details", /* */
                     "ApiVersion", API_VERSION, "Arch", arch, "BuildTime", "", "Experimental",
                     "false", "GitCommit", KEEL_GIT_COMMIT, "GoVersion", "n/a", "KernelVersion",
                     host.release, "MinAPIVersion", API_MIN_VERSION, "Os", "linux", /* */
                     "Version", KEEL_VERSION, "ApiVersion", API_VERSION, "MinAPIVersion",
                     API_MIN_VERSION, "GitCommit", KEEL_GIT_COMMIT, "GoVersion", "n/a", "Os",
                     "linux", "Arch", arch, "KernelVersion", host.release, "BuildTime", "");
}

void api_handle_version(struct api_call *call)
{
    json_t *version = api_version_object();
    if (version == NULL) {
        api_respond_message(call->connection, 500, "build the version object");
        return;
    }
    api_respond_json_value(call->connection, 200, version);
    json_decref(version);
}

void api_handle_info(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *json = NULL;
    if (engine_info_json(call->api->engine, &json, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_json(call->connection, 200, json);
}

/* ---- filters ---- */

static const json_t *api_filter_set(const json_t *filters, const char *key)
{
    const json_t *set = filters != NULL ? json_object_get(filters, key) : NULL;
    return set != NULL && json_object_size(set) > 0 ? set : NULL;
}

/* dockerd's ExactMatch: no such filter, or value is one of its values. */
static bool api_filter_exact(const json_t *filters, const char *key, const char *value)
{
    const json_t *set = api_filter_set(filters, key);
    return set == NULL || (value != NULL && json_object_get(set, value) != NULL);
}

/* dockerd's FuzzyMatch: exact, or one of the values is a prefix. */
static bool api_filter_fuzzy(const json_t *filters, const char *key, const char *value)
{
    const json_t *set = api_filter_set(filters, key);
    if (set == NULL)
        return true;
    if (value == NULL)
        return false;
    const char *wanted;
    json_t *flag;
    json_object_foreach((json_t *)set, wanted, flag)
    {
        if (strncmp(value, wanted, strlen(wanted)) == 0)
            return true;
    }
    return false;
}

static const char *api_event_string(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

/* "busybox:latest" -> "busybox"; a registry's port ("host:5000/x") stays. */
static bool api_filter_image_exact(const json_t *filters, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    if (api_filter_exact(filters, "image", name))
        return true;
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash != NULL ? slash : name, ':');
    if (colon == NULL)
        return false;
    _cleanup_free_ char *untagged = strndup(name, (size_t)(colon - name));
    return untagged != NULL && api_filter_exact(filters, "image", untagged);
}

/* Each "label" filter ("key" or "key=value") must be among the attributes. */
static bool api_filter_labels(const json_t *filters, const json_t *attributes)
{
    const json_t *set = api_filter_set(filters, "label");
    if (set == NULL)
        return true;
    const char *label;
    json_t *flag;
    json_object_foreach((json_t *)set, label, flag)
    {
        const char *equals = strchr(label, '=');
        _cleanup_free_ char *key =
            strndup(label, equals != NULL ? (size_t)(equals - label) : strlen(label));
        const char *value = key != NULL ? api_event_string(attributes, key) : NULL;
        if (value == NULL || (equals != NULL && strcmp(value, equals + 1) != 0))
            return false;
    }
    return true;
}

static bool api_filter_event(const json_t *filters, const char *action)
{
    const json_t *set = api_filter_set(filters, "event");
    if (set == NULL)
        return true;
    /* Actions such as "exec_start: sh -c ..." carry their command: a filter
     * names them without it. */
    static const char *const prefixed[] = {"exec_create", "exec_start", "health_status"};
    for (size_t i = 0; i < sizeof prefixed / sizeof prefixed[0]; i++)
        if (json_object_get(set, prefixed[i]) != NULL)
            return api_filter_fuzzy(filters, "event", action);
    return api_filter_exact(filters, "event", action);
}

bool api_event_matches(const json_t *event, const json_t *filters)
{
    const char *type = api_event_string(event, "Type");
    const char *action = api_event_string(event, "Action");
    const json_t *actor = json_object_get(event, "Actor");
    const json_t *attributes = json_object_get(actor, "Attributes");
    const char *id = api_event_string(actor, "ID");
    const char *name = api_event_string(attributes, "name");

    if (action == NULL)
        action = api_event_string(event, "status");
    if (!api_filter_exact(filters, "type", type) || !api_filter_exact(filters, "scope", "local") ||
        !api_filter_event(filters, action) || !api_filter_labels(filters, attributes))
        return false;
    if (!(api_filter_fuzzy(filters, "container", id) ||
          api_filter_fuzzy(filters, "container", name)))
        return false;
    if (api_filter_set(filters, "image") != NULL) {
        bool image_event = type != NULL && strcmp(type, "image") == 0;
        const char *image = api_event_string(attributes, image_event ? "name" : "image");
        if (!api_filter_image_exact(filters, id) && !api_filter_image_exact(filters, image))
            return false;
    }
    /* Objects the engine has none of (networks, volumes, ...): only their
     * own events could match. */
    static const char *const foreign[] = {"daemon", "network", "volume", "plugin",
                                          "node",   "service", "secret", "config"};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
        if (api_filter_set(filters, foreign[i]) != NULL &&
            (type == NULL || strcmp(type, foreign[i]) != 0 ||
             !api_filter_fuzzy(filters, foreign[i], id)))
            return false;
    return true;
}

/* ---- the history and the streams ---- */

struct api_event_stream {
    struct api_link link; /* api->event_streams */
    struct api *api;
    struct http_connection *connection;
    json_t *filters;
    struct timespec until; /* {0,0}: none */
    struct loop_timer *until_timer;
};

static bool api_time_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static bool api_time_is_zero(const struct timespec *time)
{
    return time->tv_sec == 0 && time->tv_nsec == 0;
}

static struct timespec api_event_time(const json_t *event)
{
    struct timespec time = {0};
    json_t *nano = json_object_get(event, "timeNano");
    if (json_is_integer(nano)) {
        json_int_t value = json_integer_value(nano);
        time.tv_sec = (time_t)(value / 1000000000);
        time.tv_nsec = (long)(value % 1000000000);
    } else if (json_is_integer(json_object_get(event, "time"))) {
        time.tv_sec = (time_t)json_integer_value(json_object_get(event, "time"));
    }
    return time;
}

static void api_event_stream_free(struct api_event_stream *stream)
{
    api_list_remove(&stream->link);
    loop_timer_free(stream->until_timer);
    json_decref(stream->filters);
    free(stream);
}

static void api_event_stream_end(struct api_event_stream *stream)
{
    http_stream_end(stream->connection);
    api_event_stream_free(stream);
}

static void api_event_stream_on_close(struct http_connection *connection, void *data)
{
    (void)connection;
    api_event_stream_free(data);
}

static int api_event_stream_on_until(struct loop *loop, struct loop_timer *timer, void *user,
                                     struct keel_error *err)
{
    (void)loop;
    (void)timer;
    (void)err;
    api_event_stream_end(user);
    return 0;
}

/* Send one event when the stream wants it; false when the stream ended. */
static bool api_event_stream_offer(struct api_event_stream *stream, const char *json,
                                   const json_t *event, const struct timespec *time)
{
    if (!api_time_is_zero(&stream->until) && api_time_before(&stream->until, time))
        return true;
    if (!api_event_matches(event, stream->filters))
        return true;
    http_stream_write(stream->connection, json, strlen(json));
    http_stream_write(stream->connection, "\n", 1);
    if (http_connection_pending(stream->connection) > API_PENDING_MAX) {
        /* A subscriber this far behind is dropped, as dockerd drops one
         * whose queue is full. */
        api_event_stream_end(stream);
        return false;
    }
    return true;
}

static void api_on_engine_event(const char *json, void *user)
{
    struct api *api = user;
    json_t *event = json_loads(json, 0, NULL);
    if (event == NULL)
        return;
    struct timespec time = api_event_time(event);

    char *copy = strdup(json);
    if (copy != NULL) {
        size_t slot = (api->history_first + api->history_count) % API_EVENT_HISTORY;
        if (api->history_count == API_EVENT_HISTORY) {
            free(api->history[slot].json);
            api->history_first = (api->history_first + 1) % API_EVENT_HISTORY;
        } else {
            api->history_count++;
        }
        api->history[slot] = (struct api_event_record){.json = copy, .time = time};
    }

    const json_t *actor = json_object_get(event, "Actor");
    api_streams_on_event(api, api_event_string(event, "Type"), api_event_string(event, "Action"),
                         api_event_string(actor, "ID"));

    for (struct api_link *link = api->event_streams.next, *next; link != &api->event_streams;
         link = next) {
        next = link->next;
        api_event_stream_offer(api_container_of(link, struct api_event_stream, link), json, event,
                               &time);
    }
    json_decref(event);
}

int api_events_start(struct api *api, struct keel_error *err)
{
    if (engine_events_subscribe(api->engine, api_on_engine_event, api, &api->event_subscription,
                                err) < 0)
        return keel_error_prefix(err, "subscribe to the engine's events");
    return 0;
}

void api_events_stop(struct api *api)
{
    while (!api_list_empty(&api->event_streams))
        api_event_stream_free(
            api_container_of(api->event_streams.next, struct api_event_stream, link));
    if (api->event_subscription != NULL)
        engine_events_cancel(api->event_subscription);
    api->event_subscription = NULL;
    for (size_t i = 0; i < api->history_count; i++)
        free(api->history[(api->history_first + i) % API_EVENT_HISTORY].json);
    api->history_count = 0;
}

static int api_query_time(const struct http_request *request, const char *name,
                          const struct timespec *now, struct timespec *time, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    *time = (struct timespec){0};
    if (api_query_string(request, name, &text, err) < 0)
        return -1;
    if (text != NULL && container_log_parse_time(text, now, time, err) < 0)
        return keel_error_prefix(err, "invalid value for %s", name);
    return 0;
}

void api_handle_events(struct api_call *call)
{
    struct api *api = call->api;
    struct keel_error err;
    struct timespec now, since, until;
    json_t *filters = NULL;

    clock_gettime(CLOCK_REALTIME, &now);
    if (api_query_time(call->request, "since", &now, &since, &err) < 0 ||
        api_query_time(call->request, "until", &now, &until, &err) < 0 ||
        api_query_filters(call->request, &filters, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    struct api_event_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL) {
        json_decref(filters);
        api_respond_message(call->connection, 500, "out of memory");
        return;
    }
    api_list_init(&stream->link);
    stream->api = api;
    stream->connection = call->connection;
    stream->filters = filters;
    stream->until = until;
    bool until_passed = !api_time_is_zero(&until) && !api_time_before(&now, &until);
    if (!api_time_is_zero(&until) && !until_passed) {
        int64_t delay_ms =
            (int64_t)(until.tv_sec - now.tv_sec) * 1000 + (until.tv_nsec - now.tv_nsec) / 1000000;
        if (loop_timer_new(api->loop, api_event_stream_on_until, stream, &stream->until_timer,
                           &err) < 0 ||
            loop_timer_arm(stream->until_timer, delay_ms > 0 ? (uint64_t)delay_ms : 0, 0, &err) <
                0) {
            api_event_stream_free(stream);
            api_respond_error(call->connection, &err);
            return;
        }
    }
    /* Headers go out now, as dockerd flushes them: a client waits on them. */
    if (api_stream_begin(call->connection, 200, "application/json") < 0) {
        api_event_stream_free(stream);
        return;
    }
    http_connection_set_close_callback(call->connection, api_event_stream_on_close, stream);
    api_list_add(&api->event_streams, &stream->link);

    if (!api_time_is_zero(&since) || !api_time_is_zero(&until)) {
        for (size_t i = 0; i < api->history_count; i++) {
            const struct api_event_record *record =
                &api->history[(api->history_first + i) % API_EVENT_HISTORY];
            if (!api_time_is_zero(&since) && api_time_before(&record->time, &since))
                continue;
            json_t *event = json_loads(record->json, 0, NULL);
            bool alive =
                event == NULL || api_event_stream_offer(stream, record->json, event, &record->time);
            json_decref(event);
            if (!alive)
                return;
        }
    }
    if (until_passed)
        api_event_stream_end(stream);
}
