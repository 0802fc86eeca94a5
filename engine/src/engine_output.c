/* engine_output.c — a container's output and input: pumps into its json-file log and live
 * subscribers; its stdin. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine_container_internal.h"

/* ---- subscribers ---- */

static void engine_output_sweep(struct engine_container *container)
{
    for (struct engine_subscription **link = &container->subscriptions; *link;) {
        struct engine_subscription *subscription = *link;
        if (!subscription->cancelled) {
            link = &subscription->next;
            continue;
        }
        *link = subscription->next;
        free(subscription);
    }
}

static void engine_output_deliver(struct engine_container *container,
                                  enum container_log_stream stream, const void *data, size_t length)
{
    container->delivering++;
    for (struct engine_subscription *subscription = container->subscriptions; subscription;
         subscription = subscription->next)
        if (!subscription->cancelled && !subscription->end_pending)
            subscription->callback(stream, data, length, subscription->user);
    container->delivering--;
    if (container->delivering == 0)
        engine_output_sweep(container);
}

/* The end, to the subscribers marked for it; each is over after it. */
void engine_output_deliver_pending_ends(struct engine_container *container)
{
    container->delivering++;
    for (struct engine_subscription *subscription = container->subscriptions; subscription;
         subscription = subscription->next) {
        if (subscription->cancelled || !subscription->end_pending)
            continue;
        /* Marked first: cancelling from inside the callback is harmless. */
        subscription->cancelled = true;
        subscription->callback(0, NULL, 0, subscription->user);
    }
    container->delivering--;
    if (container->delivering == 0)
        engine_output_sweep(container);
}

void engine_output_end_later(struct engine_container *container)
{
    for (struct engine_subscription *subscription = container->subscriptions; subscription;
         subscription = subscription->next)
        subscription->end_pending = true;
    engine_container_notify(container);
}

void engine_output_free_subscriptions(struct engine_container *container)
{
    while (container->subscriptions != NULL) {
        struct engine_subscription *next = container->subscriptions->next;
        free(container->subscriptions);
        container->subscriptions = next;
    }
}

int engine_container_subscribe(struct engine *engine, const char *reference,
                               engine_output_fn *callback, void *user,
                               struct engine_subscription **out, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    struct engine_subscription *subscription = calloc(1, sizeof *subscription);
    if (subscription == NULL)
        return keel_error_set(err, ENOMEM, "subscribe to container %s", container->name);
    *subscription = (struct engine_subscription){.container = container,
                                                 .callback = callback,
                                                 .user = user,
                                                 .next = container->subscriptions};
    container->subscriptions = subscription;
    /* A created container's output is yet to come (docker run attaches
     * before it starts): that subscription waits for the run. */
    if (container->status != ENGINE_CONTAINER_RUNNING &&
        container->status != ENGINE_CONTAINER_CREATED) {
        subscription->end_pending = true;
        engine_container_notify(container);
    }
    *out = subscription;
    return 0;
}

void engine_subscription_cancel(struct engine_subscription *subscription)
{
    if (subscription == NULL)
        return;
    struct engine_container *container = subscription->container;
    if (container->delivering > 0) {
        subscription->cancelled = true;
        return;
    }
    for (struct engine_subscription **link = &container->subscriptions; *link;
         link = &(*link)->next) {
        if (*link == subscription) {
            *link = subscription->next;
            break;
        }
    }
    free(subscription);
}

/* ---- pumps into the log ---- */

static void engine_output_on_chunk(struct engine_container *container,
                                   enum container_log_stream stream, const void *data,
                                   size_t length)
{
    struct timespec now;
    struct keel_error err;
    if (container->log != NULL) {
        clock_gettime(CLOCK_REALTIME, &now);
        /* A full disk drops output, never stops the pump: reported once
         * per run, so the error handler is not flooded. */
        if (container_log_write(container->log, stream, data, length, &now, &err) < 0 &&
            !container->log_error_reported) {
            container->log_error_reported = true;
            keel_error_prefix(&err, "log of container %s (output dropped)", container->name);
            engine_report_error(container->engine, &err);
        }
    }
    engine_output_deliver(container, stream, data, length);
}

static void engine_output_on_stdout(enum container_log_stream stream, const void *data,
                                    size_t length, void *user)
{
    struct engine_container *container = user;
    if (length > 0)
        engine_output_on_chunk(container, stream, data, length);
    /* At the end the pump stays allocated until the exit frees it. */
}

int engine_output_start(struct engine_container *container, int stdout_fd, int stderr_fd,
                        struct keel_error *err)
{
    int fds[2] = {stdout_fd, stderr_fd};
    const enum container_log_stream streams[2] = {CONTAINER_LOG_STDOUT, CONTAINER_LOG_STDERR};
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        int fd = fds[i];
        fds[i] = -1;
        if (engine_pump_new(container->engine, fd, streams[i], engine_output_on_stdout, container,
                            &container->pumps[i], err) < 0) {
            for (int j = i + 1; j < 2; j++)
                if (fds[j] >= 0)
                    close(fds[j]);
            for (int j = 0; j < i; j++) {
                engine_pump_free(container->pumps[j]);
                container->pumps[j] = NULL;
            }
            return -1;
        }
    }
    return 0;
}

void engine_output_finish(struct engine_container *container)
{
    struct timespec now;
    struct keel_error err;
    /* What the process wrote before it died is still in the pipes. */
    for (int i = 0; i < 2; i++) {
        if (container->pumps[i] == NULL)
            continue;
        engine_pump_drain(container->pumps[i]);
        engine_pump_free(container->pumps[i]);
        container->pumps[i] = NULL;
    }
    if (container->log != NULL) {
        clock_gettime(CLOCK_REALTIME, &now);
        if (container_log_flush(container->log, &now, &err) < 0 && !container->log_error_reported) {
            keel_error_prefix(&err, "log of container %s", container->name);
            engine_report_error(container->engine, &err);
        }
        container_log_close(container->log);
        container->log = NULL;
    }
    /* The end from the loop's next turn: a subscriber may act on it (remove
     * the container...) once the exit is fully recorded. */
    engine_output_end_later(container);
    if (container->stdin_fd >= 0)
        close(container->stdin_fd);
    container->stdin_fd = -1;
}

/* ---- stdin and the log's whereabouts ---- */

int engine_container_stdin(struct engine *engine, const char *reference, int *fd,
                           struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    *fd = -1;
    if (container == NULL)
        return -1;
    if (container->stdin_fd < 0)
        return engine_error_set(err, EBADF, "container %s has no open stdin", container->name);
    *fd = container->stdin_fd;
    return 0;
}

int engine_container_close_stdin(struct engine *engine, const char *reference,
                                 struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    if (container->stdin_fd >= 0)
        close(container->stdin_fd);
    container->stdin_fd = -1;
    return 0;
}

int engine_container_log(struct engine *engine, const char *reference, char **path,
                         unsigned *max_file, bool *tty, struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    *path = strdup(container->log_path);
    if (*path == NULL)
        return keel_error_set(err, ENOMEM, "log of container %s", container->name);
    *max_file = container->log_options.max_file;
    *tty = container->tty;
    return 0;
}
