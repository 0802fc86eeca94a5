/* test_label.c: unit tests of the ext2/3/4 superblock label decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "label.h"

static unsigned char device[LABEL_PROBE_SIZE];

/* The first bytes of a device holding an ext filesystem labelled label. */
static void make_ext_device(const char *label, size_t label_length)
{
    memset(device, 0xAA, sizeof(device));
    memset(device + 1024, 0, 256);
    device[1024 + 0x38] = 0x53; /* s_magic 0xEF53, little-endian */
    device[1024 + 0x39] = 0xEF;
    memcpy(device + 1024 + 0x78, label, label_length);
}

static void test_decodes_label(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    make_ext_device("KEEL_STATE", strlen("KEEL_STATE"));
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), 0);
    assert_string_equal(label, "KEEL_STATE");
}

static void test_full_16_byte_label(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    /* No NUL in the field at all, and the byte after it is not NUL either. */
    make_ext_device("ABCDEFGHIJKLMNOP", 16);
    device[1024 + 0x78 + 16] = 'Z';
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), 0);
    assert_string_equal(label, "ABCDEFGHIJKLMNOP");
}

static void test_empty_label(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    make_ext_device("", 0);
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), 0);
    assert_string_equal(label, "");
}

static void test_label_with_space(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    make_ext_device("MY DISK", strlen("MY DISK"));
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), 0);
    assert_string_equal(label, "MY DISK");
}

static void test_wrong_magic(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    make_ext_device("KEEL_STATE", strlen("KEEL_STATE"));
    /* Big-endian bytes of the magic are not the magic. */
    device[1024 + 0x38] = 0xEF;
    device[1024 + 0x39] = 0x53;
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), -1);

    memset(device, 0, sizeof(device));
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), -1);
}

static void test_magic_at_wrong_offset(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    /* A superblock at offset 0 (not 1024) is not an ext filesystem. */
    memset(device, 0, sizeof(device));
    device[0x38] = 0x53;
    device[0x39] = 0xEF;
    assert_int_equal(label_decode_ext4(device, sizeof(device), label), -1);
}

static void test_short_read(void **state)
{
    (void)state;
    char label[CMDLINE_LABEL_MAX + 1];

    make_ext_device("KEEL_STATE", strlen("KEEL_STATE"));
    assert_int_equal(label_decode_ext4(device, 0, label), -1);
    assert_int_equal(label_decode_ext4(device, 1024 + 0x78 + 15, label), -1);
    /* Exactly up to the end of the label field is enough. */
    assert_int_equal(label_decode_ext4(device, 1024 + 0x78 + 16, label), 0);
    assert_string_equal(label, "KEEL_STATE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_label), cmocka_unit_test(test_full_16_byte_label),
        cmocka_unit_test(test_empty_label),   cmocka_unit_test(test_label_with_space),
        cmocka_unit_test(test_wrong_magic),   cmocka_unit_test(test_magic_at_wrong_offset),
        cmocka_unit_test(test_short_read),
    };
    return cmocka_run_group_tests_name("sysinit_label", tests, NULL, NULL);
}
