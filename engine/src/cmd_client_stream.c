/* cmd_client_stream.c — the keel client's streams: docker's frame demultiplexer, the poll(2) loop
 * of a hijacked connection, raw terminals. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_client.h"

#define CLIENT_FRAME_HEADER 8
#define CLIENT_SYSTEM_ERROR_LIMIT (64 * 1024) /* a daemon's error frame kept for the message */
#define CLIENT_STREAM_BUFFER (64 * 1024)
#define CLIENT_DETACH_FIRST 0x10  /* ctrl-p */
#define CLIENT_DETACH_SECOND 0x11 /* ctrl-q */

/* ---- output ---- */

int client_write_all(int fd, const void *data, size_t length, struct keel_error *err)
{
    const char *bytes = data;
    while (length > 0) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return keel_error_set(err, errno, "write to %s",
                                  fd == STDERR_FILENO ? "stderr" : "stdout");
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

int client_output_to_stdio(int stream, const void *data, size_t length, void *user)
{
    struct keel_error *err = user;
    return client_write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, data, length, err);
}

/* ---- frames ---- */

int client_demux_feed(struct client_demux *demux, const void *data, size_t length,
                      client_output_fn *output, void *user, struct keel_error *err)
{
    const unsigned char *bytes = data;

    while (length > 0) {
        if (demux->header_length < CLIENT_FRAME_HEADER) {
            size_t take = CLIENT_FRAME_HEADER - demux->header_length;
            if (take > length)
                take = length;
            memcpy(demux->header + demux->header_length, bytes, take);
            demux->header_length += take;
            bytes += take;
            length -= take;
            if (demux->header_length < CLIENT_FRAME_HEADER)
                break;
            demux->stream = demux->header[0];
            if (demux->stream > 3)
                return keel_error_set(
                    err, EPROTO, "bad stream from the engine: frame for stream %d", demux->stream);
            demux->remaining = (uint32_t)demux->header[4] << 24 | (uint32_t)demux->header[5] << 16 |
                               (uint32_t)demux->header[6] << 8 | demux->header[7];
            if (demux->remaining == 0)
                demux->header_length = 0;
            continue;
        }
        size_t take = demux->remaining < length ? demux->remaining : length;
        if (demux->stream == 3) {
            size_t room = CLIENT_SYSTEM_ERROR_LIMIT - demux->system_error_length;
            size_t kept = take < room ? take : room;
            char *grown = realloc(demux->system_error, demux->system_error_length + kept + 1);
            if (grown == NULL)
                return keel_error_set(err, ENOMEM, "read the engine's stream");
            memcpy(grown + demux->system_error_length, bytes, kept);
            demux->system_error = grown;
            demux->system_error_length += kept;
            grown[demux->system_error_length] = '\0';
        } else if (output(demux->stream == 2 ? 2 : 1, bytes, take, user) < 0) {
            return -1;
        }
        bytes += take;
        length -= take;
        demux->remaining -= (uint32_t)take;
        if (demux->remaining > 0)
            continue;
        demux->header_length = 0;
        if (demux->stream == 3)
            return keel_error_set(err, 0, "error from daemon in stream: %s",
                                  demux->system_error != NULL ? demux->system_error : "");
    }
    return 0;
}

bool client_demux_complete(const struct client_demux *demux)
{
    return demux->header_length == 0;
}

void client_demux_free(struct client_demux *demux)
{
    free(demux->system_error);
    *demux = (struct client_demux){0};
}

/* ---- terminals ---- */

int client_terminal_make_raw(int fd, struct termios *saved, struct keel_error *err)
{
    struct termios raw;
    if (tcgetattr(fd, saved) < 0)
        return keel_error_set(err, errno, "read the terminal's settings");
    raw = *saved;
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSANOW, &raw) < 0)
        return keel_error_set(err, errno, "make the terminal raw");
    return 0;
}

void client_terminal_restore(int fd, const struct termios *saved)
{
    tcsetattr(fd, TCSANOW, saved);
}

/* ---- the hijacked connection ---- */

struct client_stream_state {
    const struct client_stream *stream;
    struct client_demux demux;
    char input[CLIENT_STREAM_BUFFER + 1]; /* +1: a held ctrl-p given back */
    size_t input_start, input_end;        /* read from stdin, not yet sent */
    bool input_open;                      /* stdin has not ended */
    bool write_shut;                      /* the socket's write side is shut */
    bool held_detach;                     /* a ctrl-p waits for what follows */
};

/* Output from the engine: frames, or with a tty the raw bytes. */
static int client_stream_deliver(struct client_stream_state *state, const char *data, size_t length,
                                 struct keel_error *err)
{
    if (!state->stream->multiplexed)
        return client_write_all(STDOUT_FILENO, data, length, err);
    return client_demux_feed(&state->demux, data, length, client_output_to_stdio, err, err);
}

/* Keep input bytes to send; ctrl-p ctrl-q detaches (returns 1). */
static int client_stream_take_input(struct client_stream_state *state, const char *data,
                                    size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)data[i];
        if (state->stream->detach_keys) {
            if (state->held_detach) {
                state->held_detach = false;
                if (byte == CLIENT_DETACH_SECOND)
                    return 1;
                state->input[state->input_end++] = CLIENT_DETACH_FIRST;
            }
            if (byte == CLIENT_DETACH_FIRST) {
                state->held_detach = true;
                continue;
            }
        }
        state->input[state->input_end++] = (char)byte;
    }
    return 0;
}

/* Stdin is over (and its bytes sent): tell the engine by a half close,
 * which closes the container's stdin (StdinOnce) and leaves its output
 * coming. */
static void client_stream_shut_write(struct client_stream_state *state)
{
    if (!state->input_open && !state->write_shut && state->input_start == state->input_end) {
        shutdown(state->stream->socket, SHUT_WR);
        state->write_shut = true;
    }
}

static int client_stream_read_input(struct client_stream_state *state, struct keel_error *err)
{
    char buffer[CLIENT_STREAM_BUFFER / 2];
    ssize_t got = read(state->stream->input, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    /* EIO: the terminal hung up, the same as its end. */
    if (got == 0 || (got < 0 && errno == EIO)) {
        state->input_open = false;
        if (state->held_detach)
            state->input[state->input_end++] = CLIENT_DETACH_FIRST;
        state->held_detach = false;
        client_stream_shut_write(state);
        return 0;
    }
    if (got < 0)
        return keel_error_set(err, errno, "read stdin");
    state->input_start = state->input_end = 0;
    return client_stream_take_input(state, buffer, (size_t)got);
}

static int client_stream_send_input(struct client_stream_state *state, struct keel_error *err)
{
    ssize_t sent = send(state->stream->socket, state->input + state->input_start,
                        state->input_end - state->input_start, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        /* The engine stopped reading (the container's stdin is closed):
         * input goes nowhere, output may still come. */
        state->input_open = false;
        state->input_start = state->input_end = 0;
        state->write_shut = true;
        return 0;
    }
    if (sent < 0)
        return keel_error_set(err, errno, "send stdin to the engine");
    state->input_start += (size_t)sent;
    if (state->input_start == state->input_end)
        state->input_start = state->input_end = 0;
    client_stream_shut_write(state);
    return 0;
}

static int client_stream_loop(struct client_stream_state *state, int signal_fd,
                              struct keel_error *err)
{
    const struct client_stream *stream = state->stream;
    char buffer[CLIENT_STREAM_BUFFER];

    for (;;) {
        struct pollfd fds[3];
        nfds_t count = 0;
        bool pending = state->input_start < state->input_end;
        fds[count++] =
            (struct pollfd){.fd = stream->socket, .events = POLLIN | (pending ? POLLOUT : 0)};
        int input_index = -1, signal_index = -1;
        if (state->input_open && !pending) {
            input_index = (int)count;
            fds[count++] = (struct pollfd){.fd = stream->input, .events = POLLIN};
        }
        if (signal_fd >= 0) {
            signal_index = (int)count;
            fds[count++] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
        }
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            return keel_error_set(err, errno, "poll the engine's stream");
        }
        if (signal_index >= 0 && (fds[signal_index].revents & POLLIN)) {
            struct signalfd_siginfo info;
            while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info)
                if (stream->on_signal != NULL)
                    stream->on_signal((int)info.ssi_signo, stream->data);
        }
        if (input_index >= 0 && fds[input_index].revents != 0) {
            int detached = client_stream_read_input(state, err);
            if (detached > 0) {
                /* What was typed before the keys still goes (best effort). */
                send(stream->socket, state->input + state->input_start,
                     state->input_end - state->input_start, MSG_NOSIGNAL);
                return detached;
            }
            if (detached < 0)
                return -1;
        }
        if (fds[0].revents & POLLOUT && client_stream_send_input(state, err) < 0)
            return -1;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = recv(stream->socket, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got < 0 && errno == ECONNRESET)
                return 0;
            if (got < 0)
                return keel_error_set(err, errno, "read the engine's stream");
            if (got == 0)
                return 0; /* the output ended */
            if (client_stream_deliver(state, buffer, (size_t)got, err) < 0)
                return -1;
        }
    }
}

int client_stream_run(const struct client_stream *stream, struct keel_error *err)
{
    struct client_stream_state *state = calloc(1, sizeof *state);
    _cleanup_close_ int signal_fd = -1;
    sigset_t previous;
    bool signals = !sigisemptyset(&stream->signals);
    int result;

    if (state == NULL)
        return keel_error_set(err, ENOMEM, "stream");
    state->stream = stream;
    state->input_open = stream->input >= 0;
    if (!state->input_open) {
        /* No stdin: the engine sees our end of input at once. */
        shutdown(stream->socket, SHUT_WR);
        state->write_shut = true;
    }
    if (signals) {
        sigprocmask(SIG_BLOCK, &stream->signals, &previous);
        signal_fd = signalfd(-1, &stream->signals, SFD_CLOEXEC | SFD_NONBLOCK);
        if (signal_fd < 0) {
            result = keel_error_set(err, errno, "signalfd");
            goto out;
        }
    }
    result = stream->buffered_length > 0
                 ? client_stream_deliver(state, stream->buffered, stream->buffered_length, err)
                 : 0;
    if (result == 0)
        result = client_stream_loop(state, signal_fd, err);
out:
    if (signals)
        sigprocmask(SIG_SETMASK, &previous, NULL);
    client_demux_free(&state->demux);
    free(state);
    return result;
}

int client_stream_body(struct http_client *http, bool multiplexed, struct keel_error *err)
{
    struct client_demux demux = {0};
    _cleanup_free_ char *buffer = malloc(CLIENT_STREAM_BUFFER);
    int result = 0;

    if (buffer == NULL)
        return keel_error_set(err, ENOMEM, "read the stream");
    for (;;) {
        ssize_t got = http_client_read_body(http, buffer, CLIENT_STREAM_BUFFER, err);
        if (got < 0) {
            result = -1;
            break;
        }
        if (got == 0)
            break;
        if (!multiplexed)
            result = client_write_all(STDOUT_FILENO, buffer, (size_t)got, err);
        else
            result =
                client_demux_feed(&demux, buffer, (size_t)got, client_output_to_stdio, err, err);
        if (result < 0)
            break;
    }
    client_demux_free(&demux);
    return result;
}
