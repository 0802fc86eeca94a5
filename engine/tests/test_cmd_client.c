/* test_cmd_client.c — the keel client's pure parts: options into the create body, units, frames,
 * tables, templates, exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd_client.h"

/* ---- helpers ---- */

/* Run a printer into a string (heap). */
#define CAPTURE(text, statement)                                                                   \
    do {                                                                                           \
        size_t capture_length_ = 0;                                                                \
        FILE *out = open_memstream(&(text), &capture_length_);                                     \
        assert_non_null(out);                                                                      \
        statement;                                                                                 \
        fclose(out);                                                                               \
    } while (0)

static json_t *parse_create(int expected, const char *const *arguments, bool run)
{
    char *argv[64];
    int argc = 0;
    struct client_create create;
    struct keel_error err = {0};
    int exit_code;

    for (; arguments[argc] != NULL; argc++)
        argv[argc] = (char *)arguments[argc];
    argv[argc] = NULL;
    int result = client_create_parse(argc, argv, run, &create, &exit_code, &err);
    assert_int_equal(result, expected);
    if (result != 0)
        return NULL;
    json_t *request = json_incref(create.request);
    /* the create struct's own fields ride along for the tests */
    json_object_set_new(request, "test:name", create.name ? json_string(create.name) : json_null());
    json_object_set_new(request, "test:detach", json_boolean(create.detach));
    json_object_set_new(request, "test:auto_remove", json_boolean(create.auto_remove));
    client_create_free(&create);
    return request;
}

static const json_t *host(const json_t *request, const char *field)
{
    return json_object_get(json_object_get(request, "HostConfig"), field);
}

/* ---- the create request ---- */

static void test_create_minimal(void **state)
{
    (void)state;
    json_t *request = parse_create(0, (const char *[]){"run", "busybox", NULL}, true);
    assert_string_equal(json_string_value(json_object_get(request, "Image")), "busybox");
    assert_true(json_is_null(json_object_get(request, "Cmd")));
    assert_true(json_is_null(json_object_get(request, "Env")));
    assert_true(json_is_null(json_object_get(request, "Entrypoint")));
    assert_true(json_is_true(json_object_get(request, "AttachStdout")));
    assert_true(json_is_false(json_object_get(request, "AttachStdin")));
    assert_true(json_is_false(json_object_get(request, "StdinOnce")));
    assert_string_equal(json_string_value(host(request, "NetworkMode")), "default");
    assert_string_equal(json_string_value(json_object_get(host(request, "RestartPolicy"), "Name")),
                        "no");
    assert_null(host(request, "Init")); /* only when --init is given */
    assert_true(json_is_object(
        json_object_get(json_object_get(request, "NetworkingConfig"), "EndpointsConfig")));
    json_decref(request);
}

static void test_create_every_flag(void **state)
{
    (void)state;
    setenv("TEST_CLIENT_FROM_ENV", "inherited", 1);
    unsetenv("TEST_CLIENT_UNSET");
    json_t *request = parse_create(0,
                                   (const char *[]){"run",
                                                    "-d",
                                                    "-i",
                                                    "--rm",
                                                    "-e",
                                                    "A=1",
                                                    "--env",
                                                    "TEST_CLIENT_FROM_ENV",
                                                    "-e",
                                                    "TEST_CLIENT_UNSET",
                                                    "-v",
                                                    "/src:/dst:ro",
                                                    "--volume",
                                                    "/anonymous",
                                                    "--name",
                                                    "web",
                                                    "--privileged",
                                                    "--cap-add",
                                                    "NET_ADMIN",
                                                    "--cap-drop",
                                                    "ALL",
                                                    "-u",
                                                    "1000:1000",
                                                    "-w",
                                                    "/work",
                                                    "--entrypoint",
                                                    "/bin/sh",
                                                    "-m",
                                                    "512m",
                                                    "--pids-limit",
                                                    "100",
                                                    "--init",
                                                    "--read-only",
                                                    "--network",
                                                    "host",
                                                    "-l",
                                                    "a=b",
                                                    "--label",
                                                    "flag",
                                                    "-h",
                                                    "box",
                                                    "--cpus",
                                                    "1.5",
                                                    "--security-opt",
                                                    "no-new-privileges",
                                                    "--security-opt",
                                                    "seccomp:unconfined",
                                                    "--stop-signal",
                                                    "SIGINT",
                                                    "--stop-timeout",
                                                    "3",
                                                    "--sig-proxy=false",
                                                    "busybox",
                                                    "-c",
                                                    "echo hi",
                                                    NULL},
                                   true);
    assert_non_null(request);
    assert_true(json_is_true(json_object_get(request, "test:detach")));
    assert_true(json_is_true(json_object_get(request, "test:auto_remove")));
    assert_string_equal(json_string_value(json_object_get(request, "test:name")), "web");
    /* -d: nothing attached, stdin open but not "once" */
    assert_true(json_is_false(json_object_get(request, "AttachStdout")));
    assert_true(json_is_false(json_object_get(request, "AttachStdin")));
    assert_true(json_is_true(json_object_get(request, "OpenStdin")));
    assert_true(json_is_false(json_object_get(request, "StdinOnce")));
    json_t *env = json_object_get(request, "Env");
    assert_int_equal(json_array_size(env), 3);
    assert_string_equal(json_string_value(json_array_get(env, 0)), "A=1");
    assert_string_equal(json_string_value(json_array_get(env, 1)),
                        "TEST_CLIENT_FROM_ENV=inherited");
    assert_string_equal(json_string_value(json_array_get(env, 2)), "TEST_CLIENT_UNSET");
    assert_string_equal(json_string_value(json_array_get(host(request, "Binds"), 0)),
                        "/src:/dst:ro");
    assert_non_null(json_object_get(json_object_get(request, "Volumes"), "/anonymous"));
    assert_true(json_is_true(host(request, "Privileged")));
    assert_string_equal(json_string_value(json_array_get(host(request, "CapAdd"), 0)), "NET_ADMIN");
    assert_string_equal(json_string_value(json_array_get(host(request, "CapDrop"), 0)), "ALL");
    assert_string_equal(json_string_value(json_object_get(request, "User")), "1000:1000");
    assert_string_equal(json_string_value(json_object_get(request, "WorkingDir")), "/work");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(request, "Entrypoint"), 0)), "/bin/sh");
    assert_int_equal(json_integer_value(host(request, "Memory")), 512 * 1024 * 1024);
    assert_int_equal(json_integer_value(host(request, "PidsLimit")), 100);
    assert_true(json_is_true(host(request, "Init")));
    assert_true(json_is_true(host(request, "ReadonlyRootfs")));
    assert_string_equal(json_string_value(host(request, "NetworkMode")), "host");
    assert_string_equal(json_string_value(json_object_get(json_object_get(request, "Labels"), "a")),
                        "b");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(request, "Labels"), "flag")), "");
    assert_string_equal(json_string_value(json_object_get(request, "Hostname")), "box");
    assert_int_equal(json_integer_value(host(request, "NanoCpus")), 1500000000LL);
    assert_string_equal(json_string_value(json_array_get(host(request, "SecurityOpt"), 0)),
                        "no-new-privileges");
    assert_string_equal(json_string_value(json_array_get(host(request, "SecurityOpt"), 1)),
                        "seccomp:unconfined");
    assert_string_equal(json_string_value(json_object_get(request, "StopSignal")), "SIGINT");
    assert_int_equal(json_integer_value(json_object_get(request, "StopTimeout")), 3);
    assert_true(json_is_true(host(request, "AutoRemove")));
    /* after the image: the command, its own flags untouched */
    json_t *command = json_object_get(request, "Cmd");
    assert_int_equal(json_array_size(command), 2);
    assert_string_equal(json_string_value(json_array_get(command, 0)), "-c");
    assert_string_equal(json_string_value(json_array_get(command, 1)), "echo hi");
    json_decref(request);
}

static void test_create_attached_stdin_once(void **state)
{
    (void)state;
    json_t *request = parse_create(0, (const char *[]){"run", "-it", "busybox", "sh", NULL}, true);
    assert_true(json_is_true(json_object_get(request, "AttachStdin")));
    assert_true(json_is_true(json_object_get(request, "StdinOnce")));
    assert_true(json_is_true(json_object_get(request, "Tty")));
    json_decref(request);
    /* create attaches as run does: docker's parse is the same */
    request = parse_create(0, (const char *[]){"create", "-i", "busybox", NULL}, false);
    assert_true(json_is_true(json_object_get(request, "StdinOnce")));
    json_decref(request);
}

static void test_create_entrypoint_reset_and_restart(void **state)
{
    (void)state;
    json_t *request = parse_create(
        0, (const char *[]){"run", "--entrypoint=", "--restart", "on-failure:5", "busybox", NULL},
        true);
    json_t *entrypoint = json_object_get(request, "Entrypoint");
    assert_int_equal(json_array_size(entrypoint), 1);
    assert_string_equal(json_string_value(json_array_get(entrypoint, 0)), "");
    const json_t *policy = host(request, "RestartPolicy");
    assert_string_equal(json_string_value(json_object_get(policy, "Name")), "on-failure");
    assert_int_equal(json_integer_value(json_object_get(policy, "MaximumRetryCount")), 5);
    json_decref(request);
}

static void test_create_refusals(void **state)
{
    (void)state;
    char *argv[] = {"run", "--rm", "--restart", "always", "busybox", NULL};
    struct client_create create;
    struct keel_error err = {0};
    int exit_code;

    assert_int_equal(client_create_parse(5, argv, true, &create, &exit_code, &err), -1);
    assert_non_null(strstr(err.message, "Conflicting options: --restart and --rm"));

    char *unknown[] = {"run", "--fly", "busybox", NULL};
    assert_int_equal(client_create_parse(3, unknown, true, &create, &exit_code, &err), 1);
    assert_int_equal(exit_code, CLIENT_EXIT_ENGINE);

    char *bad_memory[] = {"run", "-m", "lots", "busybox", NULL};
    assert_int_equal(client_create_parse(4, bad_memory, true, &create, &exit_code, &err), 1);
    assert_int_equal(exit_code, CLIENT_EXIT_ENGINE);

    char *missing_value[] = {"run", "--name", NULL};
    assert_int_equal(client_create_parse(2, missing_value, true, &create, &exit_code, &err), 1);
    assert_int_equal(exit_code, CLIENT_EXIT_ENGINE);

    char *no_image[] = {"run", "-d", NULL};
    assert_int_equal(client_create_parse(2, no_image, true, &create, &exit_code, &err), 1);
    assert_int_equal(exit_code, CLIENT_EXIT_FAILURE);

    /* -d is run's, not create's */
    char *detached_create[] = {"create", "-d", "busybox", NULL};
    assert_int_equal(client_create_parse(3, detached_create, false, &create, &exit_code, &err), 1);
    assert_int_equal(exit_code, CLIENT_EXIT_ENGINE);
}

/* ---- units ---- */

static void test_memory_units(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {
        {"100", 100},       {"100b", 100},     {"1k", 1024},          {"1K", 1024},
        {"1kb", 1024},      {"2KiB", 2048},    {"512m", 512LL << 20}, {"1.5g", 3LL << 29},
        {"1 g", 1LL << 30}, {"2t", 2LL << 40},
    };
    static const char *const bad[] = {"", "m", "-1", "1x", "1e3", "1mm", "1.5.5g", "lots"};
    struct keel_error err = {0};
    int64_t bytes;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(client_parse_memory(good[i].text, &bytes, &err), 0);
        assert_int_equal(bytes, good[i].bytes);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(client_parse_memory(bad[i], &bytes, &err), -1);
        assert_non_null(strstr(err.message, "invalid size"));
    }
}

static void test_cpus(void **state)
{
    (void)state;
    struct keel_error err = {0};
    int64_t nano;

    assert_int_equal(client_parse_cpus("1.5", &nano, &err), 0);
    assert_int_equal(nano, 1500000000LL);
    assert_int_equal(client_parse_cpus("2", &nano, &err), 0);
    assert_int_equal(nano, 2000000000LL);
    assert_int_equal(client_parse_cpus(".25", &nano, &err), 0);
    assert_int_equal(nano, 250000000LL);
    assert_int_equal(client_parse_cpus("0.000000001", &nano, &err), 0);
    assert_int_equal(nano, 1);
    assert_int_equal(client_parse_cpus("0.0000000001", &nano, &err), -1);
    assert_non_null(strstr(err.message, "too precise"));
    assert_int_equal(client_parse_cpus("two", &nano, &err), -1);
    assert_int_equal(client_parse_cpus(".", &nano, &err), -1);
}

static void test_restart_policy(void **state)
{
    (void)state;
    struct keel_error err = {0};
    json_t *policy;

    assert_int_equal(client_parse_restart("unless-stopped", &policy, &err), 0);
    assert_string_equal(json_string_value(json_object_get(policy, "Name")), "unless-stopped");
    assert_int_equal(json_integer_value(json_object_get(policy, "MaximumRetryCount")), 0);
    json_decref(policy);
    assert_int_equal(client_parse_restart(":3", &policy, &err), -1);
    assert_int_equal(client_parse_restart("sometimes", &policy, &err), -1);
    assert_string_equal(err.message, "invalid restart policy sometimes");
    assert_int_equal(client_parse_restart("n", &policy, &err), -1);
    assert_int_equal(client_parse_restart("always:3", &policy, &err), -1);
    assert_int_equal(client_parse_restart("on-failure:1:2", &policy, &err), -1);
    assert_int_equal(client_parse_restart("on-failure:three", &policy, &err), -1);
    assert_non_null(strstr(err.message, "must be an integer"));
}

/* ---- frames ---- */

struct collected {
    char out[256];
    size_t out_length;
    char err[256];
    size_t err_length;
};

static int collect(int stream, const void *data, size_t length, void *user)
{
    struct collected *collected = user;
    if (stream == 2) {
        memcpy(collected->err + collected->err_length, data, length);
        collected->err_length += length;
    } else {
        memcpy(collected->out + collected->out_length, data, length);
        collected->out_length += length;
    }
    return 0;
}

static size_t frame(unsigned char *to, int stream, const char *payload)
{
    size_t length = strlen(payload);
    unsigned char header[8] = {(unsigned char)stream,
                               0,
                               0,
                               0,
                               (unsigned char)(length >> 24),
                               (unsigned char)(length >> 16),
                               (unsigned char)(length >> 8),
                               (unsigned char)length};
    memcpy(to, header, 8);
    memcpy(to + 8, payload, length);
    return 8 + length;
}

static void test_demux_odd_pieces(void **state)
{
    (void)state;
    unsigned char stream[512];
    size_t length = 0;
    length += frame(stream + length, 1, "hello ");
    length += frame(stream + length, 2, "oops\n");
    length += frame(stream + length, 1, ""); /* an empty frame is legal */
    length += frame(stream + length, 0, "world\n");

    static const size_t pieces[] = {1, 2, 3, 5, 7, 8, 9, 13, 512};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        struct client_demux demux = {0};
        struct collected collected = {0};
        struct keel_error err = {0};
        for (size_t offset = 0; offset < length; offset += pieces[p]) {
            size_t take = length - offset < pieces[p] ? length - offset : pieces[p];
            assert_int_equal(
                client_demux_feed(&demux, stream + offset, take, collect, &collected, &err), 0);
        }
        assert_true(client_demux_complete(&demux));
        assert_int_equal(collected.out_length, strlen("hello world\n"));
        assert_memory_equal(collected.out, "hello world\n", collected.out_length);
        assert_int_equal(collected.err_length, 5);
        assert_memory_equal(collected.err, "oops\n", 5);
        client_demux_free(&demux);
    }
}

static void test_demux_errors(void **state)
{
    (void)state;
    unsigned char stream[128];
    struct client_demux demux = {0};
    struct collected collected = {0};
    struct keel_error err = {0};

    size_t length = frame(stream, 3, "container exploded");
    assert_int_equal(client_demux_feed(&demux, stream, length - 4, collect, &collected, &err), 0);
    assert_false(client_demux_complete(&demux));
    assert_int_equal(client_demux_feed(&demux, stream + length - 4, 4, collect, &collected, &err),
                     -1);
    assert_string_equal(err.message, "error from daemon in stream: container exploded");
    client_demux_free(&demux);

    length = frame(stream, 7, "x");
    assert_int_equal(client_demux_feed(&demux, stream, length, collect, &collected, &err), -1);
    assert_int_equal(err.errno_value, EPROTO);
    client_demux_free(&demux);
}

/* A hijacked stream over a socketpair: stdin goes out and is half-closed,
 * frames come back to stdout and stderr. */
static void test_stream_round_trip(void **state)
{
    (void)state;
    int pair[2], input[2], output[2], errors[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    assert_int_equal(pipe2(input, O_CLOEXEC), 0);
    assert_int_equal(pipe2(output, O_CLOEXEC), 0);
    assert_int_equal(pipe2(errors, O_CLOEXEC), 0);

    pid_t engine = fork();
    assert_true(engine >= 0);
    if (engine == 0) {
        /* the engine: read stdin to its end (the half close), answer in frames */
        char received[64];
        size_t got = 0;
        ssize_t n;
        /* only the socket: a copy of the input pipe would keep it from ending */
        close(pair[0]);
        close(input[0]);
        close(input[1]);
        while ((n = read(pair[1], received + got, sizeof received - got)) > 0)
            got += (size_t)n;
        unsigned char reply[256];
        size_t length = frame(reply, 1, "got:");
        memcpy(reply + length, "", 0);
        char echoed[80];
        snprintf(echoed, sizeof echoed, "%.*s", (int)got, received);
        length += frame(reply + length, 1, echoed);
        length += frame(reply + length, 2, "warn");
        _exit(write(pair[1], reply, length) == (ssize_t)length ? 0 : 1);
    }
    close(pair[1]);
    assert_int_equal(write(input[1], "ping", 4), 4);
    close(input[1]);

    alarm(10); /* a stream that never ends fails the test instead of hanging it */
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    dup2(output[1], STDOUT_FILENO);
    dup2(errors[1], STDERR_FILENO);
    struct client_stream stream = {.socket = pair[0], .multiplexed = true, .input = input[0]};
    sigemptyset(&stream.signals);
    struct keel_error err = {0};
    int result = client_stream_run(&stream, &err);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(output[1]);
    close(errors[1]);

    alarm(0);
    assert_int_equal(result, 0);
    char text[64] = {0};
    assert_true(read(output[0], text, sizeof text - 1) > 0);
    assert_string_equal(text, "got:ping");
    memset(text, 0, sizeof text);
    assert_true(read(errors[0], text, sizeof text - 1) > 0);
    assert_string_equal(text, "warn");
    int status;
    assert_int_equal(waitpid(engine, &status, 0), engine);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pair[0]);
    close(input[0]);
    close(output[0]);
    close(errors[0]);
}

/* ctrl-p ctrl-q on a tty detaches: what came before it is sent, the rest not. */
static void test_stream_detach_keys(void **state)
{
    (void)state;
    int pair[2], input[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    assert_int_equal(pipe2(input, O_CLOEXEC), 0);
    assert_int_equal(write(input[1],
                           "ab\x10"
                           "c\x10\x11never",
                           10),
                     10);

    alarm(10);
    struct client_stream stream = {.socket = pair[0], .input = input[0], .detach_keys = true};
    sigemptyset(&stream.signals);
    struct keel_error err = {0};
    assert_int_equal(client_stream_run(&stream, &err), 1);
    alarm(0);
    close(pair[0]);
    char sent[16] = {0};
    assert_int_equal(read(pair[1], sent, sizeof sent - 1), 4);
    assert_memory_equal(sent,
                        "ab\x10"
                        "c",
                        4); /* a lone ctrl-p is given back */
    close(pair[1]);
    close(input[0]);
    close(input[1]);
}

/* ---- tables and formats ---- */

static void test_table_widths(void **state)
{
    (void)state;
    char *text = NULL;
    CAPTURE(text,
            client_table_write(out, "A\tLONG HEADER\tLAST\nvalue-longer-than-ten\tx\tz\n", 10, 3));
    assert_string_equal(text, "A                       LONG HEADER   LAST\n"
                              "value-longer-than-ten   x             z\n");
    free(text);
    /* runes, not bytes: the ellipsis is one column wide */
    CAPTURE(text, client_table_write(out, "C\tN\n\"abcdefghijklmnopqrs…\"\tn\n", 10, 3));
    assert_string_equal(text, "C                        N\n"
                              "\"abcdefghijklmnopqrs…\"   n\n");
    free(text);
}

static void test_format_write(void **state)
{
    (void)state;
    json_t *headers = json_pack("{s:s,s:s}", "ID", "CONTAINER ID", "Names", "NAMES");
    json_t *rows = json_pack("[{s:s,s:s},{s:s,s:s}]", "ID", "abc", "Names", "web<1>", "ID", "def",
                             "Names", "db");
    struct keel_error err = {0};
    char *text = NULL;

    CAPTURE(text, assert_int_equal(client_format_write(out, NULL, "table {{.ID}}\t{{.Names}}",
                                                       headers, rows, &err),
                                   0));
    assert_string_equal(text, "CONTAINER ID   NAMES\nabc            web<1>\ndef            db\n");
    free(text);
    CAPTURE(text, assert_int_equal(
                      client_format_write(out, "json", "table {{.ID}}", headers, rows, &err), 0));
    assert_string_equal(
        text,
        "{\"ID\":\"abc\",\"Names\":\"web\\u003c1\\u003e\"}\n{\"ID\":\"def\",\"Names\":\"db\"}\n");
    free(text);
    /* "\t" typed on a command line is a tab; no table: no alignment */
    CAPTURE(text, assert_int_equal(client_format_write(out, "{{.Names}}\\t{{.ID}}", "table {{.ID}}",
                                                       headers, rows, &err),
                                   0));
    assert_string_equal(text, "web<1>\tabc\ndb\tdef\n");
    free(text);
    CAPTURE(text, assert_int_equal(client_format_write(out, "table {{.Names}}", "table {{.ID}}",
                                                       headers, rows, &err),
                                   0));
    assert_string_equal(text, "NAMES\nweb<1>\ndb\n");
    free(text);
    json_decref(headers);
    json_decref(rows);
}

static void test_template(void **state)
{
    (void)state;
    json_t *value =
        json_loads("{\"State\":{\"Status\":\"running\",\"ExitCode\":0,\"Running\":true},"
                   "\"Config\":{\"Cmd\":[\"sh\",\"-c\"],\"Labels\":{\"b\":\"2\",\"a\":\"1\"}},"
                   "\"Null\":null,\"Real\":1.5}",
                   0, NULL);
    struct keel_error err = {0};
    char *text = NULL;

    CAPTURE(text, assert_int_equal(client_template_render(
                                       "{{.State.Status}} {{ .State.ExitCode }} {{.State.Running}}",
                                       value, out, &err),
                                   0));
    assert_string_equal(text, "running 0 true");
    free(text);
    CAPTURE(text, assert_int_equal(
                      client_template_render(
                          "{{.Config.Cmd}} {{.Config.Labels}} {{.Missing}} {{.Null}} {{.Real}}",
                          value, out, &err),
                      0));
    assert_string_equal(text, "[sh -c] map[a:1 b:2] <no value> <nil> 1.5");
    free(text);
    /* Go's field names differ from the JSON keys in case only: both work */
    CAPTURE(text,
            assert_int_equal(client_template_render("{{.STATE.exitcode}}", value, out, &err), 0));
    assert_string_equal(text, "0");
    free(text);
    CAPTURE(text, assert_int_equal(client_template_render("{{json .Config.Cmd}}|{{json .Missing}}",
                                                          value, out, &err),
                                   0));
    assert_string_equal(text, "[\"sh\",\"-c\"]|null");
    free(text);
    CAPTURE(text, assert_int_equal(
                      client_template_render("a {{- .State.Status -}} b", value, out, &err), 0));
    assert_string_equal(text, "arunningb");
    free(text);
    CAPTURE(text,
            assert_int_equal(client_template_render("{{.State.Status", value, out, &err), -1));
    free(text);
    CAPTURE(text,
            assert_int_equal(client_template_render("{{printf \"%s\" .}}", value, out, &err), -1));
    free(text);
    CAPTURE(text, assert_int_equal(
                      client_template_render("{{.State.Status.Deeper}}", value, out, &err), -1));
    free(text);
    json_decref(value);
}

static void test_json_reformat(void **state)
{
    (void)state;
    const char *raw = "[{\"Id\":\"a{b}[c],:\\\"d\",\"Empty\":{},\"List\":[ ],\"N\":[1, 2.50]}]\n";
    struct keel_error err = {0};
    char *text = NULL;

    CAPTURE(text, assert_int_equal(client_json_reformat(raw, strlen(raw), "    ", out, &err), 0));
    assert_string_equal(text, "[\n"
                              "    {\n"
                              "        \"Id\": \"a{b}[c],:\\\"d\",\n"
                              "        \"Empty\": {},\n"
                              "        \"List\": [],\n"
                              "        \"N\": [\n"
                              "            1,\n"
                              "            2.50\n"
                              "        ]\n"
                              "    }\n"
                              "]");
    free(text);
    CAPTURE(text, assert_int_equal(client_json_reformat(raw, strlen(raw), NULL, out, &err), 0));
    assert_string_equal(text,
                        "[{\"Id\":\"a{b}[c],:\\\"d\",\"Empty\":{},\"List\":[],\"N\":[1,2.50]}]");
    free(text);
    CAPTURE(text, assert_int_equal(client_json_reformat("[\"open", 6, "  ", out, &err), -1));
    free(text);
}

static void test_text_helpers(void **state)
{
    (void)state;
    char *text = client_quote("sh -c \"echo\\hi\"\n\x01é");
    assert_string_equal(text, "\"sh -c \\\"echo\\\\hi\\\"\\n\\x01é\"");
    free(text);
    text = client_ellipsis("/bin/sh -c 'while true; do sleep 1; done'", 20);
    assert_string_equal(text, "/bin/sh -c 'while t…");
    assert_int_equal(client_text_width(text), 20);
    free(text);
    text = client_ellipsis("short", 20);
    assert_string_equal(text, "short");
    free(text);

    char size[24];
    client_format_binary_size(2087354368.0, size, sizeof size);
    assert_string_equal(size, "1.944GiB");
    client_format_binary_size(512, size, sizeof size);
    assert_string_equal(size, "512B");

    char since[64];
    client_format_since(1000, 1000 + 3 * 86400 + 5, since, sizeof since);
    assert_string_equal(since, "3 days ago");
    client_format_since(1000, 1000, since, sizeof since);
    assert_string_equal(since, "Less than a second ago");

    setenv("TZ", "UTC", 1);
    tzset();
    char when[64];
    client_format_time(0, when, sizeof when);
    assert_string_equal(when, "1970-01-01 00:00:00 +0000 UTC");
}

/* ---- requests and exit codes ---- */

static void test_target_escaping(void **state)
{
    (void)state;
    struct keel_error err = {0};
    char *target = NULL;

    assert_int_equal(client_target(&target, &err, "/images/%s/json?x=%s&t=%d%r",
                                   "localhost:5000/a b", "a/b&c=d e", 10, "&raw=1"),
                     0);
    assert_string_equal(target,
                        "/v1.41/images/localhost:5000/a%20b/json?x=a%2Fb%26c%3Dd+e&t=10&raw=1");
    free(target);
    /* a '?' brought in raw makes the rest query */
    assert_int_equal(client_target(&target, &err, "/images/json%r%s", "?filters=", "{\"a\":1}"), 0);
    assert_string_equal(target, "/v1.41/images/json?filters=%7B%22a%22%3A1%7D");
    free(target);
}

static void test_daemon_error(void **state)
{
    (void)state;
    struct keel_error err = {0};

    assert_int_equal(client_daemon_error(404, "{\"message\":\"No such container: x\"}\n", &err),
                     -1);
    assert_string_equal(err.message, "Error response from daemon: No such container: x");
    assert_int_equal(err.errno_value, ENOENT);
    client_daemon_error(409, "conflict in plain text\n", &err);
    assert_string_equal(err.message, "Error response from daemon: conflict in plain text");
    assert_int_equal(err.errno_value, EEXIST);
    client_daemon_error(500, "", &err);
    assert_string_equal(err.message, "Error response from daemon: HTTP status 500");
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(
        client_start_exit_code("Error response from daemon: failed to create task: exec: \"nope\": "
                               "executable file not found in $PATH: unknown"),
        CLIENT_EXIT_NOT_FOUND);
    assert_int_equal(
        client_start_exit_code("Error response from daemon: exec /x: no such file or directory"),
        CLIENT_EXIT_NOT_FOUND);
    assert_int_equal(
        client_start_exit_code("Error response from daemon: exec /etc/passwd: permission denied"),
        CLIENT_EXIT_CANNOT_INVOKE);
    assert_int_equal(
        client_start_exit_code("Error response from daemon: exec /etc: Is a directory"),
        CLIENT_EXIT_CANNOT_INVOKE);
    assert_int_equal(
        client_start_exit_code("Error response from daemon: exec x: No such file or directory"),
        CLIENT_EXIT_NOT_FOUND);
    assert_int_equal(client_start_exit_code("Error response from daemon: No such image: x:latest"),
                     CLIENT_EXIT_ENGINE);
    assert_int_equal(
        client_start_exit_code("cannot reach the engine at /run/keel.sock: Connection refused"),
        CLIENT_EXIT_ENGINE);
    /* the client's own failure, whatever its words */
    assert_int_equal(
        client_start_exit_code("cannot reach the engine at /x.sock: No such file or directory"),
        CLIENT_EXIT_ENGINE);
}

static void test_since(void **state)
{
    (void)state;
    struct keel_error err = {0};
    char stamp[64];
    setenv("TZ", "UTC", 1);
    tzset();

    assert_int_equal(client_parse_since("10m", 100000, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "99400");
    assert_int_equal(client_parse_since("1h30m", 100000, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "94600");
    assert_int_equal(client_parse_since("1.5s", 100000, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "99998");
    assert_int_equal(client_parse_since("2024-01-02T03:04:05Z", 0, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "1704164645.000000000");
    assert_int_equal(
        client_parse_since("2024-01-02T03:04:05.25+01:00", 0, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "1704161045.250000000");
    assert_int_equal(client_parse_since("2024-01-02", 0, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "1704153600.000000000");
    assert_int_equal(client_parse_since("1700000000.5", 0, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "1700000000.5");
    assert_int_equal(client_parse_since("0", 0, stamp, sizeof stamp, &err), 0);
    assert_string_equal(stamp, "0");
    assert_int_equal(client_parse_since("yesterday", 0, stamp, sizeof stamp, &err), -1);
    assert_int_equal(client_parse_since("2024-13-45Tjunk", 0, stamp, sizeof stamp, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_minimal),
        cmocka_unit_test(test_create_every_flag),
        cmocka_unit_test(test_create_attached_stdin_once),
        cmocka_unit_test(test_create_entrypoint_reset_and_restart),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_memory_units),
        cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_restart_policy),
        cmocka_unit_test(test_demux_odd_pieces),
        cmocka_unit_test(test_demux_errors),
        cmocka_unit_test(test_stream_round_trip),
        cmocka_unit_test(test_stream_detach_keys),
        cmocka_unit_test(test_table_widths),
        cmocka_unit_test(test_format_write),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_json_reformat),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test(test_target_escaping),
        cmocka_unit_test(test_daemon_error),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
