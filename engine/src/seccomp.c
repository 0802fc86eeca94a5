/* seccomp.c — OCI seccomp section to BPF program (libseccomp), cached by its hash, and loaded. */
#include "seccomp.h"

/* libseccomp's header has our header's name: this file must be compiled
 * with src/ reachable only for quoted includes (no -Isrc; -iquote is fine). */
#include <seccomp.h>
#ifndef SCMP_ACT_ALLOW
#error "compile with -iquote src, not -Isrc: src/seccomp.h hides libseccomp's <seccomp.h>"
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define SECCOMP_ARGUMENT_COUNT 6

/* Bump when the way a profile becomes BPF changes, so old cache files are
 * never taken for new ones. */
#define SECCOMP_CACHE_FORMAT "keel seccomp cache 1"

static void seccomp_context_release(scmp_filter_ctx *context)
{
    if (*context != NULL)
        seccomp_release(*context);
}
#define _cleanup_seccomp_context_ __attribute__((cleanup(seccomp_context_release)))

static bool seccomp_profile_wants_listener(const struct oci_seccomp *profile)
{
    for (size_t i = 0; i < profile->rule_count; i++)
        if (profile->rules[i].action == SCMP_ACT_NOTIFY)
            return true;
    return false;
}

/* The flags seccomp(2) takes for what the profile's "flags" ask. libseccomp
 * would pass them itself in seccomp_load(), which Keel does not use. */
static unsigned seccomp_profile_filter_flags(const struct oci_seccomp *profile)
{
    unsigned flags = 0;

    if (profile->flag_log)
        flags |= SECCOMP_FILTER_FLAG_LOG;
    if (profile->flag_spec_allow)
        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    /* The kernel refuses this flag without a listener, and it means nothing
     * without one. */
    if (profile->flag_wait_kill_recv && seccomp_profile_wants_listener(profile))
        flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    return flags;
}

static int seccomp_add_architectures(scmp_filter_ctx context, char *const *architectures,
                                     struct keel_error *err)
{
    for (size_t i = 0; architectures != NULL && architectures[i] != NULL; i++) {
        uint32_t token = seccomp_arch_resolve_name(architectures[i]);
        if (token == 0)
            return keel_error_invalid(err, "seccomp architecture \"%s\": unknown",
                                      architectures[i]);
        int rc = seccomp_arch_add(context, token);
        /* The native architecture is in every new filter already. */
        if (rc < 0 && rc != -EEXIST)
            return keel_error_set(err, -rc, "seccomp architecture \"%s\"", architectures[i]);
    }
    return 0;
}

static int seccomp_set_attributes(scmp_filter_ctx context, const struct oci_seccomp *profile,
                                  struct keel_error *err)
{
    /* Keel loads the exported program with seccomp(2) itself: libseccomp
     * must not set no_new_privs or synchronise threads on our behalf. */
    int rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, 0);
    if (rc == 0)
        rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 0);
    if (rc < 0)
        return keel_error_set(err, -rc, "seccomp filter attributes");
    /* These do not change the program, but libseccomp checks on setting
     * them that the kernel supports the flag: an early, clear error. */
    if (profile->flag_log && (rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_LOG, 1)) < 0)
        return keel_error_set(err, -rc, "seccomp flag SECCOMP_FILTER_FLAG_LOG");
    if (profile->flag_spec_allow && (rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_SSB, 1)) < 0)
        return keel_error_set(err, -rc, "seccomp flag SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    return 0;
}

static int seccomp_convert_arguments(const struct oci_seccomp_rule *rule, const char *name,
                                     struct scmp_arg_cmp *conditions, bool *argument_repeated,
                                     struct keel_error *err)
{
    unsigned uses[SECCOMP_ARGUMENT_COUNT] = {0};

    *argument_repeated = false;
    for (size_t i = 0; i < rule->argument_count; i++) {
        const struct oci_seccomp_argument *argument = &rule->arguments[i];
        if (argument->index >= SECCOMP_ARGUMENT_COUNT)
            return keel_error_invalid(err, "seccomp rule for \"%s\": argument index %u is not 0..5",
                                      name, argument->index);
        if (argument->op < SCMP_CMP_NE || argument->op > SCMP_CMP_MASKED_EQ)
            return keel_error_invalid(err, "seccomp rule for \"%s\": unknown comparison %d", name,
                                      argument->op);
        if (++uses[argument->index] > 1)
            *argument_repeated = true;
        /* OCI's value/valueTwo are libseccomp's datum_a/datum_b; for
         * SCMP_CMP_MASKED_EQ that is (arg & value) == valueTwo. */
        conditions[i] = (struct scmp_arg_cmp){
            .arg = argument->index,
            .op = (enum scmp_compare)argument->op,
            .datum_a = argument->value,
            .datum_b = argument->value_two,
        };
    }
    return 0;
}

static int seccomp_add_rule(scmp_filter_ctx context, uint32_t default_action,
                            const struct oci_seccomp_rule *rule, struct keel_error *err)
{
    /* libseccomp refuses a rule that only repeats the default (EACCES);
     * runc and crun leave such rules out, and so does Keel. */
    if (rule->action == default_action)
        return 0;

    if (rule->names == NULL || rule->names[0] == NULL)
        return 0;

    _cleanup_free_ struct scmp_arg_cmp *conditions =
        calloc(rule->argument_count + 1, sizeof *conditions);
    bool argument_repeated;
    if (conditions == NULL)
        return keel_error_set(err, ENOMEM, "seccomp rule for \"%s\"", rule->names[0]);
    if (seccomp_convert_arguments(rule, rule->names[0], conditions, &argument_repeated, err) < 0)
        return -1;

    for (size_t n = 0; rule->names[n] != NULL; n++) {
        const char *name = rule->names[n];
        int rc = 0;
        int number = seccomp_syscall_resolve_name(name);
        /* A name libseccomp does not know (a syscall newer than it) is
         * skipped, as runc and crun do. */
        if (number == __NR_SCMP_ERROR)
            continue;

        if (!argument_repeated) {
            rc = seccomp_rule_add_array(context, rule->action, number,
                                        (unsigned)rule->argument_count, conditions);
        } else {
            /* libseccomp refuses two comparisons of one argument in one
             * rule (EINVAL). runc then adds one rule per comparison, which
             * makes them alternatives, and profiles written for runc
             * expect exactly that. */
            for (size_t i = 0; i < rule->argument_count && rc == 0; i++)
                rc = seccomp_rule_add_array(context, rule->action, number, 1, &conditions[i]);
        }
        if (rc < 0)
            return keel_error_set(err, -rc, "seccomp rule for \"%s\"", name);
    }
    return 0;
}

/* libseccomp 2.5 exports only to an fd: a memfd, read back. */
static int seccomp_export_program(scmp_filter_ctx context, struct sock_filter **instructions,
                                  unsigned short *length, struct keel_error *err)
{
    _cleanup_close_ int fd = memfd_create("keel-seccomp", MFD_CLOEXEC);
    _cleanup_free_ struct sock_filter *program = NULL;
    struct stat status;

    if (fd < 0)
        return keel_error_set(err, errno, "seccomp export: memfd_create");
    int rc = seccomp_export_bpf(context, fd);
    if (rc < 0)
        return keel_error_set(err, -rc, "seccomp export");
    if (fstat(fd, &status) < 0)
        return keel_error_set(err, errno, "seccomp export: fstat");

    size_t size = (size_t)status.st_size;
    size_t count = size / sizeof *program;
    if (size == 0 || size % sizeof *program != 0)
        return keel_error_set(err, EIO, "seccomp export: %zu bytes is no program", size);
    if (count > BPF_MAXINSNS)
        return keel_error_set(err, E2BIG,
                              "seccomp filter of %zu instructions (the kernel takes %d)", count,
                              BPF_MAXINSNS);
    program = malloc(size);
    if (program == NULL)
        return keel_error_set(err, ENOMEM, "seccomp export");
    for (size_t done = 0; done < size;) {
        ssize_t n = pread(fd, (char *)program + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return keel_error_set(err, n < 0 ? errno : EIO, "seccomp export: read back");
        done += (size_t)n;
    }
    *instructions = steal_pointer(&program);
    *length = (unsigned short)count;
    return 0;
}

static int seccomp_compile_uncached(const struct oci_seccomp *profile,
                                    struct sock_filter **instructions, unsigned short *length,
                                    struct keel_error *err)
{
    _cleanup_seccomp_context_ scmp_filter_ctx context = seccomp_init(profile->default_action);

    if (context == NULL)
        return keel_error_invalid(err, "seccomp default action 0x%08x: invalid",
                                  profile->default_action);
    if (seccomp_set_attributes(context, profile, err) < 0 ||
        seccomp_add_architectures(context, profile->architectures, err) < 0)
        return -1;
    for (size_t i = 0; i < profile->rule_count; i++)
        if (seccomp_add_rule(context, profile->default_action, &profile->rules[i], err) < 0)
            return -1;
    return seccomp_export_program(context, instructions, length, err);
}

/* The cache key: every field of the profile in a length-prefixed,
 * fixed-width encoding (so no two profiles encode alike), with what else
 * decides the program: libseccomp's version, the API level it found in the
 * kernel and the native architecture. */
static void hash_bytes(struct sha256_ctx *hash, const void *bytes, size_t length)
{
    sha256_update(hash, length, bytes);
}

static void hash_u64(struct sha256_ctx *hash, uint64_t value)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    hash_bytes(hash, bytes, sizeof bytes);
}

static void hash_string(struct sha256_ctx *hash, const char *text)
{
    hash_u64(hash, text != NULL);
    if (text == NULL)
        return;
    size_t length = strlen(text);
    hash_u64(hash, length);
    hash_bytes(hash, text, length);
}

static void hash_strings(struct sha256_ctx *hash, char *const *texts)
{
    size_t count = 0;
    while (texts != NULL && texts[count] != NULL)
        count++;
    hash_u64(hash, count);
    for (size_t i = 0; i < count; i++)
        hash_string(hash, texts[i]);
}

static void seccomp_profile_key(const struct oci_seccomp *profile,
                                char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    const struct scmp_version *version = seccomp_version();
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct sha256_ctx hash;

    sha256_init(&hash);
    hash_string(&hash, SECCOMP_CACHE_FORMAT);
    hash_u64(&hash, version->major);
    hash_u64(&hash, version->minor);
    hash_u64(&hash, version->micro);
    hash_u64(&hash, seccomp_api_get());
    hash_u64(&hash, seccomp_arch_native());

    hash_u64(&hash, profile->default_action);
    hash_strings(&hash, profile->architectures);
    hash_u64(&hash, profile->flag_log);
    hash_u64(&hash, profile->flag_spec_allow);
    hash_u64(&hash, profile->flag_wait_kill_recv);
    hash_string(&hash, profile->listener_path);
    hash_string(&hash, profile->listener_metadata);
    hash_u64(&hash, profile->rule_count);
    for (size_t i = 0; i < profile->rule_count; i++) {
        const struct oci_seccomp_rule *rule = &profile->rules[i];
        hash_strings(&hash, rule->names);
        /* What the names mean to this libseccomp: a distribution's update
         * of its syscall table keeps the version number. */
        for (size_t n = 0; rule->names != NULL && rule->names[n] != NULL; n++)
            hash_u64(&hash, (uint64_t)(int64_t)seccomp_syscall_resolve_name(rule->names[n]));
        hash_u64(&hash, rule->action);
        hash_u64(&hash, rule->argument_count);
        for (size_t a = 0; a < rule->argument_count; a++) {
            hash_u64(&hash, rule->arguments[a].index);
            hash_u64(&hash, rule->arguments[a].value);
            hash_u64(&hash, rule->arguments[a].value_two);
            hash_u64(&hash, (uint64_t)(int64_t)rule->arguments[a].op);
        }
    }
    sha256_digest(&hash, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* 1 with *instructions filled when path holds a plausible program; 0 when
 * it is missing or not one (then it is compiled again and replaced). */
static int seccomp_cache_read(const char *path, struct sock_filter **instructions,
                              unsigned short *length)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    _cleanup_free_ struct sock_filter *program = NULL;
    struct stat status;

    if (fd < 0 || fstat(fd, &status) < 0 || !S_ISREG(status.st_mode))
        return 0;
    size_t size = (size_t)status.st_size;
    size_t count = size / sizeof *program;
    if (size == 0 || size % sizeof *program != 0 || count > BPF_MAXINSNS)
        return 0;
    program = malloc(size);
    if (program == NULL)
        return 0;
    for (size_t done = 0; done < size;) {
        ssize_t n = read(fd, (char *)program + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        done += (size_t)n;
    }
    /* A program cut short at an instruction boundary would end without a
     * return; the kernel would refuse it only at load time. */
    if (BPF_CLASS(program[count - 1].code) != BPF_RET)
        return 0;
    *instructions = steal_pointer(&program);
    *length = (unsigned short)count;
    return 1;
}

/* mkdir -p with mode 0700 for what it creates. */
static int seccomp_cache_make_directory(const char *directory, struct keel_error *err)
{
    _cleanup_free_ char *path = strdup(directory);

    if (path == NULL)
        return keel_error_set(err, ENOMEM, "create %s", directory);
    for (char *slash = path + 1;; slash++) {
        bool last = *slash == '\0';
        if (*slash != '/' && !last)
            continue;
        *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return keel_error_set(err, errno, "create %s", path);
        if (last)
            return 0;
        *slash = '/';
    }
}

/* Written whole under a temporary name, synced, then renamed: a reader
 * sees the old file, no file, or the whole new one. Not file_write_atomic:
 * two runtimes may compile the same profile at once, so each writes a
 * temporary of its own (mkostemp), and the last rename wins. */
static int seccomp_cache_write(const char *directory, const char *path,
                               const struct sock_filter *instructions, unsigned short length,
                               struct keel_error *err)
{
    _cleanup_free_ char *temporary = NULL;
    _cleanup_close_ int fd = -1;
    size_t size = (size_t)length * sizeof *instructions;

    if (seccomp_cache_make_directory(directory, err) < 0)
        return -1;
    if (asprintf(&temporary, "%s.XXXXXX", path) < 0) {
        temporary = NULL;
        return keel_error_set(err, ENOMEM, "write %s", path);
    }
    fd = mkostemp(temporary, O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "create %s", temporary);
    if (file_write_all(fd, instructions, size) < 0 || fsync(fd) < 0 ||
        rename(temporary, path) < 0) {
        keel_error_set(err, errno, "write %s", path);
        unlink(temporary);
        return -1;
    }
    return 0;
}

int seccomp_program_compile(const struct oci_seccomp *profile, const char *cache_directory,
                            struct seccomp_program *program, struct keel_error *err)
{
    _cleanup_free_ char *path = NULL;
    struct sock_filter *instructions = NULL;
    unsigned short length = 0;

    *program = (struct seccomp_program){0};
    if (cache_directory != NULL) {
        char key[2 * SHA256_DIGEST_SIZE + 1];
        seccomp_profile_key(profile, key);
        if (asprintf(&path, "%s/%s.bpf", cache_directory, key) < 0) {
            path = NULL;
            return keel_error_set(err, ENOMEM, "seccomp cache path");
        }
    }

    if (path == NULL || seccomp_cache_read(path, &instructions, &length) == 0) {
        if (seccomp_compile_uncached(profile, &instructions, &length, err) < 0)
            return -1;
        if (path != NULL) {
            /* The cache only saves time: a container must not fail to
             * start because, say, the cache's disk is full. */
            struct keel_error ignored;
            seccomp_cache_write(cache_directory, path, instructions, length, &ignored);
        }
    }

    program->instructions = instructions;
    program->length = length;
    program->filter_flags = seccomp_profile_filter_flags(profile);
    program->wants_listener = seccomp_profile_wants_listener(profile);
    return 0;
}

int seccomp_program_load(const struct seccomp_program *program, int *listener_fd,
                         struct keel_error *err)
{
    struct sock_fprog fprog = {.len = program->length, .filter = program->instructions};
    unsigned long flags = program->filter_flags;

    if (listener_fd != NULL)
        *listener_fd = -1;
    if (program->wants_listener) {
        /* Without a listener, every SCMP_ACT_NOTIFY syscall would fail. */
        if (listener_fd == NULL)
            return keel_error_invalid(err, "load seccomp filter: its SCMP_ACT_NOTIFY rules need a "
                                           "listener, and none was asked for");
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (rc < 0)
        return keel_error_set(err, errno, "load seccomp filter");
    if (program->wants_listener)
        *listener_fd = (int)rc; /* the kernel opens it O_CLOEXEC */
    return 0;
}

void seccomp_program_free(struct seccomp_program *program)
{
    free(program->instructions);
    *program = (struct seccomp_program){0};
}
