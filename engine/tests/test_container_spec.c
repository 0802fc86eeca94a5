/* test_container_spec.c — Docker create requests into config.json, checked by Keel's parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container_spec.h"
#include "oci_config.h"
#include "oci_spec.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_PREFIX "0123456789ab"

struct fixture {
    char base[64];
    char rootfs[128];
    char files[128];
    char *image_entrypoint[2];
    char *image_cmd[4];
    char *image_env[3];
    char *label_keys[2];
    char *label_values[2];
    struct image_config image;
    json_t *config;
    struct container_spec_extras extras;
    struct keel_error err;
};

static void write_file(const char *directory, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static void make_directory(const char *parent, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", parent, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "\n"
                                  "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                                  "bob:x:1001:1001::/home/bob:/bin/sh\n"
                                  "broken line without fields\n";
static const char group_text[] = "root:x:0:\n"
                                 "wheel:x:10:root,alice\n"
                                 "audio:x:29:bob\n"
                                 "staff:x:50:alice,bob\n"
                                 "alice:x:1000:\n";

/* A fake root with /etc/passwd and /etc/group, the files directory, and an
 * image like nginx's. */
static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    char etc[128];

    assert_non_null(fixture);
    snprintf(fixture->base, sizeof fixture->base, "/tmp/test_container_spec.XXXXXX");
    assert_non_null(mkdtemp(fixture->base));
    make_directory(fixture->base, "rootfs", fixture->rootfs, sizeof fixture->rootfs);
    make_directory(fixture->rootfs, "etc", etc, sizeof etc);
    write_file(etc, "passwd", passwd_text);
    write_file(etc, "group", group_text);
    make_directory(fixture->base, "files", fixture->files, sizeof fixture->files);
    write_file(fixture->files, "hostname", ID_PREFIX "\n");
    write_file(fixture->files, "hosts", "127.0.0.1 localhost\n");
    write_file(fixture->files, "resolv.conf", "nameserver 10.0.0.1\n");

    fixture->image_entrypoint[0] = "/docker-entrypoint.sh";
    fixture->image_cmd[0] = "nginx";
    fixture->image_cmd[1] = "-g";
    fixture->image_cmd[2] = "daemon off;";
    fixture->image_env[0] = "PATH=/image/bin:/usr/bin";
    fixture->image_env[1] = "NGINX_VERSION=1.25";
    fixture->label_keys[0] = "maintainer";
    fixture->label_values[0] = "nginx";
    fixture->image = (struct image_config){
        .entrypoint = fixture->image_entrypoint,
        .cmd = fixture->image_cmd,
        .env = fixture->image_env,
        .working_dir = "/srv/www",
        .label_keys = fixture->label_keys,
        .label_values = fixture->label_values,
    };
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    char command[PATH_MAX + 16];

    json_decref(fixture->config);
    container_spec_extras_free(&fixture->extras);
    snprintf(command, sizeof command, "rm -rf '%s'", fixture->base);
    assert_int_equal(system(command), 0);
    free(fixture);
    return 0;
}

/* Build from request text with the fixture's image (or none); on success
 * the config is kept in the fixture (the previous one released). */
static int build_with(struct fixture *fixture, const char *request_text,
                      const struct image_config *image, const char *rootfs)
{
    json_error_t error;
    json_t *request = json_loads(request_text, 0, &error);

    if (request == NULL)
        fail_msg("bad test request: %s", error.text);
    json_decref(fixture->config);
    fixture->config = NULL;
    container_spec_extras_free(&fixture->extras);
    memset(&fixture->err, 0, sizeof fixture->err);
    int result = container_spec_build(request, image, ID, rootfs, fixture->files, &fixture->config,
                                      &fixture->extras, &fixture->err);
    json_decref(request);
    if (result < 0) {
        assert_null(fixture->config);
        assert_null(fixture->extras.hostname);
    }
    return result;
}

static void build(struct fixture *fixture, const char *request_text)
{
    if (build_with(fixture, request_text, &fixture->image, fixture->rootfs) < 0)
        fail_msg("build failed: %s", fixture->err.message);
}

static void build_fails(struct fixture *fixture, const char *request_text, const char *message)
{
    assert_int_equal(build_with(fixture, request_text, &fixture->image, fixture->rootfs), -1);
    assert_int_equal(fixture->err.errno_value, EINVAL);
    if (strstr(fixture->err.message, message) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", fixture->err.message, message);
}

/* The config as the runtime will read it: every built config must pass. */
static struct oci_config *parse(struct fixture *fixture)
{
    struct oci_config *parsed = NULL;
    struct keel_error err = {0};
    char *text = json_dumps(fixture->config, 0);

    assert_non_null(text);
    if (oci_config_parse(text, strlen(text), &parsed, &err) < 0)
        fail_msg("oci_config_parse: %s", err.message);
    free(text);
    return parsed;
}

static void assert_strings(char **strings, const char *const *expected)
{
    size_t i = 0;
    for (; expected[i] != NULL; i++) {
        assert_non_null(strings[i]);
        assert_string_equal(strings[i], expected[i]);
    }
    assert_null(strings[i]);
}

static const char *env_value(char **env, const char *key)
{
    size_t length = strlen(key);
    for (size_t i = 0; env[i] != NULL; i++)
        if (strncmp(env[i], key, length) == 0 && env[i][length] == '=')
            return env[i] + length + 1;
    return NULL;
}

static const struct oci_mount *find_mount(const struct oci_config *config, const char *destination)
{
    for (size_t i = 0; i < config->mount_count; i++)
        if (strcmp(config->mounts[i].destination, destination) == 0)
            return &config->mounts[i];
    return NULL;
}

static void assert_has_gid(const struct oci_process *process, gid_t gid)
{
    for (size_t i = 0; i < process->additional_gid_count; i++)
        if (process->additional_gids[i] == gid)
            return;
    fail_msg("gid %u not in additionalGids", (unsigned)gid);
}

static void test_defaults(void **state)
{
    struct fixture *fixture = *state;
    char path[PATH_MAX];
    struct stat info;

    /* Docker clients send many fields Keel does not use: ignored. */
    build(fixture, "{\"Image\": \"nginx\", \"AttachStdin\": false, \"AttachStdout\": true,"
                   " \"ExposedPorts\": {\"80/tcp\": {}}, \"Healthcheck\": {\"Test\": [\"NONE\"]},"
                   " \"NetworkingConfig\": {}, \"HostConfig\": {\"RestartPolicy\": {\"Name\": "
                   "\"always\"}, \"AutoRemove\": false, \"LogConfig\": {\"Type\": \"json-file\"},"
                   " \"Devices\": [], \"Ulimits\": null}}");
    struct oci_config *config = parse(fixture);
    const struct oci_process *process = &config->process;

    static const char *const args[] = {"/docker-entrypoint.sh", "nginx", "-g", "daemon off;", NULL};
    assert_strings(process->args, args);
    static const char *const env[] = {"PATH=/image/bin:/usr/bin", "HOSTNAME=" ID_PREFIX,
                                      "NGINX_VERSION=1.25", "HOME=/root", NULL};
    assert_strings(process->env, env);
    assert_string_equal(process->cwd, "/srv/www");
    /* Docker creates a missing working directory in the container's root. */
    snprintf(path, sizeof path, "%s/srv/www", fixture->rootfs);
    assert_int_equal(stat(path, &info), 0);
    assert_true(S_ISDIR(info.st_mode));
    assert_int_equal(process->uid, 0);
    assert_int_equal(process->gid, 0);
    assert_has_gid(process, 0);
    assert_has_gid(process, 10); /* wheel lists root */
    assert_false(process->terminal);
    assert_true(process->no_new_privileges);
    assert_false(process->has_oom_score_adj);

    assert_string_equal(config->hostname, ID_PREFIX);
    assert_string_equal(fixture->extras.hostname, ID_PREFIX);
    assert_false(fixture->extras.init);
    assert_false(fixture->extras.tty);
    assert_false(fixture->extras.open_stdin);
    static const int namespaces[] = {CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
                                     CLONE_NEWUTS, CLONE_NEWNS,  CLONE_NEWCGROUP};
    assert_int_equal(config->namespace_count, 6);
    for (size_t i = 0; i < 6; i++)
        assert_non_null(oci_config_namespace(config, namespaces[i]));

    assert_true(process->has_capabilities);
    assert_int_equal(process->capabilities[OCI_CAPS_BOUNDING], oci_spec_default_capabilities);
    assert_int_equal(process->capabilities[OCI_CAPS_EFFECTIVE], oci_spec_default_capabilities);
    assert_int_equal(process->capabilities[OCI_CAPS_PERMITTED], oci_spec_default_capabilities);
    assert_int_equal(process->capabilities[OCI_CAPS_INHERITABLE], 0);
    assert_int_equal(process->capabilities[OCI_CAPS_AMBIENT], 0);
    assert_non_null(config->seccomp);
    assert_non_null(config->masked_paths[0]);
    assert_non_null(config->readonly_paths[0]);

    /* Docker's root is writable unless ReadonlyRootfs. */
    assert_false(config->root_readonly);
    assert_string_equal(config->root_path, fixture->rootfs);

    const char *const network_files[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    for (size_t i = 0; i < 3; i++) {
        const struct oci_mount *mount = find_mount(config, network_files[i]);
        assert_non_null(mount);
        assert_true(mount->bind);
        assert_true(mount->recursive);
        assert_false(mount->flags & MS_RDONLY);
        assert_int_equal(mount->propagation, MS_PRIVATE | MS_REC);
        snprintf(path, sizeof path, "%s/%s", fixture->files, network_files[i] + 5);
        assert_string_equal(mount->source, path);
    }
    const struct oci_mount *sys = find_mount(config, "/sys");
    assert_non_null(sys);
    assert_true(sys->flags & MS_RDONLY);
    assert_non_null(find_mount(config, "/dev/shm"));

    /* Docker's sysctls for a network namespace of the container's own. */
    if (access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0) {
        bool found = false;
        for (size_t i = 0; i < config->sysctl_count; i++)
            found |= strcmp(config->sysctls[i].key, "net.ipv4.ip_unprivileged_port_start") == 0 &&
                     strcmp(config->sysctls[i].value, "0") == 0;
        assert_true(found);
    }
    /* The image's labels, as annotations. */
    assert_int_equal(config->annotation_count, 1);
    assert_string_equal(config->annotations[0].key, "maintainer");
    assert_string_equal(config->annotations[0].value, "nginx");
    oci_config_free(config);
}

static void test_merge_entrypoint_drops_image_cmd(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"Entrypoint\": [\"/bin/sh\", \"-c\"]}");
    struct oci_config *config = parse(fixture);
    static const char *const args[] = {"/bin/sh", "-c", NULL};
    assert_strings(config->process.args, args);
    oci_config_free(config);

    build(fixture, "{\"Entrypoint\": [\"/bin/echo\"], \"Cmd\": [\"hi\", \"there\"]}");
    config = parse(fixture);
    static const char *const both[] = {"/bin/echo", "hi", "there", NULL};
    assert_strings(config->process.args, both);
    oci_config_free(config);

    /* A string is a one-element list, as Docker's StrSlice reads it. */
    build(fixture, "{\"Entrypoint\": \"/bin/true\"}");
    config = parse(fixture);
    static const char *const string[] = {"/bin/true", NULL};
    assert_strings(config->process.args, string);
    oci_config_free(config);
}

static void test_merge_cmd_only(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"Cmd\": [\"nginx-debug\"]}");
    struct oci_config *config = parse(fixture);
    static const char *const args[] = {"/docker-entrypoint.sh", "nginx-debug", NULL};
    assert_strings(config->process.args, args);
    oci_config_free(config);

    /* --entrypoint "": no entrypoint, the request's Cmd alone. */
    build(fixture, "{\"Entrypoint\": [\"\"], \"Cmd\": [\"ls\", \"-l\"]}");
    config = parse(fixture);
    static const char *const reset[] = {"ls", "-l", NULL};
    assert_strings(config->process.args, reset);
    oci_config_free(config);

    /* An empty Entrypoint (not null) drops the image's, keeping its Cmd. */
    build(fixture, "{\"Entrypoint\": []}");
    config = parse(fixture);
    static const char *const cmd[] = {"nginx", "-g", "daemon off;", NULL};
    assert_strings(config->process.args, cmd);
    oci_config_free(config);

    /* An empty Cmd is no Cmd: the image's is used. */
    build(fixture, "{\"Cmd\": []}");
    config = parse(fixture);
    static const char *const image[] = {"/docker-entrypoint.sh", "nginx", "-g", "daemon off;",
                                        NULL};
    assert_strings(config->process.args, image);
    oci_config_free(config);
}

static void test_no_command(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(build_with(fixture, "{}", NULL, fixture->rootfs), -1);
    assert_string_equal(fixture->err.message, "no command specified");
    /* [""] drops the image's entrypoint, and the image's Cmd went with it. */
    build_fails(fixture, "{\"Entrypoint\": [\"\"]}", "no command specified");
    assert_int_equal(build_with(fixture, "{\"Cmd\": []}", NULL, fixture->rootfs), -1);
    assert_string_equal(fixture->err.message, "no command specified");
}

static void test_env_override_by_key(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"Env\": [\"NGINX_VERSION=2.0\", \"NEW=a=b\", \"PATH=/mine\","
                   " \"HOSTNAME=custom\", \"HOME=/data\"], \"Tty\": true, \"OpenStdin\": true}");
    struct oci_config *config = parse(fixture);
    static const char *const env[] = {
        "PATH=/mine", "HOSTNAME=custom", "TERM=xterm", "NGINX_VERSION=2.0",
        "NEW=a=b",    "HOME=/data",      NULL};
    assert_strings(config->process.env, env);
    assert_true(config->process.terminal);
    assert_true(fixture->extras.tty);
    assert_true(fixture->extras.open_stdin);
    oci_config_free(config);

    /* A bare KEY unsets it; a request without PATH keeps the default. */
    build_with(fixture, "{\"Cmd\": [\"x\"], \"Env\": [\"HOSTNAME\", \"A=1\", \"A=2\"]}", NULL,
               fixture->rootfs);
    config = parse(fixture);
    assert_null(env_value(config->process.env, "HOSTNAME"));
    assert_string_equal(env_value(config->process.env, "A"), "2");
    assert_string_equal(env_value(config->process.env, "PATH"),
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_null(env_value(config->process.env, "TERM"));
    oci_config_free(config);

    build_fails(fixture, "{\"Env\": [\"=x\"]}", "Env[0]: invalid environment variable: =x");
}

static void test_console_size(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"Tty\": true, \"HostConfig\": {\"ConsoleSize\": [40, 120]}}");
    struct oci_config *config = parse(fixture);
    assert_int_equal(config->process.console_height, 40);
    assert_int_equal(config->process.console_width, 120);
    oci_config_free(config);
}

static void test_working_dir(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"WorkingDir\": \"/app//sub/\"}");
    struct oci_config *config = parse(fixture);
    assert_string_equal(config->process.cwd, "/app/sub");
    oci_config_free(config);

    build_fails(fixture, "{\"WorkingDir\": \"app\"}", "WorkingDir: the working directory");
    /* A file where the directory should be. */
    write_file(fixture->rootfs, "plain", "");
    build_fails(fixture, "{\"WorkingDir\": \"/plain\"}", "not a directory");
}

static void test_user_by_name(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"User\": \"alice\"}");
    struct oci_config *config = parse(fixture);
    assert_int_equal(config->process.uid, 1000);
    assert_int_equal(config->process.gid, 1000);
    /* The primary group first, then those that list alice. */
    assert_int_equal(config->process.additional_gid_count, 3);
    assert_int_equal(config->process.additional_gids[0], 1000);
    assert_int_equal(config->process.additional_gids[1], 10);
    assert_int_equal(config->process.additional_gids[2], 50);
    assert_string_equal(env_value(config->process.env, "HOME"), "/home/alice");
    oci_config_free(config);

    /* The image's User when the request gives none. */
    struct image_config image = fixture->image;
    image.user = "bob";
    assert_int_equal(build_with(fixture, "{}", &image, fixture->rootfs), 0);
    config = parse(fixture);
    assert_int_equal(config->process.uid, 1001);
    assert_has_gid(&config->process, 29);
    oci_config_free(config);
}

static void test_user_name_and_group(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"User\": \"alice:staff\"}");
    struct oci_config *config = parse(fixture);
    assert_int_equal(config->process.uid, 1000);
    assert_int_equal(config->process.gid, 50);
    /* An explicit group: no supplementary groups, as runc. */
    assert_int_equal(config->process.additional_gid_count, 1);
    assert_int_equal(config->process.additional_gids[0], 50);
    oci_config_free(config);

    build(fixture, "{\"User\": \"bob:0\"}");
    config = parse(fixture);
    assert_int_equal(config->process.uid, 1001);
    assert_int_equal(config->process.gid, 0);
    oci_config_free(config);
}

static void test_user_numbers(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"User\": \"1001:29\"}");
    struct oci_config *config = parse(fixture);
    assert_int_equal(config->process.uid, 1001);
    assert_int_equal(config->process.gid, 29);
    oci_config_free(config);

    /* Not in passwd: the numbers alone, group 0, HOME /. */
    build(fixture, "{\"User\": \"4242\"}");
    config = parse(fixture);
    assert_int_equal(config->process.uid, 4242);
    assert_int_equal(config->process.gid, 0);
    assert_string_equal(env_value(config->process.env, "HOME"), "/");
    oci_config_free(config);

    build(fixture, "{\"User\": \"2000:3000\"}");
    config = parse(fixture);
    assert_int_equal(config->process.uid, 2000);
    assert_int_equal(config->process.gid, 3000);
    oci_config_free(config);

    /* A number names the uid even when a name looks like it. */
    build(fixture, "{\"User\": \"1000\"}");
    config = parse(fixture);
    assert_int_equal(config->process.gid, 1000);
    assert_string_equal(env_value(config->process.env, "HOME"), "/home/alice");
    oci_config_free(config);

    build_fails(fixture, "{\"User\": \"99999999999\"}", "must be in range");
}

static void test_user_unknown(void **state)
{
    struct fixture *fixture = *state;

    build_fails(fixture, "{\"User\": \"nobody\"}", "");
    assert_string_equal(fixture->err.message,
                        "unable to find user nobody: no matching entries in passwd file");
    build_fails(fixture, "{\"User\": \"alice:nogroup\"}", "");
    assert_string_equal(fixture->err.message,
                        "unable to find group nogroup: no matching entries in group file");
}

/* /etc/passwd a symlink out of the root: resolved beneath it, where the
 * target does not exist, so the outside entry is never read. */
static void test_user_symlink_stays_in_root(void **state)
{
    struct fixture *fixture = *state;
    char rootfs[128], etc[128], outside[PATH_MAX], link[PATH_MAX];

    write_file(fixture->base, "shadow-outside", "mallory:x:666:666::/:/bin/sh\n");
    snprintf(outside, sizeof outside, "%s/shadow-outside", fixture->base);
    make_directory(fixture->base, "linked", rootfs, sizeof rootfs);
    make_directory(rootfs, "etc", etc, sizeof etc);

    snprintf(link, sizeof link, "%s/passwd", etc);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(build_with(fixture, "{\"User\": \"mallory\"}", &fixture->image, rootfs), -1);
    assert_string_equal(fixture->err.message,
                        "unable to find user mallory: no matching entries in passwd file");

    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink("../../shadow-outside", link), 0);
    assert_int_equal(build_with(fixture, "{\"User\": \"mallory\"}", &fixture->image, rootfs), -1);
    assert_string_equal(fixture->err.message,
                        "unable to find user mallory: no matching entries in passwd file");

    /* Without a readable passwd, the default user is still root. */
    assert_int_equal(build_with(fixture, "{}", &fixture->image, rootfs), 0);
    struct oci_config *config = parse(fixture);
    assert_int_equal(config->process.uid, 0);
    assert_int_equal(config->process.gid, 0);
    oci_config_free(config);
}

static void test_host_config_fields(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"HostConfig\": {\"ReadonlyRootfs\": true, \"Init\": true,"
                   " \"OomScoreAdj\": 500, \"ShmSize\": 1048576}}");
    struct oci_config *config = parse(fixture);
    assert_true(config->root_readonly);
    assert_true(fixture->extras.init);
    assert_true(config->process.has_oom_score_adj);
    assert_int_equal(config->process.oom_score_adj, 500);
    /* The network files follow the root's writability, as Docker's. */
    assert_true(find_mount(config, "/etc/hosts")->flags & MS_RDONLY);
    const struct oci_mount *shm = find_mount(config, "/dev/shm");
    assert_non_null(shm);
    assert_non_null(strstr(shm->data, "size=1048576"));
    oci_config_free(config);

    /* No init where it would not be PID 1. */
    build(fixture, "{\"HostConfig\": {\"Init\": true, \"PidMode\": \"host\"}}");
    assert_false(fixture->extras.init);

    build(fixture, "{\"Labels\": {\"maintainer\": \"me\", \"tier\": \"web\"}}");
    config = parse(fixture);
    assert_int_equal(config->annotation_count, 2);
    assert_string_equal(config->annotations[0].value, "me");
    oci_config_free(config);

    build_fails(fixture, "{\"HostConfig\": {\"Devices\": [{\"PathOnHost\": \"/dev/fuse\"}]}}",
                "HostConfig.Devices: not supported");
    build_fails(fixture, "{\"HostConfig\": {\"OomScoreAdj\": 1001}}", "HostConfig.OomScoreAdj");
    build_fails(fixture, "{\"HostConfig\": {\"ShmSize\": -1}}", "HostConfig.ShmSize");
    build_fails(fixture, "{\"StopSignal\": \"SIGNOPE\"}", "StopSignal: invalid signal");
    build(fixture, "{\"StopSignal\": \"SIGQUIT\"}");
    build(fixture, "{\"StopSignal\": \"9\"}");
}

static void test_privileged(void **state)
{
    struct fixture *fixture = *state;
    uint64_t all = 0;

    for (int number = 0; number <= CAP_LAST_CAP && oci_capability_name(number) != NULL; number++)
        all |= UINT64_C(1) << number;
    build(fixture, "{\"HostConfig\": {\"Privileged\": true, \"CapDrop\": [\"ALL\"]}}");
    struct oci_config *config = parse(fixture);
    uint64_t bounding = config->process.capabilities[OCI_CAPS_BOUNDING];
    assert_int_equal(bounding & all, bounding);
    assert_true(bounding & (UINT64_C(1) << CAP_SYS_ADMIN));
    assert_int_equal(config->process.capabilities[OCI_CAPS_EFFECTIVE], bounding);
    assert_int_equal(config->process.capabilities[OCI_CAPS_PERMITTED], bounding);
    assert_int_equal(config->process.capabilities[OCI_CAPS_INHERITABLE], 0);
    assert_null(config->seccomp);
    assert_null(config->masked_paths[0]);
    assert_null(config->readonly_paths[0]);
    assert_int_equal(config->resources.device_rule_count, 1);
    assert_true(config->resources.device_rules[0].allow);
    assert_int_equal(config->resources.device_rules[0].type, 'a');
    bool null_device = false;
    for (size_t i = 0; i < config->device_count; i++)
        null_device |= strcmp(config->devices[i].path, "/dev/null") == 0;
    assert_true(null_device);
    assert_false(find_mount(config, "/sys")->flags & MS_RDONLY);
    assert_false(find_mount(config, "/sys/fs/cgroup")->flags & MS_RDONLY);
    /* Keel's no_new_privs default holds unless the request says otherwise. */
    assert_true(config->process.no_new_privileges);
    oci_config_free(config);
}

static void test_capabilities(void **state)
{
    struct fixture *fixture = *state;
    json_t *default_seccomp = NULL;
    struct keel_error err = {0};

    build(fixture, "{\"HostConfig\": {\"CapAdd\": [\"ALL\"], \"CapDrop\": [\"net_raw\","
                   " \"CAP_MKNOD\"]}}");
    struct oci_config *config = parse(fixture);
    uint64_t set = config->process.capabilities[OCI_CAPS_BOUNDING];
    assert_true(set & (UINT64_C(1) << CAP_SYS_ADMIN));
    assert_false(set & (UINT64_C(1) << CAP_NET_RAW));
    assert_false(set & (UINT64_C(1) << CAP_MKNOD));
    assert_non_null(config->seccomp);
    oci_config_free(config);

    /* The profile follows the final set: CAP_SYS_ADMIN opens mount & co. */
    build(fixture, "{\"HostConfig\": {\"CapAdd\": [\"sys_admin\"], \"CapDrop\": [\"kill\"]}}");
    config = parse(fixture);
    set = config->process.capabilities[OCI_CAPS_EFFECTIVE];
    assert_int_equal(set, (oci_spec_default_capabilities | (UINT64_C(1) << CAP_SYS_ADMIN)) &
                              ~(UINT64_C(1) << CAP_KILL));
    oci_config_free(config);
    assert_int_equal(
        oci_spec_default_seccomp(oci_spec_default_capabilities, &default_seccomp, &err), 0);
    json_t *seccomp = json_object_get(json_object_get(fixture->config, "linux"), "seccomp");
    assert_non_null(seccomp);
    assert_false(json_equal(seccomp, default_seccomp));
    json_decref(default_seccomp);

    build(fixture, "{\"HostConfig\": {\"CapDrop\": [\"all\"], \"CapAdd\": [\"Chown\"]}}");
    config = parse(fixture);
    assert_int_equal(config->process.capabilities[OCI_CAPS_BOUNDING], UINT64_C(1) << CAP_CHOWN);
    oci_config_free(config);

    build_fails(fixture, "{\"HostConfig\": {\"CapAdd\": [\"CAP_FLY\"]}}", "");
    assert_string_equal(fixture->err.message,
                        "HostConfig.CapAdd[0]: unknown capability \"CAP_FLY\"");
    build_fails(fixture, "{\"HostConfig\": {\"CapDrop\": [\"chown\", \"fly\"]}}",
                "HostConfig.CapDrop[1]: unknown capability \"CAP_FLY\"");
    build_fails(fixture, "{\"HostConfig\": {\"CapAdd\": [1]}}",
                "HostConfig.CapAdd[0]: expected a string");
}

static void test_security_options(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"seccomp=unconfined\"]}}");
    struct oci_config *config = parse(fixture);
    assert_null(config->seccomp);
    assert_true(config->process.no_new_privileges);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"seccomp:unconfined\","
                   " \"no-new-privileges:false\"]}}");
    config = parse(fixture);
    assert_null(config->seccomp);
    assert_false(config->process.no_new_privileges);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges=false\","
                   " \"no-new-privileges\"]}}");
    config = parse(fixture);
    assert_true(config->process.no_new_privileges);
    assert_non_null(config->seccomp);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges=true\"]}}");

    build_fails(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"apparmor=unconfined\"]}}",
                "HostConfig.SecurityOpt[0]: AppArmor");
    build_fails(fixture,
                "{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges\","
                " \"label=disable\"]}}",
                "HostConfig.SecurityOpt[1]: SELinux");
    build_fails(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"seccomp={\\\"x\\\": 1}\"]}}",
                "custom seccomp profiles are not supported");
    build_fails(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges:maybe\"]}}",
                "invalid no-new-privileges value");
    build_fails(fixture, "{\"HostConfig\": {\"SecurityOpt\": [\"bogus\"]}}",
                "invalid security option \"bogus\"");
}

static void test_binds(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"HostConfig\": {\"Binds\": [\"/srv/data/:/data/sub:ro\", \"/tmp:/data\","
                   " \"/var/log:/logs:rw,rslave\", \"/etc/myhosts:/etc/hosts:z\"]}}");
    struct oci_config *config = parse(fixture);
    const struct oci_mount *data = find_mount(config, "/data/sub");
    assert_non_null(data);
    assert_string_equal(data->source, "/srv/data");
    assert_true(data->bind && data->recursive);
    assert_true(data->flags & MS_RDONLY);
    assert_int_equal(data->propagation, MS_PRIVATE | MS_REC);
    const struct oci_mount *tmp = find_mount(config, "/data");
    assert_non_null(tmp);
    assert_false(tmp->flags & MS_RDONLY);
    assert_true(tmp->clear_flags & MS_RDONLY);
    /* Parents before children. */
    assert_true(tmp < data);
    assert_int_equal(find_mount(config, "/logs")->propagation, MS_SLAVE | MS_REC);
    assert_int_equal(config->rootfs_propagation, MS_SLAVE | MS_REC);
    /* The request's /etc/hosts replaces the files' one. */
    assert_string_equal(find_mount(config, "/etc/hosts")->source, "/etc/myhosts");
    size_t hosts = 0;
    for (size_t i = 0; i < config->mount_count; i++)
        hosts += strcmp(config->mounts[i].destination, "/etc/hosts") == 0;
    assert_int_equal(hosts, 1);
    oci_config_free(config);

    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/b\", \"./rel:/c\"]}}",
                "HostConfig.Binds[1]: source \"./rel\" is not an absolute path");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"myvolume:/c\"]}}",
                "HostConfig.Binds[0]: named volume \"myvolume\" is not supported");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:rel\"]}}", "is not an absolute path");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/\"]}}", "destination can't be '/'");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/b:ro,rw\"]}}", "more than one");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/b:nocopy\"]}}", "invalid mode");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a\"]}}", "invalid volume specification");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/b:ro:x\"]}}",
                "invalid volume specification");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [\"/a:/b\", \"/c:/b/\"]}}",
                "Duplicate mount point: /b");
    build_fails(fixture, "{\"HostConfig\": {\"Binds\": [7]}}",
                "HostConfig.Binds[0]: expected a string");
}

static void test_network_modes(void **state)
{
    struct fixture *fixture = *state;
    char host_name[HOST_NAME_MAX + 1] = "";

    assert_int_equal(gethostname(host_name, sizeof host_name - 1), 0);
    build(fixture, "{\"HostConfig\": {\"NetworkMode\": \"host\"}}");
    struct oci_config *config = parse(fixture);
    assert_null(oci_config_namespace(config, CLONE_NEWNET));
    assert_non_null(oci_config_namespace(config, CLONE_NEWUTS));
    /* Docker names a host-network container after the host. */
    assert_string_equal(config->hostname, host_name);
    assert_string_equal(fixture->extras.hostname, host_name);
    for (size_t i = 0; i < config->sysctl_count; i++)
        assert_true(strncmp(config->sysctls[i].key, "net.", 4) != 0);
    oci_config_free(config);

    build(fixture, "{\"Hostname\": \"web\", \"Domainname\": \"example.org\","
                   " \"HostConfig\": {\"NetworkMode\": \"none\"}}");
    config = parse(fixture);
    assert_non_null(oci_config_namespace(config, CLONE_NEWNET));
    assert_string_equal(config->hostname, "web");
    assert_string_equal(config->domainname, "example.org");
    assert_string_equal(fixture->extras.hostname, "web");
    assert_string_equal(env_value(config->process.env, "HOSTNAME"), "web");
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"NetworkMode\": \"bridge\"}}");
    build(fixture, "{\"HostConfig\": {\"NetworkMode\": \"default\"}}");
    build_fails(fixture, "{\"HostConfig\": {\"NetworkMode\": \"container:x\"}}",
                "HostConfig.NetworkMode: \"container:x\" is not supported");
    build_fails(fixture, "{\"HostConfig\": {\"NetworkMode\": \"mynet\"}}", "\"mynet\"");
}

static void test_pid_ipc_uts_modes(void **state)
{
    struct fixture *fixture = *state;
    char host_name[HOST_NAME_MAX + 1] = "";

    build(fixture, "{\"HostConfig\": {\"PidMode\": \"host\", \"IpcMode\": \"host\","
                   " \"CgroupnsMode\": \"host\"}}");
    struct oci_config *config = parse(fixture);
    assert_null(oci_config_namespace(config, CLONE_NEWPID));
    assert_null(oci_config_namespace(config, CLONE_NEWIPC));
    assert_null(oci_config_namespace(config, CLONE_NEWCGROUP));
    const struct oci_mount *shm = find_mount(config, "/dev/shm");
    assert_non_null(shm);
    assert_true(shm->bind);
    assert_string_equal(shm->source, "/dev/shm");
    oci_config_free(config);

    /* Sharing the host's UTS namespace: no hostname in the config at all. */
    assert_int_equal(gethostname(host_name, sizeof host_name - 1), 0);
    build(fixture, "{\"HostConfig\": {\"UTSMode\": \"host\"}}");
    config = parse(fixture);
    assert_null(oci_config_namespace(config, CLONE_NEWUTS));
    assert_null(config->hostname);
    assert_string_equal(fixture->extras.hostname, host_name);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"IpcMode\": \"none\", \"PidMode\": \"private\"}}");
    config = parse(fixture);
    assert_non_null(oci_config_namespace(config, CLONE_NEWIPC));
    assert_null(find_mount(config, "/dev/shm"));
    oci_config_free(config);

    build_fails(fixture, "{\"Hostname\": \"x\", \"HostConfig\": {\"UTSMode\": \"host\"}}",
                "conflicting options: hostname and the UTS mode");
    build_fails(fixture, "{\"HostConfig\": {\"PidMode\": \"container:abc\"}}",
                "HostConfig.PidMode: \"container:abc\" is not supported");
    build_fails(fixture, "{\"HostConfig\": {\"IpcMode\": \"container:abc\"}}",
                "HostConfig.IpcMode: \"container:abc\"");
    build_fails(fixture, "{\"HostConfig\": {\"UTSMode\": \"container:abc\"}}",
                "HostConfig.UTSMode: \"container:abc\"");
}

static void test_resources(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"HostConfig\": {\"Memory\": 67108864, \"PidsLimit\": 100,"
                   " \"NanoCpus\": 500000000, \"CpuShares\": 512}}");
    struct oci_config *config = parse(fixture);
    const struct oci_resources *resources = &config->resources;
    assert_true(resources->has_memory_limit);
    assert_int_equal(resources->memory_limit, 67108864);
    /* Docker's default swap: as much again. */
    assert_true(resources->has_memory_swap);
    assert_int_equal(resources->memory_swap, 2 * 67108864);
    assert_true(resources->has_pids_limit);
    assert_int_equal(resources->pids_limit, 100);
    assert_true(resources->has_cpu_quota && resources->has_cpu_period);
    assert_int_equal(resources->cpu_quota, 50000);
    assert_int_equal(resources->cpu_period, 100000);
    assert_true(resources->has_cpu_shares);
    assert_int_equal(resources->cpu_shares, 512);
    /* The default device rules stay. */
    assert_true(resources->device_rule_count > 1);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"Memory\": 67108864, \"MemorySwap\": -1,"
                   " \"PidsLimit\": -1, \"CpuShares\": 1}}");
    config = parse(fixture);
    assert_int_equal(config->resources.memory_swap, -1);
    assert_false(config->resources.has_pids_limit);
    assert_int_equal(config->resources.cpu_shares, 2);
    assert_false(config->resources.has_cpu_quota);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"Memory\": 0, \"PidsLimit\": 0, \"NanoCpus\": 0,"
                   " \"CpuShares\": 0, \"MemorySwap\": 0}}");
    config = parse(fixture);
    assert_false(config->resources.has_memory_limit);
    assert_false(config->resources.has_pids_limit);
    assert_false(config->resources.has_cpu_shares);
    oci_config_free(config);

    build(fixture, "{\"HostConfig\": {\"CpuQuota\": 20000, \"CpuPeriod\": 50000}}");
    config = parse(fixture);
    assert_int_equal(config->resources.cpu_quota, 20000);
    assert_int_equal(config->resources.cpu_period, 50000);
    oci_config_free(config);

    build_fails(fixture, "{\"HostConfig\": {\"Memory\": 1000}}",
                "HostConfig.Memory: minimum memory limit allowed is 6MB");
    build_fails(fixture, "{\"HostConfig\": {\"Memory\": -5}}", "HostConfig.Memory");
    build_fails(fixture, "{\"HostConfig\": {\"Memory\": 67108864, \"MemorySwap\": 1000}}",
                "HostConfig.MemorySwap: must be at least Memory");
    build_fails(fixture, "{\"HostConfig\": {\"MemorySwap\": 67108864}}",
                "HostConfig.MemorySwap: needs a Memory limit");
    build_fails(fixture, "{\"HostConfig\": {\"MemorySwap\": -2}}", "HostConfig.MemorySwap");
    build_fails(fixture, "{\"HostConfig\": {\"PidsLimit\": -5}}", "HostConfig.PidsLimit");
    build_fails(fixture, "{\"HostConfig\": {\"NanoCpus\": -1}}", "HostConfig.NanoCpus");
    build_fails(fixture, "{\"HostConfig\": {\"NanoCpus\": 1000000000000}}", "range of CPUs");
    build_fails(fixture, "{\"HostConfig\": {\"NanoCpus\": 1000000}}", "range of CPUs");
    build_fails(fixture, "{\"HostConfig\": {\"NanoCpus\": 500000000, \"CpuQuota\": 5000}}",
                "conflicting options");
    build_fails(fixture, "{\"HostConfig\": {\"CpuShares\": -1}}", "HostConfig.CpuShares");
    build_fails(fixture, "{\"HostConfig\": {\"CpuPeriod\": 10}}", "HostConfig.CpuPeriod");
    build_fails(fixture, "{\"HostConfig\": {\"Memory\": \"1g\"}}",
                "HostConfig.Memory: expected an integer");
}

static void test_sysctls(void **state)
{
    struct fixture *fixture = *state;

    build(fixture, "{\"HostConfig\": {\"Sysctls\": {\"net.core.somaxconn\": \"1024\","
                   " \"kernel.shmmax\": \"65536\"}}}");
    struct oci_config *config = parse(fixture);
    bool found = false;
    for (size_t i = 0; i < config->sysctl_count; i++)
        found |= strcmp(config->sysctls[i].key, "net.core.somaxconn") == 0 &&
                 strcmp(config->sysctls[i].value, "1024") == 0;
    assert_true(found);
    oci_config_free(config);

    build_fails(fixture, "{\"HostConfig\": {\"Sysctls\": {\"kernel.core_pattern\": \"|x\"}}}",
                "HostConfig.Sysctls: sysctl \"kernel.core_pattern\"");
    build_fails(fixture,
                "{\"HostConfig\": {\"NetworkMode\": \"host\","
                " \"Sysctls\": {\"net.core.somaxconn\": \"1\"}}}",
                "host's network namespace");
    build_fails(fixture, "{\"HostConfig\": {\"Sysctls\": {\"net.core.somaxconn\": 1}}}",
                "HostConfig.Sysctls.net.core.somaxconn: expected a string");
}

static void test_wrong_types(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *request, *message;
    } cases[] = {
        {"{\"Env\": [\"A=1\", 2]}", "Env[1]: expected a string"},
        {"{\"Env\": \"A=1\"}", "Env: expected an array"},
        {"{\"Cmd\": 5}", "Cmd: expected an array of strings"},
        {"{\"Entrypoint\": [\"a\", null]}", "Entrypoint[1]: expected a string"},
        {"{\"User\": 0}", "User: expected a string"},
        {"{\"WorkingDir\": []}", "WorkingDir: expected a string"},
        {"{\"Tty\": \"yes\"}", "Tty: expected a boolean"},
        {"{\"Labels\": {\"a\": 1}}", "Labels.a: expected a string"},
        {"{\"Labels\": []}", "Labels: expected an object"},
        {"{\"HostConfig\": \"x\"}", "HostConfig: expected an object"},
        {"{\"HostConfig\": {\"Privileged\": 1}}", "HostConfig.Privileged: expected a boolean"},
        {"{\"HostConfig\": {\"Binds\": \"/a:/b\"}}", "HostConfig.Binds: expected an array"},
        {"{\"HostConfig\": {\"NetworkMode\": 1}}", "HostConfig.NetworkMode: expected a string"},
        {"{\"HostConfig\": {\"PidsLimit\": 1.5}}", "HostConfig.PidsLimit: expected an integer"},
        {"{\"HostConfig\": {\"SecurityOpt\": [true]}}",
         "HostConfig.SecurityOpt[0]: expected a string"},
        {"{\"Hostname\": "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         "Hostname: longer than 64"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        build_fails(fixture, cases[i].request, cases[i].message);
}

static void test_bad_arguments(void **state)
{
    struct fixture *fixture = *state;
    json_t *config = NULL, *array = json_array(), *request = json_object();
    struct container_spec_extras extras;
    struct keel_error err = {0};

    assert_int_equal(
        container_spec_build(array, NULL, ID, fixture->rootfs, NULL, &config, &extras, &err), -1);
    assert_int_equal(container_spec_build(request, &fixture->image, "abc", fixture->rootfs, NULL,
                                          &config, &extras, &err),
                     -1);
    assert_non_null(strstr(err.message, "container id"));
    assert_int_equal(
        container_spec_build(request, &fixture->image, ID, "rootfs", NULL, &config, &extras, &err),
        -1);
    assert_null(config);
    assert_null(extras.hostname);
    /* files NULL: no network files mounted. */
    assert_int_equal(container_spec_build(request, &fixture->image, ID, fixture->rootfs, NULL,
                                          &config, &extras, &err),
                     0);
    assert_null(json_object_get(json_object_get(config, "linux"), "nothing"));
    json_t *mounts = json_object_get(config, "mounts");
    for (size_t i = 0; i < json_array_size(mounts); i++)
        assert_string_not_equal(
            json_string_value(json_object_get(json_array_get(mounts, i), "destination")),
            "/etc/hosts");
    json_decref(config);
    container_spec_extras_free(&extras);
    json_decref(array);
    json_decref(request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_entrypoint_drops_image_cmd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_cmd_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_override_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_working_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_name_and_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_symlink_stays_in_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_config_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_privileged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_security_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pid_ipc_uts_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sysctls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
