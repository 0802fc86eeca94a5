/* reap.c — collects every exited child (orphans included) without blocking. */
#include "reap.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

unsigned reap_children(reap_callback callback, void *user)
{
    unsigned reaped = 0;

    /* SIGCHLD coalesces: one signal may stand for many exits, so loop until
     * waitid reports no more (si_pid 0) or no children at all (ECHILD). */
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (info.si_pid == 0)
            break;
        reaped++;
        if (callback != NULL)
            callback(info.si_pid, info.si_code, info.si_status, user);
    }
    return reaped;
}
