/* engine_pump.c — a pipe's (or pty master's) read end on the loop: each chunk read goes to a
 * callback, then the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine_container_internal.h"

/* One read per wakeup: the loop turns between chunks, so a chatty
 * container cannot starve the others, and what the loop does not read
 * stays in the pipe, where the writer blocks (back-pressure). */
#define ENGINE_PUMP_CHUNK 32768
#define ENGINE_PUMP_DRAIN_READS 64

struct engine_pump {
    struct engine *engine;
    int fd;
    enum container_log_stream stream;
    engine_pump_fn *callback;
    void *user;
    bool ended;
};

/* The end: stop watching, close, tell the callback last (it may free the
 * pump). */
static void engine_pump_end(struct engine_pump *pump)
{
    struct keel_error ignored;
    pump->ended = true;
    loop_remove_fd(pump->engine->loop, pump->fd, &ignored);
    close(pump->fd);
    pump->fd = -1;
    pump->callback(pump->stream, NULL, 0, pump->user);
}

/* One read: 1 data delivered, 0 nothing there now, -1 ended. */
static int engine_pump_read_once(struct engine_pump *pump)
{
    char buffer[ENGINE_PUMP_CHUNK];
    ssize_t length = read(pump->fd, buffer, sizeof buffer);
    if (length > 0) {
        pump->callback(pump->stream, buffer, (size_t)length, pump->user);
        return 1;
    }
    if (length < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    /* 0: every writer closed it. EIO: a pty master whose slave is gone. */
    engine_pump_end(pump);
    return -1;
}

static int engine_pump_on_ready(struct loop *loop, int fd, uint32_t events, void *user,
                                struct keel_error *err)
{
    (void)loop;
    (void)fd;
    (void)events;
    (void)err;
    engine_pump_read_once(user);
    return 0;
}

int engine_pump_new(struct engine *engine, int fd, enum container_log_stream stream,
                    engine_pump_fn *callback, void *user, struct engine_pump **pump,
                    struct keel_error *err)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int saved = errno;
        close(fd);
        return keel_error_set(err, saved, "make output fd non-blocking");
    }
    struct engine_pump *made = calloc(1, sizeof *made);
    if (made == NULL) {
        close(fd);
        return keel_error_set(err, ENOMEM, "output pump");
    }
    *made = (struct engine_pump){
        .engine = engine, .fd = fd, .stream = stream, .callback = callback, .user = user};
    if (loop_add_fd(engine->loop, fd, EPOLLIN, engine_pump_on_ready, made, err) < 0) {
        close(fd);
        free(made);
        return keel_error_prefix(err, "output pump");
    }
    *pump = made;
    return 0;
}

bool engine_pump_drain(struct engine_pump *pump)
{
    if (pump->ended)
        return true;
    /* Bounded: a writer that outlived the container (a daemonised child
     * in the host's pid namespace) could keep the pipe full forever. */
    for (int reads = 0; reads < ENGINE_PUMP_DRAIN_READS; reads++) {
        int result = engine_pump_read_once(pump);
        if (result <= 0)
            return result < 0;
    }
    return false;
}

void engine_pump_free(struct engine_pump *pump)
{
    if (pump == NULL)
        return;
    if (!pump->ended) {
        struct keel_error ignored;
        loop_remove_fd(pump->engine->loop, pump->fd, &ignored);
        close(pump->fd);
    }
    free(pump);
}
