/* image_import.c — an archive into a store: read, then images planned, unpacked, named. */
#include "image_import.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "image_import_internal.h"
#include "layer_unpack.h"

#define IMPORT_PROGRESS_STEP (1u << 20)
#define IMPORT_CONFIG_MAX (16u << 20)
#define IMPORT_WORKERS_MAX 4

struct import_context {
    struct store *store;
    const struct image_import_options *options;
    int input_fd;
    struct image_import_progress progress;
    uint64_t bytes_reported;
    pthread_mutex_t progress_lock; /* progress callbacks come from unpacking threads */
    struct image_import_archive archive;
};

static void import_report(struct import_context *context,
                          const struct image_import_progress *progress)
{
    if (context->options->progress == NULL)
        return;
    pthread_mutex_lock(&context->progress_lock);
    context->options->progress(progress, context->options->progress_data);
    pthread_mutex_unlock(&context->progress_lock);
}

/* The archive reader's progress (image_import_archive_progress_fn). */
static void import_report_reading(uint64_t bytes_read, bool always, void *data)
{
    struct import_context *context = data;
    context->progress.bytes_read = bytes_read;
    if (!always && bytes_read - context->bytes_reported < IMPORT_PROGRESS_STEP)
        return;
    context->bytes_reported = bytes_read;
    import_report(context, &context->progress);
}

/* ---- the plan: the archive's images ---- */

void image_import_image_free(struct image_import_image *image)
{
    for (size_t i = 0; i < image->name_count; i++)
        free(image->names[i]);
    free(image->names);
    image_manifest_free(&image->manifest);
    image_config_free(&image->config);
    free(image->chain_ids);
    *image = (struct image_import_image){0};
}

static void import_plan_free(struct image_import_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++)
        image_import_image_free(&plan->images[i]);
    free(plan->images);
    *plan = (struct image_import_plan){0};
}

int image_import_plan_add(struct image_import_plan *plan, struct image_import_image *image,
                          struct keel_error *err)
{
    struct image_import_image *images = realloc(plan->images, (plan->count + 1) * sizeof *images);
    if (images == NULL)
        return keel_error_set(err, ENOMEM, "list the archive's images");
    plan->images = images;
    images[plan->count++] = *image;
    *image = (struct image_import_image){0};
    return 0;
}

int image_import_image_add_name(struct image_import_image *image, char *name,
                                struct keel_error *err)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < image->name_count; i++) {
        if (strcmp(image->names[i], name) == 0) {
            free(name);
            return 0;
        }
    }
    char **names = realloc(image->names, (image->name_count + 1) * sizeof *names);
    if (names == NULL) {
        free(name);
        return keel_error_set(err, ENOMEM, "name an image");
    }
    image->names = names;
    names[image->name_count++] = name;
    return 0;
}

static bool import_reference_has_tag(const char *reference)
{
    const char *colon = strrchr(reference, ':');
    const char *slash = strrchr(reference, '/');
    return colon != NULL && (slash == NULL || colon > slash);
}

int image_import_default_name(const char *default_name, const char *tag, char **name,
                              struct keel_error *err)
{
    *name = NULL;
    if (default_name == NULL)
        return 0;
    if (tag == NULL || import_reference_has_tag(default_name))
        return image_reference_normalize(default_name, name, err);
    _cleanup_free_ char *tagged = NULL;
    if (asprintf(&tagged, "%s:%s", default_name, tag) < 0)
        return keel_error_set(err, ENOMEM, "name an image");
    return image_reference_normalize(tagged, name, err);
}

/* Each image's config, checked against its manifest, and its chain ids. */
static int import_plan_configs(struct store *store, struct image_import_plan *plan,
                               struct keel_error *err)
{
    for (size_t i = 0; i < plan->count; i++) {
        struct image_import_image *image = &plan->images[i];
        const struct digest *config_digest = &image->manifest.config.digest;
        _cleanup_free_ char *text = NULL;
        size_t length;
        if (store_blob_read(store, config_digest, IMPORT_CONFIG_MAX, &text, &length, err) < 0 ||
            image_config_parse(text, length, &image->config, err) < 0)
            return keel_error_prefix(err, "config %s", config_digest->text);
        if (image->config.diff_id_count != image->manifest.layer_count)
            return keel_error_invalid(err, "config %s: %zu diff ids for the manifest's %zu layers",
                                      config_digest->text, image->config.diff_id_count,
                                      image->manifest.layer_count);
        image->chain_ids = calloc(image->manifest.layer_count + 1, sizeof *image->chain_ids);
        if (image->chain_ids == NULL)
            return keel_error_set(err, ENOMEM, "chain ids");
        image_chain_ids(image->config.diff_ids, image->config.diff_id_count, image->chain_ids);
    }
    return 0;
}

/* ---- unpacking layers ---- */

struct import_layer {
    const struct image_descriptor *blob;
    const struct digest *diff_id;
    const struct digest *chain_id;
    size_t number; /* 1-based, in its image: for messages */
    bool committed;
};

struct import_unpacker {
    struct import_context *context;
    struct import_layer *layers;
    size_t count;
    pthread_mutex_t lock; /* next, failed, error */
    size_t next;
    bool failed;
    struct keel_error error;
};

struct import_unpack_progress {
    struct import_unpacker *unpacker;
    size_t position;
};

static void import_report_unpacking(struct import_unpacker *unpacker, size_t position,
                                    uint64_t bytes)
{
    struct image_import_progress progress = unpacker->context->progress;
    progress.phase = IMAGE_IMPORT_UNPACKING;
    progress.layer_index = position;
    progress.layer_count = unpacker->count;
    progress.layer_bytes_read = bytes;
    progress.layer_bytes_total = unpacker->layers[position].blob->size;
    import_report(unpacker->context, &progress);
}

static void import_unpack_progress(const struct layer_unpack_stats *stats, void *data)
{
    struct import_unpack_progress *progress = data;
    import_report_unpacking(progress->unpacker, progress->position, stats->compressed_bytes);
}

static bool import_unpacker_failed(struct import_unpacker *unpacker)
{
    pthread_mutex_lock(&unpacker->lock);
    bool failed = unpacker->failed;
    pthread_mutex_unlock(&unpacker->lock);
    return failed;
}

/* Unpack one layer into a fresh directory under tmp/, check its diff id,
 * commit it under its chain id. The store's writers may run in parallel
 * (each has its own temporary name). */
static int import_unpack_layer(struct import_unpacker *unpacker, size_t position,
                               struct keel_error *err)
{
    struct store *store = unpacker->context->store;
    struct import_layer *layer = &unpacker->layers[position];
    struct store_layer_writer writer;

    import_report_unpacking(unpacker, position, 0);
    if (store_layer_writer_open(store, &writer, err) < 0)
        return -1;
    _cleanup_close_ int blob_fd = store_blob_open(store, &layer->blob->digest, err);
    struct import_unpack_progress progress = {unpacker, position};
    struct layer_unpack_options options = {import_unpack_progress, &progress};
    struct digest diff_id;
    int r = blob_fd < 0 ? -1
                        : layer_unpack(blob_fd, writer.directory_fd, &options, &diff_id, NULL, err);
    if (r == 0 && !digest_equal(&diff_id, layer->diff_id))
        r = keel_error_invalid(err, "diff id is %s, the config says %s", diff_id.text,
                               layer->diff_id->text);
    /* Another layer failed meanwhile: the import is over, drop this one. */
    if (r < 0 || import_unpacker_failed(unpacker)) {
        store_layer_writer_discard(store, &writer);
        return r;
    }
    if (store_layer_writer_commit(store, &writer, layer->chain_id, err) < 0)
        return -1;
    layer->committed = true; /* read once every worker is joined */
    return 0;
}

static void *import_unpack_worker(void *data)
{
    struct import_unpacker *unpacker = data;
    for (;;) {
        pthread_mutex_lock(&unpacker->lock);
        bool done = unpacker->failed || unpacker->next == unpacker->count;
        size_t position = done ? 0 : unpacker->next++;
        pthread_mutex_unlock(&unpacker->lock);
        if (done)
            return NULL;

        struct keel_error err = {0};
        if (import_unpack_layer(unpacker, position, &err) < 0) {
            const struct import_layer *layer = &unpacker->layers[position];
            keel_error_prefix(&err, "layer %zu (%s)", layer->number, layer->blob->digest.text);
            pthread_mutex_lock(&unpacker->lock);
            if (!unpacker->failed) {
                unpacker->failed = true;
                unpacker->error = err;
            }
            pthread_mutex_unlock(&unpacker->lock);
        }
    }
}

static size_t import_worker_count(size_t layers)
{
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    size_t workers = processors > 0 ? (size_t)processors : 1;
    if (workers > IMPORT_WORKERS_MAX)
        workers = IMPORT_WORKERS_MAX;
    return workers < layers ? workers : layers;
}

static void import_unpack_run(struct import_unpacker *unpacker)
{
    size_t wanted = import_worker_count(unpacker->count);
    pthread_t threads[IMPORT_WORKERS_MAX];
    size_t started = 0;
    /* The calling thread is one of the workers; too few threads only slows us. */
    while (started + 1 < wanted &&
           pthread_create(&threads[started], NULL, import_unpack_worker, unpacker) == 0)
        started++;
    import_unpack_worker(unpacker);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

/* Unpack every layer of the plan not yet in the store, each chain id once.
 * On failure, the layers this import committed are removed again. */
static int import_unpack_layers(struct import_context *context,
                                const struct image_import_plan *plan, struct keel_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < plan->count; i++)
        total += plan->images[i].manifest.layer_count;
    _cleanup_free_ struct import_layer *layers = calloc(total + 1, sizeof *layers);
    if (layers == NULL)
        return keel_error_set(err, ENOMEM, "unpack layers");

    size_t count = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const struct image_import_image *image = &plan->images[i];
        for (size_t j = 0; j < image->manifest.layer_count; j++) {
            const struct digest *chain_id = &image->chain_ids[j];
            bool listed = false;
            for (size_t k = 0; k < count && !listed; k++)
                listed = digest_equal(layers[k].chain_id, chain_id);
            if (listed || store_layer_exists(context->store, chain_id))
                continue;
            layers[count++] = (struct import_layer){.blob = &image->manifest.layers[j],
                                                    .diff_id = &image->config.diff_ids[j],
                                                    .chain_id = chain_id,
                                                    .number = j + 1};
        }
    }
    if (count == 0)
        return 0;

    struct import_unpacker unpacker = {.context = context, .layers = layers, .count = count};
    pthread_mutex_init(&unpacker.lock, NULL);
    import_unpack_run(&unpacker);
    pthread_mutex_destroy(&unpacker.lock);
    if (!unpacker.failed)
        return 0;
    for (size_t i = 0; i < count; i++) {
        struct keel_error ignored;
        if (layers[i].committed)
            store_layer_remove(context->store, layers[i].chain_id, &ignored);
    }
    *err = unpacker.error;
    return -1;
}

/* ---- naming: the commit point ---- */

static int import_result_add(struct image_import_result *result, const char *name,
                             const struct image_import_image *image, struct keel_error *err)
{
    struct image_import_loaded *images =
        realloc(result->images, (result->count + 1) * sizeof *images);
    if (images == NULL)
        return keel_error_set(err, ENOMEM, "list the loaded images");
    result->images = images;
    struct image_import_loaded *loaded = &images[result->count];
    *loaded = (struct image_import_loaded){.id = image->manifest.config.digest,
                                           .manifest = image->manifest_digest};
    if (name != NULL && (loaded->name = strdup(name)) == NULL)
        return keel_error_set(err, ENOMEM, "list the loaded images");
    result->count++;
    return 0;
}

static int import_name_image(struct store *store, const struct image_import_image *image,
                             const char *name, struct image_import_result *result,
                             struct keel_error *err)
{
    if (store_index_set(store, name, &image->manifest_digest, image->manifest_size, err) < 0)
        return -1;
    return import_result_add(result, name, image, err);
}

static int import_name_images(struct store *store, const struct image_import_plan *plan,
                              struct image_import_result *result, struct keel_error *err)
{
    for (size_t i = 0; i < plan->count; i++) {
        const struct image_import_image *image = &plan->images[i];
        if (image->name_count == 0 && import_name_image(store, image, NULL, result, err) < 0)
            return -1;
        for (size_t j = 0; j < image->name_count; j++)
            if (import_name_image(store, image, image->names[j], result, err) < 0)
                return -1;
    }
    return 0;
}

/* ---- the whole import ---- */

static int import_plan_archive(struct import_context *context, struct image_import_plan *plan,
                               struct keel_error *err)
{
    const char *default_name = context->options->name;
    /* Docker 25 and later write both: index.json is the richer. */
    if (image_import_archive_find(&context->archive, "index.json") != NULL)
        return image_import_oci_plan(context->store, &context->archive, default_name, plan, err);
    if (image_import_archive_find(&context->archive, "manifest.json") != NULL)
        return image_import_docker_plan(context->store, &context->archive, default_name, plan, err);
    return keel_error_invalid(err, "not an image archive: no index.json or manifest.json");
}

static int import_run(struct import_context *context, struct image_import_result *result,
                      struct keel_error *err)
{
    struct stat status;
    if (fstat(context->input_fd, &status) == 0 && S_ISREG(status.st_mode)) {
        /* What is left of the file: the caller may have read some of it. */
        off_t offset = lseek(context->input_fd, 0, SEEK_CUR);
        if (offset < 0 || offset > status.st_size)
            offset = 0;
        context->progress.bytes_total = (uint64_t)(status.st_size - offset);
    }

    struct image_import_plan plan = {0};
    int r = image_import_archive_load(context->store, context->input_fd, import_report_reading,
                                      context, &context->archive, err);
    if (r == 0)
        r = import_plan_archive(context, &plan, err);
    if (r == 0 && plan.count == 0)
        r = keel_error_invalid(err, "the archive holds no image");
    if (r == 0)
        r = import_plan_configs(context->store, &plan, err);
    if (r == 0)
        r = import_unpack_layers(context, &plan, err);
    if (r == 0)
        r = import_name_images(context->store, &plan, result, err);
    if (r == 0) {
        context->progress.phase = IMAGE_IMPORT_DONE;
        import_report(context, &context->progress);
    }
    import_plan_free(&plan);
    image_import_archive_free(&context->archive);
    return r;
}

int image_import(struct store *store, int input_fd, const struct image_import_options *options,
                 struct image_import_result *result, struct keel_error *err)
{
    static const struct image_import_options no_options = {0};
    *result = (struct image_import_result){0};
    if (store_lock(store, err) < 0)
        return -1;
    struct import_context context = {
        .store = store,
        .options = options ? options : &no_options,
        .input_fd = input_fd,
        .progress = {.phase = IMAGE_IMPORT_READING},
    };
    pthread_mutex_init(&context.progress_lock, NULL);
    int r = import_run(&context, result, err);
    pthread_mutex_destroy(&context.progress_lock);
    store_unlock(store);
    if (r < 0)
        image_import_result_free(result);
    return r;
}

void image_import_result_free(struct image_import_result *result)
{
    for (size_t i = 0; i < result->count; i++)
        free(result->images[i].name);
    free(result->images);
    *result = (struct image_import_result){0};
}
