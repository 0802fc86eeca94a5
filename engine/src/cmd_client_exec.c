/* cmd_client_exec.c — `keel exec`: a command in a running container, streamed; exits with its
 * ExitCode. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_client.h"

static const char exec_usage[] =
    "\nUsage:  keel exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
    "Execute a command in a running container\n\nOptions:\n"
    "  -d, --detach               Detached mode: run command in the background\n"
    "  -e, --env list             Set environment variables\n"
    "  -i, --interactive          Keep STDIN open even if not attached\n"
    "      --privileged           Give extended privileges to the command\n"
    "  -t, --tty                  Allocate a pseudo-TTY\n"
    "  -u, --user string          Username or UID (format: \"<name|uid>[:<group|gid>]\")\n"
    "  -w, --workdir string       Working directory inside the container\n";

struct exec_options {
    bool detach, interactive, tty, privileged;
    const char *user, *workdir, *detach_keys;
    json_t *env;
};

static int exec_parse(int argc, char **argv, struct exec_options *options, int *exit_code)
{
    enum { EXEC_PRIVILEGED = 0x100, EXEC_DETACH_KEYS, EXEC_HELP };
    static const struct option long_options[] = {
        {"detach", no_argument, NULL, 'd'},
        {"interactive", no_argument, NULL, 'i'},
        {"tty", no_argument, NULL, 't'},
        {"env", required_argument, NULL, 'e'},
        {"user", required_argument, NULL, 'u'},
        {"workdir", required_argument, NULL, 'w'},
        {"privileged", no_argument, NULL, EXEC_PRIVILEGED},
        {"detach-keys", required_argument, NULL, EXEC_DETACH_KEYS},
        {"help", no_argument, NULL, EXEC_HELP},
        {NULL, 0, NULL, 0},
    };
    int option;

    optind = 0;
    /* '+': the command's own options are not ours. */
    while ((option = getopt_long(argc, argv, "+:dite:u:w:", long_options, NULL)) != -1) {
        switch (option) {
        case 'd':
            options->detach = true;
            break;
        case 'i':
            options->interactive = true;
            break;
        case 't':
            options->tty = true;
            break;
        case 'e': {
            char *value = client_env_value(optarg);
            if (value == NULL || json_array_append_new(options->env, json_string(value)) < 0) {
                free(value);
                *exit_code = CLIENT_EXIT_FAILURE;
                return 1;
            }
            free(value);
            break;
        }
        case 'u':
            options->user = optarg;
            break;
        case 'w':
            options->workdir = optarg;
            break;
        case EXEC_PRIVILEGED:
            options->privileged = true;
            break;
        case EXEC_DETACH_KEYS:
            options->detach_keys = optarg;
            break;
        case EXEC_HELP:
            printf("%s", exec_usage);
            *exit_code = 0;
            return 1;
        default:
            *exit_code = client_option_error("exec", option, argv);
            return 1;
        }
    }
    if (argc - optind < 2) {
        fprintf(
            stderr,
            "\"keel exec\" requires at least 2 arguments.\nSee 'keel exec --help'.\n\nUsage:  keel "
            "exec "
            "[OPTIONS] CONTAINER COMMAND [ARG...]\n\nExecute a command in a running container\n");
        *exit_code = CLIENT_EXIT_FAILURE;
        return 1;
    }
    return 0;
}

/* docker's ExecConfig, as its CLI fills it. */
static json_t *exec_request(const struct exec_options *options, int argc, char **argv)
{
    json_t *command = json_array();
    for (int i = 0; command != NULL && i < argc; i++)
        if (json_array_append_new(command, json_string(argv[i])) < 0) {
            json_decref(command);
            return NULL;
        }
    bool attach = !options->detach;
    return json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:s,s:O,s:s,s:o}", "User",
                     options->user != NULL ? options->user : "", "Privileged", options->privileged,
                     "Tty", options->tty, "AttachStdin", attach && options->interactive,
                     "AttachStderr", attach, "AttachStdout", attach, "Detach", options->detach,
                     "DetachKeys", options->detach_keys != NULL ? options->detach_keys : "", "Env",
                     json_array_size(options->env) > 0 ? options->env : json_null(), "WorkingDir",
                     options->workdir != NULL ? options->workdir : "", "Cmd", command);
}

/* The exec's ExitCode, once its stream has ended. */
static int exec_exit_code(const struct client *client, const char *exec_id, struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    json_t *reply = NULL;
    if (client_target(&target, err, "/exec/%s/json", exec_id) < 0 ||
        client_call(client, "GET", target, NULL, &reply, err) < 0)
        return client_report(err, CLIENT_EXIT_FAILURE);
    int code = (int)json_integer_value(json_object_get(reply, "ExitCode"));
    json_decref(reply);
    return code;
}

static int exec_run(const struct client *client, const struct exec_options *options,
                    const char *container, int argc, char **argv)
{
    struct keel_error err = {0};
    _cleanup_free_ char *inspect_target = NULL, *create_target = NULL, *start_target = NULL,
                        *start_text = NULL;
    json_t *reply = NULL, *request = NULL;
    int code = CLIENT_EXIT_FAILURE;

    /* docker checks the container first: "No such container" before anything. */
    if (client_target(&inspect_target, &err, "/containers/%s/json", container) < 0 ||
        client_call(client, "GET", inspect_target, NULL, NULL, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    if (!options->detach && options->tty && options->interactive && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "the input device is not a TTY\n");
        return CLIENT_EXIT_FAILURE;
    }
    if ((request = exec_request(options, argc, argv)) == NULL)
        return client_report(&(struct keel_error){.message = "keel exec: out of memory"},
                             CLIENT_EXIT_FAILURE);
    if (client_target(&create_target, &err, "/containers/%s/exec", container) < 0 ||
        client_call(client, "POST", create_target, request, &reply, &err) < 0) {
        code = client_report(&err, CLIENT_EXIT_FAILURE);
        goto out;
    }
    const char *exec_id = json_string_value(json_object_get(reply, "Id"));
    if (exec_id == NULL) {
        fprintf(stderr, "bad answer from the engine: no Id for the exec\n");
        goto out;
    }
    json_t *start = json_pack("{s:b,s:b}", "Detach", options->detach, "Tty", options->tty);
    if (start == NULL || client_target(&start_target, &err, "/exec/%s/start", exec_id) < 0) {
        json_decref(start);
        goto out;
    }
    if (options->detach) {
        code = client_call(client, "POST", start_target, start, NULL, &err) < 0
                   ? client_report(&err, code)
                   : 0;
        json_decref(start);
        goto out;
    }
    start_text = json_dumps(start, JSON_COMPACT);
    json_decref(start);
    struct http_client http;
    struct http_client_response response;
    if (start_text == NULL ||
        client_open(client, &http, "POST", start_target, "application/json", start_text,
                    strlen(start_text), true, &response, &err) < 0) {
        /* Docker's engine says a command it cannot run in the stream and
         * in the exec's ExitCode (126, 127); an engine that answers the
         * start with the error instead gets the same codes. */
        code = client_start_exit_code(err.message);
        code = client_report(&err, code == CLIENT_EXIT_ENGINE ? CLIENT_EXIT_FAILURE : code);
        goto out;
    }
    http_client_response_free(&response);
    struct client_session session = {
        .client = client,
        .exec_id = exec_id,
        .input = options->interactive,
        .tty = options->tty,
    };
    int streamed = client_session_stream(&session, &http, &err);
    http_client_close(&http);
    if (streamed < 0)
        code = client_report(&err, CLIENT_EXIT_FAILURE);
    else if (streamed > 0)
        code = 0;
    else
        code = exec_exit_code(client, exec_id, &err);
out:
    json_decref(request);
    json_decref(reply);
    return code;
}

int client_exec(const struct client *client, int argc, char **argv)
{
    struct exec_options options = {.env = json_array()};
    int code;

    if (options.env == NULL)
        return CLIENT_EXIT_FAILURE;
    if (exec_parse(argc, argv, &options, &code) == 0)
        code = exec_run(client, &options, argv[optind], argc - optind - 1, argv + optind + 1);
    json_decref(options.env);
    return code;
}
