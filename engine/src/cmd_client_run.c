/* cmd_client_run.c — `keel run`, `create`, `start` and `attach`: create, attach, wait, start,
 * stream and exit as docker does. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_client.h"

#define RUN_WAIT_BODY_LIMIT (64 * 1024)

/* ---- the attached session ---- */

void client_session_resize(const struct client_session *session)
{
    struct winsize size;
    _cleanup_free_ char *target = NULL;
    struct keel_error err = {0};

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) < 0 || size.ws_row == 0 || size.ws_col == 0)
        return;
    if (session->exec_id != NULL)
        client_target(&target, &err, "/exec/%s/resize?h=%d&w=%d", session->exec_id, size.ws_row,
                      size.ws_col);
    else if (session->container_id != NULL)
        client_target(&target, &err, "/containers/%s/resize?h=%d&w=%d", session->container_id,
                      size.ws_row, size.ws_col);
    if (target != NULL)
        client_call(session->client, "POST", target, NULL, NULL, &err);
}

/* docker's sig-proxy: a signal the client gets goes to the container. */
static void client_session_on_signal(int signal, void *data)
{
    const struct client_session *session = data;
    _cleanup_free_ char *target = NULL;
    struct keel_error err = {0};
    const char *name = sigabbrev_np(signal);

    if (signal == SIGWINCH) {
        client_session_resize(session);
        return;
    }
    if (session->container_id == NULL || name == NULL)
        return;
    if (client_target(&target, &err, "/containers/%s/kill?signal=%s", session->container_id, name) <
            0 ||
        client_call(session->client, "POST", target, NULL, NULL, &err) < 0)
        fprintf(stderr, "keel: forward signal %s: %s\n", name, err.message);
}

int client_session_stream(const struct client_session *session, struct http_client *http,
                          struct keel_error *err)
{
    _cleanup_free_ char *buffered = NULL;
    size_t buffered_length = 0;
    struct termios saved;
    bool raw = false;
    int result;

    http_client_take_buffered(http, &buffered, &buffered_length);
    struct client_stream stream = {
        .socket = http->fd,
        .buffered = buffered,
        .buffered_length = buffered_length,
        .multiplexed = !session->tty,
        .input = session->input ? STDIN_FILENO : -1,
        .detach_keys = session->tty && session->input,
        .on_signal = client_session_on_signal,
        .data = (void *)session,
    };
    sigemptyset(&stream.signals);
    if (session->sig_proxy && !session->tty && session->container_id != NULL) {
        static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                        SIGUSR1, SIGUSR2, SIGALRM};
        for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
            sigaddset(&stream.signals, forwarded[i]);
    }
    if (session->tty && isatty(STDOUT_FILENO)) {
        sigaddset(&stream.signals, SIGWINCH);
        client_session_resize(session);
    }
    if (session->tty && session->input && isatty(STDIN_FILENO)) {
        if (client_terminal_make_raw(STDIN_FILENO, &saved, err) < 0)
            return -1;
        raw = true;
    }
    result = client_stream_run(&stream, err);
    if (raw)
        client_terminal_restore(STDIN_FILENO, &saved);
    return result;
}

/* ---- steps ---- */

/* Send a request and leave its answer to be read later (the wait, sent
 * before the start so that no exit is missed). */
static int run_send(const struct client *client, struct http_client *http, const char *method,
                    const char *target, struct keel_error *err)
{
    if (http_client_connect(http, client->socket_path, err) < 0)
        return -1;
    if (http_client_send(http, method, target, NULL, NULL, NULL, 0, false, err) < 0) {
        http_client_close(http);
        return -1;
    }
    return 0;
}

/* The wait's answer: {"StatusCode": N, "Error": {"Message": ...}}. */
static int run_wait_result(struct http_client *http, int *status_code, struct keel_error *err)
{
    struct http_client_response response;
    _cleanup_free_ char *text = NULL;
    size_t length;

    if (http_client_read_head(http, &response, err) < 0)
        return keel_error_prefix(err, "Error waiting for container");
    int status = response.status;
    http_client_response_free(&response);
    if (http_client_read_body_all(http, RUN_WAIT_BODY_LIMIT, &text, &length, err) < 0)
        return keel_error_prefix(err, "Error waiting for container");
    if (status >= 400)
        return client_daemon_error(status, text, err);
    json_t *reply = client_parse_json(text, length, err);
    if (reply == NULL)
        return keel_error_prefix(err, "Error waiting for container");
    json_t *code = json_object_get(reply, "StatusCode");
    const char *message =
        json_string_value(json_object_get(json_object_get(reply, "Error"), "Message"));
    int result = 0;
    if (message != NULL && message[0] != '\0')
        result = keel_error_set(err, 0, "Error waiting for container: %s", message);
    else if (!json_is_integer(code))
        result = keel_error_invalid(
            err, "Error waiting for container: no StatusCode in the engine's answer");
    else
        *status_code = (int)json_integer_value(code);
    json_decref(reply);
    return result;
}

/* POST /containers/create: *id is heap; warnings go to stderr. */
static int run_create_container(const struct client *client, const struct client_create *create,
                                char **id, struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    json_t *reply = NULL;

    if ((create->name != NULL
             ? client_target(&target, err, "/containers/create?name=%s", create->name)
             : client_target(&target, err, "/containers/create")) < 0 ||
        client_call(client, "POST", target, create->request, &reply, err) < 0)
        return -1;
    json_t *warning;
    size_t index;
    json_array_foreach(json_object_get(reply, "Warnings"), index, warning)
        fprintf(stderr, "WARNING: %s\n",
                json_string_value(warning) != NULL ? json_string_value(warning) : "");
    const char *found = json_string_value(json_object_get(reply, "Id"));
    *id = found != NULL ? strdup(found) : NULL;
    json_decref(reply);
    if (found == NULL)
        return keel_error_invalid(err, "bad answer from the engine: no Id for the new container");
    if (*id == NULL)
        return keel_error_set(err, ENOMEM, "create");
    return 0;
}

static int run_start_container(const struct client *client, const char *id, struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    if (client_target(&target, err, "/containers/%s/start", id) < 0)
        return -1;
    return client_call(client, "POST", target, NULL, NULL, err);
}

/* POST /containers/ID/attach, hijacked: the stream starts after the 101. */
static int run_attach_container(const struct client *client, const char *id, bool input,
                                struct http_client *http, struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    struct http_client_response response;

    if ((input ? client_target(&target, err,
                               "/containers/%s/attach?stderr=1&stdin=1&stdout=1&stream=1", id)
               : client_target(&target, err, "/containers/%s/attach?stderr=1&stdout=1&stream=1",
                               id)) < 0)
        return -1;
    if (client_open(client, http, "POST", target, "text/plain", NULL, 0, true, &response, err) < 0)
        return -1;
    http_client_response_free(&response);
    return 0;
}

/* A container that failed to start under --rm: remove it, whether or not
 * the engine already did. */
static void run_remove_container(const struct client *client, const char *id)
{
    _cleanup_free_ char *target = NULL;
    struct keel_error err = {0};
    if (client_target(&target, &err, "/containers/%s?force=1", id) == 0)
        client_call(client, "DELETE", target, NULL, NULL, &err);
}

/* Attach, wait, start, stream, and the container's status: what run
 * without -d and start -a share. Returns the exit code, having said why
 * when it is the client's. */
static int run_attached(const struct client *client, const char *verb,
                        const struct client_session *session, bool auto_remove,
                        const char *wait_condition)
{
    struct keel_error err = {0};
    struct http_client attach, wait;
    _cleanup_free_ char *target = NULL;
    int status = 0;
    const char *id = session->container_id;

    if (run_attach_container(client, id, session->input, &attach, &err) < 0) {
        client_report_run(verb, err.message, false);
        if (auto_remove)
            run_remove_container(client, id);
        return CLIENT_EXIT_ENGINE;
    }
    if ((wait_condition != NULL
             ? client_target(&target, &err, "/containers/%s/wait?condition=%s", id, wait_condition)
             : client_target(&target, &err, "/containers/%s/wait", id)) < 0 ||
        run_send(client, &wait, "POST", target, &err) < 0) {
        http_client_close(&attach);
        client_report_run(verb, err.message, false);
        if (auto_remove)
            run_remove_container(client, id);
        return CLIENT_EXIT_ENGINE;
    }
    if (run_start_container(client, id, &err) < 0) {
        http_client_close(&attach);
        http_client_close(&wait);
        client_report_run(verb, err.message, false);
        if (auto_remove)
            run_remove_container(client, id);
        return client_start_exit_code(err.message);
    }
    int streamed = client_session_stream(session, &attach, &err);
    http_client_close(&attach);
    if (streamed != 0) {
        http_client_close(&wait);
        if (streamed > 0)
            return 0; /* detached with ctrl-p ctrl-q: the container goes on */
        return client_report(&err, CLIENT_EXIT_ENGINE);
    }
    int result = run_wait_result(&wait, &status, &err);
    http_client_close(&wait);
    if (result < 0)
        return client_report(&err, CLIENT_EXIT_ENGINE);
    return status;
}

/* ---- the verbs ---- */

int client_run(const struct client *client, int argc, char **argv)
{
    struct client_create create;
    struct keel_error err = {0};
    _cleanup_free_ char *id = NULL;
    int code;

    int parsed = client_create_parse(argc, argv, true, &create, &code, &err);
    if (parsed > 0)
        return code;
    if (parsed < 0) {
        client_report_run("run", err.message, true);
        return CLIENT_EXIT_ENGINE;
    }
    if (!create.detach && create.tty && create.interactive && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "the input device is not a TTY\n");
        code = CLIENT_EXIT_FAILURE;
    } else if (run_create_container(client, &create, &id, &err) < 0) {
        client_report_run("run", err.message, true);
        code = client_start_exit_code(err.message);
    } else if (create.detach) {
        code = 0;
        if (run_start_container(client, id, &err) < 0) {
            client_report_run("run", err.message, false);
            code = client_start_exit_code(err.message);
        } else {
            printf("%s\n", id);
        }
    } else {
        struct client_session session = {
            .client = client,
            .container_id = id,
            .input = create.interactive,
            .tty = create.tty,
            .sig_proxy = create.sig_proxy,
        };
        code = run_attached(client, "run", &session, create.auto_remove,
                            create.auto_remove ? "removed" : "next-exit");
    }
    client_create_free(&create);
    return code;
}

int client_create(const struct client *client, int argc, char **argv)
{
    struct client_create create;
    struct keel_error err = {0};
    _cleanup_free_ char *id = NULL;
    int code;

    int parsed = client_create_parse(argc, argv, false, &create, &code, &err);
    if (parsed > 0)
        return code;
    if (parsed < 0) {
        client_report_run("create", err.message, true);
        return CLIENT_EXIT_ENGINE;
    }
    code = 0;
    if (run_create_container(client, &create, &id, &err) < 0)
        code = client_report(&err, CLIENT_EXIT_FAILURE);
    else
        printf("%s\n", id);
    client_create_free(&create);
    return code;
}

/* Inspect a container for what attaching needs: its id, tty, stdin, state. */
static int run_inspect(const struct client *client, const char *reference, json_t **container,
                       struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    if (client_target(&target, err, "/containers/%s/json", reference) < 0)
        return -1;
    return client_call(client, "GET", target, NULL, container, err);
}

static bool run_config_flag(const json_t *container, const char *section, const char *name)
{
    return json_is_true(json_object_get(json_object_get(container, section), name));
}

static int run_start_attached(const struct client *client, const char *reference, bool interactive,
                              bool sig_proxy)
{
    struct keel_error err = {0};
    json_t *container = NULL;

    if (run_inspect(client, reference, &container, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    const char *id = json_string_value(json_object_get(container, "Id"));
    struct client_session session = {
        .client = client,
        .container_id = id != NULL ? id : reference,
        .input = interactive && run_config_flag(container, "Config", "OpenStdin"),
        .tty = run_config_flag(container, "Config", "Tty"),
        .sig_proxy = sig_proxy,
    };
    bool auto_remove = run_config_flag(container, "HostConfig", "AutoRemove");
    int code = CLIENT_EXIT_FAILURE;
    if (session.input && session.tty && !isatty(STDIN_FILENO))
        fprintf(stderr, "the input device is not a TTY\n");
    else
        code = run_attached(client, "start", &session, auto_remove,
                            auto_remove ? "removed" : "next-exit");
    json_decref(container);
    return code;
}

static const char start_usage[] =
    "\nUsage:  keel start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Start one or more stopped containers\n\nOptions:\n"
    "  -a, --attach               Attach STDOUT/STDERR and forward signals\n"
    "  -i, --interactive          Attach container's STDIN\n";

int client_start(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"attach", no_argument, NULL, 'a'},
        {"interactive", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    bool attach = false, interactive = false;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":ai", options, NULL)) != -1) {
        if (option == 'a')
            attach = true;
        else if (option == 'i')
            interactive = true;
        else if (option == 'H')
            return printf("%s", start_usage), 0;
        else
            return client_option_error("start", option, argv);
    }
    if (optind >= argc)
        return client_usage_error("start", "\"keel start\" requires at least 1 argument.");
    if (attach || interactive) {
        if (argc - optind > 1) {
            fprintf(stderr, "you cannot start and attach multiple containers at once\n");
            return CLIENT_EXIT_FAILURE;
        }
        return run_start_attached(client, argv[optind], interactive, true);
    }
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct keel_error err = {0};
        if (run_start_container(client, argv[i], &err) < 0)
            code = client_report(&err, CLIENT_EXIT_FAILURE);
        else
            printf("%s\n", argv[i]);
    }
    return code;
}

static const char attach_usage[] =
    "\nUsage:  keel attach [OPTIONS] CONTAINER\n\n"
    "Attach local standard input, output, and error streams to a running "
    "container\n\nOptions:\n"
    "      --no-stdin             Do not attach STDIN\n"
    "      --sig-proxy            Proxy all received signals to the process "
    "(default true)\n";

int client_attach(const struct client *client, int argc, char **argv)
{
    enum { ATTACH_NO_STDIN = 0x100, ATTACH_SIG_PROXY, ATTACH_HELP };
    static const struct option options[] = {
        {"no-stdin", no_argument, NULL, ATTACH_NO_STDIN},
        {"sig-proxy", optional_argument, NULL, ATTACH_SIG_PROXY},
        {"help", no_argument, NULL, ATTACH_HELP},
        {NULL, 0, NULL, 0},
    };
    bool no_stdin = false, sig_proxy = true;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (option == ATTACH_NO_STDIN)
            no_stdin = true;
        else if (option == ATTACH_SIG_PROXY)
            sig_proxy = optarg == NULL || strcmp(optarg, "true") == 0 || strcmp(optarg, "1") == 0;
        else if (option == ATTACH_HELP)
            return printf("%s", attach_usage), 0;
        else
            return client_option_error("attach", option, argv);
    }
    if (argc - optind != 1)
        return client_usage_error("attach", "\"keel attach\" requires exactly 1 argument.");

    struct keel_error err = {0};
    json_t *container = NULL;
    if (run_inspect(client, argv[optind], &container, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    json_t *state = json_object_get(container, "State");
    const char *id = json_string_value(json_object_get(container, "Id"));
    int code = CLIENT_EXIT_FAILURE;
    struct client_session session = {
        .client = client,
        .container_id = id != NULL ? id : argv[optind],
        .input = !no_stdin && run_config_flag(container, "Config", "OpenStdin"),
        .tty = run_config_flag(container, "Config", "Tty"),
        .sig_proxy = sig_proxy,
    };
    struct http_client attach, wait;
    _cleanup_free_ char *target = NULL;
    int status = 0;

    if (!json_is_true(json_object_get(state, "Running"))) {
        fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
    } else if (json_is_true(json_object_get(state, "Paused"))) {
        fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
    } else if (session.input && session.tty && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "the input device is not a TTY\n");
    } else if (run_attach_container(client, session.container_id, session.input, &attach, &err) <
               0) {
        client_report(&err, CLIENT_EXIT_FAILURE);
    } else if (client_target(&target, &err, "/containers/%s/wait", session.container_id) < 0 ||
               run_send(client, &wait, "POST", target, &err) < 0) {
        http_client_close(&attach);
        client_report(&err, CLIENT_EXIT_FAILURE);
    } else {
        int streamed = client_session_stream(&session, &attach, &err);
        http_client_close(&attach);
        if (streamed > 0)
            code = 0;
        else if (streamed < 0)
            client_report(&err, CLIENT_EXIT_FAILURE);
        else if (run_wait_result(&wait, &status, &err) < 0)
            client_report(&err, CLIENT_EXIT_FAILURE);
        else
            code = status;
        http_client_close(&wait);
    }
    json_decref(container);
    return code;
}
