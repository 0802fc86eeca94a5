/* http_client.h — the client side of the engine's API: HTTP/1.1 requests over a unix socket,
 * blocking (the keel CLI). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "http_server.h" /* struct http_header */

#define HTTP_CLIENT_SYSTEM_SOCKET "/run/system-keel.sock"
#define HTTP_CLIENT_USER_SOCKET "/run/keel.sock"

/* Where the engine is: "unix:///run/keel.sock" or a bare absolute path.
 * tcp:// and others are refused by name. *socket_path is heap. */
int http_client_parse_host(const char *host, char **socket_path, struct keel_error *err);

struct http_client {
    int fd;
    char *buffer; /* bytes read and not yet consumed */
    size_t buffer_length;
    size_t buffer_capacity;
    /* the response being read */
    bool chunked;
    bool body_done;
    uint64_t content_remaining; /* with Content-Length */
    void *parser;               /* private */
};

struct http_client_response {
    int status;
    struct http_header *headers;
    size_t header_count;
    bool upgraded; /* 101: the connection is now a raw stream */
};

/* Connect (blocking, O_CLOEXEC). ENOENT/ECONNREFUSED: "cannot reach the
 * engine at PATH: ... (is the daemon running?)". */
int http_client_connect(struct http_client *client, const char *socket_path,
                        struct keel_error *err);
void http_client_close(struct http_client *client);

/* Send a request with a whole body (NULL/0: none). target is path + query,
 * already percent-encoded. extra_headers: "Name: value\r\n" lines or NULL.
 * With upgrade, asks for "Connection: Upgrade, Upgrade: tcp" (attach). */
int http_client_send(struct http_client *client, const char *method, const char *target,
                     const char *content_type, const char *extra_headers, const void *body,
                     size_t length, bool upgrade, struct keel_error *err);
/* Send a request whose body is streamed from body_fd until EOF with chunked
 * transfer encoding (image load from a file or stdin). progress (may be
 * NULL) is called with the bytes sent so far. */
int http_client_send_fd(struct http_client *client, const char *method, const char *target,
                        const char *content_type, int body_fd,
                        void (*progress)(uint64_t sent, void *data), void *progress_data,
                        struct keel_error *err);

/* Read the status line and headers. */
int http_client_read_head(struct http_client *client, struct http_client_response *response,
                          struct keel_error *err);
const char *http_client_response_header(const struct http_client_response *response,
                                        const char *name);
void http_client_response_free(struct http_client_response *response);
/* Read the next piece of the body (de-chunked): >0 bytes, 0 at its end,
 * -1 on error. */
ssize_t http_client_read_body(struct http_client *client, void *buffer, size_t size,
                              struct keel_error *err);
/* The whole body into a NUL-terminated heap buffer, EFBIG past limit. */
int http_client_read_body_all(struct http_client *client, size_t limit, char **body, size_t *length,
                              struct keel_error *err);

/* One call for the common case: send, read head and whole body. */
int http_client_request(struct http_client *client, const char *method, const char *target,
                        const char *json_body, int *status, char **body, size_t *length,
                        struct keel_error *err);

/* After a 101 (or a raw-stream 200): the bytes already read past the head
 * (heap, may be NULL) — the rest comes from client->fd. */
void http_client_take_buffered(struct http_client *client, char **bytes, size_t *length);
