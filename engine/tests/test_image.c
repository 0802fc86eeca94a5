/* test_image.c — images in a real store: find, list, read, prune, remove, base; JSON views. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image.h"

#define CREATED "2024-05-01T12:00:00Z"
#define CREATED_SECONDS 1714564800

struct fixture {
    char root[64];
    struct store store;
};

/* What add_image made, for the checks. */
struct made_image {
    struct digest manifest;
    uint64_t manifest_size;
    struct digest config;
    uint64_t config_size;
    struct digest layers[4];
    struct digest chain_ids[4];
    uint64_t size;
};

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
    (void)status;
    (void)type;
    (void)walk;
    return remove(path);
}

static void remove_directory(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    struct keel_error err = {0};

    if (fixture == NULL)
        return -1;
    strcpy(fixture->root, "/tmp/keel-test-image.XXXXXX");
    if (mkdtemp(fixture->root) == NULL ||
        store_open(&fixture->store, fixture->root, NULL, 0, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        free(fixture);
        return -1;
    }
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    store_close(&fixture->store);
    remove_directory(fixture->root);
    free(fixture);
    return 0;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) < 0)                                                                            \
            fail_msg("%s: %s", #call, err.message);                                                \
    } while (0)

static void put_blob(struct store *store, const char *text, struct digest *digest)
{
    struct keel_error err = {0};
    CHECK(store_blob_put(store, text, strlen(text), digest, &err));
}

/* An empty unpacked layer under chain_id: the image code only needs it to exist. */
static void put_layer(struct store *store, const struct digest *chain_id)
{
    struct store_layer_writer writer;
    struct keel_error err = {0};

    if (store_layer_exists(store, chain_id))
        return;
    CHECK(store_layer_writer_open(store, &writer, &err));
    CHECK(store_layer_writer_commit(store, &writer, chain_id, &err));
}

/* An image of layer_count layers whose contents derive from layer_salt (two
 * images with the same layer salt share their bottom layers) and whose
 * config carries config_salt as a label; named name (may be NULL). */
static void add_image(struct store *store, const char *name, const char *layer_salt,
                      size_t layer_count, const char *config_salt, struct made_image *made)
{
    struct keel_error err = {0};
    struct image_descriptor layers[4] = {0};
    struct digest diff_ids[4];
    char text[1024], diff_list[4 * 80] = "";

    assert_true(layer_count <= 4);
    memset(made, 0, sizeof *made);
    CHECK(store_lock(store, &err));
    for (size_t i = 0; i < layer_count; i++) {
        snprintf(text, sizeof text, "layer %s %zu", layer_salt, i);
        put_blob(store, text, &made->layers[i]);
        layers[i].media_type = (char *)MEDIA_TYPE_OCI_LAYER_GZIP;
        layers[i].digest = made->layers[i];
        layers[i].size = strlen(text);
        made->size += strlen(text);
        snprintf(text, sizeof text, "diff %s %zu", layer_salt, i);
        digest_of_bytes(text, strlen(text), &diff_ids[i]);
        snprintf(diff_list + strlen(diff_list), sizeof diff_list - strlen(diff_list), "%s\"%s\"",
                 i ? "," : "", diff_ids[i].text);
    }
    image_chain_ids(diff_ids, layer_count, made->chain_ids);
    for (size_t i = 0; i < layer_count; i++)
        put_layer(store, &made->chain_ids[i]);

    snprintf(text, sizeof text,
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"" CREATED "\","
             "\"config\":{\"Cmd\":[\"/bin/sh\"],\"Labels\":{\"salt\":\"%s\"}},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
             config_salt, diff_list);
    put_blob(store, text, &made->config);
    made->config_size = strlen(text);
    made->size += made->config_size;

    struct image_manifest manifest = {
        .config = {.media_type = (char *)MEDIA_TYPE_OCI_CONFIG,
                   .digest = made->config,
                   .size = made->config_size},
        .layers = layers,
        .layer_count = layer_count,
    };
    char *manifest_text = NULL;
    size_t manifest_length = 0;
    CHECK(image_manifest_serialize(&manifest, &manifest_text, &manifest_length, &err));
    put_blob(store, manifest_text, &made->manifest);
    made->manifest_size = manifest_length;
    free(manifest_text);
    CHECK(store_index_set(store, name, &made->manifest, made->manifest_size, &err));
    store_unlock(store);
}

static void add_name(struct store *store, const char *name, const struct made_image *made)
{
    struct keel_error err = {0};
    CHECK(store_lock(store, &err));
    CHECK(store_index_set(store, name, &made->manifest, made->manifest_size, &err));
    store_unlock(store);
}

static void assert_image_is(const struct image *image, const struct made_image *made,
                            size_t layer_count)
{
    assert_string_equal(image->manifest_digest.text, made->manifest.text);
    assert_int_equal(image->manifest_size, made->manifest_size);
    assert_string_equal(image->id.text, made->config.text);
    assert_int_equal(image->manifest.layer_count, layer_count);
    assert_int_equal(image->config.diff_id_count, layer_count);
    for (size_t i = 0; i < layer_count; i++)
        assert_string_equal(image->chain_ids[i].text, made->chain_ids[i].text);
    assert_int_equal(image->size, made->size);
}

static void assert_not_found(const struct store *store, const char *reference)
{
    struct image image;
    struct keel_error err = {0};
    char expected[128];

    if (image_find(store, reference, &image, &err) != -1)
        fail_msg("\"%s\" found", reference);
    assert_int_equal(err.errno_value, ENOENT);
    snprintf(expected, sizeof expected, "no such image: %s", reference);
    assert_string_equal(err.message, expected);
}

static size_t blob_count(const struct store *store)
{
    struct digest *digests = NULL;
    size_t count = 0;
    struct keel_error err = {0};
    CHECK(store_blob_list(store, &digests, &count, &err));
    free(digests);
    return count;
}

static size_t layer_count_of(const struct store *store)
{
    struct digest *digests = NULL;
    size_t count = 0;
    struct keel_error err = {0};
    CHECK(store_layer_list(store, &digests, &count, &err));
    free(digests);
    return count;
}

static void test_find_by_name_and_id(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image toolbox, other;
    struct image image;
    struct keel_error err = {0};
    char reference[80];

    add_image(store, "toolbox:latest", "t", 2, "t", &toolbox);
    add_name(store, "toolbox:1", &toolbox);
    add_image(store, "quay.io/x/other:latest", "o", 1, "o", &other);

    const char *toolbox_references[] = {
        "toolbox",           "toolbox:latest",      "docker.io/library/toolbox:1",
        toolbox.config.text, toolbox.manifest.text,
    };
    for (size_t i = 0; i < sizeof toolbox_references / sizeof toolbox_references[0]; i++) {
        if (image_find(store, toolbox_references[i], &image, &err) < 0)
            fail_msg("find \"%s\": %s", toolbox_references[i], err.message);
        assert_image_is(&image, &toolbox, 2);
        assert_string_equal(image.names[0], "toolbox:latest");
        assert_string_equal(image.names[1], "toolbox:1");
        assert_null(image.names[2]);
        assert_false(image.in_base);
        assert_string_equal(image.config.label_values[0], "t");
        image_free(&image);
    }

    /* Short ids, as `docker images` shows them. */
    snprintf(reference, sizeof reference, "%.12s", digest_hex(&other.config));
    CHECK(image_find(store, reference, &image, &err));
    assert_image_is(&image, &other, 1);
    assert_string_equal(image.names[0], "quay.io/x/other:latest");
    image_free(&image);
    CHECK(image_find(store, digest_hex(&other.config), &image, &err));
    assert_image_is(&image, &other, 1);
    image_free(&image);
    CHECK(image_find(store, "quay.io/x/other", &image, &err));
    image_free(&image);

    assert_not_found(store, "nope");
    assert_not_found(store, "other");
    assert_not_found(store,
                     "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    /* Three digits are too few to be an id. */
    snprintf(reference, sizeof reference, "%.3s", digest_hex(&other.config));
    assert_not_found(store, reference);
    assert_int_equal(image_find(store, "sha256:abc", &image, &err), -1);
    assert_non_null(strstr(err.message, "bad digest"));
}

static void test_list(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image first, second, unnamed;
    struct image *images = NULL;
    size_t count = 99;
    struct keel_error err = {0};

    CHECK(image_list(store, &images, &count, &err));
    assert_int_equal(count, 0);
    image_list_free(images, count);

    add_image(store, "first:latest", "f", 1, "f", &first);
    add_image(store, "second:latest", "s", 3, "s", &second);
    add_name(store, "first:again", &first);
    add_image(store, NULL, "u", 0, "u", &unnamed);

    CHECK(image_list(store, &images, &count, &err));
    assert_int_equal(count, 3);
    assert_image_is(&images[0], &first, 1);
    assert_string_equal(images[0].names[0], "first:latest");
    assert_string_equal(images[0].names[1], "first:again");
    assert_null(images[0].names[2]);
    assert_image_is(&images[1], &second, 3);
    assert_image_is(&images[2], &unnamed, 0);
    assert_null(images[2].names[0]);
    image_list_free(images, count);
}

static void test_read_checks(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image made;
    struct image image;
    struct keel_error err = {0};
    struct digest manifest, config;
    char text[1024];

    add_image(store, "good:latest", "g", 2, "g", &made);
    CHECK(image_read(store, &made.manifest, made.manifest_size, &image, &err));
    assert_image_is(&image, &made, 2);
    assert_non_null(image.names);
    assert_null(image.names[0]);
    image_free(&image);

    /* 0: the size is not known. */
    CHECK(image_read(store, &made.manifest, 0, &image, &err));
    image_free(&image);

    assert_int_equal(image_read(store, &made.manifest, made.manifest_size + 1, &image, &err), -1);
    assert_non_null(strstr(err.message, "the index says"));

    /* A config with one diff id for a manifest of two layers. */
    CHECK(store_lock(store, &err));
    snprintf(text, sizeof text, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             made.chain_ids[0].text);
    put_blob(store, text, &config);
    size_t config_size = strlen(text);
    snprintf(text, sizeof text,
             "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_TYPE_OCI_CONFIG
             "\",\"digest\":\"%s\","
             "\"size\":%zu},\"layers\":[{\"mediaType\":\"" MEDIA_TYPE_OCI_LAYER
             "\",\"digest\":\"%s\",\"size\":1},"
             "{\"mediaType\":\"" MEDIA_TYPE_OCI_LAYER "\",\"digest\":\"%s\",\"size\":1}]}",
             config.text, config_size, made.layers[0].text, made.layers[1].text);
    put_blob(store, text, &manifest);
    store_unlock(store);
    assert_int_equal(image_read(store, &manifest, 0, &image, &err), -1);
    assert_non_null(strstr(err.message, "config has 1 diff ids for 2 layers"));

    /* A manifest that is not in the store. */
    assert_int_equal(image_read(store, &made.layers[0], 0, &image, &err), -1);
    assert_non_null(strstr(err.message, made.layers[0].text));
}

static void test_ambiguous_prefix(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image first, second;
    struct image image;
    struct keel_error err = {0};
    char salt[32], text[512], prefix[8];
    struct digest digest;

    add_image(store, "first:latest", "p", 0, "first", &first);
    snprintf(prefix, sizeof prefix, "%.4s", digest_hex(&first.config));
    /* Find a config whose id shares the first's 4-digit prefix: about 65,536 tries. */
    for (unsigned n = 0;; n++) {
        snprintf(salt, sizeof salt, "%u", n);
        snprintf(text, sizeof text,
                 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"" CREATED "\","
                 "\"config\":{\"Cmd\":[\"/bin/sh\"],\"Labels\":{\"salt\":\"%s\"}},"
                 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                 salt);
        digest_of_bytes(text, strlen(text), &digest);
        if (strncmp(digest_hex(&digest), prefix, 4) == 0)
            break;
        assert_true(n < 10000000);
    }
    add_image(store, "second:latest", "p", 0, salt, &second);
    assert_string_equal(second.config.text, digest.text);

    assert_int_equal(image_find(store, prefix, &image, &err), -1);
    snprintf(text, sizeof text, "ambiguous image id prefix \"%s\": matches 2 images", prefix);
    assert_string_equal(err.message, text);
    /* One more digit tells them apart (unless they share it too). */
    snprintf(text, sizeof text, "%.20s", digest_hex(&second.config));
    CHECK(image_find(store, text, &image, &err));
    assert_string_equal(image.names[0], "second:latest");
    image_free(&image);
}

static void test_prune(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image made;
    struct image_prune_stats stats;
    struct keel_error err = {0};
    struct digest stray_blob, stray_layer, used_layer;
    char path[256];

    add_image(store, "kept:latest", "k", 2, "k", &made);
    CHECK(store_lock(store, &err));
    put_blob(store, "stray", &stray_blob);
    digest_of_bytes("stray layer", 11, &stray_layer);
    put_layer(store, &stray_layer);
    digest_of_bytes("used layer", 10, &used_layer);
    put_layer(store, &used_layer);
    store_unlock(store);
    /* A container's layer list keeps its layers, whatever the index says. */
    snprintf(path, sizeof path, "%s/containers/c1", fixture->root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/containers/c1/layers", fixture->root);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file, "%s\n", used_layer.text);
    fclose(file);

    assert_int_equal(blob_count(store), 5);
    assert_int_equal(layer_count_of(store), 4);
    CHECK(image_prune(store, &stats, &err));
    assert_int_equal(stats.blobs_removed, 1);
    assert_int_equal(stats.bytes_removed, 5);
    assert_int_equal(stats.layers_removed, 1);
    assert_false(store_blob_exists(store, &stray_blob));
    assert_false(store_layer_exists(store, &stray_layer));
    assert_true(store_layer_exists(store, &used_layer));
    assert_true(store_blob_exists(store, &made.manifest));
    assert_true(store_blob_exists(store, &made.config));
    assert_true(store_blob_exists(store, &made.layers[1]));
    assert_true(store_layer_exists(store, &made.chain_ids[1]));

    CHECK(image_prune(store, &stats, &err));
    assert_int_equal(stats.blobs_removed, 0);
    assert_int_equal(stats.layers_removed, 0);
    assert_int_equal(stats.bytes_removed, 0);
    /* The lock was released. */
    CHECK(store_lock(store, &err));
    store_unlock(store);
}

static void test_prune_refuses_unreadable_entry(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image made;
    struct image_prune_stats stats;
    struct keel_error err = {0};
    struct digest stray, missing;

    add_image(store, "kept:latest", "k", 1, "k", &made);
    digest_of_bytes("never stored", 12, &missing);
    CHECK(store_lock(store, &err));
    put_blob(store, "stray", &stray);
    CHECK(store_index_set(store, "broken:latest", &missing, 100, &err));
    store_unlock(store);

    assert_int_equal(image_prune(store, &stats, &err), -1);
    assert_non_null(strstr(err.message, "index entry broken:latest: "));
    assert_non_null(strstr(err.message, missing.text));
    assert_non_null(strstr(err.message, ": refusing to prune"));
    assert_true(store_blob_exists(store, &stray));
    assert_int_equal(stats.blobs_removed, 0);
}

static void assert_names(char **names, const char *first, const char *second)
{
    assert_non_null(names);
    assert_string_equal(names[0], first);
    if (second == NULL) {
        assert_null(names[1]);
        return;
    }
    assert_string_equal(names[1], second);
    assert_null(names[2]);
}

static void free_names(char **names)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++)
        free(names[i]);
    free(names);
}

static void test_remove(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = &fixture->store;
    struct made_image a, b, c;
    struct image image;
    struct image_prune_stats stats;
    struct keel_error err = {0};
    char **removed = NULL;

    /* b's one layer is a's bottom layer. */
    add_image(store, "a:latest", "shared", 2, "a", &a);
    add_name(store, "a:2", &a);
    add_image(store, "b:latest", "shared", 1, "b", &b);
    add_image(store, "c:1", "c", 1, "c", &c);
    add_name(store, "c:2", &c);
    assert_int_equal(blob_count(store), 2 + 2 + 2 + 3);

    CHECK(image_remove(store, "a", &removed, &stats, &err));
    assert_names(removed, "a:latest", NULL);
    free_names(removed);
    assert_int_equal(stats.blobs_removed, 0);
    CHECK(image_find(store, "a:2", &image, &err));
    assert_names(image.names, "a:2", NULL);
    image_free(&image);

    /* Its last name: the image goes, but not the layer b shares. */
    CHECK(image_remove(store, "docker.io/library/a:2", &removed, &stats, &err));
    assert_names(removed, "a:2", NULL);
    free_names(removed);
    assert_int_equal(stats.blobs_removed, 3);
    assert_int_equal(stats.layers_removed, 1);
    assert_false(store_blob_exists(store, &a.manifest));
    assert_false(store_blob_exists(store, &a.layers[1]));
    assert_false(store_layer_exists(store, &a.chain_ids[1]));
    assert_true(store_blob_exists(store, &a.layers[0]));
    assert_true(store_layer_exists(store, &a.chain_ids[0]));
    assert_not_found(store, "a:2");
    CHECK(image_find(store, "b", &image, &err));
    assert_image_is(&image, &b, 1);
    image_free(&image);

    /* By id: every name goes. */
    CHECK(image_remove(store, c.config.text, &removed, &stats, &err));
    assert_names(removed, "c:1", "c:2");
    free_names(removed);
    assert_int_equal(stats.blobs_removed, 3);
    assert_int_equal(stats.layers_removed, 1);
    assert_not_found(store, "c:2");

    /* By a short id, without asking for the names. */
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.8s", digest_hex(&b.config));
    CHECK(image_remove(store, prefix, NULL, NULL, &err));
    assert_int_equal(blob_count(store), 0);
    assert_int_equal(layer_count_of(store), 0);

    assert_int_equal(image_remove(store, "nope", &removed, &stats, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_null(removed);
    /* The lock was released on failure too. */
    CHECK(store_lock(store, &err));
    store_unlock(store);
}

static void test_base_store(void **state)
{
    struct fixture *fixture = *state;
    struct made_image base_image, top_image;
    struct store top;
    struct image image;
    struct image *images = NULL;
    size_t count = 0;
    struct image_prune_stats stats;
    struct keel_error err = {0};
    char top_root[128], **removed = NULL;

    /* The fixture's store becomes the base of a second one. */
    add_image(&fixture->store, "base:latest", "base", 2, "base", &base_image);
    snprintf(top_root, sizeof top_root, "%s/top", fixture->root);
    CHECK(store_open(&top, top_root, fixture->root, 0, &err));
    add_image(&top, "top:latest", "base", 1, "top", &top_image);

    CHECK(image_find(&top, "base", &image, &err));
    assert_image_is(&image, &base_image, 2);
    assert_true(image.in_base);
    image_free(&image);
    CHECK(image_find(&top, top_image.config.text, &image, &err));
    assert_false(image.in_base);
    image_free(&image);
    CHECK(image_list(&top, &images, &count, &err));
    assert_int_equal(count, 2);
    image_list_free(images, count);

    assert_int_equal(image_remove(&top, "base", &removed, &stats, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    assert_int_equal(image_remove(&top, base_image.config.text, &removed, &stats, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    assert_null(removed);

    /* Removing the top image leaves the base untouched. */
    CHECK(image_remove(&top, "top", &removed, &stats, &err));
    free_names(removed);
    CHECK(image_prune(&top, &stats, &err));
    CHECK(image_find(&top, "base", &image, &err));
    image_free(&image);
    assert_int_equal(blob_count(&fixture->store), 2 + 2);
    store_close(&top);

    /* A read-only store refuses changes. */
    CHECK(store_open(&top, top_root, fixture->root, STORE_OPEN_READ_ONLY, &err));
    assert_int_equal(image_prune(&top, &stats, &err), -1);
    assert_int_equal(err.errno_value, EROFS);
    store_close(&top);
}

/* ---- the JSON views, from a hand-built image ---- */

static char **strings_of(const char *first, const char *second)
{
    char **strings = calloc(3, sizeof *strings);
    assert_non_null(strings);
    strings[0] = first ? strdup(first) : NULL;
    strings[1] = first && second ? strdup(second) : NULL;
    return strings;
}

static void make_image(struct image *image, bool full)
{
    struct keel_error err = {0};

    memset(image, 0, sizeof *image);
    CHECK(digest_parse("sha256:1111111111111111111111111111111111111111111111111111111111111111",
                       &image->id, &err));
    CHECK(digest_parse("sha256:2222222222222222222222222222222222222222222222222222222222222222",
                       &image->manifest_digest, &err));
    image->names = strings_of(full ? "toolbox:latest" : NULL, "toolbox:1");
    image->size = 1234;
    image->manifest.layers = calloc(1, sizeof *image->manifest.layers);
    assert_non_null(image->manifest.layers);
    image->manifest.layers[0].media_type = strdup(MEDIA_TYPE_OCI_LAYER);
    image->manifest.layer_count = 1;
    image->config.diff_id_count = 1;
    image->config.diff_ids = calloc(1, sizeof *image->config.diff_ids);
    image->chain_ids = calloc(1, sizeof *image->chain_ids);
    assert_non_null(image->config.diff_ids);
    assert_non_null(image->chain_ids);
    CHECK(digest_parse("sha256:3333333333333333333333333333333333333333333333333333333333333333",
                       &image->config.diff_ids[0], &err));
    image->chain_ids[0] = image->config.diff_ids[0];
    if (!full)
        return;
    image->config.architecture = strdup("amd64");
    image->config.os = strdup("linux");
    image->config.created = strdup("2024-05-01T14:00:00.123456789+02:00");
    image->config.author = strdup("keel");
    image->config.entrypoint = strings_of("/bin/sh", "-c");
    image->config.cmd = strings_of("echo hi", NULL);
    image->config.env = strings_of("PATH=/bin", NULL);
    image->config.working_dir = strdup("/srv");
    image->config.user = strdup("1000");
    image->config.stop_signal = strdup("SIGINT");
    image->config.exposed_ports = strings_of("80/tcp", NULL);
    image->config.volumes = strings_of("/data", NULL);
    image->config.label_keys = strings_of("b", "a");
    image->config.label_values = strings_of("2", "1");
    image->in_base = true;
}

#define LAYER_3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_inspect_json(void **state)
{
    (void)state;
    struct image image;
    struct keel_error err = {0};
    char *json = NULL;

    make_image(&image, true);
    CHECK(image_inspect_json(&image, &json, &err));
    assert_string_equal(
        json,
        "{\"Id\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
        "\"RepoTags\":[\"toolbox:latest\",\"toolbox:1\"],\"RepoDigests\":[],"
        "\"Created\":\"2024-05-01T14:00:00.123456789+02:00\",\"Author\":\"keel\",\"Architecture\":"
        "\"amd64\","
        "\"Os\":\"linux\",\"Size\":1234,\"Config\":{\"User\":\"1000\",\"ExposedPorts\":{\"80/"
        "tcp\":{}},"
        "\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"echo hi\"],\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
        "\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/srv\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"},"
        "\"StopSignal\":\"SIGINT\"},\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"" LAYER_3 "\"]},"
        "\"Keel\":{\"Manifest\":\"sha256:"
        "2222222222222222222222222222222222222222222222222222222222222222\","
        "\"ChainIds\":[\"" LAYER_3 "\"],\"Base\":true}}");
    free(json);
    CHECK(image_summary_json(&image, &json, &err));
    assert_string_equal(
        json,
        "{\"Id\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
        "\"ParentId\":\"\",\"RepoTags\":[\"toolbox:latest\",\"toolbox:1\"],\"RepoDigests\":[],"
        "\"Created\":1714564800,\"Size\":1234,\"SharedSize\":-1,\"VirtualSize\":1234,"
        "\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Containers\":-1}");
    free(json);
    image_free(&image);
}

static void test_inspect_json_empty_config(void **state)
{
    (void)state;
    struct image image;
    struct keel_error err = {0};
    char *json = NULL;

    make_image(&image, false);
    CHECK(image_inspect_json(&image, &json, &err));
    assert_string_equal(
        json,
        "{\"Id\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
        "\"RepoTags\":[],\"RepoDigests\":[],\"Created\":\"\",\"Author\":\"\",\"Architecture\":\"\","
        "\"Os\":\"\","
        "\"Size\":1234,\"Config\":{\"User\":\"\",\"ExposedPorts\":null,\"Env\":null,\"Cmd\":null,"
        "\"Entrypoint\":null,\"Volumes\":null,\"WorkingDir\":\"\",\"Labels\":null,\"StopSignal\":"
        "\"\"},"
        "\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"" LAYER_3 "\"]},"
        "\"Keel\":{\"Manifest\":\"sha256:"
        "2222222222222222222222222222222222222222222222222222222222222222\","
        "\"ChainIds\":[\"" LAYER_3 "\"],\"Base\":false}}");
    free(json);
    CHECK(image_summary_json(&image, &json, &err));
    assert_non_null(strstr(json, "\"RepoTags\":[],"));
    assert_non_null(strstr(json, "\"Created\":0,"));
    assert_non_null(strstr(json, "\"Labels\":{},"));
    free(json);
    image_free(&image);
}

static void test_summary_created(void **state)
{
    (void)state;
    static const struct {
        const char *created;
        long long seconds;
    } cases[] = {
        {CREATED, CREATED_SECONDS},
        {"2024-05-01t12:00:00z", CREATED_SECONDS},
        {"2024-05-01T12:00:00.5Z", CREATED_SECONDS},
        {"2024-05-01T09:30:00-02:30", CREATED_SECONDS},
        {"1970-01-01T00:00:00Z", 0},
        {"2024-05-01", 0},
        {"2024-05-01T12:00:00", 0},
        {"2024-05-01T12:00:00Zjunk", 0},
        {"2024-13-01T12:00:00Z", 0},
        {"2024-05-01T12:00:00.Z", 0},
        {"yesterday", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image image;
        struct keel_error err = {0};
        char *json = NULL, expected[64];
        make_image(&image, false);
        image.config.created = strdup(cases[i].created);
        CHECK(image_summary_json(&image, &json, &err));
        snprintf(expected, sizeof expected, "\"Created\":%lld,", cases[i].seconds);
        if (strstr(json, expected) == NULL)
            fail_msg("\"%s\": %s lacks %s", cases[i].created, json, expected);
        free(json);
        image_free(&image);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_by_name_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ambiguous_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_refuses_unreadable_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_store, setup, teardown),
        cmocka_unit_test(test_inspect_json),
        cmocka_unit_test(test_inspect_json_empty_config),
        cmocka_unit_test(test_summary_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
