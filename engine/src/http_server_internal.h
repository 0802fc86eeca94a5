/* http_server_internal.h — private to the http_* files: server and connection structs. */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "http_server.h"
#include "loop.h"

/* The output queue's high-water mark: above it the writable callback is
 * owed, and no further pipelined request is read (the peer is not reading). */
#define HTTP_QUEUE_MARK (64 * 1024)
/* One recv() into the server's scratch buffer. */
#define HTTP_READ_SIZE (64 * 1024)

/* Bytes with a consumed head: data[start..end) is what is left. */
struct http_buffer {
    char *data;
    size_t start;
    size_t end;
    size_t capacity;
};

static inline size_t http_buffer_length(const struct http_buffer *buffer)
{
    return buffer->end - buffer->start;
}

static inline void http_buffer_free(struct http_buffer *buffer)
{
    free(buffer->data);
    memset(buffer, 0, sizeof *buffer);
}

/* Room for extra more bytes after end (start is compacted away first). */
static inline int http_buffer_reserve(struct http_buffer *buffer, size_t extra)
{
    if (buffer->capacity - buffer->end >= extra)
        return 0;
    if (buffer->start > 0) {
        memmove(buffer->data, buffer->data + buffer->start, buffer->end - buffer->start);
        buffer->end -= buffer->start;
        buffer->start = 0;
        if (buffer->capacity - buffer->end >= extra)
            return 0;
    }
    size_t wanted = buffer->end + extra;
    if (wanted < buffer->end)
        return -1;
    size_t capacity = buffer->capacity > 0 ? buffer->capacity : 256;
    while (capacity < wanted)
        capacity = capacity * 2 > capacity ? capacity * 2 : wanted;
    char *data = realloc(buffer->data, capacity);
    if (data == NULL)
        return -1;
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

static inline int http_buffer_append(struct http_buffer *buffer, const void *data, size_t length)
{
    if (length == 0)
        return 0;
    if (http_buffer_reserve(buffer, length) < 0)
        return -1;
    memcpy(buffer->data + buffer->end, data, length);
    buffer->end += length;
    return 0;
}

/* Drop length bytes from the head; an emptied buffer gives its memory back
 * (idle connections should cost next to nothing). */
static inline void http_buffer_consume(struct http_buffer *buffer, size_t length)
{
    buffer->start += length;
    if (buffer->start >= buffer->end)
        http_buffer_free(buffer);
}

enum http_phase {
    HTTP_PHASE_IDLE,      /* between requests */
    HTTP_PHASE_RECEIVING, /* a request's head or buffered body is arriving */
    HTTP_PHASE_HANDLING,  /* the handler has the request; its answer is not complete */
};

enum http_answer {
    HTTP_ANSWER_NONE,
    HTTP_ANSWER_STREAMING, /* http_stream_begin was called, not yet end */
};

enum http_deadline {
    HTTP_DEADLINE_NONE,
    HTTP_DEADLINE_IDLE,    /* close quietly */
    HTTP_DEADLINE_REQUEST, /* answer 408 and close */
    HTTP_DEADLINE_BODY,    /* a streamed body stalled: treat the peer as gone */
};

enum http_piece {
    HTTP_PIECE_NONE,
    HTTP_PIECE_URL,
    HTTP_PIECE_FIELD,
    HTTP_PIECE_VALUE,
    HTTP_PIECE_END,
};

/* The request being received or handled: the handler's view and the
 * storage behind it, kept until the next request begins. */
struct http_request_state {
    struct http_request view;
    /* "url\0name\0value\0...name\0value\0path\0query\0": pointers into it
     * are made once the head is complete (it may move while it grows). */
    struct http_buffer text;
    size_t *offsets; /* per header: its name's offset, then its value's */
    size_t header_count;
    size_t offsets_capacity;
    struct http_header *headers;
    enum http_piece last_piece;
    size_t head_bytes; /* for header_limit */
    struct http_buffer body;
    bool streamed;        /* stream_body chose to stream the body to an fd */
    bool body_claimed;    /* http_connection_body_to_fd was called */
    bool expect_continue; /* "Expect: 100-continue": say so before reading the body */
    bool complete;        /* the whole message has been parsed */
    bool http10;          /* an HTTP/1.0 client: no chunked responses */
    bool head_method;     /* HEAD: the response has no body */
    bool parser_upgrade;  /* the parser stopped after it: what follows is not HTTP */
};

struct http_server {
    struct loop *loop;
    int listen_fd;
    bool accept_paused; /* out of fds: the listening socket rests a moment */
    char *socket_path;
    dev_t socket_device; /* what we bound, so free unlinks only our own socket */
    ino_t socket_inode;
    size_t body_limit;
    size_t header_limit;
    unsigned connection_limit;
    unsigned request_timeout_ms;
    unsigned idle_timeout_ms;
    http_handler_fn *handler;
    http_stream_body_fn *stream_body;
    void *data;
    http_parser_settings settings;
    char *read_buffer; /* HTTP_READ_SIZE, shared: nothing is left in it between reads */
    struct http_connection *connections;
    unsigned connection_count;
    struct http_connection *kicked; /* connections to process on the next turn */
    struct loop_timer *sweep_timer; /* deadlines, while any connection is open */
    struct loop_timer *kick_timer;
    struct loop_timer *accept_timer;
};

struct http_connection {
    struct http_server *server;
    struct http_connection *previous, *next; /* the server's open connections */
    struct http_connection *kick_next;
    bool kick_pending;
    int fd;
    /* Freed when closed and no caller up the stack holds it any more: a
     * connection may close inside its own callbacks. */
    unsigned references;
    bool closed;     /* the socket is closed or hijacked */
    bool failed;     /* the peer has gone or the socket failed: close from the loop */
    bool closing;    /* close once the output queue has drained */
    bool processing; /* http_connection_process is on the stack */
    bool process_again;
    bool readable; /* epoll said the socket has bytes (cleared on a short read) */
    bool peer_eof;
    bool last_request; /* no keep-alive after the current answer */
    bool dispatch_pending;
    uint32_t watched; /* the socket's epoll events */
    http_parser parser;
    struct http_buffer input; /* received and not yet parsed (pipelined requests) */
    struct http_buffer output;
    bool above_mark;
    enum http_phase phase;
    enum http_answer answer;
    bool stream_chunked;
    struct http_request_state current;
    int reject_status; /* set by a parser callback that refuses the request */
    const char *reject_problem;
    enum http_deadline deadline_kind;
    uint64_t deadline; /* ms, CLOCK_BOOTTIME */
    http_connection_event_fn *writable_callback;
    void *writable_data;
    http_connection_event_fn *close_callback;
    void *close_data;
    /* http_connection_body_to_fd */
    int body_fd;
    http_body_done_fn *body_done;
    void *body_data;
    struct http_buffer body_pending; /* de-chunked bytes fd did not take yet */
    bool body_fd_watched;
    bool body_failed;
};

/* http_server.c */
uint64_t http_now_ms(void);
void http_connection_hold(struct http_connection *connection);
void http_connection_release(struct http_connection *connection);
/* Close now: the body's done(false) and the close callback run if owed. */
void http_connection_close(struct http_connection *connection);
/* Hand the socket out (hijack): no callback runs. */
void http_connection_detach(struct http_connection *connection);
/* Process the connection on the loop's next turn, from a clean stack. */
void http_connection_kick(struct http_connection *connection);

/* http_connection.c */
void http_connection_settings_init(http_parser_settings *settings);
int http_connection_on_ready(struct loop *loop, int fd, uint32_t events, void *user,
                             struct keel_error *err);
/* Read, parse and dispatch what can be, then close or re-arm. */
void http_connection_process(struct http_connection *connection);
void http_connection_update_events(struct http_connection *connection);
/* Write now what the socket takes and queue the rest; -1 when the peer has
 * gone (then the connection closes from the loop). */
int http_connection_send(struct http_connection *connection, const struct iovec *iov, int count);
/* The handler's answer is complete: forget its callbacks, serve the next
 * request (or close). */
void http_connection_answer_done(struct http_connection *connection);
bool http_connection_keeps_alive(const struct http_connection *connection);
void http_connection_set_deadline(struct http_connection *connection, enum http_deadline kind);
/* A deadline in the sweep has passed. */
void http_connection_expire(struct http_connection *connection);

/* http_request.c */
void http_request_state_clear(struct http_request_state *state);
int http_request_state_add(struct http_request_state *state, enum http_piece piece,
                           const char *data, size_t length);
/* The head is complete: build the handler's view. Returns 0, or the status
 * to refuse the request with (*problem says why). */
int http_request_state_finish_head(struct http_request_state *state, const http_parser *parser,
                                   const char **problem);
/* %XX (and '+' as a space when plus_is_space) from in into out, which has
 * room for length + 1 bytes; NUL-terminated. -1 on a bad escape or a NUL. */
ssize_t http_percent_decode(const char *in, size_t length, bool plus_is_space, char *out);

/* http_response.c */
/* The server's own refusal (400, 408, 413, 431): Docker's JSON error with
 * Connection: close, outside of any handler's answer. */
int http_response_send_refusal(struct http_connection *connection, int status, const char *message);
