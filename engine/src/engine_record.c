/* engine_record.c — a container's record (container.json): Docker's inspect object plus Keel's own
 * fields, written atomically and read back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "engine_container_internal.h"
#include "file.h"

#define ENGINE_RECORD_FILE "container.json"
#define ENGINE_RECORD_MAXIMUM (4u << 20)
#define ENGINE_ZERO_TIME "0001-01-01T00:00:00Z"

static const char *const engine_status_names[] = {
    [ENGINE_CONTAINER_CREATED] = "created",
    [ENGINE_CONTAINER_RUNNING] = "running",
    [ENGINE_CONTAINER_RESTARTING] = "restarting",
    [ENGINE_CONTAINER_EXITED] = "exited",
};

const char *engine_container_status_name(enum engine_container_status status)
{
    return engine_status_names[status];
}

void engine_time_format(const struct timespec *time, char *buffer, size_t size)
{
    struct tm utc;
    if (time->tv_sec == 0 && time->tv_nsec == 0) {
        snprintf(buffer, size, ENGINE_ZERO_TIME);
        return;
    }
    gmtime_r(&time->tv_sec, &utc);
    size_t used = strftime(buffer, size, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(buffer + used, size - used, ".%09ldZ", time->tv_nsec);
}

int engine_time_parse(const char *text, struct timespec *time)
{
    struct tm utc = {0};
    int consumed = 0;
    *time = (struct timespec){0};
    if (strcmp(text, ENGINE_ZERO_TIME) == 0)
        return 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
               &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6)
        return -1;
    utc.tm_year -= 1900;
    utc.tm_mon -= 1;
    const char *rest = text + consumed;
    long nanoseconds = 0;
    if (*rest == '.') {
        long scale = 100000000;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            nanoseconds += (*rest - '0') * scale;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    time->tv_sec = timegm(&utc);
    time->tv_nsec = nanoseconds;
    return 0;
}

static json_t *engine_time_json(const struct timespec *time)
{
    char text[64];
    engine_time_format(time, text, sizeof text);
    return json_string(text);
}

static json_t *engine_record_state(const struct engine_container *container)
{
    bool running = container->status == ENGINE_CONTAINER_RUNNING;
    /* Docker counts a container between two policy runs as running. */
    bool restarting = container->status == ENGINE_CONTAINER_RESTARTING;
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:o, s:o}", "Status",
                     engine_container_status_name(container->status), "Running",
                     running || restarting, "Paused", 0, "Restarting", restarting, "OOMKilled",
                     container->oom_killed, "Dead", 0, "Pid", running ? (int)container->pid : 0,
                     "ExitCode", container->exit_code, "Error",
                     container->error ? container->error : "", "StartedAt",
                     engine_time_json(&container->started_at), "FinishedAt",
                     engine_time_json(&container->finished_at));
}

/* Docker's Mounts for HostConfig.Binds "SRC:DST[:OPTIONS]". */
json_t *engine_record_mounts(const struct engine_container *container)
{
    json_t *mounts = json_array();
    json_t *binds = json_object_get(container->host_config, "Binds");
    size_t index;
    json_t *bind;
    json_array_foreach(binds, index, bind)
    {
        const char *text = json_string_value(bind);
        if (text == NULL)
            continue;
        _cleanup_free_ char *copy = strdup(text);
        if (copy == NULL)
            break;
        char *source = copy, *destination = strchr(copy, ':');
        if (destination == NULL)
            continue;
        *destination++ = '\0';
        char *options = strchr(destination, ':');
        if (options != NULL)
            *options++ = '\0';
        bool read_only =
            options != NULL && (strcmp(options, "ro") == 0 || strstr(options, "ro,") == options ||
                                strstr(options, ",ro") != NULL);
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind",
                                                "Source", source, "Destination", destination,
                                                "Mode", options ? options : "", "RW", !read_only,
                                                "Propagation", "rprivate"));
    }
    return mounts;
}

static json_t *engine_record_endpoint(void)
{
    return json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
                     "IPAMConfig", "Links", "Aliases", "NetworkID", "", "EndpointID", "", "Gateway",
                     "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address",
                     "", "GlobalIPv6PrefixLen", 0, "MacAddress", "", "DriverOpts");
}

/* NetworkSettings.Networks: "host" or "none" name the network the
 * container is on; the default has none yet (bridge networking comes later). */
json_t *engine_record_networks(const struct engine_container *container)
{
    json_t *networks = json_object();
    const char *mode = json_string_value(json_object_get(container->host_config, "NetworkMode"));
    if (mode != NULL && (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0))
        json_object_set_new(networks, mode, engine_record_endpoint());
    return networks;
}

static json_t *engine_record_network_settings(const struct engine_container *container)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, "
                     "s:s, s:s, s:o}",
                     "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                     "LinkLocalIPv6PrefixLen", 0, "Ports", json_object(), "SandboxKey", "",
                     "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "", "Gateway",
                     "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "",
                     "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "", "Networks",
                     engine_record_networks(container));
}

static char *engine_record_file(const struct engine_container *container, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", container->state_dir, name) < 0)
        return NULL;
    return path;
}

static json_t *engine_record_graph_driver(const struct engine_container *container)
{
    char upper[4096], work[4096];
    size_t length = strlen(container->rootfs);
    /* rootfs is ROOT/containers/ID/rootfs: upper and work sit beside it. */
    snprintf(upper, sizeof upper, "%.*supper", (int)(length - strlen("rootfs")), container->rootfs);
    snprintf(work, sizeof work, "%.*swork", (int)(length - strlen("rootfs")), container->rootfs);
    return json_pack("{s:{s:s, s:s, s:s}, s:s}", "Data", "MergedDir", container->rootfs, "UpperDir",
                     upper, "WorkDir", work, "Name", "overlay2");
}

json_t *engine_record_inspect(const struct engine_container *container)
{
    char created[64], name[300];
    engine_time_format(&container->created, created, sizeof created);
    snprintf(name, sizeof name, "/%s", container->name);
    _cleanup_free_ char *resolv = engine_record_file(container, "resolv.conf");
    _cleanup_free_ char *hostname = engine_record_file(container, "hostname");
    _cleanup_free_ char *hosts = engine_record_file(container, "hosts");
    if (resolv == NULL || hostname == NULL || hosts == NULL)
        return NULL;
    return json_pack(
        "{s:s, s:s, s:s, s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s,"
        " s:n, s:O, s:o, s:o, s:O, s:o}",
        "Id", container->id, "Created", created, "Path", container->path, "Args", container->args,
        "State", engine_record_state(container), "Image", container->image_id, "ResolvConfPath",
        resolv, "HostnamePath", hostname, "HostsPath", hosts, "LogPath", container->log_path,
        "Name", name, "RestartCount", (int)container->restart_count, "Driver", "overlay2",
        "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs",
        "HostConfig", container->host_config, "GraphDriver", engine_record_graph_driver(container),
        "Mounts", engine_record_mounts(container), "Config", container->config, "NetworkSettings",
        engine_record_network_settings(container));
}

int engine_record_write(const struct engine_container *container, struct keel_error *err)
{
    json_t *record = engine_record_inspect(container);
    if (record == NULL)
        return keel_error_set(err, ENOMEM, "record of container %s", container->name);
    json_object_set_new(record, "Keel",
                        json_pack("{s:b, s:s?, s:I}", "StoppedByUser", container->stopped_by_user,
                                  "CgroupPath", container->cgroup_path, "RestartDelayMs",
                                  (json_int_t)container->restart_delay_ms));
    _cleanup_free_ char *text = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    _cleanup_free_ char *path = engine_record_file(container, ENGINE_RECORD_FILE);
    if (text == NULL || path == NULL)
        return keel_error_set(err, ENOMEM, "record of container %s", container->name);
    if (file_write_atomic(path, text, strlen(text), 0600, 0, err) < 0)
        return keel_error_prefix(err, "record of container %s", container->name);
    return 0;
}

/* How long a change waits for the next ones before its record is written. */
#define ENGINE_RECORD_DELAY_MS 100

void engine_record_save(struct engine_container *container)
{
    struct engine_core *core = engine_core_of(container->engine);
    struct keel_error err;
    if (container->removed)
        return;
    /* Written a little later: the changes close together (a start and a
     * quick exit, which --rm then removes) make one write or none, and the
     * caller (the API answering a start) does not wait for the fsyncs. A
     * daemon that dies meanwhile leaves an older state, which engine_new
     * recovers from (it kills the cgroup of every container). */
    container->record_dirty = true;
    if (!loop_timer_armed(core->record_timer) &&
        loop_timer_arm(core->record_timer, ENGINE_RECORD_DELAY_MS, 0, &err) < 0)
        engine_report_error(container->engine, &err);
}

int engine_record_on_timer(struct loop *loop, struct loop_timer *timer, void *user,
                           struct keel_error *err)
{
    struct engine_core *core = user;
    (void)loop;
    (void)timer;
    (void)err;
    for (struct engine_container *container = core->engine.containers; container;
         container = container->next)
        engine_record_flush(container);
    return 0;
}

void engine_record_flush(struct engine_container *container)
{
    struct keel_error err;
    if (!container->record_dirty || container->removed)
        return;
    container->record_dirty = false;
    if (engine_record_write(container, &err) < 0)
        engine_report_error(container->engine, &err);
}

/* ---- reading ---- */

static int engine_record_string(json_t *object, const char *key, bool required, char **value,
                                const char *path, struct keel_error *err)
{
    json_t *field = json_object_get(object, key);
    if (field == NULL || json_is_null(field)) {
        *value = NULL;
        return required ? keel_error_invalid(err, "%s: %s: missing", path, key) : 0;
    }
    if (!json_is_string(field))
        return keel_error_invalid(err, "%s: %s: not a string", path, key);
    *value = strdup(json_string_value(field));
    if (*value == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    return 0;
}

static int engine_record_time(json_t *object, const char *key, struct timespec *time,
                              const char *path, struct keel_error *err)
{
    const char *text = json_string_value(json_object_get(object, key));
    if (text == NULL || engine_time_parse(text, time) < 0)
        return keel_error_invalid(err, "%s: %s: not a time", path, key);
    return 0;
}

static enum engine_container_status engine_record_status(const char *name)
{
    for (size_t i = 0; i < sizeof engine_status_names / sizeof engine_status_names[0]; i++)
        if (name != NULL && strcmp(name, engine_status_names[i]) == 0)
            return (enum engine_container_status)i;
    return ENGINE_CONTAINER_EXITED;
}

static int engine_record_fill(struct engine_container *container, json_t *record, const char *path,
                              struct keel_error *err)
{
    const char *id = json_string_value(json_object_get(record, "Id"));
    const char *name = json_string_value(json_object_get(record, "Name"));
    json_t *state = json_object_get(record, "State");
    json_t *keel = json_object_get(record, "Keel");
    container->config = json_incref(json_object_get(record, "Config"));
    container->host_config = json_incref(json_object_get(record, "HostConfig"));
    container->args = json_incref(json_object_get(record, "Args"));
    if (id == NULL || strcmp(id, container->id) != 0)
        return keel_error_invalid(err, "%s: Id: not %s", path, container->id);
    if (name == NULL || name[0] != '/' || !engine_name_valid(name))
        return keel_error_invalid(err, "%s: Name: missing or not a container name", path);
    if (!json_is_object(state) || !json_is_object(container->config) ||
        !json_is_object(container->host_config) || !json_is_array(container->args))
        return keel_error_invalid(err, "%s: State, Config, HostConfig or Args missing", path);
    if ((container->name = strdup(name + 1)) == NULL)
        return keel_error_set(err, ENOMEM, "%s", path);
    if (engine_record_string(record, "Path", true, &container->path, path, err) < 0 ||
        engine_record_string(record, "Image", true, &container->image_id, path, err) < 0 ||
        engine_record_string(container->config, "Image", true, &container->image_name, path, err) <
            0 ||
        engine_record_string(record, "LogPath", true, &container->log_path, path, err) < 0 ||
        engine_record_string(state, "Error", false, &container->error, path, err) < 0 ||
        engine_record_string(keel, "CgroupPath", false, &container->cgroup_path, path, err) < 0 ||
        engine_record_time(record, "Created", &container->created, path, err) < 0 ||
        engine_record_time(state, "StartedAt", &container->started_at, path, err) < 0 ||
        engine_record_time(state, "FinishedAt", &container->finished_at, path, err) < 0)
        return -1;
    if (container->error != NULL && container->error[0] == '\0') {
        free(container->error);
        container->error = NULL;
    }
    container->status = engine_record_status(json_string_value(json_object_get(state, "Status")));
    container->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    container->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    container->pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
    container->restart_count =
        (unsigned)json_integer_value(json_object_get(record, "RestartCount"));
    container->stopped_by_user = json_is_true(json_object_get(keel, "StoppedByUser"));
    container->restart_delay_ms =
        (uint64_t)json_integer_value(json_object_get(keel, "RestartDelayMs"));
    if (engine_container_apply_settings(container, err) < 0)
        return keel_error_prefix(err, "%s", path);
    return 0;
}

int engine_record_read(struct engine *engine, const char *id, struct engine_container **out,
                       struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length;
    struct engine_container *container = engine_container_new(engine, id);
    if (container == NULL)
        return keel_error_set(err, ENOMEM, "read container %s", id);
    if (asprintf(&container->state_dir, "%s/%s", engine->options.state_root, id) < 0 ||
        asprintf(&container->rootfs, "%s/containers/%s/rootfs", engine->store.root_path, id) < 0) {
        container->state_dir = container->rootfs = NULL;
        engine_container_free(container);
        return keel_error_set(err, ENOMEM, "read container %s", id);
    }
    _cleanup_free_ char *path = engine_record_file(container, ENGINE_RECORD_FILE);
    if (path == NULL ||
        file_read_text_limited(path, ENGINE_RECORD_MAXIMUM, &text, &length, err) < 0) {
        engine_container_free(container);
        return path == NULL ? keel_error_set(err, ENOMEM, "read container %s", id) : -1;
    }
    json_error_t json_err;
    json_t *record = json_loadb(text, length, 0, &json_err);
    if (record == NULL) {
        engine_container_free(container);
        return keel_error_invalid(err, "%s: line %d: %s", path, json_err.line, json_err.text);
    }
    int result = engine_record_fill(container, record, path, err);
    json_decref(record);
    if (result < 0) {
        engine_container_free(container);
        return -1;
    }
    *out = container;
    return 0;
}
