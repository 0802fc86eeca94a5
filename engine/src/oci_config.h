/* oci_config.h — an OCI runtime-spec 1.1 config.json (Linux) as C structs, and its parser. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* The five capability sets of process.capabilities, as bitmasks over
 * capability numbers (bit N = capability N, as in /proc/PID/status). */
enum oci_capability_set {
    OCI_CAPS_BOUNDING,
    OCI_CAPS_EFFECTIVE,
    OCI_CAPS_INHERITABLE,
    OCI_CAPS_PERMITTED,
    OCI_CAPS_AMBIENT,
    OCI_CAPS_SET_COUNT,
};

struct oci_rlimit {
    int resource; /* RLIMIT_NOFILE, ... (from "RLIMIT_NOFILE") */
    uint64_t soft;
    uint64_t hard;
};

struct oci_process {
    bool terminal;
    unsigned console_height, console_width; /* 0 when not given */
    uid_t uid;
    gid_t gid;
    bool has_umask;
    mode_t umask;
    gid_t *additional_gids;
    size_t additional_gid_count;
    char **args;                               /* NULL-terminated, at least one element */
    char **env;                                /* NULL-terminated, may be empty: "KEY=VALUE" */
    char *cwd;                                 /* absolute */
    bool has_capabilities;                     /* false: no "capabilities" object */
    uint64_t capabilities[OCI_CAPS_SET_COUNT]; /* an absent set is 0 */
    struct oci_rlimit *rlimits;
    size_t rlimit_count;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *apparmor_profile; /* kept, not applied (no AppArmor in Keel's kernel) */
    char *selinux_label;    /* kept, not applied */
};

/* A mount's "options", split into what mount(2) and mount_setattr(2) take. */
struct oci_mount {
    char *destination;         /* absolute, inside the container */
    char *type;                /* NULL for a bind mount without a type */
    char *source;              /* NULL when absent */
    unsigned long flags;       /* MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_*TIME, ... */
    unsigned long clear_flags; /* flags an option turned off explicitly ("rw", "suid", ...) */
    unsigned long propagation; /* MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE, | MS_REC; 0 none */
    bool bind;                 /* "bind" or "rbind", or type "bind" */
    bool recursive;            /* "rbind" */
    bool recursive_readonly;   /* "rro": MOUNT_ATTR_RDONLY with AT_RECURSIVE */
    char *data;                /* the options mount(2) does not know, comma-joined; NULL if none */
};

/* Namespace types are CLONE_NEW* flags. */
struct oci_namespace {
    int type;   /* CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS,
                   CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWTIME */
    char *path; /* NULL: create a new one; else join the one at path */
};

struct oci_id_mapping {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

/* linux.devices: a node to create in the container's /dev. */
struct oci_device {
    char *path; /* absolute, inside the container */
    char type;  /* 'c', 'b', 'u' (unbuffered char, as 'c'), 'p' (fifo) */
    int64_t major, minor;
    bool has_file_mode;
    mode_t file_mode; /* permission bits only */
    bool has_uid, has_gid;
    uid_t uid;
    gid_t gid;
};

/* linux.resources.devices: one rule of the device allowlist. Later rules
 * override earlier ones. */
struct oci_device_rule {
    bool allow;
    char type;       /* 'a' (all), 'c', 'b' */
    int64_t major;   /* -1: any */
    int64_t minor;   /* -1: any */
    unsigned access; /* OCI_DEVICE_ACCESS_* bits; 0 means all three */
};
#define OCI_DEVICE_ACCESS_READ 1u
#define OCI_DEVICE_ACCESS_WRITE 2u
#define OCI_DEVICE_ACCESS_MKNOD 4u

struct oci_key_value {
    char *key;
    char *value;
};

/* linux.resources, cgroup v2 semantics. Each has_* says whether the field was given. */
struct oci_resources {
    bool has_memory_limit, has_memory_reservation, has_memory_swap;
    int64_t memory_limit;       /* bytes; -1 unlimited */
    int64_t memory_reservation; /* bytes; -1 unlimited */
    int64_t memory_swap;        /* memory+swap bytes, as in the spec; -1 unlimited */
    bool has_cpu_shares, has_cpu_quota, has_cpu_period;
    uint64_t cpu_shares; /* v1 shares (2..262144), converted to cpu.weight */
    int64_t cpu_quota;   /* microseconds; -1 unlimited */
    uint64_t cpu_period; /* microseconds */
    char *cpu_cpus;      /* cpuset.cpus, NULL if absent */
    char *cpu_mems;      /* cpuset.mems, NULL if absent */
    bool has_pids_limit;
    int64_t pids_limit; /* -1 or 0: unlimited (spec: <= 0 unlimited) */
    bool has_blockio_weight;
    uint16_t blockio_weight; /* 10..1000, converted to io.weight */
    struct oci_device_rule *device_rules;
    size_t device_rule_count;
    struct oci_key_value *unified; /* linux.resources.unified: file → value */
    size_t unified_count;
};

/* A seccomp action is SCMP_ACT_* as libseccomp encodes it (seccomp.h). */
struct oci_seccomp_argument {
    unsigned index; /* 0..5 */
    uint64_t value;
    uint64_t value_two;
    int op; /* enum scmp_compare: SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ */
};

struct oci_seccomp_rule {
    char **names; /* NULL-terminated, at least one */
    uint32_t action;
    struct oci_seccomp_argument *arguments;
    size_t argument_count;
};

struct oci_seccomp {
    uint32_t default_action; /* already carries defaultErrnoRet for SCMP_ACT_ERRNO */
    char **
        architectures; /* NULL-terminated libseccomp names ("x86_64", "x86", "x32"); may be empty */
    bool flag_log, flag_spec_allow, flag_wait_kill_recv;
    char *listener_path; /* SCMP_ACT_NOTIFY's unix socket, NULL if absent */
    char *listener_metadata;
    struct oci_seccomp_rule *rules;
    size_t rule_count;
};

struct oci_hook {
    char *path;  /* absolute, in the runtime's mount namespace */
    char **args; /* NULL-terminated, may be empty (then argv is {path}) */
    char **env;  /* NULL-terminated, may be empty */
    int timeout; /* seconds; 0 none */
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART, /* deprecated, run with createRuntime */
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_KIND_COUNT,
};

struct oci_hook_list {
    struct oci_hook *hooks;
    size_t count;
};

struct oci_config {
    char *oci_version;
    bool has_process;
    struct oci_process process;
    char *root_path; /* as written (relative to the bundle or absolute) */
    bool root_readonly;
    char *hostname;   /* NULL when absent */
    char *domainname; /* NULL when absent */
    struct oci_mount *mounts;
    size_t mount_count;
    struct oci_hook_list hooks[OCI_HOOK_KIND_COUNT];
    struct oci_key_value *annotations;
    size_t annotation_count;

    /* linux */
    struct oci_namespace *namespaces;
    size_t namespace_count;
    struct oci_id_mapping *uid_mappings;
    size_t uid_mapping_count;
    struct oci_id_mapping *gid_mappings;
    size_t gid_mapping_count;
    struct oci_device *devices;
    size_t device_count;
    char *cgroups_path; /* NULL when absent */
    bool has_resources;
    struct oci_resources resources;
    struct oci_seccomp *seccomp; /* NULL: no filter */
    char **masked_paths;         /* NULL-terminated, may be empty */
    char **readonly_paths;       /* NULL-terminated, may be empty */
    struct oci_key_value *sysctls;
    size_t sysctl_count;
    unsigned long
        rootfs_propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE | MS_REC; 0 absent */
    bool has_personality;
    unsigned long personality; /* PER_LINUX or PER_LINUX32 */
    char *mount_label;         /* kept, not applied */
};

/* Parse config.json text. Unknown fields are ignored; a field of the wrong
 * type or value fails with its JSON path named:
 *   "linux.namespaces[2].type: unknown namespace type \"foo\"". */
int oci_config_parse(const char *text, size_t length, struct oci_config **config,
                     struct keel_error *err);

/* Read the config.json at path, refusing more than 4 MiB ("read PATH: ..."). */
int oci_config_read_text(const char *path, char **text, size_t *length, struct keel_error *err);

/* Read and parse the config.json at path (BUNDLE/config.json). */
int oci_config_load(const char *path, struct oci_config **config, struct keel_error *err);

/* Parse a process object alone (keel oci exec --process FILE). */
int oci_process_parse(const char *text, size_t length, struct oci_process *process,
                      struct keel_error *err);

void oci_process_free(struct oci_process *process);
void oci_config_free(struct oci_config *config);

/* The namespace entry of this type, or NULL when the config has none. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *config, int type);

/* Capability name ("CAP_SYS_ADMIN") to number, or -1. Shared by the parser and the CLI. */
int oci_capability_from_name(const char *name);
/* Number to name ("CAP_SYS_ADMIN"), or NULL past the last known capability. */
const char *oci_capability_name(int number);
