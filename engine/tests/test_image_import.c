/* test_image_import.c — image archives loaded, refused without a trace, and killed mid-way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "digest.h"
#include "image.h"
#include "image_config.h"
#include "image_import.h"
#include "store.h"
#include "support/tar_buffer.h"

/* ---- byte buffers and tar streams built with libarchive's writer ---- */

/* type: 'f' file, 'd' directory, 'l' symlink, 'h' hard link (target in data). */
static void tar_add(struct archive *archive, char type, const char *name, const void *data,
                    size_t length)
{
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_filetype(entry, type == 'd' ? AE_IFDIR : type == 'l' ? AE_IFLNK : AE_IFREG);
    archive_entry_set_perm(entry, type == 'd' ? 0755 : 0644);
    archive_entry_set_size(entry, type == 'f' ? (la_int64_t)length : 0);
    if (type == 'l')
        archive_entry_set_symlink(entry, data);
    if (type == 'h')
        archive_entry_set_hardlink(entry, data);
    assert_int_equal(archive_write_header(archive, entry), ARCHIVE_OK);
    if (type == 'f' && length > 0)
        assert_int_equal(archive_write_data(archive, data, length), (la_ssize_t)length);
    archive_entry_free(entry);
}

static void tar_add_text(struct archive *archive, const char *name, const char *text)
{
    tar_add(archive, 'f', name, text, strlen(text));
}

static void compress_gzip(const struct buffer *input, struct buffer *output)
{
    z_stream stream = {0};
    assert_int_equal(deflateInit2(&stream, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&stream, input->length) + 64;
    output->data = malloc(bound);
    assert_non_null(output->data);
    stream.next_in = input->data;
    stream.avail_in = input->length;
    stream.next_out = output->data;
    stream.avail_out = bound;
    assert_int_equal(deflate(&stream, Z_FINISH), Z_STREAM_END);
    output->length = output->capacity = stream.total_out;
    deflateEnd(&stream);
}

static void compress_zstd(const struct buffer *input, struct buffer *output)
{
    size_t bound = ZSTD_compressBound(input->length);
    output->data = malloc(bound);
    assert_non_null(output->data);
    output->length = ZSTD_compress(output->data, bound, input->data, input->length, 3);
    assert_false(ZSTD_isError(output->length));
    output->capacity = bound;
}

/* ---- images: layers, configs, manifests ---- */

struct layer {
    struct buffer tar;  /* what the diff id covers */
    struct buffer blob; /* as stored: tar, gzip or zstd */
    struct digest diff_id;
    struct digest blob_digest;
};

static void layer_finish(struct layer *layer, char compression)
{
    digest_of_bytes(layer->tar.data, layer->tar.length, &layer->diff_id);
    if (compression == 'g')
        compress_gzip(&layer->tar, &layer->blob);
    else if (compression == 'z')
        compress_zstd(&layer->tar, &layer->blob);
    else
        buffer_append(&layer->blob, layer->tar.data, layer->tar.length);
    digest_of_bytes(layer->blob.data, layer->blob.length, &layer->blob_digest);
}

/* A layer holding directory/ and directory/file with text. */
static void layer_make(struct layer *layer, char compression, const char *directory,
                       const char *file, const char *text)
{
    char path[256];
    *layer = (struct layer){0};
    struct archive *archive = tar_open(&layer->tar);
    tar_add(archive, 'd', directory, NULL, 0);
    snprintf(path, sizeof path, "%s/%s", directory, file);
    tar_add_text(archive, path, text);
    tar_close(archive);
    layer_finish(layer, compression);
}

static void layer_free(struct layer *layer)
{
    buffer_free(&layer->tar);
    buffer_free(&layer->blob);
}

static char *config_make(const struct digest *diff_ids, size_t count)
{
    char list[4096] = "";
    for (size_t i = 0; i < count; i++) {
        strcat(list, i ? ",\"" : "\"");
        strcat(list, diff_ids[i].text);
        strcat(list, "\"");
    }
    char *text;
    assert_true(
        asprintf(&text,
                 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
                 list) > 0);
    return text;
}

static const char *layer_media_type(const struct layer *layer)
{
    if (layer->blob.data[0] == 0x1f)
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (layer->blob.data[0] == 0x28)
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
}

/* An OCI manifest; size_error is added to the first layer's size. */
static char *manifest_make(const char *config, struct layer *layers, size_t count, int size_error)
{
    struct digest config_digest;
    char list[4096] = "";
    digest_of_bytes(config, strlen(config), &config_digest);
    for (size_t i = 0; i < count; i++) {
        char item[512];
        snprintf(item, sizeof item, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
                 i ? "," : "", layer_media_type(&layers[i]), layers[i].blob_digest.text,
                 layers[i].blob.length + (i == 0 ? size_error : 0));
        strcat(list, item);
    }
    char *text;
    assert_true(
        asprintf(
            &text,
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
            "\"digest\":\"%s\",\"size\":%zu},\"layers\":[%s]}",
            config_digest.text, strlen(config), list) > 0);
    return text;
}

/* An index entry for document (a manifest or an index); extra is appended
 * inside the descriptor (platform, annotations). */
static char *descriptor_make(const char *media_type, const char *document, const char *extra)
{
    struct digest digest;
    digest_of_bytes(document, strlen(document), &digest);
    char *text;
    assert_true(asprintf(&text, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu%s%s}",
                         media_type, digest.text, strlen(document), extra ? "," : "",
                         extra ? extra : "") > 0);
    return text;
}

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

static char *index_make(const char *entries)
{
    char *text;
    assert_true(asprintf(&text, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[%s]}",
                         OCI_INDEX, entries) > 0);
    return text;
}

static void tar_add_blob(struct archive *archive, const void *data, size_t length)
{
    struct digest digest;
    char name[128];
    digest_of_bytes(data, length, &digest);
    snprintf(name, sizeof name, "blobs/sha256/%s", digest_hex(&digest));
    tar_add(archive, 'f', name, data, length);
}

static void tar_add_blob_text(struct archive *archive, const char *text)
{
    tar_add_blob(archive, text, strlen(text));
}

/* ---- a scratch directory with a store ---- */

struct scratch {
    char base[PATH_MAX - 64];
    char root[PATH_MAX - 32];
    struct store store;
    bool store_open;
};

static int scratch_remove_one(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    return remove(path);
}

static void scratch_open_store(struct scratch *scratch)
{
    struct keel_error err = {0};
    if (store_open(&scratch->store, scratch->root, NULL, 0, &err) < 0)
        fail_msg("store_open: %s", err.message);
    scratch->store_open = true;
}

static void scratch_close_store(struct scratch *scratch)
{
    if (scratch->store_open)
        store_close(&scratch->store);
    scratch->store_open = false;
}

static int scratch_setup(void **state)
{
    struct scratch *scratch = calloc(1, sizeof *scratch);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    if (scratch == NULL)
        return -1;
    snprintf(scratch->base, sizeof scratch->base, "%s/test_image_import.XXXXXX", tmp);
    if (mkdtemp(scratch->base) == NULL)
        return -1;
    snprintf(scratch->root, sizeof scratch->root, "%s/store", scratch->base);
    scratch_open_store(scratch);
    *state = scratch;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *scratch = *state;
    scratch_close_store(scratch);
    nftw(scratch->base, scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(scratch);
    return 0;
}

static int scratch_archive_fd(struct scratch *scratch, const struct buffer *archive)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/archive.tar", scratch->base);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, archive->data, archive->length), (ssize_t)archive->length);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void skip_unless_root(void)
{
    if (geteuid() != 0) {
        print_message("skipped: unpacking layers (owners, device whiteouts) needs root\n");
        skip();
    }
}

/* ---- progress, as a caller sees it ---- */

struct progress_log {
    size_t reading, unpacking, done;
    size_t layer_count;
    uint64_t bytes_read, bytes_total;
    bool done_last;
};

static void progress_record(const struct image_import_progress *progress, void *data)
{
    struct progress_log *log = data;
    log->done_last = progress->phase == IMAGE_IMPORT_DONE;
    if (progress->phase == IMAGE_IMPORT_READING)
        log->reading++;
    if (progress->phase == IMAGE_IMPORT_UNPACKING) {
        log->unpacking++;
        log->layer_count = progress->layer_count;
        assert_true(progress->layer_index < progress->layer_count);
    }
    if (progress->phase == IMAGE_IMPORT_DONE)
        log->done++;
    log->bytes_read = progress->bytes_read;
    log->bytes_total = progress->bytes_total;
}

static int import_buffer(struct scratch *scratch, const struct buffer *archive, const char *name,
                         struct progress_log *log, struct image_import_result *result,
                         struct keel_error *err)
{
    int fd = scratch_archive_fd(scratch, archive);
    struct image_import_options options = {
        .name = name, .progress = log ? progress_record : NULL, .progress_data = log};
    int r = image_import(&scratch->store, fd, &options, result, err);
    close(fd);
    return r;
}

static void assert_layer_file(struct scratch *scratch, const struct digest *chain_id,
                              const char *file, const char *text)
{
    char *directory = NULL;
    struct keel_error err = {0};
    if (store_layer_path(&scratch->store, chain_id, &directory, &err) < 0)
        fail_msg("store_layer_path: %s", err.message);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", directory, file);
    free(directory);
    char content[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_true(read(fd, content, sizeof content - 1) >= 0);
    close(fd);
    assert_string_equal(content, text);
}

static size_t index_count(struct scratch *scratch)
{
    struct store_index index;
    struct keel_error err = {0};
    if (store_index_read(&scratch->store, &index, &err) < 0)
        fail_msg("store_index_read: %s", err.message);
    size_t count = index.count;
    store_index_free(&index);
    return count;
}

static void chain_ids_of(struct layer *layers, size_t count, struct digest *chain_ids)
{
    struct digest diff_ids[8];
    for (size_t i = 0; i < count; i++)
        diff_ids[i] = layers[i].diff_id;
    image_chain_ids(diff_ids, count, chain_ids);
}

/* ---- docker-archive ---- */

/* docker save's layout, with the second layer gzip-compressed and reached
 * through a symlink as older docker save writes duplicates. */
static void docker_archive_make(struct layer *layers, const char *config, const char *repo_tags,
                                const char *layer_path_2, struct buffer *output)
{
    struct digest config_digest;
    char config_name[128], manifest[1024];
    digest_of_bytes(config, strlen(config), &config_digest);
    snprintf(config_name, sizeof config_name, "%s.json", digest_hex(&config_digest));
    snprintf(manifest, sizeof manifest,
             "[{\"Config\":\"%s\",\"RepoTags\":%s,\"Layers\":[\"one/layer.tar\",\"%s\"]}]",
             config_name, repo_tags, layer_path_2);

    struct archive *archive = tar_open(output);
    tar_add(archive, 'd', "one", NULL, 0);
    tar_add(archive, 'f', "one/layer.tar", layers[0].blob.data, layers[0].blob.length);
    tar_add(archive, 'd', "two", NULL, 0);
    tar_add(archive, 'f', "two/layer.tar", layers[1].blob.data, layers[1].blob.length);
    tar_add(archive, 'd', "link", NULL, 0);
    tar_add(archive, 'l', "link/layer.tar", "../two/layer.tar", 0);
    tar_add(archive, 'd', "hard", NULL, 0);
    tar_add(archive, 'h', "hard/layer.tar", "two/layer.tar", 0);
    tar_add_text(archive, config_name, config);
    tar_add_text(archive, "./manifest.json", manifest);
    tar_add_text(archive, "repositories", "{}");
    tar_close(archive);
}

struct docker_image {
    struct layer layers[2];
    char *config;
    struct digest config_digest;
    struct digest chain_ids[2];
    struct buffer archive;
};

static void docker_image_make(struct docker_image *image, const char *repo_tags,
                              const char *layer_path_2)
{
    layer_make(&image->layers[0], 't', "etc", "one.txt", "first layer\n");
    layer_make(&image->layers[1], 'g', "usr", "two.txt", "second layer\n");
    struct digest diff_ids[2] = {image->layers[0].diff_id, image->layers[1].diff_id};
    image->config = config_make(diff_ids, 2);
    digest_of_bytes(image->config, strlen(image->config), &image->config_digest);
    chain_ids_of(image->layers, 2, image->chain_ids);
    image->archive = (struct buffer){0};
    docker_archive_make(image->layers, image->config, repo_tags, layer_path_2, &image->archive);
}

static void docker_image_free(struct docker_image *image)
{
    layer_free(&image->layers[0]);
    layer_free(&image->layers[1]);
    free(image->config);
    buffer_free(&image->archive);
}

static void test_docker_archive_loads(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct docker_image docker;
    docker_image_make(&docker, "[\"example/app:1\",\"docker.io/library/other\"]", "link/layer.tar");

    struct progress_log log = {0};
    struct image_import_result result;
    struct keel_error err = {0};
    if (import_buffer(scratch, &docker.archive, NULL, &log, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);

    assert_int_equal(result.count, 2);
    assert_string_equal(result.images[0].name, "example/app:1");
    assert_string_equal(result.images[1].name, "other:latest");
    assert_string_equal(result.images[0].id.text, docker.config_digest.text);
    assert_string_equal(result.images[0].manifest.text, result.images[1].manifest.text);
    assert_true(log.reading > 0);
    assert_int_equal(log.unpacking >= 2, true);
    assert_int_equal(log.layer_count, 2);
    assert_int_equal(log.done, 1);
    assert_true(log.done_last);
    assert_int_equal(log.bytes_read, docker.archive.length);
    assert_int_equal(log.bytes_total, docker.archive.length);

    struct store_index index;
    assert_int_equal(store_index_read(&scratch->store, &index, &err), 0);
    assert_int_equal(index.count, 2);
    for (size_t i = 0; i < index.count; i++)
        assert_string_equal(index.entries[i].manifest.text, result.images[0].manifest.text);
    store_index_free(&index);

    assert_layer_file(scratch, &docker.chain_ids[0], "etc/one.txt", "first layer\n");
    assert_layer_file(scratch, &docker.chain_ids[1], "usr/two.txt", "second layer\n");

    struct image image;
    if (image_find(&scratch->store, "example/app:1", &image, &err) < 0)
        fail_msg("image_find: %s", err.message);
    assert_string_equal(image.id.text, docker.config_digest.text);
    assert_int_equal(image.manifest.layer_count, 2);
    assert_string_equal(image.manifest.layers[0].media_type,
                        "application/vnd.oci.image.layer.v1.tar");
    assert_string_equal(image.manifest.layers[1].media_type,
                        "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_string_equal(image.chain_ids[1].text, docker.chain_ids[1].text);
    image_free(&image);
    assert_int_equal(image_find(&scratch->store, "other", &image, &err), 0);
    image_free(&image);

    image_import_result_free(&result);
    docker_image_free(&docker);
}

static void test_docker_archive_loads_twice(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct docker_image docker;
    docker_image_make(&docker, "[\"twice:1\"]", "two/layer.tar");
    struct image_import_result result;
    struct keel_error err = {0};
    if (import_buffer(scratch, &docker.archive, NULL, NULL, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);
    struct digest manifest = result.images[0].manifest;
    image_import_result_free(&result);

    char *path = NULL;
    struct stat before, after;
    assert_int_equal(store_layer_path(&scratch->store, &docker.chain_ids[0], &path, &err), 0);
    assert_int_equal(stat(path, &before), 0);

    struct progress_log log = {0};
    if (import_buffer(scratch, &docker.archive, NULL, &log, &result, &err) < 0)
        fail_msg("image_import again: %s", err.message);
    assert_int_equal(result.count, 1);
    assert_string_equal(result.images[0].name, "twice:1");
    assert_string_equal(result.images[0].manifest.text, manifest.text);
    assert_int_equal(log.unpacking, 0);
    assert_int_equal(log.done, 1);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(index_count(scratch), 1);

    free(path);
    image_import_result_free(&result);
    docker_image_free(&docker);
}

static void test_docker_archive_unnamed_takes_given_name(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct docker_image docker;
    docker_image_make(&docker, "null", "hard/layer.tar");
    struct image_import_result result;
    struct keel_error err = {0};
    if (import_buffer(scratch, &docker.archive, "given", NULL, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);
    assert_int_equal(result.count, 1);
    assert_string_equal(result.images[0].name, "given:latest");
    image_import_result_free(&result);
    docker_image_free(&docker);
}

/* ---- OCI archives ---- */

/* An OCI archive: index.json -> a nested index (arm64, amd64) -> the amd64
 * manifest, its config and one zstd layer. The arm64 image's layer is not
 * in the archive: it must never be looked at. */
static void test_oci_nested_index_picks_amd64(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct layer amd64_layer, arm64_layer;
    layer_make(&amd64_layer, 'z', "opt", "arch", "amd64\n");
    layer_make(&arm64_layer, 'g', "opt", "arch", "arm64\n");
    char *amd64_config = config_make(&amd64_layer.diff_id, 1);
    char *arm64_config = config_make(&arm64_layer.diff_id, 1);
    char *amd64_manifest = manifest_make(amd64_config, &amd64_layer, 1, 0);
    char *arm64_manifest = manifest_make(arm64_config, &arm64_layer, 1, 0);
    char *arm64_entry = descriptor_make(
        OCI_MANIFEST, arm64_manifest, "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}");
    char *amd64_entry = descriptor_make(
        OCI_MANIFEST, amd64_manifest, "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}");
    char entries[2048];
    snprintf(entries, sizeof entries, "%s,%s", arm64_entry, amd64_entry);
    char *nested = index_make(entries);
    char *top_entry = descriptor_make(
        OCI_INDEX, nested,
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"example/multi:2\"}");
    char *top = index_make(top_entry);

    struct buffer archive_bytes = {0};
    struct archive *archive = tar_open(&archive_bytes);
    tar_add_text(archive, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    tar_add_text(archive, "index.json", top);
    tar_add_blob_text(archive, nested);
    tar_add_blob_text(archive, arm64_manifest);
    tar_add_blob_text(archive, arm64_config);
    tar_add_blob_text(archive, amd64_manifest);
    tar_add_blob_text(archive, amd64_config);
    tar_add_blob(archive, amd64_layer.blob.data, amd64_layer.blob.length);
    tar_close(archive);

    struct image_import_result result;
    struct keel_error err = {0};
    if (import_buffer(scratch, &archive_bytes, NULL, NULL, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);
    assert_int_equal(result.count, 1);
    assert_string_equal(result.images[0].name, "example/multi:2");
    struct digest expected;
    digest_of_bytes(amd64_manifest, strlen(amd64_manifest), &expected);
    assert_string_equal(result.images[0].manifest.text, expected.text);
    digest_of_bytes(amd64_config, strlen(amd64_config), &expected);
    assert_string_equal(result.images[0].id.text, expected.text);
    assert_layer_file(scratch, &amd64_layer.diff_id, "opt/arch", "amd64\n");

    struct image image;
    assert_int_equal(image_find(&scratch->store, "example/multi:2", &image, &err), 0);
    assert_string_equal(image.id.text, expected.text);
    image_free(&image);

    image_import_result_free(&result);
    buffer_free(&archive_bytes);
    free(top);
    free(top_entry);
    free(nested);
    free(amd64_entry);
    free(arm64_entry);
    free(amd64_manifest);
    free(arm64_manifest);
    free(amd64_config);
    free(arm64_config);
    layer_free(&amd64_layer);
    layer_free(&arm64_layer);
}

struct oci_image {
    struct layer layer;
    char *config;
    char *manifest;
    char *index;
    struct buffer archive;
};

/* A one-layer OCI archive; annotations go in index.json's entry, and
 * size_error is added to the layer's descriptor size. */
static void oci_image_make(struct oci_image *image, const char *annotations, int size_error,
                           const struct buffer *layer_blob_override)
{
    layer_make(&image->layer, 't', "srv", "file", "oci layer\n");
    image->config = config_make(&image->layer.diff_id, 1);
    image->manifest = manifest_make(image->config, &image->layer, 1, size_error);
    char *entry = descriptor_make(OCI_MANIFEST, image->manifest, annotations);
    image->index = index_make(entry);
    free(entry);
    image->archive = (struct buffer){0};
    struct archive *archive = tar_open(&image->archive);
    tar_add_text(archive, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    tar_add_text(archive, "index.json", image->index);
    tar_add_blob_text(archive, image->manifest);
    tar_add_blob_text(archive, image->config);
    if (layer_blob_override != NULL) {
        char name[128];
        snprintf(name, sizeof name, "blobs/sha256/%s", digest_hex(&image->layer.blob_digest));
        tar_add(archive, 'f', name, layer_blob_override->data, layer_blob_override->length);
    } else {
        tar_add_blob(archive, image->layer.blob.data, image->layer.blob.length);
    }
    tar_close(archive);
}

static void oci_image_free(struct oci_image *image)
{
    layer_free(&image->layer);
    free(image->config);
    free(image->manifest);
    free(image->index);
    buffer_free(&image->archive);
}

static void test_oci_bare_tag_takes_given_name(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct oci_image oci;
    oci_image_make(&oci, "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v3\"}", 0, NULL);
    struct image_import_result result;
    struct keel_error err = {0};
    if (import_buffer(scratch, &oci.archive, "mine", NULL, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);
    assert_int_equal(result.count, 1);
    assert_string_equal(result.images[0].name, "mine:v3");
    image_import_result_free(&result);

    /* Without a name given, the image is kept unnamed. */
    if (import_buffer(scratch, &oci.archive, NULL, NULL, &result, &err) < 0)
        fail_msg("image_import: %s", err.message);
    assert_int_equal(result.count, 1);
    assert_null(result.images[0].name);
    image_import_result_free(&result);

    struct store_index index;
    assert_int_equal(store_index_read(&scratch->store, &index, &err), 0);
    assert_int_equal(index.count, 1); /* the unnamed entry is the named image's manifest */
    assert_string_equal(index.entries[0].name, "mine:v3");
    store_index_free(&index);
    oci_image_free(&oci);
}

/* ---- refusals: the index as it was, no layer of the refused image ---- */

static void assert_refused(struct scratch *scratch, const struct buffer *archive,
                           const char *message_part, const struct digest *chain_ids,
                           size_t chain_count)
{
    struct image_import_result result;
    struct keel_error err = {0};
    size_t before = index_count(scratch);
    if (import_buffer(scratch, archive, "fallback", NULL, &result, &err) == 0)
        fail_msg("image_import accepted an archive it should refuse (\"%s\")", message_part);
    if (strstr(err.message, message_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.message, message_part);
    assert_int_equal(result.count, 0);
    assert_null(result.images);
    assert_int_equal(index_count(scratch), before);
    for (size_t i = 0; i < chain_count; i++)
        if (store_layer_exists(&scratch->store, &chain_ids[i]))
            fail_msg("\"%s\": layer %s was left in the store", message_part, chain_ids[i].text);
}

static void test_refuses_blob_content_not_its_name(void **state)
{
    struct scratch *scratch = *state;
    struct oci_image oci;
    struct buffer other = {0};
    buffer_append(&other, "not the layer", 13);
    oci_image_make(&oci, NULL, 0, &other);
    char expected[160];
    snprintf(expected, sizeof expected, "blob blobs/sha256/%s: content has digest",
             digest_hex(&oci.layer.blob_digest));
    assert_refused(scratch, &oci.archive, expected, &oci.layer.diff_id, 1);
    buffer_free(&other);
    oci_image_free(&oci);
}

static void test_refuses_wrong_descriptor_size(void **state)
{
    struct scratch *scratch = *state;
    struct oci_image oci;
    oci_image_make(&oci, NULL, 1, NULL);
    assert_refused(scratch, &oci.archive, "descriptor says", &oci.layer.diff_id, 1);
    oci_image_free(&oci);
}

static void test_refuses_diff_id_mismatch(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct docker_image docker;
    docker_image_make(&docker, "[\"bad:diff\"]", "two/layer.tar");
    /* The config names another second layer. */
    struct layer other;
    layer_make(&other, 't', "usr", "two.txt", "another second layer\n");
    struct digest diff_ids[2] = {docker.layers[0].diff_id, other.diff_id};
    free(docker.config);
    docker.config = config_make(diff_ids, 2);
    buffer_free(&docker.archive);
    docker_archive_make(docker.layers, docker.config, "[\"bad:diff\"]", "two/layer.tar",
                        &docker.archive);
    struct digest chain_ids[2];
    image_chain_ids(diff_ids, 2, chain_ids);

    char expected[256];
    snprintf(expected, sizeof expected, "layer 2 (%s): diff id is %s, the config says %s",
             docker.layers[1].blob_digest.text, docker.layers[1].diff_id.text, other.diff_id.text);
    assert_refused(scratch, &docker.archive, expected, chain_ids, 2);
    layer_free(&other);
    docker_image_free(&docker);
}

static void test_refuses_hostile_layer_entry(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    struct layer hostile = {0};
    struct archive *archive = tar_open(&hostile.tar);
    tar_add_text(archive, "../x", "escaped\n");
    tar_close(archive);
    layer_finish(&hostile, 't');
    char *config = config_make(&hostile.diff_id, 1);
    char *manifest = manifest_make(config, &hostile, 1, 0);
    char *entry = descriptor_make(OCI_MANIFEST, manifest, NULL);
    char *index = index_make(entry);
    struct buffer bytes = {0};
    archive = tar_open(&bytes);
    tar_add_text(archive, "index.json", index);
    tar_add_blob_text(archive, manifest);
    tar_add_blob_text(archive, config);
    tar_add_blob(archive, hostile.blob.data, hostile.blob.length);
    tar_close(archive);

    char expected[160];
    snprintf(expected, sizeof expected, "layer 1 (%s)", hostile.blob_digest.text);
    assert_refused(scratch, &bytes, expected, &hostile.diff_id, 1);
    assert_refused(scratch, &bytes, "../x", &hostile.diff_id, 1);
    char escaped[PATH_MAX];
    snprintf(escaped, sizeof escaped, "%s/tmp/x", scratch->root);
    assert_int_equal(access(escaped, F_OK), -1);

    buffer_free(&bytes);
    free(index);
    free(entry);
    free(manifest);
    free(config);
    layer_free(&hostile);
}

static void test_refuses_truncated_archive(void **state)
{
    struct scratch *scratch = *state;
    struct docker_image docker;
    docker_image_make(&docker, "[\"cut:1\"]", "two/layer.tar");
    /* Cut inside the first layer's data. */
    docker.archive.length = 512 * 3 + 100;
    assert_refused(scratch, &docker.archive, "read the archive", docker.chain_ids, 2);

    /* A gzip-compressed archive cut short. */
    struct buffer whole = {0}, gzipped = {0};
    docker_archive_make(docker.layers, docker.config, "[\"cut:1\"]", "two/layer.tar", &whole);
    compress_gzip(&whole, &gzipped);
    gzipped.length /= 2;
    assert_refused(scratch, &gzipped, "read the archive", docker.chain_ids, 2);
    buffer_free(&whole);
    buffer_free(&gzipped);
    docker_image_free(&docker);
}

static void test_refuses_what_is_not_an_image_archive(void **state)
{
    struct scratch *scratch = *state;
    struct buffer text = {0};
    const char *words = "hello, this is not a tar archive at all\n";
    buffer_append(&text, words, strlen(words));
    assert_refused(scratch, &text, "read the archive", NULL, 0);
    buffer_free(&text);

    struct buffer tar = {0};
    struct archive *archive = tar_open(&tar);
    tar_add_text(archive, "README", "just files\n");
    tar_close(archive);
    assert_refused(scratch, &tar, "not an image archive: no index.json or manifest.json", NULL, 0);
    buffer_free(&tar);
}

static void test_refuses_hostile_archive_names(void **state)
{
    struct scratch *scratch = *state;
    static const struct {
        char type;
        const char *name;
        const char *target;
        const char *message_part;
    } cases[] = {
        {'f', "../evil", NULL, "entry \"../evil\": path leaves the archive"},
        {'f', "/etc/evil", NULL, "entry \"/etc/evil\": absolute path"},
        {'l', "loop/layer.tar", "layer.tar", "link \"loop/layer.tar\": too many levels"},
        {'l', "dangling", "nothing",
         "link \"dangling\": its target \"nothing\" is not in the archive"},
        {'l', "out", "../../x", "leaves the archive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buffer bytes = {0};
        struct archive *archive = tar_open(&bytes);
        tar_add_text(archive, "manifest.json", "[]");
        tar_add(archive, cases[i].type, cases[i].name, cases[i].target ? cases[i].target : "x",
                cases[i].target ? 0 : 1);
        tar_close(archive);
        assert_refused(scratch, &bytes, cases[i].message_part, NULL, 0);
        buffer_free(&bytes);
    }
}

static void test_refuses_manifest_json_naming_missing_file(void **state)
{
    struct scratch *scratch = *state;
    struct docker_image docker;
    docker_image_make(&docker, "[\"missing:1\"]", "three/layer.tar");
    assert_refused(scratch, &docker.archive, "\"three/layer.tar\" is not in the archive",
                   docker.chain_ids, 2);
    docker_image_free(&docker);
}

static void test_refuses_index_without_amd64(void **state)
{
    struct scratch *scratch = *state;
    struct layer layer;
    layer_make(&layer, 't', "opt", "arch", "arm64\n");
    char *config = config_make(&layer.diff_id, 1);
    char *manifest = manifest_make(config, &layer, 1, 0);
    char *entry = descriptor_make(OCI_MANIFEST, manifest,
                                  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}");
    char *nested = index_make(entry);
    char *top_entry = descriptor_make(OCI_INDEX, nested, NULL);
    char *top = index_make(top_entry);
    struct buffer bytes = {0};
    struct archive *archive = tar_open(&bytes);
    tar_add_text(archive, "index.json", top);
    tar_add_blob_text(archive, nested);
    tar_add_blob_text(archive, manifest);
    tar_add_blob_text(archive, config);
    tar_add_blob(archive, layer.blob.data, layer.blob.length);
    tar_close(archive);
    assert_refused(scratch, &bytes, "arm64", &layer.diff_id, 1);
    buffer_free(&bytes);
    free(top);
    free(top_entry);
    free(nested);
    free(entry);
    free(manifest);
    free(config);
    layer_free(&layer);
}

/* ---- kill -9 at any moment ---- */

#define CRASH_LAYERS 4
#define CRASH_FILES_PER_LAYER 200
#define CRASH_FILE_SIZE (16 * 1024)

static void crash_layer_make(struct layer *layer, size_t number)
{
    static unsigned char data[CRASH_FILE_SIZE];
    *layer = (struct layer){0};
    struct archive *archive = tar_open(&layer->tar);
    char name[64];
    snprintf(name, sizeof name, "layer%zu", number);
    tar_add(archive, 'd', name, NULL, 0);
    for (size_t i = 0; i < CRASH_FILES_PER_LAYER; i++) {
        for (size_t j = 0; j < sizeof data; j++)
            data[j] = (unsigned char)(j * 31 + i * 7 + number * 131);
        snprintf(name, sizeof name, "layer%zu/file%zu", number, i);
        tar_add(archive, 'f', name, data, sizeof data);
    }
    tar_close(archive);
    layer_finish(layer, number % 2 ? 'g' : 't');
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Run the import in a child, killed after delay seconds (never when < 0).
 * Returns the seconds it took when it ran to its end. */
static double crash_run(const char *root, const char *archive_path, double delay)
{
    double start = seconds_now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store store;
        struct keel_error err = {0};
        struct image_import_result result;
        int fd = open(archive_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || store_open(&store, root, NULL, 0, &err) < 0)
            _exit(2);
        _exit(image_import(&store, fd, NULL, &result, &err) == 0 ? 0 : 1);
    }
    if (delay >= 0) {
        struct timespec pause = {(time_t)delay, (long)((delay - (time_t)delay) * 1e9)};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (delay < 0)
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return seconds_now() - start;
}

/* After a kill: the store opened again has an empty tmp/, and the image is
 * whole or absent. */
static void crash_check(const char *root, const struct digest *chain_ids, size_t count,
                        bool *complete)
{
    struct store store;
    struct keel_error err = {0};
    if (store_open(&store, root, NULL, 0, &err) < 0)
        fail_msg("store_open after kill: %s", err.message);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", root);
    DIR *directory = opendir(tmp);
    assert_non_null(directory);
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            fail_msg("tmp/ still holds %s after store_open", entry->d_name);
    closedir(directory);

    struct store_index index;
    assert_int_equal(store_index_read(&store, &index, &err), 0);
    *complete = index.count > 0;
    assert_true(index.count <= 1);
    store_index_free(&index);
    if (*complete) {
        struct image image;
        if (image_find(&store, "crash:1", &image, &err) < 0)
            fail_msg("image_find after kill: %s", err.message);
        image_free(&image);
        for (size_t i = 0; i < count; i++)
            if (!store_layer_exists(&store, &chain_ids[i]))
                fail_msg("named image lacks layer %zu after kill", i + 1);
    }
    store_close(&store);
}

static void test_kill_during_import_leaves_all_or_nothing(void **state)
{
    struct scratch *scratch = *state;
    skip_unless_root();
    scratch_close_store(scratch);

    struct layer layers[CRASH_LAYERS];
    struct digest diff_ids[CRASH_LAYERS], chain_ids[CRASH_LAYERS];
    for (size_t i = 0; i < CRASH_LAYERS; i++) {
        crash_layer_make(&layers[i], i);
        diff_ids[i] = layers[i].diff_id;
    }
    image_chain_ids(diff_ids, CRASH_LAYERS, chain_ids);
    char *config = config_make(diff_ids, CRASH_LAYERS);
    char *manifest = manifest_make(config, layers, CRASH_LAYERS, 0);
    char *entry = descriptor_make(OCI_MANIFEST, manifest,
                                  "\"annotations\":{\"io.containerd.image.name\":\"crash:1\"}");
    char *index = index_make(entry);
    struct buffer bytes = {0};
    struct archive *archive = tar_open(&bytes);
    tar_add_text(archive, "index.json", index);
    tar_add_blob_text(archive, manifest);
    tar_add_blob_text(archive, config);
    for (size_t i = 0; i < CRASH_LAYERS; i++)
        tar_add_blob(archive, layers[i].blob.data, layers[i].blob.length);
    tar_close(archive);

    char archive_path[PATH_MAX + 32], root[PATH_MAX + 32];
    snprintf(archive_path, sizeof archive_path, "%s/crash.tar", scratch->base);
    int fd = open(archive_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes.data, bytes.length), (ssize_t)bytes.length);
    close(fd);

    /* How long a whole import takes here sets the range of kill times. */
    snprintf(root, sizeof root, "%s/crash-whole", scratch->base);
    double whole = crash_run(root, archive_path, -1);
    bool complete;
    crash_check(root, chain_ids, CRASH_LAYERS, &complete);
    assert_true(complete);

    size_t completed = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(root, sizeof root, "%s/crash-%d", scratch->base, i);
        crash_run(root, archive_path, whole * (i + 1) / 5);
        crash_check(root, chain_ids, CRASH_LAYERS, &complete);
        completed += complete;
    }
    print_message("import took %.3f s; %zu of 10 killed imports had completed\n", whole, completed);

    buffer_free(&bytes);
    free(index);
    free(entry);
    free(manifest);
    free(config);
    for (size_t i = 0; i < CRASH_LAYERS; i++)
        layer_free(&layers[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_docker_archive_loads, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_loads_twice, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_unnamed_takes_given_name, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_oci_nested_index_picks_amd64, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_oci_bare_tag_takes_given_name, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_blob_content_not_its_name, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_wrong_descriptor_size, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_diff_id_mismatch, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_hostile_layer_entry, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_truncated_archive, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_what_is_not_an_image_archive, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_hostile_archive_names, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_manifest_json_naming_missing_file,
                                        scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_index_without_amd64, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_kill_during_import_leaves_all_or_nothing,
                                        scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
