/* http_server.c — the listening unix socket, connections' lifetime, sweep and resume timers. */
#include "http_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "http_server_internal.h"

#define HTTP_DEFAULT_BODY_LIMIT ((size_t)16 * 1024 * 1024)
#define HTTP_DEFAULT_HEADER_LIMIT ((size_t)64 * 1024)
#define HTTP_DEFAULT_CONNECTION_LIMIT 1024u
#define HTTP_DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 120000u
#define HTTP_LISTEN_BACKLOG 128
/* Accepts per wakeup, so that a flood of connections cannot starve the
 * rest of the loop. */
#define HTTP_ACCEPT_BATCH 64
#define HTTP_ACCEPT_RETRY_MS 100

uint64_t http_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* ---- connections' lifetime ---- */

static void http_connection_destroy(struct http_connection *connection)
{
    http_buffer_free(&connection->input);
    http_buffer_free(&connection->output);
    http_buffer_free(&connection->body_pending);
    http_request_state_clear(&connection->current);
    free(connection);
}

void http_connection_hold(struct http_connection *connection)
{
    connection->references++;
}

void http_connection_release(struct http_connection *connection)
{
    connection->references--;
    if (connection->references == 0 && connection->closed)
        http_connection_destroy(connection);
}

static void http_server_unlink(struct http_server *server, struct http_connection *connection)
{
    if (connection->previous != NULL)
        connection->previous->next = connection->next;
    else
        server->connections = connection->next;
    if (connection->next != NULL)
        connection->next->previous = connection->previous;
    connection->previous = NULL;
    connection->next = NULL;
    server->connection_count--;
    /* No connection, no deadline: an idle daemon wakes up for nothing. */
    if (server->connection_count == 0)
        loop_timer_disarm(server->sweep_timer);
}

/* Stop watching the socket and forget the connection; the caller decides
 * what becomes of the fd. */
static void http_connection_unregister(struct http_connection *connection)
{
    struct keel_error ignored;
    connection->closed = true;
    loop_remove_fd(connection->server->loop, connection->fd, &ignored);
    if (connection->body_fd_watched) {
        loop_remove_fd(connection->server->loop, connection->body_fd, &ignored);
        connection->body_fd_watched = false;
    }
    http_server_unlink(connection->server, connection);
}

void http_connection_close(struct http_connection *connection)
{
    if (connection->closed)
        return;
    http_connection_hold(connection);
    http_connection_unregister(connection);
    close(connection->fd);
    connection->fd = -1;

    /* Whoever holds the connection hears it once: the body's owner first
     * (its fd), then the answer's. */
    if (connection->body_fd >= 0) {
        http_body_done_fn *done = connection->body_done;
        connection->body_fd = -1;
        connection->body_done = NULL;
        if (done != NULL)
            done(connection, false, connection->body_data);
    }
    if (connection->phase == HTTP_PHASE_HANDLING && connection->close_callback != NULL) {
        http_connection_event_fn *callback = connection->close_callback;
        connection->close_callback = NULL;
        connection->writable_callback = NULL;
        callback(connection, connection->close_data);
    }
    http_connection_release(connection);
}

void http_connection_detach(struct http_connection *connection)
{
    http_connection_hold(connection);
    http_connection_unregister(connection);
    connection->fd = -1;
    http_connection_release(connection);
}

void http_connection_kick(struct http_connection *connection)
{
    struct http_server *server = connection->server;
    struct keel_error ignored;
    if (connection->kick_pending || connection->closed)
        return;
    connection->kick_pending = true;
    http_connection_hold(connection); /* the kick list's */
    connection->kick_next = server->kicked;
    server->kicked = connection;
    if (!loop_timer_armed(server->kick_timer))
        loop_timer_arm(server->kick_timer, 0, 0, &ignored);
}

static int http_server_on_kick(struct loop *loop, struct loop_timer *timer, void *user,
                               struct keel_error *err)
{
    struct http_server *server = user;
    struct http_connection *list = server->kicked;
    (void)loop;
    (void)timer;
    (void)err;

    server->kicked = NULL;
    while (list != NULL) {
        struct http_connection *connection = list;
        list = connection->kick_next;
        connection->kick_next = NULL;
        connection->kick_pending = false;
        if (!connection->closed)
            http_connection_process(connection);
        http_connection_release(connection);
    }
    return 0;
}

static int http_server_on_sweep(struct loop *loop, struct loop_timer *timer, void *user,
                                struct keel_error *err)
{
    struct http_server *server = user;
    uint64_t now = http_now_ms();
    struct http_connection *connection = server->connections;
    (void)loop;
    (void)timer;
    (void)err;

    /* Holding the next one keeps it allocated whatever the expiry's
     * callbacks do. */
    if (connection != NULL)
        http_connection_hold(connection);
    while (connection != NULL) {
        struct http_connection *next = connection->next;
        if (next != NULL)
            http_connection_hold(next);
        if (!connection->closed && connection->deadline_kind != HTTP_DEADLINE_NONE &&
            now >= connection->deadline)
            http_connection_expire(connection);
        http_connection_release(connection);
        connection = next;
    }
    return 0;
}

static int http_server_add_connection(struct http_server *server, int fd, struct keel_error *err)
{
    struct http_connection *connection = calloc(1, sizeof *connection);
    if (connection == NULL)
        return keel_error_set(err, ENOMEM, "accept connection");
    connection->server = server;
    connection->fd = fd;
    connection->body_fd = -1;
    http_parser_init(&connection->parser, HTTP_REQUEST);
    connection->parser.data = connection;
    if (loop_add_fd(server->loop, fd, EPOLLIN, http_connection_on_ready, connection, err) < 0) {
        free(connection);
        return keel_error_prefix(err, "accept connection");
    }
    connection->watched = EPOLLIN;
    connection->next = server->connections;
    if (server->connections != NULL)
        server->connections->previous = connection;
    server->connections = connection;
    if (server->connection_count++ == 0) {
        unsigned shortest = server->request_timeout_ms < server->idle_timeout_ms
                                ? server->request_timeout_ms
                                : server->idle_timeout_ms;
        /* A quarter of the shortest timeout: deadlines are met within 25%. */
        unsigned interval = shortest / 4;
        interval = interval < 10 ? 10 : interval > 1000 ? 1000 : interval;
        if (loop_timer_arm(server->sweep_timer, interval, interval, err) < 0) {
            struct keel_error ignored;
            loop_remove_fd(server->loop, fd, &ignored);
            http_server_unlink(server, connection);
            free(connection);
            return keel_error_prefix(err, "accept connection");
        }
    }
    http_connection_set_deadline(connection, HTTP_DEADLINE_IDLE);
    return 0;
}

static int http_server_on_accept(struct loop *loop, int fd, uint32_t events, void *user,
                                 struct keel_error *err)
{
    struct http_server *server = user;
    (void)events;

    for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
        int connection_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection_fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            int saved = errno;
            if (saved == EMFILE || saved == ENFILE || saved == ENOBUFS || saved == ENOMEM) {
                /* The pending connection stays readable: without a pause,
                 * level-triggered epoll would spin on it. */
                struct keel_error ignored;
                if (loop_remove_fd(loop, fd, &ignored) == 0) {
                    server->accept_paused = true;
                    loop_timer_arm(server->accept_timer, HTTP_ACCEPT_RETRY_MS, 0, &ignored);
                }
            }
            return keel_error_set(err, saved, "accept connection on %s", server->socket_path);
        }
        if (server->connection_count >= server->connection_limit) {
            close(connection_fd);
            continue;
        }
        if (http_server_add_connection(server, connection_fd, err) < 0) {
            close(connection_fd);
            return -1;
        }
    }
    return 0;
}

static int http_server_on_accept_retry(struct loop *loop, struct loop_timer *timer, void *user,
                                       struct keel_error *err)
{
    struct http_server *server = user;
    (void)timer;
    if (!server->accept_paused)
        return 0;
    if (loop_add_fd(loop, server->listen_fd, EPOLLIN, http_server_on_accept, server, err) < 0) {
        struct keel_error ignored;
        loop_timer_arm(server->accept_timer, HTTP_ACCEPT_RETRY_MS, 0, &ignored);
        return keel_error_prefix(err, "listen on %s", server->socket_path);
    }
    server->accept_paused = false;
    return 0;
}

/* ---- the listening socket ---- */

static int http_address_of(const char *path, struct sockaddr_un *address, struct keel_error *err)
{
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address->sun_path)
        return keel_error_set(err, ENAMETOOLONG, "listen on %s", path);
    strcpy(address->sun_path, path);
    return 0;
}

/* Make way at path: nothing there is fine, a socket nobody accepts on (a
 * daemon that died) is removed, a live one or anything else is refused. */
static int http_server_clear_path(const char *path, const struct sockaddr_un *address,
                                  struct keel_error *err)
{
    struct stat status;
    if (lstat(path, &status) < 0) {
        if (errno == ENOENT)
            return 0;
        return keel_error_set(err, errno, "listen on %s: stat", path);
    }
    if (!S_ISSOCK(status.st_mode)) {
        keel_error_invalid(err, "listen on %s: the path exists and is not a socket", path);
        err->errno_value = EEXIST;
        return -1;
    }
    /* Non-blocking: a live engine whose backlog is full answers EAGAIN
     * instead of making us wait. */
    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return keel_error_set(err, errno, "listen on %s: socket", path);
    if (connect(probe, (const struct sockaddr *)address, sizeof *address) == 0 || errno == EAGAIN ||
        errno == EINPROGRESS) {
        keel_error_invalid(err, "listen on %s: another engine is listening", path);
        err->errno_value = EADDRINUSE;
        return -1;
    }
    if (errno == ENOENT)
        return 0;
    if (errno != ECONNREFUSED)
        return keel_error_set(err, errno, "listen on %s: probe the existing socket", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "listen on %s: remove the stale socket", path);
    return 0;
}

static int http_server_listen(struct http_server *server, const struct http_server_options *options,
                              struct keel_error *err)
{
    const char *path = options->socket_path;
    struct sockaddr_un address;
    if (http_address_of(path, &address, err) < 0)
        return -1;
    if (http_server_clear_path(path, &address, err) < 0)
        return -1;

    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return keel_error_set(err, errno, "listen on %s: socket", path);
    /* bind() creates the file with the umask's mode: make that the wanted
     * mode from the start, so that the socket is never more open. */
    mode_t previous = umask(~options->socket_mode & 0777);
    int bound = bind(fd, (const struct sockaddr *)&address, sizeof address);
    int saved = errno;
    umask(previous);
    if (bound < 0)
        return keel_error_set(err, saved, "listen on %s: bind", path);

    struct stat status;
    if (chmod(path, options->socket_mode) < 0) {
        keel_error_set(err, errno, "listen on %s: chmod %04o", path,
                       (unsigned)options->socket_mode);
        goto unlink_socket;
    }
    if (options->socket_group != (gid_t)-1 && chown(path, (uid_t)-1, options->socket_group) < 0) {
        keel_error_set(err, errno, "listen on %s: chown group %u", path,
                       (unsigned)options->socket_group);
        goto unlink_socket;
    }
    if (lstat(path, &status) < 0) {
        keel_error_set(err, errno, "listen on %s: stat", path);
        goto unlink_socket;
    }
    if (listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
        keel_error_set(err, errno, "listen on %s", path);
        goto unlink_socket;
    }
    server->socket_device = status.st_dev;
    server->socket_inode = status.st_ino;
    server->listen_fd = steal_fd(&fd);
    return 0;

unlink_socket:
    unlink(path);
    return -1;
}

/* Unlink the socket file only if it is still the one we bound: a newer
 * engine may have replaced it. */
static void http_server_unlink_socket(const struct http_server *server)
{
    struct stat status;
    if (lstat(server->socket_path, &status) == 0 && status.st_dev == server->socket_device &&
        status.st_ino == server->socket_inode)
        unlink(server->socket_path);
}

int http_server_new(struct loop *loop, const struct http_server_options *options,
                    struct http_server **out, struct keel_error *err)
{
    if (options->socket_path == NULL || options->handler == NULL)
        return keel_error_invalid(err, "start HTTP server: a socket path and a handler are needed");
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return keel_error_set(err, ENOMEM, "start HTTP server");
    server->loop = loop;
    server->listen_fd = -1;
    server->body_limit = options->body_limit ? options->body_limit : HTTP_DEFAULT_BODY_LIMIT;
    server->header_limit =
        options->header_limit ? options->header_limit : HTTP_DEFAULT_HEADER_LIMIT;
    server->connection_limit =
        options->connection_limit ? options->connection_limit : HTTP_DEFAULT_CONNECTION_LIMIT;
    server->request_timeout_ms =
        options->request_timeout_ms ? options->request_timeout_ms : HTTP_DEFAULT_REQUEST_TIMEOUT_MS;
    server->idle_timeout_ms =
        options->idle_timeout_ms ? options->idle_timeout_ms : HTTP_DEFAULT_IDLE_TIMEOUT_MS;
    server->handler = options->handler;
    server->stream_body = options->stream_body;
    server->data = options->data;
    http_connection_settings_init(&server->settings);

    server->socket_path = strdup(options->socket_path);
    server->read_buffer = malloc(HTTP_READ_SIZE);
    if (server->socket_path == NULL || server->read_buffer == NULL) {
        keel_error_set(err, ENOMEM, "start HTTP server");
        goto fail;
    }
    if (loop_timer_new(loop, http_server_on_sweep, server, &server->sweep_timer, err) < 0 ||
        loop_timer_new(loop, http_server_on_kick, server, &server->kick_timer, err) < 0 ||
        loop_timer_new(loop, http_server_on_accept_retry, server, &server->accept_timer, err) < 0)
        goto fail;
    if (http_server_listen(server, options, err) < 0)
        goto fail;
    if (loop_add_fd(loop, server->listen_fd, EPOLLIN, http_server_on_accept, server, err) < 0) {
        keel_error_prefix(err, "listen on %s", server->socket_path);
        goto fail;
    }
    *out = server;
    return 0;

fail:
    if (server->listen_fd >= 0) {
        http_server_unlink_socket(server);
        close(server->listen_fd);
    }
    loop_timer_free(server->sweep_timer);
    loop_timer_free(server->kick_timer);
    loop_timer_free(server->accept_timer);
    free(server->read_buffer);
    free(server->socket_path);
    free(server);
    return -1;
}

void http_server_free(struct http_server *server)
{
    struct keel_error ignored;
    if (server == NULL)
        return;
    while (server->connections != NULL)
        http_connection_close(server->connections);
    while (server->kicked != NULL) {
        struct http_connection *connection = server->kicked;
        server->kicked = connection->kick_next;
        connection->kick_pending = false;
        http_connection_release(connection);
    }
    if (!server->accept_paused)
        loop_remove_fd(server->loop, server->listen_fd, &ignored);
    close(server->listen_fd);
    http_server_unlink_socket(server);
    loop_timer_free(server->sweep_timer);
    loop_timer_free(server->kick_timer);
    loop_timer_free(server->accept_timer);
    free(server->read_buffer);
    free(server->socket_path);
    free(server);
}

unsigned http_server_connection_count(const struct http_server *server)
{
    return server->connection_count;
}
