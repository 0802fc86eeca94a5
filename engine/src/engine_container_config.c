/* engine_container_config.c — a container's Docker Config and HostConfig: merged with the image,
 * defaults filled, read into the engine's settings. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine_container_internal.h"

int engine_signal_parse(const char *text)
{
    char *end;
    if (text == NULL || *text == '\0')
        return -1;
    long number = strtol(text, &end, 10);
    if (*end == '\0')
        return number > 0 && number < NSIG ? (int)number : -1;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (int signal_number = 1; signal_number < SIGRTMIN; signal_number++) {
        const char *name = sigabbrev_np(signal_number);
        if (name != NULL && strcasecmp(name, text) == 0)
            return signal_number;
    }
    if (strncasecmp(text, "RTMIN+", 6) == 0) {
        number = strtol(text + 6, &end, 10);
        if (*end == '\0' && number >= 0 && SIGRTMIN + number <= SIGRTMAX)
            return SIGRTMIN + (int)number;
    }
    return -1;
}

/* ---- Config ---- */

/* Docker's StrSlice: an array of strings, or one string. NULL when absent
 * or null. A new reference. */
static json_t *engine_config_strings(const json_t *value)
{
    if (json_is_string(value))
        return json_pack("[O]", value);
    if (json_is_array(value))
        return json_deep_copy(value);
    return NULL;
}

static json_t *engine_config_list(char *const *list)
{
    if (list == NULL)
        return json_null();
    json_t *array = json_array();
    for (size_t i = 0; list[i] != NULL; i++)
        json_array_append_new(array, json_string(list[i]));
    return array;
}

/* The image's Env, then the request's: a KEY given again replaces the
 * earlier value in place, as Docker's ReplaceOrAppendEnvValues. */
static json_t *engine_config_env(const json_t *request_env, char *const *image_env)
{
    json_t *env = json_array();
    for (size_t i = 0; image_env && image_env[i]; i++)
        json_array_append_new(env, json_string(image_env[i]));
    size_t index;
    json_t *entry;
    json_array_foreach(request_env, index, entry)
    {
        const char *text = json_string_value(entry);
        if (text == NULL)
            continue;
        size_t key_length = strcspn(text, "=");
        bool replaced = false;
        for (size_t i = 0; i < json_array_size(env); i++) {
            const char *existing = json_string_value(json_array_get(env, i));
            if (strncmp(existing, text, key_length) == 0 && strcspn(existing, "=") == key_length) {
                json_array_set_new(env, i, json_string(text));
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append_new(env, json_string(text));
    }
    return env;
}

static const char *engine_config_text(const json_t *request, const char *key,
                                      const char *image_value)
{
    const char *value = json_string_value(json_object_get(request, key));
    if (value != NULL && *value != '\0')
        return value;
    return image_value ? image_value : "";
}

static bool engine_config_flag(const json_t *request, const char *key)
{
    return json_is_true(json_object_get(request, key));
}

json_t *engine_config_merge(const json_t *request, const struct image_config *image,
                            const char *hostname)
{
    json_t *entrypoint = engine_config_strings(json_object_get(request, "Entrypoint"));
    json_t *cmd = engine_config_strings(json_object_get(request, "Cmd"));
    /* Docker's merge: an Entrypoint from the request drops the image's Cmd;
     * without one, the request's Cmd (or else the image's) runs under the
     * image's Entrypoint, unless the request gave an empty Entrypoint. */
    if (json_array_size(entrypoint) == 0) {
        if (json_array_size(cmd) == 0) {
            json_decref(cmd);
            cmd = engine_config_list(image->cmd);
        }
        if (entrypoint == NULL)
            entrypoint = engine_config_list(image->entrypoint);
    }
    if (cmd == NULL)
        cmd = json_null();
    json_t *labels = json_object();
    for (size_t i = 0; image->label_keys && image->label_keys[i]; i++)
        json_object_set_new(labels, image->label_keys[i], json_string(image->label_values[i]));
    json_t *request_labels = json_object_get(request, "Labels");
    if (json_is_object(request_labels))
        json_object_update(labels, request_labels);

    json_t *config = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:s?, s:n, s:s, s:o, s:n, s:o}",
        "Hostname", hostname, "Domainname", engine_config_text(request, "Domainname", NULL), "User",
        engine_config_text(request, "User", image->user), "AttachStdin",
        engine_config_flag(request, "AttachStdin"), "AttachStdout",
        engine_config_flag(request, "AttachStdout"), "AttachStderr",
        engine_config_flag(request, "AttachStderr"), "Tty", engine_config_flag(request, "Tty"),
        "OpenStdin", engine_config_flag(request, "OpenStdin"), "StdinOnce",
        engine_config_flag(request, "StdinOnce"), "Env",
        engine_config_env(json_object_get(request, "Env"), image->env), "Cmd", cmd, "Image",
        json_string_value(json_object_get(request, "Image")), "Volumes", "WorkingDir",
        engine_config_text(request, "WorkingDir", image->working_dir), "Entrypoint",
        entrypoint ? entrypoint : json_null(), "OnBuild", "Labels", labels);
    if (config == NULL)
        return NULL;
    const char *stop_signal = engine_config_text(request, "StopSignal", image->stop_signal);
    if (*stop_signal != '\0')
        json_object_set_new(config, "StopSignal", json_string(stop_signal));
    json_t *stop_timeout = json_object_get(request, "StopTimeout");
    if (json_is_integer(stop_timeout))
        json_object_set(config, "StopTimeout", stop_timeout);
    json_t *ports = json_object_get(request, "ExposedPorts");
    if (json_is_object(ports) && json_object_size(ports) > 0)
        json_object_set(config, "ExposedPorts", ports);
    else if (image->exposed_ports != NULL && image->exposed_ports[0] != NULL) {
        json_t *exposed = json_object();
        for (size_t i = 0; image->exposed_ports[i]; i++)
            json_object_set_new(exposed, image->exposed_ports[i], json_object());
        json_object_set_new(config, "ExposedPorts", exposed);
    }
    return config;
}

/* ---- HostConfig ---- */

/* Docker's units.RAMInBytes: "10m", "512k", "1g", "100", "10MiB"; -1 is
 * "unlimited". */
static int engine_size_parse(const char *text, int64_t *size)
{
    char *end;
    long long number = strtoll(text, &end, 10);
    if (end == text)
        return -1;
    if (number < 0) {
        *size = -1;
        return *end == '\0' ? 0 : -1;
    }
    int64_t unit = 1;
    switch (*end) {
    case 'k':
    case 'K':
        unit = 1024;
        end++;
        break;
    case 'm':
    case 'M':
        unit = 1024 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        unit = 1024 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (strcasecmp(end, "b") == 0 || strcasecmp(end, "ib") == 0)
        end += strlen(end);
    if (*end != '\0')
        return -1;
    *size = (int64_t)number * unit;
    return 0;
}

static int engine_log_options_parse(const json_t *config, struct container_log_options *options,
                                    struct keel_error *err)
{
    const char *max_size = json_string_value(json_object_get(config, "max-size"));
    const char *max_file = json_string_value(json_object_get(config, "max-file"));
    int64_t size = 0;
    char *end;
    if (max_size == NULL || engine_size_parse(max_size, &size) < 0)
        return keel_error_invalid(err, "HostConfig.LogConfig.Config.max-size: bad size \"%s\"",
                                  max_size ? max_size : "");
    long files = max_file ? strtol(max_file, &end, 10) : 0;
    if (max_file == NULL || *end != '\0' || files < 1 || files > 100)
        return keel_error_invalid(err, "HostConfig.LogConfig.Config.max-file: bad count \"%s\"",
                                  max_file ? max_file : "");
    options->max_size = size < 0 ? 0 : (uint64_t)size;
    options->max_file = (unsigned)files;
    return 0;
}

static int engine_log_config_fill(json_t *host_config, struct keel_error *err)
{
    json_t *log_config = json_object_get(host_config, "LogConfig");
    if (log_config != NULL && !json_is_null(log_config) && !json_is_object(log_config))
        return keel_error_invalid(err, "HostConfig.LogConfig: not an object");
    const char *type = json_string_value(json_object_get(log_config, "Type"));
    if (type != NULL && *type != '\0' && strcmp(type, "json-file") != 0)
        return keel_error_invalid(
            err,
            "HostConfig.LogConfig.Type: log driver \"%s\" is not supported (Keel "
            "has json-file)",
            type);
    json_t *config = json_object_get(log_config, "Config");
    json_t *filled = json_is_object(config) ? json_deep_copy(config) : json_object();
    /* Keel's default rotation where the request names none. */
    if (json_object_get(filled, "max-size") == NULL)
        json_object_set_new(filled, "max-size", json_string(ENGINE_LOG_MAX_SIZE_DEFAULT));
    if (json_object_get(filled, "max-file") == NULL)
        json_object_set_new(filled, "max-file", json_string(ENGINE_LOG_MAX_FILE_DEFAULT));
    struct container_log_options options;
    if (engine_log_options_parse(filled, &options, err) < 0) {
        json_decref(filled);
        return -1;
    }
    json_object_set_new(host_config, "LogConfig",
                        json_pack("{s:s, s:o}", "Type", "json-file", "Config", filled));
    return 0;
}

int engine_host_config_fill(const json_t *request, json_t **out, struct keel_error *err)
{
    json_t *requested = json_object_get(request, "HostConfig");
    if (requested != NULL && !json_is_null(requested) && !json_is_object(requested))
        return keel_error_invalid(err, "HostConfig: not an object");
    json_t *host_config = json_is_object(requested) ? json_deep_copy(requested) : json_object();
    enum engine_restart_policy policy;
    unsigned maximum;
    if (host_config == NULL)
        return keel_error_set(err, ENOMEM, "HostConfig");
    if (engine_restart_policy_parse(json_object_get(host_config, "RestartPolicy"), &policy,
                                    &maximum, err) < 0 ||
        engine_log_config_fill(host_config, err) < 0) {
        json_decref(host_config);
        return -1;
    }
    if (policy != ENGINE_RESTART_NO && json_is_true(json_object_get(host_config, "AutoRemove"))) {
        json_decref(host_config);
        return keel_error_invalid(err, "conflicting options: AutoRemove and restart policy \"%s\"",
                                  engine_restart_policy_name(policy));
    }
    json_object_set_new(host_config, "RestartPolicy",
                        json_pack("{s:s, s:i}", "Name", engine_restart_policy_name(policy),
                                  "MaximumRetryCount", (int)maximum));
    const char *network_mode = json_string_value(json_object_get(host_config, "NetworkMode"));
    if (network_mode == NULL || *network_mode == '\0')
        json_object_set_new(host_config, "NetworkMode", json_string("default"));
    /* Docker's inspect prints these whether or not they were asked for. */
    json_t *defaults =
        json_pack("{s:n, s:s, s:o, s:b, s:s, s:n, s:n, s:n, s:o, s:o, s:o, s:n, s:s, s:s, s:b, s:b,"
                  " s:b, s:n, s:s, s:s, s:I, s:I, s:I, s:n}",
                  "Binds", "ContainerIDFile", "", "PortBindings", json_object(), "AutoRemove", 0,
                  "VolumeDriver", "", "VolumesFrom", "CapAdd", "CapDrop", "Dns", json_array(),
                  "DnsOptions", json_array(), "DnsSearch", json_array(), "ExtraHosts", "IpcMode",
                  "private", "PidMode", "", "Privileged", 0, "PublishAllPorts", 0, "ReadonlyRootfs",
                  0, "SecurityOpt", "UTSMode", "", "Runtime", "keel", "Memory", (json_int_t)0,
                  "NanoCpus", (json_int_t)0, "CpuShares", (json_int_t)0, "PidsLimit");
    json_object_update_missing(host_config, defaults);
    json_decref(defaults);
    *out = host_config;
    return 0;
}

int engine_container_apply_settings(struct engine_container *container, struct keel_error *err)
{
    json_t *config = container->config;
    json_t *host_config = container->host_config;
    container->tty = json_is_true(json_object_get(config, "Tty"));
    container->open_stdin = json_is_true(json_object_get(config, "OpenStdin"));
    container->auto_remove = json_is_true(json_object_get(host_config, "AutoRemove"));
    const char *stop_signal = json_string_value(json_object_get(config, "StopSignal"));
    container->stop_signal = stop_signal ? engine_signal_parse(stop_signal) : SIGTERM;
    if (container->stop_signal < 0)
        return keel_error_invalid(err, "StopSignal: invalid signal \"%s\"", stop_signal);
    json_t *stop_timeout = json_object_get(config, "StopTimeout");
    container->stop_timeout = json_is_integer(stop_timeout) &&
                                      json_integer_value(stop_timeout) >= 0 &&
                                      json_integer_value(stop_timeout) < 86400
                                  ? (int)json_integer_value(stop_timeout)
                                  : ENGINE_STOP_TIMEOUT_DEFAULT;
    if (engine_restart_policy_parse(json_object_get(host_config, "RestartPolicy"),
                                    &container->restart_policy, &container->maximum_retry_count,
                                    err) < 0)
        return -1;
    return engine_log_options_parse(
        json_object_get(json_object_get(host_config, "LogConfig"), "Config"),
        &container->log_options, err);
}
