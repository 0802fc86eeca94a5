/* cmd_client_inspect.c — `keel inspect`: containers, then images, as indented JSON, compact JSON or
 * a template. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_client.h"

/* GET one object's JSON text: containers first, then images (docker's order). */
static int containers_inspect_one(const struct client *client, const char *name, const char *type,
                                  char **text, struct keel_error *err)
{
    static const struct {
        const char *type, *path;
    } kinds[] = {{"container", "/containers/%s/json"}, {"image", "/images/%s/json"}};

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        _cleanup_free_ char *target = NULL;
        if (type != NULL && strcmp(type, kinds[i].type) != 0)
            continue;
        if (client_target(&target, err, kinds[i].path, name) < 0)
            return -1;
        if (client_call_text(client, "GET", target, NULL, text, err) == 0)
            return 0;
        if (err->errno_value != ENOENT)
            return -1;
    }
    if (type != NULL)
        return keel_error_set(err, 0, "Error: No such %s: %s", type, name);
    return keel_error_set(err, 0, "Error: No such object: %s", name);
}

int client_inspect(const struct client *client, int argc, char **argv)
{
    enum { INSPECT_TYPE = 0x100, INSPECT_HELP };
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"type", required_argument, NULL, INSPECT_TYPE},
        {"size", no_argument, NULL, 's'},
        {"help", no_argument, NULL, INSPECT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *type = NULL;
    struct keel_error err = {0};
    int option, code = 0;

    optind = 0;
    while ((option = getopt_long(argc, argv, ":f:s", options, NULL)) != -1) {
        if (option == 'f')
            format = optarg;
        else if (option == INSPECT_TYPE)
            type = optarg;
        else if (option == 's')
            continue;
        else if (option == INSPECT_HELP)
            return printf(
                       "\nUsage:  keel inspect [OPTIONS] NAME|ID [NAME|ID...]\n\nReturn low-level "
                       "information "
                       "on containers and images\n\nOptions:\n"
                       "  -f, --format string   'json', or a Go template (default: indented JSON)\n"
                       "      --type string     Only inspect objects of the given type (container, "
                       "image)\n"),
                   0;
        else
            return client_option_error("inspect", option, argv);
    }
    if (optind >= argc)
        return client_usage_error("inspect", "\"keel inspect\" requires at least 1 argument.");
    if (type != NULL && strcmp(type, "container") != 0 && strcmp(type, "image") != 0) {
        fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
        return CLIENT_EXIT_FAILURE;
    }
    bool template = format != NULL && format[0] != '\0' && strcmp(format, "json") != 0;
    if (template) {
        /* docker parses the template first: a bad one is exit 64, nothing fetched. */
        _cleanup_free_ char *scratch = NULL;
        size_t length;
        FILE *sink = open_memstream(&scratch, &length);
        json_t *empty = json_object();
        int checked = sink != NULL ? client_template_render(format, empty, sink, &err) : -1;
        if (sink != NULL)
            fclose(sink);
        json_decref(empty);
        if (checked < 0 && strstr(err.message, "can't evaluate") == NULL)
            return client_report(&err, CLIENT_EXIT_TEMPLATE);
    }

    /* As docker: every object's output first, then the errors, then the exit code. */
    _cleanup_free_ char *array = NULL, *errors = NULL;
    size_t array_length = 0, errors_length = 0, found = 0;
    FILE *joined = open_memstream(&array, &array_length);
    FILE *failures = open_memstream(&errors, &errors_length);
    if (joined == NULL || failures == NULL) {
        if (joined != NULL)
            fclose(joined);
        if (failures != NULL)
            fclose(failures);
        return CLIENT_EXIT_FAILURE;
    }
    fputc('[', joined);
    for (int i = optind; i < argc; i++) {
        _cleanup_free_ char *text = NULL;
        if (containers_inspect_one(client, argv[i], type, &text, &err) < 0) {
            fprintf(failures, "%s\n", err.message);
            code = CLIENT_EXIT_FAILURE;
            continue;
        }
        if (template) {
            json_t *value = client_parse_json(text, strlen(text), &err);
            if (value == NULL || client_template_render(format, value, stdout, &err) < 0) {
                fprintf(failures, "%s\n", err.message);
                code = CLIENT_EXIT_FAILURE;
            } else {
                fputc('\n', stdout);
                found++;
            }
            json_decref(value);
            continue;
        }
        fprintf(joined, "%s%s", found++ > 0 ? "," : "", text);
    }
    fputc(']', joined);
    bool failed =
        ferror(joined) | (fclose(joined) != 0) | ferror(failures) | (fclose(failures) != 0);
    if (failed)
        return CLIENT_EXIT_FAILURE;
    if (template) {
        if (found == 0)
            fputc('\n', stdout);
    } else if (found == 0) {
        printf("[]\n");
    } else if (client_json_reformat(array, array_length,
                                    format == NULL || format[0] == '\0' ? "    " : NULL, stdout,
                                    &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return CLIENT_EXIT_FAILURE;
    } else {
        fputc('\n', stdout);
    }
    fflush(stdout);
    fputs(errors, stderr);
    return code;
}
