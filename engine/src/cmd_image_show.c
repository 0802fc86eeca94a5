/* cmd_image_show.c — `keel image ls` and `inspect`: the store's images as a table or as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "cmd_image.h"
#include "commands.h"
#include "image.h"

#define LIST_COLUMNS 5
#define LIST_COLUMN_MIN 10 /* docker's tabwriter: minimum width 10, padding 3 */
#define LIST_COLUMN_PADDING 3

/* One row of the table: an image under one of its names. */
struct list_row {
    char *cells[LIST_COLUMNS]; /* REPOSITORY TAG "IMAGE ID" CREATED SIZE */
    time_t created;            /* for the order: newest first */
};

static void list_rows_free(struct list_row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < LIST_COLUMNS; j++)
            free(rows[i].cells[j]);
    free(rows);
}

static int list_rows_compare(const void *a, const void *b)
{
    const struct list_row *left = a, *right = b;
    if (left->created != right->created)
        return left->created > right->created ? -1 : 1;
    int order = strcmp(left->cells[0], right->cells[0]);
    return order ? order : strcmp(left->cells[1], right->cells[1]);
}

/* The image id as the table shows it: 12 hex digits, or the whole digest. */
static void list_format_id(const struct image *image, bool no_trunc, char *text, size_t size)
{
    if (no_trunc)
        snprintf(text, size, "%s", image->id.text);
    else
        snprintf(text, size, "%.12s", digest_hex(&image->id));
}

/* A row for image under name (NULL: <none> <none>); the tag follows the
 * last ":" after the last "/" ("localhost:5000/x:1"). */
static int list_row_fill(struct list_row *row, const char *name, const struct image *image,
                         bool no_trunc, time_t now)
{
    char id[DIGEST_TEXT_LENGTH + 1], created[48], size[16];
    list_format_id(image, no_trunc, id, sizeof id);
    image_cli_format_created(image->config.created, now, created, sizeof created);
    image_cli_format_size(image->size, size, sizeof size);
    if (!image->config.created || !image_cli_parse_time(image->config.created, &row->created))
        row->created = 0;
    if (name) {
        const char *slash = strrchr(name, '/');
        const char *colon = strrchr(slash ? slash : name, ':');
        size_t length = colon ? (size_t)(colon - name) : strlen(name);
        row->cells[0] = strndup(name, length);
        row->cells[1] = strdup(colon ? colon + 1 : "<none>");
    } else {
        row->cells[0] = strdup("<none>");
        row->cells[1] = strdup("<none>");
    }
    row->cells[2] = strdup(id);
    row->cells[3] = strdup(created);
    row->cells[4] = strdup(size);
    for (size_t i = 0; i < LIST_COLUMNS; i++)
        if (row->cells[i] == NULL)
            return -1;
    return 0;
}

static int list_print_table(const struct image *images, size_t count, bool no_trunc,
                            struct keel_error *err)
{
    size_t row_count = 0;
    for (size_t i = 0; i < count; i++) {
        size_t names = 0;
        while (images[i].names && images[i].names[names])
            names++;
        row_count += names ? names : 1; /* an unnamed image: one <none> row */
    }
    struct list_row *rows = calloc(row_count ? row_count : 1, sizeof *rows);
    if (rows == NULL)
        return keel_error_set(err, ENOMEM, "list");
    time_t now = time(NULL);
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        char **names = images[i].names;
        bool unnamed = names == NULL || names[0] == NULL;
        for (size_t j = 0; unnamed ? j == 0 : names[j] != NULL; j++) {
            if (list_row_fill(&rows[used++], unnamed ? NULL : names[j], &images[i], no_trunc, now) <
                0) {
                list_rows_free(rows, used);
                return keel_error_set(err, ENOMEM, "list");
            }
        }
    }
    qsort(rows, used, sizeof *rows, list_rows_compare);

    static const char *const headers[LIST_COLUMNS] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED",
                                                      "SIZE"};
    size_t widths[LIST_COLUMNS];
    for (size_t j = 0; j < LIST_COLUMNS; j++) {
        size_t widest = strlen(headers[j]);
        for (size_t i = 0; i < used; i++)
            if (strlen(rows[i].cells[j]) > widest)
                widest = strlen(rows[i].cells[j]);
        widths[j] = widest + LIST_COLUMN_PADDING;
        if (widths[j] < LIST_COLUMN_MIN)
            widths[j] = LIST_COLUMN_MIN;
    }
    for (size_t i = 0; i <= used; i++) {
        const char *const *cells = i == 0 ? headers : (const char *const *)rows[i - 1].cells;
        for (size_t j = 0; j + 1 < LIST_COLUMNS; j++)
            printf("%-*s", (int)widths[j], cells[j]);
        printf("%s\n", cells[LIST_COLUMNS - 1]);
    }
    list_rows_free(rows, used);
    return 0;
}

/* The order of the listing: newest first, as docker's. */
static int list_images_compare(const void *a, const void *b)
{
    const struct image *left = a, *right = b;
    time_t left_created = 0, right_created = 0;
    if (left->config.created)
        image_cli_parse_time(left->config.created, &left_created);
    if (right->config.created)
        image_cli_parse_time(right->config.created, &right_created);
    if (left_created != right_created)
        return left_created > right_created ? -1 : 1;
    return strcmp(left->id.text, right->id.text);
}

/* -q: each image's id once. */
static void list_print_ids(const struct image *images, size_t count, bool no_trunc)
{
    for (size_t i = 0; i < count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = digest_equal(&images[j].id, &images[i].id);
        if (seen)
            continue;
        char id[DIGEST_TEXT_LENGTH + 1];
        list_format_id(&images[i], no_trunc, id, sizeof id);
        puts(id);
    }
}

static int list_print_json(const struct image *images, size_t count, struct keel_error *err)
{
    fputs("[", stdout);
    for (size_t i = 0; i < count; i++) {
        _cleanup_free_ char *json = NULL;
        if (image_summary_json(&images[i], &json, err) < 0) {
            fputs("]\n", stdout);
            return -1;
        }
        printf("%s%s", i ? "," : "", json);
    }
    fputs("]\n", stdout);
    return 0;
}

int cmd_image_list(struct image_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS,
                                            {"quiet", no_argument, NULL, 'q'},
                                            {"no-trunc", no_argument, NULL, 't'},
                                            {"format", required_argument, NULL, 'f'},
                                            {NULL, 0, NULL, 0}};
    static const char usage[] = "ls [-q] [--no-trunc] [--format json]";
    bool quiet = false, no_trunc = false, json = false;
    int option;
    while ((option = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
        if (option == 'q') {
            quiet = true;
        } else if (option == 't') {
            no_trunc = true;
        } else if (option == 'f') {
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                return image_cli_usage("ls", usage, "unknown format \"%s\" (json or table)",
                                       optarg);
            json = strcmp(optarg, "json") == 0;
        } else {
            int code = image_cli_option(cli, option, "ls", usage, argv);
            if (code >= 0)
                return code;
        }
    }
    if (optind != argc)
        return image_cli_usage("ls", usage, "unexpected argument \"%s\"", argv[optind]);

    struct keel_error err;
    struct store store;
    struct image *images = NULL;
    size_t count = 0;
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, false, &err) < 0)
        return image_cli_fail("ls", &err, KEEL_EXIT_FAILURE);
    int result = image_list(&store, &images, &count, &err);
    store_close(&store);
    if (result < 0)
        return image_cli_fail("ls", &err, KEEL_EXIT_FAILURE);
    if (count > 1)
        qsort(images, count, sizeof *images, list_images_compare);
    if (quiet)
        list_print_ids(images, count, no_trunc);
    else if (json)
        result = list_print_json(images, count, &err);
    else
        result = list_print_table(images, count, no_trunc, &err);
    image_list_free(images, count);
    return result < 0 ? image_cli_fail("ls", &err, KEEL_EXIT_FAILURE) : 0;
}

/* Append the inspect object of reference to array. Returns 0, or the exit
 * code with err filled: 1 when there is no such image. */
static int inspect_one(const struct store *store, const char *reference, json_t *array,
                       struct keel_error *err)
{
    struct image image;
    _cleanup_free_ char *text = NULL;
    if (image_find(store, reference, &image, err) < 0)
        return err->errno_value == ENOENT ? 1 : KEEL_EXIT_FAILURE;
    int result = image_inspect_json(&image, &text, err);
    image_free(&image);
    if (result < 0)
        return KEEL_EXIT_FAILURE;
    json_error_t parse_error;
    json_t *object = json_loads(text, 0, &parse_error);
    if (object == NULL || json_array_append_new(array, object) < 0) {
        keel_error_invalid(err, "%s: %s", reference, parse_error.text);
        return KEEL_EXIT_FAILURE;
    }
    return 0;
}

int cmd_image_inspect(struct image_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const char usage[] = "inspect REF...";
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int code = image_cli_option(cli, option, "inspect", usage, argv);
        if (code >= 0)
            return code;
    }
    if (optind >= argc)
        return image_cli_usage("inspect", usage, "no image named");

    struct keel_error err;
    struct store store;
    keel_error_clear(&err);
    if (image_cli_open(cli, &store, false, &err) < 0)
        return image_cli_fail("inspect", &err, KEEL_EXIT_FAILURE);
    size_t count = (size_t)(argc - optind);
    _cleanup_free_ struct keel_error *errors = calloc(count, sizeof *errors);
    _cleanup_free_ int *codes = calloc(count, sizeof *codes);
    json_t *array = json_array();
    if (errors == NULL || codes == NULL || array == NULL) {
        store_close(&store);
        json_decref(array);
        keel_error_set(&err, ENOMEM, "inspect");
        return image_cli_fail("inspect", &err, KEEL_EXIT_FAILURE);
    }
    for (size_t i = 0; i < count; i++)
        codes[i] = inspect_one(&store, argv[optind + (int)i], array, &errors[i]);
    store_close(&store);
    /* As docker: the images found, then what was not. */
    _cleanup_free_ char *text = json_dumps(array, JSON_INDENT(4));
    json_decref(array);
    if (text == NULL) {
        keel_error_set(&err, ENOMEM, "format");
        return image_cli_fail("inspect", &err, KEEL_EXIT_FAILURE);
    }
    puts(text);
    fflush(stdout);
    int code = 0;
    for (size_t i = 0; i < count; i++) {
        if (codes[i] == 0)
            continue;
        image_cli_fail("inspect", &errors[i], codes[i]);
        if (codes[i] > code)
            code = codes[i];
    }
    return code;
}
