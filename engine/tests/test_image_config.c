/* test_image_config.c — image configs: fields kept, refusals naming the path, chain ids. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image_config.h"

#define DIFF_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIFF_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIFF_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF_A "\",\"" DIFF_B "\"]}"

static void test_parse_full_config(void **state)
{
    (void)state;
    static const char text[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-05-01T12:00:00Z\","
        "\"author\":\"keel\","
        "\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo "
        "hi\"],\"Env\":[\"PATH=/bin\",\"A=b=c\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGTERM\","
        "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Volumes\":{\"/data\":{}},"
        "\"Labels\":{\"z.last\":\"1\",\"a.first\":\"2\"},\"Unknown\":true},"
        "\"history\":[{\"created_by\":\"x\"}]," ROOTFS "}";
    struct image_config config;
    struct keel_error err = {0};

    assert_int_equal(image_config_parse(text, strlen(text), &config, &err), 0);
    assert_string_equal(config.architecture, "amd64");
    assert_string_equal(config.os, "linux");
    assert_string_equal(config.created, "2024-05-01T12:00:00Z");
    assert_string_equal(config.author, "keel");
    assert_string_equal(config.entrypoint[0], "/bin/sh");
    assert_string_equal(config.entrypoint[1], "-c");
    assert_null(config.entrypoint[2]);
    assert_string_equal(config.cmd[0], "echo hi");
    assert_null(config.cmd[1]);
    assert_string_equal(config.env[1], "A=b=c");
    assert_string_equal(config.working_dir, "/srv");
    assert_string_equal(config.user, "1000:1000");
    assert_string_equal(config.stop_signal, "SIGTERM");
    assert_string_equal(config.exposed_ports[0], "80/tcp");
    assert_string_equal(config.exposed_ports[1], "53/udp");
    assert_null(config.exposed_ports[2]);
    assert_string_equal(config.volumes[0], "/data");
    assert_null(config.volumes[1]);
    /* Labels keep the document's order. */
    assert_string_equal(config.label_keys[0], "z.last");
    assert_string_equal(config.label_values[0], "1");
    assert_string_equal(config.label_keys[1], "a.first");
    assert_string_equal(config.label_values[1], "2");
    assert_null(config.label_keys[2]);
    assert_int_equal(config.diff_id_count, 2);
    assert_string_equal(config.diff_ids[0].text, DIFF_A);
    assert_string_equal(config.diff_ids[1].text, DIFF_B);
    image_config_free(&config);
    assert_null(config.env);
}

static void test_parse_minimal_config(void **state)
{
    (void)state;
    static const char without_config[] = "{" ROOTFS "}";
    static const char null_config[] = "{\"config\":null," ROOTFS "}";
    static const char null_members[] =
        "{\"config\":{\"Entrypoint\":null,\"Cmd\":[],\"Env\":null,\"Labels\":null,"
        "\"ExposedPorts\":null,\"WorkingDir\":\"\"},\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[]}}";
    struct image_config config;
    struct keel_error err = {0};

    assert_int_equal(image_config_parse(without_config, strlen(without_config), &config, &err), 0);
    assert_null(config.architecture);
    assert_null(config.entrypoint);
    assert_null(config.label_keys);
    assert_int_equal(config.diff_id_count, 2);
    image_config_free(&config);

    assert_int_equal(image_config_parse(null_config, strlen(null_config), &config, &err), 0);
    assert_null(config.cmd);
    image_config_free(&config);

    /* null is "none"; [] is an empty list, which Docker tells apart for Cmd. */
    assert_int_equal(image_config_parse(null_members, strlen(null_members), &config, &err), 0);
    assert_null(config.entrypoint);
    assert_non_null(config.cmd);
    assert_null(config.cmd[0]);
    assert_null(config.env);
    assert_null(config.label_keys);
    assert_null(config.exposed_ports);
    assert_string_equal(config.working_dir, "");
    assert_int_equal(config.diff_id_count, 0);
    image_config_free(&config);
}

static void test_config_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"[]", "expected a JSON object at the top level"},
        {"{\"os\":\"linux\"}", "rootfs: required field is missing"},
        {"{\"rootfs\":[]}", "rootfs: expected an object"},
        {"{\"rootfs\":{\"diff_ids\":[]}}", "rootfs.type: required field is missing"},
        {"{\"rootfs\":{\"type\":\"foo\",\"diff_ids\":[]}}",
         "rootfs.type: expected \"layers\", got \"foo\""},
        {"{\"rootfs\":{\"type\":1,\"diff_ids\":[]}}", "rootfs.type: expected a string"},
        {"{\"rootfs\":{\"type\":\"layers\"}}", "rootfs.diff_ids: required field is missing"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}",
         "rootfs.diff_ids: expected an array"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF_A "\",\"md5:x\"]}}",
         "rootfs.diff_ids[1]: bad digest \"md5:x\": only sha256 is supported"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[3]}}",
         "rootfs.diff_ids[0]: expected a string"},
        {"{\"config\":{\"Env\":[\"A=1\",\"B=2\",3]}," ROOTFS "}",
         "config.Env[2]: expected a string"},
        {"{\"config\":{\"Env\":\"A=1\"}," ROOTFS "}", "config.Env: expected an array"},
        {"{\"config\":{\"Entrypoint\":\"/bin/sh\"}," ROOTFS "}",
         "config.Entrypoint: expected an array"},
        {"{\"config\":{\"Cmd\":[null]}," ROOTFS "}", "config.Cmd[0]: expected a string"},
        {"{\"config\":{\"Labels\":{\"a\":\"1\",\"b\":2}}," ROOTFS "}",
         "config.Labels.b: expected a string"},
        {"{\"config\":{\"Labels\":[]}," ROOTFS "}", "config.Labels: expected an object"},
        {"{\"config\":{\"ExposedPorts\":[\"80/tcp\"]}," ROOTFS "}",
         "config.ExposedPorts: expected an object"},
        {"{\"config\":{\"Volumes\":\"/data\"}," ROOTFS "}", "config.Volumes: expected an object"},
        {"{\"config\":{\"WorkingDir\":1}," ROOTFS "}", "config.WorkingDir: expected a string"},
        {"{\"config\":{\"User\":false}," ROOTFS "}", "config.User: expected a string"},
        {"{\"config\":[]," ROOTFS "}", "config: expected an object"},
        {"{\"architecture\":64," ROOTFS "}", "architecture: expected a string"},
        {"{\"created\":1," ROOTFS "}", "created: expected a string"},
        {"{\"os\":\"linux\",\"os\":\"linux\"," ROOTFS "}", "invalid JSON"},
        {"{\"os\":\"a\\u0000b\"," ROOTFS "}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_config config;
        struct keel_error err = {0};
        if (image_config_parse(cases[i].text, strlen(cases[i].text), &config, &err) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (strstr(err.message, cases[i].message) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.message, cases[i].message);
        assert_int_equal(err.errno_value, EINVAL);
        assert_null(config.diff_ids);
        assert_null(config.env);
    }
}

static void test_chain_ids(void **state)
{
    (void)state;
    struct digest diff_ids[3], chain_ids[3], expected;
    struct keel_error err = {0};
    char text[2 * DIGEST_TEXT_LENGTH + 2];

    assert_int_equal(digest_parse(DIFF_A, &diff_ids[0], &err), 0);
    assert_int_equal(digest_parse(DIFF_B, &diff_ids[1], &err), 0);
    assert_int_equal(digest_parse(DIFF_C, &diff_ids[2], &err), 0);
    image_chain_ids(diff_ids, 3, chain_ids);

    assert_string_equal(chain_ids[0].text, DIFF_A);
    snprintf(text, sizeof text, "%s %s", DIFF_A, DIFF_B);
    digest_of_bytes(text, strlen(text), &expected);
    assert_string_equal(chain_ids[1].text, expected.text);
    snprintf(text, sizeof text, "%s %s", expected.text, DIFF_C);
    digest_of_bytes(text, strlen(text), &expected);
    assert_string_equal(chain_ids[2].text, expected.text);
    /* Known value: printf 'sha256:a..a sha256:b..b' | sha256sum */
    assert_string_equal(chain_ids[1].text,
                        "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_config),
        cmocka_unit_test(test_parse_minimal_config),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_chain_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
