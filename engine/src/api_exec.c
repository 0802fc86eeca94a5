/* api_exec.c — POST /containers/ID/exec, POST /exec/ID/start (hijacked like attach, or detached),
 * GET /exec/ID/json, POST /exec/ID/resize. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_internal.h"
#include "cleanup.h"
#include "container_log.h"
#include "json_path.h"

#define API_RAW_STREAM "application/vnd.docker.raw-stream"
#define API_MULTIPLEXED_STREAM "application/vnd.docker.multiplexed-stream"

void api_handle_exec_create(struct api_call *call)
{
    struct keel_error err;
    json_t *request = NULL;
    _cleanup_free_ char *id = NULL;
    if (api_body_json(call->request, true, &request, &err) < 0 ||
        engine_exec_create(call->api->engine, call->name, request, &id, &err) < 0) {
        json_decref(request);
        api_respond_error(call->connection, &err);
        return;
    }
    json_decref(request);
    json_t *answer = json_pack("{s:s}", "Id", id);
    api_respond_json_value(call->connection, 201, answer);
    json_decref(answer);
}

void api_handle_exec_inspect(struct api_call *call)
{
    struct keel_error err;
    _cleanup_free_ char *json = NULL;
    if (engine_exec_inspect_json(call->api->engine, call->name, &json, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_json(call->connection, 200, json);
}

/* What the exec's inspect object says of its streams. */
struct api_exec_facts {
    bool tty;
    bool open_stdin;
    bool open_stdout;
    bool open_stderr;
};

static int api_exec_facts_get(struct api *api, const char *exec_id, struct api_exec_facts *facts,
                              struct keel_error *err)
{
    _cleanup_free_ char *json = NULL;
    if (engine_exec_inspect_json(api->engine, exec_id, &json, err) < 0)
        return -1;
    json_t *root = json_loads(json, 0, NULL);
    const json_t *stdout_open = json_object_get(root, "OpenStdout"),
                 *stderr_open = json_object_get(root, "OpenStderr");
    facts->tty = json_is_true(json_object_get(json_object_get(root, "ProcessConfig"), "tty"));
    facts->open_stdin = json_is_true(json_object_get(root, "OpenStdin"));
    facts->open_stdout = stdout_open == NULL || json_is_true(stdout_open);
    facts->open_stderr = stderr_open == NULL || json_is_true(stderr_open);
    json_decref(root);
    return 0;
}

void api_handle_exec_resize(struct api_call *call)
{
    struct keel_error err;
    struct api_exec_facts facts;
    long height, width;
    /* Accepted and ignored, as for containers: docker exec -t sends one. */
    if (api_query_long(call->request, "h", 0, 0, 65535, &height, &err) < 0 ||
        api_query_long(call->request, "w", 0, 0, 65535, &width, &err) < 0 ||
        api_exec_facts_get(call->api, call->name, &facts, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    api_respond_empty(call->connection, 200);
}

static void api_exec_start_detached(struct api_call *call)
{
    struct keel_error err;
    int stdin_fd = -1;
    if (engine_exec_start(call->api->engine, call->name, true, NULL, NULL, &stdin_fd, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    if (stdin_fd >= 0)
        close(stdin_fd);
    api_respond_empty(call->connection, 200);
}

/* The exec's process could not start. dockerd answers on the hijacked
 * stream, not with an HTTP error: it writes the message as output and
 * ends the stream, and the client then reads the exit status (126/127)
 * from the exec's inspect. */
static void api_exec_start_failed(struct api_call *call, bool multiplexed,
                                  const struct keel_error *failure)
{
    struct keel_error err;
    int fd;
    _cleanup_free_ char *leftover = NULL;
    size_t leftover_length = 0;
    if (http_hijack(call->connection, multiplexed ? API_MULTIPLEXED_STREAM : API_RAW_STREAM, &fd,
                    &leftover, &leftover_length, &err) < 0)
        return;
    char text[KEEL_ERROR_MESSAGE_MAX + 8];
    int length = snprintf(text, sizeof text, "%s\r\n", failure->message);
    if (length < 0 || (size_t)length >= sizeof text)
        length = (int)strlen(text);
    unsigned char header[8];
    container_log_frame_header(CONTAINER_LOG_STDOUT, (uint32_t)length, header);
    /* A few hundred bytes into an empty socket buffer: one send each. */
    if (multiplexed)
        (void)!send(fd, header, sizeof header, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)!send(fd, text, (size_t)length, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

void api_handle_exec_start(struct api_call *call)
{
    struct api *api = call->api;
    struct keel_error err;
    json_t *request = NULL;
    bool detach = false, tty = false;
    struct api_exec_facts facts;

    /* Tty is the exec's own (from its create); the body's is ignored, as
     * dockerd frames by the former too. */
    if (api_body_json(call->request, false, &request, &err) < 0 ||
        (request != NULL &&
         (json_path_get_bool(request, "", "Detach", JSON_PATH_OPTIONAL, &detach, &err) < 0 ||
          json_path_get_bool(request, "", "Tty", JSON_PATH_OPTIONAL, &tty, &err) < 0)) ||
        api_exec_facts_get(api, call->name, &facts, &err) < 0) {
        json_decref(request);
        api_respond_error(call->connection, &err);
        return;
    }
    json_decref(request);
    if (detach) {
        api_exec_start_detached(call);
        return;
    }

    struct api_session_options options = {
        .multiplexed = !facts.tty,
        .stdout_wanted = facts.open_stdout,
        .stderr_wanted = facts.open_stderr,
        .stdin_wanted = facts.open_stdin,
        .output_outlives_stdin = !facts.tty,
    };
    struct api_session *session;
    int stdin_fd = -1;
    if (api_session_new(api, &options, &session, &err) < 0) {
        api_respond_error(call->connection, &err);
        return;
    }
    if (engine_exec_start(api->engine, call->name, false, api_session_output, session, &stdin_fd,
                          &err) < 0) {
        api_session_close(session);
        api_exec_start_failed(call, options.multiplexed, &err);
        return;
    }
    api_session_expect_end(session);

    int fd;
    _cleanup_free_ char *leftover = NULL;
    size_t leftover_length = 0;
    if (http_hijack(call->connection, options.multiplexed ? API_MULTIPLEXED_STREAM : API_RAW_STREAM,
                    &fd, &leftover, &leftover_length, &err) < 0 ||
        api_session_set_socket(session, fd, leftover, leftover_length, &err) < 0) {
        /* The exec runs on without a client; the session waits for its end. */
        if (stdin_fd >= 0)
            close(stdin_fd);
        api_session_close(session);
        return;
    }
    if (stdin_fd >= 0)
        api_session_set_stdin(session, stdin_fd);
}
