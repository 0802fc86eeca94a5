/* test_oci_config.c — unit tests of oci_config*.c: each field, each class of error, the tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci_config.h"

/* From libseccomp (not included: with -Isrc, <seccomp.h> is Keel's own). */
uint32_t seccomp_arch_resolve_name(const char *arch_name);
enum { TEST_SCMP_CMP_EQ = 4, TEST_SCMP_CMP_MASKED_EQ = 7 }; /* enum scmp_compare */

/* Test documents are written with ' for " so they stay readable. */
static char *json_text(const char *quoted)
{
    char *text = strdup(quoted);
    assert_non_null(text);
    for (char *c = text; *c != '\0'; c++) {
        if (*c == '\'')
            *c = '"';
    }
    return text;
}

static struct oci_config *parse_ok(const char *quoted)
{
    struct keel_error err = {0};
    struct oci_config *config = NULL;
    char *text = json_text(quoted);
    int result = oci_config_parse(text, strlen(text), &config, &err);

    if (result != 0)
        print_message("unexpected error: %s\n", err.message);
    free(text);
    assert_int_equal(result, 0);
    assert_non_null(config);
    return config;
}

/* The message of a parse that must fail. */
static void parse_error(const char *quoted, struct keel_error *err)
{
    struct oci_config *config = (struct oci_config *)0x1;
    char *text = json_text(quoted);
    int result = oci_config_parse(text, strlen(text), &config, err);

    free(text);
    if (result == 0)
        print_message("parsed, but should not have: %s\n", quoted);
    assert_int_equal(result, -1);
    /* *config is left alone on failure. */
    assert_ptr_equal(config, (struct oci_config *)0x1);
}

#define BASE "'ociVersion':'1.1.0','root':{'path':'rootfs'}"
#define PROCESS "'args':['sh'],'cwd':'/'"

/* Like `runc spec`, plus the parts of Docker's configs runc spec leaves out. */
static const char full_config[] =
    "{'ociVersion':'1.1.0',"
    " 'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
    "  'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,27,4294967295]},"
    "  'args':['sh','-c','echo hi'],"
    "  'env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','TERM=xterm',"
    "         'EMPTY='],"
    "  'cwd':'/home/user',"
    "  'capabilities':{'bounding':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],"
    "    'effective':['CAP_AUDIT_WRITE','CAP_KILL'],'inheritable':[],"
    "    'permitted':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE','CAP_SYS_ADMIN'],"
    "    'ambient':['CAP_KILL']},"
    "  'rlimits':[{'type':'RLIMIT_NOFILE','hard':1048576,'soft':1024},"
    "             {'type':'RLIMIT_CORE','hard':18446744073709551615,'soft':0}],"
    "  'noNewPrivileges':true,'oomScoreAdj':-500,"
    "  'apparmorProfile':'docker-default','selinuxLabel':'system_u:system_r:container_t:s0'},"
    " 'root':{'path':'rootfs','readonly':true},"
    " 'hostname':'runc','domainname':'example.org',"
    " 'mounts':["
    "  {'destination':'/proc','type':'proc','source':'proc'},"
    "  {'destination':'/dev','type':'tmpfs','source':'tmpfs',"
    "   'options':['nosuid','strictatime','mode=755','size=65536k']},"
    "  {'destination':'/dev/pts','type':'devpts','source':'devpts',"
    "   'options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620','gid=5']},"
    "  {'destination':'/sys','type':'sysfs','source':'sysfs',"
    "   'options':['nosuid','noexec','nodev','ro']},"
    "  {'destination':'/data','source':'/srv/data','options':['rbind','rprivate','rro']},"
    "  {'destination':'/etc/hosts','type':'bind','source':'/var/lib/hosts','options':['rw']}],"
    " 'hooks':{"
    "  'prestart':[{'path':'/usr/bin/fix-mounts','args':['fix-mounts','arg1'],"
    "               'env':['KEY=value'],'timeout':5}],"
    "  'createRuntime':[{'path':'/usr/bin/netns'}],"
    "  'poststop':[{'path':'/usr/sbin/cleanup.sh','args':['cleanup.sh','-f']}]},"
    " 'annotations':{'com.example.key1':'value1','com.example.key2':'value2'},"
    " 'linux':{"
    "  'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/x'},{'type':'ipc'},"
    "    {'type':'uts'},{'type':'mount'},{'type':'cgroup'},{'type':'user'},{'type':'time',"
    "    'path':''}],"
    "  'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "  'gidMappings':[{'containerID':0,'hostID':200000,'size':65536},"
    "                 {'containerID':65536,'hostID':4294967294,'size':1}],"
    "  'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,"
    "              'uid':0,'gid':0},"
    "             {'path':'/dev/sda','type':'b','major':8,'minor':0,'fileMode':25008},"
    "             {'path':'/dev/fifo','type':'p'}],"
    "  'cgroupsPath':'/myRuntime/myContainer',"
    "  'resources':{"
    "   'devices':[{'allow':false,'access':'rwm'},"
    "              {'allow':true,'type':'c','major':1,'minor':3,'access':'rw'},"
    "              {'allow':true,'type':'b','major':8,'access':'m'},"
    "              {'allow':true,'type':'c','minor':5}],"
    "   'memory':{'limit':536870912,'reservation':-1,'swap':1073741824,'kernel':-1,"
    "             'swappiness':0},"
    "   'cpu':{'shares':1024,'quota':50000,'period':100000,'cpus':'0-1','mems':'0'},"
    "   'pids':{'limit':32771},"
    "   'blockIO':{'weight':500},"
    "   'unified':{'memory.high':'400M','io.max':'8:0 rbps=1048576'}},"
    "  'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
    "   'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
    "   'flags':['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
    "   'listenerPath':'/run/seccomp.sock','listenerMetadata':'meta',"
    "   'syscalls':["
    "    {'names':['accept','accept4','access'],'action':'SCMP_ACT_ALLOW'},"
    "    {'names':['personality'],'action':'SCMP_ACT_ALLOW',"
    "     'args':[{'index':0,'value':131080,'op':'SCMP_CMP_EQ'}]},"
    "    {'names':['clone'],'action':'SCMP_ACT_ALLOW',"
    "     'args':[{'index':0,'value':2114060288,'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]},"
    "    {'names':['clone3'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
    "    {'names':['ptrace'],'action':'SCMP_ACT_ERRNO'},"
    "    {'names':['kill'],'action':'SCMP_ACT_NOTIFY',"
    "     'args':[{'index':5,'value':18446744073709551615,'valueTwo':9223372036854775808,"
    "              'op':'SCMP_CMP_NE'}]}]},"
    "  'maskedPaths':['/proc/acpi','/proc/kcore'],"
    "  'readonlyPaths':['/proc/bus','/proc/sys'],"
    "  'sysctl':{'net.ipv4.ip_forward':'1','kernel.shmmax':'4294967296'},"
    "  'rootfsPropagation':'rslave',"
    "  'personality':{'domain':'LINUX32','flags':[]},"
    "  'mountLabel':'system_u:object_r:container_file_t:s0'}}";

static void test_full_config_process(void **state)
{
    struct oci_config *config = parse_ok(full_config);
    const struct oci_process *process = &config->process;
    (void)state;

    assert_string_equal(config->oci_version, "1.1.0");
    assert_true(config->has_process);
    assert_true(process->terminal);
    assert_int_equal(process->console_height, 25);
    assert_int_equal(process->console_width, 80);
    assert_int_equal(process->uid, 1000);
    assert_int_equal(process->gid, 1001);
    assert_true(process->has_umask);
    assert_int_equal(process->umask, 022);
    assert_int_equal(process->additional_gid_count, 3);
    assert_int_equal(process->additional_gids[0], 5);
    assert_int_equal(process->additional_gids[1], 27);
    assert_int_equal(process->additional_gids[2], 4294967295u);
    assert_string_equal(process->args[0], "sh");
    assert_string_equal(process->args[2], "echo hi");
    assert_null(process->args[3]);
    assert_string_equal(process->env[1], "TERM=xterm");
    assert_string_equal(process->env[2], "EMPTY=");
    assert_null(process->env[3]);
    assert_string_equal(process->cwd, "/home/user");

    assert_true(process->has_capabilities);
    uint64_t three =
        (1ull << CAP_AUDIT_WRITE) | (1ull << CAP_KILL) | (1ull << CAP_NET_BIND_SERVICE);
    assert_int_equal(process->capabilities[OCI_CAPS_BOUNDING], three);
    assert_int_equal(process->capabilities[OCI_CAPS_EFFECTIVE],
                     (1ull << CAP_AUDIT_WRITE) | (1ull << CAP_KILL));
    assert_int_equal(process->capabilities[OCI_CAPS_INHERITABLE], 0);
    assert_int_equal(process->capabilities[OCI_CAPS_PERMITTED], three | (1ull << CAP_SYS_ADMIN));
    assert_int_equal(process->capabilities[OCI_CAPS_AMBIENT], 1ull << CAP_KILL);

    assert_int_equal(process->rlimit_count, 2);
    assert_int_equal(process->rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(process->rlimits[0].soft, 1024);
    assert_int_equal(process->rlimits[0].hard, 1048576);
    assert_int_equal(process->rlimits[1].resource, RLIMIT_CORE);
    assert_int_equal(process->rlimits[1].soft, 0);
    assert_true(process->rlimits[1].hard == UINT64_MAX);

    assert_true(process->no_new_privileges);
    assert_true(process->has_oom_score_adj);
    assert_int_equal(process->oom_score_adj, -500);
    assert_string_equal(process->apparmor_profile, "docker-default");
    assert_string_equal(process->selinux_label, "system_u:system_r:container_t:s0");
    oci_config_free(config);
}

static void test_full_config_root_mounts_hooks(void **state)
{
    struct oci_config *config = parse_ok(full_config);
    const struct oci_mount *mounts = config->mounts;
    (void)state;

    assert_string_equal(config->root_path, "rootfs");
    assert_true(config->root_readonly);
    assert_string_equal(config->hostname, "runc");
    assert_string_equal(config->domainname, "example.org");

    assert_int_equal(config->mount_count, 6);
    assert_string_equal(mounts[0].destination, "/proc");
    assert_string_equal(mounts[0].type, "proc");
    assert_string_equal(mounts[0].source, "proc");
    assert_int_equal(mounts[0].flags, 0);
    assert_null(mounts[0].data);
    assert_false(mounts[0].bind);

    assert_int_equal(mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
    assert_string_equal(mounts[1].data, "mode=755,size=65536k");
    assert_int_equal(mounts[2].flags, MS_NOSUID | MS_NOEXEC);
    assert_string_equal(mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    assert_int_equal(mounts[3].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
    assert_null(mounts[3].data);

    assert_null(mounts[4].type);
    assert_string_equal(mounts[4].source, "/srv/data");
    assert_true(mounts[4].bind);
    assert_true(mounts[4].recursive);
    assert_true(mounts[4].recursive_readonly);
    assert_int_equal(mounts[4].propagation, MS_PRIVATE | MS_REC);
    assert_int_equal(mounts[4].flags, 0);

    assert_string_equal(mounts[5].type, "bind");
    assert_true(mounts[5].bind);
    assert_false(mounts[5].recursive);
    assert_int_equal(mounts[5].clear_flags, MS_RDONLY);

    const struct oci_hook_list *prestart = &config->hooks[OCI_HOOK_PRESTART];
    assert_int_equal(prestart->count, 1);
    assert_string_equal(prestart->hooks[0].path, "/usr/bin/fix-mounts");
    assert_string_equal(prestart->hooks[0].args[1], "arg1");
    assert_null(prestart->hooks[0].args[2]);
    assert_string_equal(prestart->hooks[0].env[0], "KEY=value");
    assert_int_equal(prestart->hooks[0].timeout, 5);
    const struct oci_hook *netns = &config->hooks[OCI_HOOK_CREATE_RUNTIME].hooks[0];
    assert_string_equal(netns->path, "/usr/bin/netns");
    assert_non_null(netns->args);
    assert_null(netns->args[0]);
    assert_non_null(netns->env);
    assert_null(netns->env[0]);
    assert_int_equal(netns->timeout, 0);
    assert_int_equal(config->hooks[OCI_HOOK_CREATE_CONTAINER].count, 0);
    assert_int_equal(config->hooks[OCI_HOOK_START_CONTAINER].count, 0);
    assert_int_equal(config->hooks[OCI_HOOK_POSTSTART].count, 0);
    assert_int_equal(config->hooks[OCI_HOOK_POSTSTOP].count, 1);
    assert_string_equal(config->hooks[OCI_HOOK_POSTSTOP].hooks[0].args[1], "-f");

    assert_int_equal(config->annotation_count, 2);
    assert_string_equal(config->annotations[0].key, "com.example.key1");
    assert_string_equal(config->annotations[0].value, "value1");
    assert_string_equal(config->annotations[1].key, "com.example.key2");
    oci_config_free(config);
}

static void test_full_config_linux(void **state)
{
    struct oci_config *config = parse_ok(full_config);
    (void)state;

    assert_int_equal(config->namespace_count, 8);
    assert_int_equal(config->namespaces[0].type, CLONE_NEWPID);
    assert_null(config->namespaces[0].path);
    assert_int_equal(config->namespaces[1].type, CLONE_NEWNET);
    assert_string_equal(config->namespaces[1].path, "/var/run/netns/x");
    assert_int_equal(config->namespaces[4].type, CLONE_NEWNS);
    assert_int_equal(config->namespaces[6].type, CLONE_NEWUSER);
    assert_int_equal(config->namespaces[7].type, CLONE_NEWTIME);
    assert_null(config->namespaces[7].path); /* "" is none, as in runc */
    assert_ptr_equal(oci_config_namespace(config, CLONE_NEWCGROUP), &config->namespaces[5]);
    assert_ptr_equal(oci_config_namespace(config, CLONE_NEWIPC), &config->namespaces[2]);
    assert_ptr_equal(oci_config_namespace(config, CLONE_NEWUTS), &config->namespaces[3]);

    assert_int_equal(config->uid_mapping_count, 1);
    assert_int_equal(config->uid_mappings[0].container_id, 0);
    assert_int_equal(config->uid_mappings[0].host_id, 100000);
    assert_int_equal(config->uid_mappings[0].size, 65536);
    assert_int_equal(config->gid_mapping_count, 2);
    assert_int_equal(config->gid_mappings[1].container_id, 65536);
    assert_int_equal(config->gid_mappings[1].host_id, 4294967294u);
    assert_int_equal(config->gid_mappings[1].size, 1);

    assert_int_equal(config->device_count, 3);
    assert_string_equal(config->devices[0].path, "/dev/fuse");
    assert_int_equal(config->devices[0].type, 'c');
    assert_int_equal(config->devices[0].major, 10);
    assert_int_equal(config->devices[0].minor, 229);
    assert_true(config->devices[0].has_file_mode);
    assert_int_equal(config->devices[0].file_mode, 0666);
    assert_true(config->devices[0].has_uid);
    assert_true(config->devices[0].has_gid);
    assert_int_equal(config->devices[1].type, 'b');
    assert_int_equal(config->devices[1].file_mode, 0660); /* 25008 is S_IFBLK | 0660 */
    assert_false(config->devices[1].has_uid);
    assert_int_equal(config->devices[2].type, 'p');
    assert_false(config->devices[2].has_file_mode);

    assert_string_equal(config->cgroups_path, "/myRuntime/myContainer");

    const struct oci_resources *resources = &config->resources;
    assert_true(config->has_resources);
    assert_int_equal(resources->device_rule_count, 4);
    assert_false(resources->device_rules[0].allow);
    assert_int_equal(resources->device_rules[0].type, 'a');
    assert_int_equal(resources->device_rules[0].major, -1);
    assert_int_equal(resources->device_rules[0].minor, -1);
    assert_int_equal(resources->device_rules[0].access,
                     OCI_DEVICE_ACCESS_READ | OCI_DEVICE_ACCESS_WRITE | OCI_DEVICE_ACCESS_MKNOD);
    assert_true(resources->device_rules[1].allow);
    assert_int_equal(resources->device_rules[1].type, 'c');
    assert_int_equal(resources->device_rules[1].major, 1);
    assert_int_equal(resources->device_rules[1].minor, 3);
    assert_int_equal(resources->device_rules[1].access,
                     OCI_DEVICE_ACCESS_READ | OCI_DEVICE_ACCESS_WRITE);
    assert_int_equal(resources->device_rules[2].minor, -1);
    assert_int_equal(resources->device_rules[2].access, OCI_DEVICE_ACCESS_MKNOD);
    assert_int_equal(resources->device_rules[3].major, -1);
    assert_int_equal(resources->device_rules[3].access, 0);

    assert_true(resources->has_memory_limit);
    assert_int_equal(resources->memory_limit, 536870912);
    assert_true(resources->has_memory_reservation);
    assert_int_equal(resources->memory_reservation, -1);
    assert_true(resources->has_memory_swap);
    assert_int_equal(resources->memory_swap, 1073741824);
    assert_true(resources->has_cpu_shares);
    assert_int_equal(resources->cpu_shares, 1024);
    assert_true(resources->has_cpu_quota);
    assert_int_equal(resources->cpu_quota, 50000);
    assert_true(resources->has_cpu_period);
    assert_int_equal(resources->cpu_period, 100000);
    assert_string_equal(resources->cpu_cpus, "0-1");
    assert_string_equal(resources->cpu_mems, "0");
    assert_true(resources->has_pids_limit);
    assert_int_equal(resources->pids_limit, 32771);
    assert_true(resources->has_blockio_weight);
    assert_int_equal(resources->blockio_weight, 500);
    assert_int_equal(resources->unified_count, 2);
    assert_string_equal(resources->unified[1].key, "io.max");
    assert_string_equal(resources->unified[1].value, "8:0 rbps=1048576");

    assert_string_equal(config->masked_paths[1], "/proc/kcore");
    assert_null(config->masked_paths[2]);
    assert_string_equal(config->readonly_paths[0], "/proc/bus");
    assert_int_equal(config->sysctl_count, 2);
    assert_string_equal(config->sysctls[0].key, "net.ipv4.ip_forward");
    assert_string_equal(config->sysctls[0].value, "1");
    assert_int_equal(config->rootfs_propagation, MS_SLAVE | MS_REC);
    assert_true(config->has_personality);
    assert_int_equal(config->personality, PER_LINUX32);
    assert_string_equal(config->mount_label, "system_u:object_r:container_file_t:s0");
    oci_config_free(config);
}

static void test_full_config_seccomp(void **state)
{
    struct oci_config *config = parse_ok(full_config);
    const struct oci_seccomp *seccomp = config->seccomp;
    (void)state;

    assert_non_null(seccomp);
    /* libseccomp's SCMP_ACT_* are the kernel's SECCOMP_RET_* values. */
    assert_int_equal(seccomp->default_action, SECCOMP_RET_ERRNO | 1);
    assert_string_equal(seccomp->architectures[0], "x86_64");
    assert_string_equal(seccomp->architectures[1], "x86");
    assert_string_equal(seccomp->architectures[2], "x32");
    assert_null(seccomp->architectures[3]);
    assert_false(seccomp->flag_log);
    assert_true(seccomp->flag_spec_allow);
    assert_false(seccomp->flag_wait_kill_recv);
    assert_string_equal(seccomp->listener_path, "/run/seccomp.sock");
    assert_string_equal(seccomp->listener_metadata, "meta");

    assert_int_equal(seccomp->rule_count, 6);
    assert_string_equal(seccomp->rules[0].names[2], "access");
    assert_null(seccomp->rules[0].names[3]);
    assert_int_equal(seccomp->rules[0].action, SECCOMP_RET_ALLOW);
    assert_int_equal(seccomp->rules[0].argument_count, 0);
    assert_int_equal(seccomp->rules[1].argument_count, 1);
    assert_int_equal(seccomp->rules[1].arguments[0].index, 0);
    assert_int_equal(seccomp->rules[1].arguments[0].value, 131080);
    assert_int_equal(seccomp->rules[1].arguments[0].op, TEST_SCMP_CMP_EQ);
    assert_int_equal(seccomp->rules[2].arguments[0].value, 2114060288);
    assert_int_equal(seccomp->rules[2].arguments[0].value_two, 0);
    assert_int_equal(seccomp->rules[2].arguments[0].op, TEST_SCMP_CMP_MASKED_EQ);
    assert_int_equal(seccomp->rules[3].action, SECCOMP_RET_ERRNO | 38);
    assert_int_equal(seccomp->rules[4].action, SECCOMP_RET_ERRNO | EPERM);
    assert_int_equal(seccomp->rules[5].action, SECCOMP_RET_USER_NOTIF);
    assert_int_equal(seccomp->rules[5].arguments[0].index, 5);
    assert_true(seccomp->rules[5].arguments[0].value == UINT64_MAX);
    assert_true(seccomp->rules[5].arguments[0].value_two == 9223372036854775808ull);
    oci_config_free(config);
}

static void test_minimal_config_has_empty_defaults(void **state)
{
    struct oci_config *config = parse_ok("{" BASE "}");
    (void)state;

    assert_false(config->has_process);
    assert_null(config->process.args);
    assert_string_equal(config->root_path, "rootfs");
    assert_false(config->root_readonly);
    assert_null(config->hostname);
    assert_null(config->domainname);
    assert_int_equal(config->mount_count, 0);
    for (int kind = 0; kind < OCI_HOOK_KIND_COUNT; kind++)
        assert_int_equal(config->hooks[kind].count, 0);
    assert_int_equal(config->annotation_count, 0);
    assert_int_equal(config->namespace_count, 0);
    assert_null(oci_config_namespace(config, CLONE_NEWPID));
    assert_null(config->cgroups_path);
    assert_false(config->has_resources);
    assert_null(config->seccomp);
    assert_non_null(config->masked_paths);
    assert_null(config->masked_paths[0]);
    assert_non_null(config->readonly_paths);
    assert_null(config->readonly_paths[0]);
    assert_int_equal(config->rootfs_propagation, 0);
    assert_false(config->has_personality);
    oci_config_free(config);

    config = parse_ok("{" BASE ",'process':{" PROCESS "},'linux':{}}");
    assert_true(config->has_process);
    assert_non_null(config->process.env);
    assert_null(config->process.env[0]);
    assert_false(config->process.has_capabilities);
    assert_false(config->process.has_umask);
    assert_false(config->process.has_oom_score_adj);
    assert_int_equal(config->process.uid, 0);
    assert_int_equal(config->process.rlimit_count, 0);
    assert_non_null(config->masked_paths);
    assert_null(config->readonly_paths[0]);
    oci_config_free(config);

    oci_config_free(NULL);
}

static void test_unknown_fields_and_nulls_are_tolerated(void **state)
{
    struct oci_config *config = parse_ok(
        "{" BASE ",'future':{'x':[1,2]},'windows':{'layerFolders':[]},'solaris':7,"
        "'hostname':null,'mounts':null,"
        "'process':{" PROCESS ",'scheduler':{'policy':'SCHED_OTHER'},'ioPriority':{},"
        "  'user':{'uid':1,'gid':2,'username':'x'},'capabilities':{'bounding':null,'extra':1},"
        "  'rlimits':[{'type':'RLIMIT_NPROC','soft':1,'hard':2,'comment':'x'}]},"
        "'linux':{'intelRdt':{},'memoryPolicy':{'mode':'MPOL_BIND'},"
        "  'namespaces':[{'type':'pid','extra':true}],"
        "  'resources':{'network':{'classID':1},'hugepageLimits':[],'rdma':{},"
        "    'memory':{'kernelTCP':5,'useHierarchy':true},'cpu':{'realtimeRuntime':1}},"
        "  'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],"
        "    'action':'SCMP_ACT_LOG','comment':'x','includes':{},'args':null}]}}}");
    (void)state;

    assert_null(config->hostname);
    assert_int_equal(config->mount_count, 0);
    assert_int_equal(config->process.uid, 1);
    assert_true(config->process.has_capabilities);
    assert_int_equal(config->process.capabilities[OCI_CAPS_BOUNDING], 0);
    assert_int_equal(config->process.rlimits[0].resource, RLIMIT_NPROC);
    assert_int_equal(config->namespace_count, 1);
    assert_true(config->has_resources);
    assert_false(config->resources.has_memory_limit);
    assert_false(config->resources.has_cpu_shares);
    assert_int_equal(config->seccomp->default_action, SECCOMP_RET_ALLOW);
    assert_int_equal(config->seccomp->rules[0].action, SECCOMP_RET_LOG);
    assert_int_equal(config->seccomp->rules[0].argument_count, 0);
    assert_null(config->seccomp->architectures[0]);
    oci_config_free(config);
}

struct error_case {
    const char *document;
    const char *message;
};

static const struct error_case error_cases[] = {
    /* top level */
    {"{'root':{'path':'rootfs'}}", "ociVersion: required field is missing"},
    {"{'ociVersion':1,'root':{'path':'rootfs'}}", "ociVersion: expected a string"},
    {"{'ociVersion':'1.1.0'}", "root: required field is missing"},
    {"{'ociVersion':'1.1.0','root':'rootfs'}", "root: expected an object"},
    {"{'ociVersion':'1.1.0','root':{}}", "root.path: required field is missing"},
    {"{'ociVersion':'1.1.0','root':{'path':''}}", "root.path: must not be empty"},
    {"{'ociVersion':'1.1.0','root':{'path':'r','readonly':'yes'}}",
     "root.readonly: expected a boolean"},
    {"{" BASE ",'hostname':5}", "hostname: expected a string"},
    {"{" BASE ",'domainname':[]}", "domainname: expected a string"},
    {"[]", "expected a JSON object at the top level"},
    {"{" BASE ",'process':[]}", "process: expected an object"},
    {"{" BASE ",'annotations':[]}", "annotations: expected an object"},
    {"{" BASE ",'annotations':{'a':'b','c':1}}", "annotations.c: expected a string"},
    /* process */
    {"{" BASE ",'process':{'cwd':'/'}}", "process.args: required field is missing"},
    {"{" BASE ",'process':{'args':[],'cwd':'/'}}", "process.args: must not be empty"},
    {"{" BASE ",'process':{'args':'sh','cwd':'/'}}", "process.args: expected an array"},
    {"{" BASE ",'process':{'args':['sh',1],'cwd':'/'}}", "process.args[1]: expected a string"},
    {"{" BASE ",'process':{'args':['sh']}}", "process.cwd: required field is missing"},
    {"{" BASE ",'process':{'args':['sh'],'cwd':'tmp'}}",
     "process.cwd: not an absolute path \"tmp\""},
    {"{" BASE ",'process':{" PROCESS ",'env':['PATH=/bin','FOO']}}",
     "process.env[1]: expected KEY=VALUE, not \"FOO\""},
    {"{" BASE ",'process':{" PROCESS ",'terminal':1}}", "process.terminal: expected a boolean"},
    {"{" BASE ",'process':{" PROCESS ",'consoleSize':{'height':1}}}",
     "process.consoleSize.width: required field is missing"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':-1,'gid':0}}}",
     "process.user.uid: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':4294967296,'gid':0}}}",
     "process.user.uid: 4294967296 is out of range 0..4294967295"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':'0','gid':0}}}",
     "process.user.uid: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':1.5,'gid':0}}}",
     "process.user.uid: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':1.0,'gid':0}}}",
     "process.user.uid: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':1e3,'gid':0}}}",
     "process.user.uid: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':0}}}",
     "process.user.gid: required field is missing"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':0,'gid':0,'umask':512}}}",
     "process.user.umask: 512 is out of range 0..511"},
    {"{" BASE ",'process':{" PROCESS ",'user':{'uid':0,'gid':0,'additionalGids':[1,-2]}}}",
     "process.user.additionalGids[1]: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':[]}}",
     "process.capabilities: expected an object"},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'bounding':['CAP_CHOWN','CAP_FOO']}}}",
     "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'permitted':['cap_chown']}}}",
     "process.capabilities.permitted[0]: unknown capability \"cap_chown\""},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'inheritable':['CHOWN']}}}",
     "process.capabilities.inheritable[0]: unknown capability \"CHOWN\""},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'ambient':['CAP_CHOWN1']}}}",
     "process.capabilities.ambient[0]: unknown capability \"CAP_CHOWN1\""},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'ambient':['CAP_12']}}}",
     "process.capabilities.ambient[0]: unknown capability \"CAP_12\""},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'effective':'CAP_KILL'}}}",
     "process.capabilities.effective: expected an array"},
    {"{" BASE ",'process':{" PROCESS ",'capabilities':{'effective':[5]}}}",
     "process.capabilities.effective[0]: expected a string"},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
     "process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\""},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
     "{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]}}",
     "process.rlimits[1].type: RLIMIT_NOFILE given twice"},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_NOFILE','soft':1}]}}",
     "process.rlimits[0].hard: required field is missing"},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_NOFILE','soft':-1,'hard':1}]}}",
     "process.rlimits[0].soft: expected an unsigned integer"},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'soft':1,'hard':1}]}}",
     "process.rlimits[0].type: required field is missing"},
    {"{" BASE ",'process':{" PROCESS ",'rlimits':['RLIMIT_CORE']}}",
     "process.rlimits[0]: expected an object"},
    {"{" BASE ",'process':{" PROCESS ",'noNewPrivileges':'true'}}",
     "process.noNewPrivileges: expected a boolean"},
    {"{" BASE ",'process':{" PROCESS ",'oomScoreAdj':1001}}",
     "process.oomScoreAdj: 1001 is out of range -1000..1000"},
    {"{" BASE ",'process':{" PROCESS ",'oomScoreAdj':-1001}}",
     "process.oomScoreAdj: -1001 is out of range -1000..1000"},
    {"{" BASE ",'process':{" PROCESS ",'apparmorProfile':5}}",
     "process.apparmorProfile: expected a string"},
    {"{" BASE ",'process':{" PROCESS ",'selinuxLabel':false}}",
     "process.selinuxLabel: expected a string"},
    /* mounts */
    {"{" BASE ",'mounts':{}}", "mounts: expected an array"},
    {"{" BASE ",'mounts':[{'destination':'/a'},{'destination':'/b'},{'destination':'/c'},"
     "{'destination':'tmp'}]}",
     "mounts[3].destination: not an absolute path \"tmp\""},
    {"{" BASE ",'mounts':[{'destination':'/a'},{'type':'tmpfs'}]}",
     "mounts[1].destination: required field is missing"},
    {"{" BASE ",'mounts':['/tmp']}", "mounts[0]: expected an object"},
    {"{" BASE ",'mounts':[{'destination':'/a','type':5}]}", "mounts[0].type: expected a string"},
    {"{" BASE ",'mounts':[{'destination':'/a','source':[]}]}",
     "mounts[0].source: expected a string"},
    {"{" BASE ",'mounts':[{'destination':'/a','options':'ro'}]}",
     "mounts[0].options: expected an array"},
    {"{" BASE ",'mounts':[{'destination':'/a','options':['ro',1]}]}",
     "mounts[0].options[1]: expected a string"},
    /* hooks */
    {"{" BASE ",'hooks':[]}", "hooks: expected an object"},
    {"{" BASE ",'hooks':{'startContainer':'x'}}", "hooks.startContainer: expected an array"},
    {"{" BASE ",'hooks':{'prestart':[{'path':'bin/true'}]}}",
     "hooks.prestart[0].path: not an absolute path \"bin/true\""},
    {"{" BASE ",'hooks':{'createContainer':[{'args':['x']}]}}",
     "hooks.createContainer[0].path: required field is missing"},
    {"{" BASE ",'hooks':{'poststop':[{'path':'/x','timeout':0}]}}",
     "hooks.poststop[0].timeout: 0 is out of range 1..2147483647"},
    {"{" BASE ",'hooks':{'poststart':[{'path':'/x','timeout':-5}]}}",
     "hooks.poststart[0].timeout: -5 is out of range 1..2147483647"},
    {"{" BASE ",'hooks':{'createRuntime':[{'path':'/x'},{'path':'/y','env':['X']}]}}",
     "hooks.createRuntime[1].env[0]: expected KEY=VALUE, not \"X\""},
    {"{" BASE ",'hooks':{'createRuntime':[{'path':'/x','args':[true]}]}}",
     "hooks.createRuntime[0].args[0]: expected a string"},
    /* linux */
    {"{" BASE ",'linux':[]}", "linux: expected an object"},
    {"{" BASE ",'linux':{'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'foo'}]}}",
     "linux.namespaces[2].type: unknown namespace type \"foo\""},
    {"{" BASE ",'linux':{'namespaces':[{'type':'pid'},{'type':'pid','path':'/proc/1/ns/pid'}]}}",
     "linux.namespaces[1].type: namespace type \"pid\" given twice"},
    {"{" BASE ",'linux':{'namespaces':[{'path':'/x'}]}}",
     "linux.namespaces[0].type: required field is missing"},
    {"{" BASE ",'linux':{'namespaces':[{'type':'net'}]}}",
     "linux.namespaces[0].type: unknown namespace type \"net\""},
    {"{" BASE ",'linux':{'namespaces':[{'type':'uts','path':5}]}}",
     "linux.namespaces[0].path: expected a string"},
    {"{" BASE ",'linux':{'uidMappings':[{'containerID':0,'hostID':1,'size':0}]}}",
     "linux.uidMappings[0].size: must be at least 1"},
    {"{" BASE ",'linux':{'gidMappings':[{'containerID':0,'hostID':-1,'size':1}]}}",
     "linux.gidMappings[0].hostID: expected an unsigned integer"},
    {"{" BASE ",'linux':{'uidMappings':[{'hostID':1,'size':1}]}}",
     "linux.uidMappings[0].containerID: required field is missing"},
    {"{" BASE ",'linux':{'uidMappings':[{'containerID':4294967296,'hostID':1,'size':1}]}}",
     "linux.uidMappings[0].containerID: 4294967296 is out of range 0..4294967295"},
    {"{" BASE ",'linux':{'devices':[{'path':'dev/null','type':'c','major':1,'minor':3}]}}",
     "linux.devices[0].path: not an absolute path \"dev/null\""},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'x'}]}}",
     "linux.devices[0].type: unknown device type \"x\""},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x'}]}}",
     "linux.devices[0].type: required field is missing"},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'u','minor':1}]}}",
     "linux.devices[0].major: required field is missing"},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'b','major':1}]}}",
     "linux.devices[0].minor: required field is missing"},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'c','major':-1,'minor':1}]}}",
     "linux.devices[0].major: -1 is out of range 0..4294967295"},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,"
     "'fileMode':65536}]}}",
     "linux.devices[0].fileMode: 0200000 is not a file mode"},
    {"{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'p','uid':-1}]}}",
     "linux.devices[0].uid: expected an unsigned integer"},
    {"{" BASE ",'linux':{'cgroupsPath':1}}", "linux.cgroupsPath: expected a string"},
    {"{" BASE ",'linux':{'resources':[]}}", "linux.resources: expected an object"},
    {"{" BASE ",'linux':{'resources':{'memory':{'limit':-2}}}}",
     "linux.resources.memory.limit: -2 is out of range -1..9223372036854775807"},
    {"{" BASE ",'linux':{'resources':{'memory':{'swap':1.5}}}}",
     "linux.resources.memory.swap: expected an integer"},
    {"{" BASE ",'linux':{'resources':{'memory':{'reservation':18446744073709551615}}}}",
     "linux.resources.memory.reservation: 18446744073709551615 is out of range "
     "-1..9223372036854775807"},
    {"{" BASE ",'linux':{'resources':{'cpu':{'shares':1}}}}",
     "linux.resources.cpu.shares: 1 is out of range 2..262144"},
    {"{" BASE ",'linux':{'resources':{'cpu':{'shares':262145}}}}",
     "linux.resources.cpu.shares: 262145 is out of range 2..262144"},
    {"{" BASE ",'linux':{'resources':{'cpu':{'quota':-2}}}}",
     "linux.resources.cpu.quota: -2 is out of range -1..9223372036854775807"},
    {"{" BASE ",'linux':{'resources':{'cpu':{'period':-1}}}}",
     "linux.resources.cpu.period: expected an unsigned integer"},
    {"{" BASE ",'linux':{'resources':{'cpu':{'cpus':0}}}}",
     "linux.resources.cpu.cpus: expected a string"},
    {"{" BASE ",'linux':{'resources':{'pids':{}}}}",
     "linux.resources.pids.limit: required field is missing"},
    {"{" BASE ",'linux':{'resources':{'blockIO':{'weight':5}}}}",
     "linux.resources.blockIO.weight: 5 is out of range 10..1000"},
    {"{" BASE ",'linux':{'resources':{'devices':[{'access':'rwm'}]}}}",
     "linux.resources.devices[0].allow: required field is missing"},
    {"{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'type':'p'}]}}}",
     "linux.resources.devices[0].type: unknown device type \"p\""},
    {"{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
     "linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\""},
    {"{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'major':-2}]}}}",
     "linux.resources.devices[0].major: -2 is out of range -1..4294967295"},
    {"{" BASE ",'linux':{'resources':{'unified':{'memory.max':5}}}}",
     "linux.resources.unified.memory.max: expected a string"},
    {"{" BASE ",'linux':{'seccomp':{}}}", "linux.seccomp.defaultAction: required field is missing"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_FOO'}}}",
     "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\""},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}}}",
     "linux.seccomp.defaultErrnoRet: expected an unsigned integer"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':70000}}}",
     "linux.seccomp.defaultErrnoRet: 70000 is out of range 0..65535"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_FOO']}}}",
     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_FOO\""},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'flags':['SECCOMP_FILTER_FLAG_TSYNC']}}}",
     "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_TSYNC\""},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':1}}}",
     "linux.seccomp.listenerPath: expected a string"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}}}",
     "linux.seccomp.syscalls: expected an array"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':[],'action':'SCMP_ACT_ERRNO'}]}}}",
     "linux.seccomp.syscalls[0].names: must not be empty"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'action':'SCMP_ACT_ERRNO'}]}}}",
     "linux.seccomp.syscalls[0].names: required field is missing"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read','']}]}}}",
     "linux.seccomp.syscalls[0].names[1]: empty syscall name"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read']}]}}}",
     "linux.seccomp.syscalls[0].action: required field is missing"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','errnoRet':'EPERM'}]}}}",
     "linux.seccomp.syscalls[0].errnoRet: expected an unsigned integer"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
     "'args':[{'index':6,'value':0,'op':'SCMP_CMP_EQ'}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range 0..5"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
     "'args':[{'value':0,'op':'SCMP_CMP_EQ'}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].index: required field is missing"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
     "'args':[{'index':0,'value':0,'op':'SCMP_CMP_FOO'}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_FOO\""},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
     "'args':[{'index':0,'value':0}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].op: required field is missing"},
    {"{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
     "'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO',"
     "'args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}}}",
     "linux.seccomp.syscalls[0].args[0].value: expected an unsigned integer"},
    {"{" BASE ",'linux':{'maskedPaths':[1]}}", "linux.maskedPaths[0]: expected a string"},
    {"{" BASE ",'linux':{'readonlyPaths':'/proc'}}", "linux.readonlyPaths: expected an array"},
    {"{" BASE ",'linux':{'sysctl':{'a':1}}}", "linux.sysctl.a: expected a string"},
    {"{" BASE ",'linux':{'rootfsPropagation':'foo'}}",
     "linux.rootfsPropagation: unknown propagation \"foo\""},
    {"{" BASE ",'linux':{'personality':{'domain':'LINUX64'}}}",
     "linux.personality.domain: unknown personality domain \"LINUX64\""},
    {"{" BASE ",'linux':{'personality':{}}}",
     "linux.personality.domain: required field is missing"},
    {"{" BASE ",'linux':{'mountLabel':1}}", "linux.mountLabel: expected a string"},
};

static void test_errors_name_the_json_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        struct keel_error err = {0};
        parse_error(error_cases[i].document, &err);
        if (strcmp(err.message, error_cases[i].message) != 0)
            print_message("case %zu: %s\n", i, error_cases[i].document);
        assert_string_equal(err.message, error_cases[i].message);
        assert_int_equal(err.errno_value, EINVAL);
    }
}

static void test_malformed_json_reports_position(void **state)
{
    struct keel_error err = {0};
    (void)state;

    parse_error("{'ociVersion': '1.1.0',\n 'root': }", &err);
    assert_string_equal(err.message,
                        "invalid JSON at line 2, column 10: unexpected token near '}'");
    parse_error("", &err);
    assert_non_null(strstr(err.message, "invalid JSON at line 1"));
    parse_error("{" BASE "} trailing", &err);
    assert_non_null(strstr(err.message, "end of file expected"));
    parse_error("{" BASE ",'hostname':'a','hostname':'b'}", &err);
    assert_non_null(strstr(err.message, "duplicate object key"));
    /* Also inside nested objects. */
    parse_error("{" BASE ",'root':{'path':'a','readonly':true,'readonly':false}}", &err);
    assert_non_null(strstr(err.message, "duplicate object key"));
    /* Too big even for the unsigned path: jansson's message stays. */
    parse_error("{" BASE ",'process':{" PROCESS ",'oomScoreAdj':-9223372036854775809}}", &err);
    assert_non_null(strstr(err.message, "too big negative integer"));
    parse_error("{" BASE ",'process':{" PROCESS ",'oomScoreAdj':18446744073709551616}}", &err);
    assert_non_null(strstr(err.message, "too big integer"));
}

static void test_error_after_big_unsigned_keeps_its_column(void **state)
{
    /* The first decode stops at a big rlimit; a syntax error further on is
     * found by the second, in a rewritten text, and must be reported where
     * it is in the original: where it is in a twin document whose big
     * numbers are strings of the same length (there the first decode finds it). */
    static const char *const documents[][2] = {
        {"{" BASE ",\n'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':18446744073709551615,'hard':18446744073709551615}]\n,'x':[1,]}}",
         "{" BASE ",\n'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':'844674407370955161','hard':'844674407370955161'}]\n,'x':[1,]}}"},
        {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':18446744073709551615,'hard':18446744073709551615}],'x':[1,]}}",
         "{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':'844674407370955161','hard':'844674407370955161'}],'x':[1,]}}"},
        {"{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':18446744073709551615,'hard':18446744073709551615}]},\n'x':[1,]}",
         "{" BASE ",'process':{" PROCESS ",'rlimits':[{'type':'RLIMIT_CORE',"
         "'soft':'844674407370955161','hard':'844674407370955161'}]},\n'x':[1,]}"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++) {
        struct keel_error big = {0}, twin = {0};
        assert_int_equal(strlen(documents[i][0]), strlen(documents[i][1]));
        parse_error(documents[i][0], &big);
        parse_error(documents[i][1], &twin);
        assert_non_null(strstr(twin.message, "unexpected token near ']'"));
        assert_string_equal(big.message, twin.message);
    }
}

static void test_big_unsigned_is_not_a_string(void **state)
{
    struct keel_error err = {0};
    struct oci_config *config;
    (void)state;

    /* A big number where a string is expected stays a type error. */
    parse_error("{" BASE ",'hostname':18446744073709551615}", &err);
    assert_string_equal(err.message, "hostname: expected a string");
    /* A document with \u0000 in a string is not rewritten: the NUL is refused. */
    parse_error("{" BASE ",'hostname':'\\u0000123','process':{" PROCESS
                ",'rlimits':[{'type':'RLIMIT_CORE','soft':18446744073709551615,'hard':1}]}}",
                &err);
    assert_non_null(strstr(err.message, "invalid JSON"));
    /* Big numbers inside strings and reals are left alone. */
    config = parse_ok("{" BASE ",'hostname':'18446744073709551615','annotations':{"
                      "'a':'[18446744073709551615]','b\\\"':'x'},'process':{" PROCESS
                      ",'rlimits':[{'type':'RLIMIT_AS','soft':18446744073709551614,"
                      "'hard':18446744073709551615}]}}");
    assert_string_equal(config->hostname, "18446744073709551615");
    assert_string_equal(config->annotations[0].value, "[18446744073709551615]");
    assert_string_equal(config->annotations[1].key, "b\"");
    assert_true(config->process.rlimits[0].soft == UINT64_MAX - 1);
    oci_config_free(config);
    /* A raw NUL byte past the end is still seen after the rewrite. */
    static const char with_nul[] =
        "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"sh\"],"
        "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_AS\",\"soft\":18446744073709551615,"
        "\"hard\":18446744073709551615}]}}\0junk";
    config = NULL;
    assert_int_equal(oci_config_parse(with_nul, sizeof with_nul - 1, &config, &err), -1);
    assert_null(config);
    assert_non_null(strstr(err.message, "end of file expected"));
    parse_error("{" BASE ",'process':{" PROCESS ",'oomScoreAdj':18446744073709551615.0}}", &err);
    assert_string_equal(err.message, "process.oomScoreAdj: expected an integer");
}

static void test_config_larger_than_4_mib_is_refused(void **state)
{
    struct keel_error err = {0};
    struct oci_config *config = NULL;
    size_t length = (4u << 20) + 1;
    char *text = malloc(length);
    (void)state;

    assert_non_null(text);
    memset(text, ' ', length);
    text[0] = '{';
    text[length - 1] = '}';
    assert_int_equal(oci_config_parse(text, length, &config, &err), -1);
    assert_non_null(strstr(err.message, "more than the 4 MiB allowed"));
    assert_null(config);
    free(text);
}

struct mount_option_case {
    const char *option;
    unsigned long flags, clear_flags, propagation;
    bool bind, recursive, recursive_readonly;
};

static const struct mount_option_case mount_option_cases[] = {
    {"ro", MS_RDONLY, 0, 0, false, false, false},
    {"rw", 0, MS_RDONLY, 0, false, false, false},
    {"nosuid", MS_NOSUID, 0, 0, false, false, false},
    {"suid", 0, MS_NOSUID, 0, false, false, false},
    {"nodev", MS_NODEV, 0, 0, false, false, false},
    {"dev", 0, MS_NODEV, 0, false, false, false},
    {"noexec", MS_NOEXEC, 0, 0, false, false, false},
    {"exec", 0, MS_NOEXEC, 0, false, false, false},
    {"sync", MS_SYNCHRONOUS, 0, 0, false, false, false},
    {"async", 0, MS_SYNCHRONOUS, 0, false, false, false},
    {"dirsync", MS_DIRSYNC, 0, 0, false, false, false},
    {"remount", MS_REMOUNT, 0, 0, false, false, false},
    {"mand", MS_MANDLOCK, 0, 0, false, false, false},
    {"nomand", 0, MS_MANDLOCK, 0, false, false, false},
    {"atime", 0, MS_NOATIME, 0, false, false, false},
    {"noatime", MS_NOATIME, 0, 0, false, false, false},
    {"diratime", 0, MS_NODIRATIME, 0, false, false, false},
    {"nodiratime", MS_NODIRATIME, 0, 0, false, false, false},
    {"relatime", MS_RELATIME, 0, 0, false, false, false},
    {"norelatime", 0, MS_RELATIME, 0, false, false, false},
    {"strictatime", MS_STRICTATIME, 0, 0, false, false, false},
    {"nostrictatime", 0, MS_STRICTATIME, 0, false, false, false},
    {"nosymfollow", MS_NOSYMFOLLOW, 0, 0, false, false, false},
    {"bind", 0, 0, 0, true, false, false},
    {"rbind", 0, 0, 0, true, true, false},
    {"private", 0, 0, MS_PRIVATE, false, false, false},
    {"rprivate", 0, 0, MS_PRIVATE | MS_REC, false, false, false},
    {"shared", 0, 0, MS_SHARED, false, false, false},
    {"rshared", 0, 0, MS_SHARED | MS_REC, false, false, false},
    {"slave", 0, 0, MS_SLAVE, false, false, false},
    {"rslave", 0, 0, MS_SLAVE | MS_REC, false, false, false},
    {"unbindable", 0, 0, MS_UNBINDABLE, false, false, false},
    {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC, false, false, false},
    {"rro", 0, 0, 0, false, false, true},
    {"defaults", 0, 0, 0, false, false, false},
};

static void test_mount_options_map_to_flags(void **state)
{
    char document[256];
    (void)state;

    for (size_t i = 0; i < sizeof mount_option_cases / sizeof mount_option_cases[0]; i++) {
        const struct mount_option_case *expected = &mount_option_cases[i];
        snprintf(document, sizeof document,
                 "{" BASE ",'mounts':[{'destination':'/m','type':'tmpfs','options':['%s']}]}",
                 expected->option);
        struct oci_config *config = parse_ok(document);
        const struct oci_mount *mount = &config->mounts[0];
        if (mount->flags != expected->flags || mount->clear_flags != expected->clear_flags ||
            mount->propagation != expected->propagation || mount->bind != expected->bind ||
            mount->recursive != expected->recursive ||
            mount->recursive_readonly != expected->recursive_readonly || mount->data != NULL)
            print_message("option \"%s\"\n", expected->option);
        assert_int_equal(mount->flags, expected->flags);
        assert_int_equal(mount->clear_flags, expected->clear_flags);
        assert_int_equal(mount->propagation, expected->propagation);
        assert_int_equal(mount->bind, expected->bind);
        assert_int_equal(mount->recursive, expected->recursive);
        assert_int_equal(mount->recursive_readonly, expected->recursive_readonly);
        assert_null(mount->data);
        oci_config_free(config);
    }
}

static void test_mount_options_later_ones_win_and_data_keeps_the_rest(void **state)
{
    struct oci_config *config = parse_ok(
        "{" BASE ",'mounts':[{'destination':'/m','type':'tmpfs','source':'tmpfs','options':"
        "['ro','mode=755','rw','nosuid','suid','shared','rslave','','uid=0,gid=0','size=1m',"
        "'nodev']}]}");
    const struct oci_mount *mount = &config->mounts[0];
    (void)state;

    assert_int_equal(mount->flags, MS_NODEV);
    assert_int_equal(mount->clear_flags, MS_RDONLY | MS_NOSUID);
    assert_int_equal(mount->propagation, MS_SLAVE | MS_REC);
    assert_string_equal(mount->data, "mode=755,uid=0,gid=0,size=1m");
    assert_false(mount->bind);
    oci_config_free(config);

    /* An empty type is no type; other unknown options (idmap, rrw) are data. */
    config = parse_ok("{" BASE ",'mounts':[{'destination':'/m','type':'','source':'/x',"
                      "'options':['bind','idmap','rrw']}]}");
    assert_null(config->mounts[0].type);
    assert_true(config->mounts[0].bind);
    assert_string_equal(config->mounts[0].data, "idmap,rrw");
    oci_config_free(config);
}

static void test_seccomp_actions_fold_the_errno(void **state)
{
    static const struct {
        const char *action;
        const char *errno_field;
        uint32_t expected;
    } cases[] = {
        {"SCMP_ACT_KILL", "", SECCOMP_RET_KILL_THREAD},
        {"SCMP_ACT_KILL_THREAD", "", SECCOMP_RET_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", "", SECCOMP_RET_KILL_PROCESS},
        {"SCMP_ACT_TRAP", "", SECCOMP_RET_TRAP},
        {"SCMP_ACT_ERRNO", "", SECCOMP_RET_ERRNO | EPERM},
        {"SCMP_ACT_ERRNO", "0", SECCOMP_RET_ERRNO | 0},
        {"SCMP_ACT_ERRNO", "38", SECCOMP_RET_ERRNO | ENOSYS},
        {"SCMP_ACT_ERRNO", "65535", SECCOMP_RET_ERRNO | 0xffff},
        {"SCMP_ACT_TRACE", "", SECCOMP_RET_TRACE | EPERM},
        {"SCMP_ACT_TRACE", "7", SECCOMP_RET_TRACE | 7},
        {"SCMP_ACT_ALLOW", "", SECCOMP_RET_ALLOW},
        {"SCMP_ACT_ALLOW", "5", SECCOMP_RET_ALLOW}, /* ignored, as runc does */
        {"SCMP_ACT_LOG", "", SECCOMP_RET_LOG},
        {"SCMP_ACT_NOTIFY", "", SECCOMP_RET_USER_NOTIF},
    };
    char document[512];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool has_errno = cases[i].errno_field[0] != '\0';
        snprintf(document, sizeof document,
                 "{" BASE ",'linux':{'seccomp':{'defaultAction':'%s'%s%s,"
                 "'syscalls':[{'names':['read'],'action':'%s'%s%s}]}}}",
                 cases[i].action, has_errno ? ",'defaultErrnoRet':" : "", cases[i].errno_field,
                 cases[i].action, has_errno ? ",'errnoRet':" : "", cases[i].errno_field);
        struct oci_config *config = parse_ok(document);
        if (config->seccomp->default_action != cases[i].expected ||
            config->seccomp->rules[0].action != cases[i].expected)
            print_message("%s %s\n", cases[i].action, cases[i].errno_field);
        assert_int_equal(config->seccomp->default_action, cases[i].expected);
        assert_int_equal(config->seccomp->rules[0].action, cases[i].expected);
        oci_config_free(config);
    }
}

static void test_seccomp_architectures_and_flags(void **state)
{
    static const char *const oci_names[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
    };
    char document[1024] = "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
                          "'flags':['SECCOMP_FILTER_FLAG_LOG',"
                          "'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],'architectures':[";
    size_t count = sizeof oci_names / sizeof oci_names[0];
    (void)state;

    for (size_t i = 0; i < count; i++) {
        strcat(document, i == 0 ? "'" : ",'");
        strcat(document, oci_names[i]);
        strcat(document, "'");
    }
    strcat(document, "]}}}");
    struct oci_config *config = parse_ok(document);
    assert_true(config->seccomp->flag_log);
    assert_false(config->seccomp->flag_spec_allow);
    assert_true(config->seccomp->flag_wait_kill_recv);
    for (size_t i = 0; i < count; i++) {
        const char *name = config->seccomp->architectures[i];
        assert_non_null(name);
        /* Every translated name is one libseccomp knows. */
        if (seccomp_arch_resolve_name(name) == 0)
            print_message("libseccomp does not know \"%s\"\n", name);
        assert_int_not_equal(seccomp_arch_resolve_name(name), 0);
    }
    assert_null(config->seccomp->architectures[count]);
    oci_config_free(config);
}

static void test_capability_names(void **state)
{
    (void)state;

    assert_int_equal(oci_capability_from_name("CAP_CHOWN"), CAP_CHOWN);
    assert_int_equal(oci_capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    assert_int_equal(oci_capability_from_name("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
    assert_int_equal(oci_capability_from_name("cap_chown"), -1);
    assert_int_equal(oci_capability_from_name("CHOWN"), -1);
    assert_int_equal(oci_capability_from_name("CAP_CHOWN "), -1);
    assert_int_equal(oci_capability_from_name("CAP_"), -1);
    assert_int_equal(oci_capability_from_name(""), -1);
    assert_int_equal(oci_capability_from_name("CAP_FOO"), -1);
    assert_int_equal(oci_capability_from_name("0"), -1);

    assert_string_equal(oci_capability_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
    assert_string_equal(oci_capability_name(0), "CAP_CHOWN");
    assert_string_equal(oci_capability_name(CAP_LAST_CAP), "CAP_CHECKPOINT_RESTORE");
    assert_null(oci_capability_name(-1));
    assert_null(oci_capability_name(64));
    /* Every name there is round-trips; past the last, none. */
    int number = 0;
    for (; oci_capability_name(number) != NULL; number++)
        assert_int_equal(oci_capability_from_name(oci_capability_name(number)), number);
    assert_true(number > CAP_LAST_CAP);
    assert_null(oci_capability_name(number + 1));
}

static void test_all_capabilities_fill_the_mask(void **state)
{
    char document[4096] = "{" BASE ",'process':{" PROCESS ",'capabilities':{'bounding':[";
    (void)state;

    for (int number = 0; number <= CAP_LAST_CAP; number++) {
        strcat(document, number == 0 ? "'" : ",'");
        strcat(document, oci_capability_name(number));
        strcat(document, "'");
    }
    strcat(document, "]}}}");
    struct oci_config *config = parse_ok(document);
    assert_int_equal(config->process.capabilities[OCI_CAPS_BOUNDING],
                     (UINT64_C(1) << (CAP_LAST_CAP + 1)) - 1);
    oci_config_free(config);
}

static void test_process_parse_alone(void **state)
{
    struct keel_error err = {0};
    struct oci_process process;
    char *text = json_text("{'args':['ls','-l'],'cwd':'/tmp','env':['A=1'],"
                           "'user':{'uid':5,'gid':6},'capabilities':{'effective':['CAP_KILL']},"
                           "'terminal':true}");
    (void)state;

    assert_int_equal(oci_process_parse(text, strlen(text), &process, &err), 0);
    free(text);
    assert_string_equal(process.args[1], "-l");
    assert_string_equal(process.cwd, "/tmp");
    assert_string_equal(process.env[0], "A=1");
    assert_int_equal(process.uid, 5);
    assert_int_equal(process.gid, 6);
    assert_true(process.terminal);
    assert_int_equal(process.capabilities[OCI_CAPS_EFFECTIVE], 1ull << CAP_KILL);
    oci_process_free(&process);
    assert_null(process.args);
    oci_process_free(&process); /* twice is harmless */

    text = json_text("{'args':['ls'],'cwd':'/','user':{'uid':-5,'gid':0}}");
    assert_int_equal(oci_process_parse(text, strlen(text), &process, &err), -1);
    free(text);
    assert_string_equal(err.message, "user.uid: expected an unsigned integer");
    assert_null(process.args);

    text = json_text("['ls']");
    assert_int_equal(oci_process_parse(text, strlen(text), &process, &err), -1);
    free(text);
    assert_string_equal(err.message, "expected a JSON object at the top level");
}

static void test_load_reads_and_names_the_file(void **state)
{
    char directory[] = "/tmp/test_oci_config.XXXXXX";
    char path[128];
    struct keel_error err = {0};
    struct oci_config *config = NULL;
    FILE *file;
    (void)state;

    assert_non_null(mkdtemp(directory));
    snprintf(path, sizeof path, "%s/config.json", directory);

    assert_int_equal(oci_config_load(path, &config, &err), -1);
    assert_int_equal(err.errno_value, ENOENT);
    char expected[256];
    snprintf(expected, sizeof expected, "read %s: No such file or directory", path);
    assert_string_equal(err.message, expected);

    file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},\"hostname\":\"h\"}", file);
    fclose(file);
    assert_int_equal(oci_config_load(path, &config, &err), 0);
    assert_string_equal(config->hostname, "h");
    oci_config_free(config);

    file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},\"hostname\":5}", file);
    fclose(file);
    assert_int_equal(oci_config_load(path, &config, &err), -1);
    snprintf(expected, sizeof expected, "%s: hostname: expected a string", path);
    assert_string_equal(err.message, expected);

    /* A file past the limit is refused without reading it all. */
    file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(ftruncate(fileno(file), (4 << 20) + 10), 0);
    fclose(file);
    assert_int_equal(oci_config_load(path, &config, &err), -1);
    assert_non_null(strstr(err.message, "more than the 4 MiB allowed"));
    assert_non_null(strstr(err.message, path));

    /* A directory: read(2) fails. */
    assert_int_equal(oci_config_load(directory, &config, &err), -1);
    assert_int_equal(err.errno_value, EISDIR);
    snprintf(expected, sizeof expected, "read %s: Is a directory", directory);
    assert_string_equal(err.message, expected);

    unlink(path);
    rmdir(directory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config_process),
        cmocka_unit_test(test_full_config_root_mounts_hooks),
        cmocka_unit_test(test_full_config_linux),
        cmocka_unit_test(test_full_config_seccomp),
        cmocka_unit_test(test_minimal_config_has_empty_defaults),
        cmocka_unit_test(test_unknown_fields_and_nulls_are_tolerated),
        cmocka_unit_test(test_errors_name_the_json_path),
        cmocka_unit_test(test_malformed_json_reports_position),
        cmocka_unit_test(test_error_after_big_unsigned_keeps_its_column),
        cmocka_unit_test(test_big_unsigned_is_not_a_string),
        cmocka_unit_test(test_config_larger_than_4_mib_is_refused),
        cmocka_unit_test(test_mount_options_map_to_flags),
        cmocka_unit_test(test_mount_options_later_ones_win_and_data_keeps_the_rest),
        cmocka_unit_test(test_seccomp_actions_fold_the_errno),
        cmocka_unit_test(test_seccomp_architectures_and_flags),
        cmocka_unit_test(test_capability_names),
        cmocka_unit_test(test_all_capabilities_fill_the_mask),
        cmocka_unit_test(test_process_parse_alone),
        cmocka_unit_test(test_load_reads_and_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
