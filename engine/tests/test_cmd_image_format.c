/* test_cmd_image_format.c — `keel image`'s human sizes and ages, as docker prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd_image.h"

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        {0, "0B"},
        {999, "999B"},
        {1000, "1kB"},
        {4194304, "4.19MB"},
        {1234567, "1.23MB"},
        {123456789, "123MB"},
        {45600000, "45.6MB"},
        {999999, "1MB"},
        {1200000000, "1.2GB"},
        {5000000000000ULL, "5TB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[16];
        image_cli_format_size(cases[i].bytes, text, sizeof text);
        if (strcmp(text, cases[i].text) != 0)
            fail_msg("%llu bytes: \"%s\", expected \"%s\"", (unsigned long long)cases[i].bytes,
                     text, cases[i].text);
    }
}

static void test_parse_time(void **state)
{
    (void)state;
    time_t seconds;
    assert_true(image_cli_parse_time("1970-01-01T00:00:00Z", &seconds));
    assert_int_equal(seconds, 0);
    assert_true(image_cli_parse_time("2024-05-01T12:00:00Z", &seconds));
    assert_int_equal(seconds, 1714564800);
    assert_true(image_cli_parse_time("2024-05-01T14:00:00.123456789+02:00", &seconds));
    assert_int_equal(seconds, 1714564800);
    assert_true(image_cli_parse_time("2024-05-01T10:30:00-01:30", &seconds));
    assert_int_equal(seconds, 1714564800);
    assert_false(image_cli_parse_time("0001-01-01T00:00:00Z", &seconds)); /* Go's zero time */
    assert_false(image_cli_parse_time("2024-05-01 12:00:00", &seconds));
    assert_false(image_cli_parse_time("2024-13-01T12:00:00Z", &seconds));
    assert_false(image_cli_parse_time("2024-05-01T12:00:00+0200", &seconds));
    assert_false(image_cli_parse_time("", &seconds));
}

static void test_created(void **state)
{
    (void)state;
    const time_t created = 1714564800; /* 2024-05-01T12:00:00Z */
    static const struct {
        long long elapsed;
        const char *text;
    } cases[] = {
        {0, "Less than a second ago"}, {1, "1 second ago"},
        {59, "59 seconds ago"},        {60, "About a minute ago"},
        {125, "2 minutes ago"},        {3599, "59 minutes ago"},
        {3600, "About an hour ago"},   {5399, "About an hour ago"},
        {5400, "2 hours ago"},         {47 * 3600, "47 hours ago"},
        {3 * 86400, "3 days ago"},     {15 * 86400, "2 weeks ago"},
        {90 * 86400, "3 months ago"},  {3 * 365 * 86400LL, "3 years ago"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[48];
        image_cli_format_created("2024-05-01T12:00:00Z", created + (time_t)cases[i].elapsed, text,
                                 sizeof text);
        if (strcmp(text, cases[i].text) != 0)
            fail_msg("%lld s: \"%s\", expected \"%s\"", cases[i].elapsed, text, cases[i].text);
    }
    char text[48];
    image_cli_format_created(NULL, created, text, sizeof text);
    assert_string_equal(text, "N/A");
    image_cli_format_created("yesterday", created, text, sizeof text);
    assert_string_equal(text, "N/A");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
