/* test_image_reference.c — image references normalised as Docker does, and the ones refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image.h"

static void test_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *reference;
        const char *name;
    } cases[] = {
        {"busybox", "busybox:latest"},
        {"busybox:1.36", "busybox:1.36"},
        {"docker.io/library/busybox:1.36", "busybox:1.36"},
        {"index.docker.io/library/busybox", "busybox:latest"},
        {"library/busybox", "busybox:latest"},
        {"docker.io/busybox", "busybox:latest"},
        {"docker.io/foo/bar", "foo/bar:latest"},
        {"docker.io/library/foo/bar", "library/foo/bar:latest"},
        {"localhost:5000/a/b:t", "localhost:5000/a/b:t"},
        {"localhost:5000/a", "localhost:5000/a:latest"},
        {"localhost/a", "localhost/a:latest"},
        {"quay.io/x/y", "quay.io/x/y:latest"},
        {"Quay.IO/x/y:V1", "Quay.IO/x/y:V1"},
        {"toolbox:latest", "toolbox:latest"},
        {"x/a.b_c__d---e:t_A.1-", "x/a.b_c__d---e:t_A.1-"},
        {"x/y/z", "x/y/z:latest"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *name = NULL;
        struct keel_error err = {0};
        if (image_reference_normalize(cases[i].reference, &name, &err) != 0)
            fail_msg("\"%s\" refused: %s", cases[i].reference, err.message);
        if (strcmp(name, cases[i].name) != 0)
            fail_msg("\"%s\" gave \"%s\", expected \"%s\"", cases[i].reference, name,
                     cases[i].name);
        free(name);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *reference;
        const char *message;
    } cases[] = {
        {"", "empty image reference"},
        {"Busybox", "bad image reference \"Busybox\": repository name must be lower case"},
        {"foo/Bar", "repository name must be lower case"},
        {"a b", "bad image reference \"a b\": bad path component \"a b\""},
        {"a:", "bad image reference \"a:\": bad tag \"\""},
        {":t", "bad image reference \":t\": no repository name"},
        {"a@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "digest references are not supported"},
        {"a//b", "empty path component"},
        {"a/", "empty path component"},
        {"/a", "empty path component"},
        {"-a", "bad path component \"-a\""},
        {"a-", "bad path component \"a-\""},
        {"a..b", "bad path component \"a..b\""},
        {"a___b", "bad path component \"a___b\""},
        {"a:.t", "bad tag \".t\""},
        {"a:t/x", "bad registry \"a:t\""},
        {"a:b:c", "bad path component \"a:b\""},
        {"quay.io:x/y", "bad registry \"quay.io:x\""},
        {"-quay.io/y", "bad registry \"-quay.io\""},
        {"quay..io/y", "bad registry \"quay..io\""},
        {"quay.io/", "empty path component"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *name = NULL;
        struct keel_error err = {0};
        if (image_reference_normalize(cases[i].reference, &name, &err) != -1)
            fail_msg("\"%s\" accepted as \"%s\"", cases[i].reference, name);
        if (strstr(err.message, cases[i].message) == NULL)
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].reference, err.message,
                     cases[i].message);
        assert_int_equal(err.errno_value, EINVAL);
        assert_null(name);
    }
}

static void test_lengths(void **state)
{
    (void)state;
    char reference[400];
    char *name = NULL;
    struct keel_error err = {0};

    /* 255 characters of name are the most Docker takes, with a tag after. */
    memset(reference, 'a', 255);
    strcpy(reference + 255, ":t");
    assert_int_equal(image_reference_normalize(reference, &name, &err), 0);
    assert_int_equal(strlen(name), 257);
    free(name);
    name = NULL;

    memset(reference, 'a', 256);
    reference[256] = '\0';
    assert_int_equal(image_reference_normalize(reference, &name, &err), -1);
    assert_non_null(strstr(err.message, "name longer than 255 characters"));
    assert_null(name);

    /* A tag is at most 128 characters. */
    strcpy(reference, "a:");
    memset(reference + 2, 't', 128);
    reference[130] = '\0';
    assert_int_equal(image_reference_normalize(reference, &name, &err), 0);
    free(name);
    name = NULL;
    strcpy(reference + 130, "t");
    assert_int_equal(image_reference_normalize(reference, &name, &err), -1);
    assert_non_null(strstr(err.message, "bad tag"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
