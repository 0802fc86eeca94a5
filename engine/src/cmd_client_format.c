/* cmd_client_format.c — how the keel client shows answers: docker's tables, --format templates,
 * JSON text, times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "cmd_client.h"
#include "cmd_image.h"

/* ---- times, sizes, text ---- */

void client_format_time(time_t when, char *text, size_t size)
{
    struct tm parts;
    if (localtime_r(&when, &parts) == NULL ||
        strftime(text, size, "%Y-%m-%d %H:%M:%S %z %Z", &parts) == 0)
        snprintf(text, size, "%lld", (long long)when);
}

void client_format_since(time_t when, time_t now, char *text, size_t size)
{
    struct tm parts;
    char stamp[32];
    /* cmd_image_format's HumanDuration reads RFC 3339: say the time that way. */
    if (gmtime_r(&when, &parts) == NULL ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) {
        snprintf(text, size, "N/A");
        return;
    }
    image_cli_format_created(stamp, now, text, size);
}

void client_format_binary_size(double bytes, char *text, size_t size)
{
    static const char *const units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                        "PiB", "EiB", "ZiB", "YiB"};
    size_t unit = 0;
    while (bytes >= 1024.0 && unit + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024.0;
        unit++;
    }
    snprintf(text, size, "%.4g%s", bytes, units[unit]);
}

static bool client_is_continuation(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t client_text_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
        if (!client_is_continuation(*c))
            width++;
    return width;
}

char *client_ellipsis(const char *text, size_t width)
{
    if (client_text_width(text) <= width)
        return strdup(text);
    if (width == 0)
        return strdup("");
    /* width - 1 runes, then the ellipsis */
    size_t runes = 0, end = 0;
    for (; text[end] != '\0'; end++) {
        if (!client_is_continuation((unsigned char)text[end]) && runes++ == width - 1)
            break;
    }
    char *cut = malloc(end + sizeof "…");
    if (cut == NULL)
        return NULL;
    memcpy(cut, text, end);
    strcpy(cut + end, "…");
    return cut;
}

/* The length of the valid UTF-8 sequence at text (0: not one), as Go decodes. */
static size_t client_utf8_length(const unsigned char *text, unsigned *rune)
{
    size_t length;
    unsigned value;
    if (text[0] < 0x80) {
        *rune = text[0];
        return 1;
    } else if ((text[0] & 0xe0) == 0xc0) {
        length = 2;
        value = text[0] & 0x1f;
    } else if ((text[0] & 0xf0) == 0xe0) {
        length = 3;
        value = text[0] & 0x0f;
    } else if ((text[0] & 0xf8) == 0xf0) {
        length = 4;
        value = text[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if (!client_is_continuation(text[i]))
            return 0;
        value = value << 6 | (text[i] & 0x3f);
    }
    static const unsigned smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < smallest[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *rune = value;
    return length;
}

char *client_quote(const char *text)
{
    char *quoted = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&quoted, &length);
    if (stream == NULL)
        return NULL;
    fputc('"', stream);
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0';) {
        unsigned rune;
        size_t size = client_utf8_length(c, &rune);
        const char *escape = NULL;
        switch (size == 1 ? rune : 0x100) {
        case '\a':
            escape = "\\a";
            break;
        case '\b':
            escape = "\\b";
            break;
        case '\f':
            escape = "\\f";
            break;
        case '\n':
            escape = "\\n";
            break;
        case '\r':
            escape = "\\r";
            break;
        case '\t':
            escape = "\\t";
            break;
        case '\v':
            escape = "\\v";
            break;
        case '"':
            escape = "\\\"";
            break;
        case '\\':
            escape = "\\\\";
            break;
        }
        if (escape != NULL)
            fputs(escape, stream);
        else if (size == 0)
            fprintf(stream, "\\x%02x", *c);
        else if (rune < 0x20 || rune == 0x7f)
            fprintf(stream, "\\x%02x", rune);
        else if (rune >= 0x80 && rune < 0xa0) /* C1 controls: not printable */
            fprintf(stream, "\\u%04x", rune);
        else
            fwrite(c, 1, size, stream);
        c += size != 0 ? size : 1;
    }
    fputc('"', stream);
    if (ferror(stream) | (fclose(stream) != 0)) {
        free(quoted);
        return NULL;
    }
    return quoted;
}

/* ---- tables ---- */

int client_table_write(FILE *out, const char *text, size_t minimum_width, size_t padding)
{
    _cleanup_free_ size_t *widths = NULL;
    size_t columns = 0;

    /* First pass: each column's widest cell; a line's last cell is no column. */
    for (const char *line = text; *line != '\0';) {
        size_t line_length = strcspn(line, "\n");
        size_t column = 0;
        for (const char *cell = line;;) {
            const char *tab = memchr(cell, '\t', (size_t)(line + line_length - cell));
            if (tab == NULL)
                break;
            if (column == columns) {
                size_t *grown = reallocarray(widths, columns + 1, sizeof *widths);
                if (grown == NULL)
                    return -1;
                widths = grown;
                widths[columns++] = minimum_width;
            }
            _cleanup_free_ char *copy = strndup(cell, (size_t)(tab - cell));
            if (copy == NULL)
                return -1;
            if (client_text_width(copy) + padding > widths[column])
                widths[column] = client_text_width(copy) + padding;
            column++;
            cell = tab + 1;
        }
        line += line_length;
        if (*line == '\n')
            line++;
    }
    for (const char *line = text; *line != '\0';) {
        size_t line_length = strcspn(line, "\n");
        size_t column = 0;
        const char *cell = line;
        for (;;) {
            const char *tab = memchr(cell, '\t', (size_t)(line + line_length - cell));
            if (tab == NULL)
                break;
            _cleanup_free_ char *copy = strndup(cell, (size_t)(tab - cell));
            if (copy == NULL)
                return -1;
            fputs(copy, out);
            for (size_t width = client_text_width(copy); width < widths[column]; width++)
                fputc(' ', out);
            column++;
            cell = tab + 1;
        }
        fwrite(cell, 1, (size_t)(line + line_length - cell), out);
        line += line_length;
        if (*line == '\n') {
            fputc('\n', out);
            line++;
        }
    }
    return 0;
}

/* ---- JSON text ---- */

/* JSON text as Go's encoder writes it: HTML characters and the two line
 * separators JavaScript chokes on escaped. They only ever occur inside
 * strings, so the whole text can be rewritten. */
static void client_json_write_text(FILE *out, const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '<')
            fputs("\\u003c", out);
        else if (*c == '>')
            fputs("\\u003e", out);
        else if (*c == '&')
            fputs("\\u0026", out);
        else if (strncmp(c, "\xe2\x80\xa8", 3) == 0 || strncmp(c, "\xe2\x80\xa9", 3) == 0) {
            fprintf(out, "\\u202%c", c[2] == '\xa8' ? '8' : '9');
            c += 2;
        } else
            fputc(*c, out);
    }
}

static int client_json_write(FILE *out, const json_t *value, size_t flags, struct keel_error *err)
{
    _cleanup_free_ char *text = json_dumps(value, flags | JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return keel_error_set(err, ENOMEM, "format JSON");
    client_json_write_text(out, text);
    return 0;
}

int client_json_write_line(FILE *out, const json_t *value, struct keel_error *err)
{
    if (client_json_write(out, value, JSON_SORT_KEYS, err) < 0)
        return -1;
    fputc('\n', out);
    return 0;
}

static void client_json_newline(FILE *out, const char *indent, int depth)
{
    fputc('\n', out);
    for (int i = 0; i < depth; i++)
        fputs(indent, out);
}

int client_json_reformat(const char *text, size_t length, const char *indent, FILE *out,
                         struct keel_error *err)
{
    bool need_indent = false;
    int depth = 0;

    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (indent == NULL) {
            fputc(c, out);
        } else {
            /* Go's json.Indent: an empty {} or [] stays on one line. */
            if (need_indent && c != ']' && c != '}') {
                need_indent = false;
                client_json_newline(out, indent, ++depth);
            }
            if (c == '{' || c == '[') {
                need_indent = true;
                fputc(c, out);
            } else if (c == ',') {
                fputc(c, out);
                client_json_newline(out, indent, depth);
            } else if (c == ':') {
                fputs(": ", out);
            } else if (c == '}' || c == ']') {
                if (need_indent)
                    need_indent = false;
                else
                    client_json_newline(out, indent, --depth);
                fputc(c, out);
            } else if (c != '"') {
                fputc(c, out);
            }
        }
        if (c != '"')
            continue;
        /* A string, copied byte for byte up to its closing quote. */
        if (indent != NULL)
            fputc(c, out);
        for (i++; i < length && text[i] != '"'; i++) {
            if (text[i] == '\\' && i + 1 < length)
                fputc(text[i++], out);
            fputc(text[i], out);
        }
        if (i >= length)
            return keel_error_invalid(err, "bad answer from the engine: unterminated JSON string");
        fputc('"', out);
    }
    if (depth != 0)
        return keel_error_invalid(err, "bad answer from the engine: unbalanced JSON");
    return 0;
}

/* ---- templates ---- */

/* A real as Go's %v prints a float64: the shortest text that reads back. */
static void client_print_real(FILE *out, double value)
{
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    fputs(text, out);
}

static int client_compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A value as Go's text/template prints it. */
static void client_template_print(FILE *out, const json_t *value)
{
    if (value == NULL) {
        fputs("<no value>", out);
    } else if (json_is_string(value)) {
        fwrite(json_string_value(value), 1, json_string_length(value), out);
    } else if (json_is_integer(value)) {
        fprintf(out, "%lld", (long long)json_integer_value(value));
    } else if (json_is_real(value)) {
        client_print_real(out, json_real_value(value));
    } else if (json_is_boolean(value)) {
        fputs(json_is_true(value) ? "true" : "false", out);
    } else if (json_is_null(value)) {
        fputs("<nil>", out);
    } else if (json_is_array(value)) {
        fputc('[', out);
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (i > 0)
                fputc(' ', out);
            client_template_print(out, json_array_get(value, i));
        }
        fputc(']', out);
    } else {
        size_t count = json_object_size(value), used = 0;
        const char **keys = calloc(count != 0 ? count : 1, sizeof *keys);
        const char *key;
        json_t *member;
        if (keys == NULL)
            return;
        json_object_foreach((json_t *)value, key, member)
        {
            keys[used++] = key;
        }
        qsort(keys, used, sizeof *keys, client_compare_keys);
        fputs("map[", out);
        for (size_t i = 0; i < used; i++) {
            fprintf(out, "%s%s:", i > 0 ? " " : "", keys[i]);
            client_template_print(out, json_object_get(value, keys[i]));
        }
        fputc(']', out);
        free(keys);
    }
}

/* A field by its JSON key, else by the Go field name it comes from, which
 * differs only in case (.Server.APIVersion is the key "ApiVersion"). */
static const json_t *client_template_field(const json_t *object, const char *name)
{
    const char *key;
    json_t *value;
    const json_t *found = json_object_get(object, name);
    if (found != NULL)
        return found;
    json_object_foreach((json_t *)object, key, value)
    {
        if (strcasecmp(key, name) == 0)
            return value;
    }
    return NULL;
}

/* ".A.B" into value: *found is NULL when a key is missing. */
static int client_template_lookup(const json_t *value, const char *path, const json_t **found,
                                  struct keel_error *err)
{
    if (path[0] != '.')
        return keel_error_invalid(err, "template parsing error: unsupported argument \"%s\"", path);
    *found = value;
    for (const char *field = path + 1; *field != '\0';) {
        size_t length = strcspn(field, ".");
        if (length == 0)
            return keel_error_invalid(err, "template parsing error: bad field in \"%s\"", path);
        if (*found == NULL)
            return 0;
        if (!json_is_object(*found))
            return keel_error_invalid(err, "template: can't evaluate field %.*s in \"%s\"",
                                      (int)length, field, path);
        _cleanup_free_ char *key = strndup(field, length);
        if (key == NULL)
            return keel_error_set(err, ENOMEM, "template");
        *found = client_template_field(*found, key);
        field += length;
        if (*field == '.')
            field++;
    }
    return 0;
}

static int client_template_action(const char *action, const json_t *value, FILE *out,
                                  struct keel_error *err)
{
    const json_t *found;
    if (strncmp(action, "json ", 5) == 0) {
        const char *argument = action + 5;
        argument += strspn(argument, " ");
        if (client_template_lookup(value, argument, &found, err) < 0)
            return -1;
        if (found == NULL) {
            fputs("null", out);
            return 0;
        }
        return client_json_write(out, found, 0, err);
    }
    if (action[0] != '.')
        return keel_error_invalid(
            err, "template parsing error: \"%s\" is not supported (only .Field and json .Field)",
            action);
    if (client_template_lookup(value, action, &found, err) < 0)
        return -1;
    client_template_print(out, found);
    return 0;
}

int client_template_render(const char *template, const json_t *value, FILE *out,
                           struct keel_error *err)
{
    const char *text = template;
    bool trim_leading = false;

    while (*text != '\0') {
        const char *open = strstr(text, "{{");
        size_t literal = open != NULL ? (size_t)(open - text) : strlen(text);
        const char *start = text;
        if (trim_leading)
            while (literal > 0 && strchr(" \t\r\n", *start) != NULL)
                start++, literal--;
        /* "{{- " trims the space before it, " -}}" the space after. */
        if (open != NULL && strncmp(open, "{{- ", 4) == 0)
            while (literal > 0 && strchr(" \t\r\n", start[literal - 1]) != NULL)
                literal--;
        fwrite(start, 1, literal, out);
        if (open == NULL)
            break;
        const char *close = strstr(open + 2, "}}");
        if (close == NULL)
            return keel_error_invalid(err, "template parsing error: unclosed action");
        const char *begin = open + 2, *end = close;
        if (strncmp(begin, "- ", 2) == 0)
            begin += 2;
        trim_leading = end - begin >= 2 && strncmp(end - 2, " -", 2) == 0;
        if (trim_leading)
            end -= 2;
        while (begin < end && *begin == ' ')
            begin++;
        while (end > begin && end[-1] == ' ')
            end--;
        _cleanup_free_ char *action = strndup(begin, (size_t)(end - begin));
        if (action == NULL)
            return keel_error_set(err, ENOMEM, "template");
        if (client_template_action(action, value, out, err) < 0)
            return -1;
        text = close + 2;
    }
    return 0;
}

/* docker's preFormat: the "\t" and "\n" people type are a tab and a newline. */
static char *client_format_unescape(const char *format)
{
    char *text = malloc(strlen(format) + 1), *to = text;
    if (text == NULL)
        return NULL;
    while (*format == ' ')
        format++;
    for (const char *c = format; *c != '\0'; c++) {
        if (c[0] == '\\' && (c[1] == 't' || c[1] == 'n')) {
            *to++ = c[1] == 't' ? '\t' : '\n';
            c++;
        } else {
            *to++ = *c;
        }
    }
    while (to > text && to[-1] == ' ')
        to--;
    *to = '\0';
    return text;
}

int client_format_write(FILE *out, const char *format, const char *default_table,
                        const json_t *headers, const json_t *rows, struct keel_error *err)
{
    if (format == NULL || format[0] == '\0' || strcmp(format, "table") == 0)
        format = default_table;
    if (strcmp(format, "json") == 0) {
        for (size_t i = 0; i < json_array_size(rows); i++)
            if (client_json_write_line(out, json_array_get(rows, i), err) < 0)
                return -1;
        return 0;
    }
    bool table = strncmp(format, "table", 5) == 0;
    _cleanup_free_ char *template = client_format_unescape(table ? format + 5 : format);
    if (template == NULL)
        return keel_error_set(err, ENOMEM, "format");
    if (!table) {
        for (size_t i = 0; i < json_array_size(rows); i++) {
            if (client_template_render(template, json_array_get(rows, i), out, err) < 0)
                return -1;
            fputc('\n', out);
        }
        return 0;
    }
    _cleanup_free_ char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    if (stream == NULL)
        return keel_error_set(err, errno, "format");
    int result = client_template_render(template, headers, stream, err);
    fputc('\n', stream);
    for (size_t i = 0; result == 0 && i < json_array_size(rows); i++) {
        result = client_template_render(template, json_array_get(rows, i), stream, err);
        fputc('\n', stream);
    }
    if ((ferror(stream) | (fclose(stream) != 0)) && result == 0)
        return keel_error_set(err, ENOMEM, "format");
    if (result < 0)
        return -1;
    if (client_table_write(out, text, 10, 3) < 0)
        return keel_error_set(err, ENOMEM, "format a table");
    return 0;
}
