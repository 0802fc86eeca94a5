/* http_client.c — the keel CLI's blocking HTTP/1.1 client of the engine API on a unix socket. */
#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <http_parser.h>

#include "cleanup.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

#define HTTP_CLIENT_READ_SIZE (64 * 1024)  /* one read(2) from the socket */
#define HTTP_CLIENT_CHUNK_SIZE (64 * 1024) /* one chunk of a streamed request body */
#define HTTP_CLIENT_REQUEST_BODY_LIMIT (256u * 1024 * 1024) /* http_client_request's answers */

/* What struct http_client's opaque parser points to: http-parser's state
 * plus what its callbacks fill in. */
struct http_client_state {
    http_parser parser;
    bool head_request;   /* the last request sent was HEAD: its answer has no body */
    bool head_complete;  /* on_headers_complete ran for the response being read */
    bool response_open;  /* a head was returned and its body is not read to its end */
    bool out_of_memory;  /* a callback could not allocate */
    bool last_was_value; /* header callbacks: the next field starts a new header */
    bool message_complete;
    struct http_header *headers;
    size_t header_count;
    size_t header_capacity;
    char *body_output; /* where on_body copies: room for all it can be given */
    size_t body_output_length;
};

/* Fill err with a message that carries no strerror text, keeping errno_value
 * (a protocol failure that still has an errno for the caller to test). */
__attribute__((format(printf, 3, 4))) static int
http_client_fail(struct keel_error *err, int errno_value, const char *format, ...)
{
    va_list args;

    err->errno_value = errno_value;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    return -1;
}

int http_client_parse_host(const char *host, char **socket_path, struct keel_error *err)
{
    const char *path;
    const char *scheme_end;

    *socket_path = NULL;
    if (host == NULL || host[0] == '\0')
        return keel_error_invalid(err, "engine address is empty");
    if (strncmp(host, "unix://", 7) == 0) {
        path = host + 7;
    } else if (host[0] == '/') {
        path = host;
    } else if ((scheme_end = strstr(host, "://")) != NULL) {
        return keel_error_invalid(
            err, "engine address %s: %.*s:// is not supported, only unix:// sockets are supported",
            host, (int)(scheme_end - host), host);
    } else {
        return keel_error_invalid(
            err, "engine address %s: expected unix:///PATH or an absolute path", host);
    }
    if (path[0] == '\0')
        return keel_error_invalid(err, "engine address %s: empty socket path", host);
    if (path[0] != '/')
        return keel_error_invalid(err, "engine address %s: the socket path must be absolute", host);
    *socket_path = strdup(path);
    if (*socket_path == NULL)
        return keel_error_set(err, ENOMEM, "engine address %s", host);
    return 0;
}

/* ---- the connection ---- */

static void http_client_free_headers(struct http_header *headers, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(headers[i].name);
        free(headers[i].value);
    }
    free(headers);
}

int http_client_connect(struct http_client *client, const char *socket_path, struct keel_error *err)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -1;

    /* Whatever happens next, http_client_close is safe to call. */
    *client = (struct http_client){.fd = -1};
    if (strlen(socket_path) >= sizeof address.sun_path)
        return keel_error_set(err, ENAMETOOLONG, "cannot reach the engine at %s", socket_path);
    strcpy(address.sun_path, socket_path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return keel_error_set(err, errno, "cannot reach the engine at %s: socket", socket_path);
    while (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        if (saved == EINTR)
            continue;
        if (saved == ENOENT || saved == ECONNREFUSED)
            return http_client_fail(err, saved,
                                    "cannot reach the engine at %s: %s (is the daemon running?)",
                                    socket_path, strerror(saved));
        return keel_error_set(err, saved, "cannot reach the engine at %s", socket_path);
    }

    client->parser = calloc(1, sizeof(struct http_client_state));
    if (client->parser == NULL)
        return keel_error_set(err, ENOMEM, "connect to the engine at %s", socket_path);
    client->fd = steal_fd(&fd);
    /* Nothing to read until a request is sent. */
    client->body_done = true;
    return 0;
}

void http_client_close(struct http_client *client)
{
    struct http_client_state *state = client->parser;

    if (client->fd >= 0)
        close(client->fd);
    if (state != NULL)
        http_client_free_headers(state->headers, state->header_count);
    free(state);
    free(client->buffer);
    *client = (struct http_client){.fd = -1};
}

/* ---- requests ---- */

/* sendmsg(2) until every byte of vector is written. MSG_NOSIGNAL: an engine
 * that went away is an EPIPE to report, never a SIGPIPE that kills the CLI.
 * vector is consumed. -1 with errno. */
static int http_client_write_vector(int fd, struct iovec *vector, size_t count)
{
    while (count > 0) {
        struct msghdr message = {.msg_iov = vector, .msg_iovlen = count};
        ssize_t written = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (count > 0 && (size_t)written >= vector->iov_len) {
            written -= (ssize_t)vector->iov_len;
            vector++;
            count--;
        }
        if (count > 0) {
            vector->iov_base = (char *)vector->iov_base + written;
            vector->iov_len -= (size_t)written;
        }
    }
    return 0;
}

/* Whether text is safe inside a request line or a header value: no control
 * characters (no CR or LF to smuggle a header or a second request). */
static bool http_client_text_is_clean(const char *text, bool spaces_allowed)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f || (*c == ' ' && !spaces_allowed))
            return false;
    return true;
}

/* extra_headers must be whole "Name: value\r\n" lines: anything else would
 * end the head early or run into the next line. */
static bool http_client_extra_headers_are_clean(const char *extra_headers)
{
    const char *line = extra_headers;

    while (*line != '\0') {
        const char *end = strstr(line, "\r\n");
        if (end == NULL || end == line || strchr(line, ':') == NULL || strchr(line, ':') > end)
            return false;
        for (const char *c = line; c < end; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t')
                return false;
        line = end + 2;
    }
    return true;
}

enum http_client_body_kind {
    HTTP_CLIENT_BODY_NONE,
    HTTP_CLIENT_BODY_LENGTH,
    HTTP_CLIENT_BODY_CHUNKED,
};

/* The request line and headers, ending with the empty line, into *head (heap). */
static int http_client_format_head(const char *method, const char *target, const char *content_type,
                                   const char *extra_headers, enum http_client_body_kind body_kind,
                                   size_t body_length, bool upgrade, char **head,
                                   size_t *head_length, struct keel_error *err)
{
    FILE *stream;

    if (method[0] == '\0' || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method))
        return keel_error_invalid(err, "request method \"%s\" is not an upper-case word", method);
    if (target[0] != '/' || !http_client_text_is_clean(target, false))
        return keel_error_invalid(
            err, "request target \"%s\" must start with / and hold no spaces or control characters",
            target);
    if (content_type != NULL && !http_client_text_is_clean(content_type, true))
        return keel_error_invalid(err, "request content type \"%s\" holds control characters",
                                  content_type);
    if (extra_headers != NULL && !http_client_extra_headers_are_clean(extra_headers))
        return keel_error_invalid(
            err, "extra request headers must be whole \"Name: value\\r\\n\" lines");

    stream = open_memstream(head, head_length);
    if (stream == NULL)
        return keel_error_set(err, errno, "format request %s %s", method, target);
    fprintf(stream, "%s %s HTTP/1.1\r\nHost: keel\r\nUser-Agent: keel/%s\r\n", method, target,
            KEEL_VERSION);
    if (content_type != NULL && body_kind != HTTP_CLIENT_BODY_NONE)
        fprintf(stream, "Content-Type: %s\r\n", content_type);
    if (body_kind == HTTP_CLIENT_BODY_LENGTH)
        fprintf(stream, "Content-Length: %zu\r\n", body_length);
    else if (body_kind == HTTP_CLIENT_BODY_CHUNKED)
        fputs("Transfer-Encoding: chunked\r\n", stream);
    if (upgrade)
        fputs("Connection: Upgrade\r\nUpgrade: tcp\r\n", stream);
    if (extra_headers != NULL)
        fputs(extra_headers, stream);
    fputs("\r\n", stream);
    if (ferror(stream) || fclose(stream) != 0) {
        free(*head);
        *head = NULL;
        return keel_error_set(err, ENOMEM, "format request %s %s", method, target);
    }
    return 0;
}

/* What reading this request's response must know: a HEAD's answer has no body. */
static void http_client_note_request(struct http_client *client, const char *method)
{
    struct http_client_state *state = client->parser;
    state->head_request = strcmp(method, "HEAD") == 0;
}

int http_client_send(struct http_client *client, const char *method, const char *target,
                     const char *content_type, const char *extra_headers, const void *body,
                     size_t length, bool upgrade, struct keel_error *err)
{
    _cleanup_free_ char *head = NULL;
    size_t head_length = 0;
    enum http_client_body_kind body_kind =
        body != NULL ? HTTP_CLIENT_BODY_LENGTH : HTTP_CLIENT_BODY_NONE;

    if (http_client_format_head(method, target, content_type, extra_headers, body_kind, length,
                                upgrade, &head, &head_length, err) < 0)
        return -1;
    struct iovec vector[2] = {
        {.iov_base = head, .iov_len = head_length},
        {.iov_base = (void *)body, .iov_len = body != NULL ? length : 0},
    };
    if (http_client_write_vector(client->fd, vector, 2) < 0)
        return keel_error_set(err, errno, "send %s %s to the engine", method, target);
    http_client_note_request(client, method);
    return 0;
}

/* A name for body_fd in errors: "standard input", the file's path, or "fd N". */
static void http_client_describe_fd(int fd, char *name, size_t size)
{
    char link[64];
    ssize_t length;

    if (fd == STDIN_FILENO) {
        snprintf(name, size, "standard input");
        return;
    }
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    length = readlink(link, name, size - 1);
    if (length <= 0) {
        snprintf(name, size, "fd %d", fd);
        return;
    }
    name[length] = '\0';
}

int http_client_send_fd(struct http_client *client, const char *method, const char *target,
                        const char *content_type, int body_fd,
                        void (*progress)(uint64_t sent, void *data), void *progress_data,
                        struct keel_error *err)
{
    _cleanup_free_ char *head = NULL;
    _cleanup_free_ char *chunk = NULL;
    size_t head_length = 0;
    uint64_t sent = 0;

    if (http_client_format_head(method, target, content_type, NULL, HTTP_CLIENT_BODY_CHUNKED, 0,
                                false, &head, &head_length, err) < 0)
        return -1;
    struct iovec head_vector = {.iov_base = head, .iov_len = head_length};
    if (http_client_write_vector(client->fd, &head_vector, 1) < 0)
        return keel_error_set(err, errno, "send %s %s to the engine", method, target);
    http_client_note_request(client, method);

    chunk = malloc(HTTP_CLIENT_CHUNK_SIZE);
    if (chunk == NULL)
        return keel_error_set(err, ENOMEM, "send %s %s to the engine", method, target);
    for (;;) {
        char size_line[32];
        ssize_t got = read(body_fd, chunk, HTTP_CLIENT_CHUNK_SIZE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            char name[PATH_MAX];
            http_client_describe_fd(body_fd, name, sizeof name);
            return keel_error_set(err, saved, "read the request body from %s", name);
        }
        if (got == 0)
            break;
        struct iovec vector[3] = {
            {.iov_base = size_line,
             .iov_len = (size_t)snprintf(size_line, sizeof size_line, "%zx\r\n", (size_t)got)},
            {.iov_base = chunk, .iov_len = (size_t)got},
            {.iov_base = "\r\n", .iov_len = 2},
        };
        if (http_client_write_vector(client->fd, vector, 3) < 0)
            return keel_error_set(err, errno, "send the body of %s %s to the engine", method,
                                  target);
        sent += (uint64_t)got;
        if (progress != NULL)
            progress(sent, progress_data);
    }
    struct iovec last_chunk = {.iov_base = "0\r\n\r\n", .iov_len = 5};
    if (http_client_write_vector(client->fd, &last_chunk, 1) < 0)
        return keel_error_set(err, errno, "send the body of %s %s to the engine", method, target);
    return 0;
}

/* ---- parsing the response (http-parser's callbacks) ---- */

static int http_client_append(char **text, const char *at, size_t length)
{
    size_t old_length = *text != NULL ? strlen(*text) : 0;
    char *grown = realloc(*text, old_length + length + 1);

    if (grown == NULL)
        return -1;
    memcpy(grown + old_length, at, length);
    grown[old_length + length] = '\0';
    *text = grown;
    return 0;
}

static int http_client_on_header_field(http_parser *parser, const char *at, size_t length)
{
    struct http_client_state *state = parser->data;

    if (state->head_complete) /* a chunked body's trailer: not ours to keep */
        return 0;
    if (state->header_count == 0 || state->last_was_value) {
        if (state->header_count == state->header_capacity) {
            size_t capacity = state->header_capacity != 0 ? state->header_capacity * 2 : 16;
            struct http_header *grown = reallocarray(state->headers, capacity, sizeof *grown);
            if (grown == NULL)
                goto out_of_memory;
            state->headers = grown;
            state->header_capacity = capacity;
        }
        state->headers[state->header_count++] = (struct http_header){0};
        state->last_was_value = false;
    }
    if (http_client_append(&state->headers[state->header_count - 1].name, at, length) < 0)
        goto out_of_memory;
    return 0;
out_of_memory:
    state->out_of_memory = true;
    return -1;
}

static int http_client_on_header_value(http_parser *parser, const char *at, size_t length)
{
    struct http_client_state *state = parser->data;

    if (state->head_complete || state->header_count == 0)
        return 0;
    state->last_was_value = true;
    if (http_client_append(&state->headers[state->header_count - 1].value, at, length) < 0) {
        state->out_of_memory = true;
        return -1;
    }
    return 0;
}

/* Pauses the parser at the end of the head, so that read_head consumes the
 * head and nothing of the body. Returning 1 tells http-parser the response
 * has no body whatever its headers say. */
static int http_client_on_headers_complete(http_parser *parser)
{
    struct http_client_state *state = parser->data;
    unsigned status = parser->status_code;

    state->head_complete = true;
    for (size_t i = 0; i < state->header_count; i++) {
        struct http_header *header = &state->headers[i];
        if (header->value == NULL && (header->value = strdup("")) == NULL) {
            state->out_of_memory = true;
            return -1;
        }
        for (char *c = header->name; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    http_parser_pause(parser, 1);
    if (state->head_request || status == 204 || status == 304 || (status >= 100 && status < 200))
        return 1;
    return 0;
}

/* Room for length bytes is certain: the parser is never given more input
 * than body_output has room for, and the body is part of the input. */
static int http_client_on_body(http_parser *parser, const char *at, size_t length)
{
    struct http_client_state *state = parser->data;

    memcpy(state->body_output + state->body_output_length, at, length);
    state->body_output_length += length;
    return 0;
}

/* Pauses so that bytes past this response stay in the buffer (the next
 * response on a kept-alive connection). */
static int http_client_on_message_complete(http_parser *parser)
{
    struct http_client_state *state = parser->data;

    state->message_complete = true;
    http_parser_pause(parser, 1);
    return 0;
}

static const http_parser_settings http_client_parser_settings = {
    .on_header_field = http_client_on_header_field,
    .on_header_value = http_client_on_header_value,
    .on_headers_complete = http_client_on_headers_complete,
    .on_body = http_client_on_body,
    .on_message_complete = http_client_on_message_complete,
};

/* Give the parser the first length bytes of the buffer and drop what it
 * consumed. A pause (end of head or of message) is not an error. */
static int http_client_parse(struct http_client *client, size_t length, const char *what,
                             struct keel_error *err)
{
    struct http_client_state *state = client->parser;
    size_t parsed =
        http_parser_execute(&state->parser, &http_client_parser_settings, client->buffer, length);
    enum http_errno parser_errno = HTTP_PARSER_ERRNO(&state->parser);

    client->buffer_length -= parsed;
    memmove(client->buffer, client->buffer + parsed, client->buffer_length);
    if (state->out_of_memory)
        return keel_error_set(err, ENOMEM, "read %s from the engine", what);
    if (parser_errno == HPE_PAUSED) {
        http_parser_pause(&state->parser, 0);
        return 0;
    }
    if (parser_errno != HPE_OK)
        return http_client_fail(err, EPROTO, "bad response from the engine: %s",
                                http_errno_description(parser_errno));
    return 0;
}

/* Read more bytes from the socket into the buffer: >0, 0 at EOF, -1 with errno. */
static ssize_t http_client_fill(struct http_client *client)
{
    ssize_t got;

    if (client->buffer_capacity - client->buffer_length < HTTP_CLIENT_READ_SIZE) {
        size_t capacity = client->buffer_length + HTTP_CLIENT_READ_SIZE;
        char *grown = realloc(client->buffer, capacity);
        if (grown == NULL) {
            errno = ENOMEM;
            return -1;
        }
        client->buffer = grown;
        client->buffer_capacity = capacity;
    }
    do
        got = read(client->fd, client->buffer + client->buffer_length,
                   client->buffer_capacity - client->buffer_length);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        client->buffer_length += (size_t)got;
    return got;
}

/* Start parsing a new response head. */
static void http_client_reset_response(struct http_client *client)
{
    struct http_client_state *state = client->parser;
    bool head_request = state->head_request;

    http_client_free_headers(state->headers, state->header_count);
    *state = (struct http_client_state){.head_request = head_request};
    http_parser_init(&state->parser, HTTP_RESPONSE);
    state->parser.data = state;
    client->chunked = false;
    client->body_done = false;
    client->content_remaining = 0;
}

/* One head (a 1xx is one too): parse until on_headers_complete, then give
 * the parser the head's last byte, which it saw but did not consume when it
 * paused there: now it settles how the body is framed, or ends a message
 * without one. */
static int http_client_read_one_head(struct http_client *client, struct keel_error *err)
{
    struct http_client_state *state = client->parser;
    bool received = client->buffer_length > 0;

    http_client_reset_response(client);
    for (;;) {
        if (client->buffer_length > 0) {
            if (http_client_parse(client, client->buffer_length, "response", err) < 0)
                return -1;
            if (state->head_complete)
                break;
        }
        ssize_t got = http_client_fill(client);
        if (got < 0)
            return keel_error_set(err, errno, "read response from the engine");
        if (got == 0)
            return http_client_fail(
                err, ECONNRESET, "read response from the engine: connection closed %s",
                received ? "in the middle of the response" : "before the response");
        received = true;
    }
    if (http_client_parse(client, 1, "response", err) < 0)
        return -1;
    client->body_done = state->message_complete;
    client->chunked = (state->parser.flags & F_CHUNKED) != 0;
    if (!client->body_done && !client->chunked && (state->parser.flags & F_CONTENTLENGTH))
        client->content_remaining = state->parser.content_length;
    return 0;
}

int http_client_read_head(struct http_client *client, struct http_client_response *response,
                          struct keel_error *err)
{
    struct http_client_state *state = client->parser;

    *response = (struct http_client_response){0};
    if (state->response_open)
        return http_client_fail(
            err, EBUSY, "read response from the engine: the previous response's body is unread");
    do {
        if (http_client_read_one_head(client, err) < 0)
            return -1;
        /* 1xx answers other than 101 (100 Continue, ...) precede the real one. */
    } while (state->parser.status_code >= 100 && state->parser.status_code < 200 &&
             state->parser.status_code != 101);

    response->status = (int)state->parser.status_code;
    response->headers = steal_pointer(&state->headers);
    response->header_count = state->header_count;
    response->upgraded = response->status == 101;
    state->header_count = 0;
    state->header_capacity = 0;
    state->response_open = !client->body_done;
    return 0;
}

const char *http_client_response_header(const struct http_client_response *response,
                                        const char *name)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

void http_client_response_free(struct http_client_response *response)
{
    http_client_free_headers(response->headers, response->header_count);
    *response = (struct http_client_response){0};
}

ssize_t http_client_read_body(struct http_client *client, void *buffer, size_t size,
                              struct keel_error *err)
{
    struct http_client_state *state = client->parser;

    if (size == 0)
        return 0;
    while (!client->body_done) {
        if (client->buffer_length > 0) {
            /* Never more input than output room: on_body cannot overflow. */
            size_t length = client->buffer_length < size ? client->buffer_length : size;
            state->body_output = buffer;
            state->body_output_length = 0;
            if (http_client_parse(client, length, "response body", err) < 0)
                return -1;
            if (state->message_complete)
                client->body_done = true;
            else if (client->content_remaining != 0)
                client->content_remaining = state->parser.content_length;
            if (state->body_output_length > 0 || client->body_done)
                break;
            continue;
        }
        ssize_t got = http_client_fill(client);
        if (got < 0)
            return keel_error_set(err, errno, "read response body from the engine");
        if (got == 0) {
            /* The end of a body that runs until the connection closes, or
             * an engine that went away in the middle of one. */
            http_parser_execute(&state->parser, &http_client_parser_settings, NULL, 0);
            if (!state->message_complete)
                return http_client_fail(
                    err, ECONNRESET,
                    "read response body from the engine: connection closed before its end");
            client->body_done = true;
        }
    }
    if (client->body_done) {
        client->content_remaining = 0;
        state->response_open = false;
    }
    size_t produced = state->body_output_length;
    state->body_output = NULL;
    state->body_output_length = 0;
    return (ssize_t)produced;
}

int http_client_read_body_all(struct http_client *client, size_t limit, char **body, size_t *length,
                              struct keel_error *err)
{
    _cleanup_free_ char *data = NULL;
    size_t capacity = 0;
    size_t used = 0;

    *body = NULL;
    *length = 0;
    for (;;) {
        /* One byte past limit is enough to know the body is too big. */
        size_t wanted = limit - used < SIZE_MAX ? limit - used + 1 : SIZE_MAX;
        if (capacity - used < 2 || (capacity - used - 1 < 16384 && capacity - used - 1 < wanted)) {
            size_t grown_capacity = capacity != 0 ? capacity * 2 : 16384;
            char *grown = realloc(data, grown_capacity);
            if (grown == NULL)
                return keel_error_set(err, ENOMEM, "read response body from the engine");
            data = grown;
            capacity = grown_capacity;
        }
        size_t room = capacity - used - 1;
        ssize_t got =
            http_client_read_body(client, data + used, room < wanted ? room : wanted, err);
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        used += (size_t)got;
        if (used > limit)
            return http_client_fail(
                err, EFBIG, "read response body from the engine: larger than %zu bytes", limit);
    }
    if (data == NULL && (data = malloc(1)) == NULL)
        return keel_error_set(err, ENOMEM, "read response body from the engine");
    data[used] = '\0';
    *body = steal_pointer(&data);
    *length = used;
    return 0;
}

int http_client_request(struct http_client *client, const char *method, const char *target,
                        const char *json_body, int *status, char **body, size_t *length,
                        struct keel_error *err)
{
    struct http_client_response response;
    _cleanup_free_ char *data = NULL;
    size_t data_length = 0;

    if (body != NULL)
        *body = NULL;
    if (length != NULL)
        *length = 0;
    if (http_client_send(client, method, target, json_body != NULL ? "application/json" : NULL,
                         NULL, json_body, json_body != NULL ? strlen(json_body) : 0, false,
                         err) < 0)
        return -1;
    if (http_client_read_head(client, &response, err) < 0)
        return -1;
    *status = response.status;
    http_client_response_free(&response);
    if (http_client_read_body_all(client, HTTP_CLIENT_REQUEST_BODY_LIMIT, &data, &data_length,
                                  err) < 0)
        return keel_error_prefix(err, "%s %s", method, target);
    if (body != NULL)
        *body = steal_pointer(&data);
    if (length != NULL)
        *length = data_length;
    return 0;
}

void http_client_take_buffered(struct http_client *client, char **bytes, size_t *length)
{
    *bytes = NULL;
    *length = client->buffer_length;
    if (client->buffer_length > 0)
        *bytes = steal_pointer(&client->buffer);
    else
        free(steal_pointer(&client->buffer));
    client->buffer_length = 0;
    client->buffer_capacity = 0;
}
