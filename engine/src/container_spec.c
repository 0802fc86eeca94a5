/* container_spec.c — config.json from a Docker create request and an image: process, root. */
#include "container_spec.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_spec_internal.h"
#include "json_path.h"
#include "oci_spec.h"
#include "rootfs_path.h"

#define CONTAINER_ID_LENGTH 64
#define CONTAINER_HOSTNAME_LENGTH 12
/* What sethostname(2) takes. */
#define CONTAINER_HOSTNAME_MAX 64
#define CONTAINER_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

json_t *container_spec_json_strings(char *const *strings)
{
    json_t *array = json_array();

    for (size_t i = 0; array != NULL && strings != NULL && strings[i] != NULL; i++) {
        if (json_array_append_new(array, json_string(strings[i])) < 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

bool container_spec_strings_contain(const char *const *strings, const char *wanted)
{
    for (size_t i = 0; strings[i] != NULL; i++)
        if (strcmp(strings[i], wanted) == 0)
            return true;
    return false;
}

int container_spec_json_set(json_t *object, const char *key, json_t *value, struct keel_error *err)
{
    /* json_object_set_new releases value also when it fails. */
    if (value == NULL || json_object_set_new(object, key, value) < 0)
        return keel_error_set(err, ENOMEM, "config %s", key);
    return 0;
}

/* The request's Config fields the runtime config is made of. */
struct spec_request {
    char **entrypoint; /* NULL: not given (null or absent), which differs from [] */
    char **cmd;
    char **env;
    char *hostname;
    char *domainname;
    char *user;
    char *working_dir;
    char *stop_signal;
    bool tty, open_stdin;
    json_t *labels; /* borrowed from the request */
};

static void spec_request_free(struct spec_request *request)
{
    json_path_strings_free(request->entrypoint);
    json_path_strings_free(request->cmd);
    json_path_strings_free(request->env);
    free(request->hostname);
    free(request->domainname);
    free(request->user);
    free(request->working_dir);
    free(request->stop_signal);
}

/* Entrypoint or Cmd: an array of strings, or one string (Docker's StrSlice
 * takes both). */
static int request_get_command(json_t *request, const char *key, char ***out,
                               struct keel_error *err)
{
    json_t *value;
    int found = json_path_get(request, "", key, JSON_PATH_OPTIONAL, &value, err);

    *out = NULL;
    if (found <= 0)
        return found;
    if (json_is_string(value)) {
        *out = calloc(2, sizeof **out);
        if (*out == NULL || ((*out)[0] = strdup(json_string_value(value))) == NULL)
            return keel_error_set(err, ENOMEM, "%s", key);
        return 1;
    }
    if (!json_is_array(value))
        return keel_error_invalid(err, "%s: expected an array of strings", key);
    return json_path_read_strings(value, key, out, err) < 0 ? -1 : 1;
}

/* Env entries must name a variable: "=x" is refused, as Docker's ValidateEnv. */
static int request_check_env(char **env, struct keel_error *err)
{
    for (size_t i = 0; env[i] != NULL; i++) {
        if (env[i][0] == '=' || env[i][0] == '\0')
            return keel_error_invalid(err, "Env[%zu]: invalid environment variable: %s", i, env[i]);
    }
    return 0;
}

/* A signal as Docker's ParseSignal takes it: a number, or a name with or
 * without "SIG". */
static bool request_signal_valid(const char *text)
{
    char *end;
    long number = strtol(text, &end, 10);

    if (text[0] != '\0' && *end == '\0')
        return number > 0 && number < NSIG;
    if (strncmp(text, "SIG", 3) == 0)
        text += 3;
    for (int signal = 1; signal < NSIG; signal++) {
        const char *name = sigabbrev_np(signal);
        if (name != NULL && strcmp(name, text) == 0)
            return true;
    }
    return false;
}

static int request_read(json_t *request, struct spec_request *out, struct keel_error *err)
{
    char path[JSON_PATH_MAX];
    int found;

    if (request_get_command(request, "Entrypoint", &out->entrypoint, err) < 0 ||
        request_get_command(request, "Cmd", &out->cmd, err) < 0 ||
        json_path_get_strings(request, "", "Env", JSON_PATH_OPTIONAL, &out->env, err) < 0 ||
        request_check_env(out->env, err) < 0 ||
        json_path_get_string(request, "", "Hostname", JSON_PATH_OPTIONAL, &out->hostname, err) <
            0 ||
        json_path_get_string(request, "", "Domainname", JSON_PATH_OPTIONAL, &out->domainname, err) <
            0 ||
        json_path_get_string(request, "", "User", JSON_PATH_OPTIONAL, &out->user, err) < 0 ||
        json_path_get_string(request, "", "WorkingDir", JSON_PATH_OPTIONAL, &out->working_dir,
                             err) < 0 ||
        json_path_get_string(request, "", "StopSignal", JSON_PATH_OPTIONAL, &out->stop_signal,
                             err) < 0 ||
        json_path_get_bool(request, "", "Tty", JSON_PATH_OPTIONAL, &out->tty, err) < 0 ||
        json_path_get_bool(request, "", "OpenStdin", JSON_PATH_OPTIONAL, &out->open_stdin, err) < 0)
        return -1;
    if (out->stop_signal != NULL && out->stop_signal[0] != '\0' &&
        !request_signal_valid(out->stop_signal))
        return keel_error_invalid(err, "StopSignal: invalid signal \"%s\"", out->stop_signal);
    if (out->hostname != NULL && strlen(out->hostname) > CONTAINER_HOSTNAME_MAX)
        return keel_error_invalid(err, "Hostname: longer than %d characters",
                                  CONTAINER_HOSTNAME_MAX);
    found = json_path_get_object(request, "", "Labels", JSON_PATH_OPTIONAL, &out->labels, err);
    if (found <= 0)
        return found;
    const char *key;
    json_t *value;
    json_object_foreach(out->labels, key, value)
    {
        json_path_member(path, "Labels", key);
        if (json_path_expect_string(value, path, err) < 0)
            return -1;
    }
    return 0;
}

static size_t strings_count(char *const *strings)
{
    size_t count = 0;

    while (strings != NULL && strings[count] != NULL)
        count++;
    return count;
}

/* Docker's merge: a request Entrypoint replaces the image's and drops its
 * Cmd; a request Cmd replaces the image's; Entrypoint [""] means none. */
static int spec_build_args(const struct spec_request *request, const struct image_config *image,
                           json_t **args, struct keel_error *err)
{
    char *const *entrypoint = request->entrypoint;
    char *const *cmd = request->cmd;

    if (strings_count(request->entrypoint) == 0) {
        if (strings_count(request->cmd) == 0)
            cmd = image != NULL ? image->cmd : NULL;
        if (request->entrypoint == NULL)
            entrypoint = image != NULL ? image->entrypoint : NULL;
    }
    if (strings_count(entrypoint) == 1 && entrypoint[0][0] == '\0')
        entrypoint = NULL;
    if (strings_count(entrypoint) + strings_count(cmd) == 0)
        return keel_error_invalid(err, "no command specified");
    *args = container_spec_json_strings(entrypoint);
    for (size_t i = 0; *args != NULL && i < strings_count(cmd); i++) {
        if (json_array_append_new(*args, json_string(cmd[i])) < 0) {
            json_decref(*args);
            *args = NULL;
        }
    }
    if (*args == NULL)
        return keel_error_set(err, ENOMEM, "process.args");
    return 0;
}

/* The index of the entry of env (a JSON array of "KEY=VALUE") with
 * variable's key (up to '=' or its end), or -1. */
static ssize_t env_find(json_t *env, const char *variable)
{
    size_t key_length = strcspn(variable, "=");

    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *entry = json_string_value(json_array_get(env, i));
        if (strncmp(entry, variable, key_length) == 0 && entry[key_length] == '=')
            return (ssize_t)i;
    }
    return -1;
}

/* Docker's ReplaceOrAppendEnvValues: KEY=VALUE replaces KEY in place or is
 * appended; a bare KEY removes it. */
static int env_merge(json_t *env, char *const *variables, struct keel_error *err)
{
    for (size_t i = 0; variables != NULL && variables[i] != NULL; i++) {
        ssize_t at = env_find(env, variables[i]);
        int failed = 0;
        if (strchr(variables[i], '=') == NULL) {
            if (at >= 0)
                json_array_remove(env, (size_t)at);
            continue;
        }
        if (at >= 0)
            failed = json_array_set_new(env, (size_t)at, json_string(variables[i]));
        else
            failed = json_array_append_new(env, json_string(variables[i]));
        if (failed < 0)
            return keel_error_set(err, ENOMEM, "process.env");
    }
    return 0;
}

/* PATH, HOSTNAME and TERM (with a tty) first, then the image's Env and the
 * request's over them; HOME from passwd when nobody set it (runc does
 * that in the container; Keel's runtime leaves it to the config). */
static int spec_build_env(const struct spec_request *request, const struct image_config *image,
                          const char *hostname, const char *home, json_t **env,
                          struct keel_error *err)
{
    _cleanup_free_ char *hostname_variable = NULL;
    _cleanup_free_ char *home_variable = NULL;

    *env = NULL;
    if (asprintf(&hostname_variable, "HOSTNAME=%s", hostname) < 0 ||
        asprintf(&home_variable, "HOME=%s", home) < 0)
        return keel_error_set(err, ENOMEM, "process.env");
    _cleanup_json_ json_t *list = json_pack("[s, s]", CONTAINER_DEFAULT_PATH, hostname_variable);
    if (list == NULL ||
        (request->tty && json_array_append_new(list, json_string("TERM=xterm")) < 0))
        return keel_error_set(err, ENOMEM, "process.env");
    if (env_merge(list, image != NULL ? image->env : NULL, err) < 0 ||
        env_merge(list, request->env, err) < 0)
        return -1;
    if (env_find(list, "HOME") < 0 && json_array_append_new(list, json_string(home_variable)) < 0)
        return keel_error_set(err, ENOMEM, "process.env");
    *env = steal_pointer(&list);
    return 0;
}

/* WorkingDir from the request, else the image; absolute, lexically cleaned. */
static int spec_working_dir(const struct spec_request *request, const struct image_config *image,
                            char *cwd, size_t size, struct keel_error *err)
{
    const char *given = request->working_dir;
    const char *field = "WorkingDir";

    if (given == NULL || given[0] == '\0') {
        given = image != NULL ? image->working_dir : NULL;
        field = "image config WorkingDir";
    }
    if (given == NULL || given[0] == '\0')
        given = "/";
    if (given[0] != '/')
        return keel_error_invalid(err,
                                  "%s: the working directory \"%s\" is invalid, it needs to be an "
                                  "absolute path",
                                  field, given);
    if (rootfs_path_clean(given, cwd, size) < 0)
        return keel_error_set(err, ENAMETOOLONG, "%s", field);
    return 0;
}

/* Request Hostname, else the host's own name when sharing its UTS or
 * network namespace (as Docker), else the id's first 12 characters. */
static int spec_hostname(const struct spec_request *request, const struct container_spec_host *host,
                         const char *id, char **hostname, struct keel_error *err)
{
    char buffer[CONTAINER_HOSTNAME_MAX + 1] = "";
    bool given = request->hostname != NULL && request->hostname[0] != '\0';

    if (host->uts_host && given)
        return keel_error_invalid(err, "conflicting options: hostname and the UTS mode");
    if (host->uts_host && request->domainname != NULL && request->domainname[0] != '\0')
        return keel_error_invalid(err, "conflicting options: domainname and the UTS mode");
    if (given)
        *hostname = strdup(request->hostname);
    else if (host->uts_host || host->network_host) {
        if (gethostname(buffer, sizeof buffer - 1) < 0)
            return keel_error_set(err, errno, "gethostname");
        *hostname = strdup(buffer);
    } else
        *hostname = strndup(id, CONTAINER_HOSTNAME_LENGTH);
    if (*hostname == NULL)
        return keel_error_set(err, ENOMEM, "hostname");
    return 0;
}

/* HostConfig.ConsoleSize [height, width], for a process with a tty. */
static int spec_console_size(json_t *host_config, json_t *process, struct keel_error *err)
{
    json_t *size;
    int64_t height, width;
    int found = json_path_get_array(host_config, "HostConfig", "ConsoleSize", JSON_PATH_OPTIONAL,
                                    &size, err);

    if (found <= 0)
        return found;
    if (json_array_size(size) != 2)
        return keel_error_invalid(err, "HostConfig.ConsoleSize: expected [height, width]");
    if (json_path_read_int64(json_array_get(size, 0), "HostConfig.ConsoleSize[0]", 0, UINT_MAX,
                             &height, err) < 0 ||
        json_path_read_int64(json_array_get(size, 1), "HostConfig.ConsoleSize[1]", 0, UINT_MAX,
                             &width, err) < 0)
        return -1;
    if (height == 0 || width == 0)
        return 0;
    return container_spec_json_set(
        process, "consoleSize",
        json_pack("{s:I, s:I}", "height", (json_int_t)height, "width", (json_int_t)width), err);
}

static json_t *spec_user_json(const struct container_spec_user *user)
{
    json_t *gids = json_array();

    for (size_t i = 0; gids != NULL && i < user->additional_gid_count; i++) {
        if (json_array_append_new(gids, json_integer(user->additional_gids[i])) < 0) {
            json_decref(gids);
            return NULL;
        }
    }
    return json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)user->uid, "gid", (json_int_t)user->gid,
                     "additionalGids", gids);
}

/* process: args, env, cwd, user, terminal. */
static int spec_build_process(const struct spec_request *request, const struct image_config *image,
                              json_t *host_config, const char *rootfs, const char *hostname,
                              const char *cwd, json_t *process, struct keel_error *err)
{
    struct container_spec_user user;
    json_t *args, *env;
    const char *user_spec = request->user;

    if (user_spec == NULL || user_spec[0] == '\0')
        user_spec = image != NULL && image->user != NULL ? image->user : "";
    if (spec_build_args(request, image, &args, err) < 0)
        return -1;
    if (container_spec_json_set(process, "args", args, err) < 0)
        return -1;
    if (container_spec_user_lookup(rootfs, user_spec, &user, err) < 0)
        return -1;
    int result = spec_build_env(request, image, hostname, user.home, &env, err);
    if (result == 0)
        result = container_spec_json_set(process, "env", env, err);
    if (result == 0)
        result = container_spec_json_set(process, "user", spec_user_json(&user), err);
    container_spec_user_free(&user);
    if (result < 0 || container_spec_json_set(process, "cwd", json_string(cwd), err) < 0 ||
        container_spec_json_set(process, "terminal", json_boolean(request->tty), err) < 0)
        return -1;
    return request->tty ? spec_console_size(host_config, process, err) : 0;
}

/* Labels: the image's, then the request's over them, as annotations. */
static int spec_build_annotations(const struct spec_request *request,
                                  const struct image_config *image, json_t *config,
                                  struct keel_error *err)
{
    json_t *annotations = json_object();

    if (container_spec_json_set(config, "annotations", annotations, err) < 0)
        return -1;
    for (size_t i = 0; image != NULL && image->label_keys != NULL && image->label_keys[i] != NULL;
         i++) {
        if (container_spec_json_set(annotations, image->label_keys[i],
                                    json_string(image->label_values[i]), err) < 0)
            return -1;
    }
    if (request->labels != NULL && json_object_update(annotations, request->labels) < 0)
        return keel_error_set(err, ENOMEM, "annotations");
    if (json_object_size(annotations) == 0)
        json_object_del(config, "annotations");
    return 0;
}

/* hostname and domainname: none without a UTS namespace of the container's
 * own (the runtime-spec forbids it there). */
static int spec_build_names(const struct spec_request *request,
                            const struct container_spec_host *host, const char *hostname,
                            json_t *config, struct keel_error *err)
{
    if (host->uts_host) {
        json_object_del(config, "hostname");
        return 0;
    }
    if (container_spec_json_set(config, "hostname", json_string(hostname), err) < 0)
        return -1;
    if (request->domainname != NULL && request->domainname[0] != '\0')
        return container_spec_json_set(config, "domainname", json_string(request->domainname), err);
    return 0;
}

static bool container_id_valid(const char *id)
{
    return id != NULL && strspn(id, "0123456789abcdef") == CONTAINER_ID_LENGTH &&
           id[CONTAINER_ID_LENGTH] == '\0';
}

static int spec_build(json_t *request_json, const struct image_config *image, const char *id,
                      const char *rootfs, const char *files, json_t *config,
                      struct container_spec_extras *extras, struct keel_error *err)
{
    __attribute__((cleanup(spec_request_free))) struct spec_request request = {0};
    struct container_spec_host host;
    json_t *host_config = NULL;
    char cwd[PATH_MAX];

    if (json_path_get_object(request_json, "", "HostConfig", JSON_PATH_OPTIONAL, &host_config,
                             err) < 0 ||
        container_spec_host_read(host_config, &host, err) < 0 ||
        request_read(request_json, &request, err) < 0 ||
        spec_working_dir(&request, image, cwd, sizeof cwd, err) < 0 ||
        spec_hostname(&request, &host, id, &extras->hostname, err) < 0 ||
        spec_build_process(&request, image, host_config, rootfs, extras->hostname, cwd,
                           json_object_get(config, "process"), err) < 0 ||
        spec_build_names(&request, &host, extras->hostname, config, err) < 0 ||
        container_spec_json_set(
            config, "root",
            json_pack("{s:s, s:b}", "path", rootfs, "readonly", host.readonly_rootfs), err) < 0 ||
        spec_build_annotations(&request, image, config, err) < 0 ||
        container_spec_host_apply(host_config, &host, files, config, err) < 0)
        return -1;
    /* Last: the only change to the rootfs, made once everything else holds. */
    if (strcmp(cwd, "/") != 0 && container_spec_working_dir_create(rootfs, cwd, err) < 0)
        return -1;
    extras->init = host.init;
    extras->tty = request.tty;
    extras->open_stdin = request.open_stdin;
    return 0;
}

int container_spec_build(const json_t *request, const struct image_config *image, const char *id,
                         const char *rootfs, const char *files, json_t **config,
                         struct container_spec_extras *extras, struct keel_error *err)
{
    /* jansson's getters take non-const objects; nothing here writes to it. */
    json_t *request_json = (json_t *)request;
    json_t *built;

    *config = NULL;
    memset(extras, 0, sizeof *extras);
    if (!json_is_object(request_json))
        return keel_error_invalid(err, "expected a JSON object");
    if (!container_id_valid(id))
        return keel_error_invalid(err, "container id \"%s\": not 64 hexadecimal digits",
                                  id != NULL ? id : "");
    if (rootfs == NULL || rootfs[0] != '/')
        return keel_error_invalid(err, "rootfs \"%s\": not an absolute path",
                                  rootfs != NULL ? rootfs : "");
    if (oci_spec_default_config(&built, err) < 0)
        return -1;
    if (spec_build(request_json, image, id, rootfs, files, built, extras, err) < 0) {
        json_decref(built);
        container_spec_extras_free(extras);
        return -1;
    }
    *config = built;
    return 0;
}

void container_spec_extras_free(struct container_spec_extras *extras)
{
    free(extras->hostname);
    memset(extras, 0, sizeof *extras);
}
