/* http_connection.c — one HTTP connection: requests one at a time, output queue, deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server_internal.h"

static const char CONTINUE_RESPONSE[] = "HTTP/1.1 100 Continue\r\n\r\n";

void http_connection_set_deadline(struct http_connection *connection, enum http_deadline kind)
{
    unsigned timeout = 0;
    connection->deadline_kind = kind;
    switch (kind) {
    case HTTP_DEADLINE_NONE:
        connection->deadline = 0;
        return;
    case HTTP_DEADLINE_IDLE:
        timeout = connection->server->idle_timeout_ms;
        break;
    case HTTP_DEADLINE_REQUEST:
    case HTTP_DEADLINE_BODY:
        timeout = connection->server->request_timeout_ms;
        break;
    }
    connection->deadline = http_now_ms() + timeout;
}

bool http_connection_keeps_alive(const struct http_connection *connection)
{
    const struct http_request_state *request = &connection->current;
    /* After an upgrade request the parser has stopped; a streamed body not
     * read to its end leaves the stream in the middle of a message. */
    return request->view.keep_alive && !request->parser_upgrade && !connection->last_request &&
           !(request->streamed && !request->complete);
}

/* ---- writing ---- */

int http_connection_send(struct http_connection *connection, const struct iovec *iov, int count)
{
    if (connection->closed || connection->failed)
        return -1;
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += iov[i].iov_len;
    size_t sent = 0;
    if (http_buffer_length(&connection->output) == 0) {
        struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)count};
        /* MSG_NOSIGNAL: a peer that has gone is an EPIPE, not a SIGPIPE
         * that would kill the daemon. */
        ssize_t written = sendmsg(connection->fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                connection->failed = true;
                http_connection_kick(connection);
                return -1;
            }
            written = 0;
        }
        sent = (size_t)written;
    }
    if (sent == total)
        return 0;
    for (int i = 0; i < count; i++) {
        size_t length = iov[i].iov_len;
        const char *base = iov[i].iov_base;
        if (sent >= length) {
            sent -= length;
            continue;
        }
        if (http_buffer_append(&connection->output, base + sent, length - sent) < 0) {
            connection->failed = true;
            http_connection_kick(connection);
            return -1;
        }
        sent = 0;
    }
    if (http_buffer_length(&connection->output) > HTTP_QUEUE_MARK)
        connection->above_mark = true;
    http_connection_update_events(connection);
    return 0;
}

static void http_connection_flush(struct http_connection *connection)
{
    bool progress = false;
    while (http_buffer_length(&connection->output) > 0) {
        struct http_buffer *output = &connection->output;
        ssize_t written = send(connection->fd, output->data + output->start,
                               http_buffer_length(output), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            connection->failed = true;
            return;
        }
        http_buffer_consume(output, (size_t)written);
        progress = true;
    }
    /* A peer that reads, however slowly, is not idle. */
    if (progress && connection->deadline_kind == HTTP_DEADLINE_IDLE)
        http_connection_set_deadline(connection, HTTP_DEADLINE_IDLE);
    if (connection->above_mark && http_buffer_length(&connection->output) < HTTP_QUEUE_MARK) {
        connection->above_mark = false;
        if (connection->writable_callback != NULL)
            connection->writable_callback(connection, connection->writable_data);
    }
}

/* ---- the body streamed to an fd ---- */

/* write() to a pipe whose reader has gone raises SIGPIPE, and the daemon
 * must not die of a dead image loader: block it around the write, and take
 * back the one this write raised. */
static ssize_t http_write_quietly(int fd, const void *data, size_t length)
{
    sigset_t pipe_signal, previous, pending;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    ssize_t written = write(fd, data, length);
    int saved = errno;
    if (written < 0 && saved == EPIPE && !was_pending) {
        struct timespec now = {0, 0};
        sigtimedwait(&pipe_signal, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    errno = saved;
    return written;
}

static void http_connection_body_write(struct http_connection *connection, const char *data,
                                       size_t length)
{
    if (connection->body_fd < 0 || connection->body_failed)
        return;
    if (http_buffer_length(&connection->body_pending) == 0) {
        while (length > 0) {
            ssize_t written = http_write_quietly(connection->body_fd, data, length);
            if (written < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                connection->body_failed = true;
                return;
            }
            data += written;
            length -= (size_t)written;
        }
    }
    if (http_buffer_append(&connection->body_pending, data, length) < 0)
        connection->body_failed = true;
}

static int http_connection_on_body_fd_ready(struct loop *loop, int fd, uint32_t events, void *user,
                                            struct keel_error *err)
{
    struct http_connection *connection = user;
    struct http_buffer *pending = &connection->body_pending;
    (void)loop;
    (void)events;
    (void)err;

    http_connection_hold(connection);
    while (http_buffer_length(pending) > 0) {
        ssize_t written =
            http_write_quietly(fd, pending->data + pending->start, http_buffer_length(pending));
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                connection->body_failed = true;
            break;
        }
        http_buffer_consume(pending, (size_t)written);
    }
    /* Drained: read the socket again (process re-arms it and stops
     * watching fd). */
    http_connection_process(connection);
    http_connection_release(connection);
    return 0;
}

/* done() once the body has all gone to fd, or as soon as fd failed. */
static void http_connection_settle_body(struct http_connection *connection)
{
    bool ok;
    if (connection->body_fd < 0)
        return;
    if (connection->body_failed)
        ok = false;
    else if (connection->current.complete && http_buffer_length(&connection->body_pending) == 0)
        ok = true;
    else
        return;
    if (connection->body_fd_watched) {
        struct keel_error ignored;
        loop_remove_fd(connection->server->loop, connection->body_fd, &ignored);
        connection->body_fd_watched = false;
    }
    http_body_done_fn *done = connection->body_done;
    connection->body_fd = -1;
    connection->body_done = NULL;
    http_buffer_free(&connection->body_pending);
    if (!ok)
        connection->last_request = true; /* the rest of the body is unread */
    if (done != NULL)
        done(connection, ok, connection->body_data);
}

int http_connection_body_to_fd(struct http_connection *connection, int fd, http_body_done_fn *done,
                               void *data, struct keel_error *err)
{
    if (connection->closed || connection->failed)
        return keel_error_set(err, EPIPE, "stream request body: the client has gone");
    if (connection->phase != HTTP_PHASE_HANDLING || !connection->current.streamed ||
        connection->current.body_claimed || connection->answer != HTTP_ANSWER_NONE)
        return keel_error_invalid(err, "stream request body: no streamed body awaits a reader");
    /* Never a blocking write in the loop, whatever the caller opened. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0))
        return keel_error_set(err, errno, "stream request body: make fd %d non-blocking", fd);
    connection->current.body_claimed = true;
    connection->body_fd = fd;
    connection->body_done = done;
    connection->body_data = data;
    /* A client that waits for "100 Continue" sends the body only now. */
    if (connection->current.expect_continue) {
        struct iovec iov = {.iov_base = (void *)CONTINUE_RESPONSE,
                            .iov_len = sizeof CONTINUE_RESPONSE - 1};
        http_connection_send(connection, &iov, 1);
    }
    http_connection_set_deadline(connection, HTTP_DEADLINE_BODY);
    if (connection->processing)
        connection->process_again = true;
    else
        http_connection_kick(connection);
    return 0;
}

/* ---- parser callbacks: they record; the handler runs after the parser returns ---- */

static int http_connection_add_piece(http_parser *parser, enum http_piece piece, const char *data,
                                     size_t length)
{
    struct http_connection *connection = parser->data;
    struct http_request_state *request = &connection->current;
    /* + ": " and CRLF per header, method and version on the request line */
    size_t overhead = piece != request->last_piece ? (piece == HTTP_PIECE_URL ? 16 : 2) : 0;
    request->head_bytes += length + overhead;
    if (request->head_bytes > connection->server->header_limit) {
        connection->reject_status = 431;
        return -1;
    }
    if (http_request_state_add(request, piece, data, length) < 0) {
        connection->reject_status = 500;
        return -1;
    }
    return 0;
}

static int http_connection_on_url(http_parser *parser, const char *data, size_t length)
{
    return http_connection_add_piece(parser, HTTP_PIECE_URL, data, length);
}

static int http_connection_on_header_field(http_parser *parser, const char *data, size_t length)
{
    return http_connection_add_piece(parser, HTTP_PIECE_FIELD, data, length);
}

static int http_connection_on_header_value(http_parser *parser, const char *data, size_t length)
{
    return http_connection_add_piece(parser, HTTP_PIECE_VALUE, data, length);
}

static int http_connection_on_message_begin(http_parser *parser)
{
    struct http_connection *connection = parser->data;
    /* The previous request's storage lives until here: its handler may
     * still read it after answering. */
    http_request_state_clear(&connection->current);
    connection->phase = HTTP_PHASE_RECEIVING;
    http_connection_set_deadline(connection, HTTP_DEADLINE_REQUEST);
    return 0;
}

static int http_connection_on_headers_complete(http_parser *parser)
{
    struct http_connection *connection = parser->data;
    struct http_server *server = connection->server;
    struct http_request_state *request = &connection->current;
    const char *problem = NULL;

    int refusal = http_request_state_finish_head(request, parser, &problem);
    if (refusal != 0) {
        connection->reject_status = refusal;
        connection->reject_problem = problem;
        return -1;
    }
    bool chunked = (parser->flags & F_CHUNKED) != 0;
    bool has_body = chunked || (parser->content_length > 0 && parser->content_length != UINT64_MAX);
    const char *expect = http_request_header(&request->view, "expect");
    request->expect_continue =
        has_body && !request->http10 && expect != NULL && strcasecmp(expect, "100-continue") == 0;

    if (server->stream_body != NULL && server->stream_body(&request->view, server->data)) {
        /* The handler takes it from here: the body waits, unparsed, for
         * http_connection_body_to_fd. */
        request->streamed = true;
        connection->dispatch_pending = true;
        http_parser_pause(parser, 1);
        return 0;
    }
    /* Refuse a body too large before it is sent, not after. */
    if (!chunked && has_body && parser->content_length > server->body_limit) {
        connection->reject_status = 413;
        return -1;
    }
    if (request->expect_continue) {
        struct iovec iov = {.iov_base = (void *)CONTINUE_RESPONSE,
                            .iov_len = sizeof CONTINUE_RESPONSE - 1};
        http_connection_send(connection, &iov, 1);
    }
    return 0;
}

static int http_connection_on_body(http_parser *parser, const char *data, size_t length)
{
    struct http_connection *connection = parser->data;
    struct http_request_state *request = &connection->current;
    if (request->streamed) {
        http_connection_body_write(connection, data, length);
        return 0;
    }
    if (http_buffer_length(&request->body) + length > connection->server->body_limit) {
        connection->reject_status = 413;
        return -1;
    }
    /* One spare byte for the NUL the handler gets. */
    if (http_buffer_reserve(&request->body, length + 1) < 0) {
        connection->reject_status = 500;
        return -1;
    }
    http_buffer_append(&request->body, data, length);
    return 0;
}

static int http_connection_on_message_complete(http_parser *parser)
{
    struct http_connection *connection = parser->data;
    struct http_request_state *request = &connection->current;
    request->complete = true;
    if (!request->streamed) {
        if (http_buffer_length(&request->body) > 0) {
            request->body.data[request->body.end] = '\0';
            request->view.body = request->body.data;
            request->view.body_length = http_buffer_length(&request->body);
        }
        connection->dispatch_pending = true;
    }
    /* One request at a time: what follows waits in the input buffer. */
    http_parser_pause(parser, 1);
    return 0;
}

void http_connection_settings_init(http_parser_settings *settings)
{
    http_parser_settings_init(settings);
    settings->on_message_begin = http_connection_on_message_begin;
    settings->on_url = http_connection_on_url;
    settings->on_header_field = http_connection_on_header_field;
    settings->on_header_value = http_connection_on_header_value;
    settings->on_headers_complete = http_connection_on_headers_complete;
    settings->on_body = http_connection_on_body;
    settings->on_message_complete = http_connection_on_message_complete;
}

/* ---- reading ---- */

static void http_connection_refuse(struct http_connection *connection, int status,
                                   const char *message)
{
    http_buffer_free(&connection->input);
    if (connection->phase == HTTP_PHASE_HANDLING) {
        /* The handler owns the answer: its body's reader hears of the
         * failure, and the answer it gives is the connection's last. */
        connection->body_failed = true;
        connection->last_request = true;
        return;
    }
    connection->closing = true;
    connection->phase = HTTP_PHASE_IDLE;
    http_connection_set_deadline(connection, HTTP_DEADLINE_IDLE);
    http_response_send_refusal(connection, status, message);
}

static void http_connection_refuse_parse(struct http_connection *connection, enum http_errno error)
{
    char message[160];
    int status = connection->reject_status;
    const char *problem = connection->reject_problem;
    connection->reject_status = 0;
    connection->reject_problem = NULL;
    if (status == 0)
        status = error == HPE_HEADER_OVERFLOW ? 431 : 400;
    switch (status) {
    case 413:
        snprintf(message, sizeof message, "request body larger than %zu bytes",
                 connection->server->body_limit);
        break;
    case 431:
        snprintf(message, sizeof message, "request headers larger than %zu bytes",
                 connection->server->header_limit);
        break;
    case 500:
        snprintf(message, sizeof message, "out of memory reading the request");
        break;
    default:
        if (problem != NULL)
            snprintf(message, sizeof message, "bad request: %s", problem);
        else
            snprintf(message, sizeof message, "bad request: %s", http_errno_description(error));
        break;
    }
    http_connection_refuse(connection, status, message);
}

static void http_connection_dispatch(struct http_connection *connection)
{
    connection->dispatch_pending = false;
    connection->phase = HTTP_PHASE_HANDLING;
    connection->answer = HTTP_ANSWER_NONE;
    http_connection_set_deadline(connection, HTTP_DEADLINE_NONE);
    connection->server->handler(connection, &connection->current.view, connection->server->data);
}

/* Feed bytes to the parser; what it leaves (the next pipelined request, a
 * hijacked stream's first bytes) is kept in the input buffer. */
static void http_connection_parse(struct http_connection *connection, const char *data,
                                  size_t length, bool from_input)
{
    http_parser *parser = &connection->parser;
    size_t parsed = http_parser_execute(parser, &connection->server->settings, data, length);
    enum http_errno error = HTTP_PARSER_ERRNO(parser);
    if (error == HPE_PAUSED) {
        http_parser_pause(parser, 0);
    } else if (error != HPE_OK || (parsed == 0 && length > 0)) {
        http_connection_refuse_parse(connection, error);
        return;
    }
    if (from_input) {
        http_buffer_consume(&connection->input, parsed);
    } else if (parsed < length &&
               http_buffer_append(&connection->input, data + parsed, length - parsed) < 0) {
        connection->failed = true;
        return;
    }
    if (connection->current.streamed && connection->body_fd >= 0)
        http_connection_set_deadline(connection, HTTP_DEADLINE_BODY); /* progress */
    if (connection->dispatch_pending)
        http_connection_dispatch(connection);
}

static bool http_connection_can_parse(const struct http_connection *connection)
{
    if (connection->closed || connection->failed || connection->closing)
        return false;
    if (connection->phase != HTTP_PHASE_HANDLING)
        return http_buffer_length(&connection->output) < HTTP_QUEUE_MARK;
    /* While the handler has the request, only its streamed body is read,
     * and only while fd takes it. */
    return connection->current.streamed && connection->body_fd >= 0 && !connection->body_failed &&
           !connection->current.complete && http_buffer_length(&connection->body_pending) == 0;
}

static void http_connection_read_and_parse(struct http_connection *connection)
{
    for (;;) {
        http_connection_settle_body(connection);
        if (!http_connection_can_parse(connection))
            return;
        if (http_buffer_length(&connection->input) > 0) {
            struct http_buffer *input = &connection->input;
            http_connection_parse(connection, input->data + input->start, http_buffer_length(input),
                                  true);
            continue;
        }
        if (connection->peer_eof) {
            /* Between requests, a client that has said all it will say is
             * done with; in the middle of one, it has gone. */
            if (connection->phase == HTTP_PHASE_IDLE)
                connection->closing = true;
            else
                connection->failed = true;
            return;
        }
        if (!connection->readable)
            return;
        char *buffer = connection->server->read_buffer;
        ssize_t received = recv(connection->fd, buffer, HTTP_READ_SIZE, 0);
        if (received < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                connection->readable = false;
            else
                connection->failed = true;
            return;
        }
        if (received == 0) {
            connection->peer_eof = true;
            continue;
        }
        /* Level-triggered epoll says so again if more has come. */
        if (received < HTTP_READ_SIZE)
            connection->readable = false;
        http_connection_parse(connection, buffer, (size_t)received, false);
    }
}

void http_connection_update_events(struct http_connection *connection)
{
    struct loop *loop = connection->server->loop;
    struct keel_error ignored;
    if (connection->closed)
        return;
    uint32_t wanted = 0;
    if (!connection->failed) {
        if (http_connection_can_parse(connection) && !connection->peer_eof)
            wanted |= EPOLLIN;
        if (http_buffer_length(&connection->output) > 0)
            wanted |= EPOLLOUT;
    }
    /* Registered even with no event wanted: EPOLLHUP still says the peer
     * has gone while a handler holds the connection. */
    if (wanted != connection->watched) {
        loop_remove_fd(loop, connection->fd, &ignored);
        connection->watched = wanted;
        if (loop_add_fd(loop, connection->fd, wanted, http_connection_on_ready, connection,
                        &ignored) < 0) {
            connection->failed = true;
            http_connection_kick(connection);
            return;
        }
    }
    bool body_fd_wanted = connection->body_fd >= 0 && !connection->body_failed &&
                          http_buffer_length(&connection->body_pending) > 0;
    if (body_fd_wanted && !connection->body_fd_watched) {
        if (loop_add_fd(loop, connection->body_fd, EPOLLOUT, http_connection_on_body_fd_ready,
                        connection, &ignored) < 0) {
            connection->body_failed = true;
            http_connection_kick(connection);
            return;
        }
        connection->body_fd_watched = true;
    } else if (!body_fd_wanted && connection->body_fd_watched) {
        loop_remove_fd(loop, connection->body_fd, &ignored);
        connection->body_fd_watched = false;
    }
}

void http_connection_process(struct http_connection *connection)
{
    /* Re-entered from a handler that answered at once: the loop below
     * picks the next request up, without recursion. */
    if (connection->processing) {
        connection->process_again = true;
        return;
    }
    http_connection_hold(connection);
    connection->processing = true;
    do {
        connection->process_again = false;
        http_connection_read_and_parse(connection);
    } while (connection->process_again && !connection->closed);
    connection->processing = false;
    if (!connection->closed) {
        if (connection->failed ||
            (connection->closing && http_buffer_length(&connection->output) == 0))
            http_connection_close(connection);
        else
            http_connection_update_events(connection);
    }
    /* A streamed body's client has request_timeout_ms to send more, but
     * not while we wait for fd. */
    if (!connection->closed && connection->body_fd >= 0) {
        bool waiting_for_fd = http_buffer_length(&connection->body_pending) > 0;
        if (waiting_for_fd && connection->deadline_kind == HTTP_DEADLINE_BODY)
            http_connection_set_deadline(connection, HTTP_DEADLINE_NONE);
        else if (!waiting_for_fd && connection->deadline_kind == HTTP_DEADLINE_NONE)
            http_connection_set_deadline(connection, HTTP_DEADLINE_BODY);
    }
    http_connection_release(connection);
}

int http_connection_on_ready(struct loop *loop, int fd, uint32_t events, void *user,
                             struct keel_error *err)
{
    struct http_connection *connection = user;
    (void)loop;
    (void)fd;
    (void)err;

    http_connection_hold(connection);
    /* A unix socket reports EPOLLHUP only when the peer has closed both
     * ways: no answer can reach it any more. */
    if (events & (EPOLLHUP | EPOLLERR)) {
        connection->failed = true;
    } else {
        if (events & EPOLLOUT)
            http_connection_flush(connection);
        if (events & EPOLLIN)
            connection->readable = true;
    }
    http_connection_process(connection);
    http_connection_release(connection);
    return 0;
}

void http_connection_answer_done(struct http_connection *connection)
{
    connection->close_callback = NULL;
    connection->writable_callback = NULL;
    connection->answer = HTTP_ANSWER_NONE;
    if (connection->phase == HTTP_PHASE_HANDLING) {
        if (!http_connection_keeps_alive(connection))
            connection->closing = true;
        connection->phase = HTTP_PHASE_IDLE;
        http_connection_set_deadline(connection, HTTP_DEADLINE_IDLE);
    }
    /* Answered before its body was all read: the body's reader is told. */
    if (connection->body_fd >= 0)
        connection->body_failed = true;
    if (connection->processing)
        connection->process_again = true;
    else
        http_connection_kick(connection);
}

void http_connection_expire(struct http_connection *connection)
{
    switch (connection->deadline_kind) {
    case HTTP_DEADLINE_NONE:
        return;
    case HTTP_DEADLINE_IDLE:
        http_connection_close(connection);
        return;
    case HTTP_DEADLINE_REQUEST:
        http_connection_set_deadline(connection, HTTP_DEADLINE_NONE);
        http_connection_refuse(connection, 408, "request timeout");
        break;
    case HTTP_DEADLINE_BODY:
        http_connection_set_deadline(connection, HTTP_DEADLINE_NONE);
        connection->failed = true;
        break;
    }
    http_connection_process(connection);
}

size_t http_connection_pending(const struct http_connection *connection)
{
    return http_buffer_length(&connection->output);
}

void http_connection_set_writable_callback(struct http_connection *connection,
                                           http_connection_event_fn *callback, void *data)
{
    connection->writable_callback = callback;
    connection->writable_data = data;
}

void http_connection_set_close_callback(struct http_connection *connection,
                                        http_connection_event_fn *callback, void *data)
{
    connection->close_callback = callback;
    connection->close_data = data;
}
