/* cmd_client.h — what the files of the keel client share: the engine's address, requests, errors,
 * formats, streams. */
#pragma once

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <termios.h>
#include <time.h>

#include "error.h"
#include "http_client.h"

/* The client speaks the Docker Engine API as the docker CLI pinned to 1.41
 * does: the same endpoints, bodies and query parameters, every path under
 * /v1.41. It never touches the engine's state on disk. */
#define CLIENT_API_VERSION "1.41"
#define CLIENT_DEFAULT_HOST "unix://" HTTP_CLIENT_USER_SOCKET
#define CLIENT_SYSTEM_HOST "unix://" HTTP_CLIENT_SYSTEM_SOCKET

/* Exit codes, docker's: 1 a command failed; 125 run/create failed in the
 * engine or the client, and any bad flag; 126 the container's command
 * cannot be invoked; 127 it was not found; else the container's status. */
#define CLIENT_EXIT_FAILURE 1
#define CLIENT_EXIT_TEMPLATE 64
#define CLIENT_EXIT_ENGINE 125
#define CLIENT_EXIT_CANNOT_INVOKE 126
#define CLIENT_EXIT_NOT_FOUND 127

/* Where the engine is, for one invocation. */
struct client {
    const char *program; /* "keel", or "system-keel" (argv[0]'s name): messages */
    const char *host;    /* "unix:///run/keel.sock" */
    char *socket_path;   /* "/run/keel.sock" */
};

/* ---- cmd_client.c: requests, errors, options ---- */

/* Build a request target under /v1.41 from format, where every %s is
 * percent-encoded (as a path segment before the '?', as a query value
 * after it), %r a string kept as it is (query parts made here), %d an
 * int, %% a '%'. *target is heap. */
int client_target(char **target, struct keel_error *err, const char *format, ...);

/* Connect, send one request (body may be NULL) and read the answer's head.
 * A status of 400 or more is read to its end and turned into err:
 * "Error response from daemon: MESSAGE" (errno_value: ENOENT for 404,
 * EEXIST for 409, EINVAL for 400, EIO otherwise). On success *http is
 * connected and positioned at the body; the caller closes it. */
int client_open(const struct client *client, struct http_client *http, const char *method,
                const char *target, const char *content_type, const char *body, size_t length,
                bool upgrade, struct http_client_response *response, struct keel_error *err);
/* One request with a JSON body (may be NULL) and its whole answer: *reply
 * (may be NULL to ignore it) gets the parsed JSON, or NULL when empty. */
int client_call(const struct client *client, const char *method, const char *target,
                const json_t *body, json_t **reply, struct keel_error *err);
/* As client_call, the answer as text (heap, NUL-terminated). */
int client_call_text(const struct client *client, const char *method, const char *target,
                     const json_t *body, char **reply, struct keel_error *err);
/* "Error response from daemon: MESSAGE" from an error answer's body
 * (Docker's {"message": ...}, else the body's text). Returns -1. */
int client_daemon_error(int status, const char *body, struct keel_error *err);
/* Parse JSON text from the engine: "bad answer from the engine: ..." */
json_t *client_parse_json(const char *text, size_t length, struct keel_error *err);

/* Print err's message on stderr as docker prints a command's error; returns code. */
int client_report(const struct keel_error *err, int code);
/* As docker run reports: "keel: MESSAGE." and, with help, "See 'keel VERB --help'.". */
void client_report_run(const char *verb, const char *message, bool help);
/* The exit code of a run whose create or start failed with message:
 * from the engine ("Error response from daemon: ..."), 127 "executable
 * file not found" / "no such file or directory", 126 "permission denied" /
 * "is a directory"; else 125 (docker's rules). */
int client_start_exit_code(const char *message);
/* A bad command line: "MESSAGE\nSee 'keel VERB --help'." on stderr; 125. */
int client_usage_error(const char *verb, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* getopt_long returned '?' or ':' (optstring starts with ':'): report it
 * as docker does ("unknown flag: --x", "flag needs an argument: 'e' in -e"). */
int client_option_error(const char *verb, int result, char **argv);
/* A whole non-negative number for a flag ("-t 10"): false if it is not one. */
bool client_parse_int(const char *text, long long minimum, long long *value);

/* ---- cmd_client_format.c: how answers are shown ---- */

/* Go's time.Time.String() of a unix time, local: "2024-05-01 12:00:00 +0200 CEST". */
void client_format_time(time_t when, char *text, size_t size);
/* docker's RunningFor / CreatedSince: "5 minutes ago", from a unix time. */
void client_format_since(time_t when, time_t now, char *text, size_t size);
/* Go's units.BytesSize: base 1024, four significant digits ("1.944GiB"). */
void client_format_binary_size(double bytes, char *text, size_t size);
/* Docker's formatter.Ellipsis: at most width runes, the last one "…" when cut. Heap. */
char *client_ellipsis(const char *text, size_t width);
/* Go's strconv.Quote: "\"sh -c \\\"x\\\"\"". Heap. */
char *client_quote(const char *text);
/* How wide text is on a terminal, in runes (UTF-8), as tabwriter counts. */
size_t client_text_width(const char *text);

/* Docker's tabwriter (minimum width 10, padding 3): cells separated by
 * tabs, every line's last cell unpadded. text is the whole table. */
int client_table_write(FILE *out, const char *text, size_t minimum_width, size_t padding);

/* A tiny subset of Go templates, enough for the --format people use:
 * literal text, {{.}}, {{.Field.Sub}}, {{json .Field}} ("\t" and "\n" in
 * the template are a tab and a newline, as docker's). Values print as Go
 * prints them (strings raw, missing keys "<no value>"). */
int client_template_render(const char *template, const json_t *value, FILE *out,
                           struct keel_error *err);
/* Write rows (an array of objects of strings) as --format asks: NULL or
 * "table": default_table (a "table ..." template); "table TEMPLATE": a
 * table with headers (the header of each field from headers); "json": one
 * compact JSON object per line, keys sorted (docker's {{json .}}); else a
 * template per row. */
int client_format_write(FILE *out, const char *format, const char *default_table,
                        const json_t *headers, const json_t *rows, struct keel_error *err);
/* One JSON value compact on a line, keys sorted, escaped as Go's
 * json.Marshal does (<, >, & as \u003c...). */
int client_json_write_line(FILE *out, const json_t *value, struct keel_error *err);
/* Go's json.Indent (indent "    ") or json.Compact (indent NULL) of
 * valid JSON text: tokens kept byte for byte, only whitespace changes. */
int client_json_reformat(const char *text, size_t length, const char *indent, FILE *out,
                         struct keel_error *err);

/* ---- cmd_client_create.c: the container options of run and create ---- */

struct client_create {
    json_t *request; /* the POST /containers/create body */
    char *name;      /* --name, or NULL */
    bool detach;     /* -d */
    bool interactive;
    bool tty;
    bool auto_remove; /* --rm */
    bool sig_proxy;   /* --sig-proxy (default true) */
    char *image;
};

/* Parse run's (run true) or create's options and IMAGE [COMMAND...] into
 * the create request as the docker CLI builds it. Returns 0; 1 when
 * parsing ends the command (--help, a bad flag, a missing image: already
 * said, *exit_code is the code); -1 with err for options in conflict
 * (the caller reports it as docker run does, exit 125). */
int client_create_parse(int argc, char **argv, bool run, struct client_create *create,
                        int *exit_code, struct keel_error *err);
void client_create_free(struct client_create *create);
/* Docker's RAMInBytes: "512m", "1.5g", "100" (bytes), "2GiB"; base 1024. */
int client_parse_memory(const char *text, int64_t *bytes, struct keel_error *err);
/* --cpus "1.5" -> NanoCpus 1500000000. */
int client_parse_cpus(const char *text, int64_t *nano_cpus, struct keel_error *err);
/* --restart "no", "always", "unless-stopped", "on-failure[:N]" into a
 * RestartPolicy object (new reference). */
int client_parse_restart(const char *text, json_t **policy, struct keel_error *err);
/* -e KEY=VALUE, or KEY alone: KEY=value from the client's environment if
 * set there, else KEY as given (docker's ValidateEnv). Heap. */
char *client_env_value(const char *text);

/* ---- cmd_client_stream.c: hijacked streams ---- */

/* Docker's stream frames (stdcopy): an 8-byte header [stream, 0, 0, 0,
 * size as big-endian uint32] then size bytes; stream 0 stdin, 1 stdout,
 * 2 stderr, 3 the daemon's own error. Fed pieces of any size. */
struct client_demux {
    unsigned char header[8];
    size_t header_length;
    uint32_t remaining; /* of the current frame's payload */
    int stream;
    char *system_error; /* a stream-3 frame being collected */
    size_t system_error_length;
};
typedef int client_output_fn(int stream, const void *data, size_t length, void *user);
/* Feed bytes; output gets each piece of payload with its stream (1 or 2;
 * stdin frames are shown as stdout, as stdcopy does). A bad header is
 * EPROTO; a stream-3 frame ends in "error from daemon in stream: ...". */
int client_demux_feed(struct client_demux *demux, const void *data, size_t length,
                      client_output_fn *output, void *user, struct keel_error *err);
/* Whether the bytes so far ended on a frame boundary. */
bool client_demux_complete(const struct client_demux *demux);
void client_demux_free(struct client_demux *demux);

/* Write all of data to fd (the CLI's stdout or stderr). */
int client_write_all(int fd, const void *data, size_t length, struct keel_error *err);
/* client_output_fn writing stream 1 to fd 1 and 2 to fd 2. */
int client_output_to_stdio(int stream, const void *data, size_t length, void *user);

/* One hijacked connection (attach, exec start) between the socket and the
 * CLI's stdin, stdout and stderr, until the output ends. */
struct client_stream {
    int socket;             /* the connection, after its 101 head */
    const char *buffered;   /* bytes read past the head, may be NULL */
    size_t buffered_length; /* how many */
    bool multiplexed;       /* frames (no tty) or one raw stream (tty) */
    int input;        /* fd to forward, -1: none; at its EOF the socket's write side is shut */
    bool detach_keys; /* ctrl-p ctrl-q in the input detaches (a tty) */
    sigset_t signals; /* signals to hand to on_signal while streaming */
    void (*on_signal)(int signal, void *data);
    void *data;
};
/* Run the stream: 0 when the output ended, 1 when the user detached,
 * -1 with err. */
int client_stream_run(const struct client_stream *stream, struct keel_error *err);
/* Raw mode for the terminal on fd (saved for client_terminal_restore). */
int client_terminal_make_raw(int fd, struct termios *saved, struct keel_error *err);
void client_terminal_restore(int fd, const struct termios *saved);
/* Read an already-opened body (logs): frames or raw, to stdout/stderr. */
int client_stream_body(struct http_client *http, bool multiplexed, struct keel_error *err);

/* ---- the verbs (argv[0] is the verb) ---- */
int client_run(const struct client *client, int argc, char **argv);
int client_create(const struct client *client, int argc, char **argv);
int client_start(const struct client *client, int argc, char **argv);
int client_attach(const struct client *client, int argc, char **argv);
int client_ps(const struct client *client, int argc, char **argv);
int client_logs(const struct client *client, int argc, char **argv);
int client_stop(const struct client *client, int argc, char **argv);
int client_kill(const struct client *client, int argc, char **argv);
int client_rm(const struct client *client, int argc, char **argv);
int client_restart(const struct client *client, int argc, char **argv);
int client_inspect(const struct client *client, int argc, char **argv);
int client_exec(const struct client *client, int argc, char **argv);
int client_wait(const struct client *client, int argc, char **argv);
int client_images(const struct client *client, int argc, char **argv);
int client_load(const struct client *client, int argc, char **argv);
int client_rmi(const struct client *client, int argc, char **argv);
int client_info(const struct client *client, int argc, char **argv);
int client_version(const struct client *client, int argc, char **argv);

/* cmd_client_run.c's attach flow, shared with exec: stream a hijacked
 * connection with the CLI's stdio (stdin when input, raw terminal when
 * tty), forwarding signals to the container unless tty. */
struct client_session {
    const struct client *client;
    const char *container_id; /* for kill and resize; NULL: none */
    const char *exec_id;      /* exec resize instead of container resize */
    bool input;
    bool tty;
    bool sig_proxy;
};
int client_session_stream(const struct client_session *session, struct http_client *http,
                          struct keel_error *err);
/* Tell the engine the terminal's size (POST .../resize); errors ignored,
 * as an engine without resize is no reason to fail. */
void client_session_resize(const struct client_session *session);

/* cmd_client_containers.c: since/until, docker's timetypes.GetTimestamp: a Go duration ("10m",
 * "1h30m") before now, an RFC 3339 date or time (local when it has no
 * zone), or unix seconds; into "SECONDS.NANOSECONDS" text. */
int client_parse_since(const char *text, time_t now, char *timestamp, size_t size,
                       struct keel_error *err);
