/* cmd_client_containers.c — `keel ps` and `logs`: containers and their output as docker shows them.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_client.h"
#include "cmd_image.h"

#define CONTAINERS_DEFAULT_TABLE                                                                   \
    "table "                                                                                       \
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

/* ---- ps ---- */

/* docker's TruncateID: the hex after any "sha256:", 12 of it. */
static void containers_truncate_id(const char *id, char *text, size_t size)
{
    const char *colon = strchr(id, ':');
    snprintf(text, size, "%.12s", colon != NULL ? colon + 1 : id);
}

/* The image as ps shows it: an id truncated, a digest dropped, the name familiar. */
static char *containers_image_name(const json_t *container, bool trunc)
{
    const char *image = json_string_value(json_object_get(container, "Image"));
    const char *image_id = json_string_value(json_object_get(container, "ImageID"));
    char short_image[16], short_id[16];

    if (image == NULL || image[0] == '\0')
        return strdup("<no image>");
    if (!trunc)
        return strdup(image);
    containers_truncate_id(image, short_image, sizeof short_image);
    containers_truncate_id(image_id != NULL ? image_id : "", short_id, sizeof short_id);
    if (strcmp(short_image, short_id) == 0)
        return strdup(short_id);
    const char *name = image;
    if (strncmp(name, "docker.io/library/", 18) == 0)
        name += 18;
    else if (strncmp(name, "docker.io/", 10) == 0)
        name += 10;
    return strndup(name, strcspn(name, "@"));
}

static char *containers_names(const json_t *container, bool trunc)
{
    const json_t *names = json_object_get(container, "Names");
    char *joined = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&joined, &length);
    const json_t *name;
    size_t index, written = 0;

    if (stream == NULL)
        return NULL;
    json_array_foreach(names, index, name)
    {
        const char *text = json_string_value(name) != NULL ? json_string_value(name) : "";
        if (text[0] == '/')
            text++;
        /* Truncated: the first name that is not a legacy link ("/a/b"). */
        if (trunc && strchr(text, '/') != NULL)
            continue;
        fprintf(stream, "%s%s", written++ > 0 ? "," : "", text);
        if (trunc)
            break;
    }
    if (ferror(stream) | (fclose(stream) != 0)) {
        free(joined);
        return NULL;
    }
    return joined;
}

static int containers_compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Labels "a=1,b=2" (sorted), or networks "host,none" (sorted keys). */
static char *containers_join_object(const json_t *object, bool with_values)
{
    size_t count = json_object_size(object), used = 0;
    char **items = calloc(count != 0 ? count : 1, sizeof *items);
    const char *key;
    json_t *value;
    char *joined = NULL;
    size_t length = 0;

    if (items == NULL)
        return NULL;
    json_object_foreach((json_t *)object, key, value)
    {
        const char *text = json_string_value(value) != NULL ? json_string_value(value) : "";
        if ((with_values ? asprintf(&items[used], "%s=%s", key, text)
                         : asprintf(&items[used], "%s", key)) < 0)
            goto out;
        used++;
    }
    qsort(items, used, sizeof *items, containers_compare_text);
    FILE *stream = open_memstream(&joined, &length);
    if (stream != NULL) {
        for (size_t i = 0; i < used; i++)
            fprintf(stream, "%s%s", i > 0 ? "," : "", items[i]);
        fclose(stream);
    }
out:
    for (size_t i = 0; i < used; i++)
        free(items[i]);
    free(items);
    return joined;
}

/* docker's DisplayablePorts, without its grouping of ranges. */
static char *containers_ports(const json_t *ports)
{
    char *joined = NULL;
    size_t length = 0, index;
    const json_t *port;
    FILE *stream = open_memstream(&joined, &length);

    if (stream == NULL)
        return NULL;
    json_array_foreach(ports, index, port)
    {
        const char *ip = json_string_value(json_object_get(port, "IP"));
        const char *type = json_string_value(json_object_get(port, "Type"));
        long long private_port = json_integer_value(json_object_get(port, "PrivatePort"));
        long long public_port = json_integer_value(json_object_get(port, "PublicPort"));
        fputs(index > 0 ? ", " : "", stream);
        if (ip != NULL && ip[0] != '\0' && public_port != 0)
            fprintf(stream, strchr(ip, ':') != NULL ? "[%s]:%lld->" : "%s:%lld->", ip, public_port);
        fprintf(stream, "%lld/%s", private_port, type != NULL ? type : "tcp");
    }
    if (ferror(stream) | (fclose(stream) != 0)) {
        free(joined);
        return NULL;
    }
    return joined;
}

static char *containers_mounts(const json_t *mounts, bool trunc, int *local_volumes)
{
    char *joined = NULL;
    size_t length = 0, index;
    const json_t *mount;
    FILE *stream = open_memstream(&joined, &length);

    *local_volumes = 0;
    if (stream == NULL)
        return NULL;
    json_array_foreach(mounts, index, mount)
    {
        const char *name = json_string_value(json_object_get(mount, "Name"));
        const char *driver = json_string_value(json_object_get(mount, "Driver"));
        if (name == NULL || name[0] == '\0')
            name = json_string_value(json_object_get(mount, "Source"));
        _cleanup_free_ char *shown = trunc ? client_ellipsis(name != NULL ? name : "", 15)
                                           : strdup(name != NULL ? name : "");
        fprintf(stream, "%s%s", index > 0 ? "," : "", shown != NULL ? shown : "");
        if (driver != NULL && strcmp(driver, "local") == 0)
            (*local_volumes)++;
    }
    if (ferror(stream) | (fclose(stream) != 0)) {
        free(joined);
        return NULL;
    }
    return joined;
}

/* One row of `ps`: docker's ContainerContext fields, as text. */
static json_t *containers_row(const json_t *container, bool trunc, time_t now)
{
    const char *id = json_string_value(json_object_get(container, "Id"));
    const char *command = json_string_value(json_object_get(container, "Command"));
    time_t created = (time_t)json_integer_value(json_object_get(container, "Created"));
    char short_id[16], created_at[64], running_for[64], size[16], volumes[16];
    int local_volumes;

    containers_truncate_id(id != NULL ? id : "", short_id, sizeof short_id);
    client_format_time(created, created_at, sizeof created_at);
    client_format_since(created, now, running_for, sizeof running_for);
    image_cli_format_size((uint64_t)json_integer_value(json_object_get(container, "SizeRw")), size,
                          sizeof size);
    _cleanup_free_ char *shortened =
        trunc ? client_ellipsis(command != NULL ? command : "", 20) : NULL;
    _cleanup_free_ char *quoted = client_quote(trunc ? (shortened != NULL ? shortened : "")
                                               : command != NULL ? command
                                                                 : "");
    _cleanup_free_ char *image = containers_image_name(container, trunc);
    _cleanup_free_ char *names = containers_names(container, trunc);
    _cleanup_free_ char *labels =
        containers_join_object(json_object_get(container, "Labels"), true);
    _cleanup_free_ char *networks = containers_join_object(
        json_object_get(json_object_get(container, "NetworkSettings"), "Networks"), false);
    _cleanup_free_ char *ports = containers_ports(json_object_get(container, "Ports"));
    _cleanup_free_ char *mounts =
        containers_mounts(json_object_get(container, "Mounts"), trunc, &local_volumes);
    if (!quoted || !image || !names || !labels || !networks || !ports || !mounts)
        return NULL;
    snprintf(volumes, sizeof volumes, "%d", local_volumes);
    const char *state = json_string_value(json_object_get(container, "State"));
    const char *status = json_string_value(json_object_get(container, "Status"));
    /* Platform: what the image manifest says, which API 1.41 does not: null, as docker prints it
     * then. */
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:s,s:s,s:s,s:s,s:s}", "Command",
                     quoted, "CreatedAt", created_at, "ID",
                     trunc        ? short_id
                     : id != NULL ? id
                                  : "",
                     "Image", image, "Labels", labels, "LocalVolumes", volumes, "Mounts", mounts,
                     "Names", names, "Networks", networks, "Platform", "Ports", ports, "RunningFor",
                     running_for, "Size", size, "State", state != NULL ? state : "", "Status",
                     status != NULL ? status : "");
}

static const char *const containers_headers =
    "{\"Command\":\"COMMAND\",\"CreatedAt\":\"CREATED AT\",\"ID\":\"CONTAINER "
    "ID\",\"Image\":\"IMAGE\","
    "\"Labels\":\"LABELS\",\"LocalVolumes\":\"LOCAL "
    "VOLUMES\",\"Mounts\":\"MOUNTS\",\"Names\":\"NAMES\","
    "\"Networks\":\"NETWORKS\",\"Ports\":\"PORTS\",\"RunningFor\":\"CREATED\",\"Size\":\"SIZE\","
    "\"State\":\"STATE\",\"Status\":\"STATUS\"}";

static const char ps_usage[] =
    "\nUsage:  keel ps [OPTIONS]\n\nList containers\n\nOptions:\n"
    "  -a, --all             Show all containers (default shows just running)\n"
    "  -f, --filter filter   Filter output based on conditions provided\n"
    "      --format string   Format output using a custom template:\n"
    "                        'table', 'table TEMPLATE', 'json', or a Go template\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only display container IDs\n";

/* -f key=value into docker's filters JSON: {"key": {"value": true}}. */
static int containers_add_filter(json_t *filters, const char *text, const char *verb)
{
    const char *equals = strchr(text, '=');
    if (equals == NULL || equals == text)
        return client_usage_error(
            verb,
            "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter "
            "(expected name=value)",
            text);
    _cleanup_free_ char *key = strndup(text, (size_t)(equals - text));
    json_t *values = json_object_get(filters, key);
    if (values == NULL) {
        values = json_object();
        json_object_set_new(filters, key, values);
    }
    json_object_set_new(values, equals + 1, json_true());
    return 0;
}

int client_ps(const struct client *client, int argc, char **argv)
{
    enum { PS_NO_TRUNC = 0x100, PS_FORMAT, PS_HELP };
    static const struct option options[] = {
        {"all", no_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {"filter", required_argument, NULL, 'f'},
        {"no-trunc", no_argument, NULL, PS_NO_TRUNC},
        {"format", required_argument, NULL, PS_FORMAT},
        {"help", no_argument, NULL, PS_HELP},
        {NULL, 0, NULL, 0},
    };
    bool all = false, quiet = false, trunc = true;
    const char *format = NULL;
    json_t *filters = json_object();
    json_t *reply = NULL, *rows = json_array(), *headers = json_loads(containers_headers, 0, NULL);
    struct keel_error err = {0};
    _cleanup_free_ char *target = NULL, *filter_text = NULL;
    int option, code = CLIENT_EXIT_FAILURE;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":aqf:", options, NULL)) != -1) {
        if (option == 'a')
            all = true;
        else if (option == 'q')
            quiet = true;
        else if (option == PS_NO_TRUNC)
            trunc = false;
        else if (option == PS_FORMAT)
            format = optarg;
        else if (option == PS_HELP) {
            printf("%s", ps_usage);
            code = 0;
            goto out;
        } else if (option == 'f') {
            if ((code = containers_add_filter(filters, optarg, "ps")) != 0)
                goto out;
            code = CLIENT_EXIT_FAILURE;
        } else {
            code = client_option_error("ps", option, argv);
            goto out;
        }
    }
    if (optind < argc) {
        code = client_usage_error("ps", "\"keel ps\" accepts no arguments.");
        goto out;
    }
    if (json_object_size(filters) > 0 &&
        (filter_text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        goto out;
    if (client_target(&target, &err, "/containers/json%r%r%s", all ? "?all=1" : "",
                      filter_text != NULL ? (all ? "&filters=" : "?filters=") : "",
                      filter_text != NULL ? filter_text : "") < 0 ||
        client_call(client, "GET", target, NULL, &reply, &err) < 0) {
        code = client_report(&err, CLIENT_EXIT_FAILURE);
        goto out;
    }
    time_t now = time(NULL);
    const json_t *container;
    size_t index;
    json_array_foreach(reply, index, container)
    {
        json_t *row = containers_row(container, trunc, now);
        if (row == NULL || json_array_append_new(rows, row) < 0) {
            fprintf(stderr, "keel ps: out of memory\n");
            goto out;
        }
    }
    if (quiet) {
        json_t *row;
        json_array_foreach(rows, index, row)
        {
            printf("%s\n", json_string_value(json_object_get(row, "ID")));
        }
        code = 0;
    } else if (client_format_write(stdout, format, CONTAINERS_DEFAULT_TABLE, headers, rows, &err) <
               0) {
        code = client_report(&err, CLIENT_EXIT_FAILURE);
    } else {
        code = 0;
    }
out:
    json_decref(filters);
    json_decref(reply);
    json_decref(rows);
    json_decref(headers);
    return code;
}

/* ---- logs ---- */

/* A Go duration ("1h30m", "-5s", "1.5h") in seconds; false if it is not one. */
static bool containers_parse_duration(const char *text, double *seconds)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
                 {"s", 1},     {"m", 60},    {"h", 3600}};
    const char *c = text;
    double sign = 1, total = 0;

    if (*c == '-' || *c == '+')
        sign = *c++ == '-' ? -1 : 1;
    if (strcmp(c, "0") == 0) {
        *seconds = 0;
        return true;
    }
    if (*c == '\0')
        return false;
    while (*c != '\0') {
        char *end;
        if (!isdigit((unsigned char)*c) && *c != '.')
            return false;
        double value = strtod(c, &end);
        if (end == c)
            return false;
        c = end;
        size_t best = 0;
        double factor = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t length = strlen(units[i].unit);
            if (strncmp(c, units[i].unit, length) == 0 && length > best) {
                best = length;
                factor = units[i].seconds;
            }
        }
        if (best == 0)
            return false;
        total += value * factor;
        c += best;
    }
    *seconds = sign * total;
    return true;
}

/* "YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]": local time without a zone. */
static bool containers_parse_date(const char *text, time_t *seconds, long *nanoseconds)
{
    struct tm parts = {0};
    int consumed = 0;
    const char *c = text;

    *nanoseconds = 0;
    if (sscanf(c, "%4d-%2d-%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday, &consumed) != 3 ||
        consumed != 10)
        return false;
    c += consumed;
    if (*c == 'T') {
        c++;
        if (sscanf(c, "%2d%n", &parts.tm_hour, &consumed) != 1 || consumed != 2)
            return false;
        c += 2;
        if (*c == ':' && sscanf(c + 1, "%2d%n", &parts.tm_min, &consumed) == 1 && consumed == 2)
            c += 3;
        if (*c == ':' && sscanf(c + 1, "%2d%n", &parts.tm_sec, &consumed) == 1 && consumed == 2)
            c += 3;
        if (*c == '.') {
            long scale = 100000000;
            for (c++; isdigit((unsigned char)*c); c++, scale /= 10)
                *nanoseconds += (*c - '0') * scale;
        }
    }
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    if (*c == '\0') {
        parts.tm_isdst = -1;
        *seconds = mktime(&parts);
        return *seconds != (time_t)-1;
    }
    long offset = 0;
    if (*c == '+' || *c == '-') {
        int hours, minutes;
        if (sscanf(c + 1, "%2d:%2d%n", &hours, &minutes, &consumed) != 2 || c[1 + consumed] != '\0')
            return false;
        offset = (hours * 3600L + minutes * 60L) * (*c == '-' ? -1 : 1);
    } else if ((*c != 'Z' && *c != 'z') || c[1] != '\0') {
        return false;
    }
    *seconds = timegm(&parts) - offset;
    return true;
}

int client_parse_since(const char *text, time_t now, char *timestamp, size_t size,
                       struct keel_error *err)
{
    double seconds;
    time_t when;
    long nanoseconds;
    char *end;

    if (strcmp(text, "0") != 0 && containers_parse_duration(text, &seconds)) {
        double when_seconds = (double)now - seconds;
        long long whole = (long long)when_seconds;
        if ((double)whole > when_seconds)
            whole--; /* Go's Unix(): the floor, also before 1970 */
        snprintf(timestamp, size, "%lld", whole);
        return 0;
    }
    if (strchr(text, '-') != NULL && text[0] != '-') {
        if (!containers_parse_date(text, &when, &nanoseconds))
            return keel_error_invalid(err, "parsing time \"%s\": not a time or duration", text);
        snprintf(timestamp, size, "%lld.%09ld", (long long)when, nanoseconds);
        return 0;
    }
    errno = 0;
    strtoll(text, &end, 10);
    if (errno == 0 && end != text &&
        (*end == '\0' || (*end == '.' && strspn(end + 1, "0123456789") == strlen(end + 1)))) {
        snprintf(timestamp, size, "%s", text);
        return 0;
    }
    return keel_error_invalid(err, "failed to parse value as time or duration: \"%s\"", text);
}

static const char logs_usage[] =
    "\nUsage:  keel logs [OPTIONS] CONTAINER\n\nFetch the logs of a container\n\n"
    "Options:\n"
    "  -f, --follow         Follow log output\n"
    "      --since string   Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") "
    "or relative (e.g. \"42m\" for 42 minutes)\n"
    "  -n, --tail string    Number of lines to show from the end of the logs (default "
    "\"all\")\n"
    "  -t, --timestamps     Show timestamps\n"
    "      --until string   Show logs before a timestamp or relative\n";

int client_logs(const struct client *client, int argc, char **argv)
{
    enum { LOGS_SINCE = 0x100, LOGS_UNTIL, LOGS_DETAILS, LOGS_HELP };
    static const struct option options[] = {
        {"follow", no_argument, NULL, 'f'},
        {"tail", required_argument, NULL, 'n'},
        {"timestamps", no_argument, NULL, 't'},
        {"since", required_argument, NULL, LOGS_SINCE},
        {"until", required_argument, NULL, LOGS_UNTIL},
        {"details", no_argument, NULL, LOGS_DETAILS},
        {"help", no_argument, NULL, LOGS_HELP},
        {NULL, 0, NULL, 0},
    };
    bool follow = false, timestamps = false, details = false;
    const char *tail = "all", *since = NULL, *until = NULL;
    char since_stamp[64] = "", until_stamp[64] = "";
    struct keel_error err = {0};
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":fn:t", options, NULL)) != -1) {
        if (option == 'f')
            follow = true;
        else if (option == 't')
            timestamps = true;
        else if (option == 'n')
            tail = optarg;
        else if (option == LOGS_SINCE)
            since = optarg;
        else if (option == LOGS_UNTIL)
            until = optarg;
        else if (option == LOGS_DETAILS)
            details = true;
        else if (option == LOGS_HELP)
            return printf("%s", logs_usage), 0;
        else
            return client_option_error("logs", option, argv);
    }
    if (argc - optind != 1)
        return client_usage_error("logs", "\"keel logs\" requires exactly 1 argument.");
    time_t now = time(NULL);
    if ((since != NULL &&
         client_parse_since(since, now, since_stamp, sizeof since_stamp, &err) < 0) ||
        (until != NULL &&
         client_parse_since(until, now, until_stamp, sizeof until_stamp, &err) < 0))
        return client_report(&err, CLIENT_EXIT_FAILURE);

    /* As docker: inspect first, for the id and whether output is a tty. */
    _cleanup_free_ char *inspect_target = NULL, *target = NULL;
    json_t *container = NULL;
    if (client_target(&inspect_target, &err, "/containers/%s/json", argv[optind]) < 0 ||
        client_call(client, "GET", inspect_target, NULL, &container, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    const char *id = json_string_value(json_object_get(container, "Id"));
    bool tty = json_is_true(json_object_get(json_object_get(container, "Config"), "Tty"));
    int result = client_target(
        &target, &err, "/containers/%s/logs?%r%r%r%r%r%r%s%r%r%r", id != NULL ? id : argv[optind],
        details ? "details=1&" : "", follow ? "follow=1&" : "", since != NULL ? "since=" : "",
        since_stamp, since != NULL ? "&" : "", "stderr=1&stdout=1&tail=", tail,
        timestamps ? "&timestamps=1" : "", until != NULL ? "&until=" : "", until_stamp);
    json_decref(container);
    struct http_client http;
    struct http_client_response response;
    if (result < 0 ||
        client_open(client, &http, "GET", target, NULL, NULL, 0, false, &response, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    http_client_response_free(&response);
    result = client_stream_body(&http, !tty, &err);
    http_client_close(&http);
    return result < 0 ? client_report(&err, CLIENT_EXIT_FAILURE) : 0;
}
