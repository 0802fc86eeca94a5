/* loop.c — the engine's one event loop: epoll over fds, timerfd timers and signalfd. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"

#define LOOP_MAX_EVENTS 32

/* One watched fd. Handlers are freed only between epoll_wait batches, so a
 * callback that removes another fd whose event is already in the current
 * batch does not leave a dangling pointer in the batch. */
struct loop_handler {
    int fd;
    loop_fd_callback callback;
    void *user;
    bool removed;
    struct loop_handler *next; /* all handlers, or the free-later list */
};

struct loop_timer {
    struct loop *loop;
    int fd;
    bool armed;
    bool periodic;
    loop_timer_callback callback;
    void *user;
};

struct loop {
    int epoll_fd;
    bool stopping;
    struct loop_handler *handlers;
    struct loop_handler *retired;
    loop_error_handler error_handler;
    void *error_user;
    int signal_fd;
};

int loop_new(struct loop **out, struct keel_error *err)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return keel_error_set(err, ENOMEM, "create event loop");
    loop->signal_fd = -1;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) {
        int saved = errno;
        free(loop);
        return keel_error_set(err, saved, "create event loop: epoll_create1");
    }
    *out = loop;
    return 0;
}

static void loop_free_retired(struct loop *loop)
{
    while (loop->retired != NULL) {
        struct loop_handler *next = loop->retired->next;
        free(loop->retired);
        loop->retired = next;
    }
}

void loop_free(struct loop *loop)
{
    if (loop == NULL)
        return;
    while (loop->handlers != NULL) {
        struct loop_handler *next = loop->handlers->next;
        free(loop->handlers);
        loop->handlers = next;
    }
    loop_free_retired(loop);
    if (loop->signal_fd >= 0)
        close(loop->signal_fd);
    close(loop->epoll_fd);
    free(loop);
}

void loop_set_error_handler(struct loop *loop, loop_error_handler handler, void *user)
{
    loop->error_handler = handler;
    loop->error_user = user;
}

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_callback callback, void *user,
                struct keel_error *err)
{
    struct loop_handler *handler = calloc(1, sizeof *handler);
    if (handler == NULL)
        return keel_error_set(err, ENOMEM, "watch fd %d", fd);
    handler->fd = fd;
    handler->callback = callback;
    handler->user = user;

    struct epoll_event event = {.events = events, .data.ptr = handler};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        int saved = errno;
        free(handler);
        return keel_error_set(err, saved, "watch fd %d: epoll_ctl", fd);
    }
    handler->next = loop->handlers;
    loop->handlers = handler;
    return 0;
}

int loop_remove_fd(struct loop *loop, int fd, struct keel_error *err)
{
    for (struct loop_handler **link = &loop->handlers; *link != NULL; link = &(*link)->next) {
        struct loop_handler *handler = *link;
        if (handler->fd != fd)
            continue;
        *link = handler->next;
        handler->removed = true;
        handler->next = loop->retired;
        loop->retired = handler;
        if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
            return keel_error_set(err, errno, "stop watching fd %d: epoll_ctl", fd);
        return 0;
    }
    return keel_error_set(err, ENOENT, "stop watching fd %d: not watched", fd);
}

static int loop_timer_on_ready(struct loop *loop, int fd, uint32_t events, void *user,
                               struct keel_error *err)
{
    struct loop_timer *timer = user;
    uint64_t expirations;
    (void)events;
    (void)loop;

    /* The timerfd is non-blocking: a timer re-armed or disarmed after its
     * expiry was queued reads EAGAIN, and then there is nothing to do. */
    if (read(fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations)
        return 0;
    if (!timer->periodic)
        timer->armed = false;
    return timer->callback(timer->loop, timer, timer->user, err);
}

int loop_timer_new(struct loop *loop, loop_timer_callback callback, void *user,
                   struct loop_timer **out, struct keel_error *err)
{
    struct loop_timer *timer = calloc(1, sizeof *timer);
    if (timer == NULL)
        return keel_error_set(err, ENOMEM, "create timer");
    timer->loop = loop;
    timer->callback = callback;
    timer->user = user;
    /* CLOCK_BOOTTIME keeps counting across suspend, like the log stamps. */
    timer->fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer->fd < 0) {
        int saved = errno;
        free(timer);
        return keel_error_set(err, saved, "create timer: timerfd_create");
    }
    if (loop_add_fd(loop, timer->fd, EPOLLIN, loop_timer_on_ready, timer, err) < 0) {
        close(timer->fd);
        free(timer);
        return keel_error_prefix(err, "create timer");
    }
    *out = timer;
    return 0;
}

static struct timespec loop_ms_to_timespec(uint64_t ms)
{
    struct timespec value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    return value;
}

int loop_timer_arm(struct loop_timer *timer, uint64_t delay_ms, uint64_t interval_ms,
                   struct keel_error *err)
{
    struct itimerspec spec = {
        .it_value = loop_ms_to_timespec(delay_ms),
        .it_interval = loop_ms_to_timespec(interval_ms),
    };
    /* An all-zero it_value would disarm the timer; 1 ns means "now". */
    if (delay_ms == 0)
        spec.it_value.tv_nsec = 1;
    if (timerfd_settime(timer->fd, 0, &spec, NULL) < 0)
        return keel_error_set(err, errno, "arm timer: timerfd_settime");
    timer->armed = true;
    timer->periodic = interval_ms != 0;
    return 0;
}

void loop_timer_disarm(struct loop_timer *timer)
{
    struct itimerspec off = {0};
    timerfd_settime(timer->fd, 0, &off, NULL);
    timer->armed = false;
}

bool loop_timer_armed(const struct loop_timer *timer)
{
    return timer->armed;
}

void loop_timer_free(struct loop_timer *timer)
{
    struct keel_error ignored;
    if (timer == NULL)
        return;
    loop_remove_fd(timer->loop, timer->fd, &ignored);
    close(timer->fd);
    /* The handler (retired until the batch ends) points at timer, but a
     * removed handler's callback is never called, so timer can go now. */
    free(timer);
}

int loop_add_signals(struct loop *loop, const int *signals, int count, loop_fd_callback callback,
                     void *user, struct keel_error *err)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++)
        sigaddset(&set, signals[i]);
    /* Blocked signals stay pending until the signalfd reads them: none is
     * lost between here and the first epoll_wait. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return keel_error_set(err, errno, "block signals");
    if (loop->signal_fd >= 0)
        return keel_error_set(err, EBUSY, "create signalfd: signals already watched");
    loop->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (loop->signal_fd < 0)
        return keel_error_set(err, errno, "create signalfd");
    if (loop_add_fd(loop, loop->signal_fd, EPOLLIN, callback, user, err) < 0)
        return keel_error_prefix(err, "watch signalfd");
    return 0;
}

int loop_run_once(struct loop *loop, int timeout_ms, struct keel_error *err)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    int ready = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS, timeout_ms);
    if (ready < 0) {
        if (errno == EINTR)
            return 0;
        return keel_error_set(err, errno, "event loop: epoll_wait");
    }
    for (int i = 0; i < ready; i++) {
        struct loop_handler *handler = events[i].data.ptr;
        struct keel_error callback_err;
        if (handler->removed)
            continue;
        keel_error_clear(&callback_err);
        if (handler->callback(loop, handler->fd, events[i].events, handler->user, &callback_err) <
                0 &&
            loop->error_handler != NULL)
            loop->error_handler(&callback_err, loop->error_user);
    }
    loop_free_retired(loop);
    return 0;
}

int loop_run(struct loop *loop, struct keel_error *err)
{
    loop->stopping = false;
    while (!loop->stopping) {
        if (loop_run_once(loop, -1, err) < 0)
            return -1;
    }
    return 0;
}

void loop_stop(struct loop *loop)
{
    loop->stopping = true;
}
