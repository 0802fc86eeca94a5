/* loop.h — the engine's one event loop: epoll over fds, timerfd timers and signalfd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct loop;
struct loop_timer;

/* Called when fd is ready. A negative return (with err filled) is reported
 * through the loop's error handler; the loop carries on. */
typedef int (*loop_fd_callback)(struct loop *loop, int fd, uint32_t events, void *user,
                                struct keel_error *err);
typedef int (*loop_timer_callback)(struct loop *loop, struct loop_timer *timer, void *user,
                                   struct keel_error *err);
/* Where callback failures go: the boundary (e.g. PID 1) decides how to report. */
typedef void (*loop_error_handler)(const struct keel_error *err, void *user);

int loop_new(struct loop **out, struct keel_error *err);
void loop_free(struct loop *loop);
void loop_set_error_handler(struct loop *loop, loop_error_handler handler, void *user);

/* Watch fd for events (EPOLLIN, ...). The loop does not own fd. */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_callback callback, void *user,
                struct keel_error *err);
/* Stop watching fd. Safe from inside any callback, including fd's own. */
int loop_remove_fd(struct loop *loop, int fd, struct keel_error *err);

/* A timer is created disarmed and lives until loop_timer_free(). */
int loop_timer_new(struct loop *loop, loop_timer_callback callback, void *user,
                   struct loop_timer **out, struct keel_error *err);
/* Fire after delay_ms (0: on the next turn of the loop), then every
 * interval_ms (0: once). Re-arming replaces the previous schedule. */
int loop_timer_arm(struct loop_timer *timer, uint64_t delay_ms, uint64_t interval_ms,
                   struct keel_error *err);
void loop_timer_disarm(struct loop_timer *timer);
bool loop_timer_armed(const struct loop_timer *timer);
/* Safe from inside any callback, including the timer's own. */
void loop_timer_free(struct loop_timer *timer);

/* Block signals and deliver them through a signalfd: callback gets the
 * signalfd; read struct signalfd_siginfo from it until EAGAIN. */
int loop_add_signals(struct loop *loop, const int *signals, int count, loop_fd_callback callback,
                     void *user, struct keel_error *err);

/* Run one epoll_wait and dispatch what is ready. timeout_ms -1: wait. */
int loop_run_once(struct loop *loop, int timeout_ms, struct keel_error *err);
/* Dispatch until loop_stop(). Returns -1 only if epoll itself fails. */
int loop_run(struct loop *loop, struct keel_error *err);
void loop_stop(struct loop *loop);
