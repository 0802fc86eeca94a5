/* cmd_client_images.c — `keel images`, `load`, `rmi`, `info`, `version`: the engine's images and
 * facts as docker shows them. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_client.h"
#include "cmd_image.h"

#define IMAGES_DEFAULT_TABLE                                                                       \
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define IMAGES_DIGESTS_TABLE                                                                       \
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define IMAGES_LOAD_ANSWER_LIMIT (16 * 1024 * 1024)
#define IMAGES_PROGRESS_WIDTH 50

static const char *const images_headers =
    "{\"Containers\":\"CONTAINERS\",\"CreatedAt\":\"CREATED "
    "AT\",\"CreatedSince\":\"CREATED\",\"Digest\":"
    "\"DIGEST\",\"ID\":\"IMAGE ID\",\"Repository\":\"REPOSITORY\",\"SharedSize\":\"SHARED "
    "SIZE\",\"Size\":"
    "\"SIZE\",\"Tag\":\"TAG\",\"UniqueSize\":\"UNIQUE SIZE\",\"VirtualSize\":\"VIRTUAL SIZE\"}";

/* ---- images ---- */

/* "docker.io/library/busybox" -> "busybox", as reference.FamiliarName. */
static const char *images_familiar(const char *name)
{
    if (strncmp(name, "docker.io/library/", 18) == 0)
        return name + 18;
    if (strncmp(name, "docker.io/", 10) == 0)
        return name + 10;
    return name;
}

/* A size the way docker's image context says it; -1 is "N/A". */
static void images_size(long long bytes, char *text, size_t size)
{
    if (bytes < 0)
        snprintf(text, size, "N/A");
    else
        image_cli_format_size((uint64_t)bytes, text, size);
}

/* units.HumanSize: as image_cli_format_size, with four digits (VirtualSize). */
static void images_size_four_digits(long long bytes, char *text, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double value = (double)bytes;
    size_t unit = 0;
    while (value >= 1000.0 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1000.0;
        unit++;
    }
    snprintf(text, size, "%.4g%s", value, units[unit]);
}

/* One row: the image under repo:tag (digest "<none>" or "" when not shown). */
static json_t *images_row(const json_t *image, const char *repo, const char *tag,
                          const char *digest, bool trunc, time_t now)
{
    const char *id = json_string_value(json_object_get(image, "Id"));
    time_t created = (time_t)json_integer_value(json_object_get(image, "Created"));
    long long size = json_integer_value(json_object_get(image, "Size"));
    long long shared = json_is_integer(json_object_get(image, "SharedSize"))
                           ? json_integer_value(json_object_get(image, "SharedSize"))
                           : -1;
    long long containers = json_is_integer(json_object_get(image, "Containers"))
                               ? json_integer_value(json_object_get(image, "Containers"))
                               : -1;
    long long virtual_size = json_is_integer(json_object_get(image, "VirtualSize"))
                                 ? json_integer_value(json_object_get(image, "VirtualSize"))
                                 : size;
    char short_id[16], created_at[64], since[64], size_text[16], shared_text[16], unique_text[16],
        virtual_text[16], containers_text[24];

    if (id == NULL)
        id = "";
    const char *colon = strchr(id, ':');
    snprintf(short_id, sizeof short_id, "%.12s", colon != NULL ? colon + 1 : id);
    client_format_time(created, created_at, sizeof created_at);
    client_format_since(created, now, since, sizeof since);
    images_size(size, size_text, sizeof size_text);
    images_size(shared, shared_text, sizeof shared_text);
    images_size(size < 0 || shared < 0 ? -1 : size - shared, unique_text, sizeof unique_text);
    images_size_four_digits(virtual_size, virtual_text, sizeof virtual_text);
    if (containers < 0)
        snprintf(containers_text, sizeof containers_text, "N/A");
    else
        snprintf(containers_text, sizeof containers_text, "%lld", containers);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Containers", containers_text,
                     "CreatedAt", created_at, "CreatedSince", since, "Digest", digest, "ID",
                     trunc ? short_id : id, "Repository", repo, "SharedSize", shared_text, "Size",
                     size_text, "Tag", tag, "UniqueSize", unique_text, "VirtualSize", virtual_text);
}

static bool images_is_none(const json_t *list, const char *none)
{
    return json_array_size(list) == 0 ||
           (json_array_size(list) == 1 &&
            strcmp(json_string_value(json_array_get(list, 0)) ?: "", none) == 0);
}

/* The digest recorded for repo in RepoDigests ("repo@sha256:..."), or NULL. */
static const char *images_digest_of(const json_t *digests, const char *repo, size_t repo_length)
{
    size_t index;
    const json_t *entry;
    json_array_foreach(digests, index, entry)
    {
        const char *text = json_string_value(entry);
        const char *at = text != NULL ? strchr(text, '@') : NULL;
        if (at == NULL)
            continue;
        const char *name = images_familiar(text);
        if ((size_t)(at - name) == repo_length && strncmp(name, repo, repo_length) == 0)
            return at + 1;
    }
    return NULL;
}

/* docker's imageFormatTaggedAndDigest: a row per repo:tag, then a row per
 * repository known only by digest. */
/* docker images PATTERN: repositories (or repository:tag) matching it, as
 * the engine's reference filter would keep them; done here too, so that an
 * engine without the filter lists the same. */
static bool images_row_matches(const json_t *row, const char *pattern)
{
    const char *repo = json_string_value(json_object_get(row, "Repository"));
    const char *tag = json_string_value(json_object_get(row, "Tag"));
    _cleanup_free_ char *tagged = NULL;
    if (pattern == NULL)
        return true;
    if (repo == NULL || tag == NULL || asprintf(&tagged, "%s:%s", repo, tag) < 0)
        return false;
    return fnmatch(pattern, repo, 0) == 0 || fnmatch(pattern, tagged, 0) == 0;
}

static int images_rows(const json_t *image, bool trunc, bool digests_shown, time_t now,
                       json_t *rows)
{
    const json_t *tags = json_object_get(image, "RepoTags");
    const json_t *digests = json_object_get(image, "RepoDigests");
    size_t index;
    const json_t *entry;

    if (images_is_none(tags, "<none>:<none>") && images_is_none(digests, "<none>@<none>"))
        return json_array_append_new(rows,
                                     images_row(image, "<none>", "<none>", "<none>", trunc, now));
    json_array_foreach(tags, index, entry)
    {
        const char *name = images_familiar(json_string_value(entry) ?: "");
        const char *slash = strrchr(name, '/');
        const char *colon = strrchr(slash != NULL ? slash : name, ':');
        size_t repo_length = colon != NULL ? (size_t)(colon - name) : strlen(name);
        _cleanup_free_ char *repo = strndup(name, repo_length);
        const char *digest = digests_shown ? images_digest_of(digests, name, repo_length) : NULL;
        if (repo == NULL ||
            json_array_append_new(rows,
                                  images_row(image, repo, colon != NULL ? colon + 1 : "<none>",
                                             digest != NULL ? digest : "<none>", trunc, now)) < 0)
            return -1;
    }
    json_array_foreach(digests, index, entry)
    {
        const char *name = images_familiar(json_string_value(entry) ?: "");
        const char *at = strchr(name, '@');
        bool tagged = false;
        size_t tag_index;
        const json_t *tag;
        if (at == NULL)
            continue;
        json_array_foreach(tags, tag_index, tag)
        {
            const char *tag_name = images_familiar(json_string_value(tag) ?: "");
            tagged = tagged || (strncmp(tag_name, name, (size_t)(at - name)) == 0 &&
                                tag_name[at - name] == ':');
        }
        _cleanup_free_ char *repo = strndup(name, (size_t)(at - name));
        if (!tagged &&
            (repo == NULL ||
             json_array_append_new(rows, images_row(image, repo, "<none>",
                                                    digests_shown ? at + 1 : "", trunc, now)) < 0))
            return -1;
    }
    return 0;
}

static const char images_usage[] =
    "\nUsage:  keel images [OPTIONS] [REPOSITORY[:TAG]]\n\nList images\n\nOptions:\n"
    "  -a, --all             Show all images\n"
    "      --digests         Show digests\n"
    "      --format string   'table', 'table TEMPLATE', 'json', or a Go template\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only show image IDs\n";

int client_images(const struct client *client, int argc, char **argv)
{
    enum { IMAGES_NO_TRUNC = 0x100, IMAGES_FORMAT, IMAGES_DIGESTS, IMAGES_HELP };
    static const struct option options[] = {
        {"all", no_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {"no-trunc", no_argument, NULL, IMAGES_NO_TRUNC},
        {"format", required_argument, NULL, IMAGES_FORMAT},
        {"digests", no_argument, NULL, IMAGES_DIGESTS},
        {"help", no_argument, NULL, IMAGES_HELP},
        {NULL, 0, NULL, 0},
    };
    bool all = false, quiet = false, trunc = true, digests = false;
    const char *format = NULL;
    struct keel_error err = {0};
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":aq", options, NULL)) != -1) {
        if (option == 'a')
            all = true;
        else if (option == 'q')
            quiet = true;
        else if (option == IMAGES_NO_TRUNC)
            trunc = false;
        else if (option == IMAGES_FORMAT)
            format = optarg;
        else if (option == IMAGES_DIGESTS)
            digests = true;
        else if (option == IMAGES_HELP)
            return printf("%s", images_usage), 0;
        else
            return client_option_error("images", option, argv);
    }
    if (argc - optind > 1)
        return client_usage_error("images", "\"keel images\" requires at most 1 argument.");

    _cleanup_free_ char *target = NULL, *filters = NULL;
    if (optind < argc) {
        /* docker images NAME: the "reference" filter. */
        json_t *reference = json_pack("{s:{s:b}}", "reference", argv[optind], 1);
        filters = reference != NULL ? json_dumps(reference, JSON_COMPACT) : NULL;
        json_decref(reference);
        if (filters == NULL)
            return CLIENT_EXIT_FAILURE;
    }
    json_t *reply = NULL, *rows = json_array(), *headers = json_loads(images_headers, 0, NULL);
    int code = CLIENT_EXIT_FAILURE;
    if (client_target(&target, &err, "/images/json%r%r%s", all ? "?all=1" : "",
                      filters != NULL ? (all ? "&filters=" : "?filters=") : "",
                      filters != NULL ? filters : "") < 0 ||
        client_call(client, "GET", target, NULL, &reply, &err) < 0) {
        code = client_report(&err, CLIENT_EXIT_FAILURE);
        goto out;
    }
    time_t now = time(NULL);
    size_t index;
    const json_t *image;
    json_array_foreach(reply, index, image)
    {
        if (images_rows(image, trunc, digests, now, rows) < 0)
            goto out;
    }
    const char *pattern = optind < argc ? images_familiar(argv[optind]) : NULL;
    json_t *kept = json_array();
    json_t *row;
    json_array_foreach(rows, index, row)
    {
        if (images_row_matches(row, pattern))
            json_array_append(kept, row);
    }
    json_decref(rows);
    rows = kept;
    if (quiet) {
        json_array_foreach(rows, index, row)
        {
            printf("%s\n", json_string_value(json_object_get(row, "ID")));
        }
        code = 0;
    } else if (client_format_write(stdout, format,
                                   digests ? IMAGES_DIGESTS_TABLE : IMAGES_DEFAULT_TABLE, headers,
                                   rows, &err) < 0) {
        code = client_report(&err, CLIENT_EXIT_FAILURE);
    } else {
        code = 0;
    }
out:
    json_decref(reply);
    json_decref(rows);
    json_decref(headers);
    return code;
}

/* ---- load ---- */

struct images_load_progress {
    uint64_t total; /* 0: unknown (a pipe) */
    struct timespec last;
    bool shown;
};

/* "Loading [=====>     ]  12.3MB/45.6MB" on the terminal, ten times a second at most. */
static void images_load_show(uint64_t sent, void *data)
{
    struct images_load_progress *progress = data;
    struct timespec now;
    char sent_text[16], total_text[16];

    clock_gettime(CLOCK_MONOTONIC, &now);
    long long elapsed_ms = (now.tv_sec - progress->last.tv_sec) * 1000LL +
                           (now.tv_nsec - progress->last.tv_nsec) / 1000000;
    if (progress->shown && elapsed_ms < 100 && sent != progress->total)
        return;
    progress->last = now;
    progress->shown = true;
    image_cli_format_size(sent, sent_text, sizeof sent_text);
    if (progress->total == 0) {
        printf("\rLoading %8s", sent_text);
    } else {
        image_cli_format_size(progress->total, total_text, sizeof total_text);
        int filled =
            (int)(sent * IMAGES_PROGRESS_WIDTH / (progress->total > sent ? progress->total : sent));
        printf("\rLoading [%.*s>%*s] %8s/%s", filled > 0 ? filled - 1 : 0,
               "==================================================",
               IMAGES_PROGRESS_WIDTH - (filled > 0 ? filled : 1), "", sent_text, total_text);
    }
    fflush(stdout);
}

/* Docker's JSON messages ({"stream": ...}, {"status": ...}, {"error": ...}). */
static int images_load_messages(const char *text, size_t length, bool terminal,
                                struct keel_error *err)
{
    size_t offset = 0;
    while (offset < length) {
        json_error_t json_error;
        offset += strspn(text + offset, " \t\r\n");
        if (offset >= length)
            break;
        json_t *message =
            json_loadb(text + offset, length - offset, JSON_DISABLE_EOF_CHECK, &json_error);
        if (message == NULL)
            return keel_error_invalid(err, "bad answer from the engine: %s", json_error.text);
        offset += (size_t)json_error.position;
        const char *error = json_string_value(json_object_get(message, "error"));
        const char *stream = json_string_value(json_object_get(message, "stream"));
        const char *status = json_string_value(json_object_get(message, "status"));
        const char *id = json_string_value(json_object_get(message, "id"));
        const char *bar = json_string_value(json_object_get(message, "progress"));
        if (error != NULL) {
            keel_error_set(err, 0, "%s", error);
            json_decref(message);
            return -1;
        }
        if (stream != NULL)
            fputs(stream, stdout);
        else if (status != NULL && (bar == NULL || terminal))
            printf("%s%s%s%s%s%s", bar != NULL ? "\r" : "", id != NULL ? id : "",
                   id != NULL ? ": " : "", status, bar != NULL ? " " : "",
                   bar != NULL ? bar : "\n");
        json_decref(message);
    }
    return 0;
}

int client_load(const struct client *client, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL;
    bool quiet = false;
    int option;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":i:q", options, NULL)) != -1) {
        if (option == 'i')
            input = optarg;
        else if (option == 'q')
            quiet = true;
        else if (option == 'H')
            return printf("\nUsage:  keel load [OPTIONS]\n\nLoad an image from a tar archive or "
                          "STDIN\n\nOptions:\n"
                          "  -i, --input string   Read from tar archive file, instead of STDIN\n"
                          "  -q, --quiet          Suppress the load output\n"),
                   0;
        else
            return client_option_error("load", option, argv);
    }
    if (optind < argc)
        return client_usage_error("load", "\"keel load\" accepts no arguments.");
    if (input == NULL && isatty(STDIN_FILENO)) {
        fprintf(stderr, "requested load from stdin, but stdin is empty\n");
        return CLIENT_EXIT_FAILURE;
    }
    _cleanup_close_ int fd = input != NULL ? open(input, O_RDONLY | O_CLOEXEC) : -1;
    if (input != NULL && fd < 0) {
        fprintf(stderr, "open %s: %s\n", input, strerror(errno));
        return CLIENT_EXIT_FAILURE;
    }
    bool terminal = isatty(STDOUT_FILENO);
    quiet = quiet || !terminal;
    struct images_load_progress progress = {0};
    struct stat status;
    if (fstat(input != NULL ? fd : STDIN_FILENO, &status) == 0 && S_ISREG(status.st_mode))
        progress.total = (uint64_t)status.st_size;

    struct keel_error err = {0};
    struct http_client http;
    struct http_client_response response = {0};
    _cleanup_free_ char *target = NULL, *answer = NULL;
    size_t length = 0;
    int code = CLIENT_EXIT_FAILURE;
    if (client_target(&target, &err, "/images/load?quiet=%d", quiet ? 1 : 0) < 0 ||
        http_client_connect(&http, client->socket_path, &err) < 0)
        return client_report(&err, CLIENT_EXIT_FAILURE);
    int sent = http_client_send_fd(&http, "POST", target, "application/x-tar",
                                   input != NULL ? fd : STDIN_FILENO,
                                   quiet ? NULL : images_load_show, &progress, &err);
    if (progress.shown)
        printf("\r\033[K");
    /* An engine that refused the archive early answers before it ends: read that. */
    struct keel_error read_err = {0};
    if (http_client_read_head(&http, &response, &read_err) < 0) {
        client_report(sent < 0 ? &err : &read_err, CLIENT_EXIT_FAILURE);
        goto out;
    }
    if (http_client_read_body_all(&http, IMAGES_LOAD_ANSWER_LIMIT, &answer, &length, &err) < 0) {
        client_report(&err, CLIENT_EXIT_FAILURE);
        goto out;
    }
    const char *type = http_client_response_header(&response, "Content-Type");
    if (response.status >= 400) {
        client_daemon_error(response.status, answer, &err);
        client_report(&err, CLIENT_EXIT_FAILURE);
    } else if (type != NULL && strncmp(type, "application/json", 16) == 0) {
        if (images_load_messages(answer, length, terminal, &err) < 0)
            client_report(&err, CLIENT_EXIT_FAILURE);
        else
            code = 0;
    } else {
        fwrite(answer, 1, length, stdout);
        code = 0;
    }
out:
    http_client_response_free(&response);
    http_client_close(&http);
    return code;
}

/* ---- rmi ---- */

int client_rmi(const struct client *client, int argc, char **argv)
{
    enum { RMI_NO_PRUNE = 0x100, RMI_HELP };
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'},
        {"no-prune", no_argument, NULL, RMI_NO_PRUNE},
        {"help", no_argument, NULL, RMI_HELP},
        {NULL, 0, NULL, 0},
    };
    bool force = false, no_prune = false;
    int option, code = 0;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":f", options, NULL)) != -1) {
        if (option == 'f')
            force = true;
        else if (option == RMI_NO_PRUNE)
            no_prune = true;
        else if (option == RMI_HELP)
            return printf("\nUsage:  keel rmi [OPTIONS] IMAGE [IMAGE...]\n\nRemove one or more "
                          "images\n\n"
                          "Options:\n  -f, --force      Force removal of the image\n"
                          "      --no-prune   Do not delete untagged parents\n"),
                   0;
        else
            return client_option_error("rmi", option, argv);
    }
    if (optind >= argc)
        return client_usage_error("rmi", "\"keel rmi\" requires at least 1 argument.");
    for (int i = optind; i < argc; i++) {
        _cleanup_free_ char *target = NULL;
        struct keel_error err = {0};
        json_t *reply = NULL;
        if (client_target(&target, &err, "/images/%s%r%r", argv[i], force ? "?force=1" : "",
                          no_prune ? (force ? "&noprune=1" : "?noprune=1") : "") < 0 ||
            client_call(client, "DELETE", target, NULL, &reply, &err) < 0) {
            code = client_report(&err, CLIENT_EXIT_FAILURE);
            continue;
        }
        size_t index;
        const json_t *item;
        json_array_foreach(reply, index, item)
        {
            const char *untagged = json_string_value(json_object_get(item, "Untagged"));
            const char *deleted = json_string_value(json_object_get(item, "Deleted"));
            if (untagged != NULL)
                printf("Untagged: %s\n", untagged);
            if (deleted != NULL)
                printf("Deleted: %s\n", deleted);
        }
        json_decref(reply);
    }
    return code;
}
