/* engine_container_list.c — Docker's container list (GET /containers/json) with its filters and
 * status words, and inspect. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_container_internal.h"

/* Docker's units.HumanDuration. */
static void engine_human_duration(int64_t seconds_total, char *text, size_t size)
{
    int64_t minutes = seconds_total / 60;
    int64_t hours = (seconds_total + 1800) / 3600; /* Go rounds hours: d.Hours() + 0.5 */
    if (seconds_total < 1)
        snprintf(text, size, "Less than a second");
    else if (seconds_total == 1)
        snprintf(text, size, "1 second");
    else if (seconds_total < 60)
        snprintf(text, size, "%lld seconds", (long long)seconds_total);
    else if (minutes == 1)
        snprintf(text, size, "About a minute");
    else if (minutes < 60)
        snprintf(text, size, "%lld minutes", (long long)minutes);
    else if (hours == 1)
        snprintf(text, size, "About an hour");
    else if (hours < 48)
        snprintf(text, size, "%lld hours", (long long)hours);
    else if (hours < 24 * 7 * 2)
        snprintf(text, size, "%lld days", (long long)(hours / 24));
    else if (hours < 24 * 30 * 2)
        snprintf(text, size, "%lld weeks", (long long)(hours / 24 / 7));
    else if (hours < 24 * 365 * 2)
        snprintf(text, size, "%lld months", (long long)(hours / 24 / 30));
    else
        snprintf(text, size, "%lld years", (long long)(seconds_total / 3600 / 24 / 365));
}

static int64_t engine_seconds_since(const struct timespec *then, const struct timespec *now)
{
    int64_t seconds =
        (int64_t)(now->tv_sec - then->tv_sec) - (now->tv_nsec < then->tv_nsec ? 1 : 0);
    return seconds < 0 ? 0 : seconds;
}

/* Docker's State.String(): "Up 5 seconds", "Exited (0) 3 seconds ago",
 * "Restarting (1) 1 second ago", "Created". */
static void engine_container_status_text(const struct engine_container *container,
                                         const struct timespec *now, char *text, size_t size)
{
    char duration[64];
    switch (container->status) {
    case ENGINE_CONTAINER_RUNNING:
        engine_human_duration(engine_seconds_since(&container->started_at, now), duration,
                              sizeof duration);
        snprintf(text, size, "Up %s", duration);
        return;
    case ENGINE_CONTAINER_RESTARTING:
        engine_human_duration(engine_seconds_since(&container->finished_at, now), duration,
                              sizeof duration);
        snprintf(text, size, "Restarting (%d) %s ago", container->exit_code, duration);
        return;
    case ENGINE_CONTAINER_CREATED:
        snprintf(text, size, "Created");
        return;
    case ENGINE_CONTAINER_EXITED:
        if (container->finished_at.tv_sec == 0) {
            /* Never ran (its start failed): Docker says nothing more. */
            snprintf(text, size, "%s", container->started_at.tv_sec == 0 ? "Created" : "");
            return;
        }
        engine_human_duration(engine_seconds_since(&container->finished_at, now), duration,
                              sizeof duration);
        snprintf(text, size, "Exited (%d) %s ago", container->exit_code, duration);
        return;
    }
}

/* Docker's Command: Path and Args, an argument with a space quoted. */
static char *engine_container_command(const struct engine_container *container)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    if (stream == NULL)
        return NULL;
    fputs(container->path, stream);
    size_t index;
    json_t *argument;
    json_array_foreach(container->args, index, argument)
    {
        const char *value = json_string_value(argument);
        fprintf(stream, strchr(value ? value : "", ' ') ? " '%s'" : " %s", value ? value : "");
    }
    if (fclose(stream) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static json_t *engine_container_summary(const struct engine_container *container,
                                        const struct timespec *now)
{
    char status[128], name[300];
    engine_container_status_text(container, now, status, sizeof status);
    snprintf(name, sizeof name, "/%s", container->name);
    char *command = engine_container_command(container);
    json_t *labels = json_object_get(container->config, "Labels");
    json_t *summary = json_pack(
        "{s:s, s:[s], s:s, s:s, s:s?, s:I, s:[], s:o, s:s, s:s, s:{s:O?}, s:{s:o}, s:o}", "Id",
        container->id, "Names", name, "Image", container->image_name, "ImageID",
        container->image_id, "Command", command, "Created", (json_int_t)container->created.tv_sec,
        "Ports", "Labels", json_is_object(labels) ? json_copy(labels) : json_object(), "State",
        engine_container_status_name(container->status), "Status", status, "HostConfig",
        "NetworkMode", json_object_get(container->host_config, "NetworkMode"), "NetworkSettings",
        "Networks", engine_record_networks(container), "Mounts", engine_record_mounts(container));
    free(command);
    return summary;
}

/* ---- filters ---- */

/* Docker sends {"key": ["v1", "v2"]}, older clients {"key": {"v1": true}}. */
static json_t *engine_filter_values(json_t *value)
{
    json_t *values = json_array();
    if (json_is_array(value))
        json_array_extend(values, value);
    else if (json_is_object(value)) {
        const char *key;
        json_t *flag;
        json_object_foreach(value, key, flag)
        {
            if (json_is_true(flag))
                json_array_append_new(values, json_string(key));
        }
    }
    return values;
}

/* Docker matches name and id filters as regular expressions. */
static bool engine_filter_regex(const char *pattern, const char *text)
{
    regex_t regex;
    if (regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return strstr(text, pattern) != NULL;
    bool matched = regexec(&regex, text, 0, NULL, 0) == 0;
    regfree(&regex);
    return matched;
}

static bool engine_filter_label(const struct engine_container *container, const char *filter)
{
    json_t *labels = json_object_get(container->config, "Labels");
    const char *equals = strchr(filter, '=');
    if (equals == NULL)
        return json_object_get(labels, filter) != NULL;
    char key[1024];
    snprintf(key, sizeof key, "%.*s", (int)(equals - filter), filter);
    const char *value = json_string_value(json_object_get(labels, key));
    return value != NULL && strcmp(value, equals + 1) == 0;
}

static bool engine_filter_one(const struct engine_container *container, const char *key,
                              const char *value)
{
    char name[300];
    if (strcmp(key, "name") == 0) {
        snprintf(name, sizeof name, "/%s", container->name);
        return engine_filter_regex(value, name);
    }
    if (strcmp(key, "id") == 0)
        return engine_filter_regex(value, container->id);
    if (strcmp(key, "status") == 0)
        return strcmp(value, engine_container_status_name(container->status)) == 0;
    if (strcmp(key, "label") == 0)
        return engine_filter_label(container, value);
    if (strcmp(key, "exited") == 0)
        return container->status == ENGINE_CONTAINER_EXITED && atoi(value) == container->exit_code;
    return false;
}

static int engine_filters_check(const json_t *filters, bool *all, struct keel_error *err)
{
    static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                           "paused",  "exited",     "dead"};
    const char *key;
    json_t *value;
    if (filters == NULL || json_is_null(filters))
        return 0;
    if (!json_is_object(filters))
        return keel_error_invalid(err, "filters: not a JSON object");
    json_object_foreach((json_t *)filters, key, value)
    {
        if (strcmp(key, "name") != 0 && strcmp(key, "id") != 0 && strcmp(key, "status") != 0 &&
            strcmp(key, "label") != 0 && strcmp(key, "exited") != 0)
            return keel_error_invalid(err, "invalid filter '%s'", key);
        if (strcmp(key, "status") != 0)
            continue;
        json_t *values = engine_filter_values(value);
        size_t index;
        json_t *status;
        json_array_foreach(values, index, status)
        {
            bool known = false;
            for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
                known = known || strcmp(json_string_value(status) ? json_string_value(status) : "",
                                        statuses[i]) == 0;
            if (!known) {
                int result = keel_error_invalid(err, "invalid filter 'status=%s'",
                                                json_string_value(status));
                json_decref(values);
                return result;
            }
        }
        json_decref(values);
        /* A status filter shows stopped ones without -a, as Docker. */
        *all = true;
    }
    return 0;
}

/* Values of one key: any may match (labels: all must). */
static bool engine_filters_match(const struct engine_container *container, const json_t *filters)
{
    const char *key;
    json_t *value;
    if (!json_is_object(filters))
        return true;
    json_object_foreach((json_t *)filters, key, value)
    {
        json_t *values = engine_filter_values(value);
        bool every = strcmp(key, "label") == 0;
        bool matched = every || json_array_size(values) == 0;
        size_t index;
        json_t *item;
        json_array_foreach(values, index, item)
        {
            bool one =
                json_is_string(item) && engine_filter_one(container, key, json_string_value(item));
            matched = every ? matched && one : matched || one;
        }
        json_decref(values);
        if (!matched)
            return false;
    }
    return true;
}

static int engine_summary_compare(const void *a, const void *b)
{
    json_int_t first = json_integer_value(json_object_get(*(json_t *const *)a, "Created"));
    json_int_t second = json_integer_value(json_object_get(*(json_t *const *)b, "Created"));
    return first < second ? 1 : first > second ? -1 : 0;
}

int engine_container_list_json(struct engine *engine, bool all, const json_t *filters, char **json,
                               struct keel_error *err)
{
    struct timespec now;
    if (engine_filters_check(filters, &all, err) < 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t count = 0;
    for (struct engine_container *container = engine->containers; container;
         container = container->next)
        count++;
    json_t **summaries = calloc(count ? count : 1, sizeof *summaries);
    if (summaries == NULL)
        return keel_error_set(err, ENOMEM, "list containers");
    size_t used = 0;
    for (struct engine_container *container = engine->containers; container;
         container = container->next) {
        if (!all && container->status != ENGINE_CONTAINER_RUNNING &&
            container->status != ENGINE_CONTAINER_RESTARTING)
            continue;
        if (!engine_filters_match(container, filters))
            continue;
        summaries[used] = engine_container_summary(container, &now);
        if (summaries[used] != NULL)
            used++;
    }
    /* Newest first, as Docker lists. */
    qsort(summaries, used, sizeof *summaries, engine_summary_compare);
    json_t *list = json_array();
    for (size_t i = 0; i < used; i++)
        json_array_append_new(list, summaries[i]);
    free(summaries);
    *json = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (*json == NULL)
        return keel_error_set(err, ENOMEM, "list containers");
    return 0;
}

int engine_container_inspect_json(struct engine *engine, const char *reference, char **json,
                                  struct keel_error *err)
{
    struct engine_container *container = engine_container_find(engine, reference, err);
    if (container == NULL)
        return -1;
    json_t *inspect = engine_record_inspect(container);
    *json = inspect ? json_dumps(inspect, JSON_COMPACT) : NULL;
    json_decref(inspect);
    if (*json == NULL)
        return keel_error_set(err, ENOMEM, "inspect container %s", container->name);
    return 0;
}
