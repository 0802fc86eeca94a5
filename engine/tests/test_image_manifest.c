/* test_image_manifest.c — manifests and indexes: parsing, refusals, platforms, output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image_manifest.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DIGEST_A "sha256:" HEX_A
#define DIGEST_B "sha256:" HEX_B
#define DIGEST_C "sha256:" HEX_C

#define CONFIG_OCI                                                                                 \
    "{\"mediaType\":\"" MEDIA_TYPE_OCI_CONFIG "\",\"digest\":\"" DIGEST_A "\",\"size\":7}"
#define LAYER(type, digest, size)                                                                  \
    "{\"mediaType\":\"" type "\",\"digest\":\"" digest "\",\"size\":" #size "}"

#define LAYER_B LAYER(MEDIA_TYPE_OCI_LAYER_GZIP, DIGEST_B, 100)
#define LAYER_C LAYER(MEDIA_TYPE_OCI_LAYER_ZSTD, DIGEST_C, 0)

/* Keys in another order than the canonical one, and annotations. */
static const char oci_manifest[] = "{\"config\":" CONFIG_OCI ","
                                   "\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\","
                                   "\"schemaVersion\":2,"
                                   "\"layers\":[" LAYER_B "," LAYER_C "],"
                                   "\"annotations\":{\"x\":\"y\"}}";

static void test_parse_oci_manifest(void **state)
{
    (void)state;
    struct image_manifest manifest;
    struct keel_error err = {0};

    assert_int_equal(image_manifest_parse(oci_manifest, strlen(oci_manifest), &manifest, &err), 0);
    assert_string_equal(manifest.config.media_type, MEDIA_TYPE_OCI_CONFIG);
    assert_string_equal(manifest.config.digest.text, DIGEST_A);
    assert_int_equal(manifest.config.size, 7);
    assert_int_equal(manifest.layer_count, 2);
    assert_string_equal(manifest.layers[0].media_type, MEDIA_TYPE_OCI_LAYER_GZIP);
    assert_string_equal(manifest.layers[0].digest.text, DIGEST_B);
    assert_int_equal(manifest.layers[0].size, 100);
    assert_string_equal(manifest.layers[1].digest.text, DIGEST_C);
    assert_int_equal(manifest.layers[1].size, 0);
    assert_null(manifest.layers[1].os);
    image_manifest_free(&manifest);
}

static void test_parse_docker_manifest_and_no_media_type(void **state)
{
    (void)state;
    static const char docker[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_DOCKER_MANIFEST
        "\",\"config\":{\"mediaType\":\"" MEDIA_TYPE_DOCKER_CONFIG "\",\"digest\":\"" DIGEST_A
        "\",\"size\":1},\"layers\":[" LAYER(MEDIA_TYPE_DOCKER_LAYER_GZIP, DIGEST_B, 5) "]}";
    static const char bare[] = "{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":[]}";
    struct image_manifest manifest;
    struct keel_error err = {0};

    assert_int_equal(image_manifest_parse(docker, strlen(docker), &manifest, &err), 0);
    assert_int_equal(manifest.layer_count, 1);
    assert_string_equal(manifest.layers[0].media_type, MEDIA_TYPE_DOCKER_LAYER_GZIP);
    image_manifest_free(&manifest);

    assert_int_equal(image_manifest_parse(bare, strlen(bare), &manifest, &err), 0);
    assert_int_equal(manifest.layer_count, 0);
    image_manifest_free(&manifest);
}

static void test_manifest_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"[]", "expected a JSON object at the top level"},
        {"{", "invalid JSON at line 1"},
        {"{\"schemaVersion\":2,\"schemaVersion\":2}", "invalid JSON"},
        {"{\"config\":" CONFIG_OCI ",\"layers\":[]}", "schemaVersion: required field is missing"},
        {"{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
         "schemaVersion 1 manifests are not supported"},
        {"{\"schemaVersion\":3,\"config\":" CONFIG_OCI ",\"layers\":[]}",
         "schemaVersion: expected 2, got 3"},
        {"{\"schemaVersion\":\"2\",\"config\":" CONFIG_OCI ",\"layers\":[]}",
         "schemaVersion: expected an integer"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_INDEX "\",\"manifests\":[]}",
         "mediaType: \"" MEDIA_TYPE_OCI_INDEX "\" is an image index, not a manifest"},
        {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"config\":" CONFIG_OCI
         ",\"layers\":[]}",
         "mediaType: \"text/plain\" is not an image manifest"},
        {"{\"schemaVersion\":2,\"layers\":[]}", "config: required field is missing"},
        {"{\"schemaVersion\":2,\"config\":null,\"layers\":[]}",
         "config: required field is missing"},
        {"{\"schemaVersion\":2,\"config\":[],\"layers\":[]}", "config: expected an object"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_TYPE_OCI_CONFIG
         "\",\"size\":1},\"layers\":[]}",
         "config.digest: required field is missing"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_TYPE_OCI_CONFIG
         "\",\"digest\":\"sha512:ab\",\"size\":1},\"layers\":[]}",
         "config.digest: bad digest \"sha512:ab\": only sha256 is supported"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_TYPE_OCI_LAYER
         "\",\"digest\":\"" DIGEST_A "\",\"size\":1},\"layers\":[]}",
         "config.mediaType: \"" MEDIA_TYPE_OCI_LAYER "\" is not an image config"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI "}", "layers: required field is missing"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":{}}",
         "layers: expected an array"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":[" LAYER(
             MEDIA_TYPE_OCI_LAYER, DIGEST_B, 1) ",{\"mediaType\":\"" MEDIA_TYPE_OCI_LAYER
                                                "\",\"digest\":\"sha256:abc\",\"size\":1}]}",
         "layers[1].digest: bad digest \"sha256:abc\": 3 hex digits, expected 64"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI
         ",\"layers\":[" LAYER(MEDIA_TYPE_OCI_LAYER, DIGEST_B, -1) "]}",
         "layers[0].size: expected a non-negative integer"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI
         ",\"layers\":[" LAYER(MEDIA_TYPE_OCI_LAYER, DIGEST_B, "1") "]}",
         "layers[0].size: expected a non-negative integer"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI
         ",\"layers\":[" LAYER(MEDIA_TYPE_OCI_LAYER, DIGEST_B, 1.5) "]}",
         "layers[0].size: expected a non-negative integer"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":[" LAYER(
             "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", DIGEST_B, 1) "]}",
         "layers[0].mediaType: non-distributable layer "
         "\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\" is not supported"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI
         ",\"layers\":[" LAYER(MEDIA_TYPE_OCI_CONFIG, DIGEST_B, 1) "]}",
         "layers[0].mediaType: \"" MEDIA_TYPE_OCI_CONFIG "\" is not a layer media type"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":[{\"digest\":\"" DIGEST_B
         "\",\"size\":1}]}",
         "layers[0].mediaType: required field is missing"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI ",\"layers\":[7]}",
         "layers[0]: expected an object"},
        {"{\"schemaVersion\":2,\"config\":" CONFIG_OCI
         ",\"layers\":[{\"mediaType\":7,\"digest\":\"" DIGEST_B "\",\"size\":1}]}",
         "layers[0].mediaType: expected a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_manifest manifest;
        struct keel_error err = {0};
        if (image_manifest_parse(cases[i].text, strlen(cases[i].text), &manifest, &err) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (strstr(err.message, cases[i].message) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.message, cases[i].message);
        assert_int_equal(err.errno_value, EINVAL);
        assert_null(manifest.layers);
    }
}

static void test_manifest_too_large(void **state)
{
    (void)state;
    size_t length = (4u << 20) + 1;
    char *text = malloc(length);
    assert_non_null(text);
    memset(text, ' ', length);
    text[0] = '{';
    text[length - 1] = '}';
    struct image_manifest manifest;
    struct keel_error err = {0};
    assert_int_equal(image_manifest_parse(text, length, &manifest, &err), -1);
    assert_non_null(strstr(err.message, "more than the 4194304 allowed"));
    free(text);
}

static void test_media_types(void **state)
{
    (void)state;
    assert_true(image_media_type_is_layer(MEDIA_TYPE_OCI_LAYER));
    assert_true(image_media_type_is_layer(MEDIA_TYPE_OCI_LAYER_GZIP));
    assert_true(image_media_type_is_layer(MEDIA_TYPE_OCI_LAYER_ZSTD));
    assert_true(image_media_type_is_layer(MEDIA_TYPE_DOCKER_LAYER));
    assert_true(image_media_type_is_layer(MEDIA_TYPE_DOCKER_LAYER_GZIP));
    assert_false(
        image_media_type_is_layer("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
    assert_false(
        image_media_type_is_layer("application/vnd.oci.image.layer.nondistributable.v1.tar"));
    assert_false(image_media_type_is_layer(MEDIA_TYPE_OCI_CONFIG));
    assert_true(image_media_type_is_manifest(MEDIA_TYPE_OCI_MANIFEST));
    assert_true(image_media_type_is_manifest(MEDIA_TYPE_DOCKER_MANIFEST));
    assert_false(image_media_type_is_manifest(MEDIA_TYPE_OCI_INDEX));
    assert_true(image_media_type_is_index(MEDIA_TYPE_OCI_INDEX));
    assert_true(image_media_type_is_index(MEDIA_TYPE_DOCKER_LIST));
    assert_false(image_media_type_is_index(MEDIA_TYPE_OCI_MANIFEST));
}

#define ENTRY(platform, annotations)                                                               \
    "{\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\",\"digest\":\"" DIGEST_A                        \
    "\",\"size\":10" platform annotations "}"

static void test_parse_index(void **state)
{
    (void)state;
    static const char text[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_INDEX "\",\"manifests\":[" ENTRY(
            ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}",
            "") "," ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}",
                          ",\"annotations\":{\"" ANNOTATION_IMAGE_NAME
                          "\":\"toolbox:latest\",\"" ANNOTATION_REF_NAME
                          "\":\"latest\",\"other\":\"x\"}") "]}";
    struct image_index index;
    struct keel_error err = {0};
    size_t position = 99;

    assert_int_equal(image_index_parse(text, strlen(text), &index, &err), 0);
    assert_int_equal(index.count, 2);
    assert_string_equal(index.manifests[0].os, "linux");
    assert_string_equal(index.manifests[0].architecture, "arm");
    assert_string_equal(index.manifests[0].variant, "v7");
    assert_null(index.manifests[0].image_name);
    assert_null(index.manifests[1].variant);
    assert_string_equal(index.manifests[1].image_name, "toolbox:latest");
    assert_string_equal(index.manifests[1].ref_name, "latest");
    assert_int_equal(index.manifests[1].size, 10);
    assert_int_equal(image_index_pick_platform(&index, &position, &err), 0);
    assert_int_equal(position, 1);
    image_index_free(&index);
}

static void test_index_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"{\"schemaVersion\":2}", "manifests: required field is missing"},
        {"{\"schemaVersion\":2,\"manifests\":[{}]}",
         "manifests[0].mediaType: required field is missing"},
        {"{\"schemaVersion\":2,\"manifests\":[" ENTRY(",\"platform\":{\"os\":1}", "") "]}",
         "manifests[0].platform.os: expected a string"},
        {"{\"schemaVersion\":2,\"manifests\":[" ENTRY("", ",\"annotations\":[]") "]}",
         "manifests[0].annotations: expected an object"},
        {"{\"schemaVersion\":2,\"manifests\":[" ENTRY("", ",\"annotations\":{\"" ANNOTATION_REF_NAME
                                                          "\":2}") "]}",
         "manifests[0].annotations." ANNOTATION_REF_NAME ": expected a string"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\",\"manifests\":[]}",
         "is an image manifest, not an index"},
        {"{\"schemaVersion\":1,\"manifests\":[]}", "schemaVersion 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_index index;
        struct keel_error err = {0};
        if (image_index_parse(cases[i].text, strlen(cases[i].text), &index, &err) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (strstr(err.message, cases[i].message) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.message, cases[i].message);
    }
}

static void test_pick_platform(void **state)
{
    (void)state;
    static const char offered[] =
        "{\"manifests\":[" ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}",
                                 "") "," ENTRY(",\"platform\":{\"os\":\"linux\",\"architecture\":"
                                               "\"arm\",\"variant\":\"v7\"}",
                                               "") "]}";
    static const char single[] = "{\"manifests\":[" ENTRY("", "") "]}";
    static const char two_unknown[] = "{\"manifests\":[" ENTRY("", "") "," ENTRY("", "") "]}";
    static const char empty[] = "{\"manifests\":[]}";
    struct image_index index;
    struct keel_error err = {0};
    size_t position = 99;

    assert_int_equal(image_index_parse(offered, strlen(offered), &index, &err), 0);
    assert_int_equal(image_index_pick_platform(&index, &position, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    assert_string_equal(err.message,
                        "no linux/amd64 image in the index (offered: linux/arm64, linux/arm/v7)");
    image_index_free(&index);

    assert_int_equal(image_index_parse(single, strlen(single), &index, &err), 0);
    assert_int_equal(image_index_pick_platform(&index, &position, &err), 0);
    assert_int_equal(position, 0);
    image_index_free(&index);

    assert_int_equal(image_index_parse(two_unknown, strlen(two_unknown), &index, &err), 0);
    assert_int_equal(image_index_pick_platform(&index, &position, &err), -1);
    assert_string_equal(err.message,
                        "no linux/amd64 image in the index (offered: unknown, unknown)");
    image_index_free(&index);

    assert_int_equal(image_index_parse(empty, strlen(empty), &index, &err), 0);
    assert_int_equal(image_index_pick_platform(&index, &position, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    image_index_free(&index);
}

static void test_serialize_is_canonical(void **state)
{
    (void)state;
    static const char expected[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\","
        "\"config\":" CONFIG_OCI ",\"layers\":[" LAYER_B "," LAYER_C "]}";
    struct image_manifest manifest, again;
    struct keel_error err = {0};
    char *text = NULL, *second = NULL;
    size_t length = 0, second_length = 0;

    /* The input has annotations and keys in another order: both drop out. */
    assert_int_equal(image_manifest_parse(oci_manifest, strlen(oci_manifest), &manifest, &err), 0);
    assert_int_equal(image_manifest_serialize(&manifest, &text, &length, &err), 0);
    assert_string_equal(text, expected);
    assert_int_equal(length, strlen(expected));

    assert_int_equal(image_manifest_parse(text, length, &again, &err), 0);
    assert_int_equal(image_manifest_serialize(&again, &second, &second_length, &err), 0);
    assert_int_equal(second_length, length);
    assert_memory_equal(second, text, length);

    free(manifest.layers[1].media_type);
    manifest.layers[1].media_type = NULL;
    assert_int_equal(image_manifest_serialize(&manifest, &text, &length, &err), -1);
    assert_non_null(strstr(err.message, "layers[1]: no media type"));

    image_manifest_free(&manifest);
    image_manifest_free(&again);
    free(text);
    free(second);
}

static void test_serialize_no_layers(void **state)
{
    (void)state;
    struct image_manifest manifest = {0};
    struct keel_error err = {0};
    char *text = NULL;
    size_t length = 0;

    manifest.config.media_type = (char *)MEDIA_TYPE_OCI_CONFIG;
    assert_int_equal(digest_parse(DIGEST_A, &manifest.config.digest, &err), 0);
    manifest.config.size = 7;
    assert_int_equal(image_manifest_serialize(&manifest, &text, &length, &err), 0);
    assert_string_equal(text, "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST
                              "\",\"config\":" CONFIG_OCI ",\"layers\":[]}");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_oci_manifest),
        cmocka_unit_test(test_parse_docker_manifest_and_no_media_type),
        cmocka_unit_test(test_manifest_refusals),
        cmocka_unit_test(test_manifest_too_large),
        cmocka_unit_test(test_media_types),
        cmocka_unit_test(test_parse_index),
        cmocka_unit_test(test_index_refusals),
        cmocka_unit_test(test_pick_platform),
        cmocka_unit_test(test_serialize_is_canonical),
        cmocka_unit_test(test_serialize_no_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
