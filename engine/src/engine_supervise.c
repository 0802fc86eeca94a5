/* engine_supervise.c — restart policies (no, always, unless-stopped, on-failure[:N]) and their
 * exponential backoff. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "engine_container_internal.h"

/* Docker's restart manager: 100 ms, doubling, at most a minute; a run of
 * 10 s or more starts the backoff over. */
#define ENGINE_BACKOFF_FIRST_MS 100u
#define ENGINE_BACKOFF_MAX_MS 60000u
#define ENGINE_BACKOFF_RESET_MS 10000u

static const char *const engine_policy_names[] = {
    [ENGINE_RESTART_NO] = "no",
    [ENGINE_RESTART_ALWAYS] = "always",
    [ENGINE_RESTART_UNLESS_STOPPED] = "unless-stopped",
    [ENGINE_RESTART_ON_FAILURE] = "on-failure",
};

const char *engine_restart_policy_name(enum engine_restart_policy policy)
{
    return engine_policy_names[policy];
}

int engine_restart_policy_parse(const json_t *policy, enum engine_restart_policy *name,
                                unsigned *maximum, struct keel_error *err)
{
    *name = ENGINE_RESTART_NO;
    *maximum = 0;
    if (policy == NULL || json_is_null(policy))
        return 0;
    if (!json_is_object(policy))
        return keel_error_invalid(err, "HostConfig.RestartPolicy: not an object");
    json_t *name_value = json_object_get(policy, "Name");
    json_t *count_value = json_object_get(policy, "MaximumRetryCount");
    const char *text = json_string_value(name_value);
    if (name_value != NULL && !json_is_null(name_value) && text == NULL)
        return keel_error_invalid(err, "HostConfig.RestartPolicy.Name: not a string");
    if (count_value != NULL && !json_is_null(count_value) &&
        (!json_is_integer(count_value) || json_integer_value(count_value) < 0 ||
         json_integer_value(count_value) > 1000000))
        return keel_error_invalid(err, "HostConfig.RestartPolicy.MaximumRetryCount: not a count");
    bool found = text == NULL || *text == '\0';
    for (size_t i = 0; !found && i < sizeof engine_policy_names / sizeof engine_policy_names[0];
         i++) {
        if (strcmp(text, engine_policy_names[i]) == 0) {
            *name = (enum engine_restart_policy)i;
            found = true;
        }
    }
    if (!found)
        return keel_error_invalid(
            err, "HostConfig.RestartPolicy.Name: invalid restart policy \"%s\"", text);
    json_int_t count = json_integer_value(count_value);
    if (count > 0 && *name != ENGINE_RESTART_ON_FAILURE)
        return keel_error_invalid(
            err,
            "HostConfig.RestartPolicy: maximum retry count cannot be used with restart "
            "policy \"%s\"",
            engine_policy_names[*name]);
    *maximum = (unsigned)count;
    return 0;
}

uint64_t engine_supervise_next_delay(uint64_t previous_ms, uint64_t ran_ms)
{
    if (ran_ms >= ENGINE_BACKOFF_RESET_MS || previous_ms == 0)
        return ENGINE_BACKOFF_FIRST_MS;
    return previous_ms >= ENGINE_BACKOFF_MAX_MS / 2 ? ENGINE_BACKOFF_MAX_MS : previous_ms * 2;
}

static bool engine_supervise_policy_restarts(const struct engine_container *container)
{
    switch (container->restart_policy) {
    case ENGINE_RESTART_ALWAYS:
    case ENGINE_RESTART_UNLESS_STOPPED:
        return true;
    case ENGINE_RESTART_ON_FAILURE:
        return container->exit_code != 0 &&
               (container->maximum_retry_count == 0 ||
                container->restart_count < container->maximum_retry_count);
    case ENGINE_RESTART_NO:
        break;
    }
    return false;
}

static int engine_supervise_on_timer(struct loop *loop, struct loop_timer *timer, void *user,
                                     struct keel_error *err)
{
    struct engine_container *container = user;
    (void)loop;
    (void)timer;
    if (container->status != ENGINE_CONTAINER_RESTARTING)
        return 0;
    if (engine_container_run(container, false, err) == 0)
        return 0;
    /* A restart that fails counts as a run that failed at once (Docker's
     * 127 for a missing command, 126 for one that cannot run, else 128):
     * the policy decides again, and the backoff keeps growing. */
    keel_error_prefix(err, "restart container %s", container->name);
    container->status = ENGINE_CONTAINER_EXITED;
    container->exit_code = err->errno_value == ENOENT   ? 127
                           : err->errno_value == EACCES ? 126
                                                        : 128;
    clock_gettime(CLOCK_REALTIME, &container->finished_at);
    engine_supervise_exited(container);
    engine_record_save(container);
    return -1;
}

static uint64_t engine_elapsed_ms(const struct timespec *from, const struct timespec *to)
{
    int64_t ms =
        (int64_t)(to->tv_sec - from->tv_sec) * 1000 + (to->tv_nsec - from->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint64_t)ms;
}

bool engine_supervise_exited(struct engine_container *container)
{
    struct engine *engine = container->engine;
    struct keel_error err;
    if (engine->shutting_down || container->removed || container->stopped_by_user ||
        !engine_supervise_policy_restarts(container))
        return false;
    if (container->restart_timer == NULL &&
        loop_timer_new(engine->loop, engine_supervise_on_timer, container,
                       &container->restart_timer, &err) < 0) {
        engine_report_error(engine, &err);
        return false;
    }
    uint64_t ran_ms = engine_elapsed_ms(&container->started_at, &container->finished_at);
    container->restart_delay_ms = engine_supervise_next_delay(container->restart_delay_ms, ran_ms);
    if (loop_timer_arm(container->restart_timer, container->restart_delay_ms, 0, &err) < 0) {
        engine_report_error(engine, &err);
        return false;
    }
    container->restart_count++;
    container->status = ENGINE_CONTAINER_RESTARTING;
    return true;
}

void engine_supervise_cancel(struct engine_container *container)
{
    if (container->restart_timer != NULL)
        loop_timer_disarm(container->restart_timer);
    if (container->status == ENGINE_CONTAINER_RESTARTING)
        container->status = ENGINE_CONTAINER_EXITED;
}

bool engine_supervise_wants_start(const struct engine_container *container, bool was_running)
{
    bool started_before = container->started_at.tv_sec != 0 || container->started_at.tv_nsec != 0;
    if (!started_before)
        return false;
    switch (container->restart_policy) {
    case ENGINE_RESTART_ALWAYS:
        /* Docker: a container stopped by hand comes back when the daemon does. */
        return true;
    case ENGINE_RESTART_UNLESS_STOPPED:
        return !container->stopped_by_user;
    case ENGINE_RESTART_ON_FAILURE:
        /* Only one still under supervision when the daemon went away. */
        return was_running && !container->stopped_by_user &&
               engine_supervise_policy_restarts(container);
    case ENGINE_RESTART_NO:
        break;
    }
    return false;
}
