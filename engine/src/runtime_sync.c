/* runtime_sync.c — the messages between the runtime and a container's process while it is set up.
 */
#include "runtime_sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int runtime_sync_send(int fd, int type, int value, const char *text, struct keel_error *err)
{
    struct runtime_sync_message message = {.type = type, .value = value};
    if (text != NULL)
        snprintf(message.text, sizeof message.text, "%s", text);
    while (send(fd, &message, sizeof message, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            return keel_error_set(err, errno, "send to the container's process");
    return 0;
}

int runtime_sync_receive(int fd, struct runtime_sync_message *message, struct keel_error *err)
{
    ssize_t got;
    do
        got = recv(fd, message, sizeof *message, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return keel_error_set(err, errno, "receive from the container's process");
    if (got == 0)
        return 1;
    if ((size_t)got != sizeof *message)
        return keel_error_invalid(err, "short message (%zd bytes) from the container's process",
                                  got);
    message->text[sizeof message->text - 1] = '\0';
    return 0;
}

int runtime_sync_expect(int fd, int expected, struct runtime_sync_message *message,
                        struct keel_error *err)
{
    int result = runtime_sync_receive(fd, message, err);
    if (result < 0)
        return -1;
    if (result == 1)
        return keel_error_invalid(err, "the container's process exited during setup");
    if (message->type == RUNTIME_SYNC_ERROR) {
        keel_error_clear(err);
        err->errno_value = message->value;
        snprintf(err->message, sizeof err->message, "%s", message->text);
        return -1;
    }
    if (message->type != expected)
        return keel_error_invalid(err, "unexpected message %d from the container's process",
                                  message->type);
    return 0;
}

_Noreturn void runtime_sync_fail(int fd, const struct keel_error *err, int code)
{
    struct keel_error ignored;
    if (fd < 0 ||
        runtime_sync_send(fd, RUNTIME_SYNC_ERROR, err->errno_value, err->message, &ignored) < 0) {
        /* Nobody listens any more (create has returned): the container's
         * stderr is where its owner will look. */
        dprintf(2, "keel: %s\n", err->message);
    }
    _exit(code);
}
