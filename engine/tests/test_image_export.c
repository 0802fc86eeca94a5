/* test_image_export.c — OCI and docker archives of a store built here, read back. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <jansson.h>

#include "digest.h"
#include "image.h"
#include "image_export.h"
#include "image_import.h"
#include "image_manifest.h"
#include "store.h"

/* ---- building a store ---- */

struct test_blob {
    void *data;
    size_t size;
    struct digest digest;
};

struct fixture {
    char root[64];
    struct store store;
    /* the image "test/app:1" (also "test/app:latest"): a gzip layer, a plain
     * one and a zstd one */
    struct digest layer_blobs[3];
    struct digest diff_ids[3];
    struct digest id;
    struct digest manifest;
    /* an unnamed image of one plain layer */
    struct digest unnamed_id;
    struct digest unnamed_manifest;
    /* "test/broken:1": a gzip layer whose config diff id is wrong */
    struct digest broken_id;
};

/* An uncompressed tar of one file, as libarchive writes it. */
static void make_tar(const char *name, const char *content, struct test_blob *tar)
{
    size_t capacity = 64 * 1024;
    tar->data = malloc(capacity);
    assert_non_null(tar->data);
    struct archive *writer = archive_write_new();
    archive_write_set_format_pax_restricted(writer);
    assert_int_equal(archive_write_open_memory(writer, tar->data, capacity, &tar->size),
                     ARCHIVE_OK);
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, (la_int64_t)strlen(content));
    assert_int_equal(archive_write_header(writer, entry), ARCHIVE_OK);
    assert_int_equal(archive_write_data(writer, content, strlen(content)),
                     (ssize_t)strlen(content));
    archive_entry_free(entry);
    assert_int_equal(archive_write_close(writer), ARCHIVE_OK);
    archive_write_free(writer);
    digest_of_bytes(tar->data, tar->size, &tar->digest);
}

/* data compressed with libarchive's filter (raw format: the bytes as they are). */
static void compress(const struct test_blob *plain, int filter, struct test_blob *compressed)
{
    size_t capacity = plain->size + 4096;
    compressed->data = malloc(capacity);
    assert_non_null(compressed->data);
    struct archive *writer = archive_write_new();
    archive_write_set_format_raw(writer);
    assert_int_equal(archive_write_add_filter(writer, filter), ARCHIVE_OK);
    archive_write_set_bytes_in_last_block(writer, 1);
    assert_int_equal(
        archive_write_open_memory(writer, compressed->data, capacity, &compressed->size),
        ARCHIVE_OK);
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, "data");
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_size(entry, (la_int64_t)plain->size);
    assert_int_equal(archive_write_header(writer, entry), ARCHIVE_OK);
    assert_int_equal(archive_write_data(writer, plain->data, plain->size), (ssize_t)plain->size);
    archive_entry_free(entry);
    assert_int_equal(archive_write_close(writer), ARCHIVE_OK);
    archive_write_free(writer);
    digest_of_bytes(compressed->data, compressed->size, &compressed->digest);
}

static void put_blob(struct fixture *fixture, const void *data, size_t size, struct digest *digest)
{
    struct keel_error err = {0};
    if (store_blob_put(&fixture->store, data, size, digest, &err) < 0)
        fail_msg("store_blob_put: %s", err.message);
}

/* Store config and manifest for layers (blobs with their media types and
 * diff ids), and name the image. */
static void put_image(struct fixture *fixture, const char *const *names,
                      const struct test_blob *layers, const char *const *media_types,
                      const struct digest *diff_ids, size_t count, struct digest *id,
                      struct digest *manifest)
{
    json_t *diff_id_array = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(diff_id_array, json_string(diff_ids[i].text));
    json_t *config = json_pack(
        "{s:s, s:s, s:s, s:{s:[s], s:[s], s:s}, s:{s:s, s:o}}", "architecture", "amd64", "os",
        "linux", "created", "2024-05-01T12:00:00Z", "config", "Cmd", "/bin/app", "Env", "PATH=/bin",
        "WorkingDir", "/srv", "rootfs", "type", "layers", "diff_ids", diff_id_array);
    assert_non_null(config);
    char *config_text = json_dumps(config, JSON_COMPACT);
    json_decref(config);
    put_blob(fixture, config_text, strlen(config_text), id);

    json_t *layer_array = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(layer_array,
                              json_pack("{s:s, s:s, s:I}", "mediaType", media_types[i], "digest",
                                        layers[i].digest.text, "size", (json_int_t)layers[i].size));
    json_t *document =
        json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                  MEDIA_TYPE_OCI_MANIFEST, "config", "mediaType", MEDIA_TYPE_OCI_CONFIG, "digest",
                  id->text, "size", (json_int_t)strlen(config_text), "layers", layer_array);
    assert_non_null(document);
    char *manifest_text = json_dumps(document, JSON_COMPACT);
    json_decref(document);
    put_blob(fixture, manifest_text, strlen(manifest_text), manifest);

    struct keel_error err = {0};
    if (names == NULL &&
        store_index_set(&fixture->store, NULL, manifest, strlen(manifest_text), &err) < 0)
        fail_msg("store_index_set: %s", err.message);
    for (size_t i = 0; names && names[i]; i++)
        if (store_index_set(&fixture->store, names[i], manifest, strlen(manifest_text), &err) < 0)
            fail_msg("store_index_set %s: %s", names[i], err.message);
    free(config_text);
    free(manifest_text);
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    snprintf(fixture->root, sizeof fixture->root, "/tmp/test_image_export.XXXXXX");
    assert_non_null(mkdtemp(fixture->root));
    struct keel_error err = {0};
    if (store_open(&fixture->store, fixture->root, NULL, 0, &err) < 0 ||
        store_lock(&fixture->store, &err) < 0)
        fail_msg("store: %s", err.message);

    struct test_blob plain[3], stored[3];
    make_tar("etc/hello", "hello from the gzip layer\n", &plain[0]);
    make_tar("etc/plain", "plain\n", &plain[1]);
    make_tar("usr/zstd", "zstd compressed layer content\n", &plain[2]);
    compress(&plain[0], ARCHIVE_FILTER_GZIP, &stored[0]);
    stored[1] = plain[1];
    compress(&plain[2], ARCHIVE_FILTER_ZSTD, &stored[2]);
    const char *media_types[] = {MEDIA_TYPE_OCI_LAYER_GZIP, MEDIA_TYPE_OCI_LAYER,
                                 MEDIA_TYPE_OCI_LAYER_ZSTD};
    for (size_t i = 0; i < 3; i++) {
        put_blob(fixture, stored[i].data, stored[i].size, &fixture->layer_blobs[i]);
        assert_true(digest_equal(&fixture->layer_blobs[i], &stored[i].digest));
        fixture->diff_ids[i] = plain[i].digest;
    }
    const char *names[] = {"test/app:1", "test/app:latest", NULL};
    put_image(fixture, names, stored, media_types, fixture->diff_ids, 3, &fixture->id,
              &fixture->manifest);

    struct test_blob unnamed_layer;
    make_tar("only", "the unnamed image\n", &unnamed_layer);
    put_blob(fixture, unnamed_layer.data, unnamed_layer.size, &unnamed_layer.digest);
    const char *plain_type[] = {MEDIA_TYPE_OCI_LAYER};
    put_image(fixture, NULL, &unnamed_layer, plain_type, &unnamed_layer.digest, 1,
              &fixture->unnamed_id, &fixture->unnamed_manifest);

    const char *broken_names[] = {"test/broken:1", NULL};
    struct digest wrong;
    digest_of_bytes("not the layer", 13, &wrong);
    struct digest broken_manifest;
    put_image(fixture, broken_names, &stored[0], media_types, &wrong, 1, &fixture->broken_id,
              &broken_manifest);

    for (size_t i = 0; i < 3; i++) {
        free(plain[i].data);
        if (stored[i].data != plain[i].data)
            free(stored[i].data);
    }
    free(unnamed_layer.data);
    store_unlock(&fixture->store);
    *state = fixture;
    return 0;
}

static void remove_directory(const char *path)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    assert_int_equal(system(command), 0);
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    store_close(&fixture->store);
    remove_directory(fixture->root);
    free(fixture);
    return 0;
}

/* ---- reading an archive back ---- */

struct read_entry {
    char *name;
    mode_t type;
    char *data;
    size_t size;
};

struct read_archive {
    struct read_entry entries[32];
    size_t count;
};

static void read_archive_free(struct read_archive *archive)
{
    for (size_t i = 0; i < archive->count; i++) {
        free(archive->entries[i].name);
        free(archive->entries[i].data);
    }
    archive->count = 0;
}

static void read_back(int fd, struct read_archive *archive)
{
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    struct archive *reader = archive_read_new();
    archive_read_support_format_tar(reader);
    assert_int_equal(archive_read_open_fd(reader, fd, 10240), ARCHIVE_OK);
    struct archive_entry *entry;
    archive->count = 0;
    int status;
    while ((status = archive_read_next_header(reader, &entry)) == ARCHIVE_OK) {
        assert_true(archive->count < sizeof archive->entries / sizeof archive->entries[0]);
        struct read_entry *read = &archive->entries[archive->count++];
        read->name = strdup(archive_entry_pathname(entry));
        read->type = archive_entry_filetype(entry);
        read->size = (size_t)archive_entry_size(entry);
        read->data = malloc(read->size + 1);
        assert_int_equal(archive_read_data(reader, read->data, read->size), (ssize_t)read->size);
        read->data[read->size] = '\0';
        assert_int_equal(archive_entry_mtime(entry), 0);
        assert_int_equal(archive_entry_uid(entry), 0);
    }
    assert_int_equal(status, ARCHIVE_EOF);
    archive_read_free(reader);
}

static const struct read_entry *find_entry(const struct read_archive *archive, const char *name)
{
    for (size_t i = 0; i < archive->count; i++)
        if (strcmp(archive->entries[i].name, name) == 0)
            return &archive->entries[i];
    fail_msg("no entry \"%s\" in the archive", name);
    return NULL;
}

static int export_to_file(struct fixture *fixture, const char *const *references, size_t count,
                          enum image_archive_format format, struct keel_error *err)
{
    char path[] = "/tmp/test_image_export_out.XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    assert_true(fd >= 0);
    unlink(path);
    if (image_export(&fixture->store, references, count, format, fd, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static char *file_contents(int fd, size_t *size)
{
    struct stat status;
    assert_int_equal(fstat(fd, &status), 0);
    char *data = malloc((size_t)status.st_size + 1);
    assert_int_equal(pread(fd, data, (size_t)status.st_size, 0), status.st_size);
    *size = (size_t)status.st_size;
    return data;
}

/* ---- tests ---- */

static void test_format_parse(void **state)
{
    (void)state;
    enum image_archive_format format;
    struct keel_error err = {0};
    assert_int_equal(image_archive_format_parse("oci", &format, &err), 0);
    assert_int_equal(format, IMAGE_ARCHIVE_OCI);
    assert_int_equal(image_archive_format_parse("docker-archive", &format, &err), 0);
    assert_int_equal(format, IMAGE_ARCHIVE_DOCKER);
    assert_int_equal(image_archive_format_parse("zip", &format, &err), -1);
    assert_non_null(strstr(err.message, "\"zip\""));
}

static void test_oci_archive_layout(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    const char *references[] = {"test/app:1"};
    int fd = export_to_file(fixture, references, 1, IMAGE_ARCHIVE_OCI, &err);
    if (fd < 0)
        fail_msg("export: %s", err.message);
    struct read_archive archive;
    read_back(fd, &archive);
    close(fd);

    /* oci-layout, index.json, the two directories, then 5 blobs sorted */
    assert_int_equal(archive.count, 4 + 5);
    assert_string_equal(archive.entries[0].name, "oci-layout");
    assert_string_equal(archive.entries[0].data, "{\"imageLayoutVersion\":\"1.0.0\"}");
    assert_string_equal(archive.entries[1].name, "index.json");
    assert_string_equal(archive.entries[2].name, "blobs/");
    assert_int_equal(archive.entries[2].type, AE_IFDIR);
    assert_string_equal(archive.entries[3].name, "blobs/sha256/");
    for (size_t i = 4; i < archive.count; i++) {
        const struct read_entry *blob = &archive.entries[i];
        struct digest digest;
        assert_int_equal(strncmp(blob->name, "blobs/sha256/", 13), 0);
        digest_of_bytes(blob->data, blob->size, &digest);
        assert_string_equal(digest_hex(&digest), blob->name + 13);
        if (i > 4)
            assert_true(strcmp(archive.entries[i - 1].name, blob->name) < 0);
    }
    char expected_index[1024];
    /* the size is the manifest blob's */
    char manifest_name[128];
    snprintf(manifest_name, sizeof manifest_name, "blobs/sha256/%s",
             digest_hex(&fixture->manifest));
    const struct read_entry *manifest = find_entry(&archive, manifest_name);
    snprintf(expected_index, sizeof expected_index,
             "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_INDEX
             "\",\"manifests\":[{\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST
             "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":"
             "\"test/app:1\","
             "\"org.opencontainers.image.ref.name\":\"1\"}}]}",
             fixture->manifest.text, manifest->size);
    assert_string_equal(archive.entries[1].data, expected_index);
    read_archive_free(&archive);
}

static void test_oci_names_and_determinism(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    char short_id[13];
    snprintf(short_id, sizeof short_id, "%.12s", digest_hex(&fixture->id));
    const char *by_id[] = {short_id};
    const char *both[] = {"test/app:latest", "test/app:1"};
    const char *both_reversed[] = {"test/app:1", "test/app:latest", "test/app:1"};
    int fds[3];
    fds[0] = export_to_file(fixture, by_id, 1, IMAGE_ARCHIVE_OCI, &err);
    fds[1] = export_to_file(fixture, both, 2, IMAGE_ARCHIVE_OCI, &err);
    fds[2] = export_to_file(fixture, both_reversed, 3, IMAGE_ARCHIVE_OCI, &err);
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
        fail_msg("export: %s", err.message);
    size_t sizes[3];
    char *contents[3];
    for (size_t i = 0; i < 3; i++)
        contents[i] = file_contents(fds[i], &sizes[i]);
    /* an id brings every name of the image; the order of the references
     * changes nothing */
    assert_int_equal(sizes[0], sizes[1]);
    assert_int_equal(sizes[0], sizes[2]);
    assert_memory_equal(contents[0], contents[1], sizes[0]);
    assert_memory_equal(contents[0], contents[2], sizes[0]);

    struct read_archive archive;
    read_back(fds[0], &archive);
    json_t *index = json_loads(find_entry(&archive, "index.json")->data, 0, NULL);
    json_t *manifests = json_object_get(index, "manifests");
    assert_int_equal(json_array_size(manifests), 2);
    const char *expected_names[] = {"test/app:1", "test/app:latest"};
    const char *expected_tags[] = {"1", "latest"};
    for (size_t i = 0; i < 2; i++) {
        json_t *annotations = json_object_get(json_array_get(manifests, i), "annotations");
        assert_string_equal(json_string_value(json_object_get(annotations, ANNOTATION_IMAGE_NAME)),
                            expected_names[i]);
        assert_string_equal(json_string_value(json_object_get(annotations, ANNOTATION_REF_NAME)),
                            expected_tags[i]);
    }
    /* the manifest blob is there once */
    assert_int_equal(archive.count, 4 + 5);
    json_decref(index);
    read_archive_free(&archive);
    for (size_t i = 0; i < 3; i++) {
        free(contents[i]);
        close(fds[i]);
    }
}

static void test_oci_unnamed_image(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    const char *references[] = {fixture->unnamed_id.text};
    int fd = export_to_file(fixture, references, 1, IMAGE_ARCHIVE_OCI, &err);
    if (fd < 0)
        fail_msg("export: %s", err.message);
    struct read_archive archive;
    read_back(fd, &archive);
    close(fd);
    json_t *index = json_loads(find_entry(&archive, "index.json")->data, 0, NULL);
    json_t *manifests = json_object_get(index, "manifests");
    assert_int_equal(json_array_size(manifests), 1);
    json_t *descriptor = json_array_get(manifests, 0);
    assert_null(json_object_get(descriptor, "annotations"));
    assert_string_equal(json_string_value(json_object_get(descriptor, "digest")),
                        fixture->unnamed_manifest.text);
    assert_int_equal(archive.count, 4 + 3);
    json_decref(index);
    read_archive_free(&archive);
}

static void test_docker_archive_layout(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    const char *references[] = {"test/app:1"};
    int fd = export_to_file(fixture, references, 1, IMAGE_ARCHIVE_DOCKER, &err);
    if (fd < 0)
        fail_msg("export: %s", err.message);
    struct read_archive archive;
    read_back(fd, &archive);
    close(fd);

    /* three layers (directory + layer.tar), the config, manifest.json, repositories */
    assert_int_equal(archive.count, 3 * 2 + 3);
    for (size_t i = 1; i < archive.count; i++)
        assert_true(strcmp(archive.entries[i - 1].name, archive.entries[i].name) < 0);
    char name[128];
    json_t *layers = json_array();
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s/", digest_hex(&fixture->diff_ids[i]));
        assert_int_equal(find_entry(&archive, name)->type, AE_IFDIR);
        snprintf(name, sizeof name, "%s/layer.tar", digest_hex(&fixture->diff_ids[i]));
        const struct read_entry *layer = find_entry(&archive, name);
        struct digest digest;
        digest_of_bytes(layer->data, layer->size, &digest);
        /* decompressed: the content is the diff id's */
        assert_true(digest_equal(&digest, &fixture->diff_ids[i]));
        json_array_append_new(layers, json_string(name));
    }
    snprintf(name, sizeof name, "%s.json", digest_hex(&fixture->id));
    const struct read_entry *config = find_entry(&archive, name);
    struct digest digest;
    digest_of_bytes(config->data, config->size, &digest);
    assert_true(digest_equal(&digest, &fixture->id));

    /* by name: that name only, as `docker save NAME` */
    json_t *expected = json_pack("[{s:s, s:[s], s:o}]", "Config", name, "RepoTags", "test/app:1",
                                 "Layers", layers);
    char *expected_text = json_dumps(expected, JSON_COMPACT);
    assert_string_equal(find_entry(&archive, "manifest.json")->data, expected_text);
    free(expected_text);
    json_decref(expected);

    char repositories[256];
    snprintf(repositories, sizeof repositories, "{\"test/app\":{\"1\":\"%s\"}}",
             digest_hex(&fixture->id));
    assert_string_equal(find_entry(&archive, "repositories")->data, repositories);
    read_archive_free(&archive);
}

static void test_docker_archive_unnamed_and_shared(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    /* by id: every name; the unnamed image: no RepoTags, no repositories entry */
    const char *references[] = {fixture->id.text, fixture->unnamed_id.text};
    int fd = export_to_file(fixture, references, 2, IMAGE_ARCHIVE_DOCKER, &err);
    if (fd < 0)
        fail_msg("export: %s", err.message);
    struct read_archive archive;
    read_back(fd, &archive);
    close(fd);
    json_t *manifest = json_loads(find_entry(&archive, "manifest.json")->data, 0, NULL);
    assert_int_equal(json_array_size(manifest), 2);
    json_t *named = json_array_get(manifest, 0), *unnamed = json_array_get(manifest, 1);
    assert_int_equal(json_array_size(json_object_get(named, "RepoTags")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(named, "RepoTags"), 1)),
                        "test/app:latest");
    assert_true(json_is_array(json_object_get(unnamed, "RepoTags")));
    assert_int_equal(json_array_size(json_object_get(unnamed, "RepoTags")), 0);
    assert_int_equal(json_array_size(json_object_get(unnamed, "Layers")), 1);
    json_decref(manifest);
    char repositories[256];
    snprintf(repositories, sizeof repositories, "{\"test/app\":{\"1\":\"%s\",\"latest\":\"%s\"}}",
             digest_hex(&fixture->id), digest_hex(&fixture->id));
    assert_string_equal(find_entry(&archive, "repositories")->data, repositories);
    read_archive_free(&archive);

    const char *unnamed_only[] = {fixture->unnamed_id.text};
    fd = export_to_file(fixture, unnamed_only, 1, IMAGE_ARCHIVE_DOCKER, &err);
    if (fd < 0)
        fail_msg("export: %s", err.message);
    read_back(fd, &archive);
    close(fd);
    for (size_t i = 0; i < archive.count; i++)
        assert_string_not_equal(archive.entries[i].name, "repositories");
    read_archive_free(&archive);
}

static void test_refusals(void **state)
{
    struct fixture *fixture = *state;
    struct keel_error err = {0};
    const char *missing[] = {"test/app:1", "test/nothing:1"};
    assert_int_equal(export_to_file(fixture, missing, 2, IMAGE_ARCHIVE_OCI, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_non_null(strstr(err.message, "no such image"));

    err = (struct keel_error){0};
    assert_int_equal(export_to_file(fixture, NULL, 0, IMAGE_ARCHIVE_OCI, &err), -1);

    /* a compressed layer whose content is not the config's diff id */
    err = (struct keel_error){0};
    const char *broken[] = {"test/broken:1"};
    assert_int_equal(export_to_file(fixture, broken, 1, IMAGE_ARCHIVE_DOCKER, &err), -1);
    assert_non_null(strstr(err.message, "expected diff id"));
    assert_non_null(strstr(err.message, fixture->layer_blobs[0].text));
}

/* export -> import into a second store: the same image id, diff ids and names. */
static void test_round_trip(void **state)
{
    struct fixture *fixture = *state;
    if (geteuid() != 0) {
        print_message("skipped: importing unpacks layers with their owners, which needs root\n");
        skip();
    }
    for (int format = IMAGE_ARCHIVE_OCI; format <= IMAGE_ARCHIVE_DOCKER; format++) {
        struct keel_error err = {0};
        const char *references[] = {fixture->id.text};
        int fd = export_to_file(fixture, references, 1, (enum image_archive_format)format, &err);
        if (fd < 0)
            fail_msg("export: %s", err.message);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        char root[] = "/tmp/test_image_export_import.XXXXXX";
        assert_non_null(mkdtemp(root));
        struct store second;
        struct image_import_options options = {0};
        struct image_import_result result = {0};
        if (store_open(&second, root, NULL, 0, &err) < 0 ||
            image_import(&second, fd, &options, &result, &err) < 0)
            fail_msg("import of the %s archive: %s", format == IMAGE_ARCHIVE_OCI ? "oci" : "docker",
                     err.message);
        close(fd);
        assert_int_equal(result.count, 2); /* one per name */
        for (size_t i = 0; i < result.count; i++)
            assert_true(digest_equal(&result.images[i].id, &fixture->id));
        struct image imported;
        if (image_find(&second, "test/app:latest", &imported, &err) < 0)
            fail_msg("find: %s", err.message);
        assert_true(digest_equal(&imported.id, &fixture->id));
        assert_int_equal(imported.config.diff_id_count, 3);
        for (size_t i = 0; i < 3; i++)
            assert_true(digest_equal(&imported.config.diff_ids[i], &fixture->diff_ids[i]));
        image_free(&imported);
        image_import_result_free(&result);
        store_close(&second);
        remove_directory(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test_setup_teardown(test_oci_archive_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_names_and_determinism, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_unnamed_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_unnamed_and_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
