/* test_http_server.c — the HTTP server against real clients on a unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"
#include "loop.h"

#define FLOOD_TOTAL (4 * 1024 * 1024)
#define LOAD_TOTAL (10 * 1024 * 1024)
#define MAX_RESPONSES 8

static uint64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static unsigned char flood_byte(size_t offset)
{
    return (unsigned char)(offset * 31 + offset / 4096);
}

static unsigned char load_byte(size_t offset)
{
    return (unsigned char)(offset * 7 + (offset >> 16));
}

/* ---- the client side: a thread doing blocking I/O, no cmocka in it ---- */

struct response {
    int status;
    char headers[4096]; /* "\nname: value" lines, names lower-cased */
    size_t headers_length;
    char *body;
    size_t body_length;
    bool complete;
};

struct client {
    pthread_t thread;
    const char *socket_path;
    void (*script)(struct client *client);
    atomic_int done;
    atomic_int *release; /* scripts that wait for the test to say go */
    const char *request;
    size_t request_length;
    int expected; /* responses to read; 0: until EOF */
    int fd;
    /* what came back */
    char *raw;
    size_t raw_length;
    bool eof;
    int read_error;
    uint64_t elapsed_ms;
    int cycles_ok;
    int refused_read; /* the connection over the limit: recv's result */
    http_parser parser;
    int header_state; /* 0 none, 1 field, 2 value */
    struct response responses[MAX_RESPONSES];
    int response_count; /* complete ones */
};

static struct response *client_current(http_parser *parser)
{
    struct client *client = parser->data;
    return &client->responses[client->response_count < MAX_RESPONSES ? client->response_count
                                                                     : MAX_RESPONSES - 1];
}

static void response_add_header_text(struct response *response, const char *text, size_t length,
                                     bool lower)
{
    for (size_t i = 0; i < length && response->headers_length + 1 < sizeof response->headers; i++) {
        char c = text[i];
        if (lower && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        response->headers[response->headers_length++] = c;
    }
    response->headers[response->headers_length] = '\0';
}

static int client_on_begin(http_parser *parser)
{
    struct client *client = parser->data;
    struct response *response = client_current(parser);
    free(response->body);
    memset(response, 0, sizeof *response);
    client->header_state = 0;
    return 0;
}

static int client_on_field(http_parser *parser, const char *at, size_t length)
{
    struct client *client = parser->data;
    struct response *response = client_current(parser);
    if (client->header_state != 1)
        response_add_header_text(response, "\n", 1, false);
    response_add_header_text(response, at, length, true);
    client->header_state = 1;
    return 0;
}

static int client_on_value(http_parser *parser, const char *at, size_t length)
{
    struct client *client = parser->data;
    struct response *response = client_current(parser);
    if (client->header_state != 2)
        response_add_header_text(response, ": ", 2, false);
    response_add_header_text(response, at, length, false);
    client->header_state = 2;
    return 0;
}

static int client_on_headers_complete(http_parser *parser)
{
    client_current(parser)->status = (int)parser->status_code;
    return 0;
}

static int client_on_body(http_parser *parser, const char *at, size_t length)
{
    struct response *response = client_current(parser);
    char *body = realloc(response->body, response->body_length + length + 1);
    if (body == NULL)
        return -1;
    memcpy(body + response->body_length, at, length);
    response->body = body;
    response->body_length += length;
    body[response->body_length] = '\0';
    return 0;
}

static int client_on_complete(http_parser *parser)
{
    struct client *client = parser->data;
    client_current(parser)->complete = true;
    if (client->response_count < MAX_RESPONSES)
        client->response_count++;
    return 0;
}

static const http_parser_settings client_settings = {
    .on_message_begin = client_on_begin,
    .on_header_field = client_on_field,
    .on_header_value = client_on_value,
    .on_headers_complete = client_on_headers_complete,
    .on_body = client_on_body,
    .on_message_complete = client_on_complete,
};

static int client_connect(const char *path)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool client_write(int fd, const void *data, size_t length)
{
    const char *p = data;
    while (length > 0) {
        ssize_t written = send(fd, p, length, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += written;
        length -= (size_t)written;
    }
    return true;
}

/* Read until `responses` complete responses (0: until EOF). */
static void client_read(struct client *client, int responses)
{
    char buffer[65536];
    for (;;) {
        if (responses > 0 && client->response_count >= responses)
            return;
        ssize_t received = recv(client->fd, buffer, sizeof buffer, 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received <= 0) {
            if (received < 0)
                client->read_error = errno;
            client->eof = received == 0;
            /* A body delimited by the close ends here. */
            http_parser_execute(&client->parser, &client_settings, NULL, 0);
            return;
        }
        char *raw = realloc(client->raw, client->raw_length + (size_t)received + 1);
        if (raw == NULL)
            return;
        memcpy(raw + client->raw_length, buffer, (size_t)received);
        client->raw = raw;
        client->raw_length += (size_t)received;
        raw[client->raw_length] = '\0';
        http_parser_execute(&client->parser, &client_settings, buffer, (size_t)received);
    }
}

static void script_exchange(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    /* Read even if the server stopped taking the request: its answer came. */
    client_write(client->fd, client->request, client->request_length);
    client_read(client, client->expected);
    close(client->fd);
}

static void *client_main(void *data)
{
    struct client *client = data;
    http_parser_init(&client->parser, HTTP_RESPONSE);
    client->parser.data = client;
    uint64_t start = now_ms();
    client->script(client);
    client->elapsed_ms = now_ms() - start;
    atomic_store(&client->done, 1);
    return NULL;
}

static void client_free(struct client *client)
{
    free(client->raw);
    for (int i = 0; i < MAX_RESPONSES; i++)
        free(client->responses[i].body);
}

/* ---- the server side: the test's thread pumps the loop ---- */

struct fixture {
    char directory[64];
    char socket_path[128];
    struct loop *loop;
    struct http_server *server;
    struct http_server_options options;
    struct loop_timer *timer;
    /* what handlers saw */
    int requests;
    char method[16];
    char path[256];
    char query[256];
    char headers[1024];
    char custom_header[64];
    bool body_null;
    char *body;
    size_t body_length;
    bool keep_alive;
    unsigned most_connections;
    /* held connections and their callbacks */
    struct http_connection *held;
    int close_calls;
    int writable_calls;
    size_t flood_sent;
    int pipe_fds[2];
    int body_done_calls;
    bool body_ok;
    int hijack_fd;
    int hijack_result;
    char *leftover;
    size_t leftover_length;
    atomic_int release;
};

#define PUMP_UNTIL(f, condition)                                                                   \
    do {                                                                                           \
        uint64_t until_ = now_ms() + 15000;                                                        \
        while (!(condition)) {                                                                     \
            struct keel_error pump_err_;                                                           \
            assert_true(now_ms() < until_);                                                        \
            assert_int_equal(loop_run_once((f)->loop, 10, &pump_err_), 0);                         \
        }                                                                                          \
    } while (0)

static void client_start(struct fixture *fixture, struct client *client,
                         void (*script)(struct client *client))
{
    client->socket_path = fixture->socket_path;
    client->script = script;
    client->fd = -1;
    if (client->request != NULL && client->request_length == 0)
        client->request_length = strlen(client->request);
    assert_int_equal(pthread_create(&client->thread, NULL, client_main, client), 0);
}

static void client_finish(struct fixture *fixture, struct client *client)
{
    PUMP_UNTIL(fixture, atomic_load(&client->done));
    pthread_join(client->thread, NULL);
}

static void client_run(struct fixture *fixture, struct client *client,
                       void (*script)(struct client *client))
{
    client_start(fixture, client, script);
    client_finish(fixture, client);
}

static const char *response_header(const struct response *response, const char *name, char *value,
                                   size_t size)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s: ", name);
    const char *found = strstr(response->headers, needle);
    if (found == NULL)
        return NULL;
    found += strlen(needle);
    size_t length = strcspn(found, "\n");
    snprintf(value, size, "%.*s", (int)length, found);
    return value;
}

static void on_close(struct http_connection *connection, void *data)
{
    struct fixture *fixture = data;
    assert_ptr_equal(connection, fixture->held);
    fixture->close_calls++;
    fixture->held = NULL;
}

static void flood_fill(struct fixture *fixture)
{
    char chunk[16384];
    while (fixture->flood_sent < FLOOD_TOTAL &&
           http_connection_pending(fixture->held) <= 64 * 1024) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)flood_byte(fixture->flood_sent + i);
        assert_int_equal(http_stream_write(fixture->held, chunk, sizeof chunk), 0);
        fixture->flood_sent += sizeof chunk;
    }
    if (fixture->flood_sent == FLOOD_TOTAL) {
        assert_int_equal(http_stream_end(fixture->held), 0);
        fixture->held = NULL;
    }
}

static void on_writable(struct http_connection *connection, void *data)
{
    struct fixture *fixture = data;
    assert_ptr_equal(connection, fixture->held);
    fixture->writable_calls++;
    flood_fill(fixture);
}

static void on_body_done(struct http_connection *connection, bool ok, void *data)
{
    struct fixture *fixture = data;
    fixture->body_done_calls++;
    fixture->body_ok = ok;
    close(fixture->pipe_fds[1]);
    fixture->pipe_fds[1] = -1;
    if (ok)
        http_respond(connection, 200, "text/plain", NULL, "loaded", 6);
    else
        http_respond_error(connection, 500, "load failed");
    fixture->held = NULL;
}

static int on_timer(struct loop *loop, struct loop_timer *timer, void *user, struct keel_error *err)
{
    struct fixture *fixture = user;
    (void)loop;
    (void)timer;
    (void)err;
    if (fixture->held != NULL) {
        struct http_connection *connection = fixture->held;
        fixture->held = NULL;
        assert_int_equal(http_respond(connection, 200, "text/plain", NULL, "late", 4), 0);
    }
    return 0;
}

static void record_request(struct fixture *fixture, const struct http_request *request)
{
    fixture->requests++;
    snprintf(fixture->method, sizeof fixture->method, "%s", request->method);
    snprintf(fixture->path, sizeof fixture->path, "%s", request->path);
    snprintf(fixture->query, sizeof fixture->query, "%s", request->query);
    fixture->headers[0] = '\0';
    for (size_t i = 0; i < request->header_count; i++) {
        size_t used = strlen(fixture->headers);
        snprintf(fixture->headers + used, sizeof fixture->headers - used, "%s: %s\n",
                 request->headers[i].name, request->headers[i].value);
    }
    const char *custom = http_request_header(request, "X-CUSTOM-HEADER");
    snprintf(fixture->custom_header, sizeof fixture->custom_header, "%s",
             custom ? custom : "(none)");
    free(fixture->body);
    fixture->body = NULL;
    fixture->body_null = request->body == NULL;
    fixture->body_length = request->body_length;
    if (request->body != NULL) {
        assert_int_equal(strlen(request->body), request->body_length); /* NUL-terminated */
        fixture->body = strdup(request->body);
    }
    fixture->keep_alive = request->keep_alive;
    unsigned count = http_server_connection_count(fixture->server);
    if (count > fixture->most_connections)
        fixture->most_connections = count;
}

static void handler(struct http_connection *connection, const struct http_request *request,
                    void *data)
{
    struct fixture *fixture = data;
    struct keel_error err;
    const char *path = request->path;
    record_request(fixture, request);

    if (strcmp(path, "/async") == 0 || strcmp(path, "/hold") == 0) {
        fixture->held = connection;
        http_connection_set_close_callback(connection, on_close, fixture);
        if (strcmp(path, "/async") == 0)
            assert_int_equal(loop_timer_arm(fixture->timer, 50, 0, &err), 0);
    } else if (strcmp(path, "/stream") == 0) {
        assert_int_equal(http_stream_begin(connection, 200, "text/plain", "Api-Version: 1.41\r\n"),
                         0);
        assert_int_equal(http_stream_write(connection, "one", 3), 0);
        assert_int_equal(http_stream_write(connection, "", 0), 0);
        assert_int_equal(http_stream_write(connection, "two", 3), 0);
        assert_int_equal(http_stream_write(connection, "three", 5), 0);
        assert_int_equal(http_stream_end(connection), 0);
    } else if (strcmp(path, "/follow") == 0) {
        assert_int_equal(http_stream_begin(connection, 200, "application/json", NULL), 0);
        assert_int_equal(http_stream_write(connection, "first\n", 6), 0);
        fixture->held = connection;
        http_connection_set_close_callback(connection, on_close, fixture);
    } else if (strcmp(path, "/flood") == 0) {
        assert_int_equal(http_stream_begin(connection, 200, "application/octet-stream", NULL), 0);
        fixture->held = connection;
        http_connection_set_writable_callback(connection, on_writable, fixture);
        http_connection_set_close_callback(connection, on_close, fixture);
        flood_fill(fixture);
    } else if (strcmp(path, "/error") == 0) {
        assert_int_equal(http_respond_error(connection, 409,
                                            "conflict: \"%s\"\n\ttab\x01 caf\xc3\xa9 bad\xff end",
                                            "name"),
                         0);
    } else if (strcmp(path, "/load") == 0) {
        fixture->held = connection;
        assert_int_equal(http_connection_body_to_fd(connection, fixture->pipe_fds[1], on_body_done,
                                                    fixture, &err),
                         0);
    } else if (strcmp(path, "/load-refused") == 0) {
        assert_int_equal(http_respond_error(connection, 400, "bad parameters"), 0);
    } else if (strcmp(path, "/attach") == 0) {
        fixture->held = connection;
        http_connection_set_close_callback(connection, on_close, fixture);
        fixture->hijack_result =
            http_hijack(connection, "application/vnd.docker.raw-stream", &fixture->hijack_fd,
                        &fixture->leftover, &fixture->leftover_length, &err);
        fixture->held = NULL;
        if (fixture->hijack_result == 0)
            assert_int_equal(write(fixture->hijack_fd, "hello", 5), 5);
    } else {
        assert_int_equal(http_respond(connection, 200, "text/plain", "Api-Version: 1.41\r\n", path,
                                      strlen(path)),
                         0);
    }
}

static bool stream_body(const struct http_request *request, void *data)
{
    (void)data;
    return strcmp(request->path, "/load") == 0 || strcmp(request->path, "/load-refused") == 0;
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    struct keel_error err;
    if (fixture == NULL)
        return -1;
    strcpy(fixture->directory, "/tmp/test_http_server.XXXXXX");
    if (mkdtemp(fixture->directory) == NULL)
        return -1;
    snprintf(fixture->socket_path, sizeof fixture->socket_path, "%s/api.sock", fixture->directory);
    if (loop_new(&fixture->loop, &err) < 0 ||
        loop_timer_new(fixture->loop, on_timer, fixture, &fixture->timer, &err) < 0)
        return -1;
    fixture->options = (struct http_server_options){
        .socket_path = fixture->socket_path,
        .socket_mode = 0660,
        .socket_group = (gid_t)-1,
        .handler = handler,
        .stream_body = stream_body,
        .data = fixture,
    };
    fixture->pipe_fds[0] = fixture->pipe_fds[1] = -1;
    fixture->hijack_fd = -1;
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    http_server_free(fixture->server);
    loop_timer_free(fixture->timer);
    loop_free(fixture->loop);
    for (int i = 0; i < 2; i++)
        if (fixture->pipe_fds[i] >= 0)
            close(fixture->pipe_fds[i]);
    if (fixture->hijack_fd >= 0)
        close(fixture->hijack_fd);
    free(fixture->leftover);
    free(fixture->body);
    unlink(fixture->socket_path);
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

static void server_start(struct fixture *fixture)
{
    struct keel_error err;
    if (http_server_new(fixture->loop, &fixture->options, &fixture->server, &err) < 0)
        fail_msg("http_server_new: %s", err.message);
}

/* ---- requests ---- */

static void test_get_path_query_and_headers(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {
        .request = "GET /v1.41/containers%2Fx/json?all=1&name=a+b%20c HTTP/1.1\r\n"
                   "Host: docker\r\nX-Custom-Header:  Value \t\r\nEmpty:\r\nUser-Agent: t\r\n\r\n",
        .expected = 1,
    };
    client_run(fixture, &client, script_exchange);

    assert_int_equal(fixture->requests, 1);
    assert_string_equal(fixture->method, "GET");
    assert_string_equal(fixture->path, "/v1.41/containers/x/json");
    assert_string_equal(fixture->query, "all=1&name=a+b%20c");
    assert_string_equal(fixture->headers,
                        "host: docker\nx-custom-header: Value\nempty: \nuser-agent: t\n");
    assert_string_equal(fixture->custom_header, "Value");
    assert_true(fixture->body_null);
    assert_int_equal(fixture->body_length, 0);
    assert_true(fixture->keep_alive);

    assert_int_equal(client.response_count, 1);
    struct response *response = &client.responses[0];
    char value[128];
    assert_int_equal(response->status, 200);
    assert_string_equal(response->body, "/v1.41/containers/x/json");
    assert_non_null(response_header(response, "content-length", value, sizeof value));
    assert_string_equal(value, "24");
    assert_string_equal(response_header(response, "content-type", value, sizeof value),
                        "text/plain");
    assert_string_equal(response_header(response, "api-version", value, sizeof value), "1.41");
    assert_null(response_header(response, "connection", value, sizeof value));
    assert_true(strncmp(client.raw, "HTTP/1.1 200 OK\r\n", 17) == 0);
    client_free(&client);
}

static void test_query_parameters(void **state)
{
    struct keel_error err;
    char *value;
    (void)state;
    struct http_request request = {
        .query = "all=1&filters=%7B%22a%22%3A1%7D&name=a+b%20c&empty=&flag&&k%20ey=v&x=%zz&y=%4",
    };
    assert_int_equal(http_request_query(&request, "all", &value, &err), 1);
    assert_string_equal(value, "1");
    free(value);
    assert_int_equal(http_request_query(&request, "filters", &value, &err), 1);
    assert_string_equal(value, "{\"a\":1}");
    free(value);
    assert_int_equal(http_request_query(&request, "name", &value, &err), 1);
    assert_string_equal(value, "a b c");
    free(value);
    assert_int_equal(http_request_query(&request, "empty", &value, &err), 1);
    assert_string_equal(value, "");
    free(value);
    assert_int_equal(http_request_query(&request, "flag", &value, &err), 1);
    assert_string_equal(value, "");
    free(value);
    assert_int_equal(http_request_query(&request, "k ey", &value, &err), 1);
    assert_string_equal(value, "v");
    free(value);
    assert_int_equal(http_request_query(&request, "x", &value, &err), -1);
    assert_int_equal(err.errno_value, EINVAL);
    assert_null(value);
    assert_int_equal(http_request_query(&request, "y", &value, &err), -1);

    struct http_request no_query = {.query = ""};
    assert_int_equal(http_request_query(&no_query, "all", &value, &err), 0);
    assert_null(value);
    struct http_request nul = {.query = "a=%00"};
    assert_int_equal(http_request_query(&nul, "a", &value, &err), -1);

    struct http_header headers[] = {{"content-type", "application/json"}, {"x-a", "1"}};
    struct http_request with_headers = {.query = "", .headers = headers, .header_count = 2};
    assert_string_equal(http_request_header(&with_headers, "Content-Type"), "application/json");
    assert_string_equal(http_request_header(&with_headers, "X-A"), "1");
    assert_null(http_request_header(&with_headers, "missing"));

    assert_string_equal(http_status_reason(404), "Not Found");
    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(999), "Unknown");
}

static void script_expect_continue(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    const char *head = "POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       "Content-Length: 5\r\n\r\n";
    /* The body goes only after the server has said to go on. */
    if (client_write(client->fd, head, strlen(head))) {
        client_read(client, 1);
        if (client->response_count == 1 && client_write(client->fd, "hello", 5))
            client_read(client, 2);
    }
    close(client->fd);
}

static void test_post_bodies(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client with_length = {
        .request =
            "POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 13\r\n\r\n{\"Image\":\"a\"}",
        .expected = 1,
    };
    client_run(fixture, &with_length, script_exchange);
    assert_string_equal(fixture->method, "POST");
    assert_int_equal(fixture->body_length, 13);
    assert_string_equal(fixture->body, "{\"Image\":\"a\"}");
    assert_int_equal(with_length.responses[0].status, 200);
    client_free(&with_length);

    struct client chunked = {
        .request = "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        .expected = 1,
    };
    client_run(fixture, &chunked, script_exchange);
    assert_int_equal(fixture->body_length, 11);
    assert_string_equal(fixture->body, "hello world");
    assert_int_equal(chunked.responses[0].status, 200);
    client_free(&chunked);

    struct client expect = {0};
    client_run(fixture, &expect, script_expect_continue);
    assert_int_equal(expect.response_count, 2);
    assert_int_equal(expect.responses[0].status, 100);
    assert_int_equal(expect.responses[1].status, 200);
    assert_string_equal(fixture->body, "hello");
    client_free(&expect);
}

static void script_keep_alive(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    const char *first = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *second = "GET /two HTTP/1.1\r\nHost: x\r\n\r\n";
    if (client_write(client->fd, first, strlen(first))) {
        client_read(client, 1);
        if (client_write(client->fd, second, strlen(second)))
            client_read(client, 2);
    }
    close(client->fd);
}

static void test_keep_alive(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {0};
    client_run(fixture, &client, script_keep_alive);
    assert_int_equal(client.response_count, 2);
    assert_string_equal(client.responses[0].body, "/one");
    assert_string_equal(client.responses[1].body, "/two");
    assert_int_equal(fixture->requests, 2);
    assert_int_equal(fixture->most_connections, 1);
    client_free(&client);
}

static void test_pipelined_requests_answer_in_order(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    /* /async is answered by a timer; /b and /c wait behind it. */
    struct client client = {
        .request =
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /async HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        .expected = 4,
    };
    client_run(fixture, &client, script_exchange);
    assert_int_equal(client.response_count, 4);
    assert_string_equal(client.responses[0].body, "/a");
    assert_string_equal(client.responses[1].body, "late");
    assert_string_equal(client.responses[2].body, "/b");
    assert_string_equal(client.responses[3].body, "/c");
    assert_string_equal(fixture->body, "abc");
    assert_int_equal(fixture->close_calls, 0);
    client_free(&client);
}

/* ---- streams and errors ---- */

static void test_chunked_stream(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {
        .request = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n",
        .expected = 2,
    };
    client_run(fixture, &client, script_exchange);
    assert_int_equal(client.response_count, 2);
    char value[64];
    assert_string_equal(
        response_header(&client.responses[0], "transfer-encoding", value, sizeof value), "chunked");
    assert_null(response_header(&client.responses[0], "content-length", value, sizeof value));
    assert_string_equal(response_header(&client.responses[0], "api-version", value, sizeof value),
                        "1.41");
    assert_string_equal(client.responses[0].body, "onetwothree");
    assert_non_null(strstr(client.raw, "\r\n3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n"));
    assert_string_equal(client.responses[1].body, "/after");
    client_free(&client);

    /* HTTP/1.0 knows no chunks: the body ends with the connection. */
    struct client old = {.request = "GET /stream HTTP/1.0\r\n\r\n", .expected = 0};
    client_run(fixture, &old, script_exchange);
    assert_true(old.eof);
    assert_int_equal(old.response_count, 1);
    assert_null(response_header(&old.responses[0], "transfer-encoding", value, sizeof value));
    assert_string_equal(response_header(&old.responses[0], "connection", value, sizeof value),
                        "close");
    assert_string_equal(old.responses[0].body, "onetwothree");
    client_free(&old);
}

static void test_error_body_is_escaped_json(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {.request = "GET /error HTTP/1.1\r\nHost: x\r\n\r\n", .expected = 1};
    client_run(fixture, &client, script_exchange);
    struct response *response = &client.responses[0];
    char value[64];
    assert_int_equal(response->status, 409);
    assert_true(strncmp(client.raw, "HTTP/1.1 409 Conflict\r\n", 23) == 0);
    assert_string_equal(response_header(response, "content-type", value, sizeof value),
                        "application/json");
    json_error_t error;
    json_t *body = json_loads(response->body, 0, &error);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "message")),
                        "conflict: \"name\"\n\ttab\x01 caf\xc3\xa9 bad\xef\xbf\xbd end");
    json_decref(body);
    client_free(&client);
}

/* A refusal: status, a JSON message, Connection: close, then the close. */
static void assert_refused(struct client *client, int status, const char *message)
{
    char value[64];
    assert_int_equal(client->response_count, 1);
    assert_int_equal(client->responses[0].status, status);
    assert_string_equal(response_header(&client->responses[0], "connection", value, sizeof value),
                        "close");
    json_error_t error;
    json_t *body = json_loads(client->responses[0].body, 0, &error);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "message")), message);
    json_decref(body);
    /* closed by the server: EOF, or ECONNRESET if it left bytes unread */
    assert_true(client->eof || client->read_error == ECONNRESET);
}

static void test_malformed_requests_get_400(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    static const struct {
        const char *request;
        const char *message;
    } cases[] = {
        {"FOO / HTTP/1.1\r\n\r\n", "bad request: invalid HTTP method"},
        {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "bad request: invalid character in header"},
        {"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n",
         "bad request: invalid percent-encoding in the path"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         "bad request: unexpected content-length header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct client client = {.request = cases[i].request, .expected = 0};
        client_run(fixture, &client, script_exchange);
        assert_refused(&client, 400, cases[i].message);
        client_free(&client);
    }
    assert_int_equal(fixture->requests, 0);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
}

static void test_limits(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.header_limit = 1024;
    fixture->options.body_limit = 1000;
    server_start(fixture);

    char big_header[2100];
    snprintf(big_header, sizeof big_header, "GET / HTTP/1.1\r\nX-Big: %02000d\r\n\r\n", 0);
    struct client headers = {.request = big_header, .expected = 0};
    client_run(fixture, &headers, script_exchange);
    assert_refused(&headers, 431, "request headers larger than 1024 bytes");
    client_free(&headers);

    /* Refused from Content-Length alone, before the body is sent. */
    struct client declared = {.request = "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
                              .expected = 0};
    client_run(fixture, &declared, script_exchange);
    assert_refused(&declared, 413, "request body larger than 1000 bytes");
    client_free(&declared);

    char chunked[1300];
    int used = snprintf(chunked, sizeof chunked,
                        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n");
    memset(chunked + used, 'a', 1024);
    strcpy(chunked + used + 1024, "\r\n0\r\n\r\n");
    struct client grown = {.request = chunked, .expected = 0};
    client_run(fixture, &grown, script_exchange);
    assert_refused(&grown, 413, "request body larger than 1000 bytes");
    client_free(&grown);
    assert_int_equal(fixture->requests, 0);
}

static void test_request_and_idle_timeouts(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.request_timeout_ms = 100;
    fixture->options.idle_timeout_ms = 200;
    server_start(fixture);

    struct client slow = {.request = "GET / HTTP/1.1\r\nHost: x\r\n", .expected = 0};
    client_run(fixture, &slow, script_exchange);
    assert_refused(&slow, 408, "request timeout");
    assert_true(slow.elapsed_ms >= 100);
    client_free(&slow);

    /* Answered, then idle: closed quietly after idle_timeout_ms. */
    struct client idle = {.request = "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n", .expected = 0};
    client_run(fixture, &idle, script_exchange);
    assert_int_equal(idle.response_count, 1);
    assert_true(idle.eof);
    assert_true(idle.elapsed_ms >= 200);
    client_free(&idle);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
}

/* ---- held connections: close and writable callbacks ---- */

static void script_follow_then_leave(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    if (client_write(client->fd, client->request, client->request_length)) {
        char buffer[4096];
        size_t total = 0;
        while (total < sizeof buffer - 1) {
            ssize_t received = recv(client->fd, buffer + total, sizeof buffer - 1 - total, 0);
            if (received <= 0)
                break;
            total += (size_t)received;
            buffer[total] = '\0';
            if (strstr(buffer, "first\n") != NULL) {
                client->cycles_ok = 1;
                break;
            }
        }
    }
    close(client->fd);
}

static void test_close_callback_when_client_leaves_mid_stream(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {.request = "GET /follow HTTP/1.1\r\nHost: x\r\n\r\n"};
    client_run(fixture, &client, script_follow_then_leave);
    assert_int_equal(client.cycles_ok, 1);
    PUMP_UNTIL(fixture, fixture->close_calls == 1);
    assert_null(fixture->held);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
    assert_int_equal(fixture->close_calls, 1);
    client_free(&client);
}

static void script_slow_reader(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    if (client_write(client->fd, client->request, client->request_length)) {
        usleep(300 * 1000); /* the server's queue fills meanwhile */
        client_read(client, 1);
    }
    close(client->fd);
}

static void test_writable_callback_after_filling_the_socket(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {.request = "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n"};
    client_start(fixture, &client, script_slow_reader);
    PUMP_UNTIL(fixture, fixture->held != NULL);
    /* The client does not read yet: the queue holds more than 64 KiB. */
    assert_true(http_connection_pending(fixture->held) > 64 * 1024);
    assert_int_equal(fixture->writable_calls, 0);
    client_finish(fixture, &client);

    assert_true(fixture->writable_calls >= 1);
    assert_int_equal(fixture->flood_sent, FLOOD_TOTAL);
    assert_int_equal(client.response_count, 1);
    assert_int_equal(client.responses[0].body_length, FLOOD_TOTAL);
    for (size_t i = 0; i < FLOOD_TOTAL; i++)
        if ((unsigned char)client.responses[0].body[i] != flood_byte(i))
            fail_msg("byte %zu differs", i);
    assert_int_equal(fixture->close_calls, 0);
    client_free(&client);
}

static void script_hold_then_leave(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    client_write(client->fd, client->request, client->request_length);
    while (!atomic_load(client->release))
        usleep(1000);
    close(client->fd);
}

static void test_answer_to_a_peer_that_has_gone(void **state)
{
    struct fixture *fixture = *state;
    /* Whatever SIGPIPE's disposition, writing to a gone peer must not kill. */
    signal(SIGPIPE, SIG_DFL);
    server_start(fixture);
    struct client client = {.request = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n",
                            .release = &fixture->release};
    client_start(fixture, &client, script_hold_then_leave);
    PUMP_UNTIL(fixture, fixture->held != NULL);
    atomic_store(&fixture->release, 1);
    pthread_join(client.thread, NULL);

    /* The loop has not run since the peer left: the write finds out. */
    static char big[1024 * 1024];
    struct http_connection *connection = fixture->held;
    fixture->held = NULL;
    assert_int_equal(http_respond(connection, 200, "text/plain", NULL, big, sizeof big), -1);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
    assert_int_equal(fixture->close_calls, 0); /* it was answered */
    client_free(&client);
}

static void test_server_free_closes_held_connections(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    struct client client = {.request = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n", .expected = 0};
    client_start(fixture, &client, script_exchange);
    PUMP_UNTIL(fixture, fixture->held != NULL);
    http_server_free(fixture->server);
    fixture->server = NULL;
    assert_int_equal(fixture->close_calls, 1);
    pthread_join(client.thread, NULL);
    assert_true(client.eof);
    assert_int_equal(client.response_count, 0);
    struct stat status;
    assert_int_equal(lstat(fixture->socket_path, &status), -1); /* unlinked */
    client_free(&client);
}

/* ---- a body streamed to an fd ---- */

struct pipe_reader {
    int fd;
    size_t total;
    bool pattern_ok;
};

static void *pipe_reader_main(void *data)
{
    struct pipe_reader *reader = data;
    static char buffer[65536];
    reader->pattern_ok = true;
    for (;;) {
        ssize_t received = read(reader->fd, buffer, sizeof buffer);
        if (received < 0 && errno == EINTR)
            continue;
        if (received <= 0)
            break;
        for (ssize_t i = 0; i < received; i++)
            if ((unsigned char)buffer[i] != load_byte(reader->total + (size_t)i))
                reader->pattern_ok = false;
        reader->total += (size_t)received;
        usleep(500); /* slower than the client: the pipe fills */
    }
    return NULL;
}

static void script_chunked_upload(struct client *client)
{
    client->fd = client_connect(client->socket_path);
    if (client->fd < 0)
        return;
    const char *head = "POST /load HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    static char chunk[50000 + 32];
    bool ok = client_write(client->fd, head, strlen(head));
    for (size_t sent = 0; ok && sent < LOAD_TOTAL;) {
        size_t length = LOAD_TOTAL - sent < 50000 ? LOAD_TOTAL - sent : 50000;
        int prefix = snprintf(chunk, sizeof chunk, "%zx\r\n", length);
        for (size_t i = 0; i < length; i++)
            chunk[prefix + i] = (char)load_byte(sent + i);
        memcpy(chunk + prefix + length, "\r\n", 2);
        ok = client_write(client->fd, chunk, (size_t)prefix + length + 2);
        sent += length;
    }
    if (ok)
        ok = client_write(client->fd, "0\r\n\r\n", 5);
    client_read(client, 1);
    close(client->fd);
}

static void test_body_to_fd_with_back_pressure(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    assert_int_equal(pipe2(fixture->pipe_fds, O_CLOEXEC), 0);
    struct pipe_reader reader = {.fd = fixture->pipe_fds[0]};
    pthread_t reader_thread;
    assert_int_equal(pthread_create(&reader_thread, NULL, pipe_reader_main, &reader), 0);

    struct client client = {0};
    client_run(fixture, &client, script_chunked_upload);
    pthread_join(reader_thread, NULL);

    assert_int_equal(fixture->body_done_calls, 1);
    assert_true(fixture->body_ok);
    assert_int_equal(reader.total, LOAD_TOTAL);
    assert_true(reader.pattern_ok);
    assert_int_equal(client.response_count, 1);
    assert_int_equal(client.responses[0].status, 200);
    assert_string_equal(client.responses[0].body, "loaded");
    client_free(&client);
}

static void test_streamed_body_refused_before_reading_it(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    static char request[100 * 1024];
    int head = snprintf(request, sizeof request,
                        "POST /load-refused HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
                        sizeof request - 200);
    memset(request + head, 'x', sizeof request - 200);
    struct client client = {.request = request,
                            .request_length = (size_t)head + sizeof request - 200};
    client_run(fixture, &client, script_exchange);
    /* The unread body cannot be skipped over: the answer is the last. */
    assert_refused(&client, 400, "bad parameters");
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
    client_free(&client);
}

static void test_body_to_fd_whose_reader_has_gone(void **state)
{
    struct fixture *fixture = *state;
    signal(SIGPIPE, SIG_DFL);
    server_start(fixture);
    assert_int_equal(pipe2(fixture->pipe_fds, O_CLOEXEC), 0);
    close(fixture->pipe_fds[0]);
    fixture->pipe_fds[0] = -1;

    struct client client = {0};
    client_run(fixture, &client, script_chunked_upload);
    assert_int_equal(fixture->body_done_calls, 1);
    assert_false(fixture->body_ok);
    assert_int_equal(client.response_count, 1);
    assert_int_equal(client.responses[0].status, 500);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
    client_free(&client);
}

/* ---- hijack ---- */

static void test_hijack(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    static const struct {
        const char *request;
        const char *expected;
        const char *leftover;
    } cases[] = {
        {"POST /attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
         "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}STDIN-BYTES",
         "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
         "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello",
         "STDIN-BYTES"},
        {"POST /attach HTTP/1.1\r\nHost: x\r\n\r\nXY",
         "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nhello", "XY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct client client = {.request = cases[i].request, .expected = 0};
        client_start(fixture, &client, script_exchange);
        PUMP_UNTIL(fixture, fixture->hijack_fd >= 0 || fixture->hijack_result != 0);
        assert_int_equal(fixture->hijack_result, 0);
        assert_int_equal(http_server_connection_count(fixture->server), 0);
        int flags = fcntl(fixture->hijack_fd, F_GETFL);
        assert_true(flags & O_NONBLOCK);
        assert_true(fcntl(fixture->hijack_fd, F_GETFD) & FD_CLOEXEC);
        assert_int_equal(fixture->leftover_length, strlen(cases[i].leftover));
        assert_string_equal(fixture->leftover, cases[i].leftover);
        close(fixture->hijack_fd);
        fixture->hijack_fd = -1;
        free(fixture->leftover);
        fixture->leftover = NULL;
        client_finish(fixture, &client);
        assert_string_equal(client.raw, cases[i].expected);
        assert_int_equal(fixture->close_calls, 0);
        client_free(&client);
    }
}

/* ---- the socket file ---- */

static void test_stale_socket_replaced_live_one_refused(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err;

    /* A socket file nobody listens on: a daemon that died. */
    int stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, fixture->socket_path);
    assert_int_equal(bind(stale, (struct sockaddr *)&address, sizeof address), 0);
    close(stale);
    if (geteuid() == 0)
        fixture->options.socket_group = 4321;
    server_start(fixture);
    struct stat status;
    assert_int_equal(lstat(fixture->socket_path, &status), 0);
    assert_true(S_ISSOCK(status.st_mode));
    assert_int_equal(status.st_mode & 07777, 0660);
    if (geteuid() == 0)
        assert_int_equal(status.st_gid, 4321);

    /* A live one is refused and left alone. */
    struct http_server *second = NULL;
    assert_int_equal(http_server_new(fixture->loop, &fixture->options, &second, &err), -1);
    assert_int_equal(err.errno_value, EADDRINUSE);
    assert_non_null(strstr(err.message, "another engine is listening"));
    struct client client = {.request = "GET /still HTTP/1.1\r\nHost: x\r\n\r\n", .expected = 1};
    client_run(fixture, &client, script_exchange);
    assert_string_equal(client.responses[0].body, "/still");
    client_free(&client);

    /* Anything else at the path is not ours to remove. */
    char file[160];
    snprintf(file, sizeof file, "%s/file", fixture->directory);
    int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    struct http_server_options options = fixture->options;
    options.socket_path = file;
    assert_int_equal(http_server_new(fixture->loop, &options, &second, &err), -1);
    assert_int_equal(err.errno_value, EEXIST);
    assert_int_equal(lstat(file, &status), 0);
    assert_true(S_ISREG(status.st_mode));
    unlink(file);
}

/* ---- many clients ---- */

static int count_open_fds(void)
{
    DIR *directory = opendir("/proc/self/fd");
    int count = 0;
    assert_non_null(directory);
    while (readdir(directory) != NULL)
        count++;
    closedir(directory);
    return count;
}

static void script_cycles(struct client *client)
{
    const char *request = "GET /cycle HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 200; i++) {
        client->fd = client_connect(client->socket_path);
        if (client->fd < 0)
            return;
        http_parser_init(&client->parser, HTTP_RESPONSE);
        client->response_count = 0;
        if (client_write(client->fd, request, strlen(request))) {
            client_read(client, 1);
            if (client->response_count == 1 && client->responses[0].status == 200)
                client->cycles_ok++;
        }
        close(client->fd);
    }
}

static void test_connections_do_not_leak(void **state)
{
    struct fixture *fixture = *state;
    server_start(fixture);
    int before = count_open_fds();
    struct client client = {0};
    client_run(fixture, &client, script_cycles);
    assert_int_equal(client.cycles_ok, 200);
    PUMP_UNTIL(fixture, http_server_connection_count(fixture->server) == 0);
    assert_int_equal(count_open_fds(), before);
    assert_int_equal(fixture->requests, 200);
    client_free(&client);
}

static void script_over_the_limit(struct client *client)
{
    int first = client_connect(client->socket_path);
    int second = client_connect(client->socket_path);
    if (first < 0 || second < 0)
        return;
    char byte;
    client->refused_read = (int)recv(second, &byte, 1, 0);
    if (client->refused_read < 0)
        client->refused_read = -errno;
    close(second);
    client->fd = first;
    const char *request = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
    if (client_write(first, request, strlen(request)))
        client_read(client, 1);
    close(first);
}

static void test_connection_limit(void **state)
{
    struct fixture *fixture = *state;
    fixture->options.connection_limit = 1;
    server_start(fixture);
    struct client client = {0};
    client_run(fixture, &client, script_over_the_limit);
    assert_true(client.refused_read == 0 || client.refused_read == -ECONNRESET);
    assert_int_equal(client.response_count, 1);
    assert_string_equal(client.responses[0].body, "/first");
    client_free(&client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parameters),
        cmocka_unit_test_setup_teardown(test_get_path_query_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests_answer_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_body_is_escaped_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests_get_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_and_idle_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_callback_when_client_leaves_mid_stream, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writable_callback_after_filling_the_socket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer_to_a_peer_that_has_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_free_closes_held_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_to_fd_with_back_pressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_body_refused_before_reading_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_to_fd_whose_reader_has_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hijack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_socket_replaced_live_one_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connections_do_not_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
