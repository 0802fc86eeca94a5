/* cmd_client_control.c — `keel stop`, `kill`, `rm`, `restart`, `wait`: one request per container,
 * its name printed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_client.h"

struct containers_action {
    const char *verb;
    const char *method;
    const char *path;  /* after /containers/NAME */
    const char *query; /* "?t=10" or "" */
    bool print_status; /* wait: the StatusCode, not the name */
    bool ignore_missing;
};

static int containers_act(const struct client *client, const struct containers_action *action,
                          int count, char **names)
{
    int code = 0;
    if (count == 0)
        return client_usage_error(action->verb, "\"keel %s\" requires at least 1 argument.",
                                  action->verb);
    for (int i = 0; i < count; i++) {
        _cleanup_free_ char *target = NULL;
        struct keel_error err = {0};
        json_t *reply = NULL;
        if (client_target(&target, &err, "/containers/%s%r%r", names[i], action->path,
                          action->query) < 0 ||
            client_call(client, action->method, target, NULL, action->print_status ? &reply : NULL,
                        &err) < 0) {
            /* rm -f of a container that is not there: said, not failed. */
            if (action->ignore_missing && err.errno_value == ENOENT)
                client_report(&err, 0);
            else
                code = client_report(&err, CLIENT_EXIT_FAILURE);
            continue;
        }
        if (action->print_status)
            printf("%lld\n", (long long)json_integer_value(json_object_get(reply, "StatusCode")));
        else
            printf("%s\n", names[i]);
        json_decref(reply);
    }
    return code;
}

/* "?signal=SIG&t=N", each part when given ("" when neither). */
static int containers_query(char **query, const char *signal, bool timed, int seconds,
                            struct keel_error *err)
{
    _cleanup_free_ char *target = NULL;
    char time_part[24] = "";

    if (timed)
        snprintf(time_part, sizeof time_part, "%st=%d", signal != NULL ? "&" : "?", seconds);
    if ((signal != NULL ? client_target(&target, err, "?signal=%s%r", signal, time_part)
                        : client_target(&target, err, "%r", time_part)) < 0)
        return -1;
    /* the query only, without the /v1.41 client_target starts with */
    *query = strdup(target + strlen("/v" CLIENT_API_VERSION));
    if (*query == NULL)
        return keel_error_set(err, ENOMEM, "format a request");
    return 0;
}

static const char stop_usage[] =
    "\nUsage:  keel %s [OPTIONS] CONTAINER [CONTAINER...]\n\n%s\n\nOptions:\n"
    "  -s, --signal string   Signal to send to the container\n"
    "  -t, --time int        Seconds to wait before killing the container\n";

/* stop and restart: -t SECONDS, -s SIGNAL. */
static int containers_stop_or_restart(const struct client *client, int argc, char **argv,
                                      bool restart)
{
    static const struct option options[] = {
        {"time", required_argument, NULL, 't'},
        {"signal", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *verb = restart ? "restart" : "stop";
    long long seconds = 0;
    bool timed = false;
    const char *signal = NULL;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":t:s:", options, NULL)) != -1) {
        if (option == 't') {
            if (!client_parse_int(optarg, INT32_MIN, &seconds))
                return client_usage_error(
                    verb, "invalid argument \"%s\" for \"-t, --time\" flag: invalid syntax",
                    optarg);
            timed = true;
        } else if (option == 's') {
            signal = optarg;
        } else if (option == 'H') {
            printf(stop_usage, verb,
                   restart ? "Restart one or more containers"
                           : "Stop one or more running containers");
            return 0;
        } else {
            return client_option_error(verb, option, argv);
        }
    }
    _cleanup_free_ char *query = NULL;
    struct keel_error err = {0};
    if (containers_query(&query, signal, timed, (int)seconds, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    struct containers_action action = {verb,  "POST", restart ? "/restart" : "/stop",
                                       query, false,  false};
    return containers_act(client, &action, argc - optind, argv + optind);
}

int client_stop(const struct client *client, int argc, char **argv)
{
    return containers_stop_or_restart(client, argc, argv, false);
}

int client_restart(const struct client *client, int argc, char **argv)
{
    return containers_stop_or_restart(client, argc, argv, true);
}

int client_kill(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"signal", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *signal = NULL;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":s:", options, NULL)) != -1) {
        if (option == 's')
            signal = optarg;
        else if (option == 'H')
            return printf("\nUsage:  keel kill [OPTIONS] CONTAINER [CONTAINER...]\n\nKill one or "
                          "more running "
                          "containers\n\nOptions:\n  -s, --signal string   Signal to send to the "
                          "container\n"),
                   0;
        else
            return client_option_error("kill", option, argv);
    }
    _cleanup_free_ char *query = NULL;
    struct keel_error err = {0};
    if (containers_query(&query, signal, false, 0, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    struct containers_action action = {"kill", "POST", "/kill", query, false, false};
    return containers_act(client, &action, argc - optind, argv + optind);
}

int client_rm(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'},
        {"volumes", no_argument, NULL, 'v'},
        {"link", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    bool force = false, volumes = false, link = false;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":fvl", options, NULL)) != -1) {
        if (option == 'f')
            force = true;
        else if (option == 'v')
            volumes = true;
        else if (option == 'l')
            link = true;
        else if (option == 'H')
            return printf(
                       "\nUsage:  keel rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more "
                       "containers\n\nOptions:\n"
                       "  -f, --force     Force the removal of a running container (uses SIGKILL)\n"
                       "  -l, --link      Remove the specified link\n"
                       "  -v, --volumes   Remove anonymous volumes associated with the "
                       "container\n"),
                   0;
        else
            return client_option_error("rm", option, argv);
    }
    char query[32];
    snprintf(query, sizeof query, "%s%s%s", force ? "&force=1" : "", link ? "&link=1" : "",
             volumes ? "&v=1" : "");
    if (query[0] == '&')
        query[0] = '?';
    struct containers_action action = {"rm", "DELETE", "", query, false, force};
    return containers_act(client, &action, argc - optind, argv + optind);
}

int client_wait(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'H'}, {NULL, 0, NULL, 0}};
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (option == 'H')
            return printf("\nUsage:  keel wait CONTAINER [CONTAINER...]\n\nBlock until one or more "
                          "containers "
                          "stop, then print their exit codes\n"),
                   0;
        return client_option_error("wait", option, argv);
    }
    struct containers_action action = {"wait", "POST", "/wait", "", true, false};
    return containers_act(client, &action, argc - optind, argv + optind);
}
