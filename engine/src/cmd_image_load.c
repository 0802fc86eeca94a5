/* cmd_image_load.c — `keel image load`: an archive into the store, progress on a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd_image.h"
#include "commands.h"
#include "image_import.h"

#define LOAD_BAR_WIDTH 30
#define LOAD_REDRAW_NANOSECONDS 100000000LL /* 10 redraws a second at most */

/* The progress line on stderr. The importer serialises its callbacks (they
 * come from its unpacking threads), so this needs no lock of its own. */
struct load_progress {
    long long last_draw; /* CLOCK_MONOTONIC nanoseconds */
    enum image_import_phase last_phase;
    bool drawn;
};

static long long load_progress_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* "[=====>      ]  12.3MB/45.6MB", or "12.3MB" when the total is unknown. */
static void load_progress_bar(uint64_t done, uint64_t total, char *text, size_t size)
{
    char done_text[16], total_text[16];
    image_cli_format_size(done, done_text, sizeof done_text);
    if (total == 0) {
        snprintf(text, size, "%s", done_text);
        return;
    }
    if (done > total)
        done = total;
    char bar[LOAD_BAR_WIDTH + 1];
    size_t filled = (size_t)(done * LOAD_BAR_WIDTH / total);
    for (size_t i = 0; i < LOAD_BAR_WIDTH; i++)
        bar[i] = i < filled ? '=' : ' ';
    if (filled < LOAD_BAR_WIDTH)
        bar[filled] = '>';
    bar[LOAD_BAR_WIDTH] = '\0';
    image_cli_format_size(total, total_text, sizeof total_text);
    snprintf(text, size, "[%s] %7s/%s", bar, done_text, total_text);
}

static void load_progress_draw(const struct image_import_progress *progress, void *data)
{
    struct load_progress *state = data;
    if (progress->phase == IMAGE_IMPORT_DONE)
        return;
    long long now = load_progress_now();
    /* Layers unpack in parallel and take turns reporting: only a new phase
     * draws at once, the rest at most ten times a second. */
    bool changed = progress->phase != state->last_phase;
    if (!changed && state->drawn && now - state->last_draw < LOAD_REDRAW_NANOSECONDS)
        return;
    state->last_draw = now;
    state->last_phase = progress->phase;
    state->drawn = true;
    char bar[96];
    if (progress->phase == IMAGE_IMPORT_READING) {
        load_progress_bar(progress->bytes_read, progress->bytes_total, bar, sizeof bar);
        fprintf(stderr, "\rReading archive   %s\033[K", bar);
    } else {
        load_progress_bar(progress->layer_bytes_read, progress->layer_bytes_total, bar, sizeof bar);
        fprintf(stderr, "\rUnpacking layer %zu/%zu %s\033[K", progress->layer_index + 1,
                progress->layer_count, bar);
    }
    fflush(stderr);
}

static void load_progress_clear(struct load_progress *state)
{
    if (!state->drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

int cmd_image_load(struct image_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {IMAGE_CLI_COMMON_OPTIONS,
                                            {"input", required_argument, NULL, 'i'},
                                            {"name", required_argument, NULL, 'n'},
                                            {"quiet", no_argument, NULL, 'q'},
                                            {NULL, 0, NULL, 0}};
    static const char usage[] = "load [-i FILE] [--name NAME] [-q]";
    const char *input = "-";
    struct image_import_options import_options = {0};
    bool quiet = false;
    int option;
    while ((option = getopt_long(argc, argv, ":i:n:qh", options, NULL)) != -1) {
        if (option == 'i') {
            input = optarg;
        } else if (option == 'n') {
            import_options.name = optarg;
        } else if (option == 'q') {
            quiet = true;
        } else {
            int code = image_cli_option(cli, option, "load", usage, argv);
            if (code >= 0)
                return code;
        }
    }
    if (optind != argc)
        return image_cli_usage("load", usage, "unexpected argument \"%s\"", argv[optind]);

    struct keel_error err;
    keel_error_clear(&err);
    _cleanup_close_ int opened = -1;
    int input_fd = STDIN_FILENO;
    if (strcmp(input, "-") != 0) {
        opened = open(input, O_RDONLY | O_CLOEXEC);
        if (opened < 0) {
            keel_error_set(&err, errno, "open %s", input);
            return image_cli_fail("load", &err, KEEL_EXIT_FAILURE);
        }
        input_fd = opened;
    } else if (isatty(STDIN_FILENO)) {
        fputs("keel image load: refusing to read an archive from a terminal: use -i FILE or a "
              "pipe\n",
              stderr);
        return KEEL_EXIT_USAGE;
    }

    struct load_progress progress = {.last_phase = IMAGE_IMPORT_READING};
    if (!quiet && isatty(STDERR_FILENO)) {
        import_options.progress = load_progress_draw;
        import_options.progress_data = &progress;
    }
    struct store store;
    struct image_import_result result = {0};
    if (image_cli_open(cli, &store, true, &err) < 0)
        return image_cli_fail("load", &err, KEEL_EXIT_FAILURE);
    int loaded = image_import(&store, input_fd, &import_options, &result, &err);
    load_progress_clear(&progress);
    store_close(&store);
    if (loaded < 0)
        return image_cli_fail("load", &err, KEEL_EXIT_FAILURE);
    for (size_t i = 0; i < result.count; i++) {
        if (result.images[i].name)
            printf("Loaded image: %s\n", result.images[i].name);
        else
            printf("Loaded image ID: %s\n", result.images[i].id.text);
    }
    image_import_result_free(&result);
    return 0;
}
