/* cmd_client.c — the keel client's entry: which engine (-H, KEEL_HOST, argv[0]), the verbs,
 * requests and errors. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_client.h"
#include "commands.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0-dev"
#endif

#define CLIENT_REPLY_LIMIT (256u * 1024 * 1024) /* a whole answer read into memory */
#define CLIENT_ERROR_BODY_LIMIT (1u * 1024 * 1024)

struct client_verb {
    const char *name;
    int (*run)(const struct client *client, int argc, char **argv);
    const char *summary;
};

static const struct client_verb client_verbs[] = {
    {"attach", client_attach,
     "Attach local standard input, output, and error streams to a running container"},
    {"create", client_create, "Create a new container"},
    {"exec", client_exec, "Execute a command in a running container"},
    {"images", client_images, "List images"},
    {"info", client_info, "Display system-wide information"},
    {"inspect", client_inspect, "Return low-level information on containers and images"},
    {"kill", client_kill, "Kill one or more running containers"},
    {"load", client_load, "Load an image from a tar archive or STDIN"},
    {"logs", client_logs, "Fetch the logs of a container"},
    {"ps", client_ps, "List containers"},
    {"restart", client_restart, "Restart one or more containers"},
    {"rm", client_rm, "Remove one or more containers"},
    {"rmi", client_rmi, "Remove one or more images"},
    {"run", client_run, "Create and run a new container from an image"},
    {"start", client_start, "Start one or more stopped containers"},
    {"stop", client_stop, "Stop one or more running containers"},
    {"version", client_version, "Show the keel version information"},
    {"wait", client_wait, "Block until one or more containers stop, then print their exit codes"},
};
#define CLIENT_VERB_COUNT (sizeof client_verbs / sizeof client_verbs[0])

static const struct client_verb *client_find_verb(const char *name)
{
    for (size_t i = 0; i < CLIENT_VERB_COUNT; i++)
        if (strcmp(client_verbs[i].name, name) == 0)
            return &client_verbs[i];
    return NULL;
}

static bool client_is_system(const char *argv0)
{
    if (argv0 == NULL)
        return false;
    const char *slash = strrchr(argv0, '/');
    return strcmp(slash != NULL ? slash + 1 : argv0, "system-keel") == 0;
}

static void client_print_usage(FILE *stream, const char *program)
{
    fprintf(stream,
            "Usage:  %s [OPTIONS] COMMAND\n"
            "\n"
            "A client for Keel's engine (the Docker Engine API %s on a unix socket).\n"
            "\n"
            "Options:\n"
            "  -H, --host string   the engine's socket (default: $KEEL_HOST, else %s)\n"
            "\n"
            "Commands:\n",
            program, CLIENT_API_VERSION,
            client_is_system(program) ? CLIENT_SYSTEM_HOST : CLIENT_DEFAULT_HOST);
    for (size_t i = 0; i < CLIENT_VERB_COUNT; i++)
        fprintf(stream, "  %-9s %s\n", client_verbs[i].name, client_verbs[i].summary);
    fprintf(stream, "\nRun '%s COMMAND --help' for more information on a command.\n", program);
}

int cmd_client(int argc, char **argv)
{
    const char *program = client_is_system(argv[0]) ? "system-keel" : "keel";
    const char *host = getenv("KEEL_HOST");
    int index = 1;

    if (host != NULL && host[0] == '\0')
        host = NULL;
    for (; index < argc && argv[index][0] == '-'; index++) {
        const char *argument = argv[index];
        if (strcmp(argument, "-H") == 0 || strcmp(argument, "--host") == 0) {
            if (index + 1 >= argc) {
                fprintf(stderr, "flag needs an argument: %s\nSee '%s --help'.\n", argument,
                        program);
                return CLIENT_EXIT_ENGINE;
            }
            host = argv[++index];
        } else if (strncmp(argument, "--host=", 7) == 0) {
            host = argument + 7;
        } else if (strncmp(argument, "-H", 2) == 0 && argument[2] != '-') {
            host = argument + 2;
        } else if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            client_print_usage(stdout, program);
            return 0;
        } else if (strcmp(argument, "--version") == 0 || strcmp(argument, "-v") == 0) {
            printf("keel version %s\n", KEEL_VERSION);
            return 0;
        } else {
            fprintf(stderr, "unknown flag: %s\nSee '%s --help'.\n", argument, program);
            return CLIENT_EXIT_ENGINE;
        }
    }
    if (index >= argc) {
        client_print_usage(stderr, program);
        return CLIENT_EXIT_FAILURE;
    }
    const struct client_verb *verb = client_find_verb(argv[index]);
    if (verb == NULL) {
        fprintf(stderr, "%s: '%s' is not a %s command.\nSee '%s --help'\n", program, argv[index],
                program, program);
        return CLIENT_EXIT_FAILURE;
    }

    struct client client = {.program = program};
    struct keel_error err = {0};
    client.host = host != NULL                          ? host
                  : strcmp(program, "system-keel") == 0 ? CLIENT_SYSTEM_HOST
                                                        : CLIENT_DEFAULT_HOST;
    if (http_client_parse_host(client.host, &client.socket_path, &err) < 0) {
        fprintf(stderr, "%s: %s\n", program, err.message);
        return CLIENT_EXIT_FAILURE;
    }
    /* getopt's own messages are replaced by docker's (client_option_error). */
    opterr = 0;
    int code = verb->run(&client, argc - index, argv + index);
    free(client.socket_path);
    if (fflush(stdout) != 0 && code == 0)
        code = CLIENT_EXIT_FAILURE;
    return code;
}

/* ---- request targets ---- */

/* Go's url escaping: a path keeps its sub-delimiters, a query value keeps
 * only the unreserved characters (and writes a space as '+'). */
static void client_escape(FILE *stream, const char *text, bool query)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        if (isalnum(*c) || strchr("-._~", *c) != NULL)
            fputc(*c, stream);
        else if (!query && strchr("$&+,/:;=@", *c) != NULL)
            fputc(*c, stream);
        else if (query && *c == ' ')
            fputc('+', stream);
        else
            fprintf(stream, "%%%02X", *c);
    }
}

int client_target(char **target, struct keel_error *err, const char *format, ...)
{
    size_t length = 0;
    bool query = false;
    va_list args;

    *target = NULL;
    FILE *stream = open_memstream(target, &length);
    if (stream == NULL)
        return keel_error_set(err, errno, "format a request");
    fputs("/v" CLIENT_API_VERSION, stream);
    va_start(args, format);
    for (const char *c = format; *c != '\0'; c++) {
        if (*c != '%') {
            query = query || *c == '?';
            fputc(*c, stream);
            continue;
        }
        c++;
        if (*c == 's')
            client_escape(stream, va_arg(args, const char *), query);
        else if (*c == 'r') {
            const char *raw = va_arg(args, const char *);
            query = query || strchr(raw, '?') != NULL;
            fputs(raw, stream);
        } else if (*c == 'd')
            fprintf(stream, "%d", va_arg(args, int));
        else if (*c == '%')
            fputc('%', stream);
        else
            break; /* a programming error: stop the target there */
    }
    va_end(args);
    if (ferror(stream) | (fclose(stream) != 0)) {
        free(steal_pointer(target));
        return keel_error_set(err, ENOMEM, "format a request");
    }
    return 0;
}

/* ---- requests ---- */

json_t *client_parse_json(const char *text, size_t length, struct keel_error *err)
{
    json_error_t json_error;
    json_t *value = json_loadb(text, length, JSON_DECODE_ANY, &json_error);
    if (value == NULL)
        keel_error_invalid(err, "bad answer from the engine: %s", json_error.text);
    return value;
}

int client_daemon_error(int status, const char *body, struct keel_error *err)
{
    json_t *reply = body != NULL ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
    const char *message = json_string_value(json_object_get(reply, "message"));
    int errno_value = status == 404   ? ENOENT
                      : status == 409 ? EEXIST
                      : status == 400 ? EINVAL
                                      : EIO;

    if (message != NULL) {
        keel_error_set(err, 0, "Error response from daemon: %s", message);
    } else if (body != NULL && body[0] != '\0') {
        size_t length = strlen(body);
        while (length > 0 && isspace((unsigned char)body[length - 1]))
            length--;
        keel_error_set(err, 0, "Error response from daemon: %.*s", (int)length, body);
    } else {
        keel_error_set(err, 0, "Error response from daemon: HTTP status %d", status);
    }
    err->errno_value = errno_value;
    json_decref(reply);
    return -1;
}

int client_open(const struct client *client, struct http_client *http, const char *method,
                const char *target, const char *content_type, const char *body, size_t length,
                bool upgrade, struct http_client_response *response, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t text_length = 0;

    *response = (struct http_client_response){0};
    if (http_client_connect(http, client->socket_path, err) < 0)
        return -1;
    if (http_client_send(http, method, target, content_type, NULL, body, length, upgrade, err) <
            0 ||
        http_client_read_head(http, response, err) < 0)
        goto fail;
    if (response->status < 400)
        return 0;
    int status = response->status;
    http_client_response_free(response);
    if (http_client_read_body_all(http, CLIENT_ERROR_BODY_LIMIT, &text, &text_length, err) < 0)
        goto fail;
    client_daemon_error(status, text, err);
fail:
    http_client_response_free(response);
    http_client_close(http);
    return -1;
}

int client_call_text(const struct client *client, const char *method, const char *target,
                     const json_t *body, char **reply, struct keel_error *err)
{
    struct http_client http;
    struct http_client_response response;
    _cleanup_free_ char *body_text = NULL;
    size_t length = 0;

    *reply = NULL;
    if (body != NULL && (body_text = json_dumps(body, JSON_COMPACT)) == NULL)
        return keel_error_set(err, ENOMEM, "format a request");
    if (client_open(client, &http, method, target, body_text != NULL ? "application/json" : NULL,
                    body_text, body_text != NULL ? strlen(body_text) : 0, false, &response,
                    err) < 0)
        return -1;
    http_client_response_free(&response);
    int result = http_client_read_body_all(&http, CLIENT_REPLY_LIMIT, reply, &length, err);
    http_client_close(&http);
    return result;
}

int client_call(const struct client *client, const char *method, const char *target,
                const json_t *body, json_t **reply, struct keel_error *err)
{
    _cleanup_free_ char *text = NULL;

    if (reply != NULL)
        *reply = NULL;
    if (client_call_text(client, method, target, body, &text, err) < 0)
        return -1;
    if (reply == NULL)
        return 0;
    size_t length = strlen(text);
    while (length > 0 && isspace((unsigned char)text[length - 1]))
        length--;
    if (length == 0)
        return 0;
    *reply = client_parse_json(text, length, err);
    return *reply != NULL ? 0 : -1;
}

/* ---- errors and options ---- */

int client_report(const struct keel_error *err, int code)
{
    fprintf(stderr, "%s\n", err->message);
    return code;
}

void client_report_run(const char *verb, const char *message, bool help)
{
    size_t length = strlen(message);
    if (length > 0 && message[length - 1] == '.')
        length--;
    fprintf(stderr, "keel: %.*s.\n", (int)length, message);
    if (help)
        fprintf(stderr, "See 'keel %s --help'.\n", verb);
}

int client_start_exit_code(const char *message)
{
    /* Only the engine's words about the command: a socket that is not
     * there is also "No such file or directory", and is the client's 125. */
    if (strncmp(message, "Error response from daemon: ", 28) != 0)
        return CLIENT_EXIT_ENGINE;
    /* Go's error text ("no such file or directory") and strerror's ("No
     * such file or directory") both count. */
    if (strstr(message, "executable file not found") != NULL ||
        strcasestr(message, "no such file or directory") != NULL)
        return CLIENT_EXIT_NOT_FOUND;
    if (strcasestr(message, "permission denied") != NULL ||
        strcasestr(message, "is a directory") != NULL)
        return CLIENT_EXIT_CANNOT_INVOKE;
    return CLIENT_EXIT_ENGINE;
}

int client_usage_error(const char *verb, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nSee 'keel %s --help'.\n", verb);
    return CLIENT_EXIT_ENGINE;
}

int client_option_error(const char *verb, int result, char **argv)
{
    const char *argument = optind > 0 ? argv[optind - 1] : "";
    size_t length = strcspn(argument, "=");

    if (strncmp(argument, "--", 2) == 0) {
        if (result == ':')
            return client_usage_error(verb, "flag needs an argument: %.*s", (int)length, argument);
        return client_usage_error(verb, "unknown flag: %.*s", (int)length, argument);
    }
    if (result == ':')
        return client_usage_error(verb, "flag needs an argument: '%c' in -%c", optopt, optopt);
    return client_usage_error(verb, "unknown shorthand flag: '%c' in -%c", optopt, optopt);
}

bool client_parse_int(const char *text, long long minimum, long long *value)
{
    char *end;
    errno = 0;
    long long parsed = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < minimum)
        return false;
    *value = parsed;
    return true;
}
