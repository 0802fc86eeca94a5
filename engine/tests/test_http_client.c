/* test_http_client.c — the API client against a canned unix-socket server: bytes, bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_client.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

#define USER_AGENT "User-Agent: keel/" KEEL_VERSION "\r\n"
#define SERVER_TIMEOUT_MS 5000
#define TEST_ALARM_SECONDS 20 /* a hung test dies of SIGALRM instead */

/* A one-connection server on a thread: it reads each request (head and
 * body, de-chunked by hand), answers it with a canned raw response, then
 * shuts down its writing side and records whatever else arrives until the
 * client closes. It never asserts (cmocka cannot fail from a thread): it
 * notes a failure for the test to check after joining it. */
struct canned_server {
    char directory[64];
    char socket_path[128];
    int listen_fd;
    pthread_t thread;
    bool started;
    /* what to do */
    const char *replies[5]; /* one per request, NULL-terminated */
    bool byte_by_byte;      /* write replies one byte at a time */
    const char *later;      /* written 50 ms after the last reply */
    bool close_early;       /* read the first request, then close without a word */
    bool close_at_once;     /* accept and close */
    bool tolerate_eof;      /* the client may stop in the middle of its request */
    /* what happened */
    char *received; /* every byte read */
    size_t received_length;
    size_t consumed; /* bytes of received that were requests */
    char first_head[4096];
    char *body; /* the last request's body, de-chunked */
    size_t body_length;
    char failure[256];
};

static int server_fail(struct canned_server *server, const char *what)
{
    if (server->failure[0] == '\0')
        snprintf(server->failure, sizeof server->failure, "%s (errno %d)", what, errno);
    return -1;
}

/* Read more of the connection into received. 0 at EOF, -1 on error or timeout. */
static ssize_t server_read_more(struct canned_server *server, int fd)
{
    struct pollfd poll_fd = {.fd = fd, .events = POLLIN};
    char buffer[65536];
    ssize_t got;

    if (poll(&poll_fd, 1, SERVER_TIMEOUT_MS) != 1)
        return server_fail(server, "timed out waiting for the client");
    got = read(fd, buffer, sizeof buffer);
    if (got < 0)
        return server_fail(server, "read");
    if (got > 0) {
        char *grown = realloc(server->received, server->received_length + (size_t)got + 1);
        if (grown == NULL)
            return server_fail(server, "realloc");
        memcpy(grown + server->received_length, buffer, (size_t)got);
        server->received = grown;
        server->received_length += (size_t)got;
        server->received[server->received_length] = '\0';
    }
    return got;
}

/* Until received holds at least position + count bytes. */
static int server_need(struct canned_server *server, int fd, size_t position, size_t count)
{
    while (server->received_length < position + count) {
        ssize_t got = server_read_more(server, fd);
        if (got <= 0)
            return got == 0 && server->tolerate_eof ? -1 : server_fail(server, "request cut short");
    }
    return 0;
}

/* The position just past the next "\r\n" at or after position. */
static int server_need_line(struct canned_server *server, int fd, size_t position, size_t *line_end)
{
    for (;;) {
        char *found =
            server->received_length > position
                ? memmem(server->received + position, server->received_length - position, "\r\n", 2)
                : NULL;
        if (found != NULL) {
            *line_end = (size_t)(found - server->received) + 2;
            return 0;
        }
        if (server_need(server, fd, server->received_length, 1) < 0)
            return -1;
    }
}

static int server_append_body(struct canned_server *server, const char *data, size_t length)
{
    char *grown = realloc(server->body, server->body_length + length + 1);
    if (grown == NULL)
        return server_fail(server, "realloc");
    memcpy(grown + server->body_length, data, length);
    server->body = grown;
    server->body_length += length;
    server->body[server->body_length] = '\0';
    return 0;
}

/* One request from consumed on: its head, then a Content-Length or chunked body. */
static int server_read_request(struct canned_server *server, int fd)
{
    size_t position = server->consumed;
    size_t head_end;
    char *head;
    char *found;

    for (;;) {
        found = server->received_length > position
                    ? memmem(server->received + position, server->received_length - position,
                             "\r\n\r\n", 4)
                    : NULL;
        if (found != NULL)
            break;
        if (server_need(server, fd, server->received_length, 1) < 0)
            return -1;
    }
    head_end = (size_t)(found - server->received) + 4;
    head = strndup(server->received + position, head_end - position);
    if (head == NULL)
        return server_fail(server, "strndup");
    if (server->first_head[0] == '\0')
        snprintf(server->first_head, sizeof server->first_head, "%s", head);
    free(server->body);
    server->body = NULL;
    server->body_length = 0;
    position = head_end;

    const char *content_length = strcasestr(head, "\r\nContent-Length: ");
    bool chunked = strcasestr(head, "\r\nTransfer-Encoding: chunked\r\n") != NULL;
    if (content_length != NULL) {
        size_t length = strtoul(content_length + 18, NULL, 10);
        if (server_need(server, fd, position, length) < 0 ||
            server_append_body(server, server->received + position, length) < 0)
            goto fail;
        position += length;
    } else if (chunked) {
        for (;;) {
            size_t line_end;
            if (server_need_line(server, fd, position, &line_end) < 0)
                goto fail;
            size_t size = strtoul(server->received + position, NULL, 16);
            position = line_end;
            if (size == 0)
                break;
            if (server_need(server, fd, position, size + 2) < 0 ||
                server_append_body(server, server->received + position, size) < 0)
                goto fail;
            if (memcmp(server->received + position + size, "\r\n", 2) != 0) {
                server_fail(server, "chunk not followed by CRLF");
                goto fail;
            }
            position += size + 2;
        }
        /* Trailers, up to the empty line. */
        for (;;) {
            size_t line_end;
            if (server_need_line(server, fd, position, &line_end) < 0)
                goto fail;
            bool empty = line_end == position + 2;
            position = line_end;
            if (empty)
                break;
        }
    }
    free(head);
    server->consumed = position;
    return 0;
fail:
    free(head);
    return -1;
}

static int server_write(struct canned_server *server, int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t written = send(fd, data, server->byte_by_byte ? 1 : length, MSG_NOSIGNAL);
        if (written < 0)
            return server_fail(server, "write");
        data += written;
        length -= (size_t)written;
        if (server->byte_by_byte)
            usleep(200);
    }
    return 0;
}

static void *server_run(void *data)
{
    struct canned_server *server = data;
    struct pollfd poll_fd = {.fd = server->listen_fd, .events = POLLIN};
    int fd;

    if (poll(&poll_fd, 1, SERVER_TIMEOUT_MS) != 1) {
        server_fail(server, "no client connected");
        return NULL;
    }
    fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        server_fail(server, "accept");
        return NULL;
    }
    if (server->close_at_once)
        goto out;
    for (size_t i = 0; server->replies[i] != NULL || (i == 0 && server->close_early); i++) {
        if (server_read_request(server, fd) < 0 || server->close_early)
            goto out;
        if (server_write(server, fd, server->replies[i], strlen(server->replies[i])) < 0)
            goto out;
    }
    if (server->later != NULL) {
        usleep(50 * 1000);
        if (server_write(server, fd, server->later, strlen(server->later)) < 0)
            goto out;
    }
    shutdown(fd, SHUT_WR);
    while (server_read_more(server, fd) > 0)
        ;
out:
    close(fd);
    return NULL;
}

static int setup(void **state)
{
    struct canned_server *server = calloc(1, sizeof *server);
    struct sockaddr_un address = {.sun_family = AF_UNIX};

    if (server == NULL)
        return -1;
    strcpy(server->directory, "/tmp/keel-http-client-XXXXXX");
    if (mkdtemp(server->directory) == NULL)
        return -1;
    snprintf(server->socket_path, sizeof server->socket_path, "%s/engine.sock", server->directory);
    strcpy(address.sun_path, server->socket_path);
    server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server->listen_fd < 0 ||
        bind(server->listen_fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(server->listen_fd, 4) < 0)
        return -1;
    alarm(TEST_ALARM_SECONDS);
    *state = server;
    return 0;
}

static void server_join(struct canned_server *server)
{
    if (server->started)
        pthread_join(server->thread, NULL);
    server->started = false;
}

static int teardown(void **state)
{
    struct canned_server *server = *state;

    server_join(server);
    alarm(0);
    close(server->listen_fd);
    unlink(server->socket_path);
    rmdir(server->directory);
    free(server->received);
    free(server->body);
    free(server);
    return 0;
}

/* Start the server thread (with its options set) and connect to it. */
static void start_and_connect(struct canned_server *server, struct http_client *client)
{
    struct keel_error err = {0};

    assert_int_equal(pthread_create(&server->thread, NULL, server_run, server), 0);
    server->started = true;
    if (http_client_connect(client, server->socket_path, &err) < 0)
        fail_msg("connect: %s", err.message);
}

/* Close the client, wait for the server and check it saw no trouble. */
static void finish(struct canned_server *server, struct http_client *client)
{
    http_client_close(client);
    server_join(server);
    if (server->failure[0] != '\0')
        fail_msg("server: %s", server->failure);
}

static void assert_message_contains(const struct keel_error *err, const char *part)
{
    if (strstr(err->message, part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->message, part);
}

/* ---- engine addresses ---- */

static void test_parse_host(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        const char *path;         /* NULL: refused */
        const char *message_part; /* when refused */
    } cases[] = {
        {"unix:///run/keel.sock", "/run/keel.sock", NULL},
        {"/run/system-keel.sock", "/run/system-keel.sock", NULL},
        {"unix:///tmp/a b/engine.sock", "/tmp/a b/engine.sock", NULL},
        {"tcp://127.0.0.1:2375", NULL, "only unix:// sockets are supported"},
        {"ssh://user@host", NULL, "only unix:// sockets are supported"},
        {"fd://", NULL, "only unix:// sockets are supported"},
        {"unix://", NULL, "empty socket path"},
        {"", NULL, "empty"},
        {"unix://run/keel.sock", NULL, "must be absolute"},
        {"keel.sock", NULL, "expected unix:///PATH"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct keel_error err = {0};
        char *path = NULL;
        int result = http_client_parse_host(cases[i].host, &path, &err);
        if (cases[i].path != NULL) {
            if (result != 0)
                fail_msg("\"%s\": refused: %s", cases[i].host, err.message);
            assert_string_equal(path, cases[i].path);
            free(path);
            continue;
        }
        if (result != -1)
            fail_msg("\"%s\": accepted as \"%s\"", cases[i].host, path);
        assert_null(path);
        assert_int_equal(err.errno_value, EINVAL);
        if (strstr(err.message, cases[i].message_part) == NULL)
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].host, err.message,
                     cases[i].message_part);
    }
}

static void test_connect_missing_socket(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    char path[256];
    char expected[512];

    snprintf(path, sizeof path, "%s/missing.sock", server->directory);
    assert_int_equal(http_client_connect(&client, path, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    snprintf(expected, sizeof expected,
             "cannot reach the engine at %s: No such file or directory (is the daemon running?)",
             path);
    assert_string_equal(err.message, expected);
    http_client_close(&client); /* safe after a failed connect */
}

/* ---- request formatting ---- */

static void test_get_request_and_content_length_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char *body = NULL;
    size_t length = 0;

    server->replies[0] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty:\r\nApi-Version: 1.41\r\n"
        "Content-Length: 2\r\n\r\nOK";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_send(&client, "GET", "/v1.41/_ping", NULL, NULL, NULL, 0, false, &err), 0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(response.status, 200);
    assert_false(response.upgraded);
    assert_string_equal(http_client_response_header(&response, "API-VERSION"), "1.41");
    assert_string_equal(response.headers[0].name, "content-type"); /* lower-cased */
    assert_null(http_client_response_header(&response, "Server"));
    assert_string_equal(http_client_response_header(&response, "x-empty"), "");
    assert_int_equal(response.header_count, 4);
    assert_false(client.chunked);
    assert_int_equal(client.content_remaining, 2);
    /* A body exactly at the limit is fine. */
    assert_int_equal(http_client_read_body_all(&client, 2, &body, &length, &err), 0);
    assert_int_equal(length, 2);
    assert_string_equal(body, "OK");
    assert_true(client.body_done);
    free(body);
    http_client_response_free(&response);
    finish(server, &client);
    assert_string_equal(server->first_head,
                        "GET /v1.41/_ping HTTP/1.1\r\nHost: keel\r\n" USER_AGENT "\r\n");
}

static void test_post_request_with_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int status = 0;
    char *body = NULL;
    size_t length = 0;

    server->replies[0] =
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
        "{\"Id\":\"abc\"}";
    start_and_connect(server, &client);
    assert_int_equal(http_client_request(&client, "POST", "/v1.41/containers/create?name=web",
                                         "{\"Image\":\"x\"}", &status, &body, &length, &err),
                     0);
    assert_int_equal(status, 201);
    assert_string_equal(body, "{\"Id\":\"abc\"}");
    assert_int_equal(length, 12);
    free(body);
    finish(server, &client);
    assert_string_equal(server->first_head,
                        "POST /v1.41/containers/create?name=web HTTP/1.1\r\n"
                        "Host: keel\r\n" USER_AGENT "Content-Type: application/json\r\n"
                        "Content-Length: 13\r\n\r\n");
    assert_string_equal(server->body, "{\"Image\":\"x\"}");
}

static void test_send_with_extra_headers(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char *body = NULL;
    size_t length = 0;

    server->replies[0] = "HTTP/1.1 204 No Content\r\n\r\n";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_send(&client, "POST", "/v1.41/images/load?quiet=1", "application/x-tar",
                         "X-Registry-Auth: e30=\r\nX-Other: 1\r\n", "tar", 3, false, &err),
        0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(response.status, 204);
    assert_true(client.body_done);
    assert_int_equal(http_client_read_body_all(&client, 100, &body, &length, &err), 0);
    assert_int_equal(length, 0);
    assert_string_equal(body, "");
    free(body);
    http_client_response_free(&response);
    finish(server, &client);
    assert_string_equal(server->first_head,
                        "POST /v1.41/images/load?quiet=1 HTTP/1.1\r\nHost: keel\r\n" USER_AGENT
                        "Content-Type: application/x-tar\r\nContent-Length: 3\r\n"
                        "X-Registry-Auth: e30=\r\nX-Other: 1\r\n\r\n");
    assert_string_equal(server->body, "tar");
}

static void test_refuses_unsafe_request_text(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};

    server->close_at_once = true;
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "GET", "/x HTTP/1.1\r\nEvil: 1", NULL, NULL, NULL, 0,
                                      false, &err),
                     -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_int_equal(http_client_send(&client, "GET", "relative", NULL, NULL, NULL, 0, false, &err),
                     -1);
    assert_int_equal(http_client_send(&client, "get", "/x", NULL, NULL, NULL, 0, false, &err), -1);
    assert_int_equal(http_client_send(&client, "GET", "/x", NULL, "X-A: 1", NULL, 0, false, &err),
                     -1);
    assert_int_equal(
        http_client_send(&client, "GET", "/x", NULL, "X-A: 1\r\n\r\nGET /y", NULL, 0, false, &err),
        -1);
    assert_int_equal(
        http_client_send(&client, "POST", "/x", "text/plain\r\nX: y", NULL, "", 0, false, &err),
        -1);
    finish(server, &client);
}

/* ---- response bodies ---- */

static void test_chunked_body_with_extensions_and_trailers(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char *body = NULL;
    size_t length = 0;

    server->replies[0] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        "5;name=value\r\nhello\r\n"
        "7;quoted=\"a b\"\r\n, world\r\n"
        "A\r\n0123456789\r\n"
        "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_send(&client, "GET", "/v1.41/events", NULL, NULL, NULL, 0, false, &err), 0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_true(client.chunked);
    assert_int_equal(http_client_read_body_all(&client, 1024, &body, &length, &err), 0);
    assert_string_equal(body, "hello, world0123456789");
    assert_int_equal(length, 22);
    /* Trailers are not headers. */
    assert_int_equal(response.header_count, 2);
    assert_null(http_client_response_header(&response, "X-Trailer"));
    free(body);
    http_client_response_free(&response);
    finish(server, &client);
}

static void test_body_split_across_small_writes(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char body[64] = {0};
    size_t length = 0;

    server->replies[0] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n4;x=y\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n";
    server->byte_by_byte = true;
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_send(&client, "GET", "/logs?follow=1", NULL, NULL, NULL, 0, false, &err), 0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(response.status, 200);
    /* Reads of 2 bytes at most, the bytes trickling in one by one. */
    for (;;) {
        ssize_t got = http_client_read_body(&client, body + length, 2, &err);
        if (got < 0)
            fail_msg("read_body: %s", err.message);
        if (got == 0)
            break;
        assert_true(got <= 2);
        length += (size_t)got;
        assert_true(length < sizeof body);
    }
    assert_string_equal(body, "abcdefgh");
    assert_int_equal(http_client_read_body(&client, body, sizeof body, &err),
                     0); /* stays at its end */
    http_client_response_free(&response);
    finish(server, &client);
}

static void test_small_reads_of_a_buffered_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char piece[3];
    ssize_t sizes[5];

    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "GET", "/logs", NULL, NULL, NULL, 0, false, &err),
                     0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    /* The whole body came with the head: each read takes no more than asked. */
    for (size_t i = 0; i < 5; i++) {
        sizes[i] = http_client_read_body(&client, piece, sizeof piece, &err);
        if (sizes[i] > 0)
            assert_memory_equal(piece, "0123456789" + 3 * i, (size_t)sizes[i]);
    }
    assert_int_equal(sizes[0], 3);
    assert_int_equal(sizes[1], 3);
    assert_int_equal(sizes[2], 3);
    assert_int_equal(sizes[3], 1);
    assert_int_equal(sizes[4], 0);
    assert_int_equal(client.content_remaining, 0);
    http_client_response_free(&response);
    finish(server, &client);
}

static void test_close_delimited_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char *body = NULL;
    size_t length = 0;

    server->replies[0] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nuntil ";
    server->later = "the end";
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "POST", "/containers/x/attach?stream=1", NULL, NULL,
                                      NULL, 0, false, &err),
                     0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_false(client.chunked);
    assert_false(client.body_done);
    assert_int_equal(http_client_read_body_all(&client, 1024, &body, &length, &err), 0);
    assert_string_equal(body, "until the end");
    free(body);
    http_client_response_free(&response);
    finish(server, &client);
}

static void test_keep_alive_responses_in_one_read(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int status = 0;
    char *body = NULL;
    size_t length = 0;

    /* Both answers (the first after a 100 Continue) arrive before the
     * second request is even sent: the leftovers must wait in the buffer. */
    server->replies[0] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_request(&client, "GET", "/one", NULL, &status, &body, &length, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "one");
    free(body);
    assert_int_equal(
        http_client_request(&client, "GET", "/two", NULL, &status, &body, &length, &err), 0);
    assert_int_equal(status, 404);
    assert_string_equal(body, "two");
    free(body);
    finish(server, &client);
}

static void test_head_204_304_have_no_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int status = 0;
    char *body = NULL;
    size_t length = 1;

    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    server->replies[1] = "HTTP/1.1 204 No Content\r\n\r\n";
    server->replies[2] = "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n";
    server->replies[3] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_request(&client, "HEAD", "/images/x/json", NULL, &status, &body, &length, &err),
        0);
    assert_int_equal(status, 200);
    assert_int_equal(length, 0);
    free(body);
    assert_int_equal(http_client_request(&client, "DELETE", "/containers/x", NULL, &status, &body,
                                         &length, &err),
                     0);
    assert_int_equal(status, 204);
    assert_int_equal(length, 0);
    free(body);
    assert_int_equal(
        http_client_request(&client, "GET", "/cached", NULL, &status, NULL, &length, &err), 0);
    assert_int_equal(status, 304);
    assert_int_equal(length, 0);
    assert_int_equal(
        http_client_request(&client, "GET", "/last", NULL, &status, &body, &length, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "last");
    free(body);
    finish(server, &client);
}

static void test_read_body_all_past_limit(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char *body = (char *)"unchanged";
    size_t length = 1;

    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                         "0123456789012345678901234567890123456789012345678901234567890123456789"
                         "012345678901234567890123456789";
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "GET", "/big", NULL, NULL, NULL, 0, false, &err), 0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(http_client_read_body_all(&client, 99, &body, &length, &err), -1);
    assert_int_equal(err.errno_value, EFBIG);
    assert_message_contains(&err, "larger than 99 bytes");
    assert_null(body);
    assert_int_equal(length, 0);
    http_client_response_free(&response);
    finish(server, &client);
}

/* ---- hijacked connections ---- */

static void test_upgrade_then_raw_stream(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    char raw[64] = {0};
    char *buffered = NULL;
    size_t length = 0;

    server->replies[0] =
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ";
    server->later = "raw";
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "POST",
                                      "/v1.41/containers/x/attach?stream=1&stdin=1", NULL, NULL,
                                      NULL, 0, true, &err),
                     0);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(response.status, 101);
    assert_true(response.upgraded);
    assert_true(client.body_done);
    assert_string_equal(http_client_response_header(&response, "upgrade"), "tcp");

    /* What came with the head ("hello ", or all of it on a slow machine),
     * then the rest from the socket. */
    http_client_take_buffered(&client, &buffered, &length);
    assert_true(length <= 9);
    if (length > 0) {
        memcpy(raw, buffered, length);
        assert_memory_equal(raw, "hello raw", length);
    }
    free(buffered);
    assert_null(client.buffer);
    assert_int_equal(client.buffer_length, 0);
    while (length < 9) {
        ssize_t got = read(client.fd, raw + length, sizeof raw - 1 - length);
        assert_true(got > 0);
        length += (size_t)got;
    }
    assert_string_equal(raw, "hello raw");

    assert_int_equal(write(client.fd, "stdin!", 6), 6);
    http_client_response_free(&response);
    finish(server, &client);
    assert_string_equal(server->first_head,
                        "POST /v1.41/containers/x/attach?stream=1&stdin=1 HTTP/1.1\r\n"
                        "Host: keel\r\n" USER_AGENT "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    assert_int_equal(server->received_length - server->consumed, 6);
    assert_memory_equal(server->received + server->consumed, "stdin!", 6);
}

/* ---- streamed request bodies ---- */

static void record_progress(uint64_t sent, void *data)
{
    uint64_t *last = data;
    assert_true(sent > *last);
    *last = sent;
}

static void test_send_fd_streams_a_file_chunked(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};
    const size_t size = 5 * 1024 * 1024 + 123;
    char path[256];
    char *content = malloc(size);
    char *body = NULL;
    size_t length = 0;
    uint64_t progress = 0;
    uint32_t seed = 12345;
    int fd;

    assert_non_null(content);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245 + 12345;
        content[i] = (char)(seed >> 16);
    }
    snprintf(path, sizeof path, "%s/image.tar", server->directory);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, size), (ssize_t)size);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    start_and_connect(server, &client);
    if (http_client_send_fd(&client, "POST", "/v1.41/images/load", "application/x-tar", fd,
                            record_progress, &progress, &err) < 0)
        fail_msg("send_fd: %s", err.message);
    assert_int_equal(progress, size);
    assert_int_equal(http_client_read_head(&client, &response, &err), 0);
    assert_int_equal(response.status, 200);
    assert_int_equal(http_client_read_body_all(&client, 16, &body, &length, &err), 0);
    assert_string_equal(body, "ok");
    free(body);
    http_client_response_free(&response);
    close(fd);
    unlink(path);
    finish(server, &client);

    assert_string_equal(server->first_head,
                        "POST /v1.41/images/load HTTP/1.1\r\nHost: keel\r\n" USER_AGENT
                        "Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(server->body_length, size);
    assert_memory_equal(server->body, content, size);
    free(content);
}

static void test_send_fd_read_error_names_the_source(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int directory_fd = open(server->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_true(directory_fd >= 0);
    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    server->tolerate_eof = true;
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_send_fd(&client, "POST", "/images/load", NULL, directory_fd, NULL, NULL, &err),
        -1);
    assert_int_equal(err.errno_value, EISDIR);
    assert_message_contains(&err, server->directory);
    assert_message_contains(&err, "read the request body from");
    close(directory_fd);
    http_client_close(&client);
    server_join(server);
}

/* ---- failures ---- */

static void test_server_closes_before_answering(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};

    server->close_early = true;
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "GET", "/version", NULL, NULL, NULL, 0, false, &err),
                     0);
    assert_int_equal(http_client_read_head(&client, &response, &err), -1);
    assert_string_equal(err.message,
                        "read response from the engine: connection closed before the response");
    assert_int_equal(err.errno_value, ECONNRESET);
    assert_null(response.headers);
    finish(server, &client);
}

static void test_server_closes_in_the_middle_of_the_body(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int status = 0;
    char *body = NULL;
    size_t length = 0;

    server->replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_request(&client, "GET", "/info", NULL, &status, &body, &length, &err), -1);
    assert_message_contains(&err, "connection closed before its end");
    assert_null(body);
    finish(server, &client);
}

static void test_malformed_status_line(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    int status = 0;
    char *body = NULL;
    size_t length = 0;

    server->replies[0] = "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n";
    start_and_connect(server, &client);
    assert_int_equal(
        http_client_request(&client, "GET", "/_ping", NULL, &status, &body, &length, &err), -1);
    assert_int_equal(strncmp(err.message, "bad response from the engine: ", 30), 0);
    assert_true(strlen(err.message) > 30); /* http-parser's reason follows */
    assert_int_equal(err.errno_value, EPROTO);
    finish(server, &client);
}

static void test_not_http_at_all(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct http_client_response response;
    struct keel_error err = {0};

    server->replies[0] = "SSH-2.0-OpenSSH_9.2\r\n";
    start_and_connect(server, &client);
    assert_int_equal(http_client_send(&client, "GET", "/_ping", NULL, NULL, NULL, 0, false, &err),
                     0);
    assert_int_equal(http_client_read_head(&client, &response, &err), -1);
    assert_message_contains(&err, "bad response from the engine: ");
    finish(server, &client);
}

static void test_engine_gone_is_an_error_not_sigpipe(void **state)
{
    struct canned_server *server = *state;
    struct http_client client;
    struct keel_error err = {0};
    const size_t size = 4 * 1024 * 1024;
    char *payload = calloc(1, size);
    int result = 0;

    assert_non_null(payload);
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill this test */
    server->close_at_once = true;
    start_and_connect(server, &client);
    server_join(server); /* the engine is gone */
    for (int i = 0; i < 4 && result == 0; i++)
        result = http_client_send(&client, "POST", "/load", "application/x-tar", NULL, payload,
                                  size, false, &err);
    assert_int_equal(result, -1);
    assert_true(err.errno_value == EPIPE || err.errno_value == ECONNRESET);
    assert_message_contains(&err, "send POST /load to the engine");
    free(payload);
    finish(server, &client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_host),
        cmocka_unit_test_setup_teardown(test_connect_missing_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_request_and_content_length_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_request_with_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_with_extra_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_unsafe_request_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body_with_extensions_and_trailers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_split_across_small_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_reads_of_a_buffered_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_delimited_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_responses_in_one_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_204_304_have_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_body_all_past_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_then_raw_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_fd_streams_a_file_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_fd_read_error_names_the_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_before_answering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_in_the_middle_of_the_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_status_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_http_at_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_gone_is_an_error_not_sigpipe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
