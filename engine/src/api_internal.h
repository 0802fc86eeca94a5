/* api_internal.h — what the API's files share: struct api, one request's call, answers with
 * Docker's headers, error mapping, query and body parsing, the routing's pure parts, deferred work,
 * and the hijacked sessions of attach and exec. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "api.h"
#include "container_log.h"
#include "engine.h"
#include "http_server.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

/* Every answer carries these, as dockerd's version middleware sets them
 * (Go canonicalises "API-Version" to "Api-Version", "OSType" to "Ostype"). */
#define API_HEADERS                                                                                \
    "Api-Version: " API_VERSION                                                                    \
    "\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Keel/" KEEL_VERSION "\r\n"

/* A stream's peer that lets this much pile up unread is dropped: a client
 * that stops reading never makes the daemon grow without bound. */
#define API_PENDING_MAX (8u << 20)
/* Producers that can wait (logs from the file) pause past this and resume
 * from the writable callback, which fires when the queue drains below
 * 64 KiB after having been above it. */
#define API_HIGH_WATER (64u << 10)
/* Request bodies decoded as JSON (create, exec): far above any real one. */
#define API_JSON_BODY_MAX (4u << 20)
/* Events kept for GET /events?since= (dockerd keeps 256 too). */
#define API_EVENT_HISTORY 256

/* ---- intrusive lists ---- */

struct api_link {
    struct api_link *previous, *next;
};

static inline void api_list_init(struct api_link *head)
{
    head->previous = head->next = head;
}

static inline bool api_list_empty(const struct api_link *head)
{
    return head->next == head;
}

static inline void api_list_add(struct api_link *head, struct api_link *link)
{
    link->next = head->next;
    link->previous = head;
    head->next->previous = link;
    head->next = link;
}

/* Unlink; a link removed twice (or never added, once initialised) is fine. */
static inline void api_list_remove(struct api_link *link)
{
    link->previous->next = link->next;
    link->next->previous = link->previous;
    link->previous = link->next = link;
}

#define api_container_of(pointer, type, member)                                                    \
    ((type *)(void *)((char *)(pointer)-offsetof(type, member)))

/* ---- deferred work ----
 * Engine callbacks (output, subscription ends) must not cancel the very
 * subscription that is calling them, nor close what the engine may still
 * be iterating: such work runs from the loop's next turn instead. */
struct api_deferred {
    struct api_link link; /* api->deferred while queued */
    void (*run)(struct api_deferred *deferred);
    bool queued;
};

/* ---- the API ---- */

struct api_event_record {
    char *json;           /* compact, as the engine gave it */
    struct timespec time; /* its timeNano */
};

struct api {
    struct loop *loop;
    struct engine *engine;
    struct http_server *server;
    struct engine_event_subscription *event_subscription;
    struct api_event_record history[API_EVENT_HISTORY]; /* a ring, oldest at history_first */
    size_t history_first, history_count;
    struct api_link event_streams; /* GET /events */
    struct api_link log_streams;   /* GET /containers/ID/logs */
    struct api_link sessions;      /* hijacked: attach, exec start */
    struct api_link operations;    /* waits, stops, restarts in flight */
    struct api_link loads;         /* POST /images/load in flight */
    struct api_link deferred;
    struct loop_timer *deferred_timer;
    unsigned session_count; /* sessions whose socket is open */
};

/* One request on its way through a handler. name is the route's {name}
 * part ("" when none), valid during the handler only. */
struct api_call {
    struct api *api;
    struct http_connection *connection;
    const struct http_request *request;
    const char *name;
    const char *version; /* "1.41": the /vX.Y prefix, or API_VERSION */
};

typedef void api_handler_fn(struct api_call *call);

struct api_route {
    const char *method;
    /* The path is prefix, then (when has_name) a name of any characters, '/'
     * included as in dockerd's {name:.*}, then suffix. */
    const char *prefix;
    bool has_name;
    const char *suffix;
    const char *operation; /* the reference's operation id: "ContainerInspect" */
    api_handler_fn *handler;
    bool stream_body; /* the body goes to a pipe rather than a buffer */
};

/* ---- api.c: routing (pure) ---- */

/* Split a "/vX.Y" prefix off path: *rest is what follows it (the whole
 * path when there is none) and version gets "X.Y" (API_VERSION when none).
 * A version outside API_MIN_VERSION..API_VERSION is EINVAL with dockerd's
 * words. Something like "/vfoo/" is no prefix (and no route: 404). */
int api_version_split(const char *path, const char **rest, char *version, size_t size,
                      struct keel_error *err);
/* Compare dotted versions as dockerd does (numerically, part by part, a
 * missing part being 0): <0, 0, >0. */
int api_version_compare(const char *a, const char *b);
/* The route for method and path (prefix already split off), and its name
 * part; NULL when none (404 "page not found", for an unknown path and a
 * wrong method alike, as dockerd answers). */
const struct api_route *api_route_match(const char *method, const char *path, const char **name,
                                        size_t *name_length);

/* ---- api.c: answers ---- */

/* ENOENT 404, EEXIST and EBUSY 409, EINVAL 400, EALREADY 304, else 500. */
int api_status_from_errno(int errno_value);
/* A JSON text, application/json, with API_HEADERS. */
int api_respond_json(struct http_connection *connection, int status, const char *json);
/* A JSON value (borrowed), compact. */
int api_respond_json_value(struct http_connection *connection, int status, const json_t *value);
/* Docker's error body {"message": ...}. */
int api_respond_message(struct http_connection *connection, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* An error's status from its errno and its message (304: no body). */
int api_respond_error(struct http_connection *connection, const struct keel_error *err);
/* No body: 204, 304, or 200 for the accepted-and-ignored. */
int api_respond_empty(struct http_connection *connection, int status);
/* A chunked stream with API_HEADERS. */
int api_stream_begin(struct http_connection *connection, int status, const char *content_type);

/* ---- api.c: requests ---- */

/* dockerd's BoolValue: present and not "", "0", "no", "false" or "none"
 * (any case); absent: fallback. */
int api_query_bool(const struct http_request *request, const char *name, bool fallback, bool *value,
                   struct keel_error *err);
/* An integer within min..max; absent or empty: fallback. EINVAL otherwise. */
int api_query_long(const struct http_request *request, const char *name, long fallback, long min,
                   long max, long *value, struct keel_error *err);
/* A parameter's value (heap) or NULL when absent or empty. */
int api_query_string(const struct http_request *request, const char *name, char **value,
                     struct keel_error *err);
/* The body as a JSON object. No body: *object NULL when optional, else
 * EINVAL. A malformed one is EINVAL naming line, column and cause. */
int api_body_json(const struct http_request *request, bool required, json_t **object,
                  struct keel_error *err);
/* Docker's filters parameter, {"key":{"value":true}} or the older
 * {"key":["value"]}, as {"key":{"value":true}}; NULL when absent. */
int api_query_filters(const struct http_request *request, json_t **filters, struct keel_error *err);
int api_filters_normalize(const char *text, json_t **filters, struct keel_error *err);

/* ---- api.c: deferred work ---- */

void api_defer(struct api *api, struct api_deferred *deferred);
void api_defer_cancel(struct api_deferred *deferred);

/* ---- api_system.c ---- */

void api_handle_ping(struct api_call *call);
void api_handle_version(struct api_call *call);
void api_handle_info(struct api_call *call);
void api_handle_events(struct api_call *call);
/* GET /version's object (new reference). */
json_t *api_version_object(void);
/* Subscribe to the engine's events (history and streams); at api_free,
 * stop and free the history. */
int api_events_start(struct api *api, struct keel_error *err);
void api_events_stop(struct api *api);
/* Whether a Docker event object passes normalized filters (type, event,
 * container, image, label, scope). */
bool api_event_matches(const json_t *event, const json_t *filters);

/* ---- api_images.c ---- */

void api_handle_images_list(struct api_call *call);
void api_handle_images_load(struct api_call *call);
void api_handle_image_pull(struct api_call *call);
void api_handle_image_inspect(struct api_call *call);
void api_handle_image_remove(struct api_call *call);
/* api_free: loads whose engine callbacks may still come forget the API. */
void api_images_orphan_all(struct api *api);

/* ---- api_containers.c ---- */

void api_handle_container_create(struct api_call *call);
void api_handle_containers_list(struct api_call *call);
void api_handle_container_inspect(struct api_call *call);
void api_handle_container_start(struct api_call *call);
void api_handle_container_stop(struct api_call *call);
void api_handle_container_restart(struct api_call *call);
void api_handle_container_kill(struct api_call *call);
void api_handle_container_wait(struct api_call *call);
void api_handle_container_remove(struct api_call *call);
void api_handle_container_resize(struct api_call *call);
/* api_free: stops and restarts in flight forget the API. */
void api_containers_orphan_all(struct api *api);

/* What the API needs to know of a container, from its inspect object. */
struct api_container_facts {
    char *id; /* full id, heap */
    bool running;
    bool tty;
    bool open_stdin;
    bool stdin_once;
};
int api_container_facts_get(struct api *api, const char *reference,
                            struct api_container_facts *facts, struct keel_error *err);
void api_container_facts_clear(struct api_container_facts *facts);

/* ---- api_exec.c ---- */

void api_handle_exec_create(struct api_call *call);
void api_handle_exec_start(struct api_call *call);
void api_handle_exec_inspect(struct api_call *call);
void api_handle_exec_resize(struct api_call *call);

/* ---- api_streams.c: attach and logs, and the hijacked sessions ---- */

void api_handle_container_attach(struct api_call *call);
void api_handle_container_logs(struct api_call *call);
/* Engine events that concern attaches waiting for their container's start. */
void api_streams_on_event(struct api *api, const char *type, const char *action, const char *id);
/* api_free: end every log stream and attach session. */
void api_streams_free_all(struct api *api);

/* ---- api_session.c: hijacked connections (attach, exec start) ---- */

/* Bytes on their way out (data[start .. start+length)). */
struct api_buffer {
    char *data;
    size_t start, length, capacity;
};
int api_buffer_append(struct api_buffer *buffer, const void *data, size_t length);
void api_buffer_consume(struct api_buffer *buffer, size_t length);
void api_buffer_free(struct api_buffer *buffer);
/* A log entry as docker logs gets it: "TIME " first with timestamps, in
 * a frame of Docker's multiplexed stream unless raw (tty). */
int api_buffer_append_entry(struct api_buffer *buffer, bool multiplexed, bool timestamps,
                            const struct container_log_entry *entry);

struct api_session_options {
    bool multiplexed;   /* frames with Docker's 8-byte header; false: raw (tty) */
    bool stdout_wanted; /* output streams sent to the client */
    bool stderr_wanted;
    bool stdin_wanted; /* the client's bytes go to the stdin fd once it is set */
    /* At the end of the client's input: close the stdin fd (and with a
     * container_id the container's stdin: StdinOnce) and keep the output
     * flowing; else the session's output ends then too, as dockerd's
     * attach does. */
    bool output_outlives_stdin;
};

/* A hijacked connection carrying a container's or an exec's streams:
 * output framed or raw to the client, the client's bytes pumped into a
 * stdin fd with back-pressure. */
struct api_session {
    struct api_link link; /* api->sessions */
    struct api *api;      /* NULL once orphaned by api_free */
    struct api_session_options options;
    struct api_deferred close_work;
    int fd; /* the socket; -1 before it is set and once closed */
    bool fd_watched;
    uint32_t watched;
    struct api_buffer output;
    bool output_ended; /* close once the output is out */
    int stdin_fd;      /* owned; -1 when there is none (any more) */
    bool stdin_watched;
    struct api_buffer input; /* read from the client, not yet in stdin_fd */
    bool client_eof;
    bool closed;       /* socket closed, sources stopped */
    unsigned holds;    /* our fd callbacks on the stack: the free waits */
    bool free_pending; /* freed when the last hold goes */
    bool doomed;       /* close from the loop's next turn */
    /* An exec's output callback cannot be cancelled: the session lives
     * until its end comes. */
    bool end_pending;
    /* attach */
    char *container_id; /* full id */
    bool waiting_start; /* attached before the start: streams begin with it */
    struct engine_subscription *subscription;
};

int api_session_new(struct api *api, const struct api_session_options *options,
                    struct api_session **session, struct keel_error *err);
/* Give the session its socket (from http_hijack) and the bytes the client
 * sent past the request. */
int api_session_set_socket(struct api_session *session, int fd, const char *leftover,
                           size_t leftover_length, struct keel_error *err);
/* The fd the client's bytes go to (the session owns it from now). */
void api_session_set_stdin(struct api_session *session, int fd);
/* The output's source calls until its end and cannot be cancelled (an
 * exec): keep the session until api_session_output gets the end. */
void api_session_expect_end(struct api_session *session);
/* An engine_output_fn; user is the session. */
void api_session_output(enum container_log_stream stream, const void *data, size_t length,
                        void *user);
/* Write what is queued (session->output) as far as the socket takes it. */
void api_session_flush(struct api_session *session);
/* No more output: close once what is queued is out. */
void api_session_end_output(struct api_session *session);
/* Close now (not from inside an engine callback). */
void api_session_close(struct api_session *session);
/* Close from the loop's next turn (from inside an engine callback). */
void api_session_doom(struct api_session *session);
/* api_free: close every session; exec sessions whose output has not ended
 * stay until it does, forgetting the API. */
void api_session_orphan_all(struct api *api);
