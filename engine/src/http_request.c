/* http_request.c — the request a handler sees: head from the parser, path, headers, query. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "http_server_internal.h"

/* RFC 9110's tchar: what a header name may hold. */
#define HTTP_TOKEN_CHARACTERS                                                                      \
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

void http_request_state_clear(struct http_request_state *state)
{
    http_buffer_free(&state->text);
    http_buffer_free(&state->body);
    free(state->offsets);
    free(state->headers);
    memset(state, 0, sizeof *state);
}

static int http_request_state_terminate(struct http_request_state *state)
{
    return http_buffer_append(&state->text, "", 1);
}

/* Close the piece being gathered before the next kind begins. */
static int http_request_state_switch(struct http_request_state *state, enum http_piece next)
{
    switch (state->last_piece) {
    case HTTP_PIECE_NONE:
    case HTTP_PIECE_END:
        break;
    case HTTP_PIECE_URL:
    case HTTP_PIECE_VALUE:
        if (http_request_state_terminate(state) < 0)
            return -1;
        break;
    case HTTP_PIECE_FIELD:
        if (http_request_state_terminate(state) < 0)
            return -1;
        /* "Name:" with nothing after it: an empty value. */
        if (next != HTTP_PIECE_VALUE) {
            state->offsets[2 * (state->header_count - 1) + 1] = state->text.end;
            if (http_request_state_terminate(state) < 0)
                return -1;
        }
        break;
    }
    if (next == HTTP_PIECE_FIELD) {
        if (state->header_count == state->offsets_capacity) {
            size_t capacity = state->offsets_capacity ? state->offsets_capacity * 2 : 16;
            size_t *offsets = reallocarray(state->offsets, capacity, 2 * sizeof *offsets);
            if (offsets == NULL)
                return -1;
            state->offsets = offsets;
            state->offsets_capacity = capacity;
        }
        state->offsets[2 * state->header_count] = state->text.end;
        state->offsets[2 * state->header_count + 1] = state->text.end;
        state->header_count++;
    } else if (next == HTTP_PIECE_VALUE) {
        state->offsets[2 * (state->header_count - 1) + 1] = state->text.end;
    }
    state->last_piece = next;
    return 0;
}

int http_request_state_add(struct http_request_state *state, enum http_piece piece,
                           const char *data, size_t length)
{
    if (piece != state->last_piece && http_request_state_switch(state, piece) < 0)
        return -1;
    return http_buffer_append(&state->text, data, length);
}

static int http_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t http_percent_decode(const char *in, size_t length, bool plus_is_space, char *out)
{
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        char c = in[i];
        if (c == '%') {
            if (length - i < 3)
                return -1;
            int high = http_hex_digit(in[i + 1]);
            int low = http_hex_digit(in[i + 2]);
            if (high < 0 || low < 0)
                return -1;
            c = (char)(high << 4 | low);
            /* A NUL would cut the C string short of what was asked for. */
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        out[used++] = c;
    }
    out[used] = '\0';
    return (ssize_t)used;
}

/* Header values keep no trailing blanks (the parser drops leading ones). */
static void http_trim_right(char *value)
{
    size_t length = strlen(value);
    while (length > 0 && (value[length - 1] == ' ' || value[length - 1] == '\t'))
        value[--length] = '\0';
}

static bool http_token_list_has(const char *list, const char *token)
{
    size_t token_length = strlen(token);
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == token_length && strncasecmp(start, token, token_length) == 0)
            return true;
    }
    return false;
}

int http_request_state_finish_head(struct http_request_state *state, const http_parser *parser,
                                   const char **problem)
{
    if (http_request_state_switch(state, HTTP_PIECE_END) < 0)
        return 500;
    if (state->text.end == 0) {
        *problem = "invalid URL";
        return 400;
    }

    /* The URL is the first piece; the path and query are appended after
     * the headers, so room for both is made before taking offsets. */
    size_t url_length = strlen(state->text.data);
    if (http_buffer_reserve(&state->text, 2 * url_length + 4) < 0)
        return 500;
    const char *url = state->text.data;
    struct http_parser_url parts;
    http_parser_url_init(&parts);
    if (http_parser_parse_url(url, url_length, parser->method == HTTP_CONNECT, &parts) != 0) {
        *problem = "invalid URL";
        return 400;
    }
    size_t path_offset = state->text.end;
    if (parts.field_set & (1 << UF_PATH)) {
        ssize_t decoded =
            http_percent_decode(url + parts.field_data[UF_PATH].off, parts.field_data[UF_PATH].len,
                                false, state->text.data + path_offset);
        if (decoded < 0) {
            *problem = "invalid percent-encoding in the path";
            return 400;
        }
        state->text.end += (size_t)decoded + 1;
    } else {
        http_buffer_append(&state->text, "/", 2);
    }
    size_t query_offset = state->text.end;
    if (parts.field_set & (1 << UF_QUERY)) {
        memcpy(state->text.data + query_offset, url + parts.field_data[UF_QUERY].off,
               parts.field_data[UF_QUERY].len);
        state->text.end += parts.field_data[UF_QUERY].len;
    }
    http_request_state_terminate(state);

    if (state->header_count > 0) {
        state->headers = calloc(state->header_count, sizeof *state->headers);
        if (state->headers == NULL)
            return 500;
    }
    /* Debian's http-parser is built lenient: it takes "GET /x" without a
     * version and header names with spaces. RFC 9112 does not. */
    if (parser->http_major != 1) {
        *problem = "HTTP/1.x only";
        return parser->http_major == 0 ? 400 : 505;
    }
    for (size_t i = 0; i < state->header_count; i++) {
        char *name = state->text.data + state->offsets[2 * i];
        char *value = state->text.data + state->offsets[2 * i + 1];
        if (name[0] == '\0' || name[strspn(name, HTTP_TOKEN_CHARACTERS)] != '\0') {
            *problem = "invalid header name";
            return 400;
        }
        for (char *c = name; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        http_trim_right(value);
        state->headers[i].name = name;
        state->headers[i].value = value;
    }

    struct http_request *view = &state->view;
    view->method = http_method_str((enum http_method)parser->method);
    view->path = state->text.data + path_offset;
    view->query = state->text.data + query_offset;
    view->headers = state->headers;
    view->header_count = state->header_count;
    view->keep_alive = http_should_keep_alive(parser) != 0;
    state->parser_upgrade = parser->upgrade;
    const char *upgrade = http_request_header(view, "upgrade");
    view->upgrade = parser->upgrade && upgrade != NULL && http_token_list_has(upgrade, "tcp");
    state->http10 = parser->http_major == 0 || (parser->http_major == 1 && parser->http_minor == 0);
    state->head_method = parser->method == HTTP_HEAD;
    return 0;
}

const char *http_request_header(const struct http_request *request, const char *name)
{
    for (size_t i = 0; i < request->header_count; i++) {
        if (strcasecmp(request->headers[i].name, name) == 0)
            return request->headers[i].value;
    }
    return NULL;
}

int http_request_query(const struct http_request *request, const char *name, char **value,
                       struct keel_error *err)
{
    const char *p = request->query;
    *value = NULL;
    while (*p != '\0') {
        const char *end = strchr(p, '&');
        if (end == NULL)
            end = p + strlen(p);
        const char *equals = memchr(p, '=', (size_t)(end - p));
        const char *key_end = equals != NULL ? equals : end;
        size_t key_length = (size_t)(key_end - p);
        if (key_length > 0) {
            _cleanup_free_ char *key = malloc(key_length + 1);
            if (key == NULL)
                return keel_error_set(err, ENOMEM, "query parameter %s", name);
            if (http_percent_decode(p, key_length, true, key) < 0)
                return keel_error_invalid(err, "query parameter %.*s: invalid percent-encoding",
                                          (int)key_length, p);
            if (strcmp(key, name) == 0) {
                const char *raw = equals != NULL ? equals + 1 : end;
                size_t raw_length = (size_t)(end - raw);
                char *decoded = malloc(raw_length + 1);
                if (decoded == NULL)
                    return keel_error_set(err, ENOMEM, "query parameter %s", name);
                if (http_percent_decode(raw, raw_length, true, decoded) < 0) {
                    free(decoded);
                    return keel_error_invalid(err, "query parameter %s: invalid percent-encoding",
                                              name);
                }
                *value = decoded;
                return 1;
            }
        }
        p = *end == '&' ? end + 1 : end;
    }
    return 0;
}
