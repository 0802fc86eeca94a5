/* test_digest.c — SHA-256 digests: known values, streaming, parsing and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_known_values(void **state)
{
    (void)state;
    struct digest digest;
    digest_of_bytes("", 0, &digest);
    assert_string_equal(digest.text, EMPTY_SHA256);
    digest_of_bytes("abc", 3, &digest);
    assert_string_equal(digest.text, ABC_SHA256);
    assert_string_equal(digest_hex(&digest), ABC_SHA256 + 7);
}

static void test_streaming_equals_whole(void **state)
{
    (void)state;
    struct digest_hasher hasher;
    struct digest streamed, whole;
    digest_hasher_init(&hasher);
    digest_hasher_update(&hasher, "a", 1);
    digest_hasher_update(&hasher, "", 0);
    digest_hasher_update(&hasher, "bc", 2);
    digest_hasher_finish(&hasher, &streamed);
    digest_of_bytes("abc", 3, &whole);
    assert_true(digest_equal(&streamed, &whole));
}

static void test_parse_accepts_canonical(void **state)
{
    (void)state;
    struct digest digest;
    struct keel_error err = {0};
    assert_int_equal(digest_parse(ABC_SHA256, &digest, &err), 0);
    assert_string_equal(digest.text, ABC_SHA256);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message_part;
    } cases[] = {
        {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "expected sha256:"},
        {"sha512:abcd", "only sha256"},
        {"sha256:abcd", "4 hex digits"},
        {"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "lower-case"},
        {"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/", "'/'"},
        {"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
         "65 hex digits"},
        {"", "expected sha256:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct digest digest;
        struct keel_error err = {0};
        assert_int_equal(digest_parse(cases[i].text, &digest, &err), -1);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].text, err.message,
                     cases[i].message_part);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_streaming_equals_whole),
        cmocka_unit_test(test_parse_accepts_canonical),
        cmocka_unit_test(test_parse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
