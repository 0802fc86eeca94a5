/* http_server.h — HTTP/1.1 on a unix socket, on the engine's one event loop: requests in;
 * responses, streams and hijacked connections out. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "loop.h"

/* Parsing is Node's http-parser (Debian's libhttp-parser, linked
 * statically); connections, buffers, keep-alive, chunked responses and
 * hijacking are ours, on loop.h, so that the daemon stays one thread with
 * one epoll and every fd is non-blocking: a slow or hostile client can
 * never block PID 1. */

struct http_server;
struct http_connection;

struct http_header {
    char *name; /* lower-cased */
    char *value;
};

struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* percent-decoded, without the query: "/v1.41/containers/json" */
    const char *query;  /* the raw query string after '?', "" when none */
    const struct http_header *headers;
    size_t header_count;
    /* The whole body, NUL-terminated (NULL and 0 when there is none), unless
     * the server's stream_body said to stream it (http_connection_body_to_fd). */
    const char *body;
    size_t body_length;
    bool keep_alive;
    bool upgrade; /* "Connection: Upgrade" with "Upgrade: tcp": docker's attach/exec start */
};

/* A header's value (case-insensitive name), NULL when absent. */
const char *http_request_header(const struct http_request *request, const char *name);

/* A query parameter, percent-decoded ('+' is a space) into *value (heap).
 * Returns 1 when present, 0 when absent, -1 with err on bad encoding. */
int http_request_query(const struct http_request *request, const char *name, char **value,
                       struct keel_error *err);

/* Called once per request, when its headers and (unless streamed) its whole
 * body have arrived. The handler answers with exactly one of
 * http_respond*, http_stream_begin (then writes and end) or http_hijack,
 * now or later: the connection and the request stay valid until then, or
 * until the close callback says the peer has gone. Requests pipelined
 * behind it wait until it is answered. */
typedef void http_handler_fn(struct http_connection *connection, const struct http_request *request,
                             void *data);

/* Whether a request's body is to be streamed to an fd instead of buffered
 * (the daemon's image load: archives of any size). Called after headers. */
typedef bool http_stream_body_fn(const struct http_request *request, void *data);

typedef void http_connection_event_fn(struct http_connection *connection, void *data);

struct http_server_options {
    const char *socket_path;
    mode_t socket_mode;        /* chmod of the socket, e.g. 0660 */
    gid_t socket_group;        /* chown group of the socket; (gid_t)-1: leave it */
    size_t body_limit;         /* buffered bodies past this get 413; 0: 16 MiB */
    size_t header_limit;       /* request line + headers past this get 431; 0: 64 KiB */
    unsigned connection_limit; /* past this, new connections are closed at once; 0: 1024 */
    unsigned
        request_timeout_ms;   /* a request not complete after this gets 408 and a close; 0: 30 s */
    unsigned idle_timeout_ms; /* an idle keep-alive connection is closed after this; 0: 120 s */
    http_handler_fn *handler;
    http_stream_body_fn *stream_body; /* may be NULL: every body buffered */
    void *data;                       /* given to handler and stream_body */
};

/* Listen on socket_path: a stale socket file (nobody accepting) is
 * replaced, a live one is refused (EADDRINUSE "... another engine is
 * listening"), anything else at the path is refused. */
int http_server_new(struct loop *loop, const struct http_server_options *options,
                    struct http_server **server, struct keel_error *err);
/* Close every connection (their close callbacks run) and the socket, and
 * unlink it. Not from inside this server's own callbacks. */
void http_server_free(struct http_server *server);
/* How many connections are open (tests: no leak after many clients). */
unsigned http_server_connection_count(const struct http_server *server);

/* ---- answers ---- */

/* A whole response. Content-Length is set; extra_headers (may be NULL) is
 * "Name: value\r\n" lines to add. Returns -1 when the peer has gone. */
int http_respond(struct http_connection *connection, int status, const char *content_type,
                 const char *extra_headers, const void *body, size_t length);
/* application/json */
int http_respond_json(struct http_connection *connection, int status, const char *json);
/* Docker's error body: {"message":"..."} (JSON-escaped), application/json. */
int http_respond_error(struct http_connection *connection, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A streamed response (Transfer-Encoding: chunked): logs --follow, events,
 * wait, load progress. Writes are queued and never block; a producer that
 * can outrun the peer checks http_connection_pending and waits for the
 * writable callback. end sends the last chunk; with keep-alive the
 * connection then serves its next request. */
int http_stream_begin(struct http_connection *connection, int status, const char *content_type,
                      const char *extra_headers);
int http_stream_write(struct http_connection *connection, const void *data, size_t length);
int http_stream_end(struct http_connection *connection);

/* Bytes queued for the peer and not yet written. */
size_t http_connection_pending(const struct http_connection *connection);
/* Called when the queue has drained below 64 KiB after having been above it. */
void http_connection_set_writable_callback(struct http_connection *connection,
                                           http_connection_event_fn *callback, void *data);
/* Called once when the connection closes before its answer is complete (the
 * peer went away, an error, the server freed): whoever holds the connection
 * must forget it. Not called after a hijack. Callbacks never run from inside
 * an http_* call: a failed http_stream_write returns -1 and the close
 * callback follows from the loop. */
void http_connection_set_close_callback(struct http_connection *connection,
                                        http_connection_event_fn *callback, void *data);

/* Stream the request's body (de-chunked) into fd, which the caller owns
 * and keeps open until done runs: bytes are written as they arrive, and the
 * socket is not read while fd is not writable (back-pressure, never a
 * blocking write). done(connection, ok, data) runs once: ok true at the
 * body's end, false if the peer went away or fd failed. The handler answers
 * the request after done (or may answer an error earlier). Only for a
 * request stream_body chose. fd is made O_NONBLOCK and must not be watched
 * by the loop already. */
typedef void http_body_done_fn(struct http_connection *connection, bool ok, void *data);
int http_connection_body_to_fd(struct http_connection *connection, int fd, http_body_done_fn *done,
                               void *data, struct keel_error *err);

/* Take the connection's socket for a raw stream (attach, exec start): write
 * "HTTP/1.1 101 UPGRADED" with Connection/Upgrade headers when the request
 * asked to upgrade, else "200 OK", with content_type
 * ("application/vnd.docker.raw-stream" or ".multiplexed-stream"), flush
 * what is queued, then hand the socket (non-blocking, O_CLOEXEC) to the
 * caller; the connection object is gone. Bytes the client sent after the
 * request (its first stdin) are returned in *leftover (heap, may be NULL). */
int http_hijack(struct http_connection *connection, const char *content_type, int *fd,
                char **leftover, size_t *leftover_length, struct keel_error *err);

/* The status line's reason phrase for a code ("Not Found"). */
const char *http_status_reason(int status);
