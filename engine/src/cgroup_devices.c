/* cgroup_devices.c — the device allowlist as a BPF_PROG_TYPE_CGROUP_DEVICE program (cgroup v2). */
#include "cgroup_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The name Keel's programs carry, so a later attach can tell its own
 * earlier program from one somebody else attached (and leave theirs). */
#define DEVICES_PROGRAM_NAME "keel_devices"

#define OCI_DEVICE_ACCESS_ALL                                                                      \
    (OCI_DEVICE_ACCESS_READ | OCI_DEVICE_ACCESS_WRITE | OCI_DEVICE_ACCESS_MKNOD)
#define DEVCG_ACCESS_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* Registers of the program: r1 is the context on entry, r0 the verdict. */
enum {
    REG_VERDICT = BPF_REG_0,
    REG_CONTEXT = BPF_REG_1,
    REG_TYPE = BPF_REG_2,
    REG_ACCESS = BPF_REG_3,
    REG_MAJOR = BPF_REG_4,
    REG_MINOR = BPF_REG_5,
};

/* The few instruction shapes the program needs. */
static struct bpf_insn instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static struct bpf_insn load_u32(uint8_t dst, uint8_t base, int16_t offset)
{
    return instruction(BPF_LDX | BPF_MEM | BPF_W, dst, base, offset, 0);
}

static struct bpf_insn move_register(uint8_t dst, uint8_t src)
{
    return instruction(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static struct bpf_insn alu_immediate(uint8_t operation, uint8_t dst, int32_t imm)
{
    return instruction(BPF_ALU64 | operation | BPF_K, dst, 0, 0, imm);
}

/* "if dst <operation> imm, skip the next `skip` instructions". */
static struct bpf_insn jump_immediate(uint8_t operation, uint8_t dst, int32_t imm, int16_t skip)
{
    return instruction(BPF_JMP | operation | BPF_K, dst, 0, skip, imm);
}

static struct bpf_insn jump_always(int16_t skip)
{
    return instruction(BPF_JMP | BPF_JA, 0, 0, skip, 0);
}

static struct bpf_insn exit_program(void)
{
    return instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* A rule with its fields in the program's terms. */
struct device_check {
    bool allow;
    int type;             /* BPF_DEVCG_DEV_*, 0: any */
    uint32_t access;      /* BPF_DEVCG_ACC_* bits the rule grants */
    int64_t major, minor; /* -1: any */
};

static int device_check_from_rule(const struct oci_device_rule *rule, size_t index,
                                  struct device_check *check, struct keel_error *err)
{
    unsigned access = rule->access == 0 ? OCI_DEVICE_ACCESS_ALL : rule->access;

    check->allow = rule->allow;
    switch (rule->type) {
    case 'a':
        check->type = 0;
        break;
    case 'b':
        check->type = BPF_DEVCG_DEV_BLOCK;
        break;
    case 'c':
        check->type = BPF_DEVCG_DEV_CHAR;
        break;
    default:
        return keel_error_invalid(err, "device rule %zu: unknown type '%c'", index, rule->type);
    }
    if (access & ~OCI_DEVICE_ACCESS_ALL)
        return keel_error_invalid(err, "device rule %zu: unknown access bits %#x", index, access);
    /* OCI's bits (read 1, write 2, mknod 4) are not the kernel's. */
    check->access = 0;
    if (access & OCI_DEVICE_ACCESS_READ)
        check->access |= BPF_DEVCG_ACC_READ;
    if (access & OCI_DEVICE_ACCESS_WRITE)
        check->access |= BPF_DEVCG_ACC_WRITE;
    if (access & OCI_DEVICE_ACCESS_MKNOD)
        check->access |= BPF_DEVCG_ACC_MKNOD;
    /* The numbers go into a signed 32-bit immediate; real majors have 12
     * bits and minors 20, so refusing the rest loses nothing. */
    if (rule->major < -1 || rule->major > INT32_MAX)
        return keel_error_invalid(err, "device rule %zu: major %lld out of range", index,
                                  (long long)rule->major);
    if (rule->minor < -1 || rule->minor > INT32_MAX)
        return keel_error_invalid(err, "device rule %zu: minor %lld out of range", index,
                                  (long long)rule->minor);
    check->major = rule->major;
    check->minor = rule->minor;
    return 0;
}

/* The program under construction, and the jumps of the current pass that
 * go to its end (patched once the end is known). */
struct program_builder {
    struct bpf_insn *program;
    size_t used;
    size_t *to_pass_end;
    size_t to_pass_end_count;
};

static void builder_emit(struct program_builder *builder, struct bpf_insn insn)
{
    builder->program[builder->used++] = insn;
}

static void builder_emit_jump_to_pass_end(struct program_builder *builder)
{
    builder->to_pass_end[builder->to_pass_end_count++] = builder->used;
    builder_emit(builder, jump_always(0));
}

static void builder_emit_verdict(struct program_builder *builder, bool allow)
{
    builder_emit(builder, alu_immediate(BPF_MOV, REG_VERDICT, allow ? 1 : 0));
    builder_emit(builder, exit_program());
}

/* One rule's block in the pass for one access bit: each device test that
 * fails jumps past the block, to the next (earlier) rule. On a match, an
 * allow rule settles this bit (on to the next pass), a deny rule denies
 * the request. Returns whether the block matches every device, which
 * makes the rest of the pass dead. */
static bool builder_emit_rule(struct program_builder *builder, const struct device_check *check)
{
    int16_t tests = (check->type != 0) + (check->major >= 0) + (check->minor >= 0);
    int16_t remaining = tests + (check->allow ? 1 : 2); /* the tests, then the action */

    if (check->type != 0)
        builder_emit(builder, jump_immediate(BPF_JNE, REG_TYPE, check->type, --remaining));
    if (check->major >= 0)
        builder_emit(builder,
                     jump_immediate(BPF_JNE, REG_MAJOR, (int32_t)check->major, --remaining));
    if (check->minor >= 0)
        builder_emit(builder,
                     jump_immediate(BPF_JNE, REG_MINOR, (int32_t)check->minor, --remaining));
    if (check->allow)
        builder_emit_jump_to_pass_end(builder);
    else
        builder_emit_verdict(builder, false);
    return tests == 0;
}

/* The pass for one access bit (skipped when the request lacks it): the
 * last rule that matches the device and names this access decides it;
 * none means deny. */
static void builder_emit_pass(struct program_builder *builder, const struct device_check *checks,
                              size_t count, uint32_t access_bit)
{
    bool decided = false;

    builder->to_pass_end_count = 0;
    builder_emit(builder, jump_immediate(BPF_JSET, REG_ACCESS, (int32_t)access_bit, 1));
    builder_emit_jump_to_pass_end(builder);
    for (size_t i = count; i > 0 && !decided; i--)
        if (checks[i - 1].access & access_bit)
            decided = builder_emit_rule(builder, &checks[i - 1]);
    if (!decided)
        builder_emit_verdict(builder, false);
    for (size_t i = 0; i < builder->to_pass_end_count; i++) {
        size_t at = builder->to_pass_end[i];
        builder->program[at].off = (int16_t)(builder->used - at - 1);
    }
}

/* A rule for every device and every access: whatever comes before it is
 * dead, and it alone is the program. */
static bool device_check_matches_everything(const struct device_check *check)
{
    return check->type == 0 && check->major < 0 && check->minor < 0 &&
           check->access == DEVCG_ACCESS_ALL;
}

/* Jump offsets are 16-bit: a pass is at most 4 + 5 * count instructions. */
#define DEVICE_RULES_MAX 4096

int cgroup_devices_build_program(const struct oci_device_rule *rules, size_t count,
                                 struct bpf_insn **instructions, size_t *length,
                                 struct keel_error *err)
{
    static const uint32_t access_bits[] = {BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE,
                                           BPF_DEVCG_ACC_MKNOD};
    /* Prologue 6; per pass 2 + 5 per rule + 2; the final verdict 2. */
    size_t capacity = 6 + 3 * (4 + 5 * count) + 2;
    _cleanup_free_ struct bpf_insn *program = NULL;
    _cleanup_free_ struct device_check *checks = NULL;
    _cleanup_free_ size_t *to_pass_end = NULL;
    struct program_builder builder;

    if (count > DEVICE_RULES_MAX)
        return keel_error_invalid(err, "too many device rules (%zu, at most %d)", count,
                                  DEVICE_RULES_MAX);
    program = calloc(capacity, sizeof *program);
    checks = calloc(count + 1, sizeof *checks);
    to_pass_end = calloc(count + 1, sizeof *to_pass_end);
    if (program == NULL || checks == NULL || to_pass_end == NULL)
        return keel_error_set(err, ENOMEM, "build device filter");
    /* Check every rule, even those a later catch-all makes dead. */
    for (size_t i = 0; i < count; i++)
        if (device_check_from_rule(&rules[i], i, &checks[i], err) < 0)
            return -1;
    builder = (struct program_builder){.program = program, .to_pass_end = to_pass_end};

    if (count == 0 || device_check_matches_everything(&checks[count - 1])) {
        builder_emit_verdict(&builder, count > 0 && checks[count - 1].allow);
    } else {
        /* Unpack the context: access_type is (access << 16) | type. */
        builder_emit(&builder, load_u32(REG_TYPE, REG_CONTEXT,
                                        offsetof(struct bpf_cgroup_dev_ctx, access_type)));
        builder_emit(&builder, move_register(REG_ACCESS, REG_TYPE));
        builder_emit(&builder, alu_immediate(BPF_AND, REG_TYPE, 0xffff));
        builder_emit(&builder, alu_immediate(BPF_RSH, REG_ACCESS, 16));
        builder_emit(&builder,
                     load_u32(REG_MAJOR, REG_CONTEXT, offsetof(struct bpf_cgroup_dev_ctx, major)));
        builder_emit(&builder,
                     load_u32(REG_MINOR, REG_CONTEXT, offsetof(struct bpf_cgroup_dev_ctx, minor)));
        /* One request may ask for several accesses at once (open O_RDWR
         * asks read and write), and each must be granted on its own: the
         * last rule naming that access decides it. So: one pass per
         * access, each reading the rules last to first; a request passes
         * only if all its accesses do. (Testing "request within the
         * rule's access" on the rules directly would let "deny c 1:3 w"
         * miss an O_RDWR open, and "allow r" plus "allow w" miss it too.) */
        for (size_t i = 0; i < sizeof access_bits / sizeof *access_bits; i++)
            builder_emit_pass(&builder, checks, count, access_bits[i]);
        builder_emit_verdict(&builder, true);
    }
    *instructions = steal_pointer(&program);
    *length = builder.used;
    return 0;
}

static int bpf_call(int command, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, command, attr, sizeof *attr);
}

/* The verifier's last lines (its complaint, then its statistics), joined
 * with "; ", into text. */
static void verifier_log_tail(char *log, char *text, size_t size)
{
    size_t length = strlen(log), start, used = 0;
    int lines = 0;

    while (length > 0 && log[length - 1] == '\n')
        log[--length] = '\0';
    for (start = length; start > 0; start--)
        if (log[start - 1] == '\n' && ++lines == 3)
            break;
    for (const char *c = log + start; *c != '\0' && used + 3 < size; c++) {
        if (*c == '\n') {
            text[used++] = ';';
            text[used++] = ' ';
        } else {
            text[used++] = *c;
        }
    }
    text[used] = '\0';
}

static int devices_program_load(const struct bpf_insn *program, size_t length, int *fd,
                                struct keel_error *err)
{
    union bpf_attr attr;
    int saved;

    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = (uint32_t)length;
    attr.insns = (uintptr_t)program;
    attr.license = (uintptr_t) "GPL";
    memcpy(attr.prog_name, DEVICES_PROGRAM_NAME, sizeof DEVICES_PROGRAM_NAME);
    *fd = bpf_call(BPF_PROG_LOAD, &attr);
    if (*fd >= 0)
        return 0;
    saved = errno;
    if (saved == EPERM || saved == ENOSYS)
        return keel_error_set(err, saved, "load device filter");

    /* Load again with the verifier's log, only to say why it refused. */
    size_t log_size = 64 * 1024;
    _cleanup_free_ char *log = calloc(1, log_size);
    char tail[256] = "";
    if (log != NULL) {
        attr.log_level = 1;
        attr.log_size = (uint32_t)log_size;
        attr.log_buf = (uintptr_t)log;
        *fd = bpf_call(BPF_PROG_LOAD, &attr);
        if (*fd >= 0) /* accepted the second time: take it */
            return 0;
        verifier_log_tail(log, tail, sizeof tail);
    }
    if (tail[0] != '\0')
        return keel_error_set(err, saved, "load device filter (%zu instructions; verifier: %s)",
                              length, tail);
    return keel_error_set(err, saved, "load device filter (%zu instructions)", length);
}

/* Is the program with this id one Keel attached (by its name)? Opens it
 * into *fd when it is; *fd stays -1 otherwise. */
static int devices_program_open_if_keel(uint32_t id, int *fd, struct keel_error *err)
{
    union bpf_attr attr;
    struct bpf_prog_info info;
    _cleanup_close_ int program = -1;

    *fd = -1;
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    program = bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
    if (program < 0 && errno == ENOENT) /* detached and freed meanwhile */
        return 0;
    if (program < 0)
        return keel_error_set(err, errno, "open BPF program %u", id);

    memset(&info, 0, sizeof info);
    memset(&attr, 0, sizeof attr);
    attr.info.bpf_fd = (uint32_t)program;
    attr.info.info_len = sizeof info;
    attr.info.info = (uintptr_t)&info;
    if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
        return keel_error_set(err, errno, "describe BPF program %u", id);
    if (strncmp(info.name, DEVICES_PROGRAM_NAME, sizeof info.name) == 0)
        *fd = steal_fd(&program);
    return 0;
}

#define PREVIOUS_PROGRAMS_MAX 64

struct program_list {
    int fds[PREVIOUS_PROGRAMS_MAX];
    size_t count;
};

static void program_list_close(struct program_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        close(list->fds[i]);
    list->count = 0;
}

/* Keel's device programs attached directly to the cgroup, opened. */
static int devices_open_previous(int cgroup_fd, struct program_list *list, struct keel_error *err)
{
    uint32_t ids[PREVIOUS_PROGRAMS_MAX];
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uintptr_t)ids;
    attr.query.prog_cnt = PREVIOUS_PROGRAMS_MAX;
    if (bpf_call(BPF_PROG_QUERY, &attr) < 0)
        return keel_error_set(err, errno, "list the cgroup's device filters");
    for (uint32_t i = 0; i < attr.query.prog_cnt && i < PREVIOUS_PROGRAMS_MAX; i++) {
        int fd;
        if (devices_program_open_if_keel(ids[i], &fd, err) < 0)
            return -1;
        if (fd >= 0)
            list->fds[list->count++] = fd;
    }
    return 0;
}

static int devices_program_attach(int cgroup_fd, int program_fd, struct keel_error *err)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* Multi, as runc and crun attach: programs attached the same way to
     * the parents keep applying, and a device passes only if all allow it. */
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, &attr) < 0)
        return keel_error_set(err, errno, "attach device filter");
    return 0;
}

static int devices_program_detach(int cgroup_fd, int program_fd, struct keel_error *err)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* ENOENT: somebody detached it meanwhile, which is what we want. */
    if (bpf_call(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "detach the previous device filter");
    return 0;
}

int cgroup_devices_attach(int cgroup_fd, const struct oci_device_rule *rules, size_t count,
                          struct keel_error *err)
{
    _cleanup_free_ struct bpf_insn *program = NULL;
    _cleanup_close_ int program_fd = -1;
    __attribute__((cleanup(program_list_close))) struct program_list previous = {.count = 0};
    size_t length;

    if (cgroup_devices_build_program(rules, count, &program, &length, err) < 0)
        return -1;
    if (devices_program_load(program, length, &program_fd, err) < 0)
        return -1;
    /* A fresh cgroup has none; a reused one may still hold the filter of
     * an earlier container, which must not outlive it. */
    if (devices_open_previous(cgroup_fd, &previous, err) < 0)
        return -1;
    /* Attach the new program before detaching the old: in between both
     * apply and a device must pass both, so nothing is ever unfiltered. */
    if (devices_program_attach(cgroup_fd, program_fd, err) < 0)
        return -1;
    for (size_t i = 0; i < previous.count; i++)
        if (devices_program_detach(cgroup_fd, previous.fds[i], err) < 0)
            return -1;
    /* program_fd closes here; the attachment holds the program. */
    return 0;
}
