/* engine_container_control.c — stop (grace period, then SIGKILL), restart, kill, and wait on
 * containers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>

#include "engine_container_internal.h"

/* ---- the kill timer ---- */

static int engine_container_on_kill_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                          struct keel_error *err)
{
    struct engine_container *container = user;
    (void)loop;
    (void)timer;
    if (container->status != ENGINE_CONTAINER_RUNNING)
        return 0;
    if (container->awaiting_reaper) {
        engine_container_exit_unknown(container);
        return 0;
    }
    /* The grace period is over. */
    if (pidfd_send_signal(container->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return keel_error_set(err, errno, "kill container %s", container->name);
    engine_event_emit(container->engine, "container", "kill", container->id,
                      json_pack("{s:s, s:s, s:s}", "name", container->name, "image",
                                container->image_name, "signal", "9"));
    return 0;
}

int engine_container_arm_kill_timer(struct engine_container *container, uint64_t ms,
                                    struct keel_error *err)
{
    if (container->kill_timer == NULL &&
        loop_timer_new(container->engine->loop, engine_container_on_kill_timer, container,
                       &container->kill_timer, err) < 0)
        return -1;
    return loop_timer_arm(container->kill_timer, ms, 0, err);
}

/* ---- signals ---- */

static int engine_container_signal(struct engine_container *container, int signal_number,
                                   struct keel_error *err)
{
    char number[16];
    if (container->awaiting_reaper)
        return 0;
    if (pidfd_send_signal(container->pidfd, signal_number, NULL, 0) < 0 && errno != ESRCH)
        return keel_error_set(err, errno, "send signal %d to container %s", signal_number,
                              container->name);
    snprintf(number, sizeof number, "%d", signal_number);
    engine_event_emit(container->engine, "container", "kill", container->id,
                      json_pack("{s:s, s:s, s:s}", "name", container->name, "image",
                                container->image_name, "signal", number));
    return 0;
}

int engine_container_kill(struct engine *engine, const char *reference, const char *signal,
                          struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    int signal_number = signal == NULL || *signal == '\0' ? SIGKILL : engine_signal_parse(signal);
    if (signal_number < 0)
        return keel_error_invalid(err, "Invalid signal: %s", signal);
    if (container->status == ENGINE_CONTAINER_RESTARTING) {
        /* Between two runs: no process to signal, and no next run. */
        container->stopped_by_user = true;
        engine_supervise_cancel(container);
        engine_record_save(container);
        return 0;
    }
    if (container->status != ENGINE_CONTAINER_RUNNING)
        return engine_error_set(err, EBUSY, "Container %s is not running", container->id);
    /* As Docker: a container killed through the API is not restarted by
     * its policy. */
    container->stopped_by_user = true;
    engine_record_save(container);
    return engine_container_signal(container, signal_number, err);
}

/* ---- stop and restart ---- */

int engine_container_stop_internal(struct engine_container *container, int timeout_s, bool user,
                                   engine_done_fn *done, void *data, struct keel_error *err)
{
    struct engine_stop_request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return keel_error_set(err, ENOMEM, "stop container %s", container->name);
    *request =
        (struct engine_stop_request){.done = done, .data = data, .status = container->exit_code};
    if (user && container->status != ENGINE_CONTAINER_CREATED) {
        container->stopped_by_user = true;
        engine_supervise_cancel(container);
        engine_record_save(container);
    }
    if (container->status != ENGINE_CONTAINER_RUNNING) {
        /* Not running: done from the loop's next turn, as promised. */
        request->ready = true;
        request->next = container->stop_requests;
        container->stop_requests = request;
        engine_container_notify(container);
        return 0;
    }
    if (timeout_s < 0)
        timeout_s = container->stop_timeout;
    int signal_number = timeout_s == 0 ? SIGKILL : container->stop_signal;
    if (engine_container_signal(container, signal_number, err) < 0 ||
        (signal_number != SIGKILL &&
         engine_container_arm_kill_timer(container, (uint64_t)timeout_s * 1000, err) < 0)) {
        free(request);
        return keel_error_prefix(err, "stop container %s", container->name);
    }
    container->stop_requested = true;
    request->next = container->stop_requests;
    container->stop_requests = request;
    return 0;
}

int engine_container_stop(struct engine *engine, const char *reference, int timeout_s,
                          engine_done_fn *done, void *data, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    return engine_container_stop_internal(container, timeout_s, true, done, data, err);
}

struct engine_restart {
    struct engine *engine;
    char id[65];
    engine_done_fn *done;
    void *data;
};

/* The stop part of a restart is over: start again, then tell the caller. */
static void engine_container_restart_on_stopped(int status, const struct keel_error *stop_err,
                                                void *data)
{
    struct engine_restart *restart = data;
    struct keel_error err;
    (void)status;
    (void)stop_err;
    int result = -1;
    struct engine_container *container = engine_container_find(restart->engine, restart->id, &err);
    if (container != NULL) {
        result = engine_container_run(container, true, &err);
        if (result == 0)
            engine_event_emit(
                restart->engine, "container", "restart", container->id,
                json_pack("{s:s, s:s}", "name", container->name, "image", container->image_name));
    }
    if (restart->done != NULL)
        restart->done(result < 0 ? -1 : 0, result < 0 ? &err : NULL, restart->data);
    free(restart);
}

int engine_container_restart(struct engine *engine, const char *reference, int timeout_s,
                             engine_done_fn *done, void *data, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    struct engine_restart *restart = calloc(1, sizeof *restart);
    if (restart == NULL)
        return keel_error_set(err, ENOMEM, "restart container %s", container->name);
    *restart = (struct engine_restart){.engine = engine, .done = done, .data = data};
    snprintf(restart->id, sizeof restart->id, "%s", container->id);
    if (engine_container_stop_internal(container, timeout_s, true,
                                       engine_container_restart_on_stopped, restart, err) < 0) {
        free(restart);
        return -1;
    }
    return 0;
}

/* ---- wait ---- */

void engine_container_waits_complete(struct engine_container *container, bool exited, bool removed)
{
    for (struct engine_wait *wait = container->waits; wait; wait = wait->next) {
        if (wait->ready)
            continue;
        bool met = removed || (exited && wait->condition != ENGINE_WAIT_REMOVED);
        if (!met)
            continue;
        wait->ready = true;
        wait->status = container->exit_code;
    }
}

int engine_container_wait(struct engine *engine, const char *reference, const char *condition,
                          engine_done_fn *done, void *data, struct engine_wait **out,
                          struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    enum engine_wait_condition wanted;
    if (condition == NULL || *condition == '\0' || strcmp(condition, "not-running") == 0)
        wanted = ENGINE_WAIT_NOT_RUNNING;
    else if (strcmp(condition, "next-exit") == 0)
        wanted = ENGINE_WAIT_NEXT_EXIT;
    else if (strcmp(condition, "removed") == 0)
        wanted = ENGINE_WAIT_REMOVED;
    else
        return keel_error_invalid(err, "invalid condition: \"%s\"", condition);
    struct engine_wait *wait = calloc(1, sizeof *wait);
    if (wait == NULL)
        return keel_error_set(err, ENOMEM, "wait for container %s", container->name);
    *wait = (struct engine_wait){.container = container,
                                 .condition = wanted,
                                 .done = done,
                                 .data = data,
                                 .next = container->waits};
    container->waits = wait;
    if (wanted == ENGINE_WAIT_NOT_RUNNING && container->status != ENGINE_CONTAINER_RUNNING) {
        wait->ready = true;
        wait->status = container->exit_code;
        engine_container_notify(container);
    }
    if (out != NULL)
        *out = wait;
    return 0;
}

void engine_wait_cancel(struct engine_wait *wait)
{
    if (wait == NULL)
        return;
    for (struct engine_wait **link = &wait->container->waits; *link; link = &(*link)->next) {
        if (*link == wait) {
            *link = wait->next;
            break;
        }
    }
    free(wait);
}
