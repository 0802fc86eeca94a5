/* http_response.c — answers: whole responses, JSON errors, chunked streams, hijacks. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "http_server_internal.h"

/* A hijack flushes its header at once; a socket that takes nothing for
 * this long has a peer that is not reading. */
#define HTTP_HIJACK_FLUSH_MS 1000

static const struct {
    int status;
    const char *reason;
} HTTP_REASONS[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Request Entity Too Large"},
    {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Entity"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *http_status_reason(int status)
{
    for (size_t i = 0; i < sizeof HTTP_REASONS / sizeof HTTP_REASONS[0]; i++)
        if (HTTP_REASONS[i].status == status)
            return HTTP_REASONS[i].reason;
    return "Unknown";
}

/* ---- heads ---- */

struct http_head {
    char small[512];
    char *text; /* small, or heap when extra headers make it longer */
    size_t length;
};

static void http_head_free(struct http_head *head)
{
    if (head->text != head->small)
        free(head->text);
}

/* "HTTP/1.1 <status> <reason>\r\n" then the given header lines and a blank
 * line. Returns -1 only when out of memory. */
static int http_head_build(struct http_head *head, int status, const char *content_type,
                           const char *framing, const char *connection_header, const char *extra)
{
    char type_line[256] = "";
    if (content_type != NULL && *content_type != '\0')
        snprintf(type_line, sizeof type_line, "Content-Type: %s\r\n", content_type);
    if (extra == NULL)
        extra = "";
    const char *format = "HTTP/1.1 %d %s\r\n%s%s%s%s\r\n";
    const char *reason = http_status_reason(status);
    int length = snprintf(head->small, sizeof head->small, format, status, reason, type_line,
                          framing, connection_header, extra);
    if (length < 0)
        return -1;
    head->text = head->small;
    if ((size_t)length >= sizeof head->small) {
        head->text = malloc((size_t)length + 1);
        if (head->text == NULL)
            return -1;
        snprintf(head->text, (size_t)length + 1, format, status, reason, type_line, framing,
                 connection_header, extra);
    }
    head->length = (size_t)length;
    return 0;
}

static const char *http_connection_header(const struct http_connection *connection, bool keep)
{
    if (!keep)
        return "Connection: close\r\n";
    /* HTTP/1.0 closes unless told otherwise. */
    return connection->current.http10 ? "Connection: keep-alive\r\n" : "";
}

static int http_response_send(struct http_connection *connection, int status,
                              const char *content_type, const char *extra_headers, const void *body,
                              size_t length, bool keep)
{
    struct http_head head;
    char framing[64] = "";
    /* 1xx, 204 and 304 have no body, nor a length for one. */
    bool bodiless = status < 200 || status == 204 || status == 304;
    if (!bodiless)
        snprintf(framing, sizeof framing, "Content-Length: %zu\r\n", length);
    if (http_head_build(&head, status, content_type, framing,
                        http_connection_header(connection, keep), extra_headers) < 0) {
        connection->failed = true;
        http_connection_kick(connection);
        return -1;
    }
    struct iovec iov[2] = {
        {.iov_base = head.text, .iov_len = head.length},
        {.iov_base = (void *)body, .iov_len = length},
    };
    int count = bodiless || connection->current.head_method || length == 0 ? 1 : 2;
    int result = http_connection_send(connection, iov, count);
    http_head_free(&head);
    return result;
}

/* ---- Docker's error body ---- */

/* The length of a valid UTF-8 sequence at text (1..4), 0 when invalid. */
static size_t http_utf8_sequence(const unsigned char *text)
{
    unsigned char c = text[0];
    size_t length;
    uint32_t code;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        length = 2;
        code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        length = 3;
        code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        length = 4;
        code = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (text[i] & 0x3f);
    }
    /* overlong, surrogates, past U+10FFFF */
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
        return 0;
    return length;
}

/* {"message":"..."} with message as a JSON string: quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 replaced by U+FFFD
 * (messages quote what clients sent). A newline ends it, as Docker's does. */
static char *http_error_body(const char *message, size_t *length)
{
    size_t message_length = strlen(message);
    /* \u00XX is the longest escape: 6 bytes per input byte at most. */
    char *body = malloc(6 * message_length + 32);
    if (body == NULL)
        return NULL;
    char *out = body;
    out += sprintf(out, "{\"message\":\"");
    const unsigned char *p = (const unsigned char *)message;
    while (*p != '\0') {
        unsigned char c = *p;
        const char *escape = c == '"'    ? "\\\""
                             : c == '\\' ? "\\\\"
                             : c == '\n' ? "\\n"
                             : c == '\r' ? "\\r"
                             : c == '\t' ? "\\t"
                                         : NULL;
        if (escape != NULL) {
            out = stpcpy(out, escape);
            p++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            out += sprintf(out, "\\u%04x", c);
            p++;
            continue;
        }
        size_t sequence = http_utf8_sequence(p);
        if (sequence == 0) {
            out += sprintf(out, "\\ufffd");
            p++;
            continue;
        }
        memcpy(out, p, sequence);
        out += sequence;
        p += sequence;
    }
    out += sprintf(out, "\"}\n");
    *length = (size_t)(out - body);
    return body;
}

int http_response_send_refusal(struct http_connection *connection, int status, const char *message)
{
    size_t length;
    _cleanup_free_ char *body = http_error_body(message, &length);
    if (body == NULL)
        return http_response_send(connection, status, NULL, NULL, NULL, 0, false);
    return http_response_send(connection, status, "application/json", NULL, body, length, false);
}

/* ---- whole answers ---- */

static bool http_connection_awaits_answer(const struct http_connection *connection)
{
    return !connection->closed && connection->phase == HTTP_PHASE_HANDLING &&
           connection->answer == HTTP_ANSWER_NONE;
}

int http_respond(struct http_connection *connection, int status, const char *content_type,
                 const char *extra_headers, const void *body, size_t length)
{
    if (!http_connection_awaits_answer(connection))
        return -1;
    bool keep = http_connection_keeps_alive(connection);
    connection->last_request = !keep;
    int result =
        http_response_send(connection, status, content_type, extra_headers, body, length, keep);
    http_connection_answer_done(connection);
    return result;
}

int http_respond_json(struct http_connection *connection, int status, const char *json)
{
    return http_respond(connection, status, "application/json", NULL, json, strlen(json));
}

int http_respond_error(struct http_connection *connection, int status, const char *format, ...)
{
    va_list args;
    _cleanup_free_ char *message = NULL;
    va_start(args, format);
    int formatted = vasprintf(&message, format, args);
    va_end(args);
    if (formatted < 0)
        message = NULL;
    size_t length;
    _cleanup_free_ char *body =
        http_error_body(message != NULL ? message : "out of memory", &length);
    if (body == NULL)
        return http_respond(connection, status, NULL, NULL, NULL, 0);
    return http_respond(connection, status, "application/json", NULL, body, length);
}

/* ---- streams ---- */

int http_stream_begin(struct http_connection *connection, int status, const char *content_type,
                      const char *extra_headers)
{
    if (!http_connection_awaits_answer(connection))
        return -1;
    /* HTTP/1.0 has no chunked encoding: the body ends where the
     * connection does. */
    connection->stream_chunked = !connection->current.http10;
    bool keep = connection->stream_chunked && http_connection_keeps_alive(connection);
    connection->last_request = !keep;
    connection->answer = HTTP_ANSWER_STREAMING;

    struct http_head head;
    if (http_head_build(&head, status, content_type,
                        connection->stream_chunked ? "Transfer-Encoding: chunked\r\n" : "",
                        http_connection_header(connection, keep), extra_headers) < 0) {
        connection->failed = true;
        http_connection_kick(connection);
        return -1;
    }
    struct iovec iov = {.iov_base = head.text, .iov_len = head.length};
    int result = http_connection_send(connection, &iov, 1);
    http_head_free(&head);
    return result;
}

int http_stream_write(struct http_connection *connection, const void *data, size_t length)
{
    if (connection->closed || connection->failed || connection->answer != HTTP_ANSWER_STREAMING)
        return -1;
    /* An empty chunk would end the stream; a HEAD request gets no body. */
    if (length == 0 || connection->current.head_method)
        return 0;
    if (!connection->stream_chunked) {
        struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
        return http_connection_send(connection, &iov, 1);
    }
    char size_line[32];
    int size_length = snprintf(size_line, sizeof size_line, "%zx\r\n", length);
    struct iovec iov[3] = {
        {.iov_base = size_line, .iov_len = (size_t)size_length},
        {.iov_base = (void *)data, .iov_len = length},
        {.iov_base = (void *)"\r\n", .iov_len = 2},
    };
    return http_connection_send(connection, iov, 3);
}

int http_stream_end(struct http_connection *connection)
{
    if (connection->closed || connection->answer != HTTP_ANSWER_STREAMING)
        return -1;
    int result = connection->failed ? -1 : 0;
    if (result == 0 && connection->stream_chunked && !connection->current.head_method) {
        struct iovec iov = {.iov_base = (void *)"0\r\n\r\n", .iov_len = 5};
        result = http_connection_send(connection, &iov, 1);
    }
    http_connection_answer_done(connection);
    return result;
}

/* ---- hijack ---- */

/* Write out the queue before the socket changes hands. The header is small
 * and the socket's buffer is normally empty by now, so one send is the
 * rule; a full buffer gets a short poll, never an unbounded wait. */
static int http_connection_flush_now(struct http_connection *connection, struct keel_error *err)
{
    struct http_buffer *output = &connection->output;
    uint64_t deadline = http_now_ms() + HTTP_HIJACK_FLUSH_MS;
    while (http_buffer_length(output) > 0) {
        ssize_t written = send(connection->fd, output->data + output->start,
                               http_buffer_length(output), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written >= 0) {
            http_buffer_consume(output, (size_t)written);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return keel_error_set(err, errno, "hijack connection: send");
        uint64_t now = http_now_ms();
        if (now >= deadline)
            return keel_error_set(err, ETIMEDOUT, "hijack connection: the client does not read");
        struct pollfd poll_fd = {.fd = connection->fd, .events = POLLOUT};
        if (poll(&poll_fd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
            return keel_error_set(err, errno, "hijack connection: poll");
    }
    return 0;
}

int http_hijack(struct http_connection *connection, const char *content_type, int *fd,
                char **leftover, size_t *leftover_length, struct keel_error *err)
{
    *fd = -1;
    *leftover = NULL;
    *leftover_length = 0;
    if (connection->closed || connection->failed)
        return keel_error_set(err, EPIPE, "hijack connection: the client has gone");
    if (!http_connection_awaits_answer(connection) || connection->current.streamed)
        return keel_error_invalid(err, "hijack connection: no request awaits an answer");

    char head[512];
    const char *type = content_type != NULL ? content_type : "application/vnd.docker.raw-stream";
    int length;
    if (connection->current.view.upgrade)
        length = snprintf(head, sizeof head,
                          "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\n"
                          "Upgrade: tcp\r\n\r\n",
                          type);
    else
        length = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", type);
    if (length < 0 || (size_t)length >= sizeof head)
        return keel_error_invalid(err, "hijack connection: content type too long");

    struct http_buffer *input = &connection->input;
    _cleanup_free_ char *rest = NULL;
    size_t rest_length = http_buffer_length(input);
    if (rest_length > 0) {
        rest = malloc(rest_length + 1);
        if (rest == NULL)
            return keel_error_set(err, ENOMEM, "hijack connection");
        memcpy(rest, input->data + input->start, rest_length);
        rest[rest_length] = '\0';
    }
    if (http_buffer_append(&connection->output, head, (size_t)length) < 0)
        return keel_error_set(err, ENOMEM, "hijack connection");
    if (http_connection_flush_now(connection, err) < 0) {
        /* Given up on as an answer: nobody is told twice. */
        connection->failed = true;
        connection->last_request = true;
        http_connection_answer_done(connection);
        return -1;
    }

    *fd = connection->fd;
    http_connection_detach(connection);
    *leftover = steal_pointer(&rest);
    *leftover_length = rest_length;
    return 0;
}
