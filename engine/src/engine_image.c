/* engine_image.c — the store's images served: list, inspect, remove with Docker's answers, load in
 * a worker thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine_internal.h"
#include "image.h"
#include "image_import.h"

/* Bytes moved from the API's pipe to the import per splice(2). */
#define IMAGE_LOAD_RELAY_CHUNK (1u << 16)
/* Splices per wakeup, so that a fast client cannot hold the loop. */
#define IMAGE_LOAD_RELAY_TURNS 16

static int engine_image_find(struct engine *engine, const char *reference, struct image *image,
                             struct keel_error *err)
{
    if (image_find(&engine->store, reference, image, err) == 0)
        return 0;
    if (err->errno_value == ENOENT)
        return engine_error_set(err, ENOENT, "No such image: %s", reference);
    return -1;
}

/* "sha256:HEX" to the 12 hex digits Docker's messages show. */
static const char *engine_image_short_id(const char *id, char out[13])
{
    if (strncmp(id, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1) == 0)
        id += sizeof DIGEST_PREFIX - 1;
    snprintf(out, 13, "%.12s", id);
    return out;
}

/* ---- list and inspect ---- */

static int engine_image_compare_created(const void *a, const void *b)
{
    json_int_t created_a = json_integer_value(json_object_get(*(json_t *const *)a, "Created"));
    json_int_t created_b = json_integer_value(json_object_get(*(json_t *const *)b, "Created"));
    return created_a < created_b ? 1 : created_a > created_b ? -1 : 0;
}

int engine_image_list_json(struct engine *engine, bool all, char **json, struct keel_error *err)
{
    struct image *images = NULL;
    size_t count = 0;
    int result = -1;

    /* Keel's store has no intermediate images (what all adds in Docker's
     * list); unnamed ones are listed either way, as Docker lists dangling
     * images. */
    (void)all;
    if (image_list(&engine->store, &images, &count, err) < 0)
        return keel_error_prefix(err, "list images");
    json_t **summaries = calloc(count + 1, sizeof *summaries);
    json_t *array = json_array();
    if (summaries == NULL || array == NULL) {
        keel_error_set(err, ENOMEM, "list images");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        _cleanup_free_ char *text = NULL;
        if (image_summary_json(&images[i], &text, err) < 0)
            goto done;
        summaries[i] = json_loads(text, 0, NULL);
        if (summaries[i] == NULL) {
            keel_error_set(err, ENOMEM, "list images");
            goto done;
        }
    }
    /* Newest first, as Docker answers. */
    qsort(summaries, count, sizeof *summaries, engine_image_compare_created);
    for (size_t i = 0; i < count; i++) {
        if (json_array_append(array, summaries[i]) < 0) {
            keel_error_set(err, ENOMEM, "list images");
            goto done;
        }
    }
    *json = json_dumps(array, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (*json == NULL) {
        keel_error_set(err, ENOMEM, "list images");
        goto done;
    }
    result = 0;
done:
    for (size_t i = 0; summaries != NULL && i < count; i++)
        json_decref(summaries[i]);
    free(summaries);
    json_decref(array);
    image_list_free(images, count);
    return result;
}

int engine_image_inspect_json(struct engine *engine, const char *reference, char **json,
                              struct keel_error *err)
{
    struct image image;

    if (engine_image_find(engine, reference, &image, err) < 0)
        return -1;
    int result = image_inspect_json(&image, json, err);
    image_free(&image);
    return result;
}

/* ---- remove ---- */

/* Whether reference names one of image's names (rather than its id). */
static bool engine_image_is_name_of(const struct image *image, const char *reference)
{
    _cleanup_free_ char *name = NULL;
    struct keel_error ignored;

    if (strncmp(reference, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1) == 0 ||
        image_reference_normalize(reference, &name, &ignored) < 0)
        return false;
    for (char **each = image->names; each != NULL && *each != NULL; each++)
        if (strcmp(*each, name) == 0)
            return true;
    return false;
}

/* Docker's conflict for an image a container uses: untagging a name the
 * image keeps others of is fine; removing the image itself needs force. */
static int engine_image_check_in_use(struct engine *engine, const struct image *image,
                                     const char *reference, bool force, struct keel_error *err)
{
    char short_image[13], short_container[13] = "";
    size_t name_count = 0;

    bool by_name = engine_image_is_name_of(image, reference);
    for (char **each = image->names; each != NULL && *each != NULL; each++)
        name_count++;
    if (force || (by_name && name_count > 1) || !engine_image_in_use(engine, image->id.text))
        return 0;

    for (struct engine_container *container = engine_container_next(engine, NULL);
         container != NULL; container = engine_container_next(engine, container)) {
        const char *image_id = engine_container_image_id(container);
        if (image_id != NULL && strcmp(image_id, image->id.text) == 0) {
            engine_image_short_id(engine_container_id(container), short_container);
            break;
        }
    }
    engine_image_short_id(image->id.text, short_image);
    if (by_name)
        return engine_error_set(
            err, EBUSY,
            "conflict: unable to remove repository reference \"%s\" (must force) - "
            "container %s is using its referenced image %s",
            reference, short_container, short_image);
    return engine_error_set(
        err, EBUSY,
        "conflict: unable to delete %s (must be forced) - image is being used by "
        "container %s",
        short_image, short_container);
}

/* [{"Untagged":name}...] then {"Deleted":id} when the image is gone. */
static int engine_image_remove_answer(char **removed_names, const char *deleted_id, char **json,
                                      struct keel_error *err)
{
    json_t *answer = json_array();
    bool failed = answer == NULL;

    for (char **name = removed_names; !failed && name != NULL && *name != NULL; name++)
        failed |= json_array_append_new(answer, json_pack("{s:s}", "Untagged", *name)) < 0;
    if (!failed && deleted_id != NULL)
        failed |= json_array_append_new(answer, json_pack("{s:s}", "Deleted", deleted_id)) < 0;
    *json = failed ? NULL : json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(answer);
    if (*json == NULL)
        return keel_error_set(err, ENOMEM, "remove image");
    return 0;
}

int engine_image_remove_json(struct engine *engine, const char *reference, bool force, char **json,
                             struct keel_error *err)
{
    struct image image, after;
    char **removed_names = NULL;
    bool deleted = false;

    if (engine_image_loading(engine))
        return engine_error_set(
            err, EBUSY, "conflict: unable to remove %s: an image load is in progress", reference);
    if (engine_image_find(engine, reference, &image, err) < 0)
        return -1;
    if (engine_image_check_in_use(engine, &image, reference, force, err) < 0 ||
        image_remove(&engine->store, reference, &removed_names, NULL, err) < 0) {
        image_free(&image);
        return -1;
    }
    /* Gone entirely unless another name or the base store still holds it. */
    struct keel_error ignored;
    if (image_find(&engine->store, image.id.text, &after, &ignored) == 0)
        image_free(&after);
    else
        deleted = ignored.errno_value == ENOENT;

    int result =
        engine_image_remove_answer(removed_names, deleted ? image.id.text : NULL, json, err);
    for (char **name = removed_names; name != NULL && *name != NULL; name++)
        engine_event_emit(engine, "image", "untag", image.id.text,
                          json_pack("{s:s}", "name", *name));
    if (deleted)
        engine_event_emit(engine, "image", "delete", image.id.text,
                          json_pack("{s:s}", "name", image.id.text));
    for (char **name = removed_names; name != NULL && *name != NULL; name++)
        free(*name);
    free(removed_names);
    image_free(&image);
    return result;
}

/* ---- load ----
 *
 * image_import reads its fd to the end and takes the store lock for the
 * whole import: it runs in a thread of its own, with its own struct store.
 * It does not read the API's pipe directly: the loop relays it (splice)
 * into a pipe of ours, so that engine_image_loads_free can end the import
 * by closing our write end (a close does not wake a read blocked in
 * another thread; the end of the pipe does). The thread reports through an
 * eventfd and two atomics; everything else it touches is its own until it
 * has said it finished. */

struct engine_image_load {
    struct engine *engine;
    struct engine_image_load *next;
    engine_load_progress_fn *progress;
    engine_load_done_fn *done;
    void *data;

    int input_fd;       /* the API's read end; -1 once relayed to its end */
    int relay_write_fd; /* our pipe's write end; -1 once closed */
    bool relay_blocked; /* our pipe is full: wait for room, not for input */
    int import_fd;      /* what the thread reads: our pipe's read end, or the input file itself */
    int event_fd;       /* the thread's "look at me" */

    pthread_t thread;
    bool thread_running; /* started and not yet joined */
    _Atomic uint64_t bytes_read;
    atomic_bool finished;
    uint64_t bytes_reported;

    /* The thread's answer, read once finished is seen. */
    int result;
    struct keel_error error;
    struct image_import_result imported;
};

struct engine_image_loads {
    struct engine_image_load *first;
};

bool engine_image_loading(const struct engine *engine)
{
    return engine->image_loads != NULL && engine->image_loads->first != NULL;
}

/* Wake the loop. An eventfd adds, so a wakeup is never lost; it only
 * fails near overflow, when the loop has one pending anyway. */
static void engine_image_load_wake(struct engine_image_load *load)
{
    uint64_t one = 1;
    ssize_t ignored = write(load->event_fd, &one, sizeof one);
    (void)ignored;
}

static void engine_image_load_progress(const struct image_import_progress *progress, void *data)
{
    struct engine_image_load *load = data;
    if (atomic_exchange(&load->bytes_read, progress->bytes_read) != progress->bytes_read)
        engine_image_load_wake(load);
}

static void *engine_image_load_thread(void *data)
{
    struct engine_image_load *load = data;
    struct engine_options *options = &load->engine->options;
    struct image_import_options import_options = {
        .progress = engine_image_load_progress,
        .progress_data = load,
    };
    struct store store;

    load->result = store_open(&store, options->store_root, options->store_base, 0, &load->error);
    if (load->result == 0) {
        load->result =
            image_import(&store, load->import_fd, &import_options, &load->imported, &load->error);
        store_close(&store);
    }
    if (load->result < 0)
        keel_error_prefix(&load->error, "load image");
    atomic_store(&load->finished, true);
    engine_image_load_wake(load);
    return NULL;
}

static void engine_image_load_close(struct engine *engine, int *fd)
{
    struct keel_error ignored;
    if (*fd < 0)
        return;
    loop_remove_fd(engine->loop, *fd, &ignored);
    close(*fd);
    *fd = -1;
}

/* The relay ends: the import reads what is in our pipe, then its end. */
static void engine_image_load_relay_stop(struct engine_image_load *load)
{
    engine_image_load_close(load->engine, &load->input_fd);
    engine_image_load_close(load->engine, &load->relay_write_fd);
}

static int engine_image_load_relay(struct loop *loop, int fd, uint32_t events, void *user,
                                   struct keel_error *err);

/* Watch the input for data, or our pipe for room when it is full. */
static int engine_image_load_relay_watch(struct engine_image_load *load, bool blocked,
                                         struct keel_error *err)
{
    if (blocked == load->relay_blocked)
        return 0;
    struct keel_error ignored;
    loop_remove_fd(load->engine->loop, blocked ? load->input_fd : load->relay_write_fd, &ignored);
    load->relay_blocked = blocked;
    if (blocked)
        return loop_add_fd(load->engine->loop, load->relay_write_fd, EPOLLOUT,
                           engine_image_load_relay, load, err);
    return loop_add_fd(load->engine->loop, load->input_fd, EPOLLIN, engine_image_load_relay, load,
                       err);
}

static int engine_image_load_relay(struct loop *loop, int fd, uint32_t events, void *user,
                                   struct keel_error *err)
{
    struct engine_image_load *load = user;
    (void)loop;
    (void)fd;
    (void)events;

    for (int turn = 0; turn < IMAGE_LOAD_RELAY_TURNS; turn++) {
        ssize_t moved = splice(load->input_fd, NULL, load->relay_write_fd, NULL,
                               IMAGE_LOAD_RELAY_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (moved > 0)
            continue;
        if (moved < 0 && errno == EINTR)
            continue;
        if (moved < 0 && errno == EAGAIN) {
            /* Either side may be why: ask our pipe whether it has room. */
            struct pollfd room = {.fd = load->relay_write_fd, .events = POLLOUT};
            bool full = poll(&room, 1, 0) == 0;
            if (engine_image_load_relay_watch(load, full, err) < 0) {
                engine_image_load_relay_stop(load);
                return keel_error_prefix(err, "load image");
            }
            return 0;
        }
        /* The end of the input, or a broken one: the import sees the end of
         * our pipe and finishes (or fails on a truncated archive). */
        engine_image_load_relay_stop(load);
        return 0;
    }
    return 0; /* more to move: level-triggered, the loop calls again */
}

static void engine_image_load_unlink(struct engine *engine, struct engine_image_load *load)
{
    for (struct engine_image_load **link = &engine->image_loads->first; *link != NULL;
         link = &(*link)->next) {
        if (*link == load) {
            *link = load->next;
            break;
        }
    }
}

/* Join the thread (it has finished or is about to), release everything. */
static void engine_image_load_free(struct engine_image_load *load)
{
    engine_image_load_relay_stop(load);
    if (load->thread_running)
        pthread_join(load->thread, NULL);
    if (load->import_fd >= 0)
        close(load->import_fd);
    engine_image_load_close(load->engine, &load->event_fd);
    image_import_result_free(&load->imported);
    free(load);
}

/* The loaded images' names, an unnamed one by its id, NULL-terminated;
 * the strings are load's. NULL on ENOMEM. */
static const char **engine_image_load_names(const struct engine_image_load *load)
{
    const char **names = calloc(load->imported.count + 1, sizeof *names);
    if (names == NULL)
        return NULL;
    for (size_t i = 0; i < load->imported.count; i++) {
        const struct image_import_loaded *loaded = &load->imported.images[i];
        names[i] = loaded->name ? loaded->name : loaded->id.text;
    }
    return names;
}

static void engine_image_load_finish(struct engine_image_load *load)
{
    struct engine *engine = load->engine;
    struct keel_error err;

    engine_image_load_unlink(engine, load);
    pthread_join(load->thread, NULL);
    load->thread_running = false;
    if (load->result < 0) {
        load->done(NULL, &load->error, load->data);
        engine_image_load_free(load);
        return;
    }
    for (size_t i = 0; i < load->imported.count; i++) {
        const struct image_import_loaded *loaded = &load->imported.images[i];
        engine_event_emit(
            engine, "image", "load", loaded->id.text,
            json_pack("{s:s}", "name", loaded->name ? loaded->name : loaded->id.text));
    }
    _cleanup_free_ const char **names = engine_image_load_names(load);
    if (names == NULL) {
        keel_error_set(&err, ENOMEM, "load image");
        load->done(NULL, &err, load->data);
    } else {
        load->done(names, NULL, load->data);
    }
    engine_image_load_free(load);
}

static int engine_image_load_on_event(struct loop *loop, int fd, uint32_t events, void *user,
                                      struct keel_error *err)
{
    struct engine_image_load *load = user;
    uint64_t count;
    (void)loop;
    (void)events;
    (void)err;

    if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return keel_error_set(err, errno, "load image: read eventfd");
    uint64_t bytes_read = atomic_load(&load->bytes_read);
    if (bytes_read != load->bytes_reported && load->progress != NULL) {
        load->bytes_reported = bytes_read;
        load->progress(bytes_read, load->data);
    }
    if (atomic_load(&load->finished))
        engine_image_load_finish(load);
    return 0;
}

/* A pipe (or socket) is relayed; a regular file cannot be watched by epoll
 * and never blocks for ever, so the thread reads it itself. */
static int engine_image_load_connect(struct engine_image_load *load, struct keel_error *err)
{
    struct stat status;
    int relay[2];

    if (fstat(load->input_fd, &status) < 0)
        return keel_error_set(err, errno, "load image: stat input");
    if (S_ISREG(status.st_mode)) {
        load->import_fd = load->input_fd;
        load->input_fd = -1;
        return 0;
    }
    /* splice(2) blocks on a socket without O_NONBLOCK, whatever its flags
     * say; the input is ours alone now. */
    int flags = fcntl(load->input_fd, F_GETFL);
    if (flags < 0 || fcntl(load->input_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return keel_error_set(err, errno, "load image: input");
    if (pipe2(relay, O_CLOEXEC) < 0)
        return keel_error_set(err, errno, "load image: pipe");
    load->import_fd = relay[0];
    load->relay_write_fd = relay[1];
    return loop_add_fd(load->engine->loop, load->input_fd, EPOLLIN, engine_image_load_relay, load,
                       err);
}

int engine_image_load(struct engine *engine, int input_fd, engine_load_progress_fn *progress,
                      engine_load_done_fn *done, void *data, struct keel_error *err)
{
    struct engine_image_load *load = calloc(1, sizeof *load);

    if (engine->image_loads == NULL)
        engine->image_loads = calloc(1, sizeof *engine->image_loads);
    if (load == NULL || engine->image_loads == NULL) {
        free(load);
        close(input_fd);
        return keel_error_set(err, ENOMEM, "load image");
    }
    *load = (struct engine_image_load){
        .engine = engine,
        .progress = progress,
        .done = done,
        .data = data,
        .input_fd = input_fd,
        .relay_write_fd = -1,
        .import_fd = -1,
        .event_fd = -1,
    };
    atomic_init(&load->bytes_read, 0);
    atomic_init(&load->finished, false);
    load->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (load->event_fd < 0) {
        keel_error_set(err, errno, "load image: eventfd");
        goto fail;
    }
    if (loop_add_fd(engine->loop, load->event_fd, EPOLLIN, engine_image_load_on_event, load, err) <
            0 ||
        engine_image_load_connect(load, err) < 0)
        goto fail;
    int failure = pthread_create(&load->thread, NULL, engine_image_load_thread, load);
    if (failure != 0) {
        keel_error_set(err, failure, "load image: start thread");
        goto fail;
    }
    load->thread_running = true;
    load->next = engine->image_loads->first;
    engine->image_loads->first = load;
    return 0;
fail:
    engine_image_load_free(load);
    return -1;
}

void engine_image_loads_free(struct engine *engine)
{
    if (engine->image_loads == NULL)
        return;
    /* Ending the relay ends a reading import quickly; one unpacking a layer
     * finishes that layer first. Their done is not called. */
    while (engine->image_loads->first != NULL) {
        struct engine_image_load *load = engine->image_loads->first;
        engine->image_loads->first = load->next;
        engine_image_load_free(load);
    }
    free(engine->image_loads);
    engine->image_loads = NULL;
}
