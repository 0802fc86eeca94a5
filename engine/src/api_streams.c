/* api_streams.c — POST /containers/ID/attach (hijacked, from before the start on) and GET
 * /containers/ID/logs (since, until, tail, timestamps, follow from the json-file log). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "cleanup.h"

#define API_RAW_STREAM "application/vnd.docker.raw-stream"
#define API_MULTIPLEXED_STREAM "application/vnd.docker.multiplexed-stream"
/* A log page: the reader stops here and the stream resumes when the client
 * has taken it, the file being the buffer. */
#define API_LOGS_PAGE (256u << 10)

/* ---- attach ---- */

/* Subscribe to the running container's output, and take its stdin. */
static void api_attach_begin_streams(struct api_session *session)
{
    struct api *api = session->api;
    struct keel_error err;
    session->waiting_start = false;
    if (engine_container_subscribe(api->engine, session->container_id, api_session_output, session,
                                   &session->subscription, &err) < 0) {
        api_session_doom(session);
        return;
    }
    if (!session->options.stdin_wanted)
        return;
    int stdin_fd;
    if (engine_container_stdin(api->engine, session->container_id, &stdin_fd, &err) < 0)
        return; /* no open stdin: the client's bytes stay unread */
    /* Our own reference, so that the loop watches an fd of ours, and the
     * container's stdin closes only when the engine and we are done. */
    int own = fcntl(stdin_fd, F_DUPFD_CLOEXEC, 3);
    if (own >= 0)
        api_session_set_stdin(session, own);
}

void api_streams_on_event(struct api *api, const char *type, const char *action, const char *id)
{
    if (type == NULL || action == NULL || id == NULL || strcmp(type, "container") != 0)
        return;
    bool start = strcmp(action, "start") == 0, destroy = strcmp(action, "destroy") == 0;
    if (!start && !destroy)
        return;
    for (struct api_link *link = api->sessions.next, *next; link != &api->sessions; link = next) {
        next = link->next;
        struct api_session *session = api_container_of(link, struct api_session, link);
        if (!session->waiting_start || session->closed || strcmp(session->container_id, id) != 0)
            continue;
        /* Synchronously, from inside the start: the container's output is
         * read on a later turn, so none of it is missed. */
        if (start)
            api_attach_begin_streams(session);
        else
            api_session_doom(session);
    }
}

struct api_attach_replay {
    struct api_session *session;
    bool failed;
};

static int api_attach_on_entry(const struct container_log_entry *entry, void *data)
{
    struct api_attach_replay *replay = data;
    if (api_buffer_append_entry(&replay->session->output, replay->session->options.multiplexed,
                                false, entry) < 0 ||
        replay->session->output.length > API_PENDING_MAX) {
        replay->failed = true;
        return 1;
    }
    return 0;
}

void api_handle_container_attach(struct api_call *call)
{
    struct api *api = call->api;
    struct keel_error err;
    struct api_container_facts facts;
    bool stream, stdin_wanted, stdout_wanted, stderr_wanted, logs;

    if (api_query_bool(call->request, "stream", false, &stream, &err) < 0 ||
        api_query_bool(call->request, "stdin", false, &stdin_wanted, &err) < 0 ||
        api_query_bool(call->request, "stdout", false, &stdout_wanted, &err) < 0 ||
        api_query_bool(call->request, "stderr", false, &stderr_wanted, &err) < 0 ||
        api_query_bool(call->request, "logs", false, &logs, &err) < 0 ||
        api_container_facts_get(api, call->name, &facts, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    _cleanup_free_ char *log_path = NULL;
    unsigned max_file = 1;
    bool tty = facts.tty;
    if (logs && engine_container_log(api->engine, facts.id, &log_path, &max_file, &tty, &err) < 0) {
        api_container_facts_clear(&facts);
        api_respond_error(call->connection, &err);
        return;
    }
    struct api_session_options options = {
        .multiplexed = !facts.tty,
        .stdout_wanted = stdout_wanted,
        .stderr_wanted = stderr_wanted,
        .stdin_wanted = stream && stdin_wanted && facts.open_stdin,
        .output_outlives_stdin = facts.stdin_once && !facts.tty,
    };
    struct api_session *session;
    if (api_session_new(api, &options, &session, &err) < 0) {
        api_container_facts_clear(&facts);
        api_respond_error(call->connection, &err);
        return;
    }
    session->container_id = facts.id;
    facts.id = NULL;
    bool running = facts.running;
    api_container_facts_clear(&facts);

    /* dockerd answers 1.41 clients with raw-stream whatever the framing;
     * the framing follows the container's Tty, which clients know. Naming
     * the multiplexed one (as dockerd does from 1.42 on) costs them nothing. */
    int fd;
    _cleanup_free_ char *leftover = NULL;
    size_t leftover_length = 0;
    if (http_hijack(call->connection, options.multiplexed ? API_MULTIPLEXED_STREAM : API_RAW_STREAM,
                    &fd, &leftover, &leftover_length, &err) < 0) {
        api_session_close(session);
        return;
    }
    if (api_session_set_socket(session, fd, leftover, leftover_length, &err) < 0) {
        api_session_close(session);
        return;
    }
    if (logs) {
        struct container_log_filter filter = {
            .stdout_wanted = stdout_wanted, .stderr_wanted = stderr_wanted, .tail = -1};
        struct api_attach_replay replay = {.session = session};
        if (container_log_read(log_path, max_file, &filter, api_attach_on_entry, &replay, NULL,
                               &err) < 0 ||
            replay.failed) {
            api_session_close(session);
            return;
        }
    }
    if (!stream) {
        api_session_end_output(session);
        return;
    }
    /* docker run attaches before it starts the container: the streams begin
     * with the start event. */
    if (running)
        api_attach_begin_streams(session);
    else
        session->waiting_start = true;
    if (!session->doomed)
        api_session_flush(session);
}

/* ---- logs ---- */

struct api_logs {
    struct api_link link; /* api->log_streams */
    struct api_deferred pump_work;
    struct api *api;
    struct http_connection *connection;
    char *path;
    unsigned max_file;
    bool multiplexed;
    bool timestamps;
    bool follow;
    struct container_log_filter filter;
    struct container_log_cursor cursor;
    struct engine_subscription *subscription;
    bool source_ended; /* the container stopped (or until came): end once caught up */
    struct loop_timer *until_timer;
    struct api_buffer batch;
    bool page_full;
    bool failed;
};

static void api_logs_free(struct api_logs *logs)
{
    api_list_remove(&logs->link);
    api_defer_cancel(&logs->pump_work);
    if (logs->subscription != NULL)
        engine_subscription_cancel(logs->subscription);
    loop_timer_free(logs->until_timer);
    api_buffer_free(&logs->batch);
    free(logs->path);
    free(logs);
}

static void api_logs_end(struct api_logs *logs)
{
    struct http_connection *connection = logs->connection;
    http_connection_set_close_callback(connection, NULL, NULL);
    http_connection_set_writable_callback(connection, NULL, NULL);
    http_stream_end(connection);
    api_logs_free(logs);
}

static int api_logs_on_entry(const struct container_log_entry *entry, void *data)
{
    struct api_logs *logs = data;
    if (api_buffer_append_entry(&logs->batch, logs->multiplexed, logs->timestamps, entry) < 0) {
        logs->failed = true;
        return 1;
    }
    if (logs->batch.length >= API_LOGS_PAGE) {
        logs->page_full = true;
        return 1;
    }
    return 0;
}

static void api_logs_write_batch(struct api_logs *logs)
{
    if (logs->batch.length > 0)
        http_stream_write(logs->connection, logs->batch.data + logs->batch.start,
                          logs->batch.length);
    api_buffer_consume(&logs->batch, logs->batch.length);
}

/* Send what the log has past the cursor, a page at a time while the client
 * keeps up; end when caught up and nothing more can come. */
static void api_logs_pump(struct api_logs *logs)
{
    for (;;) {
        if (http_connection_pending(logs->connection) > API_HIGH_WATER)
            return; /* the writable callback resumes */
        struct keel_error err;
        logs->page_full = false;
        int result = container_log_follow(logs->path, &logs->cursor, &logs->filter,
                                          api_logs_on_entry, logs, &err);
        api_logs_write_batch(logs);
        if (result < 0 || logs->failed) {
            api_logs_end(logs);
            return;
        }
        if (!logs->page_full)
            break;
    }
    if (!logs->follow || logs->source_ended)
        api_logs_end(logs);
}

static void api_logs_on_pump_work(struct api_deferred *deferred)
{
    api_logs_pump(api_container_of(deferred, struct api_logs, pump_work));
}

/* The container wrote (the log has it already) or its output ended. */
static void api_logs_on_output(enum container_log_stream stream, const void *data, size_t length,
                               void *user)
{
    struct api_logs *logs = user;
    (void)data;
    if (length == 0 && stream == 0) {
        /* The engine is done with the subscription: it is not cancelled. */
        logs->subscription = NULL;
        logs->source_ended = true;
    }
    api_defer(logs->api, &logs->pump_work);
}

static void api_logs_on_writable(struct http_connection *connection, void *data)
{
    struct api_logs *logs = data;
    (void)connection;
    api_defer(logs->api, &logs->pump_work);
}

static void api_logs_on_close(struct http_connection *connection, void *data)
{
    (void)connection;
    api_logs_free(data);
}

static int api_logs_on_until(struct loop *loop, struct loop_timer *timer, void *user,
                             struct keel_error *err)
{
    struct api_logs *logs = user;
    (void)loop;
    (void)timer;
    (void)err;
    logs->source_ended = true;
    api_defer(logs->api, &logs->pump_work);
    return 0;
}

static int api_logs_query_time(const struct http_request *request, const char *name,
                               const struct timespec *now, struct timespec *time,
                               struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    *time = (struct timespec){0};
    if (api_query_string(request, name, &text, err) < 0)
        return -1;
    /* docker logs sends since=0 for "from the start". */
    if (text != NULL && strcmp(text, "0") != 0 &&
        container_log_parse_time(text, now, time, err) < 0)
        return keel_error_prefix(err, "invalid value for %s", name);
    return 0;
}

static int api_logs_query_tail(const struct http_request *request, long *tail,
                               struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    *tail = -1;
    if (api_query_string(request, "tail", &text, err) < 0)
        return -1;
    if (text == NULL || strcmp(text, "all") == 0)
        return 0;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return keel_error_invalid(err, "invalid value for tail: \"%s\" (a number or \"all\")",
                                  text);
    *tail = value < 0 ? -1 : value;
    return 0;
}

/* Parse the request into logs (NULL-safe on failure: the caller frees). */
static int api_logs_setup(struct api_call *call, struct api_logs *logs, struct timespec *now,
                          struct keel_error *err)
{
    bool stdout_wanted, stderr_wanted, follow, timestamps, tty;
    long tail;
    if (api_query_bool(call->request, "stdout", false, &stdout_wanted, err) < 0 ||
        api_query_bool(call->request, "stderr", false, &stderr_wanted, err) < 0 ||
        api_query_bool(call->request, "follow", false, &follow, err) < 0 ||
        api_query_bool(call->request, "timestamps", false, &timestamps, err) < 0 ||
        api_logs_query_tail(call->request, &tail, err) < 0 ||
        api_logs_query_time(call->request, "since", now, &logs->filter.since, err) < 0 ||
        api_logs_query_time(call->request, "until", now, &logs->filter.until, err) < 0)
        return -1;
    if (!stdout_wanted && !stderr_wanted)
        return keel_error_invalid(err, "Bad parameters: you must choose at least one stream");
    if (engine_container_log(call->api->engine, call->name, &logs->path, &logs->max_file, &tty,
                             err) < 0)
        return -1;
    logs->filter.stdout_wanted = stdout_wanted;
    logs->filter.stderr_wanted = stderr_wanted;
    logs->filter.tail = tail;
    logs->multiplexed = !tty;
    logs->timestamps = timestamps;
    logs->follow = follow;
    return 0;
}

void api_handle_container_logs(struct api_call *call)
{
    struct api *api = call->api;
    struct keel_error err;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    struct api_logs *logs = calloc(1, sizeof *logs);
    if (logs == NULL) {
        api_respond_message(call->connection, 500, "out of memory");
        return;
    }
    api_list_init(&logs->link);
    api_list_init(&logs->pump_work.link);
    logs->pump_work.run = api_logs_on_pump_work;
    logs->api = api;
    logs->connection = call->connection;
    if (api_logs_setup(call, logs, &now, &err) < 0) {
        api_logs_free(logs);
        api_respond_error(call->connection, &err);
        return;
    }
    const struct timespec *until = &logs->filter.until;
    bool has_until = until->tv_sec != 0 || until->tv_nsec != 0;
    int64_t until_ms = has_until ? (int64_t)(until->tv_sec - now.tv_sec) * 1000 +
                                       (until->tv_nsec - now.tv_nsec) / 1000000
                                 : 0;
    if (has_until && until_ms <= 0)
        logs->follow = false; /* nothing can come any more */
    /* dockerd follows a running container only: a created or exited one's
     * log is read to its end. */
    struct api_container_facts facts;
    if (logs->follow && api_container_facts_get(api, call->name, &facts, &err) == 0) {
        logs->follow = facts.running;
        api_container_facts_clear(&facts);
    }
    /* Subscribed before the first read: both happen in this turn, so no
     * output falls between them. */
    if (logs->follow &&
        (engine_container_subscribe(api->engine, call->name, api_logs_on_output, logs,
                                    &logs->subscription, &err) < 0 ||
         (has_until &&
          (loop_timer_new(api->loop, api_logs_on_until, logs, &logs->until_timer, &err) < 0 ||
           loop_timer_arm(logs->until_timer, (uint64_t)until_ms, 0, &err) < 0)))) {
        api_logs_free(logs);
        api_respond_error(call->connection, &err);
        return;
    }
    /* With a tail, the first read keeps the last entries; without, the
     * whole log is followed from its first file, a page at a time. */
    if (logs->filter.tail >= 0 &&
        container_log_read(logs->path, logs->max_file, &logs->filter, api_logs_on_entry, logs,
                           &logs->cursor, &err) < 0) {
        api_logs_free(logs);
        api_respond_error(call->connection, &err);
        return;
    }
    logs->page_full = false; /* a tail is delivered whole */
    if (logs->failed) {
        api_logs_free(logs);
        api_respond_message(call->connection, 500, "out of memory");
        return;
    }
    /* dockerd names the raw stream for 1.41 clients; see attach. */
    if (api_stream_begin(call->connection, 200,
                         logs->multiplexed ? API_MULTIPLEXED_STREAM : API_RAW_STREAM) < 0) {
        api_logs_free(logs);
        return;
    }
    api_list_add(&api->log_streams, &logs->link);
    http_connection_set_close_callback(call->connection, api_logs_on_close, logs);
    http_connection_set_writable_callback(call->connection, api_logs_on_writable, logs);
    api_logs_write_batch(logs);
    api_logs_pump(logs);
}

void api_streams_free_all(struct api *api)
{
    /* Log streams went with their connections (their close callbacks);
     * what is left never had one. */
    while (!api_list_empty(&api->log_streams))
        api_logs_free(api_container_of(api->log_streams.next, struct api_logs, link));
    api_session_orphan_all(api);
}
