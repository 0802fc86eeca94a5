/* cmd_client_create.c — run's and create's options turned into the POST /containers/create body, as
 * the docker CLI builds it. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_client.h"
#include "file.h"

#define CREATE_FILE_LIMIT (1024 * 1024) /* --env-file, a seccomp profile */

enum {
    CREATE_RM = 0x100,
    CREATE_NAME,
    CREATE_RESTART,
    CREATE_PRIVILEGED,
    CREATE_CAP_ADD,
    CREATE_CAP_DROP,
    CREATE_ENTRYPOINT,
    CREATE_PIDS_LIMIT,
    CREATE_INIT,
    CREATE_READ_ONLY,
    CREATE_NETWORK,
    CREATE_CPUS,
    CREATE_CPU_SHARES,
    CREATE_SECURITY_OPT,
    CREATE_STOP_SIGNAL,
    CREATE_STOP_TIMEOUT,
    CREATE_SIG_PROXY,
    CREATE_ENV_FILE,
    CREATE_MEMORY_SWAP,
    CREATE_PID,
    CREATE_IPC,
    CREATE_UTS,
    CREATE_HELP,
};

static const struct option create_options[] = {
    {"detach", optional_argument, NULL, 'd'},
    {"interactive", optional_argument, NULL, 'i'},
    {"tty", optional_argument, NULL, 't'},
    {"rm", optional_argument, NULL, CREATE_RM},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, CREATE_ENV_FILE},
    {"volume", required_argument, NULL, 'v'},
    {"name", required_argument, NULL, CREATE_NAME},
    {"restart", required_argument, NULL, CREATE_RESTART},
    {"privileged", optional_argument, NULL, CREATE_PRIVILEGED},
    {"cap-add", required_argument, NULL, CREATE_CAP_ADD},
    {"cap-drop", required_argument, NULL, CREATE_CAP_DROP},
    {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'},
    {"entrypoint", required_argument, NULL, CREATE_ENTRYPOINT},
    {"memory", required_argument, NULL, 'm'},
    {"memory-swap", required_argument, NULL, CREATE_MEMORY_SWAP},
    {"pids-limit", required_argument, NULL, CREATE_PIDS_LIMIT},
    {"init", optional_argument, NULL, CREATE_INIT},
    {"read-only", optional_argument, NULL, CREATE_READ_ONLY},
    {"network", required_argument, NULL, CREATE_NETWORK},
    {"net", required_argument, NULL, CREATE_NETWORK},
    {"label", required_argument, NULL, 'l'},
    {"hostname", required_argument, NULL, 'h'},
    {"cpus", required_argument, NULL, CREATE_CPUS},
    {"cpu-shares", required_argument, NULL, CREATE_CPU_SHARES},
    {"security-opt", required_argument, NULL, CREATE_SECURITY_OPT},
    {"stop-signal", required_argument, NULL, CREATE_STOP_SIGNAL},
    {"stop-timeout", required_argument, NULL, CREATE_STOP_TIMEOUT},
    {"sig-proxy", optional_argument, NULL, CREATE_SIG_PROXY},
    {"pid", required_argument, NULL, CREATE_PID},
    {"ipc", required_argument, NULL, CREATE_IPC},
    {"uts", required_argument, NULL, CREATE_UTS},
    {"help", no_argument, NULL, CREATE_HELP},
    {NULL, 0, NULL, 0},
};

static const char create_flags_help[] =
    "      --cap-add list           Add Linux capabilities\n"
    "      --cap-drop list          Drop Linux capabilities\n"
    "      --cpu-shares int         CPU shares (relative weight)\n"
    "      --cpus decimal           Number of CPUs\n"
    "%s"
    "      --entrypoint string      Overwrite the default ENTRYPOINT of the image\n"
    "  -e, --env list               Set environment variables\n"
    "      --env-file list          Read in a file of environment variables\n"
    "  -h, --hostname string        Container host name\n"
    "      --init                   Run an init inside the container that forwards signals and "
    "reaps "
    "processes\n"
    "  -i, --interactive            Keep STDIN open even if not attached\n"
    "      --ipc string             IPC mode to use (host)\n"
    "  -l, --label list             Set meta data on a container\n"
    "  -m, --memory bytes           Memory limit (units: b, k, m, g)\n"
    "      --memory-swap bytes      Swap limit equal to memory plus swap: '-1' to enable unlimited "
    "swap\n"
    "      --name string            Assign a name to the container\n"
    "      --network string         Connect a container to a network (host, none)\n"
    "      --pid string             PID namespace to use (host)\n"
    "      --pids-limit int         Tune container pids limit (set -1 for unlimited)\n"
    "      --privileged             Give extended privileges to this container\n"
    "      --read-only              Mount the container's root filesystem as read only\n"
    "      --restart string         Restart policy to apply when a container exits (default "
    "\"no\")\n"
    "      --rm                     Automatically remove the container when it exits\n"
    "      --security-opt list      Security Options\n"
    "%s"
    "      --stop-signal string     Signal to stop the container\n"
    "      --stop-timeout int       Timeout (in seconds) to stop a container\n"
    "  -t, --tty                    Allocate a pseudo-TTY\n"
    "  -u, --user string            Username or UID (format: <name|uid>[:<group|gid>])\n"
    "      --uts string             UTS namespace to use (host)\n"
    "  -v, --volume list            Bind mount a volume (/host/path:/container/path[:ro])\n"
    "  -w, --workdir string         Working directory inside the container\n";

static void create_print_help(bool run)
{
    printf("\nUsage:  keel %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n%s\n\nOptions:\n",
           run ? "run" : "create",
           run ? "Create and run a new container from an image" : "Create a new container");
    printf(
        create_flags_help,
        run ? "  -d, --detach                 Run container in background and print container ID\n"
            : "",
        run ? "      --sig-proxy              Proxy received signals to the process (default "
              "true)\n"
            : "");
}

/* Go's strconv.ParseBool, for --flag=VALUE; no value is true. */
static bool create_parse_bool(const char *text, bool *value)
{
    static const char *const truths[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const lies[] = {"0", "f", "F", "FALSE", "false", "False"};
    if (text == NULL) {
        *value = true;
        return true;
    }
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        if (strcmp(text, truths[i]) == 0) {
            *value = true;
            return true;
        }
        if (strcmp(text, lies[i]) == 0) {
            *value = false;
            return true;
        }
    }
    return false;
}

int client_parse_memory(const char *text, int64_t *bytes, struct keel_error *err)
{
    static const char units[] = "kmgtp";
    const char *c = text;
    char *end;

    if (!isdigit((unsigned char)*c))
        return keel_error_invalid(err, "invalid size: '%s'", text);
    errno = 0;
    double size = strtod(c, &end);
    if (errno != 0 || end == c || strchr(c, 'e') != NULL || strchr(c, 'E') != NULL)
        return keel_error_invalid(err, "invalid size: '%s'", text);
    c = end;
    if (*c == ' ')
        c++;
    double multiplier = 1;
    const char *unit = *c != '\0' ? strchr(units, tolower((unsigned char)*c)) : NULL;
    if (unit != NULL) {
        for (const char *u = units; u <= unit; u++)
            multiplier *= 1024;
        c++;
    }
    if (*c == 'i' || *c == 'I')
        c++;
    if (*c == 'b' || *c == 'B')
        c++;
    if (*c != '\0' || size * multiplier >= 9.2e18)
        return keel_error_invalid(err, "invalid size: '%s'", text);
    *bytes = (int64_t)(size * multiplier);
    return 0;
}

int client_parse_cpus(const char *text, int64_t *nano_cpus, struct keel_error *err)
{
    const char *c = text;
    int64_t whole = 0, fraction = 0;
    int digits = 0;

    if (!isdigit((unsigned char)*c) && *c != '.')
        return keel_error_invalid(err, "failed to parse %s as a rational number", text);
    for (; isdigit((unsigned char)*c); c++) {
        whole = whole * 10 + (*c - '0');
        if (whole > 9000000000LL)
            return keel_error_invalid(err, "failed to parse %s as a rational number", text);
    }
    if (*c == '.')
        for (c++; isdigit((unsigned char)*c); c++, digits++) {
            if (digits == 9)
                return keel_error_invalid(err, "value is too precise");
            fraction = fraction * 10 + (*c - '0');
        }
    if (*c != '\0' || (c == text + 1 && text[0] == '.'))
        return keel_error_invalid(err, "failed to parse %s as a rational number", text);
    for (; digits < 9; digits++)
        fraction *= 10;
    *nano_cpus = whole * 1000000000LL + fraction;
    return 0;
}

int client_parse_restart(const char *text, json_t **policy, struct keel_error *err)
{
    const char *colon = strchr(text, ':');
    long long count = 0;

    *policy = NULL;
    if (colon == text)
        return keel_error_invalid(err,
                                  "invalid restart policy format: no policy provided before colon");
    if (colon != NULL && colon[1] != '\0' && !client_parse_int(colon + 1, INT32_MIN, &count))
        return keel_error_invalid(
            err, "invalid restart policy format: maximum retry count must be an integer");
    size_t length = colon != NULL ? (size_t)(colon - text) : strlen(text);
    /* docker 20.10's checks, before the engine sees it */
    static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
    size_t known = 0;
    while (known < 4 &&
           (strlen(names[known]) != length || strncmp(text, names[known], length) != 0))
        known++;
    if (known == 4)
        return keel_error_invalid(err, "invalid restart policy %.*s", (int)length, text);
    bool on_failure = known == 3;
    if (!on_failure && colon != NULL)
        return keel_error_invalid(err,
                                  "maximum restart count not valid with restart policy of \"%.*s\"",
                                  (int)length, text);
    if (colon != NULL && strchr(colon + 1, ':') != NULL)
        return keel_error_invalid(
            err, "restart count format is not valid, usage: 'on-failure:N' or 'on-failure'");
    *policy = json_pack("{s:s%,s:I}", "Name", text, length, "MaximumRetryCount", (json_int_t)count);
    if (*policy == NULL)
        return keel_error_set(err, ENOMEM, "restart policy");
    return 0;
}

char *client_env_value(const char *text)
{
    char *value = NULL;
    if (strchr(text, '=') != NULL)
        return strdup(text);
    const char *found = getenv(text);
    if (found == NULL)
        return strdup(text);
    if (asprintf(&value, "%s=%s", text, found) < 0)
        return NULL;
    return value;
}

/* docker's ParseEnvFile: KEY=VALUE lines taken as they are, KEY alone from
 * the environment, blank lines and # comments skipped. */
static int create_read_env_file(const char *path, json_t *env, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t length;

    if (file_read_text_limited(path, CREATE_FILE_LIMIT, &text, &length, err) < 0)
        return -1;
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        line += strspn(line, " \t\r");
        size_t end = strlen(line);
        while (end > 0 && line[end - 1] == '\r')
            line[--end] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        size_t name_length = strcspn(line, "=");
        if (strcspn(line, " \t") < name_length)
            return keel_error_invalid(err, "%s: variable '%.*s' contains whitespaces", path,
                                      (int)name_length, line);
        if (name_length == 0)
            return keel_error_invalid(err, "%s: no variable name on line '%s'", path, line);
        char *value = client_env_value(line);
        if (value == NULL || json_array_append_new(env, json_string(value)) < 0) {
            free(value);
            return keel_error_set(err, ENOMEM, "%s", path);
        }
        free(value);
    }
    return 0;
}

/* docker's parseSecurityOpts: "key=value" or "key:value"; a seccomp
 * profile's path is read and sent inline. */
static int create_security_option(const char *option, json_t *options, struct keel_error *err)
{
    _cleanup_free_ char *value = NULL;

    if (strcmp(option, "no-new-privileges") == 0) {
        value = strdup(option);
    } else {
        size_t key_length = strcspn(option, "=");
        if (option[key_length] == '\0') {
            key_length = strcspn(option, ":");
            if (option[key_length] == '\0')
                return keel_error_invalid(err, "Invalid --security-opt: \"%s\"", option);
        }
        const char *setting = option + key_length + 1;
        if (key_length == 7 && strncmp(option, "seccomp", 7) == 0 &&
            strcmp(setting, "unconfined") != 0) {
            _cleanup_free_ char *profile = NULL;
            size_t length;
            json_error_t json_error;
            if (file_read_text_limited(setting, CREATE_FILE_LIMIT, &profile, &length, err) < 0)
                return keel_error_prefix(err, "opening seccomp profile (%s) failed", setting);
            json_t *parsed = json_loadb(profile, length, 0, &json_error);
            if (parsed == NULL)
                return keel_error_invalid(err,
                                          "compacting json for seccomp profile (%s) failed: %s",
                                          setting, json_error.text);
            _cleanup_free_ char *compact = json_dumps(parsed, JSON_COMPACT);
            json_decref(parsed);
            if (compact == NULL || asprintf(&value, "seccomp=%s", compact) < 0)
                return keel_error_set(err, ENOMEM, "--security-opt");
        } else {
            value = strdup(option);
        }
    }
    if (value == NULL || json_array_append_new(options, json_string(value)) < 0)
        return keel_error_set(err, ENOMEM, "--security-opt");
    return 0;
}

/* What the flags said, before it is laid out as Docker's body. */
struct create_flags {
    json_t *env, *env_files, *binds, *volumes, *labels, *cap_add, *cap_drop, *security_opt,
        *restart;
    const char *user, *workdir, *entrypoint, *hostname, *network, *stop_signal, *pid, *ipc, *uts;
    bool entrypoint_set, privileged, read_only, init, init_set, stop_timeout_set;
    long long stop_timeout, pids_limit;
    int64_t memory, memory_swap, nano_cpus, cpu_shares;
};

static void create_flags_free(struct create_flags *flags)
{
    json_t *values[] = {flags->env,      flags->env_files,    flags->binds,
                        flags->volumes,  flags->labels,       flags->cap_add,
                        flags->cap_drop, flags->security_opt, flags->restart};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        json_decref(values[i]);
}

/* An array, or null when no flag filled it (Go's nil slice). */
static json_t *create_list(json_t *array)
{
    return json_array_size(array) > 0 ? json_incref(array) : json_null();
}

static json_t *create_text(const char *text)
{
    return json_string(text != NULL ? text : "");
}

/* Lay out the body in the order and with the zero values of the docker
 * CLI's structs, so that an engine sees what docker would send. */
/* Set key to value (a new reference), noting any failure in *ok. */
static void create_set(json_t *object, const char *key, json_t *value, bool *ok)
{
    if (value == NULL || object == NULL || json_object_set_new(object, key, value) < 0) {
        json_decref(value);
        *ok = false;
    }
}
#define SET(object, key, value) create_set(object, key, value, &ok)

static json_t *create_build(const struct create_flags *flags, const struct client_create *create,
                            json_t *command)
{
    bool ok = true;
    json_t *env = json_array();
    if (env == NULL || json_array_extend(env, flags->env_files) < 0 ||
        json_array_extend(env, flags->env) < 0)
        ok = false;
    json_t *entrypoint = !flags->entrypoint_set         ? json_null()
                         : flags->entrypoint[0] != '\0' ? json_pack("[s]", flags->entrypoint)
                                                        : json_pack("[s]", "");
    bool attach = !(create->detach);
    json_t *host = json_object(); /* ours until the end, then the request's */
    SET(host, "Binds", create_list(flags->binds));
    SET(host, "ContainerIDFile", json_string(""));
    SET(host, "LogConfig", json_pack("{s:s,s:{}}", "Type", "", "Config"));
    SET(host, "NetworkMode", json_string(flags->network != NULL ? flags->network : "default"));
    SET(host, "PortBindings", json_object());
    SET(host, "RestartPolicy", json_incref(flags->restart));
    SET(host, "AutoRemove", json_boolean(create->auto_remove));
    SET(host, "VolumeDriver", json_string(""));
    SET(host, "VolumesFrom", json_null());
    SET(host, "ConsoleSize", json_pack("[i,i]", 0, 0));
    SET(host, "CapAdd", create_list(flags->cap_add));
    SET(host, "CapDrop", create_list(flags->cap_drop));
    SET(host, "CgroupnsMode", json_string(""));
    SET(host, "Dns", json_array());
    SET(host, "DnsOptions", json_array());
    SET(host, "DnsSearch", json_array());
    SET(host, "ExtraHosts", json_null());
    SET(host, "GroupAdd", json_null());
    SET(host, "IpcMode", create_text(flags->ipc));
    SET(host, "Cgroup", json_string(""));
    SET(host, "Links", json_null());
    SET(host, "OomScoreAdj", json_integer(0));
    SET(host, "PidMode", create_text(flags->pid));
    SET(host, "Privileged", json_boolean(flags->privileged));
    SET(host, "PublishAllPorts", json_false());
    SET(host, "ReadonlyRootfs", json_boolean(flags->read_only));
    SET(host, "SecurityOpt", create_list(flags->security_opt));
    SET(host, "UTSMode", create_text(flags->uts));
    SET(host, "UsernsMode", json_string(""));
    SET(host, "ShmSize", json_integer(0));
    SET(host, "Isolation", json_string(""));
    SET(host, "CpuShares", json_integer(flags->cpu_shares));
    SET(host, "Memory", json_integer(flags->memory));
    SET(host, "NanoCpus", json_integer(flags->nano_cpus));
    SET(host, "CgroupParent", json_string(""));
    SET(host, "BlkioWeight", json_integer(0));
    SET(host, "CpuPeriod", json_integer(0));
    SET(host, "CpuQuota", json_integer(0));
    SET(host, "CpusetCpus", json_string(""));
    SET(host, "CpusetMems", json_string(""));
    SET(host, "Devices", json_array());
    SET(host, "MemoryReservation", json_integer(0));
    SET(host, "MemorySwap", json_integer(flags->memory_swap));
    SET(host, "MemorySwappiness", json_integer(-1));
    SET(host, "OomKillDisable", json_false());
    SET(host, "PidsLimit", json_integer(flags->pids_limit));
    SET(host, "Ulimits", json_null());
    SET(host, "MaskedPaths", json_null());
    SET(host, "ReadonlyPaths", json_null());
    if (flags->init_set)
        SET(host, "Init", json_boolean(flags->init));

    json_t *request = json_object();
    if (request == NULL)
        ok = false;
    SET(request, "Hostname", create_text(flags->hostname));
    SET(request, "Domainname", json_string(""));
    SET(request, "User", create_text(flags->user));
    SET(request, "AttachStdin", json_boolean(attach && create->interactive));
    SET(request, "AttachStdout", json_boolean(attach));
    SET(request, "AttachStderr", json_boolean(attach));
    SET(request, "Tty", json_boolean(create->tty));
    SET(request, "OpenStdin", json_boolean(create->interactive));
    /* docker: stdin given to an attached client closes when it ends. */
    SET(request, "StdinOnce", json_boolean(attach && create->interactive));
    SET(request, "Env", json_array_size(env) > 0 ? json_incref(env) : json_null());
    SET(request, "Cmd", json_array_size(command) > 0 ? json_incref(command) : json_null());
    SET(request, "Image", json_string(create->image));
    SET(request, "Volumes", json_incref(flags->volumes));
    SET(request, "WorkingDir", create_text(flags->workdir));
    SET(request, "Entrypoint", entrypoint);
    SET(request, "OnBuild", json_null());
    SET(request, "Labels", json_incref(flags->labels));
    if (flags->stop_signal != NULL)
        SET(request, "StopSignal", json_string(flags->stop_signal));
    if (flags->stop_timeout_set)
        SET(request, "StopTimeout", json_integer(flags->stop_timeout));
    SET(request, "HostConfig", json_incref(host));
    SET(request, "NetworkingConfig", json_pack("{s:{}}", "EndpointsConfig"));
    json_decref(env);
    json_decref(host);
    if (!ok) {
        json_decref(request);
        return NULL;
    }
    return request;
}

/* A flag's value is bad: docker's words, exit 125. */
static int create_bad_value(const char *verb, const char *flag, const char *value,
                            const struct keel_error *err, int *exit_code)
{
    *exit_code = client_usage_error(verb, "invalid argument \"%s\" for \"%s\" flag: %s", value,
                                    flag, err->message);
    return 1;
}

static int create_append(json_t *array, const char *text, struct keel_error *err)
{
    if (json_array_append_new(array, json_string(text)) < 0)
        return keel_error_set(err, ENOMEM, "parse the options");
    return 0;
}

static int create_parse_flags(int argc, char **argv, bool run, struct client_create *create,
                              struct create_flags *flags, int *exit_code, struct keel_error *err)
{
    const char *verb = run ? "run" : "create";
    int option;
    bool value;

    optind = 0;
    while ((option = getopt_long(argc, argv, run ? "+:de:h:il:m:tu:v:w:" : "+:e:h:il:m:tu:v:w:",
                                 create_options, NULL)) != -1) {
        int64_t bytes;
        long long number;
        switch (option) {
        case 'd':
        case 'i':
        case 't':
        case CREATE_RM:
        case CREATE_PRIVILEGED:
        case CREATE_INIT:
        case CREATE_READ_ONLY:
        case CREATE_SIG_PROXY:
            if (option == 'd' && !run) {
                *exit_code = client_usage_error(verb, "unknown flag: --detach");
                return 1;
            }
            if (!create_parse_bool(optarg, &value)) {
                *exit_code =
                    client_usage_error(verb, "invalid argument \"%s\" for \"%s\" flag: parse error",
                                       optarg, argv[optind - 1]);
                return 1;
            }
            if (option == 'd')
                create->detach = value;
            else if (option == 'i')
                create->interactive = value;
            else if (option == 't')
                create->tty = value;
            else if (option == CREATE_RM)
                create->auto_remove = value;
            else if (option == CREATE_PRIVILEGED)
                flags->privileged = value;
            else if (option == CREATE_READ_ONLY)
                flags->read_only = value;
            else if (option == CREATE_SIG_PROXY)
                create->sig_proxy = value;
            else
                flags->init = value, flags->init_set = true;
            break;
        case 'e': {
            _cleanup_free_ char *env = client_env_value(optarg);
            if (env == NULL || create_append(flags->env, env, err) < 0)
                return keel_error_set(err, ENOMEM, "parse the options");
            if (env[0] == '=')
                return create_bad_value(
                    verb, "-e, --env", optarg,
                    &(struct keel_error){.message = "invalid environment variable"}, exit_code);
            break;
        }
        case CREATE_ENV_FILE:
            if (create_read_env_file(optarg, flags->env_files, err) < 0)
                return -1;
            break;
        case 'v':
            if (strstr(optarg, "::") != NULL || optarg[0] == '\0')
                return keel_error_invalid(err, "invalid spec: %s: empty section between colons",
                                          optarg);
            if (strchr(optarg, ':') != NULL) {
                if (create_append(flags->binds, optarg, err) < 0)
                    return -1;
            } else if (json_object_set_new(flags->volumes, optarg, json_object()) < 0) {
                return keel_error_set(err, ENOMEM, "parse the options");
            }
            break;
        case CREATE_NAME:
            free(create->name);
            if ((create->name = strdup(optarg)) == NULL)
                return keel_error_set(err, ENOMEM, "parse the options");
            break;
        case CREATE_RESTART:
            json_decref(flags->restart);
            if (client_parse_restart(optarg, &flags->restart, err) < 0)
                return -1;
            break;
        case CREATE_CAP_ADD:
        case CREATE_CAP_DROP:
            if (create_append(option == CREATE_CAP_ADD ? flags->cap_add : flags->cap_drop, optarg,
                              err) < 0)
                return -1;
            break;
        case 'u':
            flags->user = optarg;
            break;
        case 'w':
            flags->workdir = optarg;
            break;
        case CREATE_ENTRYPOINT:
            flags->entrypoint = optarg;
            flags->entrypoint_set = true;
            break;
        case 'm':
        case CREATE_MEMORY_SWAP:
            if (option == CREATE_MEMORY_SWAP && strcmp(optarg, "-1") == 0)
                bytes = -1;
            else if (client_parse_memory(optarg, &bytes, err) < 0)
                return create_bad_value(verb, option == 'm' ? "-m, --memory" : "--memory-swap",
                                        optarg, err, exit_code);
            *(option == 'm' ? &flags->memory : &flags->memory_swap) = bytes;
            break;
        case CREATE_PIDS_LIMIT:
        case CREATE_STOP_TIMEOUT:
        case CREATE_CPU_SHARES:
            if (!client_parse_int(optarg, INT64_MIN, &number))
                return create_bad_value(verb, argv[optind - 1], optarg,
                                        &(struct keel_error){.message = "invalid syntax"},
                                        exit_code);
            if (option == CREATE_PIDS_LIMIT)
                flags->pids_limit = number;
            else if (option == CREATE_CPU_SHARES)
                flags->cpu_shares = number;
            else
                flags->stop_timeout = number, flags->stop_timeout_set = true;
            break;
        case CREATE_NETWORK:
            flags->network = optarg;
            break;
        case 'l': {
            size_t key = strcspn(optarg, "=");
            _cleanup_free_ char *name = strndup(optarg, key);
            if (name == NULL ||
                json_object_set_new(flags->labels, name,
                                    json_string(optarg[key] != '\0' ? optarg + key + 1 : "")) < 0)
                return keel_error_set(err, ENOMEM, "parse the options");
            break;
        }
        case 'h':
            flags->hostname = optarg;
            break;
        case CREATE_CPUS:
            if (client_parse_cpus(optarg, &flags->nano_cpus, err) < 0)
                return create_bad_value(verb, "--cpus", optarg, err, exit_code);
            break;
        case CREATE_SECURITY_OPT:
            if (create_security_option(optarg, flags->security_opt, err) < 0)
                return -1;
            break;
        case CREATE_STOP_SIGNAL:
            flags->stop_signal = optarg;
            break;
        case CREATE_PID:
            flags->pid = optarg;
            break;
        case CREATE_IPC:
            flags->ipc = optarg;
            break;
        case CREATE_UTS:
            flags->uts = optarg;
            break;
        case CREATE_HELP:
            create_print_help(run);
            *exit_code = 0;
            return 1;
        default:
            *exit_code = client_option_error(verb, option, argv);
            return 1;
        }
    }
    return 0;
}

int client_create_parse(int argc, char **argv, bool run, struct client_create *create,
                        int *exit_code, struct keel_error *err)
{
    const char *verb = run ? "run" : "create";
    struct create_flags flags = {
        .env = json_array(),
        .env_files = json_array(),
        .binds = json_array(),
        .volumes = json_object(),
        .labels = json_object(),
        .cap_add = json_array(),
        .cap_drop = json_array(),
        .security_opt = json_array(),
        .restart = json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0),
    };
    json_t *command = NULL;
    int result;

    *create = (struct client_create){.sig_proxy = true};
    *exit_code = -1;
    if (!flags.env || !flags.env_files || !flags.binds || !flags.volumes || !flags.labels ||
        !flags.cap_add || !flags.cap_drop || !flags.security_opt || !flags.restart) {
        result = keel_error_set(err, ENOMEM, "parse the options");
        goto out;
    }
    result = create_parse_flags(argc, argv, run, create, &flags, exit_code, err);
    if (result != 0)
        goto out;
    if (optind >= argc) {
        fprintf(stderr,
                "\"keel %s\" requires at least 1 argument.\nSee 'keel %s --help'.\n\nUsage:  keel "
                "%s [OPTIONS] "
                "IMAGE [COMMAND] [ARG...]\n\n%s\n",
                verb, verb, verb,
                run ? "Create and run a new container from an image" : "Create a new container");
        *exit_code = CLIENT_EXIT_FAILURE;
        result = 1;
        goto out;
    }
    const char *policy = json_string_value(json_object_get(flags.restart, "Name"));
    if (create->auto_remove && strcmp(policy, "no") != 0 && policy[0] != '\0') {
        result = keel_error_invalid(err, "Conflicting options: --restart and --rm");
        goto out;
    }
    create->image = strdup(argv[optind]);
    command = json_array();
    for (int i = optind + 1; command != NULL && i < argc; i++)
        if (json_array_append_new(command, json_string(argv[i])) < 0)
            break;
    if (create->image == NULL || command == NULL ||
        json_array_size(command) != (size_t)(argc - optind - 1) ||
        (create->request = create_build(&flags, create, command)) == NULL)
        result = keel_error_set(err, ENOMEM, "parse the options");
out:
    json_decref(command);
    create_flags_free(&flags);
    if (result != 0)
        client_create_free(create);
    return result;
}

void client_create_free(struct client_create *create)
{
    json_decref(create->request);
    free(create->name);
    free(create->image);
    *create = (struct client_create){0};
}
