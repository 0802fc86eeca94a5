/* terminal.h — a container's pty: made inside the container, master sent out over the console
 * socket. */
#pragma once

#include "error.h"

/* In the container's process after pivot_root: open the container's
 * /dev/ptmx, send the master to console_socket (SCM_RIGHTS, as runc's
 * --console-socket contract), start a session with the slave as the
 * controlling terminal and as stdin, stdout and stderr. height and width of
 * 0 leave the size alone. */
int terminal_setup(int console_socket, unsigned height, unsigned width, struct keel_error *err);

/* Send fd over a unix socket with name as the message's data. */
int terminal_send_fd(int socket, int fd, const char *name, struct keel_error *err);
