/* api_session.c — hijacked connections (attach, exec start): a container's or an exec's output
 * framed or raw to the client, the client's bytes pumped into a stdin fd with back-pressure,
 * half-close and slow clients handled. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_internal.h"
#include "cleanup.h"

/* Client bytes are read this much at a time, and only when the last read
 * has gone into the stdin fd: a container that does not read its stdin
 * stops the client through the socket's own buffers. */
#define API_SESSION_INPUT_MAX 65536

/* ---- buffers ---- */

int api_buffer_append(struct api_buffer *buffer, const void *data, size_t length)
{
    if (buffer->start > 0 && buffer->start + buffer->length + length > buffer->capacity) {
        memmove(buffer->data, buffer->data + buffer->start, buffer->length);
        buffer->start = 0;
    }
    size_t needed = buffer->start + buffer->length + length;
    if (needed > buffer->capacity) {
        size_t capacity = buffer->capacity > 0 ? buffer->capacity : 4096;
        while (capacity < needed)
            capacity *= 2;
        char *bigger = realloc(buffer->data, capacity);
        if (bigger == NULL)
            return -1;
        buffer->data = bigger;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->start + buffer->length, data, length);
    buffer->length += length;
    return 0;
}

void api_buffer_consume(struct api_buffer *buffer, size_t length)
{
    buffer->start += length;
    buffer->length -= length;
    if (buffer->length == 0)
        buffer->start = 0;
}

void api_buffer_free(struct api_buffer *buffer)
{
    free(buffer->data);
    *buffer = (struct api_buffer){0};
}

int api_buffer_append_entry(struct api_buffer *buffer, bool multiplexed, bool timestamps,
                            const struct container_log_entry *entry)
{
    char time[48];
    size_t time_length = 0;
    if (timestamps) {
        container_log_format_time(&entry->time, time, sizeof time - 1);
        time_length = strlen(time);
        time[time_length++] = ' ';
    }
    if (multiplexed) {
        unsigned char header[8];
        container_log_frame_header(entry->stream, (uint32_t)(time_length + entry->length), header);
        if (api_buffer_append(buffer, header, sizeof header) < 0)
            return -1;
    }
    if (api_buffer_append(buffer, time, time_length) < 0 ||
        api_buffer_append(buffer, entry->text, entry->length) < 0)
        return -1;
    return 0;
}

/* ---- sessions ---- */

static void api_session_update_events(struct api_session *session);

static void api_session_free(struct api_session *session)
{
    if (session->holds > 0) {
        /* A callback of ours is on the stack: it frees on its way out. */
        session->free_pending = true;
        return;
    }
    api_list_remove(&session->link);
    api_buffer_free(&session->output);
    api_buffer_free(&session->input);
    free(session->container_id);
    free(session);
}

static void api_session_close_stdin(struct api_session *session)
{
    if (session->stdin_fd < 0)
        return;
    if (session->stdin_watched && session->api != NULL) {
        struct keel_error ignored;
        loop_remove_fd(session->api->loop, session->stdin_fd, &ignored);
    }
    session->stdin_watched = false;
    close(session->stdin_fd);
    session->stdin_fd = -1;
    api_buffer_free(&session->input);
}

/* Close the socket and stop every source that can be stopped; free the
 * session unless an exec still owes its end. Never from inside an engine
 * callback (it cancels the subscription): those doom the session instead. */
void api_session_close(struct api_session *session)
{
    struct api *api = session->api;
    if (session->fd >= 0 && api != NULL) {
        struct keel_error ignored;
        if (session->fd_watched)
            loop_remove_fd(api->loop, session->fd, &ignored);
        session->fd_watched = false;
        close(session->fd);
        session->fd = -1;
        api->session_count--;
    }
    session->closed = true;
    api_session_close_stdin(session);
    if (session->subscription != NULL)
        engine_subscription_cancel(session->subscription);
    session->subscription = NULL;
    session->waiting_start = false;
    if (api != NULL)
        api_defer_cancel(&session->close_work);
    if (session->end_pending)
        return; /* api_session_output frees at the end */
    api_session_free(session);
}

static void api_session_on_close_work(struct api_deferred *deferred)
{
    struct api_session *session = api_container_of(deferred, struct api_session, close_work);
    if (session->doomed || session->fd < 0)
        api_session_close(session);
    else
        api_session_flush(session); /* closes once the ended output is out */
}

/* From an engine callback: close from the loop's next turn. */
void api_session_doom(struct api_session *session)
{
    session->doomed = true;
    if (session->api != NULL)
        api_defer(session->api, &session->close_work);
}

int api_session_new(struct api *api, const struct api_session_options *options,
                    struct api_session **out, struct keel_error *err)
{
    struct api_session *session = calloc(1, sizeof *session);
    if (session == NULL)
        return keel_error_set(err, ENOMEM, "attach");
    api_list_init(&session->link);
    api_list_init(&session->close_work.link);
    session->close_work.run = api_session_on_close_work;
    session->api = api;
    session->options = *options;
    session->fd = -1;
    session->stdin_fd = -1;
    api_list_add(&api->sessions, &session->link);
    *out = session;
    return 0;
}

void api_session_expect_end(struct api_session *session)
{
    session->end_pending = true;
}

/* ---- output to the client ---- */

void api_session_flush(struct api_session *session)
{
    if (session->closed || session->fd < 0)
        return;
    while (session->output.length > 0) {
        ssize_t n = send(session->fd, session->output.data + session->output.start,
                         session->output.length, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            /* The client has gone. */
            api_session_close(session);
            return;
        }
        api_buffer_consume(&session->output, (size_t)n);
    }
    if (session->output.length == 0 && session->output_ended) {
        /* Everything is out: the client sees the end of the stream. */
        api_session_close(session);
        return;
    }
    api_session_update_events(session);
}

void api_session_output(enum container_log_stream stream, const void *data, size_t length,
                        void *user)
{
    struct api_session *session = user;
    if (length == 0 && stream == 0) {
        /* The engine is done with the subscription: it is not cancelled. */
        session->subscription = NULL;
        if (session->end_pending) {
            session->end_pending = false;
            if (session->closed || session->api == NULL) {
                api_session_free(session);
                return;
            }
        }
        session->output_ended = true;
        api_defer(session->api, &session->close_work);
        return;
    }
    if (session->closed || session->doomed || session->fd < 0 || session->output_ended)
        return;
    if ((stream == CONTAINER_LOG_STDOUT && !session->options.stdout_wanted) ||
        (stream == CONTAINER_LOG_STDERR && !session->options.stderr_wanted))
        return;
    int appended;
    if (session->options.multiplexed) {
        unsigned char header[8];
        container_log_frame_header(stream, (uint32_t)length, header);
        appended = api_buffer_append(&session->output, header, sizeof header) == 0 &&
                   api_buffer_append(&session->output, data, length) == 0;
    } else {
        appended = api_buffer_append(&session->output, data, length) == 0;
    }
    if (!appended || session->output.length > API_PENDING_MAX) {
        /* A client this far behind is dropped rather than buffered for. */
        api_session_doom(session);
        return;
    }
    /* Straight out when the socket takes it; its errors close the session
     * from the next turn, not under the engine's feet. */
    while (session->output.length > 0) {
        ssize_t n = send(session->fd, session->output.data + session->output.start,
                         session->output.length, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            api_session_doom(session);
            return;
        }
        api_buffer_consume(&session->output, (size_t)n);
    }
    api_session_update_events(session);
}

void api_session_end_output(struct api_session *session)
{
    session->output_ended = true;
    api_session_flush(session);
}

/* ---- input from the client ---- */

static int api_session_on_stdin_writable(struct loop *loop, int fd, uint32_t events, void *user,
                                         struct keel_error *err);

/* Write what was read from the client into the stdin fd. */
static void api_session_pump_stdin(struct api_session *session)
{
    struct keel_error ignored;
    while (session->input.length > 0) {
        ssize_t n = write(session->stdin_fd, session->input.data + session->input.start,
                          session->input.length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!session->stdin_watched &&
                loop_add_fd(session->api->loop, session->stdin_fd, EPOLLOUT,
                            api_session_on_stdin_writable, session, &ignored) == 0)
                session->stdin_watched = true;
            api_session_update_events(session);
            return;
        }
        if (n <= 0) {
            /* The process closed its stdin or is gone: input has nowhere
             * to go, and is no longer read. */
            api_session_close_stdin(session);
            api_session_update_events(session);
            return;
        }
        api_buffer_consume(&session->input, (size_t)n);
    }
    if (session->stdin_watched) {
        loop_remove_fd(session->api->loop, session->stdin_fd, &ignored);
        session->stdin_watched = false;
    }
    api_session_update_events(session);
}

static int api_session_on_stdin_writable(struct loop *loop, int fd, uint32_t events, void *user,
                                         struct keel_error *err)
{
    struct api_session *session = user;
    (void)loop;
    (void)fd;
    (void)events;
    (void)err;
    if (!session->closed)
        api_session_pump_stdin(session);
    return 0;
}

/* The client half-closed: its input is over. */
static void api_session_on_client_eof(struct api_session *session)
{
    session->client_eof = true;
    api_session_close_stdin(session);
    if (session->options.output_outlives_stdin) {
        /* StdinOnce: the container's own stdin closes with the client's. */
        if (session->container_id != NULL) {
            struct keel_error ignored;
            engine_container_close_stdin(session->api->engine, session->container_id, &ignored);
        }
        api_session_update_events(session);
        return;
    }
    /* dockerd ends such an attach when its stdin ends. */
    api_session_end_output(session);
}

static void api_session_read_client(struct api_session *session)
{
    if (session->input.length > 0 || session->stdin_fd < 0)
        return;
    if (session->input.capacity < API_SESSION_INPUT_MAX) {
        char *buffer = realloc(session->input.data, API_SESSION_INPUT_MAX);
        if (buffer == NULL)
            return;
        session->input.data = buffer;
        session->input.capacity = API_SESSION_INPUT_MAX;
    }
    ssize_t n = read(session->fd, session->input.data, API_SESSION_INPUT_MAX);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        api_session_close(session);
        return;
    }
    if (n == 0) {
        api_session_on_client_eof(session);
        return;
    }
    session->input.start = 0;
    session->input.length = (size_t)n;
    api_session_pump_stdin(session);
}

static void api_session_hold(struct api_session *session)
{
    session->holds++;
}

static void api_session_release(struct api_session *session)
{
    if (--session->holds == 0 && session->free_pending) {
        session->free_pending = false;
        api_session_free(session);
    }
}

static int api_session_on_socket(struct loop *loop, int fd, uint32_t events, void *user,
                                 struct keel_error *err)
{
    struct api_session *session = user;
    (void)loop;
    (void)fd;
    (void)err;
    api_session_hold(session);
    if ((events & EPOLLOUT) && !session->closed)
        api_session_flush(session);
    if ((events & EPOLLIN) && !session->closed)
        api_session_read_client(session);
    /* Both directions shut: the client has gone (a half-close is only
     * EPOLLRDHUP, and reads as the end of its input). */
    if ((events & (EPOLLHUP | EPOLLERR)) && !session->closed)
        api_session_close(session);
    api_session_release(session);
    return 0;
}

static void api_session_update_events(struct api_session *session)
{
    struct keel_error err;
    if (session->fd < 0 || session->closed)
        return;
    uint32_t wanted = 0;
    if (session->output.length > 0)
        wanted |= EPOLLOUT;
    if (session->options.stdin_wanted && !session->client_eof && session->stdin_fd >= 0 &&
        session->input.length == 0)
        wanted |= EPOLLIN | EPOLLRDHUP;
    if (session->fd_watched && wanted == session->watched)
        return;
    if (session->fd_watched)
        loop_remove_fd(session->api->loop, session->fd, &err);
    session->fd_watched = false;
    /* Watched even with no events: epoll still says when the client goes. */
    if (loop_add_fd(session->api->loop, session->fd, wanted, api_session_on_socket, session, &err) <
        0) {
        api_session_doom(session);
        return;
    }
    session->fd_watched = true;
    session->watched = wanted;
}

int api_session_set_socket(struct api_session *session, int fd, const char *leftover,
                           size_t leftover_length, struct keel_error *err)
{
    session->fd = fd;
    session->api->session_count++;
    /* What the client sent right behind its request is its first stdin. */
    if (leftover_length > 0 && session->options.stdin_wanted &&
        api_buffer_append(&session->input, leftover, leftover_length) < 0)
        return keel_error_set(err, ENOMEM, "attach");
    api_session_update_events(session);
    if (session->doomed)
        return keel_error_set(err, EIO, "attach: watch the connection");
    return 0;
}

void api_session_set_stdin(struct api_session *session, int fd)
{
    if (session->closed || !session->options.stdin_wanted || session->client_eof) {
        close(fd);
        return;
    }
    session->stdin_fd = fd;
    if (session->input.length > 0)
        api_session_pump_stdin(session);
    else
        api_session_update_events(session);
}

void api_session_orphan_all(struct api *api)
{
    while (!api_list_empty(&api->sessions)) {
        struct api_session *session =
            api_container_of(api->sessions.next, struct api_session, link);
        /* An exec's output still comes: the session outlives the API and
         * its end frees it. Anything else is freed by the close. */
        bool outlives = session->end_pending;
        api_session_close(session);
        if (outlives) {
            api_list_remove(&session->link);
            session->api = NULL;
        }
    }
}
