/* caps.c — a container process's identity: bounding set, groups, ids, capabilities, no_new_privs.
 */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Names come from libcap rather than oci_capability_name() so this module
 * stands on its own; libcap answers "cap_net_raw", the spec says
 * "CAP_NET_RAW". A capability libcap does not know is named by number. */
struct caps_name {
    char text[48];
};

static struct caps_name caps_name_of(int capability)
{
    struct caps_name name;
    char *lower = cap_to_name((cap_value_t)capability);

    if (lower == NULL) {
        snprintf(name.text, sizeof name.text, "capability %d", capability);
        return name;
    }
    size_t i = 0;
    for (; lower[i] != '\0' && i + 1 < sizeof name.text; i++)
        name.text[i] = (char)toupper((unsigned char)lower[i]);
    name.text[i] = '\0';
    cap_free(lower);
    return name;
}

static bool caps_has(uint64_t mask, int capability)
{
    return capability < 64 && (mask >> capability & 1) != 0;
}

/* The lowest capability in mask, or -1 when it is empty. */
static int caps_first(uint64_t mask)
{
    return mask == 0 ? -1 : __builtin_ctzll(mask);
}

/* Refuse what the kernel would refuse later with a bare EPERM, naming the
 * capability, before anything about the process has changed. */
static int caps_check_sets(const uint64_t sets[OCI_CAPS_SET_COUNT], struct keel_error *err)
{
    uint64_t permitted = sets[OCI_CAPS_PERMITTED];
    int capability;

    capability = caps_first(sets[OCI_CAPS_EFFECTIVE] & ~permitted);
    if (capability >= 0)
        return keel_error_invalid(err, "effective capability %s is not in the permitted set",
                                  caps_name_of(capability).text);
    return 0;
}

/* cap_max_bits() asks the kernel itself (PR_CAPBSET_READ), so this works
 * before the container has a /proc to read cap_last_cap from. */
static int caps_drop_bounding(uint64_t bounding, struct keel_error *err)
{
    int count = (int)cap_max_bits();

    for (int capability = 0; capability < count; capability++) {
        if (caps_has(bounding, capability))
            continue;
        /* Dropping needs CAP_SETPCAP even for a capability already gone, so
         * only drop what is there. */
        if (cap_get_bound((cap_value_t)capability) <= 0)
            continue;
        if (cap_drop_bound((cap_value_t)capability) < 0) {
            if (errno == EINVAL) /* a capability this kernel does not have */
                continue;
            return keel_error_set(err, errno, "drop capability %s from the bounding set",
                                  caps_name_of(capability).text);
        }
    }
    return 0;
}

/* The runtime is single-threaded here, and glibc's set*id calls change
 * every thread's credentials anyway, so the libc wrappers are right. */
static int caps_set_identity(const struct oci_process *process, struct keel_error *err)
{
    if (setgroups(process->additional_gid_count,
                  process->additional_gid_count == 0 ? NULL : process->additional_gids) < 0)
        return keel_error_set(err, errno, "set %zu supplementary groups",
                              process->additional_gid_count);
    if (setresgid(process->gid, process->gid, process->gid) < 0)
        return keel_error_set(err, errno, "set gid %u", (unsigned)process->gid);
    if (setresuid(process->uid, process->uid, process->uid) < 0)
        return keel_error_set(err, errno, "set uid %u", (unsigned)process->uid);
    return 0;
}

/* After capset refused, find a capability to blame: one asked for in the
 * permitted set that this process does not hold, or an inheritable one in
 * neither the bounding set nor the current inheritable set. *set names the
 * set it was asked for in. */
static int caps_blame(uint64_t permitted, uint64_t inheritable, const char **set)
{
    cap_t current = cap_get_proc();
    int count = (int)cap_max_bits();
    int blamed = -1;

    for (int capability = 0; current != NULL && capability < count && capability < 64;
         capability++) {
        cap_flag_value_t held = CAP_CLEAR, inherited = CAP_CLEAR;
        cap_get_flag(current, (cap_value_t)capability, CAP_PERMITTED, &held);
        cap_get_flag(current, (cap_value_t)capability, CAP_INHERITABLE, &inherited);
        if (caps_has(permitted, capability) && held != CAP_SET) {
            *set = "permitted";
            blamed = capability;
            break;
        }
        if (caps_has(inheritable, capability) && inherited != CAP_SET &&
            cap_get_bound((cap_value_t)capability) <= 0) {
            *set = "inheritable";
            blamed = capability;
            break;
        }
    }
    if (current != NULL)
        cap_free(current);
    return blamed;
}

/* A raw capset(2) rather than cap_set_proc(): the config's sets already are
 * 64-bit masks in the kernel's own layout (bit N = capability N), which
 * version 3 takes as two 32-bit words, where libcap would need one
 * cap_set_flag() per bit. */
static int caps_set_process_sets(const uint64_t sets[OCI_CAPS_SET_COUNT], struct keel_error *err)
{
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; word++) {
        data[word].effective = (uint32_t)(sets[OCI_CAPS_EFFECTIVE] >> (32 * word));
        data[word].permitted = (uint32_t)(sets[OCI_CAPS_PERMITTED] >> (32 * word));
        data[word].inheritable = (uint32_t)(sets[OCI_CAPS_INHERITABLE] >> (32 * word));
    }
    if (capset(&header, data) < 0) {
        int saved = errno;
        const char *set = NULL;
        int blamed = caps_blame(sets[OCI_CAPS_PERMITTED], sets[OCI_CAPS_INHERITABLE], &set);
        if (blamed >= 0)
            return keel_error_set(err, saved, "set %s capability %s", set,
                                  caps_name_of(blamed).text);
        return keel_error_set(err, saved,
                              "set capability sets (effective %#llx, permitted %#llx, "
                              "inheritable %#llx)",
                              (unsigned long long)sets[OCI_CAPS_EFFECTIVE],
                              (unsigned long long)sets[OCI_CAPS_PERMITTED],
                              (unsigned long long)sets[OCI_CAPS_INHERITABLE]);
    }
    return 0;
}

static int caps_raise_ambient(uint64_t ambient, struct keel_error *err)
{
    /* Whatever the runtime inherited must not leak into the container. */
    if (cap_reset_ambient() < 0)
        return keel_error_set(err, errno, "clear the ambient capability set");
    for (int capability = 0; capability < 64; capability++) {
        if (!caps_has(ambient, capability))
            continue;
        if (cap_set_ambient((cap_value_t)capability, CAP_SET) < 0)
            return keel_error_set(err, errno, "raise ambient capability %s",
                                  caps_name_of(capability).text);
    }
    return 0;
}

int caps_apply_process(const struct oci_process *process, struct keel_error *err)
{
    uint64_t sets[OCI_CAPS_SET_COUNT] = {0}; /* no "capabilities": every set empty */

    if (process->has_capabilities)
        for (int set = 0; set < OCI_CAPS_SET_COUNT; set++)
            sets[set] = process->capabilities[set];
    if (caps_check_sets(sets, err) < 0)
        return -1;
    /* The kernel raises an ambient capability only when it is permitted and
     * inheritable. `runc spec` lists ambient ones without the inheritable
     * set; like runc, leave those out rather than fail (stricter, never
     * weaker, than what was asked). */
    sets[OCI_CAPS_AMBIENT] &= sets[OCI_CAPS_PERMITTED] & sets[OCI_CAPS_INHERITABLE];

    if (caps_drop_bounding(sets[OCI_CAPS_BOUNDING], err) < 0)
        return -1;
    /* Without KEEPCAPS, leaving uid 0 would empty the permitted set before
     * we get to set it. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return keel_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 1)");
    if (caps_set_identity(process, err) < 0)
        return -1;
    if (caps_set_process_sets(sets, err) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return keel_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
    return caps_raise_ambient(sets[OCI_CAPS_AMBIENT], err);
}

int caps_apply_no_new_privileges(const struct oci_process *process, struct keel_error *err)
{
    if (!process->no_new_privileges)
        return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return keel_error_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
    return 0;
}
