/* cmd_client_system.c — `keel info` and `version`: the engine's facts and versions, the client's
 * beside them, as docker prints them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_client.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

#if defined(__x86_64__)
#define SYSTEM_CLIENT_ARCH "amd64"
#elif defined(__aarch64__)
#define SYSTEM_CLIENT_ARCH "arm64"
#else
#define SYSTEM_CLIENT_ARCH "unknown"
#endif

/* A value as docker prints a field: strings as they are, else JSON. */
static void system_print_value(const json_t *value)
{
    if (json_is_string(value)) {
        fputs(json_string_value(value), stdout);
    } else {
        _cleanup_free_ char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(text != NULL ? text : "", stdout);
    }
}

/* " Label: value", only for a field the engine gave. */
static void info_line(const char *label, const json_t *info, const char *field)
{
    const json_t *value = json_object_get(info, field);
    if (value == NULL || json_is_null(value))
        return;
    printf("%s: ", label);
    system_print_value(value);
    putchar('\n');
}

/* "name=seccomp,profile=default" -> "  seccomp\n   Profile: default". */
static void info_security_option(const char *option)
{
    _cleanup_free_ char *copy = strdup(option);
    char *state = NULL;
    if (copy == NULL)
        return;
    for (char *pair = strtok_r(copy, ",", &state); pair != NULL;
         pair = strtok_r(NULL, ",", &state)) {
        char *equals = strchr(pair, '=');
        if (equals == NULL) {
            printf("  %s\n", pair);
        } else if (strncmp(pair, "name=", 5) == 0) {
            printf("  %s\n", equals + 1);
        } else {
            *equals = '\0';
            printf("   %c%s: %s\n",
                   pair[0] >= 'a' && pair[0] <= 'z' ? pair[0] - 'a' + 'A' : pair[0], pair + 1,
                   equals + 1);
        }
    }
}

static int system_compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void info_print_server(const json_t *info)
{
    static const struct {
        const char *label, *field;
    } middle[] = {
        {" Logging Driver", "LoggingDriver"},
        {" Cgroup Driver", "CgroupDriver"},
        {" Cgroup Version", "CgroupVersion"},
    };
    static const struct {
        const char *label, *field;
    } tail[] = {
        {" Kernel Version", "KernelVersion"},
        {" Operating System", "OperatingSystem"},
        {" OSType", "OSType"},
        {" Architecture", "Architecture"},
        {" CPUs", "NCPU"},
    };
    size_t index;
    const json_t *item;
    const char *key;
    json_t *value;

    printf("Server:\n");
    info_line(" Containers", info, "Containers");
    info_line("  Running", info, "ContainersRunning");
    info_line("  Paused", info, "ContainersPaused");
    info_line("  Stopped", info, "ContainersStopped");
    info_line(" Images", info, "Images");
    info_line(" Server Version", info, "ServerVersion");
    info_line(" Storage Driver", info, "Driver");
    json_array_foreach(json_object_get(info, "DriverStatus"), index, item)
        printf("  %s: %s\n", json_string_value(json_array_get(item, 0)) ?: "",
               json_string_value(json_array_get(item, 1)) ?: "");
    for (size_t i = 0; i < sizeof middle / sizeof middle[0]; i++)
        info_line(middle[i].label, info, middle[i].field);
    if (json_object_size(json_object_get(info, "Runtimes")) > 0) {
        _cleanup_free_ const char **names =
            calloc(json_object_size(json_object_get(info, "Runtimes")), sizeof *names);
        size_t count = 0;
        json_object_foreach(json_object_get(info, "Runtimes"), key, value)
        {
            if (names != NULL)
                names[count++] = key;
        }
        if (names != NULL)
            qsort(names, count, sizeof *names, system_compare_names);
        printf(" Runtimes:");
        for (size_t i = 0; i < count; i++)
            printf(" %s", names[i]);
        putchar('\n');
    }
    info_line(" Default Runtime", info, "DefaultRuntime");
    info_line(" Init Binary", info, "InitBinary");
    if (json_array_size(json_object_get(info, "SecurityOptions")) > 0) {
        printf(" Security Options:\n");
        json_array_foreach(json_object_get(info, "SecurityOptions"), index, item)
            info_security_option(json_string_value(item) ?: "");
    }
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        info_line(tail[i].label, info, tail[i].field);
    if (json_is_integer(json_object_get(info, "MemTotal"))) {
        char memory[24];
        client_format_binary_size((double)json_integer_value(json_object_get(info, "MemTotal")),
                                  memory, sizeof memory);
        printf(" Total Memory: %s\n", memory);
    }
    info_line(" Name", info, "Name");
    info_line(" ID", info, "ID");
    info_line(" Docker Root Dir", info, "DockerRootDir");
    /* docker says these even when the engine leaves them out: false */
    printf(" Debug Mode: %s\n", json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
    printf(" Experimental: %s\n",
           json_is_true(json_object_get(info, "ExperimentalBuild")) ? "true" : "false");
    printf(" Live Restore Enabled: %s\n",
           json_is_true(json_object_get(info, "LiveRestoreEnabled")) ? "true" : "false");
    if (json_array_size(json_object_get(info, "Warnings")) > 0)
        putchar('\n');
    fflush(stdout); /* the warnings come last, as docker's */
    json_array_foreach(json_object_get(info, "Warnings"), index, item)
        fprintf(stderr, "%s\n", json_string_value(item) ?: "");
}

int client_info(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL;
    struct keel_error err = {0};
    json_t *info = NULL;
    int option, code = 0;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":f:", options, NULL)) != -1) {
        if (option == 'f')
            format = optarg;
        else if (option == 'H')
            return printf("\nUsage:  keel info [OPTIONS]\n\nDisplay system-wide "
                          "information\n\nOptions:\n"
                          "  -f, --format string   'json', or a Go template\n"),
                   0;
        else
            return client_option_error("info", option, argv);
    }
    int reached = client_call(client, "GET", "/v" CLIENT_API_VERSION "/info", NULL, &info, &err);
    if (format != NULL) {
        json_t *all = json_is_object(info) ? json_deep_copy(info) : json_object();
        json_object_set_new(all, "ClientInfo",
                            json_pack("{s:b,s:s,s:s,s:[]}", "Debug", 0, "Version", KEEL_VERSION,
                                      "Context", "default", "Plugins"));
        if (reached < 0)
            json_object_set_new(all, "ServerErrors", json_pack("[s]", err.message));
        if (client_template_render(strcmp(format, "json") == 0 ? "{{json .}}" : format, all, stdout,
                                   &err) < 0)
            code = client_report(&err, CLIENT_EXIT_TEMPLATE);
        else
            putchar('\n');
        json_decref(all);
        json_decref(info);
        return code != 0 ? code : reached < 0 ? CLIENT_EXIT_FAILURE : 0;
    }
    printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\n", KEEL_VERSION);
    if (reached < 0) {
        printf("Server:\nERROR: %s\n", err.message);
        fprintf(stderr, "errors pretty printing info\n");
        return CLIENT_EXIT_FAILURE;
    }
    info_print_server(info);
    json_decref(info);
    return 0;
}

/* docker's version template: "key:" in a column of 20 (tabwriter 20, 1, 1). */
static void version_line(const char *label, const char *value)
{
    printf("%-20s%s\n", label, value != NULL ? value : "");
}

static void version_print_server(const json_t *server)
{
    const char *platform =
        json_string_value(json_object_get(json_object_get(server, "Platform"), "Name"));
    const json_t *components = json_object_get(server, "Components");
    size_t index;
    const json_t *component;

    printf("\nServer:%s%s\n", platform != NULL && platform[0] != '\0' ? " " : "",
           platform != NULL ? platform : "");
    if (json_array_size(components) == 0) {
        /* An engine before components: its top-level fields are the engine's. */
        json_t *engine =
            json_pack("{s:s,s:O,s:O}", "Name", "Engine", "Version",
                      json_object_get(server, "Version") ?: json_null(), "Details", server);
        components = engine != NULL ? json_pack("[o]", engine) : NULL;
    } else {
        json_incref((json_t *)components);
    }
    json_array_foreach(components, index, component)
    {
        const char *name = json_string_value(json_object_get(component, "Name")) ?: "";
        const json_t *details = json_object_get(component, "Details");
        const char *version = json_string_value(json_object_get(component, "Version"));
        printf(" %s:\n", name);
        version_line("  Version:", version);
        if (strcmp(name, "Engine") != 0) {
            const char *key;
            json_t *value;
            json_object_foreach((json_t *)details, key, value)
            {
                printf("  %s:%*s", key, (int)(strlen(key) + 3 < 20 ? 20 - strlen(key) - 3 : 1), "");
                system_print_value(value);
                putchar('\n');
            }
            continue;
        }
        char api[64], os_arch[64];
        const char *api_version = json_string_value(json_object_get(details, "ApiVersion"));
        const char *minimum = json_string_value(json_object_get(details, "MinAPIVersion"));
        snprintf(api, sizeof api, "%s (minimum version %s)", api_version ?: "", minimum ?: "");
        snprintf(os_arch, sizeof os_arch, "%s/%s",
                 json_string_value(json_object_get(details, "Os")) ?: "",
                 json_string_value(json_object_get(details, "Arch")) ?: "");
        version_line("  API version:", api);
        if (json_object_get(details, "GoVersion") != NULL)
            version_line("  Go version:", json_string_value(json_object_get(details, "GoVersion")));
        if (json_object_get(details, "GitCommit") != NULL)
            version_line("  Git commit:", json_string_value(json_object_get(details, "GitCommit")));
        if (json_object_get(details, "BuildTime") != NULL)
            version_line("  Built:", json_string_value(json_object_get(details, "BuildTime")));
        version_line("  OS/Arch:", os_arch);
        if (json_object_get(details, "Experimental") != NULL) {
            printf("%-20s", "  Experimental:");
            system_print_value(json_object_get(details, "Experimental"));
            putchar('\n');
        }
    }
    json_decref((json_t *)components);
}

int client_version(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL;
    struct keel_error err = {0};
    json_t *server = NULL;
    int option, code = 0;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":f:", options, NULL)) != -1) {
        if (option == 'f')
            format = optarg;
        else if (option == 'H')
            return printf("\nUsage:  keel version [OPTIONS]\n\nShow the keel version "
                          "information\n\nOptions:\n"
                          "  -f, --format string   'json', or a Go template\n"),
                   0;
        else
            return client_option_error("version", option, argv);
    }
    int reached =
        client_call(client, "GET", "/v" CLIENT_API_VERSION "/version", NULL, &server, &err);
    if (format != NULL) {
        json_t *all = json_pack("{s:{s:{s:s},s:s,s:s,s:s,s:s,s:s,s:s},s:O}", "Client", "Platform",
                                "Name", "", "Version", KEEL_VERSION, "ApiVersion",
                                CLIENT_API_VERSION, "DefaultAPIVersion", CLIENT_API_VERSION, "Os",
                                "linux", "Arch", SYSTEM_CLIENT_ARCH, "Context", "default", "Server",
                                reached == 0 && server != NULL ? server : json_null());
        if (all == NULL ||
            client_template_render(strcmp(format, "json") == 0 ? "{{json .}}" : format, all, stdout,
                                   &err) < 0)
            code = client_report(&err, CLIENT_EXIT_TEMPLATE);
        else
            putchar('\n');
        json_decref(all);
    } else {
        printf("Client:\n");
        version_line(" Version:", KEEL_VERSION);
        version_line(" API version:", CLIENT_API_VERSION);
        version_line(" OS/Arch:", "linux/" SYSTEM_CLIENT_ARCH);
        version_line(" Context:", "default");
        if (reached == 0)
            version_print_server(server);
    }
    json_decref(server);
    if (reached < 0 && code == 0) {
        fflush(stdout);
        code = client_report(&err, CLIENT_EXIT_FAILURE);
    }
    return code;
}
