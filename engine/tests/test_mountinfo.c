/* test_mountinfo.c — unit tests of mountinfo.c: parsing, escapes, and the unmount plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

/* What a Keel system looks like after switch_root: the root's parent (20)
 * is outside this namespace's view. */
static const char keel_table[] =
    "22 20 0:21 / / rw,relatime shared:1 - tmpfs tmpfs rw,size=100k\n"
    "23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw\n"
    "24 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:3 - sysfs sysfs rw\n"
    "25 22 0:5 / /dev rw,nosuid shared:4 - devtmpfs devtmpfs rw,mode=755\n"
    "26 22 7:0 / /usr ro,relatime shared:5 - squashfs /dev/loop0 ro\n"
    "27 22 8:1 / /var/lib/keel rw,relatime shared:6 - ext4 /dev/vda1 rw\n"
    "28 24 0:24 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    "29 25 0:25 / /dev/pts rw - devpts devpts rw,gid=5,mode=620,ptmxmode=666\n"
    "30 27 0:26 / /var/lib/keel/my\\040dir rw master:7 shared:8 - tmpfs my\\134src rw\n";

static void test_parse_reads_every_field(void **state)
{
    struct mountinfo info;
    struct keel_error err;
    (void)state;

    assert_int_equal(mountinfo_parse(keel_table, &info, &err), 0);
    assert_int_equal(info.count, 9);
    assert_int_equal(info.entries[0].mount_id, 22);
    assert_int_equal(info.entries[0].parent_id, 20);
    assert_string_equal(info.entries[0].mount_point, "/");
    assert_string_equal(info.entries[0].fs_type, "tmpfs");
    assert_string_equal(info.entries[4].source, "/dev/loop0");
    assert_string_equal(info.entries[4].options, "ro,relatime");
    assert_string_equal(info.entries[6].super_options, "rw,nsdelegate");
    /* Two optional fields before "-". */
    assert_string_equal(info.entries[8].fs_type, "tmpfs");
    assert_string_equal(info.entries[8].mount_point, "/var/lib/keel/my dir");
    assert_string_equal(info.entries[8].source, "my\\src");
    mountinfo_free(&info);
}

static void test_parse_without_optional_fields_or_final_newline(void **state)
{
    struct mountinfo info;
    struct keel_error err;
    (void)state;

    assert_int_equal(mountinfo_parse("1 1 0:2 / / rw - rootfs rootfs rw", &info, &err), 0);
    assert_int_equal(info.count, 1);
    assert_string_equal(info.entries[0].source, "rootfs");
    mountinfo_free(&info);
    assert_int_equal(mountinfo_parse("", &info, &err), 0);
    assert_int_equal(info.count, 0);
    mountinfo_free(&info);
}

static void test_unescape_decodes_the_kernel_escapes(void **state)
{
    char text[] = "a\\040b\\011c\\012d\\134e";
    (void)state;

    assert_int_equal(mountinfo_unescape(text), 0);
    assert_string_equal(text, "a b\tc\nd\\e");
}

static void test_unescape_rejects_a_broken_escape(void **state)
{
    char short_escape[] = "a\\04";
    char not_octal[] = "a\\089";
    char lone[] = "a\\";
    (void)state;

    assert_int_equal(mountinfo_unescape(short_escape), -1);
    assert_int_equal(mountinfo_unescape(not_octal), -1);
    assert_int_equal(mountinfo_unescape(lone), -1);
}

/* Each malformed table must fail, naming the line and the problem. */
static void assert_parse_fails(const char *text, const char *expected_message)
{
    struct mountinfo info = {0};
    struct keel_error err;

    assert_int_equal(mountinfo_parse(text, &info, &err), -1);
    assert_string_equal(err.message, expected_message);
    assert_null(info.entries);
}

static void test_parse_rejects_malformed_lines(void **state)
{
    const char *good = "1 1 0:2 / / rw - rootfs rootfs rw\n";
    char text[512];
    (void)state;

    snprintf(text, sizeof text, "%s%s", good, "2 1 0:3 / /x rw shared:1 rootfs rootfs rw\n");
    assert_parse_fails(text, "parse mountinfo: line 2: no \"-\" separator");
    snprintf(text, sizeof text, "%s%s%s", good, good, "x 1 0:3 / /x rw - tmpfs t rw\n");
    assert_parse_fails(text, "parse mountinfo: line 3: bad mount id");
    assert_parse_fails("1 -4 0:3 / /x rw - tmpfs t rw\n", "parse mountinfo: line 1: bad parent id");
    assert_parse_fails("1 1 03 / /x rw - tmpfs t rw\n", "parse mountinfo: line 1: bad major:minor");
    assert_parse_fails("1 1 0:3 / /x rw - tmpfs t\n", "parse mountinfo: line 1: too few fields");
    assert_parse_fails("1 1 0:3 / /x rw shared:1 - tmpfs t\n",
                       "parse mountinfo: line 1: want fs type, source and options after \"-\"");
    assert_parse_fails("1 1 0:3 / x rw - tmpfs t rw\n",
                       "parse mountinfo: line 1: mount point is not absolute");
    assert_parse_fails("1 1 0:3 / /a\\9 rw - tmpfs t rw\n", "parse mountinfo: line 1: bad escape");
    snprintf(text, sizeof text, "%s\n%s", good, good);
    assert_parse_fails(text, "parse mountinfo: line 2: too few fields");
}

static size_t position_of(const struct unmount_step *steps, size_t count, const char *mount_point)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(steps[i].entry->mount_point, mount_point) == 0)
            return i;
    fail_msg("%s not in the plan", mount_point);
    return count;
}

static void test_plan_puts_children_before_parents(void **state)
{
    struct mountinfo info;
    struct keel_error err;
    struct unmount_step *steps;
    size_t count;
    (void)state;

    assert_int_equal(mountinfo_parse(keel_table, &info, &err), 0);
    assert_int_equal(mountinfo_plan_unmount(&info, &steps, &count, &err), 0);
    assert_int_equal(count, info.count);

    /* Every mount comes before the mount it sits on. */
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < count; j++)
            if (steps[j].entry->mount_id == steps[i].entry->parent_id)
                assert_true(i < j);
    assert_true(position_of(steps, count, "/var/lib/keel/my dir") <
                position_of(steps, count, "/var/lib/keel"));
    assert_true(position_of(steps, count, "/sys/fs/cgroup") < position_of(steps, count, "/sys"));
    /* Among siblings, the later mount goes first. */
    assert_true(position_of(steps, count, "/var/lib/keel") < position_of(steps, count, "/usr"));
    assert_true(position_of(steps, count, "/usr") < position_of(steps, count, "/proc"));
    /* / last, and only remounted. */
    assert_string_equal(steps[count - 1].entry->mount_point, "/");
    assert_int_equal(steps[count - 1].action, UNMOUNT_ACTION_REMOUNT_RO);
    for (size_t i = 0; i + 1 < count; i++)
        assert_int_equal(steps[i].action, UNMOUNT_ACTION_UNMOUNT);
    free(steps);
    mountinfo_free(&info);
}

static void test_plan_handles_stacked_mounts_and_odd_parents(void **state)
{
    /* A tmpfs mounted twice on /run (the second sits on the first), listed
     * out of mount order, and a root that is its own parent (initramfs). */
    static const char table[] = "1 1 0:2 / / rw - rootfs rootfs rw\n"
                                "41 40 0:31 / /run rw - tmpfs second rw\n"
                                "40 1 0:30 / /run rw - tmpfs first rw\n"
                                "50 99 0:32 / /detached rw - tmpfs lost rw\n";
    struct mountinfo info;
    struct keel_error err;
    struct unmount_step *steps;
    size_t count;
    (void)state;

    assert_int_equal(mountinfo_parse(table, &info, &err), 0);
    assert_int_equal(mountinfo_plan_unmount(&info, &steps, &count, &err), 0);
    assert_int_equal(count, 4);
    assert_string_equal(steps[0].entry->source, "second");
    assert_string_equal(steps[1].entry->source, "first");
    assert_string_equal(steps[count - 1].entry->mount_point, "/");
    free(steps);
    mountinfo_free(&info);
}

static void test_plan_of_an_empty_table_is_empty(void **state)
{
    struct mountinfo info = {0};
    struct keel_error err;
    struct unmount_step *steps = (void *)1;
    size_t count = 7;
    (void)state;

    assert_int_equal(mountinfo_plan_unmount(&info, &steps, &count, &err), 0);
    assert_null(steps);
    assert_int_equal(count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_every_field),
        cmocka_unit_test(test_parse_without_optional_fields_or_final_newline),
        cmocka_unit_test(test_unescape_decodes_the_kernel_escapes),
        cmocka_unit_test(test_unescape_rejects_a_broken_escape),
        cmocka_unit_test(test_parse_rejects_malformed_lines),
        cmocka_unit_test(test_plan_puts_children_before_parents),
        cmocka_unit_test(test_plan_handles_stacked_mounts_and_odd_parents),
        cmocka_unit_test(test_plan_of_an_empty_table_is_empty),
    };
    return cmocka_run_group_tests_name("mountinfo", tests, NULL, NULL);
}
