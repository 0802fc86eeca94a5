/* api_containers.c — the containers' endpoints that are no streams: create, list, inspect, start,
 * stop, restart, kill, wait, remove, resize; the waits and stops answered when the engine calls
 * back. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cleanup.h"

/* ---- facts ---- */

void api_container_facts_clear(struct api_container_facts *facts)
{
    free(facts->id);
    *facts = (struct api_container_facts){0};
}

int api_container_facts_get(struct api *api, const char *reference,
                            struct api_container_facts *facts, struct keel_error *err)
{
    _cleanup_free_ char *json = NULL;
    *facts = (struct api_container_facts){0};
    if (engine_container_inspect_json(api->engine, reference, &json, err) < 0)
        return -1;
    json_t *root = json_loads(json, 0, NULL);
    const json_t *state = json_object_get(root, "State");
    const json_t *config = json_object_get(root, "Config");
    const char *id = json_string_value(json_object_get(root, "Id"));
    if (id == NULL || (facts->id = strdup(id)) == NULL) {
        json_decref(root);
        return keel_error_set(err, EIO, "container %s: its inspect object has no Id", reference);
    }
    facts->running = json_is_true(json_object_get(state, "Running"));
    facts->tty = json_is_true(json_object_get(config, "Tty"));
    facts->open_stdin = json_is_true(json_object_get(config, "OpenStdin"));
    /* No StdinOnce at all: the client's end of input ends the container's. */
    const json_t *stdin_once = json_object_get(config, "StdinOnce");
    facts->stdin_once = stdin_once == NULL || json_is_true(stdin_once);
    json_decref(root);
    return 0;
}

/* ---- create, list, inspect ---- */

void api_handle_container_create(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *name = NULL, *id = NULL;
    json_t *request = NULL, *warnings = NULL;

    if (call->request->body == NULL || call->request->body_length == 0) {
        api_respond_message(call->connection, 400,
                            "config cannot be empty in order to create a container");
        return;
    }
    if (api_query_string(call->request, "name", &name, &err) < 0 ||
        api_body_json(call->request, true, &request, &err) < 0 ||
        engine_container_create(call->api->engine, request, name, &id, &warnings, &err) < 0) {
        json_decref(request);
        api_respond_error(call->connection, &err);
        return;
    }
    json_decref(request);
    json_t *answer = json_pack("{s:s, s:o}", "Id", id, "Warnings",
                               json_is_array(warnings) ? json_incref(warnings) : json_array());
    json_decref(warnings);
    if (answer == NULL) {
        api_respond_message(call->connection, 500, "out of memory");
        return;
    }
    api_respond_json_value(call->connection, 201, answer);
    json_decref(answer);
}

void api_handle_containers_list(struct api_call *call)
{
    struct keel_error err;
    bool all;
    long limit;
    json_t *filters = NULL;
    _cleanup_free_ char *json = NULL;

    if (api_query_bool(call->request, "all", false, &all, &err) < 0 ||
        api_query_long(call->request, "limit", -1, LONG_MIN, LONG_MAX, &limit, &err) < 0 ||
        api_query_filters(call->request, &filters, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    /* A limit counts stopped containers too, as dockerd's does. */
    int result =
        engine_container_list_json(call->api->engine, all || limit > 0, filters, &json, &err);
    json_decref(filters);
    if (result < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    if (limit <= 0) {
        api_respond_json(call->connection, 200, json);
        return;
    }
    /* The engine lists newest first: the first limit ones. */
    json_t *list = json_loads(json, 0, NULL);
    if (!json_is_array(list)) {
        json_decref(list);
        api_respond_message(call->connection, 500,
                            "the engine's container list is not a JSON array");
        return;
    }
    while (json_array_size(list) > (size_t)limit)
        json_array_remove(list, json_array_size(list) - 1);
    api_respond_json_value(call->connection, 200, list);
    json_decref(list);
}

void api_handle_container_inspect(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *json = NULL;
    if (engine_container_inspect_json(call->api->engine, call->name, &json, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_json(call->connection, 200, json);
}

/* ---- start, kill, remove, resize ---- */

void api_handle_container_start(struct api_call *call)
{
    struct keel_error err;
    if (engine_container_start(call->api->engine, call->name, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_empty(call->connection, 204);
}

void api_handle_container_kill(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *signal = NULL;
    if (api_query_string(call->request, "signal", &signal, &err) < 0 ||
        engine_container_kill(call->api->engine, call->name, signal, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_empty(call->connection, 204);
}

void api_handle_container_remove(struct api_call *call)
{
    struct keel_error err;
    bool force, volumes;
    /* v: the engine makes no anonymous volumes to remove. */
    if (api_query_bool(call->request, "force", false, &force, &err) < 0 ||
        api_query_bool(call->request, "v", false, &volumes, &err) < 0 ||
        engine_container_remove(call->api->engine, call->name, force, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_empty(call->connection, 204);
}

void api_handle_container_resize(struct api_call *call)
{
    struct keel_error err;
    struct api_container_facts facts;
    long height, width;
    /* The engine has no way to resize a container's pty yet: a valid
     * request is accepted, as docker run -t sends one at every start. */
    if (api_query_long(call->request, "h", 0, 0, 65535, &height, &err) < 0 ||
        api_query_long(call->request, "w", 0, 0, 65535, &width, &err) < 0 ||
        api_container_facts_get(call->api, call->name, &facts, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_container_facts_clear(&facts);
    api_respond_empty(call->connection, 200);
}

/* ---- stop, restart, wait: answered when the engine calls back ---- */

enum api_operation_kind {
    API_OPERATION_STOP,
    API_OPERATION_RESTART,
    API_OPERATION_WAIT,
};

struct api_operation {
    struct api_link link; /* api->operations */
    enum api_operation_kind kind;
    struct http_connection *connection; /* NULL once the peer has gone */
    struct engine_wait *wait;
    bool in_call; /* inside the engine call that may call back at once */
    bool done;
    int status;
    bool failed;
    struct keel_error err;
};

static void api_operation_free(struct api_operation *operation)
{
    api_list_remove(&operation->link);
    free(operation);
}

static void api_operation_answer(struct api_operation *operation)
{
    struct http_connection *connection = operation->connection;
    if (connection == NULL)
        return;
    operation->connection = NULL;
    http_connection_set_close_callback(connection, NULL, NULL);
    if (operation->kind != API_OPERATION_WAIT) {
        if (operation->failed)
            api_respond_error(connection, &operation->err);
        else
            api_respond_empty(connection, 204);
        return;
    }
    /* The wait's headers went out when it began (the docker CLI waits for
     * them before it starts the container); the body follows now. */
    json_t *body = json_pack(
        "{s:o, s:i}", "Error",
        operation->failed ? json_pack("{s:s}", "Message", operation->err.message) : json_null(),
        "StatusCode", operation->status);
    _cleanup_free_ char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text != NULL) {
        http_stream_write(connection, text, strlen(text));
        http_stream_write(connection, "\n", 1);
    }
    http_stream_end(connection);
}

static void api_operation_on_done(int status, const struct keel_error *err, void *data)
{
    struct api_operation *operation = data;
    operation->done = true;
    operation->wait = NULL; /* the engine is done with it */
    operation->status = status;
    if (err != NULL) {
        operation->failed = true;
        operation->err = *err;
    }
    if (operation->in_call)
        return;
    api_operation_answer(operation);
    api_operation_free(operation);
}

static void api_operation_on_close(struct http_connection *connection, void *data)
{
    struct api_operation *operation = data;
    (void)connection;
    operation->connection = NULL;
    if (operation->kind == API_OPERATION_WAIT) {
        engine_wait_cancel(operation->wait);
        api_operation_free(operation);
    }
    /* A stop or restart cannot be cancelled: its done frees. */
}

/* Run an operation's engine call, then answer now or when done comes. */
static void api_operation_run(struct api_call *call, enum api_operation_kind kind, long timeout_s,
                              const char *condition)
{
    struct api *api = call->api;
    struct keel_error err;
    struct api_operation *operation = calloc(1, sizeof *operation);
    if (operation == NULL) {
        api_respond_message(call->connection, 500, "out of memory");
        return;
    }
    api_list_init(&operation->link);
    operation->kind = kind;
    operation->connection = call->connection;
    operation->in_call = true;
    int result;
    switch (kind) {
    case API_OPERATION_STOP:
        result = engine_container_stop(api->engine, call->name, (int)timeout_s,
                                       api_operation_on_done, operation, &err);
        break;
    case API_OPERATION_RESTART:
        result = engine_container_restart(api->engine, call->name, (int)timeout_s,
                                          api_operation_on_done, operation, &err);
        break;
    default:
        result = engine_container_wait(api->engine, call->name, condition, api_operation_on_done,
                                       operation, &operation->wait, &err);
        break;
    }
    operation->in_call = false;
    if (result < 0) {
        api_operation_free(operation);
        api_respond_error(call->connection, &err);
        return;
    }
    if (kind == API_OPERATION_WAIT &&
        api_stream_begin(call->connection, 200, "application/json") < 0) {
        /* The peer has gone: nothing to answer. */
        if (!operation->done)
            engine_wait_cancel(operation->wait);
        api_operation_free(operation);
        return;
    }
    if (operation->done) {
        api_operation_answer(operation);
        api_operation_free(operation);
        return;
    }
    api_list_add(&api->operations, &operation->link);
    http_connection_set_close_callback(call->connection, api_operation_on_close, operation);
}

static int api_query_stop_timeout(const struct http_request *request, long *timeout_s,
                                  struct keel_error *err)
{
    /* -1: the container's StopTimeout, else 10 s. */
    return api_query_long(request, "t", -1, -1, INT_MAX, timeout_s, err);
}

void api_handle_container_stop(struct api_call *call)
{
    struct keel_error err;
    struct api_container_facts facts;
    long timeout_s;
    if (api_query_stop_timeout(call->request, &timeout_s, &err) < 0 ||
        api_container_facts_get(call->api, call->name, &facts, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    bool running = facts.running;
    api_container_facts_clear(&facts);
    /* dockerd: 304 for a container that is not running. */
    if (!running) {
        api_respond_empty(call->connection, 304);
        return;
    }
    api_operation_run(call, API_OPERATION_STOP, timeout_s, NULL);
}

void api_handle_container_restart(struct api_call *call)
{
    struct keel_error err;
    long timeout_s;
    if (api_query_stop_timeout(call->request, &timeout_s, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_operation_run(call, API_OPERATION_RESTART, timeout_s, NULL);
}

void api_handle_container_wait(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *condition = NULL;
    if (api_query_string(call->request, "condition", &condition, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    if (condition != NULL && strcmp(condition, "not-running") != 0 &&
        strcmp(condition, "next-exit") != 0 && strcmp(condition, "removed") != 0) {
        api_respond_message(call->connection, 400, "invalid condition: \"%s\"", condition);
        return;
    }
    api_operation_run(call, API_OPERATION_WAIT, 0, condition != NULL ? condition : "not-running");
}

void api_containers_orphan_all(struct api *api)
{
    /* Waits went with their connections; stops and restarts still owe a
     * done, which frees them. */
    while (!api_list_empty(&api->operations)) {
        struct api_operation *operation =
            api_container_of(api->operations.next, struct api_operation, link);
        api_list_remove(&operation->link);
        operation->connection = NULL;
    }
}
