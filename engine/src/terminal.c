/* terminal.c — a container's pty: made inside the container, master sent out over the console
 * socket. */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

int terminal_send_fd(int socket, int fd, const char *name, struct keel_error *err)
{
    char control[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec data = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr message = {
        .msg_iov = &data,
        .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = sizeof control,
    };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    while (sendmsg(socket, &message, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            return keel_error_set(err, errno, "send %s over the console socket", name);
    return 0;
}

int terminal_setup(int console_socket, unsigned height, unsigned width, struct keel_error *err)
{
    /* The container's own devpts instance: the pty belongs to it, so the
     * container sees the slave under its /dev/pts. */
    _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return keel_error_set(err, errno, "open /dev/ptmx");
    if (unlockpt(master) < 0)
        return keel_error_set(err, errno, "unlock pty");
    char name[64];
    if (ptsname_r(master, name, sizeof name) != 0)
        return keel_error_set(err, errno, "pty name");
    _cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return keel_error_set(err, errno, "open %s", name);
    if (height > 0 && width > 0) {
        struct winsize size = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
        if (ioctl(slave, TIOCSWINSZ, &size) < 0)
            return keel_error_set(err, errno, "set the size of %s", name);
    }
    if (terminal_send_fd(console_socket, master, name, err) < 0)
        return -1;
    if (setsid() < 0)
        return keel_error_set(err, errno, "new session");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return keel_error_set(err, errno, "make %s the controlling terminal", name);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            return keel_error_set(err, errno, "%s as fd %d", name, fd);
    return 0;
}
