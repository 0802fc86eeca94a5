/* test_cgroup_devices.c — unit tests of cgroup_devices.c, run through an eBPF interpreter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_devices.h"

/* ---- the interpreter: only what the builder may emit, checked like the
 * verifier would (no uninitialised register, only the context's three
 * fields, jumps inside the program, r0 set at exit). ---- */

enum register_kind { UNSET, SCALAR, CONTEXT };

struct machine {
    uint64_t value[11];
    enum register_kind kind[11];
};

static void require(bool condition, const char *what, size_t pc)
{
    if (!condition)
        fail_msg("instruction %zu: %s", pc, what);
}

static uint64_t scalar(const struct machine *m, uint8_t reg, size_t pc)
{
    require(reg <= 10 && m->kind[reg] == SCALAR, "reads a register that holds no number", pc);
    return m->value[reg];
}

/* Run the program on one request; returns r0. */
static int program_run(const struct bpf_insn *program, size_t length,
                       const struct bpf_cgroup_dev_ctx *context)
{
    struct machine m = {0};
    size_t pc = 0;

    m.kind[BPF_REG_1] = CONTEXT;
    for (size_t steps = 0; steps <= length; steps++) {
        require(pc < length, "runs off the end of the program", pc);
        const struct bpf_insn *insn = &program[pc];
        uint64_t imm = (uint64_t)(int64_t)insn->imm;
        size_t next = pc + 1;

        require(insn->dst_reg <= 10 && insn->src_reg <= 10, "bad register", pc);
        switch (insn->code) {
        case BPF_LDX | BPF_MEM | BPF_W: {
            require(m.kind[insn->src_reg] == CONTEXT, "loads through a non-context pointer", pc);
            require(insn->off == 0 || insn->off == 4 || insn->off == 8, "bad context offset", pc);
            uint32_t field;
            memcpy(&field, (const char *)context + insn->off, sizeof field);
            m.value[insn->dst_reg] = field;
            m.kind[insn->dst_reg] = SCALAR;
            break;
        }
        case BPF_ALU64 | BPF_MOV | BPF_X:
            require(m.kind[insn->src_reg] != UNSET, "moves an unset register", pc);
            m.value[insn->dst_reg] = m.value[insn->src_reg];
            m.kind[insn->dst_reg] = m.kind[insn->src_reg];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            m.value[insn->dst_reg] = imm;
            m.kind[insn->dst_reg] = SCALAR;
            break;
        case BPF_ALU64 | BPF_AND | BPF_K:
            m.value[insn->dst_reg] = scalar(&m, insn->dst_reg, pc) & imm;
            break;
        case BPF_ALU64 | BPF_RSH | BPF_K:
            require(insn->imm >= 0 && insn->imm < 64, "bad shift", pc);
            m.value[insn->dst_reg] = scalar(&m, insn->dst_reg, pc) >> insn->imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            require(insn->off >= 0, "jumps backwards", pc);
            if (scalar(&m, insn->dst_reg, pc) != imm)
                next += (size_t)insn->off;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            require(insn->off >= 0, "jumps backwards", pc);
            if (scalar(&m, insn->dst_reg, pc) & imm)
                next += (size_t)insn->off;
            break;
        case BPF_JMP | BPF_JA:
            require(insn->off >= 0, "jumps backwards", pc);
            next += (size_t)insn->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return (int)scalar(&m, BPF_REG_0, pc);
        default:
            fail_msg("instruction %zu: opcode %#x the interpreter does not know", pc, insn->code);
        }
        pc = next;
    }
    fail_msg("program did not exit");
    return -1;
}

/* ---- requests and rules in the tests' terms ---- */

static unsigned request_access(const char *access)
{
    unsigned bits = 0;
    for (const char *c = access; *c != '\0'; c++)
        bits |= *c == 'r'   ? BPF_DEVCG_ACC_READ
                : *c == 'w' ? BPF_DEVCG_ACC_WRITE
                            : BPF_DEVCG_ACC_MKNOD;
    return bits;
}

static unsigned rule_access(const char *access)
{
    unsigned bits = 0;
    for (const char *c = access; *c != '\0'; c++)
        bits |= *c == 'r'   ? OCI_DEVICE_ACCESS_READ
                : *c == 'w' ? OCI_DEVICE_ACCESS_WRITE
                            : OCI_DEVICE_ACCESS_MKNOD;
    return bits;
}

static struct oci_device_rule rule(bool allow, char type, int64_t major, int64_t minor,
                                   const char *access)
{
    return (struct oci_device_rule){.allow = allow,
                                    .type = type,
                                    .major = major,
                                    .minor = minor,
                                    .access = rule_access(access)};
}

struct program {
    struct bpf_insn *instructions;
    size_t length;
};

static struct program build(const struct oci_device_rule *rules, size_t count)
{
    struct program program = {0};
    struct keel_error err = {0};
    if (cgroup_devices_build_program(rules, count, &program.instructions, &program.length, &err) <
        0)
        fail_msg("build: %s", err.message);
    return program;
}

/* 1 allowed, 0 denied. */
static int verdict(const struct program *program, char type, uint32_t major, uint32_t minor,
                   const char *access)
{
    struct bpf_cgroup_dev_ctx context = {
        .access_type = (request_access(access) << 16) |
                       (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
        .major = major,
        .minor = minor,
    };
    return program_run(program->instructions, program->length, &context);
}

/* Docker's default: deny all, then the usual character devices. */
static const struct oci_device_rule *docker_rules(size_t *count)
{
    static struct oci_device_rule rules[12];
    size_t n = 0;
    rules[n++] = rule(false, 'a', -1, -1, "rwm");
    rules[n++] = rule(true, 'c', 1, 3, "rwm");    /* null */
    rules[n++] = rule(true, 'c', 1, 5, "rwm");    /* zero */
    rules[n++] = rule(true, 'c', 1, 7, "rwm");    /* full */
    rules[n++] = rule(true, 'c', 1, 8, "rwm");    /* random */
    rules[n++] = rule(true, 'c', 1, 9, "rwm");    /* urandom */
    rules[n++] = rule(true, 'c', 5, 0, "rwm");    /* tty */
    rules[n++] = rule(true, 'c', 5, 1, "rwm");    /* console */
    rules[n++] = rule(true, 'c', 5, 2, "rwm");    /* ptmx */
    rules[n++] = rule(true, 'c', 136, -1, "rwm"); /* pts */
    rules[n++] = rule(true, 'c', -1, -1, "m");
    rules[n++] = rule(true, 'b', -1, -1, "m");
    *count = n;
    return rules;
}

static void test_docker_default_allowlist(void **state)
{
    size_t count;
    const struct oci_device_rule *rules = docker_rules(&count);
    struct program p = build(rules, count);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "rw"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 5, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 9, "rwm"), 1);
    assert_int_equal(verdict(&p, 'c', 5, 2, "rw"), 1);
    assert_int_equal(verdict(&p, 'c', 136, 4, "rw"), 1);
    assert_int_equal(verdict(&p, 'c', 136, 0, "w"), 1);
    assert_int_equal(verdict(&p, 'b', 8, 0, "r"), 0);
    assert_int_equal(verdict(&p, 'b', 8, 0, "rw"), 0);
    assert_int_equal(verdict(&p, 'b', 8, 0, "m"), 1);
    assert_int_equal(verdict(&p, 'c', 10, 200, "rw"), 0);
    assert_int_equal(verdict(&p, 'c', 10, 200, "m"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 4, "r"), 0);  /* /dev/port */
    assert_int_equal(verdict(&p, 'c', 1, 1, "rw"), 0); /* /dev/mem */
    assert_int_equal(verdict(&p, 'c', 5, 3, "r"), 0);
    assert_int_equal(verdict(&p, 'c', 137, 4, "rw"), 0);
    assert_int_equal(verdict(&p, 'b', 1, 3, "rw"), 0); /* the type matters */
    assert_int_equal(verdict(&p, 'b', 136, 4, "r"), 0);
    free(p.instructions);
}

static void test_later_rule_wins(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 3, "w")};
    struct program p = build(rules, 2);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "w"), 0);
    /* Denying w denies every request that asks for it (open O_RDWR). */
    assert_int_equal(verdict(&p, 'c', 1, 3, "rw"), 0);
    assert_int_equal(verdict(&p, 'c', 1, 3, "rm"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 4, "w"), 1);
    assert_int_equal(verdict(&p, 'b', 1, 3, "w"), 1);
    free(p.instructions);
}

static void test_later_deny_all_overrides_earlier_allows(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'c', 1, 3, "rwm"), rule(false, 'a', -1, -1, "rwm"),
                                      rule(true, 'c', 1, 5, "r")};
    struct program p = build(rules, 3);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "r"), 0);
    assert_int_equal(verdict(&p, 'c', 1, 5, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 5, "w"), 0);
    free(p.instructions);
}

static void test_no_rules_deny_everything(void **state)
{
    struct program p = build(NULL, 0);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "r"), 0);
    assert_int_equal(verdict(&p, 'b', 8, 0, "m"), 0);
    assert_int_equal(verdict(&p, 'c', 0, 0, "rwm"), 0);
    free(p.instructions);
}

static void test_request_must_be_a_subset_of_the_rule_access(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'c', 1, 3, "rw"), rule(true, 'c', 1, 5, "m")};
    struct program p = build(rules, 2);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "w"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "rw"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "m"), 0);
    assert_int_equal(verdict(&p, 'c', 1, 3, "rm"), 0);
    assert_int_equal(verdict(&p, 'c', 1, 5, "m"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 5, "r"), 0);
    free(p.instructions);
}

static void test_each_access_may_come_from_its_own_rule(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "w"),
                                      rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 5, "w"),
                                      rule(true, 'c', -1, -1, "r")};
    struct program p = build(rules, 5);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "rw"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "m"), 1);
    /* c 1:5: r from the last rule, w denied by the one before. */
    assert_int_equal(verdict(&p, 'c', 1, 5, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 5, "rw"), 0);
    assert_int_equal(verdict(&p, 'c', 1, 5, "rm"), 1);
    free(p.instructions);
}

static void test_access_zero_means_all(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'c', 1, 3, "")};
    struct program p = build(rules, 1);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 1, 3, "rwm"), 1);
    assert_int_equal(verdict(&p, 'c', 1, 3, "m"), 1);
    free(p.instructions);
}

static void test_wildcards(void **state)
{
    struct oci_device_rule rules[] = {rule(true, 'c', -1, 5, "r"), rule(true, 'a', 7, -1, "w")};
    struct program p = build(rules, 2);
    (void)state;

    assert_int_equal(verdict(&p, 'c', 42, 5, "r"), 1);
    assert_int_equal(verdict(&p, 'c', 42, 6, "r"), 0);
    assert_int_equal(verdict(&p, 'b', 42, 5, "r"), 0);
    assert_int_equal(verdict(&p, 'b', 7, 1, "w"), 1);
    assert_int_equal(verdict(&p, 'c', 7, 99, "w"), 1);
    assert_int_equal(verdict(&p, 'c', 7, 99, "r"), 0);
    free(p.instructions);
}

static void test_catch_all_last_rule_ends_the_program(void **state)
{
    struct oci_device_rule allow_all[] = {rule(false, 'c', 1, 3, "rwm"),
                                          rule(true, 'a', -1, -1, "rwm")};
    struct oci_device_rule deny_all[] = {rule(true, 'c', 1, 3, "rwm"),
                                         rule(false, 'a', -1, -1, "")};
    struct program allow = build(allow_all, 2);
    struct program deny = build(deny_all, 2);
    (void)state;

    /* One verdict: the rule before is dead. */
    assert_int_equal(allow.length, 2);
    assert_int_equal(verdict(&allow, 'c', 1, 3, "rw"), 1);
    assert_int_equal(verdict(&allow, 'b', 8, 0, "rwm"), 1);
    assert_int_equal(deny.length, 2);
    assert_int_equal(verdict(&deny, 'c', 1, 3, "r"), 0);
    free(allow.instructions);
    free(deny.instructions);
}

static void expect_refused(struct oci_device_rule bad, const char *message)
{
    struct oci_device_rule rules[] = {bad, rule(true, 'a', -1, -1, "rwm")};
    struct bpf_insn *instructions = NULL;
    size_t length = 0;
    struct keel_error err = {0};

    assert_int_equal(cgroup_devices_build_program(rules, 2, &instructions, &length, &err), -1);
    assert_null(instructions);
    assert_string_equal(err.message, message);
}

static void test_bad_rules_are_refused_even_when_dead(void **state)
{
    struct oci_device_rule bad_access = rule(true, 'c', 1, 3, "r");
    (void)state;

    expect_refused(rule(true, 'x', 1, 3, "r"), "device rule 0: unknown type 'x'");
    bad_access.access = 8;
    expect_refused(bad_access, "device rule 0: unknown access bits 0x8");
    expect_refused(rule(true, 'c', -2, 3, "r"), "device rule 0: major -2 out of range");
    expect_refused(rule(true, 'c', 1, 4294967296LL, "r"),
                   "device rule 0: minor 4294967296 out of range");
}

/* The rules read directly: each access the request asks for is decided by
 * the last rule matching the device that names it; none means deny. */
static int reference_verdict(const struct oci_device_rule *rules, size_t count, char type,
                             uint32_t major, uint32_t minor, unsigned wanted)
{
    for (unsigned bit = 1; bit <= 4; bit <<= 1) {
        int allowed = 0;
        if (!(wanted & bit))
            continue;
        for (size_t r = 0; r < count; r++) {
            const struct oci_device_rule *x = &rules[r];
            unsigned granted = x->access ? x->access : 7;
            if ((x->type == 'a' || x->type == type) && (x->major < 0 || x->major == major) &&
                (x->minor < 0 || x->minor == minor) && (granted & bit))
                allowed = x->allow;
        }
        if (!allowed)
            return 0;
    }
    return 1;
}

/* Every request against a few rule lists, checked against the reference,
 * so no block's jump lands wrongly. */
static void agrees_everywhere(const struct oci_device_rule *rules, size_t count)
{
    static const char *accesses[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};
    static const uint32_t numbers[] = {0, 1, 2, 3, 5, 7, 8, 9, 136, 200};
    struct program p = build(rules, count);

    for (int t = 0; t < 2; t++)
        for (size_t a = 0; a < sizeof accesses / sizeof *accesses; a++)
            for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
                for (size_t j = 0; j < sizeof numbers / sizeof *numbers; j++) {
                    char type = t ? 'b' : 'c';
                    int expected = reference_verdict(rules, count, type, numbers[i], numbers[j],
                                                     rule_access(accesses[a]));
                    if (verdict(&p, type, numbers[i], numbers[j], accesses[a]) != expected)
                        fail_msg("%c %u:%u %s: program says %s", type, numbers[i], numbers[j],
                                 accesses[a], expected ? "deny" : "allow");
                }
    free(p.instructions);
}

static void test_program_agrees_with_the_rules_everywhere(void **state)
{
    size_t count;
    const struct oci_device_rule *docker = docker_rules(&count);
    struct oci_device_rule mixed[] = {
        rule(true, 'a', -1, -1, "rwm"), rule(false, 'b', -1, -1, "w"),
        rule(false, 'c', 1, -1, "rw"),  rule(true, 'c', 1, 3, "r"),
        rule(true, 'c', -1, 3, "w"),    rule(false, 'a', 5, 2, "m"),
        rule(true, 'b', 8, 0, ""),      rule(false, 'c', 136, 0, "r"),
    };
    (void)state;

    agrees_everywhere(docker, count);
    agrees_everywhere(mixed, sizeof mixed / sizeof *mixed);
    for (size_t n = 0; n <= sizeof mixed / sizeof *mixed; n++) /* every prefix */
        agrees_everywhere(mixed, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_default_allowlist),
        cmocka_unit_test(test_later_rule_wins),
        cmocka_unit_test(test_later_deny_all_overrides_earlier_allows),
        cmocka_unit_test(test_no_rules_deny_everything),
        cmocka_unit_test(test_request_must_be_a_subset_of_the_rule_access),
        cmocka_unit_test(test_each_access_may_come_from_its_own_rule),
        cmocka_unit_test(test_access_zero_means_all),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_catch_all_last_rule_ends_the_program),
        cmocka_unit_test(test_bad_rules_are_refused_even_when_dead),
        cmocka_unit_test(test_program_agrees_with_the_rules_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
