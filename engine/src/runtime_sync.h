/* runtime_sync.h — the messages between the runtime and a container's process while it is set up.
 */
#pragma once

#include "error.h"

/* Over a SOCK_SEQPACKET socketpair, one message per packet. The container's
 * end is O_CLOEXEC, so its exec is seen by the runtime as end of file. */
enum runtime_sync_type {
    RUNTIME_SYNC_GO = 1,     /* runtime → process: ids mapped, cgroup joined: go on */
    RUNTIME_SYNC_PID,        /* intermediate → runtime: value is the container's pid */
    RUNTIME_SYNC_HOOKS,      /* process → runtime: namespaces made: run createRuntime hooks */
    RUNTIME_SYNC_HOOKS_DONE, /* runtime → process */
    RUNTIME_SYNC_CREATED,    /* process → runtime: set up, about to wait for start (or exec) */
    RUNTIME_SYNC_ERROR,      /* either way: value is errno, text the message */
};

struct runtime_sync_message {
    int type;
    int value;
    char text[KEEL_ERROR_MESSAGE_MAX];
};

int runtime_sync_send(int fd, int type, int value, const char *text, struct keel_error *err);

/* 0 and *message filled, 1 at end of file (the peer exec'd or exited), -1 on error. */
int runtime_sync_receive(int fd, struct runtime_sync_message *message, struct keel_error *err);

/* Wait for a message of type expected. An ERROR message becomes err (its
 * text and errno); end of file is an error "… exited during setup". */
int runtime_sync_expect(int fd, int expected, struct runtime_sync_message *message,
                        struct keel_error *err);

/* In the container's process: report err to the runtime, then _exit(code). */
_Noreturn void runtime_sync_fail(int fd, const struct keel_error *err, int code);
